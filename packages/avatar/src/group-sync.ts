// Rebuilds a stock Semaphore group's Merkle tree from the contract's events — incrementally, with an on-disk cache — and
// answers "would Semaphore.verifyProof accept this root at that time?" exactly as the contract does.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import {
  createLogger,
  ExpiredRootError,
  type Logger,
  namedError,
  type Semaphore,
  Semaphore__factory,
  SNARK_SCALAR_FIELD,
  UnknownRootError,
} from "@mosaic/protocol";
import { Group } from "@semaphore-protocol/group";
import { getAddress, isAddress, type Log, type LogDescription, type Provider, toBeHex, zeroPadValue } from "ethers";

/**
 * The contract's events could not be turned into the contract's tree. `kind` says why: "inconsistent" — a malformed
 * or out-of-order event, a root the rebuilt tree does not give, or a rebuilt root that differs from
 * `getMerkleTreeRoot` (the provider is wrong or lying; use another) — or "unavailable" — the provider failed to answer
 * (retry later). A sync that throws it has changed nothing.
 */
export class GroupSyncError extends namedError("GroupSyncError") {
  readonly kind: "inconsistent" | "unavailable";

  constructor(message: string, options: ErrorOptions & { kind?: "inconsistent" | "unavailable" } = {}) {
    super(message, options);
    this.kind = options.kind ?? "inconsistent";
  }
}

/** How far a sync has got: the last block read, the block it is reading up to, and the members so far. */
export interface GroupSyncProgress {
  block: number;
  head: number;
  members: number;
}

export interface GroupSyncInit {
  /**
   * Directory for the cache file (one per chain, Semaphore address and group); none keeps everything in memory.
   * @default undefined
   */
  cacheDir?: string;
  /**
   * Blocks per `eth_getLogs` query; halved (down to 1) whenever the provider refuses a query.
   * @default 10000
   */
  blockRange?: number;
  /**
   * The first block to scan: the Semaphore contract's deployment block.
   * @default 0
   */
  fromBlock?: number;
  /**
   * Check every event's root against the rebuilt tree, including the roots in the middle of a run of additions
   * (about log2(size)/2 Poseidon hashes each). When false, only the root at the end of each run of additions and
   * after each update or removal is checked; the others are recorded as the events state them. The final root is
   * always checked against the contract's.
   * @default true
   */
  verifyEventRoots?: boolean;
  /**
   * Structured logs.
   * @default createLogger("group-sync")
   */
  logger?: Logger;
  /**
   * Called after each `eth_getLogs` query and each batch of additions applied, so a CLI can draw a bar.
   * @default undefined
   */
  onProgress?(progress: GroupSyncProgress): void;
  /**
   * Aborts opening: reading the cache and rehashing its leaves.
   * @default undefined
   */
  signal?: AbortSignal;
}

/** What one sync did. */
export interface GroupSyncResult {
  /** The block the group is now synced to. */
  block: number;
  size: number;
  root: bigint;
  /** Events applied by this sync (member and duration events); a from-scratch rebuild counts them all. */
  applied: number;
}

export interface SyncOptions {
  /**
   * Sync up to this block.
   * @default the latest block
   */
  toBlock?: number;
  signal?: AbortSignal;
}

export interface CheckRootOptions {
  /**
   * The block timestamp (Unix seconds) to check at.
   * @default the synced block's timestamp
   */
  at?: number;
  signal?: AbortSignal;
}

