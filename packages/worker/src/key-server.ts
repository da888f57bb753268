// A health authority's key server: takes anonymous key uploads announced on its feed's topic, checks each (shape,
// feed, period, key windows, scope, message, nullifier, keys not already held, group root, Semaphore proof), journals
// the accepted ones, and publishes their keys as signed, hash-linked batches on IPFS whose heads it anchors on
// ExposureFeeds.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import path from "node:path";
import { type BatchVerifier, createBatchVerifier, PROOF_DEPTH } from "@mosaic/avatar";
import {
  checkUploadKeys,
  decodeKeyBatch,
  DuplicateKeyError,
  decodeUpload,
  ExposureDocumentTooLargeError,
  encodeKeyBatch,
  exposureUploadTopic,
  KEY_RETENTION_DAYS,
  type KeyBatch,
  type KeyUpload,
  keyDay,
  MalformedExposureDocumentError,
  MAX_BATCH_KEYS,
  MAX_UPLOAD_BYTES,
  type PublishedKey,
  UploadReplayedError,
  uploadMessage,
  uploadPeriod,
  uploadScope,
} from "@mosaic/exposure";
import {
  CID,
  createLogger,
  getBlock,
  type IpfsNode,
  InvalidProofError,
  type Logger,
  namedError,
  PayloadHashMismatchError,
  parseCid,
  putBlock,
  SubmissionTooLargeError,
} from "@mosaic/protocol";
import { getBytes, hexlify } from "ethers";
import { submissionCidOf } from "./cids.js";

/** An upload for another chain, feeds contract or feed, or whose proof's scope is not this feed's for its period. */
export class WrongFeedError extends namedError("WrongFeedError") {}

/** An upload for a period that is neither the current one nor (within the grace) the one just ended. */
export class WrongPeriodError extends namedError("WrongPeriodError") {}

/** The key server's signer is not the feed's authority: the batches it signed would be refused by every vault. */
export class NotFeedAuthorityError extends namedError("NotFeedAuthorityError") {}

/** The key server's journal is damaged before its last line: it stops rather than forget which nullifiers it saw. */
export class KeyServerJournalCorruptError extends namedError("KeyServerJournalCorruptError") {}

/** The reasons an upload is rejected for, as counted and journalled. */
export const UPLOAD_REJECTION_REASONS = [
  "MalformedExposureDocumentError",
  "ExposureDocumentTooLargeError",
  "BlockUnavailableError",
  "WrongFeedError",
  "WrongPeriodError",
  "KeyOutsideWindowError",
  "PayloadHashMismatchError",
  "UnknownRootError",
  "ExpiredRootError",
  "UploadReplayedError",
  "InvalidProofError",
  "DuplicateKeyError",
  "InconsistentUploadError",
] as const;
export type UploadRejectionReason = (typeof UPLOAD_REJECTION_REASONS)[number];
const REASONS: ReadonlySet<string> = new Set(UPLOAD_REJECTION_REASONS);

/** The largest upload block fetched: exposure's MAX_UPLOAD_BYTES (decodeUpload refuses larger ones anyway). */
export const MAX_UPLOAD_BLOCK_BYTES = MAX_UPLOAD_BYTES;

/** The longest announcement: a CID string. */
const MAX_ANNOUNCEMENT_BYTES = 128;

/** The gossipsub topic a feed's key uploads are announced on: exposure's, the one the vault's uploader publishes to. */
export { exposureUploadTopic };

const DAY_S = 86_400;

/** What the key server reads and writes on ExposureFeeds (the typed handle, connected to the authority's signer). */
export interface KeyServerFeeds {
  getAddress(): Promise<string>;
  feedOf(feedId: bigint): Promise<{ authority: string; groupId: bigint; seq: bigint; head: string }>;
  publishKeys(feedId: bigint, seq: bigint, headCid: Uint8Array, keyCount: number): Promise<{ hash: string; wait(): Promise<unknown> }>;
}

/** The feed's registrar group, kept in step with the chain: an avatar GroupSync (`openGroupSync`) fits. */
export interface KeyServerGroup {
  readonly root: bigint;
  sync(options?: { signal?: AbortSignal }): Promise<unknown>;
  /** Resolves when `root` is one the chain's Semaphore accepts now; UnknownRootError or ExpiredRootError otherwise. */
  checkRoot(root: bigint): Promise<void>;
}

