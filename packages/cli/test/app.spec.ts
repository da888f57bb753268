// `mosaic app` through the real CLI in a child process: its help, the errors for a missing network, an unbuilt app
// and a host other machines could reach, and serving a network file until SIGTERM.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { networkFileFor } from "@mosaic/protocol";
import { expect } from "chai";
import { failed, mosaic, startMosaic } from "./run.js";

const PEER = "12D3KooWGRUVh8SxJ4h2ZBTf8z2q6y4M2YhGNgZTakJ2ijUAKBos";
const address = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;
const NETWORK = networkFileFor({
  name: "testnet",
  chainId: 31337,
  rpc: "http://127.0.0.1:8545",
  addresses: {
    semaphore: address(1),
    avatarGroups: address(2),
    openAdmission: address(3),
    registrarAdmission: address(4),
    jobRegistry: address(5),
    reducerDirectory: address(6),
  },
  deployBlock: 0,
  bootstrap: [`/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`],
  openGroup: 1,
  createdAt: "2026-01-01T00:00:00.000Z",
});
const INDEX = "<!doctype html><title>Mosaic</title>";
const NO_NETWORK_ENV = { MOSAIC_NETWORK: undefined };

/** Resolves with the first stdout line matching `pattern`, or rejects when the process exits first. */
function waitForLine(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m !== null) resolve(m);
    });
    child.on("exit", (code) => reject(new Error(`mosaic app exited ${code}\nstdout:\n${out}\nstderr:\n${err}`)));
  });
}

describe("mosaic app", function () {
  this.timeout(60_000);
  let dir: string;
  let dist: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-cli-app-"));
    dist = path.join(dir, "dist");
    await mkdir(dist);
    await writeFile(path.join(dist, "index.html"), INDEX);
    await writeFile(path.join(dir, "n.json"), JSON.stringify(NETWORK));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("--help: the options, exit 0", async () => {
    const run = await mosaic(["app", "--help"], dir);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^mosaic app — /);
    for (const flag of ["--network NAME|FILE", "--port N", "--host HOST", "--public"]) expect(run.stdout).to.include(flag);
  });

  it("no network file: NetworkFileError naming networks/devnet.json and mosaic devnet, exit 1", async () => {
    const run = await mosaic(["app", "--dist", dist], { cwd: dir, env: NO_NETWORK_ENV });
    failed(run, 1, "NetworkFileError", /networks\/devnet\.json.*'mosaic devnet'/);
  });

  it("a named network that is not there: NetworkFileError, exit 1", async () => {
    const run = await mosaic(["app", "--network", "nowhere.json", "--dist", dist], { cwd: dir, env: NO_NETWORK_ENV });
    failed(run, 1, "NetworkFileError", /nowhere\.json/);
  });

  it("an app not built: AppNotBuiltError saying npm run build:app, exit 1", async () => {
    const run = await mosaic(["app", "--network", "n.json", "--dist", path.join(dir, "empty")], dir);
    failed(run, 1, "AppNotBuiltError", /npm run build:app/);
  });

  it("a host other machines can reach, without --public: UsageError, exit 2", async () => {
    const run = await mosaic(["app", "--network", "n.json", "--dist", dist, "--host", "0.0.0.0"], dir);
    failed(run, 2, "UsageError", /--host 0\.0\.0\.0 .*--public/);
  });

  it("a port out of range: RangeError naming --port", async () => {
    const run = await mosaic(["app", "--network", "n.json", "--dist", dist, "--port", "70000"], dir);
    failed(run, 1, "RangeError", /--port: expected an integer in 0\.\.65535, got "70000"/);
  });

  it("serves the network file and the app until SIGTERM: the URL on stdout, a JSON log line on stderr", async () => {
    const child = startMosaic(["app", "--network", "n.json", "--dist", dist, "--port", "0"], { cwd: dir });
    child.stdin.end();
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const [, url] = await waitForLine(child, /Mosaic app for testnet \(chain 31337\): (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      const network = await fetch(`${url}network.json`);
      expect(network.status).to.equal(200);
      expect(await network.json()).to.deep.equal(NETWORK);
      const page = await fetch(`${url}vault`);
      expect(await page.text()).to.equal(INDEX);
      expect(page.headers.get("content-security-policy")).to.include("connect-src 'self' http://127.0.0.1:8545 ws://127.0.0.1:4002");
      for (let i = 0; i < 50 && !stderr.includes("app:serving"); i++) await new Promise((r) => setTimeout(r, 100));
      const logged = stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.find((l) => l.event === "app:serving")).to.include({ component: "app", url, network: "testnet", chainId: 31337 });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);
    expect(stderr).to.include('"event":"app:stopped"');
  });
});
