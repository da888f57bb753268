// Declarative map programs: the steps that turn a person's rows into an integer vector inside their vault.
// The static checks a spec must pass are in pipeline-check.ts and the plain words the consent screen shows
// for them in pipeline-words.ts; both follow the semantics below.
//
// Semantics (the vault, every validator and every consent screen rely on exactly this):
//
// Input. `Record<"ability/collection", Row[]>`, each row holding only the fields `reads` declares. The rows
// of `program.from` are the working set. Rows with a numeric `t` (by convention unix seconds) are put in
// time order by a stable sort; rows without one follow, in input order. A collection that is missing or is
// not an array counts as no rows, and a row that is not a map counts as an empty row.
//
// Values. A field reference is a dotted path into nested maps (`symptoms.fever`); it reads only own keys
// and yields a scalar: a finite number, a string, a boolean, or null (missing, NaN, ±Infinity, arrays, maps
// and anything else). Where a number is expected, true/false read as 1/0 and anything else that is not a
// number is null. Evaluation is total: no data makes it throw.
//
// Expressions. `add sub mul div min max` fold their arguments left to right; any null argument, division
// by zero, or a result that is not finite gives null. `floor round abs` map null to null (`round` sends
// halves up). Comparisons give false when either side is null; `eq`/`ne` compare two strings as strings
// and otherwise compare as numbers (so a string never equals a number); `lt lte gt gte` order two strings
// by UTF-16 code units or two numbers numerically, and are false for a string against a number. `and or
// not` work on truthiness (true, a non-zero number, a non-empty string) and give booleans. `in` is true
// when the value equals (as `eq`) one of `values`.
//
// Row steps, in program order. `window`: keeps rows with from ≤ field < to (as numbers). `filter`: keeps
// rows whose `where` is truthy. `derive`: sets row[as] to the value (rows are copied; input is never
// changed). `place`: row[as] is the `category` of the first row (in input order) of the `places`
// collection whose circle — haversine distance ≤ `radiusM` metres from its `lat`/`lon` — holds the row's
// (`lat`, `lon`), or null; places rows without a scalar category or numeric lat/lon/radiusM are skipped.
// The rows that remain form the pre-group sequence; each remembers its index in it.
//
// Group (at most one). By time `{field, every, from, count}`: row → group floor((field − from) / every)
// when that is in [0, count), else dropped. By values `{field, values}`: one group per listed value, in
// the listed order; rows with any other value are dropped. Without a group step, one group holds every
// row. Rows keep their time order inside a group.
//
// Aggregate (exactly one), one value per group. Two rows of a group are *consecutive* when they are next
// to each other in the pre-group sequence. We chose this over "next to each other within the group":
// for time groups the two are the same, and for value groups (by region, by kind of place) it keeps the
// gap between two separate visits from counting as movement or time spent there; a pair that straddles a
// group boundary (a trip across midnight) counts for neither group.
// - `count`: rows in the group.
// - `sum`, `min`, `max`, `mean` of `field` over its numeric values (others ignored); empty: 0 for sum,
//   null for the others. `any`: 1 if `field` is truthy in some row, else 0. `distinct`: how many distinct
//   non-null values `field` takes (a string never equals a number).
// - `distance-km`: the sum of haversine km over consecutive pairs that both have numeric `lat` and `lon`.
// - `dwell-s`: the sum of t(next) − t(row) over consecutive pairs where the row meets `where` (every row
//   when absent) and 0 ≤ gap ≤ `maxGapS`; a longer gap (phone off) counts nothing.
// - `entries`: the number of maximal runs of consecutive rows meeting `where` (every row when absent):
//   each run is one arrival somewhere.
// Then `scale {num, den}`, when given, maps v to floor(v · num / den); otherwise v is rounded (halves up).
// Results are clamped to the safe-integer range. null stays null until the output step.
//
// Output (at most one). None: the group values, null → 0. `bucket {edges}`: group values (null → 0) are
// counted into edges.length + 1 buckets: bucket 0 holds v < edges[0], bucket i holds edges[i-1] ≤ v <
// edges[i], the last holds v ≥ the last edge. `one-hot {values}` (only without a group step): a 1 at the
// index of the single result among values[0..k-2], else — other value or null, i.e. no data — at the last
// index, which the spec labels "other / no data"; 0 elsewhere.
import { type Expr, type Fraction, InvalidJobSpecError, type PipelineProgram, type PipelineStep } from "@mosaic/protocol";
import { MapOutputShapeError } from "./errors.js";
import { haversineKm } from "./kmPerDay.js";
import { type AggregateStep, analyse, type GroupStep, isMap, type OutputStep, ROW_OPS, type Scalar, truthy } from "./pipeline-check.js";

