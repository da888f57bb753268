// Reduce figures. Each figure is an exported async function returning its JSON lines; `main` runs them all, or
// those named after the bench (`npm run bench -- reduce reduce.leaves_per_s`). Add a figure to `FIGURES`.
// BENCH_RUNS (default 5) repeats each timing; BENCH_LEAVES (default 10000,100000) sets the tree sizes; progress goes
// to stderr.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { combine, type Leaf, liftPayload, reduceTree, submissionDigest } from "@mosaic/mapreduce";
import type { ReducerSpec } from "@mosaic/protocol";
import { AbiCoder, keccak256 } from "ethers";
import { runWholeJob } from "./lib/job-e2e.js";
import { measureSandboxOverhead } from "./lib/map-overhead.js";

/** One line of output: a figure's median value and whatever describes how it was measured. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  n: number;
  [extra: string]: unknown;
}

const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const progress = (message: string) => process.stderr.write(`reduce: ${message}\n`);
const print = (figure: Figure) => console.log(JSON.stringify({ ...figure, ...machine }));

/** The BN254 scalar field order: Semaphore nullifiers are below it. */
const FIELD = 21888242871839275222246405745257275088548364400416021690395562135764400161024n;

/** `n` accepted leaves as a reducer holds them after checking proofs: random nullifiers, noisy km-per-day payloads. */
export function randomLeaves(n: number, payloadLength = 7): Leaf[] {
  return Array.from({ length: n }, () => ({
    nullifier: (BigInt(`0x${randomBytes(32).toString("hex")}`) % FIELD).toString(),
    submission: "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74",
    value: Array.from({ length: payloadLength }, () => Math.floor(Math.random() * 460) - 60),
  }));
}

/** The incumbent: the same tree hashed through ethers' AbiCoder and keccak256, as the reducer did before. */
export function ethersTreeRoot(leaves: readonly Leaf[], reducer: ReducerSpec): string {
  const abi = AbiCoder.defaultAbiCoder();
  const sorted = [...leaves].sort((a, b) => {
    const x = BigInt(a.nullifier);
    const y = BigInt(b.nullifier);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  let level = sorted.map((l) => ({
    hash: keccak256(
      abi.encode(["uint8", "uint256", "bytes32", "int256[]"], [0, BigInt(l.nullifier), submissionDigest(l.submission), l.value]),
    ),
    value: liftPayload(reducer, l.value),
  }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      if (right === undefined) {
        next.push(left);
        continue;
      }
      const value = combine(left.value, right.value);
      next.push({ hash: keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, left.hash, right.hash, value])), value });
    }
    level = next;
  }
  return level[0]?.hash ?? `0x${"00".repeat(32)}`;
}

export interface LeavesPerSecondInit {
  /** Tree sizes. @default [10000, 100000] (or BENCH_LEAVES) */
  sizes?: number[];
  /** Timed runs per size, for ours and for the baseline. @default 5 (or BENCH_RUNS) */
  runs?: number;
  /** @default 7 */
  payloadLength?: number;
}

/**
 * `reduce.leaves_per_s`: reduceTree (sort, hash every leaf and node, sum) over pre-verified leaves with a sum
 * reducer on one core, against the ethers-encoded tree in the same run; both must give the same root.
 */
export async function leavesPerSecond(init: LeavesPerSecondInit = {}): Promise<Figure[]> {
  const sizes = init.sizes ?? (process.env.BENCH_LEAVES ?? "10000,100000").split(",").map(Number);
  const runs = init.runs ?? Number(process.env.BENCH_RUNS ?? 5);
  const payloadLength = init.payloadLength ?? 7;
  const reducer: ReducerSpec = { kind: "sum" };
  const figures: Figure[] = [];
  for (const n of sizes) {
    const leaves = randomLeaves(n, payloadLength);
    const root = reduceTree(leaves, reducer, payloadLength).treeRoot; // warm-up, and the root to compare against
    ethersTreeRoot(leaves.slice(0, 2000), reducer); // the baseline's warm-up
    const ours: number[] = [];
    const baseline: number[] = [];
    for (let r = 0; r < runs; r++) {
      progress(`${n} leaves: run ${r + 1}/${runs}`);
      let t0 = performance.now();
      const result = reduceTree(leaves, reducer, payloadLength);
      ours.push(n / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      const incumbent = ethersTreeRoot(leaves, reducer);
      baseline.push(n / ((performance.now() - t0) / 1000));
      if (result.treeRoot !== root || incumbent !== root)
        throw new Error(`reduce bench: roots differ (${result.treeRoot}, ethers ${incumbent}); the encoding is wrong`);
    }
    const value = median(ours);
    const base = median(baseline);
    figures.push({
      name: "reduce.leaves_per_s",
      value: Math.round(value),
      unit: "leaves/s",
      n,
      runs,
      payload_length: payloadLength,
      reducer: reducer.kind,
      threads: 1,
      baseline: Math.round(base),
      ratio: Number((value / base).toFixed(2)),
      target: 50_000,
    });
  }
  return figures;
}

/** Every figure of this bench by name, in the order `main` runs them. */
export const FIGURES: Record<string, () => Promise<Figure[]>> = {
  "reduce.leaves_per_s": () => leavesPerSecond(),
  "map.sandbox_overhead": sandboxOverhead,
  "reduce.e2e_1000_users_s": wholeJob,
};

/** The sandboxed program against the same computation as a pipeline (km-per-day histogram, one week of fixes a minute). */
async function sandboxOverhead(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 15);
  const r = await measureSandboxOverhead(runs);
  if (!r.same) throw new Error("the sandboxed program and the pipeline disagree; the comparison is void");
  return [
    { name: "map.sandbox_overhead", value: r.ratio, unit: "ratio", n: r.rows, sandbox_ms: r.sandboxMs, pipeline_ms: r.pipelineMs, runs },
  ];
}

/**
 * A whole job with BENCH_USERS (default 1000) users and real proofs from the cached fixture (built once, not
 * timed), wall time per phase; `value` is everything after chain setup: reducer start to finalised. The median of
 * BENCH_JOB_RUNS (default 3) runs, reported with that run's phases.
 */
async function wholeJob(): Promise<Figure[]> {
  const users = Number(process.env.BENCH_USERS ?? 1000);
  const runs = Number(process.env.BENCH_JOB_RUNS ?? 3);
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await runWholeJob(users, progress);
    if (r.accepted !== users) throw new Error(`only ${r.accepted} of ${users} submissions were accepted`);
    progress(`job run ${i + 1}/${runs}: ${r.totalS.toFixed(2)} s`);
    results.push(r);
  }
  // The median run, with its own phases.
  const mid = [...results].sort((a, b) => a.totalS - b.totalS)[Math.floor(runs / 2)] as (typeof results)[number];
  return [{ name: `reduce.e2e_${users}_users_s`, value: mid.totalS, unit: "s", n: users, runs, ...mid.phases }];
}

/** Runs the named figures (all when none are named) and prints each as a JSON line as soon as it is measured. */
export async function main(names: readonly string[] = []): Promise<void> {
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0) throw new Error(`reduce bench: no figure ${unknown.join(", ")}; choose from ${Object.keys(FIGURES).join(", ")}`);
  for (const [name, measure] of Object.entries(FIGURES)) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const figure of await measure()) print(figure);
  }
}

// Run when started as `tsx bench/reduce.ts [figure…]` or through `tsx bench/run.ts reduce [figure…]`, not when
// another file imports a figure.
const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
else if (path.basename(entry).startsWith("run.") && process.argv[2] === "reduce") await main(process.argv.slice(3));
