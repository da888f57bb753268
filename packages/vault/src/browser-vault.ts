// A vault in a browser: its thread and its passphrase-sealed seed in one IndexedDB database (any abstract-level
// database through `openStores`, so Node runs the same code over LevelDB). Mirrors node/vault-dir.ts, whose seed.json
// and device file are here two datastore keys beside the thread's.
import { namedError } from "@mosaic/protocol";
import { DEFAULT_SCRYPT, type DiskStores, openBrowserStores, type ScryptParams, sealSeed, unsealSeed } from "@mosaic/threads";
import { randomBytes } from "@noble/ciphers/webcrypto";
import { Key } from "interface-datastore";
import { Vault, type VaultInit } from "./vault.js";

/** `init` (or createBrowserVault) found a vault already there. */
export class VaultExistsError extends namedError("VaultExistsError") {}

/** There is no vault there (no sealed seed, or no device name beside it). */
export class VaultNotFoundError extends namedError("VaultNotFoundError") {}

/** What a long step (unsealing, opening, sealing) reports as it goes. */
export interface StepProgress {
  update(done: number, total: number): void;
}

/**
 * Runs one long step named `label` (counting `unit`, if any) with a progress sink; how it is shown is the caller's.
 * @default runs the step with no progress shown
 */
export type StepRunner = <T>(label: string, unit: string | undefined, work: (progress: StepProgress) => Promise<T>) => Promise<T>;

/** A StepRunner that shows nothing. */
export const quietly: StepRunner = (_label, _unit, work) => work({ update() {} });

/** The device name a browser vault's own log is written under. */
export const BROWSER_DEVICE = "browser";

/** The datastore keys of the sealed seed (seed.json's text) and the device name; the thread's keys are under /threads. */
const SEED_KEY = new Key("/vault/seed");
const DEVICE_KEY = new Key("/vault/device");
const DEVICE_NAME = /^[a-zA-Z0-9._-]{1,64}$/;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Opens the stores a browser vault lives in, by name. */
export type OpenStores = (name: string) => Promise<DiskStores>;

export interface BrowserVaultStorage {
  /**
   * Opens the stores named `name`: Node tests pass `() => openDiskStores(dir)`.
   * @default openBrowserStores (the IndexedDB database `name`)
   */
  openStores?: OpenStores;
}

export interface UnlockBrowserVaultOptions
  extends BrowserVaultStorage,
    Omit<VaultInit, "rootSeed" | "device" | "ownedStores" | "onProgress"> {
  /** The IndexedDB database's name. */
  name: string;
  passphrase: string;
  /** @default no progress shown */
  steps?: StepRunner;
  /**
   * Where the passphrase KDF runs: threads' sealSeed and unsealSeed, or functions with their contract that run them
   * elsewhere (the app's worker, so scrypt's second of work does not freeze the page).
   * @default sealSeed and unsealSeed on this thread
   */
  kdf?: { seal: typeof sealSeed; unseal: typeof unsealSeed };
}

export interface CreateBrowserVaultOptions extends UnlockBrowserVaultOptions {
  /**
   * scrypt's cost for sealing the seed; small values are for tests.
   * @default DEFAULT_SCRYPT
   */
  scrypt?: ScryptParams;
  /**
   * The vault's seed (32 bytes, e.g. recovered from guardians); copied, not kept.
   * @default a fresh random seed
   */
  seed?: Uint8Array;
  /**
   * This device's name: its own log in the vault's thread. A vault recovered onto a new browser needs a name the
   * lost one did not use, or the two would write the same log (as the CLI's `--device`).
   * @default BROWSER_DEVICE ("browser")
   */
  device?: string;
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`name: expected a database name, got ${JSON.stringify(name)}`);
  return name;
}

async function readKey(stores: DiskStores, key: Key): Promise<string | undefined> {
  return (await stores.datastore.has(key)) ? fromUtf8.decode(await stores.datastore.get(key)) : undefined;
}

/** Opens (or creates) the vault whose thread lives in the IndexedDB database `name`; closing the vault closes it. */
export async function openBrowserVault(name: string, init: VaultInit, storage: BrowserVaultStorage = {}): Promise<Vault> {
  const stores = await (storage.openStores ?? openBrowserStores)(checkName(name));
  try {
    return await Vault.open(stores, { ...init, ownedStores: stores });
  } catch (err) {
    await stores.close();
    throw err;
  }
}

