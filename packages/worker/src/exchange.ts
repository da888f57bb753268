// What a reducer node says to vaults and to other reducers directly, beside gossipsub: SUBMIT_PROTOCOL (a vault hands
// over its submission CID; the node fetches the block from that connection, journals it and answers a signed receipt)
// and HOLDINGS_PROTOCOL (which submission CIDs it holds for a job), with the catch-up that uses it: after a restart,
// or on (re)connecting to another reducer, a node asks it for its holdings and fetches what it missed.
import type { Connection, PeerId } from "@libp2p/interface";
import {
  decodeHoldingsRequest,
  decodeSubmitRequest,
  encodeHoldingsReply,
  encodeSubmitReply,
  getBlock,
  HOLDINGS_PAGE,
  MalformedSubmissionError,
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
/** Too many submit exchanges at once on this node, or a job's journal is full: try again later, or another reducer. */
export class ReducerBusyError extends namedError("ReducerBusyError") {}

/** Submissions one connection may hand over (a vault answers one per job; its node is thrown away after). */
export const MAX_SUBMISSIONS_PER_CONNECTION = 64;
/** Submit exchanges handled at once on the node, over every connection. */
export const MAX_CONCURRENT_SUBMITS = 32;
/** Announced submissions a job's journal takes through the submit protocol (a bound on its size and the disk). */
export const MAX_SUBMITS_PER_JOB = 200_000;
/** Blocks fetched at once by one catch-up. */
const CATCH_UP_CONCURRENCY = 32;
/** Catch-ups running at once on the node; more wait their turn. */
export const MAX_CONCURRENT_CATCH_UPS = 4;
/** Holdings pages read from one reducer for one job (HOLDINGS_PAGE CIDs each): at most 8192 CIDs per catch-up. */
const MAX_HOLDINGS_PAGES = 16;

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
  /**
   * Whether to catch `session` up from `peer`: a reducer in the directory staked at least the job's minimum (or, with
   * no directory, a configured peer). Anyone else speaking the holdings protocol is not asked.
   * @default () => true
   */
  mayCatchUpFrom?(peer: string, session: JobSession): boolean;
  /**
   * The most submissions a job accepts through this exchange: counted on accepted ones, so announcements that never
   * lead anywhere (a gossip flood of CIDs no one holds) cannot lock honest vaults out.
   * @default MAX_SUBMITS_PER_JOB
   */
  maxSubmissionsPerJob?: number;
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
  /** Catch-ups running now, and those waiting for a slot. */
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** Submit exchanges under way. */
  #submitting = 0;
  readonly #unhandle: Array<() => Promise<void>> = [];
  #stopped = false;

  constructor(components: ExchangeComponents) {
    this.#c = components;
  }

  readonly #onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (this.#stopped || !evt.detail.protocols.includes(HOLDINGS_PROTOCOL)) return;
    for (const session of this.#c.collectingSessions()) void this.catchUp(session, evt.detail.peerId);
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
    this.#submitting++;
    try {
      if (this.#submitting > MAX_CONCURRENT_SUBMITS)
        throw new ReducerBusyError(`${MAX_CONCURRENT_SUBMITS} submissions are being handed over already; try again shortly`);
      const request = decodeSubmitRequest(bytes);
      const used = this.#perConnection.get(connection) ?? 0;
      if (used >= MAX_SUBMISSIONS_PER_CONNECTION)
        throw new TooManySubmissionsError(`${MAX_SUBMISSIONS_PER_CONNECTION} submissions on one connection already; open another`);
      this.#perConnection.set(connection, used + 1);
      const session = this.#c.session(request.job);
      if (session === undefined) throw new UnknownJobError(`job ${request.job} is not served by this reducer`);
      if (!this.#c.collecting(session)) throw new WindowClosedError(`job ${request.job} no longer takes submissions`);
      // Only the CID form a vault makes (CIDv1 dag-cbor sha2-256): an identity CID would "resolve" with no one
      // holding anything, and another form of a submission's CID is the same submission under another name.
      const given = parseCid(request.cid);
      const cid = submissionCidOf(given);
      if (!cid.equals(given)) throw new MalformedSubmissionError(`CID ${request.cid}: a submission CID is CIDv1 dag-cbor sha2-256`);
      const key = cid.toString();
      const state = session.journal.state;
      const cap = this.#c.maxSubmissionsPerJob ?? MAX_SUBMITS_PER_JOB;
      if (!state.announced.has(key) && state.accepted.size >= cap)
        throw new ReducerBusyError(`job ${request.job} has accepted ${cap} submissions already`);
      // Fetched before it is journalled: a CID whose block never comes costs this exchange, not a journal line.
      const block = await getBlock(this.#c.ipfs.blockstore, cid, {
        maxBytes: session.maxSubmissionBytes,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#c.fetchTimeoutMs)]),
      });
      // A receipt says "held, and will be judged": only for an envelope for this job and its group (the proof is
      // verified later, in a batch). Random bytes or another job's submission get a named refusal.
      session.precheck(block);
      if (!this.#c.collecting(session)) throw new WindowClosedError(`job ${request.job} closed while the block was fetched`);
      session.announce(new TextEncoder().encode(key), { held: true });
      const receipt = await signReceipt(this.#c.signer, {
        chainId: this.#c.chainId.toString(),
        // A shared-mode job's registry is SharedJobs: the receipt names the contract the job is on.
        registry: session.job.registry,
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
    } finally {
      this.#submitting--;
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
    if (this.#c.mayCatchUpFrom?.(peer.toString(), session) === false) return Promise.resolve();
    const key = `${peer.toString()}/${session.jobId}`;
    const running = this.#catchingUp.get(key);
    if (running !== undefined) return running;
    const run = this.#slot()
      .then(() => this.#catchUp(session, peer))
      .finally(() => this.#release())
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

  /** Waits for one of the MAX_CONCURRENT_CATCH_UPS slots. */
  async #slot(): Promise<void> {
    if (this.#running < MAX_CONCURRENT_CATCH_UPS) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#running--;
  }

  async #catchUp(session: JobSession, peer: PeerId): Promise<void> {
    if (this.#stopped || !this.#c.collecting(session)) return;
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
            maxBytes: session.maxSubmissionBytes,
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
