// Local differential privacy with exact integer arithmetic: discrete Laplace noise from a CSPRNG, no floats.
// Sampler after Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy" (2020), alg. 1-2.
import { randomInt } from "node:crypto";

/** A source of uniform integers in [0, n). The default is Node's CSPRNG; tests may pass a seeded one. */
export type UniformInt = (n: number) => number;

const cryptoUniform: UniformInt = (n) => randomInt(n);

/** Bernoulli(num/den) for 0 <= num <= den. */
function bernoulli(num: number, den: number, rand: UniformInt): boolean {
  return rand(den) < num;
}

/** Bernoulli(exp(-num/den)) for num/den in [0, 1], exactly. */
function bernoulliExpSmall(num: number, den: number, rand: UniformInt): boolean {
  let k = 1;
  // Count how long a chain of Bernoulli(gamma/k) succeeds; the chain length is odd with prob. exp(-gamma).
  while (bernoulli(num, den * k, rand)) k++;
  return k % 2 === 1;
}

/** Bernoulli(exp(-num/den)) for any num/den >= 0, exactly. */
function bernoulliExp(num: number, den: number, rand: UniformInt): boolean {
  let whole = Math.floor(num / den);
  while (whole-- > 0) if (!bernoulliExpSmall(1, 1, rand)) return false;
  return bernoulliExpSmall(num % den, den, rand);
}

/**
 * One draw from the discrete Laplace distribution with scale s/t: P(x) ∝ exp(-|x|·t/s) on the integers.
 * `s` and `t` are positive safe integers.
 */
export function sampleDiscreteLaplace(s: number, t: number, rand: UniformInt = cryptoUniform): number {
  if (!Number.isSafeInteger(s) || s < 1) throw new RangeError(`s: expected a positive integer, got ${s}`);
  if (!Number.isSafeInteger(t) || t < 1) throw new RangeError(`t: expected a positive integer, got ${t}`);
  // CKS alg. 2 draws P(y) ∝ exp(-|y|·a/b) as floor((U + b·V)/a), U uniform on [0, b), V geometric.
  const a = t;
  const b = s;
  for (;;) {
    const u = rand(b);
    if (!bernoulliExp(u, b, rand)) continue;
    let v = 0;
    while (bernoulliExp(1, 1, rand)) v++;
    const y = Math.floor((u + b * v) / a);
    const negative = bernoulli(1, 2, rand);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/** Noise parameters of a job: discrete Laplace with scale `s/t` = L1 sensitivity / epsilon. */
export interface LaplaceScale {
  s: number;
  t: number;
}

/**
 * Scale for a vector of `length` entries each in [min, max] under epsilon = num/den: the L1 sensitivity of
 * replacing one user's whole vector is length·(max−min).
 */
export function laplaceScale(output: { length: number; min: number; max: number }, epsilon: { num: number; den: number }): LaplaceScale {
  const sensitivity = output.length * (output.max - output.min);
  return { s: sensitivity * epsilon.den, t: epsilon.num };
}

/** Exact probability of `x` under discrete Laplace with scale s/t (for tests and error bars). */
export function discreteLaplacePmf(x: number, scale: LaplaceScale): number {
  const p = Math.exp(-scale.t / scale.s);
  return ((1 - p) / (1 + p)) * p ** Math.abs(x);
}

/** Variance of one discrete Laplace draw: 2p/(1−p)² with p = exp(−t/s). */
export function discreteLaplaceVariance(scale: LaplaceScale): number {
  const p = Math.exp(-scale.t / scale.s);
  return (2 * p) / (1 - p) ** 2;
}

/**
 * The magnitude noise exceeds with probability at most `tail`: P(|X| > k) = 2p^(k+1)/(1+p).
 * Vaults clamp noised values to the declared range widened by this much (post-processing keeps DP).
 */
export function noiseTailBound(scale: LaplaceScale, tail = 1e-9): number {
  const p = Math.exp(-scale.t / scale.s);
  return Math.max(0, Math.ceil(Math.log((tail * (1 + p)) / 2) / Math.log(p) - 1));
}

/** Rounds each entry to an integer and clamps it to the spec's declared [min, max]. */
export function clampToOutput(values: number[], output: { min: number; max: number }): number[] {
  return values.map((v) => Math.min(output.max, Math.max(output.min, Math.round(v))));
}

/** Clamps each entry to [min, max], then adds independent discrete Laplace noise to each. */
export function privatize(
  values: number[],
  output: { min: number; max: number },
  scale: LaplaceScale,
  rand: UniformInt = cryptoUniform,
): number[] {
  const bound = noiseTailBound(scale);
  return clampToOutput(values, output).map((clamped) => {
    const noised = clamped + sampleDiscreteLaplace(scale.s, scale.t, rand);
    return Math.min(output.max + bound, Math.max(output.min - bound, noised));
  });
}
