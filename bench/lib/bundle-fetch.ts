// How long a 100,000-leaf result bundle takes to move between two IPFS nodes: one Helia node holds every block of
// it, a second (fresh each run, so nothing is cached) opens it by its root CID and reads every chunk over bitswap on
// loopback, as a watcher does. Prints bundle.fetch_100k_s with the bundle's block count and its largest block.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { encodeBundle, type Leaf, MAX_BUNDLE_BLOCK_BYTES, openBundle, reduceTree, submissionCid } from "@mosaic/mapreduce";
import { createIpfsNode, dialPeer, getBlock, type IpfsNode, nodeAddresses, parseCid, putBlock, type ReducerSpec } from "@mosaic/protocol";

export interface BundleFetchInit {
  /**
   * Leaves in the bundle.
   * @default 100000
   */
  leaves?: number;
  /**
   * Entries per payload (km per day over a week).
   * @default 7
   */
  payloadLength?: number;
  /**
   * Timed fetches; the median is reported.
   * @default 3
   */
  runs?: number;
  /**
   * Progress lines for a human.
   * @default writes "bundle-fetch: <message>" to stderr
   */
  onProgress?(message: string): void;
}

/** The BN254 scalar field order: Semaphore nullifiers are below it. */
const FIELD = 21888242871839275222246405745257275088548364400416021690395562135764400161024n;
const SUM: ReducerSpec = { kind: "sum" };

/** `n` synthetic accepted leaves: random nullifiers, a distinct submission CID each, noisy km-per-day payloads. */
function syntheticLeaves(n: number, payloadLength: number): Leaf[] {
  return Array.from({ length: n }, () => ({
    nullifier: (BigInt(`0x${randomBytes(32).toString("hex")}`) % FIELD).toString(),
    submission: submissionCid(randomBytes(32)),
    value: Array.from({ length: payloadLength }, () => Math.floor(Math.random() * 460) - 60),
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Measures bundle.fetch_100k_s and prints it as one JSON line; both nodes are stopped before it returns. */
export async function bundleFetchFigures(init: BundleFetchInit = {}): Promise<void> {
  const n = init.leaves ?? 100_000;
  const payloadLength = init.payloadLength ?? 7;
  const runs = init.runs ?? 3;
  const progress = init.onProgress ?? ((message: string) => process.stderr.write(`bundle-fetch: ${message}\n`));

  progress(`building a ${n}-leaf tree and its bundle`);
  const result = reduceTree(syntheticLeaves(n, payloadLength), SUM, payloadLength);
  const bundle = await encodeBundle({
    job: { chain: 31337, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", id: 1 },
    spec: parseCid("bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74"),
    reducer: SUM,
    payloadLength,
    result,
  });
  const blocks = [...bundle.blocks, bundle.root];
  const maxBlockBytes = Math.max(...blocks.map((b) => b.bytes.length));
  const totalBytes = blocks.reduce((sum, b) => sum + b.bytes.length, 0);
  if (maxBlockBytes > MAX_BUNDLE_BLOCK_BYTES) throw new Error(`a bundle block is ${maxBlockBytes} bytes, over the limit`);
  progress(`${blocks.length} blocks, ${(totalBytes / 1e6).toFixed(1)} MB, the largest ${maxBlockBytes} bytes`);

  const nodes: IpfsNode[] = [];
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  try {
    const holder = await createIpfsNode();
    nodes.push(holder);
    for (const block of blocks) await putBlock(holder.blockstore, block);
    const address = nodeAddresses(holder)[0] as string;
    for (let run = 0; run < runs; run++) {
      // A fresh fetcher each run: an empty blockstore, so every block crosses the wire.
      const fetcher = await createIpfsNode();
      nodes.push(fetcher);
      await dialPeer(fetcher, address);
      const started = performance.now();
      const cpu = process.cpuUsage();
      const reader = await openBundle(bundle.root.cid, (cid, { maxBytes }) =>
        getBlock(fetcher.blockstore, cid, { maxBytes, signal: AbortSignal.timeout(60_000) }),
      );
      const all = await reader.readAll();
      const elapsed = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      if (reader.fetched.blocks !== blocks.length || all.leaves.length !== n || all.levels.at(-1)?.[0] !== result.treeRoot)
        throw new Error(`run ${run + 1}: fetched ${reader.fetched.blocks} of ${blocks.length} blocks, or a different tree`);
      seconds.push(elapsed);
      cpuSeconds.push((used.user + used.system) / 1e6);
      progress(`run ${run + 1}/${runs}: ${elapsed.toFixed(2)} s (${(cpuSeconds.at(-1) as number).toFixed(2)} s of CPU, both nodes)`);
      await fetcher.stop();
      nodes.pop();
    }
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop()));
  }
  console.log(
    JSON.stringify({
      name: "bundle.fetch_100k_s",
      value: Number(median(seconds).toFixed(3)),
      unit: "s",
      n,
      blocks: blocks.length,
      max_block_bytes: maxBlockBytes,
      total_bytes: totalBytes,
      runs: seconds.map((s) => Number(s.toFixed(3))),
      // CPU time of both nodes (one process) per run: on a loaded machine, wall time minus this is mostly waiting.
      cpu_s: cpuSeconds.map((s) => Number(s.toFixed(3))),
      load_avg_1m: Number(os.loadavg()[0]?.toFixed(2)),
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
    }),
  );
}
