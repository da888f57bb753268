// Answering a job: the consented payload, proved by the avatar, through the egress gate, handed to a transport the caller picks.
import {
  type ArtifactPaths,
  encodeSubmission,
  type Group,
  type Identity,
  pickPublishDelay,
  proveSubmission,
  type Submission,
} from "@mosaic/avatar";
import { type Block, createLogger, type JobRef, jobTopic, type Logger, sleep } from "@mosaic/protocol";
import { jobKey, type Vault } from "./vault.js";

/** What answerJob tells the transport besides the block. */
export interface PublishBlockOptions {
  /** Multiaddrs (with /p2p/ peer ids) of the reducers or relays to hand the submission to. */
  peers: string[];
  /** The job's gossipsub topic (`jobTopic(job)`). */
  topic: string;
  signal?: AbortSignal;
  /**
   * Subscribers the announcement must reach.
   * @default the transport's (1 for publishSubmission)
   */
  minRecipients?: number;
  /**
   * The longest to wait for a fetch after announcing.
   * @default the transport's (10000 for publishSubmission)
   */
  lingerMs?: number;
}

/**
 * Announces a submission block to the job's reducers or relays, from somewhere that does not link it to the
 * vault (in Node: avatar's `publishSubmission`, a throwaway libp2p node with a new peer id).
 */
export type PublishBlock = (block: Block, options: PublishBlockOptions) => Promise<unknown>;

/**
 * Makes the submission's Semaphore proof, as avatar's proveSubmission does; somewhere else than the calling thread, say
 * (a browser's Web Worker, through avatar's proofRequestOf and proveRequest), so a page stays responsive for seconds.
 */
export type ProveSubmission = (identity: Identity, group: Group, job: JobRef, payload: number[]) => Promise<Submission>;

/** What answering a job needs from its surroundings. */
export interface AnswerJobComponents {
  publish: PublishBlock;
  /**
   * The Semaphore wasm and zkey to prove with; a browser has no installed files, so the app passes their URLs.
   * Unused when `prove` is given.
   * @default the installed files (Node); none in the browser
   */
  artifacts?: ArtifactPaths;
  /**
   * Makes the proof.
   * @default proveSubmission with `artifacts`, on this thread
   */
  prove?: ProveSubmission;
}

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
   * @default WebCrypto's getRandomValues, sampled uniformly
   */
  random?: (bound: number) => number;
  /**
   * Subscribers (reducers, relays) the announcement must reach.
   * @default 1
   */
  minRecipients?: number;
  /**
   * The longest the transport waits for a fetch after announcing.
   * @default the transport's (10000 for publishSubmission)
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
 * IPFS node: the block leaves through `components.publish`, which must not link it to the vault (Node's
 * `answerJob` passes avatar's `publishSubmission`, a throwaway libp2p node with a new peer id).
 *
 * Timing: a publish instant is drawn uniformly at random (CSPRNG) in [0, min(maxDelayMs, window - margin)]
 * after the call, before proving; the proof is made, then the vault waits until that instant. So the
 * announcement time says nothing about how fast the device proves (unless proving outlasts the draw). The
 * wait comes before the egress gate: consent can still be withdrawn while waiting, and the audit entry is
 * written when the bytes actually leave. Order: consentedPayload → prove → encode → wait → egress → publish.
 */
export async function answerJobWith(
  components: AnswerJobComponents,
  vault: Vault,
  job: JobRef,
  group: Group,
  init: AnswerJobInit,
): Promise<AnswerResult> {
  const log = init.logger ?? createLogger("vault");
  const started = performance.now();
  const { delayMs, capped } = pickPublishDelay(init);
  const key = jobKey(job);
  if (capped) log("warn", "answer:no-delay", { job: key, reason: "the collection window is too short for a random delay" });
  const payload = vault.consentedPayload(key);
  const prove: ProveSubmission = components.prove ?? ((id, g, j, p) => proveSubmission(id, g, j, p, components.artifacts));
  const submission = await prove(vault.avatar, group, job, payload);
  const proofMs = performance.now() - started;
  const block = await encodeSubmission(submission);
  await sleep(delayMs - (performance.now() - started), { signal: init.signal });
  const bytes = await vault.egress(key, block.bytes, payload);
  await components.publish(
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
