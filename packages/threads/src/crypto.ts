// The thread layer's primitives: XChaCha20-Poly1305 sealing, Ed25519 signing (native in Node), and HKDF key derivation.
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/ciphers/webcrypto";
export { concatBytes } from "@noble/ciphers/utils";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";

/*
 * XChaCha20-Poly1305 rather than go-threads' AES-256-GCM: the service and read keys seal every record of
 * every device for the life of a thread, with no coordination between writers. A random 192-bit nonce
 * makes collisions negligible at any volume, where GCM's 96-bit random nonces are capped at 2^32 messages
 * per key; and ChaCha is constant-time in software, which AES is not without AES-NI (phones, browsers).
 */
const NONCE = 24;
const TAG = 16;

/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE + TAG;

/** Seals `plain` as nonce ‖ ciphertext ‖ tag, binding `aad`. */
export function seal(key: Uint8Array, plain: Uint8Array, aad?: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE);
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plain);
  const out = new Uint8Array(NONCE + sealed.length);
  out.set(nonce, 0);
  out.set(sealed, NONCE);
  return out;
}

/** Opens what `seal` made; undefined when the key is wrong or a byte changed. */
export function unseal(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined {
  if (sealed.length < SEAL_OVERHEAD) return undefined;
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE), aad).decrypt(sealed.subarray(NONCE));
  } catch {
    return undefined;
  }
}

/** A 32-byte key for `purpose`, derived from `secret`. */
export function deriveKey(secret: Uint8Array, purpose: string, length = 32): Uint8Array {
  return hkdf(sha256, secret, undefined, `mosaic/threads/${purpose}/v1`, length);
}

/** An Ed25519 key pair (node:crypto in Node, so signing runs in native code; @noble/curves in the browser). */
export interface SigningKey {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export { signingKeyFromSeed, verifySignature } from "#ed25519";
