// A vault on disk: the directory's layout (seed.json, device, db/), creating one, and unlocking it with its passphrase.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { fromHex, namedError, writeFileAtomic } from "@mosaic/protocol";
import {
  DEFAULT_SCRYPT,
  type DiskStores,
  deriveThreadSecrets,
  logIdOf,
  openDiskStores,
  readSeedFile,
  sealSeed,
  unsealSeed,
  writeSeedFile,
} from "@mosaic/threads";
import { quietly, type StepRunner, VaultExistsError, VaultNotFoundError } from "../browser-vault.js";
import { VAULT_THREAD, Vault } from "../vault.js";

// The errors and progress types are the browser vault's too (a vault is found, or not, the same way there).
export { type StepProgress, type StepRunner, VaultExistsError, VaultNotFoundError } from "../browser-vault.js";

/** Where a vault lives unless the caller says otherwise, relative to the current directory (gitignored). */
export const DEFAULT_VAULT_DIR = ".mosaic/vault";

const SEED_FILE = "seed.json";
const DEVICE_FILE = "device";
const DB_DIR = "db";
const DEVICE_NAME = /^[a-zA-Z0-9._-]{1,64}$/;

/** Another process (a running `serve`, say) holds the vault's database. */
export class VaultBusyError extends namedError("VaultBusyError") {}

/** The files of a vault directory, as absolute paths. */
export interface VaultPaths {
  dir: string;
  /** The seed, sealed under the passphrase. */
  seed: string;
  /** This device's name. */
  device: string;
  /** The thread's database (blocks and records). */
  db: string;
}

/** The paths of the vault in `dir`. @param dir @default DEFAULT_VAULT_DIR */
export function vaultPaths(dir: string = DEFAULT_VAULT_DIR): VaultPaths {
  const root = path.resolve(dir);
  return { dir: root, seed: path.join(root, SEED_FILE), device: path.join(root, DEVICE_FILE), db: path.join(root, DB_DIR) };
}

/** Whether a file or directory exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** This host's name as a device name: [a-zA-Z0-9._-]{1,64}. */
export function defaultDeviceName(host: string = hostname()): string {
  const name = host
    .replace(/[^a-zA-Z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return name === "" ? "device" : name;
}

function checkDeviceName(name: string, what: string): string {
  if (!DEVICE_NAME.test(name)) throw new TypeError(`${what}: expected a device name [a-zA-Z0-9._-]{1,64}, got ${JSON.stringify(name)}`);
  return name;
}

async function openStores(db: string): Promise<DiskStores> {
  try {
    return await openDiskStores(db);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") {
      throw new VaultBusyError(`${db} is in use by another process (a running 'mosaic vault serve'?): stop it, then try again`);
    }
    throw err;
  }
}

/** An unlocked vault directory, open for the length of a `withVaultDir` call. */
export interface OpenVaultDir {
  paths: VaultPaths;
  device: string;
  stores: DiskStores;
  vault: Vault;
}

export interface UnlockOptions {
  /** Asked only once the directory is known to hold a vault. */
  passphrase: () => Promise<string>;
  /** @default no progress shown */
  steps?: StepRunner;
}

/** Unlocks the seed and opens the vault in `dir`; `use` runs with it, and the vault and stores close however it ends. */
export async function withVaultDir<T>(
  dir: string | undefined,
  options: UnlockOptions,
  use: (open: OpenVaultDir) => Promise<T>,
): Promise<T> {
  const paths = vaultPaths(dir);
  const steps = options.steps ?? quietly;
  let sealed: string;
  try {
    sealed = await readSeedFile(paths.seed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new VaultNotFoundError(`no vault in ${paths.dir} (no ${SEED_FILE}): run 'mosaic vault init', or pass the right --dir`);
  }
  let device: string;
  try {
    device = checkDeviceName((await readFile(paths.device, "utf8")).trim(), paths.device);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new VaultNotFoundError(`${paths.device} is missing: write this device's name (the --device it was set up with) into it`);
  }
  const passphrase = await options.passphrase();
  const seed = await steps("unlocking", undefined, (p) => unsealSeed(sealed, passphrase, { onProgress: (f) => p.update(f, 1) }));
  const stores = await openStores(paths.db);
  try {
    const vault = await steps("opening", "records", (p) =>
      Vault.open(stores, { rootSeed: seed, device, onProgress: (d, t) => p.update(d, t) }),
    );
    try {
      return await use({ paths, device, stores, vault });
    } finally {
      await vault.close();
    }
  } finally {
    seed.fill(0);
    await stores.close();
  }
}

export interface InitVaultDirOptions {
  /** @default DEFAULT_VAULT_DIR */
  dir?: string;
  /** This device's name. @default the host name, sanitised */
  device?: string;
  /** A file holding the vault's seed as 64 hex characters: how a second device of a vault is set up. @default a fresh random seed */
  seedFile?: string;
  /** The vault's seed itself (32 bytes, e.g. recovered from guardians), instead of `seedFile`; copied, not kept. @default undefined */
  seed?: Uint8Array;
  /** Asked once the directory is known to be free; the caller confirms it as it sees fit. */
  passphrase: () => Promise<string>;
  /** scrypt's N for sealing the seed (r and p are DEFAULT_SCRYPT's); small values are for tests. @default DEFAULT_SCRYPT.N */
  scryptN?: number;
  /** @default no progress shown */
  steps?: StepRunner;
}

export interface InitVaultDirResult {
  dir: string;
  device: string;
  thread: string;
  ownLog: string;
}

async function readSeedHex(file: string): Promise<Uint8Array> {
  const hex = (await readFile(file, "utf8")).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new TypeError(`--seed-file ${file}: expected 64 hex characters (a 32-byte seed), got ${hex.length} characters`);
  return fromHex(hex);
}

/** Creates a vault directory: seals a seed (fresh, given, or from `seedFile`) and creates this device's log. */
export async function initVaultDir(options: InitVaultDirOptions): Promise<InitVaultDirResult> {
  const paths = vaultPaths(options.dir);
  const steps = options.steps ?? quietly;
  const existing = `${paths.seed} already exists: run 'mosaic vault status' to open that vault, or pass another --dir`;
  if (await exists(paths.seed)) throw new VaultExistsError(existing);
  const device = options.device === undefined ? defaultDeviceName() : checkDeviceName(options.device, "--device");
  if (options.seed !== undefined && options.seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${options.seed.length}`);
  const seed =
    options.seed !== undefined
      ? Uint8Array.from(options.seed)
      : options.seedFile === undefined
        ? Uint8Array.from(randomBytes(32))
        : await readSeedHex(options.seedFile);
  const passphrase = await options.passphrase();
  const text = await steps("sealing", undefined, (p) =>
    sealSeed(seed, passphrase, {
      params: { ...DEFAULT_SCRYPT, N: options.scryptN ?? DEFAULT_SCRYPT.N },
      onProgress: (f) => p.update(f, 1),
    }),
  );
  const secrets = deriveThreadSecrets(seed, VAULT_THREAD, device);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const stores = await openStores(paths.db);
  try {
    await (await Vault.open(stores, { rootSeed: seed, device })).close();
  } finally {
    seed.fill(0);
    await stores.close();
  }
  await writeFileAtomic(paths.device, `${device}\n`);
  // The seed file goes last: until it exists the directory is not a vault, and init may simply be run again.
  if (await exists(paths.seed)) throw new VaultExistsError(existing);
  await writeSeedFile(paths.seed, text);
  return { dir: paths.dir, device, thread: secrets.id.toString(), ownLog: logIdOf(secrets.log.publicKey) };
}
