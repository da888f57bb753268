// The `mean` reducer: a payload lifts to itself and a 1, so the aggregate holds the totals and the count to divide by.
import { estimateRow, noiseNote, PRIVACY_NOISE_BARS, projectEstimates, totalNoiseVariance } from "../estimate.js";
import { checkPayload, finalizeChecked, type ReducerKind } from "../kind.js";

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
  /**
   * Local mode reads the reduced state (sums and count). Shared mode's aggregate is the released sum of the outputs
   * alone (one entry per output entry, noised by the two aggregators), divided by the count of accepted reports.
   */
  estimate: (spec, aggregate, count, variance) => {
    const labels = spec.output.entries.map((e) => e.label);
    let values: number[];
    if (spec.mode === "shared") {
      checkPayload(aggregate, "aggregate");
      if (aggregate.length !== labels.length) throw new RangeError(`aggregate: expected ${labels.length} items, got ${aggregate.length}`);
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${count}`);
      values = aggregate.map((total) => (count === 0 ? Number.NaN : total / count));
    } else {
      values = finalizeChecked(mean, spec.reducer, aggregate, count, labels.length).values;
    }
    const sd = Math.sqrt(totalNoiseVariance(spec, count, variance)) / Math.max(count, 1);
    const { projected, projection } = projectEstimates(spec, values, 1);
    return {
      rows: labels.map((l, i) => estimateRow(l, values[i] as number, sd, projected[i] as number)),
      count,
      confidence: 0.95,
      note: `${noiseNote(spec, count)}, per-participant means`,
      errorBars: PRIVACY_NOISE_BARS,
      projection,
    };
  },
};
