// The cache file's format: a group sync's state as bytes, and its strict decoder (reading and writing the file is
// the cache store's job).
import { equalBytes, namedError, SNARK_SCALAR_FIELD } from "@mosaic/protocol";
import { MAX_SIZE, MAX_UINT256 } from "./limits.js";
import type { DurationChange, RootOp, SyncState } from "./root-history.js";

// Cache file: "MOSGSYNC", u32 version, u32 header length, the JSON header, the leaves (32 bytes big-endian each),
// the root events (kind u8, block u64, log index u32, then per kind: add start u32 + count u32; update index u32 +
// old + new; remove index u32 + old; each ending with its root), and a SHA-256 of everything before it.
const CACHE_MAGIC = new TextEncoder().encode("MOSGSYNC");
const CACHE_VERSION = 1;
const OP_KINDS = { add: 1, update: 2, remove: 3 } as const;
const U64 = (1n << 64n) - 1n;

/** A cache file that is not exactly this sync's, or not exactly right; the sync logs its message and ignores the file. */
export class CacheFileRejectedError extends namedError("CacheFileRejectedError") {}

/** The cache file's name in the cache directory: one per chain, Semaphore contract and group. */
export function cacheFileName(chainId: bigint, semaphore: string, groupId: bigint): string {
  return `semaphore-group-${chainId}-${semaphore.toLowerCase()}-${groupId}.bin`;
}

/** WebCrypto's SHA-256 (native in Node and in browsers), over the cache file's few megabytes. */
async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  // A cache file is read into, or built in, an ordinary ArrayBuffer, never a shared one.
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

export interface CacheIdentity {
  chainId: bigint;
  semaphore: string;
  groupId: bigint;
  fromBlock: number;
}

interface CacheHeader {
  chainId: string;
  semaphore: string;
  groupId: string;
  fromBlock: number;
  block: number;
  blockHash: string;
  blockTimestamp: number;
  duration: string | null;
  size: number;
  ops: number;
  durations: [number, number, string, string][];
  timestamps: [number, number][];
}

function opBytes(op: RootOp): number {
  return 13 + (op.kind === "add" ? 8 : op.kind === "update" ? 68 : 36) + 32;
}

