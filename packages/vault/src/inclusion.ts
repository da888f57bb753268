// Was my answer counted? The winning result of a final job, read from the chain, and a Merkle inclusion proof of this
// vault's leaf in that result's bundle, checked against the tree root the chain recorded. Portable: the chain reads
// and the bundle's blocks come in as components.
import { type BundleBlockGetter, type LeafInclusion, leafInclusion, openBundle, verifyLeafInclusion } from "@mosaic/mapreduce";
import { decodeLocalSubmission } from "@mosaic/avatar";
import { type JobRegistry, parseCid, revealedResults } from "@mosaic/protocol";
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
