// Result estimates with error bars: the shapes estimateResult returns, the one rule every error bar follows, the
// post-processing that makes estimates plausible (projection), and the pieces the reducer kinds build them from.
import type { JobSpec } from "@mosaic/protocol";
import { mechanismOf } from "../dp/mechanisms.js";
import { outputTotal } from "../dp/sensitivity.js";

/** One row of a result: the raw estimate, its post-processed counterpart and the raw estimate's error bar. */
export interface EstimateRow {
  label: string;
  /** The raw estimate: unbiased for the noise, so it may be negative or not add up to a known total. */
  estimate: number;
  /**
   * The estimate post-processed into what the truth can be (see ResultEstimate.projection): never below the
   * entries' floor, and adding up to the known total where there is one. Post-processing keeps the DP guarantee; it
   * trades the unbiasedness of `estimate` for a smaller error. Equal to `estimate` where nothing is known.
   */
  projected: number;
  /** One standard deviation of the privacy noise on `estimate` (see ResultEstimate.errorBars). */
  stdDev: number;
  low: number;
  high: number;
}

/** What a result's error bars cover and at what level: the same rule for every mechanism and mode. */
export interface ErrorBars {
  covers: string;
  level: string;
}

/**
 * The rule for every noised estimate: the bars cover the privacy noise only, given who answered. The sampling of who
 * answered from a population is not included (it depends on the question and who could answer, which the job does
 * not know); randomized response, whose noise depends on the answers, plugs its unbiased estimate into the variance.
 */
export const PRIVACY_NOISE_BARS: ErrorBars = {
  covers: "privacy noise only, given who answered",
  level: "stdDev is 1 standard deviation; [low, high] the 95% normal interval",
};

export interface ResultEstimate {
  rows: EstimateRow[];
  count: number;
  /** The two-sided confidence of [low, high], e.g. 0.95. */
  confidence: number;
  /** What the error bars cover, in words. */
  note: string;
  /** What the error bars cover and at what level (PRIVACY_NOISE_BARS for every noised estimate). */
  errorBars: ErrorBars;
  /** How each row's `projected` was made from the raw estimates, in words. */
  projection: string;
}

/** z for a two-sided normal interval at 95%. */
const Z95 = 1.959964;

/** A row with its 95% normal interval; `projected` defaults to the estimate itself. */
export function estimateRow(label: string, estimate: number, stdDev: number, projected = estimate): EstimateRow {
  return { label, estimate, projected, stdDev, low: estimate - Z95 * stdDev, high: estimate + Z95 * stdDev };
}

/** What the intervals of a noised estimate cover, in words. */
export function noiseNote(spec: JobSpec, count: number): string {
  const { mechanism, epsilon } = spec.privacy;
  if (spec.mode === "shared") {
    return `95% intervals from the two aggregators' ${mechanism} noise at epsilon ${epsilon.num}/${epsilon.den} on the sum of ${count} submissions (privacy noise only, given who answered)`;
  }
  return `95% intervals from the ${mechanism} noise at epsilon ${epsilon.num}/${epsilon.den} over ${count} submissions (privacy noise only, given who answered)`;
}

/**
 * The variance of the noise on one entry of the released totals. `variance` is the variance of one noise draw: in
 * local mode each of the `count` submissions carries one, in shared mode each of the two aggregators adds one
 * (discrete Gaussian of the spec's σ²) to the sum, whatever the count.
 */
export function totalNoiseVariance(spec: JobSpec, count: number, variance: number): number {
  return spec.mode === "shared" ? 2 * variance : count * variance;
}

/**
 * The Euclidean projection of `values` onto the scaled simplex {x : x_i >= 0, Σ x_i = total}, total >= 0: the
 * closest point (in L2) that is never negative and adds up to `total`. Sort-based (Duchi, Shalev-Shwartz, Singer &
 * Chandra 2008; Wang & Carreira-Perpiñán 2013): with u sorted descending, ρ the largest j with
 * u_j − (Σ_{i<=j} u_i − total)/j > 0 and θ = (Σ_{i<=ρ} u_i − total)/ρ, the projection is max(v_i − θ, 0).
 */
