import { expect } from "chai";
import fc from "fast-check";
import { type Expr, InvalidJobSpecError, type PipelineProgram, type PipelineStep, type ReadSpec } from "@mosaic/protocol";
import { DAY_S, haversineKm } from "../src/kmPerDay.js";
import { describePipeline, PIPELINE_LIMITS, type Row, runPipeline, validatePipeline } from "../src/pipeline.js";

// ---------------------------------------------------------------------------------------------------------
// Fixtures: synthetic people, generated from a seed so every run sees the same data.

/** A location fix; a type alias (not the Fix interface) so it is a Row. */
type Fix = { t: number; lat: number; lon: number };

const WEEK_START = Date.UTC(2026, 10, 14) / 1000; // Sat 14 Nov 2026, 00:00 UTC
const EDGES = [1, 5, 10, 25, 50];

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A week of fixes every `stepS` seconds: mostly still, sometimes walking, sometimes driving, some missed fixes. */
function randomWeek(seed: number, stepS = 60): Fix[] {
  const rand = seeded(seed);
  const points: Fix[] = [];
  let lat = 52.37;
  let lon = 4.89;
  let speedKmPerMin = 0;
  let heading = 0;
  let active = 0;
  for (let t = WEEK_START - DAY_S / 2; t < WEEK_START + 7.5 * DAY_S; t += stepS) {
    // Each day has its own activity level, so the days spread over the histogram's ranges.
    if (t % DAY_S === 0) active = [0, 0.02, 0.1, 0.3, 0.6, 1][Math.floor(rand() * 6)] as number;
    if (rand() < 0.02) {
      const moving = rand() < active * 0.3;
      speedKmPerMin = !moving ? 0 : rand() < 0.7 ? 0.08 : 0.5;
      heading = rand() * 2 * Math.PI;
    }
    const km = (speedKmPerMin * stepS) / 60;
    lat += (km * Math.cos(heading)) / 111.2;
    lon += (km * Math.sin(heading)) / (111.2 * Math.cos((lat * Math.PI) / 180));
    if (rand() < 0.01) continue; // a missed fix
    points.push({ t, lat: lat + (rand() - 0.5) * 1e-5, lon: lon + (rand() - 0.5) * 1e-5 });
  }
  return points;
}

const LOCATION: ReadSpec = { ability: "location-history", collection: "points", fields: ["t", "lat", "lon"] };
const PLACES: ReadSpec = { ability: "places", collection: "saved", fields: ["category", "lat", "lon", "radiusM"] };
const DIARY: ReadSpec = { ability: "symptom-diary", collection: "entries", fields: ["t", "region", "symptoms"] };

const HOME = { lat: 52.37, lon: 4.89 };
const SHOP = { lat: 52.38, lon: 4.9 };
const TRANSIT = { lat: 52.36, lon: 4.91 };
const PARK = { lat: 52.355, lon: 4.87 };
const SAVED_PLACES: Row[] = [
  { category: "home", ...HOME, radiusM: 100 },
  { category: "shop", ...SHOP, radiusM: 80 },
  { category: "transit", ...TRANSIT, radiusM: 60 },
  { category: "park", ...PARK, radiusM: 200 },
];

/** A timeline built from stays, straight-line moves and gaps (phone off), one fix every 60 s. */
class Timeline {
  readonly fixes: Fix[] = [];
  private pos = HOME;
  constructor(private t: number) {}
  stay(seconds: number, at = this.pos): this {
    this.pos = at;
    for (let s = 0; s < seconds; s += 60) this.fixes.push({ t: this.t + s, ...at });
    this.t += seconds;
    return this;
  }
  move(to: { lat: number; lon: number }, seconds: number): this {
    const from = this.pos;
    for (let s = 0; s < seconds; s += 60) {
      const f = s / seconds;
      this.fixes.push({ t: this.t + s, lat: from.lat + (to.lat - from.lat) * f, lon: from.lon + (to.lon - from.lon) * f });
    }
    this.pos = to;
    this.t += seconds;
    return this;
  }
  gap(seconds: number): this {
    this.t += seconds;
    return this;
  }
}

const H = 3600;

// ---------------------------------------------------------------------------------------------------------
// Programs

const kmHistogram: PipelineProgram = {
  kind: "pipeline",
  from: "location-history/points",
  steps: [
    { op: "window", field: "t", from: WEEK_START, to: WEEK_START + 7 * DAY_S },
    { op: "group", by: { field: "t", every: DAY_S, from: WEEK_START, count: 7 } },
    { op: "aggregate", fn: "distance-km" },
    { op: "bucket", edges: EDGES },
  ],
};
const kmPerDayVector: PipelineProgram = { ...kmHistogram, steps: kmHistogram.steps.slice(0, 3) };

const tripsByKind: PipelineProgram = {
  kind: "pipeline",
  from: "location-history/points",
  steps: [
    { op: "window", field: "t", from: WEEK_START, to: WEEK_START + 7 * DAY_S },
    { op: "place", as: "kind", places: "places/saved", lat: "lat", lon: "lon" },
    { op: "group", by: { field: "kind", values: ["shop", "transit", "park"] } },
    { op: "aggregate", fn: "entries" },
  ],
};

const hoursAtHome: PipelineProgram = {
  kind: "pipeline",
  from: "location-history/points",
  steps: [
    { op: "place", as: "kind", places: "places/saved", lat: "lat", lon: "lon" },
    { op: "group", by: { field: "t", every: DAY_S, from: WEEK_START, count: 7 } },
    {
      op: "aggregate",
      fn: "dwell-s",
      where: { op: "eq", args: [{ field: "kind" }, { const: "home" }] },
      maxGapS: 3600,
      scale: { num: 1, den: 3600 },
    },
  ],
};

