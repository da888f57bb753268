// A member's view of a thread: typed collections over its events, kept in memory and snapshotted (sealed) to disk.
import { randomBytes } from "@noble/ciphers/webcrypto";
import * as dagCbor from "@ipld/dag-cbor";
import { Key } from "interface-datastore";
import { base32 } from "multiformats/bases/base32";
import type { CID } from "multiformats/cid";
import { type CollectionConfig, CollectionState, type Doc, type Query } from "./collection.js";
import { deriveKey, seal, unseal } from "./crypto.js";
import { DocumentExistsError, DocumentNotFoundError, EventDecryptionError, MalformedRecordError } from "./errors.js";
import { HybridClock } from "./hlc.js";
import { logIdOf, type ThreadSecrets } from "./keys.js";
import { type AddedRecord, ThreadLog, type ThreadStores } from "./log.js";
import { createEvent, decodeRecordCbor, type HlcTime, openEvent, type ThreadRecord } from "./record.js";

export interface ThreadInit {
  secrets: ThreadSecrets;
  /** The collections this thread holds, with their validators and indexes. @default {} */
  collections?: Record<string, CollectionConfig<Doc>>;
  /** Write a sealed snapshot after this many records since the last one. @default 10_000 */
  snapshotEvery?: number;
  /** Wall clock for the HLC. @default Date.now */
  clock?: () => number;
  /** Reports replay progress while opening. */
  onProgress?: (done: number, total: number) => void;
}

/** What an event's body says: a write to one document. */
interface Mutation {
  c: string;
  op: "put" | "del";
  id: string;
  doc?: Doc;
}

interface Snapshot {
  v: 1;
  heads: Record<string, [number, CID]>;
  time: [number, number];
  docs: [string, string, Doc | null, number, number, string][];
}

const SNAPSHOT_KEY = "snapshot";

function parseMutation(bytes: Uint8Array): Mutation {
  const m = decodeRecordCbor(bytes, "event body") as Mutation;
  const ok =
    typeof m === "object" &&
    m !== null &&
    typeof m.c === "string" &&
    typeof m.id === "string" &&
    (m.op === "del" ? m.doc === undefined : m.op === "put" && typeof m.doc === "object" && m.doc !== null && m.doc._id === m.id);
  if (!ok) throw new MalformedRecordError("event body: expected {c, op: put|del, id, doc?} with doc._id = id");
  return m;
}

/** A thread opened with its read key: collections of documents every device of the vault converges on. */
export class Thread {
  readonly log: ThreadLog;
  readonly #secrets: ThreadSecrets;
  readonly #stores: ThreadStores;
  readonly #collections = new Map<string, CollectionState>();
  readonly #configs: Record<string, CollectionConfig<Doc>>;
  readonly #clock: HybridClock;
  readonly #snapshotEvery: number;
  readonly #ownLog: string;
  #sinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;

