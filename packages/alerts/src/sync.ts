// Syncing a feed: the chain says how far the feed goes and which CID and signatures each entry was anchored with; any
// replica may serve the blocks, and every block is checked against the chain, so a replica can withhold but not forge.
// Pure: the chain and the block source are injected (alertFeedChain for a contract, a Helia blockstore for blocks).
import type { CID } from "@mosaic/protocol";
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
  isEntryCid,
  MAX_ENTRY_BYTES,
  sameFeed,
} from "./entry.js";
import {
  BlockMismatchError,
  EntryMismatchError,
  EntryTooLargeError,
  FeedUnavailableError,
  ForkedFeedError,
  StaleHeadError,
} from "./feed-errors.js";
import type { VerifiedEntry } from "./feed-view.js";

/** What syncing reads from the chain: AlertFeeds' head, editor sets and AlertAnchored events (alertFeedChain). */
export interface AlertFeedChain {
  /** The feed's head: latest anchored seq (0: none), current editor epoch, latest entry's CID (null at seq 0). UnknownAlertFeedError for no such feed. */
  headOf(feedId: number): Promise<{ seq: number; epoch: number; entryCid: CID | null }>;
  /** The editors and threshold of the feed at `epoch`. */
  editorsAt(feedId: number, epoch: number): Promise<EditorSet>;
  /** The signatures anchored with entries fromSeq..toSeq (AlertAnchored events), by seq. */
  anchored(feedId: number, fromSeq: number, toSeq: number): Promise<Map<number, AnchoredEntry>>;
}

/** What the chain anchored for one entry. */
export interface AnchoredEntry {
  epoch: number;
  entryCid: CID;
  signatures: Uint8Array[];
}

/**
 * Where blocks come from. A Helia blockstore (whose `get` yields chunks, sync or async) is one, and so is anything whose `get`
 * resolves to the bytes (an in-memory map in a test).
 */
