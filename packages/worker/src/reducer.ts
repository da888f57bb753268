// The reducer node's job loop: collect announced submissions, verify them, reduce, publish, propose.
import { decodeSubmission, MAX_SUBMISSION_BYTES, verifySubmission } from "@mosaic/avatar";
import { type Leaf, payloadBounds, type ReduceResult, reduceTree, validateSpec } from "@mosaic/mapreduce";
import {
  type Block,
  createLogger,
  decodeCbor,
  encodeBlock,
  getBlock,
  type IpfsNode,
  type JobRef,
  type JobRegistry,
  type JobSpec,
  jobTopic,
  type Logger,
  MalformedSubmissionError,
  NullifierReusedError,
  parseCid,
  putBlock,
  type RejectionReason,
} from "@mosaic/protocol";

const REASONS: ReadonlySet<string> = new Set<RejectionReason>([
  "MalformedSubmissionError",
  "SubmissionTooLargeError",
  "PayloadOutOfBoundsError",
  "WrongJobError",
  "UnknownRootError",
  "ExpiredRootError",
  "NullifierReusedError",
  "PayloadHashMismatchError",
  "InvalidProofError",
  "BlockUnavailableError",
]);

/** The reducer's view of one job while it collects. */
export interface JobState {
  job: JobRef;
  spec: JobSpec;
  groupRoot: bigint;
  collectionDeadline: number;
  proposalDeadline: number;
  accepted: Map<string, Leaf>;
  rejected: Partial<Record<RejectionReason, number>>;
  announced: number;
  /** Announcements of a CID already seen: ignored, since announcing is idempotent. */
  duplicates: number;
  seenCids: Set<string>;
}

export interface ReducerComponents {
  ipfs: IpfsNode;
  /** The job registry, connected to the operator's signer. */
  registry: JobRegistry;
  chainId: bigint;
  /** Chain time in seconds. */
  now(): Promise<number>;
}

export interface ReducerInit {
  /** A name for logs. @default "reducer" */
  name?: string;
  /** How long to wait for an announced block over bitswap. @default 10000 */
  fetchTimeoutMs?: number;
  /** How often to poll chain time while collecting. @default 250 */
  pollMs?: number;
  /** Called on `submission:accepted` / `submission:rejected`. */
  onEvent?(event: "submission:accepted" | "submission:rejected", detail: { reason?: RejectionReason; cid?: string }): void;
  logger?: Logger;
}

export interface Proposed extends ReduceResult {
  bundleCid: string;
  txHash: string;
}

/** Creates a reducer for an operator; call `serveJob` per job it is staked for. */
export function createReducer(components: ReducerComponents, init: ReducerInit = {}): Reducer {
  return new Reducer(components, init);
}

export class Reducer {
  readonly #c: ReducerComponents;
  readonly #init: ReducerInit;
  readonly #log: Logger;

  constructor(components: ReducerComponents, init: ReducerInit) {
    this.#c = components;
    this.#init = init;
    this.#log = init.logger ?? createLogger(init.name ?? "reducer");
  }

