// `mosaic vault`: create, unlock, inspect, export, import and serve this device's vault thread on disk.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { peerIdFromString } from "@libp2p/peer-id";
import { createIpfsNode, dialPeer, type IpfsNode, nodeAddresses, namedError } from "@mosaic/protocol";
import {
  DEFAULT_SCRYPT,
  type DiskStores,
  deriveThreadSecrets,
  exportThread,
  importThread,
  logIdOf,
  openDiskStores,
  readSeedFile,
  sealSeed,
  type Thread,
  ThreadReplicator,
  unsealSeed,
  writeSeedFile,
} from "@mosaic/threads";
import { VAULT_THREAD, Vault } from "@mosaic/vault";

/** Where a vault lives unless --dir says otherwise, relative to the current directory (gitignored). */
export const DEFAULT_VAULT_DIR = ".mosaic/vault";

const SEED_FILE = "seed.json";
const DEVICE_FILE = "device";
const DB_DIR = "db";
const DEVICE_NAME = /^[a-zA-Z0-9._-]{1,64}$/;

/** `init` found a vault already in the directory. */
export class VaultExistsError extends namedError("VaultExistsError") {}

/** The directory holds no vault (no seed.json, or no device file beside it). */
export class VaultNotFoundError extends namedError("VaultNotFoundError") {}

/** Another process (a running `serve`, say) holds the vault's database. */
export class VaultBusyError extends namedError("VaultBusyError") {}

/** No passphrase source: not a terminal, no --passphrase-file, no MOSAIC_PASSPHRASE. */
export class PassphraseRequiredError extends namedError("PassphraseRequiredError") {}

/** The two passphrases typed at `init` differ. */
export class PassphraseMismatchError extends namedError("PassphraseMismatchError") {}

/** The passphrase prompt was cancelled (Ctrl-C). */
export class PromptCancelledError extends namedError("PromptCancelledError") {}

