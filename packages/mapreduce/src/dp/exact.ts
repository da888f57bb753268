// Exact Bernoulli and discrete Laplace draws from uniform integers, shared by the mechanisms: every decision an
// integer comparison (Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy", 2020, alg. 1-2).
import type { Fraction } from "@mosaic/protocol";
import type { UniformInt } from "./uniform.js";

/** Bernoulli(exp(−num/den)) for 0 <= num <= den (CKS alg. 1): the chain of Bernoulli(γ/k) successes has odd length w.p. exp(−γ). */
export function bernoulliExpUnit(num: bigint, den: bigint, rand: UniformInt): boolean {
  let k = 1n;
  while (rand(den * k) < num) k++;
  return (k & 1n) === 1n;
}

/** Bernoulli(exp(−num/den)) for num >= 0, den > 0, unchecked: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)). */
export function bernoulliExpUnchecked(num: bigint, den: bigint, rand: UniformInt): boolean {
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
export function positiveFraction(field: string, f: Fraction): { num: bigint; den: bigint } {
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
export function discreteLaplaceBig(t: bigint, s: bigint, rand: UniformInt): bigint {
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