  /** Reads a job from the chain and its spec from IPFS, ready to collect. */
  async openJob(jobId: bigint, options: { signal?: AbortSignal } = {}): Promise<JobState> {
    const j = await this.#c.registry.getJob(jobId);
    const specBytes = await getBlock(this.#c.ipfs.blockstore, parseCid(j.specCid), {
      maxBytes: 64 * 1024,
      signal: options.signal ?? AbortSignal.timeout(this.#init.fetchTimeoutMs ?? 10_000),
    });
    const spec = validateSpec(decodeCbor(specBytes));
    return {
      job: { chainId: this.#c.chainId, registry: await this.#c.registry.getAddress(), jobId },
      spec,
      groupRoot: j.groupRoot,
      collectionDeadline: Number(j.collectionDeadline),
      proposalDeadline: Number(j.proposalDeadline),
      accepted: new Map(),
      rejected: {},
      announced: 0,
      duplicates: 0,
      seenCids: new Set(),
    };
  }

  /**
   * Handles one announcement (the CID of a submission as UTF-8): fetch, decode, verify, accept. A bad
   * announcement is counted under its error's name and changes nothing else.
   */
  async handleAnnouncement(state: JobState, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    state.announced++;
    let cidText = "";
    try {
      if (data.length > 128) throw new MalformedSubmissionError("announcement longer than a CID");
      cidText = new TextDecoder("utf-8", { fatal: true }).decode(data);
      const cid = parseCid(cidText);
      const key = cid.toV1().toString();
      if (state.seenCids.has(key)) {
        state.duplicates++;
        return false;
      }
      state.seenCids.add(key);
      const bytes = await getBlock(this.#c.ipfs.blockstore, cid, {
        maxBytes: MAX_SUBMISSION_BYTES,
        signal: options.signal ?? AbortSignal.timeout(this.#init.fetchTimeoutMs ?? 10_000),
      });
      return await this.ingest(state, cidText, bytes);
    } catch (err) {
      this.#reject(state, err, cidText);
      return false;
    }
  }

  /** Verifies a fetched submission block and accepts it; throws the named error of a bad one. */
  async ingest(state: JobState, cid: string, bytes: Uint8Array): Promise<boolean> {
    const sub = decodeSubmission(bytes);
    const ctx = {
      job: state.job,
      groupRoot: state.groupRoot,
      bounds: payloadBounds(state.spec),
      seenNullifiers: state.accepted,
    };
    await verifySubmission(sub, ctx);
    // Verification awaited: another copy with the same nullifier may have been accepted meanwhile.
    if (state.accepted.has(sub.proof.nullifier)) throw new NullifierReusedError(`nullifier ${sub.proof.nullifier} already answered`);
    state.accepted.set(sub.proof.nullifier, { nullifier: sub.proof.nullifier, submission: cid, value: sub.payload });
    this.#log("debug", "submission:accepted", { cid, job: state.job.jobId });
    this.#init.onEvent?.("submission:accepted", { cid });
    return true;
  }

  #reject(state: JobState, err: unknown, cid: string): void {
    const name = String((err as Error)?.name);
    // Only Mosaic's named errors are reasons; anything else (a decoder's TypeError, say) counts as malformed.
    const reason = (REASONS.has(name) ? name : "MalformedSubmissionError") as RejectionReason;
    state.rejected[reason] = (state.rejected[reason] ?? 0) + 1;
    this.#log("info", "submission:rejected", { cid, reason, message: (err as Error)?.message });
    this.#init.onEvent?.("submission:rejected", { reason, cid });
  }

  /** Collects until chain time passes the collection deadline, then reduces, publishes and proposes. */
  async serveJob(jobId: bigint, options: { signal?: AbortSignal; onState?(state: JobState): void } = {}): Promise<Proposed> {
    const state = await this.openJob(jobId, options);
    options.onState?.(state);
    const topic = jobTopic(state.job);
    const pubsub = this.#c.ipfs.libp2p.services.pubsub;
    const inflight = new Set<Promise<unknown>>();
    const onMessage = (evt: CustomEvent<{ topic: string; data: Uint8Array }>): void => {
      if (evt.detail.topic !== topic) return;
      const p = this.handleAnnouncement(state, evt.detail.data);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    pubsub.addEventListener("message", onMessage as never);
    pubsub.subscribe(topic);
    this.#log("info", "job:collecting", { jobId, topic, deadline: state.collectionDeadline });
    try {
      while ((await this.#c.now()) < state.collectionDeadline) {
        options.signal?.throwIfAborted();
        await new Promise((r) => setTimeout(r, this.#init.pollMs ?? 250));
      }
    } finally {
      pubsub.unsubscribe(topic);
      pubsub.removeEventListener("message", onMessage as never);
    }
    await Promise.allSettled([...inflight]);
    return this.propose(state);
  }

  /** Reduces the accepted leaves, publishes the bundle to IPFS and proposes the result on-chain. */
  async propose(state: JobState): Promise<Proposed> {
    const result = reduceTree([...state.accepted.values()], state.spec.output.length);
    const bundle: Block = await encodeBlock({
      v: 1,
      job: { chain: Number(state.job.chainId), registry: state.job.registry.toLowerCase(), id: Number(state.job.jobId) },
      reducer: "sum",
      aggregate: result.aggregate,
      count: result.count,
      treeRoot: result.treeRoot,
      leaves: result.leaves.map((l) => ({ nullifier: l.nullifier, submission: parseCid(l.submission), value: l.value })),
    });
    await putBlock(this.#c.ipfs.blockstore, bundle);
    const tx = await this.#c.registry.proposeResult(
      state.job.jobId,
      result.aggregate,
      result.count,
      result.treeRoot,
      bundle.cid.toString(),
    );
    const receipt = await tx.wait();
    this.#log("info", "result:proposed", {
      jobId: state.job.jobId,
      count: result.count,
      bundle: bundle.cid.toString(),
      gas: receipt?.gasUsed,
    });
    return { ...result, bundleCid: bundle.cid.toString(), txHash: tx.hash };
  }
}
