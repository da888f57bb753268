// Named errors of exposure notification: callers branch on `name`, the message says what to do next.
import { namedError } from "@mosaic/protocol";

/** A key file, upload, configuration, hotspot set or PSI message does not decode, or its shape is wrong. */
export class MalformedExposureDocumentError extends namedError("MalformedExposureDocumentError") {}

/** A document that must be signed carries no signature, or one that does not recover. */
export class UnsignedDocumentError extends namedError("UnsignedDocumentError") {}

/** A document is signed, but not by the feed's health authority (as the chain names it). */
export class WrongSignerError extends namedError("WrongSignerError") {}

/** A key lies outside its validity window: older than 14 days, in the future, or not a whole-interval key. */
export class KeyOutsideWindowError extends namedError("KeyOutsideWindowError") {}

/** A key this vault would have to derive or hand out is older than the 14 days keys are kept. */
export class KeyExpiredError extends namedError("KeyExpiredError") {}

/** An upload's nullifier was already used this period: one person uploads once per period. */
export class UploadReplayedError extends namedError("UploadReplayedError") {}

/** A PSI query asks more than a server answers at once. */
export class PsiQueryTooLargeError extends namedError("PsiQueryTooLargeError") {}

/** A PSI response's proof does not verify against the hotspot set's published key: the server did not use it. */
export class PsiProofError extends namedError("PsiProofError") {}

/** A document, batch or response is larger than its kind allows. */
export class ExposureDocumentTooLargeError extends namedError("ExposureDocumentTooLargeError") {}

/** A PSI element (blinded, evaluated or a public key) is not 32 bytes, not a canonical ristretto255 encoding, or the identity. */
export class PsiElementError extends namedError("PsiElementError") {}

/** A PSI server answered a query with a refusal; `reason` is the name of the error it met (PsiQueryTooLargeError, …). */
export class PsiRefusedError extends namedError("PsiRefusedError") {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A PSI query names a hotspot set this server holds no key for: ask a node that serves it. */
export class UnknownHotspotSetError extends namedError("UnknownHotspotSetError") {}

/**
 * An upload holds a key the key server already has, queued or published in the last 14 days: copied from someone
 * else's upload (a published batch or a pending upload block is public). Upload only this vault's own keys.
 */
export class DuplicateKeyError extends namedError("DuplicateKeyError") {}

/**
 * An upload's keys disagree on what one diagnosis says: more than one report type, or days since onset that no single
 * onset day gives (each key's day minus the onset day, null beyond ±14; or null for every key).
 */
export class InconsistentUploadError extends namedError("InconsistentUploadError") {}
