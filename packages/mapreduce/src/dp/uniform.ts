// Uniform integers for the DP samplers: the platform's CSPRNG for real submissions, a seeded stream for tests and
// benchmarks, both through one unbiased rejection.
import { chacha20 } from "@noble/ciphers/chacha";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

/** Uniform integer in [0, n) for a positive bigint n. */
export type UniformInt = (n: bigint) => bigint;

const TWO_32 = 2 ** 32;
const TWO_48 = 2n ** 48n;

/** Bits needed to write m, for 0 <= m < 2^48. */
function bitLength(m: number): number {
  return m < TWO_32 ? 32 - Math.clz32(m) : 64 - Math.clz32(Math.floor(m / TWO_32));
}

/**
 * A uniform source over a byte stream: draws the fewest whole bytes that cover n − 1, masks the top byte to
 * the bit length and rejects values ≥ n (acceptance ≥ 1/2), so every n is hit with exactly equal probability.
 * Below 2^48 the candidate is built in a double (exact up to 2^53) to spare the bigint work.
 */
function uniformFromBytes(refill: (pool: Uint8Array) => void, poolSize: number): UniformInt {
  const pool = new Uint8Array(poolSize);
  let pos = poolSize;
  const next = (): number => {
    if (pos === poolSize) {
      refill(pool);
      pos = 0;
    }
    return pool[pos++] as number;
  };
  return (n) => {
    if (typeof n !== "bigint" || n <= 0n) throw new RangeError(`n: expected a positive bigint, got ${String(n)}`);
    if (n <= TWO_48) {
      const max = Number(n) - 1;
      if (max === 0) return 0n;
      const bits = bitLength(max);
      const bytes = (bits + 7) >> 3;
      const topMask = 0xff >> (bytes * 8 - bits);
      for (;;) {
        let x = next() & topMask;
        for (let i = 1; i < bytes; i++) x = x * 256 + next();
        if (x <= max) return BigInt(x);
      }
    }
    const max = n - 1n;
    const bits = max.toString(2).length;
    const bytes = (bits + 7) >> 3;
    const topMask = 0xff >> (bytes * 8 - bits);
    for (;;) {
      let x = BigInt(next() & topMask);
      for (let i = 1; i < bytes; i++) x = (x << 8n) | BigInt(next());
      if (x <= max) return x;
    }
  };
}

/**
 * The platform's CSPRNG (WebCrypto's getRandomValues, in Node and browsers alike), read through a 4 KiB pool (as
 * Node's `crypto.randomInt` does) so small draws stay cheap.
 */
export const cryptoUniform: UniformInt = uniformFromBytes((pool) => globalThis.crypto.getRandomValues(pool), 4096);

/**
 * A CSPRNG stream from a secret 32-byte key: ChaCha20's keystream (zero nonce; one key, one stream), fed to the same
 * unbiased rejection as cryptoUniform. For noise that must be unpredictable to others yet the same when drawn again
 * (an aggregator's, keyed by its secret and the job); never reuse a key for two purposes.
 */
export function keyedUniform(key: Uint8Array): UniformInt {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${key?.length}`);
  const secret = key.slice();
  const nonce = new Uint8Array(12);
  let block = 0;
  return uniformFromBytes((pool) => {
    // 256-byte pools are 4 ChaCha20 blocks: the counter moves on by 4 each refill, so no keystream byte is used twice.
    pool.set(chacha20(secret, nonce, new Uint8Array(pool.length), undefined, block));
    block += pool.length / 64;
  }, 256);
}

/**
 * A deterministic stream for tests and benchmarks: block i is sha256(key ‖ i as u64 big-endian) with
 * key = sha256("mosaic/dp/seededUniform/v1:" ‖ seed), fed to the same unbiased rejection as cryptoUniform.
 * Never use it for real submissions: anyone who knows the seed knows the noise.
 */
export function seededUniform(seed: string): UniformInt {
  if (typeof seed !== "string") throw new TypeError(`seed: expected a string, got ${typeof seed}`);
  const input = new Uint8Array(40);
  input.set(sha256(utf8ToBytes(`mosaic/dp/seededUniform/v1:${seed}`)));
  const view = new DataView(input.buffer);
  let counter = 0n;
  return uniformFromBytes((pool) => {
    for (let at = 0; at < pool.length; at += 32) {
      view.setBigUint64(32, counter++);
      pool.set(sha256(input), at);
    }
  }, 256);
}
