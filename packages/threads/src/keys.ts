// Thread keys (service key ‖ read key), log keys and log certificates, all derivable from a vault's 32-byte root seed.
import { base32 } from "multiformats/bases/base32";
import { concatBytes, deriveKey, type SigningKey, signingKeyFromSeed, verifySignature } from "./crypto.js";
import { ThreadId, ThreadVariant } from "./id.js";

/**
 * A thread key. Replicators hold `service` alone: enough to decrypt and verify records, store and serve
 * them, never to read an event. Members hold both.
 */
export interface ThreadKey {
  readonly service: Uint8Array;
  readonly read?: Uint8Array;
}

/** The binary thread key: service key ‖ read key (64 bytes), or the service key alone (32). */
export function encodeThreadKey(key: ThreadKey): Uint8Array {
  return key.read === undefined ? Uint8Array.from(key.service) : concatBytes(key.service, key.read);
}

/** Reads a binary thread key; RangeError for any other length. */
export function decodeThreadKey(bytes: Uint8Array): ThreadKey {
  if (bytes.length === 32) return { service: Uint8Array.from(bytes) };
  if (bytes.length === 64) return { service: bytes.slice(0, 32), read: bytes.slice(32) };
  throw new RangeError(`thread key: expected 32 (service) or 64 (service ‖ read) bytes, got ${bytes.length}`);
}

/** A log's ID: the multibase base32 form of its Ed25519 public key. */
export function logIdOf(publicKey: Uint8Array): string {
  return base32.encode(publicKey);
}

const CERT_DOMAIN = new TextEncoder().encode("mosaic/threads/log-certificate/v1\0");

/** The thread owner's signature admitting a log to the thread. */
export function certifyLog(owner: SigningKey, threadId: ThreadId, logPublicKey: Uint8Array): Uint8Array {
  return owner.sign(concatBytes(CERT_DOMAIN, threadId.bytes, logPublicKey));
}

/** Whether `certificate` admits the log with `logPublicKey` to the thread owned by `ownerPublicKey`. */
export function verifyLogCertificate(
  ownerPublicKey: Uint8Array,
  threadId: ThreadId,
  logPublicKey: Uint8Array,
  certificate: Uint8Array,
): boolean {
  return verifySignature(ownerPublicKey, concatBytes(CERT_DOMAIN, threadId.bytes, logPublicKey), certificate);
}

/** Everything a device of the vault needs to open one of its threads. */
export interface ThreadSecrets {
  readonly id: ThreadId;
  readonly key: Required<ThreadKey>;
  /** Signs log certificates; the same on every device of the vault. */
  readonly owner: SigningKey;
  /** This device's single-writer log. */
  readonly log: SigningKey;
}

function checkSeed(rootSeed: Uint8Array): void {
  if (rootSeed.length !== 32) throw new RangeError(`rootSeed: expected 32 bytes, got ${rootSeed.length}`);
}

/**
 * Derives a named thread of the vault. The ID too comes from the seed, so a device rebuilt from the
 * seed finds the same thread at its replicators.
 */
export function deriveThreadSecrets(rootSeed: Uint8Array, name: string, device: string): ThreadSecrets {
  checkSeed(rootSeed);
  if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new TypeError(`thread name: expected [a-z0-9-]{1,64}, got ${JSON.stringify(name)}`);
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(device)) throw new TypeError(`device: expected [a-zA-Z0-9._-]{1,64}, got ${JSON.stringify(device)}`);
  const id = ThreadId.create(ThreadVariant.Raw, deriveKey(rootSeed, `thread-id/${name}`));
  const base = deriveKey(rootSeed, `thread/${id.toString()}`);
  return {
    id,
    key: { service: deriveKey(base, "service"), read: deriveKey(base, "read") },
    owner: signingKeyFromSeed(deriveKey(base, "owner")),
    log: signingKeyFromSeed(deriveKey(base, `log/${device}`)),
  };
}
