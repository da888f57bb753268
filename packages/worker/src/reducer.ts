// One job on a reducer node: collect announced submissions, check them, verify proofs in batches, journal every
// verdict, then reduce, publish the bundle and propose.
import {
  type BatchVerifier,
  checkSubmission,
  decodeSubmission,
  MAX_SHARED_SUBMISSION_BYTES,
  MAX_SUBMISSION_BYTES,
  type AnySubmission,
} from "@mosaic/avatar";
import {
  decodeSpec,
  type EncodedBundle,
  encodeBundle,
  type Leaf,
  type ReduceResult,
  reduceTree,
  specBounds,
  specDisagreement,
} from "@mosaic/mapreduce";
import {
  getBlock,
  type IpfsNode,
  type JobRef,
  type JobRegistry,
  type JobSpec,
  type Logger,
  MalformedSubmissionError,
  namedError,
  parseCid,
  proposeResult,
  putBlock,
  specCidOf,
  type RejectionReason,
  WrongModeError,
} from "@mosaic/protocol";
import type { ProposalDraft, ReducerHookContext, ReducerHooks } from "./hooks.js";
import { submissionCidOf } from "./cids.js";
import type { Journal, JournalEntry } from "./journal.js";

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
  "WrongModeError",
  "ShareDigestMismatchError",
  "ShareDecryptError",
  "MalformedReportError",
  "InvalidShareProofError",
  "ShareMissingError",
  "ReportTotalError",
]);

/** A CIDv1 dag-cbor sha2-256 in base32, as submissionCidOf prints it. */
const CANONICAL_CID = /^bafyrei[a-z2-7]{52}$/;

/** The longest announcement: a CID string. */
const MAX_ANNOUNCEMENT_BYTES = 128;

/** What a job session needs from its node. */
export interface JobSessionComponents {
  ipfs: IpfsNode;
  /** The registry, connected to the operator's signer. */
  registry: JobRegistry;
  chainId: bigint;
  registryAddress: string;
  operator: string;
  verifier: Pick<BatchVerifier, "verify">;
  log: Logger;
  /** Counts one event for metrics. */
  count?(event: "announced" | "duplicate" | "accepted" | "rejected", jobId: bigint, reason?: RejectionReason): void;
  /**
   * Reads the job's on-chain record: a shared job's comes from SharedJobs (see shared.ts), in ChainJob's terms.
   * @default registry.getJob
   */
  readJob?(jobId: bigint): Promise<ChainJob>;
  /**
   * Throws JobRefusedError when the spec disagrees with the chain's record.
   * @default checkSpecMatchesJob
   */
  matchSpec?(spec: JobSpec, job: ChainJob): void;
}

export interface JobSessionInit {
  /** @default 10000 */
  fetchTimeoutMs?: number;
  /** Proofs per verifier call. @default 64 */
  batchSize?: number;
  /** The longest a checked submission waits for its batch to fill. @default 200 */
  batchWaitMs?: number;
  /** Hooks that change what the session does (tests' cheating reducers); never from a config file. @default {} (honest) */
  hooks?: ReducerHooks;
}

/** The registry's ProposalState values. */
export const PROPOSAL_COMMITTED = 1n;
export const PROPOSAL_REVEALED = 2n;

/** Every proposal of a job in index order, and the index of `operator`'s own (-1 if none; one at most per operator). */
export async function proposalsOf(registry: JobRegistry, jobId: bigint, operator: string) {
  const n = Number(await registry.proposalCount(jobId));
  const proposals = await Promise.all(Array.from({ length: n }, (_, i) => registry.getProposal(jobId, i)));
  const ownIndex = proposals.findIndex((p) => p.proposer.toLowerCase() === operator.toLowerCase());
  return { proposals, ownIndex };
}

/** On-chain facts of a job, as the registry's `getJob` returns them. */
export interface ChainJob {
  /** The sha-256 digest of the spec block (specCidOf gives its CID). */
  specDigest: string;
  groupRoot: bigint;
  reward: bigint;
  minStake: bigint;
  collectionDeadline: bigint;
  proposalDeadline: bigint;
  /** Challenges close and the job may be finalised from here. */
  finalizeAfter: bigint;
  kind: bigint;
  payloadLength: bigint;
  edgesHash: string;
  boundsHash: string;
  minParticipants: bigint;
  state: bigint;
}

