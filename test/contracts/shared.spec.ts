// SharedJobs (issue 19's secret-shared mode) on Hardhat's in-process network: every function, every revert with state
// unchanged after it, the money paths, the share-set vectors the TypeScript tree is checked against, and an honest job
// end to end with real Semaphore proofs (made once in `before`, a second or two each, and reused).
import { readFileSync } from "node:fs";
import { Group, Identity } from "@mosaic/avatar";
import {
  deployMosaic,
  type JobRef,
  type MosaicContracts,
  NetworkFileError,
  networkFileFor,
  parseNetworkFile,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
} from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, keccak256, parseEther, type Signer, toUtf8Bytes, ZeroHash } from "ethers";
import fc from "fast-check";
import { network } from "hardhat";
import { type ShareLeaf, shareSetPath, shareSetRoot } from "../../packages/mapreduce/src/shared/share-set.js";
import { anyOrderShareSet, proveShareLeaf, SPEC_DIGEST, setGroupSize, shareLeafArg } from "./fixture.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;
type Snapshot = Awaited<ReturnType<Connection["networkHelpers"]["takeSnapshot"]>>;

const DAY = 86_400n;
const BOND = parseEther("0.01");
const STAKE = parseEther("1");
const REWARD = parseEther("2") + 1n; // odd: the leader takes the odd wei
const WINDOW = 120n;
const P64 = 18446744069414584321n;
const P128 = 340282366920938462946865773367900766209n;
const BURN = "0x000000000000000000000000000000000000dEaD";
const JOB1 = SHARED_JOB_ID_BASE + 1n;
// Made-up canonical keys: the last byte (u's most significant) has its top bit clear.
const KEY0 = `0x${"2a".repeat(32)}`;
const KEY1 = `0x${"3b".repeat(32)}`;
const KEY_OUTSIDER = `0x${"4c".repeat(32)}`;
/** The salt the tests' aggregators hash their shares with. */
const SALT = keccak256(toUtf8Bytes("mosaic shared test salt"));
const MIN_AGGREGATOR_STAKE = parseEther("1");

/** SharedJobs' enums. */
const STATE = { None: 0n, Open: 1n, Finalized: 2n, Refunded: 3n } as const;
const REASON = { None: 0n, TooFewParticipants: 1n, AggregatorMissing: 2n, SharesDisagree: 3n, FaultProven: 4n, ShareWithheld: 5n } as const;
const FAULT = { Order: 0n, Proof: 1n } as const;
const COMMIT = { None: 0n, Committed: 1n, Returned: 2n, Slashed: 3n, Revealed: 4n } as const;

/** commitShare's shareHash: keccak256(abi.encode(uint256 jobId, uint8 index, uint256[] noisedShare, bytes32 salt)). */
function shareHash(jobId: bigint, index: number, share: readonly bigint[], salt = SALT): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint8", "uint256[]", "bytes32"], [jobId, index, [...share], salt]));
}

interface LeafJson {
  nullifier: string;
  message: string;
  points: string[];
}
const VECTORS = JSON.parse(readFileSync(new URL("../vectors/share-set.json", import.meta.url), "utf8")) as {
  leafHashes: { leaf: LeafJson; hash: string }[];
  trees: { leaves: LeafJson[]; root: string; paths: string[][] }[];
};
const leafOf = (j: LeafJson): ShareLeaf => ({ nullifier: BigInt(j.nullifier), message: BigInt(j.message), points: j.points.map(BigInt) });

/** (x mod p) in [0, p). */
const mod = (x: bigint, p: bigint) => ((x % p) + p) % p;
/** Splits `aggregate` into two shares mod p (the first pseudo-random), as two aggregators' noised shares would be. */
function split(aggregate: readonly bigint[], p: bigint, seed: bigint): [bigint[], bigint[]] {
  const s0 = aggregate.map((_, j) => mod(seed * 0x9e3779b97f4a7c15n * BigInt(j + 1) + 12345n * BigInt(j), p));
  return [s0, aggregate.map((a, j) => mod(a - (s0[j] as bigint), p))];
}

