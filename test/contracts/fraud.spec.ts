// JobRegistry's accountability: bonds, one-call fraud proofs on reduce trees, slashing, largest-unfaulted-wins.
// Every revert asserts state unchanged; the money invariant and "no proof slashes an honest tree" are fast-check
// properties with fixed seeds.
import {
  ancestorsOf,
  findFaults,
  type InnerArg,
  innerNodeWitness,
  type Leaf,
  type LeafArg,
  leafArg,
  leafParentWitness,
  orderWitness,
  type PublishedTree,
  type ReduceResult,
  reduceTree,
  rehashTree,
  rootWitness,
  type TreeNodes,
  treeNodes,
  type Witness,
  edgesHash as edgesHashOf,
} from "@mosaic/mapreduce";
import { deployMosaic, type MosaicContracts, proposeResult, type ReducerSpec, resultCommitment } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import { AbiCoder, type ContractTransactionResponse, keccak256, parseEther, type Signer } from "ethers";
import fc from "fast-check";
import { network } from "hardhat";
import {
  askableNodes,
  challenge,
  honestTree,
  type OpenableLeaf,
  openableLeaves,
  proposeTree,
  reduceParams,
  SPEC_DIGEST,
  setGroupSize,
} from "./fixture.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

const DAY = 86_400n;
const DAY_S = 86_400;
const BOND = parseEther("0.1");
const STAKE = parseEther("10");
const REWARD = parseEther("2");
const WINDOW = 120n;
const BURN = "0x000000000000000000000000000000000000dEaD";
const SUM: ReducerSpec = { kind: "sum" };
const COUNT: ReducerSpec = { kind: "count" };
const MEAN: ReducerSpec = { kind: "mean" };
const QUANTILE: ReducerSpec = { kind: "quantile", edges: [-20, -5, 0, 5, 20], quantiles: [{ num: 1, den: 2 }] };
const WIDTH = 3;

/** A tree as proposed: the opened nodes plus the aggregate the proposer claims. */
interface Proposed {
  tree: TreeNodes;
  aggregate: number[];
  root: string;
}

function proposed(tree: TreeNodes, aggregate?: number[]): Proposed {
  const top = tree.levels[tree.levels.length - 1]?.[0];
  if (top === undefined) throw new Error("empty tree");
  return { tree, aggregate: aggregate ?? top.value, root: top.hash };
}

function published(p: Proposed): PublishedTree {
  return {
    aggregate: p.aggregate,
    count: p.tree.leaves.length,
    treeRoot: p.root,
    leaves: p.tree.leaves,
    levels: p.tree.levels.map((nodes) => nodes.map((n) => n.hash)),
    values: p.tree.levels.map((nodes) => nodes.map((n) => n.value)),
  };
}

/** Every challenge one could try on a tree: each pair node, each adjacent leaf pair, the root. */
function allWitnesses(tree: TreeNodes, reducer: ReducerSpec): Witness[] {
  const out: Witness[] = [rootWitness(tree, reducer, tree.levels.at(-1)?.[0]?.value ?? [])];
  for (let level = 1; level < tree.levels.length; level++) {
    const below = (tree.levels[level - 1] as unknown[]).length;
    for (let i = 0; 2 * i + 1 < below; i++)
      out.push(level === 1 ? leafParentWitness(tree, reducer, i) : innerNodeWitness(tree, reducer, level, i));
  }
  for (let i = 0; i + 1 < tree.leaves.length; i++) out.push(orderWitness(tree, i));
  return out;
}

/** Inflates the node at (level, i) and every ancestor by `delta` in entry 0, then rehashes: only that node is wrong. */
function tamper(tree: TreeNodes, level: number, i: number, delta = 1000): TreeNodes {
  const copy: TreeNodes = { leaves: tree.leaves, levels: tree.levels.map((nodes) => nodes.map((n) => ({ ...n, value: n.value.slice() }))) };
  for (let l = level, p = i; l < copy.levels.length; l++, p >>= 1) {
    const node = copy.levels[l]?.[p] as { value: number[] };
    node.value[0] = (node.value[0] as number) + delta;
  }
  return rehashTree(copy);
}

