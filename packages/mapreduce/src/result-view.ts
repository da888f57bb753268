// A job's result as people read it: each estimate with its error-bar interval, the chart's scale, and the CSV and
// JSON a researcher downloads. Pure: the CLI draws it in a terminal or a PNG, the browser app as an SVG.
import type { JobSpec } from "@mosaic/protocol";
import { isoTime } from "./standing.js";
import { estimateResult } from "./spec.js";

/** One estimate and its error-bar interval `[low, high]`. */
export interface ResultRow {
  label: string;
  /** The raw, unbiased estimate; [low, high] is its error bar. */
  estimate: number;
  /**
   * The estimate post-processed into what the truth can be (never negative, adding up to a known total; see
   * ResultView.projection), shown beside the raw one. @default the estimate
   */
  projected?: number;
  low: number;
  high: number;
}

export interface ResultView {
  title: string;
  unit: string;
  count: number;
  /** How sure the intervals are, e.g. "95%". */
  confidence: string;
  rows: ResultRow[];
  note?: string;
  /** What the error bars cover, in words: one rule for every mechanism (the privacy noise only, given who answered). */
  errorBars?: string;
  /** How `projected` was made, in words (post-processing, which keeps the DP guarantee). */
  projection?: string;
}

/** About three significant digits (whole numbers from 100 up, exponent form outside [0.001, 1e6)); "n/a" for NaN and ±Infinity. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const abs = Math.abs(x);
  if (abs === 0) return "0";
  if (abs >= 1e6 || abs < 1e-3) return x.toExponential(2);
  return String(abs >= 100 ? Math.round(x) : Number(x.toPrecision(3)));
}

/**
 * The result of a job from its revealed aggregate and count, read against its spec: the estimates and their intervals
 * (estimateResult), with a note saying whether it is final or when its challenge window ends.
 */
export function resultView(
  spec: JobSpec,
  aggregate: readonly number[],
  count: number,
  standing: { final: boolean; challengeEndsAt?: number },
): ResultView {
  const estimate = estimateResult(spec, aggregate, count);
  const status = standing.final
    ? "final"
    : `provisional (challenge window ends ${standing.challengeEndsAt === undefined ? "later" : isoTime(standing.challengeEndsAt)})`;
  return {
    title: spec.title,
    unit: spec.output.unit,
    count: estimate.count,
    confidence: Number.isNaN(estimate.confidence) ? "bucket" : `${Math.round(estimate.confidence * 100)}%`,
    rows: estimate.rows.map((r) => ({ label: r.label, estimate: r.estimate, projected: r.projected, low: r.low, high: r.high })),
    note: `${status}; ${estimate.note}`,
    errorBars: `error bars cover the ${estimate.errorBars.covers}; ${estimate.errorBars.level}`,
    projection: `projected: ${estimate.projection}`,
  };
}

/**
 * The range every chart covers: zero and every estimate and interval end within ±1e300, or [0, 1] if that is narrower than 1e-300.
 * Beyond those bounds the scale arithmetic overflows or underflows; bars out of range run off the edge.
 */
export function chartExtent(rows: readonly ResultRow[]): [number, number] {
  const values = rows.flatMap((row) => [row.estimate, row.low, row.high]).filter((x) => Math.abs(x) <= 1e300);
  const lo = values.reduce((a, b) => Math.min(a, b), 0);
  const hi = values.reduce((a, b) => Math.max(a, b), 0);
  return hi - lo < 1e-300 ? [0, 1] : [lo, hi];
}

/** A value axis's ticks: steps of 1, 2 or 5 × 10^k, about five, covering the rows' estimates, intervals and zero. */
export function axisTicks(rows: readonly ResultRow[]): number[] {
  const [min, max] = chartExtent(rows);
  const rough = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((m) => m >= rough) ?? rough;
  const [lo, hi] = [Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step];
  return Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. Labels come from whoever posted the job,
 * so one starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` and a spreadsheet shows it rather than running it.
 */
function csvCell(value: string | number): string {
  let text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value;
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The result as CSV: a header line `label,estimate,low,high,projected,confidence,count,unit`, then one line per row,
 * full precision (`projected` is the estimate where the view has none).
 */
export function resultCsv(view: ResultView): string {
  const lines = [["label", "estimate", "low", "high", "projected", "confidence", "count", "unit"].join(",")];
  for (const row of view.rows)
    lines.push(
      [row.label, row.estimate, row.low, row.high, row.projected ?? row.estimate, view.confidence, view.count, view.unit]
        .map(csvCell)
        .join(","),
    );
  return `${lines.join("\r\n")}\r\n`;
}
