// `mosaic reducer ...`: the node operator's command lines.
import path from "node:path";
import { parseArgs } from "node:util";
import { commandArgs, emit, help, int, UsageError } from "./args.js";
import { COMMON } from "./job-commands.js";
import { contractTarget, NETWORK_HELP, type NetworkFlagValues, requireNetwork, resolveNetwork } from "./network-flags.js";

const REDUCER_HELP = `mosaic reducer — run a reducer node

Usage: mosaic reducer <command> [options]

Commands:
  start                   run the node until SIGTERM/SIGINT: watch the chain for jobs this operator is staked for,
                          collect and verify submissions (signing receipts for them), journal them to disk, catch up
                          from the other reducers, reduce, publish, propose. Either --config FILE, or
                          --network NAME|FILE --key-file FILE --data-dir DIR (no config file needed)
  stake                   stake ETH in the registry (--amount ETH), and announce the node when given its peer id
  announce                record (or update) the node's peer id and public addresses in the ReducerDirectory

Run 'mosaic reducer <command> --help' for a command's options.

Config file (JSON; paths relative to it; with "network", rpcUrl/registry/directory/fromBlock come from the file):
  { "network": "devnet", "operatorKeyFile": "operator.key", "dataDir": "reducer-data",
    "listen": "/ip4/0.0.0.0/tcp/4101", "announce": ["/dns4/reducer.example.org/tcp/4101"], "peers": [],
    "http": { "host": "127.0.0.1", "port": 9464, "allowOrigins": ["http://127.0.0.1:5173", "http://localhost:5173"] },
    "verifier": { "threads": 2, "batchSize": 64, "batchWaitMs": 200 }, "pollMs": 1000, "fetchTimeoutMs": 10000 }
  or, without a network file: "rpcUrl": "http://127.0.0.1:8545", "registry": "0x…", "directory": "0x…", "fromBlock": 0
  "hotspotKeys": ["hotspots-<cid>.key.json", …] answers private hotspot checks (/mosaic/psi/1.0.0) for the sets
  whose key files a health authority handed the node ('mosaic exposure hotspots publish' writes them); vaults find
  the node in the directory. Each file is checked at start (HotspotKeyFileError naming it, nothing started); list the
  authority's node in "peers" so the node fetches and holds each set's signed document.

The node keeps its libp2p key in <dataDir>/peer.key (its peer id survives restarts; back it up), and where it
stopped reading the chain in <dataDir>/chain.json.
Status: GET /health, /metrics (Prometheus), /jobs, /jobs/<id>, /psi (hotspot check counts) on the loopback port,
readable by pages from http.allowOrigins only (default: the app at http://127.0.0.1:5173 and http://localhost:5173),
and only when asked for as 127.0.0.1, localhost or [::1]. Logs: JSON lines on stderr (MOSAIC_LOG=debug for every submission).`;

const START_HELP = `mosaic reducer start — run a reducer node

Usage: mosaic reducer start --config FILE
       mosaic reducer start --network NAME|FILE --key-file FILE --data-dir DIR [--listen MULTIADDR]
                            [--ws-listen MULTIADDR|none] [--announce MULTIADDR]... [--http-port N]
                            [--status-origin ORIGIN]...

Options:
  --config FILE           the node's config file (see 'mosaic reducer --help')
  --key-file FILE         the operator's private key, on the first line (also --wallet-key-file)
  --data-dir DIR          journals, blocks, peer.key and status files
  --listen MULTIADDR      the libp2p listen address (default /ip4/127.0.0.1/tcp/0)
  --ws-listen MULTIADDR   a WebSockets listen address, which browsers (the app) dial (default
                          /ip4/127.0.0.1/tcp/0/ws; 'none' for none)
  --announce MULTIADDR    a public address to record in the directory (repeat; default: the listen addresses)
  --http-port N           the loopback status port (default 9464; 0 picks a free one)
  --status-origin ORIGIN  an origin whose pages may read the status port, such as the app's when served on another
                          port: http://127.0.0.1:8080 (repeat; default http://127.0.0.1:5173 and
                          http://localhost:5173; other websites get nothing)
${NETWORK_HELP}`;

const STAKE_HELP = `mosaic reducer stake — stake ETH in the registry for this operator, and announce the node

Usage: mosaic reducer stake --amount ETH --wallet-key-file FILE [--network NAME|FILE]
                            [--data-dir DIR | --peer-id ID] [--announce MULTIADDR]...

With --data-dir (the node's, where it keeps peer.key) or --peer-id, the node is announced in the ReducerDirectory
after staking: its addresses are --announce, else those of the running node (<data-dir>/node.json).

Options:
  --amount ETH            how much to stake
  --wallet-key-file FILE  the operator's private key, on the first line (also --key-file)
  --data-dir DIR          the node's data directory: its peer id is read from peer.key (created if missing)
  --peer-id ID            the node's libp2p peer id, instead of --data-dir
  --announce MULTIADDR    a public address to record (repeat)
${NETWORK_HELP}

${COMMON}`;

