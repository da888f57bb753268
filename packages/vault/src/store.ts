// Encryption at rest: each collection is one file sealed with XChaCha20-Poly1305 under a key from the root seed.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { VaultDecryptionError } from "@mosaic/protocol";
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/ciphers/webcrypto";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import * as dagCbor from "@ipld/dag-cbor";

const MAGIC = new TextEncoder().encode("MOSV1");

/**
 * A directory of sealed collections. XChaCha20-Poly1305: a random 24-byte nonce per write is safe without a
 * counter, and the cipher is constant-time in pure JS (AES without hardware support is not).
 */
export class SealedStore {
  readonly #dir: string;
  readonly #rootSeed: Uint8Array;

  constructor(dir: string, rootSeed: Uint8Array) {
    if (rootSeed.length !== 32) throw new RangeError(`rootSeed: expected 32 bytes, got ${rootSeed.length}`);
    this.#dir = dir;
    this.#rootSeed = rootSeed;
  }

  #key(name: string): Uint8Array {
    return hkdf(sha256, this.#rootSeed, undefined, `mosaic/vault/collection/${name}/v1`, 32);
  }

  #file(name: string): string {
    if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new TypeError(`collection: expected [a-z0-9-]{1,64}, got ${JSON.stringify(name)}`);
    return path.join(this.#dir, `${name}.sealed`);
  }

  /** Seals `value` (dag-cbor) and replaces the collection atomically (write, then rename). */
  async write(name: string, value: unknown): Promise<void> {
    const nonce = randomBytes(24);
    const aad = new TextEncoder().encode(name);
    const sealed = xchacha20poly1305(this.#key(name), nonce, aad).encrypt(dagCbor.encode(value));
    const out = new Uint8Array(MAGIC.length + nonce.length + sealed.length);
    out.set(MAGIC, 0);
    out.set(nonce, MAGIC.length);
    out.set(sealed, MAGIC.length + nonce.length);
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(name);
    await writeFile(`${file}.tmp`, out);
    await rename(`${file}.tmp`, file);
  }

  /** Opens a collection; `fallback` when it was never written. Wrong key or tampering is VaultDecryptionError. */
  async read<T>(name: string, fallback: T): Promise<T> {
    let data: Uint8Array;
    try {
      data = await readFile(this.#file(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return fallback;
      throw err;
    }
    const head = data.subarray(0, MAGIC.length);
    if (data.length < MAGIC.length + 24 + 16 || !head.every((b, i) => b === MAGIC[i])) {
      throw new VaultDecryptionError(`${name}: not a sealed Mosaic collection`);
    }
    const nonce = data.subarray(MAGIC.length, MAGIC.length + 24);
    const aad = new TextEncoder().encode(name);
    let plain: Uint8Array;
    try {
      plain = xchacha20poly1305(this.#key(name), nonce, aad).decrypt(data.subarray(MAGIC.length + 24));
    } catch {
      throw new VaultDecryptionError(`${name}: authentication failed (wrong seed, or the file was altered)`);
    }
    return dagCbor.decode(plain) as T;
  }
}
