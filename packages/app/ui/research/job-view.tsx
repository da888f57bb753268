// Watching one job live: its standing read from the registry every few seconds until it is final or refunded, and,
// once a result is proposed, the result drawn from the spec (kept on this device, fetched from the reducers, or a file).
import { formatSpan, isoTime, type JobStanding, jobGroups, readJobStanding, type ResultView, resultView } from "@mosaic/mapreduce";
import { type JobSpec, namedError } from "@mosaic/protocol";
import { formatEther } from "ethers";
import { type ChangeEvent, lazy, Suspense, useEffect, useState } from "react";
import { ErrorNote, Progress, ScrollRegion, Section, shortAddress, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { LoadedNetwork } from "../network.ts";
import { chainNow, chainOf, fetchSpec, rememberedSpec, specMatching, usePoll } from "./chain.ts";
import { ResultChart, ResultDownloads, ResultNotes, ResultTable } from "./result.tsx";

// The SEIR panel (its model code and worker) loads only under a final result.
const ModelPanel = lazy(() => import("./model-panel.tsx").then((m) => ({ default: m.ModelPanel })));

/** The registry has no job with this id. */
export class NoSuchJobError extends namedError("NoSuchJobError") {}

/** The chain has a standing result but no ResultProposed log for it from the registry's deploy block. */
export class NoResultLogError extends namedError("NoResultLogError") {}

const POLL_MS = 3000;
const TERMINAL = new Set(["final", "refunded"]);

async function readStanding(network: LoadedNetwork, jobId: bigint): Promise<JobStanding> {
  const { registry, provider, fromBlock } = chainOf(network);
  const [now, count] = await Promise.all([chainNow(provider), registry.jobCount()]);
  if (jobId < 1n || jobId > count)
    throw new NoSuchJobError(
      `there is no job ${jobId} on this registry (it has ${count === 0n ? "no jobs yet" : `jobs 1 to ${count}`}); check the job number`,
    );
  const groups = await jobGroups(registry, fromBlock, jobId);
  return readJobStanding(registry, jobId, now, { groupId: groups.get(jobId) });
}

export function JobView({ jobId }: { jobId: bigint }) {
  const { network } = useApp();
  const [done, setDone] = useState(false);
  const poll = usePoll(() => readStanding(network, jobId), POLL_MS, jobId.toString(), !done);
  const standing = poll.value;
  useEffect(() => setDone(standing !== undefined && TERMINAL.has(standing.stage)), [standing]);
  return (
    <Section title={`Job ${jobId}`} id="watch">
      {standing === undefined && poll.error === undefined ? <Progress label="Reading the job from the chain" /> : null}
      <ErrorNote error={poll.error} />
      {standing === undefined ? null : (
        <>
          <p>
            <span className={`stage stage-${standing.stage}`} data-testid="job-stage">
              {standing.stage}
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
          <dl className="facts">
            <dt>Group</dt>
            <dd>{standing.groupId ?? "?"}</dd>
            <dt>Reward</dt>
            <dd>{formatEther(standing.reward)} ETH</dd>
            <dt>Collection closes</dt>
            <dd>
              {isoTime(standing.collectionDeadline)}
              {standing.collectionDeadline > standing.now ? ` (in ${formatSpan(standing.collectionDeadline - standing.now)})` : ""}
            </dd>
            <dt>Proposals until</dt>
            <dd>{isoTime(standing.proposalDeadline)}</dd>
            <dt>Final from</dt>
            <dd>{isoTime(standing.finalizeAfter)}</dd>
            <dt>Spec</dt>
            <dd className="mono">{standing.specCid}</dd>
          </dl>
          {standing.proposals.length === 0 ? null : (
            <ScrollRegion label="Proposals">
              <table data-testid="proposals-table">
                <caption className="muted" style={{ textAlign: "left" }}>
                  Proposals
                </caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Proposer</th>
                    <th scope="col">Answers counted</th>
                    <th scope="col">State</th>
                  </tr>
                </thead>
                <tbody>
                  {standing.proposals.map((p) => (
                    <tr key={p.index}>
                      <td>{p.index}</td>
                      <td title={p.proposer}>{shortAddress(p.proposer)}</td>
                      <td>{p.revealed ? p.count : "—"}</td>
                      <td>
                        {p.faulted
                          ? "shown false (slashed)"
                          : p.revealed
                            ? p.index === standing.leading
                              ? "leading"
                              : "revealed"
                            : "committed"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          )}
          {standing.leading === undefined ? null : (
            <Result network={network} standing={standing} leading={standing.leading} final={standing.stage === "final"} />
          )}
        </>
      )}
    </Section>
  );
}

interface Revealed {
  proposer: string;
  count: number;
  aggregate: number[];
  bundleCid: string;
}

function Result({ network, standing, leading, final }: { network: LoadedNetwork; standing: JobStanding; leading: number; final: boolean }) {
  const [revealed, setRevealed] = useState<Revealed>();
  const [spec, setSpec] = useState<JobSpec>();
  const jobId = BigInt(standing.jobId);
  const load = useAction(async () => {
    const { registry, fromBlock } = chainOf(network);
    const events = await registry.queryFilter(registry.filters.ResultProposed(jobId), fromBlock);
    const event = events.find((e) => Number(e.args.index) === leading);
    if (event === undefined)
      throw new NoResultLogError(`job ${jobId}: proposal #${leading} has no ResultProposed log; is the network file's deploy block right?`);
    setRevealed({
      proposer: event.args.proposer,
      count: Number(event.args.count),
      aggregate: event.args.aggregate.map((x) => Number(x)),
      bundleCid: event.args.bundleCid,
    });
    setSpec((await rememberedSpec(standing.specCid)) ?? (await fetchSpec(network, standing.specCid)));
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: read once per job and leading proposal
  useEffect(() => {
    void load.run();
  }, [standing.jobId, leading]);
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
  const challengeEndsAt = standing.proposals[leading]?.challengeEndsAt ?? standing.finalizeAfter;
  const view: ResultView | undefined =
    spec === undefined || revealed === undefined
      ? undefined
      : resultView(spec, revealed.aggregate, revealed.count, { final, challengeEndsAt });
  return (
    <section aria-labelledby="result-heading">
      <h3 id="result-heading">{final ? "Result (final)" : "Result (provisional)"}</h3>
      {load.busy ? <Progress label="Reading the result and its spec" /> : null}
      {load.error === undefined ? null : (
        <>
          <ErrorNote error={load.error} />
          {revealed !== undefined && spec === undefined ? (
            <label className="field">
              <span>Spec file of this job (JSON)</span>
              <input type="file" accept="application/json,.json" onChange={(e) => fromFile.run(e)} data-testid="result-spec-file" />
            </label>
          ) : null}
          <ErrorNote error={fromFile.error} />
        </>
      )}
      {view === undefined || revealed === undefined ? null : (
        <>
          <p className="muted">{view.note}</p>
          <ResultChart view={view} />
          <ResultTable view={view} />
          <ResultNotes view={view} />
          <ResultDownloads
            view={view}
            base={`mosaic-job-${standing.jobId}-result`}
            json={{
              jobId: standing.jobId,
              stage: standing.stage,
              final,
              specCid: standing.specCid,
              proposal: leading,
              proposer: revealed.proposer,
              count: revealed.count,
              aggregate: revealed.aggregate,
              bundleCid: revealed.bundleCid,
              view,
            }}
          />
          <p className="muted">
            Proposed by <span className="mono">{revealed.proposer}</span>; bundle <span className="mono">{revealed.bundleCid}</span>
          </p>
          {final ? (
            <Suspense fallback={null}>
              <ModelPanel view={view} jobId={standing.jobId.toString()} network={network} />
            </Suspense>
          ) : null}
        </>
      )}
    </section>
  );
}
