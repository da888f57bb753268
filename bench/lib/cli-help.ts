// cli.help_ms: how long the installed `mosaic --help` takes, process start to exit, as a user's shell runs
// node_modules/.bin/mosaic (the launcher and the esbuild bundle in packages/cli/dist, on the project's Node 24).
// cli.help_npx_ms: the same through `npx mosaic --help`, which adds npm's own start-up (on the machine's Node).
// Each: one warm-up run (disk cache), then RUNS timed runs; the median is the figure.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const RUNS = 10;
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Runs `file ...args` to its exit; the wall time in ms, or an error naming the command if it failed. */
function timed(file: string, args: string[]): Promise<number> {
  // As npx and npm scripts run it: the project's node_modules/.bin (its Node 24 among them) first on PATH.
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}${path.delimiter}${process.env.PATH}` };
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      if (code !== 0 || !stdout.startsWith("mosaic — ")) reject(new Error(`${file} ${args.join(" ")} exited ${code}: ${stderr}`));
      else resolve(ms);
    });
  });
}

async function medianOf(file: string, args: string[]): Promise<number> {
  await timed(file, args);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) ms.push(await timed(file, args));
  return Math.round(median(ms));
}

/** Prints cli.help_ms (target ≤ 500) and cli.help_npx_ms as JSON lines, medians of 10 runs. */
export async function cliHelpFigures(): Promise<void> {
  const bin = path.join(ROOT, "node_modules/.bin/mosaic");
  if (!existsSync(path.join(ROOT, "packages/cli/dist/bin.mjs"))) {
    throw new Error("cli.help_ms: the CLI bundle is missing; run 'npm run build:cli' (or 'npm install') first");
  }
  const direct = await medianOf(bin, ["--help"]);
  console.log(JSON.stringify({ name: "cli.help_ms", value: direct, unit: "ms", n: RUNS, target: 500, ...machine }));
  const npx = await medianOf("npx", ["--no-install", "mosaic", "--help"]);
  console.log(JSON.stringify({ name: "cli.help_npx_ms", value: npx, unit: "ms", n: RUNS, ...machine }));
}
