// Syncing a feed: the chain says how far the feed goes and which CID and signatures each entry was anchored with; any
// replica may serve the blocks, and every block is checked against the chain, so a replica can withhold but not forge.
// Pure: the chain and the block source are injected (alertFeedChain for a contract, a Helia blockstore for blocks).
import { CID, equalBytes } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2.js";
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
  /**
   * The latest entry the caller holds (verified before), or the latest gap syncFeedSkipping reported (its seq and the
   * CID anchored for it): only later ones are fetched, and the chain must contain it.
   */
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
 * The most bytes read (and hashed) of one served block. An entry is at most MAX_ENTRY_BYTES, but an oversize block is
 * hashed to tell the anchored block (a permanent gap) from junk a replica serves for its CID (not a gap); past this
 * nothing is read, as for a withheld block (bitswap carries no block this large: its messages are at most 4 MiB).
 */
const MAX_SERVED_BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * What a sync error about one entry carries besides its message: the entry's `seq` and the entries before it that
 * passed every check (`verified`). syncFeed sets both on every error it throws about a given entry — the errors of
 * entries, CAP and signatures as well as FeedUnavailableError, BlockMismatchError and EntryMismatchError.
 */
export interface FeedSyncErrorInfo {
  seq: number;
  verified: VerifiedEntry[];
}

/** The seq and the entries verified before it, when `err` is a syncFeed error about one entry; else undefined. */
export function feedSyncErrorInfo(err: unknown): FeedSyncErrorInfo | undefined {
  if (!(err instanceof Error)) return undefined;
  const { seq, verified } = err as Error & Partial<FeedSyncErrorInfo>;
  return Number.isSafeInteger(seq) && Array.isArray(verified) ? { seq: seq as number, verified } : undefined;
}

/** An anchored entry a reader can never use: its block is the one anchored, but it is not a valid entry of the feed. */
export interface FeedGap {
  seq: number;
  /** The CID the chain anchored for it (the next entry's prev). */
  cid: CID;
  /** The error's name: MalformedEntryError, InvalidCapError, UnclosedPolygonError, EntryMismatchError, … */
  error: string;
  /** The error's message. */
  reason: string;
}

/** What syncFeedSkipping read: the valid entries and the gaps, each in seq order, and the withheld block it stopped at. */
export interface SkippingSync {
  entries: VerifiedEntry[];
  gaps: FeedGap[];
  /**
   * The block it stopped at: not served, or other bytes served for its CID (then `cause` is the BlockMismatchError).
   * Its `verified` are `entries`. Try again later (or other replicas) from the last entry or gap returned.
   */
  unavailable?: FeedUnavailableError;
}

/** A block read whole (at most MAX_ENTRY_BYTES), or, for a larger one, its size and SHA-256. */
type ReadBlock = { bytes: Uint8Array } | { oversize: number; digest: Uint8Array };

/**
 * Reads a whole block up to MAX_ENTRY_BYTES; a larger one is hashed, not kept, up to MAX_SERVED_BLOCK_BYTES. Any
 * failure of the source, and a block past MAX_SERVED_BLOCK_BYTES, is FeedUnavailableError naming the seq.
 */
