// The `sum` reducer: payloads added entry by entry; the aggregate is the totals.
import { estimateTotals } from "../estimate.js";
import { finalizeChecked, type ReducerKind } from "../kind.js";

/** A kind whose state is the payloads added entry by entry and whose aggregate is those totals (sum, histogram). */
export function totalsKind<K extends "sum" | "histogram">(name: K, code: number): ReducerKind<K> {
  const kind: ReducerKind<K> = {
    name,
    code,
    check() {},
    stateLength: (_reducer, payloadLength) => payloadLength,
    lift: (_reducer, payload) => payload.slice(),
    finalize: (_reducer, aggregate) => ({ values: aggregate.slice() }),
    edges: () => [],
    estimate: (spec, aggregate, count, variance) =>
      estimateTotals(
        spec,
        () => finalizeChecked(kind, spec.reducer, aggregate, count, spec.output.entries.length).values,
        aggregate,
        count,
        variance,
      ),
  };
  return kind;
}

export const sum: ReducerKind<"sum"> = totalsKind("sum", 0);
