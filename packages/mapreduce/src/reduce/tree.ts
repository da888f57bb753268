// The reduce tree: leaves sorted by nullifier, their lifted payloads summed pairwise up a binary tree, every node
// committed to with the hash a fraud proof recomputes; built by a reducer, re-derived by a challenger.
import { type ReducerSpec, to0xHex } from "@mosaic/protocol";
import {
  AggregateMismatchError,
  CountMismatchError,
  DuplicateNullifierError,
  LeafOrderError,
  MalformedLeafError,
  NodeMismatchError,
  RootMismatchError,
} from "../errors.js";
import { submissionDigest } from "./codec.js";
import { Encoder, levelHex, nullifierHex } from "./hash.js";
import { checkPayload, checkPayloadLength, combine, type ReducerKind } from "./kind.js";
import { reducerKind } from "./kinds.js";

/** An accepted submission as a reduce-tree leaf. */
export interface Leaf {
  /** The Semaphore nullifier as a canonical decimal string (no sign, no leading zeros), below 2^256. */
  nullifier: string;
  /**
   * CID of the submission block on IPFS: CIDv1, dag-cbor, sha2-256, base32 ("bafyrei…"). The leaf hash commits to
   * its sha-256 digest, which a fraud proof opens with the envelope's fields.
   */
  submission: string;
  /** The submission's payload: `payloadLength` safe integers (negative after noise). */
  value: number[];
}

/** What a reducer proposes and publishes: the aggregate state, the leaves in tree order and every node hash. */
export interface ReduceResult {
  /** The root's state: the entry-wise sum of every lifted payload, `stateLength(reducer, payloadLength)` entries. */
  aggregate: number[];
  count: number;
  /** 0x-hex keccak256 of the root node, or 32 zero bytes when there are no leaves. */
  treeRoot: string;
  /** The leaves in tree order: strictly increasing nullifier. */
  leaves: Leaf[];
  /** Node hashes: `levels[0]` the leaf hashes, each next level their parents, the last `[treeRoot]`; `[]` when empty. */
  levels: string[][];
}

const ZERO_ROOT = `0x${"00".repeat(32)}`;

interface Tree {
  aggregate: number[];
  treeRoot: string;
  levels: string[][];
}

/**
 * Folds leaves already in tree order (nullifiers as hex, submission digests back to back in `digests`) up the tree;
 * an odd node out is carried up unchanged.
 */
function buildTree(
  leaves: readonly Leaf[],
  hexes: readonly string[],
  digests: Uint8Array,
  kind: ReducerKind,
  reducer: ReducerSpec,
  payloadLength: number,
): Tree {
  const width = kind.stateLength(reducer, payloadLength);
  if (leaves.length === 0) return { aggregate: new Array<number>(width).fill(0), treeRoot: ZERO_ROOT, levels: [] };
  const encoder = new Encoder(5 + Math.max(width, payloadLength));
  // A level's hashes sit back to back in one buffer, so a node's two children are 64 contiguous bytes.
  let hashes = new Uint8Array(32 * leaves.length);
  for (let i = 0; i < leaves.length; i++) encoder.leaf(hexes[i] as string, digests, 32 * i, (leaves[i] as Leaf).value, hashes, 32 * i);
  let values = leaves.map((leaf) => kind.lift(reducer, leaf.value));
  const levels = [levelHex(hashes, values.length)];
  while (values.length > 1) {
    const n = values.length;
    const parents = Math.ceil(n / 2);
    const nextHashes = new Uint8Array(32 * parents);
    const nextValues = new Array<number[]>(parents);
    for (let i = 0; i + 1 < n; i += 2) {
      const value = combine(values[i] as number[], values[i + 1] as number[]);
      encoder.node(hashes, 32 * i, value, nextHashes, 16 * i);
      nextValues[i / 2] = value;
    }
    if (n % 2 === 1) {
      nextHashes.set(hashes.subarray(32 * (n - 1)), 32 * (parents - 1));
      nextValues[parents - 1] = values[n - 1] as number[];
    }
    hashes = nextHashes;
    values = nextValues;
    levels.push(levelHex(hashes, parents));
  }
  return { aggregate: values[0] as number[], treeRoot: to0xHex(hashes.subarray(0, 32)), levels };
}

/**
 * Sorts leaves by nullifier (ascending, as integers) and folds their lifted payloads up a binary tree, each node
 * the entry-wise sum of its children; an odd node out is carried up unchanged. No leaves give a zero aggregate,
 * count 0 and a zero root. The input is never modified; the result holds copies of the leaves.
 *
 * Throws DuplicateNullifierError when two leaves share a nullifier, TypeError/RangeError for a malformed leaf
 * (message names `leaves[i]` in input order), a payload of the wrong length, or a bad reducer spec.
 */
