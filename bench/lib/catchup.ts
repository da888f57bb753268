// network.catchup_s: a reducer that was down while another received 1,000 announcements comes back, finds the other
// through the ReducerDirectory, asks it for its holdings and fetches every block it missed. Timed from its start()
// until it holds all 1,000 (journalled after fetching), and until it has judged them all.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type AnySubmission, decodeSubmission, encodeSubmission } from "@mosaic/avatar";
import {
  type Block,
  bytes32ToBigint,
  createIpfsNode,
  createLogger,
  jobTopic,
  nodeAddresses,
  putBlock,
  SNARK_SCALAR_FIELD,
  waitForTopicPeers,
  waitUntil,
} from "@mosaic/protocol";
import { createReducerNode, parseReducerConfig, type ReducerNode } from "@mosaic/worker";
import { parseEther } from "ethers";
import { createJobWorld, submissionFixture } from "./job-world.js";

const N = 1000;

/** `n` submissions for the world's job: one real proof's points and payload under `n` distinct random nullifiers. */
async function syntheticSubmissions(template: AnySubmission, n: number): Promise<Block[]> {
  const out: Block[] = [];
  for (let i = 0; i < n; i++) {
    const nullifier = (bytes32ToBigint(randomBytes(32)) % SNARK_SCALAR_FIELD).toString();
    out.push(await encodeSubmission({ ...template, proof: { ...template.proof, nullifier } }));
  }
  return out;
}

export async function catchupFigures(): Promise<void> {
  const world = await createJobWorld(2);
  const [template] = await submissionFixture(world);
  const blocks = await syntheticSubmissions(decodeSubmission((template as Block).bytes), N);
  const work = await mkdtemp(path.join(tmpdir(), "mosaic-bench-catchup-"));
  const publisher = await createIpfsNode();
  const signers = [world.chain.accounts[1], world.chain.accounts[3]];
  await (await world.contracts.jobRegistry.connect(signers[1]).stake({ value: parseEther("1") })).wait();
  const nodes: ReducerNode[] = [];
  const start = async (i: number): Promise<ReducerNode> => {
    const config = parseReducerConfig(
      {
        rpcUrl: "http://in-process",
        registry: world.contracts.addresses.jobRegistry,
        directory: world.contracts.addresses.reducerDirectory,
        operatorKeyFile: "unused",
        dataDir: path.join(work, `reducer-${i}`),
        peers: nodeAddresses(publisher),
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 2, batchSize: 64, batchWaitMs: 100 },
        pollMs: 100,
      },
      path.join(work, "reducer.json"),
    );
    const node = createReducerNode(config, {
      chain: world.chain,
      signer: signers[i],
      logger: createLogger(`reducer-${i}`, "error"),
      // The synthetic proofs do not verify: both reducers accept them all the same (verification still runs).
      hooks: () => ({ acceptInvalidProof: () => true }),
    });
    await node.start();
    nodes[i] = node;
    return node;
  };
  const id = world.job.jobId.toString();
  const progress = (node: ReducerNode) => node.job(id) ?? {};
  try {
    await putBlock(publisher.blockstore, world.specBlock);
    for (const b of blocks) await putBlock(publisher.blockstore, b);
    const a = await start(0);
    const b = await start(1);
    await waitUntil("both reducers to collect", () => [a, b].every((n) => progress(n).state === "collecting"), { timeoutMs: 60_000 });
    await b.stop();
    const topic = jobTopic(world.job);
    await waitForTopicPeers(publisher, topic, 1, { timeoutMs: 10_000 });
    for (const block of blocks) await publisher.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(block.cid.toString()));
    await waitUntil("reducer 0 to accept every submission", () => progress(a).accepted === N, { timeoutMs: 600_000, intervalMs: 100 });

    const t0 = performance.now();
    const back = await start(1);
    await waitUntil("reducer 1 to hold every submission", () => Number(progress(back).announced ?? 0) >= N, {
      timeoutMs: 600_000,
      intervalMs: 20,
      detail: () => JSON.stringify(progress(back)),
    });
    const held = (performance.now() - t0) / 1000;
    await waitUntil("reducer 1 to judge every submission", () => progress(back).accepted === N, { timeoutMs: 600_000, intervalMs: 20 });
    const judged = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        name: "network.catchup_s",
        value: Number(held.toFixed(3)),
        unit: "s",
        n: N,
        judged_s: Number(judged.toFixed(3)),
        note: "from the restarted reducer's start() until it holds all 1,000 blocks (found the other reducer in the directory, read its holdings, fetched over bitswap on loopback); judged_s adds batch verification. Synthetic submissions: one real proof's points under 1,000 random nullifiers, accepted by a test hook although the proofs fail (the verifier still runs)",
      }),
    );
  } finally {
    for (const n of nodes) await n?.stop().catch(() => undefined);
    await publisher.stop();
    await world.chain.close();
    await rm(work, { recursive: true, force: true });
  }
}

// `npx tsx bench/lib/catchup.ts`: prints the figure.
if (process.argv[1] === import.meta.filename) {
  await catchupFigures();
  process.exit(0);
}
