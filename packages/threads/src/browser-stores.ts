// A device's stores in a browser: the same sublevels as on disk, in an IndexedDB database.
import { BrowserLevel } from "browser-level";
import { type DiskStores, storesOver } from "./level-stores.js";

/**
 * Opens (creating if needed) the IndexedDB database `name` and the stores over it (storesOver). One batch is one
 * IndexedDB transaction, so a record's blocks and its head still land together.
 */
export async function openBrowserStores(name: string): Promise<DiskStores> {
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`name: expected a database name, got ${JSON.stringify(name)}`);
  return storesOver(new BrowserLevel<string, Uint8Array>(name, { keyEncoding: "utf8", valueEncoding: "view" }));
}