/** One Semaphore group's tree, kept in step with the chain. */
export interface GroupSync {
  readonly groupId: bigint;
  /** The group's root at the synced block (0 while it has no members). */
  readonly root: bigint;
  readonly size: number;
  /** The block the state reflects: `fromBlock - 1` before anything was read. */
  readonly block: number;
  /** The group's `merkleTreeDuration` at the synced block, in seconds; undefined before the first sync. */
  readonly duration: bigint | undefined;
  /** The cache file, when there is a `cacheDir`. */
  readonly cacheFile: string | undefined;
  /**
   * Reads the events after the synced block up to `toBlock`, applies them, and checks the rebuilt root and size
   * against the contract's at that block. If they differ, or the synced block was reorganised away, it discards the
   * state (and so the cache), rebuilds from `fromBlock` and logs why. Throws {@link GroupSyncError} with the state
   * unchanged when even a rebuild does not give the contract's tree.
   */
  sync(options?: SyncOptions): Promise<GroupSyncResult>;
  /**
   * The tree as it was when `root` was the group's root (for proving against a job's snapshot root).
   * Throws UnknownRootError if the group never had it. Costs at most one rebuild of that tree.
   */
  groupAt(root: bigint): Group;
  /** The current tree, as a Group of its own (changing it does not change this sync). */
  group(): Group;
  /**
   * Resolves exactly when Semaphore.verifyProof, at the synced block's state and block timestamp `at`, gets past the
   * root checks; throws UnknownRootError where it reverts with MerkleTreeRootIsNotPartOfTheGroup and ExpiredRootError
   * where it reverts with MerkleTreeRootIsExpired. Two cases the contract reverts with other errors map onto these:
   * a group without members (GroupHasNoMembers / GroupDoesNotExist) gives UnknownRootError, and a creation date plus
   * duration that overflows uint256 (an arithmetic panic) gives ExpiredRootError.
   */
  checkRoot(root: bigint, options?: CheckRootOptions): Promise<void>;
  /** Whether `root` was ever a root of this group, at any block up to the synced one. */
  hadRoot(root: bigint): boolean;
  /** The member's index in the current tree, or -1. */
  indexOf(commitment: bigint): number;
}

const MAX_UINT256 = (1n << 256n) - 1n;
// A LeanIMT leaf index is a JS number shifted with `>>` by @zk-kit/lean-imt; the contract caps depth at 32.
const MAX_SIZE = 2 ** 31 - 1;
// Additions are hashed in slices of at most this many leaves, so an abort or progress report is never far off.
const ADD_SLICE = 8192;

// Group's own Poseidon, reached through its public API: a two-leaf LeanIMT's root is H(left, right). This keeps the
// exact hash Semaphore uses without importing Group's transitive dependency; the extra cost is under 2%.
const hashPair = (left: bigint, right: bigint): bigint => new Group([left, right]).root;

/** The depth of a LeanIMT with `size` leaves: the smallest d with 2^d >= size. */
function depthFor(size: number): number {
  let depth = 0;
  while (2 ** depth < size) depth++;
  return depth;
}

/**
 * A LeanIMT with the node layout of @zk-kit/lean-imt (the tree inside Group), plus what sync needs and Group lacks:
 * cheap copies, the root of a prefix of the leaves, and truncation. Exported for the spec, not from the package.
 */
export class MirrorTree {
  constructor(readonly levels: bigint[][] = [[]]) {}

