// The private hotspot check: RFC 9497's ristretto255-SHA512 test vectors (OPRF and VOPRF modes, from the CFRG's
// poc/vectors/allVectors.json the RFC's Appendix A was generated from, unchanged), then the protocol on a realistic
// vault against a 10,000-item set, and every hostile input a server or a client can be handed.
import { fromHex, toBareHex } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { ristretto255, ristretto255_oprf } from "@noble/curves/ed25519.js";
import { expect } from "chai";
import { Wallet } from "ethers";
import fc from "fast-check";
import {
  ExposureDocumentTooLargeError,
  MalformedExposureDocumentError,
  PsiElementError,
  PsiProofError,
  PsiQueryTooLargeError,
  PsiRefusedError,
  WrongSignerError,
} from "../src/errors.js";
import { signDocument } from "../src/signed.js";
import {
  answerHotspotQuery,
  blindHotspotQuery,
  buildHotspotSet,
  checkHotspotSet,
  decodeHotspotSet,
  decodePsiRequest,
  decodePsiResponse,
  encodeHotspotSet,
  encodePsiRequest,
  encodePsiResponse,
  finishHotspotQuery,
  generatePsiKeyPair,
  type HotspotSet,
  hotspotItem,
  hourStartOf,
  MAX_PSI_QUERY,
  MAX_PSI_REQUEST_BYTES,
  MAX_PSI_RESPONSE_BYTES,
  type PsiRequest,
  placeCell,
  psiErrorReply,
  psiPublicKey,
  voprfEvaluate,
} from "../src/psi.js";
import vectorFile from "./vectors/rfc9497-ristretto255.json" with { type: "json" };

interface Rfc9497Vector {
  Batch: number;
  Input: string;
  Blind: string;
  BlindedElement: string;
  EvaluationElement: string;
  Output: string;
  Proof?: { proof: string; r: string };
}
interface Rfc9497Suite {
  identifier: string;
  mode: number;
  seed: string;
  keyInfo: string;
  skSm: string;
  pkSm?: string;
  vectors: Rfc9497Vector[];
}
const vectors: Rfc9497Suite[] = vectorFile;

const SEED = 20;
const SET_CID = "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const Fn = ristretto255.Point.Fn;

