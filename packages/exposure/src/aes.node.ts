// The `#aes` adapter for Node: AES-128 and HKDF-SHA256 from node:crypto (OpenSSL, AES-NI), the hot path of matching.
import { createCipheriv, createSecretKey, hkdfSync } from "node:crypto";

// A KeyObject, not raw bytes: Node 24's createCipheriv spends ~3× longer checking a raw key (KeyObject and CryptoKey
// brand checks) than createSecretKey takes, and matching makes one cipher per published key.
const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** AES-128 over whole 16-byte blocks, each on its own (ECB, no padding): one cipher for all of a key's 144 RPIs. */
export function aes128EcbBlocks(key: Uint8Array, blocks: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-128-ecb", createSecretKey(key), null);
  cipher.setAutoPadding(false);
  return view(cipher.update(blocks));
}

/** AES-128-CTR with a 16-byte initial counter block (GAEN: the RPI); encryption and decryption are the same. */
export function aes128Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-128-ctr", createSecretKey(key), iv);
  return view(Buffer.concat([cipher.update(data), cipher.final()]));
}

/** HKDF-SHA256 (RFC 5869) with no salt (HashLen zero bytes, the same as an empty one). */
export function hkdfSha256(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", ikm, new Uint8Array(0), info, length));
}

/** Which implementation this is, for benchmarks and tests. */
export const AES_IMPLEMENTATION = "node:crypto";
