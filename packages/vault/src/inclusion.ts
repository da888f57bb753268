// Was my answer counted? The winning result of a final job, read from the chain, and a Merkle inclusion proof of this
// vault's leaf in that result's bundle, checked against the tree root the chain recorded; for a shared-mode job, this
// vault's nullifier among the leaves of the share set both aggregators committed, whose root is recomputed. Portable: the chain reads
// and the bundle's blocks come in as components.
import {
  type BundleBlockGetter,
  type LeafInclusion,
  leafInclusion,
  openBundle,
  REFUND_REASONS,
  type ShareLeaf,
  shareSetRoot,
  verifyLeafInclusion,
} from "@mosaic/mapreduce";
import { decodeLocalSubmission, decodeSubmission, MAX_SHARED_SUBMISSION_BYTES } from "@mosaic/avatar";
import {
  bytes32ToBigint,
  decodeCbor,
  type JobRegistry,
  jobLabel,
  namedError,
  parseCid,
  revealedResults,
  type SharedJobs,
} from "@mosaic/protocol";

type CID = ReturnType<typeof parseCid>;
import type { SubmissionRecord } from "./submissions.js";

/** What checkInclusion compares the leaf with, and where it reads the chain's events from. */
export interface CheckInclusionOptions {
  /**
   * The submission exactly as this vault sent it (sentBlock's bytes): the leaf must carry its payload, not only its
   * nullifier and CID, or a reducer that replaced the value would still show as counted.
   */
  sent: Uint8Array;
  /**
   * The block the job was posted in (or a function reading it, called only once the job is final), where the read
   * of ResultProposed events starts: public RPCs refuse log ranges from block 0.
   * @default 0
   */
  fromBlock?: number | (() => Promise<number>);
}

/** Where a job's result stands, for one of this vault's submissions. */
export type InclusionVerdict =
  /** The job is still collecting, proposing or in its challenge window: nothing is final yet. */
  | { status: "pending"; state: string; finalizeAfter: number }
  /** Refunded (fewer than the minimum answered, or no proposal): no result, so nothing to be counted in. */
  | { status: "refunded" }
  /** The leaf is in the winning bundle and its path hashes to the root on-chain. */
  | {
      status: "counted";
      index: number;
      count: number;
      treeRoot: string;
      bundleCid: string;
      proposer: string;
      inclusion: LeafInclusion;
    }
  /**
   * The winning bundle has no leaf with this vault's nullifier, or a leaf whose submission or path does not check
   * against the root on-chain: evidence to keep.
   */
  | { status: "missing"; reason: string; count: number; treeRoot: string; bundleCid: string; proposer: string }
  /** The winning bundle could not be fetched or opened; try again (the chain's data requests can force it out). */
  | { status: "unavailable"; reason: string; bundleCid: string; treeRoot: string; count: number };

const STATES = ["none", "open", "finalized", "refunded"];

/**
 * For a submission this vault recorded: once its job is final, finds the winning proposal on-chain (its tree root,
 * count and bundle CID), opens the bundle with `getBlock`, looks up the leaf with this submission's nullifier, and
 * checks that the leaf commits to this submission's CID, carries the payload this vault sent (`options.sent`; a leaf
 * with another value is "missing", reason "value altered") and that its Merkle path hashes to the root on-chain.
 */
