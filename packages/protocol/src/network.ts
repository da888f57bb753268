// A network file (`networks/<name>.json`): where one Mosaic deployment lives — its chain, RPC, every contract's
// address and deploy block, and the libp2p peers to bootstrap from. Portable: the parsing; the Node entry reads and
// writes the files (network.node.ts).
import { multiaddr } from "@multiformats/multiaddr";
import { getAddress } from "ethers";
import type { MosaicAddresses } from "./contracts.js";
import { namedError } from "./errors.js";

/** A network file is missing, unreadable, too large or malformed: the message names the file, the field and what to do. */
export class NetworkFileError extends namedError("NetworkFileError") {}

/** A deployed contract: its checksummed address and the block it was deployed in (where log reads start). */
export interface Deployed {
  address: string;
  deployBlock: number;
}

/** The contracts of one Mosaic deployment. */
export interface NetworkContracts {
  semaphore: Deployed;
  avatarGroups: Deployed;
  openAdmission: Deployed;
  registrarAdmission: Deployed;
  jobRegistry: Deployed;
  reducerDirectory: Deployed;
  vaultRecovery?: Deployed;
  /** The secret-shared mode's jobs (issue 19): optional, so network files written before it still parse. */
  sharedJobs?: Deployed;
  /** Health authorities' exposure-notification feeds (issue 20): optional, so older network files still parse. */
  exposureFeeds?: Deployed;
  /** Public-alert feeds (issue 21): optional, so older network files still parse. */
  alertFeeds?: Deployed;
}

/** The contents of a network file, version 1. */
export interface NetworkFile {
  v: 1;
  /** The network's name (the file is `networks/<name>.json`). */
  name: string;
  chainId: number;
  /** The EVM JSON-RPC endpoint: http(s) or ws(s). */
  rpc: string;
  contracts: NetworkContracts;
  /** libp2p multiaddrs to bootstrap from, each ending in /p2p/<peer id>. */
  bootstrap: string[];
  /** The id of an open group anyone may join (devnet creates one). */
  openGroup?: number;
  /** When the file was written (ISO 8601). */
  createdAt: string;
}

/** The largest network file read (1 MiB): a network file is a few kilobytes. */
export const NETWORK_FILE_MAX_BYTES = 1 << 20;

const CONTRACT_KEYS = ["semaphore", "avatarGroups", "openAdmission", "registrarAdmission", "jobRegistry", "reducerDirectory"] as const;
const OPTIONAL_CONTRACT_KEYS = ["vaultRecovery", "sharedJobs", "exposureFeeds", "alertFeeds"] as const;
const FILE_KEYS = ["v", "name", "chainId", "rpc", "contracts", "bootstrap", "openGroup", "createdAt"];
const REDO = "fix it, or write it again with 'mosaic deploy' (or 'mosaic devnet' for a local chain)";

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "string" ? JSON.stringify(value) : typeof value;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Checks a network file's parsed JSON and returns it typed, with checksummed addresses. Strict: unknown keys, wrong
 * types, unchecksummable addresses, unsafe integers, a non-http(s)/ws(s) RPC and bootstrap addresses without /p2p/
 * are a NetworkFileError naming `where` (the file) and the field.
 */
