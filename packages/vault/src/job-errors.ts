// Named errors of answering jobs from the user's side: which job, whether this vault may answer it, and its receipts.
import { namedError } from "@mosaic/protocol";

/** The registry has no job of that id. */
export class UnknownJobError extends namedError("UnknownJobError") {}

/** The job's collection window has closed (or the job was finalised or refunded): nothing can be sent for it. */
export class JobClosedError extends namedError("JobClosedError") {}

/** This vault's avatar is not in the job's group as it stood when the job was posted. */
export class NotInJobGroupError extends namedError("NotInJobGroupError") {}

/** The spec fetched from IPFS disagrees with what the chain recorded for the job; the vault will not run it. */
export class JobSpecMismatchError extends namedError("JobSpecMismatchError") {}

/** No reducer handed over the job's spec: the job cannot be reviewed yet. */
export class SpecUnavailableError extends namedError("SpecUnavailableError") {}

/** No reducer to hand the submission to: none found on-chain and none given. */
export class NoReducersError extends namedError("NoReducersError") {}

/** The user declined the consent screen; nothing was recorded. */
export class ConsentDeclinedError extends namedError("ConsentDeclinedError") {}

/** There is no recorded submission for the job in this vault. */
export class NoSubmissionError extends namedError("NoSubmissionError") {}