/** A job the node will not serve: its spec is invalid or does not match what the chain recorded. */
export class JobRefusedError extends namedError("JobRefusedError") {}

export interface Proposed extends ReduceResult {
  bundleCid: string;
  txHash: string;
}

/** Checks a spec against the job the chain recorded: every figure both hold must agree. */
export function checkSpecMatchesJob(spec: JobSpec, job: ChainJob): void {
  const d = specDisagreement(spec, job);
  if (d !== undefined) throw new JobRefusedError(`spec ${d.what} is ${d.inSpec} but the chain recorded ${d.onChain}`);
}

/** Everything that serves one job on a reducer node. */
export class JobSession {
  readonly jobId: bigint;
  readonly job: JobRef;
  readonly journal: Journal;
  spec?: JobSpec;
  chainJob?: ChainJob;
  /** Announcements of a CID already seen (idempotent, ignored) since this process started. */
  duplicates = 0;
  readonly #c: JobSessionComponents;
  readonly #init: Required<Omit<JobSessionInit, "hooks">>;
  readonly #hooks: ReducerHooks;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Nullifiers of submissions checked but not yet through the batch verifier. */
  readonly #pendingNullifiers = new Set<string>();
  #batch: Array<{ cid: string; sub: AnySubmission }> = [];
  #timer?: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  /** Set by close(): work still under way is left pending in the journal, to be judged after a restart. */
  #closed = false;

  constructor(components: JobSessionComponents, jobId: bigint, journal: Journal, init: JobSessionInit = {}) {
    this.#c = components;
    this.jobId = jobId;
    this.journal = journal;
    this.job = { chainId: components.chainId, registry: components.registryAddress.toLowerCase(), jobId };
    this.#init = { fetchTimeoutMs: init.fetchTimeoutMs ?? 10_000, batchSize: init.batchSize ?? 64, batchWaitMs: init.batchWaitMs ?? 200 };
    this.#hooks = init.hooks ?? {};
  }

  /**
   * Reads the job from the chain and its spec from IPFS, and checks that they agree. Throws JobRefusedError
   * (journalled, so a restart does not retry) for a spec that is invalid or disagrees with the chain, and
   * BlockUnavailableError when the spec cannot be fetched yet (retry later).
   */
  async open(options: { signal?: AbortSignal } = {}): Promise<void> {
    const j = this.#c.readJob ? await this.#c.readJob(this.jobId) : ((await this.#c.registry.getJob(this.jobId)) as unknown as ChainJob);
    this.chainJob = j;
    if (this.journal.state.refused !== undefined) throw new JobRefusedError(this.journal.state.refused);
    const bytes = await getBlock(this.#c.ipfs.blockstore, specCidOf(j.specDigest), {
      maxBytes: 64 * 1024,
      signal: options.signal ?? AbortSignal.timeout(this.#init.fetchTimeoutMs),
    });
    try {
      this.spec = decodeSpec(bytes);
      (this.#c.matchSpec ?? checkSpecMatchesJob)(this.spec, j);
    } catch (err) {
      const reason = `${(err as Error).name}: ${(err as Error).message}`;
      this.journal.append({ e: "refused", reason });
      throw new JobRefusedError(reason);
    }
    if (this.journal.state.opened === undefined) {
      this.journal.append({
        e: "opened",
        specCid: specCidOf(j.specDigest).toString(),
        groupRoot: j.groupRoot.toString(),
        collectionDeadline: Number(j.collectionDeadline),
      });
    }
    // Announced before a restart but never judged: judge them now (the blocks are on disk or with peers).
    for (const cid of this.journal.state.pending) this.#track(this.#process(cid));
  }

  /** Whether the job is a shared-mode one: envelopes v2 (secret shares), aggregated by shared.ts rather than reduced. */
  get shared(): boolean {
    return this.spec?.mode === "shared";
  }

  /** The largest submission block this job takes. */
  get maxSubmissionBytes(): number {
    return this.shared ? MAX_SHARED_SUBMISSION_BYTES : MAX_SUBMISSION_BYTES;
  }

  /** A strict envelope of this job's mode for this job's group: the checks before the proof (shared with precheck). */
  #check(sub: AnySubmission, seenNullifiers: { has(n: string): boolean }): void {
    if (sub.version !== (this.shared ? 2 : 1)) {
      throw new WrongModeError(
        `a version ${sub.version} envelope for a ${this.shared ? "shared" : "local"}-mode job, which takes version ${this.shared ? 2 : 1}`,
      );
    }
    checkSubmission(sub, {
      job: this.job,
      groupRoot: BigInt(this.chainJob?.groupRoot ?? 0n),
      bounds: specBounds(this.spec as JobSpec),
      seenNullifiers,
    });
  }

