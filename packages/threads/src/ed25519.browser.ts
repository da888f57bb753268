// Ed25519 in the browser through @noble/curves, with RFC 8032's strict checks as node:crypto (OpenSSL) applies them.
import { ed25519 } from "@noble/curves/ed25519";
import type { SigningKey } from "./crypto.js";

/** The Ed25519 key pair whose 32-byte private seed is `seed`. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`);
  const privateKey = Uint8Array.from(seed);
  return { publicKey: ed25519.getPublicKey(privateKey), sign: (message) => ed25519.sign(message, privateKey) };
}

/** Verifies an Ed25519 signature; false for any malformed key or signature. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
