// `mosaic alerts`' editor side against a real Hardhat chain, in process (review 21's proofs turned into regression
// tests): a stranger copying the anchoring transaction from the mempool, a last signer who anchors and tells nobody
// ('alerts announce'), and a CAP message published twice (DuplicateCapKeyError unless --force).
import http from "node:http";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  addSignature,
  alertFeedChain,
  draftEntry,
  entryDigest,
  MAX_ENTRY_BYTES,
  parseDraft,
  renderCap,
  signDigest,
  syncFeed,
} from "@mosaic/alerts";
import {
  AlertFeeds__factory,
  type CID,
  connectChain,
  createIpfsNode,
  encodeBlock,
  getBlock,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { FsBlockstore } from "blockstore-fs";
import { expect } from "chai";
import { getBytes, HDNodeWallet, JsonRpcProvider, Mnemonic, Transaction, Wallet } from "ethers";
import { network } from "hardhat";
import { sampleCap } from "../../alerts/test/fixtures/feed.js";
import {
  AlertFeedsError,
  alertsAnnounce,
  alertsList,
  alertsPublish,
  alertsSign,
  DuplicateCapKeyError,
  EntryNotAnchoredError,
  formatAnnounce,
  formatList,
  formatSign,
  StaleDraftError,
} from "../src/alerts.js";
import type { ResolvedNetwork } from "../src/network-flags.js";

const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (i: number) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), `m/44'/60'/0'/0/${i}`);
const net = (rpc: string) => ({ rpc, bootstrap: [], deployBlocks: {}, sources: {} }) as unknown as ResolvedNetwork;

