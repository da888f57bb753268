// A job board anywhere: the components the portable job functions take, over an ethers provider, group trees synced
// from Semaphore's events, and libp2p nodes (made by the caller: TCP in Node, WebSockets in a browser) that fetch specs
// from reducers and hand submissions over.
import { type GroupSync, openGroupSync } from "@mosaic/avatar";
import {
  type Block,
  attachAvatarGroups,
  createBrowserIpfsNode,
  dialPeer,
  getBlock,
  type IpfsNode,
  namedError,
  type JobRegistry,
  JobRegistry__factory,
  parseCid,
  type SharedJobs,
  SharedJobs__factory,
  putBlock,
  type ReducerRecord,
  submitForReceipt,
} from "@mosaic/protocol";
import type { Provider } from "ethers";
import type { BundleBlockGetter } from "@mosaic/mapreduce";
import { NoReducersError } from "./job-errors.js";
import type { JobBoardComponents } from "./jobs.js";
import type { CollectReceiptsComponents, HandOver, HandOverOutcome } from "./submissions.js";

/** The largest spec block fetched (64 KiB, as reducers take). */
const MAX_SPEC_BYTES = 64 * 1024;

/** Makes and starts a dial-only IPFS node: one for specs and bundles, and a fresh one per hand-over round. */
export type CreateNode = () => Promise<IpfsNode>;

/** What a job board reads from and talks to (named for Node, where it was first; the same anywhere). */
export interface NodeJobBoardInit {
  provider: Provider;
  chainId: bigint;
  /** The JobRegistry's address. */
  registry: string;
  /** The AvatarGroups contract's address (its Semaphore contract holds the groups' trees). */
  groups: string;
  /**
   * The SharedJobs contract's address: its shared-mode jobs are listed and answered too (`components.sharedJobs`).
   * @default none
   */
  sharedJobs?: string;
  /** Reducers (multiaddrs with /p2p/) to fetch specs from and hand answers to, one per reducer. */
  peers: string[];
  /**
   * For a reducer in `peers`, its other multiaddrs (a reducer may announce several), tried in order when the first
   * does not answer.
   * @default none
   */
  alternates?: ReadonlyMap<string, readonly string[]>;
  /**
   * Where group trees are cached between runs (the vault directory's `groups/`, as `mosaic avatar status` uses); a
   * browser has no directory, so leave it out there.
   * @default undefined: in memory only
   */
  cacheDir?: string;
  /**
   * The Semaphore contract's deploy block, where group event reads start.
   * @default 0
   */
  semaphoreFromBlock?: number;
  /**
   * The longest to wait for a spec from the reducers.
   * @default 15000
   */
  specTimeoutMs?: number;
  /**
   * The longest one dial of one reducer address may take (spec node and hand-over alike): an address that accepts
   * TCP and never speaks costs at most this.
   * @default 10000
   */
  dialTimeoutMs?: number;
  /**
   * The longest one reducer is waited for in a hand-over round, all its addresses together.
   * @default 45000
   */
  reducerBudgetMs?: number;
  /** Called while a group syncs, so a CLI can draw a bar. */
  onGroupSync?: (groupId: bigint, progress: { block: number; head: number }) => void;
}

export interface JobBoardInit extends NodeJobBoardInit {
  /**
   * Makes the nodes the board fetches and hands over from (nodeJobBoard passes Node's TCP createIpfsNode).
   * @default createBrowserIpfsNode (WebSockets, dial-only)
   */
  createNode?: CreateNode;
}

export interface JobBoard {
  components: JobBoardComponents & CollectReceiptsComponents;
  registry: JobRegistry;
  /** SharedJobs, when `init.sharedJobs` was given. */
  sharedJobs?: SharedJobs;
  /** A bundle block from the reducers (for checkInclusion). */
  getBlock: BundleBlockGetter;
  /** Stops the spec node, if one was started. */
  close(): Promise<void>;
}

/** The same board, by the name Node's code has used for it. */
export type NodeJobBoard = JobBoard;

/**
 * The components listJobs, prepareJob and answerConfirmed take: the registry over `provider`, group trees synced from
 * Semaphore's events (cached in `cacheDir`), specs fetched over bitswap from `peers` by a dial-only node made with
 * `createNode` on first use, and submissions handed over from a fresh throwaway node per round (handOverTrying).
 */
