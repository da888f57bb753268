// Scoring matched exposure windows into what the user is told: the GAEN v2 risk model (attenuation buckets, days
// since onset, report type, daily summaries, thresholds) or SafeTrace's (δ, τ) collision rule, as the health
// authority's signed configuration says.
import {
  type DailySummary,
  type ExposureWindow,
  type Infectiousness,
  REPORT_TYPES,
  type ReportType,
  RISK_LEVELS,
  type RiskLevel,
} from "./types.js";

export interface RiskConfig {
  version: 1;
  rule: "gaen-v2" | "safetrace";
  /** dB: ≤ [0] immediate, ≤ [1] near, ≤ [2] medium, else other (GAEN attenuationBucketThresholdDb). */
  attenuationThresholdsDb: [number, number, number];
  /** Weights of immediate, near, medium, other (GAEN: 1.5, 1.0, 0.5, 0). */
  attenuationWeights: [number, number, number, number];
  /** Infectiousness by days since onset, keys "-14".."14"; missing days count as `infectiousnessWhenUnknown`. */
  infectiousnessByDaysSinceOnset: Record<string, Infectiousness>;
  infectiousnessWhenUnknown: Infectiousness;
  infectiousnessWeights: { standard: number; high: number };
  reportTypeWeights: Record<ReportType, number>;
  /** Windows scoring below this (weighted minutes) are dropped. */
  minimumWindowMinutes: number;
  /** A day's weighted minutes at or above `low` notifies "low", at or above `high` notifies "high". */
  thresholds: { low: number; high: number };
  /** SafeTrace's (δ, τ): exposed when, on one day, sightings at an estimated distance ≤ deltaM add up to ≥ tauS. */
  safeTrace: { deltaM: number; tauS: number };
  /** Distance from attenuation: d = 10^((attenuationDb − attenuationAt1mDb) / (10 · pathLossExponent)). */
  pathLoss: { attenuationAt1mDb: number; pathLossExponent: number };
  /** What the user is told to do, per level (shown with the result). */
  advice: Record<RiskLevel, string>;
}

/** What scoring gives the user: the highest level over the days, each day's summary, and what to do. */
export interface ExposureResult {
  level: RiskLevel;
  rule: RiskConfig["rule"];
  /** Days with at least one counted window, oldest first. */
  days: DailySummary[];
  /** The latest day that notifies (level ≠ none), unix day; null when none does. */
  mostRecentDay: number | null;
  advice: string;
}

const INFECTIOUSNESS: readonly Infectiousness[] = ["none", "standard", "high"];
const MAX_ONSET_DAYS = 14;
const MAX_ADVICE_CHARS = 2_000;

/**
 * Infectiousness by days since symptom onset: the CDC counts a case infectious from 2 days before onset, most in
 * the days around it, and ends isolation 10 days after; pre-symptomatic days 3–5 before onset count as standard.
 */
const DEFAULT_INFECTIOUSNESS: Record<string, Infectiousness> = Object.fromEntries(
  Array.from({ length: 2 * MAX_ONSET_DAYS + 1 }, (_, i) => {
    const d = i - MAX_ONSET_DAYS;
    const level: Infectiousness = d < -2 || d >= 10 ? "none" : d <= 3 ? "high" : "standard";
    return [String(d), level];
  }),
);

/**
 * The configuration a vault uses until its health authority signs another:
 * - attenuation buckets at 55/63/73 dB (the thresholds GAEN deployments commonly used) weighted 1.5/1.0/0.25/0:
 *   the medium bucket (63–73 dB, some 3–7 m) counts a quarter, not GAEN's usual half — in the town simulator a
 *   half made classmates, open-plan colleagues and neighbours through walls most of the false alarms;
 * - infectiousness from days since onset as above (from 2 days before onset, CDC's infectious period), "standard"
 *   when the uploader gave no onset, weighted 0.6 (standard) and 1.0 (high);
 * - report types: a confirmed test or clinical diagnosis 1.0, a self-report 0.5, recursive 0 (GAEN never used it);
 * - windows under 1 weighted minute dropped (a single far or brief sighting is noise), a day at ≥ 15 weighted
 *   minutes notifies "low" (CDC's 15 cumulative minutes of close contact, at the near bucket's weight), at ≥ 30 "high";
 * - SafeTrace's δ = 2 m, τ = 15 min (CDC's close contact); distance from a log-distance path loss of 50 dB at 1 m
 *   and exponent 2.7, the calibration the Corona-Warn-App published (55 dB ≈ 1.5 m, 63 dB ≈ 3 m).
 * On 3 simulated towns of 400 people over 14 days (bench exposure.accuracy), GAEN's usual half weight and 5/15
 * minutes notified with precision 0.41 and recall 0.99; these defaults 0.65 and 0.94.
 */
