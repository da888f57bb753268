// exposure.match_100k_keys_s: a device checks 100,000 published keys (14 days of them, 144 intervals each) against
// its own 14 days of scans, on one core. The same run times the pure-JS path (@noble AES, what a browser runs) on a
// tenth of the keys as the baseline, scaled to 100,000. BENCH_KEYS (default 100,000) sets the keys. Matching is single-threaded, so the value is the
// process's CPU time (user + system) for the call: "on one core" even when others share the machine; the wall
// time is reported beside it (`wall_s`), with the load average the run saw.
import { randomBytes } from "node:crypto";
import os from "node:os";
import {
  advertisementAt,
  exposureRootFromSeed,
  keysToUpload,
  matchKeys,
  type PublishedKey,
  REPORT_TYPES,
  type ScanRecord,
} from "@mosaic/exposure";
import * as nobleAes from "../../packages/exposure/src/aes.browser.js";
import { matchKeysWith } from "../../packages/exposure/src/match.js";
import type { Figure } from "../shared.js";

const DAY_S = 86_400;
const progress = (message: string) => process.stderr.write(`exposure match: ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The published keys: `count` random daily keys spread over the 14 days before `now`, plus the positives' keys. */
function publishedKeys(count: number, now: number, positives: PublishedKey[]): PublishedKey[] {
  const today = Math.floor(now / DAY_S);
  const keys: PublishedKey[] = [];
  const bytes = randomBytes(16 * count);
  for (let i = 0; i < count - positives.length; i++) {
    keys.push({
      key: bytes.subarray(i * 16, i * 16 + 16),
      rollingStartIntervalNumber: (today - 14 + (i % 14)) * 144,
      rollingPeriod: 144,
      reportType: REPORT_TYPES[i % 2] as PublishedKey["reportType"],
      daysSinceOnsetOfSymptoms: (i % 14) - 10,
    });
  }
  // The positives' keys go somewhere in the middle, as they would in a batch.
  keys.splice(Math.floor(keys.length / 2), 0, ...positives);
  return keys;
}

/**
 * A device's 14 days of scans: `strangers` sightings of people who never tested positive (random RPIs, ~1 every 7
 * minutes of the day), and `encounters` true ones, 5 minutes apart, of two people whose keys are published.
 */
function deviceScans(now: number, strangers: number, encounters: number): { scans: ScanRecord[]; positives: PublishedKey[] } {
  const start = (Math.floor(now / DAY_S) - 14) * DAY_S;
  const scans: ScanRecord[] = [];
  for (let i = 0; i < strangers; i++) {
    const t = start + Math.floor(((i + 0.5) / strangers) * 14 * DAY_S);
    scans.push({ rpi: randomBytes(16), aem: randomBytes(4), t, rssi: -60 - (i % 30), seconds: 300 });
  }
  const positives: PublishedKey[] = [];
  for (const [p, day] of [
    [0, 3],
    [1, 9],
  ] as const) {
    const root = exposureRootFromSeed(randomBytes(32));
    const uploaded = keysToUpload(root, now);
    for (const key of uploaded) positives.push({ ...key, reportType: "confirmed-test", daysSinceOnsetOfSymptoms: p });
    for (let e = 0; e < encounters / 2; e++) {
      const t = start + day * DAY_S + 12 * 3600 + e * 300;
      scans.push({ ...advertisementAt(root, t, -8), t, rssi: -62, seconds: 300 });
    }
  }
  scans.sort((a, b) => a.t - b.t);
  return { scans, positives };
}

export async function matchFigures(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const count = Number(process.env.BENCH_KEYS ?? 100_000);
  const baselineCount = Math.max(1, Math.floor(count / 10));
  const now = 1_760_000_000;
  const { scans, positives } = deviceScans(now, 2_880, 8);
  const keys = publishedKeys(count, now, positives);
  const baselineKeys = keys.slice(0, baselineCount - positives.length).concat(positives);
  progress(
    `${keys.length} keys × 144 intervals against ${scans.length} scans over 14 days (${positives.length} of the keys, 8 true sightings)`,
  );

  const times: number[] = [];
  const wallTimes: number[] = [];
  const baselineTimes: number[] = [];
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  let matched = 0;
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const windows = matchKeys(keys, scans);
    const seconds = cpuSeconds(c0);
    times.push(seconds);
    wallTimes.push((performance.now() - t0) / 1000);
    matched = windows.reduce((n, w) => n + w.scans.length, 0);
    if (matched !== 8) throw new Error(`exposure match bench: expected the 8 true sightings, matched ${matched}`);
    const b0 = process.cpuUsage();
    const baselineWindows = matchKeysWith(nobleAes, baselineKeys, scans);
    const baselineSeconds = cpuSeconds(b0) * (count / baselineKeys.length);
    baselineTimes.push(baselineSeconds);
    if (baselineWindows.reduce((n, w) => n + w.scans.length, 0) !== 8)
      throw new Error("exposure match bench: the @noble path missed sightings");
    progress(
      `run ${run + 1}/${runs}: node:crypto ${seconds.toFixed(2)} s, @noble ${baselineSeconds.toFixed(2)} s (scaled from ${baselineKeys.length} keys)`,
    );
  }
  const value = median(times);
  const baseline = median(baselineTimes);
  return [
    {
      name: "exposure.match_100k_keys_s",
      value: Number(value.toFixed(3)),
      unit: "s",
      measure: "CPU seconds (user + system) of the single-threaded call",
      wall_s: Number(median(wallTimes).toFixed(3)),
      load_average: Number((os.loadavg()[0] as number).toFixed(2)),
      n: count,
      intervals: count * 144,
      scans: scans.length,
      matched,
      runs,
      target_s: 3,
      baseline: Number(baseline.toFixed(3)),
      baseline_name: `the same matching on @noble/ciphers AES (aes.browser.ts, what a browser runs), timed on ${baselineKeys.length} keys and scaled`,
      ratio: Number((baseline / value).toFixed(2)),
      peak_rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    },
  ];
}
