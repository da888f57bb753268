// `mosaic job ...`: what a researcher runs: write a ready job, post it with a cost preview, list, watch, read results.
import { readFile, writeFile } from "node:fs/promises";
import { publishSubmission } from "@mosaic/avatar";
import {
  type AbilityCatalog,
  abilityCatalog,
  decodeSpec,
  encodeSpec,
  formatSpan,
  isoTime,
  type JobStage,
  type JobStanding,
  jobGroups,
  postJobArgs,
  postSharedJobArgs,
  READY_JOBS,
  readJobStanding,
  readJobStandings,
  readSharedJobStanding,
  readSharedJobStandings,
  resultView,
  type SharedJobStage,
  type SharedJobStanding,
  sharedJobGroups,
  validateSpec,
} from "@mosaic/mapreduce";
import {
  localRpc,
  attachReducerDirectory,
  createIpfsNode,
  findEvent,
  getBlock,
  isSharedJobId,
  type JobMode,
  jobLabel,
  type JobRegistry,
  JobRegistry__factory,
  type JobSpec,
  namedError,
  parseCid,
  type ReducerRecord,
  readReducers,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
  sleep,
  specTopic,
} from "@mosaic/protocol";
import { BUILTIN_ABILITIES } from "@mosaic/vault";
import { formatEther, isAddress, type Provider, parseEther, type Signer } from "ethers";
import { UsageError } from "./args.js";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { renderPng, renderResultTable, renderTerminalChart, type ResultView } from "./result-view.js";
import { type AggregatorChoice, chooseAggregators, connectSharedJobs, NON_COLLUSION, sharedRefusal } from "./shared-job.js";

/** The registry refused a transaction; `reason` is the contract's error name. */
export class JobContractError extends contractRefusal("JobContractError") {}

/** No reducer took the spec when posting, so the job was not posted. */
export class NoResultError extends namedError("NoResultError") {}

/** A spec file cannot be read or is not JSON: the message names the file and the reader's or parser's error. */
export class SpecFileError extends namedError("SpecFileError") {}

/** The spec given is not the job's (its CID differs from the one the chain recorded): another job, chain or registry. */
export class SpecMismatchError extends namedError("SpecMismatchError") {}

/** The registry has no job with this id: the message says how many it has, so a wrong registry or network shows. */
export class NoSuchJobError extends namedError("NoSuchJobError") {}

/** No reducer could be found to hand a spec to (none announced with enough stake, or none fetched it). */
export class NoReducerError extends namedError("NoReducerError") {}

/** Where the registry is, and the paying wallet for transactions (resolved from --network and the chain flags). */
export interface JobFlags {
  rpc: string;
  registry: string;
  walletKeyFile?: string;
  /** Where `rpc` came from ("--rpc", or the network file), named when it does not answer. @default "--rpc" */
  rpcSource?: string;
  /** Where `registry` came from, named when no contract is there. @default "--registry" */
  registrySource?: string;
  /** The chain the network file is for: a WrongChainError when the RPC serves another. @default undefined (not checked) */
  chainId?: number;
  networkFile?: string;
  /**
   * The block the registry was deployed in (a network file gives it): log reads start there, not at block 0.
   * @default 0
   */
  fromBlock?: number;
  /**
   * The ReducerDirectory's address: without --peer, specs are handed to (and fetched from) the reducers announced there.
   * @default undefined (only --peer)
   */
  directory?: string;
  /** libp2p peers to bootstrap from (the network file's), used with the directory's reducers to fetch a spec. @default [] */
  bootstrap?: string[];
  /** The SharedJobs contract's address, for shared-mode jobs (posting, listing, results). @default undefined (local jobs only) */
  sharedJobs?: string;
  /** Where `sharedJobs` came from, named in messages. @default "--shared-jobs" */
  sharedJobsSource?: string;
  /** The block SharedJobs was deployed in (a network file gives it): its log reads start there. @default fromBlock */
  sharedFromBlock?: number;
}

const STATES = ["none", "open", "finalized", "refunded"];

/** What the built-in abilities hold: the catalog every spec's reads are checked against before posting. */
export function builtinCatalog(): AbilityCatalog {
  return abilityCatalog(BUILTIN_ABILITIES);
}

/** A job command's connection: the chain, the registry's address, chain time, and the paying wallet if any. */
interface JobSession {
  chainId: bigint;
  address: string;
  now: number;
  provider: Provider;
  signer?: Signer;
}

