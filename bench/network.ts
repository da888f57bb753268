import os from "node:os";
import path from "node:path";
import { Parties } from "../test/parties.js";
import { bundleFetchFigures } from "./lib/bundle-fetch.js";
import { catchupFigures } from "./lib/catchup.js";
import { cliHelpFigures } from "./lib/cli-help.js";

const USERS = Number(process.env.BENCH_USERS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const ONLY = process.env.BENCH_ONLY;
const GPX = path.resolve(import.meta.dirname, "../packages/vault/test/fixtures/track.gpx");
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const print = (figure: Record<string, unknown>) => console.log(JSON.stringify({ ...figure, machine }));
const progress = (line: string) => process.stderr.write(`bench network: ${line}\n`);

/** Runs `work(i)` for i in 1..n, `CONCURRENCY` at a time, reporting progress every tenth. */
async function pool(label: string, n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 1;
  let done = 0;
  const worker = async () => {
    while (next <= n) {
      const i = next++;
      await work(i);
      done++;
      if (done % Math.max(1, Math.floor(n / 10)) === 0 || done === n) progress(`${label}: ${done}/${n}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
}

async function jobFigures(): Promise<void> {
  const phases: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round((now - t) / 100) / 10;
    t = now;
    progress(`${name}: ${phases[name]} s`);
  };
  const p = await Parties.withDevnet(USERS, "mosaic-bench-network-");
  try {
    lap("devnet_s");
    const ports: number[] = [];
    for (const i of [1, 2]) ports.push((await p.startStakedReducer(i)).port);
    lap("reducers_s");
    await pool("vaults", USERS, (i) => p.makeUser(i, GPX));
    lap("vaults_s");
    await p.ok([
      "job",
      "new",
      "km-per-day",
      "--deadline-in",
      "86400",
      "--challenge-window",
      "60",
      "--min-participants",
      "3",
      "--out",
      "km.json",
    ]);
    const posted = await p.okJson<{ jobId: string }>([
      "job",
      "post",
      "km.json",
      "--group",
      String(p.network.openGroup),
      "--network",
      p.networkFile,
      "--wallet-key-file",
      p.key("researcher"),
    ]);
    const jobId = String(posted.jobId);
    for (const port of ports) await p.waitFor(`reducer ${port} on job ${jobId}`, () => p.status(port, `/jobs/${jobId}`));
    lap("post_s");
    const listMs: number[] = [];
    for (let k = 0; k < 6; k++) {
      const t0 = performance.now();
      await p.ok(["job", "list", "--network", p.networkFile]);
      listMs.push(performance.now() - t0);
    }
    await pool("answers", USERS, async (i) => {
      await p.ok(["vault", "answer", jobId, "--yes", "--delay-max", "0", "--network", p.networkFile, ...p.user(i)]);
    });
    lap("answers_s");
    for (const port of ports)
      await p.waitFor(
        `reducer ${port} holding ${USERS}`,
        async () => {
          const job = await p.status<{ accepted?: number }>(port, `/jobs/${jobId}`);
          return (job?.accepted ?? 0) >= USERS ? true : undefined;
        },
        600_000,
      );
    lap("verified_s");
    const { standing } = await p.okJson<{ standing: { collectionDeadline: number } }>(["job", "result", jobId, "--network", p.networkFile]);
    await p.skipTo(standing.collectionDeadline + 1);
    for (const port of ports)
      await p.waitFor(
        `reducer ${port} proposing`,
        async () => {
          const job = await p.status<{ proposed?: unknown }>(port, `/jobs/${jobId}`);
          return job?.proposed ? true : undefined;
        },
        600_000,
      );
    lap("proposed_s");
    await p.skipTo(standing.collectionDeadline + 2 * 60 + 5);
    const final = await p.waitFor(
      "the job to be final",
      async () => {
        const r = await p.okJson<{ standing: { stage: string }; count?: number }>(["job", "result", jobId, "--network", p.networkFile]);
        return r.standing.stage === "final" ? r : undefined;
      },
      600_000,
    );
    lap("finalised_s");
    const total = Object.entries(phases)
      .filter(([k]) => ["post_s", "answers_s", "verified_s", "proposed_s", "finalised_s"].includes(k))
      .reduce((a, [, v]) => a + v, 0);
    print({
      name: "network.job_200_users_s",
      value: Math.round(total * 10) / 10,
      unit: "s",
      n: USERS,
      counted: final.count,
      phases,
      concurrency: CONCURRENCY,
    });
    print({ name: "cli.job_list_ms", value: Math.round(median(listMs.slice(1))), unit: "ms", n: listMs.length - 1, target: 1500 });
  } finally {
    await p.stopAll();
  }
}

if (ONLY === undefined || ONLY === "cli") await cliHelpFigures();
if (ONLY === undefined || ONLY === "bundle") await bundleFetchFigures();
if (ONLY === undefined || ONLY === "catchup") await catchupFigures();
if (ONLY === undefined || ONLY === "job") await jobFigures();
