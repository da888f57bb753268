// Watching other reducers: re-derive every proposal of a served job from its public bundle, and prove the first
// fault on-chain in one call (the proposer is slashed, the challenger paid).
import { findFaults, type PublishedTree, UnprovableFaultError } from "@mosaic/mapreduce";
import { CID, decodeCbor, getBlock, type IpfsNode, type JobRegistry, type Logger, parseCid } from "@mosaic/protocol";
import type { JobSession } from "./reducer.js";

/** The largest bundle a watcher fetches: a 100,000-leaf bundle with 7-entry values is a few MB. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

/** What a watcher concluded about one proposal. */
export interface ProposalVerdict {
  index: number;
  proposer: string;
  verdict: "valid" | "challenged" | "unprovable" | "unavailable";
  reason?: string;
  txHash?: string;
}

export interface WatcherComponents {
  ipfs: IpfsNode;
  registry: JobRegistry;
  operator: string;
  log: Logger;
  fetchTimeoutMs: number;
  /** Gives back the nonce of a challenge that failed before it was sent (a NonceManager's reset). */
  resetNonce?(): void;
}

/** Reads a bundle block into the tree findFaults checks; the proposal's own figures come from the chain, never the bundle. */
function publishedTree(bundle: unknown, proposal: { aggregate: bigint[]; count: bigint; treeRoot: string }): PublishedTree {
  const b = bundle as { leaves?: unknown; levels?: unknown; values?: unknown };
  if (!Array.isArray(b?.leaves) || !Array.isArray(b.levels)) throw new UnprovableFaultError("bundle: no leaves or levels");
  const leaves = b.leaves.map((l: { nullifier?: unknown; submission?: unknown; value?: unknown }, i: number) => {
    if (typeof l?.nullifier !== "string" || !Array.isArray(l.value)) throw new UnprovableFaultError(`bundle: leaves[${i}] is malformed`);
    const cid = CID.asCID(l.submission);
    return { nullifier: l.nullifier, submission: cid?.toString() ?? "", value: l.value as number[] };
  });
  return {
    aggregate: proposal.aggregate.map(Number),
    count: Number(proposal.count),
    treeRoot: proposal.treeRoot,
    leaves,
    levels: b.levels as string[][],
    values: Array.isArray(b.values) ? (b.values as number[][][]) : undefined,
  };
}

/**
 * Checks every proposal of `session`'s job not yet in `seen` (other than this operator's own): fetches its bundle,
 * re-derives the tree and, on a provable fault, sends the challenge. A bundle that cannot be fetched or does not
 * add up is reported (and checked again next time), since no one call can prove it.
 */
export async function checkProposals(
  c: WatcherComponents,
  session: JobSession,
  seen: Map<number, ProposalVerdict>,
): Promise<ProposalVerdict[]> {
  const spec = session.spec;
  if (spec === undefined) return [];
  const n = Number(await c.registry.proposalCount(session.jobId));
  const out: ProposalVerdict[] = [];
  for (let index = 0; index < n; index++) {
    const done = seen.get(index);
    if (done !== undefined && done.verdict !== "unavailable" && done.verdict !== "unprovable") continue;
    const p = await c.registry.getProposal(session.jobId, index);
    if (p.proposer.toLowerCase() === c.operator.toLowerCase() || (p as unknown as { faulted?: boolean }).faulted) continue;
    const verdict: ProposalVerdict = { index, proposer: p.proposer, verdict: "valid" };
    try {
      const bytes = await getBlock(c.ipfs.blockstore, parseCid(p.bundleCid), {
        maxBytes: MAX_BUNDLE_BYTES,
        signal: AbortSignal.timeout(c.fetchTimeoutMs),
      });
      const tree = publishedTree(decodeCbor(bytes), p);
      const fault = findFaults(tree, spec.reducer, spec.output.entries.length);
      if (fault !== undefined) {
        const tx = await c.registry.getFunction(fault.fn)(session.jobId, index, ...fault.args);
        await tx.wait();
        Object.assign(verdict, { verdict: "challenged", reason: fault.reason, txHash: tx.hash });
        c.log("warn", "proposal:challenged", {
          jobId: session.jobId,
          index,
          proposer: p.proposer,
          fault: fault.fn,
          reason: fault.reason,
          tx: tx.hash,
        });
      }
    } catch (err) {
      c.resetNonce?.();
      const name = (err as Error).name;
      verdict.verdict = name === "BlockUnavailableError" || name === "SubmissionTooLargeError" ? "unavailable" : "unprovable";
      verdict.reason = (err as Error).message;
      c.log("warn", `proposal:${verdict.verdict}`, { jobId: session.jobId, index, proposer: p.proposer, reason: verdict.reason });
    }
    seen.set(index, verdict);
    out.push(verdict);
  }
  return out;
}
