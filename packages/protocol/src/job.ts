// What a job is, as every role reads it: the spec stored on IPFS and the on-chain coordinates of a job.

/** The on-chain coordinates that name a job everywhere. */
export interface JobRef {
  chainId: bigint;
  registry: string;
  jobId: bigint;
}

/** The gossipsub topic a job's submissions are announced on. */
export function jobTopic(job: JobRef): string {
  return `/mosaic/job/1/${job.chainId}/${job.registry.toLowerCase()}/${job.jobId}`;
}

/** The local-DP mechanism a job asks each vault to apply before anything leaves it. */
export interface PrivacySpec {
  mechanism: "discrete-laplace";
  /** Epsilon as an exact fraction, so every party computes the same noise scale. */
  epsilon: { num: number; den: number };
}

/** The shape of a map output: a vector of `length` integers, each in [min, max] before noise. */
export interface OutputSpec {
  length: number;
  min: number;
  max: number;
  unit: string;
  labels: string[];
}

/** Job spec v1: stored as dag-cbor on IPFS; its CID is what the chain records. */
export interface JobSpec {
  version: 1;
  title: string;
  purpose: string;
  requester: string;
  /** The data the program reads: which ability, which fields. */
  reads: Array<{ ability: string; fields: string[] }>;
  /** The map program. v1 knows built-in programs only; the sandboxed forms come later. */
  program: { kind: "builtin"; name: "km-per-day"; days: number; windowEnd: number };
  output: OutputSpec;
  privacy: PrivacySpec;
  minParticipants: number;
}
