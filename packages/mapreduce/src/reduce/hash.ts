// Reduce-tree hashing: the ABI encoding of leaves and nodes written by hand into one reused buffer, then keccak256,
// byte for byte what contracts/lib/ReduceTree.sol's leafHash and innerHash give.
import { fromHex, to0xHex } from "@mosaic/protocol";
import { keccak256 } from "../keccak.js";
import { submissionDigest } from "./codec.js";
import { checkPayload } from "./kind.js";
import type { Leaf } from "./tree.js";

const TWO_256 = 1n << 256n;
const CANONICAL_DECIMAL = /^(0|[1-9][0-9]*)$/;
const HASH_HEX = /^0x[0-9a-fA-F]{64}$/;

/**
 * Domain tags, the first word of every leaf and node preimage (as RFC 6962 prefixes 0x00 and 0x01): without them a
 * leaf (uint256, bytes32, int256[]) and a node (bytes32, bytes32, int256[]) encode alike, and a challenger could
 * pass one where the other is expected.
 */
export const LEAF_TAG = 0;
export const NODE_TAG = 1;

/** A scratch buffer for ABI-encoding tree nodes of up to `words` 32-byte words. */
export class Encoder {
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

const HEX_DIGIT = new TextEncoder().encode("0123456789abcdef");
const ASCII = new TextDecoder();

/**
 * The 0x-hex strings of `n` 32-byte hashes back to back in `buffer`. Decoding one ASCII string for the whole level
 * and slicing it allocates far less than concatenating digits hash by hash (a third of the time went to GC).
 */
export function levelHex(buffer: Uint8Array, n: number): string[] {
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

function hashBytes(hash: string, field: string): Uint8Array {
  if (typeof hash !== "string" || !HASH_HEX.test(hash)) throw new TypeError(`${field}: expected 0x and 64 hex digits, got ${hash}`);
  return fromHex(hash);
}

/** The nullifier as 64 hex digits, or a reason it is not a canonical decimal below 2^256. */
export function nullifierHex(nullifier: unknown): string | { reason: string } {
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
  return to0xHex(out);
}

/** An inner node's hash: keccak256(abi.encode(uint8 NODE_TAG, bytes32 left, bytes32 right, int256[] value)), as ReduceTree.innerHash. */
export function nodeHash(left: string, right: string, value: readonly number[]): string {
  const children = new Uint8Array(64);
  children.set(hashBytes(left, "left"), 0);
  children.set(hashBytes(right, "right"), 32);
  checkPayload(value, "value");
  const out = new Uint8Array(32);
  new Encoder(5 + value.length).node(children, 0, value, out, 0);
  return to0xHex(out);
}
