// What the vault keeps about each answer it sent (the submission's CID and nullifier, the reducers' signed receipts),
// and handing a submission to reducers until enough of them have signed a receipt for it. Portable: the transport
// (a throwaway libp2p node in Node) and the staked-operator lookup come in as components. The records live in a
// vault-internal collection: private to the vault, never sent anywhere.
import {
  type Block,
  decodeCbor,
  encodeBlock,
  equalBytes,
  fromHex,
  type JobRef,
  jobLabel,
  namedError,
  type SubmissionReceipt,
  sleep,
  verifyReceipt,
} from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { collectionName, VAULT_NAMESPACE } from "./ability.js";
import { NoSubmissionError } from "./job-errors.js";
import { jobKey, type Vault } from "./vault.js";

const SUBMISSIONS = collectionName(VAULT_NAMESPACE, "submissions");

/**
 * A receipt from a reducer found in the directory, signed by another key than its record's operator: one reducer
 * could otherwise hand a new "distinct operator" receipt (from keys it staked 1 wei each) on every round.
 */
export class NotPeerOperatorError extends namedError("NotPeerOperatorError") {}

/**
 * A receipt for a shared-mode job signed by an operator who is not one of the job's two aggregators: only they hold
 * its answer's shares, so another operator's word that it holds the envelope says nothing of its being counted.
 */
export class NotAggregatorError extends namedError("NotAggregatorError") {}

/** One answer this vault sent: where it went and who confirmed holding it. */
export interface SubmissionRecord extends Doc {
  jobKey: string;
  chainId: string;
  registry: string;
  jobId: string;
  /** The submission block's CID. */
  cid: string;
  /** The Semaphore nullifier (decimal): what identifies the leaf in the result's bundle. */
  nullifier: string;
  /** When it left the vault, ms. */
  submittedAt: number;
  /**
   * The job's spec CID on-chain when it was answered: a chain that was reset (a re-run devnet keeps its chain id and
   * addresses) has another job under the same id, told apart by this (StaleJobRecordError). Absent in older records.
   */
  specCid?: string;
  /** Receipts that verified (signed by a staked operator, for this job and CID), one per operator. */
  receipts: SubmissionReceipt[];
}

/** The vault's record of its answer to a job, if it sent one. */
export function submissionOf(vault: Vault, key: string): SubmissionRecord | undefined {
  return vault.thread.collection<SubmissionRecord>(SUBMISSIONS).get(key);
}

/** Every answer this vault sent, oldest first. */
export function submissionRecords(vault: Vault): SubmissionRecord[] {
  return vault.thread
    .collection<SubmissionRecord>(SUBMISSIONS)
    .find()
    .sort((a, b) => a.submittedAt - b.submittedAt);
}

/** Records an answer as it leaves (before any reducer is asked): a crash after this still knows the CID. */
export async function recordSubmission(
  vault: Vault,
  job: JobRef,
  sent: { cid: string; nullifier: bigint | string; submittedAt: number; specCid?: string },
): Promise<SubmissionRecord> {
  const key = jobKey(job);
  const c = vault.thread.collection<SubmissionRecord>(SUBMISSIONS);
  const existing = c.get(key);
  if (existing !== undefined) return existing;
  return c.create({
    _id: key,
    jobKey: key,
    chainId: job.chainId.toString(),
    registry: job.registry.toLowerCase(),
    jobId: job.jobId.toString(),
    cid: sent.cid,
    nullifier: sent.nullifier.toString(),
    submittedAt: sent.submittedAt,
    ...(sent.specCid === undefined ? {} : { specCid: sent.specCid }),
    receipts: [],
  });
}

/** Adds verified receipts to the job's record, one per operator (a later one from the same operator is not kept). */
async function keepReceipts(vault: Vault, key: string, receipts: readonly SubmissionReceipt[]): Promise<SubmissionRecord> {
  const c = vault.thread.collection<SubmissionRecord>(SUBMISSIONS);
  const record = c.get(key);
  if (record === undefined) throw new TypeError(`job ${key}: no submission recorded to add receipts to`);
  const have = new Set(record.receipts.map((r) => r.operator.toLowerCase()));
  const added = receipts.filter((r) => !have.has(r.operator.toLowerCase()) && have.add(r.operator.toLowerCase()));
  if (added.length === 0) return record;
  // dag-cbor keeps plain objects; a receipt is one.
  const next = [...record.receipts, ...added.map((r) => ({ ...r }))];
  await c.update(key, { receipts: next });
  return { ...record, receipts: next };
}

/** What one reducer answered to a hand-over: a receipt (not yet checked) or why it failed. */
export type HandOverOutcome = { peer: string; receipt: SubmissionReceipt } | { peer: string; error: Error };

/**
 * Hands a submission block to each of `peers` and returns each one's answer; the block must be fetchable from the
 * caller. A transport may stop waiting for the slower peers once `accept` (the caller's check of one receipt) has
 * taken `wanted` receipts; those peers' outcomes are then errors.
 */
