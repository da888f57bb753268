// Jobs from the user's side: what the registry has posted, whether this vault's avatar may answer each one and whether
// it has, and the checks that come before anything is mapped or proved. Portable: the chain, IPFS and the group trees
// come in as components, so the browser app calls the same functions as the CLI.
import type { Group, GroupSync } from "@mosaic/avatar";
import { decodeSpec, type RecordedJob, type RecordedSharedJob, sharedSpecDisagreement, specDisagreement } from "@mosaic/mapreduce";
import {
  isSharedJobId,
  type JobRef,
  type JobRegistry,
  type JobSpec,
  jobLabel,
  namedError,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
  specCidOf,
} from "@mosaic/protocol";
import { formatEpsilon } from "./budget.js";
import { AlreadySubmittedError } from "./errors.js";
import { JobClosedError, JobSpecMismatchError, NotInJobGroupError, SpecUnavailableError, UnknownJobError } from "./job-errors.js";
import { submissionOf } from "./submissions.js";
import { type ConsentRequest, jobKey, type Vault } from "./vault.js";

/** A job's state on the registry. */
export type JobState = "open" | "finalized" | "refunded";
const STATES: Record<number, JobState> = { 1: "open", 2: "finalized", 3: "refunded" };

/** A job as the chain records it (getJob and its JobPosted event). */
export interface PostedJob {
  jobId: bigint;
  researcher: string;
  /** The avatar group that may answer (from JobPosted: the chain keeps only the root and size). */
  groupId: bigint;
  /** The group's root when the job was posted: every proof must be against it. */
  groupRoot: bigint;
  groupSize: number;
  specCid: string;
  /** Wei. */
  reward: bigint;
  minStake: bigint;
  minParticipants: number;
  collectionDeadline: number;
  proposalDeadline: number;
  finalizeAfter: number;
  state: JobState;
  /** The block the job was posted in. */
  postedBlock: number;
  /** The raw getJob struct, for checking a spec against it (a shared job's: what it has of them, see `shared`). */
  chain: ChainJobFields;
  /** Set for a SharedJobs job (mode "shared"): its aggregators and what its spec is checked against. */
  shared?: SharedPostedFields;
}

/** The getJob fields a spec is checked against. */
export type ChainJobFields = RecordedJob;

/** What SharedJobs records of a shared-mode job besides what every job has. */
export interface SharedPostedFields {
  /** The SharedJobs contract's address, lower-case: the job's `registry` in its JobRef, scope and receipts. */
  address: string;
  /** The two aggregators' operator addresses, the leader (aggregator 0) first. */
  aggregators: [string, string];
  /** Their X25519 public keys as the job recorded them: the input shares are encrypted to these. */
  aggregatorKeys: [Uint8Array, Uint8Array];
  /** Commits are taken until then; challenges until finalizeAfter. */
  commitDeadline: number;
  /** The getSharedJob fields a spec is checked against (sharedSpecDisagreement). */
  record: RecordedSharedJob;
}

export interface ReadJobsOptions {
  /**
   * The first block to read JobPosted events from: the registry's deploy block.
   * @default 0
   */
  fromBlock?: number;
  /** @default the latest block */
  toBlock?: number;
  /**
   * Blocks per `eth_getLogs` query.
   * @default 10000
   */
  blockRange?: number;
  signal?: AbortSignal;
}

type RawJob = Awaited<ReturnType<JobRegistry["getJob"]>>;

function postedJob(jobId: bigint, j: RawJob, groupId: bigint, postedBlock: number): PostedJob {
  return {
    jobId,
    researcher: j.researcher,
    groupId,
    groupRoot: j.groupRoot,
    groupSize: Number(j.groupSize),
    specCid: specCidOf(j.specDigest).toString(),
    reward: j.reward,
    minStake: j.minStake,
    minParticipants: Number(j.minParticipants),
    collectionDeadline: Number(j.collectionDeadline),
    proposalDeadline: Number(j.proposalDeadline),
    finalizeAfter: Number(j.finalizeAfter),
    state: STATES[Number(j.state)] ?? "open",
    postedBlock,
    chain: {
      collectionDeadline: j.collectionDeadline,
      proposalDeadline: j.proposalDeadline,
      minParticipants: j.minParticipants,
      reward: j.reward,
      minStake: j.minStake,
      kind: j.kind,
      payloadLength: j.payloadLength,
      edgesHash: j.edgesHash,
      boundsHash: j.boundsHash,
    },
  };
}

