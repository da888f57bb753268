// What a job is, as every role reads it: the spec stored on IPFS and the on-chain coordinates of a job.

/** The on-chain coordinates that name a job everywhere. */
export interface JobRef {
  chainId: bigint;
  registry: string;
  jobId: bigint;
}

/**
 * SharedJobs numbers its jobs from here (JobRegistry's count from 1), so a job id names one job across both contracts:
 * reducers key their sessions, journals, submit and holdings requests by id alone.
 */
export const SHARED_JOB_ID_BASE = 1n << 128n;

/** Whether a job id is a SharedJobs one (see SHARED_JOB_ID_BASE). */
export function isSharedJobId(jobId: bigint): boolean {
  return jobId >= SHARED_JOB_ID_BASE;
}

/** A job id as people read and type it: JobRegistry's as they are, SharedJobs' as "s1", "s2", … */
export function jobLabel(jobId: bigint): string {
  return isSharedJobId(jobId) ? `s${jobId - SHARED_JOB_ID_BASE}` : jobId.toString();
}

/** The job id a label names (jobLabel's inverse; the full decimal id is taken too); RangeError for anything else. */
export function parseJobLabel(label: string, field = "<job>"): bigint {
  const shared = /^s([1-9][0-9]{0,37})$/.exec(label);
  if (shared !== null) return SHARED_JOB_ID_BASE + BigInt(shared[1] as string);
  if (!/^[1-9][0-9]{0,76}$/.test(label))
    throw new RangeError(
      `${field}: expected a job id (a positive integer, or s1, s2, … for a shared-mode job), got ${JSON.stringify(label)}`,
    );
  return BigInt(label);
}

/** The gossipsub topic a job's submissions are announced on. */
export function jobTopic(job: JobRef): string {
  return `/mosaic/job/1/${job.chainId}/${job.registry.toLowerCase()}/${job.jobId}`;
}

/** The gossipsub topic researchers announce job specs on before posting, so reducers hold them. */
export function specTopic(chainId: bigint, registry: string): string {
  return `/mosaic/specs/1/${chainId}/${registry.toLowerCase()}`;
}

/** An exact non-negative rational: every party derives the same noise scale from it. */
export interface Fraction {
  num: number;
  den: number;
}

/**
 * The local-DP mechanism each vault applies before anything leaves it, with exact integer sampling:
 * - `discrete-laplace`: each entry gets two-sided geometric noise of scale Δ1/ε (Δ1 = the L1 sensitivity of
 *   the output shape);
 * - `randomized-response`: a one-hot output reports its true category with probability e^ε/(e^ε + k − 1),
 *   each other category with 1/(e^ε + k − 1);
 * - `discrete-gaussian`: each entry gets discrete Gaussian noise of variance parameter `sigma2`, which must
 *   give (ε, δ)-DP for the output's L2 sensitivity (checked by the validator through zCDP).
 */
export type PrivacySpec =
  | { mechanism: "discrete-laplace"; epsilon: Fraction }
  | { mechanism: "randomized-response"; epsilon: Fraction }
  | { mechanism: "discrete-gaussian"; epsilon: Fraction; delta: Fraction; sigma2: Fraction };

/** One entry of a map output: its label and the inclusive integer bounds the vault clamps it to before noise. */
export interface OutputEntry {
  label: string;
  min: number;
  max: number;
}

/**
 * The shape of a map output: a vector of k integers with per-entry bounds. A `one-hot` output has entries in
 * [0, 1] and exactly one 1 (a category), the shape randomized response needs.
 */
export interface OutputSpec {
  kind: "vector" | "one-hot";
  unit: string;
  entries: OutputEntry[];
  /**
   * A fixed sum: every output's entries are at least 0 and add up to exactly `total` (as "7 days over 6 bands").
   * The vault refuses to send an output that does not, and the noise is scaled to the smaller sensitivity this
   * structure gives (L1 2·total, L2 √2·total, where these are below the per-entry ranges'). A one-hot output has
   * total 1 whether declared or not. @default undefined (no structure beyond the entries' ranges)
   */
  total?: number;
}

/**
 * How a job's answers are aggregated and where the noise goes:
 * - `local`: each vault noises its own answer (local DP) and reducers add the public noised answers;
 * - `shared`: each vault splits its exact answer into two Prio3 input shares, each encrypted to one of the two
 *   aggregators (staked reducers chosen at posting), which learn only the sum, check each answer's validity
 *   proof, and each add discrete Gaussian noise to their aggregate share (distributed DP): the privacy spec's
 *   `sigma2` is each aggregator's noise, enough alone for (ε, δ) if the other aggregator reveals everything.
 */
