// Submission envelopes: the versioned dag-cbor block a vault publishes for a job, and its strict decoder.
import {
  type Block,
  type EncryptedShare,
  bigintToBytes32,
  bytes32ToBigint,
  decodeCbor,
  encodeBlock,
  equalBytes,
  type JobRef,
  MalformedSubmissionError,
  reportMessage,
  type SharedReport,
  ShareDigestMismatchError,
  shareDigest,
  SNARK_SCALAR_FIELD,
  SubmissionTooLargeError,
  to0xHex,
  WrongModeError,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { PROOF_DEPTH } from "./artifacts.js";

/** The largest envelope a reducer fetches or decodes. A 7-entry payload with its proof is about 550 bytes. */
export const MAX_SUBMISSION_BYTES = 4096;
/**
 * The largest version 2 (secret-shared) envelope: two HPKE-encrypted Prio3 input shares with their FLP proof shares,
 * a public share and the proof. A spec whose report would not fit is refused before it is posted.
 */
export const MAX_SHARED_SUBMISSION_BYTES = 65536;
/** A shared report's nonce (the VDAF nonce, drawn at random by the vault). */
export const REPORT_NONCE_BYTES = 16;
/** An HPKE encapsulated key for DHKEM(X25519): an X25519 public key. */
export const SHARE_ENC_BYTES = 32;
/** The ChaCha20-Poly1305 tag every share ciphertext ends with: a shorter or tag-only ct encrypts no input share. */
const SHARE_TAG_BYTES = 16;
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

// The report's shape and the message rule are protocol's (shared-report.ts), which mapreduce's sharding uses too.
export { type EncryptedShare, reportMessage, type SharedReport, ShareDigestMismatchError, shareDigest };

/**
 * A decoded version 2 submission. On the wire it is version 1's envelope with `v: 2` and, instead of `payload`,
 *
 * ```
 *   report: { nonce: bytes(16), public: bytes, shares: [{ enc: bytes(32), ct: bytes }, { enc, ct }] }
 * ```
 *
 * and `job.id` a 32-byte word (SharedJobs' ids start at 2^128, past any CBOR integer).
 *
 * and the proof's message is `reportMessage(report)`, which binds both shares' digests to the one nullifier.
 */
export interface SharedSubmission {
  version: 2;
  job: JobRef;
  report: SharedReport;
  proof: SemaphoreProof;
}

/** A submission of either version, as decodeSubmission returns it: branch on `version`. */
export type AnySubmission = Submission | SharedSubmission;

/**
 * Throws MalformedSubmissionError naming the field when a report's bytes are not of the lengths the wire allows
 * (nonce 16, enc 32, ct longer than its tag, two shares). decodeSubmission checks this; checkSubmission does too, for
 * a report built in memory.
 */
export function checkReportShape(report: SharedReport, where = "report"): void {
  const bytes = (x: unknown, field: string, ok: (n: number) => boolean, want: string) => {
    if (!(x instanceof Uint8Array) || !ok(x.length)) {
      throw new MalformedSubmissionError(`${where}.${field}: expected ${want}, got ${describe(x)}`);
    }
  };
  bytes(report?.nonce, "nonce", (n) => n === REPORT_NONCE_BYTES, `${REPORT_NONCE_BYTES} bytes`);
  bytes(report?.publicShare, "public", () => true, "bytes");
  if (!Array.isArray(report?.shares) || report.shares.length !== 2) {
    throw new MalformedSubmissionError(`${where}.shares: expected 2 shares, got ${describe(report?.shares)}`);
  }
  report.shares.forEach((share, i) => {
    bytes(share?.enc, `shares[${i}].enc`, (n) => n === SHARE_ENC_BYTES, `${SHARE_ENC_BYTES} bytes`);
    bytes(share?.ct, `shares[${i}].ct`, (n) => n > SHARE_TAG_BYTES, `more than ${SHARE_TAG_BYTES} bytes (a tag and a share)`);
  });
}

/** The bytes a proof's message commits to: the dag-cbor encoding of the payload vector. */
export function encodePayload(payload: number[]): Uint8Array {
  return dagCbor.encode(payload);
}

/**
 * Encodes a submission as a dag-cbor block in its version's wire form (above). SubmissionTooLargeError over the
 * version's limit: MAX_SUBMISSION_BYTES for v1, MAX_SHARED_SUBMISSION_BYTES for v2.
 */
export async function encodeSubmission(sub: AnySubmission): Promise<Block> {
  const p = sub.proof;
  if (sub.version !== 2 && (sub.job.jobId < 0n || sub.job.jobId > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new RangeError(`job.jobId: a version 1 envelope takes a JobRegistry id (a safe integer), got ${sub.job.jobId}`);
  }
  const common = {
    job: {
      chain: Number(sub.job.chainId),
      registry: sub.job.registry.toLowerCase(),
      // SharedJobs numbers its jobs from 2^128 (SHARED_JOB_ID_BASE), past any CBOR integer: a 32-byte word in v2.
      id: sub.version === 2 ? bigintToBytes32(sub.job.jobId) : Number(sub.job.jobId),
    },
    proof: {
      points: p.points.map((x: string) => bigintToBytes32(BigInt(x))),
      message: bigintToBytes32(BigInt(p.message)),
      scope: bigintToBytes32(BigInt(p.scope)),
    },
    nullifier: bigintToBytes32(BigInt(p.nullifier)),
    root: bigintToBytes32(BigInt(p.merkleTreeRoot)),
    depth: p.merkleTreeDepth,
  };
  let block: Block;
  if (sub.version === 2) {
    checkReportShape(sub.report);
    const r = sub.report;
    block = await encodeBlock({
      v: 2,
      ...common,
      report: {
        nonce: r.nonce,
        public: r.publicShare,
        shares: r.shares.map((s) => ({ enc: s.enc, ct: s.ct })),
      },
    });
  } else {
    block = await encodeBlock({ v: 1, ...common, payload: sub.payload });
  }
  const limit = maxSubmissionBytes(sub.version);
  if (block.bytes.length > limit) throw new SubmissionTooLargeError(block.bytes.length, limit);
  return block;
}

/** The largest envelope of a version: MAX_SUBMISSION_BYTES for 1, MAX_SHARED_SUBMISSION_BYTES for 2. */
export function maxSubmissionBytes(version: 1 | 2): number {
  return version === 2 ? MAX_SHARED_SUBMISSION_BYTES : MAX_SUBMISSION_BYTES;
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
export function envelopeArg(sub: AnySubmission): EnvelopeArg {
  if (sub.version !== 1) {
    throw new WrongModeError("a version 2 (secret-shared) submission has no JobRegistry Envelope: only v1 leaves are opened on-chain");
  }
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
 * Decodes and validates an envelope of either version; every deviation is a MalformedSubmissionError naming the
 * field. Checks the size before decoding (the v2 limit; after decoding, a v1 envelope over its own 4 KiB limit is
 * SubmissionTooLargeError too), then: canonical dag-cbor (re-encoding gives the same bytes, so one submission has
 * one CID), exact key sets, types, 32-byte words, and the field ranges a verifier would refuse anyway (root
 * and nullifier are public signals, < SNARK_SCALAR_FIELD; point coordinates < BN254_BASE_FIELD, which also
 * keeps a point from having a second, non-reduced encoding that snarkjs would accept). `message` and `scope`
 * may be any 256-bit word: Semaphore hashes them into the field. A depth other than PROOF_DEPTH is
 * malformed, not an unknown root: the envelope fixes the depth, and the root may well be the right one.
 * Version 2: the report's byte lengths as checkReportShape says. Whether the proof's message is the payload's or
 * the report's is checkSubmission's (PayloadHashMismatchError, ShareDigestMismatchError).
 */
export function decodeSubmission(bytes: Uint8Array): AnySubmission {
  if (bytes.length > MAX_SHARED_SUBMISSION_BYTES) throw new SubmissionTooLargeError(bytes.length, MAX_SHARED_SUBMISSION_BYTES);
  const value = decodeCbor(bytes);
  if (!equalBytes(dagCbor.encode(value), bytes)) {
    throw new MalformedSubmissionError("envelope: not canonical dag-cbor (re-encoding gives other bytes)");
  }
  const v = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>).v : undefined;
  if (v !== 1 && v !== 2) {
    // Named after the key set first when it is not even an envelope's.
    record(value, "envelope", ["v", "job", "payload", "proof", "nullifier", "root", "depth"]);
    throw new MalformedSubmissionError(`envelope.v: expected 1 or 2, got ${String(v)}`);
  }
  if (v === 1 && bytes.length > MAX_SUBMISSION_BYTES) throw new SubmissionTooLargeError(bytes.length, MAX_SUBMISSION_BYTES);
  const root = record(value, "envelope", ["v", "job", v === 1 ? "payload" : "report", "proof", "nullifier", "root", "depth"]);
  const job = record(root.job, "envelope.job", ["chain", "registry", "id"]);
  const proof = record(root.proof, "envelope.proof", ["points", "message", "scope"]);
  // The body first, as v1 always did: a mangled payload is named before the proof fields.
  const payload = v === 1 ? payloadOf(root.payload) : undefined;
  const report = v === 2 ? reportOf(root.report) : undefined;
  if (!Array.isArray(proof.points) || proof.points.length !== 8) {
    throw new MalformedSubmissionError(`envelope.proof.points: expected 8 words, got ${describe(proof.points)}`);
  }
  if (root.depth !== PROOF_DEPTH) {
    throw new MalformedSubmissionError(
      `envelope.depth: expected ${PROOF_DEPTH}, the one depth Mosaic proves at; got ${String(root.depth)}`,
    );
  }
  const common = {
    job: {
      chainId: BigInt(safeInt(job.chain, "envelope.job.chain")),
      registry: address(job.registry),
      jobId: v === 2 ? BigInt(word(job.id, "envelope.job.id")) : BigInt(safeInt(job.id, "envelope.job.id")),
    },
    proof: {
      merkleTreeDepth: PROOF_DEPTH,
      merkleTreeRoot: word(root.root, "envelope.root", SNARK_SCALAR_FIELD),
      nullifier: word(root.nullifier, "envelope.nullifier", SNARK_SCALAR_FIELD),
      message: word(proof.message, "envelope.proof.message"),
      scope: word(proof.scope, "envelope.proof.scope"),
      points: proof.points.map((x, i) => word(x, `envelope.proof.points[${i}]`, BN254_BASE_FIELD)) as SemaphoreProof["points"],
    },
  };
  if (report) return { version: 2, job: common.job, report, proof: common.proof };
  return { version: 1, job: common.job, payload: payload as number[], proof: common.proof };
}

/**
 * decodeSubmission for a caller that takes only version 1 (a local job's payload): a v2 envelope is WrongModeError.
 */
export function decodeLocalSubmission(bytes: Uint8Array): Submission {
  const sub = decodeSubmission(bytes);
  if (sub.version !== 1) throw new WrongModeError("a version 2 (secret-shared) envelope where a version 1 payload is expected");
  return sub;
}

function payloadOf(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PAYLOAD_LENGTH) {
    throw new MalformedSubmissionError(`envelope.payload: expected 1..${MAX_PAYLOAD_LENGTH} integers`);
  }
  return value.map((x, i) => {
    if (!Number.isSafeInteger(x)) throw new MalformedSubmissionError(`envelope.payload[${i}]: expected an integer, got ${String(x)}`);
    return x as number;
  });
}

function reportOf(value: unknown): SharedReport {
  const r = record(value, "envelope.report", ["nonce", "public", "shares"]);
  if (!Array.isArray(r.shares) || r.shares.length !== 2) {
    throw new MalformedSubmissionError(`envelope.report.shares: expected 2 shares, got ${describe(r.shares)}`);
  }
  const shares = r.shares.map((s, i) => {
    const share = record(s, `envelope.report.shares[${i}]`, ["enc", "ct"]);
    return { enc: share.enc, ct: share.ct } as EncryptedShare;
  }) as [EncryptedShare, EncryptedShare];
  const report = { nonce: r.nonce, publicShare: r.public, shares } as SharedReport;
  checkReportShape(report, "envelope.report");
  return report;
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
