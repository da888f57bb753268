// The tree mirror: a LeanIMT laid out as Semaphore's, with the copies, prefix roots and truncation a sync needs.
import { Group } from "@semaphore-protocol/group";
import { ADD_SLICE } from "./limits.js";
import { yieldToEventLoop } from "./yield.js";

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

/** A tree of `leaves`, hashed a slice at a time. */
export async function buildTree(leaves: readonly bigint[], signal: AbortSignal | undefined): Promise<MirrorTree> {
  const tree = new MirrorTree();
  for (let i = 0; i < leaves.length; i += ADD_SLICE) {
    tree.insertMany(leaves.slice(i, i + ADD_SLICE));
    await yieldToEventLoop(signal);
  }
  return tree;
}
