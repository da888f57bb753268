import type { ReducerSpec } from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import {
  type AncestorArg,
  ancestorsOf,
  findFaults,
  type InnerArg,
  innerNodeWitness,
  type LeafArg,
  leafParentWitness,
  orderWitness,
  type PublishedTree,
  rehashTree,
  rootWitness,
  type TreeNodes,
  treeNodes,
  UnprovableFaultError,
} from "../src/fraud.js";
import { type Leaf, leafHash, nodeHash, reduceTree, submissionCid } from "../src/index.js";

const abi = AbiCoder.defaultAbiCoder();
const SUM: ReducerSpec = { kind: "sum" };
const MEAN: ReducerSpec = { kind: "mean" };
const QUANTILE: ReducerSpec = { kind: "quantile", edges: [-5, 0, 5], quantiles: [{ num: 1, den: 2 }] };

function leaves(n: number, width = 2, seed = 1): Leaf[] {
  return Array.from({ length: n }, (_, i) => ({
    nullifier: String(1000 + ((i * 7919 + seed) % 100_003) * 31 + i),
    submission: submissionCid(new Uint8Array(32).fill(i % 256)),
    value: Array.from({ length: width }, (_, k) => (((i + 1) * (k + 3) * seed) % 17) - 8),
  }));
}

/** The contract's path walk (ReduceTree.rootOf), in TypeScript. */
function rootOf(hash: string, count: number, level: number, position: number, path: AncestorArg[]): string {
  let n = count;
  for (let i = 0; i < level && n > 1; i++) n = Math.ceil(n / 2);
  expect(position).to.be.below(n);
  let k = 0;
  for (; n > 1; n = Math.ceil(n / 2), position >>= 1) {
    if (position === n - 1 && n % 2 === 1) continue;
    const a = path[k++] as AncestorArg;
    hash = position % 2 === 0 ? nodeHash(hash, a.sibling, a.value) : nodeHash(a.sibling, hash, a.value);
  }
  expect(k, "every path element used").to.equal(path.length);
  return hash;
}

const hashLeaf = (l: LeafArg) => keccak256(abi.encode(["uint8", "uint256", "bytes32", "int256[]"], [0, l.nullifier, l.digest, l.payload]));
const hashInner = (n: InnerArg) => keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, n.left, n.right, n.value]));

function publish(tree: TreeNodes, aggregate?: number[]): PublishedTree {
  const top = tree.levels[tree.levels.length - 1]?.[0];
  return {
    aggregate: aggregate ?? top?.value ?? [],
    count: tree.leaves.length,
    treeRoot: top?.hash ?? `0x${"00".repeat(32)}`,
    leaves: tree.leaves,
    levels: tree.levels.map((nodes) => nodes.map((n) => n.hash)),
    values: tree.levels.map((nodes) => nodes.map((n) => n.value)),
  };
}