  get collectionDeadline(): number {
    return Number(this.chainJob?.collectionDeadline ?? 0n);
  }

  get proposalDeadline(): number {
    return Number(this.chainJob?.proposalDeadline ?? 0n);
  }

  get finalizeAfter(): number {
    return Number(this.chainJob?.finalizeAfter ?? 0n);
  }

  /**
   * Handles one announcement (a CID as UTF-8). A bad one is journalled under its error's name; nothing else changes.
   * `held`: the caller has the block in the node's blockstore already (a vault's submit, a catch-up), so a CID
   * rejected earlier because its block was unavailable is judged again.
   */
  announce(data: Uint8Array, options: { held?: boolean } = {}): void {
    let cid: string;
    try {
      if (data.length > MAX_ANNOUNCEMENT_BYTES) throw new MalformedSubmissionError("announcement longer than a CID");
      // The raw-codec or CIDv0 form of a submission is taken as its dag-cbor CIDv1 (so announcing both is a
      // duplicate, and every leaf names the one form submissionDigest reads); an identity or non-sha2-256 CID is refused.
      cid = submissionCidOf(new TextDecoder("utf-8", { fatal: true }).decode(data)).toString();
    } catch (err) {
      // Not even a CID: counted, not journalled (there is nothing to fetch again after a restart).
      this.#countRejection(err);
      return;
    }
    if (this.journal.state.announced.has(cid) && !(options.held === true && this.journal.state.unavailable.has(cid))) {
      this.duplicates++;
      this.#c.count?.("duplicate", this.jobId);
      return;
    }
    this.journal.append({ e: "announced", cid });
    this.#c.count?.("announced", this.jobId);
    this.#track(this.#process(cid));
  }

