// A vault's report for a shared job: its clamped output split into two Prio3 input shares, each HPKE-encrypted to
// one aggregator and bound to the job, the nonce, the public share and the submitter's nullifier; and the message its
// Semaphore proof signs.
import {
  bigintToBytes32,
  type EncryptedShare,
  type JobRef,
  type JobSpec,
  reportMessage,
  type SharedReport,
  shareDigest,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { concatBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils";
import { MalformedReportError } from "./errors.js";
import { HPKE_ENC_LENGTH, HPKE_TAG_LENGTH, seal } from "./hpke.js";
import { inputShareLength, publicShareLength, SHARED_AGGREGATORS, sharedVdafOf } from "./vdaf.js";

// The report's shape and the message its proof signs are protocol's, so the envelope codec and the aggregators agree.
export type { EncryptedShare, SharedReport };
export { reportMessage, shareDigest };

/** Bytes of the report nonce (Prio3's NONCE_SIZE). */
export const REPORT_NONCE_LENGTH = 16;

const SHARE_INFO_LABEL = utf8ToBytes("mosaic/prio3-input-share/1");

/**
 * The job as dag-cbor carries it in the shared mode: chain a safe integer, registry lower-case hex, id a 32-byte
 * big-endian word (SharedJobs ids start at 2^128, past any CBOR integer), as envelope v2 writes `job`.
 */
export function jobWire(job: JobRef): { chain: number; registry: string; id: Uint8Array } {
  if (typeof job?.chainId !== "bigint" || job.chainId < 0n || job.chainId > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`job.chainId: expected a bigint chain id up to 2^53 − 1, got ${String(job?.chainId)}`);
  if (typeof job.registry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(job.registry))
    throw new RangeError(`job.registry: expected a 0x-prefixed 20-byte address, got ${String(job.registry)}`);
  if (typeof job.jobId !== "bigint" || job.jobId < 0n)
    throw new RangeError(`job.jobId: expected a non-negative bigint, got ${String(job.jobId)}`);
  return { chain: Number(job.chainId), registry: job.registry.toLowerCase(), id: bigintToBytes32(job.jobId) };
}

/** HPKE info for aggregator i's share: utf8("mosaic/prio3-input-share/1") ‖ dag-cbor({ chain, registry, id, aggregator }). */
export function shareInfo(job: JobRef, aggregator: number): Uint8Array {
  if (aggregator !== 0 && aggregator !== 1) throw new RangeError(`aggregator: expected 0 or 1, got ${aggregator}`);
  return concatBytes(SHARE_INFO_LABEL, dagCbor.encode({ ...jobWire(job), aggregator }));
}

/**
 * HPKE aad for both shares: nonce ‖ publicShare ‖ the submitter's Semaphore nullifier (32 bytes), so a share cannot be
 * moved to another report, nor a whole report sent again under another member's nullifier: a copied report counted
 * many times would amplify one member's exact answer in the sum past what the noise covers.
 */
export function shareAad(nonce: Uint8Array, publicShare: Uint8Array, nullifier: bigint): Uint8Array {
  return concatBytes(nonce, publicShare, nullifierBytes(nullifier));
}

function nullifierBytes(nullifier: unknown): Uint8Array {
  if (typeof nullifier !== "bigint" || nullifier < 0n || nullifier >= 1n << 256n)
    throw new RangeError(`nullifier: expected a 256-bit unsigned integer, got ${String(nullifier)}`);
  return bigintToBytes32(nullifier);
}

/** Plain Uint8Array views of the library's Buffers, so dag-cbor and equality see ordinary bytes. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export interface SealReportInit {
  job: JobRef;
  aggregatorKeys: readonly [Uint8Array, Uint8Array];
  nonce: Uint8Array;
  publicShare: Uint8Array;
  /** The submitter's Semaphore nullifier for the job (avatar's nullifierOf): the shares are bound to it. */
  nullifier: bigint;
  /** The encoded input shares, leader's first. */
  inputShares: readonly [Uint8Array, Uint8Array];
  /** Randomness for the two ephemeral keys. @default the platform's CSPRNG */
  random?: (n: number) => Uint8Array;
}

function checkKey(key: unknown, i: number): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError(`aggregatorKeys[${i}]: expected a 32-byte X25519 public key`);
  return key;
}

