// The vault's Temporary Exposure Keys and advertisements, derived from its root seed so recovery restores them.
import {
  advertisementAt,
  checkKeyAge,
  dailyKey,
  exposureRootFromSeed,
  type RadioAdapter,
  type TemporaryExposureKey,
  unixDayOf,
} from "@mosaic/exposure";
import type { Vault } from "../vault.js";

/** The transmit power a vault's advertisements declare in their metadata when the radio does not say, dBm. */
export const DEFAULT_TX_POWER_DBM = -8;

/** The root every key of this vault derives from (exposure's exposureRootFromSeed of the vault seed). Never leaves the vault. */
export function exposureRoot(vault: Vault): Uint8Array {
  return exposureRootFromSeed(vault.rootSeed);
}

/**
 * The vault's key of unix day `unixDay`, as seen at `now` (unix s). KeyExpiredError for a day more than 14 days
 * before `now`'s: such a key is deleted and never handed out again.
 */
export function temporaryExposureKey(vault: Vault, unixDay: number, now: number): TemporaryExposureKey {
  checkKeyAge(unixDay, now);
  return dailyKey(exposureRoot(vault), unixDay);
}

/** The key in use at `now` (today's). */
export function currentKey(vault: Vault, now: number): TemporaryExposureKey {
  return temporaryExposureKey(vault, unixDayOf(now), now);
}

/**
 * Hands the radio what to advertise during `now`'s interval: the Rolling Proximity Identifier and the encrypted
 * metadata of today's key. A phone calls this at every new interval (every 10 minutes).
 */
export async function advertise(
  vault: Vault,
  radio: Pick<RadioAdapter, "advertise">,
  now: number,
  options: {
    /** The transmit power the metadata declares. @default DEFAULT_TX_POWER_DBM */
    txPowerDbm?: number;
  } = {},
): Promise<void> {
  await radio.advertise(advertisementAt(exposureRoot(vault), now, options.txPowerDbm ?? DEFAULT_TX_POWER_DBM));
}
