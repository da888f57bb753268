// A reducer started from a network file alone, and chain reads that do not grow with history: JobPosted logs are
// read from the deploy block, then only from where the last read stopped, across restarts (a cursor in dataDir).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, deriveAvatarIdentity } from "@mosaic/avatar";
import { encodeSpec, kmPerDayJob, postJobArgs } from "@mosaic/mapreduce";
import {
  type ChainConnection,
  createLogger,
  deployMosaic,
  findEvent,
  type JobRegistry,
  type MosaicContracts,
  type NetworkFile,
  writeNetworkFile,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { expect } from "chai";
import { parseEther } from "ethers";
import { createReducerNode, loadReducerConfig, parseReducerConfig, resolveReducerConfig } from "../src/index.js";
import { JobCursor } from "../src/job-cursor.js";

describe("reducer config from a network file, and chain reads from a cursor", function () {
  this.timeout(120_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts & { deployBlock: number };
  let work: string;
  let groupId: bigint;
  const log = createLogger("test", "error");

  const network = (over: Partial<NetworkFile> = {}): NetworkFile => {
    const at = (address: string) => ({ address, deployBlock: contracts.deployBlock });
    return {
      v: 1,
      name: "test",
      chainId: Number(chain.chainId),
      rpc: "http://127.0.0.1:1",
      contracts: {
        semaphore: at(contracts.addresses.semaphore),
        avatarGroups: at(contracts.addresses.avatarGroups),
        openAdmission: at(contracts.addresses.openAdmission),
        registrarAdmission: at(contracts.addresses.registrarAdmission),
        jobRegistry: at(contracts.addresses.jobRegistry),
        reducerDirectory: at(contracts.addresses.reducerDirectory),
      },
      bootstrap: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWEQmdtRgDSdFi2UmL4MT9juo983g7uXFGg76uVkz8FRtx"],
      createdAt: new Date().toISOString(),
      ...over,
    };
  };
  const postJob = async (): Promise<bigint> => {
    const spec = kmPerDayJob({ collectionDeadline: (await chain.now()) + 3600, minStake: parseEther("1").toString() });
    const post = postJobArgs(spec, (await encodeSpec(spec)).cid.toString(), groupId);
    const tx = await contracts.jobRegistry.connect(chain.accounts[3]!).postJob(...post.args, { value: post.value });
    return findEvent(await tx.wait(), contracts.jobRegistry.interface, "JobPosted").args.jobId as bigint;
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-chain-reads-"));
    chain = await connectInProcessChain();
    // Some history before the deploy: a reader from block 0 would walk it.
    for (let i = 0; i < 5; i++) await chain.increaseTime(1);
    contracts = await deployMosaic(chain.accounts[0]!);
    groupId = await createAvatarGroup(contracts, { name: "reads", policy: "registrar", registrar: await chain.accounts[0]!.getAddress() });
    await (await contracts.avatarGroups.registerBatch(groupId, [deriveAvatarIdentity(new Uint8Array(32).fill(7)).commitment])).wait();
  });

  after(async () => {
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("takes rpcUrl, registry, directory, fromBlock and bootstrap peers from the network file; config fields win", async () => {
    await writeNetworkFile(path.join(work, "networks", "test.json"), network());
    const file = path.join(work, "reducer.json");
    await writeFile(file, JSON.stringify({ network: "test", operatorKeyFile: "op.key", dataDir: "data" }));
    const c = await loadReducerConfig(file);
    expect(c.rpcUrl).to.equal("http://127.0.0.1:1");
    expect(c.registry).to.equal(contracts.addresses.jobRegistry);
    expect(c.directory).to.equal(contracts.addresses.reducerDirectory);
    expect(c.fromBlock).to.equal(contracts.deployBlock).and.to.be.above(0);
    expect(c.peers).to.deep.equal(network().bootstrap);
    expect(c.network).to.deep.equal({ file: path.join(work, "networks", "test.json"), chainId: Number(chain.chainId) });
    expect(c.announce).to.deep.equal([]);
    const over = await resolveReducerConfig(
      {
        network: "networks/test.json",
        rpcUrl: "http://127.0.0.1:2",
        fromBlock: 7,
        announce: ["/dns4/r.example.org/tcp/4101"],
        operatorKeyFile: "k",
        dataDir: "d",
      },
      file,
    );
    expect([over.rpcUrl, over.fromBlock, over.announce]).to.deep.equal(["http://127.0.0.1:2", 7, ["/dns4/r.example.org/tcp/4101"]]);
    // Another registry than the file's: the file's deploy block says nothing about it.
    const other = await resolveReducerConfig(
      { network: "test", registry: contracts.addresses.avatarGroups, operatorKeyFile: "k", dataDir: "d" },
      file,
    );
    expect(other.fromBlock).to.equal(0);
  });

  it("names a missing network file, a bad field, and a network file for another chain at start", async () => {
    const file = path.join(work, "reducer.json");
    const missing = await resolveReducerConfig({ network: "nope", operatorKeyFile: "k", dataDir: "d" }, file).catch((e) => e);
    expect((missing as Error).name).to.equal("NetworkFileError");
    const bad = await resolveReducerConfig({ network: "test", announce: "not-a-list", operatorKeyFile: "k", dataDir: "d" }, file).catch(
      (e) => e,
    );
    expect((bad as Error).name).to.equal("ReducerConfigError");
    expect((bad as Error).message).to.match(/announce: expected up to 8 public multiaddrs/);
    expect(() => parseReducerConfig({ network: "test", operatorKeyFile: "k", dataDir: "d" }, file)).to.throw(/use loadReducerConfig/);
    await writeNetworkFile(path.join(work, "networks", "other.json"), network({ name: "other", chainId: 1 }));
    const config = await resolveReducerConfig({ network: "other", operatorKeyFile: "k", dataDir: "wrong-chain", http: { port: 0 } }, file);
    const node = createReducerNode(config, { chain, signer: chain.accounts[1], logger: log });
    const err = await node.start().catch((e) => e);
    await node.stop();
    expect((err as Error).name).to.equal("WrongChainError");
    expect((err as Error).message).to.include("other.json");
  });

  it("reads JobPosted logs from the deploy block, then only the blocks since, and resumes from its cursor after a restart", async () => {
    const first = await postJob();
    const ranges: Array<[number, number]> = [];
    // The real registry, with its log reads recorded.
    const registry = new Proxy(contracts.jobRegistry, {
      get(target, prop, receiver) {
        if (prop === "queryFilter")
          return (filter: unknown, from: number, to: number) => {
            ranges.push([from, to]);
            return target.queryFilter(filter as never, from, to);
          };
        return Reflect.get(target, prop, receiver);
      },
    }) as JobRegistry;
    const file = path.join(work, "cursor", "chain.json");
    await mkdir(path.dirname(file), { recursive: true });
    const init = { file, chainId: chain.chainId, registry: contracts.addresses.jobRegistry, fromBlock: contracts.deployBlock, log };
    const cursor = new JobCursor(init);
    let head = await chain.provider.getBlockNumber();
    expect(await cursor.next(registry, head)).to.deep.equal([first.toString()]);
    expect(ranges).to.deep.equal([[contracts.deployBlock, head]]);
    cursor.retry.set(first.toString(), cursor.posted.get(first.toString()) as number);
    await cursor.save();
    // Nothing new: no read at all.
    ranges.length = 0;
    expect(await cursor.next(registry, head)).to.deep.equal([]);
    expect(ranges).to.deep.equal([]);

    // A restart: the cursor file says where it stopped, and which job was not decided yet.
    const second = await postJob();
    const resumed = new JobCursor(init);
    expect(resumed.block).to.equal(head);
    expect([...resumed.retry.keys()]).to.deep.equal([first.toString()]);
    const before = head;
    head = await chain.provider.getBlockNumber();
    expect(await resumed.next(registry, head)).to.deep.equal([second.toString()]);
    expect(ranges).to.deep.equal([[before + 1, head]]);
    expect(JSON.parse(await readFile(file, "utf8")).block).to.equal(before);

    // The cursor keeps the hash of the last block read; when the chain no longer has that block (a reorg), reads go
    // back REWIND_BLOCKS (here to fromBlock), so a job posted in the replaced blocks is seen again.
    await resumed.save();
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.block).to.equal(head);
    expect(saved.hash).to.equal((await chain.provider.getBlock(head))?.hash);
    await writeFile(file, JSON.stringify({ ...saved, hash: `0x${"ab".repeat(32)}` }));
    const reorged = new JobCursor(init);
    ranges.length = 0;
    expect(await reorged.next(registry, head)).to.deep.equal([first.toString(), second.toString()]);
    expect(ranges).to.deep.equal([[contracts.deployBlock, head]]);

    // A cursor for another registry, or a damaged one, is not trusted: reads start again at fromBlock.
    const foreign = new JobCursor({ ...init, registry: contracts.addresses.avatarGroups });
    expect(foreign.block).to.equal(contracts.deployBlock - 1);
    await writeFile(file, "{ torn");
    expect(new JobCursor(init).block).to.equal(contracts.deployBlock - 1);
  });
});
