// Replication over libp2p: push each appended record on the thread's gossipsub topic, pull missing records over a
// direct stream on connect, on announcement and on a timer. Every record received goes through ThreadLog.ingest.
import * as dagCbor from "@ipld/dag-cbor";
import type { GossipSub, GossipsubMessage } from "@libp2p/gossipsub";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { createLogger, equalBytes, type Logger } from "@mosaic/protocol";
import { concatBytes } from "./crypto.js";
import { BrokenChainError, ProtocolError } from "./errors.js";
import { decodeFrame, ingestFrames, MAX_FRAME_BYTES, offerFrames } from "./frames.js";
import { ThreadId } from "./id.js";
import type { AddedRecord, RecordEnvelope, ThreadLog } from "./log.js";

/** The stream protocol a peer pulls records with. */
export const PULL_PROTOCOL = "/mosaic/threads/pull/1.0.0";
/** Largest gossipsub message accepted on a thread topic. */
export const MAX_PUSH_BYTES = 300 * 1024;

const NEXT = dagCbor.encode({ next: true });

/** The gossipsub topic of a thread. */
export function threadTopic(id: ThreadId): string {
  return `/mosaic/threads/1/${id.toString()}`;
}

export interface ReplicatorInit {
  /** Pull from every peer on a thread's topic this often. @default 30_000 */
  pullIntervalMs?: number;
  /** Records per frame of a pull response. @default 512 */
  batchSize?: number;
  /** @default a JSON logger on stderr at MOSAIC_LOG's level */
  logger?: Logger;
}

/** What a replicator has done for one thread. */
export interface ReplicationStats {
  pushed: number;
  received: number;
  duplicates: number;
  pulls: number;
  /** Pulls served to peers. */
  served: number;
  /** Refused records and messages, by error name. */
  rejected: Record<string, number>;
  /** Pulls that failed (the peer refused, went away, or sent something bad), by error name. */
  pullErrors: Record<string, number>;
}

export interface PullOptions {
  signal?: AbortSignal;
  /** Records received so far, of how many the peer offered. */
  onProgress?: (received: number, offered: number) => void;
}

interface PullRequest {
  thread: Uint8Array;
  have: Record<string, number>;
  proof: Uint8Array;
}

type Libp2pWithPubsub = Libp2p<{ pubsub: GossipSub }>;

interface Replica {
  log: ThreadLog;
  topic: string;
  stats: ReplicationStats;
  onAdded: (e: Event) => void;
  pulling: Map<string, Promise<unknown>>;
}

function pullContext(thread: Uint8Array, requester: PeerId): Uint8Array {
  return concatBytes(new TextEncoder().encode("mosaic/threads/pull\0"), thread, requester.toMultihash().bytes);
}

/**
 * Keeps the threads it is given in step with every peer that holds them. A device replicates its own threads;
 * a replicator (pinning node) runs the same code over ThreadLogs opened with the service key only.
 */
export class ThreadReplicator {
  readonly #libp2p: Libp2pWithPubsub;
  readonly #init: Required<Omit<ReplicatorInit, "logger">>;
  readonly #log: Logger;
  readonly #replicas = new Map<string, Replica>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #started = false;

  constructor(components: { libp2p: Libp2pWithPubsub }, init: ReplicatorInit = {}) {
    this.#libp2p = components.libp2p;
    this.#init = { pullIntervalMs: init.pullIntervalMs ?? 30_000, batchSize: init.batchSize ?? 512 };
    this.#log = init.logger ?? createLogger("threads");
  }

