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
