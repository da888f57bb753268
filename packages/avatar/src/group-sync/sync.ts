// Opening and running a group sync: keeps a stock Semaphore group's tree in step with the chain — incrementally, with
// an optional cache — and answers "would Semaphore.verifyProof accept this root at that time?" exactly as the contract
// does. The parts it runs are beside it: the tree mirror, the root history, event scanning and the cache file.
import { openCacheStore } from "#group-sync/cache-store";
import { createLogger, ExpiredRootError, type Logger, type Semaphore, Semaphore__factory, UnknownRootError } from "@mosaic/protocol";
import type { Group } from "@semaphore-protocol/group";
import { getAddress, isAddress, type Log, type Provider } from "ethers";
import { CacheFileRejectedError, type CacheIdentity, cacheFileName, decodeCache, encodeCache } from "./cache-file.js";
import type { CacheStore } from "./cache-store.js";
import { GroupSyncError } from "./errors.js";
import { applyLogs, EVENT_TOPICS, groupTopicOf } from "./events.js";
import { MAX_UINT256 } from "./limits.js";
import { buildTree } from "./mirror-tree.js";
import { SyncState, treeAfter } from "./root-history.js";
import type { CheckRootOptions, GroupSync, GroupSyncInit, GroupSyncProgress, GroupSyncResult, SyncOptions } from "./types.js";

/**
 * Opens a sync for one group on a stock Semaphore v4 contract, loading the cache file from `init.cacheDir` when one
 * matches; a cache that does not parse, is for another chain, contract or group, or whose leaves do not give its own
 * root is ignored with a logged warning. Call `sync()` to catch up with the chain.
 *
 * @example
 * ```ts
 * const members = await openGroupSync({ provider, semaphore: addresses.semaphore }, groupId, { cacheDir })
 * await members.sync()
 * const group = members.groupAt(job.groupRoot)       // prove against the job's snapshot
 * await members.checkRoot(proof.merkleTreeRoot)       // as Semaphore.verifyProof would, now
 * ```
 */
export async function openGroupSync(
  components: { provider: Provider; semaphore: string },
  groupId: bigint,
  init: GroupSyncInit = {},
): Promise<GroupSync> {
  const { provider, semaphore } = components ?? {};
  if (provider === undefined || typeof provider.getLogs !== "function") {
    throw new TypeError("components.provider: expected an ethers Provider");
  }
  if (typeof semaphore !== "string" || !isAddress(semaphore)) {
    throw new TypeError(`components.semaphore: expected a contract address, got ${JSON.stringify(semaphore)}`);
  }
  if (typeof groupId !== "bigint") throw new TypeError(`groupId: expected a bigint, got ${typeof groupId}`);
  if (groupId < 0n || groupId > MAX_UINT256) throw new RangeError(`groupId: expected a uint256, got ${groupId}`);
  const blockRange = init.blockRange ?? 10_000;
  if (!Number.isSafeInteger(blockRange) || blockRange < 1)
    throw new RangeError(`init.blockRange: expected an integer >= 1, got ${blockRange}`);
  const fromBlock = init.fromBlock ?? 0;
  if (!Number.isSafeInteger(fromBlock) || fromBlock < 0) throw new RangeError(`init.fromBlock: expected a block number, got ${fromBlock}`);
  init.signal?.throwIfAborted();
  const { chainId } = await provider.getNetwork();
  const sync = new SemaphoreGroupSync(provider, getAddress(semaphore), chainId, groupId, { ...init, blockRange, fromBlock });
  await sync.loadCache(init.signal);
  return sync;
}

