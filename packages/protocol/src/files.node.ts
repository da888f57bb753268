// Writing a file that must survive a crash: a reader, or the next start after a power cut, finds the old content or the new, never half.
import { randomBytes } from "node:crypto";
import { type FileHandle, link, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { namedError } from "./errors.js";

/** A create-only write found the file already there; it was left as it was. */
export class FileExistsError extends namedError("FileExistsError") {
  constructor(readonly file: string) {
    super(`${file} already exists`);
  }
}

/** How writeFileAtomic creates the file. */
export interface WriteFileAtomicOptions {
  /** The new file's permissions (before the umask), e.g. 0o600 for a key. @default 0o666 */
  mode?: number;
  /** Refuse with FileExistsError, leaving it untouched, when the file exists, instead of replacing it. @default false */
  createOnly?: boolean;
}

/**
 * Writes `file` so that it holds either its old content or all of `content`, on disk before this resolves: into a
 * fresh temporary file in the same directory, fsync'd, then renamed over `file` (or, with `createOnly`, hard-linked
 * to it, which fails rather than replace an existing file), then the directory fsync'd so the new name is durable.
 * `content` may be a function that writes through the handle, for files written in pieces. The temporary file is
 * gone afterwards, whether the write succeeded or not.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array | ((handle: FileHandle) => Promise<void>),
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx", options.mode ?? 0o666);
    try {
      if (typeof content === "function") await content(handle);
      else await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.createOnly) {
      try {
        await link(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new FileExistsError(file);
        throw err;
      }
    } else {
      await rename(tmp, file);
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDirectory(path.dirname(file));
}

/** Makes a directory's entries (a rename, a new link) durable. Windows cannot open a directory, and needs no such step. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