export function reduceTree(leaves: readonly Leaf[], reducer: ReducerSpec, payloadLength: number): ReduceResult {
  const kind = reducerKind(reducer);
  checkPayloadLength(payloadLength);
  const keyed = leaves.map((leaf, i) => {
    const hex = nullifierHex(leaf?.nullifier);
    if (typeof hex !== "string") throw new TypeError(`leaves[${i}].nullifier: ${hex.reason}`);
    checkPayload(leaf.value, `leaves[${i}].value`);
    if (leaf.value.length !== payloadLength)
      throw new RangeError(`leaves[${i}].value: expected ${payloadLength} items, got ${leaf.value.length}`);
    return { hex, leaf, index: i };
  });
  // Fixed-width hex orders like the integers it spells, and compares faster than BigInt.
  keyed.sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
  for (let i = 1; i < keyed.length; i++) {
    if ((keyed[i] as { hex: string }).hex === (keyed[i - 1] as { hex: string }).hex)
      throw new DuplicateNullifierError((keyed[i] as { leaf: Leaf }).leaf.nullifier);
  }
  const sorted = keyed.map(({ leaf }) => ({ nullifier: leaf.nullifier, submission: leaf.submission, value: leaf.value.slice() }));
  const digests = new Uint8Array(32 * sorted.length);
  sorted.forEach((leaf, i) => {
    try {
      submissionDigest(leaf.submission, digests, 32 * i);
    } catch (error) {
      throw new TypeError(`leaves[${keyed[i]?.index}].submission: ${(error as Error).message}`);
    }
  });
  const tree = buildTree(
    sorted,
    keyed.map((k) => k.hex),
    digests,
    kind,
    reducer,
    payloadLength,
  );
  return { aggregate: tree.aggregate, count: sorted.length, treeRoot: tree.treeRoot, leaves: sorted, levels: tree.levels };
}

/**
 * Recomputes a reduce result from its leaves, as a challenger does, and throws the named error of the first fault:
 * MalformedLeafError, DuplicateNullifierError or LeafOrderError for the leaf list (it must already be in strictly
 * increasing nullifier order), CountMismatchError, NodeMismatchError for the lowest wrong node (the one a fraud
 * proof names), AggregateMismatchError, RootMismatchError. Returns nothing when everything matches.
 */
export function verifyReduceResult(result: ReduceResult, reducer: ReducerSpec, payloadLength: number): void {
  const kind = reducerKind(reducer);
  checkPayloadLength(payloadLength);
  const digests = new Uint8Array(32 * result.leaves.length);
  const hexes = result.leaves.map((leaf, i) => {
    const hex = nullifierHex(leaf?.nullifier);
    if (typeof hex !== "string") throw new MalformedLeafError(i, `nullifier: ${hex.reason}`);
    try {
      checkPayload(leaf.value, "value");
      submissionDigest(leaf.submission, digests, 32 * i);
    } catch (error) {
      throw new MalformedLeafError(i, (error as Error).message);
    }
    if (leaf.value.length !== payloadLength)
      throw new MalformedLeafError(i, `value: expected ${payloadLength} items, got ${leaf.value.length}`);
    return hex;
  });
  for (let i = 1; i < hexes.length; i++) {
    const previous = hexes[i - 1] as string;
    const current = hexes[i] as string;
    if (current === previous) throw new DuplicateNullifierError((result.leaves[i] as Leaf).nullifier);
    if (current < previous) throw new LeafOrderError(i, (result.leaves[i - 1] as Leaf).nullifier, (result.leaves[i] as Leaf).nullifier);
  }
  if (result.count !== result.leaves.length) throw new CountMismatchError(result.leaves.length, result.count);
  const tree = buildTree(result.leaves, hexes, digests, kind, reducer, payloadLength);
  const levels = Array.isArray(result.levels) ? result.levels : [];
  for (let level = 0; level < Math.max(tree.levels.length, levels.length); level++) {
    const expected = tree.levels[level] ?? [];
    const actual = levels[level] ?? [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const published = actual[i];
      if (typeof published !== "string" || expected[i] !== published.toLowerCase())
        throw new NodeMismatchError(level, i, expected[i], published === undefined ? undefined : String(published));
    }
  }
  for (let i = 0; i < Math.max(tree.aggregate.length, result.aggregate.length); i++) {
    if (tree.aggregate[i] !== result.aggregate[i]) throw new AggregateMismatchError(i, tree.aggregate[i], result.aggregate[i]);
  }
  if (typeof result.treeRoot !== "string" || tree.treeRoot !== result.treeRoot.toLowerCase())
    throw new RootMismatchError(tree.treeRoot, String(result.treeRoot));
}
