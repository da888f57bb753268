import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import {
  type AlertAnnouncement,
  alertTopic,
  announcementOf,
  checkAnnouncement,
  decodeAnnouncement,
  EntryMismatchError,
  encodeAnnouncement,
  entryDigest,
  ForeignSignatureError,
  MalformedAnnouncementError,
  MalformedEntryError,
  MAX_ANNOUNCEMENT_BYTES,
  SignersNotSortedError,
  TooFewSignaturesError,
} from "../src/index.js";
import { type BuiltEntry, editorSet, editorWallets, FeedBuilder, REF, sampleCap, signAll } from "./fixtures/feed.js";

const wallets = editorWallets(3);
const SET = editorSet(wallets, 2);
const [w0, w1] = wallets as [(typeof wallets)[0], (typeof wallets)[0]];

async function announced(): Promise<{ built: BuiltEntry; a: AlertAnnouncement; bytes: Uint8Array }> {
  const feed = new FeedBuilder(REF, [w0, w1]);
  await feed.add(sampleCap({ identifier: "N-1" }));
  const built = await feed.add(sampleCap({ identifier: "N-2" }));
  const a: AlertAnnouncement = { v: 1, feed: REF, seq: 2, epoch: 0, entry: built.bytes, signatures: built.signatures };
  return { built, a, bytes: encodeAnnouncement(a) };
}

describe("alerts announcements", () => {
  it("the topic names chain, contract and feed", () => {
    expect(alertTopic(REF)).to.equal(`/mosaic/alerts/1/31337/${REF.contract}/1`);
    expect(() => alertTopic({ ...REF, feedId: -1 })).to.throw(TypeError);
  });

  it("round-trips and checks out as a verified entry; announcementOf gives it back", async () => {
    const { built, bytes } = await announced();
    const decoded = decodeAnnouncement(bytes, REF);
    const verified = checkAnnouncement(decoded, SET);
    expect(verified.cid.equals(built.cid)).to.equal(true);
    expect(verified.signers).to.deep.equal([w0.address, w1.address]);
    expect(verified.entry.cap.identifier).to.equal("N-2");
    expect(encodeAnnouncement(announcementOf(verified))).to.deep.equal(bytes);
  });

  it("decodeAnnouncement refuses other feeds' topics, oversize and malformed messages (MalformedAnnouncementError)", async () => {
    const { a, bytes } = await announced();
    expect(() => decodeAnnouncement(bytes, { ...REF, feedId: 2 })).to.throw(MalformedAnnouncementError, /received on the topic of feed 2/);
    expect(() => decodeAnnouncement(bytes, { ...REF, chainId: 1 })).to.throw(MalformedAnnouncementError);
    expect(() => decodeAnnouncement(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1), REF)).to.throw(MalformedAnnouncementError, /over/);
    const bad = (patch: Record<string, unknown>) => dagCbor.encode({ ...a, ...patch });
    for (const [b, pattern] of [
      [new Uint8Array([0xa1]), /dag-cbor/],
      [bad({ extra: 1 }), /unknown key/],
      [bad({ v: 2 }), /v:/],
      [bad({ seq: 0 }), /seq/],
      [bad({ entry: "x" }), /entry/],
      [bad({ signatures: [new Uint8Array(64)] }), /signatures\[0\]/],
      [bad({ signatures: Array.from({ length: 33 }, () => new Uint8Array(65)) }), /signatures/],
      [dagCbor.encode(sampleCap()), /unknown key/],
    ] as const)
      expect(() => decodeAnnouncement(b, REF), pattern.source).to.throw(MalformedAnnouncementError, pattern);
  });

  it("checkAnnouncement refuses an entry announced as another seq, epoch or feed (EntryMismatchError)", async () => {
    const { a, built } = await announced();
    // Re-signed for the position claimed, so only the mismatch with the entry itself is wrong.
    for (const patch of [{ seq: 3 }, { epoch: 1 }, { feed: { ...REF, feedId: 2 } }]) {
      const claimed = { ...a, ...patch };
      const signatures = await signAll(entryDigest(claimed.feed, claimed.epoch, claimed.seq, built.cid), [w0, w1]);
      expect(() => checkAnnouncement({ ...claimed, signatures }, SET)).to.throw(EntryMismatchError);
    }
  });

  it("checkAnnouncement refuses bad signatures and bad entries with their named errors", async () => {
    const { a } = await announced();
    expect(() => checkAnnouncement({ ...a, signatures: a.signatures.slice(0, 1) }, SET)).to.throw(TooFewSignaturesError);
    expect(() => checkAnnouncement({ ...a, signatures: [...a.signatures].reverse() }, SET)).to.throw(SignersNotSortedError);
    const stranger = editorWallets(1, 9);
    const foreign = await signAll(entryDigest(REF, 0, 2, (await announced()).built.cid), [w0, ...stranger]);
    expect(() => checkAnnouncement({ ...a, signatures: foreign }, SET)).to.throw(ForeignSignatureError);
    expect(() => checkAnnouncement({ ...a, entry: dagCbor.encode({ hello: "world" }) }, SET)).to.throw(MalformedEntryError);
    expect(() => checkAnnouncement({ ...a, entry: new Uint8Array(301 * 1024) }, SET)).to.throw(MalformedAnnouncementError);
    expect(() => encodeAnnouncement({ ...a, entry: new Uint8Array(301 * 1024) })).to.throw(TypeError, /over/);
  });
});