  /**
   * The cheap checks of a submission block before a receipt is signed for it: a strict envelope for this job (its
   * scope) against the job's group root, in bounds. The proof is not verified and nullifiers are not compared (a
   * vault may hand the same submission over again). Throws the named reason.
   */
  precheck(bytes: Uint8Array): void {
    this.#check(decodeSubmission(bytes), { has: () => false });
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  async #process(cid: string): Promise<void> {
    try {
      const bytes = await getBlock(this.#c.ipfs.blockstore, parseCid(cid), {
        maxBytes: this.maxSubmissionBytes,
        signal: AbortSignal.timeout(this.#init.fetchTimeoutMs),
      });
      const sub = decodeSubmission(bytes);
      const accepted = this.journal.state.accepted;
      const pending = this.#pendingNullifiers;
      try {
        this.#check(sub, { has: (n) => accepted.has(n) || pending.has(n) });
      } catch (err) {
        this.#hooks.refused?.({ cid, sub }, this.#reasonOf(err), this.#hookContext());
        throw err;
      }
      pending.add(sub.proof.nullifier);
      this.#batch.push({ cid, sub });
      if (this.#batch.length >= this.#init.batchSize) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#init.batchWaitMs);
    } catch (err) {
      // A fetch cut short by shutdown says nothing about the submission: leave it pending.
      if (!this.#closed) this.#rejectEntry(cid, err);
    }
  }

  /** Sends the current batch through the verifier; batches run one after another. */
  #flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      let verdicts: boolean[];
      try {
        verdicts = await this.#c.verifier.verify(batch.map((b) => b.sub.proof));
      } catch (err) {
        // The verifier failed (not the proofs): leave them pending, to be judged again after a restart.
        for (const b of batch) this.#pendingNullifiers.delete(b.sub.proof.nullifier);
        this.#c.log("error", "verifier:failed", { jobId: this.jobId, message: (err as Error).message });
        return;
      }
      if (this.#closed) return;
      const entries: JournalEntry[] = [];
      batch.forEach((b, i) => {
        const nullifier = b.sub.proof.nullifier;
        this.#pendingNullifiers.delete(nullifier);
        if (!verdicts[i] && !this.#hooks.acceptInvalidProof?.(b, this.#hookContext()))
          entries.push(this.#rejection(b.cid, "InvalidProofError", "Semaphore proof does not verify"));
        else if (this.journal.state.accepted.has(nullifier) || entries.some((e) => e.e === "accepted" && e.nullifier === nullifier))
          entries.push(this.#rejection(b.cid, "NullifierReusedError", `nullifier ${nullifier} already answered`));
        else {
          // A shared job's payload is secret-shared: the envelope (by CID) is what its aggregation reads.
          entries.push({ e: "accepted", cid: b.cid, nullifier, payload: b.sub.version === 1 ? b.sub.payload : [] });
          this.#c.count?.("accepted", this.jobId);
          this.#c.log("debug", "submission:accepted", { jobId: this.jobId, cid: b.cid });
        }
      });
      this.journal.append(...entries);
      this.journal.sync();
    });
    return this.#flushing;
  }

  #rejection(cid: string, reason: RejectionReason, message: string): JournalEntry {
    this.#c.count?.("rejected", this.jobId, reason);
    this.#c.log("info", "submission:rejected", { jobId: this.jobId, cid, reason, message });
    return { e: "rejected", cid, reason, message: message.slice(0, 300) };
  }

  #reasonOf(err: unknown): RejectionReason {
    const name = String((err as Error)?.name);
    // Only Mosaic's named errors are reasons; anything else (a decoder's TypeError, say) counts as malformed.
    return (REASONS.has(name) ? name : "MalformedSubmissionError") as RejectionReason;
  }

  #countRejection(err: unknown): void {
    const reason = this.#reasonOf(err);
    this.#c.count?.("rejected", this.jobId, reason);
    this.#c.log("info", "announcement:rejected", { jobId: this.jobId, reason, message: (err as Error)?.message });
  }

  #rejectEntry(cid: string, err: unknown): void {
    this.journal.append(this.#rejection(cid, this.#reasonOf(err), String((err as Error)?.message)));
  }

