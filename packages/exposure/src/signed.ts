// Signed documents of a health authority: key batches, risk configurations and hotspot sets, each a dag-cbor block
// `{ kind, body, signature }` whose signature (EIP-191, the authority's wallet) covers a digest tagged with the kind.
import * as dagCbor from "@ipld/dag-cbor";
import { type Block, encodeBlock, equalBytes, fromHex, to0xHex } from "@mosaic/protocol";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { getAddress, isAddress, Signature, verifyMessage } from "ethers";
import { ExposureDocumentTooLargeError, MalformedExposureDocumentError, UnsignedDocumentError, WrongSignerError } from "./errors.js";

/** What a signed document is: its kind is in the signed digest, so one kind can never be read as another. */
export type DocumentKind = "key-batch" | "risk-config" | "hotspots";
export const DOCUMENT_KINDS: readonly DocumentKind[] = ["key-batch", "risk-config", "hotspots"];

/**
 * The largest document of each kind openDocument reads, in bytes: a batch of MAX_BATCH_KEYS keys with an upload
 * CID per key is about 700 KB; a risk configuration is a few hundred bytes; a hotspot set is 17 bytes per tag.
 */
export const MAX_DOCUMENT_BYTES: Readonly<Record<DocumentKind, number>> = {
  "key-batch": 1 << 20,
  "risk-config": 64 << 10,
  hotspots: 16 << 20,
};

/** What signs a document: an ethers Signer (a Wallet, a NonceManager around one) is one. */
export interface DocumentSigner {
  signMessage(message: Uint8Array): Promise<string>;
}

/** Bytes of an EIP-191 signature: r, s and v. */
const SIGNATURE_BYTES = 65;
/** secp256k1's group order over two: a signature with a larger s is the malleated twin of one with n − s. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const encoder = new TextEncoder();

function checkKind(kind: DocumentKind): void {
  if (!DOCUMENT_KINDS.includes(kind)) throw new TypeError(`kind: expected one of ${DOCUMENT_KINDS.join(", ")}, got ${String(kind)}`);
}

/**
 * The 32 bytes a document's signature covers: keccak256(utf8("mosaic.exposure." + kind + ".v1") ‖ dagCbor(body)).
 * The tag names the kind, so a signed risk configuration passed where a key batch is expected recovers to another
 * address. TypeError when `body` is not encodable as dag-cbor (undefined, a function, a float NaN…).
 */
export function documentDigest(kind: DocumentKind, body: unknown): Uint8Array {
  checkKind(kind);
  let bytes: Uint8Array;
  try {
    bytes = dagCbor.encode(body);
  } catch (err) {
    throw new TypeError(`body: not encodable as dag-cbor (${(err as Error).message})`);
  }
  return digestOf(kind, bytes);
}

function digestOf(kind: DocumentKind, bodyBytes: Uint8Array): Uint8Array {
  const tag = encoder.encode(`mosaic.exposure.${kind}.v1`);
  const buf = new Uint8Array(tag.length + bodyBytes.length);
  buf.set(tag, 0);
  buf.set(bodyBytes, tag.length);
  return keccak_256(buf);
}

/**
 * Signs `body` as a document of `kind` and encodes it as a block `{ kind, body, signature }` (signature: 65 bytes).
 * ExposureDocumentTooLargeError when the block would exceed MAX_DOCUMENT_BYTES[kind] (no reader would open it).
 */
export async function signDocument(kind: DocumentKind, body: unknown, signer: DocumentSigner): Promise<Block> {
  const digest = documentDigest(kind, body);
  const signature = fromSignature(await signer.signMessage(digest));
  const block = await encodeBlock({ kind, body, signature });
  if (block.bytes.length > MAX_DOCUMENT_BYTES[kind])
    throw new ExposureDocumentTooLargeError(
      `${kind} document: ${block.bytes.length} bytes, over the ${MAX_DOCUMENT_BYTES[kind]}-byte limit; split it`,
    );
  return block;
}

