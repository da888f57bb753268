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
import { normalQuantile, quantileSorted, seededRandom } from "./random.js";
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
  /**
   * The plausible mean infectious period 1/γ, [shortest, longest] days: γ is fitted within it, and when the series
   * does not identify γ the R0 interval spans the part of it the data allow. @default [1, 21]
   */
  infectiousDays?: [number, number];
  /**
   * The infectious period 1/γ held, in days, when the series does not identify γ (a series still in its early
   * growth fixes only the growth rate: β and γ trade off along a ridge). It must lie within infectiousDays; if the
   * data rule it out, the nearest period they allow is held instead. Give `fixed.gamma` to hold γ unconditionally.
   * @default 5
   */
  assumedInfectiousDays?: number;
  /** The plausible mean incubation period 1/σ, [shortest, longest] days, when σ is fitted (`fitSigma`). @default [1, 21] */
  incubationDays?: [number, number];
  /** The largest R0 fitted: β is bounded so that R0 = β / (γ + μ) is in (0, maxR0). @default 20 */
  maxR0?: number;
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
  /**
   * The bootstrap's percentile interval at `level`, widened to hold R0 at every infectious period the profile
   * likelihood over γ allows (all of infectiousDays the data cannot rule out when γ is not identified); [r0, r0]
   * without bootstrap.
   */
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
  /**
   * What the series identifies. `gamma`: true when the profile likelihood over γ rises above the level's cutoff (half
   * the χ²₁ quantile, 1.92 at 95%, scaled by the dispersion when above 1) on both sides of its best within
   * infectiousDays, so γ is fitted; false when it does not, so γ is held (see `notes`) and the R0 interval and the band
   * span the infectious periods the data allow; absent when `fixed.gamma` was given.
   */
  identified: { gamma?: boolean };
  /** Plain sentences on what the fit assumed because the data could not say it, and parameters at a range's edge. */
  notes: string[];
}

type FreeName = "beta" | "gamma" | "sigma" | "mu" | "i0" | "reportRate";
type Held = Omit<SeirParams, "population"> & { mu: number };
const DEFAULT_SIGMA = 1 / 5.2;
const DEFAULT_INFECTIOUS_DAYS: [number, number] = [1, 21];
const DEFAULT_INCUBATION_DAYS: [number, number] = [1, 21];
const DEFAULT_ASSUMED_INFECTIOUS_DAYS = 5;
const DEFAULT_MAX_R0 = 20;
/** Infectious periods the profile likelihood over γ is evaluated at (log-spaced over the range, plus the assumed one). */
const PROFILE_POINTS = 8;
/** The sd, in θ units, of the perturbation each bootstrap refit starts from. */
const BOOTSTRAP_JITTER = 0.2;
const VARIANCE_FLOOR = 0.25;

