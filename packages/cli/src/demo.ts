// `mosaic demo`: one whole job on real parts — chain, IPFS nodes, gossipsub, Semaphore proofs, sealed vaults.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, loadGroup, publishSubmission, registerAvatar, verifyArtifacts } from "@mosaic/avatar";
import { DAY_S, encodeSpec, estimateResult, kmPerDayJob, postJobArgs, postSharedJobArgs, withMode } from "@mosaic/mapreduce";
import {
  createIpfsNode,
  createLogger,
  deployMosaic,
  findEvent,
  fundedWallet,
  type IpfsNode,
  type JobMode,
  jobLabel,
  type SharedJobs,
  nodeAddresses,
  putBlock,
  sleep,
  waitUntil,
  revealedResults,
} from "@mosaic/protocol";
import { answerJob, answerSharedJobWith, openVault, type Vault } from "@mosaic/vault";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "@mosaic/worker";
import { parseEther } from "ethers";
import { connectDemoChain, phaseTimer } from "./demo-parts.js";
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
  /**
   * local: each vault noises its answer; shared: each vault splits its exact answer into two encrypted Prio3 shares,
   * the two reducer nodes aggregate them as the job's aggregators and each adds its noise to the sum. @default "local"
   */
  mode?: JobMode;
  /** The job's ε. @default 8/1 in local mode, 1/1 in shared mode */
  epsilon?: { num: number; den: number };
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
  /** One row per output entry: the estimate from the noised aggregate, the truth before noise, and the error bar. */
  rows: Array<{ label: string; estimate: number; projected?: number; truth: number; error: number; halfWidth: number; within: boolean }>;
  allWithin: boolean;
  /** The bound each row is checked against: z standard deviations of the noise. */
  errorBars: { z: number; confidence: string };
  unit: string;
  epsilon: string;
  mode: JobMode;
  proofMs: { median: number; min: number; max: number };
  phases: Record<string, number>;
}

