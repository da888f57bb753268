// The jobs with their standing (as `mosaic job list` shows them), JobRegistry's (local mode) and SharedJobs' (shared
// mode, labelled s1, s2, …) newest first, refreshed every few seconds.
import { type JobStanding, readJobStandings, readSharedJobStandings, type SharedJobStanding } from "@mosaic/mapreduce";
import { formatEther } from "ethers";
import { ErrorNote, Progress, ScrollRegion } from "../components.tsx";
import { useApp } from "../context.tsx";
import { chainNow, chainOf, sharedOf, usePoll } from "./chain.ts";

const OPEN = new Set(["collecting", "awaiting-proposals", "provisional", "no-proposal", "aggregating"]);

/** One row of the list, whichever contract holds the job. */
interface ListedJob {
  /** As people type it: 3, or s2. */
  label: string;
  mode: "local" | "shared";
  stage: string;
  summary: string;
  groupId?: string;
  reward: bigint;
  minParticipants: number;
  /** When it was posted, roughly: its collection deadline orders the list. */
  order: number;
}

const listedLocal = (j: JobStanding): ListedJob => ({
  label: j.jobId,
  mode: "local",
  stage: j.stage,
  summary: j.summary,
  groupId: j.groupId,
  reward: BigInt(j.reward),
  minParticipants: j.minParticipants,
  order: j.collectionDeadline,
});

const listedShared = (j: SharedJobStanding): ListedJob => ({
  label: j.label,
  mode: "shared",
  stage: j.stage,
  summary: j.summary,
  groupId: j.groupId,
  reward: BigInt(j.reward),
  minParticipants: j.minParticipants,
  order: j.collectionDeadline,
});

/** `version` changes to read again at once (after posting a job, say). */
export function JobList({
  openOnly = false,
  testId = "jobs-table",
  version = 0,
}: {
  openOnly?: boolean;
  testId?: string;
  version?: number;
}) {
  const { network } = useApp();
  const poll = usePoll(
    async () => {
      const { registry, provider, fromBlock } = chainOf(network);
      const now = await chainNow(provider);
      const shared = network.file.contracts.sharedJobs === undefined ? undefined : sharedOf(network);
      const [local, sharedJobs] = await Promise.all([
        readJobStandings(registry, { now, fromBlock }),
        shared === undefined ? [] : readSharedJobStandings(shared.shared, { now, fromBlock: shared.fromBlock }),
      ]);
      // Oldest first, by collection deadline (a stable order within each contract), as `mosaic job list` lists them.
      return [...local.map(listedLocal), ...sharedJobs.map(listedShared)].sort((a, b) => a.order - b.order);
    },
    10_000,
    `${network.file.contracts.jobRegistry.address} ${version}`,
  );
  const jobs: ListedJob[] = (poll.value ?? []).filter((j) => !openOnly || OPEN.has(j.stage)).reverse();
  return (
    <>
      <div className="row">
        <button type="button" className="secondary" onClick={poll.refresh} disabled={poll.loading}>
          Refresh jobs
        </button>
        {poll.loading ? <span className="muted">reading…</span> : null}
      </div>
      {poll.value === undefined && poll.error === undefined ? <Progress label="Reading the registry's jobs" /> : null}
      <ErrorNote error={poll.error} />
      {poll.value === undefined ? null : jobs.length === 0 ? (
        <p className="muted">{openOnly ? "No open jobs right now." : "No jobs posted yet."}</p>
      ) : (
        <ScrollRegion label="Jobs">
          <table data-testid={testId}>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Mode</th>
                <th scope="col">Standing</th>
                <th scope="col">Group</th>
                <th scope="col">Reward</th>
                <th scope="col">Min.</th>
                <th scope="col">Watch</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.label} data-job-id={j.label}>
                  <th scope="row">{j.label}</th>
                  <td data-testid="list-mode">{j.mode}</td>
                  <td>
                    <strong data-testid="list-stage">{j.stage}</strong>
                    <br />
                    <small>{j.summary}</small>
                  </td>
                  <td>{j.groupId ?? "?"}</td>
                  <td>{formatEther(j.reward)} ETH</td>
                  <td>{j.minParticipants}</td>
                  <td>
                    <a href={`#/research/job/${j.label}`} aria-label={`Watch job ${j.label}`}>
                      Watch
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </>
  );
}
