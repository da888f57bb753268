// storesOver: a device's stores over any abstract-level database (here classic-level in a temp dir; in a browser,
// IndexedDB through openBrowserStores), and openDiskStores, which now goes through it.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Key } from "interface-datastore";
import { Level } from "level";
import { encodeBlock } from "@mosaic/protocol";
import { expectRejects } from "../../../test/helpers.js";
import { deriveThreadSecrets, openBrowserStores, openDiskStores, storesOver, Thread } from "../src/node.js";

describe("threads: storesOver an abstract-level database", () => {
  let dir: string;
  const secrets = deriveThreadSecrets(randomBytes(32), "vault", "browser");

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-level-stores-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("opens a database it is given unopened, and a thread over it reads back after reopening through openDiskStores", async () => {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
    expect(db.status).to.equal("opening");
    let stores = await storesOver(db);
    expect(db.status).to.equal("open");
    let thread = await Thread.open(stores, { secrets, collections: { notes: {} } });
    for (let i = 0; i < 5; i++) await thread.collection("notes").create({ _id: `n${i}`, i });
    const before = { docs: thread.collection("notes").find(), heads: thread.log.heads() };
    await thread.close();
    await stores.close();
    expect(db.status).to.equal("closed");

    stores = await openDiskStores(dir);
    thread = await Thread.open(stores, { secrets, collections: { notes: {} } });
    expect({ docs: thread.collection("notes").find(), heads: thread.log.heads() }).to.deep.equal(before);
    expect(await thread.log.verify()).to.equal(5);
    await thread.close();
    await stores.close();
  });

  it("commits blocks and entries in one batch and reads them back with getMany (undefined where missing)", async () => {
    const stores = await storesOver(new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" }));
    try {
      const a = await encodeBlock({ a: 1 });
      const b = await encodeBlock({ b: 2 });
      const missing = await encodeBlock({ c: 3 });
      await stores.commit([a, b], [[new Key("/heads/x"), Uint8Array.of(7, 8)]]);
      expect(await stores.getMany("blocks", [a.cid, missing.cid, b.cid])).to.deep.equal([a.bytes, undefined, b.bytes]);
      expect(await stores.getMany("entries", [new Key("/heads/x"), new Key("/heads/y")])).to.deep.equal([Uint8Array.of(7, 8), undefined]);
      // The same bytes through the Helia-facing interfaces.
      expect(await stores.blockstore.has(a.cid)).to.equal(true);
      expect(await stores.datastore.get(new Key("/heads/x"))).to.deep.equal(Uint8Array.of(7, 8));
    } finally {
      await stores.close();
    }
  });

  it("openBrowserStores refuses an empty database name with a TypeError", async () => {
    await expectRejects(openBrowserStores(""), TypeError, /name: expected a database name/);
  });
});
