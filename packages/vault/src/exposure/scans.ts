// Scans heard by the radio, stored in the proximity ability (14 days) and read back for matching.
import type { RadioAdapter, ScanRecord } from "@mosaic/exposure";
import { toBareHex } from "@mosaic/protocol";
import { hexToBytes } from "@noble/hashes/utils";
import { PROXIMITY, type ScanDoc, validateScan } from "../abilities/proximity.js";
import type { Vault } from "../vault.js";
import { MalformedScanError } from "./errors.js";

function scanDoc(scan: ScanRecord, i: number): Omit<ScanDoc, "_id"> {
  if (scan === null || typeof scan !== "object") throw new MalformedScanError(`scans[${i}]: expected a scan record`);
  if (!(scan.rpi instanceof Uint8Array) || scan.rpi.length !== 16)
    throw new MalformedScanError(
      `scans[${i}].rpi: expected 16 bytes, got ${scan.rpi instanceof Uint8Array ? scan.rpi.length : typeof scan.rpi}`,
    );
  if (!(scan.aem instanceof Uint8Array) || scan.aem.length !== 4)
    throw new MalformedScanError(
      `scans[${i}].aem: expected 4 bytes, got ${scan.aem instanceof Uint8Array ? scan.aem.length : typeof scan.aem}`,
    );
  const doc = { rpi: toBareHex(scan.rpi), aem: toBareHex(scan.aem), t: scan.t, rssi: scan.rssi, seconds: scan.seconds };
  try {
    validateScan(doc);
  } catch (err) {
    throw new MalformedScanError((err as Error).message.replace(/^scans\./, `scans[${i}].`));
  }
  return doc;
}

/** A scan's id: the same advertisement heard at the same second is stored once. */
function scanId(doc: Omit<ScanDoc, "_id">): string {
  return `${doc.t}-${doc.rpi}`;
}

/**
 * Stores scans in the proximity ability, all or none: a malformed one (MalformedScanError naming it and the field)
 * stores nothing. A scan already stored is skipped. Returns how many were new.
 */
export async function recordScans(vault: Vault, scans: readonly ScanRecord[]): Promise<{ stored: number }> {
  const docs = scans.map(scanDoc);
  const collection = vault.ability(PROXIMITY).collection<ScanDoc>("scans");
  let stored = 0;
  for (const doc of docs) {
    const _id = scanId(doc);
    if (collection.get(_id) !== undefined) continue;
    await collection.create({ ...doc, _id });
    stored++;
  }
  return { stored };
}

/**
 * Stores every scan the radio hears, as it hears it; returns the function that stops listening. A malformed scan
 * is dropped and given to `onError` (@default ignored).
 */
export function recordScansFrom(
  vault: Vault,
  radio: Pick<RadioAdapter, "onScan">,
  options: { onError?: (err: Error) => void } = {},
): () => void {
  let queue = Promise.resolve();
  return radio.onScan((scan) => {
    queue = queue.then(() =>
      recordScans(vault, [scan]).then(
        () => undefined,
        (err: Error) => options.onError?.(err),
      ),
    );
  });
}

/** The stored scans heard in [from, to) (unix s), oldest first, as ScanRecords for matching. */
export function storedScans(vault: Vault, range: { from?: number; to?: number } = {}): ScanRecord[] {
  const where = { t: { gte: range.from ?? 0, ...(range.to === undefined ? {} : { lt: range.to }) } };
  return vault
    .ability(PROXIMITY)
    .read<ScanDoc>("scans")
    .find({ where, orderBy: "t" })
    .map((d) => ({ rpi: hexToBytes(d.rpi), aem: hexToBytes(d.aem), t: d.t, rssi: d.rssi, seconds: d.seconds }));
}
