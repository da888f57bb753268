// Pulling a vault's thread from another device of the same vault (one that runs `mosaic vault serve`), anywhere: the
// caller says how to make the dial-only libp2p node (TCP in Node, WebSockets in a browser).
import { peerIdFromString } from "@libp2p/peer-id";
import { createBrowserIpfsNode, dialPeer, type IpfsNode } from "@mosaic/protocol";
import { type Thread, ThreadReplicator } from "@mosaic/threads";
import type { Blockstore } from "interface-blockstore";

/** The peer id at the end of a serving device's multiaddr; TypeError naming `field` when there is none. */
export function servingPeerOf(address: string, field = "address"): string {
  const match = /\/p2p\/([^/]+)\/?$/.exec(address);
  if (match?.[1] === undefined)
    throw new TypeError(`${field}: expected a multiaddr ending in /p2p/<peer id> (as 'serve' prints), got ${JSON.stringify(address)}`);
  return match[1];
}

export interface PullThreadOptions {
  /** How the address is named in errors. @default "address" */
  field?: string;
  onProgress?: (done: number, total: number) => void;
  /**
   * Makes the dial-only node the pull runs on, serving `blockstore`.
   * @default createBrowserIpfsNode (WebSockets; Node's pullThreadFrom passes a TCP node)
   */
  createNode?: (blockstore: Blockstore) => Promise<IpfsNode>;
}

/**
 * Pulls the records `thread` lacks from the device serving at `address` (a multiaddr with /p2p/), verifying every
 * one before it is applied. The node only dials out, so it listens nowhere.
 */
export async function pullThreadFrom(
  components: { blockstore: Blockstore },
  thread: Thread,
  address: string,
  options: PullThreadOptions = {},
): Promise<{ added: number; duplicates: number }> {
  const peer = peerIdFromString(servingPeerOf(address, options.field));
  const node = await (options.createNode ?? ((blockstore) => createBrowserIpfsNode({ blockstore })))(components.blockstore);
  const replicator = new ThreadReplicator({ libp2p: node.libp2p });
  try {
    await replicator.start();
    replicator.add(thread.log);
    await dialPeer(node, address);
    return await replicator.pull(peer, thread.log.id, { onProgress: options.onProgress });
  } finally {
    await replicator.stop();
    await node.stop();
  }
}
