// Where a group sync keeps its cache file: the storage adapter, so the sync itself needs no file system.

/** One cache file's bytes, somewhere that outlives the process. */
export interface CacheStore {
  /** Where the bytes live (a file path in Node), for `GroupSync.cacheFile` and the logs. */
  readonly location: string;
  /** The stored bytes, or undefined when nothing was stored yet; throws when they cannot be read. */
  read(): Promise<Uint8Array | undefined>;
  /** Replaces the stored bytes; a reader sees the old bytes or the new, never a mix. */
  write(bytes: Uint8Array): Promise<void>;
}
