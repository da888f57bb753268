// On-disk stores for a device: one LevelDB holding the blockstore (the one its Helia node serves) and the datastore.
import { mkdir } from "node:fs/promises";
import { LevelBlockstore } from "blockstore-level";
import { LevelDatastore } from "datastore-level";
import type { Key } from "interface-datastore";
import { Level } from "level";
import { base32upper } from "multiformats/bases/base32";
import type { CID } from "multiformats/cid";
import type { Block } from "./record.js";

/** A device's opened stores; `close` releases the LevelDB lock. */
export interface DiskStores {
  blockstore: LevelBlockstore;
  datastore: LevelDatastore;
  /** Writes blocks and datastore entries in one atomic LevelDB batch. */
  commit(blocks: readonly Block[], entries: readonly (readonly [Key, Uint8Array])[]): Promise<void>;
  /** Reads many blocks or entries in one LevelDB call. */
  getMany(kind: "blocks", keys: readonly CID[]): Promise<(Uint8Array | undefined)[]>;
  getMany(kind: "entries", keys: readonly Key[]): Promise<(Uint8Array | undefined)[]>;
  close(): Promise<void>;
}

type Db = Level<string, Uint8Array>;

/**
 * Opens the device's LevelDB at `dir`, creating it if needed. Blocks and datastore entries are two sublevels of
 * one database so that a record's blocks and the head that names them land in a single atomic batch; LevelDB
 * appends the batch to its log before the call resolves, so a record acknowledged before the process dies is
 * there on reopen.
 */
export async function openDiskStores(dir: string): Promise<DiskStores> {
  await mkdir(dir, { recursive: true });
  const db: Db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
  // Sealed blocks do not compress; off, as go-ipfs has it, so what is on disk is exactly what was written.
  await db.open({ compression: false });
  const blocksLevel = db.sublevel<string, Uint8Array>("blocks", { keyEncoding: "utf8", valueEncoding: "view" });
  const dataLevel = db.sublevel<string, Uint8Array>("data", { keyEncoding: "utf8", valueEncoding: "view" });
  const blockstore = new LevelBlockstore(blocksLevel as unknown as Db);
  const datastore = new LevelDatastore(dataLevel as unknown as Db);
  await blockstore.open();
  await datastore.open();
  // The key LevelBlockstore gives a block: "/" + base32upper(multihash). The disk tests read them back through it.
  const blockKey = (cid: CID) => `/${base32upper.encoder.encode(cid.multihash.bytes)}`;
  return {
    blockstore,
    datastore,
    async getMany(kind: "blocks" | "entries", keys: readonly (CID | Key)[]) {
      return kind === "blocks"
        ? blocksLevel.getMany(keys.map((k) => blockKey(k as CID)))
        : dataLevel.getMany(keys.map((k) => (k as Key).toString()));
    },
    async commit(blocks, entries) {
      await db.batch([
        ...blocks.map((b) => ({ type: "put" as const, sublevel: blocksLevel, key: blockKey(b.cid), value: b.bytes })),
        ...entries.map(([key, value]) => ({ type: "put" as const, sublevel: dataLevel, key: key.toString(), value })),
      ]);
    },
    async close() {
      await db.close();
    },
  };
}