  private constructor(stores: ThreadStores, log: ThreadLog, init: ThreadInit) {
    this.#stores = stores;
    this.log = log;
    this.#secrets = init.secrets;
    this.#configs = init.collections ?? {};
    this.#clock = new HybridClock(init.clock);
    this.#snapshotEvery = init.snapshotEvery ?? 10_000;
    this.#ownLog = logIdOf(init.secrets.log.publicKey);
    for (const [name, config] of Object.entries(this.#configs)) this.#collections.set(name, new CollectionState(name, config));
  }

  /** Opens (or creates) the thread: loads the latest snapshot, then replays only the records after it. */
  static async open(stores: ThreadStores, init: ThreadInit): Promise<Thread> {
    const { id, key, owner } = init.secrets;
    let thread: Thread | undefined;
    const log = await ThreadLog.open(stores, {
      id,
      serviceKey: key.service,
      ownerPublicKey: owner.publicKey,
      checkEvent: (record, event) => (thread as Thread).#check(record, event),
    });
    thread = new Thread(stores, log, init);
    await log.addOwnLog(owner, init.secrets.log);
    const from = await thread.#loadSnapshot();
    await thread.#replay(from, init.onProgress);
    log.addEventListener("record:added", (e) => thread.#onAdded((e as CustomEvent<AddedRecord>).detail));
    return thread;
  }

  get id(): string {
    return this.log.id.toString();
  }

  /** This device's log ID. */
  get ownLog(): string {
    return this.#ownLog;
  }

  #state(name: string): CollectionState {
    let state = this.#collections.get(name);
    if (state === undefined) {
      state = new CollectionState(name, {});
      this.#collections.set(name, state);
    }
    return state;
  }

  /** A typed view of one collection. */
  collection<T extends Doc>(name: string): Collection<T> {
    return new Collection<T>(this, this.#state(name) as unknown as CollectionState<T>);
  }

  #check(record: ThreadRecord, event: Uint8Array): { time: HlcTime; mutation: Mutation } {
    const opened = openEvent(this.log.id, this.#secrets.key.read, record.block, event);
    const mutation = parseMutation(opened.body);
    const validate = this.#configs[mutation.c]?.validate;
    if (validate !== undefined && mutation.doc !== undefined) {
      try {
        validate(mutation.doc);
      } catch (err) {
        throw new MalformedRecordError(`event for ${mutation.c}/${mutation.id} fails the collection's schema: ${(err as Error).message}`);
      }
    }
    return { time: opened.time, mutation };
  }

  #onAdded(added: AddedRecord): void {
    const checked = added.checked as { time: HlcTime; mutation: Mutation } | undefined;
    if (checked === undefined) return; // our own write, applied by #write
    this.#clock.observe(checked.time);
    this.#apply(checked.mutation, checked.time, added.logId);
  }

  #apply(m: Mutation, time: HlcTime, log: string): void {
    this.#state(m.c).apply(m.id, m.op === "put" ? (m.doc as Doc) : null, time, log);
    if (++this.#sinceSnapshot >= this.#snapshotEvery && this.#snapshotting === undefined) {
      this.#snapshotting = this.snapshot().finally(() => {
        this.#snapshotting = undefined;
      });
    }
  }

  /** @internal Appends one document write as an encrypted, signed record, then applies it. */
  async write(m: Mutation): Promise<void> {
    const time = this.#clock.now();
    const event = createEvent(this.log.id, this.#secrets.key.read, time, dagCbor.encode(m));
    await this.log.append(this.#secrets.log, event);
    this.#apply(m, time, this.#ownLog);
  }

  /** @internal The collection config (validator) for a name. */
  config(name: string): CollectionConfig<Doc> | undefined {
    return this.#configs[name];
  }

  #snapshotKey(): Key {
    return new Key(`/threads/${this.id}/${SNAPSHOT_KEY}`);
  }

  /** Seals the current state with a key derived from the read key and stores it; open starts from here. */
  async snapshot(): Promise<void> {
    // Taken in one synchronous step, so heads and documents describe the same moment.
    const snap: Snapshot = {
      v: 1,
      heads: Object.fromEntries(
        this.log
          .logs()
          .filter((l) => l.head !== null)
          .map((l) => [l.id, [l.seq, l.head as CID]]),
      ),
      time: [...this.#clock.current],
      docs: [],
    };
    for (const [name, state] of this.#collections) {
      for (const [id, e] of state.entries) snap.docs.push([name, id, e.doc, e.time[0], e.time[1], e.log]);
    }
    this.#sinceSnapshot = 0;
    const sealed = seal(deriveKey(this.#secrets.key.read, "snapshot"), dagCbor.encode(snap), this.log.id.bytes);
    await this.#stores.datastore.put(this.#snapshotKey(), sealed);
  }

  async #loadSnapshot(): Promise<Record<string, number>> {
    if (!(await this.#stores.datastore.has(this.#snapshotKey()))) return {};
    const sealed = await this.#stores.datastore.get(this.#snapshotKey());
    const plain = unseal(deriveKey(this.#secrets.key.read, "snapshot"), sealed, this.log.id.bytes);
    if (plain === undefined)
      throw new EventDecryptionError("the thread's snapshot does not decrypt under its read key: wrong seed for this vault?");
    const snap = dagCbor.decode(plain) as Snapshot;
    // A snapshot that is ahead of the logs (a restored datastore) is not trusted: replay everything instead.
    for (const [logId, [seq, cid]] of Object.entries(snap.heads)) {
      const log = this.log.get(logId);
      if (log === undefined || log.seq < seq || !(await this.log.cidAt(logId, seq)).equals(cid)) return {};
    }
    for (const [name, id, doc, ms, counter, log] of snap.docs) this.#state(name).apply(id, doc, [ms, counter], log);
    this.#clock.observe(snap.time);
    return Object.fromEntries(Object.entries(snap.heads).map(([k, [seq]]) => [k, seq]));
  }

  async #replay(from: Record<string, number>, onProgress?: (done: number, total: number) => void): Promise<void> {
    const logs = this.log.logs();
    const total = logs.reduce((n, l) => n + l.seq - (from[l.id] ?? 0), 0);
    let done = 0;
    for (const l of logs) {
      for (let start = (from[l.id] ?? 0) + 1; start <= l.seq; start += 1000) {
        const rows = await this.log.readRange(l.id, start, Math.min(l.seq, start + 999));
        for (const { record, envelope } of rows) {
          const { time, mutation } = this.#check(record, envelope.event);
          this.#clock.observe(time);
          this.#state(mutation.c).apply(mutation.id, mutation.op === "put" ? (mutation.doc as Doc) : null, time, l.id);
        }
        done += rows.length;
        onProgress?.(done, total);
      }
    }
    if (done >= 1000) await this.snapshot();
  }

  /** Writes a final snapshot if anything changed since the last one. */
  async close(): Promise<void> {
    await this.#snapshotting;
    if (this.#sinceSnapshot > 0) await this.snapshot();
  }

  /** A summary for `mosaic vault status`. */
  status(): { id: string; ownLog: string; records: number; logs: { id: string; seq: number }[]; collections: Record<string, number> } {
    return {
      id: this.id,
      ownLog: this.#ownLog,
      records: this.log.size,
      logs: this.log.logs().map((l) => ({ id: l.id, seq: l.seq })),
      collections: Object.fromEntries([...this.#collections].map(([name, s]) => [name, s.size])),
    };
  }
}

/** Documents of one type: reads come from memory; each write is one record appended to this device's log. */
export class Collection<T extends Doc> {
  constructor(
    readonly thread: Thread,
    readonly state: CollectionState<T>,
  ) {}

  get name(): string {
    return this.state.name;
  }

  /** Live documents. */
  get size(): number {
    return this.state.size;
  }

  get(id: string): T | undefined {
    return this.state.get(id);
  }

  find(query?: Query<T>): T[] {
    return this.state.find(query);
  }

  #validate(doc: Doc): T {
    const validate = this.thread.config(this.name)?.validate;
    return (validate === undefined ? doc : validate(doc)) as T;
  }

  /** Creates a document (with a fresh random `_id` unless one is given); DocumentExistsError if the id is taken. */
  async create(doc: Omit<T, "_id"> & { _id?: string }): Promise<T> {
    const id = doc._id ?? base32.encode(randomBytes(16)).slice(1);
    if (this.state.get(id) !== undefined) throw new DocumentExistsError(`${this.name}/${id} already exists: use update`);
    const full = this.#validate({ ...doc, _id: id } as Doc);
    await this.thread.write({ c: this.name, op: "put", id, doc: full });
    return full;
  }

  /** Replaces fields of a document; DocumentNotFoundError if it does not exist. */
  async update(id: string, patch: Partial<Omit<T, "_id">>): Promise<T> {
    const current = this.state.get(id);
    if (current === undefined) throw new DocumentNotFoundError(`${this.name}/${id} does not exist: use create`);
    const full = this.#validate({ ...current, ...patch, _id: id } as Doc);
    await this.thread.write({ c: this.name, op: "put", id, doc: full });
    return full;
  }

  /** Deletes a document; DocumentNotFoundError if it does not exist. */
  async delete(id: string): Promise<void> {
    if (this.state.get(id) === undefined) throw new DocumentNotFoundError(`${this.name}/${id} does not exist`);
    await this.thread.write({ c: this.name, op: "del", id });
  }
}
