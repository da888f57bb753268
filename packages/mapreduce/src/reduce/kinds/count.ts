// The `count` reducer: every payload lifts to [1], so the aggregate is the number of accepted submissions.
import { estimateRow, PRIVACY_NOISE_BARS } from "../estimate.js";
import type { ReducerKind } from "../kind.js";

export const count: ReducerKind<"count"> = {
  name: "count",
  code: 1,
  check() {},
  stateLength: () => 1,
  lift: () => [1],
  finalize: (_reducer, _aggregate, leaves) => ({ values: [leaves] }),
  edges: () => [],
  estimate: (_spec, _aggregate, leaves) => ({
    rows: [estimateRow("participants", leaves, 0)],
    count: leaves,
    confidence: 0.95,
    note: "an exact count of accepted submissions",
    errorBars: PRIVACY_NOISE_BARS,
    projection: "none (an exact count)",
  }),
};