export async function encodeCache(state: SyncState, timestamps: Map<number, number>, id: CacheIdentity): Promise<Uint8Array> {
  const header: CacheHeader = {
    chainId: id.chainId.toString(),
    semaphore: id.semaphore,
    groupId: id.groupId.toString(),
    fromBlock: id.fromBlock,
    block: state.block,
    blockHash: state.blockHash!,
    blockTimestamp: state.blockTimestamp!,
    duration: state.duration?.toString() ?? null,
    size: state.tree.size,
    ops: state.ops.length,
    durations: state.durations.map((d) => [d.block, d.logIndex, d.old.toString(), d.next.toString()]),
    // Only the blocks of roots still in the history: the in-memory map never holds others.
    timestamps: [...timestamps],
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let length = 16 + json.length + 32 * state.tree.size + 32;
  for (const op of state.ops) length += opBytes(op);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const word = (value: bigint) => {
    for (let i = 0; i < 4; i++) view.setBigUint64(at + 8 * i, (value >> BigInt(192 - 64 * i)) & U64);
    at += 32;
  };
  bytes.set(CACHE_MAGIC, 0);
  view.setUint32(8, CACHE_VERSION);
  view.setUint32(12, json.length);
  bytes.set(json, 16);
  at = 16 + json.length;
  for (const leaf of state.tree.leaves) word(leaf);
  for (const op of state.ops) {
    view.setUint8(at, OP_KINDS[op.kind]);
    view.setBigUint64(at + 1, BigInt(op.block));
    view.setUint32(at + 9, op.logIndex);
    at += 13;
    if (op.kind === "add") {
      view.setUint32(at, op.start);
      view.setUint32(at + 4, op.count);
      at += 8;
    } else {
      view.setUint32(at, op.index);
      at += 4;
      word(op.old);
      if (op.kind === "update") word(op.next);
    }
    word(op.root);
  }
  bytes.set(await sha256(bytes.subarray(0, at)), at);
  return bytes;
}

export interface CacheContents {
  block: number;
  blockHash: string;
  blockTimestamp: number;
  duration: bigint;
  leaves: bigint[];
  memberIndex: Map<bigint, number>;
  ops: RootOp[];
  durations: DurationChange[];
  timestamps: Map<number, number>;
}

/**
 * Parses a cache file and checks everything that needs no hashing; throws (with a reason to log) on anything that is
 * not exactly right. The caller rebuilds the tree and checks its root.
 */
export async function decodeCache(bytes: Uint8Array, id: CacheIdentity): Promise<CacheContents> {
  const fail = (reason: string): never => {
    throw new CacheFileRejectedError(reason);
  };
  if (bytes.length < 16 + 32) fail(`${bytes.length} bytes is too short`);
  if (!equalBytes(bytes.subarray(0, CACHE_MAGIC.length), CACHE_MAGIC)) fail("not a group-sync cache file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8);
  if (version !== CACHE_VERSION) fail(`format version ${version}, expected ${CACHE_VERSION}`);
  const digest = await sha256(bytes.subarray(0, bytes.length - 32));
  const stored = bytes.subarray(bytes.length - 32);
  if (!equalBytes(digest, stored)) fail("checksum mismatch (truncated or corrupted)");
  const jsonLength = view.getUint32(12);
  if (16 + jsonLength > bytes.length - 32) fail("header runs past the end");
  let header: CacheHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + jsonLength)));
  } catch (err) {
    return fail(`header is not JSON: ${(err as Error).message}`);
  }
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const isDecimal = (s: unknown): s is string => typeof s === "string" && /^(0|[1-9][0-9]{0,77})$/.test(s) && BigInt(s) <= MAX_UINT256;
  if (typeof header !== "object" || header === null) fail("header is not an object");
  if (header.chainId !== id.chainId.toString()) fail(`for chain ${header.chainId}, not ${id.chainId}`);
  if (header.semaphore !== id.semaphore) fail(`for contract ${header.semaphore}, not ${id.semaphore}`);
  if (header.groupId !== id.groupId.toString()) fail(`for group ${header.groupId}, not ${id.groupId}`);
  if (header.fromBlock !== id.fromBlock) fail(`scanned from block ${header.fromBlock}, not ${id.fromBlock}`);
  if (!isCount(header.block) || header.block < id.fromBlock) fail(`block ${header.block} is not a block from ${id.fromBlock} on`);
  if (typeof header.blockHash !== "string" || !/^0x[0-9a-f]{64}$/.test(header.blockHash)) fail("block hash is malformed");
  if (!isCount(header.blockTimestamp)) fail("block timestamp is malformed");
  if (!isDecimal(header.duration)) fail("duration is malformed");
  if (!isCount(header.size) || header.size > MAX_SIZE || !isCount(header.ops)) fail("size or event count is malformed");
  if (!Array.isArray(header.durations) || !Array.isArray(header.timestamps)) fail("durations or timestamps are malformed");

  let at = 16 + jsonLength;
  const end = bytes.length - 32;
  const need = (n: number) => {
    if (at + n > end) fail("runs past the end");
  };
  const word = (): bigint => {
    need(32);
    let value = 0n;
    for (let i = 0; i < 4; i++) value = (value << 64n) | view.getBigUint64(at + 8 * i);
    at += 32;
    return value;
  };
  const leaves: bigint[] = new Array(header.size);
  const memberIndex = new Map<bigint, number>();
  for (let i = 0; i < header.size; i++) {
    const leaf = word();
    if (leaf >= SNARK_SCALAR_FIELD) fail(`leaf ${i} is not a field element`);
    if (leaf !== 0n) {
      if (memberIndex.has(leaf)) fail(`leaf ${leaf} appears twice`);
      memberIndex.set(leaf, i);
    }
    leaves[i] = leaf;
  }
  const ops: RootOp[] = [];
  let last: [number, number] = [-1, -1];
  for (let i = 0; i < header.ops; i++) {
    need(13);
    const kind = view.getUint8(at);
    const block = Number(view.getBigUint64(at + 1));
    const logIndex = view.getUint32(at + 9);
    at += 13;
    if (!Number.isSafeInteger(block) || block < id.fromBlock || block > header.block)
      fail(`event ${i} is at block ${block}, outside the scan`);
    if (block < last[0] || (block === last[0] && logIndex <= last[1])) fail(`event ${i} is out of order`);
    last = [block, logIndex];
    if (kind === OP_KINDS.add) {
      need(8);
      const start = view.getUint32(at);
      const count = view.getUint32(at + 4);
      at += 8;
      ops.push({ kind: "add", block, logIndex, start, count, root: word() });
    } else if (kind === OP_KINDS.update || kind === OP_KINDS.remove) {
      need(4);
      const index = view.getUint32(at);
      at += 4;
      const old = word();
      const next = kind === OP_KINDS.update ? word() : 0n;
      ops.push({ kind: kind === OP_KINDS.update ? "update" : "remove", block, logIndex, index, old, next, root: word() });
    } else fail(`event ${i} has unknown kind ${kind}`);
  }
  if (at !== end) fail(`${end - at} stray bytes before the checksum`);

  // Replay the history backwards on the bare leaves (no hashing): every event must undo cleanly down to nothing.
  const undone = leaves.slice();
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.kind === "add") {
      if (op.count === 0 || op.start + op.count !== undone.length) fail(`event ${i} does not end at the group's size`);
      undone.length = op.start;
    } else {
      if (op.index >= undone.length || undone[op.index] !== op.next || op.old === 0n || op.old >= SNARK_SCALAR_FIELD) {
        fail(`event ${i} does not match the leaves`);
      }
      undone[op.index] = op.old;
    }
  }
  if (undone.length !== 0) fail("the history does not start from an empty group");

  const durations: DurationChange[] = [];
  for (const entry of header.durations) {
    if (!Array.isArray(entry) || !isCount(entry[0]) || !isCount(entry[1]) || !isDecimal(entry[2]) || !isDecimal(entry[3]))
      fail("a duration change is malformed");
    const [block, logIndex, old, next] = entry as [number, number, string, string];
    const previous = durations.at(-1);
    if (previous !== undefined && (previous.next !== BigInt(old) || block < previous.block)) fail("duration changes do not chain");
    durations.push({ block, logIndex, old: BigInt(old), next: BigInt(next) });
  }
  const duration = BigInt(header.duration as string);
  if (durations.length > 0 && durations.at(-1)!.next !== duration) fail("duration does not match the last change");
  const timestamps = new Map<number, number>();
  for (const entry of header.timestamps) {
    if (!Array.isArray(entry) || !isCount(entry[0]) || !isCount(entry[1]) || entry[0] > header.block)
      fail("a block timestamp is malformed");
    timestamps.set(entry[0], entry[1]);
  }
  return {
    block: header.block,
    blockHash: header.blockHash,
    blockTimestamp: header.blockTimestamp,
    duration,
    leaves,
    memberIndex,
    ops,
    durations,
    timestamps,
  };
}
