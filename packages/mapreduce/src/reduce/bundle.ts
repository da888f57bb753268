// Result bundles as trees of dag-cbor blocks, none over MAX_BUNDLE_BLOCK_BYTES (bitswap peers refuse blocks over
// 1 MiB): a root naming the job, the result and its chunks, and chunks of leaves, node hashes and node values that a
// reader fetches only when asked, so one leaf's inclusion proof costs O(log n) blocks, not the whole bundle.
import { type Block, CID, decodeCbor, encodeBlock, namedError, type ReducerSpec, specCidOf } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2.js";
import { type AncestorArg, levelSizes, treeNodes } from "../fraud.js";
import { submissionCid, submissionDigest } from "./codec.js";
import { leafHash, levelHex, nodeHash, nullifierHex } from "./hash.js";
import { reducerKind } from "./kinds.js";
import type { Leaf, ReduceResult } from "./tree.js";

/** The bundle format this module writes and reads (the root's `v`); version 1 was one block holding everything. */
export const BUNDLE_VERSION = 2;

/**
 * The largest block of a bundle, written or read: a quarter of the 1 MiB that other IPFS implementations' bitswap
 * enforces, so a bundle travels between any two IPFS nodes.
 */
export const MAX_BUNDLE_BLOCK_BYTES = 256 * 1024;