  readonly #onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const replica = this.#replicas.get(evt.detail.msg.topic);
    if (replica !== undefined) void this.#handlePush(replica, evt.detail.propagationSource, evt.detail.msg.data);
  };

  readonly #onSubscription = (evt: CustomEvent<{ peerId: PeerId; subscriptions: { topic: string; subscribe: boolean }[] }>): void => {
    for (const s of evt.detail.subscriptions) {
      const replica = this.#replicas.get(s.topic);
      if (replica !== undefined && s.subscribe) this.#pullQuietly(replica, evt.detail.peerId);
    }
  };

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#libp2p.handle(PULL_PROTOCOL, (stream, connection) => this.#serve(stream, connection), { maxInboundStreams: 64 });
    const pubsub = this.#libp2p.services.pubsub;
    pubsub.addEventListener("gossipsub:message", this.#onMessage as never);
    pubsub.addEventListener("subscription-change", this.#onSubscription as never);
    this.#timer = setInterval(() => {
      for (const replica of this.#replicas.values()) {
        for (const peer of pubsub.getSubscribers(replica.topic)) this.#pullQuietly(replica, peer);
      }
    }, this.#init.pullIntervalMs);
    // Node: the timer alone does not keep the process alive. A browser's timer is a number, with nothing to unref.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    clearInterval(this.#timer);
    const pubsub = this.#libp2p.services.pubsub;
    pubsub.removeEventListener("gossipsub:message", this.#onMessage as never);
    pubsub.removeEventListener("subscription-change", this.#onSubscription as never);
    const running = [...this.#replicas.values()].flatMap((r) => [...r.pulling.values()]);
    for (const id of [...this.#replicas.keys()]) this.remove(id);
    await this.#libp2p.unhandle(PULL_PROTOCOL);
    await Promise.allSettled(running);
  }

  /** Starts replicating a thread: subscribes to its topic and pushes every record appended locally. */
  add(log: ThreadLog): ReplicationStats {
    const topic = threadTopic(log.id);
    const existing = this.#replicas.get(topic);
    if (existing !== undefined) return existing.stats;
    const stats: ReplicationStats = { pushed: 0, received: 0, duplicates: 0, pulls: 0, served: 0, rejected: {}, pullErrors: {} };
    const replica: Replica = {
      log,
      topic,
      stats,
      pulling: new Map(),
      onAdded: (e) => {
        const added = (e as CustomEvent<AddedRecord>).detail;
        if (added.local) void this.#push(replica, added.envelope);
      },
    };
    this.#replicas.set(topic, replica);
    log.addEventListener("record:added", replica.onAdded);
    this.#libp2p.services.pubsub.subscribe(topic);
    for (const peer of this.#libp2p.services.pubsub.getSubscribers(topic)) this.#pullQuietly(replica, peer);
    return stats;
  }

  /** Stops replicating a thread (by its topic or ID string). */
  remove(idOrTopic: string): void {
    const topic = idOrTopic.startsWith("/") ? idOrTopic : threadTopic(ThreadId.parse(idOrTopic));
    const replica = this.#replicas.get(topic);
    if (replica === undefined) return;
    replica.log.removeEventListener("record:added", replica.onAdded);
    this.#libp2p.services.pubsub.unsubscribe(topic);
    this.#replicas.delete(topic);
  }

  /** Counters for a thread. */
  stats(id: ThreadId): ReplicationStats | undefined {
    return this.#replicas.get(threadTopic(id))?.stats;
  }

  #reject(replica: Replica, err: unknown, peer: PeerId, counter: "rejected" | "pullErrors" = "rejected"): void {
    const name = err instanceof Error ? err.name : "Error";
    replica.stats[counter][name] = (replica.stats[counter][name] ?? 0) + 1;
    this.#log("info", "record:rejected", {
      thread: replica.log.id.toString(),
      peer: peer.toString(),
      reason: name,
      message: (err as Error)?.message,
    });
  }

  async #push(replica: Replica, envelope: RecordEnvelope): Promise<void> {
    try {
      await this.#libp2p.services.pubsub.publish(replica.topic, dagCbor.encode({ push: envelope }));
      replica.stats.pushed++;
    } catch (err) {
      // No peer on the topic right now: they pull what they missed when they come back.
      this.#log("debug", "record:push-skipped", { thread: replica.log.id.toString(), message: (err as Error).message });
    }
  }

  async #handlePush(replica: Replica, from: PeerId, data: Uint8Array): Promise<void> {
    try {
      if (data.length > MAX_PUSH_BYTES) throw new ProtocolError(`push of ${data.length} bytes is over the ${MAX_PUSH_BYTES}-byte limit`);
      const frame = decodeFrame(data);
      const env = frame.push as RecordEnvelope | undefined;
      if (
        env === undefined ||
        !(env.record instanceof Uint8Array) ||
        !(env.event instanceof Uint8Array) ||
        (env.cert !== undefined && !(env.cert instanceof Uint8Array))
      ) {
        throw new ProtocolError("push: expected {push: {record, event, cert?}}");
      }
      const { added, duplicates } = await replica.log.ingest([env]);
      replica.stats.received += added.length;
      replica.stats.duplicates += duplicates;
    } catch (err) {
      if (err instanceof BrokenChainError && err.gap) {
        this.#pullQuietly(replica, from);
        return;
      }
      this.#reject(replica, err, from);
    }
  }

  #pullQuietly(replica: Replica, peer: PeerId): void {
    const key = peer.toString();
    if (replica.pulling.has(key) || peer.equals(this.#libp2p.peerId)) return;
    const run = this.#pull(replica, peer, {})
      .catch((err) => this.#reject(replica, err, peer, "pullErrors"))
      .finally(() => replica.pulling.delete(key));
    replica.pulling.set(key, run);
  }

  /**
   * Pulls every record `peer` holds past our heads for a thread, verifying each; resolves with how many were added.
   * A pull already running to that peer is joined rather than repeated.
   */
  async pull(peer: PeerId, id: ThreadId, options: PullOptions = {}): Promise<{ added: number; duplicates: number }> {
    const replica = this.#replicas.get(threadTopic(id));
    if (replica === undefined) throw new TypeError(`thread ${id}: not replicated here; call add() first`);
    await replica.pulling.get(peer.toString());
    return this.#pull(replica, peer, options);
  }

  async #pull(replica: Replica, peer: PeerId, options: PullOptions): Promise<{ added: number; duplicates: number }> {
    replica.stats.pulls++;
    const stream = await this.#libp2p.dialProtocol(peer, PULL_PROTOCOL, { signal: options.signal });
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    try {
      const thread = replica.log.id.bytes;
      const request: PullRequest = {
        thread,
        have: replica.log.heads(),
        proof: replica.log.proveServiceKey(pullContext(thread, this.#libp2p.peerId)),
      };
      await lp.write(dagCbor.encode(request), { signal: options.signal });
      // One frame in flight: we ask for the next only after ingesting this one, so a fast server cannot
      // overrun our read buffer while we verify.
      let first = true;
      const frames: AsyncIterator<Uint8Array> = {
        next: async () => {
          if (!first) await lp.write(NEXT, { signal: options.signal });
          first = false;
          return { value: (await lp.read({ signal: options.signal })).subarray(), done: false };
        },
      };
      const result = await ingestFrames(replica.log, frames, {
        onProgress: options.onProgress,
        onAdded: (added, duplicates) => {
          replica.stats.received += added;
          replica.stats.duplicates += duplicates;
        },
      });
      await stream.close({ signal: options.signal });
      if (result.added > 0) this.#log("info", "thread:pulled", { thread: replica.log.id.toString(), peer: peer.toString(), ...result });
      return result;
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 });
    let replica: Replica | undefined;
    try {
      const request = decodeFrame((await lp.read()).subarray()) as Partial<PullRequest>;
      if (
        !(request.thread instanceof Uint8Array) ||
        !(request.proof instanceof Uint8Array) ||
        typeof request.have !== "object" ||
        request.have === null
      ) {
        throw new ProtocolError("pull request: expected {thread, have, proof}");
      }
      let id: ThreadId;
      try {
        id = ThreadId.fromBytes(request.thread);
      } catch (err) {
        throw new ProtocolError(`pull request: ${(err as Error).message}`);
      }
      replica = this.#replicas.get(threadTopic(id));
      const expected = replica?.log.proveServiceKey(pullContext(request.thread, connection.remotePeer));
      if (replica === undefined || expected === undefined || !equalBytes(expected, request.proof)) {
        await lp.write(dagCbor.encode({ error: "unknown thread, or no proof of its service key" }));
        await stream.close();
        return;
      }
      let first = true;
      for await (const frame of offerFrames(replica.log, request.have as Record<string, unknown>, this.#init.batchSize)) {
        if (!first && decodeFrame((await lp.read()).subarray()).next !== true)
          throw new ProtocolError("pull: expected {next: true} between frames");
        first = false;
        await lp.write(frame);
      }
      replica.stats.served++;
      await stream.close();
    } catch (err) {
      if (replica !== undefined) this.#reject(replica, err, connection.remotePeer);
      else this.#log("info", "pull:refused", { peer: connection.remotePeer.toString(), message: (err as Error).message });
      stream.abort(err as Error);
    }
  }
}
