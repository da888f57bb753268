import { randomBytes } from "node:crypto";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import * as raw from "multiformats/codecs/raw";
import { expectRejects } from "../../../test/helpers.js";
import {
  BlockTooLargeError,
  BrokenChainError,
  deriveThreadSecrets,
  EventDecryptionError,
  InvalidRecordSignatureError,
  MalformedRecordError,
  ThreadId,
  ThreadLog,
  UnknownLogError,
  WrongServiceKeyError,
} from "../src/index.js";
import { seal, signingKeyFromSeed } from "../src/crypto.js";
import { compareStamps, HybridClock } from "../src/hlc.js";
import { ThreadVariant } from "../src/id.js";
import { certifyLog, decodeThreadKey, encodeThreadKey } from "../src/keys.js";
import { blockOf, createEvent, createRecord, MAX_EVENT_BYTES, MAX_RECORD_BYTES, openEvent, openRecord } from "../src/record.js";
import { captureState, device, forgeRecord, memoryStores } from "./helpers.js";

describe("threads: model", () => {
  it("thread IDs round-trip through bytes and their base32 multibase string", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom(ThreadVariant.Raw, ThreadVariant.AccessControlled),
        (random, variant) => {
          const id = ThreadId.create(variant, random);
          expect(id.toString()).to.match(/^b[a-z2-7]+$/);
          expect(ThreadId.parse(id.toString()).equals(id)).to.equal(true);
          expect(ThreadId.fromBytes(id.bytes).variant).to.equal(variant);
        },
      ),
    );
    const id = ThreadId.create(ThreadVariant.Raw, new Uint8Array(32));
    expect([...id.bytes.subarray(0, 2)]).to.deep.equal([0x01, 0x55]);
  });

  it("refuses malformed thread IDs with a RangeError naming the fault", () => {
    const good = ThreadId.create().bytes;
    expect(() => ThreadId.fromBytes(Uint8Array.from([0x02, ...good.subarray(1)]))).to.throw(RangeError, /unknown version/);
    expect(() => ThreadId.fromBytes(Uint8Array.from([0x01, 0x33, ...good.subarray(2)]))).to.throw(RangeError, /unknown variant/);
    expect(() => ThreadId.fromBytes(good.subarray(0, 20))).to.throw(RangeError, /random bytes/);
    expect(() => ThreadId.parse("zQmNotBase32")).to.throw(RangeError, /base32/);
    expect(() => ThreadId.parse("")).to.throw(RangeError);
  });

  it("thread key is service key ‖ read key; a replicator's is the service key alone", () => {
    const s = device("laptop");
    const full = encodeThreadKey(s.key);
    expect(full.length).to.equal(64);
    expect(decodeThreadKey(full)).to.deep.equal({ service: s.key.service, read: s.key.read });
    expect(decodeThreadKey(full.subarray(0, 32))).to.deep.equal({ service: s.key.service });
    expect(() => decodeThreadKey(full.subarray(0, 40))).to.throw(RangeError, /got 40/);
  });

  it("derives the same thread on every device of a vault, a different log per device, nothing shared across vaults", () => {
    const a = device("laptop");
    const b = device("phone");
    const other = deriveThreadSecrets(randomBytes(32), "vault", "laptop");
    expect(a.id.equals(b.id)).to.equal(true);
    expect(a.key).to.deep.equal(b.key);
    expect(a.log.publicKey).to.not.deep.equal(b.log.publicKey);
    expect(a.id.equals(other.id)).to.equal(false);
    expect(() => deriveThreadSecrets(new Uint8Array(31), "vault", "x")).to.throw(RangeError, /rootSeed/);
    expect(() => deriveThreadSecrets(new Uint8Array(32), "Vault!", "x")).to.throw(TypeError, /thread name/);
  });

  it("records open only under their thread's service key, and any changed byte is refused", () => {
    const s = device("laptop");
    const event = createEvent(s.id, s.key.read, [1, 0], new Uint8Array([1, 2, 3]));
    const { block } = createRecord(s.id, s.key.service, s.log, event.cid, null);
    const opened = openRecord(s.id, s.key.service, block.bytes);
    expect(opened.block.equals(event.cid)).to.equal(true);
    expect(opened.prev).to.equal(null);
    expect(() => openRecord(s.id, randomBytes(32), block.bytes)).to.throw(WrongServiceKeyError);
    // The thread ID is bound as associated data: the same key under another thread ID does not open it.
    expect(() => openRecord(ThreadId.create(), s.key.service, block.bytes)).to.throw(WrongServiceKeyError);
    fc.assert(
      fc.property(fc.nat(block.bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Uint8Array.from(block.bytes);
        bad[at] = (bad[at] as number) ^ flip;
        expect(() => openRecord(s.id, s.key.service, bad)).to.throw(WrongServiceKeyError);
      }),
    );
  });

  it("events need the read key; the body key is one-time", () => {
    const s = device("laptop");
    const a = createEvent(s.id, s.key.read, [5, 1], new TextEncoder().encode("same body"));
    const b = createEvent(s.id, s.key.read, [5, 1], new TextEncoder().encode("same body"));
    expect(a.cid.equals(b.cid)).to.equal(false);
    expect(openEvent(s.id, s.key.read, a.cid, a.bytes)).to.deep.equal({ time: [5, 1], body: new TextEncoder().encode("same body") });
    expect(() => openEvent(s.id, randomBytes(32), a.cid, a.bytes)).to.throw(EventDecryptionError);
    expect(() => openEvent(s.id, s.key.read, b.cid, a.bytes)).to.throw(MalformedRecordError, /do not hash/);
  });

  it("the hybrid logical clock never goes back and orders ties by log ID", () => {
    let wall = 1000;
    const clock = new HybridClock(() => wall);
    const t1 = clock.now();
    wall = 900; // the wall clock stepped back
    const t2 = clock.now();
    clock.observe([5000, 7]);
    const t3 = clock.now();
    expect(compareStamps(t1, "a", t2, "a")).to.be.lessThan(0);
    expect(compareStamps(t2, "a", t3, "a")).to.be.lessThan(0);
    expect(t3).to.deep.equal([5000, 8]);
    expect(compareStamps([1, 1], "a", [1, 1], "b")).to.be.lessThan(0);
  });
});

