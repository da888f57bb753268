// A shared-mode job on one of its two aggregators: after collection, prepare every collected report's input share
// (Prio3), publish the prep shares and announce them on-chain, combine them with the other aggregator's, add discrete
// Gaussian noise to the aggregate share and commit it with the share set; finalise once the window closes.
import { decodeSubmission, type SharedSubmission } from "@mosaic/avatar";
import {
  aggregateShares,
  checkTotal,
  finishReport,
  noisedAggregateShare,
  noiseKeyOf,
  noiseSourceOf,
  prepareShare,
  type ShareLeaf,
  sharedSpecDisagreement,
  sharedVdafOf,
  ShareMissingError,
  shareSetRoot,
  verifyKeyOf,
} from "@mosaic/mapreduce";
import {
  bigintToBytes32,
  bytes32ToBigint,
  decodeCbor,
  encodeBlock,
  fromHex,
  getBlock,
  type IpfsNode,
  type JobSpec,
  type Logger,
  MalformedSubmissionError,
  namedError,
  parseCid,
  putBlock,
  type RejectionReason,
  ShareDigestMismatchError,
  type SharedJobs,
  to0xHex,
} from "@mosaic/protocol";
import { AbiCoder, keccak256 } from "ethers";
import type { CID } from "multiformats/cid";
import { type ChainJob, JobRefusedError, type JobSession } from "./reducer.js";

/** A prep bundle from the other aggregator is not what this job's aggregator published (form, job, size). */
export class MalformedPrepBundleError extends namedError("MalformedPrepBundleError") {}

/** Reports per prep or share-set chunk block: 512 × (32-byte nullifier + a prep share) stays far below a block's limit. */
export const REPORTS_PER_CHUNK = 512;
/** The largest prep or share-set block fetched from the other aggregator. */
export const MAX_PREP_BLOCK_BYTES = 1024 * 1024;
/** The most chunks a prep bundle may name (REPORTS_PER_CHUNK each): the registry's 200,000 submissions per job. */
const MAX_CHUNKS = Math.ceil(200_000 / REPORTS_PER_CHUNK);

/** SharedJobs' JobState values. */
const OPEN = 1n;
/** SharedJobs' CommitState: nothing committed. */
const COMMIT_NONE = 0n;

/** A shared job as SharedJobs records it (getSharedJob). */
export interface SharedChainJob {
  specDigest: string;
  groupRoot: bigint;
  groupSize: bigint;
  minParticipants: bigint;
  collectionDeadline: bigint;
  commitDeadline: bigint;
  finalizeAfter: bigint;
  challengeWindow: bigint;
  reward: bigint;
  minStake: bigint;
  shareLength: bigint;
  fieldId: bigint;
  aggregators: string[];
  aggregatorKeys: string[];
  state: bigint;
}

/** A shared job in the terms JobSession reads (ChainJob): commits close at proposalDeadline, finalising from finalizeAfter. */
export function chainJobOfShared(j: SharedChainJob): ChainJob {
  return {
    specDigest: j.specDigest,
    groupRoot: j.groupRoot,
    reward: j.reward,
    minStake: j.minStake,
    collectionDeadline: j.collectionDeadline,
    proposalDeadline: j.commitDeadline,
    finalizeAfter: j.finalizeAfter,
    kind: 0n,
    payloadLength: j.shareLength,
    edgesHash: "",
    boundsHash: "",
    minParticipants: j.minParticipants,
    state: j.state,
  };
}

/** Throws JobRefusedError when a shared spec disagrees with what SharedJobs recorded. */
export function checkSharedSpec(spec: JobSpec, j: SharedChainJob): void {
  if (spec.mode !== "shared") throw new JobRefusedError("the spec is a local-mode one, posted on SharedJobs");
  const d = sharedSpecDisagreement(spec, j);
  if (d !== undefined) throw new JobRefusedError(`spec ${d.what} is ${d.inSpec} but the chain recorded ${d.onChain}`);
}

