// Shared fixtures for the thread tests: in-memory stores, a device of a test vault, and a capture of all state.
import * as dagCbor from "@ipld/dag-cbor";
import { MemoryBlockstore } from "blockstore-core";
import { MemoryDatastore } from "datastore-core";
import * as raw from "multiformats/codecs/raw";
import type { CID } from "multiformats/cid";
import {
  blockOf,
  deriveThreadSecrets,
  seal,
  type SigningKey,
  Thread,
  type ThreadInit,
  type ThreadStores,
  type ThreadSecrets,
} from "../src/index.js";

export const SEED = new Uint8Array(32).fill(42);

export function memoryStores(): ThreadStores & { blockstore: MemoryBlockstore; datastore: MemoryDatastore } {
  return { blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore() };
}

export function device(name: string, seed: Uint8Array = SEED): ThreadSecrets {
  return deriveThreadSecrets(seed, "vault", name);
}

export async function openMemoryThread(name: string, init: Partial<ThreadInit> = {}) {
  const stores = memoryStores();
  const thread = await Thread.open(stores, { secrets: device(name), ...init });
  return { stores, thread };
}

/** Every key and value a thread's stores hold, in a form deep-equal can compare. */
export async function captureState(stores: { blockstore: MemoryBlockstore; datastore: MemoryDatastore }): Promise<string[]> {
  const out: string[] = [];
  for await (const { key, value } of stores.datastore.query({})) out.push(`d ${key} ${Buffer.from(value).toString("hex")}`);
  for await (const { cid, bytes } of stores.blockstore.getAll()) {
    const chunks: Uint8Array[] = [];
    for await (const c of bytes) chunks.push(c);
    out.push(`b ${cid} ${Buffer.concat(chunks).toString("hex")}`);
  }
  return out.sort();
}

/** A record sealed with `serviceKey` whose fields the test chooses freely. */
export function forgeRecord(
  secrets: ThreadSecrets,
  fields: { block: CID; sig: Uint8Array; pubKey: Uint8Array; prev: CID | null },
  serviceKey = secrets.key.service,
) {
  return blockOf(raw.code, seal(serviceKey, dagCbor.encode(fields), secrets.id.bytes));
}

export type { SigningKey };
