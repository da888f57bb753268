// GAEN's ephemeral identifiers (Exposure Notification Cryptography Specification v1.2), and Mosaic's daily keys
// derived from the vault's root seed so that recovering the seed restores every key still worth uploading.
import { aes128Ctr, aes128EcbBlocks, hkdfSha256 } from "#aes";
import { KeyExpiredError } from "./errors.js";
import {
  type Advertisement,
  INTERVAL_S,
  KEY_BYTES,
  KEY_RETENTION_DAYS,
  METADATA_BYTES,
  TEK_ROLLING_PERIOD,
  type TemporaryExposureKey,
} from "./types.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const RPIK_INFO = utf8("EN-RPIK");
const AEMK_INFO = utf8("EN-AEMK");
const RPI_PREFIX = utf8("EN-RPI");
const ROOT_INFO = utf8("mosaic/exposure/tek-root/v1");
const TEK_INFO = utf8("mosaic/exposure/tek/v1");
const DAY_S = 86_400;
const UINT32_MAX = 0xffff_ffff;

/** The metadata version byte GAEN v1.x devices send: major 01, minor 00 in the top four bits. */
export const METADATA_VERSION = 0x40;

function checkBytes(field: string, value: unknown, length: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${field}: expected a Uint8Array, got ${typeof value}`);
  if (value.length !== length) throw new RangeError(`${field}: expected ${length} bytes, got ${value.length}`);
}

function checkInteger(field: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${field}: expected a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${field}: expected an integer in [${min}, ${max}], got ${value}`);
}

