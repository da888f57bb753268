// Reducers and the reduce tree: each payload is lifted to an integer state, states are added up a binary tree of
// leaves sorted by nullifier, and every node is committed to with the keccak256 a fraud-proof contract recomputes.
import { type Fraction, namedError, type ReducerSpec } from "@mosaic/protocol";
import { keccak256 } from "./keccak.js";

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

/** What a researcher reads: `values` for every reducer, and per payload entry the requested quantiles for `quantile`. */
export interface FinalResult {
  /** sum, histogram: the aggregate; count: [count]; mean: the per-entry means; quantile: `quantiles` flattened. */
  values: number[];
  /** quantile only: `quantiles[entry][j]` estimates `reducer.quantiles[j]` of payload entry `entry`. */
  quantiles?: number[][];
}

/** Two leaves share a nullifier: one person submitted twice. The collector must accept each nullifier once. */
export class DuplicateNullifierError extends namedError("DuplicateNullifierError") {
  readonly nullifier: string;
  constructor(nullifier: string) {
    super(`reduce: two leaves share nullifier ${nullifier}; keep the first accepted submission and drop the other`);
    this.nullifier = nullifier;
  }
}

/** A published leaf list is not in strictly increasing nullifier order (a fault provable on-chain from two leaves). */
export class LeafOrderError extends namedError("LeafOrderError") {
  readonly index: number;
  constructor(index: number, previous: string, nullifier: string) {
    super(`reduce result: leaves[${index}].nullifier ${nullifier} does not exceed leaves[${index - 1}].nullifier ${previous}`);
    this.index = index;
  }
}

/** A published leaf is not a well-formed leaf: a bad nullifier, or a payload of the wrong length or not integers. */
export class MalformedLeafError extends namedError("MalformedLeafError") {
  readonly index: number;
  constructor(index: number, reason: string) {
    super(`reduce result: leaves[${index}] is malformed: ${reason}`);
    this.index = index;
  }
}

/** A published node hash differs from the one recomputed from the leaves (the lowest such node is the one to prove). */
export class NodeMismatchError extends namedError("NodeMismatchError") {
  readonly level: number;
  readonly index: number;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(level: number, index: number, expected: string | undefined, actual: string | undefined) {
    super(`reduce result: levels[${level}][${index}] is ${actual ?? "missing"}, recomputed ${expected ?? "nothing"}`);
    this.level = level;
    this.index = index;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A published aggregate differs from the sum of the lifted leaves. */
export class AggregateMismatchError extends namedError("AggregateMismatchError") {
  readonly index: number;
  constructor(index: number, expected: number | undefined, actual: number | undefined) {
    super(`reduce result: aggregate[${index}] is ${actual ?? "missing"}, recomputed ${expected ?? "nothing"}`);
    this.index = index;
  }
}

/** A published count differs from the number of leaves. */
export class CountMismatchError extends namedError("CountMismatchError") {
  constructor(expected: number, actual: number) {
    super(`reduce result: count is ${actual}, but there are ${expected} leaves`);
  }
}

/** A published tree root differs from the root recomputed from the leaves. */
export class RootMismatchError extends namedError("RootMismatchError") {
  constructor(expected: string, actual: string) {
    super(`reduce result: treeRoot is ${actual}, recomputed ${expected}`);
  }
}

/** Lets γa round up to the integer it means when floating point lands just below it (one part in 10^12). */
const ROUNDING_SLACK = 1 + 1e-12;

/** The most edges `ddsketchEdges` returns: a sketch's state is posted on-chain, so a bigger one is a mistake. */
export const MAX_SKETCH_EDGES = 10_000;

const ZERO_ROOT = `0x${"00".repeat(32)}`;
const TWO_256 = 1n << 256n;
const CANONICAL_DECIMAL = /^(0|[1-9][0-9]*)$/;
const HASH_HEX = /^0x[0-9a-fA-F]{64}$/;

// ---------------------------------------------------------------------------------------------------------------
// Submission CIDs.

const BASE32_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (const [i, c] of [..."abcdefghijklmnopqrstuvwxyz234567"].entries()) table[c.charCodeAt(0)] = i;
  return table;
})();
/** The bytes of a CIDv1 dag-cbor sha2-256 before the digest: version 1, codec 0x71, multihash 0x12, length 32. */
const CID_PREFIX = [0x01, 0x71, 0x12, 0x20];
/** "b" and 36 bytes in unpadded base32: 58 digits, the last carrying 2 zero bits. */
const CID_LENGTH = 59;

