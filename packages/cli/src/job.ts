// `mosaic job ...`: what a researcher runs: write a ready job, post it with a cost preview, list, watch, read results.
import { readFile, writeFile } from "node:fs/promises";
import { publishSubmission } from "@mosaic/avatar";
import { type AbilityCatalog, decodeSpec, encodeSpec, estimateResult, postJobArgs, READY_JOBS, validateSpec } from "@mosaic/mapreduce";
import {
  createIpfsNode,
  findEvent,
  getBlock,
  type JobRegistry,
  JobRegistry__factory,
  type JobSpec,
  namedError,
  parseCid,
  sleep,
  specCidOf,
  specTopic,
  revealedResults,
} from "@mosaic/protocol";
import { BUILTIN_ABILITIES } from "@mosaic/vault";
import { formatEther, type Provider, parseEther } from "ethers";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { renderPng, renderResultTable, renderTerminalChart, type ResultView } from "./result-view.js";

/** The registry refused a transaction; `reason` is the contract's error name. */
export class JobContractError extends contractRefusal("JobContractError") {}

/** A job has no result yet (no proposal), or the spec given does not match the job. */
export class NoResultError extends namedError("NoResultError") {}

/** Where the registry is, and the paying wallet for transactions. */
export interface JobFlags {
  rpc: string;
  registry: string;
  walletKeyFile?: string;
}

const STATES = ["none", "open", "finalized", "refunded"];

/** What the built-in abilities hold: the catalog every spec's reads are checked against before posting. */
export function builtinCatalog(): AbilityCatalog {
  const out: Record<string, Record<string, string[]>> = {};
  for (const d of BUILTIN_ABILITIES) {
    out[d.manifest.name] = Object.fromEntries(Object.entries(d.manifest.owns).map(([k, v]) => [k, [...v.fields]]));
  }
  return out;
}

async function session<T>(
  flags: JobFlags,
  use: (registry: JobRegistry, s: { chainId: bigint; address: string; now: number; provider: Provider }) => Promise<T>,
): Promise<T> {
  return withContract(
    { rpc: flags.rpc, address: flags.registry, flag: "--registry", what: "JobRegistry", walletKeyFile: flags.walletKeyFile },
    async (s) => {
      const registry = JobRegistry__factory.connect(s.address, s.signer ?? s.provider);
      const now = (await s.provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
      return use(registry, { chainId: s.chainId, address: s.address, now, provider: s.provider });
    },
    (err) => {
      const r = decodeRevert(err, JobRegistry__factory.createInterface());
      return r === undefined ? err : new JobContractError(r.name, `the registry refused: ${r.name}(${r.args})`);
    },
  );
}

/** Writes a ready job's spec with fresh dates. */
export async function newJob(
  name: string,
  options: { out?: string; deadlineIn: number; days?: number },
): Promise<{ name: string; file?: string; spec: JobSpec }> {
  const build = READY_JOBS[name];
  if (build === undefined)
    throw new RangeError(`<name>: unknown ready job ${JSON.stringify(name)}; the library has ${Object.keys(READY_JOBS).join(", ")}`);
  const spec = build({ collectionDeadline: Math.floor(Date.now() / 1000) + options.deadlineIn, days: options.days });
  if (options.out !== undefined) await writeFile(options.out, `${JSON.stringify(spec, null, 2)}\n`);
  return { name, file: options.out, spec };
}

/** Reads and validates a spec file against the built-in abilities (and `now`, when given). */
export async function readSpecFile(file: string, now?: number): Promise<JobSpec> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new TypeError(`${file}: not a JSON job spec (${(err as Error).message})`);
  }
  return validateSpec(value, { abilities: builtinCatalog(), now });
}

