/**
 * @packageDocumentation
 *
 * Jobs and their arithmetic: job spec v1 and its validation, map programs (declarative pipelines and
 * sandboxed JavaScript), exact discrete DP mechanisms, reducers and reduce trees, and the ready-job library.
 *
 * @example
 * ```ts
 * import { kmPerDayJob, validateSpec, runMapProgram, privatize, reduceTree } from '@mosaic/mapreduce'
 * const spec = validateSpec(kmPerDayJob(), { now: Math.floor(Date.now() / 1000) })
 * const raw = await runMapProgram(spec, { 'location-history/points': rows })
 * const payload = privatize(raw, spec.output, spec.privacy)
 * ```
 */
export * from "./dp.js";
export * from "./fraud.js";
export * from "./errors.js";
export * from "./kmPerDay.js";
export * from "./library.js";
export * from "./map.js";
export * from "./pipeline.js";
export * from "./reduce.js";
export * from "./sandbox.js";
export * from "./spec.js";