/** Error bars the demo checks rows against: 99.99% two-sided, so a correct run fails about once in 10^4 per row. */
const Z_CHECK = 3.89;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Runs the demo job end to end and returns its summary. */
export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const { phases, phase } = phaseTimer(opts.print);
  const workDir = await mkdtemp(path.join(tmpdir(), "mosaic-demo-"));
  const nodes: IpfsNode[] = [];
  const vaults: Vault[] = [];
  const reducerNodes: ReducerNode[] = [];
  // Hardhat is loaded only for the in-process network, never when the demo runs against an external chain.
  const chain = await connectDemoChain(opts.rpcUrl);
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

    // IPFS: the researcher's node; each reducer node starts its own (and its status port) below.
    const researcherNode = await phase("start IPFS nodes", async () => {
      const node = await createIpfsNode({ peers: opts.peers });
      nodes.push(node);
      return node;
    });

    // 2. Users: vaults with a week of location history, avatars registered in the group.
    const deadline0 = (await chain.now()) + opts.collectSeconds;
    const mode = opts.mode ?? "local";
    const spec = withMode(
      kmPerDayJob({
        collectionDeadline: deadline0,
        challengeWindow: opts.challengeSeconds,
        minParticipants: Math.min(3, opts.users),
        epsilon: opts.epsilon ?? (mode === "shared" ? { num: 1, den: 1 } : { num: 8, den: 1 }),
        reward: parseEther("1").toString(),
        minStake: parseEther("0.5").toString(),
      }),
      mode,
    );
    const window = spec.program.kind === "pipeline" ? spec.program.steps.find((st) => st.op === "window") : undefined;
    if (window?.op !== "window") throw new Error("the km-per-day job reads a time window");
    const days = Math.round((window.to - window.from) / DAY_S);
    const rand = seededRandom(opts.seed);
    const users = await phase(`create ${opts.users} users`, async () => {
      const out: Array<{ vault: Vault }> = [];
      for (let i = 0; i < opts.users; i++) {
        const vault = await openVault(path.join(workDir, `user-${i}`), { rootSeed: randomBytes(32) });
        vaults.push(vault);
        await vault.addLocations(syntheticWeek(rand, window.to, days));
        const wallet = await fundedWallet(chain, deployer, parseEther("0.01"));
        await registerAvatar(contracts.avatarGroups.connect(wallet), groupId, vault.avatar.commitment);
        out.push({ vault });
      }
      opts.print(
        `  group size ${await contracts.avatarGroups.groupSize(groupId)}, root ${await contracts.avatarGroups.groupRoot(groupId)}`,
      );
      return out;
    });

    // 3. Two reducer nodes (journals on disk, batch verifier, status port) stake and watch the chain.
    const reducerSigners = [reducerA, reducerB];
    const reducers = await phase("start reducer nodes", async () => {
      const out: ReducerNode[] = [];
      for (const [i, signer] of reducerSigners.entries()) {
        await (await contracts.jobRegistry.connect(signer).stake({ value: parseEther("1") })).wait();
        const config = parseReducerConfig(
          {
            rpcUrl: "http://in-process",
            registry: contracts.addresses.jobRegistry,
            // The nodes register their aggregator keys here at start, so the researcher can choose them.
            sharedJobs: contracts.addresses.sharedJobs,
            operatorKeyFile: "unused",
            dataDir: path.join(workDir, `reducer-${i}`),
            // Each also dials the ones started before it: in shared mode the two aggregators fetch each other's prep shares.
            peers: [...opts.peers, ...nodeAddresses(researcherNode), ...out.flatMap((r) => r.addresses())],
            http: { host: "127.0.0.1", port: 0 },
            verifier: { threads: 1, batchSize: 16, batchWaitMs: 100 },
            pollMs: 200,
          },
          path.join(workDir, "reducer.json"),
        );
        const node = createReducerNode(config, { chain, signer, logger: createLogger(`reducer-${i}`) });
        reducerNodes.push(node);
        const status = await node.start();
        out.push(node);
        opts.print(`  reducer ${i} ${status.operator}: peer ${status.peerId}, status ${status.http}`);
      }
      return out;
    });

    // 4. The researcher posts the job: spec on IPFS, reward in escrow.
    const shared = contracts.sharedJobs as SharedJobs;
    const reducerAddresses = (await Promise.all(reducerSigners.map((r) => r.getAddress()))) as [string, string];
    const { jobId, specCid } = await phase("post job", async () => {
      const specBlock = await encodeSpec(spec);
      await putBlock(researcherNode.blockstore, specBlock);
      const epsilon = `ε=${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den}`;
      if (mode === "shared") {
        const post = postSharedJobArgs(spec, specBlock.cid, groupId, reducerAddresses);
        const receipt = await (await shared.connect(researcher).postSharedJob(...post.args, { value: post.value })).wait();
        const id = findEvent(receipt, shared.interface, "SharedJobPosted").args.jobId as bigint;
        opts.print(`  job ${jobLabel(id)} (shared mode): "${spec.title}", spec ${specBlock.cid}, reward 1 ETH, ${epsilon}`);
        opts.print(`    aggregators ${reducerAddresses.join(" and ")}: each gets one encrypted share of every answer`);
        return { jobId: id, specCid: specBlock.cid.toString() };
      }
      const post = postJobArgs(spec, specBlock.cid.toString(), groupId);
      const tx = await contracts.jobRegistry.connect(researcher).postJob(...post.args, { value: post.value });
      const receipt = await tx.wait();
      const posted = findEvent(receipt, contracts.jobRegistry.interface, "JobPosted");
      opts.print(`  job ${posted.args.jobId}: "${spec.title}", spec ${specBlock.cid}, reward 1 ETH, ${epsilon}`);
      return { jobId: posted.args.jobId as bigint, specCid: specBlock.cid.toString() };
    });
    const progress = (node: ReducerNode) => node.job(jobId.toString()) ?? {};
    await waitUntil("the reducers to pick up the job", () => reducers.every((r) => progress(r).state === "collecting"), {
      timeoutMs: 30_000,
    });

    // 5. Each vault reviews, consents, maps, noises, proves and publishes; nothing touches the chain.
    const job = {
      chainId: chain.chainId,
      registry: mode === "shared" ? (await shared.getAddress()).toLowerCase() : contracts.addresses.jobRegistry,
      jobId,
    };
    const aggregatorKeys =
      mode === "shared"
        ? ((await shared.getSharedJob(jobId)).aggregatorKeys.map((k) => Uint8Array.from(Buffer.from(k.slice(2), "hex"))) as [
            Uint8Array,
            Uint8Array,
          ])
        : undefined;
    const proofMs: number[] = [];
    const truth = new Array<number>(spec.output.entries.length).fill(0);
    const answering = mode === "shared" ? "map, split into encrypted shares, prove, publish" : "map, noise, prove, publish";
    await phase(`${opts.users} vaults answer (${answering})`, async () => {
      const group = await loadGroup(contracts.avatarGroups, groupId);
      const onChain =
        mode === "shared" ? (await shared.getSharedJob(jobId)).groupRoot : (await contracts.jobRegistry.getJob(jobId)).groupRoot;
      if (group.root !== onChain) throw new Error(`rebuilt group root ${group.root} differs from the job's ${onChain}`);
      const reducerAddrs = reducers.flatMap((r) => r.addresses());
      let next = 0;
      let done = 0;
      const worker = async (): Promise<void> => {
        while (next < users.length) {
          const i = next++;
          const { vault } = users[i] as (typeof users)[number];
          const request = await vault.review(spec, job);
          request.preview.raw.forEach((x, k) => {
            truth[k] = (truth[k] as number) + x;
          });
          if (i === 0) {
            opts.print(`  consent screen (user 0): ${request.requester} asks "${request.title}"`);
            opts.print(`    why: ${request.purpose}`);
            for (const line of request.programText) opts.print(`    ${line}`);
            if (mode === "shared") {
              opts.print(`    your answer (split in two encrypted shares, never sent whole): ${request.preview.payload.join(" ")}`);
              for (const line of request.disclosure ?? []) opts.print(`    ${line}`);
            } else {
              opts.print(`    before noise (stays here): ${request.preview.raw.join(" ")} ${request.preview.unit}`);
              opts.print(`    would send (noised, ε=${request.epsilon.num}/${request.epsilon.den}): ${request.preview.payload.join(" ")}`);
            }
          }
          await vault.consent(spec, request);
          // Each answer leaves from a throwaway node after a short random delay (kept small so the demo stays fast).
          const init = {
            peers: [...opts.peers, ...reducerAddrs],
            collectionDeadline: spec.collectionDeadline,
            now: await chain.now(),
            maxDelayMs: 2000,
            minRecipients: 2,
          };
          const { proofMs: ms } =
            aggregatorKeys === undefined
              ? await answerJob(vault, job, group, init)
              : await answerSharedJobWith({ publish: publishSubmission }, vault, job, group, aggregatorKeys, { ...init, spec });
          proofMs.push(ms);
          done++;
          if (done % 8 === 0 || done === users.length) opts.print(`  ${done}/${users.length} submitted`);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
    });

    // 6. Collection: wait for the reducers to judge every submission, let the deadline pass, and they propose.
    await phase(
      mode === "shared" ? "collect, verify, prepare, exchange and commit shares" : "collect, verify, reduce and propose",
      async () => {
        const judged = (r: ReducerNode) => {
          const p = progress(r);
          return Number(p.accepted ?? 0) + Object.values((p.rejected as Record<string, number>) ?? {}).reduce((a, b) => a + b, 0);
        };
        await waitUntil("the reducers to verify every submission", () => reducers.every((r) => judged(r) >= users.length), {
          timeoutMs: 60_000,
        }).catch(() => undefined);
        if (chain.simulated) await chain.increaseTime(Math.max(0, spec.collectionDeadline - (await chain.now())));
        else while ((await chain.now()) < spec.collectionDeadline) await sleep(1000);
        if (mode === "shared")
          await waitUntil(
            "both aggregators to commit and reveal their noised shares",
            async () => (await Promise.all([0, 1].map((i) => shared.getCommit(jobId, i)))).every((c) => c.revealed),
            { timeoutMs: 60_000 },
          );
        else
          await waitUntil("both reducers to propose", () => reducers.every((r) => progress(r).state === "proposed"), { timeoutMs: 60_000 });
        for (const [i, r] of reducers.entries()) {
          const p = progress(r);
          opts.print(
            `  reducer ${i}: ${p.announced} announced, ${p.accepted} accepted, ${p.duplicates} repeated, rejected ${JSON.stringify(p.rejected)}`,
          );
        }
      },
    );

    // 7. After the window a reducer finalises; the winner withdraws; the researcher reads the result.
    const result = await phase("finalise and pay", async () => {
      // Proposals close one window after the deadline; challenges one window later; then the job may be finalised.
      const finalizeAfter = spec.collectionDeadline + 2 * spec.challengeWindow;
      if (chain.simulated) await chain.increaseTime(Math.max(0, finalizeAfter - (await chain.now())));
      else while ((await chain.now()) < finalizeAfter) await sleep(1000);
      if (mode === "shared") {
        await waitUntil("an aggregator to finalise the job", async () => (await shared.getSharedJob(jobId)).state !== 1n, {
          timeoutMs: 60_000,
        });
        const record = await shared.getSharedJob(jobId);
        if (record.state !== 2n) throw new Error(`the shared job was refunded (reason ${record.refundReason}), not finalised`);
        const commit = await shared.getCommit(jobId, 0);
        for (const signer of reducerSigners) await (await shared.connect(signer).withdraw()).wait();
        opts.print(`  both aggregators paid half the reward; ${commit.count} reports in the agreed share set ${commit.shareSetRoot}`);
        return {
          aggregate: (await shared.resultOf(jobId)).map(Number),
          count: Number(commit.count),
          winner: reducerAddresses.join(" and "),
          bundleCid: commit.bundleCid,
          rejected: progress(reducers[0] as ReducerNode).rejected as Record<string, number>,
        };
      }
      await waitUntil("a reducer to finalise the job", async () => (await contracts.jobRegistry.getJob(jobId)).state !== 1n, {
        timeoutMs: 60_000,
      });
      const index = await contracts.jobRegistry.winningProposal(jobId);
      const p = await contracts.jobRegistry.getProposal(jobId, index);
      // Both honest reducers publish the same bundle; the registry pays the earliest of equal counts.
      const addresses = await Promise.all(reducerSigners.map((r) => r.getAddress()));
      const winner = reducerSigners[addresses.indexOf(p.proposer)];
      if (winner === undefined) throw new Error(`winner ${p.proposer} is not one of the demo's reducers`);
      await (await contracts.jobRegistry.connect(winner).withdraw()).wait();
      const revealed = (await revealedResults(contracts.jobRegistry, jobId)).get(Number(index));
      if (revealed === undefined) throw new Error(`the winning proposal ${index} has no ResultProposed event`);
      opts.print(`  winner ${p.proposer} paid; ${p.count} leaves, bundle ${revealed.bundleCid}`);
      const rejected = progress(reducers[0] as ReducerNode).rejected as Record<string, number>;
      return {
        aggregate: revealed.aggregate.map(Number),
        count: Number(p.count),
        winner: p.proposer,
        bundleCid: revealed.bundleCid,
        rejected,
      };
    });
    await Promise.all(reducers.map((r) => r.stop()));

    const estimate = estimateResult(spec, result.aggregate, result.count);
    const rows = estimate.rows.map((r, k) => {
      const t = truth[k] as number;
      const halfWidth = Z_CHECK * r.stdDev;
      return {
        label: r.label,
        estimate: r.estimate,
        projected: r.projected,
        truth: t,
        error: r.estimate - t,
        halfWidth,
        within: Math.abs(r.estimate - t) <= halfWidth,
      };
    });
    return {
      users: opts.users,
      jobId: jobLabel(jobId),
      specCid,
      accepted: result.count,
      rejected: result.rejected ?? {},
      winner: result.winner,
      bundleCid: result.bundleCid,
      rows,
      allWithin: rows.every((r) => r.within) && result.count === opts.users,
      errorBars: { z: Z_CHECK, confidence: "99.99% per row (normal approximation)" },
      unit: spec.output.unit,
      epsilon: `${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den}`,
      mode,
      proofMs: { median: median(proofMs), min: Math.min(...proofMs), max: Math.max(...proofMs) },
      phases,
    };
  } finally {
    await Promise.allSettled(reducerNodes.map((r) => r.stop()));
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
    `Result of job ${s.jobId}: ${s.unit} per band over all participants (${s.accepted} of ${s.users} accepted, ε=${s.epsilon} ${s.mode === "shared" ? "shared mode: two aggregators' noise on the sum" : "local DP"})`,
    "  band              estimate  projected    truth    error   ±bound",
    ...s.rows.map(
      (d) =>
        `  ${d.label.padEnd(16)}  ${d.estimate.toFixed(1).padStart(7)}  ${(d.projected ?? d.estimate).toFixed(1).padStart(9)}  ${d.truth.toFixed(1).padStart(7)}  ${d.error.toFixed(1).padStart(7)}  ${d.halfWidth.toFixed(1).padStart(7)}  ${d.within ? "ok" : "OUTSIDE"}`,
    ),
    `  bound = ${s.errorBars.z}σ of the summed noise (${s.errorBars.confidence}); projected: the estimate made non-negative and summing to the known total (post-processing, same privacy)`,
    `  proof time per user: median ${(s.proofMs.median / 1000).toFixed(2)} s (min ${(s.proofMs.min / 1000).toFixed(2)}, max ${(s.proofMs.max / 1000).toFixed(2)})`,
    `  phases: ${Object.entries(s.phases)
      .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
      .join("; ")}`,
    s.allWithin ? "  every row is within the stated error of the truth" : "  SOME ROWS ARE OUTSIDE THE STATED ERROR",
  ];
  return lines.join("\n");
}
