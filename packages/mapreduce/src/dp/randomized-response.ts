// k-ary randomized response: ε-DP for one-hot outputs by reporting the true category or another one, and the
// unbiasing of the reported counts.
import type { Fraction } from "@mosaic/protocol";
import { bernoulliExpUnchecked, positiveFraction } from "./exact.js";
import type { DpMechanism } from "./mechanism.js";
import { cryptoUniform, type UniformInt } from "./uniform.js";

function checkCategories(k: number): void {
  if (!Number.isSafeInteger(k) || k < 2) throw new RangeError(`k: expected an integer number of categories >= 2, got ${k}`);
}

/**
 * k-ary randomized response: returns `category` w.p. e^ε/(e^ε + k − 1) and each other category w.p.
 * 1/(e^ε + k − 1). Exactly: a uniform proposal is kept if it is the category, else w.p. exp(−ε), else redrawn.
 */
export function randomizedResponse(category: number, k: number, epsilon: Fraction, rand: UniformInt = cryptoUniform): number {
  checkCategories(k);
  if (!Number.isSafeInteger(category) || category < 0 || category >= k) {
    throw new RangeError(`category: expected an integer in [0, ${k}), got ${category}`);
  }
  const { num, den } = positiveFraction("epsilon", epsilon);
  const categories = BigInt(k);
  for (;;) {
    const y = Number(rand(categories));
    if (y === category || bernoulliExpUnchecked(num, den, rand)) return y;
  }
}

/** Probabilities of k-ary randomized response: `keep` for the true category, `other` for each other one. */
export function randomizedResponseProbabilities(k: number, epsilon: Fraction): { keep: number; other: number } {
  checkCategories(k);
  positiveFraction("epsilon", epsilon);
  // Written with e^−ε so a large ε cannot overflow.
  const back = Math.exp(-epsilon.num / epsilon.den);
  const total = 1 + (k - 1) * back;
  return { keep: 1 / total, other: back / total };
}

/**
 * Unbiased estimates of the true category counts from n randomized-response reports whose per-category
 * tallies are `counts`: (c − n·q)/(p − q), with p = keep and q = other.
 *
 * Its standard deviation covers the privacy noise only, given who answered (the rule every mechanism's error bars
 * follow; population sampling is not included): with t the true count of category j, its tally c is a sum of t
 * Bernoulli(p) and n − t Bernoulli(q) reports, so Var(estimate) = (t·p(1 − p) + (n − t)·q(1 − q))/(p − q)², with t
 * the unbiased estimate clamped to [0, n] plugged in.
 */
export function unbiasRandomizedResponse(
  counts: readonly number[],
  n: number,
  epsilon: Fraction,
): { estimate: number[]; stdDev: number[] } {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n: expected a non-negative integer count of reports, got ${n}`);
  counts.forEach((c, i) => {
    if (!Number.isFinite(c)) throw new RangeError(`counts[${i}]: expected a finite count, got ${c}`);
  });
  const { keep: p, other: q } = randomizedResponseProbabilities(counts.length, epsilon);
  const gap = p - q;
  const estimate = counts.map((c) => (c - n * q) / gap);
  return {
    estimate,
    stdDev: estimate.map((e) => {
      const t = Math.min(n, Math.max(0, e));
      return Math.sqrt(t * p * (1 - p) + (n - t) * q * (1 - q)) / gap;
    }),
  };
}

export const randomizedResponseMechanism: DpMechanism<"randomized-response"> = {
  name: "randomized-response",
  validate(output) {
    if (output.kind !== "one-hot")
      throw new RangeError(`privacy.mechanism: randomized-response needs a one-hot output, got output.kind ${JSON.stringify(output.kind)}`);
  },
  /** 0: the error is not additive (see unbiasRandomizedResponse). */
  variance: () => 0,
  tailBound: () => 0,
  /** [0, 1]: it reports a one-hot. */
  payloadBounds: (output) => ({ min: output.entries.map(() => 0), max: output.entries.map(() => 1) }),
  privatize(clamped, _output, privacy, rand) {
    const reported = randomizedResponse(clamped.indexOf(1), clamped.length, privacy.epsilon, rand);
    return clamped.map((_, i) => (i === reported ? 1 : 0));
  },
  unbiasTotals: (totals, n, privacy) => unbiasRandomizedResponse(totals, n, privacy.epsilon),
};
