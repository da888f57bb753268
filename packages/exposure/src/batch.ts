// Key batches: the keys a health authority publishes, signed, hash-linked (each names the batch before it) and
// anchored on-chain by ExposureFeeds.publishKeys. Vaults walk them back from the feed's head.
import { type Block, CID } from "@mosaic/protocol";
import { ExposureDocumentTooLargeError, KeyOutsideWindowError, MalformedExposureDocumentError } from "./errors.js";
import { type DocumentSigner, openDocument, signDocument } from "./signed.js";
import { INTERVAL_S, KEY_BYTES, type PublishedKey, REPORT_TYPES, type ReportType, TEK_ROLLING_PERIOD } from "./types.js";

/** The most keys one batch holds (ExposureFeeds.MAX_BATCH_KEYS). */
export const MAX_BATCH_KEYS = 10_000;

/** One signed batch of published keys. */
export interface KeyBatch {
  version: 1;
  chainId: number;
  /** The ExposureFeeds contract's address, lower case. */
  feeds: string;
  /** The feed id, decimal. */
  feedId: string;
  /** 1, 2, …: the seq publishKeys anchored it at. */
  seq: number;
  /** The CID of batch seq − 1; null for the first. */
  prev: string | null;
  /** Unix seconds. */
  createdAt: number;
  /** The CIDs of the uploads the keys came from, for audit. */
  uploads: string[];
  keys: PublishedKey[];
}

/**
 * A published key as documents carry it: `[key (16 bytes), rollingStartIntervalNumber, rollingPeriod, reportType
 * (index in REPORT_TYPES), daysSinceOnsetOfSymptoms | null]` — 27 bytes of dag-cbor.
 */
export type WireKey = [Uint8Array, number, number, number, number | null];

const BATCH_KEYS = ["version", "chainId", "feeds", "feedId", "seq", "prev", "createdAt", "uploads", "keys"];
const KEY_FIELDS = ["key", "rollingStartIntervalNumber", "rollingPeriod", "reportType", "daysSinceOnsetOfSymptoms"];
const MAX_UINT256 = (1n << 256n) - 1n;
const DAY_S = 86_400;

const describe = (v: unknown): string =>
  v === null
    ? "null"
    : v instanceof Uint8Array
      ? `${v.length} bytes`
      : Array.isArray(v)
        ? "an array"
        : typeof v === "string"
          ? JSON.stringify(v.slice(0, 80))
          : typeof v === "object"
            ? "an object"
            : String(v);

