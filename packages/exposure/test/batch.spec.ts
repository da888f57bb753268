// Key batches: any batch round-trips through its signed block; every hostile one — signed by someone else,
// unsigned, another kind of document replayed as a batch, a key where a number is expected, extra fields, too many
// keys or bytes, keys of days not yet over, duplicates, a broken prev link — is its named error, and nothing is
// returned.
import * as dagCbor from "@ipld/dag-cbor";
import { type CID, encodeBlock, specCidOf } from "@mosaic/protocol";
import { expect } from "chai";
import { Wallet } from "ethers";
import fc from "fast-check";
import { sha256 } from "multiformats/hashes/sha2";
import { checkKeyBatch, decodeKeyBatch, encodeKeyBatch, type KeyBatch, MAX_BATCH_KEYS, publishedKeyToWire } from "../src/batch.js";
import {
  ExposureDocumentTooLargeError,
  KeyOutsideWindowError,
  MalformedExposureDocumentError,
  UnsignedDocumentError,
  WrongSignerError,
} from "../src/errors.js";
import { MAX_DOCUMENT_BYTES, signDocument } from "../src/signed.js";
import { type PublishedKey, REPORT_TYPES } from "../src/types.js";

const authority = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const stranger = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const FEEDS = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const DAY = 86_400;
/** 2026-12-05, midnight UTC, as a unix day. */
const TODAY = 20_792;

