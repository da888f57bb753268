// An aggregator's X25519 key for shared-mode jobs, derived from key material the node keeps anyway (its libp2p peer
// key), so it needs no file of its own and comes back with the node after a restart or a move.
import { x25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha256";

const INFO = new TextEncoder().encode("mosaic/aggregator-key/1");

/** The X25519 secret an aggregator decrypts its input shares with: HKDF-SHA256 of `seed` (its peer key's bytes). */
export function aggregatorSecretOf(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length < 32)
    throw new RangeError(`seed: expected at least 32 bytes of key material, got ${seed?.length}`);
  return hkdf(sha256, seed, undefined, INFO, 32);
}

/** The public key researchers' vaults encrypt to: what the node registers with SharedJobs.setAggregatorKey. */
export function aggregatorPublicKeyOf(secret: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secret);
}
