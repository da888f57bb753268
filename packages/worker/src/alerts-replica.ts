// A replica of public alert feeds: follows feeds of one AlertFeeds contract, takes their entries from gossipsub
// announcements and, when the on-chain head moves without one, from other replicas over bitswap, and keeps only what
// syncFeedSkipping verified against the chain in its blockstore (entries, and the anchored blocks of gaps: entries no
// one can read, skipped for good), so vaults that pull from it get verified entries or nothing.
import { readFile } from "node:fs/promises";
import {
  type AlertAnnouncement,
  type AlertFeedChain,
  type AlertFeedRef,
  type BlockGetter,
  alertTopic,
  announcementOf,
  checkSignatures,
  decodeAnnouncement,
  decodeEntry,
  type EditorSet,
  EntryMismatchError,
  encodeAnnouncement,
  entryCidOf,
  entryDigest,
  type FeedGap,
  FeedUnavailableError,
  feedName,
  MAX_ENTRY_BYTES,
  type SkippingSync,
  sameFeed,
  syncFeedSkipping,
  type VerifiedEntry,
} from "@mosaic/alerts";
import {
  type CID,
  createLogger,
  deleteBlock,
  getBlock,
  type IpfsNode,
  type Logger,
  namedError,
  parseCid,
  putBlock,
  waitForTopicPeers,
  writeFileAtomic,
} from "@mosaic/protocol";
import type { TopicValidatorResult } from "@libp2p/gossipsub";
import { getBytes, hexlify } from "ethers";

/**
 * An announced entry the chain does not hold: the chain anchored another CID at its seq, or it is further ahead of
 * the chain's head than any honest announcement (editors anchor first, then announce), or it stayed unanchored for
 * longer than the replica keeps pending entries.
 */
export class AlertNotAnchoredError extends namedError("AlertNotAnchoredError") {}

/** A pending (not yet anchored) entry was dropped for newer ones: a feed keeps at most maxPendingPerFeed. */
export class AlertPendingFullError extends namedError("AlertPendingFullError") {}

/** Announcements arrived faster than the replica judges them: past maxQueuedAnnouncements per feed, they are dropped. */
export class AlertQueueFullError extends namedError("AlertQueueFullError") {}

/** The replica's state file is damaged, or is for another chain or AlertFeeds contract. */
export class AlertReplicaStateError extends namedError("AlertReplicaStateError") {}

export interface AlertReplicaInit {
  /** The chain and AlertFeeds contract (lowercase 0x) of the feeds followed. */
  ref: Omit<AlertFeedRef, "feedId">;
  /** Feeds to follow from the start (those in the state file are followed too). */
  feedIds: number[];
  /** The contract's reads: alertFeedChain(contract) of @mosaic/alerts. */
  chain: AlertFeedChain;
  /** The node whose blockstore keeps (and whose bitswap serves) the entries, and whose gossipsub carries announcements. */
  ipfs: IpfsNode;
  /**
   * How often each feed's on-chain head is read.
   * @default 2000
   */
  pollMs?: number;
  /** @default createLogger("alerts-replica") */
  logger?: Logger;
  /**
   * JSON file of the followed feeds and their verified entries (seq, epoch, CID, signers), written atomically after
   * each change; a restart reads the entries back from the blockstore and resumes from the heads it names. Without a
   * file, state lives in memory only.
   * @default undefined
   */
  stateFile?: string;
  /**
   * Announced entries whose signatures hold but which the chain has not anchored yet, kept per feed and checked again
   * on each poll; past this many, the oldest is dropped (AlertPendingFullError).
   * @default 16
   */
  maxPendingPerFeed?: number;
  /**
   * How long a pending entry waits for the chain before it is dropped (AlertNotAnchoredError).
   * @default 600000
   */
  pendingTtlMs?: number;
  /**
   * Announcements waiting to be judged, per feed; past this many, new ones are dropped (AlertQueueFullError).
   * @default 64
   */
  maxQueuedAnnouncements?: number;
  /**
   * How long to wait for one entry block over bitswap.
   * @default 10000
   */
  fetchTimeoutMs?: number;
}

/** Why an announcement (or a catch-up) was refused: the error's name and message, and the feed. */
export interface AlertRejected {
  feedId: number;
  reason: string;
  error: string;
}

export interface AlertReplicaEvents {
  entry: VerifiedEntry;
  rejected: AlertRejected;
}

/** An anchored entry no reader can use (its block is the one anchored, but no valid entry): skipped for good. */
export interface AlertReplicaGap {
  seq: number;
  /** The CID the chain anchored for it. */
  cid: string;
  /** The error's name (MalformedEntryError, InvalidCapError, …). */
  error: string;
  reason: string;
}

/**
 * One followed feed's head as the replica holds it: the last entry or gap (seq 0 and cid "" before the first), and the
 * gaps up to it.
 */
export interface AlertReplicaHead {
  feedId: number;
  seq: number;
  cid: string;
  gaps: AlertReplicaGap[];
}

/** What the state file holds (`gaps` absent in files written before gaps were kept). */
interface StateFile {
  v: 1;
  chainId: number;
  contract: string;
  feeds: {
    feedId: number;
    entries: { seq: number; epoch: number; cid: string; signers: string[]; signatures: string[] }[];
    gaps?: AlertReplicaGap[];
  }[];
}

/** A head as AlertFeedChain.headOf reads it. */
type ChainHead = Awaited<ReturnType<AlertFeedChain["headOf"]>>;

/** What an announcement's bytes were found to be, kept while gossipsub holds the bytes (checked once, not per use). */
interface Parsed {
  /** The feed whose topic (or announce() call) it came for. */
  feedId: number;
  announcement?: AlertAnnouncement;
  /** The entry's CID. */
  cid?: CID;
  /** The same as a string. */
  key?: string;
  /** The announcement verified against the editor set of its epoch. */
  verified?: VerifiedEntry;
  error?: Error;
}

