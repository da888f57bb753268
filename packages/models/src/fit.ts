// Fits a SEIR (or SEIRD) model to daily counts that carry differential-privacy error bars, and forecasts with an
// uncertainty band from a parametric bootstrap.
import {
  DuplicateDayError,
  EmptySeriesError,
  FitFailedError,
  InvalidObservationError,
  InvalidParamsError,
  InvalidPopulationError,
  PopulationTooSmallError,
  UnsortedSeriesError,
} from "./errors.js";
import { nelderMead } from "./optimize.js";
import { quantileSorted, seededRandom } from "./random.js";
import { checkSeirParams, growthRate, integrateSeir, type SeirParams } from "./seir.js";

/** One day's observed count, with the DP noise's standard deviation (0 for an exact count). */
export interface Observation {
  /** Unix day: days since 1970-01-01 (UTC). */
  day: number;
  value: number;
  sd: number;
}

export interface SeirFitOptions {
  /** N, the people the epidemic can reach. */
  population: number;
  /**
   * How many of the population the series counts among. A job result is a count among the people who answered
   * (its `count`), not among everyone: with `respondents` given, the model's reported cases are the population's
   * cases × respondents / population (reportRate), so `population` can be the whole town while the series stays the
   * job's counts. Ignored when `fixed.reportRate` is given or `fitReportRate` is set.
   * @default population (the series counts everyone the model covers)
   */
  respondents?: number;
  /** Days to forecast after the last observed day, 0 to 3650. @default 28 */
  horizonDays?: number;
  /** Bootstrap refits for the intervals and the band, 0 to 10 000 (0: no intervals). @default 60 */
  bootstrap?: number;
  /** The intervals' and band's coverage, in (0, 1). @default 0.95 */
  level?: number;
  /** Seeds the restarts and the bootstrap: the same seed gives the same fit. @default 1 */
  seed?: number;
  /**
   * Parameters held at a value rather than fitted. σ is fixed at 1/5.2 per day (a 5.2-day incubation) unless given
   * here or `fitSigma` is set; reportRate at respondents / population unless given or `fitReportRate` is set; e0 is
   * tied to i0 (the ratio of the early exponential phase) unless given. `population` here is ignored (see the option).
   */
  fixed?: Partial<Omit<SeirParams, "population">>;
  /** Fit σ too (weakly identified from case counts alone). @default false */
  fitSigma?: boolean;
  /** Fit reportRate too (weakly identified: it trades off against the population's size). @default false */
  fitReportRate?: boolean;
  /**
   * φ in each observation's variance sd² + φ · mean: the randomness of the counts themselves (1 = Poisson) on top of
   * the DP noise. @default 1
   */
  overdispersion?: number;
  /** Called after each bootstrap refit. */
  onProgress?(done: number, total: number): void;
}

export interface SeirForecastDay {
  day: number;
  /** The fitted model's expected count. */
  mean: number;
  /** The band: the bootstrap's (1 − level)/2 and (1 + level)/2 quantiles of the expected count, widened to hold `mean`. */
  low: number;
  high: number;
}

export interface SeirFit {
  model: "SEIR" | "SEIRD";
  /** The fitted parameters (with the fixed ones). */
  params: SeirParams;
  /** β / (γ + μ). */
  r0: number;
  /** The bootstrap's percentile interval at `level` ([r0, r0] without bootstrap). */
  r0Interval: [number, number];
  /** Percentile intervals of each fitted parameter. */
  paramIntervals: Partial<Record<keyof SeirParams, [number, number]>>;
  /** The first day the model covers (day 0 of params: the first observed day). */
  startDay: number;
  /** The model's expected reported cases on every day from startDay to the last observed day. */
  fitted: { day: number; value: number }[];
  /** Expected reported cases on the horizon's days (after the last observed day), with the band. */
  forecast: SeirForecastDay[];
  deathsFitted?: { day: number; value: number }[];
  deathsForecast?: SeirForecastDay[];
  /** Root mean square of observed − fitted cases, in cases. */
  residualSd: number;
  /**
   * Pearson χ² per degree of freedom against the stated variances (sd² + φ · mean): about 1 when the error bars
   * explain the scatter. When above 1 the bootstrap's noise is scaled up by it, so a poor fit widens the band.
   */
  dispersion: number;
  /** The intervals' coverage. */
  level: number;
  /** Bootstrap refits that converged and entered the intervals. */
  bootstrap: number;
  /** Negative log-likelihood at the fit (Gaussian, up to a constant). */
  nll: number;
  /** Likelihood evaluations, fit and bootstrap. */
  evaluations: number;
}

