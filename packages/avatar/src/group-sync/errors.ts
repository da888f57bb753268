// The error a group sync throws when the chain's events, its provider or its cache do not give the contract's tree.
import { namedError } from "@mosaic/protocol";

/**
 * The contract's events could not be turned into the contract's tree. `kind` says why: "inconsistent" — a malformed
 * or out-of-order event, a root the rebuilt tree does not give, or a rebuilt root that differs from
 * `getMerkleTreeRoot` (the provider is wrong or lying; use another) — or "unavailable" — the provider failed to answer
 * (retry later). A sync that throws it has changed nothing.
 */
export class GroupSyncError extends namedError("GroupSyncError") {
  readonly kind: "inconsistent" | "unavailable";

  constructor(message: string, options: ErrorOptions & { kind?: "inconsistent" | "unavailable" } = {}) {
    super(message, options);
    this.kind = options.kind ?? "inconsistent";
  }
}

/** A GroupSyncError naming the event at fault. */
export function malformed(block: number, logIndex: number, what: string): GroupSyncError {
  return new GroupSyncError(`the event at block ${block}, log ${logIndex} ${what}`);
}
