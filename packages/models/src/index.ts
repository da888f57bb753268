/**
 * @packageDocumentation
 * Epidemic models fitted to Mosaic's job results: SEIR and SEIRD integrated with RK4, fitted by maximum likelihood
 * to daily counts that carry differential-privacy error bars, with a forecast and an uncertainty band from a
 * parametric bootstrap. Pure TypeScript, no dependencies: runs in Node and in browsers.
 *
 * @example
 * ```ts
 * import { fitSeir, seriesFromResults, simulateSeir } from "@mosaic/models";
 * const truth = simulateSeir({ population: 1e5, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 5, e0: 20, i0: 10, reportRate: 1 }, 120);
 * const cases = truth.incidence.map((value, k) => ({ day: 20_000 + k, value, sd: 10 }));
 * const fit = fitSeir({ cases }, { population: 1e5, horizonDays: 28 });
 * console.log(fit.r0, fit.r0Interval, fit.forecast.at(-1));
 * ```
 */
export * from "./errors.js";
export { type Observation, type SeirFit, type SeirFitOptions, type SeirForecastDay, fitSeir } from "./fit.js";
export { type Minimum, type NelderMeadOptions, nelderMead } from "./optimize.js";
export { normalQuantile, type Random, seededRandom } from "./random.js";
export {
  basicReproduction,
  checkSeirParams,
  growthRate,
  MAX_DAYS,
  STEPS_PER_DAY,
  type SeirParams,
  type SeirTrajectory,
  simulateSeir,
} from "./seir.js";
export { dayIso, isoDay, labelDay, type ResultLike, type SeriesOptions, seriesFromResults } from "./series.js";
