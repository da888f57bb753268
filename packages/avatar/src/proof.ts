// Making and checking a submission's Semaphore proof: scope = the job, message = hash of the payload (v1) or of the
// secret-shared report's nonce, public share and share digests (v2).
import {
  bigintToBytes32,
  bytes32ToBigint,
  ExpiredRootError,
  InvalidProofError,
  type JobRef,
  jobScope,
  MalformedSubmissionError,
  NullifierReusedError,
  PayloadHashMismatchError,
  PayloadOutOfBoundsError,
  payloadDigest,
  UnknownRootError,
  WrongJobError,
} from "@mosaic/protocol";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { Group } from "@semaphore-protocol/group";
import { poseidon2 } from "poseidon-lite/poseidon2";
import type { Identity } from "@semaphore-protocol/identity";
import { artifactPaths } from "#artifacts";
import { type ArtifactPaths, PROOF_DEPTH } from "./artifacts.js";
import {
  type AnySubmission,
  checkReportShape,
  encodePayload,
  reportMessage,
  ShareDigestMismatchError,
  type SemaphoreProof,
  type SharedReport,
  type SharedSubmission,
  type Submission,
} from "./envelope.js";

export { Group };

/**
 * Semaphore's prover and verifier (snarkjs underneath, some 300 KB of code), loaded on first use: a browser page
 * that proves in a worker and never verifies need not load them at all.
 */
const semaphoreProof = () => import("@semaphore-protocol/proof");

/**
 * Proves membership for one job's payload and returns the whole submission. `artifacts` defaults to the installed
 * files in Node; a browser passes their URLs.
 */
export async function proveSubmission(
  identity: Identity,
  group: Group,
  job: JobRef,
  payload: number[],
  artifacts: ArtifactPaths = artifactPaths(),
): Promise<Submission> {
  const message = payloadDigest(encodePayload(payload));
  const proof = await proveMembership(identity, group, message, jobScope(job.chainId, job.registry, job.jobId), artifacts);
  return { version: 1, job, payload, proof };
}

/**
 * A Semaphore proof at the one depth every Mosaic verifier takes (PROOF_DEPTH) that `identity` is in `group`, for
 * `scope` and `message`: what every avatar proof is made of (a job's submission, an exposure key upload).
 */
export async function proveMembership(
  identity: Identity,
  group: Group,
  message: bigint,
  scope: bigint,
  artifacts: ArtifactPaths = artifactPaths(),
): Promise<SemaphoreProof> {
  return (await semaphoreProof()).generateProof(identity, group, message, scope, PROOF_DEPTH, artifacts) as Promise<SemaphoreProof>;
}

/**
 * The nullifier `identity`'s proof for `job` will carry, computed without proving: Semaphore v4's
 * Poseidon(hash(scope), secret), where hash is keccak-256 of the 32-byte scope shifted right 8 bits (what
 * generateProof feeds the circuit). A shared job's report binds its shares to it (the HPKE aad) before the proof
 * exists, so a report copied under another member's nullifier does not decrypt.
 */
export function nullifierOf(identity: Identity, job: JobRef): bigint {
  const scope = jobScope(job.chainId, job.registry, job.jobId);
  return poseidon2([bytes32ToBigint(keccak_256(bigintToBytes32(scope))) >> 8n, identity.secretScalar]);
}

/**
 * Proves membership for one shared job's report (the Prio3 shares shardReport made, encrypted to the job's two
 * aggregators) and returns the version 2 submission. The proof's message is reportMessage(report): it binds both
 * shares' digests, the public share and the nonce to the one nullifier this member has for the job.
 */
export async function proveSharedSubmission(
  identity: Identity,
  group: Group,
  job: JobRef,
  report: SharedReport,
  artifacts: ArtifactPaths = artifactPaths(),
): Promise<SharedSubmission> {
  checkReportShape(report);
  const proof = await proveMembership(identity, group, reportMessage(report), jobScope(job.chainId, job.registry, job.jobId), artifacts);
  return { version: 2, job, report, proof };
}

/** What a submission is checked against. */
export interface VerifyContext {
  job: JobRef;
  /**
   * The group root the job fixed on-chain: JobRegistry records the group's root when the job is posted, and
   * the job accepts exactly that root.
   */
  groupRoot: bigint;
  /**
   * Roots the group had before the job's root. A proof against one of them is named ExpiredRootError (the
   * member proved against a stale tree: sync the group and prove again); any other root is UnknownRootError.
   * @default undefined (every wrong root is unknown)
   */
  pastRoots?: { has(root: bigint): boolean };
  /**
   * The payload length and the inclusive bounds of each entry (`min[i]`, `max[i]`). A v2 report's entries are
   * secret-shared and not read here: its aggregators' Prio3 validity proofs bound them.
   */
  bounds: { length: number; min: readonly number[]; max: readonly number[] };
  /** Nullifiers already accepted for this job (a Set, or the keys of a Map). Not modified. */
  seenNullifiers: { has(nullifier: string): boolean };
}