function fail(field: string, expected: string, got: unknown): never {
  throw new MalformedExposureDocumentError(`${field}: expected ${expected}, got ${describe(got)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof CID);
}

/** @internal `v` as a map with exactly `keys`; MalformedExposureDocumentError naming `field` otherwise. */
export function exactRecord(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) return fail(field, `a map { ${keys.join(", ")} }`, v);
  for (const k of Object.keys(v))
    if (!keys.includes(k))
      throw new MalformedExposureDocumentError(`${field}: unknown key ${JSON.stringify(k)} (known: ${keys.join(", ")})`);
  for (const k of keys) if (!(k in v)) fail(`${field}.${k}`, "a value", "nothing");
  return v;
}

/** @internal */
export function safeInt(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) return fail(field, `an integer in ${min}..${max}`, v);
  return v;
}

/** @internal A lower-case 0x address, as batches and uploads name the ExposureFeeds contract. */
export function lowerAddress(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^0x[0-9a-f]{40}$/.test(v)) return fail(field, "a lower-case 0x address", v);
  return v;
}

/** @internal A feed id as decimal text, 1..2^256 − 1, no leading zeros. */
export function feedIdText(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^[1-9][0-9]{0,77}$/.test(v) || BigInt(v) > MAX_UINT256)
    return fail(field, "a feed id in decimal (1..2^256 − 1, no leading zeros)", v);
  return v;
}

function cidText(v: unknown, field: string): string {
  if (typeof v !== "string") return fail(field, "a CID", v);
  let cid: CID;
  try {
    cid = CID.parse(v);
  } catch {
    return fail(field, "a CID", v);
  }
  if (cid.version !== 1 || cid.toString() !== v) return fail(field, "a CIDv1 in base32 (as CID.toString writes it)", v);
  return v;
}

/**
 * Checks the shape of one published key (MalformedExposureDocumentError naming `field`), then that it is a whole
 * daily key: rollingStartIntervalNumber a multiple of 144 and rollingPeriod 144 (KeyOutsideWindowError). Returns a
 * copy.
 */
export function parsePublishedKey(value: unknown, field: string): PublishedKey {
  const k = exactRecord(value, field, KEY_FIELDS);
  if (!(k.key instanceof Uint8Array) || k.key.length !== KEY_BYTES) fail(`${field}.key`, `${KEY_BYTES} bytes`, k.key);
  const start = safeInt(k.rollingStartIntervalNumber, `${field}.rollingStartIntervalNumber`, 0, 0xffff_ffff);
  const period = safeInt(k.rollingPeriod, `${field}.rollingPeriod`, 1, TEK_ROLLING_PERIOD);
  if (!REPORT_TYPES.includes(k.reportType as ReportType)) fail(`${field}.reportType`, `one of ${REPORT_TYPES.join(", ")}`, k.reportType);
  const dso =
    k.daysSinceOnsetOfSymptoms === null ? null : safeInt(k.daysSinceOnsetOfSymptoms, `${field}.daysSinceOnsetOfSymptoms`, -14, 14);
  if (start % TEK_ROLLING_PERIOD !== 0 || period !== TEK_ROLLING_PERIOD)
    throw new KeyOutsideWindowError(
      `${field}: not a whole daily key (rollingStartIntervalNumber ${start} must be a multiple of ${TEK_ROLLING_PERIOD}, rollingPeriod ${period} must be ${TEK_ROLLING_PERIOD})`,
    );
  return {
    key: new Uint8Array(k.key as Uint8Array),
    rollingStartIntervalNumber: start,
    rollingPeriod: period,
    reportType: k.reportType as ReportType,
    daysSinceOnsetOfSymptoms: dso,
  };
}

/** The unix day of a daily key. */
export function keyDay(key: Pick<PublishedKey, "rollingStartIntervalNumber">): number {
  return (key.rollingStartIntervalNumber * INTERVAL_S) / DAY_S;
}

/** @internal The first key whose 16 bytes an earlier key of `keys` has, with that earlier key's index. */
export function repeatedKey(keys: readonly PublishedKey[]): { index: number; first: number } | undefined {
  const seen = new Map<string, number>();
  for (const [index, k] of keys.entries()) {
    const hex = Array.from(k.key, (b) => b.toString(16).padStart(2, "0")).join("");
    const first = seen.get(hex);
    if (first !== undefined) return { index, first };
    seen.set(hex, index);
  }
  return undefined;
}

/** A published key in its wire form (see WireKey). */
export function publishedKeyToWire(k: PublishedKey): WireKey {
  return [k.key, k.rollingStartIntervalNumber, k.rollingPeriod, REPORT_TYPES.indexOf(k.reportType), k.daysSinceOnsetOfSymptoms];
}

/** A published key from its wire form, checked as parsePublishedKey does. */
export function publishedKeyFromWire(v: unknown, field: string): PublishedKey {
  if (!Array.isArray(v) || v.length !== 5) return fail(field, "a key [key, start, period, reportType, daysSinceOnset]", v);
  const reportType = safeInt(v[3], `${field}.reportType`, 0, REPORT_TYPES.length - 1);
  return parsePublishedKey(
    {
      key: v[0],
      rollingStartIntervalNumber: v[1],
      rollingPeriod: v[2],
      reportType: REPORT_TYPES[reportType],
      daysSinceOnsetOfSymptoms: v[4],
    },
    field,
  );
}

/**
 * Checks a key batch and returns a copy: exact fields, types and ranges (MalformedExposureDocumentError naming the
 * field), prev null exactly for seq 1, 1..MAX_BATCH_KEYS keys (more: ExposureDocumentTooLargeError), each a whole
 * daily key of a day before createdAt's (KeyOutsideWindowError: a batch never carries a key still in use or a
 * future one), no key twice and no upload CID twice. Old keys are allowed: a batch may be published late, and
 * vaults skip keys past their 14 days.
 */
export function checkKeyBatch(value: unknown): KeyBatch {
  const b = exactRecord(value, "batch", BATCH_KEYS);
  if (b.version !== 1) fail("batch.version", "1", b.version);
  const chainId = safeInt(b.chainId, "batch.chainId", 1);
  const feeds = lowerAddress(b.feeds, "batch.feeds");
  const feedId = feedIdText(b.feedId, "batch.feedId");
  const seq = safeInt(b.seq, "batch.seq", 1);
  const prev = b.prev === null ? null : cidText(b.prev, "batch.prev");
  if ((prev === null) !== (seq === 1))
    fail("batch.prev", seq === 1 ? "null (the first batch has no previous one)" : `the CID of batch ${seq - 1}`, b.prev);
  const createdAt = safeInt(b.createdAt, "batch.createdAt", 0);
  if (!Array.isArray(b.keys)) return fail("batch.keys", "an array of keys", b.keys);
  if (b.keys.length > MAX_BATCH_KEYS)
    throw new ExposureDocumentTooLargeError(`batch.keys: ${b.keys.length} keys, over the ${MAX_BATCH_KEYS} a batch may hold`);
  if (b.keys.length === 0) fail("batch.keys", `1..${MAX_BATCH_KEYS} keys`, "none");
  if (!Array.isArray(b.uploads)) return fail("batch.uploads", "an array of CIDs", b.uploads);
  if (b.uploads.length > MAX_BATCH_KEYS)
    throw new ExposureDocumentTooLargeError(`batch.uploads: ${b.uploads.length} uploads, over ${MAX_BATCH_KEYS}`);
  const uploads = b.uploads.map((u, i) => cidText(u, `batch.uploads[${i}]`));
  const seenUploads = new Set<string>();
  for (const [i, u] of uploads.entries()) {
    if (seenUploads.has(u)) fail(`batch.uploads[${i}]`, "each upload once", `${u} again`);
    seenUploads.add(u);
  }
  const keys = b.keys.map((k, i) => parsePublishedKey(k, `batch.keys[${i}]`));
  return finishBatch({ version: 1, chainId, feeds, feedId, seq, prev, createdAt, uploads, keys });
}

function finishBatch(batch: KeyBatch): KeyBatch {
  const today = Math.floor(batch.createdAt / DAY_S);
  for (const [i, k] of batch.keys.entries()) {
    if (keyDay(k) >= today)
      throw new KeyOutsideWindowError(
        `batch.keys[${i}]: a key of day ${keyDay(k)}, not before the batch's day ${today}: keys are published after their day ends`,
      );
  }
  const repeated = repeatedKey(batch.keys);
  if (repeated !== undefined)
    throw new MalformedExposureDocumentError(`batch.keys[${repeated.index}]: the same key as batch.keys[${repeated.first}]`);
  return batch;
}

