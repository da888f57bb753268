// The static checks a declarative map program must pass before anyone is asked to consent, with the vocabulary
// (limits, operations, step kinds, truthiness) that evaluation in pipeline.ts and the plain words share.
import { InvalidJobSpecError, type PipelineProgram, type PipelineStep, type ReadSpec } from "@mosaic/protocol";

/** What a program may ask for: beyond these a spec is rejected before anyone is asked to consent. */
export const PIPELINE_LIMITS = {
  steps: 64,
  exprDepth: 16,
  exprParts: 256,
  args: 32,
  values: 256,
  edges: 256,
  groups: 366,
  stringLength: 200,
  fieldLength: 128,
  fieldSegments: 8,
} as const;

// The names below are exported for pipeline.ts and pipeline-words.ts; they are not meant for callers.

/** @internal */
export type Scalar = number | string | boolean | null;
/** @internal */
export type AggregateStep = Extract<PipelineStep, { op: "aggregate" }>;
/** @internal */
export type GroupStep = Extract<PipelineStep, { op: "group" }>;
/** @internal */
export type OutputStep = Extract<PipelineStep, { op: "bucket" | "one-hot" }>;

const ARITH_OPS = new Set(["add", "sub", "mul", "div", "min", "max"]);
/** @internal */
export const COMPARE_OPS = new Set(["eq", "ne", "lt", "lte", "gt", "gte"]);
/** @internal */
export const LOGIC_OPS = new Set(["and", "or"]);
const UNARY_OPS = new Set(["not", "floor", "round", "abs", "in"]);
/** @internal */
export const ROW_OPS = new Set(["window", "filter", "derive", "place"]);
const AGGREGATE_FNS = new Set(["count", "sum", "min", "max", "mean", "any", "distance-km", "dwell-s", "entries", "distinct"]);
const FIELD_FNS = new Set(["sum", "min", "max", "mean", "any", "distinct"]);
const WHERE_FNS = new Set(["dwell-s", "entries"]);
const PLACE_FIELDS = ["category", "lat", "lon", "radiusM"];
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const FORBIDDEN_SEGMENTS = new Set(["__proto__", "prototype", "constructor"]);

/** @internal Truthiness as expressions see it: true, a non-zero number, a non-empty string. */
export function truthy(v: Scalar): boolean {
  return v === true || (typeof v === "number" && v !== 0) || (typeof v === "string" && v.length > 0);
}

/**
 * Checks a program against the spec's `reads` before anyone is asked to consent: the collections it names
 * are read, every field it uses is declared (or made by an earlier derive/place step), the steps come in
 * order (row steps, at most one group, exactly one aggregate, at most one output step), and every number
 * and size is within {@link PIPELINE_LIMITS}. Throws InvalidJobSpecError naming the path, e.g.
 * `program.steps[2].edges: expected strictly increasing integers`.
 *
 * @returns the length of the output vector and the `ability/collection`s the program reads.
 */
export function validatePipeline(program: PipelineProgram, reads: readonly ReadSpec[]): { outputLength: number; collections: string[] } {
  const { outputLength, collections } = analyse(program, readFields(reads));
  return { outputLength, collections };
}

function fail(path: string, message: string): never {
  throw new InvalidJobSpecError(`${path}: ${message}`);
}

