import type { CID } from "@mosaic/protocol";
import { expect } from "chai";
import { type AlertFeedRef, type CapAlert, capKey, encodeEntry, type FeedItem, feedView, parseCapTime } from "../src/index.js";
import { editorWallets, FeedBuilder, REF, sampleCap } from "./fixtures/feed.js";

const NOW = parseCapTime("2026-12-06T10:00:00+01:00");

/** The feed's entries for these alerts, in order (chained, as a verified feed's are). */
function entries(caps: CapAlert[], ref: AlertFeedRef = REF) {
  let prev: CID | null = null;
  return caps.map((cap, i) => {
    const block = encodeEntry({ v: 1, feed: ref, seq: i + 1, epoch: 0, prev, cap });
    prev = block.cid;
    return { ref, seq: i + 1, cid: block.cid, entry: { v: 1 as const, feed: ref, seq: i + 1, epoch: 0, prev: null, cap } };
  });
}

const alert = (id: string, extra: Partial<CapAlert> = {}) => sampleCap({ identifier: id, ...extra });
const keyOf = (cap: CapAlert) => capKey(cap);
const states = (items: FeedItem[]) => items.map((i) => [i.seq, i.state, i.by?.seq]);

describe("alerts feed view", () => {
  it("an alert stands until it expires", () => {
    const a = alert("A");
    const view = feedView(entries([a]), NOW);
    expect(view).to.have.length(1);
    expect(view[0]).to.include({ seq: 1, key: keyOf(a), state: "active" });
    expect(feedView(entries([a]), parseCapTime("2026-12-13T10:00:00+01:00"))[0]?.state).to.equal("expired");
    // An info without expires never expires; an alert expires only when every info has.
    const open = alert("B", { info: [{ ...(a.info[0] as CapAlert["info"][0]), expires: undefined as never }] });
    delete (open.info[0] as { expires?: string }).expires;
    expect(feedView(entries([open]), parseCapTime("2030-01-01T00:00:00+00:00"))[0]?.state).to.equal("active");
  });

  it("an Update supersedes what it references and is active itself; a Cancel cancels, and its record stays", () => {
    const a = alert("A");
    const b = alert("B");
    const update = alert("A2", { msgType: "Update", references: keyOf(a) });
    const cancel = alert("C", { msgType: "Cancel", references: `${keyOf(update)} ${keyOf(b)}` });
    const view = feedView(entries([a, b, update, cancel]), NOW);
    expect(states(view)).to.deep.equal([
      [1, "updated", 3],
      [2, "cancelled", 4],
      [3, "cancelled", 4],
      [4, "record", undefined],
    ]);
    expect(view[0]?.by).to.deep.equal({ seq: 3, key: keyOf(update) });
    // Ack and Error messages are records too.
    expect(states(feedView(entries([alert("K", { msgType: "Ack" }), alert("E", { msgType: "Error" })]), NOW))).to.deep.equal([
      [1, "record", undefined],
      [2, "record", undefined],
    ]);
  });

  it("a cancellation stands even when an Update follows it", () => {
    const a = alert("A");
    const cancel = alert("C", { msgType: "Cancel", references: keyOf(a) });
    const update = alert("U", { msgType: "Update", references: keyOf(a) });
    expect(states(feedView(entries([a, cancel, update]), NOW))).to.deep.equal([
      [1, "cancelled", 2],
      [2, "record", undefined],
      [3, "active", undefined],
    ]);
  });

  it("a message cannot cancel itself or a later one, and references outside the feed change nothing", () => {
    const later = alert("L");
    const selfCancel = alert("S", { msgType: "Cancel" });
    selfCancel.references = keyOf(selfCancel);
    const early = alert("E", { msgType: "Cancel", references: keyOf(later) });
    const stranger = alert("X", { msgType: "Cancel", references: "someone@else.example,Z-1,2026-12-01T00:00:00+00:00" });
    expect(states(feedView(entries([early, selfCancel, later, stranger]), NOW))).to.deep.equal([
      [1, "record", undefined],
      [2, "record", undefined],
      [3, "active", undefined],
      [4, "record", undefined],
    ]);
  });

  it("a Cancel in another feed does not touch this feed's alert of the same key", () => {
    const a = alert("A");
    const other = { ...REF, feedId: 2 };
    const mine = entries([a]);
    const theirs = entries([alert("Q"), alert("C", { msgType: "Cancel", references: keyOf(a) })], other);
    const view = feedView([...mine, ...theirs], NOW);
    expect(view.map((i) => i.state)).to.deep.equal(["active", "active", "record"]);
  });

  it("a reference applies to every earlier message with its key: a Cancel of a key published twice cancels both (review21)", async () => {
    // The review's proof, on signed entries as a verified feed holds them: the same alert anchored twice, then cancelled.
    const feed = new FeedBuilder(REF, editorWallets(1));
    const a = alert("A");
    await feed.add(a);
    await feed.add(a);
    await feed.add(alert("C1", { msgType: "Cancel", references: keyOf(a), info: [] }));
    const view = feedView(
      feed.entries.map((b) => ({ ref: REF, seq: b.seq, cid: b.cid, entry: b.entry })),
      NOW,
    );
    expect(states(view)).to.deep.equal([
      [1, "cancelled", 3],
      [2, "cancelled", 3],
      [3, "record", undefined],
    ]);
    // An Update supersedes every copy too; only earlier ones: a copy published after the Update stands.
    const update = alert("U", { msgType: "Update", references: keyOf(a) });
    expect(states(feedView(entries([a, a, update, a]), NOW))).to.deep.equal([
      [1, "updated", 3],
      [2, "updated", 3],
      [3, "active", undefined],
      [4, "active", undefined],
    ]);
    // A reference named twice counts once; a cancelled copy stays cancelled when an Update of the key follows.
    const twice = alert("C2", { msgType: "Cancel", references: `${keyOf(a)} ${keyOf(a)}` });
    expect(states(feedView(entries([a, twice, a, update]), NOW))).to.deep.equal([
      [1, "cancelled", 2],
      [2, "record", undefined],
      [3, "updated", 4],
      [4, "active", undefined],
    ]);
    expect(() => feedView([], Number.NaN)).to.throw(RangeError);
  });

  it("records stay records: a Cancel of a key that names an earlier Cancel (the same Cancel published twice) changes neither", () => {
    const a = alert("A");
    const cancel = alert("C", { msgType: "Cancel", references: keyOf(a) });
    expect(states(feedView(entries([a, cancel, cancel]), NOW))).to.deep.equal([
      [1, "cancelled", 3],
      [2, "record", undefined],
      [3, "record", undefined],
    ]);
    const selfNaming = alert("S", { msgType: "Cancel" });
    selfNaming.references = keyOf(selfNaming);
    expect(states(feedView(entries([selfNaming, selfNaming]), NOW))).to.deep.equal([
      [1, "record", undefined],
      [2, "record", undefined],
    ]);
  });
});
