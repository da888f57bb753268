// Following public alert feeds: the feeds a vault follows and the head it holds of each, syncing them from any
// replica against the on-chain head (syncFeed checks every entry), and the inbox. Pull only: the chain and IPFS see
// reads of public data, never which alert concerned this user.
import {
  type AlertFeedChain,
  type AlertFeedRef,
  type BlockGetter,
  checkFeedRef,
  type FeedGap,
  type SkippingSync,
  syncFeedSkipping,
  type VerifiedEntry,
} from "@mosaic/alerts";
import { parseCid } from "@mosaic/protocol";
import {
  ALERT_FILTER,
  type AlertDoc,
  type AlertEvent,
  type AlertFeedDoc,
  type AlertGapRecord,
  alertDocKey,
  alertFeedKey,
  MAX_GAP_REASON,
  MAX_KEPT_GAPS,
  vaultAlertReaders,
} from "../abilities/alert-filter.js";
import type { Vault } from "../vault.js";
import { decideCapAlert } from "./decide.js";
import { AmbiguousAlertChainError } from "./errors.js";

function feeds(vault: Vault) {
  return vault.ability(ALERT_FILTER).collection<AlertFeedDoc>("feeds");
}

function refOf(d: AlertFeedDoc): AlertFeedRef {
  return { chainId: d.chainId, contract: d.contract, feedId: d.feedId };
}

/** A followed feed and the head this vault holds of it. */
export interface FollowedAlertFeed {
  feed: AlertFeedRef;
  /** The last entry stored (0: none yet). */
  seq: number;
  cid: string | null;
  /** Unix seconds. */
  followed: number;
  synced?: number;
  /** Entries of the feed that can never be read (the latest MAX_KEPT_GAPS), in seq order; see alertInbox's `gaps`. */
  gaps: AlertGapRecord[];
  /** Every gap found, including those no longer kept. */
  gapCount: number;
}

function followedOf(d: AlertFeedDoc): FollowedAlertFeed {
  return {
    feed: refOf(d),
    seq: d.seq,
    cid: d.cid,
    followed: d.followed,
    ...(d.synced === undefined ? {} : { synced: d.synced }),
    gaps: d.gaps ?? [],
    gapCount: d.gapCount ?? 0,
  };
}

/** A copy of a feed reference given as an argument; TypeError naming the field (checkFeedRef). */
function feedArg(ref: AlertFeedRef): AlertFeedRef {
  const { chainId, contract, feedId } = checkFeedRef(ref, "feed");
  return { chainId, contract, feedId };
}

/** Follows a feed (its alerts arrive with the next syncAlerts); following it again changes nothing. */
export async function followAlertFeed(vault: Vault, ref: AlertFeedRef): Promise<FollowedAlertFeed> {
  const feed = feedArg(ref);
  const collection = feeds(vault);
  const _id = alertFeedKey(feed);
  const existing = collection.get(_id);
  if (existing !== undefined) return followedOf(existing);
  return followedOf(
    await collection.create({ _id, ...feed, seq: 0, cid: null, followed: Math.floor(vault.ability(ALERT_FILTER).now() / 1000) }),
  );
}

/**
 * Stops following a feed; returns whether it was followed. Its alerts stay in the inbox unless `forget`, which
 * deletes them too.
 */
export async function unfollowAlertFeed(vault: Vault, ref: AlertFeedRef, options: { forget?: boolean } = {}): Promise<boolean> {
  const feed = feedArg(ref);
  const collection = feeds(vault);
  const _id = alertFeedKey(feed);
  const was = collection.get(_id) !== undefined;
  if (was) await collection.delete(_id);
  if (options.forget === true) {
    const alerts = vault.ability(ALERT_FILTER).collection<AlertDoc>("alerts");
    for (const d of alerts.find({ where: { feedKey: _id } })) await alerts.delete(d._id);
  }
  return was;
}

