// On-disk stores for a device: one LevelDB holding the blockstore (the one its Helia node serves) and the datastore.
import { mkdir } from "node:fs/promises";
import { Level } from "level";
import { type DiskStores, storesOver } from "./level-stores.js";

export type { DiskStores } from "./level-stores.js";

/**
 * Opens the device's LevelDB at `dir`, creating it if needed, and the stores over it (storesOver). LevelDB appends a
 * batch to its log before the call resolves, so a record acknowledged before the process dies is there on reopen.
 */
export async function openDiskStores(dir: string): Promise<DiskStores> {
  await mkdir(dir, { recursive: true });
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
  // Sealed blocks do not compress; off, as go-ipfs has it, so what is on disk is exactly what was written.
  await db.open({ compression: false });
  return storesOver(db);
}
