// One exposure check from the browser, in the vault's steps: follow the feed (chain, then IPFS), fetch its signed risk
// configuration, match and score here. Only public data is fetched; the result stays in the vault.
import type { ExposureResult, RiskConfig } from "@mosaic/exposure";
import { checkExposure, fetchRiskConfig, followKeyFeed, keyFeedRef, storedScans, type Vault } from "@mosaic/vault";
import type { ExposureNet } from "./exposure-net.ts";

export type CheckStep = "batches" | "config" | "match";

export interface FeedCheck {
  feedId: string;
  result: ExposureResult;
  config: RiskConfig;
  /** Published keys of the last 14 days matched. */
  keys: number;
  /** Stored scans of the last 14 days. */
  scans: number;
  /** Seconds the matching and scoring took. */
  seconds: number;
}

const DAY_S = 86_400;

export async function checkFeed(
  net: ExposureNet,
  vault: Vault,
  feedId: bigint,
  options: { onStep?: (step: CheckStep, detail?: string) => void; signal?: AbortSignal } = {},
): Promise<FeedCheck> {
  const { onStep, signal } = options;
  // The device's clock, as a phone's: scans carry it.
  const now = Math.floor(Date.now() / 1000);
  const components = await net.components();
  onStep?.("batches");
  let fetched = 0;
  const keys = await followKeyFeed(components, vault, feedId, {
    now,
    signal,
    onBatch: (b) => onStep?.("batches", `batch ${b.seq}: ${b.keys} key(s) (${++fetched} fetched)`),
  });
  onStep?.("config");
  const config = await fetchRiskConfig(components, feedId, { signal });
  onStep?.("match");
  // Let the progress draw before the matching takes the thread.
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  const scans = storedScans(vault, { from: now - 14 * DAY_S, to: now + 1 }).length;
  const result = await checkExposure(vault, { keys, config, now, feed: await keyFeedRef(components, feedId) });
  return { feedId: feedId.toString(), result, config, keys: keys.length, scans, seconds: (performance.now() - started) / 1000 };
}
