// What one user's output can change: the declared range of each entry, the L1 and L2 sensitivities the noise is
// scaled to, and the clamp that makes a map output keep its declared shape.
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
