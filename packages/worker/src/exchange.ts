// What a reducer node says to vaults and to other reducers directly, beside gossipsub: SUBMIT_PROTOCOL (a vault hands
// over its submission CID; the node fetches the block from that connection, journals it and answers a signed receipt)
// and HOLDINGS_PROTOCOL (which submission CIDs it holds for a job), with the catch-up that uses it: after a restart,
// or on (re)connecting to another reducer, a node asks it for its holdings and fetches what it missed.
import { MAX_SUBMISSION_BYTES } from "@mosaic/avatar";
import type { Connection, PeerId } from "@libp2p/interface";
import {
  decodeHoldingsRequest,
  decodeSubmitRequest,
  encodeHoldingsReply,
  encodeSubmitReply,
  getBlock,
  HOLDINGS_PAGE,
  HOLDINGS_PROTOCOL,
  handle,
  type IpfsNode,
  type Logger,
  MAX_RECEIPT_BYTES,
  type MessageSigner,
  namedError,
  parseCid,
  readHoldings,
  SUBMIT_PROTOCOL,
  signReceipt,
} from "@mosaic/protocol";
import { submissionCidOf } from "./cids.js";
import type { JobSession } from "./reducer.js";

/** A submit or holdings request names a job this node does not serve. */
export class UnknownJobError extends namedError("UnknownJobError") {}
/** A submission arrived after the job's collection window closed (or after this node reduced). */
export class WindowClosedError extends namedError("WindowClosedError") {}
/** One connection handed over more submissions than a vault ever needs to. */
export class TooManySubmissionsError extends namedError("TooManySubmissionsError") {}

/** Submissions one connection may hand over (a vault answers one per job; its node is thrown away after). */
export const MAX_SUBMISSIONS_PER_CONNECTION = 64;
/** Blocks fetched at once while catching up from another reducer. */
const CATCH_UP_CONCURRENCY = 128;
/** Holdings pages read from one reducer for one job (HOLDINGS_PAGE CIDs each). */
const MAX_HOLDINGS_PAGES = 256;

export interface ExchangeComponents {
  ipfs: IpfsNode;
  /** Signs receipts: the operator's wallet. */
  signer: MessageSigner;
  chainId: bigint;
  registry: string;
  log: Logger;
  fetchTimeoutMs: number;
  /** The session serving a job (any state), if this node serves it. */
  session(jobId: string): JobSession | undefined;
  /** Whether a session still takes submissions (collection open, nothing proposed yet). */
  collecting(session: JobSession): boolean;
  /** Every session that still takes submissions. */
  collectingSessions(): JobSession[];
  /** Counts one event for metrics. */
  count?(event: string, labels: Record<string, string>): void;
}

function refusal(err: unknown): Uint8Array {
  return encodeSubmitReply({ error: (err as Error)?.name ?? "Error", message: String((err as Error)?.message ?? err) });
}

/** Serves SUBMIT_PROTOCOL and HOLDINGS_PROTOCOL on a reducer's node, and catches its sessions up from other reducers. */
export class ReducerExchange {
  readonly #c: ExchangeComponents;
  readonly #perConnection = new WeakMap<Connection, number>();
  /** Catch-ups under way, by "peer/job". */
  readonly #catchingUp = new Map<string, Promise<void>>();
  readonly #unhandle: Array<() => Promise<void>> = [];
  #stopped = false;

  constructor(components: ExchangeComponents) {
    this.#c = components;
  }

  readonly #onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (this.#stopped || !evt.detail.protocols.includes(HOLDINGS_PROTOCOL)) return;
    for (const session of this.#c.collectingSessions()) this.catchUp(session, evt.detail.peerId);
  };

