// The challenger as an attacker: on honest proposals of every reducer kind and 1–64 leaves, it calls every challenge
// function with anything it can build from the public bundle — real leaves and nodes, nodes typed as leaves, leaves
// typed as nodes, any position, any real path — and no call may ever fault the honest proposal (adversarial review,
// finding 1: leaf and node hashes once encoded alike, so a node passed as a carried leaf "proved" a fault).
import {
  type AncestorArg,
  ancestorsOf,
  type InnerArg,
  innerAt,
  type LeafArg,
  leafArg,
  type TreeNodes,
  treeNodes,
  type Witness,
} from "@mosaic/mapreduce";
import { deployMosaic, type MosaicContracts, type ReducerSpec } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import { parseEther, type Signer, toBeHex } from "ethers";
import fc from "fast-check";
import { network } from "hardhat";
import { challenge, honestTree, proposeTree, reduceParams, SPEC_DIGEST, setGroupSize } from "./fixture.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

const BOND = parseEther("0.1");
const WIDTH = 3;
const AGGREGATE_ARG = true;
const KINDS: ReducerSpec[] = [
  { kind: "sum" },
  { kind: "count" },
  { kind: "histogram" },
  { kind: "mean" },
  { kind: "quantile", edges: [-20, -5, 0, 5, 20], quantiles: [{ num: 1, den: 2 }] },
];

/** Everything an attacker can lift from a published tree, each item also retyped as the other kind. */
interface Pool {
  leaves: LeafArg[];
  inners: InnerArg[];
  /** Every real path, keyed by the (level, position) it belongs to. */
  paths: { level: number; position: number; path: AncestorArg[] }[];
  /** Every paired node with its path and each child both as it is and retyped: the pieces of a near-miss witness. */
  pairs: { level: number; position: number; node: InnerArg; path: AncestorArg[]; left: Both; right: Both }[];
}

/** One child as a leaf and as a node: one of them is what it is, the other the same words retyped. */
interface Both {
  leaf: LeafArg;
  inner: InnerArg;
}

const asLeaf = (n: InnerArg): LeafArg => ({ nullifier: BigInt(n.left), digest: n.right, payload: n.value });
const asInner = (l: LeafArg): InnerArg => ({ left: toBeHex(l.nullifier, 32), right: l.digest, value: l.payload });

function isPaired(tree: TreeNodes, level: number, i: number): boolean {
  return level > 0 && 2 * i + 1 < (tree.levels[level - 1] as unknown[]).length;
}

/** The node at (level, i) as a leaf and as a node, whichever it really is (a carried node is its child). */
function both(tree: TreeNodes, level: number, i: number): Both {
  for (; level > 0 && !isPaired(tree, level, i); level--) i *= 2;
  if (level === 0) {
    const leaf = leafArg(tree.leaves[i] as never);
    return { leaf, inner: asInner(leaf) };
  }
  const inner = innerAt(tree, level, i);
  return { leaf: asLeaf(inner), inner };
}

function poolOf(tree: TreeNodes): Pool {
  const leaves = tree.leaves.map(leafArg);
  const inners: InnerArg[] = [];
  const paths: Pool["paths"] = [];
  const pairs: Pool["pairs"] = [];
  for (const [level, nodes] of tree.levels.entries()) {
    for (let position = 0; position < nodes.length; position++) {
      const path = ancestorsOf(tree, level, position);
      paths.push({ level, position, path });
      if (!isPaired(tree, level, position)) continue;
      const node = innerAt(tree, level, position);
      inners.push(node);
      const left = both(tree, level - 1, 2 * position);
      pairs.push({ level, position, node, path, left, right: both(tree, level - 1, 2 * position + 1) });
    }
  }
  return { leaves: [...leaves, ...inners.map(asLeaf)], inners: [...inners, ...leaves.map(asInner)], paths, pairs };
}

