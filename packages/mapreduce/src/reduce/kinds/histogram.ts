// The `histogram` reducer: one-hot payloads added entry by entry; the aggregate is the count per category.
import { estimateTotals } from "../estimate.js";
import { finalizeChecked, type ReducerKind } from "../kind.js";

export const histogram: ReducerKind<"histogram"> = {
  name: "histogram",
  code: 2,
  check() {},
  stateLength: (_reducer, payloadLength) => payloadLength,
  lift: (_reducer, payload) => payload.slice(),
  finalize: (_reducer, aggregate) => ({ values: aggregate.slice() }),
  edges: () => [],
  estimate: (spec, aggregate, count, variance) =>
    estimateTotals(
      spec,
      () => finalizeChecked(histogram, spec.reducer, aggregate, count, spec.output.entries.length).values,
      aggregate,
      count,
      variance,
    ),
};
