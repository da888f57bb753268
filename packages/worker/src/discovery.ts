// A reducer on a real network: it records its peer id and addresses in the ReducerDirectory (when staked, and only
// when the chain's record differs) and finds the other reducers there, dialling them so that each reaches the
// blocks the others hold and catches up from them. The directory is read again only when ReducerAnnounced logs
// appeared since the last look, so a poll costs one getLogs call.
import {
  announceReducer,
  dialPeer,
  type IpfsNode,
  type JobRegistry,
  type Logger,
  type ReducerDirectory,
  type ReducerRecord,
  readReducers,
} from "@mosaic/protocol";

export interface DiscoveryComponents {
  ipfs: IpfsNode;
  /** The directory, connected to the operator's signer (to announce). */
  directory: ReducerDirectory;
  registry: JobRegistry;
  operator: string;
  /** Public multiaddrs to record; the node's own addresses when empty. */
  announce: string[];
  /** The first block to read ReducerAnnounced logs from (the deploy block). */
  fromBlock: number;
  log: Logger;
  /**
   * Blocks read per getLogs call.
   * @default 10000
   */
  blockRange?: number;
  /**
   * The least time between two dials of one reducer that did not answer.
   * @default 30000
   */
  redialMs?: number;
  /**
   * The least stake a record's operator must have to be dialled: the smallest minStake of the jobs this node serves,
   * or its own stake when it serves none (records of 1-wei operators are not worth a dial). Read on every pass.
   * @default () => 1n
   */
  minStake?: () => bigint;
  /**
   * The longest one pass spends dialling, all dials together (they run in parallel).
   * @default 10000
   */
  dialBudgetMs?: number;
  /**
   * Dial records whose addresses are loopback or private hosts: only when the chain itself is local (a devnet).
   * @default true
   */
  allowPrivate?: boolean;
  /** Called after a read of the directory changed the records (the node catches up from the reducers in them). */
  onRecords?(records: readonly ReducerRecord[]): void;
}

/** Records dialled in one pass at most (the highest staked first), and addresses tried per record. */
export const MAX_DIALS_PER_PASS = 16;
export const MAX_ADDRS_PER_DIAL = 4;

/** The directory's limit on addresses per record. */
const MAX_ADDRS = 8;

export class ReducerDiscovery {
  readonly #c: DiscoveryComponents;
  /** The last block whose ReducerAnnounced logs were read; -1 before the first read. */
  #seenBlock = -1;
  #records: ReducerRecord[] = [];
  #announced = false;
  #nextAnnounce = 0;
  readonly #nextDial = new Map<string, number>();
  readonly #stop = new AbortController();

  constructor(components: DiscoveryComponents) {
    this.#c = components;
  }

  /** The reducers last read from the directory (this one included, if announced). */
  get reducers(): readonly ReducerRecord[] {
    return this.#records;
  }

  /** What this node records: its configured public addresses, else the ones it listens on (at most 8). */
  addresses(): string[] {
    const own = this.#c.announce.length > 0 ? this.#c.announce : this.#c.ipfs.libp2p.getMultiaddrs().map((a) => a.toString());
    return own.slice(0, MAX_ADDRS);
  }