async function session<T>(flags: JobFlags, use: (registry: JobRegistry, s: JobSession) => Promise<T>): Promise<T> {
  return withContract(
    {
      rpc: flags.rpc,
      rpcSource: flags.rpcSource,
      address: flags.registry,
      flag: flags.registrySource ?? "--registry",
      what: "JobRegistry",
      walletKeyFile: flags.walletKeyFile,
      chainId: flags.chainId,
      networkFile: flags.networkFile,
    },
    async (s) => {
      const registry = JobRegistry__factory.connect(s.address, s.signer ?? s.provider);
      const now = (await s.provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
      return use(registry, { chainId: s.chainId, address: s.address, now, provider: s.provider, signer: s.signer });
    },
    (err) => {
      const r = decodeRevert(err, JobRegistry__factory.createInterface());
      return r === undefined ? err : new JobContractError(r.name, `the registry refused: ${r.name}(${r.args})`);
    },
  );
}

/**
 * The reducers announced in the ReducerDirectory (flags.directory) with at least `minStake` staked, highest stake first;
 * undefined without a directory. A record that does not parse is skipped (readReducers), never fatal.
 */
async function reducersOnChain(
  flags: JobFlags,
  registry: JobRegistry,
  provider: Provider,
  minStake: bigint,
): Promise<ReducerRecord[] | undefined> {
  if (flags.directory === undefined) return undefined;
  if (!isAddress(flags.directory))
    throw new TypeError(
      `--directory: expected the ReducerDirectory's address (0x and 40 hex characters), got ${JSON.stringify(flags.directory)}`,
    );
  if ((await provider.getCode(flags.directory)) === "0x")
    throw new TypeError(`--directory: no contract at ${flags.directory} on ${flags.rpc}; check the address and the network`);
  return readReducers(attachReducerDirectory(provider, flags.directory), registry, {
    minStake: minStake > 0n ? minStake : 1n,
    allowPrivate: localRpc(flags.rpc),
  });
}

/** A job's schedule and money, as `mosaic job new` takes them; unset fields keep the ready job's defaults. */
export interface NewJobOptions {
  /** Write the spec here; undefined prints it. */
  out?: string;
  /** Seconds from now until collection closes. */
  deadlineIn: number;
  /** Days of data read. @default 7 */
  days?: number;
  /** Seconds reducers may propose in after the deadline, and again to challenge. @default 3600 */
  challengeWindow?: number;
  /** The fewest answers a result may count. @default 3 */
  minParticipants?: number;
  /** Wei, decimal. @default "100000000000000000" (0.1 ETH) */
  reward?: string;
  /** Wei, decimal. @default "1000000000000000000" (1 ETH) */
  minStake?: string;
  /** Where the noise goes (see JobMode). @default "local" */
  mode?: JobMode;
}

/** Writes a ready job's spec with fresh dates and the schedule given. */
export async function newJob(name: string, options: NewJobOptions): Promise<{ name: string; file?: string; spec: JobSpec }> {
  const build = READY_JOBS[name];
  if (build === undefined)
    throw new RangeError(`<name>: unknown ready job ${JSON.stringify(name)}; the library has ${Object.keys(READY_JOBS).join(", ")}`);
  const spec = build({
    collectionDeadline: Math.floor(Date.now() / 1000) + options.deadlineIn,
    days: options.days,
    challengeWindow: options.challengeWindow,
    minParticipants: options.minParticipants,
    reward: options.reward,
    minStake: options.minStake,
    mode: options.mode,
  });
  // The same checks `job check` makes: a schedule the spec cannot hold is refused before a file is written.
  validateSpec(spec, { abilities: builtinCatalog() });
  if (options.out !== undefined) await writeFile(options.out, `${JSON.stringify(spec, null, 2)}\n`);
  return { name, file: options.out, spec };
}

/** Reads and validates a spec file against the built-in abilities (and `now`, when given). */
export async function readSpecFile(file: string, now?: number): Promise<JobSpec> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new SpecFileError(`${file}: cannot read the spec file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SpecFileError(`${file}: not valid JSON (${(err as Error).message}); fix it, or start again from 'mosaic job new <name>'`);
  }
  return validateSpec(value, { abilities: builtinCatalog(), now });
}

export interface PostResult {
  /** False for the preview ("Would post"), true once the job is on-chain. */
  posted: boolean;
  dryRun: boolean;
  specCid: string;
  title: string;
  groupId: string;
  minParticipants: number;
  collectionDeadline: number;
  challengeWindow: number;
  /** Chain time when the preview was made. */
  now: number;
  reward: string;
  minStake: string;
  gasEstimate: string;
  gasPriceWei: string;
  costWei: string;
  /** The reducers the spec is handed to: multiaddrs, one per reducer. */
  reducers: string[];
  /** Where they came from: --peer, or the ReducerDirectory on-chain (staked with at least the job's minStake). */
  reducersFrom: "--peer" | "directory";
  /** Where the noise goes: local (each vault), or shared (two aggregators; posted on SharedJobs). */
  mode: JobMode;
  /** Shared mode: the SharedJobs contract the job is posted on. */
  sharedJobs?: string;
  /** Shared mode: the two aggregators, leader first. */
  aggregators?: AggregatorChoice[];
  /** Shared mode: where the aggregators came from, --aggregator or the ReducerDirectory. */
  aggregatorsFrom?: "--aggregator" | "directory";
  /** Shared mode: what its privacy rests on, in one line (NON_COLLUSION). */
  trust?: string;
  /** The job's id, decimal (a shared job's is 2^128 + n). */
  jobId?: string;
  /** The job's id as people type it: 1, 2 for JobRegistry jobs; s1, s2 for shared-mode jobs. */
  label?: string;
  txHash?: string;
  gasUsed?: string;
  heldBy?: string[];
}

/**
 * Validates the spec, previews the cost (reward + gas), hands the spec block to the reducers given as peers
 * (they keep it, so it stays on IPFS after this command exits), then posts the job with the reward in escrow.
 */
export async function postJob(
  flags: JobFlags,
  options: {
    file: string;
    group: bigint;
    peers: string[];
    dryRun: boolean;
    /** A shared-mode spec's two aggregators (operator addresses); none: chosen from the directory. @default [] */
    aggregators?: string[];
    onPreview?(p: PostResult): void;
  },
): Promise<PostResult> {
  return session(flags, async (registry, s) => {
    const spec = await readSpecFile(options.file, s.now);
    // The registry wants both windows closed before a reducer could unbond: say so here, not as a revert.
    const unbonding = Number(await registry.unbondingDelay());
    if (2 * spec.challengeWindow >= unbonding)
      throw new RangeError(
        `${options.file}: challengeWindow: ${spec.challengeWindow} s is too long for this registry (it must be under ${Math.ceil(unbonding / 2)} s, half the reducers' unbonding delay); write it again with a shorter 'mosaic job new --challenge-window'`,
      );
    const block = await encodeSpec(spec);
    if (spec.mode === "shared") return postShared(flags, registry, s, spec, block, options);
    if ((options.aggregators ?? []).length > 0)
      throw new UsageError(
        `post: --aggregator is for shared-mode specs, and ${options.file} is a local-mode one (each vault noises its own answer); drop --aggregator, or write a shared spec with 'mosaic job new <name> --mode shared'`,
      );
    const { args, value } = postJobArgs(spec, block.cid.toString(), options.group);
    const gas = await registry.postJob.estimateGas(...args, { value });
    // Without --peer, the reducers that announced themselves on-chain and can propose for this job (enough stake).
    const found = options.peers.length > 0 ? undefined : await reducersOnChain(flags, registry, s.provider, BigInt(spec.minStake));
    const peers = found === undefined ? options.peers : found.map((r) => r.addrs[0] as string);
    const fee = await s.provider.getFeeData();
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const preview: PostResult = {
      posted: false,
      dryRun: options.dryRun,
      specCid: block.cid.toString(),
      title: spec.title,
      groupId: options.group.toString(),
      minParticipants: spec.minParticipants,
      collectionDeadline: spec.collectionDeadline,
      challengeWindow: spec.challengeWindow,
      now: s.now,
      reward: spec.reward,
      minStake: spec.minStake,
      gasEstimate: gas.toString(),
      gasPriceWei: gasPrice.toString(),
      costWei: (value + gas * gasPrice).toString(),
      reducers: peers,
      reducersFrom: found === undefined ? "--peer" : "directory",
      mode: "local",
    };
    options.onPreview?.(preview);
    if (options.dryRun) return preview;
    if (peers.length === 0)
      throw found === undefined
        ? new RangeError("--peer: give at least one reducer's address, so the spec stays on IPFS after this command exits")
        : new NoReducerError(
            `no reducer with at least ${formatEther(spec.minStake)} ETH staked has announced itself in the ReducerDirectory at ${flags.directory}; start one ('mosaic reducer start'), or give --peer MULTIADDR`,
          );
    const named = found === undefined;
    const published = await publishSubmission(block, {
      // A reducer found on-chain may be down: all of its addresses are tried, and one fetch is enough to post.
      peers: named ? peers : (found ?? []).flatMap((r) => r.addrs),
      topic: specTopic(s.chainId, s.address),
      // Every reducer named must hold the spec before this node, its only other source, goes away; of those found
      // on-chain, as many as fetch it within the linger.
      minRecipients: named ? peers.length : 1,
      minFetches: peers.length,
      lingerMs: 30_000,
    }).catch((err: unknown) => {
      if (named) throw err;
      throw new NoReducerError(
        `none of the ${peers.length} reducer(s) announced in the ReducerDirectory answered (${(err as Error).message}); check they are running, or give --peer MULTIADDR`,
      );
    });
    if (published.fetches === 0)
      throw new NoResultError(
        named
          ? "no reducer fetched the spec; check the --peer addresses are running reducers, then post again"
          : "no reducer found on-chain fetched the spec; check they are running, or give --peer MULTIADDR, then post again",
      );
    const tx = await registry.postJob(...args, { value });
    const receipt = await tx.wait();
    const posted = findEvent(receipt, registry.interface, "JobPosted");
    return {
      ...preview,
      posted: true,
      jobId: String(posted.args.jobId),
      label: String(posted.args.jobId),
      txHash: tx.hash,
      gasUsed: String(receipt?.gasUsed),
      heldBy: published.recipients,
    };
  });
}

