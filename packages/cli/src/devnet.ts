// A Mosaic network of one's own: deploying every contract to a chain and writing its network file (`mosaic deploy`),
// and the local development network (`mosaic devnet`): an anvil chain that mines on an interval, the contracts, an
// open group, named prefunded dev accounts and a bootstrap libp2p/Helia node (TCP and WebSockets).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { createAvatarGroup } from "@mosaic/avatar";
import {
  connectChain,
  createIpfsNode,
  deployMosaic,
  deployVaultRecovery,
  type IpfsNode,
  loadOrCreatePeerKey,
  type MosaicContracts,
  type NetworkFile,
  namedError,
  networkFileFor,
  writeFileAtomic,
  writeNetworkFile,
} from "@mosaic/protocol";
import { HDNodeWallet, Mnemonic, type Signer } from "ethers";

/** The local chain could not be started: no anvil binary for this platform, its port taken, or no answer in time. */
export class DevnetError extends namedError("DevnetError") {}

/** The test mnemonic anvil and Hardhat prefund accounts from. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

// ---------------------------------------------------------------------------------------------------------------
// deploying

export interface DeployNetworkInit {
  /** The wallet that pays for and owns the deployment, connected to the chain. */
  deployer: Signer;
  /** The network's name, written into the file. */
  name: string;
  /** The RPC URL written into the file (the one the deployer is connected to). */
  rpc: string;
  /** libp2p bootstrap multiaddrs to write into the file. @default [] */
  bootstrap?: string[];
  /**
   * The shortest recovery timelock VaultRecovery allows, in seconds.
   * @default 172800 (48 h)
   */
  minRecoveryDelay?: bigint;
  /** A name for an open group to create (anyone may join, one avatar per wallet). @default undefined (none) */
  openGroup?: string;
  /** Told of each step, in words ("deploying VaultRecovery…"). @default nothing */
  progress?: (line: string) => void;
}

/** What deployNetwork deployed: the network file's contents and typed handles. */
export interface DeployedNetwork {
  network: NetworkFile;
  contracts: MosaicContracts;
}

/**
 * Deploys every Mosaic contract (Semaphore, groups, admission policies, job registry, reducer directory, shared jobs,
 * vault recovery) with `deployer`, optionally creates an open group, and returns the network file's contents (the
 * shared jobs' address among them: deployMosaic's addresses carry it).
 */
export async function deployNetwork(init: DeployNetworkInit): Promise<DeployedNetwork> {
  const progress = init.progress ?? (() => {});
  const provider = init.deployer.provider;
  if (provider == null) throw new TypeError("deployNetwork: the deployer must be connected to a provider");
  const { chainId } = await provider.getNetwork();
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  progress(
    "deploying Semaphore (verifier, Poseidon), AvatarGroups, OpenAdmission, RegistrarAdmission, JobRegistry, ReducerDirectory, SharedJobs, ExposureFeeds, AlertFeeds…",
  );
  const contracts = await deployMosaic(init.deployer);
  const deployBlock = contracts.deployBlock;
  progress(`  deployed from block ${deployBlock} (${since()})`);
  progress("deploying VaultRecovery…");
  const recovery = await deployVaultRecovery(init.deployer, init.minRecoveryDelay ?? 172_800n);
  const recoveryReceipt = await recovery.deploymentTransaction()?.wait();
  const recoveryBlock = recoveryReceipt?.blockNumber ?? (await provider.getBlockNumber());
  progress(`  deployed at block ${recoveryBlock} (${since()})`);
  let openGroup: number | undefined;
  if (init.openGroup !== undefined) {
    progress(`creating the open group "${init.openGroup}"…`);
    openGroup = Number(await createAvatarGroup(contracts, { name: init.openGroup, policy: "open" }));
    progress(`  group ${openGroup} (${since()})`);
  }
  const network = networkFileFor({
    name: init.name,
    chainId,
    rpc: init.rpc,
    addresses: contracts.addresses,
    deployBlock,
    vaultRecovery: { address: await recovery.getAddress(), deployBlock: recoveryBlock },
    bootstrap: init.bootstrap,
    openGroup,
  });
  return { network, contracts };
}

// ---------------------------------------------------------------------------------------------------------------
// anvil