export async function checkInclusion(
  components: { registry: JobRegistry; getBlock: BundleBlockGetter },
  record: SubmissionRecord,
  options: CheckInclusionOptions,
): Promise<InclusionVerdict> {
  // The vault's own bytes first: a bad `sent` is the caller's mistake, whatever the chain says.
  const payload = decodeLocalSubmission(options.sent).payload;
  const jobId = BigInt(record.jobId);
  const job = await components.registry.getJob(jobId);
  const state = STATES[Number(job.state)] ?? String(job.state);
  if (state === "refunded") return { status: "refunded" };
  if (state !== "finalized") return { status: "pending", state, finalizeAfter: Number(job.finalizeAfter) };
  const index = Number(await components.registry.winningProposal(jobId));
  const proposal = await components.registry.getProposal(jobId, index);
  const fromBlock = typeof options.fromBlock === "function" ? await options.fromBlock() : (options.fromBlock ?? 0);
  const revealed = (await revealedResults(components.registry, jobId, fromBlock)).get(index);
  if (revealed === undefined)
    return {
      status: "unavailable",
      reason: "the winning proposal has no ResultProposed event",
      bundleCid: "",
      treeRoot: proposal.treeRoot,
      count: Number(proposal.count),
    };
  // The root and count the chain keeps are the authority; the event's copy of them must agree.
  const treeRoot = proposal.treeRoot.toLowerCase();
  const count = Number(proposal.count);
  const where = { treeRoot, count, bundleCid: revealed.bundleCid };
  let inclusion: LeafInclusion | undefined;
  try {
    const bundle = await openBundle(parseCid(revealed.bundleCid), components.getBlock);
    inclusion = await leafInclusion(bundle, record.nullifier);
  } catch (err) {
    return { status: "unavailable", reason: `${(err as Error).name}: ${(err as Error).message}`, ...where };
  }
  const proposer = revealed.proposer;
  if (inclusion === undefined)
    return {
      status: "missing",
      reason: `the winning bundle has no leaf with this submission's nullifier ${record.nullifier}`,
      proposer,
      ...where,
    };
  if (inclusion.leaf.submission !== record.cid)
    return {
      status: "missing",
      reason: `the winning bundle's leaf for this nullifier commits to submission ${inclusion.leaf.submission}, not this vault's ${record.cid}`,
      proposer,
      ...where,
    };
  const value = inclusion.leaf.value;
  if (!Array.isArray(value) || value.length !== payload.length || value.some((v, i) => v !== payload[i]))
    return {
      status: "missing",
      reason: `value altered: the winning bundle's leaf for this submission holds [${String(value)}], not the payload [${payload.join(",")}] this vault sent`,
      proposer,
      ...where,
    };
  if (!verifyLeafInclusion(treeRoot, inclusion, count))
    return {
      status: "missing",
      reason: `leaf ${inclusion.index}'s Merkle path does not hash to the root ${treeRoot} on-chain`,
      proposer,
      ...where,
    };
  return { status: "counted", index: inclusion.index, proposer, inclusion, ...where };
}

/** Where a shared-mode job's result stands, for one of this vault's submissions (checkSharedInclusion). */
export type SharedInclusionVerdict =
  /** Collecting, committing or in its challenge window: nothing is final yet. */
  | { status: "pending"; state: string; finalizeAfter: number }
  /** Refunded (too few answers, an aggregator missing, the share sets disagreeing, a proven fault): no result. */
  | { status: "refunded"; reason: string }
  /** This submission is a leaf of the committed share set, whose root recomputed from its leaves is the one on-chain. */
  | { status: "counted"; index: number; count: number; treeRoot: string; bundleCid: string; aggregator: string }
  /** The committed share set has no leaf with this vault's nullifier, or one of another submission: evidence to keep. */
  | { status: "missing"; reason: string; count: number; treeRoot: string; bundleCid: string; aggregator: string }
  /** No aggregator's share-set bundle could be fetched or checked against its root; try again. */
  | { status: "unavailable"; reason: string; bundleCid: string; treeRoot: string; count: number };

const SHARED_STATES = ["none", "open", "finalized", "refunded"];
/** The largest share-set block read: the aggregators' own limit. */
const MAX_SHARE_SET_BLOCK_BYTES = 1024 * 1024;
/** The most chunks a share-set bundle may name (512 leaves each): the registry's 200,000 submissions per job. */
const MAX_SHARE_SET_CHUNKS = Math.ceil(200_000 / 512);

/** A share-set bundle that is not the one its aggregator committed: form, job, aggregator or root. */
export class ShareSetBundleError extends namedError("ShareSetBundleError") {}

