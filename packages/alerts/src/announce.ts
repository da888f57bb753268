// Announcements: a new entry and its signatures, published on the feed's gossipsub topic so replicas hold it before
// they would notice the chain's head move. A receiver checks the signatures here and the chain before storing it.
import * as dagCbor from "@ipld/dag-cbor";
import { equalBytes } from "@mosaic/protocol";
import {
  type AlertFeedRef,
  checkFeedRef,
  checkSignatures,
  decodeEntry,
  type EditorSet,
  entryCidOf,
  entryDigest,
  feedName,
  feedRefProblem,
  MAX_EDITORS,
  MAX_ENTRY_BYTES,
  sameFeed,
} from "./entry.js";
import { EntryMismatchError, MalformedAnnouncementError } from "./feed-errors.js";
import type { VerifiedEntry } from "./feed-view.js";

/** An announcement of entry `seq`: its block bytes and the signatures (ascending signer) it is anchored with. */
export interface AlertAnnouncement {
  v: 1;
  feed: AlertFeedRef;
  seq: number;
  epoch: number;
  entry: Uint8Array;
  signatures: Uint8Array[];
}

/** The largest announcement decodeAnnouncement reads: an entry and room for MAX_EDITORS signatures. */
export const MAX_ANNOUNCEMENT_BYTES = MAX_ENTRY_BYTES + 8 * 1024;
const KEYS = ["entry", "epoch", "feed", "seq", "signatures", "v"];

/** The gossipsub topic of a feed's announcements. */
export function alertTopic(ref: AlertFeedRef): string {
  checkFeedRef(ref);
  return `/mosaic/alerts/1/${ref.chainId}/${ref.contract}/${ref.feedId}`;
}

/** The announcement of a verified entry. */
export function announcementOf(entry: Pick<VerifiedEntry, "ref" | "seq" | "epoch" | "bytes" | "signatures">): AlertAnnouncement {
  return { v: 1, feed: { ...entry.ref }, seq: entry.seq, epoch: entry.epoch, entry: entry.bytes, signatures: entry.signatures.slice() };
}

/** An announcement's bytes (canonical dag-cbor). TypeError for a bad field; MalformedAnnouncementError when too large. */
export function encodeAnnouncement(a: AlertAnnouncement): Uint8Array {
  const problem = announcementProblem(a);
  if (problem !== undefined) throw new TypeError(`announcement: ${problem}`);
  const bytes = dagCbor.encode({ v: 1, feed: { ...a.feed }, seq: a.seq, epoch: a.epoch, entry: a.entry, signatures: a.signatures });
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES)
    throw new MalformedAnnouncementError(`announcement: ${bytes.length} bytes, over the ${MAX_ANNOUNCEMENT_BYTES}-byte limit`);
  return bytes;
}

function announcementProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return "expected a map { v, feed, seq, epoch, entry, signatures }";
  const a = value as Record<string, unknown>;
  for (const key of Object.keys(a)) if (!KEYS.includes(key)) return `unknown key ${JSON.stringify(key)} (known: ${KEYS.join(", ")})`;
  for (const key of KEYS) if (!(key in a)) return `no ${key}`;
  if (a.v !== 1) return `v: expected 1, got ${String(a.v)}`;
  const refProblem = feedRefProblem(a.feed);
  if (refProblem !== undefined) return `feed: ${refProblem}`;
  if (!Number.isSafeInteger(a.seq) || (a.seq as number) < 1) return `seq: expected an integer >= 1, got ${String(a.seq)}`;
  if (!Number.isSafeInteger(a.epoch) || (a.epoch as number) < 0) return `epoch: expected an integer >= 0, got ${String(a.epoch)}`;
  if (!(a.entry instanceof Uint8Array)) return "entry: expected bytes";
  if (a.entry.length > MAX_ENTRY_BYTES) return `entry: ${a.entry.length} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`;
  if (!Array.isArray(a.signatures) || a.signatures.length > MAX_EDITORS) return `signatures: expected an array of at most ${MAX_EDITORS}`;
  for (const [i, s] of (a.signatures as unknown[]).entries())
    if (!(s instanceof Uint8Array) || s.length !== 65) return `signatures[${i}]: expected 65 bytes`;
  return undefined;
}

/**
 * Reads an announcement received on `expectedRef`'s topic: MalformedAnnouncementError for bytes over
 * MAX_ANNOUNCEMENT_BYTES, not canonical dag-cbor, a missing, unknown or bad field, or another feed than
 * `expectedRef` (an announcement replayed onto another topic). The entry and signatures are checked by
 * checkAnnouncement.
 */
export function decodeAnnouncement(bytes: Uint8Array, expectedRef: AlertFeedRef): AlertAnnouncement {
  checkFeedRef(expectedRef, "expectedRef");
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES)
    throw new MalformedAnnouncementError(`announcement: ${bytes.length} bytes, over the ${MAX_ANNOUNCEMENT_BYTES}-byte limit`);
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedAnnouncementError(`announcement: not dag-cbor (${(err as Error).message})`);
  }
  if (!equalBytes(dagCbor.encode(value), bytes)) throw new MalformedAnnouncementError("announcement: not canonical dag-cbor");
  const problem = announcementProblem(value);
  if (problem !== undefined) throw new MalformedAnnouncementError(`announcement: ${problem}`);
  const a = value as AlertAnnouncement;
  if (!sameFeed(a.feed, expectedRef))
    throw new MalformedAnnouncementError(`announcement of ${feedName(a.feed)} received on the topic of ${feedName(expectedRef)}`);
  return a;
}

/**
 * Checks an announcement's entry and signatures against the editors of its epoch (the chain's editorsAt(feed,
 * a.epoch)): the entry block decoded (MalformedEntryError, InvalidCapError, …) and naming the announcement's feed,
 * seq and epoch (EntryMismatchError), then checkSignatures over its entryDigest. The receiver still compares the
 * CID with the one the chain anchored for that seq before storing it.
 */
export function checkAnnouncement(a: AlertAnnouncement, editors: EditorSet): VerifiedEntry {
  const problem = announcementProblem(a);
  if (problem !== undefined) throw new MalformedAnnouncementError(`announcement: ${problem}`);
  const cid = entryCidOf(a.entry);
  const entry = decodeEntry(a.entry, cid);
  if (!sameFeed(entry.feed, a.feed) || entry.seq !== a.seq || entry.epoch !== a.epoch)
    throw new EntryMismatchError(
      `the announced entry is entry ${entry.seq} (epoch ${entry.epoch}) of ${feedName(entry.feed)}, announced as entry ${a.seq} (epoch ${a.epoch}) of ${feedName(a.feed)}`,
      a.seq,
    );
  const signers = checkSignatures(entryDigest(a.feed, a.epoch, a.seq, cid), a.signatures, editors);
  return { ref: { ...a.feed }, seq: a.seq, epoch: a.epoch, cid, entry, signers, bytes: a.entry, signatures: a.signatures.slice() };
}