// spec.ts and map.ts import these from here.
export { PIPELINE_LIMITS, validatePipeline } from "./pipeline-check.js";
export { describePipeline } from "./pipeline-words.js";

/** One row as the vault hands it to a program: only the declared fields, possibly nested maps. */
export type Row = Record<string, unknown>;

type Eval = (row: Row) => Scalar;

/**
 * Runs a pipeline over one person's data, as the vault does before adding noise. Checks the program's
 * structure first (InvalidJobSpecError); the data itself never makes it throw.
 *
 * @param input the rows of each `ability/collection` the program reads, with only the declared fields.
 * @returns an integer vector of the length `validatePipeline` reports.
 */
export function runPipeline(program: PipelineProgram, input: Readonly<Record<string, readonly Row[]>>): number[] {
  const plan = analyse(program, null);
  const rowSteps = program.steps.filter((s) => ROW_OPS.has(s.op)).map((s) => compileRowStep(s, input));
  const copyRows = program.steps.some((s) => s.op === "derive" || s.op === "place");

  let rows = timeOrdered(rowsOf(input, program.from), copyRows);
  for (const step of rowSteps) rows = step(rows);

  const groups = plan.group === null ? [rows.map((_, i) => i)] : grouped(rows, plan.group);
  const aggregate = compileAggregate(plan.aggregate);
  const values = groups.map((members) => toInteger(aggregate(rows, members), plan.aggregate.scale));
  const out = outputOf(plan.output, values);
  // The checks above make this unreachable; it guards the promise the vault relies on.
  if (out.length !== plan.outputLength || !out.every(Number.isSafeInteger)) {
    throw new MapOutputShapeError(`pipeline produced ${out.length} entries, expected ${plan.outputLength} safe integers`);
  }
  return out;
}

function rowsOf(input: Readonly<Record<string, readonly Row[]>>, key: string): readonly unknown[] {
  const rows = isMap(input) && Object.hasOwn(input, key) ? input[key] : undefined;
  return Array.isArray(rows) ? rows : [];
}

const EMPTY_ROW: Row = Object.freeze(Object.create(null));

/** Rows with a numeric t in time order (stable), then the rest in input order; copied when steps will write. */
function timeOrdered(input: readonly unknown[], copy: boolean): Row[] {
  const timed: Array<{ row: Row; t: number }> = [];
  const untimed: Row[] = [];
  for (const r of input) {
    let row: Row = isMap(r) ? r : EMPTY_ROW;
    if (copy) row = Object.assign(Object.create(null), row);
    const t = asNumber(readField(row, "t"));
    if (t === null) untimed.push(row);
    else timed.push({ row, t });
  }
  timed.sort((a, b) => a.t - b.t);
  return [...timed.map((x) => x.row), ...untimed];
}

function scalar(v: unknown): Scalar {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  return null;
}

function readField(row: Row, key: string): Scalar {
  return Object.hasOwn(row, key) ? scalar(row[key]) : null;
}

function getter(path: string): Eval {
  const segments = path.split(".");
  if (segments.length === 1) return (row) => readField(row, path);
  return (row) => {
    let cur: unknown = row;
    for (const s of segments) {
      if (!isMap(cur) || !Object.hasOwn(cur, s)) return null;
      cur = cur[s];
    }
    return scalar(cur);
  };
}

function asNumber(v: Scalar): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return null;
}

/** Equality as `eq` sees it: null when either side is null; strings only equal strings; otherwise as numbers. */
function equal(a: Scalar, b: Scalar): boolean | null {
  if (a === null || b === null) return null;
  if (typeof a === "string" || typeof b === "string") return a === b;
  return asNumber(a) === asNumber(b);
}

/** The sign of a − b for two strings or two numbers; null for anything else. */
function order(a: Scalar, b: Scalar): number | null {
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" || typeof b === "string") return null;
  const x = asNumber(a);
  const y = asNumber(b);
  return x === null || y === null ? null : Math.sign(x - y);
}

/** Membership as `in` sees it, with the values split by kind so a lookup is one hash probe. */
function memberOf(values: ReadonlyArray<number | string>): (v: Scalar) => number | undefined {
  const strings = new Map<string, number>();
  const numbers = new Map<number, number>();
  values.forEach((v, i) => {
    if (typeof v === "string") strings.set(v, i);
    else numbers.set(v, i);
  });
  return (v) => {
    if (typeof v === "string") return strings.get(v);
    const n = asNumber(v);
    return n === null ? undefined : numbers.get(n);
  };
}

