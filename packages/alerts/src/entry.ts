// Feed entries and their signatures: an entry is a dag-cbor block naming its feed, position, editor epoch and the entry
// before it, and carrying one CAP alert; m editors sign the digest AlertFeeds computes for it (entryDigest), and the
// checks here refuse exactly what the contract refuses.
import * as dagCbor from "@ipld/dag-cbor";
import { type Block, CID, equalBytes, fromHex, to0xHex } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2.js";
import { AbiCoder, isAddress, keccak256, Signature, toUtf8Bytes, verifyMessage } from "ethers";
import { validateCap } from "./cap.js";
import {
  BlockMismatchError,
  EntryTooLargeError,
  ForeignSignatureError,
  MalformedEntryError,
  MalformedSignatureError,
  SignersNotSortedError,
  TooFewSignaturesError,
} from "./feed-errors.js";
import type { CapAlert } from "./types.js";

/** Which feed: the chain, the AlertFeeds contract (lowercase 0x-hex) and the feed id (from 1). */
export interface AlertFeedRef {
  chainId: number;
  contract: string;
  feedId: number;
}

/** One feed entry, a dag-cbor block. `prev` is the CID of entry seq − 1 (null for seq 1). */
export interface AlertEntry {
  v: 1;
  feed: AlertFeedRef;
  seq: number;
  epoch: number;
  prev: CID | null;
  cap: CapAlert;
}

/** The largest entry block anyone fetches or accepts, in bytes (a CAP document is at most 256 KiB as XML). */
export const MAX_ENTRY_BYTES = 300 * 1024;
/** The most editors a feed has (AlertFeeds.MAX_EDITORS), so the most signatures an entry carries. */
export const MAX_EDITORS = 32;
/** The longest CID AlertFeeds anchors, in bytes (MAX_CID_LENGTH). */
export const MAX_CID_LENGTH = 64;

/** What signs a digest: an ethers Signer (a Wallet, a NonceManager around one) is one. */
export interface DigestSigner {
  signMessage(message: Uint8Array): Promise<string>;
}

/** A feed's editors of one epoch and how many of them must sign. */
export interface EditorSet {
  editors: string[];
  threshold: number;
}

const SIGNATURE_BYTES = 65;
/** secp256k1's group order over two: a signature with a larger s is the malleated twin of one with n − s. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const ENTRY_KEYS = ["cap", "epoch", "feed", "prev", "seq", "v"];
const ENTRY_TAG = keccak256(toUtf8Bytes("mosaic.alerts.entry.v1"));
const EDITORS_TAG = keccak256(toUtf8Bytes("mosaic.alerts.editors.v1"));
const DAG_CBOR = 0x71;
const SHA2_256 = 0x12;

/** Why `value` is not a feed reference, or undefined when it is one. */
export function feedRefProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return "expected { chainId, contract, feedId }";
  const ref = value as Record<string, unknown>;
  for (const key of Object.keys(ref))
    if (key !== "chainId" && key !== "contract" && key !== "feedId") return `unknown key ${JSON.stringify(key)}`;
  if (!Number.isSafeInteger(ref.chainId) || (ref.chainId as number) < 1)
    return `chainId: expected a positive integer, got ${describe(ref.chainId)}`;
  if (typeof ref.contract !== "string" || !/^0x[0-9a-f]{40}$/.test(ref.contract))
    return `contract: expected a lowercase 0x address, got ${describe(ref.contract)}`;
  if (!Number.isSafeInteger(ref.feedId) || (ref.feedId as number) < 1)
    return `feedId: expected a feed id (an integer >= 1), got ${describe(ref.feedId)}`;
  return undefined;
}

/** Checks a feed reference given as an argument: TypeError naming `field` and the problem. */
export function checkFeedRef(ref: AlertFeedRef, field = "ref"): AlertFeedRef {
  const problem = feedRefProblem(ref);
  if (problem !== undefined) throw new TypeError(`${field}: ${problem}`);
  return ref;
}

/** Whether two feed references name the same feed. */
export function sameFeed(a: AlertFeedRef, b: AlertFeedRef): boolean {
  return a.chainId === b.chainId && a.contract === b.contract && a.feedId === b.feedId;
}

