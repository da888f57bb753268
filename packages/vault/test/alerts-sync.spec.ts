// A vault following a public alert feed on real parts: AlertFeeds on an in-process Hardhat chain, the editors' entry
// blocks on a Helia node on loopback, the vault's reads over bitswap from a second node. syncAlerts stores what
// syncFeedSkipping verified, from the head it holds; an anchored entry no reader can accept is a gap kept with the
// feed (never fetched again, shown in the inbox); a withheld block stops the feed after the entries before it.
import { randomBytes } from "node:crypto";
import * as dagCbor from "@ipld/dag-cbor";
import {
  type AlertFeedRef,
  alertFeedChain,
  type BlockGetter,
  type CapAlert,
  entryCidOf,
  entryDigest,
  FeedUnavailableError,
  MAX_ENTRY_BYTES,
} from "@mosaic/alerts";
import {
  type AlertFeeds,
  AlertFeeds__factory,
  type ChainConnection,
  type CID,
  createIpfsNode,
  dialPeer,
  findEvent,
  getBlock,
  type IpfsNode,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { expect } from "chai";
import type { Signer } from "ethers";
import { captureState, memoryStores } from "../../../test/helpers.js";
import { type BuiltEntry, editorSet, editorWallets, FeedBuilder, sampleCap, signAll } from "../../alerts/test/fixtures/feed.js";
import {
  type AlertDoc,
  type AlertFeedDoc,
  alertDocKey,
  alertInbox,
  followAlertFeed,
  followedAlertFeeds,
  syncAlerts,
  Vault,
} from "../src/index.js";

/** 2026-12-05 10:00 +01:00, when sampleCap's alerts are sent. */
const SENT = Date.UTC(2026, 11, 5, 9) / 1000;

describe("vault alerts: syncAlerts over a Hardhat chain and Helia on loopback", function () {
  this.timeout(180_000);
  const editors = editorWallets(3, 4);
  let chain: ChainConnection;
  let contract: AlertFeeds;
  let submitter: Signer;
  let ref: AlertFeedRef;
  let publisherNode: IpfsNode;
  let readerNode: IpfsNode;
  let feed: FeedBuilder;

  before(async () => {
    chain = await connectInProcessChain();
    submitter = chain.accounts[0] as Signer;
    const deployed = await (await new AlertFeeds__factory(submitter).deploy()).waitForDeployment();
    contract = deployed.connect(chain.provider) as AlertFeeds;
    const set = editorSet(editors, 2);
    const receipt = await (await deployed.createFeed(set.editors, set.threshold)).wait();
    ref = {
      chainId: Number(chain.chainId),
      contract: (await deployed.getAddress()).toLowerCase(),
      feedId: Number(findEvent(receipt, deployed.interface, "FeedCreated").args.feedId),
    };
    publisherNode = await createIpfsNode();
    readerNode = await createIpfsNode();
    await dialPeer(readerNode, nodeAddresses(publisherNode)[0] as string);
    feed = new FeedBuilder(ref, [editors[0], editors[2]] as typeof editors);
  });
  after(async () => {
    await readerNode?.stop();
    await publisherNode?.stop();
    await chain?.close();
  });

  /** Adds an entry, anchors it, and (unless withheld) puts its block on the publisher's node. */
  async function publish(cap: CapAlert, options: { withhold?: boolean } = {}): Promise<BuiltEntry> {
    const built = await feed.add(cap);
    if (options.withhold !== true) await putBlock(publisherNode.blockstore, { cid: built.cid, bytes: built.bytes });
    await (await (contract.connect(submitter) as AlertFeeds).anchor(ref.feedId, built.seq, built.cid.bytes, built.signatures)).wait();
    return built;
  }

  /** Anchors an entry no reader can accept (encoded without validation, signed by the editors) and serves its block. */
  async function publishRaw(cap: CapAlert): Promise<BuiltEntry> {
    const seq = feed.entries.length + 1;
    const bytes = dagCbor.encode({ v: 1, feed: ref, seq, epoch: 0, prev: feed.entries.at(-1)?.cid ?? null, cap });
    const cid = entryCidOf(bytes);
    const built = {
      seq,
      epoch: 0,
      cid,
      bytes,
      entry: undefined as never,
      signatures: await signAll(entryDigest(ref, 0, seq, cid), [editors[0], editors[2]] as typeof editors),
    };
    feed.entries.push(built);
    await putBlock(publisherNode.blockstore, { cid, bytes });
    await (await (contract.connect(submitter) as AlertFeeds).anchor(ref.feedId, seq, cid.bytes, built.signatures)).wait();
    return built;
  }

  /** The reader's blocks over bitswap, given up on after a few seconds (a replica that withholds); syncFeed passes its own signal. */
  let fetchTimeoutMs = 30_000;
  const blocks: BlockGetter = {
    get: (cid: CID, options: { signal?: AbortSignal } = {}) =>
      getBlock(readerNode.blockstore, cid, {
        maxBytes: MAX_ENTRY_BYTES,
        signal: AbortSignal.any([AbortSignal.timeout(fetchTimeoutMs), ...(options.signal ? [options.signal] : [])]),
      }),
  };

  it("stores the verified entries with the local decision, incrementally, once each; gaps kept and shown; a withheld block stops the feed", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: randomBytes(32), clock: () => (SENT + 3600) * 1000 });
    try {
      // In Mitte (sampleCap's polygon) an hour after the first alert was sent.
      await vault.addLocations([{ t: SENT + 1800, lat: 52.51, lon: 13.4 }]);
      await followAlertFeed(vault, ref);
      const near = sampleCap({ identifier: "NEAR-1" });
      const far = sampleCap({
        identifier: "FAR-1",
        info: (sampleCap().info ?? []).map((i) => ({
          ...i,
          area: [{ areaDesc: "Potsdam", polygon: [], circle: ["52.39,13.06 3"], geocode: [] }],
        })),
      });
      await publish(near);
      await publish(far);
      const components = { chain: alertFeedChain(contract), blocks };
      const progress: number[] = [];
      expect(await syncAlerts(vault, components, { onProgress: (done) => progress.push(done) })).to.deep.equal({
        feeds: 1,
        added: 2,
        concerning: 1,
        gaps: [],
        failed: [],
      });
      expect(progress.at(-1)).to.equal(2);
      expect(followedAlertFeeds(vault)[0]).to.deep.include({ seq: 2, cid: feed.entries[1]?.cid.toString() });
      const docs = vault.ability("alert-filter").read<AlertDoc>("alerts");
      expect(docs.get(alertDocKey(ref, 1))).to.deep.include({ concerns: true, state: "active", cid: feed.entries[0]?.cid.toString() });
      expect(docs.get(alertDocKey(ref, 1))?.reasons).to.deep.equal([
        "you were in 'Mitte' on 2026-12-05 at 09:30 UTC, from your location history",
      ]);
      expect(docs.get(alertDocKey(ref, 2))).to.deep.include({ concerns: false, state: "active" });

      // Nothing new: nothing fetched, nothing stored twice.
      expect(await syncAlerts(vault, components)).to.deep.include({ feeds: 1, added: 0 });
      expect(docs.size).to.equal(2);

      // The publisher cancels the first alert: the inbox hides it, the record stays.
      await publish(
        sampleCap({ identifier: "NEAR-1-CANCEL", msgType: "Cancel", references: `${near.sender},${near.identifier},${near.sent}` }),
      );
      expect(await syncAlerts(vault, components)).to.deep.include({ added: 1, concerning: 0 });
      expect(docs.get(alertDocKey(ref, 1))).to.deep.include({ state: "cancelled", by: { seq: 3, key: alertDocKey(ref, 3) } });
      expect(alertInbox(vault).map((d) => d.seq)).to.deep.equal([2]);

      // Seq 4 is served, but this vault already holds another entry as seq 4 (handed to the filter directly):
      // AlertEntryConflictError for the feed, the head stays at 3.
      await publish(sampleCap({ identifier: "LATER-1" }));
      const other = feed.entries[0] as BuiltEntry;
      await vault.dispatch("alert:received", { feed: ref, seq: 4, cid: other.cid.toString(), cap: other.entry.cap });
      const conflict = await syncAlerts(vault, components);
      expect(conflict.failed.map((f) => [f.feed, f.error.name])).to.deep.equal([[ref, "AlertEntryConflictError"]]);
      expect(followedAlertFeeds(vault)[0]?.seq).to.equal(3);

      // A held head the chain does not contain (the vault's record rewritten): ForkedFeedError, nothing stored.
      const feeds = vault.ability("alert-filter").collection<AlertFeedDoc>("feeds");
      const held = feeds.get(`${ref.chainId}:${ref.contract}:${ref.feedId}`) as AlertFeedDoc;
      await feeds.update(held._id, { ...held, cid: other.cid.toString() });
      const before = await captureState(stores);
      const forked = await syncAlerts(vault, components);
      expect(forked.failed.map((f) => f.error.name)).to.deep.equal(["ForkedFeedError"]);
      expect(await captureState(stores)).to.deep.equal(before);
      await feeds.update(held._id, held);

      // The conflicting copy gone, seq 4 syncs. Seq 5 is anchored but no valid entry (an unclosed polygon, signed by
      // the editors): a gap, recorded with the feed and shown, and the entries after it still arrive. In the same sync
      // NEAR-2 concerns the user but seq 8 cancels it: `concerning` counts what concerns the user after the sync.
      await vault.ability("alert-filter").collection<AlertDoc>("alerts").delete(alertDocKey(ref, 4));
      const unclosed = "52.50,13.37 52.50,13.43 52.54,13.43 52.54,13.38";
      const badCap = sampleCap({ identifier: "BAD-1" });
      (badCap.info[0]?.area[0] as { polygon: string[] }).polygon = [unclosed];
      const gap5 = await publishRaw(badCap);
      const near2 = sampleCap({ identifier: "NEAR-2" });
      await publish(near2);
      await publish(sampleCap({ identifier: "NEAR-3" }));
      await publish(
        sampleCap({ identifier: "NEAR-2-CANCEL", msgType: "Cancel", references: `${near2.sender},${near2.identifier},${near2.sent}` }),
      );
      const asked: string[] = [];
      const counting: BlockGetter = {
        get: (cid, options) => {
          asked.push(cid.toString());
          return blocks.get(cid, options);
        },
      };
      const past = await syncAlerts(vault, { ...components, blocks: counting });
      // LATER-1 and NEAR-3 concern the user; NEAR-2 did until seq 8 cancelled it.
      expect(past).to.deep.include({ feeds: 1, added: 4, concerning: 2, failed: [] });
      expect(past.gaps.map((g) => [g.feed, g.seq, g.cid, g.error])).to.deep.equal([[ref, 5, gap5.cid.toString(), "UnclosedPolygonError"]]);
      expect(followedAlertFeeds(vault)[0]).to.deep.include({ seq: 8, gapCount: 1 });
      expect(followedAlertFeeds(vault)[0]?.gaps.map((g) => g.seq)).to.deep.equal([5]);
      expect(docs.get(alertDocKey(ref, 5))).to.equal(undefined);
      expect(docs.get(alertDocKey(ref, 6))).to.deep.include({ state: "cancelled", concerns: true });
      const inbox = alertInbox(vault, { gaps: true });
      const gapItem = inbox.find((i) => i.kind === "gap");
      expect(gapItem).to.deep.include({ kind: "gap", seq: 5, feed: ref, error: "UnclosedPolygonError" });
      expect(gapItem?.kind === "gap" && gapItem.text).to.match(
        new RegExp(`^entry 5 of feed ${ref.chainId}:${ref.contract}:${ref.feedId} could not be read: UnclosedPolygonError: .*polygon`),
      );
      expect(inbox.map((i) => i.seq)).to.deep.equal([4, 7, 2, 5]); // the active alerts, concerning first, then the gap
      expect(alertInbox(vault).map((i) => i.seq)).to.deep.equal([4, 7, 2]);

      // Synced again: nothing fetched, the gap not asked for again.
      asked.length = 0;
      expect(await syncAlerts(vault, { ...components, blocks: counting })).to.deep.include({ added: 0, gaps: [] });
      expect(asked).to.deep.equal([]);

      // A gap as the latest entry: the held head is the gap's anchored CID, and the next entry links it.
      const gap9 = await publishRaw(badCap);
      expect(await syncAlerts(vault, components)).to.deep.include({ added: 0, failed: [] });
      expect(followedAlertFeeds(vault)[0]).to.deep.include({ seq: 9, cid: gap9.cid.toString(), gapCount: 2 });
      await publish(sampleCap({ identifier: "AFTER-GAP" }));
      asked.length = 0;
      expect(await syncAlerts(vault, { ...components, blocks: counting })).to.deep.include({ added: 1, gaps: [], failed: [] });
      expect(asked).to.deep.equal([feed.entries[9]?.cid.toString()]);

      // Seq 12 anchored, its block served by no replica: FeedUnavailableError; seq 11 before it is stored, the held
      // head stops at 11, and the next sync tries from there.
      await publish(sampleCap({ identifier: "BEFORE-HIDDEN" }));
      await publish(sampleCap({ identifier: "HIDDEN-1" }), { withhold: true });
      fetchTimeoutMs = 3000;
      const withheld = await syncAlerts(vault, components);
      expect(withheld).to.deep.include({ feeds: 0, added: 1, gaps: [] });
      expect(withheld.failed.map((f) => [f.feed, f.error.name])).to.deep.equal([[ref, FeedUnavailableError.name]]);
      expect(followedAlertFeeds(vault)[0]).to.deep.include({ seq: 11, cid: feed.entries[10]?.cid.toString() });
      expect(docs.get(alertDocKey(ref, 12))).to.equal(undefined);

      // Nothing of any of this left the vault.
      expect(vault.audit()).to.deep.equal([]);
    } finally {
      await vault.close();
    }
  });
});
