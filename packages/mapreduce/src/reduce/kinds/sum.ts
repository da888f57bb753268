// The `sum` reducer: payloads added entry by entry; the aggregate is the totals.
import { estimateTotals } from "../estimate.js";
import { finalizeChecked, type ReducerKind } from "../kind.js";

export const sum: ReducerKind<"sum"> = {
  name: "sum",
  code: 0,
  check() {},
  stateLength: (_reducer, payloadLength) => payloadLength,
  lift: (_reducer, payload) => payload.slice(),
  finalize: (_reducer, aggregate) => ({ values: aggregate.slice() }),
  edges: () => [],
  estimate: (spec, aggregate, count, variance) =>
    estimateTotals(
      spec,
      () => finalizeChecked(sum, spec.reducer, aggregate, count, spec.output.entries.length).values,
      aggregate,
      count,
      variance,
    ),
};
