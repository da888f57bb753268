// The proximity ability: the GAEN advertisements this device heard (kept 14 days), the health authorities' key
// batches it fetched, and the exposures it notified its user of.
import type { Doc } from "@mosaic/threads";
import { type AbilityContext, defineAbility } from "../ability.js";
import { MalformedScanError } from "../exposure/errors.js";

export const PROXIMITY = "proximity";
/** Days scans and fetched key batches are kept: GAEN's 14 days, the longest a published key can match. */
export const SCAN_RETENTION_DAYS = 14;
const DAY_S = 86_400;

/** One advertisement heard (a ScanRecord of @mosaic/exposure, with its bytes as lowercase hex). */
export interface ScanDoc extends Doc {
  /** The Rolling Proximity Identifier, 16 bytes as 32 lowercase hex characters. */
  rpi: string;
  /** The Associated Encrypted Metadata, 4 bytes as 8 lowercase hex characters. */
  aem: string;
  /** Unix seconds. */
  t: number;
  /** dBm, -127..20. */
  rssi: number;
  /** Seconds the sighting stands for, 1..1800. */
  seconds: number;
}

/** An exposure the vault told its user of: what the aggregate exposure-statistics job counts (by day and level). */
export interface NotificationDoc extends Doc {
  /** Unix day (floor(t / 86400)) of the most recent exposure notified. One document per feed and day. */
  day: number;
  level: "low" | "high";
  /** That day's weighted minutes (GAEN's DailySummary), as the authority's risk configuration scores them. */
  weightedMinutes: number;
  /** The health authority's feed the matching keys came from (decimal). */
  feedId: string;
  /** When the check ran, unix seconds. */
  checkedAt: number;
}

/** A key batch fetched from a health authority's feed (or one part of it: a batch is stored in parts of FEED_PART_KEYS keys). */
export interface FeedBatchDoc extends Doc {
  chainId: number;
  /** The ExposureFeeds contract, lowercase 0x address. */
  feeds: string;
  /** Decimal. */
  feedId: string;
  seq: number;
  /** This batch's CID: the feed's head when it was published. */
  cid: string;
  /** Unix seconds, as the signed batch says. */
  createdAt: number;
  /** The part of the batch this document holds, 0, 1, … */
  part: number;
  /** The part's keys, FEED_KEY_BYTES each (encodeFeedKeys). */
  keys: Uint8Array;
}

/** Bytes of one published key in a feed document: key 16, rollingStartIntervalNumber u32, period u8, report type u8, days since onset i8 (-128 unknown). */
export const FEED_KEY_BYTES = 23;
/** Keys per feed document: 4,096 × 23 bytes stays far under the thread's 256 KiB event limit. */
export const FEED_PART_KEYS = 4096;

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);
const RPI_HEX = HEX(32);
const AEM_HEX = HEX(8);

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= lo && v <= hi;
}

function onlyFields(doc: Record<string, unknown>, fields: readonly string[], where: string, err: (m: string) => Error): void {
  for (const k of Object.keys(doc)) if (k !== "_id" && !fields.includes(k)) throw err(`${where}.${k}: not a field of ${where}`);
}

/** Checks a scan document strictly; MalformedScanError names the field and the value. */
export function validateScan(value: unknown): ScanDoc {
  const bad = (m: string) => new MalformedScanError(m);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("scans: expected a document");
  const s = value as ScanDoc;
  onlyFields(s, ["rpi", "aem", "t", "rssi", "seconds"], "scans", bad);
  if (typeof s.rpi !== "string" || !RPI_HEX.test(s.rpi))
    throw bad(`scans.rpi: expected 16 bytes as 32 lowercase hex characters, got ${JSON.stringify(s.rpi)?.slice(0, 80)}`);
  if (typeof s.aem !== "string" || !AEM_HEX.test(s.aem))
    throw bad(`scans.aem: expected 4 bytes as 8 lowercase hex characters, got ${JSON.stringify(s.aem)?.slice(0, 80)}`);
  if (!isInt(s.t, 0, 2 ** 32 - 1)) throw bad(`scans.t: expected unix seconds, got ${JSON.stringify(s.t)}`);
  if (!isInt(s.rssi, -127, 20)) throw bad(`scans.rssi: expected an integer -127..20 dBm, got ${JSON.stringify(s.rssi)}`);
  if (!isInt(s.seconds, 1, 1800)) throw bad(`scans.seconds: expected an integer 1..1800, got ${JSON.stringify(s.seconds)}`);
  return s;
}

