import { expect } from "chai";
import fc from "fast-check";
import { expectRejects } from "../../../test/helpers.js";
import {
  type CollectionConfig,
  type Doc,
  DocumentExistsError,
  DocumentNotFoundError,
  EventDecryptionError,
  MalformedRecordError,
  type RecordEnvelope,
  Thread,
} from "../src/index.js";
import { captureState, device, memoryStores, openMemoryThread } from "./helpers.js";

type Visit = Doc & { day: number; place: string; minutes: number };

const visits: CollectionConfig<Doc> = {
  indexes: ["day", "place"],
  validate(doc) {
    const d = doc as Visit;
    if (!Number.isSafeInteger(d.day) || d.day < 0)
      throw new TypeError(`visit.day: expected a non-negative integer, got ${JSON.stringify(d.day)}`);
    if (typeof d.place !== "string") throw new TypeError("visit.place: expected a string");
    if (!Number.isFinite(d.minutes)) throw new TypeError("visit.minutes: expected a number");
    return d;
  },
};

/** Every record a thread holds, as a peer would receive it. */
async function envelopes(thread: Thread): Promise<RecordEnvelope[]> {
  const out: RecordEnvelope[] = [];
  for (const l of thread.log.logs())
    for (const { envelope } of await thread.log.readRange(l.id, 1, l.seq)) out.push({ ...envelope, cert: l.cert });
  return out;
}

function state(thread: Thread): unknown {
  return thread.collection<Visit>("visits").find();
}

describe("threads: collections", () => {
  it("creates, updates and deletes typed documents, refusing what does not fit", async () => {
    const { thread } = await openMemoryThread("laptop", { collections: { visits } });
    const col = thread.collection<Visit>("visits");
    const v = await col.create({ day: 3, place: "market", minutes: 20 });
    expect(col.get(v._id)).to.deep.equal(v);
    await col.update(v._id, { minutes: 25 });
    expect(col.get(v._id)?.minutes).to.equal(25);
    await expectRejects(col.create({ _id: v._id, day: 1, place: "x", minutes: 1 }), DocumentExistsError);
    await expectRejects(col.update("nope", { minutes: 1 }), DocumentNotFoundError);
    await expectRejects(col.create({ day: -1, place: "x", minutes: 1 }), TypeError, /visit.day/);
    const records = thread.log.size;
    await col.delete(v._id);
    expect(col.get(v._id)).to.equal(undefined);
    expect(col.size).to.equal(0);
    await expectRejects(col.delete(v._id), DocumentNotFoundError);
    expect(thread.log.size).to.equal(records + 1);
  });

  it("answers indexed equality and range queries exactly as a full scan does", async () => {
    const { thread } = await openMemoryThread("laptop", { collections: { visits } });
    const col = thread.collection<Visit>("visits");
    const places = ["home", "work", "market", "park"];
    for (let i = 0; i < 120; i++) await col.create({ day: (i * 7) % 30, place: places[i % 4] as string, minutes: i });
    await col.delete(col.find({ where: { day: 0 } })[0]?._id as string);
    const all = col.find();
    fc.assert(
      fc.property(
        fc.integer({ min: -2, max: 32 }),
        fc.integer({ min: -2, max: 32 }),
        fc.constantFrom(...places),
        fc.nat(50),
        (a, b, place, limit) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const range = col.find({ where: { day: { gte: lo, lt: hi } }, orderBy: "minutes" });
          expect(range).to.deep.equal(all.filter((d) => d.day >= lo && d.day < hi).sort((x, y) => x.minutes - y.minutes));
          const both = col.find({ where: { place, day: { gt: lo } }, orderBy: "day", desc: true, limit });
          const scan = all
            .filter((d) => d.place === place && d.day > lo)
            .sort((x, y) => y.day - x.day || (x._id < y._id ? -1 : 1))
            .slice(0, limit);
          expect(both).to.deep.equal(scan);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("two devices writing concurrently converge on the same state whatever order records arrive in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom("create", "update", "delete"), fc.nat(3), fc.nat(100)), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.boolean(),
        async (ops, laptopFirst) => {
          let wall = 1_000;
          const clock = () => wall;
          const laptop = (await openMemoryThread("laptop", { collections: { visits }, clock })).thread;
          const phone = (await openMemoryThread("phone", { collections: { visits }, clock })).thread;
          for (const [onLaptop, op, n, minutes] of ops) {
            wall += minutes % 3; // often the same millisecond on both devices
            const col = (onLaptop ? laptop : phone).collection<Visit>("visits");
            const id = `v${n}`;
            if (op === "create" && col.get(id) === undefined) await col.create({ _id: id, day: n, place: "p", minutes });
            else if (op === "update" && col.get(id) !== undefined) await col.update(id, { minutes });
            else if (op === "delete" && col.get(id) !== undefined) await col.delete(id);
          }
          const fromLaptop = await envelopes(laptop);
          const fromPhone = await envelopes(phone);
          if (laptopFirst) {
            await phone.log.ingest(fromLaptop);
            await laptop.log.ingest(fromPhone);
          } else {
            await laptop.log.ingest(fromPhone);
            await phone.log.ingest(fromLaptop);
          }
          expect(state(laptop)).to.deep.equal(state(phone));
          const nonEmpty = (h: Record<string, number>) =>
            Object.entries(h)
              .filter(([, seq]) => seq > 0)
              .sort();
          expect(nonEmpty(laptop.log.heads())).to.deep.equal(nonEmpty(phone.log.heads()));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a member refuses events it cannot read or that break the collection schema, and keeps nothing of them", async () => {
    const { thread: laptop } = await openMemoryThread("laptop", { collections: { visits } });
    const { thread: lax } = await openMemoryThread("phone"); // no schema on this device
    await lax.collection("visits").create({ day: "monday", place: 1 });
    const { stores, thread: strict } = await openMemoryThread("tablet", { collections: { visits } });
    const before = await captureState(stores);
    await expectRejects(strict.log.ingest(await envelopes(lax)), MalformedRecordError, /schema.*visit.day/);
    expect(await captureState(stores)).to.deep.equal(before);
    expect(strict.collection("visits").size).to.equal(0);
    // Same service key, different read key: the record verifies, the event does not open.
    const mine = device("odd");
    const odd = await Thread.open(memoryStores(), {
      secrets: { ...mine, key: { service: mine.key.service, read: new Uint8Array(32).fill(1) } },
    });
    await odd.collection("visits").create({ day: 1, place: "x", minutes: 1 });
    await expectRejects(laptop.log.ingest(await envelopes(odd)), EventDecryptionError);
    expect(laptop.collection("visits").size).to.equal(0);
    expect(laptop.log.size).to.equal(0);
  });
});
