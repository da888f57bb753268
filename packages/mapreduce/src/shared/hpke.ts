// HPKE (RFC 9180) base mode for one suite, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20Poly1305: how a vault
// encrypts each Prio3 input share to one aggregator. Single-shot seal/open, plus the context for the RFC's vectors.
import { chacha20poly1305 } from "@noble/ciphers/chacha";
import { x25519 } from "@noble/curves/ed25519";
import { expand, extract } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { concatBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils";
import { ShareDecryptError } from "./errors.js";

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
/** Base mode (no PSK, no sender key). */
const MODE_BASE = 0;
/** Nsecret, Nenc, Npk, Nsk of DHKEM(X25519, HKDF-SHA256); Nk, Nn, Nt of ChaCha20Poly1305; Nh of HKDF-SHA256. */
export const HPKE_ENC_LENGTH = 32;
const KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
export const HPKE_TAG_LENGTH = 16;
const HASH_LENGTH = 32;

const VERSION_LABEL = utf8ToBytes("HPKE-v1");
const KEM_SUITE = concatBytes(utf8ToBytes("KEM"), i2osp(KEM_ID, 2));
const HPKE_SUITE = concatBytes(utf8ToBytes("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
const EMPTY = new Uint8Array(0);

function i2osp(n: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concatBytes(VERSION_LABEL, suite, utf8ToBytes(label), ikm), salt);
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  return expand(sha256, prk, concatBytes(i2osp(length, 2), VERSION_LABEL, suite, utf8ToBytes(label), info), length);
}

function bytesArg(field: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${field}: expected a Uint8Array, got ${typeof value}`);
  if (length !== undefined && value.length !== length) throw new RangeError(`${field}: expected ${length} bytes, got ${value.length}`);
  return value;
}

/** X25519, refusing the all-zero output a small-order public key gives (RFC 9180 §7.1.4). */
function dh(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secret, publicKey);
  } catch (err) {
    throw new ShareDecryptError(`hpke: X25519 failed: ${(err as Error).message}`);
  }
  if (shared.every((b) => b === 0)) throw new ShareDecryptError("hpke: X25519 gave the all-zero secret (a small-order public key)");
  return shared;
}

function extractAndExpand(dhSecret: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dhSecret);
  return labeledExpand(KEM_SUITE, prk, "shared_secret", kemContext, HASH_LENGTH);
}

/** An X25519 key pair: the secret an aggregator keeps, the public key it registers. */
export interface HpkeKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A fresh key pair from the platform's CSPRNG. */
export function generateKeyPair(): HpkeKeyPair {
  const secretKey = randomBytes(32);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The public key of an X25519 secret. */
export function publicKeyOf(secret: Uint8Array): Uint8Array {
  return x25519.getPublicKey(bytesArg("secret", secret, 32));
}

/** DeriveKeyPair of RFC 9180 §7.1.3 (X25519): a key pair from input keying material, as the RFC's vectors do. */
export function deriveKeyPair(ikm: Uint8Array): HpkeKeyPair {
  const prk = labeledExtract(KEM_SUITE, EMPTY, "dkp_prk", bytesArg("ikm", ikm));
  const secretKey = labeledExpand(KEM_SUITE, prk, "sk", EMPTY, 32);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The key schedule's output for one sender/recipient pair (RFC 9180 §5.1), with sequence-numbered seal/open. */
export interface HpkeContext {
  enc: Uint8Array;
  sharedSecret: Uint8Array;
  keyScheduleContext: Uint8Array;
  secret: Uint8Array;
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
  /** AEAD-seals with nonce baseNonce ⊕ seq. */
  seal(aad: Uint8Array, plaintext: Uint8Array, seq?: number): Uint8Array;
  /** AEAD-opens with nonce baseNonce ⊕ seq; ShareDecryptError when the tag does not verify. */
  open(aad: Uint8Array, ciphertext: Uint8Array, seq?: number): Uint8Array;
  /** The secret export interface: LabeledExpand(exporterSecret, "sec", exporterContext, length). */
  export(exporterContext: Uint8Array, length: number): Uint8Array;
}

function keySchedule(enc: Uint8Array, sharedSecret: Uint8Array, info: Uint8Array): HpkeContext {
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const keyScheduleContext = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);
  const key = labeledExpand(HPKE_SUITE, secret, "key", keyScheduleContext, KEY_LENGTH);
  const baseNonce = labeledExpand(HPKE_SUITE, secret, "base_nonce", keyScheduleContext, NONCE_LENGTH);
  const exporterSecret = labeledExpand(HPKE_SUITE, secret, "exp", keyScheduleContext, HASH_LENGTH);
  const nonceOf = (seq: number): Uint8Array => {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq: expected a non-negative safe integer, got ${seq}`);
    const nonce = baseNonce.slice();
    const s = i2osp(seq, NONCE_LENGTH);
    for (let i = 0; i < NONCE_LENGTH; i++) nonce[i] = (nonce[i] as number) ^ (s[i] as number);
    return nonce;
  };
  return {
    enc,
    sharedSecret,
    keyScheduleContext,
    secret,
    key,
    baseNonce,
    exporterSecret,
    seal: (aad, plaintext, seq = 0) => chacha20poly1305(key, nonceOf(seq), aad).encrypt(plaintext),
    open(aad, ciphertext, seq = 0) {
      if (ciphertext.length < HPKE_TAG_LENGTH)
        throw new ShareDecryptError(`hpke: ciphertext of ${ciphertext.length} bytes is shorter than its tag`);
      try {
        return chacha20poly1305(key, nonceOf(seq), aad).decrypt(ciphertext);
      } catch {
        throw new ShareDecryptError(
          "hpke: the ciphertext does not verify under this key, info and aad (encrypted to another key, or altered)",
        );
      }
    },
    export: (exporterContext, length) => labeledExpand(HPKE_SUITE, exporterSecret, "sec", exporterContext, length),
  };
}