/** The submission CID (CIDv1, dag-cbor, sha2-256, base32) of a block with this sha-256 digest: submissionDigest's inverse. */
export function submissionCid(digest: Uint8Array): string {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new TypeError("digest: expected 32 bytes");
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "b";
  let acc = 0;
  let bits = 0;
  for (const byte of [...CID_PREFIX, ...digest]) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * Writes the sha-256 digest of a submission CID (CIDv1, dag-cbor, sha2-256, lower-case base32 as Helia prints it)
 * into `out` at `at`, and returns `out`. Throws TypeError for any other string, including non-canonical base32.
 * A hand-rolled decoder: parsing 100,000 CIDs with multiformats costs more than hashing their leaves.
 */
export function submissionDigest(cid: string, out: Uint8Array = new Uint8Array(32), at = 0): Uint8Array {
  const fail = (why: string): never => {
    throw new TypeError(`submission CID ${JSON.stringify(cid)}: ${why}; expected a CIDv1 dag-cbor sha2-256 in base32 ("bafyrei…")`);
  };
  if (typeof cid !== "string" || cid.length !== CID_LENGTH || cid[0] !== "b") fail("not a base32 CIDv1 of a sha-256 block");
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 1; i < CID_LENGTH; i++) {
    const code = cid.charCodeAt(i);
    const v = code < 128 ? (BASE32_VALUE[code] as number) : -1;
    if (v < 0) fail(`character ${i} is not base32`);
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >>> bits) & 0xff;
      if (n < 4) {
        if (byte !== CID_PREFIX[n]) fail("not a dag-cbor sha2-256 CIDv1");
      } else out[at + n - 4] = byte;
      n++;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) fail("non-zero padding bits");
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reducers: lift and combine.

function checkPayloadLength(payloadLength: number): void {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0)
    throw new RangeError(`payloadLength: expected a non-negative integer, got ${payloadLength}`);
}

function checkFraction(q: Fraction, field: string): void {
  const ok =
    typeof q === "object" &&
    q !== null &&
    Number.isSafeInteger(q.num) &&
    Number.isSafeInteger(q.den) &&
    q.den > 0 &&
    q.num >= 0 &&
    q.num <= q.den;
  if (!ok) throw new RangeError(`${field}: expected a fraction {num, den} in [0, 1], got ${JSON.stringify(q)}`);
}

/** Checks a reducer spec; bad fields throw TypeError/RangeError naming the field. */
function checkReducer(reducer: ReducerSpec): void {
  switch (reducer?.kind) {
    case "sum":
    case "count":
    case "histogram":
    case "mean":
      return;
    case "quantile": {
      const { edges, quantiles } = reducer;
      if (!Array.isArray(edges) || edges.length === 0)
        throw new RangeError(`reducer.edges: expected at least one edge, got ${JSON.stringify(edges)}`);
      for (let i = 0; i < edges.length; i++) {
        const edge = edges[i] as number;
        if (!Number.isSafeInteger(edge)) throw new TypeError(`reducer.edges[${i}]: expected a safe integer, got ${edge}`);
        if (i > 0 && edge <= (edges[i - 1] as number))
          throw new RangeError(`reducer.edges[${i}]: expected strictly increasing edges, got ${edges[i - 1]} then ${edge}`);
      }
      if (!Array.isArray(quantiles) || quantiles.length === 0)
        throw new RangeError(`reducer.quantiles: expected at least one quantile, got ${JSON.stringify(quantiles)}`);
      for (const [i, q] of quantiles.entries()) checkFraction(q, `reducer.quantiles[${i}]`);
      return;
    }
    default:
      throw new TypeError(
        `reducer.kind: expected sum, count, histogram, mean or quantile, got ${JSON.stringify((reducer as { kind?: unknown })?.kind)}`,
      );
  }
}

function checkPayload(payload: readonly number[], field: string): void {
  if (!Array.isArray(payload)) throw new TypeError(`${field}: expected an array of integers, got ${typeof payload}`);
  for (let i = 0; i < payload.length; i++) {
    if (!Number.isSafeInteger(payload[i])) throw new TypeError(`${field}[${i}]: expected a safe integer, got ${payload[i]}`);
  }
}

