/**
 * @packageDocumentation
 *
 * Jobs and their arithmetic: job specs, map programs, exact discrete DP noise, reducers and reduce trees.
 *
 * @example
 * ```ts
 * import { kmPerDaySpec, kmPerDay, privatize, specScale, reduceTree } from '@mosaic/mapreduce'
 * const spec = kmPerDaySpec()
 * const km = kmPerDay(points, spec.program.days, spec.program.windowEnd)
 * const payload = privatize(km, spec.output, specScale(spec))
 * ```
 */
export * from "./dp.js";
export * from "./kmPerDay.js";
export * from "./reduce.js";
export * from "./spec.js";
