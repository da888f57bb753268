// One whole shared-mode job with many users on real parts, timed per phase: two reducer nodes as its aggregators (fixed
// peer keys, so their aggregator keys and so the cached reports repeat run after run), announce, collect (fetch over
// bitswap, check, batch-verify real proofs), prepare + exchange prep shares + commit (both aggregators), finalise.
// The reports and their Semaphore proofs are made once into .cache/bench (about 20 min of proving for 1,000).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, deriveAvatarIdentity, encodeSubmission, Group, nullifierOf, proveSharedSubmission } from "@mosaic/avatar";
import {
  aggregatorPublicKeyOf,
  aggregatorSecretOf,
  encodeSpec,
  kmPerDayJob,
  postSharedJobArgs,
  shardReport,
  withMode,
} from "@mosaic/mapreduce";
import {
  type Block,
  createIpfsNode,
  createLogger,
  deployMosaic,
  findEvent,
  jobTopic,
  nodeAddresses,
  putBlock,
  type SharedJobs,
  waitForTopicPeers,
  waitUntil,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { generateKeyPairFromSeed, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { sha256 } from "@noble/hashes/sha2";
import { CID } from "multiformats/cid";
import { parseEther, type Signer } from "ethers";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "@mosaic/worker";

const CACHE = path.join(import.meta.dirname, "..", "..", ".cache", "bench");
const seedOf = (label: string) => sha256(new TextEncoder().encode(`mosaic-bench-${label}`));

export interface SharedJobRun {
  users: number;
  committed: number;
  totalS: number;
  phases: Record<string, number>;
}

/** Runs one shared job with `users` members (the report fixture is built first when not cached; that is not counted). */
export async function runSharedJob(users: number, onProgress?: (line: string) => void): Promise<SharedJobRun> {
  const phases: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    phases[name] = (t - t0) / 1000;
    t0 = t;
  };
  const chain = await connectInProcessChain();
  const work = await mkdtemp(path.join(tmpdir(), "mosaic-bench-shared-"));
  const nodes: { stop(): Promise<unknown> }[] = [];
  try {
    const [deployer, a0, a1, researcher] = chain.accounts as Signer[];
    if (!deployer || !a0 || !a1 || !researcher) throw new Error("the in-process chain needs 4 accounts");
    const contracts = await deployMosaic(deployer);
    const shared = contracts.sharedJobs as SharedJobs;
    const identities = Array.from({ length: users }, (_, i) => deriveAvatarIdentity(seedOf(`member-${i}`)));
    const groupId = await createAvatarGroup(contracts, {
      name: "bench-shared",
      policy: "registrar",
      registrar: await deployer.getAddress(),
    });
    for (let at = 0; at < users; at += 100)
      await (
        await contracts.avatarGroups.registerBatch(
          groupId,
          identities.slice(at, at + 100).map((x) => x.commitment),
        )
      ).wait();
    const group = new Group(identities.map((x) => x.commitment));
    // Two reducers with fixed peer keys: the aggregator keys they register (derived from them) repeat run after run.
    const aggregators = [a0, a1];
    const peerKeys = await Promise.all([0, 1].map((i) => generateKeyPairFromSeed("Ed25519", seedOf(`aggregator-${i}`))));
    const reducers: ReducerNode[] = [];
    const publisher = await createIpfsNode();
    nodes.push(publisher);
    for (const [i, signer] of aggregators.entries()) {
      await (await contracts.jobRegistry.connect(signer).stake({ value: parseEther("1") })).wait();
      const dataDir = path.join(work, `aggregator-${i}`);
      await mkdir(dataDir, { recursive: true });
      await writeFile(path.join(dataDir, "peer.key"), privateKeyToProtobuf(peerKeys[i] as never));
      const config = parseReducerConfig(
        {
          rpcUrl: "http://in-process",
          registry: contracts.addresses.jobRegistry,
          sharedJobs: contracts.addresses.sharedJobs,
          operatorKeyFile: "unused",
          dataDir,
          peers: [...nodeAddresses(publisher), ...reducers.flatMap((r) => r.addresses())],
          http: { host: "127.0.0.1", port: 0 },
          verifier: { threads: 1, batchSize: 64, batchWaitMs: 100 },
          pollMs: 100,
        },
        path.join(work, "reducer.json"),
      );
      const node = createReducerNode(config, { chain, signer, logger: createLogger(`aggregator-${i}`, "error") });
      nodes.push(node);
      await node.start();
      reducers.push(node);
    }
    const keys = peerKeys.map((k) => aggregatorPublicKeyOf(aggregatorSecretOf(k.raw))) as [Uint8Array, Uint8Array];
    const spec = withMode(
      kmPerDayJob({
        collectionDeadline: (await chain.now()) + 86_400,
        minParticipants: 1,
        epsilon: { num: 1, den: 1 },
        minStake: parseEther("1").toString(),
        challengeWindow: 600,
      }),
      "shared",
    );
    const specBlock = await encodeSpec(spec);
    await putBlock(publisher.blockstore, specBlock);
    const addresses = (await Promise.all(aggregators.map((s) => s.getAddress()))) as [string, string];
    const post = postSharedJobArgs(spec, specBlock.cid, groupId, addresses);
    const receipt = await (await shared.connect(researcher).postSharedJob(...post.args, { value: post.value })).wait();
    const jobId = findEvent(receipt, shared.interface, "SharedJobPosted").args.jobId as bigint;
    const job = { chainId: chain.chainId, registry: (await shared.getAddress()).toLowerCase(), jobId };
    const blocks = await reportFixture({ users, job, keys, group, identities, spec }, onProgress);
    t0 = performance.now();
    const id = jobId.toString();
    const progress = (i: number) => reducers[i]?.job(id) ?? {};
    await waitUntil("both aggregators to collect", () => [0, 1].every((i) => progress(i).state === "collecting"), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    lap("aggregators_start_s");
    for (const b of blocks) await putBlock(publisher.blockstore, b);
    const topic = jobTopic(job);
    await waitForTopicPeers(publisher, topic, 2, { timeoutMs: 10_000 });
    for (const b of blocks) await publisher.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(b.cid.toString()));
    lap("announce_s");
    let last = 0;
    await waitUntil(
      "both aggregators to judge every report",
      () => {
        const judged = Math.min(
          ...[0, 1].map((i) => {
            const p = progress(i);
            return Number(p.accepted ?? 0) + Object.values((p.rejected as Record<string, number>) ?? {}).reduce((x, y) => x + y, 0);
          }),
        );
        if (judged - last >= 100) {
          last = judged;
          onProgress?.(`collected ${judged}/${users}`);
        }
        return judged >= users;
      },
      { timeoutMs: 1_800_000, intervalMs: 50 },
    );
    lap("collect_verify_s");
    // The simulated chain's clock runs with the wall clock between blocks: mine one so "now" is now, not the last block's
    // time before the proving, or the jump would overshoot the commit window.
    await chain.increaseTime(0);
    await chain.increaseTime(spec.collectionDeadline - (await chain.now()) + 1);
    await waitUntil(
      "both aggregators to commit and reveal",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(jobId, i)))).every((c) => c.revealed),
      { timeoutMs: 600_000, intervalMs: 50 },
    );
    lap("prepare_exchange_commit_s");
    await chain.increaseTime(2 * spec.challengeWindow + 1);
    await waitUntil("the job to be finalised", async () => (await shared.getSharedJob(jobId)).state !== 1n, {
      timeoutMs: 120_000,
      intervalMs: 50,
    });
    lap("finalise_s");
    const committed = Number((await shared.getCommit(jobId, 0)).count);
    const totalS = Object.values(phases).reduce((x, y) => x + y, 0);
    return { users, committed, totalS, phases };
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await chain.close();
    await rm(work, { recursive: true, force: true });
  }
}

