// What the exposure screens reach: the network's ExposureFeeds contract (read over the app's RPC, never through the
// wallet) and a dial-only browser IPFS node that fetches a feed's signed documents over bitswap from the peers that
// hold them — the network's bootstrap node, the reducers on-chain, and any peer the person types.
import {
  attachExposureFeeds,
  CID,
  createBrowserIpfsNode,
  dialPeer,
  type ExposureFeeds,
  getBlock,
  type IpfsNode,
  isWebSocketsAddress,
  parseCid,
} from "@mosaic/protocol";
import type { HotspotServer } from "@mosaic/vault";
import { getBytes } from "ethers";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";

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

export interface ExposureNet {
  feeds: ExposureFeeds;
  /** The feeds on-chain, 1..feedCount(). */
  listFeeds(): Promise<FeedView[]>;
  feed(feedId: bigint): Promise<FeedView>;
  /** What the vault's followKeyFeed, fetchRiskConfig and checkExposure read: the contract and the node's blockstore. */
  components(): Promise<{ feeds: ExposureFeeds; blocks: IpfsNode["blockstore"]; chainId: bigint }>;
  /** A block by CID from the peers dialled (at most MAX_FEED_DOCUMENT_BYTES, 20 s). */
  getBlock(cid: string | CID, options?: { signal?: AbortSignal; maxBytes?: number }): Promise<Uint8Array>;
  /** The node the blocks come through (started on first use). */
  node(): Promise<IpfsNode>;
  /** The peers a fetch dials: bootstrap and reducers' WebSockets addresses, then the extra ones given. */
  peers(): Promise<string[]>;
  /** The extra peers given (the authority's node), WebSockets ones only. */
  typedPeers(): string[];
  /** Where a hotspot check is asked, in turn: the peers typed, then the staked operators' nodes on-chain. */
  hotspotServers(): Promise<HotspotServer[]>;
  close(): Promise<void>;
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
  let started: Promise<IpfsNode> | undefined;
  const peers = async (): Promise<string[]> => {
    const reducers = await reducersOnChain(network).catch(() => []);
    return [
      ...new Set([
        ...browserAddrs(network.file.bootstrap),
        ...reducers.flatMap((r) => browserAddrs(r.addrs).slice(0, 1)),
        ...extraPeers().filter(isWebSocketsAddress),
      ]),
    ];
  };
  const dialled = new Set<string>();
  const dial = (n: IpfsNode, addrs: readonly string[]) =>
    addrs
      .filter((a) => !dialled.has(a))
      .map(async (a) => {
        await dialPeer(n, a, { signal: AbortSignal.timeout(10_000) });
        dialled.add(a);
      });
  const node = async (): Promise<IpfsNode> => {
    started ??= (async () => {
      const n = await createBrowserIpfsNode();
      // Ready as soon as one peer answers; bitswap asks the others as they connect.
      await Promise.any(dial(n, await peers())).catch(() => undefined);
      return n;
    })();
    started.catch(() => {
      started = undefined;
    });
    const n = await started;
    // A peer typed after the node started is dialled before the next fetch.
    const typed = extraPeers().filter(isWebSocketsAddress);
    if (typed.some((a) => !dialled.has(a))) await Promise.any(dial(n, typed)).catch(() => undefined);
    return n;
  };
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
      return { feeds, blocks: (await node()).blockstore, chainId: BigInt(network.file.chainId) };
    },
    async getBlock(cid, options = {}) {
      const n = await node();
      const timeout = AbortSignal.timeout(20_000);
      return getBlock(n.blockstore, typeof cid === "string" ? parseCid(cid) : cid, {
        maxBytes: options.maxBytes ?? MAX_FEED_DOCUMENT_BYTES,
        signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      });
    },
    node,
    peers,
    typedPeers: () => extraPeers().filter(isWebSocketsAddress),
    async hotspotServers() {
      const reducers = await reducersOnChain(network).catch(() => []);
      return [
        ...extraPeers()
          .filter(isWebSocketsAddress)
          .map((addr) => ({ addrs: [addr] })),
        ...reducers.map((r) => ({ addrs: browserAddrs(r.addrs), operator: r.operator })).filter((r) => r.addrs.length > 0),
      ];
    },
    async close() {
      const n = await started?.catch(() => undefined);
      await n?.stop();
    },
  };
}
