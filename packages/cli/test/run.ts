// Runs the real `mosaic` CLI in a child process, for the CLI's end-to-end tests: the esbuild bundle in dist/ (what
// `npx mosaic` runs), rebuilt first when the source changed since, so each call skips tsx's per-start compile.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

const ROOT = path.resolve(import.meta.dirname, "../../..");
/** The bundled CLI's entry, run directly with this process's Node (the launcher in bin/ only adds a staleness check). */
export const CLI_BUNDLE = path.join(ROOT, "packages/cli/dist/bin.mjs");
export const PASSPHRASE = "correct horse battery staple";
/**
 * Node's on-disk compile cache for the children (Node's own default place): each run starts ~20% faster, as most of
 * a run's start is compiling ethers, libp2p and Helia from node_modules. An environment that sets it keeps its own.
 */
export const COMPILE_CACHE = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(tmpdir(), "node-compile-cache") };

/** Whether dist/ exists and no workspace source file it was built from changed after it. */
function bundleIsFresh(): boolean {
  try {
    const built = statSync(CLI_BUNDLE).mtimeMs;
    const meta = JSON.parse(readFileSync(path.join(ROOT, "packages/cli/dist/meta.json"), "utf8")) as { inputs: Record<string, unknown> };
    return Object.keys(meta.inputs)
      .filter((input) => input.startsWith("packages/"))
      .every((input) => statSync(path.join(ROOT, input)).mtimeMs <= built);
  } catch {
    return false; // no bundle, or a source file it was built from is gone
  }
}

let checked = false;
/** Rebuilds the bundle (scripts/build-cli.mjs, ~0.3 s) once per test process if it is missing or stale. */
export function ensureCliBundle(): string {
  if (checked) return CLI_BUNDLE;
  if (!bundleIsFresh()) {
    try {
      execFileSync(process.execPath, [path.join(ROOT, "scripts/build-cli.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      // Another test process may have swapped in a fresh build at the same moment; only a still-stale bundle is fatal.
      if (!bundleIsFresh()) throw err;
    }
  }
  checked = true;
  return CLI_BUNDLE;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Where to run, and environment overrides (undefined removes a variable). */
export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
}

/** The command line that runs `mosaic ...argv`: this process's Node (a shebang may name another) on the bundle. */
export function mosaicCommand(argv: string[]): string[] {
  return [process.execPath, ensureCliBundle(), ...argv];
}

/** Starts `mosaic vault ...args` with the passphrase in MOSAIC_PASSPHRASE unless `env` says otherwise. */
export function start(args: string[], options: RunOptions): ChildProcessWithoutNullStreams {
  return startMosaic(["vault", ...args], options);
}

/** Starts `mosaic ...argv` (any command), with the passphrase in MOSAIC_PASSPHRASE unless `env` says otherwise. */
export function startMosaic(argv: string[], options: RunOptions): ChildProcessWithoutNullStreams {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...process.env,
    ...COMPILE_CACHE,
    MOSAIC_PASSPHRASE: PASSPHRASE,
    MOSAIC_LOG: "warn",
    ...options.env,
  })) {
    if (v !== undefined) env[k] = v;
  }
  const [node, ...args] = mosaicCommand(argv) as [string, ...string[]];
  return spawn(node, args, { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
}

/** Runs `mosaic vault ...args` to completion, non-interactive (no TTY); `options` may be just the working directory. */
export function vault(args: string[], options: RunOptions | string): Promise<Run> {
  return mosaic(["vault", ...args], options);
}

/** Runs `mosaic ...argv` to completion, non-interactive (no TTY). */
export function mosaic(argv: string[], options: RunOptions | string): Promise<Run> {
  const child = startMosaic(argv, typeof options === "string" ? { cwd: options } : options);
  child.stdin.end();
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON object a successful `--json` run printed. */
export function json<T = Record<string, unknown>>(run: Run): T {
  expect(run.code, `exit code; stderr:\n${run.stderr}`).to.equal(0);
  return JSON.parse(run.stdout) as T;
}

/** A failed run: its exit code, and `mosaic: <name>: ...` on stderr. */
export function failed(run: Run, code: number, name: string, message?: RegExp): void {
  expect(run.code, `exit code; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).to.equal(code);
  expect(run.stderr).to.match(new RegExp(`^mosaic: ${name}: `, "m"));
  if (message !== undefined) expect(run.stderr).to.match(message);
  expect(run.stderr, "no stack trace").not.to.match(/\n\s+at /);
}
