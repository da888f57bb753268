// The named errors of alert feeds: entries, signatures, drafts, announcements and syncing a feed against the chain.
// The signature errors mirror AlertFeeds' reverts, so a check here refuses what the contract would refuse.
import { namedError } from "@mosaic/protocol";

/** An entry block is not a canonical dag-cbor `{ v: 1, feed, seq, epoch, prev, cap }`, or a field is out of range. */
export class MalformedEntryError extends namedError("MalformedEntryError") {}

/** An entry block is larger than MAX_ENTRY_BYTES: no reader fetches it. */
export class EntryTooLargeError extends namedError("EntryTooLargeError") {}

/** A block's bytes do not hash to the CID they were asked for (a replica served another block). */
export class BlockMismatchError extends namedError("BlockMismatchError") {
  constructor(
    message: string,
    /** The entry's sequence number, when the block was fetched as one. */
    readonly seq?: number,
  ) {
    super(message);
  }
}

/** Signature `index` is malformed: not 65 bytes, high s, v not 27/28, or unrecoverable (AlertFeeds' MalformedSignature). */
export class MalformedSignatureError extends namedError("MalformedSignatureError") {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** Signature `index` recovers to `signer`, who is not an editor of the epoch (AlertFeeds' NotEditor): a foreign key, or a signature made for another digest. */
export class ForeignSignatureError extends namedError("ForeignSignatureError") {
  constructor(
    message: string,
    readonly index: number,
    readonly signer: string,
  ) {
    super(message);
  }
}

/** Signature `index` recovers to `signer`, not above the one before: signatures must be sorted by strictly ascending signer (a duplicate counts once). */
export class SignersNotSortedError extends namedError("SignersNotSortedError") {
  constructor(
    message: string,
    readonly index: number,
    readonly signer: string,
  ) {
    super(message);
  }
}

/** `given` signatures where the epoch's threshold is `needed` (AlertFeeds' TooFewSignatures). */
export class TooFewSignaturesError extends namedError("TooFewSignaturesError") {
  constructor(
    message: string,
    readonly given: number,
    readonly needed: number,
  ) {
    super(message);
  }
}

/** A draft file is not a draft: not JSON, over 1 MiB, a missing or unknown field, or an entry that does not match it. */
export class MalformedDraftError extends namedError("MalformedDraftError") {}

/** A draft of one kind was passed where the other kind is expected (an editors draft where an entry draft belongs). */
export class WrongDraftKindError extends namedError("WrongDraftKindError") {}

/** This signer has already signed the draft. */
export class DuplicateSignatureError extends namedError("DuplicateSignatureError") {}

/** An announcement is not a canonical `{ v: 1, feed, seq, epoch, entry, signatures }`, is too large, or names another feed. */
export class MalformedAnnouncementError extends namedError("MalformedAnnouncementError") {}

/**
 * A feed's block was not served (the replicas asked withheld it, or are unreachable): names the entry's `seq`.
 * `verified` holds the entries before it, each fully checked, so a caller may keep them and retry later.
 */
export class FeedUnavailableError extends namedError("FeedUnavailableError") {
  constructor(
    message: string,
    readonly seq: number,
    readonly verified: readonly unknown[] = [],
  ) {
    super(message);
  }
}

/**
 * The chain's history of the feed does not contain the entry the reader already holds, or its entries do not link:
 * then `seq` names the entry whose prev is not the CID anchored before it.
 */
export class ForkedFeedError extends namedError("ForkedFeedError") {
  constructor(
    message: string,
    readonly seq?: number,
  ) {
    super(message);
  }
}

/** A head older than the one the reader knows, or than the one anchored: the chain node answering is behind. */
export class StaleHeadError extends namedError("StaleHeadError") {}

/** An entry's feed, seq or epoch is not what the chain anchored it as. */
export class EntryMismatchError extends namedError("EntryMismatchError") {
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(message);
  }
}

/** The AlertFeeds contract has no feed of this id. */
export class UnknownAlertFeedError extends namedError("UnknownAlertFeedError") {}
