// The cache store in Node: one file in the cache directory, replaced atomically.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "@mosaic/protocol";
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
      // A reader sees the old file or the new one, never half of one.
      await writeFileAtomic(file, bytes);
    },
  };
}