/** The length of a reducer's state vector for payloads of `payloadLength` entries. */
export function stateLength(reducer: ReducerSpec, payloadLength: number): number {
  checkReducer(reducer);
  checkPayloadLength(payloadLength);
  return stateLengthUnchecked(reducer, payloadLength);
}

function stateLengthUnchecked(reducer: ReducerSpec, payloadLength: number): number {
  switch (reducer.kind) {
    case "count":
      return 1;
    case "mean":
      return payloadLength + 1;
    case "quantile":
      return payloadLength * (reducer.edges.length + 1);
    default:
      return payloadLength;
  }
}

/** The sketch bucket of `x`: the number of edges at or below it (bucket i holds [edges[i-1], edges[i])). */
function bucketOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A payload's state: sum and histogram keep it, count gives [1], mean appends a 1, and quantile gives per entry a
 * one-hot vector over the `edges.length + 1` sketch buckets, concatenated entry by entry.
 */
export function liftPayload(reducer: ReducerSpec, payload: readonly number[]): number[] {
  checkReducer(reducer);
  checkPayload(payload, "payload");
  return liftUnchecked(reducer, payload);
}

function liftUnchecked(reducer: ReducerSpec, payload: readonly number[]): number[] {
  switch (reducer.kind) {
    case "count":
      return [1];
    case "mean": {
      const state = payload.slice();
      state.push(1);
      return state;
    }
    case "quantile": {
      const buckets = reducer.edges.length + 1;
      const state = new Array<number>(payload.length * buckets).fill(0);
      for (let e = 0; e < payload.length; e++) state[e * buckets + bucketOf(reducer.edges, payload[e] as number)] = 1;
      return state;
    }
    default:
      return payload.slice();
  }
}

/**
 * Entry-wise sum, the combine of every reducer: associative and commutative, so any tree shape gives the same
 * aggregate. Throws RangeError when the lengths differ or a sum leaves the safe integers (it would not match the
 * contract's int256 arithmetic).
 */