const REGIONS = ["north", "south", "east"];
// code = 2 × (1-based region index) + (fever or cough) − 2: north 0/1, south 2/3, east 4/5; unknown region < 0.
const regionIndex: Expr = {
  op: "add",
  args: REGIONS.map((r, i): Expr => ({ op: "mul", args: [{ op: "in", args: [{ field: "region" }], values: [r] }, { const: i + 1 }] })),
};
const hasSymptoms: Expr = { op: "or", args: [{ field: "symptoms.fever" }, { field: "symptoms.cough" }] };
const symptomsByRegion: PipelineProgram = {
  kind: "pipeline",
  from: "symptom-diary/entries",
  steps: [
    { op: "window", field: "t", from: WEEK_START, to: WEEK_START + 7 * DAY_S },
    { op: "derive", as: "regionIndex", value: regionIndex },
    {
      op: "derive",
      as: "code",
      value: {
        op: "sub",
        args: [{ op: "add", args: [{ op: "mul", args: [{ field: "regionIndex" }, { const: 2 }] }, hasSymptoms] }, { const: 2 }],
      },
    },
    { op: "aggregate", fn: "max", field: "code" },
    { op: "one-hot", values: [0, 1, 2, 3, 4, 5, "other / no data"] },
  ],
};

const anySymptomsPerDay: PipelineProgram = {
  kind: "pipeline",
  from: "symptom-diary/entries",
  steps: [
    { op: "filter", where: hasSymptoms },
    { op: "group", by: { field: "t", every: DAY_S, from: WEEK_START, count: 7 } },
    { op: "aggregate", fn: "count" },
  ],
};

const EXAMPLES: Array<{ name: string; program: PipelineProgram; reads: ReadSpec[] }> = [
  { name: "km per day histogram", program: kmHistogram, reads: [LOCATION] },
  { name: "km per day", program: kmPerDayVector, reads: [LOCATION] },
  { name: "trips by kind of place", program: tripsByKind, reads: [LOCATION, PLACES] },
  { name: "hours at home per day", program: hoursAtHome, reads: [LOCATION, PLACES] },
  { name: "symptoms by region", program: symptomsByRegion, reads: [DIARY] },
  { name: "days with symptoms", program: anySymptomsPerDay, reads: [DIARY] },
];

// ---------------------------------------------------------------------------------------------------------
// Direct computations the pipeline is checked against

function directKmPerDay(points: readonly Fix[], start: number, days: number): number[] {
  const inWindow = points.filter((p) => p.t >= start && p.t < start + days * DAY_S).sort((a, b) => a.t - b.t);
  const km = new Array<number>(days).fill(0);
  const day = (p: Fix) => Math.floor((p.t - start) / DAY_S);
  for (let i = 1; i < inWindow.length; i++) {
    const prev = inWindow[i - 1] as Fix;
    const cur = inWindow[i] as Fix;
    if (day(prev) === day(cur)) km[day(cur)] = (km[day(cur)] as number) + haversineKm(prev, cur);
  }
  return km.map((x) => Math.round(x));
}

function directHistogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    const bucket = edges.filter((e) => v >= e).length;
    counts[bucket] = (counts[bucket] as number) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------