describe("SharedJobs", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  let c: MosaicContracts & { sharedJobs: SharedJobs };
  let shared: SharedJobs;
  let deployer: Signer, researcher: Signer, agg0: Signer, agg1: Signer, outsider: Signer, challenger: Signer, unkeyed: Signer;
  let job1: JobRef;
  /** The four members' share-set leaves for job 1, real proofs, sorted by nullifier. */
  let leaves: ShareLeaf[];
  /** Member 0's leaf proved for job 2: a valid proof, but not job 1's scope. */
  let forJob2: ShareLeaf;
  let groupRoot: bigint;
  let base: Snapshot;

  before(async function () {
    this.timeout(300_000);
    ({ ethers, networkHelpers } = await network.connect());
    const signers = (await ethers.getSigners()) as unknown as Signer[];
    [deployer, researcher, agg0, agg1, outsider, challenger, unkeyed] = signers as [Signer, Signer, Signer, Signer, Signer, Signer, Signer];
    c = await deployMosaic(deployer, { unbondingDelay: DAY, proposalBond: BOND });
    shared = c.sharedJobs;
    const { chainId } = await ethers.provider.getNetwork();
    job1 = { chainId, registry: c.addresses.sharedJobs as string, jobId: JOB1 };

    await (await c.avatarGroups.createGroup("avatars", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.createGroup("empty", c.addresses.openAdmission, "0x")).wait();
    const members = [0, 1, 2, 3].map((i) => new Identity(`shared member ${i}`));
    for (const [i, m] of members.entries())
      await (await c.avatarGroups.connect(signers[10 + i] as Signer).register(0n, m.commitment, "0x")).wait();
    const group = new Group(members.map((m) => m.commitment));
    groupRoot = await c.avatarGroups.groupRoot(0n);
    expect(groupRoot).to.equal(group.root);

    const proved: ShareLeaf[] = [];
    for (const [i, m] of members.entries()) proved.push(await proveShareLeaf(m, group, job1, 1000n + BigInt(i) * (1n << 200n)));
    leaves = proved.sort((a, b) => (a.nullifier < b.nullifier ? -1 : 1));
    forJob2 = await proveShareLeaf(members[0] as Identity, group, { ...job1, jobId: JOB1 + 1n }, 7n);

    for (const s of [agg0, agg1, outsider, unkeyed]) await (await c.jobRegistry.connect(s).stake({ value: STAKE })).wait();
    await (await shared.connect(agg0).setAggregatorKey(KEY0)).wait();
    await (await shared.connect(agg1).setAggregatorKey(KEY1)).wait();
    await (await shared.connect(outsider).setAggregatorKey(KEY_OUTSIDER)).wait();
    base = await networkHelpers.takeSnapshot();
  });

  beforeEach(async () => {
    await base.restore();
  });

  // ------------------------------------------------------------------------------------------------- helpers

  const addr = (s: Signer) => s.getAddress();
  /** The signers' addresses, in order. */
  const addrs = <T extends Signer[]>(...s: T) => Promise.all(s.map(addr)) as Promise<{ [K in keyof T]: string }>;

  /** Every job, both commitments of each, every account's balance and key, and the contract's ether. */
  async function snapshot(): Promise<string> {
    const jobs: unknown[] = [];
    const n = await shared.jobCount();
    for (let id = SHARED_JOB_ID_BASE + 1n; id <= SHARED_JOB_ID_BASE + n; id++) {
      const job = await shared.getSharedJob(id);
      jobs.push([job, await shared.getCommit(id, 0), await shared.getCommit(id, 1)]);
      if (job.state === STATE.Finalized) jobs.push(await shared.resultOf(id));
    }
    const accounts = await Promise.all(
      [researcher, agg0, agg1, outsider, challenger, unkeyed].map(async (s) => [
        await shared.balanceOf(await addr(s)),
        await shared.aggregatorKeyOf(await addr(s)),
      ]),
    );
    return JSON.stringify(
      {
        n,
        jobs,
        accounts,
        ether: await ethers.provider.getBalance(c.addresses.sharedJobs as string),
        burnt: await ethers.provider.getBalance(BURN),
      },
      (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }

  /** Expects `call` to revert with SharedJobs' `error` (and its arguments, when given) and change nothing. */
  async function expectRevert(call: () => Promise<unknown>, error: string, args?: unknown[]): Promise<void> {
    const before = await snapshot();
    const assertion = expect(call()).to.be.revertedWithCustomError(shared, error);
    if (args === undefined) await assertion;
    else await assertion.withArgs(...args);
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  interface PostOverrides {
    digest: string;
    group: bigint;
    min: number;
    deadline: bigint;
    window: bigint;
    minStake: bigint;
    length: number;
    fieldId: number;
    aggregators: [string, string];
    value: bigint;
  }

  async function post(o: Partial<PostOverrides> = {}) {
    const now = BigInt(await networkHelpers.time.latest());
    return shared
      .connect(researcher)
      .postSharedJob(
        o.digest ?? SPEC_DIGEST,
        o.group ?? 0n,
        o.min ?? 2,
        o.deadline ?? now + 600n,
        o.window ?? WINDOW,
        o.minStake ?? STAKE,
        o.length ?? 3,
        o.fieldId ?? 1,
        o.aggregators ?? [await addr(agg0), await addr(agg1)],
        { value: o.value ?? REWARD },
      );
  }

  /** Posts a job and returns its id. */
  async function posted(o: Partial<PostOverrides> = {}): Promise<bigint> {
    await (await post(o)).wait();
    return SHARED_JOB_ID_BASE + (await shared.jobCount());
  }

  /** Moves chain time to the job's collection deadline (+ `after` seconds). */
  async function toDeadline(id: bigint, after = 0n): Promise<void> {
    await networkHelpers.time.increaseTo((await shared.getSharedJob(id)).collectionDeadline + after);
  }

  /** `by`'s aggregator index in job `id` (0 for someone who is not one, whose calls are refused anyway). */
  async function indexOf(by: Signer, id: bigint): Promise<number> {
    const n = await shared.jobCount();
    if (id <= SHARED_JOB_ID_BASE || id > SHARED_JOB_ID_BASE + n) return 0;
    return (await shared.getSharedJob(id)).aggregators[1] === (await addr(by)) ? 1 : 0;
  }

  /** commitShare of `set` with the hash of `share` (at `by`'s index, salted with SALT). */
  async function commit(
    by: Signer,
    id: bigint,
    set: { root: string; count: number },
    share: readonly bigint[],
    value = BOND,
    cid = "bafybundle",
  ) {
    return shared.connect(by).commitShare(id, set.root, set.count, shareHash(id, await indexOf(by, id), share), cid, { value });
  }

  function reveal(by: Signer, id: bigint, share: readonly bigint[], salt = SALT) {
    return shared.connect(by).revealShare(id, [...share], salt);
  }

  const honest = () => ({ root: shareSetRoot(leaves), count: leaves.length });

  // --------------------------------------------------------------------------------------------------- tests

  describe("deployment", () => {
    it("test_deployMosaic_sharedJobs_wiredToRegistryGroupsAndNetworkFile", async () => {
      expect(await shared.jobRegistry()).to.equal(c.addresses.jobRegistry);
      expect(await shared.avatarGroups()).to.equal(c.addresses.avatarGroups);
      expect(await shared.commitBond()).to.equal(BOND);
      expect(await shared.MIN_AGGREGATOR_STAKE()).to.equal(MIN_AGGREGATOR_STAKE);
      expect(await shared.modulusOf(0)).to.equal(P64);
      expect(await shared.modulusOf(1)).to.equal(P128);
      await expect(shared.modulusOf(2)).to.be.revertedWithCustomError(shared, "InvalidFieldId").withArgs(2);
      const file = networkFileFor({ name: "dev", chainId: 31337, rpc: "http://127.0.0.1:8545", addresses: c.addresses, deployBlock: 3 });
      expect(file.contracts.sharedJobs).to.deep.equal({ address: c.addresses.sharedJobs, deployBlock: 3 });
      // Older files without it still parse; a malformed one is refused by name.
      const { sharedJobs: _, ...older } = file.contracts;
      expect(parseNetworkFile({ ...file, contracts: older }, "old.json").contracts.sharedJobs).to.equal(undefined);
      expect(() =>
        parseNetworkFile({ ...file, contracts: { ...older, sharedJobs: { address: "0x12", deployBlock: 0 } } }, "bad.json"),
      ).to.throw(NetworkFileError, /contracts\.sharedJobs\.address/);
    });
  });

  describe("setAggregatorKey", () => {
    it("test_setAggregatorKey_zeroKey_revertsZeroKey", async () => {
      await expectRevert(() => shared.connect(agg0).setAggregatorKey(ZeroHash), "ZeroKey", []);
    });

    /** u as the 32 little-endian bytes an X25519 public key is written in. */
    const le = (u: bigint) => `0x${Buffer.from(u.toString(16).padStart(64, "0"), "hex").reverse().toString("hex")}`;
    const P25519 = (1n << 255n) - 19n;

    it("test_setAggregatorKey_lowOrderPoints_revertLowOrderKeyStateUnchanged", async () => {
      // The published small-order u-coordinates below p (cr.yp.to/ecdh.html, libsodium's has_small_order list).
      const lowOrder = [
        1n,
        325606250916557431795983626356110631294008115727848805560023387167927233504n,
        39382357235489614581723060781553021112529911719440698176882885853963445705823n,
        P25519 - 1n,
      ];
      expect(le(lowOrder[1] as bigint)).to.equal("0xe0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
      for (const u of lowOrder) await expectRevert(() => shared.connect(agg0).setAggregatorKey(le(u)), "LowOrderKey", [le(u)]);
      expect(await shared.aggregatorKeyOf(await addr(agg0))).to.equal(KEY0);
    });

    it("test_setAggregatorKey_nonCanonical_revertsNonCanonicalKeyStateUnchanged", async () => {
      // The top bit of u is the most significant bit of the LAST byte; p and p + 1 (≡ 0 and 1), and every u >= p.
      for (const u of [1n << 255n, (1n << 256n) - 1n, (1n << 255n) + 9n, P25519, P25519 + 1n, P25519 + 18n]) {
        await expectRevert(() => shared.connect(agg0).setAggregatorKey(le(u)), "NonCanonicalKey", [le(u)]);
      }
      await expectRevert(() => shared.connect(agg0).setAggregatorKey(`0x${"2a".repeat(31)}80`), "NonCanonicalKey");
      // A set top bit in the FIRST byte is u's least significant byte: a canonical key. So are p - 2 and a real key.
      const { x25519 } = await import("@noble/curves/ed25519");
      const real = `0x${Buffer.from(x25519.getPublicKey(x25519.utils.randomPrivateKey())).toString("hex")}`;
      for (const key of [`0x80${"2a".repeat(31)}`, le(P25519 - 2n), le(2n), real]) {
        await expect(shared.connect(agg0).setAggregatorKey(key))
          .to.emit(shared, "AggregatorKeySet")
          .withArgs(await addr(agg0), key);
        expect(await shared.aggregatorKeyOf(await addr(agg0))).to.equal(key);
      }
    });

    it("test_setAggregatorKey_replaces_postedJobKeepsTheKeyItRecorded", async () => {
      const id = await posted();
      const key = `0x${"5d".repeat(32)}`;
      await expect(shared.connect(agg0).setAggregatorKey(key))
        .to.emit(shared, "AggregatorKeySet")
        .withArgs(await addr(agg0), key);
      expect(await shared.aggregatorKeyOf(await addr(agg0))).to.equal(key);
      expect((await shared.getSharedJob(id)).aggregatorKeys).to.deep.equal([KEY0, KEY1]);
      expect((await shared.getSharedJob(await posted())).aggregatorKeys).to.deep.equal([key, KEY1]);
    });
  });

  describe("postSharedJob", () => {
    it("test_postSharedJob_recordsGroupAtPostAggregatorsAndKeys", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const [a0, a1] = [await addr(agg0), await addr(agg1)];
      await expect(post({ deadline: now + 600n }))
        .to.emit(shared, "SharedJobPosted")
        .withArgs(JOB1, await addr(researcher), SPEC_DIGEST, 0n, groupRoot, 4, REWARD)
        .and.to.emit(shared, "SharedJobParams")
        .withArgs(JOB1, [a0, a1], [KEY0, KEY1], 3, 1, 2, now + 600n, now + 720n, now + 840n);
      const job = await shared.getSharedJob(JOB1);
      expect(job.researcher).to.equal(await addr(researcher));
      expect(job.reward).to.equal(REWARD);
      expect(job.aggregators).to.deep.equal([a0, a1]);
      expect(job.aggregatorKeys).to.deep.equal([KEY0, KEY1]);
      expect(job.specDigest).to.equal(SPEC_DIGEST);
      expect(job.groupRoot).to.equal(groupRoot);
      expect(job.groupSize).to.equal(4n);
      expect(job.minParticipants).to.equal(2n);
      expect([job.collectionDeadline, job.commitDeadline, job.finalizeAfter, job.challengeWindow]).to.deep.equal([
        now + 600n,
        now + 720n,
        now + 840n,
        WINDOW,
      ]);
      expect(job.minStake).to.equal(STAKE);
      expect([job.shareLength, job.fieldId, job.state, job.refundReason]).to.deep.equal([3n, 1n, STATE.Open, REASON.None]);
      expect(await shared.jobCount()).to.equal(1n);
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(REWARD);
      // The group grows after posting: the job keeps its root and size.
      await (await c.avatarGroups.connect(challenger).register(0n, new Identity("late").commitment, "0x")).wait();
      expect((await shared.getSharedJob(JOB1)).groupRoot).to.equal(groupRoot);
      expect((await shared.getSharedJob(JOB1)).groupSize).to.equal(4n);
      expect(await posted()).to.equal(JOB1 + 1n);
      expect((await shared.getSharedJob(JOB1 + 1n)).groupSize).to.equal(5n);
    });

    it("test_postSharedJob_badInput_namedErrorStateUnchanged", async () => {
      const now = BigInt(await networkHelpers.time.latest());
      const [a0, a1, out, un] = await addrs(agg0, agg1, outsider, unkeyed);
      const broke = await addr(challenger);
      await expectRevert(() => post({ digest: ZeroHash }), "ZeroSpecDigest", []);
      await expectRevert(() => post({ value: 0n }), "NoReward", []);
      await expectRevert(() => post({ minStake: 1n << 96n }), "ValueTooLarge", [1n << 96n, (1n << 96n) - 1n]);
      await expectRevert(() => post({ min: 0 }), "ZeroMinParticipants", []);
      await expectRevert(() => post({ deadline: now - 1n }), "DeadlineInPast");
      const lastDeadline = (1n << 64n) - 1n - 2n * WINDOW;
      await expectRevert(() => post({ deadline: lastDeadline + 1n }), "DeadlineTooLate", [lastDeadline + 1n, WINDOW]);
      await expectRevert(() => post({ window: 59n }), "InvalidChallengeWindow", [59n, DAY]);
      await expectRevert(() => post({ window: DAY / 2n }), "InvalidChallengeWindow", [DAY / 2n, DAY]);
      await expectRevert(() => post({ length: 0 }), "InvalidLength", [0]);
      await expectRevert(() => post({ length: 257 }), "InvalidLength", [257]);
      await expectRevert(() => post({ fieldId: 2 }), "InvalidFieldId", [2]);
      await expectRevert(() => post({ aggregators: [a0, a0] }), "SameAggregator", [a0]);
      await expectRevert(() => post({ aggregators: [a0, broke] }), "StakeTooLow", [broke, 0n, STAKE]);
      await expectRevert(() => post({ aggregators: [broke, a1], minStake: 0n }), "StakeTooLow", [broke, 0n, MIN_AGGREGATOR_STAKE]);
      await expectRevert(() => post({ minStake: STAKE + 1n }), "StakeTooLow", [a0, STAKE, STAKE + 1n]);
      await expectRevert(() => post({ aggregators: [out, un] }), "NoAggregatorKey", [un]);
      await expectRevert(() => post({ group: 1n }), "GroupHasNoMembers", [1n]);
      // The researcher cannot be an aggregator (whether it is staked and keyed or not).
      const res = await addr(researcher);
      await expectRevert(() => post({ aggregators: [res, a1] }), "ResearcherIsAggregator", [res]);
      await expectRevert(() => post({ aggregators: [a0, res] }), "ResearcherIsAggregator", [res]);
      await expect(post({ group: 9n })).to.be.revertedWithCustomError(c.avatarGroups, "UnknownGroup");
      for (const id of [0n, 1n, SHARED_JOB_ID_BASE, JOB1]) await expectRevert(() => shared.getSharedJob(id), "JobNotFound", [id]);
      // The latest deadline whose windows still fit.
      await expect(post({ deadline: lastDeadline })).to.emit(shared, "SharedJobPosted");
      expect((await shared.getSharedJob(JOB1)).finalizeAfter).to.equal((1n << 64n) - 1n);
    });

    it("test_postSharedJob_researcherCannotAdmitItsOwnCheapOrTwinAggregators", async () => {
      const signers = (await ethers.getSigners()) as unknown as Signer[];
      const [cheap0, cheap1] = [signers[7], signers[8]] as [Signer, Signer];
      const [c0, c1, a0, un] = await addrs(cheap0, cheap1, agg0, unkeyed);
      // Two operators the researcher staked 1 wei each for: refused whatever minStake the job asks.
      for (const [s, key] of [
        [cheap0, `0x${"6e".repeat(32)}`],
        [cheap1, `0x${"7f".repeat(32)}`],
      ] as const) {
        await (await c.jobRegistry.connect(s).stake({ value: 1n })).wait();
        await (await shared.connect(s).setAggregatorKey(key)).wait();
      }
      await expectRevert(() => post({ aggregators: [c0, c1], minStake: 1n }), "StakeTooLow", [c0, 1n, MIN_AGGREGATOR_STAKE]);
      await expectRevert(() => post({ aggregators: [c0, c1], minStake: 0n }), "StakeTooLow", [c0, 1n, MIN_AGGREGATOR_STAKE]);
      await expectRevert(() => post({ aggregators: [a0, c1], minStake: 0n }), "StakeTooLow", [c1, 1n, MIN_AGGREGATOR_STAKE]);
      // Staked to exactly MIN_AGGREGATOR_STAKE they are admitted; a higher minStake still binds.
      await (await c.jobRegistry.connect(cheap0).stake({ value: MIN_AGGREGATOR_STAKE - 1n })).wait();
      await expectRevert(() => post({ aggregators: [c0, a0], minStake: STAKE + 1n }), "StakeTooLow", [c0, STAKE, STAKE + 1n]);
      await expect(post({ aggregators: [c0, a0], minStake: 0n })).to.emit(shared, "SharedJobPosted");
      // Two operators sharing one key (one party behind both): refused.
      await (await shared.connect(unkeyed).setAggregatorKey(KEY0)).wait();
      await expectRevert(() => post({ aggregators: [a0, un] }), "SameAggregatorKey", [KEY0]);
      await expectRevert(() => post({ aggregators: [un, a0] }), "SameAggregatorKey", [KEY0]);
    });
  });

  describe("announcePrep", () => {
    it("test_announcePrep_onlyAggregatorsOnceInTheWindow", async () => {
      const id = await posted();
      await expectRevert(() => shared.connect(agg0).announcePrep(id, "bafyprep0"), "CollectionStillOpen");
      await toDeadline(id);
      await expectRevert(() => shared.connect(outsider).announcePrep(id, "bafyprep0"), "NotAggregator", [id, await addr(outsider)]);
      await expectRevert(() => shared.connect(researcher).announcePrep(id, "bafyprep0"), "NotAggregator");
      await expectRevert(() => shared.connect(agg0).announcePrep(id + 1n, "bafyprep0"), "JobNotFound", [id + 1n]);
      await expectRevert(() => shared.connect(agg0).announcePrep(id, ""), "EmptyCid", []);
      await expect(shared.connect(agg0).announcePrep(id, "bafyprep0"))
        .to.emit(shared, "PrepAnnounced")
        .withArgs(id, 0, await addr(agg0), "bafyprep0");
      await expectRevert(() => shared.connect(agg0).announcePrep(id, "bafyother"), "PrepAlreadyAnnounced", [id, 0]);
      expect(await shared.prepOf(id, 0)).to.equal("bafyprep0");
      expect(await shared.prepOf(id, 1)).to.equal("");
      await expect(shared.connect(agg1).announcePrep(id, "bafyprep1"))
        .to.emit(shared, "PrepAnnounced")
        .withArgs(id, 1, await addr(agg1), "bafyprep1");
      const c1 = await shared.getCommit(id, 1);
      expect([c1.prepAnnounced, c1.prepCid, c1.state]).to.deep.equal([true, "bafyprep1", COMMIT.None]);
      await expectRevert(() => shared.prepOf(id, 2), "InvalidAggregatorIndex", [2]);
      const late = await posted();
      await toDeadline(late, WINDOW);
      await expectRevert(() => shared.connect(agg0).announcePrep(late, "bafyprep0"), "CommitWindowClosed", [
        late,
        (await shared.getSharedJob(late)).commitDeadline,
      ]);
    });
  });

  describe("commitShare", () => {
    it("test_commitShare_badInput_namedErrorStateUnchanged", async () => {
      const id = await posted();
      const set = honest();
      const share = [1n, 2n, 3n];
      await expectRevert(() => commit(agg0, id, set, share), "CollectionStillOpen");
      await toDeadline(id);
      await expectRevert(() => commit(agg0, id + 1n, set, share), "JobNotFound");
      await expectRevert(() => commit(outsider, id, set, share), "NotAggregator", [id, await addr(outsider)]);
      await expectRevert(() => commit(agg0, id, set, share, 0n), "WrongBond", [0n, BOND]);
      await expectRevert(() => commit(agg0, id, set, share, BOND + 1n), "WrongBond", [BOND + 1n, BOND]);
      await expectRevert(() => commit(agg0, id, { ...set, count: 5 }, share), "CountAboveGroupSize", [5, 4]);
      await expectRevert(() => commit(agg0, id, { root: set.root, count: 0 }, share), "RootCountMismatch", [set.root, 0]);
      await expectRevert(() => commit(agg0, id, { root: ZeroHash, count: 2 }, share), "RootCountMismatch", [ZeroHash, 2]);
      await expectRevert(() => commit(agg0, id, set, share, BOND, ""), "EmptyCid", []);
      // The share goes on-chain only by its hash: the other aggregator cannot read it before committing its own.
      const hash = shareHash(id, 0, [P128 - 1n, 0n, 3n]);
      const sent = commit(agg0, id, set, [P128 - 1n, 0n, 3n]);
      await expect(sent)
        .to.emit(shared, "ShareCommitted")
        .withArgs(id, 0, await addr(agg0), set.root, 4, hash, "bafybundle");
      await expect(sent).not.to.emit(shared, "ShareRevealed");
      const c0 = await shared.getCommit(id, 0);
      expect([c0.state, c0.count, c0.shareSetRoot, c0.shareHash, c0.bundleCid, c0.prepAnnounced, c0.revealed]).to.deep.equal([
        COMMIT.Committed,
        4n,
        set.root,
        hash,
        "bafybundle",
        false,
        false,
      ]);
      // Replays: the same aggregator again, and its exact call copied by someone who is not an aggregator.
      await expectRevert(() => commit(agg0, id, set, [P128 - 1n, 0n, 3n]), "AlreadyCommitted", [id, 0]);
      await expectRevert(() => commit(outsider, id, set, [P128 - 1n, 0n, 3n]), "NotAggregator");
      await expectRevert(() => commit(researcher, id, set, [P128 - 1n, 0n, 3n]), "NotAggregator");
      await expectRevert(() => shared.getCommit(id, 2), "InvalidAggregatorIndex", [2]);
      await toDeadline(id, WINDOW);
      await expectRevert(() => commit(agg1, id, set, share), "CommitWindowClosed");
    });

    it("test_commitShare_emptySetAccepted_neverRevealed", async () => {
      const id = await posted({ fieldId: 0, length: 2 });
      await toDeadline(id);
      // An aggregator that accepted nothing commits the empty set (root zero, count zero): finalize refunds it.
      const empty = { root: ZeroHash, count: 0 };
      await expect(commit(agg1, id, empty, [P64 - 1n, 0n])).to.emit(shared, "ShareCommitted");
      await (await commit(agg0, id, empty, [1n, 0n])).wait();
      // Both agree on no reports: below minParticipants, so nothing is revealed and nobody is slashed.
      await expectRevert(() => reveal(agg1, id, [P64 - 1n, 0n]), "TooFewToReveal", [id, 0, 2]);
      await toDeadline(id, 2n * WINDOW);
      await expect(shared.finalize(id))
        .to.emit(shared, "SharedJobRefunded")
        .withArgs(id, await addr(researcher), REWARD, REASON.TooFewParticipants)
        .and.not.to.emit(shared, "WithholderSlashed");
      expect(await shared.balanceOf(await addr(agg1))).to.equal(BOND);
    });
  });

  describe("revealShare", () => {
    it("test_revealShare_badInput_namedErrorStateUnchanged", async () => {
      const id = await posted();
      const set = honest();
      const [s0, s1] = [
        [P128 - 1n, 0n, 3n],
        [4n, 5n, 6n],
      ];
      await toDeadline(id);
      await expectRevert(() => reveal(agg0, id, s0), "NotBothCommitted", [id, COMMIT.None, COMMIT.None]);
      await (await commit(agg0, id, set, s0)).wait();
      // Before both committed: the one that committed cannot reveal (the other could still choose its share).
      await expectRevert(() => reveal(agg0, id, s0), "NotBothCommitted", [id, COMMIT.Committed, COMMIT.None]);
      await expectRevert(() => reveal(agg1, id, s1), "NotBothCommitted", [id, COMMIT.Committed, COMMIT.None]);
      await (await commit(agg1, id, set, s1)).wait();
      const [a0, _a1, out] = await addrs(agg0, agg1, outsider);
      const committed0 = shareHash(id, 0, s0);
      await expectRevert(() => reveal(outsider, id, s0), "NotAggregator", [id, out]);
      await expectRevert(() => reveal(researcher, id, s0), "NotAggregator");
      await expectRevert(() => reveal(agg0, id + 1n, s0), "JobNotFound", [id + 1n]);
      await expectRevert(() => reveal(agg0, id, [P128 - 1n, 0n]), "ShareLengthMismatch", [2n, 3]);
      await expectRevert(() => reveal(agg0, id, [...s0, 0n]), "ShareLengthMismatch", [4n, 3]);
      // A wrong salt, a wrong share, and the share hashed for the other index: each hash named beside the committed.
      const wrongSalt = keccak256(toUtf8Bytes("another salt"));
      await expectRevert(() => reveal(agg0, id, s0, wrongSalt), "ShareHashMismatch", [id, 0, shareHash(id, 0, s0, wrongSalt), committed0]);
      await expectRevert(() => reveal(agg0, id, [P128 - 2n, 0n, 3n]), "ShareHashMismatch", [
        id,
        0,
        shareHash(id, 0, [P128 - 2n, 0n, 3n]),
        committed0,
      ]);
      await expectRevert(() => reveal(agg0, id, s1), "ShareHashMismatch", [id, 0, shareHash(id, 0, s1), committed0]);
      await expect(reveal(agg0, id, s0))
        .to.emit(shared, "ShareRevealed")
        .withArgs(id, 0, a0, s0);
      const c0 = await shared.getCommit(id, 0);
      expect([c0.state, c0.revealed, c0.shareHash]).to.deep.equal([COMMIT.Revealed, true, committed0]);
      await expectRevert(() => reveal(agg0, id, s0), "AlreadyRevealed", [id, 0]);
      // Everything public now (agg0's share and salt from its calldata) is of no use to anyone else.
      await expectRevert(() => reveal(agg1, id, s0), "ShareHashMismatch", [id, 1, shareHash(id, 1, s0), shareHash(id, 1, s1)]);
      await expectRevert(() => reveal(outsider, id, s1), "NotAggregator");
      // Reveals stay open to finalizeAfter, not after.
      const { finalizeAfter } = await shared.getSharedJob(id);
      await networkHelpers.time.increaseTo(finalizeAfter);
      await expectRevert(() => reveal(agg1, id, s1), "RevealWindowClosed", [id, finalizeAfter]);
      expect((await shared.getCommit(id, 1)).state).to.equal(COMMIT.Committed);
    });

    it("test_revealShare_lastSecondBeforeFinalizeAfter_accepted", async () => {
      const id = await posted();
      await toDeadline(id);
      await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
      await (await commit(agg1, id, honest(), [4n, 5n, 6n])).wait();
      const { finalizeAfter } = await shared.getSharedJob(id);
      await networkHelpers.time.setNextBlockTimestamp(finalizeAfter - 1n);
      await expect(reveal(agg1, id, [4n, 5n, 6n])).to.emit(shared, "ShareRevealed");
    });

    it("test_revealShare_elementNotInField_namedErrorStateUnchanged", async () => {
      // A share hashed with an element at or above p can be committed but never revealed (ShareWithheld at finalize).
      for (const [fieldId, p] of [
        [1, P128],
        [0, P64],
      ] as const) {
        const id = await posted({ fieldId });
        await toDeadline(id);
        const bad = [1n, p, 3n];
        const huge = [1n, 2n, (1n << 256n) - 1n];
        await (await commit(agg0, id, honest(), bad)).wait();
        await (await shared.connect(agg1).commitShare(id, honest().root, 4, shareHash(id, 1, huge), "bafybundle", { value: BOND })).wait();
        await expectRevert(() => reveal(agg0, id, bad), "ElementNotInField", [1n, p, p]);
        await expectRevert(() => reveal(agg1, id, huge), "ElementNotInField", [2n, (1n << 256n) - 1n, p]);
      }
      // Field128 elements are too big for a Field64 job.
      const id = await posted({ fieldId: 0, length: 2 });
      await toDeadline(id);
      await (await commit(agg0, id, honest(), [0n, P128 - 1n])).wait();
      await (await commit(agg1, id, honest(), [0n, 1n])).wait();
      await expectRevert(() => reveal(agg0, id, [0n, P128 - 1n]), "ElementNotInField", [1n, P128 - 1n, P64]);
    });

    it("test_revealShare_disagreeingOrTooFewCommitments_refusedNothingPublished", async () => {
      const id = await posted();
      await toDeadline(id);
      const other = { root: shareSetRoot(leaves.slice(0, 3)), count: 3 };
      await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
      await (await commit(agg1, id, other, [4n, 5n, 6n])).wait();
      const set = honest();
      for (const [by, share] of [
        [agg0, [1n, 2n, 3n]],
        [agg1, [4n, 5n, 6n]],
      ] as const)
        await expectRevert(() => reveal(by, id, share), "CommitmentsDisagree", [id, set.root, set.count, other.root, other.count]);
      const few = await posted({ min: 4 });
      await toDeadline(few);
      await (await commit(agg0, few, other, [1n, 2n, 3n])).wait();
      await (await commit(agg1, few, other, [4n, 5n, 6n])).wait();
      await expectRevert(() => reveal(agg0, few, [1n, 2n, 3n]), "TooFewToReveal", [few, 3, 4]);
    });
  });

  describe("fraud proofs", () => {
    /** Job 1 with aggregator 0's honest share set and aggregator 1's `bad` one (leaves in the order given). */
    async function withBadSet(bad: ShareLeaf[]) {
      const id = await posted();
      await toDeadline(id);
      await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
      const tree = anyOrderShareSet(bad);
      await (await commit(agg1, id, { root: tree.root, count: bad.length }, [4n, 5n, 6n])).wait();
      return { id, tree };
    }

    async function expectFaulted(sent: Promise<unknown>, id: bigint, kind: bigint) {
      const [a0, a1, ch, res] = await addrs(agg0, agg1, challenger, researcher);
      await expect(sent)
        .to.emit(shared, "AggregatorFaulted")
        .withArgs(id, 1, a1, ch, kind, BOND, BOND / 2n, BOND / 2n)
        .and.to.emit(shared, "SharedJobRefunded")
        .withArgs(id, res, REWARD, REASON.FaultProven)
        .and.to.emit(shared, "BondReturned")
        .withArgs(id, 0, a0, BOND);
      const job = await shared.getSharedJob(id);
      expect([job.state, job.refundReason]).to.deep.equal([STATE.Refunded, REASON.FaultProven]);
      expect((await shared.getCommit(id, 1)).state).to.equal(COMMIT.Slashed);
      expect((await shared.getCommit(id, 0)).state).to.equal(COMMIT.Returned);
      expect(await shared.balanceOf(ch)).to.equal(BOND / 2n);
      expect(await shared.balanceOf(res)).to.equal(REWARD);
      expect(await shared.balanceOf(a0)).to.equal(BOND);
      expect(await shared.balanceOf(a1)).to.equal(0n);
      // The contract holds exactly what it owes: the slashed half was burned.
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(REWARD + BOND + BOND / 2n);
      await expectRevert(() => shared.finalize(id), "JobNotOpen", [id, STATE.Refunded]);
      await expectRevert(() => commit(agg1, id, honest(), [1n, 2n, 3n]), "JobNotOpen");
    }

    it("test_challengeShareOrder_swappedLeaves_slashesHalfToChallengerHalfBurnedAndRefunds", async () => {
      const bad = [leaves[0], leaves[2], leaves[1], leaves[3]] as ShareLeaf[];
      const { id, tree } = await withBadSet(bad);
      const sent = shared
        .connect(challenger)
        .challengeShareOrder(id, 1, 1, shareLeafArg(bad[1] as ShareLeaf), tree.path(1), shareLeafArg(bad[2] as ShareLeaf), tree.path(2));
      await expect(sent).to.changeEtherBalance(ethers, BURN, BOND / 2n);
      await expectFaulted(Promise.resolve(sent), id, FAULT.Order);
      // The challenger's reward is a pull payment, once.
      await expect(shared.connect(challenger).withdraw()).to.changeEtherBalance(ethers, challenger, BOND / 2n);
      await expectRevert(() => shared.connect(challenger).withdraw(), "NothingToWithdraw", [await addr(challenger)]);
    });

    it("test_challengeShareOrder_duplicateNullifier_faults", async () => {
      const twin = { ...(leaves[1] as ShareLeaf), message: 99n };
      const bad = [leaves[0], leaves[1], twin] as ShareLeaf[];
      const { id, tree } = await withBadSet(bad);
      await expectFaulted(
        shared
          .connect(challenger)
          .challengeShareOrder(id, 1, 1, shareLeafArg(bad[1] as ShareLeaf), tree.path(1), shareLeafArg(twin), tree.path(2)),
        id,
        FAULT.Order,
      );
    });

    it("test_challengeShareOrder_afterBothRevealed_stillSlashesAndRefunds", async () => {
      // Both committed (and revealed) the same out-of-order set: the reveal opened the shares, not the set's fault.
      const bad = [leaves[0], leaves[2], leaves[1], leaves[3]] as ShareLeaf[];
      const tree = anyOrderShareSet(bad);
      const id = await posted();
      await toDeadline(id);
      for (const [by, share] of [
        [agg0, [1n, 2n, 3n]],
        [agg1, [4n, 5n, 6n]],
      ] as const)
        await (await commit(by, id, { root: tree.root, count: 4 }, share)).wait();
      await (await reveal(agg0, id, [1n, 2n, 3n])).wait();
      await (await reveal(agg1, id, [4n, 5n, 6n])).wait();
      await expectFaulted(
        shared
          .connect(challenger)
          .challengeShareOrder(id, 1, 1, shareLeafArg(bad[1] as ShareLeaf), tree.path(1), shareLeafArg(bad[2] as ShareLeaf), tree.path(2)),
        id,
        FAULT.Order,
      );
      expect((await shared.getCommit(id, 1)).revealed).to.equal(true);
    });

    it("test_challengeShareOrder_hostileWitness_namedErrorStateUnchanged", async () => {
      const bad = [leaves[0], leaves[2], leaves[1]] as ShareLeaf[];
      const { id, tree } = await withBadSet(bad);
      const arg = (i: number) => shareLeafArg(bad[i] as ShareLeaf);
      const order = (index: number, position: number, a: ReturnType<typeof arg>, pa: string[], b: ReturnType<typeof arg>, pb: string[]) =>
        shared.connect(challenger).challengeShareOrder(id, index, position, a, pa, b, pb);
      // The honest aggregator's adjacent leaves are in order: no fault.
      const honestPath = (i: number) => shareSetPath(leaves, i);
      const h = (i: number) => shareLeafArg(leaves[i] as ShareLeaf);
      await expectRevert(() => order(0, 0, h(0), honestPath(0), h(1), honestPath(1)), "NoFault", [id, 0, FAULT.Order]);
      // Leaves 0 and 1 of the bad set are in order too.
      await expectRevert(() => order(1, 0, arg(0), tree.path(0), arg(1), tree.path(1)), "NoFault", [id, 1, FAULT.Order]);
      // A leaf that is not in the tree (another nullifier), and the other aggregator's leaves passed as this one's.
      await expectRevert(() => order(1, 1, { ...arg(1), nullifier: 5n }, tree.path(1), arg(2), tree.path(2)), "NotInTree");
      await expectRevert(() => order(1, 1, h(1), honestPath(1), arg(2), tree.path(2)), "NotInTree");
      await expectRevert(() => order(1, 1, arg(2), tree.path(1), arg(1), tree.path(2)), "NotInTree");
      // Paths of the wrong length, positions past the end, an index that is not an aggregator's.
      await expectRevert(() => order(1, 1, arg(1), [...tree.path(1), ZeroHash], arg(2), tree.path(2)), "WrongPathLength", [3n, 2n]);
      await expectRevert(() => order(1, 1, arg(1), tree.path(1), arg(2), []), "WrongPathLength", [0n, 1n]);
      await expectRevert(() => order(1, 2, arg(1), tree.path(1), arg(2), tree.path(2)), "NoSuchLeaf", [2n, 3]);
      await expectRevert(() => order(2, 1, arg(1), tree.path(1), arg(2), tree.path(2)), "InvalidAggregatorIndex", [2]);
      await expectRevert(() => shared.connect(challenger).challengeShareOrder(id + 1n, 1, 1, arg(1), [], arg(2), []), "JobNotFound");
      // After the challenge window nothing can be proven.
      await toDeadline(id, 2n * WINDOW);
      await expectRevert(() => order(1, 1, arg(1), tree.path(1), arg(2), tree.path(2)), "ChallengeWindowClosed", [
        id,
        (await shared.getSharedJob(id)).finalizeAfter,
      ]);
    });

    it("test_challengeShareOrder_uncommittedAggregator_revertsNotCommitted", async () => {
      const id = await posted();
      await toDeadline(id);
      await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
      const h = (i: number) => shareLeafArg(leaves[i] as ShareLeaf);
      await expectRevert(() => shared.connect(challenger).challengeShareOrder(id, 1, 0, h(0), [], h(1), []), "NotCommitted", [
        id,
        1,
        COMMIT.None,
      ]);
      await expectRevert(() => shared.connect(challenger).challengeShareProof(id, 1, 0, h(0), []), "NotCommitted", [id, 1, COMMIT.None]);
    });

    it("test_challengeShareProof_realProofsVerify_revertsNoFault", async () => {
      const id = await posted();
      await toDeadline(id);
      await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
      for (let i = 0; i < leaves.length; i++)
        await expectRevert(
          () => shared.connect(challenger).challengeShareProof(id, 0, i, shareLeafArg(leaves[i] as ShareLeaf), shareSetPath(leaves, i)),
          "NoFault",
          [id, 0, FAULT.Proof],
        );
    });

    /** Each way a share-set leaf's proof can fail for the job, as the last of four leaves in aggregator 1's set. */
    const badProofs: { name: string; bad: () => ShareLeaf }[] = [
      { name: "messageIsNotTheProofs", bad: () => ({ ...(leaves[3] as ShareLeaf), message: (leaves[3] as ShareLeaf).message + 1n }) },
      {
        name: "proofPointChanged",
        bad: () => ({ ...(leaves[3] as ShareLeaf), points: (leaves[3] as ShareLeaf).points.map((p, k) => (k === 7 ? p + 1n : p)) }),
      },
      { name: "proofForAnotherJobsScope", bad: () => forJob2 },
      { name: "nullifierOutsideTheSnarkField", bad: () => ({ ...(leaves[3] as ShareLeaf), nullifier: (1n << 256n) - 1n }) },
    ];
    for (const { name, bad } of badProofs)
      it(`test_challengeShareProof_${name}_slashesAndRefunds`, async () => {
        const wrong = bad();
        const set = [...leaves.slice(0, 3), wrong].sort((a, b) => (a.nullifier < b.nullifier ? -1 : 1));
        const { id, tree } = await withBadSet(set);
        const position = set.indexOf(wrong);
        await expectFaulted(
          shared.connect(challenger).challengeShareProof(id, 1, position, shareLeafArg(set[position] as ShareLeaf), tree.path(position)),
          id,
          FAULT.Proof,
        );
      });

    it("test_challengeShareProof_hostileWitness_namedErrorStateUnchanged", async () => {
      const bad = [leaves[0], leaves[1], { ...(leaves[2] as ShareLeaf), message: 1n }] as ShareLeaf[];
      const { id, tree } = await withBadSet(bad);
      const proof = (index: number, position: number, leaf: ShareLeaf, path: string[], gasLimit?: number) =>
        shared
          .connect(challenger)
          .challengeShareProof(id, index, position, shareLeafArg(leaf), path, gasLimit === undefined ? {} : { gasLimit });
      // The bad leaf at another position, a real leaf that is not in the set, the other aggregator's leaf and path.
      await expectRevert(() => proof(1, 1, bad[2] as ShareLeaf, tree.path(1)), "NotInTree");
      await expectRevert(() => proof(1, 2, leaves[3] as ShareLeaf, tree.path(2)), "NotInTree");
      await expectRevert(() => proof(1, 2, leaves[2] as ShareLeaf, shareSetPath(leaves, 2)), "WrongPathLength", [2n, 1n]);
      await expectRevert(() => proof(1, 3, bad[2] as ShareLeaf, tree.path(2)), "NoSuchLeaf", [3n, 3]);
      await expectRevert(() => proof(1, 2, bad[2] as ShareLeaf, [ZeroHash]), "NotInTree");
      await expectRevert(() => proof(1, 2, bad[2] as ShareLeaf, []), "WrongPathLength", [0n, 1n]);
      await expectRevert(() => proof(3, 2, bad[2] as ShareLeaf, tree.path(2)), "InvalidAggregatorIndex", [3]);
      // Too little gas for the verifier's fixed allowance: a revert, never a wrongly proven (or disproven) fault.
      await expectRevert(() => proof(1, 2, bad[2] as ShareLeaf, tree.path(2), 300_000), "VerifierGasTooLow");
    });
  });

  describe("finalize", () => {
    /**
     * Both aggregators announce their preps and commit the honest set with `aggregate` split into two shares; then
     * each reveals its share if `reveals` says so. Returns the shares.
     */
    async function bothCommitted(id: bigint, aggregate: bigint[], p: bigint, reveals: [boolean, boolean] = [true, true]) {
      await toDeadline(id);
      const [s0, s1] = split(aggregate, p, 7n);
      await (await shared.connect(agg0).announcePrep(id, "bafyprep0")).wait();
      await (await shared.connect(agg1).announcePrep(id, "bafyprep1")).wait();
      await (await commit(agg0, id, honest(), s0)).wait();
      await (await commit(agg1, id, honest(), s1)).wait();
      if (reveals[1])
        await expect(reveal(agg1, id, s1))
          .to.emit(shared, "ShareRevealed")
          .withArgs(id, 1, await addr(agg1), s1);
      if (reveals[0])
        await expect(reveal(agg0, id, s0))
          .to.emit(shared, "ShareRevealed")
          .withArgs(id, 0, await addr(agg0), s0);
      return [s0, s1] as const;
    }

    it("test_finalize_honestEndToEnd_releasesCentredSumSplitsRewardReturnsBonds", async () => {
      // Field128, five entries over three packed words; entries at the centring boundary and wrapping sums.
      const half = (P128 - 1n) / 2n;
      const aggregate = [5n, -3n, 0n, half, -half];
      const id = await posted({ length: aggregate.length, fieldId: 1, min: 4 });
      await bothCommitted(id, aggregate, P128);
      await expectRevert(() => shared.finalize(id), "ChallengeWindowStillOpen", [id, (await shared.getSharedJob(id)).finalizeAfter]);
      await expectRevert(() => shared.resultOf(id), "NotFinalized", [id, STATE.Open]);
      await toDeadline(id, 2n * WINDOW);
      const [a0, a1] = await addrs(agg0, agg1);
      await expect(shared.connect(outsider).finalize(id))
        .to.emit(shared, "SharedJobFinalized")
        .withArgs(id, 4, aggregate, REWARD)
        .and.to.emit(shared, "BondReturned")
        .withArgs(id, 0, a0, BOND)
        .and.to.emit(shared, "BondReturned")
        .withArgs(id, 1, a1, BOND);
      expect(await shared.resultOf(id)).to.deep.equal(aggregate);
      const job = await shared.getSharedJob(id);
      expect([job.state, job.refundReason]).to.deep.equal([STATE.Finalized, REASON.None]);
      for (const i of [0, 1]) {
        const commitment = await shared.getCommit(id, i);
        expect([commitment.state, commitment.revealed]).to.deep.equal([COMMIT.Returned, true]);
      }
      await expectRevert(() => shared.finalize(id), "JobNotOpen", [id, STATE.Finalized]);
      await expectRevert(
        () => shared.connect(challenger).challengeShareProof(id, 0, 0, shareLeafArg(leaves[0] as ShareLeaf), shareSetPath(leaves, 0)),
        "JobNotOpen",
      );
      // Pull payments: the leader takes the odd wei; each withdraws once; the contract ends empty.
      await expect(shared.connect(agg0).withdraw()).to.changeEtherBalance(ethers, agg0, REWARD - REWARD / 2n + BOND);
      await expect(shared.connect(agg1).withdraw()).to.changeEtherBalance(ethers, agg1, REWARD / 2n + BOND);
      await expectRevert(() => shared.connect(agg0).withdraw(), "NothingToWithdraw", [a0]);
      await expectRevert(() => shared.connect(researcher).withdraw(), "NothingToWithdraw");
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(0n);
    });

    it("test_finalize_field64_nineEntriesCentredAcrossPackedWords", async () => {
      const half = (P64 - 1n) / 2n;
      const aggregate = [0n, 1n, -1n, half, -half, 42n, -(1n << 40n), 1n << 40n, 7n];
      const id = await posted({ length: aggregate.length, fieldId: 0 });
      await bothCommitted(id, aggregate, P64);
      await toDeadline(id, 2n * WINDOW);
      await expect(shared.finalize(id)).to.emit(shared, "SharedJobFinalized").withArgs(id, 4, aggregate, REWARD);
      expect(await shared.resultOf(id)).to.deep.equal(aggregate);
    });

    it("test_finalize_sharesDisagree_refundsAndReturnsBothBonds", async () => {
      for (const other of [
        { root: anyOrderShareSet(leaves.slice(0, 3)).root, count: 4 }, // another root
        { root: shareSetRoot(leaves), count: 3 }, // another count
      ]) {
        const id = await posted();
        await toDeadline(id);
        await (await commit(agg0, id, honest(), [1n, 2n, 3n])).wait();
        await (await commit(agg1, id, other, [1n, 2n, 3n])).wait();
        await toDeadline(id, 2n * WINDOW);
        await expect(shared.finalize(id))
          .to.emit(shared, "SharedJobRefunded")
          .withArgs(id, await addr(researcher), REWARD, REASON.SharesDisagree);
        expect((await shared.getSharedJob(id)).refundReason).to.equal(REASON.SharesDisagree);
        await expectRevert(() => shared.resultOf(id), "NotFinalized", [id, STATE.Refunded]);
      }
      expect(await shared.balanceOf(await addr(researcher))).to.equal(2n * REWARD);
      expect(await shared.balanceOf(await addr(agg0))).to.equal(2n * BOND);
      expect(await shared.balanceOf(await addr(agg1))).to.equal(2n * BOND);
    });

    it("test_finalize_tooFewParticipants_refunds", async () => {
      const id = await posted({ min: 5 });
      await bothCommitted(id, [1n, 2n, 3n], P128, [false, false]);
      await toDeadline(id, 2n * WINDOW);
      await expect(shared.finalize(id))
        .to.emit(shared, "SharedJobRefunded")
        .withArgs(id, await addr(researcher), REWARD, REASON.TooFewParticipants);
      await expect(shared.connect(researcher).withdraw()).to.changeEtherBalance(ethers, researcher, REWARD);
      await expect(shared.connect(agg1).withdraw()).to.changeEtherBalance(ethers, agg1, BOND);
    });

    it("test_finalize_shareWithheld_slashesTheWithholderHalfToResearcherHalfBurned", async () => {
      const id = await posted();
      await bothCommitted(id, [1n, 2n, 3n], P128, [true, false]);
      await expectRevert(() => shared.finalize(id), "ChallengeWindowStillOpen");
      await toDeadline(id, 2n * WINDOW);
      const [a0, a1, res] = await addrs(agg0, agg1, researcher);
      const sent = shared.connect(outsider).finalize(id);
      await expect(sent).to.changeEtherBalance(ethers, BURN, BOND / 2n);
      await expect(sent)
        .to.emit(shared, "WithholderSlashed")
        .withArgs(id, 1, a1, BOND, BOND / 2n, BOND / 2n)
        .and.to.emit(shared, "SharedJobRefunded")
        .withArgs(id, res, REWARD, REASON.ShareWithheld)
        .and.to.emit(shared, "BondReturned")
        .withArgs(id, 0, a0, BOND)
        .and.not.to.emit(shared, "SharedJobFinalized");
      const job = await shared.getSharedJob(id);
      expect([job.state, job.refundReason]).to.deep.equal([STATE.Refunded, REASON.ShareWithheld]);
      const [c0, c1] = [await shared.getCommit(id, 0), await shared.getCommit(id, 1)];
      expect([c0.state, c0.revealed, c1.state, c1.revealed]).to.deep.equal([COMMIT.Returned, true, COMMIT.Slashed, false]);
      await expectRevert(() => shared.resultOf(id), "NotFinalized", [id, STATE.Refunded]);
      // To the wei: the researcher gets its reward and half the withholder's bond, the revealer its bond.
      expect(await shared.balanceOf(res)).to.equal(REWARD + BOND / 2n);
      expect(await shared.balanceOf(a0)).to.equal(BOND);
      expect(await shared.balanceOf(a1)).to.equal(0n);
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(REWARD + BOND / 2n + BOND);
      await expect(shared.connect(researcher).withdraw()).to.changeEtherBalance(ethers, researcher, REWARD + BOND / 2n);
      await expect(shared.connect(agg0).withdraw()).to.changeEtherBalance(ethers, agg0, BOND);
      await expectRevert(() => shared.connect(agg1).withdraw(), "NothingToWithdraw", [a1]);
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(0n);
      await expectRevert(() => reveal(agg1, id, [1n, 2n, 3n]), "JobNotOpen", [id, STATE.Refunded]);
    });

    it("test_finalize_neitherRevealed_bothSlashed", async () => {
      const id = await posted();
      await bothCommitted(id, [1n, 2n, 3n], P128, [false, false]);
      await toDeadline(id, 2n * WINDOW);
      const [a0, a1, res] = await addrs(agg0, agg1, researcher);
      const sent = shared.finalize(id);
      await expect(sent).to.changeEtherBalance(ethers, BURN, BOND);
      await expect(sent)
        .to.emit(shared, "WithholderSlashed")
        .withArgs(id, 0, a0, BOND, BOND / 2n, BOND / 2n)
        .and.to.emit(shared, "WithholderSlashed")
        .withArgs(id, 1, a1, BOND, BOND / 2n, BOND / 2n)
        .and.to.emit(shared, "SharedJobRefunded")
        .withArgs(id, res, REWARD, REASON.ShareWithheld)
        .and.not.to.emit(shared, "BondReturned");
      expect(await shared.balanceOf(res)).to.equal(REWARD + BOND);
      expect([await shared.balanceOf(a0), await shared.balanceOf(a1)]).to.deep.equal([0n, 0n]);
      expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(REWARD + BOND);
    });

    it("test_finalize_aggregatorMissing_refundsFromTheCommitDeadline", async () => {
      const id = await posted();
      await toDeadline(id);
      await (await commit(agg1, id, honest(), [1n, 2n, 3n])).wait();
      await expectRevert(() => shared.finalize(id), "CommitWindowStillOpen", [id, (await shared.getSharedJob(id)).commitDeadline]);
      await toDeadline(id, WINDOW);
      await expect(shared.finalize(id))
        .to.emit(shared, "SharedJobRefunded")
        .withArgs(id, await addr(researcher), REWARD, REASON.AggregatorMissing)
        .and.to.emit(shared, "BondReturned")
        .withArgs(id, 1, await addr(agg1), BOND);
      expect(await shared.balanceOf(await addr(agg1))).to.equal(BOND);
      expect(await shared.balanceOf(await addr(agg0))).to.equal(0n);
      // Neither committed: refunded just the same.
      const none = await posted();
      await toDeadline(none, WINDOW);
      await expect(shared.finalize(none))
        .to.emit(shared, "SharedJobRefunded")
        .withArgs(none, await addr(researcher), REWARD, REASON.AggregatorMissing);
      await expectRevert(() => shared.finalize(none + 1n), "JobNotFound");
    });
  });

  describe("money invariant", () => {
    /** What one aggregator does in a random job: nothing, the honest set, a set out of order, or a short count. */
    const conduct = fc.constantFrom("absent", "honest", "swapped", "short");
    type Conduct = "absent" | "honest" | "swapped" | "short";
    const setFor = (how: Conduct) => {
      if (how === "swapped") {
        const t = anyOrderShareSet([leaves[1], leaves[0], leaves[2], leaves[3]] as ShareLeaf[]);
        return { root: t.root, count: 4, swapped: t };
      }
      return how === "short" ? { root: shareSetRoot(leaves.slice(0, 3)), count: 3 } : { ...honest(), swapped: undefined };
    };

    it("test_money_randomJobs_heldEqualsOwedPlusEscrowAndHonestAggregatorsNeverLose", async function () {
      this.timeout(600_000);
      await fc.assert(
        fc.asyncProperty(
          conduct,
          conduct,
          fc.bigInt({ min: 1n, max: parseEther("3") }),
          fc.integer({ min: 1, max: 5 }),
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          async (how0, how1, reward, min, challenge, reveal0, reveal1) => {
            await base.restore();
            const id = await posted({ value: reward, min });
            const people = [researcher, agg0, agg1, challenger];
            /** Ether held == what accounts can withdraw + the open job's reward + bonds still committed. */
            const checkHeld = async () => {
              const job = await shared.getSharedJob(id);
              let owed = 0n;
              for (const s of people) owed += await shared.balanceOf(await addr(s));
              for (const i of [0, 1]) {
                const { state } = await shared.getCommit(id, i);
                if (state === COMMIT.Committed || state === COMMIT.Revealed) owed += BOND;
              }
              if (job.state === STATE.Open) owed += job.reward;
              expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(owed);
            };
            await toDeadline(id);
            const hows = [how0, how1] as Conduct[];
            for (const [i, by] of [agg0, agg1].entries()) {
              const how = hows[i] as Conduct;
              if (how === "absent") continue;
              await (await commit(by, id, setFor(how), [1n, 2n, 3n])).wait();
              await checkHeld();
            }
            // Agreeing on a set of at least minParticipants reports, each reveals or withholds as drawn.
            const agree = how0 === how1 && how0 !== "absent";
            const count = how0 === "short" ? 3 : 4;
            const canReveal = agree && min <= count;
            const reveals = [reveal0 && canReveal, reveal1 && canReveal];
            for (const [i, by] of [agg0, agg1].entries()) {
              if (!reveals[i]) continue;
              await (await reveal(by, id, [1n, 2n, 3n])).wait();
              await checkHeld();
            }
            const bad = hows.indexOf("swapped");
            if (challenge && bad >= 0) {
              const t = setFor("swapped").swapped as ReturnType<typeof anyOrderShareSet>;
              const [a, b] = [leaves[1], leaves[0]] as [ShareLeaf, ShareLeaf];
              await (
                await shared.connect(challenger).challengeShareOrder(id, bad, 0, shareLeafArg(a), t.path(0), shareLeafArg(b), t.path(1))
              ).wait();
              await checkHeld();
            }
            if ((await shared.getSharedJob(id)).state === STATE.Open) {
              await toDeadline(id, 2n * WINDOW);
              await (await shared.finalize(id)).wait();
              await checkHeld();
            }
            const job = await shared.getSharedJob(id);
            const finalized = job.state === STATE.Finalized;
            // Released only when both committed the same set, no fault was proven, it counts enough reports, and both
            // revealed; a share withheld from such a set costs its aggregator the bond, half to the researcher.
            const faulted = challenge && bad >= 0;
            expect(finalized).to.equal(canReveal && !faulted && reveals[0] === true && reveals[1] === true);
            const withholders = canReveal && !faulted ? reveals.filter((r) => !r).length : 0;
            expect(job.refundReason).to.equal(finalized ? REASON.None : withholders > 0 ? REASON.ShareWithheld : job.refundReason);
            // Everyone withdraws: the contract ends empty, and an aggregator that committed the honest set and
            // revealed when it could has its bond back (plus half the reward when the job released).
            for (const [i, by] of [agg0, agg1].entries()) {
              const owed = await shared.balanceOf(await addr(by));
              const withheld = withholders > 0 && !reveals[i];
              if (hows[i] === "honest")
                expect(owed).to.equal(withheld ? 0n : BOND + (finalized ? (i === 0 ? reward - reward / 2n : reward / 2n) : 0n));
            }
            expect(await shared.balanceOf(await addr(researcher))).to.equal(finalized ? 0n : reward + BigInt(withholders) * (BOND / 2n));
            for (const s of people) if ((await shared.balanceOf(await addr(s))) > 0n) await (await shared.connect(s).withdraw()).wait();
            expect(await ethers.provider.getBalance(c.addresses.sharedJobs as string)).to.equal(0n);
          },
        ),
        { seed: 19_190_019, numRuns: 40 },
      );
    });
  });

  describe("share-set vectors", () => {
    it("test_leafHash_vectors_matchTheContract", async () => {
      for (const v of VECTORS.leafHashes) expect(await shared.leafHash(shareLeafArg(leafOf(v.leaf)))).to.equal(v.hash);
    });

    it("test_rootOf_vectors_everyPathReachesTheCommittedRoot", async function () {
      this.timeout(300_000);
      await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, 0n, 1000n);
      for (const t of VECTORS.trees.filter((t) => t.leaves.length > 0)) {
        const id = await posted();
        await toDeadline(id);
        await (await commit(agg0, id, { root: t.root, count: t.leaves.length }, [1n, 2n, 3n])).wait();
        // Each leaf's path leads to the root: the contract goes on to the proof (made-up points: a fault, not sent).
        for (const [i, path] of t.paths.entries())
          await shared.connect(challenger).challengeShareProof.staticCall(id, 0, i, shareLeafArg(leafOf(t.leaves[i] as LeafJson)), path);
        // And adjacent vector leaves are in order.
        if (t.leaves.length >= 2)
          await expect(
            shared
              .connect(challenger)
              .challengeShareOrder(
                id,
                0,
                0,
                shareLeafArg(leafOf(t.leaves[0] as LeafJson)),
                t.paths[0] as string[],
                shareLeafArg(leafOf(t.leaves[1] as LeafJson)),
                t.paths[1] as string[],
              ),
          )
            .to.be.revertedWithCustomError(shared, "NoFault")
            .withArgs(id, 0, FAULT.Order);
      }
    });
  });
});