/** SetupBaseS: the sender's context for `recipientPublic`, with an ephemeral secret (random unless given). */
export function setupBaseSender(recipientPublic: Uint8Array, info: Uint8Array, ephemeralSecret?: Uint8Array): HpkeContext {
  bytesArg("recipientPublic", recipientPublic, 32);
  bytesArg("info", info);
  const skE = ephemeralSecret === undefined ? randomBytes(32) : bytesArg("ephemeralSecret", ephemeralSecret, 32);
  const enc = x25519.getPublicKey(skE);
  let shared: Uint8Array;
  try {
    shared = dh(skE, recipientPublic);
  } catch (err) {
    // A bad recipient key is the caller's argument, not outside input.
    throw new RangeError(`recipientPublic: not a usable X25519 public key (${(err as Error).message})`);
  }
  return keySchedule(enc, extractAndExpand(shared, concatBytes(enc, recipientPublic)), info);
}

/** SetupBaseR: the recipient's context from the sender's `enc`; ShareDecryptError for an unusable `enc`. */
export function setupBaseRecipient(recipientSecret: Uint8Array, enc: Uint8Array, info: Uint8Array): HpkeContext {
  bytesArg("recipientSecret", recipientSecret, 32);
  bytesArg("info", info);
  if (!(enc instanceof Uint8Array) || enc.length !== HPKE_ENC_LENGTH)
    throw new ShareDecryptError(`hpke: enc must be ${HPKE_ENC_LENGTH} bytes, got ${enc instanceof Uint8Array ? enc.length : typeof enc}`);
  const shared = dh(recipientSecret, enc);
  const recipientPublic = x25519.getPublicKey(recipientSecret);
  return keySchedule(enc, extractAndExpand(shared, concatBytes(enc, recipientPublic)), info);
}

/** One sealed message: the encapsulated key and the AEAD ciphertext (plaintext length + 16). */
export interface HpkeSealed {
  enc: Uint8Array;
  ct: Uint8Array;
}

/** Single-shot base-mode seal (RFC 9180 §6.1): encrypts `plaintext` to `recipientPublic`, bound to `info` and `aad`. */
export function seal(
  recipientPublic: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  ephemeralSecret?: Uint8Array,
): HpkeSealed {
  bytesArg("aad", aad);
  bytesArg("plaintext", plaintext);
  const context = setupBaseSender(recipientPublic, info, ephemeralSecret);
  return { enc: context.enc, ct: context.seal(aad, plaintext) };
}

/** Single-shot base-mode open; any failure (bad enc, wrong key, info, aad or altered bytes) is a ShareDecryptError. */
export function open(recipientSecret: Uint8Array, enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
  bytesArg("aad", aad);
  if (!(ct instanceof Uint8Array)) throw new ShareDecryptError(`hpke: ct must be bytes, got ${typeof ct}`);
  return setupBaseRecipient(recipientSecret, enc, info).open(aad, ct);
}