/** An rng whose 48 bytes noble's randomScalar maps to exactly `scalar` (mapHashToField: LE(x) mod (n-1) + 1). */
function fixedScalarRng(scalarHex: string): () => Uint8Array {
  const s = Fn.fromBytes(fromHex(scalarHex));
  let x = s - 1n;
  const out = new Uint8Array(48);
  for (let i = 0; i < 48; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return () => out.slice();
}

const list = (csv: string): string[] => csv.split(",");
const bytesOf = (csv: string): Uint8Array[] => list(csv).map((h) => fromHex(h));
const proofOf = (v: Rfc9497Vector): { proof: string; r: string } => {
  if (v.Proof === undefined) throw new Error("a VOPRF vector without a proof");
  return v.Proof;
};
const hex = (b: Uint8Array): string => toBareHex(b);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function byMode(mode: number) {
  const suite = vectors.find((v) => v.mode === mode);
  if (suite === undefined) throw new Error(`no mode ${mode} in the vector file`);
  return suite;
}

describe("exposure psi: RFC 9497 ristretto255-SHA512 test vectors", () => {
  it("the file holds the RFC's three modes of ristretto255-SHA512", () => {
    expect(vectors.map((v) => [v.identifier, v.mode])).to.deep.equal([
      ["ristretto255-SHA512", 0],
      ["ristretto255-SHA512", 1],
      ["ristretto255-SHA512", 2],
    ]);
  });

  it("OPRF mode: DeriveKeyPair, Blind, BlindEvaluate, Finalize", () => {
    const suite = byMode(0);
    const keys = ristretto255_oprf.oprf.deriveKeyPair(fromHex(suite.seed), fromHex(suite.keyInfo));
    expect(hex(keys.secretKey)).to.equal(suite.skSm);
    expect(suite.vectors).to.have.length(2);
    for (const v of suite.vectors) {
      const input = fromHex(v.Input);
      const b = ristretto255_oprf.oprf.blind(input, fixedScalarRng(v.Blind));
      expect(hex(b.blind)).to.equal(v.Blind);
      expect(hex(b.blinded)).to.equal(v.BlindedElement);
      const evaluated = ristretto255_oprf.oprf.blindEvaluate(keys.secretKey, b.blinded);
      expect(hex(evaluated)).to.equal(v.EvaluationElement);
      expect(hex(ristretto255_oprf.oprf.finalize(input, b.blind, evaluated))).to.equal(v.Output);
    }
  });

  it("VOPRF mode: keys, blinds, evaluations, proofs (batch 1 and 2) and outputs; our Evaluate reaches the same outputs", () => {
    const suite = byMode(1);
    const keys = ristretto255_oprf.voprf.deriveKeyPair(fromHex(suite.seed), fromHex(suite.keyInfo));
    expect(hex(keys.secretKey)).to.equal(suite.skSm);
    expect(hex(keys.publicKey)).to.equal(suite.pkSm);
    expect(hex(psiPublicKey(keys.secretKey))).to.equal(suite.pkSm);
    expect(suite.vectors.map((v) => v.Batch)).to.deep.equal([1, 1, 2]);
    for (const v of suite.vectors) {
      const inputs = bytesOf(v.Input);
      const blinds = list(v.Blind);
      const blinded = inputs.map((input, i) => ristretto255_oprf.voprf.blind(input, fixedScalarRng(blinds[i] as string)));
      expect(blinded.map((b) => hex(b.blinded))).to.deep.equal(list(v.BlindedElement));
      const answer = ristretto255_oprf.voprf.blindEvaluateBatch(
        keys.secretKey,
        keys.publicKey,
        blinded.map((b) => b.blinded),
        fixedScalarRng(proofOf(v).r),
      );
      expect(answer.evaluated.map(hex)).to.deep.equal(list(v.EvaluationElement));
      expect(hex(answer.proof)).to.equal(proofOf(v).proof);
      const outputs = ristretto255_oprf.voprf.finalizeBatch(
        inputs.map((input, i) => ({
          input,
          blind: blinded[i]?.blind as Uint8Array,
          blinded: blinded[i]?.blinded as Uint8Array,
          evaluated: answer.evaluated[i] as Uint8Array,
        })),
        keys.publicKey,
        answer.proof,
      );
      expect(outputs.map(hex)).to.deep.equal(list(v.Output));
      // The authority's side of the hotspot set: Evaluate(skS, input) without blinding gives the same output.
      expect(inputs.map((input) => hex(voprfEvaluate(keys.secretKey, input)))).to.deep.equal(list(v.Output));
    }
  });

  it("VOPRF mode: the RFC's proof does not verify under another key or for swapped elements", () => {
    const suite = byMode(1);
    const v = suite.vectors[2];
    if (v === undefined) throw new Error("no batch vector");
    const inputs = bytesOf(v.Input);
    const items = inputs.map((input, i) => ({
      input,
      blind: fromHex(list(v.Blind)[i] as string),
      blinded: fromHex(list(v.BlindedElement)[i] as string),
      evaluated: fromHex(list(v.EvaluationElement)[i] as string),
    }));
    const proof = fromHex(proofOf(v).proof);
    expect(() => ristretto255_oprf.voprf.finalizeBatch(items, fromHex(byMode(2).pkSm as string), proof)).to.throw();
    const swapped = [
      { ...(items[0] as (typeof items)[0]), evaluated: items[1]?.evaluated as Uint8Array },
      { ...(items[1] as (typeof items)[0]), evaluated: items[0]?.evaluated as Uint8Array },
    ];
    expect(() => ristretto255_oprf.voprf.finalizeBatch(swapped, fromHex(suite.pkSm as string), proof)).to.throw();
  });
});

describe("exposure psi: items", () => {
  it("placeCell rounds down to 0.001° on both sides of zero, without floating-point slips", () => {
    expect(placeCell(52.3705, 4.8952)).to.equal("52.370,4.895");
    expect(placeCell(12.345, 0.001)).to.equal("12.345,0.001");
    expect(placeCell(-33.8688, 151.2093)).to.equal("-33.869,151.209");
    expect(placeCell(-0.0004, -0.0001)).to.equal("-0.001,-0.001");
    expect(placeCell(90, -180)).to.equal("90.000,-180.000");
    expect(() => placeCell(91, 0)).to.throw(RangeError, /lat/);
    expect(() => placeCell(0, Number.NaN)).to.throw(RangeError, /lon/);
  });

  it("every position lies in its cell: the cell's corner is at most 0.001° below it", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -89.99, max: 89.99, noNaN: true }),
        fc.double({ min: -179.99, max: 179.99, noNaN: true }),
        (lat, lon) => {
          const [a, b] = placeCell(lat, lon).split(",").map(Number) as [number, number];
          expect(lat - a).to.be.within(-1e-6, 0.001 + 1e-6);
          expect(lon - b).to.be.within(-1e-6, 0.001 + 1e-6);
        },
      ),
      { seed: SEED },
    );
  });

  it("hotspotItem is the tagged utf8 string, and refuses a cell or an hour in another form", () => {
    expect(new TextDecoder().decode(hotspotItem("52.370,4.895", 1_764_900_000))).to.equal("mosaic.hotspot.v1|52.370,4.895|1764900000");
    expect(hourStartOf(1_764_903_599)).to.equal(1_764_900_000);
    expect(() => hotspotItem("52.37,4.895", 1_764_900_000)).to.throw(TypeError, /cell/);
    expect(() => hotspotItem("52.370,4.895", 1_764_900_001)).to.throw(RangeError, /hourStart/);
  });
});

