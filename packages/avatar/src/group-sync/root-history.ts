// The root history: every event that set a group's root, in order, and the state a sync commits at one block.
import { MirrorTree } from "./mirror-tree.js";

/** One event that set a root: an addition (MemberAdded is a batch of one) or an update/removal of one leaf. */
export type RootOp =
  | { kind: "add"; block: number; logIndex: number; start: number; count: number; root: bigint }
  | { kind: "update" | "remove"; block: number; logIndex: number; index: number; old: bigint; next: bigint; root: bigint };

export interface DurationChange {
  block: number;
  logIndex: number;
  old: bigint;
  next: bigint;
}

/** Everything a sync knows at one block. Replaced, never mutated, once committed. */
export class SyncState {
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

/**
 * The tree as it was right after `state.ops[at]`, an event before the last: the later events undone. Its root is the
 * one that event stated only if the recorded history is true to the leaves (a cache could have been edited).
 */
export function treeAfter(state: SyncState, at: number): MirrorTree {
  const later = state.ops.slice(at + 1);
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
  return tree;
}