function show(v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  let s: string;
  try {
    s = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** @internal */
export function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown key; expected only ${allowed.join(", ")}`);
}

function finite(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, `expected a finite number, got ${show(v)}`);
  return v;
}

function safeInt(v: unknown, path: string, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max)
    fail(path, `expected an integer from ${min} to ${max}, got ${show(v)}`);
  return v as number;
}

function literal(v: unknown, path: string): number | string {
  if (typeof v === "string") {
    if (v.length > PIPELINE_LIMITS.stringLength) fail(path, `expected at most ${PIPELINE_LIMITS.stringLength} characters`);
    return v;
  }
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return fail(path, `expected a string or a finite number, got ${show(v)}`);
}

function literalList(v: unknown, path: string, minLength: number): Array<number | string> {
  if (!Array.isArray(v) || v.length < minLength || v.length > PIPELINE_LIMITS.values) {
    fail(path, `expected ${minLength} to ${PIPELINE_LIMITS.values} values`);
  }
  const seen = new Set<number | string>();
  v.forEach((x, i) => {
    const value = literal(x, `${path}[${i}]`);
    if (seen.has(value)) fail(`${path}[${i}]`, `${show(value)} is listed twice`);
    seen.add(value);
  });
  return v;
}

/** @internal The fields each collection of `reads` declares, keyed `ability/collection`. */
export function readFields(reads: readonly ReadSpec[]): Map<string, Set<string>> {
  if (!Array.isArray(reads)) fail("reads", "expected a list of {ability, collection, fields}");
  const byKey = new Map<string, Set<string>>();
  reads.forEach((r, i) => {
    if (!isMap(r) || typeof r.ability !== "string" || typeof r.collection !== "string" || !Array.isArray(r.fields)) {
      fail(`reads[${i}]`, "expected {ability, collection, fields}");
    }
    const fields = byKey.get(`${r.ability}/${r.collection}`) ?? new Set<string>();
    for (const f of r.fields) if (typeof f === "string") fields.add(f);
    byKey.set(`${r.ability}/${r.collection}`, fields);
  });
  return byKey;
}

/** The fields a step may use: those `from` declares plus those made by earlier steps; null skips the check. */
class FieldScope {
  readonly made = new Set<string>();
  constructor(
    readonly from: string,
    readonly declared: ReadonlySet<string> | null,
  ) {}

  /** A path is usable when one of its prefixes (`symptoms` for `symptoms.fever`) is declared or made. */
  has(path: string): boolean {
    if (this.declared === null) return true;
    const segments = path.split(".");
    for (let n = 1; n <= segments.length; n++) {
      const prefix = segments.slice(0, n).join(".");
      if (this.declared.has(prefix) || this.made.has(prefix)) return true;
    }
    return false;
  }

  check(v: unknown, path: string): string {
    const field = fieldName(v, path);
    if (!this.has(field)) {
      const declared = [...(this.declared ?? [])].join(", ");
      fail(
        path,
        `${show(field)} is not a field ${this.from} declares (${declared}) nor one an earlier step makes; add it to reads or derive it first`,
      );
    }
    return field;
  }
}

function fieldName(v: unknown, path: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > PIPELINE_LIMITS.fieldLength) {
    fail(path, `expected a field name of 1 to ${PIPELINE_LIMITS.fieldLength} characters, got ${show(v)}`);
  }
  const segments = v.split(".");
  if (segments.length > PIPELINE_LIMITS.fieldSegments || segments.some((s) => !SEGMENT.test(s) || FORBIDDEN_SEGMENTS.has(s))) {
    fail(path, `expected a field name like "symptoms.fever" (letters, digits, _ and -, dotted), got ${show(v)}`);
  }
  return v;
}

function checkExpr(e: unknown, path: string, scope: FieldScope, depth: number, budget: { parts: number }): void {
  if (depth > PIPELINE_LIMITS.exprDepth) {
    fail(path, `expression nested deeper than ${PIPELINE_LIMITS.exprDepth} levels; split it into derive steps`);
  }
  if (++budget.parts > PIPELINE_LIMITS.exprParts) fail(path, `expression has more than ${PIPELINE_LIMITS.exprParts} parts`);
  if (!isMap(e)) fail(path, `expected an expression ({field}, {const} or {op, args}), got ${show(e)}`);
  if (Object.hasOwn(e, "field")) {
    onlyKeys(e, ["field"], path);
    scope.check(e.field, `${path}.field`);
    return;
  }
  if (Object.hasOwn(e, "const")) {
    onlyKeys(e, ["const"], path);
    const c = e.const;
    if (c !== null && typeof c !== "boolean") literal(c, `${path}.const`);
    return;
  }
  const op = e.op;
  if (typeof op !== "string" || !(ARITH_OPS.has(op) || COMPARE_OPS.has(op) || LOGIC_OPS.has(op) || UNARY_OPS.has(op))) {
    fail(`${path}.op`, `unknown operation ${show(op)}`);
  }
  onlyKeys(e, op === "in" ? ["op", "args", "values"] : ["op", "args"], path);
  const [min, max] = ARITH_OPS.has(op) || LOGIC_OPS.has(op) ? [2, PIPELINE_LIMITS.args] : COMPARE_OPS.has(op) ? [2, 2] : [1, 1];
  const args = e.args;
  if (!Array.isArray(args) || args.length < min || args.length > max) {
    fail(`${path}.args`, min === max ? `${op} takes ${min} argument${min === 1 ? "" : "s"}` : `${op} takes ${min} to ${max} arguments`);
  }
  for (const [i, a] of args.entries()) checkExpr(a, `${path}.args[${i}]`, scope, depth + 1, budget);
  if (op === "in") literalList(e.values, `${path}.values`, 1);
}

function checkScale(v: unknown, path: string): void {
  if (!isMap(v)) fail(path, "expected {num, den}");
  onlyKeys(v, ["num", "den"], path);
  safeInt(v.num, `${path}.num`, 1, Number.MAX_SAFE_INTEGER);
  safeInt(v.den, `${path}.den`, 1, Number.MAX_SAFE_INTEGER);
}

/** @internal */
export interface Analysis {
  outputLength: number;
  collections: string[];
  group: GroupStep | null;
  aggregate: AggregateStep;
  output: OutputStep | null;
}

/** @internal The static checks; `reads` null checks only what does not depend on them (what `runPipeline` needs). */
export function analyse(program: unknown, reads: Map<string, Set<string>> | null): Analysis {
  if (!isMap(program) || program.kind !== "pipeline") fail("program.kind", `expected "pipeline"`);
  onlyKeys(program, ["kind", "from", "steps"], "program");
  const from = program.from;
  if (typeof from !== "string" || !from.includes("/")) fail("program.from", `expected "ability/collection", got ${show(from)}`);
  const readList = () => [...(reads?.keys() ?? [])].join(", ");
  if (reads !== null && !reads.has(from)) fail("program.from", `${show(from)} is not among the reads (${readList()}); add it to reads`);
  const steps = program.steps;
  if (!Array.isArray(steps) || steps.length > PIPELINE_LIMITS.steps)
    fail("program.steps", `expected a list of at most ${PIPELINE_LIMITS.steps} steps`);

  const scope = new FieldScope(from, reads?.get(from) ?? null);
  const collections = [from];
  let phase: "rows" | "grouped" | "aggregated" | "output" = "rows";
  let group: GroupStep | null = null;
  let aggregate: AggregateStep | null = null;
  let output: OutputStep | null = null;
  let groups = 1;
  let outputLength = 1;

  steps.forEach((step: unknown, i) => {
    const path = `program.steps[${i}]`;
    if (!isMap(step)) fail(path, `expected a step {op, ...}, got ${show(step)}`);
    const op = step.op;
    if (typeof op !== "string") fail(`${path}.op`, `expected a step name, got ${show(op)}`);
    if (ROW_OPS.has(op) && phase !== "rows") fail(`${path}.op`, `${op} must come before the group and aggregate steps`);
    switch (op) {
      case "window": {
        onlyKeys(step, ["op", "field", "from", "to"], path);
        scope.check(step.field, `${path}.field`);
        const lo = finite(step.from, `${path}.from`);
        const hi = finite(step.to, `${path}.to`);
        if (!(lo < hi)) fail(`${path}.to`, `expected more than from (${lo}), got ${hi}`);
        return;
      }
      case "filter":
        onlyKeys(step, ["op", "where"], path);
        checkExpr(step.where, `${path}.where`, scope, 1, { parts: 0 });
        return;
      case "derive": {
        onlyKeys(step, ["op", "as", "value"], path);
        checkExpr(step.value, `${path}.value`, scope, 1, { parts: 0 });
        const as = fieldName(step.as, `${path}.as`);
        if (as.includes(".")) fail(`${path}.as`, `expected a plain name without dots, got ${show(as)}`);
        scope.made.add(as);
        return;
      }
      case "place": {
        onlyKeys(step, ["op", "as", "places", "lat", "lon"], path);
        const places = step.places;
        if (typeof places !== "string") fail(`${path}.places`, `expected "ability/collection", got ${show(places)}`);
        if (reads !== null) {
          const fields = reads.get(places);
          if (!fields) fail(`${path}.places`, `${show(places)} is not among the reads (${readList()}); add it to reads`);
          const missing = PLACE_FIELDS.filter((f) => !fields.has(f));
          if (missing.length > 0)
            fail(`${path}.places`, `${places} must declare the fields ${PLACE_FIELDS.join(", ")}; missing ${missing.join(", ")}`);
        }
        scope.check(step.lat, `${path}.lat`);
        scope.check(step.lon, `${path}.lon`);
        const as = fieldName(step.as, `${path}.as`);
        if (as.includes(".")) fail(`${path}.as`, `expected a plain name without dots, got ${show(as)}`);
        scope.made.add(as);
        if (!collections.includes(places)) collections.push(places);
        return;
      }
      case "group": {
        if (phase !== "rows") fail(`${path}.op`, "only one group step is allowed, before the aggregate step");
        onlyKeys(step, ["op", "by"], path);
        const by = step.by;
        if (!isMap(by)) fail(`${path}.by`, "expected {field, every, from, count} or {field, values}");
        scope.check(by.field, `${path}.by.field`);
        if (Object.hasOwn(by, "values")) {
          onlyKeys(by, ["field", "values"], `${path}.by`);
          groups = literalList(by.values, `${path}.by.values`, 1).length;
        } else {
          onlyKeys(by, ["field", "every", "from", "count"], `${path}.by`);
          const every = finite(by.every, `${path}.by.every`);
          if (every <= 0) fail(`${path}.by.every`, `expected a positive number, got ${every}`);
          const start = finite(by.from, `${path}.by.from`);
          groups = safeInt(by.count, `${path}.by.count`, 1, PIPELINE_LIMITS.groups);
          if (!Number.isFinite(start + every * groups)) fail(`${path}.by.every`, "the groups end beyond the finite numbers");
        }
        group = step as GroupStep;
        phase = "grouped";
        outputLength = groups;
        return;
      }
      case "aggregate": {
        if (phase === "aggregated" || phase === "output") fail(`${path}.op`, "only one aggregate step is allowed");
        onlyKeys(step, ["op", "fn", "field", "where", "maxGapS", "scale"], path);
        const fn = step.fn;
        if (typeof fn !== "string" || !AGGREGATE_FNS.has(fn)) fail(`${path}.fn`, `unknown aggregate ${show(fn)}`);
        if (FIELD_FNS.has(fn)) scope.check(step.field, `${path}.field`);
        else if (step.field !== undefined) fail(`${path}.field`, `${fn} takes no field`);
        if (step.where !== undefined) {
          if (!WHERE_FNS.has(fn)) fail(`${path}.where`, `${fn} takes no condition; use a filter step before it`);
          checkExpr(step.where, `${path}.where`, scope, 1, { parts: 0 });
        }
        if (fn === "dwell-s") {
          const gap = finite(step.maxGapS, `${path}.maxGapS`);
          if (gap <= 0) fail(`${path}.maxGapS`, `expected a positive number of seconds, got ${gap}`);
        } else if (step.maxGapS !== undefined) fail(`${path}.maxGapS`, `${fn} takes no maxGapS`);
        if (fn === "distance-km" && !(scope.has("lat") && scope.has("lon"))) fail(`${path}.fn`, `distance-km needs the fields lat and lon`);
        if (fn === "dwell-s" && !scope.has("t")) fail(`${path}.fn`, "dwell-s needs the field t");
        if (step.scale !== undefined) checkScale(step.scale, `${path}.scale`);
        aggregate = step as AggregateStep;
        phase = "aggregated";
        outputLength = groups;
        return;
      }
      case "bucket": {
        if (phase !== "aggregated")
          fail(`${path}.op`, phase === "output" ? "only one output step is allowed" : "bucket must come after the aggregate step");
        onlyKeys(step, ["op", "edges"], path);
        const edges = step.edges;
        if (!Array.isArray(edges) || edges.length < 1 || edges.length > PIPELINE_LIMITS.edges) {
          fail(`${path}.edges`, `expected 1 to ${PIPELINE_LIMITS.edges} edges`);
        }
        if (edges.some((x, j) => !Number.isSafeInteger(x) || (j > 0 && x <= edges[j - 1])))
          fail(`${path}.edges`, "expected strictly increasing integers");
        output = step as OutputStep;
        phase = "output";
        outputLength = edges.length + 1;
        return;
      }
      case "one-hot": {
        if (phase !== "aggregated")
          fail(`${path}.op`, phase === "output" ? "only one output step is allowed" : "one-hot must come after the aggregate step");
        if (group !== null) fail(`${path}.op`, "one-hot needs a single result; remove the group step or use bucket");
        onlyKeys(step, ["op", "values"], path);
        const values = literalList(step.values, `${path}.values`, 2);
        // Aggregate results are whole numbers, so any other category could never be chosen.
        values.slice(0, -1).forEach((v, j) => {
          if (!Number.isSafeInteger(v)) fail(`${path}.values[${j}]`, `expected an integer (results are whole numbers), got ${show(v)}`);
        });
        output = step as OutputStep;
        phase = "output";
        outputLength = values.length;
        return;
      }
      default:
        fail(`${path}.op`, `unknown step ${show(op)}`);
    }
  });
  if (aggregate === null) fail("program.steps", "missing an aggregate step; a pipeline needs exactly one");
  return { outputLength, collections, group, aggregate, output };
}
