// Risk scoring with hand-computed scores (GAEN v2 and SafeTrace's (δ, τ)), the configuration parser against
// every kind of bad field, and properties (window order does not matter, another window never lowers the level).
import { expect } from "chai";
import fc from "fast-check";
import {
  DEFAULT_RISK_CONFIG,
  estimatedDistanceM,
  levelOfDay,
  parseRiskConfig,
  type RiskConfig,
  scoreExposure,
  scoreWindow,
} from "../src/risk.js";
import type { ExposureWindow, ReportType } from "../src/types.js";

/**
 * The scores below are worked by hand under GAEN's commonly deployed values (weights 1.5/1.0/0.5/0, "low" at 5 and
 * "high" at 15 weighted minutes, infectious from 5 days before onset, 42 dB at 1 m free-space path loss), fixed here
 * so that tuning DEFAULT_RISK_CONFIG never changes what these tests mean.
 */
const HAND: RiskConfig = {
  ...structuredClone(DEFAULT_RISK_CONFIG),
  attenuationWeights: [1.5, 1.0, 0.5, 0],
  thresholds: { low: 5, high: 15 },
  pathLoss: { attenuationAt1mDb: 42, pathLossExponent: 2 },
  infectiousnessByDaysSinceOnset: Object.fromEntries(
    Array.from({ length: 29 }, (_, i) => [
      String(i - 14),
      i - 14 < -5 || i - 14 >= 10 ? "none" : i - 14 >= -2 && i - 14 <= 3 ? "high" : "standard",
    ]),
  ),
};

const DAY0 = 20_300;
const DAY = 86_400;

/** A window on `day` of sightings [attenuation dB, seconds], 5 minutes apart. */
function windowOf(
  day: number,
  sightings: [number, number][],
  daysSinceOnset: number | null = 0,
  reportType: ReportType = "confirmed-test",
): ExposureWindow {
  const start = day * DAY + 12 * 3600;
  return {
    start,
    day,
    reportType,
    daysSinceOnsetOfSymptoms: daysSinceOnset,
    scans: sightings.map(([attenuationDb, seconds], i) => ({ t: start + i * 300, attenuationDb, seconds })),
  };
}

const config = (change: Partial<RiskConfig> = {}): RiskConfig => ({ ...structuredClone(HAND), ...change });