function checkTime(field: string, value: unknown): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${field}: expected unix seconds, got ${typeof value}`);
  if (!Number.isFinite(value) || value < 0 || value >= (UINT32_MAX + 1) * INTERVAL_S)
    throw new RangeError(`${field}: expected unix seconds ≥ 0, got ${value}`);
}

/** ENIntervalNumber: the 10-minute interval `unixSeconds` falls in, floor(t / 600). */
export function enIntervalNumber(unixSeconds: number): number {
  checkTime("unixSeconds", unixSeconds);
  return Math.floor(unixSeconds / INTERVAL_S);
}

/** The unix day (floor(t / 86400)) of a time. */
export function unixDayOf(unixSeconds: number): number {
  checkTime("unixSeconds", unixSeconds);
  return Math.floor(unixSeconds / DAY_S);
}

/** RPIK = HKDF-SHA256(TEK, salt none, info "EN-RPIK", 16). */
export function deriveRpik(tek: Uint8Array): Uint8Array {
  checkBytes("tek", tek, KEY_BYTES);
  return hkdfSha256(tek, RPIK_INFO, KEY_BYTES);
}

/** AEMK = HKDF-SHA256(TEK, salt none, info "EN-AEMK", 16). */
export function deriveAemk(tek: Uint8Array): Uint8Array {
  checkBytes("tek", tek, KEY_BYTES);
  return hkdfSha256(tek, AEMK_INFO, KEY_BYTES);
}

// HKDF-SHA256 of a 16-byte TEK in pure JS, with no allocation: matching derives one RPIK per published key, and a
// native HKDF call costs ~10 µs of call overhead where the six SHA-256 compressions below cost ~2 µs. Checked
// against node:crypto's HKDF and the published vectors in the tests.
const SHA256_K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const SHA256_IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Uint32Array(64);

/** One SHA-256 compression of the 16 words in W[0..15] into `state` (from `from`). */
function compress(state: Uint32Array, from: Uint32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] as number) + s0 + (W[i - 7] as number) + s1;
  }
  let a = from[0] as number;
  let b = from[1] as number;
  let c = from[2] as number;
  let d = from[3] as number;
  let e = from[4] as number;
  let f = from[5] as number;
  let g = from[6] as number;
  let h = from[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (SHA256_K[i] as number) + (W[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (from[0] as number) + a;
  state[1] = (from[1] as number) + b;
  state[2] = (from[2] as number) + c;
  state[3] = (from[3] as number) + d;
  state[4] = (from[4] as number) + e;
  state[5] = (from[5] as number) + f;
  state[6] = (from[6] as number) + g;
  state[7] = (from[7] as number) + h;
}

/** The state after one block of `byte` repeated 64 times: HMAC's pads for a key of zeros. */
function padState(byte: number): Uint32Array {
  const state = new Uint32Array(8);
  W.fill(byte * 0x01010101);
  compress(state, SHA256_IV);
  return state;
}
const ZERO_KEY_INNER = padState(0x36);
const ZERO_KEY_OUTER = padState(0x5c);
const prk = new Uint32Array(8);
const inner = new Uint32Array(8);
const keyed = new Uint32Array(8);
const out32 = new Uint32Array(8);

/** W[0..15] = `words` (a 32-byte hash, or none) then SHA-256 padding, for a message of 64 + `tailBytes` bytes. */
function hashBlock(words: Uint32Array): void {
  for (let i = 0; i < 8; i++) W[i] = words[i] as number;
  W[8] = 0x80000000;
  W.fill(0, 9, 15);
  W[15] = (64 + 32) * 8;
}

/** The last block of HMAC's inner hash over `info ‖ 0x01`, made once per info. */
const infoBlocks = new WeakMap<Uint8Array, Uint32Array>();
function infoBlock(info: Uint8Array): Uint32Array {
  let block = infoBlocks.get(info);
  if (block === undefined) {
    if (info.length > 50) throw new RangeError(`info: expected at most 50 bytes, got ${info.length}`);
    const bytes = new Uint8Array(64);
    bytes.set(info);
    bytes[info.length] = 1;
    bytes[info.length + 1] = 0x80;
    new DataView(bytes.buffer).setUint32(60, (64 + info.length + 1) * 8, false);
    block = new Uint32Array(16);
    for (let i = 0; i < 16; i++) block[i] = new DataView(bytes.buffer).getUint32(4 * i, false);
    infoBlocks.set(info, block);
  }
  return block;
}

/**
 * HKDF-SHA256(tek, salt none, info, 16) into `out`: the same bytes as `deriveRpik`/`deriveAemk` for the info
 * "EN-RPIK"/"EN-AEMK", without a native call or an allocation (pass the same `info` array each time: its block is
 * cached by identity). `tek` is 16 bytes and `info` at most 50; the caller checks.
 */
export function deriveEnKeyInto(tek: Uint8Array, info: Uint8Array, out: Uint8Array): Uint8Array {
  // PRK = HMAC(zeros(32), tek): the zero key's pad states are fixed, so two compressions.
  for (let i = 0; i < 4; i++)
    W[i] =
      ((tek[4 * i] as number) << 24) | ((tek[4 * i + 1] as number) << 16) | ((tek[4 * i + 2] as number) << 8) | (tek[4 * i + 3] as number);
  W[4] = 0x80000000;
  W.fill(0, 5, 15);
  W[15] = (64 + 16) * 8;
  compress(inner, ZERO_KEY_INNER);
  hashBlock(inner);
  compress(prk, ZERO_KEY_OUTER);
  // T(1) = HMAC(PRK, info ‖ 0x01): four compressions.
  for (let i = 0; i < 16; i++) W[i] = (i < 8 ? (prk[i] as number) : 0) ^ 0x36363636;
  compress(keyed, SHA256_IV);
  W.set(infoBlock(info));
  compress(inner, keyed);
  for (let i = 0; i < 16; i++) W[i] = (i < 8 ? (prk[i] as number) : 0) ^ 0x5c5c5c5c;
  compress(keyed, SHA256_IV);
  hashBlock(inner);
  compress(out32, keyed);
  for (let i = 0; i < 4; i++) {
    const w = out32[i] as number;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = (w >>> 16) & 0xff;
    out[4 * i + 2] = (w >>> 8) & 0xff;
    out[4 * i + 3] = w & 0xff;
  }
  return out;
}

/** PaddedData_j for `count` consecutive intervals from `firstEnin`: "EN-RPI" ‖ 6 zero bytes ‖ ENIN_j (uint32 LE). */
function paddedData(firstEnin: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 16);
  const view = new DataView(out.buffer);
  for (let j = 0; j < count; j++) {
    out.set(RPI_PREFIX, j * 16);
    view.setUint32(j * 16 + 12, (firstEnin + j) >>> 0, true);
  }
  return out;
}

/** RPI_j = AES-128(RPIK, "EN-RPI" ‖ 0x000000000000 ‖ ENIN_j as uint32 little-endian). */
export function rollingProximityIdentifier(rpik: Uint8Array, enin: number): Uint8Array {
  checkBytes("rpik", rpik, KEY_BYTES);
  checkInteger("enin", enin, 0, UINT32_MAX);
  return aes128EcbBlocks(rpik, paddedData(enin, 1));
}

/** AEM = AES-128-CTR(AEMK, iv = RPI, metadata). CTR: the same call decrypts. */
export function encryptMetadata(aemk: Uint8Array, rpi: Uint8Array, metadata: Uint8Array): Uint8Array {
  checkBytes("aemk", aemk, KEY_BYTES);
  checkBytes("rpi", rpi, KEY_BYTES);
  checkBytes("metadata", metadata, METADATA_BYTES);
  return aes128Ctr(aemk, rpi, metadata);
}

/** The metadata an AEM carries: AES-128-CTR(AEMK, iv = RPI, aem). */
export function decryptMetadata(aemk: Uint8Array, rpi: Uint8Array, aem: Uint8Array): Uint8Array {
  checkBytes("aemk", aemk, KEY_BYTES);
  checkBytes("rpi", rpi, KEY_BYTES);
  checkBytes("aem", aem, METADATA_BYTES);
  return aes128Ctr(aemk, rpi, aem);
}

/** GAEN v1.x metadata: byte 0 the version (0x40), byte 1 the transmit power (int8 dBm), bytes 2–3 reserved (0). */
export function encodeMetadata(m: { txPowerDbm: number }): Uint8Array {
  checkInteger("txPowerDbm", m?.txPowerDbm, -128, 127);
  return Uint8Array.of(METADATA_VERSION, m.txPowerDbm & 0xff, 0, 0);
}

/** Version byte and transmit power (int8 dBm) of decrypted metadata. Reserved bytes are ignored, as GAEN says. */
export function decodeMetadata(b: Uint8Array): { version: number; txPowerDbm: number } {
  checkBytes("metadata", b, METADATA_BYTES);
  return { version: b[0] as number, txPowerDbm: ((b[1] as number) << 24) >> 24 };
}

/** Checks a TEK's shape: 16 bytes, a uint32 start interval, a rolling period of 1..144. TypeError/RangeError. */
export function checkTemporaryExposureKey(tek: TemporaryExposureKey, field = "key"): void {
  if (typeof tek !== "object" || tek === null) throw new TypeError(`${field}: expected an object, got ${tek}`);
  checkBytes(`${field}.key`, tek.key, KEY_BYTES);
  checkInteger(`${field}.rollingStartIntervalNumber`, tek.rollingStartIntervalNumber, 0, UINT32_MAX);
  checkInteger(`${field}.rollingPeriod`, tek.rollingPeriod, 1, TEK_ROLLING_PERIOD);
}

/**
 * All `rollingPeriod` RPIs of a key (144 for a daily key), concatenated, 16 bytes each: RPI j is at j*16 and belongs
 * to interval rollingStartIntervalNumber + j. The hot path of matching: one HKDF and one AES call over all blocks.
 */
export function expandKey(tek: TemporaryExposureKey): Uint8Array {
  checkTemporaryExposureKey(tek);
  return aes128EcbBlocks(deriveRpik(tek.key), paddedData(tek.rollingStartIntervalNumber, tek.rollingPeriod));
}

/** The root every daily key of a vault comes from: HKDF-SHA256(rootSeed, salt none, "mosaic/exposure/tek-root/v1", 32). */
export function exposureRootFromSeed(rootSeed: Uint8Array): Uint8Array {
  if (!(rootSeed instanceof Uint8Array)) throw new TypeError(`rootSeed: expected a Uint8Array, got ${typeof rootSeed}`);
  if (rootSeed.length < 16) throw new RangeError(`rootSeed: expected at least 16 bytes, got ${rootSeed.length}`);
  return hkdfSha256(rootSeed, ROOT_INFO, 32);
}

/**
 * The TEK of unix day `unixDay`: HKDF-SHA256(root, salt none, "mosaic/exposure/tek/v1" ‖ u32be(day), 16), valid
 * for the day's 144 intervals. Deterministic so recovery restores it; refusing days older than 14 is the caller's
 * job (`checkKeyAge`).
 */
export function dailyKey(root: Uint8Array, unixDay: number): TemporaryExposureKey {
  checkBytes("root", root, 32);
  checkInteger("unixDay", unixDay, 0, Math.floor(UINT32_MAX / TEK_ROLLING_PERIOD));
  const info = new Uint8Array(TEK_INFO.length + 4);
  info.set(TEK_INFO);
  new DataView(info.buffer).setUint32(TEK_INFO.length, unixDay, false);
  return {
    key: hkdfSha256(root, info, KEY_BYTES),
    rollingStartIntervalNumber: unixDay * TEK_ROLLING_PERIOD,
    rollingPeriod: TEK_ROLLING_PERIOD,
  };
}

/** KeyExpiredError when `unixDay` is more than 14 days before `now`'s day: such a key is deleted and never handed out. */
export function checkKeyAge(unixDay: number, now: number): void {
  checkInteger("unixDay", unixDay, 0, UINT32_MAX);
  const today = unixDayOf(now);
  if (unixDay < today - KEY_RETENTION_DAYS)
    throw new KeyExpiredError(
      `the key of day ${unixDay} is ${today - unixDay} days old; keys are kept ${KEY_RETENTION_DAYS} days, so it is gone`,
    );
}

// advertisementAt is called every interval by a device and for every simulated sighting: keep the last few days'
// derived keys rather than run two HKDFs per call. Keyed by the root's bytes and the day; bounded.
const dayKeysCache = new Map<string, { rpik: Uint8Array; aemk: Uint8Array }>();
const DAY_KEYS_CACHE_SIZE = 256;

function dayKeys(root: Uint8Array, unixDay: number): { rpik: Uint8Array; aemk: Uint8Array } {
  let id = `${unixDay}:`;
  for (const b of root) id += String.fromCharCode(b);
  let keys = dayKeysCache.get(id);
  if (keys === undefined) {
    const tek = dailyKey(root, unixDay).key;
    keys = { rpik: deriveRpik(tek), aemk: deriveAemk(tek) };
    if (dayKeysCache.size >= DAY_KEYS_CACHE_SIZE) dayKeysCache.delete(dayKeysCache.keys().next().value as string);
    dayKeysCache.set(id, keys);
  }
  return keys;
}

/** What a device with this root advertises at `unixSeconds`: that interval's RPI and AEM (metadata with tx power). */
export function advertisementAt(root: Uint8Array, unixSeconds: number, txPowerDbm: number): Advertisement {
  checkBytes("root", root, 32);
  const enin = enIntervalNumber(unixSeconds);
  const metadata = encodeMetadata({ txPowerDbm });
  const { rpik, aemk } = dayKeys(root, Math.floor(enin / TEK_ROLLING_PERIOD));
  const rpi = rollingProximityIdentifier(rpik, enin);
  return { rpi, aem: aes128Ctr(aemk, rpi, metadata) };
}

/**
 * The keys of the `days` (default 14) days before `now`'s day, oldest first. Today's key is not uploaded: it is
 * still in use, and publishing it would let anyone follow the device for the rest of the day.
 */
export function keysToUpload(root: Uint8Array, now: number, days: number = KEY_RETENTION_DAYS): TemporaryExposureKey[] {
  checkBytes("root", root, 32);
  checkInteger("days", days, 1, KEY_RETENTION_DAYS);
  const today = unixDayOf(now);
  const keys: TemporaryExposureKey[] = [];
  for (let day = today - days; day < today; day++) if (day >= 0) keys.push(dailyKey(root, day));
  return keys;
}
