// writeFileAtomic: a reader sees the old content or the new, create-only never clobbers, the mode holds, no temp file stays.
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { FileExistsError, writeFileAtomic } from "../src/node.js";

describe("writeFileAtomic", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-files-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replaces a file so that a reader only ever sees the old content or the new", async () => {
    const file = path.join(dir, "state.json");
    const contents = [new Uint8Array(256 * 1024).fill(0x61), new Uint8Array(64 * 1024).fill(0x62)];
    await writeFileAtomic(file, contents[0] as Uint8Array);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const bytes = await readFile(file);
        seen.add(`${bytes.length}:${bytes[0]}:${bytes[bytes.length - 1]}`);
      }
    })();
    for (let i = 1; i <= 20; i++) await writeFileAtomic(file, contents[i % 2] as Uint8Array);
    writing = false;
    await reader;
    for (const s of seen) expect(["262144:97:97", "65536:98:98"]).to.include(s);
    expect(await readFile(file)).to.deep.equal(Buffer.from(contents[0] as Uint8Array));
    expect(await readdir(dir)).to.deep.equal(["state.json"]);
  });

  it("writes text, or whatever a function writes through the handle", async () => {
    const file = path.join(dir, "a.txt");
    await writeFileAtomic(file, "hello\n");
    expect(await readFile(file, "utf8")).to.equal("hello\n");
    await writeFileAtomic(file, async (handle) => {
      await handle.write("one ");
      await handle.write(new TextEncoder().encode("two"));
    });
    expect(await readFile(file, "utf8")).to.equal("one two");
    expect(await readdir(dir)).to.deep.equal(["a.txt"]);
  });

  it("create-only refuses an existing file with FileExistsError and leaves it byte for byte", async () => {
    const file = path.join(dir, "key");
    await writeFile(file, "the old key\n", { mode: 0o644 });
    const before = await stat(file);
    const err = await writeFileAtomic(file, "a new key\n", { createOnly: true, mode: 0o600 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FileExistsError);
    expect(err).to.include({ name: "FileExistsError", file, message: `${file} already exists` });
    expect(await readFile(file, "utf8")).to.equal("the old key\n");
    const after = await stat(file);
    expect([after.ino, after.mode, after.mtimeMs]).to.deep.equal([before.ino, before.mode, before.mtimeMs]);
    expect(await readdir(dir)).to.deep.equal(["key"]);
  });

  it("create-only creates a file that does not exist, with the mode asked for", async () => {
    const file = path.join(dir, "key");
    await writeFileAtomic(file, "secret\n", { createOnly: true, mode: 0o600 });
    expect(await readFile(file, "utf8")).to.equal("secret\n");
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect((await stat(file)).nlink).to.equal(1);
    expect(await readdir(dir)).to.deep.equal(["key"]);
  });

  it("honours the mode when replacing", async () => {
    const file = path.join(dir, "seed.json");
    await writeFile(file, "old", { mode: 0o644 });
    await writeFileAtomic(file, "new", { mode: 0o600 });
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
  });

  it("keeps a replaced file's permissions when no mode is given", async () => {
    const file = path.join(dir, "approval.json");
    await writeFile(file, "old");
    await chmod(file, 0o600);
    await writeFileAtomic(file, "new");
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect(await readFile(file, "utf8")).to.equal("new");
  });

  it("a write that fails leaves the old file as it was and no temporary file", async () => {
    const file = path.join(dir, "archive");
    await writeFile(file, "old archive");
    const err = await writeFileAtomic(file, async (handle) => {
      await handle.write("half of a new ");
      throw new RangeError("the source ran dry");
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RangeError);
    expect(await readFile(file, "utf8")).to.equal("old archive");
    expect(await readdir(dir)).to.deep.equal(["archive"]);
  });

  it("a write into a missing directory fails and creates nothing", async () => {
    const err = await writeFileAtomic(path.join(dir, "missing", "f"), "x").catch((e: unknown) => e);
    expect(err).to.have.property("code", "ENOENT");
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
