// Result estimates with error bars: the shapes estimateResult returns and the pieces the reducer kinds build them from.
import type { JobSpec } from "@mosaic/protocol";
import { mechanismOf } from "../dp/mechanisms.js";

/** One row of a result: the estimate and its error bar. */
export interface EstimateRow {
  label: string;
  estimate: number;
  stdDev: number;
  low: number;
  high: number;
}

export interface ResultEstimate {
  rows: EstimateRow[];
  count: number;
  /** The two-sided confidence of [low, high], e.g. 0.95. */
  confidence: number;
  /** What the error bars cover, in words. */
  note: string;
}

/** z for a two-sided normal interval at 95%. */
const Z95 = 1.959964;

/** A row with its 95% normal interval. */
export function estimateRow(label: string, estimate: number, stdDev: number): EstimateRow {
  return { label, estimate, stdDev, low: estimate - Z95 * stdDev, high: estimate + Z95 * stdDev };
}

/** What the intervals of a noised estimate cover, in words. */
export function noiseNote(spec: JobSpec, count: number): string {
  const { mechanism, epsilon } = spec.privacy;
  return `95% intervals from the ${mechanism} noise at epsilon ${epsilon.num}/${epsilon.den} over ${count} submissions`;
}

/**
 * Totals per entry (sum, histogram): unbiased first when the mechanism's reports are biased (randomized response),
 * else the aggregate itself, whose noise is the sum of `count` independent draws.
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
  if (unbias !== undefined) {
    const { estimate, stdDev } = unbias(aggregate.slice(0, labels.length), count, spec.privacy);
    return {
      rows: labels.map((l, i) => estimateRow(l, estimate[i] as number, stdDev[i] as number)),
      count,
      confidence: 0.95,
      note: `${noiseNote(spec, count)}, unbiased`,
    };
  }
  const values = totals();
  const sd = Math.sqrt(variance * count);
  return {
    rows: labels.map((l, i) => estimateRow(l, values[i] as number, sd)),
    count,
    confidence: 0.95,
    note: `${noiseNote(spec, count)}, totals`,
  };
}