/** The JobPosted events in [fromBlock, toBlock], in chunks of `blockRange` blocks. */
async function postedEvents(
  registry: JobRegistry,
  jobId: bigint | undefined,
  options: ReadJobsOptions,
): Promise<{ jobId: bigint; groupId: bigint; block: number }[]> {
  const provider = registry.runner?.provider;
  if (provider == null) throw new TypeError("registry: expected a JobRegistry connected to a provider");
  const to = options.toBlock ?? (await provider.getBlockNumber());
  const range = Math.max(1, options.blockRange ?? 10_000);
  const filter = registry.filters.JobPosted(jobId);
  const out: { jobId: bigint; groupId: bigint; block: number }[] = [];
  for (let from = options.fromBlock ?? 0; from <= to; from += range) {
    options.signal?.throwIfAborted();
    for (const e of await registry.queryFilter(filter, from, Math.min(to, from + range - 1)))
      out.push({ jobId: e.args.jobId, groupId: e.args.groupId, block: e.blockNumber });
  }
  return out;
}

/** Every job posted in the block range, oldest first, with its state now. */
export async function readPostedJobs(registry: JobRegistry, options: ReadJobsOptions = {}): Promise<PostedJob[]> {
  const events = await postedEvents(registry, undefined, options);
  const out: PostedJob[] = [];
  for (const e of events) out.push(postedJob(e.jobId, await registry.getJob(e.jobId), e.groupId, e.block));
  return out;
}

/** One job; UnknownJobError when the registry has none of that id. */
export async function readPostedJob(registry: JobRegistry, jobId: bigint, options: ReadJobsOptions = {}): Promise<PostedJob> {
  const count = await registry.jobCount();
  if (jobId < 1n || jobId > count)
    throw new UnknownJobError(
      `no job ${jobId} on registry ${await registry.getAddress()} (it has ${count}); 'mosaic vault jobs' lists them`,
    );
  const [event] = await postedEvents(registry, jobId, options);
  if (event === undefined)
    throw new UnknownJobError(
      `job ${jobId} has no JobPosted event from block ${options.fromBlock ?? 0}: is the registry's deploy block right?`,
    );
  return postedJob(jobId, await registry.getJob(jobId), event.groupId, event.block);
}

type RawSharedJob = Awaited<ReturnType<SharedJobs["getSharedJob"]>>;

const hexBytes = (hex: string): Uint8Array => Uint8Array.from((hex.slice(2).match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));

function postedSharedJob(address: string, jobId: bigint, j: RawSharedJob, groupId: bigint, postedBlock: number): PostedJob {
  const record: RecordedSharedJob = {
    collectionDeadline: j.collectionDeadline,
    challengeWindow: j.challengeWindow,
    minParticipants: j.minParticipants,
    reward: j.reward,
    minStake: j.minStake,
    shareLength: j.shareLength,
    fieldId: j.fieldId,
  };
  return {
    jobId,
    researcher: j.researcher,
    groupId,
    groupRoot: j.groupRoot,
    groupSize: Number(j.groupSize),
    specCid: specCidOf(j.specDigest).toString(),
    reward: j.reward,
    minStake: j.minStake,
    minParticipants: Number(j.minParticipants),
    collectionDeadline: Number(j.collectionDeadline),
    // A shared job's results are committed until commitDeadline: its "proposal" window.
    proposalDeadline: Number(j.commitDeadline),
    finalizeAfter: Number(j.finalizeAfter),
    state: STATES[Number(j.state)] ?? "open",
    postedBlock,
    chain: {
      collectionDeadline: j.collectionDeadline,
      proposalDeadline: j.commitDeadline,
      minParticipants: j.minParticipants,
      reward: j.reward,
      minStake: j.minStake,
      kind: 0n,
      payloadLength: j.shareLength,
      edgesHash: `0x${"0".repeat(64)}`,
      boundsHash: `0x${"0".repeat(64)}`,
    },
    shared: {
      address: address.toLowerCase(),
      aggregators: [j.aggregators[0], j.aggregators[1]] as [string, string],
      aggregatorKeys: [hexBytes(j.aggregatorKeys[0]), hexBytes(j.aggregatorKeys[1])] as [Uint8Array, Uint8Array],
      commitDeadline: Number(j.commitDeadline),
      record,
    },
  };
}

