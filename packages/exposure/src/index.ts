/**
 * @packageDocumentation
 *
 * Exposure notification: GAEN-compatible ephemeral identifiers (Temporary Exposure Keys, Rolling Proximity
 * Identifiers, Associated Encrypted Metadata) derived from the vault's seed, matching of published keys against a
 * device's scans with the GAEN v2 risk model (or SafeTrace's (δ, τ) rule), the signed documents a health authority
 * publishes (key batches, risk configuration, hotspot sets), the anonymous key upload, an OPRF-based private
 * hotspot check (RFC 9497, ristretto255), and a town simulator with ground truth. Runs in Node and in browsers.
 *
 * @example
 * ```ts
 * import { exposureRootFromSeed, advertisementAt, matchKeys, scoreExposure } from '@mosaic/exposure'
 * const root = exposureRootFromSeed(rootSeed)
 * await radio.advertise(advertisementAt(root, now, -8))
 * const windows = matchKeys(publishedKeys, scans)
 * const result = scoreExposure(windows, riskConfig)   // { level, days, advice }
 * ```
 */
export * from "./batch.js";
export * from "./errors.js";
export * from "./gaen.js";
export * from "./match.js";
export * from "./psi.js";
export * from "./risk.js";
export * from "./signed.js";
export * from "./simulate.js";
export * from "./types.js";
export * from "./upload.js";
