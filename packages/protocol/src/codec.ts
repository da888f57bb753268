// Content-addressed blocks: dag-cbor bytes named by a CIDv1 with a sha2-256 multihash.
import * as dagCbor from "@ipld/dag-cbor";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { MalformedSubmissionError } from "./errors.js";

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
