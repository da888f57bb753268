// A thread's logs as stored on disk: hash-linked record chains in a blockstore, heads and indexes in a datastore.
// This is all a replicator runs: it needs the service key and the owner's public key, never the read key.
import { getBlock } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import type { Blockstore } from "interface-blockstore";
import { type Datastore, Key } from "interface-datastore";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { hmac } from "@noble/hashes/hmac";
import { sha256 } from "@noble/hashes/sha2";
import { deriveKey, type SigningKey } from "./crypto.js";
import { BlockTooLargeError, BrokenChainError, UnknownLogError } from "./errors.js";
import type { ThreadId } from "./id.js";
import { certifyLog, logIdOf, verifyLogCertificate } from "./keys.js";
import {
  type Block,
  blockOf,
  checkEventBlock,
  createRecord,
  MAX_EVENT_BYTES,
  MAX_RECORD_BYTES,
  openRecord,
  type ThreadRecord,
} from "./record.js";

/** The stores a thread lives in: Helia's blockstore for blocks, a datastore for heads and indexes. */
export interface ThreadStores {
  blockstore: Pick<Blockstore, "get" | "put" | "has">;
  datastore: Pick<Datastore, "get" | "put" | "has" | "batch" | "query">;
  /** Writes blocks and entries atomically, when the stores share one database (see openDiskStores). */
  commit?(blocks: readonly Block[], entries: readonly (readonly [Key, Uint8Array])[]): Promise<void>;
  /** Reads many blocks, or many entries, in one call (undefined where missing). */
  getMany?(kind: "blocks", keys: readonly CID[]): Promise<(Uint8Array | undefined)[]>;
  getMany?(kind: "entries", keys: readonly Key[]): Promise<(Uint8Array | undefined)[]>;
}

/** A record as it travels: the sealed record, its event, and the certificate admitting its log. */
export interface RecordEnvelope {
  record: Uint8Array;
  event: Uint8Array;
  cert?: Uint8Array;
}

/** One log of the thread and how far it reaches. */
export interface LogState {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly cert: Uint8Array;
  /** Records in the log; 0 when empty. */
  seq: number;
  head: CID | null;
}

/** A record now in the log. `checked` is what the caller's event check returned. */
export interface AddedRecord {
  readonly logId: string;
  readonly seq: number;
  readonly cid: CID;
  readonly record: ThreadRecord;
  readonly envelope: RecordEnvelope;
  readonly checked?: unknown;
  /** Appended by this device (not received from a peer). */
  readonly local: boolean;
}

export interface IngestOptions {
  /** Runs on each event before it is stored (a member decrypts it here); throwing refuses the record. */
  checkEvent?: (record: ThreadRecord, event: Uint8Array) => unknown;
}

export interface ThreadLogInit extends IngestOptions {
  id: ThreadId;
  serviceKey: Uint8Array;
  /** The key that certifies the thread's logs. */
  ownerPublicKey: Uint8Array;
}

const pad = (seq: number) => seq.toString().padStart(12, "0");

/**
 * The record chains of one thread. Every mutation runs in one queue, so the chains on disk always verify:
 * blocks are written before the batch that moves a head, and a call resolves only after both.
 */
