// Sketch edges for the `quantile` reducer: DDSketch's relative-accuracy buckets, cut at integers.

/** Lets γa round up to the integer it means when floating point lands just below it (one part in 10^12). */
const ROUNDING_SLACK = 1 + 1e-12;

/** The most edges `ddsketchEdges` returns: a sketch's state is posted on-chain, so a bigger one is a mistake. */
export const MAX_SKETCH_EDGES = 10_000;

/**
 * Integer sketch edges for a `quantile` reducer covering the integers of [min, max] with DDSketch's relative
 * accuracy α: with γ = (1+α)/(1−α), every finite bucket's integers a..b−1 span a ratio (b−1)/a ≤ γ (mirrored for
 * negatives), so each is within α of the bucket's representative 2a(b−1)/(a+b−1), and finalizeResult's
 * interpolated estimate is within γ−1 = 2α/(1−α) of the true quantile. Edges grow as b = ⌊γa⌋ + 1, which is
 * linear (width 1, exact) near zero where γa < a + 1 and geometric beyond; 0 gets a bucket of its own. The result is
 * strictly increasing (no duplicates), edges[0] ≤ min and the last edge exceeds max, so values in [min, max] never
 * fall in the open-ended buckets. Throws RangeError beyond MAX_SKETCH_EDGES edges: raise α or narrow the range.
 * Mind the state size too: payloadLength × (edges.length + 1) entries go on-chain, and the job-spec validator caps it.
 *
 * @example ddsketchEdges(-5, 5, 0.2) // [-6, -3, -1, 0, 1, 2, 4, 7]: γ = 1.5, buckets {-6..-4} {-3,-2} {-1} {0} {1} {2,3} {4..6}
 */
export function ddsketchEdges(min: number, max: number, relativeAccuracy: number): number[] {
  if (!Number.isSafeInteger(min)) throw new RangeError(`min: expected a safe integer, got ${min}`);
  if (!Number.isSafeInteger(max) || max < min) throw new RangeError(`max: expected a safe integer ≥ min (${min}), got ${max}`);
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1))
    throw new RangeError(`relativeAccuracy: expected a number in (0, 1), got ${relativeAccuracy}`);
  const gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
  // (1.2/0.8 is 1.4999999999999998 in floating point: without slack ⌊1.5·2⌋ would come out 2.)
  let total = 0;
  // Magnitudes from `from` (≥ 1) until the first one above `to`.
  const climb = (from: number, to: number): number[] => {
    const out = [from];
    for (let m = from; m <= to; ) {
      m = Math.floor(gamma * m * ROUNDING_SLACK) + 1;
      if (!Number.isSafeInteger(m)) throw new RangeError(`ddsketchEdges: an edge beyond ${to} is not a safe integer; narrow the range`);
      out.push(m);
      if (++total + 2 > MAX_SKETCH_EDGES)
        throw new RangeError(
          `ddsketchEdges: more than ${MAX_SKETCH_EDGES} edges for [${min}, ${max}] at relativeAccuracy ${relativeAccuracy}; raise it or narrow the range`,
        );
    }
    return out;
  };
  // A negative bucket mirrors a positive one: integers -(b-1)..-a are the bucket [1-b, 1-a).
  const mirror = (magnitudes: number[]) => magnitudes.map((m) => 1 - m).reverse();
  if (min > 0) return climb(min, max);
  if (max < 0) return mirror(climb(-max, -min));
  return [...mirror(climb(1, -min)), ...climb(1, max)];
}
