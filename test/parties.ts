// Separate parties as separate OS processes: each runs the `mosaic` bin the way a person types it, in one shared
// working directory (the network file and the dev keys `mosaic devnet` writes are the only thing they share). Used by
// the multi-process end-to-end test and the network bench.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadNetwork, type NetworkFile, sleep } from "@mosaic/protocol";

const ROOT = path.resolve(import.meta.dirname, "..");
export const MOSAIC_BIN = path.join(ROOT, "packages/cli/bin/mosaic.mjs");
export const PASSPHRASE = "correct horse battery staple";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A free TCP port on 127.0.0.1 (free when asked; bound by the caller soon after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A long-running `mosaic` process with what it printed so far. */
export interface Daemon {
  proc: ChildProcess;
  out: string;
  err: string;
}

export class Parties {
  readonly daemons: Daemon[] = [];
  network!: NetworkFile;
  /** The network file, relative to `dir`, as the parties pass it to --network. */
  readonly networkFile = path.join("networks", "devnet.json");

  private constructor(readonly dir: string) {}

  /** A fresh working directory with a devnet running in it (`mosaic devnet`, `accounts` user keys). */
  static async withDevnet(accounts: number, prefix = "mosaic-parties-"): Promise<Parties> {
    const parties = new Parties(await mkdtemp(path.join(tmpdir(), prefix)));
    const devnet = parties.start(["devnet", "--port", String(await freePort()), "--bootstrap-port", "0", "--accounts", String(accounts)]);
    await parties.waitFor(
      "the devnet",
      async () => {
        if (devnet.proc.exitCode !== null) throw new Error(`mosaic devnet exited ${devnet.proc.exitCode}:\n${devnet.err}`);
        return devnet.out.includes("Ctrl-C") ? true : undefined;
      },
      300_000,
    );
    parties.network = await loadNetwork(parties.networkFile, { cwd: parties.dir });
    return parties;
  }

  /** A dev account's key file (researcher, reducer-1, user-3, …), relative to `dir`. */
  key(name: string): string {
    return path.join("networks", "devnet-keys", `${name}.key`);
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries({
      ...process.env,
      MOSAIC_PASSPHRASE: PASSPHRASE,
      MOSAIC_LOG: "info",
      MOSAIC_NETWORK: undefined,
      // Node's on-disk compile cache: each command starts faster, most of its start being node_modules compiling.
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(tmpdir(), "node-compile-cache"),
      ...extra,
    }))
      if (v !== undefined) env[k] = v;
    return env;
  }

  /** Starts a long-running command (the devnet, a reducer); `stopAll` ends it. */
  start(args: string[]): Daemon {
    const proc = spawn(process.execPath, [MOSAIC_BIN, ...args], { cwd: this.dir, env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    const daemon: Daemon = { proc, out: "", err: "" };
    proc.stdout?.on("data", (c: Buffer) => (daemon.out += c.toString()));
    proc.stderr?.on("data", (c: Buffer) => (daemon.err += c.toString()));
    this.daemons.push(daemon);
    return daemon;
  }

  /** Runs one command to its end. */
  async run(args: string[]): Promise<Run> {
    const child = spawn(process.execPath, [MOSAIC_BIN, ...args], { cwd: this.dir, env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    return { code, stdout, stderr };
  }

  /** Runs one command that must succeed; throws with its output otherwise. */
  async ok(args: string[]): Promise<Run> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`mosaic ${args.join(" ")} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    return r;
  }

  async okJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse((await this.ok([...args, "--json"])).stdout) as T;
  }

  /** A JSON-RPC call to the devnet's anvil. */
  async rpc(method: string, params: unknown[] = []): Promise<unknown> {
    const res = await fetch(this.network.rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }

  async chainTime(): Promise<number> {
    const block = (await this.rpc("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
    return Number(BigInt(block.timestamp));
  }

  /** Moves anvil's clock forward to `timestamp` and mines a block (the devnet's own interval mining goes on). */
  async skipTo(timestamp: number): Promise<void> {
    const now = await this.chainTime();
    if (timestamp <= now) return;
    await this.rpc("evm_increaseTime", [timestamp - now]);
    await this.rpc("evm_mine");
  }

  /** Polls `probe` (errors count as "not yet") until it returns something. */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
    const t0 = Date.now();
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        if ((err as Error).message.startsWith("mosaic devnet exited")) throw err;
        last = err;
      }
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ""}`);
      await sleep(200);
    }
  }

  /**
   * Starts reducer `i` (its key is reducer-i) from the network file alone, with its status on `httpPort`, readable
   * from the web pages of `statusOrigins` (an app served on another port than the default).
   */
  startReducer(i: number, httpPort: number, statusOrigins: readonly string[] = []): Daemon {
    return this.start([
      "reducer",
      "start",
      "--network",
      this.networkFile,
      "--key-file",
      this.key(`reducer-${i}`),
      "--data-dir",
      `reducer-${i}`,
      "--http-port",
      String(httpPort),
      ...statusOrigins.flatMap((o) => ["--status-origin", o]),
    ]);
  }

  /** An operator stakes 1 ETH with reducer `i`'s key and starts it from the network file; resolves once it answers. */
  async startStakedReducer(i: number): Promise<{ daemon: Daemon; port: number; dataDir: string }> {
    await this.ok(["reducer", "stake", "--amount", "1", "--network", this.networkFile, "--wallet-key-file", this.key(`reducer-${i}`)]);
    const port = await freePort();
    const daemon = this.startReducer(i, port);
    await this.waitFor(`reducer on ${port}`, () => this.status(port, "/health"));
    return { daemon, port, dataDir: path.join(this.dir, `reducer-${i}`) };
  }

  /** User `i`'s vault directory, as --dir arguments. */
  user(i: number): string[] {
    return ["--dir", `user-${i}`];
  }

  /** User `i` makes a vault, imports `gpx` and registers the avatar in the open group from their own wallet. */
  async makeUser(i: number, gpx: string): Promise<void> {
    await this.ok(["vault", "init", ...this.user(i)]);
    await copyFile(gpx, path.join(this.dir, `track-${i}.gpx`));
    await this.ok(["vault", "import", `track-${i}.gpx`, ...this.user(i)]);
    await this.ok([
      "avatar",
      "register",
      "--group",
      String(this.network.openGroup),
      "--network",
      this.networkFile,
      "--wallet-key-file",
      this.key(`user-${i}`),
      ...this.user(i),
    ]);
  }

  /** GET on a reducer's loopback status port; undefined unless 200. */
  async status<T = Record<string, unknown>>(httpPort: number, route: string): Promise<T | undefined> {
    const res = await fetch(`http://127.0.0.1:${httpPort}${route}`, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  }

  /** SIGTERM to every daemon (latest first), SIGKILL to what is left after a grace period; removes the directory. */
  async stopAll(options: { keep?: boolean } = {}): Promise<void> {
    const live = () => this.daemons.filter((d) => d.proc.exitCode === null && d.proc.signalCode === null);
    for (const d of [...live()].reverse()) d.proc.kill("SIGTERM");
    const t0 = Date.now();
    while (live().length > 0 && Date.now() - t0 < 10_000) await sleep(100);
    for (const d of live()) d.proc.kill("SIGKILL");
    if (!options.keep) await rm(this.dir, { recursive: true, force: true });
  }
}
