// Proposing a result on JobRegistry (commit, then reveal) and reading revealed results back from its events: the
// chain keeps only a proposal's tree root and aggregate hash, the aggregate and bundle CID travel in ResultProposed.
import { AbiCoder, type BigNumberish, type ContractTransactionReceipt, keccak256 } from "ethers";
import type { JobRegistry } from "./contracts.js";

/** A result as proposed: the root's value, the leaf count, the tree root and where the bundle is. */
export interface ProposedResult {
  aggregate: readonly BigNumberish[];
  count: number | bigint;
  treeRoot: string;
  bundleCid: string;
}

/** A revealed proposal's result as its ResultProposed event carries it. */
export interface RevealedResult {
  index: number;
  proposer: string;
  aggregate: bigint[];
  count: bigint;
  treeRoot: string;
  bundleCid: string;
}

const abi = AbiCoder.defaultAbiCoder();

/** What `proposer` commits to before revealing: JobRegistry recomputes it from the reveal and msg.sender. */
export function resultCommitment(proposer: string, jobId: bigint, result: Omit<ProposedResult, "bundleCid">): string {
  const aggregateHash = keccak256(abi.encode(["int256[]"], [[...result.aggregate]]));
  return keccak256(
    abi.encode(["address", "uint256", "uint32", "bytes32", "bytes32"], [proposer, jobId, result.count, result.treeRoot, aggregateHash]),
  );
}

/**
 * Proposes `result` from the registry's signer: commitResult with the bond, and only once that is mined,
 * proposeResult to reveal it (a reveal sent before its commitment is mined would show the result to a copier
 * while the commitment is still unordered). Returns the proposal's index and both receipts.
 */
export async function proposeResult(
  registry: JobRegistry,
  jobId: bigint,
  result: ProposedResult,
  options: { bond?: bigint } = {},
): Promise<{ index: bigint; commit: ContractTransactionReceipt; reveal: ContractTransactionReceipt }> {
  const runner = registry.runner as { getAddress?: () => Promise<string> } | null;
  if (typeof runner?.getAddress !== "function") throw new TypeError("registry: expected a contract connected to a signer");
  const proposer = await runner.getAddress();
  const bond = options.bond ?? (await registry.proposalBond());
  const commitment = resultCommitment(proposer, jobId, result);
  const commit = (await (await registry.commitResult(jobId, commitment, { value: bond })).wait()) as ContractTransactionReceipt;
  const committed = commit.logs.map((log) => registry.interface.parseLog(log)).find((e) => e?.name === "ResultCommitted");
  const index = committed?.args.index as bigint;
  const reveal = (await (
    await registry.proposeResult(jobId, index, [...result.aggregate], result.count, result.treeRoot, result.bundleCid)
  ).wait()) as ContractTransactionReceipt;
  return { index, commit, reveal };
}

/**
 * Every revealed result of a job, by proposal index, from the registry's ResultProposed events from `fromBlock` on
 * (the block the job was posted in, or the registry's deploy block: no earlier block can hold them).
 */
export async function revealedResults(registry: JobRegistry, jobId: bigint, fromBlock = 0): Promise<Map<number, RevealedResult>> {
  const events = await registry.queryFilter(registry.filters.ResultProposed(jobId), fromBlock);
  const out = new Map<number, RevealedResult>();
  for (const e of events) {
    const index = Number(e.args.index);
    out.set(index, {
      index,
      proposer: e.args.proposer,
      aggregate: [...e.args.aggregate],
      count: e.args.count,
      treeRoot: e.args.treeRoot,
      bundleCid: e.args.bundleCid,
    });
  }
  return out;
}