/** A feed's name in messages: "feed 3 of 0xabc… on chain 31337". */
export function feedName(ref: AlertFeedRef): string {
  return `feed ${ref.feedId} of ${ref.contract} on chain ${ref.chainId}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  const text = typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
  return text === undefined ? typeof value : text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The CID (v1, dag-cbor, sha2-256) of a block's bytes, computed without awaiting. */
export function entryCidOf(bytes: Uint8Array): CID {
  const digest = sha256(bytes);
  const cid = new Uint8Array(4 + digest.length);
  cid.set([0x01, DAG_CBOR, SHA2_256, digest.length], 0);
  cid.set(digest, 4);
  return CID.decode(cid);
}

/** Whether a CID is one an entry can have: v1, dag-cbor, sha2-256, at most MAX_CID_LENGTH bytes. */
export function isEntryCid(cid: unknown): cid is CID {
  const c = CID.asCID(cid);
  return c !== null && c.version === 1 && c.code === DAG_CBOR && c.multihash.code === SHA2_256 && c.multihash.size === 32;
}

/** Why an entry object is malformed, or undefined. */
function entryProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array)
    return "expected a map { v, feed, seq, epoch, prev, cap }";
  const e = value as Record<string, unknown>;
  const keys = Object.keys(e).sort();
  for (const key of keys) if (!ENTRY_KEYS.includes(key)) return `unknown key ${JSON.stringify(key)} (known: ${ENTRY_KEYS.join(", ")})`;
  for (const key of ENTRY_KEYS) if (!(key in e)) return `no ${key}`;
  if (e.v !== 1) return `v: expected 1, got ${describe(e.v)}`;
  const refProblem = feedRefProblem(e.feed);
  if (refProblem !== undefined) return `feed: ${refProblem}`;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) return `seq: expected an integer >= 1, got ${describe(e.seq)}`;
  if (!Number.isSafeInteger(e.epoch) || (e.epoch as number) < 0) return `epoch: expected an integer >= 0, got ${describe(e.epoch)}`;
  if (e.prev !== null && !isEntryCid(e.prev)) return `prev: expected null or a CIDv1 dag-cbor sha2-256, got ${describe(String(e.prev))}`;
  if ((e.prev === null) !== (e.seq === 1))
    return e.seq === 1
      ? "prev: entry 1 links no entry before it, got a CID"
      : `prev: entry ${e.seq} must link entry ${(e.seq as number) - 1}, got null`;
  return undefined;
}

/**
 * Encodes an entry as its block. The CAP alert is validated and normalised (validateCap: InvalidCapError and its
 * kin); a bad field is TypeError/RangeError naming it; EntryTooLargeError over MAX_ENTRY_BYTES.
 */
export function encodeEntry(e: AlertEntry): Block {
  const problem = entryProblem(e);
  if (problem !== undefined) throw new TypeError(`entry: ${problem}`);
  const entry: AlertEntry = {
    v: 1,
    feed: { chainId: e.feed.chainId, contract: e.feed.contract, feedId: e.feed.feedId },
    seq: e.seq,
    epoch: e.epoch,
    prev: e.prev === null ? null : (CID.asCID(e.prev) as CID),
    cap: validateCap(e.cap),
  };
  const bytes = dagCbor.encode(entry);
  if (bytes.length > MAX_ENTRY_BYTES)
    throw new EntryTooLargeError(`entry ${e.seq}: ${bytes.length} bytes, over the ${MAX_ENTRY_BYTES}-byte limit: shorten the alert`);
  return { cid: entryCidOf(bytes), bytes };
}

/**
 * Decodes an entry block, refusing anything but the one canonical encoding of a well-formed entry: EntryTooLargeError
 * over MAX_ENTRY_BYTES, MalformedEntryError for bytes that are not canonical dag-cbor, a missing/unknown/bad field, a
 * CAP alert not in validateCap's normal form; InvalidCapError (and kin) for an invalid alert; BlockMismatchError when
 * `expectedCid` is given and the bytes are not the block it names.
 */
export function decodeEntry(bytes: Uint8Array, expectedCid?: CID): AlertEntry {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length > MAX_ENTRY_BYTES)
    throw new EntryTooLargeError(`entry block: ${bytes.length} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`);
  if (expectedCid !== undefined) {
    if (!isEntryCid(expectedCid)) throw new BlockMismatchError(`entry CID ${String(expectedCid)}: not a CIDv1 dag-cbor sha2-256`);
    const cid = entryCidOf(bytes);
    if (!cid.equals(expectedCid))
      throw new BlockMismatchError(`block asked for as ${expectedCid} hashes to ${cid}: another block was served`);
  }
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedEntryError(`entry block: not dag-cbor (${(err as Error).message})`);
  }
  if (!equalBytes(dagCbor.encode(value), bytes))
    throw new MalformedEntryError("entry block: not canonical dag-cbor (re-encoding gives other bytes)");
  const problem = entryProblem(value);
  if (problem !== undefined) throw new MalformedEntryError(`entry: ${problem}`);
  const entry = value as AlertEntry;
  const cap = validateCap(entry.cap);
  if (!equalBytes(dagCbor.encode(cap), dagCbor.encode(entry.cap)))
    throw new MalformedEntryError(
      `entry ${entry.seq}: its alert is not in normal form (validateCap changes it), so it has another encoding`,
    );
  return { v: 1, feed: entry.feed, seq: entry.seq, epoch: entry.epoch, prev: entry.prev, cap };
}

function checkCount(value: number, field: string, min: number): bigint {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${field}: expected an integer >= ${min}, got ${describe(value)}`);
  return BigInt(value);
}