function fold(args: Eval[], f: (x: number, y: number) => number): Eval {
  return (row) => {
    let acc = asNumber((args[0] as Eval)(row));
    if (acc === null) return null;
    for (let i = 1; i < args.length; i++) {
      const y = asNumber((args[i] as Eval)(row));
      if (y === null) return null;
      acc = f(acc, y);
      if (!Number.isFinite(acc)) return null;
    }
    return acc;
  };
}

function unary(arg: Eval, f: (x: number) => number): Eval {
  return (row) => {
    const x = asNumber(arg(row));
    return x === null ? null : f(x);
  };
}

function compare(args: Eval[], test: (sign: number) => boolean): Eval {
  const [a, b] = args as [Eval, Eval];
  return (row) => {
    const sign = order(a(row), b(row));
    return sign !== null && test(sign);
  };
}

function compileExpr(e: Expr): Eval {
  if ("field" in e) return getter(e.field);
  if ("const" in e) {
    const c = e.const;
    return () => c;
  }
  const args = e.args.map(compileExpr);
  const [a, b] = args as [Eval, Eval];
  switch (e.op) {
    case "add":
      return fold(args, (x, y) => x + y);
    case "sub":
      return fold(args, (x, y) => x - y);
    case "mul":
      return fold(args, (x, y) => x * y);
    case "div":
      return fold(args, (x, y) => (y === 0 ? Number.NaN : x / y));
    case "min":
      return fold(args, Math.min);
    case "max":
      return fold(args, Math.max);
    case "eq":
      return (row) => equal(a(row), b(row)) === true;
    case "ne":
      return (row) => equal(a(row), b(row)) === false;
    case "lt":
      return compare(args, (s) => s < 0);
    case "lte":
      return compare(args, (s) => s <= 0);
    case "gt":
      return compare(args, (s) => s > 0);
    case "gte":
      return compare(args, (s) => s >= 0);
    case "and":
      return (row) => args.every((f) => truthy(f(row)));
    case "or":
      return (row) => args.some((f) => truthy(f(row)));
    case "not":
      return (row) => !truthy(a(row));
    case "in": {
      const find = memberOf(e.values);
      return (row) => find(a(row)) !== undefined;
    }
    case "floor":
      return unary(a, Math.floor);
    case "round":
      return unary(a, Math.round);
    case "abs":
      return unary(a, Math.abs);
  }
}

interface Place {
  category: Scalar;
  lat: number;
  lon: number;
  t: number;
  radiusM: number;
}

function compileRowStep(step: PipelineStep, input: Readonly<Record<string, readonly Row[]>>): (rows: Row[]) => Row[] {
  switch (step.op) {
    case "window": {
      const get = getter(step.field);
      return (rows) =>
        rows.filter((row) => {
          const v = asNumber(get(row));
          return v !== null && v >= step.from && v < step.to;
        });
    }
    case "filter": {
      const where = compileExpr(step.where);
      return (rows) => rows.filter((row) => truthy(where(row)));
    }
    case "derive": {
      const value = compileExpr(step.value);
      return (rows) => {
        for (const row of rows) row[step.as] = value(row);
        return rows;
      };
    }
    case "place": {
      const places: Place[] = [];
      for (const p of rowsOf(input, step.places)) {
        if (!isMap(p)) continue;
        const category = readField(p, "category");
        const lat = asNumber(readField(p, "lat"));
        const lon = asNumber(readField(p, "lon"));
        const radiusM = asNumber(readField(p, "radiusM"));
        if (category !== null && lat !== null && lon !== null && radiusM !== null) places.push({ category, lat, lon, t: 0, radiusM });
      }
      const getLat = getter(step.lat);
      const getLon = getter(step.lon);
      return (rows) => {
        for (const row of rows) {
          const lat = asNumber(getLat(row));
          const lon = asNumber(getLon(row));
          let category: Scalar = null;
          if (lat !== null && lon !== null) {
            const here = { t: 0, lat, lon };
            for (const p of places) {
              if (haversineKm(here, p) * 1000 <= p.radiusM) {
                category = p.category;
                break;
              }
            }
          }
          row[step.as] = category;
        }
        return rows;
      };
    }
    default:
      throw new InvalidJobSpecError(`program: ${step.op} is not a row step`);
  }
}

/** The indices (into the pre-group sequence, ascending) of the rows in each group. */
function grouped(rows: readonly Row[], step: GroupStep): number[][] {
  const by = step.by;
  const get = getter(by.field);
  if ("values" in by) {
    const groups = by.values.map((): number[] => []);
    const find = memberOf(by.values);
    rows.forEach((row, i) => {
      const g = find(get(row));
      if (g !== undefined) groups[g]?.push(i);
    });
    return groups;
  }
  const groups = Array.from({ length: by.count }, (): number[] => []);
  rows.forEach((row, i) => {
    const v = asNumber(get(row));
    if (v === null) return;
    const g = Math.floor((v - by.from) / by.every);
    if (g >= 0 && g < by.count) groups[g]?.push(i);
  });
  return groups;
}

