// The `#aes` adapter for browsers: AES-128 and HKDF-SHA256 from @noble (audited, pure JS, synchronous).
import { ctr, ecb } from "@noble/ciphers/aes";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";

/** AES-128 over whole 16-byte blocks, each on its own (ECB, no padding): one cipher for all of a key's 144 RPIs. */
export function aes128EcbBlocks(key: Uint8Array, blocks: Uint8Array): Uint8Array {
  return ecb(key, { disablePadding: true }).encrypt(blocks);
}

/** AES-128-CTR with a 16-byte initial counter block (GAEN: the RPI); encryption and decryption are the same. */
export function aes128Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return ctr(key, iv).encrypt(data);
}

/** HKDF-SHA256 (RFC 5869) with no salt (HashLen zero bytes, the same as an empty one). */
export function hkdfSha256(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, undefined, info, length);
}

/** Which implementation this is, for benchmarks and tests. */
export const AES_IMPLEMENTATION = "@noble/ciphers";
