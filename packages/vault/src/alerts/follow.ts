// Following public alert feeds: the feeds a vault follows and the head it holds of each, syncing them from any
// replica against the on-chain head (syncFeed checks every entry), and the inbox. Pull only: the chain and IPFS see
// reads of public data, never which alert concerned this user.
import { type AlertFeedChain, type AlertFeedRef, type BlockGetter, checkFeedRef, syncFeed, type VerifiedEntry } from "@mosaic/alerts";
import { parseCid } from "@mosaic/protocol";
import {
  ALERT_FILTER,
  type AlertDoc,
  type AlertEvent,
  type AlertFeedDoc,
  alertFeedKey,
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
}

function followedOf(d: AlertFeedDoc): FollowedAlertFeed {
  return { feed: refOf(d), seq: d.seq, cid: d.cid, followed: d.followed, ...(d.synced === undefined ? {} : { synced: d.synced }) };
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
  /** Feeds synced. */
  feeds: number;
  /** Entries stored that the vault did not hold. */
  added: number;
  /** Of those, alerts that concern this user. */
  concerning: number;
  /**
   * Feeds that could not be synced, and why: FeedUnavailableError, ForkedFeedError, StaleHeadError, … (nothing of
   * them was stored), or an entry the alert filter refused (AlertEntryConflictError; the entries before it were).
   */
  failed: { feed: AlertFeedRef; error: Error }[];
}

/**
 * Brings every followed feed up to date: syncFeed from the head the vault holds (each entry's CID anchored on-chain,
 * hash-linked, signed by enough editors of its epoch, its CAP valid), then each verified entry, oldest first, to the
 * abilities that handle `alert:received` (the alert filter decides and stores it), the held head moving with each.
 * A feed that fails is reported in `failed` and the others still sync.
 */
export async function syncAlerts(
  vault: Vault,
  components: { chain: AlertFeedChain; blocks: BlockGetter },
  options: SyncAlertsOptions = {},
): Promise<SyncAlertsResult> {
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
  const result: SyncAlertsResult = { feeds: 0, added: 0, concerning: 0, failed: [] };
  for (const start of followed) {
    const ref = refOf(start);
    let entries: VerifiedEntry[];
    try {
      entries = await syncFeed(ref, components.chain, components.blocks, {
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
    const alerts = vault.ability(ALERT_FILTER).read<AlertDoc>("alerts");
    try {
      for (const entry of entries) {
        options.signal?.throwIfAborted();
        const had = alerts.get(`${alertFeedKey(ref)}:${entry.seq}`) !== undefined;
        const event: AlertEvent = { feed: ref, seq: entry.seq, cid: entry.cid.toString(), cap: entry.entry.cap };
        const doc = (await vault.dispatch("alert:received", event))[ALERT_FILTER] as AlertDoc;
        if (!had) {
          result.added++;
          if (doc.concerns && doc.state === "active") result.concerning++;
        }
        const current = collection.get(start._id);
        if (current === undefined) break; // unfollowed meanwhile
        await collection.update(start._id, { ...current, seq: entry.seq, cid: entry.cid.toString() });
      }
    } catch (err) {
      // An entry the vault cannot keep (AlertEntryConflictError: it holds another CID at that seq): the head stays at
      // the last entry stored, and the next sync tries from there.
      options.signal?.throwIfAborted();
      result.failed.push({ feed: ref, error: err as Error });
      continue;
    }
    const current = collection.get(start._id);
    if (current !== undefined)
      await collection.update(start._id, { ...current, synced: Math.floor(vault.ability(ALERT_FILTER).now() / 1000) });
    result.feeds++;
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
export type InboxItem = AlertDoc;

const RANK: Record<string, number> = { active: 0, expired: 1, updated: 2, cancelled: 3, record: 4 };

/**
 * The alerts to show: active ones, those that concern this user first, then expired ones, newest first within each.
 * Updated (superseded), cancelled alerts and the Cancel messages themselves only with `all`.
 */
export function alertInbox(vault: Vault, options: { all?: boolean; nowS?: number } = {}): InboxItem[] {
  const nowS = options.nowS ?? Math.floor(vault.ability(ALERT_FILTER).now() / 1000);
  const items = vault
    .ability(ALERT_FILTER)
    .read<AlertDoc>("alerts")
    .find()
    .map((d): InboxItem => (d.state === "active" && d.expires !== undefined && d.expires < nowS ? { ...d, state: "expired" } : d))
    .filter((d) => options.all === true || d.state === "active" || d.state === "expired");
  return items.sort(
    (a, b) =>
      (RANK[a.state] ?? 9) - (RANK[b.state] ?? 9) ||
      Number(b.concerns) - Number(a.concerns) ||
      b.sent - a.sent ||
      a.key.localeCompare(b.key),
  );
}
