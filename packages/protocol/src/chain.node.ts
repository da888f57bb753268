// The chain as every Mosaic role sees it from Node: a JSON-RPC connection with funded signers, deployment, key files.
import { readFile } from "node:fs/promises";
import {
  FetchRequest,
  type FetchResponse,
  HDNodeWallet,
  JsonRpcProvider,
  Mnemonic,
  Network,
  NonceManager,
  type Provider,
  type Signer,
  Wallet,
  WebSocketProvider,
} from "ethers";
import { attachMosaic, type MosaicContracts } from "./contracts.js";
import {
  type AlertFeeds,
  AlertFeeds__factory,
  AvatarGroups__factory,
  type ExposureFeeds,
  ExposureFeeds__factory,
  JobRegistry__factory,
  OpenAdmission__factory,
  PoseidonT3__factory,
  ReducerDirectory__factory,
  RegistrarAdmission__factory,
  SemaphoreVerifier__factory,
  Semaphore__factory,
  type SharedJobs,
  SharedJobs__factory,
  type VaultRecovery,
  VaultRecovery__factory,
} from "./contracts/types/index.js";
import { namedError, RpcUnreachableError } from "./errors.js";

/** Chain time can only be moved on the in-process simulated network; elsewhere a caller waits for the deadline. */
export class ChainTimeFixedError extends namedError("ChainTimeFixedError") {}

export interface ChainConnection {
  provider: Provider;
  chainId: bigint;
  /** Funded accounts: index 0 deploys; the rest serve researchers and reducers. */
  accounts: Signer[];
  /** True on the in-process simulated network, where time can be moved forward. */
  simulated: boolean;
  /** Latest block timestamp, in seconds. */
  now(): Promise<number>;
  /** Moves chain time forward (simulated network only) and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectChainInit {
  /** An EVM JSON-RPC endpoint, http(s) or ws(s) (tests, benches and the demo start an in-process one with `connectInProcessChain`). */
  rpcUrl: string;
  /**
   * The mnemonic whose first accounts are funded on `rpcUrl` (Hardhat's and Anvil's test mnemonic by default).
   * @default "test test test test test test test test test test test junk"
   */
  mnemonic?: string;
  /**
   * How many accounts to derive from the mnemonic.
   * @default 10
   */
  accounts?: number;
  /**
   * Where `rpcUrl` came from, named in an RpcUnreachableError ("--rpc", "networks/devnet.json").
   * @default undefined (the message names the URL only)
   */
  source?: string;
  /**
   * How long the first request (eth_chainId) may take before the endpoint counts as unreachable, in ms.
   * @default 3000
   */
  timeoutMs?: number;
  /**
   * How often to poll for new blocks and receipts (a transaction's wait), in ms.
   * @default 250 on a loopback endpoint (a devnet), ethers' 4000 elsewhere
   */
  pollingIntervalMs?: number;
}

const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * Asks `rpcUrl` for its chain id once, within `timeoutMs`: an RpcUnreachableError naming the URL, where it came from
 * and what to do otherwise (ethers' own network detection retries forever and fails as a bare ECONNREFUSED).
 */
async function probeChainId(rpcUrl: string, source: string | undefined, timeoutMs: number): Promise<bigint> {
  const from = source === undefined ? "" : ` (from ${source})`;
  const unreachable = (why: string) =>
    new RpcUnreachableError(
      `cannot reach the chain at ${rpcUrl}${from}: ${why}; check the URL and that the node is running (for a local chain: 'mosaic devnet')`,
    );
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw unreachable("not a URL");
  }
  if (url.protocol === "ws:" || url.protocol === "wss:") {
    const ws = new WebSocketProvider(rpcUrl);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unreachable(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      const { chainId } = await Promise.race([ws.getNetwork(), timeout]);
      return chainId;
    } catch (err) {
      throw err instanceof RpcUnreachableError ? err : unreachable((err as Error).message);
    } finally {
      clearTimeout(timer);
      await ws.destroy();
    }
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw unreachable("expected an http(s):// or ws(s):// URL");
  // ethers' FetchRequest (Node's http module): fetch() refuses some ports outright ("bad port").
  const request = new FetchRequest(rpcUrl);
  request.body = { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] };
  request.timeout = timeoutMs;
  let response: FetchResponse;
  try {
    response = await request.send();
  } catch (err) {
    const e = err as Error & { code?: string };
    const why =
      e.code === "TIMEOUT"
        ? `no answer within ${timeoutMs} ms`
        : e.code === "ECONNREFUSED"
          ? "connection refused (nothing listens there)"
          : e.code === "ENOTFOUND"
            ? "no such host"
            : e.message;
    throw unreachable(why);
  }
  let body: { result?: unknown };
  try {
    body = JSON.parse(response.bodyText) as { result?: unknown };
  } catch {
    throw unreachable(`HTTP ${response.statusCode}, not a JSON-RPC answer`);
  }
  if (typeof body?.result !== "string" || !/^0x[0-9a-fA-F]+$/.test(body.result))
    throw unreachable(`HTTP ${response.statusCode}, no chain id in the answer to eth_chainId`);
  return BigInt(body.result);
}

