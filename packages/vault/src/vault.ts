// A person's vault: abilities over an encrypted thread, the consent screen, the one egress gate with its audit log, and the privacy budget.
import * as dagCbor from "@ipld/dag-cbor";
import { type AnySubmission, decodeSubmission, deriveAvatarIdentity, type Identity } from "@mosaic/avatar";
import { clampToOutput, describeProgram, privatize, runMapProgram } from "@mosaic/mapreduce";
import { ConsentRequiredError, CID, type JobMode, type JobRef, type JobSpec, toBareHex, equalBytes } from "@mosaic/protocol";
import { type Collection, type Doc, deriveThreadSecrets, type Thread, Thread as ThreadClass, type ThreadStores } from "@mosaic/threads";
import { sha256 } from "@noble/hashes/sha2";
import {
  AbilityContext,
  type AbilityDefinition,
  type AbilityEventName,
  type AbilityManifest,
  abilityCollections,
  checkAbilitySet,
  collectionName,
  defineAbility,
  VAULT_NAMESPACE,
} from "./ability.js";
import { BUILTIN_ABILITIES } from "./abilities/index.js";
import type { LocationFormat } from "./location/index.js";
import {
  checkLocations,
  type ImportResult,
  importLocationFile,
  LOCATION_HISTORY,
  readLocations,
  type StoreResult,
  storeLocations,
} from "./abilities/location-history.js";
import type { LocationPoint } from "@mosaic/mapreduce";
import {
  type BudgetSettings,
  type BudgetStatus,
  budgetStatus,
  DEFAULT_BUDGET,
  type Epsilon,
  fitsBudget,
  formatEpsilon,
  jobPrivacyCost,
  type LedgerEntry,
  validateBudgetSettings,
} from "./budget.js";
import {
  AlreadySubmittedError,
  ConsentWithdrawnError,
  EgressMismatchError,
  PrivacyBudgetExceededError,
  UnknownAbilityError,
} from "./errors.js";
import {
  aggregatorKeyFingerprint,
  type ConsentedAggregator,
  checkAggregatorKeys,
  checkSharedSpec,
  type JobAggregator,
  modeDisclosure,
  modeOf,
} from "./shared-mode.js";

/** The thread every device of a vault shares. */
export const VAULT_THREAD = "vault";

/** What the user is shown before anything runs, and the exact output that would leave. */
export interface ConsentRequest {
  jobKey: string;
  requester: string;
  title: string;
  purpose: string;
  /** The data the program reads: abilities and fields, as the spec declares and the vault enforces. */
  reads: JobSpec["reads"];
  program: JobSpec["program"];
  /** The program in plain words (a pipeline) or its source (a sandboxed program), line by line. */
  programText: string[];
  /** sha256 of the program's dag-cbor: what the audit log records. */
  programHash: string;
  /**
   * The output before noise (stays in the vault) and the exact payload that would be sent: noised (local mode), or
   * clamped and exact, to be split in two encrypted shares (shared mode).
   */
  preview: { raw: number[]; payload: number[]; unit: string; labels: string[] };
  /** How the answer is aggregated and noised: on this device (local) or by two aggregators (shared). */
  mode: JobMode;
  /** What the mode does with the answer, in the words the user is shown (modeDisclosure). */
  disclosure: string[];
  /** Shared mode: the two aggregators the answer's shares go to, as shown (when review was given them). */
  aggregators?: ConsentedAggregator[];
  /** The ε the spec declares. */
  epsilon: JobSpec["privacy"]["epsilon"];
  /** The ε the privacy ledger charges for this job (what its noise really gives; jobPrivacyCost). */
  charge: Epsilon;
  mechanism: JobSpec["privacy"]["mechanism"];
  /** The privacy budget before and after this job, as exact fractions. */
  budget: { remaining: string; after: string; fits: boolean; resetsAt: number };
  /** What the abilities reported about the job (e.g. days with data), by ability. */
  notes: Record<string, unknown>;
}

