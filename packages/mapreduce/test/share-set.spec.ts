// The share-set tree of the shared mode against the committed vectors (test/vectors/share-set.json, which the
// contract test checks SharedJobs against too) and an independent implementation written with ethers' ABI packing.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { keccak256, solidityPacked } from "ethers";
import fc from "fast-check";
import { type ShareLeaf, ShareSetOrderError, shareLeafHash, shareSetPath, shareSetRoot } from "../src/shared/share-set.js";

interface LeafJson {
  nullifier: string;
  message: string;
  points: string[];
}
interface Vectors {
  leafHashes: { leaf: LeafJson; hash: string }[];
  trees: { leaves: LeafJson[]; root: string; paths: string[][] }[];
}

const VECTORS = JSON.parse(readFileSync(new URL("../../../test/vectors/share-set.json", import.meta.url), "utf8")) as Vectors;
const ZERO_ROOT = `0x${"00".repeat(32)}`;
const WORD_MAX = (1n << 256n) - 1n;

const leafOf = (j: LeafJson): ShareLeaf => ({ nullifier: BigInt(j.nullifier), message: BigInt(j.message), points: j.points.map(BigInt) });

/** The reference: ethers' packed ABI encoding, as the contract's abi.encodePacked. */
const refLeaf = (l: ShareLeaf) =>
  keccak256(solidityPacked(["uint8", "uint256", "uint256", "uint256[8]"], [0, l.nullifier, l.message, l.points]));
const refNode = (a: string, b: string) => keccak256(solidityPacked(["uint8", "bytes32", "bytes32"], [1, a, b]));

/** The reference root, level by level: pairs hashed, an odd last node carried. */
function refRoot(leaves: readonly ShareLeaf[]): string {
  if (leaves.length === 0) return ZERO_ROOT;
  let level = leaves.map(refLeaf);
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? refNode(level[i] as string, level[i + 1] as string) : (level[i] as string));
    level = next;
  }
  return level[0] as string;
}

/** Walks a path up as SharedJobs._rootOf does. */
function walk(leaf: ShareLeaf, count: number, position: number, path: readonly string[]): string {
  let h = refLeaf(leaf);
  let k = 0;
  for (let n = count; n > 1; n = (n + 1) >> 1, position >>= 1) {
    if (position === n - 1 && n % 2 === 1) continue;
    const sibling = path[k++] as string;
    h = position % 2 === 0 ? refNode(h, sibling) : refNode(sibling, h);
  }
  expect(k, "path length").to.equal(path.length);
  return h;
}

const word = fc.bigInt({ min: 0n, max: WORD_MAX });
const leafArb = fc.record({ nullifier: word, message: word, points: fc.array(word, { minLength: 8, maxLength: 8 }) });
/** Strictly ascending leaves: distinct nullifiers, sorted. */
const leavesArb = fc
  .uniqueArray(leafArb, { selector: (l) => l.nullifier, maxLength: 40 })
  .map((ls) => [...ls].sort((a, b) => (a.nullifier < b.nullifier ? -1 : 1)));