/**
 * postJob for a shared-mode spec: the two aggregators checked (or chosen from the directory) before anything is sent,
 * the preview, the spec handed to the reducers (the aggregators, unless --peer names others), then postSharedJob on
 * SharedJobs with the reward in escrow.
 */
async function postShared(
  flags: JobFlags,
  registry: JobRegistry,
  s: JobSession,
  spec: JobSpec,
  block: Awaited<ReturnType<typeof encodeSpec>>,
  options: { file: string; group: bigint; peers: string[]; dryRun: boolean; aggregators?: string[]; onPreview?(p: PostResult): void },
): Promise<PostResult> {
  const shared = await connectSharedJobs(
    { address: flags.sharedJobs, source: flags.sharedJobsSource, networkFile: flags.networkFile },
    {
      command: "job post",
      why: `${options.file} is a shared-mode spec, and a shared job`,
      runner: s.signer ?? s.provider,
      provider: s.provider,
      registry,
      rpc: flags.rpc,
    },
  );
  // The directory is read once, for both the choice of aggregators and where to hand the spec.
  let directoryRead: Promise<ReducerRecord[] | undefined> | undefined;
  const reducers = () => {
    directoryRead ??= reducersOnChain(flags, registry, s.provider, BigInt(spec.minStake));
    return directoryRead;
  };
  const { aggregators, from } = await chooseAggregators(
    { registry, shared, reducers, directory: flags.directory, researcher: await s.signer?.getAddress() },
    spec,
    options.aggregators ?? [],
  );
  const { args, value } = postSharedJobArgs(spec, block.cid.toString(), options.group, [aggregators[0].address, aggregators[1].address]);
  const gas = await shared.postSharedJob.estimateGas(...args, { value }).catch((err: unknown) => {
    throw sharedRefusal(shared, err);
  });
  // The aggregators must hold the spec to aggregate: they are handed it, unless --peer names the nodes to hand it to.
  const named = options.peers.length > 0;
  const missing = aggregators.filter((a) => a.addrs.length === 0);
  const peers = named ? options.peers : aggregators.flatMap((a) => a.addrs.slice(0, 1));
  const fee = await s.provider.getFeeData();
  const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  const preview: PostResult = {
    posted: false,
    dryRun: options.dryRun,
    specCid: block.cid.toString(),
    title: spec.title,
    groupId: options.group.toString(),
    minParticipants: spec.minParticipants,
    collectionDeadline: spec.collectionDeadline,
    challengeWindow: spec.challengeWindow,
    now: s.now,
    reward: spec.reward,
    minStake: spec.minStake,
    gasEstimate: gas.toString(),
    gasPriceWei: gasPrice.toString(),
    costWei: (value + gas * gasPrice).toString(),
    reducers: peers,
    reducersFrom: named ? "--peer" : "directory",
    mode: "shared",
    sharedJobs: await shared.getAddress(),
    aggregators,
    aggregatorsFrom: from,
    trust: NON_COLLUSION,
  };
  options.onPreview?.(preview);
  if (options.dryRun) return preview;
  if (!named && missing.length > 0)
    throw new NoReducerError(
      `aggregator ${missing.map((a) => a.address).join(" and ")} has no record in the ReducerDirectory${flags.directory === undefined ? " (no --directory or --network given)" : ` at ${flags.directory}`}, so the spec cannot be handed to it; give --peer MULTIADDR for each aggregator's reducer`,
    );
  const published = await publishSubmission(block, {
    // Every address of both aggregators is tried; each of them must fetch the spec before this node goes away.
    peers: named ? peers : aggregators.flatMap((a) => a.addrs),
    topic: specTopic(s.chainId, s.address),
    minRecipients: named ? peers.length : 1,
    minFetches: named ? peers.length : 2,
    lingerMs: 30_000,
  }).catch((err: unknown) => {
    if (named) throw err;
    throw new NoReducerError(
      `the aggregators' reducers did not answer (${(err as Error).message}); check they are running, or give --peer MULTIADDR`,
    );
  });
  if (published.fetches === 0)
    throw new NoResultError(
      "no reducer fetched the spec; check the aggregators' reducers (or the --peer addresses) are running, then post again",
    );
  const tx = await shared.postSharedJob(...args, { value }).catch((err: unknown) => {
    throw sharedRefusal(shared, err);
  });
  const receipt = await tx.wait();
  const posted = findEvent(receipt, shared.interface, "SharedJobPosted");
  return {
    ...preview,
    posted: true,
    jobId: String(posted.args.jobId),
    label: jobLabel(posted.args.jobId as bigint),
    txHash: tx.hash,
    gasUsed: String(receipt?.gasUsed),
    heldBy: published.recipients,
  };
}