/** Room kept in every chunk for its own fields (kind, level, index) and the array header. */
const CHUNK_OVERHEAD = 256;
/** The most a leaf can take in dag-cbor beside its payload: keys, a 78-digit nullifier, a 36-byte CID link. */
const LEAF_FIXED_BYTES = 160;
/** The most a safe integer takes in dag-cbor. */
const INT_BYTES = 9;
const DAG_CBOR = 0x71;
const SHA2_256 = 0x12;
const HASH_HEX = /^0x[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------------------------
// Errors.

/** The block is not a bundle root of this version (a version 1 single-block bundle, or no bundle at all). */
export class BundleVersionError extends namedError("BundleVersionError") {}
/** A bundle root whose fields are missing, of the wrong type, or disagree with each other (link counts vs count). */
export class MalformedBundleError extends namedError("MalformedBundleError") {}
/** A link that is not a CIDv1 dag-cbor sha2-256, links to the root or to a chunk linked already, or bytes that are not its block. */
export class BundleLinkError extends namedError("BundleLinkError") {}
/** A chunk of the wrong kind or position for its link, or whose length disagrees with the root's count. */
export class BundleChunkError extends namedError("BundleChunkError") {}
/** A block over MAX_BUNDLE_BLOCK_BYTES (refused before it is buffered whole), or a bundle over the reader's budget. */
export class BundleBlockTooLargeError extends namedError("BundleBlockTooLargeError") {}

// ---------------------------------------------------------------------------------------------------------------
// The format.

/** The job a bundle answers: chain id, registry address (lower case) and job id. */
export interface BundleJob {
  chain: number;
  registry: string;
  id: number;
}

/** What a bundle's root says, links aside: everything a reader learns from one block. */
export interface BundleHeader {
  version: number;
  job: BundleJob;
  /** CID of the job's spec block. */
  spec: CID;
  /** The reducer kind's name ("sum", "quantile", …). */
  reducer: string;
  payloadLength: number;
  /** The length of a node's value (the lifted state). */
  stateLength: number;
  aggregate: number[];
  count: number;
  /** 0x-hex, lower case. */
  treeRoot: string;
  /** Items per chunk: leaves, hashes and values. */
  chunk: { leaves: number; hashes: number; values: number };
}

/**
 * The root block's fields (`v` = BUNDLE_VERSION). `leaves[k]` links to the k-th chunk of leaves,
 * `hashes[level][k]` to the k-th chunk of that level's node hashes, `values[level][k]` to the k-th chunk of its
 * nodes' values (`values[0]` is empty: a leaf's value is its lifted payload). Every chunk is
 * `{ k: "leaves" | "hashes" | "values", level, i, items }` and holds exactly the items its position says, the last
 * one the rest: a leaf is `{ nullifier, submission, value }` (decimal string, CID link, payload), a hash chunk's
 * items are the 32-byte hashes back to back in one byte string, a value chunk's items arrays of integers.
 */
interface RootFields extends Omit<BundleHeader, "version"> {
  v: number;
  leaves: CID[];
  /** The nullifier of each leaf chunk's first leaf: a reader looks a nullifier up in one leaf chunk. */
  firsts: string[];
  hashes: CID[][];
  values: CID[][];
}

const ROOT_KEYS = [
  "aggregate",
  "chunk",
  "count",
  "firsts",
  "hashes",
  "job",
  "leaves",
  "payloadLength",
  "reducer",
  "spec",
  "stateLength",
  "treeRoot",
  "v",
  "values",
].join();

type ChunkKind = "leaves" | "hashes" | "values";

/** A bundle as blocks: the root (whose CID goes on-chain) and every chunk it links to. */
export interface EncodedBundle {
  root: Block;
  blocks: Block[];
}

/** What encodeBundle writes. */
export interface BundleInit {
  job: BundleJob;
  spec: CID;
  reducer: ReducerSpec;
  payloadLength: number;
  /** The tree as proposed: its leaves, every level's hashes, its aggregate, count and root. */
  result: ReduceResult;
  /**
   * `values[level][i]` the value of node (level ≥ 1, i); `values[0]` is ignored.
   * @default recomputed from the leaves (treeNodes)
   */
  values?: number[][][];
}

/** Items per chunk so the fullest chunk of each kind stays within MAX_BUNDLE_BLOCK_BYTES. */
export function chunkSizes(payloadLength: number, stateLength: number): { leaves: number; hashes: number; values: number } {
  const room = MAX_BUNDLE_BLOCK_BYTES - CHUNK_OVERHEAD;
  return {
    leaves: Math.max(1, Math.floor(room / (LEAF_FIXED_BYTES + INT_BYTES * payloadLength))),
    hashes: Math.floor(room / 32),
    values: Math.max(1, Math.floor(room / (5 + INT_BYTES * stateLength))),
  };
}

async function sizedBlock(value: unknown, what: string): Promise<Block> {
  const block = await encodeBlock(value);
  if (block.bytes.length > MAX_BUNDLE_BLOCK_BYTES)
    throw new BundleBlockTooLargeError(
      `${what} is ${block.bytes.length} bytes, over the ${MAX_BUNDLE_BLOCK_BYTES}-byte limit for a bundle block`,
    );
  return block;
}

function hexBytes(hashes: readonly string[], field: string): Uint8Array {
  const out = new Uint8Array(32 * hashes.length);
  hashes.forEach((hash, i) => {
    const h = String(hash).toLowerCase();
    if (!HASH_HEX.test(h)) throw new TypeError(`${field}[${i}]: expected 0x and 64 hex digits, got ${hash}`);
    for (let b = 0; b < 32; b++) out[32 * i + b] = Number.parseInt(h.slice(2 + 2 * b, 4 + 2 * b), 16);
  });
  return out;
}

/**
 * A reduce result as a bundle of blocks, each at most MAX_BUNDLE_BLOCK_BYTES; deterministic, so two honest reducers
 * of the same tree publish the same root CID. Publish every block of `blocks`, then `root`, and propose root's CID.
 * Throws BundleBlockTooLargeError when even the root is over the limit (some millions of leaves), TypeError/RangeError
 * for a malformed result.
 */
export async function encodeBundle(init: BundleInit): Promise<EncodedBundle> {
  const { result, reducer, payloadLength } = init;
  const width = reducerKind(reducer).stateLength(reducer, payloadLength);
  const per = chunkSizes(payloadLength, width);
  const count = result.count;
  if (!Number.isSafeInteger(count) || count < 0 || count !== result.leaves.length)
    throw new RangeError(`result.count: expected the number of leaves, ${result.leaves.length}, got ${count}`);
  const sizes = count === 0 ? [] : levelSizes(count);
  if (result.levels.length !== sizes.length || sizes.some((n, l) => result.levels[l]?.length !== n))
    throw new RangeError(`result.levels: expected the shape of a ${count}-leaf tree (${sizes.join(", ")} nodes)`);
  const values =
    init.values ?? (count === 0 ? [] : treeNodes(result, reducer, payloadLength).levels.map((level) => level.map((n) => n.value)));
  const blocks: Block[] = [];
  const add = async (k: ChunkKind, level: number, i: number, items: unknown): Promise<CID> => {
    const block = await sizedBlock({ k, level, i, items }, `${k} chunk ${i} of level ${level}`);
    blocks.push(block);
    return block.cid;
  };
  const leafLinks: CID[] = [];
  const firsts: string[] = [];
  for (let i = 0, from = 0; from < count; i++, from += per.leaves) {
    firsts.push((result.leaves[from] as Leaf).nullifier);
    const items = result.leaves.slice(from, from + per.leaves).map((leaf, j) => {
      let submission: CID;
      try {
        // The submission CID from its digest: the one CID form a leaf names, built without parsing base32 100,000 times.
        submission = specCidOf(submissionDigest(leaf.submission));
      } catch (err) {
        throw new TypeError(`result.leaves[${from + j}].submission: not a CID (${(err as Error).message})`);
      }
      return { nullifier: leaf.nullifier, submission, value: leaf.value };
    });
    leafLinks.push(await add("leaves", 0, i, items));
  }
  const hashLinks: CID[][] = [];
  const valueLinks: CID[][] = [];
  for (let level = 0; level < sizes.length; level++) {
    const hashes = result.levels[level] as string[];
    const links: CID[] = [];
    for (let i = 0, from = 0; from < hashes.length; i++, from += per.hashes)
      links.push(await add("hashes", level, i, hexBytes(hashes.slice(from, from + per.hashes), `result.levels[${level}]`)));
    hashLinks.push(links);
    const nodes = level === 0 ? [] : (values[level] ?? []);
    if (level > 0 && nodes.length !== hashes.length)
      throw new RangeError(`values[${level}]: expected ${hashes.length} items, got ${nodes.length}`);
    const vlinks: CID[] = [];
    for (let i = 0, from = 0; from < nodes.length; i++, from += per.values)
      vlinks.push(await add("values", level, i, nodes.slice(from, from + per.values)));
    valueLinks.push(vlinks);
  }
  const root: RootFields = {
    v: BUNDLE_VERSION,
    job: { chain: init.job.chain, registry: init.job.registry.toLowerCase(), id: init.job.id },
    spec: init.spec,
    reducer: reducer.kind,
    payloadLength,
    stateLength: width,
    aggregate: result.aggregate,
    count,
    treeRoot: result.treeRoot.toLowerCase(),
    chunk: per,
    leaves: leafLinks,
    firsts,
    hashes: hashLinks,
    values: valueLinks,
  };
  return { root: await sizedBlock(root, "the bundle root"), blocks };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading.

/** Fetches one block, refusing (before buffering it whole) one over `maxBytes`: protocol's getBlock with a blockstore bound. */
export type BundleBlockGetter = (cid: CID, options: { maxBytes: number }) => Promise<Uint8Array>;

/** A whole bundle read back: the fields findFaults' PublishedTree takes from a bundle. */
export interface BundleContents {
  leaves: Leaf[];
  /** Node hashes, 0x-hex: `levels[0]` the leaves', the last `[treeRoot]`. */
  levels: string[][];
  /** `values[level][i]` the value of node (level, i); `values[0]` is `[]`. */
  values: number[][][];
}

/** A bundle opened by its root: fetches chunks only when asked, each once. */
export interface BundleReader {
  readonly cid: CID;
  readonly header: BundleHeader;
  /** Blocks and bytes fetched so far, the root included. */
  readonly fetched: { blocks: number; bytes: number };
  /** Leaf `index` in tree order (one chunk). RangeError outside 0..count-1. */
  leaf(index: number): Promise<Leaf>;
  /** The hash of node (level, position), 0x-hex (one chunk). */
  hash(level: number, position: number): Promise<string>;
  /** The value of node (level ≥ 1, position) (one chunk). */
  value(level: number, position: number): Promise<number[]>;
  /**
   * The leaf with this nullifier and its index, looked up in the one leaf chunk whose first nullifier (named in the
   * root) is the greatest not above it; undefined when it is not there. In a bundle whose leaves are out of order (a
   * provable fault) it may miss a leaf.
   */
  findLeaf(nullifier: string): Promise<{ index: number; leaf: Leaf } | undefined>;
  /** The Merkle path of leaf `index` as JobRegistry's `Ancestor[]` (one hash and one value chunk per level). */
  leafPath(index: number): Promise<AncestorArg[]>;
  /** Every chunk, fetched `concurrency` at a time. BundleBlockTooLargeError once more than `maxBytes` were fetched. */
  readAll(options?: { concurrency?: number; maxBytes?: number }): Promise<BundleContents>;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array) && CID.asCID(x) === null;
}

function isSafeInts(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => Number.isSafeInteger(v));
}