export const DEFAULT_RISK_CONFIG: RiskConfig = {
  version: 1,
  rule: "gaen-v2",
  attenuationThresholdsDb: [55, 63, 73],
  attenuationWeights: [1.5, 1.0, 0.25, 0],
  infectiousnessByDaysSinceOnset: DEFAULT_INFECTIOUSNESS,
  infectiousnessWhenUnknown: "standard",
  infectiousnessWeights: { standard: 0.6, high: 1.0 },
  reportTypeWeights: { "confirmed-test": 1.0, "confirmed-clinical": 1.0, "self-report": 0.5, recursive: 0 },
  minimumWindowMinutes: 1,
  thresholds: { low: 15, high: 30 },
  safeTrace: { deltaM: 2, tauS: 900 },
  pathLoss: { attenuationAt1mDb: 50, pathLossExponent: 2.7 },
  advice: {
    none: "No exposure found in the last 14 days. Nothing to do; your phone keeps checking.",
    low: "You were near someone who later tested positive, but briefly or not close. Watch for symptoms for 14 days after that day, and get tested if any appear.",
    high: "You were close to someone who later tested positive, long enough to count as a close contact. Get tested, wear a mask around others, and follow your health authority's advice on quarantine.",
  },
};

// ---- parsing ---------------------------------------------------------------------------------------------------

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}

function record(field: string, value: unknown, keys: readonly string[], required = true): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError(`${field}: expected an object, got ${describe(value)}`);
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object))
    if (!keys.includes(key)) throw new RangeError(`${field}.${key}: unknown field; expected only ${keys.join(", ")}`);
  if (required) for (const key of keys) if (!(key in object)) throw new TypeError(`${field}.${key}: missing`);
  return object;
}