interface Pending {
  seq: number;
  epoch: number;
  bytes: Uint8Array;
  at: number;
}

interface FeedState {
  feedId: number;
  ref: AlertFeedRef;
  topic: string;
  /** Verified entries, seq 1 first. */
  entries: VerifiedEntry[];
  /** Anchored entries that are no valid entry, seq order: skipped for good. */
  gaps: FeedGap[];
  /** The CID (string) of each entry and gap held, by seq. */
  held: Map<number, string>;
  /** Entries announced with valid signatures that the chain has not anchored yet, by CID, oldest first. */
  pending: Map<string, Pending>;
  /** Announcements not judged yet. */
  queue: Uint8Array[];
  draining: boolean;
  polling: boolean;
  /** Serialises the work on this feed: judging, catching up and polling never overlap. */
  busy: Promise<void>;
  /** The last catch-up failure logged, so a stuck feed logs once rather than on every poll. */
  lastFailure: string;
  /**
   * The chain's head ("seq:cid") when a catch-up failed for a reason other than a withheld block (an entry the editors
   * anchored that no check passes, a chain node that disagrees with itself): not tried again until the head moves,
   * so a poisoned feed does not cost a fetch on every poll.
   */
  failedAtHead: string;
  /** The highest head seq the chain reported for this feed. */
  chainHead: number;
  /** The editor epoch of the last head read: new entries are anchored with its editors' signatures only (-1: none read). */
  chainEpoch: number;
  /** When the head was last read (Date.now(); 0: never). */
  headReadAt: number;
  /** The head with the highest seq read so far. */
  lastHead?: ChainHead;
  /** The head read under way, shared by everyone who needs it meanwhile. */
  headRead?: Promise<ChainHead>;
  /** Blocks a catch-up is fetching over bitswap, by CID: an announcement that carries one hands it over at once. */
  wanted: Map<string, (bytes: Uint8Array) => void>;
}

/** An announcement's epoch above the last head's makes the replica read the head again at most this often. */
const HEAD_REFRESH_MS = 1000;
/** The largest block a catch-up reads: bitswap's largest message. syncFeedSkipping hashes a block over MAX_ENTRY_BYTES
 * to tell an oversize anchored entry (a gap) from junk served for its CID. */
const MAX_FETCH_BYTES = 4 * 1024 * 1024;

// Gossipsub's verdicts (a string enum; the worker takes only its type from gossipsub).
const ACCEPT = "accept" as TopicValidatorResult;
const REJECT = "reject" as TopicValidatorResult;
const IGNORE = "ignore" as TopicValidatorResult;

const isFeedId = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1;

/** A feed's last entry or gap: where the next sync starts. */
const lastOf = (feed: FeedState): { seq: number; cid: CID } | undefined => {
  const entry = feed.entries.at(-1);
  const gap = feed.gaps.at(-1);
  return gap === undefined || (entry !== undefined && entry.seq > gap.seq) ? entry : gap;
};

/** Creates a replica; `start()` it, `follow()` more feeds, `stop()` it. */
export function createAlertReplica(init: AlertReplicaInit): AlertReplica {
  return new AlertReplica(init);
}

export class AlertReplica extends EventTarget {
  readonly ref: Omit<AlertFeedRef, "feedId">;
  readonly #init: Required<Omit<AlertReplicaInit, "stateFile" | "logger">> & { stateFile?: string };
  readonly #log: Logger;
  readonly #feeds = new Map<number, FeedState>();
  readonly #byTopic = new Map<string, FeedState>();
  /** Per editor set: `${feedId}:${epoch}` → the set (an epoch's editors never change). */
  readonly #editors = new Map<string, Promise<{ editors: string[]; threshold: number }>>();
  /** The editor sets read so far, for gossipsub's synchronous check. */
  readonly #editorsKnown = new Map<string, { editors: string[]; threshold: number }>();
  /** init.chain with editor sets read once per epoch: what syncFeed reads. */
  readonly #chain: AlertFeedChain;
  #running = false;
  #timer?: NodeJS.Timeout;
  #abort = new AbortController();
  #saving: Promise<void> = Promise.resolve();
  #onMessage?: (evt: CustomEvent<{ topic: string; data: Uint8Array }>) => void;
  readonly #counts = { duplicates: 0, dropped: 0, stored: 0, gaps: 0, rejected: {} as Record<string, number> };
  /** What each announcement's bytes were found to be: gossipsub's check and the judge share one decoding. */
  readonly #parsed = new WeakMap<Uint8Array, Parsed>();

