import * as dagCbor from "@ipld/dag-cbor";
import { type AlertFeeds, AlertFeeds__factory, CID, type ChainConnection, findEvent } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { MemoryBlockstore } from "blockstore-core";
import { expect } from "chai";
import { getBytes, hexlify, type Signer } from "ethers";
import {
  type AlertFeedRef,
  alertFeedChain,
  alertFeedRef,
  BlockMismatchError,
  EntryMismatchError,
  EntryTooLargeError,
  editorsDigest,
  encodeAnnouncement,
  encodeEntry,
  entryCidOf,
  entryDigest,
  FeedUnavailableError,
  ForeignSignatureError,
  ForkedFeedError,
  MalformedEntryError,
  MalformedSignatureError,
  SignersNotSortedError,
  type FeedGap,
  feedSyncErrorInfo,
  InvalidCapError,
  StaleHeadError,
  syncFeed,
  syncFeedSkipping,
  TooFewSignaturesError,
  UnclosedPolygonError,
  UnknownAlertFeedError,
  type VerifiedEntry,
} from "../src/index.js";
import {
  type BuiltEntry,
  editorSet,
  editorWallets,
  FakeChain,
  FeedBuilder,
  MemoryBlocks,
  REF,
  rejects,
  sampleCap,
  signAll,
} from "./fixtures/feed.js";

const wallets = editorWallets(3);
const SET = editorSet(wallets, 2);
const [w0, w1, w2] = wallets as [(typeof wallets)[0], (typeof wallets)[0], (typeof wallets)[0]];
const stranger = editorWallets(1, 9)[0] as (typeof wallets)[0];

/** An honest feed of `count` alerts signed by editors 0 and 1, anchored, with every block served. */
async function honestFeed(count: number) {
  const feed = new FeedBuilder(REF, [w0, w1]);
  for (let i = 1; i <= count; i++) await feed.add(sampleCap({ identifier: `A-${i}` }));
  const chain = new FakeChain(REF.feedId, SET);
  chain.anchor(...feed.entries);
  const blocks = new MemoryBlocks(feed.entries);
  return { feed, chain, blocks };
}

/** A copy of entry `b` with fields changed, re-encoded and re-signed by `signers` (what a dishonest feed would anchor). */
async function forged(
  b: BuiltEntry,
  patch: Partial<BuiltEntry["entry"]>,
  signers = [w0, w1],
  ref: AlertFeedRef = REF,
): Promise<BuiltEntry> {
  const entry = { ...b.entry, ...patch };
  const block = encodeEntry(entry);
  const signatures = await signAll(entryDigest(ref, b.epoch, b.seq, block.cid), signers);
  return { ...b, cid: block.cid, bytes: block.bytes, entry, signatures };
}

const seqs = (v: VerifiedEntry[]) => v.map((e) => e.seq);