/** A consent: the exact payload the user agreed to send for a job, and where it stands. */
export interface ConsentRecord extends Doc {
  jobKey: string;
  title: string;
  requester: string;
  purpose: string;
  programHash: string;
  fieldsRead: string[];
  /** Local mode: the noised payload. Shared mode: the exact clamped answer, which leaves only as two encrypted shares. */
  payload: number[];
  /** The ε charged to the ledger. */
  epsilon: { num: number; den: number };
  /** The job's mode when consented; absent in records from before modes (local). */
  mode?: JobMode;
  /** What the user was told the mode does with their answer (modeDisclosure); absent in records from before modes. */
  disclosure?: string[];
  /** Shared mode: the aggregators consented to; the answer's shares go to exactly these keys or not at all. */
  aggregators?: ConsentedAggregator[];
  granted: number;
  withdrawn?: number;
  submitted?: number;
}

/** One record of bytes that left the vault. */
export interface AuditEntry extends Doc {
  jobKey: string;
  purpose: string;
  requester: string;
  fieldsRead: string[];
  programHash: string;
  /** Hex of the exact bytes sent. */
  bytes: string;
  /** sha256 of those bytes, hex. */
  bytesHash: string;
  time: number;
  /** Set for a shared-mode answer: the bytes are an envelope v2, two encrypted shares, never the clear answer. */
  mode?: "shared";
  /** The submission block's CID (shared mode). */
  cid?: string;
  /** The fingerprints (aggregatorKeyFingerprint) of the two aggregators' keys the shares were encrypted to (shared mode). */
  aggregators?: string[];
}

/** What a shared-mode answer tells the egress gate about the bytes it offers. */
export interface SharedEgress {
  mode: "shared";
  /** The envelope v2's CID: its multihash must be the sha-256 of the bytes. */
  cid: string;
  /** The job's two aggregators' X25519 keys, share 0's first. */
  aggregatorKeys: readonly Uint8Array[];
}

export interface VaultInit {
  /** The vault's 32-byte root seed: every key derives from it. */
  rootSeed: Uint8Array;
  /** This device's name: its own log in the thread. @default "device" */
  device?: string;
  /** Third-party abilities, loaded beside the built-in ones. @default [] */
  abilities?: readonly AbilityDefinition[];
  /** Wall clock in ms (consent times, budget periods). @default Date.now */
  clock?: () => number;
  /** Reports replay progress while the thread opens. */
  onProgress?: (done: number, total: number) => void;
  /** Closed with the vault when the vault opened them itself. @internal */
  ownedStores?: { close(): Promise<void> };
}

const CONSENTS = collectionName(VAULT_NAMESPACE, "consents");
const AUDIT = collectionName(VAULT_NAMESPACE, "audit");
const LEDGER = collectionName(VAULT_NAMESPACE, "privacy-ledger");
const SETTINGS = collectionName(VAULT_NAMESPACE, "settings");

export function jobKey(job: JobRef): string {
  return `${job.chainId}:${job.registry.toLowerCase()}:${job.jobId}`;
}

/** sha256 of the map program's dag-cbor, hex: what the consent screen shows and the audit log records. */
function programHash(spec: JobSpec): string {
  return toBareHex(sha256(dagCbor.encode(spec.program)));
}

