// Answering a job in Node: the portable answerJobWith, publishing from a throwaway TCP libp2p node.
import { type Group, publishSubmission } from "@mosaic/avatar";
import type { JobRef } from "@mosaic/protocol";
import { type AnswerJobInit, type AnswerResult, answerJobWith } from "../answer.js";
import type { Vault } from "../vault.js";

/**
 * Proves and publishes the consented payload for a job, from a throwaway libp2p node with a new peer id
 * (avatar's `publishSubmission`); see answerJobWith for the timing and the egress order.
 */
export function answerJob(vault: Vault, job: JobRef, group: Group, init: AnswerJobInit): Promise<AnswerResult> {
  return answerJobWith({ publish: publishSubmission }, vault, job, group, init);
}
