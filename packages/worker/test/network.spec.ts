// Two reducer nodes on loopback against the in-process chain, with real proofs: vaults hand submissions over
// directly and get signed receipts; a reducer stopped for the middle third of the collection window catches up from
// the other when it comes back and proposes the full set; a job below its minimum is journalled, never proposed.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, deriveAvatarIdentity, encodeSubmission, Group, proveSubmission } from "@mosaic/avatar";
import { encodeSpec, kmPerDayJob, postJobArgs } from "@mosaic/mapreduce";
import {
  type Block,
  type ChainConnection,
  createIpfsNode,
  createLogger,
  deployMosaic,
  encodeBlock,
  findEvent,
  ForgedReceiptError,
  type IpfsNode,
  type MosaicContracts,
  nodeAddresses,
  putBlock,
  ReceiptRefusedError,
  readReducers,
  type SubmissionReceipt,
  submitForReceipt,
  verifyReceipt,
  WrongReceiptError,
  waitUntil,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { sha256 } from "@noble/hashes/sha2";
import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "../src/index.js";

const MEMBERS = 9;

describe("two reducer nodes: direct submissions with receipts, catch-up after a restart, no proposal below the minimum", function () {
  this.timeout(600_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let work: string;
  let researcher: IpfsNode;
  let group: Group;
  const identities = Array.from({ length: MEMBERS }, (_, i) => deriveAvatarIdentity(sha256(new TextEncoder().encode(`network-spec-${i}`))));
  const jobs: { full: bigint; thin: bigint } = { full: 0n, thin: 0n };
  let deadline = 0;
  let operators: Set<string>;
  const nodes: Array<ReducerNode | undefined> = [undefined, undefined];
  const addrs: string[][] = [[], []];

  const configOf = (i: number, peers: string[]) =>
    parseReducerConfig(
      {
        rpcUrl: "http://in-process",
        registry: contracts.addresses.jobRegistry,
        operatorKeyFile: "unused",
        dataDir: path.join(work, `reducer-${i}`),
        peers,
        directory: contracts.addresses.reducerDirectory,
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 1, batchSize: 4, batchWaitMs: 50 },
        pollMs: 150,
        fetchTimeoutMs: 3000,
      },
      path.join(work, "reducer.json"),
    );
  const start = async (i: number, peers: string[]) => {
    const node = createReducerNode(configOf(i, peers), {
      chain,
      signer: chain.accounts[1 + i],
      logger: createLogger(`reducer-${i}`, "error"),
    });
    nodes[i] = node;
    const status = await node.start();
    addrs[i] = status.addresses;
    return status;
  };
  const progress = (i: number, job: bigint) => nodes[i]?.job(job.toString()) ?? {};
  const until = (what: string, check: () => boolean, timeoutMs = 60_000) =>
    waitUntil(what, check, { timeoutMs, intervalMs: 100, detail: () => JSON.stringify([progress(0, jobs.full), progress(1, jobs.full)]) });

  /** A vault's throwaway node: holds the block, hands it to `to` and returns each reducer's receipt. */
  const handOver = async (block: Block, jobId: bigint, to: number[]): Promise<SubmissionReceipt[]> => {
    const vault = await createIpfsNode();
    try {
      await putBlock(vault.blockstore, block);
      // libp2p turns away more than a few inbound connections a second from one host (every vault here is 127.0.0.1),
      // as a vault's own receipts loop would, retry after a moment.
      const submit = async (i: number): Promise<SubmissionReceipt> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await submitForReceipt(vault, addrs[i]?.[0] as string, { job: jobId.toString(), cid: block.cid.toString() });
          } catch (err) {
            if ((err as Error).name !== "StreamFailedError" || attempt >= 8) throw err;
            await new Promise((r) => setTimeout(r, 400 * attempt));
          }
        }
      };
      return await Promise.all(to.map(submit));
    } finally {
      await vault.stop();
    }
  };
  const submissionOf = async (member: number, jobId: bigint) => {
    const payload = [0, 0, 0, 0, 0, 0];
    payload[member % 6] = 1;
    const job = { chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId };
    return encodeSubmission(await proveSubmission(identities[member]!, group, job, payload));
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-network-"));
    chain = await connectInProcessChain();
    const [deployer, , , poster] = chain.accounts;
    contracts = await deployMosaic(deployer!);
    const groupId = await createAvatarGroup(contracts, { name: "network", policy: "registrar", registrar: await deployer!.getAddress() });
    group = new Group(identities.map((id) => id.commitment));
    await (await contracts.avatarGroups.registerBatch(groupId, [...group.members])).wait();
    for (const i of [1, 2]) await (await contracts.jobRegistry.connect(chain.accounts[i]!).stake({ value: parseEther("1") })).wait();
    operators = new Set(await Promise.all([1, 2].map((i) => chain.accounts[i]!.getAddress())));
    researcher = await createIpfsNode();
    deadline = (await chain.now()) + 3600;
    for (const [key, minParticipants] of [
      ["full", 3],
      ["thin", 3],
    ] as const) {
      const spec = kmPerDayJob({ collectionDeadline: deadline, minParticipants, minStake: parseEther("1").toString() });
      const specBlock = await encodeSpec(spec);
      await putBlock(researcher.blockstore, specBlock);
      const post = postJobArgs(spec, specBlock.cid.toString(), groupId);
      const tx = await contracts.jobRegistry.connect(poster!).postJob(...post.args, { value: post.value });
      jobs[key] = findEvent(await tx.wait(), contracts.jobRegistry.interface, "JobPosted").args.jobId as bigint;
    }
  });

  after(async () => {
    for (const n of nodes) await n?.stop().catch(() => undefined);
    await researcher?.stop();
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("receipts for direct submissions; the reducer down for the middle third catches up and proposes the full set", async () => {
    await start(0, nodeAddresses(researcher));
    // Reducer 1 is told only of the researcher: it finds reducer 0 in the directory, where both announced themselves.
    const first = await start(1, nodeAddresses(researcher));
    await until("both reducers to collect", () => [0, 1].every((i) => progress(i, jobs.full).state === "collecting"));
    // Each announces itself from its discovery pass, which runs beside the polls: wait for both records.
    let records = await readReducers(contracts.reducerDirectory, contracts.jobRegistry);
    for (let i = 0; records.length < 2 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      records = await readReducers(contracts.reducerDirectory, contracts.jobRegistry);
    }
    expect(records.map((r) => r.peerId).sort()).to.deep.equal([addrs[0]![0]!.split("/p2p/")[1], first.peerId].sort());
    await until("the reducers to find each other", () => [0, 1].every((i) => (nodes[i]!.health().peers as number) >= 2));

    // First third: every vault hands its submission to both reducers and gets two receipts it can check.
    const blocks = await Promise.all(identities.map((_, m) => submissionOf(m, jobs.full)));
    for (const block of blocks.slice(0, 3)) {
      const receipts = await handOver(block, jobs.full, [0, 1]);
      const signers = receipts.map((r) =>
        verifyReceipt(r, {
          chainId: chain.chainId,
          registry: contracts.addresses.jobRegistry,
          jobId: jobs.full,
          cid: block.cid.toString(),
          operators,
        }),
      );
      expect(new Set(signers)).to.deep.equal(operators);
    }
    await until("both reducers to accept the first third", () => [0, 1].every((i) => progress(i, jobs.full).accepted === 3));

    // Refusals are named, and change nothing: an unknown job, a block nobody serves.
    const unknown = await handOver(blocks[3]!, 99n, [0]).catch((e) => e);
    expect(unknown).to.be.instanceOf(ReceiptRefusedError);
    expect((unknown as ReceiptRefusedError).reason).to.equal("UnknownJobError");
    const vault = await createIpfsNode();
    const missing = await encodeBlock({ nobody: "has this" });
    const unavailable = await submitForReceipt(vault, addrs[0]![0]!, { job: jobs.full.toString(), cid: missing.cid.toString() }).catch(
      (e) => e,
    );
    await vault.stop();
    expect((unavailable as ReceiptRefusedError).reason).to.equal("BlockUnavailableError");
    expect(progress(0, jobs.full).announced).to.equal(3);

    // A receipt checked against another job, or signed by a wallet that is not staked, is refused.
    const genuine = (await handOver(blocks[0]!, jobs.full, [0]))[0]!;
    const expected = {
      chainId: chain.chainId,
      registry: contracts.addresses.jobRegistry,
      jobId: jobs.full,
      cid: blocks[0]!.cid.toString(),
      operators,
    };
    expect(() => verifyReceipt(genuine, { ...expected, jobId: jobs.thin })).to.throw(WrongReceiptError);
    expect(() => verifyReceipt({ ...genuine, jobId: jobs.thin.toString() }, { ...expected, jobId: jobs.thin })).to.throw(
      ForgedReceiptError,
    );
    const { signReceipt } = await import("@mosaic/protocol");
    const forged = await signReceipt(Wallet.createRandom(), { ...genuine, receivedAt: Date.now() });
    expect(() => verifyReceipt(forged, expected)).to.throw(ForgedReceiptError, /not a staked operator/);

    // Middle third: reducer 1 is down; only reducer 0 receives them.
    await nodes[1]!.stop();
    for (const block of blocks.slice(3, 6)) await handOver(block, jobs.full, [0]);
    await until("reducer 0 to accept the middle third", () => progress(0, jobs.full).accepted === 6);

    // Reducer 1 comes back with the same peer id, asks reducer 0 what it holds, and fetches what it missed.
    const again = await start(1, nodeAddresses(researcher));
    expect(again.peerId).to.equal(first.peerId);
    await until("reducer 1 to catch up", () => progress(1, jobs.full).accepted === 6);

    // Last third: both up again.
    for (const block of blocks.slice(6)) await handOver(block, jobs.full, [0, 1]);
    await until("both reducers to accept all", () => [0, 1].every((i) => progress(i, jobs.full).accepted === MEMBERS));

    await chain.increaseTime(deadline - (await chain.now()) + 1);
    await until("both reducers to propose", () => [0, 1].every((i) => progress(i, jobs.full).state === "proposed"));
    const proposed = [0, 1].map((i) => progress(i, jobs.full).proposed as { count: number; treeRoot: string });
    expect(proposed[1]!.count).to.equal(MEMBERS);
    expect(proposed[1]!.treeRoot).to.equal(proposed[0]!.treeRoot);
    expect(await contracts.jobRegistry.proposalCount(jobs.full)).to.equal(2n);
  });

  it("proposes nothing for a job below its minimum participants: journals job:below-minimum and /jobs shows it", async () => {
    // The thin job's collection closed with the full one's, with nothing submitted.
    await until("both reducers to judge the thin job", () => [0, 1].every((i) => progress(i, jobs.thin).state === "below-minimum"));
    const p = progress(0, jobs.thin);
    expect(p.belowMinimum).to.deep.equal({ e: "below-minimum", count: 0, minParticipants: 3 });
    expect(await contracts.jobRegistry.proposalCount(jobs.thin)).to.equal(0n);
    const journal = await readFile(path.join(work, "reducer-0", "jobs", jobs.thin.toString(), "journal.jsonl"), "utf8");
    expect(journal).to.include('"e":"below-minimum"');
    expect(journal).not.to.include('"e":"proposed"');
  });
});