export function formatPost(r: PostResult): string {
  const finalFrom = r.collectionDeadline + 2 * r.challengeWindow;
  const lines = [
    `${r.posted ? "Posted" : "Would post"}: ${r.title}`,
    `  group     ${r.groupId}`,
    `  closes    ${isoTime(r.collectionDeadline)} (in ${formatSpan(r.collectionDeadline - r.now)})`,
    `  window    ${formatSpan(r.challengeWindow)} to propose, then ${formatSpan(r.challengeWindow)} to challenge; final from ${isoTime(finalFrom)}`,
    `  minimum   ${r.minParticipants} participant${r.minParticipants === 1 ? "" : "s"}, or the reward is refunded`,
    `  reward    ${formatEther(r.reward)} ETH (escrowed; reducers need ${formatEther(r.minStake)} ETH staked)`,
    `  gas       ${r.gasEstimate} × ${formatEther(r.gasPriceWei)} ETH`,
    `  total     ${formatEther(r.costWei)} ETH`,
    `  spec      ${r.specCid}`,
    ...(r.mode === "shared"
      ? [
          `  mode      shared: each answer goes as two encrypted Prio3 shares, one per aggregator; each noises its share of the sum (SharedJobs ${r.sharedJobs})`,
          `  aggregators ${(r.aggregators ?? []).map((a, i) => `${a.address} (${i === 0 ? "leader, " : ""}${formatEther(a.stake)} ETH staked, key ${a.fingerprint})`).join(" and ")}${r.aggregatorsFrom === "directory" ? ", chosen from the reducers announced on-chain" : ""}`,
          `  trust     ${r.trust}`,
        ]
      : []),
    `  reducers  ${r.reducers.length === 0 ? (r.reducersFrom === "directory" ? "none announced on-chain with enough stake" : "none given") : `${r.reducers.length}${r.reducersFrom === "directory" ? " found on-chain" : ""}: ${r.reducers.join(", ")}`}`,
  ];
  if (r.jobId !== undefined) lines.push(`  job       ${r.label ?? r.jobId}`, `  tx        ${r.txHash} (gas used ${r.gasUsed})`);
  else if (r.dryRun) lines.push("Dry run: nothing was posted.");
  return lines.join("\n");
}

