// Named errors of the shared mode's cryptography: what an aggregator rejects a report for (the names are the
// rejection reasons @mosaic/protocol lists), and what a client's report or a spec is refused for.
import { namedError } from "@mosaic/protocol";

/** An encrypted input share did not decrypt with this aggregator's key (wrong key, altered bytes, wrong job). */
export class ShareDecryptError extends namedError("ShareDecryptError") {}

/** A report (or a share or prep share inside it) is not the shape the job's Prio3 instance gives: lengths, types. */
export class MalformedReportError extends namedError("MalformedReportError") {}

/** A report's shares fail their Prio3 validity proof (FLP): the measurement is not one the spec allows. */
export class InvalidShareProofError extends namedError("InvalidShareProofError") {}

/** A report's share digests or message differ from the ones its Semaphore proof binds (protocol's, one class for all). */
export { ShareDigestMismatchError } from "@mosaic/protocol";

/** A report's entries do not add up to the output's declared total (checked on the two shares, revealing only the gap). */
export class ReportTotalError extends namedError("ReportTotalError") {}

/** The other aggregator never prepared a report this one holds (absent from its prep bundle). */
export class ShareMissingError extends namedError("ShareMissingError") {}

/** A job spec the shared mode cannot run (see sharedSpecProblem for the reason in the message). */
export class UnsupportedSharedSpecError extends namedError("UnsupportedSharedSpecError") {}