describe("fraud witnesses", () => {
  it("test_treeNodes_matchesReduceTree", () => {
    for (const n of [1, 2, 3, 5, 8, 13]) {
      const result = reduceTree(leaves(n), MEAN, 2);
      const tree = treeNodes(result, MEAN, 2);
      expect(tree.levels.map((l) => l.map((x) => x.hash))).to.deep.equal(result.levels);
      expect(tree.levels.at(-1)?.[0]?.value).to.deep.equal(result.aggregate);
      expect(rehashTree(tree).levels.map((l) => l.map((x) => x.hash))).to.deep.equal(result.levels);
    }
  });

  it("test_ancestorsOf_everyNodeHashesToTheRoot", () => {
    for (let n = 1; n <= 21; n++) {
      const result = reduceTree(leaves(n), SUM, 2);
      const tree = treeNodes(result, SUM, 2);
      tree.levels.forEach((nodes, level) => {
        nodes.forEach((node, i) => {
          expect(rootOf(node.hash, n, level, i, ancestorsOf(tree, level, i)), `n=${n} (${level}, ${i})`).to.equal(result.treeRoot);
        });
      });
    }
  });

  it("test_witnesses_haveTheContractShapesAndHashes", () => {
    const result = reduceTree(leaves(5), QUANTILE, 2);
    const tree = treeNodes(result, QUANTILE, 2);
    // 5 leaves: level 1 = [p0, p1, c(4)], level 2 = [q0, c(4)], level 3 = root: root's right child is leaf 4, carried.
    const lp = leafParentWitness(tree, QUANTILE, 1);
    expect(lp.fn).to.equal("challengeLeafParent");
    const [, node, left, right, path, edges] = lp.args as [number, InnerArg, LeafArg, LeafArg, AncestorArg[], number[]];
    expect(hashLeaf(left)).to.equal(node.left);
    expect(hashLeaf(right)).to.equal(node.right);
    expect(rootOf(hashInner(node), 5, 1, 1, path)).to.equal(result.treeRoot);
    expect(edges).to.deep.equal([-5, 0, 5]);
    expect(innerNodeWitness(tree, QUANTILE, 3, 0).fn).to.equal("challengeCarriedLeafParent");
    expect(innerNodeWitness(tree, QUANTILE, 2, 0).fn).to.equal("challengeInnerNode");
    expect(rootWitness(tree, QUANTILE, result.aggregate).fn).to.equal("challengeRoot");
    expect(rootWitness(tree, QUANTILE, result.aggregate).args[0]).to.deep.equal(result.aggregate);
    expect(hashInner((rootWitness(tree, QUANTILE, result.aggregate).args as [number[], InnerArg])[1])).to.equal(result.treeRoot);
    expect(rootWitness(treeNodes(reduceTree(leaves(1), QUANTILE, 2), QUANTILE, 2), QUANTILE, []).fn).to.equal("challengeRootLeaf");
    const [, a, pathA, b, pathB] = orderWitness(tree, 3).args as [number, LeafArg, AncestorArg[], LeafArg, AncestorArg[]];
    expect(rootOf(hashLeaf(a), 5, 0, 3, pathA)).to.equal(result.treeRoot);
    expect(rootOf(hashLeaf(b), 5, 0, 4, pathB)).to.equal(result.treeRoot);
    expect(() => leafParentWitness(tree, QUANTILE, 2)).to.throw(RangeError, /two children/);
    expect(() => innerNodeWitness(tree, QUANTILE, 1, 0)).to.throw(RangeError, /level/);
    expect(() => orderWitness(tree, 4)).to.throw(RangeError, /position/);
  });

  it("test_findFaults_honestTreesHaveNone", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom(SUM, MEAN, QUANTILE),
        (n, seed, reducer) => {
          const result = reduceTree(leaves(n, 2, seed), reducer, 2);
          expect(findFaults(result, reducer, 2)).to.equal(undefined);
          expect(findFaults(publish(treeNodes(result, reducer, 2)), reducer, 2)).to.equal(undefined);
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });

  it("test_findFaults_inflatedAggregate_challengeRoot", () => {
    const result = reduceTree(leaves(6), SUM, 2);
    const fault = findFaults({ ...result, aggregate: [(result.aggregate[0] as number) + 1, result.aggregate[1] as number] }, SUM, 2);
    expect(fault?.fn).to.equal("challengeRoot");
    const one = reduceTree(leaves(1), SUM, 2);
    expect(findFaults({ ...one, aggregate: [0, 0] }, SUM, 2)?.fn).to.equal("challengeRootLeaf");
  });

  it("test_findFaults_tamperedNode_lowestNodeWithItsWitness", () => {
    for (const [n, level, i, fn] of [
      [8, 1, 2, "challengeLeafParent"],
      [8, 2, 1, "challengeInnerNode"],
      [5, 3, 0, "challengeCarriedLeafParent"],
    ] as const) {
      const tree = treeNodes(reduceTree(leaves(n), SUM, 2), SUM, 2);
      // Inflate one node and every ancestor by the same amount: only that node is wrong, the rest add up.
      for (let l = level, p = i; l < tree.levels.length; l++, p >>= 1) {
        const node = tree.levels[l]?.[p] as { value: number[] };
        node.value = [(node.value[0] as number) + 100, node.value[1] as number];
      }
      const bad = rehashTree(tree);
      const fault = findFaults(publish(bad), SUM, 2);
      expect(fault?.fn, `n=${n}`).to.equal(fn);
      expect(fault?.args[fn === "challengeLeafParent" ? 0 : 1]).to.equal(i);
    }
  });

  it("test_findFaults_swappedOrDuplicateLeaves_challengeOrder", () => {
    const result = reduceTree(leaves(7), SUM, 2);
    const swapped = result.leaves.slice();
    [swapped[3], swapped[4]] = [swapped[4] as Leaf, swapped[3] as Leaf];
    const tree = rehashTree(treeNodes({ ...result, leaves: swapped, levels: [] }, SUM, 2));
    const fault = findFaults(publish(tree), SUM, 2);
    expect(fault?.fn).to.equal("challengeOrder");
    expect(fault?.args[0]).to.equal(3);

    const dup = result.leaves.map((l, i) => (i === 5 ? { ...l, nullifier: (result.leaves[4] as Leaf).nullifier } : l));
    const dupFault = findFaults(publish(rehashTree(treeNodes({ ...result, leaves: dup, levels: [] }, SUM, 2))), SUM, 2);
    expect(dupFault?.fn).to.equal("challengeOrder");
    expect(dupFault?.args[0]).to.equal(4);
  });

  it("test_findFaults_malformedLeaf_isAFault", () => {
    const result = reduceTree(leaves(4), { kind: "count" }, 2);
    const bad = result.leaves.map((l, i) => (i === 1 ? { ...l, value: [1, 2, 3] } : l));
    const tree = rehashTree(treeNodes({ ...result, leaves: bad, levels: [] }, { kind: "count" }, 2));
    // treeNodes gives the malformed leaf value [], so its parent sum is [] too: republish with the honest-looking count.
    (tree.levels[1]?.[0] as { value: number[] }).value = [2];
    const fault = findFaults(publish(rehashTree(tree), [4]), { kind: "count" }, 2);
    expect(fault?.fn).to.equal("challengeLeafParent");
  });

  it("test_findFaults_inconsistentPublication_UnprovableFaultError", () => {
    const result = reduceTree(leaves(4), SUM, 2);
    expect(() => findFaults({ ...result, count: 5 }, SUM, 2)).to.throw(UnprovableFaultError, /count/);
    expect(() => findFaults({ ...result, levels: result.levels.slice(1) }, SUM, 2)).to.throw(UnprovableFaultError, /shape/);
    const levels = result.levels.map((l) => l.slice());
    (levels[1] as string[])[0] = leafHash(result.leaves[0] as Leaf);
    expect(() => findFaults({ ...result, levels }, SUM, 2)).to.throw(UnprovableFaultError, /levels\[1\]\[0\]/);
    expect(() => findFaults({ ...result, treeRoot: `0x${"11".repeat(32)}` }, SUM, 2)).to.throw(UnprovableFaultError, /treeRoot/);
    expect(findFaults({ ...result, leaves: [], count: 0, levels: [] }, SUM, 2)).to.equal(undefined);
  });
});