const logit = (p: number) => Math.log(p / (1 - p));
const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const clamp01 = (x: number) => Math.min(1 - 1e-9, Math.max(1e-9, x));
const formatDays = (d: number) => String(Number(d.toPrecision(3)));

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
 * weighs each day as 1 / (sd² + φ · mean) would in least squares, by Nelder–Mead within plausible ranges (R0 in
 * (0, maxR0), 1/γ within infectiousDays, 1/σ within incubationDays when fitted).
 *
 * With γ free, its profile likelihood is computed first (β, i0 and the rest refitted at infectious periods spread
 * over infectiousDays). If it rises above the level's cutoff on both sides of its best, γ is identified and fitted
 * with the rest from the profile's best point. If not (an epidemic still growing exponentially fixes only its growth
 * rate), γ is held at assumedInfectiousDays (or the nearest period the data allow), `identified.gamma` is false and
 * `notes` says so. Then a parametric bootstrap: `bootstrap` times, new observations are drawn around the fitted curve
 * with the same variances (× dispersion when above 1) and refitted from a start perturbed around the estimate — with
 * γ held, at a γ drawn from the range the data allow. The refits give the intervals and the forecast's band; the R0
 * interval also holds R0 at every infectious period inside the profile's cutoff. Deterministic for a given seed.
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

  // The plausible ranges the free parameters are fitted within.
  const range = (field: string, value: unknown, fallback: [number, number]): [number, number] => {
    const r = value ?? fallback;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === "number" && Number.isFinite(x)) || !(r[0] > 0 && r[1] > r[0]))
      throw new InvalidParamsError(`${field}: expected [shortest, longest] days with 0 < shortest < longest, got ${JSON.stringify(value)}`);
    return [r[0], r[1]];
  };
  const infectiousDays = range("infectiousDays", options.infectiousDays, DEFAULT_INFECTIOUS_DAYS);
  const incubationDays = range("incubationDays", options.incubationDays, DEFAULT_INCUBATION_DAYS);
  const assumedDays = options.assumedInfectiousDays ?? DEFAULT_ASSUMED_INFECTIOUS_DAYS;
  if (!(typeof assumedDays === "number" && assumedDays >= infectiousDays[0] && assumedDays <= infectiousDays[1]))
    throw new InvalidParamsError(
      `assumedInfectiousDays: expected a number of days within infectiousDays [${infectiousDays.join(", ")}], got ${assumedDays}`,
    );
  const maxR0 = options.maxR0 ?? DEFAULT_MAX_R0;
  if (!(typeof maxR0 === "number" && Number.isFinite(maxR0) && maxR0 > 0))
    throw new InvalidParamsError(`maxR0: expected a positive number, got ${maxR0}`);
  const rateBounds: Record<"gamma" | "sigma", [number, number]> = {
    gamma: [1 / infectiousDays[1], 1 / infectiousDays[0]],
    sigma: [1 / incubationDays[1], 1 / incubationDays[0]],
  };

  // Who is fitted, and what the rest are held at.
  const held: Held = {
    beta: fixed.beta ?? 0,
    gamma: fixed.gamma ?? 1 / assumedDays,
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

  /**
   * A parameter space: θ (unconstrained, one coordinate per free name) ↔ parameters, and the likelihood over it.
   * γ and σ are fitted on a log scale within their ranges (a logistic of θ), β as R0 = β / (γ + μ) within (0, maxR0),
   * i0 and μ on a log scale, reportRate on a logit scale.
   */
  const makeSpace = (names: FreeName[], base: Held) => {
    const space = {
      names,
      held: { ...base },
      toParams(theta: readonly number[]): SeirParams {
        const p = { population, ...space.held };
        names.forEach((name, k) => {
          const x = theta[k]!;
          if (name === "gamma" || name === "sigma") {
            const [lo, hi] = rateBounds[name];
            p[name] = lo * Math.exp(logistic(x) * Math.log(hi / lo));
          } else if (name === "reportRate") p.reportRate = logistic(x);
          else if (name !== "beta") p[name] = Math.exp(x);
        });
        const kb = names.indexOf("beta");
        if (kb >= 0) p.beta = maxR0 * logistic(theta[kb]!) * (p.gamma + p.mu);
        if (fixed.e0 === undefined) {
          const r = Math.max(0, growthRate(p.beta, p.sigma, p.gamma, p.mu, 1));
          p.e0 = (p.i0 * (r + p.gamma + p.mu)) / p.sigma;
        }
        return seird ? p : { ...p, mu: undefined };
      },
      toTheta(p: Partial<Record<FreeName, number>>): number[] {
        const value = (name: FreeName) => p[name] ?? space.held[name];
        return names.map((name) => {
          const v = value(name);
          if (name === "gamma" || name === "sigma") {
            const [lo, hi] = rateBounds[name];
            return logit(clamp01(Math.log(v / lo) / Math.log(hi / lo)));
          }
          if (name === "beta") return logit(clamp01(v / (value("gamma") + value("mu")) / maxR0));
          if (name === "reportRate") return logit(Math.min(0.999, Math.max(1e-3, v)));
          return Math.log(v);
        });
      },
      nll(theta: readonly number[], yCases: Float64Array, yDeaths: Float64Array | undefined): number {
        evaluations++;
        for (const x of theta) if (!Number.isFinite(x) || Math.abs(x) > 50) return Infinity;
        const p = space.toParams(theta);
        if (p.e0 + p.i0 > population || (p.mu ?? 0) > 1e3) return Infinity;
        run(p, span);
        let total = partNll(caseData, yCases, incidence);
        if (deathData && yDeaths) total += partNll(deathData, yDeaths, deathCurve);
        return Number.isFinite(total) ? total : Infinity;
      },
    };
    return space;
  };
  type Space = ReturnType<typeof makeSpace>;
  const y0 = caseData.y;
  const d0 = deathData?.y;
  /** Nelder–Mead from the best of `starts` on the data, restarted once from where it stopped. */
  const minimise = (space: Space, starts: number[][], budget: number) => {
    const ranked = starts.map((theta) => ({ x: theta, f: space.nll(theta, y0, d0) })).sort((a, b) => a.f - b.f);
    const first = nelderMead((t) => space.nll(t, y0, d0), ranked[0]!.x, { step: 0.5, maxEvaluations: budget });
    const again = nelderMead((t) => space.nll(t, y0, d0), first.x, { step: 0.2, maxEvaluations: budget / 2 });
    return again.f <= first.f ? again : first;
  };
  /** β that keeps p's early growth rate at another γ: the ridge an early series leaves β and γ on. */
  const alongRidge = (p: SeirParams, gamma: number): SeirParams => {
    const mu = p.mu ?? 0;
    const r = growthRate(p.beta, p.sigma, p.gamma, mu, 1);
    return { ...p, gamma, beta: Math.max(1e-6, ((r + p.sigma) * (r + gamma + mu)) / p.sigma) };
  };

  // Starting points at a given γ: a grid over R0, with i0 and μ guessed from the data.
  const rng = seededRandom(seed);
  const early = cases.slice(0, 3).reduce((sum, o) => sum + o.value, 0) / Math.min(3, cases.length);
  const fatality = deaths ? Math.min(0.5, Math.max(1e-4, positive(deaths) / Math.max(1, positive(cases)))) : 0;
  const gridStarts = (space: Space, gamma: number): number[][] =>
    (fixed.beta !== undefined ? [undefined] : [1.3, 2, 3, 5]).map((r0) => {
      const mu = fixed.mu ?? (seird ? (gamma * fatality) / (1 - fatality) : 0);
      const beta = fixed.beta ?? (r0 ?? 2) * (gamma + mu);
      const sigma = held.sigma;
      const reportRate = free.includes("reportRate") ? 0.5 : held.reportRate;
      const r = Math.max(0, growthRate(beta, sigma, gamma, mu));
      const i0 = Math.min(population / 10, Math.max(1e-3, Math.max(0.5, early) / (reportRate * Math.max(0.05, r + gamma + mu))));
      return space.toTheta({ beta, gamma, sigma, mu, i0, reportRate });
    });
  const pearsonAt = (p: SeirParams) => {
    run(p, span);
    let sum = 0;
    for (const [laid, curve] of [[caseData, incidence], ...(deathData ? [[deathData, deathCurve]] : [])] as [Laid, Float64Array][])
      for (let j = 0; j < laid.index.length; j++) {
        const m = Math.max(0, curve[laid.index[j]!]!);
        sum += (laid.y[j]! - m) ** 2 / Math.max(VARIANCE_FLOOR, laid.dpVar[j]! + phi * m);
      }
    return sum;
  };
  const n = cases.length + (deaths?.length ?? 0);
  const r0Of = (p: SeirParams) => p.beta / (p.gamma + (p.mu ?? 0));
  // Half the χ²₁ quantile at `level`: a profile likelihood within this of its minimum is inside the interval.
  const cutoff = normalQuantile((1 + level) / 2) ** 2 / 2;
  const notes: string[] = [];
  const identified: SeirFit["identified"] = {};

  // γ free: first its profile likelihood over the plausible infectious periods (β, i0 and the rest refitted at each,
  // each started from its neighbour's optimum moved along the ridge). The profile says whether the data identify γ.
  const others = free.filter((name) => name !== "gamma");
  type ProfilePoint = { gamma: number; params: SeirParams; f: number; delta: number };
  let profile: ProfilePoint[] = [];
  let gammaRange: [number, number] | undefined;
  let edgeR0: number[] = [];
  let best: { space: Space; x: number[]; f: number };
  if (free.includes("gamma")) {
    const [lo, hi] = infectiousDays;
    const days = Array.from({ length: PROFILE_POINTS }, (_, k) => lo * (hi / lo) ** (k / (PROFILE_POINTS - 1)));
    if (days.every((d) => Math.abs(Math.log(d / assumedDays)) > 0.05)) days.push(assumedDays);
    days.sort((a, b) => b - a);
    let previous: SeirParams | undefined;
    for (const d of days) {
      const space = makeSpace(others, { ...held, gamma: 1 / d });
      const starts = gridStarts(space, 1 / d);
      if (previous) starts.push(space.toTheta(alongRidge(previous, 1 / d)));
      const m = minimise(space, starts, 600);
      const params = space.toParams(m.x);
      profile.push({ gamma: 1 / d, params, f: m.f, delta: 0 });
      if (Number.isFinite(m.f)) previous = params;
    }
    profile = profile.filter((q) => Number.isFinite(q.f));
    if (profile.length === 0)
      throw new FitFailedError("no parameters give the series a finite likelihood; is it a daily count of new cases?");
    const top = profile.reduce((a, b) => (b.f < a.f ? b : a));
    // A scatter wider than the error bars say makes the likelihood too sharp: its differences are scaled down by it.
    const scale = Math.max(1, pearsonAt(top.params) / Math.max(1, n - free.length));
    for (const q of profile) q.delta = (q.f - top.f) / scale;
    // The infectious periods the data allow: the profile within the cutoff, its edges interpolated between points.
    profile.sort((a, b) => a.gamma - b.gamma);
    const inside = profile.map((q) => q.delta <= cutoff);
    const first = inside.indexOf(true);
    const last = inside.lastIndexOf(true);
    const edge = (k: number, out: number) => {
      const [a, b] = [profile[k]!, profile[out]];
      if (!b) return { gamma: a.gamma, r0: r0Of(a.params) };
      const t = (cutoff - a.delta) / (b.delta - a.delta);
      return {
        gamma: Math.exp(Math.log(a.gamma) + t * (Math.log(b.gamma) - Math.log(a.gamma))),
        r0: r0Of(a.params) + t * (r0Of(b.params) - r0Of(a.params)),
      };
    };
    const edges = [edge(first, first - 1), edge(last, last + 1)];
    gammaRange = [edges[0]!.gamma, edges[1]!.gamma];
    edgeR0 = edges.map((e) => e.r0);
    identified.gamma = first > 0 && last < profile.length - 1;
    if (identified.gamma) {
      const space = makeSpace(free, held);
      const m = minimise(space, [space.toTheta(top.params)], 800);
      best = m.f <= top.f ? { space, ...m } : { space, x: space.toTheta(top.params), f: top.f };
    } else {
      // Not identified: γ held at the assumed value (within the range the data allow), β and the rest refitted.
      const gamma = Math.min(gammaRange[1], Math.max(gammaRange[0], 1 / assumedDays));
      const space = makeSpace(others, { ...held, gamma });
      const near = profile.reduce((a, b) => (Math.abs(Math.log(b.gamma / gamma)) < Math.abs(Math.log(a.gamma / gamma)) ? b : a));
      const m = minimise(space, [space.toTheta(alongRidge(near.params, gamma)), ...gridStarts(space, gamma)], 600);
      best = { space, ...m };
      const shown = (g: number) => formatDays(1 / g);
      notes.push(
        `γ is not identified by the series: its profile likelihood stays within ${cutoff.toFixed(2)} of its best for infectious periods (1/γ) from ${shown(gammaRange[1])} to ${shown(gammaRange[0])} days, ${gammaRange[0] <= rateBounds.gamma[0] * 1.0001 && gammaRange[1] >= rateBounds.gamma[1] * 0.9999 ? "the whole plausible range" : "reaching the edge of the plausible range"} [${infectiousDays.join(", ")}] (a series still in its early growth fixes the growth rate, not β and γ apart)`,
        gamma === 1 / assumedDays
          ? `1/γ is held at ${shown(gamma)} days (assumedInfectiousDays; fixed.gamma sets another), and the R0 interval spans the infectious periods the data allow`
          : `1/γ is held at ${shown(gamma)} days, the nearest the data allow to the assumed ${formatDays(assumedDays)} days, and the R0 interval spans the infectious periods the data allow`,
      );
    }
  } else {
    const space = makeSpace(free, held);
    const starts = gridStarts(space, held.gamma);
    const ranked = starts.map((theta) => ({ theta, f: space.nll(theta, y0, d0) })).sort((a, b) => a.f - b.f);
    const tries = ranked.slice(0, 2).map((s) => s.theta);
    tries.push(ranked[0]!.theta.map((x) => x + 0.7 * rng.normal()));
    best = { space, x: tries[0]!, f: Infinity };
    for (const theta of tries) {
      const found = minimise(space, [theta], 1000);
      if (found.f < best.f) best = { space, ...found };
    }
  }
  if (!Number.isFinite(best.f))
    throw new FitFailedError("no parameters give the series a finite likelihood; is it a daily count of new cases?");
  const params = best.space.toParams(best.x);
  const r0 = r0Of(params);
  const atBound = (name: string, value: number, [lo, hi]: [number, number]) => {
    if (value <= lo * 1.001 || value >= hi * 0.999) notes.push(`${name} is at the edge of its plausible range [${lo}, ${hi}]`);
  };
  if (identified.gamma) atBound("the infectious period 1/γ (days)", 1 / params.gamma, infectiousDays);
  if (free.includes("sigma")) atBound("the incubation period 1/σ (days)", 1 / params.sigma, incubationDays);
  if (free.includes("beta") && r0 >= maxR0 * 0.999) notes.push(`R0 is at its bound maxR0 = ${maxR0}`);

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
  const dispersion = (caseStats.pearson + (deathStats?.pearson ?? 0)) / Math.max(1, n - free.length);
  const inflate = Math.sqrt(Math.max(1, dispersion));

  // Parametric bootstrap: observations redrawn around the fit and refitted, each from a start perturbed around the
  // estimate (not the estimate itself, which a flat likelihood would barely leave). With γ held, each refit holds γ
  // at a draw (log-uniform) from the range the data allow, so the intervals and the band carry that assumption.
  const r0Draws: number[] = [];
  const paramDraws: Record<string, number[]> = Object.fromEntries(free.map((name) => [name, []]));
  const caseDraws: Float64Array[] = [];
  const deathDraws: Float64Array[] = [];
  const yb = new Float64Array(caseData.y.length);
  const db = deathData ? new Float64Array(deathData.y.length) : undefined;
  const heldGamma = identified.gamma === false ? gammaRange : undefined;
  const bootSpace = makeSpace(best.space.names, best.space.held);
  for (let b = 0; b < bootstrap; b++) {
    for (let j = 0; j < yb.length; j++) yb[j] = Math.max(0, meanCases[caseData.index[j]!]!) + inflate * caseStats.sd[j]! * rng.normal();
    if (db && deathData && deathStats)
      for (let j = 0; j < db.length; j++)
        db[j] = Math.max(0, meanDeaths[deathData.index[j]!]!) + inflate * deathStats.sd[j]! * rng.normal();
    let from = best.x;
    if (heldGamma) {
      bootSpace.held.gamma = heldGamma[0] * (heldGamma[1] / heldGamma[0]) ** rng.next();
      from = bootSpace.toTheta(alongRidge(params, bootSpace.held.gamma));
    }
    const startAt = from.map((x) => x + BOOTSTRAP_JITTER * rng.normal());
    const refit = nelderMead((t) => bootSpace.nll(t, yb, db), startAt, {
      step: 0.15,
      maxEvaluations: 400,
      fTolerance: 1e-5,
      xTolerance: 1e-4,
    });
    if (Number.isFinite(refit.f)) {
      const p = bootSpace.toParams(refit.x);
      r0Draws.push(r0Of(p));
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
  // The R0 interval also holds R0 at every infectious period inside the profile's cutoff (a profile-likelihood
  // interval, its edges interpolated between the profile's points), so a bootstrap that stays near the estimate cannot make it narrower than the likelihood allows.
  const hull = ([a, b]: [number, number], values: number[]): [number, number] => [Math.min(a, ...values), Math.max(b, ...values)];
  const allowed = profile.filter((q) => q.delta <= cutoff);
  let r0Interval = hull(interval(r0Draws, r0), [...allowed.map((q) => r0Of(q.params)), ...edgeR0]);
  if (bootstrap === 0) r0Interval = [r0, r0];
  const paramIntervals: SeirFit["paramIntervals"] = {};
  for (const name of free) paramIntervals[name] = interval(paramDraws[name], params[name]!);
  if (paramIntervals.gamma && gammaRange && bootstrap > 0)
    paramIntervals.gamma = identified.gamma
      ? hull(
          paramIntervals.gamma,
          allowed.map((q) => q.gamma),
        )
      : [Math.min(gammaRange[0], params.gamma), Math.max(gammaRange[1], params.gamma)];
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
    r0Interval,
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
    identified,
    notes,
  };
}
