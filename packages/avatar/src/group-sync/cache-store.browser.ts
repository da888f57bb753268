// The cache store in the browser: there is no cache directory there, so a group is kept in memory only.
import type { CacheStore } from "./cache-store.js";

/** Refuses a cache directory, which needs Node's file system. */
export function openCacheStore(dir: string, _name: string): CacheStore {
  throw new TypeError(
    `init.cacheDir: ${JSON.stringify(dir)} is a directory, and the browser has no file system; leave cacheDir out to keep the group in memory`,
  );
}
