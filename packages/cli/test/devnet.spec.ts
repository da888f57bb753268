// `mosaic devnet` and `mosaic deploy` as a newcomer runs them, each the real CLI in its own process: the devnet
// writes its network file, its chain moves on its own, the contracts are where the file says, its bootstrap node
// answers a dial, other commands work from the file alone, and Ctrl-C, or a SIGKILL, leaves no anvil behind.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectChain, createIpfsNode, dialPeer, loadNetwork, type NetworkFile, sleep, waitUntil } from "@mosaic/protocol";
import { expect } from "chai";
import { failed, json, mosaic, startMosaic, vault } from "./run.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited process not reaped yet (a zombie) is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
};

describe("mosaic devnet and deploy", function () {
  this.timeout(180_000);
  let dir: string;
  let devnet: ChildProcessWithoutNullStreams;
  let stderr = "";
  let stdout = "";
  let network: NetworkFile & { file: string };
  let anvilPid: number;
  let exited: Promise<number | null>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-devnet-"));
    const port = await freePort();
    devnet = startMosaic(["devnet", "--port", String(port), "--bootstrap-port", "0", "--accounts", "2"], { cwd: dir });
    devnet.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    devnet.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    exited = new Promise((resolve) => devnet.on("exit", (code) => resolve(code)));
    const t0 = Date.now();
    while (!stdout.includes("Ctrl-C stops")) {
      if (devnet.exitCode !== null) throw new Error(`devnet exited ${devnet.exitCode}:\n${stderr}`);
      if (Date.now() - t0 > 150_000) throw new Error(`devnet did not get ready:\n${stderr}`);
      await sleep(200);
    }
    network = await loadNetwork("devnet", { cwd: dir });
    anvilPid = Number(/anvil (\d+) answers/.exec(stderr)?.[1]);
  });

  after(async () => {
    if (devnet.exitCode === null) devnet.kill("SIGKILL");
    if (anvilPid > 0 && alive(anvilPid)) process.kill(anvilPid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("writes networks/devnet.json with every contract, the open group and the bootstrap addresses", async () => {
    expect(network.name).to.equal("devnet");
    expect(network.chainId).to.equal(31337);
    expect(network.openGroup).to.equal(0);
    expect(network.contracts.vaultRecovery).not.to.equal(undefined);
    expect(network.bootstrap.some((a) => /\/tcp\/\d+\/p2p\//.test(a))).to.equal(true);
    expect(network.bootstrap.some((a) => /\/tcp\/\d+\/ws\/p2p\//.test(a))).to.equal(true);
    expect(stdout).to.include("mosaic avatar register --network networks/devnet.json --group 0");
    for (const name of ["deployer", "researcher", "reducer-1", "reducer-2", "user-1", "user-2"]) {
      const key = path.join(dir, "networks", "devnet-keys", `${name}.key`);
      expect((await stat(key)).mode & 0o777, name).to.equal(0o600);
      expect((await readFile(key, "utf8")).trim()).to.match(/^0x[0-9a-f]{64}$/);
    }
  });

  it("its chain moves on its own and the contracts are at the file's addresses", async () => {
    const chain = await connectChain({ rpcUrl: network.rpc, accounts: 0 });
    try {
      const first = await chain.provider.getBlock("latest");
      // Anvil mines every second (--block-time 1): the next block, not a fixed wait.
      let later = first;
      await waitUntil(
        "the devnet to mine a block on its own",
        async () => {
          later = await chain.provider.getBlock("latest");
          return (later?.number ?? 0) > (first?.number ?? Number.POSITIVE_INFINITY);
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(later?.number).to.be.greaterThan(first?.number ?? Number.POSITIVE_INFINITY);
      expect(later?.timestamp).to.be.greaterThan(first?.timestamp ?? Number.POSITIVE_INFINITY);
      expect(later?.transactions.length, "no transactions in the idle blocks").to.equal(0);
      for (const [name, d] of Object.entries(network.contracts)) {
        expect(await chain.provider.getCode(d.address), name).to.have.length.greaterThan(2);
        expect(d.deployBlock, name).to.be.at.most(first?.number ?? 0);
      }
    } finally {
      await chain.close();
    }
  });

  it("its bootstrap node answers a dial", async () => {
    const node = await createIpfsNode();
    try {
      const tcp = network.bootstrap.find((a) => !a.includes("/ws/")) as string;
      await dialPeer(node, tcp);
      const peer = tcp.split("/p2p/")[1];
      expect(node.libp2p.getPeers().map(String)).to.include(peer);
    } finally {
      await node.stop();
    }
  });

  it("other commands run from the network file alone (avatar groups --network devnet)", async () => {
    const groups = json<{ groups: { groupId: string; name: string; kind: string }[] }>(
      await mosaic(["avatar", "groups", "--network", "devnet", "--json"], dir),
    );
    expect(groups.groups.map((g) => [g.groupId, g.name, g.kind])).to.deep.equal([["0", "devnet-open", "open"]]);
    const byEnv = await mosaic(["avatar", "groups", "--json"], { cwd: dir, env: { MOSAIC_NETWORK: "devnet" } });
    expect(json(byEnv)).to.deep.equal(groups);
  });

  it("a user registers an avatar in the open group and sees the membership, with only --network", async () => {
    const vaultDir = path.join(dir, "vault-1");
    json(await vault(["init", "--dir", vaultDir, "--device", "phone", "--scrypt-n", "1024", "--json"], dir));
    const key = path.join("networks", "devnet-keys", "user-1.key");
    const reg = json<{ groupId: string; size: string }>(
      await mosaic(
        ["avatar", "register", "--dir", vaultDir, "--network", "devnet", "--group", "0", "--wallet-key-file", key, "--json"],
        dir,
      ),
    );
    expect(reg.size).to.equal("1");
    const status = json<{ groups: { groupId: string; member: boolean; index: number }[] }>(
      await mosaic(["avatar", "status", "--dir", vaultDir, "--network", "devnet", "--group", "0", "--json"], dir),
    );
    expect(status.groups.map((g) => [g.groupId, g.member, g.index])).to.deep.equal([["0", true, 0]]);
  });

  it("mosaic deploy deploys another set and writes its file; it will not replace one without --force", async () => {
    const key = path.join(dir, "networks", "devnet-keys", "researcher.key");
    const run = await mosaic(["deploy", "--rpc", network.rpc, "--wallet-key-file", key, "--name", "second", "--json"], dir);
    const written = json<NetworkFile>(run);
    expect(run.stderr).to.match(/deploying VaultRecovery/);
    const file = await loadNetwork("second", { cwd: dir });
    expect(file.contracts).to.deep.equal(written.contracts);
    expect(file.contracts.jobRegistry.address).not.to.equal(network.contracts.jobRegistry.address);
    const chain = await connectChain({ rpcUrl: network.rpc, accounts: 0 });
    try {
      expect(await chain.provider.getCode(file.contracts.reducerDirectory.address)).to.have.length.greaterThan(2);
    } finally {
      await chain.close();
    }
    const before = await readFile(file.file, "utf8");
    const again = await mosaic(["deploy", "--rpc", network.rpc, "--wallet-key-file", key, "--name", "second"], dir);
    failed(again, 2, "UsageError", /already exists; .*--force/);
    expect(await readFile(file.file, "utf8")).to.equal(before);
  });

  it("mosaic deploy: an unreachable RPC and a bad bootstrap address are named errors, nothing written", async () => {
    const key = path.join(dir, "networks", "devnet-keys", "researcher.key");
    const down = `http://127.0.0.1:${await freePort()}`;
    failed(
      await mosaic(["deploy", "--rpc", down, "--wallet-key-file", key, "--name", "down"], dir),
      1,
      "RpcUnreachableError",
      /from --rpc/,
    );
    const bad = await mosaic(
      ["deploy", "--rpc", network.rpc, "--wallet-key-file", key, "--name", "bad", "--bootstrap", "/ip4/127.0.0.1/tcp/1"],
      dir,
    );
    failed(bad, 2, "UsageError", /--bootstrap .*\/p2p\//);
    for (const name of ["down", "bad"]) {
      const err = (await loadNetwork(name, { cwd: dir }).catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("NetworkFileError");
    }
  });

  it("SIGINT stops it all: the devnet exits 0 and anvil is gone", async () => {
    expect(anvilPid).to.be.greaterThan(0);
    expect(alive(anvilPid)).to.equal(true);
    devnet.kill("SIGINT");
    expect(await exited).to.equal(0);
    for (let i = 0; i < 50 && alive(anvilPid); i++) await sleep(100);
    expect(alive(anvilPid), "anvil still running").to.equal(false);
    const err = (await connectChain({ rpcUrl: network.rpc, timeoutMs: 1000 }).catch((e: unknown) => e)) as Error;
    expect(err.name).to.equal("RpcUnreachableError");
  });
});

describe("mosaic devnet killed outright", function () {
  this.timeout(180_000);
  let dir: string;
  let devnet: ChildProcessWithoutNullStreams | undefined;
  let anvilPid = 0;

  after(async () => {
    if (devnet?.exitCode === null) devnet.kill("SIGKILL");
    if (anvilPid > 0 && alive(anvilPid)) process.kill(anvilPid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("SIGKILL of the devnet takes anvil with it within 5 s (no exit hook runs), so the port is free again", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-devnet-kill-"));
    const port = await freePort();
    const started = startMosaic(["devnet", "--port", String(port), "--bootstrap-port", "0", "--accounts", "1"], { cwd: dir });
    devnet = started;
    let stderr = "";
    started.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise((resolve) => started.on("exit", (_code, signal) => resolve(signal)));
    const t0 = Date.now();
    while (!/anvil (\d+) answers/.test(stderr)) {
      if (started.exitCode !== null) throw new Error(`devnet exited ${started.exitCode}:\n${stderr}`);
      if (Date.now() - t0 > 150_000) throw new Error(`anvil did not answer:\n${stderr}`);
      await sleep(100);
    }
    anvilPid = Number(/anvil (\d+) answers/.exec(stderr)?.[1]);
    expect(anvilPid).to.be.greaterThan(0);
    expect(alive(anvilPid)).to.equal(true);
    started.kill("SIGKILL");
    expect(await exited).to.equal("SIGKILL");
    const killedAt = Date.now();
    while (alive(anvilPid) && Date.now() - killedAt < 5000) await sleep(100);
    expect(alive(anvilPid), "anvil still running 5 s after its devnet was killed").to.equal(false);
    const err = (await connectChain({ rpcUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000 }).catch((e: unknown) => e)) as Error;
    expect(err.name).to.equal("RpcUnreachableError");
  });
});
