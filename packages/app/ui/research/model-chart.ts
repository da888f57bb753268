// The SEIR chart's geometry, apart from React so it can be tested on its own: scales over the observed days and the
// forecast, the forecast band as one closed path, the fitted curve, each observation with its error bar (± 1.96 sd,
// the 95% interval the DP noise gives), axis ticks with dates, and R0 said in words.
import type { Observation, SeirFit } from "@mosaic/models";

const DAY_MS = 86_400_000;

export interface ChartBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const DEFAULT_BOX: ChartBox = { width: 640, height: 300, left: 48, right: 12, top: 12, bottom: 36 };

export interface ObservedMark {
  day: number;
  value: number;
  x: number;
  y: number;
  /** The error bar's ends (y of value + 1.96 sd, of value − 1.96 sd, clipped at zero). */
  yHigh: number;
  yLow: number;
}

export interface ChartGeometry {
  box: ChartBox;
  observed: ObservedMark[];
  /** The fitted curve over the observed days ("" when there is none). */
  fittedPath: string;
  /** The forecast's mean ("" when there is none). */
  forecastPath: string;
  /** The forecast band, low edge forward then high edge back, closed ("" when there is none). */
  bandPath: string;
  /** Where the forecast starts (the last observed day), for a dashed divider; undefined without a forecast. */
  forecastX: number | undefined;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  /** The band's highest value when it runs above the axis (clipped there); undefined when it fits. */
  bandClippedAt: number | undefined;
}

/** 1, 2 or 5 × 10^k steps, about `count` of them, from 0 up to `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

/** A unix day as "Dec 5" (UTC, as the job's labels are). */
export const dayLabel = (day: number): string =>
  new Date(day * DAY_MS).toLocaleDateString("en-GB", { timeZone: "UTC", day: "numeric", month: "short" });

const pathOf = (points: readonly [number, number][]): string =>
  points.map(([x, y], i) => `${i === 0 ? "M" : "L"} ${x.toFixed(1)} ${y.toFixed(1)}`).join(" ");

/** Lays the observations and the fit out in `box`. */
export function chartGeometry(observed: readonly Observation[], fit: SeirFit | undefined, box: ChartBox = DEFAULT_BOX): ChartGeometry {
  const days = [...observed.map((o) => o.day), ...(fit?.fitted.map((f) => f.day) ?? []), ...(fit?.forecast.map((f) => f.day) ?? [])];
  const firstDay = days.length === 0 ? 0 : Math.min(...days);
  const lastDay = days.length === 0 ? 1 : Math.max(...days);
  // The axis holds the observations with their error bars, the fitted curve and the forecast's mean; a band wider
  // than half as much again is clipped at the top (bandClippedAt says how high it reaches), so a wide band never
  // flattens the data.
  const centre = Math.max(
    1,
    ...[
      ...observed.map((o) => o.value + 1.96 * o.sd),
      ...(fit?.fitted.map((f) => f.value) ?? []),
      ...(fit?.forecast.map((f) => f.mean) ?? []),
    ].filter(Number.isFinite),
  );
  const bandHigh = Math.max(0, ...(fit?.forecast.map((f) => f.high) ?? []).filter(Number.isFinite));
  const yTickValues = niceTicks(Math.min(Math.max(centre, bandHigh), centre * 1.5));
  const yMax = yTickValues.at(-1) ?? 1;
  const [x0, x1] = [box.left, box.width - box.right];
  const [y0, y1] = [box.height - box.bottom, box.top];
  const x = (day: number) => x0 + ((day - firstDay) / Math.max(1, lastDay - firstDay)) * (x1 - x0);
  const y = (v: number) => y0 - (Math.min(yMax, Math.max(0, v)) / yMax) * (y0 - y1);
  const span = lastDay - firstDay;
  const everyDays = span <= 10 ? 1 : span <= 30 ? 7 : span <= 120 ? 14 : 30;
  const xTicks: ChartGeometry["xTicks"] = [];
  for (let d = firstDay; d <= lastDay; d += everyDays) xTicks.push({ x: x(d), label: dayLabel(d) });
  const forecast = fit?.forecast ?? [];
  const lastObserved = observed.length === 0 ? undefined : Math.max(...observed.map((o) => o.day));
  return {
    box,
    observed: observed.map((o) => ({
      day: o.day,
      value: o.value,
      x: x(o.day),
      y: y(o.value),
      yHigh: y(o.value + 1.96 * o.sd),
      yLow: y(Math.max(0, o.value - 1.96 * o.sd)),
    })),
    fittedPath: pathOf((fit?.fitted ?? []).map((f) => [x(f.day), y(f.value)])),
    forecastPath: pathOf(forecast.map((f) => [x(f.day), y(f.mean)])),
    bandPath:
      forecast.length === 0
        ? ""
        : `${pathOf([...forecast.map((f): [number, number] => [x(f.day), y(f.low)]), ...[...forecast].reverse().map((f): [number, number] => [x(f.day), y(f.high)])])} Z`,
    forecastX: forecast.length === 0 || lastObserved === undefined ? undefined : x(lastObserved),
    xTicks,
    yTicks: yTickValues.map((v) => ({ y: y(v), label: v.toLocaleString("en-GB") })),
    bandClippedAt: bandHigh > yMax ? bandHigh : undefined,
  };
}

/** R0 and what it means, in a sentence. */
export function r0Words(fit: Pick<SeirFit, "r0" | "r0Interval">): string {
  const f = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  const [low, high] = fit.r0Interval;
  const trend =
    low > 1
      ? "the outbreak was growing: each case infected more than one other person on average"
      : high < 1
        ? "the outbreak was shrinking: each case infected fewer than one other person on average"
        : "the data cannot tell whether it was growing or shrinking (the interval spans 1)";
  return `R0 is about ${f(fit.r0)} (95% interval ${f(low)} to ${f(high)}): ${trend}.`;
}

const daysText = (d: number): string => String(Number(d.toPrecision(3)));

/**
 * What the fit could not learn from the series, for the reader: `summary`, a sentence when the infectious period was
 * not identified (a series that has not turned fixes the growth rate, not β and γ apart, so γ is held and R0's
 * interval spans the periods the data allow); `notes`, fitSeir's own sentences (held values, parameters at a range's
 * edge, R0 at its bound); `heldInfectiousDays`, the period held, when it was.
 */
export function fitNotes(fit: Pick<SeirFit, "identified" | "notes" | "params" | "paramIntervals">): {
  summary?: string;
  notes: string[];
  heldInfectiousDays?: { held: string; allowed?: [string, string] };
} {
  const notes = Array.isArray(fit.notes) ? fit.notes : [];
  if (fit.identified?.gamma !== false) return { notes };
  const held = daysText(1 / fit.params.gamma);
  // paramIntervals.gamma holds the rates the data allow: the longest period is the lowest rate.
  const g = fit.paramIntervals.gamma;
  const allowed: [string, string] | undefined = g === undefined ? undefined : [daysText(1 / g[1]), daysText(1 / g[0])];
  return {
    summary: `The series does not show the epidemic turning, so it tells how fast cases grew but not how long a case stays infectious: the infectious period is held at ${held} days, and R0's interval spans every value the data allow${allowed === undefined ? "" : ` (infectious periods from ${allowed[0]} to ${allowed[1]} days)`}.`,
    notes,
    heldInfectiousDays: { held, ...(allowed === undefined ? {} : { allowed }) },
  };
}