/**
 * The 32 bytes editors sign (EIP-191) for entry `seq` of `ref` at `epoch`, as AlertFeeds.entryDigest computes it:
 * keccak256(abi.encode(keccak256("mosaic.alerts.entry.v1"), chainId, contract, feedId, epoch, seq, keccak256(cid))).
 */
export function entryDigest(ref: AlertFeedRef, epoch: number, seq: number, entryCid: CID): Uint8Array {
  checkFeedRef(ref);
  const cid = CID.asCID(entryCid);
  if (cid === null) throw new TypeError(`entryCid: expected a CID, got ${describe(entryCid)}`);
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint256", "address", "uint256", "uint64", "uint64", "bytes32"],
    [ENTRY_TAG, ref.chainId, ref.contract, ref.feedId, checkCount(epoch, "epoch", 0), checkCount(seq, "seq", 1), keccak256(cid.bytes)],
  );
  return fromHex(keccak256(encoded), { length: 32 });
}

/** Editors as AlertFeeds takes them: 1..MAX_EDITORS addresses, non-zero, strictly ascending; threshold 1..count. */
export function checkEditorSet(set: EditorSet, field = "editors"): EditorSet {
  const { editors, threshold } = set ?? ({} as EditorSet);
  if (!Array.isArray(editors) || editors.length < 1 || editors.length > MAX_EDITORS)
    throw new RangeError(
      `${field}: expected 1..${MAX_EDITORS} editors, got ${Array.isArray(editors) ? editors.length : describe(editors)}`,
    );
  let previous = 0n;
  editors.forEach((editor, i) => {
    if (typeof editor !== "string" || !isAddress(editor))
      throw new TypeError(`${field}[${i}]: expected an address, got ${describe(editor)}`);
    const n = BigInt(editor);
    if (n <= previous)
      throw new RangeError(`${field}[${i}]: ${editor} is zero or not above the editor before it (editors are sorted ascending, distinct)`);
    previous = n;
  });
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > editors.length)
    throw new RangeError(`${field} threshold: expected 1..${editors.length}, got ${describe(threshold)}`);
  return set;
}

/**
 * The 32 bytes editors sign (EIP-191) to set the editors of `ref` after `epoch`, as AlertFeeds.editorsDigest computes
 * it: keccak256(abi.encode(keccak256("mosaic.alerts.editors.v1"), chainId, contract, feedId, epoch,
 * keccak256(abi.encode(editors)), threshold)).
 */
export function editorsDigest(ref: AlertFeedRef, epoch: number, editors: string[], threshold: number): Uint8Array {
  checkFeedRef(ref);
  checkEditorSet({ editors, threshold });
  const coder = AbiCoder.defaultAbiCoder();
  const encoded = coder.encode(
    ["bytes32", "uint256", "address", "uint256", "uint64", "bytes32", "uint8"],
    [
      EDITORS_TAG,
      ref.chainId,
      ref.contract,
      ref.feedId,
      checkCount(epoch, "epoch", 0),
      keccak256(coder.encode(["address[]"], [editors])),
      threshold,
    ],
  );
  return fromHex(keccak256(encoded), { length: 32 });
}

