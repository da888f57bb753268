// Network files: strict parsing (unknown keys, wrong types, bad addresses, URLs and multiaddrs are NetworkFileErrors
// naming the file and the field), reading from disk (missing, malformed, oversized), writing, the chain check, and
// connectChain's answer to an RPC endpoint that is down or silent.
import { createServer, type Server } from "node:http";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Provider } from "ethers";
import {
  checkNetworkChain,
  connectChain,
  loadNetwork,
  NETWORK_FILE_MAX_BYTES,
  type NetworkFile,
  NetworkFileError,
  networkFileFor,
  networkFilePath,
  parseNetworkFile,
  RpcUnreachableError,
  WrongChainError,
  writeNetworkFile,
} from "../src/node.js";

const PEER = "12D3KooWGRUVh8SxJ4h2ZBTf8z2q6y4M2YhGNgZTakJ2ijUAKBos";
const lower = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;
const deployed = (i: number) => ({ address: lower(i), deployBlock: i });

function valid(): NetworkFile {
  return {
    v: 1,
    name: "devnet",
    chainId: 31337,
    rpc: "http://127.0.0.1:8545",
    contracts: {
      semaphore: deployed(1),
      avatarGroups: deployed(2),
      openAdmission: deployed(3),
      registrarAdmission: deployed(4),
      jobRegistry: deployed(5),
      reducerDirectory: deployed(6),
      vaultRecovery: deployed(7),
    },
    bootstrap: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`],
    openGroup: 0,
    createdAt: "2026-12-04T19:00:00.000Z",
  };
}

/** A copy of the valid file with `edit` applied. */
function edited(edit: (f: Record<string, any>) => void): unknown {
  const f = structuredClone(valid()) as Record<string, any>;
  edit(f);
  return f;
}

function refused(value: unknown, field: RegExp): NetworkFileError {
  let err: unknown;
  try {
    parseNetworkFile(value, "networks/x.json");
  } catch (e) {
    err = e;
  }
  expect(err, "refused").to.be.instanceOf(NetworkFileError);
  const e = err as NetworkFileError;
  expect(e.name).to.equal("NetworkFileError");
  expect(e.message).to.match(/^networks\/x\.json: /);
  expect(e.message).to.match(field);
  return e;
}

describe("network files", () => {
  describe("parseNetworkFile", () => {
    it("accepts a valid file, checksumming its addresses", () => {
      const parsed = parseNetworkFile(valid(), "networks/x.json");
      expect(parsed.contracts.jobRegistry).to.deep.equal({ address: "0x0000000000000000000000000000000000000005", deployBlock: 5 });
      const mixed = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
      const p2 = parseNetworkFile(
        edited((f) => (f.contracts.avatarGroups.address = mixed.toLowerCase())),
        "n",
      );
      expect(p2.contracts.avatarGroups.address).to.equal(mixed);
      expect(
        parseNetworkFile(
          edited((f) => delete f.contracts.vaultRecovery),
          "n",
        ).contracts.vaultRecovery,
      ).to.equal(undefined);
      expect(
        parseNetworkFile(
          edited((f) => delete f.openGroup),
          "n",
        ),
      ).not.to.have.property("openGroup");
    });

    it("refuses unknown keys, at the top and inside contracts", () => {
      refused(
        edited((f) => (f.extra = 1)),
        /unknown key "extra"/,
      );
      refused(
        edited((f) => (f.contracts.jobregistry = deployed(9))),
        /contracts: unknown key "jobregistry"/,
      );
      refused(
        edited((f) => (f.contracts.semaphore.owner = lower(1))),
        /contracts\.semaphore: unknown key "owner"/,
      );
    });

    it("refuses wrong types, naming the field and what it got", () => {
      refused(
        edited((f) => (f.contracts.jobRegistry.address = 5)),
        /contracts\.jobRegistry\.address: expected an address .* got number/,
      );
      refused(
        edited((f) => (f.contracts.jobRegistry = "0x00")),
        /contracts\.jobRegistry: expected an object/,
      );
      refused(
        edited((f) => (f.chainId = "31337")),
        /chainId: expected an integer/,
      );
      refused(
        edited((f) => (f.chainId = 0)),
        /chainId: expected an integer ≥ 1/,
      );
      refused(
        edited((f) => (f.contracts.semaphore.deployBlock = 2 ** 53)),
        /contracts\.semaphore\.deployBlock: expected an integer/,
      );
      refused(
        edited((f) => (f.contracts.semaphore.deployBlock = -1)),
        /deployBlock/,
      );
      refused(
        edited((f) => (f.contracts.semaphore.deployBlock = 1.5)),
        /deployBlock/,
      );
      refused(
        edited((f) => (f.bootstrap = "x")),
        /bootstrap: expected an array/,
      );
      refused(
        edited((f) => (f.v = 2)),
        /v: expected 1/,
      );
      refused(
        edited((f) => (f.name = "../etc")),
        /name: /,
      );
      refused(
        edited((f) => (f.openGroup = -1)),
        /openGroup: /,
      );
      refused(
        edited((f) => (f.createdAt = "yesterday")),
        /createdAt: /,
      );
      refused(null, /the file: expected a JSON object, got null/);
      refused([], /expected a JSON object, got an array/);
    });

    it("refuses missing contracts and addresses with a wrong checksum", () => {
      refused(
        edited((f) => delete f.contracts.reducerDirectory),
        /contracts\.reducerDirectory: expected an object/,
      );
      const bad = "0x5FbDB2315678afecb367f032d93F642f64180AA3"; // last two letters' case flipped
      refused(
        edited((f) => (f.contracts.jobRegistry.address = bad)),
        /contracts\.jobRegistry\.address: .*checksum/,
      );
    });

    it("refuses an RPC that is not http(s) or ws(s), and bootstrap addresses without a peer id", () => {
      refused(
        edited((f) => (f.rpc = "file:///etc/passwd")),
        /rpc: expected an http\(s\):\/\/ or ws\(s\):\/\/ URL/,
      );
      refused(
        edited((f) => (f.rpc = "127.0.0.1:8545")),
        /rpc: /,
      );
      expect(
        parseNetworkFile(
          edited((f) => (f.rpc = "wss://rpc.example.org")),
          "n",
        ).rpc,
      ).to.equal("wss://rpc.example.org");
      refused(
        edited((f) => (f.bootstrap = ["/ip4/127.0.0.1/tcp/4001"])),
        /bootstrap\[0\]: expected a multiaddr ending in \/p2p\//,
      );
      refused(
        edited((f) => (f.bootstrap = [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, "not a multiaddr"])),
        /bootstrap\[1\]: /,
      );
      refused(
        edited((f) => (f.bootstrap = [7])),
        /bootstrap\[0\]: expected a multiaddr string, got number/,
      );
    });
  });

  describe("on disk", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "mosaic-network-"));
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));

    it("resolves a bare name to networks/<name>.json and anything with / or .json to a path", () => {
      expect(networkFilePath("devnet", "/w")).to.equal("/w/networks/devnet.json");
      expect(networkFilePath("x.json", "/w")).to.equal("/w/x.json");
      expect(networkFilePath("a/b", "/w")).to.equal("/w/a/b");
      expect(networkFilePath("/abs/n.json", "/w")).to.equal("/abs/n.json");
    });

    it("writes a file and reads it back by name, with its path", async () => {
      await writeNetworkFile(path.join(dir, "networks", "devnet.json"), valid());
      const loaded = await loadNetwork("devnet", { cwd: dir });
      expect(loaded.file).to.equal(path.join(dir, "networks", "devnet.json"));
      const { file: _, ...rest } = loaded;
      expect(rest).to.deep.equal(valid());
      expect(JSON.parse(await readFile(loaded.file, "utf8"))).to.deep.equal(valid());
    });

    it("does not write a bad file, and leaves the old one", async () => {
      const file = path.join(dir, "n.json");
      await writeNetworkFile(file, valid());
      const before = await readFile(file, "utf8");
      const bad = edited((f) => (f.chainId = -5)) as NetworkFile;
      const err = await writeNetworkFile(file, bad).catch((e: unknown) => e);
      expect((err as Error).name).to.equal("NetworkFileError");
      expect(await readFile(file, "utf8")).to.equal(before);
    });

    it("names the path and the commands that write one when the file is missing", async () => {
      const err = (await loadNetwork("nowhere", { cwd: dir }).catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("NetworkFileError");
      expect(err.message).to.include(path.join(dir, "networks", "nowhere.json"));
      expect(err.message).to.include("mosaic devnet");
      expect(err.message).to.include("mosaic deploy");
    });

    it("names the file for malformed JSON (not a bare SyntaxError)", async () => {
      const file = path.join(dir, "bad.json");
      await writeFile(file, '{"v": 1, "name": ');
      const err = (await loadNetwork(file).catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("NetworkFileError");
      expect(err.message).to.match(new RegExp(`^${file}: not valid JSON`));
    });

    it("refuses a file over 1 MiB without parsing it", async () => {
      const file = path.join(dir, "big.json");
      await writeFile(file, `{"pad": "${"x".repeat(NETWORK_FILE_MAX_BYTES)}"}`);
      const err = (await loadNetwork(file).catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("NetworkFileError");
      expect(err.message).to.match(/over the 1048576-byte limit/);
      expect((await stat(file)).size).to.be.greaterThan(NETWORK_FILE_MAX_BYTES);
    });

    it("names the file and the field for a number where an address is expected", async () => {
      const file = path.join(dir, "n.json");
      await writeFile(file, JSON.stringify(edited((f) => (f.contracts.avatarGroups.address = 1234))));
      const err = (await loadNetwork(file).catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("NetworkFileError");
      expect(err.message).to.match(new RegExp(`^${file}: contracts\\.avatarGroups\\.address: expected an address`));
    });

    it("refuses a directory and an empty name", async () => {
      expect(((await loadNetwork(`${dir}/`).catch((e: unknown) => e)) as Error).name).to.equal("NetworkFileError");
      expect(((await loadNetwork("").catch((e: unknown) => e)) as Error).name).to.equal("NetworkFileError");
    });
  });

  describe("the chain behind the RPC", () => {
    const servers: Server[] = [];
    after(() => {
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
    });

    /** A loopback JSON-RPC endpoint answering eth_chainId with `chainId`, or never answering. */
    async function endpoint(chainId: number | "silent"): Promise<string> {
      const server = createServer((req, res) => {
        if (chainId === "silent") return; // holds the request open
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          const { id } = JSON.parse(body) as { id: number };
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ jsonrpc: "2.0", id, result: `0x${chainId.toString(16)}` }));
        });
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    it("checkNetworkChain: a WrongChainError naming both chain ids and the file", async () => {
      const chain = await connectChain({ rpcUrl: await endpoint(1), accounts: 0 });
      try {
        expect(chain.chainId).to.equal(1n);
        const file = { ...valid(), file: "/w/networks/devnet.json" };
        const err = (await checkNetworkChain(file, chain.provider as Provider).catch((e: unknown) => e)) as Error;
        expect(err).to.be.instanceOf(WrongChainError);
        expect(err.name).to.equal("WrongChainError");
        expect(err.message).to.match(/serves chain 1, but \/w\/networks\/devnet\.json is for chain 31337/);
        await checkNetworkChain({ ...valid(), chainId: 1 }, chain.provider as Provider);
      } finally {
        await chain.close();
      }
    });

    it("connectChain: a closed port is an RpcUnreachableError naming the URL and its source, at once", async () => {
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await new Promise((r) => server.close(r));
      const t0 = Date.now();
      const err = (await connectChain({ rpcUrl: url, source: "networks/devnet.json" }).catch((e: unknown) => e)) as Error;
      expect(Date.now() - t0).to.be.lessThan(3000);
      expect(err).to.be.instanceOf(RpcUnreachableError);
      expect(err.message).to.include(url);
      expect(err.message).to.include("from networks/devnet.json");
      expect(err.message).to.include("connection refused");
    });

    it("connectChain: a silent endpoint is an RpcUnreachableError after the timeout", async () => {
      const url = await endpoint("silent");
      const t0 = Date.now();
      const err = (await connectChain({ rpcUrl: url, timeoutMs: 500 }).catch((e: unknown) => e)) as Error;
      const took = Date.now() - t0;
      expect(err.name).to.equal("RpcUnreachableError");
      expect(err.message).to.match(/no answer within 500 ms/);
      expect(took).to.be.within(400, 2500);
    });
  });
});

describe("networkFileFor", () => {
  const addresses = {
    semaphore: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    avatarGroups: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    openAdmission: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
    registrarAdmission: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
    jobRegistry: "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
    reducerDirectory: "0x5fc8d32690cc91d4c39d9d3abcbd16989f875707",
  };

  it("writes every deployed contract at the deploy block, checked and checksummed", () => {
    const file = networkFileFor({ name: "here", chainId: 31337n, rpc: "http://127.0.0.1:8545", addresses, deployBlock: 7, openGroup: 0 });
    expect(file.contracts.jobRegistry).to.deep.equal({ address: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9", deployBlock: 7 });
    expect(Object.keys(file.contracts)).to.have.length(6);
    expect([file.chainId, file.openGroup, file.bootstrap]).to.deep.equal([31337, 0, []]);
  });

  it("writes and reads back the optional contracts (shared jobs, exposure and alert feeds) when deployed", () => {
    const optional = {
      sharedJobs: "0x0165878a594ca255338adfa4d48449f69242eb8f",
      exposureFeeds: "0xa513e6e4b8f2a923d98304ec87f64353c4d5c853",
      alertFeeds: "0x2279b7a0a67db372996a5fab50d91eaa73d2ebe6",
    };
    const file = networkFileFor({
      name: "here",
      chainId: 31337n,
      rpc: "http://127.0.0.1:8545",
      addresses: { ...addresses, ...optional },
      deployBlock: 7,
    });
    expect(file.contracts.alertFeeds).to.deep.equal({ address: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", deployBlock: 7 });
    expect(Object.keys(file.contracts)).to.have.length(9);
    expect(parseNetworkFile(JSON.parse(JSON.stringify(file)), "n")).to.deep.equal(file);
    expect(() =>
      networkFileFor({ name: "here", chainId: 1, rpc: "http://x", addresses: { ...addresses, alertFeeds: "0x12" }, deployBlock: 0 }),
    ).to.throw(NetworkFileError, /contracts\.alertFeeds/);
  });

  it("refuses what a network file could not hold, naming the field", () => {
    expect(() => networkFileFor({ name: "here", chainId: 1, rpc: "ftp://x", addresses, deployBlock: 0 })).to.throw(NetworkFileError, /rpc/);
    expect(() =>
      networkFileFor({ name: "here", chainId: 1, rpc: "http://x", addresses: { ...addresses, jobRegistry: "0x12" }, deployBlock: 0 }),
    ).to.throw(NetworkFileError, /jobRegistry/);
  });
});
