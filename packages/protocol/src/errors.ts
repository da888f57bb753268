// Named errors shared by every package: callers branch on `name`, the message says what to do next.

/** The base of an error class that needs no fields of its own: `class XError extends namedError("XError") {}`. */
export function namedError<T extends string>(name: T) {
  return class extends Error {
    static override name = name;
    override name = name;
  };
}

/** A block or message could not be decoded, or its shape is not what the schema says. */
export class MalformedSubmissionError extends namedError("MalformedSubmissionError") {}

/** A block is larger than the limit for its kind. */
export class SubmissionTooLargeError extends namedError("SubmissionTooLargeError") {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`submission is ${size} bytes, over the ${limit}-byte limit`);
  }
}

/** A payload entry lies outside the bounds the job spec declares. */
export class PayloadOutOfBoundsError extends namedError("PayloadOutOfBoundsError") {}

/** A submission or proof belongs to another job (its scope is not this job's). */
export class WrongJobError extends namedError("WrongJobError") {}

/** A shared report's shares, public share or nonce are not the ones its Semaphore proof's message binds. */
export class ShareDigestMismatchError extends namedError("ShareDigestMismatchError") {}

/** A submission of the other mode: a plain (v1) payload for a shared job, or secret shares (v2) for a local one. */
export class WrongModeError extends namedError("WrongModeError") {}

/** A proof is against a group root the job did not fix. */
export class UnknownRootError extends namedError("UnknownRootError") {}

/** A nullifier has already been accepted for this job: the member answered twice. */
export class NullifierReusedError extends namedError("NullifierReusedError") {}

/** A proof is against a root the group had, but one the contract no longer accepts for this job or time. */
export class ExpiredRootError extends namedError("ExpiredRootError") {}

/** The proof's message is not the hash of the payload it came with. */
export class PayloadHashMismatchError extends namedError("PayloadHashMismatchError") {}

/** The Semaphore proof does not verify. */
export class InvalidProofError extends namedError("InvalidProofError") {}

/** A job spec fails validation. */
export class InvalidJobSpecError extends namedError("InvalidJobSpecError") {}

/** Nothing may leave the vault for this job: the user has not consented, or withdrew consent. */
export class ConsentRequiredError extends namedError("ConsentRequiredError") {}

/** A block could not be fetched from IPFS in time. */
export class BlockUnavailableError extends namedError("BlockUnavailableError") {}

/** The chain's RPC endpoint did not answer: the message names the URL, where it came from (flag or file) and what to do. */
export class RpcUnreachableError extends namedError("RpcUnreachableError") {}

/** The RPC endpoint serves another chain than the one a network file (or job) names: the message names both chain ids. */
export class WrongChainError extends namedError("WrongChainError") {}

/** The names of the rejection reasons a reducer counts. */
export type RejectionReason =
  | "MalformedSubmissionError"
  | "SubmissionTooLargeError"
  | "PayloadOutOfBoundsError"
  | "WrongJobError"
  | "UnknownRootError"
  | "ExpiredRootError"
  | "NullifierReusedError"
  | "PayloadHashMismatchError"
  | "InvalidProofError"
  | "BlockUnavailableError"
  // Shared mode: an envelope of the other mode, shares that are not the ones proven, one that does not decrypt or
  // parse, one that fails its Prio3 validity proof, or one the other aggregator never prepared.
  | "WrongModeError"
  | "ShareDigestMismatchError"
  | "ShareDecryptError"
  | "MalformedReportError"
  | "InvalidShareProofError"
  | "ShareMissingError"
  | "ReportTotalError";