/** The feeds this vault follows, in the order of their keys. */
export function followedAlertFeeds(vault: Vault): FollowedAlertFeed[] {
  return vault.ability(ALERT_FILTER).read<AlertFeedDoc>("feeds").find().map(followedOf);
}

export interface SyncAlertsOptions {
  /** The AlertFeeds contract the chain reader reads (alertFeedChain's): only followed feeds of it are synced. @default every followed feed, which must then all be of one contract */
  on?: { chainId: number; contract: string };
  signal?: AbortSignal;
  /** Entries fetched and checked so far of the feed being synced, and how many it has to fetch. */
  onProgress?: (done: number, total: number, feed: AlertFeedRef) => void;
  /** Per feed, at most this many entries in one sync (syncFeed's maxEntries). @default syncFeed's */
  maxEntries?: number;
}

export interface SyncAlertsResult {
  /** Feeds brought up to their chain head. */
  feeds: number;
  /** Entries stored that the vault did not hold. */
  added: number;
  /**
   * Of those, the alerts that concern this user once the sync is done: in force (active, not expired) — not those a
   * later entry of the same sync updated or cancelled.
   */
  concerning: number;
  /** Entries found this sync that can never be read (each feed's head moved past them; see alertInbox's `gaps`). */
  gaps: ({ feed: AlertFeedRef } & AlertGapRecord)[];
  /**
   * Feeds that could not be brought up to date, and why: FeedUnavailableError (a block no replica served, or other
   * bytes served for it: the entries before it were stored, try again later), ForkedFeedError, StaleHeadError, …
   * (nothing of the feed was stored), or an entry the alert filter refused (AlertEntryConflictError; the entries
   * before it were).
   */
  failed: { feed: AlertFeedRef; error: Error }[];
}

function gapRecord(gap: FeedGap, found: number): AlertGapRecord {
  return { seq: gap.seq, cid: gap.cid.toString(), error: gap.error, reason: gap.reason.slice(0, MAX_GAP_REASON), found };
}

/**
 * Brings every followed feed up to date: syncFeedSkipping from the head the vault holds (each entry's CID anchored
 * on-chain, hash-linked, signed by enough editors of its epoch, its CAP valid), then each verified entry, oldest
 * first, to the abilities that handle `alert:received` (the alert filter decides and stores it), the held head moving
 * with each. An anchored entry that can never be read (a gap: its block is the anchored one but no valid entry) is
 * kept with the feed, the head moving past it, so it is not fetched again; alertInbox shows it. A block no replica
 * serves stops that feed at the entry before it (in `failed`); a feed that fails is reported and the others still sync.
 */