  static fromLeaves(leaves: readonly bigint[]): MirrorTree {
    const tree = new MirrorTree();
    tree.insertMany(leaves);
    return tree;
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  get depth(): number {
    return this.levels.length - 1;
  }

  get root(): bigint {
    return this.levels[this.depth]![0] ?? 0n;
  }

  get leaves(): readonly bigint[] {
    return this.levels[0]!;
  }

  clone(): MirrorTree {
    return new MirrorTree(this.levels.map((level) => level.slice()));
  }

  /** LeanIMT.insertMany: appends the leaves and recomputes only the nodes above them. */
  insertMany(leaves: readonly bigint[]): void {
    if (leaves.length === 0) return;
    let start = Math.floor(this.size / 2);
    const bottom = this.levels[0]!;
    for (const leaf of leaves) bottom.push(leaf);
    const depth = depthFor(this.size);
    while (this.depth < depth) this.levels.push([]);
    for (let level = 0; level < depth; level++) {
      const below = this.levels[level]!;
      const above = this.levels[level + 1]!;
      const count = Math.ceil(below.length / 2);
      for (let i = start; i < count; i++) {
        const right = below[2 * i + 1];
        above[i] = right !== undefined ? hashPair(below[2 * i]!, right) : below[2 * i]!;
      }
      start = Math.floor(start / 2);
    }
  }

  /** LeanIMT.update: sets one leaf (0 for a removal) and rehashes its path. */
  update(index: number, leaf: bigint): void {
    let node = leaf;
    let i = index;
    for (let level = 0; level < this.depth; level++) {
      const nodes = this.levels[level]!;
      nodes[i] = node;
      if (i & 1) node = hashPair(nodes[i - 1]!, node);
      else {
        const sibling = nodes[i + 1];
        if (sibling !== undefined) node = hashPair(node, sibling);
      }
      i = Math.floor(i / 2);
    }
    this.levels[this.depth] = [node];
  }

  /**
   * The root the tree had when it held only its first `size` leaves, valid while none of those leaves has changed
   * since: every left sibling on the path of leaf `size - 1` covers a complete range inside the prefix, so it is
   * shared with the full tree.
   */
  prefixRoot(size: number): bigint {
    if (size === 0) return 0n;
    let node = this.levels[0]![size - 1]!;
    let pos = size - 1;
    const depth = depthFor(size);
    for (let level = 0; level < depth; level++) {
      if (pos & 1) node = hashPair(this.levels[level]![pos - 1]!, node);
      pos = Math.floor(pos / 2);
    }
    return node;
  }

  /** Drops the leaves from `size` on; only the right edge of each level needs rehashing. */
  truncate(size: number): void {
    if (size > this.size) throw new RangeError(`size: expected at most ${this.size}, got ${size}`);
    if (size === this.size) return;
    this.levels[0]!.length = size;
    const depth = depthFor(size);
    this.levels.length = depth + 1;
    for (let level = 1; level <= depth; level++) {
      const below = this.levels[level - 1]!;
      const here = this.levels[level]!;
      const count = Math.ceil(below.length / 2);
      here.length = count;
      const last = count - 1;
      const right = below[2 * last + 1];
      here[last] = right !== undefined ? hashPair(below[2 * last]!, right) : below[2 * last]!;
    }
  }

  /** A Group holding these nodes, without rehashing (Group.import is its documented way in). */
  toGroup(): Group {
    return Group.import(JSON.stringify(this.levels, (_key, value) => (typeof value === "bigint" ? value.toString() : value)));
  }
}

/** One event that set a root: an addition (MemberAdded is a batch of one) or an update/removal of one leaf. */
type RootOp =
  | { kind: "add"; block: number; logIndex: number; start: number; count: number; root: bigint }
  | { kind: "update" | "remove"; block: number; logIndex: number; index: number; old: bigint; next: bigint; root: bigint };

interface DurationChange {
  block: number;
  logIndex: number;
  old: bigint;
  next: bigint;
}

/** Everything a sync knows at one block. Replaced, never mutated, once committed. */
class SyncState {
  constructor(
    /** The block this state reflects. */
    public block: number,
    public blockHash: string | undefined,
    public blockTimestamp: number | undefined,
    /** merkleTreeDuration at `block`, from the contract's getter (createGroup sets it without an event). */
    public duration: bigint | undefined,
    readonly tree: MirrorTree,
    /** Current nonzero leaf → index, as the contract's `leaves` mapping. */
    readonly memberIndex: Map<bigint, number>,
    readonly ops: RootOp[],
    /** Root value → index in `ops` of the last event that set it: the contract keys creation dates by value. */
    readonly lastOpOf: Map<bigint, number>,
    readonly durations: DurationChange[],
  ) {}

  static empty(fromBlock: number): SyncState {
    return new SyncState(fromBlock - 1, undefined, undefined, undefined, new MirrorTree(), new Map(), [], new Map(), []);
  }

  /** A deep copy, to apply events to without touching the committed state. */
  clone(): SyncState {
    return new SyncState(
      this.block,
      this.blockHash,
      this.blockTimestamp,
      this.duration,
      this.tree.clone(),
      new Map(this.memberIndex),
      this.ops.slice(),
      new Map(this.lastOpOf),
      this.durations.slice(),
    );
  }

  /** A copy sharing the big structures, for a sync that read no events and only moves the block. */
  moved(): SyncState {
    return new SyncState(
      this.block,
      this.blockHash,
      this.blockTimestamp,
      this.duration,
      this.tree,
      this.memberIndex,
      this.ops,
      this.lastOpOf,
      this.durations,
    );
  }

