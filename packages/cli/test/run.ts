// Runs the real `mosaic` CLI in a child process, for the CLI's end-to-end tests.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";

const BIN = path.resolve(import.meta.dirname, "../src/bin.ts");
// Resolved here, so the CLI can run from any working directory (the default --dir is relative to it).
const TSX = import.meta.resolve("tsx");
export const PASSPHRASE = "correct horse battery staple";

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

/** Starts `mosaic vault ...args` with the passphrase in MOSAIC_PASSPHRASE unless `env` says otherwise. */
export function start(args: string[], options: RunOptions): ChildProcessWithoutNullStreams {
  return startMosaic(["vault", ...args], options);
}

/** Starts `mosaic ...argv` (any command), with the passphrase in MOSAIC_PASSPHRASE unless `env` says otherwise. */
export function startMosaic(argv: string[], options: RunOptions): ChildProcessWithoutNullStreams {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, MOSAIC_PASSPHRASE: PASSPHRASE, MOSAIC_LOG: "warn", ...options.env })) {
    if (v !== undefined) env[k] = v;
  }
  // process.execPath, not node_modules/.bin/tsx: its shebang may name another Node.
  return spawn(process.execPath, ["--import", TSX, BIN, ...argv], { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
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