export async function syncAlerts(
  vault: Vault,
  components: { chain: AlertFeedChain; blocks: BlockGetter },
  options: SyncAlertsOptions = {},
): Promise<SyncAlertsResult> {
  const ctx = vault.ability(ALERT_FILTER);
  const collection = feeds(vault);
  let followed = collection.find();
  if (options.on !== undefined) {
    const { chainId, contract } = options.on;
    followed = followed.filter((d) => d.chainId === chainId && d.contract === contract.toLowerCase());
  } else if (new Set(followed.map((d) => `${d.chainId}:${d.contract}`)).size > 1) {
    throw new AmbiguousAlertChainError(
      `this vault follows feeds of ${new Set(followed.map((d) => `${d.chainId}:${d.contract}`)).size} AlertFeeds contracts: pass options.on ({ chainId, contract }) for the one this chain reader reads`,
    );
  }
  const result: SyncAlertsResult = { feeds: 0, added: 0, concerning: 0, gaps: [], failed: [] };
  const added: string[] = [];
  for (const start of followed) {
    const ref = refOf(start);
    let synced: SkippingSync;
    try {
      synced = await syncFeedSkipping(ref, components.chain, components.blocks, {
        ...(start.seq > 0 && start.cid !== null ? { known: { seq: start.seq, cid: parseCid(start.cid) } } : {}),
        ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: (done, total) => options.onProgress?.(done, total, ref),
      });
    } catch (err) {
      options.signal?.throwIfAborted();
      result.failed.push({ feed: ref, error: err as Error });
      continue;
    }
    // Entries and gaps in seq order: the held head moves over each, so an interrupted sync resumes after the last.
    const steps: ({ seq: number; entry: VerifiedEntry } | { seq: number; gap: FeedGap })[] = [
      ...synced.entries.map((entry) => ({ seq: entry.seq, entry })),
      ...synced.gaps.map((gap) => ({ seq: gap.seq, gap })),
    ].sort((a, b) => a.seq - b.seq);
    const alerts = ctx.read<AlertDoc>("alerts");
    let complete = synced.unavailable === undefined;
    try {
      for (const step of steps) {
        options.signal?.throwIfAborted();
        if ("entry" in step) {
          const { entry } = step;
          const key = alertDocKey(ref, entry.seq);
          const had = alerts.get(key) !== undefined;
          const event: AlertEvent = { feed: ref, seq: entry.seq, cid: entry.cid.toString(), cap: entry.entry.cap };
          await vault.dispatch("alert:received", event);
          if (!had) {
            result.added++;
            added.push(key);
          }
        }
        const current = collection.get(start._id);
        if (current === undefined) break; // unfollowed meanwhile
        if ("entry" in step) {
          await collection.update(start._id, { ...current, seq: step.seq, cid: step.entry.cid.toString() });
        } else {
          const gap = gapRecord(step.gap, Math.floor(ctx.now() / 1000));
          const gaps = [...(current.gaps ?? []), gap].slice(-MAX_KEPT_GAPS);
          await collection.update(start._id, { ...current, seq: gap.seq, cid: gap.cid, gaps, gapCount: (current.gapCount ?? 0) + 1 });
          result.gaps.push({ feed: ref, ...gap });
        }
      }
    } catch (err) {
      // An entry the vault cannot keep (AlertEntryConflictError: it holds another CID at that seq): the head stays at
      // the last entry stored, and the next sync tries from there.
      options.signal?.throwIfAborted();
      result.failed.push({ feed: ref, error: err as Error });
      complete = false;
      continue;
    }
    if (synced.unavailable !== undefined) result.failed.push({ feed: ref, error: synced.unavailable });
    const current = collection.get(start._id);
    if (current !== undefined && complete) await collection.update(start._id, { ...current, synced: Math.floor(ctx.now() / 1000) });
    if (complete) result.feeds++;
  }
  // Counted once every feed is stored: an alert an Update or Cancel of the same sync replaced does not count.
  const nowS = Math.floor(ctx.now() / 1000);
  const alerts = ctx.read<AlertDoc>("alerts");
  for (const key of added) {
    const d = alerts.get(key);
    if (d?.concerns && d.state === "active" && !(d.expires !== undefined && d.expires < nowS)) result.concerning++;
  }
  return result;
}

/**
 * Decides the stored alerts again (those active, updated or expired whose CAP message the vault kept), after the
 * location history or check-ins changed — an imported file can show the user was in an area after all. Returns how
 * many decisions changed; nothing leaves the vault.
 */
export async function recheckAlerts(vault: Vault): Promise<{ checked: number; changed: number }> {
  const ctx = vault.ability(ALERT_FILTER);
  const alerts = ctx.collection<AlertDoc>("alerts");
  const readers = vaultAlertReaders(ctx);
  const nowS = Math.floor(ctx.now() / 1000);
  let checked = 0;
  let changed = 0;
  for (const d of alerts.find()) {
    if (d.cap === undefined || d.state === "record" || d.state === "cancelled") continue;
    checked++;
    const { concerns, reasons } = decideCapAlert(d.cap, readers, nowS);
    if (concerns === d.concerns && reasons.length === d.reasons.length && reasons.every((r, i) => r === d.reasons[i])) continue;
    await alerts.update(d._id, { ...d, concerns, reasons });
    changed++;
  }
  return { checked, changed };
}