function validateNotification(value: unknown): NotificationDoc {
  const n = value as NotificationDoc;
  if (n === null || typeof n !== "object") throw new TypeError("notifications: expected a document");
  onlyFields(n, ["day", "level", "weightedMinutes", "feedId", "checkedAt"], "notifications", (m) => new TypeError(m));
  if (!isInt(n.day, 0, 2 ** 31)) throw new RangeError(`notifications.day: expected a unix day, got ${JSON.stringify(n.day)}`);
  if (n.level !== "low" && n.level !== "high")
    throw new TypeError(`notifications.level: expected "low" or "high", got ${JSON.stringify(n.level)}`);
  if (typeof n.weightedMinutes !== "number" || !(n.weightedMinutes >= 0 && n.weightedMinutes < 1e9))
    throw new RangeError(`notifications.weightedMinutes: expected a number >= 0, got ${JSON.stringify(n.weightedMinutes)}`);
  if (typeof n.feedId !== "string" || !/^\d{1,78}$/.test(n.feedId))
    throw new TypeError(`notifications.feedId: expected a decimal feed id, got ${JSON.stringify(n.feedId)}`);
  if (!isInt(n.checkedAt, 0, 2 ** 40))
    throw new RangeError(`notifications.checkedAt: expected unix seconds, got ${JSON.stringify(n.checkedAt)}`);
  return n;
}

function validateFeedBatch(value: unknown): FeedBatchDoc {
  const f = value as FeedBatchDoc;
  if (f === null || typeof f !== "object") throw new TypeError("feeds: expected a document");
  onlyFields(f, ["chainId", "feeds", "feedId", "seq", "cid", "createdAt", "part", "keys"], "feeds", (m) => new TypeError(m));
  if (!isInt(f.chainId, 1, Number.MAX_SAFE_INTEGER))
    throw new TypeError(`feeds.chainId: expected a chain id, got ${JSON.stringify(f.chainId)}`);
  if (typeof f.feeds !== "string" || !/^0x[0-9a-f]{40}$/.test(f.feeds))
    throw new TypeError(`feeds.feeds: expected a lowercase 0x address, got ${JSON.stringify(f.feeds)}`);
  if (typeof f.feedId !== "string" || !/^\d{1,78}$/.test(f.feedId))
    throw new TypeError(`feeds.feedId: expected a decimal feed id, got ${JSON.stringify(f.feedId)}`);
  if (!isInt(f.seq, 1, Number.MAX_SAFE_INTEGER)) throw new RangeError(`feeds.seq: expected 1, 2, …, got ${JSON.stringify(f.seq)}`);
  if (typeof f.cid !== "string" || f.cid.length === 0 || f.cid.length > 128) throw new TypeError("feeds.cid: expected a CID string");
  if (!isInt(f.createdAt, 0, 2 ** 40)) throw new RangeError(`feeds.createdAt: expected unix seconds, got ${JSON.stringify(f.createdAt)}`);
  if (!isInt(f.part, 0, 1024)) throw new RangeError(`feeds.part: expected 0..1024, got ${JSON.stringify(f.part)}`);
  if (!(f.keys instanceof Uint8Array) || f.keys.length % FEED_KEY_BYTES !== 0 || f.keys.length > FEED_PART_KEYS * FEED_KEY_BYTES) {
    throw new TypeError(`feeds.keys: expected up to ${FEED_PART_KEYS} keys of ${FEED_KEY_BYTES} bytes`);
  }
  return f;
}

export const proximity = defineAbility({
  manifest: {
    name: PROXIMITY,
    version: "2.0.0",
    description:
      "Exposure notification (GAEN): advertisements heard from nearby devices and health authorities' published keys, kept 14 days, and the exposures notified.",
    owns: {
      scans: {
        description: "advertisements heard: rolling proximity identifier, encrypted metadata, time, signal strength",
        fields: ["rpi", "aem", "t", "rssi", "seconds"],
        indexes: ["t"],
      },
      notifications: {
        description: "exposures notified to the user: the day and risk level",
        fields: ["day", "level", "weightedMinutes", "feedId", "checkedAt"],
        indexes: ["day"],
      },
      feeds: {
        description: "key batches fetched from health authorities' feeds (public data)",
        fields: ["chainId", "feeds", "feedId", "seq", "cid", "createdAt", "part", "keys"],
        indexes: ["feedId", "createdAt"],
      },
    },
    handles: ["timer"],
  },
  collections: {
    scans: { validate: validateScan },
    notifications: { validate: validateNotification },
    feeds: { validate: validateFeedBatch },
  },
  // Forgets scans and fetched key batches older than 14 days: no published key can match them any more.
  on: {
    timer: async (ctx) => {
      const cutoff = Math.floor(ctx.now() / 1000) - SCAN_RETENTION_DAYS * DAY_S;
      return { pruned: await pruneOlder(ctx, "scans", "t", cutoff), prunedBatches: await pruneOlder(ctx, "feeds", "createdAt", cutoff) };
    },
  },
});

async function pruneOlder(ctx: AbilityContext, collection: string, field: string, cutoff: number): Promise<number> {
  const docs = ctx.collection<Doc>(collection);
  const old = docs.find({ where: { [field]: { lt: cutoff } } });
  for (const d of old) await docs.delete(d._id);
  return old.length;
}
