// Submission envelopes: the versioned dag-cbor block a vault publishes for a job, and its strict decoder.
import {
  type Block,
  bigintToBytes32,
  bytes32ToBigint,
  decodeCbor,
  encodeBlock,
  type JobRef,
  MalformedSubmissionError,
  SubmissionTooLargeError,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";

/** The largest envelope a reducer fetches or decodes. A 7-entry payload with its proof is about 500 bytes. */
export const MAX_SUBMISSION_BYTES = 4096;
/** The longest payload vector an envelope may carry. */
export const MAX_PAYLOAD_LENGTH = 256;

/** A Semaphore v4 proof as `generateProof` returns it (numbers as decimal strings). */
export interface SemaphoreProof {
  merkleTreeDepth: number;
  merkleTreeRoot: string;
  message: string;
  nullifier: string;
  scope: string;
  points: [string, string, string, string, string, string, string, string];
}

/** A decoded submission: what a reducer verifies. Nothing in it names the user, wallet or vault. */
export interface Submission {
  version: 1;
  job: JobRef;
  payload: number[];
  proof: SemaphoreProof;
}

/** The bytes a proof's message commits to: the dag-cbor encoding of the payload vector. */
export function encodePayload(payload: number[]): Uint8Array {
  return dagCbor.encode(payload);
}

/** Encodes a submission as a dag-cbor block. */
export async function encodeSubmission(sub: Submission): Promise<Block> {
  const p = sub.proof;
  const block = await encodeBlock({
    v: 1,
    job: { chain: Number(sub.job.chainId), registry: sub.job.registry.toLowerCase(), id: Number(sub.job.jobId) },
    payload: sub.payload,
    proof: {
      depth: p.merkleTreeDepth,
      root: bigintToBytes32(BigInt(p.merkleTreeRoot)),
      nullifier: bigintToBytes32(BigInt(p.nullifier)),
      message: bigintToBytes32(BigInt(p.message)),
      scope: bigintToBytes32(BigInt(p.scope)),
      points: p.points.map((x: string) => bigintToBytes32(BigInt(x))),
    },
  });
  if (block.bytes.length > MAX_SUBMISSION_BYTES) throw new SubmissionTooLargeError(block.bytes.length, MAX_SUBMISSION_BYTES);
  return block;
}

/** Decodes and validates an envelope's shape; every deviation is a MalformedSubmissionError. */
export function decodeSubmission(bytes: Uint8Array): Submission {
  if (bytes.length > MAX_SUBMISSION_BYTES) throw new SubmissionTooLargeError(bytes.length, MAX_SUBMISSION_BYTES);
  const root = record(decodeCbor(bytes), "envelope", ["v", "job", "payload", "proof"]);
  if (root.v !== 1) throw new MalformedSubmissionError(`envelope.v: expected 1, got ${String(root.v)}`);
  const job = record(root.job, "envelope.job", ["chain", "registry", "id"]);
  const proof = record(root.proof, "envelope.proof", ["depth", "root", "nullifier", "message", "scope", "points"]);
  if (!Array.isArray(root.payload) || root.payload.length === 0 || root.payload.length > MAX_PAYLOAD_LENGTH) {
    throw new MalformedSubmissionError(`envelope.payload: expected 1..${MAX_PAYLOAD_LENGTH} integers`);
  }
  const payload = root.payload.map((x, i) => {
    if (!Number.isSafeInteger(x)) throw new MalformedSubmissionError(`envelope.payload[${i}]: expected an integer, got ${String(x)}`);
    return x as number;
  });
  if (!Array.isArray(proof.points) || proof.points.length !== 8) {
    throw new MalformedSubmissionError("envelope.proof.points: expected 8 field elements");
  }
  if (!Number.isSafeInteger(proof.depth)) throw new MalformedSubmissionError("envelope.proof.depth: expected an integer");
  return {
    version: 1,
    job: {
      chainId: BigInt(safeInt(job.chain, "envelope.job.chain")),
      registry: address(job.registry),
      jobId: BigInt(safeInt(job.id, "envelope.job.id")),
    },
    payload,
    proof: {
      merkleTreeDepth: proof.depth as number,
      merkleTreeRoot: word(proof.root, "root"),
      nullifier: word(proof.nullifier, "nullifier"),
      message: word(proof.message, "message"),
      scope: word(proof.scope, "scope"),
      points: proof.points.map((x, i) => word(x, `points[${i}]`)) as SemaphoreProof["points"],
    },
  };
}

function record(value: unknown, where: string, keys: string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
    throw new MalformedSubmissionError(`${where}: expected a map`);
  }
  const got = Object.keys(value).sort();
  const want = [...keys].sort();
  if (got.length !== want.length || got.some((k, i) => k !== want[i])) {
    throw new MalformedSubmissionError(`${where}: expected keys ${want.join(",")}, got ${got.join(",")}`);
  }
  return value as Record<string, unknown>;
}

function word(value: unknown, field: string): string {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new MalformedSubmissionError(`envelope.proof.${field}: expected 32 bytes`);
  }
  return bytes32ToBigint(value).toString();
}

function safeInt(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new MalformedSubmissionError(`${field}: expected a non-negative integer`);
  return value as number;
}

function address(value: unknown): string {
  if (typeof value !== "string" || !/^0x[0-9a-f]{40}$/.test(value)) {
    throw new MalformedSubmissionError("envelope.job.registry: expected a lower-case 0x address");
  }
  return value;
}
