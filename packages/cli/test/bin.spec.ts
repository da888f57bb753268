// The installed `mosaic` command: node_modules/.bin/mosaic (bin/mosaic.mjs) running the esbuild bundle in dist/,
// as a user starts it (`npx mosaic …`). The bundle is rebuilt from the current source first (scripts/build-cli.mjs).
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { connectChain, deployMosaic, waitUntil } from "@mosaic/protocol";
import { expect } from "chai";
import { Wallet } from "ethers";
import { network } from "hardhat";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const DIST = path.join(ROOT, "packages/cli/dist");
const BIN = path.join(ROOT, "node_modules/.bin/mosaic");
// As npx and npm scripts run it: the project's node_modules/.bin (its Node 24 among them) first on PATH.
const ENV = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}${path.delimiter}${process.env.PATH}`, MOSAIC_LOG: "info" };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface Output {
  imports: { path: string; kind: string; external?: boolean }[];
  entryPoint?: string;
  inputs: Record<string, unknown>;
}

describe("the mosaic bin: npx mosaic runs the bundled CLI", function () {
  this.timeout(180_000);
  let outputs: Record<string, Output>;

  before(async () => {
    await promisify(execFile)(process.execPath, [path.join(ROOT, "scripts/build-cli.mjs")], { cwd: ROOT });
    outputs = JSON.parse(await readFile(path.join(DIST, "meta.json"), "utf8")).outputs;
  });

  it("answers --help from node_modules/.bin/mosaic: the command list, exit 0, nothing on stderr", async () => {
    const r = await run(BIN, ["--help"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^mosaic — decentralised MapReduce over IPFS and Ethereum\n/);
    for (const command of ["demo", "vault", "avatar", "job", "reducer"]) expect(r.stdout).to.match(new RegExp(`^  ${command} `, "m"));
    expect(r.stderr).to.equal("");
  });

  it("runs a command's own --help through npx mosaic", async () => {
    const r = await run("npx", ["--no-install", "mosaic", "job", "--help"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^mosaic job — /);
    expect(r.stdout).to.include("Usage: mosaic job <command> [options]");
  });

  it("runs from the TypeScript source through tsx as npm run mosaic, which the other CLI specs do not", async () => {
    // The other CLI specs spawn the bundle (packages/cli/test/run.ts); this keeps `npm run mosaic -- …` proven.
    const r = await run("npm", ["run", "--silent", "mosaic", "--", "job", "new", "km-per-day"]);
    expect(r.code, r.stderr).to.equal(0);
    const spec = JSON.parse(r.stdout) as { version: number; title: string };
    expect(spec.version).to.equal(1);
    expect(spec.title).to.be.a("string");
  });

  it("exits 2 on an unknown command, naming it, with the help on stderr and nothing on stdout", async () => {
    const r = await run(BIN, ["deploy-everything"]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal("");
    expect(r.stderr).to.include('mosaic: unknown command "deploy-everything"');
    expect(r.stderr).to.include("Usage: mosaic <command> [options]");
  });

  it("says how to build it when dist/ is missing, and exits 1", async () => {
    // The launcher alone, in a package directory without dist/ (the real dist stays for concurrent runs).
    const dir = await mkdtemp(path.join(tmpdir(), "mosaic-bin-"));
    try {
      await cp(path.join(ROOT, "packages/cli/bin/mosaic.mjs"), path.join(dir, "bin/mosaic.mjs"));
      const r = await run(process.execPath, [path.join(dir, "bin/mosaic.mjs"), "--help"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.include(`${path.join(dir, "dist/bin.mjs")} is missing`);
      expect(r.stderr).to.include("npm run build:cli");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads nothing but Node built-ins and its own chunks to print --help", () => {
    // The static import graph of bin.mjs: what every call pays for before a command's own module loads.
    const seen = new Set<string>();
    const external: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const i of outputs[file]?.imports ?? []) {
        if (i.kind !== "import-statement") continue;
        if (i.external) external.push(i.path);
        else visit(i.path);
      }
    };
    visit("packages/cli/dist/bin.mjs");
    expect(seen.size).to.be.greaterThan(1);
    expect(external.filter((p) => !p.startsWith("node:"))).to.deep.equal([]);
  });

  it("keeps Hardhat out of every command's static import graph: only the demo's in-process chain loads it, lazily", () => {
    const hardhat = (p: string) => /^(hardhat|@nomicfoundation\/)/.test(p);
    const isInProcessChain = (file: string) =>
      Object.keys(outputs[file]?.inputs ?? {}).includes("packages/protocol/src/in-process-chain.ts");
    // Every output reachable from bin.mjs through static imports and through dynamic import() of anything but the
    // in-process chain's chunk.
    const seen = new Set<string>();
    const hardhatImports: string[] = [];
    let chainChunks = 0;
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const i of outputs[file]?.imports ?? []) {
        if (i.external) {
          if (hardhat(i.path)) hardhatImports.push(`${file} → ${i.path}`);
        } else if (i.kind === "dynamic-import" && isInProcessChain(i.path)) {
          chainChunks++;
        } else visit(i.path);
      }
    };
    visit("packages/cli/dist/bin.mjs");
    expect(seen.size).to.be.greaterThan(5);
    expect(hardhatImports).to.deep.equal([]);
    // The check above looked at the real graph: the demo's import() of the in-process chain is in it.
    expect(chainChunks).to.be.greaterThan(0);
  });

  it("starts a reducer from the bundle: its batch verifier's worker thread loads beside the chunks", async () => {
    const work = await mkdtemp(path.join(tmpdir(), "mosaic-bin-reducer-"));
    const server = await network.createServer("default", "127.0.0.1", 0);
    const { port } = await server.listen();
    const rpc = `http://127.0.0.1:${port}`;
    const chain = await connectChain({ rpcUrl: rpc, accounts: 1 });
    try {
      const contracts = await deployMosaic(chain.accounts[0] as NonNullable<(typeof chain.accounts)[0]>);
      const keyFile = path.join(work, "operator.key");
      await writeFile(keyFile, `${Wallet.createRandom().privateKey}\n`, { mode: 0o600 });
      const config = path.join(work, "reducer.json");
      await writeFile(
        config,
        JSON.stringify({
          rpcUrl: rpc,
          registry: contracts.addresses.jobRegistry,
          operatorKeyFile: keyFile,
          dataDir: path.join(work, "data"),
          http: { host: "127.0.0.1", port: 0 },
          verifier: { threads: 2, batchSize: 8, batchWaitMs: 100 },
          pollMs: 200,
        }),
      );
      const child = spawn(BIN, ["reducer", "start", "--config", config], { cwd: work, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      let code: number | null | undefined;
      void exited.then((c) => (code = c));
      try {
        await waitUntil("the bundled reducer to start", () => stderr.includes('"reducer:started"') || code !== undefined, {
          timeoutMs: 120_000,
          intervalMs: 100,
        });
        expect(code, stderr).to.equal(undefined);
        const status = JSON.parse(await readFile(path.join(work, "data/node.json"), "utf8")) as { http: string; pid: number };
        expect(status.pid).to.equal(child.pid);
        const health = (await (await fetch(`${status.http}/health`)).json()) as { status: string };
        expect(health.status).to.equal("ok");
        // SIGTERM right after start-up (start-up's own first poll may still be reading the chain): a clean drain.
        child.kill("SIGTERM");
        expect(await exited, stderr).to.equal(0);
        expect(stderr).to.include('"reducer:stopping"');
        expect(stderr).not.to.match(/BatchVerifier|Cannot find module|ERR_MODULE_NOT_FOUND/);
      } finally {
        child.kill("SIGKILL");
      }
    } finally {
      await chain.close();
      await server.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
