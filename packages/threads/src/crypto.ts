// The thread layer's primitives: XChaCha20-Poly1305 sealing, Ed25519 signing through node:crypto, and HKDF key derivation.
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/ciphers/webcrypto";
export { concatBytes, equalBytes } from "@noble/ciphers/utils";
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

const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_ED25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** An Ed25519 key pair (node:crypto, so signing runs in native code). */
export interface SigningKey {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** The Ed25519 key pair whose 32-byte private seed is `seed`. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`);
  const der = new Uint8Array(PKCS8_ED25519.length + 32);
  der.set(PKCS8_ED25519, 0);
  der.set(seed, PKCS8_ED25519.length);
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = Uint8Array.from(spki.subarray(spki.length - 32));
  return { publicKey, sign: (message) => Uint8Array.from(sign(null, message, privateKey)) };
}

const publicKeys = new Map<string, KeyObject>();

/** Verifies an Ed25519 signature; false for any malformed key or signature. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const id = Buffer.from(publicKey).toString("hex");
  let key = publicKeys.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: "der", type: "spki" });
    } catch {
      return false;
    }
    if (publicKeys.size > 10_000) publicKeys.clear();
    publicKeys.set(id, key);
  }
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