interface FixtureWorld {
  users: number;
  job: { chainId: bigint; registry: string; jobId: bigint };
  keys: [Uint8Array, Uint8Array];
  group: Group;
  identities: ReturnType<typeof deriveAvatarIdentity>[];
  spec: ReturnType<typeof withMode>;
}

/**
 * Every member's shared report for the job: read from the cache when it was built for the same job, group root and
 * aggregator keys, else sharded and proved now (and cached). Each member's week: 7 days spread over the bands.
 */
async function reportFixture(w: FixtureWorld, onProgress?: (line: string) => void): Promise<Block[]> {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  const key = `${w.job.chainId}-${w.job.registry}-${w.job.jobId}-${w.group.root}-${hex(w.keys[0])}-${hex(w.keys[1])}`;
  const file = path.join(CACHE, `shared-reports-${w.users}.json`);
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as { key: string; blocks: string[] };
    if (cached.key === key) {
      const { sha256: multihash } = await import("multiformats/hashes/sha2");
      return Promise.all(
        cached.blocks.map(async (h) => {
          const bytes = Uint8Array.from(Buffer.from(h, "hex"));
          return { cid: CID.createV1(0x71, await multihash.digest(bytes)), bytes };
        }),
      );
    }
  }
  // Proving is one core's work per proof: the members are split between BENCH_PROVERS processes (default: the cores).
  const provers = Math.max(1, Math.min(Number(process.env.BENCH_PROVERS ?? os.cpus().length), w.users));
  const per = Math.ceil(w.users / provers);
  const args = (from: number) => [
    import.meta.filename,
    String(w.users),
    String(from),
    String(Math.min(w.users, from + per)),
    w.job.registry,
    String(w.job.chainId),
    String(w.job.jobId),
    hex(w.keys[0]),
    hex(w.keys[1]),
  ];
  const tsx = path.join(import.meta.dirname, "..", "..", "node_modules", ".bin", "tsx");
  const parts = await Promise.all(
    Array.from(
      { length: provers },
      (_, k) =>
        new Promise<string[]>((resolve, reject) => {
          const child = spawn(tsx, args(k * per), { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d) => {
            out += d;
          });
          child.on("exit", (code) =>
            code === 0 ? resolve(out.trim().split("\n").filter(Boolean)) : reject(new Error(`prover ${k} exited ${code}`)),
          );
        }),
    ),
  );
  const hexes = parts.flat();
  onProgress?.(`proved ${hexes.length} reports with ${provers} provers`);
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, JSON.stringify({ key, blocks: hexes }));
  const { sha256: multihash } = await import("multiformats/hashes/sha2");
  return Promise.all(
    hexes.map(async (h) => {
      const bytes = Uint8Array.from(Buffer.from(h, "hex"));
      return { cid: CID.createV1(0x71, await multihash.digest(bytes)), bytes };
    }),
  );
}

