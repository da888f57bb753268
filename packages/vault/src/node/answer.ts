// Answering a job (Node only: it publishes from a throwaway TCP libp2p node): the consented payload, proved by the avatar, through the egress gate.
import { encodeSubmission, type Group, pickPublishDelay, proveSubmission, publishSubmission } from "@mosaic/avatar";
import { type Block, createLogger, type JobRef, jobTopic, type Logger } from "@mosaic/protocol";
import { jobKey, type Vault } from "../vault.js";

export interface AnswerJobInit {
  /** Multiaddrs (with /p2p/ peer ids) of the reducers or relays to hand the submission to. */
  peers: string[];
  /** The job's collection deadline, unix seconds (`JobRegistry.getJob(jobId).collectionDeadline`). */
  collectionDeadline: number;
  /** Now on the deadline's clock (chain time), unix seconds, when answerJob is called. */
  now: number;
  /**
   * The longest random delay before publishing.
   * @default the whole remaining window, less the safety margin
   */
  maxDelayMs?: number;
  /**
   * Time kept free before the deadline.
   * @default max(60 s, 10% of the remaining window)
   */
  safetyMarginMs?: number;
  /**
   * A uniform random integer in [0, bound); a CSPRNG outside tests.
   * @default crypto.randomInt
   */
  random?: (bound: number) => number;
  /**
   * Subscribers (reducers, relays) the announcement must reach.
   * @default 1
   */
  minRecipients?: number;
  /**
   * The longest the throwaway node waits for a fetch after announcing.
   * @default 10000
   */
  lingerMs?: number;
  signal?: AbortSignal;
  /** @default createLogger("vault") */
  logger?: Logger;
}

export interface AnswerResult {
  block: Block;
  proofMs: number;
  /** The random delay picked, from the call to the publish, proof time included. */
  delayMs: number;
}

/**
 * Proves and publishes the consented payload for a job. No transaction, no wallet, and not the vault's own
 * IPFS node: the block leaves from a throwaway libp2p node with a new peer id (`publishSubmission`).
 *
 * Timing: a publish instant is drawn uniformly at random (CSPRNG) in [0, min(maxDelayMs, window - margin)]
 * after the call, before proving; the proof is made, then the vault waits until that instant. So the
 * announcement time says nothing about how fast the device proves (unless proving outlasts the draw). The
 * wait comes before the egress gate: consent can still be withdrawn while waiting, and the audit entry is
 * written when the bytes actually leave. Order: consentedPayload → prove → encode → wait → egress → publish.
 */
export async function answerJob(vault: Vault, job: JobRef, group: Group, init: AnswerJobInit): Promise<AnswerResult> {
  const log = init.logger ?? createLogger("vault");
  const started = performance.now();
  const { delayMs, capped } = pickPublishDelay(init);
  const key = jobKey(job);
  if (capped) log("warn", "answer:no-delay", { job: key, reason: "the collection window is too short for a random delay" });
  const payload = vault.consentedPayload(key);
  const submission = await proveSubmission(vault.avatar, group, job, payload);
  const proofMs = performance.now() - started;
  const block = await encodeSubmission(submission);
  await wait(delayMs - (performance.now() - started), init.signal);
  const bytes = await vault.egress(key, block.bytes, payload);
  await publishSubmission(
    { cid: block.cid, bytes },
    {
      peers: init.peers,
      topic: jobTopic(job),
      signal: init.signal,
      minRecipients: init.minRecipients,
      lingerMs: init.lingerMs,
    },
  );
  return { block, proofMs, delayMs };
}

/** Waits `ms` (in steps setTimeout can take: a window may be longer than 24.8 days), unless aborted. */
async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await sleep(Math.min(left, 2 ** 31 - 1), signal);
  signal?.throwIfAborted();
}

/** setTimeout as a promise that an abort rejects early, with an AbortError as Node's timers/promises would. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): DOMException => new DOMException("The operation was aborted", "AbortError");
    if (signal?.aborted) return reject(aborted());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
