// Answering a job: the consented payload (local mode), or its two encrypted shares (shared mode), proved by the avatar,
// through the egress gate, handed to a transport the caller picks.
import {
  type ArtifactPaths,
  encodeSubmission,
  type Group,
  type Identity,
  nullifierOf,
  pickPublishDelay,
  proveSharedSubmission,
  proveSubmission,
  type SharedReport,
  type SharedSubmission,
  type Submission,
} from "@mosaic/avatar";
import { clampToOutput, shardReport } from "@mosaic/mapreduce";
import { type Block, createLogger, type JobRef, type JobSpec, jobTopic, type Logger, sleep, WrongModeError } from "@mosaic/protocol";
import { EgressMismatchError } from "./errors.js";
import { aggregatorKeyFingerprint, checkAggregatorKeys, checkSharedSpec, modeOf } from "./shared-mode.js";
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
  if (vault.consentedMode(key) !== "local")
    throw new WrongModeError(
      `job ${key} was consented in shared mode: its answer leaves only as two encrypted shares (answerSharedJobWith)`,
    );
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

/**
 * Splits a clamped answer into a Prio3 report for the job's two aggregators: shardReport from @mosaic/mapreduce (the
 * VDAF shard, each input share HPKE-encrypted to its aggregator's key).
 */
export type ShardReport = (args: {
  spec: JobSpec;
  job: JobRef;
  clamped: number[];
  aggregatorKeys: [Uint8Array, Uint8Array];
  /** The avatar's nullifier for the job (avatar's nullifierOf): the shares' HPKE aad binds them to it. */
  nullifier: bigint;
}) => Promise<SharedReport>;

/** Makes a v2 submission's proof, as avatar's proveSharedSubmission does (elsewhere than this thread, say). */
export type ProveSharedSubmission = (identity: Identity, group: Group, job: JobRef, report: SharedReport) => Promise<SharedSubmission>;

/** What answering a shared job needs from its surroundings. */
export interface AnswerSharedJobComponents extends Omit<AnswerJobComponents, "prove"> {
  /**
   * Shards the answer.
   * @default @mosaic/mapreduce's shardReport (the platform's CSPRNG)
   */
  shard?: ShardReport;
  /**
   * Makes the proof.
   * @default proveSharedSubmission with `artifacts`, on this thread
   */
  prove?: ProveSharedSubmission;
}

export interface AnswerSharedJobInit extends AnswerJobInit {
  /** The job's spec (mode "shared"), as fetched and checked against SharedJobs' record: what the report is shaped by. */
  spec: JobSpec;
}

/**
 * Answers a shared-mode job: the exact clamped answer the user consented to is split into a Prio3 report whose two
 * input shares are encrypted to `aggregatorKeys` (the job's two aggregators, share 0 the leader's, as SharedJobs
 * records them), proved (the proof's message binds both shares' digests to the avatar's one nullifier), encoded as an
 * envelope v2 and published after a random delay, as answerJobWith does. No noise is added here: the aggregators
 * each add theirs to the sum.
 *
 * Order: checks (spec, keys, consent and its mode) → shard → prove → encode → wait → egress → publish. Refused before
 * anything is sharded: SharedSpecRefusedError (a spec the vault will not answer in shared mode), WrongModeError (a
 * local job or a local-mode consent), RangeError (not two distinct 32-byte keys), ConsentRequiredError,
 * ConsentWithdrawnError, EgressMismatchError (the consented answer is not one the spec's output admits). The egress
 * gate checks consent again at the publish instant, and its audit entry names the envelope's CID and the two keys'
 * fingerprints, never the answer.
 */
export async function answerSharedJobWith(
  components: AnswerSharedJobComponents,
  vault: Vault,
  job: JobRef,
  group: Group,
  aggregatorKeys: [Uint8Array, Uint8Array],
  init: AnswerSharedJobInit,
): Promise<AnswerResult> {
  const log = init.logger ?? createLogger("vault");
  const { spec } = init;
  const key = jobKey(job);
  if (modeOf(spec) !== "shared") throw new WrongModeError(`job ${key}: its spec is a local-mode one; answer it with answerJobWith`);
  checkSharedSpec(spec);
  checkAggregatorKeys(aggregatorKeys);
  const keys: [Uint8Array, Uint8Array] = [aggregatorKeys[0].slice(), aggregatorKeys[1].slice()];
  const started = performance.now();
  const { delayMs, capped } = pickPublishDelay(init);
  if (capped) log("warn", "answer:no-delay", { job: key, reason: "the collection window is too short for a random delay" });
  const payload = vault.consentedPayload(key);
  if (vault.consentedMode(key) !== "shared")
    throw new WrongModeError(`job ${key} was consented in local mode (a noised answer); review it again as the shared job it is`);
  // The shares go to exactly the aggregators the user consented to, when the consent screen named them.
  const consented = vault.consentedAggregators(key);
  if (consented !== undefined && consented.map((a) => a.fingerprint).join() !== keys.map(aggregatorKeyFingerprint).join())
    throw new EgressMismatchError(
      `job ${key}: the aggregator keys are not the ones you consented to (${consented.map((a) => a.fingerprint).join(", ")}); review the job again; nothing was sent`,
    );
  let clamped: number[];
  try {
    clamped = clampToOutput(payload, spec.output);
  } catch (err) {
    throw new EgressMismatchError(
      `job ${key}: the consented answer is not one this spec's output admits (${(err as Error).message}); nothing was sent`,
    );
  }
  if (clamped.some((x, i) => x !== payload[i]))
    throw new EgressMismatchError(
      `job ${key}: the consented answer lies outside this spec's output bounds; review the job again; nothing was sent`,
    );
  const shard: ShardReport = components.shard ?? shardReport;
  const report = await shard({ spec, job, clamped, aggregatorKeys: keys, nullifier: nullifierOf(vault.avatar, job) });
  const prove: ProveSharedSubmission = components.prove ?? ((id, g, j, r) => proveSharedSubmission(id, g, j, r, components.artifacts));
  const submission = await prove(vault.avatar, group, job, report);
  const proofMs = performance.now() - started;
  const block = await encodeSubmission(submission);
  await sleep(delayMs - (performance.now() - started), { signal: init.signal });
  const bytes = await vault.egress(key, block.bytes, payload, { mode: "shared", cid: block.cid.toString(), aggregatorKeys: keys });
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
