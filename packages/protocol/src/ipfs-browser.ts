// The IPFS node a browser runs (and that Node can run too): Helia light + bitswap + gossipsub over WebSockets, dial-only.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight } from "@helia/libp2p";
import * as dagCbor from "@ipld/dag-cbor";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PrivateKey } from "@libp2p/interface";
import { webSockets } from "@libp2p/websockets";
import { MemoryBlockstore } from "blockstore-core";
import { MemoryDatastore } from "datastore-core";
import { createHeliaLight } from "helia";
import type { Blockstore } from "interface-blockstore";
import { dialPeer, type IpfsNode, MOSAIC_USER_AGENT } from "./ipfs.js";

export interface BrowserIpfsNodeInit {
  /**
   * The blockstore to serve (an IndexedDB one, say).
   * @default a new in-memory blockstore
   */
  blockstore?: Blockstore;
  /**
   * Peers to dial once started: reducers' WebSockets multiaddrs with /p2p/ peer ids (…/tcp/P/ws/p2p/Qm…).
   * @default []
   */
  peers?: string[];
  /**
   * Dial ws:// (not only wss://) and loopback or private hosts, as a local devnet's reducers need. libp2p's browser
   * default refuses both; Mosaic already keeps private addresses off public chains when it reads the reducer
   * directory (readReducers' allowPrivate), so this only matters for addresses given by hand.
   * @default true
   */
  dialLocal?: boolean;
  /**
   * The node's libp2p identity; a new Ed25519 key each start when absent (a throwaway peer id, as hand-overs want).
   * @default undefined
   */
  privateKey?: PrivateKey;
}

/**
 * Creates and starts a dial-only IPFS node that runs in a browser: WebSockets is the one transport, nothing listens,
 * no routers, no bootstrap. It fetches blocks over bitswap from the peers it dials and serves the blocks in its store
 * to them, so a vault can hand a reducer its submission (submitForReceipt) from a page.
 */
export async function createBrowserIpfsNode(init: BrowserIpfsNodeInit = {}): Promise<IpfsNode> {
  const base = createHeliaLight({
    blockstore: init.blockstore ?? new MemoryBlockstore(),
    datastore: new MemoryDatastore(),
    codecs: [dagCbor],
    routers: [],
  });
  const withNet = withLibp2pLight(base, {
    ...(init.privateKey === undefined ? {} : { privateKey: init.privateKey }),
    // Helia would announce its and libp2p's versions and the platform (the browser's user agent string).
    nodeInfo: { userAgent: MOSAIC_USER_AGENT },
    addresses: { listen: [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.dialLocal === false ? {} : { connectionGater: { denyDialMultiaddr: async () => false } }),
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: false, emitSelf: false }),
    },
  });
  const node = withBitswap(withNet) as unknown as IpfsNode;
  await node.start();
  for (const peer of init.peers ?? []) await dialPeer(node, peer);
  return node;
}
