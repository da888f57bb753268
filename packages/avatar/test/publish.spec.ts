// publishSubmission against real Helia nodes on loopback: a new peer id and port per publish, never the vault
// node's, the delay honoured, and the block retrievable before the throwaway node stops.
import { randomBytes } from "node:crypto";
import { type Block, createIpfsNode, encodeBlock, getBlock, type IpfsNode, jobTopic, nodeAddresses, parseCid } from "@mosaic/protocol";
import { expect } from "chai";
import { pickPublishDelay, publishSubmission } from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 7n };

interface Arrival {
  cid: string;
  from: string;
  keyType: string;
  /** performance.now() when the reducer received the announcement. */
  at: number;
  bytes?: Uint8Array;
}

describe("publishing a submission from a throwaway identity (real libp2p nodes on 127.0.0.1)", () => {
  const topic = jobTopic(job);
  let reducer: IpfsNode;
  let vaultNode: IpfsNode;
  const arrivals: Arrival[] = [];
  const inbound: Array<{ peer: string; addr: string }> = [];

  const block = (): Promise<Block> => encodeBlock({ v: 1, nonce: randomBytes(16) });
  const arrivalOf = async (cid: string): Promise<Arrival> => {
    for (let i = 0; i < 200; i++) {
      const a = arrivals.find((x) => x.cid === cid && x.bytes !== undefined);
      if (a) return a;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${cid} was not announced and fetched`);
  };

  before(async () => {
    reducer = await createIpfsNode();
    // The vault's long-lived node, connected to the reducer as a device's node would be: it must not be the one announcing.
    vaultNode = await createIpfsNode({ peers: nodeAddresses(reducer) });
    reducer.libp2p.addEventListener("connection:open", (evt) => {
      inbound.push({ peer: evt.detail.remotePeer.toString(), addr: evt.detail.remoteAddr.toString() });
    });
    const pubsub = reducer.libp2p.services.pubsub;
    pubsub.subscribe(topic);
    pubsub.addEventListener("message", (evt) => {
      const msg = evt.detail;
      if (msg.topic !== topic || msg.type !== "signed") return;
      const arrival: Arrival = {
        cid: new TextDecoder().decode(msg.data),
        from: msg.from.toString(),
        keyType: msg.from.type,
        at: performance.now(),
      };
      arrivals.push(arrival);
      // Fetch as a reducer does: over bitswap, from whoever is connected and has it.
      void getBlock(reducer.blockstore, parseCid(arrival.cid), { maxBytes: 4096, signal: AbortSignal.timeout(5000) }).then(
        (bytes) => {
          arrival.bytes = bytes;
        },
        () => undefined,
      );
    });
  });
  after(async () => {
    await vaultNode?.stop();
    await reducer?.stop();
  });

  it("announces from a new Ed25519 peer id and port per publish, never the vault node's, no earlier than delayMs, with the block fetchable", async () => {
    const peers = nodeAddresses(reducer);
    const first = await block();
    const t0 = performance.now();
    const r1 = await publishSubmission(first, { peers, topic, delayMs: 300 });
    const a1 = await arrivalOf(first.cid.toString());
    // A lower bound only: a loaded machine may take longer, never shorter.
    expect(a1.at - t0, "announcement arrived before the delay ran out").to.be.at.least(300);
    expect(a1.from).to.equal(r1.peerId);
    expect(a1.keyType).to.equal("Ed25519");
    expect(a1.bytes).to.deep.equal(first.bytes);
    expect(r1.fetches).to.be.at.least(1);
    expect(r1.recipients).to.deep.equal([reducer.libp2p.peerId.toString()]);

    const second = await block();
    const r2 = await publishSubmission(second, { peers, topic });
    const a2 = await arrivalOf(second.cid.toString());
    expect(a2.from).to.equal(r2.peerId);
    expect(a2.keyType).to.equal("Ed25519");
    expect(a2.bytes).to.deep.equal(second.bytes);

    const ids = new Set([r1.peerId, r2.peerId, vaultNode.libp2p.peerId.toString(), reducer.libp2p.peerId.toString()]);
    expect(ids.size, "every publisher peer id is new").to.equal(4);
    // The reducer saw each publisher connect once, each from its own source address, neither the vault node's.
    const from = (peer: string) => inbound.filter((c) => c.peer === peer).map((c) => c.addr);
    const vaultConn = reducer.libp2p.getConnections(vaultNode.libp2p.peerId).map((c) => c.remoteAddr.toString());
    expect(from(r1.peerId)).to.have.length(1);
    expect(from(r2.peerId)).to.have.length(1);
    expect(vaultConn).to.have.length(1);
    expect(new Set([...from(r1.peerId), ...from(r2.peerId), ...vaultConn]).size).to.equal(3);
    // The throwaway nodes are gone once publishSubmission returns: their connections close.
    const publishers = () => reducer.libp2p.getConnections().filter((c) => [r1.peerId, r2.peerId].includes(c.remotePeer.toString()));
    for (let i = 0; i < 100 && publishers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(publishers()).to.have.length(0);
  });

  it("aborts during the delay without opening a connection", async () => {
    const opened = inbound.length;
    const announced = arrivals.length;
    const b = await block();
    await expectRejects(
      publishSubmission(b, { peers: nodeAddresses(reducer), topic, delayMs: 10_000, signal: AbortSignal.timeout(100) }),
      Error,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(inbound.length).to.equal(opened);
    expect(arrivals.length).to.equal(announced);
  });

  it("refuses bad arguments with errors that name the field", async () => {
    const b = await block();
    await expectRejects(publishSubmission(b, { peers: [], topic }), TypeError, /peers: expected at least one/);
    await expectRejects(
      publishSubmission(b, { peers: nodeAddresses(reducer), topic, delayMs: -1 }),
      RangeError,
      /delayMs: expected a number >= 0, got -1/,
    );
    await expectRejects(publishSubmission(b, { peers: nodeAddresses(reducer), topic, minRecipients: 0 }), RangeError, /minRecipients/);
  });
});

describe("pickPublishDelay: a uniform CSPRNG delay within the collection window", () => {
  const now = 1_700_000_000;

  it("draws in [0, window - margin], the margin being max(60 s, 10% of the window) by default", () => {
    const bounds: number[] = [];
    const spy = (bound: number) => {
      bounds.push(bound);
      return bound - 1;
    };
    expect(pickPublishDelay({ collectionDeadline: now + 600, now, random: spy })).to.deep.equal({
      delayMs: 540_000,
      boundMs: 540_000,
      capped: false,
    });
    expect(pickPublishDelay({ collectionDeadline: now + 86_400, now, random: spy }).boundMs).to.equal(86_400_000 - 8_640_000);
    expect(pickPublishDelay({ collectionDeadline: now + 600, now, maxDelayMs: 2000, random: spy }).boundMs).to.equal(2000);
    expect(pickPublishDelay({ collectionDeadline: now + 600, now, safetyMarginMs: 0, random: spy }).boundMs).to.equal(600_000);
    // The random source is asked for an integer below bound + 1, so both ends can be drawn.
    expect(bounds).to.deep.equal([540_001, 77_760_001, 2001, 600_001]);
  });

  it("is 0 and says so when the window leaves no room", () => {
    const never = () => expect.fail("no draw when the window is too short");
    expect(pickPublishDelay({ collectionDeadline: now + 59, now, random: never })).to.deep.equal({ delayMs: 0, boundMs: 0, capped: true });
    expect(pickPublishDelay({ collectionDeadline: now - 10, now, random: never }).capped).to.equal(true);
    expect(pickPublishDelay({ collectionDeadline: now + 600, now, maxDelayMs: 0, random: never }).delayMs).to.equal(0);
  });

  it("uses crypto.randomInt by default and refuses a random source out of range", () => {
    const draws = Array.from({ length: 2000 }, () => pickPublishDelay({ collectionDeadline: now + 600, now, maxDelayMs: 1000 }).delayMs);
    expect(Math.min(...draws))
      .to.be.at.least(0)
      .and.below(250);
    expect(Math.max(...draws))
      .to.be.at.most(1000)
      .and.above(750);
    expect(() => pickPublishDelay({ collectionDeadline: now + 600, now, maxDelayMs: 10, random: () => 11 })).to.throw(
      RangeError,
      /random: expected an integer in \[0, 10\], got 11/,
    );
    expect(() => pickPublishDelay({ collectionDeadline: now + 600, now, maxDelayMs: -1 })).to.throw(RangeError, /maxDelayMs/);
  });
});