/**
 * Connects to the chain at an EVM JSON-RPC endpoint, with signers derived from a mnemonic. An endpoint that does not
 * answer within `timeoutMs` is an RpcUnreachableError.
 */
export async function connectChain(init: ConnectChainInit): Promise<ChainConnection> {
  const chainId = await probeChainId(init.rpcUrl, init.source, init.timeoutMs ?? 3000);
  // A static network: ethers does not detect it again (nor retry detection forever when the node goes away).
  const network = Network.from(chainId);
  const wsUrl = /^wss?:/i.test(init.rpcUrl);
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(new URL(init.rpcUrl).hostname);
  const pollingInterval = init.pollingIntervalMs ?? (loopback ? 250 : 4000);
  const provider = wsUrl
    ? new WebSocketProvider(init.rpcUrl, network)
    : // cacheTimeout -1: back-to-back transactions must not see a cached, stale nonce.
      new JsonRpcProvider(init.rpcUrl, network, { cacheTimeout: -1, staticNetwork: network, pollingInterval });
  const mnemonic = Mnemonic.fromPhrase(init.mnemonic ?? TEST_MNEMONIC);
  const accounts: Signer[] = [];
  for (let i = 0; i < (init.accounts ?? 10); i++) {
    const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`).connect(provider);
    accounts.push(new NonceManager(wallet));
  }
  return {
    provider,
    chainId,
    accounts,
    simulated: false,
    now: async () => (await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000),
    increaseTime: async () => {
      throw new ChainTimeFixedError("cannot move time on an external chain; wait for the deadline instead");
    },
    close: async () => provider.destroy(),
  };
}

/** Creates a fresh wallet on the connection's provider, funded from `funder`. */
export async function fundedWallet(chain: ChainConnection, funder: Signer, value: bigint): Promise<Signer> {
  const wallet = Wallet.createRandom().connect(chain.provider);
  const tx = await funder.sendTransaction({ to: wallet.address, value });
  await tx.wait();
  return new NonceManager(wallet);
}

export interface DeployInit {
  /**
   * Seconds a reducer waits between asking to unstake and withdrawing; every challenge window must be shorter.
   * @default 604800 (7 days)
   */
  unbondingDelay?: bigint;
  /** The bond a reducer posts with each proposal, lost to a proven fault. @default 0.1 ETH */
  proposalBond?: bigint;
  /**
   * The least JobRegistry stake a shared job's aggregator needs, whatever minStake the job asks
   * (SharedJobs.MIN_AGGREGATOR_STAKE): a researcher cannot name aggregators it staked for next to nothing.
   * @default 1 ETH
   */
  minAggregatorStake?: bigint;
}

/**
 * Deploys the stock Semaphore contracts (verifier, Poseidon library, Semaphore) and Mosaic's own (groups, admission
 * policies, job registry, reducer directory, shared jobs, exposure feeds, alert feeds), from the bytecode the generated factories
 * carry (no Hardhat at run time). `deployBlock` is the block of the first deployment transaction: log reads need start no earlier.
 */
export async function deployMosaic(
  deployer: Signer,
  init: DeployInit = {},
): Promise<MosaicContracts & { deployBlock: number; sharedJobs: SharedJobs; exposureFeeds: ExposureFeeds; alertFeeds: AlertFeeds }> {
  const poseidon = await (await new PoseidonT3__factory(deployer).deploy()).waitForDeployment();
  const first = await poseidon.deploymentTransaction()?.wait();
  if (!first) throw new Error("deployMosaic: the Poseidon library's deployment transaction has no receipt");
  const verifier = await (await new SemaphoreVerifier__factory(deployer).deploy()).waitForDeployment();
  const semaphore = await (
    await new Semaphore__factory({ "npm/poseidon-solidity@0.0.5/PoseidonT3.sol:PoseidonT3": await poseidon.getAddress() }, deployer).deploy(
      await verifier.getAddress(),
    )
  ).waitForDeployment();
  const groups = await (await new AvatarGroups__factory(deployer).deploy(await semaphore.getAddress())).waitForDeployment();
  const open = await (await new OpenAdmission__factory(deployer).deploy(await groups.getAddress())).waitForDeployment();
  const registrar = await (await new RegistrarAdmission__factory(deployer).deploy(await groups.getAddress())).waitForDeployment();
  const registry = await (
    await new JobRegistry__factory(deployer).deploy(
      await groups.getAddress(),
      await verifier.getAddress(),
      init.unbondingDelay ?? 604_800n,
      init.proposalBond ?? 100_000_000_000_000_000n,
    )
  ).waitForDeployment();
  const directory = await (await new ReducerDirectory__factory(deployer).deploy(await registry.getAddress())).waitForDeployment();
  // Its commit bond and window bound are the registry's proposal bond and unbonding delay.
  const shared = await (
    await new SharedJobs__factory(deployer).deploy(
      await registry.getAddress(),
      await groups.getAddress(),
      await verifier.getAddress(),
      init.minAggregatorStake ?? 1_000_000_000_000_000_000n,
    )
  ).waitForDeployment();
  const feeds = await (
    await new ExposureFeeds__factory(deployer).deploy(await groups.getAddress(), await registrar.getAddress())
  ).waitForDeployment();
  const alerts = await (await new AlertFeeds__factory(deployer).deploy()).waitForDeployment();
  const contracts = attachMosaic(deployer, {
    semaphore: await semaphore.getAddress(),
    avatarGroups: await groups.getAddress(),
    openAdmission: await open.getAddress(),
    registrarAdmission: await registrar.getAddress(),
    jobRegistry: await registry.getAddress(),
    reducerDirectory: await directory.getAddress(),
    sharedJobs: await shared.getAddress(),
    exposureFeeds: await feeds.getAddress(),
    alertFeeds: await alerts.getAddress(),
  });
  return {
    ...contracts,
    sharedJobs: SharedJobs__factory.connect(await shared.getAddress(), deployer),
    exposureFeeds: ExposureFeeds__factory.connect(await feeds.getAddress(), deployer),
    alertFeeds: AlertFeeds__factory.connect(await alerts.getAddress(), deployer),
    deployBlock: first.blockNumber,
  };
}

/**
 * Deploys the social-recovery contract. `minRecoveryDelay` is the shortest timelock any account may choose:
 * 48 h (172800 s) on a real chain, so an owner has two days to cancel a recovery they did not ask for.
 */
export async function deployVaultRecovery(deployer: Signer, minRecoveryDelay = 172_800n): Promise<VaultRecovery> {
  return (await new VaultRecovery__factory(deployer).deploy(minRecoveryDelay)).waitForDeployment() as Promise<VaultRecovery>;
}

/** Reads a private key from the first line of a file (0x optional); a TypeError naming the flag otherwise. */
export async function readWalletKey(file: string, flag = "--wallet-key-file"): Promise<string> {
  const line = ((await readFile(file, "utf8")).split(/\r?\n/, 1)[0] ?? "").trim();
  const key = line.startsWith("0x") ? line : `0x${line}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new TypeError(`${flag} ${file}: expected a private key, 64 hex characters (0x optional), on the first line`);
  return key;
}
