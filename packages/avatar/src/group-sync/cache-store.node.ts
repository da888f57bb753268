// The cache store in Node: one file in the cache directory, replaced atomically.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { CacheStore } from "./cache-store.js";

/** The file `name` in directory `dir`; the directory is created on the first write. */
export function openCacheStore(dir: string, name: string): CacheStore {
  const file = path.join(dir, name);
  return {
    location: file,
    async read() {
      try {
        return await readFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async write(bytes) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, bytes);
    },
  };
}

async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // A reader sees the old file or the new one, never half of one.
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
