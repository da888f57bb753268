import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Key } from "interface-datastore";
import { expectRejects } from "../../../test/helpers.js";
import {
  BrokenChainError,
  deriveThreadSecrets,
  openDiskStores,
  sealSeed,
  Thread,
  UnreadableFileError,
  unsealSeed,
  WrongPassphraseError,
} from "../src/node.js";

const SMALL = { N: 2 ** 10, r: 8, p: 1 };

describe("threads: on disk", () => {
  let dir: string;
  const seed = randomBytes(32);
  const secrets = deriveThreadSecrets(seed, "vault", "laptop");

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-threads-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("reads everything back on reopen, from the snapshot without replaying", async () => {
    let stores = await openDiskStores(dir);
    let thread = await Thread.open(stores, { secrets, collections: { notes: { indexes: ["day"] } } });
    for (let i = 0; i < 60; i++) await thread.collection("notes").create({ _id: `n${i}`, day: i % 7 });
    await thread.collection("notes").delete("n3");
    const before = { docs: thread.collection("notes").find(), heads: thread.log.heads() };
    await thread.close();
    await stores.close();

    stores = await openDiskStores(dir);
    let replayed = 0;
    thread = await Thread.open(stores, { secrets, collections: { notes: { indexes: ["day"] } }, onProgress: (done) => (replayed = done) });
    expect(replayed).to.equal(0);
    expect({ docs: thread.collection("notes").find(), heads: thread.log.heads() }).to.deep.equal(before);
    expect(
      thread
        .collection("notes")
        .find({ where: { day: 3 } })
        .map((d) => d._id),
    ).to.deep.equal(["n10", "n17", "n24", "n31", "n38", "n45", "n52", "n59"]);
    expect(await thread.log.verify()).to.equal(61);

    // Without the snapshot the same state comes from replaying every record.
    await stores.datastore.delete(new Key(`/threads/${thread.id}/snapshot`));
    await stores.close();
    stores = await openDiskStores(dir);
    thread = await Thread.open(stores, { secrets, collections: { notes: { indexes: ["day"] } }, onProgress: (done) => (replayed = done) });
    expect(replayed).to.equal(61);
    expect({ docs: thread.collection("notes").find(), heads: thread.log.heads() }).to.deep.equal(before);
    await stores.close();
  });

  it("keeps every acknowledged record when the process is killed mid-burst (SIGKILL)", async function () {
    this.timeout(60_000);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "fixtures", "append-burst.ts"), dir, seed.toString("hex")],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let acked = -1;
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`child exited early: ${code}`))));
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) acked = Number(line.slice(4));
        if (acked >= 400 && !child.killed) child.kill("SIGKILL");
      });
    });
    expect(acked).to.be.at.least(400);

    const stores = await openDiskStores(dir);
    const thread = await Thread.open(stores, { secrets });
    const notes = thread.collection("notes");
    for (let i = 0; i <= acked; i++) expect(notes.get(`n${i}`), `note ${i} was acknowledged`).to.deep.include({ i });
    expect(thread.log.size).to.be.at.least(acked + 1);
    expect(await thread.log.verify()).to.equal(thread.log.size);
    // The log goes on from where it stopped.
    await notes.create({ _id: "after", i: -1 });
    expect(await thread.log.verify()).to.equal(thread.log.size);
    await stores.close();
  });

  it("verify names a record block that was altered on disk", async () => {
    const stores = await openDiskStores(dir);
    const thread = await Thread.open(stores, { secrets });
    for (let i = 0; i < 5; i++) await thread.collection("notes").create({ i });
    expect(await thread.log.verify()).to.equal(5);
    const [own] = thread.log.logs();
    const third = await thread.log.cidAt(own?.id as string, 3);
    await stores.blockstore.put(third, randomBytes(200));
    await expectRejects(thread.log.verify(), BrokenChainError, new RegExp(`${third} is corrupt`));
    await stores.close();
  });

  it("opens a vault's thread only with its own seed", async () => {
    let stores = await openDiskStores(dir);
    const thread = await Thread.open(stores, { secrets });
    await thread.collection("notes").create({ x: 1 });
    await thread.close();
    await stores.close();
    stores = await openDiskStores(dir);
    const other = deriveThreadSecrets(randomBytes(32), "vault", "laptop");
    // Another seed derives another thread: it sees nothing of this one.
    expect((await Thread.open(stores, { secrets: other })).log.size).to.equal(0);
    await stores.close();
  });
});

describe("threads: the seed at rest", () => {
  const seed = randomBytes(32);

  it("seals the seed under a passphrase with scrypt and opens it again", async () => {
    const text = await sealSeed(seed, "correct horse battery", { params: SMALL });
    expect(text).to.not.include(seed.toString("hex"));
    expect(JSON.parse(text)).to.include({ kdf: "scrypt", N: 1024, r: 8, p: 1 });
    expect(Buffer.from(await unsealSeed(text, "correct horse battery"))).to.deep.equal(seed);
  });

  it("refuses a wrong passphrase, an altered file, and hostile or malformed files with named errors", async () => {
    const text = await sealSeed(seed, "correct horse battery", { params: SMALL });
    await expectRejects(unsealSeed(text, "wrong horse battery"), WrongPassphraseError, /wrong passphrase/);
    const file = JSON.parse(text);
    const sealed = Buffer.from(file.sealed, "base64");
    sealed[5] = (sealed[5] as number) ^ 1;
    await expectRejects(
      unsealSeed(JSON.stringify({ ...file, sealed: sealed.toString("base64") }), "correct horse battery"),
      WrongPassphraseError,
    );
    // A cost that would take minutes and gigabytes is refused before any work is done.
    await expectRejects(unsealSeed(JSON.stringify({ ...file, N: 2 ** 30 }), "correct horse battery"), UnreadableFileError, /out of range/);
    await expectRejects(unsealSeed(JSON.stringify({ ...file, N: 1000 }), "correct horse battery"), UnreadableFileError);
    await expectRejects(unsealSeed("not json", "x"), UnreadableFileError, /not JSON/);
    await expectRejects(unsealSeed("x".repeat(10_000), "x"), UnreadableFileError, /bytes/);
    await expectRejects(sealSeed(seed, "short"), RangeError, /passphrase/);
  });
});
