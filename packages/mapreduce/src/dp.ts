// Local differential privacy with exact arithmetic: every sampling decision is an integer comparison against a
// uniform integer, never a float. Samplers after Canonne, Kamath & Steinke, "The Discrete Gaussian for
// Differential Privacy" (2020), alg. 1-3; floats appear only in the pmf, variance, tail and epsilon helpers.
import { randomFillSync } from "node:crypto";
import type { Fraction, OutputSpec, PrivacySpec } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { MapOutputShapeError } from "./errors.js";

/** Uniform integer in [0, n) for a positive bigint n. */
export type UniformInt = (n: bigint) => bigint;

const TWO_32 = 2 ** 32;
const TWO_48 = 2n ** 48n;

/** Bits needed to write m, for 0 <= m < 2^48. */
function bitLength(m: number): number {
  return m < TWO_32 ? 32 - Math.clz32(m) : 64 - Math.clz32(Math.floor(m / TWO_32));
}

/**
 * A uniform source over a byte stream: draws the fewest whole bytes that cover n − 1, masks the top byte to
 * the bit length and rejects values ≥ n (acceptance ≥ 1/2), so every n is hit with exactly equal probability.
 * Below 2^48 the candidate is built in a double (exact up to 2^53) to spare the bigint work.
 */
function uniformFromBytes(refill: (pool: Uint8Array) => void, poolSize: number): UniformInt {
  const pool = new Uint8Array(poolSize);
  let pos = poolSize;
  const next = (): number => {
    if (pos === poolSize) {
      refill(pool);
      pos = 0;
    }
    return pool[pos++] as number;
  };
  return (n) => {
    if (typeof n !== "bigint" || n <= 0n) throw new RangeError(`n: expected a positive bigint, got ${String(n)}`);
    if (n <= TWO_48) {
      const max = Number(n) - 1;
      if (max === 0) return 0n;
      const bits = bitLength(max);
      const bytes = (bits + 7) >> 3;
      const topMask = 0xff >> (bytes * 8 - bits);
      for (;;) {
        let x = next() & topMask;
        for (let i = 1; i < bytes; i++) x = x * 256 + next();
        if (x <= max) return BigInt(x);
      }
    }
    const max = n - 1n;
    const bits = max.toString(2).length;
    const bytes = (bits + 7) >> 3;
    const topMask = 0xff >> (bytes * 8 - bits);
    for (;;) {
      let x = BigInt(next() & topMask);
      for (let i = 1; i < bytes; i++) x = (x << 8n) | BigInt(next());
      if (x <= max) return x;
    }
  };
}

/** Node's CSPRNG, read through a 4 KiB pool (as `crypto.randomInt` does) so small draws stay cheap. */
export const cryptoUniform: UniformInt = uniformFromBytes((pool) => randomFillSync(pool), 4096);

/**
 * A deterministic stream for tests and benchmarks: block i is sha256(key ‖ i as u64 big-endian) with
 * key = sha256("mosaic/dp/seededUniform/v1:" ‖ seed), fed to the same unbiased rejection as cryptoUniform.
 * Never use it for real submissions: anyone who knows the seed knows the noise.
 */
export function seededUniform(seed: string): UniformInt {
  if (typeof seed !== "string") throw new TypeError(`seed: expected a string, got ${typeof seed}`);
  const input = new Uint8Array(40);
  input.set(sha256(utf8ToBytes(`mosaic/dp/seededUniform/v1:${seed}`)));
  const view = new DataView(input.buffer);
  let counter = 0n;
  return uniformFromBytes((pool) => {
    for (let at = 0; at < pool.length; at += 32) {
      view.setBigUint64(32, counter++);
      pool.set(sha256(input), at);
    }
  }, 256);
}

/** Bernoulli(exp(−num/den)) for 0 <= num <= den (CKS alg. 1): the chain of Bernoulli(γ/k) successes has odd length w.p. exp(−γ). */
function bernoulliExpUnit(num: bigint, den: bigint, rand: UniformInt): boolean {
  let k = 1n;
  while (rand(den * k) < num) k++;
  return (k & 1n) === 1n;
}

