// exposure.precision and exposure.recall: notifications (level ≠ "none") of every non-positive person in the simulated
// town, matched and scored on their own scans, against the simulator's ground truth (CDC close contact of an
// infectious person). The GAEN v2 rule under DEFAULT_RISK_CONFIG, with SafeTrace's (δ, τ) rule side by side.
// BENCH_SEEDS (default 5) towns of BENCH_PEOPLE (default 500) people over 14 days; values are medians over the towns.
import {
  DEFAULT_RISK_CONFIG,
  type ExposureWindow,
  exposureRootFromSeed,
  keysToUpload,
  matchKeys,
  type NotificationOutcome,
  notificationOutcome,
  type PublishedKey,
  type RiskConfig,
  type SimTown,
  SIM_RADIO,
  scoreExposure,
  simulatedScans,
  simulateTown,
} from "@mosaic/exposure";
import type { Figure } from "../shared.js";

const DAY_S = 86_400;
const DAYS = 14;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const progress = (message: string) => process.stderr.write(`exposure accuracy: ${message}\n`);
const round = (x: number) => Number(x.toFixed(3));

type Outcome = NotificationOutcome;

/** Each positive's keys as the authority publishes them, uploaded at the end of the simulation (all 14 days). */
export function publishedKeysOf(town: SimTown): PublishedKey[] {
  const now = town.start + town.days * DAY_S;
  return town.people.flatMap((person) => {
    if (person.positive === null) return [];
    const onset = person.positive.onsetDay;
    return keysToUpload(exposureRootFromSeed(person.seed), now).map((key) => ({
      ...key,
      reportType: "confirmed-test" as const,
      daysSinceOnsetOfSymptoms: Math.max(-14, Math.min(14, key.rollingStartIntervalNumber / 144 - onset)),
    }));
  });
}

const outcome = notificationOutcome;

/** One town: who each rule notifies among the people who did not test positive. */
function measureTown(
  seed: number,
  people: number,
  checkFullScans: boolean,
): { gaen: Outcome; gaenHigh: Outcome; safetrace: Outcome; safetraceCalibrated: Outcome; ms: number } {
  const t0 = performance.now();
  const town = simulateTown({ people, days: DAYS, seed });
  const keys = publishedKeysOf(town);
  const positives = town.people.filter((p) => p.positive !== null).map((p) => p.index);
  const safeTraceConfig: RiskConfig = { ...DEFAULT_RISK_CONFIG, rule: "safetrace" };
  // SafeTrace with the distance model the simulator's radio really follows, to tell calibration from the rule.
  const calibrated: RiskConfig = {
    ...safeTraceConfig,
    pathLoss: { attenuationAt1mDb: SIM_RADIO.pathLossAt1mDb, pathLossExponent: SIM_RADIO.pathLossExponent },
  };
  const notifiedCalibrated = new Set<number>();
  const notifiedGaen = new Set<number>();
  const notifiedGaenHigh = new Set<number>();
  const notifiedSafeTrace = new Set<number>();
  for (const person of town.people) {
    if (person.positive !== null) continue;
    // Only the positives' advertisements can match their keys; the simulator gives exactly the full list's scans
    // of them (checked below on a sample), which keeps 500 people × 14 days at seconds, not minutes.
    const scans = simulatedScans(town, person.index, { senders: positives });
    if (scans.length === 0) continue; // nothing a positive sent was heard: no window can match
    const windows: ExposureWindow[] = matchKeys(keys, scans);
    if (windows.length === 0) continue;
    const level = scoreExposure(windows, DEFAULT_RISK_CONFIG).level;
    if (level !== "none") notifiedGaen.add(person.index);
    if (level === "high") notifiedGaenHigh.add(person.index);
    if (scoreExposure(windows, safeTraceConfig).level !== "none") notifiedSafeTrace.add(person.index);
    if (scoreExposure(windows, calibrated).level !== "none") notifiedCalibrated.add(person.index);
  }
  if (checkFullScans) {
    const sample = [...town.trulyExposed].slice(0, 3).concat([0, 1].filter((i) => town.people[i]?.positive === null));
    for (const i of sample) {
      const full = JSON.stringify(matchKeys(keys, simulatedScans(town, i)));
      const some = JSON.stringify(matchKeys(keys, simulatedScans(town, i, { senders: positives })));
      if (full !== some) throw new Error(`exposure accuracy: person ${i}'s windows differ between full and positives' scans`);
    }
  }
  return {
    gaen: outcome(notifiedGaen, town.trulyExposed),
    gaenHigh: outcome(notifiedGaenHigh, town.trulyExposed),
    safetrace: outcome(notifiedSafeTrace, town.trulyExposed),
    safetraceCalibrated: outcome(notifiedCalibrated, town.trulyExposed),
    ms: performance.now() - t0,
  };
}

