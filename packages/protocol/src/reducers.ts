// Finding reducers from the chain: the staked operators' records in the ReducerDirectory, checked and made dialable;
// and a reducer announcing itself there (ethers and multiaddr parsing only, so it runs in the browser too).
import { multiaddr } from "@multiformats/multiaddr";
import type { Provider, Signer } from "ethers";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { type JobRegistry, JobRegistry__factory, type ReducerDirectory } from "./contracts.js";
import { namedError } from "./errors.js";

/** The directory reads its stakes from another JobRegistry than the one given: its records say nothing about this one's reducers. */
export class DirectoryMismatchError extends namedError("DirectoryMismatchError") {}

/** announceReducer from an operator with no stake in the directory's JobRegistry: stake first (`reducer stake`), then announce. */
export class ReducerNotStakedError extends namedError("ReducerNotStakedError") {}

/** A staked operator's reducer as found on-chain, ready to dial. */
export interface ReducerRecord {
  /** The operator's checksummed address: the key that signs its receipts and proposals. */
  operator: string;
  /** The libp2p peer id it announced. */
  peerId: string;
  /** Its multiaddrs that parse, each ending in `/p2p/<peerId>` (appended where the operator left it off). */
  addrs: string[];
  /** The block timestamp (seconds) of its latest announce. */
  updatedAt: number;
  /** Its stake in the JobRegistry (not counting what is unbonding), at the block read. */
  stake: bigint;
}

/** A record readReducers left out, or one multiaddr it dropped from a record it kept. */
export interface SkippedReducer {
  operator: string;
  /** Set when only this multiaddr was dropped (the record was kept with its other ones); absent when the whole record was skipped. */
  addr?: string;
  /** Why, e.g. `peer id "x" is not a libp2p peer id`. */
  reason: string;
}

export interface ReadReducersOptions {
  /**
   * Leave out operators whose stake is below this. Pass the job's minStake (`JobRegistry.jobs(id).minStake`) when
   * looking for the reducers of a job: the default admits any operator with 1 wei at stake, so a flood of records
   * costing 1 wei each would compete with the job's real reducers for the `maxRecords` places.
   * @default 1n (any stake)
   */
  minStake?: bigint;
  /**
   * At most this many records are returned: the highest-staked operators whose record is dialable (ties broken by
   * operator address). Records are read in that order and reading stops once enough were kept, so a flood of cheap
   * records costs neither a read per record nor a dial per address. Operators left out for it are not reported to
   * `onSkip` (like those below `minStake`). A positive integer, or `Infinity` for every record.
   * @default 32
   */
  maxRecords?: number;
  /**
   * Keep multiaddrs whose host is not public: loopback (127/8, ::1, `localhost`), private (10/8, 172.16/12,
   * 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16, fe80::/10) or unspecified (0/8, ::), IPv4-mapped
   * ones included. With `false`, each such multiaddr is dropped and reported to `onSkip`, so an operator cannot make
   * every reader dial hosts inside its own network; pass `true` only on a local chain (a devnet, a test).
   * @default true (for now, while the callers on a loopback chain do not pass it yet; it will become false)
   */
  allowPrivate?: boolean;
  signal?: AbortSignal;
  /** Told of every record left out and every multiaddr dropped: a malicious record never fails the read. */
  onSkip?: (skipped: SkippedReducer) => void;
}

/** Operators read per page (the contract's MAX_PAGE). */
const PAGE = 100;
/** Operators whose record and stake are read at once. */
const CONCURRENCY = 16;
/** The directory's limits (ReducerDirectory.sol), checked before sending so a bad record fails here, named. */
const MAX_PEER_ID_BYTES = 128;
const MAX_ADDRS = 8;
const MAX_ADDR_BYTES = 256;

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/**
 * Whether `peerId` is a libp2p peer id in text form: a base58btc multihash (identity for Ed25519/secp256k1 keys,
 * `12D3KooW…`/`16Uiu2…`; sha2-256 for RSA, `Qm…`) or a CIDv1 with the libp2p-key codec.
 */
export function isPeerId(peerId: string): boolean {
  if (typeof peerId !== "string" || peerId.length === 0 || peerId.length > MAX_PEER_ID_BYTES) return false;
  try {
    if (peerId.startsWith("1") || peerId.startsWith("Q")) {
      const digest = Digest.decode(base58btc.baseDecode(peerId));
      return (digest.code === 0x00 && digest.size <= 42) || (digest.code === 0x12 && digest.size === 32);
    }
    return CID.parse(peerId).code === 0x72;
  } catch {
    return false;
  }
}

