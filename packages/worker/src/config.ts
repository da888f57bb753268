// The reducer node's config file: JSON, every field checked and named when wrong, paths relative to the file.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type NetworkFile, namedError } from "@mosaic/protocol";
import { isAddress } from "ethers";
import { DEFAULT_STATUS_ORIGINS, LOOPBACK_HOSTS, statusOrigin } from "./http.js";

/** The config file is missing, not JSON, or has a field that is wrong; the message names the field. */
export class ReducerConfigError extends namedError("ReducerConfigError") {}

export interface ReducerConfig {
  /** JSON-RPC endpoint of the chain. */
  rpcUrl: string;
  /** The JobRegistry's address. */
  registry: string;
  /** File holding the operator's private key (first line, 0x optional). */
  operatorKeyFile: string;
  /** Where journals, blocks and the node's status file live. */
  dataDir: string;
  /** libp2p listen address. @default "/ip4/127.0.0.1/tcp/0" */
  listen: string;
  /**
   * A second listen address over WebSockets, which browsers (the app's vaults and researchers) can dial; "" for none.
   * @default "/ip4/127.0.0.1/tcp/0/ws"
   */
  wsListen: string;
  /** Peers to dial at start (researchers' nodes, relays, other reducers). @default [] */
  peers: string[];
  /**
   * Loopback status port, and the origins whose pages may read it (http(s) origins, no path; the browser app's).
   * @default { host: "127.0.0.1", port: 9464, allowOrigins: DEFAULT_STATUS_ORIGINS }
   */
  http: { host: string; port: number; allowOrigins: string[] };
  /** @default { threads: 2, batchSize: 64, batchWaitMs: 200 } */
  verifier: { threads: number; batchSize: number; batchWaitMs: number };
  /** How often to read the chain. @default 1000 */
  pollMs: number;
  /** How long to wait for a block over bitswap. @default 10000 */
  fetchTimeoutMs: number;
  /** Finalize jobs this node proposed for once their window closes. @default true */
  finalize: boolean;
  /** Check other reducers' proposals for the jobs this node serves, and challenge provable faults. @default true */
  watch: boolean;
  /**
   * The ReducerDirectory's address: where this node announces its peer id and addresses (when staked) and finds
   * the other reducers to dial. @default the network file's, else undefined (no announcement, no discovery)
   */
  directory?: string;
  /**
   * The SharedJobs contract's address: where this node registers its aggregator key and aggregates the shared-mode
   * jobs that chose it. @default the network file's, else undefined (no shared-mode jobs)
   */
  sharedJobs?: string;
  /** Public multiaddrs to record in the directory. @default [] (the node's listen addresses) */
  announce: string[];
  /** The block log reads start from (the registry's deploy block). @default the network file's, else 0 */
  fromBlock: number;
  /** The network file this config was resolved from, and the chain it is for (checked at start). @default undefined */
  network?: { file: string; chainId: number };
  /**
   * Hotspot key files a health authority handed this node ('mosaic exposure hotspots publish' writes them, one per
   * hotspot set): with any, the node answers private hotspot checks (/mosaic/psi/1.0.0) for those sets. Paths are
   * relative to the config file; each is read and checked at start (HotspotKeyFileError naming it, nothing started).
   * @default [] (no hotspot checks answered)
   */
  hotspotKeys: string[];
  /**
   * Public alert feeds (ids on the AlertFeeds contract) this node replicates: it follows their announcements and
   * on-chain heads, keeps their verified entries in its blockstore and serves them to vaults over bitswap.
   * @default [] (no replica)
   */
  alertFeeds: number[];
  /**
   * The AlertFeeds contract's address, needed when alertFeeds names any feed.
   * @default the network file's, else undefined
   */
  alertFeedsAddress?: string;
}

const KEYS = new Set([
  "rpcUrl",
  "registry",
  "operatorKeyFile",
  "dataDir",
  "listen",
  "wsListen",
  "peers",
  "http",
  "verifier",
  "pollMs",
  "fetchTimeoutMs",
  "finalize",
  "watch",
  "network",
  "directory",
  "sharedJobs",
  "announce",
  "fromBlock",
  "hotspotKeys",
  "alertFeeds",
  "alertFeedsAddress",
]);

/** Alert feeds one node may replicate. */
const MAX_ALERT_FEEDS = 256;

/** Hotspot key files one node may be given: far more sets than an authority keeps live at once. */
const MAX_HOTSPOT_KEY_FILES = 256;

function fail(file: string, message: string): never {
  throw new ReducerConfigError(`${file}: ${message}`);
}

