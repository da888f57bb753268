// The `mean` reducer: a payload lifts to itself and a 1, so the aggregate holds the totals and the count to divide by.
import { estimateRow, noiseNote } from "../estimate.js";
import { finalizeChecked, type ReducerKind } from "../kind.js";

export const mean: ReducerKind<"mean"> = {
  name: "mean",
  code: 3,
  check() {},
  stateLength: (_reducer, payloadLength) => payloadLength + 1,
  lift: (_reducer, payload) => {
    const state = payload.slice();
    state.push(1);
    return state;
  },
  /** The per-entry sums divided by the count in the state's last entry (NaN with no submissions). */
  finalize: (_reducer, aggregate, _count, payloadLength) => {
    const n = aggregate[payloadLength] as number;
    if (n < 0) throw new RangeError(`aggregate[${payloadLength}]: expected a non-negative count, got ${n}`);
    return { values: aggregate.slice(0, payloadLength).map((total) => (n === 0 ? Number.NaN : total / n)) };
  },
  edges: () => [],
  estimate: (spec, aggregate, count, variance) => {
    const labels = spec.output.entries.map((e) => e.label);
    const values = finalizeChecked(mean, spec.reducer, aggregate, count, labels.length).values;
    const sd = Math.sqrt(variance / Math.max(count, 1));
    return {
      rows: labels.map((l, i) => estimateRow(l, values[i] as number, sd)),
      count,
      confidence: 0.95,
      note: `${noiseNote(spec, count)}, per-participant means`,
    };
  },
};
