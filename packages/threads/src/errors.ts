// Named errors of the thread layer: callers branch on `name`; messages say what to do next.
import { namedError } from "@mosaic/protocol";

/** A record or event block is over the size limit for its kind. */
export class BlockTooLargeError extends namedError("BlockTooLargeError") {
  constructor(
    readonly kind: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${kind} block is ${size} bytes, over the ${limit}-byte limit`);
  }
}

/** A record did not decrypt under this thread's service key: it belongs to another thread, or was altered. */
export class WrongServiceKeyError extends namedError("WrongServiceKeyError") {}

/** A record or event decrypted but is not the shape the thread format requires. */
export class MalformedRecordError extends namedError("MalformedRecordError") {}

/** A record's signature does not verify under the log key it names. */
export class InvalidRecordSignatureError extends namedError("InvalidRecordSignatureError") {}

/** A record names a log this thread has no valid certificate for. */
export class UnknownLogError extends namedError("UnknownLogError") {}

/**
 * A record does not extend its log: its `prev` is not the head we hold (a gap, to be filled by pulling
 * the missing records first, or a fork of a single-writer log, which is refused for good).
 */
export class BrokenChainError extends namedError("BrokenChainError") {
  constructor(
    message: string,
    /** True when the record may fit once the missing records before it arrive. */
    readonly gap: boolean,
  ) {
    super(message);
  }
}

/** An event's header or body did not decrypt under the read key. */
export class EventDecryptionError extends namedError("EventDecryptionError") {}

/** The passphrase does not open the sealed seed (or the seed file was altered). */
export class WrongPassphraseError extends namedError("WrongPassphraseError") {}

/** A sealed seed or snapshot file is not in a format this version reads. */
export class UnreadableFileError extends namedError("UnreadableFileError") {}

/** A document id that a collection does not hold. */
export class DocumentNotFoundError extends namedError("DocumentNotFoundError") {}

/** A create for a document id that already exists. */
export class DocumentExistsError extends namedError("DocumentExistsError") {}

/** A pull for a thread this peer does not hold, or without proof of the service key. */
export class PullRefusedError extends namedError("PullRefusedError") {}

/** A peer's replication message could not be decoded or broke the protocol. */
export class ProtocolError extends namedError("ProtocolError") {}
