// The share-set commitment of a shared-mode job: the Merkle tree over the reports an aggregator accepted, whose root it
// commits with its noised share (SharedJobs.commitShare) and whose paths fraud proofs carry. Hashes as SharedJobs does.
import { bigintToBytes32, namedError, to0xHex } from "@mosaic/protocol";
import { keccak_256 } from "@noble/hashes/sha3.js";

/**
 * One accepted report in a share set: its nullifier, its Semaphore message (reportMessage) and its proof's 8 points.
 * leafHash = keccak256(uint8(0) ‖ nullifier ‖ message ‖ points[0..8]), every number a 32-byte big-endian word.
 */
export interface ShareLeaf {
  nullifier: bigint;
  message: bigint;
  points: readonly bigint[];
}

/** A share set's leaves are not in strictly ascending nullifier order (a duplicate nullifier included). */
export class ShareSetOrderError extends namedError("ShareSetOrderError") {
  /** The position of the first leaf whose nullifier does not exceed the one before it. */
  readonly index: number;
  constructor(index: number, previous: bigint, nullifier: bigint) {
    super(
      `share set: leaves[${index}].nullifier ${nullifier} does not exceed leaves[${index - 1}].nullifier ${previous}; ` +
        "sort the leaves by nullifier and keep one report per nullifier",
    );
    this.index = index;
  }
}

const LEAF_TAG = 0;
const NODE_TAG = 1;
const WORD_MAX = (1n << 256n) - 1n;

function word(value: unknown, field: string): Uint8Array {
  if (typeof value !== "bigint" || value < 0n || value > WORD_MAX)
    throw new RangeError(`${field}: expected an unsigned 256-bit bigint, got ${typeof value === "bigint" ? value : typeof value}`);
  return bigintToBytes32(value);
}

function leafBytes(leaf: ShareLeaf, at: string): Uint8Array {
  if (!Array.isArray(leaf.points) || leaf.points.length !== 8)
    throw new RangeError(`${at}.points: expected 8 items, got ${Array.isArray(leaf.points) ? leaf.points.length : typeof leaf.points}`);
  const buf = new Uint8Array(1 + 32 * 10);
  buf[0] = LEAF_TAG;
  buf.set(word(leaf.nullifier, `${at}.nullifier`), 1);
  buf.set(word(leaf.message, `${at}.message`), 33);
  for (const [k, p] of leaf.points.entries()) buf.set(word(p, `${at}.points[${k}]`), 65 + 32 * k);
  return buf;
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = NODE_TAG;
  buf.set(left, 1);
  buf.set(right, 33);
  return keccak_256(buf);
}

/** keccak256(abi.encodePacked(uint8(0), nullifier, message, uint256[8] points)), 0x hex. RangeError on a malformed leaf. */
export function shareLeafHash(leaf: ShareLeaf): string {
  return to0xHex(keccak_256(leafBytes(leaf, "leaf")));
}

/** Every level of the tree, leaves first; checks the leaves are well formed and strictly ascending by nullifier. */
function levels(leaves: readonly ShareLeaf[]): Uint8Array[][] {
  for (let i = 1; i < leaves.length; i++) {
    const previous = (leaves[i - 1] as ShareLeaf).nullifier;
    const nullifier = (leaves[i] as ShareLeaf).nullifier;
    if (typeof previous === "bigint" && typeof nullifier === "bigint" && nullifier <= previous)
      throw new ShareSetOrderError(i, previous, nullifier);
  }
  const out: Uint8Array[][] = [leaves.map((leaf, i) => keccak_256(leafBytes(leaf, `leaves[${i}]`)))];
  for (let level = out[0] as Uint8Array[]; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i] as Uint8Array, level[i + 1] as Uint8Array));
    // An odd last node is carried up unchanged.
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
    out.push(next);
    level = next;
  }
  return out;
}

/**
 * The root SharedJobs.commitShare takes: level k+1 hashes pairs (2i, 2i+1) of level k with
 * keccak256(uint8(1) ‖ left ‖ right), an odd last node is carried up unchanged, one leaf is its own root and the
 * empty set's root is bytes32(0). ShareSetOrderError unless the leaves are strictly ascending by nullifier.
 */
export function shareSetRoot(leaves: readonly ShareLeaf[]): string {
  if (leaves.length === 0) return `0x${"00".repeat(32)}`;
  const all = levels(leaves);
  return to0xHex((all[all.length - 1] as Uint8Array[])[0] as Uint8Array);
}

/**
 * The path of leaf `index` as SharedJobs' fraud proofs take it: the sibling hashes from the leaf up, one per level
 * where its ancestor is paired, none where it is the odd last node carried up. Same checks as shareSetRoot, and a
 * RangeError for an index outside the set.
 */
export function shareSetPath(leaves: readonly ShareLeaf[], index: number): string[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError(`index: expected an integer in [0, ${leaves.length}), got ${index}`);
  const all = levels(leaves);
  const path: string[] = [];
  let position = index;
  for (const level of all.slice(0, -1)) {
    const carried = position === level.length - 1 && level.length % 2 === 1;
    if (!carried) path.push(to0xHex(level[position ^ 1] as Uint8Array));
    position >>= 1;
  }
  return path;
}