/**
 * A multiaddr from the directory made dialable: parsed (every component encodable) and ending in `/p2p/<peerId>`,
 * appended when missing. Throws a TypeError saying why for anything else (not a string, no leading "/", a character
 * that is not printable ASCII, an unknown protocol, a bad value, a /p2p/ component naming another peer or not at the
 * end).
 */
export function dialableAddr(addr: unknown, peerId: string): string {
  if (typeof addr !== "string" || !addr.startsWith("/")) throw new TypeError(`expected a multiaddr string starting with "/"`);
  if (utf8Length(addr) > MAX_ADDR_BYTES) throw new TypeError(`longer than ${MAX_ADDR_BYTES} bytes`);
  // The directory takes printable ASCII only (0x21..0x7e): refused here, named, rather than reverted on-chain.
  if (!/^[\x21-\x7e]+$/.test(addr)) throw new TypeError(`not printable ASCII (no spaces, control or non-ASCII characters)`);
  const parsed = multiaddr(addr);
  // Encoding every component checks values the parser takes lazily (a /p2p/ value, for one).
  void parsed.bytes;
  const components = parsed.getComponents();
  const p2p = components.flatMap((c, i) => (c.name === "p2p" ? [i] : []));
  const last = components.length - 1;
  if (p2p.length === 0) {
    const full = multiaddr(`${parsed.toString()}/p2p/${peerId}`);
    void full.bytes;
    return full.toString();
  }
  // A relayed address names the relay's peer first: only the last /p2p/ is the reducer's.
  const own = p2p[p2p.length - 1] as number;
  if (own !== last) throw new TypeError(`its /p2p/ component is not the last one`);
  const value = components[own]?.value;
  if (value !== peerId) throw new TypeError(`it names peer ${JSON.stringify(value)}, not the announced ${JSON.stringify(peerId)}`);
  return parsed.toString();
}

/** Whether 4 (IPv4) or 16 (IPv6) address bytes are loopback, private, shared, link-local or unspecified. */
function nonPublicIp(ip: Uint8Array): boolean {
  if (ip.length === 16) {
    // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible form (::a.b.c.d, which includes :: and ::1).
    if (ip.subarray(0, 10).every((b) => b === 0) && ((ip[10] === 0xff && ip[11] === 0xff) || (ip[10] === 0 && ip[11] === 0)))
      return nonPublicIp(ip.subarray(12));
    const [b0 = 0, b1 = 0] = ip;
    return (b0 & 0xfe) === 0xfc || (b0 === 0xfe && (b1 & 0xc0) === 0x80);
  }
  const [b0 = 0, b1 = 0] = ip;
  return (
    b0 === 0 ||
    b0 === 10 ||
    b0 === 127 ||
    (b0 === 100 && (b1 & 0xc0) === 64) ||
    (b0 === 169 && b1 === 254) ||
    (b0 === 172 && (b1 & 0xf0) === 16) ||
    (b0 === 192 && b1 === 168)
  );
}

/**
 * Whether an RPC URL is on this machine or a private network (a devnet, a test chain): then its reducers may announce
 * loopback and private addresses, which callers on a public chain refuse (`allowPrivate: localRpc(url)`).
 */
