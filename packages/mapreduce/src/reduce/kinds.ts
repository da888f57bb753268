// The table of reducer kinds, and the public reducer functions that look a kind up in it. A new kind is a module
// under reduce/kinds/ added here, plus its code and lift in contracts/lib/ReduceTree.sol.
import type { ReducerSpec } from "@mosaic/protocol";
import { checkPayload, checkPayloadLength, type FinalResult, finalizeChecked, type ReducerKind, type ReducerName } from "./kind.js";
import { count } from "./kinds/count.js";
import { histogram } from "./kinds/histogram.js";
import { mean } from "./kinds/mean.js";
import { quantile } from "./kinds/quantile.js";
import { sum } from "./kinds/sum.js";

/** Every reducer kind by name, in the order of their codes. */
export const REDUCER_KINDS: { readonly [K in ReducerName]: ReducerKind<K> } = { sum, count, histogram, mean, quantile };

const NAMES = Object.keys(REDUCER_KINDS);

/** The kind of a reducer spec, its own fields checked; TypeError/RangeError naming the field. */
export function reducerKind(reducer: ReducerSpec): ReducerKind {
  const name = (reducer as { kind?: unknown } | null | undefined)?.kind;
  if (typeof name !== "string" || !Object.hasOwn(REDUCER_KINDS, name))
    throw new TypeError(`reducer.kind: expected ${NAMES.slice(0, -1).join(", ")} or ${NAMES.at(-1)}, got ${JSON.stringify(name)}`);
  const kind = REDUCER_KINDS[name as ReducerName] as ReducerKind;
  kind.check(reducer);
  return kind;
}

/** The length of a reducer's state vector for payloads of `payloadLength` entries. */
export function stateLength(reducer: ReducerSpec, payloadLength: number): number {
  const kind = reducerKind(reducer);
  checkPayloadLength(payloadLength);
  return kind.stateLength(reducer, payloadLength);
}

/**
 * A payload's state: sum and histogram keep it, count gives [1], mean appends a 1, and quantile gives per entry a
 * one-hot vector over the `edges.length + 1` sketch buckets, concatenated entry by entry.
 */
export function liftPayload(reducer: ReducerSpec, payload: readonly number[]): number[] {
  const kind = reducerKind(reducer);
  checkPayload(payload, "payload");
  return kind.lift(reducer, payload);
}

/** The sketch edges JobRegistry records for a job's reducer: a quantile reducer's edges, [] for the others. */
export function edgesOf(reducer: ReducerSpec): number[] {
  return reducerKind(reducer).edges(reducer);
}

/**
 * Turns a verified aggregate into what the researcher reads: sum and histogram give the aggregate, count gives
 * [count], mean the per-entry sums divided by the count in the state's last entry (NaN with no submissions), and
 * quantile, per payload entry, the requested quantiles estimated from the merged sketch (`values` is `quantiles`
 * flattened entry by entry).
 *
 * The quantile estimator interpolates linearly over the integers of one bucket, like Prometheus'
 * histogram_quantile on integer data. With N the entry's total count and r = qN:
 * - bucket k is the first non-empty bucket whose cumulative count reaches r (for q = 0, the first non-empty one);
 * - bucket k = [edges[k-1], edges[k]) holds the integers lo = edges[k-1] .. hi = edges[k] − 1, and the estimate is
 *   lo + (hi − lo)·(r − below)/count[k], with `below` the count in the buckets under k;
 * - the open-ended first and last buckets are clamped to their one finite end: edges[0] − 1 and edges[B−2].
 * So the estimate always lies in the bucket of the true quantile (the sample of rank max(1, ⌈qN⌉)), never more than
 * one bucket width from it. NaN when N is 0.
 */
export function finalizeResult(reducer: ReducerSpec, aggregate: readonly number[], count: number, payloadLength: number): FinalResult {
  return finalizeChecked(reducerKind(reducer), reducer, aggregate, count, payloadLength);
}