const ANNOUNCE_HELP = `mosaic reducer announce — record the node's peer id and public addresses in the ReducerDirectory

Usage: mosaic reducer announce --wallet-key-file FILE [--network NAME|FILE] (--data-dir DIR | --peer-id ID)
                               [--announce MULTIADDR]...

Sends nothing when the chain already holds this record. The operator must be staked (mosaic reducer stake).
A running node announces itself on start; this command is for a node behind an address it cannot see.

Options:
  --wallet-key-file FILE  the operator's private key, on the first line (also --key-file)
  --data-dir DIR          the node's data directory: its peer id is read from peer.key (created if missing)
  --peer-id ID            the node's libp2p peer id, instead of --data-dir
  --announce MULTIADDR    a public address to record (repeat; default: the running node's, from <data-dir>/node.json)
${NETWORK_HELP}

${COMMON}`;

const NETWORK_FLAGS = {
  network: { type: "string" },
  rpc: { type: "string" },
  registry: { type: "string" },
  directory: { type: "string" },
} as const;

const ANNOUNCE_FLAGS = {
  "wallet-key-file": { type: "string" },
  "key-file": { type: "string" },
  "data-dir": { type: "string" },
  "peer-id": { type: "string" },
  announce: { type: "string", multiple: true },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

interface AnnounceValues extends NetworkFlagValues {
  "wallet-key-file"?: string;
  "key-file"?: string;
  "data-dir"?: string;
  "peer-id"?: string;
  announce?: string[];
}

function keyFile(command: string, v: AnnounceValues): string {
  const file = v["key-file"] ?? v["wallet-key-file"];
  if (file === undefined)
    throw new UsageError(`reducer ${command}: --wallet-key-file FILE is required; see 'mosaic reducer ${command} --help'`);
  return file;
}

/** The node's peer id and the addresses to record: from --peer-id/--data-dir and --announce/node.json. */
async function nodeRecord(command: string, v: AnnounceValues): Promise<{ peerId: string; addrs: string[] } | undefined> {
  if (v["peer-id"] === undefined && v["data-dir"] === undefined) return undefined;
  if (v["peer-id"] !== undefined && v["data-dir"] !== undefined)
    throw new UsageError(`reducer ${command}: give --peer-id or --data-dir, not both`);
  let peerId = v["peer-id"];
  let running: string[] = [];
  if (v["data-dir"] !== undefined) {
    const dir = path.resolve(v["data-dir"]);
    const { mkdir, readFile } = await import("node:fs/promises");
    const { loadOrCreatePeerKey } = await import("@mosaic/protocol");
    await mkdir(dir, { recursive: true });
    peerId = (await loadOrCreatePeerKey(path.join(dir, "peer.key"))).publicKey.toString();
    try {
      const status = JSON.parse(await readFile(path.join(dir, "node.json"), "utf8")) as { peerId?: string; addresses?: string[] };
      if (status.peerId === peerId && Array.isArray(status.addresses)) running = status.addresses;
    } catch {
      // Not running (or never started): --announce is needed.
    }
  }
  const addrs = v.announce !== undefined && v.announce.length > 0 ? v.announce : running;
  if (addrs.length === 0)
    throw new UsageError(
      `reducer ${command}: --announce MULTIADDR is required (the node's addresses are known only while it runs, from <data-dir>/node.json)`,
    );
  return { peerId: peerId as string, addrs };
}

async function announce(command: string, v: AnnounceValues, record: { peerId: string; addrs: string[] }) {
  const net = requireNetwork(`reducer ${command}`, await resolveNetwork(v), ["rpc", "directory"]);
  const { withContract } = await import("./chain-flags.js");
  const { announceReducer, ReducerDirectory__factory } = await import("@mosaic/protocol");
  return withContract({ ...contractTarget(net, "directory", "ReducerDirectory"), walletKeyFile: keyFile(command, v) }, async (s) => {
    const directory = ReducerDirectory__factory.connect(s.address, s.signer);
    const operator = await s.signer?.getAddress();
    const { txHash, changed } = await announceReducer(directory, record);
    return { operator, peerId: record.peerId, addrs: record.addrs, tx: txHash, changed };
  });
}

const announced = (r: { operator?: string; peerId: string; addrs: string[]; changed: boolean }) =>
  r.changed
    ? `Announced ${r.operator}'s reducer ${r.peerId} at ${r.addrs.join(", ")}.`
    : `The directory already holds ${r.operator}'s reducer ${r.peerId} at ${r.addrs.join(", ")}; nothing sent.`;

export async function reducerMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: "string" },
          ...NETWORK_FLAGS,
          "key-file": { type: "string" },
          "wallet-key-file": { type: "string" },
          "data-dir": { type: "string" },
          listen: { type: "string" },
          "ws-listen": { type: "string" },
          announce: { type: "string", multiple: true },
          "http-port": { type: "string" },
          "status-origin": { type: "string", multiple: true },
          help: { type: "boolean", short: "h", default: false },
        },
        allowPositionals: true,
      });
      if (values.help) return help(START_HELP);
      commandArgs("reducer").expectPositionals("start", positionals, []);
      const { createReducerNode, loadReducerConfig, resolveReducerConfig } = await import("@mosaic/worker");
      let config: Awaited<ReturnType<typeof loadReducerConfig>>;
      if (values.config !== undefined) {
        for (const flag of [
          "network",
          "key-file",
          "wallet-key-file",
          "data-dir",
          "listen",
          "ws-listen",
          "announce",
          "http-port",
          "status-origin",
        ] as const)
          if (values[flag] !== undefined)
            throw new UsageError(`reducer start: --${flag} goes in the config file with --config; give one or the other`);
        config = await loadReducerConfig(values.config);
      } else {
        const network = values.network ?? (process.env.MOSAIC_NETWORK || undefined);
        if (network === undefined && values.rpc === undefined)
          throw new UsageError("reducer start: --config FILE is required, or --network NAME|FILE with --key-file and --data-dir");
        const key = values["key-file"] ?? values["wallet-key-file"];
        const dataDir = values["data-dir"];
        if (key === undefined || dataDir === undefined)
          throw new UsageError("reducer start: --key-file FILE and --data-dir DIR are required without --config");
        const { networkFilePath } = await import("@mosaic/protocol");
        config = await resolveReducerConfig(
          {
            ...(network === undefined ? {} : { network: networkFilePath(network) }),
            ...(values.rpc === undefined ? {} : { rpcUrl: values.rpc }),
            ...(values.registry === undefined ? {} : { registry: values.registry }),
            ...(values.directory === undefined ? {} : { directory: values.directory }),
            operatorKeyFile: path.resolve(key),
            dataDir: path.resolve(dataDir),
            ...(values.listen === undefined ? {} : { listen: values.listen }),
            ...(values["ws-listen"] === undefined ? {} : { wsListen: values["ws-listen"] === "none" ? "" : values["ws-listen"] }),
            ...(values.announce === undefined ? {} : { announce: values.announce }),
            http: {
              host: "127.0.0.1",
              port: values["http-port"] === undefined ? 9464 : int("http-port", values["http-port"], 0, 65535),
              ...(values["status-origin"] === undefined ? {} : { allowOrigins: values["status-origin"] }),
            },
          },
          path.resolve("mosaic reducer start"),
        );
      }
      const node = createReducerNode(config);
      const stopped = new Promise<number>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(
            `${JSON.stringify({ time: new Date().toISOString(), level: "info", component: "reducer", event: "reducer:stopping", signal })}\n`,
          );
          node.stop().then(
            () => resolve(0),
            () => resolve(1),
          );
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      await node.start();
      return stopped;
    }
    case "stake": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...NETWORK_FLAGS, ...ANNOUNCE_FLAGS, amount: { type: "string" } },
        allowPositionals: true,
      });
      if (values.help) return help(STAKE_HELP);
      commandArgs("reducer").expectPositionals("stake", positionals, []);
      const amount = commandArgs("reducer").requireFlag("stake", values.amount, "--amount ETH");
      // Checked before any transaction, so a usage mistake stakes nothing.
      const record = await nodeRecord("stake", values);
      const net = requireNetwork("reducer stake", await resolveNetwork(values), [
        "rpc",
        "registry",
        ...(record === undefined ? [] : ["directory" as const]),
      ]);
      const target = contractTarget(net, "registry", "JobRegistry");
      const { stake } = await import("./job.js");
      const staked = await stake(
        {
          rpc: target.rpc,
          rpcSource: target.rpcSource,
          registry: target.address,
          registrySource: target.flag,
          chainId: target.chainId,
          networkFile: target.networkFile,
          walletKeyFile: keyFile("stake", values),
        },
        amount,
      );
      const result = record === undefined ? staked : { ...staked, announced: await announce("stake", values, record) };
      emit(values.json, result, (r) => {
        const line = `Staked ${r.amount} ETH; ${r.operator} now has ${r.total} ETH staked.`;
        return "announced" in r ? `${line}\n${announced(r.announced)}` : line;
      });
      return 0;
    }
    case "announce": {
      const { values, positionals } = parseArgs({ args: rest, options: { ...NETWORK_FLAGS, ...ANNOUNCE_FLAGS }, allowPositionals: true });
      if (values.help) return help(ANNOUNCE_HELP);
      commandArgs("reducer").expectPositionals("announce", positionals, []);
      const record = await nodeRecord("announce", values);
      if (record === undefined)
        throw new UsageError("reducer announce: --data-dir DIR or --peer-id ID is required; see 'mosaic reducer announce --help'");
      emit(values.json, await announce("announce", values, record), announced);
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(REDUCER_HELP);
    default:
      console.error(`mosaic reducer: unknown command ${JSON.stringify(command)}\n\n${REDUCER_HELP}`);
      return 2;
  }
}
