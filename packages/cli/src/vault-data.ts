// `mosaic vault` on what the vault holds and who can restore it: abilities, location imports, consents, audit, budget, guardians, recovery.
import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  attachVaultRecovery,
  BlockUnavailableError,
  type CID,
  decodeCbor,
  getBlock,
  parseCid,
  type VaultRecovery,
  namedError,
} from "@mosaic/protocol";
import {
  acceptGuardianship,
  accountIdOf,
  addGuardian,
  approveRecoveryRequest,
  type BudgetSettings,
  type BudgetStatus,
  collectionName,
  combineApprovals,
  type ConsentRecord,
  DEFAULT_APPROVAL_LIFETIME,
  deviceKey,
  type Epsilon,
  formatEpsilon,
  GuardiansMismatchError,
  guardianKeyFromPrivateKey,
  guardianKeyOf,
  type Invitation,
  type LocationFormat,
  LocationFileTooLargeError,
  listGuardians,
  listGuardianships,
  MAX_LOCATION_FILE_BYTES,
  MIN_GUARDIANS,
  protectVault,
  type RecoveryApproval,
  type RecoveryRequestMessage,
  type RejectedApproval,
  recoverySetup,
  removeGuardian,
  startRecovery,
  ThresholdNotMetError,
} from "@mosaic/vault";
import { MemoryBlockstore } from "blockstore-core";
import { getAddress, isAddress, Wallet, ZeroAddress, ZeroHash } from "ethers";
import {
  DEFAULT_VAULT_DIR,
  exists,
  type InitResult,
  initVault,
  type VaultAccess,
  VaultExistsError,
  withProgress,
  withVault,
} from "./vault.js";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** A block carried inline in a file does not hash to the CID the file names: the file was altered or cut short. */
export class InlineBlockMismatchError extends namedError("InlineBlockMismatchError") {}

/** A file is not the kind of Mosaic file the command reads (or not JSON at all). */
export class UnrecognisedFileError extends namedError("UnrecognisedFileError") {}

/** A file the command would create already exists; nothing was written. */
export class OutputExistsError extends namedError("OutputExistsError") {}

/** `recover complete` cannot find the device key `recover request` wrote beside the request. */
export class DeviceKeyMissingError extends namedError("DeviceKeyMissingError") {}

/** Starting a recovery on-chain needs a threshold of approvals signed for the chain, and too few are. */
export class UnsignedApprovalError extends namedError("UnsignedApprovalError") {}

/** The recovery contract refused a transaction; `reason` is the contract's error name (NotOwner, RecoveryAlreadyPending, ...). */
export class RecoveryContractError extends contractRefusal("RecoveryContractError") {}

/** The account is not registered on the recovery contract, so it has no guardian set to check or recover through. */
export class AccountNotRegisteredError extends namedError("AccountNotRegisteredError") {}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const HEX33 = /^0x[0-9a-fA-F]{66}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Share packages and approvals are a few hundred bytes; the library refuses blocks over 64 KiB. */
const MAX_SHARE_BLOCK_BYTES = 64 * 1024;
const MAX_JSON_FILE_BYTES = 1024 * 1024;
const DAG_CBOR = 0x71;
const SHA2_256 = 0x12;

/** The files guardians and recovering devices pass around, each marked with its kind. */
const FILE_FORMATS = {
  invitation: "mosaic/guardian-invitation/v1",
  // v2: requests name the expiry every guardian signs; approvals repeat it.
  request: "mosaic/recovery-request/v2",
  approval: "mosaic/recovery-approval/v2",
} as const;

const FILE_WRITERS: Record<keyof typeof FILE_FORMATS, string> = {
  invitation: "mosaic vault guardians protect",
  request: "mosaic vault recover request",
  approval: "mosaic vault recover approve",
};

function hex0x(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString("hex")}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function gcd(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return x === 0 ? 1 : x;
}

