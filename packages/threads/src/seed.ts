// The vault's root seed at rest: sealed with XChaCha20-Poly1305 under a key scrypt derives from the passphrase.
import { randomBytes } from "@noble/ciphers/webcrypto";
import { scryptAsync } from "@noble/hashes/scrypt";
import { fromBase64, toBase64 } from "@mosaic/protocol";
import { seal, unseal } from "./crypto.js";
import { UnreadableFileError, WrongPassphraseError } from "./errors.js";

/** scrypt cost. N = 2^17, r = 8 (128 MiB, about a second in JS): OWASP's minimum for scrypt is N = 2^17. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

interface SealedSeedFile {
  format: "mosaic-sealed-seed";
  v: 1;
  kdf: "scrypt";
  N: number;
  r: number;
  p: number;
  salt: string;
  sealed: string;
}

const AAD = new TextEncoder().encode("mosaic/vault/seed/v1");
const MAX_FILE_BYTES = 4096;

async function keyFrom(
  passphrase: string,
  salt: Uint8Array,
  params: ScryptParams,
  onProgress?: (fraction: number) => void,
): Promise<Uint8Array> {
  return scryptAsync(passphrase.normalize("NFKC"), salt, { ...params, dkLen: 32, maxmem: 2 ** 31, onProgress });
}

/** A base64 field of a seed file, as sealSeed writes them (padded, RFC 4648); UnreadableFileError otherwise. */
function base64Field(text: string, field: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch {
    throw new UnreadableFileError(`seed file: ${field} is not base64`);
  }
}

/** Seals a 32-byte seed under a passphrase, as the JSON text of a seed file. */
export async function sealSeed(
  seed: Uint8Array,
  passphrase: string,
  options: { params?: ScryptParams; onProgress?: (fraction: number) => void } = {},
): Promise<string> {
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`);
  if (passphrase.length < 8) throw new RangeError("passphrase: expected at least 8 characters");
  const params = options.params ?? DEFAULT_SCRYPT;
  const salt = randomBytes(16);
  const key = await keyFrom(passphrase, salt, params, options.onProgress);
  const file: SealedSeedFile = {
    format: "mosaic-sealed-seed",
    v: 1,
    kdf: "scrypt",
    ...params,
    salt: toBase64(salt),
    sealed: toBase64(seal(key, seed, AAD)),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Opens seed-file text; WrongPassphraseError or UnreadableFileError name what went wrong. */
export async function unsealSeed(
  text: string,
  passphrase: string,
  options: { onProgress?: (fraction: number) => void } = {},
): Promise<Uint8Array> {
  if (text.length > MAX_FILE_BYTES)
    throw new UnreadableFileError(`seed file is ${text.length} bytes; a sealed seed is under ${MAX_FILE_BYTES}`);
  let f: SealedSeedFile;
  try {
    f = JSON.parse(text) as SealedSeedFile;
  } catch {
    throw new UnreadableFileError("seed file is not JSON: is this the vault's seed.json?");
  }
  const sane =
    f?.format === "mosaic-sealed-seed" &&
    f.v === 1 &&
    f.kdf === "scrypt" &&
    Number.isInteger(Math.log2(f.N)) &&
    f.N >= 2 ** 10 &&
    f.N <= 2 ** 22 &&
    Number.isInteger(f.r) &&
    f.r >= 1 &&
    f.r <= 32 &&
    Number.isInteger(f.p) &&
    f.p >= 1 &&
    f.p <= 16 &&
    typeof f.salt === "string" &&
    typeof f.sealed === "string";
  if (!sane) throw new UnreadableFileError("seed file: not a version-1 scrypt-sealed Mosaic seed, or its cost parameters are out of range");
  const key = await keyFrom(passphrase, base64Field(f.salt, "salt"), { N: f.N, r: f.r, p: f.p }, options.onProgress);
  const seed = unseal(key, base64Field(f.sealed, "sealed"), AAD);
  if (seed === undefined || seed.length !== 32) throw new WrongPassphraseError("wrong passphrase (or the seed file was altered)");
  return seed;
}
