// Answering a job: the consented payload, proved by the avatar, through the egress gate, onto IPFS.
import { encodeSubmission, type Group, proveSubmission } from "@mosaic/avatar";
import { type Block, type IpfsNode, type JobRef, jobTopic, putBlock, waitForTopicPeers } from "@mosaic/protocol";
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
  job: JobRef,
  group: Group,
  options: { signal?: AbortSignal; minTopicPeers?: number } = {},
): Promise<AnswerResult> {
  const key = jobKey(job);
  const payload = vault.consentedPayload(key);
  const started = performance.now();
  const submission = await proveSubmission(vault.avatar, group, job, payload);
  const proofMs = performance.now() - started;
  const block = await encodeSubmission(submission);
  const bytes = await vault.egress(key, block.bytes, payload);
  await putBlock(ipfs.blockstore, { cid: block.cid, bytes }, options);
  const topic = jobTopic(job);
  await announce(ipfs, topic, new TextEncoder().encode(block.cid.toString()), options.minTopicPeers ?? 1, options.signal);
  return { block, proofMs };
}

/**
 * Publishes an announcement until at least `minRecipients` peers were sent it. A peer can be known as a
 * subscriber before our stream to it is open, and then a publish reaches no one; announcements are
 * idempotent (reducers ignore a CID they have seen), so sending again is safe.
 */
async function announce(ipfs: IpfsNode, topic: string, data: Uint8Array, minRecipients: number, signal?: AbortSignal): Promise<void> {
  // Joining the topic's mesh gives the announcement a path through gossip as well as the direct publish.
  ipfs.libp2p.services.pubsub.subscribe(topic);
  await waitForTopicPeers(ipfs, topic, minRecipients, { signal });
  const reached = new Set<string>();
  for (let attempt = 0; attempt < 100; attempt++) {
    signal?.throwIfAborted();
    try {
      const { recipients } = await ipfs.libp2p.services.pubsub.publish(topic, data);
      for (const p of recipients) reached.add(p.toString());
    } catch {
      // No subscribed peer reachable at this instant (PublishError.NoPeersSubscribedToTopic): try again.
    }
    if (reached.size >= minRecipients) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`announcement on ${topic} reached ${reached.size} of ${minRecipients} reducers; check they are running and reachable`);
}