function fromSignature(hex: string): Uint8Array {
  const sig = Signature.from(hex);
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(fromHex(sig.r, { length: 32, field: "signature.r" }), 0);
  out.set(fromHex(sig.s, { length: 32, field: "signature.s" }), 32);
  out[64] = sig.v;
  return out;
}

/**
 * Who signed a document of `kind` (checksummed address), without judging them. Checks, cheapest first: the size
 * (ExposureDocumentTooLargeError), canonical dag-cbor with exactly `kind`, `body` and `signature`, and the kind
 * (MalformedExposureDocumentError), then the signature: missing, not 65 bytes, malleated (high s, v not 27/28) or not
 * recovering is UnsignedDocumentError.
 */
export function documentSigner(kind: DocumentKind, bytes: Uint8Array): string {
  return parseDocument(kind, bytes).signer;
}

/**
 * The body of a document of `kind` signed by `expectedSigner` (the feed's authority as the chain names it):
 * everything documentSigner checks, then WrongSignerError when someone else signed it. The body is returned as
 * decoded; the caller checks its shape (decodeKeyBatch, parseRiskConfig, …).
 */
export function openDocument(kind: DocumentKind, bytes: Uint8Array, expectedSigner: string): unknown {
  if (typeof expectedSigner !== "string" || !isAddress(expectedSigner))
    throw new TypeError(`expectedSigner: expected an address, got ${JSON.stringify(expectedSigner)}`);
  const { body, signer } = parseDocument(kind, bytes);
  if (signer !== getAddress(expectedSigner))
    throw new WrongSignerError(
      `${kind} document is signed by ${signer}, not by the feed's authority ${getAddress(expectedSigner)}: ignore it`,
    );
  return body;
}

function parseDocument(kind: DocumentKind, bytes: Uint8Array): { body: unknown; signer: string } {
  checkKind(kind);
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${typeof bytes}`);
  const max = MAX_DOCUMENT_BYTES[kind];
  if (bytes.length > max) throw new ExposureDocumentTooLargeError(`${kind} document: ${bytes.length} bytes, over the ${max}-byte limit`);
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedExposureDocumentError(`${kind} document: not dag-cbor (${(err as Error).message})`);
  }
  if (!equalBytes(dagCbor.encode(value), bytes))
    throw new MalformedExposureDocumentError(`${kind} document: not canonical dag-cbor (re-encoding gives other bytes)`);
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array)
    throw new MalformedExposureDocumentError(`${kind} document: expected a map { kind, body, signature }`);
  const doc = value as Record<string, unknown>;
  for (const key of Object.keys(doc))
    if (key !== "kind" && key !== "body" && key !== "signature")
      throw new MalformedExposureDocumentError(`${kind} document: unknown key ${JSON.stringify(key)} (known: kind, body, signature)`);
  if (doc.kind !== kind)
    throw new MalformedExposureDocumentError(`document kind: expected ${JSON.stringify(kind)}, got ${JSON.stringify(doc.kind)}`);
  if (!("body" in doc)) throw new MalformedExposureDocumentError(`${kind} document: no body`);
  const signature = doc.signature;
  if (signature === undefined || signature === null)
    throw new UnsignedDocumentError(`${kind} document carries no signature: only the feed's authority's signed documents count`);
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES)
    throw new UnsignedDocumentError(
      `${kind} document: signature: expected ${SIGNATURE_BYTES} bytes, got ${signature instanceof Uint8Array ? signature.length : typeof signature}`,
    );
  const v = signature[64] as number;
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i] as number);
  if ((v !== 27 && v !== 28) || s === 0n || s > HALF_ORDER)
    throw new UnsignedDocumentError(`${kind} document: not a canonical signature (v ${v}, s ${s > HALF_ORDER ? "high" : "zero"})`);
  const digest = digestOf(kind, dagCbor.encode(doc.body));
  let signer: string;
  try {
    signer = verifyMessage(digest, to0xHex(signature));
  } catch (err) {
    throw new UnsignedDocumentError(`${kind} document: the signature does not recover (${(err as Error).message})`);
  }
  return { body: doc.body, signer };
}