/** What aggregating one shared job needs from its node. */
export interface SharedAggregationComponents {
  ipfs: IpfsNode;
  /** SharedJobs, connected to the operator's signer. */
  sharedJobs: SharedJobs;
  /** This node's X25519 secret: its public key is the one it registered with setAggregatorKey. */
  aggregatorSecret: Uint8Array;
  log: Logger;
  fetchTimeoutMs: number;
  /** Gives back a nonce a failed transaction took. */
  resetNonce(): void;
}

interface Prepared {
  nullifier: string;
  cid: string;
  sub: SharedSubmission;
  state: unknown;
  prepShare: Uint8Array;
  /** This aggregator's share of (Σ entries − total), for outputs with a fixed sum. */
  totalShare?: bigint;
}

/** What this aggregator commits to and reveals. */
interface Combined {
  leaves: (ShareLeaf & { cid: string })[];
  count: number;
  root: string;
  noised: bigint[];
  /** 0x-hex bytes32 hiding the share in its commitment. */
  salt: string;
  excluded: number;
}

/** The other aggregator's word on one report: its prep share, the message it holds, its total share. */
interface TheirPrep {
  prep: Uint8Array;
  message: bigint;
  total?: bigint;
}

/** The aggregation of one shared job (its session collects; this does everything after the deadline). */
export class SharedAggregation {
  readonly #c: SharedAggregationComponents;
  readonly #session: JobSession;
  #job?: SharedChainJob;
  #index = -1;
  #verifyKey?: Uint8Array;
  /** Own prep shares, by nullifier: deterministic, so recomputed after a restart. */
  #prepared?: Map<string, Prepared>;
  /** The share set and noised share, once combined with the other's prep shares (deterministic too). */
  #combined?: Combined;

  constructor(components: SharedAggregationComponents, session: JobSession) {
    this.#c = components;
    this.#session = session;
  }