/** The SharedJobPosted events in [fromBlock, toBlock], in chunks of `blockRange` blocks. */
async function sharedPostedEvents(
  shared: SharedJobs,
  jobId: bigint | undefined,
  options: ReadJobsOptions,
): Promise<{ jobId: bigint; groupId: bigint; block: number }[]> {
  const provider = shared.runner?.provider;
  if (provider == null) throw new TypeError("sharedJobs: expected a SharedJobs contract connected to a provider");
  const to = options.toBlock ?? (await provider.getBlockNumber());
  const range = Math.max(1, options.blockRange ?? 10_000);
  const filter = shared.filters.SharedJobPosted(jobId);
  const out: { jobId: bigint; groupId: bigint; block: number }[] = [];
  for (let from = options.fromBlock ?? 0; from <= to; from += range) {
    options.signal?.throwIfAborted();
    for (const e of await shared.queryFilter(filter, from, Math.min(to, from + range - 1)))
      out.push({ jobId: e.args.jobId, groupId: e.args.groupId, block: e.blockNumber });
  }
  return out;
}

/** Every shared-mode job posted on SharedJobs in the block range, oldest first, with its state now. */
export async function readSharedPostedJobs(shared: SharedJobs, options: ReadJobsOptions = {}): Promise<PostedJob[]> {
  const address = await shared.getAddress();
  const out: PostedJob[] = [];
  for (const e of await sharedPostedEvents(shared, undefined, options))
    out.push(postedSharedJob(address, e.jobId, await shared.getSharedJob(e.jobId), e.groupId, e.block));
  return out;
}

/** One shared-mode job (an id from SHARED_JOB_ID_BASE up, s1, s2, …); UnknownJobError when SharedJobs has none of that id. */
export async function readSharedPostedJob(shared: SharedJobs, jobId: bigint, options: ReadJobsOptions = {}): Promise<PostedJob> {
  const address = await shared.getAddress();
  const count = await shared.jobCount();
  if (!isSharedJobId(jobId) || jobId - SHARED_JOB_ID_BASE < 1n || jobId - SHARED_JOB_ID_BASE > count)
    throw new UnknownJobError(
      `no shared job ${jobLabel(jobId)} on SharedJobs ${address} (it has ${count === 0n ? "none" : count === 1n ? "1: s1" : `${count}: s1…s${count}`}); 'mosaic vault jobs' lists them`,
    );
  const [event] = await sharedPostedEvents(shared, jobId, options);
  if (event === undefined)
    throw new UnknownJobError(
      `shared job ${jobLabel(jobId)} has no SharedJobPosted event from block ${options.fromBlock ?? 0}: is the registry's deploy block right?`,
    );
  return postedSharedJob(address, jobId, await shared.getSharedJob(jobId), event.groupId, event.block);
}

/**
 * A job of either contract by id: SharedJobs' for a shared id (UnknownJobError when the board has no SharedJobs
 * address), JobRegistry's otherwise.
 */
export async function readAnyPostedJob(
  components: Pick<JobBoardComponents, "registry" | "sharedJobs">,
  jobId: bigint,
  options: ReadJobsOptions = {},
): Promise<PostedJob> {
  if (!isSharedJobId(jobId)) return readPostedJob(components.registry, jobId, options);
  if (components.sharedJobs === undefined)
    throw new UnknownJobError(
      `job ${jobLabel(jobId)} is a shared-mode job, on SharedJobs, and no SharedJobs address was given: pass --shared-jobs ADDRESS or a network file with contracts.sharedJobs`,
    );
  return readSharedPostedJob(components.sharedJobs, jobId, options);
}

/** Throws JobSpecMismatchError unless the spec says what the chain recorded for the job (as reducers check it). */
export function checkSpecMatchesJob(spec: JobSpec, job: ChainJobFields): void {
  const d = specDisagreement(spec, job);
  if (d !== undefined)
    throw new JobSpecMismatchError(
      `the job's spec says ${d.what} ${d.inSpec} but the chain recorded ${d.onChain}; the vault will not run it`,
    );
}

