// Writing a file that must survive a crash: a reader, or the next start after a power cut, finds the old content or the new, never half.
import { randomBytes } from "node:crypto";
import { type FileHandle, link, open, rename, rm, stat } from "node:fs/promises";
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
  /** The new file's permissions (before the umask), e.g. 0o600 for a key. @default the replaced file's, else 0o666 */
  mode?: number;
  /** Refuse with FileExistsError, leaving it untouched, when the file exists, instead of replacing it. @default false */
  createOnly?: boolean;
}

/**
 * Writes `file` so that it holds either its old content or all of `content`, on disk before this resolves: into a
 * fresh temporary file in the same directory, fsync'd, then renamed over `file` (or, with `createOnly`, hard-linked
 * to it, which fails rather than replace an existing file), then the directory fsync'd so the new name is durable.
 * `content` may be a function that writes through the handle, for files written in pieces. The temporary file is
 * gone afterwards, whether the write succeeded or not. A replaced file keeps its permissions unless `mode` says
 * otherwise (a symlink at `file` is replaced by the file, not followed). On a filesystem without hard links (FAT,
 * some network mounts) a create-only write falls back to an exclusive create, written and fsync'd in place.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array | ((handle: FileHandle) => Promise<void>),
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const mode = options.mode ?? (options.createOnly ? undefined : await modeOf(file)) ?? 0o666;
  try {
    await writeSynced(tmp, content, mode);
    if (options.createOnly) {
      try {
        await link(tmp, file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw new FileExistsError(file);
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
        await writeSynced(file, content, mode);
      }
    } else {
      await rename(tmp, file);
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDirectory(path.dirname(file));
}

/** Creates `file` (failing with FileExistsError if it exists), writes `content` and fsyncs it. */
async function writeSynced(
  file: string,
  content: string | Uint8Array | ((handle: FileHandle) => Promise<void>),
  mode: number,
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file, "wx", mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new FileExistsError(file);
    throw err;
  }
  try {
    if (typeof content === "function") await content(handle);
    else await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The permission bits of the regular file at `file`, or undefined when there is none to keep. */
async function modeOf(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
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