/** The calls that once slashed honest mean/count/quantile trees: each node's children passed as the other kind. */
function retypedChildren(tree: TreeNodes, reducer: ReducerSpec): Witness[] {
  const edges = reducer.kind === "quantile" ? reducer.edges : [];
  const out: Witness[] = [];
  for (let level = 2; level < tree.levels.length; level++) {
    for (let i = 0; isPaired(tree, level, i); i++) {
      const node = innerAt(tree, level, i);
      const left = innerAt(tree, level - 1, 2 * i);
      const path = ancestorsOf(tree, level, i);
      if (isPaired(tree, level - 1, 2 * i + 1)) {
        // A node child passed as a leaf: its hash once equalled the node's.
        const right = asLeaf(innerAt(tree, level - 1, 2 * i + 1));
        out.push({ fn: "challengeCarriedLeafParent", args: [level, i, node, left, right, path, edges] });
      } else {
        // A carried leaf passed as a node.
        let p = 2 * i + 1;
        for (let l = level - 1; l > 0; l--) p *= 2;
        const right = asInner(leafArg(tree.leaves[p] as never));
        out.push({ fn: "challengeInnerNode", args: [level, i, node, left, right, path] });
      }
    }
  }
  return out;
}

/** A random call of any challenge function, its arguments drawn from the pool and any small (level, position). */
function attackArb(pool: Pool, edges: number[], aggregate: number[]): fc.Arbitrary<Witness> {
  const leaf = fc.constantFrom(...pool.leaves);
  const inner = fc.constantFrom(...pool.inners);
  const path = fc.constantFrom(...pool.paths.map((p) => p.path));
  const level = fc.integer({ min: 0, max: 8 });
  const position = fc.integer({ min: 0, max: 70 });
  // Near misses: a real pair node and path with its real children, each possibly retyped.
  const near =
    pool.pairs.length === 0
      ? []
      : [
          fc
            .tuple(fc.constantFrom(...pool.pairs), fc.boolean(), fc.boolean(), fc.boolean())
            .map(([q, leftAsLeaf, rightAsLeaf, lie]): Witness => {
              const lv = lie ? q.level + 1 : q.level;
              const r = rightAsLeaf ? q.right.leaf : q.right.inner;
              if (lv === 1 || (leftAsLeaf && rightAsLeaf))
                return { fn: "challengeLeafParent", args: [q.position, q.node, q.left.leaf, q.right.leaf, q.path, edges] };
              return rightAsLeaf
                ? { fn: "challengeCarriedLeafParent", args: [lv, q.position, q.node, q.left.inner, r, q.path, edges] }
                : { fn: "challengeInnerNode", args: [lv, q.position, q.node, q.left.inner, q.right.inner, q.path] };
            }),
        ];
  return fc
    .oneof(
      ...near,
      ...near,
      fc.tuple(inner).map(([root]): Witness => ({ fn: "challengeRoot", args: [root] })),
      fc.tuple(leaf).map(([l]): Witness => ({ fn: "challengeRootLeaf", args: [l, edges] })),
      fc
        .tuple(position, inner, leaf, leaf, path)
        .map(([p, n, l, r, a]): Witness => ({ fn: "challengeLeafParent", args: [p, n, l, r, a, edges] })),
      fc
        .tuple(level, position, inner, inner, inner, path)
        .map(([lv, p, n, l, r, a]): Witness => ({ fn: "challengeInnerNode", args: [lv, p, n, l, r, a] })),
      fc
        .tuple(level, position, inner, inner, leaf, path)
        .map(([lv, p, n, l, r, a]): Witness => ({ fn: "challengeCarriedLeafParent", args: [lv, p, n, l, r, a, edges] })),
      fc.tuple(position, leaf, path, leaf, path).map(([p, a, pa, b, pb]): Witness => ({ fn: "challengeOrder", args: [p, a, pa, b, pb] })),
    )
    .map((w) => (AGGREGATE_ARG && (w.fn === "challengeRoot" || w.fn === "challengeRootLeaf") ? { ...w, args: [aggregate, ...w.args] } : w));
}

