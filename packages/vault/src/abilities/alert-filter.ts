// The alert-filter ability: decides on the device, from data that never leaves it, whether a public CAP alert from a
// followed feed concerns this user, keeps each alert with that decision, and follows Updates and Cancels.
import * as dagCbor from "@ipld/dag-cbor";
import {
  type AlertFeedRef,
  type AlertState,
  type CapAlert,
  capKey,
  capReferences,
  feedRefProblem,
  parseCapTime,
  validateCap,
} from "@mosaic/alerts";
import { parseCid } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { type AbilityContext, defineAbility } from "../ability.js";
import { type AlertReaders, decideCapAlert } from "../alerts/decide.js";
import { AlertEntryConflictError, MalformedAlertEventError } from "../alerts/errors.js";
import type { CheckIn } from "./health-questionnaire.js";
import { dayOf, type PointChunk } from "./location-history.js";

export const ALERT_FILTER = "alert-filter";

/** What `alert:received` carries: one verified entry of a feed (syncAlerts builds it from syncFeed's VerifiedEntry). */
export interface AlertEvent {
  feed: AlertFeedRef;
  seq: number;
  /** The entry block's CID. */
  cid: string;
  cap: CapAlert;
}

/** An alert as the vault keeps it, with the local decision; `_id` and `key` are alertDocKey(feed, seq). */
export interface AlertDoc extends Doc {
  key: string;
  feed: AlertFeedRef;
  /** `${chainId}:${contract}:${feedId}`, indexed: the documents of one feed. */
  feedKey: string;
  /** `${feedKey}:${seq, 16 digits}`, indexed: the feed's documents in seq order (the later ones, by a range). */
  feedSeq: string;
  seq: number;
  cid: string;
  /** The CAP message's own key, "sender,identifier,sent" (capKey): what Updates and Cancels reference. */
  capKey: string;
  /** The CAP keys this message updates or cancels (capReferences). */
  references: string[];
  msgType: CapAlert["msgType"];
  status: CapAlert["status"];
  /** Of the first info block ("" / "Unknown" when the message has none, as a Cancel may). */
  headline: string;
  event: string;
  severity: string;
  urgency: string;
  certainty: string;
  /** Unix seconds. */
  sent: number;
  /** Unix seconds: the latest expiry of its info blocks; absent when one of them never expires. */
  expires?: number;
  /** Each area's description, in order (at most MAX_AREA_NAMES). */
  areas: string[];
  concerns: boolean;
  reasons: string[];
  /** As stored; "expired" is worked out when read (alertInbox), from `expires`. */
  state: AlertState;
  /** The later message of the same feed that updated or cancelled this one. */
  by?: { seq: number; key: string };
  /** Unix seconds, by the vault's clock. */
  received: number;
  /** The CAP message; absent when it is too large to keep in the thread (capOmitted: fetch entry `cid` again). */
  cap?: CapAlert;
  capOmitted?: true;
}

/** @deprecated the decision is an AlertDoc now (CAP alerts); the name stays for code that imported it. */
export type AlertDecision = AlertDoc;

/** Area names kept per document; the CAP message itself has them all. */
export const MAX_AREA_NAMES = 200;
/** A CAP message larger than this (dag-cbor) is not copied into the document: the thread's events stay well under 256 KiB. */
export const MAX_STORED_CAP_BYTES = 160 * 1024;

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)
    throw new MalformedAlertEventError(`${field}: expected an integer >= 1, got ${typeof value === "number" ? value : typeof value}`);
  return value;
}

/** Checks a feed reference from outside (feedRefProblem); MalformedAlertEventError names the field. Returns a fresh copy. */
export function validateFeedRef(value: unknown, field = "feed"): AlertFeedRef {
  const problem = feedRefProblem(value);
  if (problem !== undefined) throw new MalformedAlertEventError(`${field}: ${problem}`);
  const { chainId, contract, feedId } = value as AlertFeedRef;
  return { chainId, contract, feedId };
}

/** `${chainId}:${contract}:${feedId}`: one feed. */
export function alertFeedKey(feed: AlertFeedRef): string {
  return `${feed.chainId}:${feed.contract}:${feed.feedId}`;
}

function feedSeqOf(feedKey: string, seq: number): string {
  return `${feedKey}:${seq.toString().padStart(16, "0")}`;
}

/** `${chainId}:${contract}:${feedId}:${seq}`: one entry of one feed, the alert's key in the vault and in the reach job. */
export function alertDocKey(feed: AlertFeedRef, seq: number): string {
  return `${alertFeedKey(feed)}:${seq}`;
}

