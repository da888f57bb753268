// The browser vault's sealed seed and thread in one database, run in Node over LevelDB in a temp dir (openStores):
// create, unlock, a wrong passphrase, a second create, and a database with no vault.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  deriveThreadSecrets,
  logIdOf,
  openDiskStores,
  sealSeed,
  UnreadableFileError,
  unsealSeed,
  WrongPassphraseError,
} from "@mosaic/threads";
import { expect } from "chai";
import { Key } from "interface-datastore";
import { expectRejects } from "../../../test/helpers.js";
import {
  BROWSER_DEVICE,
  createBrowserVault,
  hasBrowserVault,
  openBrowserVault,
  unlockBrowserVault,
  VAULT_THREAD,
  VaultExistsError,
  VaultNotFoundError,
} from "../src/node.js";

const SMALL = { N: 2 ** 10, r: 8, p: 1 };
const point = { t: 1_700_000_000, lat: 51.5, lon: -0.12 };

describe("vault: a browser vault (sealed seed and thread in one database)", () => {
  let dir: string;
  const openStores = () => openDiskStores(dir);

  /** Every datastore entry and block in the database, for asserting a refused call wrote nothing. */
  async function snapshot(): Promise<string[]> {
    const stores = await openStores();
    try {
      const out: string[] = [];
      for await (const { key, value } of stores.datastore.query({})) out.push(`d ${key} ${Buffer.from(value).toString("hex")}`);
      for await (const { cid } of stores.blockstore.getAll()) out.push(`b ${cid}`);
      return out.sort();
    } finally {
      await stores.close();
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-browser-vault-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("creates a vault under a passphrase, and unlocks it again with the same seed, device and data", async () => {
    expect(await hasBrowserVault("mosaic", { openStores })).to.equal(false);
    const seed = randomBytes(32);
    const labels: string[] = [];
    const steps = async <T>(label: string, _unit: string | undefined, work: (p: { update(): void }) => Promise<T>) => {
      labels.push(label);
      return work({ update() {} });
    };
    const created = await createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, seed, openStores, steps });
    expect(labels).to.deep.equal(["sealing"]);
    const ownLog = logIdOf(deriveThreadSecrets(seed, VAULT_THREAD, BROWSER_DEVICE).log.publicKey);
    expect(Buffer.from(created.rootSeed).equals(seed)).to.equal(true);
    await created.addLocations([point]);
    await created.close();
    expect(await hasBrowserVault("mosaic", { openStores })).to.equal(true);

    const unlocked = await unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores, steps });
    try {
      expect(labels).to.deep.equal(["sealing", "unlocking", "opening"]);
      expect(Buffer.from(unlocked.rootSeed).equals(seed)).to.equal(true);
      expect(unlocked.locations()).to.deep.equal([point]);
      expect(unlocked.thread.ownLog).to.equal(ownLog);
      expect(unlocked.thread.log.heads()[ownLog]).to.be.greaterThan(0);
    } finally {
      await unlocked.close();
    }
    // The seed sits sealed: no plaintext seed in the database.
    expect((await snapshot()).join("\n")).to.not.include(seed.toString("hex"));
  });

  it("runs the passphrase KDF where it is told (the app's worker): kdf.seal and kdf.unseal, with the same errors", async () => {
    const calls: string[] = [];
    const kdf = {
      seal: ((...args: Parameters<typeof sealSeed>) => {
        calls.push("seal");
        return sealSeed(...args);
      }) as typeof sealSeed,
      unseal: ((...args: Parameters<typeof unsealSeed>) => {
        calls.push("unseal");
        return unsealSeed(...args);
      }) as typeof unsealSeed,
    };
    const created = await createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, openStores, kdf });
    const seed = Uint8Array.from(created.rootSeed);
    await created.close();
    const before = await snapshot();
    await expectRejects(
      unlockBrowserVault({ name: "mosaic", passphrase: "wrong horse", openStores, kdf }),
      WrongPassphraseError,
      /wrong passphrase/,
    );
    expect(await snapshot()).to.deep.equal(before);
    const unlocked = await unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores, kdf });
    expect(Buffer.from(unlocked.rootSeed).equals(seed)).to.equal(true);
    await unlocked.close();
    expect(calls).to.deep.equal(["seal", "unseal", "unseal"]);
  });

  it("a recovered vault writes under a device name of its own, kept for unlocking; a bad name is refused", async () => {
    const seed = randomBytes(32);
    await expectRejects(
      createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, seed, device: "../x", openStores }),
      TypeError,
      /device: expected/,
    );
    expect(await hasBrowserVault("mosaic", { openStores })).to.equal(false);
    const created = await createBrowserVault({
      name: "mosaic",
      passphrase: "correct horse",
      scrypt: SMALL,
      seed,
      device: "browser-1a2b",
      openStores,
    });
    const ownLog = created.thread.ownLog;
    expect(ownLog).to.equal(logIdOf(deriveThreadSecrets(seed, VAULT_THREAD, "browser-1a2b").log.publicKey));
    expect(ownLog).to.not.equal(logIdOf(deriveThreadSecrets(seed, VAULT_THREAD, BROWSER_DEVICE).log.publicKey));
    await created.close();
    const unlocked = await unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores });
    expect(unlocked.thread.ownLog).to.equal(ownLog);
    await unlocked.close();
  });

  it("a fresh seed each create, and openBrowserVault opens the thread with a seed the caller holds", async () => {
    const a = await createBrowserVault({ name: "a", passphrase: "correct horse", scrypt: SMALL, openStores });
    const seed = Uint8Array.from(a.rootSeed);
    await a.addLocations([point]);
    await a.close();
    const opened = await openBrowserVault("a", { rootSeed: seed, device: BROWSER_DEVICE }, { openStores });
    expect(opened.locations()).to.deep.equal([point]);
    await opened.close();
    const other = await mkdtemp(path.join(tmpdir(), "mosaic-browser-vault-"));
    try {
      const b = await createBrowserVault({
        name: "b",
        passphrase: "correct horse",
        scrypt: SMALL,
        openStores: () => openDiskStores(other),
      });
      expect(Buffer.from(b.rootSeed).equals(Buffer.from(seed))).to.equal(false);
      await b.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("refuses a wrong passphrase with threads' WrongPassphraseError and writes nothing", async () => {
    await (await createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, openStores })).close();
    const before = await snapshot();
    await expectRejects(unlockBrowserVault({ name: "mosaic", passphrase: "wrong horse!", openStores }), WrongPassphraseError);
    expect(await snapshot()).to.deep.equal(before);
    // The database was closed on the way out: the right passphrase opens it again.
    await (await unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores })).close();
  });

  it("refuses a second create over an existing vault with VaultExistsError and keeps the first seed", async () => {
    const first = await createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, openStores });
    const seed = Uint8Array.from(first.rootSeed);
    await first.close();
    const before = await snapshot();
    await expectRejects(
      createBrowserVault({ name: "mosaic", passphrase: "another passphrase", scrypt: SMALL, openStores }),
      VaultExistsError,
      /already holds a vault/,
    );
    expect(await snapshot()).to.deep.equal(before);
    const unlocked = await unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores });
    expect(unlocked.rootSeed).to.deep.equal(seed);
    await unlocked.close();
  });

  it("a database with no vault is VaultNotFoundError; a damaged sealed seed is UnreadableFileError; bad arguments are named", async () => {
    await expectRejects(
      unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores }),
      VaultNotFoundError,
      /holds no vault/,
    );
    expect(await snapshot()).to.deep.equal([]);

    await (await createBrowserVault({ name: "mosaic", passphrase: "correct horse", scrypt: SMALL, openStores })).close();
    const stores = await openStores();
    await stores.datastore.put(new Key("/vault/seed"), new TextEncoder().encode("{ not a sealed seed"));
    await stores.close();
    const before = await snapshot();
    await expectRejects(unlockBrowserVault({ name: "mosaic", passphrase: "correct horse", openStores }), UnreadableFileError);
    expect(await snapshot()).to.deep.equal(before);

    const empty = await mkdtemp(path.join(tmpdir(), "mosaic-browser-vault-"));
    try {
      const emptyStores = () => openDiskStores(empty);
      await expectRejects(
        createBrowserVault({ name: "x", passphrase: "short", scrypt: SMALL, openStores: emptyStores }),
        RangeError,
        /passphrase/,
      );
      await expectRejects(
        createBrowserVault({ name: "x", passphrase: "correct horse", seed: new Uint8Array(31), openStores: emptyStores }),
        RangeError,
        /seed: expected 32 bytes, got 31/,
      );
      await expectRejects(createBrowserVault({ name: "", passphrase: "correct horse", openStores: emptyStores }), TypeError, /name/);
      expect(await hasBrowserVault("x", { openStores: emptyStores })).to.equal(false);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
