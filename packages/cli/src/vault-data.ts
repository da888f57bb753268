// `mosaic vault` on what the vault holds and who can restore it: abilities, location imports, consents, audit, budget, guardians, recovery.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { attachVaultRecovery, BlockUnavailableError, to0xHex, type VaultRecovery } from "@mosaic/protocol";
import {
  acceptInvitation,
  accountIdOf,
  addGuardian,
  type ApprovalFile,
  approveRecoveryRequest,
  type BudgetSettings,
  type BudgetStatus,
  type CompletedRecovery,
  type ConsentRecord,
  collectionName,
  completeRecovery,
  DEFAULT_VAULT_DIR,
  type Epsilon,
  exists,
  formatEpsilon,
  GuardiansMismatchError,
  guardianKeyOf,
  LOCATION_FORMAT_LABELS,
  LOCATION_FORMATS,
  type LocationFormat,
  LocationFileTooLargeError,
  listGuardians,
  listGuardianships,
  MAX_LOCATION_FILE_BYTES,
  MIN_GUARDIANS,
  protectVault,
  type RecoveryApproval,
  type RejectedApproval,
  readApprovalFile,
  readDeviceKeyFile,
  readInvitationFile,
  readRecoveryRequestFile,
  recoverySetup,
  removeGuardian,
  requestCode,
  ThresholdNotMetError,
  VaultExistsError,
  vaultPaths,
  writeApprovalFile,
  writeInvitationFiles,
  writeRecoveryRequestFiles,
} from "@mosaic/vault";
import { MemoryBlockstore } from "blockstore-core";
import { getAddress, isAddress, ZeroAddress } from "ethers";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { type InitResult, initVault, type VaultAccess, withProgress, withVault } from "./vault.js";

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The recovery contract refused a transaction; `reason` is the contract's error name (NotOwner, RecoveryAlreadyPending, ...). */
export class RecoveryContractError extends contractRefusal("RecoveryContractError") {}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const HEX33 = /^0x[0-9a-fA-F]{66}$/;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function gcd(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return x === 0 ? 1 : x;
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
  const what = `${r.file} (${LOCATION_FORMAT_LABELS[r.format]})`;
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
    return { publicKey: to0xHex(key.publicKey), address: key.address, accountId: to0xHex(accountIdOf(vault.rootSeed)) };
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
            const owner = await recovery.ownerOf(to0xHex(accountIdOf(vault.rootSeed)));
            anchored = owner === ZeroAddress ? "registered" : "proposed";
            return protectVault(vault, { blocks, recovery }, init);
          });
    await mkdir(outDir, { recursive: true });
    const labels = new Map(guardians.map((g) => [g.address, g.label]));
    const invitations: ProtectResult["invitations"] = (await writeInvitationFiles(outDir, setup.invitations, blocks)).map(
      ({ invitation, file }) => ({
        guardian: invitation.guardian,
        label: labels.get(invitation.guardian) ?? "",
        index: invitation.index,
        file,
      }),
    );
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
  const invitation = await readInvitationFile(file);
  return withVault(options, async ({ stores, vault }) => {
    const g = await acceptInvitation(vault, stores.blockstore, invitation);
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
  const out = path.resolve(options.out);
  const made = await writeRecoveryRequestFiles(out, { accountId: options.account, newOwner: options.newOwner, validFor: options.validFor });
  const result: RecoverRequestResult = { request: out, deviceKey: made.deviceKeyFile, ...made.request, code: requestCode(made.request) };
  if (made.ownerKeyFile !== undefined) result.ownerKey = made.ownerKeyFile;
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
  const request = await readRecoveryRequestFile(path.resolve(options.request));
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
    await writeApprovalFile(out, request, approval, fresh);
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

/** On the new device: rebuilds the seed from the guardians' approvals and creates the vault from it. */
export async function recoverComplete(options: RecoverCompleteOptions): Promise<RecoverCompleteResult> {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const requestFile = path.resolve(options.request);
  const request = await readRecoveryRequestFile(requestFile);
  const key = await readDeviceKeyFile(requestFile, request);
  const loaded: ApprovalFile[] = [];
  for (const file of options.approvals) loaded.push(await readApprovalFile(path.resolve(file), request));
  const dir = path.resolve(options.dir ?? DEFAULT_VAULT_DIR);
  const seedFile = vaultPaths(dir).seed;
  if (await exists(seedFile)) throw new VaultExistsError(`${seedFile} already exists: pass another --dir for the recovered vault`);

  if (options.chain === undefined)
    warn("warning: the guardian set is not checked against the chain (no --rpc): approvals are trusted to carry the right guardian config");
  let completed: CompletedRecovery;
  try {
    const chain = options.chain;
    completed =
      chain === undefined
        ? await completeRecovery(key, request, loaded)
        : await withRecoveryContract(chain, (recovery) => completeRecovery(key, request, loaded, { recovery, address: chain.recovery }));
  } catch (err) {
    if (err instanceof ThresholdNotMetError || err instanceof GuardiansMismatchError)
      for (const line of describeRejected(err.rejected, loaded)) warn(line);
    throw err;
  }
  const { combined, recovery } = completed;
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

function describeRejected(rejected: readonly RejectedApproval[], loaded: readonly ApprovalFile[]): string[] {
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