export function combine(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`combine: expected states of equal length, got ${a.length} and ${b.length}`);
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) {
    const sum = (a[i] as number) + (b[i] as number);
    if (!Number.isSafeInteger(sum)) throw new RangeError(`combine: entry ${i}: ${a[i]} + ${b[i]} is not a safe integer`);
    out[i] = sum;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing: the ABI encoding written by hand into one reused buffer, then keccak256 (below).

/**
 * Domain tags, the first word of every leaf and node preimage (as RFC 6962 prefixes 0x00 and 0x01): without them a
 * leaf (uint256, bytes32, int256[]) and a node (bytes32, bytes32, int256[]) encode alike, and a challenger could
 * pass one where the other is expected.
 */
export const LEAF_TAG = 0;
export const NODE_TAG = 1;

/** A scratch buffer for ABI-encoding tree nodes of up to `words` 32-byte words. */
class Encoder {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(words: number) {
    this.bytes = new Uint8Array(words * 32);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Writes a safe integer as an int256 word: big-endian two's complement. */
  int256(offset: number, x: number): void {
    const view = this.view;
    let hi: number;
    let lo: number;
    let fill: number;
    if (x >= 0) {
      hi = Math.floor(x / 0x1_0000_0000);
      lo = x >>> 0;
      fill = 0;
    } else {
      // -x - 1 is the bitwise complement of x in two's complement, and is a non-negative safe integer.
      const y = -x - 1;
      hi = ~Math.floor(y / 0x1_0000_0000) >>> 0;
      lo = ~(y >>> 0) >>> 0;
      fill = 0xffff_ffff;
    }
    view.setUint32(offset, fill);
    view.setUint32(offset + 4, fill);
    view.setUint32(offset + 8, fill);
    view.setUint32(offset + 12, fill);
    view.setUint32(offset + 16, fill);
    view.setUint32(offset + 20, fill);
    view.setUint32(offset + 24, hi);
    view.setUint32(offset + 28, lo);
  }

  /** Writes a non-negative safe integer as a uint256 word (offsets and lengths). */
  uint(offset: number, x: number): void {
    this.int256(offset, x);
  }

  /** Writes 64 hex digits (no 0x) as a 32-byte word. */
  hexWord(offset: number, hex: string): void {
    for (let i = 0; i < 8; i++) this.view.setUint32(offset + 4 * i, Number.parseInt(hex.slice(8 * i, 8 * i + 8), 16));
  }

  /** Writes an int256[] tail (length word, then entries) at `offset`; returns the end offset. */
  intArray(offset: number, values: readonly number[]): number {
    this.uint(offset, values.length);
    let at = offset + 32;
    for (let i = 0; i < values.length; i++, at += 32) this.int256(at, values[i] as number);
    return at;
  }

  /**
   * keccak256(abi.encode(uint8 LEAF_TAG, uint256 nullifier, bytes32 digest, int256[] payload)) into `out` at `at`; `nullifierHex`
   * is 64 hex digits, the digest the 32 bytes of `digests` from `from`.
   */
  leaf(nullifierHex: string, digests: Uint8Array, from: number, payload: readonly number[], out: Uint8Array, at: number): void {
    this.uint(0, LEAF_TAG);
    this.hexWord(32, nullifierHex);
    this.bytes.set(digests.subarray(from, from + 32), 64);
    this.uint(96, 128);
    const end = this.intArray(128, payload);
    keccak256(this.bytes, this.view, end, out, at);
  }

  /**
   * keccak256(abi.encode(uint8 NODE_TAG, bytes32 left, bytes32 right, int256[] value)) into `out` at `at`, where `children` holds
   * left then right as 64 bytes from `from`.
   */
  node(children: Uint8Array, from: number, value: readonly number[], out: Uint8Array, at: number): void {
    const bytes = this.bytes;
    this.uint(0, NODE_TAG);
    for (let i = 0; i < 64; i++) bytes[32 + i] = children[from + i] as number;
    this.uint(96, 128);
    const end = this.intArray(128, value);
    keccak256(bytes, this.view, end, out, at);
  }
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const HEX_DIGIT = new TextEncoder().encode("0123456789abcdef");
const ASCII = new TextDecoder();

/**
 * The 0x-hex strings of `n` 32-byte hashes back to back in `buffer`. Decoding one ASCII string for the whole level
 * and slicing it allocates far less than concatenating digits hash by hash (a third of the time went to GC).
 */
function levelHex(buffer: Uint8Array, n: number): string[] {
  const ascii = new Uint8Array(66 * n);
  for (let i = 0, o = 0; i < 32 * n; o += 2) {
    ascii[o] = 0x30; // "0"
    ascii[o + 1] = 0x78; // "x"
    for (const end = i + 32; i < end; i++, o += 2) {
      const byte = buffer[i] as number;
      ascii[o + 2] = HEX_DIGIT[byte >>> 4] as number;
      ascii[o + 3] = HEX_DIGIT[byte & 15] as number;
    }
  }
  const text = ASCII.decode(ascii);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = text.slice(66 * i, 66 * i + 66);
  return out;
}

/** 0x-hex of the 32 bytes of `bytes` from `at`. */
function toHex(bytes: Uint8Array, at = 0): string {
  let out = "0x";
  for (let i = at; i < at + 32; i++) out += HEX_BYTE[bytes[i] as number];
  return out;
}

function hashBytes(hash: string, field: string): Uint8Array {
  if (typeof hash !== "string" || !HASH_HEX.test(hash)) throw new TypeError(`${field}: expected 0x and 64 hex digits, got ${hash}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hash.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

/** The nullifier as 64 hex digits, or a reason it is not a canonical decimal below 2^256. */
function nullifierHex(nullifier: unknown): string | { reason: string } {
  if (typeof nullifier !== "string" || !CANONICAL_DECIMAL.test(nullifier))
    return { reason: `expected a decimal string without sign or leading zeros, got ${JSON.stringify(nullifier)}` };
  const n = BigInt(nullifier);
  if (n >= TWO_256) return { reason: `expected a value below 2^256, got ${nullifier}` };
  return n.toString(16).padStart(64, "0");
}

/**
 * A leaf's hash: keccak256(abi.encode(uint8 LEAF_TAG, uint256 nullifier, bytes32 digest, int256[] payload)) with the
 * digest of its submission CID, byte for byte what ReduceTree.leafHash gives. It
 * commits to the submission (which a fraud proof can open) and to the payload, not its lifted state: the contract
 * lifts it when checking a leaf.
 */
export function leafHash(leaf: Leaf): string {
  const hex = nullifierHex(leaf.nullifier);
  if (typeof hex !== "string") throw new TypeError(`leaf.nullifier: ${hex.reason}`);
  checkPayload(leaf.value, "leaf.value");
  const digest = submissionDigest(leaf.submission);
  const out = new Uint8Array(32);
  new Encoder(5 + leaf.value.length).leaf(hex, digest, 0, leaf.value, out, 0);
  return toHex(out);
}

/** An inner node's hash: keccak256(abi.encode(uint8 NODE_TAG, bytes32 left, bytes32 right, int256[] value)), as ReduceTree.innerHash. */
export function nodeHash(left: string, right: string, value: readonly number[]): string {
  const children = new Uint8Array(64);
  children.set(hashBytes(left, "left"), 0);
  children.set(hashBytes(right, "right"), 32);
  checkPayload(value, "value");
  const out = new Uint8Array(32);
  new Encoder(5 + value.length).node(children, 0, value, out, 0);
  return toHex(out);
}

// ---------------------------------------------------------------------------------------------------------------
// The reduce tree.

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
  reducer: ReducerSpec,
  payloadLength: number,
): Tree {
  const width = stateLengthUnchecked(reducer, payloadLength);
  if (leaves.length === 0) return { aggregate: new Array<number>(width).fill(0), treeRoot: ZERO_ROOT, levels: [] };
  const encoder = new Encoder(5 + Math.max(width, payloadLength));
  // A level's hashes sit back to back in one buffer, so a node's two children are 64 contiguous bytes.
  let hashes = new Uint8Array(32 * leaves.length);
  for (let i = 0; i < leaves.length; i++) encoder.leaf(hexes[i] as string, digests, 32 * i, (leaves[i] as Leaf).value, hashes, 32 * i);
  let values = leaves.map((leaf) => liftUnchecked(reducer, leaf.value));
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
  return { aggregate: values[0] as number[], treeRoot: toHex(hashes), levels };
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
  checkReducer(reducer);
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
  checkReducer(reducer);
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
  const tree = buildTree(result.leaves, hexes, digests, reducer, payloadLength);
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

// ---------------------------------------------------------------------------------------------------------------
// Reading the result.

/** Quantile `q` of one payload entry from its bucket counts: the estimator finalizeResult documents. */
function estimateQuantile(counts: readonly number[], edges: readonly number[], q: Fraction): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  // Compare cumulative counts with r = num·N/den in integers: below·den < num·N.
  const target = q.num * total;
  let below = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k] as number;
    if (c > 0 && (below + c) * q.den >= target) {
      const lo = k === 0 ? (edges[0] as number) - 1 : (edges[k - 1] as number);
      const hi = k === edges.length ? (edges[k - 1] as number) : (edges[k] as number) - 1;
      return lo + ((hi - lo) * (target / q.den - below)) / c;
    }
    below += c;
  }
  return Number.NaN; // unreachable: the last non-empty bucket reaches N ≥ r
}

/**
 * Turns a verified aggregate into what the researcher reads: sum and histogram give the aggregate, count gives
 * [count], mean the per-entry sums divided by the count in the state's last entry (NaN with no submissions), and
 * quantile, per payload entry, the requested quantiles estimated from the merged sketch (`values` is `quantiles`
 * flattened entry by entry).
 *
 * The quantile estimator interpolates linearly over the integers of one bucket, like Prometheus'
 * histogram_quantile on integer data. With N the entry's total count and r = qN:
 * - bucket k is the first non-empty bucket whose cumulative count reaches r (for q = 0, the first non-empty one);
 * - bucket k = [edges[k-1], edges[k]) holds the integers lo = edges[k-1] .. hi = edges[k] − 1, and the estimate is
 *   lo + (hi − lo)·(r − below)/count[k], with `below` the count in the buckets under k;
 * - the open-ended first and last buckets are clamped to their one finite end: edges[0] − 1 and edges[B−2].
 * So the estimate always lies in the bucket of the true quantile (the sample of rank max(1, ⌈qN⌉)), never more than
 * one bucket width from it. NaN when N is 0.
 */
export function finalizeResult(reducer: ReducerSpec, aggregate: readonly number[], count: number, payloadLength: number): FinalResult {
  checkReducer(reducer);
  checkPayloadLength(payloadLength);
  checkPayload(aggregate, "aggregate");
  const width = stateLengthUnchecked(reducer, payloadLength);
  if (aggregate.length !== width) throw new RangeError(`aggregate: expected ${width} items, got ${aggregate.length}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${count}`);
  switch (reducer.kind) {
    case "count":
      return { values: [count] };
    case "mean": {
      const n = aggregate[payloadLength] as number;
      if (n < 0) throw new RangeError(`aggregate[${payloadLength}]: expected a non-negative count, got ${n}`);
      return { values: aggregate.slice(0, payloadLength).map((sum) => (n === 0 ? Number.NaN : sum / n)) };
    }
    case "quantile": {
      const buckets = reducer.edges.length + 1;
      aggregate.forEach((c, i) => {
        if (c < 0) throw new RangeError(`aggregate[${i}]: expected a non-negative bucket count, got ${c}`);
      });
      const quantiles = Array.from({ length: payloadLength }, (_, e) => {
        const counts = aggregate.slice(e * buckets, (e + 1) * buckets);
        return reducer.quantiles.map((q) => estimateQuantile(counts, reducer.edges, q));
      });
      return { values: quantiles.flat(), quantiles };
    }
    default:
      return { values: aggregate.slice() };
  }
}

/**
 * Integer sketch edges for a `quantile` reducer covering the integers of [min, max] with DDSketch's relative
 * accuracy α: with γ = (1+α)/(1−α), every finite bucket's integers a..b−1 span a ratio (b−1)/a ≤ γ (mirrored for
 * negatives), so each is within α of the bucket's representative 2a(b−1)/(a+b−1), and finalizeResult's
 * interpolated estimate is within γ−1 = 2α/(1−α) of the true quantile. Edges grow as b = ⌊γa⌋ + 1, which is
 * linear (width 1, exact) near zero where γa < a + 1 and geometric beyond; 0 gets a bucket of its own. The result is
 * strictly increasing (no duplicates), edges[0] ≤ min and the last edge exceeds max, so values in [min, max] never
 * fall in the open-ended buckets. Throws RangeError beyond MAX_SKETCH_EDGES edges: raise α or narrow the range.
 * Mind the state size too: payloadLength × (edges.length + 1) entries go on-chain, and the job-spec validator caps it.
 *
 * @example ddsketchEdges(-5, 5, 0.2) // [-6, -3, -1, 0, 1, 2, 4, 7]: γ = 1.5, buckets {-6..-4} {-3,-2} {-1} {0} {1} {2,3} {4..6}
 */
export function ddsketchEdges(min: number, max: number, relativeAccuracy: number): number[] {
  if (!Number.isSafeInteger(min)) throw new RangeError(`min: expected a safe integer, got ${min}`);
  if (!Number.isSafeInteger(max) || max < min) throw new RangeError(`max: expected a safe integer ≥ min (${min}), got ${max}`);
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1))
    throw new RangeError(`relativeAccuracy: expected a number in (0, 1), got ${relativeAccuracy}`);
  const gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
  // (1.2/0.8 is 1.4999999999999998 in floating point: without slack ⌊1.5·2⌋ would come out 2.)
  let total = 0;
  // Magnitudes from `from` (≥ 1) until the first one above `to`.
  const climb = (from: number, to: number): number[] => {
    const out = [from];
    for (let m = from; m <= to; ) {
      m = Math.floor(gamma * m * ROUNDING_SLACK) + 1;
      if (!Number.isSafeInteger(m)) throw new RangeError(`ddsketchEdges: an edge beyond ${to} is not a safe integer; narrow the range`);
      out.push(m);
      if (++total + 2 > MAX_SKETCH_EDGES)
        throw new RangeError(
          `ddsketchEdges: more than ${MAX_SKETCH_EDGES} edges for [${min}, ${max}] at relativeAccuracy ${relativeAccuracy}; raise it or narrow the range`,
        );
    }
    return out;
  };
  // A negative bucket mirrors a positive one: integers -(b-1)..-a are the bucket [1-b, 1-a).
  const mirror = (magnitudes: number[]) => magnitudes.map((m) => 1 - m).reverse();
  if (min > 0) return climb(min, max);
  if (max < 0) return mirror(climb(-max, -min));
  return [...mirror(climb(1, -min)), ...climb(1, max)];
}
