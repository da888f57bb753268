// A whole job's world for the reduce benchmark: an in-process chain with a 1,000-member registrar group and a posted
// km-per-day job, deployed in a fixed order so contract addresses, the group root and the job id repeat run after run,
// and a cached fixture of real Semaphore proofs for it (built once: ~30 min of proving on 2 cores).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createAvatarGroup, deriveAvatarIdentity, encodeSubmission, Group, proveSubmission, type Submission } from "@mosaic/avatar";
import { encodeSpec, postJobArgs, kmPerDayJob, privatize, seededUniform } from "@mosaic/mapreduce";
import { type Block, type ChainConnection, deployMosaic, findEvent, type JobSpec, type MosaicContracts } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { sha256 } from "@noble/hashes/sha2";
import { parseEther } from "ethers";

export interface JobWorld {
  chain: ChainConnection;
  contracts: MosaicContracts;
  groupId: bigint;
  group: Group;
  spec: JobSpec;
  specBlock: Block;
  job: { chainId: bigint; registry: string; jobId: bigint };
}

const CACHE = path.join(import.meta.dirname, "..", "..", ".cache", "bench");

/** Deploys, admits `members` avatars in batches of 100, stakes one reducer (account 1) and posts job 1. */
export async function createJobWorld(members: number, onProgress?: (line: string) => void): Promise<JobWorld> {
  const chain = await connectInProcessChain();
  const [deployer, reducer, researcher] = chain.accounts;
  if (!deployer || !reducer || !researcher) throw new Error("the in-process chain needs 3 accounts");
  const contracts = await deployMosaic(deployer);
  const groupId = await createAvatarGroup(contracts, { name: "bench", policy: "registrar", registrar: await deployer.getAddress() });
  const commitments = Array.from({ length: members }, (_, i) => identityOf(i).commitment);
  for (let at = 0; at < members; at += 100) {
    await (await contracts.avatarGroups.registerBatch(groupId, commitments.slice(at, at + 100))).wait();
    onProgress?.(`admitted ${Math.min(at + 100, members)}/${members}`);
  }
  await (await contracts.jobRegistry.connect(reducer).stake({ value: parseEther("1") })).wait();
  const spec = kmPerDayJob({
    collectionDeadline: (await chain.now()) + 86_400,
    minParticipants: 1,
    epsilon: { num: 2, den: 1 },
    minStake: parseEther("1").toString(),
  });
  const specBlock = await encodeSpec(spec);
  const post = postJobArgs(spec, specBlock.cid.toString(), groupId);
  const tx = await contracts.jobRegistry.connect(researcher).postJob(...post.args, { value: post.value });
  const jobId = findEvent(await tx.wait(), contracts.jobRegistry.interface, "JobPosted").args.jobId as bigint;
  return {
    chain,
    contracts,
    groupId,
    group: new Group(commitments),
    spec,
    specBlock,
    job: { chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId },
  };
}

function identityOf(i: number) {
  return deriveAvatarIdentity(sha256(new TextEncoder().encode(`mosaic-bench-member-${i}`)));
}

/**
 * The submission blocks of all members for the world's job: read from the cache when it was built for the same
 * registry, job and group root, else proved now (and cached).
 */
export async function submissionFixture(world: JobWorld, onProgress?: (done: number, total: number) => void): Promise<Block[]> {
  const members = world.group.size;
  const key = `${world.job.chainId}-${world.job.registry.toLowerCase()}-${world.job.jobId}-${world.group.root}`;
  const file = path.join(CACHE, `submissions-${members}.json`);
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as {
      key: string;
      submissions: Array<Omit<Submission, "job"> & { proof: Submission["proof"] }>;
    };
    if (cached.key === key) {
      return Promise.all(cached.submissions.map((s) => encodeSubmission({ ...s, job: world.job } as Submission)));
    }
  }
  const rand = seededUniform("mosaic-bench-payloads");
  const out: Submission[] = [];
  for (let i = 0; i < members; i++) {
    const truth = new Array(world.spec.output.entries.length).fill(0);
    truth[i % truth.length] = 7;
    const payload = privatize(truth, world.spec.output, world.spec.privacy, rand);
    out.push(await proveSubmission(identityOf(i), world.group, world.job, payload));
    onProgress?.(i + 1, members);
  }
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, JSON.stringify({ key, submissions: out.map(({ job: _job, ...rest }) => rest) }));
  return Promise.all(out.map((s) => encodeSubmission(s)));
}

// `npx tsx bench/lib/job-world.ts [members]`: builds (or checks) the proof fixture.
if (process.argv[1] === import.meta.filename) {
  const members = Number(process.argv[2] ?? 1000);
  const world = await createJobWorld(members, (l) => process.stderr.write(`${l}\n`));
  const started = performance.now();
  const blocks = await submissionFixture(world, (done, total) => {
    if (done % 25 === 0 || done === total)
      process.stderr.write(`proved ${done}/${total} (${((performance.now() - started) / done / 1000).toFixed(2)} s each)\n`);
  });
  console.log(JSON.stringify({ members, blocks: blocks.length, seconds: (performance.now() - started) / 1000 }));
  await world.chain.close();
}
