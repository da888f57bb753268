// Field elements and 256-bit integers as fixed 32-byte big-endian values, the form they take in dag-cbor.
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { fromHex } from "./bytes.js";

/** The BN254 scalar field Semaphore works in. */
export const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export function bigintToBytes32(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`value: expected 0 <= x < 2^256, got ${value}`);
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytes32ToBigint(bytes: Uint8Array): bigint {
  if (bytes.length !== 32) throw new RangeError(`bytes: expected 32 bytes, got ${bytes.length}`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** sha-256 of bytes as an unsigned 256-bit integer: the message a submission's proof signs. */
export function payloadDigest(bytes: Uint8Array): bigint {
  return bytes32ToBigint(sha256(bytes));
}

/**
 * The Semaphore scope of a job: unique across chains and registries, so nullifiers of one deployment's
 * job 1 never collide with another's. keccak256(chainId ‖ registry ‖ jobId) reduced into the field.
 */
export function jobScope(chainId: bigint, registry: string, jobId: bigint): bigint {
  const buf = new Uint8Array(32 + 20 + 32);
  buf.set(bigintToBytes32(chainId), 0);
  buf.set(fromHex(registry, { length: 20, field: "registry" }), 32);
  buf.set(bigintToBytes32(jobId), 52);
  return bytes32ToBigint(keccak_256(buf)) % SNARK_SCALAR_FIELD;
}
