// Job spec v1: the JSON Schema and the semantic checks every party runs, the spec's block on IPFS, and the
// error bars a result carries.
import * as dagCbor from "@ipld/dag-cbor";
import {
  type Block,
  type CID,
  encodeBlock,
  equalBytes,
  InvalidJobSpecError,
  type JobSpec,
  SubmissionTooLargeError,
  specDigestOf,
} from "@mosaic/protocol";
import { AbiCoder, keccak256 } from "ethers";
import jobSpecSchema from "../schema/job-spec-v1.schema.json" with { type: "json" };
import { mechanismOf, noiseVariance, payloadBounds } from "./dp/mechanisms.js";
import { outputStructureProblem } from "./dp/sensitivity.js";
import { validatePipeline } from "./pipeline.js";
import type { ResultEstimate } from "./reduce/estimate.js";
import { reducerKind, stateLength } from "./reduce/kinds.js";
import { checkSandboxProgram } from "./sandbox.js";
import { sharedSpecProblem, sharedVdafOf } from "./shared/vdaf.js";
import { validate as validateSchema } from "./spec-schema-check.js";

/** The JSON Schema of job spec v1 (packages/mapreduce/schema/job-spec-v1.schema.json), for editors and other tools. */
export const JOB_SPEC_SCHEMA: object = jobSpecSchema;

/** A spec block is at most this many bytes of dag-cbor. */
export const MAX_SPEC_BYTES = 64 * 1024;

/** Epsilon a job may ask for, per submission: below the floor the answer is noise; above the cap it protects little. */
export const EPSILON_RANGE = { min: { num: 1, den: 100 }, max: { num: 10, den: 1 } } as const;

/** The widest range one output entry may declare: the noise scale grows with it. */
export const MAX_ENTRY_RANGE = 1_000_000;

/** Largest reducer state: the registry's MAX_AGGREGATE_LENGTH. */
export const MAX_STATE_LENGTH = 256;

/** What abilities exist and what they hold: `{ ability: { collection: fields } }`. */
export type AbilityCatalog = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

export interface ValidateSpecOptions {
  /** Abilities a vault has: reads naming anything else are refused. @default undefined (reads are not checked) */
  abilities?: AbilityCatalog;
  /** Now, unix seconds: a collection deadline at or before it is refused. @default undefined (not checked) */
  now?: number;
}

/** The schema, compiled ahead of time (scripts/gen-spec-check.mjs): no eval, so it runs under the app's CSP. */
const schemaCheck = validateSchema as ((value: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }[] | null;
};

function fail(message: string): never {
  throw new InvalidJobSpecError(`job spec: ${message}`);
}

/** `a/b < c/d` for non-negative fractions. */
function below(a: { num: number; den: number }, b: { num: number; den: number }): boolean {
  return BigInt(a.num) * BigInt(b.den) < BigInt(b.num) * BigInt(a.den);
}

/**
 * Validates an untrusted spec (a file, or a block fetched from IPFS): the JSON Schema first, then what a
 * schema cannot say. Throws InvalidJobSpecError naming the field; returns the spec typed.
 */
export function validateSpec(value: unknown, options: ValidateSpecOptions = {}): JobSpec {
  if (!schemaCheck(value)) {
    const e = schemaCheck.errors?.[0];
    const where = e?.instancePath ? e.instancePath.slice(1).replaceAll("/", ".") : "(root)";
    fail(`${where}: ${e?.message ?? "does not match the schema"}${e?.params ? ` ${JSON.stringify(e.params)}` : ""}`);
  }
  const spec = value as JobSpec;
  checkReads(spec, options.abilities);
  checkOutput(spec);
  checkPrivacy(spec);
  const programLength = checkProgram(spec);
  if (programLength !== undefined && programLength !== spec.output.entries.length) {
    fail(`program: produces ${programLength} values but output declares ${spec.output.entries.length} entries`);
  }
  checkReducer(spec);
  if (spec.mode === "shared") {
    const problem = sharedSpecProblem(spec);
    if (problem !== undefined) fail(problem);
  }
  if (options.now !== undefined && spec.collectionDeadline <= options.now) {
    fail(`collectionDeadline: ${new Date(spec.collectionDeadline * 1000).toISOString()} is in the past; set a later deadline`);
  }
  if (BigInt(spec.reward) === 0n) fail("reward: expected more than 0 wei");
  return spec;
}