describe("JobRegistry against a challenger that retypes what it finds", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  let c: MosaicContracts;
  let researcher: Signer, reducer: Signer, challenger: Signer;

  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
    const [deployer, r, res, member, ch] = (await ethers.getSigners()) as unknown as Signer[] as [Signer, Signer, Signer, Signer, Signer];
    [reducer, researcher, challenger] = [r, res, ch];
    c = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: BOND });
    await (await c.avatarGroups.createGroup("test", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.connect(member).register(0n, new Identity("m").commitment, "0x")).wait();
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, 0n, 1_000n);
    await (await c.jobRegistry.connect(reducer).stake({ value: parseEther("10") })).wait();
  });

  /** Posts a job for `reducer`, proposes the honest `n`-leaf tree and returns it with the job id. */
  async function honestProposal(spec: ReducerSpec, n: number, seed: number) {
    const tree = treeNodes(honestTree(n, spec, WIDTH, seed), spec, WIDTH);
    const now = BigInt(await networkHelpers.time.latest());
    await (
      await c.jobRegistry
        .connect(researcher)
        .postJob(SPEC_DIGEST, 0n, 1, now + 600n, 3_600n, parseEther("1"), reduceParams(spec, WIDTH), { value: parseEther("1") })
    ).wait();
    const jobId = await c.jobRegistry.jobCount();
    await networkHelpers.time.increase(600);
    const top = tree.levels.at(-1)?.[0] as { hash: string; value: number[] };
    const index = await proposeTree(c, reducer, jobId, { aggregate: top.value, count: n, treeRoot: top.hash }, BOND);
    return { tree, jobId, index, aggregate: top.value };
  }

  /** Every call must revert; none may fault the proposal. */
  async function mustFail(jobId: bigint, index: bigint, w: Witness, label: string): Promise<void> {
    const fn = c.jobRegistry.connect(challenger).getFunction(w.fn) as unknown as { staticCall(...args: unknown[]): Promise<unknown> };
    let succeeded = false;
    try {
      await fn.staticCall(jobId, index, ...w.args);
      succeeded = true;
    } catch (err) {
      // It must be the contract that refused, not an argument ethers could not encode.
      expect((err as Error).message, `${label}: ${w.fn}`).to.match(/reverted with custom error/);
    }
    if (succeeded) expect.fail(`${label}: ${w.fn}(${w.args.slice(0, 2).map(String).join(", ")}, …) faulted an honest proposal`);
  }

  it("test_challenges_retypedChildren_everyKind_sizes1to64_neverFaultHonest", async () => {
    for (const spec of KINDS) {
      for (const n of [3, 5, 6, 7, 11, 13, 21, 33, 64]) {
        const { tree, jobId, index } = await honestProposal(spec, n, n * 7 + spec.kind.length);
        for (const w of retypedChildren(tree, spec)) await mustFail(jobId, index, w, `${spec.kind} n=${n}`);
        if (n === 64) continue;
        // Sizes with a carried leaf at every height: each carried leaf is tried as a node.
        expect(retypedChildren(tree, spec).length, `${spec.kind} n=${n}`).to.be.greaterThan(0);
      }
    }
  });

  it("test_challenges_anyArgumentsFromTheBundle_everyKind_sizes1to64_neverFaultHonest", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        async (spec, n, seed) => {
          const { tree, jobId, index, aggregate } = await honestProposal(spec, n, seed);
          const edges = spec.kind === "quantile" ? spec.edges : [];
          const attacks = fc.sample(attackArb(poolOf(tree), edges, aggregate), { seed, numRuns: 60 });
          for (const w of attacks) await mustFail(jobId, index, w, `${spec.kind} n=${n}`);
          expect((await c.jobRegistry.getProposal(jobId, index)).faulted).to.equal(false);
        },
      ),
      { seed: 20_261_204, numRuns: 60 },
    );
  });
});
