// Fraud-proof witnesses: the node values of a reduce tree, Merkle paths, and the exact arguments of JobRegistry's
// one-call challenges, plus findFaults, which re-derives a published tree and returns the first provable fault.
import { namedError, type ReducerSpec, to0xHex } from "@mosaic/protocol";
import { submissionDigest } from "./reduce/codec.js";
import { leafHash, nodeHash } from "./reduce/hash.js";
import { edgesOf, liftPayload, stateLength } from "./reduce/kinds.js";
import type { Leaf, ReduceResult } from "./reduce/tree.js";

/** One node of a reduce tree: its hash and its value (the lifted state). A carried node repeats its child. */
export interface TreeNode {
  hash: string;
  /** The node's state; `[]` for a leaf whose payload is not `payloadLength` long (a fault wherever it is summed). */
  value: number[];
}

/** A reduce tree opened up: the leaves in tree order and every node, `levels[0]` the leaves, the last `[root]`. */
export interface TreeNodes {
  leaves: Leaf[];
  levels: TreeNode[][];
}

/** JobRegistry's `Leaf`. */
export interface LeafArg {
  nullifier: bigint;
  /** 0x-hex sha-256 digest of the submission block (from its CID). */
  digest: string;
  payload: number[];
}

/** JobRegistry's `Inner`: a paired node's preimage. */
export interface InnerArg {
  left: string;
  right: string;
  value: number[];
}

/** JobRegistry's `Ancestor`: the sibling's hash and the parent's value. */
export interface AncestorArg {
  sibling: string;
  value: number[];
}

/** The JobRegistry functions that prove a fault. */
export type ChallengeFunction =
  | "challengeRoot"
  | "challengeRootLeaf"
  | "challengeLeafParent"
  | "challengeInnerNode"
  | "challengeCarriedLeafParent"
  | "challengeOrder"
  | "challengeSubmission";

/**
 * A challenge ready to send: `registry.getFunction(w.fn)(jobId, proposalIndex, ...w.args)`.
 * The args follow the contract's parameters after `jobId, index`.
 */
export interface Witness {
  fn: ChallengeFunction;
  args: unknown[];
}

/** A fault findFaults found, with the witness that proves it. */
export interface Fault extends Witness {
  /** What is wrong, in words. */
  reason: string;
}

/** A published tree as findFaults reads it: a reduce result, with each node's claimed value where published. */
export interface PublishedTree extends ReduceResult {
  /** `values[level][i]` the claimed value of `levels[level][i]` (level ≥ 1); missing ones are recomputed. */
  values?: (number[] | undefined)[][];
}

/**
 * The published tree disagrees with what it should be, but not in a way one call can prove: a node hash that is
 * not the hash of its claimed preimage, a missing level, a leaf list that is not the committed one. A watcher
 * cannot slash for it; it can only refuse to trust the proposal (and propose a correct one).
 */
export class UnprovableFaultError extends namedError("UnprovableFaultError") {}

// ---------------------------------------------------------------------------------------------------------------
// Opening a tree.

/** The number of nodes at each level of a tree of `count` leaves (count ≥ 1). */
export function levelSizes(count: number): number[] {
  const sizes = [count];
  for (let n = count; n > 1; ) {
    n = Math.ceil(n / 2);
    sizes.push(n);
  }
  return sizes;
}

/** Whether the node at (level ≥ 1, i) is carried: the lone last child of an odd level below. */
function isCarried(levels: readonly (readonly unknown[])[], level: number, i: number): boolean {
  return 2 * i + 1 >= (levels[level - 1] as unknown[]).length;
}

function liftLeaf(leaf: Leaf, reducer: ReducerSpec, payloadLength: number): number[] {
  return leaf.value.length === payloadLength ? liftPayload(reducer, leaf.value) : [];
}

/** `a + b` entry-wise in exact integers, or undefined when either is not `width` long (then no value matches). */
function sumOf(a: readonly number[], b: readonly number[], width: number): bigint[] | undefined {
  if (a.length !== width || b.length !== width) return undefined;
  return a.map((x, k) => BigInt(x) + BigInt(b[k] as number));
}

function sameValue(value: readonly number[], expected: readonly (number | bigint)[] | undefined): boolean {
  return expected !== undefined && value.length === expected.length && value.every((x, k) => BigInt(x) === BigInt(expected[k] as bigint));
}

/**
 * Every node of a reduce result, hash and value, carried nodes included: hashes from `result.levels`, values
 * recomputed from `result.leaves` with liftPayload and entry-wise sums. For an honest result from reduceTree.
 */