function checkLink(x: unknown, where: string): CID {
  const cid = CID.asCID(x);
  if (cid === null) throw new BundleLinkError(`${where}: expected a CID link, got ${typeof x}`);
  if (cid.version !== 1 || cid.code !== DAG_CBOR || cid.multihash.code !== SHA2_256 || cid.multihash.size !== 32)
    throw new BundleLinkError(`${where}: expected a CIDv1 dag-cbor sha2-256 link, got ${cid.toString()}`);
  return cid;
}

function intField(x: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(x) || (x as number) < min || (x as number) > max)
    throw new MalformedBundleError(`bundle root: ${field} is ${String(x)}, expected an integer in ${min}..${max}`);
  return x as number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The root's fields checked against each other; every link checked and distinct. */
function parseRoot(cid: CID, value: unknown): { header: BundleHeader; leaves: CID[]; firsts: string[]; hashes: CID[][]; values: CID[][] } {
  if (!isRecord(value)) throw new BundleVersionError(`${cid}: not a bundle root (not a map)`);
  if (value.v !== BUNDLE_VERSION)
    throw new BundleVersionError(
      `${cid}: bundle format version ${String(value.v)}, expected ${BUNDLE_VERSION}; upgrade the reader or re-publish`,
    );
  const keys = Object.keys(value).sort().join();
  if (keys !== ROOT_KEYS) throw new MalformedBundleError(`bundle root: fields ${keys}, expected ${ROOT_KEYS}`);
  const job = value.job as Record<string, unknown>;
  if (!isRecord(job) || typeof job.registry !== "string") throw new MalformedBundleError("bundle root: job is not { chain, registry, id }");
  if (typeof value.reducer !== "string") throw new MalformedBundleError("bundle root: reducer is not a kind's name");
  const n = intField(value.count, "count");
  const payloadLength = intField(value.payloadLength, "payloadLength", 0, MAX_BUNDLE_BLOCK_BYTES);
  const stateLength = intField(value.stateLength, "stateLength", 0, MAX_BUNDLE_BLOCK_BYTES);
  if (!isSafeInts(value.aggregate) || value.aggregate.length !== stateLength)
    throw new MalformedBundleError(`bundle root: aggregate is not ${stateLength} integers`);
  if (typeof value.treeRoot !== "string" || !HASH_HEX.test(value.treeRoot))
    throw new MalformedBundleError("bundle root: treeRoot is not 0x and 64 lower-case hex digits");
  const chunk = value.chunk as Record<string, unknown>;
  if (!isRecord(chunk)) throw new MalformedBundleError("bundle root: chunk is not { leaves, hashes, values }");
  const per = {
    leaves: intField(chunk.leaves, "chunk.leaves", 1, MAX_BUNDLE_BLOCK_BYTES),
    hashes: intField(chunk.hashes, "chunk.hashes", 1, MAX_BUNDLE_BLOCK_BYTES / 32),
    values: intField(chunk.values, "chunk.values", 1, MAX_BUNDLE_BLOCK_BYTES),
  };
  const sizes = n === 0 ? [] : levelSizes(n);
  const seen = new Set<string>([cid.toString()]);
  const links = (x: unknown, expected: number, where: string): CID[] => {
    if (!Array.isArray(x) || x.length !== expected)
      throw new MalformedBundleError(
        `bundle root: ${where} has ${Array.isArray(x) ? x.length : "no"} links, expected ${expected} for ${n} leaves`,
      );
    return x.map((link, k) => {
      const c = checkLink(link, `${where}[${k}]`);
      const key = c.toString();
      if (seen.has(key)) throw new BundleLinkError(`${where}[${k}]: links to ${key}, which the bundle links to already (or its root)`);
      seen.add(key);
      return c;
    });
  };
  const leaves = links(value.leaves, Math.ceil(n / per.leaves), "leaves");
  const firsts = value.firsts;
  if (!Array.isArray(firsts) || firsts.length !== leaves.length || !firsts.every((f) => typeof f === "string" && f.length <= 80))
    throw new MalformedBundleError(`bundle root: firsts is not ${leaves.length} nullifiers, one per leaf chunk`);
  if (!Array.isArray(value.hashes) || value.hashes.length !== sizes.length)
    throw new MalformedBundleError(
      `bundle root: hashes has ${Array.isArray(value.hashes) ? value.hashes.length : "no"} levels, expected ${sizes.length}`,
    );
  if (!Array.isArray(value.values) || value.values.length !== sizes.length)
    throw new MalformedBundleError(
      `bundle root: values has ${Array.isArray(value.values) ? value.values.length : "no"} levels, expected ${sizes.length}`,
    );
  const hashes = sizes.map((size, l) => links((value.hashes as unknown[])[l], Math.ceil(size / per.hashes), `hashes[${l}]`));
  const values = sizes.map((size, l) => links((value.values as unknown[])[l], l === 0 ? 0 : Math.ceil(size / per.values), `values[${l}]`));
  const spec = checkLink(value.spec, "spec");
  const header: BundleHeader = {
    version: BUNDLE_VERSION,
    job: {
      chain: intField(job.chain, "job.chain"),
      registry: job.registry,
      id: intField(job.id, "job.id"),
    },
    spec,
    reducer: value.reducer,
    payloadLength,
    stateLength,
    aggregate: value.aggregate.slice(),
    count: n,
    treeRoot: value.treeRoot,
    chunk: per,
  };
  return { header, leaves, firsts: firsts as string[], hashes, values };
}