/** The leaves of aggregator `index`'s share-set bundle, each with its submission's CID, checked against its form. */
async function readShareSet(
  getBlock: BundleBlockGetter,
  bundleCid: string,
  head: { chain: number; registry: string; id: string; aggregator: number },
): Promise<(ShareLeaf & { cid: string })[]> {
  const read = async (cid: CID) => decodeCbor(await getBlock(cid, { maxBytes: MAX_SHARE_SET_BLOCK_BYTES })) as Record<string, unknown>;
  const root = await read(parseCid(bundleCid));
  const job = root?.job as Record<string, unknown> | undefined;
  if (
    root?.v !== 1 ||
    root.kind !== "share-set" ||
    root.aggregator !== head.aggregator ||
    job?.chain !== head.chain ||
    String(job?.registry).toLowerCase() !== head.registry ||
    job?.id !== head.id ||
    !Array.isArray(root.chunks) ||
    root.chunks.length > MAX_SHARE_SET_CHUNKS
  )
    throw new ShareSetBundleError(`bundle ${bundleCid} is not aggregator ${head.aggregator}'s share set for job ${head.id}`);
  const leaves: (ShareLeaf & { cid: string })[] = [];
  for (const chunk of root.chunks as CID[]) {
    const items = (await read(chunk))?.items;
    if (!Array.isArray(items)) throw new ShareSetBundleError(`bundle ${bundleCid}: chunk ${String(chunk)} has no items`);
    for (const item of items as { nullifier?: unknown; submission?: unknown }[]) {
      if (!(item?.nullifier instanceof Uint8Array) || item.nullifier.length !== 32 || item.submission == null)
        throw new ShareSetBundleError(`bundle ${bundleCid}: an item is not { nullifier: bytes32, submission: CID }`);
      const cid = parseCid(String(item.submission));
      const sub = decodeSubmission(await getBlock(cid, { maxBytes: MAX_SHARED_SUBMISSION_BYTES }));
      const nullifier = bytes32ToBigint(item.nullifier);
      if (sub.version !== 2 || BigInt(sub.proof.nullifier) !== nullifier)
        throw new ShareSetBundleError(
          `bundle ${bundleCid}: the item of nullifier ${nullifier} names a submission of another nullifier or mode`,
        );
      leaves.push({ nullifier, message: BigInt(sub.proof.message), points: sub.proof.points.map((x) => BigInt(x)), cid: cid.toString() });
    }
  }
  return leaves;
}

/**
 * For a submission this vault recorded for a shared-mode job: once the job is final on SharedJobs, reads each
 * aggregator's commitment (share-set root, count, bundle CID), opens its share-set bundle with `getBlock` (root block
 * `{v: 1, kind: "share-set", job, aggregator, chunks}`, chunks `{items: [{nullifier, submission}]}`), fetches every
 * leaf's submission to rebuild the leaves (nullifier, message, proof points) and checks that their shareSetRoot is the
 * root on-chain and their number the count; then looks up this submission's nullifier, whose leaf must name this
 * vault's submission CID. The aggregators are tried in order until one's bundle checks (finalisation needs both roots
 * equal, so one that checks speaks for both). Every submission of the set is fetched: the cost grows with the count.
 */
export async function checkSharedInclusion(
  components: { sharedJobs: SharedJobs; getBlock: BundleBlockGetter },
  record: SubmissionRecord,
): Promise<SharedInclusionVerdict> {
  const jobId = BigInt(record.jobId);
  const job = await components.sharedJobs.getSharedJob(jobId);
  const state = SHARED_STATES[Number(job.state)] ?? String(job.state);
  if (state === "refunded") return { status: "refunded", reason: REFUND_REASONS[Number(job.refundReason)] ?? String(job.refundReason) };
  if (state !== "finalized") return { status: "pending", state, finalizeAfter: Number(job.finalizeAfter) };
  let unavailable: SharedInclusionVerdict | undefined;
  for (const i of [0, 1]) {
    const commit = await components.sharedJobs.getCommit(jobId, i);
    const where = { treeRoot: commit.shareSetRoot.toLowerCase(), count: Number(commit.count), bundleCid: commit.bundleCid };
    const aggregator = job.aggregators[i] as string;
    let leaves: (ShareLeaf & { cid: string })[];
    try {
      leaves = await readShareSet(components.getBlock, commit.bundleCid, {
        chain: Number(record.chainId),
        registry: record.registry.toLowerCase(),
        id: record.jobId,
        aggregator: i,
      });
      const root = shareSetRoot(leaves).toLowerCase();
      if (root !== where.treeRoot || leaves.length !== where.count)
        throw new ShareSetBundleError(
          `aggregator ${i}'s bundle's ${leaves.length} leaves hash to ${root}, not the committed root ${where.treeRoot} of ${where.count}`,
        );
    } catch (err) {
      unavailable ??= { status: "unavailable", reason: `aggregator ${i}: ${(err as Error).name}: ${(err as Error).message}`, ...where };
      continue;
    }
    const index = leaves.findIndex((l) => l.nullifier.toString() === record.nullifier);
    if (index < 0)
      return {
        status: "missing",
        reason: `the committed share set of job ${jobLabel(jobId)} has no leaf with this submission's nullifier ${record.nullifier}`,
        aggregator,
        ...where,
      };
    const leaf = leaves[index] as ShareLeaf & { cid: string };
    if (leaf.cid !== record.cid)
      return {
        status: "missing",
        reason: `the committed share set's leaf for this nullifier is submission ${leaf.cid}, not this vault's ${record.cid}`,
        aggregator,
        ...where,
      };
    return { status: "counted", index, aggregator, ...where };
  }
  return unavailable as SharedInclusionVerdict;
}
