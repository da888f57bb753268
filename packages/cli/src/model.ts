// `mosaic model seir`: fits a SEIR (SEIRD) model to the daily series that finalised job results give, with the
// forecast, printed and drawn. The results are read as `mosaic job result` reads them (jobResult); the maths is
// @mosaic/models'.
import { writeFile } from "node:fs/promises";
import { dayIso, fitSeir, type Observation, type ResultLike, type SeirFit, seriesFromResults } from "@mosaic/models";
import { namedError } from "@mosaic/protocol";
import { formatValue, type ResultView } from "./result-view.js";
import { type JobFlags, jobResult } from "./job.js";
import { renderSeirPng } from "./model-chart.js";

/** A job named has no final result yet (collecting, provisional, refunded…): the message says where it stands. */
export class ResultNotFinalError extends namedError("ResultNotFinalError") {}

export interface ModelSeirOptions {
  /** Jobs whose results count new cases per day. */
  jobIds: bigint[];
  /** Jobs whose results count deaths per day: the model is then SEIRD. */
  deathsJobIds?: bigint[];
  /** The rows read from the case jobs' results. @default every row */
  rows?: RegExp;
  /** The rows read from the deaths jobs' results. @default every row */
  deathsRows?: RegExp;
  /** The people the epidemic can reach. @default the respondents (the jobs' mean count) */
  population?: number;
  /** @default 28 */
  horizonDays?: number;
  bootstrap?: number;
  seed?: number;
  /** Mean incubation period in days (σ = 1 / it). @default 5.2 */
  incubationDays?: number;
  /** Nodes to read the specs from (default: the reducers announced on-chain and the network's bootstrap peers). */
  peers: string[];
  /** Write the chart here. */
  png?: string;
}

/** One job read. */
export interface ModelJob {
  jobId: string;
  title: string;
  /** Respondents: the result's count. */
  count: number;
  /** The job's day (its collection deadline's UTC date), which dates rows whose label starts with no date. */
  day: string;
}

export interface ModelSeirResult {
  jobs: ModelJob[];
  deathsJobs?: ModelJob[];
  population: number;
  /** The jobs' mean count: the series count among these people, so reportRate = respondents / population. */
  respondents: number;
  cases: Observation[];
  deaths?: Observation[];
  fit: SeirFit;
  /** Things to know about the input: differing respondent counts, the population defaulted. */
  notes: string[];
  /** Reasons to doubt the fit: a series whose error bars dwarf its counts (see {@link noiseWarning}). */
  warnings: string[];
  png?: string;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * A warning when a series' DP noise dwarfs what it counts (the median sd above the fitted curve's peak over the observed
 * days), saying what to do; undefined otherwise. Local-DP results carry noise that grows with √n: at thousands of
 * respondents a day's error bar is often wider than the whole epidemic's curve, and the fit cannot see its shape. The
 * peak rather than the median count: an epidemic's quiet start has counts under the noise while its rise is plain.
 */
export function noiseWarning(what: string, series: readonly Observation[], fitted: readonly { value: number }[]): string | undefined {
  if (series.length === 0) return undefined;
  const sd = median(series.map((o) => o.sd));
  const peak = Math.max(0, ...fitted.map((f) => f.value));
  if (!(sd > peak)) return undefined;
  return (
    `the ${what}' error bars dwarf the signal (median sd ${formatValue(sd)} a day against the fitted curve's peak of ` +
    `${formatValue(peak)}), so R0 and the forecast are weakly determined whatever their intervals say; fit shared-mode ` +
    "results ('mosaic job new ... --mode shared': secret-shared aggregation adds its noise once, to the sum) or jobs with " +
    "many more respondents, or read a large effect only"
  );
}

/** A finalised result as seriesFromResults reads it; ResultNotFinalError for one that is not final. */
export function finalResult(r: {
  jobId: string;
  label?: string;
  final: boolean;
  title?: string;
  view?: ResultView;
  standing: { collectionDeadline: number; summary: string };
}): ResultLike & { job: ModelJob } {
  const label = r.label ?? r.jobId;
  if (!r.final || r.view === undefined)
    throw new ResultNotFinalError(`job ${label} has no final result (${r.standing.summary}); a model reads finalised results only`);
  const day = Math.floor(r.standing.collectionDeadline / 86_400);
  return {
    rows: r.view.rows,
    confidence: r.view.confidence,
    day,
    job: { jobId: label, title: r.title ?? r.view.title, count: r.view.count, day: dayIso(day) },
  };
}

/**
 * The fit from results already read (the part of modelSeir without the chain): series from the rows kept, the
 * population (default: the respondents) and the report rate respondents / population, then fitSeir.
 */
