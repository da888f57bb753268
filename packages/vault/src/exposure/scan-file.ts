// A scan file into the vault: JSON lines of ScanRecords with their bytes as hex (`{"rpi", "aem", "t", "rssi",
// "seconds"}`, what a radio adapter or the simulator writes), for the CLI's `exposure scan import` and the app's
// Exposure tab alike, each line accepted or rejected with its named error.
import type { ScanRecord } from "@mosaic/exposure";
import type { Vault } from "../vault.js";
import { MalformedScanError } from "./errors.js";
import { recordScans } from "./scans.js";

/** The most lines read from one file: 14 days of a busy phone's scans, with room. */
export const MAX_SCAN_LINES = 200_000;
/** Lines stored per write: a batch with a malformed scan stores nothing, and is then stored line by line. */
const CHUNK = 500;

export interface ScanImport {
  /** Scans newly stored. */
  accepted: number;
  /** Well-formed scans already in the vault. */
  duplicates: number;
  /** Lines refused, 1-based, with the error naming the field. */
  rejected: { line: number; error: Error }[];
}

const hexBytes = (value: unknown, field: string, bytes: number, where: string): Uint8Array => {
  if (typeof value !== "string" || !new RegExp(`^(0x)?[0-9a-fA-F]{${2 * bytes}}$`).test(value))
    throw new MalformedScanError(
      `${where}: ${field}: expected ${bytes} bytes as ${2 * bytes} hex characters, got ${JSON.stringify(value)?.slice(0, 60)}`,
    );
  return Uint8Array.from(value.replace(/^0x/, "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));
};

/**
 * One line as a ScanRecord (the vault checks the numbers' ranges when storing); MalformedScanError otherwise, its
 * message starting with `where` (e.g. "line 3" or "scans.jsonl:3").
 */
export function parseScanLine(text: string, where: string): ScanRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MalformedScanError(`${where}: not JSON (${(err as Error).message}); write one scan record per line`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new MalformedScanError(`${where}: expected an object {"rpi", "aem", "t", "rssi", "seconds"}`);
  const v = value as Record<string, unknown>;
  return {
    rpi: hexBytes(v.rpi, "rpi", 16, where),
    aem: hexBytes(v.aem, "aem", 4, where),
    t: v.t as number,
    rssi: v.rssi as number,
    seconds: v.seconds as number,
  };
}

/**
 * Stores the file's scans; blank lines are skipped. Well-formed scans are stored even when other lines are not:
 * each refused line is listed with its error. RangeError for a file of more than MAX_SCAN_LINES lines (nothing stored).
 */
export async function importScanLines(
  vault: Vault,
  text: string,
  options: { onProgress?: (done: number, total: number) => void } = {},
): Promise<ScanImport> {
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_SCAN_LINES)
    throw new RangeError(
      `the file has ${lines.length} lines; at most ${MAX_SCAN_LINES} are imported at once: split it, then import each part`,
    );
  const out: ScanImport = { accepted: 0, duplicates: 0, rejected: [] };
  const parsed: { line: number; scan: ScanRecord }[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === "") return;
    try {
      parsed.push({ line: i + 1, scan: parseScanLine(text, `line ${i + 1}`) });
    } catch (err) {
      out.rejected.push({ line: i + 1, error: err as Error });
    }
  });
  const store = async (batch: { line: number; scan: ScanRecord }[]) => {
    const { stored } = await recordScans(
      vault,
      batch.map((b) => b.scan),
    );
    out.accepted += stored;
    out.duplicates += batch.length - stored;
  };
  for (let at = 0; at < parsed.length; at += CHUNK) {
    const batch = parsed.slice(at, at + CHUNK);
    try {
      await store(batch);
    } catch (err) {
      if ((err as Error).name !== "MalformedScanError") throw err;
      // The batch stored nothing: store its scans one at a time, naming each refused line.
      for (const one of batch)
        await store([one]).catch((e: Error) => {
          if (e.name !== "MalformedScanError") throw e;
          out.rejected.push({
            line: one.line,
            error: new MalformedScanError(`line ${one.line}: ${e.message.replace(/^scans\[0\]\./, "")}`),
          });
        });
    }
    options.onProgress?.(Math.min(at + CHUNK, parsed.length), parsed.length);
  }
  out.rejected.sort((a, b) => a.line - b.line);
  return out;
}
