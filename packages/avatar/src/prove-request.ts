// What a prover elsewhere (a browser's Web Worker) needs to make a submission's proof, as plain JSON-safe data, and
// making the proof from it on the other side.
import { fromBase64, type JobRef, namedError, SNARK_SCALAR_FIELD, toBase64 } from "@mosaic/protocol";
import type { ArtifactPaths } from "./artifacts.js";
import {
  type AnySubmission,
  checkReportShape,
  MAX_PAYLOAD_LENGTH,
  type SharedReport,
  type SharedSubmission,
  type Submission,
} from "./envelope.js";
import { Identity } from "./identity.js";
import { Group, proveSharedSubmission, proveSubmission } from "./proof.js";

/**
 * Everything proveSubmission takes, as data that survives JSON and postMessage. It carries the identity's private key:
 * hand it only to a worker of the same page, never over a network or into storage.
 */
export interface ProofRequest {
  v: 1;
  /** The identity's private key: base64 bytes (as deriveAvatarIdentity makes them), or the text an identity was made from. */
  identity: { privateKey: string; encoding: "base64" | "text" };
  /** The group's members (identity commitments), decimal, in tree order. */
  members: string[];
  /** The job, its numbers decimal. */
  job: { chainId: string; registry: string; jobId: string };
  payload: number[];
}

/**
 * Everything proveSharedSubmission takes, as JSON-safe data: a ProofRequest with `v: 2` and, instead of the payload,
 * the shared job's report (its bytes base64). The same caution: the identity's private key is in it.
 */
export interface SharedProofRequest {
  v: 2;
  identity: ProofRequest["identity"];
  members: string[];
  job: ProofRequest["job"];
  report: { nonce: string; publicShare: string; shares: [{ enc: string; ct: string }, { enc: string; ct: string }] };
}

/** A proof request that is not one proofRequestOf makes: the message names the field. */
export class MalformedProofRequestError extends namedError("MalformedProofRequestError") {}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const REQUEST_KEYS = ["v", "identity", "members", "job", "payload"];
const SHARED_REQUEST_KEYS = ["v", "identity", "members", "job", "report"];

/** The request's identity, members and job: what both versions carry. */
function common(identity: Identity, group: Group, job: JobRef): Pick<ProofRequest, "identity" | "members" | "job"> {
  const key = identity.privateKey;
  return {
    identity: typeof key === "string" ? { privateKey: key, encoding: "text" } : { privateKey: toBase64(key), encoding: "base64" },
    members: group.members.map((m) => m.toString()),
    job: { chainId: job.chainId.toString(), registry: job.registry, jobId: job.jobId.toString() },
  };
}

/** The request a prover elsewhere turns back into proveSubmission(identity, group, job, payload). */
export function proofRequestOf(identity: Identity, group: Group, job: JobRef, payload: readonly number[]): ProofRequest {
  return { v: 1, ...common(identity, group, job), payload: [...payload] };
}

/** The request a prover elsewhere turns back into proveSharedSubmission(identity, group, job, report). */
export function sharedProofRequestOf(identity: Identity, group: Group, job: JobRef, report: SharedReport): SharedProofRequest {
  checkReportShape(report);
  const share = (i: 0 | 1) => ({ enc: toBase64(report.shares[i].enc), ct: toBase64(report.shares[i].ct) });
  return {
    v: 2,
    ...common(identity, group, job),
    report: { nonce: toBase64(report.nonce), publicShare: toBase64(report.publicShare), shares: [share(0), share(1)] },
  };
}

