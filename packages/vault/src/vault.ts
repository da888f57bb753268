// A user's vault: sealed collections, consent records, the one egress gate and its audit log.
import { ConsentRequiredError, type JobRef, type JobSpec } from "@mosaic/protocol";
import { deriveAvatarIdentity, type Identity } from "@mosaic/avatar";
import { clampToOutput, kmPerDay, type LocationPoint, privatize, specScale } from "@mosaic/mapreduce";
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex } from "@noble/hashes/utils";
import * as dagCbor from "@ipld/dag-cbor";
import { SealedStore } from "./store.js";

/** What the user is shown before anything runs, and the exact output that would leave. */
export interface ConsentRequest {
  jobKey: string;
  requester: string;
  title: string;
  purpose: string;
  reads: JobSpec["reads"];
  program: JobSpec["program"];
  /** The output before noise (stays in the vault) and the exact noised payload that would be sent. */
  preview: { raw: number[]; payload: number[]; unit: string; labels: string[] };
  epsilon: JobSpec["privacy"]["epsilon"];
}

/** One record of bytes that left the vault. */
export interface AuditEntry {
  jobKey: string;
  purpose: string;
  fieldsRead: string[];
  programHash: string;
  /** Hex of the exact bytes sent. */
  bytes: string;
  time: number;
}

interface ConsentRecord {
  jobKey: string;
  payload: number[];
  granted: number;
  withdrawn?: number;
}

export function jobKey(job: JobRef): string {
  return `${job.chainId}:${job.registry.toLowerCase()}:${job.jobId}`;
}

/** Opens (or creates) the vault in `dir`, sealed with keys from `rootSeed`. */
export async function openVault(dir: string, rootSeed: Uint8Array): Promise<Vault> {
  return new Vault(new SealedStore(dir, rootSeed), deriveAvatarIdentity(rootSeed));
}

export class Vault {
  readonly #store: SealedStore;
  /** The avatar identity this vault answers jobs through. */
  readonly avatar: Identity;

  constructor(store: SealedStore, avatar: Identity) {
    this.#store = store;
    this.avatar = avatar;
  }

  async addLocations(points: LocationPoint[]): Promise<void> {
    for (const [i, p] of points.entries()) {
      if (!Number.isFinite(p.t) || Math.abs(p.lat) > 90 || Math.abs(p.lon) > 180) {
        throw new RangeError(`points[${i}]: expected t, |lat| <= 90, |lon| <= 180, got ${JSON.stringify(p)}`);
      }
    }
    const all = await this.locations();
    await this.#store.write("location-history", [...all, ...points]);
  }

  async locations(): Promise<LocationPoint[]> {
    return this.#store.read<LocationPoint[]>("location-history", []);
  }

  /** Runs the job's map program locally and prepares the consent screen with the exact payload. */
  async review(spec: JobSpec, job: JobRef): Promise<ConsentRequest> {
    const raw = kmPerDay(await this.locations(), spec.program.days, spec.program.windowEnd);
    const clamped = clampToOutput(raw, spec.output);
    const payload = privatize(raw, spec.output, specScale(spec));
    return {
      jobKey: jobKey(job),
      requester: spec.requester,
      title: spec.title,
      purpose: spec.purpose,
      reads: spec.reads,
      program: spec.program,
      preview: { raw: clamped, payload, unit: spec.output.unit, labels: spec.output.labels },
      epsilon: spec.privacy.epsilon,
    };
  }

  /** Records the user's consent to send exactly `request.preview.payload` for this job. */
  async consent(request: ConsentRequest): Promise<void> {
    const records = await this.#consents();
    records[request.jobKey] = { jobKey: request.jobKey, payload: request.preview.payload, granted: Date.now() };
    await this.#store.write("consents", records);
  }

  /** Withdraws consent; nothing more leaves for this job. */
  async withdraw(key: string): Promise<void> {
    const records = await this.#consents();
    const rec = records[key];
    if (rec === undefined) return;
    rec.withdrawn = Date.now();
    await this.#store.write("consents", records);
  }

  /** The payload the user consented to send for a job; throws ConsentRequiredError otherwise. */
  async consentedPayload(key: string): Promise<number[]> {
    const rec = (await this.#consents())[key];
    if (rec === undefined || rec.withdrawn !== undefined) {
      throw new ConsentRequiredError(`no consent for job ${key}: review the job and consent first`);
    }
    return rec.payload;
  }

  /**
   * The egress gate: every byte that leaves the vault passes here. Checks consent, appends an audit entry,
   * and returns the bytes to send.
   */
  async egress(spec: JobSpec, key: string, bytes: Uint8Array): Promise<Uint8Array> {
    await this.consentedPayload(key);
    const audit = await this.audit();
    audit.push({
      jobKey: key,
      purpose: spec.purpose,
      fieldsRead: spec.reads.flatMap((r) => r.fields.map((f) => `${r.ability}.${f}`)),
      programHash: bytesToHex(sha256(dagCbor.encode(spec.program))),
      bytes: bytesToHex(bytes),
      time: Date.now(),
    });
    await this.#store.write("audit", audit);
    return bytes;
  }

  async audit(): Promise<AuditEntry[]> {
    return this.#store.read<AuditEntry[]>("audit", []);
  }

  async #consents(): Promise<Record<string, ConsentRecord>> {
    return this.#store.read<Record<string, ConsentRecord>>("consents", {});
  }
}
