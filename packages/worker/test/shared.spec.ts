// A shared-mode job end to end on real parts in one process: an in-process Hardhat chain with SharedJobs, two reducer
// nodes as its aggregators (Helia on loopback, batch-verified real Semaphore proofs), vaults answering with encrypted
// Prio3 shares. The released sum is the truth plus the two aggregators' noise; hostile reports are left out by name;
// an aggregator that never commits leaves the job refunded.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createAvatarGroup,
  encodeSubmission,
  loadGroup,
  nullifierOf,
  proveSharedSubmission,
  publishSubmission,
  registerAvatar,
} from "@mosaic/avatar";
import {
  DAY_S,
  encodeSpec,
  estimateResult,
  kmPerDayJob,
  postSharedJobArgs,
  readSharedJobStanding,
  sealReport,
  sharedVdafOf,
  withMode,
} from "@mosaic/mapreduce";
import {
  type ChainConnection,
  createIpfsNode,
  createLogger,
  deployMosaic,
  findEvent,
  fundedWallet,
  type IpfsNode,
  type JobRef,
  type JobSpec,
  type MosaicContracts,
  type SharedJobs,
  nodeAddresses,
  putBlock,
  submitForReceipt,
  waitUntil,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { answerSharedJobWith, openVault, type Vault } from "@mosaic/vault";
import { expect } from "chai";
import { parseEther, type Signer } from "ethers";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "../src/index.js";

const USERS = 4;
/** Each user's days per band: every user's week adds up to 7 (the spec's fixed sum). */
const WEEKS = [
  [7, 0, 0, 0, 0, 0],
  [3, 4, 0, 0, 0, 0],
  [0, 0, 7, 0, 0, 0],
  [1, 1, 1, 1, 1, 2],
];
/** Distances that fall in each band: under 1, 1-4, 5-9, 10-24, 25-49, 50+ km. */
const BAND_KM = [0.2, 2.5, 7, 15, 30, 70];

/** A week of fixes whose daily out-and-back trip puts day d in band `bands[d]`. */
function week(days: number[], windowEnd: number, user: number) {
  const bands = days.flatMap((n, band) => Array.from({ length: n }, () => band));
  const home = { lat: 38.7 + user * 0.01, lon: -9.1 };
  return bands.flatMap((band, d) => {
    const t = windowEnd - (7 - d) * DAY_S + 8 * 3600;
    // Out and back: twice the one-way distance, so half of the band's distance each way.
    const dLat = (BAND_KM[band] as number) / 2 / 111.32;
    return [
      { t, ...home },
      { t: t + 3600, lat: home.lat + dLat, lon: home.lon },
      { t: t + 7200, ...home },
    ];
  });
}

describe("shared-mode job: two aggregators, encrypted Prio3 shares, distributed noise (real chain, IPFS, proofs)", function () {
  this.timeout(600_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let work: string;
  let researcherNode: IpfsNode;
  const reducers: ReducerNode[] = [];
  const vaults: Vault[] = [];
  let groupId: bigint;
  let shared: SharedJobs;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-shared-"));
    chain = await connectInProcessChain();
    const [deployer] = chain.accounts;
    contracts = await deployMosaic(deployer as Signer, { unbondingDelay: 86_400n });
    shared = contracts.sharedJobs as SharedJobs;
    groupId = await createAvatarGroup(contracts, { name: "shared", policy: "open" });
    researcherNode = await createIpfsNode();
    for (let i = 0; i < USERS; i++) {
      const vault = await openVault(path.join(work, `user-${i}`), { rootSeed: randomBytes(32) });
      vaults.push(vault);
      const wallet = await fundedWallet(chain, deployer as Signer, parseEther("0.01"));
      await registerAvatar(contracts.avatarGroups.connect(wallet), groupId, vault.avatar.commitment);
    }
    for (const i of [1, 2]) {
      const signer = chain.accounts[i] as Signer;
      await (await contracts.jobRegistry.connect(signer).stake({ value: parseEther("1") })).wait();
      const config = parseReducerConfig(
        {
          rpcUrl: "http://in-process",
          registry: contracts.addresses.jobRegistry,
          sharedJobs: await shared.getAddress(),
          operatorKeyFile: "unused",
          dataDir: path.join(work, `reducer-${i}`),
          peers: [...nodeAddresses(researcherNode), ...reducers.flatMap((r) => r.addresses())],
          http: { host: "127.0.0.1", port: 0 },
          verifier: { threads: 1, batchSize: 8, batchWaitMs: 50 },
          pollMs: 200,
        },
        path.join(work, "reducer.json"),
      );
      const node = createReducerNode(config, {
        chain,
        signer,
        logger: createLogger(`aggregator-${i}`, (process.env.MOSAIC_TEST_LOG ?? "warn") as "warn"),
      });
      await node.start();
      reducers.push(node);
    }
  });

  after(async () => {
    await Promise.allSettled(reducers.map((r) => r.stop()));
    await Promise.allSettled(vaults.map((v) => v.close()));
    await researcherNode?.stop();
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Posts a shared km-per-day job with the two reducers as aggregators; its ref and spec. */
  async function post(init: { minParticipants: number }): Promise<{ job: JobRef; spec: JobSpec }> {
    const spec = withMode(
      kmPerDayJob({
        collectionDeadline: (await chain.now()) + 600,
        challengeWindow: 60,
        minParticipants: init.minParticipants,
        epsilon: { num: 1, den: 1 },
        reward: parseEther("1").toString(),
        minStake: parseEther("0.5").toString(),
      }),
      "shared",
    );
    const block = await encodeSpec(spec);
    await putBlock(researcherNode.blockstore, block);
    const aggregators = (await Promise.all([1, 2].map((i) => (chain.accounts[i] as Signer).getAddress()))) as [string, string];
    const { args, value } = postSharedJobArgs(spec, block.cid, groupId, aggregators);
    const researcher = shared.connect(chain.accounts[3] as Signer);
    const receipt = await (await researcher.postSharedJob(...args, { value })).wait();
    const jobId = findEvent(receipt, shared.interface, "SharedJobPosted").args.jobId as bigint;
    const job = { chainId: chain.chainId, registry: (await shared.getAddress()).toLowerCase(), jobId };
    for (const r of reducers)
      await waitUntil("the aggregator to collect", () => r.job(jobId.toString())?.state === "collecting", { timeoutMs: 30_000 });
    return { job, spec };
  }

  async function answer(i: number, job: JobRef, spec: JobSpec): Promise<void> {
    const vault = vaults[i] as Vault;
    const group = await loadGroup(contracts.avatarGroups, groupId);
    const record = await shared.getSharedJob(job.jobId);
    const keys = record.aggregatorKeys.map((k) => Uint8Array.from(Buffer.from(k.slice(2), "hex"))) as [Uint8Array, Uint8Array];
    const request = await vault.review(spec, job);
    await vault.consent(spec, request);
    await answerSharedJobWith({ publish: publishSubmission }, vault, job, group, keys, {
      spec,
      peers: reducers.flatMap((r) => r.addresses()),
      collectionDeadline: spec.collectionDeadline,
      now: await chain.now(),
      maxDelayMs: 0,
      minRecipients: 2,
    });
  }

  it("releases the sum of everyone's exact week plus only the two aggregators' noise, and pays both", async () => {
    const { job, spec } = await post({ minParticipants: 2 });
    const windowStep = spec.program.kind === "pipeline" ? spec.program.steps.find((s) => s.op === "window") : undefined;
    if (windowStep?.op !== "window") throw new Error("km-per-day reads a window");
    for (const [i, days] of WEEKS.entries()) await (vaults[i] as Vault).addLocations(week(days, windowStep.to, i));
    for (let i = 0; i < USERS; i++) await answer(i, job, spec);
    const id = job.jobId.toString();
    for (const r of reducers)
      await waitUntil("both aggregators to accept every report", () => Number(r.job(id)?.accepted ?? 0) >= USERS, { timeoutMs: 60_000 });
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil(
      "both aggregators to commit and reveal",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)))).every((c) => c.revealed),
      { timeoutMs: 60_000 },
    );
    const commits = await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)));
    expect(commits.map((c) => Number(c.count))).to.deep.equal([USERS, USERS]);
    expect(commits[0]?.shareSetRoot).to.equal(commits[1]?.shareSetRoot);
    await chain.increaseTime(2 * spec.challengeWindow + 1);
    await waitUntil("an aggregator to finalise", async () => (await shared.getSharedJob(job.jobId)).state === 2n, {
      timeoutMs: 60_000,
    });
    const aggregate = (await shared.resultOf(job.jobId)).map(Number);
    const standing = await readSharedJobStanding(shared, job.jobId, await chain.now());
    expect(standing.stage).to.equal("final");
    expect(standing.label).to.equal("s1");
    expect(standing.aggregate).to.deep.equal(aggregate);
    expect(standing.count).to.equal(USERS);
    const truth = WEEKS.reduce((a, w) => a.map((x, k) => x + (w[k] as number)), [0, 0, 0, 0, 0, 0]);
    const estimate = estimateResult(spec, aggregate, USERS);
    // Two discrete Gaussian draws of σ² each: 6 standard deviations of their sum is far outside any honest run.
    for (const [k, row] of estimate.rows.entries()) expect(Math.abs(row.estimate - (truth[k] as number))).to.be.below(6 * row.stdDev);
    // The noise is there: an exact answer on all six entries would mean neither aggregator added any.
    expect(aggregate).to.not.deep.equal(truth);
    for (const i of [1, 2]) {
      const address = await (chain.accounts[i] as Signer).getAddress();
      expect(await shared.balanceOf(address)).to.be.greaterThan(0n);
    }
  });

  /** The job's two aggregator keys as SharedJobs recorded them. */
  async function keysOf(job: JobRef): Promise<[Uint8Array, Uint8Array]> {
    const record = await shared.getSharedJob(job.jobId);
    return record.aggregatorKeys.map((k) => Uint8Array.from(Buffer.from(k.slice(2), "hex"))) as [Uint8Array, Uint8Array];
  }

  it("leaves out, by name, a member's report whose shares fail the validity proof, and one that names the wrong aggregator key; the rest is released", async () => {
    const { job, spec } = await post({ minParticipants: 1 });
    const id = job.jobId.toString();
    const group = await loadGroup(contracts.avatarGroups, groupId);
    const keys = await keysOf(job);
    const { vdaf, measurementOf } = sharedVdafOf(spec);
    // Member 0 cheats: an honest sharding of 7 days under 1 km, then one byte of the leader's measurement share
    // flipped before sealing, so the shares no longer add up to what the proof proved: a validly signed envelope
    // whose report fails Prio3's check at the aggregators, never a decryption error.
    const cheat = vaults[0] as Vault;
    const nonce = randomBytes(16);
    const sharded = await vdaf.shardEncoded(measurementOf([7, 0, 0, 0, 0, 0]), nonce as never, randomBytes(vdaf.randSize) as never);
    const leader = Uint8Array.from(sharded.inputShares[0] as Uint8Array);
    leader[3] = (leader[3] as number) ^ 1;
    const tampered = sealReport({
      job,
      aggregatorKeys: keys,
      nonce,
      publicShare: sharded.publicShare,
      nullifier: nullifierOf(cheat.avatar, job),
      inputShares: [leader, sharded.inputShares[1] as Uint8Array],
    });
    const bad = await encodeSubmission(await proveSharedSubmission(cheat.avatar, group, job, tampered));
    // Member 1 seals both shares to aggregator 0's key: aggregator 1 cannot open its share.
    const misaddressed = vaults[1] as Vault;
    const misNonce = randomBytes(16);
    const honest = await vdaf.shardEncoded(measurementOf([0, 7, 0, 0, 0, 0]), misNonce as never, randomBytes(vdaf.randSize) as never);
    const wrongKey = sealReport({
      job,
      aggregatorKeys: [keys[0], keys[0]],
      nonce: misNonce,
      publicShare: honest.publicShare,
      nullifier: nullifierOf(misaddressed.avatar, job),
      inputShares: [honest.inputShares[0] as Uint8Array, honest.inputShares[1] as Uint8Array],
    });
    const wrong = await encodeSubmission(await proveSharedSubmission(misaddressed.avatar, group, job, wrongKey));
    const peers = reducers.flatMap((r) => r.addresses());
    for (const block of [bad, wrong])
      await publishSubmission(block, { peers, topic: `/mosaic/job/1/${job.chainId}/${job.registry}/${job.jobId}`, minRecipients: 2 });
    for (const i of [2, 3]) await answer(i, job, spec);
    for (const r of reducers)
      await waitUntil("every report to be collected", () => Number(r.job(id)?.accepted ?? 0) >= USERS, { timeoutMs: 60_000 });
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil(
      "both aggregators to commit and reveal",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)))).every((c) => c.revealed),
      { timeoutMs: 60_000 },
    );
    const commits = await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)));
    // Both leave out the same two reports: the sets agree, of the two honest members.
    expect(commits.map((c) => Number(c.count))).to.deep.equal([2, 2]);
    expect(commits[0]?.shareSetRoot).to.equal(commits[1]?.shareSetRoot);
    for (const r of reducers) {
      const rejected = r.job(id)?.rejected as Record<string, number>;
      expect(rejected.InvalidShareProofError, "the tampered report, by name").to.equal(1);
      expect((rejected.ShareDecryptError ?? 0) + (rejected.ShareMissingError ?? 0), "the misaddressed report, by name").to.equal(1);
    }
    // And the job still finalises, releasing the honest two's sum.
    await chain.increaseTime(2 * spec.challengeWindow + 1);
    await waitUntil("the job to be final", async () => (await shared.getSharedJob(job.jobId)).state === 2n, { timeoutMs: 60_000 });
    expect((await shared.resultOf(job.jobId)).length).to.equal(6);
  });

  it("leaves out, by name at both aggregators, a member who hands each aggregator a different report, and one whose entries exceed the declared total", async () => {
    const { job, spec } = await post({ minParticipants: 1 });
    const id = job.jobId.toString();
    const group = await loadGroup(contracts.avatarGroups, groupId);
    const keys = await keysOf(job);
    const { vdaf } = sharedVdafOf(spec);
    const share = async (measurement: number[], member: Vault) => {
      const nonce = randomBytes(16);
      const sharded = await vdaf.shardEncoded(measurement as never, nonce as never, randomBytes(vdaf.randSize) as never);
      return { nonce, sharded, nullifier: nullifierOf(member.avatar, job) };
    };
    // Member 0 splits: one honest sharding, two envelopes under its one nullifier, each carrying the genuine share for
    // the aggregator it is handed to and junk for the other. Each aggregator alone would accept its own.
    const splitter = vaults[0] as Vault;
    const honest = await share([7, 0, 0, 0, 0, 0], splitter);
    const junk = (n: number) => randomBytes(n);
    const seal = (inputShares: [Uint8Array, Uint8Array]) =>
      sealReport({
        job,
        aggregatorKeys: keys,
        nonce: honest.nonce,
        publicShare: honest.sharded.publicShare,
        nullifier: honest.nullifier,
        inputShares,
      });
    const [s0, s1] = honest.sharded.inputShares as unknown as [Uint8Array, Uint8Array];
    const forZero = await encodeSubmission(await proveSharedSubmission(splitter.avatar, group, job, seal([s0, junk(s1.length)])));
    const forOne = await encodeSubmission(await proveSharedSubmission(splitter.avatar, group, job, seal([junk(s0.length), s1])));
    // Member 1 claims 7 days in every band (42 days of a 7-day week): each entry within Prio3's 3-bit range, the
    // validity proof honest, only the declared total broken.
    const greedy = vaults[1] as Vault;
    const big = await share([7, 7, 7, 7, 7, 7], greedy);
    const inflated = await encodeSubmission(
      await proveSharedSubmission(
        greedy.avatar,
        group,
        job,
        sealReport({
          job,
          aggregatorKeys: keys,
          nonce: big.nonce,
          publicShare: big.sharded.publicShare,
          nullifier: big.nullifier,
          inputShares: big.sharded.inputShares as unknown as [Uint8Array, Uint8Array],
        }),
      ),
    );
    // Each split envelope straight to its own aggregator (the submit protocol), at once; the inflated one to both.
    const hand = async (block: Awaited<ReturnType<typeof encodeSubmission>>, reducer: ReducerNode) => {
      const node = await createIpfsNode({ listen: [] });
      try {
        await putBlock(node.blockstore, block);
        await submitForReceipt(node, reducer.addresses()[0] as string, { job: id, cid: block.cid.toString() });
      } finally {
        await node.stop();
      }
    };
    await Promise.all([hand(forZero, reducers[0] as ReducerNode), hand(forOne, reducers[1] as ReducerNode)]);
    await Promise.all(reducers.map((r) => hand(inflated, r)));
    for (const i of [2, 3]) await answer(i, job, spec);
    for (const r of reducers)
      await waitUntil("the split, inflated and honest reports to be collected", () => Number(r.job(id)?.accepted ?? 0) >= 4, {
        timeoutMs: 60_000,
      });
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil(
      "both aggregators to commit and reveal",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)))).every((c) => c.revealed),
      { timeoutMs: 60_000 },
    );
    const commits = await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)));
    // The same two honest reports on both sides: the sets agree, and the job cannot be made to refund this way.
    expect(commits.map((c) => Number(c.count))).to.deep.equal([2, 2]);
    expect(commits[0]?.shareSetRoot).to.equal(commits[1]?.shareSetRoot);
    for (const r of reducers) {
      const rejected = r.job(id)?.rejected as Record<string, number>;
      expect(rejected.ShareDigestMismatchError, "the split report, by name").to.equal(1);
      expect(rejected.ReportTotalError, "the inflated report, by name").to.equal(1);
    }
    await chain.increaseTime(2 * spec.challengeWindow + 1);
    await waitUntil("the job to be final", async () => (await shared.getSharedJob(job.jobId)).state === 2n, { timeoutMs: 60_000 });
  });

  it("refunds the researcher when an aggregator never commits, and pays no one", async () => {
    const { job, spec } = await post({ minParticipants: 1 });
    for (const i of [0, 1]) await answer(i, job, spec);
    const id = job.jobId.toString();
    for (const r of reducers) await waitUntil("both reports collected", () => Number(r.job(id)?.accepted ?? 0) >= 2, { timeoutMs: 60_000 });
    // Aggregator 1 goes away before the deadline and never comes back.
    await (reducers[1] as ReducerNode).stop();
    const before = await shared.balanceOf(await (chain.accounts[1] as Signer).getAddress());
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil("aggregator 0 to announce its prep shares", async () => (await shared.getCommit(job.jobId, 0)).prepAnnounced, {
      timeoutMs: 60_000,
    });
    // Past the commit window: the missing commit lets anyone refund at once.
    await chain.increaseTime(spec.challengeWindow + 1);
    await waitUntil("the job to be refunded", async () => (await shared.getSharedJob(job.jobId)).state === 3n, { timeoutMs: 60_000 });
    const record = await shared.getSharedJob(job.jobId);
    expect(Number(record.refundReason)).to.equal(2); // AggregatorMissing
    const standing = await readSharedJobStanding(shared, job.jobId, await chain.now());
    expect([standing.stage, standing.refundReason]).to.deep.equal(["refunded", "aggregator-missing"]);
    expect(standing.summary).to.match(/did not commit/);
    expect(await shared.balanceOf(await (chain.accounts[1] as Signer).getAddress())).to.equal(before);
    expect(await shared.balanceOf(await (chain.accounts[3] as Signer).getAddress())).to.be.greaterThan(0n);
  });
});
