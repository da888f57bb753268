// What the alert inbox reaches: the network's AlertFeeds contract (read over the app's RPC, never through the wallet)
// and a dial-only browser IPFS node that fetches a feed's entries over bitswap from the replicas that hold them — the
// network's bootstrap node, the reducers on-chain (a reducer can run a replica) and any peer the person types. Every
// entry is checked here against the on-chain head and the editors' signatures (syncFeed), so a replica can withhold
// but not forge.
import { type AlertFeedChain, type AlertFeedRef, alertFeedChain, type BlockGetter, MAX_ENTRY_BYTES } from "@mosaic/alerts";
import { type AlertFeeds, attachAlertFeeds, getBlock, namedError } from "@mosaic/protocol";
import type { LoadedNetwork } from "../network.ts";
import { browserNode } from "./browser-net.tsx";

/** The network file names no AlertFeeds contract: an older deployment. */
export class NoAlertFeedsError extends namedError("NoAlertFeedsError") {}

/** A feed as the chain records it now. */
export interface AlertFeedStatus {
  feedId: number;
  seq: number;
  epoch: number;
  editors: string[];
  threshold: number;
}

export interface AlertsNet {
  /** The AlertFeeds contract, lowercase 0x. */
  contract: string;
  chainId: number;
  /** The reference a vault follows: this chain, this contract, `feedId`. */
  ref(feedId: number): AlertFeedRef;
  /** The chain side of syncFeed. */
  chain(): AlertFeedChain;
  /** The block side of syncFeed: the browser node's bitswap, each block at most MAX_ENTRY_BYTES, 20 s. */
  blocks(): Promise<BlockGetter>;
  /** How many feeds the contract holds (the latest id). */
  feedCount(): Promise<number>;
  /** A feed's head and current editors (UnknownFeed from the contract when there is none). */
  feed(feedId: number): Promise<AlertFeedStatus>;
  /** The peers a sync dials: bootstrap and reducers' WebSockets addresses, then the extra ones given. */
  peers(): Promise<string[]>;
  close(): Promise<void>;
}

const BLOCK_TIMEOUT_MS = 20_000;

export function alertsNet(network: LoadedNetwork, extraPeers: () => readonly string[] = () => []): AlertsNet {
  const address = network.file.contracts.alertFeeds?.address;
  if (address === undefined)
    throw new NoAlertFeedsError(
      `the network ${network.file.name} names no AlertFeeds contract: public alerts need a network deployed since issue 21 (run 'mosaic devnet' or 'mosaic deploy' again)`,
    );
  const contract = address.toLowerCase();
  const chainId = network.file.chainId;
  const feeds: AlertFeeds = attachAlertFeeds(network.reader, address);
  const chain = alertFeedChain(feeds, { fromBlock: network.file.contracts.alertFeeds?.deployBlock });
  const ipfs = browserNode(network, extraPeers);
  return {
    contract,
    chainId,
    ref: (feedId) => ({ chainId, contract, feedId }),
    chain: () => chain,
    async blocks() {
      const n = await ipfs.node();
      return {
        get(cid, options = {}) {
          const timeout = AbortSignal.timeout(BLOCK_TIMEOUT_MS);
          return getBlock(n.blockstore, cid, {
            maxBytes: MAX_ENTRY_BYTES,
            signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
          });
        },
      };
    },
    async feedCount() {
      return Number(await feeds.feedCount());
    },
    async feed(feedId) {
      const head = await chain.headOf(feedId);
      const editors = await chain.editorsAt(feedId, head.epoch);
      return { feedId, seq: head.seq, epoch: head.epoch, editors: editors.editors, threshold: editors.threshold };
    },
    peers: ipfs.peers,
    close: ipfs.close,
  };
}
