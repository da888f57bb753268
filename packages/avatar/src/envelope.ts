// Submission envelopes: the versioned dag-cbor block a vault publishes for a job, and its strict decoder.
import {
  type Block,
  bigintToBytes32,
  bytes32ToBigint,
  decodeCbor,
  encodeBlock,
  equalBytes,
  type JobRef,
  MalformedSubmissionError,
  SNARK_SCALAR_FIELD,
  SubmissionTooLargeError,
  to0xHex,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { PROOF_DEPTH } from "./artifacts.js";

/** The largest envelope a reducer fetches or decodes. A 7-entry payload with its proof is about 550 bytes. */
export const MAX_SUBMISSION_BYTES = 4096;
/** The longest payload vector an envelope may carry. */
export const MAX_PAYLOAD_LENGTH = 256;

/**
 * The BN254 base field: the coordinates of the Groth16 proof points (G1 and G2) live in it. It is larger than
 * the scalar field, so a valid point coordinate may exceed SNARK_SCALAR_FIELD but never this.
 */
export const BN254_BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** A Semaphore v4 proof as `generateProof` returns it (numbers as decimal strings). */
export interface SemaphoreProof {
  merkleTreeDepth: number;
  merkleTreeRoot: string;
  message: string;
  nullifier: string;
  scope: string;
  points: [string, string, string, string, string, string, string, string];
}

/**
 * A decoded submission: what a reducer verifies. Nothing in it names the user, wallet or vault.
 *
 * In memory the proof keeps Semaphore's own shape, so it can go to `verifyProof` or the contract as it is. On
 * the wire (dag-cbor, every integer word a 32-byte big-endian byte string) it is, version 1:
 *
 * ```
 * { v: 1,
 *   job: { chain: uint, registry: "0x…" (lower case), id: uint },
 *   payload: [int, …],                        // 1..MAX_PAYLOAD_LENGTH safe integers
 *   proof: { points: [8 × bytes32],           // Groth16 a, b, c; each < BN254_BASE_FIELD
 *            message: bytes32,                // sha-256 of dag-cbor(payload)
 *            scope: bytes32 },                // jobScope(chain, registry, id)
 *   nullifier: bytes32,                       // < SNARK_SCALAR_FIELD
 *   root: bytes32,                            // < SNARK_SCALAR_FIELD
 *   depth: 20 }                               // PROOF_DEPTH, the one depth Mosaic proves at
 * ```
 */
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

/** Encodes a submission as a dag-cbor block in the v1 wire form above. */
export async function encodeSubmission(sub: Submission): Promise<Block> {
  const p = sub.proof;
  const block = await encodeBlock({
    v: 1,
    job: { chain: Number(sub.job.chainId), registry: sub.job.registry.toLowerCase(), id: Number(sub.job.jobId) },
    payload: sub.payload,
    proof: {
      points: p.points.map((x: string) => bigintToBytes32(BigInt(x))),
      message: bigintToBytes32(BigInt(p.message)),
      scope: bigintToBytes32(BigInt(p.scope)),
    },
    nullifier: bigintToBytes32(BigInt(p.nullifier)),
    root: bigintToBytes32(BigInt(p.merkleTreeRoot)),
    depth: p.merkleTreeDepth,
  });
  if (block.bytes.length > MAX_SUBMISSION_BYTES) throw new SubmissionTooLargeError(block.bytes.length, MAX_SUBMISSION_BYTES);
  return block;
}

/** JobRegistry's `Envelope` struct (ISubmissionJudge.Envelope): the fields its dag-cbor bytes are re-encoded from. */
export interface EnvelopeArg {
  chainId: bigint;
  registry: string;
  jobId: bigint;
  payload: number[];
  points: bigint[];
  message: string;
  scope: string;
  nullifier: bigint;
  root: bigint;
  depth: number;
}

/**
 * A submission as the contract's `Envelope`, to open its leaf's digest in challengeSubmission or answerLeaf: the
 * contract re-encodes exactly encodeSubmission's bytes from these fields and compares sha-256 with the leaf's digest.
 */
export function envelopeArg(sub: Submission): EnvelopeArg {
  const p = sub.proof;
  return {
    chainId: sub.job.chainId,
    registry: sub.job.registry.toLowerCase(),
    jobId: sub.job.jobId,
    payload: sub.payload.slice(),
    points: p.points.map((x) => BigInt(x)),
    message: to0xHex(bigintToBytes32(BigInt(p.message))),
    scope: to0xHex(bigintToBytes32(BigInt(p.scope))),
    nullifier: BigInt(p.nullifier),
    root: BigInt(p.merkleTreeRoot),
    depth: p.merkleTreeDepth,
  };
}

/**
 * The submission an `Envelope` (as a LeafPublished event carries it) stands for: envelopeArg's inverse. The result
 * is not checked; encodeSubmission of it gives the bytes whose digest the leaf commits to.
 */
export function submissionFromEnvelopeArg(e: EnvelopeArg): Submission {
  const word = (x: string | bigint) => BigInt(x).toString();
  return {
    version: 1,
    job: { chainId: BigInt(e.chainId), registry: String(e.registry).toLowerCase(), jobId: BigInt(e.jobId) },
    payload: [...e.payload].map(Number),
    proof: {
      merkleTreeDepth: Number(e.depth),
      merkleTreeRoot: word(e.root),
      nullifier: word(e.nullifier),
      message: word(e.message),
      scope: word(e.scope),
      points: [...e.points].map(word) as SemaphoreProof["points"],
    },
  };
}

/**
 * Decodes and validates an envelope; every deviation is a MalformedSubmissionError naming the field. Checks
 * the size before decoding, then: canonical dag-cbor (re-encoding gives the same bytes, so one submission has
 * one CID), exact key sets, types, 32-byte words, and the field ranges a verifier would refuse anyway (root
 * and nullifier are public signals, < SNARK_SCALAR_FIELD; point coordinates < BN254_BASE_FIELD, which also
 * keeps a point from having a second, non-reduced encoding that snarkjs would accept). `message` and `scope`
 * may be any 256-bit word: Semaphore hashes them into the field. A depth other than PROOF_DEPTH is
 * malformed, not an unknown root: v1 fixes the depth, and the root may well be the right one.
 */
export function decodeSubmission(bytes: Uint8Array): Submission {
  if (bytes.length > MAX_SUBMISSION_BYTES) throw new SubmissionTooLargeError(bytes.length, MAX_SUBMISSION_BYTES);
  const value = decodeCbor(bytes);
  if (!equalBytes(dagCbor.encode(value), bytes)) {
    throw new MalformedSubmissionError("envelope: not canonical dag-cbor (re-encoding gives other bytes)");
  }
  const root = record(value, "envelope", ["v", "job", "payload", "proof", "nullifier", "root", "depth"]);
  if (root.v !== 1) throw new MalformedSubmissionError(`envelope.v: expected 1, got ${String(root.v)}`);
  const job = record(root.job, "envelope.job", ["chain", "registry", "id"]);
  const proof = record(root.proof, "envelope.proof", ["points", "message", "scope"]);
  if (!Array.isArray(root.payload) || root.payload.length === 0 || root.payload.length > MAX_PAYLOAD_LENGTH) {
    throw new MalformedSubmissionError(`envelope.payload: expected 1..${MAX_PAYLOAD_LENGTH} integers`);
  }
  const payload = root.payload.map((x, i) => {
    if (!Number.isSafeInteger(x)) throw new MalformedSubmissionError(`envelope.payload[${i}]: expected an integer, got ${String(x)}`);
    return x as number;
  });
  if (!Array.isArray(proof.points) || proof.points.length !== 8) {
    throw new MalformedSubmissionError(`envelope.proof.points: expected 8 words, got ${describe(proof.points)}`);
  }
  if (root.depth !== PROOF_DEPTH) {
    throw new MalformedSubmissionError(
      `envelope.depth: expected ${PROOF_DEPTH}, the one depth Mosaic proves at; got ${String(root.depth)}`,
    );
  }
  return {
    version: 1,
    job: {
      chainId: BigInt(safeInt(job.chain, "envelope.job.chain")),
      registry: address(job.registry),
      jobId: BigInt(safeInt(job.id, "envelope.job.id")),
    },
    payload,
    proof: {
      merkleTreeDepth: PROOF_DEPTH,
      merkleTreeRoot: word(root.root, "envelope.root", SNARK_SCALAR_FIELD),
      nullifier: word(root.nullifier, "envelope.nullifier", SNARK_SCALAR_FIELD),
      message: word(proof.message, "envelope.proof.message"),
      scope: word(proof.scope, "envelope.proof.scope"),
      points: proof.points.map((x, i) => word(x, `envelope.proof.points[${i}]`, BN254_BASE_FIELD)) as SemaphoreProof["points"],
    },
  };
}

function record(value: unknown, where: string, keys: string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
    throw new MalformedSubmissionError(`${where}: expected a map, got ${describe(value)}`);
  }
  const got = Object.keys(value).sort();
  const want = [...keys].sort();
  if (got.length !== want.length || got.some((k, i) => k !== want[i])) {
    throw new MalformedSubmissionError(`${where}: expected keys ${want.join(",")}, got ${got.join(",")}`);
  }
  return value as Record<string, unknown>;
}

/** A 32-byte big-endian word as a decimal string, below `bound` when one is given. */
function word(value: unknown, field: string, bound?: bigint): string {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new MalformedSubmissionError(`${field}: expected 32 bytes, got ${describe(value)}`);
  }
  const x = bytes32ToBigint(value);
  if (bound !== undefined && x >= bound) {
    throw new MalformedSubmissionError(`${field}: ${x} is not a field element (must be below ${bound})`);
  }
  return x.toString();
}

function safeInt(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new MalformedSubmissionError(`${field}: expected a non-negative integer, got ${describe(value)}`);
  }
  return value as number;
}

function address(value: unknown): string {
  if (typeof value !== "string" || !/^0x[0-9a-f]{40}$/.test(value)) {
    throw new MalformedSubmissionError(`envelope.job.registry: expected a lower-case 0x address, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return JSON.stringify(value.slice(0, 50));
  if (value === null || typeof value !== "object") return String(value);
  return "a map";
}