/** A reducer's count of accepted submissions for a job, from its status port; undefined if it does not answer. */
async function reducerCount(reducer: string | undefined, jobId: bigint): Promise<number | undefined> {
  if (reducer === undefined) return undefined;
  try {
    const res = await fetch(`${reducer.replace(/\/$/, "")}/jobs/${jobId}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const accepted = ((await res.json()) as { accepted?: unknown }).accepted;
    return typeof accepted === "number" ? accepted : undefined;
  } catch {
    return undefined;
  }
}

async function requireJob(registry: JobRegistry, jobId: bigint, registryAddress: string): Promise<void> {
  const n = await registry.jobCount();
  if (jobId < 1n || jobId > n)
    throw new NoSuchJobError(
      `<id>: no job ${jobId} on the registry at ${registryAddress} (it has ${n === 0n ? "no jobs" : `jobs 1 to ${n}`}); check the id and --registry or --network`,
    );
}

/** A NoSuchJobError unless SharedJobs has job `jobId` (s1 to s<jobCount>). */
async function requireSharedJob(shared: SharedJobs, jobId: bigint): Promise<void> {
  const n = await shared.jobCount();
  const k = jobId - SHARED_JOB_ID_BASE;
  if (k < 1n || k > n)
    throw new NoSuchJobError(
      `<id>: no shared job ${jobLabel(jobId)} on SharedJobs at ${await shared.getAddress()} (it has ${n === 0n ? "no jobs" : n === 1n ? "job s1" : `jobs s1 to s${n}`}); check the id and --shared-jobs or --network`,
    );
}

/** One job in `job list`: its schedule, chain state and standing. */
export interface JobRow {
  jobId: string;
  /** The id as people type it: 1, 2 for JobRegistry jobs, s1, s2 for shared-mode ones. */
  label: string;
  mode: JobMode;
  /** The chain's state: open, finalized or refunded. */
  state: string;
  stage: JobStage | SharedJobStage;
  summary: string;
  specCid: string;
  groupId: string;
  reward: string;
  minParticipants: number;
  collectionDeadline: number;
  /** When proposals close (a shared job: when the aggregators' commits close). */
  proposalDeadline: number;
  finalizeAfter: number;
  /** Proposals committed (a shared job: aggregators committed, 0 to 2). */
  proposals: number;
  leading?: number;
}

export async function listJobs(flags: JobFlags): Promise<{ now: number; jobs: JobRow[] }> {
  return session(flags, async (registry, s) => {
    const standings = await readJobStandings(registry, { now: s.now, fromBlock: flags.fromBlock ?? 0 });
    const jobs = standings.map(
      (t): JobRow => ({
        jobId: t.jobId,
        label: t.jobId,
        mode: "local",
        state: t.stage === "final" ? "finalized" : t.stage === "refunded" ? "refunded" : "open",
        stage: t.stage,
        summary: t.summary,
        specCid: t.specCid,
        groupId: t.groupId ?? "?",
        reward: t.reward,
        minParticipants: t.minParticipants,
        collectionDeadline: t.collectionDeadline,
        proposalDeadline: t.proposalDeadline,
        finalizeAfter: t.finalizeAfter,
        proposals: t.proposals.length,
        leading: t.leading,
      }),
    );
    // Shared-mode jobs too, where the network has SharedJobs (a network deployed before shared mode has none).
    if (flags.sharedJobs !== undefined) {
      const shared = await sharedJobsOf(flags, registry, s, "job list", "listing its shared-mode jobs");
      const sharedStandings = await readSharedJobStandings(shared, {
        now: s.now,
        fromBlock: flags.sharedFromBlock ?? flags.fromBlock ?? 0,
      });
      for (const t of sharedStandings)
        jobs.push({
          jobId: t.jobId,
          label: t.label,
          mode: "shared",
          state: t.stage === "final" ? "finalized" : t.stage === "refunded" ? "refunded" : "open",
          stage: t.stage,
          summary: t.summary,
          specCid: t.specCid,
          groupId: t.groupId ?? "?",
          reward: t.reward,
          minParticipants: t.minParticipants,
          collectionDeadline: t.collectionDeadline,
          proposalDeadline: t.commitDeadline,
          finalizeAfter: t.finalizeAfter,
          proposals: t.aggregators.filter((a) => a.commit !== "none").length,
        });
    }
    return { now: s.now, jobs };
  });
}

/** The network's SharedJobs contract for a job command, checked (connectSharedJobs). */
function sharedJobsOf(flags: JobFlags, registry: JobRegistry, s: JobSession, command: string, why: string): Promise<SharedJobs> {
  return connectSharedJobs(
    { address: flags.sharedJobs, source: flags.sharedJobsSource, networkFile: flags.networkFile },
    { command, why, runner: s.signer ?? s.provider, provider: s.provider, registry, rpc: flags.rpc },
  );
}

export function formatList(r: { now: number; jobs: JobRow[] }): string {
  if (r.jobs.length === 0) return "No jobs posted yet.";
  return [
    "job  mode    group  reward ETH  min  spec",
    ...r.jobs.flatMap((j) => [
      `${(j.label ?? j.jobId).padEnd(4)} ${(j.mode ?? "local").padEnd(6)} ${j.groupId.padStart(5)}  ${formatEther(j.reward).padStart(10)}  ${String(j.minParticipants).padStart(3)}  ${j.specCid}`,
      `     ${j.summary}`,
    ]),
  ].join("\n");
}

/** Progress of a job as a reducer reports it, with the chain's view. */
export interface WatchSnapshot {
  jobId: string;
  /** The id as people type it (s1 for a shared job). @default jobId */
  label?: string;
  /** @default "local" */
  mode?: JobMode;
  /** A shared job's stage and standing sentence (readSharedJobStanding). */
  stage?: SharedJobStage;
  summary?: string;
  chainState: string;
  now: number;
  collectionDeadline: number;
  proposals: number;
  reducer?: Record<string, unknown>;
}

/** Polls the chain and a reducer's status port until the job has a proposal (or `until` state), drawing progress. */
export async function watchJob(
  flags: JobFlags,
  options: {
    jobId: bigint;
    reducer?: string;
    intervalMs: number;
    until: "proposed" | "finalized";
    timeoutS: number;
    onSnapshot(s: WatchSnapshot): void;
  },
): Promise<WatchSnapshot> {
  const started = Date.now();
  for (;;) {
    const snap = await session(flags, async (registry, s) => {
      if (isSharedJobId(options.jobId)) {
        // A shared job's standing from SharedJobs: collecting, aggregating, provisional, final or refunded.
        const shared = await sharedJobsOf(flags, registry, s, "job watch", `job ${jobLabel(options.jobId)}`);
        await requireSharedJob(shared, options.jobId);
        const t = await readSharedJobStanding(shared, options.jobId, s.now);
        return {
          jobId: t.jobId,
          label: t.label,
          mode: "shared",
          chainState: t.stage === "final" ? "finalized" : t.stage === "refunded" ? "refunded" : "open",
          now: s.now,
          collectionDeadline: t.collectionDeadline,
          proposals: t.aggregators.filter((a) => a.commit !== "none").length,
          stage: t.stage,
          summary: t.summary,
        } as WatchSnapshot;
      }
      const j = await registry.getJob(options.jobId);
      if (j.state === 0n) throw new RangeError(`<id>: no job ${options.jobId} on this registry`);
      return {
        jobId: options.jobId.toString(),
        chainState: STATES[Number(j.state)] ?? String(j.state),
        now: s.now,
        collectionDeadline: Number(j.collectionDeadline),
        proposals: Number(await registry.proposalCount(options.jobId)),
      } as WatchSnapshot;
    });
    if (options.reducer !== undefined) {
      try {
        const base = options.reducer.replace(/\/$/, "");
        if (isSharedJobId(options.jobId)) {
          // The status port's /jobs/<id> takes ids of up to 20 digits: a shared job's (2^128 + n) is found in /jobs.
          const res = await fetch(`${base}/jobs`, { signal: AbortSignal.timeout(5000) });
          const all = res.ok ? ((await res.json()) as Record<string, unknown>[]) : [];
          snap.reducer = Array.isArray(all) ? all.find((j) => j.jobId === options.jobId.toString()) : undefined;
        } else {
          const res = await fetch(`${base}/jobs/${options.jobId}`, { signal: AbortSignal.timeout(5000) });
          if (res.ok) snap.reducer = (await res.json()) as Record<string, unknown>;
        }
      } catch {
        snap.reducer = { state: "unreachable" };
      }
    }
    options.onSnapshot(snap);
    // A shared job's result is "proposed" once both aggregators committed (provisional).
    const proposed = snap.mode === "shared" ? snap.stage === "provisional" : snap.proposals > 0;
    const done = options.until === "finalized" ? snap.chainState !== "open" : proposed || snap.chainState !== "open";
    if (done || Date.now() - started > options.timeoutS * 1000) return snap;
    await sleep(options.intervalMs);
  }
}

/** One line of progress: a bar of accepted submissions against the minimum, and rejections by reason. */
export function formatWatchLine(s: WatchSnapshot): string {
  const r = s.reducer ?? {};
  if (s.mode === "shared") {
    const accepted = s.reducer === undefined ? "" : `; the reducer accepted ${r.accepted ?? "?"} report(s)`;
    return `job ${s.label ?? s.jobId} (shared) ${s.summary}${accepted}`;
  }
  const accepted = Number(r.accepted ?? 0);
  const min = Number(r.minParticipants ?? 1);
  const width = 20;
  const filled = Math.min(width, Math.round((accepted / Math.max(min, 1)) * width));
  const rejected = Object.entries((r.rejected as Record<string, number>) ?? {})
    .map(([k, v]) => `${k.replace(/Error$/, "")} ${v}`)
    .join(", ");
  const left = Math.max(0, s.collectionDeadline - s.now);
  return `job ${s.jobId} [${"#".repeat(filled)}${".".repeat(width - filled)}] announced ${r.announced ?? "?"}  verified ${accepted}/${min}  rejected ${rejected || 0}  ${left > 0 ? `${left}s left` : "collection closed"}  ${s.chainState}${s.proposals > 0 ? `, ${s.proposals} proposal(s)` : ""}`;
}

export interface JobResult {
  jobId: string;
  /** The id as people type it (s1 for a shared job). @default jobId */
  label?: string;
  /** @default "local" */
  mode?: JobMode;
  /**
   * Where the job stands: collecting, awaiting-proposals, provisional, no-proposal, final or refunded; a shared job:
   * collecting, aggregating, provisional, final or refunded, with each aggregator's part.
   */
  standing: JobStanding | SharedJobStanding;
  /** The spec's title, when the spec was read. */
  title?: string;
  final: boolean;
  /** The leading (provisional) or winning (final) result, when there is one. */
  proposer?: string;
  count?: number;
  aggregate?: number[];
  bundleCid?: string;
  view?: ResultView;
  png?: string;
}

/**
 * Where a job stands and, once a result is proposed, the result (the winner once final, else the leading proposal)
 * with error bars. The spec is read only when given (checked against the job's spec CID) or needed to draw a result.
 */
export async function jobResult(
  flags: JobFlags,
  options: { jobId: bigint; specFile?: string; peers: string[]; png?: string; reducer?: string },
): Promise<JobResult> {
  return session(flags, async (registry, s) => {
    if (isSharedJobId(options.jobId)) return sharedJobResult(flags, registry, s, options);
    await requireJob(registry, options.jobId, s.address);
    const submissions = await reducerCount(options.reducer, options.jobId);
    const groups = await jobGroups(registry, flags.fromBlock ?? 0, options.jobId);
    const standing = await readJobStanding(registry, options.jobId, s.now, { groupId: groups.get(options.jobId), submissions });
    const final = standing.stage === "final";
    const spec = options.specFile !== undefined ? await specOf(standing.specCid, options) : undefined;
    const out: JobResult = { jobId: options.jobId.toString(), standing, title: spec?.title, final };
    if (standing.leading === undefined) return out;
    const events = await registry.queryFilter(registry.filters.ResultProposed(options.jobId), flags.fromBlock ?? 0);
    const revealed = events.find((e) => Number(e.args.index) === standing.leading);
    if (revealed === undefined)
      throw new NoResultError(
        `job ${options.jobId}: proposal #${standing.leading} has no ResultProposed log from block ${flags.fromBlock ?? 0}; is the registry's deploy block right?`,
      );
    const known = spec ?? (await specToDraw(flags, registry, s, standing, options));
    const aggregate = revealed.args.aggregate.map((x) => Number(x));
    const count = Number(revealed.args.count);
    const view: ResultView = resultView(known, aggregate, count, {
      final,
      challengeEndsAt: standing.proposals[standing.leading]?.challengeEndsAt ?? standing.finalizeAfter,
    });
    if (options.png !== undefined) await writeFile(options.png, renderPng(view));
    return {
      ...out,
      title: known.title,
      proposer: revealed.args.proposer,
      count,
      aggregate,
      bundleCid: revealed.args.bundleCid,
      view,
      png: options.png,
    };
  });
}

