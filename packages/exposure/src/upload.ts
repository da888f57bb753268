// Key uploads: one person's last 14 days of keys, sent to a feed's key server through an avatar. A Semaphore proof of
// membership in the feed's registrar group stands for the person: its scope is the feed and upload period (one
// upload per person and period), its message the keys; nothing in an upload names who sent it.
import * as dagCbor from "@ipld/dag-cbor";
import {
  type Block,
  bigintToBytes32,
  bytes32ToBigint,
  encodeBlock,
  equalBytes,
  fromHex,
  payloadDigest,
  SNARK_SCALAR_FIELD,
} from "@mosaic/protocol";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  parsePublishedKey,
  exactRecord,
  feedIdText,
  keyDay,
  lowerAddress,
  publishedKeyFromWire,
  publishedKeyToWire,
  repeatedKey,
  safeInt,
} from "./batch.js";
import { ExposureDocumentTooLargeError, InconsistentUploadError, KeyOutsideWindowError, MalformedExposureDocumentError } from "./errors.js";
import { KEY_RETENTION_DAYS, type PublishedKey } from "./types.js";

/** The most keys one upload carries: one per day of the 14 days keys are kept. */
export const MAX_UPLOAD_KEYS = KEY_RETENTION_DAYS;
/** The largest upload block decodeUpload reads (a full upload is about 750 bytes). */
export const MAX_UPLOAD_BYTES = 4096;
/** Days in one upload period: a person uploads at most once per period and feed. */
export const UPLOAD_PERIOD_DAYS = 14;

/**
 * A Semaphore v4 proof as `generateProof` returns it (numbers as decimal strings): the same shape as
 * @mosaic/avatar's SemaphoreProof, written out here because this package does not depend on avatar.
 */
export interface SemaphoreProof {
  merkleTreeDepth: number;
  merkleTreeRoot: string;
  message: string;
  nullifier: string;
  scope: string;
  points: [string, string, string, string, string, string, string, string];
}

/** One person's keys for a feed, proved by a member of the feed's group. */
export interface KeyUpload {
  version: 1;
  chainId: number;
  /** The ExposureFeeds contract's address, lower case. */
  feeds: string;
  /** The feed id, decimal. */
  feedId: string;
  /** uploadPeriod of when it was proved. */
  period: number;
  keys: PublishedKey[];
  /** scope = uploadScope(chainId, feeds, feedId, period), message = uploadMessage(keys). */
  proof: SemaphoreProof;
}

const DAY_S = 86_400;
/** The BN254 base field: Groth16 point coordinates are below it (avatar's BN254_BASE_FIELD). */
const BN254_BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const UPLOAD_KEYS = ["version", "chainId", "feeds", "feedId", "period", "keys", "proof"];
const PROOF_KEYS = ["depth", "root", "nullifier", "message", "scope", "points"];

/**
 * The gossipsub topic a feed's key uploads are announced on: the vault's uploader publishes there and the authority's
 * key server listens there, so both take it from here.
 */
export function exposureUploadTopic(chainId: bigint | number, feeds: string, feedId: bigint | string): string {
  return `/mosaic/exposure-upload/1/${chainId}/${feeds.toLowerCase()}/${feedId}`;
}

/** The upload period of a moment: floor(unix day / 14). */
export function uploadPeriod(unixSeconds: number): number {
  if (!Number.isSafeInteger(unixSeconds) || unixSeconds < 0)
    throw new RangeError(`unixSeconds: expected a non-negative integer, got ${unixSeconds}`);
  return Math.floor(Math.floor(unixSeconds / DAY_S) / UPLOAD_PERIOD_DAYS);
}

/**
 * The Semaphore scope of uploads to a feed in a period: keccak256(abi.encode(uint256 chainId, address feeds,
 * uint256 feedId, uint256 period)) reduced into the BN254 scalar field, as protocol's jobScope reduces a job's. One
 * identity has one nullifier per feed and period, so the key server refuses a second upload.
 */
