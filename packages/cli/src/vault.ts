// `mosaic vault`: create, unlock, inspect, export, import and serve this device's vault thread on disk (the work is @mosaic/vault's; this asks for the passphrase and draws progress).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { loadOrCreatePeerKey, namedError } from "@mosaic/protocol";
import { exportThread, importThread, type Thread } from "@mosaic/threads";
import {
  type InitVaultDirResult,
  initVaultDir,
  type OpenVaultDir,
  pullThreadFrom,
  servingPeerOf,
  serveThread,
  type VaultPaths,
  vaultPaths,
  withVaultDir,
} from "@mosaic/vault";

// avatar.ts reads these through here.
export { exists } from "@mosaic/vault";

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

/** The vault directory's paths. */
export function pathsOf(access: VaultAccess): VaultPaths {
  return vaultPaths(access.dir);
}

export interface OpenVault extends OpenVaultDir {
  thread: Thread;
}

/** Unlocks the seed and opens the vault, with progress on stderr; `use` runs with it, and everything closes however it ends. */
export async function withVault<T>(access: VaultAccess, use: (vault: OpenVault) => Promise<T>): Promise<T> {
  return withVaultDir(access.dir, { passphrase: () => readPassphrase(access, false), steps: withProgress }, (open) =>
    use({ ...open, thread: open.vault.thread }),
  );
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

export type InitResult = InitVaultDirResult;

/** Creates a vault: seals a seed (fresh, or the vault's from --seed-file) and creates this device's log. */
export async function initVault(options: InitOptions): Promise<InitResult> {
  return initVaultDir({
    dir: options.dir,
    device: options.device,
    seedFile: options.seedFile,
    seed: options.seed,
    scryptN: options.scryptN,
    passphrase: () => readPassphrase(options, true),
    steps: withProgress,
  });
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

/** Adds records from an archive or from a `serve` of another device of the vault, verifying every one. */
export async function importVault(options: ImportOptions): Promise<ImportResult> {
  const from = options.in === undefined ? options.peer : path.resolve(options.in);
  if (options.in !== undefined)
    await stat(from); // fail on a missing file before asking for the passphrase
  else servingPeerOf(from, "--peer");
  return withVault(options, async ({ stores, thread }) => {
    const before = thread.log.size;
    let result: { added: number; duplicates: number };
    try {
      result =
        options.in === undefined
          ? await withProgress("pulling", "records", (p) =>
              pullThreadFrom(stores, thread, from, { field: "--peer", onProgress: (d, t) => p.update(d, t) }),
            )
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
  /**
   * Also follow the registry and call `onJob` for each new job the avatar may answer.
   * @default undefined: serve only
   */
  follow?: {
    network: import("./network-flags.js").ResolvedNetwork;
    peers?: string[];
    /** @default 2000 */
    pollMs?: number;
    onJob: (job: import("@mosaic/vault").JobListing) => void;
    onError?: (err: Error) => void;
  };
  /**
   * Also run a replica of these alert feeds on the vault's blockstore (`vault serve --alerts N…`).
   * @default undefined: no replica
   */
  alerts?: {
    network: import("./network-flags.js").ResolvedNetwork;
    /** --alert-feeds, overriding the network file's AlertFeeds. */
    alertFeeds?: string;
    feedIds: number[];
    peers: string[];
    print: (line: string) => void;
  };
}

export interface ServeInfo {
  thread: string;
  device: string;
  /** Stable across restarts: the key is kept in the vault directory's peer.key. */
  peerId: string;
  addresses: string[];
}

export interface ServeResult {
  /** Pulls served to other devices. */
  served: number;
  /** Records received from them. */
  received: number;
}

/** The vault directory's libp2p key file: `serve` keeps the same peer id (and addresses) across restarts. */
export const PEER_KEY_FILE = "peer.key";

/**
 * Serves the vault's thread to its other devices (and pulls theirs) until `signal` aborts, from a stable peer id
 * (peer.key in the vault directory: created once, 0600; a damaged one is PeerKeyCorruptError). With `follow`, also
 * polls the registry and reports each new job the avatar may answer.
 */
export async function serveVault(options: ServeOptions): Promise<ServeResult> {
  return withVault(options, async ({ paths, device, stores, thread, vault }) => {
    const privateKey = await loadOrCreatePeerKey(path.join(paths.dir, PEER_KEY_FILE));
    // One stop for every part: Ctrl-C, or one part failing (an alert feed that does not exist), stops them all.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    if (options.signal.aborted) stop.abort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
    const failStops = <T>(work: Promise<T>): Promise<T> =>
      work.catch((err) => {
        stop.abort();
        throw err;
      });
    try {
      const serving = serveThread(stores, thread, {
        listen: options.listen,
        signal: stop.signal,
        privateKey,
        onListening: ({ peerId, addresses }) => options.onListening?.({ thread: thread.id, device, peerId, addresses }),
      });
      const parts: Promise<unknown>[] = [];
      const alerts = options.alerts;
      if (alerts !== undefined) {
        const { serveAlertsInVault } = await import("./alerts.js");
        parts.push(
          serveAlertsInVault({
            ...alerts,
            blockstore: stores.blockstore,
            // The replica has its own node: the same hosts, ports of its own.
            listen: options.listen?.filter((a) => !/\/wss?$/.test(a)).map((a) => a.replace(/\/tcp\/\d+/, "/tcp/0")),
            stateFile: path.join(paths.dir, "alerts-replica.json"),
            signal: stop.signal,
          }),
        );
      }
      const follow = options.follow;
      if (follow !== undefined) {
        const { followInVault } = await import("./vault-jobs.js");
        parts.push(followInVault(vault, { ...follow, dir: options.dir, signal: stop.signal }));
      }
      const settled = await Promise.allSettled([serving, ...parts].map(failStops));
      const failed = settled.find((r) => r.status === "rejected");
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      return (settled[0] as PromiseFulfilledResult<ServeResult>).value;
    } finally {
      options.signal.removeEventListener("abort", onAbort);
    }
  });
}