/** exposure.precision and exposure.recall (GAEN v2 under DEFAULT_RISK_CONFIG), SafeTrace's beside them, with the counts. */
export async function accuracyFigures(): Promise<Figure[]> {
  const seeds = Number(process.env.BENCH_SEEDS ?? 5);
  const people = Number(process.env.BENCH_PEOPLE ?? 500);
  const runs: { seed: number; gaen: Outcome; gaenHigh: Outcome; safetrace: Outcome; safetraceCalibrated: Outcome }[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const { gaen, gaenHigh, safetrace, safetraceCalibrated, ms } = measureTown(seed, people, seed === 1);
    runs.push({ seed, gaen, gaenHigh, safetrace, safetraceCalibrated });
    progress(
      `town ${seed}/${seeds} (${people} people, ${DAYS} days, ${(ms / 1000).toFixed(1)} s): truly exposed ${gaen.trulyExposed}; ` +
        `gaen-v2 notified ${gaen.notified}, ${gaen.truePositives} truly (precision ${round(gaen.precision)}, recall ${round(gaen.recall)}; ` +
        `"high" only ${gaenHigh.notified}, ${gaenHigh.truePositives} truly); ` +
        `safetrace notified ${safetrace.notified}, ${safetrace.truePositives} truly (precision ${round(safetrace.precision)}, recall ${round(safetrace.recall)}; ` +
        `with the radio's path loss ${safetraceCalibrated.notified}, ${safetraceCalibrated.truePositives} truly)`,
    );
  }
  const describe = (rule: "gaen" | "gaenHigh" | "safetrace" | "safetraceCalibrated") => ({
    notified: median(runs.map((r) => r[rule].notified)),
    trulyExposed: median(runs.map((r) => r.gaen.trulyExposed)),
    truePositives: median(runs.map((r) => r[rule].truePositives)),
  });
  const common = {
    unit: "ratio",
    n: runs.length,
    people,
    days: DAYS,
    rule: "gaen-v2",
    config: "DEFAULT_RISK_CONFIG",
    truth: "CDC close contact: ≤ 2 m true distance for ≥ 15 cumulative minutes on one day, infectious from 2 days before onset",
    ...describe("gaen"),
    safetrace: describe("safetrace"),
    /** GAEN v2 when only "high" notifies. */
    gaenHigh: describe("gaenHigh"),
    /** SafeTrace with the path loss the simulated radio follows instead of DEFAULT_RISK_CONFIG.pathLoss. */
    safetraceCalibrated: describe("safetraceCalibrated"),
    perTown: runs.map((r) => ({
      seed: r.seed,
      trulyExposed: r.gaen.trulyExposed,
      gaen: { notified: r.gaen.notified, truePositives: r.gaen.truePositives },
      gaenHigh: { notified: r.gaenHigh.notified, truePositives: r.gaenHigh.truePositives },
      safetrace: { notified: r.safetrace.notified, truePositives: r.safetrace.truePositives },
      safetraceCalibrated: { notified: r.safetraceCalibrated.notified, truePositives: r.safetraceCalibrated.truePositives },
    })),
  };
  return [
    {
      name: "exposure.precision",
      value: round(median(runs.map((r) => r.gaen.precision))),
      ...common,
      safetracePrecision: round(median(runs.map((r) => r.safetrace.precision))),
      highOnlyPrecision: round(median(runs.map((r) => r.gaenHigh.precision))),
      safetraceCalibratedPrecision: round(median(runs.map((r) => r.safetraceCalibrated.precision))),
    },
    {
      name: "exposure.recall",
      value: round(median(runs.map((r) => r.gaen.recall))),
      ...common,
      safetraceRecall: round(median(runs.map((r) => r.safetrace.recall))),
      highOnlyRecall: round(median(runs.map((r) => r.gaenHigh.recall))),
      safetraceCalibratedRecall: round(median(runs.map((r) => r.safetraceCalibrated.recall))),
    },
  ];
}
