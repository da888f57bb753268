// `mosaic deploy` and `mosaic devnet`: parse the command line, print progress and results; the work is in devnet.ts.
import { parseArgs } from "node:util";
import { commandArgs, emit, help, int, UsageError } from "./args.js";

const DEPLOY_HELP = `mosaic deploy — deploy Mosaic's contracts to an EVM chain and write its network file

Usage: mosaic deploy --rpc URL --wallet-key-file FILE [--name NAME] [--out FILE] [options]

Deploys Semaphore (verifier, Poseidon), AvatarGroups, the open and registrar admission policies, JobRegistry,
ReducerDirectory and VaultRecovery, paid by the wallet, and writes networks/NAME.json: the chain id, the RPC, every
contract's address and deploy block, and the bootstrap peers. Every other command then takes --network NAME.

Options:
  --rpc URL               the chain's EVM JSON-RPC endpoint (http(s) or ws(s))
  --wallet-key-file FILE  the paying wallet's private key, on the first line
  --name NAME             the network's name (default: chain-<chain id>)
  --out FILE              where to write the network file (default networks/NAME.json); an existing file is
                          kept unless --force
  --bootstrap MULTIADDR   a libp2p peer (…/p2p/<peer id>) new nodes dial first (repeatable)
  --open-group NAME       also create an open group with this name (anyone joins, one avatar per wallet)
  --min-recovery-delay S  the shortest vault recovery timelock, in seconds (default 172800: 48 h)
  --force                 replace an existing network file
  --json                  print the network file as JSON on stdout
  -h, --help              this help`;

const DEVNET_HELP = `mosaic devnet — a local Mosaic network for development, in one command

Usage: mosaic devnet [--port 8545] [--block-time 1] [--accounts 3] [--dir networks] [--bootstrap-port 4001]

Starts anvil (a local EVM chain that mines a block every --block-time seconds, so deadlines arrive on an idle
chain), deploys every contract, creates an open group, writes prefunded dev account keys
(DIR/devnet-keys/{researcher,reducer-1,reducer-2,user-1,...}.key), starts a bootstrap libp2p node (TCP and
WebSockets, its identity kept in DIR/devnet-bootstrap.key) and writes DIR/devnet.json. It runs until Ctrl-C,
which stops all of it. The chain starts empty on each run; the file is written anew.

Options:
  --port N            anvil's JSON-RPC port on 127.0.0.1 (default 8545)
  --block-time S      seconds between blocks (default 1)
  --accounts N        user accounts to write keys for, user-1..user-N (default 3)
  --dir PATH          where the network file and keys go (default networks)
  --bootstrap-port P  the bootstrap node's TCP port; WebSockets uses P+1 (default 4001; 0: any free ports)
  --json              print the network file as one JSON line on stdout once ready
  -h, --help          this help`;

const { requireFlag } = commandArgs("deploy");
const devnetArgs = commandArgs("devnet");

export async function deployMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      rpc: { type: "string" },
      "wallet-key-file": { type: "string" },
      name: { type: "string" },
      out: { type: "string" },
      bootstrap: { type: "string", multiple: true, default: [] },
      "open-group": { type: "string" },
      "min-recovery-delay": { type: "string", default: "172800" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return help(DEPLOY_HELP);
  if (positionals.length > 0) throw new UsageError(`deploy: unexpected argument ${JSON.stringify(positionals[0])}`);
  const rpc = requireFlag("deploy", values.rpc, "--rpc URL");
  const keyFile = requireFlag("deploy", values["wallet-key-file"], "--wallet-key-file FILE");
  if (values.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name))
    throw new UsageError(`deploy: --name: expected 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(values.name)}`);
  const minRecoveryDelay = BigInt(int("min-recovery-delay", values["min-recovery-delay"], 1, 365 * 86_400));
  const [{ connectChain, readWalletKey, parseNetworkFile }, { existsSync }, path, { Wallet, NonceManager }] = await Promise.all([
    import("@mosaic/protocol"),
    import("node:fs"),
    import("node:path"),
    import("ethers"),
  ]);
  // The bootstrap addresses are checked before anything is sent (writing the file would refuse them after paying).
  for (const addr of values.bootstrap) {
    const probe = {
      v: 1,
      name: "probe",
      chainId: 1,
      rpc,
      contracts: DUMMY_CONTRACTS,
      bootstrap: [addr],
      createdAt: new Date().toISOString(),
    };
    try {
      parseNetworkFile(probe, "--bootstrap");
    } catch (err) {
      const why = (err as Error).message.replace(/^--bootstrap: (bootstrap\[0\]|rpc): /, "").replace(/; fix it.*$/, "");
      throw new UsageError(`deploy: --bootstrap ${JSON.stringify(addr)}: ${why}`);
    }
  }
  const key = await readWalletKey(keyFile);
  const chain = await connectChain({ rpcUrl: rpc, accounts: 0, source: "--rpc" });
  try {
    const name = values.name ?? `chain-${chain.chainId}`;
    const out = path.resolve(values.out ?? path.join("networks", `${name}.json`));
    if (existsSync(out) && !values.force)
      throw new UsageError(`deploy: ${out} already exists; choose another --name or --out, or give --force to replace it`);
    const deployer = new NonceManager(new Wallet(key, chain.provider));
    const address = await deployer.getAddress();
    const balance = await chain.provider.getBalance(address);
    const { formatEther } = await import("ethers");
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say(`deploying to chain ${chain.chainId} at ${rpc}, paid by ${address} (balance ${formatEther(balance)} ETH)`);
    if (balance === 0n) throw new UsageError(`deploy: the wallet ${address} has no funds on chain ${chain.chainId}; fund it first`);
    const { deployNetwork } = await import("./devnet.js");
    const { writeNetworkFile } = await import("@mosaic/protocol");
    const { network } = await deployNetwork({
      deployer,
      name,
      rpc,
      bootstrap: values.bootstrap,
      minRecoveryDelay,
      openGroup: values["open-group"],
      progress: say,
    });
    await writeNetworkFile(out, network);
    say(`wrote ${out}`);
    emit(values.json, network, (n) => formatNetwork(n, out));
    return 0;
  } finally {
    await chain.close();
  }
}

