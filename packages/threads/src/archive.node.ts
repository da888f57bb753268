// Export and import of a thread as a file: the thread ID, then the same frames a pull carries. Ciphertext only.
import { type FileHandle, open } from "node:fs/promises";
import { equalBytes, writeFileAtomic } from "@mosaic/protocol";
import { ProtocolError } from "./errors.js";
import { ingestFrames, MAX_FRAME_BYTES, offerFrames } from "./frames.js";
import type { ThreadLog } from "./log.js";

const MAGIC = new TextEncoder().encode("MOSAIC-THREAD-ARCHIVE/1\n");

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/**
 * Writes every record of `log` to `file` (atomically and durably: writeFileAtomic). The archive holds sealed
 * records only: without the thread key it reveals nothing but sizes and counts.
 */
export async function exportThread(
  log: ThreadLog,
  file: string,
  options: { onProgress?: (written: number, total: number) => void } = {},
): Promise<number> {
  let written = 0;
  const total = log.size;
  await writeFileAtomic(
    file,
    async (fh) => {
      await fh.write(MAGIC);
      await fh.write(u32(log.id.bytes.length));
      await fh.write(log.id.bytes);
      for await (const frame of offerFrames(log, {})) {
        await fh.write(u32(frame.length));
        await fh.write(frame);
        written = Math.min(total, written + 512);
        options.onProgress?.(written, total);
      }
    },
    { mode: 0o600 },
  );
  options.onProgress?.(total, total);
  return total;
}

async function readExactly(fh: FileHandle, length: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const { bytesRead } = await fh.read(out, 0, length);
  if (bytesRead !== length) throw new ProtocolError(`archive truncated in ${what}`);
  return out;
}

/**
 * Reads an archive into `log`, verifying every record as if a peer had sent it; records already held are
 * skipped, so importing twice changes nothing. The archive must be of this thread.
 */
export async function importThread(
  log: ThreadLog,
  file: string,
  options: { onProgress?: (received: number, offered: number) => void } = {},
): Promise<{ added: number; duplicates: number; offered: number }> {
  const fh = await open(file, "r");
  try {
    const magic = await readExactly(fh, MAGIC.length, "header");
    if (!equalBytes(magic, MAGIC)) throw new ProtocolError(`${file} is not a Mosaic thread archive`);
    const idLength = new DataView((await readExactly(fh, 4, "header")).buffer).getUint32(0);
    if (idLength > 64) throw new ProtocolError("archive header: thread id too long");
    const id = await readExactly(fh, idLength, "header");
    if (!equalBytes(id, log.id.bytes)) throw new ProtocolError(`${file} is an archive of another thread, not ${log.id}`);
    const frames: AsyncIterator<Uint8Array> = {
      next: async () => {
        const length = new DataView((await readExactly(fh, 4, "a frame length")).buffer).getUint32(0);
        if (length > MAX_FRAME_BYTES) throw new ProtocolError(`archive frame of ${length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
        return { value: await readExactly(fh, length, "a frame"), done: false };
      },
    };
    return await ingestFrames(log, frames, options);
  } finally {
    await fh.close();
  }
}
