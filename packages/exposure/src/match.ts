// Matching published keys against a device's scans: expand each key to its RPIs, find them among the scans heard
// in the same interval (±1 for clock skew), decrypt the metadata for the sender's tx power, and group per key into
// exposure windows of at most 30 minutes.
import * as platformAes from "#aes";
import { checkTemporaryExposureKey, decodeMetadata, deriveEnKeyInto } from "./gaen.js";
import {
  type ExposureWindow,
  INTERVAL_S,
  KEY_BYTES,
  METADATA_BYTES,
  type PublishedKey,
  REPORT_TYPES,
  type ReportType,
  type ScanInstance,
  type ScanRecord,
  TEK_ROLLING_PERIOD,
} from "./types.js";

/** Longest exposure window (GAEN: 30 minutes). */
export const MAX_WINDOW_S = 30 * 60;
/** Intervals a scan's time may differ from the RPI's interval, for the two devices' clock skew. */
export const CLOCK_SKEW_INTERVALS = 1;
const DAY_S = 86_400;
const RPIK_INFO = new TextEncoder().encode("EN-RPIK");
const AEMK_INFO = new TextEncoder().encode("EN-AEMK");
const RPI_PREFIX = new TextEncoder().encode("EN-RPI");

/** The primitives matching runs on: the `#aes` adapter of the platform (node:crypto or @noble), or another. */
export interface AesAdapter {
  aes128EcbBlocks(key: Uint8Array, blocks: Uint8Array): Uint8Array;
  aes128Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  hkdfSha256(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

export interface MatchOptions {
  /** Only keys whose intervals overlap [from, to] (unix s) are expanded. @default every key */
  from?: number;
  /** @default every key */
  to?: number;
}

function fail(kind: "type" | "range", field: string, expected: string, got: unknown): never {
  const shown = typeof got === "number" || typeof got === "string" ? String(got) : typeof got;
  const message = `${field}: expected ${expected}, got ${shown}`;
  throw kind === "type" ? new TypeError(message) : new RangeError(message);
}

function checkInt(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number") fail("type", field, "a number", value);
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    fail("range", field, `an integer in [${min}, ${max}]`, value);
}

function checkBytes(field: string, value: unknown, length: number): void {
  if (!(value instanceof Uint8Array)) fail("type", field, "a Uint8Array", value);
  if ((value as Uint8Array).length !== length) fail("range", field, `${length} bytes`, `${(value as Uint8Array).length} bytes`);
}

/** Checks one scan the way matching needs it; TypeError/RangeError naming `scans[i].<field>`. */
export function checkScanRecord(scan: ScanRecord, field = "scan"): void {
  if (typeof scan !== "object" || scan === null) fail("type", field, "an object", scan);
  checkBytes(`${field}.rpi`, scan.rpi, KEY_BYTES);
  checkBytes(`${field}.aem`, scan.aem, METADATA_BYTES);
  checkInt(`${field}.t`, scan.t, 0, 2 ** 42);
  checkInt(`${field}.rssi`, scan.rssi, -127, 20);
  checkInt(`${field}.seconds`, scan.seconds, 1, MAX_WINDOW_S);
}

/** Checks one published key: a TEK's shape, a known report type, days since onset null or -14..14. */
export function checkPublishedKey(key: PublishedKey, field = "key"): void {
  checkTemporaryExposureKey(key, field);
  if (typeof key.reportType !== "string") fail("type", `${field}.reportType`, "a string", key.reportType);
  if (!REPORT_TYPES.includes(key.reportType as ReportType))
    fail("range", `${field}.reportType`, `one of ${REPORT_TYPES.join(", ")}`, key.reportType);
  if (key.daysSinceOnsetOfSymptoms !== null) checkInt(`${field}.daysSinceOnsetOfSymptoms`, key.daysSinceOnsetOfSymptoms, -14, 14);
}

/** Whether a Uint32Array reads bytes little-endian here (every common host; big-endian ones take the byte path). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The first 4 bytes of an RPI at `o` as a little-endian uint32. */
const prefixOf = (r: Uint8Array, o: number): number =>
  ((r[o] as number) | ((r[o + 1] as number) << 8) | ((r[o + 2] as number) << 16) | ((r[o + 3] as number) << 24)) >>> 0;

/** The scans by the first 32 bits of their RPI, with a 2^24-bit filter in front so most misses cost one load. */
class ScanIndex {
  readonly filter = new Uint32Array(1 << 19);
  readonly byPrefix = new Map<number, number[]>();
  minInterval = Number.POSITIVE_INFINITY;
  maxInterval = Number.NEGATIVE_INFINITY;

  constructor(scans: readonly ScanRecord[]) {
    scans.forEach((scan, i) => {
      const r = scan.rpi;
      const prefix = prefixOf(r, 0);
      this.filter[prefix >>> 13] = (this.filter[prefix >>> 13] as number) | (1 << ((prefix >>> 8) & 31));
      const list = this.byPrefix.get(prefix);
      if (list === undefined) this.byPrefix.set(prefix, [i]);
      else list.push(i);
      const interval = Math.floor(scan.t / INTERVAL_S);
      if (interval < this.minInterval) this.minInterval = interval;
      if (interval > this.maxInterval) this.maxInterval = interval;
    });
  }
}

/**
 * The transmit powers a sighting's metadata may carry, dBm: phones advertise between about -30 and +10 (GAEN's
 * calibration table); a value outside was altered in flight and the sighting is dropped. A relay can still replay an
 * advertisement louder, as it can against GAEN; this only stops a flipped byte from claiming 0 dB.
 */
export const TX_POWER_RANGE_DBM = [-40, 20] as const;

/** One key's sightings while matching: the key and the indices of the scans its RPIs matched. */
interface KeyMatch {
  key: PublishedKey;
  /** Orders duplicate published keys the same whatever order they came in. */
  rank: string;
  scans: number[];
}

/**
 * The order duplicates of one published key are chosen in, most severe first, whatever order they came in: a copy
 * of a key re-uploaded with a harmless report type or a day far from onset must not hide the real one. Report types
 * by REPORT_TYPES' order (a confirmed test first), then days nearest onset (unknown last), then the bytes.
 */
const keyRank = (k: PublishedKey): string => {
  let s = "";
  for (const b of k.key) s += b.toString(16).padStart(2, "0");
  const onset = k.daysSinceOnsetOfSymptoms === null ? 99 : Math.abs(k.daysSinceOnsetOfSymptoms);
  return `${REPORT_TYPES.indexOf(k.reportType)}|${String(onset).padStart(2, "0")}|${s}|${k.rollingStartIntervalNumber}|${k.rollingPeriod}|${k.daysSinceOnsetOfSymptoms}`;
};

/**
 * Every scan whose RPI one of the keys produced in the interval the scan was heard (±1 interval of clock skew),
 * its AEM decrypted to the sender's tx power, grouped per key into ExposureWindows of at most 30 minutes that never
 * cross midnight (UTC). Windows come sorted by start. Scans whose metadata does not decrypt to a GAEN 1.x version
 * (top bits 01), or to a tx power outside TX_POWER_RANGE_DBM, are dropped: their AEM was altered.
 *
 * Every scan and every key is checked (TypeError/RangeError naming `scans[i].<field>` or `keys[i].<field>`); one bad
 * one throws and nothing is returned. A scan matched by the same key published twice counts once.
 */
export function matchKeys(keys: Iterable<PublishedKey>, scans: readonly ScanRecord[], options: MatchOptions = {}): ExposureWindow[] {
  return matchKeysWith(platformAes, keys, scans, options);
}

/** `matchKeys` on the given AES and HKDF (benchmarks compare node:crypto with @noble this way). */
export function matchKeysWith(
  aes: AesAdapter,
  keys: Iterable<PublishedKey>,
  scans: readonly ScanRecord[],
  options: MatchOptions = {},
): ExposureWindow[] {
  if (!Array.isArray(scans)) fail("type", "scans", "an array", scans);
  scans.forEach((scan, i) => {
    checkScanRecord(scan, `scans[${i}]`);
  });
  const from = options.from ?? 0;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  if (typeof from !== "number" || Number.isNaN(from)) fail("type", "options.from", "unix seconds", from);
  if (typeof to !== "number" || Number.isNaN(to)) fail("type", "options.to", "unix seconds", to);
  if (keys === null || typeof (keys as Iterable<PublishedKey>)[Symbol.iterator] !== "function")
    fail("type", "keys", "an iterable of keys", keys);

  const index = new ScanIndex(scans);
  const { filter, byPrefix } = index;
  const padded = new Uint8Array(TEK_ROLLING_PERIOD * 16);
  for (let j = 0; j < TEK_ROLLING_PERIOD; j++) padded.set(RPI_PREFIX, j * 16);
  const paddedView = new DataView(padded.buffer);
  const rpik = new Uint8Array(KEY_BYTES);
  /** Per scan, the key that matched it (the lowest rank, should the same key come twice). */
  const matchOf = new Map<number, KeyMatch>();

  let k = 0;
  for (const key of keys) {
    checkPublishedKey(key, `keys[${k++}]`);
    const first = key.rollingStartIntervalNumber;
    const period = key.rollingPeriod;
    if (scans.length === 0) continue;
    // A key is worth expanding only if some scan lies within its intervals ± skew, and it overlaps [from, to].
    if (first + period - 1 + CLOCK_SKEW_INTERVALS < index.minInterval || first - CLOCK_SKEW_INTERVALS > index.maxInterval) continue;
    if ((first + period) * INTERVAL_S <= from || first * INTERVAL_S > to) continue;

    for (let j = 0; j < period; j++) paddedView.setUint32(j * 16 + 12, (first + j) >>> 0, true);
    // RPIK in pure JS (a native HKDF call costs more in overhead than the hashing), the 144 RPIs in one AES call.
    const rpis = aes.aes128EcbBlocks(
      deriveEnKeyInto(key.key, RPIK_INFO, rpik),
      period === TEK_ROLLING_PERIOD ? padded : padded.subarray(0, period * 16),
    );
    // The RPIs' first words as little-endian uint32s, read in place when the output is 4-byte aligned (it is from
    // both adapters).
    const words = LITTLE_ENDIAN && rpis.byteOffset % 4 === 0 ? new Uint32Array(rpis.buffer, rpis.byteOffset, period * 4) : undefined;
    for (let j = 0, o = 0; j < period; j++, o += 16) {
      const prefix = words !== undefined ? (words[o >> 2] as number) : prefixOf(rpis, o);
      if (((filter[prefix >>> 13] as number) & (1 << ((prefix >>> 8) & 31))) === 0) continue;
      const candidates = byPrefix.get(prefix);
      if (candidates === undefined) continue;
      for (const s of candidates) {
        const scan = scans[s] as ScanRecord;
        if (Math.abs(Math.floor(scan.t / INTERVAL_S) - (first + j)) > CLOCK_SKEW_INTERVALS) continue;
        let same = true;
        for (let b = 4; b < 16; b++) if (scan.rpi[b] !== rpis[o + b]) same = false;
        if (!same) continue;
        const rank = keyRank(key);
        const previous = matchOf.get(s);
        if (previous === undefined || rank < previous.rank) matchOf.set(s, { key, rank, scans: [] });
      }
    }
  }
  return windowsOf(aes, matchOf, scans);
}

/** Groups matched scans per key into windows: sorted by time, a new window after 30 minutes or at midnight. */
function windowsOf(aes: AesAdapter, matchOf: Map<number, KeyMatch>, scans: readonly ScanRecord[]): ExposureWindow[] {
  const perKey = new Map<string, KeyMatch>();
  for (const [s, m] of matchOf) {
    const group = perKey.get(m.rank);
    if (group === undefined) perKey.set(m.rank, { key: m.key, rank: m.rank, scans: [s] });
    else group.scans.push(s);
  }
  const windows: { rank: string; window: ExposureWindow }[] = [];
  for (const group of perKey.values()) {
    const aemk = aes.hkdfSha256(group.key.key, AEMK_INFO, KEY_BYTES);
    const sightings: ScanInstance[] = [];
    for (const s of group.scans) {
      const scan = scans[s] as ScanRecord;
      const metadata = decodeMetadata(aes.aes128Ctr(aemk, scan.rpi, scan.aem));
      if ((metadata.version & 0xc0) !== 0x40) continue;
      // AES-CTR lets anyone relaying an advertisement flip the tx power: -128 dBm would make every sighting 0 dB.
      if (metadata.txPowerDbm < TX_POWER_RANGE_DBM[0] || metadata.txPowerDbm > TX_POWER_RANGE_DBM[1]) continue;
      sightings.push({ t: scan.t, attenuationDb: Math.max(0, metadata.txPowerDbm - scan.rssi), seconds: scan.seconds });
    }
    sightings.sort((a, b) => a.t - b.t || a.attenuationDb - b.attenuationDb || a.seconds - b.seconds);
    let current: ExposureWindow | undefined;
    for (const sighting of sightings) {
      const day = Math.floor(sighting.t / DAY_S);
      if (current === undefined || sighting.t - current.start >= MAX_WINDOW_S || day !== current.day) {
        current = {
          start: sighting.t,
          day,
          reportType: group.key.reportType,
          daysSinceOnsetOfSymptoms: group.key.daysSinceOnsetOfSymptoms,
          scans: [],
        };
        windows.push({ rank: group.rank, window: current });
      }
      current.scans.push(sighting);
    }
  }
  windows.sort((a, b) => a.window.start - b.window.start || (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  return windows.map((w) => w.window);
}