const DUMMY = { address: "0x0000000000000000000000000000000000000001", deployBlock: 0 };
const DUMMY_CONTRACTS = {
  semaphore: DUMMY,
  avatarGroups: DUMMY,
  openAdmission: DUMMY,
  registrarAdmission: DUMMY,
  jobRegistry: DUMMY,
  reducerDirectory: DUMMY,
};

/** The network file, for people. */
export function formatNetwork(n: import("@mosaic/protocol").NetworkFile, file: string): string {
  const rows = Object.entries(n.contracts).map(([k, d]) => `  ${k.padEnd(20)} ${d.address}  (block ${d.deployBlock})`);
  return [
    `network ${n.name}: chain ${n.chainId}, rpc ${n.rpc}`,
    ...rows,
    ...(n.openGroup === undefined ? [] : [`  open group           ${n.openGroup}`]),
    ...(n.bootstrap.length === 0 ? [] : ["bootstrap peers:", ...n.bootstrap.map((b) => `  ${b}`)]),
    `network file: ${file}`,
  ].join("\n");
}

export async function devnetMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "8545" },
      "block-time": { type: "string", default: "1" },
      accounts: { type: "string", default: "3" },
      dir: { type: "string", default: "networks" },
      "bootstrap-port": { type: "string", default: "4001" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return help(DEVNET_HELP);
  devnetArgs.expectPositionals("devnet", positionals, []);
  const bootstrapPort = int("bootstrap-port", values["bootstrap-port"], 0, 65_534);
  const init = {
    port: int("port", values.port, 1, 65_535),
    blockTime: int("block-time", values["block-time"], 1, 3600),
    users: int("accounts", values.accounts, 0, 1000),
    dir: values.dir,
    bootstrapPort,
  };
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const { startDevnet } = await import("./devnet.js");
  // A signal during start-up stops the devnet as soon as start-up ends; a second one exits at once (anvil, in its
  // own process group, is killed on exit by startAnvil's exit hook).
  let signals = 0;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      resolve(s);
    };
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, on);
  });
  const devnet = await startDevnet({ ...init, progress: say });
  const path = await import("node:path");
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  const net = rel(devnet.file);
  emit(values.json, devnet.network, (n) =>
    [
      formatNetwork(n, net),
      "",
      "dev accounts (prefunded; keys for development only):",
      ...devnet.keys.map((k) => `  ${k.name.padEnd(11)} ${k.address}  ${rel(k.file)}`),
      "",
      "What to do next, each in its own terminal (keep this one running):",
      "  a user:        mosaic vault init && mosaic vault import FILE.gpx",
      `                 mosaic avatar register --network ${net} --group ${n.openGroup} --wallet-key-file ${rel(keyOf(devnet, "user-1"))}`,
      `  a reducer:     mosaic reducer stake --network ${net} --wallet-key-file ${rel(keyOf(devnet, "reducer-1"))}, then mosaic reducer start`,
      `  a researcher:  mosaic job new, then mosaic job post --network ${net} --wallet-key-file ${rel(keyOf(devnet, "researcher"))}`,
      "Every command takes --network (or set MOSAIC_NETWORK); see 'mosaic <command> --help'.",
      "",
      "Ctrl-C stops the chain and the bootstrap node.",
    ].join("\n"),
  );
  const signal = await stopped;
  say(`${signal}: stopping the bootstrap node and anvil…`);
  await devnet.stop();
  say("stopped");
  return 0;
}

function keyOf(devnet: { keys: { name: string; file: string }[] }, name: string): string {
  return devnet.keys.find((k) => k.name === name)?.file ?? `devnet-keys/${name}.key`;
}
