// What a job costs a person's privacy, as the vault's epsilon ledger charges it: the epsilon the job's noise really
// gives them, in each mode, rounded up so the ledger never charges less than the truth.
import type { Fraction, JobMode, JobSpec } from "@mosaic/protocol";
import { positiveFraction } from "./exact.js";
import { gaussianEpsilon } from "./gaussian.js";
import { mechanismOf } from "./mechanisms.js";
import { l2Sensitivity } from "./sensitivity.js";

/** What one answer to a job costs: (epsilon, delta)-DP, in which mode, and against whom the guarantee holds. */
export interface PrivacyCost {
  epsilon: Fraction;
  /** The discrete Gaussian's δ; absent for the pure ε-DP mechanisms. */
  delta?: Fraction;
  mode: JobMode;
  /** Whom the guarantee is against, in words. */
  against: string;
}

/** Denominator of a computed epsilon: millionths, so ε <= 10 keeps num a safe integer. */
const COST_DEN = 1_000_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** `x` as a fraction of denominator COST_DEN rounded up (with a margin for the double's rounding), reduced. */
function fractionAbove(x: number): Fraction {
  const num = Math.ceil(x * COST_DEN * (1 + 1e-9));
  const g = gcd(num, COST_DEN);
  return { num: num / g, den: COST_DEN / g };
}

/** The smaller of two fractions. */
function smaller(a: Fraction, b: Fraction): Fraction {
  return BigInt(a.num) * BigInt(b.den) <= BigInt(b.num) * BigInt(a.den) ? a : b;
}

/**
 * What answering `spec` costs, for the ledger:
 * - local discrete Laplace and randomized response: the declared ε, against anyone who sees the submission;
 * - local discrete Gaussian: the ε its σ² achieves at the declared δ and the output's L2 sensitivity (the tighter one
 *   a declared total gives), rounded up to a millionth and never above the declared ε (the spec check makes the
 *   declared one an upper bound too);
 * - shared: the ε one aggregator's noise (σ²) achieves alone, the same way: the guarantee if the other aggregator
 *   reveals everything it saw, so it holds against the public and either aggregator unless both collude.
 * RangeError naming the field when the privacy spec cannot apply to the output or the mode.
 */
export function privacyCost(spec: Pick<JobSpec, "output" | "privacy" | "mode">): PrivacyCost {
  const privacy = spec.privacy;
  mechanismOf(spec.output, privacy);
  const declared = privacy.epsilon;
  positiveFraction("privacy.epsilon", declared);
  const mode: JobMode = spec.mode ?? "local";
  if (mode !== "local" && mode !== "shared") throw new RangeError(`mode: expected "local" or "shared", got ${JSON.stringify(mode)}`);
  if (mode === "shared" && privacy.mechanism !== "discrete-gaussian")
    throw new RangeError(
      `privacy.mechanism: a shared job's aggregators add discrete-gaussian noise, got ${JSON.stringify(privacy.mechanism)}`,
    );
  if (privacy.mechanism !== "discrete-gaussian") {
    return { epsilon: { ...declared }, mode, against: "anyone who sees the submission: the vault noises each answer before it leaves" };
  }
  const achieved = fractionAbove(gaussianEpsilon(privacy.sigma2, l2Sensitivity(spec.output), privacy.delta));
  return {
    epsilon: { ...smaller(achieved, declared) },
    delta: { ...privacy.delta },
    mode,
    against:
      mode === "shared"
        ? "the public and either aggregator, as long as the two aggregators do not collude: one aggregator's noise alone gives it"
        : "anyone who sees the submission: the vault noises each answer before it leaves",
  };
}