export interface BlockGetter {
  get(cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface SyncOptions {
  /** The latest entry the caller holds (verified before): only later ones are fetched, and the chain must contain it. */
  known?: { seq: number; cid: CID };
  /** The most entries one call returns; the rest come on the next call from the last one returned. @default 10_000 */
  maxEntries?: number;
  /** How many blocks are fetched at once. @default 8 */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called after each entry is verified. */
  onProgress?(done: number, total: number): void;
}

/** Seqs asked of chain.anchored at once. */
const ANCHORED_BATCH = 1000;

/**
 * Reads a whole block, refusing one over `maxBytes` as soon as it is known to be (EntryTooLargeError); any failure of
 * the source is FeedUnavailableError naming the seq.
 */
async function readBlock(blocks: BlockGetter, cid: CID, seq: number, signal: AbortSignal): Promise<Uint8Array> {
  let size = 0;
  const chunks: Uint8Array[] = [];
  try {
    const got = blocks.get(cid, { signal });
    if (got instanceof Uint8Array || (got as Promise<Uint8Array>).then !== undefined) {
      const bytes = await (got as Promise<Uint8Array>);
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`the block source returned ${typeof bytes}, not bytes`);
      size = bytes.length;
      chunks.push(bytes);
    } else {
      for await (const chunk of got as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
        size += chunk.length;
        chunks.push(chunk);
        if (size > MAX_ENTRY_BYTES) break;
      }
    }
  } catch (err) {
    signal.throwIfAborted();
    throw new FeedUnavailableError(
      `entry ${seq} (${cid}) was not served: ${(err as Error).message}; the replicas asked may be withholding it, try others`,
      seq,
    );
  }
  if (size > MAX_ENTRY_BYTES) throw new EntryTooLargeError(`entry ${seq} (${cid}): over ${MAX_ENTRY_BYTES} bytes, no entry is that large`);
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function checkHead(head: { seq: number; epoch: number; entryCid: CID | null }, ref: AlertFeedRef) {
  if (!Number.isSafeInteger(head?.seq) || head.seq < 0 || !Number.isSafeInteger(head.epoch) || head.epoch < 0)
    throw new TypeError(`chain.headOf(${ref.feedId}): expected { seq, epoch } integers >= 0`);
  if ((head.entryCid === null) !== (head.seq === 0))
    throw new StaleHeadError(`${feedName(ref)}: the chain reports head seq ${head.seq} with ${head.entryCid === null ? "no" : "a"} CID`);
}

/**
 * The feed's entries after `options.known` (or from the first) up to the chain's head, oldest first, at most
 * `maxEntries`, each checked: its block is the CID the chain anchored (BlockMismatchError otherwise; a block not
 * served is FeedUnavailableError naming the seq), a canonical entry with a valid CAP alert (MalformedEntryError,
 * EntryTooLargeError, InvalidCapError…), of this feed, at the seq and epoch it was anchored with (EntryMismatchError),
 * linking the entry before it by CID (ForkedFeedError), signed by at least the threshold of the editors of its epoch
 * (the signature errors of checkSignatures). ForkedFeedError when the chain's history does not contain `known`;
 * StaleHeadError when the chain's head is older than `known` or its answers disagree (a lagging node). Nothing is
 * returned unless every entry fetched passed; FeedUnavailableError carries the entries verified before the missing one.
 */
export async function syncFeed(
  ref: AlertFeedRef,
  chain: AlertFeedChain,
  blocks: BlockGetter,
  options: SyncOptions = {},
): Promise<VerifiedEntry[]> {
  checkFeedRef(ref);
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries: expected an integer >= 1, got ${maxEntries}`);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency: expected an integer >= 1, got ${concurrency}`);
  const known = options.known;
  if (known !== undefined && (!Number.isSafeInteger(known.seq) || known.seq < 1 || !isEntryCid(known.cid)))
    throw new TypeError("known: expected { seq: an integer >= 1, cid: an entry CID }");
  const signal = options.signal;
  signal?.throwIfAborted();
  const name = feedName(ref);

  const head = await chain.headOf(ref.feedId);
  checkHead(head, ref);
  const knownSeq = known?.seq ?? 0;
  if (head.seq < knownSeq)
    throw new StaleHeadError(
      `${name}: the chain's head is seq ${head.seq}, older than entry ${knownSeq} already held: the chain node is behind, try another`,
    );
  if (known !== undefined && head.seq === knownSeq) {
    if (!(head.entryCid as CID).equals(known.cid))
      throw new ForkedFeedError(
        `${name}: the chain anchored ${head.entryCid} as entry ${knownSeq}, not ${known.cid} held: another chain, or the feed was rewritten`,
      );
    return [];
  }
  if (head.seq === knownSeq) return [];

  const to = Math.min(head.seq, knownSeq + maxEntries);
  const anchored = new Map<number, AnchoredEntry>();
  for (let from = Math.max(1, knownSeq); from <= to; from += ANCHORED_BATCH) {
    signal?.throwIfAborted();
    const last = Math.min(to, from + ANCHORED_BATCH - 1);
    const got = await chain.anchored(ref.feedId, from, last);
    for (let seq = from; seq <= last; seq++) {
      const a = got.get(seq);
      if (a === undefined)
        throw new StaleHeadError(
          `${name}: the chain reports head seq ${head.seq} but no AlertAnchored event for entry ${seq}: its event index is behind, or the search starts after the feed's first block`,
        );
      if (!Number.isSafeInteger(a.epoch) || a.epoch < 0 || a.epoch > head.epoch || !isEntryCid(a.entryCid) || !Array.isArray(a.signatures))
        throw new EntryMismatchError(
          `${name}: entry ${seq} was anchored with epoch ${a.epoch} and CID ${a.entryCid}, which no entry can have`,
          seq,
        );
      anchored.set(seq, a);
    }
  }
  if (known !== undefined && !(anchored.get(knownSeq) as AnchoredEntry).entryCid.equals(known.cid))
    throw new ForkedFeedError(
      `${name}: the chain anchored ${(anchored.get(knownSeq) as AnchoredEntry).entryCid} as entry ${knownSeq}, not ${known.cid} held: the feed's history does not contain it`,
    );
  if (to === head.seq && !(anchored.get(to) as AnchoredEntry).entryCid.equals(head.entryCid as CID))
    throw new StaleHeadError(
      `${name}: headOf names ${head.entryCid} as entry ${to}, its AlertAnchored event ${(anchored.get(to) as AnchoredEntry).entryCid}: the chain node is inconsistent, try another`,
    );

  // Fetch ahead `concurrency` blocks; verify strictly in order. Outstanding fetches stop when this returns or throws.
  const fetching = new AbortController();
  const stop = () => fetching.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  const pending = new Map<number, Promise<{ bytes?: Uint8Array; error?: unknown }>>();
  let next = knownSeq + 1;
  const startFetches = () => {
    for (; next <= to && pending.size < concurrency; next++) {
      const seq = next;
      const cid = (anchored.get(seq) as AnchoredEntry).entryCid;
      pending.set(
        seq,
        readBlock(blocks, cid, seq, fetching.signal).then(
          (bytes) => ({ bytes }),
          (error: unknown) => ({ error }),
        ),
      );
    }
  };

  const verified: VerifiedEntry[] = [];
  const editorSets = new Map<number, EditorSet>();
  const total = to - knownSeq;
  try {
    for (let seq = knownSeq + 1; seq <= to; seq++) {
      startFetches();
      const got = await (pending.get(seq) as Promise<{ bytes?: Uint8Array; error?: unknown }>);
      pending.delete(seq);
      signal?.throwIfAborted();
      if (got.error !== undefined) {
        if (got.error instanceof FeedUnavailableError) throw new FeedUnavailableError(got.error.message, seq, verified.slice());
        throw got.error;
      }
      const bytes = got.bytes as Uint8Array;
      const a = anchored.get(seq) as AnchoredEntry;
      const cid = entryCidOf(bytes);
      if (!cid.equals(a.entryCid) || !equalBytes(cid.bytes, a.entryCid.bytes))
        throw new BlockMismatchError(
          `${name}: entry ${seq} was anchored as ${a.entryCid}, the block served hashes to ${cid}: that replica serves forged blocks`,
          seq,
        );
      const entry = decodeEntry(bytes, a.entryCid);
      if (!sameFeed(entry.feed, ref))
        throw new EntryMismatchError(`entry ${seq} of ${name} is an entry of ${feedName(entry.feed)}: copied from another feed`, seq);
      if (entry.seq !== seq || entry.epoch !== a.epoch)
        throw new EntryMismatchError(
          `entry ${seq} of ${name} says seq ${entry.seq}, epoch ${entry.epoch}; the chain anchored it as seq ${seq}, epoch ${a.epoch}`,
          seq,
        );
      const expectedPrev =
        seq === 1 ? null : seq - 1 === knownSeq ? (known as { cid: CID }).cid : (anchored.get(seq - 1) as AnchoredEntry).entryCid;
      if (expectedPrev === null ? entry.prev !== null : entry.prev === null || !entry.prev.equals(expectedPrev))
        throw new ForkedFeedError(
          `entry ${seq} of ${name} links ${entry.prev} as entry ${seq - 1}, but the chain anchored ${expectedPrev}: the entries do not chain`,
        );
      let editors = editorSets.get(a.epoch);
      if (editors === undefined) {
        editors = await chain.editorsAt(ref.feedId, a.epoch);
        editorSets.set(a.epoch, editors);
      }
      const signers = checkSignatures(entryDigest(ref, a.epoch, seq, a.entryCid), a.signatures, editors);
      verified.push({
        ref: { chainId: ref.chainId, contract: ref.contract, feedId: ref.feedId },
        seq,
        epoch: a.epoch,
        cid: a.entryCid,
        entry,
        signers,
        bytes,
        signatures: a.signatures.slice(),
      });
      options.onProgress?.(verified.length, total);
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    fetching.abort();
  }
  return verified;
}