  /** Waits for every fetch and verification under way, including the last partial batch. */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#flush();
    await this.#flushing;
  }

  /** The reduce tree of the accepted submissions, as it stands. */
  reduce(): ReduceResult {
    const spec = this.spec as JobSpec;
    const leaves: Leaf[] = [...this.journal.state.accepted.values()].map((a) => ({
      nullifier: a.nullifier,
      // A journal written before CIDs were made canonical may hold another form of the same block's CID.
      submission: CANONICAL_CID.test(a.cid) ? a.cid : submissionCidOf(a.cid).toString(),
      value: a.payload,
    }));
    return reduceTree(leaves, spec.reducer, spec.output.entries.length);
  }

  /** The tree this node proposes and answers data requests from: the honest one, unless a hook says otherwise. */
  async proposalTree(): Promise<ReduceResult> {
    const honest = this.reduce();
    return (await this.#hooks.tree?.(honest, this.#hookContext())) ?? honest;
  }

  /** Whether this node answers data requests on its own proposal (always, unless a hook says otherwise). */
  answersRequests(): boolean {
    return this.#hooks.answerRequests?.(this.#hookContext()) ?? true;
  }

  #hookContext(): ReducerHookContext {
    return { session: this, blockstore: this.#c.ipfs.blockstore };
  }

  /**
   * The result bundle: the nullifier-sorted leaves, every level of the reduce tree and every node's value (so a
   * watcher can build the witness of a wrong one), as a tree of blocks none over MAX_BUNDLE_BLOCK_BYTES. Deterministic.
   */
  async bundle(result: ReduceResult): Promise<EncodedBundle> {
    const spec = this.spec as JobSpec;
    return encodeBundle({
      job: { chain: Number(this.job.chainId), registry: this.job.registry, id: Number(this.jobId) },
      spec: specCidOf(this.chainJob?.specDigest ?? ""),
      reducer: spec.reducer,
      payloadLength: spec.output.entries.length,
      result,
    });
  }

  /**
   * Reduces, publishes the bundle to IPFS and proposes on-chain, once: if this operator's proposal is already
   * on-chain (a restart after the transaction), it is journalled and returned instead of sent again.
   */
  async propose(): Promise<Proposed> {
    await this.drain();
    const result = await this.proposalTree();
    const honest: ProposalDraft = { aggregate: result.aggregate, bundle: await this.bundle(result), publish: true };
    const { aggregate, bundle, publish } = (await this.#hooks.proposal?.(honest, result, this.#hookContext())) ?? honest;
    if (publish) {
      // The chunks first: whoever sees the root can fetch everything it links to.
      for (const block of bundle.blocks) await putBlock(this.#c.ipfs.blockstore, block);
      await putBlock(this.#c.ipfs.blockstore, bundle.root);
    }
    const bundleCid = bundle.root.cid.toString();
    const minimum = Number(this.chainJob?.minParticipants ?? BigInt(this.spec?.minParticipants ?? 1));
    if (result.count < minimum) {
      // The registry refuses a result below the job's minimum (CountBelowMinimum: it could never be paid): nothing
      // to propose, and once the window closes finalising refunds the researcher.
      this.#c.log("warn", "job:below-minimum", { jobId: this.jobId, count: result.count, minParticipants: minimum });
      this.journal.append({ e: "below-minimum", count: result.count, minParticipants: minimum });
      this.journal.sync();
      return { ...result, bundleCid: "", txHash: "" };
    }
    const proposed = { aggregate, count: result.count, treeRoot: result.treeRoot, bundleCid };
    const existing = await this.#ownProposal();
    let txHash = this.journal.state.proposed?.txHash;
    if (existing === undefined) {
      const { reveal } = await proposeResult(this.#c.registry, this.jobId, proposed);
      txHash = reveal.hash;
      this.#c.log("info", "result:proposed", { jobId: this.jobId, count: result.count, bundle: bundleCid, gas: reveal.gasUsed });
    } else if (existing.state === PROPOSAL_COMMITTED) {
      // A restart between commitment and reveal: the tree is deterministic, so this reveals what was committed.
      const tx = await this.#c.registry.proposeResult(this.jobId, existing.index, [...aggregate], result.count, result.treeRoot, bundleCid);
      txHash = tx.hash;
      await tx.wait();
      this.#c.log("info", "result:proposed", { jobId: this.jobId, count: result.count, bundle: bundleCid, resumed: true });
    }
    this.journal.append({ e: "proposed", bundleCid, txHash: txHash ?? "", count: result.count, treeRoot: result.treeRoot });
    this.journal.sync();
    return { ...result, bundleCid, txHash: txHash ?? "" };
  }

  /** This operator's proposal for the job, if it has made one. */
  async #ownProposal(): Promise<{ index: number; state: bigint } | undefined> {
    const { proposals, ownIndex } = await proposalsOf(this.#c.registry, this.jobId, this.#c.operator);
    const own = proposals[ownIndex];
    return own === undefined ? undefined : { index: ownIndex, state: own.state };
  }

  /** Progress for the health endpoint and `mosaic job watch`. */
  progress(): Record<string, unknown> {
    const s = this.journal.state;
    return {
      jobId: this.jobId.toString(),
      title: this.spec?.title,
      state:
        s.refused !== undefined
          ? "refused"
          : s.finalized
            ? "finalized"
            : s.proposed !== undefined
              ? "proposed"
              : s.belowMinimum !== undefined
                ? "below-minimum"
                : "collecting",
      collectionDeadline: this.collectionDeadline,
      proposalDeadline: this.proposalDeadline,
      finalizeAfter: this.finalizeAfter,
      minParticipants: this.spec?.minParticipants,
      announced: s.announced.size,
      pending: s.pending.size,
      accepted: s.accepted.size,
      rejected: s.rejected,
      duplicates: this.duplicates,
      proposed: s.proposed,
      belowMinimum: s.belowMinimum,
      refused: s.refused,
    };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.journal.close();
  }
}
