// One whole job with many users on real parts, timed per phase: chain setup, reducer start, announce, collect
// (fetch over bitswap, check, batch-verify real proofs, journal), propose (reduce, bundle, transaction), finalise.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createIpfsNode, createLogger, jobTopic, nodeAddresses, putBlock, waitForTopicPeers, waitUntil } from "@mosaic/protocol";
import { createReducerNode, parseReducerConfig } from "@mosaic/worker";
import { createJobWorld, submissionFixture } from "./job-world.js";

export interface JobRun {
  users: number;
  accepted: number;
  totalS: number;
  phases: Record<string, number>;
}

/** Runs the job once; the proof fixture is built first if it is not cached (that time is not counted). */
export async function runWholeJob(users: number, onProgress?: (line: string) => void): Promise<JobRun> {
  const phases: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    phases[name] = (t - t0) / 1000;
    t0 = t;
  };
  const world = await createJobWorld(users);
  lap("chain_setup_s");
  const blocks = await submissionFixture(world, (done, total) => {
    if (done % 50 === 0) onProgress?.(`proving fixture ${done}/${total}`);
  });
  t0 = performance.now();
  const work = await mkdtemp(path.join(tmpdir(), "mosaic-bench-job-"));
  const publisher = await createIpfsNode();
  const reducerSigner = world.chain.accounts[1];
  const config = parseReducerConfig(
    {
      rpcUrl: "http://in-process",
      registry: world.contracts.addresses.jobRegistry,
      operatorKeyFile: "unused",
      dataDir: path.join(work, "reducer"),
      peers: nodeAddresses(publisher),
      http: { host: "127.0.0.1", port: 0 },
      verifier: { threads: 2, batchSize: 64, batchWaitMs: 100 },
      pollMs: 100,
    },
    path.join(work, "reducer.json"),
  );
  const node = createReducerNode(config, { chain: world.chain, signer: reducerSigner, logger: createLogger("bench", "error") });
  try {
    await putBlock(publisher.blockstore, world.specBlock);
    for (const b of blocks) await putBlock(publisher.blockstore, b);
    await node.start();
    const id = world.job.jobId.toString();
    const progress = () => node.job(id) ?? {};
    await waitUntil("the reducer to collect", () => progress().state === "collecting", { timeoutMs: 60_000, intervalMs: 50 });
    lap("reducer_start_s");
    const topic = jobTopic(world.job);
    await waitForTopicPeers(publisher, topic, 1, { timeoutMs: 10_000 });
    for (const b of blocks) await publisher.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(b.cid.toString()));
    lap("announce_s");
    let last = 0;
    await waitUntil(
      "every submission to be judged",
      () => {
        const p = progress();
        const judged = Number(p.accepted ?? 0) + Object.values((p.rejected as Record<string, number>) ?? {}).reduce((a, b) => a + b, 0);
        if (judged - last >= 100) {
          last = judged;
          onProgress?.(`collected ${judged}/${users}`);
        }
        return judged >= users;
      },
      { timeoutMs: 1_800_000, intervalMs: 50 },
    );
    lap("collect_verify_s");
    await world.chain.increaseTime(world.spec.collectionDeadline - (await world.chain.now()) + 1);
    await waitUntil("the reducer to propose", () => progress().state === "proposed", { timeoutMs: 600_000, intervalMs: 50 });
    lap("reduce_propose_s");
    await world.chain.increaseTime(2 * world.spec.challengeWindow + 1);
    await waitUntil("the reducer to finalise", () => progress().state === "finalized", { timeoutMs: 120_000, intervalMs: 50 });
    lap("finalise_s");
    const accepted = Number(progress().accepted ?? 0);
    const totalS = Object.entries(phases)
      .filter(([k]) => k !== "chain_setup_s")
      .reduce((a, [, v]) => a + v, 0);
    return { users, accepted, totalS, phases };
  } finally {
    await node.stop();
    await publisher.stop();
    await world.chain.close();
    await rm(work, { recursive: true, force: true });
  }
}
