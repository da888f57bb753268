// Syncing a vault's thread between the owner's devices over libp2p: one device serves, another pulls (Node: TCP).
import { createIpfsNode, type IpfsNodeInit, nodeAddresses } from "@mosaic/protocol";
import { type Thread, ThreadReplicator } from "@mosaic/threads";
import type { Blockstore } from "interface-blockstore";
import { type PullThreadOptions, pullThreadFrom as pullAnywhere } from "../device-sync.js";

export { type PullThreadOptions, servingPeerOf } from "../device-sync.js";

/** Pulls from another device over TCP (or WebSockets): the portable pull with a Node libp2p node. */
export function pullThreadFrom(
  components: { blockstore: Blockstore },
  thread: Thread,
  address: string,
  options: Omit<PullThreadOptions, "createNode"> = {},
): Promise<{ added: number; duplicates: number }> {
  return pullAnywhere(components, thread, address, { ...options, createNode: (blockstore) => createIpfsNode({ blockstore, listen: [] }) });
}

export interface ServeThreadOptions {
  /** Addresses to listen on. @default TCP and WebSockets on 127.0.0.1 (a browser vault pulls over WebSockets) */
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
    listen: options.listen ?? ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
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
