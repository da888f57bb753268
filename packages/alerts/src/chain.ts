// The AlertFeeds contract as syncFeed reads it: heads and editor sets from its views, anchored signatures from its
// AlertAnchored events, searched backwards from the latest block in bounded block ranges for only the seqs asked for.
import { type AlertFeeds, CID } from "@mosaic/protocol";
import { getAddress, getBytes, toBeHex, zeroPadValue } from "ethers";
import { create as createDigest } from "multiformats/hashes/digest";
import { type AlertFeedRef, checkFeedRef } from "./entry.js";
import { UnknownAlertFeedError } from "./feed-errors.js";
import type { AlertFeedChain, AnchoredEntry } from "./sync.js";

export interface AlertFeedChainOptions {
  /** The first block to search for AlertAnchored events (AlertFeeds' deployment block). @default 0 */
  fromBlock?: number;
  /** The most blocks one eth_getLogs call spans (public RPC nodes refuse wide ranges). @default 10_000 */
  blockRange?: number;
}

/** The most seqs one anchored() call may ask for. */
export const MAX_ANCHORED_SEQS = 10_000;
/** Up to this many seqs are named in the log filter's topic (an OR list); more are filtered here. */
const SEQ_TOPIC_LIMIT = 64;

/** The name of the custom error a contract call reverted with, if the revert carries one. */
function revertName(contract: Pick<AlertFeeds, "interface">, err: unknown): string | undefined {
  // ethers names a decoded custom error in `revert`; some providers leave only the revert data.
  const { revert, data } = err as { revert?: { name?: string }; data?: unknown };
  try {
    return revert?.name ?? (typeof data === "string" ? contract.interface.parseError(data)?.name : undefined);
  } catch {
    return undefined;
  }
}

/**
 * The CID anchored for an entry. Bytes that are not a CID (the contract checks only their length, so m editors could
 * anchor anything) come back as an identity CID of the raw bytes: never an entry CID, so syncFeedSkipping records that
 * seq as a gap and the feed goes on, instead of every reader stopping there.
 */
function cidOf(hex: string): CID {
  const bytes = getBytes(hex);
  try {
    return CID.decode(bytes);
  } catch {
    return CID.createV1(RAW_CODE, createDigest(IDENTITY_CODE, bytes));
  }
}

/** Multicodec codes of raw bytes and of the identity "hash" (the bytes themselves). */
const RAW_CODE = 0x55;
const IDENTITY_CODE = 0x00;

function checkFeedId(feedId: number): bigint {
  if (!Number.isSafeInteger(feedId) || feedId < 1) throw new RangeError(`feedId: expected an integer >= 1, got ${feedId}`);
  return BigInt(feedId);
}

/**
 * The reference of feed `feedId` of a contract handle: its chain id (given, or its provider's) and its address,
 * lowercase. RangeError for a feed id that is not an integer >= 1.
 */
export async function alertFeedRef(
  contract: Pick<AlertFeeds, "getAddress" | "runner">,
  feedId: number,
  chainId?: number,
): Promise<AlertFeedRef> {
  checkFeedId(feedId);
  let id = chainId;
  if (id === undefined) {
    const provider = contract.runner?.provider;
    if (provider == null) throw new TypeError("chainId: not given, and the contract has no provider to ask");
    id = Number((await provider.getNetwork()).chainId);
  }
  return checkFeedRef({ chainId: id, contract: (await contract.getAddress()).toLowerCase(), feedId }, "chainId");
}

/**
 * An AlertFeedChain over an AlertFeeds contract handle (connected to a provider). UnknownAlertFeedError for a feed id
 * the contract does not have. anchored() asks for at most MAX_ANCHORED_SEQS seqs and searches from the latest block
 * back to `fromBlock`, `blockRange` blocks per call, stopping as soon as every seq asked for is found.
 */
export function alertFeedChain(contract: AlertFeeds, options: AlertFeedChainOptions = {}): AlertFeedChain {
  const fromBlock = options.fromBlock ?? 0;
  const blockRange = options.blockRange ?? 10_000;
  if (!Number.isSafeInteger(fromBlock) || fromBlock < 0) throw new RangeError(`fromBlock: expected a block number >= 0, got ${fromBlock}`);
  if (!Number.isSafeInteger(blockRange) || blockRange < 1) throw new RangeError(`blockRange: expected an integer >= 1, got ${blockRange}`);

  async function call<T>(feedId: number, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (revertName(contract, err) === "UnknownFeed")
        throw new UnknownAlertFeedError(`AlertFeeds ${await contract.getAddress()} has no feed ${feedId}: check the feed id`);
      throw err;
    }
  }

  return {
    async headOf(feedId) {
      const id = checkFeedId(feedId);
      const head = await call(feedId, () => contract.headOf(id));
      const seq = Number(head.seq);
      return { seq, epoch: Number(head.epoch), entryCid: seq === 0 ? null : cidOf(head.entryCid) };
    },

    async editorsAt(feedId, epoch) {
      const id = checkFeedId(feedId);
      if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch: expected an integer >= 0, got ${epoch}`);
      const set = await call(feedId, () => contract.editorsAt(id, BigInt(epoch)));
      return { editors: set.editors.map((e) => getAddress(e)), threshold: Number(set.threshold) };
    },

    async anchored(feedId, fromSeq, toSeq) {
      const id = checkFeedId(feedId);
      if (
        !Number.isSafeInteger(fromSeq) ||
        !Number.isSafeInteger(toSeq) ||
        fromSeq < 1 ||
        toSeq < fromSeq ||
        toSeq - fromSeq >= MAX_ANCHORED_SEQS
      )
        throw new RangeError(`anchored: expected 1 <= fromSeq <= toSeq, at most ${MAX_ANCHORED_SEQS} seqs, got ${fromSeq}..${toSeq}`);
      const provider = contract.runner?.provider;
      if (provider == null) throw new TypeError("contract: connect it to a provider to read its events");
      const address = await contract.getAddress();
      const event = contract.interface.getEvent("AlertAnchored");
      const feedTopic = zeroPadValue(toBeHex(id), 32);
      const found = new Map<number, AnchoredEntry>();
      const wanted = toSeq - fromSeq + 1;
      let high = await provider.getBlockNumber();
      while (high >= fromBlock && found.size < wanted) {
        const low = Math.max(fromBlock, high - blockRange + 1);
        const missing: string[] = [];
        if (wanted - found.size <= SEQ_TOPIC_LIMIT)
          for (let seq = fromSeq; seq <= toSeq; seq++) if (!found.has(seq)) missing.push(zeroPadValue(toBeHex(seq), 32));
        const logs = await provider.getLogs({
          address,
          topics: [event.topicHash, feedTopic, missing.length > 0 ? missing : null],
          fromBlock: low,
          toBlock: high,
        });
        // Newest first, so a seq seen twice (only after a reorg) keeps its latest record.
        for (const log of logs.reverse()) {
          const parsed = contract.interface.parseLog(log);
          if (parsed === null || parsed.name !== "AlertAnchored" || parsed.args.feedId !== id) continue;
          const seq = Number(parsed.args.seq);
          if (seq < fromSeq || seq > toSeq || found.has(seq)) continue;
          found.set(seq, {
            epoch: Number(parsed.args.epoch),
            entryCid: cidOf(parsed.args.entryCid as string),
            signatures: (parsed.args.signatures as string[]).map((s) => getBytes(s)),
          });
        }
        high = low - 1;
      }
      return found;
    },
  };
}
