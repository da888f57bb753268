// Answering a job: the consented payload, proved by the avatar, through the egress gate, onto IPFS.
import { encodeSubmission, type Group, proveSubmission } from "@mosaic/avatar";
import { type Block, type IpfsNode, type JobRef, type JobSpec, jobTopic, putBlock, waitForTopicPeers } from "@mosaic/protocol";
import { jobKey, type Vault } from "./vault.js";

export interface AnswerResult {
  block: Block;
  proofMs: number;
}

/**
 * Proves and publishes the consented payload for a job: the submission block goes into the node's
 * blockstore and its CID is announced on the job's topic. No transaction, no wallet.
 */
export async function answerJob(
  vault: Vault,
  ipfs: IpfsNode,
  spec: JobSpec,
  job: JobRef,
  group: Group,
  options: { signal?: AbortSignal; minTopicPeers?: number } = {},
): Promise<AnswerResult> {
  const key = jobKey(job);
  const payload = await vault.consentedPayload(key);
  const started = performance.now();
  const submission = await proveSubmission(vault.avatar, group, job, payload);
  const proofMs = performance.now() - started;
  const block = await encodeSubmission(submission);
  const bytes = await vault.egress(spec, key, block.bytes);
  await putBlock(ipfs.blockstore, { cid: block.cid, bytes }, options);
  const topic = jobTopic(job);
  await waitForTopicPeers(ipfs, topic, options.minTopicPeers ?? 1, options);
  await ipfs.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(block.cid.toString()));
  return { block, proofMs };
}