/**
 * Checks what `alert:received` got: exactly `{ feed, seq, cid, cap }`, the CAP message valid (validateCap:
 * InvalidCapError, UnclosedPolygonError). Anything else (an editors' draft, a bare CAP message, a number) is
 * MalformedAlertEventError naming the field.
 */
export function validateAlertEvent(value: unknown): AlertEvent {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array)
    throw new MalformedAlertEventError(
      `alert: expected a feed entry { feed, seq, cid, cap }, got ${value === null ? "null" : typeof value}`,
    );
  const e = value as Record<string, unknown>;
  for (const k of Object.keys(e))
    if (k !== "feed" && k !== "seq" && k !== "cid" && k !== "cap")
      throw new MalformedAlertEventError(`alert.${k.slice(0, 40)}: not a field of a feed entry { feed, seq, cid, cap }`);
  const feed = validateFeedRef(e.feed, "alert.feed");
  const seq = positiveInt(e.seq, "alert.seq");
  if (typeof e.cid !== "string" || e.cid.length > 200)
    throw new MalformedAlertEventError("alert.cid: expected the entry's CID as a string");
  let cid: string;
  try {
    cid = parseCid(e.cid).toString();
  } catch {
    throw new MalformedAlertEventError(`alert.cid: not a CID: ${JSON.stringify(e.cid.slice(0, 80))}`);
  }
  if (e.cap === undefined) throw new MalformedAlertEventError("alert.cap: missing");
  return { feed, seq, cid, cap: validateCap(e.cap) };
}

/** The readers decideCapAlert needs, over this ability's grants. */
export function vaultAlertReaders(ctx: AbilityContext): AlertReaders {
  const points = ctx.read<PointChunk>("location-history/points");
  const checkins = ctx.read<CheckIn>("health-questionnaire/checkins");
  return {
    pointsInDays: (fromDay, toDay) => points.find({ where: { day: { gte: fromDay, lte: toDay } } }),
    checkIns: (fromS, toS) => checkins.find({ where: { day: { gte: dayOf(fromS), lte: dayOf(toS - 1) } } }),
    latestPoint: (atS) => {
      let best: { t: number; lat: number; lon: number } | undefined;
      for (const c of points.find({ where: { day: { lte: dayOf(atS) } }, orderBy: "day", desc: true, limit: 8 })) {
        for (let i = c.t.length - 1; i >= 0; i--) {
          const t = c.t[i] as number;
          if (t > atS) continue;
          if (best === undefined || t > best.t) best = { t, lat: c.lat[i] as number, lon: c.lon[i] as number };
          break;
        }
      }
      return best;
    },
  };
}

/** The state one Update or Cancel at `seq` gives a message it references: a Cancel wins over an Update, then the later one. */
type Reference = { state: "updated" | "cancelled"; by: { seq: number; key: string } };

/** Whether `next` decides the state of a message that `current` (if any) decided so far, as feedView reads the feed. */
function overrides(next: Reference, current: Pick<AlertDoc, "state" | "by">): boolean {
  if (current.state !== "updated" && current.state !== "cancelled") return true;
  if (next.state !== current.state) return next.state === "cancelled";
  return next.by.seq > (current.by?.seq ?? 0);
}

/**
 * The state the later messages of the same feed give this one (every Update and Cancel after it that references its
 * key: a reference applies to every earlier message with that key), or undefined when none does.
 */
function laterState(docs: readonly AlertDoc[], target: { seq: number; capKey: string }): Reference | undefined {
  let out: Reference | undefined;
  for (const d of docs) {
    if (d.seq <= target.seq || (d.msgType !== "Update" && d.msgType !== "Cancel") || !d.references.includes(target.capKey)) continue;
    const next: Reference = { state: d.msgType === "Cancel" ? "cancelled" : "updated", by: { seq: d.seq, key: d.key } };
    if (out === undefined || overrides(next, out)) out = next;
  }
  return out;
}

function summary(
  cap: CapAlert,
): Pick<AlertDoc, "headline" | "event" | "severity" | "urgency" | "certainty" | "sent" | "expires" | "areas"> {
  const first = cap.info[0];
  let expires: number | undefined;
  for (const info of cap.info) {
    if (info.expires === undefined) {
      expires = undefined;
      break;
    }
    expires = Math.max(expires ?? 0, parseCapTime(info.expires));
  }
  const areas = [...new Set(cap.info.flatMap((i) => i.area.map((a) => a.areaDesc)))].slice(0, MAX_AREA_NAMES);
  return {
    headline: first?.headline ?? first?.event ?? "",
    event: first?.event ?? "",
    severity: first?.severity ?? "Unknown",
    urgency: first?.urgency ?? "Unknown",
    certainty: first?.certainty ?? "Unknown",
    sent: parseCapTime(cap.sent),
    ...(expires === undefined ? {} : { expires }),
    areas,
  };
}