/** Whether the database `name` holds a vault (a sealed seed): whether to offer create or unlock. */
export async function hasBrowserVault(name: string, storage: BrowserVaultStorage = {}): Promise<boolean> {
  const stores = await (storage.openStores ?? openBrowserStores)(checkName(name));
  try {
    return await stores.datastore.has(SEED_KEY);
  } finally {
    await stores.close();
  }
}

/**
 * Creates a vault in the database `name`: seals a seed (fresh or given) under `passphrase`, creates the "browser"
 * device's log and resolves with the vault open (closing it closes the database). Throws VaultExistsError, leaving
 * the database as it was, when it already holds a vault; RangeError for a passphrase under 8 characters.
 */
export async function createBrowserVault(options: CreateBrowserVaultOptions): Promise<Vault> {
  const { name, passphrase, scrypt, seed: given, device = BROWSER_DEVICE, openStores, steps: stepsOption, kdf, ...vaultInit } = options;
  checkName(name);
  if (typeof device !== "string" || !DEVICE_NAME.test(device))
    throw new TypeError(`device: expected 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(device)}`);
  if (given !== undefined && given.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${given.length}`);
  const steps = stepsOption ?? quietly;
  const existing = () => new VaultExistsError(`the database '${name}' already holds a vault: unlock it, or choose another name`);
  const stores = await (openStores ?? openBrowserStores)(name);
  const seed = given === undefined ? randomBytes(32) : Uint8Array.from(given);
  let vault: Vault | undefined;
  try {
    if (await stores.datastore.has(SEED_KEY)) throw existing();
    const text = await steps("sealing", undefined, (p) =>
      (kdf?.seal ?? sealSeed)(seed, passphrase, { params: scrypt ?? DEFAULT_SCRYPT, onProgress: (f) => p.update(f, 1) }),
    );
    vault = await Vault.open(stores, { ...vaultInit, rootSeed: seed, device, ownedStores: stores });
    // The seed goes last: until it is there the database is not a vault, and create may simply run again.
    if (await stores.datastore.has(SEED_KEY)) throw existing();
    // The device name and the seed in one batch: a crash leaves both or neither.
    await stores.commit(
      [],
      [
        [DEVICE_KEY, utf8.encode(device)],
        [SEED_KEY, utf8.encode(text)],
      ],
    );
    return vault;
  } catch (err) {
    seed.fill(0);
    if (vault === undefined) await stores.close();
    else await vault.close();
    throw err;
  }
}

/**
 * Unlocks the vault in the database `name` with its passphrase and resolves with it open (closing it closes the
 * database). Throws VaultNotFoundError when there is no vault there, threads' WrongPassphraseError for a wrong
 * passphrase (as the CLI's unlock does) and UnreadableFileError for a damaged sealed seed; nothing is written.
 */
export async function unlockBrowserVault(options: UnlockBrowserVaultOptions): Promise<Vault> {
  const { name, passphrase, openStores, steps: stepsOption, kdf, ...vaultInit } = options;
  checkName(name);
  const steps = stepsOption ?? quietly;
  const stores = await (openStores ?? openBrowserStores)(name);
  let seed: Uint8Array | undefined;
  try {
    const sealed = await readKey(stores, SEED_KEY);
    if (sealed === undefined) throw new VaultNotFoundError(`the database '${name}' holds no vault: create one first`);
    const device = await readKey(stores, DEVICE_KEY);
    if (device === undefined || !DEVICE_NAME.test(device))
      throw new VaultNotFoundError(`the database '${name}' has a sealed seed but no valid device name beside it`);
    seed = await steps("unlocking", undefined, (p) =>
      (kdf?.unseal ?? unsealSeed)(sealed, passphrase, { onProgress: (f) => p.update(f, 1) }),
    );
    const rootSeed = seed;
    return await steps("opening", "records", (p) =>
      Vault.open(stores, { ...vaultInit, rootSeed, device, ownedStores: stores, onProgress: (d, t) => p.update(d, t) }),
    );
  } catch (err) {
    seed?.fill(0);
    await stores.close();
    throw err;
  }
}