export function modelFromResults(
  cases: ReturnType<typeof finalResult>[],
  deaths: ReturnType<typeof finalResult>[] | undefined,
  options: Omit<ModelSeirOptions, "jobIds" | "deathsJobIds" | "peers" | "png">,
): Omit<ModelSeirResult, "png"> {
  const notes: string[] = [];
  const caseSeries = seriesFromResults(cases, { rows: options.rows });
  const deathSeries = deaths === undefined ? undefined : seriesFromResults(deaths, { rows: options.deathsRows });
  const counts = cases.map((c) => c.job.count);
  const respondents = counts.reduce((a, b) => a + b, 0) / counts.length;
  if (Math.max(...counts) > 1.5 * Math.min(...counts))
    notes.push(
      `the jobs counted among different numbers of people (${Math.min(...counts)} to ${Math.max(...counts)}); the model assumes the mean, ${formatValue(respondents)}`,
    );
  const population = options.population ?? respondents;
  if (options.population === undefined)
    notes.push(`no --population: the model covers the ${formatValue(respondents)} respondents only (report rate 1)`);
  const fit = fitSeir(
    { cases: caseSeries, deaths: deathSeries },
    {
      population,
      respondents: Math.min(respondents, population),
      horizonDays: options.horizonDays,
      bootstrap: options.bootstrap,
      seed: options.seed,
      fixed: options.incubationDays === undefined ? undefined : { sigma: 1 / options.incubationDays },
    },
  );
  const warnings = [
    noiseWarning("cases", caseSeries, fit.fitted),
    deathSeries && noiseWarning("deaths", deathSeries, fit.deathsFitted ?? []),
  ].filter((w): w is string => w !== undefined);
  return {
    jobs: cases.map((c) => c.job),
    ...(deaths ? { deathsJobs: deaths.map((d) => d.job) } : {}),
    population,
    respondents,
    cases: caseSeries,
    ...(deathSeries ? { deaths: deathSeries } : {}),
    fit,
    notes,
    warnings,
  };
}

/** Reads each job's finalised result (as `mosaic job result` does), fits, and writes the chart when asked. */
export async function modelSeir(flags: JobFlags, options: ModelSeirOptions): Promise<ModelSeirResult> {
  const read = async (ids: bigint[]) => {
    const out: ReturnType<typeof finalResult>[] = [];
    for (const jobId of ids) out.push(finalResult(await jobResult(flags, { jobId, peers: options.peers })));
    return out;
  };
  const cases = await read(options.jobIds);
  const deaths = options.deathsJobIds?.length ? await read(options.deathsJobIds) : undefined;
  const result = modelFromResults(cases, deaths, options);
  if (options.png === undefined) return result;
  const title = [...new Set(result.jobs.map((j) => j.title))].join("; ");
  await writeFile(options.png, renderSeirPng(result.cases, result.fit, { title, respondents: result.respondents }));
  return { ...result, png: options.png };
}

const rate = (name: string, perDay: number, how: "" | "fixed" | "held") =>
  `${name} 1/${formatValue(1 / perDay)} days${how === "" ? "" : how === "fixed" ? " (fixed)" : " (held: the series does not identify it; see the note)"}`;

export function formatModelSeir(r: ModelSeirResult): string {
  const { fit } = r;
  const pct = `${Math.round(fit.level * 100)}%`;
  const [from, to] = [r.cases[0]!.day, r.cases.at(-1)!.day];
  const jobs = r.jobs.map((j) => j.jobId).join(", ");
  const p = fit.params;
  const interval = (name: keyof typeof fit.paramIntervals) => {
    const i = fit.paramIntervals[name];
    return i === undefined ? "" : ` (${formatValue(i[0])}–${formatValue(i[1])})`;
  };
  const lines = [
    `${fit.model} fit to job${r.jobs.length === 1 ? "" : "s"} ${jobs}: ${r.cases.length} days, ${dayIso(from)} to ${dayIso(to)}${r.deaths ? `, deaths on ${r.deaths.length} days` : ""}`,
    `population ${formatValue(r.population)}, counted among ${formatValue(r.respondents)} respondents (report rate ${formatValue(p.reportRate)})`,
    "",
    `R0 ${fit.r0.toFixed(2)}  (${pct} interval ${fit.r0Interval[0].toFixed(2)}–${fit.r0Interval[1].toFixed(2)}, ${fit.bootstrap} bootstrap refits)`,
    `β ${formatValue(p.beta)}/day${interval("beta")}, ${rate("γ", p.gamma, fit.identified.gamma === false ? "held" : fit.paramIntervals.gamma === undefined ? "fixed" : "")}, ${rate("σ", p.sigma, fit.paramIntervals.sigma === undefined ? "fixed" : "")}${p.mu === undefined ? "" : `, μ ${formatValue(p.mu)}/day${interval("mu")}`}`,
    `at ${dayIso(fit.startDay)}: ${formatValue(p.i0)} infectious, ${formatValue(p.e0)} exposed`,
    `residual sd ${formatValue(fit.residualSd)} cases; dispersion ${formatValue(fit.dispersion)} (about 1 when the DP error bars explain the scatter)`,
    // The input's notes, then the fit's own (what it assumed because the data could not say it; a parameter at a bound).
    ...[...r.notes, ...fit.notes].map((n) => `note: ${n}`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
  if (fit.forecast.length > 0) {
    lines.push("", `forecast: expected new cases per day, ${pct} band${fit.deathsForecast ? "; deaths" : ""}`);
    fit.forecast.forEach((f, h) => {
      const d = fit.deathsForecast?.[h];
      const deaths = d === undefined ? "" : `   ${formatValue(d.mean).padStart(7)}  [${formatValue(d.low)}, ${formatValue(d.high)}]`;
      lines.push(`  ${dayIso(f.day)}  ${formatValue(f.mean).padStart(7)}  [${formatValue(f.low)}, ${formatValue(f.high)}]${deaths}`);
    });
  }
  if (r.png !== undefined) lines.push("", `chart written to ${r.png}`);
  return lines.join("\n");
}