class SemaphoreGroupSync implements GroupSync {
  readonly groupId: bigint;
  readonly #cache: CacheStore | undefined;
  readonly #provider: Provider;
  readonly #address: string;
  readonly #chainId: bigint;
  readonly #contract: Semaphore;
  readonly #fromBlock: number;
  readonly #verifyEventRoots: boolean;
  readonly #log: Logger;
  readonly #onProgress: ((p: GroupSyncProgress) => void) | undefined;
  readonly #groupTopic: string;
  #blockRange: number;
  #state: SyncState;
  /** Timestamps of the blocks whose roots were asked about, fetched on demand (a 100k-event history spans 100k blocks). */
  #timestamps = new Map<number, number>();
  #timestampsInFlight = new Map<number, Promise<number>>();
  /** Set when the state is known to be wrong (a groupAt rebuild disagreed with the history): the next sync rebuilds. */
  #suspect: string | undefined;
  /** The block the cache file on disk reflects. */
  #writtenBlock: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    provider: Provider,
    address: string,
    chainId: bigint,
    groupId: bigint,
    init: GroupSyncInit & { blockRange: number; fromBlock: number },
  ) {
    this.#provider = provider;
    this.#address = address;
    this.#chainId = chainId;
    this.groupId = groupId;
    this.#contract = Semaphore__factory.connect(address, provider);
    this.#fromBlock = init.fromBlock;
    this.#blockRange = init.blockRange;
    this.#verifyEventRoots = init.verifyEventRoots ?? true;
    this.#log = init.logger ?? createLogger("group-sync");
    this.#onProgress = init.onProgress;
    this.#groupTopic = groupTopicOf(groupId);
    this.#cache = init.cacheDir === undefined ? undefined : openCacheStore(init.cacheDir, cacheFileName(chainId, address, groupId));
    this.#state = SyncState.empty(init.fromBlock);
  }

  get cacheFile(): string | undefined {
    return this.#cache?.location;
  }

  get root(): bigint {
    return this.#state.tree.root;
  }

  get size(): number {
    return this.#state.tree.size;
  }

  get block(): number {
    return this.#state.block;
  }

  get duration(): bigint | undefined {
    return this.#state.duration;
  }

  sync(options: SyncOptions = {}): Promise<GroupSyncResult> {
    // One sync at a time: each builds on the state the previous one committed.
    const run = this.#queue.then(() => this.#syncOnce(options));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  group(): Group {
    return this.#state.tree.toGroup();
  }

  hadRoot(root: bigint): boolean {
    return this.#state.lastOpOf.has(root);
  }

  indexOf(commitment: bigint): number {
    return this.#state.memberIndex.get(commitment) ?? -1;
  }

  groupAt(root: bigint): Group {
    requireUint256(root, "root");
    const state = this.#state;
    const at = state.lastOpOf.get(root);
    if (at === undefined || state.tree.size === 0) {
      throw new UnknownRootError(`root ${root} was never a root of group ${this.groupId} (synced to block ${state.block})`);
    }
    if (at === state.ops.length - 1) return state.tree.toGroup();
    const tree = treeAfter(state, at);
    if (tree.root !== root) {
      // Only a cache whose history was edited can get here: the events were checked when they were applied.
      this.#suspect = `the recorded history of root ${root} rebuilds to ${tree.root}`;
      throw new GroupSyncError(`${this.#suspect}; the next sync() rebuilds group ${this.groupId} from the chain`);
    }
    return tree.toGroup();
  }

  async checkRoot(root: bigint, options: CheckRootOptions = {}): Promise<void> {
    requireUint256(root, "root");
    const { at, signal } = options;
    if (at !== undefined && (!Number.isSafeInteger(at) || at < 0)) throw new RangeError(`options.at: expected Unix seconds, got ${at}`);
    signal?.throwIfAborted();
    const state = this.#state;
    if (state.tree.size === 0) {
      throw new UnknownRootError(`group ${this.groupId} has no members at block ${state.block}, so Semaphore accepts no root`);
    }
    if (root === state.tree.root) return;
    const op = state.ops[state.lastOpOf.get(root) ?? -1];
    if (op === undefined) {
      throw new UnknownRootError(`root ${root} was never a root of group ${this.groupId} (synced to block ${state.block})`);
    }
    const created = BigInt(await this.#timestampOf(op.block, signal));
    const now = BigInt(at ?? state.blockTimestamp ?? (await this.#timestampOf(state.block, signal)));
    const duration = state.duration ?? 0n;
    const expiry = created + duration;
    if (expiry > MAX_UINT256) {
      throw new ExpiredRootError(
        `root ${root} of group ${this.groupId}: its creation time ${created} plus the duration ${duration} overflows uint256, so Semaphore's verifyProof reverts`,
      );
    }
    if (now > expiry) {
      throw new ExpiredRootError(
        `root ${root} of group ${this.groupId} was last set at ${created} and expired at ${expiry} (duration ${duration} s); checked at ${now}`,
      );
    }
  }

  async #timestampOf(block: number, signal?: AbortSignal): Promise<number> {
    const known = this.#timestamps.get(block);
    if (known !== undefined) return known;
    let pending = this.#timestampsInFlight.get(block);
    if (pending === undefined) {
      pending = this.#ask(`block ${block}`, () => this.#provider.getBlock(block))
        .then((b) => {
          if (b === null)
            throw new GroupSyncError(`block ${block} is not on the chain; sync() again after a reorg`, { kind: "unavailable" });
          this.#timestamps.set(block, b.timestamp);
          return b.timestamp;
        })
        .finally(() => this.#timestampsInFlight.delete(block));
      this.#timestampsInFlight.set(block, pending);
    }
    const timestamp = await pending;
    signal?.throwIfAborted();
    return timestamp;
  }

  /** A provider call whose failure becomes a GroupSyncError of kind "unavailable". */
  async #ask<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new GroupSyncError(`could not read ${what}: ${(err as Error).message}; try again later`, { cause: err, kind: "unavailable" });
    }
  }

  async #syncOnce({ toBlock, signal }: SyncOptions): Promise<GroupSyncResult> {
    if (toBlock !== undefined && (!Number.isSafeInteger(toBlock) || toBlock < 0)) {
      throw new RangeError(`options.toBlock: expected a block number, got ${toBlock}`);
    }
    signal?.throwIfAborted();
    const started = performance.now();
    const current = this.#state;
    const head = toBlock ?? (await this.#ask("the latest block number", () => this.#provider.getBlockNumber()));
    let reason = this.#suspect;
    if (head < current.block) {
      if (toBlock !== undefined) {
        throw new RangeError(
          `options.toBlock: ${toBlock} is before the synced block ${current.block}; open another GroupSync to look back`,
        );
      }
      reason ??= `the chain's head ${head} is behind the synced block ${current.block}`;
    } else if (reason === undefined && current.blockHash !== undefined) {
      const block = await this.#ask(`block ${current.block}`, () => this.#provider.getBlock(current.block));
      if (block?.hash !== current.blockHash) {
        reason = `block ${current.block} is now ${block?.hash ?? "missing"}, not ${current.blockHash} (a reorg)`;
      }
    }
    let result: { state: SyncState; applied: number };
    let rebuilt = reason !== undefined;
    if (reason !== undefined) result = await this.#rebuild(head, reason, signal);
    else {
      try {
        result = await this.#advance(current, head, signal);
      } catch (err) {
        // From a fresh state a retry would read the same events; from a cached or earlier state, the state itself may
        // be what is wrong.
        if (!(err instanceof GroupSyncError) || err.kind !== "inconsistent" || current.block < this.#fromBlock) throw err;
        result = await this.#rebuild(head, err.message, signal);
        rebuilt = true;
      }
    }
    this.#state = result.state;
    this.#suspect = undefined;
    const { state, applied } = result;
    this.#log("debug", "group:synced", {
      groupId: this.groupId,
      block: state.block,
      size: state.tree.size,
      applied,
      ms: Math.round(performance.now() - started),
    });
    await this.#persist(applied > 0 || rebuilt);
    return { block: state.block, size: state.tree.size, root: state.tree.root, applied };
  }

  async #rebuild(head: number, reason: string, signal: AbortSignal | undefined): Promise<{ state: SyncState; applied: number }> {
    this.#log("warn", "group:rebuilding", { groupId: this.groupId, fromBlock: this.#fromBlock, head, reason });
    // Timestamps may belong to blocks that were reorganised away.
    this.#timestamps = new Map();
    return this.#advance(SyncState.empty(this.#fromBlock), head, signal);
  }

  /** Reads and applies the events in (base.block, head], then checks the result against the contract at `head`. */
  async #advance(base: SyncState, head: number, signal: AbortSignal | undefined): Promise<{ state: SyncState; applied: number }> {
    let staged: SyncState | undefined;
    let applied = 0;
    let from = base.block + 1;
    while (from <= head) {
      signal?.throwIfAborted();
      const to = Math.min(head, from + this.#blockRange - 1);
      let logs: Log[];
      try {
        logs = await this.#provider.getLogs({
          address: this.#address,
          topics: [EVENT_TOPICS, this.#groupTopic],
          fromBlock: from,
          toBlock: to,
        });
      } catch (err) {
        if (this.#blockRange === 1) {
          throw new GroupSyncError(`eth_getLogs failed for block ${from}: ${(err as Error).message}`, { cause: err, kind: "unavailable" });
        }
        // Many providers cap the range or the result count of one query; ask for less until it answers.
        this.#blockRange = Math.max(1, Math.floor(this.#blockRange / 2));
        this.#log("info", "logs:range-halved", { from, to, blockRange: this.#blockRange, message: (err as Error).message });
        continue;
      }
      signal?.throwIfAborted();
      if (logs.length > 0) {
        staged ??= base.clone();
        applied += await applyLogs(
          staged,
          logs,
          { from, to, head },
          {
            groupId: this.groupId,
            address: this.#address,
            groupTopic: this.#groupTopic,
            verifyEventRoots: this.#verifyEventRoots,
            onProgress: this.#onProgress,
          },
          signal,
        );
      }
      from = to + 1;
      this.#onProgress?.({ block: to, head, members: (staged ?? base).tree.size });
    }
    const state = staged ?? base.moved();
    const [root, size, duration, block] = await this.#ask(`group ${this.groupId} at block ${head}`, () =>
      Promise.all([
        this.#contract.getMerkleTreeRoot(this.groupId, { blockTag: head }),
        this.#contract.getMerkleTreeSize(this.groupId, { blockTag: head }),
        this.#contract.groups(this.groupId, { blockTag: head }),
        this.#provider.getBlock(head),
      ]),
    );
    signal?.throwIfAborted();
    if (block === null || block.hash === null) throw new GroupSyncError(`block ${head} is not on the chain`, { kind: "unavailable" });
    if (root !== state.tree.root || size !== BigInt(state.tree.size)) {
      throw new GroupSyncError(
        `the events give group ${this.groupId} root ${state.tree.root} and size ${state.tree.size} at block ${head}, but the contract has root ${root} and size ${size}`,
      );
    }
    const expectedDuration = state.durations.at(-1)?.next ?? base.duration;
    if (expectedDuration !== undefined && expectedDuration !== duration) {
      throw new GroupSyncError(
        `the events give group ${this.groupId} a merkleTreeDuration of ${expectedDuration} at block ${head}, the contract ${duration}`,
      );
    }
    state.block = head;
    state.blockHash = block.hash;
    state.blockTimestamp = block.timestamp;
    state.duration = duration;
    return { state, applied };
  }

  /** Loads the cache file, if any; anything wrong with it is logged and the file ignored. */
  async loadCache(signal?: AbortSignal): Promise<void> {
    const cache = this.#cache;
    if (cache === undefined) return;
    const file = cache.location;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await cache.read();
    } catch (err) {
      this.#log("warn", "cache:ignored", { file, reason: (err as Error).message });
      return;
    }
    if (bytes === undefined) return;
    try {
      const cached = await decodeCache(bytes, this.#cacheIdentity());
      // The costly check last: the leaves must give the history's last root (the sync then checks it against the chain).
      const tree = await buildTree(cached.leaves, signal);
      const expectedRoot = cached.ops.at(-1)?.root ?? 0n;
      if (tree.root !== expectedRoot) throw new CacheFileRejectedError(`the leaves give root ${tree.root}, the history ${expectedRoot}`);
      const lastOpOf = new Map<bigint, number>();
      for (const [i, op] of cached.ops.entries()) lastOpOf.set(op.root, i);
      this.#state = new SyncState(
        cached.block,
        cached.blockHash,
        cached.blockTimestamp,
        cached.duration,
        tree,
        cached.memberIndex,
        cached.ops,
        lastOpOf,
        cached.durations,
      );
      this.#timestamps = cached.timestamps;
      this.#writtenBlock = cached.block;
      this.#log("info", "cache:loaded", { file, block: cached.block, size: tree.size });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      this.#log("warn", "cache:ignored", { file, reason: (err as Error).message });
    }
  }

  /** Writes the cache when events were applied, or the head moved a query's worth of blocks past the file's. */
  async #persist(changed: boolean): Promise<void> {
    const cache = this.#cache;
    const state = this.#state;
    if (cache === undefined || state.blockHash === undefined) return;
    if (!changed && this.#writtenBlock !== undefined && state.block - this.#writtenBlock < this.#blockRange) return;
    const file = cache.location;
    try {
      await cache.write(await encodeCache(state, this.#timestamps, this.#cacheIdentity()));
      this.#writtenBlock = state.block;
      this.#log("debug", "cache:written", { file, block: state.block, size: state.tree.size });
    } catch (err) {
      // The sync itself succeeded; a cache that could not be written only costs a longer sync next time.
      this.#log("warn", "cache:write-failed", { file, reason: (err as Error).message });
    }
  }

  /** What a cache file must be for to be this sync's. */
  #cacheIdentity(): CacheIdentity {
    return { chainId: this.#chainId, semaphore: this.#address.toLowerCase(), groupId: this.groupId, fromBlock: this.#fromBlock };
  }
}

function requireUint256(value: bigint, name: string): void {
  if (typeof value !== "bigint") throw new TypeError(`${name}: expected a bigint, got ${typeof value}`);
  if (value < 0n || value > MAX_UINT256) throw new RangeError(`${name}: expected a uint256, got ${value}`);
}