export function jobBoard(init: JobBoardInit): JobBoard {
  const createNode = init.createNode ?? (() => createBrowserIpfsNode());
  const registry = JobRegistry__factory.connect(init.registry, init.provider);
  const dialTimeout = init.dialTimeoutMs ?? 10_000;
  const groups = attachAvatarGroups(init.provider, init.groups);
  let specNode: Promise<IpfsNode> | undefined;
  const syncs = new Map<bigint, Promise<GroupSync>>();
  let semaphore: Promise<string> | undefined;
  // A dial-only node, started on first use, that fetches specs and bundles from the reducers.
  const fetchNode = (): Promise<IpfsNode> => {
    if (init.peers.length === 0)
      throw new NoReducersError("no reducer to fetch from: give --peer, or a network whose reducers are on-chain");
    specNode ??= createNode().then(async (node) => {
      // Every reducer is dialled at once, each address for at most dialTimeoutMs; the node is ready as soon as one
      // reducer is connected (bitswap asks the others as they connect), so a reducer whose address never answers
      // keeps no one waiting.
      const dials = init.peers.map(async (p) => {
        for (const address of [p, ...(init.alternates?.get(p) ?? [])]) {
          try {
            await dialPeer(node, address, { signal: AbortSignal.timeout(dialTimeout) });
            return;
          } catch {
            // the next address of the same reducer
          }
        }
        throw new Error(`reducer ${p}: no address answered`);
      });
      await Promise.any(dials).catch(() => undefined);
      return node;
    });
    return specNode;
  };
  const sharedJobs = init.sharedJobs === undefined ? undefined : SharedJobs__factory.connect(init.sharedJobs, init.provider);
  const components: JobBoard["components"] = {
    registry,
    ...(sharedJobs === undefined ? {} : { sharedJobs }),
    chainId: init.chainId,
    async fetchSpec(cid, options) {
      const node = await fetchNode();
      const timeout = AbortSignal.timeout(init.specTimeoutMs ?? 15_000);
      return getBlock(node.blockstore, parseCid(cid), {
        maxBytes: MAX_SPEC_BYTES,
        signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      });
    },
    async groupSync(groupId, options) {
      let sync = syncs.get(groupId);
      if (sync === undefined) {
        semaphore ??= groups.semaphore();
        sync = semaphore.then((address) =>
          openGroupSync({ provider: init.provider, semaphore: address }, groupId, {
            cacheDir: init.cacheDir,
            fromBlock: init.semaphoreFromBlock,
            onProgress: (p) => init.onGroupSync?.(groupId, p),
            signal: options.signal,
          }),
        );
        syncs.set(groupId, sync);
      }
      const s = await sync;
      await s.sync({ signal: options.signal });
      return s;
    },
    async now() {
      return (await init.provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
    },
    handOver: handOverTrying(init.alternates ?? new Map(), {
      dialTimeoutMs: dialTimeout,
      reducerBudgetMs: init.reducerBudgetMs,
      createNode,
    }),
    async stakedOperators(addresses, options) {
      const minStake = options.minStake ?? 1n;
      const out = new Set<string>();
      for (const a of new Set(addresses.map((x) => x.toLowerCase()))) {
        if (!/^0x[0-9a-f]{40}$/.test(a)) continue;
        const stake = await registry.stakeOf(a);
        if (stake > 0n && stake >= minStake) out.add(a);
      }
      return out;
    },
  };
  return {
    components,
    registry,
    ...(sharedJobs === undefined ? {} : { sharedJobs }),
    async getBlock(cid, options) {
      return getBlock((await fetchNode()).blockstore, cid, {
        maxBytes: options.maxBytes,
        signal: AbortSignal.timeout(init.specTimeoutMs ?? 15_000),
      });
    },
    async close() {
      const node = await specNode?.catch(() => undefined);
      await node?.stop();
    },
  };
}

/** The reducers to ask, as a job board and answerConfirmed take them. */
export interface ReducerPeers {
  /** One multiaddr per reducer: the first of its record's addresses that `usable` keeps. */
  peers: string[];
  /** For each of `peers`, the reducer's other usable addresses, tried in order when the first does not answer. */
  alternates: Map<string, string[]>;
  /** Peer → the operator whose record announced it (receipts count only from them). */
  operators: Map<string, string>;
}

/**
 * The reducers of directory records (readReducers, highest stake first) as peers to ask: each one's first usable
 * address (a reducer announces its public address first; a browser keeps only WebSockets ones), its others as
 * alternates, and the operator of its record; two operators announcing one peer leave it the higher-staked one's.
 */
export function reducerPeers(records: readonly ReducerRecord[], usable: (addr: string) => boolean = () => true): ReducerPeers {
  const out: ReducerPeers = { peers: [], alternates: new Map(), operators: new Map() };
  for (const r of records) {
    const [first, ...rest] = r.addrs.filter(usable);
    if (first === undefined) continue;
    if (rest.length > 0) out.alternates.set(first, rest);
    if (!out.operators.has(first)) out.operators.set(first, r.operator);
    out.peers.push(first);
  }
  return out;
}

/** Bounds on a hand-over round. */
export interface HandOverLimits {
  /**
   * The longest one address may take to answer (dial, fetch and receipt).
   * @default 10000 for the dial part; submitForReceipt's own 30 s for the whole request
   */
  dialTimeoutMs?: number;
  /**
   * The longest one reducer is waited for, all its addresses together: a record listing many addresses that never
   * answer costs at most this per round.
   * @default 45000
   */
  reducerBudgetMs?: number;
  /**
   * Makes the round's throwaway node (Node's handOverTrying passes its TCP createIpfsNode).
   * @default createBrowserIpfsNode (WebSockets, dial-only)
   */
  createNode?: CreateNode;
}

/** A reducer that was not waited for: the round already had the receipts it wanted, or the reducer's budget ran out. */
export class HandOverAbandonedError extends namedError("HandOverAbandonedError") {}

/**
 * Hands a submission to reducers from a fresh libp2p node (a new Ed25519 key, so a new peer id; dial-only) holding
 * only the submission block: each reducer is asked on protocol's SUBMIT_PROTOCOL, fetches the block over bitswap from
 * that connection and answers a signed receipt (unchecked here; collectReceipts verifies it). A reducer whose address
 * does not answer is tried at its `alternates`, in order, within `limits.reducerBudgetMs`. All reducers are asked at
 * once; when the caller's `accept` has taken `wanted` receipts, the others are not waited for
 * (HandOverAbandonedError). The node stops after the round. What stays linkable at the network level is what
 * avatar's publishSubmission describes.
 */
export function handOverTrying(alternates: ReadonlyMap<string, readonly string[]>, limits: HandOverLimits = {}): HandOver {
  const budget = limits.reducerBudgetMs ?? 45_000;
  return async (block: Block, peers, request, options) => {
    const node = await (limits.createNode ?? (() => createBrowserIpfsNode()))();
    const enough = new AbortController();
    const outcomes = new Map<string, HandOverOutcome>();
    let accepted = 0;
    try {
      await putBlock(node.blockstore, block);
      const submit = { job: request.job.jobId.toString(), cid: block.cid.toString() };
      const ask = async (peer: string): Promise<HandOverOutcome> => {
        const signal = AbortSignal.any([enough.signal, AbortSignal.timeout(budget), ...(options.signal ? [options.signal] : [])]);
        const addresses = [peer, ...(alternates.get(peer) ?? [])];
        let error: Error | undefined;
        for (const address of addresses) {
          if (limits.dialTimeoutMs !== undefined)
            try {
              await dialPeer(node, address, { signal: AbortSignal.any([signal, AbortSignal.timeout(limits.dialTimeoutMs)]) });
            } catch (err) {
              options.signal?.throwIfAborted();
              error = err as Error;
              if (signal.aborted) break;
              continue; // a dial that failed: the reducer's next address
            }
          try {
            return { peer, receipt: await submitForReceipt(node, address, submit, { signal }) };
          } catch (err) {
            options.signal?.throwIfAborted();
            error = err as Error;
            if (signal.aborted) break;
            // Only a connection that failed is worth another address; a refusal or a bad answer is the reducer's.
            if (!["StreamFailedError", "StreamTimeoutError", "TimeoutError", "AbortError"].includes(error.name)) break;
          }
        }
        if (signal.aborted && !options.signal?.aborted)
          error = new HandOverAbandonedError(
            enough.signal.aborted ? "the round had the receipts it wanted" : `no answer within ${budget} ms`,
          );
        return { peer, error: error as Error };
      };
      const wanted = options.wanted ?? Number.POSITIVE_INFINITY;
      await Promise.all(
        peers.map(async (peer) => {
          const outcome = await ask(peer);
          outcomes.set(peer, outcome);
          if (enough.signal.aborted || !("receipt" in outcome) || options.accept === undefined) return;
          if ((await options.accept(outcome).catch(() => false)) && ++accepted >= wanted) enough.abort();
        }),
      );
      return peers.map((p) => outcomes.get(p) as HandOverOutcome);
    } finally {
      enough.abort();
      await node.stop();
    }
  };
}
