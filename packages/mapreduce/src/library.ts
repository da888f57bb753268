// Ready jobs: specs a researcher can post as they are or copy and change (`mosaic job new <name>` writes one).
import type { Fraction, JobMode, JobSpec, PipelineStep, PrivacySpec } from "@mosaic/protocol";
import { gaussianSigma2For } from "./dp/gaussian.js";
import { l2Sensitivity } from "./dp/sensitivity.js";
import { DAY_S } from "./kmPerDay.js";

export interface ReadyJobInit {
  /** Collection deadline, unix seconds. @default an hour from now */
  collectionDeadline?: number;
  /** Days of data the program reads, ending at the first midnight (UTC) at or after the deadline. @default 7 */
  days?: number;
  /** @default per job; see READY_JOBS */
  epsilon?: Fraction;
  /** @default 3 */
  minParticipants?: number;
  /** Seconds. @default 3600 */
  challengeWindow?: number;
  /** Wei, decimal. @default "100000000000000000" (0.1 ETH) */
  reward?: string;
  /** Wei, decimal. @default "1000000000000000000" (1 ETH) */
  minStake?: string;
  /** @default { name: "Mosaic public-health research team", contact: "research@mosaic.invalid" } */
  requester?: JobSpec["requester"];
  /**
   * "shared": Prio3 input shares to two aggregators, each adding discrete Gaussian noise of the σ² that alone gives
   * (ε, 1e-6) at the output's L2 sensitivity (see withMode). @default "local"
   */
  mode?: JobMode;
}

/** Regions the symptom job reports on (ISO 3166-2); a vault elsewhere answers "other / no check-in". */
export const SYMPTOM_REGIONS = ["DE-BE", "DE-BY", "DE-HH", "DE-NW"] as const;

/** Bucket edges (km) of the distance histogram. */
const KM_EDGES = [1, 5, 10, 25, 50];

function frame(init: ReadyJobInit) {
  const collectionDeadline = init.collectionDeadline ?? Math.floor(Date.now() / 1000) + 3600;
  const days = init.days ?? 7;
  const end = Math.ceil(collectionDeadline / DAY_S) * DAY_S;
  return { collectionDeadline, days, end, start: end - days * DAY_S };
}

const REQUESTER = { name: "Mosaic public-health research team", contact: "research@mosaic.invalid" };

function schedule(init: ReadyJobInit, collectionDeadline: number) {
  return {
    minParticipants: init.minParticipants ?? 3,
    collectionDeadline,
    challengeWindow: init.challengeWindow ?? 3600,
    reward: init.reward ?? "100000000000000000",
    minStake: init.minStake ?? "1000000000000000000",
  };
}

/** The window's fixes, each labelled with the category of the named place it falls in (or null). */
function placedFixes(start: number, end: number): PipelineStep[] {
  return [
    { op: "window", field: "t", from: start, to: end },
    { op: "place", as: "category", places: "location-history/places", lat: "lat", lon: "lon" },
  ];
}

const POINTS = { ability: "location-history", collection: "points", fields: ["t", "lat", "lon"] };
const PLACES = { ability: "location-history", collection: "places", fields: ["category", "lat", "lon", "radiusM"] };

/** How far people travel: days per distance band over the last week (a histogram of person-days). */
export function kmPerDayJob(init: ReadyJobInit = {}): JobSpec {
  const { collectionDeadline, days, start, end } = frame(init);
  const labels = ["under 1 km", "1-4 km", "5-9 km", "10-24 km", "25-49 km", "50 km or more"];
  return {
    version: 1,
    title: `Kilometres travelled per day over the last ${days} days`,
    purpose: "Mobility statistics for pandemic response: how far people travel each day, as a histogram of days by distance.",
    requester: init.requester ?? REQUESTER,
    reads: [POINTS],
    program: {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        { op: "window", field: "t", from: start, to: end },
        { op: "group", by: { field: "t", every: DAY_S, from: start, count: days } },
        { op: "aggregate", fn: "distance-km" },
        { op: "bucket", edges: KM_EDGES },
      ],
    },
    // Every day falls in exactly one band: the output sums to `days`, which cuts the noise threefold (see dp/sensitivity).
    output: { kind: "vector", unit: "days", entries: labels.map((label) => ({ label, min: 0, max: days })), total: days },
    reducer: { kind: "histogram" },
    privacy: { mechanism: "discrete-laplace", epsilon: init.epsilon ?? { num: 2, den: 1 } },
    ...schedule(init, collectionDeadline),
  };
}