async function fetchBlock(getBlock: BundleBlockGetter, cid: CID, fetched: { blocks: number; bytes: number }): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await getBlock(cid, { maxBytes: MAX_BUNDLE_BLOCK_BYTES });
  } catch (err) {
    // protocol's getBlock names an oversized block SubmissionTooLargeError, whatever it is.
    if ((err as Error)?.name === "SubmissionTooLargeError")
      throw new BundleBlockTooLargeError(`${cid}: over the ${MAX_BUNDLE_BLOCK_BYTES}-byte limit for a bundle block`);
    throw err;
  }
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`getBlock(${cid}): expected bytes`);
  if (bytes.length > MAX_BUNDLE_BLOCK_BYTES)
    throw new BundleBlockTooLargeError(`${cid}: ${bytes.length} bytes, over the ${MAX_BUNDLE_BLOCK_BYTES}-byte limit for a bundle block`);
  if (!sameBytes(sha256(bytes), cid.multihash.digest)) throw new BundleLinkError(`${cid}: the block fetched does not hash to its CID`);
  fetched.blocks++;
  fetched.bytes += bytes.length;
  try {
    return decodeCbor(bytes);
  } catch (err) {
    throw new MalformedBundleError(`${cid}: ${(err as Error).message}`);
  }
}

/**
 * Opens the bundle rooted at `cid`: fetches and checks the root (BundleVersionError for another version or no
 * bundle, MalformedBundleError / BundleLinkError for a root that does not add up, BundleBlockTooLargeError for an
 * oversized block), and returns a reader that fetches each chunk on first use and checks it (BundleChunkError for a
 * chunk of the wrong kind, position or length). Errors of `getBlock` itself (BlockUnavailableError) pass through.
 */