describe("pipeline programs", () => {
  it("km per day histogram matches a direct haversine computation", () => {
    for (const seed of [1, 2, 3, 4]) {
      // One day without a single fix (phone off), which must land in "under 1".
      const fixes = randomWeek(seed).filter((p) => Math.floor((p.t - WEEK_START) / DAY_S) !== seed);
      // Shuffled on purpose: the pipeline puts rows in time order itself.
      const shuffled = [...fixes].sort((a, b) => ((a.t * 7919) % 1009) - ((b.t * 7919) % 1009));
      const input = { "location-history/points": shuffled };
      const perDay = directKmPerDay(fixes, WEEK_START, 7);
      expect(runPipeline(kmPerDayVector, input)).to.deep.equal(perDay);
      expect(runPipeline(kmHistogram, input)).to.deep.equal(directHistogram(perDay, EDGES));
      expect(runPipeline(kmHistogram, input).reduce((s, x) => s + x, 0)).to.equal(7);
      expect(perDay[seed]).to.equal(0);
    }
  });

  it("counts trips to shops, transit and parks as arrivals at saved places", () => {
    const tl = new Timeline(WEEK_START);
    // Per day: home, out to one or two places and back; a day with the phone off while at the shop.
    const outings: Array<Array<{ lat: number; lon: number }>> = [[SHOP], [PARK, SHOP], [TRANSIT], [], [SHOP, TRANSIT], [PARK], [SHOP]];
    for (const [d, places] of outings.entries()) {
      tl.stay(8 * H, HOME);
      for (const p of places) tl.move(p, 20 * 60).stay(30 * 60, p);
      if (d === 6) tl.gap(10 * 60).stay(20 * 60, SHOP); // same visit, resumed after a gap: still consecutive rows
      tl.move(HOME, 20 * 60);
      tl.stay(DAY_S - 8 * H - places.length * 50 * 60 - 20 * 60 - (d === 6 ? 30 * 60 : 0), HOME);
    }
    expect(tl.fixes.at(-1)?.t).to.equal(WEEK_START + 7 * DAY_S - 60);
    const input = { "location-history/points": tl.fixes, "places/saved": SAVED_PLACES };
    expect(runPipeline(tripsByKind, input)).to.deep.equal([4, 2, 2]);
    // Without the saved places nothing is anywhere.
    expect(runPipeline(tripsByKind, { "location-history/points": tl.fixes })).to.deep.equal([0, 0, 0]);
  });

  it("the first matching place wins, and rows outside every place get none", () => {
    const program: PipelineProgram = {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        { op: "place", as: "kind", places: "places/saved", lat: "lat", lon: "lon" },
        { op: "group", by: { field: "kind", values: ["inner", "outer"] } },
        { op: "aggregate", fn: "count" },
      ],
    };
    const places = [
      { category: "inner", ...HOME, radiusM: 50 },
      { category: "outer", ...HOME, radiusM: 5000 },
    ];
    const rows = [
      { t: 1, ...HOME },
      { t: 2, lat: HOME.lat + 0.01, lon: HOME.lon }, // ~1.1 km north
      { t: 3, lat: HOME.lat + 1, lon: HOME.lon }, // ~111 km north
    ];
    expect(runPipeline(program, { "location-history/points": rows, "places/saved": places })).to.deep.equal([1, 1]);
  });

  it("counts movement only between rows that are neighbours before grouping", () => {
    const program: PipelineProgram = {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        { op: "place", as: "kind", places: "places/saved", lat: "lat", lon: "lon" },
        { op: "group", by: { field: "kind", values: ["park"] } },
        { op: "aggregate", fn: "distance-km", scale: { num: 1000, den: 1 } },
      ],
    };
    const north = { lat: PARK.lat + 0.001, lon: PARK.lon }; // ~111 m north of the park's centre, inside its 200 m
    // Two visits to the park with a trip home between them: the walk inside the park counts (2 × 111 m), the
    // jump from the first visit's last fix to the second visit's first fix (which skips the trip home) does not.
    const tl = new Timeline(WEEK_START).stay(120, PARK).stay(60, north).stay(60, HOME).stay(60, north).stay(60, PARK);
    const metres = runPipeline(program, { "location-history/points": tl.fixes, "places/saved": SAVED_PLACES });
    const leg = haversineKm({ t: 0, ...PARK }, { t: 0, ...north }) * 1000;
    expect(metres).to.deep.equal([Math.floor(2 * leg)]);
  });

  it("buckets a missing result (mean of no rows) as 0", () => {
    const program: PipelineProgram = {
      kind: "pipeline",
      from: "c/r",
      steps: [
        { op: "group", by: { field: "t", every: 10, from: 0, count: 3 } },
        { op: "aggregate", fn: "mean", field: "v" },
        { op: "bucket", edges: [0, 5] },
      ],
    };
    const rows = [
      { t: 1, v: 7 },
      { t: 12, v: -3 },
    ];
    expect(runPipeline(program, { "c/r": rows })).to.deep.equal([1, 1, 1]);
  });

  it("works out hours at home per day, leaving out gaps of more than an hour", () => {
    const tl = new Timeline(WEEK_START);
    // Day 0, by hand: home 00:00–08:00, shop 08:00–09:00, home 09:00–12:00, phone off until 15:00, home 15:00–16:00,
    // shop for the rest of the day. Home rows count the time to the next fix: 8 h + (3 h − 1 min; 11:59 → 15:00 is
    // over the 1 h limit) + 1 h = 11 h 59 min → 11 hours.
    tl.stay(8 * H, HOME)
      .stay(H, SHOP)
      .stay(3 * H, HOME)
      .gap(3 * H)
      .stay(H, HOME)
      .stay(8 * H, SHOP);
    // Day 1: at home all day long; the last fix (23:59) pairs with day 2's first, which is in another group.
    tl.stay(DAY_S, HOME);
    // Day 2: 30 minutes at home, then far away.
    tl.stay(30 * 60, HOME).stay(DAY_S - 30 * 60, { lat: 48.85, lon: 2.35 });
    const input = { "location-history/points": tl.fixes, "places/saved": SAVED_PLACES };
    expect(runPipeline(hoursAtHome, input)).to.deep.equal([11, 23, 0, 0, 0, 0, 0]);

    const minutes: PipelineProgram = {
      ...hoursAtHome,
      steps: hoursAtHome.steps.map((s) => (s.op === "aggregate" ? { ...s, scale: { num: 1, den: 60 } } : s)),
    };
    expect(runPipeline(minutes, input)).to.deep.equal([11 * 60 + 59, 23 * 60 + 59, 30, 0, 0, 0, 0]);
  });

  it("reports the region and whether there were symptoms as one category, with no data in the last", () => {
    const day = (d: number) => WEEK_START + d * DAY_S + 9 * H;
    const run = (rows: Row[]) => runPipeline(symptomsByRegion, { "symptom-diary/entries": rows });
    const categories = (i: number) => Array.from({ length: 7 }, (_, j) => (j === i ? 1 : 0));
    expect(run([{ t: day(0), region: "north", symptoms: { fever: false, cough: false } }])).to.deep.equal(categories(0));
    expect(
      run([
        { t: day(0), region: "north", symptoms: { fever: false, cough: false } },
        { t: day(3), region: "north", symptoms: { fever: true, cough: false } },
      ]),
    ).to.deep.equal(categories(1));
    expect(run([{ t: day(1), region: "south", symptoms: { cough: true } }])).to.deep.equal(categories(3));
    expect(run([{ t: day(1), region: "east", symptoms: {} }])).to.deep.equal(categories(4));
    // Unknown or missing region, no diary entries, or entries outside the week: the last category.
    expect(run([{ t: day(1), region: "west", symptoms: { fever: true } }])).to.deep.equal(categories(6));
    expect(run([{ t: day(1), symptoms: { fever: true } }])).to.deep.equal(categories(6));
    expect(run([])).to.deep.equal(categories(6));
    expect(run([{ t: day(9), region: "north", symptoms: { fever: true } }])).to.deep.equal(categories(6));
    expect(runPipeline(symptomsByRegion, {})).to.deep.equal(categories(6));
  });

  it("evaluates expressions totally: null propagates, division by zero and strings give null", () => {
    const program = (value: Expr): PipelineProgram => ({
      kind: "pipeline",
      from: "c/r",
      steps: [
        { op: "derive", as: "y", value },
        { op: "aggregate", fn: "max", field: "y" },
        { op: "one-hot", values: [0, 1, 2, 3, -1] },
      ],
    });
    const run = (value: Expr, row: Row) => runPipeline(program(value), { "c/r": [row] }).indexOf(1);
    const x = { field: "x" };
    expect(run({ op: "add", args: [x, { const: 1 }] }, { x: 2 })).to.equal(3);
    expect(run({ op: "add", args: [x, { const: 1 }] }, { x: "2" })).to.equal(4); // null → other / no data
    expect(run({ op: "add", args: [x, { const: 1 }] }, {})).to.equal(4);
    expect(run({ op: "div", args: [{ const: 1 }, x] }, { x: 0 })).to.equal(4);
    expect(run({ op: "add", args: [x, x] }, { x: true })).to.equal(2); // true reads as 1
    expect(run({ op: "floor", args: [{ op: "div", args: [{ const: 7 }, x] }] }, { x: 3 })).to.equal(2);
    expect(run({ op: "round", args: [{ const: 2.5 }] }, {})).to.equal(3);
    expect(run({ op: "abs", args: [x] }, { x: -1 })).to.equal(1);
    expect(run({ op: "min", args: [x, { const: 3 }, { const: 2 }] }, { x: 9 })).to.equal(2);
    // Comparisons with null are false, in both directions.
    expect(run({ op: "eq", args: [x, { const: null }] }, {})).to.equal(0);
    expect(run({ op: "ne", args: [x, { const: 1 }] }, {})).to.equal(0);
    expect(run({ op: "ne", args: [x, { const: 1 }] }, { x: 2 })).to.equal(1);
    expect(run({ op: "eq", args: [x, { const: "1" }] }, { x: 1 })).to.equal(0);
    expect(run({ op: "lt", args: [x, { const: "b" }] }, { x: "a" })).to.equal(1);
    expect(run({ op: "lt", args: [x, { const: 5 }] }, { x: "a" })).to.equal(0);
    expect(run({ op: "not", args: [x] }, { x: "" })).to.equal(1);
    expect(run({ op: "and", args: [x, { const: "yes" }] }, { x: 2 })).to.equal(1);
    expect(run({ op: "in", args: [x], values: [3, "a"] }, { x: "a" })).to.equal(1);
    expect(run({ field: "x.y.z" }, { x: { y: { z: 2 } } })).to.equal(2);
    expect(run({ field: "x.y" }, { x: [1, 2] })).to.equal(4);
    expect(run({ field: "x" }, { x: Number.POSITIVE_INFINITY })).to.equal(4);
  });

  it("aggregates: sum, mean, min, any, distinct, count; empty groups give 0 or null", () => {
    const rows = [
      { t: WEEK_START + 10, v: 3, s: "a" },
      { t: WEEK_START + 20, v: "x", s: "b" },
      { t: WEEK_START + 30, v: 4.4, s: "a" },
      { t: WEEK_START + DAY_S + 5, v: 0, s: null },
    ];
    const run = (fn: string, field?: string) =>
      runPipeline(
        {
          kind: "pipeline",
          from: "c/r",
          steps: [
            { op: "group", by: { field: "t", every: DAY_S, from: WEEK_START, count: 3 } },
            { op: "aggregate", fn, ...(field ? { field } : {}) } as PipelineStep,
          ],
        },
        { "c/r": rows },
      );
    expect(run("count")).to.deep.equal([3, 1, 0]);
    expect(run("sum", "v")).to.deep.equal([7, 0, 0]); // 7.4 rounds to 7
    expect(run("mean", "v")).to.deep.equal([4, 0, 0]); // 3.7 → 4; empty mean is null → 0 in a vector
    expect(run("min", "v")).to.deep.equal([3, 0, 0]);
    expect(run("any", "v")).to.deep.equal([1, 0, 0]);
    expect(run("distinct", "s")).to.deep.equal([2, 0, 0]);
  });

  it("never changes its input", () => {
    const fixes = randomWeek(9).slice(0, 2000);
    const input = { "location-history/points": fixes, "places/saved": SAVED_PLACES };
    const before = structuredClone(input);
    for (const { program } of EXAMPLES) runPipeline(program, input);
    expect(input).to.deep.equal(before);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("pipeline validation", () => {
  it("accepts the example programs and reports their output length and collections", () => {
    expect(validatePipeline(kmHistogram, [LOCATION])).to.deep.equal({ outputLength: 6, collections: ["location-history/points"] });
    expect(validatePipeline(kmPerDayVector, [LOCATION])).to.deep.equal({ outputLength: 7, collections: ["location-history/points"] });
    expect(validatePipeline(tripsByKind, [LOCATION, PLACES])).to.deep.equal({
      outputLength: 3,
      collections: ["location-history/points", "places/saved"],
    });
    expect(validatePipeline(hoursAtHome, [LOCATION, PLACES]).outputLength).to.equal(7);
    expect(validatePipeline(symptomsByRegion, [DIARY]).outputLength).to.equal(7);
    expect(validatePipeline(anySymptomsPerDay, [DIARY]).outputLength).to.equal(7);
  });

  const withSteps = (base: PipelineProgram, edit: (steps: PipelineStep[]) => unknown[]): PipelineProgram =>
    ({ ...base, steps: edit(structuredClone(base.steps)) }) as PipelineProgram;
  const deep = (depth: number): Expr => (depth === 1 ? { field: "t" } : { op: "abs", args: [deep(depth - 1)] });

  const cases: Array<{ name: string; program: unknown; reads: ReadSpec[]; path: string; says: RegExp }> = [
    {
      name: "unknown collection",
      program: { ...kmHistogram, from: "location-history/secret" },
      reads: [LOCATION],
      path: "program.from",
      says: /not among the reads/,
    },
    {
      name: "unknown places collection",
      program: tripsByKind,
      reads: [LOCATION],
      path: "program.steps[1].places",
      says: /"places\/saved" is not among the reads/,
    },
    {
      name: "places collection without radiusM",
      program: tripsByKind,
      reads: [LOCATION, { ...PLACES, fields: ["category", "lat", "lon"] }],
      path: "program.steps[1].places",
      says: /missing radiusM/,
    },
    {
      name: "undeclared field",
      program: withSteps(kmHistogram, (s) => [{ op: "filter", where: { op: "gt", args: [{ field: "speed" }, { const: 1 }] } }, ...s]),
      reads: [LOCATION],
      path: "program.steps[0].where.args[0].field",
      says: /"speed" is not a field location-history\/points declares \(t, lat, lon\)/,
    },
    {
      name: "undeclared nested field",
      program: symptomsByRegion,
      reads: [{ ...DIARY, fields: ["t", "region"] }],
      path: "program.steps[2].value.args[0].args[1].args[0].field",
      says: /"symptoms.fever"/,
    },
    {
      name: "field used before the step that derives it",
      program: withSteps(symptomsByRegion, (s) => [s[0], s[2], s[1], ...s.slice(3)]),
      reads: [DIARY],
      path: "program.steps[1].value.args[0].args[0].args[0].field",
      says: /"regionIndex"/,
    },
    {
      name: "two aggregates",
      program: withSteps(kmPerDayVector, (s) => [...s, { op: "aggregate", fn: "count" }]),
      reads: [LOCATION],
      path: "program.steps[3].op",
      says: /only one aggregate/,
    },
    {
      name: "missing aggregate",
      program: withSteps(kmHistogram, (s) => s.slice(0, 2)),
      reads: [LOCATION],
      path: "program.steps",
      says: /missing an aggregate/,
    },
    {
      name: "a row step after the aggregate",
      program: withSteps(kmPerDayVector, (s) => [...s, { op: "filter", where: { const: true } }]),
      reads: [LOCATION],
      path: "program.steps[3].op",
      says: /before the group and aggregate/,
    },
    {
      name: "edges not increasing",
      program: withSteps(kmHistogram, (s) => [...s.slice(0, 3), { op: "bucket", edges: [1, 5, 5, 10] }]),
      reads: [LOCATION],
      path: "program.steps[3].edges",
      says: /expected strictly increasing integers/,
    },
    {
      name: "fractional edges",
      program: withSteps(kmHistogram, (s) => [...s.slice(0, 3), { op: "bucket", edges: [0.5, 1] }]),
      reads: [LOCATION],
      path: "program.steps[3].edges",
      says: /expected strictly increasing integers/,
    },
    {
      name: "too many edges",
      program: withSteps(kmHistogram, (s) => [...s.slice(0, 3), { op: "bucket", edges: Array.from({ length: 257 }, (_, i) => i) }]),
      reads: [LOCATION],
      path: "program.steps[3].edges",
      says: /1 to 256 edges/,
    },
    {
      name: "huge group count",
      program: withSteps(kmHistogram, (s) => [
        s[0],
        { op: "group", by: { field: "t", every: 60, from: WEEK_START, count: 10_080 } },
        ...s.slice(2),
      ]),
      reads: [LOCATION],
      path: "program.steps[1].by.count",
      says: /from 1 to 366, got 10080/,
    },
    {
      name: "group every of zero",
      program: withSteps(kmHistogram, (s) => [
        s[0],
        { op: "group", by: { field: "t", every: 0, from: WEEK_START, count: 7 } },
        ...s.slice(2),
      ]),
      reads: [LOCATION],
      path: "program.steps[1].by.every",
      says: /positive/,
    },
    {
      name: "window that ends before it starts",
      program: withSteps(kmHistogram, (s) => [{ op: "window", field: "t", from: 10, to: 10 }, ...s.slice(1)]),
      reads: [LOCATION],
      path: "program.steps[0].to",
      says: /more than from/,
    },
    {
      name: "window bound that is not finite",
      program: withSteps(kmHistogram, (s) => [{ op: "window", field: "t", from: Number.NEGATIVE_INFINITY, to: 10 }, ...s.slice(1)]),
      reads: [LOCATION],
      path: "program.steps[0].from",
      says: /finite number/,
    },
    {
      name: "expression too deep",
      program: withSteps(kmHistogram, (s) => [{ op: "filter", where: deep(PIPELINE_LIMITS.exprDepth + 1) }, ...s]),
      reads: [LOCATION],
      path: `program.steps[0].where${".args[0]".repeat(PIPELINE_LIMITS.exprDepth)}`,
      says: /nested deeper than 16 levels/,
    },
    {
      name: "expression too big",
      program: withSteps(kmHistogram, (s) => [
        {
          op: "filter",
          where: {
            op: "and",
            args: Array.from({ length: 32 }, () => ({ op: "or", args: Array.from({ length: 9 }, () => ({ field: "t" })) })),
          },
        },
        ...s,
      ]),
      reads: [LOCATION],
      path: "program.steps[0].where.args[25].args[4]",
      says: /more than 256 parts/,
    },
    {
      name: "unknown operation",
      program: withSteps(kmHistogram, (s) => [{ op: "filter", where: { op: "pow", args: [{ field: "t" }, { const: 2 }] } }, ...s]),
      reads: [LOCATION],
      path: "program.steps[0].where.op",
      says: /unknown operation "pow"/,
    },
    {
      name: "comparison with three arguments",
      program: withSteps(kmHistogram, (s) => [
        { op: "filter", where: { op: "lt", args: [{ const: 1 }, { const: 2 }, { const: 3 }] } },
        ...s,
      ]),
      reads: [LOCATION],
      path: "program.steps[0].where.args",
      says: /lt takes 2 arguments/,
    },
    {
      name: "aggregate field it does not take",
      program: withSteps(kmPerDayVector, (s) => [...s.slice(0, 2), { op: "aggregate", fn: "count", field: "t" }]),
      reads: [LOCATION],
      path: "program.steps[2].field",
      says: /count takes no field/,
    },
    {
      name: "aggregate without the field it needs",
      program: withSteps(kmPerDayVector, (s) => [...s.slice(0, 2), { op: "aggregate", fn: "sum" }]),
      reads: [LOCATION],
      path: "program.steps[2].field",
      says: /expected a field name/,
    },
    {
      name: "dwell-s without maxGapS",
      program: withSteps(hoursAtHome, (s) => [...s.slice(0, 2), { op: "aggregate", fn: "dwell-s" }]),
      reads: [LOCATION, PLACES],
      path: "program.steps[2].maxGapS",
      says: /finite number/,
    },
    {
      name: "distance-km without lat and lon",
      program: withSteps(kmPerDayVector, (s) => s),
      reads: [{ ...LOCATION, fields: ["t"] }],
      path: "program.steps[2].fn",
      says: /needs the fields lat and lon/,
    },
    {
      name: "one-hot after a group step",
      program: withSteps(kmPerDayVector, (s) => [...s, { op: "one-hot", values: [0, 1, "other"] }]),
      reads: [LOCATION],
      path: "program.steps[3].op",
      says: /single result/,
    },
    {
      name: "one-hot value that cannot be a result",
      program: withSteps(symptomsByRegion, (s) => [...s.slice(0, 4), { op: "one-hot", values: [0, "fever", "other"] }]),
      reads: [DIARY],
      path: "program.steps[4].values[1]",
      says: /expected an integer/,
    },
    {
      name: "an unknown key, which the consent screen would not show",
      program: withSteps(kmHistogram, (s) => [{ ...s[0], note: "x" }, ...s.slice(1)]),
      reads: [LOCATION],
      path: "program.steps[0].note",
      says: /unknown key/,
    },
    {
      name: "a field name reaching into prototypes",
      program: withSteps(kmHistogram, (s) => [{ op: "derive", as: "__proto__", value: { const: 1 } }, ...s]),
      reads: [LOCATION],
      path: "program.steps[0].as",
      says: /expected a field name/,
    },
    { name: "not a program", program: { kind: "sandbox" }, reads: [LOCATION], path: "program.kind", says: /expected "pipeline"/ },
  ];

  for (const c of cases) {
    it(`rejects ${c.name} with InvalidJobSpecError naming ${c.path}`, () => {
      const before = structuredClone(c.program);
      let caught: unknown;
      try {
        validatePipeline(c.program as PipelineProgram, c.reads);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidJobSpecError);
      expect((caught as Error).name).to.equal("InvalidJobSpecError");
      expect((caught as Error).message.startsWith(`${c.path}: `), (caught as Error).message).to.equal(true);
      expect((caught as Error).message).to.match(c.says);
      expect(c.program).to.deep.equal(before);
      // describePipeline shows nothing for a program validation rejects.
      expect(() => describePipeline(c.program as PipelineProgram, c.reads)).to.throw(InvalidJobSpecError);
    });
  }

  it("runPipeline rejects a structurally invalid program before touching data", () => {
    expect(() => runPipeline({ ...kmHistogram, steps: kmHistogram.steps.slice(0, 2) }, {})).to.throw(
      InvalidJobSpecError,
      /^program.steps: /,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

const FIELDS = ["t", "lat", "lon", "x", "region", "symptoms.fever", "kind"];
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.double(),
  fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, Number.MAX_VALUE, -Number.MAX_VALUE),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
);
const timeish = fc.oneof(fc.integer({ min: WEEK_START - DAY_S, max: WEEK_START + 8 * DAY_S }), junk);
const rowArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record(
      {
        t: timeish,
        lat: fc.oneof(fc.double({ min: 52.3, max: 52.4, noNaN: true }), junk),
        lon: fc.oneof(fc.double({ min: 4.8, max: 4.95, noNaN: true }), junk),
        x: junk,
        region: fc.oneof(fc.constantFrom(...REGIONS), junk),
        symptoms: fc.oneof(fc.record({ fever: junk, cough: junk }, { requiredKeys: [] }), junk),
        kind: junk,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);
const placeArb = fc.oneof(
  fc.record({
    category: fc.oneof(fc.constantFrom("home", "shop", "park"), junk),
    lat: fc.oneof(fc.double({ min: 52.3, max: 52.4, noNaN: true }), junk),
    lon: fc.oneof(fc.double({ min: 4.8, max: 4.95, noNaN: true }), junk),
    radiusM: fc.oneof(fc.integer({ min: 0, max: 5000 }), junk),
  }),
  fc.anything(),
);
const inputArb = fc.record({
  "location-history/points": fc.array(rowArb, { maxLength: 60 }),
  "places/saved": fc.array(placeArb, { maxLength: 4 }),
  "symptom-diary/entries": fc.array(rowArb, { maxLength: 30 }),
});

const { expr: exprArb } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 4, depthIdentifier: "expr" },
    fc.record({ field: fc.constantFrom(...FIELDS) }),
    fc.record({
      const: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null)),
    }),
    fc.record({
      op: fc.constantFrom("add", "sub", "mul", "div", "min", "max", "and", "or"),
      args: fc.array(tie("expr"), { minLength: 2, maxLength: 3 }),
    }) as fc.Arbitrary<Expr>,
    fc.record({
      op: fc.constantFrom("eq", "ne", "lt", "lte", "gt", "gte"),
      args: fc.tuple(tie("expr"), tie("expr")),
    }) as fc.Arbitrary<Expr>,
    fc.record({ op: fc.constantFrom("not", "floor", "round", "abs"), args: fc.tuple(tie("expr")) }) as fc.Arbitrary<Expr>,
    fc.record({
      op: fc.constant("in" as const),
      args: fc.tuple(tie("expr")),
      values: fc.uniqueArray(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom("a", "b", "north")), { minLength: 1, maxLength: 4 }),
    }),
  ),
}));

