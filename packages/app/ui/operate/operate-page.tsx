// Operate: what a reducer operator does from the browser: stake and unstake with the wallet, see the reducers on-chain,
// their own reducers' status ports (jobs, verdicts, proposals, challenges, slashing) and the registry's open jobs.
import { Section } from "../components.tsx";
import { JobList } from "../research/job-list.tsx";
import { ReducersOnChain } from "./reducers.tsx";
import { StakePanel } from "./stake.tsx";
import { StatusPanel } from "./status.tsx";

export function OperatePage() {
  return (
    <>
      <h1>Operate</h1>
      <p className="muted">
        Reducers collect and check the anonymous answers, add them up and propose results with their stake at risk. Run one with 'mosaic
        reducer start'; manage its stake and watch it here.
      </p>
      <StakePanel />
      <StatusPanel />
      <ReducersOnChain />
      <Section title="Open jobs" id="open-jobs">
        <JobList openOnly testId="open-jobs-table" />
      </Section>
    </>
  );
}
