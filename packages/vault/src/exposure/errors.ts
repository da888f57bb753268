// Named errors of the vault's exposure notification: callers branch on `name`, the message says what to do next.
import { namedError } from "@mosaic/protocol";

/** A scan (from a radio, or a scan document from another device) is not a well-formed advertisement heard. */
export class MalformedScanError extends namedError("MalformedScanError") {}

/**
 * A feed's batches do not follow each other: a batch's seq is not one less than the next one's (or the chain's for
 * the head), the walk from the head does not reach the cached head, or the chain's seq went back.
 */
export class KeyFeedSequenceError extends namedError("KeyFeedSequenceError") {}

/** A key batch fetched for one feed names another chain, ExposureFeeds contract or feed. */
export class KeyFeedMismatchError extends namedError("KeyFeedMismatchError") {}

/** ExposureFeeds has no feed of that id. */
export class UnknownKeyFeedError extends namedError("UnknownKeyFeedError") {}

/** No node answered for the hotspot set: each one asked refused it, answered with another key, or was not reached. */
export class NoHotspotServerError extends namedError("NoHotspotServerError") {}