export function treeNodes(result: ReduceResult, reducer: ReducerSpec, payloadLength: number): TreeNodes {
  const width = stateLength(reducer, payloadLength);
  if (result.leaves.length === 0) return { leaves: [], levels: [] };
  let below: TreeNode[] = result.leaves.map((leaf, i) => ({
    hash: result.levels[0]?.[i] ?? leafHash(leaf),
    value: liftLeaf(leaf, reducer, payloadLength),
  }));
  const levels = [below];
  for (let level = 1; below.length > 1; level++) {
    const nodes: TreeNode[] = [];
    for (let i = 0; 2 * i < below.length; i++) {
      const left = below[2 * i] as TreeNode;
      const right = below[2 * i + 1];
      const sum = right === undefined ? undefined : sumOf(left.value, right.value, width);
      const value = right === undefined ? left.value : (sum ?? []).map(Number);
      const hash = result.levels[level]?.[i] ?? (right === undefined ? left.hash : nodeHash(left.hash, right.hash, value));
      nodes.push({ hash, value });
    }
    levels.push(nodes);
    below = nodes;
  }
  return { leaves: result.leaves, levels };
}

/**
 * Recomputes every hash from the leaves and the nodes' values as they stand, copying carried nodes from their
 * child: the tree a dishonest reducer would publish after changing some values (a simulation aid for tests).
 */
export function rehashTree(tree: TreeNodes): TreeNodes {
  const levels: TreeNode[][] = [tree.leaves.map((leaf, i) => ({ hash: leafHash(leaf), value: tree.levels[0]?.[i]?.value ?? [] }))];
  for (let level = 1; level < tree.levels.length; level++) {
    const below = levels[level - 1] as TreeNode[];
    levels.push(
      (tree.levels[level] as TreeNode[]).map((node, i) => {
        const left = below[2 * i] as TreeNode;
        const right = below[2 * i + 1];
        return right === undefined ? { ...left } : { hash: nodeHash(left.hash, right.hash, node.value), value: node.value };
      }),
    );
  }
  return { leaves: tree.leaves, levels };
}

// ---------------------------------------------------------------------------------------------------------------
// Witnesses.

/** A leaf as JobRegistry's `Leaf` struct. Throws TypeError when its submission is not a submission CID. */
export function leafArg(leaf: Leaf): LeafArg {
  const digest = submissionDigest(leaf.submission);
  return { nullifier: BigInt(leaf.nullifier), digest: to0xHex(digest), payload: leaf.value.slice() };
}

/** The Merkle path of the node at (level, position): per level where it is paired, the sibling and the parent's value. */
export function ancestorsOf(tree: TreeNodes, level: number, position: number): AncestorArg[] {
  const path: AncestorArg[] = [];
  for (let l = level, p = position; l + 1 < tree.levels.length; l++, p >>= 1) {
    const nodes = tree.levels[l] as TreeNode[];
    if (p === nodes.length - 1 && nodes.length % 2 === 1) continue; // carried: no path element
    const parent = (tree.levels[l + 1] as TreeNode[])[p >> 1] as TreeNode;
    path.push({ sibling: (nodes[p ^ 1] as TreeNode).hash, value: parent.value.slice() });
  }
  return path;
}

/** Where a node's preimage really is: a carried node's is its child's, down to a pair node or a leaf. */
function preimageOf(tree: TreeNodes, level: number, i: number): { leaf: Leaf } | { inner: InnerArg } {
  while (level > 0 && isCarried(tree.levels, level, i)) {
    level--;
    i *= 2;
  }
  if (level === 0) return { leaf: tree.leaves[i] as Leaf };
  const below = tree.levels[level - 1] as TreeNode[];
  return {
    inner: {
      left: (below[2 * i] as TreeNode).hash,
      right: (below[2 * i + 1] as TreeNode).hash,
      value: ((tree.levels[level] as TreeNode[])[i] as TreeNode).value.slice(),
    },
  };
}

/** The preimage (JobRegistry's `Inner`) of the paired node at (level ≥ 1, i); RangeError for a leaf or carried node. */
export function innerAt(tree: TreeNodes, level: number, i: number): InnerArg {
  const pre = preimageOf(tree, level, i);
  if (!("inner" in pre)) throw new RangeError(`node (${level}, ${i}): expected a paired node, got a leaf`);
  return pre.inner;
}

