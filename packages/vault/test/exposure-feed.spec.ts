// The vault's side of exposure notification that needs no risk model: its keys from the seed (recovery restores
// them, 14 days kept), scans checked strictly, and following a health authority's key feed on a real chain and Helia
// on loopback — incrementally, and refusing batches signed by another key or whose seq skips, with the cache unchanged.
import { randomBytes } from "node:crypto";
import {
  type Advertisement,
  checkKeyAge,
  encodeKeyBatch,
  KeyExpiredError,
  type KeyBatch,
  type ScanRecord,
  WrongSignerError,
} from "@mosaic/exposure";
import { putBlock } from "@mosaic/protocol";
import { expect } from "chai";
import { type Signer, Wallet } from "ethers";
import { expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  advertise,
  currentKey,
  type FeedRef,
  followKeyFeed,
  KeyFeedMismatchError,
  KeyFeedSequenceError,
  MalformedScanError,
  recordScans,
  recordScansFrom,
  storedScans,
  temporaryExposureKey,
  UnknownKeyFeedError,
  Vault,
  KeyBatchFromFutureError,
} from "../src/index.js";

import { cachedFeeds, DAY, type ExposureWorld, exposureWorld, randomKey, unixDayOf } from "./exposure-world.js";

const now = Math.floor(Date.now() / 1000);
const today = unixDayOf(now);

/** A radio that keeps what it was told to advertise. */
function recordingRadio() {
  const sent: Advertisement[] = [];
  return { sent, advertise: async (a: Advertisement) => void sent.push(a) };
}

describe("vault exposure: keys from the seed and scans (no network)", () => {
  it("recovery restores the same keys: a vault opened again from the seed derives the same TEKs and advertisements", async () => {
    const seed = randomBytes(32);
    const [vault, restored] = [await Vault.open(memoryStores(), { rootSeed: seed }), await Vault.open(memoryStores(), { rootSeed: seed })];
    const stranger = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    for (let day = today - 14; day <= today; day++)
      expect(temporaryExposureKey(restored, day, now)).to.deep.equal(temporaryExposureKey(vault, day, now));
    expect(temporaryExposureKey(stranger, today, now).key).to.not.deep.equal(temporaryExposureKey(vault, today, now).key);
    const [a, b] = [recordingRadio(), recordingRadio()];
    await advertise(vault, a, now);
    await advertise(restored, b, now);
    expect(b.sent).to.deep.equal(a.sent);
    expect(currentKey(restored, now).rollingStartIntervalNumber).to.equal(today * 144);
  });

  it("refuses a key older than 14 days with KeyExpiredError", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    expect(() => temporaryExposureKey(vault, today - 15, now)).to.throw(KeyExpiredError, /15 days old/);
    expect(() => checkKeyAge(today - 14, now)).to.not.throw();
  });

  it("stores scans once and reads them back as ScanRecords", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    const scan = { rpi: randomBytes(16), aem: randomBytes(4), t: now - 60, rssi: -61, seconds: 240 };
    expect(await recordScans(vault, [scan, scan])).to.deep.equal({ stored: 1 });
    expect(await recordScans(vault, [scan])).to.deep.equal({ stored: 0 });
    expect(storedScans(vault)).to.deep.equal([{ ...scan, rpi: new Uint8Array(scan.rpi), aem: new Uint8Array(scan.aem) }]);
    expect(storedScans(vault, { from: now })).to.deep.equal([]);
  });

  it("records what a radio hears as it hears it, dropping a malformed scan to onError", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    let listener: ((scan: ScanRecord) => void) | undefined;
    const radio = {
      onScan: (l: (scan: ScanRecord) => void) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    };
    const errors: Error[] = [];
    const stop = recordScansFrom(vault, radio, { onError: (e) => errors.push(e) });
    const heard = { rpi: randomBytes(16), aem: randomBytes(4), t: now - 5, rssi: -70, seconds: 60 };
    listener?.(heard);
    listener?.({ ...heard, rpi: randomBytes(3) });
    stop();
    expect(listener).to.equal(undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(storedScans(vault).map((s) => s.rssi)).to.deep.equal([-70]);
    expect(errors.map((e) => e.name)).to.deep.equal(["MalformedScanError"]);
  });

  it("refuses hostile scan documents by name (hex of the wrong length, rssi as a string) with the collection unchanged", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    const scans = vault.ability("proximity").collection("scans");
    const ok = { rpi: "ab".repeat(16), aem: "cd".repeat(4), t: now, rssi: -60, seconds: 300 };
    await scans.create(ok);
    const before = scans.find();
    const hostile: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, rpi: "ab".repeat(15) }, /scans\.rpi/],
      [{ ...ok, rpi: "AB".repeat(16) }, /scans\.rpi/],
      [{ ...ok, rpi: new Uint8Array(16) }, /scans\.rpi/],
      [{ ...ok, aem: "cd".repeat(5) }, /scans\.aem/],
      [{ ...ok, rssi: "-60" }, /scans\.rssi/],
      [{ ...ok, rssi: -128 }, /scans\.rssi/],
      [{ ...ok, seconds: 1.5 }, /scans\.seconds/],
      [{ ...ok, t: -1 }, /scans\.t/],
      [{ ...ok, extra: 1 }, /scans\.extra/],
    ];
    for (const [doc, re] of hostile) await expectRejects(scans.create(doc), MalformedScanError, re);
    await expectRejects(
      recordScans(vault, [
        { rpi: randomBytes(16), aem: randomBytes(4), t: now, rssi: -60, seconds: 10 },
        { rpi: randomBytes(16), aem: randomBytes(4), t: now, rssi: "-60" as unknown as number, seconds: 10 },
      ]),
      MalformedScanError,
      /scans\[1\]\.rssi/,
    );
    expect(scans.find()).to.deep.equal(before);
  });
});

