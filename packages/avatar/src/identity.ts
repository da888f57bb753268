// The avatar's Semaphore identity, derived from the vault's root seed so that recovery restores it.
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { Identity } from "@semaphore-protocol/identity";

export { Identity };

/** Derives the avatar identity from a 32-byte root seed (HKDF-SHA256, domain-separated). */
export function deriveAvatarIdentity(rootSeed: Uint8Array): Identity {
  if (rootSeed.length !== 32) throw new RangeError(`rootSeed: expected 32 bytes, got ${rootSeed.length}`);
  const key = hkdf(sha256, rootSeed, undefined, "mosaic/avatar/semaphore/v1", 32);
  return new Identity(key);
}
