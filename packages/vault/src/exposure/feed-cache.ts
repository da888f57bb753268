// Published keys as the proximity ability's `feeds` collection stores them: 23 bytes each, a batch in parts.
import { KEY_BYTES, type PublishedKey, REPORT_TYPES } from "@mosaic/exposure";
import { FEED_KEY_BYTES } from "../abilities/proximity.js";

const UNKNOWN_ONSET = -128;

/** key 16 ‖ rollingStartIntervalNumber u32be ‖ rollingPeriod u8 ‖ report type index u8 ‖ days since onset i8 (-128: unknown). */
export function encodeFeedKeys(keys: readonly PublishedKey[]): Uint8Array {
  const out = new Uint8Array(keys.length * FEED_KEY_BYTES);
  const view = new DataView(out.buffer);
  keys.forEach((k, i) => {
    const at = i * FEED_KEY_BYTES;
    out.set(k.key, at);
    view.setUint32(at + KEY_BYTES, k.rollingStartIntervalNumber, false);
    view.setUint8(at + 20, k.rollingPeriod);
    view.setUint8(at + 21, REPORT_TYPES.indexOf(k.reportType));
    view.setInt8(at + 22, k.daysSinceOnsetOfSymptoms ?? UNKNOWN_ONSET);
  });
  return out;
}

/** encodeFeedKeys' inverse. */
export function decodeFeedKeys(bytes: Uint8Array): PublishedKey[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keys: PublishedKey[] = [];
  for (let at = 0; at + FEED_KEY_BYTES <= bytes.length; at += FEED_KEY_BYTES) {
    const onset = view.getInt8(at + 22);
    const reportType = REPORT_TYPES[view.getUint8(at + 21)];
    if (reportType === undefined) throw new TypeError(`feeds.keys[${at / FEED_KEY_BYTES}]: unknown report type ${view.getUint8(at + 21)}`);
    keys.push({
      key: bytes.slice(at, at + KEY_BYTES),
      rollingStartIntervalNumber: view.getUint32(at + KEY_BYTES, false),
      rollingPeriod: view.getUint8(at + 20),
      reportType,
      daysSinceOnsetOfSymptoms: onset === UNKNOWN_ONSET ? null : onset,
    });
  }
  return keys;
}
