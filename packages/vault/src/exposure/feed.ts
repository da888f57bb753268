// Following a health authority's key feed: the head and authority from ExposureFeeds, the signed batches from IPFS
// walked back by their `prev` links to what the vault already holds. Pull only: the chain and IPFS see a read of
// public data, never who is checking or what matched.
import {
  type DocumentKind,
  decodeKeyBatch,
  KEY_RETENTION_DAYS,
  type KeyBatch,
  MAX_DOCUMENT_BYTES,
  MalformedExposureDocumentError,
  type PublishedKey,
} from "@mosaic/exposure";
import { CID, equalBytes, type ExposureFeeds, getBlock, parseCid } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2";
import { getBytes } from "ethers";
import type { Blockstore } from "interface-blockstore";
import { FEED_PART_KEYS, type FeedBatchDoc, PROXIMITY } from "../abilities/proximity.js";
import type { Vault } from "../vault.js";
import { KeyFeedMismatchError, KeyFeedSequenceError, UnknownKeyFeedError } from "./errors.js";
import { decodeFeedKeys, encodeFeedKeys } from "./feed-cache.js";

const DAY_S = 86_400;

/** What following a feed reads: the ExposureFeeds contract and an IPFS blockstore (a Helia node's fetches over bitswap). */
export interface KeyFeedComponents {
  feeds: Pick<ExposureFeeds, "feedOf" | "getAddress" | "runner" | "interface">;
  blocks: Pick<Blockstore, "get">;
  /** The chain's id. @default the feeds contract's provider's network */
  chainId?: bigint;
}

export interface FollowKeyFeedOptions {
  /** Unix seconds: batches created more than 14 days before are not fetched, and cached ones are not returned. */
  now: number;
  signal?: AbortSignal;
  /** Called for each batch fetched and checked, newest first, before anything is cached. */
  onBatch?: (batch: { seq: number; cid: string; keys: number }) => void;
}

/** Which feed: the chain, the ExposureFeeds contract (lowercase) and the feed id (decimal). */
export interface FeedRef {
  chainId: number;
  feeds: string;
  feedId: string;
}

async function feedRefOf(components: KeyFeedComponents, feedId: bigint | string): Promise<FeedRef> {
  let chainId = components.chainId;
  if (chainId === undefined) {
    const provider = components.feeds.runner?.provider;
    if (provider == null) throw new TypeError("components.chainId: not given, and the feeds contract has no provider to ask");
    chainId = (await provider.getNetwork()).chainId;
  }
  return { chainId: Number(chainId), feeds: (await components.feeds.getAddress()).toLowerCase(), feedId: feedIdOf(feedId).toString() };
}

function feedIdOf(feedId: bigint | string): bigint {
  if (typeof feedId === "bigint" ? feedId < 0n : !/^\d{1,78}$/.test(feedId))
    throw new RangeError(`feedId: expected a feed id (a decimal integer >= 0), got ${JSON.stringify(String(feedId))}`);
  return BigInt(feedId);
}

/** The feed's on-chain record; UnknownKeyFeedError when ExposureFeeds has no feed of that id. */
export async function readFeed(feeds: KeyFeedComponents["feeds"], feedId: bigint | string) {
  try {
    return await feeds.feedOf(feedIdOf(feedId));
  } catch (err) {
    // ethers names a decoded custom error in `revert`; some providers leave only the revert data.
    const { revert, data } = err as { revert?: { name?: string }; data?: unknown };
    const name = revert?.name ?? (typeof data === "string" ? feeds.interface.parseError(data)?.name : undefined);
    if (name === "UnknownFeed")
      throw new UnknownKeyFeedError(`ExposureFeeds ${await feeds.getAddress()} has no feed ${feedId}: check the feed id`);
    throw err;
  }
}

export function cidOfBytes(bytes: string | Uint8Array, field: string): CID {
  try {
    return CID.decode(typeof bytes === "string" ? getBytes(bytes) : bytes);
  } catch (err) {
    throw new MalformedExposureDocumentError(`${field}: the chain holds no CID (${(err as Error).message})`);
  }
}

/** Fetches a block and checks its bytes hash to the CID's sha2-256 digest, whatever store they came from. */
export async function fetchChecked(
  blocks: Pick<Blockstore, "get">,
  cid: CID,
  kind: DocumentKind,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const bytes = await getBlock(blocks, cid, { maxBytes: MAX_DOCUMENT_BYTES[kind], signal });
  if (cid.multihash.code !== 0x12 || !equalBytes(sha256(bytes), cid.multihash.digest)) {
    throw new MalformedExposureDocumentError(`block ${cid}: its bytes are not what the CID names (a sha2-256 CID is expected)`);
  }
  return bytes;
}

function cachedBatches(vault: Vault, feed: FeedRef): FeedBatchDoc[] {
  return vault
    .ability(PROXIMITY)
    .read<FeedBatchDoc>("feeds")
    .find({ where: { feedId: feed.feedId } })
    .filter((d) => d.chainId === feed.chainId && d.feeds === feed.feeds);
}