function checkPair(tree: TreeNodes, level: number, position: number): void {
  const below = tree.levels[level - 1];
  if (level < 1 || below === undefined || !Number.isSafeInteger(position) || position < 0 || 2 * position + 1 >= below.length)
    throw new RangeError(`(level, position): expected a node with two children, got (${level}, ${position})`);
}

/** challengeLeafParent's arguments for the level-1 node at `position` (parent of leaves 2p and 2p+1). */
export function leafParentWitness(tree: TreeNodes, reducer: ReducerSpec, position: number): Witness {
  checkPair(tree, 1, position);
  return {
    fn: "challengeLeafParent",
    args: [
      position,
      innerAt(tree, 1, position),
      leafArg(tree.leaves[2 * position] as Leaf),
      leafArg(tree.leaves[2 * position + 1] as Leaf),
      ancestorsOf(tree, 1, position),
      edgesOf(reducer),
    ],
  };
}

/**
 * The arguments to challenge the node at (level ≥ 2, position) against its children: challengeInnerNode, or
 * challengeCarriedLeafParent when its right child is the last leaf carried up from level 0.
 */
export function innerNodeWitness(tree: TreeNodes, reducer: ReducerSpec, level: number, position: number): Witness {
  if (level < 2) throw new RangeError(`level: expected 2 or more (use leafParentWitness for level 1), got ${level}`);
  checkPair(tree, level, position);
  const node = innerAt(tree, level, position);
  const left = innerAt(tree, level - 1, 2 * position);
  const right = preimageOf(tree, level - 1, 2 * position + 1);
  const path = ancestorsOf(tree, level, position);
  return "inner" in right
    ? { fn: "challengeInnerNode", args: [level, position, node, left, right.inner, path] }
    : { fn: "challengeCarriedLeafParent", args: [level, position, node, left, leafArg(right.leaf), path, edgesOf(reducer)] };
}

/**
 * challengeRoot's arguments (two leaves or more), or challengeRootLeaf's (one leaf), against the `aggregate` the
 * proposal claims (the chain keeps its hash; the aggregate is in the proposal's ResultProposed event).
 */
export function rootWitness(tree: TreeNodes, reducer: ReducerSpec, aggregate: readonly (number | bigint)[]): Witness {
  const top = tree.levels.length - 1;
  if (top < 0) throw new RangeError("tree: expected at least one leaf, got none");
  const claimed = aggregate.slice();
  if (top === 0) return { fn: "challengeRootLeaf", args: [claimed, leafArg(tree.leaves[0] as Leaf), edgesOf(reducer)] };
  return { fn: "challengeRoot", args: [claimed, innerAt(tree, top, 0)] };
}

/** challengeOrder's arguments for leaves `position` and `position + 1`. */
export function orderWitness(tree: TreeNodes, position: number): Witness {
  if (!Number.isSafeInteger(position) || position < 0 || position + 1 >= tree.leaves.length)
    throw new RangeError(`position: expected 0..${tree.leaves.length - 2}, got ${position}`);
  return {
    fn: "challengeOrder",
    args: [
      position,
      leafArg(tree.leaves[position] as Leaf),
      ancestorsOf(tree, 0, position),
      leafArg(tree.leaves[position + 1] as Leaf),
      ancestorsOf(tree, 0, position + 1),
    ],
  };
}

/**
 * challengeSubmission's arguments for leaf `position`: the leaf, its path, the opened envelope of its submission (the
 * contract's `Envelope`, built from the submission block by @mosaic/avatar's envelopeArg) and the job's bounds.
 */
