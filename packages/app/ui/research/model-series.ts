// Which rows of a result make the daily series: labels that start with a date ("2026-11-25 high"); what follows the
// date is the row's kind ("low", "high"), and the model is fitted to one kind or to every kind of a day summed.
import type { ResultView } from "@mosaic/mapreduce";
import { EmptySeriesError, type Observation, seriesFromResults } from "@mosaic/models";

/** Every row of a day, summed. */
export const ALL_KINDS = "";

const DATED = /^(\d{4}-\d{2}-\d{2})\b\s*(.*)$/;

/** The distinct kinds after the date in the dated labels, in first-seen order ([""] when the date is the whole label). */
export function rowKinds(labels: readonly string[]): string[] {
  const kinds: string[] = [];
  for (const label of labels) {
    const m = DATED.exec(label.trim());
    if (m === null) continue;
    const kind = (m[2] ?? "").trim();
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The daily observations of `kind` in one or more results (ALL_KINDS: a day's dated rows summed), sd from the rows' intervals
 * (seriesFromResults); [] when no row is dated.
 */
export function datedSeries(views: ResultView | readonly ResultView[], kind: string): Observation[] {
  const rows = new RegExp(kind === ALL_KINDS ? "^\\d{4}-\\d{2}-\\d{2}\\b" : `^\\d{4}-\\d{2}-\\d{2}\\s+${escapeRegExp(kind)}$`);
  try {
    // Days two results both cover are combined by inverse-variance weighting (seriesFromResults).
    return seriesFromResults(Array.isArray(views) ? views : [views as ResultView], { rows });
  } catch (err) {
    if (err instanceof EmptySeriesError) return [];
    throw err;
  }
}
