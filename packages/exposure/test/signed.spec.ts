// Signed authority documents: round trips of any body and kind, and every forgery an attacker can build from public
// documents — unsigned, signed by someone else, a signature moved to another kind or body, malleated, extra fields,
// non-canonical or oversized bytes — is its named error, and nothing is returned.
import * as dagCbor from "@ipld/dag-cbor";
import { encodeBlock } from "@mosaic/protocol";
import { expect } from "chai";
import { Wallet } from "ethers";
import fc from "fast-check";
import { sha256 } from "multiformats/hashes/sha2";
import { ExposureDocumentTooLargeError, MalformedExposureDocumentError, UnsignedDocumentError, WrongSignerError } from "../src/errors.js";
import {
  DOCUMENT_KINDS,
  type DocumentKind,
  documentDigest,
  documentSigner,
  MAX_DOCUMENT_BYTES,
  openDocument,
  signDocument,
} from "../src/signed.js";

const authority = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const stranger = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Runs `fn` and asserts it throws `Class` (by name, as callers branch) — so it returned nothing. */
function expectError(fn: () => unknown, Class: { name: string }, message?: RegExp): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect((err as Error).name).to.equal(Class.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${Class.name}, got a result: ${String(returned)}`);
}

/** Bodies dag-cbor can carry: integers, strings, bytes, booleans, null, lists and maps of them. */
const body = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer(),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

const RISK_BODY = { version: 1, thresholds: { low: 15, high: 30 } };

/** The document's map, taken apart as an attacker would. */
const parts = (bytes: Uint8Array) => dagCbor.decode(bytes) as { kind: string; body: unknown; signature: Uint8Array };

describe("exposure signed documents", () => {
  it("round-trips any body of any kind: the body, the signer, and a CID naming the bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...DOCUMENT_KINDS), body, async (kind, value) => {
        const block = await signDocument(kind, value, authority);
        expect(openDocument(kind, block.bytes, authority.address)).to.deep.equal(value);
        // Any spelling of the address.
        expect(openDocument(kind, block.bytes, authority.address.toLowerCase())).to.deep.equal(value);
        expect(documentSigner(kind, block.bytes)).to.equal(authority.address);
        expect(block.cid.multihash.bytes).to.deep.equal((await sha256.digest(block.bytes)).bytes);
        expect(Object.keys(parts(block.bytes)).sort()).to.deep.equal(["body", "kind", "signature"]);
      }),
      { numRuns: 60, seed: 20 },
    );
  });

  it("tags the digest with the kind: the same body has another digest under every kind", () => {
    const digests = DOCUMENT_KINDS.map((k) => Buffer.from(documentDigest(k, RISK_BODY)).toString("hex"));
    expect(new Set(digests).size).to.equal(DOCUMENT_KINDS.length);
    expect(() => documentDigest("receipt" as DocumentKind, RISK_BODY)).to.throw(TypeError, /kind/);
    expect(() => documentDigest("key-batch", { x: undefined })).to.throw(TypeError, /body/);
  });

  it("refuses a document signed by someone else (WrongSignerError), and says whom", async () => {
    const forged = await signDocument("risk-config", RISK_BODY, stranger);
    expectError(() => openDocument("risk-config", forged.bytes, authority.address), WrongSignerError, new RegExp(stranger.address));
    expect(documentSigner("risk-config", forged.bytes)).to.equal(stranger.address);
  });

  it("refuses unsigned documents: no signature, null, the wrong length (UnsignedDocumentError)", async () => {
    for (const doc of [
      { kind: "risk-config", body: RISK_BODY },
      { kind: "risk-config", body: RISK_BODY, signature: null },
      { kind: "risk-config", body: RISK_BODY, signature: new Uint8Array(64) },
      { kind: "risk-config", body: RISK_BODY, signature: "0xdeadbeef" },
    ]) {
      const { bytes } = await encodeBlock(doc);
      expectError(() => openDocument("risk-config", bytes, authority.address), UnsignedDocumentError);
      expectError(() => documentSigner("risk-config", bytes), UnsignedDocumentError);
    }
  });

  it("refuses a signature that does not recover, a bad v, or the malleated (high-s) twin of a real one", async () => {
    const real = parts((await signDocument("risk-config", RISK_BODY, authority)).bytes);
    const withSig = async (signature: Uint8Array) => (await encodeBlock({ ...real, signature })).bytes;
    const badV = new Uint8Array(real.signature);
    badV[64] = 29;
    // The twin (r, n − s, v ^ 1) recovers the same address: a second encoding of one document, refused.
    const twin = new Uint8Array(real.signature);
    let s = 0n;
    for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(twin[i] as number);
    let high = SECP256K1_N - s;
    for (let i = 63; i >= 32; i--) {
      twin[i] = Number(high & 0xffn);
      high >>= 8n;
    }
    twin[64] = (twin[64] as number) === 27 ? 28 : 27;
    const zeroR = new Uint8Array(65);
    zeroR[63] = 1;
    zeroR[64] = 27;
    const zeroS = new Uint8Array(real.signature).fill(0, 32, 64);
    for (const sig of [badV, twin, zeroR, zeroS]) {
      const bytes = await withSig(sig);
      expectError(() => openDocument("risk-config", bytes, authority.address), UnsignedDocumentError);
    }
  });

  it("refuses kind confusion: a risk configuration passed as a key batch, or relabelled as one", async () => {
    const config = await signDocument("risk-config", RISK_BODY, authority);
    // As it is: the kind field names another kind.
    expectError(() => openDocument("key-batch", config.bytes, authority.address), MalformedExposureDocumentError, /kind/);
    expectError(() => openDocument("hotspots", config.bytes, authority.address), MalformedExposureDocumentError, /kind/);
    // Relabelled, the authority's signature kept: the digest is tagged with the kind, so it recovers to someone else.
    const relabelled = (await encodeBlock({ ...parts(config.bytes), kind: "key-batch" })).bytes;
    expectError(() => openDocument("key-batch", relabelled, authority.address), WrongSignerError);
    expect(documentSigner("key-batch", relabelled)).to.not.equal(authority.address);
  });

  it("refuses a body changed under the authority's signature (WrongSignerError)", async () => {
    const doc = parts((await signDocument("risk-config", RISK_BODY, authority)).bytes);
    const tampered = (await encodeBlock({ ...doc, body: { ...RISK_BODY, thresholds: { low: 1500, high: 3000 } } })).bytes;
    expectError(() => openDocument("risk-config", tampered, authority.address), WrongSignerError);
  });

  it("refuses extra fields, a missing body, non-maps, non-canonical and non-dag-cbor bytes (MalformedExposureDocumentError)", async () => {
    const doc = parts((await signDocument("risk-config", RISK_BODY, authority)).bytes);
    const bad: Uint8Array[] = [
      (await encodeBlock({ ...doc, note: "trust me" })).bytes,
      (await encodeBlock({ kind: doc.kind, signature: doc.signature })).bytes,
      (await encodeBlock([doc.kind, doc.body, doc.signature])).bytes,
      (await encodeBlock(doc.signature)).bytes,
      new Uint8Array([0xff, 0x00, 0x13]),
      new Uint8Array(),
    ];
    // Non-canonical: the same map with its keys in another order (CBOR allows it, dag-cbor does not).
    const canonical = (await encodeBlock(doc)).bytes;
    expect(canonical[0]).to.equal(0xa3);
    bad.push(reorderMap(canonical));
    for (const bytes of bad) expectError(() => openDocument("risk-config", bytes, authority.address), MalformedExposureDocumentError);
  });

  it("refuses oversized documents before decoding them, and will not sign one no reader would open", async () => {
    const huge = new Uint8Array(MAX_DOCUMENT_BYTES["risk-config"] + 1);
    expectError(() => openDocument("risk-config", huge, authority.address), ExposureDocumentTooLargeError);
    let err: unknown;
    try {
      await signDocument("risk-config", { blob: new Uint8Array(MAX_DOCUMENT_BYTES["risk-config"]) }, authority);
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.name).to.equal("ExposureDocumentTooLargeError");
  });

  it("checks its arguments: an unknown kind or a signer that is not an address is a TypeError", async () => {
    const block = await signDocument("hotspots", { tags: [] }, authority);
    expect(() => openDocument("hotspots", block.bytes, "the authority")).to.throw(TypeError, /expectedSigner/);
    expect(() => openDocument("receipts" as DocumentKind, block.bytes, authority.address)).to.throw(TypeError, /kind/);
  });
});

/**
 * The canonical 3-entry map `a3 k1 v1 k2 v2 k3 v3` with its first two entries swapped: the same CBOR value, bytes no
 * dag-cbor encoder writes. Splits the entries by decoding prefixes.
 */
function reorderMap(bytes: Uint8Array): Uint8Array {
  const entries: Uint8Array[] = [];
  let at = 1;
  for (let e = 0; e < 3; e++) {
    let end = at + 1;
    // The smallest prefix that holds one key and one value: a 2-entry array of them decodes.
    while (end <= bytes.length) {
      const probe = new Uint8Array([0x82, ...bytes.subarray(at, end)]);
      try {
        dagCbor.decode(probe);
        break;
      } catch {
        end++;
      }
    }
    entries.push(bytes.subarray(at, end));
    at = end;
  }
  const [a, b, c] = entries as [Uint8Array, Uint8Array, Uint8Array];
  return new Uint8Array([0xa3, ...b, ...a, ...c]);
}
