// The discrete Laplace mechanism: ε-DP integer noise of scale Δ1/ε on every entry (CKS alg. 2 through dp/exact.ts).
import type { Fraction, OutputSpec } from "@mosaic/protocol";
import { discreteLaplaceBig, positiveFraction } from "./exact.js";
import { addNoise, BOUNDS_TAIL, type DpMechanism, widenedBounds } from "./mechanism.js";
import { l1Sensitivity } from "./sensitivity.js";
import { cryptoUniform, type UniformInt } from "./uniform.js";

/** One draw with P(x) ∝ exp(−|x|/scale) on the integers, scale = num/den > 0. */
export function sampleDiscreteLaplace(scale: Fraction, rand: UniformInt = cryptoUniform): number {
  const { num, den } = positiveFraction("scale", scale);
  return Number(discreteLaplaceBig(num, den, rand));
}

/** P(x) under discrete Laplace of scale num/den: tanh(1/(2·scale))·exp(−|x|/scale); 0 off the integers. */
export function discreteLaplacePmf(x: number, scale: Fraction): number {
  positiveFraction("scale", scale);
  if (!Number.isInteger(x)) return 0;
  const a = scale.den / scale.num;
  return (-Math.expm1(-a) / (1 + Math.exp(-a))) * Math.exp(-Math.abs(x) * a);
}

/** Discrete Laplace scale Δ1/ε for ε-DP, as the exact fraction Δ1·den/num (not reduced). */
export function laplaceScale(output: OutputSpec, epsilon: Fraction): Fraction {
  positiveFraction("epsilon", epsilon);
  const num = l1Sensitivity(output) * epsilon.den;
  if (!Number.isSafeInteger(num)) throw new RangeError(`epsilon: Δ1·den = ${num} is not a safe integer; use a smaller denominator`);
  return { num, den: epsilon.num };
}

export const discreteLaplace: DpMechanism<"discrete-laplace"> = {
  name: "discrete-laplace",
  validate() {},
  /** 2p/(1 − p)² with p = exp(−1/scale). */
  variance(output, privacy) {
    const scale = laplaceScale(output, privacy.epsilon);
    const a = scale.den / scale.num;
    return (2 * Math.exp(-a)) / Math.expm1(-a) ** 2;
  },
  /** From the closed form P(|X| > k) = 2p^(k+1)/(1 + p). */
  tailBound(output, privacy, tail) {
    const scale = laplaceScale(output, privacy.epsilon);
    const a = scale.den / scale.num;
    // ln P(|X| > k) = ln 2 − ln(1 + p) − (k + 1)·a; solve, then step to the exact smallest k the float gives.
    const logTail = (k: number): number => Math.LN2 - Math.log1p(Math.exp(-a)) - (k + 1) * a;
    const target = Math.log(tail);
    let k = Math.max(0, Math.ceil((Math.LN2 - Math.log1p(Math.exp(-a)) - target) / a) - 1);
    while (k > 0 && logTail(k - 1) <= target) k--;
    while (logTail(k) > target) k++;
    return k;
  },
  payloadBounds: (output, privacy) => widenedBounds(output, discreteLaplace.tailBound(output, privacy, BOUNDS_TAIL)),
  privatize(clamped, output, privacy, rand) {
    const bounds = discreteLaplace.payloadBounds(output, privacy);
    const scale = laplaceScale(output, privacy.epsilon);
    return addNoise(clamped, bounds, () => sampleDiscreteLaplace(scale, rand));
  },
};
