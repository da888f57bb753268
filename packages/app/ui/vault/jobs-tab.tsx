// The job inbox: the open jobs for the avatar's groups; the consent screen (the job's mode and what it means first,
// then who asks, why, the program in plain words, the exact output that would leave (noised here in local mode, split
// and encrypted in shared mode), the ε charged and the budget before and after); answering with progress (map, prove,
// wait, publish, receipts), never with the wallet; and for each answer sent, its receipts and inclusion proof.
import {
  answerConfirmed,
  checkInclusion,
  checkSharedInclusion,
  type ConsentRequest,
  formatEpsilon,
  type InclusionVerdict,
  type JobListing,
  jobKey,
  listJobs,
  type PreparedJob,
  prepareJob,
  readAnyPostedJob,
  readPostedJob,
  resendSubmission,
  type SharedInclusionVerdict,
  sentBlock,
  submissionRecords,
  type Vault,
} from "@mosaic/vault";
import { isSharedJobId, jobLabel } from "@mosaic/protocol";
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { ErrorNote, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import { type Board, openBoard } from "./board.ts";
import { proveInWorker, proveSharedInWorker } from "./prover.ts";

/** The longest random wait before an answer leaves, by the person's choice: unlinkability by timing. */
const DELAYS = [
  { ms: 0, label: "right away (less private)" },
  { ms: 30_000, label: "within 30 seconds" },
  { ms: 5 * 60_000, label: "within 5 minutes" },
];

export function JobsTab({ vault, changed }: { vault: Vault; changed(): void }) {
  const { network } = useApp();
  const board = useRef<Promise<Board> | undefined>(undefined);
  const getBoard = useCallback(() => (board.current ??= openBoard(network)), [network]);
  useEffect(
    () => () => {
      void board.current?.then((b) => b.close()).catch(() => undefined);
      board.current = undefined;
    },
    [],
  );
  const [selected, setSelected] = useState<string>();
  return (
    <>
      <Inbox vault={vault} getBoard={getBoard} onOpen={setSelected} />
      {selected === undefined ? null : <Consent key={selected} vault={vault} jobId={selected} getBoard={getBoard} changed={changed} />}
      <Answers vault={vault} getBoard={getBoard} />
    </>
  );
}

function Inbox({ vault, getBoard, onOpen }: { vault: Vault; getBoard(): Promise<Board>; onOpen(jobId: string): void }) {
  const [all, setAll] = useState(false);
  const [jobs, setJobs] = useState<JobListing[]>();
  const load = useAction(
    useCallback(async () => {
      const b = await getBoard();
      setJobs((await listJobs(b.board.components, vault, { fromBlock: b.fromBlock, all })).jobs);
    }, [getBoard, vault, all]),
  );
  const { run } = load;
  useEffect(() => {
    void run();
  }, [run]);
  return (
    <Section title="Job inbox">
      <div className="row">
        <button type="button" className="secondary" onClick={() => void run()} disabled={load.busy}>
          {load.busy ? "Checking…" : "Check for jobs"}
        </button>
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> show closed jobs and other groups' jobs
        </label>
      </div>
      <ErrorNote error={load.error} />
      {jobs === undefined ? null : jobs.length === 0 ? (
        <p className="muted" data-testid="no-jobs">
          No open jobs for your groups. Join a group under Groups to receive jobs.
        </p>
      ) : (
        <ul className="jobs">
          {jobs.map((j) => (
            <li key={j.jobKey} data-testid={`job-${j.label ?? j.jobId}`} data-mode={j.mode ?? "local"}>
              <strong>
                Job {j.label ?? j.jobId}: {j.title ?? "(spec not available)"}
              </strong>{" "}
              <span className="badge" data-testid="job-mode">
                {j.mode === "shared" ? "Shared mode" : "Local mode"}
              </span>{" "}
              <span className="muted">
                {j.requester ?? j.researcher} · ε {j.epsilon ?? "?"} ·{" "}
                {j.collecting ? `${Math.max(0, Math.round(j.secondsLeft / 60))} min left` : j.state}
                {j.answered ? " · answered" : ""}
              </span>
              {j.purpose === undefined ? null : <div>{j.purpose}</div>}
              {j.specError === undefined ? null : (
                <div className="warn">
                  {j.specError.name}: {j.specError.message}
                </div>
              )}
              {j.collecting && j.member && !j.answered && j.specError === undefined ? (
                <button type="button" onClick={() => onOpen(j.jobId)}>
                  Review job {j.label ?? j.jobId}
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

const STEP_LABELS: Record<string, string> = {
  chain: "Reading the job on-chain",
  "sync group": "Reading the group's members",
  spec: "Fetching the job's spec from a reducer",
  map: "Running the job's program in your vault",
  prove: "Proving membership (zero-knowledge)",
  wait: "Waiting a random moment before sending",
  publish: "Sending the answer",
  receipts: "Collecting the reducers' receipts",
};

function Consent({ vault, jobId, getBoard, changed }: { vault: Vault; jobId: string; getBoard(): Promise<Board>; changed(): void }) {
  const [prepared, setPrepared] = useState<{ job: PreparedJob; request: ConsentRequest }>();
  const [step, setStep] = useState<{ label: string; fraction?: number }>();
  const [delay, setDelay] = useState(DELAYS[1]?.ms ?? 0);
  const [done, setDone] = useState<string>();
  const review = useAction(
    useCallback(async () => {
      const b = await getBoard();
      const job = await prepareJob(b.board.components, vault, BigInt(jobId), {
        fromBlock: b.fromBlock,
        onStep: (s) => setStep({ label: STEP_LABELS[s] ?? s }),
      });
      setStep({ label: STEP_LABELS.map ?? "map" });
      setPrepared({ job, request: await vault.review(job.spec, job.job) });
      setStep(undefined);
    }, [getBoard, vault, jobId]),
  );
  const { run: runReview } = review;
  useEffect(() => {
    void runReview();
  }, [runReview]);
  const answer = useAction(async () => {
    if (prepared === undefined) return;
    const b = await getBoard();
    await vault.consent(prepared.job.spec, prepared.request);
    changed();
    const key = jobKey(prepared.job.job);
    try {
      const { receipts } = await answerConfirmed(
        {
          ...b.board.components,
          prove: proveInWorker((f) => setStep({ label: STEP_LABELS.prove ?? "prove", fraction: f })),
          proveShared: proveSharedInWorker((f) => setStep({ label: STEP_LABELS.prove ?? "prove", fraction: f })),
        },
        vault,
        prepared.job,
        {
          peers: b.peers,
          operators: b.operators,
          now: await b.board.components.now(),
          maxDelayMs: delay,
          // A shared job's answer counts only if both its aggregators hold their shares: wait for both receipts.
          minReceipts: prepared.job.posted.shared === undefined ? 1 : 2,
          onStep: (s) => setStep({ label: STEP_LABELS[s] ?? s }),
        },
      );
      setDone(
        receipts.complete
          ? `Answered. ${receipts.record.receipts.length} reducer(s) signed a receipt for your answer.`
          : `Your answer left, but only ${receipts.record.receipts.length} receipt(s) came before the deadline; it is recorded below.`,
      );
    } catch (err) {
      // Nothing left yet: take the consent back, so the budget is as it was.
      if (vault.consents().find((c) => c.jobKey === key)?.submitted === undefined) await vault.withdraw(key).catch(() => undefined);
      throw err;
    } finally {
      setStep(undefined);
      changed();
    }
  });
  const r = prepared?.request;
  return (
    <Section title={`Job ${jobLabel(BigInt(jobId))}: what it asks`} id="consent">
      {step !== undefined && (review.busy || answer.busy) ? <Progress label={step.label} value={step.fraction} max={1} /> : null}
      <ErrorNote error={review.error} />
      {r === undefined ? null : (
        <div data-testid="consent">
          <ModeNotice request={r} />
          <dl className="facts">
            <dt>Who asks</dt>
            <dd>{r.requester}</dd>
            <dt>Title</dt>
            <dd>{r.title}</dd>
            <dt>Why</dt>
            <dd>{r.purpose}</dd>
            <dt>Reads</dt>
            <dd>{r.reads.map((x) => `${x.ability}: ${x.fields.join(", ")}`).join("; ")}</dd>
            <dt>Program</dt>
            <dd>
              <ol>
                {r.programText.map((line, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the program's lines in order
                  <li key={i}>{line}</li>
                ))}
              </ol>
            </dd>
            <dt>What would leave</dt>
            <dd data-testid="payload">
              {r.preview.payload.map((v, i) => `${r.preview.labels[i] ?? i}: ${v}`).join(", ")} {r.preview.unit}{" "}
              {r.mode === "shared" ? (
                <span className="muted">
                  (your exact answer, kept within the job's bounds: it leaves only split in two encrypted shares, one per aggregator, and is
                  never sent whole)
                </span>
              ) : (
                <span className="muted">(noised; before noise it is {r.preview.raw.join(", ")}, which stays here)</span>
              )}
            </dd>
            <dt>Privacy cost</dt>
            <dd data-testid="budget">
              ε {epsilonText(r.charge)} charged to your budget ({r.mechanism}
              {r.mode === "shared" ? ", added by each aggregator" : ", added here"}
              {formatEpsilon(r.charge) === formatEpsilon(r.epsilon) ? "" : `; the job declares ε ${epsilonText(r.epsilon)}`}); budget left{" "}
              {r.budget.remaining} → {r.budget.after} after this job
              {r.budget.fits ? "" : " — this exceeds your budget: the vault refuses it"}
            </dd>
          </dl>
          {done === undefined ? (
            <div className="row">
              <label>
                Send{" "}
                <select value={delay} onChange={(e) => setDelay(Number(e.target.value))}>
                  {DELAYS.map((d) => (
                    <option key={d.ms} value={d.ms}>
                      {d.label}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => void answer.run()} disabled={answer.busy || !r.budget.fits}>
                {answer.busy ? "Answering…" : "Consent and answer"}
              </button>
            </div>
          ) : (
            <p className="ok" role="status" data-testid="answered">
              {done}
            </p>
          )}
          <p className="muted">
            No wallet and no transaction: the answer leaves from a throwaway network identity, with a proof that some member of the group
            sent it.
          </p>
        </div>
      )}
      <ErrorNote error={answer.error} />
    </Section>
  );
}

/** An ε as people read it: the fraction when it is short (2, 1/2), else about four significant digits (≈ 1.999). */
function epsilonText(e: { num: number; den: number }): string {
  const exact = formatEpsilon(e);
  return exact.length <= 7 ? exact : `≈ ${Number((e.num / e.den).toPrecision(4))}`;
}

/** The job's mode, said first and plainly: what happens to the answer, and what the chain can and cannot check. */
function ModeNotice({ request: r }: { request: ConsentRequest }) {
  const id = useId();
  const shared = r.mode === "shared";
  return (
    <section className={`mode-notice mode-${r.mode}`} aria-labelledby={id} data-testid="consent-mode" data-mode={r.mode}>
      <h3 id={id} data-testid="mode-label">
        {shared ? "Shared mode" : "Local mode"}
        <span className="muted"> · ε {epsilonText(r.charge)} charged</span>
      </h3>
      <p>
        {shared
          ? "Your answer is not noised on this device: it is split and encrypted for two aggregators, who add the noise to the sum."
          : "Your answer is noised on this device before it leaves."}
      </p>
      <ul data-testid="mode-disclosure">
        {r.disclosure.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </section>
  );
}

function Answers({ vault, getBoard }: { vault: Vault; getBoard(): Promise<Board> }) {
  const records = submissionRecords(vault);
  const [verdicts, setVerdicts] = useState<Record<string, AnyVerdict>>({});
  const [, setVersion] = useState(0);
  // An answer that left but has no receipt (the page was left mid-answer, or no reducer answered): the same bytes,
  // from the audit log, handed to the reducers again while the job still collects.
  const resend = useAction(async (key: string) => {
    const record = records.find((r) => r.jobKey === key);
    if (record === undefined) return;
    const b = await getBoard();
    const job = { chainId: BigInt(record.chainId), registry: record.registry, jobId: BigInt(record.jobId) };
    const onChain = await readAnyPostedJob(b.board.components, job.jobId, { fromBlock: b.fromBlock });
    const now = await b.board.components.now();
    if (onChain.state !== "open" || now >= onChain.collectionDeadline)
      throw new Error(`job ${jobLabel(job.jobId)} no longer collects answers: nothing to send again`);
    // A shared job's answer is held by its two aggregators: only they are asked, and only their receipts count.
    const aggregators = new Set(onChain.shared?.aggregators.map((a) => a.toLowerCase()));
    const peers = onChain.shared === undefined ? b.peers : b.peers.filter((p) => aggregators.has(b.operators.get(p)?.toLowerCase() ?? ""));
    await resendSubmission(b.board.components, vault, job, {
      peers,
      operators: b.operators,
      minStake: onChain.minStake,
      ...(onChain.shared === undefined ? {} : { aggregators: onChain.shared.aggregators }),
      minReceipts: 1,
      until: Date.now() + (onChain.collectionDeadline - now) * 1000,
    });
    setVersion((v) => v + 1);
  });
  const check = useAction(async (key: string) => {
    const record = records.find((r) => r.jobKey === key);
    if (record === undefined) return;
    const b = await getBoard();
    const job = { chainId: BigInt(record.chainId), registry: record.registry, jobId: BigInt(record.jobId) };
    if (isSharedJobId(job.jobId)) {
      if (b.board.sharedJobs === undefined)
        throw new Error(`job ${jobLabel(job.jobId)} is on SharedJobs, which this network file does not name`);
      const shared = await checkSharedInclusion({ sharedJobs: b.board.sharedJobs, getBlock: b.board.getBlock }, record);
      setVerdicts((v) => ({ ...v, [key]: { shared: true, verdict: shared } }));
      return;
    }
    const verdict = await checkInclusion({ registry: b.board.registry, getBlock: b.board.getBlock }, record, {
      sent: (await sentBlock(vault, job)).bytes,
      fromBlock: async () => (await readPostedJob(b.board.registry, job.jobId, { fromBlock: b.fromBlock })).postedBlock,
    });
    setVerdicts((v) => ({ ...v, [key]: { shared: false, verdict } }));
  });
  if (records.length === 0) return null;
  return (
    <Section title="Your answers">
      <ul>
        {records.map((r) => {
          const v = verdicts[r.jobKey];
          return (
            <li key={r.jobKey} data-testid={`answer-${jobLabel(BigInt(r.jobId))}`}>
              Job {jobLabel(BigInt(r.jobId))}: sent {new Date(r.submittedAt).toLocaleString()} · <code>{r.cid}</code>
              <div>
                Receipts:{" "}
                {r.receipts.length === 0
                  ? "none yet"
                  : r.receipts.map((x) => `${x.operator.slice(0, 10)}… at ${new Date(x.receivedAt).toLocaleTimeString()}`).join(", ")}
              </div>
              <div className="row">
                {r.receipts.length === 0 ? (
                  <button type="button" className="secondary" onClick={() => void resend.run(r.jobKey)} disabled={resend.busy}>
                    {resend.busy ? "Sending again…" : "Send again"}
                  </button>
                ) : null}
                <button type="button" className="secondary" onClick={() => void check.run(r.jobKey)} disabled={check.busy}>
                  Check inclusion
                </button>
              </div>
              {v === undefined ? null : <Verdict verdict={v} />}
            </li>
          );
        })}
      </ul>
      <ErrorNote error={check.error ?? resend.error} />
    </Section>
  );
}

/** An inclusion check's outcome, for a JobRegistry job (checkInclusion) or a SharedJobs one (checkSharedInclusion). */
type AnyVerdict = { shared: false; verdict: InclusionVerdict } | { shared: true; verdict: SharedInclusionVerdict };

function verdictText(v: InclusionVerdict): string {
  return v.status === "counted"
    ? `Counted: leaf ${v.index} of ${v.count}; its Merkle path hashes to the root ${v.treeRoot.slice(0, 18)}… on-chain (bundle ${v.bundleCid}).`
    : v.status === "pending"
      ? `Not final yet (${v.state}); check again after ${new Date(v.finalizeAfter * 1000).toLocaleString()}.`
      : v.status === "refunded"
        ? "The job was refunded: no result, so nothing to be counted in."
        : v.status === "missing"
          ? `MISSING from the result: ${v.reason}. Keep this as evidence: the proposer can be challenged.`
          : `The result could not be fetched (${v.reason}); try again later.`;
}

function sharedVerdictText(v: SharedInclusionVerdict): string {
  return v.status === "counted"
    ? `Counted: leaf ${v.index} of ${v.count} in the share set the aggregators committed; its leaves hash to the root ${v.treeRoot.slice(0, 18)}… on-chain (bundle ${v.bundleCid}).`
    : v.status === "pending"
      ? `Not final yet (${v.state}); check again after ${new Date(v.finalizeAfter * 1000).toLocaleString()}.`
      : v.status === "refunded"
        ? `The job was refunded (${v.reason}): no result, so nothing to be counted in.`
        : v.status === "missing"
          ? `MISSING from the share set: ${v.reason}. Keep this as evidence: aggregator ${v.aggregator} can be challenged.`
          : `The share set could not be fetched (${v.reason}); try again later.`;
}

function Verdict({ verdict: v }: { verdict: AnyVerdict }) {
  const { status } = v.verdict;
  return (
    <p className={status === "counted" ? "ok" : status === "missing" ? "error" : "muted"} data-testid="inclusion" role="status">
      {v.shared ? sharedVerdictText(v.verdict) : verdictText(v.verdict)}
    </p>
  );
}
