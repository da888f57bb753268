// Shared fixtures for the thread tests: a device of a test vault, in-memory threads, and forged records.
import * as dagCbor from "@ipld/dag-cbor";
import * as raw from "multiformats/codecs/raw";
import type { CID } from "multiformats/cid";
import { deriveThreadSecrets, Thread, type ThreadInit, type ThreadSecrets } from "../src/index.js";
import { seal, type SigningKey } from "../src/crypto.js";
import { blockOf } from "../src/record.js";

import { memoryStores } from "../../../test/helpers.js";

export { captureState, memoryStores } from "../../../test/helpers.js";

export const SEED = new Uint8Array(32).fill(42);

export function device(name: string, seed: Uint8Array = SEED): ThreadSecrets {
  return deriveThreadSecrets(seed, "vault", name);
}

export async function openMemoryThread(name: string, init: Partial<ThreadInit> = {}) {
  const stores = memoryStores();
  const thread = await Thread.open(stores, { secrets: device(name), ...init });
  return { stores, thread };
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