export function localRpc(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const ip = host.includes(":") ? `/ip6/${host}` : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? `/ip4/${host}` : undefined;
  if (ip === undefined) return false;
  try {
    return nonPublicHost(`${ip}/tcp/1`) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Why a dialable multiaddr points at a host that is not public (see ReadReducersOptions.allowPrivate), or undefined
 * when every host in it (a relay's included) is public or a DNS name other than `localhost`.
 */
export function nonPublicHost(addr: string): string | undefined {
  for (const { name, value } of multiaddr(addr).getComponents()) {
    if (value === undefined) continue;
    if (name === "ip4" || name === "ip6") {
      const bytes = multiaddr(`/${name}/${value}`).bytes;
      if (nonPublicIp(bytes.subarray(bytes.length - (name === "ip4" ? 4 : 16)))) return `${value} is not a public address`;
    } else if (name.startsWith("dns")) {
      const host = value.toLowerCase().replace(/\.$/, "");
      if (host === "localhost" || host.endsWith(".localhost")) return `${value} is a loopback name`;
    }
  }
  return undefined;
}

/** An ethers error that says the provider could not answer (not that a record is bad): never taken for a bad record. */
function isTransportError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown } | null;
  return (
    e?.name === "AbortError" ||
    e?.code === "NETWORK_ERROR" ||
    e?.code === "TIMEOUT" ||
    e?.code === "SERVER_ERROR" ||
    e?.code === "UNKNOWN_ERROR" ||
    e?.code === "CANCELLED"
  );
}

function providerOf(runner: ReducerDirectory["runner"]): Provider {
  const provider = runner?.provider ?? null;
  if (provider === null) throw new TypeError("directory: expected a contract connected to a provider or a signer with one");
  return provider;
}

/**
 * The reducers staked operators announced in the ReducerDirectory, read at one block so the pages agree: ordered by
 * stake, highest first (then by operator address), at most `maxRecords` of them. Operators whose stake is now below
 * `minStake` are left out. A record that cannot be read (it does not decode), whose peer id is not a libp2p peer id,
 * or none of whose multiaddrs is dialable, is skipped, and a multiaddr that does not parse (or names another peer, or
 * a host that is not public unless `allowPrivate`) is dropped: each reported to `onSkip`, never thrown, so one
 * malicious operator cannot break discovery for everyone. Only an error of the provider itself (network, timeout,
 * server) fails the read.
 *
 * The directory only says where to dial: authenticate a reducer by its peer id (libp2p's handshake) and by its
 * operator's signature on a receipt. Two operators may announce the same peer id; both records are returned.
 *
 * @throws DirectoryMismatchError when `directory` reads its stakes from another registry than `registry`.
 */
export async function readReducers(
  directory: ReducerDirectory,
  registry: JobRegistry,
  options: ReadReducersOptions = {},
): Promise<ReducerRecord[]> {
  const { signal, onSkip = () => {} } = options;
  const minStake = options.minStake ?? 1n;
  if (typeof minStake !== "bigint" || minStake < 0n) throw new RangeError(`minStake: expected a bigint ≥ 0, got ${String(minStake)}`);
  const maxRecords = options.maxRecords ?? 32;
  if (maxRecords !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(maxRecords) && maxRecords >= 1))
    throw new RangeError(`maxRecords: expected a positive integer or Infinity, got ${String(maxRecords)}`);
  const allowPrivate = options.allowPrivate ?? true;
  if (typeof allowPrivate !== "boolean") throw new TypeError(`allowPrivate: expected a boolean, got ${String(allowPrivate)}`);
  signal?.throwIfAborted();
  const blockTag = await providerOf(directory.runner).getBlockNumber();
  const [directoryRegistry, registryAddress] = await Promise.all([directory.registry({ blockTag }), registry.getAddress()]);
  if (directoryRegistry.toLowerCase() !== registryAddress.toLowerCase())
    throw new DirectoryMismatchError(
      `the reducer directory at ${await directory.getAddress()} reads stakes from ${directoryRegistry}, not from the job registry at ${registryAddress}; check the network file's contracts`,
    );
  const total = await directory.operatorCount({ blockTag });
  const operators: string[] = [];
  for (let start = 0n; start < total; start += BigInt(PAGE)) {
    signal?.throwIfAborted();
    operators.push(...(await directory.operatorsPage(start, PAGE, { blockTag })));
  }
  const unique = [...new Set(operators)];
  // Stakes first (a number each, from the registry, cannot be malformed), then records in stake order until enough.
  const staked: { operator: string; stake: bigint }[] = [];
  for (let i = 0; i < unique.length; i += CONCURRENCY) {
    signal?.throwIfAborted();
    const batch = unique.slice(i, i + CONCURRENCY);
    const stakes = await Promise.all(batch.map((operator) => registry.stakeOf(operator, { blockTag })));
    batch.forEach((operator, j) => {
      const stake = stakes[j] as bigint;
      if (stake >= minStake) staked.push({ operator, stake });
    });
  }
  staked.sort((a, b) =>
    a.stake === b.stake ? (a.operator.toLowerCase() < b.operator.toLowerCase() ? -1 : 1) : a.stake > b.stake ? -1 : 1,
  );
  const out: ReducerRecord[] = [];
  for (let i = 0; i < staked.length && out.length < maxRecords; i += CONCURRENCY) {
    signal?.throwIfAborted();
    const batch = staked.slice(i, i + CONCURRENCY);
    const read = await Promise.all(
      batch.map(async ({ operator, stake }) => {
        try {
          // Decoding is lazy in ethers: a string that is not UTF-8 throws when read, so read everything here.
          const [peerId, addrs, updatedAt] = await directory.reducerOf(operator, { blockTag });
          return { operator, stake, peerId: String(peerId), addrs: [...addrs].map(String), updatedAt };
        } catch (err) {
          if (isTransportError(err)) throw err;
          onSkip({ operator, reason: `its record could not be read: ${(err as Error).message}` });
          return undefined;
        }
      }),
    );
    for (const r of read) {
      if (r === undefined || out.length >= maxRecords) continue;
      if (!isPeerId(r.peerId)) {
        onSkip({ operator: r.operator, reason: `peer id ${JSON.stringify(r.peerId.slice(0, MAX_PEER_ID_BYTES))} is not a libp2p peer id` });
        continue;
      }
      const addrs: string[] = [];
      for (const addr of r.addrs) {
        try {
          const dialable = dialableAddr(addr, r.peerId);
          const nonPublic = allowPrivate ? undefined : nonPublicHost(dialable);
          if (nonPublic !== undefined) throw new TypeError(`${nonPublic} (allowPrivate is off)`);
          if (!addrs.includes(dialable)) addrs.push(dialable);
        } catch (err) {
          onSkip({ operator: r.operator, addr, reason: `multiaddr ${JSON.stringify(addr)}: ${(err as Error).message}` });
        }
      }
      if (addrs.length === 0) {
        onSkip({ operator: r.operator, reason: `none of its ${r.addrs.length} multiaddrs is dialable` });
        continue;
      }
      out.push({ operator: r.operator, peerId: r.peerId, addrs, updatedAt: Number(r.updatedAt), stake: r.stake });
    }
  }
  signal?.throwIfAborted();
  return out;
}