export interface KeyServerComponents {
  ipfs: IpfsNode;
  feeds: KeyServerFeeds;
  group: KeyServerGroup;
  /** The authority's key: signs the batches (EIP-191). Must be the feed's on-chain authority. */
  signer: { getAddress(): Promise<string>; signMessage(message: Uint8Array): Promise<string> };
  /**
   * Verifies Semaphore proofs; started and stopped by the caller.
   * @default a one-thread createBatchVerifier, started and stopped with the server
   */
  verifier?: Pick<BatchVerifier, "verify">;
  /** @default createLogger("key-server") */
  log?: Logger;
}

export interface KeyServerInit {
  feedId: bigint;
  chainId: bigint;
  /**
   * How often accepted keys are published, when there are any.
   * @default 60000
   */
  batchEveryMs?: number;
  /**
   * Publish as soon as this many keys wait (a batch never holds more than MAX_BATCH_KEYS).
   * @default MAX_BATCH_KEYS
   */
  batchMaxKeys?: number;
  /**
   * The journal file (JSON lines): every accepted upload and published batch, replayed on start so a restart forgets
   * no nullifier and no accepted key. Rejections are only counted: junk announcements write nothing. Without a file,
   * state lives in memory only.
   * @default undefined
   */
  journalFile?: string;
  /**
   * Seconds after a period ends during which uploads proven for it are still taken.
   * @default 3600
   */
  periodGraceS?: number;
  /** @default 10000 */
  fetchTimeoutMs?: number;
  /**
   * Upload blocks fetched (and then judged) at once: anyone can announce a CID, so a flood of them waits its turn.
   * @default 8
   */
  maxFetches?: number;
  /**
   * Announcements waiting for a fetch. When full, the one waiting longest is dropped (counted as "queue-full"); the
   * newest is fetched first, while its publisher is still serving the block.
   * @default 256
   */
  maxQueuedAnnouncements?: number;
  /**
   * The time, unix seconds: what keys' windows and periods are judged against.
   * @default () => Math.floor(Date.now() / 1000)
   */
  now?: () => number;
}

export interface UploadAccepted {
  cid: string;
  nullifier: string;
  period: number;
  keys: number;
}
export interface UploadRejected {
  cid?: string;
  reason: UploadRejectionReason;
  message: string;
}
export interface BatchPublished {
  seq: number;
  cid: string;
  txHash: string;
  keys: number;
  uploads: string[];
}
export interface KeyServerEvents {
  "upload:accepted": UploadAccepted;
  "upload:rejected": UploadRejected;
  "batch:published": BatchPublished;
}

/** A published key as the journal stores it. */
interface KeyJson {
  key: string;
  rollingStartIntervalNumber: number;
  rollingPeriod: number;
  reportType: PublishedKey["reportType"];
  daysSinceOnsetOfSymptoms: number | null;
}

type Entry =
  /** Written before this server journalled verdicts only: an announcement not yet judged, judged again on start. */
  | { e: "announced"; cid: string }
  | { e: "accepted"; cid: string; period: number; nullifier: string; keys: KeyJson[] }
  /** Closes an "announced" entry of an older journal. */
  | { e: "rejected"; cid: string; reason: UploadRejectionReason; message?: string }
  | { e: "published"; seq: number; cid: string; txHash: string; uploads: string[]; keys: number }
  /** Queued uploads all of whose keys were already published (a journal from before the duplicate check). */
  | { e: "discarded"; uploads: string[] };

/** A known key: the day it is for and the accepted upload that first brought it (the one whose copy is published). */
interface KnownKey {
  day: number;
  cid: string;
}

interface State {
  /** Accepted uploads' CIDs → their period: announcing one again is a duplicate. Pruned with the periods. */
  remembered: Map<string, number>;
  /** Announced in an older journal, no verdict yet: judged again on start. */
  pending: Set<string>;
  /** Nullifiers of accepted uploads, by period; periods no upload can be accepted for any more are pruned. */
  nullifiers: Map<number, Set<string>>;
  /** Every key queued or published whose day is within the last 14 days, by its bytes (hex): no upload may repeat one. */
  knownKeys: Map<string, KnownKey>;
  /** Accepted uploads not yet in a published batch, in acceptance order. */
  queue: Map<string, PublishedKey[]>;
  rejected: Partial<Record<UploadRejectionReason, number>>;
  accepted: number;
  last?: Extract<Entry, { e: "published" }>;
}