export function projectOntoSimplex(values: readonly number[], total: number): number[] {
  if (!Number.isFinite(total) || total < 0) throw new RangeError(`total: expected a finite number >= 0, got ${total}`);
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`values[${i}]: expected a finite number, got ${String(v)}`);
  });
  if (values.length === 0 && total !== 0) throw new RangeError(`values: an empty vector cannot add up to ${total}`);
  // Only the zero vector adds up to 0 (and no j meets the condition below).
  if (total === 0) return values.map(() => 0);
  const sorted = [...values].sort((a, b) => b - a);
  // j = 1 always qualifies (u_1 − (u_1 − total) = total > 0), even where rounding would lose a tiny total.
  let prefix = sorted[0] as number;
  let theta = prefix - total;
  for (let j = 1; j < sorted.length; j++) {
    prefix += sorted[j] as number;
    const candidate = (prefix - total) / (j + 1);
    if ((sorted[j] as number) - candidate > 0) theta = candidate;
  }
  return values.map((v) => Math.max(v - theta, 0));
}

/** Each value clamped into [lo, hi]. */
export function clampEach(values: readonly number[], lo: readonly number[], hi: readonly number[]): number[] {
  return values.map((v, i) => Math.min(hi[i] as number, Math.max(lo[i] as number, v)));
}

/**
 * Post-processing of per-entry estimates whose truth is `scale` outputs' entries added up (count for totals, 1 for
 * means): onto the scaled simplex when the output has a fixed sum (a declared total, or one-hot: total 1), else each
 * clamped into [scale·min, scale·max]. Returns the projected values and what was done, in words.
 */
export function projectEstimates(spec: JobSpec, values: readonly number[], scale: number): { projected: number[]; projection: string } {
  const entries = spec.output.entries;
  const total = outputTotal(spec.output);
  const finite = values.every(Number.isFinite);
  if (!finite || !(scale >= 0)) return { projected: values.slice(), projection: "none (no estimate to project)" };
  const post = "post-processing of the noised result, so it keeps the DP guarantee";
  if (total !== undefined) {
    return {
      projected: projectOntoSimplex(values, scale * total),
      projection: `the closest point (Euclidean projection) that is never negative and adds up to ${scale * total}; ${post}`,
    };
  }
  return {
    projected: clampEach(
      values,
      entries.map((e) => scale * e.min),
      entries.map((e) => scale * e.max),
    ),
    projection: `each estimate clamped into the range its entries allow (${scale === 1 ? "min to max" : `${scale} × min to max`}); ${post}`,
  };
}

/**
 * Totals per entry (sum, histogram): unbiased first when the mechanism's reports are biased (randomized response),
 * else the aggregate itself, whose noise is `count` independent draws (local) or the two aggregators' draws (shared).
 */
export function estimateTotals(
  spec: JobSpec,
  totals: () => readonly number[],
  aggregate: readonly number[],
  count: number,
  variance: number,
): ResultEstimate {
  const labels = spec.output.entries.map((e) => e.label);
  const unbias = mechanismOf(spec.output, spec.privacy).unbiasTotals;
  let values: readonly number[];
  let sds: readonly number[];
  let note: string;
  if (unbias !== undefined) {
    const { estimate, stdDev } = unbias(aggregate.slice(0, labels.length), count, spec.privacy);
    values = estimate;
    sds = stdDev;
    note = `${noiseNote(spec, count)}, unbiased`;
  } else {
    values = totals();
    const sd = Math.sqrt(totalNoiseVariance(spec, count, variance));
    sds = labels.map(() => sd);
    note = `${noiseNote(spec, count)}, totals`;
  }
  const { projected, projection } = projectEstimates(spec, values, count);
  return {
    rows: labels.map((l, i) => estimateRow(l, values[i] as number, sds[i] as number, projected[i] as number)),
    count,
    confidence: 0.95,
    note,
    errorBars: PRIVACY_NOISE_BARS,
    projection,
  };
}
