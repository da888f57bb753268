import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as dagCbor from "@ipld/dag-cbor";
import { createIpfsNode, dialPeer, type IpfsNode, nodeAddresses } from "@mosaic/protocol";
import { expect } from "chai";
import { expectRejects } from "../../../test/helpers.js";
import {
  deriveThreadSecrets,
  type DiskStores,
  openDiskStores,
  ProtocolError,
  PullRefusedError,
  Thread,
  ThreadLog,
  ThreadReplicator,
} from "../src/node.js";
import { signingKeyFromSeed } from "../src/crypto.js";
import { ingestFrames } from "../src/frames.js";
import { certifyLog } from "../src/keys.js";
import { createEvent, createRecord } from "../src/record.js";
import { threadTopic } from "../src/replication.js";
import { SEED } from "./helpers.js";

const MARKER = "MARKER-51.5007-0.1246";

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Peer {
  stores: DiskStores;
  node: IpfsNode;
  replicator: ThreadReplicator;
}

describe("threads: replication over libp2p on loopback", () => {
  let root: string;
  const peers: Peer[] = [];

  async function peer(name: string): Promise<Peer> {
    const stores = await openDiskStores(path.join(root, name));
    const node = await createIpfsNode({ blockstore: stores.blockstore });
    const replicator = new ThreadReplicator({ libp2p: node.libp2p }, { pullIntervalMs: 500 });
    await replicator.start();
    const p = { stores, node, replicator };
    peers.push(p);
    return p;
  }

  async function device(name: string) {
    const p = await peer(name);
    const thread = await Thread.open(p.stores, { secrets: deriveThreadSecrets(SEED, "vault", name) });
    p.replicator.add(thread.log);
    return { ...p, thread };
  }

  async function connect(a: Peer, b: Peer): Promise<void> {
    await dialPeer(a.node, nodeAddresses(b.node)[0] as string);
  }

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "mosaic-repl-"));
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) {
      await p.replicator.stop();
      await p.node.stop();
      await p.stores.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it("devices pull on connect, push on append, and converge", async () => {
    const laptop = await device("laptop");
    const phone = await device("phone");
    const notes = laptop.thread.collection("notes");
    for (let i = 0; i < 300; i++) await notes.create({ _id: `l${i}`, text: `laptop ${i}` });
    await connect(phone, laptop);
    await until("pull on connect", () => phone.thread.collection("notes").size === 300);
    // Now both are subscribed: new writes on either side arrive by push.
    await until("topic peers", () => laptop.node.libp2p.services.pubsub.getSubscribers(threadTopic(laptop.thread.log.id)).length === 1);
    await phone.thread.collection("notes").create({ _id: "p0", text: "from the phone" });
    await notes.update("l0", { text: "edited on the laptop" });
    await until(
      "push both ways",
      () =>
        laptop.thread.collection("notes").get("p0") !== undefined &&
        phone.thread.collection("notes").get("l0")?.text === "edited on the laptop",
    );
    expect(laptop.thread.collection("notes").find()).to.deep.equal(phone.thread.collection("notes").find());
    expect(await phone.thread.log.verify()).to.equal(302);
    expect(laptop.replicator.stats(laptop.thread.log.id)?.pushed).to.be.at.least(1);
    expect(phone.replicator.stats(phone.thread.log.id)?.rejected).to.deep.equal({});
  });

  it("a replicator with the service key alone stores and serves the thread, and never holds a plaintext byte", async () => {
    const secrets = deriveThreadSecrets(SEED, "vault", "laptop");
    const laptop = await device("laptop");
    // A pinning node: the thread ID, the service key and the owner's public key, nothing more.
    const replicator = async () => {
      const p = await peer("replicator");
      const log = await ThreadLog.open(p.stores, {
        id: secrets.id,
        serviceKey: secrets.key.service,
        ownerPublicKey: secrets.owner.publicKey,
      });
      p.replicator.add(log);
      return { pin: p, pinned: log };
    };
    const { pin, pinned } = await replicator();
    for (let i = 0; i < 50; i++) await laptop.thread.collection("places").create({ _id: `x${i}`, note: `${MARKER} #${i}` });
    await connect(pin, laptop);
    await until("replicator pulled", () => pinned.size === 50);
    expect(await pinned.verify()).to.equal(50);
    await laptop.replicator.stop();
    await laptop.node.stop();

    // Every byte the replicator wrote, uncompressed (LevelDB compression is off): no marker, no field name.
    await pin.stores.close();
    const bytes: Buffer[] = [];
    for (const f of await readdir(path.join(root, "replicator"), { recursive: true })) {
      const file = path.join(root, "replicator", f);
      try {
        bytes.push(await readFile(file));
      } catch {
        // a directory
      }
    }
    const all = Buffer.concat(bytes);
    expect(all.length).to.be.greaterThan(50 * 300);
    expect(all.includes(Buffer.from("MARKER"))).to.equal(false);
    expect(all.includes(Buffer.from("places"))).to.equal(false);
    expect(all.includes(Buffer.from("note"))).to.equal(false);
    peers.splice(peers.indexOf(pin), 1);
    peers.splice(peers.indexOf(laptop), 1);
    await laptop.stores.close();

    // Reopened, it serves a new device of the vault, which reads everything.
    const { pin: pin2 } = await replicator();
    const tablet = await device("tablet");
    await connect(tablet, pin2);
    await until("tablet restored from the replicator", () => tablet.thread.collection("places").size === 50);
    expect(tablet.thread.collection("places").get("x7")?.note).to.equal(`${MARKER} #7`);
  });

  it("a hostile peer's pushes change nothing, each refused by name; a pull without the service key is refused", async () => {
    const laptop = await device("laptop");
    await laptop.thread.collection("notes").create({ _id: "a", text: "kept" });
    const hostile = await peer("hostile");
    const s = deriveThreadSecrets(SEED, "vault", "mallory");
    const topic = threadTopic(s.id);
    hostile.node.libp2p.services.pubsub.subscribe(topic);
    await connect(hostile, laptop);
    await until("mesh", () => hostile.node.libp2p.services.pubsub.getSubscribers(topic).length === 1);
    const stranger = signingKeyFromSeed(new Uint8Array(32).fill(9));
    const event = createEvent(s.id, s.key.read, [1, 0], dagCbor.encode({ c: "notes", op: "put", id: "b", doc: { _id: "b" } }));
    const uncertified = createRecord(s.id, s.key.service, s.log, event.cid, null);
    const wrongKey = createRecord(s.id, new Uint8Array(32).fill(3), s.log, event.cid, null);
    const badCert = certifyLog(stranger, s.id, s.log.publicKey);
    const pushes = [
      { push: { record: uncertified.block.bytes, event: event.bytes } }, // UnknownLogError
      { push: { record: uncertified.block.bytes, event: event.bytes, cert: badCert } }, // UnknownLogError
      { push: { record: wrongKey.block.bytes, event: event.bytes, cert: certifyLog(s.owner, s.id, s.log.publicKey) } }, // WrongServiceKeyError
      { push: { record: new Uint8Array(2048), event: event.bytes } }, // BlockTooLargeError
      { push: "garbage" }, // ProtocolError
    ];
    const before = { heads: laptop.thread.log.heads(), docs: laptop.thread.collection("notes").find() };
    for (const p of pushes) await hostile.node.libp2p.services.pubsub.publish(topic, dagCbor.encode(p));
    await hostile.node.libp2p.services.pubsub.publish(topic, new Uint8Array([0xff, 0x00, 0x13]));
    const stats = laptop.replicator.stats(laptop.thread.log.id);
    await until("all six refused", () => Object.values(stats?.rejected ?? {}).reduce((a, b) => a + b, 0) === 6);
    expect(stats?.rejected).to.deep.equal({ UnknownLogError: 2, WrongServiceKeyError: 1, BlockTooLargeError: 1, ProtocolError: 2 });
    expect({ heads: laptop.thread.log.heads(), docs: laptop.thread.collection("notes").find() }).to.deep.equal(before);
    // The hostile peer is on the topic but holds no such thread: the laptop's pulls from it are refused.
    expect(stats?.pullErrors).to.have.property("PullRefusedError");

    // Without the service key, a pull is refused and yields nothing.
    const outsider = deriveThreadSecrets(SEED, "vault", "laptop");
    const fake = await ThreadLog.open((await peer("outsider")).stores, {
      id: outsider.id,
      serviceKey: new Uint8Array(32).fill(7),
      ownerPublicKey: outsider.owner.publicKey,
    });
    const outsiderPeer = peers.at(-1) as Peer;
    outsiderPeer.replicator.add(fake);
    await connect(outsiderPeer, laptop);
    await expectRejects(outsiderPeer.replicator.pull(laptop.node.libp2p.peerId, fake.id), PullRefusedError, /refused/);
    expect(fake.size).to.equal(0);
  });

  it("a hostile record stream (pull answer or archive) is refused by name and changes nothing", async () => {
    const laptop = await device("laptop");
    await laptop.thread.collection("notes").create({ _id: "a" });
    const s = deriveThreadSecrets(SEED, "vault", "phone");
    const event = createEvent(s.id, s.key.read, [1, 0], dagCbor.encode({ c: "notes", op: "put", id: "b", doc: { _id: "b" } }));
    const good = createRecord(s.id, s.key.service, s.log, event.cid, null);
    const offer = { logs: [{ pubKey: s.log.publicKey, cert: certifyLog(s.owner, s.id, s.log.publicKey), from: 0, to: 1 }] };
    const streams: [unknown[], string, RegExp][] = [
      [[{ nope: 1 }], "ProtocolError", /expected \{logs/],
      [[{ error: "go away" }], "PullRefusedError", /go away/],
      [[{ logs: [{ pubKey: 1 }] }], "ProtocolError", /malformed log offer/],
      [[offer, { records: [[s.log.publicKey, good.block.bytes]] }], "ProtocolError", /malformed record row/],
      [[offer, { records: "x" }], "ProtocolError", /expected \{records/],
      [
        [offer, { records: [[s.log.publicKey, good.block.bytes, new Uint8Array(3)]] }, { done: true }],
        "MalformedRecordError",
        /do not hash/,
      ],
      [[offer], "ProtocolError", /ended before/],
    ];
    const before = await laptop.thread.log.heads();
    for (const [frames, name, pattern] of streams) {
      const encoded = frames.map((f) => dagCbor.encode(f));
      const err = await expectRejects(ingestFrames(laptop.thread.log, encoded.values()), Error, pattern);
      expect(err.name).to.equal(name);
      expect(laptop.thread.log.heads()).to.deep.equal(before);
    }
    await expectRejects(ingestFrames(laptop.thread.log, [new Uint8Array([0xff])].values()), ProtocolError, /not dag-cbor/);
    expect(laptop.thread.collection("notes").find()).to.deep.equal([{ _id: "a" }]);
  });
});