export function uploadScope(chainId: number | bigint, feeds: string, feedId: string | bigint, period: number | bigint): bigint {
  const word = (v: number | bigint | string, field: string): Uint8Array => {
    let n: bigint;
    try {
      n = BigInt(v);
    } catch {
      throw new RangeError(`${field}: expected an integer, got ${JSON.stringify(v)}`);
    }
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new RangeError(`${field}: expected an integer, got ${v}`);
    if (n < 0n || n >= 1n << 256n) throw new RangeError(`${field}: expected 0..2^256 − 1, got ${n}`);
    return bigintToBytes32(n);
  };
  const buf = new Uint8Array(128);
  buf.set(word(chainId, "chainId"), 0);
  buf.set(fromHex(feeds, { length: 20, field: "feeds" }), 32 + 12);
  buf.set(word(feedId, "feedId"), 64);
  buf.set(word(period, "period"), 96);
  return bytes32ToBigint(keccak_256(buf)) % SNARK_SCALAR_FIELD;
}

/**
 * The Semaphore message of an upload: sha-256 of the dag-cbor of its keys in wire form (see WireKey), as an
 * unsigned 256-bit integer — protocol's payloadDigest, the rule a job submission's message follows (Semaphore hashes
 * the message into the field itself).
 */
export function uploadMessage(keys: readonly PublishedKey[]): bigint {
  return payloadDigest(dagCbor.encode(keys.map(publishedKeyToWire)));
}

/**
 * Throws KeyOutsideWindowError unless `keys` is what a person may upload at `now`: 1..MAX_UPLOAD_KEYS whole daily
 * keys, each of one of the 14 days before today (today's key is still in use; an older one is expired), no key or day
 * twice. Then InconsistentUploadError unless the keys tell of one diagnosis: one report type for all, and days since
 * onset either null for all or those of one onset day (a key's day minus it, null beyond ±14) — an uploader cannot
 * mark every day as peak infectiousness. A key of the wrong shape is MalformedExposureDocumentError.
 */
export function checkUploadKeys(keys: readonly PublishedKey[], now: number): void {
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError(`now: expected unix seconds, got ${now}`);
  if (!Array.isArray(keys)) throw new MalformedExposureDocumentError(`keys: expected an array, got ${typeof keys}`);
  if (keys.length === 0) throw new KeyOutsideWindowError("keys: none to upload; an upload carries the keys of the last 14 days");
  if (keys.length > MAX_UPLOAD_KEYS)
    throw new KeyOutsideWindowError(`keys: ${keys.length} keys, more than the ${MAX_UPLOAD_KEYS} days keys are kept (one key per day)`);
  const checked = keys.map((k, i) => parsePublishedKey(k, `keys[${i}]`));
  const today = Math.floor(now / DAY_S);
  const days = new Map<number, number>();
  for (const [i, k] of checked.entries()) {
    const day = keyDay(k);
    if (day >= today)
      throw new KeyOutsideWindowError(
        `keys[${i}]: the key of day ${day} is ${day === today ? "today's, still in use" : "in the future"}; upload only the keys of days before ${today}`,
      );
    if (day < today - KEY_RETENTION_DAYS)
      throw new KeyOutsideWindowError(
        `keys[${i}]: the key of day ${day} is ${today - day} days old; only the last ${KEY_RETENTION_DAYS} days' keys are uploaded`,
      );
    const first = days.get(day);
    if (first !== undefined) throw new KeyOutsideWindowError(`keys[${i}]: a second key for day ${day} (keys[${first}] is one)`);
    days.set(day, i);
  }
  const repeated = repeatedKey(checked);
  if (repeated !== undefined) throw new KeyOutsideWindowError(`keys[${repeated.index}]: the same key as keys[${repeated.first}]`);
  checkOneDiagnosis(checked);
}

/** The days since onset a key of `day` carries when symptoms began on `onsetDay` (GAEN's range: ±14, else null). */
function daysSinceOnsetOf(day: number, onsetDay: number | null): number | null {
  if (onsetDay === null) return null;
  const d = day - onsetDay;
  return d >= -KEY_RETENTION_DAYS && d <= KEY_RETENTION_DAYS ? d : null;
}