async function readBlock(blocks: BlockGetter, cid: CID, seq: number, signal: AbortSignal): Promise<ReadBlock> {
  const unavailable = (why: string) =>
    new FeedUnavailableError(`entry ${seq} (${cid}) was not served: ${why}; the replicas asked may be withholding it, try others`, seq);
  let size = 0;
  const chunks: Uint8Array[] = [];
  let hash: ReturnType<typeof sha256.create> | undefined;
  const take = (chunk: Uint8Array) => {
    size += chunk.length;
    if (size > MAX_SERVED_BLOCK_BYTES) return false;
    if (hash === undefined && size <= MAX_ENTRY_BYTES) chunks.push(chunk);
    else {
      if (hash === undefined) {
        hash = sha256.create();
        for (const c of chunks) hash.update(c);
        chunks.length = 0;
      }
      hash.update(chunk);
    }
    return true;
  };
  try {
    const got = blocks.get(cid, { signal });
    if (got instanceof Uint8Array || (got as Promise<Uint8Array>).then !== undefined) {
      const bytes = await (got as Promise<Uint8Array>);
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`the block source returned ${typeof bytes}, not bytes`);
      take(bytes);
    } else {
      for await (const chunk of got as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
        if (!(chunk instanceof Uint8Array)) throw new TypeError(`the block source yielded ${typeof chunk}, not bytes`);
        if (!take(chunk)) break;
      }
    }
  } catch (err) {
    signal.throwIfAborted();
    throw unavailable((err as Error).message);
  }
  if (size > MAX_SERVED_BLOCK_BYTES) throw unavailable(`over ${MAX_SERVED_BLOCK_BYTES} bytes were sent, and no block that large is read`);
  if (hash !== undefined) return { oversize: size, digest: hash.digest() };
  if (chunks.length === 1) return { bytes: chunks[0] as Uint8Array };
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return { bytes: out };
}

function checkHead(head: { seq: number; epoch: number; entryCid: CID | null }, ref: AlertFeedRef) {
  if (!Number.isSafeInteger(head?.seq) || head.seq < 0 || !Number.isSafeInteger(head.epoch) || head.epoch < 0)
    throw new TypeError(`chain.headOf(${ref.feedId}): expected { seq, epoch } integers >= 0`);
  if ((head.entryCid === null) !== (head.seq === 0))
    throw new StaleHeadError(`${feedName(ref)}: the chain reports head seq ${head.seq} with ${head.entryCid === null ? "no" : "a"} CID`);
}

/** Where one run of the sync stopped before `to`: the entry, the CID anchored for it, the error, and whether it is a gap. */
interface SyncFailure {
  seq: number;
  /** The anchored CID, when the chain anchored a CID at all. */
  cid: CID | undefined;
  error: Error;
  /** The anchored block itself (or the anchored record) is bad, so no later try can do better. */
  permanent: boolean;
}

interface SyncRun {
  verified: VerifiedEntry[];
  failure?: SyncFailure;
}

/** Sets the seq and the entries verified before it on an error about one entry (see FeedSyncErrorInfo). */
function tagError(error: Error, seq: number, verified: VerifiedEntry[]): Error {
  for (const [key, value] of [
    ["seq", seq],
    ["verified", verified],
  ] as const) {
    try {
      Object.defineProperty(error, key, { value, writable: true, enumerable: false, configurable: true });
    } catch {
      // A frozen error keeps what it has.
    }
  }
  return error;
}

function checkOptions(ref: AlertFeedRef, options: SyncOptions): void {
  checkFeedRef(ref);
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries: expected an integer >= 1, got ${maxEntries}`);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency: expected an integer >= 1, got ${concurrency}`);
  const known = options.known;
  // A gap's CID may be any CID (a quorum can anchor one that names no entry), so `known` is only required to be a CID.
  if (known !== undefined && (!Number.isSafeInteger(known.seq) || known.seq < 1 || CID.asCID(known.cid) === null))
    throw new TypeError("known: expected { seq: an integer >= 1, cid: the CID anchored for it }");
}

/**
 * One pass: entries after `known` up to the head (at most maxEntries), verified in order, stopping at the first entry
 * that fails, which is returned as the failure rather than thrown. Errors about no single entry (the chain's head or
 * history, editorsAt, an abort) are thrown.
 */
