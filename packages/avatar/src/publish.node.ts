// Publishing a submission from a throwaway libp2p node, in Node: publish.ts's logic over @mosaic/protocol's Node
// factory (TCP, and WebSockets when a listen address asks for it).
import { type Block, createIpfsNode } from "@mosaic/protocol";
import { type PublishResult, type PublishSubmissionInit, publishSubmissionWith } from "./publish.js";

export { PeersUnreachableError, type PublishResult, type PublishSubmissionInit, TooFewRecipientsError } from "./publish.js";

/**
 * Publishes a submission block from a fresh Node libp2p node listening on a new port (see publishSubmissionWith):
 * a new peer id and port per call.
 */
export function publishSubmission(block: Block, init: PublishSubmissionInit): Promise<PublishResult> {
  return publishSubmissionWith((node) => createIpfsNode(node), block, init);
}
