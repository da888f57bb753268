// Turns finalised job results (their ResultView rows, with error bars) into a daily series a model can fit.
import { EmptySeriesError, InvalidResultError } from "./errors.js";
import type { Observation } from "./fit.js";
import { normalQuantile } from "./random.js";

/** What seriesFromResults reads of a job's ResultView (@mosaic/mapreduce): rows with intervals at a confidence. */
export interface ResultLike {
  rows: readonly { label: string; estimate: number; low: number; high: number }[];
  /** The intervals' coverage, e.g. "95%". */
  confidence: string;
  /** The job's own day (unix day), for rows whose label does not start with a date. */
  day?: number;
}

export interface SeriesOptions {
  /** Only rows whose label matches this are read. @default every row */
  rows?: RegExp;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?!\d)/;

/** The unix day of a label starting YYYY-MM-DD (a real calendar date), else undefined. */
export function labelDay(label: string): number | undefined {
  const m = DATE.exec(label);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms / 86_400_000;
}

/** The unix day of an ISO date `YYYY-MM-DD`. */
export const isoDay = (date: string): number => {
  const day = labelDay(date);
  if (day === undefined || date.length !== 10) throw new RangeError(`date: expected YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return day;
};

/** `YYYY-MM-DD` of a unix day. */
export const dayIso = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** The standard deviation a two-sided interval at `confidence` ("95%") implies, read as a normal's: (high − low) / 2z. */
function sdPerWidth(confidence: string, at: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(confidence);
  const c = m === null ? Number.NaN : Number(m[1]) / 100;
  if (!(c > 0 && c < 1))
    throw new InvalidResultError(`${at}.confidence: expected a percentage such as "95%", got ${JSON.stringify(confidence)}`);
  return 1 / (2 * normalQuantile((1 + c) / 2));
}

/**
 * A daily series from job results. Each row kept (by `options.rows`) is dated by the date its label starts with
 * ("2026-11-25 low"), else by its result's `day`. Within one result, rows sharing a day are summed and their
 * variances added (e.g. "low" and "high" risk are different people). Across results, estimates of the same day are
 * combined by inverse-variance weighting (two jobs whose windows overlap measure the same day twice). The sd is the
 * interval's half-width over the normal quantile of its confidence (95% → 1.96): exact for Gaussian noise and within
 * 10% for the discrete Laplace intervals Mosaic draws. The estimate is the raw, unbiased one (not the projection).
 *
 * Errors: InvalidResultError (a confidence that is not a percentage, a non-finite estimate or interval, an undated
 * row in a result without `day`), EmptySeriesError (no row kept).
 */
export function seriesFromResults(results: readonly ResultLike[], options: SeriesOptions = {}): Observation[] {
  const combined = new Map<number, { weighted: number; precision: number; exact: number[] }>();
  results.forEach((result, r) => {
    const at = `results[${r}]`;
    const perSd = sdPerWidth(result.confidence, at);
    if (result.day !== undefined && !Number.isSafeInteger(result.day))
      throw new InvalidResultError(`${at}.day: expected an integer unix day, got ${result.day}`);
    const days = new Map<number, { value: number; variance: number }>();
    result.rows.forEach((row, k) => {
      if (options.rows !== undefined) {
        options.rows.lastIndex = 0;
        if (!options.rows.test(row.label)) return;
      }
      const where = `${at}.rows[${k}] (${JSON.stringify(row.label)})`;
      for (const field of ["estimate", "low", "high"] as const)
        if (typeof row[field] !== "number" || !Number.isFinite(row[field]))
          throw new InvalidResultError(`${where}.${field}: expected a finite number, got ${row[field]}`);
      if (row.high < row.low) throw new InvalidResultError(`${where}: interval [${row.low}, ${row.high}] is reversed`);
      const day = labelDay(row.label) ?? result.day;
      if (day === undefined)
        throw new InvalidResultError(`${where}: the label starts with no YYYY-MM-DD date and the result has no day; give the job's day`);
      const sd = (row.high - row.low) * perSd;
      const sum = days.get(day) ?? { value: 0, variance: 0 };
      days.set(day, { value: sum.value + row.estimate, variance: sum.variance + sd * sd });
    });
    for (const [day, { value, variance }] of days) {
      const entry = combined.get(day) ?? { weighted: 0, precision: 0, exact: [] };
      if (variance === 0) entry.exact.push(value);
      else {
        entry.weighted += value / variance;
        entry.precision += 1 / variance;
      }
      combined.set(day, entry);
    }
  });
  if (combined.size === 0) throw new EmptySeriesError(`no result row${options.rows ? ` matches ${options.rows}` : ""}; nothing to fit`);
  return [...combined.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, { weighted, precision, exact }]) =>
      // An exact count (no noise) outweighs every noisy one.
      exact.length > 0
        ? { day, value: exact.reduce((a, b) => a + b, 0) / exact.length, sd: 0 }
        : { day, value: weighted / precision, sd: Math.sqrt(1 / precision) },
    );
}