  /**
   * Records this node in the directory when its operator is staked and the record differs; tried again on later
   * polls (every 30 s at most) until it is done. Never throws: a failure is logged.
   */
  async announceSelf(): Promise<void> {
    if (this.#announced || Date.now() < this.#nextAnnounce) return;
    this.#nextAnnounce = Date.now() + 30_000;
    try {
      if ((await this.#c.registry.stakeOf(this.#c.operator)) === 0n) {
        this.#c.log("info", "reducer:not-announced", { reason: "no stake yet; stake with 'mosaic reducer stake'" });
        return;
      }
      const peerId = this.#c.ipfs.libp2p.peerId.toString();
      const { txHash, changed } = await announceReducer(this.#c.directory, { peerId, addrs: this.addresses() });
      this.#announced = true;
      this.#c.log("info", changed ? "reducer:announced" : "reducer:announcement-current", { peerId, addrs: this.addresses(), tx: txHash });
    } catch (err) {
      this.#c.log("warn", "reducer:announce-failed", { reason: (err as Error).name, message: (err as Error).message });
    }
  }

  /**
   * One poll: reads the directory again if ReducerAnnounced logs appeared since the last look (or on the first
   * poll), then dials every other reducer not connected (each at most once per redialMs). Never throws.
   */
  async poll(head: number): Promise<void> {
    if (this.#stop.signal.aborted) return;
    try {
      await this.announceSelf();
      const seen = this.#seenBlock;
      if (await this.#changed(head)) {
        try {
          this.#records = await readReducers(this.#c.directory, this.#c.registry, {
            signal: this.#stop.signal,
            allowPrivate: this.#c.allowPrivate ?? true,
            onSkip: (s) => this.#c.log("info", "reducer:directory-skipped", { ...s }),
          });
        } catch (err) {
          // Read again on the next poll, not only when new logs appear: the list read before is stale.
          this.#seenBlock = seen;
          throw err;
        }
        this.#c.log("info", "reducer:directory-read", { reducers: this.#records.length });
        this.#c.onRecords?.(this.#records);
      }
      await this.#dialOthers();
    } catch (err) {
      this.#c.log("warn", "reducer:discovery-failed", { reason: (err as Error).name, message: (err as Error).message });
    }
  }

  async #changed(head: number): Promise<boolean> {
    const first = this.#seenBlock < 0;
    const from = first ? this.#c.fromBlock : this.#seenBlock + 1;
    if (head < from) return first;
    const range = this.#c.blockRange ?? 10_000;
    let found = first;
    const filter = this.#c.directory.filters.ReducerAnnounced();
    for (let at = from; at <= head && !found; at += range) {
      const logs = await this.#c.directory.queryFilter(filter, at, Math.min(head, at + range - 1));
      if (logs.length > 0) found = true;
    }
    this.#seenBlock = head;
    return found;
  }

  /** The records worth dialling now: others' records with enough stake, highest stake first. */
  eligible(): ReducerRecord[] {
    const self = this.#c.ipfs.libp2p.peerId.toString();
    const floor = this.#c.minStake?.() ?? 1n;
    return this.#records.filter(
      (r) => r.peerId !== self && r.operator.toLowerCase() !== this.#c.operator.toLowerCase() && r.stake >= floor && r.stake > 0n,
    );
  }

  /**
   * Dials the reducers not connected (at most MAX_DIALS_PER_PASS, each at most once per redialMs), in parallel, each
   * trying up to MAX_ADDRS_PER_DIAL addresses in turn, all within dialBudgetMs: black-hole addresses cost one budget.
   */
  async #dialOthers(): Promise<void> {
    const libp2p = this.#c.ipfs.libp2p;
    const connected = new Set(libp2p.getPeers().map((p) => p.toString()));
    const now = Date.now();
    const due = this.eligible()
      .filter((r) => !connected.has(r.peerId) && (this.#nextDial.get(r.peerId) ?? 0) <= now)
      .slice(0, MAX_DIALS_PER_PASS);
    if (due.length === 0) return;
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#c.dialBudgetMs ?? 10_000)]);
    await Promise.all(
      due.map(async (r) => {
        this.#nextDial.set(r.peerId, now + (this.#c.redialMs ?? 30_000));
        for (const addr of r.addrs.slice(0, MAX_ADDRS_PER_DIAL)) {
          if (signal.aborted) return;
          try {
            await dialPeer(this.#c.ipfs, addr, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
            this.#c.log("info", "reducer:dialled", { operator: r.operator, peerId: r.peerId, addr });
            return;
          } catch (err) {
            this.#c.log("info", "reducer:dial-failed", { operator: r.operator, addr, message: (err as Error).message });
          }
        }
      }),
    );
  }

  /** Cuts short the pass under way (its dials and directory read); later passes do nothing. */
  stop(): void {
    this.#stop.abort();
  }
}