function checkReads(spec: JobSpec, abilities: AbilityCatalog | undefined): void {
  const seen = new Set<string>();
  spec.reads.forEach((r, i) => {
    const key = `${r.ability}/${r.collection}`;
    if (seen.has(key)) fail(`reads[${i}]: ${key} is listed twice`);
    seen.add(key);
    if (abilities === undefined) return;
    const collections = abilities[r.ability];
    if (collections === undefined)
      fail(`reads[${i}].ability: unknown ability "${r.ability}" (known: ${Object.keys(abilities).join(", ")})`);
    const fields = collections[r.collection];
    if (fields === undefined) fail(`reads[${i}].collection: ability ${r.ability} has no collection "${r.collection}"`);
    for (const f of r.fields) if (!fields.includes(f)) fail(`reads[${i}].fields: ${key} has no field "${f}"`);
  });
}

function checkOutput(spec: JobSpec): void {
  const { kind, entries } = spec.output;
  entries.forEach((e, i) => {
    if (e.min >= e.max) fail(`output.entries[${i}]: expected min < max, got [${e.min}, ${e.max}]`);
    if (e.max - e.min > MAX_ENTRY_RANGE)
      fail(`output.entries[${i}]: range ${e.max - e.min} is unbounded in practice; at most ${MAX_ENTRY_RANGE}`);
    if (kind === "one-hot" && (e.min !== 0 || e.max !== 1)) fail(`output.entries[${i}]: a one-hot entry is [0, 1]`);
  });
  if (kind === "one-hot" && entries.length < 2) fail("output.entries: a one-hot output needs at least 2 categories");
  const structure = outputStructureProblem(spec.output);
  if (structure !== undefined) fail(structure);
}

function checkPrivacy(spec: JobSpec): void {
  const p = spec.privacy;
  if (below(p.epsilon, EPSILON_RANGE.min) || below(EPSILON_RANGE.max, p.epsilon)) {
    fail(`privacy.epsilon: ${p.epsilon.num}/${p.epsilon.den} is outside [1/100, 10]`);
  }
  let mechanism: ReturnType<typeof mechanismOf>;
  try {
    mechanism = mechanismOf(spec.output, p);
  } catch (err) {
    fail((err as Error).message);
  }
  const problem = mechanism.specProblem?.(spec.output, p);
  if (problem !== undefined) fail(problem);
  const bounds = payloadBounds(spec.output, spec.privacy);
  for (let i = 0; i < bounds.length; i++) {
    if (!Number.isSafeInteger(bounds.min[i]) || !Number.isSafeInteger(bounds.max[i])) fail(`privacy: the noise on entry ${i} is unbounded`);
  }
}

/** The program's output length where it can be known before running (pipelines), else undefined. */
function checkProgram(spec: JobSpec): number | undefined {
  const program = spec.program;
  if (program.kind === "sandbox") {
    try {
      checkSandboxProgram(program);
    } catch (err) {
      fail(`program.${(err as Error).message}`);
    }
    return undefined;
  }
  return validatePipeline(program, spec.reads).outputLength;
}

function checkReducer(spec: JobSpec): void {
  try {
    reducerKind(spec.reducer);
  } catch (err) {
    fail((err as Error).message);
  }
  const length = stateLength(spec.reducer, spec.output.entries.length);
  if (length > MAX_STATE_LENGTH) fail(`reducer: its state has ${length} entries; the registry takes at most ${MAX_STATE_LENGTH}`);
}

/** The spec as the dag-cbor block whose CID's digest `postJob` records (see specDigestOf). */
export async function encodeSpec(spec: JobSpec): Promise<Block> {
  const block = await encodeBlock(spec);
  if (block.bytes.length > MAX_SPEC_BYTES) throw new SubmissionTooLargeError(block.bytes.length, MAX_SPEC_BYTES);
  return block;
}

