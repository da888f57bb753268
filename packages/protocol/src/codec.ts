// Content-addressed blocks: dag-cbor bytes named by a CIDv1 with a sha2-256 multihash.
import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";
import { sha256 } from "multiformats/hashes/sha2";
import { MalformedSubmissionError } from "./errors.js";
import { fromHex, to0xHex } from "./bytes.js";

export { CID };

/** A block ready for a blockstore. */
export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

/** Encodes a value as dag-cbor and names it. */
export async function encodeBlock(value: unknown): Promise<Block> {
  const bytes = dagCbor.encode(value);
  const digest = await sha256.digest(bytes);
  return { cid: CID.createV1(dagCbor.code, digest), bytes };
}

/** Decodes dag-cbor bytes, turning any decoder failure into a named error. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedSubmissionError(`not valid dag-cbor: ${(err as Error).message}`);
  }
}

/** Parses a CID string, with a named error for anything else. */
export function parseCid(text: string): CID {
  try {
    return CID.parse(text);
  } catch (err) {
    throw new MalformedSubmissionError(`not a CID: ${JSON.stringify(text.slice(0, 80))} (${(err as Error).message})`);
  }
}

/**
 * The digest JobRegistry.postJob records for a spec block, as 0x-hex: the sha-256 digest inside its CID. The chain
 * keeps these 32 bytes instead of the CID string (two storage slots fewer); specCidOf turns them back into the CID.
 * Throws TypeError for a CID that is not CIDv1 dag-cbor sha2-256, as encodeBlock makes them.
 */
export function specDigestOf(cid: CID | string): string {
  const parsed = typeof cid === "string" ? parseCid(cid) : cid;
  if (parsed.version !== 1 || parsed.code !== dagCbor.code || parsed.multihash.code !== sha256.code || parsed.multihash.size !== 32)
    throw new TypeError(`spec CID ${parsed.toString()}: expected a CIDv1 dag-cbor sha2-256 ("bafyrei…"), as encodeBlock makes`);
  return to0xHex(parsed.multihash.digest);
}

/**
 * The spec CID (CIDv1, dag-cbor, sha2-256) whose digest a job records (`getJob(id).specDigest`, JobPosted's
 * specDigest): specDigestOf's inverse. Throws TypeError unless `digest` is 32 bytes (0x-hex or raw).
 */
export function specCidOf(digest: string | Uint8Array): CID {
  const bytes = typeof digest === "string" ? hexOf(digest) : digest;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32)
    throw new TypeError(`specDigest: expected 32 bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  return CID.createV1(dagCbor.code, createDigest(sha256.code, bytes));
}

function hexOf(digest: string): Uint8Array {
  try {
    return fromHex(digest, { length: 32, field: "specDigest" });
  } catch (err) {
    throw new TypeError(`specDigest ${JSON.stringify(digest.slice(0, 80))}: expected 32 bytes of 0x-hex (${(err as Error).message})`);
  }
}