/** Bernoulli(exp(−num/den)) for num >= 0, den > 0, unchecked: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)). */
function bernoulliExpUnchecked(num: bigint, den: bigint, rand: UniformInt): boolean {
  for (let whole = num / den; whole > 0n; whole--) if (!bernoulliExpUnit(1n, 1n, rand)) return false;
  return bernoulliExpUnit(num % den, den, rand);
}

/** Exact Bernoulli(exp(−num/den)) for num >= 0, den > 0. */
export function bernoulliExp(num: bigint, den: bigint, rand: UniformInt): boolean {
  if (typeof num !== "bigint" || num < 0n) throw new RangeError(`num: expected a non-negative bigint, got ${String(num)}`);
  if (typeof den !== "bigint" || den <= 0n) throw new RangeError(`den: expected a positive bigint, got ${String(den)}`);
  return bernoulliExpUnchecked(num, den, rand);
}

/** A fraction's parts as bigints, or a RangeError naming the field. */
function positiveFraction(field: string, f: Fraction): { num: bigint; den: bigint } {
  if (typeof f !== "object" || f === null || !Number.isSafeInteger(f.num) || !Number.isSafeInteger(f.den) || f.num <= 0 || f.den <= 0) {
    throw new RangeError(
      `${field}: expected a positive fraction, got ${f === null || typeof f !== "object" ? String(f) : `${f.num}/${f.den}`}`,
    );
  }
  return { num: BigInt(f.num), den: BigInt(f.den) };
}

/**
 * Discrete Laplace with scale t/s, i.e. P(y) ∝ exp(−|y|·s/t), as a bigint (CKS alg. 2): y = ⌊(U + t·V)/s⌋ with
 * U uniform on [0, t) kept w.p. exp(−U/t) and V geometric with ratio exp(−1); a random sign, rejecting −0.
 */