/**
 * Decodes and validates a spec block fetched from IPFS: size first, then canonical dag-cbor (bytes that do
 * not re-encode to themselves are refused: one spec, one CID), then validateSpec.
 */
export function decodeSpec(bytes: Uint8Array, options: ValidateSpecOptions = {}): JobSpec {
  if (bytes.length > MAX_SPEC_BYTES) throw new SubmissionTooLargeError(bytes.length, MAX_SPEC_BYTES);
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (err) {
    fail(`not valid dag-cbor (${(err as Error).message})`);
  }
  const again = dagCbor.encode(value);
  if (!equalBytes(again, bytes)) fail("not canonical dag-cbor");
  return validateSpec(value, options);
}

/**
 * The arguments of `JobRegistry.postJob` for a spec whose block has CID `specCid`, and the reward to send with
 * it: what the chain records must be what the spec says, or reducers refuse the job. The chain takes the CID's
 * sha-256 digest (specDigestOf); specCidOf turns a job's recorded digest back into the CID.
 */
export function postJobArgs(spec: JobSpec, specCid: CID | string, groupId: bigint) {
  return {
    args: [
      specDigestOf(specCid),
      groupId,
      spec.minParticipants,
      spec.collectionDeadline,
      spec.challengeWindow,
      BigInt(spec.minStake),
      reduceParams(spec),
    ] as const,
    value: BigInt(spec.reward),
  };
}

/** What JobRegistry's postJob takes of a job's reducer, so it can check reduce trees and submissions on-chain. */
export interface ReduceParams {
  kind: number;
  payloadLength: number;
  /** quantile sketch edges; empty for the other reducers. */
  edges: number[];
  /** The payload bounds (specBounds): what a submission may carry, noise included. */
  min: number[];
  max: number[];
}

/** What the registry must know of the reducer: kind, payload length, sketch edges and payload bounds. */
export function reduceParams(spec: JobSpec): ReduceParams {
  const kind = reducerKind(spec.reducer);
  const { min, max } = specBounds(spec);
  return {
    kind: kind.code,
    payloadLength: spec.output.entries.length,
    edges: kind.edges(spec.reducer),
    min,
    max,
  };
}

/** keccak256(abi.encode(int256[] edges)): what JobRegistry records of a job's sketch edges (empty for other reducers). */
export function edgesHash(edges: readonly number[]): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["int256[]"], [edges]));
}

/** keccak256(abi.encode(int256[] min, int256[] max)): what JobRegistry records of a job's payload bounds. */
export function boundsHash(bounds: { min: readonly number[]; max: readonly number[] }): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["int256[]", "int256[]"], [bounds.min, bounds.max]));
}

/** The figures of a job as JobRegistry records them at postJob (getJob), which its spec must repeat. */
export interface RecordedJob {
  collectionDeadline: bigint;
  proposalDeadline: bigint;
  minParticipants: bigint;
  reward: bigint;
  minStake: bigint;
  kind: bigint;
  payloadLength: bigint;
  edgesHash: string;
  boundsHash: string;
}

/** Where a spec disagrees with the job the chain recorded: what, the spec's value and the chain's. */
export interface SpecDisagreement {
  what: string;
  inSpec: string;
  onChain: string;
}

/**
 * The first figure a spec and the chain's record of its job disagree on, or undefined when every figure both hold
 * agrees. Reducers refuse such a spec and vaults will not run it: one source of truth per job.
 */
export function specDisagreement(spec: JobSpec, job: RecordedJob): SpecDisagreement | undefined {
  const reduce = reduceParams(spec);
  const checks: [string, unknown, unknown][] = [
    ["collectionDeadline", BigInt(spec.collectionDeadline), job.collectionDeadline],
    ["challengeWindow", BigInt(spec.challengeWindow), job.proposalDeadline - job.collectionDeadline],
    ["minParticipants", BigInt(spec.minParticipants), job.minParticipants],
    ["reward", BigInt(spec.reward), job.reward],
    ["minStake", BigInt(spec.minStake), job.minStake],
    ["reducer kind", BigInt(reduce.kind), job.kind],
    ["output length", BigInt(reduce.payloadLength), job.payloadLength],
    ["reducer edges hash", edgesHash(reduce.edges), job.edgesHash],
    ["payload bounds hash", boundsHash(reduce), job.boundsHash],
  ];
  // A shared-mode spec belongs on SharedJobs: posted on JobRegistry its answers would be reduced in the clear.
  checks.unshift(["mode", spec.mode ?? "local", "local"]);
  for (const [what, inSpec, onChain] of checks) if (inSpec !== onChain) return { what, inSpec: String(inSpec), onChain: String(onChain) };
  return undefined;
}