function int(file: string, where: string, value: unknown, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
    fail(file, `${where}: expected an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return value as number;
}

/**
 * Checks a parsed config; `file` names it in errors and anchors relative paths. With `network` (the loaded network
 * file the config's `network` field names), rpcUrl, registry, directory, fromBlock and bootstrap peers default
 * to the file's; fields in the config win.
 */
export function parseReducerConfig(value: unknown, file: string, network?: NetworkFile & { file?: string }): ReducerConfig {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(file, "expected a JSON object");
  const c = value as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KEYS.has(k)) fail(file, `${k}: not a config field (known: ${[...KEYS].join(", ")})`);
  const base = path.dirname(path.resolve(file));
  const str = (k: string): string => {
    if (typeof c[k] !== "string" || (c[k] as string).length === 0 || (c[k] as string).length > 4096)
      fail(file, `${k}: expected a non-empty string`);
    return c[k] as string;
  };
  if (c.network !== undefined && network === undefined) fail(file, "network: the network file was not loaded; use loadReducerConfig");
  const fromNetwork = (k: string, v: unknown): unknown => (c[k] === undefined && network !== undefined ? v : c[k]);
  const rpcUrl = fromNetwork("rpcUrl", network?.rpc);
  if (typeof rpcUrl !== "string" || !/^(https?|wss?):\/\//.test(rpcUrl))
    fail(
      file,
      `rpcUrl: expected an http(s) or ws(s) URL${network === undefined ? " (or a network file)" : ""}, got ${JSON.stringify(rpcUrl)}`,
    );
  const registry = fromNetwork("registry", network?.contracts.jobRegistry.address);
  if (typeof registry !== "string" || !isAddress(registry))
    fail(file, `registry: expected the JobRegistry's address, got ${JSON.stringify(registry)}`);
  const directory = fromNetwork("directory", network?.contracts.reducerDirectory.address);
  if (directory !== undefined && (typeof directory !== "string" || !isAddress(directory)))
    fail(file, `directory: expected the ReducerDirectory's address, got ${JSON.stringify(directory)}`);
  const sharedJobs = fromNetwork("sharedJobs", network?.contracts.sharedJobs?.address);
  if (sharedJobs !== undefined && (typeof sharedJobs !== "string" || !isAddress(sharedJobs)))
    fail(file, `sharedJobs: expected the SharedJobs contract's address, got ${JSON.stringify(sharedJobs)}`);
  const sameRegistry = network !== undefined && registry.toLowerCase() === network.contracts.jobRegistry.address.toLowerCase();
  const fromBlock = c.fromBlock ?? (sameRegistry ? network?.contracts.jobRegistry.deployBlock : 0) ?? 0;
  const announce = c.announce ?? [];
  if (
    !Array.isArray(announce) ||
    announce.length > 8 ||
    !announce.every((a) => typeof a === "string" && a.startsWith("/") && a.length <= 256)
  )
    fail(file, "announce: expected up to 8 public multiaddrs (each starting with /)");
  const peers = [...((c.peers ?? []) as unknown[])];
  for (const b of network?.bootstrap ?? []) if (!peers.includes(b)) peers.push(b);
  if (!Array.isArray(peers) || peers.length > 64 || !peers.every((p) => typeof p === "string" && p.startsWith("/") && p.includes("/p2p/")))
    fail(file, "peers: expected up to 64 multiaddrs with /p2p/ peer ids");
  if (c.http !== undefined && (c.http === null || typeof c.http !== "object" || Array.isArray(c.http)))
    fail(file, "http: expected an object { host, port, allowOrigins }");
  const http = (c.http ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(http))
    if (!["host", "port", "allowOrigins"].includes(k)) fail(file, `http.${k}: not a config field (known: host, port, allowOrigins)`);
  const host = http.host ?? "127.0.0.1";
  if (typeof host !== "string" || !LOOPBACK_HOSTS.has(host))
    fail(file, `http.host: expected a loopback address (127.0.0.1 or ::1), got ${JSON.stringify(host)}`);
  const allowOrigins = http.allowOrigins ?? DEFAULT_STATUS_ORIGINS;
  if (!Array.isArray(allowOrigins) || allowOrigins.length > 16)
    fail(file, `http.allowOrigins: expected up to 16 origins such as "http://127.0.0.1:5173", got ${JSON.stringify(allowOrigins)}`);
  const origins = allowOrigins.map((o: unknown, i) => {
    const origin = statusOrigin(o);
    if (origin === undefined)
      fail(
        file,
        `http.allowOrigins[${i}]: expected an http(s) origin with no path, such as "http://127.0.0.1:5173", got ${JSON.stringify(o)}`,
      );
    return origin;
  });
  const verifier = (c.verifier ?? {}) as Record<string, unknown>;
  const listen = c.listen ?? "/ip4/127.0.0.1/tcp/0";
  if (typeof listen !== "string" || !listen.startsWith("/")) fail(file, `listen: expected a multiaddr, got ${JSON.stringify(listen)}`);
  const wsListen = c.wsListen === undefined ? "/ip4/127.0.0.1/tcp/0/ws" : c.wsListen;
  if (typeof wsListen !== "string" || !(wsListen === "" || /^\/.+\/wss?$/.test(wsListen)))
    fail(file, `wsListen: expected a WebSockets multiaddr (…/tcp/PORT/ws) or "" for none, got ${JSON.stringify(wsListen)}`);
  if (c.finalize !== undefined && typeof c.finalize !== "boolean") fail(file, "finalize: expected true or false");
  if (c.watch !== undefined && typeof c.watch !== "boolean") fail(file, "watch: expected true or false");
  const hotspotKeys = c.hotspotKeys === undefined ? [] : c.hotspotKeys;
  if (!Array.isArray(hotspotKeys) || hotspotKeys.length > MAX_HOTSPOT_KEY_FILES)
    fail(
      file,
      `hotspotKeys: expected a list of up to ${MAX_HOTSPOT_KEY_FILES} hotspot key files, got ${JSON.stringify(hotspotKeys)?.slice(0, 80)}`,
    );
  hotspotKeys.forEach((k: unknown, i) => {
    if (typeof k !== "string" || k.length === 0 || k.length > 4096)
      fail(file, `hotspotKeys[${i}]: expected a key file's path, got ${JSON.stringify(k)?.slice(0, 80)}`);
  });
  const alertFeeds = c.alertFeeds === undefined ? [] : c.alertFeeds;
  if (!Array.isArray(alertFeeds) || alertFeeds.length > MAX_ALERT_FEEDS)
    fail(file, `alertFeeds: expected a list of up to ${MAX_ALERT_FEEDS} feed ids, got ${JSON.stringify(alertFeeds)?.slice(0, 80)}`);
  alertFeeds.forEach((id: unknown, i) => {
    if (!Number.isSafeInteger(id) || (id as number) < 1)
      fail(file, `alertFeeds[${i}]: expected a feed id (an integer >= 1), got ${JSON.stringify(id)?.slice(0, 80)}`);
    if (alertFeeds.indexOf(id) !== i) fail(file, `alertFeeds[${i}]: feed ${id} is named twice`);
  });
  const alertFeedsAddress = fromNetwork("alertFeedsAddress", network?.contracts.alertFeeds?.address);
  if (alertFeedsAddress !== undefined && (typeof alertFeedsAddress !== "string" || !isAddress(alertFeedsAddress)))
    fail(file, `alertFeedsAddress: expected the AlertFeeds contract's address, got ${JSON.stringify(alertFeedsAddress)}`);
  if (alertFeeds.length > 0 && alertFeedsAddress === undefined)
    fail(
      file,
      "alertFeedsAddress: alertFeeds names feeds, but neither the config nor a network file gives the AlertFeeds contract's address",
    );
  return {
    rpcUrl: rpcUrl as string,
    registry: registry as string,
    operatorKeyFile: path.resolve(base, str("operatorKeyFile")),
    dataDir: path.resolve(base, str("dataDir")),
    listen,
    wsListen,
    peers: peers as string[],
    http: { host, port: int(file, "http.port", http.port ?? 9464, 0, 65535), allowOrigins: origins },
    verifier: {
      threads: int(file, "verifier.threads", verifier.threads ?? 2, 1, 64),
      batchSize: int(file, "verifier.batchSize", verifier.batchSize ?? 64, 1, 4096),
      batchWaitMs: int(file, "verifier.batchWaitMs", verifier.batchWaitMs ?? 200, 0, 60_000),
    },
    pollMs: int(file, "pollMs", c.pollMs ?? 1000, 50, 600_000),
    fetchTimeoutMs: int(file, "fetchTimeoutMs", c.fetchTimeoutMs ?? 10_000, 100, 600_000),
    finalize: (c.finalize as boolean | undefined) ?? true,
    watch: (c.watch as boolean | undefined) ?? true,
    directory: directory as string | undefined,
    sharedJobs: sharedJobs as string | undefined,
    announce: announce as string[],
    fromBlock: int(file, "fromBlock", fromBlock, 0, Number.MAX_SAFE_INTEGER),
    network: network === undefined ? undefined : { file: network.file ?? file, chainId: network.chainId },
    hotspotKeys: (hotspotKeys as string[]).map((k) => path.resolve(base, k)),
    alertFeeds: alertFeeds as number[],
    alertFeedsAddress: alertFeedsAddress as string | undefined,
  };
}

/** Reads and checks a config file. */
export async function loadReducerConfig(file: string): Promise<ReducerConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    fail(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write one as the README shows`);
  }
  if (text.length > 1024 * 1024) fail(file, "over 1 MiB; this is not a reducer config");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(file, `not JSON (${(err as Error).message})`);
  }
  return resolveReducerConfig(value, file);
}

/**
 * Checks a config object, loading the network file its `network` field names first (a name looks in
 * `networks/<name>.json` beside the config file; a path is relative to it). `file` names the config in errors.
 */
export async function resolveReducerConfig(value: unknown, file: string): Promise<ReducerConfig> {
  const name = (value as { network?: unknown } | null)?.network;
  if (name === undefined) return parseReducerConfig(value, file);
  if (typeof name !== "string" || name.length === 0 || name.length > 4096) fail(file, "network: expected a network name or file path");
  const { loadNetwork } = await import("@mosaic/protocol");
  const network = await loadNetwork(name, { cwd: path.dirname(path.resolve(file)) });
  return parseReducerConfig(value, file, network);
}
