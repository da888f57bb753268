// `mosaic demo`: one whole job on real parts — chain, IPFS nodes, gossipsub, Semaphore proofs, sealed vaults.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, loadGroup, registerAvatar, verifyArtifacts } from "@mosaic/avatar";
import { clampToOutput, kmPerDay, kmPerDaySpec, meanErrorBars } from "@mosaic/mapreduce";
import {
  connectChain,
  deployMosaic,
  encodeBlock,
  findEvent,
  fundedWallet,
  createIpfsNode,
  type IpfsNode,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { answerJob, openVault, type Vault } from "@mosaic/vault";
import { createReducer, type JobState, type Proposed } from "@mosaic/worker";
import { parseEther } from "ethers";
import { seededRandom, syntheticWeek } from "./synthetic.js";

export interface DemoOptions {
  /** @default 16 */
  users: number;
  /** External JSON-RPC endpoint; the in-process Hardhat network when absent. */
  rpcUrl?: string;
  /** Extra IPFS peers every node dials (multiaddrs). */
  peers: string[];
  /** Seconds of chain time the job collects for. @default 600 */
  collectSeconds: number;
  /** Seconds after collection in which reducers propose. @default 120 */
  challengeSeconds: number;
  /** Concurrent provers. @default 2 */
  concurrency: number;
  /** Seed for the synthetic population (not for any privacy noise). */
  seed: number;
  /** Print human progress (phases) to this stream. */
  print(line: string): void;
}

export interface DemoSummary {
  users: number;
  jobId: string;
  specCid: string;
  accepted: number;
  rejected: Record<string, number>;
  winner: string;
  bundleCid: string;
  days: Array<{ day: string; meanKm: number; truthKm: number; errorKm: number; within: boolean }>;
  allWithin: boolean;
  errorBars: { stdDevKm: number; halfWidthKm: number; z: number; confidence: string };
  epsilon: string;
  proofMs: { median: number; min: number; max: number };
  phases: Record<string, number>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The first log of `name` that `iface` emitted in a receipt; throws when the transaction emitted none. */
/** Runs the demo job end to end and returns its summary. */
export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    opts.print(`▶ ${name}`);
    const out = await fn();
    phases[name] = Math.round(performance.now() - t0) / 1000;
    opts.print(`  ✓ ${name} (${phases[name].toFixed(2)} s)`);
    return out;
  };
  const workDir = await mkdtemp(path.join(tmpdir(), "mosaic-demo-"));
  const nodes: IpfsNode[] = [];
  const vaults: Vault[] = [];
  const chain = await connectChain({ rpcUrl: opts.rpcUrl });
  try {
    await verifyArtifacts();
    const [deployer, reducerA, reducerB, researcher] = chain.accounts as [(typeof chain.accounts)[0], ...typeof chain.accounts];
    if (!deployer || !reducerA || !reducerB || !researcher) throw new Error("the chain needs 4 funded accounts");

    // 1. Contracts.
    const { contracts, groupId } = await phase("deploy contracts", async () => {
      const contracts = await deployMosaic(deployer, { unbondingDelay: 86_400n });
      const groupId = await createAvatarGroup(contracts, { name: "mosaic-demo", policy: "open" });
      opts.print(`  registry ${contracts.addresses.jobRegistry}, group ${groupId}, chain ${chain.chainId}`);
      return { contracts, groupId };
    });

    // IPFS: a researcher node and one node per reducer, all on loopback.
    const reducerNodes = await phase("start IPFS nodes", async () => {
      const a = await createIpfsNode({ peers: opts.peers });
      const b = await createIpfsNode({ peers: [...opts.peers, ...nodeAddresses(a)] });
      const r = await createIpfsNode({ peers: [...opts.peers, ...nodeAddresses(a), ...nodeAddresses(b)] });
      nodes.push(a, b, r);
      opts.print(`  reducer A ${a.libp2p.peerId}, reducer B ${b.libp2p.peerId}`);
      return { a, b, researcher: r };
    });

    // 2. Users: vaults with a week of location history, avatars registered in the group.
    const spec = kmPerDaySpec({ minParticipants: Math.min(3, opts.users) });
    const rand = seededRandom(opts.seed);
    const users = await phase(`create ${opts.users} users`, async () => {
      const out: Array<{ vault: Vault; truth: number[] }> = [];
      for (let i = 0; i < opts.users; i++) {
        const vault = await openVault(path.join(workDir, `user-${i}`), { rootSeed: randomBytes(32) });
        vaults.push(vault);
        const points = syntheticWeek(rand, spec.program.windowEnd, spec.program.days);
        await vault.addLocations(points);
        const truth = clampToOutput(kmPerDay(points, spec.program.days, spec.program.windowEnd), spec.output);
        const wallet = await fundedWallet(chain, deployer, parseEther("0.01"));
        await registerAvatar(contracts.avatarGroups.connect(wallet), groupId, vault.avatar.commitment);
        out.push({ vault, truth });
      }
      opts.print(
        `  group size ${await contracts.avatarGroups.groupSize(groupId)}, root ${await contracts.avatarGroups.groupRoot(groupId)}`,
      );
      return out;
    });

    // 3. Reducers stake; the researcher posts the job with the spec on IPFS and the reward in escrow.
    const { jobId, specCid } = await phase("post job", async () => {
      for (const r of [reducerA, reducerB]) await (await contracts.jobRegistry.connect(r).stake({ value: parseEther("1") })).wait();
      const specBlock = await encodeBlock(spec);
      await putBlock(reducerNodes.researcher.blockstore, specBlock);
      const deadline = (await chain.now()) + opts.collectSeconds;
      const tx = await contracts.jobRegistry
        .connect(researcher)
        .postJob(specBlock.cid.toString(), groupId, spec.minParticipants, deadline, opts.challengeSeconds, parseEther("0.5"), {
          value: parseEther("1"),
        });
      const receipt = await tx.wait();
      const posted = findEvent(receipt, contracts.jobRegistry.interface, "JobPosted");
      opts.print(
        `  job ${posted.args.jobId}: "${spec.title}", spec ${specBlock.cid}, reward 1 ETH, ε=${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den}`,
      );
      return { jobId: posted.args.jobId as bigint, specCid: specBlock.cid.toString() };
    });

    // Reducers start collecting.
    const states: JobState[] = [];
    const reducers = [
      createReducer(
        { ipfs: reducerNodes.a, registry: contracts.jobRegistry.connect(reducerA), chainId: chain.chainId, now: chain.now },
        { name: "reducer-a" },
      ),
      createReducer(
        { ipfs: reducerNodes.b, registry: contracts.jobRegistry.connect(reducerB), chainId: chain.chainId, now: chain.now },
        { name: "reducer-b" },
      ),
    ];
    const serving = reducers.map((r) => r.serveJob(jobId, { onState: (s) => states.push(s) }));
    for (const p of serving) p.catch(() => undefined);

    // 4. Each vault reviews, consents, maps, noises, proves and publishes; nothing touches the chain.
    const job = { chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId };
    const proofMs: number[] = [];
    await phase(`${opts.users} vaults answer (map, noise, prove, publish)`, async () => {
      const group = await loadGroup(contracts.avatarGroups, groupId);
      const onChain = (await contracts.jobRegistry.getJob(jobId)).groupRoot;
      if (group.root !== onChain) throw new Error(`rebuilt group root ${group.root} differs from the job's ${onChain}`);
      const reducerAddrs = [...nodeAddresses(reducerNodes.a), ...nodeAddresses(reducerNodes.b)];
      const collectionDeadline = Number((await contracts.jobRegistry.getJob(jobId)).collectionDeadline);
      let next = 0;
      let done = 0;
      const worker = async (): Promise<void> => {
        while (next < users.length) {
          const i = next++;
          const { vault } = users[i] as (typeof users)[number];
          const request = await vault.review(spec, job);
          if (i === 0) {
            opts.print(`  consent screen (user 0): ${request.requester} asks "${request.title}"`);
            opts.print(`    why: ${request.purpose}`);
            opts.print(
              `    reads: ${request.reads.map((r) => `${r.ability}[${r.fields.join(",")}]`).join("; ")}; program: built-in ${request.program.name}`,
            );
            opts.print(`    before noise (stays here): ${request.preview.raw.join(" ")} ${request.preview.unit}`);
            opts.print(`    would send (noised, ε=${request.epsilon.num}/${request.epsilon.den}): ${request.preview.payload.join(" ")}`);
          }
          await vault.consent(spec, request);
          // Each answer leaves from a throwaway node after a short random delay (kept small so the demo stays fast).
          const { proofMs: ms } = await answerJob(vault, job, group, {
            peers: [...opts.peers, ...reducerAddrs],
            collectionDeadline,
            now: await chain.now(),
            maxDelayMs: 2000,
            minRecipients: 2,
          });
          proofMs.push(ms);
          done++;
          if (done % 8 === 0 || done === users.length) opts.print(`  ${done}/${users.length} submitted`);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
    });

    // 5. Collection: wait for the reducers to see every submission, then let the deadline pass.
    await phase("collect, verify, reduce and propose", async () => {
      const waitUntil = Date.now() + 60_000;
      while (
        Date.now() < waitUntil &&
        !(
          states.length === 2 &&
          states.every((s) => s.accepted.size + Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0) >= users.length)
        )
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const deadline = states[0]?.collectionDeadline ?? 0;
      if (chain.simulated) await chain.increaseTime(Math.max(0, deadline - (await chain.now())));
      else while ((await chain.now()) < deadline) await new Promise((r) => setTimeout(r, 1000));
      const out: Proposed[] = await Promise.all(serving);
      for (const [i, s] of states.entries()) {
        opts.print(
          `  reducer ${i === 0 ? "A" : "B"}: ${s.announced} announced, ${s.accepted.size} accepted, ${s.duplicates} repeated, rejected ${JSON.stringify(s.rejected)}`,
        );
      }
      return out;
    });

    // 6. Finalise after the window; the winner withdraws its reward; the researcher reads the result.
    const result = await phase("finalise and pay", async () => {
      const j = await contracts.jobRegistry.getJob(jobId);
      if (chain.simulated) await chain.increaseTime(Math.max(0, Number(j.proposalDeadline) - (await chain.now())));
      else while ((await chain.now()) < Number(j.proposalDeadline)) await new Promise((r) => setTimeout(r, 1000));
      await (await contracts.jobRegistry.connect(researcher).finalizeJob(jobId)).wait();
      const index = await contracts.jobRegistry.winningProposal(jobId);
      const p = await contracts.jobRegistry.getProposal(jobId, index);
      // Both honest reducers publish the same bundle; the registry pays the earliest of equal counts.
      const addresses = await Promise.all([reducerA, reducerB].map((r) => r.getAddress()));
      const winner = [reducerA, reducerB][addresses.indexOf(p.proposer)];
      if (winner === undefined) throw new Error(`winner ${p.proposer} is not one of the demo's reducers`);
      await (await contracts.jobRegistry.connect(winner).withdraw()).wait();
      opts.print(`  winner ${p.proposer} paid; ${p.count} leaves, bundle ${p.bundleCid}`);
      return { aggregate: p.aggregate.map(Number), count: Number(p.count), winner: p.proposer, bundleCid: p.bundleCid };
    });

    const bars = meanErrorBars(spec, result.count);
    const days = spec.output.labels.map((day, d) => {
      const meanKm = (result.aggregate[d] as number) / Math.max(1, result.count);
      const truthKm = users.reduce((s, u) => s + (u.truth[d] as number), 0) / users.length;
      return { day, meanKm, truthKm, errorKm: meanKm - truthKm, within: Math.abs(meanKm - truthKm) <= bars.halfWidth };
    });
    const st = states[0];
    return {
      users: opts.users,
      jobId: jobId.toString(),
      specCid,
      accepted: result.count,
      rejected: (st?.rejected ?? {}) as Record<string, number>,
      winner: result.winner,
      bundleCid: result.bundleCid,
      days,
      allWithin: days.every((d) => d.within) && result.count === opts.users,
      errorBars: { stdDevKm: bars.stdDev, halfWidthKm: bars.halfWidth, z: bars.z, confidence: "99.99% per day (normal approximation)" },
      epsilon: `${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den}`,
      proofMs: { median: median(proofMs), min: Math.min(...proofMs), max: Math.max(...proofMs) },
      phases,
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Promise.allSettled(vaults.map((v) => v.close()));
    await chain.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The result table a person reads. */
export function formatSummary(s: DemoSummary): string {
  const lines = [
    "",
    `Result of job ${s.jobId}: mean km per participant per day (${s.accepted} of ${s.users} accepted, ε=${s.epsilon} local DP)`,
    "  day          result    truth    error   ±bound",
    ...s.days.map(
      (d) =>
        `  ${d.day}  ${d.meanKm.toFixed(1).padStart(7)}  ${d.truthKm.toFixed(1).padStart(7)}  ${d.errorKm.toFixed(1).padStart(7)}  ${s.errorBars.halfWidthKm.toFixed(1).padStart(7)}  ${d.within ? "ok" : "OUTSIDE"}`,
    ),
    `  expected DP error per day: σ = ${s.errorBars.stdDevKm.toFixed(1)} km; bound = ${s.errorBars.z}σ (${s.errorBars.confidence})`,
    `  proof time per user: median ${(s.proofMs.median / 1000).toFixed(2)} s (min ${(s.proofMs.min / 1000).toFixed(2)}, max ${(s.proofMs.max / 1000).toFixed(2)})`,
    `  phases: ${Object.entries(s.phases)
      .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
      .join("; ")}`,
    s.allWithin ? "  every day is within the stated error of the truth" : "  SOME DAYS ARE OUTSIDE THE STATED ERROR",
  ];
  return lines.join("\n");
}