/**
 * Keeps one feed entry with its decision (idempotent: the same seq and CID again returns the stored document; the
 * same seq with another CID is AlertEntryConflictError). An Update or Cancel marks the earlier messages of the
 * same feed it references "updated" / "cancelled" (never a later one, never one of another feed); an entry that
 * arrives after a later message referencing it is stored in the state that message gives it.
 */
export async function receiveAlert(ctx: AbilityContext, payload: unknown): Promise<AlertDoc> {
  const event = validateAlertEvent(payload);
  const { feed, seq, cid, cap } = event;
  const alerts = ctx.collection<AlertDoc>("alerts");
  const key = alertDocKey(feed, seq);
  const existing = alerts.get(key);
  if (existing !== undefined) {
    if (existing.cid === cid) return existing;
    throw new AlertEntryConflictError(
      `entry ${seq} of feed ${alertFeedKey(feed)} is ${existing.cid} in this vault, not ${cid}: the feed was rewritten, or this entry belongs to another feed`,
    );
  }
  const nowS = Math.floor(ctx.now() / 1000);
  const decision = decideCapAlert(cap, vaultAlertReaders(ctx), nowS);
  const feedKey = alertFeedKey(feed);
  const own = { seq, capKey: capKey(cap) };
  // Indexed look-ups only (capKey, feedSeq): a feed of thousands of entries syncs without a scan per entry.
  const withKey = (k: string) => alerts.find({ where: { capKey: k } }).filter((d) => d.feedKey === feedKey);
  const isRecord = cap.msgType !== "Alert" && cap.msgType !== "Update";
  // Arriving after a later message that references it (entries given out of order): the state that message gives it.
  const later = isRecord
    ? undefined
    : laterState(alerts.find({ where: { feedSeq: { gt: feedSeqOf(feedKey, seq), lt: `${feedKey};` } } }), own);
  const references = cap.msgType === "Update" || cap.msgType === "Cancel" ? capReferences(cap) : [];
  const keepCap = dagCbor.encode(cap).length <= MAX_STORED_CAP_BYTES;
  const doc = await alerts.create({
    _id: key,
    key,
    feed,
    feedKey,
    feedSeq: feedSeqOf(feedKey, seq),
    seq,
    cid,
    capKey: own.capKey,
    references,
    msgType: cap.msgType,
    status: cap.status,
    ...summary(cap),
    concerns: decision.concerns,
    reasons: decision.reasons,
    state: isRecord ? "record" : (later?.state ?? "active"),
    ...(later?.by === undefined ? {} : { by: later.by }),
    received: nowS,
    ...(keepCap ? { cap } : { capOmitted: true as const }),
  });
  if (references.length > 0) {
    const next: Reference = { state: cap.msgType === "Cancel" ? "cancelled" : "updated", by: { seq, key } };
    // A reference names every earlier message of the feed with that key (a key published twice is cancelled twice, as
    // feedView reads it), and only earlier ones: a message cannot update or cancel itself or a later one.
    for (const ref of new Set(references)) {
      for (const d of withKey(ref)) {
        if (d.seq >= seq || d.state === "record" || !overrides(next, d)) continue;
        await alerts.update(d._id, { ...d, state: next.state, by: next.by });
      }
    }
  }
  return doc;
}

function validateAlertDoc(value: unknown): AlertDoc {
  const d = value as AlertDoc;
  if (typeof d?.key !== "string" || d._id !== d.key) throw new TypeError("alerts.key: expected the document's id");
  validateFeedRef(d.feed, "alerts.feed");
  if (d.feedKey !== alertFeedKey(d.feed) || d.key !== alertDocKey(d.feed, d.seq))
    throw new TypeError("alerts.feedKey: does not match feed and seq");
  if (typeof d.concerns !== "boolean") throw new TypeError("alerts.concerns: expected true or false");
  if (!Array.isArray(d.reasons) || !d.reasons.every((r) => typeof r === "string")) throw new TypeError("alerts.reasons: expected strings");
  if (!Array.isArray(d.references) || !d.references.every((r) => typeof r === "string"))
    throw new TypeError("alerts.references: expected strings");
  if (!["active", "updated", "cancelled", "expired", "record"].includes(d.state))
    throw new TypeError(`alerts.state: unknown ${String(d.state)}`);
  if (!Number.isSafeInteger(d.sent) || !Number.isSafeInteger(d.received))
    throw new TypeError("alerts.sent/received: expected unix seconds");
  return d;
}

