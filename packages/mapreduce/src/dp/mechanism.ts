// What a DP mechanism is: the interface each mechanism's module implements (dp/laplace.ts, dp/gaussian.ts,
// dp/randomized-response.ts), registered in dp/mechanisms.ts.
import type { OutputSpec, PrivacySpec } from "@mosaic/protocol";
import type { UniformInt } from "./uniform.js";

/** A mechanism's name, as a job spec writes it. */
export type MechanismName = PrivacySpec["mechanism"];

/** The privacy spec of mechanism `M`. */
export type PrivacyOf<M extends MechanismName> = Extract<PrivacySpec, { mechanism: M }>;

/** The tail probability payload bounds leave out: noise beyond it is clamped (post-processing, still DP). */
export const BOUNDS_TAIL = 1e-9;

/**
 * One local DP mechanism. Callers reach it through dp/mechanisms.ts, which checks the mechanism name and `validate`
 * first; the methods may assume both, and an output clamped to its declared entries.
 */
export interface DpMechanism<M extends MechanismName = MechanismName> {
  readonly name: M;
  /** Throws RangeError when the mechanism cannot apply to this output (randomized response needs one-hot). */
  validate(output: OutputSpec, privacy: PrivacyOf<M>): void;
  /** What a job spec may not ask of the mechanism beyond `validate` (the limits every party enforces), in words. */
  specProblem?(output: OutputSpec, privacy: PrivacyOf<M>): string | undefined;
  /** Variance of the additive noise on one entry of one submission (0 when the error is not additive). */
  variance(output: OutputSpec, privacy: PrivacyOf<M>): number;
  /** Smallest k >= 0 with P(|noise| > k) <= tail for one entry, `tail` in (0, 1). */
  tailBound(output: OutputSpec, privacy: PrivacyOf<M>, tail: number): number;
  /** The range each submitted entry lies in, after noise and the clamp to it. */
  payloadBounds(output: OutputSpec, privacy: PrivacyOf<M>): { min: number[]; max: number[] };
  /** What a vault sends for a map output already clamped to its declared entries (one-hot checked). */
  privatize(clamped: readonly number[], output: OutputSpec, privacy: PrivacyOf<M>, rand: UniformInt): number[];
  /** For a mechanism whose reports are biased: unbiased per-category totals from `n` reports, with standard deviations. */
  unbiasTotals?(totals: readonly number[], n: number, privacy: PrivacyOf<M>): { estimate: number[]; stdDev: number[] };
}

/** Bounds [min − bound, max + bound] per entry, for additive noise whose tail bound is `bound`. */
export function widenedBounds(output: OutputSpec, bound: number): { min: number[]; max: number[] } {
  return { min: output.entries.map((e) => e.min - bound), max: output.entries.map((e) => e.max + bound) };
}

/** Adds `noise()` to each entry and clamps it into `bounds`. */
export function addNoise(clamped: readonly number[], bounds: { min: number[]; max: number[] }, noise: () => number): number[] {
  return clamped.map((v, i) => Math.min(bounds.max[i] as number, Math.max(bounds.min[i] as number, v + noise())));
}