const toKey = (k: KeyJson): PublishedKey => ({ ...k, key: getBytes(k.key) });
const fromKey = (k: PublishedKey): KeyJson => ({
  key: hexlify(k.key),
  rollingStartIntervalNumber: k.rollingStartIntervalNumber,
  rollingPeriod: k.rollingPeriod,
  reportType: k.reportType,
  daysSinceOnsetOfSymptoms: k.daysSinceOnsetOfSymptoms,
});

function apply(s: State, entry: Entry): void {
  switch (entry.e) {
    case "announced":
      s.pending.add(entry.cid);
      break;
    case "accepted": {
      s.pending.delete(entry.cid);
      s.remembered.set(entry.cid, entry.period);
      const nullifiers = s.nullifiers.get(entry.period) ?? new Set<string>();
      nullifiers.add(entry.nullifier);
      s.nullifiers.set(entry.period, nullifiers);
      const keys = entry.keys.map(toKey);
      for (const k of keys) {
        const hex = hexlify(k.key);
        if (!s.knownKeys.has(hex)) s.knownKeys.set(hex, { day: keyDay(k), cid: entry.cid });
      }
      s.queue.set(entry.cid, keys);
      s.accepted++;
      break;
    }
    case "rejected":
      s.pending.delete(entry.cid);
      s.rejected[entry.reason] = (s.rejected[entry.reason] ?? 0) + 1;
      break;
    case "published":
      for (const cid of entry.uploads) s.queue.delete(cid);
      s.last = entry;
      break;
    case "discarded":
      for (const cid of entry.uploads) s.queue.delete(cid);
      break;
  }
}

/**
 * Forgets what can never matter again at `now`: nullifiers and accepted CIDs of periods before the oldest one an
 * upload is still taken for (checkUpload takes only uploadPeriod(now) and, within the grace, uploadPeriod(now −
 * grace); both only grow with time), and known keys of days before the 14 checkUploadKeys still takes. Queued keys stay.
 */
function prune(s: State, now: number, periodGraceS: number): void {
  const oldestPeriod = uploadPeriod(Math.max(0, now - periodGraceS));
  for (const period of s.nullifiers.keys()) if (period < oldestPeriod) s.nullifiers.delete(period);
  for (const [cid, period] of s.remembered) if (period < oldestPeriod) s.remembered.delete(cid);
  const oldestDay = Math.floor(now / DAY_S) - KEY_RETENTION_DAYS;
  for (const [hex, k] of s.knownKeys) if (k.day < oldestDay) s.knownKeys.delete(hex);
}

/**
 * The key server's JSON-lines journal: one write(2) per append, a torn last line dropped on replay. The reducer's
 * Journal (journal.ts) has the same discipline but a job's entry types and state, so this one is its own.
 */
class KeyServerJournal {
  readonly state: State = {
    remembered: new Map(),
    pending: new Set(),
    nullifiers: new Map(),
    knownKeys: new Map(),
    queue: new Map(),
    rejected: {},
    accepted: 0,
  };
  #fd = -1;

  constructor(readonly file: string | undefined) {
    if (file === undefined) return;
    mkdirSync(path.dirname(file), { recursive: true });
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const lines = text.split("\n");
    let good = 0;
    for (let i = 0; i < lines.length - 1; i++) {
      const line = lines[i] as string;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch (err) {
        throw new KeyServerJournalCorruptError(
          `${file}:${i + 1}: ${(err as Error).message}; move the file away only if you accept replays`,
        );
      }
      if (typeof entry !== "object" || entry === null || typeof entry.e !== "string")
        throw new KeyServerJournalCorruptError(`${file}:${i + 1}: not an entry`);
      apply(this.state, entry);
      good += Buffer.byteLength(line) + 1;
    }
    if (good < Buffer.byteLength(text)) truncateSync(file, good);
    this.#fd = openSync(file, "a");
  }