/**
 * The spec of a job with a result to draw, from --peer, else from the reducers announced on-chain and the network's
 * bootstrap peers; a UsageError saying what to give when there is nowhere to read it from.
 */
async function specToDraw(
  flags: JobFlags,
  registry: JobRegistry,
  s: JobSession,
  standing: { specCid: string; stage: string },
  options: { jobId: bigint; peers: string[] },
): Promise<JobSpec> {
  let peers = options.peers;
  if (peers.length === 0) {
    const found = (await reducersOnChain(flags, registry, s.provider, 1n)) ?? [];
    peers = [...found.flatMap((r) => r.addrs), ...(flags.bootstrap ?? [])];
  }
  if (peers.length === 0)
    throw new UsageError(
      `result: job ${jobLabel(options.jobId)} has a ${standing.stage} result; give --spec FILE or --peer MULTIADDR (or --network, whose reducers hold the spec) to read its spec and draw it`,
    );
  return specOf(standing.specCid, { peers });
}

/**
 * jobResult for a shared-mode job: its standing on SharedJobs (each aggregator's part) and, once final, the released
 * sum drawn with its error bars against the spec (read as for a local job).
 */
async function sharedJobResult(
  flags: JobFlags,
  registry: JobRegistry,
  s: JobSession,
  options: { jobId: bigint; specFile?: string; peers: string[]; png?: string },
): Promise<JobResult> {
  const label = jobLabel(options.jobId);
  const shared = await sharedJobsOf(flags, registry, s, "job result", `job ${label}`);
  await requireSharedJob(shared, options.jobId);
  const groups = await sharedJobGroups(shared, flags.sharedFromBlock ?? flags.fromBlock ?? 0, options.jobId);
  const standing = await readSharedJobStanding(shared, options.jobId, s.now, { groupId: groups.get(options.jobId) });
  const final = standing.stage === "final";
  const spec = options.specFile !== undefined ? await specOf(standing.specCid, options) : undefined;
  const out: JobResult = { jobId: standing.jobId, label, mode: "shared", standing, title: spec?.title, final };
  // Only a finalised shared job has a result: the two noised shares are summed on-chain at finalisation.
  if (!final || standing.aggregate === undefined) return out;
  const known = spec ?? (await specToDraw(flags, registry, s, standing, options));
  const count = standing.count ?? 0;
  const view: ResultView = resultView(known, standing.aggregate, count, { final: true });
  if (options.png !== undefined) await writeFile(options.png, renderPng(view));
  return { ...out, title: known.title, count, aggregate: standing.aggregate, view, png: options.png };
}

