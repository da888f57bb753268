// `mosaic vault jobs | review | answer | receipts`: the user's side of a job. The work is @mosaic/vault's (listJobs,
// prepareJob, answerConfirmed, checkInclusion); this connects to the chain and the reducers, asks for consent, draws
// progress on stderr and prints.
import path from "node:path";
import { createInterface } from "node:readline/promises";
import {
  localRpc,
  attachReducerDirectory,
  ConsentRequiredError,
  isSharedJobId,
  type JobRegistry,
  JobRegistry__factory,
  jobLabel,
  namedError,
  type ReducerRecord,
  readReducers,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
  SharedJobs__factory,
} from "@mosaic/protocol";
import {
  answerConfirmed,
  type CollectReceiptsResult,
  ConsentDeclinedError,
  type ConsentRequest,
  checkInclusion,
  checkSharedInclusion,
  checkStoredReceipts,
  followJobs,
  type InclusionVerdict,
  type JobListing,
  jobKey,
  NoReducersError,
  onlyAggregators,
  listJobs,
  type NodeJobBoard,
  NoSubmissionError,
  nodeJobBoard,
  type PreparedJob,
  prepareJob,
  type RefusedReceipt,
  readPostedJob,
  type SharedInclusionVerdict,
  reducerPeers,
  resendSubmission,
  reviewJob,
  type SubmissionRecord,
  sentBlock,
  submissionOf,
  submissionRecords,
  type Vault,
} from "@mosaic/vault";
import { formatEther, isAddress, type Provider } from "ethers";
import { withContract } from "./chain-flags.js";
import { contractTarget, requireNetwork, type ResolvedNetwork } from "./network-flags.js";
import { pathsOf, type VaultAccess, withVault } from "./vault.js";