  /** Where the last applied event sits, to insist on strictly increasing positions. */
  lastPosition(): [number, number] {
    const op = this.ops.at(-1);
    const change = this.durations.at(-1);
    const a: [number, number] = op ? [op.block, op.logIndex] : [-1, -1];
    const b: [number, number] = change ? [change.block, change.logIndex] : [-1, -1];
    return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? a : b;
  }

  pushOp(op: RootOp): void {
    this.lastOpOf.set(op.root, this.ops.length);
    this.ops.push(op);
  }
}

const semaphoreInterface = Semaphore__factory.createInterface();
const MEMBER_EVENTS = ["MemberAdded", "MembersAdded", "MemberUpdated", "MemberRemoved", "GroupMerkleTreeDurationUpdated"] as const;
const EVENT_TOPICS = MEMBER_EVENTS.map((name) => semaphoreInterface.getEvent(name)!.topicHash);

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
  readonly cacheFile: string | undefined;
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
    this.#groupTopic = zeroPadValue(toBeHex(groupId), 32);
    this.cacheFile =
      init.cacheDir === undefined
        ? undefined
        : path.join(init.cacheDir, `semaphore-group-${chainId}-${address.toLowerCase()}-${groupId}.bin`);
    this.#state = SyncState.empty(init.fromBlock);
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
    const later = state.ops.slice(at + 1);
    if (later.length === 0) return state.tree.toGroup();
    // Undo the later events on a copy of the tree (about `depth` hashes each), or on the bare leaves and rehash
    // them all, whichever hashes less.
    const sizeThen = later.find((op) => op.kind === "add")?.start ?? state.tree.size;
    let tree: MirrorTree;
    if (later.length * Math.max(1, state.tree.depth) < sizeThen) {
      tree = state.tree.clone();
      for (const op of later.reverse()) {
        if (op.kind === "add") tree.truncate(op.start);
        else tree.update(op.index, op.old);
      }
    } else {
      const leaves = state.tree.leaves.slice();
      for (const op of later.reverse()) {
        if (op.kind === "add") leaves.length = op.start;
        else leaves[op.index] = op.old;
      }
      tree = MirrorTree.fromLeaves(leaves);
    }
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
        applied += await this.#apply(staged, logs, from, to, head, signal);
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