/**
 * An anchored entry of a followed feed that can never be read (syncFeedSkipping's FeedGap): its block is the one the
 * chain anchored, but no valid entry of the feed. Kept with the feed so it is not fetched again, and shown.
 */
export interface AlertGapRecord {
  seq: number;
  /** The CID anchored for it. */
  cid: string;
  /** The error's name (InvalidCapError, MalformedEntryError, …). */
  error: string;
  /** The error's message, at most MAX_GAP_REASON characters. */
  reason: string;
  /** Unix seconds, by the vault's clock, when a sync found it. */
  found: number;
}

/** Gaps kept per feed (the latest); `gapCount` counts them all. */
export const MAX_KEPT_GAPS = 100;
/** Characters of a gap's reason kept. */
export const MAX_GAP_REASON = 500;

/**
 * A followed feed and the head the vault holds of it (seq 0, cid null: nothing yet): the last entry stored or gap
 * found, whichever is later — the next sync starts after it.
 */
export interface AlertFeedDoc extends Doc {
  chainId: number;
  contract: string;
  feedId: number;
  seq: number;
  cid: string | null;
  /** Unix seconds. */
  followed: number;
  synced?: number;
  /** The latest gaps found, in seq order (at most MAX_KEPT_GAPS). */
  gaps?: AlertGapRecord[];
  /** Every gap found, including those no longer kept in `gaps`. */
  gapCount?: number;
}

function validateFeedDoc(value: unknown): AlertFeedDoc {
  const d = value as AlertFeedDoc;
  const ref = validateFeedRef({ chainId: d?.chainId, contract: d?.contract, feedId: d?.feedId }, "feeds");
  if (d._id !== alertFeedKey(ref)) throw new TypeError("feeds._id: expected chainId:contract:feedId");
  if (!Number.isSafeInteger(d.seq) || d.seq < 0) throw new TypeError("feeds.seq: expected an integer >= 0");
  if ((d.seq === 0) !== (d.cid === null) || (d.cid !== null && typeof d.cid !== "string"))
    throw new TypeError("feeds.cid: expected the head's CID, null at seq 0");
  if (d.gaps !== undefined) {
    if (!Array.isArray(d.gaps) || d.gaps.length > MAX_KEPT_GAPS) throw new TypeError(`feeds.gaps: expected at most ${MAX_KEPT_GAPS} gaps`);
    let last = 0;
    for (const g of d.gaps) {
      if (!Number.isSafeInteger(g?.seq) || g.seq <= last || g.seq > d.seq)
        throw new TypeError("feeds.gaps: expected seqs ascending, up to the head");
      last = g.seq;
      if (typeof g.cid !== "string" || typeof g.error !== "string" || typeof g.reason !== "string" || g.reason.length > MAX_GAP_REASON)
        throw new TypeError("feeds.gaps: expected { seq, cid, error, reason, found }");
      if (!Number.isSafeInteger(g.found)) throw new TypeError("feeds.gaps.found: expected unix seconds");
    }
    if (!Number.isSafeInteger(d.gapCount) || (d.gapCount as number) < d.gaps.length)
      throw new TypeError("feeds.gapCount: expected the number of gaps found, at least those kept");
  }
  return d;
}

export const alertFilter = defineAbility({
  manifest: {
    name: ALERT_FILTER,
    version: "2.0.0",
    description:
      "Decides on this device which public alerts (CAP 1.2, from feeds you follow) concern you, from your location history and check-ins.",
    owns: {
      alerts: {
        description: "alerts received from followed feeds and the local decision",
        fields: [
          "key",
          "feed",
          "feedKey",
          "feedSeq",
          "seq",
          "cid",
          "capKey",
          "references",
          "msgType",
          "status",
          "headline",
          "event",
          "severity",
          "urgency",
          "certainty",
          "sent",
          "expires",
          "areas",
          "concerns",
          "reasons",
          "state",
          "by",
          "received",
          "cap",
        ],
        indexes: ["feedKey", "feedSeq", "capKey", "concerns", "sent"],
      },
      feeds: {
        description: "alert feeds followed, and the head held of each",
        fields: ["chainId", "contract", "feedId", "seq", "cid", "followed", "synced", "gaps", "gapCount"],
      },
    },
    reads: ["location-history/points", "health-questionnaire/checkins"],
    handles: ["alert:received"],
  },
  collections: { alerts: { validate: validateAlertDoc }, feeds: { validate: validateFeedDoc } },
  on: { "alert:received": receiveAlert },
});
