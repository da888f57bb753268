// What a group sync promises its callers: the GroupSync interface, its options and its results.
import type { Logger } from "@mosaic/protocol";
import type { Group } from "@semaphore-protocol/group";

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
