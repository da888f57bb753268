// What one user's output can change: the declared range of each entry, the structure a job may declare on top (a
// fixed sum), the L1 and L2 sensitivities the noise is scaled to, and the clamp that makes a map output keep its
// declared shape.
import type { OutputSpec } from "@mosaic/protocol";
import { MapOutputShapeError } from "../errors.js";

/** The declared range of each entry, or a RangeError naming the entry. */
export function entryRanges(output: OutputSpec): number[] {
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

/**
 * What a declared fixed sum cannot be, in words, or undefined when the output's structure is consistent: `total` a
 * positive safe integer, every entry's min 0 (entries of a fixed sum are counts of something), and total <= Σ max
 * (else no output could reach it); a one-hot output's total, if declared, is 1.
 */
export function outputStructureProblem(output: OutputSpec): string | undefined {
  const total = output.total;
  if (total === undefined) return undefined;
  if (!Number.isSafeInteger(total) || total < 1) return `output.total: expected a positive integer, got ${String(total)}`;
  if (output.kind === "one-hot" && total !== 1) return `output.total: a one-hot output sums to 1, got ${total}`;
  let maxSum = 0;
  for (const [i, e] of output.entries.entries()) {
    if (e.min !== 0) return `output.entries[${i}]: an output with a fixed total has entries from 0, got min ${e.min}`;
    maxSum += e.max;
  }
  if (total > maxSum) return `output.total: ${total} is more than the entries' maxima add up to (${maxSum})`;
  return undefined;
}

/** The fixed sum every honest output has: the declared `total`, 1 for one-hot; undefined when none is declared. */
export function outputTotal(output: OutputSpec): number | undefined {
  return output.kind === "one-hot" ? 1 : output.total;
}

/** The declared total, checked (outputStructureProblem), or undefined; RangeError naming the field otherwise. */
function checkedTotal(output: OutputSpec): number | undefined {
  const problem = outputStructureProblem(output);
  if (problem !== undefined) throw new RangeError(problem);
  return outputTotal(output);
}

/**
 * L1 sensitivity of replacing one user's output: Σ(max − min), or 2·total when a fixed sum is declared and that is
 * smaller (two non-negative vectors of sum T differ by at most T in their positive and T in their negative parts);
 * 2 for one-hot (a 1 moves).
 */
export function l1Sensitivity(output: OutputSpec): number {
  const ranges = entryRanges(output);
  const total = checkedTotal(output);
  const perEntry = ranges.reduce((a, r) => a + r, 0);
  return total === undefined ? perEntry : Math.min(perEntry, 2 * total);
}

/**
 * L2 sensitivity of replacing one user's output: √Σ(max − min)², or √2·total when a fixed sum is declared and that
 * is smaller (the positive and negative parts of the difference each have L2 norm at most their L1 norm, T); √2 for
 * one-hot.
 */
export function l2Sensitivity(output: OutputSpec): number {
  const ranges = entryRanges(output);
  const total = checkedTotal(output);
  const perEntry = Math.sqrt(ranges.reduce((a, r) => a + r * r, 0));
  return total === undefined ? perEntry : Math.min(perEntry, Math.SQRT2 * total);
}

/**
 * Rounds each entry to an integer and clamps entry i into [entries[i].min, entries[i].max]. An output with a fixed
 * sum (declared `total`, or one-hot) is checked instead of forced: a negative entry, or clamped entries that do not
 * add up to the total, is a MapOutputShapeError naming the entry or the sum, since clamping alone could not make
 * it one of the outputs the noise was scaled for.
 */
export function clampToOutput(values: readonly number[], output: OutputSpec): number[] {
  entryRanges(output);
  const total = checkedTotal(output);
  const entries = output.entries;
  if (!Array.isArray(values) || values.length !== entries.length) {
    throw new MapOutputShapeError(
      `map output: expected ${entries.length} entries, got ${Array.isArray(values) ? values.length : typeof values}`,
    );
  }
  const clamped = values.map((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new MapOutputShapeError(`map output[${i}]: expected a finite number, got ${String(v)}`);
    const e = entries[i] as { min: number; max: number };
    const rounded = Math.round(v);
    if (total !== undefined && rounded < 0)
      throw new MapOutputShapeError(`map output[${i}]: an output that sums to ${total} has no negative entries, got ${v}`);
    return Math.min(e.max, Math.max(e.min, rounded));
  });
  if (total !== undefined) {
    const sum = clamped.reduce((a, b) => a + b, 0);
    if (sum !== total) {
      throw new MapOutputShapeError(
        output.kind === "one-hot"
          ? `map output: a one-hot output needs exactly one 1 and the rest 0, got [${clamped.join(", ")}] (sum ${sum})`
          : `map output: the entries must sum to ${total}, got sum ${sum} in [${clamped.join(", ")}]`,
      );
    }
  }
  return clamped;
}