function number(field: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false): number {
  if (typeof value !== "number") throw new TypeError(`${field}: expected a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || value > max || (exclusiveMin && value === min))
    throw new RangeError(
      `${field}: expected a finite number ${exclusiveMin ? ">" : "≥"} ${min}${max < Number.POSITIVE_INFINITY ? ` and ≤ ${max}` : ""}, got ${value}`,
    );
  return value;
}

function tuple(field: string, value: unknown, length: number, min: number, max?: number): number[] {
  if (!Array.isArray(value)) throw new TypeError(`${field}: expected an array of ${length} numbers, got ${describe(value)}`);
  if (value.length !== length) throw new RangeError(`${field}: expected ${length} items, got ${value.length}`);
  return value.map((x, i) => number(`${field}[${i}]`, x, min, max));
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string") throw new TypeError(`${field}: expected a string, got ${describe(value)}`);
  if (!allowed.includes(value as T)) throw new RangeError(`${field}: expected one of ${allowed.join(", ")}, got ${describe(value)}`);
  return value as T;
}

const CONFIG_KEYS = Object.keys(DEFAULT_RISK_CONFIG) as (keyof RiskConfig)[];
const ONSET_KEYS = Array.from({ length: 2 * MAX_ONSET_DAYS + 1 }, (_, i) => String(i - MAX_ONSET_DAYS));

/**
 * A risk configuration checked field by field (as a health authority's signed "risk-config" document carries it):
 * TypeError for a wrong type or a missing field, RangeError for a value out of range (NaN, negative weights,
 * thresholds out of order, arrays of the wrong length) or a field it does not know, each naming the field. Returns
 * a fresh copy; the input is not changed.
 */
export function parseRiskConfig(value: unknown): RiskConfig {
  const c = record("riskConfig", value, CONFIG_KEYS);
  if (c.version !== 1) throw new RangeError(`riskConfig.version: expected 1, got ${describe(c.version)}`);
  const rule = oneOf("riskConfig.rule", c.rule, ["gaen-v2", "safetrace"] as const);
  const thresholdsDb = tuple("riskConfig.attenuationThresholdsDb", c.attenuationThresholdsDb, 3, 0, 255);
  for (let i = 1; i < 3; i++)
    if ((thresholdsDb[i] as number) < (thresholdsDb[i - 1] as number))
      throw new RangeError(`riskConfig.attenuationThresholdsDb: expected ascending thresholds, got ${thresholdsDb.join(", ")}`);
  const weights = tuple("riskConfig.attenuationWeights", c.attenuationWeights, 4, 0);
  const byOnset = record("riskConfig.infectiousnessByDaysSinceOnset", c.infectiousnessByDaysSinceOnset, ONSET_KEYS, false);
  const infectiousness: Record<string, Infectiousness> = {};
  for (const [day, level] of Object.entries(byOnset))
    infectiousness[day] = oneOf(`riskConfig.infectiousnessByDaysSinceOnset.${day}`, level, INFECTIOUSNESS);
  const whenUnknown = oneOf("riskConfig.infectiousnessWhenUnknown", c.infectiousnessWhenUnknown, INFECTIOUSNESS);
  const infWeights = record("riskConfig.infectiousnessWeights", c.infectiousnessWeights, ["standard", "high"]);
  const reportWeights = record("riskConfig.reportTypeWeights", c.reportTypeWeights, REPORT_TYPES);
  const thresholds = record("riskConfig.thresholds", c.thresholds, ["low", "high"]);
  const low = number("riskConfig.thresholds.low", thresholds.low, 0, Number.POSITIVE_INFINITY, true);
  const high = number("riskConfig.thresholds.high", thresholds.high, 0, Number.POSITIVE_INFINITY, true);
  if (low > high) throw new RangeError(`riskConfig.thresholds: expected low ≤ high, got low ${low} > high ${high}`);
  const safeTrace = record("riskConfig.safeTrace", c.safeTrace, ["deltaM", "tauS"]);
  const pathLoss = record("riskConfig.pathLoss", c.pathLoss, ["attenuationAt1mDb", "pathLossExponent"]);
  const advice = record("riskConfig.advice", c.advice, RISK_LEVELS);
  const adviceText = (level: RiskLevel): string => {
    const text = advice[level];
    if (typeof text !== "string") throw new TypeError(`riskConfig.advice.${level}: expected a string, got ${describe(text)}`);
    if (text.trim() === "" || text.length > MAX_ADVICE_CHARS)
      throw new RangeError(`riskConfig.advice.${level}: expected 1..${MAX_ADVICE_CHARS} characters, got ${text.length}`);
    return text;
  };
  return {
    version: 1,
    rule,
    attenuationThresholdsDb: thresholdsDb as [number, number, number],
    attenuationWeights: weights as [number, number, number, number],
    infectiousnessByDaysSinceOnset: infectiousness,
    infectiousnessWhenUnknown: whenUnknown,
    infectiousnessWeights: {
      standard: number("riskConfig.infectiousnessWeights.standard", infWeights.standard, 0),
      high: number("riskConfig.infectiousnessWeights.high", infWeights.high, 0),
    },
    reportTypeWeights: Object.fromEntries(
      REPORT_TYPES.map((t) => [t, number(`riskConfig.reportTypeWeights.${t}`, reportWeights[t], 0)]),
    ) as Record<ReportType, number>,
    minimumWindowMinutes: number("riskConfig.minimumWindowMinutes", c.minimumWindowMinutes, 0),
    thresholds: { low, high },
    safeTrace: {
      deltaM: number("riskConfig.safeTrace.deltaM", safeTrace.deltaM, 0, 100, true),
      tauS: number("riskConfig.safeTrace.tauS", safeTrace.tauS, 0, 86_400, true),
    },
    pathLoss: {
      attenuationAt1mDb: number("riskConfig.pathLoss.attenuationAt1mDb", pathLoss.attenuationAt1mDb, 0, 255),
      pathLossExponent: number("riskConfig.pathLoss.pathLossExponent", pathLoss.pathLossExponent, 0, 10, true),
    },
    advice: { none: adviceText("none"), low: adviceText("low"), high: adviceText("high") },
  };
}

// ---- scoring ---------------------------------------------------------------------------------------------------

/** How infectious the sender was on the window's day, from the days since onset their upload gave. */
export function infectiousnessOf(w: ExposureWindow, c: RiskConfig): Infectiousness {
  if (w.daysSinceOnsetOfSymptoms === null) return c.infectiousnessWhenUnknown;
  return c.infectiousnessByDaysSinceOnset[String(w.daysSinceOnsetOfSymptoms)] ?? c.infectiousnessWhenUnknown;
}

/** The weight GAEN gives a sighting's attenuation: its bucket's (immediate, near, medium, other). */
export function attenuationWeight(attenuationDb: number, c: RiskConfig): number {
  const [immediate, near, medium] = c.attenuationThresholdsDb;
  const bucket = attenuationDb <= immediate ? 0 : attenuationDb <= near ? 1 : attenuationDb <= medium ? 2 : 3;
  return c.attenuationWeights[bucket] as number;
}

/** Estimated distance (m) of a sighting from its attenuation, by the configuration's log-distance path loss. */
export function estimatedDistanceM(attenuationDb: number, c: RiskConfig): number {
  return 10 ** ((attenuationDb - c.pathLoss.attenuationAt1mDb) / (10 * c.pathLoss.pathLossExponent));
}

/** The product of the sender's weights (infectiousness × report type): 0 when the window cannot count. */
function senderWeight(w: ExposureWindow, c: RiskConfig): number {
  const infectiousness = infectiousnessOf(w, c);
  if (infectiousness === "none") return 0;
  return c.infectiousnessWeights[infectiousness] * (c.reportTypeWeights[w.reportType] ?? 0);
}

/** One scoring rule: a window's score in minutes, whether it counts alone, and the level of a day's summary. */
interface RiskRule {
  scoreWindow(w: ExposureWindow, c: RiskConfig): number;
  keepWindow(score: number, c: RiskConfig): boolean;
  levelOfDay(day: DailySummary, c: RiskConfig): RiskLevel;
}

const RULES: Record<RiskConfig["rule"], RiskRule> = {
  /**
   * GAEN v2: a window's score is Σ seconds × attenuation weight over its sightings, in minutes, times the
   * infectiousness weight of the sender's day and the report type's weight. Windows under the minimum are dropped;
   * a day's score is the sum of its windows, compared with the two thresholds.
   */
  "gaen-v2": {
    scoreWindow(w, c) {
      const weight = senderWeight(w, c);
      if (weight === 0) return 0;
      let seconds = 0;
      for (const s of w.scans) seconds += s.seconds * attenuationWeight(s.attenuationDb, c);
      return (seconds / 60) * weight;
    },
    keepWindow: (score, c) => score > 0 && score >= c.minimumWindowMinutes,
    levelOfDay: (day, c) => (day.weightedMinutes >= c.thresholds.high ? "high" : day.weightedMinutes >= c.thresholds.low ? "low" : "none"),
  },
  /**
   * SafeTrace (Enigma's privacy-preserving contact tracing) counts a collision when two people's traces come within
   * a distance δ of each other within a time τ. Here the traces are the matched sightings, their distance estimated
   * from attenuation (`pathLoss`), and the rule reads as CDC's close contact: on one day, the sightings at an
   * estimated distance ≤ δ (`safeTrace.deltaM`) add up to ≥ τ seconds (`safeTrace.tauS`). A window's score is its
   * minutes within δ, unweighted, counted only when the sender's day is infectious and its report type has a
   * weight above 0. Binary like SafeTrace: a collision is "high", anything less "none"; no window minimum applies
   * (it would break the day's sum).
   */
  safetrace: {
    scoreWindow(w, c) {
      if (senderWeight(w, c) === 0) return 0;
      let seconds = 0;
      for (const s of w.scans) if (estimatedDistanceM(s.attenuationDb, c) <= c.safeTrace.deltaM) seconds += s.seconds;
      return seconds / 60;
    },
    keepWindow: (score) => score > 0,
    levelOfDay: (day, c) => (day.weightedMinutes * 60 >= c.safeTrace.tauS ? "high" : "none"),
  },
};

/** A window's score under the configuration's rule, in (weighted) minutes: GAEN v2's, or SafeTrace's minutes within δ. */
export function scoreWindow(w: ExposureWindow, c: RiskConfig): number {
  return RULES[c.rule].scoreWindow(w, c);
}

/** The level one day's summary notifies under the configuration's rule. */
export function levelOfDay(day: DailySummary, c: RiskConfig): RiskLevel {
  return RULES[c.rule].levelOfDay(day, c);
}

/**
 * Scores the windows matching gave: each window by the configuration's rule, the kept windows summed per day, each
 * day's level, and the highest level over the days with its advice. The configuration is checked first
 * (`parseRiskConfig`'s errors); nothing is changed.
 */
export function scoreExposure(windows: readonly ExposureWindow[], config: RiskConfig): ExposureResult {
  const c = parseRiskConfig(config);
  if (!Array.isArray(windows)) throw new TypeError(`windows: expected an array, got ${describe(windows)}`);
  const rule = RULES[c.rule];
  const byDay = new Map<number, DailySummary>();
  windows.forEach((w, i) => {
    if (typeof w !== "object" || w === null || !Array.isArray(w.scans)) throw new TypeError(`windows[${i}]: expected an exposure window`);
    if (!Number.isInteger(w.day)) throw new RangeError(`windows[${i}].day: expected an integer, got ${describe(w.day)}`);
    const score = rule.scoreWindow(w, c);
    if (!rule.keepWindow(score, c)) return;
    const day = byDay.get(w.day) ?? { day: w.day, weightedMinutes: 0, maxWindowMinutes: 0, windows: 0 };
    day.weightedMinutes += score;
    day.maxWindowMinutes = Math.max(day.maxWindowMinutes, score);
    day.windows += 1;
    byDay.set(w.day, day);
  });
  const days = [...byDay.values()].sort((a, b) => a.day - b.day);
  let level: RiskLevel = "none";
  let mostRecentDay: number | null = null;
  for (const day of days) {
    const dayLevel = rule.levelOfDay(day, c);
    if (dayLevel === "none") continue;
    mostRecentDay = day.day;
    if (RISK_LEVELS.indexOf(dayLevel) > RISK_LEVELS.indexOf(level)) level = dayLevel;
  }
  return { level, rule: c.rule, days, mostRecentDay, advice: c.advice[level] };
}