/** Encrypts already-encoded input shares into a report (shardReport's second half; tests use it to build bad ones). */
export function sealReport(init: SealReportInit): SharedReport {
  const random = init.random ?? randomBytes;
  const aad = shareAad(init.nonce, init.publicShare, init.nullifier);
  const shares = [0, 1].map((i) => {
    const key = checkKey(init.aggregatorKeys[i], i);
    return seal(key, shareInfo(init.job, i), aad, init.inputShares[i] as Uint8Array, random(32));
  }) as [EncryptedShare, EncryptedShare];
  return { nonce: plain(init.nonce), publicShare: plain(init.publicShare), shares };
}

export interface ShardReportInit {
  spec: JobSpec;
  job: JobRef;
  /** The vault's exact output, clamped to the spec's entries (no local noise in the shared mode). */
  clamped: number[];
  /** The two aggregators' X25519 keys as the job records them, leader's first. */
  aggregatorKeys: [Uint8Array, Uint8Array];
  /** The submitter's Semaphore nullifier for the job, known before proving (avatar's nullifierOf). */
  nullifier: bigint;
  /** Randomness for the nonce, Prio3's sharding and HPKE's ephemeral keys. @default the platform's CSPRNG */
  random?: (n: number) => Uint8Array;
}

/**
 * Splits a clamped output into a report: Prio3 shard (random nonce and rand), then each input share sealed to its
 * aggregator under the submitter's nullifier. RangeError names the entry of an output outside its declared range, a
 * bad key or a nullifier that is not a 256-bit unsigned integer.
 */
export async function shardReport(init: ShardReportInit): Promise<SharedReport> {
  const { vdaf, measurementOf } = sharedVdafOf(init.spec);
  const measurement = measurementOf(init.clamped);
  const keys = init.aggregatorKeys;
  if (!Array.isArray(keys) || keys.length !== SHARED_AGGREGATORS)
    throw new RangeError(`aggregatorKeys: expected 2 keys, got ${keys?.length}`);
  keys.forEach(checkKey);
  jobWire(init.job);
  nullifierBytes(init.nullifier); // refused before any randomness is drawn
  const random = init.random ?? randomBytes;
  const nonce = random(REPORT_NONCE_LENGTH);
  const rand = random(vdaf.randSize);
  const sharded = await vdaf.shardEncoded(measurement, nonce as never, rand as never);
  return sealReport({
    job: init.job,
    aggregatorKeys: keys,
    nonce,
    publicShare: sharded.publicShare,
    nullifier: init.nullifier,
    inputShares: [sharded.inputShares[0] as Uint8Array, sharded.inputShares[1] as Uint8Array],
    random,
  });
}

/**
 * Checks a report's shape for a spec: nonce 16 bytes, the public share and each ciphertext of the lengths the job's
 * Prio3 instance gives, each enc 32 bytes. MalformedReportError names the first wrong field.
 */
export function checkReport(report: unknown, spec: JobSpec): asserts report is SharedReport {
  const { vdaf } = sharedVdafOf(spec);
  const r = report as SharedReport;
  if (r === null || typeof r !== "object")
    throw new MalformedReportError(`report: expected an object, got ${r === null ? "null" : typeof r}`);
  const bytes = (field: string, value: unknown, length: number): void => {
    if (!(value instanceof Uint8Array)) throw new MalformedReportError(`report.${field}: expected bytes, got ${typeof value}`);
    if (value.length !== length) throw new MalformedReportError(`report.${field}: expected ${length} bytes, got ${value.length}`);
  };
  bytes("nonce", r.nonce, REPORT_NONCE_LENGTH);
  bytes("publicShare", r.publicShare, publicShareLength(vdaf));
  if (!Array.isArray(r.shares) || r.shares.length !== SHARED_AGGREGATORS)
    throw new MalformedReportError(
      `report.shares: expected 2 encrypted shares, got ${Array.isArray(r.shares) ? r.shares.length : typeof r.shares}`,
    );
  for (const [i, share] of r.shares.entries()) {
    if (share === null || typeof share !== "object") throw new MalformedReportError(`report.shares[${i}]: expected { enc, ct }`);
    bytes(`shares[${i}].enc`, share.enc, HPKE_ENC_LENGTH);
    bytes(`shares[${i}].ct`, share.ct, inputShareLength(vdaf, i) + HPKE_TAG_LENGTH);
  }
}