/** What a reducer announces: its peer id and public multiaddrs (each with or without the trailing `/p2p/<peerId>`). */
export interface ReducerAnnouncement {
  peerId: string;
  addrs: string[];
}

/** Checks an announcement against the directory's limits and multiaddr syntax: a TypeError/RangeError naming the field. */
function checkAnnouncement(record: ReducerAnnouncement): void {
  if (typeof record?.peerId !== "string" || !isPeerId(record.peerId))
    throw new TypeError(`peerId: expected a libp2p peer id (12D3KooW…), got ${JSON.stringify(record?.peerId)}`);
  if (!Array.isArray(record.addrs) || record.addrs.length === 0 || record.addrs.length > MAX_ADDRS)
    throw new RangeError(
      `addrs: expected 1 to ${MAX_ADDRS} multiaddrs, got ${Array.isArray(record.addrs) ? record.addrs.length : typeof record.addrs}`,
    );
  record.addrs.forEach((addr, i) => {
    try {
      dialableAddr(addr, record.peerId);
    } catch (err) {
      throw new TypeError(`addrs[${i}]: ${JSON.stringify(addr)}: ${(err as Error).message}`);
    }
  });
}

/**
 * Records the connected signer's reducer in the directory (its peer id and multiaddrs, as given), unless the chain
 * already holds exactly this record: then no transaction is sent, and `txHash` is "" with `changed` false. Waits for
 * the transaction to be mined.
 *
 * @throws TypeError/RangeError for a peer id or multiaddr the directory (or a reader) would refuse, before sending.
 * @throws ReducerNotStakedError when the signer has no stake in the directory's JobRegistry.
 */
export async function announceReducer(
  directory: ReducerDirectory,
  record: ReducerAnnouncement,
  options: { signal?: AbortSignal } = {},
): Promise<{ txHash: string; changed: boolean }> {
  checkAnnouncement(record);
  const signer = directory.runner as Signer | null;
  if (signer === null || typeof (signer as Partial<Signer>).getAddress !== "function")
    throw new TypeError("directory: expected a contract connected to a signer (the reducer's operator key)");
  options.signal?.throwIfAborted();
  const operator = await signer.getAddress();
  const [peerId, addrs] = await directory.reducerOf(operator);
  if (peerId === record.peerId && addrs.length === record.addrs.length && addrs.every((a, i) => a === record.addrs[i]))
    return { txHash: "", changed: false };
  const registryAddress = await directory.registry();
  const stake = await JobRegistry__factory.connect(registryAddress, directory.runner).stakeOf(operator);
  if (stake === 0n)
    throw new ReducerNotStakedError(
      `operator ${operator} has no stake in the job registry at ${registryAddress}: stake first (mosaic reducer stake), then announce`,
    );
  options.signal?.throwIfAborted();
  const tx = await directory.announce(record.peerId, record.addrs);
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`announce transaction ${tx.hash} failed`);
  return { txHash: tx.hash, changed: true };
}