export interface PostResult {
  dryRun: boolean;
  specCid: string;
  title: string;
  reward: string;
  gasEstimate: string;
  gasPriceWei: string;
  costWei: string;
  jobId?: string;
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
  options: { file: string; group: bigint; peers: string[]; dryRun: boolean; onPreview?(p: PostResult): void },
): Promise<PostResult> {
  return session(flags, async (registry, s) => {
    const spec = await readSpecFile(options.file, s.now);
    const block = await encodeSpec(spec);
    const { args, value } = postJobArgs(spec, block.cid.toString(), options.group);
    const gas = await registry.postJob.estimateGas(...args, { value });
    const fee = await s.provider.getFeeData();
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const preview: PostResult = {
      dryRun: options.dryRun,
      specCid: block.cid.toString(),
      title: spec.title,
      reward: spec.reward,
      gasEstimate: gas.toString(),
      gasPriceWei: gasPrice.toString(),
      costWei: (value + gas * gasPrice).toString(),
    };
    options.onPreview?.(preview);
    if (options.dryRun) return preview;
    if (options.peers.length === 0)
      throw new RangeError("--peer: give at least one reducer's address, so the spec stays on IPFS after this command exits");
    const published = await publishSubmission(block, {
      peers: options.peers,
      topic: specTopic(s.chainId, s.address),
      // Every reducer named must hold the spec before this node, its only other source, goes away.
      minRecipients: options.peers.length,
      minFetches: options.peers.length,
      lingerMs: 30_000,
    });
    if (published.fetches === 0)
      throw new NoResultError("no reducer fetched the spec; check the --peer addresses are running reducers, then post again");
    const tx = await registry.postJob(...args, { value });
    const receipt = await tx.wait();
    const posted = findEvent(receipt, registry.interface, "JobPosted");
    return {
      ...preview,
      jobId: String(posted.args.jobId),
      txHash: tx.hash,
      gasUsed: String(receipt?.gasUsed),
      heldBy: published.recipients,
    };
  });
}

export function formatPost(r: PostResult): string {
  const lines = [
    `${r.dryRun ? "Would post" : "Posted"}: ${r.title}`,
    `  spec      ${r.specCid}`,
    `  reward    ${formatEther(r.reward)} ETH (escrowed)`,
    `  gas       ${r.gasEstimate} × ${formatEther(r.gasPriceWei)} ETH`,
    `  total     ${formatEther(r.costWei)} ETH`,
  ];
  if (r.jobId !== undefined) lines.push(`  job       ${r.jobId}`, `  tx        ${r.txHash} (gas used ${r.gasUsed})`);
  return lines.join("\n");
}

export interface JobRow {
  jobId: string;
  state: string;
  specCid: string;
  groupId: string;
  reward: string;
  minParticipants: number;
  collectionDeadline: number;
  proposalDeadline: number;
  proposals: number;
}

export async function listJobs(flags: JobFlags): Promise<{ now: number; jobs: JobRow[] }> {
  return session(flags, async (registry, s) => {
    const n = Number(await registry.jobCount());
    // The chain keeps no group id (only the group's root and size): JobPosted names it.
    const groups = new Map<bigint, bigint>();
    if (n > 0)
      for (const posted of await registry.queryFilter(registry.filters.JobPosted(), 0)) groups.set(posted.args.jobId, posted.args.groupId);
    const jobs: JobRow[] = [];
    for (let id = 1; id <= n; id++) {
      const j = await registry.getJob(id);
      jobs.push({
        jobId: String(id),
        state: STATES[Number(j.state)] ?? String(j.state),
        specCid: specCidOf(j.specDigest).toString(),
        groupId: groups.get(BigInt(id))?.toString() ?? "?",
        reward: j.reward.toString(),
        minParticipants: Number(j.minParticipants),
        collectionDeadline: Number(j.collectionDeadline),
        proposalDeadline: Number(j.proposalDeadline),
        proposals: Number(await registry.proposalCount(id)),
      });
    }
    return { now: s.now, jobs };
  });
}

export function formatList(r: { now: number; jobs: JobRow[] }): string {
  if (r.jobs.length === 0) return "No jobs posted yet.";
  const when = (t: number) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
  return [
    "job  state      deadline              reward ETH  min  proposals  spec",
    ...r.jobs.map(
      (j) =>
        `${j.jobId.padEnd(4)} ${j.state.padEnd(10)} ${when(j.collectionDeadline)}  ${formatEther(j.reward).padStart(10)}  ${String(j.minParticipants).padStart(3)}  ${String(j.proposals).padStart(9)}  ${j.specCid}`,
    ),
  ].join("\n");
}