/** Checks a batch (checkKeyBatch) and signs it as a "key-batch" document; the block's CID is what publishKeys anchors. */
export async function encodeKeyBatch(batch: KeyBatch, signer: DocumentSigner): Promise<Block> {
  const b = checkKeyBatch(batch);
  return signDocument(
    "key-batch",
    {
      version: 1,
      chainId: b.chainId,
      feeds: b.feeds,
      feedId: b.feedId,
      seq: b.seq,
      prev: b.prev === null ? null : CID.parse(b.prev),
      createdAt: b.createdAt,
      uploads: b.uploads.map((u) => CID.parse(u)),
      keys: b.keys.map(publishedKeyToWire),
    },
    signer,
  );
}

/**
 * The batch in a "key-batch" document signed by `authority` (the feed's authority as ExposureFeeds.feedOf names
 * it): openDocument's errors (size, shape, UnsignedDocumentError, WrongSignerError), then checkKeyBatch's. Whether
 * its chain, feeds, feed and seq are the ones the reader followed is the reader's to check.
 */
export function decodeKeyBatch(bytes: Uint8Array, authority: string): KeyBatch {
  const body = exactRecord(openDocument("key-batch", bytes, authority), "batch", BATCH_KEYS);
  const link = (v: unknown, field: string): string => (v instanceof CID ? v.toString() : fail(field, "a CID link", v));
  if (!Array.isArray(body.keys)) return fail("batch.keys", "an array of keys", body.keys);
  if (body.keys.length > MAX_BATCH_KEYS)
    throw new ExposureDocumentTooLargeError(`batch.keys: ${body.keys.length} keys, over the ${MAX_BATCH_KEYS} a batch may hold`);
  if (!Array.isArray(body.uploads)) return fail("batch.uploads", "an array of CID links", body.uploads);
  return checkKeyBatch({
    ...body,
    prev: body.prev === null ? null : link(body.prev, "batch.prev"),
    uploads: body.uploads.map((u, i) => link(u, `batch.uploads[${i}]`)),
    keys: body.keys.map((k, i) => publishedKeyFromWire(k, `batch.keys[${i}]`)),
  });
}