  async start(): Promise<void> {
    const node = this.#c.ipfs;
    this.#unhandle.push(
      await handle(node, SUBMIT_PROTOCOL, (bytes, ctx) => this.#submit(bytes, ctx.connection, ctx.signal), {
        maxBytes: MAX_RECEIPT_BYTES,
        timeoutMs: this.#c.fetchTimeoutMs + 5_000,
        maxInboundStreams: 4,
        tooLargeReply: encodeSubmitReply({ error: "MalformedMessageError", message: `submit request over ${MAX_RECEIPT_BYTES} bytes` }),
      }),
      await handle(node, HOLDINGS_PROTOCOL, (bytes) => this.#holdings(bytes), {
        maxBytes: MAX_RECEIPT_BYTES,
        timeoutMs: 10_000,
        maxInboundStreams: 4,
      }),
    );
    node.libp2p.addEventListener("peer:identify", this.#onIdentify as never);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#c.ipfs.libp2p.removeEventListener("peer:identify", this.#onIdentify as never);
    for (const u of this.#unhandle.splice(0)) await u().catch(() => undefined);
    await Promise.allSettled([...this.#catchingUp.values()]);
  }

  async #submit(bytes: Uint8Array, connection: Connection, signal: AbortSignal): Promise<Uint8Array> {
    try {
      const request = decodeSubmitRequest(bytes);
      const used = this.#perConnection.get(connection) ?? 0;
      if (used >= MAX_SUBMISSIONS_PER_CONNECTION)
        throw new TooManySubmissionsError(`${MAX_SUBMISSIONS_PER_CONNECTION} submissions on one connection already; open another`);
      this.#perConnection.set(connection, used + 1);
      const session = this.#c.session(request.job);
      if (session === undefined) throw new UnknownJobError(`job ${request.job} is not served by this reducer`);
      if (!this.#c.collecting(session)) throw new WindowClosedError(`job ${request.job} no longer takes submissions`);
      const cid = parseCid(request.cid);
      // Fetched before it is journalled: a CID whose block never comes costs this exchange, not a journal line.
      await getBlock(this.#c.ipfs.blockstore, cid, {
        maxBytes: MAX_SUBMISSION_BYTES,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#c.fetchTimeoutMs)]),
      });
      if (!this.#c.collecting(session)) throw new WindowClosedError(`job ${request.job} closed while the block was fetched`);
      session.announce(new TextEncoder().encode(cid.toV1().toString()), { held: true });
      const receipt = await signReceipt(this.#c.signer, {
        chainId: this.#c.chainId.toString(),
        registry: this.#c.registry,
        jobId: request.job,
        cid: request.cid,
        receivedAt: Date.now(),
      });
      this.#c.count?.("submit:receipt", { job: request.job });
      return encodeSubmitReply({ receipt });
    } catch (err) {
      this.#c.count?.("submit:refused", { reason: (err as Error).name });
      this.#c.log("info", "submit:refused", {
        peer: connection.remotePeer.toString(),
        reason: (err as Error).name,
        message: (err as Error).message,
      });
      return refusal(err);
    }
  }

  async #holdings(bytes: Uint8Array): Promise<Uint8Array> {
    try {
      const request = decodeHoldingsRequest(bytes);
      const session = this.#c.session(request.job);
      if (session === undefined) throw new UnknownJobError(`job ${request.job} is not served by this reducer`);
      const cids: string[] = [];
      let i = 0;
      // The accepted map only grows, in insertion order: positions are stable from page to page.
      for (const a of session.journal.state.accepted.values()) {
        if (i++ < request.from) continue;
        if (cids.length === HOLDINGS_PAGE) break;
        cids.push(a.cid);
      }
      const end = request.from + cids.length;
      return encodeHoldingsReply({ cids, next: end < session.journal.state.accepted.size ? end : null });
    } catch (err) {
      return encodeHoldingsReply({ error: (err as Error).name, message: (err as Error).message });
    }
  }

  /** Catches a collecting session up from every connected peer that serves HOLDINGS_PROTOCOL. */
  async catchUpFromAll(session: JobSession): Promise<void> {
    const node = this.#c.ipfs;
    const runs: Promise<void>[] = [];
    for (const peer of node.libp2p.getPeers()) {
      const known = await node.libp2p.peerStore.get(peer).catch(() => undefined);
      if (known?.protocols.includes(HOLDINGS_PROTOCOL)) runs.push(this.catchUp(session, peer));
    }
    await Promise.allSettled(runs);
  }

  /**
   * Asks `peer` which CIDs it holds for the session's job and fetches and announces those this node has not seen
   * (the blocks come over bitswap, from that peer or any other). One catch-up per peer and job at a time.
   */
  catchUp(session: JobSession, peer: PeerId): Promise<void> {
    const key = `${peer.toString()}/${session.jobId}`;
    const running = this.#catchingUp.get(key);
    if (running !== undefined) return running;
    const run = this.#catchUp(session, peer)
      .catch((err) =>
        this.#c.log("warn", "job:catch-up-failed", {
          jobId: session.jobId,
          peer: peer.toString(),
          reason: (err as Error).name,
          message: (err as Error).message,
        }),
      )
      .finally(() => this.#catchingUp.delete(key));
    this.#catchingUp.set(key, run);
    return run;
  }

  async #catchUp(session: JobSession, peer: PeerId): Promise<void> {
    if (!this.#c.collecting(session)) return;
    const held = await readHoldings(this.#c.ipfs, peer, session.jobId.toString(), { maxPages: MAX_HOLDINGS_PAGES });
    const state = session.journal.state;
    const missing: string[] = [];
    for (const text of held) {
      try {
        const cid = submissionCidOf(text).toString();
        if (!state.announced.has(cid) || state.unavailable.has(cid)) missing.push(cid);
      } catch {
        // Not a CID: that reducer is broken or lying; skip the entry.
      }
    }
    let added = 0;
    let unavailable = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length && !this.#stopped && this.#c.collecting(session)) {
        const cid = missing[next++] as string;
        try {
          await getBlock(this.#c.ipfs.blockstore, parseCid(cid), {
            maxBytes: MAX_SUBMISSION_BYTES,
            signal: AbortSignal.timeout(this.#c.fetchTimeoutMs),
          });
        } catch {
          unavailable++;
          continue;
        }
        session.announce(new TextEncoder().encode(cid), { held: true });
        added++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATCH_UP_CONCURRENCY, missing.length) }, worker));
    this.#c.log("info", "job:caught-up", {
      jobId: session.jobId,
      peer: peer.toString(),
      held: held.length,
      missing: missing.length,
      added,
      unavailable,
    });
  }
}
