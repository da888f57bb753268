// The registry's jobs with their standing (as `mosaic job list` shows them), newest first, refreshed every few seconds.
import { type JobStanding, readJobStandings } from "@mosaic/mapreduce";
import { formatEther } from "ethers";
import { ErrorNote, Progress, ScrollRegion } from "../components.tsx";
import { useApp } from "../context.tsx";
import { chainNow, chainOf, usePoll } from "./chain.ts";

const OPEN = new Set(["collecting", "awaiting-proposals", "provisional", "no-proposal"]);

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
      return readJobStandings(registry, { now: await chainNow(provider), fromBlock });
    },
    10_000,
    `${network.file.contracts.jobRegistry.address} ${version}`,
  );
  const jobs: JobStanding[] = (poll.value ?? []).filter((j) => !openOnly || OPEN.has(j.stage)).reverse();
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
                <th scope="col">Standing</th>
                <th scope="col">Group</th>
                <th scope="col">Reward</th>
                <th scope="col">Min.</th>
                <th scope="col">Watch</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.jobId} data-job-id={j.jobId}>
                  <th scope="row">{j.jobId}</th>
                  <td>
                    <strong data-testid="list-stage">{j.stage}</strong>
                    <br />
                    <small>{j.summary}</small>
                  </td>
                  <td>{j.groupId ?? "?"}</td>
                  <td>{formatEther(j.reward)} ETH</td>
                  <td>{j.minParticipants}</td>
                  <td>
                    <a href={`#/research/job/${j.jobId}`} aria-label={`Watch job ${j.jobId}`}>
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