/** What answering and listing jobs needs from its surroundings. */
export interface JobBoardComponents {
  /** The JobRegistry, connected to a provider. */
  registry: JobRegistry;
  /**
   * SharedJobs, connected to a provider: its shared-mode jobs are listed and answered too.
   * @default none: shared jobs are not listed, and a shared id is UnknownJobError
   */
  sharedJobs?: SharedJobs;
  chainId: bigint;
  /** The spec block's bytes by CID, from IPFS (reducers hold every open job's spec). BlockUnavailableError if none has it. */
  fetchSpec(cid: string, options: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** The avatar group `groupId`, synced to the latest block (a cached GroupSync in Node, so only new events are read). */
  groupSync(groupId: bigint, options: { signal?: AbortSignal }): Promise<GroupSync>;
  /** Now on the chain's clock, unix seconds. */
  now(): Promise<number>;
}

/** The job's coordinates everywhere (topic, scope, vault keys). */
export function jobRefOf(components: Pick<JobBoardComponents, "chainId" | "registry">, jobId: bigint, registryAddress: string): JobRef {
  return { chainId: components.chainId, registry: registryAddress.toLowerCase(), jobId };
}

/** Whether the avatar is a member of the job's group as it stood at post, and the group then. */
export function membershipAt(sync: GroupSync, root: bigint, commitment: bigint): Group | undefined {
  if (!sync.hadRoot(root)) return undefined;
  const group = sync.groupAt(root);
  return group.indexOf(commitment) >= 0 ? group : undefined;
}

/**
 * This vault's record of a job is of another job under the same chain id, registry and job id: the chain was reset
 * (a re-run devnet keeps its chain id and contract addresses), so the job on-chain now is not the one answered.
 */
export class StaleJobRecordError extends namedError("StaleJobRecordError") {}

/**
 * Whether this vault's answer to `job` was to another job than the one on-chain now (its recorded spec CID differs
 * from the chain's): the chain was reset. Records from before the spec CID was kept cannot tell and say no.
 */
export function staleAnswer(vault: Vault, job: JobRef, specCid: string): { recorded: string } | undefined {
  const recorded = submissionOf(vault, jobKey(job))?.specCid;
  return recorded !== undefined && recorded !== specCid ? { recorded } : undefined;
}

/** When this vault sent its answer to the job (from the egress records), or undefined. */
export function answeredAt(vault: Vault, job: JobRef): number | undefined {
  const key = jobKey(job);
  const consent = vault.consents().find((c) => c.jobKey === key);
  return consent?.submitted ?? submissionOf(vault, key)?.submittedAt;
}

/** A job as `vault jobs` lists it. */
export interface JobListing {
  jobId: string;
  jobKey: string;
  state: JobState;
  /** Whether the collection window is still open (state open and the deadline ahead, on the chain's clock). */
  collecting: boolean;
  groupId: string;
  /** Whether this vault's avatar was in the group when the job was posted. */
  member: boolean;
  researcher: string;
  specCid: string;
  /** Wei, decimal. */
  reward: string;
  minParticipants: number;
  collectionDeadline: number;
  /** Seconds until the collection deadline (negative once past), on the chain's clock. */
  secondsLeft: number;
  /** The spec's words, when a reducer handed it over. */
  title?: string;
  requester?: string;
  purpose?: string;
  /** "num/den". */
  epsilon?: string;
  mechanism?: string;
  /** Why the spec is missing (unfetchable) or refused (disagrees with the chain). */
  specError?: { name: string; message: string };
  answered: boolean;
  answeredAt?: number;
  /**
   * This vault's answer under this job's key was to another job (another spec CID): the chain was reset. The job
   * listed is not the one answered; this vault cannot answer it (StaleJobRecordError).
   */
  staleRecord?: boolean;
  /** Set for a SharedJobs job only (a JobRegistry job's listing is as it always was): its mode. */
  mode?: "shared";
  /** A shared job's id as people type it (s1, s2, …; protocol's jobLabel). */
  label?: string;
  /** A shared job's two aggregators' operator addresses, the leader first. */
  aggregators?: [string, string];
}

export interface ListJobsOptions extends ReadJobsOptions {
  /**
   * Also list jobs that are closed and jobs for groups the avatar is not in.
   * @default false
   */
  all?: boolean;
}

/**
 * The jobs this vault's avatar may answer: open, collecting, and posted for a group the avatar was in when the job
 * was posted; each with its spec's title, requester, purpose and epsilon, and whether this vault answered it.
 */
export async function listJobs(
  components: JobBoardComponents,
  vault: Vault,
  options: ListJobsOptions = {},
): Promise<{ now: number; jobs: JobListing[] }> {
  const { signal } = options;
  const registryAddress = await components.registry.getAddress();
  const now = await components.now();
  const posted = await readPostedJobs(components.registry, options);
  if (components.sharedJobs !== undefined) posted.push(...(await readSharedPostedJobs(components.sharedJobs, options)));
  const syncs = new Map<bigint, GroupSync>();
  const out: JobListing[] = [];
  for (const p of posted) {
    const collecting = p.state === "open" && now < p.collectionDeadline;
    if (!collecting && options.all !== true) continue;
    let sync = syncs.get(p.groupId);
    if (sync === undefined) {
      sync = await components.groupSync(p.groupId, { signal });
      syncs.set(p.groupId, sync);
    }
    const member = membershipAt(sync, p.groupRoot, vault.avatar.commitment) !== undefined;
    if (!member && options.all !== true) continue;
    const ref = jobRefOf(components, p.jobId, p.shared?.address ?? registryAddress);
    const at = answeredAt(vault, ref);
    const listing: JobListing = {
      jobId: p.jobId.toString(),
      jobKey: jobKey(ref),
      state: p.state,
      collecting,
      groupId: p.groupId.toString(),
      member,
      researcher: p.researcher,
      specCid: p.specCid,
      reward: p.reward.toString(),
      minParticipants: p.minParticipants,
      collectionDeadline: p.collectionDeadline,
      secondsLeft: p.collectionDeadline - now,
      answered: at !== undefined,
      ...(at === undefined ? {} : { answeredAt: at }),
      ...(at !== undefined && staleAnswer(vault, ref, p.specCid) !== undefined ? { staleRecord: true } : {}),
      ...(p.shared === undefined
        ? {}
        : { mode: "shared" as const, label: jobLabel(p.jobId), aggregators: [...p.shared.aggregators] as [string, string] }),
    };
    try {
      const spec = await fetchJobSpec(components, p, { signal });
      listing.title = spec.title;
      listing.requester = `${spec.requester.name} <${spec.requester.contact}>`;
      listing.purpose = spec.purpose;
      listing.epsilon = formatEpsilon(spec.privacy.epsilon);
      listing.mechanism = spec.privacy.mechanism;
    } catch (err) {
      signal?.throwIfAborted();
      listing.specError = { name: (err as Error).name, message: (err as Error).message };
    }
    out.push(listing);
  }
  return { now, jobs: out };
}

/** The job's spec from IPFS, decoded and checked against the chain: SpecUnavailableError or JobSpecMismatchError. */
export async function fetchJobSpec(
  components: Pick<JobBoardComponents, "fetchSpec">,
  job: PostedJob,
  options: { signal?: AbortSignal } = {},
): Promise<JobSpec> {
  let bytes: Uint8Array;
  try {
    bytes = await components.fetchSpec(job.specCid, options);
  } catch (err) {
    options.signal?.throwIfAborted();
    throw new SpecUnavailableError(
      `job ${jobLabel(job.jobId)}: no reducer handed over its spec ${job.specCid} (${(err as Error).message}); try again later`,
    );
  }
  let spec: JobSpec;
  try {
    spec = decodeSpec(bytes);
  } catch (err) {
    throw new JobSpecMismatchError(
      `job ${jobLabel(job.jobId)}: its spec ${job.specCid} does not decode (${(err as Error).message}); the vault will not run it`,
    );
  }
  if (job.shared !== undefined) checkSharedSpecMatchesJob(spec, job.shared.record, job.jobId);
  else checkSpecMatchesJob(spec, job.chain);
  return spec;
}

/**
 * Throws JobSpecMismatchError unless the spec says what SharedJobs recorded for the job (sharedSpecDisagreement, as
 * the aggregators check it): a local-mode spec fetched for a SharedJobs id is refused here, by its mode.
 */
export function checkSharedSpecMatchesJob(spec: JobSpec, record: RecordedSharedJob, jobId?: bigint): void {
  let d: ReturnType<typeof sharedSpecDisagreement>;
  try {
    d = sharedSpecDisagreement(spec, record);
  } catch (err) {
    // A spec whose output has no Prio3 shape cannot be the one SharedJobs recorded.
    d = { what: "Prio3 shape", inSpec: (err as Error).message, onChain: `field ${record.fieldId}` };
  }
  if (d !== undefined)
    throw new JobSpecMismatchError(
      `${jobId === undefined ? "the job's" : `job ${jobLabel(jobId)}:`} spec says ${d.what} ${d.inSpec} but SharedJobs recorded ${d.onChain}; the vault will not run it`,
    );
}

/** A job checked and ready to review: its spec, and the avatar's group as it stood at post. */
export interface PreparedJob {
  job: JobRef;
  posted: PostedJob;
  spec: JobSpec;
  /** The group at the job's root: what the proof is made against. */
  group: Group;
  /** Chain time when prepared, unix seconds. */
  now: number;
}

export interface PrepareJobOptions extends ReadJobsOptions {
  /** Called as each step starts ("chain", "sync group", "spec"), for a CLI to show progress. */
  onStep?: (step: string) => void;
  /**
   * Whether a job already answered is an error (answering) or not (reviewing again, reading receipts).
   * @default true
   */
  refuseAnswered?: boolean;
}

/**
 * Reads a job from the chain and checks this vault may answer it, in this order, each a named error with nothing
 * recorded: UnknownJobError, AlreadySubmittedError (this vault sent its answer), JobClosedError (the window closed, or
 * the job is final or refunded), NotInJobGroupError (the avatar was not in the job's group at post), then the spec:
 * SpecUnavailableError, JobSpecMismatchError.
 */
export async function prepareJob(
  components: JobBoardComponents,
  vault: Vault,
  jobId: bigint,
  options: PrepareJobOptions = {},
): Promise<PreparedJob> {
  const { signal } = options;
  options.onStep?.("chain");
  const posted = await readAnyPostedJob(components, jobId, options);
  const job = jobRefOf(components, jobId, posted.shared?.address ?? (await components.registry.getAddress()));
  const id = jobLabel(jobId);
  const at = answeredAt(vault, job);
  const stale = at === undefined ? undefined : staleAnswer(vault, job, posted.specCid);
  if (stale !== undefined && options.refuseAnswered !== false)
    throw new StaleJobRecordError(
      `job ${id}: this vault answered a job ${id} with spec ${stale.recorded} on this chain id and registry, but the chain's job ${id} has spec ${posted.specCid}: ` +
        "the chain was reset (a re-run devnet?); this vault's records of the old chain keep it from answering the new job — use another vault for the new chain",
    );
  if (at !== undefined && options.refuseAnswered !== false)
    throw new AlreadySubmittedError(
      `job ${id}: this vault sent its answer at ${new Date(at).toISOString()}; an answer leaves once ('mosaic vault receipts --job ${id}' shows where it stands)`,
    );
  const now = await components.now();
  if (posted.state !== "open")
    throw new JobClosedError(
      `job ${id} is ${posted.state}: its collection window closed at ${new Date(posted.collectionDeadline * 1000).toISOString()}`,
    );
  if (now >= posted.collectionDeadline)
    throw new JobClosedError(
      `job ${id}: its collection window closed at ${new Date(posted.collectionDeadline * 1000).toISOString()} (${now - posted.collectionDeadline} s ago on the chain's clock)`,
    );
  options.onStep?.("sync group");
  const sync = await components.groupSync(posted.groupId, { signal });
  const group = membershipAt(sync, posted.groupRoot, vault.avatar.commitment);
  if (group === undefined)
    throw new NotInJobGroupError(
      `job ${id} is for group ${posted.groupId}, and this vault's avatar was not in it when the job was posted; ` +
        `join with 'mosaic avatar register --group ${posted.groupId}' to answer the group's next jobs`,
    );
  options.onStep?.("spec");
  const spec = await fetchJobSpec(components, posted, { signal });
  return { job, posted, spec, group, now };
}

/**
 * The consent screen for a prepared job (vault.review): a shared job's with its two aggregators as SharedJobs recorded
 * them (addresses and keys), so the screen names them and the consent binds the shares to exactly those keys.
 */
export function reviewJob(vault: Vault, prepared: PreparedJob, options: { signal?: AbortSignal } = {}): Promise<ConsentRequest> {
  const shared = prepared.posted.shared;
  return vault.review(prepared.spec, prepared.job, {
    ...options,
    ...(shared === undefined
      ? {}
      : { aggregators: shared.aggregators.map((address, i) => ({ address, key: shared.aggregatorKeys[i] as Uint8Array })) }),
  });
}
