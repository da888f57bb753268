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
   * Leave out operators whose stake is below this (a job's minStake, for reducers that can propose for it).
   * @default 1n (any stake)
   */
  minStake?: bigint;
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
 * appended when missing. Throws a TypeError saying why for anything else (not a string, no leading "/", an unknown
 * protocol, a bad value, a /p2p/ component naming another peer or not at the end).
 */
export function dialableAddr(addr: unknown, peerId: string): string {
  if (typeof addr !== "string" || !addr.startsWith("/")) throw new TypeError(`expected a multiaddr string starting with "/"`);
  if (utf8Length(addr) > MAX_ADDR_BYTES) throw new TypeError(`longer than ${MAX_ADDR_BYTES} bytes`);
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

function providerOf(runner: ReducerDirectory["runner"]): Provider {
  const provider = runner?.provider ?? null;
  if (provider === null) throw new TypeError("directory: expected a contract connected to a provider or a signer with one");
  return provider;
}

/**
 * The reducers staked operators announced in the ReducerDirectory, read at one block so the pages agree: ordered by
 * stake, highest first (then by operator address). Operators whose stake is now below `minStake` are left out. A
 * record whose peer id is not a libp2p peer id, or none of whose multiaddrs parse, is skipped, and a multiaddr that
 * does not parse (or names another peer) is dropped: each reported to `onSkip`, never thrown, so one malicious
 * operator cannot break discovery for everyone.
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
  const out: ReducerRecord[] = [];
  for (let i = 0; i < unique.length; i += CONCURRENCY) {
    signal?.throwIfAborted();
    const batch = unique.slice(i, i + CONCURRENCY);
    const read = await Promise.all(
      batch.map(async (operator) => {
        const [stake, [peerId, addrs, updatedAt]] = await Promise.all([
          registry.stakeOf(operator, { blockTag }),
          directory.reducerOf(operator, { blockTag }),
        ]);
        return { operator, stake, peerId, addrs: [...addrs], updatedAt };
      }),
    );
    for (const r of read) {
      if (r.stake < minStake) continue;
      if (!isPeerId(r.peerId)) {
        onSkip({ operator: r.operator, reason: `peer id ${JSON.stringify(r.peerId.slice(0, MAX_PEER_ID_BYTES))} is not a libp2p peer id` });
        continue;
      }
      const addrs: string[] = [];
      for (const addr of r.addrs) {
        try {
          const dialable = dialableAddr(addr, r.peerId);
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
  return out.sort((a, b) =>
    a.stake === b.stake ? (a.operator.toLowerCase() < b.operator.toLowerCase() ? -1 : 1) : a.stake > b.stake ? -1 : 1,
  );
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
