// The table of DP mechanisms, and the public noise functions that look a mechanism up in it. A new mechanism is a
// module implementing DpMechanism added here (and to the job spec's schema and PrivacySpec).
import type { OutputSpec, PrivacySpec } from "@mosaic/protocol";
import { discreteGaussian } from "./gaussian.js";
import { discreteLaplace } from "./laplace.js";
import { BOUNDS_TAIL, type DpMechanism, type MechanismName } from "./mechanism.js";
import { randomizedResponseMechanism } from "./randomized-response.js";
import { clampToOutput, entryRanges } from "./sensitivity.js";
import { cryptoUniform, type UniformInt } from "./uniform.js";

/** Every mechanism by name. */
export const DP_MECHANISMS: { readonly [M in MechanismName]: DpMechanism<M> } = {
  "discrete-laplace": discreteLaplace,
  "discrete-gaussian": discreteGaussian,
  "randomized-response": randomizedResponseMechanism,
};

const NAMES = Object.keys(DP_MECHANISMS);

/** The mechanism of a privacy spec, checked to apply to the output; RangeError naming the field otherwise. */
export function mechanismOf(output: OutputSpec, privacy: PrivacySpec): DpMechanism {
  const name = (privacy as { mechanism?: unknown } | null)?.mechanism;
  if (typeof name !== "string" || !Object.hasOwn(DP_MECHANISMS, name)) {
    throw new RangeError(`privacy.mechanism: expected ${NAMES.slice(0, -1).join(", ")} or ${NAMES.at(-1)}, got ${JSON.stringify(name)}`);
  }
  const mechanism = DP_MECHANISMS[name as MechanismName] as DpMechanism;
  mechanism.validate(output, privacy);
  return mechanism;
}

/**
 * Variance of the additive noise on one entry of one submission: 2p/(1 − p)² with p = exp(−1/scale) for
 * discrete Laplace; the exact discrete Gaussian variance (from the pmf, <= σ²); 0 for randomized response,
 * whose error is not additive (see unbiasRandomizedResponse).
 */
export function noiseVariance(output: OutputSpec, privacy: PrivacySpec): number {
  return mechanismOf(output, privacy).variance(output, privacy);
}

/**
 * Smallest k >= 0 with P(|noise| > k) <= tail for one entry; 0 for randomized response. Laplace uses the
 * closed form P(|X| > k) = 2p^(k+1)/(1 + p). The Gaussian tail is summed from the pmf (cached per σ² and
 * tail); above σ = 10⁴ it uses the bound P(|X| > k) <= 2·exp(−(k+1)²/(2σ²)) (CKS: the discrete Gaussian is
 * σ-sub-Gaussian), which overshoots the smallest k by about σ/2 at the default tail but costs no sum.
 */
export function noiseTailBound(output: OutputSpec, privacy: PrivacySpec, tail = BOUNDS_TAIL): number {
  const mechanism = mechanismOf(output, privacy);
  if (!(tail > 0 && tail < 1)) throw new RangeError(`tail: expected a probability in (0, 1), got ${tail}`);
  return mechanism.tailBound(output, privacy, tail);
}

/**
 * The range each submitted entry lies in: [min − bound, max + bound] with bound = noiseTailBound, or [0, 1]
 * for randomized response (it reports a one-hot). Values outside are clamped by the vault after noising,
 * which is post-processing and keeps the DP guarantee.
 */
export function payloadBounds(output: OutputSpec, privacy: PrivacySpec): { length: number; min: number[]; max: number[] } {
  const mechanism = mechanismOf(output, privacy);
  entryRanges(output);
  return { length: output.entries.length, ...mechanism.payloadBounds(output, privacy) };
}

/**
 * What a vault sends: the map output clamped to its declared shape (clampToOutput: a one-hot output must hold
 * exactly one 1, an output with a declared total must add up to it, else MapOutputShapeError), then privatized. A
 * vector gets independent discrete Laplace or Gaussian noise per entry, clamped to payloadBounds; randomized response
 * reports a category and returns its one-hot, while Laplace or Gaussian noise is added per entry to a one-hot as to
 * a vector.
 */
export function privatize(values: readonly number[], output: OutputSpec, privacy: PrivacySpec, rand: UniformInt = cryptoUniform): number[] {
  const mechanism = mechanismOf(output, privacy);
  const clamped = clampToOutput(values, output);
  return mechanism.privatize(clamped, output, privacy, rand);
}
