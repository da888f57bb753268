// The SEIR fit as a PNG, on result-view.ts's canvas and encoder: the observed days as points with their DP error bars,
// the fitted curve as a line, the forecast's band as a filled area under its mean line, a dashed marker at the first
// forecast day, sparse date labels, a legend, and R0 with its interval under the title.
import type { Observation, SeirFit } from "@mosaic/models";
import { dayIso } from "@mosaic/models";
import { axisTicks } from "@mosaic/mapreduce";
import { CHAR_W, Canvas, encodePng, formatValue, LINE_H, PNG_PALETTE, type PngOptions, type Rgb, wrapText } from "./result-view.js";

/** The normal quantile for 95% error bars on the observed days (the observations' sds are standard deviations). */
const Z95 = 1.959963984540054;

/** The chart's colours, each used for one thing only, so a test can find each element by its colour. */
export const SEIR_PNG_PALETTE = {
  ...PNG_PALETTE,
  observed: [0, 0, 0],
  errorBar: [150, 150, 150],
  fitted: [31, 119, 180],
  forecast: [230, 120, 20],
  band: [253, 219, 175],
  marker: [120, 120, 120],
} as const satisfies Record<string, Rgb>;

/** What the chart is of: the jobs' title and the respondents the counts are among. */
export interface SeirChartAbout {
  title: string;
  respondents: number;
}

/** Where the chart puts things, for callers (and tests) that read the image back. */
export interface SeirChartLayout {
  width: number;
  height: number;
  /** Pixels per font pixel: 2 on large images when the text leaves the plot enough room, else 1. */
  scale: number;
  titleLines: string[];
  /** R0 with its interval, what is counted and the dates. */
  subtitleLines: string[];
  /** The plot's box: data is drawn inside it only. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** The first and last day drawn (the first observed day, the forecast's last). */
  firstDay: number;
  lastDay: number;
  /** The first forecast day (undefined without a forecast): the marker's day and where the band starts. */
  forecastDay: number | undefined;
  /** The y axis's ticks, low to high. */
  ticks: number[];
  /** The labelled days, MM-DD, spaced so the labels never touch. */
  dateTicks: { day: number; label: string }[];
  /** True when some error bars reach past the plot (they are cut at its edge, and the legend says so). */
  clipped: boolean;
  /** A day's centre column. */
  x(day: number): number;
  /** A value's row. */
  y(value: number): number;
}

const MAX_TITLE_LINES = 2;
/** The plot keeps at least this share of the image's height: else the text is drawn at scale 1, then with less of it. */
const MIN_PLOT_SHARE = 0.45;
/** Days between date labels: the first of these wide enough for a label and a gap. */
const DATE_STEPS = [1, 2, 7, 14, 28, 56, 91, 182, 364, 728, 1456, 2912];