const EVERYTHING: ReadSpec = {
  ability: "location-history",
  collection: "points",
  fields: ["t", "lat", "lon", "x", "region", "symptoms", "kind"],
};
const randomProgramArb = fc
  .tuple(
    exprArb,
    exprArb,
    exprArb,
    fc.constantFrom("count", "sum", "min", "max", "mean", "any", "distance-km", "dwell-s", "entries", "distinct"),
    fc.constantFrom("none", "day", "values"),
    fc.constantFrom("none", "bucket", "one-hot"),
    fc.option(fc.record({ num: fc.integer({ min: 1, max: 1000 }), den: fc.integer({ min: 1, max: 3600 }) }), { nil: undefined }),
  )
  .map(([derived, where, inside, fn, groupBy, out, scale]): PipelineProgram => {
    const steps: PipelineStep[] = [
      { op: "derive", as: "y", value: derived },
      { op: "filter", where },
      { op: "place", as: "kind", places: "places/saved", lat: "lat", lon: "lon" },
    ];
    if (groupBy === "day") steps.push({ op: "group", by: { field: "t", every: DAY_S, from: WEEK_START, count: 7 } });
    if (groupBy === "values") steps.push({ op: "group", by: { field: "kind", values: ["home", "shop", 3] } });
    const needsField = ["sum", "min", "max", "mean", "any", "distinct"].includes(fn);
    const agg = { op: "aggregate", fn, ...(needsField ? { field: "y" } : {}), ...(scale ? { scale } : {}) } as PipelineStep & {
      op: "aggregate";
    };
    if (fn === "dwell-s" || fn === "entries") agg.where = inside;
    if (fn === "dwell-s") agg.maxGapS = 3600;
    steps.push(agg);
    if (out === "bucket") steps.push({ op: "bucket", edges: [-10, 0, 1, 5, 100] });
    if (out === "one-hot" && groupBy === "none") steps.push({ op: "one-hot", values: [-1, 0, 1, 2, 3, "other / no data"] });
    return { kind: "pipeline", from: "location-history/points", steps };
  });