  constructor(init: AlertReplicaInit) {
    super();
    const contract = init.ref?.contract;
    if (typeof contract !== "string" || !/^0x[0-9a-f]{40}$/.test(contract))
      throw new TypeError(`init.ref.contract: expected the AlertFeeds address in lowercase 0x hex, got ${JSON.stringify(contract)}`);
    if (!Number.isSafeInteger(init.ref.chainId) || init.ref.chainId < 1)
      throw new RangeError(`init.ref.chainId: expected a chain id, got ${JSON.stringify(init.ref.chainId)}`);
    if (!Array.isArray(init.feedIds) || !init.feedIds.every(isFeedId))
      throw new RangeError(`init.feedIds: expected feed ids (integers >= 1), got ${JSON.stringify(init.feedIds)}`);
    const positive = (name: string, value: number | undefined, fallback: number, min: number, max: number): number => {
      const v = value ?? fallback;
      if (!Number.isSafeInteger(v) || v < min || v > max)
        throw new RangeError(`init.${name}: expected an integer in ${min}..${max}, got ${v}`);
      return v;
    };
    this.ref = { chainId: init.ref.chainId, contract };
    this.#chain = {
      headOf: (feedId) => init.chain.headOf(feedId),
      anchored: (feedId, fromSeq, toSeq) => init.chain.anchored(feedId, fromSeq, toSeq),
      editorsAt: (feedId, epoch) => this.#editorSet(feedId, epoch),
    };
    this.#log = init.logger ?? createLogger("alerts-replica");
    this.#init = {
      ref: this.ref,
      feedIds: [...init.feedIds],
      chain: init.chain,
      ipfs: init.ipfs,
      stateFile: init.stateFile,
      pollMs: positive("pollMs", init.pollMs, 2000, 10, 3_600_000),
      maxPendingPerFeed: positive("maxPendingPerFeed", init.maxPendingPerFeed, 16, 1, 1024),
      pendingTtlMs: positive("pendingTtlMs", init.pendingTtlMs, 600_000, 1, 86_400_000),
      maxQueuedAnnouncements: positive("maxQueuedAnnouncements", init.maxQueuedAnnouncements, 64, 1, 100_000),
      fetchTimeoutMs: positive("fetchTimeoutMs", init.fetchTimeoutMs, 10_000, 10, 600_000),
    };
  }

  /** Listens for one kind of event; returns the function that stops listening. */
  on<K extends keyof AlertReplicaEvents>(type: K, listener: (detail: AlertReplicaEvents[K]) => void): () => void {
    const l = (evt: Event) => listener((evt as CustomEvent<AlertReplicaEvents[K]>).detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  #emit<K extends keyof AlertReplicaEvents>(type: K, detail: AlertReplicaEvents[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Reads the state file (its entries back from the blockstore), follows its feeds and init.feedIds, subscribes to
   * their topics and starts polling. Resolves once subscribed; the first catch-up runs in the background (poll()
   * waits for one).
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#abort = new AbortController();
    const saved = await this.#load();
    const pubsub = this.#init.ipfs.libp2p.services.pubsub;
    this.#onMessage = (evt) => {
      const feed = this.#byTopic.get(evt.detail.topic);
      if (feed !== undefined) this.announce(feed.feedId, evt.detail.data);
    };
    pubsub.addEventListener("message", this.#onMessage as never);
    this.#running = true;
    for (const [feedId, { entries, gaps }] of saved) this.#add(feedId, entries, gaps);
    for (const feedId of this.#init.feedIds) if (!this.#feeds.has(feedId)) this.#add(feedId, []);
    await this.#save();
    this.#log("info", "alerts:replica-started", { ...this.ref, feeds: this.heads() });
    void this.poll();
    this.#schedule();
  }

  /** Stops listening and polling, lets the work under way end (fetches are cut short), and writes the state file. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    this.#abort.abort();
    const pubsub = this.#init.ipfs.libp2p.services.pubsub;
    if (this.#onMessage !== undefined) pubsub.removeEventListener("message", this.#onMessage as never);
    for (const feed of this.#feeds.values()) {
      feed.queue.length = 0;
      pubsub.unsubscribe(feed.topic);
      if (pubsub.topicValidators.get(feed.topic) === this.#validate) pubsub.topicValidators.delete(feed.topic);
    }
    await Promise.allSettled([...this.#feeds.values()].map((f) => f.busy));
    await this.#saving.catch(() => undefined);
    this.#log("info", "alerts:replica-stopped", { feeds: this.heads() });
  }

  /**
   * Follows one more feed: checks the chain knows it (UnknownAlertFeedError otherwise, nothing changed), subscribes
   * to its topic, records it in the state file, and catches up with it once (a failure to reach its entries is
   * logged; the next polls try again).
   */
  async follow(feedId: number): Promise<void> {
    if (!isFeedId(feedId)) throw new RangeError(`feedId: expected an integer >= 1, got ${JSON.stringify(feedId)}`);
    if (!this.#running) throw new TypeError("follow: the replica is not started");
    if (this.#feeds.has(feedId)) return;
    await this.#init.chain.headOf(feedId);
    if (this.#feeds.has(feedId)) return;
    const feed = this.#add(feedId, []);
    await this.#save();
    await this.#work(feed, () => this.#catchUp(feed));
  }

  /** Every followed feed's verified head: its last entry or gap, and the gaps. */
  heads(): AlertReplicaHead[] {
    return [...this.#feeds.values()].map((f) => {
      const last = lastOf(f);
      return {
        feedId: f.feedId,
        seq: last?.seq ?? 0,
        cid: last?.cid.toString() ?? "",
        gaps: f.gaps.map((g) => ({ seq: g.seq, cid: g.cid.toString(), error: g.error, reason: g.reason })),
      };
    });
  }

  /** A followed feed's verified entries, seq 1 first (empty for a feed not followed). */
  entries(feedId: number): VerifiedEntry[] {
    return [...(this.#feeds.get(feedId)?.entries ?? [])];
  }

  /** The feeds followed, announcements waiting and pending, and counts of what was stored, dropped and rejected. */
  status(): Record<string, unknown> {
    return {
      ...this.ref,
      feeds: [...this.#feeds.values()].map((f) => ({
        feedId: f.feedId,
        seq: lastOf(f)?.seq ?? 0,
        gaps: f.gaps.length,
        pending: f.pending.size,
        queued: f.queue.length,
      })),
      stored: this.#counts.stored,
      gaps: this.#counts.gaps,
      duplicates: this.#counts.duplicates,
      dropped: this.#counts.dropped,
      rejected: { ...this.#counts.rejected },
    };
  }

  /**
   * Reads every followed feed's head once and catches up where it moved (what the timer does); resolves when done.
   */
  async poll(): Promise<void> {
    await Promise.all(
      [...this.#feeds.values()].map((feed) => {
        if (feed.polling) return feed.busy;
        feed.polling = true;
        return this.#work(feed, async () => {
          try {
            await this.#poll(feed);
          } finally {
            feed.polling = false;
          }
        });
      }),
    );
  }

  /** Waits until every announcement received so far has been judged. */
  async drain(): Promise<void> {
    for (;;) {
      const feeds = [...this.#feeds.values()];
      await Promise.allSettled(feeds.map((f) => f.busy));
      if (feeds.every((f) => f.queue.length === 0 && !f.draining)) return;
    }
  }

  /**
   * One announcement for `feedId`, as its topic delivers it: queued to be judged (at most maxQueuedAnnouncements
   * wait per feed; more are dropped with AlertQueueFullError).
   */
  announce(feedId: number, data: Uint8Array): void {
    const feed = this.#feeds.get(feedId);
    if (feed === undefined || !this.#running) return;
    if (feed.queue.length >= this.#init.maxQueuedAnnouncements) {
      this.#counts.dropped++;
      this.#reject(
        feed,
        new AlertQueueFullError(`${feed.queue.length} announcements already wait for feed ${feedId}; this one is dropped`),
        this.#counts.dropped % 1000 === 1,
      );
      return;
    }
    // A catch-up waiting on bitswap for this entry takes it from here (it checks the bytes against the anchored CID),
    // rather than wait behind it in the queue.
    if (feed.wanted.size > 0) {
      const parsed = this.#parse(feed, data);
      const give = parsed.key === undefined ? undefined : feed.wanted.get(parsed.key);
      if (give !== undefined && parsed.announcement !== undefined) give(parsed.announcement.entry);
    }
    feed.queue.push(data);
    if (feed.draining) return;
    feed.draining = true;
    void this.#work(feed, async () => {
      try {
        for (let data = feed.queue.shift(); data !== undefined && this.#running; data = feed.queue.shift()) await this.#judge(feed, data);
      } finally {
        feed.draining = false;
      }
    });
  }

  // -- internals -------------------------------------------------------------------------------------------------

  #add(feedId: number, entries: VerifiedEntry[], gaps: FeedGap[] = []): FeedState {
    const ref: AlertFeedRef = { ...this.ref, feedId };
    const held = new Map<number, string>();
    for (const e of [...entries, ...gaps]) held.set(e.seq, e.cid.toString());
    const feed: FeedState = {
      feedId,
      ref,
      topic: alertTopic(ref),
      entries,
      gaps,
      held,
      pending: new Map(),
      queue: [],
      draining: false,
      polling: false,
      busy: Promise.resolve(),
      lastFailure: "",
      failedAtHead: "",
      chainHead: 0,
      chainEpoch: -1,
      headReadAt: 0,
      wanted: new Map(),
    };
    this.#feeds.set(feedId, feed);
    this.#byTopic.set(feed.topic, feed);
    const pubsub = this.#init.ipfs.libp2p.services.pubsub;
    pubsub.topicValidators.set(feed.topic, this.#validate);
    pubsub.subscribe(feed.topic);
    return feed;
  }

  /** Runs `fn` after the work already queued on `feed`; never rejects (a failure is logged). */
  #work(feed: FeedState, fn: () => Promise<void>): Promise<void> {
    const run = feed.busy.then(fn).catch((err: unknown) => {
      this.#log("error", "alerts:failed", { feedId: feed.feedId, reason: (err as Error)?.name, message: (err as Error)?.message });
    });
    feed.busy = run;
    return run;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, this.#init.pollMs);
  }

  #editorSet(feedId: number, epoch: number): Promise<{ editors: string[]; threshold: number }> {
    const key = `${feedId}:${epoch}`;
    let set = this.#editors.get(key);
    if (set === undefined) {
      set = this.#init.chain.editorsAt(feedId, epoch);
      this.#editors.set(key, set);
      set.then(
        (known) => this.#editorsKnown.set(key, known),
        // An epoch the chain does not know (yet) is asked again next time.
        () => this.#editors.delete(key),
      );
    }
    return set;
  }

  /**
   * Gossipsub's check of each message on a followed topic, before it is delivered or forwarded, with no chain read:
   * one that does not decode as an announcement of the feed, that the last head read says the chain cannot anchor
   * (#bounds), or whose signatures fail against an editor set already read, is rejected here (and reported as
   * "rejected"), so junk stops at the first replica and lowers its sender's score instead of crossing the mesh. The
   * rest is delivered to #judge, which does the whole check.
   */
  readonly #validate = (_peer: unknown, message: { topic: string; data: Uint8Array }): TopicValidatorResult => {
    const feed = this.#byTopic.get(message.topic);
    if (feed === undefined || !this.#running) return IGNORE;
    const parsed = this.#parse(feed, message.data);
    try {
      if (parsed.error !== undefined) throw parsed.error;
      const a = parsed.announcement as AlertAnnouncement;
      // The entry held or pending: a duplicate, for the judge to count. Another at a seq held: refused as the judge would.
      const held = feed.held.get(a.seq);
      if (held === parsed.key || feed.pending.has(parsed.key as string)) return ACCEPT;
      if (held !== undefined) throw new AlertNotAnchoredError(`feed ${feed.feedId} seq ${a.seq} is anchored as ${held}, not ${parsed.key}`);
      const problem = this.#bounds(feed, a, true);
      if (problem !== undefined) throw problem;
      const editors = this.#editorsKnown.get(`${feed.feedId}:${a.epoch}`);
      if (editors !== undefined) this.#verify(parsed, editors);
      return ACCEPT;
    } catch (err) {
      this.#reject(feed, err);
      return REJECT;
    }
  };

  /** What an announcement's bytes are (decoded, its entry's CID), found once per message and remembered. */
  #parse(feed: FeedState, data: Uint8Array): Parsed {
    let parsed = this.#parsed.get(data);
    if (parsed === undefined || parsed.feedId !== feed.feedId) {
      try {
        // Oversize, not canonical dag-cbor, another feed's: MalformedAnnouncementError.
        const announcement = decodeAnnouncement(data, feed.ref);
        const cid = entryCidOf(announcement.entry);
        parsed = { feedId: feed.feedId, announcement, cid, key: cid.toString() };
      } catch (err) {
        parsed = { feedId: feed.feedId, error: err as Error };
      }
      this.#parsed.set(data, parsed);
    }
    return parsed;
  }

  /**
   * An announcement checked against the editors of its epoch as checkAnnouncement does, but signatures first: an
   * entry (up to 300 KB of CAP) is decoded only once the editors' signatures over its CID hold. Remembered with the
   * message (an epoch's editors never change).
   */
  #verify(parsed: Parsed, editors: EditorSet): VerifiedEntry {
    if (parsed.verified !== undefined) return parsed.verified;
    const a = parsed.announcement as AlertAnnouncement;
    const cid = parsed.cid as CID;
    const signers = checkSignatures(entryDigest(a.feed, a.epoch, a.seq, cid), a.signatures, editors);
    const entry = decodeEntry(a.entry, cid);
    if (!sameFeed(entry.feed, a.feed) || entry.seq !== a.seq || entry.epoch !== a.epoch)
      throw new EntryMismatchError(
        `the announced entry is entry ${entry.seq} (epoch ${entry.epoch}) of ${feedName(entry.feed)}, announced as entry ${a.seq} (epoch ${a.epoch}) of ${feedName(a.feed)}`,
        a.seq,
      );
    parsed.verified = {
      ref: { ...a.feed },
      seq: a.seq,
      epoch: a.epoch,
      cid,
      entry,
      signers,
      bytes: a.entry,
      signatures: a.signatures.slice(),
    };
    return parsed.verified;
  }

  /**
   * Why the chain, as its last head read says, will never anchor an announced entry of a seq not held (undefined when
   * it may, or before the first head read). The contract anchors a new entry only with the signatures of its current
   * epoch's editors: an epoch above the head's cannot be anchored (`nextEpoch` lets the head's epoch + 1 through: the
   * editors may have rotated since the head was read), and a seq past the head signed by an earlier epoch's editors
   * never will be (an editor rotated out could otherwise fill the pending set and push genuine entries out); nor will
   * a seq further ahead than maxPendingPerFeed (editors anchor, then announce).
   */
  #bounds(feed: FeedState, a: AlertAnnouncement, nextEpoch: boolean): AlertNotAnchoredError | undefined {
    if (feed.headReadAt === 0) return undefined;
    const epoch = feed.chainEpoch;
    if (a.epoch > epoch + (nextEpoch ? 1 : 0))
      return new AlertNotAnchoredError(`feed ${feed.feedId} has no editor epoch ${a.epoch} on the chain (its head is at epoch ${epoch})`);
    if (a.seq > feed.chainHead && a.epoch < epoch)
      return new AlertNotAnchoredError(
        `feed ${feed.feedId} entry ${a.seq} is signed by the editors of epoch ${a.epoch}, but the chain (at entry ${feed.chainHead}) anchors new entries with epoch ${epoch}'s only`,
      );
    const limit = Math.max(feed.chainHead, lastOf(feed)?.seq ?? 0) + this.#init.maxPendingPerFeed;
    if (a.seq > limit)
      return new AlertNotAnchoredError(
        `feed ${feed.feedId} seq ${a.seq} is ${a.seq - feed.chainHead} ahead of the chain's head ${feed.chainHead}; editors anchor before they announce`,
      );
    return undefined;
  }

  /** Reads the feed's head (one read shared by everyone asking meanwhile) and remembers the highest seen. */
  #readHead(feed: FeedState): Promise<ChainHead> {
    if (feed.headRead === undefined) {
      const read = this.#init.chain.headOf(feed.feedId).then((head) => {
        if (head.seq >= (feed.lastHead?.seq ?? 0)) feed.lastHead = head;
        feed.chainHead = Math.max(feed.chainHead, head.seq);
        feed.chainEpoch = Math.max(feed.chainEpoch, head.epoch);
        feed.headReadAt = Date.now();
        // The current editors, read once per epoch before an announcement needs them: gossipsub's check then has
        // them for the first announcement too.
        this.#editorSet(feed.feedId, head.epoch).catch(() => undefined);
        return head;
      });
      feed.headRead = read;
      read
        .finally(() => {
          if (feed.headRead === read) feed.headRead = undefined;
        })
        .catch(() => undefined);
    }
    return feed.headRead;
  }

  /**
   * Judges one announcement, cheapest check first and no chain read for junk: size, shape and feed
   * (decodeAnnouncement); the same entry held or pending is a duplicate, another at a seq held is AlertNotAnchoredError;
   * then what the last head read allows (#bounds: the head is read again first only before the first read, or for an
   * epoch above the head's at most once per HEAD_REFRESH_MS); then the signatures against the editors of its epoch and
   * the entry (#verify). A signed entry joins the pending set and is stored through syncFeedSkipping, which takes the
   * pending bytes first and checks them against what the chain anchored (CID and signatures), as soon as the chain
   * holds it: at once when the head read last reaches its seq; for the entry after the last one held, when the chain's
   * AlertAnchored events name it (one read: the head is not read first, and syncFeedSkipping reads nothing more);
   * otherwise after reading the head again. One the chain anchored another CID for is rejected when the chain passes
   * its seq; one ahead of the chain waits for the next poll. Nothing is stored unless syncFeedSkipping returns it.
   */
  async #judge(feed: FeedState, data: Uint8Array): Promise<void> {
    const parsed = this.#parse(feed, data);
    let verified: VerifiedEntry;
    try {
      if (parsed.error !== undefined) throw parsed.error;
      const a = parsed.announcement as AlertAnnouncement;
      const cid = parsed.key as string;
      const held = feed.held.get(a.seq);
      if (held !== undefined) {
        if (held === cid) {
          this.#counts.duplicates++;
          return;
        }
        throw new AlertNotAnchoredError(`feed ${feed.feedId} seq ${a.seq} is anchored as ${held}, not ${cid}`);
      }
      if (feed.pending.has(cid)) {
        this.#counts.duplicates++;
        return;
      }
      if (feed.headReadAt === 0 || (a.epoch > feed.chainEpoch && Date.now() - feed.headReadAt >= HEAD_REFRESH_MS))
        await this.#readHead(feed);
      const problem = this.#bounds(feed, a, false);
      if (problem !== undefined) throw problem;
      const editors = await this.#editorSet(feed.feedId, a.epoch).catch((err: Error) => {
        throw new AlertNotAnchoredError(`feed ${feed.feedId} has no editor epoch ${a.epoch} on the chain (yet): ${err.message}`);
      });
      verified = this.#verify(parsed, editors);
    } catch (err) {
      this.#reject(feed, err);
      return;
    }
    this.#addPending(feed, verified.cid.toString(), {
      seq: verified.seq,
      epoch: verified.epoch,
      bytes: verified.bytes,
      at: Date.now(),
    });
    try {
      let head = feed.lastHead;
      if (head !== undefined && head.seq >= verified.seq) return await this.#catchUp(feed, head);
      const known = lastOf(feed);
      if (verified.seq === (known?.seq ?? 0) + 1) {
        // The next entry, past the head read last: whether the chain anchored it is read from its AlertAnchored events
        // alone (one read, not the head's and then the events'), and syncFeedSkipping checks it against them.
        const from = Math.max(1, known?.seq ?? 1);
        const anchored = await this.#chain.anchored(feed.feedId, from, verified.seq);
        const a = anchored.get(verified.seq);
        if (a === undefined) return; // not anchored yet: it waits for a poll
        feed.chainHead = Math.max(feed.chainHead, verified.seq);
        feed.chainEpoch = Math.max(feed.chainEpoch, a.epoch);
        if (a.entryCid.equals(verified.cid)) {
          const snapshot: AlertFeedChain = {
            ...this.#chain,
            headOf: async () => ({ seq: verified.seq, epoch: a.epoch, entryCid: a.entryCid }),
            anchored: async (feedId, lo, hi) => (lo >= from && hi <= verified.seq ? anchored : this.#chain.anchored(feedId, lo, hi)),
          };
          return await this.#catchUp(feed, snapshot);
        }
      }
      head = await this.#readHead(feed);
      if (head.seq >= verified.seq) await this.#catchUp(feed, head);
    } catch (err) {
      this.#log("warn", "alerts:chain-unread", { feedId: feed.feedId, message: (err as Error).message });
    }
  }

  #addPending(feed: FeedState, cid: string, pending: Pending): void {
    while (feed.pending.size >= this.#init.maxPendingPerFeed) {
      const [oldest, p] = feed.pending.entries().next().value as [string, Pending];
      feed.pending.delete(oldest);
      this.#reject(
        feed,
        new AlertPendingFullError(
          `entry ${oldest} (seq ${p.seq}) dropped: ${this.#init.maxPendingPerFeed} newer entries wait for the chain`,
        ),
      );
    }
    feed.pending.set(cid, pending);
  }

  async #poll(feed: FeedState): Promise<void> {
    if (!this.#running) return;
    const now = Date.now();
    for (const [cid, p] of feed.pending)
      if (now - p.at > this.#init.pendingTtlMs) {
        feed.pending.delete(cid);
        this.#reject(feed, new AlertNotAnchoredError(`entry ${cid} (seq ${p.seq}) was not anchored within ${this.#init.pendingTtlMs} ms`));
      }
    const head = await this.#readHead(feed);
    const known = lastOf(feed);
    if (feed.failedAtHead === `${head.seq}:${head.entryCid}`) return;
    if (head.seq !== (known?.seq ?? 0) || (head.entryCid !== null && known !== undefined && !head.entryCid.equals(known.cid))) {
      await this.#catchUp(feed, head);
      if (feed.lastFailure !== "" && !feed.lastFailure.startsWith(`${FeedUnavailableError.name}:`))
        feed.failedAtHead = `${head.seq}:${head.entryCid}`;
    }
  }

  /**
   * Brings the feed up to `at` (the chain's head read just before, or the chain's reads as one announcement's
   * judge found them; syncFeedSkipping reads the head when absent) with
   * syncFeedSkipping: blocks from the pending announcements and those waiting to be judged first, else the local
   * blockstore, else peers over bitswap (each within fetchTimeoutMs, cut short when an announcement brings it). The
   * entries it returns are stored and announced as events, its gaps (anchored entries no one can read) recorded and
   * reported once; pending entries the chain has passed are settled. Blocks fetched but neither an entry nor a gap
   * are deleted again: the blockstore holds only blocks the chain anchored, entries verified and the gaps' blocks.
   */
  async #catchUp(feed: FeedState, at?: ChainHead | AlertFeedChain): Promise<void> {
    if (!this.#running) return;
    const ipfs = this.#init.ipfs;
    const known = lastOf(feed);
    const fromPending = new Map<string, Uint8Array>();
    for (const [cid, p] of feed.pending) fromPending.set(cid, p.bytes);
    const fetched = new Set<string>();
    const blocks: BlockGetter = {
      get: (cid, options = {}) => {
        const key = cid.toString();
        const bytes = fromPending.get(key) ?? this.#queued(feed, key);
        return bytes !== undefined ? Promise.resolve(bytes) : this.#fetch(feed, cid, fetched, options.signal);
      },
    };
    const chain: AlertFeedChain = at === undefined ? this.#chain : "anchored" in at ? at : { ...this.#chain, headOf: async () => at };
    let result: SkippingSync = { entries: [], gaps: [] };
    let failure: Error | undefined;
    try {
      result = await syncFeedSkipping(feed.ref, chain, blocks, {
        known: known === undefined ? undefined : { seq: known.seq, cid: known.cid },
        signal: this.#abort.signal,
      });
      // A block withheld (or forged): the entries and gaps before it are kept.
      failure = result.unavailable;
    } catch (err) {
      failure = err as Error;
    }
    const { entries: verified, gaps } = result;
    // A gap's block is the one the chain anchored: kept and served, so that readers syncing from this replica can
    // tell the gap too and go on past it.
    const keep = new Set([...verified, ...gaps].map((v) => v.cid.toString()));
    await Promise.all(
      [...fetched]
        .filter((cid) => !keep.has(cid))
        .map((cid) =>
          deleteBlock(ipfs, parseCid(cid)).catch((err: Error) => this.#log("warn", "alerts:delete-failed", { cid, message: err.message })),
        ),
    );
    if (failure !== undefined) this.#failed(feed, known?.seq ?? 0, failure);
    else {
      feed.lastFailure = "";
      feed.failedAtHead = "";
    }
    if ((verified.length === 0 && gaps.length === 0) || !this.#running) return;
    for (const v of verified) await putBlock(ipfs.blockstore, { cid: v.cid, bytes: v.bytes });
    feed.entries.push(...verified);
    feed.gaps.push(...gaps);
    for (const e of [...verified, ...gaps]) feed.held.set(e.seq, e.cid.toString());
    const last = lastOf(feed) as { seq: number; cid: CID };
    // Pending entries the chain has passed: those it anchored are stored now, the others never will be.
    for (const [cid, p] of feed.pending) {
      if (p.seq > last.seq) continue;
      feed.pending.delete(cid);
      const anchored = feed.held.get(p.seq);
      if (anchored !== cid)
        this.#reject(feed, new AlertNotAnchoredError(`feed ${feed.feedId} seq ${p.seq} was anchored as ${anchored}, not ${cid}`));
    }
    await this.#save();
    this.#counts.stored += verified.length;
    this.#counts.gaps += gaps.length;
    if (verified.length > 0)
      this.#log("info", "alerts:entries-stored", {
        feedId: feed.feedId,
        from: verified[0]?.seq,
        to: verified.at(-1)?.seq,
        cid: verified.at(-1)?.cid.toString(),
      });
    // A gap is reported once: the state file keeps it, and it is never fetched again.
    for (const g of gaps) {
      this.#log("error", "alerts:gap", { feedId: feed.feedId, seq: g.seq, cid: g.cid.toString(), reason: g.error, message: g.reason });
      this.#reject(feed, { name: g.error, message: `entry ${g.seq} (${g.cid}) could not be read: ${g.reason}` }, false);
    }
    for (const v of verified) this.#emit("entry", v);
  }

  /** An entry block carried by an announcement still waiting to be judged (the caller checks it against the chain). */
  #queued(feed: FeedState, cid: string): Uint8Array | undefined {
    for (const data of feed.queue) {
      const parsed = this.#parse(feed, data);
      if (parsed.key === cid) return parsed.announcement?.entry;
    }
    return undefined;
  }

  /**
   * One block from the local store or over bitswap, within fetchTimeoutMs; an announcement carrying it that arrives
   * meanwhile ends the wait (announce()), so a poll that saw the head move just before the announcement came does not
   * hold the feed for a fetch timeout. A block bitswap may have stored is added to `fetched`.
   */
  async #fetch(feed: FeedState, cid: CID, fetched: Set<string>, signal?: AbortSignal): Promise<Uint8Array> {
    const ipfs = this.#init.ipfs;
    const signals = [this.#abort.signal, AbortSignal.timeout(this.#init.fetchTimeoutMs)];
    if (signal !== undefined) signals.push(signal);
    // Local only: what this replica holds already.
    if (await ipfs.blockstore.has(cid))
      return getBlock(ipfs.blockstore, cid, { maxBytes: MAX_FETCH_BYTES, signal: AbortSignal.any(signals) });
    const key = cid.toString();
    const handed = new AbortController();
    signals.push(handed.signal);
    return new Promise<Uint8Array>((resolve, reject) => {
      feed.wanted.set(key, (bytes) => {
        handed.abort();
        resolve(bytes);
      });
      getBlock(ipfs.blockstore, cid, { maxBytes: MAX_FETCH_BYTES, signal: AbortSignal.any(signals) })
        .then(resolve, reject)
        .finally(() => {
          feed.wanted.delete(key);
          if (!handed.signal.aborted) fetched.add(key);
        });
    });
  }

  /** A catch-up that failed: logged once until it fails otherwise; anything but a withheld block is also "rejected". */
  #failed(feed: FeedState, knownSeq: number, err: Error): void {
    if (!this.#running) return;
    const failure = `${err.name}: ${err.message}`;
    if (failure === feed.lastFailure) return;
    feed.lastFailure = failure;
    const unavailable = err instanceof FeedUnavailableError;
    this.#log(unavailable ? "warn" : "error", "alerts:catch-up-failed", {
      feedId: feed.feedId,
      known: knownSeq,
      reason: err.name,
      message: err.message,
    });
    // A withheld block is no one's fault yet; anything else is a peer or a chain node that is not what it should be.
    if (!unavailable) this.#reject(feed, err, false);
  }

  #reject(feed: FeedState, err: unknown, log = true): void {
    const reason = String((err as Error)?.name ?? "Error");
    const error = String((err as Error)?.message ?? err).slice(0, 300);
    this.#counts.rejected[reason] = (this.#counts.rejected[reason] ?? 0) + 1;
    if (log) this.#log("info", "alerts:rejected", { feedId: feed.feedId, reason, message: error });
    this.#emit("rejected", { feedId: feed.feedId, reason, error });
  }

  /**
   * Reads the state file: each feed's entries back from the blockstore and its gaps, in seq order, up to the first
   * entry missing or damaged.
   */
  async #load(): Promise<Map<number, { entries: VerifiedEntry[]; gaps: FeedGap[] }>> {
    const out = new Map<number, { entries: VerifiedEntry[]; gaps: FeedGap[] }>();
    const file = this.#init.stateFile;
    if (file === undefined) return out;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
      throw err;
    }
    let state: StateFile;
    try {
      state = JSON.parse(text) as StateFile;
    } catch (err) {
      throw new AlertReplicaStateError(`${file}: not JSON (${(err as Error).message}); move it away to start over from the chain`);
    }
    if (state?.v !== 1 || !Array.isArray(state.feeds)) throw new AlertReplicaStateError(`${file}: not an alert replica state file`);
    if (state.chainId !== this.ref.chainId || state.contract !== this.ref.contract)
      throw new AlertReplicaStateError(
        `${file}: for AlertFeeds ${state.contract} on chain ${state.chainId}, not ${this.ref.contract} on chain ${this.ref.chainId}; use another state file`,
      );
    for (const f of state.feeds) {
      if (!isFeedId(f?.feedId) || !Array.isArray(f.entries)) throw new AlertReplicaStateError(`${file}: a feed without a valid feedId`);
      const ref: AlertFeedRef = { ...this.ref, feedId: f.feedId };
      const entries: VerifiedEntry[] = [];
      const gaps: FeedGap[] = [];
      const gapAt = new Map<number, AlertReplicaGap>();
      for (const g of Array.isArray(f.gaps) ? f.gaps : []) gapAt.set(g?.seq, g);
      // The last entry or gap read back, and where the next belongs.
      let prev: CID | null = null;
      const takeGaps = () => {
        for (let g = gapAt.get(entries.length + gaps.length + 1); g !== undefined; g = gapAt.get(entries.length + gaps.length + 1)) {
          if (typeof g.error !== "string" || typeof g.reason !== "string") throw new RangeError(`gap ${g.seq} without its error`);
          const cid = parseCid(g.cid);
          gaps.push({ seq: g.seq, cid, error: g.error, reason: g.reason });
          prev = cid;
        }
      };
      for (const e of f.entries) {
        try {
          takeGaps();
          const seq = entries.length + gaps.length + 1;
          if (e.seq !== seq) throw new RangeError(`seq ${e.seq} where ${seq} belongs`);
          const cid = parseCid(e.cid);
          // Local only: what this replica stored, not what a peer would hand it now.
          if (!(await this.#init.ipfs.blockstore.has(cid))) throw new RangeError(`block ${e.cid} is not in the blockstore`);
          const bytes = await getBlock(this.#init.ipfs.blockstore, cid, { maxBytes: MAX_ENTRY_BYTES });
          const entry = decodeEntry(bytes, cid);
          if (entry.seq !== e.seq || (prev === null ? entry.prev !== null : entry.prev?.equals(prev) !== true))
            throw new RangeError(`block ${e.cid} is not entry ${e.seq} linking to the one before`);
          if (!Array.isArray(e.signers) || !Array.isArray(e.signatures))
            throw new RangeError(`entry ${e.seq} without its signers and signatures`);
          entries.push({
            ref,
            seq: e.seq,
            epoch: e.epoch,
            cid,
            entry,
            signers: [...e.signers],
            bytes,
            signatures: e.signatures.map((h) => getBytes(h)),
          });
          prev = cid;
        } catch (err) {
          this.#log("warn", "alerts:state-truncated", { feedId: f.feedId, seq: e?.seq, message: (err as Error).message });
          gapAt.clear();
          break;
        }
      }
      try {
        takeGaps();
      } catch (err) {
        this.#log("warn", "alerts:state-truncated", { feedId: f.feedId, message: (err as Error).message });
      }
      out.set(f.feedId, { entries, gaps });
    }
    return out;
  }

  /** Writes the state file (atomically; writes run one after another). */
  #save(): Promise<void> {
    const file = this.#init.stateFile;
    if (file === undefined) return Promise.resolve();
    const state: StateFile = {
      v: 1,
      chainId: this.ref.chainId,
      contract: this.ref.contract,
      feeds: [...this.#feeds.values()].map((f) => ({
        feedId: f.feedId,
        entries: f.entries.map((e) => ({
          seq: e.seq,
          epoch: e.epoch,
          cid: e.cid.toString(),
          signers: e.signers,
          signatures: e.signatures.map((sig) => hexlify(sig)),
        })),
        gaps: f.gaps.map((g) => ({ seq: g.seq, cid: g.cid.toString(), error: g.error, reason: g.reason })),
      })),
    };
    const text = `${JSON.stringify(state)}\n`;
    const run = this.#saving.catch(() => undefined).then(() => writeFileAtomic(file, text));
    this.#saving = run;
    return run;
  }
}