  append(entry: Entry, sync = false): void {
    if (this.#fd >= 0) {
      writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
      if (sync) fsyncSync(this.#fd);
    }
    apply(this.state, entry);
  }

  close(): void {
    if (this.#fd < 0) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Creates a key server for one feed; `start()` it, `stop()` it on SIGTERM. */
export function createKeyServer(components: KeyServerComponents, init: KeyServerInit): KeyServer {
  return new KeyServer(components, init);
}

export class KeyServer extends EventTarget {
  readonly feedId: bigint;
  readonly chainId: bigint;
  readonly #c: KeyServerComponents;
  readonly #log: Logger;
  readonly #init: Required<Omit<KeyServerInit, "journalFile">> & { journalFile?: string };
  #journal?: KeyServerJournal;
  #feeds = "";
  #topic = "";
  #verifier?: Pick<BatchVerifier, "verify">;
  #ownVerifier?: BatchVerifier;
  #timer?: NodeJS.Timeout;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Announcements waiting for a fetch, oldest first (the newest is taken first), and the same as a set. */
  readonly #waiting: string[] = [];
  readonly #waitingSet = new Set<string>();
  /** CIDs being fetched or judged: at most maxFetches. */
  readonly #fetching = new Set<string>();
  /** Aborts the fetches under way when the server stops. */
  #stopping = new AbortController();
  /** Checks and proofs run one upload at a time, so two uploads with one nullifier cannot both pass. */
  #judging: Promise<void> = Promise.resolve();
  #publishing: Promise<unknown> = Promise.resolve();
  #onMessage?: (evt: CustomEvent<{ topic: string; data: Uint8Array }>) => void;
  #running = false;
  #duplicates = 0;
  #queueFull = 0;
  /** The (oldest period, oldest day) the state was last pruned for: pruning runs when either moves on. */
  #prunedFor = "";
  #latest = 0;

  constructor(components: KeyServerComponents, init: KeyServerInit) {
    super();
    if (typeof init.feedId !== "bigint" || init.feedId < 1n)
      throw new RangeError(`init.feedId: expected a feed id >= 1, got ${init.feedId}`);
    const batchMaxKeys = init.batchMaxKeys ?? MAX_BATCH_KEYS;
    if (!Number.isInteger(batchMaxKeys) || batchMaxKeys < 1 || batchMaxKeys > MAX_BATCH_KEYS)
      throw new RangeError(`init.batchMaxKeys: expected an integer in 1..${MAX_BATCH_KEYS}, got ${batchMaxKeys}`);
    const batchEveryMs = init.batchEveryMs ?? 60_000;
    if (!Number.isInteger(batchEveryMs) || batchEveryMs < 10)
      throw new RangeError(`init.batchEveryMs: expected an integer >= 10, got ${batchEveryMs}`);
    const maxFetches = init.maxFetches ?? 8;
    if (!Number.isInteger(maxFetches) || maxFetches < 1 || maxFetches > 1024)
      throw new RangeError(`init.maxFetches: expected an integer in 1..1024, got ${maxFetches}`);
    const maxQueuedAnnouncements = init.maxQueuedAnnouncements ?? 256;
    if (!Number.isInteger(maxQueuedAnnouncements) || maxQueuedAnnouncements < 1 || maxQueuedAnnouncements > 1_000_000)
      throw new RangeError(`init.maxQueuedAnnouncements: expected an integer in 1..1000000, got ${maxQueuedAnnouncements}`);
    this.#c = components;
    this.feedId = init.feedId;
    this.chainId = init.chainId;
    this.#log = components.log ?? createLogger("key-server");
    this.#init = {
      feedId: init.feedId,
      chainId: init.chainId,
      batchEveryMs,
      batchMaxKeys,
      journalFile: init.journalFile,
      periodGraceS: init.periodGraceS ?? 3600,
      fetchTimeoutMs: init.fetchTimeoutMs ?? 10_000,
      maxFetches,
      maxQueuedAnnouncements,
      now: init.now ?? (() => Math.floor(Date.now() / 1000)),
    };
  }

  /** The upload topic this server listens on ("" before start). */
  get topic(): string {
    return this.#topic;
  }

  /** Listens for one kind of event; returns the function that stops listening. */
  on<K extends keyof KeyServerEvents>(type: K, listener: (detail: KeyServerEvents[K]) => void): () => void {
    const l = (evt: Event) => listener((evt as CustomEvent<KeyServerEvents[K]>).detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  #emit<K extends keyof KeyServerEvents>(type: K, detail: KeyServerEvents[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Checks that the signer is the feed's authority, replays the journal (forgetting what the periods have left
   * behind), subscribes to the upload topic, judges uploads an older journal left without a verdict, and starts the
   * batch timer.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#feeds = (await this.#c.feeds.getAddress()).toLowerCase();
    const feed = await this.#c.feeds.feedOf(this.feedId);
    const signer = await this.#c.signer.getAddress();
    if (feed.authority.toLowerCase() !== signer.toLowerCase())
      throw new NotFeedAuthorityError(
        `signer: ${signer} is not feed ${this.feedId}'s authority (${feed.authority}); start the key server with the authority's key`,
      );
    this.#journal = new KeyServerJournal(this.#init.journalFile);
    this.#prunedFor = "";
    this.#prune();
    if (this.#c.verifier === undefined) {
      this.#ownVerifier = createBatchVerifier({ threads: 1, batchSize: 16 });
      await this.#ownVerifier.start();
    }
    this.#verifier = this.#c.verifier ?? this.#ownVerifier;
    this.#topic = exposureUploadTopic(this.chainId, this.#feeds, this.feedId);
    const pubsub = this.#c.ipfs.libp2p.services.pubsub;
    this.#onMessage = (evt) => {
      if (evt.detail.topic === this.#topic) this.announce(evt.detail.data);
    };
    pubsub.addEventListener("message", this.#onMessage as never);
    pubsub.subscribe(this.#topic);
    this.#stopping = new AbortController();
    this.#running = true;
    for (const cid of this.#journal.state.pending) this.#enqueue(cid);
    this.#timer = setInterval(() => {
      if ((this.#journal?.state.queue.size ?? 0) > 0) void this.publish().catch(() => undefined);
    }, this.#init.batchEveryMs);
    this.#log("info", "key-server:started", { feedId: this.feedId, topic: this.#topic, queued: this.#journal.state.queue.size });
  }

  /**
   * Stops listening, cuts short the fetches under way, forgets the announcements still waiting (their publishers
   * announce again; nothing was recorded of them), waits for the uploads being judged, and closes the journal
   * (nothing accepted is lost: it replays).
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#timer);
    const pubsub = this.#c.ipfs.libp2p.services.pubsub;
    pubsub.removeEventListener("message", this.#onMessage as never);
    pubsub.unsubscribe(this.#topic);
    this.#waiting.length = 0;
    this.#waitingSet.clear();
    this.#stopping.abort();
    await this.drain();
    await this.#publishing.catch(() => undefined);
    await this.#ownVerifier?.stop();
    this.#journal?.close();
  }

  /**
   * One announcement (an upload block's CID as UTF-8), as the topic delivers it. One that does not parse is counted
   * as malformed; a CID accepted before, waiting or being fetched is a duplicate, ignored. Otherwise it waits for one
   * of maxFetches fetch slots; nothing is journalled until an upload is accepted.
   */
  announce(data: Uint8Array): void {
    const journal = this.#journal;
    if (journal === undefined || !this.#running) return;
    let cid: string;
    try {
      if (data.length > MAX_ANNOUNCEMENT_BYTES) throw new MalformedExposureDocumentError("announcement longer than a CID");
      cid = submissionCidOf(new TextDecoder("utf-8", { fatal: true }).decode(data)).toString();
    } catch (err) {
      this.#reject(undefined, err);
      return;
    }
    this.#prune();
    if (journal.state.remembered.has(cid) || this.#waitingSet.has(cid) || this.#fetching.has(cid)) {
      this.#duplicates++;
      return;
    }
    this.#enqueue(cid);
  }

  #enqueue(cid: string): void {
    if (this.#waiting.length >= this.#init.maxQueuedAnnouncements) {
      // Full: the announcement waiting longest goes (its publisher has most likely stopped serving the block).
      const oldest = this.#waiting.shift() as string;
      this.#waitingSet.delete(oldest);
      if (this.#queueFull++ % 1000 === 0)
        this.#log("warn", "announcement:dropped", { feedId: this.feedId, reason: "queue-full", dropped: this.#queueFull });
    }
    this.#waiting.push(cid);
    this.#waitingSet.add(cid);
    this.#pump();
  }

  /** Starts fetches while a slot is free, the newest announcement first. */
  #pump(): void {
    while (this.#running && this.#fetching.size < this.#init.maxFetches && this.#waiting.length > 0) {
      const cid = this.#waiting.pop() as string;
      this.#waitingSet.delete(cid);
      this.#fetching.add(cid);
      this.#track(
        this.#process(cid).finally(() => {
          this.#fetching.delete(cid);
          this.#pump();
        }),
      );
    }
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, (err: unknown) => {
      done();
      this.#log("error", "upload:failed", { feedId: this.feedId, reason: (err as Error)?.name, message: (err as Error)?.message });
    });
  }

  /** Waits for every announcement waiting or under way to have its verdict. */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#judging;
  }

  async #process(cid: string): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await getBlock(this.#c.ipfs.blockstore, parseCid(cid), {
        maxBytes: MAX_UPLOAD_BLOCK_BYTES,
        signal: AbortSignal.any([AbortSignal.timeout(this.#init.fetchTimeoutMs), this.#stopping.signal]),
      });
    } catch (err) {
      if (!this.#running) return; // cut short by stop(): nothing was recorded, a new announcement brings it back
      this.#reject(
        cid,
        err instanceof SubmissionTooLargeError
          ? new ExposureDocumentTooLargeError(`upload block is over ${MAX_UPLOAD_BLOCK_BYTES} bytes: ${err.message}`)
          : err,
      );
      return;
    }
    const judged = this.#judging.then(() => this.#judge(cid, bytes));
    this.#judging = judged.catch(() => undefined);
    await judged;
  }

  async #judge(cid: string, bytes: Uint8Array): Promise<void> {
    const journal = this.#journal as KeyServerJournal;
    this.#prune();
    let upload: KeyUpload;
    try {
      upload = await this.checkUpload(bytes);
    } catch (err) {
      this.#reject(cid, err);
      return;
    }
    const period = upload.period;
    const nullifier = BigInt(upload.proof.nullifier).toString();
    journal.append({ e: "accepted", cid, period, nullifier, keys: upload.keys.map(fromKey) }, true);
    this.#log("info", "upload:accepted", { feedId: this.feedId, cid, period, keys: upload.keys.length });
    this.#emit("upload:accepted", { cid, nullifier, period, keys: upload.keys.length });
    if (this.queuedKeys >= this.#init.batchMaxKeys) void this.publish().catch(() => undefined);
  }

  /**
   * The time uploads are judged at: init.now(), but never earlier than a time already used, so a clock stepped back
   * cannot reopen a period or day whose nullifiers and keys were pruned.
   */
  #now(): number {
    this.#latest = Math.max(this.#latest, this.#init.now());
    return this.#latest;
  }