describe("exposure psi: the hotspot check", function () {
  this.timeout(120_000);
  const keys = generatePsiKeyPair();
  const start = 1_764_892_800; // a UTC midnight
  const hour = (h: number): number => start + h * 3600;
  let set: HotspotSet;
  // 10,000 hotspot items: 500 places × 20 hours.
  const hotspotPlaces = Array.from({ length: 500 }, (_, i) => placeCell(52 + Math.floor(i / 50) * 0.01, 4 + (i % 50) * 0.01));
  const hotspotItems: Uint8Array[] = [];
  for (const cell of hotspotPlaces) for (let h = 0; h < 20; h++) hotspotItems.push(hotspotItem(cell, hour(h * 7)));

  before(() => {
    set = buildHotspotSet(keys.secretKey, hotspotItems, { feedId: "1", from: start, to: hour(14 * 24) });
  });

  it("the set holds one sorted 16-byte tag per item, and passes its own check after a dag-cbor round trip", () => {
    expect(set.tags).to.have.length(10_000);
    expect(set.publicKey).to.deep.equal(keys.publicKey);
    const again = checkHotspotSet(dagCbor.decode(dagCbor.encode(set)));
    expect(again.tags).to.deep.equal(set.tags);
    expect(again.feedId).to.equal("1");
  });

  it("the signed hotspots document: the authority's signature opens it, another's is WrongSignerError, a signed bad body is refused", async () => {
    const authority = Wallet.createRandom();
    const block = await encodeHotspotSet(set, authority);
    const opened = decodeHotspotSet(block.bytes, authority.address);
    expect(opened.tags).to.deep.equal(set.tags);
    expect(opened.publicKey).to.deep.equal(set.publicKey);
    expect(() => decodeHotspotSet(block.bytes, Wallet.createRandom().address)).to.throw(WrongSignerError);
    const unsorted = await signDocument("hotspots", { ...set, tags: [set.tags[1], set.tags[0]] }, authority);
    expect(() => decodeHotspotSet(unsorted.bytes, authority.address)).to.throw(MalformedExposureDocumentError, /tags\[1\]/);
    let refused: unknown;
    try {
      await encodeHotspotSet({ ...set, cellDegrees: 0.01 as 0.001 }, authority);
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(MalformedExposureDocumentError);
  });

  it("a vault with 300 visits finds exactly the ones in the set, in three queries of 100", () => {
    const visits: Uint8Array[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 7 === 0) {
        // A hotspot place at a hotspot hour.
        expected.push(i);
        visits.push(hotspotItems[(i * 31) % hotspotItems.length] as Uint8Array);
      } else if (i % 7 === 1) {
        // A hotspot place, at an hour it was not a hotspot.
        visits.push(hotspotItem(hotspotPlaces[i % 500] as string, hour(1 + 7 * (i % 20))));
      } else {
        visits.push(hotspotItem(placeCell(48 + i * 0.001, 2.3), hour(i % 300)));
      }
    }
    const found: number[] = [];
    for (let q = 0; q < 3; q++) {
      const items = visits.slice(q * 100, q * 100 + 100);
      const { request, state } = blindHotspotQuery(items, SET_CID);
      const wire = decodePsiRequest(encodePsiRequest(request));
      const response = decodePsiResponse(encodePsiResponse(answerHotspotQuery(keys.secretKey, keys.publicKey, wire)));
      for (const i of finishHotspotQuery(state, response, set)) found.push(q * 100 + i);
    }
    expect(found).to.deep.equal(expected);
    expect(found).to.have.length(43);
  });

  it("an oversized query is PsiQueryTooLargeError on both sides, before anything is evaluated", () => {
    const items = Array.from({ length: MAX_PSI_QUERY + 1 }, (_, i) => hotspotItem("1.000,1.000", i * 3600));
    expect(() => blindHotspotQuery(items, SET_CID)).to.throw(PsiQueryTooLargeError);
    // A hostile client builds it anyway, with elements that are no points at all past the first: if the server
    // evaluated before counting, it would fail on those with another error.
    const { request } = blindHotspotQuery(items.slice(0, 1), SET_CID);
    const oversized: PsiRequest = {
      ...request,
      blinded: Array.from({ length: MAX_PSI_QUERY + 1 }, (_, i) =>
        i === 0 ? request.blinded[0] : new Uint8Array(32).fill(0xff),
      ) as Uint8Array[],
    };
    expect(() => answerHotspotQuery(keys.secretKey, keys.publicKey, oversized)).to.throw(PsiQueryTooLargeError, /1025/);
    expect(() => decodePsiRequest(encodePsiRequest(oversized))).to.throw(PsiQueryTooLargeError);
    // A server configured for fewer.
    const small = blindHotspotQuery(items.slice(0, 11), SET_CID).request;
    expect(() => answerHotspotQuery(keys.secretKey, keys.publicKey, small, { maxItems: 10 })).to.throw(PsiQueryTooLargeError, /at most 10/);
    expect(() => decodePsiRequest(encodePsiRequest(small), { maxItems: 10 })).to.throw(PsiQueryTooLargeError);
    // Bytes past the cap, whatever they hold.
    expect(() => decodePsiRequest(new Uint8Array(MAX_PSI_REQUEST_BYTES + 1))).to.throw(PsiQueryTooLargeError);
  });

  it("a blinded element that is no ristretto255 point, of the wrong length or the identity is PsiElementError", () => {
    const { request } = blindHotspotQuery([hotspotItem("1.000,1.000", 0), hotspotItem("1.000,1.000", 3600)], SET_CID);
    const withElement = (e: Uint8Array): PsiRequest => ({ ...request, blinded: [request.blinded[0] as Uint8Array, e] });
    const notCanonical = new Uint8Array(32).fill(0xff); // ≥ p: not a canonical field element
    const negative = Uint8Array.from(request.blinded[1] as Uint8Array);
    negative[0] = (negative[0] as number) | 1; // odd s: ristretto's encoding is never "negative"
    for (const [what, e] of [
      ["not canonical", notCanonical],
      ["negative s", negative],
      ["31 bytes", (request.blinded[1] as Uint8Array).subarray(0, 31)],
      ["33 bytes", new Uint8Array(33)],
      ["identity", new Uint8Array(32)],
    ] as const) {
      expect(() => answerHotspotQuery(keys.secretKey, keys.publicKey, withElement(e)), what).to.throw(PsiElementError, /blinded\[1\]/);
      expect(() => decodePsiRequest(encodePsiRequest(withElement(e))), what).to.throw(PsiElementError);
    }
  });

  it("any 32 bytes a client sends are either answered or PsiElementError, never another failure", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        try {
          const r = answerHotspotQuery(keys.secretKey, keys.publicKey, { version: 1, set: SET_CID, blinded: [bytes] });
          expect(r.evaluated).to.have.length(1);
        } catch (err) {
          expect((err as Error).name).to.equal("PsiElementError");
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("a response from a server using another key is PsiProofError", () => {
    const other = generatePsiKeyPair();
    const items = [hotspotItems[0] as Uint8Array, hotspotItem("1.000,1.000", 0)];
    const { request, state } = blindHotspotQuery(items, SET_CID);
    // Honest about its own key: its proof is for other.publicKey, not the set's.
    const answer = answerHotspotQuery(other.secretKey, other.publicKey, request);
    expect(() => finishHotspotQuery(state, answer, set)).to.throw(PsiProofError, /another node/);
    // Claiming the set's key while evaluating with its own.
    const lying = ristretto255_oprf.voprf.blindEvaluateBatch(other.secretKey, keys.publicKey, request.blinded);
    expect(() => finishHotspotQuery(state, { version: 1, ...lying }, set)).to.throw(PsiProofError);
  });

  it("a reordered, truncated or padded evaluated list, or a tampered proof, is PsiProofError", () => {
    const items = [hotspotItems[0] as Uint8Array, hotspotItems[1] as Uint8Array, hotspotItem("1.000,1.000", 0)];
    const { request, state } = blindHotspotQuery(items, SET_CID);
    const answer = answerHotspotQuery(keys.secretKey, keys.publicKey, request);
    expect(finishHotspotQuery(state, answer, set)).to.deep.equal([0, 1]);
    const [a, b, c] = answer.evaluated as [Uint8Array, Uint8Array, Uint8Array];
    expect(() => finishHotspotQuery(state, { ...answer, evaluated: [b, a, c] }, set)).to.throw(PsiProofError);
    expect(() => finishHotspotQuery(state, { ...answer, evaluated: [a, b] }, set)).to.throw(PsiProofError, /2 elements/);
    expect(() => finishHotspotQuery(state, { ...answer, evaluated: [a, b, c, c] }, set)).to.throw(PsiProofError);
    const proof = Uint8Array.from(answer.proof);
    proof[5] = (proof[5] as number) ^ 1;
    expect(() => finishHotspotQuery(state, { ...answer, proof }, set)).to.throw(PsiProofError);
    // An evaluated element that is no point is named as such.
    expect(() => finishHotspotQuery(state, { ...answer, evaluated: [a, b, new Uint8Array(32)] }, set)).to.throw(PsiElementError);
    // The state is untouched: the honest answer still finishes.
    expect(finishHotspotQuery(state, answer, set)).to.deep.equal([0, 1]);
  });

  it("malformed requests: a number where bytes are expected, wrong types, extra or missing keys, not dag-cbor", () => {
    const { request } = blindHotspotQuery([hotspotItem("1.000,1.000", 0)], SET_CID);
    const cases: [string, unknown][] = [
      ["number for an element", { ...request, blinded: [42] }],
      ["number for the list", { ...request, blinded: 42 }],
      ["string for an element", { ...request, blinded: ["aa"] }],
      ["bytes for the set", { ...request, set: new Uint8Array(3) }],
      ["version 2", { ...request, version: 2 }],
      ["extra key", { ...request, extra: 1 }],
      ["missing blinded", { version: 1, set: SET_CID }],
      ["an array", [1, SET_CID, request.blinded]],
      ["empty", { ...request, blinded: [] }],
      ["a number", 7],
    ];
    for (const [what, value] of cases) {
      expect(() => decodePsiRequest(dagCbor.encode(value)), what).to.throw(MalformedExposureDocumentError);
      expect(() => answerHotspotQuery(keys.secretKey, keys.publicKey, value as PsiRequest), what).to.throw(MalformedExposureDocumentError);
    }
    expect(() => decodePsiRequest(Uint8Array.of(0xa1, 0x61))).to.throw(MalformedExposureDocumentError, /dag-cbor/);
  });

  it("malformed responses, an oversized one and a refusal each have their error", () => {
    const good = answerHotspotQuery(keys.secretKey, keys.publicKey, blindHotspotQuery([hotspotItem("1.000,1.000", 0)], SET_CID).request);
    expect(decodePsiResponse(encodePsiResponse(good))).to.deep.equal(good);
    for (const value of [
      { ...good, evaluated: [42] },
      { ...good, proof: new Uint8Array(63) },
      { ...good, proof: 1 },
      { ...good, extra: true },
      { version: 1, evaluated: good.evaluated },
    ])
      expect(() => decodePsiResponse(dagCbor.encode(value))).to.throw(MalformedExposureDocumentError);
    expect(() => decodePsiResponse(new Uint8Array(MAX_PSI_RESPONSE_BYTES + 1))).to.throw(ExposureDocumentTooLargeError);
    const refusal = encodePsiResponse(psiErrorReply(new PsiQueryTooLargeError("1025 items")));
    try {
      decodePsiResponse(refusal);
      expect.fail("a refusal decoded as a response");
    } catch (err) {
      expect(err).to.be.instanceOf(PsiRefusedError);
      expect((err as PsiRefusedError).reason).to.equal("PsiQueryTooLargeError");
      expect((err as Error).message).to.match(/1025 items/);
    }
  });

  it("checkHotspotSet refuses unsorted or duplicate tags, a bad key, extra keys and other grids, naming the field", () => {
    const base = { ...set, tags: set.tags.slice(0, 3) };
    expect(checkHotspotSet(base).tags).to.have.length(3);
    const cases: [unknown, RegExp][] = [
      [{ ...base, tags: [base.tags[1], base.tags[0]] }, /tags\[1\].*sorted/],
      [{ ...base, tags: [base.tags[0], base.tags[0]] }, /tags\[1\]/],
      [{ ...base, tags: [new Uint8Array(15)] }, /tags\[0\]/],
      [{ ...base, tags: [7] }, /tags\[0\]/],
      [{ ...base, publicKey: new Uint8Array(32) }, /publicKey.*identity/],
      [{ ...base, publicKey: new Uint8Array(32).fill(0xff) }, /publicKey/],
      [{ ...base, publicKey: 5 }, /publicKey/],
      [{ ...base, cellDegrees: 0.01 }, /cellDegrees/],
      [{ ...base, feedId: 1 }, /feedId/],
      [{ ...base, from: 10, to: 5 }, /\.to/],
      [{ ...base, version: 2 }, /version/],
      [{ ...base, extra: 1 }, /unknown key/],
      ["a string", /expected a map/],
    ];
    for (const [value, message] of cases) expect(() => checkHotspotSet(value)).to.throw(MalformedExposureDocumentError, message);
  });

  it("the server's output is what the authority's set holds: blinding changes nothing (fixed blinds, any item)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.uint8Array({ minLength: 48, maxLength: 48 }), (item, rngBytes) => {
        const small = buildHotspotSet(keys.secretKey, [item], { feedId: "2", from: 0, to: 0 });
        const { request, state } = blindHotspotQuery([item, enc("not it")], SET_CID, { rng: () => rngBytes.slice() });
        expect(finishHotspotQuery(state, answerHotspotQuery(keys.secretKey, keys.publicKey, request), small)).to.deep.equal([0]);
      }),
      { seed: SEED, numRuns: 25 },
    );
  });
});