/** Trips to shopping, transit and parks in the last week: arrivals at places the user named, per category. */
export function placeTripsJob(init: ReadyJobInit = {}): JobSpec {
  const { collectionDeadline, days, start, end } = frame(init);
  const categories = ["shopping", "transit", "park"];
  return {
    version: 1,
    title: `Trips to shops, transit and parks over the last ${days} days`,
    purpose: "How often people visit shops, transit stops and parks: the mobility indicators public-health bodies track in a pandemic.",
    requester: init.requester ?? REQUESTER,
    reads: [POINTS, PLACES],
    program: {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        ...placedFixes(start, end),
        { op: "group", by: { field: "category", values: categories } },
        { op: "aggregate", fn: "entries" },
      ],
    },
    output: { kind: "vector", unit: "trips", entries: categories.map((label) => ({ label, min: 0, max: 4 * days })) },
    reducer: { kind: "mean" },
    privacy: { mechanism: "discrete-laplace", epsilon: init.epsilon ?? { num: 1, den: 1 } },
    ...schedule(init, collectionDeadline),
  };
}

/** Share of people reporting symptoms, by region: each vault reports one category by randomized response. */
export function symptomsByRegionJob(init: ReadyJobInit = {}): JobSpec {
  const { collectionDeadline, days, start, end } = frame(init);
  const regions = [...SYMPTOM_REGIONS];
  const labels = [...regions.flatMap((r) => [`${r} no symptoms`, `${r} symptoms`]), "other / no check-in"];
  const source = [
    "// One category per person: the region of their latest check-in in the window, and whether any",
    "// check-in in the window reported a symptom. No check-in, or a region not listed: the last category.",
    `const REGIONS = ${JSON.stringify(regions)};`,
    `const FROM = ${start * 1000}, TO = ${end * 1000};`,
    "function map(input) {",
    '  const rows = input["health-questionnaire/checkins"].filter((r) => r.time >= FROM && r.time < TO);',
    "  const out = new Array(REGIONS.length * 2 + 1).fill(0);",
    "  if (rows.length === 0) { out[out.length - 1] = 1; return out; }",
    "  const latest = rows.reduce((a, b) => (b.time > a.time ? b : a));",
    "  const i = REGIONS.indexOf(latest.region);",
    "  if (i < 0) { out[out.length - 1] = 1; return out; }",
    "  const sick = rows.some((r) => Object.values(r.symptoms).some((yes) => yes === true));",
    "  out[2 * i + (sick ? 1 : 0)] = 1;",
    "  return out;",
    "}",
  ].join("\n");
  return {
    version: 1,
    title: `Share of people reporting symptoms by region, last ${days} days`,
    purpose: "Where symptoms are rising: the share of people in each region who reported any symptom in their daily check-in.",
    requester: init.requester ?? REQUESTER,
    reads: [{ ability: "health-questionnaire", collection: "checkins", fields: ["time", "symptoms", "region"] }],
    program: { kind: "sandbox", language: "javascript", source, limits: { timeMs: 1000, memoryBytes: 16 * 1024 * 1024 } },
    output: { kind: "one-hot", unit: "people", entries: labels.map((label) => ({ label, min: 0, max: 1 })) },
    reducer: { kind: "histogram" },
    privacy: { mechanism: "randomized-response", epsilon: init.epsilon ?? { num: 2, den: 1 } },
    ...schedule(init, collectionDeadline),
  };
}

/**
 * Hours at home per day over the last week (time between fixes inside a place named "home", gaps over an
 * hour not counted). `mechanism: "discrete-gaussian"` trades the Laplace noise for Gaussian at the same
 * epsilon with δ = 1e-6 (it pays off when outputs have many entries).
 */
export function timeAtHomeJob(init: ReadyJobInit & { mechanism?: "discrete-laplace" | "discrete-gaussian" } = {}): JobSpec {
  const { collectionDeadline, days, start, end } = frame(init);
  const epsilon = init.epsilon ?? { num: 1, den: 1 };
  const labels = Array.from({ length: days }, (_, i) => new Date((start + i * DAY_S) * 1000).toISOString().slice(0, 10));
  const privacy: PrivacySpec =
    init.mechanism === "discrete-gaussian"
      ? {
          mechanism: "discrete-gaussian",
          epsilon,
          delta: { num: 1, den: 1_000_000 },
          sigma2: gaussianSigma2For(24 * Math.sqrt(days), epsilon, { num: 1, den: 1_000_000 }),
        }
      : { mechanism: "discrete-laplace", epsilon };
  return {
    version: 1,
    title: `Hours spent at home per day over the last ${days} days`,
    purpose: "Whether people stay home: average hours per day spent at the place they marked as home.",
    requester: init.requester ?? REQUESTER,
    reads: [POINTS, PLACES],
    program: {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        ...placedFixes(start, end),
        { op: "group", by: { field: "t", every: DAY_S, from: start, count: days } },
        {
          op: "aggregate",
          fn: "dwell-s",
          where: { op: "eq", args: [{ field: "category" }, { const: "home" }] },
          maxGapS: 3600,
          scale: { num: 1, den: 3600 },
        },
      ],
    },
    output: { kind: "vector", unit: "hours", entries: labels.map((label) => ({ label, min: 0, max: 24 })) },
    reducer: { kind: "mean" },
    privacy,
    ...schedule(init, collectionDeadline),
  };
}

