// Shared-mode figures. Each figure is an async function returning its JSON lines; `main` runs them all, or those
// named (`npm run bench -- shared shared.reports_per_s`). BENCH_RUNS (default 5) repeats each timing;
// BENCH_REPORTS (default 300) sets the reports per run; progress goes to stderr.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { JobRef, JobSpec } from "@mosaic/protocol";
import {
  aggregateShares,
  kmPerDayJob,
  withMode,
  finishReport,
  generateKeyPair,
  prepareShare,
  type SharedReport,
  shardReport,
  sharedSpecProblem,
  sharedVdafOf,
  verifyKeyOf,
} from "@mosaic/mapreduce";
import { runSharedJob } from "./lib/shared-job.js";

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
const progress = (message: string) => process.stderr.write(`shared: ${message}\n`);
const print = (figure: Figure) => console.log(JSON.stringify({ ...figure, ...machine }));

/** The km-per-day job in shared mode: each aggregator's σ² alone gives (ε, 1e-6) at the output's L2 sensitivity. */
const sharedKmPerDay = (): JobSpec => withMode(kmPerDayJob(), "shared");

const JOB: JobRef = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: (1n << 128n) + 1n };

/** A distinct 256-bit stand-in for report i's Semaphore nullifier (its shares are bound to it). */
const nullifierOf = (i: number): bigint => (0x9e3779b97f4a7c15n << 192n) + BigInt(i);

/**
 * shared.reports_per_s: reports one aggregator (the leader, on this one thread) takes from encrypted report to
 * aggregate: decrypt its share, prepareInit, then with the helper's prep share unshard, prepareNext, and sum the
 * output shares. The km-per-day shape in shared mode: 6 entries [0, 7], Prio3SumVec (bits 3). The reports and the
 * helper's prep shares are made before the clock starts. The helper's own rate is reported beside it.
 */
async function reportsPerSecond(): Promise<Figure[]> {
  const reports = Number(process.env.BENCH_REPORTS ?? 300);
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const spec = sharedKmPerDay();
  const problem = sharedSpecProblem(spec);
  if (problem !== undefined) throw new Error(`shared bench: the km-per-day spec is not a shared spec: ${problem}`);
  const { kind, length, bits } = sharedVdafOf(spec);
  const pairs = [generateKeyPair(), generateKeyPair()];
  const keys: [Uint8Array, Uint8Array] = [pairs[0]?.publicKey as Uint8Array, pairs[1]?.publicKey as Uint8Array];
  const secrets = [pairs[0]?.secretKey as Uint8Array, pairs[1]?.secretKey as Uint8Array];
  const verifyKeys = ([0, 1] as const).map((index) => verifyKeyOf({ job: JOB, mySecret: secrets[index] as Uint8Array, keys, index }));
  progress(`making ${reports} ${kind} reports (${length} entries, ${bits} bits)`);
  const batch: SharedReport[] = [];
  for (let i = 0; i < reports; i++) {
    const days = [0, 0, 0, 0, 0, 0];
    for (let d = 0; d < 7; d++) days[(i * 7 + d * 3) % 6] = (days[(i * 7 + d * 3) % 6] as number) + 1;
    batch.push(await shardReport({ spec, job: JOB, clamped: days, aggregatorKeys: keys, nullifier: nullifierOf(i) }));
  }
  const prepareAll = (index: 0 | 1) =>
    Promise.all(
      batch.map((report, i) =>
        prepareShare({
          spec,
          job: JOB,
          index,
          mySecret: secrets[index] as Uint8Array,
          verifyKey: verifyKeys[index] as Uint8Array,
          report,
          nullifier: nullifierOf(i),
        }),
      ),
    );
  const peerPrep = { 0: (await prepareAll(1)).map((p) => p.prepShare), 1: (await prepareAll(0)).map((p) => p.prepShare) };

  const rate = async (index: 0 | 1): Promise<number> => {
    const started = performance.now();
    const outputs: bigint[][] = [];
    for (const [i, report] of batch.entries()) {
      const mine = await prepareShare({
        spec,
        job: JOB,
        index,
        mySecret: secrets[index] as Uint8Array,
        verifyKey: verifyKeys[index] as Uint8Array,
        report,
        nullifier: nullifierOf(i),
      });
      const other = peerPrep[index][i] as Uint8Array;
      const prepShares: [Uint8Array, Uint8Array] = index === 0 ? [mine.prepShare, other] : [other, mine.prepShare];
      outputs.push(await finishReport({ spec, state: mine.state, prepShares }));
    }
    aggregateShares(spec, outputs);
    return reports / ((performance.now() - started) / 1000);
  };
  const leader: number[] = [];
  const helper: number[] = [];
  for (let r = 0; r < runs; r++) {
    leader.push(await rate(0));
    helper.push(await rate(1));
    progress(`run ${r + 1}/${runs}: leader ${leader.at(-1)?.toFixed(0)} reports/s, helper ${helper.at(-1)?.toFixed(0)} reports/s`);
  }
  return [
    {
      name: "shared.reports_per_s",
      value: Math.round(median(leader)),
      unit: "reports/s",
      n: reports,
      runs,
      aggregator: "leader",
      helper_reports_per_s: Math.round(median(helper)),
      vdaf: `Prio3SumVec(length ${length}, bits ${bits})`,
    },
  ];
}

