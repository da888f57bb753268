// The user's side of a shared-mode job on real parts: an in-process chain with SharedJobs, two reducer nodes as the
// job's aggregators (Helia on loopback), vaults that list the job (s1), prepare it from SharedJobs' record, answer it
// through the job board with both aggregators' signed receipts, and once it is final find their nullifiers among the
// leaves of the committed share set. Hostile specs and unknown ids are named errors with nothing recorded.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeSpec, kmPerDayJob, postSharedJobArgs, withMode } from "@mosaic/mapreduce";
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
  nodeAddresses,
  putBlock,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
  waitUntil,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { createAvatarGroup, decodeSubmission, loadGroup, registerAvatar } from "@mosaic/avatar";
import { expect } from "chai";
import { parseEther, type Signer } from "ethers";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "../../worker/src/index.js";
import {
  answerConfirmed,
  answerSharedJob,
  checkSharedInclusion,
  JobSpecMismatchError,
  jobKey,
  listJobs,
  type NodeJobBoard,
  nodeJobBoard,
  openVault,
  prepareJob,
  reviewJob,
  submissionOf,
  submissionRecords,
  UnknownJobError,
  type Vault,
} from "../src/node.js";

describe("vault: a shared-mode job listed, prepared, answered and counted (real chain, aggregators, proofs)", function () {
  this.timeout(600_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let shared: SharedJobs;
  let sharedAddress: string;
  let work: string;
  let researcherNode: IpfsNode;
  let board: NodeJobBoard;
  const reducers: ReducerNode[] = [];
  const vaults: Vault[] = [];
  let groupId: bigint;
  let aggregators: [string, string];

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-vault-shared-"));
    chain = await connectInProcessChain();
    const [deployer] = chain.accounts;
    contracts = await deployMosaic(deployer as Signer, { unbondingDelay: 86_400n });
    shared = contracts.sharedJobs as SharedJobs;
    sharedAddress = (await shared.getAddress()).toLowerCase();
    groupId = await createAvatarGroup(contracts, { name: "shared-vault", policy: "open" });
    researcherNode = await createIpfsNode();
    for (let i = 0; i < 2; i++) {
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
          sharedJobs: sharedAddress,
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
        logger: createLogger(`aggregator-${i}`, (process.env.MOSAIC_TEST_LOG ?? "error") as "error"),
      });
      await node.start();
      reducers.push(node);
    }
    aggregators = (await Promise.all([1, 2].map((i) => (chain.accounts[i] as Signer).getAddress()))) as [string, string];
    board = nodeJobBoard({
      provider: chain.provider,
      chainId: chain.chainId,
      registry: contracts.addresses.jobRegistry,
      groups: contracts.addresses.avatarGroups,
      sharedJobs: sharedAddress,
      // The researcher's node holds every spec (hostile ones too, which no aggregator takes).
      peers: [...reducers.flatMap((r) => r.addresses().slice(0, 1)), nodeAddresses(researcherNode)[0] as string],
      dialTimeoutMs: 5000,
    });
  });

  after(async () => {
    await board?.close();
    await Promise.allSettled(reducers.map((r) => r.stop()));
    await Promise.allSettled(vaults.map((v) => v.close()));
    await researcherNode?.stop();
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  const terms = (now: number, minParticipants: number) => ({
    collectionDeadline: now + 600,
    challengeWindow: 60,
    minParticipants,
    epsilon: { num: 1, den: 1 },
    reward: parseEther("1").toString(),
    minStake: parseEther("0.5").toString(),
  });
  const sharedSpec = (now: number, minParticipants: number): JobSpec => withMode(kmPerDayJob(terms(now, minParticipants)), "shared");

  /** Posts `onChain`'s figures on SharedJobs with the two reducers as aggregators, naming `published`'s spec block. */
  async function post(onChain: JobSpec, published: JobSpec = onChain): Promise<JobRef> {
    const block = await encodeSpec(published);
    await putBlock(researcherNode.blockstore, block);
    const { args, value } = postSharedJobArgs(onChain, block.cid, groupId, aggregators);
    const receipt = await (await shared.connect(chain.accounts[3] as Signer).postSharedJob(...args, { value })).wait();
    const jobId = findEvent(receipt, shared.interface, "SharedJobPosted").args.jobId as bigint;
    return { chainId: chain.chainId, registry: sharedAddress, jobId };
  }

  /** What a refused job must leave as it was: consents, submissions, audit and ledger. */
  const recorded = (vault: Vault) =>
    JSON.stringify([vault.consents(), submissionRecords(vault), vault.audit(), vault.ledger(), vault.budget()]);

  let job: JobRef;
  let spec: JobSpec;

  it("lists s1 with its mode and aggregators, prepares it from SharedJobs' record, and answers it with both aggregators' receipts", async () => {
    spec = sharedSpec(await chain.now(), 2);
    job = await post(spec);
    expect(job.jobId).to.equal(SHARED_JOB_ID_BASE + 1n);
    for (const r of reducers)
      await waitUntil("the aggregator to collect", () => r.job(job.jobId.toString())?.state === "collecting", { timeoutMs: 30_000 });
    const vault = vaults[0] as Vault;
    const { jobs } = await listJobs(board.components, vault);
    const listed = jobs.find((j) => j.label === "s1");
    expect(listed).to.deep.include({
      jobId: job.jobId.toString(),
      jobKey: jobKey(job),
      mode: "shared",
      member: true,
      collecting: true,
      answered: false,
      mechanism: "discrete-gaussian",
    });
    expect(listed?.aggregators).to.deep.equal(aggregators);
    expect(listed?.specError).to.equal(undefined);

    const prepared = await prepareJob(board.components, vault, job.jobId);
    expect(prepared.job).to.deep.equal(job);
    const record = await shared.getSharedJob(job.jobId);
    expect(prepared.posted.groupRoot).to.equal(record.groupRoot);
    expect(prepared.posted.shared?.aggregators).to.deep.equal(aggregators);
    expect(prepared.posted.shared?.aggregatorKeys.map((k) => `0x${Buffer.from(k).toString("hex")}`)).to.deep.equal([
      ...record.aggregatorKeys,
    ]);
    expect(prepared.posted.shared?.commitDeadline).to.equal(Number(record.commitDeadline));

    const request = await reviewJob(vault, prepared);
    expect(request.mode).to.equal("shared");
    expect(request.aggregators?.map((a) => a.address)).to.deep.equal(aggregators);
    await vault.consent(prepared.spec, request);
    const peers = reducers.map((r) => r.addresses()[0] as string);
    const operators = new Map(peers.map((p, i) => [p, aggregators[i] as string]));
    const { answer, receipts } = await answerConfirmed(board.components, vault, prepared, {
      peers,
      operators,
      now: await chain.now(),
      maxDelayMs: 0,
      minReceipts: 2,
    });
    expect(receipts.complete).to.equal(true);
    expect(receipts.record.receipts.map((r) => r.operator.toLowerCase()).sort()).to.deep.equal(
      aggregators.map((a) => a.toLowerCase()).sort(),
    );
    // The receipts name the contract the job is on.
    for (const r of receipts.record.receipts) expect(r.registry.toLowerCase()).to.equal(sharedAddress);
    expect(submissionOf(vault, jobKey(job))?.cid).to.equal(answer.block.cid.toString());
    const again = await listJobs(board.components, vault);
    expect(again.jobs.find((j) => j.label === "s1")).to.include({ answered: true });
  });

  it("Node's answerSharedJob answers too; once final, each answer is a leaf of the committed share set, and a stranger's nullifier is not", async () => {
    const vault = vaults[1] as Vault;
    const prepared = await prepareJob(board.components, vault, job.jobId);
    await vault.consent(prepared.spec, await reviewJob(vault, prepared));
    const group = await loadGroup(contracts.avatarGroups, groupId);
    const sent = await answerSharedJob(vault, job, group, prepared.posted.shared?.aggregatorKeys as [Uint8Array, Uint8Array], {
      spec: prepared.spec,
      peers: reducers.flatMap((r) => r.addresses()),
      collectionDeadline: prepared.posted.collectionDeadline,
      now: await chain.now(),
      maxDelayMs: 0,
      minRecipients: 2,
    });
    const id = job.jobId.toString();
    for (const r of reducers) await waitUntil("both reports accepted", () => Number(r.job(id)?.accepted ?? 0) >= 2, { timeoutMs: 60_000 });
    const getBlock = board.getBlock;
    const mine = submissionOf(vaults[0] as Vault, jobKey(job));
    if (mine === undefined) throw new Error("vault 0 recorded its answer");
    expect(await checkSharedInclusion({ sharedJobs: shared, getBlock }, mine)).to.include({ status: "pending", state: "open" });
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil(
      "both aggregators to commit and reveal their shares",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(job.jobId, i)))).every((c) => c.state >= 1n && c.revealed),
      { timeoutMs: 60_000 },
    );
    await chain.increaseTime(2 * spec.challengeWindow + 1);
    await waitUntil("the job to be final", async () => (await shared.getSharedJob(job.jobId)).state === 2n, { timeoutMs: 60_000 });
    const commit = await shared.getCommit(job.jobId, 0);
    const counted = await checkSharedInclusion({ sharedJobs: shared, getBlock }, mine);
    expect(counted).to.deep.include({
      status: "counted",
      count: 2,
      treeRoot: commit.shareSetRoot.toLowerCase(),
      bundleCid: commit.bundleCid,
    });
    // answerSharedJob records nothing (answerConfirmed does): its submission as a record would hold it.
    const theirs = { ...mine, cid: sent.block.cid.toString(), nullifier: decodeSubmission(sent.block.bytes).proof.nullifier };
    expect((await checkSharedInclusion({ sharedJobs: shared, getBlock }, theirs)).status).to.equal("counted");
    const stranger = await checkSharedInclusion({ sharedJobs: shared, getBlock }, { ...mine, nullifier: "12345" });
    expect(stranger).to.deep.include({ status: "missing", count: 2 });
    expect((stranger as { reason: string }).reason).to.match(/no leaf with this submission's nullifier 12345/);
    const swapped = await checkSharedInclusion({ sharedJobs: shared, getBlock }, { ...mine, cid: theirs.cid });
    expect((swapped as { reason: string }).reason).to.match(/is submission .*, not this vault's/);
  });

  it("refuses a shared job whose spec disagrees with SharedJobs, one whose spec is local-mode, and an unknown s-id: named, nothing recorded", async () => {
    const vault = vaults[0] as Vault;
    const before = recorded(vault);
    const now = await chain.now();
    const onChain = sharedSpec(now, 1);
    // s2: the chain says at least 1 answer, the spec published under its digest says 3.
    const disagreeing = await post(onChain, { ...onChain, minParticipants: 3 });
    // s3: the chain's figures are a shared job's, the spec published is the same job in local mode.
    const localJob = await post(onChain, kmPerDayJob(terms(now, 1)));
    const prepare = (id: bigint) =>
      prepareJob(board.components, vault, id).then(
        () => expect.fail("prepared"),
        (err: Error) => err,
      );
    const mismatch = await prepare(disagreeing.jobId);
    expect(mismatch).to.be.instanceOf(JobSpecMismatchError);
    expect(mismatch.message).to.match(/s2: spec says minParticipants 3 but SharedJobs recorded 1/);
    const wrongMode = await prepare(localJob.jobId);
    expect(wrongMode).to.be.instanceOf(JobSpecMismatchError);
    expect(wrongMode.message).to.match(/s3: spec says mode local but SharedJobs recorded shared/);
    const unknown = await prepare(SHARED_JOB_ID_BASE + 99n);
    expect(unknown).to.be.instanceOf(UnknownJobError);
    expect(unknown.message).to.match(/no shared job s99 on SharedJobs .* \(it has 3/);
    // A board that was given no SharedJobs address names what is missing.
    const { sharedJobs: _, ...withoutShared } = board.components;
    const noContract = await prepareJob(withoutShared, vault, SHARED_JOB_ID_BASE + 1n).catch((err: Error) => err);
    expect(noContract).to.be.instanceOf(UnknownJobError);
    expect((noContract as Error).message).to.match(/no SharedJobs address was given: pass --shared-jobs/);
    // The list shows both hostile jobs with the reason they cannot be answered.
    const { jobs } = await listJobs(board.components, vault);
    const refused = Object.fromEntries(jobs.filter((j) => j.specError !== undefined).map((j) => [j.label, j.specError?.name]));
    expect(refused).to.deep.equal({ s2: "JobSpecMismatchError", s3: "JobSpecMismatchError" });
    expect(recorded(vault)).to.equal(before);
  });
});