async function runSync(
  ref: AlertFeedRef,
  chain: AlertFeedChain,
  blocks: BlockGetter,
  options: SyncOptions,
  editorSets: Map<number, EditorSet>,
): Promise<SyncRun> {
  checkOptions(ref, options);
  const maxEntries = options.maxEntries ?? 10_000;
  const concurrency = options.concurrency ?? 8;
  const known = options.known;
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
    return { verified: [] };
  }
  if (head.seq === knownSeq) return { verified: [] };

  const to = Math.min(head.seq, knownSeq + maxEntries);
  const anchored = new Map<number, AnchoredEntry>();
  // A record no honest anchoring can produce fails its own entry, in order, so the entries before it are still returned.
  const badRecords = new Map<number, EntryMismatchError>();
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
      if (Number.isSafeInteger(a.epoch) && a.epoch > head.epoch)
        throw new StaleHeadError(
          `${name}: entry ${seq} was anchored with editor epoch ${a.epoch}, after the head's epoch ${head.epoch}: the chain node is inconsistent, try another`,
        );
      if (!Number.isSafeInteger(a.epoch) || a.epoch < 0 || !isEntryCid(a.entryCid) || !Array.isArray(a.signatures))
        badRecords.set(
          seq,
          new EntryMismatchError(
            `${name}: entry ${seq} was anchored with epoch ${a.epoch} and CID ${a.entryCid}, which no entry can have`,
            seq,
          ),
        );
      anchored.set(seq, a);
    }
  }
  const anchoredCid = (seq: number): CID | undefined => CID.asCID((anchored.get(seq) as AnchoredEntry).entryCid) ?? undefined;
  if (known !== undefined && !anchoredCid(knownSeq)?.equals(known.cid))
    throw new ForkedFeedError(
      `${name}: the chain anchored ${(anchored.get(knownSeq) as AnchoredEntry).entryCid} as entry ${knownSeq}, not ${known.cid} held: the feed's history does not contain it`,
    );
  if (to === head.seq && !anchoredCid(to)?.equals(head.entryCid as CID))
    throw new StaleHeadError(
      `${name}: headOf names ${head.entryCid} as entry ${to}, its AlertAnchored event ${(anchored.get(to) as AnchoredEntry).entryCid}: the chain node is inconsistent, try another`,
    );

  // Fetch ahead `concurrency` blocks; verify strictly in order. Outstanding fetches stop when this returns or throws.
  const fetching = new AbortController();
  const stop = () => fetching.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  type Fetched = { block?: ReadBlock; error?: unknown };
  const pending = new Map<number, Promise<Fetched>>();
  let next = knownSeq + 1;
  const startFetches = () => {
    for (; next <= to && pending.size < concurrency; next++) {
      const seq = next;
      if (badRecords.has(seq)) {
        // Nothing to fetch, and nothing after it is needed before it is reported.
        next = to + 1;
        break;
      }
      const cid = (anchored.get(seq) as AnchoredEntry).entryCid;
      pending.set(
        seq,
        readBlock(blocks, cid, seq, fetching.signal).then(
          (block) => ({ block }),
          (error: unknown) => ({ error }),
        ),
      );
    }
  };

  const verified: VerifiedEntry[] = [];
  const total = to - knownSeq;
  try {
    for (let seq = knownSeq + 1; seq <= to; seq++) {
      const bad = badRecords.get(seq);
      if (bad !== undefined)
        return { verified, failure: { seq, cid: anchoredCid(seq), error: bad, permanent: anchoredCid(seq) !== undefined } };
      startFetches();
      const got = await (pending.get(seq) as Promise<Fetched>);
      pending.delete(seq);
      signal?.throwIfAborted();
      const a = anchored.get(seq) as AnchoredEntry;
      if (got.error !== undefined) {
        if (got.error instanceof FeedUnavailableError)
          return {
            verified,
            failure: { seq, cid: a.entryCid, error: new FeedUnavailableError(got.error.message, seq, verified.slice()), permanent: false },
          };
        throw got.error;
      }
      const block = got.block as ReadBlock;
      if ("oversize" in block) {
        // Hashed whole: the anchored block itself is too large to be an entry (a gap); other bytes are a forgery.
        const anchoredBlock = equalBytes(block.digest, a.entryCid.multihash.digest);
        const error = anchoredBlock
          ? new EntryTooLargeError(`entry ${seq} (${a.entryCid}): ${block.oversize} bytes, over ${MAX_ENTRY_BYTES}: no entry is that large`)
          : new BlockMismatchError(
              `${name}: entry ${seq} was anchored as ${a.entryCid}, the replica served ${block.oversize} bytes of another block: that replica serves forged blocks`,
              seq,
            );
        return { verified, failure: { seq, cid: a.entryCid, error, permanent: anchoredBlock } };
      }
      const bytes = block.bytes;
      const cid = entryCidOf(bytes);
      if (!cid.equals(a.entryCid) || !equalBytes(cid.bytes, a.entryCid.bytes)) {
        const error = new BlockMismatchError(
          `${name}: entry ${seq} was anchored as ${a.entryCid}, the block served hashes to ${cid}: that replica serves forged blocks`,
          seq,
        );
        return { verified, failure: { seq, cid: a.entryCid, error, permanent: false } };
      }
      // From here on the bytes are the anchored block's, fixed by its CID, and the signatures the chain's: whatever
      // fails below fails on every try, for every reader.
      let entry: VerifiedEntry["entry"];
      let signers: string[];
      try {
        const prev =
          seq === 1 ? null : seq - 1 === knownSeq ? (known as { cid: CID }).cid : (anchored.get(seq - 1) as AnchoredEntry).entryCid;
        entry = checkContent(ref, seq, bytes, a, prev);
      } catch (err) {
        return { verified, failure: { seq, cid: a.entryCid, error: asError(err), permanent: true } };
      }
      let editors = editorSets.get(a.epoch);
      if (editors === undefined) {
        editors = await chain.editorsAt(ref.feedId, a.epoch);
        editorSets.set(a.epoch, editors);
      }
      try {
        signers = checkSignatures(entryDigest(ref, a.epoch, seq, a.entryCid), a.signatures, editors);
      } catch (err) {
        return { verified, failure: { seq, cid: a.entryCid, error: asError(err), permanent: true } };
      }
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
  return { verified };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new TypeError(String(err));
}

/**
 * The anchored block `bytes` as entry `seq` of `ref`: a canonical entry with a valid CAP alert (decodeEntry's errors),
 * of this feed at the seq and epoch anchored (EntryMismatchError), linking `prev` (ForkedFeedError naming the seq).
 */
function checkContent(ref: AlertFeedRef, seq: number, bytes: Uint8Array, a: AnchoredEntry, prev: CID | null): VerifiedEntry["entry"] {
  const name = feedName(ref);
  const entry = decodeEntry(bytes, a.entryCid);
  if (!sameFeed(entry.feed, ref))
    throw new EntryMismatchError(`entry ${seq} of ${name} is an entry of ${feedName(entry.feed)}: copied from another feed`, seq);
  if (entry.seq !== seq || entry.epoch !== a.epoch)
    throw new EntryMismatchError(
      `entry ${seq} of ${name} says seq ${entry.seq}, epoch ${entry.epoch}; the chain anchored it as seq ${seq}, epoch ${a.epoch}`,
      seq,
    );
  // After a gap whose anchored CID names no entry (a quorum can anchor any CID), no entry can link it: prev is then not
  // checked; the chain's order and the signatures over (seq, CID) are what bind the feed, prev only repeats them.
  if (prev !== null && !isEntryCid(prev)) return entry;
  if (prev === null ? entry.prev !== null : entry.prev === null || !entry.prev.equals(prev))
    throw new ForkedFeedError(
      `entry ${seq} of ${name} links ${entry.prev} as entry ${seq - 1}, but the chain anchored ${prev}: the entries do not chain`,
      seq,
    );
  return entry;
}

/**
 * The feed's entries after `options.known` (or from the first) up to the chain's head, oldest first, at most
 * `maxEntries`, each checked: its block is the CID the chain anchored (BlockMismatchError otherwise; a block not
 * served is FeedUnavailableError naming the seq), a canonical entry with a valid CAP alert (MalformedEntryError,
 * EntryTooLargeError, InvalidCapError…), of this feed, at the seq and epoch it was anchored with (EntryMismatchError),
 * linking the entry before it by CID (ForkedFeedError), signed by at least the threshold of the editors of its epoch
 * (the signature errors of checkSignatures). ForkedFeedError when the chain's history does not contain `known`;
 * StaleHeadError when the chain's head is older than `known` or its answers disagree (a lagging node). Nothing is
 * returned unless every entry fetched passed; every error about one entry carries its `seq` and the entries verified
 * before it (`verified`, see feedSyncErrorInfo). One bad anchored entry stops this function for good at its seq:
 * readers that must get past it use syncFeedSkipping.
 */
export async function syncFeed(
  ref: AlertFeedRef,
  chain: AlertFeedChain,
  blocks: BlockGetter,
  options: SyncOptions = {},
): Promise<VerifiedEntry[]> {
  const run = await runSync(ref, chain, blocks, options, new Map());
  if (run.failure !== undefined) throw tagError(run.failure.error, run.failure.seq, run.verified);
  return run.verified;
}

/**
 * syncFeed that gets past bad anchored entries. An entry whose block is the one anchored but is no valid entry of the
 * feed (MalformedEntryError, EntryTooLargeError, EntryMismatchError, ForkedFeedError for a prev that is not the CID
 * anchored before it, InvalidCapError, UnclosedPolygonError, CapTooLargeError, a signature error on the anchored
 * signatures), or whose anchored record names no entry CID, is a permanent gap: reported in `gaps`, and the sync
 * goes on from it (the next entry's prev must be the gap's anchored CID). A block not served, or other bytes served
 * for its CID, stops the sync with what was verified (`unavailable`): try again later from the last entry or gap.
 * The chain's errors (ForkedFeedError for `known`, StaleHeadError, UnknownAlertFeedError) are thrown. `maxEntries`
 * bounds entries and gaps together; onProgress's counts include the gaps passed.
 */
export async function syncFeedSkipping(
  ref: AlertFeedRef,
  chain: AlertFeedChain,
  blocks: BlockGetter,
  options: SyncOptions = {},
): Promise<SkippingSync> {
  checkOptions(ref, options);
  let budget = options.maxEntries ?? 10_000;
  let known = options.known;
  const entries: VerifiedEntry[] = [];
  const gaps: FeedGap[] = [];
  const editorSets = new Map<number, EditorSet>();
  const onProgress = options.onProgress;
  for (;;) {
    const done = entries.length + gaps.length;
    const run = await runSync(
      ref,
      chain,
      blocks,
      {
        ...options,
        known,
        maxEntries: budget,
        onProgress: onProgress === undefined ? undefined : (d, t) => onProgress(done + d, done + t),
      },
      editorSets,
    );
    entries.push(...run.verified);
    budget -= run.verified.length;
    const failure = run.failure;
    if (failure === undefined) return { entries, gaps };
    tagError(failure.error, failure.seq, run.verified);
    if (!failure.permanent || failure.cid === undefined) {
      if (failure.error instanceof FeedUnavailableError || failure.error instanceof BlockMismatchError) {
        const unavailable =
          failure.error instanceof FeedUnavailableError
            ? new FeedUnavailableError(failure.error.message, failure.seq, entries.slice())
            : new FeedUnavailableError(
                `${failure.error.message}; its block was not read (try other replicas)`,
                failure.seq,
                entries.slice(),
              );
        if (failure.error instanceof BlockMismatchError)
          Object.defineProperty(unavailable, "cause", { value: failure.error, configurable: true });
        return { entries, gaps, unavailable };
      }
      throw failure.error;
    }
    gaps.push({ seq: failure.seq, cid: failure.cid, error: failure.error.name, reason: failure.error.message });
    budget -= 1;
    known = { seq: failure.seq, cid: failure.cid };
    if (budget === 0) return { entries, gaps };
  }
}