/** The risk levels the exposure-statistics job counts, in output order (a vault's "none" is never stored). */
export const EXPOSURE_LEVELS = ["low", "high"] as const;

/**
 * Exposures notified per day by risk level, for health authorities: per day of the window, whether this vault
 * notified its user of a low or a high risk that day (the highest level it showed, at most one per day). Reads only
 * the proximity ability's notification records (the day a check notified, and the level), never scans or keys.
 */
export function exposuresPerDayJob(init: ReadyJobInit = {}): JobSpec {
  const { collectionDeadline, days, start } = frame(init);
  const dates = Array.from({ length: days }, (_, i) => new Date((start + i * DAY_S) * 1000).toISOString().slice(0, 10));
  const labels = dates.flatMap((d) => EXPOSURE_LEVELS.map((level) => `${d} ${level}`));
  const source = [
    "// Per day: 1 under the highest level this vault notified its user of that day, else nothing.",
    `const LEVELS = ${JSON.stringify(EXPOSURE_LEVELS)};`,
    `const FROM = ${start}, DAYS = ${days};`,
    "function map(input) {",
    "  const out = new Array(DAYS * LEVELS.length).fill(0);",
    "  const highest = new Array(DAYS).fill(-1);",
    '  for (const n of input["proximity/notifications"]) {',
    "    const day = Math.floor((n.checkedAt - FROM) / 86400);",
    "    const level = LEVELS.indexOf(n.level);",
    "    if (day >= 0 && day < DAYS && level > highest[day]) highest[day] = level;",
    "  }",
    "  highest.forEach((level, day) => { if (level >= 0) out[day * LEVELS.length + level] = 1; });",
    "  return out;",
    "}",
  ].join("\n");
  return {
    version: 1,
    title: `Exposures notified per day by risk level, last ${days} days`,
    purpose:
      "How many people exposure notification warned each day, and how strongly: whether contact tracing reaches people, for the health authority's response.",
    requester: init.requester ?? REQUESTER,
    reads: [{ ability: "proximity", collection: "notifications", fields: ["checkedAt", "level"] }],
    program: { kind: "sandbox", language: "javascript", source, limits: { timeMs: 1000, memoryBytes: 16 * 1024 * 1024 } },
    output: { kind: "vector", unit: "people", entries: labels.map((label) => ({ label, min: 0, max: 1 })) },
    reducer: { kind: "histogram" },
    privacy: { mechanism: "discrete-laplace", epsilon: init.epsilon ?? { num: 1, den: 1 } },
    ...schedule(init, collectionDeadline),
  };
}

/**
 * A ready job in the mode asked for: unchanged for "local"; for "shared", the privacy becomes each aggregator's
 * discrete Gaussian noise, σ² (ε, 1e-6)-DP alone at the output's L2 sensitivity, and the spec says mode "shared".
 */
export function withMode(spec: JobSpec, mode: JobMode = "local"): JobSpec {
  if (mode === "local") return spec;
  const epsilon = spec.privacy.epsilon;
  const delta = 1_000_000;
  return {
    ...spec,
    mode,
    privacy: {
      mechanism: "discrete-gaussian",
      epsilon,
      delta: { num: 1, den: delta },
      sigma2: gaussianSigma2For(l2Sensitivity(spec.output), epsilon, { num: 1, den: delta }),
    },
  };
}

/** The ready jobs by name: `mosaic job new <name>` writes one as JSON. */
export const READY_JOBS: Readonly<Record<string, (init?: ReadyJobInit) => JobSpec>> = {
  "km-per-day": (init = {}) => withMode(kmPerDayJob(init), init.mode),
  "place-trips": (init = {}) => withMode(placeTripsJob(init), init.mode),
  "symptoms-by-region": (init = {}) => withMode(symptomsByRegionJob(init), init.mode),
  "time-at-home": (init = {}) => withMode(timeAtHomeJob(init), init.mode),
  "exposures-per-day": (init = {}) => withMode(exposuresPerDayJob(init), init.mode),
};
