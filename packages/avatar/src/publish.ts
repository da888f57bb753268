// Publishing a submission (or a job's spec) from a throwaway libp2p node, so the announcement carries no long-lived
// peer id. Portable: the node comes from the caller's factory (TCP in Node, publish.node.ts; WebSockets in a browser,
// createBrowserIpfsNode); when to publish is publish-delay.ts.
import {
  type Block,
  type BrowserIpfsNodeInit,
  type CID,
  dialPeer,
  equalBytes,
  type IpfsNode,
  namedError,
  sleep,
  waitForTopicPeers,
} from "@mosaic/protocol";
import { nonNegative } from "./publish-delay.js";

/** None of the peers to publish to could be dialled; nothing was announced. */
export class PeersUnreachableError extends namedError("PeersUnreachableError") {}

/** The announcement reached fewer peers than `minRecipients` asked for. */
export class TooFewRecipientsError extends namedError("TooFewRecipientsError") {}

/** A block the one-block store does not hold; the name is the one Helia's blockstores give a missing block. */
class NotFoundError extends namedError("NotFoundError") {}

/** A write or delete to the store that serves the one published block. */
class OneBlockStoreError extends namedError("OneBlockStoreError") {}

/*
 * What remains linkable at the network level.
 *
 * Each call makes a new libp2p node: a fresh Ed25519 key (so a new peer id), a fresh TCP port, an empty peer
 * store, and a memory blockstore holding this one block; the node is stopped once a peer has fetched the
 * block. The envelope carries the job, the payload and the proof: nothing in it names the user, wallet,
 * vault or device, and proofs of one member for two jobs share no word but the group root. What remains:
 *
 * - The IP address of the connection: every peer dialled (reducers, relays) sees it, as does anyone on the
 *   path. Two submissions from one address are linkable by it, and an address often names a household.
 * - Timing: when the announcement arrives within the collection window. The random delay spreads it over
 *   the window, but a member who answers many jobs right after they are posted, or at the end of each
 *   window, stands out; so would a device whose clock or delay policy differs from everyone else's.
 * - The set of peers dialled: a client that dials an unusual set of reducers or relays (or always the same
 *   one, first) can be told apart from one that dials the default set.
 * - Software fingerprints libp2p sends in the clear to its peers: identify's agent version (helia, libp2p
 *   and node versions), the listen addresses, the supported protocols; and TCP/IP stack traits.
 *
 * What a deployment would add: a network-level anonymity layer (publish over Tor, or through a mixnet such
 * as Nym, or a mixnet-based pubsub); relays that accept submissions from many users and forward them in
 * batches (mixing order and timing, so a reducer sees the relay's address instead of the user's); cover
 * traffic (dummy announcements that reducers discard); randomised dial targets (a random subset of the
 * reducers or relays per job); a uniform agent string for every client.
 */

/** A blockstore a throwaway node serves from. */
export type PublishBlockstore = NonNullable<BrowserIpfsNodeInit["blockstore"]>;

/**
 * Makes and starts the throwaway node: a fresh identity each call, serving `blockstore` (and nothing else), listening
 * on `listen` where the runtime can listen (a browser node cannot, and ignores it).
 */
export type CreatePublishNode = (init: { blockstore: PublishBlockstore; listen: string[] }) => Promise<IpfsNode>;

/** How a submission is published. */
export interface PublishSubmissionInit {
  /** Multiaddrs (with /p2p/ peer ids) of the reducers or relays to hand the submission to. At least one must answer. */
  peers: string[];
  /** The job's gossipsub topic (`jobTopic(job)`). */
  topic: string;
  /**
   * Milliseconds to wait before doing anything on the network: no node exists and no socket is open meanwhile.
   * @default 0
   */
  delayMs?: number;
  signal?: AbortSignal;
  /**
   * How many subscribed peers the announcement must reach.
   * @default 1
   */
  minRecipients?: number;
  /**
   * How many times a peer must have fetched the block over bitswap before the node stops.
   * @default 1
   */
  minFetches?: number;
  /**
   * The longest the node stays up after announcing while no peer has fetched the block (the announcement stands;
   * the block is then only retrievable while some other node holds it).
   * @default 10000
   */
  lingerMs?: number;
  /**
   * How long to let a bitswap response drain after the last needed fetch, before stopping the node. Stopping as
   * soon as the block is read cuts the response off (on loopback: 0 of 15 blocks arrived with 0 ms, 15 of 15
   * with 20 ms).
   * @default 250
   */
  settleMs?: number;
  /**
   * Addresses the throwaway node listens on; `[]` makes it dial-only. Passed to the node factory.
   * @default ["/ip4/127.0.0.1/tcp/0"]
   */
  listen?: string[];
  /**
   * How long to wait for `minRecipients` subscribers to be known after dialling.
   * @default 10000
   */
  topicPeersTimeoutMs?: number;
}

/** What a publish did. Keep none of it: the peer id is the throwaway one, and storing it would link it to the vault. */
export interface PublishResult {
  cid: string;
  /** The throwaway node's peer id. */
  peerId: string;
  /** The peers the announcement was sent to. */
  recipients: string[];
  /** How many times a peer fetched the block over bitswap before the node stopped. */
  fetches: number;
  /** When the announcement was first sent, ms since the epoch. */
  announcedAt: number;
}

/**
 * Publishes a submission block from a fresh libp2p node made by `createNode`: waits `delayMs`, starts a node with a
 * new random identity, dials `peers`, announces the block's CID on `topic`, serves the block over bitswap until it
 * has been fetched `minFetches` times or `lingerMs` passes, then stops the node. A new peer id per call; nothing in
 * the envelope names the user, wallet or vault.
 */