describe("exposure risk: GAEN v2 with the default configuration, by hand", () => {
  // A: 3 × 300 s at 50 dB (immediate, 1.5), onset day (high, 1.0), confirmed test (1.0): 900 × 1.5 / 60 = 22.5.
  const a = windowOf(DAY0, [
    [50, 300],
    [50, 300],
    [50, 300],
  ]);
  // B: 300 s at 60 (near, 1.0) + 300 at 70 (medium, 0.5) + 300 at 80 (other, 0) = 7.5 min; 4 days before onset
  // (standard, 0.6), self-report (0.5): 7.5 × 0.6 × 0.5 = 2.25.
  const b = windowOf(
    DAY0 + 3,
    [
      [60, 300],
      [70, 300],
      [80, 300],
    ],
    -4,
    "self-report",
  );
  // C: 600 s at 55 dB (≤ 55: immediate, 1.5) = 15 min; no onset given (standard, 0.6), clinical (1.0): 9.
  const c = windowOf(DAY0 + 3, [[55, 600]], null, "confirmed-clinical");
  // D: 12 days after onset (none); E: recursive (0); F: 60 s at 70 dB = 0.5 < the 1-minute window minimum.
  const d = windowOf(DAY0 + 5, [[40, 1800]], 12);
  const e = windowOf(DAY0 + 5, [[40, 1800]], 0, "recursive");
  const f = windowOf(DAY0 + 5, [[70, 60]], 0);

  it("scores each window", () => {
    expect(scoreWindow(a, HAND)).to.equal(22.5);
    expect(scoreWindow(b, HAND)).to.be.closeTo(2.25, 1e-12);
    expect(scoreWindow(c, HAND)).to.be.closeTo(9, 1e-12);
    expect(scoreWindow(d, HAND)).to.equal(0);
    expect(scoreWindow(e, HAND)).to.equal(0);
    expect(scoreWindow(f, HAND)).to.equal(0.5);
  });

  it("sums the kept windows per day and notifies the highest day's level, with its advice", () => {
    const result = scoreExposure([f, c, a, e, b, d], HAND);
    expect(result.rule).to.equal("gaen-v2");
    expect(result.days).to.have.length(2);
    expect(result.days[0]).to.deep.equal({ day: DAY0, weightedMinutes: 22.5, maxWindowMinutes: 22.5, windows: 1 });
    expect(result.days[1]?.day).to.equal(DAY0 + 3);
    expect(result.days[1]?.weightedMinutes).to.be.closeTo(11.25, 1e-12);
    expect(result.days[1]?.maxWindowMinutes).to.be.closeTo(9, 1e-12);
    expect(result.days[1]?.windows).to.equal(2);
    expect(result.days.map((day) => levelOfDay(day, HAND))).to.deep.equal(["high", "low"]);
    expect(result.level).to.equal("high");
    expect(result.mostRecentDay).to.equal(DAY0 + 3);
    expect(result.advice).to.equal(HAND.advice.high);
  });

  it("notifies low, or nothing, below the thresholds", () => {
    expect(scoreExposure([b, c], HAND)).to.deep.include({ level: "low", mostRecentDay: DAY0 + 3 });
    const none = scoreExposure([b, d, e, f], HAND);
    expect(none).to.deep.include({ level: "none", mostRecentDay: null, advice: HAND.advice.none });
    expect(none.days).to.deep.equal([{ day: DAY0 + 3, weightedMinutes: 2.25, maxWindowMinutes: 2.25, windows: 1 }]);
    expect(scoreExposure([], HAND)).to.deep.equal({
      level: "none",
      rule: "gaen-v2",
      days: [],
      mostRecentDay: null,
      advice: HAND.advice.none,
    });
  });

  it("follows the authority's weights and thresholds", () => {
    // Immediate weighted 2: A scores 30; a 0.5-minute minimum keeps F; a high threshold of 40 makes A low.
    const custom = config({ attenuationWeights: [2, 1, 0.5, 0], minimumWindowMinutes: 0.5, thresholds: { low: 0.5, high: 40 } });
    expect(scoreWindow(a, custom)).to.equal(30);
    const result = scoreExposure([a, f], custom);
    expect(result.days.map((day) => [day.day, day.weightedMinutes])).to.deep.equal([
      [DAY0, 30],
      [DAY0 + 5, 0.5],
    ]);
    expect(result).to.deep.include({ level: "low", mostRecentDay: DAY0 + 5 });
  });
});

describe("exposure risk: SafeTrace's (δ, τ) rule", () => {
  const safetrace = config({ rule: "safetrace" });

  it("estimates distance by log-distance path loss: 42 dB is 1 m, each 20 dB ten times farther", () => {
    expect(estimatedDistanceM(42, safetrace)).to.equal(1);
    expect(estimatedDistanceM(62, safetrace)).to.be.closeTo(10, 1e-9);
    expect(estimatedDistanceM(48, safetrace)).to.be.closeTo(1.995, 1e-3); // within δ = 2 m
    expect(estimatedDistanceM(49, safetrace)).to.be.closeTo(2.239, 1e-3); // beyond it
  });

  it("is exposed on a day whose sightings within δ add up to τ = 15 minutes, whatever the windows", () => {
    // Day 0: 600 s at 45 dB (1.4 m) in one window and 300 s at 48 dB (2.0 m) in another: 15 min within 2 m.
    const w1 = windowOf(DAY0, [
      [45, 300],
      [45, 300],
      [70, 300],
    ]);
    const w2 = windowOf(DAY0, [[48, 300]], 3, "self-report");
    // Day 2: 600 s at 45 dB and 600 s at 50 dB (2.5 m): 10 min within δ, not enough.
    const w3 = windowOf(DAY0 + 2, [
      [45, 600],
      [50, 600],
    ]);
    // Day 4: close and long, but 12 days after onset: not infectious.
    const w4 = windowOf(DAY0 + 4, [[40, 1800]], 12);
    expect([w1, w2, w3, w4].map((w) => scoreWindow(w, safetrace))).to.deep.equal([10, 5, 10, 0]);
    const result = scoreExposure([w4, w3, w2, w1], safetrace);
    expect(result.rule).to.equal("safetrace");
    expect(result.days).to.deep.equal([
      { day: DAY0, weightedMinutes: 15, maxWindowMinutes: 10, windows: 2 },
      { day: DAY0 + 2, weightedMinutes: 10, maxWindowMinutes: 10, windows: 1 },
    ]);
    expect(result).to.deep.include({ level: "high", mostRecentDay: DAY0, advice: safetrace.advice.high });
    expect(scoreExposure([w3, w4], safetrace).level).to.equal("none");
    // A wider δ (3 m) turns day 2 into a collision too.
    expect(scoreExposure([w3], config({ rule: "safetrace", safeTrace: { deltaM: 3, tauS: 900 } })).level).to.equal("high");
  });
});

