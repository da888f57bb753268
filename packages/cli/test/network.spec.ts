// The network flags, end to end through the CLI: a malformed or missing network file, an unreachable RPC and a network
// file for another chain are each a named error with exit code 1, naming the file or flag at fault.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { failed, mosaic } from "./run.js";

const PEER = "12D3KooWGRUVh8SxJ4h2ZBTf8z2q6y4M2YhGNgZTakJ2ijUAKBos";
const deployed = (i: number) => ({ address: `0x${i.toString(16).padStart(40, "0")}`, deployBlock: 0 });

function networkFile(rpc: string, chainId = 31337) {
  return {
    v: 1,
    name: "testnet",
    chainId,
    rpc,
    contracts: {
      semaphore: deployed(1),
      avatarGroups: deployed(2),
      openAdmission: deployed(3),
      registrarAdmission: deployed(4),
      jobRegistry: deployed(5),
      reducerDirectory: deployed(6),
    },
    bootstrap: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`],
    createdAt: new Date().toISOString(),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe("mosaic --network", function () {
  this.timeout(60_000);
  let dir: string;
  let server: Server | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-cli-network-"));
  });
  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("a malformed network file: NetworkFileError naming the file, exit 1", async () => {
    await writeFile(path.join(dir, "broken.json"), '{"v": 1,');
    const run = await mosaic(["avatar", "groups", "--network", "broken.json"], dir);
    failed(run, 1, "NetworkFileError", new RegExp(`${path.join(dir, "broken.json")}: not valid JSON`));
  });

  it("a number where an address is expected: NetworkFileError naming the field", async () => {
    const file = networkFile("http://127.0.0.1:8545") as Record<string, any>;
    file.contracts.avatarGroups.address = 42;
    await writeFile(path.join(dir, "n.json"), JSON.stringify(file));
    const run = await mosaic(["avatar", "groups", "--network", "./n.json"], dir);
    failed(run, 1, "NetworkFileError", /contracts\.avatarGroups\.address: expected an address/);
  });

  it("a missing network named by MOSAIC_NETWORK: NetworkFileError suggesting mosaic devnet", async () => {
    const run = await mosaic(["avatar", "groups"], { cwd: dir, env: { MOSAIC_NETWORK: "devnet" } });
    failed(run, 1, "NetworkFileError", /networks\/devnet\.json; start a local network with 'mosaic devnet'/);
  });

  it("an unreachable RPC: RpcUnreachableError naming the URL and the network file, within seconds", async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    await writeFile(path.join(dir, "n.json"), JSON.stringify(networkFile(rpc)));
    const t0 = Date.now();
    const run = await mosaic(["avatar", "groups", "--network", "n.json"], dir);
    failed(run, 1, "RpcUnreachableError", new RegExp(`${rpc} \\(from ${path.join(dir, "n.json")} \\(rpc\\)\\)`));
    expect(Date.now() - t0, "time to fail").to.be.lessThan(15_000);
  });

  it("an unreachable --rpc: RpcUnreachableError naming --rpc", async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const run = await mosaic(["avatar", "groups", "--rpc", rpc, "--groups", deployed(2).address], dir);
    failed(run, 1, "RpcUnreachableError", /\(from --rpc\): connection refused/);
  });

  it("a network file for another chain: WrongChainError naming both chain ids and the file", async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const { id } = JSON.parse(body) as { id: number };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id, result: "0x1" }));
      });
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    const rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(path.join(dir, "n.json"), JSON.stringify(networkFile(rpc, 31337)));
    const run = await mosaic(["avatar", "groups", "--network", "n.json"], dir);
    failed(run, 1, "WrongChainError", /serves chain 1, but .*n\.json is for chain 31337/);
  });

  it("--rpc without --groups or --network is a usage error (exit 2)", async () => {
    const run = await mosaic(["avatar", "groups", "--rpc", "http://127.0.0.1:8545"], dir);
    failed(run, 2, "UsageError", /--rpc and --groups, or --network/);
  });
});
