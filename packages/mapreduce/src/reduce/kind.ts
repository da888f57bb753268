// What a reducer kind is: the interface each kind's module implements (reduce/kinds/*.ts, registered in
// reduce/kinds.ts), the combine they all share, and the input checks they use.
import type { Fraction, JobSpec, ReducerSpec } from "@mosaic/protocol";
import type { ResultEstimate } from "./estimate.js";

/** A reducer kind's name, as a job spec writes it. */
export type ReducerName = ReducerSpec["kind"];

/** The reducer spec of kind `K`. */
export type ReducerOf<K extends ReducerName> = Extract<ReducerSpec, { kind: K }>;

/** What a researcher reads: `values` for every reducer, and per payload entry the requested quantiles for `quantile`. */
export interface FinalResult {
  /** sum, histogram: the aggregate; count: [count]; mean: the per-entry means; quantile: `quantiles` flattened. */
  values: number[];
  /** quantile only: `quantiles[entry][j]` estimates `reducer.quantiles[j]` of payload entry `entry`. */
  quantiles?: number[][];
}

/**
 * One reducer kind. Every kind combines states by entry-wise sum (see combine), so a kind is how a payload becomes
 * a state and how the summed state is read. Its on-chain side is ReduceTree.sol's constant `code` and its lift.
 */
export interface ReducerKind<K extends ReducerName = ReducerName> {
  readonly name: K;
  /** JobRegistry's code for the kind (ReduceTree.SUM, COUNT, …): what postJob records. */
  readonly code: number;
  /** Checks the kind's own fields (beyond `kind`); TypeError/RangeError naming the field. */
  check(reducer: ReducerOf<K>): void;
  /** The length of the state for payloads of `payloadLength` entries. */
  stateLength(reducer: ReducerOf<K>, payloadLength: number): number;
  /** A checked payload's state. */
  lift(reducer: ReducerOf<K>, payload: readonly number[]): number[];
  /** What a researcher reads from a checked aggregate of `stateLength` entries and the leaf count. */
  finalize(reducer: ReducerOf<K>, aggregate: readonly number[], count: number, payloadLength: number): FinalResult;
  /** The sketch edges JobRegistry records for the job; [] for a kind without a sketch. */
  edges(reducer: ReducerOf<K>): number[];
  /** Estimates with error bars (see estimateResult); `variance` is the noise variance of one entry of one submission. */
  estimate(spec: JobSpec & { reducer: ReducerOf<K> }, aggregate: readonly number[], count: number, variance: number): ResultEstimate;
}

export function checkPayloadLength(payloadLength: number): void {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0)
    throw new RangeError(`payloadLength: expected a non-negative integer, got ${payloadLength}`);
}

export function checkFraction(q: Fraction, field: string): void {
  const ok =
    typeof q === "object" &&
    q !== null &&
    Number.isSafeInteger(q.num) &&
    Number.isSafeInteger(q.den) &&
    q.den > 0 &&
    q.num >= 0 &&
    q.num <= q.den;
  if (!ok) throw new RangeError(`${field}: expected a fraction {num, den} in [0, 1], got ${JSON.stringify(q)}`);
}

export function checkPayload(payload: readonly number[], field: string): void {
  if (!Array.isArray(payload)) throw new TypeError(`${field}: expected an array of integers, got ${typeof payload}`);
  for (let i = 0; i < payload.length; i++) {
    if (!Number.isSafeInteger(payload[i])) throw new TypeError(`${field}[${i}]: expected a safe integer, got ${payload[i]}`);
  }
}

/**
 * Entry-wise sum, the combine of every reducer: associative and commutative, so any tree shape gives the same
 * aggregate. Throws RangeError when the lengths differ or a sum leaves the safe integers (it would not match the
 * contract's int256 arithmetic).
 */
export function combine(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`combine: expected states of equal length, got ${a.length} and ${b.length}`);
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) {
    const sum = (a[i] as number) + (b[i] as number);
    if (!Number.isSafeInteger(sum)) throw new RangeError(`combine: entry ${i}: ${a[i]} + ${b[i]} is not a safe integer`);
    out[i] = sum;
  }
  return out;
}

/** finalizeResult for a kind already looked up: checks the reducer, the aggregate's shape and the count, then reads it. */
export function finalizeChecked<K extends ReducerName>(
  kind: ReducerKind<K>,
  reducer: ReducerOf<K>,
  aggregate: readonly number[],
  count: number,
  payloadLength: number,
): FinalResult {
  kind.check(reducer);
  checkPayloadLength(payloadLength);
  checkPayload(aggregate, "aggregate");
  const width = kind.stateLength(reducer, payloadLength);
  if (aggregate.length !== width) throw new RangeError(`aggregate: expected ${width} items, got ${aggregate.length}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${count}`);
  return kind.finalize(reducer, aggregate, count, payloadLength);
}