describe("share set", () => {
  describe("shareLeafHash", () => {
    it("test_shareLeafHash_vectors_matchTheCommittedHashes", () => {
      expect(VECTORS.leafHashes.length).to.be.greaterThan(0);
      for (const v of VECTORS.leafHashes) expect(shareLeafHash(leafOf(v.leaf))).to.equal(v.hash);
    });

    it("test_shareLeafHash_anyLeaf_matchesAbiEncodePacked", () => {
      fc.assert(
        fc.property(leafArb, (l) => shareLeafHash(l) === refLeaf(l)),
        { seed: 19, numRuns: 200 },
      );
    });

    it("test_shareLeafHash_malformedLeaf_rangeErrorNamingTheField", () => {
      const good = leafOf((VECTORS.leafHashes[2] as { leaf: LeafJson }).leaf);
      expect(() => shareLeafHash({ ...good, points: good.points.slice(0, 7) })).to.throw(
        RangeError,
        /leaf\.points: expected 8 items, got 7/,
      );
      expect(() => shareLeafHash({ ...good, nullifier: -1n })).to.throw(RangeError, /leaf\.nullifier/);
      expect(() => shareLeafHash({ ...good, message: WORD_MAX + 1n })).to.throw(RangeError, /leaf\.message/);
      expect(() => shareLeafHash({ ...good, points: [...good.points.slice(0, 7), 1 as unknown as bigint] })).to.throw(
        RangeError,
        /leaf\.points\[7\]/,
      );
    });
  });

  describe("shareSetRoot and shareSetPath", () => {
    it("test_shareSetRoot_vectors_matchTheCommittedRootsAndPaths", () => {
      for (const t of VECTORS.trees) {
        const leaves = t.leaves.map(leafOf);
        expect(shareSetRoot(leaves), `root of ${leaves.length}`).to.equal(t.root);
        expect(refRoot(leaves), `reference root of ${leaves.length}`).to.equal(t.root);
        for (const [i, path] of t.paths.entries()) {
          expect(shareSetPath(leaves, i), `path ${i} of ${leaves.length}`).to.deep.equal(path);
          expect(walk(leaves[i] as ShareLeaf, leaves.length, i, path)).to.equal(t.root);
        }
      }
    });

    it("test_shareSetRoot_edgeCases_emptyIsZeroAndOneLeafIsItsHash", () => {
      expect(shareSetRoot([])).to.equal(ZERO_ROOT);
      const leaf = leafOf((VECTORS.leafHashes[2] as { leaf: LeafJson }).leaf);
      expect(shareSetRoot([leaf])).to.equal(shareLeafHash(leaf));
      expect(shareSetPath([leaf], 0)).to.deep.equal([]);
    });

    it("test_shareSetRoot_anySortedSet_matchesReferenceAndEveryPathWalksToIt", () => {
      fc.assert(
        fc.property(leavesArb, (leaves) => {
          const root = shareSetRoot(leaves);
          expect(root).to.equal(refRoot(leaves));
          for (let i = 0; i < leaves.length; i++)
            expect(walk(leaves[i] as ShareLeaf, leaves.length, i, shareSetPath(leaves, i))).to.equal(root);
        }),
        { seed: 19, numRuns: 60 },
      );
    });

    it("test_shareSetRoot_unsortedOrDuplicate_shareSetOrderErrorNamingThePosition", () => {
      const leaves = (VECTORS.trees.find((t) => t.leaves.length === 5) as { leaves: LeafJson[] }).leaves.map(leafOf);
      const before = JSON.stringify(leaves, (_, v) => (typeof v === "bigint" ? v.toString() : v));
      const swapped = [leaves[0], leaves[2], leaves[1], leaves[3], leaves[4]] as ShareLeaf[];
      const duplicate = [leaves[0], leaves[1], { ...(leaves[1] as ShareLeaf), message: 7n }, leaves[3]] as ShareLeaf[];
      for (const [bad, index] of [
        [swapped, 2],
        [duplicate, 2],
      ] as const) {
        for (const call of [() => shareSetRoot(bad), () => shareSetPath(bad, 0)]) {
          let caught: unknown;
          try {
            call();
          } catch (err) {
            caught = err;
          }
          expect(caught).to.be.instanceOf(ShareSetOrderError);
          expect((caught as ShareSetOrderError).name).to.equal("ShareSetOrderError");
          expect((caught as ShareSetOrderError).index).to.equal(index);
        }
      }
      // The input is read, never reordered.
      expect(JSON.stringify(leaves, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.equal(before);
    });

    it("test_shareSetPath_indexOutsideTheSet_rangeError", () => {
      const leaves = (VECTORS.trees.find((t) => t.leaves.length === 3) as { leaves: LeafJson[] }).leaves.map(leafOf);
      for (const index of [-1, 3, 1.5, Number.NaN]) expect(() => shareSetPath(leaves, index), String(index)).to.throw(RangeError, /index/);
      expect(() => shareSetPath([], 0)).to.throw(RangeError, /\[0, 0\)/);
    });
  });
});