/** The anvil binary shipped by the npm package @foundry-rs/anvil for this platform, or undefined. */
export function anvilBinary(): string | undefined {
  if (process.env.MOSAIC_ANVIL) return process.env.MOSAIC_ANVIL;
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
  if (arch === undefined) return undefined;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
    return path.join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
  } catch {
    return undefined;
  }
}

export interface AnvilInit {
  /** The port to serve JSON-RPC on, on 127.0.0.1. @default 8545 */
  port?: number;
  /** Seconds between blocks, mined whether or not there are transactions, so chain time moves. @default 1 */
  blockTime?: number;
  /** How many accounts to prefund from the test mnemonic. @default 10 */
  accounts?: number;
  /** How long to wait for the RPC to answer, in ms. @default 30000 */
  startTimeoutMs?: number;
}

/** A running anvil process. */
export interface Anvil {
  rpc: string;
  pid: number;
  chainId: bigint;
  /** Stops anvil (its whole process group), waiting for it to exit. */
  stop(): Promise<void>;
}

/**
 * How anvil is started (Linux, macOS): the shell execs anvil (so its pid is anvil's) after forking a watchdog in the
 * same process group that reads the pipe from this process on fd 3 until it closes, which happens however this
 * process ends (SIGKILL, a crash, where no exit hook runs), then kills the group. A background list's stdin is
 * /dev/null in a non-interactive shell, hence fd 3; anvil itself gets neither.
 */
const WATCHDOG = `exec 3<&0; (cat <&3 >/dev/null; kill -KILL 0) & exec "$0" "$@" </dev/null 3<&-`;

/**
 * Starts anvil as a child process in its own process group, mining a block every `blockTime` seconds, and waits
 * for its RPC to answer. A DevnetError when the binary is missing, it exits (its port taken) or does not answer.
 */
