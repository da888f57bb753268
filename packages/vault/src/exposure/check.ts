// Checking for exposure on the device: published keys expanded and matched against the stored scans, scored with the
// health authority's risk configuration. The result is shown to the user and nothing about it leaves the vault.
import { type ExposureResult, KEY_RETENTION_DAYS, matchKeys, type PublishedKey, type RiskConfig, scoreExposure } from "@mosaic/exposure";
import { type NotificationDoc, PROXIMITY } from "../abilities/proximity.js";
import type { Vault } from "../vault.js";
import { storedScans } from "./scans.js";

const DAY_S = 86_400;

export interface CheckExposureInit {
  /** The published keys to match (followKeyFeed's). */
  keys: Iterable<PublishedKey>;
  /** The feed's risk configuration (fetchRiskConfig's). */
  config: RiskConfig;
  /** Unix seconds: scans of the 14 days before are matched. */
  now: number;
  /** The feed the keys came from (decimal), recorded with a notification. */
  feedId: string;
}

/**
 * Matches `keys` against the scans of the last 14 days and scores the exposure windows (matchKeys, scoreExposure),
 * all on this device. When the level is not "none", records a notification in the proximity ability (one per feed
 * and exposure day: a later check of the same day updates it), which is what the aggregate exposure-statistics job
 * counts. Returns the result with the advice to show.
 */
export async function checkExposure(vault: Vault, init: CheckExposureInit): Promise<ExposureResult> {
  const { now, config } = init;
  const from = now - KEY_RETENTION_DAYS * DAY_S;
  const scans = storedScans(vault, { from, to: now + 1 });
  const result = scoreExposure(matchKeys(init.keys, scans, { from, to: now }), config);
  if (result.level !== "none" && result.mostRecentDay !== null) {
    const { feedId } = init;
    const day = result.mostRecentDay;
    const doc = {
      day,
      level: result.level,
      weightedMinutes: result.days.find((d) => d.day === day)?.weightedMinutes ?? 0,
      feedId,
      checkedAt: now,
    };
    const notifications = vault.ability(PROXIMITY).collection<NotificationDoc>("notifications");
    const _id = `${feedId}:${day}`;
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