/** The aggregate as a function of the rows and one group's member indices. */
function compileAggregate(step: AggregateStep): (rows: readonly Row[], members: readonly number[]) => number | null {
  const get = step.field === undefined ? () => null : getter(step.field);
  const whereExpr = step.where === undefined ? null : compileExpr(step.where);
  const where = (row: Row) => whereExpr === null || truthy(whereExpr(row));
  const numbers = (rows: readonly Row[], members: readonly number[]): number[] => {
    const xs: number[] = [];
    for (const i of members) {
      const x = asNumber(get(rows[i] as Row));
      if (x !== null) xs.push(x);
    }
    return xs;
  };
  // Members k and k+1 are consecutive when they are neighbours in the pre-group sequence (see the top).
  const consecutive = (members: readonly number[], k: number) => (members[k + 1] as number) === (members[k] as number) + 1;

  switch (step.fn) {
    case "count":
      return (_, members) => members.length;
    case "sum":
      return (rows, members) => numbers(rows, members).reduce((s, x) => s + x, 0);
    case "min":
    case "max": {
      const pick = step.fn === "min" ? Math.min : Math.max;
      return (rows, members) => {
        const xs = numbers(rows, members);
        return xs.length === 0 ? null : xs.reduce((m, x) => pick(m, x));
      };
    }
    case "mean":
      return (rows, members) => {
        const xs = numbers(rows, members);
        return xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length;
      };
    case "any":
      return (rows, members) => (members.some((i) => truthy(get(rows[i] as Row))) ? 1 : 0);
    case "distinct":
      return (rows, members) => {
        const seen = new Set<Scalar>();
        for (const i of members) seen.add(get(rows[i] as Row));
        seen.delete(null);
        return seen.size;
      };
    case "distance-km":
      return (rows, members) => {
        let km = 0;
        for (let k = 0; k + 1 < members.length; k++) {
          if (!consecutive(members, k)) continue;
          const a = point(rows[members[k] as number] as Row);
          const b = point(rows[members[k + 1] as number] as Row);
          if (a !== null && b !== null) km += haversineKm(a, b);
        }
        return km;
      };
    case "dwell-s": {
      const maxGap = step.maxGapS as number;
      return (rows, members) => {
        let seconds = 0;
        for (let k = 0; k + 1 < members.length; k++) {
          const row = rows[members[k] as number] as Row;
          if (!consecutive(members, k) || !where(row)) continue;
          const t0 = asNumber(readField(row, "t"));
          const t1 = asNumber(readField(rows[members[k + 1] as number] as Row, "t"));
          if (t0 === null || t1 === null) continue;
          const gap = t1 - t0;
          if (gap >= 0 && gap <= maxGap) seconds += gap;
        }
        return seconds;
      };
    }
    case "entries":
      return (rows, members) => {
        let runs = 0;
        let previousInside = false;
        for (let k = 0; k < members.length; k++) {
          const inside = where(rows[members[k] as number] as Row);
          if (inside && !(previousInside && consecutive(members, k - 1))) runs++;
          previousInside = inside;
        }
        return runs;
      };
  }
}

function point(row: Row): { t: number; lat: number; lon: number } | null {
  const lat = asNumber(readField(row, "lat"));
  const lon = asNumber(readField(row, "lon"));
  return lat === null || lon === null ? null : { t: 0, lat, lon };
}

function toInteger(v: number | null, scale: Fraction | undefined): number | null {
  if (v === null) return null;
  const x = scale ? Math.floor((v * scale.num) / scale.den) : Math.round(v);
  if (Number.isNaN(x)) return null;
  const clamped = Math.min(Number.MAX_SAFE_INTEGER, Math.max(-Number.MAX_SAFE_INTEGER, x));
  return clamped === 0 ? 0 : clamped; // no -0 in outputs
}

function outputOf(step: OutputStep | null, values: ReadonlyArray<number | null>): number[] {
  if (step === null) return values.map((v) => v ?? 0);
  if (step.op === "bucket") {
    const counts = new Array<number>(step.edges.length + 1).fill(0);
    for (const v of values) {
      let b = 0;
      while (b < step.edges.length && (v ?? 0) >= (step.edges[b] as number)) b++;
      counts[b] = (counts[b] as number) + 1;
    }
    return counts;
  }
  const out = new Array<number>(step.values.length).fill(0);
  const v = values[0] ?? null;
  const i = v === null ? -1 : step.values.slice(0, -1).indexOf(v);
  out[i === -1 ? out.length - 1 : i] = 1;
  return out;
}
