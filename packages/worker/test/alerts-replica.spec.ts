// Alert feed replicas on real parts: an in-process Hardhat chain with AlertFeeds (deployMosaic), Helia nodes on
// loopback. A replica stores an announced entry once the chain anchored it; one that missed the announcement catches
// up from the chain's head over bitswap from another replica; a vault-style reader syncs from a replica; every hostile
// announcement is "rejected" under its name with nothing stored; a restart resumes from the heads in the state file;
// and a reducer node with `alertFeeds` runs a replica.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type AlertAnnouncement,
  type AlertEntry,
  type AlertFeedChain,
  type AlertFeedRef,
  alertFeedChain,
  alertTopic,
  type BlockGetter,
  type CapAlert,
  decodeAnnouncement,
  editorsDigest,
  encodeAnnouncement,
  encodeEntry,
  entryCidOf,
  entryDigest,
  MAX_ANNOUNCEMENT_BYTES,
  MAX_ENTRY_BYTES,
  signDigest,
  sortSignatures,
  syncFeed,
  syncFeedSkipping,
  UnknownAlertFeedError,
  type VerifiedEntry,
} from "@mosaic/alerts";
import {
  type AlertFeeds,
  type ChainConnection,
  type CID,
  createIpfsNode,
  createLogger,
  deleteBlock,
  deployMosaic,
  encodeBlock,
  findEvent,
  getBlock,
  type IpfsNode,
  type Logger,
  type NetworkFile,
  nodeAddresses,
  waitForTopicPeers,
  waitUntil,
  WaitTimeoutError,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { expect } from "chai";
import type { Signer } from "ethers";
import { type AlertRejected, type AlertReplica, AlertReplicaStateError, announceEntry, createAlertReplica } from "../src/alerts-replica.js";
import { parseReducerConfig, ReducerConfigError } from "../src/config.js";
import { createReducerNode, type ReducerNode } from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";
import { sampleCap } from "../../alerts/test/fixtures/feed.js";

/** Silent (the hostile cases log errors on purpose) unless MOSAIC_LOG asks for lines. */
const quiet: Logger = process.env.MOSAIC_LOG === undefined ? () => undefined : createLogger("alerts-replica");

/** Blocks as a vault reads them: from its node's blockstore, over bitswap from the peers it is connected to. */
const bitswap = (node: IpfsNode): BlockGetter => ({
  get: (cid, options) => getBlock(node.blockstore, cid, { maxBytes: MAX_ENTRY_BYTES, signal: options?.signal }),
});

/** A valid CAP 1.2 alert in normal form: the alerts package's sample under its own identifier. */
const capAlert = (identifier: string, overrides: Partial<CapAlert> = {}): CapAlert => sampleCap({ identifier, ...overrides });

/** Resolves with the first event of `type` that `match` accepts. */
const next = <T>(replica: AlertReplica, type: "entry" | "rejected", match: (d: T) => boolean = () => true): Promise<T> =>
  new Promise((resolve) => {
    const off = replica.on(type, (d) => {
      if (match(d as T)) {
        off();
        resolve(d as T);
      }
    });
  });

describe("alert feed replica (real chain, real IPFS nodes)", function () {
  this.timeout(300_000);
  let chain: ChainConnection;
  let alertFeeds: AlertFeeds;
  let registry: string;
  let deployBlock: number;
  let feedChain: AlertFeedChain;
  let ref: AlertFeedRef;
  let otherRef: AlertFeedRef;
  let editors: Signer[];
  let stranger: Signer;
  let dir: string;
  let editorNode: IpfsNode;
  let nodeA: IpfsNode;
  let nodeB: IpfsNode;
  let attackerNode: IpfsNode;
  let replicaA: AlertReplica;
  let replicaB: AlertReplica | undefined;
  const nodes: IpfsNode[] = [];
  const reducers: ReducerNode[] = [];

  /** Entry `seq` of `feed` (the next one by default) signed by `signers`, not anchored. */
  const draft = async (
    cap: CapAlert,
    options: { feed?: AlertFeedRef; seq?: number; prev?: CID | null; signers?: Signer[]; epoch?: number } = {},
  ): Promise<AlertAnnouncement> => {
    const feed = options.feed ?? ref;
    const head = await feedChain.headOf(feed.feedId);
    const seq = options.seq ?? head.seq + 1;
    const prev = options.prev !== undefined ? options.prev : seq === head.seq + 1 ? head.entryCid : null;
    const epoch = options.epoch ?? head.epoch;
    const entry: AlertEntry = { v: 1, feed, seq, epoch, prev: seq === 1 ? null : prev, cap };
    const block = encodeEntry(entry);
    const digest = entryDigest(feed, epoch, seq, block.cid);
    const signatures = sortSignatures(
      digest,
      await Promise.all((options.signers ?? editors.slice(0, 2)).map((s) => signDigest(digest, s))),
    );
    return { v: 1, feed, seq, epoch, entry: block.bytes, signatures };
  };

  /** Anchors an announcement's entry on-chain (anyone may submit the editors' signatures). */
  const anchor = async (a: AlertAnnouncement): Promise<void> => {
    await (await alertFeeds.anchor(a.feed.feedId, a.seq, entryCidOf(a.entry).bytes, a.signatures)).wait();
  };

  const cids = (r: AlertReplica, feedId = ref.feedId) => r.entries(feedId).map((e) => e.cid.toString());

  const startReplica = async (ipfs: IpfsNode, stateFile?: string, extra: Partial<Parameters<typeof createAlertReplica>[0]> = {}) => {
    const r = createAlertReplica({
      ref: { chainId: ref.chainId, contract: ref.contract },
      feedIds: [ref.feedId],
      chain: feedChain,
      ipfs,
      pollMs: 3_600_000, // polls run when a test calls poll()
      logger: quiet,
      stateFile,
      fetchTimeoutMs: 3000,
      ...extra,
    });
    await r.start();
    return r;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-alerts-replica-"));
    chain = await connectInProcessChain();
    const contracts = await deployMosaic(chain.accounts[0]!);
    alertFeeds = contracts.alertFeeds;
    registry = contracts.addresses.jobRegistry;
    deployBlock = contracts.deployBlock;
    const signers = chain.accounts.slice(1, 4) as Signer[];
    const withAddress = await Promise.all(signers.map(async (s) => ({ s, a: BigInt(await s.getAddress()) })));
    editors = withAddress.sort((x, y) => (x.a < y.a ? -1 : 1)).map((x) => x.s);
    stranger = chain.accounts[5]!;
    const addresses = await Promise.all(editors.map((e) => e.getAddress()));
    const create = async () =>
      Number(findEvent(await (await alertFeeds.createFeed(addresses, 2)).wait(), alertFeeds.interface, "FeedCreated").args.feedId);
    const contract = (await alertFeeds.getAddress()).toLowerCase();
    ref = { chainId: Number(chain.chainId), contract, feedId: await create() };
    otherRef = { ...ref, feedId: await create() };
    feedChain = alertFeedChain(alertFeeds, { fromBlock: deployBlock });
    nodeA = await createIpfsNode();
    nodeB = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
    nodes.push(nodeA, nodeB);
    replicaA = await startReplica(nodeA, path.join(dir, "a.json"), { maxPendingPerFeed: 4, maxQueuedAnnouncements: 32 });
  });

  after(async () => {
    for (const r of reducers) await r.stop().catch(() => undefined);
    await replicaA?.stop();
    await replicaB?.stop();
    for (const n of nodes) await n.stop().catch(() => undefined);
    await editorNode?.stop();
    await attackerNode?.stop();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  let first: AlertAnnouncement;
  let second: AlertAnnouncement;
  let thirdRef: AlertFeedRef;

  it("stores an announced entry once the chain anchored it, and serves it over bitswap", async () => {
    // The editor's CLI: a short-lived node that dials a replica, anchors, then announces.
    editorNode = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
    first = await draft(capAlert("BER-1"));
    await anchor(first);
    const stored = next<VerifiedEntry>(replicaA, "entry");
    const reached = await announceEntry(editorNode, first, { timeoutMs: 10_000 });
    expect(reached).to.be.at.least(1);
    const entry = await stored;
    expect(entry).to.include({ seq: 1, epoch: 0 });
    expect(entry.entry.cap.identifier).to.equal("BER-1");
    expect(entry.signers).to.have.length(2);
    expect(replicaA.heads()).to.deep.equal([{ feedId: ref.feedId, seq: 1, cid: entry.cid.toString(), gaps: [] }]);
    expect(await nodeA.blockstore.has(entry.cid)).to.equal(true);
    // The state file names the verified head.
    const state = JSON.parse(await readFile(path.join(dir, "a.json"), "utf8"));
    expect(state.feeds[0].entries.map((e: { cid: string }) => e.cid)).to.deep.equal([entry.cid.toString()]);

    // A second one, announced as a VerifiedEntry (what `alerts sign` holds after anchoring).
    second = await draft(capAlert("BER-2"));
    await anchor(second);
    const stored2 = next<VerifiedEntry>(replicaA, "entry");
    await editorNode.blockstore.put(entryCidOf(second.entry), second.entry);
    const [verified] = await syncFeed(ref, feedChain, bitswap(editorNode), {
      known: { seq: 1, cid: entry.cid },
      signal: AbortSignal.timeout(10_000),
    });
    expect(await announceEntry(editorNode, verified!, { timeoutMs: 10_000 })).to.be.at.least(1);
    expect((await stored2).seq).to.equal(2);
    expect(cids(replicaA)).to.have.length(2);
  });

  it("announceEntry waits for a subscribed peer, within its bound and its signal", async () => {
    const lonely = await createIpfsNode();
    nodes.push(lonely);
    await expectRejects(announceEntry(lonely, first, { timeoutMs: 300 }), WaitTimeoutError, /no 1 subscriber/);
    const abort = new AbortController();
    const waiting = announceEntry(lonely, first, { timeoutMs: 60_000, signal: abort.signal });
    abort.abort(new Error("cancelled by the test"));
    await expectRejects(waiting, Error, /cancelled by the test/);
  });

  it("a replica that missed the announcements catches up from the chain's head over bitswap from another replica", async () => {
    // nodeB is connected to nodeA only, and its replica starts after both announcements.
    expect(nodeB.libp2p.getPeers().map(String)).to.deep.equal([nodeA.libp2p.peerId.toString()]);
    replicaB = await startReplica(nodeB, path.join(dir, "b.json"));
    await replicaB.poll();
    expect(cids(replicaB)).to.deep.equal(cids(replicaA));
    expect(replicaB.entries(ref.feedId).map((e) => e.entry.cap.identifier)).to.deep.equal(["BER-1", "BER-2"]);
  });

  it("a vault-style reader syncs the feed from a replica over bitswap, checked against the chain", async () => {
    const reader = await createIpfsNode({ peers: nodeAddresses(nodeB).slice(0, 1) });
    nodes.push(reader);
    const entries = await syncFeed(ref, feedChain, bitswap(reader), { signal: AbortSignal.timeout(20_000) });
    expect(entries.map((e) => e.cid.toString())).to.deep.equal(cids(replicaA));
    expect(entries.map((e) => e.entry.cap.identifier)).to.deep.equal(["BER-1", "BER-2"]);
  });

  /** Publishes `data` on the feed's topic from an attacker's node and returns the replica's verdict. */
  const hostile = async (data: Uint8Array, reason: string, pattern?: RegExp): Promise<AlertRejected> => {
    if (attackerNode === undefined) {
      attackerNode = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
      await waitForTopicPeers(attackerNode, alertTopic(ref), 1);
    }
    const before = { heads: replicaA.heads(), cids: cids(replicaA), status: replicaA.status() };
    const rejected = next<AlertRejected>(replicaA, "rejected");
    await attackerNode.libp2p.services.pubsub.publish(alertTopic(ref), data);
    const verdict = await rejected;
    await replicaA.drain();
    expect(verdict.reason, verdict.error).to.equal(reason);
    expect(verdict.feedId).to.equal(ref.feedId);
    if (pattern) expect(verdict.error).to.match(pattern);
    expect(replicaA.heads()).to.deep.equal(before.heads);
    expect(cids(replicaA)).to.deep.equal(before.cids);
    expect((replicaA.status().feeds as { pending: number }[])[0]?.pending).to.equal(
      (before.status.feeds as { pending: number }[])[0]?.pending,
    );
    return verdict;
  };

  it("rejects hostile announcements under their names and stores nothing", async () => {
    // Replica B hears feed 1's topic through A: what A's gossipsub check rejects never reaches it.
    const forwarded: string[] = [];
    const offB = (replicaB as AlertReplica).on("rejected", (r) => forwarded.push(r.reason));
    await hostile(randomBytes(200), "MalformedAnnouncementError", /not dag-cbor/);
    await hostile(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1), "MalformedAnnouncementError", /over the \d+-byte limit/);

    // Signed by two strangers, and by one editor and a stranger: ForeignSignatureError.
    const byStranger = await draft(capAlert("FORGED-1"), { signers: [stranger, chain.accounts[7]!] });
    await hostile(encodeAnnouncement(byStranger), "ForeignSignatureError");
    const mixed = await draft(capAlert("FORGED-2"), { signers: [editors[0]!, stranger] });
    await hostile(encodeAnnouncement(mixed), "ForeignSignatureError");
    // Editors' real signatures, but over another entry (forged onto this one).
    const real = await draft(capAlert("REAL"));
    const forged = await draft(capAlert("FORGED-3"));
    await hostile(encodeAnnouncement({ ...forged, signatures: real.signatures }), "ForeignSignatureError");
    // One editor of a 2-of-3 feed.
    await hostile(encodeAnnouncement(await draft(capAlert("ALONE"), { signers: [editors[0]!] })), "TooFewSignaturesError");
    // Another feed's entry, announced on this feed's topic.
    await hostile(
      encodeAnnouncement(await draft(capAlert("OTHER"), { feed: otherRef })),
      "MalformedAnnouncementError",
      /received on the topic/,
    );
    // A valid-signature entry for seq 2, which the chain anchored with another CID.
    const rival = await draft(capAlert("RIVAL-2"), { seq: 2, prev: entryCidOf(first.entry) });
    await hostile(encodeAnnouncement(rival), "AlertNotAnchoredError", /seq 2 is anchored as/);
    // Signed for an editor epoch the chain has not reached.
    await hostile(
      encodeAnnouncement(await draft(capAlert("EPOCH-5"), { epoch: 5 })),
      "AlertNotAnchoredError",
      /no editor epoch 5 on the chain/,
    );
    // Far ahead of the chain (editors anchor before they announce).
    await hostile(
      encodeAnnouncement(await draft(capAlert("AHEAD"), { seq: 40, prev: entryCidOf(first.entry) })),
      "AlertNotAnchoredError",
      /ahead of the chain/,
    );
    for (const id of ["FORGED-1", "FORGED-2", "FORGED-3", "ALONE", "RIVAL-2", "AHEAD"])
      expect(replicaA.entries(ref.feedId).some((e) => e.entry.cap.identifier === id)).to.equal(false);
    await replicaB?.drain();
    offB();
    // None crosses the mesh: A's gossipsub check refuses each, the well-signed ones too (the rival entry 2 against the
    // entry held, the one far ahead and the one of epoch 5 against the head read last).
    expect(forwarded).to.deep.equal([]);
  });

  it("keeps a valid-signature entry ahead of the chain pending, and rejects it when the chain anchors another CID", async () => {
    const ahead = await draft(capAlert("PENDING-3"));
    replicaA.announce(ref.feedId, encodeAnnouncement(ahead));
    await replicaA.drain();
    expect((replicaA.status().feeds as { pending: number }[])[0]?.pending).to.equal(1);
    expect(cids(replicaA)).to.have.length(2);
    // The editors anchor another entry 3 (announced to no one): the replica polls, fetches it from the editor's node
    // over bitswap, and drops the pending one.
    const real3 = await draft(capAlert("REAL-3"));
    await anchor(real3);
    await editorNode.blockstore.put(entryCidOf(real3.entry), real3.entry);
    const rejected = next<AlertRejected>(replicaA, "rejected");
    const stored = next<VerifiedEntry>(replicaA, "entry");
    await replicaA.poll();
    expect((await stored).entry.cap.identifier).to.equal("REAL-3");
    const verdict = await rejected;
    expect(verdict.reason).to.equal("AlertNotAnchoredError");
    expect(verdict.error).to.match(/seq 3 was anchored as/);
    expect((replicaA.status().feeds as { pending: number }[])[0]?.pending).to.equal(0);
    expect(await nodeA.blockstore.has(entryCidOf(ahead.entry))).to.equal(false);
  });

  it("bounds a flood: pending entries past maxPendingPerFeed and announcements past the queue are dropped, named", async () => {
    const reasons: string[] = [];
    const off = replicaA.on("rejected", (r) => reasons.push(r.reason));
    // Six valid-signature drafts of entry 4 (the chain is at 3): the pending set keeps the newest four.
    const drafts = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => draft(capAlert(`FLOOD-${i}`))));
    for (const d of drafts) replicaA.announce(ref.feedId, encodeAnnouncement(d));
    await replicaA.drain();
    expect(reasons.filter((r) => r === "AlertPendingFullError")).to.have.length(2);
    expect((replicaA.status().feeds as { pending: number }[])[0]?.pending).to.equal(4);
    // A burst of junk larger than the queue: the excess is dropped unread.
    reasons.length = 0;
    for (let i = 0; i < 100; i++) replicaA.announce(ref.feedId, randomBytes(64));
    await replicaA.drain();
    off();
    expect(reasons.filter((r) => r === "AlertQueueFullError").length).to.be.at.least(100 - 32 - 1);
    expect(reasons.filter((r) => r === "MalformedAnnouncementError").length).to.be.at.most(33);
    expect(cids(replicaA)).to.have.length(3);
    expect(replicaA.entries(ref.feedId).some((e) => e.entry.cap.identifier.startsWith("FLOOD"))).to.equal(false);
  });

  it("resumes from the heads in its state file after a restart, and refuses a damaged or foreign state file", async () => {
    const stateFile = path.join(dir, "a.json");
    const held = cids(replicaA);
    await replicaA.stop();
    // While it is down, entry 4 is anchored (and announced to no one); the editor's node serves it.
    const fourth = await draft(capAlert("WHILE-DOWN"));
    await anchor(fourth);
    await editorNode.blockstore.put(entryCidOf(fourth.entry), fourth.entry);
    const asked: number[] = [];
    const counting: AlertFeedChain = {
      headOf: (id) => feedChain.headOf(id),
      editorsAt: (id, epoch) => feedChain.editorsAt(id, epoch),
      anchored: (id, from, to) => {
        asked.push(from);
        return feedChain.anchored(id, from, to);
      },
    };
    replicaA = createAlertReplica({
      ref: { chainId: ref.chainId, contract: ref.contract },
      feedIds: [],
      chain: counting,
      ipfs: nodeA,
      pollMs: 3_600_000,
      logger: quiet,
      stateFile,
      fetchTimeoutMs: 3000,
    });
    await replicaA.start();
    await replicaA.poll();
    expect(cids(replicaA).slice(0, 3)).to.deep.equal(held);
    expect(replicaA.entries(ref.feedId).map((e) => e.entry.cap.identifier)).to.deep.equal(["BER-1", "BER-2", "REAL-3", "WHILE-DOWN"]);
    // Only from the known head on: the three entries held were not read from the chain again.
    expect(Math.min(...asked)).to.equal(3);

    const damaged = path.join(dir, "damaged.json");
    await writeFile(damaged, "{ not json");
    await expectRejects(startReplica(nodeA, damaged), AlertReplicaStateError, /not JSON/);
    const foreign = path.join(dir, "foreign.json");
    await writeFile(foreign, JSON.stringify({ v: 1, chainId: 1, contract: ref.contract, feeds: [] }));
    await expectRejects(startReplica(nodeA, foreign), AlertReplicaStateError, /on chain 1, not/);
  });

  it("follow() checks the feed exists on-chain first, and changes nothing when it does not", async () => {
    const before = replicaA.heads();
    await expectRejects(replicaA.follow(999), UnknownAlertFeedError, /no feed 999/);
    await expectRejects(replicaA.follow(0), RangeError, /feedId: expected an integer >= 1/);
    expect(replicaA.heads()).to.deep.equal(before);
    await replicaA.follow(otherRef.feedId);
    expect(replicaA.heads().map((h) => h.feedId)).to.deep.equal([ref.feedId, otherRef.feedId]);
    expect(JSON.parse(await readFile(path.join(dir, "a.json"), "utf8")).feeds.map((f: { feedId: number }) => f.feedId)).to.deep.equal([
      ref.feedId,
      otherRef.feedId,
    ]);
  });

  it("keeps the entries a withholding replica served and fetches the rest once another peer serves them", async () => {
    // A node that holds entries 1 and 2 only; replica C is connected to it alone.
    const withholder = await createIpfsNode();
    const nodeC = await createIpfsNode({ peers: nodeAddresses(withholder).slice(0, 1) });
    nodes.push(withholder, nodeC);
    for (const e of replicaA.entries(ref.feedId).slice(0, 2)) await withholder.blockstore.put(e.cid, e.bytes);
    const rejected: AlertRejected[] = [];
    const replicaC = await startReplica(nodeC, undefined, { fetchTimeoutMs: 1000 });
    replicaC.on("rejected", (r) => rejected.push(r));
    try {
      await replicaC.poll();
      expect(replicaC.heads()[0]?.seq).to.equal(2);
      expect(cids(replicaC)).to.deep.equal(cids(replicaA).slice(0, 2));
      expect(rejected, "a withheld block is no one's proven fault").to.deep.equal([]);
      for (const e of replicaA.entries(ref.feedId).slice(2)) expect(await nodeC.blockstore.has(e.cid)).to.equal(false);
      await nodeC.libp2p.dial(nodeA.libp2p.getMultiaddrs()[0]!);
      await replicaC.poll();
      expect(cids(replicaC)).to.deep.equal(cids(replicaA));
    } finally {
      await replicaC.stop();
    }
  });

  it("skips an entry the editors anchored that is not a valid entry: the entries before and after it are stored and served, the gap kept, served and reported once", async () => {
    // Feed 2: a valid entry 1 (announced to no one), then the contract, which checks signatures and not contents,
    // anchors a block that is no entry as entry 2, then a valid entry 3 linking it. The editor's node serves all three.
    const one = await draft(capAlert("OTHER-1"), { feed: otherRef });
    await anchor(one);
    await editorNode.blockstore.put(entryCidOf(one.entry), one.entry);
    const junk = await encodeBlock({ hello: "not an alert entry" });
    const digest = entryDigest(otherRef, 0, 2, junk.cid);
    const signatures = sortSignatures(digest, await Promise.all(editors.slice(0, 2).map((e) => signDigest(digest, e))));
    await (await alertFeeds.anchor(otherRef.feedId, 2, junk.cid.bytes, signatures)).wait();
    await editorNode.blockstore.put(junk.cid, junk.bytes);
    const three = await draft(capAlert("OTHER-3"), { feed: otherRef });
    expect(three.seq).to.equal(3);
    await anchor(three);
    await editorNode.blockstore.put(entryCidOf(three.entry), three.entry);

    const rejected: AlertRejected[] = [];
    const off = replicaA.on("rejected", (r) => r.feedId === otherRef.feedId && rejected.push(r));
    await replicaA.poll();
    await replicaA.poll();
    off();
    expect(rejected.map((r) => r.reason)).to.deep.equal(["MalformedEntryError"]);
    expect(rejected[0]?.error).to.match(/^entry 2 \(\w+\) could not be read: entry: unknown key "hello"/);
    const gap = {
      seq: 2,
      cid: junk.cid.toString(),
      error: "MalformedEntryError",
      reason: rejected[0]?.error.replace(/^.*could not be read: /, ""),
    };
    const head = { feedId: otherRef.feedId, seq: 3, cid: entryCidOf(three.entry).toString(), gaps: [gap] };
    expect(replicaA.heads().find((h) => h.feedId === otherRef.feedId)).to.deep.equal(head);
    expect(replicaA.entries(otherRef.feedId).map((e) => e.entry.cap.identifier)).to.deep.equal(["OTHER-1", "OTHER-3"]);
    // The gap's block is the one anchored: kept, so that readers syncing from this replica can tell the gap too.
    expect(await nodeA.blockstore.has(junk.cid)).to.equal(true);
    // Feed 1 is unaffected.
    expect(replicaA.heads()[0]?.seq).to.equal(4);
    // The state file keeps the gap: a restart resumes after entry 3, fetching nothing again and reporting nothing.
    const stateFile = path.join(dir, "a.json");
    expect(JSON.parse(await readFile(stateFile, "utf8")).feeds[1].gaps).to.deep.equal([gap]);
    await replicaA.stop();
    replicaA = await startReplica(nodeA, stateFile, { feedIds: [], maxPendingPerFeed: 4 });
    const again: AlertRejected[] = [];
    replicaA.on("rejected", (r) => again.push(r));
    await replicaA.poll();
    expect(replicaA.heads().find((h) => h.feedId === otherRef.feedId)).to.deep.equal(head);
    expect(again).to.deep.equal([]);
    // A reader syncing from the replica gets both entries and the same gap.
    const reader = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
    nodes.push(reader);
    const read = await syncFeedSkipping(otherRef, feedChain, bitswap(reader), { signal: AbortSignal.timeout(20_000) });
    expect(read.entries.map((e) => e.entry.cap.identifier)).to.deep.equal(["OTHER-1", "OTHER-3"]);
    expect(read.gaps.map((g) => [g.seq, g.cid.toString(), g.error])).to.deep.equal([[2, gap.cid, gap.error]]);
  });

  /** A chain whose reads are counted. */
  const counting = (counts: Record<string, number>): AlertFeedChain => {
    const count = (name: string) => {
      counts[name] = (counts[name] ?? 0) + 1;
    };
    return {
      headOf: (id) => {
        count("headOf");
        return feedChain.headOf(id);
      },
      editorsAt: (id, epoch) => {
        count("editorsAt");
        return feedChain.editorsAt(id, epoch);
      },
      anchored: (id, from, to) => {
        count("anchored");
        return feedChain.anchored(id, from, to);
      },
    };
  };

  it("junk announcements cost no chain read: an epoch above the head's is refused by the topic check, the next one after one head read at most per second", async () => {
    // attacker -- replica D -- bystander; D holds feed 1 (from A) and has read its head (epoch 0).
    const counts: Record<string, number> = {};
    const nodeD = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
    const bystander = await createIpfsNode({ peers: nodeAddresses(nodeD).slice(0, 1) });
    const flooder = await createIpfsNode({ peers: nodeAddresses(nodeD).slice(0, 1) });
    nodes.push(nodeD, bystander, flooder);
    const replicaD = await startReplica(nodeD, undefined, { chain: counting(counts) });
    const topic = alertTopic(ref);
    try {
      await replicaD.poll();
      expect(replicaD.heads()[0]?.seq).to.equal(4);
      const heard: Uint8Array[] = [];
      bystander.libp2p.services.pubsub.subscribe(topic);
      bystander.libp2p.services.pubsub.addEventListener("message", (e) => {
        if (e.detail.topic === topic) heard.push(e.detail.data);
      });
      await waitForTopicPeers(flooder, topic, 1);
      await waitForTopicPeers(bystander, topic, 1);
      const reasons: string[] = [];
      replicaD.on("rejected", (r) => reasons.push(r.reason));
      const before = { ...counts };
      const junk = (epoch: number, i: number) =>
        encodeAnnouncement({ v: 1, feed: ref, seq: 5, epoch, entry: new Uint8Array([i]), signatures: [] });
      for (let i = 0; i < 40; i++) await flooder.libp2p.services.pubsub.publish(topic, junk(1_000_000 + i, i));
      for (let i = 0; i < 40; i++) await flooder.libp2p.services.pubsub.publish(topic, junk(1, 100 + i));
      // A well-signed announcement D holds (entry 1 again) crosses to the bystander: the path is open.
      await flooder.libp2p.services.pubsub.publish(topic, encodeAnnouncement(first));
      await waitUntil("the bystander to hear entry 1 through D", async () => heard.length > 0, { timeoutMs: 20_000 });
      await replicaD.drain();
      expect(reasons.filter((r) => r !== "AlertNotAnchoredError")).to.deep.equal([]);
      expect(reasons).to.have.length(80);
      expect(counts.editorsAt ?? 0).to.equal(before.editorsAt ?? 0);
      expect(counts.anchored ?? 0).to.equal(before.anchored ?? 0);
      // The epoch after the head's may be a rotation D has not seen yet: one head read, then refused.
      expect((counts.headOf ?? 0) - (before.headOf ?? 0)).to.be.at.most(2);
      // The far epochs stopped at D; the bystander heard entry 1 (and at most the next epoch's junk, which D could
      // not refuse before reading the head).
      expect(heard.map((d) => decodeAnnouncement(d, ref).epoch).filter((e) => e >= 1_000_000)).to.deep.equal([]);
    } finally {
      await replicaD.stop();
    }
  });

  it("announcements signed by a past epoch's editors for seqs after the chain's head are refused, and push no genuine pending entry out", async () => {
    // Feed 3: one editor (the stranger) at epoch 0, rotated to the 2-of-3 editors at epoch 1.
    const strangerAddress = await stranger.getAddress();
    const created = await (await alertFeeds.createFeed([strangerAddress], 1)).wait();
    const third: AlertFeedRef = { ...ref, feedId: Number(findEvent(created, alertFeeds.interface, "FeedCreated").args.feedId) };
    const addresses = await Promise.all(editors.map((e) => e.getAddress()));
    const rotation = editorsDigest(third, 0, addresses, 2);
    await (await alertFeeds.setEditors(third.feedId, addresses, 2, [await signDigest(rotation, stranger)])).wait();
    await replicaA.follow(third.feedId);
    const genuine = await draft(capAlert("THIRD-1"), { feed: third });
    expect(genuine.epoch).to.equal(1);
    replicaA.announce(third.feedId, encodeAnnouncement(genuine));
    await replicaA.drain();
    const pending = () =>
      (replicaA.status().feeds as { feedId: number; pending: number }[]).find((f) => f.feedId === third.feedId)?.pending;
    expect(pending()).to.equal(1);
    const rejected: AlertRejected[] = [];
    const off = replicaA.on("rejected", (r) => rejected.push(r));
    for (let i = 0; i < 6; i++) {
      const seq = 1 + (i % 2);
      const prev = seq === 2 ? entryCidOf(genuine.entry) : null;
      const old = await draft(capAlert(`OLD-${i}`), { feed: third, seq, prev, epoch: 0, signers: [stranger] });
      replicaA.announce(third.feedId, encodeAnnouncement(old));
    }
    await replicaA.drain();
    off();
    expect(rejected.map((r) => r.reason)).to.deep.equal(Array(6).fill("AlertNotAnchoredError"));
    expect(rejected[0]?.error).to.match(
      /signed by the editors of epoch 0, but the chain \(at entry 0\) anchors new entries with epoch 1's only/,
    );
    expect(pending()).to.equal(1);
    // The genuine one is stored once anchored.
    await anchor(genuine);
    const stored = next<VerifiedEntry>(replicaA, "entry", (e) => e.ref.feedId === third.feedId);
    await replicaA.poll();
    expect((await stored).entry.cap.identifier).to.equal("THIRD-1");
    thirdRef = third;
  });

  it("a catch-up waiting on bitswap for an entry takes it from an announcement arriving meanwhile", async () => {
    // Replica E, connected to A only, holds feed 3's entry 1. Entry 2 is anchored and its block held by no node.
    const nodeE = await createIpfsNode({ peers: nodeAddresses(nodeA).slice(0, 1) });
    nodes.push(nodeE);
    const replicaE = await startReplica(nodeE, undefined, { feedIds: [thirdRef.feedId], fetchTimeoutMs: 30_000 });
    try {
      await replicaE.poll();
      expect(replicaE.heads()[0]?.seq).to.equal(1);
      const second3 = await draft(capAlert("THIRD-2"), { feed: thirdRef });
      await anchor(second3);
      const started = Date.now();
      const polling = replicaE.poll(); // sees the head move and asks bitswap for entry 2
      await new Promise((r) => setTimeout(r, 300));
      replicaE.announce(thirdRef.feedId, encodeAnnouncement(second3));
      await polling;
      expect(Date.now() - started).to.be.below(5000);
      expect(replicaE.entries(thirdRef.feedId).map((e) => e.entry.cap.identifier)).to.deep.equal(["THIRD-1", "THIRD-2"]);
      expect(await nodeE.blockstore.has(entryCidOf(second3.entry))).to.equal(true);
    } finally {
      await replicaE.stop();
    }
  });

  it("deleteBlock removes a block from a Helia node's store, where Helia's own delete throws without content routers", async () => {
    const block = await encodeBlock({ scratch: "deleted again" });
    await nodeB.blockstore.put(block.cid, block.bytes);
    await expectRejects(
      Promise.resolve().then(() => nodeB.blockstore.delete(block.cid)),
      Error,
      /content routers/,
    );
    await deleteBlock(nodeB, block.cid);
    expect(await nodeB.blockstore.has(block.cid)).to.equal(false);
  });

  it("a reducer node with alertFeeds replicates them; the config fields are checked and named", async () => {
    // Replica B catches up with entries 3 and 4 from A; the reducer node is pointed at B only.
    await replicaB?.poll();
    expect(replicaB?.heads()[0]?.seq).to.equal(4);
    const config = parseReducerConfig(
      {
        rpcUrl: "http://in-process",
        registry,
        operatorKeyFile: "unused",
        dataDir: path.join(dir, "reducer"),
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 1, batchSize: 4, batchWaitMs: 50 },
        pollMs: 150,
        fetchTimeoutMs: 3000,
        wsListen: "",
        peers: nodeAddresses(nodeB).slice(0, 1),
        alertFeeds: [ref.feedId],
        alertFeedsAddress: ref.contract,
      },
      path.join(dir, "reducer.json"),
    );
    const reducer = createReducerNode(config, { chain, signer: chain.accounts[6]!, logger: quiet });
    reducers.push(reducer);
    await reducer.start();
    // It holds what replica B held, fetched from B over bitswap, verified against the chain.
    await waitUntil(
      "the reducer's replica to reach the chain's head",
      async () => reducer.alertHeads()[0]?.seq === (await feedChain.headOf(ref.feedId)).seq,
      {
        timeoutMs: 30_000,
      },
    );
    expect(reducer.alertHeads()[0]?.cid).to.equal(replicaA.heads()[0]?.cid);
    expect(reducer.health().alerts).to.deep.equal(reducer.alertHeads());
    expect(reducer.metrics()).to.match(/mosaic_alert_entries_total\{feed="\d+"\} 4/);
    await reducer.stop();
    expect(JSON.parse(await readFile(path.join(dir, "reducer", "alerts.json"), "utf8")).feeds[0].entries).to.have.length(4);

    const base = { rpcUrl: "http://127.0.0.1:8545", registry, operatorKeyFile: "op.key", dataDir: "data" };
    expect(parseReducerConfig(base, "r.json"))
      .to.include({ alertFeedsAddress: undefined })
      .and.have.property("alertFeeds")
      .that.deep.equals([]);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ alertFeeds: [1] }, /^r\.json: alertFeedsAddress: alertFeeds names feeds, but neither the config nor a network file gives/],
      [{ alertFeeds: [0], alertFeedsAddress: ref.contract }, /alertFeeds\[0\]: expected a feed id \(an integer >= 1\), got 0/],
      [{ alertFeeds: [1, 1], alertFeedsAddress: ref.contract }, /alertFeeds\[1\]: feed 1 is named twice/],
      [{ alertFeeds: "1", alertFeedsAddress: ref.contract }, /alertFeeds: expected a list of up to 256 feed ids/],
      [{ alertFeeds: [1], alertFeedsAddress: "0x12" }, /alertFeedsAddress: expected the AlertFeeds contract's address, got "0x12"/],
    ];
    for (const [extra, pattern] of bad)
      expect(() => parseReducerConfig({ ...base, ...extra }, "r.json")).to.throw(ReducerConfigError, pattern);
    // The AlertFeeds address comes from the network file, as the other contracts' do; the config's wins.
    const at = (address: string) => ({ address, deployBlock });
    const network: NetworkFile = {
      v: 1,
      name: "test",
      chainId: ref.chainId,
      rpc: "http://127.0.0.1:8545",
      contracts: {
        semaphore: at(registry),
        avatarGroups: at(registry),
        openAdmission: at(registry),
        registrarAdmission: at(registry),
        jobRegistry: at(registry),
        reducerDirectory: at(registry),
        alertFeeds: at(ref.contract),
      },
      bootstrap: [],
      createdAt: new Date().toISOString(),
    };
    const fromNetwork = parseReducerConfig({ operatorKeyFile: "op.key", dataDir: "data", alertFeeds: [2, 1] }, "r.json", network);
    expect(fromNetwork).to.include({ alertFeedsAddress: ref.contract }).and.have.property("alertFeeds").that.deep.equals([2, 1]);
    const own = "0x000000000000000000000000000000000000a1e7";
    expect(
      parseReducerConfig({ operatorKeyFile: "op.key", dataDir: "data", alertFeedsAddress: own }, "r.json", network).alertFeedsAddress,
    ).to.equal(own);
  });
});
