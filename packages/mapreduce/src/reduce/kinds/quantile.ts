// The `quantile` reducer: a mergeable sketch per payload entry (one-hot over the buckets between integer edges,
// summed into counts), read back as the requested quantiles.
import type { Fraction } from "@mosaic/protocol";
import type { EstimateRow } from "../estimate.js";
import { checkFraction, finalizeChecked, type ReducerKind } from "../kind.js";

/** The sketch bucket of `x`: the number of edges at or below it (bucket i holds [edges[i-1], edges[i])). */
function bucketOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Quantile `q` of one payload entry from its bucket counts: the estimator finalizeResult documents. */
function estimateQuantile(counts: readonly number[], edges: readonly number[], q: Fraction): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  // Compare cumulative counts with r = num·N/den in integers: below·den < num·N.
  const target = q.num * total;
  let below = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k] as number;
    if (c > 0 && (below + c) * q.den >= target) {
      const lo = k === 0 ? (edges[0] as number) - 1 : (edges[k - 1] as number);
      const hi = k === edges.length ? (edges[k - 1] as number) : (edges[k] as number) - 1;
      return lo + ((hi - lo) * (target / q.den - below)) / c;
    }
    below += c;
  }
  return Number.NaN; // unreachable: the last non-empty bucket reaches N ≥ r
}

/** The sketch bucket holding `value`, as an interval (open-ended at either end). */
function bucketAround(edges: readonly number[], value: number): { low: number; high: number } {
  let i = 0;
  while (i < edges.length && value >= (edges[i] as number)) i++;
  return {
    low: i === 0 ? Number.NEGATIVE_INFINITY : (edges[i - 1] as number),
    high: i === edges.length ? Number.POSITIVE_INFINITY : (edges[i] as number),
  };
}

export const quantile: ReducerKind<"quantile"> = {
  name: "quantile",
  code: 4,
  check(reducer) {
    const { edges, quantiles } = reducer;
    if (!Array.isArray(edges) || edges.length === 0)
      throw new RangeError(`reducer.edges: expected at least one edge, got ${JSON.stringify(edges)}`);
    for (let i = 0; i < edges.length; i++) {
      const edge = edges[i] as number;
      if (!Number.isSafeInteger(edge)) throw new TypeError(`reducer.edges[${i}]: expected a safe integer, got ${edge}`);
      if (i > 0 && edge <= (edges[i - 1] as number))
        throw new RangeError(`reducer.edges[${i}]: expected strictly increasing edges, got ${edges[i - 1]} then ${edge}`);
    }
    if (!Array.isArray(quantiles) || quantiles.length === 0)
      throw new RangeError(`reducer.quantiles: expected at least one quantile, got ${JSON.stringify(quantiles)}`);
    for (const [i, q] of quantiles.entries()) checkFraction(q, `reducer.quantiles[${i}]`);
  },
  stateLength: (reducer, payloadLength) => payloadLength * (reducer.edges.length + 1),
  /** Per entry a one-hot vector over the `edges.length + 1` sketch buckets, concatenated entry by entry. */
  lift(reducer, payload) {
    const buckets = reducer.edges.length + 1;
    const state = new Array<number>(payload.length * buckets).fill(0);
    for (let e = 0; e < payload.length; e++) state[e * buckets + bucketOf(reducer.edges, payload[e] as number)] = 1;
    return state;
  },
  /** Per payload entry, the requested quantiles estimated from the merged sketch (see finalizeResult). */
  finalize(reducer, aggregate, _count, payloadLength) {
    const buckets = reducer.edges.length + 1;
    aggregate.forEach((c, i) => {
      if (c < 0) throw new RangeError(`aggregate[${i}]: expected a non-negative bucket count, got ${c}`);
    });
    const quantiles = Array.from({ length: payloadLength }, (_, e) => {
      const counts = aggregate.slice(e * buckets, (e + 1) * buckets);
      return reducer.quantiles.map((q) => estimateQuantile(counts, reducer.edges, q));
    });
    return { values: quantiles.flat(), quantiles };
  },
  edges: (reducer) => reducer.edges.slice(),
  estimate(spec, aggregate, count) {
    const r = spec.reducer;
    const labels = spec.output.entries.map((e) => e.label);
    const result = finalizeChecked(quantile, r, aggregate, count, labels.length);
    const rows: EstimateRow[] = [];
    labels.forEach((l, i) => {
      r.quantiles.forEach((q, j) => {
        const value = result.quantiles?.[i]?.[j] ?? Number.NaN;
        const { low, high } = bucketAround(r.edges, value);
        rows.push({
          label: `${l} p${Math.round((100 * q.num) / q.den)}`,
          estimate: value,
          projected: value,
          stdDev: Number.NaN,
          low,
          high,
        });
      });
    });
    return {
      rows,
      count,
      confidence: Number.NaN,
      note: "quantiles from the merged sketch; each interval is the sketch bucket holding the estimate (noise not included)",
      errorBars: { covers: "the sketch bucket holding the estimate (noise not included)", level: "[low, high] the bucket's bounds" },
      projection: "none (quantiles of the sketch)",
    };
  },
};
