// What a prover elsewhere (a browser's Web Worker) needs to make a submission's proof, as plain JSON-safe data, and
// making the proof from it on the other side.
import { fromBase64, type JobRef, namedError, SNARK_SCALAR_FIELD, toBase64 } from "@mosaic/protocol";
import type { ArtifactPaths } from "./artifacts.js";
import { MAX_PAYLOAD_LENGTH, type Submission } from "./envelope.js";
import { Identity } from "./identity.js";
import { Group, proveSubmission } from "./proof.js";

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

/** A proof request that is not one proofRequestOf makes: the message names the field. */
export class MalformedProofRequestError extends namedError("MalformedProofRequestError") {}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const REQUEST_KEYS = ["v", "identity", "members", "job", "payload"];

/** The request a prover elsewhere turns back into proveSubmission(identity, group, job, payload). */
export function proofRequestOf(identity: Identity, group: Group, job: JobRef, payload: readonly number[]): ProofRequest {
  const key = identity.privateKey;
  return {
    v: 1,
    identity: typeof key === "string" ? { privateKey: key, encoding: "text" } : { privateKey: toBase64(key), encoding: "base64" },
    members: group.members.map((m) => m.toString()),
    job: { chainId: job.chainId.toString(), registry: job.registry, jobId: job.jobId.toString() },
    payload: [...payload],
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
  if (!Array.isArray(r.payload) || r.payload.length === 0 || r.payload.length > MAX_PAYLOAD_LENGTH)
    fail("payload", `an array of 1 to ${MAX_PAYLOAD_LENGTH} integers`, r.payload);
  const payload = r.payload.map((x, i) => (Number.isSafeInteger(x) ? (x as number) : fail(`payload[${i}]`, "a safe integer", x)));
  return { identity, group: new Group(members), job, payload };
}

/**
 * Makes the submission a request (a ProofRequest, as received) describes (parseProofRequest, then proveSubmission):
 * what a proving worker runs.
 * `artifacts` as proveSubmission takes them (URLs in a browser). MalformedProofRequestError for a bad request.
 */
export async function proveRequest(request: unknown, artifacts?: ArtifactPaths): Promise<Submission> {
  const { identity, group, job, payload } = parseProofRequest(request);
  return proveSubmission(identity, group, job, payload, artifacts);
}