/**
 * shared.e2e_1000_users_s: a whole shared-mode job of BENCH_USERS (default 1,000) members on real parts, from both
 * aggregators collecting to the job finalised (runSharedJob; medians of BENCH_JOB_RUNS, default 3). The reports'
 * proofs are made once into .cache/bench and not counted.
 */
async function wholeSharedJob(): Promise<Figure[]> {
  const users = Number(process.env.BENCH_USERS ?? 1000);
  const runs = Number(process.env.BENCH_JOB_RUNS ?? 3);
  const results: Awaited<ReturnType<typeof runSharedJob>>[] = [];
  for (let r = 0; r < runs; r++) {
    results.push(await runSharedJob(users, progress));
    progress(`run ${r + 1}/${runs}: ${results.at(-1)?.totalS.toFixed(2)} s, ${results.at(-1)?.committed} reports committed`);
  }
  const sorted = [...results].sort((a, b) => a.totalS - b.totalS);
  const mid = sorted[Math.floor(sorted.length / 2)] as (typeof results)[number];
  return [
    {
      name: `shared.e2e_${users}_users_s`,
      value: Number(mid.totalS.toFixed(2)),
      unit: "s",
      n: users,
      runs,
      committed: mid.committed,
      all_runs_s: results.map((x) => Number(x.totalS.toFixed(2))),
      ...Object.fromEntries(Object.entries(mid.phases).map(([k, v]) => [k, Number(v.toFixed(2))])),
    },
  ];
}

/** Every figure of this bench by name, in the order `main` runs them. */
export const FIGURES: Record<string, () => Promise<Figure[]>> = {
  "shared.reports_per_s": reportsPerSecond,
  "shared.e2e_1000_users_s": wholeSharedJob,
};

/** Runs the named figures (all when none are named) and prints each as a JSON line as soon as it is measured. */
export async function main(names: readonly string[] = []): Promise<void> {
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0) throw new Error(`shared bench: no figure ${unknown.join(", ")}; choose from ${Object.keys(FIGURES).join(", ")}`);
  for (const [name, measure] of Object.entries(FIGURES)) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const figure of await measure()) print(figure);
  }
}

// Run when started as `tsx bench/shared.ts [figure…]` or through `tsx bench/run.ts shared [figure…]`, not when
// another file imports a figure.
const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
else if (path.basename(entry).startsWith("run.") && process.argv[2] === "shared") await main(process.argv.slice(3));