  /** Forgets the nullifiers, accepted CIDs and known keys no upload can meet again (see prune), once per day or period. */
  #prune(): void {
    const journal = this.#journal;
    if (journal === undefined) return;
    const now = this.#now();
    const mark = `${uploadPeriod(Math.max(0, now - this.#init.periodGraceS))}:${Math.floor(now / DAY_S)}`;
    if (mark === this.#prunedFor) return;
    prune(journal.state, now, this.#init.periodGraceS);
    this.#prunedFor = mark;
  }

  /**
   * Every check of an upload block, cheapest first, the proof last: shape (MalformedExposureDocumentError), chain,
   * feeds and feed (WrongFeedError), period (WrongPeriodError), keys (KeyOutsideWindowError; one diagnosis:
   * InconsistentUploadError), scope (WrongFeedError), message (PayloadHashMismatchError), nullifier unseen this period
   * (UploadReplayedError), no key already queued or published (DuplicateKeyError), root current or in the group's
   * history and unexpired (UnknownRootError, ExpiredRootError), proof (InvalidProofError). Changes nothing.
   */
  async checkUpload(bytes: Uint8Array): Promise<KeyUpload> {
    const journal = this.#journal as KeyServerJournal;
    const now = this.#now();
    const u = decodeUpload(bytes);
    if (u.chainId !== Number(this.chainId) || u.feeds.toLowerCase() !== this.#feeds || u.feedId !== this.feedId.toString())
      throw new WrongFeedError(
        `upload is for feed ${u.feedId} on ${u.feeds} (chain ${u.chainId}), not feed ${this.feedId} on ${this.#feeds} (chain ${this.chainId})`,
      );
    const current = uploadPeriod(now);
    const graced = uploadPeriod(Math.max(0, now - this.#init.periodGraceS));
    if (u.period !== current && u.period !== graced)
      throw new WrongPeriodError(`upload is for period ${u.period}, the current one is ${current}; prove again for period ${current}`);
    checkUploadKeys(u.keys, now);
    const p = u.proof;
    if (BigInt(p.scope) !== uploadScope(Number(this.chainId), this.#feeds, this.feedId.toString(), u.period))
      throw new WrongFeedError(`proof scope ${p.scope} is not feed ${this.feedId}'s scope for period ${u.period}`);
    if (BigInt(p.message) !== uploadMessage(u.keys)) throw new PayloadHashMismatchError("proof message is not the hash of the keys");
    if (p.merkleTreeDepth !== PROOF_DEPTH)
      throw new MalformedExposureDocumentError(`proof depth ${p.merkleTreeDepth}: every Mosaic proof has depth ${PROOF_DEPTH}`);
    if (journal.state.nullifiers.get(u.period)?.has(BigInt(p.nullifier).toString()))
      throw new UploadReplayedError(
        `nullifier ${p.nullifier} already uploaded keys in period ${u.period}: one upload per person and period`,
      );
    // Upload blocks and batches are public: a key copied from another's (with a milder report type, say) would
    // either suppress the original in matching or, twice in one batch, stop every publish.
    for (const [i, k] of u.keys.entries()) {
      const known = journal.state.knownKeys.get(hexlify(k.key));
      if (known !== undefined)
        throw new DuplicateKeyError(
          `keys[${i}]: the key of day ${keyDay(k)} is already ${journal.state.queue.has(known.cid) ? "queued" : "published"} from upload ${known.cid}; upload only your own keys`,
        );
    }
    const root = BigInt(p.merkleTreeRoot);
    if (root !== this.#c.group.root) await this.#c.group.sync();
    await this.#c.group.checkRoot(root);
    const [ok] = await (this.#verifier as Pick<BatchVerifier, "verify">).verify([p]);
    if (ok !== true) throw new InvalidProofError("Semaphore proof does not verify");
    return u;
  }

  /** Counts a rejection (journalled only to close an older journal's "announced" entry) and tells listeners. */
  #reject(cid: string | undefined, err: unknown): void {
    const name = String((err as Error)?.name);
    const reason = (REASONS.has(name) ? name : "MalformedExposureDocumentError") as UploadRejectionReason;
    const message = String((err as Error)?.message).slice(0, 300);
    const journal = this.#journal;
    if (journal !== undefined) {
      if (cid !== undefined && journal.state.pending.has(cid)) journal.append({ e: "rejected", cid, reason, message });
      else journal.state.rejected[reason] = (journal.state.rejected[reason] ?? 0) + 1;
    }
    this.#log("info", "upload:rejected", { feedId: this.feedId, cid, reason, message });
    this.#emit("upload:rejected", { cid, reason, message });
  }

  /** Keys accepted and not yet published. */
  get queuedKeys(): number {
    let n = 0;
    for (const keys of this.#journal?.state.queue.values() ?? []) n += keys.length;
    return n;
  }

  /** Rejections by reason since this start (and those an older journal recorded). */
  get rejected(): Readonly<Partial<Record<UploadRejectionReason, number>>> {
    return { ...(this.#journal?.state.rejected ?? {}) };
  }

  /** The last batch this server published, if any. */
  get lastBatch(): BatchPublished | undefined {
    const l = this.#journal?.state.last;
    return l === undefined ? undefined : { seq: l.seq, cid: l.cid, txHash: l.txHash, keys: l.keys, uploads: l.uploads };
  }

  /**
   * What the server holds, for a status line: uploads accepted (ever) and remembered (of the periods still open),
   * announcements pending from an older journal, waiting and being fetched, dropped when the queue was full,
   * nullifiers and known keys held, rejections, duplicates, queued keys and the last batch.
   */
  status(): Record<string, unknown> {
    const s = this.#journal?.state;
    let nullifiers = 0;
    for (const set of s?.nullifiers.values() ?? []) nullifiers += set.size;
    return {
      feedId: this.feedId.toString(),
      topic: this.#topic,
      accepted: s?.accepted ?? 0,
      remembered: s?.remembered.size ?? 0,
      pending: s?.pending.size ?? 0,
      waiting: this.#waiting.length,
      fetching: this.#fetching.size,
      dropped: { "queue-full": this.#queueFull },
      nullifiers,
      knownKeys: s?.knownKeys.size ?? 0,
      rejected: this.rejected,
      duplicates: this.#duplicates,
      queuedKeys: this.queuedKeys,
      lastBatch: this.lastBatch,
    };
  }

  /**
   * Publishes the queued keys now (the timer and batchMaxKeys call this): whole uploads, up to batchMaxKeys keys per
   * batch, each batch signed, put in the blockstore and anchored with publishKeys at the chain's seq + 1, prev = the
   * chain's head. A key another upload brought first, or that is already in the batch, is left out (logged): checks
   * refuse such uploads, but one in an older journal must not stop every batch. Resolves with the batches published
   * (none when nothing waits). Calls run one after another.
   */
  publish(): Promise<BatchPublished[]> {
    const run = this.#publishing.catch(() => undefined).then(() => this.#publishQueued());
    this.#publishing = run;
    return run;
  }

  async #publishQueued(): Promise<BatchPublished[]> {
    const journal = this.#journal;
    if (journal === undefined) throw new TypeError("publish: the key server is not started");
    const out: BatchPublished[] = [];
    try {
      await this.#adoptAnchored(journal);
      while (journal.state.queue.size > 0) {
        const uploads: string[] = [];
        const keys: PublishedKey[] = [];
        const inBatch = new Set<string>();
        const dropped: { upload: string; key: string }[] = [];
        for (const [cid, ks] of journal.state.queue) {
          if (uploads.length > 0 && keys.length + ks.length > this.#init.batchMaxKeys) break;
          uploads.push(cid);
          for (const k of ks) {
            const hex = hexlify(k.key);
            const first = journal.state.knownKeys.get(hex)?.cid;
            if (inBatch.has(hex) || (first !== undefined && first !== cid)) {
              dropped.push({ upload: cid, key: hex });
              continue;
            }
            inBatch.add(hex);
            keys.push(k);
          }
        }
        if (dropped.length > 0) this.#log("warn", "batch:duplicate-keys-dropped", { feedId: this.feedId, dropped });
        if (keys.length === 0) {
          journal.append({ e: "discarded", uploads }, true);
          continue;
        }
        const feed = await this.#c.feeds.feedOf(this.feedId);
        const seq = Number(feed.seq) + 1;
        const prev = feed.seq === 0n ? null : CID.decode(getBytes(feed.head)).toString();
        const batch: KeyBatch = {
          version: 1,
          chainId: Number(this.chainId),
          feeds: this.#feeds,
          feedId: this.feedId.toString(),
          seq,
          prev,
          createdAt: this.#now(),
          uploads,
          keys,
        };
        const block = await encodeKeyBatch(batch, this.#c.signer);
        // The block first: whoever reads the new head on-chain can fetch it.
        await putBlock(this.#c.ipfs.blockstore, block);
        const tx = await this.#c.feeds.publishKeys(this.feedId, BigInt(seq), block.cid.bytes, keys.length);
        await tx.wait();
        const entry = { e: "published", seq, cid: block.cid.toString(), txHash: tx.hash, uploads, keys: keys.length } as const;
        journal.append(entry, true);
        const published = { seq, cid: entry.cid, txHash: tx.hash, keys: keys.length, uploads };
        this.#log("info", "batch:published", { feedId: this.feedId, ...published });
        this.#emit("batch:published", published);
        out.push(published);
      }
    } catch (err) {
      this.#log("error", "batch:publish-failed", { feedId: this.feedId, reason: (err as Error).name, message: (err as Error).message });
      throw err;
    }
    return out;
  }
  /**
   * A restart after a publishKeys transaction but before its journal line: the chain's head is a batch this server
   * signed and holds, so its uploads are marked published rather than sent again.
   */
  async #adoptAnchored(journal: KeyServerJournal): Promise<void> {
    const feed = await this.#c.feeds.feedOf(this.feedId);
    if (feed.seq === 0n || Number(feed.seq) === journal.state.last?.seq) return;
    let batch: KeyBatch;
    let cid: CID;
    try {
      cid = CID.decode(getBytes(feed.head));
      if (!(await this.#c.ipfs.blockstore.has(cid))) return;
      const bytes = await getBlock(this.#c.ipfs.blockstore, cid, { maxBytes: 16 * 1024 * 1024 });
      batch = decodeKeyBatch(bytes, await this.#c.signer.getAddress());
    } catch {
      return;
    }
    if (batch.uploads.some((u) => journal.state.queue.has(u)))
      journal.append(
        { e: "published", seq: batch.seq, cid: cid.toString(), txHash: "", uploads: batch.uploads, keys: batch.keys.length },
        true,
      );
  }
}
