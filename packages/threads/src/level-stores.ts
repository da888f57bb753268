// A device's stores over any abstract-level database (LevelDB in Node, IndexedDB in a browser): the blockstore its
// Helia node serves and the datastore, as two sublevels of one database so one batch can write both.
import type { AbstractLevel } from "abstract-level";
import { LevelBlockstore } from "blockstore-level";
import { LevelDatastore } from "datastore-level";
import type { Key } from "interface-datastore";
import { base32upper } from "multiformats/bases/base32";
import type { CID } from "multiformats/cid";
import type { Block } from "./record.js";

/** A device's opened stores; `close` closes the database (and releases LevelDB's lock). */
export interface DiskStores {
  blockstore: LevelBlockstore;
  datastore: LevelDatastore;
  /** Writes blocks and datastore entries in one atomic batch. */
  commit(blocks: readonly Block[], entries: readonly (readonly [Key, Uint8Array])[]): Promise<void>;
  /** Reads many blocks or entries in one database call. */
  getMany(kind: "blocks", keys: readonly CID[]): Promise<(Uint8Array | undefined)[]>;
  getMany(kind: "entries", keys: readonly Key[]): Promise<(Uint8Array | undefined)[]>;
  close(): Promise<void>;
}

/** A database with string keys and byte values, as `storesOver` takes, whatever its storage format (classic-level's, browser-level's). */
export type LevelDatabase = AbstractLevel<any, string, Uint8Array>;

// blockstore-level and datastore-level type their argument as level's Level; any abstract-level database serves.
type Level = ConstructorParameters<typeof LevelBlockstore>[0];

/**
 * The stores over `db`, opening it if it is not open yet (keys utf8, values Uint8Array). Blocks and datastore
 * entries are the sublevels "blocks" and "data", so that a record's blocks and the head that names them land in a
 * single atomic batch. `close` closes `db`.
 */
export async function storesOver(db: LevelDatabase): Promise<DiskStores> {
  await db.open();
  const blocksLevel = db.sublevel<string, Uint8Array>("blocks", { keyEncoding: "utf8", valueEncoding: "view" });
  const dataLevel = db.sublevel<string, Uint8Array>("data", { keyEncoding: "utf8", valueEncoding: "view" });
  const blockstore = new LevelBlockstore(blocksLevel as unknown as Level);
  const datastore = new LevelDatastore(dataLevel as unknown as Level);
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