function expectWellShaped(program: PipelineProgram, out: number[], outputLength: number): void {
  expect(out).to.have.length(outputLength);
  for (const x of out) expect(Number.isSafeInteger(x), String(x)).to.equal(true);
  const last = program.steps.at(-1);
  if (last?.op === "one-hot") expect(out.reduce((s, x) => s + x, 0)).to.equal(1);
  if (last?.op === "bucket") {
    const group = program.steps.find((s): s is Extract<PipelineStep, { op: "group" }> => s.op === "group");
    const groups = group === undefined ? 1 : "values" in group.by ? group.by.values.length : group.by.count;
    expect(out.reduce((s, x) => s + x, 0)).to.equal(groups);
  }
}

describe("pipeline properties", () => {
  it("never throws on arbitrary row data and always returns outputLength safe integers (example programs)", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const { program, reads } of EXAMPLES) {
          const { outputLength } = validatePipeline(program, reads);
          expectWellShaped(program, runPipeline(program, input as Record<string, Row[]>), outputLength);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("never throws on arbitrary data for random valid programs and expressions", () => {
    fc.assert(
      fc.property(randomProgramArb, inputArb, (program, input) => {
        const { outputLength } = validatePipeline(program, [EVERYTHING, PLACES]);
        expectWellShaped(program, runPipeline(program, input as Record<string, Row[]>), outputLength);
        expect(describePipeline(program, [EVERYTHING, PLACES])).to.have.length(2 + program.steps.length + 1);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it("does not depend on the order rows arrive in when their times differ", () => {
    const fix = fc.record({
      t: fc.integer({ min: WEEK_START - H, max: WEEK_START + 7 * DAY_S + H }),
      lat: fc.double({ min: 52.35, max: 52.39, noNaN: true }),
      lon: fc.double({ min: 4.86, max: 4.92, noNaN: true }),
    });
    const fixes = fc.uniqueArray(fix, { selector: (p) => p.t, maxLength: 200 });
    fc.assert(
      fc.property(fixes, fc.integer(), (points, salt) => {
        const shuffled = [...points].sort((a, b) => (((a.t ^ salt) * 31) % 97) - (((b.t ^ salt) * 31) % 97));
        for (const program of [kmHistogram, tripsByKind, hoursAtHome]) {
          const a = runPipeline(program, { "location-history/points": points, "places/saved": SAVED_PLACES });
          const b = runPipeline(program, { "location-history/points": shuffled, "places/saved": SAVED_PLACES });
          expect(b).to.deep.equal(a);
        }
      }),
      { seed: 3, numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("describePipeline", () => {
  it("describes the km per day histogram in plain words", () => {
    expect(describePipeline(kmHistogram, [LOCATION])).to.deep.equal([
      "Reads your location history (points: t, lat, lon).",
      "Keeps records from 14 Nov 2026 through 20 Nov 2026.",
      "Splits them into 7 days, from 14 Nov 2026 through 20 Nov 2026.",
      "Works out the distance you travelled (km) in each day, adding up straight lines between consecutive records, rounded to a whole number.",
      "Counts how many days fall in each range: under 1, 1–4, 5–9, 10–24, 25–49, 50 or more.",
      "The result is 6 whole numbers.",
    ]);
  });

  it("describes places, dwell time, symptoms and one-hot outputs readably", () => {
    const home = describePipeline(hoursAtHome, [LOCATION, PLACES]);
    expect(home).to.include(
      "Looks up which of your places (places/saved) each record's position (lat, lon) falls within, and notes that place's category as kind (none when outside all of them).",
    );
    expect(home).to.include(
      "Works out how many hours you spent where kind is “home” in each day (rounded down; a gap of more than 1 hour between records is not counted).",
    );
    expect(describePipeline(tripsByKind, [LOCATION, PLACES])).to.include(
      "Splits them by kind into 3 groups: “shop”, “transit”, “park”; records with any other kind are left out.",
    );
    expect(describePipeline(anySymptomsPerDay, [DIARY])).to.include(
      "Keeps only records where symptoms.fever is true or symptoms.cough is true.",
    );
    const symptoms = describePipeline(symptomsByRegion, [DIARY]);
    expect(symptoms).to.include(
      "Works out regionIndex for each record: (1 if region is “north”, else 0) × 1 + (1 if region is “south”, else 0) × 2 + (1 if region is “east”, else 0) × 3.",
    );
    expect(symptoms).to.include(
      "Works out code for each record: regionIndex × 2 + (1 if symptoms.fever is true or symptoms.cough is true, else 0) − 2.",
    );
    expect(symptoms).to.include("Reports only which one of these the result is: 0, 1, 2, 3, 4, 5, or “other / no data”.");
    expect(symptoms.at(-1)).to.equal("The result is 7 numbers: a single 1 marking the answer, and 0 for the others.");
  });

  it("renders times, brackets and wordy operations unambiguously", () => {
    const program: PipelineProgram = {
      kind: "pipeline",
      from: "location-history/points",
      steps: [
        { op: "window", field: "t", from: WEEK_START + 6 * H, to: WEEK_START + DAY_S },
        {
          op: "filter",
          where: {
            op: "and",
            args: [
              { op: "gte", args: [{ field: "t" }, { const: WEEK_START + 12 * H }] },
              { op: "not", args: [{ op: "or", args: [{ field: "x" }, { field: "kind" }] }] },
            ],
          },
        },
        {
          op: "derive",
          as: "y",
          value: {
            op: "sub",
            args: [
              { field: "x" },
              { op: "sub", args: [{ field: "lat" }, { op: "floor", args: [{ op: "div", args: [{ field: "lon" }, { const: 2 }] }] }] },
            ],
          },
        },
        { op: "group", by: { field: "t", every: 6 * H, from: WEEK_START, count: 4 } },
        { op: "aggregate", fn: "mean", field: "y", scale: { num: 10, den: 1 } },
      ],
    };
    expect(describePipeline(program, [EVERYTHING])).to.deep.equal([
      "Reads your location history (points: t, lat, lon, x, region, symptoms, kind).",
      "Keeps records from 14 Nov 2026 06:00 UTC until 15 Nov 2026.",
      "Keeps only records where t is at least 14 Nov 2026 12:00 UTC and not (x is true or kind is true).",
      "Works out y for each record: x − (lat − ((lon ÷ 2) rounded down)).",
      "Splits them into 4 periods of 6 hours, on 14 Nov 2026.",
      "Works out the average y in each period, multiplied by 10/1 and rounded down.",
      "The result is 4 whole numbers.",
    ]);
  });

  it("mentions every step of every example program", () => {
    for (const { name, program, reads } of EXAMPLES) {
      const lines = describePipeline(program, reads);
      expect(lines, name).to.have.length(reads.length + program.steps.length + 1);
      program.steps.forEach((step, i) => {
        const line = lines[reads.length + i] as string;
        if ("field" in step && typeof step.field === "string" && step.field !== "t") expect(line, name).to.include(step.field);
        if (step.op === "derive" || step.op === "place") expect(line, name).to.include(step.as);
        if (step.op === "bucket") expect(line, name).to.include(`${step.edges.at(-1)} or more`);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("pipeline performance", () => {
  it("km per day histogram over a week of fixes every 60 s", () => {
    const fixes = randomWeek(11).filter((p) => p.t >= WEEK_START && p.t < WEEK_START + 7 * DAY_S);
    const input = { "location-history/points": [...fixes].reverse() };
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const start = performance.now();
      runPipeline(kmHistogram, input);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    console.log(
      `      ${JSON.stringify({ name: "pipeline.km_per_day_histogram_ms", value: Number(median.toFixed(2)), unit: "ms", n: fixes.length })}`,
    );
    expect(median).to.be.lessThan(500);
  });
});
