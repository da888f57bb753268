// The `histogram` reducer: one-hot payloads added entry by entry; the aggregate is the count per category.
import type { ReducerKind } from "../kind.js";
import { totalsKind } from "./sum.js";

export const histogram: ReducerKind<"histogram"> = totalsKind("histogram", 2);