  /** Applies one query's logs to `state` (a private copy), checking each against the tree it rebuilds. */
  async #apply(state: SyncState, logs: Log[], from: number, to: number, head: number, signal: AbortSignal | undefined): Promise<number> {
    const sorted = logs.slice().sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    let [lastBlock, lastIndex] = state.lastPosition();
    const tree = state.tree;
    // Additions are hashed together, then each event's root is checked against the prefix it ended at.
    let run: { op: Extract<RootOp, { kind: "add" }>; leaves: bigint[] }[] = [];
    let runLeaves = 0;
    let pendingSize = tree.size;
    const flush = async () => {
      if (run.length === 0) return;
      const leaves: bigint[] = [];
      for (const r of run) for (const leaf of r.leaves) leaves.push(leaf);
      tree.insertMany(leaves);
      for (const { op } of run) {
        const end = op.start + op.count;
        const root = end === tree.size ? tree.root : this.#verifyEventRoots ? tree.prefixRoot(end) : op.root;
        if (root !== op.root) throw malformed(op.block, op.logIndex, `states root ${op.root}, but the rebuilt tree's is ${root}`);
        state.pushOp(op);
      }
      const last = run.at(-1)!.op;
      run = [];
      runLeaves = 0;
      this.#onProgress?.({ block: last.block, head, members: tree.size });
      await yieldToEventLoop(signal);
    };
    const groupTopic = this.#groupTopic.toLowerCase();
    for (const log of sorted) {
      const { blockNumber: block, index: logIndex } = log;
      if (!Number.isSafeInteger(block) || block < from || block > to || !Number.isSafeInteger(logIndex) || logIndex < 0) {
        throw malformed(block, logIndex, `is outside the blocks ${from}..${to} that were asked for`);
      }
      if (block < lastBlock || (block === lastBlock && logIndex <= lastIndex)) {
        throw malformed(block, logIndex, `comes after block ${lastBlock} log ${lastIndex}, out of order or twice`);
      }
      [lastBlock, lastIndex] = [block, logIndex];
      if (log.removed) throw malformed(block, logIndex, "is marked removed");
      if (log.address?.toLowerCase() !== this.#address.toLowerCase() || log.topics[1]?.toLowerCase() !== groupTopic) {
        throw malformed(
          block,
          logIndex,
          `is from ${log.address} for topic ${log.topics[1]}, not group ${this.groupId} on ${this.#address}`,
        );
      }
      let event: LogDescription | null = null;
      try {
        event = semaphoreInterface.parseLog({ topics: [...log.topics], data: log.data });
      } catch {
        event = null;
      }
      if (event === null || event.args[0] !== this.groupId)
        throw malformed(block, logIndex, "does not decode as a Semaphore event of this group");
      switch (event.name) {
        case "MemberAdded":
        case "MembersAdded": {
          const start = event.args[1] as bigint;
          const leaves: bigint[] = event.name === "MemberAdded" ? [event.args[2] as bigint] : [...(event.args[2] as bigint[])];
          const root = event.args[3] as bigint;
          if (start !== BigInt(pendingSize))
            throw malformed(block, logIndex, `adds at index ${start}, but the group has ${pendingSize} members`);
          if (leaves.length === 0) throw malformed(block, logIndex, "adds no members (the contract reverts on that)");
          if (pendingSize + leaves.length > MAX_SIZE) throw malformed(block, logIndex, `grows the group past ${MAX_SIZE} members`);
          leaves.forEach((leaf, i) => {
            if (leaf === 0n || leaf >= SNARK_SCALAR_FIELD) throw malformed(block, logIndex, `adds ${leaf}, not a nonzero field element`);
            if (state.memberIndex.has(leaf)) throw malformed(block, logIndex, `adds ${leaf}, already a member`);
            state.memberIndex.set(leaf, pendingSize + i);
          });
          run.push({ op: { kind: "add", block, logIndex, start: pendingSize, count: leaves.length, root }, leaves });
          pendingSize += leaves.length;
          runLeaves += leaves.length;
          if (runLeaves >= ADD_SLICE) await flush();
          break;
        }
        case "MemberUpdated":
        case "MemberRemoved": {
          await flush();
          const removed = event.name === "MemberRemoved";
          const index = event.args[1] as bigint;
          const old = event.args[2] as bigint;
          const next = removed ? 0n : (event.args[3] as bigint);
          const root = event.args[removed ? 3 : 4] as bigint;
          if (index >= BigInt(tree.size) || state.memberIndex.get(old) !== Number(index)) {
            throw malformed(block, logIndex, `changes member ${old} at index ${index}, which is not there`);
          }
          if (next >= SNARK_SCALAR_FIELD) throw malformed(block, logIndex, `sets ${next}, not a field element`);
          if (next !== 0n && state.memberIndex.has(next)) throw malformed(block, logIndex, `sets ${next}, already a member`);
          const at = Number(index);
          tree.update(at, next);
          if (tree.root !== root) throw malformed(block, logIndex, `states root ${root}, but the rebuilt tree's is ${tree.root}`);
          state.memberIndex.delete(old);
          if (next !== 0n) state.memberIndex.set(next, at);
          state.pushOp({ kind: removed ? "remove" : "update", block, logIndex, index: at, old, next, root });
          break;
        }
        case "GroupMerkleTreeDurationUpdated": {
          await flush();
          const old = event.args[1] as bigint;
          const next = event.args[2] as bigint;
          const known = state.durations.at(-1)?.next ?? state.duration;
          if (known !== undefined && known !== old)
            throw malformed(block, logIndex, `changes the duration from ${old}, but it was ${known}`);
          state.durations.push({ block, logIndex, old, next });
          break;
        }
        default:
          throw malformed(block, logIndex, `is a ${event.name} event, which was not asked for`);
      }
      signal?.throwIfAborted();
    }
    await flush();
    return sorted.length;
  }

  /** Loads the cache file, if any; anything wrong with it is logged and the file ignored. */
  async loadCache(signal?: AbortSignal): Promise<void> {
    const file = this.cacheFile;
    if (file === undefined) return;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.#log("warn", "cache:ignored", { file, reason: (err as Error).message });
      return;
    }
    try {
      const cached = decodeCache(bytes, {
        chainId: this.#chainId,
        semaphore: this.#address.toLowerCase(),
        groupId: this.groupId,
        fromBlock: this.#fromBlock,
      });
      // The costly check last: the leaves must give the history's last root (the sync then checks it against the chain).
      const tree = await buildTree(cached.leaves, signal);
      const expectedRoot = cached.ops.at(-1)?.root ?? 0n;
      if (tree.root !== expectedRoot) throw new Error(`the leaves give root ${tree.root}, the history ${expectedRoot}`);
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
    const file = this.cacheFile;
    const state = this.#state;
    if (file === undefined || state.blockHash === undefined) return;
    if (!changed && this.#writtenBlock !== undefined && state.block - this.#writtenBlock < this.#blockRange) return;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(
        file,
        encodeCache(state, this.#timestamps, {
          chainId: this.#chainId,
          semaphore: this.#address.toLowerCase(),
          groupId: this.groupId,
          fromBlock: this.#fromBlock,
        }),
      );
      this.#writtenBlock = state.block;
      this.#log("debug", "cache:written", { file, block: state.block, size: state.tree.size });
    } catch (err) {
      // The sync itself succeeded; a cache that could not be written only costs a longer sync next time.
      this.#log("warn", "cache:write-failed", { file, reason: (err as Error).message });
    }
  }
}