export function submissionWitness(
  tree: TreeNodes,
  position: number,
  envelope: unknown,
  bounds: { min: readonly number[]; max: readonly number[] },
): Witness {
  const leaf = tree.leaves[position];
  if (!Number.isSafeInteger(position) || leaf === undefined)
    throw new RangeError(`position: expected 0..${tree.leaves.length - 1}, got ${position}`);
  return {
    fn: "challengeSubmission",
    args: [position, leafArg(leaf), ancestorsOf(tree, 0, position), envelope, { min: [...bounds.min], max: [...bounds.max] }],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Watching.

/**
 * Opens a published tree as its proposer committed to it: leaf hashes recomputed, node hashes as published, node
 * values as published or else recomputed; then checks that every hash is the hash of its claimed preimage, so
 * any witness built from it verifies on-chain. Throws UnprovableFaultError where it is not.
 */
export function openPublished(published: PublishedTree, reducer: ReducerSpec, payloadLength: number): TreeNodes {
  const { leaves, count, levels } = published;
  if (leaves.length !== count) throw new UnprovableFaultError(`published tree: count is ${count}, but it lists ${leaves.length} leaves`);
  const sizes = levelSizes(count);
  if (!Array.isArray(levels) || levels.length !== sizes.length || sizes.some((n, l) => levels[l]?.length !== n))
    throw new UnprovableFaultError(`published tree: levels do not have the shape of a ${count}-leaf tree`);
  const width = stateLength(reducer, payloadLength);
  const tree: TreeNodes = { leaves, levels: [] };
  tree.levels.push(
    leaves.map((leaf, i) => {
      let hash: string;
      try {
        hash = leafHash(leaf);
      } catch (error) {
        throw new UnprovableFaultError(`published tree: leaves[${i}] is malformed: ${(error as Error).message}`);
      }
      if (hash !== levels[0]?.[i]?.toLowerCase())
        throw new UnprovableFaultError(`published tree: levels[0][${i}] is not leaves[${i}]'s hash`);
      return { hash, value: liftLeaf(leaf, reducer, payloadLength) };
    }),
  );
  for (let level = 1; level < sizes.length; level++) {
    const below = tree.levels[level - 1] as TreeNode[];
    const nodes: TreeNode[] = [];
    for (let i = 0; i < (sizes[level] as number); i++) {
      const left = below[2 * i] as TreeNode;
      const right = below[2 * i + 1];
      const hash = String(levels[level]?.[i]).toLowerCase();
      if (right === undefined) {
        if (hash !== left.hash)
          throw new UnprovableFaultError(`published tree: carried node levels[${level}][${i}] differs from its child`);
        nodes.push({ hash, value: left.value });
        continue;
      }
      const sum = sumOf(left.value, right.value, width);
      const value = published.values?.[level]?.[i] ?? sum?.map(Number);
      if (value === undefined || nodeHash(left.hash, right.hash, value) !== hash)
        throw new UnprovableFaultError(`published tree: levels[${level}][${i}] is not the hash of its children and a published value`);
      nodes.push({ hash, value });
    }
    tree.levels.push(nodes);
  }
  const root = (tree.levels[sizes.length - 1] as TreeNode[])[0] as TreeNode;
  if (root.hash !== published.treeRoot.toLowerCase())
    throw new UnprovableFaultError("published tree: its top hash is not the proposed treeRoot");
  return tree;
}

/**
 * Re-derives a published (possibly wrong) tree and returns the first provable fault with its witness: two leaves
 * out of strict nullifier order, then the lowest node whose value is not the sum of its children's (a leaf of the
 * wrong payload length counts), then a root that is not the proposed aggregate. Returns undefined for a correct
 * tree; throws UnprovableFaultError when the publication itself does not add up (nothing one call could prove).
 */
export function findFaults(published: PublishedTree, reducer: ReducerSpec, payloadLength: number): Fault | undefined {
  if (published.count === 0) return undefined; // nothing to prove about an empty tree
  const tree = openPublished(published, reducer, payloadLength);
  const width = stateLength(reducer, payloadLength);
  const { leaves, levels } = tree;
  for (let i = 0; i + 1 < leaves.length; i++) {
    if (BigInt((leaves[i] as Leaf).nullifier) >= BigInt((leaves[i + 1] as Leaf).nullifier))
      return { ...orderWitness(tree, i), reason: `leaves ${i} and ${i + 1} are not in strictly increasing nullifier order` };
  }
  for (let level = 1; level < levels.length; level++) {
    const below = levels[level - 1] as TreeNode[];
    for (let i = 0; 2 * i + 1 < below.length; i++) {
      const sum = sumOf((below[2 * i] as TreeNode).value, (below[2 * i + 1] as TreeNode).value, width);
      if (sameValue(((levels[level] as TreeNode[])[i] as TreeNode).value, sum)) continue;
      const witness = level === 1 ? leafParentWitness(tree, reducer, i) : innerNodeWitness(tree, reducer, level, i);
      return { ...witness, reason: `node (${level}, ${i}) is not the sum of its children` };
    }
  }
  const root = (levels[levels.length - 1] as TreeNode[])[0] as TreeNode;
  if (!sameValue(published.aggregate, root.value.length === width ? root.value : undefined))
    return { ...rootWitness(tree, reducer, published.aggregate), reason: "the proposed aggregate is not the root's value" };
  return undefined;
}
