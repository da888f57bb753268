// What every Mosaic role does with an IPFS node, wherever it runs: dial peers, wait for topic peers, move blocks.
import type { GossipSub } from "@libp2p/gossipsub";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import type { Helia } from "helia";
import type { Blockstore } from "interface-blockstore";
import type { Block, CID } from "./codec.js";
import { BlockUnavailableError, SubmissionTooLargeError } from "./errors.js";
import { sleep, WaitTimeoutError } from "./wait.js";

/** The services every Mosaic libp2p node runs. */
export interface MosaicServices extends Record<string, unknown> {
  identify: unknown;
  pubsub: GossipSub;
}

/**
 * The user agent every Mosaic libp2p node announces through identify. libp2p's default names the library versions
 * and, in a browser, `navigator.userAgent`, which would link a throwaway answering node to its browser and OS.
 */
export const MOSAIC_USER_AGENT = "mosaic";

/** Whether a multiaddr is a WebSockets one (…/ws or …/wss, before /p2p/ or at the end): all a browser can dial. */
export function isWebSocketsAddress(addr: string): boolean {
  return /\/wss?(\/|$)/.test(addr);
}

/** A started Helia node with Mosaic's libp2p services. */
export type IpfsNode = Helia & { libp2p: Libp2p<MosaicServices> };

/** Dials a peer by multiaddr. */
export async function dialPeer(node: IpfsNode, address: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  await node.libp2p.dial(multiaddr(address), options);
}

/** The addresses other nodes can dial this one at. */
export function nodeAddresses(node: IpfsNode): string[] {
  return node.libp2p.getMultiaddrs().map((a) => a.toString());
}

/**
 * Waits until at least `count` peers subscribed to `topic` are known, so that a publish reaches someone.
 */
export async function waitForTopicPeers(
  node: IpfsNode,
  topic: string,
  count: number,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (node.libp2p.services.pubsub.getSubscribers(topic).length < count) {
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new WaitTimeoutError(
        `no ${count} subscriber(s) to ${topic} after ${options.timeoutMs ?? 10_000} ms; check that the reducers are running and reachable`,
      );
    }
    await sleep(25);
  }
}

/**
 * Reads a whole block (from the local store, or over bitswap from connected peers), refusing one larger
 * than `maxBytes` as soon as it is known to be.
 */
export async function getBlock(
  blocks: Pick<Blockstore, "get">,
  cid: CID,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of blocks.get(cid, { signal: options.signal })) {
      size += chunk.length;
      if (size > options.maxBytes) throw new SubmissionTooLargeError(size, options.maxBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SubmissionTooLargeError) throw err;
    throw new BlockUnavailableError(`could not fetch ${cid.toString()}: ${(err as Error).message}`);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Stores bytes in a node's blockstore. */
export async function putBlock(blocks: Pick<Blockstore, "put">, block: Block, options: { signal?: AbortSignal } = {}): Promise<void> {
  await blocks.put(block.cid, block.bytes, options);
}

/**
 * Deletes a block from a node's blockstore, or from a plain blockstore. Helia's own delete first asks its content
 * routers to stop providing the block, and a Mosaic node has none (it throws "No content routers available"), so a
 * Helia blockstore is deleted from the store under it (unwrap()).
 */
export async function deleteBlock(
  blocks: Pick<Blockstore, "delete"> | { blockstore: Pick<Blockstore, "delete"> },
  cid: CID,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const store = "blockstore" in blocks ? blocks.blockstore : blocks;
  const under = (store as { unwrap?(): Pick<Blockstore, "delete"> }).unwrap?.() ?? store;
  await under.delete(cid, options);
}
