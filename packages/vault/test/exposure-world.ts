// The parts exposure tests run on: an in-process chain with ExposureFeeds and a health authority's registrar group,
// the authority's Helia node on loopback holding its signed documents, and a reader node that fetches them over bitswap.
import type { KeyBatch, PublishedKey } from "@mosaic/exposure";
import { encodeKeyBatch, unixDayOf } from "@mosaic/exposure";
import { createAvatarGroup } from "@mosaic/avatar";
import {
  type Block,
  type ChainConnection,
  createIpfsNode,
  deployMosaic,
  dialPeer,
  type ExposureFeeds,
  findEvent,
  type IpfsNode,
  type MosaicContracts,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import type { Signer } from "ethers";
import { randomBytes } from "node:crypto";
import type { FeedRef, KeyFeedComponents, Vault } from "../src/index.js";

export const DAY = 86_400;

export interface ExposureWorld {
  chain: ChainConnection;
  contracts: MosaicContracts;
  /** ExposureFeeds, read-only (the provider). */
  feeds: ExposureFeeds;
  authority: Signer;
  authorityAddress: string;
  authorityNode: IpfsNode;
  readerNode: IpfsNode;
  /** The authority's registrar group its positives are admitted to. */
  groupId: bigint;
  chainId: number;
  feedsAddress: string;
  /** What followKeyFeed and fetchRiskConfig read: the contract and the reader's blockstore. */
  components: KeyFeedComponents;
  newFeed(): Promise<FeedRef>;
  publishBatch(
    feed: FeedRef,
    fields: Pick<KeyBatch, "seq" | "prev" | "keys"> & { createdAt?: number },
    options?: { signer?: Signer; anchorSeq?: number },
  ): Promise<Block>;
  close(): Promise<void>;
}

export async function exposureWorld(now: number): Promise<ExposureWorld> {
  const chain = await connectInProcessChain();
  const [deployer, authority] = chain.accounts as [Signer, Signer];
  const authorityAddress = (await authority.getAddress()).toLowerCase();
  const contracts = await deployMosaic(deployer, { unbondingDelay: 86_400n });
  const feeds = (contracts.exposureFeeds as ExposureFeeds).connect(chain.provider);
  const feedsAddress = (await feeds.getAddress()).toLowerCase();
  const chainId = Number(chain.chainId);
  const groupId = await createAvatarGroup(contracts, {
    name: "health-authority-positives",
    policy: "registrar",
    registrar: authorityAddress,
  });
  const authorityNode = await createIpfsNode();
  const readerNode = await createIpfsNode();
  await dialPeer(readerNode, nodeAddresses(authorityNode)[0] as string);
  return {
    chain,
    contracts,
    feeds,
    authority,
    authorityAddress,
    authorityNode,
    readerNode,
    groupId,
    chainId,
    feedsAddress,
    components: { feeds, blocks: readerNode.blockstore },
    async newFeed() {
      const receipt = await (await feeds.connect(authority).createFeed(groupId)).wait();
      const feedId = (findEvent(receipt, feeds.interface, "FeedCreated").args.feedId as bigint).toString();
      return { chainId, feeds: feedsAddress, feedId };
    },
    async publishBatch(feed, fields, options = {}) {
      const block = await encodeKeyBatch({ version: 1, ...feed, uploads: [], createdAt: now, ...fields }, options.signer ?? authority);
      await putBlock(authorityNode.blockstore, block);
      await (
        await feeds.connect(authority).publishKeys(feed.feedId, options.anchorSeq ?? fields.seq, block.cid.bytes, fields.keys.length)
      ).wait();
      return block;
    },
    async close() {
      await readerNode.stop();
      await authorityNode.stop();
      await chain.close();
    },
  };
}

/** A random published key of unix day `day`. */
export function randomKey(day: number): PublishedKey {
  return {
    key: randomBytes(16),
    rollingStartIntervalNumber: day * 144,
    rollingPeriod: 144,
    reportType: "confirmed-test",
    daysSinceOnsetOfSymptoms: null,
  };
}

/** The documents of the vault's cached key batches. */
export function cachedFeeds(vault: Vault) {
  return vault.ability("proximity").read("feeds").find();
}

export { unixDayOf };