export interface AnnounceEntryOptions {
  signal?: AbortSignal;
  /**
   * How long to wait for a peer subscribed to the feed's topic.
   * @default 10000
   */
  timeoutMs?: number;
}

/**
 * Announces an anchored entry on its feed's topic, what an editor's CLI does after anchoring: puts the entry block in
 * the node's blockstore (so replicas that missed the message can fetch it over bitswap while the node runs), waits
 * until at least one peer subscribed to the topic is known (WaitTimeoutError after timeoutMs), then publishes.
 * Takes the announcement itself or a VerifiedEntry (which carries the block and the signatures anchored). Resolves
 * with the number of peers the message was sent to.
 */
export async function announceEntry(
  ipfs: IpfsNode,
  entry: VerifiedEntry | AlertAnnouncement,
  options: AnnounceEntryOptions = {},
): Promise<number> {
  const announcement = "bytes" in entry ? announcementOf(entry) : entry;
  const data = encodeAnnouncement(announcement);
  const decoded = decodeEntry(announcement.entry);
  if (decoded.seq !== announcement.seq) throw new RangeError(`entry.seq: ${announcement.seq}, but the entry block is seq ${decoded.seq}`);
  await putBlock(ipfs.blockstore, { cid: entryCidOf(announcement.entry), bytes: announcement.entry }, { signal: options.signal });
  const topic = alertTopic(announcement.feed);
  await waitForTopicPeers(ipfs, topic, 1, { signal: options.signal, timeoutMs: options.timeoutMs });
  options.signal?.throwIfAborted();
  const { recipients } = await ipfs.libp2p.services.pubsub.publish(topic, data);
  return recipients.length;
}