/** InconsistentUploadError unless every key has the first key's report type and the days since onset of one onset day. */
function checkOneDiagnosis(keys: readonly PublishedKey[]): void {
  const first = keys[0] as PublishedKey;
  for (const [i, k] of keys.entries())
    if (k.reportType !== first.reportType)
      throw new InconsistentUploadError(
        `keys[${i}].reportType: ${k.reportType}, but keys[0] is ${first.reportType}; one upload tells of one diagnosis`,
      );
  // The onset day any key with a number implies; then every key must carry exactly what that day gives it.
  const dated = keys.find((k) => k.daysSinceOnsetOfSymptoms !== null);
  const onsetDay = dated === undefined ? null : keyDay(dated) - (dated.daysSinceOnsetOfSymptoms as number);
  for (const [i, k] of keys.entries()) {
    const expected = daysSinceOnsetOf(keyDay(k), onsetDay);
    if (k.daysSinceOnsetOfSymptoms !== expected)
      throw new InconsistentUploadError(
        `keys[${i}].daysSinceOnsetOfSymptoms: ${k.daysSinceOnsetOfSymptoms}, but ${
          onsetDay === null ? "no key names an onset day" : `the onset day the keys give is ${onsetDay}`
        }, which makes it ${expected}; days since onset are each key's day minus one onset day (null beyond ±14), or null for all`,
      );
  }
}

/** A decimal field element below `bound` as its 32-byte word; MalformedExposureDocumentError naming `field` otherwise. */
function wordOf(v: unknown, field: string, bound = 1n << 256n): Uint8Array {
  let n: bigint | undefined;
  if (typeof v === "string" && /^(0|[1-9][0-9]{0,77})$/.test(v)) n = BigInt(v);
  if (n === undefined || n >= bound)
    throw new MalformedExposureDocumentError(`${field}: expected a decimal integer below ${bound}, got ${JSON.stringify(v)}`);
  return bigintToBytes32(n);
}

function wordFrom(v: unknown, field: string, bound = 1n << 256n): string {
  if (!(v instanceof Uint8Array) || v.length !== 32)
    throw new MalformedExposureDocumentError(
      `${field}: expected a 32-byte word, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v}`,
    );
  const n = bytes32ToBigint(v);
  if (n >= bound) throw new MalformedExposureDocumentError(`${field}: ${n} is not below ${bound}`);
  return n.toString();
}

function checkProofShape(p: unknown): void {
  const proof = exactRecord(p, "upload.proof", ["merkleTreeDepth", "merkleTreeRoot", "message", "nullifier", "scope", "points"]);
  safeInt(proof.merkleTreeDepth, "upload.proof.merkleTreeDepth", 1, 32);
  wordOf(proof.merkleTreeRoot, "upload.proof.merkleTreeRoot", SNARK_SCALAR_FIELD);
  wordOf(proof.nullifier, "upload.proof.nullifier", SNARK_SCALAR_FIELD);
  wordOf(proof.message, "upload.proof.message");
  wordOf(proof.scope, "upload.proof.scope");
  if (!Array.isArray(proof.points) || proof.points.length !== 8)
    throw new MalformedExposureDocumentError("upload.proof.points: expected 8 decimal integers");
  for (const [i, x] of proof.points.entries()) wordOf(x, `upload.proof.points[${i}]`, BN254_BASE_FIELD);
}

/**
 * Encodes an upload as a dag-cbor block (what the vault publishes to the feed's upload topic). Checks its shape as
 * decodeUpload would (MalformedExposureDocumentError naming the field; more than MAX_UPLOAD_KEYS keys is
 * KeyOutsideWindowError), not its keys' window, scope or message: those are the key server's, at its own time.
 *
 * On the wire: `{ v: 1, chain, feeds, feed, period, keys: [WireKey…], proof: { depth, root, nullifier, message,
 * scope, points: [8 × bytes32] } }`, every proof number a 32-byte big-endian word.
 */