function fail(field: string, expected: string, got: unknown): never {
  const shown =
    typeof got === "string"
      ? JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}…` : got)
      : Array.isArray(got)
        ? "an array"
        : String(got);
  throw new MalformedProofRequestError(`proof request ${field}: expected ${expected}, got ${shown}`);
}

function exactKeys(value: unknown, keys: readonly string[], field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "an object", value);
  const have = Object.keys(value).sort();
  const want = [...keys].sort();
  if (have.length !== want.length || have.some((k, i) => k !== want[i])) fail(field, `the keys ${want.join(", ")}`, have.join(", "));
  return value as Record<string, unknown>;
}

function decimal(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !DECIMAL.test(value)) fail(field, "a decimal string", value);
  return BigInt(value);
}

/** Checks a request from outside (a message from another thread) and rebuilds what proveSubmission takes. */
export function parseProofRequest(request: unknown): { identity: Identity; group: Group; job: JobRef; payload: number[] } {
  const r = exactKeys(request, REQUEST_KEYS, "");
  if (r.v !== 1) fail("v", "1", r.v);
  const { identity, group, job } = parseCommon(r);
  if (!Array.isArray(r.payload) || r.payload.length === 0 || r.payload.length > MAX_PAYLOAD_LENGTH)
    fail("payload", `an array of 1 to ${MAX_PAYLOAD_LENGTH} integers`, r.payload);
  const payload = r.payload.map((x, i) => (Number.isSafeInteger(x) ? (x as number) : fail(`payload[${i}]`, "a safe integer", x)));
  return { identity, group, job, payload };
}

/** Checks a v2 request from outside and rebuilds what proveSharedSubmission takes. */
export function parseSharedProofRequest(request: unknown): { identity: Identity; group: Group; job: JobRef; report: SharedReport } {
  const r = exactKeys(request, SHARED_REQUEST_KEYS, "");
  if (r.v !== 2) fail("v", "2", r.v);
  const { identity, group, job } = parseCommon(r);
  const rep = exactKeys(r.report, ["nonce", "publicShare", "shares"], "report");
  const bytes = (value: unknown, field: string): Uint8Array => {
    if (typeof value !== "string") fail(field, "base64", value);
    try {
      return fromBase64(value);
    } catch {
      fail(field, "base64", "other text");
    }
  };
  if (!Array.isArray(rep.shares) || rep.shares.length !== 2) fail("report.shares", "2 shares", rep.shares);
  const shares = rep.shares.map((s, i) => {
    const share = exactKeys(s, ["enc", "ct"], `report.shares[${i}]`);
    return { enc: bytes(share.enc, `report.shares[${i}].enc`), ct: bytes(share.ct, `report.shares[${i}].ct`) };
  }) as SharedReport["shares"];
  const report: SharedReport = {
    nonce: bytes(rep.nonce, "report.nonce"),
    publicShare: bytes(rep.publicShare, "report.publicShare"),
    shares,
  };
  try {
    checkReportShape(report);
  } catch (err) {
    throw new MalformedProofRequestError(`proof request ${(err as Error).message}`);
  }
  return { identity, group, job, report };
}

function parseCommon(r: Record<string, unknown>): { identity: Identity; group: Group; job: JobRef } {
  const id = exactKeys(r.identity, ["privateKey", "encoding"], "identity");
  if (typeof id.privateKey !== "string" || id.privateKey.length === 0) fail("identity.privateKey", "a non-empty string", id.privateKey);
  let identity: Identity;
  if (id.encoding === "base64") {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(id.privateKey);
    } catch {
      fail("identity.privateKey", "base64", "other text");
    }
    identity = new Identity(bytes);
  } else if (id.encoding === "text") {
    identity = new Identity(id.privateKey);
  } else {
    fail("identity.encoding", '"base64" or "text"', id.encoding);
  }
  if (!Array.isArray(r.members) || r.members.length === 0) fail("members", "a non-empty array", r.members);
  const members = r.members.map((m, i) => {
    const member = decimal(m, `members[${i}]`);
    if (member === 0n || member >= SNARK_SCALAR_FIELD) fail(`members[${i}]`, "a commitment in (0, r)", m);
    return member;
  });
  const j = exactKeys(r.job, ["chainId", "registry", "jobId"], "job");
  if (typeof j.registry !== "string" || !ADDRESS.test(j.registry)) fail("job.registry", "a 0x address", j.registry);
  const job: JobRef = { chainId: decimal(j.chainId, "job.chainId"), registry: j.registry, jobId: decimal(j.jobId, "job.jobId") };
  return { identity, group: new Group(members), job };
}

/**
 * Makes the submission a request (a ProofRequest or SharedProofRequest, as received) describes (parse, then
 * proveSubmission or proveSharedSubmission by its `v`): what a proving worker runs.
 * `artifacts` as proveSubmission takes them (URLs in a browser). MalformedProofRequestError for a bad request.
 */
export async function proveRequest(request: ProofRequest, artifacts?: ArtifactPaths): Promise<Submission>;
export async function proveRequest(request: SharedProofRequest, artifacts?: ArtifactPaths): Promise<SharedSubmission>;
export async function proveRequest(request: unknown, artifacts?: ArtifactPaths): Promise<AnySubmission>;
export async function proveRequest(request: unknown, artifacts?: ArtifactPaths): Promise<AnySubmission> {
  if (typeof request === "object" && request !== null && (request as { v?: unknown }).v === 2) {
    const { identity, group, job, report } = parseSharedProofRequest(request);
    return proveSharedSubmission(identity, group, job, report, artifacts);
  }
  const { identity, group, job, payload } = parseProofRequest(request);
  return proveSubmission(identity, group, job, payload, artifacts);
}