/** The figures of a shared-mode job as SharedJobs records them at postSharedJob (getSharedJob). */
export interface RecordedSharedJob {
  collectionDeadline: bigint;
  challengeWindow: bigint;
  minParticipants: bigint;
  reward: bigint;
  minStake: bigint;
  /** The aggregate's length: the output's entries (shareLength: an ethers Result's `length` is its field count). */
  shareLength: bigint;
  /** The Prio3 field: 0 Field64, 1 Field128 (sharedVdafOf). */
  fieldId: bigint;
}

/** specDisagreement for a shared-mode job: the first figure its spec and SharedJobs' record disagree on. */
export function sharedSpecDisagreement(spec: JobSpec, job: RecordedSharedJob): SpecDisagreement | undefined {
  const checks: [string, unknown, unknown][] = [
    ["mode", spec.mode ?? "local", "shared"],
    ["collectionDeadline", BigInt(spec.collectionDeadline), job.collectionDeadline],
    ["challengeWindow", BigInt(spec.challengeWindow), job.challengeWindow],
    ["minParticipants", BigInt(spec.minParticipants), job.minParticipants],
    ["reward", BigInt(spec.reward), job.reward],
    ["minStake", BigInt(spec.minStake), job.minStake],
    ["output length", BigInt(spec.output.entries.length), job.shareLength],
  ];
  for (const [what, inSpec, onChain] of checks) if (inSpec !== onChain) return { what, inSpec: String(inSpec), onChain: String(onChain) };
  const fieldId = BigInt(sharedVdafOf(spec).fieldId);
  if (fieldId !== job.fieldId) return { what: "Prio3 field", inSpec: String(fieldId), onChain: String(job.fieldId) };
  return undefined;
}

/**
 * The arguments of `SharedJobs.postSharedJob` for a shared-mode spec whose block has CID `specCid`, answered by the
 * two `aggregators` (staked operators with a registered key, distinct), and the reward to send with it.
 */
export function postSharedJobArgs(spec: JobSpec, specCid: CID | string, groupId: bigint, aggregators: readonly [string, string]) {
  if (spec.mode !== "shared") throw new InvalidJobSpecError('job spec: mode: postSharedJob takes a spec with mode "shared"');
  return {
    args: [
      specDigestOf(specCid),
      groupId,
      spec.minParticipants,
      spec.collectionDeadline,
      spec.challengeWindow,
      BigInt(spec.minStake),
      spec.output.entries.length,
      sharedVdafOf(spec).fieldId,
      [aggregators[0], aggregators[1]] as [string, string],
    ] as const,
    value: BigInt(spec.reward),
  };
}

/** The range each submitted (noised, then clamped) payload entry must lie in. */
export function specBounds(spec: JobSpec): { length: number; min: number[]; max: number[] } {
  return payloadBounds(spec.output, spec.privacy);
}

/**
 * Estimates from a reduced aggregate (local mode), or the released sum of a shared job (one entry per output entry,
 * whatever the reducer; a mean divides it by `count`), each with its projection (never negative, adding up to a known
 * total: post-processing) and error bars from the privacy noise only, given who answered (PRIVACY_NOISE_BARS; the
 * sampling of who answered is not included, since that depends on the question). Local noise is `count` draws of the
 * mechanism's per-entry variance; shared noise is the two aggregators' discrete Gaussian draws, independent of the
 * count. Randomized-response histograms are unbiased first.
 */
export function estimateResult(spec: JobSpec, aggregate: readonly number[], count: number): ResultEstimate {
  const variance = noiseVariance(spec.output, spec.privacy);
  return reducerKind(spec.reducer).estimate(spec, aggregate, Math.max(count, 0), variance);
}
