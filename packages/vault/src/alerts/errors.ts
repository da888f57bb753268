// Named errors of the vault's public alerts: callers branch on `name`, the message says what to do next.
import { namedError } from "@mosaic/protocol";

/**
 * What reached the alert filter is not an alert feed entry `{ feed, seq, cid, cap }` (an editors' draft, a bare
 * CAP message without its feed, a number, extra or missing fields): nothing is stored.
 */
export class MalformedAlertEventError extends namedError("MalformedAlertEventError") {}

/** A feed's seq the vault already holds arrives with another entry CID: the feed was rewritten, or the caller mixed feeds. */
export class AlertEntryConflictError extends namedError("AlertEntryConflictError") {}

/** syncAlerts was given feeds of more than one AlertFeeds contract and one chain to read them from: say which (`on`). */
export class AmbiguousAlertChainError extends namedError("AmbiguousAlertChainError") {}
