// Syncing a vault's thread between the owner's devices over libp2p: one device serves, another pulls (Node: TCP).
import { peerIdFromString } from "@libp2p/peer-id";
import { createIpfsNode, dialPeer, type IpfsNodeInit, nodeAddresses } from "@mosaic/protocol";
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
  const node = await createIpfsNode({ blockstore: components.blockstore, listen: [] });
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

export interface ServeThreadOptions {
  /** Addresses to listen on. @default ["/ip4/127.0.0.1/tcp/0"] */
  listen?: string[];
  /** Serving stops (and everything closes) when this aborts. */
  signal: AbortSignal;
  /**
   * The node's libp2p identity, so its peer id (and the addresses other devices keep) survive restarts
   * (protocol's loadOrCreatePeerKey keeps one in a file).
   * @default a new key on every start
   */
  privateKey?: IpfsNodeInit["privateKey"];
  /** Called once the node listens, with the peer id and addresses another device pulls from. */
  onListening?: (info: { peerId: string; addresses: string[] }) => void;
}

/** Serves `thread` to the owner's other devices (and pulls theirs) until `signal` aborts. */
export async function serveThread(
  components: { blockstore: Blockstore },
  thread: Thread,
  options: ServeThreadOptions,
): Promise<{ served: number; received: number }> {
  const node = await createIpfsNode({
    blockstore: components.blockstore,
    listen: options.listen ?? ["/ip4/127.0.0.1/tcp/0"],
    privateKey: options.privateKey,
  });
  const replicator = new ThreadReplicator({ libp2p: node.libp2p });
  try {
    await replicator.start();
    const stats = replicator.add(thread.log);
    options.onListening?.({ peerId: node.libp2p.peerId.toString(), addresses: nodeAddresses(node) });
    if (!options.signal.aborted) await new Promise((resolve) => options.signal.addEventListener("abort", resolve, { once: true }));
    return { served: stats.served, received: stats.received };
  } finally {
    await replicator.stop();
    await node.stop();
  }
}
