// A replica of public alert feeds: follows feeds of one AlertFeeds contract, takes their entries from gossipsub
// announcements and, when the on-chain head moves without one, from other replicas over bitswap, and keeps only what
// syncFeed verified against the chain in its blockstore, so vaults that pull from it get verified entries or nothing.
import { readFile } from "node:fs/promises";
import {
  type AlertAnnouncement,
  type AlertFeedChain,
  type AlertFeedRef,
  type BlockGetter,
  alertTopic,
  announcementOf,
  checkAnnouncement,
  decodeAnnouncement,
  decodeEntry,
  encodeAnnouncement,
  entryCidOf,
  FeedUnavailableError,
  MAX_ENTRY_BYTES,
  syncFeed,
  type VerifiedEntry,
} from "@mosaic/alerts";
import {
  createLogger,
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

/** One followed feed's head as the replica holds it: seq 0 and cid "" before its first entry. */
export interface AlertReplicaHead {
  feedId: number;
  seq: number;
  cid: string;
}

/** What the state file holds. */
interface StateFile {
  v: 1;
  chainId: number;
  contract: string;
  feeds: { feedId: number; entries: { seq: number; epoch: number; cid: string; signers: string[]; signatures: string[] }[] }[];
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
}

// Gossipsub's verdicts (a string enum; the worker takes only its type from gossipsub).
const ACCEPT = "accept" as TopicValidatorResult;
const REJECT = "reject" as TopicValidatorResult;
const IGNORE = "ignore" as TopicValidatorResult;

const isFeedId = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1;

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
  readonly #counts = { duplicates: 0, dropped: 0, stored: 0, rejected: {} as Record<string, number> };

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
    for (const [feedId, entries] of saved) this.#add(feedId, entries);
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

  /** Every followed feed's verified head. */
  heads(): AlertReplicaHead[] {
    return [...this.#feeds.values()].map((f) => {
      const last = f.entries.at(-1);
      return { feedId: f.feedId, seq: last?.seq ?? 0, cid: last?.cid.toString() ?? "" };
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
        seq: f.entries.at(-1)?.seq ?? 0,
        pending: f.pending.size,
        queued: f.queue.length,
      })),
      stored: this.#counts.stored,
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

  #add(feedId: number, entries: VerifiedEntry[]): FeedState {
    const ref: AlertFeedRef = { ...this.ref, feedId };
    const feed: FeedState = {
      feedId,
      ref,
      topic: alertTopic(ref),
      entries,
      pending: new Map(),
      queue: [],
      draining: false,
      polling: false,
      busy: Promise.resolve(),
      lastFailure: "",
      failedAtHead: "",
      chainHead: 0,
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
   * Gossipsub's check of each message on a followed topic, before it is delivered or forwarded: one that does not
   * decode as an announcement of the feed, or whose signatures fail against an editor set already read, is rejected
   * here (and reported as "rejected"), so junk stops at the first replica and lowers its sender's score instead of
   * crossing the mesh. The rest is delivered to #judge, which does the whole check.
   */
  readonly #validate = (_peer: unknown, message: { topic: string; data: Uint8Array }): TopicValidatorResult => {
    const feed = this.#byTopic.get(message.topic);
    if (feed === undefined || !this.#running) return IGNORE;
    try {
      const a = decodeAnnouncement(message.data, feed.ref);
      const editors = this.#editorsKnown.get(`${feed.feedId}:${a.epoch}`);
      if (editors !== undefined) checkAnnouncement(a, editors);
      return ACCEPT;
    } catch (err) {
      this.#reject(feed, err);
      return REJECT;
    }
  };

  /**
   * Judges one announcement, cheapest check first: size, shape and feed (decodeAnnouncement), the signatures against
   * the editors of its epoch and the entry (checkAnnouncement), then what is held: the same entry is a duplicate,
   * another at a seq held is AlertNotAnchoredError. Otherwise it joins the pending set and the feed is caught up with
   * through syncFeed, which is offered the pending bytes first and checks them against what the chain anchored (its
   * CID and signatures): an entry anchored is stored, one ahead of the chain waits for the next poll, one the chain
   * anchored another CID for is rejected when the chain passes its seq. Nothing is stored unless syncFeed returns it.
   * One RPC call at most before syncFeed, and only for a signed entry far ahead of the last head seen.
   */
  async #judge(feed: FeedState, data: Uint8Array): Promise<void> {
    let verified: VerifiedEntry;
    let announcement: AlertAnnouncement;
    try {
      // Oversize, not canonical dag-cbor, another feed's: MalformedAnnouncementError, before any chain read.
      announcement = decodeAnnouncement(data, feed.ref);
      const epoch = announcement.epoch;
      const editors = await this.#editorSet(feed.feedId, epoch).catch((err: Error) => {
        throw new AlertNotAnchoredError(`feed ${feed.feedId} has no editor epoch ${epoch} on the chain (yet): ${err.message}`);
      });
      verified = checkAnnouncement(announcement, editors);
      const cid = verified.cid.toString();
      const held = feed.entries[verified.seq - 1];
      if (held !== undefined) {
        if (held.cid.toString() === cid) {
          this.#counts.duplicates++;
          return;
        }
        throw new AlertNotAnchoredError(`feed ${feed.feedId} seq ${verified.seq} is anchored as ${held.cid}, not ${cid}`);
      }
      if (feed.pending.has(cid)) {
        this.#counts.duplicates++;
        return;
      }
      // Whether the chain anchored it is syncFeed's to say (pending bytes are offered to it first); only an entry
      // further ahead than any honest announcement can be (editors anchor, then announce) is refused here.
      const limit = (head: number) => Math.max(head, feed.entries.length) + this.#init.maxPendingPerFeed;
      if (verified.seq > limit(feed.chainHead)) {
        feed.chainHead = Math.max(feed.chainHead, (await this.#init.chain.headOf(feed.feedId)).seq);
        if (verified.seq > limit(feed.chainHead))
          throw new AlertNotAnchoredError(
            `feed ${feed.feedId} seq ${verified.seq} is ${verified.seq - feed.chainHead} ahead of the chain's head ${feed.chainHead}; editors anchor before they announce`,
          );
      }
    } catch (err) {
      this.#reject(feed, err);
      return;
    }
    this.#addPending(feed, verified.cid.toString(), {
      seq: verified.seq,
      epoch: verified.epoch,
      bytes: announcement.entry,
      at: Date.now(),
    });
    await this.#catchUp(feed);
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
    const head = await this.#init.chain.headOf(feed.feedId);
    feed.chainHead = Math.max(feed.chainHead, head.seq);
    const known = feed.entries.at(-1);
    if (feed.failedAtHead === `${head.seq}:${head.entryCid}`) return;
    if (head.seq !== (known?.seq ?? 0) || (head.entryCid !== null && known !== undefined && !head.entryCid.equals(known.cid))) {
      await this.#catchUp(feed);
      if (feed.lastFailure !== "" && !feed.lastFailure.startsWith(`${FeedUnavailableError.name}:`))
        feed.failedAtHead = `${head.seq}:${head.entryCid}`;
    }
  }

  /**
   * Brings the feed up to the chain's head with syncFeed: blocks from the pending announcements first, else the
   * local blockstore, else peers over bitswap (each at most MAX_ENTRY_BYTES, within fetchTimeoutMs). The entries it
   * returns are stored and announced as events; pending entries the chain has passed are settled. Blocks fetched for
   * a catch-up that failed are deleted again: the blockstore holds verified entries only.
   */
  async #catchUp(feed: FeedState): Promise<void> {
    if (!this.#running) return;
    const ipfs = this.#init.ipfs;
    const known = feed.entries.at(-1);
    const fromPending = new Map<string, Uint8Array>();
    for (const [cid, p] of feed.pending) fromPending.set(cid, p.bytes);
    const fetched = new Set<string>();
    const blocks: BlockGetter = {
      get: async (cid, options = {}) => {
        const key = cid.toString();
        const bytes = fromPending.get(key);
        if (bytes !== undefined) return bytes;
        if (!(await ipfs.blockstore.has(cid))) fetched.add(key);
        const signals = [this.#abort.signal, AbortSignal.timeout(this.#init.fetchTimeoutMs)];
        if (options.signal !== undefined) signals.push(options.signal);
        return getBlock(ipfs.blockstore, cid, { maxBytes: MAX_ENTRY_BYTES, signal: AbortSignal.any(signals) });
      },
    };
    let verified: VerifiedEntry[];
    let failure: Error | undefined;
    try {
      verified = await syncFeed(feed.ref, this.#chain, blocks, {
        known: known === undefined ? undefined : { seq: known.seq, cid: known.cid },
        signal: this.#abort.signal,
      });
    } catch (err) {
      failure = err as Error;
      // A block withheld: the entries before it passed every check, and are kept.
      verified = err instanceof FeedUnavailableError ? (err.verified as VerifiedEntry[]) : [];
    }
    const keep = new Set(verified.map((v) => v.cid.toString()));
    // Helia's own delete first asks the content routers to stop providing the block, and a Mosaic node has none (it
    // throws "No content routers available"): delete from the store under it.
    const store = (ipfs.blockstore as unknown as { unwrap?(): Pick<IpfsNode["blockstore"], "delete"> }).unwrap?.() ?? ipfs.blockstore;
    await Promise.all(
      [...fetched]
        .filter((cid) => !keep.has(cid))
        .map((cid) =>
          Promise.resolve()
            .then(() => store.delete(parseCid(cid)))
            .catch((err: Error) => this.#log("warn", "alerts:delete-failed", { cid, message: err.message })),
        ),
    );
    if (failure !== undefined) this.#failed(feed, known?.seq ?? 0, failure);
    else {
      feed.lastFailure = "";
      feed.failedAtHead = "";
    }
    if (verified.length === 0 || !this.#running) return;
    for (const v of verified) await putBlock(ipfs.blockstore, { cid: v.cid, bytes: v.bytes });
    feed.entries.push(...verified);
    const head = feed.entries.at(-1) as VerifiedEntry;
    // Pending entries the chain has passed: those it anchored are stored now, the others never will be.
    for (const [cid, p] of feed.pending) {
      if (p.seq > head.seq) continue;
      feed.pending.delete(cid);
      const anchored = feed.entries[p.seq - 1] as VerifiedEntry;
      if (anchored.cid.toString() !== cid)
        this.#reject(feed, new AlertNotAnchoredError(`feed ${feed.feedId} seq ${p.seq} was anchored as ${anchored.cid}, not ${cid}`));
    }
    await this.#save();
    this.#counts.stored += verified.length;
    this.#log("info", "alerts:entries-stored", { feedId: feed.feedId, from: verified[0]?.seq, to: head.seq, cid: head.cid.toString() });
    for (const v of verified) this.#emit("entry", v);
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

  /** Reads the state file: each feed's entries back from the blockstore, up to the first one missing or damaged. */
  async #load(): Promise<Map<number, VerifiedEntry[]>> {
    const out = new Map<number, VerifiedEntry[]>();
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
      for (const e of f.entries) {
        try {
          if (e.seq !== entries.length + 1) throw new RangeError(`seq ${e.seq} where ${entries.length + 1} belongs`);
          const cid = parseCid(e.cid);
          // Local only: what this replica stored, not what a peer would hand it now.
          if (!(await this.#init.ipfs.blockstore.has(cid))) throw new RangeError(`block ${e.cid} is not in the blockstore`);
          const bytes = await getBlock(this.#init.ipfs.blockstore, cid, { maxBytes: MAX_ENTRY_BYTES });
          const entry = decodeEntry(bytes, cid);
          const prev = entries.at(-1)?.cid ?? null;
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
        } catch (err) {
          this.#log("warn", "alerts:state-truncated", { feedId: f.feedId, seq: e?.seq, message: (err as Error).message });
          break;
        }
      }
      out.set(f.feedId, entries);
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