export type JobMode = "local" | "shared";

/**
 * How reducers fold accepted payloads. Every reducer lifts a payload to an integer vector and adds vectors
 * entry by entry, so a reduce-tree node is always the sum of its children (what a fraud proof checks):
 * - `sum`, `histogram`: the payload itself (histogram reads a one-hot or count vector as bins);
 * - `count`: [1] per submission;
 * - `mean`: the payload with a trailing 1 (sums and the count, divided at the end);
 * - `quantile`: per entry, a fixed-bucket sketch over the spec's `edges` (bucket i holds values in
 *   [edges[i-1], edges[i]), with open-ended first and last buckets); quantiles are read from the merged counts.
 */
export type ReducerSpec =
  | { kind: "sum" }
  | { kind: "count" }
  | { kind: "histogram" }
  | { kind: "mean" }
  | { kind: "quantile"; edges: number[]; quantiles: Fraction[] };

/** Where a program reads from: one ability's collection and the fields it may see. */
export interface ReadSpec {
  ability: string;
  collection: string;
  fields: string[];
}

/** A value in a pipeline expression: a field of the current row, a constant, or an operation on values. */
export type Expr =
  | { field: string }
  | { const: number | string | boolean | null }
  | { op: "add" | "sub" | "mul" | "div" | "min" | "max"; args: Expr[] }
  | { op: "eq" | "ne" | "lt" | "lte" | "gt" | "gte"; args: [Expr, Expr] }
  | { op: "and" | "or"; args: Expr[] }
  | { op: "not"; args: [Expr] }
  | { op: "in"; args: [Expr]; values: Array<number | string> }
  | { op: "floor" | "round" | "abs"; args: [Expr] };

/** One step of a declarative pipeline; see `@mosaic/mapreduce`'s pipeline module for the meaning of each. */
export type PipelineStep =
  | { op: "window"; field: string; from: number; to: number }
  | { op: "filter"; where: Expr }
  | { op: "derive"; as: string; value: Expr }
  | { op: "place"; as: string; places: string; lat: string; lon: string }
  | {
      op: "group";
      by: { field: string; every: number; from: number; count: number } | { field: string; values: Array<string | number> };
    }
  | {
      op: "aggregate";
      fn: "count" | "sum" | "min" | "max" | "mean" | "any" | "distance-km" | "dwell-s" | "entries" | "distinct";
      field?: string;
      /** For dwell-s and entries: the condition a row must meet to count as "inside". */
      where?: Expr;
      /** For dwell-s: the longest gap between fixes still counted as staying, seconds. */
      maxGapS?: number;
      /** Scale the aggregate by num/den and round down (e.g. seconds to hours). */
      scale?: Fraction;
    }
  | { op: "bucket"; edges: number[] }
  | { op: "one-hot"; values: Array<string | number> };

/** A declarative map program: rows from one collection, transformed step by step into the output vector. */
export interface PipelineProgram {
  kind: "pipeline";
  /** The collection the rows come from, as `ability/collection`; it must be among `reads`. */
  from: string;
  steps: PipelineStep[];
}

/**
 * A JavaScript map program for what a pipeline cannot say: `source` defines `function map(input)` and runs in
 * a QuickJS WebAssembly sandbox with no clock, network or randomness; `input` maps each `ability/collection`
 * in `reads` to its rows, with only the declared fields.
 */
export interface SandboxProgram {
  kind: "sandbox";
  language: "javascript";
  source: string;
  /** Limits the vault enforces. */
  limits: { timeMs: number; memoryBytes: number };
}

export type MapProgram = PipelineProgram | SandboxProgram;

/** Job spec v1: stored as dag-cbor on IPFS; its CID is what the chain records. */
export interface JobSpec {
  version: 1;
  title: string;
  /** Why the question is asked, in the requester's words: shown on the consent screen. */
  purpose: string;
  /** Who asks: an organisation and a contact. */
  requester: { name: string; contact: string };
  /** The data the program reads: which ability, which collection, which fields. */
  reads: ReadSpec[];
  program: MapProgram;
  output: OutputSpec;
  reducer: ReducerSpec;
  privacy: PrivacySpec;
  /** How answers are aggregated and noised (see JobMode). @default "local" */
  mode?: JobMode;
  minParticipants: number;
  /** When collection closes, unix seconds: the `postJob` deadline. */
  collectionDeadline: number;
  /** Seconds after the deadline during which results may be proposed and challenged. */
  challengeWindow: number;
  /** Reward in wei (decimal string), escrowed with the job. */
  reward: string;
  /** The least stake, in wei (decimal string), a reducer needs to propose a result. */
  minStake: string;
}