/** Writes a file that must not exist yet; OutputExistsError names it otherwise. */
async function writeNew(file: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(file, text, { mode, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw new OutputExistsError(`${file} already exists: move it away or pass another --out`);
    throw err;
  }
}

/** Reads one of the JSON files in FILE_FORMATS, checking its kind. */
async function readMosaicFile(file: string, kind: keyof typeof FILE_FORMATS): Promise<Record<string, unknown>> {
  const { size } = await stat(file);
  const writer = FILE_WRITERS[kind];
  if (size > MAX_JSON_FILE_BYTES) throw new UnrecognisedFileError(`${file}: ${size} bytes, far too large for a ${kind} from '${writer}'`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch {
    throw new UnrecognisedFileError(`${file}: not JSON, so not a ${kind} written by '${writer}'`);
  }
  if (typeof value !== "object" || value === null || (value as { format?: unknown }).format !== FILE_FORMATS[kind]) {
    throw new UnrecognisedFileError(
      `${file}: not a ${kind} (no "format": "${FILE_FORMATS[kind]}"); it should be the file '${writer}' wrote`,
    );
  }
  return value as Record<string, unknown>;
}

function stringField(value: Record<string, unknown>, name: string, file: string, test: (v: string) => boolean, what: string): string {
  const v = value[name];
  if (typeof v !== "string" || !test(v)) throw new TypeError(`${file}: ${name}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const hex32 = (v: string): boolean => HEX32.test(v);
const hex33 = (v: string): boolean => HEX33.test(v);
const base64 = (v: string): boolean => v.length > 0 && BASE64.test(v);
const anyText = (v: string): boolean => v.length > 0 && v.length <= 200;

/** Checks a block that travels inline against its CID (dag-cbor, sha2-256), so a file cannot swap the bytes. */
function inlineBlock(cidText: string, base64Text: string, what: string): { cid: CID; bytes: Uint8Array } {
  const cid = parseCid(cidText);
  const bytes = Uint8Array.from(Buffer.from(base64Text, "base64"));
  if (bytes.length > MAX_SHARE_BLOCK_BYTES)
    throw new InlineBlockMismatchError(
      `${what}: ${bytes.length} bytes inline, over the ${MAX_SHARE_BLOCK_BYTES}-byte limit of a share block`,
    );
  const digest = createHash("sha256").update(bytes).digest();
  if (cid.code !== DAG_CBOR || cid.multihash.code !== SHA2_256 || !digest.equals(Buffer.from(cid.multihash.digest))) {
    throw new InlineBlockMismatchError(
      `${what}: the inline bytes do not hash to ${cidText}: the file was altered or cut short on the way; ask for it again`,
    );
  }
  return { cid, bytes };
}

async function blockBase64(blocks: MemoryBlockstore, cid: string): Promise<string> {
  return Buffer.from(await getBlock(blocks, parseCid(cid), { maxBytes: MAX_SHARE_BLOCK_BYTES })).toString("base64");
}

/** Where the recovery contract is, and (for transactions) the key of the wallet that pays. */
export interface ChainFlags {
  rpc: string;
  recovery: string;
  /** A file whose first line is the paying wallet's private key; without it the contract is only read. */
  walletKeyFile?: string;
}

/** Connects to the recovery contract for the length of `use`. */
async function withRecoveryContract<T>(flags: ChainFlags, use: (recovery: VaultRecovery) => Promise<T>): Promise<T> {
  let recovery: VaultRecovery | undefined;
  return withContract(
    { rpc: flags.rpc, address: flags.recovery, flag: "--recovery", what: "recovery contract", walletKeyFile: flags.walletKeyFile },
    (s) => {
      recovery = attachVaultRecovery(s.signer ?? s.provider, s.address);
      return use(recovery);
    },
    (err) => (recovery === undefined ? err : contractError(recovery, err)),
  );
}

const REVERT_ADVICE: Record<string, string> = {
  NotOwner: "--wallet-key-file must hold the key of the wallet that registered the account",
  RecoveryAlreadyPending: "a recovery of this account is already under way",
  GuardiansMismatch: "the approvals come from another split than the guardian set in effect on-chain",
  ThresholdNotMet: "too few approvals carry a valid signature",
  RecoveryNotReady: "the recovery's timelock has not passed yet",
  ApprovalExpired: "the approvals have expired: make a new request ('mosaic vault recover request') and ask the guardians again",
  ApprovalExpiryTooFar: "the request's expiry is too far ahead: make a new request",
  NotSignedByAccountKey: "the registration was not signed by this vault's account key for this wallet",
};

/** Names a contract revert that ethers left as "unknown custom error", decoding it with the contract's ABI. */
function contractError(recovery: VaultRecovery, err: unknown): unknown {
  const revert = decodeRevert(err, recovery.interface);
  if (revert === undefined) return err;
  const advice = REVERT_ADVICE[revert.name];
  return new RecoveryContractError(
    revert.name,
    `the recovery contract refused: ${revert.name}(${revert.args})${advice === undefined ? "" : `: ${advice}`}`,
  );
}

/** A short code both the recovering person and the guardian see, to confirm over the phone that it is the same request. */
function requestCode(r: RecoveryRequestMessage): string {
  const h = sha256Hex(`${r.accountId.toLowerCase()}:${r.devicePublicKey.toLowerCase()}:${getAddress(r.newOwner)}:${r.expiresAt}`);
  return `${h.slice(0, 4)}-${h.slice(4, 8)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// abilities

export interface AbilityInfo {
  name: string;
  version: string;
  description: string;
  owns: { collection: string; description: string; fields: string[]; documents: number }[];
  reads: string[];
  handles: string[];
}

export interface AbilitiesResult {
  abilities: AbilityInfo[];
}

/** The loaded abilities: what each holds (with document counts), what else it may read, the events it handles. */
export async function vaultAbilities(access: VaultAccess): Promise<AbilitiesResult> {
  return withVault(access, async ({ vault }) => ({
    abilities: vault.abilities().map((m) => ({
      name: m.name,
      version: m.version,
      description: m.description,
      owns: Object.entries(m.owns).map(([short, c]) => {
        const collection = collectionName(m.name, short);
        return { collection, description: c.description, fields: c.fields, documents: vault.thread.collection(collection).size };
      }),
      reads: m.reads ?? [],
      handles: m.handles ?? [],
    })),
  }));
}

export function formatAbilities(r: AbilitiesResult): string {
  const row = (label: string, value: string): string => `  ${label.padEnd(8)} ${value}`;
  return r.abilities
    .map((a) => {
      const lines = [`${a.name} ${a.version}`, `  ${a.description}`];
      for (const [i, c] of a.owns.entries()) {
        const docs = `${c.documents} document${c.documents === 1 ? "" : "s"}`;
        lines.push(row(i === 0 ? "owns" : "", `${c.collection} (${docs}): ${c.fields.join(", ")} — ${c.description}`));
      }
      lines.push(row("reads", a.reads.length === 0 ? "only its own collections" : a.reads.join(", ")));
      lines.push(row("handles", a.handles.length === 0 ? "no events" : a.handles.join(", ")));
      return lines.join("\n");
    })
    .join("\n\n");
}

// ---------------------------------------------------------------------------------------------------------------
// import <file>

export const LOCATION_FORMATS: readonly LocationFormat[] = ["gpx", "geojson", "takeout-records", "takeout-timeline"];

const FORMAT_LABEL: Record<LocationFormat, string> = {
  gpx: "GPX",
  geojson: "GeoJSON",
  "takeout-records": "Google Takeout Records.json",
  "takeout-timeline": "Google Timeline.json",
};

export interface LocationImportOptions extends VaultAccess {
  /** The GPX, GeoJSON or Takeout file. */
  file: string;
  /** Read it as this format instead of detecting it. @default detected */
  format?: string;
}

export interface LocationImportResult {
  file: string;
  format: LocationFormat;
  points: number;
  days: number;
  chunks: number;
  /** Entries without a usable time or position. */
  skipped: number;
  /** The same file was imported before: nothing was added. */
  duplicate: boolean;
}

/** Imports a location history file into the location-history ability; the same file twice is stored once. */
export async function importLocationFile(options: LocationImportOptions): Promise<LocationImportResult> {
  const format = options.format as LocationFormat | undefined;
  if (format !== undefined && !LOCATION_FORMATS.includes(format))
    throw new TypeError(`--format: expected one of ${LOCATION_FORMATS.join(", ")}, got ${JSON.stringify(options.format)}`);
  const file = path.resolve(options.file);
  // A missing or oversized file fails before the passphrase is asked for.
  const { size } = await stat(file);
  if (size > MAX_LOCATION_FILE_BYTES) throw new LocationFileTooLargeError(size, MAX_LOCATION_FILE_BYTES);
  const bytes = await readFile(file);
  return withVault(options, async ({ vault }) => {
    const r = await withProgress("importing", "points", (p) =>
      vault.importLocations(bytes, { fileName: path.basename(file), format, onProgress: (d, t) => p.update(d, t) }),
    );
    return { file, format: r.format, points: r.points, days: r.days, chunks: r.chunks, skipped: r.skipped, duplicate: r.duplicate };
  });
}

export function formatLocationImport(r: LocationImportResult): string {
  const what = `${r.file} (${FORMAT_LABEL[r.format]})`;
  if (r.duplicate) return `${what} was already imported: nothing added`;
  const skipped = r.skipped === 0 ? "" : `; skipped ${r.skipped} entries without a time or position`;
  return `imported ${r.points} points over ${r.days} day${r.days === 1 ? "" : "s"} from ${what}${skipped}`;
}

// ---------------------------------------------------------------------------------------------------------------
// consents

export interface ConsentInfo {
  jobKey: string;
  title: string;
  requester: string;
  purpose: string;
  state: "granted" | "withdrawn" | "submitted";
  /** Unix ms. */
  granted: number;
  withdrawn?: number;
  submitted?: number;
  epsilon: string;
  fieldsRead: string[];
  programHash: string;
  /** The exact payload consented to. */
  payload: number[];
}

export interface ConsentsResult {
  consents: ConsentInfo[];
}

function consentInfo(c: ConsentRecord): ConsentInfo {
  const info: ConsentInfo = {
    jobKey: c.jobKey,
    title: c.title,
    requester: c.requester,
    purpose: c.purpose,
    state: c.submitted !== undefined ? "submitted" : c.withdrawn !== undefined ? "withdrawn" : "granted",
    granted: c.granted,
    epsilon: formatEpsilon(c.epsilon),
    fieldsRead: c.fieldsRead,
    programHash: c.programHash,
    payload: c.payload,
  };
  if (c.withdrawn !== undefined) info.withdrawn = c.withdrawn;
  if (c.submitted !== undefined) info.submitted = c.submitted;
  return info;
}

/** Every consent, newest first. */
export async function listConsents(access: VaultAccess): Promise<ConsentsResult> {
  return withVault(access, async ({ vault }) => ({ consents: vault.consents().map(consentInfo) }));
}

export function formatConsents(r: ConsentsResult): string {
  if (r.consents.length === 0) return "no consents";
  const row = (label: string, value: string): string => `  ${label.padEnd(10)} ${value}`;
  return r.consents
    .map((c) => {
      const lines = [`${c.jobKey}  ${c.state}`, row("title", c.title), row("requester", c.requester), row("purpose", c.purpose)];
      lines.push(row("granted", iso(c.granted)));
      if (c.withdrawn !== undefined) lines.push(row("withdrawn", iso(c.withdrawn)));
      if (c.submitted !== undefined) lines.push(row("submitted", iso(c.submitted)));
      lines.push(row("epsilon", c.epsilon), row("reads", c.fieldsRead.join(", ")), row("payload", JSON.stringify(c.payload)));
      return lines.join("\n");
    })
    .join("\n\n");
}

export interface WithdrawResult {
  jobKey: string;
  /** Unix ms of the withdrawal. */
  withdrawn: number;
  /** It had been withdrawn before: nothing changed. */
  already: boolean;
  /** Epsilon left in the current period afterwards. */
  remaining: string;
}

/** Withdraws a consent and releases its epsilon; AlreadySubmittedError once the output left. */
export async function withdrawConsent(options: VaultAccess & { jobKey: string }): Promise<WithdrawResult> {
  return withVault(options, async ({ vault }) => {
    const find = (): ConsentRecord | undefined => vault.consents().find((c) => c.jobKey === options.jobKey);
    const already = find()?.withdrawn !== undefined;
    await vault.withdraw(options.jobKey);
    return { jobKey: options.jobKey, withdrawn: find()?.withdrawn ?? 0, already, remaining: vault.budget().remaining };
  });
}

export function formatWithdraw(r: WithdrawResult): string {
  if (r.already) return `consent for ${r.jobKey} was already withdrawn at ${iso(r.withdrawn)}`;
  return `withdrew consent for ${r.jobKey}; its epsilon is released (${r.remaining} left this period)`;
}

// ---------------------------------------------------------------------------------------------------------------
// audit

export interface AuditSummary {
  jobKey: string;
  purpose: string;
  requester: string;
  fieldsRead: string[];
  programHash: string;
  /** Length of the bytes that left. */
  bytes: number;
  /** sha256 of those bytes, hex. */
  sha256: string;
  /** Unix ms. */
  time: number;
}

export interface AuditResult {
  entries: AuditSummary[];
  /** Where the full entries were written, with --out. */
  out?: string;
}

/** Every audit entry, oldest first; with `out`, the full entries (the exact bytes as hex) written there as JSON. */
export async function vaultAudit(options: VaultAccess & { out?: string }): Promise<AuditResult> {
  const out = options.out === undefined ? undefined : path.resolve(options.out);
  return withVault(options, async ({ vault }) => {
    const entries = vault.audit();
    const result: AuditResult = {
      entries: entries.map((e) => ({
        jobKey: e.jobKey,
        purpose: e.purpose,
        requester: e.requester,
        fieldsRead: e.fieldsRead,
        programHash: e.programHash,
        bytes: e.bytes.length / 2,
        sha256: e.bytesHash,
        time: e.time,
      })),
    };
    if (out !== undefined) {
      const full = entries.map((e) => ({
        jobKey: e.jobKey,
        purpose: e.purpose,
        requester: e.requester,
        fieldsRead: e.fieldsRead,
        programHash: e.programHash,
        bytes: e.bytes,
        bytesHash: e.bytesHash,
        time: e.time,
        timeIso: iso(e.time),
      }));
      await writeFile(out, `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
      result.out = out;
    }
    return result;
  });
}

export function formatAudit(r: AuditResult): string {
  const lines =
    r.entries.length === 0
      ? ["nothing has left the vault"]
      : r.entries.map((e) =>
          [
            `${iso(e.time)}  ${e.jobKey}`,
            `  purpose    ${e.purpose}`,
            `  requester  ${e.requester}`,
            `  read       ${e.fieldsRead.join(", ")}`,
            `  program    ${e.programHash}`,
            `  sent       ${e.bytes} bytes, sha256 ${e.sha256}`,
          ].join("\n"),
        );
  if (r.out !== undefined) lines.push(`wrote ${r.entries.length} full entries (with the exact bytes) to ${r.out}`);
  return lines.join("\n\n");
}

// ---------------------------------------------------------------------------------------------------------------
// budget

export interface BudgetResult {
  settings: BudgetSettings;
  /** The allowance per period, as a fraction string. */
  allowance: string;
  /** The current period, unix ms [start, end). */
  period: { start: number; end: number };
  used: string;
  remaining: string;
  /** The ledger entries counting in this period. */
  entries: { jobKey: string; epsilon: string; time: number; state: string }[];
}

function budgetResult(s: BudgetStatus): BudgetResult {
  return {
    settings: s.settings,
    allowance: formatEpsilon(s.settings.epsilon),
    period: s.period,
    used: s.used,
    remaining: s.remaining,
    entries: s.entries.map((e) => ({ jobKey: e.jobKey, epsilon: formatEpsilon(e), time: e.time, state: e.state })),
  };
}

/** The privacy budget: the current period, allowance, used, remaining and the period's ledger. */
export async function vaultBudget(access: VaultAccess): Promise<BudgetResult> {
  return withVault(access, async ({ vault }) => budgetResult(vault.budget()));
}

/** Parses an epsilon as the user types it: 4, 0.5 or 1/2. RangeError names --epsilon. */
export function parseEpsilon(text: string): Epsilon {
  const fail = (): never => {
    throw new RangeError(`--epsilon: expected a number like 4 or 0.5, or a fraction like 1/2, at least 0, got ${JSON.stringify(text)}`);
  };
  let num: number;
  let den: number;
  const fraction = /^(\d{1,15})\/(\d{1,15})$/.exec(text);
  const decimal = /^(\d{1,15})(?:\.(\d{1,9}))?$/.exec(text);
  if (fraction !== null) {
    num = Number(fraction[1]);
    den = Number(fraction[2]);
  } else if (decimal !== null) {
    const decimals = decimal[2] ?? "";
    num = Number(`${decimal[1]}${decimals}`);
    den = 10 ** decimals.length;
  } else return fail();
  if (den < 1 || !Number.isSafeInteger(num)) return fail();
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

export interface BudgetSetOptions extends VaultAccess {
  epsilon?: string;
  periodDays?: string;
  /** An ISO 8601 date or time at which the first period starts. */
  anchor?: string;
}

/** Changes the allowance, period length or anchor; takes effect at once for the current period. */
export async function setVaultBudget(options: BudgetSetOptions): Promise<BudgetResult> {
  const settings: Partial<BudgetSettings> = {};
  if (options.epsilon !== undefined) settings.epsilon = parseEpsilon(options.epsilon);
  if (options.periodDays !== undefined) {
    const n = Number(options.periodDays);
    if (!/^\d+$/.test(options.periodDays) || n < 1 || n > 3660)
      throw new RangeError(`--period-days: expected an integer in 1..3660, got ${JSON.stringify(options.periodDays)}`);
    settings.periodDays = n;
  }
  if (options.anchor !== undefined) {
    const ms = Date.parse(options.anchor);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.anchor) || Number.isNaN(ms) || ms < 0)
      throw new RangeError(`--anchor: expected an ISO 8601 date from 1970 on, like 2025-01-01, got ${JSON.stringify(options.anchor)}`);
    settings.anchor = ms;
  }
  return withVault(options, async ({ vault }) => {
    await vault.setBudget(settings);
    return budgetResult(vault.budget());
  });
}

export function formatBudget(r: BudgetResult): string {
  const row = (label: string, value: string): string => `${label.padEnd(10)} ${value}`;
  const lines = [
    row("allowance", `epsilon ${r.allowance} per ${r.settings.periodDays} days (periods from ${iso(r.settings.anchor)})`),
    row("period", `${iso(r.period.start)} to ${iso(r.period.end)}`),
    row("used", r.used),
    row("remaining", r.remaining),
  ];
  if (r.entries.length === 0) lines.push(row("ledger", "(nothing this period)"));
  for (const [i, e] of r.entries.entries())
    lines.push(row(i === 0 ? "ledger" : "", `${iso(e.time)}  ${e.jobKey}  ${e.epsilon}  ${e.state}`));
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// guardians

export interface WhoamiResult {
  /** The guardian public key to give a friend who wants this vault as a guardian: 0x and 66 hex characters. */
  publicKey: string;
  address: string;
  /** This vault's own account id: what a new device names in 'recover request'. */
  accountId: string;
}

/** This vault's guardian key, and its own account id. */
export async function guardiansWhoami(access: VaultAccess): Promise<WhoamiResult> {
  return withVault(access, async ({ vault }) => {
    const key = guardianKeyOf(vault);
    return { publicKey: hex0x(key.publicKey), address: key.address, accountId: hex0x(accountIdOf(vault.rootSeed)) };
  });
}

export function formatWhoami(r: WhoamiResult): string {
  return [
    `guardian key  ${r.publicKey}`,
    `address       ${r.address}`,
    `account id    ${r.accountId}`,
    "",
    "Give the guardian key to a friend who wants you as a guardian: they run",
    `  mosaic vault guardians add ${r.publicKey} --label <your name>`,
    "Note the account id somewhere safe: a new device asks your guardians to recover it ('mosaic vault recover request').",
  ].join("\n");
}

export interface GuardianInfoResult {
  address: string;
  publicKey: string;
  label: string;
  /** Unix ms. */
  added: number;
}

/** Adds a guardian to the private list. */
export async function guardiansAdd(options: VaultAccess & { publicKey: string; label: string }): Promise<GuardianInfoResult> {
  if (!HEX33.test(options.publicKey))
    throw new TypeError(
      `publicKey: expected 0x and 66 hex characters (the key 'mosaic vault guardians whoami' prints), got ${JSON.stringify(options.publicKey)}`,
    );
  return withVault(options, async ({ vault }) => {
    const g = await addGuardian(vault, { publicKey: options.publicKey, label: options.label });
    return { address: g.address, publicKey: g.publicKey, label: g.label, added: g.added };
  });
}

export function formatGuardianAdded(r: GuardianInfoResult): string {
  return `added guardian ${r.label} (${r.address}); run 'mosaic vault guardians protect' to split the seed among the list`;
}

export interface GuardianRemoveResult {
  removed: string;
  label: string;
  /** Guardians left in the list. */
  remaining: number;
}

/** Removes a guardian from the private list. */
export async function guardiansRemove(options: VaultAccess & { address: string }): Promise<GuardianRemoveResult> {
  if (!isAddress(options.address))
    throw new TypeError(
      `address: expected a guardian's address (0x and 40 hex characters, as 'mosaic vault guardians list' shows), got ${JSON.stringify(options.address)}`,
    );
  const address = getAddress(options.address);
  return withVault(options, async ({ vault }) => {
    const label = listGuardians(vault).find((g) => g.address === address)?.label ?? "";
    await removeGuardian(vault, address);
    return { removed: address, label, remaining: listGuardians(vault).length };
  });
}

export function formatGuardianRemoved(r: GuardianRemoveResult): string {
  return (
    `removed guardian ${r.label} (${r.removed}); ${r.remaining} left. The shares already handed out still work until you ` +
    "run 'mosaic vault guardians protect' again"
  );
}

export interface GuardiansListResult {
  guardians: GuardianInfoResult[];
  /** The protection in force, from the last 'protect'. */
  protection: {
    accountId: string;
    threshold: number;
    guardiansHash: string;
    guardians: string[];
    /** Unix ms. */
    created: number;
    /** The list still names exactly the guardians the seed was split among. */
    current: boolean;
  } | null;
  /** The accounts this vault guards. */
  guardianships: { accountId: string; from: string; index: number; packageCid: string; accepted: number }[];
}

/** The private guardian list, the protection in force, and the accounts this vault guards. */
export async function guardiansList(access: VaultAccess): Promise<GuardiansListResult> {
  return withVault(access, async ({ vault }) => {
    const guardians = listGuardians(vault).map((g) => ({ address: g.address, publicKey: g.publicKey, label: g.label, added: g.added }));
    const setup = recoverySetup(vault);
    const split = setup?.invitations.map((i) => i.guardian) ?? [];
    const same = (a: string[], b: string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
    return {
      guardians,
      protection:
        setup === undefined
          ? null
          : {
              accountId: setup.accountId,
              threshold: setup.threshold,
              guardiansHash: setup.guardiansHash,
              guardians: split,
              created: setup.created,
              current: same(
                split,
                guardians.map((g) => g.address),
              ),
            },
      guardianships: listGuardianships(vault).map((g) => ({
        accountId: g.accountId,
        from: g.from,
        index: g.index,
        packageCid: g.packageCid,
        accepted: g.accepted,
      })),
    };
  });
}

export function formatGuardiansList(r: GuardiansListResult): string {
  const row = (label: string, value: string): string => `${label.padEnd(12)} ${value}`;
  const lines: string[] = [];
  if (r.guardians.length === 0) lines.push(row("guardians", "(none: add some with 'mosaic vault guardians add')"));
  for (const [i, g] of r.guardians.entries()) lines.push(row(i === 0 ? "guardians" : "", `${g.label}  ${g.address}`));
  const p = r.protection;
  if (p === null) lines.push(row("protection", "none: run 'mosaic vault guardians protect'"));
  else {
    lines.push(row("protection", `${p.threshold} of ${p.guardians.length} guardians, since ${iso(p.created)}`));
    lines.push(row("", `guardians hash ${p.guardiansHash}`), row("", `account id ${p.accountId}`));
    if (!p.current) lines.push(row("", "the list changed since: run 'mosaic vault guardians protect' again"));
  }
  if (r.guardianships.length === 0) lines.push(row("you guard", "(no one)"));
  for (const [i, g] of r.guardianships.entries())
    lines.push(row(i === 0 ? "you guard" : "", `${g.from}  ${g.accountId}  (share ${g.index}, since ${iso(g.accepted)})`));
  return lines.join("\n");
}

export interface ProtectOptions extends VaultAccess {
  threshold: string;
  /** The name the guardians will see for this vault. */
  from: string;
  /** Where the invitation files go (created if missing). */
  outDir: string;
  /** Anchor the guardians hash on-chain too. @default undefined: no chain */
  chain?: ChainFlags & { walletKeyFile: string };
}

export interface ProtectResult {
  accountId: string;
  threshold: number;
  guardiansHash: string;
  invitations: { guardian: string; label: string; index: number; file: string }[];
  /** What happened on-chain: the account was registered, or the new guardian set proposed; null without the chain. */
  anchored: "registered" | "proposed" | null;
}

/** Splits the seed among the listed guardians and writes one invitation file per guardian. */
export async function guardiansProtect(options: ProtectOptions): Promise<ProtectResult> {
  const threshold = Number(options.threshold);
  if (!/^\d+$/.test(options.threshold) || threshold < MIN_GUARDIANS || threshold > 255)
    throw new RangeError(
      `--threshold: expected an integer from ${MIN_GUARDIANS} to the number of guardians, got ${JSON.stringify(options.threshold)}`,
    );
  if (options.from.length === 0 || options.from.length > 64)
    throw new TypeError(`--from: expected the name your guardians know you by, 1..64 characters, got ${options.from.length}`);
  const outDir = path.resolve(options.outDir);
  return withVault(options, async ({ vault }) => {
    const guardians = listGuardians(vault);
    if (guardians.length < MIN_GUARDIANS)
      throw new RangeError(
        `guardians: the list has ${guardians.length}; add at least ${MIN_GUARDIANS} with 'mosaic vault guardians add <key> --label NAME' first`,
      );
    const blocks = new MemoryBlockstore();
    const init = { threshold, from: options.from };
    let anchored: ProtectResult["anchored"] = null;
    const setup =
      options.chain === undefined
        ? await protectVault(vault, { blocks }, init)
        : await withRecoveryContract(options.chain, async (recovery) => {
            const owner = await recovery.ownerOf(hex0x(accountIdOf(vault.rootSeed)));
            anchored = owner === ZeroAddress ? "registered" : "proposed";
            return protectVault(vault, { blocks, recovery }, init);
          });
    await mkdir(outDir, { recursive: true });
    const labels = new Map(guardians.map((g) => [g.address, g.label]));
    const invitations: ProtectResult["invitations"] = [];
    for (const inv of setup.invitations) {
      const file = path.join(outDir, `invitation-${inv.guardian}.json`);
      const body = { format: FILE_FORMATS.invitation, ...inv, package: await blockBase64(blocks, inv.packageCid) };
      await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
      invitations.push({ guardian: inv.guardian, label: labels.get(inv.guardian) ?? "", index: inv.index, file });
    }
    return { accountId: setup.accountId, threshold: setup.threshold, guardiansHash: setup.guardiansHash, invitations, anchored };
  });
}

export function formatProtect(r: ProtectResult): string {
  const lines = [`split the seed ${r.threshold} of ${r.invitations.length}; send each guardian their invitation:`];
  for (const i of r.invitations) lines.push(`  ${i.label.padEnd(16)} ${i.file}`);
  lines.push(`Each runs 'mosaic vault guardians accept <invitation file>' on their own vault.`);
  lines.push(`account id      ${r.accountId}`, `guardians hash  ${r.guardiansHash}`);
  if (r.anchored === "registered") lines.push("on-chain: registered the account with this guardian set");
  else if (r.anchored === "proposed")
    lines.push("on-chain: proposed the new guardian set; it takes effect after the account's guardian delay");
  else
    lines.push(
      "on-chain: nothing (no --rpc): a recovering device cannot check the guardian set against the chain, and the account's ownership is not recoverable on-chain",
    );
  return lines.join("\n");
}

export interface AcceptResult {
  accountId: string;
  from: string;
  index: number;
  /** This vault's guardian address. */
  guardian: string;
}

/** Accepts an invitation: checks the inline package against its CID and that it opens with this vault's guardian key, and keeps it. */
export async function guardiansAccept(options: VaultAccess & { invitation: string }): Promise<AcceptResult> {
  const file = path.resolve(options.invitation);
  const v = await readMosaicFile(file, "invitation");
  const index = v.index;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 254)
    throw new TypeError(`${file}: index: expected an integer in 0..254, got ${JSON.stringify(index)}`);
  const invitation: Invitation = {
    accountId: stringField(v, "accountId", file, hex32, "0x and 64 hex characters"),
    guardian: stringField(v, "guardian", file, isAddress, "an address"),
    index,
    packageCid: stringField(v, "packageCid", file, anyText, "a CID"),
    from: stringField(v, "from", file, (s) => s.length > 0 && s.length <= 64, "a name of 1..64 characters"),
  };
  const { cid, bytes } = inlineBlock(invitation.packageCid, stringField(v, "package", file, base64, "base64"), `${file}: package`);
  return withVault(options, async ({ stores, vault }) => {
    const blocks = new MemoryBlockstore();
    await blocks.put(cid, bytes);
    const g = await acceptGuardianship(vault, blocks, invitation);
    // The package is needed again to approve a recovery; this device's blockstore keeps it.
    await stores.blockstore.put(cid, bytes);
    return { accountId: g.accountId, from: g.from, index: g.index, guardian: guardianKeyOf(vault).address };
  });
}

export function formatAccept(r: AcceptResult): string {
  return (
    `you now guard ${r.from}'s vault (account ${r.accountId}, share ${r.index}) as ${r.guardian}.\n` +
    `If ${r.from} loses their devices, they will send you a recovery request: confirm it with them, then run 'mosaic vault recover approve'`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// recover

export interface RecoverRequestOptions {
  /** The account id to recover (0x and 64 hex characters). */
  account: string;
  /** The request file to write; the device key goes to `<out>.key`. */
  out: string;
  /** The address that becomes the account's owner on-chain. @default a fresh wallet, its key saved to `<out>.owner.key` */
  newOwner?: string;
  /** Seconds the guardians' on-chain approvals stay good for, from now. @default DEFAULT_APPROVAL_LIFETIME (7 days) */
  validFor?: number;
}

export interface RecoverRequestResult {
  request: string;
  /** The device's private key: keep it until 'recover complete'. */
  deviceKey: string;
  accountId: string;
  devicePublicKey: string;
  newOwner: string;
  /** Unix seconds: the approvals' on-chain signatures are void after it. */
  expiresAt: number;
  /** The new owner wallet's key file, when one was made. */
  ownerKey?: string;
  /** Read it to each guardian: they see the same code when they approve. */
  code: string;
}

/** On the new device: makes a one-off device key and writes the request the guardians approve. */
export async function recoverRequest(options: RecoverRequestOptions): Promise<RecoverRequestResult> {
  if (!HEX32.test(options.account))
    throw new TypeError(
      `--account: expected the account id, 0x and 64 hex characters ('mosaic vault guardians whoami' shows it), got ${JSON.stringify(options.account)}`,
    );
  if (options.newOwner !== undefined && !isAddress(options.newOwner))
    throw new TypeError(`--new-owner: expected an address (0x and 40 hex characters), got ${JSON.stringify(options.newOwner)}`);
  const validFor = options.validFor ?? DEFAULT_APPROVAL_LIFETIME;
  if (!Number.isSafeInteger(validFor) || validFor <= 0)
    throw new RangeError(`validFor: expected a positive number of seconds, got ${JSON.stringify(options.validFor)}`);
  const out = path.resolve(options.out);
  const keyFile = `${out}.key`;
  const ownerKeyFile = `${out}.owner.key`;
  const files = options.newOwner === undefined ? [out, keyFile, ownerKeyFile] : [out, keyFile];
  for (const f of files) if (await exists(f)) throw new OutputExistsError(`${f} already exists: move it away or pass another --out`);
  const key = deviceKey();
  const owner = options.newOwner === undefined ? Wallet.createRandom() : undefined;
  const request: RecoveryRequestMessage = {
    accountId: options.account.toLowerCase(),
    devicePublicKey: hex0x(key.publicKey),
    newOwner: owner?.address ?? getAddress(options.newOwner as string),
    expiresAt: Math.floor(Date.now() / 1000) + validFor,
  };
  // The keys first: a request on disk always has its key beside it.
  await writeNew(keyFile, `${Buffer.from(key.privateKey).toString("hex")}\n`, 0o600);
  key.privateKey.fill(0);
  if (owner !== undefined) await writeNew(ownerKeyFile, `${owner.privateKey}\n`, 0o600);
  await writeNew(out, `${JSON.stringify({ format: FILE_FORMATS.request, ...request }, null, 2)}\n`, 0o644);
  const result: RecoverRequestResult = { request: out, deviceKey: keyFile, ...request, code: requestCode(request) };
  if (owner !== undefined) result.ownerKey = ownerKeyFile;
  return result;
}

export function formatRecoverRequest(r: RecoverRequestResult): string {
  const lines = [`wrote the recovery request ${r.request}`, `device key      ${r.deviceKey} (keep it until 'recover complete')`];
  if (r.ownerKey !== undefined) lines.push(`new owner       ${r.newOwner} (a fresh wallet; its key is in ${r.ownerKey})`);
  else lines.push(`new owner       ${r.newOwner}`);
  lines.push(
    `check code      ${r.code}`,
    `expires         ${new Date(r.expiresAt * 1000).toISOString()} (the guardians' on-chain approvals are void after it)`,
    "",
    "Send the request to your guardians and read them the check code; each runs",
    `  mosaic vault recover approve ${path.basename(r.request)} --out approval.json`,
    "and sends the approval back. With enough of them, run",
    `  mosaic vault recover complete --request ${r.request} --approvals <approval files>`,
  );
  return lines.join("\n");
}

async function readRequest(file: string): Promise<RecoveryRequestMessage> {
  const v = await readMosaicFile(file, "request");
  return {
    accountId: stringField(v, "accountId", file, hex32, "0x and 64 hex characters").toLowerCase(),
    devicePublicKey: stringField(v, "devicePublicKey", file, hex33, "0x and 66 hex characters").toLowerCase(),
    newOwner: getAddress(stringField(v, "newOwner", file, isAddress, "an address")),
    expiresAt: unixSeconds(v, file),
  };
}

function unixSeconds(v: Record<string, unknown>, file: string): number {
  const e = v.expiresAt;
  if (typeof e !== "number" || !Number.isSafeInteger(e) || e <= 0)
    throw new TypeError(`${file}: expiresAt: expected unix seconds, a positive integer, got ${JSON.stringify(e)}`);
  return e;
}

export interface RecoverApproveOptions extends VaultAccess {
  /** The request file from the recovering device. */
  request: string;
  /** The approval file to write. */
  out: string;
  /** Sign the approval for the chain: the approval hash is read from the contract. @default undefined: unsigned */
  chain?: Omit<ChainFlags, "walletKeyFile">;
}

export interface RecoverApproveResult {
  out: string;
  accountId: string;
  /** Who the guardianship names as the account's owner. */
  from: string;
  guardian: string;
  newOwner: string;
  code: string;
  /** The approval carries an on-chain signature. */
  signed: boolean;
}

/** A guardian approves a recovery request: its share re-sealed to the device, inline, and (with the chain) signed. */
export async function recoverApprove(options: RecoverApproveOptions): Promise<RecoverApproveResult> {
  const request = await readRequest(path.resolve(options.request));
  const out = path.resolve(options.out);
  return withVault(options, async ({ stores, vault }) => {
    const from = listGuardianships(vault).find((g) => g.accountId === request.accountId)?.from ?? "";
    const fresh = new MemoryBlockstore();
    // The share package is read from this device's blockstore (where 'accept' left it); the approval goes to memory.
    const blocks: Parameters<typeof approveRecoveryRequest>[1]["blocks"] = {
      get: (cid, o) => stores.blockstore.get(cid, o),
      put: (cid, bytes, o) => fresh.put(cid, bytes, o),
    };
    const approve = (recovery?: VaultRecovery): Promise<RecoveryApproval> =>
      approveRecoveryRequest(vault, { blocks, recovery }, request).catch((err: unknown) => {
        if (!(err instanceof BlockUnavailableError)) throw err;
        throw new BlockUnavailableError(
          `the share package for account ${request.accountId} is not on this device (accepted on another device of this vault?): ` +
            "run 'mosaic vault guardians accept <invitation file>' here again, then approve",
        );
      });
    const approval = options.chain === undefined ? await approve() : await withRecoveryContract(options.chain, approve);
    const body = {
      format: FILE_FORMATS.approval,
      ...request,
      guardian: approval.guardian,
      approvalCid: approval.approvalCid,
      approval: await blockBase64(fresh, approval.approvalCid),
      signature: approval.signature ?? null,
    };
    await writeFile(out, `${JSON.stringify(body, null, 2)}\n`);
    return {
      out,
      accountId: request.accountId,
      from,
      guardian: approval.guardian,
      newOwner: request.newOwner,
      code: requestCode(request),
      signed: approval.signature !== undefined,
    };
  });
}

export function formatRecoverApprove(r: RecoverApproveResult): string {
  const lines = [
    `approved the recovery of ${r.from}'s vault (account ${r.accountId}) as guardian ${r.guardian}`,
    `check code ${r.code}: send ${r.out} only if ${r.from} reads you the same code`,
  ];
  if (!r.signed)
    lines.push(
      "not signed for the chain (no --rpc): it rebuilds the vault on the new device, but cannot move the account's ownership on-chain",
    );
  return lines.join("\n");
}

export interface RecoverCompleteOptions extends VaultAccess {
  request: string;
  approvals: string[];
  /** The new vault's device name. @default the host name */
  device?: string;
  scryptN?: number;
  /** Check the guardian set against the chain and start the on-chain recovery. @default undefined: offline */
  chain?: ChainFlags & { walletKeyFile: string };
  /** Where warnings go. @default stderr */
  warn?: (line: string) => void;
}

export interface RecoverCompleteResult extends InitResult {
  accountId: string;
  /** Guardian indexes whose shares rebuilt the seed. */
  used: number[];
  rejected: { file: string; index?: number; error: { name: string; message: string } }[];
  /** The guardian set was checked against the guardians hash on-chain. */
  guardiansChecked: boolean;
  /** The on-chain recovery started, with chain flags. */
  recovery: { contract: string; newOwner: string; executableAt: number } | null;
}

interface LoadedApproval {
  file: string;
  sealed: Uint8Array;
  approval: RecoveryApproval;
  newOwner: string;
}

async function readApproval(file: string, request: RecoveryRequestMessage): Promise<LoadedApproval> {
  const v = await readMosaicFile(file, "approval");
  const accountId = stringField(v, "accountId", file, hex32, "0x and 64 hex characters").toLowerCase();
  const devicePublicKey = stringField(v, "devicePublicKey", file, hex33, "0x and 66 hex characters").toLowerCase();
  if (accountId !== request.accountId || devicePublicKey !== request.devicePublicKey)
    throw new UnrecognisedFileError(
      `${file}: approves another recovery request (account ${accountId}, device key ${devicePublicKey.slice(0, 12)}…): ` +
        "ask that guardian to approve this request",
    );
  const approvalCid = stringField(v, "approvalCid", file, anyText, "a CID");
  const { bytes } = inlineBlock(approvalCid, stringField(v, "approval", file, base64, "base64"), `${file}: approval`);
  const sealed = decodeCbor(bytes);
  if (!(sealed instanceof Uint8Array)) throw new UnrecognisedFileError(`${file}: approval: expected a byte string block`);
  const signature = v.signature;
  if (signature !== null && (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)))
    throw new TypeError(`${file}: signature: expected null or a 65-byte signature as 0x hex, got ${JSON.stringify(signature)}`);
  const approval: RecoveryApproval = { guardian: getAddress(stringField(v, "guardian", file, isAddress, "an address")), approvalCid };
  if (signature !== null) {
    approval.signature = signature;
    approval.expiresAt = unixSeconds(v, file);
  }
  return { file, sealed, approval, newOwner: getAddress(stringField(v, "newOwner", file, isAddress, "an address")) };
}

async function readDeviceKey(requestFile: string): Promise<Uint8Array> {
  const file = `${requestFile}.key`;
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new DeviceKeyMissingError(
      `${file} is missing: 'mosaic vault recover request' writes the device key beside the request; complete the recovery on the device that made the request`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new TypeError(`${file}: expected a device private key, 64 hex characters`);
  return Uint8Array.from(Buffer.from(text, "hex"));
}

/** On the new device: rebuilds the seed from the guardians' approvals and creates the vault from it. */
export async function recoverComplete(options: RecoverCompleteOptions): Promise<RecoverCompleteResult> {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const requestFile = path.resolve(options.request);
  const request = await readRequest(requestFile);
  const privateKey = await readDeviceKey(requestFile);
  const key = guardianKeyFromPrivateKey(privateKey);
  privateKey.fill(0);
  if (hex0x(key.publicKey) !== request.devicePublicKey)
    throw new TypeError(
      `${requestFile}.key: not the key of the request's devicePublicKey ${request.devicePublicKey}; it belongs to another request`,
    );
  const loaded: LoadedApproval[] = [];
  for (const file of options.approvals) loaded.push(await readApproval(path.resolve(file), request));
  const dir = path.resolve(options.dir ?? DEFAULT_VAULT_DIR);
  if (await exists(path.join(dir, "seed.json")))
    throw new VaultExistsError(`${path.join(dir, "seed.json")} already exists: pass another --dir for the recovered vault`);

  const combine = async (guardiansHash?: string) => {
    try {
      return await combineApprovals(
        key,
        loaded.map((a) => a.sealed),
        { accountId: Uint8Array.from(Buffer.from(request.accountId.slice(2), "hex")), guardiansHash },
      );
    } catch (err) {
      if (err instanceof ThresholdNotMetError || err instanceof GuardiansMismatchError)
        for (const line of describeRejected(err.rejected, loaded)) warn(line);
      throw err;
    }
  };

  let combined: Awaited<ReturnType<typeof combine>>;
  let recovery: RecoverCompleteResult["recovery"] = null;
  if (options.chain === undefined) {
    warn("warning: the guardian set is not checked against the chain (no --rpc): approvals are trusted to carry the right guardian config");
    combined = await combine();
  } else {
    const chain = options.chain;
    combined = await withRecoveryContract(chain, async (contract) => {
      if ((await contract.ownerOf(request.accountId)) === ZeroAddress)
        throw new AccountNotRegisteredError(
          `account ${request.accountId} is not registered on the recovery contract ${chain.recovery}: check --recovery and the network, or complete without the chain flags`,
        );
      const expected = await contract.guardiansHashOf(request.accountId);
      if (expected === ZeroHash)
        throw new AccountNotRegisteredError(`account ${request.accountId} has no guardian set on ${chain.recovery}`);
      const c = await combine(expected);
      const signed = loaded.filter((a) => a.approval.signature !== undefined);
      if (signed.length < c.config.threshold)
        throw new UnsignedApprovalError(
          `only ${signed.length} of the approvals carry an on-chain signature, the account needs ${c.config.threshold}: ask the guardians to ` +
            "approve again with --rpc and --recovery, or complete without the chain flags to rebuild the vault only",
        );
      for (const a of signed) {
        if (a.newOwner !== request.newOwner)
          throw new UnrecognisedFileError(`${a.file}: signed for new owner ${a.newOwner}, but the request names ${request.newOwner}`);
        if (a.approval.expiresAt !== request.expiresAt)
          throw new UnrecognisedFileError(
            `${a.file}: signed until ${a.approval.expiresAt}, but the request expires at ${request.expiresAt}: it answers another request`,
          );
      }
      // A run that started the recovery but failed after (say, at the passphrase) may simply be repeated.
      const [pendingOwner, pendingAt] = await contract.pendingRecoveryOf(request.accountId);
      const executableAt =
        pendingOwner === request.newOwner
          ? pendingAt
          : (
              await startRecovery(
                contract,
                c.config,
                request.newOwner,
                signed.map((a) => a.approval),
              )
            ).executableAt;
      recovery = { contract: getAddress(chain.recovery), newOwner: request.newOwner, executableAt: Number(executableAt) };
      return c;
    });
  }
  try {
    const init = await initVault({
      dir,
      passphraseFile: options.passphraseFile,
      device: options.device,
      seed: combined.seed,
      scryptN: options.scryptN,
    });
    return {
      ...init,
      accountId: request.accountId,
      used: combined.used,
      rejected: combined.rejected.map((r) => ({
        file: loaded[r.position]?.file ?? `#${r.position}`,
        ...(r.index === undefined ? {} : { index: r.index }),
        error: { name: r.error.name, message: r.error.message },
      })),
      guardiansChecked: options.chain !== undefined,
      recovery,
    };
  } finally {
    combined.seed.fill(0);
  }
}

function describeRejected(rejected: readonly RejectedApproval[], loaded: readonly LoadedApproval[]): string[] {
  return rejected.map((r) => {
    const who = r.index === undefined ? "" : ` (guardian ${r.index})`;
    return `rejected ${loaded[r.position]?.file ?? `approval #${r.position}`}${who}: ${r.error.name}: ${r.error.message}`;
  });
}

export function formatRecoverComplete(r: RecoverCompleteResult): string {
  const lines = [
    `recovered the seed from guardians ${r.used.join(", ")} and created a vault in ${r.dir}`,
    `device   ${r.device}`,
    `thread   ${r.thread}`,
    `own log  ${r.ownLog}`,
  ];
  for (const x of r.rejected)
    lines.push(`rejected ${x.file}${x.index === undefined ? "" : ` (guardian ${x.index})`}: ${x.error.name}: ${x.error.message}`);
  if (r.recovery !== null)
    lines.push(
      `on-chain: recovery to ${r.recovery.newOwner} started; anyone may call completeRecovery(${r.accountId}) on ${r.recovery.contract} ` +
        `from ${new Date(r.recovery.executableAt * 1000).toISOString()}`,
    );
  lines.push(
    "",
    "The vault is empty: its data is with your other devices or a replicator. Pull it with",
    `  mosaic vault import --dir ${r.dir} --peer <address of a 'mosaic vault serve' or replicator>`,
  );
  return lines.join("\n");
}
