// The SEIR fit as a PNG: drawn with result-view.ts's bar chart (its exported renderPng), one bar per day: the
// observed counts with their DP error bars, then the forecast's expected counts with the bootstrap band as whiskers.
import type { Observation, SeirFit } from "@mosaic/models";
import { dayIso } from "@mosaic/models";
import { type PngOptions, type ResultRow, type ResultView, renderPng } from "./result-view.js";

/** The normal quantile for 95% error bars on the observed days (the fit's sds are standard deviations). */
const Z95 = 1.959963984540054;

/**
 * The chart as a ResultView: a row per day from the first observed day to the forecast's last, labelled on the first
 * day, on the first of each month and on the first forecast day; days without an observation are blank.
 */
export function seirChartView(cases: readonly Observation[], fit: SeirFit, about: { title: string; respondents: number }): ResultView {
  const observed = new Map(cases.map((o) => [o.day, o]));
  const first = fit.startDay;
  const firstForecast = fit.forecast[0]?.day ?? Infinity;
  const last = fit.forecast.at(-1)?.day ?? cases.at(-1)?.day ?? first;
  const label = (day: number) => {
    const iso = dayIso(day);
    return day === first || day === firstForecast || iso.endsWith("-01") ? iso.slice(5) : "";
  };
  const rows: ResultRow[] = [];
  const forecast = new Map(fit.forecast.map((f) => [f.day, f]));
  for (let day = first; day <= last; day++) {
    const o = observed.get(day);
    const f = forecast.get(day);
    if (f !== undefined) rows.push({ label: label(day), estimate: f.mean, low: f.low, high: f.high });
    else if (o !== undefined) rows.push({ label: label(day), estimate: o.value, low: o.value - Z95 * o.sd, high: o.value + Z95 * o.sd });
    else rows.push({ label: label(day), estimate: Number.NaN, low: Number.NaN, high: Number.NaN });
  }
  const [lo, hi] = fit.r0Interval;
  return {
    title: `${fit.model} fit of ${about.title}: observed to ${dayIso(firstForecast - 1)}, then forecast; R0 ${fit.r0.toFixed(2)} (${lo.toFixed(2)}-${hi.toFixed(2)})`,
    unit: "new cases per day",
    count: about.respondents,
    confidence: `${Math.round(fit.level * 100)}%`,
    rows,
  };
}

/** The PNG: at least 800 pixels wide, wider for long series (about 6 pixels a day, at most 4000). */
export function renderSeirPng(
  cases: readonly Observation[],
  fit: SeirFit,
  about: { title: string; respondents: number },
  options: PngOptions = {},
): Uint8Array {
  const view = seirChartView(cases, fit, about);
  const width = options.width ?? Math.min(4000, Math.max(800, view.rows.length * 6 + 160));
  return renderPng(view, { width, height: options.height ?? 480 });
}
