// IPFS nodes for every Mosaic role: Helia light + bitswap + gossipsub over TCP, no routers, no bootstrap.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight } from "@helia/libp2p";
import * as dagCbor from "@ipld/dag-cbor";
import { type GossipSub, gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { MemoryBlockstore } from "blockstore-core";
import { FsBlockstore } from "blockstore-fs";
import { MemoryDatastore } from "datastore-core";
import { createHeliaLight, type Helia } from "helia";
import type { Blockstore } from "interface-blockstore";
import type { Block, CID } from "./codec.js";
import { BlockUnavailableError, SubmissionTooLargeError } from "./errors.js";

/** The services every Mosaic libp2p node runs. */
export interface MosaicServices extends Record<string, unknown> {
  identify: unknown;
  pubsub: GossipSub;
}

/** A started Helia node with Mosaic's libp2p services. */
export type IpfsNode = Helia & { libp2p: Libp2p<MosaicServices> };

export interface IpfsNodeInit {
  /**
   * The blockstore to serve (a device's LevelDB one, say); wins over `blockstoreDir`.
   * @default undefined
   */
  blockstore?: Blockstore;
  /**
   * Where blocks are kept on disk; in memory when absent.
   * @default undefined
   */
  blockstoreDir?: string;
  /**
   * Addresses to listen on.
   * @default ["/ip4/127.0.0.1/tcp/0"]
   */
  listen?: string[];
  /**
   * Peers to dial once started (multiaddrs with /p2p/ peer ids).
   * @default []
   */
  peers?: string[];
}

/**
 * Creates and starts an IPFS node. Helia light with bitswap only: a node fetches blocks from the peers it
 * is connected to and never dials the public network.
 */
export async function createIpfsNode(init: IpfsNodeInit = {}): Promise<IpfsNode> {
  let blockstore: Blockstore;
  if (init.blockstore !== undefined) {
    blockstore = init.blockstore;
  } else if (init.blockstoreDir === undefined) {
    blockstore = new MemoryBlockstore();
  } else {
    const fsStore = new FsBlockstore(init.blockstoreDir);
    await fsStore.open();
    blockstore = fsStore;
  }
  const base = createHeliaLight({
    blockstore,
    datastore: new MemoryDatastore(),
    codecs: [dagCbor],
    routers: [],
  });
  const withNet = withLibp2pLight(base, {
    addresses: { listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: false,
        emitSelf: false,
        // Gossipsub scores down more than 10 peers sharing one IP (a Sybil defence for the open network);
        // on loopback every peer shares 127.0.0.1, and the 11th announcer would be silently ignored.
        scoreParams: { IPColocationFactorWhitelist: new Set(["127.0.0.1", "::1"]) },
      }),
    },
  });
  const node = withBitswap(withNet) as unknown as IpfsNode;
  await node.start();
  for (const peer of init.peers ?? []) await dialPeer(node, peer);
  return node;
}

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
      throw new Error(
        `no ${count} subscriber(s) to ${topic} after ${options.timeoutMs ?? 10_000} ms; check that the reducers are running and reachable`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
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