/** Where the chain and the reducers are, for the job commands. */
export interface JobAccess extends VaultAccess {
  /** The network flags, resolved. */
  network: ResolvedNetwork;
  /** Reducers (multiaddrs with /p2p/) given with --peer, besides those found on-chain. @default [] */
  peers?: string[];
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Unlocks the vault, connects to the registry, and runs `use` with the vault and the job board (reducers from --peer
 * and, once the network has a reducer directory, from the chain). Everything closes however `use` ends.
 */
async function withJobBoard<T>(
  command: string,
  access: JobAccess & BoardOptions,
  use: (c: { vault: Vault } & Board) => Promise<T>,
): Promise<T> {
  // The flags are checked before the passphrase is asked for.
  requireNetwork(`vault ${command}`, access.network, ["rpc", "registry", "groups"]);
  return withVault(access, ({ vault }) => withBoard(command, access, (c) => use({ vault, ...c })));
}

/** What withBoard hands over: the board, the reducers to ask and, for those from the directory, their operators. */
interface Board {
  board: NodeJobBoard;
  peers: string[];
  /** Peer (as in `peers`) → the operator whose directory record announced it. */
  operators: ReadonlyMap<string, string>;
  fromBlock: number;
}

interface BoardOptions {
  /**
   * The least stake of the reducers read from the directory: the job's minStake when the command is about one job
   * (a reducer below it cannot propose for it, and a flood of 1-wei records would only cost dials).
   * @default 1 wei (with readReducers' cap on the number of records)
   */
  minStake?: (contracts: JobContracts) => Promise<bigint>;
}

/** The contracts jobs are on: JobRegistry, and SharedJobs when the network names it. */
interface JobContracts {
  registry: JobRegistry;
  sharedJobs?: SharedJobs;
}

/**
 * A job's minStake, or 1 wei for an id its contract does not have (prepareJob then says UnknownJobError): a shared id's
 * from SharedJobs, any other from JobRegistry.
 */
async function jobMinStake({ registry, sharedJobs }: JobContracts, jobId: bigint): Promise<bigint> {
  if (isSharedJobId(jobId)) {
    if (sharedJobs === undefined) return 1n;
    const n = jobId - SHARED_JOB_ID_BASE;
    if (n < 1n || n > (await sharedJobs.jobCount())) return 1n;
    return (await sharedJobs.getSharedJob(jobId)).minStake;
  }
  if (jobId < 1n || jobId > (await registry.jobCount())) return 1n;
  return (await registry.getJob(jobId)).minStake;
}

/** Connects to the registry and the reducers for an open vault; see withJobBoard. */
async function withBoard<T>(command: string, access: JobAccess & BoardOptions, use: (c: Board) => Promise<T>): Promise<T> {
  const net = requireNetwork(`vault ${command}`, access.network, ["rpc", "registry", "groups"]);
  const cacheDir = path.join(pathsOf(access).dir, "groups");
  if (net.sharedJobs !== undefined && !isAddress(net.sharedJobs))
    throw new TypeError(
      `${net.sources.sharedJobs ?? "--shared-jobs"}: expected the SharedJobs contract's address (0x and 40 hex characters), got ${JSON.stringify(net.sharedJobs)}`,
    );
  return withContract(contractTarget(net, "registry", "JobRegistry"), async (s) => {
    if (net.sharedJobs !== undefined && (await s.provider.getCode(net.sharedJobs)) === "0x")
      throw new TypeError(
        `${net.sources.sharedJobs ?? "--shared-jobs"}: no contract at ${net.sharedJobs} on ${net.rpc}; check the SharedJobs address and the network`,
      );
    const contracts: JobContracts = {
      registry: JobRegistry__factory.connect(s.address, s.provider),
      ...(net.sharedJobs === undefined ? {} : { sharedJobs: SharedJobs__factory.connect(net.sharedJobs, s.provider) }),
    };
    const minStake = access.minStake === undefined ? 1n : await access.minStake(contracts);
    const { peers: onChain, alternates, operators } = reducerPeers(await reducersOnChain(net, s.provider, minStake));
    const peers = [...new Set([...(access.peers ?? []), ...onChain])];
    const board = nodeJobBoard({
      provider: s.provider,
      chainId: s.chainId,
      registry: s.address,
      groups: net.groups,
      ...(net.sharedJobs === undefined ? {} : { sharedJobs: net.sharedJobs }),
      peers,
      alternates,
      cacheDir,
      semaphoreFromBlock: net.deployBlocks.semaphore,
      onGroupSync: (groupId, p) => {
        if (p.head - p.block > 0) say(`  syncing group ${groupId}: block ${p.block} of ${p.head}`);
      },
    });
    try {
      return await use({ board, peers, operators, fromBlock: net.deployBlocks.registry ?? 0 });
    } finally {
      await board.close();
    }
  });
}

/**
 * For `vault serve --follow`: polls the registry (from where the last run stopped, kept in the vault) and reports
 * each new job the avatar may answer, until `signal` aborts.
 */
export async function followInVault(
  vault: Vault,
  options: JobAccess & { signal: AbortSignal; pollMs?: number; onJob: (job: JobListing) => void; onError?: (err: Error) => void },
): Promise<void> {
  await withBoard("serve", options, ({ board, fromBlock }) =>
    followJobs(board.components, vault, {
      fromBlock,
      pollMs: options.pollMs,
      signal: options.signal,
      onJob: options.onJob,
      onError: options.onError,
    }),
  );
}

/**
 * The reducers registered on-chain (the network's reducer directory) with at least `minStake`, highest stake first
 * (reducerPeers makes them peers to ask); what the read left out is said.
 */
async function reducersOnChain(
  net: ResolvedNetwork & { registry: string },
  provider: Provider,
  minStake: bigint,
): Promise<ReducerRecord[]> {
  if (net.directory === undefined) return [];
  const records = await readReducers(
    attachReducerDirectory(provider, net.directory),
    JobRegistry__factory.connect(net.registry, provider),
    {
      minStake,
      allowPrivate: net.rpc === undefined || localRpc(net.rpc),
      onSkip: (s) => say(`  reducer ${s.operator}${s.addr === undefined ? "" : ` address ${s.addr}`} left out: ${s.reason}`),
    },
  );
  return records;
}

// ---------------------------------------------------------------------------------------------------------------
// jobs

export interface JobsResult {
  now: number;
  jobs: JobListing[];
}

/** The open jobs for the groups this vault's avatar is in (or every job with `all`), each with its spec's words. */
export async function vaultJobs(access: JobAccess & { all?: boolean }): Promise<JobsResult> {
  return withJobBoard("jobs", access, ({ vault, board, fromBlock }) => listJobs(board.components, vault, { fromBlock, all: access.all }));
}

const iso = (unixS: number): string => new Date(unixS * 1000).toISOString().replace(".000Z", "Z");

/** "in 2 h 5 min", "3 min ago". */
export function relative(seconds: number): string {
  const s = Math.abs(seconds);
  const text =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 86_400
          ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
          : `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

export function formatJobs(r: JobsResult): string {
  if (r.jobs.length === 0)
    return "No open jobs for your groups. ('mosaic vault jobs --all' lists every job; 'mosaic avatar register' joins a group.)";
  const lines: string[] = [];
  for (const j of r.jobs) {
    const status = j.staleRecord
      ? "this vault answered another job under this id: the chain was reset (StaleJobRecordError)"
      : j.answered
        ? `answered ${new Date(j.answeredAt ?? 0).toISOString()}`
        : !j.collecting
          ? `closed (${j.state})`
          : !j.member
            ? "not your group"
            : "not answered";
    lines.push(`job ${j.label ?? j.jobId}  ${j.title === undefined ? "(spec unavailable)" : JSON.stringify(j.title)}  [${status}]`);
    if (j.mode === "shared")
      lines.push(`  mode       shared: your exact answer split in two encrypted shares, for aggregators ${j.aggregators?.join(" and ")}`);
    if (j.requester !== undefined) lines.push(`  requester  ${j.requester}`);
    if (j.purpose !== undefined) lines.push(`  purpose    ${j.purpose}`);
    if (j.epsilon !== undefined) lines.push(`  epsilon    ${j.epsilon} (${j.mechanism})`);
    lines.push(`  deadline   ${iso(j.collectionDeadline)} (${relative(j.secondsLeft)})`);
    lines.push(`  reward     ${formatEther(j.reward)} ETH; group ${j.groupId}; at least ${j.minParticipants} answers`);
    if (j.specError !== undefined) lines.push(`  spec       ${j.specCid}: ${j.specError.name}: ${j.specError.message}`);
  }
  lines.push("", "'mosaic vault review <job>' shows what a job reads and would send; 'mosaic vault answer <job>' answers it.");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// review

export interface ReviewResult {
  jobId: string;
  /** A shared job's id as typed (s1, s2, …); absent for a JobRegistry job. */
  label?: string;
  /** A shared job's two aggregators (operators), the leader first; absent for a JobRegistry job. */
  aggregators?: [string, string];
  jobKey: string;
  collectionDeadline: number;
  secondsLeft: number;
  reward: string;
  groupId: string;
  specCid: string;
  request: ConsentRequest;
}

function reviewOf(prepared: PreparedJob, request: ConsentRequest): ReviewResult {
  const shared = prepared.posted.shared;
  return {
    jobId: prepared.job.jobId.toString(),
    ...(shared === undefined ? {} : { label: jobLabel(prepared.job.jobId), aggregators: [...shared.aggregators] as [string, string] }),
    jobKey: request.jobKey,
    collectionDeadline: prepared.posted.collectionDeadline,
    secondsLeft: prepared.posted.collectionDeadline - prepared.now,
    reward: prepared.posted.reward.toString(),
    groupId: prepared.posted.groupId.toString(),
    specCid: prepared.posted.specCid,
    request,
  };
}

/** The consent screen for a job: who asks and why, what is read, the program, the exact payload, the budget. Records nothing. */
export async function vaultReview(access: JobAccess & { jobId: bigint }): Promise<ReviewResult> {
  return withJobBoard("review", access, async ({ vault, board, fromBlock }) => {
    // Reviewing a job already answered is allowed: it shows what was (or would be) sent.
    const prepared = await prepareJob(board.components, vault, access.jobId, { fromBlock, onStep: step, refuseAnswered: false });
    step("map");
    return reviewOf(prepared, await reviewJob(vault, prepared));
  });
}

/** The consent screen as text: the same for `review` and for the question `answer` asks. */
export function formatReview(r: ReviewResult): string {
  const q = r.request;
  const eps = `${q.epsilon.num}/${q.epsilon.den}`;
  const shared = q.mode === "shared";
  const charge = `${q.charge.num}/${q.charge.den}`;
  const lines = [
    `Job ${r.label ?? r.jobId}: ${JSON.stringify(q.title)}`,
    `  asked by     ${q.requester}`,
    `  why          ${q.purpose}`,
    `  deadline     ${iso(r.collectionDeadline)} (${relative(r.secondsLeft)}); reward ${formatEther(r.reward)} ETH to the reducers`,
    "  reads        " + q.reads.map((x) => `${x.ability}/${x.collection}: ${x.fields.join(", ")}`).join("; "),
    "  program",
    ...q.programText.map((l) => `    ${l}`),
    `  program hash ${q.programHash}`,
    `  before noise (stays in this vault): ${q.preview.raw.join(" ")} ${q.preview.unit}`,
    shared
      ? `  would send (exact, split in two encrypted shares; the aggregators add ${q.mechanism} noise to the sum, epsilon ${eps}): ${q.preview.payload.join(" ")}`
      : `  would send (noised with ${q.mechanism}, epsilon ${eps}): ${q.preview.payload.join(" ")}`,
    `    ${q.preview.labels.join(" | ")}`,
    `  privacy budget: ${q.budget.remaining} left this period; ${q.budget.fits ? `${q.budget.after} after this job` : "NOT ENOUGH for this job"} (resets ${new Date(q.budget.resetsAt).toISOString()})`,
  ];
  if (shared) {
    lines.push(`  mode         shared (secret-shared between aggregators ${r.aggregators?.join(" and ") ?? "(unknown)"})`);
    for (const line of q.disclosure ?? []) lines.push(`    ${line}`);
    lines.push(`  ledger       this job charges epsilon ${charge} to your privacy budget (what one aggregator's noise alone gives)`);
  }
  for (const [ability, note] of Object.entries(q.notes)) if (note !== undefined) lines.push(`  ${ability}: ${JSON.stringify(note)}`);
  lines.push(
    "  sent anonymously: a zero-knowledge proof of group membership, from a throwaway network identity; no wallet, no transaction",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// answer

export interface AnswerOptions extends JobAccess {
  jobId: bigint;
  /** Consent without asking (the consent screen is still printed on stderr). @default false */
  yes?: boolean;
  /** Receipts from distinct staked operators to wait for. @default 1; 2 (both aggregators) for a shared job */
  minReceipts?: number;
  /** The longest random delay before sending, seconds. @default 60 */
  delayMaxS?: number;
}

export interface AnswerOutput {
  jobId: string;
  /** A shared job's id as typed (s1, s2, …); absent for a JobRegistry job. */
  label?: string;
  jobKey: string;
  cid: string;
  /** The random delay drawn, ms (proof time included). */
  delayMs: number;
  proofMs: number;
  complete: boolean;
  needed: number;
  receipts: { operator: string; receivedAt: number }[];
  refused: RefusedReceipt[];
  rounds: number;
}

const STEP_LABELS: Record<string, string> = {
  chain: "reading the job from the chain",
  "sync group": "syncing the job's group",
  spec: "fetching the job's spec from the reducers",
  map: "running the job's program on your data (locally)",
  prove: "proving group membership (zero-knowledge)",
  publish: "sending the answer",
  receipts: "waiting for the reducers' signed receipts",
};

function step(name: string, detail?: Record<string, unknown>): void {
  say(`▶ ${STEP_LABELS[name] ?? name}${detail?.cid === undefined ? "" : ` (${detail.cid})`}`);
}

/** Asks "Send this answer? [y/N]" on the terminal; true only for y or yes. */
async function askConsent(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question("Send this answer? [y/N] ");
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Answers a job: checks it (unknown, closed, not the avatar's group, answered: each a named error, nothing recorded),
 * runs the map, shows the consent screen and asks (or takes --yes; without a terminal and without --yes, refuses),
 * then proves, waits a random delay of at most `delayMaxS`, sends through the egress gate, and collects signed
 * receipts until `minReceipts` staked operators confirmed or the collection deadline passes. A failure before the
 * answer left withdraws the consent, so the privacy budget is as it was.
 */
export async function vaultAnswer(options: AnswerOptions): Promise<AnswerOutput> {
  const delayMaxS = options.delayMaxS ?? 60;
  if (options.yes !== true && process.stdin.isTTY !== true)
    throw new ConsentRequiredError(
      "stdin is not a terminal to ask for consent on: read the job with 'mosaic vault review <job>', then answer with --yes",
    );
  const access = { ...options, minStake: (c: JobContracts) => jobMinStake(c, options.jobId) };
  return withJobBoard("answer", access, async ({ vault, board, peers: known, operators, fromBlock }) => {
    const prepared = await prepareJob(board.components, vault, options.jobId, { fromBlock, onStep: step });
    const shared = prepared.posted.shared;
    // A shared job's answer goes to its two aggregators only: the directory's records of their operators, and any
    // --peer (whose receipts count only when one of the two signed them).
    const peers = shared === undefined ? known : aggregatorPeers(known, operators, shared.aggregators);
    if (shared !== undefined && peers.length === 0)
      throw new NoReducersError(
        `job ${jobLabel(options.jobId)}: neither of its aggregators (${shared.aggregators.join(", ")}) has a record in the reducer directory; give their addresses with --peer`,
      );
    // Both aggregators must hold a shared answer for it to count (each prepares its share): both receipts by default.
    const minReceipts = options.minReceipts ?? (shared === undefined ? 1 : 2);
    if (minReceipts > peers.length)
      throw new RangeError(
        `--min-receipts: ${minReceipts} receipts asked for, but only ${peers.length} reducer(s) are known; add --peer, or lower --min-receipts`,
      );
    step("map");
    const request = await reviewJob(vault, prepared);
    say(formatReview(reviewOf(prepared, request)));
    if (options.yes !== true && !(await askConsent())) throw new ConsentDeclinedError("you declined; nothing was recorded or sent");
    await vault.consent(prepared.spec, request);
    const key = jobKey(prepared.job);
    // Ctrl-C while proving, waiting or collecting receipts stops cleanly: before the answer left, the consent is
    // withdrawn (the budget is as it was); after, the answer and its receipts so far stay recorded.
    const stop = new AbortController();
    const onSignal = (): void => stop.abort(new AnswerInterruptedError("stopped by a signal"));
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      if (delayMaxS > 0) say(`  the answer leaves at a random instant in the next ${delayMaxS} s (unlinkability by timing)`);
      const { answer, receipts } = await answerConfirmed(board.components, vault, prepared, {
        signal: stop.signal,
        peers,
        operators,
        now: await board.components.now(),
        maxDelayMs: delayMaxS * 1000,
        minReceipts,
        onStep: step,
        onRound: (r) => {
          for (const x of r.refused) say(`  refused: ${x.peer}: ${x.error}: ${x.message}`);
          say(`  receipts ${r.receipts}/${r.needed} after round ${r.round}`);
        },
      });
      return answerOutput(prepared, key, answer, receipts);
    } catch (err) {
      const sent = vault.consents().find((c) => c.jobKey === key)?.submitted !== undefined;
      // Nothing left yet: take the consent back, so the budget is as it was before.
      if (!sent) await vault.withdraw(key).catch(() => undefined);
      if (stop.signal.aborted)
        throw new AnswerInterruptedError(
          sent
            ? `stopped after the answer was sent; it is recorded: 'mosaic vault receipts --job ${jobLabel(options.jobId)} --resend' collects its receipts`
            : "stopped before the answer was sent: nothing left the vault and the consent was withdrawn",
        );
      throw err;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}

/**
 * Of the reducers to ask, those a shared job's aggregators run: the peers the directory names for either aggregator's
 * operator, and the peers given with --peer (no directory operator; only an aggregator's receipt from them counts).
 */
function aggregatorPeers(peers: readonly string[], operators: ReadonlyMap<string, string>, aggregators: readonly string[]): string[] {
  const wanted = new Set(aggregators.map((a) => a.toLowerCase()));
  return peers.filter((p) => {
    const operator = operators.get(p);
    return operator === undefined || wanted.has(operator.toLowerCase());
  });
}

/** `vault answer` was stopped (Ctrl-C, SIGTERM); the message says whether the answer had left. */
export class AnswerInterruptedError extends namedError("AnswerInterruptedError") {}

function answerOutput(
  prepared: PreparedJob,
  key: string,
  answer: { block: { cid: { toString(): string } }; delayMs: number; proofMs: number },
  r: CollectReceiptsResult,
): AnswerOutput {
  return {
    jobId: prepared.job.jobId.toString(),
    ...(prepared.posted.shared === undefined ? {} : { label: jobLabel(prepared.job.jobId) }),
    jobKey: key,
    cid: answer.block.cid.toString(),
    delayMs: answer.delayMs,
    proofMs: Math.round(answer.proofMs),
    complete: r.complete,
    needed: r.needed,
    receipts: r.record.receipts.map((x) => ({ operator: x.operator, receivedAt: x.receivedAt })),
    refused: r.refused,
    rounds: r.rounds,
  };
}

export function formatAnswer(r: AnswerOutput): string {
  const id = r.label ?? r.jobId;
  const lines = [`answered job ${id}: submission ${r.cid}`];
  for (const x of r.receipts)
    lines.push(`  receipt from operator ${x.operator} at ${new Date(x.receivedAt).toISOString()} (signature checked)`);
  for (const x of r.refused.filter((f) => /Receipt|NotAggregator/.test(f.error)))
    lines.push(`  REFUSED a receipt from ${x.peer}${x.operator === undefined ? "" : ` (claims ${x.operator})`}: ${x.error}: ${x.message}`);
  lines.push(
    r.complete
      ? `${r.receipts.length} of ${r.needed} receipt(s) needed; 'mosaic vault receipts --job ${id}' shows whether it was counted once the job is final`
      : `only ${r.receipts.length} of ${r.needed} receipt(s) before the deadline; the answer is recorded in the vault ('mosaic vault receipts --job ${id}')`,
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// receipts

export interface ReceiptsEntry {
  jobId: string;
  /** A shared job's id as typed (s1, s2, …); absent for a JobRegistry job. */
  label?: string;
  jobKey: string;
  cid: string;
  nullifier: string;
  submittedAt: number;
  receipts: { operator: string; receivedAt: number; valid: boolean; error?: string }[];
  /** A JobRegistry job's: a Merkle proof in the winning bundle; a shared job's: a leaf of the committed share set. */
  inclusion: InclusionVerdict | SharedInclusionVerdict;
}

/** What a receipt check needs of a recorded answer's job, from the contract it is on. */
interface RecordedJobTerms {
  minStake: bigint;
  /** Still collecting: open, and the deadline ahead. */
  state: bigint;
  collectionDeadline: number;
  /** A shared job's aggregators: only their receipts count. */
  aggregators?: readonly string[];
}

async function termsOf(board: NodeJobBoard, record: SubmissionRecord): Promise<RecordedJobTerms> {
  const jobId = BigInt(record.jobId);
  if (board.sharedJobs !== undefined && record.registry === (await board.sharedJobs.getAddress()).toLowerCase()) {
    const j = await board.sharedJobs.getSharedJob(jobId);
    return { minStake: j.minStake, state: j.state, collectionDeadline: Number(j.collectionDeadline), aggregators: [...j.aggregators] };
  }
  const j = await board.registry.getJob(jobId);
  return { minStake: j.minStake, state: j.state, collectionDeadline: Number(j.collectionDeadline) };
}

/**
 * For each answer this vault sent (or the one for `jobId`): the stored receipts, checked again against the operators
 * staked now, and once the job is final, whether its leaf is in the winning result (a Merkle proof checked against
 * the tree root on-chain) or, for a shared job, in the share set both aggregators committed (its root recomputed).
 */
export async function vaultReceipts(
  access: JobAccess & { jobId?: bigint; resend?: boolean; minReceipts?: number },
): Promise<{ entries: ReceiptsEntry[] }> {
  const jobId = access.jobId;
  const minStake = jobId === undefined ? undefined : (c: JobContracts) => jobMinStake(c, jobId);
  return withJobBoard("receipts", { ...access, minStake }, async ({ vault, board, peers, operators, fromBlock }) => {
    const registry = (await board.registry.getAddress()).toLowerCase();
    const sharedAddress = board.sharedJobs === undefined ? undefined : (await board.sharedJobs.getAddress()).toLowerCase();
    const chainId = board.components.chainId.toString();
    let records = submissionRecords(vault).filter(
      (r) => (r.registry === registry || r.registry === sharedAddress) && r.chainId === chainId,
    );
    if (access.jobId !== undefined) {
      const label = jobLabel(access.jobId);
      const on = isSharedJobId(access.jobId) ? sharedAddress : registry;
      const one =
        on === undefined
          ? undefined
          : submissionOf(vault, jobKey({ chainId: board.components.chainId, registry: on, jobId: access.jobId }));
      if (one === undefined)
        throw new NoSubmissionError(
          on === undefined
            ? `this vault sent no answer to job ${label} that it can look up: ${label} is a shared job, and no SharedJobs address was given (--shared-jobs ADDRESS, or a network file with contracts.sharedJobs)`
            : `this vault sent no answer to job ${label}; 'mosaic vault answer ${label}' answers it`,
        );
      records = [one];
    }
    const entries: ReceiptsEntry[] = [];
    for (let record of records) {
      const terms = await termsOf(board, record);
      if (access.resend === true) record = await resendIfShort(board, vault, record, terms, { peers, operators }, access.minReceipts ?? 1);
      // Checked again at the job's minStake, as they were when they came (a shared job's: its aggregators only).
      const receiptComponents = terms.aggregators === undefined ? board.components : onlyAggregators(board.components, terms.aggregators);
      const staked = await receiptComponents.stakedOperators(
        record.receipts.map((r) => r.operator),
        { minStake: terms.minStake },
      );
      const job = { chainId: BigInt(record.chainId), registry: record.registry, jobId: BigInt(record.jobId) };
      // The leaf is compared with the bytes this vault sent; the result events are read from the job's posted block.
      const inclusion =
        terms.aggregators !== undefined && board.sharedJobs !== undefined
          ? await checkSharedInclusion({ sharedJobs: board.sharedJobs, getBlock: board.getBlock }, record)
          : await checkInclusion({ registry: board.registry, getBlock: board.getBlock }, record, {
              sent: (await sentBlock(vault, job)).bytes,
              fromBlock: async () => (await readPostedJob(board.registry, job.jobId, { fromBlock })).postedBlock,
            });
      entries.push(entryOf(record, checkStoredReceipts(record, staked), inclusion, terms.aggregators !== undefined));
    }
    return { entries };
  });
}

/**
 * With --resend: an answer whose job is still collecting and that has fewer than `minReceipts` receipts is handed to
 * the reducers again (the same bytes, from the audit log), with backoff until enough sign or the window closes. A
 * shared job's answer goes to its aggregators only.
 */
async function resendIfShort(
  board: NodeJobBoard,
  vault: Vault,
  record: SubmissionRecord,
  onChain: RecordedJobTerms,
  { peers, operators }: { peers: string[]; operators: ReadonlyMap<string, string> },
  minReceipts: number,
): Promise<SubmissionRecord> {
  if (record.receipts.length >= minReceipts) return record;
  const job = { chainId: BigInt(record.chainId), registry: record.registry, jobId: BigInt(record.jobId) };
  const label = jobLabel(job.jobId);
  const now = await board.components.now();
  if (onChain.state !== 1n || now >= onChain.collectionDeadline) {
    say(`  job ${label}: its collection window has closed; nothing to resend`);
    return record;
  }
  say(`▶ resending the answer to job ${label} (${record.receipts.length}/${minReceipts} receipts)`);
  const shared = onChain.aggregators;
  const result = await resendSubmission(board.components, vault, job, {
    peers: shared === undefined ? peers : aggregatorPeers(peers, operators, shared),
    operators,
    minStake: onChain.minStake,
    ...(shared === undefined ? {} : { aggregators: shared }),
    minReceipts,
    until: Date.now() + (onChain.collectionDeadline - now) * 1000,
    onRound: (r) => {
      for (const x of r.refused) say(`  refused: ${x.peer}: ${x.error}: ${x.message}`);
      say(`  receipts ${r.receipts}/${r.needed} after round ${r.round}`);
    },
  });
  return result.record;
}

function entryOf(
  record: SubmissionRecord,
  checked: ReturnType<typeof checkStoredReceipts>,
  inclusion: InclusionVerdict | SharedInclusionVerdict,
  shared: boolean,
): ReceiptsEntry {
  return {
    jobId: record.jobId,
    ...(shared ? { label: jobLabel(BigInt(record.jobId)) } : {}),
    jobKey: record.jobKey,
    cid: record.cid,
    nullifier: record.nullifier,
    submittedAt: record.submittedAt,
    receipts: checked.map((c) => ({
      operator: c.receipt.operator,
      receivedAt: c.receipt.receivedAt,
      valid: c.valid,
      ...(c.error === undefined ? {} : { error: c.error }),
    })),
    inclusion,
  };
}

export function formatReceipts(r: { entries: ReceiptsEntry[] }): string {
  if (r.entries.length === 0) return "This vault has sent no answers on this registry yet.";
  const lines: string[] = [];
  for (const e of r.entries) {
    lines.push(`job ${e.label ?? e.jobId}: submission ${e.cid}, sent ${new Date(e.submittedAt).toISOString()}`);
    if (e.receipts.length === 0) lines.push("  no receipts");
    for (const x of e.receipts)
      lines.push(
        `  receipt  operator ${x.operator}, ${new Date(x.receivedAt).toISOString()}, ${x.valid ? "valid" : `INVALID (${x.error})`}`,
      );
    const v = e.inclusion;
    if (e.label !== undefined) {
      lines.push(...sharedInclusionLines(e, v as SharedInclusionVerdict));
      continue;
    }
    if (v.status === "pending") lines.push(`  result   not final yet (job ${v.state}; final after ${iso(v.finalizeAfter)})`);
    else if (v.status === "refunded") lines.push("  result   none: the job was refunded (too few answers or no proposal)");
    else if (v.status === "counted")
      lines.push(`  counted  (leaf ${v.index} of ${v.count}, proof checked against root ${v.treeRoot}); bundle ${v.bundleCid}`);
    else if (v.status === "unavailable")
      lines.push(`  result   final, but its bundle ${v.bundleCid} could not be read (${v.reason}); try again`);
    else {
      lines.push(`  MISSING — your submission is not in the winning result; keep this as evidence: ${v.reason}`);
      lines.push(`           submission ${e.cid}, nullifier ${e.nullifier}`);
      lines.push(
        `           winning bundle ${v.bundleCid} (${v.count} leaves, root ${v.treeRoot}, proposer ${(v as { proposer: string }).proposer})`,
      );
    }
  }
  return lines.join("\n");
}

/** A shared job's result lines: its answer among the leaves of the share set both aggregators committed. */
function sharedInclusionLines(e: ReceiptsEntry, v: SharedInclusionVerdict): string[] {
  if (v.status === "pending") return [`  result   not final yet (shared job ${v.state}; final after ${iso(v.finalizeAfter)})`];
  if (v.status === "refunded") return [`  result   none: the job was refunded (${v.reason})`];
  if (v.status === "counted")
    return [
      `  counted  (leaf ${v.index} of ${v.count} in the share set both aggregators committed; its root ${v.treeRoot} recomputed from every leaf); bundle ${v.bundleCid}`,
    ];
  if (v.status === "unavailable")
    return [`  result   final, but no aggregator's share set ${v.bundleCid} could be read and checked (${v.reason}); try again`];
  return [
    `  MISSING — your submission is not in the committed share set; keep this as evidence: ${v.reason}`,
    `           submission ${e.cid}, nullifier ${e.nullifier}`,
    `           share set ${v.bundleCid} (${v.count} leaves, root ${v.treeRoot}, aggregator ${v.aggregator})`,
  ];
}