  get #spec(): JobSpec {
    return this.#session.spec as JobSpec;
  }

  async #record(): Promise<SharedChainJob> {
    this.#job = (await this.#c.sharedJobs.getSharedJob(this.#session.jobId)) as unknown as SharedChainJob;
    return this.#job;
  }

  /** This node's index among the job's two aggregators (0 leads), or -1 when it is neither. */
  async index(operator: string): Promise<number> {
    const j = this.#job ?? (await this.#record());
    this.#index = j.aggregators.findIndex((a) => a.toLowerCase() === operator.toLowerCase());
    return this.#index;
  }

  /** One step, by chain time `now`; returns what it did, for the log. */
  async step(now: number): Promise<string | undefined> {
    const s = this.#session;
    const state = s.journal.state;
    if (state.finalized || now < s.collectionDeadline) return undefined;
    const j = await this.#record();
    if (j.state !== OPEN) {
      s.journal.append({ e: "finalized" });
      return "closed";
    }
    if (now < s.proposalDeadline) {
      await s.drain();
      if (state.prepAnnounced === undefined) return this.#announcePrep();
      if (state.shareCommitted === undefined && state.belowMinimum === undefined) return this.#commit();
    }
    // Reveal once both committed the same set (the contract allows it until finalizeAfter).
    if (state.shareCommitted !== undefined && state.shareRevealed === undefined && now < s.finalizeAfter) {
      const revealed = await this.#reveal();
      if (revealed !== undefined || now < s.proposalDeadline) return revealed;
    }
    if (now < s.proposalDeadline) return undefined;
    // The commit window is over: with a commit missing the job refunds now, otherwise after the challenge window.
    const missing = (await Promise.all([0, 1].map((i) => this.#committed(i)))).some((c) => !c);
    if (!missing && now < s.finalizeAfter) return undefined;
    return this.#finalize();
  }

  async #committed(i: number): Promise<boolean> {
    const c = await this.#c.sharedJobs.getCommit(this.#session.jobId, i);
    return c.state !== COMMIT_NONE;
  }

  #verifyKeyOf(): Uint8Array {
    if (this.#verifyKey !== undefined) return this.#verifyKey;
    const j = this.#job as SharedChainJob;
    const keys = j.aggregatorKeys.map((k) => fromHex(k, { length: 32, field: "aggregatorKeys" })) as [Uint8Array, Uint8Array];
    this.#verifyKey = verifyKeyOf({
      job: this.#session.job,
      mySecret: this.#c.aggregatorSecret,
      keys,
      index: this.#index as 0 | 1,
      size: sharedVdafOf(this.#spec).vdaf.verifyKeySize,
    });
    return this.#verifyKey;
  }

  /** Prepares this aggregator's share of every collected report (nullifier order); a bad one is excluded by name. */
  async #prepareOwn(): Promise<Map<string, Prepared>> {
    if (this.#prepared !== undefined) return this.#prepared;
    const s = this.#session;
    const verifyKey = this.#verifyKeyOf();
    const out = new Map<string, Prepared>();
    const excluded: Parameters<typeof s.journal.append> = [];
    for (const a of sortedByNullifier([...s.journal.state.accepted.values()])) {
      if (s.journal.state.excluded.has(a.nullifier)) continue;
      try {
        const bytes = await getBlock(this.#c.ipfs.blockstore, parseCid(a.cid), {
          maxBytes: s.maxSubmissionBytes,
          signal: AbortSignal.timeout(this.#c.fetchTimeoutMs),
        });
        const sub = decodeSubmission(bytes);
        if (sub.version !== 2) throw new MalformedSubmissionError("a shared job's accepted envelope is not version 2");
        const { state, prepShare, totalShare } = await prepareShare({
          spec: this.#spec,
          job: s.job,
          index: this.#index as 0 | 1,
          mySecret: this.#c.aggregatorSecret,
          verifyKey,
          report: sub.report,
          nullifier: BigInt(sub.proof.nullifier),
        });
        out.set(a.nullifier, { nullifier: a.nullifier, cid: a.cid, sub, state, prepShare, totalShare });
      } catch (err) {
        excluded.push(this.#exclusion(a.nullifier, err));
      }
    }
    if (excluded.length > 0) s.journal.append(...excluded);
    this.#prepared = out;
    return out;
  }

  #exclusion(nullifier: string, err: unknown): Parameters<JobSession["journal"]["append"]>[0] {
    const name = String((err as Error)?.name);
    const reason = (
      [
        "ShareDecryptError",
        "MalformedReportError",
        "InvalidShareProofError",
        "ShareMissingError",
        "ShareDigestMismatchError",
        "ReportTotalError",
        "BlockUnavailableError",
      ].includes(name)
        ? name
        : "MalformedReportError"
    ) as RejectionReason;
    this.#c.log("info", "share:excluded", { jobId: this.#session.jobId, nullifier, reason, message: (err as Error)?.message });
    return { e: "excluded", nullifier, reason, message: String((err as Error)?.message).slice(0, 300) };
  }

  /** Publishes the prep bundle and announces its CID on-chain (once: a restart finds its own announcement). */
  async #announcePrep(): Promise<string> {
    const s = this.#session;
    const prepared = await this.#prepareOwn();
    // Each entry names the report's message, so the two aggregators combine only the same report (a member who hands
    // each a different envelope under one nullifier is left out by both), and its total share when the output has one.
    const reports = [...prepared.values()].map((p) => ({
      nullifier: bigintToBytes32(BigInt(p.nullifier)),
      message: bigintToBytes32(BigInt(p.sub.proof.message)),
      prep: p.prepShare,
      ...(p.totalShare === undefined ? {} : { total: bigintToBytes32(p.totalShare) }),
    }));
    const root = await publishChunked(this.#c.ipfs, { v: 1, kind: "prep", job: jobOf(s), aggregator: this.#index }, reports);
    const cid = root.toString();
    const onChain = await this.#c.sharedJobs.prepOf(s.jobId, this.#index);
    let txHash = "";
    if (onChain === "") {
      const tx = await this.#c.sharedJobs.announcePrep(s.jobId, cid);
      await tx.wait();
      txHash = tx.hash;
    } else if (onChain !== cid) {
      // A restart after announcing: preparation is deterministic, so only a changed collection differs. The chain's
      // announcement stands (the other aggregator reads it); ours must be the same to combine, so say so loudly.
      this.#c.log("error", "prep:differs", { jobId: s.jobId, onChain, now: cid });
    }
    s.journal.append({ e: "prep-announced", cid: onChain === "" ? cid : onChain, txHash });
    s.journal.sync();
    this.#c.log("info", "prep:announced", { jobId: s.jobId, reports: reports.length, cid, tx: txHash });
    return "prep-announced";
  }

  /** Once the other aggregator's prep bundle is on-chain: combine, aggregate, noise and commit. */
  /**
   * This aggregator's side of the job once the other's prep bundle is on-chain: the share set (reports both prepared,
   * the same report at both, valid, of the right total), its noised aggregate share (keyed noise) and the salt that
   * hides it until the reveal. Deterministic: after a restart it is recomputed to the same values. Undefined until the
   * other aggregator announced its prep shares.
   */
  async #combine(): Promise<Combined | undefined> {
    if (this.#combined !== undefined) return this.#combined;
    const s = this.#session;
    const other = 1 - this.#index;
    const otherCid = await this.#c.sharedJobs.prepOf(s.jobId, other);
    if (otherCid === "") return undefined;
    const theirs = await this.#readPrepBundle(otherCid, other);
    const prepared = await this.#prepareOwn();
    const outputShares: bigint[][] = [];
    const leaves: (ShareLeaf & { cid: string })[] = [];
    const excluded: Parameters<typeof s.journal.append> = [];
    for (const p of prepared.values()) {
      const their = theirs.get(p.nullifier);
      try {
        if (their === undefined) throw new ShareMissingError(`aggregator ${other} prepared no share for nullifier ${p.nullifier}`);
        if (their.message !== BigInt(p.sub.proof.message))
          throw new ShareDigestMismatchError(
            `aggregator ${other} holds another report (message ${their.message}) under nullifier ${p.nullifier}: the member sent each aggregator a different one`,
          );
        const prepShares = (this.#index === 0 ? [p.prepShare, their.prep] : [their.prep, p.prepShare]) as [Uint8Array, Uint8Array];
        const output = await finishReport({ spec: this.#spec, state: p.state as never, prepShares });
        checkTotal(this.#spec, (this.#index === 0 ? [p.totalShare, their.total] : [their.total, p.totalShare]) as [bigint, bigint]);
        outputShares.push(output);
        leaves.push({
          nullifier: BigInt(p.nullifier),
          message: BigInt(p.sub.proof.message),
          points: p.sub.proof.points.map((x) => BigInt(x)),
          cid: p.cid,
        });
      } catch (err) {
        excluded.push(this.#exclusion(p.nullifier, err));
      }
    }
    // Exclusions are journalled once (a recomputation after a restart finds them there already).
    const fresh = excluded.filter((e) => e.e !== "excluded" || !s.journal.state.excluded.has(e.nullifier));
    if (fresh.length > 0) s.journal.append(...fresh);
    const noise = noiseSourceOf({ job: s.job, mySecret: this.#c.aggregatorSecret, index: this.#index as 0 | 1 });
    this.#combined = {
      leaves,
      count: leaves.length,
      root: shareSetRoot(leaves),
      // Noise keyed by this node's secret and the job: the same draw if the commit is sent again after a restart.
      noised: noisedAggregateShare(this.#spec, aggregateShares(this.#spec, outputShares), noise),
      salt: to0xHex(noiseKeyOf({ job: s.job, mySecret: this.#c.aggregatorSecret, index: this.#index as 0 | 1, purpose: "salt" })),
      excluded: excluded.length,
    };
    return this.#combined;
  }

  /** Commits the share set and a hash of the noised share (with the bond), once the other's prep shares are in. */
  async #commit(): Promise<string | undefined> {
    const s = this.#session;
    const combined = await this.#combine();
    if (combined === undefined) return undefined;
    const { leaves, count, root, noised, salt } = combined;
    const minimum = Number(this.#job?.minParticipants ?? 1n);
    if (count < minimum) {
      this.#c.log("warn", "job:below-minimum", { jobId: s.jobId, count, minParticipants: minimum });
      s.journal.append({ e: "below-minimum", count, minParticipants: minimum });
      s.journal.sync();
      return "below-minimum";
    }
    const bundle = await publishChunked(
      this.#c.ipfs,
      { v: 1, kind: "share-set", job: jobOf(s), aggregator: this.#index },
      leaves.map((l) => ({ nullifier: bigintToBytes32(l.nullifier), submission: parseCid(l.cid) })),
    );
    const own = await this.#c.sharedJobs.getCommit(s.jobId, this.#index);
    let txHash = "";
    if (own.state === COMMIT_NONE) {
      // The share stays hidden until both committed: the other cannot fit its own to it.
      const shareHash = keccak256(
        AbiCoder.defaultAbiCoder().encode(["uint256", "uint8", "uint256[]", "bytes32"], [s.jobId, this.#index, noised, salt]),
      );
      const bond = await this.#c.sharedJobs.commitBond();
      const tx = await this.#c.sharedJobs.commitShare(s.jobId, root, count, shareHash, bundle.toString(), { value: bond });
      await tx.wait();
      txHash = tx.hash;
    }
    s.journal.append({ e: "share-committed", root, count, bundleCid: bundle.toString(), txHash });
    s.journal.sync();
    this.#c.log("info", "share:committed", {
      jobId: s.jobId,
      count,
      excluded: combined.excluded,
      bundle: bundle.toString(),
      tx: txHash,
      resumed: txHash === "",
    });
    return "share-committed";
  }

  /**
   * Reveals the noised share once both aggregators committed the same set of at least the minimum; undefined while
   * the other has not committed. Commitments that disagree are never revealed (the job refunds at finalisation).
   */
  async #reveal(): Promise<string | undefined> {
    const s = this.#session;
    const [mine, theirs] = await Promise.all([this.#index, 1 - this.#index].map((i) => this.#c.sharedJobs.getCommit(s.jobId, i)));
    if (mine === undefined || theirs === undefined || theirs.state === COMMIT_NONE) return undefined;
    if (mine.revealed) {
      s.journal.append({ e: "share-revealed", txHash: "" });
      return "share-revealed";
    }
    if (mine.shareSetRoot !== theirs.shareSetRoot || mine.count !== theirs.count) {
      this.#c.log("warn", "share:disagree", { jobId: s.jobId, mine: mine.shareSetRoot, theirs: theirs.shareSetRoot });
      s.journal.append({ e: "share-revealed", txHash: "", withheld: "the two share sets differ" });
      return "share-disagree";
    }
    const combined = await this.#combine();
    if (combined === undefined) return undefined;
    const tx = await this.#c.sharedJobs.revealShare(s.jobId, combined.noised, combined.salt);
    await tx.wait();
    s.journal.append({ e: "share-revealed", txHash: tx.hash });
    s.journal.sync();
    this.#c.log("info", "share:revealed", { jobId: s.jobId, tx: tx.hash });
    return "share-revealed";
  }

  /** The other aggregator's prep shares by nullifier; MalformedPrepBundleError for anything but its bundle for this job. */
  async #readPrepBundle(cid: string, aggregator: number): Promise<Map<string, TheirPrep>> {
    const s = this.#session;
    const reports = await readChunked(this.#c.ipfs, cid, { v: 1, kind: "prep", job: jobOf(s), aggregator }, this.#c.fetchTimeoutMs);
    const out = new Map<string, TheirPrep>();
    const word = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === 32;
    for (const r of reports) {
      const o = r as { nullifier?: unknown; message?: unknown; prep?: unknown; total?: unknown };
      const keys = Object.keys(o ?? {}).length;
      if (
        !word(o.nullifier) ||
        !word(o.message) ||
        !(o.prep instanceof Uint8Array) ||
        (o.total !== undefined && !word(o.total)) ||
        keys !== (o.total === undefined ? 3 : 4)
      )
        throw new MalformedPrepBundleError(
          `prep bundle ${cid}: a report is not { nullifier, message: bytes32, prep: bytes, total?: bytes32 }`,
        );
      out.set(bytes32ToBigint(o.nullifier).toString(), {
        prep: o.prep,
        message: bytes32ToBigint(o.message),
        ...(o.total === undefined ? {} : { total: bytes32ToBigint(o.total) }),
      });
    }
    return out;
  }

  /** Finalises (or refunds) the job; another party getting there first is not a fault. */
  async #finalize(): Promise<string> {
    const s = this.#session;
    try {
      const tx = await this.#c.sharedJobs.finalize(s.jobId);
      await tx.wait();
      s.journal.append({ e: "finalized", txHash: tx.hash });
      this.#c.log("info", "job:finalized", { jobId: s.jobId, tx: tx.hash });
    } catch (err) {
      if ((await this.#record()).state === OPEN) throw err;
      this.#c.resetNonce();
      s.journal.append({ e: "finalized" });
      this.#c.log("info", "job:finalized", { jobId: s.jobId, by: "another" });
    }
    return "finalized";
  }
}

function jobOf(s: JobSession) {
  return { chain: Number(s.job.chainId), registry: s.job.registry, id: s.jobId.toString() };
}

function sortedByNullifier<T extends { nullifier: string }>(items: T[]): T[] {
  return items.sort((a, b) => {
    const x = BigInt(a.nullifier);
    const y = BigInt(b.nullifier);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Puts `items` in chunk blocks of REPORTS_PER_CHUNK and a root naming them under `head`; returns the root's CID. */
async function publishChunked(ipfs: IpfsNode, head: Record<string, unknown>, items: unknown[]): Promise<CID> {
  const chunks: CID[] = [];
  for (let i = 0; i < items.length; i += REPORTS_PER_CHUNK) {
    const block = await encodeBlock({ items: items.slice(i, i + REPORTS_PER_CHUNK) });
    await putBlock(ipfs.blockstore, block);
    chunks.push(block.cid);
  }
  const root = await encodeBlock({ ...head, chunks });
  await putBlock(ipfs.blockstore, root);
  return root.cid;
}

/** Reads a chunked bundle whose root must repeat `head` exactly; every item, in order. */
async function readChunked(ipfs: IpfsNode, cid: string, head: Record<string, unknown>, timeoutMs: number): Promise<unknown[]> {
  const get = async (c: CID) =>
    decodeCbor(await getBlock(ipfs.blockstore, c, { maxBytes: MAX_PREP_BLOCK_BYTES, signal: AbortSignal.timeout(timeoutMs) }));
  const root = (await get(parseCid(cid))) as Record<string, unknown>;
  const fields = Object.keys(head);
  const same = (a: unknown, b: unknown): boolean =>
    typeof a === "object" && a !== null && typeof b === "object" && b !== null
      ? Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => same(v, (b as Record<string, unknown>)[k]))
      : a === b;
  if (
    typeof root !== "object" ||
    root === null ||
    Object.keys(root).length !== fields.length + 1 ||
    !fields.every((k) => same(head[k], root[k])) ||
    !Array.isArray(root.chunks) ||
    root.chunks.length > MAX_CHUNKS
  )
    throw new MalformedPrepBundleError(
      `bundle ${cid}: not this job's ${String(head.kind)} bundle of aggregator ${String(head.aggregator)}`,
    );
  const items: unknown[] = [];
  for (const c of root.chunks as CID[]) {
    const chunk = (await get(c)) as { items?: unknown };
    if (typeof chunk !== "object" || chunk === null || !Array.isArray(chunk.items) || chunk.items.length > REPORTS_PER_CHUNK)
      throw new MalformedPrepBundleError(`bundle ${cid}: chunk ${c} is not { items: [...] }`);
    items.push(...chunk.items);
  }
  return items;
}
