// The sum reducer and its reduce tree: leaves sorted by nullifier, each node = combine(left, right).
import { AbiCoder, keccak256 } from "ethers";

/** An accepted submission as a reduce-tree leaf. */
export interface Leaf {
  /** Decimal string of the Semaphore nullifier. */
  nullifier: string;
  /** CID of the submission block on IPFS. */
  submission: string;
  value: number[];
}

const abi = AbiCoder.defaultAbiCoder();

/** Element-wise sum: the combine function of the sum reducer. Associative and commutative. */
export function combine(a: number[], b: number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`combine: lengths ${a.length} and ${b.length} differ`);
  return a.map((x, i) => x + (b[i] as number));
}

/** Leaf hash: keccak256(abi.encode(uint256 nullifier, int256[] value)), the form a contract can recompute. */
export function leafHash(leaf: Leaf): string {
  return keccak256(abi.encode(["uint256", "int256[]"], [BigInt(leaf.nullifier), leaf.value]));
}

function nodeHash(left: string, right: string, value: number[]): string {
  return keccak256(abi.encode(["bytes32", "bytes32", "int256[]"], [left, right, value]));
}

export interface ReduceResult {
  aggregate: number[];
  count: number;
  treeRoot: string;
  /** The leaves in tree order (strictly increasing nullifier). */
  leaves: Leaf[];
}

/**
 * Sorts leaves by nullifier and folds them up a binary tree; an odd node out is carried up unchanged.
 * Throws if two leaves share a nullifier (the collector must never let that happen).
 */
export function reduceTree(input: Leaf[], length: number): ReduceResult {
  const leaves = [...input].sort((a, b) => {
    const x = BigInt(a.nullifier);
    const y = BigInt(b.nullifier);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 1; i < leaves.length; i++) {
    if ((leaves[i] as Leaf).nullifier === (leaves[i - 1] as Leaf).nullifier)
      throw new Error(`duplicate nullifier ${(leaves[i] as Leaf).nullifier}`);
  }
  if (leaves.length === 0) return { aggregate: new Array(length).fill(0), count: 0, treeRoot: `0x${"00".repeat(32)}`, leaves };
  let level = leaves.map((l) => ({ hash: leafHash(l), value: l.value }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as (typeof level)[number];
      const right = level[i + 1];
      if (right === undefined) {
        next.push(left);
      } else {
        const value = combine(left.value, right.value);
        next.push({ hash: nodeHash(left.hash, right.hash, value), value });
      }
    }
    level = next;
  }
  const top = level[0] as (typeof level)[number];
  return { aggregate: top.value, count: leaves.length, treeRoot: top.hash, leaves };
}
