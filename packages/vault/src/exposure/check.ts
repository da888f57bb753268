// Checking for exposure on the device: published keys expanded and matched against the stored scans, scored with the
// health authority's risk configuration. The result is shown to the user and nothing about it leaves the vault.
import { type ExposureResult, KEY_RETENTION_DAYS, matchKeys, type PublishedKey, type RiskConfig, scoreExposure } from "@mosaic/exposure";
import { type NotificationDoc, PROXIMITY } from "../abilities/proximity.js";
import type { Vault } from "../vault.js";
import type { FeedRef } from "./feed.js";
import { storedScans } from "./scans.js";

const DAY_S = 86_400;

interface CheckExposureBase {
  /** The published keys to match (followKeyFeed's). */
  keys: Iterable<PublishedKey>;
  /** The feed's risk configuration (fetchRiskConfig's). */
  config: RiskConfig;
  /** Unix seconds: scans of the 14 days before are matched. */
  now: number;
}

export interface CheckExposureInit extends CheckExposureBase {
  /**
   * The feed the keys came from: chain, ExposureFeeds contract and feed id (keyFeedRef's). A notification is kept per
   * feed and day, so feed 1 of another contract or chain is another feed.
   */
  feed: FeedRef;
}

/** The notification's document id: chain, contract, feed and day. */
function notificationKey(init: CheckExposureInit): { feedId: string; key: (day: number) => string } {
  const { feed } = init;
  if (typeof feed !== "object" || feed === null)
    throw new TypeError(`feed: expected { chainId, feeds, feedId } (keyFeedRef's), got ${feed === null ? "null" : typeof feed}`);
  if (!Number.isSafeInteger(feed.chainId) || feed.chainId < 1)
    throw new RangeError(`feed.chainId: expected a chain id (an integer >= 1), got ${JSON.stringify(feed.chainId)}`);
  if (typeof feed.feeds !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(feed.feeds))
    throw new TypeError(`feed.feeds: expected the ExposureFeeds address (0x and 40 hex digits), got ${JSON.stringify(feed.feeds)}`);
  if (typeof feed.feedId !== "string" || !/^\d{1,78}$/.test(feed.feedId))
    throw new RangeError(`feed.feedId: expected a decimal feed id, got ${JSON.stringify(feed.feedId)}`);
  const feeds = feed.feeds.toLowerCase();
  return { feedId: feed.feedId, key: (day) => `${feed.chainId}:${feeds}:${feed.feedId}:${day}` };
}

/**
 * Matches `keys` against the scans of the last 14 days and scores the exposure windows (matchKeys, scoreExposure),
 * all on this device. When the level is not "none", records a notification in the proximity ability (one per feed —
 * chain, ExposureFeeds contract and feed id — and exposure day: a later check of the same day updates it), which is
 * what the aggregate exposure-statistics job counts. Returns the result with the advice to show. A malformed `feed`
 * is a TypeError/RangeError naming the field, before anything is matched or recorded.
 */
export async function checkExposure(vault: Vault, init: CheckExposureInit): Promise<ExposureResult> {
  const { now, config } = init;
  const { feedId, key } = notificationKey(init);
  const from = now - KEY_RETENTION_DAYS * DAY_S;
  const scans = storedScans(vault, { from, to: now + 1 });
  const result = scoreExposure(matchKeys(init.keys, scans, { from, to: now }), config);
  if (result.level !== "none" && result.mostRecentDay !== null) {
    const day = result.mostRecentDay;
    const doc = {
      day,
      level: result.level,
      weightedMinutes: result.days.find((d) => d.day === day)?.weightedMinutes ?? 0,
      feedId,
      checkedAt: now,
    };
    const notifications = vault.ability(PROXIMITY).collection<NotificationDoc>("notifications");
    const _id = key(day);
    const known = notifications.get(_id);
    if (known === undefined) await notifications.create({ _id, ...doc });
    else if (known.level !== doc.level || known.weightedMinutes !== doc.weightedMinutes) await notifications.update(_id, doc);
  }
  return result;
}

/** The exposures this vault notified its user of, most recent day first. */
export function exposureNotifications(vault: Vault): NotificationDoc[] {
  return vault.ability(PROXIMITY).read<NotificationDoc>("notifications").find({ orderBy: "day", desc: true });
}