function discreteLaplaceBig(t: bigint, s: bigint, rand: UniformInt): bigint {
  for (;;) {
    const u = rand(t);
    if (!bernoulliExpUnit(u, t, rand)) continue;
    let v = 0n;
    while (bernoulliExpUnit(1n, 1n, rand)) v++;
    const y = (u + t * v) / s;
    const negative = rand(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** One draw with P(x) ∝ exp(−|x|/scale) on the integers, scale = num/den > 0. */
export function sampleDiscreteLaplace(scale: Fraction, rand: UniformInt = cryptoUniform): number {
  const { num, den } = positiveFraction("scale", scale);
  return Number(discreteLaplaceBig(num, den, rand));
}

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

/** P(x) under discrete Laplace of scale num/den: tanh(1/(2·scale))·exp(−|x|/scale); 0 off the integers. */
export function discreteLaplacePmf(x: number, scale: Fraction): number {
  positiveFraction("scale", scale);
  if (!Number.isInteger(x)) return 0;
  const a = scale.den / scale.num;
  return (-Math.expm1(-a) / (1 + Math.exp(-a))) * Math.exp(-Math.abs(x) * a);
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

/** Probabilities of k-ary randomized response: `keep` for the true category, `other` for each other one. */
export function randomizedResponseProbabilities(k: number, epsilon: Fraction): { keep: number; other: number } {
  checkCategories(k);
  positiveFraction("epsilon", epsilon);
  // Written with e^−ε so a large ε cannot overflow.
  const back = Math.exp(-epsilon.num / epsilon.den);
  const total = 1 + (k - 1) * back;
  return { keep: 1 / total, other: back / total };
}

/** The declared range of each entry, or a RangeError naming the entry. */
function entryRanges(output: OutputSpec): number[] {
  if (output.kind !== "vector" && output.kind !== "one-hot") {
    throw new RangeError(`output.kind: expected "vector" or "one-hot", got ${JSON.stringify(output.kind)}`);
  }
  if (!Array.isArray(output.entries) || output.entries.length === 0) {
    throw new RangeError(`output.entries: expected at least one entry, got ${output.entries?.length ?? 0}`);
  }
  return output.entries.map((e, i) => {
    if (!Number.isSafeInteger(e.min) || !Number.isSafeInteger(e.max) || e.min > e.max) {
      throw new RangeError(`output.entries[${i}]: expected integers min <= max, got [${e.min}, ${e.max}]`);
    }
    return e.max - e.min;
  });
}

/** L1 sensitivity of replacing one user's output: Σ(max − min) for a vector; 2 for one-hot (a 1 moves). */
export function l1Sensitivity(output: OutputSpec): number {
  const ranges = entryRanges(output);
  return output.kind === "one-hot" ? 2 : ranges.reduce((a, r) => a + r, 0);
}

/** L2 sensitivity of replacing one user's output: √Σ(max − min)² for a vector; √2 for one-hot. */
export function l2Sensitivity(output: OutputSpec): number {
  const ranges = entryRanges(output);
  return output.kind === "one-hot" ? Math.SQRT2 : Math.sqrt(ranges.reduce((a, r) => a + r * r, 0));
}

/** Discrete Laplace scale Δ1/ε for ε-DP, as the exact fraction Δ1·den/num (not reduced). */
export function laplaceScale(output: OutputSpec, epsilon: Fraction): Fraction {
  positiveFraction("epsilon", epsilon);
  const num = l1Sensitivity(output) * epsilon.den;
  if (!Number.isSafeInteger(num)) throw new RangeError(`epsilon: Δ1·den = ${num} is not a safe integer; use a smaller denominator`);
  return { num, den: epsilon.num };
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

/** Throws if the mechanism cannot apply to the output's kind: randomized response needs one-hot. */
function checkPairing(output: OutputSpec, privacy: PrivacySpec): void {
  const mechanism = (privacy as { mechanism?: unknown } | null)?.mechanism;
  if (mechanism !== "discrete-laplace" && mechanism !== "discrete-gaussian" && mechanism !== "randomized-response") {
    throw new RangeError(
      `privacy.mechanism: expected discrete-laplace, discrete-gaussian or randomized-response, got ${JSON.stringify(mechanism)}`,
    );
  }
  if (mechanism === "randomized-response" && output.kind !== "one-hot") {
    throw new RangeError(`privacy.mechanism: randomized-response needs a one-hot output, got output.kind ${JSON.stringify(output.kind)}`);
  }
}

/**
 * Variance of the additive noise on one entry of one submission: 2p/(1 − p)² with p = exp(−1/scale) for
 * discrete Laplace; the exact discrete Gaussian variance (from the pmf, <= σ²); 0 for randomized response,
 * whose error is not additive (see unbiasRandomizedResponse).
 */
export function noiseVariance(output: OutputSpec, privacy: PrivacySpec): number {
  checkPairing(output, privacy);
  if (privacy.mechanism === "randomized-response") return 0;
  if (privacy.mechanism === "discrete-gaussian") return gaussianStats(privacy.sigma2).variance;
  const scale = laplaceScale(output, privacy.epsilon);
  const a = scale.den / scale.num;
  return (2 * Math.exp(-a)) / Math.expm1(-a) ** 2;
}

/**
 * Smallest k >= 0 with P(|noise| > k) <= tail for one entry; 0 for randomized response. Laplace uses the
 * closed form P(|X| > k) = 2p^(k+1)/(1 + p). The Gaussian tail is summed from the pmf (cached per σ² and
 * tail); above σ = 10⁴ it uses the bound P(|X| > k) <= 2·exp(−(k+1)²/(2σ²)) (CKS: the discrete Gaussian is
 * σ-sub-Gaussian), which overshoots the smallest k by about σ/2 at the default tail but costs no sum.
 */
export function noiseTailBound(output: OutputSpec, privacy: PrivacySpec, tail = 1e-9): number {
  checkPairing(output, privacy);
  if (!(tail > 0 && tail < 1)) throw new RangeError(`tail: expected a probability in (0, 1), got ${tail}`);
  if (privacy.mechanism === "randomized-response") return 0;
  if (privacy.mechanism === "discrete-laplace") {
    const scale = laplaceScale(output, privacy.epsilon);
    const a = scale.den / scale.num;
    // ln P(|X| > k) = ln 2 − ln(1 + p) − (k + 1)·a; solve, then step to the exact smallest k the float gives.
    const logTail = (k: number): number => Math.LN2 - Math.log1p(Math.exp(-a)) - (k + 1) * a;
    const target = Math.log(tail);
    let k = Math.max(0, Math.ceil((Math.LN2 - Math.log1p(Math.exp(-a)) - target) / a) - 1);
    while (k > 0 && logTail(k - 1) <= target) k--;
    while (logTail(k) > target) k++;
    return k;
  }
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
}

/**
 * The range each submitted entry lies in: [min − bound, max + bound] with bound = noiseTailBound, or [0, 1]
 * for randomized response (it reports a one-hot). Values outside are clamped by the vault after noising,
 * which is post-processing and keeps the DP guarantee.
 */
export function payloadBounds(output: OutputSpec, privacy: PrivacySpec): { length: number; min: number[]; max: number[] } {
  checkPairing(output, privacy);
  entryRanges(output);
  const bound = noiseTailBound(output, privacy);
  const entries = output.entries;
  return {
    length: entries.length,
    min: entries.map((e) => (privacy.mechanism === "randomized-response" ? 0 : e.min - bound)),
    max: entries.map((e) => (privacy.mechanism === "randomized-response" ? 1 : e.max + bound)),
  };
}

/** Rounds each entry to an integer and clamps entry i into [entries[i].min, entries[i].max]. */
export function clampToOutput(values: readonly number[], output: OutputSpec): number[] {
  entryRanges(output);
  const entries = output.entries;
  if (!Array.isArray(values) || values.length !== entries.length) {
    throw new MapOutputShapeError(
      `map output: expected ${entries.length} entries, got ${Array.isArray(values) ? values.length : typeof values}`,
    );
  }
  return values.map((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new MapOutputShapeError(`map output[${i}]: expected a finite number, got ${String(v)}`);
    const e = entries[i] as { min: number; max: number };
    return Math.min(e.max, Math.max(e.min, Math.round(v)));
  });
}

/**
 * What a vault sends: the map output clamped to its declared shape, then privatized. A vector gets
 * independent discrete Laplace or Gaussian noise per entry, clamped to payloadBounds. A one-hot output must
 * hold exactly one 1 after clamping; randomized response reports a category and returns its one-hot, while
 * Laplace or Gaussian noise is added per entry as for a vector.
 */
export function privatize(values: readonly number[], output: OutputSpec, privacy: PrivacySpec, rand: UniformInt = cryptoUniform): number[] {
  checkPairing(output, privacy);
  const clamped = clampToOutput(values, output);
  if (output.kind === "one-hot") {
    const ones = clamped.filter((v) => v === 1).length;
    const zeros = clamped.filter((v) => v === 0).length;
    if (ones !== 1 || zeros !== clamped.length - 1) {
      throw new MapOutputShapeError(`map output: a one-hot output needs exactly one 1 and the rest 0, got [${clamped.join(", ")}]`);
    }
    if (privacy.mechanism === "randomized-response") {
      const reported = randomizedResponse(clamped.indexOf(1), clamped.length, privacy.epsilon, rand);
      return clamped.map((_, i) => (i === reported ? 1 : 0));
    }
  }
  const bounds = payloadBounds(output, privacy);
  let noise: () => number;
  if (privacy.mechanism === "discrete-gaussian") {
    positiveFraction("privacy.sigma2", privacy.sigma2);
    noise = () => sampleDiscreteGaussian(privacy.sigma2, rand);
  } else {
    const scale = laplaceScale(output, privacy.epsilon);
    noise = () => sampleDiscreteLaplace(scale, rand);
  }
  return clamped.map((v, i) => Math.min(bounds.max[i] as number, Math.max(bounds.min[i] as number, v + noise())));
}

/**
 * Unbiased estimates of the true category counts from n randomized-response reports whose per-category
 * tallies are `counts`: (c − n·q)/(p − q), with p = keep and q = other. Its standard deviation is
 * √(n·π̂(1 − π̂))/(p − q), with π̂ = c/n the observed report proportion (clamped to [0, 1]) plugged into the
 * binomial variance of c.
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
  return {
    estimate: counts.map((c) => (c - n * q) / gap),
    stdDev: counts.map((c) => {
      if (n === 0) return 0;
      const share = Math.min(1, Math.max(0, c / n));
      return Math.sqrt(n * share * (1 - share)) / gap;
    }),
  };
}