/** Progress of a job as a reducer reports it, with the chain's view. */
export interface WatchSnapshot {
  jobId: string;
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
        const res = await fetch(`${options.reducer.replace(/\/$/, "")}/jobs/${options.jobId}`, { signal: AbortSignal.timeout(5000) });
        if (res.ok) snap.reducer = (await res.json()) as Record<string, unknown>;
      } catch {
        snap.reducer = { state: "unreachable" };
      }
    }
    options.onSnapshot(snap);
    const done = options.until === "finalized" ? snap.chainState !== "open" : snap.proposals > 0 || snap.chainState !== "open";
    if (done || Date.now() - started > options.timeoutS * 1000) return snap;
    await sleep(options.intervalMs);
  }
}

/** One line of progress: a bar of accepted submissions against the minimum, and rejections by reason. */
export function formatWatchLine(s: WatchSnapshot): string {
  const r = s.reducer ?? {};
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
  final: boolean;
  proposer: string;
  count: number;
  aggregate: number[];
  bundleCid: string;
  view: ResultView;
  png?: string;
}

/** Reads a job's result (the winner once final, else the proposal with most submissions) with error bars. */
export async function jobResult(
  flags: JobFlags,
  options: { jobId: bigint; specFile?: string; peers: string[]; png?: string },
): Promise<JobResult> {
  return session(flags, async (registry) => {
    const j = await registry.getJob(options.jobId);
    if (j.state === 0n) throw new RangeError(`<id>: no job ${options.jobId} on this registry`);
    const n = Number(await registry.proposalCount(options.jobId));
    if (n === 0)
      throw new NoResultError(`job ${options.jobId} has no proposed result yet; watch it with 'mosaic job watch ${options.jobId}'`);
    const final = Number(j.state) === 2;
    const revealed = await revealedResults(registry, options.jobId);
    let index = -1;
    if (final) index = Number(await registry.winningProposal(options.jobId));
    else {
      // The provisional winner: the unfaulted revealed result with the most leaves, the earliest on ties.
      for (const [i, r] of revealed)
        if (!(await registry.getProposal(options.jobId, i)).faulted && (index < 0 || r.count > (revealed.get(index)?.count ?? 0n)))
          index = i;
    }
    const p = revealed.get(index);
    if (p === undefined)
      throw new NoResultError(`job ${options.jobId} has no revealed result yet; watch it with 'mosaic job watch ${options.jobId}'`);
    const spec = await specOf(specCidOf(j.specDigest).toString(), options);
    const aggregate = p.aggregate.map((x) => Number(x));
    const estimate = estimateResult(spec, aggregate, Number(p.count));
    const view: ResultView = {
      title: spec.title,
      unit: spec.output.unit,
      count: estimate.count,
      confidence: Number.isNaN(estimate.confidence) ? "bucket" : `${Math.round(estimate.confidence * 100)}%`,
      rows: estimate.rows.map((r) => ({ label: r.label, estimate: r.estimate, low: r.low, high: r.high })),
      note: `${final ? "final" : "provisional (challenge window open)"}; ${estimate.note}`,
    };
    if (options.png !== undefined) await writeFile(options.png, renderPng(view));
    return {
      jobId: options.jobId.toString(),
      final,
      proposer: p.proposer,
      count: Number(p.count),
      aggregate,
      bundleCid: p.bundleCid,
      view,
      png: options.png,
    };
  });
}

/** The job's spec: from a file (which must hash to the job's spec CID) or fetched from the given peers. */
async function specOf(specCid: string, options: { specFile?: string; peers: string[] }): Promise<JobSpec> {
  if (options.specFile !== undefined) {
    const spec = await readSpecFile(options.specFile);
    const cid = (await encodeSpec(spec)).cid.toString();
    if (cid !== specCid) throw new NoResultError(`${options.specFile} is not this job's spec (its CID is ${cid}, the job's is ${specCid})`);
    return spec;
  }
  if (options.peers.length === 0) throw new RangeError("give --spec FILE or --peer MULTIADDR (a reducer holding the spec)");
  const node = await createIpfsNode({ peers: options.peers, listen: [] });
  try {
    const bytes = await getBlock(node.blockstore, parseCid(specCid), { maxBytes: 64 * 1024, signal: AbortSignal.timeout(15_000) });
    return decodeSpec(bytes);
  } finally {
    await node.stop();
  }
}

export function formatResult(r: JobResult): string {
  return [
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