describe("exposure risk: parseRiskConfig", () => {
  it("reads the default back from JSON, as a fresh copy", () => {
    const json = JSON.parse(JSON.stringify(DEFAULT_RISK_CONFIG));
    const parsed = parseRiskConfig(json);
    expect(parsed).to.deep.equal(DEFAULT_RISK_CONFIG);
    parsed.thresholds.high = 99;
    expect(json.thresholds.high).to.equal(30);
    expect(DEFAULT_RISK_CONFIG.thresholds.high).to.equal(30);
  });

  it("accepts a partial onset table (missing days count as unknown)", () => {
    const partial = parseRiskConfig({ ...config(), infectiousnessByDaysSinceOnset: { "0": "high" }, infectiousnessWhenUnknown: "none" });
    expect(scoreWindow(windowOf(DAY0, [[50, 600]], 0), partial)).to.equal(15);
    expect(scoreWindow(windowOf(DAY0, [[50, 600]], 1), partial)).to.equal(0);
  });

  const set = (path: string, value: unknown) => {
    const c = structuredClone(DEFAULT_RISK_CONFIG) as unknown as Record<string, unknown>;
    const keys = path.split(".");
    let at = c;
    for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
    if (value === undefined) delete at[keys.at(-1) as string];
    else at[keys.at(-1) as string] = value;
    return c;
  };
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ["not an object", "gaen-v2", TypeError, /riskConfig: expected an object/],
    ["an array", [], TypeError, /riskConfig: expected an object, got an array/],
    ["version 2", set("version", 2), RangeError, /riskConfig\.version/],
    ["an unknown rule", set("rule", "gaen-v3"), RangeError, /riskConfig\.rule/],
    [
      "a string threshold",
      set("attenuationThresholdsDb", ["55", 63, 73]),
      TypeError,
      /attenuationThresholdsDb\[0\]: expected a number, got "55"/,
    ],
    ["two thresholds", set("attenuationThresholdsDb", [55, 63]), RangeError, /attenuationThresholdsDb: expected 3 items, got 2/],
    ["descending thresholds", set("attenuationThresholdsDb", [63, 55, 73]), RangeError, /attenuationThresholdsDb: expected ascending/],
    ["five weights", set("attenuationWeights", [1.5, 1, 0.5, 0, 0]), RangeError, /attenuationWeights: expected 4 items/],
    ["a negative weight", set("attenuationWeights", [1.5, -1, 0.5, 0]), RangeError, /attenuationWeights\[1\]/],
    ["a NaN weight", set("infectiousnessWeights.high", Number.NaN), RangeError, /infectiousnessWeights\.high: expected a finite number/],
    ["an infinite weight", set("reportTypeWeights.self-report", Number.POSITIVE_INFINITY), RangeError, /reportTypeWeights\.self-report/],
    ["a weight as text", set("reportTypeWeights.confirmed-test", "1"), TypeError, /reportTypeWeights\.confirmed-test: expected a number/],
    ["a missing report type", set("reportTypeWeights.recursive", undefined), TypeError, /reportTypeWeights\.recursive: missing/],
    ["an extra report type", set("reportTypeWeights.revoked", 0), RangeError, /reportTypeWeights\.revoked: unknown field/],
    [
      "an onset day of 15",
      set("infectiousnessByDaysSinceOnset.15", "high"),
      RangeError,
      /infectiousnessByDaysSinceOnset\.15: unknown field/,
    ],
    ["an onset day written +1", set("infectiousnessByDaysSinceOnset.+1", "high"), RangeError, /infectiousnessByDaysSinceOnset\.\+1/],
    [
      "an unknown infectiousness",
      set("infectiousnessByDaysSinceOnset.0", "very"),
      RangeError,
      /infectiousnessByDaysSinceOnset\.0: expected one of/,
    ],
    ["an unknown when-unknown", set("infectiousnessWhenUnknown", 1), TypeError, /infectiousnessWhenUnknown/],
    ["low above high", set("thresholds.low", 40), RangeError, /riskConfig\.thresholds: expected low ≤ high, got low 40 > high 30/],
    ["a zero threshold", set("thresholds.low", 0), RangeError, /thresholds\.low/],
    ["a negative window minimum", set("minimumWindowMinutes", -1), RangeError, /minimumWindowMinutes/],
    ["δ of 0", set("safeTrace.deltaM", 0), RangeError, /safeTrace\.deltaM/],
    ["τ as text", set("safeTrace.tauS", "900"), TypeError, /safeTrace\.tauS/],
    ["a zero path-loss exponent", set("pathLoss.pathLossExponent", 0), RangeError, /pathLoss\.pathLossExponent/],
    ["empty advice", set("advice.high", " "), RangeError, /advice\.high/],
    ["missing advice", set("advice.low", undefined), TypeError, /advice\.low: missing/],
    ["an unknown top-level key", set("threshold", 15), RangeError, /riskConfig\.threshold: unknown field/],
    [
      "a __proto__ key",
      JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(DEFAULT_RISK_CONFIG).slice(1)}`),
      RangeError,
      /riskConfig\.__proto__: unknown field/,
    ],
    ["a missing field", set("safeTrace", undefined), TypeError, /riskConfig\.safeTrace: missing/],
    ["thresholds as an array", set("thresholds", [5, 15]), TypeError, /riskConfig\.thresholds: expected an object/],
  ];
  for (const [what, value, kind, message] of cases)
    it(`refuses ${what}, naming the field, and changes nothing`, () => {
      const before = structuredClone(value);
      expect(() => parseRiskConfig(value)).to.throw(kind, message);
      expect(value).to.deep.equal(before);
      // scoreExposure refuses the same configuration before scoring anything.
      expect(() => scoreExposure([windowOf(DAY0, [[50, 900]])], value as RiskConfig)).to.throw(kind, message);
    });
});

describe("exposure risk: properties", () => {
  const window = fc
    .record({
      day: fc.integer({ min: DAY0, max: DAY0 + 13 }),
      sightings: fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 600 })), { minLength: 1, maxLength: 6 }),
      onset: fc.option(fc.integer({ min: -14, max: 14 })),
      reportType: fc.constantFrom<ReportType>("confirmed-test", "confirmed-clinical", "self-report", "recursive"),
    })
    .map(({ day, sightings, onset, reportType }) => windowOf(day, sightings as [number, number][], onset, reportType));
  const rule = fc.constantFrom<RiskConfig["rule"]>("gaen-v2", "safetrace");
  const rank = { none: 0, low: 1, high: 2 };

  it("does not depend on the order of the windows", () => {
    fc.assert(
      fc.property(fc.array(window, { maxLength: 12 }), rule, (windows, r) => {
        const c = config({ rule: r });
        const reversed = scoreExposure([...windows].reverse(), c);
        const forward = scoreExposure(windows, c);
        expect(reversed.level).to.equal(forward.level);
        expect(reversed.mostRecentDay).to.equal(forward.mostRecentDay);
        expect(reversed.days.map((d) => [d.day, d.windows, d.maxWindowMinutes])).to.deep.equal(
          forward.days.map((d) => [d.day, d.windows, d.maxWindowMinutes]),
        );
        for (const [i, d] of reversed.days.entries())
          expect(d.weightedMinutes).to.be.closeTo(forward.days[i]?.weightedMinutes as number, 1e-9);
      }),
      { numRuns: 100, seed: 23 },
    );
  });

  it("never lowers the level when another window is added", () => {
    fc.assert(
      fc.property(fc.array(window, { maxLength: 10 }), window, rule, (windows, extra, r) => {
        const c = config({ rule: r });
        expect(rank[scoreExposure([...windows, extra], c).level]).to.be.at.least(rank[scoreExposure(windows, c).level]);
      }),
      { numRuns: 100, seed: 24 },
    );
  });
});