/** Which vault to open, and how to unlock it. */
export interface VaultAccess {
  /** The vault's directory. @default ".mosaic/vault" */
  dir?: string;
  /** A file whose first line is the passphrase; otherwise MOSAIC_PASSPHRASE, otherwise a terminal prompt. @default undefined */
  passphraseFile?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Progress on stderr

/** Draws one operation's progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise. */
export interface Progress {
  update(done: number, total: number): void;
  /** Draws the final state (if anything was drawn) and ends the line. */
  end(): void;
}

export interface ProgressInit {
  /** What is counted; a bare percentage when absent. @default undefined */
  unit?: string;
  /** @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Least time between two redraws on a terminal: about 10 a second. @default 100 */
  ttyIntervalMs?: number;
  /** Least time between two lines when stderr is a file or pipe, where every update stays in the log. @default 1000 */
  lineIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

const BAR_WIDTH = 24;

/** A throttled progress reporter; callbacks may fire per record, the stream sees at most ~10 updates a second. */
export function createProgress(label: string, init: ProgressInit = {}): Progress {
  const stream = init.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = init.now ?? Date.now;
  const interval = tty ? (init.ttyIntervalMs ?? 100) : (init.lineIntervalMs ?? 1000);
  const started = now();
  // On a pipe the first line waits a whole interval, so quick operations print nothing at all.
  let last = tty ? Number.NEGATIVE_INFINITY : started;
  let drawn = false;
  let done = 0;
  let total = 0;
  const text = (): string => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const count = init.unit === undefined ? "" : ` ${done}/${total} ${init.unit}`;
    if (!tty) return `${label}: ${percent.trim()}${count}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    return `${label} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${percent}${count}`;
  };
  const draw = (): void => {
    stream.write(tty ? `\r${text()}\x1b[K` : `${text()}\n`);
    drawn = true;
  };
  return {
    update(d, t) {
      done = d;
      total = t;
      const at = now();
      if (at - last < interval) return;
      last = at;
      draw();
    },
    end() {
      if (!drawn) return;
      draw();
      if (tty) stream.write("\n");
      drawn = false;
    },
  };
}

/** Runs `work` with a progress reporter, ending its line however the work ends. */
export async function withProgress<T>(label: string, unit: string | undefined, work: (p: Progress) => Promise<T>): Promise<T> {
  const progress = createProgress(label, { unit });
  try {
    return await work(progress);
  } finally {
    progress.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Passphrase

function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    let answer: string[] = [];
    const finish = (err?: Error): void => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
      if (err === undefined) resolve(answer.join(""));
      else reject(err);
    };
    const onData = (chunk: string): void => {
      if (chunk.startsWith("\x1b")) return; // arrow keys and the like
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\x04") {
          finish();
          return;
        }
        // Raw mode turns Ctrl-C into a character, not SIGINT.
        if (ch === "\x03") {
          finish(new PromptCancelledError("passphrase prompt cancelled"));
          return;
        }
        if (ch === "\x7f" || ch === "\b") answer = answer.slice(0, -1);
        else if (ch >= " ") answer.push(ch);
      }
    };
    // Raw mode before the prompt, so that nothing typed after the prompt appears is echoed.
    input.setRawMode(true);
    input.setEncoding("utf8");
    input.on("data", onData);
    input.resume();
    output.write(question);
  });
}

/**
 * The passphrase, from (in order) --passphrase-file, MOSAIC_PASSPHRASE, or a hidden prompt on the terminal,
 * asked twice when `confirm` (a typo at init would lock the vault for good).
 */
async function readPassphrase(access: VaultAccess, confirm: boolean): Promise<string> {
  if (access.passphraseFile !== undefined) {
    const first = (await readFile(access.passphraseFile, "utf8")).split(/\r?\n/, 1)[0] ?? "";
    if (first === "")
      throw new TypeError(`--passphrase-file ${access.passphraseFile}: the first line is empty; it should hold the passphrase`);
    return first;
  }
  const fromEnv = process.env.MOSAIC_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (process.stdin.isTTY !== true) {
    throw new PassphraseRequiredError(
      "no passphrase: stdin is not a terminal to ask on; pass --passphrase-file FILE (its first line is read) or set MOSAIC_PASSPHRASE",
    );
  }
  const first = await promptHidden("Vault passphrase: ");
  if (!confirm) return first;
  if (first.length < 8) throw new RangeError("passphrase: expected at least 8 characters");
  const again = await promptHidden("Repeat the passphrase: ");
  if (again !== first) throw new PassphraseMismatchError("the two passphrases differ; run init again");
  return first;
}

// ---------------------------------------------------------------------------------------------------------------
// Opening a vault

interface VaultPaths {
  dir: string;
  seed: string;
  device: string;
  db: string;
}

export function pathsOf(access: VaultAccess): VaultPaths {
  const dir = path.resolve(access.dir ?? DEFAULT_VAULT_DIR);
  return { dir, seed: path.join(dir, SEED_FILE), device: path.join(dir, DEVICE_FILE), db: path.join(dir, DB_DIR) };
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

export interface OpenVault {
  paths: VaultPaths;
  device: string;
  stores: DiskStores;
  thread: Thread;
  vault: Vault;
}

/** Unlocks the seed and opens the vault; `use` runs with it, and the vault and stores close however it ends. */
export async function withVault<T>(access: VaultAccess, use: (vault: OpenVault) => Promise<T>): Promise<T> {
  const paths = pathsOf(access);
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
  const passphrase = await readPassphrase(access, false);
  const seed = await withProgress("unlocking", undefined, (p) => unsealSeed(sealed, passphrase, { onProgress: (f) => p.update(f, 1) }));
  const stores = await openStores(paths.db);
  try {
    const vault = await withProgress("opening", "records", (p) =>
      Vault.open(stores, { rootSeed: seed, device, onProgress: (d, t) => p.update(d, t) }),
    );
    try {
      return await use({ paths, device, stores, thread: vault.thread, vault });
    } finally {
      await vault.close();
    }
  } finally {
    seed.fill(0);
    await stores.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Commands

export interface InitOptions extends VaultAccess {
  /** This device's name. @default the host name, sanitised */
  device?: string;
  /** A file holding the vault's seed as 64 hex characters: how a second device of a vault is set up. @default a fresh random seed */
  seedFile?: string;
  /** The vault's seed itself (32 bytes, e.g. recovered from guardians), instead of `seedFile`; copied, not kept. @default undefined */
  seed?: Uint8Array;
  /** scrypt's N for sealing the seed (r and p are DEFAULT_SCRYPT's); small values are for tests. @default DEFAULT_SCRYPT.N */
  scryptN?: number;
}

export interface InitResult {
  dir: string;
  device: string;
  thread: string;
  ownLog: string;
}

async function readSeedHex(file: string): Promise<Uint8Array> {
  const hex = (await readFile(file, "utf8")).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new TypeError(`--seed-file ${file}: expected 64 hex characters (a 32-byte seed), got ${hex.length} characters`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** Creates a vault: seals a seed (fresh, or the vault's from --seed-file) and creates this device's log. */
export async function initVault(options: InitOptions): Promise<InitResult> {
  const paths = pathsOf(options);
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
  const passphrase = await readPassphrase(options, true);
  const text = await withProgress("sealing", undefined, (p) =>
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
  await writeFile(paths.device, `${device}\n`);
  // The seed file goes last: until it exists the directory is not a vault, and init may simply be run again.
  if (await exists(paths.seed)) throw new VaultExistsError(existing);
  await writeSeedFile(paths.seed, text);
  return { dir: paths.dir, device, thread: secrets.id.toString(), ownLog: logIdOf(secrets.log.publicKey) };
}

export function formatInit(r: InitResult): string {
  return [`created a vault in ${r.dir}`, `device   ${r.device}`, `thread   ${r.thread}`, `own log  ${r.ownLog}`].join("\n");
}

export interface StatusOptions extends VaultAccess {
  /** Also check every record's signature, link and event block. @default false */
  verify?: boolean;
}

export interface StatusResult {
  dir: string;
  device: string;
  thread: string;
  ownLog: string;
  records: number;
  logs: { id: string; seq: number }[];
  collections: Record<string, number>;
  verify?: { ok: true; checked: number } | { ok: false; error: { name: string; message: string } };
}

/** Unlocks the vault and summarises its thread; with `verify`, walks every log too. */
export async function vaultStatus(options: StatusOptions): Promise<StatusResult> {
  return withVault(options, async ({ paths, device, thread }) => {
    const { id, ownLog, records, logs, collections: all } = thread.status();
    // The vault declares its abilities' collections up front; the empty ones would only crowd the summary.
    const collections = Object.fromEntries(Object.entries(all).filter(([, size]) => size > 0));
    const result: StatusResult = { dir: paths.dir, device, thread: id, ownLog, records, logs, collections };
    if (options.verify === true) {
      try {
        const checked = await withProgress("verifying", "records", (p) => thread.log.verify({ onProgress: (d, t) => p.update(d, t) }));
        result.verify = { ok: true, checked };
      } catch (err) {
        result.verify = { ok: false, error: { name: (err as Error).name, message: (err as Error).message } };
      }
    }
    return result;
  });
}

export function formatStatus(r: StatusResult): string {
  const row = (label: string, value: string | number): string => `${label.padEnd(12)} ${value}`;
  const lines = [
    row("vault", `${r.dir} (device ${r.device})`),
    row("thread", r.thread),
    row("own log", r.ownLog),
    row("records", r.records),
  ];
  for (const [i, l] of r.logs.entries())
    lines.push(row(i === 0 ? "logs" : "", `${l.id}  ${l.seq}${l.id === r.ownLog ? "  (this device)" : ""}`));
  const collections = Object.entries(r.collections);
  if (collections.length === 0) lines.push(row("collections", "(none)"));
  for (const [i, [name, size]] of collections.entries()) lines.push(row(i === 0 ? "collections" : "", `${name}  ${size}`));
  if (r.verify !== undefined) {
    lines.push(
      row("verify", r.verify.ok ? `ok (${r.verify.checked} records)` : `FAILED: ${r.verify.error.name}: ${r.verify.error.message}`),
    );
  }
  return lines.join("\n");
}

export interface ExportOptions extends VaultAccess {
  /** The archive file to write (replaced atomically if it exists). */
  out: string;
}

export interface ExportResult {
  out: string;
  records: number;
}

/** Writes every record of the vault's thread, still sealed, to an archive file. */
export async function exportVault(options: ExportOptions): Promise<ExportResult> {
  const out = path.resolve(options.out);
  return withVault(options, async ({ thread }) => {
    const records = await withProgress("exporting", "records", (p) =>
      exportThread(thread.log, out, { onProgress: (d, t) => p.update(d, t) }),
    );
    return { out, records };
  });
}

export function formatExport(r: ExportResult): string {
  return `exported ${r.records} records to ${r.out}`;
}

export type ImportOptions = VaultAccess & ({ in: string; peer?: undefined } | { peer: string; in?: undefined });

export interface ImportResult {
  /** The archive or peer address the records came from. */
  from: string;
  /** Records new to this device. */
  added: number;
  /** Records offered that it already held. */
  duplicates: number;
  /** Records the vault holds now. */
  records: number;
}

function peerOf(address: string): string {
  const match = /\/p2p\/([^/]+)\/?$/.exec(address);
  if (match?.[1] === undefined)
    throw new TypeError(`--peer: expected a multiaddr ending in /p2p/<peer id> (as 'serve' prints), got ${JSON.stringify(address)}`);
  return match[1];
}

async function pullFrom(stores: DiskStores, thread: Thread, address: string): Promise<{ added: number; duplicates: number }> {
  const peer = peerIdFromString(peerOf(address));
  // It only dials out, so it listens nowhere.
  const node: IpfsNode = await createIpfsNode({ blockstore: stores.blockstore, listen: [] });
  const replicator = new ThreadReplicator({ libp2p: node.libp2p });
  try {
    await replicator.start();
    replicator.add(thread.log);
    await dialPeer(node, address);
    return await withProgress("pulling", "records", (p) => replicator.pull(peer, thread.log.id, { onProgress: (d, t) => p.update(d, t) }));
  } finally {
    await replicator.stop();
    await node.stop();
  }
}

/** Adds records from an archive or from a `serve` of another device of the vault, verifying every one. */
export async function importVault(options: ImportOptions): Promise<ImportResult> {
  const from = options.in === undefined ? options.peer : path.resolve(options.in);
  if (options.in !== undefined)
    await stat(from); // fail on a missing file before asking for the passphrase
  else peerOf(from);
  return withVault(options, async ({ stores, thread }) => {
    const before = thread.log.size;
    let result: { added: number; duplicates: number };
    try {
      result =
        options.in === undefined
          ? await pullFrom(stores, thread, from)
          : await withProgress("importing", "records", (p) => importThread(thread.log, from, { onProgress: (d, t) => p.update(d, t) }));
    } catch (err) {
      const kept = thread.log.size - before;
      if (kept > 0) process.stderr.write(`kept the ${kept} verified records that came before the fault\n`);
      throw err;
    }
    // The replicator may pull on its own as the peer's subscription arrives; the log's growth is the true count.
    return { from, added: thread.log.size - before, duplicates: result.duplicates, records: thread.log.size };
  });
}

export function formatImport(r: ImportResult): string {
  return `imported ${r.added} new records (${r.duplicates} already held) from ${r.from}; the vault holds ${r.records}`;
}

export interface ServeOptions extends VaultAccess {
  /** Addresses to listen on. @default ["/ip4/127.0.0.1/tcp/0"] */
  listen?: string[];
  /** Serving stops (and everything closes) when this aborts. */
  signal: AbortSignal;
  /** Called once the node listens, with what a peer needs to pull. */
  onListening?: (info: ServeInfo) => void;
}

export interface ServeInfo {
  thread: string;
  device: string;
  peerId: string;
  addresses: string[];
}

export interface ServeResult {
  /** Pulls served to other devices. */
  served: number;
  /** Records received from them. */
  received: number;
}

/** Serves the vault's thread to its other devices (and pulls theirs) until `signal` aborts. */
export async function serveVault(options: ServeOptions): Promise<ServeResult> {
  return withVault(options, async ({ device, stores, thread }) => {
    const node = await createIpfsNode({ blockstore: stores.blockstore, listen: options.listen ?? ["/ip4/127.0.0.1/tcp/0"] });
    const replicator = new ThreadReplicator({ libp2p: node.libp2p });
    try {
      await replicator.start();
      const stats = replicator.add(thread.log);
      options.onListening?.({ thread: thread.id, device, peerId: node.libp2p.peerId.toString(), addresses: nodeAddresses(node) });
      if (!options.signal.aborted) await new Promise((resolve) => options.signal.addEventListener("abort", resolve, { once: true }));
      return { served: stats.served, received: stats.received };
    } finally {
      await replicator.stop();
      await node.stop();
    }
  });
}