/**
 * Checks a decoded submission of either version, cheapest first, the proof itself last: job, scope
 * (WrongJobError), depth (MalformedSubmissionError: the envelope fixes it at PROOF_DEPTH), root (ExpiredRootError
 * for a root in `ctx.pastRoots`, UnknownRootError for any other), then for v1 the payload hash
 * (PayloadHashMismatchError) and bounds (PayloadOutOfBoundsError), for v2 the report's shape
 * (MalformedSubmissionError) and its message (ShareDigestMismatchError), then nullifier (NullifierReusedError),
 * proof (InvalidProofError). Throws the named error of the first failure; reads `ctx` and changes nothing in it.
 * Which version a job takes is the caller's to check (WrongModeError).
 */
export async function verifySubmission(sub: AnySubmission, ctx: VerifyContext): Promise<void> {
  checkSubmission(sub, ctx);
  let ok = false;
  try {
    ok = await (await semaphoreProof()).verifyProof(sub.proof);
  } catch (err) {
    throw new InvalidProofError(`proof does not parse: ${(err as Error).message}`);
  }
  if (!ok) throw new InvalidProofError("Semaphore proof does not verify");
}

/**
 * Every check of `verifySubmission` but the proof itself, for callers that verify proofs in batches
 * (`createBatchVerifier`): throws the named error of the first failure, changes nothing.
 */
export function checkSubmission(sub: AnySubmission, ctx: VerifyContext): void {
  const { job } = ctx;
  if (sub.job.chainId !== job.chainId || sub.job.registry !== job.registry.toLowerCase() || sub.job.jobId !== job.jobId) {
    throw new WrongJobError(`submission is for job ${sub.job.jobId} on ${sub.job.registry}, not job ${job.jobId}`);
  }
  if (BigInt(sub.proof.scope) !== jobScope(job.chainId, job.registry, job.jobId)) {
    throw new WrongJobError(`proof scope ${sub.proof.scope} is not job ${job.jobId}'s scope`);
  }
  if (sub.proof.merkleTreeDepth !== PROOF_DEPTH) {
    throw new MalformedSubmissionError(`proof depth ${sub.proof.merkleTreeDepth}: every Mosaic proof has depth ${PROOF_DEPTH}`);
  }
  const root = BigInt(sub.proof.merkleTreeRoot);
  if (root !== ctx.groupRoot) {
    if (ctx.pastRoots?.has(root)) {
      throw new ExpiredRootError(
        `proof root ${root} is an earlier root of the group, not the job's ${ctx.groupRoot}; sync the group and prove again`,
      );
    }
    throw new UnknownRootError(`proof root ${root} is not the job's group root ${ctx.groupRoot}`);
  }
  if (sub.version === 2) checkReportMessage(sub);
  else checkPayload(sub, ctx.bounds);
  if (ctx.seenNullifiers.has(sub.proof.nullifier)) {
    throw new NullifierReusedError(`nullifier ${sub.proof.nullifier} already answered job ${job.jobId}`);
  }
}

function checkPayload(sub: Submission, bounds: VerifyContext["bounds"]): void {
  if (BigInt(sub.proof.message) !== payloadDigest(encodePayload(sub.payload))) {
    throw new PayloadHashMismatchError("proof message is not the hash of the payload");
  }
  const { length, min, max } = bounds;
  if (sub.payload.length !== length) throw new PayloadOutOfBoundsError(`payload: expected ${length} items, got ${sub.payload.length}`);
  sub.payload.forEach((x, i) => {
    const lo = min[i] as number;
    const hi = max[i] as number;
    if (x < lo || x > hi) throw new PayloadOutOfBoundsError(`payload[${i}]: ${x} outside [${lo}, ${hi}]`);
  });
}

/** The proof's message must be the report's: any share, the public share or the nonce changed after proving fails. */
function checkReportMessage(sub: SharedSubmission): void {
  checkReportShape(sub.report);
  if (BigInt(sub.proof.message) !== reportMessage(sub.report)) {
    throw new ShareDigestMismatchError(
      "proof message is not the report's (sha-256 of its nonce, public share and share digests): the shares are not the ones proven",
    );
  }
}