describe("JobRegistry fraud proofs", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
  });
  let c: MosaicContracts;
  let deployer: Signer, reducer: Signer, researcher: Signer, member: Signer, challenger: Signer, other: Signer;
  const groupId = 0n;

  async function snapshot(): Promise<string> {
    const r = c.jobRegistry;
    const n = await r.jobCount();
    const jobs = [];
    for (let i = 1n; i <= n; i++) {
      const proposals = [];
      for (let k = 0n; k < (await r.proposalCount(i)); k++) proposals.push(await r.getProposal(i, k));
      jobs.push([await r.getJob(i), proposals]);
    }
    const accounts = await Promise.all(
      [reducer, researcher, challenger, other].map(async (s) => {
        const a = await s.getAddress();
        return [await r.stakeOf(a), await r.balanceOf(a), await r.openProposalsOf(a), await r.unbondingOf(a)];
      }),
    );
    return JSON.stringify(
      {
        jobs,
        accounts,
        bal: await ethers.provider.getBalance(c.addresses.jobRegistry),
        burned: await ethers.provider.getBalance(BURN),
      },
      (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }

  async function expectRevert(call: () => Promise<unknown>, error: string, args?: unknown[]): Promise<void> {
    const before = await snapshot();
    const assertion = expect(call()).to.be.revertedWithCustomError(c.jobRegistry, error);
    if (args) await assertion.withArgs(...args);
    else await assertion;
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  async function postJob(
    reducerSpec: ReducerSpec,
    payloadLength = WIDTH,
    overrides: { min?: number; window?: bigint } = {},
  ): Promise<bigint> {
    const now = BigInt(await networkHelpers.time.latest());
    await (
      await c.jobRegistry
        .connect(researcher)
        .postJob(
          SPEC_DIGEST,
          groupId,
          overrides.min ?? 1,
          now + 600n,
          overrides.window ?? WINDOW,
          parseEther("1"),
          reduceParams(reducerSpec, payloadLength),
          {
            value: REWARD,
          },
        )
    ).wait();
    return c.jobRegistry.jobCount();
  }

  async function propose(jobId: bigint, p: Proposed, by: Signer = reducer): Promise<bigint> {
    return proposeTree(c, by, jobId, { aggregate: p.aggregate, count: p.tree.leaves.length, treeRoot: p.root }, BOND);
  }

  /** Posts a job, waits out collection, proposes `p`: returns the job id (proposal index 0). */
  async function jobWith(reducerSpec: ReducerSpec, p: Proposed, payloadLength = WIDTH): Promise<bigint> {
    const jobId = await postJob(reducerSpec, payloadLength);
    await networkHelpers.time.increase(600);
    await propose(jobId, p);
    return jobId;
  }

  beforeEach(async () => {
    [deployer, reducer, researcher, member, challenger, other] = (await ethers.getSigners()) as unknown as Signer[] as [
      Signer,
      Signer,
      Signer,
      Signer,
      Signer,
      Signer,
    ];
    c = await deployMosaic(deployer, { unbondingDelay: DAY, proposalBond: BOND });
    await (await c.avatarGroups.createGroup("test", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.connect(member).register(groupId, new Identity("m").commitment, "0x")).wait();
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, groupId, 1_000_000n);
    for (const s of [reducer, other]) await (await c.jobRegistry.connect(s).stake({ value: STAKE })).wait();
  });

  describe("posting and proposing", () => {
    it("test_postJob_recordsReduceParamsAndSchedule", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const params = reduceParams(QUANTILE, 4);
      const edgesHash = edgesHashOf(params.edges);
      await expect(c.jobRegistry.connect(researcher).postJob(SPEC_DIGEST, groupId, 1, now + 600n, WINDOW, 1n, params, { value: REWARD }))
        .to.emit(c.jobRegistry, "JobReduceParams")
        .withArgs(1n, 4, 4, params.edges, edgesHash, now + 600n + 2n * WINDOW);
      const job = await c.jobRegistry.getJob(1n);
      expect([job.kind, job.payloadLength, job.stateLength, job.edgesHash]).to.deep.equal([4n, 4n, 24n, edgesHash]);
      expect([job.proposalDeadline, job.finalizeAfter]).to.deep.equal([now + 600n + WINDOW, now + 600n + 2n * WINDOW]);
      expect(await c.jobRegistry.proposalBond()).to.equal(BOND);
    });

    it("test_postJob_jobsWithoutEdges_reportTheHashOfNoEdges", async () => {
      // Only quantile jobs store their edges hash; getJob gives every other job the hash of no edges, as emitted.
      const now = BigInt(await networkHelpers.time.latest());
      const noEdges = edgesHashOf([]);
      for (const [i, spec] of [SUM, MEAN].entries()) {
        const params = reduceParams(spec, 4);
        await expect(c.jobRegistry.connect(researcher).postJob(SPEC_DIGEST, groupId, 1, now + 600n, WINDOW, 1n, params, { value: REWARD }))
          .to.emit(c.jobRegistry, "JobReduceParams")
          .withArgs(BigInt(i + 1), params.kind, 4, [], noEdges, now + 600n + 2n * WINDOW);
        expect((await c.jobRegistry.getJob(BigInt(i + 1))).edgesHash).to.equal(noEdges);
      }
    });

    it("test_postJob_rejectsBadReduceParams", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const post = (reduce: { kind: number; payloadLength: number; edges: number[]; min?: number[]; max?: number[] }, window = WINDOW) =>
        c.jobRegistry
          .connect(researcher)
          .postJob(
            SPEC_DIGEST,
            groupId,
            1,
            now + 600n,
            window,
            1n,
            { min: new Array(reduce.payloadLength).fill(0), max: new Array(reduce.payloadLength).fill(1), ...reduce },
            { value: REWARD },
          );
      await expectRevert(() => post({ kind: 0, payloadLength: 2, edges: [], min: [0], max: [1, 1] }), "BoundsLengthMismatch", [1, 2, 2]);
      await expectRevert(() => post({ kind: 0, payloadLength: 2, edges: [], min: [0, 0], max: [1] }), "BoundsLengthMismatch", [2, 1, 2]);
      await expectRevert(() => post({ kind: 0, payloadLength: 2, edges: [], min: [0, 5], max: [1, 4] }), "InvalidBounds", [1, 5, 4]);
      await expectRevert(() => post({ kind: 5, payloadLength: 1, edges: [] }), "InvalidReducerKind", [5]);
      await expectRevert(() => post({ kind: 0, payloadLength: 0, edges: [] }), "InvalidPayloadLength", [0]);
      await expectRevert(() => post({ kind: 0, payloadLength: 65, edges: [] }), "InvalidPayloadLength", [65]);
      await expectRevert(() => post({ kind: 4, payloadLength: 1, edges: [] }), "InvalidEdgeCount", [4, 0]);
      await expectRevert(
        () => post({ kind: 4, payloadLength: 1, edges: Array.from({ length: 64 }, (_, i) => i) }),
        "InvalidEdgeCount",
        [4, 64],
      );
      await expectRevert(() => post({ kind: 0, payloadLength: 1, edges: [1] }), "InvalidEdgeCount", [0, 1]);
      await expectRevert(() => post({ kind: 4, payloadLength: 1, edges: [1, 3, 3] }), "EdgesNotIncreasing", [2, 3, 3]);
      await expectRevert(
        () => post({ kind: 4, payloadLength: 8, edges: Array.from({ length: 63 }, (_, i) => i) }),
        "AggregateTooLong",
        [512, 256],
      );
      await expectRevert(() => post({ kind: 0, payloadLength: 1, edges: [] }, DAY / 2n), "InvalidChallengeWindow", [DAY / 2n, DAY]);
      await expect(post({ kind: 4, payloadLength: 4, edges: Array.from({ length: 63 }, (_, i) => i) }, DAY / 2n - 1n)).to.emit(
        c.jobRegistry,
        "JobPosted",
      );
    });

    it("test_commitResult_takesExactBond_proposeResult_checksAggregateLengthAndCommitment", async () => {
      const jobId = await postJob(MEAN);
      await networkHelpers.time.increase(600);
      const p = proposed(treeNodes(honestTree(3, MEAN, WIDTH, 1), MEAN, WIDTH));
      const result = { aggregate: p.aggregate, count: 3, treeRoot: p.root };
      const commitment = resultCommitment(await reducer.getAddress(), jobId, result);
      const commit = (value: bigint) => c.jobRegistry.connect(reducer).commitResult(jobId, commitment, { value });
      await expectRevert(() => commit(0n), "WrongBond", [0n, BOND]);
      await expectRevert(() => commit(BOND + 1n), "WrongBond", [BOND + 1n, BOND]);
      const before = await ethers.provider.getBalance(c.addresses.jobRegistry);
      await expect(commit(BOND))
        .to.emit(c.jobRegistry, "ResultCommitted")
        .withArgs(jobId, await reducer.getAddress(), 0n, commitment);
      expect(await ethers.provider.getBalance(c.addresses.jobRegistry)).to.equal(before + BOND);
      await expectRevert(() => commit(BOND), "AlreadyProposed");
      const reveal = (aggregate = p.aggregate, count = 3, by: Signer = reducer) =>
        c.jobRegistry.connect(by).proposeResult(jobId, 0n, aggregate, count, p.root, "b");
      await expectRevert(() => reveal(p.aggregate.slice(1)), "AggregateLengthMismatch", [WIDTH, WIDTH + 1]);
      await expectRevert(() => reveal(p.aggregate.map((x) => x + 1)), "CommitmentMismatch");
      // A commitment cannot be challenged before it is revealed.
      await expectRevert(() => challenge(c, challenger, jobId, 0n, rootWitness(p.tree, MEAN, p.aggregate)), "WrongProposalState", [
        jobId,
        0n,
        1n,
      ]);
      await expect(reveal()).to.emit(c.jobRegistry, "ResultProposed");
      await expectRevert(() => reveal(), "WrongProposalState", [jobId, 0n, 2n]);
      const stored = await c.jobRegistry.getProposal(jobId, 0n);
      expect([stored.state, stored.faulted, stored.count, stored.treeRoot]).to.deep.equal([2n, false, 3n, p.root]);
    });

    it("test_proposeResult_copiedRevealCannotWin_tiesGoToTheEarliestCommitment (finding 3)", async () => {
      const jobId = await postJob(SUM);
      await networkHelpers.time.increase(600);
      const p = proposed(treeNodes(honestTree(4, SUM, WIDTH, 3), SUM, WIDTH));
      const result = { aggregate: p.aggregate, count: 4, treeRoot: p.root };
      const honestIndex = await proposeTree(c, reducer, jobId, result, BOND);
      // The copier saw the honest reveal: replaying it does nothing (that commitment is opened, and was not its own).
      await expectRevert(
        () => c.jobRegistry.connect(other).proposeResult(jobId, honestIndex, p.aggregate, 4, p.root, "b"),
        "WrongProposalState",
      );
      // Committing the same result after seeing it only lands behind the honest commitment.
      const copyIndex = await proposeTree(c, other, jobId, result, BOND);
      expect(copyIndex).to.equal(honestIndex + 1n);
      await networkHelpers.time.increase(Number(2n * WINDOW));
      await (await c.jobRegistry.finalizeJob(jobId)).wait();
      expect(await c.jobRegistry.winningProposal(jobId)).to.equal(honestIndex);
      // The copy's bond comes back through claimBond; the winner's came with the reward.
      await expect(c.jobRegistry.claimBond(jobId, copyIndex))
        .to.emit(c.jobRegistry, "BondReturned")
        .withArgs(jobId, copyIndex, await other.getAddress(), BOND);
      await expectRevert(() => c.jobRegistry.claimBond(jobId, copyIndex), "WrongProposalState", [jobId, copyIndex, 3n]);
      await expectRevert(() => c.jobRegistry.claimBond(jobId, honestIndex), "WrongProposalState", [jobId, honestIndex, 3n]);
      expect(await c.jobRegistry.openProposalsOf(await reducer.getAddress())).to.equal(0n);
      expect(await c.jobRegistry.openProposalsOf(await other.getAddress())).to.equal(0n);
    });

    it("test_proposeResult_countBelowMinimum_andProposalLimit_unrevealedBondsBurned (finding 4)", async () => {
      const jobId = await postJob(SUM, WIDTH, { min: 3 });
      await networkHelpers.time.increase(600);
      const small = proposed(treeNodes(honestTree(2, SUM, WIDTH, 5), SUM, WIDTH));
      const zero = { aggregate: [0, 0, 0], count: 0, treeRoot: `0x${"00".repeat(32)}` };
      for (const [r, label] of [
        [zero, "zero"],
        [{ aggregate: small.aggregate, count: 2, treeRoot: small.root }, "two"],
      ] as const) {
        const commitment = resultCommitment(await reducer.getAddress(), jobId, r);
        const index = await c.jobRegistry.proposalCount(jobId);
        const signer = label === "zero" ? reducer : other;
        await (
          await c.jobRegistry.connect(signer).commitResult(jobId, resultCommitment(await signer.getAddress(), jobId, r), { value: BOND })
        ).wait();
        await expectRevert(
          () => c.jobRegistry.connect(signer).proposeResult(jobId, index, [...r.aggregate], r.count, r.treeRoot, "b"),
          "CountBelowMinimum",
          [r.count, 3],
        );
        expect(commitment).to.be.a("string");
      }
      // The cap: MAX_PROPOSALS commitments, then ProposalLimitReached (finalizeJob's loop is bounded by it).
      const max = Number(await c.jobRegistry.MAX_PROPOSALS());
      const signers: Signer[] = [];
      for (let i = 0; i < max - 1; i++) {
        const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
        await (await deployer.sendTransaction({ to: wallet.address, value: STAKE + parseEther("1") })).wait();
        signers.push(wallet);
      }
      for (const s of signers.slice(0, max - 2)) {
        await (await c.jobRegistry.connect(s).stake({ value: STAKE })).wait();
        await (await c.jobRegistry.connect(s).commitResult(jobId, `0x${"11".repeat(32)}`, { value: BOND })).wait();
      }
      const extra = signers[max - 2] as Signer;
      await (await c.jobRegistry.connect(extra).stake({ value: STAKE })).wait();
      await expectRevert(
        () => c.jobRegistry.connect(extra).commitResult(jobId, `0x${"11".repeat(32)}`, { value: BOND }),
        "ProposalLimitReached",
        [jobId, BigInt(max)],
      );
      // No proposal was revealed: finalisation refunds, and every commitment's bond is burned by claimBond.
      await networkHelpers.time.increase(Number(2n * WINDOW));
      await expect(c.jobRegistry.finalizeJob(jobId)).to.emit(c.jobRegistry, "JobRefunded");
      const burned = await ethers.provider.getBalance(BURN);
      await expect(c.jobRegistry.claimBond(jobId, 0n)).to.emit(c.jobRegistry, "BondForfeited");
      expect(await ethers.provider.getBalance(BURN)).to.equal(burned + BOND);
      expect(await c.jobRegistry.openProposalsOf(await reducer.getAddress())).to.equal(0n);
    });
  });

  describe("honest trees", () => {
    it("test_challenges_honestTrees_sizes1to13_allKinds_NoFault", async () => {
      for (const spec of [SUM, MEAN, COUNT, QUANTILE]) {
        for (const n of [1, 2, 3, 5, 8, 13]) {
          const result = honestTree(n, spec, WIDTH, n * 31 + spec.kind.length);
          const p = proposed(treeNodes(result, spec, WIDTH));
          expect(p.root).to.equal(result.treeRoot);
          expect(findFaults(result, spec, WIDTH), `${spec.kind} n=${n}`).to.equal(undefined);
          const jobId = await jobWith(spec, p);
          const before = await snapshot();
          for (const w of allWitnesses(p.tree, spec)) {
            await expect(challenge(c, challenger, jobId, 0n, w), `${spec.kind} n=${n} ${w.fn} ${w.args[0]}`).to.be.revertedWithCustomError(
              c.jobRegistry,
              "NoFault",
            );
          }
          expect(await snapshot()).to.equal(before);
        }
      }
    });

    it("test_challenges_randomHonestTrees_noFraudProofEverSlashesAnHonestProposal", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(SUM, MEAN, COUNT, QUANTILE, { kind: "histogram" } as ReducerSpec),
          fc.integer({ min: 1, max: 2 ** 31 }),
          fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
          async (n, spec, seed, picks) => {
            const p = proposed(treeNodes(honestTree(n, spec, WIDTH, seed), spec, WIDTH));
            const jobId = await jobWith(spec, p);
            const witnesses = allWitnesses(p.tree, spec);
            for (const pick of picks) {
              const w = witnesses[pick % witnesses.length] as Witness;
              await expect(challenge(c, challenger, jobId, 0n, w)).to.be.revertedWithCustomError(c.jobRegistry, "NoFault");
            }
            expect((await c.jobRegistry.getProposal(jobId, 0n)).faulted).to.equal(false);
          },
        ),
        { seed: 20_250_707, numRuns: 30 },
      );
    });
  });

  describe("faults", () => {
    /** Challenges with `w` and checks the slash to the wei: bond and 2.5% of stake, half each to challenger and burn. */
    async function expectSlash(jobId: bigint, w: Witness, kind: number): Promise<void> {
      const proposer = await reducer.getAddress();
      const stake = await c.jobRegistry.stakeOf(proposer);
      const slashed = (stake * 250n) / 10_000n;
      const reward = ((slashed + BOND) * 5000n) / 10_000n;
      const burned = slashed + BOND - reward;
      const registryBefore = await ethers.provider.getBalance(c.addresses.jobRegistry);
      const burnBefore = await ethers.provider.getBalance(BURN);
      const open = await c.jobRegistry.openProposalsOf(proposer);
      const owedBefore = await c.jobRegistry.balanceOf(await challenger.getAddress());
      await expect(challenge(c, challenger, jobId, 0n, w))
        .to.emit(c.jobRegistry, "ProposalFaulted")
        .withArgs(jobId, 0n, proposer, await challenger.getAddress(), kind, slashed, BOND, reward, burned);
      expect(await c.jobRegistry.stakeOf(proposer)).to.equal(stake - slashed);
      expect(await c.jobRegistry.openProposalsOf(proposer)).to.equal(open - 1n);
      expect(await c.jobRegistry.balanceOf(await challenger.getAddress())).to.equal(owedBefore + reward);
      expect(await ethers.provider.getBalance(BURN)).to.equal(burnBefore + burned);
      expect(await ethers.provider.getBalance(c.addresses.jobRegistry)).to.equal(registryBefore - burned);
      expect((await c.jobRegistry.getProposal(jobId, 0n)).faulted).to.equal(true);
      await expectRevert(() => challenge(c, challenger, jobId, 0n, w), "ProposalAlreadyFaulted", [jobId, 0n]);
    }

    it("test_challengeRoot_inflatedAggregate_slashes", async () => {
      const tree = treeNodes(honestTree(6, SUM, WIDTH, 3), SUM, WIDTH);
      const honest = proposed(tree);
      const p = { ...honest, aggregate: [(honest.aggregate[0] as number) + 1, ...honest.aggregate.slice(1)] };
      const jobId = await jobWith(SUM, p);
      const fault = findFaults(published(p), SUM, WIDTH);
      expect(fault?.fn).to.equal("challengeRoot");
      await expectSlash(jobId, fault as Witness, 0);
      // The challenger withdraws its share.
      await expect(c.jobRegistry.connect(challenger).withdraw()).to.changeEtherBalance(
        ethers,
        challenger,
        await c.jobRegistry.balanceOf(await challenger.getAddress()),
      );
    });

    it("test_challengeRootLeaf_wrongSingleLeafAggregate_slashes", async () => {
      for (const spec of [QUANTILE, MEAN]) {
        await (await c.jobRegistry.connect(reducer).stake({ value: 1n })).wait();
        const tree = treeNodes(honestTree(1, spec, WIDTH, 9), spec, WIDTH);
        const p = proposed(
          tree,
          tree.levels[0]?.[0]?.value.map((x, i) => (i === 1 ? x + 1 : x)),
        );
        const jobId = await jobWith(spec, p);
        const fault = findFaults(published(p), spec, WIDTH) as Witness;
        expect(fault.fn).to.equal("challengeRootLeaf");
        await expectSlash(jobId, fault, 1);
      }
    });

    it("test_challengeLeafParent_tamperedLevel1Node_slashes_andAncestorsShowNoFault", async () => {
      const honest = treeNodes(honestTree(13, QUANTILE, WIDTH, 5), QUANTILE, WIDTH);
      const p = proposed(tamper(honest, 1, 4));
      const jobId = await jobWith(QUANTILE, p);
      // Its ancestors add up (the tamper was carried up consistently), and so does the root.
      await expectRevert(() => challenge(c, challenger, jobId, 0n, innerNodeWitness(p.tree, QUANTILE, 2, 2)), "NoFault", [jobId, 0n, 3]);
      await expectRevert(() => challenge(c, challenger, jobId, 0n, rootWitness(p.tree, QUANTILE, p.aggregate)), "NoFault", [jobId, 0n, 0]);
      const fault = findFaults(published(p), QUANTILE, WIDTH) as Witness;
      expect(fault.fn).to.equal("challengeLeafParent");
      expect(fault.args[0]).to.equal(4);
      await expectSlash(jobId, fault, 2);
    });

    it("test_challengeInnerNode_tamperedLevel2Node_slashes", async () => {
      const honest = treeNodes(honestTree(13, MEAN, WIDTH, 6), MEAN, WIDTH);
      const p = proposed(tamper(honest, 2, 1));
      const jobId = await jobWith(MEAN, p);
      await expectRevert(() => challenge(c, challenger, jobId, 0n, leafParentWitness(p.tree, MEAN, 2)), "NoFault", [jobId, 0n, 2]);
      const fault = findFaults(published(p), MEAN, WIDTH) as Witness;
      expect(fault.fn).to.equal("challengeInnerNode");
      expect(fault.args.slice(0, 2)).to.deep.equal([2, 1]);
      await expectSlash(jobId, fault, 3);
    });

    it("test_challengeCarriedLeafParent_nodeOverCarriedLeaf_slashes", async () => {
      // 5 leaves: the root (3, 0) pairs node (2, 0) with leaf 4, carried up from level 0.
      const honest = treeNodes(honestTree(5, COUNT, WIDTH, 7), COUNT, WIDTH);
      const p = proposed(tamper(honest, 3, 0, 1));
      const jobId = await jobWith(COUNT, p);
      const fault = findFaults(published(p), COUNT, WIDTH) as Witness;
      expect(fault.fn).to.equal("challengeCarriedLeafParent");
      await expectSlash(jobId, fault, 4);
    });

    it("test_challengeOrder_swappedOrDuplicateNullifiers_slashes", async () => {
      const result = honestTree(9, SUM, WIDTH, 8);
      const swap = result.leaves.slice();
      [swap[5], swap[6]] = [swap[6], swap[5]] as [(typeof swap)[0], (typeof swap)[0]];
      const swapped = proposed(rehashTree(treeNodes({ ...result, leaves: swap, levels: [] }, SUM, WIDTH)));
      const jobId = await jobWith(SUM, swapped);
      const fault = findFaults(published(swapped), SUM, WIDTH) as Witness;
      expect([fault.fn, fault.args[0]]).to.deep.equal(["challengeOrder", 5]);
      // The honest pair next to it is in order.
      await expectRevert(() => challenge(c, challenger, jobId, 0n, orderWitness(swapped.tree, 6)), "NoFault", [jobId, 0n, 5]);
      await expectSlash(jobId, fault, 5);

      const dup = result.leaves.map((l, i) => (i === 3 ? { ...l, nullifier: (result.leaves[2] as typeof l).nullifier } : l));
      const duplicated = proposed(rehashTree(treeNodes({ ...result, leaves: dup, levels: [] }, SUM, WIDTH)));
      const jobId2 = await postJob(SUM);
      await networkHelpers.time.increase(600);
      await propose(jobId2, duplicated);
      const dupFault = findFaults(published(duplicated), SUM, WIDTH) as Witness;
      expect([dupFault.fn, dupFault.args[0]]).to.deep.equal(["challengeOrder", 2]);
      await expectSlash(jobId2, dupFault, 5);
    });

    it("test_challengeLeafParent_malformedLeafPayload_slashes", async () => {
      const result = honestTree(4, SUM, WIDTH, 10);
      const bad = result.leaves.map((l, i) => (i === 1 ? { ...l, value: [...l.value, 7] } : l));
      const tree = treeNodes({ ...result, leaves: bad, levels: [] }, SUM, WIDTH);
      // The proposer sums only the first WIDTH entries of the long payload: everything above looks consistent.
      (tree.levels[1]?.[0] as { value: number[] }).value = (bad[0]?.value ?? []).map((x, k) => x + (bad[1]?.value[k] as number));
      (tree.levels[2]?.[0] as { value: number[] }).value = (tree.levels[1]?.[0]?.value ?? []).map(
        (x, k) => x + (tree.levels[1]?.[1]?.value[k] as number),
      );
      const p = proposed(rehashTree(tree));
      const jobId = await jobWith(SUM, p);
      const fault = findFaults(published(p), SUM, WIDTH) as Witness;
      expect(fault.fn).to.equal("challengeLeafParent");
      await expectSlash(jobId, fault, 2);
    });
  });

  describe("bad witnesses", () => {
    it("test_challenges_badWitnesses_namedErrors_stateUnchanged", async () => {
      const honest = treeNodes(honestTree(13, QUANTILE, WIDTH, 11), QUANTILE, WIDTH);
      const p = proposed(tamper(honest, 1, 1));
      const jobId = await jobWith(QUANTILE, p);
      const lp = leafParentWitness(p.tree, QUANTILE, 1);
      const [pos, node, left, right, path, edges] = lp.args as [
        number,
        InnerArg,
        LeafArg,
        LeafArg,
        { sibling: string; value: number[] }[],
        number[],
      ];
      const send = (...args: unknown[]) => challenge(c, challenger, jobId, 0n, { fn: "challengeLeafParent", args });
      await expectRevert(() => challenge(c, challenger, 99n, 0n, lp), "JobNotFound", [99n]);
      await expectRevert(() => challenge(c, challenger, jobId, 1n, lp), "ProposalNotFound", [jobId, 1n]);
      await expectRevert(() => send(6, node, left, right, path, edges), "NoSuchNode", [1, 6]);
      await expectRevert(() => send(2n ** 256n - 1n, node, left, right, path, edges), "NoSuchNode", [1, 2n ** 256n - 1n]);
      const badLeft = { ...left, payload: left.payload.map((x, k) => (k === 0 ? x + 1 : x)) };
      await expectRevert(() => send(pos, node, badLeft, right, path, edges), "ChildHashMismatch");
      await expectRevert(() => send(pos, node, left, right, path.slice(1), edges), "WrongPathLength", [path.length - 1, path.length]);
      await expectRevert(() => send(pos, node, left, right, [...path, path[0]], edges), "WrongPathLength", [path.length + 1, path.length]);
      const badPath = path.map((a, k) => (k === 1 ? { ...a, sibling: `0x${"ab".repeat(32)}` } : a));
      await expectRevert(() => send(pos, node, left, right, badPath, edges), "NotInTree");
      await expectRevert(() => send(0, innerOf(p.tree, 1, 0), ...leavesOf(p.tree, 0), path, edges), "NotInTree");
      await expectRevert(() => send(pos, node, left, right, path, [1, 2]), "EdgesMismatch");

      const inner = innerNodeWitness(p.tree, QUANTILE, 2, 0);
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeInnerNode", args: [1, ...inner.args.slice(1)] }),
        "InvalidLevel",
        [1],
      );
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeInnerNode", args: [2, 3, ...inner.args.slice(2)] }),
        "NoSuchNode",
        [2, 3],
      );
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeInnerNode", args: [9, 0, ...inner.args.slice(2)] }),
        "NoSuchNode",
        [9, 0],
      );
      const [, , n2, l2, r2, path2] = inner.args as [number, number, InnerArg, InnerArg, InnerArg, unknown[]];
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeInnerNode", args: [2, 0, n2, r2, l2, path2] }),
        "ChildHashMismatch",
        [
          n2.left,
          keccak256(AbiCoder.defaultAbiCoder().encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, r2.left, r2.right, r2.value])),
        ],
      );
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeCarriedLeafParent", args: [0, 0, n2, l2, left, path2, edges] }),
        "InvalidLevel",
      );
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeCarriedLeafParent", args: [2, 0, n2, l2, left, path2, edges] }),
        "WrongChildKind",
        [1, 1],
      );
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeCarriedLeafParent", args: [2, 7, n2, l2, left, path2, edges] }),
        "NoSuchNode",
      );

      const order = orderWitness(p.tree, 3);
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeOrder", args: [12, ...order.args.slice(1)] }),
        "NoSuchNode",
        [0, 12],
      );
      const [, a, pathA, b, pathB] = order.args as [number, LeafArg, unknown[], LeafArg, unknown[]];
      await expectRevert(() => challenge(c, challenger, jobId, 0n, { fn: "challengeOrder", args: [3, b, pathA, a, pathB] }), "NotInTree");
      await expectRevert(() => challenge(c, challenger, jobId, 0n, { fn: "challengeOrder", args: [3, a, pathB, b, pathB] }), "NotInTree");
      await expectRevert(() => challenge(c, challenger, jobId, 0n, order), "NoFault", [jobId, 0n, 5]);

      const root = rootWitness(p.tree, QUANTILE, p.aggregate);
      await expectRevert(() => challenge(c, challenger, jobId, 0n, { fn: "challengeRoot", args: [p.aggregate, n2] }), "NotInTree");
      await expectRevert(() => challenge(c, challenger, jobId, 0n, root), "NoFault", [jobId, 0n, 0]);
      await expectRevert(
        () => challenge(c, challenger, jobId, 0n, { fn: "challengeRootLeaf", args: [p.aggregate, left, edges] }),
        "UnexpectedCount",
        [jobId, 0n, 13],
      );

      // A one-leaf proposal: challengeRoot does not apply, and a leaf that is not the root is not in the tree.
      const single = proposed(treeNodes(honestTree(1, QUANTILE, WIDTH, 12), QUANTILE, WIDTH));
      await propose(jobId, single, other);
      await expectRevert(() => challenge(c, challenger, jobId, 1n, root), "UnexpectedCount", [jobId, 1n, 1]);
      await expectRevert(
        () => challenge(c, challenger, jobId, 1n, { fn: "challengeRootLeaf", args: [single.aggregate, left, edges] }),
        "NotInTree",
      );
      await expectRevert(() => challenge(c, challenger, jobId, 1n, rootWitness(single.tree, QUANTILE, single.aggregate)), "NoFault", [
        jobId,
        1n,
        1,
      ]);
      await expectRevert(
        () =>
          challenge(c, challenger, jobId, 1n, {
            fn: "challengeRootLeaf",
            args: [...rootWitness(single.tree, QUANTILE, single.aggregate).args.slice(0, 2), []],
          }),
        "EdgesMismatch",
      );

      // The window: challenges close at finalizeAfter, and a finalised job takes none.
      const job = await c.jobRegistry.getJob(jobId);
      await networkHelpers.time.increaseTo(job.finalizeAfter);
      await expectRevert(() => challenge(c, challenger, jobId, 0n, lp), "ChallengeWindowClosed", [jobId, job.finalizeAfter]);
      await (await c.jobRegistry.finalizeJob(jobId)).wait();
      await expectRevert(() => challenge(c, challenger, jobId, 0n, lp), "JobNotOpen", [jobId, 2]);
    });

    function innerOf(tree: TreeNodes, level: number, i: number): InnerArg {
      const below = tree.levels[level - 1] ?? [];
      return { left: below[2 * i]?.hash ?? "", right: below[2 * i + 1]?.hash ?? "", value: tree.levels[level]?.[i]?.value ?? [] };
    }

    function leavesOf(tree: TreeNodes, i: number): [LeafArg, LeafArg] {
      const arg = (k: number) => leafArg(tree.leaves[k] as Leaf);
      return [arg(2 * i), arg(2 * i + 1)];
    }
  });

  describe("finalisation", () => {
    it("test_finalizeJob_largestUnfaultedWins_bondsBack_faultedLoseBond", async () => {
      const jobId = await postJob(SUM);
      await networkHelpers.time.increase(600);
      const big = treeNodes(honestTree(8, SUM, WIDTH, 21), SUM, WIDTH);
      const bigBad = proposed(
        big,
        big.levels.at(-1)?.[0]?.value.map((x) => x + 5),
      );
      const small = proposed(treeNodes(honestTree(5, SUM, WIDTH, 22), SUM, WIDTH));
      await propose(jobId, bigBad, reducer); // index 0: 8 leaves, wrong aggregate
      await propose(jobId, small, other); // index 1: 5 leaves, honest
      const job = await c.jobRegistry.getJob(jobId);
      await expectRevert(() => c.jobRegistry.finalizeJob(jobId), "ChallengeWindowStillOpen", [jobId, job.finalizeAfter]);
      await networkHelpers.time.increaseTo(job.proposalDeadline);
      // Challenges still run after the proposal window, until finalizeAfter.
      await (await challenge(c, challenger, jobId, 0n, rootWitness(bigBad.tree, SUM, bigBad.aggregate))).wait();
      await expectRevert(() => c.jobRegistry.finalizeJob(jobId), "ChallengeWindowStillOpen", [jobId, job.finalizeAfter]);
      await networkHelpers.time.increaseTo(job.finalizeAfter);
      const otherAddress = await other.getAddress();
      await expect(c.jobRegistry.finalizeJob(jobId))
        .to.emit(c.jobRegistry, "JobFinalized")
        .withArgs(jobId, otherAddress, 1n, 5, REWARD)
        .and.to.emit(c.jobRegistry, "BondReturned")
        .withArgs(jobId, 1n, otherAddress, BOND);
      expect(await c.jobRegistry.balanceOf(otherAddress)).to.equal(REWARD + BOND);
      expect(await c.jobRegistry.balanceOf(await reducer.getAddress())).to.equal(0n);
      expect(await c.jobRegistry.openProposalsOf(await reducer.getAddress())).to.equal(0n);
      expect(await c.jobRegistry.openProposalsOf(otherAddress)).to.equal(0n);
      expect(await c.jobRegistry.winningProposal(jobId)).to.equal(1n);
    });

    it("test_finalizeJob_tiesGoToTheEarliest_allFaultedRefunds", async () => {
      const jobId = await postJob(SUM);
      await networkHelpers.time.increase(600);
      const a = proposed(treeNodes(honestTree(4, SUM, WIDTH, 31), SUM, WIDTH));
      const b = proposed(treeNodes(honestTree(4, SUM, WIDTH, 32), SUM, WIDTH));
      await propose(jobId, a, reducer);
      await propose(jobId, b, other);
      await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(jobId)).finalizeAfter);
      await expect(c.jobRegistry.finalizeJob(jobId))
        .to.emit(c.jobRegistry, "JobFinalized")
        .withArgs(jobId, await reducer.getAddress(), 0n, 4, REWARD);
      expect(await c.jobRegistry.balanceOf(await other.getAddress())).to.equal(0n);
      await (await c.jobRegistry.connect(challenger).claimBond(jobId, 1n)).wait();
      expect(await c.jobRegistry.balanceOf(await other.getAddress())).to.equal(BOND);

      const jobId2 = await postJob(SUM);
      await networkHelpers.time.increase(600);
      const bad = proposed(
        a.tree,
        a.aggregate.map((x) => x - 1),
      );
      await propose(jobId2, bad, reducer);
      await (await challenge(c, challenger, jobId2, 0n, rootWitness(bad.tree, SUM, bad.aggregate))).wait();
      await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(jobId2)).finalizeAfter);
      await expect(c.jobRegistry.finalizeJob(jobId2))
        .to.emit(c.jobRegistry, "JobRefunded")
        .withArgs(jobId2, await researcher.getAddress(), REWARD);
    });
  });

  describe("gas", () => {
    it("reports fraud-proof gas at 100,000 leaves", async () => {
      const N = 100_000;
      const W = 7;
      const result = honestTree(N, SUM, W, 2024);
      const honest = treeNodes(result, SUM, W);
      expect(honest.levels.length - 1, "depth").to.equal(17);
      const swap = result.leaves.slice();
      [swap[0], swap[1]] = [swap[1], swap[0]] as [(typeof swap)[0], (typeof swap)[0]];
      // 100,001 leaves: the last leaf is carried up from level 0, the only shape challengeCarriedLeafParent applies to.
      const odd = treeNodes(honestTree(N + 1, SUM, W, 2025), SUM, W);
      // Follow the last leaf up while it is carried; the node that finally pairs it is the one to tamper.
      let [carriedLevel, carriedAt] = [0, N];
      while ((odd.levels[carriedLevel]?.length ?? 0) % 2 === 1 && carriedAt === (odd.levels[carriedLevel]?.length ?? 0) - 1) {
        carriedLevel++;
        carriedAt >>= 1;
      }
      const [parentLevel, parentAt] = [carriedLevel + 1, carriedAt >> 1];
      const cases: [string, Proposed, (p: Proposed) => Witness][] = [
        [
          "challengeRoot",
          proposed(
            honest,
            honest.levels[17]?.[0]?.value.map((x) => x + 1),
          ),
          (p) => rootWitness(p.tree, SUM, p.aggregate),
        ],
        ["challengeLeafParent", proposed(tamper(honest, 1, 0)), (p) => leafParentWitness(p.tree, SUM, 0)],
        ["challengeInnerNode", proposed(tamper(honest, 2, 0)), (p) => innerNodeWitness(p.tree, SUM, 2, 0)],
        [
          "challengeOrder",
          proposed(rehashTree(treeNodes({ ...result, leaves: swap, levels: [] }, SUM, W))),
          (p) => orderWitness(p.tree, 0),
        ],
        [
          "challengeCarriedLeafParent (100,001 leaves)",
          proposed(tamper(odd, parentLevel, parentAt)),
          (p) => innerNodeWitness(p.tree, SUM, parentLevel, parentAt),
        ],
      ];
      const single = treeNodes(honestTree(1, SUM, W, 7), SUM, W);
      cases.push([
        "challengeRootLeaf (1 leaf)",
        proposed(
          single,
          single.levels[0]?.[0]?.value.map((x) => x + 1),
        ),
        (p) => rootWitness(p.tree, SUM, p.aggregate),
      ]);

      const jobIds: bigint[] = [];
      for (const _ of cases) jobIds.push(await postJob(SUM, W));
      await networkHelpers.time.increase(600);
      const figures: Record<string, number> = {};
      for (const [k, [name, p]] of cases.entries()) {
        const { commit, reveal } = await proposeResult(
          c.jobRegistry.connect(reducer),
          jobIds[k] as bigint,
          { aggregate: p.aggregate, count: p.tree.leaves.length, treeRoot: p.root, bundleCid: "b" },
          { bond: BOND },
        );
        if (k === 0) figures["commitResult + proposeResult"] = Number(commit.gasUsed + reveal.gasUsed);
        void name;
      }
      for (const [k, [name, p, witness]] of cases.entries()) {
        const w = witness(p);
        expect(w.fn).to.equal(name.split(" ")[0]);
        const receipt = await (await challenge(c, challenger, jobIds[k] as bigint, 0n, w)).wait();
        expect(receipt?.logs.length).to.equal(1);
        figures[name] = Number(receipt?.gasUsed);
      }
      console.log(`      gas at ${N.toLocaleString("en")} leaves, ${W}-entry sum payloads, depth 17:`);
      for (const [name, gas] of Object.entries(figures)) console.log(`        ${name.padEnd(44)} ${gas.toLocaleString("en")}`);
      for (const [name, gas] of Object.entries(figures)) expect(gas, name).to.be.at.most(600_000);
    });
  });

  describe("money", () => {
    it("test_moneyInvariant_randomActions_balanceEqualsWhatIsOwed", async () => {
      const actors = () => [reducer, other, challenger, researcher];
      /** A proposal made: its tree and the leaves' envelopes, to answer data requests on it. */
      interface ProposalMade {
        jobId: bigint;
        index: bigint;
        tree: TreeNodes;
        aggregate: number[];
        leaves: OpenableLeaf[];
      }
      /** Data requests made so far: their bonds are held while open. */
      let requests: { jobId: bigint; index: bigint; level: number; position: number; p: ProposalMade }[] = [];
      /**
       * Σ stakes + Σ unbonding + Σ live bonds + Σ open rewards + Σ balances + Σ bonds of open data requests, from the
       * contract's own getters.
       */
      async function owed(): Promise<bigint> {
        const r = c.jobRegistry;
        let total = 0n;
        for (const s of actors()) {
          const a = await s.getAddress();
          total += (await r.stakeOf(a)) + (await r.unbondingOf(a)).amount + (await r.balanceOf(a));
        }
        for (let j = 1n; j <= (await r.jobCount()); j++) {
          const job = await r.getJob(j);
          if (job.state === 1n) total += job.reward;
          // A bond is held from commitment until a fault, the winner's payout or claimBond (Closed or Forfeited).
          for (let k = 0n; k < (await r.proposalCount(j)); k++) {
            const p = await r.getProposal(j, k);
            if (!p.faulted && (p.state === 1n || p.state === 2n)) total += BOND;
          }
        }
        const requestBond = await r.dataRequestBond();
        for (const q of requests) {
          const request = await r.getDataRequest(q.jobId, q.index, q.level, q.position);
          if (request.state === 1n) total += requestBond;
        }
        return total;
      }
      /** One of the open requests if there are any (answered and settled ones only refuse), else any. */
      async function pickRequest(pick: number) {
        const open = [];
        for (const q of requests)
          if ((await c.jobRegistry.getDataRequest(q.jobId, q.index, q.level, q.position)).state === 1n) open.push(q);
        const from = open.length > 0 ? open : requests;
        return from[pick % Math.max(1, from.length)];
      }
      // Leaves whose envelopes hash to their CIDs, so leaf requests can be answered.
      const job = { chainId: 31_337n, registry: c.addresses.jobRegistry, jobId: 1n };
      const leafSets = await Promise.all([
        openableLeaves(2, WIDTH, 41, job),
        openableLeaves(3, WIDTH, 42, job),
        openableLeaves(7, WIDTH, 43, job),
      ]);
      const trees: ReduceResult[] = leafSets.map((set) =>
        reduceTree(
          set.map((o) => o.leaf),
          SUM,
          WIDTH,
        ),
      );
      const action = fc.oneof(
        fc.record({ t: fc.constant("stake" as const), who: fc.nat(3), eth: fc.integer({ min: 1, max: 5 }) }),
        fc.record({ t: fc.constant("unstake" as const), who: fc.nat(3), eth: fc.integer({ min: 1, max: 5 }) }),
        fc.record({ t: fc.constant("withdrawStake" as const), who: fc.nat(3) }),
        fc.record({ t: fc.constant("post" as const), eth: fc.integer({ min: 1, max: 3 }), open: fc.boolean() }),
        {
          weight: 6,
          arbitrary: fc.record({ t: fc.constant("propose" as const), who: fc.nat(3), job: fc.nat(5), tree: fc.nat(2), lie: fc.boolean() }),
        },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("challenge" as const), who: fc.nat(3), proposal: fc.nat(5) }) },
        { weight: 4, arbitrary: fc.record({ t: fc.constant("request" as const), who: fc.nat(3), proposal: fc.nat(5), node: fc.nat() }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("answer" as const), who: fc.nat(3), request: fc.nat(5) }) },
        { weight: 4, arbitrary: fc.record({ t: fc.constant("settle" as const), who: fc.nat(3), request: fc.nat(5) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("time" as const), seconds: fc.constantFrom(60, 300, 600, 3600, DAY_S) }) },
        fc.record({ t: fc.constant("finalize" as const), job: fc.nat(5) }),
        fc.record({ t: fc.constant("claim" as const), who: fc.nat(3), proposal: fc.nat(5) }),
        { weight: 2, arbitrary: fc.record({ t: fc.constant("withdraw" as const), who: fc.nat(3) }) },
      );
      const start = await networkHelpers.takeSnapshot();
      const succeeded: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 30, maxLength: 50 }), async (actions) => {
          await start.restore();
          const proposals: ProposalMade[] = [];
          requests = [];
          for (const a of actions) {
            const jobs = await c.jobRegistry.jobCount();
            let done: string | undefined = a.t; // undefined for an action with nothing to act on
            try {
              switch (a.t) {
                case "stake":
                  await (await c.jobRegistry.connect(actors()[a.who] as Signer).stake({ value: parseEther(String(a.eth)) })).wait();
                  break;
                case "unstake":
                  await (await c.jobRegistry.connect(actors()[a.who] as Signer).requestUnstake(parseEther(String(a.eth)))).wait();
                  break;
                case "withdrawStake":
                  await (await c.jobRegistry.connect(actors()[a.who] as Signer).withdrawStake()).wait();
                  break;
                case "post": {
                  const now = BigInt(await networkHelpers.time.latest());
                  await (
                    await c.jobRegistry
                      .connect(researcher)
                      .postJob(SPEC_DIGEST, groupId, 2, now + 60n, 600n, parseEther("1"), reduceParams(SUM, WIDTH), {
                        value: parseEther(String(a.eth)),
                      })
                  ).wait();
                  // Half the time go straight to the proposal window, or proposals would rarely meet one.
                  if (a.open) await networkHelpers.time.increase(60);
                  break;
                }
                case "propose": {
                  if (jobs === 0n) {
                    done = undefined;
                    break;
                  }
                  const jobId = 1n + (BigInt(a.job) % jobs);
                  const tree = treeNodes(trees[a.tree] as ReduceResult, SUM, WIDTH);
                  const honest = proposed(tree);
                  const p = a.lie ? { ...honest, aggregate: honest.aggregate.map((x) => x + 1) } : honest;
                  const index = await propose(jobId, p, actors()[a.who] as Signer);
                  proposals.push({ jobId, index, tree, aggregate: p.aggregate, leaves: leafSets[a.tree] as OpenableLeaf[] });
                  break;
                }
                case "challenge": {
                  const p = proposals[a.proposal % Math.max(1, proposals.length)];
                  if (p === undefined) {
                    done = undefined;
                    break;
                  }
                  await (await challenge(c, actors()[a.who] as Signer, p.jobId, p.index, rootWitness(p.tree, SUM, p.aggregate))).wait();
                  break;
                }
                case "request": {
                  const p = proposals[a.proposal % Math.max(1, proposals.length)];
                  if (p === undefined) {
                    done = undefined;
                    break;
                  }
                  // Any leaf or paired node, and now and then one the tree does not have.
                  const nodes = askableNodes(p.tree);
                  const [level, position] = nodes[a.node % (nodes.length + 1)] ?? [1, p.tree.leaves.length];
                  await (
                    await c.jobRegistry
                      .connect(actors()[a.who] as Signer)
                      .requestData(p.jobId, p.index, [{ level, position }], { value: await c.jobRegistry.dataRequestBond() })
                  ).wait();
                  requests.push({ jobId: p.jobId, index: p.index, level, position, p });
                  break;
                }
                case "answer": {
                  const q = await pickRequest(a.request);
                  if (q === undefined) {
                    done = undefined;
                    break;
                  }
                  const by = c.jobRegistry.connect(actors()[a.who] as Signer);
                  if (q.level === 0) {
                    const leaf = q.p.tree.leaves[q.position] as Leaf;
                    const envelope = q.p.leaves.find((o) => o.leaf.nullifier === leaf.nullifier)?.envelope;
                    const answer = by.getFunction("answerData") as unknown as (...args: unknown[]) => Promise<ContractTransactionResponse>;
                    const leafAnswer = { position: q.position, leaf: leafArg(leaf), path: ancestorsOf(q.p.tree, 0, q.position), envelope };
                    await (await answer(q.jobId, q.index, [leafAnswer], [])).wait();
                  } else {
                    const below = q.p.tree.levels[q.level - 1] ?? [];
                    const node = {
                      left: below[2 * q.position]?.hash ?? "",
                      right: below[2 * q.position + 1]?.hash ?? "",
                      value: q.p.tree.levels[q.level]?.[q.position]?.value ?? [],
                    };
                    const path = ancestorsOf(q.p.tree, q.level, q.position);
                    await (await by.answerData(q.jobId, q.index, [], [{ level: q.level, position: q.position, node, path }])).wait();
                  }
                  break;
                }
                case "settle": {
                  const q = await pickRequest(a.request);
                  if (q === undefined) {
                    done = undefined;
                    break;
                  }
                  const faulted = (await c.jobRegistry.getProposal(q.jobId, q.index)).faulted;
                  await (
                    await c.jobRegistry.connect(actors()[a.who] as Signer).settleDataRequest(q.jobId, q.index, q.level, q.position)
                  ).wait();
                  done = faulted ? "settle (refund)" : "settle (fault)";
                  break;
                }
                case "time":
                  await networkHelpers.time.increase(a.seconds);
                  break;
                case "claim": {
                  const p = proposals[a.proposal % Math.max(1, proposals.length)];
                  if (p === undefined) {
                    done = undefined;
                    break;
                  }
                  await (await c.jobRegistry.connect(actors()[a.who] as Signer).claimBond(p.jobId, p.index)).wait();
                  break;
                }
                case "finalize":
                  if (jobs === 0n) {
                    done = undefined;
                    break;
                  }
                  await (await c.jobRegistry.finalizeJob(1n + (BigInt(a.job) % jobs))).wait();
                  break;
                case "withdraw":
                  await (await c.jobRegistry.connect(actors()[a.who] as Signer).withdraw()).wait();
                  break;
              }
              if (done !== undefined) succeeded[done] = (succeeded[done] ?? 0) + 1;
            } catch (error) {
              // A refused action must be one of the contract's named errors, never a panic or a bare revert.
              expect(String((error as Error).message)).to.match(/reverted with custom error/);
            }
            expect(await ethers.provider.getBalance(c.addresses.jobRegistry), `after ${a.t}`).to.equal(await owed());
          }
        }),
        { seed: 424_242, numRuns: 40 },
      );
      console.log("      successful actions:", JSON.stringify(succeeded));
      // Every kind of action succeeded somewhere in the runs, so the invariant was checked across all of them.
      for (const t of [
        "stake",
        "unstake",
        "withdrawStake",
        "post",
        "propose",
        "challenge",
        "request",
        "answer",
        "settle (fault)",
        "settle (refund)",
        "finalize",
        "withdraw",
      ])
        expect(succeeded[t] ?? 0, `successful ${t}`).to.be.greaterThan(0);
    });
  });
});