function expectError(fn: () => unknown, Class: { name: string }, message?: RegExp): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(Class.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${Class.name}, got a result: ${String(returned)}`);
}

async function rejects(p: Promise<unknown>, Class: { name: string }): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect((err as Error)?.name, String((err as Error)?.message)).to.equal(Class.name);
}

/** A whole daily key of `day`: 16 bytes from `n`. */
function key(day: number, n: number, extra: Partial<PublishedKey> = {}): PublishedKey {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(0, n);
  bytes[15] = 0x5a;
  return {
    key: bytes,
    rollingStartIntervalNumber: day * 144,
    rollingPeriod: 144,
    reportType: "confirmed-test",
    daysSinceOnsetOfSymptoms: null,
    ...extra,
  };
}

const cidOf = async (seed: string) => (await encodeBlock({ seed })).cid.toString();

async function batch(overrides: Partial<KeyBatch> = {}): Promise<KeyBatch> {
  return {
    version: 1,
    chainId: 31337,
    feeds: FEEDS,
    feedId: "1",
    seq: 2,
    prev: await cidOf("batch 1"),
    createdAt: TODAY * DAY + 3600,
    uploads: [await cidOf("upload a"), await cidOf("upload b")],
    keys: [key(TODAY - 1, 1), key(TODAY - 2, 2, { daysSinceOnsetOfSymptoms: -2, reportType: "self-report" }), key(TODAY - 14, 3)],
    ...overrides,
  };
}

/** The block's map and its body, taken apart as an attacker would. */
const parts = (bytes: Uint8Array) => dagCbor.decode(bytes) as { kind: string; body: Record<string, unknown>; signature: Uint8Array };

const publishedKey = fc.record({
  key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  rollingStartIntervalNumber: fc.integer({ min: TODAY - 40, max: TODAY - 1 }).map((d) => d * 144),
  rollingPeriod: fc.constant(144),
  reportType: fc.constantFrom(...REPORT_TYPES),
  daysSinceOnsetOfSymptoms: fc.option(fc.integer({ min: -14, max: 14 }), { nil: null }),
});

const arbitraryBatch = fc
  .record({
    chainId: fc.integer({ min: 1, max: 2 ** 40 }),
    feedId: fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }).map(String),
    seq: fc.integer({ min: 1, max: 1_000_000 }),
    createdAt: fc.integer({ min: TODAY * DAY, max: TODAY * DAY + DAY - 1 }),
    keys: fc.uniqueArray(publishedKey, { minLength: 1, maxLength: 40, selector: (k) => Buffer.from(k.key).toString("hex") }),
    uploads: fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      maxLength: 5,
      selector: (b) => Buffer.from(b).toString("hex"),
    }),
    prevSeed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })
  .map(({ prevSeed, uploads, ...b }) => ({
    version: 1 as const,
    feeds: FEEDS,
    ...b,
    prev: b.seq === 1 ? null : cidFromDigest(prevSeed),
    uploads: uploads.map(cidFromDigest),
  }));

const cidFromDigest = (digest: Uint8Array): string => specCidOf(digest).toString();

describe("exposure key batches", () => {
  it("round-trips any batch through its signed block, and the CID names the bytes", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryBatch, async (b) => {
        const block = await encodeKeyBatch(b, authority);
        expect(decodeKeyBatch(block.bytes, authority.address)).to.deep.equal(b);
        expect(checkKeyBatch(b)).to.deep.equal(b);
        expect(block.cid.multihash.bytes).to.deep.equal((await sha256.digest(block.bytes)).bytes);
        // Deterministic: the same batch is the same block.
        expect((await encodeKeyBatch(b, authority)).cid.toString()).to.equal(block.cid.toString());
      }),
      { numRuns: 40, seed: 20 },
    );
  });

  it("links to the previous batch and its uploads by CID, and writes a key in 27 bytes", async () => {
    const b = await batch();
    const { body } = parts((await encodeKeyBatch(b, authority)).bytes);
    expect((body.prev as CID).toString()).to.equal(b.prev);
    expect((body.uploads as CID[]).map(String)).to.deep.equal(b.uploads);
    expect(body.keys).to.deep.equal(b.keys.map(publishedKeyToWire));
    expect(dagCbor.encode(publishedKeyToWire(b.keys[0] as PublishedKey)).length).to.be.at.most(27);
  });

  it("holds a full batch (MAX_BATCH_KEYS keys from as many uploads) under the byte cap", async () => {
    const keys = Array.from({ length: MAX_BATCH_KEYS }, (_, i) => key(TODAY - 1 - (i % 14), i));
    const uploads = await Promise.all(Array.from({ length: MAX_BATCH_KEYS }, (_, i) => cidOf(`upload ${i}`)));
    const b = await batch({ keys, uploads });
    const block = await encodeKeyBatch(b, authority);
    expect(block.bytes.length).to.be.below(MAX_DOCUMENT_BYTES["key-batch"]);
    expect(decodeKeyBatch(block.bytes, authority.address).keys.length).to.equal(MAX_BATCH_KEYS);
  });

  it("refuses a batch signed by someone else (WrongSignerError) and an unsigned one (UnsignedDocumentError)", async () => {
    const forged = await encodeKeyBatch(await batch(), stranger);
    expectError(() => decodeKeyBatch(forged.bytes, authority.address), WrongSignerError);
    const { kind, body } = parts(forged.bytes);
    const unsigned = (await encodeBlock({ kind, body })).bytes;
    expectError(() => decodeKeyBatch(unsigned, authority.address), UnsignedDocumentError);
  });

  it("refuses the authority's risk configuration (or any other kind) replayed as a key batch", async () => {
    const b = await batch();
    const { body } = parts((await encodeKeyBatch(b, authority)).bytes);
    // The authority signed this very body, but as a risk configuration: its kind says so.
    const config = await signDocument("risk-config", body, authority);
    expectError(() => decodeKeyBatch(config.bytes, authority.address), MalformedExposureDocumentError, /kind/);
    // Relabelled as a key batch, the signature kept: the kind-tagged digest recovers to another address.
    const relabelled = (await encodeBlock({ ...parts(config.bytes), kind: "key-batch" })).bytes;
    expectError(() => decodeKeyBatch(relabelled, authority.address), WrongSignerError);
    const hotspots = await signDocument("hotspots", body, authority);
    expectError(() => decodeKeyBatch(hotspots.bytes, authority.address), MalformedExposureDocumentError, /kind/);
  });

  it("refuses a key where a number is expected, and other wrong types, by field (MalformedExposureDocumentError)", async () => {
    const b = await batch();
    const k0 = b.keys[0] as PublishedKey;
    const wrong: [unknown, RegExp][] = [
      [{ ...b, keys: [{ ...k0, rollingStartIntervalNumber: k0.key }] }, /keys\[0\]\.rollingStartIntervalNumber/],
      [{ ...b, keys: [{ ...k0, rollingStartIntervalNumber: String(k0.rollingStartIntervalNumber) }] }, /rollingStartIntervalNumber/],
      [{ ...b, keys: [{ ...k0, key: k0.key.subarray(0, 15) }] }, /keys\[0\]\.key/],
      [{ ...b, keys: [{ ...k0, reportType: "rumour" }] }, /reportType/],
      [{ ...b, keys: [{ ...k0, daysSinceOnsetOfSymptoms: 15 }] }, /daysSinceOnsetOfSymptoms/],
      [{ ...b, keys: [{ ...k0, daysSinceOnsetOfSymptoms: 1.5 }] }, /daysSinceOnsetOfSymptoms/],
      [{ ...b, seq: "2" }, /batch\.seq/],
      [{ ...b, chainId: 0 }, /batch\.chainId/],
      [{ ...b, feeds: FEEDS.toUpperCase().replace("0X", "0x") }, /batch\.feeds/],
      [{ ...b, feedId: "01" }, /batch\.feedId/],
      [{ ...b, feedId: (1n << 256n).toString() }, /batch\.feedId/],
      [{ ...b, version: 2 }, /batch\.version/],
      [{ ...b, keys: [] }, /batch\.keys/],
      [{ ...b, keys: "all of them" }, /batch\.keys/],
      [{ ...b, uploads: ["not a cid"] }, /batch\.uploads\[0\]/],
      [null, /batch/],
      [[b], /batch/],
    ];
    for (const [value, field] of wrong) expectError(() => checkKeyBatch(value), MalformedExposureDocumentError, field);
    // The same through a signed block: the authority's own signature does not make a malformed body acceptable.
    const { body } = parts((await encodeKeyBatch(b, authority)).bytes);
    const wire = body.keys as unknown[][];
    for (const keys of [
      [[(wire[0] as unknown[])[0], (wire[0] as unknown[])[0], 144, 0, null]],
      [[(wire[0] as unknown[])[0], "2994048", 144, 0, null]],
      [[(wire[0] as unknown[])[0], 2994048, 144, 9, null]],
      [[(wire[0] as unknown[])[0], 2994048, 144, 0]],
      [{ key: (wire[0] as unknown[])[0] }],
    ]) {
      const signed = await signDocument("key-batch", { ...body, keys }, authority);
      expectError(() => decodeKeyBatch(signed.bytes, authority.address), MalformedExposureDocumentError, /keys\[0\]/);
    }
    const stringPrev = await signDocument("key-batch", { ...body, prev: b.prev }, authority);
    expectError(() => decodeKeyBatch(stringPrev.bytes, authority.address), MalformedExposureDocumentError, /batch\.prev/);
  });

  it("refuses extra fields, in the batch, a key or the signed body", async () => {
    const b = await batch();
    expectError(() => checkKeyBatch({ ...b, note: "urgent" }), MalformedExposureDocumentError, /"note"/);
    expectError(
      () => checkKeyBatch({ ...b, keys: [{ ...b.keys[0], transmissionRisk: 7 }] }),
      MalformedExposureDocumentError,
      /transmissionRisk/,
    );
    const { body } = parts((await encodeKeyBatch(b, authority)).bytes);
    const extra = await signDocument("key-batch", { ...body, region: "EU" }, authority);
    expectError(() => decodeKeyBatch(extra.bytes, authority.address), MalformedExposureDocumentError, /"region"/);
    const missing = { ...b } as Partial<KeyBatch>;
    delete missing.uploads;
    expectError(() => checkKeyBatch(missing), MalformedExposureDocumentError, /uploads/);
  });

  it("refuses more than MAX_BATCH_KEYS keys, and bytes over the cap (ExposureDocumentTooLargeError)", async () => {
    const keys = Array.from({ length: MAX_BATCH_KEYS + 1 }, (_, i) => key(TODAY - 1 - (i % 14), i));
    const b = await batch({ keys });
    expectError(() => checkKeyBatch(b), ExposureDocumentTooLargeError);
    await rejects(encodeKeyBatch(b, authority), ExposureDocumentTooLargeError);
    // Signed anyway by a careless authority: the reader refuses it by its count.
    const { body } = parts((await encodeKeyBatch(await batch(), authority)).bytes);
    const overfull = await signDocument("key-batch", { ...body, uploads: [], keys: keys.map(publishedKeyToWire) }, authority);
    expectError(() => decodeKeyBatch(overfull.bytes, authority.address), ExposureDocumentTooLargeError);
    expectError(
      () => decodeKeyBatch(new Uint8Array(MAX_DOCUMENT_BYTES["key-batch"] + 1), authority.address),
      ExposureDocumentTooLargeError,
    );
  });

  it("refuses keys still in use, future keys and partial keys (KeyOutsideWindowError)", async () => {
    for (const bad of [
      key(TODAY, 9), // the batch's own day: still in use
      key(TODAY + 3, 9), // a future key
      key(TODAY - 1, 9, { rollingPeriod: 100 }),
      { ...key(TODAY - 1, 9), rollingStartIntervalNumber: (TODAY - 1) * 144 + 6 },
    ]) {
      const b = await batch({ keys: [key(TODAY - 2, 1), bad] });
      expectError(() => checkKeyBatch(b), KeyOutsideWindowError, /keys\[1\]/);
      await rejects(encodeKeyBatch(b, authority), KeyOutsideWindowError);
    }
    // Old keys pass: a batch may be published late, and vaults skip what is past its 14 days.
    expect(checkKeyBatch(await batch({ keys: [key(TODAY - 30, 1)] })).keys).to.have.length(1);
  });

  it("refuses a key twice and an upload twice", async () => {
    const b = await batch();
    expectError(() => checkKeyBatch({ ...b, keys: [...b.keys, b.keys[1]] }), MalformedExposureDocumentError, /keys\[3\].*keys\[1\]/);
    expectError(() => checkKeyBatch({ ...b, uploads: [b.uploads[0], b.uploads[0]] }), MalformedExposureDocumentError, /uploads\[1\]/);
  });

  it("refuses a prev link that does not fit the seq", async () => {
    const b = await batch();
    expectError(() => checkKeyBatch({ ...b, seq: 1 }), MalformedExposureDocumentError, /batch\.prev/);
    expectError(() => checkKeyBatch({ ...b, prev: null }), MalformedExposureDocumentError, /batch\.prev/);
    expectError(() => checkKeyBatch({ ...b, seq: 0, prev: null }), MalformedExposureDocumentError, /batch\.seq/);
    expect(checkKeyBatch({ ...b, seq: 1, prev: null }).seq).to.equal(1);
  });
});