export class ThreadLog extends EventTarget {
  readonly id: ThreadId;
  readonly #serviceKey: Uint8Array;
  readonly #owner: Uint8Array;
  readonly #stores: ThreadStores;
  readonly #logs = new Map<string, LogState>();
  readonly #prefix: string;
  readonly #checkEvent: IngestOptions["checkEvent"];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(stores: ThreadStores, init: ThreadLogInit) {
    super();
    if (init.serviceKey.length !== 32) throw new RangeError(`serviceKey: expected 32 bytes, got ${init.serviceKey.length}`);
    this.id = init.id;
    this.#serviceKey = init.serviceKey;
    this.#owner = init.ownerPublicKey;
    this.#stores = stores;
    this.#prefix = `/threads/${init.id.toString()}`;
    this.#checkEvent = init.checkEvent;
  }

  /** Opens a thread's logs from its stores (an empty thread when they hold none). Reads one key per log. */
  static async open(stores: ThreadStores, init: ThreadLogInit): Promise<ThreadLog> {
    const log = new ThreadLog(stores, init);
    for await (const { value } of stores.datastore.query({ prefix: `${log.#prefix}/log/` })) {
      const s = dagCbor.decode(value) as { publicKey: Uint8Array; cert: Uint8Array; seq: number; head: CID | null };
      const state: LogState = { id: logIdOf(s.publicKey), publicKey: s.publicKey, cert: s.cert, seq: s.seq, head: s.head };
      log.#logs.set(state.id, state);
    }
    return log;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #logKey(id: string): Key {
    return new Key(`${this.#prefix}/log/${id}`);
  }

  #seqKey(id: string, seq: number): Key {
    return new Key(`${this.#prefix}/seq/${id}/${pad(seq)}`);
  }

  #cidKey(cid: CID): Key {
    return new Key(`${this.#prefix}/cid/${cid.toString()}`);
  }

  /** The thread's logs, with their heads. */
  logs(): readonly Readonly<LogState>[] {
    return [...this.#logs.values()];
  }

  get(logId: string): Readonly<LogState> | undefined {
    return this.#logs.get(logId);
  }

  /** Total records across logs. */
  get size(): number {
    let n = 0;
    for (const l of this.#logs.values()) n += l.seq;
    return n;
  }

  /** Heads as sequence numbers, the form peers compare. */
  heads(): Record<string, number> {
    return Object.fromEntries([...this.#logs.values()].map((l) => [l.id, l.seq]));
  }

  /** Admits a log whose certificate the owner signed; UnknownLogError otherwise. Idempotent. */
  addLog(publicKey: Uint8Array, cert: Uint8Array): Promise<Readonly<LogState>> {
    return this.#serial(async () => {
      const state = this.#admit(publicKey, cert);
      if (!this.#logs.has(state.id)) {
        await this.#stores.datastore.put(this.#logKey(state.id), this.#encodeLog(state));
        this.#logs.set(state.id, state);
      }
      return state;
    });
  }

  /** Certifies and admits this device's own log. */
  async addOwnLog(owner: SigningKey, log: SigningKey): Promise<Readonly<LogState>> {
    return this.#logs.get(logIdOf(log.publicKey)) ?? this.addLog(log.publicKey, certifyLog(owner, this.id, log.publicKey));
  }

  #admit(publicKey: Uint8Array, cert: Uint8Array | undefined): LogState {
    const id = logIdOf(publicKey);
    const known = this.#logs.get(id);
    if (known !== undefined) return known;
    if (cert === undefined || !verifyLogCertificate(this.#owner, this.id, publicKey, cert)) {
      throw new UnknownLogError(`log ${id} is not certified by this thread's owner: refusing its records`);
    }
    return { id, publicKey: Uint8Array.from(publicKey), cert: Uint8Array.from(cert), seq: 0, head: null };
  }

  #encodeLog(s: LogState): Uint8Array {
    return dagCbor.encode({ publicKey: s.publicKey, cert: s.cert, seq: s.seq, head: s.head });
  }

  /** Appends an event to `log` (which must be admitted); resolves once the record is on disk. */
  append(log: SigningKey, event: Block): Promise<AddedRecord> {
    return this.#serial(async () => {
      const state = this.#logs.get(logIdOf(log.publicKey));
      if (state === undefined) throw new UnknownLogError("append: this device's log is not in the thread; call addOwnLog first");
      if (event.bytes.length > MAX_EVENT_BYTES) throw new BlockTooLargeError("event", event.bytes.length, MAX_EVENT_BYTES);
      const { block, record } = createRecord(this.id, this.#serviceKey, log, event.cid, state.head);
      const added: AddedRecord = {
        logId: state.id,
        seq: state.seq + 1,
        cid: block.cid,
        record,
        envelope: { record: block.bytes, event: event.bytes, cert: state.cert },
        local: true,
      };
      await this.#commit([added]);
      return added;
    });
  }

  /**
   * Verifies and stores records from a peer, in order. Records that extend a chain are committed; one already
   * held is skipped. At the first bad record the ones before it are committed and its named error is thrown.
   */
  ingest(envelopes: readonly RecordEnvelope[]): Promise<{ added: AddedRecord[]; duplicates: number }> {
    return this.#serial(async () => {
      const provisional = new Map<string, LogState>();
      const added: AddedRecord[] = [];
      const pendingCids = new Set<string>();
      let duplicates = 0;
      let failure: unknown;
      for (const envelope of envelopes) {
        try {
          const record = openRecord(this.id, this.#serviceKey, envelope.record);
          const cid = blockOf(raw.code, envelope.record).cid;
          const logId = logIdOf(record.pubKey);
          let state = provisional.get(logId);
          if (state === undefined) {
            state = { ...this.#admit(record.pubKey, envelope.cert) };
            provisional.set(logId, state);
          }
          const extends_ = record.prev === null ? state.head === null : state.head?.equals(record.prev) === true;
          if (!extends_) {
            if (pendingCids.has(cid.toString()) || (await this.#stores.datastore.has(this.#cidKey(cid)))) {
              duplicates++;
              continue;
            }
            const prevHeld = record.prev === null || (await this.#stores.datastore.has(this.#cidKey(record.prev)));
            throw new BrokenChainError(
              prevHeld
                ? `record forks log ${logId} (its prev is not the head at seq ${state.seq}): a single-writer log cannot fork; refusing it`
                : `record's prev ${record.prev} is missing from log ${logId} (head at seq ${state.seq}): pull the records before it first`,
              !prevHeld,
            );
          }
          checkEventBlock(record.block, envelope.event);
          const checked = this.#checkEvent?.(record, envelope.event);
          state.seq++;
          state.head = cid;
          pendingCids.add(cid.toString());
          added.push({ logId, seq: state.seq, cid, record, envelope, checked, local: false });
        } catch (err) {
          failure = err;
          break;
        }
      }
      if (added.length > 0) await this.#commit(added);
      if (failure !== undefined) throw failure;
      return { added, duplicates };
    });
  }

  async #commit(added: readonly AddedRecord[]): Promise<void> {
    const entries: [Key, Uint8Array][] = [];
    const touched = new Map<string, LogState>();
    for (const a of added) {
      const base = touched.get(a.logId) ?? this.#logs.get(a.logId);
      const cert = base?.cert ?? a.envelope.cert;
      if (cert === undefined) throw new UnknownLogError(`log ${a.logId} has no certificate`);
      touched.set(a.logId, { id: a.logId, publicKey: a.record.pubKey, cert, seq: a.seq, head: a.cid });
      entries.push([this.#seqKey(a.logId, a.seq), a.cid.bytes], [this.#cidKey(a.cid), dagCbor.encode([a.logId, a.seq])]);
    }
    for (const s of touched.values()) entries.push([this.#logKey(s.id), this.#encodeLog(s)]);
    const blocks = added.flatMap((a) => [
      { cid: a.record.block, bytes: a.envelope.event },
      { cid: a.cid, bytes: a.envelope.record },
    ]);
    if (this.#stores.commit !== undefined) {
      await this.#stores.commit(blocks, entries);
    } else {
      // Blocks first; only then the batch that moves the heads, so a head never names a missing block.
      await Promise.all(blocks.map((b) => this.#stores.blockstore.put(b.cid, b.bytes)));
      const batch = this.#stores.datastore.batch();
      for (const [key, value] of entries) batch.put(key, value);
      await batch.commit();
    }
    for (const s of touched.values()) this.#logs.set(s.id, s);
    for (const a of added) this.dispatchEvent(new CustomEvent("record:added", { detail: a }));
  }

  /** A MAC over `context` under a key derived from the service key: proves to a peer that we hold it. */
  proveServiceKey(context: Uint8Array): Uint8Array {
    return hmac(sha256, deriveKey(this.#serviceKey, "pull-auth"), context);
  }

  /** The CID at `seq` of a log. */
  async cidAt(logId: string, seq: number): Promise<CID> {
    return CID.decode(await this.#stores.datastore.get(this.#seqKey(logId, seq)));
  }

  /** Reads blocks in one call where the stores allow it; each must hash to its CID (BrokenChainError if not). */
  async #blocks(cids: readonly CID[], maxBytes: number): Promise<Uint8Array[]> {
    const found =
      this.#stores.getMany === undefined
        ? await Promise.all(cids.map((cid) => getBlock(this.#stores.blockstore, cid, { maxBytes })))
        : await this.#stores.getMany("blocks", cids);
    return found.map((bytes, i) => {
      const cid = cids[i] as CID;
      if (bytes === undefined) throw new BrokenChainError(`block ${cid} is missing from the store`, false);
      if (!blockOf(cid.code, bytes).cid.equals(cid))
        throw new BrokenChainError(`block ${cid} is corrupt: its bytes do not hash to its CID`, false);
      return bytes;
    });
  }

  /** Reads the stored records `from`..`to` (inclusive) of a log in a few batched reads, for replay and serving. */
  async readRange(logId: string, from: number, to: number): Promise<{ cid: CID; record: ThreadRecord; envelope: RecordEnvelope }[]> {
    const seqs = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    const keys = seqs.map((seq) => this.#seqKey(logId, seq));
    const entries =
      this.#stores.getMany === undefined
        ? await Promise.all(keys.map((k) => this.#stores.datastore.get(k)))
        : await this.#stores.getMany("entries", keys);
    const cids = entries.map((bytes, i) => {
      if (bytes === undefined) throw new BrokenChainError(`log ${logId} has no record at seq ${seqs[i]}`, false);
      return CID.decode(bytes);
    });
    const recordBytes = await this.#blocks(cids, MAX_RECORD_BYTES);
    const records = recordBytes.map((bytes) => openRecord(this.id, this.#serviceKey, bytes, { verify: false }));
    const events = await this.#blocks(
      records.map((r) => r.block),
      MAX_EVENT_BYTES,
    );
    return records.map((record, i) => ({
      cid: cids[i] as CID,
      record,
      envelope: { record: recordBytes[i] as Uint8Array, event: events[i] as Uint8Array },
    }));
  }

  /**
   * Walks every log from its head back to its first record, checking each signature, link, index entry and
   * event block. Resolves to the number of records checked; throws the named error of the first fault.
   */
  async verify(options: { onProgress?: (checked: number, total: number) => void } = {}): Promise<number> {
    const total = this.size;
    let checked = 0;
    for (const state of this.#logs.values()) {
      let prev: CID | null = null;
      // Forward in batches, with the same reads replay uses (which check every block against its CID): each
      // record must carry a valid signature of this log and link to the record before it.
      for (let start = 1; start <= state.seq; start += 1000) {
        const rows = await this.readRange(state.id, start, Math.min(state.seq, start + 999));
        for (const [i, { cid, envelope }] of rows.entries()) {
          const seq = start + i;
          if (!blockOf(raw.code, envelope.record).cid.equals(cid))
            throw new BrokenChainError(`log ${state.id}: the block at seq ${seq} is corrupt`, false);
          const record = openRecord(this.id, this.#serviceKey, envelope.record);
          if (logIdOf(record.pubKey) !== state.id)
            throw new BrokenChainError(`log ${state.id}: seq ${seq} was signed by another log`, false);
          if (!(record.prev === null ? prev === null : prev !== null && record.prev.equals(prev))) {
            throw new BrokenChainError(`log ${state.id}: seq ${seq} does not link to seq ${seq - 1}`, false);
          }
          checkEventBlock(record.block, envelope.event);
          prev = cid;
          checked++;
        }
        options.onProgress?.(checked, total);
      }
      if (!(state.head === null ? prev === null : prev !== null && state.head.equals(prev))) {
        throw new BrokenChainError(`log ${state.id}: its head is not the last record of the chain`, false);
      }
    }
    return checked;
  }
}
