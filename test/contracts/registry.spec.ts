// Contract tests on Hardhat's in-process network: every function, every revert, state unchanged after each.
import { deployMosaic, type MosaicContracts, resultCommitment, specCidOf } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import { parseEther, type Signer } from "ethers";
import { network } from "hardhat";
import { proposeTree, SPEC_CID, SPEC_DIGEST } from "./fixture.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

describe("AvatarGroups and JobRegistry", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
  });
  let c: MosaicContracts;
  let deployer: Signer, reducer: Signer, researcher: Signer, member: Signer, other: Signer;
  let groupId: bigint;
  const DAY = 86_400n;
  const BOND = parseEther("0.01");
  const SUM2 = { kind: 0, payloadLength: 2, edges: [], min: [-100, -100], max: [100, 100] };

  async function snapshot(): Promise<string> {
    const n = await c.jobRegistry.jobCount();
    const jobs = [];
    for (let i = 1n; i <= n; i++) jobs.push(await c.jobRegistry.getJob(i));
    const accounts = await Promise.all(
      [reducer, researcher, other].map(async (s) => {
        const a = await s.getAddress();
        return [
          await c.jobRegistry.stakeOf(a),
          await c.jobRegistry.balanceOf(a),
          await c.jobRegistry.openProposalsOf(a),
          await c.jobRegistry.unbondingOf(a),
        ];
      }),
    );
    return JSON.stringify({ jobs, accounts, bal: await ethers.provider.getBalance(c.addresses.jobRegistry) }, (_k, v) =>
      typeof v === "bigint" ? v.toString() : v,
    );
  }

  async function expectRevert(call: () => Promise<unknown>, error: string): Promise<void> {
    const before = await snapshot();
    await expect(call()).to.be.revertedWithCustomError(c.jobRegistry, error);
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  async function postJob(
    overrides: Partial<{
      digest: string;
      group: bigint;
      min: number;
      deadline: bigint;
      window: bigint;
      minStake: bigint;
      value: bigint;
    }> = {},
  ) {
    const now = BigInt(await networkHelpers.time.latest());
    return c.jobRegistry
      .connect(researcher)
      .postJob(
        overrides.digest ?? SPEC_DIGEST,
        overrides.group ?? groupId,
        overrides.min ?? 1,
        overrides.deadline ?? now + 600n,
        overrides.window ?? 120n,
        overrides.minStake ?? parseEther("1"),
        SUM2,
        { value: overrides.value ?? parseEther("2") },
      );
  }

  beforeEach(async () => {
    [deployer, reducer, researcher, member, other] = (await ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer, Signer];
    c = await deployMosaic(deployer as Signer, { unbondingDelay: DAY, proposalBond: BOND });
    await (await c.avatarGroups.createGroup("test", c.addresses.openAdmission, "0x")).wait();
    groupId = 0n;
    await (await c.avatarGroups.connect(member).register(groupId, new Identity("m").commitment, "0x")).wait();
  });

  describe("stakes", () => {
    it("test_stake_aboveUint128_revertsValueTooLarge", async () => {
      // A stake shares its slot with the open-proposal count and unbonding time, so it is held in 128 bits.
      const max = 2n ** 128n - 1n;
      await networkHelpers.setBalance(await other.getAddress(), 2n ** 130n);
      await (await c.jobRegistry.connect(other).stake({ value: 1n })).wait();
      await expectRevert(() => c.jobRegistry.connect(other).stake({ value: max }), "ValueTooLarge");
      await expect(c.jobRegistry.connect(other).stake({ value: max }))
        .to.be.revertedWithCustomError(c.jobRegistry, "ValueTooLarge")
        .withArgs(max + 1n, max);
      await expect(c.jobRegistry.connect(other).stake({ value: max - 1n }))
        .to.emit(c.jobRegistry, "Staked")
        .withArgs(await other.getAddress(), max - 1n, max);
      expect(await c.jobRegistry.stakeOf(await other.getAddress())).to.equal(max);
      await expectRevert(() => c.jobRegistry.connect(other).stake({ value: 1n }), "ValueTooLarge");
    });

    it("test_requestUnstake_withdrawStake_keepPackedFieldsApart", async () => {
      const a = await reducer.getAddress();
      await (await c.jobRegistry.connect(reducer).stake({ value: parseEther("3") })).wait();
      await (await c.jobRegistry.connect(reducer).requestUnstake(parseEther("1"))).wait();
      const releaseAt = BigInt(await networkHelpers.time.latest()) + DAY;
      expect(await c.jobRegistry.stakeOf(a)).to.equal(parseEther("2"));
      expect(await c.jobRegistry.unbondingOf(a)).to.deep.equal([parseEther("1"), releaseAt]);
      expect(await c.jobRegistry.openProposalsOf(a)).to.equal(0n);
      await expectRevert(() => c.jobRegistry.connect(reducer).withdrawStake(), "StillUnbonding");
      // A proposal while unbonding counts in the same slot without touching the stake or the release time.
      await (await postJob()).wait();
      await networkHelpers.time.increase(600);
      await proposeTree(c, reducer, 1n, { aggregate: [5n, 0n], count: 1, treeRoot: `0x${"11".repeat(32)}` }, BOND);
      expect(await c.jobRegistry.openProposalsOf(a)).to.equal(1n);
      expect(await c.jobRegistry.stakeOf(a)).to.equal(parseEther("2"));
      expect(await c.jobRegistry.unbondingOf(a)).to.deep.equal([parseEther("1"), releaseAt]);
      await networkHelpers.time.increaseTo(releaseAt);
      await expect(c.jobRegistry.connect(reducer).withdrawStake()).to.changeEtherBalance(ethers, reducer, parseEther("1"));
      expect(await c.jobRegistry.unbondingOf(a)).to.deep.equal([0n, 0n]);
      expect(await c.jobRegistry.stakeOf(a)).to.equal(parseEther("2"));
      expect(await c.jobRegistry.openProposalsOf(a)).to.equal(1n);
      await expectRevert(() => c.jobRegistry.connect(reducer).withdrawStake(), "NothingUnbonding");
    });
  });

  describe("jobs", () => {
    it("test_postJob_escrowsRewardAndFixesGroupRoot", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const groupRoot = await c.avatarGroups.groupRoot(groupId);
      // The group id is only in the event; the chain keeps the spec's digest, which names the spec's CID.
      await expect(postJob({ deadline: now + 600n }))
        .to.emit(c.jobRegistry, "JobPosted")
        .withArgs(1n, await researcher.getAddress(), SPEC_DIGEST, groupId, groupRoot, parseEther("2"), now + 600n, now + 720n);
      const job = await c.jobRegistry.getJob(1n);
      expect(job.groupRoot).to.equal(groupRoot);
      expect(job.specDigest).to.equal(SPEC_DIGEST);
      expect(specCidOf(job.specDigest).toString()).to.equal(SPEC_CID);
      expect(job.reward).to.equal(parseEther("2"));
      expect(await ethers.provider.getBalance(c.addresses.jobRegistry)).to.equal(parseEther("2"));
    });
    it("test_postJob_rejectsBadInput", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      await expectRevert(() => postJob({ digest: `0x${"00".repeat(32)}` }), "ZeroSpecDigest");
      await expectRevert(() => postJob({ value: 0n }), "NoReward");
      await expectRevert(() => postJob({ min: 0 }), "ZeroMinParticipants");
      await expectRevert(() => postJob({ deadline: now - 1n }), "DeadlineInPast");
      await expectRevert(() => postJob({ window: 0n }), "InvalidChallengeWindow");
      await expectRevert(() => postJob({ window: DAY / 2n }), "InvalidChallengeWindow");
      await (await c.avatarGroups.createGroup("empty", c.addresses.openAdmission, "0x")).wait();
      await expectRevert(() => postJob({ group: 1n }), "GroupHasNoMembers");
      await expect(postJob({ group: 9n })).to.be.revertedWithCustomError(c.avatarGroups, "UnknownGroup");
      await expectRevert(() => c.jobRegistry.getJob(1n), "JobNotFound");
    });

    it("test_proposeResult_windowStakeAndReplay", async () => {
      await (await postJob()).wait();
      await (await c.jobRegistry.connect(reducer).stake({ value: parseEther("1") })).wait();
      const root = `0x${"11".repeat(32)}`;
      const commitFor = async (s: Signer, agg: bigint[] = [1n, -2n], count = 1, job = 1n) =>
        resultCommitment(await s.getAddress(), job, { aggregate: agg, count, treeRoot: root });
      const commit = async (s: Signer, agg: bigint[] = [1n, -2n], count = 1, job = 1n) =>
        c.jobRegistry.connect(s).commitResult(job, await commitFor(s, agg, count, job), { value: BOND });
      const reveal = (s: Signer, agg: bigint[] = [1n, -2n], count = 1, cid = "bafybundle") =>
        c.jobRegistry.connect(s).proposeResult(1n, 0n, agg, count, root, cid);
      await expectRevert(() => commit(reducer), "CollectionStillOpen");
      await networkHelpers.time.increase(600);
      await expectRevert(() => commit(other), "StakeTooLow");
      await expectRevert(() => commit(reducer, [1n, 2n], 1, 5n), "JobNotFound");
      await expectRevert(() => reveal(reducer), "ProposalNotFound");
      await (await commit(reducer)).wait();
      await expectRevert(() => commit(reducer), "AlreadyProposed");
      await expectRevert(() => reveal(reducer, []), "AggregateLengthMismatch");
      await expectRevert(() => reveal(reducer, new Array(257).fill(0n)), "AggregateLengthMismatch");
      await expectRevert(() => reveal(reducer, [1n, -2n], 2), "CountAboveGroupSize");
      await expectRevert(() => reveal(reducer, [1n, -2n], 0), "CountBelowMinimum");
      await expectRevert(() => reveal(reducer, [1n, -2n], 1, ""), "EmptyBundleCid");
      await expectRevert(() => reveal(other), "CommitmentMismatch");
      await expect(reveal(reducer)).to.emit(c.jobRegistry, "ResultProposed");
      await expectRevert(() => reveal(reducer), "WrongProposalState");
      // A reducer with an open proposal cannot start leaving.
      await expectRevert(() => c.jobRegistry.connect(reducer).requestUnstake(1n), "HasOpenProposals");
      await expectRevert(() => c.jobRegistry.finalizeJob(1n), "ChallengeWindowStillOpen");
      await expectRevert(() => c.jobRegistry.claimBond(1n, 0n), "JobStillOpen");
      await networkHelpers.time.increase(120);
      await expectRevert(() => c.jobRegistry.finalizeJob(1n), "ChallengeWindowStillOpen");
      await (await c.jobRegistry.connect(other).stake({ value: parseEther("1") })).wait();
      await expectRevert(() => commit(other), "ProposalWindowClosed");
    });

    it("test_finalizeJob_paysLargestProposal_thenPullPayment", async () => {
      await (await c.avatarGroups.connect(other).register(groupId, new Identity("o").commitment, "0x")).wait();
      await (await postJob()).wait();
      for (const s of [reducer, other]) await (await c.jobRegistry.connect(s).stake({ value: parseEther("1") })).wait();
      await networkHelpers.time.increase(600);
      await proposeTree(c, reducer, 1n, { aggregate: [5n, 0n], count: 1, treeRoot: `0x${"11".repeat(32)}` }, BOND);
      await proposeTree(c, other, 1n, { aggregate: [9n, 0n], count: 2, treeRoot: `0x${"22".repeat(32)}` }, BOND);
      await networkHelpers.time.increase(240);
      await expect(c.jobRegistry.finalizeJob(1n))
        .to.emit(c.jobRegistry, "JobFinalized")
        .withArgs(1n, await other.getAddress(), 1n, 2, parseEther("2"));
      expect(await c.jobRegistry.winningProposal(1n)).to.equal(1n);
      expect((await c.jobRegistry.getJob(1n)).winner).to.equal(1n);
      await expectRevert(() => c.jobRegistry.finalizeJob(1n), "JobNotOpen");
      // The reward and its bond back to the winner; the loser takes its bond back with claimBond.
      await expect(c.jobRegistry.connect(other).withdraw()).to.changeEtherBalance(ethers, other, parseEther("2") + BOND);
      await expectRevert(() => c.jobRegistry.connect(other).withdraw(), "NothingToWithdraw");
      expect(await c.jobRegistry.openProposalsOf(await reducer.getAddress())).to.equal(1n);
      await (await c.jobRegistry.claimBond(1n, 0n)).wait();
      expect(await c.jobRegistry.openProposalsOf(await reducer.getAddress())).to.equal(0n);
      expect(await c.jobRegistry.balanceOf(await reducer.getAddress())).to.equal(BOND);
      expect(await ethers.provider.getBalance(c.addresses.jobRegistry)).to.equal(parseEther("2") + BOND); // two stakes, one bond
    });

    it("test_finalizeJob_refundsWithoutRevealedProposals", async () => {
      await (await postJob({ min: 2 })).wait();
      await (await c.jobRegistry.connect(reducer).stake({ value: parseEther("1") })).wait();
      await networkHelpers.time.increase(840);
      await expect(c.jobRegistry.finalizeJob(1n)).to.emit(c.jobRegistry, "JobRefunded");
      expect(await c.jobRegistry.balanceOf(await researcher.getAddress())).to.equal(parseEther("2"));
      await expectRevert(() => c.jobRegistry.winningProposal(1n), "JobNotOpen");

      await (await postJob()).wait();
      await networkHelpers.time.increase(840);
      await expect(c.jobRegistry.finalizeJob(2n)).to.emit(c.jobRegistry, "JobRefunded");
      await expect(c.jobRegistry.connect(researcher).withdraw()).to.changeEtherBalance(ethers, researcher, parseEther("4"));
    });
  });
});