/** Lets timers, I/O and aborts in between slices of hashing: a long history is seconds of it. */
async function yieldToEventLoop(signal: AbortSignal | undefined): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** A tree of `leaves`, hashed a slice at a time. */
async function buildTree(leaves: readonly bigint[], signal: AbortSignal | undefined): Promise<MirrorTree> {
  const tree = new MirrorTree();
  for (let i = 0; i < leaves.length; i += ADD_SLICE) {
    tree.insertMany(leaves.slice(i, i + ADD_SLICE));
    await yieldToEventLoop(signal);
  }
  return tree;
}

function malformed(block: number, logIndex: number, what: string): GroupSyncError {
  return new GroupSyncError(`the event at block ${block}, log ${logIndex} ${what}`);
}

function requireUint256(value: bigint, name: string): void {
  if (typeof value !== "bigint") throw new TypeError(`${name}: expected a bigint, got ${typeof value}`);
  if (value < 0n || value > MAX_UINT256) throw new RangeError(`${name}: expected a uint256, got ${value}`);
}

async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // A reader sees the old file or the new one, never half of one.
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

// Cache file: "MOSGSYNC", u32 version, u32 header length, the JSON header, the leaves (32 bytes big-endian each),
// the root events (kind u8, block u64, log index u32, then per kind: add start u32 + count u32; update index u32 +
// old + new; remove index u32 + old; each ending with its root), and a SHA-256 of everything before it.
const CACHE_MAGIC = new TextEncoder().encode("MOSGSYNC");
const CACHE_VERSION = 1;
const OP_KINDS = { add: 1, update: 2, remove: 3 } as const;
const U64 = (1n << 64n) - 1n;

interface CacheIdentity {
  chainId: bigint;
  semaphore: string;
  groupId: bigint;
  fromBlock: number;
}

interface CacheHeader {
  chainId: string;
  semaphore: string;
  groupId: string;
  fromBlock: number;
  block: number;
  blockHash: string;
  blockTimestamp: number;
  duration: string | null;
  size: number;
  ops: number;
  durations: [number, number, string, string][];
  timestamps: [number, number][];
}

function opBytes(op: RootOp): number {
  return 13 + (op.kind === "add" ? 8 : op.kind === "update" ? 68 : 36) + 32;
}

