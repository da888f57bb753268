// Shared test helpers.
import type { ThreadStores } from "@mosaic/threads";
import { MemoryBlockstore } from "blockstore-core";
import { expect } from "chai";
import { MemoryDatastore } from "datastore-core";

/** Awaits `promise`, asserting it rejects with an instance of `type` whose message matches `pattern`. */
export async function expectRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, pattern?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  if (pattern) expect((caught as Error).message).to.match(pattern);
  return caught as Error;
}

/** In-memory thread stores, for unit tests. */
export function memoryStores(): ThreadStores & { blockstore: MemoryBlockstore; datastore: MemoryDatastore } {
  return { blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore() };
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

/**
 * |actual − expected| ≤ delta. Not chai's closeTo: the Hardhat chai matchers the contract tests load replace it with
 * one that refuses non-integers, so it would fail only when the whole suite runs.
 */
export function expectNear(actual: number, expected: number, delta: number, message?: string): void {
  expect(Math.abs(actual - expected), message ?? `${actual} is not within ${delta} of ${expected}`).to.be.at.most(delta);
}