describe("vault exposure: following a key feed (real chain, Helia on loopback)", function () {
  this.timeout(300_000);
  let world: ExposureWorld;
  let vault: Vault;

  before(async () => {
    world = await exposureWorld(now);
    vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
  });
  after(async () => {
    await vault?.close();
    await world?.close();
  });

  it("follows a feed incrementally: stops at the batch it holds, and at batches older than 14 days", async () => {
    const feed = await world.newFeed();
    const old = await world.publishBatch(feed, { seq: 1, prev: null, createdAt: now - 20 * DAY, keys: [randomKey(today - 30)] });
    const first = await world.publishBatch(feed, {
      seq: 2,
      prev: old.cid.toString(),
      createdAt: now - 2 * DAY,
      keys: [randomKey(today - 3)],
    });
    const seen: number[] = [];
    const onBatch = (b: { seq: number }) => seen.push(b.seq);
    const keys1 = await followKeyFeed(world.components, vault, feed.feedId, { now, onBatch });
    expect(seen).to.deep.equal([2]);
    expect(keys1).to.have.length(1);
    await followKeyFeed(world.components, vault, feed.feedId, { now, onBatch });
    expect(seen, "nothing new on-chain: nothing fetched").to.deep.equal([2]);
    const batch3 = [randomKey(today - 1), randomKey(today - 2)];
    await world.publishBatch(feed, { seq: 3, prev: first.cid.toString(), keys: batch3 });
    const keys3 = await followKeyFeed(world.components, vault, feed.feedId, { now, onBatch });
    expect(seen).to.deep.equal([2, 3]);
    expect(keys3).to.deep.equal([...keys1, ...batch3]);
    // Another feed's keys are another feed's.
    const other = await world.newFeed();
    expect(await followKeyFeed(world.components, vault, other.feedId, { now })).to.deep.equal([]);
  });

  it("refuses a batch signed by another key (WrongSignerError) with the cache unchanged", async () => {
    const feed = await world.newFeed();
    const good = await world.publishBatch(feed, { seq: 1, prev: null, keys: [randomKey(today - 1)] });
    await followKeyFeed(world.components, vault, feed.feedId, { now });
    const before = cachedFeeds(vault);
    await world.publishBatch(feed, { seq: 2, prev: good.cid.toString(), keys: [randomKey(today - 1)] }, { signer: Wallet.createRandom() });
    await expectRejects(followKeyFeed(world.components, vault, feed.feedId, { now }), WrongSignerError, /not by the feed's authority/);
    expect(cachedFeeds(vault)).to.deep.equal(before);
  });

  it("refuses a feed whose seq skips (KeyFeedSequenceError) with the cache unchanged", async () => {
    const feed = await world.newFeed();
    const good = await world.publishBatch(feed, { seq: 1, prev: null, keys: [randomKey(today - 2)] });
    await followKeyFeed(world.components, vault, feed.feedId, { now });
    const before = cachedFeeds(vault);
    // The chain's seq 2 points at a batch that says it is seq 3: batch 2 is missing.
    await world.publishBatch(feed, { seq: 3, prev: good.cid.toString(), keys: [randomKey(today - 1)] }, { anchorSeq: 2 });
    await expectRejects(followKeyFeed(world.components, vault, feed.feedId, { now }), KeyFeedSequenceError, /seq 3 where 2/);
    expect(cachedFeeds(vault)).to.deep.equal(before);
  });

  it("refuses another feed's batch anchored on this one (KeyFeedMismatchError) with the cache unchanged", async () => {
    const [feed, other] = [await world.newFeed(), await world.newFeed()];
    const good = await world.publishBatch(feed, { seq: 1, prev: null, keys: [randomKey(today - 2)] });
    await followKeyFeed(world.components, vault, feed.feedId, { now });
    const before = cachedFeeds(vault);
    // Signed by the same authority, but made for the other feed: replayed here as seq 2 it must not count.
    const replayed = await encodeKeyBatch(
      { version: 1, ...other, seq: 2, prev: good.cid.toString(), createdAt: now, uploads: [], keys: [randomKey(today - 1)] },
      world.authority,
    );
    await putBlock(world.authorityNode.blockstore, replayed);
    await (await world.feeds.connect(world.authority).publishKeys(feed.feedId, 2, replayed.cid.bytes, 1)).wait();
    await expectRejects(
      followKeyFeed(world.components, vault, feed.feedId, { now }),
      KeyFeedMismatchError,
      new RegExp(`feed ${other.feedId}`),
    );
    expect(cachedFeeds(vault)).to.deep.equal(before);
  });

  it("the proximity timer forgets fetched batches older than 14 days", async () => {
    let clock = now * 1000;
    const own = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => clock });
    try {
      const feed = await world.newFeed();
      const old = await world.publishBatch(feed, { seq: 1, prev: null, createdAt: now - 13 * DAY, keys: [randomKey(today - 14)] });
      await world.publishBatch(feed, { seq: 2, prev: old.cid.toString(), createdAt: now - DAY, keys: [randomKey(today - 2)] });
      expect(await followKeyFeed(world.components, own, feed.feedId, { now })).to.have.length(2);
      clock += 2 * DAY * 1000;
      expect((await own.dispatch("timer")).proximity).to.deep.equal({ pruned: 0, prunedBatches: 1 });
      expect(cachedFeeds(own).map((d) => d.seq)).to.deep.equal([2]);
      // Following again fetches nothing: the batch it holds is the head.
      const seen: number[] = [];
      await followKeyFeed(world.components, own, feed.feedId, { now: now + 2 * DAY, onBatch: (b) => seen.push(b.seq) });
      expect(seen).to.deep.equal([]);
    } finally {
      await own.close();
    }
  });

  describe("across a transfer of the feed", () => {
    let successor: Signer;
    before(() => {
      successor = world.chain.accounts[2] as Signer;
    });

    /** Signs a batch (as `signer`, the anchorer by default), puts it on the authority's node, anchors it as `anchorer`. */
    async function publishAs(
      feed: FeedRef,
      anchorer: Signer,
      fields: Pick<KeyBatch, "seq" | "prev" | "keys"> & { createdAt?: number },
      signer = anchorer,
    ) {
      const block = await encodeKeyBatch({ version: 1, ...feed, uploads: [], createdAt: now, ...fields }, signer);
      await putBlock(world.authorityNode.blockstore, block);
      await (await world.feeds.connect(anchorer).publishKeys(feed.feedId, fields.seq, block.cid.bytes, fields.keys.length)).wait();
      return block;
    }
    const transfer = async (feed: FeedRef, from: Signer, to: Signer) =>
      (await world.feeds.connect(from).transferFeed(feed.feedId, await to.getAddress())).wait();

    it("a new vault follows the feed: old batches checked against the old authority, new ones against the new", async () => {
      const feed = await world.newFeed();
      const keys1 = [randomKey(today - 4)];
      const keys2 = [randomKey(today - 3)];
      const b1 = await world.publishBatch(feed, { seq: 1, prev: null, createdAt: now - 3 * DAY, keys: keys1 });
      const b2 = await world.publishBatch(feed, { seq: 2, prev: b1.cid.toString(), createdAt: now - 2 * DAY, keys: keys2 });
      // A vault that followed before the transfer.
      const early = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
      const fresh = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
      try {
        expect(await followKeyFeed(world.components, early, feed.feedId, { now })).to.deep.equal([...keys1, ...keys2]);
        await transfer(feed, world.authority, successor);
        const keys3 = [randomKey(today - 1)];
        await publishAs(feed, successor, { seq: 3, prev: b2.cid.toString(), keys: keys3 });
        const seen: number[] = [];
        expect(await followKeyFeed(world.components, early, feed.feedId, { now, onBatch: (b) => seen.push(b.seq) })).to.deep.equal([
          ...keys1,
          ...keys2,
          ...keys3,
        ]);
        expect(seen, "the early vault fetches only the new batch").to.deep.equal([3]);
        // A vault that starts after the transfer walks back through both authorities' batches.
        expect(await followKeyFeed(world.components, fresh, feed.feedId, { now })).to.deep.equal([...keys1, ...keys2, ...keys3]);
        expect(cachedFeeds(fresh).map((d) => d.seq)).to.deep.equal([1, 2, 3]);
      } finally {
        await early.close();
        await fresh.close();
      }
    });

    it("refuses a batch the new authority signed but the old one anchored before the transfer (WrongSignerError), caching nothing", async () => {
      const feed = await world.newFeed();
      // The old authority anchors a batch the successor's key signed; then hands the feed on.
      const b1 = await publishAs(
        feed,
        world.authority,
        { seq: 1, prev: null, createdAt: now - DAY, keys: [randomKey(today - 2)] },
        successor,
      );
      await transfer(feed, world.authority, successor);
      await publishAs(feed, successor, { seq: 2, prev: b1.cid.toString(), keys: [randomKey(today - 1)] });
      const before = cachedFeeds(vault);
      await expectRejects(followKeyFeed(world.components, vault, feed.feedId, { now }), WrongSignerError, /not by the feed's authority/);
      expect(cachedFeeds(vault)).to.deep.equal(before);
    });

    it("refuses a batch the old authority signed but the new one anchored after the transfer (WrongSignerError), caching nothing", async () => {
      const feed = await world.newFeed();
      const b1 = await world.publishBatch(feed, { seq: 1, prev: null, keys: [randomKey(today - 2)] });
      await transfer(feed, world.authority, successor);
      // The old key is no longer the feed's: a batch it signed, anchored by the successor, must not count.
      await publishAs(feed, successor, { seq: 2, prev: b1.cid.toString(), keys: [randomKey(today - 1)] }, world.authority);
      const before = cachedFeeds(vault);
      await expectRejects(followKeyFeed(world.components, vault, feed.feedId, { now }), WrongSignerError, /not by the feed's authority/);
      expect(cachedFeeds(vault)).to.deep.equal(before);
    });
  });

  it("judges a batch's age before its signature: one older than 14 days ends the walk whoever signed it", async () => {
    const feed = await world.newFeed();
    // A key that has since been lost or rotated signed an old batch; nothing of it would be used anyway.
    const old = await world.publishBatch(
      feed,
      { seq: 1, prev: null, createdAt: now - 20 * DAY, keys: [randomKey(today - 21)] },
      { signer: Wallet.createRandom() },
    );
    const recent = [randomKey(today - 1)];
    await world.publishBatch(feed, { seq: 2, prev: old.cid.toString(), keys: recent });
    const own = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    try {
      expect(await followKeyFeed(world.components, own, feed.feedId, { now })).to.deep.equal(recent);
      expect(cachedFeeds(own).map((d) => d.seq)).to.deep.equal([2]);
    } finally {
      await own.close();
    }
  });

  it("refuses a batch dated more than 10 minutes in the future (KeyBatchFromFutureError), caching nothing", async () => {
    const feed = await world.newFeed();
    const good = await world.publishBatch(feed, { seq: 1, prev: null, keys: [randomKey(today - 2)] });
    await followKeyFeed(world.components, vault, feed.feedId, { now });
    const before = cachedFeeds(vault);
    // Dated ahead, it would never be pruned by age; its keys are of days before its date, so a far date passes checkKeyBatch.
    await world.publishBatch(feed, { seq: 2, prev: good.cid.toString(), createdAt: now + 601, keys: [randomKey(today - 1)] });
    await expectRejects(followKeyFeed(world.components, vault, feed.feedId, { now }), KeyBatchFromFutureError, /after now/);
    expect(cachedFeeds(vault)).to.deep.equal(before);
    // Within the 10 minutes of clock skew allowed, it is taken.
    expect(await followKeyFeed(world.components, vault, feed.feedId, { now: now + 1 })).to.have.length(2);
  });

  it("names a feed the contract does not have (UnknownKeyFeedError), caching nothing", async () => {
    const before = cachedFeeds(vault);
    await expectRejects(followKeyFeed(world.components, vault, 10_000n, { now }), UnknownKeyFeedError, /no feed 10000/);
    expect(cachedFeeds(vault)).to.deep.equal(before);
  });
});