describe("alerts syncFeed", () => {
  describe("an honest feed", () => {
    it("syncs every entry, oldest first, checked, with the signers; from a known entry only the later ones", async () => {
      const { feed, chain, blocks } = await honestFeed(5);
      const progress: number[][] = [];
      const all = await syncFeed(REF, chain, blocks, { onProgress: (d, t) => progress.push([d, t]) });
      expect(seqs(all)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(all[2]?.cid.equals(feed.entries[2]?.cid as CID)).to.equal(true);
      expect(all[0]?.signers).to.deep.equal([w0.address, w1.address]);
      expect(all[4]?.entry.cap.identifier).to.equal("A-5");
      expect(progress.at(-1)).to.deep.equal([5, 5]);
      chain.calls.length = 0;
      blocks.asked.length = 0;
      const later = await syncFeed(REF, chain, blocks, { known: { seq: 3, cid: feed.entries[2]?.cid as CID } });
      expect(seqs(later)).to.deep.equal([4, 5]);
      // Only the seqs needed are asked of the chain (the known one, to check it), and only the new blocks fetched.
      expect(chain.calls).to.deep.equal([{ fromSeq: 3, toSeq: 5 }]);
      expect(blocks.asked).to.have.length(2);
      expect(await syncFeed(REF, chain, blocks, { known: { seq: 5, cid: feed.entries[4]?.cid as CID } })).to.deep.equal([]);
      expect(await syncFeed(REF, new FakeChain(1, SET), blocks)).to.deep.equal([]);
    });

    it("reads a Helia-style blockstore (chunks), and returns at most maxEntries per call", async () => {
      const { feed, chain } = await honestFeed(4);
      const store = new MemoryBlockstore();
      for (const b of feed.entries) await store.put(b.cid, b.bytes);
      const first = await syncFeed(REF, chain, store, { maxEntries: 3 });
      expect(seqs(first)).to.deep.equal([1, 2, 3]);
      const rest = await syncFeed(REF, chain, store, { known: { seq: 3, cid: first[2]?.cid as CID } });
      expect(seqs(rest)).to.deep.equal([4]);
    });

    it("fetches ahead at most `concurrency` blocks at once, and stops fetching once a block is refused", async () => {
      const { feed, chain, blocks } = await honestFeed(12);
      let inFlight = 0;
      let most = 0;
      const slow = {
        async get(cid: CID) {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          return blocks.get(cid);
        },
      };
      expect(seqs(await syncFeed(REF, chain, slow, { concurrency: 3 }))).to.have.length(12);
      expect(most).to.equal(3);
      blocks.blocks.delete(feed.entries[1]?.cid.toString() as string);
      blocks.asked.length = 0;
      await rejects(syncFeed(REF, chain, slow, { concurrency: 3 }), FeedUnavailableError, /entry 2/);
      expect(blocks.asked.length).to.be.at.most(5);
    });

    it("checks each epoch's entries against that epoch's editors after a rotation", async () => {
      const { feed, chain, blocks } = await honestFeed(2);
      const next = editorWallets(2, 5);
      chain.rotate(editorSet(next, 1));
      feed.epoch = 1;
      feed.signers = [next[1] as never];
      const third = await feed.add(sampleCap({ identifier: "A-3" }));
      chain.anchor(third);
      blocks.blocks.set(third.cid.toString(), third.bytes);
      const all = await syncFeed(REF, chain, blocks);
      expect(all.map((e) => [e.seq, e.epoch, e.signers.length])).to.deep.equal([
        [1, 0, 2],
        [2, 0, 2],
        [3, 1, 1],
      ]);
      // The old editors cannot sign for the new epoch.
      const stale = await forged(third, { cap: sampleCap({ identifier: "A-3b" }) }, [w0, w1]);
      chain.anchor(stale);
      blocks.blocks.set(stale.cid.toString(), stale.bytes);
      await rejects(syncFeed(REF, chain, blocks), ForeignSignatureError);
    });
  });

  describe("a replica that withholds or forges", () => {
    it("a withheld block is FeedUnavailableError naming the seq, carrying the entries verified before it", async () => {
      const { feed, chain, blocks } = await honestFeed(5);
      blocks.blocks.delete(feed.entries[3]?.cid.toString() as string);
      const err = await rejects(syncFeed(REF, chain, blocks), FeedUnavailableError, /entry 4/);
      expect(err.seq).to.equal(4);
      expect(seqs(err.verified as VerifiedEntry[])).to.deep.equal([1, 2, 3]);
    });

    it("another block served for a CID is BlockMismatchError naming the seq", async () => {
      const { feed, chain, blocks } = await honestFeed(3);
      blocks.blocks.set(feed.entries[1]?.cid.toString() as string, feed.entries[2]?.bytes as Uint8Array);
      const err = await rejects(syncFeed(REF, chain, blocks), BlockMismatchError, /entry 2/);
      expect(err.seq).to.equal(2);
    });

    it("an oversize block is EntryTooLargeError, read no further than the limit", async () => {
      const { chain, blocks, feed } = await honestFeed(1);
      const huge = new Uint8Array(301 * 1024);
      const cid = entryCidOf(huge);
      chain.anchor({ ...(feed.entries[0] as BuiltEntry), seq: 2, cid, bytes: huge });
      blocks.blocks.set(cid.toString(), huge);
      await rejects(syncFeed(REF, chain, blocks), EntryTooLargeError, /entry 2/);
    });

    it("another kind of block anchored as an entry (an announcement, an editors draft, a bare alert) is MalformedEntryError", async () => {
      const { feed } = await honestFeed(1);
      const first = feed.entries[0] as BuiltEntry;
      const others = [
        encodeAnnouncement({ v: 1, feed: REF, seq: 1, epoch: 0, entry: first.bytes, signatures: first.signatures }),
        dagCbor.encode({ v: 1, kind: "editors", feed: REF, epoch: 0, editors: SET.editors, threshold: 2, signatures: [] }),
        dagCbor.encode(sampleCap()),
      ];
      for (const bytes of others) {
        const cid = entryCidOf(bytes);
        const chain = new FakeChain(1, SET);
        chain.anchor({ ...first, cid, bytes, signatures: await signAll(entryDigest(REF, 0, 1, cid), [w0, w1]) });
        const blocks = new MemoryBlocks();
        blocks.blocks.set(cid.toString(), bytes);
        await rejects(syncFeed(REF, chain, blocks), MalformedEntryError);
      }
    });
  });

  describe("entries that do not chain or do not match the chain", () => {
    it("an entry whose prev skips one, or links an entry the chain never anchored, is ForkedFeedError", async () => {
      const { feed, chain, blocks } = await honestFeed(3);
      const third = feed.entries[2] as BuiltEntry;
      const skip = await forged(third, { prev: feed.entries[0]?.cid as CID });
      const side = await forged(feed.entries[1] as BuiltEntry, { cap: sampleCap({ identifier: "side" }) });
      const fork = await forged(third, { prev: side.cid });
      for (const bad of [skip, fork]) {
        chain.anchor(bad);
        blocks.blocks.set(bad.cid.toString(), bad.bytes);
        await rejects(syncFeed(REF, chain, blocks), ForkedFeedError, /entry 3/);
      }
    });

    it("an entry anchored at another seq, epoch or feed than it names is EntryMismatchError", async () => {
      const { feed, chain, blocks } = await honestFeed(3);
      const second = feed.entries[1] as BuiltEntry;
      const cases = [
        await forged(second, { seq: 3 }),
        await forged(second, { epoch: 1 }),
        await forged(second, { feed: { ...REF, feedId: 2 } }),
        await forged(second, { feed: { ...REF, chainId: 1 } }),
      ];
      for (const bad of cases) {
        chain.anchor(bad);
        blocks.blocks.set(bad.cid.toString(), bad.bytes);
        const err = await rejects(syncFeed(REF, chain, blocks), EntryMismatchError);
        expect(err.seq).to.equal(2);
      }
    });
  });

  describe("signatures the chain's events carry", () => {
    // AlertFeeds refuses all of these; a lying chain node could still serve them.
    async function withSignatures(make: (digest: Uint8Array, good: Uint8Array[]) => Promise<Uint8Array[]>) {
      const { feed, chain, blocks } = await honestFeed(2);
      const second = feed.entries[1] as BuiltEntry;
      const digest = entryDigest(REF, 0, 2, second.cid);
      chain.anchor({ ...second, signatures: await make(digest, second.signatures) });
      return syncFeed(REF, chain, blocks);
    }

    it("a foreign key, too few, duplicated, unsorted, a high-s twin: the contract's errors", async () => {
      await rejects(
        withSignatures((d) => signAll(d, [w0, stranger])),
        ForeignSignatureError,
      );
      await rejects(
        withSignatures(async (_d, good) => good.slice(0, 1)),
        TooFewSignaturesError,
      );
      await rejects(
        withSignatures(async (_d, good) => [good[0] as Uint8Array, good[0] as Uint8Array]),
        SignersNotSortedError,
      );
      await rejects(
        withSignatures(async (_d, good) => [...good].reverse()),
        SignersNotSortedError,
      );
      await rejects(
        withSignatures(async (_d, good) => {
          const twin = (good[0] as Uint8Array).slice();
          let s = BigInt(hexlify(twin.slice(32, 64)));
          s = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n - s;
          twin.set(getBytes(`0x${s.toString(16).padStart(64, "0")}`), 32);
          twin[64] = twin[64] === 27 ? 28 : 27;
          return [twin, good[1] as Uint8Array];
        }),
        MalformedSignatureError,
      );
    });

    it("signatures made for another feed, seq, epoch, chain or for an editor change are ForeignSignatureError", async () => {
      const cid = (await honestFeed(2)).feed.entries[1]?.cid as CID;
      for (const digest of [
        entryDigest({ ...REF, feedId: 2 }, 0, 2, cid),
        entryDigest(REF, 0, 3, cid),
        entryDigest(REF, 1, 2, cid),
        entryDigest({ ...REF, chainId: 10 }, 0, 2, cid),
        editorsDigest(REF, 0, SET.editors, 2),
      ])
        await rejects(
          withSignatures(() => signAll(digest, [w0, w1])),
          ForeignSignatureError,
        );
    });
  });

  describe("heads", () => {
    it("a known entry the chain's history does not contain is ForkedFeedError, at the head or before it", async () => {
      const { chain, blocks } = await honestFeed(3);
      const other = encodeEntry({
        v: 1,
        feed: REF,
        seq: 2,
        epoch: 0,
        prev: encodeEntry({ v: 1, feed: REF, seq: 1, epoch: 0, prev: null, cap: sampleCap() }).cid,
        cap: sampleCap({ identifier: "Z" }),
      });
      await rejects(syncFeed(REF, chain, blocks, { known: { seq: 2, cid: other.cid } }), ForkedFeedError, /does not contain/);
      const head = encodeEntry({ v: 1, feed: REF, seq: 3, epoch: 0, prev: other.cid, cap: sampleCap({ identifier: "Y" }) });
      await rejects(syncFeed(REF, chain, blocks, { known: { seq: 3, cid: head.cid } }), ForkedFeedError);
    });

    it("a head older than the entry known, or events missing for the head's seqs, is StaleHeadError", async () => {
      const { feed, chain, blocks } = await honestFeed(3);
      const known = { seq: 3, cid: feed.entries[2]?.cid as CID };
      chain.head = { seq: 2, epoch: 0, entryCid: feed.entries[1]?.cid as CID };
      await rejects(syncFeed(REF, chain, blocks, { known }), StaleHeadError, /older/);
      chain.head = { seq: 4, epoch: 0, entryCid: feed.entries[2]?.cid as CID };
      await rejects(syncFeed(REF, chain, blocks), StaleHeadError, /no AlertAnchored event for entry 4/);
      chain.head = { seq: 3, epoch: 0, entryCid: feed.entries[1]?.cid as CID };
      await rejects(syncFeed(REF, chain, blocks), StaleHeadError, /inconsistent/);
    });

    it("a refused sync leaves nothing behind: the same call succeeds once the feed is whole", async () => {
      const { feed, chain, blocks } = await honestFeed(3);
      const bytes = feed.entries[1]?.bytes as Uint8Array;
      blocks.blocks.delete(feed.entries[1]?.cid.toString() as string);
      const known = { seq: 1, cid: feed.entries[0]?.cid as CID };
      await rejects(syncFeed(REF, chain, blocks, { known }), FeedUnavailableError);
      blocks.blocks.set(feed.entries[1]?.cid.toString() as string, bytes);
      expect(seqs(await syncFeed(REF, chain, blocks, { known }))).to.deep.equal([2, 3]);
      expect(known.seq).to.equal(1);
    });

    it("stops when aborted, and refuses bad arguments", async () => {
      const { chain, blocks } = await honestFeed(2);
      const controller = new AbortController();
      controller.abort();
      const aborted = await syncFeed(REF, chain, blocks, { signal: controller.signal }).catch((err: Error) => err);
      expect((aborted as Error).name).to.equal("AbortError");
      await rejects(syncFeed({ ...REF, contract: "0xABC" }, chain, blocks), TypeError, /contract/);
      await rejects(syncFeed(REF, chain, blocks, { maxEntries: 0 }), RangeError, /maxEntries/);
    });
  });

  describe("on a Hardhat chain with AlertFeeds", function () {
    this.timeout(120_000);
    let chain: ChainConnection;
    let contract: AlertFeeds;
    let submitter: Signer;
    let ref: AlertFeedRef;

    before(async () => {
      chain = await connectInProcessChain();
      submitter = chain.accounts[0] as Signer;
      const deployed = await (await new AlertFeeds__factory(submitter).deploy()).waitForDeployment();
      contract = deployed.connect(chain.provider) as AlertFeeds;
      const receipt = await (await deployed.createFeed(SET.editors, SET.threshold)).wait();
      const feedId = Number(findEvent(receipt, deployed.interface, "FeedCreated").args.feedId);
      ref = { chainId: Number(chain.chainId), contract: (await deployed.getAddress()).toLowerCase(), feedId };
      expect(await alertFeedRef(deployed.connect(chain.provider), feedId)).to.deep.equal(ref);
    });
    after(async () => chain?.close());

    async function anchor(built: BuiltEntry): Promise<void> {
      await (await (contract.connect(submitter) as AlertFeeds).anchor(ref.feedId, built.seq, built.cid.bytes, built.signatures)).wait();
    }

    it("bytes a quorum anchored that are not a CID are a gap over alertFeedChain, and the feed goes on past it", async () => {
      const receipt = await (await (contract.connect(submitter) as AlertFeeds).createFeed(SET.editors, SET.threshold)).wait();
      const own = { ...ref, feedId: Number(findEvent(receipt, contract.interface, "FeedCreated").args.feedId) };
      const feed = new FeedBuilder(own, [w0, w1]);
      const first = await feed.add(sampleCap({ identifier: "N-1" }));
      await (await (contract.connect(submitter) as AlertFeeds).anchor(own.feedId, 1, first.cid.bytes, first.signatures)).wait();
      // The contract checks a CID's length only: two editors anchor 0xdeadbeef at seq 2.
      const junk = getBytes("0xdeadbeef");
      const digest = getBytes(await contract.entryDigest(own.feedId, 0, 2, junk));
      await (await (contract.connect(submitter) as AlertFeeds).anchor(own.feedId, 2, junk, await signAll(digest, [w0, w1]))).wait();
      const third = await feed.add(sampleCap({ identifier: "N-3" }), { entry: { seq: 3, prev: first.cid } });
      await (await (contract.connect(submitter) as AlertFeeds).anchor(own.feedId, 3, third.cid.bytes, third.signatures)).wait();

      const feedChain = alertFeedChain(contract);
      const head = await feedChain.headOf(own.feedId);
      expect(head.seq).to.equal(3);
      const synced = await syncFeedSkipping(own, feedChain, new MemoryBlocks(feed.entries));
      expect(synced.entries.map((e) => e.seq)).to.deep.equal([1, 3]);
      expect(synced.gaps.map((g) => g.seq)).to.deep.equal([2]);
      expect(synced.unavailable).to.equal(undefined);
      // Reading the anchored record alone names no CID that could be fetched as an entry.
      const record = (await feedChain.anchored(own.feedId, 2, 2)).get(2);
      expect(record?.entryCid.code).to.equal(0x55);
      expect(record?.entryCid.multihash.code).to.equal(0x00);
    });

    it("entryDigest and editorsDigest equal the contract's views", async () => {
      const cid = encodeEntry({ v: 1, feed: ref, seq: 1, epoch: 0, prev: null, cap: sampleCap() }).cid;
      for (const [epoch, seq] of [
        [0, 1],
        [3, 99],
        [2 ** 40, 2 ** 50],
      ] as const) {
        expect(hexlify(entryDigest(ref, epoch, seq, cid))).to.equal(await contract.entryDigest(ref.feedId, epoch, seq, cid.bytes));
        expect(hexlify(entryDigest({ ...ref, feedId: 7 }, epoch, seq, cid))).to.equal(await contract.entryDigest(7, epoch, seq, cid.bytes));
      }
      const next = editorWallets(4, 6).map((w) => w.address);
      expect(hexlify(editorsDigest(ref, 0, next, 3))).to.equal(await contract.editorsDigest(ref.feedId, 0, next, 3));
      expect(hexlify(editorsDigest(ref, 5, SET.editors, 1))).to.equal(await contract.editorsDigest(ref.feedId, 5, SET.editors, 1));
    });

    it("syncFeed over alertFeedChain follows the feed through a rotation, in narrow block ranges, and refuses a forged block", async () => {
      const feed = new FeedBuilder(ref, [w0, w2]);
      for (let i = 1; i <= 3; i++) await anchor(await feed.add(sampleCap({ identifier: `H-${i}` })));
      // Rotate to one new editor, threshold 1, signed by two of the current ones.
      const next = editorWallets(1, 8);
      const rotation = await signAll(editorsDigest(ref, 0, [next[0]?.address as string], 1), [w1, w2]);
      await (await (contract.connect(submitter) as AlertFeeds).setEditors(ref.feedId, [next[0]?.address as string], 1, rotation)).wait();
      feed.epoch = 1;
      feed.signers = next;
      await anchor(
        await feed.add(
          sampleCap({ identifier: "H-4", msgType: "Cancel", references: `alerts@berlin.example,H-1,2026-12-05T10:00:00+01:00` }),
        ),
      );

      const blocks = new MemoryBlocks(feed.entries);
      const feedChain = alertFeedChain(contract, { blockRange: 2 });
      const all = await syncFeed(ref, feedChain, blocks);
      expect(all.map((e) => [e.seq, e.epoch, e.signers])).to.deep.equal([
        [1, 0, [w0.address, w2.address]],
        [2, 0, [w0.address, w2.address]],
        [3, 0, [w0.address, w2.address]],
        [4, 1, [next[0]?.address]],
      ]);
      expect(await feedChain.editorsAt(ref.feedId, 0)).to.deep.equal(SET);
      const anchored = await feedChain.anchored(ref.feedId, 2, 3);
      expect([...anchored.keys()].sort()).to.deep.equal([2, 3]);
      // More seqs than the topic filter names: the feed's events filtered here, and only those asked for returned.
      expect([...(await feedChain.anchored(ref.feedId, 2, 101)).keys()].sort()).to.deep.equal([2, 3, 4]);
      await rejects(feedChain.anchored(ref.feedId, 0, 3), RangeError, /fromSeq/);
      await rejects(feedChain.anchored(ref.feedId, 1, 20_000), RangeError, /at most/);
      const later = await syncFeed(ref, feedChain, blocks, { known: { seq: 3, cid: all[2]?.cid as CID } });
      expect(later.map((e) => e.seq)).to.deep.equal([4]);

      blocks.blocks.set(all[1]?.cid.toString() as string, all[0]?.bytes as Uint8Array);
      await rejects(syncFeed(ref, feedChain, blocks), BlockMismatchError, /entry 2/);
      await rejects(feedChain.headOf(99), UnknownAlertFeedError, /no feed 99/);
      await rejects(syncFeed({ ...ref, feedId: 99 }, feedChain, blocks), UnknownAlertFeedError);
    });
  });
});

/** Anchors `bytes` as the next entry of `feed`, signed by editors 0 and 1, as a quorum using any tool could. */
async function anchorRaw(feed: FeedBuilder, bytes: Uint8Array, cid: CID = entryCidOf(bytes)): Promise<BuiltEntry> {
  const seq = feed.entries.length + 1;
  const built = {
    seq,
    epoch: feed.epoch,
    cid,
    bytes,
    entry: undefined as never,
    signatures: await signAll(entryDigest(REF, feed.epoch, seq, cid), [w0, w1]),
  };
  feed.entries.push(built);
  return built;
}

/** A canonical entry object with fields replaced, encoded without validation (what encodeEntry would refuse). */
function rawEntry(feed: FeedBuilder, patch: Record<string, unknown>): Uint8Array {
  const seq = feed.entries.length + 1;
  return dagCbor.encode({
    v: 1,
    feed: REF,
    seq,
    epoch: feed.epoch,
    prev: feed.entries.at(-1)?.cid ?? null,
    cap: sampleCap({ identifier: `A-${seq}` }),
    ...patch,
  });
}

const gapsOf = (gaps: FeedGap[]) => gaps.map((g) => [g.seq, g.error]);

describe("alerts syncFeedSkipping", () => {
  it("review21 brick: an anchored entry with an unclosed polygon is a gap; the entries before and after it are returned", async () => {
    const feed = new FeedBuilder(REF, [w0, w1]);
    const e1 = await feed.add(sampleCap({ identifier: "A1" }));
    const e2 = await feed.add(sampleCap({ identifier: "A2" }));
    const bad = sampleCap({ identifier: "A3" });
    (bad.info[0]?.area[0] as { polygon: string[] }).polygon = ["52.50,13.30 52.50,13.45 52.56,13.45 52.51,13.30"];
    const e3 = await anchorRaw(feed, rawEntry(feed, { cap: bad }));
    await feed.add(sampleCap({ identifier: "A4-URGENT" }));
    const chain = new FakeChain(1, SET);
    chain.anchor(...feed.entries);
    const blocks = new MemoryBlocks(feed.entries);

    // syncFeed still stops at it, but says where and hands over the entries before it.
    const err = await rejects(syncFeed(REF, chain, blocks), UnclosedPolygonError);
    expect(feedSyncErrorInfo(err)?.seq).to.equal(3);
    expect(seqs(feedSyncErrorInfo(err)?.verified ?? [])).to.deep.equal([1, 2]);

    const all = await syncFeedSkipping(REF, chain, blocks);
    expect(seqs(all.entries)).to.deep.equal([1, 2, 4]);
    expect(all.entries[2]?.entry.cap.identifier).to.equal("A4-URGENT");
    expect(gapsOf(all.gaps)).to.deep.equal([[3, "UnclosedPolygonError"]]);
    expect(all.gaps[0]?.cid.equals(e3.cid)).to.equal(true);
    expect(all.gaps[0]?.reason).to.match(/polygon/);
    expect(all.unavailable).to.equal(undefined);
    // A follower that held 1, 2 gets the gap and 4; one that recorded the gap fetches only 4.
    const later = await syncFeedSkipping(REF, chain, blocks, { known: { seq: 2, cid: e2.cid } });
    expect([seqs(later.entries), gapsOf(later.gaps)]).to.deep.equal([[4], [[3, "UnclosedPolygonError"]]]);
    blocks.asked.length = 0;
    const fromGap = await syncFeedSkipping(REF, chain, blocks, { known: { seq: 3, cid: e3.cid } });
    expect([seqs(fromGap.entries), fromGap.gaps]).to.deep.equal([[4], []]);
    expect(blocks.asked).to.deep.equal([feed.entries[3]?.cid.toString()]);
    void e1;
  });

  it("every kind of bad anchored content is a gap, and the sync goes on past each", async () => {
    const feed = new FeedBuilder(REF, [w0, w1]);
    const expected: [number, string][] = [];
    const bad = async (error: string, bytes: Uint8Array, cid?: CID) => {
      const b = await anchorRaw(feed, bytes, cid);
      expected.push([b.seq, error]);
      // After a CID that names no entry, the next entry links the last entry CID (none can link that one).
      const prev = cid === undefined ? undefined : { prev: feed.entries.at(-2)?.cid as CID };
      await feed.add(sampleCap({ identifier: `ok-after-${b.seq}` }), { entry: prev });
    };
    await feed.add(sampleCap({ identifier: "first" }));
    await bad("MalformedEntryError", new Uint8Array([0xff, 0x00, 0x01]));
    await bad("MalformedEntryError", dagCbor.encode(sampleCap()));
    await bad("InvalidCapError", rawEntry(feed, { cap: { ...sampleCap(), status: "Maybe" } }));
    await bad("EntryMismatchError", rawEntry(feed, { epoch: 1 }));
    await bad("EntryMismatchError", rawEntry(feed, { seq: 99 }));
    await bad("EntryMismatchError", rawEntry(feed, { feed: { ...REF, feedId: 2 } }));
    await bad("ForkedFeedError", rawEntry(feed, { prev: feed.entries[0]?.cid }));
    const huge = rawEntry(feed, { cap: { ...sampleCap(), note: "x".repeat(301 * 1024) } });
    await bad("EntryTooLargeError", huge);
    // A record naming no entry (a raw-codec CID): nothing to fetch; the entry after it cannot link it and need not.
    await bad("EntryMismatchError", new Uint8Array(), CID.parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"));
    const chain = new FakeChain(1, SET);
    chain.anchor(...feed.entries);
    // Too few signatures anchored (a lying chain node: the contract would refuse it) for one more entry.
    const tooFew = await feed.add(sampleCap({ identifier: "too-few" }));
    chain.anchor({ ...tooFew, signatures: tooFew.signatures.slice(0, 1) });
    expected.push([tooFew.seq, "TooFewSignaturesError"]);
    const last = await feed.add(sampleCap({ identifier: "last" }));
    chain.anchor(last);
    const blocks = new MemoryBlocks(feed.entries);

    const progress: number[][] = [];
    const all = await syncFeedSkipping(REF, chain, blocks, { onProgress: (d, t) => progress.push([d, t]) });
    expect(gapsOf(all.gaps)).to.deep.equal(expected);
    const gapSeqs = new Set(expected.map(([seq]) => seq));
    expect(seqs(all.entries)).to.deep.equal(feed.entries.map((b) => b.seq).filter((seq) => !gapSeqs.has(seq)));
    expect(all.entries.at(-1)?.entry.cap.identifier).to.equal("last");
    expect(progress.at(-1)).to.deep.equal([last.seq, last.seq]);
    expect(all.unavailable).to.equal(undefined);
    // maxEntries bounds entries and gaps together; the next call goes on from the last one returned.
    const part = await syncFeedSkipping(REF, chain, blocks, { maxEntries: 3 });
    expect([seqs(part.entries), gapsOf(part.gaps)]).to.deep.equal([[1, 3], [[2, "MalformedEntryError"]]]);
    const rest = await syncFeedSkipping(REF, chain, blocks, { known: { seq: 3, cid: feed.entries[2]?.cid as CID } });
    expect(rest.entries.length + rest.gaps.length).to.equal(last.seq - 3);
  });

  it("a withheld block, or other bytes served for a CID, stops with what was verified: not a gap", async () => {
    const { feed, chain, blocks } = await honestFeed(5);
    const second = feed.entries[1] as BuiltEntry;
    const key = second.cid.toString();
    const cases: [string, Uint8Array | undefined][] = [
      ["withheld", undefined],
      ["another entry", feed.entries[2]?.bytes as Uint8Array],
      ["oversize junk", new Uint8Array(301 * 1024).fill(7)],
      ["past the read limit", new Uint8Array(4 * 1024 * 1024 + 1)],
    ];
    for (const [what, bytes] of cases) {
      if (bytes === undefined) blocks.blocks.delete(key);
      else blocks.blocks.set(key, bytes);
      const got = await syncFeedSkipping(REF, chain, blocks);
      expect([what, seqs(got.entries), got.gaps]).to.deep.equal([what, [1], []]);
      expect(got.unavailable?.name, what).to.equal("FeedUnavailableError");
      expect(got.unavailable?.seq).to.equal(2);
      expect(seqs(got.unavailable?.verified as VerifiedEntry[])).to.deep.equal([1]);
      if (what === "another entry" || what === "oversize junk")
        expect((got.unavailable as FeedUnavailableError & { cause: Error }).cause.name, what).to.equal("BlockMismatchError");
    }
    // Oversize junk streamed in chunks (a Helia blockstore) is hashed, not kept, and is not taken for the anchored block.
    const chunked = {
      async *get(cid: CID): AsyncGenerator<Uint8Array> {
        if (!cid.equals(second.cid)) {
          yield await blocks.get(cid);
          return;
        }
        for (let i = 0; i < 40; i++) yield new Uint8Array(16 * 1024);
      },
    };
    const streamed = await syncFeedSkipping(REF, chain, chunked);
    expect([seqs(streamed.entries), streamed.gaps, streamed.unavailable?.seq]).to.deep.equal([[1], [], 2]);
    blocks.blocks.set(key, second.bytes);
    const whole = await syncFeedSkipping(REF, chain, blocks, { known: { seq: 1, cid: feed.entries[0]?.cid as CID } });
    expect([seqs(whole.entries), whole.gaps, whole.unavailable]).to.deep.equal([[2, 3, 4, 5], [], undefined]);
  });

  it("an anchored oversize entry streamed in chunks is a gap once its bytes hash to the anchored CID", async () => {
    const feed = new FeedBuilder(REF, [w0, w1]);
    await feed.add(sampleCap());
    const huge = await anchorRaw(feed, rawEntry(feed, { cap: { ...sampleCap(), note: "y".repeat(400 * 1024) } }));
    await feed.add(sampleCap({ identifier: "after" }));
    const chain = new FakeChain(1, SET);
    chain.anchor(...feed.entries);
    const store = new MemoryBlockstore();
    for (const b of feed.entries) await store.put(b.cid, b.bytes);
    const got = await syncFeedSkipping(REF, chain, store);
    expect([seqs(got.entries), gapsOf(got.gaps)]).to.deep.equal([[1, 3], [[2, "EntryTooLargeError"]]]);
    expect(got.gaps[0]?.cid.equals(huge.cid)).to.equal(true);
  });

  it("the chain's errors are thrown: a known entry not in its history, a stale head, bad arguments", async () => {
    const { feed, chain, blocks } = await honestFeed(3);
    const other = await forged(feed.entries[1] as BuiltEntry, { cap: sampleCap({ identifier: "other" }) });
    await rejects(syncFeedSkipping(REF, chain, blocks, { known: { seq: 2, cid: other.cid } }), ForkedFeedError, /does not contain/);
    chain.head = { seq: 1, epoch: 0, entryCid: feed.entries[0]?.cid as CID };
    await rejects(syncFeedSkipping(REF, chain, blocks, { known: { seq: 2, cid: feed.entries[1]?.cid as CID } }), StaleHeadError);
    await rejects(syncFeedSkipping(REF, chain, blocks, { maxEntries: 0 }), RangeError, /maxEntries/);
    await rejects(syncFeedSkipping(REF, chain, blocks, { known: { seq: 0, cid: other.cid } }), TypeError, /known/);
  });

  it("every syncFeed error about one entry carries its seq and the entries verified before it", async () => {
    const { feed, chain, blocks } = await honestFeed(3);
    const third = feed.entries[2] as BuiltEntry;
    // encodeEntry refuses an invalid CAP: its raw encoding is anchored instead.
    const invalid = dagCbor.encode({ ...third.entry, cap: { ...sampleCap(), status: "Maybe" } });
    const invalidCid = entryCidOf(invalid);
    const invalidEntry = {
      ...third,
      cid: invalidCid,
      bytes: invalid,
      signatures: await signAll(entryDigest(REF, 0, 3, invalidCid), [w0, w1]),
    };
    const cases: [BuiltEntry, new (...args: never[]) => Error][] = [
      [invalidEntry, InvalidCapError],
      [{ ...third, signatures: third.signatures.slice(0, 1) }, TooFewSignaturesError],
      [await forged(third, { prev: feed.entries[0]?.cid as CID }), ForkedFeedError],
      [await forged(third, { epoch: 1 }), EntryMismatchError],
    ];
    for (const [bad, type] of cases) {
      chain.anchor(bad);
      blocks.blocks.set(bad.cid.toString(), bad.bytes);
      const err = await rejects(syncFeed(REF, chain, blocks), type);
      expect(feedSyncErrorInfo(err)?.seq, type.name).to.equal(3);
      expect(seqs(feedSyncErrorInfo(err)?.verified ?? [])).to.deep.equal([1, 2]);
    }
    expect(feedSyncErrorInfo(new Error("x"))).to.equal(undefined);
  });
});