export async function encodeUpload(u: KeyUpload): Promise<Block> {
  const up = exactRecord(u, "upload", UPLOAD_KEYS);
  if (up.version !== 1) throw new MalformedExposureDocumentError(`upload.version: expected 1, got ${String(up.version)}`);
  safeInt(up.chainId, "upload.chainId", 1);
  lowerAddress(up.feeds, "upload.feeds");
  feedIdText(up.feedId, "upload.feedId");
  safeInt(up.period, "upload.period", 0);
  const keys = keysOf(up.keys, (k, i) => parsePublishedKey(k, `upload.keys[${i}]`));
  checkProofShape(up.proof);
  const p = u.proof;
  const block = await encodeBlock({
    v: 1,
    chain: u.chainId,
    feeds: u.feeds,
    feed: u.feedId,
    period: u.period,
    keys: keys.map(publishedKeyToWire),
    proof: {
      depth: p.merkleTreeDepth,
      root: wordOf(p.merkleTreeRoot, "upload.proof.merkleTreeRoot"),
      nullifier: wordOf(p.nullifier, "upload.proof.nullifier"),
      message: wordOf(p.message, "upload.proof.message"),
      scope: wordOf(p.scope, "upload.proof.scope"),
      points: p.points.map((x, i) => wordOf(x, `upload.proof.points[${i}]`)),
    },
  });
  if (block.bytes.length > MAX_UPLOAD_BYTES)
    throw new ExposureDocumentTooLargeError(`upload: ${block.bytes.length} bytes, over the ${MAX_UPLOAD_BYTES}-byte limit`);
  return block;
}

function keysOf(v: unknown, check: (k: unknown, i: number) => PublishedKey): PublishedKey[] {
  if (!Array.isArray(v)) throw new MalformedExposureDocumentError(`upload.keys: expected an array of keys, got ${typeof v}`);
  if (v.length > MAX_UPLOAD_KEYS)
    throw new KeyOutsideWindowError(`upload.keys: ${v.length} keys, more than the ${MAX_UPLOAD_KEYS} days keys are kept (one key per day)`);
  if (v.length === 0) throw new MalformedExposureDocumentError("upload.keys: expected 1..14 keys, got none");
  return v.map(check);
}

/**
 * An upload block's contents, checked for shape only: the size (ExposureDocumentTooLargeError), canonical dag-cbor,
 * exact fields, types and ranges (MalformedExposureDocumentError naming the field; root and nullifier below the
 * scalar field, point coordinates below the base field), 1..MAX_UPLOAD_KEYS whole daily keys (more:
 * KeyOutsideWindowError). The key server then checks the feed, period, key window (checkUploadKeys), scope, message,
 * nullifier and proof.
 */
export function decodeUpload(bytes: Uint8Array): KeyUpload {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length > MAX_UPLOAD_BYTES)
    throw new ExposureDocumentTooLargeError(`upload: ${bytes.length} bytes, over the ${MAX_UPLOAD_BYTES}-byte limit`);
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedExposureDocumentError(`upload: not dag-cbor (${(err as Error).message})`);
  }
  if (!equalBytes(dagCbor.encode(value), bytes))
    throw new MalformedExposureDocumentError("upload: not canonical dag-cbor (re-encoding gives other bytes)");
  const u = exactRecord(value, "upload", ["v", "chain", "feeds", "feed", "period", "keys", "proof"]);
  if (u.v !== 1) throw new MalformedExposureDocumentError(`upload.v: expected 1, got ${String(u.v)}`);
  const chainId = safeInt(u.chain, "upload.chain", 1);
  const feeds = lowerAddress(u.feeds, "upload.feeds");
  const feedId = feedIdText(u.feed, "upload.feed");
  const period = safeInt(u.period, "upload.period", 0);
  const keys = keysOf(u.keys, (k, i) => publishedKeyFromWire(k, `upload.keys[${i}]`));
  const p = exactRecord(u.proof, "upload.proof", PROOF_KEYS);
  if (!Array.isArray(p.points) || p.points.length !== 8) throw new MalformedExposureDocumentError("upload.proof.points: expected 8 words");
  return {
    version: 1,
    chainId,
    feeds,
    feedId,
    period,
    keys,
    proof: {
      merkleTreeDepth: safeInt(p.depth, "upload.proof.depth", 1, 32),
      merkleTreeRoot: wordFrom(p.root, "upload.proof.root", SNARK_SCALAR_FIELD),
      nullifier: wordFrom(p.nullifier, "upload.proof.nullifier", SNARK_SCALAR_FIELD),
      message: wordFrom(p.message, "upload.proof.message"),
      scope: wordFrom(p.scope, "upload.proof.scope"),
      points: p.points.map((x, i) => wordFrom(x, `upload.proof.points[${i}]`, BN254_BASE_FIELD)) as SemaphoreProof["points"],
    },
  };
}