export type HandOver = (
  block: Block,
  peers: readonly string[],
  request: { job: JobRef },
  options: { signal?: AbortSignal; wanted?: number; accept?: (outcome: HandOverOutcome) => Promise<boolean> },
) => Promise<HandOverOutcome[]>;

/** What collecting receipts needs from its surroundings. */
export interface CollectReceiptsComponents {
  handOver: HandOver;
  /**
   * Which of these addresses are operators on the job's registry with at least `minStake` (default 1 wei) staked now
   * (any letter case in, any out).
   */
  stakedOperators(addresses: readonly string[], options: { signal?: AbortSignal; minStake?: bigint }): Promise<ReadonlySet<string>>;
}

/** A receipt, or an answer, that was refused: never stored. */
export interface RefusedReceipt {
  peer: string;
  /** The address the receipt claimed, when there was a receipt. */
  operator?: string;
  /** The error's name: ForgedReceiptError, WrongReceiptError, MalformedReceiptError, NotPeerOperatorError, NotAggregatorError, or a transport's. */
  error: string;
  message: string;
  round: number;
}

export interface CollectReceiptsInit {
  /** Multiaddrs (with /p2p/) of the reducers to hand the submission to. */
  peers: readonly string[];
  /**
   * For the peers found in the reducer directory: the operator whose record announced it (peer as in `peers` →
   * operator address). A receipt from such a peer counts only when that operator signed it (NotPeerOperatorError
   * otherwise). A peer not in the map (one the user gave with --peer) may answer for any operator with `minStake`.
   * @default none
   */
  operators?: ReadonlyMap<string, string>;
  /**
   * The least stake an operator must have for its receipt to count: the job's minStake, as for proposing.
   * @default 1n
   */
  minStake?: bigint;
  /**
   * A shared-mode job's two aggregators (operator addresses): only their receipts count (NotAggregatorError).
   * @default any staked operator's (a JobRegistry job)
   */
  aggregators?: readonly string[];
  /**
   * How many staked operators must have signed a receipt.
   * @default 1
   */
  minReceipts?: number;
  /** Stop retrying at this instant, ms since the epoch on the local clock (the collection deadline, converted). */
  until: number;
  /**
   * The wait after the first round that fell short; doubled each round up to `maxBackoffMs`.
   * @default 1000
   */
  firstBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** Called after each round with the receipts so far and what was refused in it. */
  onRound?: (round: { round: number; receipts: number; needed: number; refused: RefusedReceipt[] }) => void;
  /** @default Date.now */
  clock?: () => number;
  signal?: AbortSignal;
}

export interface CollectReceiptsResult {
  record: SubmissionRecord;
  /** Whether `minReceipts` operators signed before `until`. */
  complete: boolean;
  needed: number;
  rounds: number;
  /** Every refused answer, across rounds: forged receipts, receipts for another job or CID, transport failures. */
  refused: RefusedReceipt[];
}

/**
 * Hands the job's submission to the reducers round after round, with backoff, until `minReceipts` distinct
 * operators with `minStake` staked have signed a receipt for its CID, or `until` passes. A peer from the directory
 * counts only for its record's operator (`operators`). Each receipt is checked with protocol's
 * verifyReceipt (this chain, registry, job and CID; signed by the operator it names; that operator staked on-chain);
 * a forged or misdirected one is refused, reported and never stored. Good receipts are stored as they arrive, so a
 * crash keeps them. A reducer that gave a good receipt is not asked again.
 */