async function holds(dir: string, cid: CID): Promise<boolean> {
  const store = new FsBlockstore(path.join(dir, "blocks"));
  await store.open();
  try {
    return await store.has(cid);
  } finally {
    await store.close();
  }
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("cli alerts on a chain: front-running, a silent last signer, a CAP message published twice (review 21)", function () {
  this.timeout(180_000);
  let server: Awaited<ReturnType<typeof network.createServer>>;
  let chain: Awaited<ReturnType<typeof connectChain>>;
  let rpc: string;
  let work: string;
  let address: string;
  let feeds: ReturnType<typeof AlertFeeds__factory.connect>;
  const [a, b] = [keyOf(1), keyOf(2)].sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1)) as [HDNodeWallet, HDNodeWallet];
  const key = (n: string) => path.join(work, `${n}.key`);
  const dir = (n: string) => path.join(work, n);

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "cli-alerts-chain-"));
    server = await network.createServer("default", "127.0.0.1", 0);
    const { port } = await server.listen();
    rpc = `http://127.0.0.1:${port}`;
    chain = await connectChain({ rpcUrl: rpc, accounts: 1 });
    const deployed = await new AlertFeeds__factory(chain.accounts[0]).deploy();
    await deployed.waitForDeployment();
    address = await deployed.getAddress();
    feeds = AlertFeeds__factory.connect(address, chain.accounts[0]);
    await (await feeds.createFeed([a.address, b.address], 2)).wait(); // feed 1: 2 of 2
    await (await feeds.createFeed([a.address], 1)).wait(); // feed 2: 1 of 1
    await writeFile(key("a"), `${a.privateKey}\n`);
    await writeFile(key("b"), `${b.privateKey}\n`);
    await writeFile(path.join(work, "cap.xml"), renderCap(sampleCap()));
    await writeFile(path.join(work, "cap2.xml"), renderCap(sampleCap({ identifier: "BER-2026-0002" })));
    await writeFile(path.join(work, "cap3.xml"), renderCap(sampleCap({ identifier: "BER-2026-0003" })));
  });

  after(async () => {
    await chain?.close();
    await server?.close();
  });

  it("a stranger's copy of the anchoring transaction sent first: the CLI says 'anchored (by someone else's transaction)', every signer holds the block, followers sync", async () => {
    // A stranger watching the mempool: a JSON-RPC proxy that, on the editor's eth_sendRawTransaction of anchor(),
    // first sends the same calldata from the stranger's own account.
    const stranger = new Wallet(keyOf(7).privateKey, new JsonRpcProvider(rpc));
    const selector = feeds.interface.getFunction("anchor").selector;
    let frontRun = "";
    const proxy = http.createServer(async (req, res) => {
      let body = "";
      for await (const c of req) body += c;
      for (const m of [JSON.parse(body)].flat())
        if (m.method === "eth_sendRawTransaction" && frontRun === "") {
          const tx = Transaction.from(m.params[0]);
          if (tx.data.startsWith(selector)) {
            const copy = await stranger.sendTransaction({ to: tx.to, data: tx.data });
            await copy.wait();
            frontRun = copy.hash;
          }
        }
      const r = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(await r.text());
    });
    await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const draftFile = path.join(work, "front.draft.json");
      const pub = await alertsPublish({
        network: net(rpc),
        alertFeeds: address,
        walletKeyFile: key("a"),
        feedId: 1,
        dataDir: dir("A"),
        peers: [],
        draftFile,
        capFile: path.join(work, "cap.xml"),
      });
      expect(pub.status).to.equal("draft");
      const { block } = draftEntry(parseDraft(await readFile(draftFile, "utf8")));
      // The first signer keeps the block at once, before the draft leaves the machine.
      expect(await holds(dir("A"), block.cid)).to.equal(true);

      const signed = await alertsSign({
        network: net(proxyUrl),
        alertFeeds: address,
        walletKeyFile: key("b"),
        draftFile,
        dataDir: dir("B"),
        peers: [],
        yes: true,
      });
      expect(frontRun).to.not.equal("");
      expect(signed.completion).to.deep.include({ status: "anchored", seq: 1, cid: block.cid.toString(), anchoredByOther: true });
      expect(signed.completion.status === "anchored" && signed.completion.txHash).to.equal(frontRun);
      expect(formatSign(signed)).to.match(/anchored \(by someone else's transaction[^)]*\) entry 1 of feed 1/);
      const head = await feeds.headOf(1);
      expect(Number(head.seq)).to.equal(1);
      expect(head.entryCid).to.equal(`0x${Buffer.from(block.cid.bytes).toString("hex")}`);
      expect(await holds(dir("B"), block.cid)).to.equal(true);

      // A follower reading from the editors' stores gets the entry (it stopped at FeedUnavailableError before).
      const store = new FsBlockstore(path.join(dir("B"), "blocks"));
      await store.open();
      const entries = await syncFeed(
        { chainId: Number(chain.chainId), contract: address.toLowerCase(), feedId: 1 },
        alertFeedChain(feeds),
        { get: (cid, options) => getBlock(store, cid, { maxBytes: MAX_ENTRY_BYTES, signal: options?.signal }) },
      );
      await store.close();
      expect(entries.map((e) => e.cid.toString())).to.deep.equal([block.cid.toString()]);
    } finally {
      proxy.close();
    }
  });

  it("a last signer who anchors and tells nobody: 'alerts announce' checks the chain holds the draft's entry, keeps and announces it", async () => {
    const draftFile = path.join(work, "silent.draft.json");
    await alertsPublish({
      network: net(rpc),
      alertFeeds: address,
      walletKeyFile: key("a"),
      feedId: 1,
      dataDir: dir("A"), // holds entry 1, which publish reads for the feed's keys
      peers: [],
      draftFile,
      capFile: path.join(work, "cap2.xml"),
    });
    const draft = parseDraft(await readFile(draftFile, "utf8"));
    const { block } = draftEntry(draft);
    const flags = { network: net(rpc), alertFeeds: address, draftFile, dataDir: dir("A3"), peers: [] };
    // Not anchored yet: nothing to announce, nothing kept.
    const early = await rejects(alertsAnnounce(flags));
    expect(early).to.be.instanceOf(EntryNotAnchoredError);
    expect(early.message).to.match(/entry 2 of feed 1 is not anchored \(the feed has 1\)/);
    expect(await holds(dir("A3"), block.cid)).to.equal(false);

    // A rival draft for entry 2 (another message), made before the anchoring.
    const rivalFile = path.join(work, "rival.draft.json");
    await alertsPublish({
      network: net(rpc),
      alertFeeds: address,
      walletKeyFile: key("a"),
      feedId: 1,
      dataDir: dir("A"),
      peers: [],
      draftFile: rivalFile,
      capFile: path.join(work, "cap3.xml"),
    });
    const rivalCid = draftEntry(parseDraft(await readFile(rivalFile, "utf8"))).block.cid;

    // Editor b signs on its own machine and anchors with its own transaction, keeping and announcing nothing.
    const complete = await addSignature(draft, b);
    const tx = await feeds.connect(new Wallet(b.privateKey, chain.provider)).anchor(
      1,
      2,
      block.cid.bytes,
      complete.signatures.map((h) => getBytes(h)),
    );
    await tx.wait();

    // Signing the draft now is stale, and says to announce it.
    const stale = await rejects(
      alertsSign({ network: net(rpc), alertFeeds: address, walletKeyFile: key("a"), draftFile, dataDir: dir("A"), peers: [], yes: true }),
    );
    expect(stale).to.be.instanceOf(StaleDraftError);
    expect(stale.message).to.match(/anchored already with this draft's entry[\s\S]*mosaic alerts announce/);

    const r = await alertsAnnounce(flags);
    expect(r.completion).to.deep.include({ status: "anchored", seq: 2, cid: block.cid.toString(), txHash: tx.hash, replicas: 0 });
    expect(formatAnnounce(r)).to.match(/^the chain holds this draft's entry: anchored entry 2 of feed 1/);
    expect(await holds(dir("A3"), block.cid)).to.equal(true);

    // The rival draft for the same position names the entry anchored there; nothing is kept.
    const rival = await rejects(alertsAnnounce({ ...flags, draftFile: rivalFile, dataDir: dir("A4") }));
    expect(rival).to.be.instanceOf(StaleDraftError);
    expect(rival.message).to.include(`entry 2 of feed 1 was anchored as ${block.cid}, not this draft's ${rivalCid}`);
    expect(await holds(dir("A4"), rivalCid)).to.equal(false);
  });

  it("publish refuses a CAP message whose key the feed holds (DuplicateCapKeyError, nothing signed); --force publishes it again", async () => {
    const flags = {
      network: net(rpc),
      alertFeeds: address,
      walletKeyFile: key("a"),
      feedId: 2,
      dataDir: dir("solo"),
      peers: [],
      capFile: path.join(work, "cap.xml"),
    };
    const first = await alertsPublish(flags);
    expect(first).to.deep.include({ status: "anchored", seq: 1 });
    const again = await rejects(alertsPublish(flags));
    expect(again).to.be.instanceOf(DuplicateCapKeyError);
    expect(again.message).to.match(
      /feed 2 already holds this CAP message \(alerts@berlin\.example,BER-2026-0001,2026-12-05T10:00:00\+01:00\) as entry 1[\s\S]*--force/,
    );
    expect(Number((await feeds.headOf(2)).seq)).to.equal(1);
    const forced = await alertsPublish({ ...flags, force: true });
    expect(forced).to.deep.include({ status: "anchored", seq: 2 });
    // Another message is published without fuss; an unknown feed is still named.
    expect(await alertsPublish({ ...flags, capFile: path.join(work, "cap2.xml") })).to.deep.include({ status: "anchored", seq: 3 });
    expect(await rejects(alertsPublish({ ...flags, feedId: 9 }))).to.be.instanceOf(AlertFeedsError);
  });

  it("an anchored entry no reader can accept is a gap: publish goes on after it, list --feed names it and lists the rest", async () => {
    // Feed 2's editor anchors, as entry 4, a block that is no entry (a rogue or broken tool) and serves it.
    const junk = await encodeBlock({ v: 1, not: "an entry" });
    const ref = { chainId: Number(chain.chainId), contract: address.toLowerCase(), feedId: 2 };
    const sig = await signDigest(entryDigest(ref, 0, 4, junk.cid), a);
    await (await feeds.anchor(2, 4, junk.cid.bytes, [sig])).wait();
    const server = await createIpfsNode({ blockstoreDir: path.join(dir("solo"), "blocks"), listen: ["/ip4/127.0.0.1/tcp/0"] });
    try {
      await putBlock(server.blockstore, junk);
      const flags = {
        network: net(rpc),
        alertFeeds: address,
        walletKeyFile: key("a"),
        feedId: 2,
        dataDir: dir("solo"),
        peers: [],
        capFile: path.join(work, "cap4.xml"),
      };
      await writeFile(flags.capFile, renderCap(sampleCap({ identifier: "BER-2026-0004" })));
      // Publish reads the feed for keys: the gap holds none, so it goes on (its entry's prev is the gap's CID).
      expect(await alertsPublish(flags)).to.deep.include({ status: "anchored", seq: 5 });
      const listed = await alertsList({
        network: net(rpc),
        alertFeeds: address,
        feedId: 2,
        all: true,
        xml: false,
        peers: nodeAddresses(server),
        now: Date.parse("2026-12-06T00:00:00Z") / 1000,
      });
      expect(listed.gaps).to.deep.equal([
        { feedId: 2, seq: 4, cid: junk.cid.toString(), error: "MalformedEntryError", reason: listed.gaps[0]?.reason },
      ]);
      expect(listed.alerts.map((x) => x.seq)).to.deep.equal([1, 2, 3, 5]);
      expect(listed.unavailable).to.equal(undefined);
      expect(formatList(listed)).to.match(/\nentry 4 of feed 2 could not be read: MalformedEntryError: .+ \(skipped; anchored as \S+\)/);
    } finally {
      await server.stop();
    }
  });
});
