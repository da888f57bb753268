// The discrete Gaussian mechanism: (ε, δ)-DP integer noise with variance parameter σ² on every entry (CKS alg. 3),
// its exact pmf statistics, and the zCDP accounting a job spec is checked against.
import type { Fraction } from "@mosaic/protocol";
import { bernoulliExpUnchecked, discreteLaplaceBig, positiveFraction } from "./exact.js";
import { addNoise, BOUNDS_TAIL, type DpMechanism, widenedBounds } from "./mechanism.js";
import { l2Sensitivity } from "./sensitivity.js";
import { cryptoUniform, type UniformInt } from "./uniform.js";

/** δ a discrete-Gaussian job may ask for: at most 1e-5. */
export const MAX_DELTA = 1e-5;

/** ⌊√n⌋ for 0 <= n (a float guess, corrected exactly; inputs here are below 2^53 so the guess is within 1). */
function isqrt(n: bigint): bigint {
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/**
 * One draw with P(x) ∝ exp(−x²/(2σ²)) on the integers, σ² = num/den exactly (CKS alg. 3): a discrete Laplace
 * proposal of scale t = ⌊σ⌋ + 1, kept w.p. exp(−(|y| − σ²/t)²/(2σ²)) = exp(−(|y|·d·t − n)²/(2·n·d·t²)).
 */
export function sampleDiscreteGaussian(sigma2: Fraction, rand: UniformInt = cryptoUniform): number {
  const { num: n, den: d } = positiveFraction("sigma2", sigma2);
  const t = isqrt(n / d) + 1n;
  const acceptDen = 2n * n * d * t * t;
  for (;;) {
    const y = discreteLaplaceBig(t, 1n, rand);
    const gap = (y < 0n ? -y : y) * d * t - n;
    if (bernoulliExpUnchecked(gap * gap, acceptDen, rand)) return Number(y);
  }
}

/** Above this σ the direct sums over ±40σ give way to closed forms (see gaussianStats). */
const DIRECT_SUM_MAX_SIGMA = 10_000;

interface GaussianStats {
  sigma2: number;
  /** Σ_x exp(−x²/(2σ²)) over the integers. */
  normalizer: number;
  variance: number;
  /** Terms beyond ±sumLimit are below exp(−800), zero in a double. */
  sumLimit: number;
  tails: Map<number, number>;
}

const gaussianCache = new Map<string, GaussianStats>();

/**
 * Normaliser and variance of the discrete Gaussian, summed directly over |x| <= 40σ + 1 and cached per σ².
 * Above σ = 10⁴ the Poisson-summation forms Z = √(2πσ²), Var = σ² are used: their error is below
 * exp(−2π²σ²), far under a double's precision there.
 */
function gaussianStats(sigma2: Fraction): GaussianStats {
  positiveFraction("sigma2", sigma2);
  const key = `${sigma2.num}/${sigma2.den}`;
  const cached = gaussianCache.get(key);
  if (cached !== undefined) return cached;
  const s2 = sigma2.num / sigma2.den;
  const sigma = Math.sqrt(s2);
  const sumLimit = Math.ceil(40 * sigma) + 1;
  let normalizer = Math.sqrt(2 * Math.PI * s2);
  let variance = s2;
  if (sigma <= DIRECT_SUM_MAX_SIGMA) {
    // Smallest terms first, for accuracy.
    let mass = 0;
    let second = 0;
    for (let x = sumLimit; x >= 1; x--) {
      const w = Math.exp((-x * x) / (2 * s2));
      mass += w;
      second += x * x * w;
    }
    normalizer = 1 + 2 * mass;
    variance = (2 * second) / normalizer;
  }
  const stats: GaussianStats = { sigma2: s2, normalizer, variance, sumLimit, tails: new Map() };
  if (gaussianCache.size >= 256) gaussianCache.clear();
  gaussianCache.set(key, stats);
  return stats;
}

/** P(x) under the discrete Gaussian with σ² = num/den, normalised numerically; 0 off the integers. */
export function discreteGaussianPmf(x: number, sigma2: Fraction): number {
  const stats = gaussianStats(sigma2);
  if (!Number.isInteger(x)) return 0;
  return Math.exp((-x * x) / (2 * stats.sigma2)) / stats.normalizer;
}

/**
 * ε of the discrete Gaussian with variance parameter σ² at L2 sensitivity `l2` and the given δ, through
 * ρ-zCDP: ρ = l2²/(2σ²) (CKS thm. 4; their multivariate correction τ is negligible for σ >= 1 and left out),
 * then ε = ρ + 2·√(ρ·ln(1/δ)).
 */
export function gaussianEpsilon(sigma2: Fraction, l2: number, delta: Fraction): number {
  positiveFraction("sigma2", sigma2);
  if (!Number.isFinite(l2) || l2 < 0) throw new RangeError(`l2: expected a finite sensitivity >= 0, got ${l2}`);
  positiveFraction("delta", delta);
  if (delta.num >= delta.den) throw new RangeError(`delta: expected a fraction in (0, 1), got ${delta.num}/${delta.den}`);
  const rho = (l2 * l2 * sigma2.den) / (2 * sigma2.num);
  return rho + 2 * Math.sqrt(rho * (Math.log(delta.den) - Math.log(delta.num)));
}

/**
 * The smallest integer σ² whose discrete Gaussian gives (ε, δ) at L2 sensitivity `l2` (gaussianEpsilon): from the
 * closed form √ρ = √(ln(1/δ) + ε) − √ln(1/δ), σ² = l2²/(2ρ), rounded up and stepped to the exact smallest integer.
 */
export function gaussianSigma2For(l2: number, epsilon: Fraction, delta: Fraction): Fraction {
  positiveFraction("epsilon", epsilon);
  if (!Number.isFinite(l2) || l2 <= 0) throw new RangeError(`l2: expected a finite sensitivity > 0, got ${l2}`);
  const eps = epsilon.num / epsilon.den;
  const log = Math.log(delta.den) - Math.log(delta.num);
  const rootRho = Math.sqrt(log + eps) - Math.sqrt(log);
  let s2 = Math.max(1, Math.ceil((l2 * l2) / (2 * rootRho * rootRho)));
  if (!Number.isSafeInteger(s2)) throw new RangeError(`epsilon: ${epsilon.num}/${epsilon.den} needs a sigma2 beyond the safe integers`);
  while (s2 > 1 && gaussianEpsilon({ num: s2 - 1, den: 1 }, l2, delta) <= eps) s2--;
  while (gaussianEpsilon({ num: s2, den: 1 }, l2, delta) > eps) s2++;
  return { num: s2, den: 1 };
}

export const discreteGaussian: DpMechanism<"discrete-gaussian"> = {
  name: "discrete-gaussian",
  validate() {},
  specProblem(output, privacy) {
    const { sigma2, delta, epsilon } = privacy;
    if (sigma2.num === 0) return "privacy.sigma2: expected a positive variance";
    // The zCDP bound used here leaves out CKS's multivariate correction, negligible only from σ² = 1 up.
    if (sigma2.num < sigma2.den)
      return `privacy.sigma2: ${sigma2.num}/${sigma2.den} is below 1, where the privacy accounting is not exact; use at least 1`;
    const d = delta.num / delta.den;
    if (!(d > 0 && d <= MAX_DELTA)) return `privacy.delta: ${delta.num}/${delta.den} is outside (0, ${MAX_DELTA}]`;
    const achieved = gaussianEpsilon(sigma2, l2Sensitivity(output), delta);
    if (achieved > epsilon.num / epsilon.den)
      return `privacy.sigma2: ${sigma2.num}/${sigma2.den} gives epsilon ${achieved.toFixed(3)} at this delta, above the declared ${epsilon.num}/${epsilon.den}; raise sigma2`;
    return undefined;
  },
  /** The exact discrete Gaussian variance (from the pmf, <= σ²). */
  variance: (_output, privacy) => gaussianStats(privacy.sigma2).variance,
  /**
   * Summed from the pmf (cached per σ² and tail); above σ = 10⁴ it uses the bound P(|X| > k) <= 2·exp(−(k+1)²/(2σ²))
   * (CKS: the discrete Gaussian is σ-sub-Gaussian), which overshoots the smallest k by about σ/2 at the default tail
   * but costs no sum.
   */
  tailBound(_output, privacy, tail) {
    const stats = gaussianStats(privacy.sigma2);
    const cached = stats.tails.get(tail);
    if (cached !== undefined) return cached;
    let k: number;
    if (Math.sqrt(stats.sigma2) > DIRECT_SUM_MAX_SIGMA) {
      k = Math.max(0, Math.ceil(Math.sqrt(2 * stats.sigma2 * Math.log(2 / tail))) - 1);
    } else {
      // Walk down from where the mass is zero: after adding w(x), mass = Σ_{y >= x} w(y), so P(|X| > x − 1) = 2·mass/Z.
      k = stats.sumLimit;
      let mass = 0;
      for (let x = stats.sumLimit; x >= 1; x--) {
        mass += Math.exp((-x * x) / (2 * stats.sigma2));
        if ((2 * mass) / stats.normalizer > tail) break;
        k = x - 1;
      }
    }
    stats.tails.set(tail, k);
    return k;
  },
  payloadBounds: (output, privacy) => widenedBounds(output, discreteGaussian.tailBound(output, privacy, BOUNDS_TAIL)),
  privatize(clamped, output, privacy, rand) {
    const bounds = discreteGaussian.payloadBounds(output, privacy);
    positiveFraction("privacy.sigma2", privacy.sigma2);
    return addNoise(clamped, bounds, () => sampleDiscreteGaussian(privacy.sigma2, rand));
  },
};