describe("threads: hostile records change nothing", () => {
  const s = device("laptop");
  const phone = device("phone");

  async function fixture() {
    const stores = memoryStores();
    const log = await ThreadLog.open(stores, { id: s.id, serviceKey: s.key.service, ownerPublicKey: s.owner.publicKey });
    await log.addOwnLog(s.owner, s.log);
    const first = await log.append(s.log, createEvent(s.id, s.key.read, [1, 0], new Uint8Array([1])));
    return { stores, log, first };
  }

  function phoneRecords(n: number) {
    const cert = certifyLog(phone.owner, phone.id, phone.log.publicKey);
    const out = [];
    let prev = null;
    for (let i = 0; i < n; i++) {
      const event = createEvent(phone.id, phone.key.read, [10 + i, 0], new Uint8Array([i]));
      const { block } = createRecord(phone.id, phone.key.service, phone.log, event.cid, prev);
      prev = block.cid;
      out.push({ record: block.bytes, event: event.bytes, cert, cid: block.cid, eventCid: event.cid });
    }
    return out;
  }

  async function refused(feed: Parameters<ThreadLog["ingest"]>[0], type: new (...a: never[]) => Error, pattern?: RegExp) {
    const { stores, log } = await fixture();
    const before = await captureState(stores);
    const heads = log.heads();
    const err = await expectRejects(log.ingest(feed), type, pattern);
    expect(await captureState(stores)).to.deep.equal(before);
    expect(log.heads()).to.deep.equal(heads);
    return err;
  }

  it("accepts a certified device's chain, once (a replay is a no-op)", async () => {
    const { stores, log } = await fixture();
    const records = phoneRecords(3);
    expect((await log.ingest(records)).added).to.have.length(3);
    const after = await captureState(stores);
    const again = await log.ingest(records);
    expect(again).to.deep.include({ duplicates: 3 });
    expect(again.added).to.have.length(0);
    expect(await captureState(stores)).to.deep.equal(after);
    expect(Object.values(log.heads()).sort()).to.deep.equal([1, 3]);
    expect(await log.verify()).to.equal(4);
  });

  it("refuses a bad signature", async () => {
    const [r] = phoneRecords(1);
    const other = phoneRecords(2)[1];
    if (r === undefined || other === undefined) throw new Error("fixture");
    const opened = openRecord(phone.id, phone.key.service, other.record);
    const forged = forgeRecord(phone, { block: r.eventCid, sig: opened.sig, pubKey: phone.log.publicKey, prev: null });
    await refused([{ record: forged.bytes, event: r.event, cert: r.cert }], InvalidRecordSignatureError);
  });

  it("refuses a broken prev chain: a gap (pull first) and a fork (never)", async () => {
    const records = phoneRecords(3);
    const gap = await refused([records[2]] as never, BrokenChainError, /missing/);
    expect((gap as BrokenChainError).gap).to.equal(true);
    // A second first record of our own single-writer log is a fork.
    const forkEvent = createEvent(s.id, s.key.read, [2, 0], new Uint8Array([9]));
    const forkRecord = createRecord(s.id, s.key.service, s.log, forkEvent.cid, null);
    const fork = await refused([{ record: forkRecord.block.bytes, event: forkEvent.bytes }], BrokenChainError, /forks/);
    expect((fork as BrokenChainError).gap).to.equal(false);
    // In a batch, the records before the bad one are kept (they are valid) and the error still names the fault.
    const { log } = await fixture();
    await expectRejects(log.ingest([records[0], records[2]] as never), BrokenChainError, /missing/);
    expect(Object.values(log.heads()).sort()).to.deep.equal([1, 1]);
  });

  it("refuses an unknown log: no certificate, or one the owner did not sign", async () => {
    const [r] = phoneRecords(1);
    if (r === undefined) throw new Error("fixture");
    await refused([{ record: r.record, event: r.event }], UnknownLogError, /not certified/);
    const stranger = signingKeyFromSeed(randomBytes(32));
    await refused([{ record: r.record, event: r.event, cert: certifyLog(stranger, phone.id, phone.log.publicKey) }], UnknownLogError);
  });

  it("refuses a record sealed with another thread's service key", async () => {
    const elsewhere = deriveThreadSecrets(randomBytes(32), "vault", "phone");
    const event = createEvent(elsewhere.id, elsewhere.key.read, [1, 0], new Uint8Array([1]));
    const { block } = createRecord(elsewhere.id, elsewhere.key.service, elsewhere.log, event.cid, null);
    await refused([{ record: block.bytes, event: event.bytes }], WrongServiceKeyError);
  });

  it("refuses oversized record and event blocks before decrypting them", async () => {
    await refused([{ record: randomBytes(MAX_RECORD_BYTES + 1), event: new Uint8Array(0) }], BlockTooLargeError, /record block/);
    const body = randomBytes(MAX_EVENT_BYTES);
    const event = createEvent(phone.id, phone.key.read, [1, 0], body);
    const { block } = createRecord(phone.id, phone.key.service, phone.log, event.cid, null);
    await refused(
      [{ record: block.bytes, event: event.bytes, cert: certifyLog(phone.owner, phone.id, phone.log.publicKey) }],
      BlockTooLargeError,
      /event block/,
    );
  });

  it("refuses malformed records: wrong shape, not dag-cbor, event bytes that are not the signed block", async () => {
    const [r] = phoneRecords(1);
    if (r === undefined) throw new Error("fixture");
    const notCbor = blockOf(raw.code, seal(phone.key.service, new Uint8Array([0xff, 0xff]), phone.id.bytes));
    await refused([{ record: notCbor.bytes, event: r.event, cert: r.cert }], MalformedRecordError, /dag-cbor/);
    const extra = blockOf(
      raw.code,
      seal(
        phone.key.service,
        dagCbor.encode({ block: r.eventCid, sig: new Uint8Array(64), pubKey: phone.log.publicKey, prev: null, x: 1 }),
        phone.id.bytes,
      ),
    );
    await refused([{ record: extra.bytes, event: r.event, cert: r.cert }], MalformedRecordError, /expected/);
    const shortSig = forgeRecord(phone, { block: r.eventCid, sig: new Uint8Array(10), pubKey: phone.log.publicKey, prev: null });
    await refused([{ record: shortSig.bytes, event: r.event, cert: r.cert }], MalformedRecordError, /64 bytes/);
    await refused([{ record: r.record, event: Uint8Array.from([...r.event, 0]), cert: r.cert }], MalformedRecordError, /do not hash/);
  });
});
