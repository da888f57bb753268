// End to end tests of `mosaic vault`: the real CLI in child processes, on vault directories in a temporary folder.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { deriveThreadSecrets, exportThread, logIdOf, openDiskStores, Thread } from "@mosaic/threads";
import { expect } from "chai";
import { json, PASSPHRASE, start, vault } from "./run.js";

/** Every file under `dir` with a hash of its bytes: equal snapshots mean nothing was written. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
  }
  return out;
}

interface Status {
  thread: string;
  ownLog: string;
  records: number;
  logs: { id: string; seq: number }[];
  collections: Record<string, number>;
  verify?: { ok: boolean; checked?: number };
}

interface Imported {
  added: number;
  duplicates: number;
  records: number;
}

describe("mosaic vault: init, status, export, import and serve as a user runs them", function () {
  this.timeout(60_000);
  const seed = randomBytes(32);
  let work: string;
  let seedFile: string;
  let passphraseFile: string;
  // Device alpha uses the default --dir under its own working directory; beta and gamma pass --dir.
  let alphaCwd: string;
  let alpha: string;
  let beta: string;
  let gamma: string;
  let archive: string;
  let serve: ChildProcessWithoutNullStreams | undefined;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-cli-vault-"));
    seedFile = path.join(work, "seed.hex");
    passphraseFile = path.join(work, "passphrase.txt");
    alphaCwd = path.join(work, "alpha");
    alpha = path.join(alphaCwd, ".mosaic", "vault");
    beta = path.join(work, "beta");
    gamma = path.join(work, "gamma");
    archive = path.join(work, "vault.archive");
    await mkdir(alphaCwd);
    await writeFile(seedFile, `${seed.toString("hex")}\n`);
    await writeFile(passphraseFile, `${PASSPHRASE}\nthe second line is not read\n`);
  });

  after(async () => {
    serve?.kill("SIGKILL");
    await rm(work, { recursive: true, force: true });
  });

  it("prints help for vault and each of its commands without unlocking anything", async () => {
    const runs = await Promise.all(
      [[], ["init"], ["status"], ["export"], ["import"], ["serve"]].map((c) =>
        vault([...c, "--help"], { cwd: work, env: { MOSAIC_PASSPHRASE: undefined } }),
      ),
    );
    for (const [i, c] of ["", "init ", "status ", "export ", "import ", "serve "].entries()) {
      expect(runs[i]?.code).to.equal(0);
      expect(runs[i]?.stdout).to.include(`Usage: mosaic vault ${c}`).and.to.include("--passphrase-file");
    }
  });

  it("init creates a vault in .mosaic/vault by default; status opens it, empty", async () => {
    const init = json(
      await vault(["init", "--device", "alpha", "--seed-file", seedFile, "--scrypt-n", "1024", "--json"], { cwd: alphaCwd }),
    );
    const secrets = deriveThreadSecrets(seed, "vault", "alpha");
    expect(init).to.deep.equal({ dir: alpha, device: "alpha", thread: secrets.id.toString(), ownLog: logIdOf(secrets.log.publicKey) });
    expect(JSON.parse(await readFile(path.join(alpha, "seed.json"), "utf8"))).to.include({ N: 1024 });
    expect(await readFile(path.join(alpha, "device"), "utf8")).to.equal("alpha\n");

    const status = json<Status>(await vault(["status", "--json"], { cwd: alphaCwd }));
    expect(status).to.deep.include({ thread: init.thread, ownLog: init.ownLog, records: 0, collections: {} });
    expect(status.logs).to.deep.equal([{ id: init.ownLog, seq: 0 }]);
  });

  it("status shows records written through the library, and --verify checks them", async () => {
    const stores = await openDiskStores(path.join(alpha, "db"));
    try {
      const thread = await Thread.open(stores, { secrets: deriveThreadSecrets(seed, "vault", "alpha") });
      for (let i = 0; i < 5; i++) await thread.collection("notes").create({ _id: `n${i}`, text: `note ${i}` });
      await thread.close();
    } finally {
      await stores.close();
    }
    const status = json<Status>(await vault(["status", "--json", "--verify"], { cwd: alphaCwd }));
    expect(status).to.deep.include({ records: 5, collections: { notes: 5 }, verify: { ok: true, checked: 5 } });
    expect(status.logs).to.deep.equal([{ id: status.ownLog, seq: 5 }]);
  });

  it("exports, then imports into a second device of the same vault; importing again adds nothing", async () => {
    const noEnv = { MOSAIC_PASSPHRASE: undefined };
    const [exported, initBeta, initGamma] = await Promise.all([
      vault(["export", "--out", archive, "--json"], { cwd: alphaCwd }),
      // beta reads its passphrase from a file, not the environment.
      vault(
        [
          "init",
          "--dir",
          beta,
          "--device",
          "beta",
          "--seed-file",
          seedFile,
          "--scrypt-n",
          "1024",
          "--passphrase-file",
          passphraseFile,
          "--json",
        ],
        {
          cwd: work,
          env: noEnv,
        },
      ),
      vault(["init", "--dir", gamma, "--device", "gamma", "--seed-file", seedFile, "--scrypt-n", "1024"], { cwd: work }),
    ]);
    expect(json(exported)).to.deep.equal({ out: archive, records: 5 });
    const betaInit = json(initBeta);
    expect(initGamma.code, initGamma.stderr).to.equal(0);
    expect(initGamma.stdout).to.include("device   gamma");

    const imported = json<Imported>(
      await vault(["import", "--dir", beta, "--in", archive, "--passphrase-file", passphraseFile, "--json"], { cwd: work, env: noEnv }),
    );
    expect(imported).to.deep.include({ added: 5, duplicates: 0, records: 5 });

    const status = json<Status>(await vault(["status", "--dir", beta, "--json"], { cwd: work }));
    const alphaLog = logIdOf(deriveThreadSecrets(seed, "vault", "alpha").log.publicKey);
    expect(status).to.deep.include({ thread: betaInit.thread, ownLog: betaInit.ownLog, records: 5, collections: { notes: 5 } });
    expect(status.logs).to.have.deep.members([
      { id: alphaLog, seq: 5 },
      { id: betaInit.ownLog, seq: 0 },
    ]);

    const again = await vault(["import", "--dir", beta, "--in", archive], { cwd: work });
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/^imported 0 new records \(5 already held\)/);
  });

  it("refuses a wrong or missing passphrase and a second init, with exit 1, a clear message, and the vault unchanged", async () => {
    const before = await snapshot(alpha);
    const [wrong, missing, again] = await Promise.all([
      vault(["status"], { cwd: alphaCwd, env: { MOSAIC_PASSPHRASE: "not the passphrase" } }),
      vault(["status"], { cwd: alphaCwd, env: { MOSAIC_PASSPHRASE: undefined } }),
      vault(["init", "--device", "alpha", "--scrypt-n", "1024"], { cwd: alphaCwd }),
    ]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/^mosaic: WrongPassphraseError: wrong passphrase/);
    expect(wrong.stderr, "no stack trace").not.to.match(/\n\s+at /);
    expect(wrong.stdout).to.equal("");
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/PassphraseRequiredError: .*--passphrase-file.*MOSAIC_PASSPHRASE/);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/VaultExistsError: .*seed\.json already exists: run 'mosaic vault status'.*another --dir/);
    expect(await snapshot(alpha)).to.deep.equal(before);
  });

  it("refuses a truncated archive and another vault's archive with a named error, storing nothing", async () => {
    const truncated = path.join(work, "truncated.archive");
    const bytes = await readFile(archive);
    await writeFile(truncated, bytes.subarray(0, bytes.length - 40));

    // An archive of a vault with another seed, written with the library.
    const foreign = path.join(work, "foreign.archive");
    const stores = await openDiskStores(path.join(work, "foreign-db"));
    try {
      const thread = await Thread.open(stores, { secrets: deriveThreadSecrets(randomBytes(32), "vault", "alpha") });
      await thread.collection("notes").create({ text: "not yours" });
      await exportThread(thread.log, foreign);
      await thread.close();
    } finally {
      await stores.close();
    }

    const cut = await vault(["import", "--dir", gamma, "--in", truncated], { cwd: work });
    expect(cut.code).to.equal(1);
    expect(cut.stderr).to.match(/^mosaic: ProtocolError: archive truncated/);
    const other = await vault(["import", "--dir", gamma, "--in", foreign], { cwd: work });
    expect(other.code).to.equal(1);
    expect(other.stderr).to.match(/^mosaic: ProtocolError: .* is an archive of another thread/);

    const db = await openDiskStores(path.join(gamma, "db"));
    try {
      const thread = await Thread.open(db, { secrets: deriveThreadSecrets(seed, "vault", "gamma") });
      expect(thread.status()).to.deep.include({ records: 0, collections: {} });
      await thread.close();
    } finally {
      await db.close();
    }
  });

  it("serve lets another device pull every record over libp2p, and closes cleanly on SIGTERM", async () => {
    const server = start(["serve", "--json"], { cwd: alphaCwd });
    serve = server;
    let stderr = "";
    server.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)));
    const info = await new Promise<{ addresses: string[]; peerId: string }>((resolve, reject) => {
      let out = "";
      server.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${stderr}`)));
    });
    expect(info.addresses).to.have.length.greaterThan(0);
    expect(info.addresses[0]).to.match(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${info.peerId}$`));

    const pulled = json<Imported>(await vault(["import", "--dir", gamma, "--peer", info.addresses[0] as string, "--json"], { cwd: work }));
    expect(pulled).to.deep.include({ added: 5, records: 5 });

    server.kill("SIGTERM");
    expect(await exited, stderr).to.equal(0);
    serve = undefined;
    expect(stderr).to.match(/stopped: served \d+ pulls/);

    // serve released alpha's database; gamma holds alpha's notes.
    for (const [dir, device] of [
      [alpha, "alpha"],
      [gamma, "gamma"],
    ] as const) {
      const stores = await openDiskStores(path.join(dir, "db"));
      try {
        const thread = await Thread.open(stores, { secrets: deriveThreadSecrets(seed, "vault", device) });
        expect(thread.collection("notes").get("n3"), device).to.deep.equal({ _id: "n3", text: "note 3" });
        expect(await thread.log.verify()).to.equal(5);
        await thread.close();
      } finally {
        await stores.close();
      }
    }
  });
});