function checkSize(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${field}: expected an integer from ${min} to ${max}, got ${value}`);
}

/** Lines of at most `columns`, no more than `max` of them (the last cut with "…"). */
function wrapAtMost(text: string, columns: number, max: number): string[] {
  const lines = wrapText(text, columns);
  if (lines.length <= max) return lines;
  const last = Array.from(lines.slice(max - 1).join(" ")).slice(0, columns - 1);
  return [...lines.slice(0, max - 1), `${last.join("")}…`];
}

/**
 * The y range: the values, the fit and the band whole, with zero; the error bars too unless they reach more than a
 * quarter of that range beyond it, where they are cut, so noisy days cannot flatten the curve to a line.
 */
function valueRange(cases: readonly Observation[], fit: SeirFit): { lo: number; hi: number; barLo: number; barHi: number } {
  const core = [0, ...cases.map((o) => o.value), ...fit.fitted.map((f) => f.value), ...fit.forecast.flatMap((f) => [f.low, f.high])].filter(
    Number.isFinite,
  );
  const [coreLo, coreHi] = [Math.min(...core), Math.max(...core)];
  const span = Math.max(coreHi - coreLo, 1e-9);
  const [barLo, barHi] = [
    Math.min(coreLo, ...cases.map((o) => o.value - Z95 * o.sd)),
    Math.max(coreHi, ...cases.map((o) => o.value + Z95 * o.sd)),
  ];
  const [lo, hi] = [Math.max(barLo, coreLo - span / 4), Math.min(barHi, coreHi + span / 4)];
  return { lo, hi: hi > lo ? hi : lo + 1, barLo, barHi };
}

/** Where the title, subtitle, legend, plot, ticks and date labels go. */
export function seirChartLayout(
  cases: readonly Observation[],
  fit: SeirFit,
  about: SeirChartAbout,
  options: PngOptions = {},
): SeirChartLayout {
  const firstDay = fit.startDay;
  const lastDay = Math.max(fit.forecast.at(-1)?.day ?? firstDay, cases.at(-1)?.day ?? firstDay, fit.fitted.at(-1)?.day ?? firstDay);
  const days = lastDay - firstDay + 1;
  const { width = Math.min(4000, Math.max(800, days * 6 + 160)), height = 480 } = options;
  checkSize("options.width", width, 160, 8192);
  checkSize("options.height", height, 120, 8192);
  const range = valueRange(cases, fit);
  const ticks = axisTicks([{ label: "", estimate: range.lo, low: range.lo, high: range.hi }]);
  const [tickLo, tickHi] = [ticks[0] as number, ticks.at(-1) as number];
  const clipped = range.barLo < tickLo || range.barHi > tickHi;
  const forecastDay = fit.forecast[0]?.day;
  const pct = `${Math.round(fit.level * 100)}%`;
  const [r0Lo, r0Hi] = fit.r0Interval;
  const r0Text = (v: number) => (Math.abs(v) < 100 ? v.toFixed(2) : formatValue(v));
  const r0Line = `R0 ${r0Text(fit.r0)} (${pct} interval ${r0Text(r0Lo)}-${r0Text(r0Hi)})`;
  const about2 =
    `new cases per day among ${formatValue(about.respondents)} respondents, observed ${dayIso(firstDay)} to ` +
    `${dayIso(cases.at(-1)?.day ?? firstDay)}${forecastDay === undefined ? "" : `, forecast to ${dayIso(lastDay)}`}`;

  // `compact`, for images too small for all the text: the title on one line, and no line on what is counted.
  const attempt = (s: number, compact = false): SeirChartLayout => {
    const columns = Math.max(1, Math.floor((width - 16 * s) / (CHAR_W * s)));
    const titleLines = wrapAtMost(`${fit.model} fit of ${about.title}`, columns, compact ? 1 : MAX_TITLE_LINES);
    const subtitleLines = [...wrapAtMost(r0Line, columns, 1), ...(compact ? [] : wrapAtMost(about2, columns, 2))];
    const legendRows = legendLayout(clipped, pct, 8 * s, width - 8 * s, s).rows;
    const tickColumns = Math.max(...ticks.map((t) => formatValue(t).length)) + 2;
    const left = tickColumns * CHAR_W * s;
    const right = width - 12 * s;
    const top = 8 * s + (titleLines.length + subtitleLines.length + legendRows) * LINE_H * s + 8 * s;
    const bottom = height - 18 * s;
    const perDay = (right - left) / days;
    const x = (day: number) => left + (day - firstDay + 0.5) * perDay;
    const y = (v: number) => bottom - ((v - tickLo) / (tickHi - tickLo)) * (bottom - top);
    const step = DATE_STEPS.find((d) => d * perDay >= 8 * CHAR_W * s) ?? DATE_STEPS.at(-1)!;
    const dateTicks: SeirChartLayout["dateTicks"] = [];
    for (let day = firstDay; day <= lastDay; day += step) dateTicks.push({ day, label: dayIso(day).slice(5) });
    return {
      width,
      height,
      scale: s,
      titleLines,
      subtitleLines,
      left,
      right,
      top,
      bottom,
      firstDay,
      lastDay,
      forecastDay,
      ticks,
      dateTicks,
      clipped,
      x,
      y,
    };
  };
  const roomy = (l: SeirChartLayout) => l.bottom - l.top >= MIN_PLOT_SHARE * height;
  const large = attempt(2);
  if (width >= 600 && height >= 360 && roomy(large)) return large;
  const small = attempt(1);
  return roomy(small) ? small : attempt(1, true);
}

type LegendItem = { kind: "point" | "line" | "band" | "note"; color: Rgb; text: string };

function legendItems(clipped: boolean, pct: string): LegendItem[] {
  const p = SEIR_PNG_PALETTE;
  return [
    { kind: "point", color: p.observed, text: "observed, 95% DP error" },
    { kind: "line", color: p.fitted, text: "fitted" },
    { kind: "line", color: p.forecast, text: "forecast" },
    { kind: "band", color: p.band, text: `${pct} forecast band` },
    ...(clipped ? [{ kind: "note", color: p.text, text: "(error bars cut at the edge)" } as const] : []),
  ];
}

/** The legend's items placed left to right from `from`, on a new row where the next would pass `to`. */
function legendLayout(clipped: boolean, pct: string, from: number, to: number, s: number) {
  const swatch = 12 * s;
  let [x, row] = [from, 0];
  const placed = legendItems(clipped, pct).map((item) => {
    const w = (item.kind === "note" ? 0 : swatch + 4 * s) + Array.from(item.text).length * CHAR_W * s;
    if (x > from && x + w > to) [x, row] = [from, row + 1];
    const at = { item, x, row };
    x += w + 12 * s;
    return at;
  });
  return { placed, rows: row + 1, swatch };
}

/** A rectangle filled inside the plot's box only. */
function clippedFill(canvas: Canvas, l: SeirChartLayout) {
  return (x0: number, y0: number, x1: number, y1: number, color: Rgb) => {
    const [a, b] = [Math.max(l.left, Math.min(x0, x1)), Math.min(l.right, Math.max(x0, x1))];
    const [c, d] = [Math.max(l.top, Math.min(y0, y1)), Math.min(l.bottom, Math.max(y0, y1))];
    if (a < b && c < d) canvas.fill(a, c, b, d, color);
  };
}

/** A polyline `thickness` pixels wide: squares stamped a pixel apart along each segment. */
function polyline(fill: ReturnType<typeof clippedFill>, points: readonly [number, number][], thickness: number, color: Rgb): void {
  const h = thickness / 2;
  points.forEach(([x1, y1], i) => {
    const [x0, y0] = i === 0 ? [x1, y1] : points[i - 1]!;
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let k = i === 0 ? 0 : 1; k <= steps; k++) {
      const [px, py] = [x0 + ((x1 - x0) * k) / steps, y0 + ((y1 - y0) * k) / steps];
      fill(px - h, py - h, px + h, py + h, color);
    }
  });
}

/**
 * The PNG: at least 800 pixels wide, wider for long series (about 6 pixels a day, at most 4000), 480 tall, unless
 * `options` says otherwise. The same input gives the same bytes.
 */
export function renderSeirPng(cases: readonly Observation[], fit: SeirFit, about: SeirChartAbout, options: PngOptions = {}): Uint8Array {
  const l = seirChartLayout(cases, fit, about, options);
  const { scale: s, left, right, top, bottom, x, y } = l;
  const p = SEIR_PNG_PALETTE;
  const canvas = new Canvas(l.width, l.height);
  const fill = clippedFill(canvas, l);
  const perDay = (right - left) / (l.lastDay - l.firstDay + 1);

  // Text above the plot: title, subtitle, legend.
  let lineY = 8 * s;
  for (const line of [...l.titleLines, ...l.subtitleLines]) {
    canvas.text(8 * s, lineY, line, p.text, s);
    lineY += LINE_H * s;
  }
  const legend = legendLayout(l.clipped, `${Math.round(fit.level * 100)}%`, 8 * s, l.width - 8 * s, s);
  for (const { item, x: lx, row } of legend.placed) {
    const [ty, mid] = [lineY + row * LINE_H * s, lineY + row * LINE_H * s + 3.5 * s];
    const textX = item.kind === "note" ? lx : lx + legend.swatch + 4 * s;
    if (item.kind === "point") {
      canvas.fill(lx + legend.swatch / 2 - s / 2, mid - 3 * s, lx + legend.swatch / 2 + s / 2, mid + 3 * s, p.errorBar);
      canvas.fill(lx + legend.swatch / 2 - 1.5 * s, mid - 1.5 * s, lx + legend.swatch / 2 + 1.5 * s, mid + 1.5 * s, item.color);
    } else if (item.kind === "line") canvas.fill(lx, mid - s / 2 - 0.5, lx + legend.swatch, mid + s / 2 + 0.5, item.color);
    else if (item.kind === "band") {
      canvas.fill(lx, mid - 3 * s, lx + legend.swatch, mid + 3 * s, item.color);
      canvas.fill(lx, mid - s / 2, lx + legend.swatch, mid + s / 2, p.forecast);
    }
    canvas.text(textX, ty, item.text, p.text, s);
  }

  // Grid and y ticks.
  for (const tick of l.ticks) {
    const label = formatValue(tick);
    canvas.fill(left, y(tick), right, y(tick) + 1, p.grid);
    canvas.text(left - (label.length + 1) * CHAR_W * s, y(tick) - 3.5 * s, label, p.text, s);
  }

  // The band, column by column between the forecast days, under everything else.
  const forecast = fit.forecast;
  if (forecast.length > 0) {
    const [from, to] = [Math.round(x(forecast[0]!.day)), Math.round(x(forecast.at(-1)!.day))];
    for (let cx = from; cx <= to; cx++) {
      const at = (cx + 0.5 - x(forecast[0]!.day)) / perDay;
      const i = Math.max(0, Math.min(forecast.length - 1, Math.floor(at)));
      const j = Math.min(forecast.length - 1, i + 1);
      const t = Math.max(0, Math.min(1, at - i));
      const [low, high] = [
        forecast[i]!.low + (forecast[j]!.low - forecast[i]!.low) * t,
        forecast[i]!.high + (forecast[j]!.high - forecast[i]!.high) * t,
      ];
      fill(cx, y(high), cx + 1, y(low), p.band);
    }
  }

  // The marker: a dashed line at the first forecast day, labelled.
  if (l.forecastDay !== undefined) {
    const mx = Math.round(x(l.forecastDay));
    for (let dy = top; dy < bottom; dy += 6 * s) fill(mx - s / 2, dy, mx + s / 2, Math.min(bottom, dy + 3 * s), p.marker);
    const label = "forecast";
    const labelWidth = label.length * CHAR_W * s;
    const lx = mx + 4 * s + labelWidth <= right ? mx + 4 * s : mx - 4 * s - labelWidth;
    canvas.text(lx, top + 2 * s, label, p.marker, s);
  }

  // Error bars, then the lines, then the points on top.
  const cap = Math.max(s, Math.min(3 * s, perDay * 0.4));
  for (const o of cases) {
    const [hi, lo] = [y(o.value + Z95 * o.sd), y(o.value - Z95 * o.sd)];
    fill(x(o.day) - s / 2, hi, x(o.day) + s / 2, lo, p.errorBar);
    for (const end of [hi, lo]) if (end >= top && end <= bottom) fill(x(o.day) - cap, end - s / 2, x(o.day) + cap, end + s / 2, p.errorBar);
  }
  const thickness = s + 1;
  const fittedPoints = fit.fitted.map((f): [number, number] => [x(f.day), y(f.value)]);
  polyline(fill, fittedPoints, thickness, p.fitted);
  if (forecast.length > 0)
    polyline(fill, [...fittedPoints.slice(-1), ...forecast.map((f): [number, number] => [x(f.day), y(f.mean)])], thickness, p.forecast);
  const half = Math.max(1.5, Math.min(1.5 * s + 0.5, perDay * 0.4));
  for (const o of cases) fill(x(o.day) - half, y(o.value) - half, x(o.day) + half, y(o.value) + half, p.observed);

  // Axes, date ticks and labels.
  canvas.fill(left - s, top, left, bottom + s, p.axis);
  canvas.fill(left - s, bottom, right, bottom + s, p.axis);
  for (const { day, label } of l.dateTicks) {
    canvas.fill(x(day) - s / 2, bottom + s, x(day) + s / 2, bottom + 4 * s, p.axis);
    const labelWidth = label.length * CHAR_W * s;
    const lx = Math.max(0, Math.min(l.width - labelWidth, x(day) - labelWidth / 2));
    canvas.text(lx, bottom + 6 * s, label, p.text, s);
  }
  return encodePng(canvas);
}
