// The wire and disk format: records {block, sig, pubKey, prev} sealed with the service key, events {header, body}
// whose header carries a one-time content key sealed with the read key.
import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import * as raw from "multiformats/codecs/raw";
import { randomBytes } from "@noble/ciphers/webcrypto";
import { sha256 } from "#sha256";
import { concatBytes, type SigningKey, seal, unseal, verifySignature } from "./crypto.js";
import {
  BlockTooLargeError,
  EventDecryptionError,
  InvalidRecordSignatureError,
  MalformedRecordError,
  WrongServiceKeyError,
} from "./errors.js";
import type { ThreadId } from "./id.js";

/** Largest sealed record block accepted (a record is ~250 bytes). */
export const MAX_RECORD_BYTES = 1024;
/** Largest event block accepted. */
export const MAX_EVENT_BYTES = 256 * 1024;

/** A block: bytes and the CID that names them. */
export interface Block {
  readonly cid: CID;
  readonly bytes: Uint8Array;
}

/** A decrypted record. */
export interface ThreadRecord {
  /** The event block this record carries. */
  readonly block: CID;
  readonly sig: Uint8Array;
  readonly pubKey: Uint8Array;
  /** The previous record of the same log; null for the first. */
  readonly prev: CID | null;
}

/** A hybrid-logical-clock reading: wall milliseconds, then a counter for events within one millisecond. */
export type HlcTime = readonly [ms: number, counter: number];

/** A decrypted event. */
export interface ThreadEvent {
  readonly time: HlcTime;
  readonly body: Uint8Array;
}

/** Decodes dag-cbor inside a record or event (the thread-layer twin of protocol's decodeCbor): MalformedRecordError on failure. */
export function decodeRecordCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedRecordError(`${what} is not dag-cbor: ${(err as Error).message}`);
  }
}

/** Names bytes with a CIDv1 (sha2-256) under `code`. */
export function blockOf(code: number, bytes: Uint8Array): Block {
  const digest = Digest.create(0x12, sha256(bytes));
  return { cid: CID.createV1(code, digest), bytes };
}

const SIG_DOMAIN = new TextEncoder().encode("mosaic/threads/record/v1\0");

function signedBytes(threadId: ThreadId, block: CID, prev: CID | null): Uint8Array {
  return concatBytes(SIG_DOMAIN, threadId.bytes, block.bytes, prev === null ? new Uint8Array(0) : prev.bytes);
}

/** Signs and seals a record linking `event` after `prev` in `log`'s chain. */
export function createRecord(
  threadId: ThreadId,
  serviceKey: Uint8Array,
  log: SigningKey,
  event: CID,
  prev: CID | null,
): { block: Block; record: ThreadRecord } {
  const record: ThreadRecord = { block: event, sig: log.sign(signedBytes(threadId, event, prev)), pubKey: log.publicKey, prev };
  return { block: blockOf(raw.code, seal(serviceKey, dagCbor.encode(record), threadId.bytes)), record };
}

function isBytes(v: unknown, length: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === length;
}

/**
 * Opens a record block: size, service key, shape, then signature (skipped only for records read back from
 * our own store, which were verified on the way in). Each failure has its own named error.
 */
export function openRecord(
  threadId: ThreadId,
  serviceKey: Uint8Array,
  bytes: Uint8Array,
  options: { verify?: boolean } = {},
): ThreadRecord {
  if (bytes.length > MAX_RECORD_BYTES) throw new BlockTooLargeError("record", bytes.length, MAX_RECORD_BYTES);
  const plain = unseal(serviceKey, bytes, threadId.bytes);
  if (plain === undefined) {
    throw new WrongServiceKeyError(
      "record does not decrypt under this thread's service key (another thread's record, or altered in transit)",
    );
  }
  const r = decodeRecordCbor(plain, "record") as Record<string, unknown>;
  const keys = typeof r === "object" && r !== null ? Object.keys(r).sort().join(",") : "";
  if (keys !== "block,prev,pubKey,sig") throw new MalformedRecordError(`record: expected {block, sig, pubKey, prev}, got {${keys}}`);
  const block = CID.asCID(r.block);
  const prev = r.prev === null ? null : CID.asCID(r.prev);
  if (block === null || prev === undefined || (r.prev !== null && prev === null))
    throw new MalformedRecordError("record: block and prev must be CIDs");
  if (!isBytes(r.sig, 64) || !isBytes(r.pubKey, 32)) throw new MalformedRecordError("record: sig must be 64 bytes and pubKey 32");
  if (options.verify !== false && !verifySignature(r.pubKey, signedBytes(threadId, block, prev), r.sig)) {
    throw new InvalidRecordSignatureError("record signature does not verify under its log key: refuse it and distrust the sender");
  }
  return { block, sig: r.sig, pubKey: r.pubKey, prev };
}

/** Seals an event: a fresh content key seals the body, the read key seals the header holding that key. */
export function createEvent(threadId: ThreadId, readKey: Uint8Array, time: HlcTime, body: Uint8Array): Block {
  const contentKey = randomBytes(32);
  const header = seal(readKey, dagCbor.encode({ key: contentKey, time: [time[0], time[1]] }), threadId.bytes);
  const sealedBody = seal(contentKey, body);
  return blockOf(dagCbor.code, dagCbor.encode({ header, body: sealedBody }));
}

/** Checks an event block's size, CID and outer shape, without the read key (what a replicator can check). */
export function checkEventBlock(expected: CID, bytes: Uint8Array): { header: Uint8Array; body: Uint8Array } {
  if (bytes.length > MAX_EVENT_BYTES) throw new BlockTooLargeError("event", bytes.length, MAX_EVENT_BYTES);
  if (!blockOf(dagCbor.code, bytes).cid.equals(expected))
    throw new MalformedRecordError(`event bytes do not hash to the record's block ${expected}`);
  const e = decodeRecordCbor(bytes, "event") as Record<string, unknown>;
  if (
    typeof e !== "object" ||
    e === null ||
    !(e.header instanceof Uint8Array) ||
    !(e.body instanceof Uint8Array) ||
    Object.keys(e).length !== 2
  ) {
    throw new MalformedRecordError("event: expected {header: bytes, body: bytes}");
  }
  return { header: e.header, body: e.body };
}

/** Opens an event with the read key. */
export function openEvent(threadId: ThreadId, readKey: Uint8Array, expected: CID, bytes: Uint8Array): ThreadEvent {
  const { header, body } = checkEventBlock(expected, bytes);
  const headerPlain = unseal(readKey, header, threadId.bytes);
  if (headerPlain === undefined) throw new EventDecryptionError("event header does not decrypt under the read key");
  const h = decodeRecordCbor(headerPlain, "event header") as { key?: unknown; time?: unknown };
  const t = h.time;
  if (!isBytes(h.key, 32) || !Array.isArray(t) || t.length !== 2 || !t.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw new MalformedRecordError("event header: expected {key: 32 bytes, time: [ms, counter]}");
  }
  const plain = unseal(h.key, body);
  if (plain === undefined) throw new EventDecryptionError("event body does not decrypt under its content key");
  return { time: [t[0], t[1]], body: plain };
}
