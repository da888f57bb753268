// What the exposure screens reach: the network's ExposureFeeds contract (read over the app's RPC, never through the
// wallet) and a dial-only browser IPFS node that fetches a feed's signed documents over bitswap from the peers that
// hold them — the network's bootstrap node, the reducers on-chain, and any peer the person types.
import { attachExposureFeeds, CID, type ExposureFeeds, getBlock, type IpfsNode, parseCid } from "@mosaic/protocol";
import type { HotspotServer } from "@mosaic/vault";
import { getBytes } from "ethers";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";
import { type BrowserNode, browserNode } from "./browser-net.tsx";

/** The largest document a feed names: a batch of 10,000 keys is about 400 KB of dag-cbor. */
export const MAX_FEED_DOCUMENT_BYTES = 2 << 20;

/** A feed as the chain records it, with its CIDs as strings ("" when not set). */
export interface FeedView {
  feedId: bigint;
  authority: string;
  groupId: bigint;
  seq: number;
  head: string;
  riskConfig: string;
  hotspots: string;
}

/** The feeds on-chain, and the node the blocks come through (its typed peer: the authority's node). */
export interface ExposureNet extends BrowserNode {
  feeds: ExposureFeeds;
  /** The feeds on-chain, 1..feedCount(). */
  listFeeds(): Promise<FeedView[]>;
  feed(feedId: bigint): Promise<FeedView>;
  /** What the vault's followKeyFeed, fetchRiskConfig and checkExposure read: the contract and the node's blockstore. */
  components(): Promise<{ feeds: ExposureFeeds; blocks: IpfsNode["blockstore"]; chainId: bigint }>;
  /** A block by CID from the peers dialled (at most MAX_FEED_DOCUMENT_BYTES, 20 s). */
  getBlock(cid: string | CID, options?: { signal?: AbortSignal; maxBytes?: number }): Promise<Uint8Array>;
  /** Where a hotspot check is asked, in turn: the peers typed, then the staked operators' nodes on-chain. */
  hotspotServers(): Promise<HotspotServer[]>;
}

/** The network file names no ExposureFeeds contract: an older deployment. */
export class NoExposureFeedsError extends Error {
  override name = "NoExposureFeedsError";
}

/** A CID the contract holds in binary form (0x…), as text; "" when the field is unset. */
const cidText = (bytes: string): string => (bytes === "0x" || bytes === "" ? "" : CID.decode(getBytes(bytes)).toString());

export function exposureNet(network: LoadedNetwork, extraPeers: () => readonly string[] = () => []): ExposureNet {
  const address = network.file.contracts.exposureFeeds?.address;
  if (address === undefined)
    throw new NoExposureFeedsError(
      `the network ${network.file.name} names no ExposureFeeds contract: exposure notification needs a network deployed since issue 20 (run 'mosaic devnet' or 'mosaic deploy' again)`,
    );
  const feeds = attachExposureFeeds(network.reader, address);
  const ipfs = browserNode(network, extraPeers);
  const feed = async (feedId: bigint): Promise<FeedView> => {
    const f = await feeds.feedOf(feedId);
    return {
      feedId,
      authority: f.authority,
      groupId: f.groupId,
      seq: Number(f.seq),
      head: cidText(f.head),
      riskConfig: cidText(f.riskConfig),
      hotspots: cidText(f.hotspots),
    };
  };
  return {
    feeds,
    feed,
    async listFeeds() {
      const count = Number(await feeds.feedCount());
      const out: FeedView[] = [];
      for (let id = 1; id <= count; id++) out.push(await feed(BigInt(id)));
      return out;
    },
    async components() {
      return { feeds, blocks: (await ipfs.node()).blockstore, chainId: BigInt(network.file.chainId) };
    },
    async getBlock(cid, options = {}) {
      const n = await ipfs.node();
      const timeout = AbortSignal.timeout(20_000);
      return getBlock(n.blockstore, typeof cid === "string" ? parseCid(cid) : cid, {
        maxBytes: options.maxBytes ?? MAX_FEED_DOCUMENT_BYTES,
        signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      });
    },
    ...ipfs,
    async hotspotServers() {
      const reducers = await reducersOnChain(network).catch(() => []);
      return [
        ...ipfs.typedPeers().map((addr) => ({ addrs: [addr] })),
        ...reducers.map((r) => ({ addrs: browserAddrs(r.addrs), operator: r.operator })).filter((r) => r.addrs.length > 0),
      ];
    },
  };
}