/** The time span a job's program reads, for abilities' notes: the pipeline's window, else the week before the deadline. */
function spanOf(spec: JobSpec): { from: number; to: number } {
  const window = spec.program.kind === "pipeline" ? spec.program.steps.find((s) => s.op === "window") : undefined;
  if (window?.op === "window" && window.field === "t") return { from: window.from, to: window.to };
  return { from: spec.collectionDeadline - 7 * 86_400, to: spec.collectionDeadline };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Vault {
  readonly thread: Thread;
  /** The stores the thread lives in: what a device sync serves and pulls into. */
  readonly stores: ThreadStores;
  /** The avatar identity this vault answers jobs through. */
  readonly avatar: Identity;
  readonly #rootSeed: Uint8Array;
  readonly #abilities: Map<string, { definition: AbilityDefinition; context: AbilityContext }>;
  readonly #clock: () => number;
  readonly #owned: { close(): Promise<void> } | undefined;

  private constructor(thread: Thread, init: VaultInit, abilities: readonly AbilityDefinition[], stores: ThreadStores) {
    this.thread = thread;
    this.stores = stores;
    this.#rootSeed = init.rootSeed;
    this.avatar = deriveAvatarIdentity(init.rootSeed);
    this.#clock = init.clock ?? Date.now;
    this.#owned = init.ownedStores;
    this.#abilities = new Map(
      abilities.map((d) => [d.manifest.name, { definition: d, context: new AbilityContext(thread, d.manifest, this.#clock) }]),
    );
  }

  /** Opens the vault thread in `stores` with the built-in and the given abilities. */
  static async open(stores: ThreadStores, init: VaultInit): Promise<Vault> {
    if (init.rootSeed.length !== 32) throw new RangeError(`rootSeed: expected 32 bytes, got ${init.rootSeed.length}`);
    const abilities = [...BUILTIN_ABILITIES, ...(init.abilities ?? []).map(defineAbility)];
    checkAbilitySet(abilities);
    const thread = await ThreadClass.open(stores, {
      secrets: deriveThreadSecrets(init.rootSeed, VAULT_THREAD, init.device ?? "device"),
      collections: {
        ...abilityCollections(abilities),
        [CONSENTS]: { indexes: ["granted"] },
        [AUDIT]: { indexes: ["jobKey", "time"] },
        [LEDGER]: { indexes: ["time"] },
      },
      clock: init.clock,
      onProgress: init.onProgress,
    });
    return new Vault(thread, init, abilities, stores);
  }

  /** The vault's root seed, for splitting among guardians. Never leaves through the egress gate. */
  get rootSeed(): Uint8Array {
    return this.#rootSeed;
  }

  /** The manifests of every loaded ability. */
  abilities(): AbilityManifest[] {
    return [...this.#abilities.values()].map((a) => a.definition.manifest);
  }

  /** The context an ability runs with: only what its manifest grants. */
  /**
   * Deletes every document an ability holds (all its own collections), one deletion record each, reporting
   * progress; the ability and its manifest stay. What other devices of the vault replicate is deleted there too. The
   * encrypted records stay in the thread's logs (a log is append-only) until the vault is compacted.
   * UnknownAbilityError when no ability has that name.
   */
  async forget(name: string, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<{ deleted: number }> {
    const entry = this.#abilities.get(name);
    if (entry === undefined)
      throw new UnknownAbilityError(`no ability named ${JSON.stringify(name)}: the vault has ${[...this.#abilities.keys()].join(", ")}`);
    const collections = Object.keys(entry.definition.manifest.owns).map((short) => this.thread.collection(collectionName(name, short)));
    const total = collections.reduce((n, c) => n + c.size, 0);
    let deleted = 0;
    for (const c of collections)
      for (const doc of c.find()) {
        await c.delete(doc._id);
        options.onProgress?.(++deleted, total);
      }
    return { deleted };
  }

  ability(name: string): AbilityContext {
    const a = this.#abilities.get(name);
    if (a === undefined) throw new UnknownAbilityError(`no ability ${JSON.stringify(name)} is loaded; 'mosaic vault abilities' lists them`);
    return a.context;
  }

  /** Delivers an event to every ability that declares it; returns each one's answer by ability name. */
  async dispatch(event: AbilityEventName, payload?: unknown): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, { definition, context }] of this.#abilities) {
      const handler = definition.on?.[event];
      if (handler !== undefined) out[name] = await handler(context, payload);
    }
    return out;
  }

  // -- Location history, the data most jobs read ----------------------------------------------------------------

  /**
   * Imports a GPX, GeoJSON or Google Takeout file into location history; the same file twice is stored once.
   * `onProgress` reports fixes stored so far while they are written (parsing comes first, in one go).
   */
  async importLocations(
    bytes: Uint8Array,
    options: { fileName?: string; format?: LocationFormat; onProgress?: (stored: number, total: number) => void } = {},
  ): Promise<ImportResult> {
    return importLocationFile(this.ability(LOCATION_HISTORY), bytes, options);
  }

  /** Manual entry: adds fixes to location history (all or none: a bad fix is named and nothing is stored). */
  async addLocations(points: readonly LocationPoint[], source?: string): Promise<StoreResult> {
    checkLocations(points);
    // The same entries twice are stored once: the default source is their hash.
    const id = source ?? `manual-${toBareHex(sha256(dagCbor.encode(points.map((p) => [p.t, p.lat, p.lon])))).slice(0, 24)}`;
    return storeLocations(this.ability(LOCATION_HISTORY), points, id);
  }

  /** Fixes with from <= t < to (unix s), oldest first. */
  locations(range: { from?: number; to?: number } = {}): LocationPoint[] {
    return readLocations(this.ability(LOCATION_HISTORY), range);
  }

  // -- Consent and egress ----------------------------------------------------------------------------------------

  /** Checks a job's reads against the loaded abilities' manifests and returns the fields, as "ability/collection.field". */
  #fieldsRead(spec: JobSpec): string[] {
    return spec.reads.flatMap((r) => {
      const manifest = this.#abilities.get(r.ability)?.definition.manifest;
      if (manifest === undefined)
        throw new UnknownAbilityError(
          `job reads ability ${JSON.stringify(r.ability)}, which this vault does not have; the vault will not run it`,
        );
      const owned = manifest.owns[r.collection];
      if (owned === undefined)
        throw new UnknownAbilityError(
          `job reads ${r.ability}/${r.collection}, which ability ${r.ability} does not hold; the vault will not run it`,
        );
      for (const f of r.fields) {
        if (!owned.fields.includes(f))
          throw new UnknownAbilityError(
            `job reads ${r.ability}/${r.collection}.${f}, which ability ${r.ability} does not hold; the vault will not run it`,
          );
      }
      return r.fields.map((f) => `${r.ability}/${r.collection}.${f}`);
    });
  }

  /** What the map program sees: each declared collection's rows, holding only the declared fields. */
  #programInput(spec: JobSpec): Record<string, Record<string, unknown>[]> {
    const input: Record<string, Record<string, unknown>[]> = {};
    for (const r of spec.reads) {
      const { definition, context } = this.#abilities.get(r.ability) as { definition: AbilityDefinition; context: AbilityContext };
      const docs = context.read<Doc>(`${r.ability}/${r.collection}`).find();
      const rows = definition.rows?.[r.collection]?.(docs) ?? docs;
      input[`${r.ability}/${r.collection}`] = rows.map((row) => {
        const out: Record<string, unknown> = {};
        for (const f of r.fields) if ((row as Record<string, unknown>)[f] !== undefined) out[f] = (row as Record<string, unknown>)[f];
        return out;
      });
    }
    return input;
  }

  /**
   * Runs the job's map program locally, on only the fields it declares, and prepares the consent screen. A
   * program that fails, runs too long, allocates too much or returns the wrong shape throws its named error
   * (MapProgramError, MapProgramTimeoutError, MapProgramMemoryError, MapOutputShapeError, ...) and nothing
   * is recorded.
   */
  async review(
    spec: JobSpec,
    job: JobRef,
    options: {
      signal?: AbortSignal /** Shared mode: the job's two aggregators (the chain's record), shown and bound. */;
      aggregators?: readonly JobAggregator[];
    } = {},
  ): Promise<ConsentRequest> {
    checkSharedSpec(spec);
    let aggregators: ConsentedAggregator[] | undefined;
    if (options.aggregators !== undefined) {
      checkAggregatorKeys(options.aggregators.map((a) => a.key));
      aggregators = options.aggregators.map((a) => ({ address: a.address, fingerprint: aggregatorKeyFingerprint(a.key) }));
    }
    this.#fieldsRead(spec);
    const raw = await runMapProgram(spec, this.#programInput(spec), options);
    const mode = modeOf(spec);
    // Shared mode: no noise here; the exact clamped answer (a fixed sum checked) is what is secret-shared.
    const payload = mode === "shared" ? clampToOutput(raw, spec.output) : privatize(raw, spec.output, spec.privacy);
    const charge = jobPrivacyCost(spec);
    const status = this.budget();
    const fits = fitsBudget(status.settings, status.entries, this.#clock(), charge);
    const after = fits ? budgetStatus(status.settings, [...status.entries, this.#entry("preview", spec)], this.#clock()).remaining : "0";
    return {
      jobKey: jobKey(job),
      requester: `${spec.requester.name} <${spec.requester.contact}>`,
      title: spec.title,
      purpose: spec.purpose,
      reads: spec.reads,
      program: spec.program,
      programText: describeProgram(spec),
      programHash: programHash(spec),
      preview: { raw, payload, unit: spec.output.unit, labels: spec.output.entries.map((e) => e.label) },
      mode,
      disclosure: modeDisclosure(spec, charge, aggregators),
      ...(aggregators === undefined || mode !== "shared" ? {} : { aggregators }),
      epsilon: spec.privacy.epsilon,
      charge,
      mechanism: spec.privacy.mechanism,
      budget: { remaining: status.remaining, after, fits, resetsAt: status.period.end },
      notes: await this.dispatch("job:new", { jobKey: jobKey(job), ...spanOf(spec) }),
    };
  }

  #entry(key: string, spec: JobSpec): LedgerEntry {
    const charge = jobPrivacyCost(spec);
    return { _id: key, jobKey: key, num: charge.num, den: charge.den, time: this.#clock(), state: "reserved" };
  }

  /**
   * Records the user's consent to send exactly `request.preview.payload` (in shared mode: as two encrypted shares),
   * and reserves what the job costs (jobPrivacyCost). SharedSpecRefusedError for a shared spec the vault will not
   * answer, EgressMismatchError for a consent screen of the other mode, PrivacyBudgetExceededError when the budget
   * cannot cover it, AlreadySubmittedError once the output left; nothing is recorded then.
   */
  async consent(spec: JobSpec, request: ConsentRequest): Promise<ConsentRecord> {
    checkSharedSpec(spec);
    const mode = modeOf(spec);
    if ((request.mode ?? "local") !== mode)
      throw new EgressMismatchError(
        `job ${request.jobKey}: the consent screen shown was for a ${request.mode ?? "local"}-mode job, the spec is ${mode}-mode; review it again`,
      );
    const charge = jobPrivacyCost(spec);
    const consents = this.#collection<ConsentRecord>(CONSENTS);
    const existing = consents.get(request.jobKey);
    if (existing?.submitted !== undefined) throw new AlreadySubmittedError(`job ${request.jobKey}: the output was already sent`);
    const ledger = this.#collection<LedgerEntry>(LEDGER);
    const status = this.budget();
    const others = status.entries.filter((e) => e.jobKey !== request.jobKey);
    if (!fitsBudget(status.settings, others, this.#clock(), charge)) {
      throw new PrivacyBudgetExceededError(
        formatEpsilon(charge),
        budgetStatus(status.settings, others, this.#clock()).remaining,
        status.period.end,
      );
    }
    const record: Omit<ConsentRecord, "_id"> = {
      jobKey: request.jobKey,
      title: spec.title,
      requester: request.requester,
      purpose: spec.purpose,
      programHash: programHash(spec),
      fieldsRead: this.#fieldsRead(spec),
      payload: request.preview.payload,
      epsilon: charge,
      mode,
      disclosure: modeDisclosure(spec, charge, request.aggregators),
      ...(request.aggregators === undefined || mode !== "shared" ? {} : { aggregators: request.aggregators }),
      granted: this.#clock(),
    };
    const entry = this.#entry(request.jobKey, spec);
    if (ledger.get(request.jobKey) === undefined) await ledger.create(entry);
    else await ledger.update(request.jobKey, entry);
    // A consent given again after a withdrawal replaces the old record whole (dag-cbor has no undefined to clear a field).
    if (existing !== undefined) await consents.delete(request.jobKey);
    return consents.create({ ...record, _id: request.jobKey });
  }

  /** Withdraws consent and releases the reserved epsilon; AlreadySubmittedError once the output left. */
  async withdraw(key: string): Promise<void> {
    const consents = this.#collection<ConsentRecord>(CONSENTS);
    const record = consents.get(key);
    if (record === undefined) throw new ConsentRequiredError(`no consent for job ${key} to withdraw`);
    if (record.submitted !== undefined)
      throw new AlreadySubmittedError(
        `job ${key}: the output was sent at ${new Date(record.submitted).toISOString()} and cannot be recalled`,
      );
    if (record.withdrawn !== undefined) return;
    await this.#collection<LedgerEntry>(LEDGER).update(key, { state: "released" });
    await consents.update(key, { withdrawn: this.#clock() });
  }

  /** Every consent, newest first. */
  consents(): ConsentRecord[] {
    return this.#collection<ConsentRecord>(CONSENTS).find({ orderBy: "granted", desc: true });
  }

  /** The payload the user consented to send for a job; ConsentRequiredError / ConsentWithdrawnError otherwise. */
  consentedPayload(key: string): number[] {
    const record = this.#collection<ConsentRecord>(CONSENTS).get(key);
    if (record === undefined) throw new ConsentRequiredError(`no consent for job ${key}: review the job and consent first`);
    if (record.withdrawn !== undefined)
      throw new ConsentWithdrawnError(`consent for job ${key} was withdrawn: review the job again to consent anew`);
    return record.payload;
  }

  /** The mode a job was consented in (local for records from before modes); ConsentRequiredError without a consent. */
  consentedMode(key: string): JobMode {
    const record = this.#collection<ConsentRecord>(CONSENTS).get(key);
    if (record === undefined) throw new ConsentRequiredError(`no consent for job ${key}: review the job and consent first`);
    return record.mode ?? "local";
  }

  /** The aggregators a shared-mode consent was given for, when the consent screen named them. */
  consentedAggregators(key: string): ConsentedAggregator[] | undefined {
    const record = this.#collection<ConsentRecord>(CONSENTS).get(key);
    if (record === undefined) throw new ConsentRequiredError(`no consent for job ${key}: review the job and consent first`);
    return record.aggregators;
  }

  /**
   * The egress gate: every byte that leaves the vault passes here. It checks that a standing consent covers
   * exactly this payload in the mode it was given for (a shared-mode answer leaves only with `shared`, naming the
   * envelope's CID and the two aggregators' keys; a local one only without), appends the audit entry, marks the job
   * submitted and its epsilon spent, and only then returns the bytes to send. A job's output leaves once. The audit
   * entry of a shared answer says what left (the CID, the mode, the aggregators' key fingerprints), never the answer.
   */
  async egress(key: string, bytes: Uint8Array, payload: readonly number[], shared?: SharedEgress): Promise<Uint8Array> {
    const consents = this.#collection<ConsentRecord>(CONSENTS);
    const consented = this.consentedPayload(key);
    const record = consents.get(key) as ConsentRecord;
    if (record.submitted !== undefined) throw new AlreadySubmittedError(`job ${key}: the output was already sent; it leaves once`);
    if (!sameNumbers(consented, payload))
      throw new EgressMismatchError(`job ${key}: the payload is not the one the user consented to; nothing was sent`);
    const mode = record.mode ?? "local";
    if ((shared?.mode ?? "local") !== mode)
      throw new EgressMismatchError(
        mode === "shared"
          ? `job ${key}: the user consented to send this answer only as two encrypted shares; nothing was sent`
          : `job ${key}: the user consented to a local-mode (noised) answer, not secret shares; nothing was sent`,
      );
    let sharedAudit: Pick<AuditEntry, "mode" | "cid" | "aggregators"> = {};
    if (shared !== undefined) {
      checkAggregatorKeys(shared.aggregatorKeys);
      let digest: Uint8Array | undefined;
      try {
        const cid = CID.parse(shared.cid);
        digest = cid.multihash.code === 0x12 ? cid.multihash.digest : undefined;
      } catch {
        digest = undefined;
      }
      if (digest === undefined || !equalBytes(digest, sha256(bytes)))
        throw new EgressMismatchError(`job ${key}: ${shared.cid} is not the sha-256 CID of the bytes offered; nothing was sent`);
      // Only secret shares leave under a shared consent: the bytes must be this job's envelope v2, never a payload.
      let envelope: AnySubmission | undefined;
      try {
        envelope = decodeSubmission(bytes);
      } catch {
        envelope = undefined;
      }
      if (envelope?.version !== 2 || jobKey(envelope.job) !== key)
        throw new EgressMismatchError(`job ${key}: the bytes offered are not this job's envelope of encrypted shares; nothing was sent`);
      sharedAudit = { mode: "shared", cid: shared.cid, aggregators: shared.aggregatorKeys.map(aggregatorKeyFingerprint) };
    }
    const now = this.#clock();
    // Audit first: if the process dies between here and the send, the log over-reports rather than hides a send.
    await this.#collection<AuditEntry>(AUDIT).create({
      jobKey: key,
      purpose: record.purpose,
      requester: record.requester,
      fieldsRead: record.fieldsRead,
      programHash: record.programHash,
      bytes: toBareHex(bytes),
      bytesHash: toBareHex(sha256(bytes)),
      time: now,
      ...sharedAudit,
    });
    await this.#collection<LedgerEntry>(LEDGER).update(key, { state: "spent" });
    await consents.update(key, { submitted: now });
    return bytes;
  }

  /** Every byte that left, oldest first. */
  audit(): AuditEntry[] {
    return this.#collection<AuditEntry>(AUDIT).find({ orderBy: "time" });
  }

  // -- Privacy budget --------------------------------------------------------------------------------------------

  budgetSettings(): BudgetSettings {
    const stored = this.#collection<BudgetSettings & Doc>(SETTINGS).get("budget");
    if (stored === undefined) return DEFAULT_BUDGET;
    const { epsilon, periodDays, anchor } = stored;
    return { epsilon, periodDays, anchor };
  }

  /** Sets the allowance and its period; takes effect at once for the current period. */
  async setBudget(settings: Partial<BudgetSettings>): Promise<BudgetSettings> {
    const next = validateBudgetSettings({ ...this.budgetSettings(), ...settings });
    const c = this.#collection<BudgetSettings & Doc>(SETTINGS);
    if (c.get("budget") === undefined) await c.create({ ...next, _id: "budget" });
    else await c.update("budget", { ...next });
    return next;
  }

  /** The ledger for the current period: used, remaining, and when it resets. */
  budget(): BudgetStatus {
    return budgetStatus(this.budgetSettings(), this.#collection<LedgerEntry>(LEDGER).find(), this.#clock());
  }

  /** The whole ledger, oldest first, across periods. */
  ledger(): LedgerEntry[] {
    return this.#collection<LedgerEntry>(LEDGER).find({ orderBy: "time" });
  }

  #collection<T extends Doc>(name: string): Collection<T> {
    return this.thread.collection<T>(name);
  }

  /** Closes the thread (writing a snapshot), and the database if this vault opened it. */
  async close(): Promise<void> {
    await this.thread.close();
    await this.#owned?.close();
  }
}
