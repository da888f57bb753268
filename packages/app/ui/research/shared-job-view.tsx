// Watching one shared-mode job (s1, s2, …) live: its standing on SharedJobs read every few seconds (readSharedJobStanding,
// as `mosaic job result` reads it), each aggregator's part, and once final the released sum drawn with the job's spec.
import {
  formatSpan,
  isoTime,
  type ResultView,
  readSharedJobStanding,
  resultView,
  type SharedJobStanding,
  sharedJobGroups,
} from "@mosaic/mapreduce";
import { type JobSpec, jobLabel, SHARED_JOB_ID_BASE } from "@mosaic/protocol";
import { formatEther } from "ethers";
import { type ChangeEvent, useEffect, useState } from "react";
import { ErrorNote, Progress, ScrollRegion, Section, shortAddress, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { LoadedNetwork } from "../network.ts";
import { chainNow, fetchSpec, rememberedSpec, sharedOf, specMatching, usePoll } from "./chain.ts";
import { NoSuchJobError } from "./job-view.tsx";
import { ResultChart, ResultDownloads, ResultNotes, ResultTable } from "./result.tsx";

const POLL_MS = 3000;
const TERMINAL = new Set(["final", "refunded"]);

const COMMIT_WORDS: Record<SharedJobStanding["aggregators"][number]["commit"], string> = {
  none: "not committed",
  committed: "committed (bond held)",
  revealed: "revealed its noised share (bond held)",
  returned: "committed (bond returned)",
  slashed: "shown false (bond slashed)",
};

async function readStanding(network: LoadedNetwork, jobId: bigint): Promise<SharedJobStanding> {
  const { shared, fromBlock } = sharedOf(network);
  const [now, count] = await Promise.all([chainNow(network.reader), shared.jobCount()]);
  const n = jobId - SHARED_JOB_ID_BASE;
  if (n < 1n || n > count)
    throw new NoSuchJobError(
      `there is no shared job ${jobLabel(jobId)} on this network (it has ${count === 0n ? "no shared jobs yet" : `s1 to s${count}`}); check the job label`,
    );
  const groups = await sharedJobGroups(shared, fromBlock, jobId);
  return readSharedJobStanding(shared, jobId, now, { groupId: groups.get(jobId) });
}

export function SharedJobView({ jobId }: { jobId: bigint }) {
  const { network } = useApp();
  const [done, setDone] = useState(false);
  const poll = usePoll(() => readStanding(network, jobId), POLL_MS, jobId.toString(), !done);
  const standing = poll.value;
  useEffect(() => setDone(standing !== undefined && TERMINAL.has(standing.stage)), [standing]);
  return (
    <Section title={`Job ${jobLabel(jobId)} (shared mode)`} id="watch">
      {standing === undefined && poll.error === undefined ? <Progress label="Reading the job from the chain" /> : null}
      <ErrorNote error={poll.error} />
      {standing === undefined ? null : (
        <>
          <p>
            <span className={`stage stage-${standing.stage}`} data-testid="job-stage">
              {standing.stage}
            </span>{" "}
            <span className="badge" data-testid="job-mode">
              Shared mode
            </span>{" "}
            {done ? null : (
              <small className="muted" aria-hidden="true">
                (live, every {POLL_MS / 1000} s)
              </small>
            )}
          </p>
          <p role="status" data-testid="job-standing">
            {standing.summary}
          </p>
          <p className="muted">
            Each member's exact answer went out split in two encrypted shares, one per aggregator; each aggregator adds its own discrete
            Gaussian noise to its share of the sum, and only the two noised shares' sum is released.
          </p>
          <dl className="facts">
            <dt>Group</dt>
            <dd>{standing.groupId ?? "?"}</dd>
            <dt>Reward</dt>
            <dd>{formatEther(standing.reward)} ETH (half to each aggregator when final)</dd>
            <dt>Collection closes</dt>
            <dd>
              {isoTime(standing.collectionDeadline)}
              {standing.collectionDeadline > standing.now ? ` (in ${formatSpan(standing.collectionDeadline - standing.now)})` : ""}
            </dd>
            <dt>Commits until</dt>
            <dd>{isoTime(standing.commitDeadline)}</dd>
            <dt>Final from</dt>
            <dd>{isoTime(standing.finalizeAfter)}</dd>
            <dt>Spec</dt>
            <dd className="mono">{standing.specCid}</dd>
          </dl>
          <ScrollRegion label="Aggregators">
            <table data-testid="aggregators-table">
              <caption className="muted" style={{ textAlign: "left" }}>
                Aggregators
              </caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Operator</th>
                  <th scope="col">Prep shares</th>
                  <th scope="col">Commitment</th>
                  <th scope="col">Reports</th>
                </tr>
              </thead>
              <tbody>
                {standing.aggregators.map((a) => (
                  <tr key={a.index}>
                    <td>{a.index === 0 ? "0 (leader)" : a.index}</td>
                    <td title={a.address}>{shortAddress(a.address)}</td>
                    <td>{a.prepAnnounced ? "announced" : "not yet"}</td>
                    <td>{COMMIT_WORDS[a.commit]}</td>
                    <td>{a.count ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
          {standing.stage === "final" && standing.aggregate !== undefined ? <SharedResult network={network} standing={standing} /> : null}
        </>
      )}
    </Section>
  );
}

function SharedResult({ network, standing }: { network: LoadedNetwork; standing: SharedJobStanding }) {
  const [spec, setSpec] = useState<JobSpec>();
  const load = useAction(async () => {
    setSpec((await rememberedSpec(standing.specCid)) ?? (await fetchSpec(network, standing.specCid)));
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: read once per job
  useEffect(() => {
    void load.run();
  }, [standing.jobId]);
  const fromFile = useAction(async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file === undefined) return;
    let value: unknown;
    try {
      value = JSON.parse(await file.text());
    } catch (err) {
      throw new SyntaxError(`${file.name}: not valid JSON (${(err as Error).message}); choose the spec file you posted`);
    }
    setSpec(await specMatching(standing.specCid, value as JobSpec));
  });
  const aggregate = standing.aggregate ?? [];
  const count = standing.count ?? 0;
  const view: ResultView | undefined = spec === undefined ? undefined : resultView(spec, aggregate, count, { final: true });
  return (
    <section aria-labelledby="result-heading">
      <h3 id="result-heading">Result (final)</h3>
      {load.busy ? <Progress label="Reading the job's spec" /> : null}
      {load.error === undefined ? null : (
        <>
          <ErrorNote error={load.error} />
          {spec === undefined ? (
            <label className="field">
              <span>Spec file of this job (JSON)</span>
              <input type="file" accept="application/json,.json" onChange={(e) => fromFile.run(e)} data-testid="result-spec-file" />
            </label>
          ) : null}
          <ErrorNote error={fromFile.error} />
        </>
      )}
      {view === undefined ? null : (
        <>
          <p className="muted">{view.note}</p>
          <ResultChart view={view} />
          <ResultTable view={view} />
          <ResultNotes view={view} />
          <ResultDownloads
            view={view}
            base={`mosaic-job-${standing.label}-result`}
            json={{
              jobId: standing.jobId,
              label: standing.label,
              mode: "shared",
              stage: standing.stage,
              final: true,
              specCid: standing.specCid,
              aggregators: standing.aggregators.map((a) => a.address),
              count,
              aggregate,
              view,
            }}
          />
        </>
      )}
    </section>
  );
}