/** Signs a digest (EIP-191 personal sign of its 32 bytes) and returns the 65-byte r ‖ s ‖ v signature. */
export async function signDigest(digest: Uint8Array, signer: DigestSigner): Promise<Uint8Array> {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new TypeError("digest: expected 32 bytes");
  const sig = Signature.from(await signer.signMessage(digest));
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(fromHex(sig.r, { length: 32, field: "signature.r" }), 0);
  out.set(fromHex(sig.s, { length: 32, field: "signature.s" }), 32);
  out[64] = sig.v;
  return out;
}

/**
 * The signer (checksummed address) of a 65-byte signature over `digest`, as AlertFeeds' Signatures.recover judges it:
 * MalformedSignatureError (naming `index`) for another length, v not 27/28, s zero or high (a malleated twin), or a
 * signature that does not recover.
 */
export function recoverSigner(digest: Uint8Array, signature: Uint8Array, index = 0): string {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES)
    throw new MalformedSignatureError(
      `signature ${index}: expected ${SIGNATURE_BYTES} bytes, got ${signature instanceof Uint8Array ? signature.length : typeof signature}`,
      index,
    );
  const v = signature[64] as number;
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i] as number);
  if (v !== 27 && v !== 28) throw new MalformedSignatureError(`signature ${index}: v is ${v}, not 27 or 28`, index);
  if (s === 0n || s > HALF_ORDER)
    throw new MalformedSignatureError(`signature ${index}: s is ${s === 0n ? "zero" : "high (a malleated twin)"}`, index);
  try {
    return verifyMessage(digest, to0xHex(signature));
  } catch (err) {
    throw new MalformedSignatureError(`signature ${index}: does not recover (${(err as Error).message})`, index);
  }
}

/**
 * Checks signatures over `digest` against an editor set as AlertFeeds does, in its order: TooFewSignaturesError when
 * fewer than the threshold are given; then for each, MalformedSignatureError, ForeignSignatureError (its signer is
 * not an editor: a foreign key, or a signature made for another feed, seq, epoch, chain or kind of digest) and
 * SignersNotSortedError (not strictly above the signer before it: unsorted or a duplicate). Returns the signers,
 * checksummed, in order.
 */
export function checkSignatures(digest: Uint8Array, sigs: Uint8Array[], editors: EditorSet): string[] {
  checkEditorSet(editors);
  if (!Array.isArray(sigs)) throw new TypeError(`signatures: expected an array, got ${describe(sigs)}`);
  if (sigs.length < editors.threshold)
    throw new TooFewSignaturesError(
      `${sigs.length} editor(s) signed; ${editors.threshold} must: pass the draft on to another editor`,
      sigs.length,
      editors.threshold,
    );
  const members = new Set(editors.editors.map((e) => e.toLowerCase()));
  const signers: string[] = [];
  let previous = 0n;
  // Strictly ascending distinct editors cannot outnumber the set, so this ends by error after at most editors + 1.
  sigs.forEach((sig, i) => {
    const signer = recoverSigner(digest, sig, i);
    if (!members.has(signer.toLowerCase()))
      throw new ForeignSignatureError(
        `signature ${i} is by ${signer}, not an editor of this epoch (or it was made for another feed, entry, epoch or chain)`,
        i,
        signer,
      );
    const n = BigInt(signer);
    if (n <= previous)
      throw new SignersNotSortedError(
        `signature ${i} is by ${signer}, not above the signer before it: signatures go in strictly ascending signer order, each signer once`,
        i,
        signer,
      );
    previous = n;
    signers.push(signer);
  });
  return signers;
}

/**
 * Signatures in the order AlertFeeds takes them: by ascending recovered signer, a signer's later duplicates dropped.
 * MalformedSignatureError for one that does not recover.
 */
export function sortSignatures(digest: Uint8Array, sigs: Uint8Array[]): Uint8Array[] {
  const bySigner = new Map<bigint, Uint8Array>();
  sigs.forEach((sig, i) => {
    const n = BigInt(recoverSigner(digest, sig, i));
    if (!bySigner.has(n)) bySigner.set(n, sig);
  });
  return [...bySigner.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sig]) => sig);
}