export async function startAnvil(init: AnvilInit = {}): Promise<Anvil> {
  const bin = anvilBinary();
  if (bin === undefined)
    throw new DevnetError(
      `no anvil binary for ${process.platform}-${process.arch}: install the npm package @foundry-rs/anvil (npm install does), or set MOSAIC_ANVIL to an anvil binary`,
    );
  const port = init.port ?? 8545;
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--block-time",
    String(init.blockTime ?? 1),
    "--accounts",
    String(init.accounts ?? 10),
    "--mnemonic",
    DEV_MNEMONIC,
    "--chain-id",
    "31337",
  ];
  // detached: its own process group, so stop() can signal the group and nothing outlives the devnet.
  const child =
    process.platform === "win32"
      ? spawn(bin, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] })
      : spawn("/bin/sh", ["-c", WATCHDOG, bin, ...args], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const failed = new Promise<never>((_, reject) => {
    child.on("error", (err) => reject(new DevnetError(`cannot start anvil (${bin}): ${err.message}`)));
    exited.then((code) =>
      reject(
        // 126 and 127: the shell could not run the binary (not executable, not found).
        code === 126 || code === 127
          ? new DevnetError(`cannot start anvil (${bin}): ${output.trim().slice(-1000)}`)
          : new DevnetError(`anvil exited (code ${code}) before its RPC answered; is port ${port} taken?\n${output.trim().slice(-1000)}`),
      ),
    );
  });
  failed.catch(() => {});
  // Should this process exit without stop() (process.exit on a second Ctrl-C, an uncaught error), anvil goes too; when
  // it is killed outright, the watchdog sees its end of the pipe close. An error on that pipe (anvil gone) is no error.
  child.stdin?.on("error", () => {});
  const onExit = () => {
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.on("exit", onExit);
  const stop = async () => {
    await stopProcessGroup(child, exited);
    process.off("exit", onExit);
  };
  const rpc = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (init.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      const attempt = connectChain({ rpcUrl: rpc, accounts: 0, timeoutMs: 1000 }).then(
        async (c) => {
          await c.close();
          return c.chainId;
        },
        () => undefined,
      );
      const chainId = await Promise.race([attempt, failed]);
      if (chainId !== undefined) return { rpc, pid: child.pid as number, chainId, stop };
      if (Date.now() > deadline) throw new DevnetError(`anvil did not answer on ${rpc} within ${init.startTimeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** SIGTERM to the child's process group, SIGKILL after 5 s; resolves once it has exited. */
async function stopProcessGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------------
// the devnet

export interface DevnetInit {
  /** The JSON-RPC port. @default 8545 */
  port?: number;
  /** Seconds between blocks. @default 1 */
  blockTime?: number;
  /** How many user accounts (user-1..user-N) to write keys for, besides the researcher and two reducers. @default 3 */
  users?: number;
  /** Where the network file (devnet.json), the key files and the bootstrap node's identity go. @default "networks" */
  dir?: string;
  /** The bootstrap node's TCP port; WebSockets listens on the next one (0: any free ports). @default 4001 */
  bootstrapPort?: number;
  /** Told of each step. @default nothing */
  progress?: (line: string) => void;
}

/** A running devnet. */
export interface Devnet {
  network: NetworkFile;
  /** The network file's path. */
  file: string;
  /** The dev accounts' key files, by name (deployer, researcher, reducer-1, reducer-2, user-1, ...). */
  keys: { name: string; address: string; file: string }[];
  anvil: Anvil;
  bootstrap: IpfsNode;
  /** Stops the bootstrap node and anvil. */
  stop(): Promise<void>;
}

/** The devnet's named accounts, in the order of the test mnemonic's indices. */
export function devAccountNames(users: number): string[] {
  return ["deployer", "researcher", "reducer-1", "reducer-2", ...Array.from({ length: users }, (_, i) => `user-${i + 1}`)];
}

/**
 * Starts a local network: anvil mining every `blockTime` s, every contract deployed, an open group, key files for
 * the named dev accounts (prefunded by anvil), a bootstrap libp2p node with a stable identity, and the network file.
 * Whatever started is stopped again when a later step fails.
 */
export async function startDevnet(init: DevnetInit = {}): Promise<Devnet> {
  const progress = init.progress ?? (() => {});
  const dir = path.resolve(init.dir ?? "networks");
  const users = init.users ?? 3;
  const names = devAccountNames(users);
  await mkdir(path.join(dir, "devnet-keys"), { recursive: true });
  progress(`starting anvil on 127.0.0.1:${init.port ?? 8545} (a block every ${init.blockTime ?? 1} s, ${names.length} funded accounts)…`);
  const anvil = await startAnvil({ port: init.port, blockTime: init.blockTime, accounts: names.length });
  let bootstrap: IpfsNode | undefined;
  try {
    progress(`  anvil ${anvil.pid} answers at ${anvil.rpc} (chain ${anvil.chainId})`);
    const chain = await connectChain({ rpcUrl: anvil.rpc, accounts: 1, mnemonic: DEV_MNEMONIC });
    let deployed: DeployedNetwork;
    try {
      deployed = await deployNetwork({
        deployer: chain.accounts[0] as Signer,
        name: "devnet",
        rpc: anvil.rpc,
        // Ten minutes, so recovery can be tried on a devnet in one sitting (48 h on a real chain).
        minRecoveryDelay: 600n,
        openGroup: "devnet-open",
        progress,
      });
    } finally {
      await chain.close();
    }
    progress("writing the dev accounts' key files…");
    const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC);
    const keys = [];
    for (const [i, name] of names.entries()) {
      const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
      const file = path.join(dir, "devnet-keys", `${name}.key`);
      await writeFileAtomic(file, `${wallet.privateKey}\n`, { mode: 0o600 });
      keys.push({ name, address: wallet.address, file });
    }
    const port = init.bootstrapPort ?? 4001;
    progress(`starting the bootstrap libp2p node (TCP ${port || "any"}, WebSockets ${port === 0 ? "any" : port + 1})…`);
    bootstrap = await createIpfsNode({
      listen: [`/ip4/127.0.0.1/tcp/${port}`, `/ip4/127.0.0.1/tcp/${port === 0 ? 0 : port + 1}/ws`],
      privateKey: await loadOrCreatePeerKey(path.join(dir, "devnet-bootstrap.key")),
    });
    const addrs = bootstrap.libp2p.getMultiaddrs().map(String);
    const network: NetworkFile = { ...deployed.network, bootstrap: addrs };
    const file = path.join(dir, "devnet.json");
    await writeNetworkFile(file, network);
    progress(`wrote ${file}`);
    const node = bootstrap;
    return {
      network,
      file,
      keys,
      anvil,
      bootstrap: node,
      stop: async () => {
        await node.stop().catch(() => {});
        await anvil.stop();
      },
    };
  } catch (err) {
    await bootstrap?.stop().catch(() => {});
    await anvil.stop();
    throw err;
  }
}