/** Member i's week: 7 days spread over the 6 bands. */
function weekOf(i: number): number[] {
  const days = [0, 0, 0, 0, 0, 0];
  for (let d = 0; d < 7; d++) days[(i + d * (1 + (i % 3))) % 6] = (days[(i + d * (1 + (i % 3))) % 6] as number) + 1;
  return days;
}

// `tsx bench/lib/shared-job.ts USERS FROM TO REGISTRY CHAIN JOB KEY0 KEY1`: one prover's part of the fixture, one
// envelope (hex) per line on stdout. Everything it needs is deterministic: the members, the job, the keys.
if (process.argv[1] === import.meta.filename) {
  const [users, from, to, registry, chainId, jobId, key0, key1] = process.argv.slice(2) as string[];
  const identities = Array.from({ length: Number(users) }, (_, i) => deriveAvatarIdentity(seedOf(`member-${i}`)));
  const group = new Group(identities.map((x) => x.commitment));
  const job = { chainId: BigInt(chainId as string), registry: registry as string, jobId: BigInt(jobId as string) };
  const keys = [key0, key1].map((k) => Uint8Array.from(Buffer.from(k as string, "hex"))) as [Uint8Array, Uint8Array];
  const spec = withMode(kmPerDayJob({ epsilon: { num: 1, den: 1 } }), "shared");
  const started = performance.now();
  for (let i = Number(from); i < Number(to); i++) {
    const identity = identities[i] as (typeof identities)[number];
    const report = await shardReport({ spec, job, clamped: weekOf(i), aggregatorKeys: keys, nullifier: nullifierOf(identity, job) });
    const block = await encodeSubmission(await proveSharedSubmission(identity, group, job, report));
    process.stdout.write(`${Buffer.from(block.bytes).toString("hex")}\n`);
    const done = i + 1 - Number(from);
    if (done % 25 === 0)
      process.stderr.write(
        `shared: prover ${from}: ${done}/${Number(to) - Number(from)} (${((performance.now() - started) / done / 1000).toFixed(2)} s each)\n`,
      );
  }
  // The prover's wasm leaves handles open: leave once the last line is out.
  process.stdout.write("", () => process.exit(0));
}