export async function collectReceipts(
  components: CollectReceiptsComponents,
  vault: Vault,
  job: JobRef,
  block: Block,
  init: CollectReceiptsInit,
): Promise<CollectReceiptsResult> {
  const key = jobKey(job);
  const clock = init.clock ?? Date.now;
  const needed = init.minReceipts ?? 1;
  if (!Number.isInteger(needed) || needed < 1) throw new RangeError(`minReceipts: expected an integer >= 1, got ${needed}`);
  const minStake = init.minStake ?? 1n;
  const cid = block.cid.toString();
  let record = submissionOf(vault, key);
  if (record === undefined) throw new TypeError(`job ${key}: record the submission before collecting its receipts`);
  if (record.cid !== cid) throw new TypeError(`job ${key}: the recorded submission is ${record.cid}, not ${cid}`);
  const refused: RefusedReceipt[] = [];
  const confirmed = new Set<string>(); // peers that gave a good receipt
  let backoff = init.firstBackoffMs ?? 1000;
  const maxBackoff = init.maxBackoffMs ?? 30_000;
  let round = 0;
  // Throws unless the receipt is for this job and CID, signed by the operator it names, who has minStake and, for a
  // peer from the directory, is that peer's operator.
  const aggregators = init.aggregators === undefined ? undefined : new Set(init.aggregators.map((a) => a.toLowerCase()));
  const check = (o: { peer: string; receipt: SubmissionReceipt }, staked: ReadonlySet<string>): void => {
    if (aggregators !== undefined && !aggregators.has(String(o.receipt?.operator).toLowerCase()))
      throw new NotAggregatorError(
        `${o.peer}: a receipt signed for ${String(o.receipt?.operator)}, who is not one of job ${jobLabel(job.jobId)}'s aggregators (${[...(init.aggregators ?? [])].join(", ")}): only they hold its shares`,
      );
    const bound = init.operators?.get(o.peer);
    if (bound !== undefined && String(o.receipt?.operator).toLowerCase() !== bound.toLowerCase())
      throw new NotPeerOperatorError(
        `${o.peer} is the reducer of operator ${bound}; a receipt signed for ${String(o.receipt?.operator)} does not count`,
      );
    verifyReceipt(o.receipt, { chainId: job.chainId, registry: job.registry, jobId: job.jobId, cid, operators: staked });
  };
  for (;;) {
    if (record.receipts.length >= needed) return { record, complete: true, needed, rounds: round, refused };
    init.signal?.throwIfAborted();
    round++;
    const ask = init.peers.filter((p) => !confirmed.has(p));
    // The transport may stop waiting for slow reducers once enough new operators' receipts check.
    const have = new Set(record.receipts.map((r) => r.operator.toLowerCase()));
    const accept = async (o: HandOverOutcome): Promise<boolean> => {
      if (!("receipt" in o) || typeof o.receipt?.operator !== "string") return false;
      const operator = o.receipt.operator.toLowerCase();
      if (have.has(operator)) return false;
      try {
        check(o, await components.stakedOperators([operator], { signal: init.signal, minStake }));
      } catch {
        return false;
      }
      have.add(operator);
      return true;
    };
    const outcomes =
      ask.length === 0
        ? []
        : await components.handOver(block, ask, { job }, { signal: init.signal, wanted: needed - record.receipts.length, accept });
    const claimed = outcomes.flatMap((o) => ("receipt" in o && typeof o.receipt?.operator === "string" ? [o.receipt.operator] : []));
    const staked = claimed.length === 0 ? new Set<string>() : await components.stakedOperators(claimed, { signal: init.signal, minStake });
    const good: SubmissionReceipt[] = [];
    const thisRound: RefusedReceipt[] = [];
    for (const o of outcomes) {
      if ("error" in o) {
        thisRound.push({ peer: o.peer, error: o.error.name, message: o.error.message, round });
        continue;
      }
      try {
        check(o, staked);
        good.push(o.receipt);
        confirmed.add(o.peer);
      } catch (err) {
        thisRound.push({
          peer: o.peer,
          operator: typeof o.receipt?.operator === "string" ? o.receipt.operator : undefined,
          error: (err as Error).name,
          message: (err as Error).message,
          round,
        });
      }
    }
    refused.push(...thisRound);
    if (good.length > 0) record = await keepReceipts(vault, key, good);
    init.onRound?.({ round, receipts: record.receipts.length, needed, refused: thisRound });
    if (record.receipts.length >= needed) return { record, complete: true, needed, rounds: round, refused };
    if (clock() + backoff >= init.until) return { record, complete: false, needed, rounds: round, refused };
    await sleep(backoff, { signal: init.signal });
    backoff = Math.min(backoff * 2, maxBackoff);
  }
}

/** Checks stored receipts again (the operators' stakes may have changed): each with its verdict. */
export function checkStoredReceipts(
  record: SubmissionRecord,
  staked: ReadonlySet<string>,
): { receipt: SubmissionReceipt; valid: boolean; error?: string }[] {
  const job = { chainId: record.chainId, registry: record.registry, jobId: record.jobId, cid: record.cid, operators: staked };
  return record.receipts.map((receipt) => {
    try {
      verifyReceipt(receipt, job);
      return { receipt, valid: true };
    } catch (err) {
      return { receipt, valid: false, error: `${(err as Error).name}: ${(err as Error).message}` };
    }
  });
}

/**
 * The answer to a job exactly as it left the vault: the bytes its audit entry recorded, checked to be the block of
 * the recorded CID. NoSubmissionError when the vault sent no answer to the job.
 */
export async function sentBlock(vault: Vault, job: JobRef): Promise<Block> {
  const key = jobKey(job);
  const record = submissionOf(vault, key);
  const audited = vault.audit().find((a) => a.jobKey === key);
  if (record === undefined || audited === undefined) throw new NoSubmissionError(`this vault sent no answer to job ${job.jobId}`);
  const bytes = fromHex(audited.bytes);
  const block = await encodeBlock(decodeCbor(bytes));
  if (block.cid.toString() !== record.cid || !equalBytes(block.bytes, bytes))
    throw new NoSubmissionError(`job ${job.jobId}: the audited bytes are not the recorded submission ${record.cid}`);
  return block;
}

/**
 * Hands an answer already sent to the reducers again, until `minReceipts` staked operators signed a receipt for it
 * (collectReceipts), e.g. after `vault answer` was stopped before enough receipts came. Sends the same bytes: nothing
 * new leaves the vault, so no consent or budget is involved.
 */
export async function resendSubmission(
  components: CollectReceiptsComponents,
  vault: Vault,
  job: JobRef,
  init: CollectReceiptsInit,
): Promise<CollectReceiptsResult> {
  return collectReceipts(components, vault, job, await sentBlock(vault, job), init);
}