/** The feed's keys the vault holds from batches created at most 14 days before `now`. */
export function cachedFeedKeys(vault: Vault, feed: FeedRef, now: number): PublishedKey[] {
  const cutoff = now - KEY_RETENTION_DAYS * DAY_S;
  return cachedBatches(vault, feed)
    .filter((d) => d.createdAt >= cutoff)
    .sort((a, b) => a.seq - b.seq || a.part - b.part)
    .flatMap((d) => decodeFeedKeys(d.keys));
}

/**
 * Brings the vault's copy of a feed up to date and returns its keys of the last 14 days. Reads the feed's head,
 * seq and authority from ExposureFeeds, then walks back from the head by each batch's `prev` link, checking each
 * one's signature against the on-chain authority (decodeKeyBatch: WrongSignerError, UnsignedDocumentError,
 * MalformedExposureDocumentError), that it names this chain, contract and feed (KeyFeedMismatchError) and that
 * the seqs run head, head − 1, … without a gap (KeyFeedSequenceError); it stops at the batch the vault already
 * holds or at the first one created more than 14 days before `now`. Nothing is cached unless every batch
 * fetched passed; then they are stored in the proximity ability's `feeds` collection.
 */
export async function followKeyFeed(
  components: KeyFeedComponents,
  vault: Vault,
  feedId: bigint | string,
  options: FollowKeyFeedOptions,
): Promise<PublishedKey[]> {
  const { now, signal } = options;
  const feed = await feedRefOf(components, feedId);
  const onChain = await readFeed(components.feeds, feed.feedId);
  const authority = onChain.authority;
  const chainSeq = Number(onChain.seq);
  const cached = cachedBatches(vault, feed);
  const top = cached.reduce<FeedBatchDoc | undefined>((a, d) => (a === undefined || d.seq > a.seq ? d : a), undefined);
  const cachedSeq = top?.seq ?? 0;
  if (chainSeq < cachedSeq) {
    throw new KeyFeedSequenceError(
      `feed ${feed.feedId} is at seq ${chainSeq} on-chain, but this vault already holds its batch ${cachedSeq}: is this the same chain?`,
    );
  }

  const cutoff = now - KEY_RETENTION_DAYS * DAY_S;
  const fetched: { cid: string; batch: KeyBatch }[] = [];
  let next: CID | null = chainSeq > 0 ? cidOfBytes(onChain.head, `feed ${feed.feedId} head`) : null;
  let expected = chainSeq;
  while (next !== null && expected > cachedSeq) {
    signal?.throwIfAborted();
    const batch = decodeKeyBatch(await fetchChecked(components.blocks, next, "key-batch", signal), authority);
    if (batch.chainId !== feed.chainId || batch.feeds.toLowerCase() !== feed.feeds || batch.feedId !== feed.feedId) {
      throw new KeyFeedMismatchError(
        `batch ${next} is for feed ${batch.feedId} of ${batch.feeds} on chain ${batch.chainId}, not feed ${feed.feedId} of ${feed.feeds} on chain ${feed.chainId}`,
      );
    }
    if (batch.seq !== expected) {
      throw new KeyFeedSequenceError(
        `batch ${next} of feed ${feed.feedId} says seq ${batch.seq} where ${expected} was expected: a batch is missing or out of order`,
      );
    }
    if (batch.createdAt < cutoff) break;
    fetched.push({ cid: next.toString(), batch });
    options.onBatch?.({ seq: batch.seq, cid: next.toString(), keys: batch.keys.length });
    expected--;
    if ((batch.prev === null) !== (expected === 0)) {
      throw new KeyFeedSequenceError(
        `batch ${next} of feed ${feed.feedId} (seq ${batch.seq}) ${batch.prev === null ? "has no prev link" : "links a batch before seq 1"}`,
      );
    }
    next = batch.prev === null ? null : parseCid(batch.prev);
    if (expected === cachedSeq && top !== undefined && next?.toString() !== top.cid) {
      throw new KeyFeedSequenceError(
        `feed ${feed.feedId}'s batch ${expected + 1} links ${next} as seq ${expected}, but this vault holds ${top.cid} as seq ${expected}: the feed was rewritten`,
      );
    }
  }

  const collection = vault.ability(PROXIMITY).collection<FeedBatchDoc>("feeds");
  for (const { cid, batch } of fetched.reverse()) {
    const parts = Math.max(1, Math.ceil(batch.keys.length / FEED_PART_KEYS));
    for (let part = 0; part < parts; part++) {
      const _id = `${feed.chainId}:${feed.feeds}:${feed.feedId}:${batch.seq}:${part}`;
      if (collection.get(_id) !== undefined) continue;
      await collection.create({
        _id,
        ...feed,
        seq: batch.seq,
        cid,
        createdAt: batch.createdAt,
        part,
        keys: encodeFeedKeys(batch.keys.slice(part * FEED_PART_KEYS, (part + 1) * FEED_PART_KEYS)),
      });
    }
  }
  return cachedFeedKeys(vault, feed, now);
}
