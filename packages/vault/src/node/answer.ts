// Answering a job in Node: the portable answerJobWith (and answerSharedJobWith), publishing from a throwaway TCP libp2p node.
import { type Group, publishSubmission } from "@mosaic/avatar";
import type { JobRef } from "@mosaic/protocol";
import { type AnswerJobInit, type AnswerResult, type AnswerSharedJobInit, answerJobWith, answerSharedJobWith } from "../answer.js";
import type { Vault } from "../vault.js";

/**
 * Proves and publishes the consented payload for a job, from a throwaway libp2p node with a new peer id
 * (avatar's `publishSubmission`); see answerJobWith for the timing and the egress order.
 */
export function answerJob(vault: Vault, job: JobRef, group: Group, init: AnswerJobInit): Promise<AnswerResult> {
  return answerJobWith({ publish: publishSubmission }, vault, job, group, init);
}

/**
 * Answers a shared-mode job: the consented exact answer split into two shares encrypted to the job's two aggregators'
 * `aggregatorKeys` (as SharedJobs recorded them, the leader's first), proved and published from a throwaway libp2p
 * node (avatar's `publishSubmission`); see answerSharedJobWith for the checks, the timing and the egress order.
 */
export function answerSharedJob(
  vault: Vault,
  job: JobRef,
  group: Group,
  aggregatorKeys: [Uint8Array, Uint8Array],
  init: AnswerSharedJobInit,
): Promise<AnswerResult> {
  return answerSharedJobWith({ publish: publishSubmission }, vault, job, group, aggregatorKeys, init);
}