/** An alert as the inbox shows it: the stored document, its state as of now ("expired" once every info has expired). */
export type InboxItem = AlertDoc & { kind?: "alert" };

/** An entry of a followed feed that can never be read, as alertInbox shows it with `gaps`. */
export interface InboxGap extends AlertGapRecord {
  kind: "gap";
  /** alertDocKey of the entry's seq (no alert is stored under it). */
  key: string;
  feed: AlertFeedRef;
  feedKey: string;
  /** In words: "entry 7 of feed 31337:0x…:1 could not be read: InvalidCapError: …". */
  text: string;
}

export interface AlertInboxOptions {
  /** Updated (superseded) and cancelled alerts and the Cancel messages themselves too. @default false */
  all?: boolean;
  /** Unix seconds: what has expired. @default the vault's clock */
  nowS?: number;
  /** The followed feeds' entries that can never be read too (InboxGap), after the active alerts. @default false */
  gaps?: boolean;
}

/** The entries of the followed feeds (or of `feed`) that can never be read, newest first. */
export function alertFeedGaps(vault: Vault, feed?: AlertFeedRef): InboxGap[] {
  const only = feed === undefined ? undefined : alertFeedKey(feedArg(feed));
  const out: InboxGap[] = [];
  for (const d of vault.ability(ALERT_FILTER).read<AlertFeedDoc>("feeds").find()) {
    const ref = refOf(d);
    const feedKey = alertFeedKey(ref);
    if (only !== undefined && feedKey !== only) continue;
    for (const g of d.gaps ?? [])
      out.push({
        kind: "gap",
        ...g,
        key: alertDocKey(ref, g.seq),
        feed: ref,
        feedKey,
        text: `entry ${g.seq} of feed ${feedKey} could not be read: ${g.error}: ${g.reason}`,
      });
  }
  return out.sort((a, b) => b.found - a.found || b.seq - a.seq || a.feedKey.localeCompare(b.feedKey));
}

/** Where gaps go among the states' ranks: after the active alerts. */
const GAP_RANK = 1;
const RANK: Record<string, number> = { active: 0, expired: 2, updated: 3, cancelled: 4, record: 5 };

/**
 * The alerts to show: active ones, those that concern this user first, then expired ones, newest first within each.
 * Updated (superseded), cancelled alerts and the Cancel messages themselves only with `all`; with `gaps`, the
 * entries of followed feeds that could not be read (InboxGap, `kind: "gap"`) after the active alerts.
 */
export function alertInbox(vault: Vault, options: AlertInboxOptions & { gaps: true }): (InboxItem | InboxGap)[];
export function alertInbox(vault: Vault, options?: AlertInboxOptions): InboxItem[];
export function alertInbox(vault: Vault, options: AlertInboxOptions = {}): (InboxItem | InboxGap)[] {
  const nowS = options.nowS ?? Math.floor(vault.ability(ALERT_FILTER).now() / 1000);
  const items = vault
    .ability(ALERT_FILTER)
    .read<AlertDoc>("alerts")
    .find()
    .map((d): InboxItem => (d.state === "active" && d.expires !== undefined && d.expires < nowS ? { ...d, state: "expired" } : d))
    .filter((d) => options.all === true || d.state === "active" || d.state === "expired")
    .sort(
      (a, b) =>
        (RANK[a.state] ?? 9) - (RANK[b.state] ?? 9) ||
        Number(b.concerns) - Number(a.concerns) ||
        b.sent - a.sent ||
        a.key.localeCompare(b.key),
    );
  if (options.gaps !== true) return items;
  const at = items.findIndex((i) => (RANK[i.state] ?? 9) > GAP_RANK);
  const gaps = alertFeedGaps(vault);
  return at < 0 ? [...items, ...gaps] : [...items.slice(0, at), ...gaps, ...items.slice(at)];
}