/** The job's spec: from a file (which must hash to the job's spec CID) or fetched from the given peers. */
async function specOf(specCid: string, options: { specFile?: string; peers: string[] }): Promise<JobSpec> {
  if (options.specFile !== undefined) {
    const spec = await readSpecFile(options.specFile);
    const cid = (await encodeSpec(spec)).cid.toString();
    if (cid !== specCid)
      throw new SpecMismatchError(
        `${options.specFile}: not this job's spec (its CID is ${cid}, the job's is ${specCid}); is it another job's, or for another registry or network?`,
      );
    return spec;
  }
  if (options.peers.length === 0) throw new UsageError("give --spec FILE or --peer MULTIADDR (a reducer holding the spec)");
  const node = await createIpfsNode({ peers: options.peers, listen: [] });
  try {
    const bytes = await getBlock(node.blockstore, parseCid(specCid), { maxBytes: 64 * 1024, signal: AbortSignal.timeout(15_000) });
    return decodeSpec(bytes);
  } finally {
    await node.stop();
  }
}

export function formatResult(r: JobResult): string {
  const shared = r.mode === "shared" && "aggregators" in r.standing ? r.standing : undefined;
  const parts =
    shared === undefined
      ? []
      : shared.aggregators.map(
          (a) =>
            `  aggregator ${a.index} ${a.address}: ${a.prepAnnounced ? "prep shares announced" : "no prep shares yet"}, ${a.commit === "none" ? "not committed" : `${a.commit}${a.count === undefined ? "" : ` (${a.count} report${a.count === 1 ? "" : "s"})`}`}`,
        );
  const head = [
    `job ${r.label ?? r.jobId}${r.title === undefined ? "" : `: ${r.title}`}${shared ? " (shared mode)" : ""}`,
    r.standing.summary,
    ...parts,
  ].join("\n");
  if (r.view === undefined) return head;
  if (shared !== undefined)
    return [
      head,
      "",
      renderResultTable(r.view),
      "",
      renderTerminalChart(r.view),
      ...(r.png === undefined ? [] : ["", `chart written to ${r.png}`]),
    ].join("\n");
  return [
    head,
    "",
    renderResultTable(r.view),
    "",
    renderTerminalChart(r.view),
    "",
    `proposer ${r.proposer}, bundle ${r.bundleCid}${r.png === undefined ? "" : `, chart written to ${r.png}`}`,
  ].join("\n");
}

/** Stakes `amount` ETH for the operator whose key pays. */
export async function stake(flags: JobFlags, amount: string): Promise<{ operator: string; amount: string; total: string }> {
  const wei = parseEther(amount);
  if (wei <= 0n) throw new RangeError(`--amount: expected more than 0 ETH, got ${JSON.stringify(amount)}`);
  return session(flags, async (registry) => {
    const tx = await registry.stake({ value: wei });
    await tx.wait();
    const operator = await (registry.runner as unknown as { getAddress(): Promise<string> }).getAddress();
    return { operator, amount: formatEther(wei), total: formatEther(await registry.stakeOf(operator)) };
  });
}
