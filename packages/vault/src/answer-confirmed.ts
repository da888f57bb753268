// Answering a job and knowing it arrived: the consented payload proved and sent through the egress gate (answerJobWith),
// recorded in the vault, then handed to the reducers until enough staked operators signed a receipt for it.
import { type ArtifactPaths, decodeSubmission } from "@mosaic/avatar";
import { type Block, jobLabel } from "@mosaic/protocol";
import {
  type AnswerResult,
  answerJobWith,
  answerSharedJobWith,
  type ProveSharedSubmission,
  type ProveSubmission,
  type ShardReport,
} from "./answer.js";
import type { PreparedJob } from "./jobs.js";
import { NoReducersError } from "./job-errors.js";
import {
  type CollectReceiptsComponents,
  type CollectReceiptsInit,
  type CollectReceiptsResult,
  collectReceipts,
  recordSubmission,
} from "./submissions.js";
import type { Vault } from "./vault.js";

export interface AnswerConfirmedComponents extends CollectReceiptsComponents {
  /** @default the installed files (Node); none in the browser */
  artifacts?: ArtifactPaths;
  /**
   * Makes the proof (off the main thread, say; see AnswerJobComponents.prove).
   * @default proveSubmission with `artifacts`, on this thread
   */
  prove?: ProveSubmission;
  /**
   * Makes a shared job's proof (see AnswerSharedJobComponents.prove).
   * @default proveSharedSubmission with `artifacts`, on this thread
   */
  proveShared?: ProveSharedSubmission;
  /**
   * Shards a shared job's answer (see AnswerSharedJobComponents.shard).
   * @default @mosaic/mapreduce's shardReport
   */
  shard?: ShardReport;
}

export interface AnswerConfirmedInit extends Pick<CollectReceiptsInit, "minReceipts" | "firstBackoffMs" | "maxBackoffMs" | "onRound"> {
  /** Multiaddrs (with /p2p/) of the reducers to hand the submission to: those found on-chain, or given. */
  peers: string[];
  /**
   * For the peers found in the reducer directory, the operator of each one's record: its receipts count only when
   * signed by that operator (see collectReceipts).
   * @default none
   */
  operators?: ReadonlyMap<string, string>;
  /** Now on the chain's clock, unix seconds. */
  now: number;
  /**
   * The longest random delay before sending. The library's default spreads over the whole window; an interactive
   * command bounds it (the CLI's `--delay-max`).
   * @default the whole remaining window, less the safety margin
   */
  maxDelayMs?: number;
  /** @default max(60 s, 10% of the remaining window) */
  safetyMarginMs?: number;
  /** A uniform random integer in [0, bound), for tests. @default WebCrypto's CSPRNG */
  random?: (bound: number) => number;
  /** Called as each step starts: "prove", "wait" (the random delay), "publish", "receipts". */
  onStep?: (step: string, detail?: Record<string, unknown>) => void;
  /** @default Date.now */
  clock?: () => number;
  signal?: AbortSignal;
}

export interface AnswerConfirmedResult {
  answer: AnswerResult;
  /** The submission as recorded in the vault, with the receipts collected. */
  receipts: CollectReceiptsResult;
}

/**
 * The receipt components for a shared job's stored receipts checked again (checkStoredReceipts' staked set): only its
 * two aggregators count as staked operators, since only they hold its answer's shares.
 */
export function onlyAggregators<C extends CollectReceiptsComponents>(
  components: C,
  aggregators: readonly string[],
): CollectReceiptsComponents {
  const wanted = new Set(aggregators.map((a) => a.toLowerCase()));
  return {
    handOver: components.handOver,
    async stakedOperators(addresses, options) {
      const staked = await components.stakedOperators(
        addresses.filter((a) => wanted.has(a.toLowerCase())),
        options,
      );
      return new Set([...staked].filter((a) => wanted.has(a.toLowerCase())));
    },
  };
}

/**
 * Proves and sends the consented payload for a prepared job (see answerJobWith for the timing and the egress
 * order), records its CID and nullifier in the vault the moment it leaves, then collects signed receipts from the
 * reducers until `minReceipts` staked operators confirmed holding it or the collection deadline passes (see
 * collectReceipts). The user must have consented (vault.consent) first.
 *
 * A shared-mode job (prepared from SharedJobs: `prepared.posted.shared`) is answered with answerSharedJobWith: the
 * exact answer in two shares encrypted to the keys the job recorded; only its two aggregators' receipts count (another
 * operator's is NotAggregatorError), and they name the SharedJobs address.
 */
export async function answerConfirmed(
  components: AnswerConfirmedComponents,
  vault: Vault,
  prepared: PreparedJob,
  init: AnswerConfirmedInit,
): Promise<AnswerConfirmedResult> {
  if (init.peers.length === 0)
    throw new NoReducersError(
      `job ${jobLabel(prepared.job.jobId)}: no reducer to hand the answer to; none is registered on-chain and none was given`,
    );
  const shared = prepared.posted.shared;
  const clock = init.clock ?? Date.now;
  // The deadline on the local clock: chain time may run ahead of or behind it.
  const until = clock() + (prepared.posted.collectionDeadline - init.now) * 1000;
  let receipts: CollectReceiptsResult | undefined;
  init.onStep?.("prove");
  const publish = async (block: Block): Promise<void> => {
    const nullifier = decodeSubmission(block.bytes).proof.nullifier;
    await recordSubmission(vault, prepared.job, {
      cid: block.cid.toString(),
      nullifier,
      submittedAt: clock(),
      specCid: prepared.posted.specCid,
    });
    init.onStep?.("publish", { cid: block.cid.toString() });
    init.onStep?.("receipts", { needed: init.minReceipts ?? 1 });
    receipts = await collectReceipts(components, vault, prepared.job, block, {
      peers: init.peers,
      operators: init.operators,
      // Only operators who could propose for this job count.
      minStake: prepared.posted.minStake,
      // A shared job's answer is held by its two aggregators only: another operator's receipt says nothing of it.
      ...(shared === undefined ? {} : { aggregators: shared.aggregators }),
      minReceipts: init.minReceipts,
      until,
      firstBackoffMs: init.firstBackoffMs,
      maxBackoffMs: init.maxBackoffMs,
      onRound: init.onRound,
      clock,
      signal: init.signal,
    });
  };
  const answerInit = {
    peers: init.peers,
    collectionDeadline: prepared.posted.collectionDeadline,
    now: init.now,
    maxDelayMs: init.maxDelayMs,
    safetyMarginMs: init.safetyMarginMs,
    random: init.random,
    signal: init.signal,
  };
  const answer =
    shared === undefined
      ? await answerJobWith(
          { publish, artifacts: components.artifacts, prove: components.prove },
          vault,
          prepared.job,
          prepared.group,
          answerInit,
        )
      : await answerSharedJobWith(
          { publish, artifacts: components.artifacts, prove: components.proveShared, shard: components.shard },
          vault,
          prepared.job,
          prepared.group,
          shared.aggregatorKeys,
          { ...answerInit, spec: prepared.spec },
        );
  return { answer, receipts: receipts as CollectReceiptsResult };
}