type FreeName = "beta" | "gamma" | "sigma" | "mu" | "i0" | "reportRate";
const DEFAULT_SIGMA = 1 / 5.2;
const VARIANCE_FLOOR = 0.25;

const logit = (p: number) => Math.log(p / (1 - p));
const logistic = (x: number) => 1 / (1 + Math.exp(-x));

function checkSeries(name: string, series: readonly Observation[] | undefined): Observation[] {
  if (!Array.isArray(series)) throw new InvalidObservationError(`${name}: expected an array of observations, got ${typeof series}`);
  if (series.length === 0) throw new EmptySeriesError(`${name}: no observations; give at least one day`);
  series.forEach((o, k) => {
    const at = `${name}[${k}]`;
    if (typeof o !== "object" || o === null) throw new InvalidObservationError(`${at}: expected { day, value, sd }, got ${o}`);
    if (typeof o.day !== "number" || !Number.isSafeInteger(o.day))
      throw new InvalidObservationError(`${at}.day: expected an integer unix day, got ${o.day}`);
    if (typeof o.value !== "number" || !Number.isFinite(o.value))
      throw new InvalidObservationError(`${at}.value: expected a finite number, got ${o.value}`);
    if (typeof o.sd !== "number" || !Number.isFinite(o.sd) || o.sd < 0)
      throw new InvalidObservationError(`${at}.sd: expected a finite standard deviation ≥ 0, got ${o.sd}`);
    if (k > 0) {
      const prev = series[k - 1]!.day;
      if (o.day === prev) throw new DuplicateDayError(`${at}.day: day ${o.day} appears twice; sum a day's rows into one observation`);
      if (o.day < prev) throw new UnsortedSeriesError(`${at}.day: day ${o.day} comes after day ${prev}; sort the series by day`);
    }
  });
  return series.map((o) => ({ day: o.day, value: o.value, sd: o.sd }));
}

function checkInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InvalidParamsError(`${field}: expected an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/** One series laid on the model's days: observed values, their DP variances and the model day index of each. */
interface Laid {
  index: Int32Array;
  y: Float64Array;
  dpVar: Float64Array;
}
const lay = (obs: Observation[], start: number): Laid => ({
  index: Int32Array.from(obs, (o) => o.day - start),
  y: Float64Array.from(obs, (o) => o.value),
  dpVar: Float64Array.from(obs, (o) => o.sd * o.sd),
});

/**
 * Fits SEIR to `cases` (SEIRD when `deaths` is given) by maximum likelihood: each observation is Gaussian around the
 * model's expected reported count with variance sd² + φ · mean (the DP noise plus the counts' own randomness), which
 * weighs each day as 1 / (sd² + φ · mean) would in least squares. Nelder–Mead on log β, log γ, log i0 (log μ for
 * SEIRD; log σ and logit reportRate when asked) from the best points of a small grid and a seeded random start,
 * each restarted once. Then a parametric bootstrap: `bootstrap` times, new observations are drawn around the fitted
 * curve with the same variances (× dispersion when above 1), refitted from the estimate, and the refits give the
 * intervals of R0 and the parameters and the forecast's band. Deterministic for a given seed.
 *
 * Errors: EmptySeriesError, InvalidObservationError (NaN, ±Infinity, negative sd, fractional day),
 * UnsortedSeriesError, DuplicateDayError, InvalidPopulationError, PopulationTooSmallError (fewer people than the
 * series' cases and deaths, or than the respondents), InvalidParamsError (an option or fixed value out of range),
 * FitFailedError.
 */
export function fitSeir(data: { cases: readonly Observation[]; deaths?: readonly Observation[] }, options: SeirFitOptions): SeirFit {
  const population = options?.population;
  if (typeof population !== "number" || !Number.isFinite(population) || population <= 0)
    throw new InvalidPopulationError(`population: expected a positive number of people, got ${population}`);
  const cases = checkSeries("cases", data?.cases);
  const deaths = data.deaths === undefined ? undefined : checkSeries("deaths", data.deaths);
  const seird = deaths !== undefined;
  const horizon = checkInt("horizonDays", options.horizonDays ?? 28, 0, 3650);
  const bootstrap = checkInt("bootstrap", options.bootstrap ?? 60, 0, 10_000);
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new InvalidParamsError(`level: expected a coverage in (0, 1), got ${level}`);
  const phi = options.overdispersion ?? 1;
  if (!(Number.isFinite(phi) && phi >= 0)) throw new InvalidParamsError(`overdispersion: expected a number ≥ 0, got ${phi}`);
  const seed = options.seed ?? 1;
  if (!Number.isFinite(seed)) throw new InvalidParamsError(`seed: expected a number, got ${seed}`);
  const fixed = { ...(options.fixed ?? {}) };
  const respondents = options.respondents;
  if (respondents !== undefined) {
    if (!(Number.isFinite(respondents) && respondents > 0))
      throw new InvalidParamsError(`respondents: expected a positive number of people, got ${respondents}`);
    if (respondents > population)
      throw new PopulationTooSmallError(`population: ${population} is fewer than the ${respondents} respondents the series counts among`);
  }
  for (const [key, value] of Object.entries(fixed))
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value)))
      throw new InvalidParamsError(`fixed.${key}: expected a finite number, got ${value}`);

  // Who is fitted, and what the rest are held at.
  const held: Omit<SeirParams, "population"> & { mu: number } = {
    beta: fixed.beta ?? 0,
    gamma: fixed.gamma ?? 0,
    sigma: fixed.sigma ?? DEFAULT_SIGMA,
    mu: seird ? (fixed.mu ?? 0) : 0,
    e0: fixed.e0 ?? 0,
    i0: fixed.i0 ?? 0,
    reportRate: fixed.reportRate ?? (respondents === undefined ? 1 : respondents / population),
  };
  const free: FreeName[] = [];
  if (fixed.beta === undefined) free.push("beta");
  if (fixed.gamma === undefined) free.push("gamma");
  if (fixed.sigma === undefined && options.fitSigma) free.push("sigma");
  if (seird && fixed.mu === undefined) free.push("mu");
  if (fixed.i0 === undefined) free.push("i0");
  if (fixed.reportRate === undefined && options.fitReportRate) free.push("reportRate");
  if (!seird && fixed.mu !== undefined && fixed.mu !== 0)
    throw new InvalidParamsError(`fixed.mu: a death rate needs a deaths series (SEIRD), got ${fixed.mu} without one`);
  checkSeirParams({
    population,
    ...held,
    beta: held.beta || 1,
    gamma: held.gamma || 1,
    i0: Math.min(held.i0, population - held.e0),
  });

  // The people the series says fell ill or died: its total less three standard deviations of its noise, so DP
  // noise alone (which can be large against a small count) does not trip the check.
  const said = [cases, ...(deaths ? [deaths] : [])].reduce((sum, series) => {
    const total = series.reduce((t, o) => t + o.value, 0);
    return sum + Math.max(0, total - 3 * Math.sqrt(series.reduce((v, o) => v + o.sd * o.sd, 0)));
  }, 0);
  const implied = free.includes("reportRate") ? said : said / held.reportRate;
  if (implied > population)
    throw new PopulationTooSmallError(
      `population: ${population} is fewer than the ${Math.round(implied)} people the series ${held.reportRate < 1 ? `implies at a report rate of ${held.reportRate}` : "counts"} as ill or dead (its total less three standard deviations of its noise); give the population the series is drawn from`,
    );
  const positive = (series: Observation[]) => series.reduce((sum, o) => sum + Math.max(0, o.value), 0);

  const start = Math.min(cases[0]!.day, deaths?.[0]?.day ?? Infinity);
  const lastObserved = Math.max(cases.at(-1)!.day, deaths?.at(-1)?.day ?? -Infinity);
  const span = lastObserved - start + 1;
  const caseData = lay(cases, start);
  const deathData = deaths ? lay(deaths, start) : undefined;

  // θ (unconstrained) ↔ parameters.
  const toParams = (theta: readonly number[]): SeirParams => {
    const p = { population, ...held };
    free.forEach((name, k) => {
      const x = theta[k]!;
      p[name] = name === "reportRate" ? logistic(x) : Math.exp(x);
    });
    if (fixed.e0 === undefined) {
      const r = Math.max(0, growthRate(p.beta, p.sigma, p.gamma, p.mu, 1));
      p.e0 = (p.i0 * (r + p.gamma + p.mu)) / p.sigma;
    }
    return seird ? p : { ...p, mu: undefined };
  };
  const toTheta = (p: Partial<Record<FreeName, number>>): number[] =>
    free.map((name) => (name === "reportRate" ? logit(Math.min(0.999, Math.max(1e-3, p[name]!))) : Math.log(p[name]!)));

  const incidence = new Float64Array(span + horizon);
  const deathCurve = new Float64Array(span + horizon);
  let evaluations = 0;
  const run = (p: SeirParams, days: number) => {
    integrateSeir(p.population, p.beta, p.sigma, p.gamma, p.mu ?? 0, p.e0, p.i0, days, p.reportRate, (k, _s, inc, dead) => {
      if (k > 0) {
        incidence[k - 1] = inc;
        deathCurve[k - 1] = dead;
      }
    });
  };
  const partNll = (laid: Laid, y: Float64Array, curve: Float64Array) => {
    let sum = 0;
    for (let j = 0; j < laid.index.length; j++) {
      const m = Math.max(0, curve[laid.index[j]!]!);
      const v = Math.max(VARIANCE_FLOOR, laid.dpVar[j]! + phi * m);
      const r = y[j]! - m;
      sum += 0.5 * ((r * r) / v + Math.log(v));
    }
    return sum;
  };
  const nll = (theta: readonly number[], yCases: Float64Array, yDeaths: Float64Array | undefined) => {
    evaluations++;
    for (const x of theta) if (!Number.isFinite(x) || Math.abs(x) > 50) return Infinity;
    const p = toParams(theta);
    if (p.e0 + p.i0 > population || p.beta > 1e3 || p.gamma > 1e3 || p.sigma > 1e3 || (p.mu ?? 0) > 1e3) return Infinity;
    run(p, span);
    let total = partNll(caseData, yCases, incidence);
    if (deathData && yDeaths) total += partNll(deathData, yDeaths, deathCurve);
    return Number.isFinite(total) ? total : Infinity;
  };

  // Starting points: a grid over R0 and γ, with i0 and μ guessed from the data; the best few, plus a seeded random one.
  const rng = seededRandom(seed);
  const early = cases.slice(0, 3).reduce((sum, o) => sum + o.value, 0) / Math.min(3, cases.length);
  const fatality = deaths ? Math.min(0.5, Math.max(1e-4, positive(deaths) / Math.max(1, positive(cases)))) : 0;
  const grid: number[][] = [];
  const gammas = fixed.gamma !== undefined ? [fixed.gamma] : [1 / 4, 1 / 7, 1 / 12];
  const r0s = fixed.beta !== undefined ? [undefined] : [1.3, 2, 3, 5];
  for (const gamma of gammas)
    for (const r0 of r0s) {
      const mu = fixed.mu ?? (seird ? (gamma * fatality) / (1 - fatality) : 0);
      const beta = fixed.beta ?? (r0 ?? 2) * (gamma + mu);
      const sigma = held.sigma;
      const reportRate = free.includes("reportRate") ? 0.5 : held.reportRate;
      const r = Math.max(0, growthRate(beta, sigma, gamma, mu));
      const i0 = Math.min(population / 10, Math.max(1e-3, Math.max(0.5, early) / (reportRate * Math.max(0.05, r + gamma + mu))));
      grid.push(toTheta({ beta, gamma, sigma, mu, i0, reportRate }));
    }
  const y0 = caseData.y;
  const d0 = deathData?.y;
  const ranked = grid.map((theta) => ({ theta, f: nll(theta, y0, d0) })).sort((a, b) => a.f - b.f);
  const starts = ranked.slice(0, 3).map((s) => s.theta);
  starts.push(ranked[0]!.theta.map((x) => x + 0.7 * rng.normal()));
  let best = { x: starts[0]!, f: Infinity };
  for (const theta of starts) {
    const first = nelderMead((t) => nll(t, y0, d0), theta, { step: 0.5, maxEvaluations: 1000 });
    const again = nelderMead((t) => nll(t, y0, d0), first.x, { step: 0.2, maxEvaluations: 500 });
    const found = again.f <= first.f ? again : first;
    if (found.f < best.f) best = found;
  }
  if (!Number.isFinite(best.f))
    throw new FitFailedError("no parameters give the series a finite likelihood; is it a daily count of new cases?");
  const params = toParams(best.x);
  const r0 = params.beta / (params.gamma + (params.mu ?? 0));

  // The point fit's curves over the observed span and the horizon.
  run(params, span + horizon);
  const meanCases = Float64Array.from(incidence);
  const meanDeaths = Float64Array.from(deathCurve);
  const stats = (laid: Laid, curve: Float64Array) => {
    let squares = 0;
    let pearson = 0;
    const sd = new Float64Array(laid.index.length);
    for (let j = 0; j < laid.index.length; j++) {
      const m = Math.max(0, curve[laid.index[j]!]!);
      const v = Math.max(VARIANCE_FLOOR, laid.dpVar[j]! + phi * m);
      const r = laid.y[j]! - m;
      squares += r * r;
      pearson += (r * r) / v;
      sd[j] = Math.sqrt(v);
    }
    return { squares, pearson, sd };
  };
  const caseStats = stats(caseData, meanCases);
  const deathStats = deathData ? stats(deathData, meanDeaths) : undefined;
  const n = cases.length + (deaths?.length ?? 0);
  const dispersion = (caseStats.pearson + (deathStats?.pearson ?? 0)) / Math.max(1, n - free.length);
  const inflate = Math.sqrt(Math.max(1, dispersion));

  // Parametric bootstrap: observations redrawn around the fit, refitted from the estimate.
  const r0Draws: number[] = [];
  const paramDraws: Record<string, number[]> = Object.fromEntries(free.map((name) => [name, []]));
  const caseDraws: Float64Array[] = [];
  const deathDraws: Float64Array[] = [];
  const yb = new Float64Array(caseData.y.length);
  const db = deathData ? new Float64Array(deathData.y.length) : undefined;
  for (let b = 0; b < bootstrap; b++) {
    for (let j = 0; j < yb.length; j++) yb[j] = Math.max(0, meanCases[caseData.index[j]!]!) + inflate * caseStats.sd[j]! * rng.normal();
    if (db && deathData && deathStats)
      for (let j = 0; j < db.length; j++)
        db[j] = Math.max(0, meanDeaths[deathData.index[j]!]!) + inflate * deathStats.sd[j]! * rng.normal();
    const refit = nelderMead((t) => nll(t, yb, db), best.x, { step: 0.15, maxEvaluations: 400, fTolerance: 1e-5, xTolerance: 1e-4 });
    if (Number.isFinite(refit.f)) {
      const p = toParams(refit.x);
      r0Draws.push(p.beta / (p.gamma + (p.mu ?? 0)));
      for (const name of free) paramDraws[name]!.push(p[name]!);
      run(p, span + horizon);
      caseDraws.push(incidence.slice(span));
      if (seird) deathDraws.push(deathCurve.slice(span));
    }
    options.onProgress?.(b + 1, bootstrap);
  }
  const [qLow, qHigh] = [(1 - level) / 2, (1 + level) / 2];
  const interval = (draws: number[] | undefined, point: number): [number, number] => {
    if (!draws || draws.length === 0) return [point, point];
    const sorted = Float64Array.from(draws).sort();
    return [Math.min(point, quantileSorted(sorted, qLow)), Math.max(point, quantileSorted(sorted, qHigh))];
  };
  const paramIntervals: SeirFit["paramIntervals"] = {};
  for (const name of free) paramIntervals[name] = interval(paramDraws[name], params[name]!);
  const band = (mean: Float64Array, draws: Float64Array[]): SeirForecastDay[] =>
    Array.from({ length: horizon }, (_, h) => {
      const k = span + h;
      const m = Math.max(0, mean[k]!);
      const column = draws.map((d) => Math.max(0, d[h]!));
      const [low, high] = interval(column, m);
      return { day: start + k, mean: m, low, high };
    });
  const curve = (mean: Float64Array) => Array.from({ length: span }, (_, k) => ({ day: start + k, value: Math.max(0, mean[k]!) }));

  return {
    model: seird ? "SEIRD" : "SEIR",
    params,
    r0,
    r0Interval: interval(r0Draws, r0),
    paramIntervals,
    startDay: start,
    fitted: curve(meanCases),
    forecast: band(meanCases, caseDraws),
    ...(seird ? { deathsFitted: curve(meanDeaths), deathsForecast: band(meanDeaths, deathDraws) } : {}),
    residualSd: Math.sqrt(caseStats.squares / cases.length),
    dispersion,
    level,
    bootstrap: r0Draws.length,
    nll: best.f,
    evaluations,
  };
}
