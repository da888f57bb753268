// A vault following a public alert feed on real parts: AlertFeeds on an in-process Hardhat chain, the editors' entry
// blocks on a Helia node on loopback, the vault's reads over bitswap from a second node. syncAlerts stores what
// syncFeed verified, from the head it holds; a withholding replica or a forged block stores nothing and moves no head.
import { randomBytes } from "node:crypto";
import { type AlertFeedRef, alertFeedChain, type BlockGetter, type CapAlert, FeedUnavailableError, MAX_ENTRY_BYTES } from "@mosaic/alerts";
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
import { type BuiltEntry, editorSet, editorWallets, FeedBuilder, sampleCap } from "../../alerts/test/fixtures/feed.js";
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

  /** The reader's blocks over bitswap, given up on after a few seconds (a replica that withholds); syncFeed passes its own signal. */
  let fetchTimeoutMs = 30_000;
  const blocks: BlockGetter = {
    get: (cid: CID, options: { signal?: AbortSignal } = {}) =>
      getBlock(readerNode.blockstore, cid, {
        maxBytes: MAX_ENTRY_BYTES,
        signal: AbortSignal.any([AbortSignal.timeout(fetchTimeoutMs), ...(options.signal ? [options.signal] : [])]),
      }),
  };

  it("stores the verified entries with the local decision, incrementally, once each; a withheld block stores nothing", async () => {
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
      let before = await captureState(stores);
      const forked = await syncAlerts(vault, components);
      expect(forked.failed.map((f) => f.error.name)).to.deep.equal(["ForkedFeedError"]);
      expect(await captureState(stores)).to.deep.equal(before);
      await feeds.update(held._id, held);

      // Seq 5 anchored, its block served by no replica: FeedUnavailableError, and syncFeed is all or nothing, so
      // nothing of seqs 4-5 reaches the filter and the vault's state is unchanged.
      await publish(sampleCap({ identifier: "HIDDEN-1" }), { withhold: true });
      before = await captureState(stores);
      fetchTimeoutMs = 3000;
      const withheld = await syncAlerts(vault, components);
      expect(withheld).to.deep.include({ feeds: 0, added: 0 });
      expect(withheld.failed.map((f) => [f.feed, f.error.name])).to.deep.equal([[ref, FeedUnavailableError.name]]);
      expect(await captureState(stores)).to.deep.equal(before);
      expect(docs.size).to.equal(4);

      // Nothing of any of this left the vault.
      expect(vault.audit()).to.deep.equal([]);
    } finally {
      await vault.close();
    }
  });
});
