// Following a health authority's key feed: the head and authority from ExposureFeeds, the signed batches from IPFS
// walked back by their `prev` links to what the vault already holds. Pull only: the chain and IPFS see a read of
// public data, never who is checking or what matched.
import {
  type DocumentKind,
  decodeKeyBatch,
  documentSigner,
  KEY_RETENTION_DAYS,
  type KeyBatch,
  MAX_DOCUMENT_BYTES,
  MalformedExposureDocumentError,
  type PublishedKey,
  WrongSignerError,
} from "@mosaic/exposure";
import { CID, equalBytes, type ExposureFeeds, getBlock, namedError, parseCid } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2";
import { getAddress, getBytes } from "ethers";
import type { Blockstore } from "interface-blockstore";
import { FEED_PART_KEYS, type FeedBatchDoc, PROXIMITY } from "../abilities/proximity.js";
import type { Vault } from "../vault.js";
import { KeyFeedMismatchError, KeyFeedSequenceError, UnknownKeyFeedError } from "./errors.js";
import { decodeFeedKeys, encodeFeedKeys } from "./feed-cache.js";

const DAY_S = 86_400;
/** Seconds a batch's createdAt may run ahead of the reader's clock (clock skew between the authority and a phone). */
export const MAX_BATCH_CLOCK_SKEW_S = 600;

/**
 * A key batch says it was created more than MAX_BATCH_CLOCK_SKEW_S after now: cached, it would never age out of the
 * 14 days. The authority's clock or the device's is wrong; nothing of the feed is cached until it is fixed.
 */
export class KeyBatchFromFutureError extends namedError("KeyBatchFromFutureError") {}

/** What following a feed reads: the ExposureFeeds contract and an IPFS blockstore (a Helia node's fetches over bitswap). */
export interface KeyFeedComponents {
  feeds: Pick<ExposureFeeds, "feedOf" | "authorityAt" | "getAddress" | "runner" | "interface">;
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

/** Which feed `feedId` of these components is: their chain id (or their provider's) and contract address, lowercase. */
export async function keyFeedRef(components: Pick<KeyFeedComponents, "feeds" | "chainId">, feedId: bigint | string): Promise<FeedRef> {
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

/** The name of the custom error a contract call reverted with, if the revert carries one. */
function revertName(feeds: Pick<KeyFeedComponents["feeds"], "interface">, err: unknown): string | undefined {
  // ethers names a decoded custom error in `revert`; some providers leave only the revert data.
  const { revert, data } = err as { revert?: { name?: string }; data?: unknown };
  return revert?.name ?? (typeof data === "string" ? feeds.interface.parseError(data)?.name : undefined);
}

/** The feed's on-chain record; UnknownKeyFeedError when ExposureFeeds has no feed of that id. */
export async function readFeed(feeds: Pick<KeyFeedComponents["feeds"], "feedOf" | "getAddress" | "interface">, feedId: bigint | string) {
  try {
    return await feeds.feedOf(feedIdOf(feedId));
  } catch (err) {
    if (revertName(feeds, err) === "UnknownFeed")
      throw new UnknownKeyFeedError(`ExposureFeeds ${await feeds.getAddress()} has no feed ${feedId}: check the feed id`);
    throw err;
  }
}

/**
 * Who anchored each of a feed's batches (ExposureFeeds.authorityAt), remembered per contract object: a batch's
 * anchorer never changes, so a vault following again, or another vault of the same app, asks the chain once.
 */
const anchorers = new WeakMap<object, Map<string, string>>();

async function authorityAt(feeds: KeyFeedComponents["feeds"], feed: FeedRef, seq: number): Promise<string> {
  let known = anchorers.get(feeds);
  if (known === undefined) {
    known = new Map();
    anchorers.set(feeds, known);
  }
  const key = `${feed.chainId}:${feed.feeds}:${feed.feedId}:${seq}`;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  let authority: string;
  try {
    authority = getAddress(await feeds.authorityAt(BigInt(feed.feedId), BigInt(seq)));
  } catch (err) {
    if (revertName(feeds, err) === "UnanchoredBatch")
      throw new KeyFeedSequenceError(
        `ExposureFeeds has no batch ${seq} anchored on feed ${feed.feedId}, yet the walk reached it: is this the same chain?`,
      );
    throw err;
  }
  known.set(key, authority);
  return authority;
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
 * Brings the vault's copy of a feed up to date and returns its keys of the last 14 days. Reads the feed's head and
 * seq from ExposureFeeds, then walks back from the head by each batch's `prev` link, checking that each one is a
 * well-formed signed batch (UnsignedDocumentError, MalformedExposureDocumentError), names this chain, contract and
 * feed (KeyFeedMismatchError) and that the seqs run head, head − 1, … without a gap (KeyFeedSequenceError). It
 * stops at the batch the vault already holds or at the first one created more than 14 days before `now` — judged
 * before its signature, so an old batch is never refused for its signer. A batch dated more than
 * MAX_BATCH_CLOCK_SKEW_S after `now` is KeyBatchFromFutureError. Each batch kept must be signed by the authority
 * that anchored it (ExposureFeeds.authorityAt: the authority in office then, so a feed stays readable across a
 * transferFeed), else WrongSignerError. Nothing is cached unless every batch fetched passed; then they are stored
 * in the proximity ability's `feeds` collection.
 */
export async function followKeyFeed(
  components: KeyFeedComponents,
  vault: Vault,
  feedId: bigint | string,
  options: FollowKeyFeedOptions,
): Promise<PublishedKey[]> {
  const { now, signal } = options;
  const feed = await keyFeedRef(components, feedId);
  const onChain = await readFeed(components.feeds, feed.feedId);
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
    const bytes = await fetchChecked(components.blocks, next, "key-batch", signal);
    // The batch as its signer signed it (shape and signature checked, the signer not yet judged): its age first.
    const signer = documentSigner("key-batch", bytes);
    const batch = decodeKeyBatch(bytes, signer);
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
    if (batch.createdAt > now + MAX_BATCH_CLOCK_SKEW_S) {
      throw new KeyBatchFromFutureError(
        `batch ${next} of feed ${feed.feedId} (seq ${batch.seq}) is dated ${batch.createdAt}, ${batch.createdAt - now} s after now (${now}): check this device's clock, or the authority's`,
      );
    }
    const anchorer = await authorityAt(components.feeds, feed, batch.seq);
    if (signer !== anchorer) {
      throw new WrongSignerError(
        `key-batch document ${next} (seq ${batch.seq}) is signed by ${signer}, not by the feed's authority ${anchorer} that anchored it: ignore it`,
      );
    }
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