export function parseNetworkFile(value: unknown, where: string): NetworkFile {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new NetworkFileError(`${where}: ${field}: expected ${expected}, got ${describe(got)}; ${REDO}`);
  };
  const strictKeys = (obj: Record<string, unknown>, allowed: readonly string[], at: string) => {
    for (const key of Object.keys(obj))
      if (!allowed.includes(key))
        throw new NetworkFileError(`${where}: ${at}unknown key ${JSON.stringify(key)} (known: ${allowed.join(", ")}); ${REDO}`);
  };
  const safeInt = (v: unknown, field: string, min: number): number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : fail(field, `an integer ≥ ${min}`, v);
  const address = (v: unknown, field: string): string => {
    if (typeof v !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v)) return fail(field, "an address (0x and 40 hex characters)", v);
    try {
      return getAddress(v);
    } catch {
      // A mixed-case address whose checksum is wrong: a typo, not an address.
      return fail(field, "an address with a valid EIP-55 checksum (or all lower case)", v);
    }
  };
  const deployed = (v: unknown, field: string): Deployed => {
    if (!isRecord(v)) return fail(field, "an object { address, deployBlock }", v);
    strictKeys(v, ["address", "deployBlock"], `${field}: `);
    return { address: address(v.address, `${field}.address`), deployBlock: safeInt(v.deployBlock, `${field}.deployBlock`, 0) };
  };

  if (!isRecord(value)) return fail("the file", "a JSON object", value);
  strictKeys(value, FILE_KEYS, "");
  if (value.v !== 1) fail("v", "1 (the only network file version)", value.v);
  const name = value.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
    fail("name", "a name of 1-64 letters, digits, '.', '_' or '-'", name);
  const chainId = safeInt(value.chainId, "chainId", 1);
  const rpc = value.rpc;
  let rpcOk = false;
  if (typeof rpc === "string") {
    try {
      rpcOk = ["http:", "https:", "ws:", "wss:"].includes(new URL(rpc).protocol);
    } catch {
      rpcOk = false;
    }
  }
  if (!rpcOk) fail("rpc", "an http(s):// or ws(s):// URL", rpc);
  const c = value.contracts;
  if (!isRecord(c)) return fail("contracts", "an object", c);
  strictKeys(c, [...CONTRACT_KEYS, ...OPTIONAL_CONTRACT_KEYS], "contracts: ");
  const contracts = {} as NetworkContracts;
  for (const key of CONTRACT_KEYS) contracts[key] = deployed(c[key], `contracts.${key}`);
  for (const key of OPTIONAL_CONTRACT_KEYS) if (c[key] !== undefined) contracts[key] = deployed(c[key], `contracts.${key}`);
  const bootstrap = value.bootstrap;
  if (!Array.isArray(bootstrap)) return fail("bootstrap", "an array of multiaddrs", bootstrap);
  for (const [i, addr] of bootstrap.entries()) {
    const field = `bootstrap[${i}]`;
    if (typeof addr !== "string") fail(field, "a multiaddr string", addr);
    try {
      multiaddr(addr);
    } catch {
      fail(field, "a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo…", addr);
    }
    if (!/\/p2p\/[^/]+$/.test(addr)) fail(field, "a multiaddr ending in /p2p/<peer id>", addr);
  }
  const openGroup = value.openGroup === undefined ? undefined : safeInt(value.openGroup, "openGroup", 0);
  const createdAt = value.createdAt;
  if (typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt))) fail("createdAt", "an ISO 8601 date", createdAt);
  return {
    v: 1,
    name: name as string,
    chainId,
    rpc: rpc as string,
    contracts,
    bootstrap: bootstrap as string[],
    ...(openGroup === undefined ? {} : { openGroup }),
    createdAt: createdAt as string,
  };
}

/** What a network file says of one deployment: where it is, and the chain, RPC and peers it is reached by. */
export interface NetworkFileInit {
  name: string;
  chainId: number | bigint;
  rpc: string;
  /** The addresses deployMosaic returned. */
  addresses: MosaicAddresses;
  /** The block of deployMosaic's first transaction: a lower bound for every log read of those contracts. */
  deployBlock: number;
  vaultRecovery?: Deployed;
  /** @default [] */
  bootstrap?: string[];
  openGroup?: number;
  /** @default now */
  createdAt?: string;
}

/** The network file of a deployment, checked as parseNetworkFile checks one read from disk. */
export function networkFileFor(init: NetworkFileInit): NetworkFile {
  const at = (address: string): Deployed => ({ address, deployBlock: init.deployBlock });
  const a = init.addresses;
  return parseNetworkFile(
    {
      v: 1,
      name: init.name,
      chainId: Number(init.chainId),
      rpc: init.rpc,
      contracts: {
        semaphore: at(a.semaphore),
        avatarGroups: at(a.avatarGroups),
        openAdmission: at(a.openAdmission),
        registrarAdmission: at(a.registrarAdmission),
        jobRegistry: at(a.jobRegistry),
        reducerDirectory: at(a.reducerDirectory),
        ...(a.sharedJobs === undefined ? {} : { sharedJobs: at(a.sharedJobs) }),
        ...(a.exposureFeeds === undefined ? {} : { exposureFeeds: at(a.exposureFeeds) }),
        ...(a.alertFeeds === undefined ? {} : { alertFeeds: at(a.alertFeeds) }),
        ...(init.vaultRecovery === undefined ? {} : { vaultRecovery: init.vaultRecovery }),
      },
      bootstrap: init.bootstrap ?? [],
      ...(init.openGroup === undefined ? {} : { openGroup: init.openGroup }),
      createdAt: init.createdAt ?? new Date().toISOString(),
    },
    `the network file of ${init.name}`,
  );
}
