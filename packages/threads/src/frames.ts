// The record stream both a pull and an archive carry: an offer of logs, frames of records, then done.
// A pull response and an exported archive are the same frames, so one reader verifies both.
import * as dagCbor from "@ipld/dag-cbor";
import { toBareHex } from "@mosaic/protocol";
import { ProtocolError, PullRefusedError } from "./errors.js";
import type { RecordEnvelope, ThreadLog } from "./log.js";

/** Largest frame in a pull stream or archive. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

interface LogOffer {
  pubKey: Uint8Array;
  cert: Uint8Array;
  from: number;
  to: number;
}

/** Decodes one frame: a dag-cbor map, or a named error. */
export function decodeFrame(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    throw new ProtocolError(`frame is not dag-cbor: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ProtocolError("frame is not a map");
  return value as Record<string, unknown>;
}

/**
 * The frames that carry every record of `log` past `have` (sequence numbers by log ID): one {logs} offer,
 * {records} frames of at most `batchSize` records, then {done}.
 */
export async function* offerFrames(log: ThreadLog, have: Record<string, unknown>, batchSize = 512): AsyncGenerator<Uint8Array> {
  const offers = log
    .logs()
    .map((l) => ({ l, from: Number.isSafeInteger(have[l.id]) ? Math.max(0, have[l.id] as number) : 0 }))
    .filter(({ l, from }) => l.seq > from);
  yield dagCbor.encode({ logs: offers.map(({ l, from }) => ({ pubKey: l.publicKey, cert: l.cert, from, to: l.seq })) });
  for (const { l, from } of offers) {
    let rows: [Uint8Array, Uint8Array, Uint8Array][] = [];
    let bytes = 0;
    for (let start = from + 1; start <= l.seq; start += batchSize) {
      for (const { envelope } of await log.readRange(l.id, start, Math.min(l.seq, start + batchSize - 1))) {
        rows.push([l.publicKey, envelope.record, envelope.event]);
        bytes += envelope.record.length + envelope.event.length + 48;
        if (rows.length >= batchSize || bytes > MAX_FRAME_BYTES / 2) {
          yield dagCbor.encode({ records: rows });
          rows = [];
          bytes = 0;
        }
      }
    }
    if (rows.length > 0) yield dagCbor.encode({ records: rows });
  }
  yield dagCbor.encode({ done: true });
}

/**
 * Reads an offer and its record frames into `log`, verifying every record. Resolves when {done} arrives;
 * throws the named error of the first bad frame or record (records before it stay committed).
 */
export async function ingestFrames(
  log: ThreadLog,
  frames: AsyncIterator<Uint8Array> | Iterator<Uint8Array>,
  options: { onProgress?: (received: number, offered: number) => void; onAdded?: (added: number, duplicates: number) => void } = {},
): Promise<{ added: number; duplicates: number; offered: number }> {
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await frames.next();
    if (r.done) throw new ProtocolError("record stream ended before {done}");
    return decodeFrame(r.value);
  };
  const offer = await next();
  if (typeof offer.error === "string") throw new PullRefusedError(`the peer refused: ${offer.error}`);
  const logs = offer.logs as LogOffer[] | undefined;
  if (!Array.isArray(logs)) throw new ProtocolError("record stream: expected {logs: [...]} first");
  const certs = new Map<string, Uint8Array>();
  let offered = 0;
  for (const l of logs) {
    if (
      !(l?.pubKey instanceof Uint8Array) ||
      !(l.cert instanceof Uint8Array) ||
      !Number.isSafeInteger(l.from) ||
      !Number.isSafeInteger(l.to)
    ) {
      throw new ProtocolError("record stream: malformed log offer");
    }
    certs.set(toBareHex(l.pubKey), l.cert);
    offered += Math.max(0, l.to - l.from);
  }
  options.onProgress?.(0, offered);
  let added = 0;
  let duplicates = 0;
  for (;;) {
    const frame = await next();
    if (frame.done === true) break;
    const rows = frame.records as unknown[] | undefined;
    if (!Array.isArray(rows) || rows.length > 4096)
      throw new ProtocolError("record stream: expected {records: [[pubKey, record, event], ...]} or {done: true}");
    const envelopes: RecordEnvelope[] = rows.map((row) => {
      if (!Array.isArray(row) || row.length !== 3 || !row.every((x) => x instanceof Uint8Array))
        throw new ProtocolError("record stream: malformed record row");
      const [pubKey, record, event] = row as [Uint8Array, Uint8Array, Uint8Array];
      return { record, event, cert: certs.get(toBareHex(pubKey)) };
    });
    const result = await log.ingest(envelopes);
    added += result.added.length;
    duplicates += result.duplicates;
    options.onAdded?.(result.added.length, result.duplicates);
    options.onProgress?.(added + duplicates, offered);
  }
  return { added, duplicates, offered };
}