export async function openBundle(cid: CID, getBlock: BundleBlockGetter): Promise<BundleReader> {
  const fetched = { blocks: 0, bytes: 0 };
  const root = checkLink(cid, "bundle CID");
  const { header, leaves, firsts, hashes, values } = parseRoot(root, await fetchBlock(getBlock, root, fetched));
  const sizes = header.count === 0 ? [] : levelSizes(header.count);
  const cache = new Map<string, Promise<unknown[]>>();

  const chunk = (k: ChunkKind, level: number, i: number): Promise<unknown[]> => {
    const key = `${k}/${level}/${i}`;
    let pending = cache.get(key);
    if (pending === undefined) {
      pending = loadChunk(k, level, i);
      cache.set(key, pending);
      // A failed fetch is tried again next time (a peer may come back); a malformed chunk fails again anyway.
      pending.catch(() => cache.delete(key));
    }
    return pending;
  };

  const loadChunk = async (k: ChunkKind, level: number, i: number): Promise<unknown[]> => {
    const link = (k === "leaves" ? leaves : k === "hashes" ? hashes[level] : values[level])?.[i] as CID;
    const value = await fetchBlock(getBlock, link, fetched);
    const where = `${k} chunk ${i} of level ${level} (${link})`;
    if (!isRecord(value) || Object.keys(value).sort().join() !== "i,items,k,level")
      throw new BundleChunkError(`${where}: not a chunk { k, level, i, items }`);
    if (value.k !== k || value.level !== level || value.i !== i)
      throw new BundleChunkError(
        `${where}: holds ${String(value.k)} chunk ${String(value.i)} of level ${String(value.level)}, linked where ${k} chunk ${i} of level ${level} belongs`,
      );
    const total = k === "leaves" ? header.count : (sizes[level] as number);
    const per = header.chunk[k];
    const expected = Math.min(per, total - i * per);
    if (k === "hashes") {
      const bytes = value.items;
      if (!(bytes instanceof Uint8Array) || bytes.length !== 32 * expected)
        throw new BundleChunkError(`${where}: expected ${expected} hashes (${32 * expected} bytes) for ${header.count} leaves`);
      return levelHex(bytes, expected);
    }
    const items = value.items;
    if (!Array.isArray(items) || items.length !== expected)
      throw new BundleChunkError(
        `${where}: holds ${Array.isArray(items) ? items.length : "no"} items, expected ${expected} for ${header.count} leaves`,
      );
    if (k === "values") {
      items.forEach((v, j) => {
        if (!isSafeInts(v)) throw new BundleChunkError(`${where}: item ${j} is not a list of integers`);
      });
      return items;
    }
    const parsed = items.map((item, j): Leaf => {
      if (!isRecord(item) || Object.keys(item).sort().join() !== "nullifier,submission,value")
        throw new BundleChunkError(`${where}: item ${j} is not a leaf { nullifier, submission, value }`);
      if (typeof item.nullifier !== "string" || !isSafeInts(item.value))
        throw new BundleChunkError(`${where}: item ${j} is not a leaf (nullifier a string, value integers)`);
      const submission = checkLink(item.submission, `${where}: item ${j}'s submission`);
      // checkLink made it a CIDv1 dag-cbor sha2-256, whose string submissionCid writes faster than multiformats.
      return { nullifier: item.nullifier, submission: submissionCid(submission.multihash.digest), value: item.value.slice() };
    });
    if (parsed[0]?.nullifier !== firsts[i])
      throw new BundleChunkError(`${where}: its first leaf is not ${firsts[i]}, the one the root names`);
    return parsed;
  };

  const checkNode = (level: number, position: number, min = 0): void => {
    if (!Number.isSafeInteger(level) || level < min || level >= sizes.length)
      throw new RangeError(`level: expected ${min}..${sizes.length - 1}, got ${level}`);
    const n = sizes[level] as number;
    if (!Number.isSafeInteger(position) || position < 0 || position >= n)
      throw new RangeError(`position: expected 0..${n - 1} at level ${level}, got ${position}`);
  };

  const reader: BundleReader = {
    cid: root,
    header,
    fetched,
    async leaf(index) {
      checkNode(0, index);
      const per = header.chunk.leaves;
      return { ...((await chunk("leaves", 0, Math.floor(index / per)))[index % per] as Leaf) };
    },
    async hash(level, position) {
      checkNode(level, position);
      const per = header.chunk.hashes;
      return (await chunk("hashes", level, Math.floor(position / per)))[position % per] as string;
    },
    async value(level, position) {
      checkNode(level, position, 1);
      const per = header.chunk.values;
      return ((await chunk("values", level, Math.floor(position / per)))[position % per] as number[]).slice();
    },
    async findLeaf(nullifier) {
      const target = nullifierHex(nullifier);
      if (typeof target !== "string") throw new TypeError(`nullifier: ${target.reason}`);
      const keyOf = (n: string, where: string): string => {
        const hex = nullifierHex(n);
        if (typeof hex !== "string") throw new BundleChunkError(`${where}: nullifier ${hex.reason}`);
        return hex;
      };
      // The last leaf chunk whose first nullifier is at most the target: the only one that can hold it.
      let lo = 0;
      let hi = firsts.length - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (keyOf(firsts[mid] as string, `firsts[${mid}]`) <= target) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at < 0) return undefined;
      const per = header.chunk.leaves;
      const items = (await chunk("leaves", 0, at)) as Leaf[];
      const j = items.findIndex((leaf, k) => keyOf(leaf.nullifier, `leaf ${at * per + k}`) === target);
      return j < 0 ? undefined : { index: at * per + j, leaf: { ...(items[j] as Leaf) } };
    },
    async leafPath(index) {
      checkNode(0, index);
      const path: AncestorArg[] = [];
      for (let level = 0, p = index; level + 1 < sizes.length; level++, p >>= 1) {
        const n = sizes[level] as number;
        if (p === n - 1 && n % 2 === 1) continue; // carried: no path element
        const [sibling, value] = await Promise.all([reader.hash(level, p ^ 1), reader.value(level + 1, p >> 1)]);
        path.push({ sibling, value });
      }
      return path;
    },
    async readAll(options = {}) {
      const concurrency = options.concurrency ?? 16;
      const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
      const jobs: [ChunkKind, number, number][] = [
        ...leaves.map((_, i): [ChunkKind, number, number] => ["leaves", 0, i]),
        ...hashes.flatMap((links, l) => links.map((_, i): [ChunkKind, number, number] => ["hashes", l, i])),
        ...values.flatMap((links, l) => links.map((_, i): [ChunkKind, number, number] => ["values", l, i])),
      ];
      const results = new Map<string, unknown[]>();
      let next = 0;
      let failed = false;
      const worker = async (): Promise<void> => {
        while (next < jobs.length && !failed) {
          if (fetched.bytes > maxBytes)
            throw new BundleBlockTooLargeError(`bundle ${root}: over ${maxBytes} bytes fetched, the most this reader takes`);
          const [k, l, i] = jobs[next++] as [ChunkKind, number, number];
          try {
            results.set(`${k}/${l}/${i}`, await chunk(k, l, i));
          } catch (err) {
            failed = true; // the other workers stop at their next chunk
            throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
      if (fetched.bytes > maxBytes)
        throw new BundleBlockTooLargeError(`bundle ${root}: over ${maxBytes} bytes fetched, the most this reader takes`);
      const gather = (k: ChunkKind, l: number, links: CID[]): unknown[] => links.flatMap((_, i) => results.get(`${k}/${l}/${i}`) ?? []);
      return {
        leaves: (gather("leaves", 0, leaves) as Leaf[]).map((leaf) => ({ ...leaf, value: leaf.value.slice() })),
        levels: hashes.map((links, l) => gather("hashes", l, links) as string[]),
        values: values.map((links, l) => (gather("values", l, links) as number[][]).map((v) => v.slice())),
      };
    },
  };
  return reader;
}

// ---------------------------------------------------------------------------------------------------------------
// Inclusion proofs.

/** A leaf, where it stands in the tree, and its Merkle path (JobRegistry's `Ancestor[]`, none where it is carried). */
export interface LeafInclusion {
  index: number;
  leaf: Leaf;
  path: AncestorArg[];
}

/**
 * The leaf with `nullifier` in a bundle and its Merkle path, O(log n) chunks; undefined when the bundle has no such
 * leaf. What the bundle claims: check it with verifyLeafInclusion against the tree root on-chain.
 */
export async function leafInclusion(bundle: BundleReader, nullifier: string): Promise<LeafInclusion | undefined> {
  const found = await bundle.findLeaf(nullifier);
  if (found === undefined) return undefined;
  return { index: found.index, leaf: found.leaf, path: await bundle.leafPath(found.index) };
}

/**
 * Whether `inclusion.leaf` is leaf `inclusion.index` of the `count`-leaf tree whose root is `treeRoot` (0x-hex, as
 * JobRegistry records it): the leaf hash hashed up the path, carried levels skipped, exactly as the contract's
 * ReduceTree.rootOf does. False, never a throw, for anything malformed (a path of the wrong length, a bad hash, a
 * leaf that does not hash).
 */
export function verifyLeafInclusion(treeRoot: string, inclusion: LeafInclusion, count: number | bigint): boolean {
  const n0 = typeof count === "bigint" ? Number(count) : count;
  const { index, leaf, path } = inclusion ?? ({} as LeafInclusion);
  if (!Number.isSafeInteger(n0) || n0 < 1 || !Number.isSafeInteger(index) || index < 0 || index >= n0) return false;
  if (typeof treeRoot !== "string" || !Array.isArray(path)) return false;
  try {
    let h = leafHash(leaf);
    let k = 0;
    for (let n = n0, p = index; n > 1; n = Math.ceil(n / 2), p >>= 1) {
      if (p === n - 1 && n % 2 === 1) continue; // carried: the same hash one level up
      const a = path[k++];
      if (a === undefined) return false;
      const value = (a.value as unknown[]).map((x) => (typeof x === "bigint" ? Number(x) : (x as number)));
      h = p % 2 === 0 ? nodeHash(h, a.sibling, value) : nodeHash(a.sibling, h, value);
    }
    return k === path.length && h === treeRoot.toLowerCase();
  } catch {
    return false;
  }
}