function encodeCache(state: SyncState, timestamps: Map<number, number>, id: CacheIdentity): Uint8Array {
  const header: CacheHeader = {
    chainId: id.chainId.toString(),
    semaphore: id.semaphore,
    groupId: id.groupId.toString(),
    fromBlock: id.fromBlock,
    block: state.block,
    blockHash: state.blockHash!,
    blockTimestamp: state.blockTimestamp!,
    duration: state.duration?.toString() ?? null,
    size: state.tree.size,
    ops: state.ops.length,
    durations: state.durations.map((d) => [d.block, d.logIndex, d.old.toString(), d.next.toString()]),
    // Only the blocks of roots still in the history: the in-memory map never holds others.
    timestamps: [...timestamps],
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let length = 16 + json.length + 32 * state.tree.size + 32;
  for (const op of state.ops) length += opBytes(op);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const word = (value: bigint) => {
    for (let i = 0; i < 4; i++) view.setBigUint64(at + 8 * i, (value >> BigInt(192 - 64 * i)) & U64);
    at += 32;
  };
  bytes.set(CACHE_MAGIC, 0);
  view.setUint32(8, CACHE_VERSION);
  view.setUint32(12, json.length);
  bytes.set(json, 16);
  at = 16 + json.length;
  for (const leaf of state.tree.leaves) word(leaf);
  for (const op of state.ops) {
    view.setUint8(at, OP_KINDS[op.kind]);
    view.setBigUint64(at + 1, BigInt(op.block));
    view.setUint32(at + 9, op.logIndex);
    at += 13;
    if (op.kind === "add") {
      view.setUint32(at, op.start);
      view.setUint32(at + 4, op.count);
      at += 8;
    } else {
      view.setUint32(at, op.index);
      at += 4;
      word(op.old);
      if (op.kind === "update") word(op.next);
    }
    word(op.root);
  }
  bytes.set(createHash("sha256").update(bytes.subarray(0, at)).digest(), at);
  return bytes;
}

interface CacheContents {
  block: number;
  blockHash: string;
  blockTimestamp: number;
  duration: bigint;
  leaves: bigint[];
  memberIndex: Map<bigint, number>;
  ops: RootOp[];
  durations: DurationChange[];
  timestamps: Map<number, number>;
}

/**
 * Parses a cache file and checks everything that needs no hashing; throws (with a reason to log) on anything that is
 * not exactly right. The caller rebuilds the tree and checks its root.
 */
function decodeCache(bytes: Uint8Array, id: CacheIdentity): CacheContents {
  const fail = (reason: string): never => {
    throw new Error(reason);
  };
  if (bytes.length < 16 + 32) fail(`${bytes.length} bytes is too short`);
  if (!CACHE_MAGIC.every((b, i) => bytes[i] === b)) fail("not a group-sync cache file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8);
  if (version !== CACHE_VERSION) fail(`format version ${version}, expected ${CACHE_VERSION}`);
  const digest = createHash("sha256")
    .update(bytes.subarray(0, bytes.length - 32))
    .digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) fail("checksum mismatch (truncated or corrupted)");
  const jsonLength = view.getUint32(12);
  if (16 + jsonLength > bytes.length - 32) fail("header runs past the end");
  let header: CacheHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + jsonLength)));
  } catch (err) {
    return fail(`header is not JSON: ${(err as Error).message}`);
  }
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const isDecimal = (s: unknown): s is string => typeof s === "string" && /^(0|[1-9][0-9]{0,77})$/.test(s) && BigInt(s) <= MAX_UINT256;
  if (typeof header !== "object" || header === null) fail("header is not an object");
  if (header.chainId !== id.chainId.toString()) fail(`for chain ${header.chainId}, not ${id.chainId}`);
  if (header.semaphore !== id.semaphore) fail(`for contract ${header.semaphore}, not ${id.semaphore}`);
  if (header.groupId !== id.groupId.toString()) fail(`for group ${header.groupId}, not ${id.groupId}`);
  if (header.fromBlock !== id.fromBlock) fail(`scanned from block ${header.fromBlock}, not ${id.fromBlock}`);
  if (!isCount(header.block) || header.block < id.fromBlock) fail(`block ${header.block} is not a block from ${id.fromBlock} on`);
  if (typeof header.blockHash !== "string" || !/^0x[0-9a-f]{64}$/.test(header.blockHash)) fail("block hash is malformed");
  if (!isCount(header.blockTimestamp)) fail("block timestamp is malformed");
  if (!isDecimal(header.duration)) fail("duration is malformed");
  if (!isCount(header.size) || header.size > MAX_SIZE || !isCount(header.ops)) fail("size or event count is malformed");
  if (!Array.isArray(header.durations) || !Array.isArray(header.timestamps)) fail("durations or timestamps are malformed");

  let at = 16 + jsonLength;
  const end = bytes.length - 32;
  const need = (n: number) => {
    if (at + n > end) fail("runs past the end");
  };
  const word = (): bigint => {
    need(32);
    let value = 0n;
    for (let i = 0; i < 4; i++) value = (value << 64n) | view.getBigUint64(at + 8 * i);
    at += 32;
    return value;
  };
  const leaves: bigint[] = new Array(header.size);
  const memberIndex = new Map<bigint, number>();
  for (let i = 0; i < header.size; i++) {
    const leaf = word();
    if (leaf >= SNARK_SCALAR_FIELD) fail(`leaf ${i} is not a field element`);
    if (leaf !== 0n) {
      if (memberIndex.has(leaf)) fail(`leaf ${leaf} appears twice`);
      memberIndex.set(leaf, i);
    }
    leaves[i] = leaf;
  }
  const ops: RootOp[] = [];
  let last: [number, number] = [-1, -1];
  for (let i = 0; i < header.ops; i++) {
    need(13);
    const kind = view.getUint8(at);
    const block = Number(view.getBigUint64(at + 1));
    const logIndex = view.getUint32(at + 9);
    at += 13;
    if (!Number.isSafeInteger(block) || block < id.fromBlock || block > header.block)
      fail(`event ${i} is at block ${block}, outside the scan`);
    if (block < last[0] || (block === last[0] && logIndex <= last[1])) fail(`event ${i} is out of order`);
    last = [block, logIndex];
    if (kind === OP_KINDS.add) {
      need(8);
      const start = view.getUint32(at);
      const count = view.getUint32(at + 4);
      at += 8;
      ops.push({ kind: "add", block, logIndex, start, count, root: word() });
    } else if (kind === OP_KINDS.update || kind === OP_KINDS.remove) {
      need(4);
      const index = view.getUint32(at);
      at += 4;
      const old = word();
      const next = kind === OP_KINDS.update ? word() : 0n;
      ops.push({ kind: kind === OP_KINDS.update ? "update" : "remove", block, logIndex, index, old, next, root: word() });
    } else fail(`event ${i} has unknown kind ${kind}`);
  }
  if (at !== end) fail(`${end - at} stray bytes before the checksum`);

  // Replay the history backwards on the bare leaves (no hashing): every event must undo cleanly down to nothing.
  const undone = leaves.slice();
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.kind === "add") {
      if (op.count === 0 || op.start + op.count !== undone.length) fail(`event ${i} does not end at the group's size`);
      undone.length = op.start;
    } else {
      if (op.index >= undone.length || undone[op.index] !== op.next || op.old === 0n || op.old >= SNARK_SCALAR_FIELD) {
        fail(`event ${i} does not match the leaves`);
      }
      undone[op.index] = op.old;
    }
  }
  if (undone.length !== 0) fail("the history does not start from an empty group");

  const durations: DurationChange[] = [];
  for (const entry of header.durations) {
    if (!Array.isArray(entry) || !isCount(entry[0]) || !isCount(entry[1]) || !isDecimal(entry[2]) || !isDecimal(entry[3]))
      fail("a duration change is malformed");
    const [block, logIndex, old, next] = entry as [number, number, string, string];
    const previous = durations.at(-1);
    if (previous !== undefined && (previous.next !== BigInt(old) || block < previous.block)) fail("duration changes do not chain");
    durations.push({ block, logIndex, old: BigInt(old), next: BigInt(next) });
  }
  const duration = BigInt(header.duration as string);
  if (durations.length > 0 && durations.at(-1)!.next !== duration) fail("duration does not match the last change");
  const timestamps = new Map<number, number>();
  for (const entry of header.timestamps) {
    if (!Array.isArray(entry) || !isCount(entry[0]) || !isCount(entry[1]) || entry[0] > header.block)
      fail("a block timestamp is malformed");
    timestamps.set(entry[0], entry[1]);
  }
  return {
    block: header.block,
    blockHash: header.blockHash,
    blockTimestamp: header.blockTimestamp,
    duration,
    leaves,
    memberIndex,
    ops,
    durations,
    timestamps,
  };
}
