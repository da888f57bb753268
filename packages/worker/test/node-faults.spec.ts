// A reducer node against the in-process chain under faults and hostile peers: an RPC read that fails once loses no
// job, a job skipped for low stake is served once the stake reaches its minimum, directory records whose addresses
// never answer do not hold up a proposal, only staked reducers in the directory are asked for their holdings, and
// the submit protocol refuses (by name, with no receipt) an identity CID, junk and another job's submission.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, deriveAvatarIdentity, encodeSubmission, Group, proveSubmission } from "@mosaic/avatar";
import { encodeSpec, kmPerDayJob, postJobArgs } from "@mosaic/mapreduce";
import {
  type Block,
  type ChainConnection,
  CID,
  createIpfsNode,
  createLogger,
  deployMosaic,
  dialPeer,
  encodeBlock,
  encodeHoldingsReply,
  findEvent,
  HOLDINGS_PROTOCOL,
  handle,
  type IpfsNode,
  jobTopic,
  type MosaicContracts,
  nodeAddresses,
  putBlock,
  ReceiptRefusedError,
  submitForReceipt,
  waitForTopicPeers,
  waitUntil,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { sha256 } from "@noble/hashes/sha2";
import { expect } from "chai";
import { parseEther, type Signer, type TransactionRequest } from "ethers";
import { identity } from "multiformats/hashes/identity";
import { ReducerDiscovery } from "../src/discovery.js";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "../src/index.js";

/** A TCP port that accepts connections and never says a word: a black hole for libp2p dials. */
async function silentServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    connections++;
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as Server["close"];
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

describe("reducer node under faults: failed reads, low stake, black-hole directory records, unannounced peers, junk submissions", function () {
  this.timeout(300_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let work: string;
  let researcher: IpfsNode;
  let allowed: IpfsNode;
  let stranger: IpfsNode;
  let node: ReducerNode;
  let startMs = 0;
  let reducerAddr = "";
  let group: Group;
  let groupIdOf = 0n;
  const identities = [0, 1, 2].map((i) => deriveAvatarIdentity(sha256(new TextEncoder().encode(`faults-${i}`))));
  const jobs = { a: 0n, b: 0n, c: 0n };
  let deadlineB = 0;
  const silent: Array<Awaited<ReturnType<typeof silentServer>>> = [];
  let lowStakeServer: Awaited<ReturnType<typeof silentServer>>;
  const holdingsAsked = { allowed: 0, stranger: 0 };
  let getJobFailures = 0;

  /** A small per-job cap, so a test can reach it. */
  const CAP = 3;
  const progress = (job: bigint) => node.job(job.toString()) ?? {};
  const until = (what: string, check: () => boolean, timeoutMs = 20_000) =>
    waitUntil(what, check, {
      timeoutMs,
      intervalMs: 50,
      detail: () => JSON.stringify([progress(jobs.a), progress(jobs.b), progress(jobs.c)]),
    });
  const post = async (deadline: number, minStake: bigint, minParticipants = 1) => {
    const spec = kmPerDayJob({ collectionDeadline: deadline, minParticipants, minStake: minStake.toString() });
    const specBlock = await encodeSpec(spec);
    await putBlock(researcher.blockstore, specBlock);
    const p = postJobArgs(spec, specBlock.cid.toString(), groupIdOf);
    const tx = await contracts.jobRegistry.connect(chain.accounts[3]!).postJob(...p.args, { value: p.value });
    return findEvent(await tx.wait(), contracts.jobRegistry.interface, "JobPosted").args.jobId as bigint;
  };
  const submission = async (member: number, jobId: bigint) =>
    encodeSubmission(
      await proveSubmission(
        identities[member]!,
        group,
        { chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId },
        [1, 0, 0, 0, 0, 0],
      ),
    );
  const handOver = async (block: Block, jobId: bigint, cid = block.cid.toString()) => {
    const vault = await createIpfsNode();
    try {
      await putBlock(vault.blockstore, block);
      return await submitForReceipt(vault, reducerAddr, { job: jobId.toString(), cid }, { timeoutMs: 15_000 });
    } finally {
      await vault.stop();
    }
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-node-faults-"));
    chain = await connectInProcessChain();
    const [deployer, operator] = chain.accounts;
    contracts = await deployMosaic(deployer!);
    const groupId = await createAvatarGroup(contracts, { name: "faults", policy: "registrar", registrar: await deployer!.getAddress() });
    groupIdOf = groupId;
    group = new Group(identities.map((i) => i.commitment));
    await (await contracts.avatarGroups.registerBatch(groupId, [...group.members])).wait();
    researcher = await createIpfsNode();
    allowed = await createIpfsNode();
    stranger = await createIpfsNode();
    for (const [key, helper] of [
      ["allowed", allowed],
      ["stranger", stranger],
    ] as const) {
      await handle(
        helper,
        HOLDINGS_PROTOCOL,
        async () => {
          holdingsAsked[key]++;
          return encodeHoldingsReply({ cids: [], next: null });
        },
        { maxBytes: 1024, timeoutMs: 5_000 },
      );
    }

    // The directory: two staked operators whose records point only at black holes (8 addresses each; one of them is
    // `allowed`'s peer id), and a 1-wei operator whose addresses count every connection.
    for (let i = 0; i < 8; i++) silent.push(await silentServer());
    lowStakeServer = await silentServer();
    const addrs = silent.map((s) => `/ip4/127.0.0.1/tcp/${s.port}`);
    const records: Array<[number, bigint, string, string[]]> = [
      [4, parseEther("1"), "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", addrs],
      [5, parseEther("1"), allowed.libp2p.peerId.toString(), addrs],
      [6, 1n, "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK", [`/ip4/127.0.0.1/tcp/${lowStakeServer.port}`]],
    ];
    for (const [i, stake, peerId, a] of records) {
      const op = chain.accounts[i]!;
      await (await contracts.jobRegistry.connect(op).stake({ value: stake })).wait();
      await (await contracts.reducerDirectory.connect(op).announce(peerId, a)).wait();
    }
    await (await contracts.jobRegistry.connect(operator!).stake({ value: parseEther("1") })).wait();

    // Three jobs in one poll: a's first getJob read fails; c asks for more stake than the operator has.
    const now = await chain.now();
    jobs.a = await post(now + 7200, parseEther("1"));
    deadlineB = now + 3600;
    jobs.b = await post(deadlineB, parseEther("1"));
    jobs.c = await post(now + 7200, parseEther("2"));

    // The operator's signer, with one injected RPC failure: the first getJob(a) call throws.
    const selector = contracts.jobRegistry.interface.getFunction("getJob")!.selector;
    const signer = new Proxy(operator!, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "call")
          return async (tx: TransactionRequest) => {
            const data = typeof tx.data === "string" ? tx.data : "";
            if (getJobFailures === 0 && data.startsWith(selector) && BigInt(`0x${data.slice(10)}`) === jobs.a) {
              getJobFailures++;
              throw new Error("injected: the RPC node timed out");
            }
            return target.call(tx);
          };
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Signer;

    const config = parseReducerConfig(
      {
        rpcUrl: "http://in-process",
        registry: contracts.addresses.jobRegistry,
        operatorKeyFile: "unused",
        dataDir: path.join(work, "reducer"),
        peers: nodeAddresses(researcher),
        directory: contracts.addresses.reducerDirectory,
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 1, batchSize: 4, batchWaitMs: 50 },
        pollMs: 150,
        fetchTimeoutMs: 3000,
      },
      path.join(work, "reducer.json"),
    );
    node = createReducerNode(config, { chain, signer, logger: createLogger("reducer", "error"), maxSubmissionsPerJob: CAP });
    const t0 = Date.now();
    const status = await node.start();
    startMs = Date.now() - t0;
    reducerAddr = status.addresses[0]!;
  });

  after(async () => {
    await node?.stop().catch(() => undefined);
    for (const n of [researcher, allowed, stranger]) await n?.stop().catch(() => undefined);
    for (const s of [...silent, lowStakeServer]) if (s !== undefined) await new Promise((r) => s.server.close(r));
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("loses no job when a getJob read fails: the failing job and the one after it are both served after the next poll", async () => {
    expect(getJobFailures, "the injected failure happened").to.equal(1);
    await until("jobs a and b to collect", () => progress(jobs.a).state === "collecting" && progress(jobs.b).state === "collecting");
  });

  it("skips a job for low stake, and serves it once the operator's stake reaches the job's minimum", async () => {
    await until("job c to be skipped", () => progress(jobs.c).state === "skipped");
    expect(progress(jobs.c).reason).to.match(/below the job's minimum/);
    await (await contracts.jobRegistry.connect(chain.accounts[1]!).stake({ value: parseEther("1") })).wait();
    await until("job c to collect", () => progress(jobs.c).state === "collecting");
  });

  it("asks for holdings only reducers in the directory staked at least the job's minimum, not any peer that speaks the protocol", async () => {
    await dialPeer(stranger, reducerAddr);
    await dialPeer(allowed, reducerAddr);
    await until("the staked reducer in the directory to be asked", () => holdingsAsked.allowed > 0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(holdingsAsked.stranger, "requests to a peer not in the directory").to.equal(0);
  });

  it("refuses, by name and with no receipt, an identity CID, a non-canonical CID, junk, and another job's submission", async () => {
    const before = progress(jobs.b).announced;
    const junk = await encodeBlock({ hello: "world" });
    const good = await submission(0, jobs.b);
    const inline = CID.createV1(0x71, identity.digest(junk.bytes)).toString();
    const raw = CID.createV1(0x55, good.cid.multihash).toString();
    const otherJobs = await submission(1, jobs.a);
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["MalformedSubmissionError", () => handOver(junk, jobs.b, inline)],
      ["MalformedSubmissionError", () => handOver(good, jobs.b, raw)],
      ["MalformedSubmissionError", () => handOver(junk, jobs.b)],
      ["WrongJobError", () => handOver(otherJobs, jobs.b)],
    ];
    for (const [reason, attempt] of cases) {
      const err = await attempt().then(
        () => undefined,
        (e) => e,
      );
      expect(err, reason).to.be.instanceOf(ReceiptRefusedError);
      expect((err as ReceiptRefusedError).reason, (err as Error).message).to.equal(reason);
    }
    expect(progress(jobs.b).announced, "nothing journalled for a refused submission").to.equal(before);
    // The genuine one gets its receipt and is journalled.
    const receipt = await handOver(good, jobs.b);
    expect(receipt.cid).to.equal(good.cid.toString());
    await until("job b to accept the submission", () => progress(jobs.b).accepted === 1);
  });

  it("a gossip flood of CIDs no one holds is cut at the job's cap and does not lock a vault's direct hand-over out", async () => {
    const before = Number(progress(jobs.b).announced);
    const flooder = await createIpfsNode();
    try {
      // libp2p turns away more than a few inbound connections a second from one host: the hand-overs just before count.
      await waitUntil(
        "the flooder to connect",
        () =>
          dialPeer(flooder, reducerAddr).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 10_000, intervalMs: 500 },
      );
      const topic = jobTopic({ chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId: jobs.b });
      flooder.libp2p.services.pubsub.subscribe(topic);
      await waitForTopicPeers(flooder, topic, 1);
      for (let i = 0; i < CAP + 3; i++) {
        const bogus = await encodeBlock({ bogus: i, at: Date.now() });
        await flooder.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(bogus.cid.toString()));
      }
      await until("the flood to fill the cap", () => Number(progress(jobs.b).announced) >= CAP);
      await new Promise((r) => setTimeout(r, 500));
      expect(Number(progress(jobs.b).announced), "gossip past the cap is dropped, not journalled").to.equal(CAP);
    } finally {
      await flooder.stop();
    }
    expect(before).to.be.lessThan(CAP);
    // A genuine submission still gets its receipt: the cap counts accepted submissions for hand-overs.
    const good = await submission(2, jobs.b);
    const receipt = await handOver(good, jobs.b);
    expect(receipt.cid).to.equal(good.cid.toString());
    await until("job b to accept the second genuine submission", () => Number(progress(jobs.b).accepted) === 2);
  });

  it("reads the directory again after a failed read, though no new ReducerAnnounced log appeared", async () => {
    const ipfs = await createIpfsNode();
    try {
      const reader = chain.accounts[7]!;
      let failures = 0;
      // The real registry; its first getAddress (readReducers' first registry read) fails like a flaky RPC.
      const registry = new Proxy(contracts.jobRegistry.connect(reader), {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (prop === "getAddress" && failures === 0)
            return async () => {
              failures++;
              throw new Error("injected: the RPC node timed out");
            };
          return typeof value === "function" ? value.bind(target) : value;
        },
      }) as typeof contracts.jobRegistry;
      const discovery = new ReducerDiscovery({
        ipfs,
        directory: contracts.reducerDirectory.connect(reader),
        registry,
        operator: await reader.getAddress(),
        announce: [],
        fromBlock: 0,
        log: createLogger("discovery", "error"),
        dialBudgetMs: 100,
        // Nothing in this directory is worth a dial here (the node under test counts dials to the 1-wei record).
        minStake: () => parseEther("1000"),
      });
      const head = await chain.provider.getBlockNumber();
      await discovery.poll(head);
      expect(failures).to.equal(1);
      expect(discovery.reducers).to.deep.equal([]);
      await discovery.poll(head);
      expect(discovery.reducers.map((r) => r.peerId)).to.include(allowed.libp2p.peerId.toString());
      discovery.stop();
    } finally {
      await ipfs.stop();
    }
  });

  it("proposes on time although the directory lists reducers whose addresses never answer; 1-wei records are never dialled", async () => {
    expect(startMs, "start(), whose first poll used to wait for every dial").to.be.below(5_000);
    await until("a dial into the black holes", () => silent.some((s) => s.connections() > 0));
    await chain.increaseTime(deadlineB - (await chain.now()) + 1);
    const t0 = Date.now();
    await until("job b to be proposed", () => progress(jobs.b).state === "proposed", 30_000);
    expect(Date.now() - t0, "from the deadline to the proposal").to.be.below(8_000);
    expect(lowStakeServer.connections(), "dials to a 1-wei operator's record").to.equal(0);
  });
});