export async function publishSubmissionWith(
  createNode: CreatePublishNode,
  block: Block,
  init: PublishSubmissionInit,
): Promise<PublishResult> {
  const { peers, topic, signal } = init;
  if (peers.length === 0) throw new TypeError("peers: expected at least one reducer or relay multiaddr, got none");
  const delayMs = nonNegative(init.delayMs ?? 0, "delayMs");
  const lingerMs = nonNegative(init.lingerMs ?? 10_000, "lingerMs");
  const settleMs = nonNegative(init.settleMs ?? 250, "settleMs");
  const minRecipients = atLeastOne(init.minRecipients ?? 1, "minRecipients");
  const minFetches = atLeastOne(init.minFetches ?? 1, "minFetches");

  await sleep(delayMs, { signal });

  let fetches = 0;
  let onFetched: () => void = () => undefined;
  const fetched = new Promise<void>((resolve) => {
    onFetched = resolve;
  });
  // The factories give every node a new MemoryDatastore, where Helia finds no saved key and so generates a fresh
  // Ed25519 one: the peer id is new on every call (the publish spec checks it).
  const node = await createNode({
    listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"],
    blockstore: oneBlockStore(block, () => {
      if (++fetches >= minFetches) onFetched();
    }),
  });
  try {
    const dialled = await Promise.allSettled(peers.map((p) => dialPeer(node, p, { signal })));
    signal?.throwIfAborted();
    if (dialled.every((d) => d.status === "rejected")) {
      const reason = (dialled[0] as PromiseRejectedResult).reason as Error;
      throw new PeersUnreachableError(
        `could not reach any of the ${peers.length} peer(s) to publish to (${reason.message}); check the addresses`,
      );
    }
    const { recipients, announcedAt } = await announce(node, topic, new TextEncoder().encode(block.cid.toString()), {
      minRecipients,
      signal,
      timeoutMs: init.topicPeersTimeoutMs,
    });
    // Stay up until the block has actually been fetched, so the announcement points at something retrievable.
    const linger = new AbortController();
    const served = await Promise.race([
      fetched.then(() => true),
      sleep(lingerMs, { signal: signal ? AbortSignal.any([signal, linger.signal]) : linger.signal }).then(
        () => false,
        (err) => {
          if (linger.signal.aborted) return true;
          throw err;
        },
      ),
    ]);
    linger.abort();
    if (served) await sleep(settleMs, { signal });
    return { cid: block.cid.toString(), peerId: node.libp2p.peerId.toString(), recipients, fetches, announcedAt };
  } finally {
    await node.stop();
  }
}

/**
 * Publishes an announcement until at least `minRecipients` peers were sent it. A peer can be known as a
 * subscriber before our stream to it is open, and then a publish reaches no one; announcements are
 * idempotent (reducers ignore a CID they have seen), so sending again is safe.
 */
async function announce(
  node: IpfsNode,
  topic: string,
  data: Uint8Array,
  options: { minRecipients: number; signal?: AbortSignal; timeoutMs?: number },
): Promise<{ recipients: string[]; announcedAt: number }> {
  const { minRecipients, signal } = options;
  // Joining the topic's mesh gives the announcement a path through gossip as well as the direct publish.
  node.libp2p.services.pubsub.subscribe(topic);
  await waitForTopicPeers(node, topic, minRecipients, { signal, timeoutMs: options.timeoutMs });
  const reached = new Set<string>();
  let announcedAt = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    signal?.throwIfAborted();
    try {
      const { recipients } = await node.libp2p.services.pubsub.publish(topic, data);
      if (recipients.length > 0 && announcedAt === 0) announcedAt = Date.now();
      for (const p of recipients) reached.add(p.toString());
    } catch {
      // No subscribed peer reachable at this instant (PublishError.NoPeersSubscribedToTopic): try again.
    }
    if (reached.size >= minRecipients) return { recipients: [...reached], announcedAt };
    await sleep(100, { signal });
  }
  throw new TooFewRecipientsError(
    `announcement on ${topic} reached ${reached.size} of ${minRecipients} peers; check they are running and reachable`,
  );
}

/**
 * A memory blockstore that holds one block and calls `onServe` each time it is read. The throwaway node
 * never reads its own block, so every read is bitswap sending it to a peer.
 */
function oneBlockStore(block: Block, onServe: () => void): PublishBlockstore {
  const mine = (cid: CID): boolean => equalBytes(cid.multihash.bytes, block.cid.multihash.bytes);
  const notFound = (cid: CID): Error => new NotFoundError(`block ${cid} is not here`);
  return {
    has: (cid) => mine(cid),
    put: (cid) => {
      if (!mine(cid)) throw new OneBlockStoreError(`this node serves one block, ${block.cid}; refusing to store ${cid}`);
      return cid;
    },
    async *putMany(source) {
      for await (const { cid } of source) {
        if (!mine(cid)) throw new OneBlockStoreError(`this node serves one block, ${block.cid}; refusing to store ${cid}`);
        yield cid;
      }
    },
    *get(cid) {
      if (!mine(cid)) throw notFound(cid);
      onServe();
      yield block.bytes;
    },
    async *getMany(source) {
      for await (const cid of source) {
        if (!mine(cid)) throw notFound(cid);
        onServe();
        yield { cid, bytes: chunks(block.bytes) };
      }
    },
    *getAll() {
      yield { cid: block.cid, bytes: chunks(block.bytes) };
    },
    delete: () => {
      throw new OneBlockStoreError("this node's one block cannot be deleted while it is published");
    },
    deleteMany: () => {
      throw new OneBlockStoreError("this node's one block cannot be deleted while it is published");
    },
  };
}

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  yield bytes;
}

function atLeastOne(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${field}: expected an integer >= 1, got ${value}`);
  return value;
}
