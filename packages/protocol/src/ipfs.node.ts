// The Node IPFS node every Mosaic role runs: Helia light + bitswap + gossipsub over TCP, no routers, no bootstrap.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight } from "@helia/libp2p";
import * as dagCbor from "@ipld/dag-cbor";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PrivateKey } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { MemoryBlockstore } from "blockstore-core";
import { FsBlockstore } from "blockstore-fs";
import { MemoryDatastore } from "datastore-core";
import { createHeliaLight } from "helia";
import type { Blockstore } from "interface-blockstore";
import { dialPeer, type IpfsNode, isWebSocketsAddress, MOSAIC_USER_AGENT } from "./ipfs.js";
import { sleep } from "./wait.js";

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
   * Addresses to listen on; a WebSockets address (…/tcp/P/ws) adds the WebSockets transport, for browsers.
   * @default ["/ip4/127.0.0.1/tcp/0"]
   */
  listen?: string[];
  /**
   * Peers to dial once started (multiaddrs with /p2p/ peer ids).
   * @default []
   */
  peers?: string[];
  /**
   * The node's libp2p identity (loadOrCreatePeerKey keeps one in a file); a new Ed25519 key each start when absent.
   * @default undefined
   */
  privateKey?: PrivateKey;
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
    ...(init.privateKey === undefined ? {} : { privateKey: init.privateKey }),
    // Helia would announce its and libp2p's versions and the platform (the browser's user agent string).
    nodeInfo: { userAgent: MOSAIC_USER_AGENT },
    addresses: { listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
    transports: (init.listen ?? []).some(isWebSocketsAddress) ? [tcp(), webSockets()] : [tcp()],
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
  try {
    for (const peer of init.peers ?? []) await dialWithRetry(node, peer);
  } catch (err) {
    await node.stop().catch(() => undefined);
    throw err;
  }
  return node;
}

/** Socket errors a listener gives when it sheds load (libp2p refuses inbound connections past 5 per second per host). */
const TRANSIENT_DIAL_ERRORS = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);

/**
 * Dials one of init.peers. A peer that refuses for load (libp2p's inbound rate limit resets the socket, which on
 * loopback every peer shares: many nodes starting at once) is dialled again after a pause, up to three times; any other
 * failure, or the fourth, is thrown.
 */
async function dialWithRetry(node: IpfsNode, peer: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await dialPeer(node, peer);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (attempt > 3 || code === undefined || !TRANSIENT_DIAL_ERRORS.has(code)) throw err;
      await sleep(400 * attempt);
    }
  }
}
