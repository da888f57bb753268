import { expect } from "chai";
import {
  type AlertDraft,
  addSignature,
  checkDraft,
  checkSignatures,
  DuplicateSignatureError,
  draftDigest,
  draftEntry,
  draftSignatures,
  draftSigners,
  editorsDraft,
  encodeDraft,
  encodeEntry,
  entryDigest,
  entryDraft,
  ForeignSignatureError,
  InvalidCapError,
  MalformedDraftError,
  parseDraft,
  SignersNotSortedError,
  TooFewSignaturesError,
  WrongDraftKindError,
} from "../src/index.js";
import { editorSet, editorWallets, REF, sampleCap } from "./fixtures/feed.js";

async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, pattern?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  expect((caught as Error).name).to.equal(type.name);
  if (pattern) expect((caught as Error).message).to.match(pattern);
}

const wallets = editorWallets(3);
const set = editorSet(wallets, 2);
const [w0, w1, w2] = wallets as [(typeof wallets)[0], (typeof wallets)[0], (typeof wallets)[0]];
const stranger = editorWallets(1, 9)[0] as (typeof wallets)[0];
const entry = () => ({ v: 1 as const, feed: REF, seq: 1, epoch: 0, prev: null, cap: sampleCap() });

describe("alerts drafts", () => {
  it("two editors on two machines: sign, pass on as JSON, sign, complete — in ascending signer order", async () => {
    const d0 = entryDraft(entry());
    const text0 = encodeDraft(d0);
    const d1 = await addSignature(parseDraft(text0), w2);
    expect(d0.signatures).to.deep.equal([]);
    expect(checkDraft(d1, set)).to.deep.equal({ signers: [w2.address], complete: false });
    const d2 = await addSignature(parseDraft(encodeDraft(d1)), w0, { editors: set });
    expect(draftSigners(d2)).to.deep.equal([w0.address, w2.address]);
    expect(checkDraft(d2, set)).to.deep.equal({ signers: [w0.address, w2.address], complete: true });
    const { block } = draftEntry(d2);
    expect(block.cid.equals(encodeEntry(entry()).cid)).to.equal(true);
    expect(checkSignatures(entryDigest(REF, 0, 1, block.cid), draftSignatures(d2), set)).to.deep.equal([w0.address, w2.address]);
    expect(parseDraft(encodeDraft(d2))).to.deep.equal(d2);
  });

  it("an editor signing twice is DuplicateSignatureError; a stranger with the editor set given is ForeignSignatureError; the draft is unchanged", async () => {
    const d1 = await addSignature(entryDraft(entry()), w1);
    const before = encodeDraft(d1);
    await rejects(addSignature(d1, w1), DuplicateSignatureError, /already signed/);
    await rejects(addSignature(d1, stranger, { editors: set }), ForeignSignatureError);
    expect(encodeDraft(d1)).to.equal(before);
  });

  it("checkDraft: a stranger's signature is ForeignSignatureError, a draft of another epoch's editors too", async () => {
    const signed = await addSignature(await addSignature(entryDraft(entry()), stranger), w0);
    expect(() => checkDraft(signed, set)).to.throw(ForeignSignatureError);
    const otherEpoch = await addSignature(entryDraft({ ...entry(), epoch: 1 }), w0);
    // Its signature is over epoch 1's digest: as an epoch-0 signature it recovers to someone else.
    const spliced: AlertDraft = { ...entryDraft(entry()), signatures: otherEpoch.signatures };
    expect(() => checkDraft(spliced, set)).to.throw(ForeignSignatureError);
  });

  it("an editors draft passed where an entry draft is expected: WrongDraftKindError, and its signatures do not count for an entry", async () => {
    const next = editorWallets(2, 3);
    const ed = await addSignature(await addSignature(editorsDraft(REF, 0, editorSet(next, 1)), w0), w1);
    expect(checkDraft(ed, set).complete).to.equal(true);
    expect(() => draftEntry(ed)).to.throw(WrongDraftKindError);
    const asEntry: AlertDraft = { ...entryDraft(entry()), signatures: ed.signatures };
    expect(() => checkDraft(asEntry, set)).to.throw(ForeignSignatureError);
    // And the other way: entry signatures on an editors draft.
    const en = await addSignature(await addSignature(entryDraft(entry()), w0), w1);
    expect(() => checkDraft({ ...ed, signatures: en.signatures }, set)).to.throw(ForeignSignatureError);
    expect(Buffer.from(draftDigest(ed)).equals(Buffer.from(draftDigest(en)))).to.equal(false);
  });

  it("a draft with too few signatures is not complete, and checkSignatures calls it TooFewSignaturesError", async () => {
    const d1 = await addSignature(entryDraft(entry()), w1);
    expect(checkDraft(d1, set).complete).to.equal(false);
    const { block } = draftEntry(d1);
    expect(() => checkSignatures(entryDigest(REF, 0, 1, block.cid), draftSignatures(d1), set)).to.throw(TooFewSignaturesError);
  });

  it("parseDraft refuses what is not a draft with MalformedDraftError naming the problem", async () => {
    const good = JSON.parse(encodeDraft(await addSignature(entryDraft(entry()), w0))) as Record<string, unknown>;
    const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });
    const cases: [string, RegExp][] = [
      ["{", /not JSON/],
      ["[]", /object/],
      [" ".repeat((1 << 20) + 1), /over/],
      [bad({ kind: "alert" }), /kind/],
      [bad({ v: 2 }), /v:/],
      [bad({ extra: true }), /unknown field "extra"/],
      [bad({ editors: [] }), /unknown field "editors"/],
      [bad({ seq: 2 }), /the draft says entry 2/],
      [bad({ epoch: 1 }), /epoch/],
      [bad({ feed: { ...REF, feedId: 2 } }), /feed 2/],
      [bad({ feed: { ...REF, contract: "0xABC" } }), /contract/],
      [bad({ entry: "not base64!" }), /entry/],
      [bad({ signatures: ["0x1234"] }), /signatures\[0\]/],
      [bad({ signatures: "0x" }), /signatures/],
      [JSON.stringify({ ...good, seq: undefined }), /no seq/],
    ];
    for (const [text, pattern] of cases) expect(() => parseDraft(text), pattern.source).to.throw(MalformedDraftError, pattern);
  });

  it("parseDraft refuses unsorted or duplicated signatures (SignersNotSortedError) and an invalid alert (InvalidCapError)", async () => {
    const d = await addSignature(await addSignature(entryDraft(entry()), w0), w1);
    const reversed = encodeDraft({ ...d, signatures: [...d.signatures].reverse() });
    expect(() => parseDraft(reversed)).to.throw(SignersNotSortedError);
    const doubled = encodeDraft({ ...d, signatures: [d.signatures[0] as string, d.signatures[0] as string] });
    expect(() => parseDraft(doubled)).to.throw(SignersNotSortedError);
    // An entry block whose alert is invalid: built by hand, since encodeEntry refuses it.
    const dagCbor = await import("@ipld/dag-cbor");
    const raw = dagCbor.encode({ ...entry(), cap: { ...sampleCap(), status: "Rumour" } });
    const text = encodeDraft({ ...entryDraft(entry()), entry: Buffer.from(raw).toString("base64") });
    expect(() => parseDraft(text)).to.throw(InvalidCapError);
  });

  it("an editors draft: editors must be sorted, distinct, with a threshold they can meet", async () => {
    const next = editorSet(editorWallets(3, 4), 2);
    const ed = editorsDraft(REF, 0, next);
    expect(parseDraft(encodeDraft(ed))).to.deep.equal(ed);
    const base = JSON.parse(encodeDraft(ed)) as Record<string, unknown>;
    expect(() => parseDraft(JSON.stringify({ ...base, editors: [...next.editors].reverse() }))).to.throw(MalformedDraftError, /ascending/);
    expect(() => parseDraft(JSON.stringify({ ...base, threshold: 4 }))).to.throw(MalformedDraftError, /threshold/);
    expect(() => parseDraft(JSON.stringify({ ...base, editors: ["0x12"] }))).to.throw(MalformedDraftError, /address/);
    expect(() => parseDraft(JSON.stringify({ ...base, seq: 1 }))).to.throw(MalformedDraftError, /unknown field "seq"/);
    expect(() => editorsDraft(REF, 0, { editors: next.editors, threshold: 0 })).to.throw(RangeError);
  });
});
