// The reducer node operators run: watches the chain for jobs it is staked for, serves each (collect, verify,
// journal, reduce, publish, propose, finalize), holds researchers' specs, answers private hotspot checks for the sets
// whose keys a health authority handed it, replicates the public alert feeds it is told to, and reports on a loopback
// port.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { type BatchVerifier, createBatchVerifier } from "@mosaic/avatar";
import { aggregatorPublicKeyOf, aggregatorSecretOf, decodeSpec, MAX_SPEC_BYTES } from "@mosaic/mapreduce";
import {
  type ChainConnection,
  connectChain,
  createIpfsNode,
  createLogger,
  dialPeer,
  getBlock,
  type IpfsNode,
  type JobRegistry,
  JobRegistry__factory,
  jobTopic,
  type Logger,
  loadOrCreatePeerKey,
  namedError,
  nodeAddresses,
  parseCid,
  ReducerDirectory__factory,
  readWalletKey,
  isSharedJobId,
  SHARED_JOB_ID_BASE,
  type SharedJobs,
  SharedJobs__factory,
  AlertFeeds__factory,
  specTopic,
  WrongChainError,
  writeFileAtomic,
  localRpc,
} from "@mosaic/protocol";
import { decodeHotspotSet, documentSigner, MAX_DOCUMENT_BYTES } from "@mosaic/exposure";
import { alertFeedChain } from "@mosaic/alerts";
import { NonceManager, type Signer, Wallet } from "ethers";
import { type AlertReplica, type AlertReplicaHead, createAlertReplica } from "./alerts-replica.js";
import type { ReducerConfig } from "./config.js";
import { ReducerDiscovery } from "./discovery.js";
import { MAX_SUBMITS_PER_JOB, ReducerExchange } from "./exchange.js";
import { JobCursor } from "./job-cursor.js";
import { Metrics, type StatusSource, startStatusServer } from "./http.js";
import { readHotspotKeyFiles } from "./hotspot-keys.js";
import { Journal } from "./journal.js";
import { createPsiService, type HotspotSetKeys, type PsiService } from "./psi.js";
import type { ReducerHooks } from "./hooks.js";
import { type ChainJob, JobRefusedError, JobSession, type JobSessionComponents, PROPOSAL_REVEALED, proposalsOf } from "./reducer.js";
import { type SharedChainJob, SharedAggregation, chainJobOfShared, checkSharedSpec } from "./shared.js";
import { answerRequests, checkProposals, type ProposalVerdict, type WatcherComponents } from "./watcher.js";

/** Another live process holds this data directory. */
export class DataDirLockedError extends namedError("DataDirLockedError") {}

/** The registry's JobState values. */
const OPEN = 1n;

/** What the node writes to `<dataDir>/node.json` once started, for operators and tests. */
export interface NodeStatusFile {
  pid: number;
  operator: string;
  peerId: string;
  addresses: string[];
  http: string;
}

export interface ReducerNodeInit {
  /** @default createLogger("reducer", "info") */
  logger?: Logger;
  /**
   * A chain connection to use instead of connecting to `config.rpcUrl` (an in-process network); not closed on stop.
   * @default undefined
   */
  chain?: ChainConnection;
  /** The operator's signer, instead of the key in `config.operatorKeyFile`. @default undefined */
  signer?: Signer;
  /**
   * Hooks for each job's session, made once per job so they may keep its state: how tests run reducers that cheat.
   * Only code can pass them, never a config file or a flag. @default undefined (honest)
   */
  hooks?: (jobId: bigint) => ReducerHooks;
  /**
   * The most submissions one job takes: direct hand-overs count accepted ones, gossip announcements every CID
   * journalled (so a gossip flood bounds the journal, and never locks direct hand-overs out).
   * @default MAX_SUBMITS_PER_JOB (200,000)
   */
  maxSubmissionsPerJob?: number;
}

/** Creates a reducer node from a checked config; `start()` it, `stop()` it on SIGTERM. */
export function createReducerNode(config: ReducerConfig, init: ReducerNodeInit = {}): ReducerNode {
  return new ReducerNode(config, init);
}

export class ReducerNode implements StatusSource {
  readonly config: ReducerConfig;
  readonly counters = new Metrics();
  readonly #log: Logger;
  readonly #sessions = new Map<string, JobSession>();
  /** The aggregation of each shared-mode job this node is one of the two aggregators of, by job id. */
  readonly #aggregations = new Map<string, SharedAggregation>();
  #sharedJobs?: SharedJobs;
  /** This node's X25519 secret for shared jobs, derived from its peer key (so it survives restarts with it). */
  #aggregatorSecret?: Uint8Array;
  /** SharedJobs jobs looked at so far (their count), so each poll reads only the new ones. */
  #sharedSeen = 0n;
  /** What this node concluded about other reducers' proposals, by job id and proposal index. */
  readonly #verdicts = new Map<string, Map<number, ProposalVerdict>>();
  /** Data requests on this node's own proposals already answered (or closed), by job id: "level/position". */
  readonly #answered = new Map<string, Set<string>>();
  /** Jobs decided not to serve (stake too low, window over, refused spec), by id. */
  readonly #skipped = new Map<string, string>();
  /** Of the skipped jobs, those skipped for the operator's low stake, with what reconsidering them needs. */
  readonly #lowStake = new Map<string, { minStake: bigint; collectionDeadline: bigint }>();
  /** The discovery pass under way, if any (it runs beside the polls). */
  #discovering?: Promise<void>;
  #chain?: ChainConnection;
  #registry?: JobRegistry;
  #operator = "";
  #signer?: Signer;
  #ipfs?: IpfsNode;
  #exchange?: ReducerExchange;
  #discovery?: ReducerDiscovery;
  #cursor?: JobCursor;
  /** Jobs with a journal on disk are considered again on the first poll (a restart resumes them). */
  #firstPoll = true;
  #verifier?: BatchVerifier;
  #http?: { close(cb?: () => void): void };
  #timer?: NodeJS.Timeout;
  #polling: Promise<void> = Promise.resolve();
  #stopping = false;
  #chainTime = 0;
  #started = Date.now();
  #lockFile = "";
  #onMessage?: (evt: CustomEvent<{ topic: string; data: Uint8Array }>) => void;
  /** The private hotspot check service, when the config names hotspot key files. */
  #psi?: PsiService;
  /** The served sets' public keys by CID, to check each against its document. */
  #psiPublicKeys = new Map<string, Uint8Array>();
  /** Hotspot sets whose signed document this node does not hold yet, and when to try fetching them again. */
  readonly #setsToHold = new Set<string>();
  #nextHold = 0;
  #holding?: Promise<void>;
  /** Aborts fetches still under way at stop(). */
  readonly #abort = new AbortController();
  /** The public alert feeds' replica, when the config names alertFeeds. */
  #alerts?: AlertReplica;

  readonly #init: ReducerNodeInit;

  constructor(config: ReducerConfig, init: ReducerNodeInit) {
    this.config = config;
    this.#init = init;
    this.#log = init.logger ?? createLogger("reducer", "info");
  }

  async start(): Promise<NodeStatusFile> {
    const c = this.config;
    // First, so a damaged key file is named (HotspotKeyFileError) before anything is opened, locked or listened on.
    const psiSets = c.hotspotKeys.length > 0 ? await readHotspotKeyFiles(c.hotspotKeys) : undefined;
    mkdirSync(path.join(c.dataDir, "jobs"), { recursive: true });
    this.#lock();
    this.#chain = this.#init.chain ?? (await connectChain({ rpcUrl: c.rpcUrl, accounts: 0 }));
    const wallet =
      this.#init.signer ?? new NonceManager(new Wallet(await readWalletKey(c.operatorKeyFile, "operatorKeyFile"), this.#chain.provider));
    this.#operator = await wallet.getAddress();
    this.#signer = wallet;
    this.#registry = JobRegistry__factory.connect(c.registry, wallet);
    if (c.network !== undefined && this.#chain.chainId !== BigInt(c.network.chainId))
      throw new WrongChainError(
        `${c.rpcUrl} serves chain ${this.#chain.chainId}, but ${c.network.file} is for chain ${c.network.chainId}; check rpcUrl or the network file`,
      );
    if ((await this.#chain.provider.getCode(c.registry)) === "0x")
      throw new TypeError(`registry: no contract at ${c.registry} on ${c.rpcUrl}`);
    this.#cursor = new JobCursor({
      file: path.join(c.dataDir, "chain.json"),
      chainId: this.#chain.chainId,
      registry: c.registry,
      fromBlock: c.fromBlock,
      log: this.#log,
    });
    this.#verifier = createBatchVerifier({ threads: c.verifier.threads, batchSize: c.verifier.batchSize });
    await this.#verifier.start();
    const peerKey = await loadOrCreatePeerKey(path.join(c.dataDir, "peer.key"));
    this.#ipfs = await createIpfsNode({
      blockstoreDir: path.join(c.dataDir, "blocks"),
      listen: c.wsListen === "" ? [c.listen] : [c.listen, c.wsListen],
      privateKey: peerKey,
    });
    if (c.sharedJobs !== undefined) {
      if ((await this.#chain.provider.getCode(c.sharedJobs)) === "0x")
        throw new TypeError(`sharedJobs: no contract at ${c.sharedJobs} on ${c.rpcUrl}`);
      this.#sharedJobs = SharedJobs__factory.connect(c.sharedJobs, wallet);
      this.#aggregatorSecret = aggregatorSecretOf(peerKey.raw);
      await this.#registerAggregatorKey();
    }
    const pubsub = this.#ipfs.libp2p.services.pubsub;
    this.#onMessage = (evt) => this.#message(evt.detail.topic, evt.detail.data);
    pubsub.addEventListener("message", this.#onMessage as never);
    pubsub.subscribe(specTopic(this.#chain.chainId, c.registry));
    this.#exchange = new ReducerExchange({
      ipfs: this.#ipfs,
      signer: wallet,
      chainId: this.#chain.chainId,
      registry: c.registry,
      log: this.#log,
      fetchTimeoutMs: c.fetchTimeoutMs,
      session: (jobId) => this.#sessions.get(jobId),
      collecting: (session) => this.#collecting(session),
      collectingSessions: () => [...this.#sessions.values()].filter((s) => this.#collecting(s)),
      count: (event, labels) => this.counters.inc(`mosaic_${event.replace(/[^a-z]/g, "_")}_total`, `Direct exchanges: ${event}`, labels),
      mayCatchUpFrom: (peer, session) => this.#mayCatchUpFrom(peer, session),
      maxSubmissionsPerJob: this.#init.maxSubmissionsPerJob,
    });
    await this.#exchange.start();
    // Configured peers and the network's bootstrap nodes: one that does not answer is logged, not fatal.
    await Promise.all(
      c.peers.map((peer) =>
        dialPeer(this.#ipfs as IpfsNode, peer, { signal: AbortSignal.timeout(5_000) }).catch((err) =>
          this.#log("warn", "peer:unreachable", { peer, message: (err as Error).message }),
        ),
      ),
    );
    if (psiSets !== undefined) await this.#startPsi(psiSets);
    if (c.alertFeeds.length > 0) await this.#startAlerts();
    if (c.directory !== undefined) {
      if ((await this.#chain.provider.getCode(c.directory)) === "0x")
        throw new TypeError(`directory: no contract at ${c.directory} on ${c.rpcUrl}`);
      this.#discovery = new ReducerDiscovery({
        ipfs: this.#ipfs,
        directory: ReducerDirectory__factory.connect(c.directory, wallet),
        registry: this.#registry,
        operator: this.#operator,
        announce: c.announce,
        fromBlock: c.fromBlock,
        log: this.#log,
        minStake: () => this.#dialFloor(),
        // A chain passed in (the in-process network of the demo and tests) or an RPC on a local host is a devnet.
        allowPrivate: this.#init.chain !== undefined || localRpc(c.rpcUrl),
        // Reducers just found may hold what this node missed (they may be connected already, so identify is past).
        onRecords: () => {
          for (const s of this.#sessions.values()) if (this.#collecting(s)) void this.#exchange?.catchUpFromAll(s);
        },
      });
    }
    const { server, url } = await startStatusServer(this, c.http.host, c.http.port, { allowOrigins: c.http.allowOrigins });
    this.#http = server;
    const status: NodeStatusFile = {
      pid: process.pid,
      operator: this.#operator,
      peerId: this.#ipfs.libp2p.peerId.toString(),
      addresses: nodeAddresses(this.#ipfs),
      http: url,
    };
    await writeFileAtomic(path.join(c.dataDir, "node.json"), `${JSON.stringify(status, null, 2)}\n`);
    this.#log("info", "reducer:started", { ...status, chainId: this.#chain.chainId, registry: c.registry });
    // As #polling, so that a stop() while this first poll runs waits for it before closing the chain.
    this.#polling = this.#poll();
    await this.#polling;
    this.#schedule();
    return status;
  }

  /** Stops taking work, lets verification under way finish, flushes every journal, and closes everything. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#polling.catch(() => undefined);
    await this.#holding?.catch(() => undefined);
    await this.#psi?.stop();
    await this.#alerts?.stop();
    this.#discovery?.stop();
    await this.#discovering?.catch(() => undefined);
    const pubsub = this.#ipfs?.libp2p.services.pubsub;
    if (this.#onMessage) pubsub?.removeEventListener("message", this.#onMessage as never);
    for (const s of this.#sessions.values()) {
      await Promise.race([s.drain(), new Promise((r) => setTimeout(r, 5_000))]);
      s.close();
    }
    await new Promise<void>((r) => (this.#http ? this.#http.close(() => r()) : r()));
    await this.#exchange?.stop();
    await this.#ipfs?.stop();
    await this.#verifier?.stop();
    if (this.#init.chain === undefined) await this.#chain?.close();
    rmSync(this.#lockFile, { force: true });
    this.#log("info", "reducer:stopped", { jobs: this.#sessions.size });
  }

  /** Answers /mosaic/psi/1.0.0 for the hotspot sets whose keys the config's files hold, counting what it answers. */
  async #startPsi(sets: Map<string, HotspotSetKeys>): Promise<void> {
    const psi = createPsiService({ libp2p: (this.#ipfs as IpfsNode).libp2p, log: this.#log }, { sets });
    psi.on("query:answered", ({ items }) => {
      this.counters.inc("mosaic_psi_queries_total", "Hotspot check queries answered");
      this.counters.inc("mosaic_psi_items_total", "Blinded items evaluated for hotspot checks", {}, items);
    });
    psi.on("query:refused", ({ reason }) =>
      this.counters.inc("mosaic_psi_refused_total", "Hotspot check queries refused, by reason", { reason }),
    );
    await psi.start();
    this.#psi = psi;
    for (const [cid, keys] of sets) {
      this.#psiPublicKeys.set(cid, keys.publicKey);
      this.#setsToHold.add(cid);
    }
    this.#log("info", "psi:serving", { sets: psi.sets });
  }

  /**
   * Replicates the config's alert feeds in this node: their verified entries in its blockstore (served over bitswap),
   * followed through their topics and the AlertFeeds contract's heads, the state in `<dataDir>/alerts.json`.
   */
  async #startAlerts(): Promise<void> {
    const c = this.config;
    const chain = this.#chain as ChainConnection;
    const address = c.alertFeedsAddress as string;
    if ((await chain.provider.getCode(address)) === "0x")
      throw new TypeError(`alertFeedsAddress: no contract at ${address} on ${c.rpcUrl}`);
    const replica = createAlertReplica({
      ref: { chainId: Number(chain.chainId), contract: address.toLowerCase() },
      feedIds: c.alertFeeds,
      chain: alertFeedChain(AlertFeeds__factory.connect(address, chain.provider), { fromBlock: c.fromBlock }),
      ipfs: this.#ipfs as IpfsNode,
      pollMs: Math.max(c.pollMs, 1000),
      fetchTimeoutMs: c.fetchTimeoutMs,
      logger: this.#log,
      stateFile: path.join(c.dataDir, "alerts.json"),
    });
    replica.on("entry", (e) =>
      this.counters.inc("mosaic_alert_entries_total", "Alert feed entries verified and stored", { feed: String(e.ref.feedId) }),
    );
    replica.on("rejected", ({ feedId, reason }) =>
      this.counters.inc("mosaic_alert_rejected_total", "Alert announcements rejected, by reason", { feed: String(feedId), reason }),
    );
    await replica.start();
    this.#alerts = replica;
    this.#log("info", "alerts:serving", { contract: address, feeds: c.alertFeeds });
  }

  /** The alert feeds this node replicates, with their verified heads (empty without alertFeeds). */
  alertHeads(): AlertReplicaHead[] {
    return this.#alerts?.heads() ?? [];
  }

  /**
   * Fetches the signed document of each served hotspot set (from the authority's node, among the configured peers)
   * and keeps it in the blockstore, so a vault that found this node in the directory can read the set here too. A
   * document whose public key is not the key file's is a set no vault could check: it is no longer served.
   * Unfetched ones are tried again a minute later.
   */
  async #holdHotspotSets(): Promise<void> {
    const ipfs = this.#ipfs as IpfsNode;
    for (const cid of [...this.#setsToHold]) {
      if (this.#stopping) return;
      let bytes: Uint8Array;
      try {
        bytes = await getBlock(ipfs.blockstore, parseCid(cid), {
          maxBytes: MAX_DOCUMENT_BYTES.hotspots,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.config.fetchTimeoutMs)]),
        });
      } catch (err) {
        this.#log("warn", "psi:set-unavailable", { set: cid, message: (err as Error).message, retryInS: 60 });
        continue;
      }
      this.#setsToHold.delete(cid);
      const psi = this.#psi as PsiService;
      try {
        const set = decodeHotspotSet(bytes, documentSigner("hotspots", bytes));
        const held = this.#psiPublicKeys.get(cid);
        if (held !== undefined && Buffer.compare(Buffer.from(set.publicKey), Buffer.from(held)) !== 0) {
          psi.removeSet(cid);
          this.#log("error", "psi:key-mismatch", {
            set: cid,
            message: "the key file's public key is not the set's; ask the authority again",
          });
        } else this.#log("info", "psi:set-held", { set: cid, feedId: set.feedId, tags: set.tags.length });
      } catch (err) {
        psi.removeSet(cid);
        this.#log("error", "psi:set-refused", { set: cid, reason: (err as Error).name, message: (err as Error).message });
      }
    }
    this.#nextHold = Date.now() + 60_000;
  }

  /** One data directory, one process: a second node on it would journal the same jobs twice. */
  #lock(): void {
    this.#lockFile = path.join(this.config.dataDir, "LOCK");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.#lockFile, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const pid = Number(readFileSync(this.#lockFile, "utf8"));
        if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          throw new DataDirLockedError(
            `${this.config.dataDir} is in use by process ${pid}; stop it first, or give this node its own dataDir`,
          );
        }
        // A killed node left its lock behind: take it over.
        rmSync(this.#lockFile, { force: true });
      }
    }
  }

  #schedule(): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll().catch((err) => this.#log("error", "poll:failed", { message: (err as Error).message }));
      void this.#polling.finally(() => this.#schedule());
    }, this.config.pollMs);
  }

  /** One pass: chain time, new jobs, and every session's next step. */
  async #poll(): Promise<void> {
    const chain = this.#chain as ChainConnection;
    const registry = this.#registry as JobRegistry;
    this.#chainTime = await chain.now();
    this.counters.set("mosaic_chain_time_seconds", "Latest block timestamp seen", {}, this.#chainTime);
    if (this.#setsToHold.size > 0 && this.#holding === undefined && Date.now() >= this.#nextHold) {
      this.#holding = this.#holdHotspotSets().finally(() => {
        this.#holding = undefined;
      });
    }
    this.counters.set("mosaic_peers", "Connected libp2p peers", {}, this.#ipfs?.libp2p.getPeers().length ?? 0);
    // New jobs from the JobPosted logs since the last poll (not every job ever posted), the undecided ones again, and
    // on the first poll the ones this node journalled before a restart.
    const head = await chain.provider.getBlockNumber();
    const cursor = this.#cursor as JobCursor;
    const candidates = new Set<string>(cursor.retry.keys());
    if (this.#firstPoll) for (const id of this.#journalledJobs()) candidates.add(id);
    this.#firstPoll = false;
    for (const id of await this.#stakeRaised()) candidates.add(id);
    for (const id of await cursor.next(registry, head)) candidates.add(id);
    for (const id of await this.#newSharedJobs()) candidates.add(id);
    for (const key of candidates) {
      if (this.#stopping) break;
      if (!this.#sessions.has(key) && !this.#skipped.has(key)) {
        // One job's failed read (an RPC error, a lagging node's JobNotFound) must not lose it or the ones after it:
        // it stays in retry and is considered again on the next poll.
        await this.#consider(BigInt(key)).catch((err) =>
          this.#log("warn", "job:consider-failed", { jobId: key, reason: (err as Error).name, message: (err as Error).message }),
        );
      }
      // A job skipped for low stake is kept in retry (across restarts too) until its collection closes.
      if (this.#sessions.has(key) || (this.#skipped.has(key) && !this.#lowStake.has(key))) cursor.retry.delete(key);
      else cursor.retry.set(key, cursor.posted.get(key) ?? this.config.fromBlock);
    }
    await cursor.save();
    // Discovery dials other reducers, which may never answer: it runs beside the polls, never holding one up.
    if (this.#discovery !== undefined && this.#discovering === undefined && !this.#stopping) {
      this.#discovering = this.#discovery.poll(head).finally(() => {
        this.#discovering = undefined;
      });
    }
    for (const session of this.#sessions.values()) {
      if (this.#stopping) return;
      await this.#advance(session).catch((err) => {
        // A transaction that failed before it was sent still took a nonce from a NonceManager: give it back.
        this.#resetNonce();
        this.#log("error", "job:step-failed", { jobId: session.jobId, message: (err as Error).message });
      });
    }
    this.counters.set("mosaic_jobs", "Jobs this node serves", {}, this.#sessions.size);
  }

  /**
   * The jobs skipped for low stake that the operator's stake now reaches (one stakeOf call, only when there are
   * any), taken out of `skipped` so they are considered again; those whose collection closed stay skipped for that.
   */
  async #stakeRaised(): Promise<string[]> {
    if (this.#lowStake.size === 0) return [];
    for (const [id, j] of this.#lowStake) {
      if (BigInt(this.#chainTime) < j.collectionDeadline) continue;
      this.#lowStake.delete(id);
      if (!this.#sessions.has(id)) this.#skip(BigInt(id), "collection closed before the operator's stake reached the job's minimum");
    }
    const stake = await (this.#registry as JobRegistry).stakeOf(this.#operator).catch(() => 0n);
    const out: string[] = [];
    for (const [id, j] of this.#lowStake) {
      if (stake === 0n || stake < j.minStake) continue;
      this.#lowStake.delete(id);
      this.#skipped.delete(id);
      out.push(id);
    }
    return out;
  }

  /** The least stake of a reducer worth dialling: the smallest minimum of the jobs this node collects for. */
  #dialFloor(): bigint {
    let floor: bigint | undefined;
    for (const s of this.#sessions.values()) {
      const min = s.chainJob?.minStake;
      if (min !== undefined && this.#collecting(s) && (floor === undefined || min < floor)) floor = min;
    }
    return floor === undefined || floor < 1n ? 1n : floor;
  }

  /**
   * Whether to ask `peer` for its holdings of `session`'s job: a reducer in the directory whose operator is staked
   * at least the job's minimum; with no directory, a configured peer.
   */
  #mayCatchUpFrom(peer: string, session: JobSession): boolean {
    if (this.#discovery === undefined) return this.config.peers.some((p) => p.endsWith(`/p2p/${peer}`));
    const floor = session.chainJob?.minStake ?? 1n;
    return this.#discovery.reducers.some(
      (r) => r.peerId === peer && r.stake > 0n && r.stake >= floor && r.operator.toLowerCase() !== this.#operator.toLowerCase(),
    );
  }

  /** The job ids with a journal directory on disk. */
  #journalledJobs(): string[] {
    try {
      return readdirSync(path.join(this.config.dataDir, "jobs")).filter((d) => /^[1-9][0-9]{0,77}$/.test(d));
    } catch {
      return [];
    }
  }

  #skip(id: bigint, reason: string): void {
    this.#skipped.set(id.toString(), reason);
    this.#log("info", "job:skipped", { jobId: id, reason });
  }

  /**
   * Registers this node's aggregator key with SharedJobs when the chain does not hold it yet, so researchers can
   * choose it for shared-mode jobs. A node the contract refuses (not staked yet) says so and goes on.
   */
  async #registerAggregatorKey(): Promise<void> {
    const shared = this.#sharedJobs as SharedJobs;
    const publicKey = `0x${Buffer.from(aggregatorPublicKeyOf(this.#aggregatorSecret as Uint8Array)).toString("hex")}`;
    if ((await shared.aggregatorKeyOf(this.#operator)).toLowerCase() === publicKey) return;
    try {
      const tx = await shared.setAggregatorKey(publicKey);
      await tx.wait();
      this.#log("info", "aggregator:key-set", { key: publicKey, tx: tx.hash });
    } catch (err) {
      this.#resetNonce();
      this.#log("warn", "aggregator:key-refused", { message: (err as Error).message });
    }
  }

  /** The ids of the SharedJobs jobs posted since the last poll (all of them on the first). */
  async #newSharedJobs(): Promise<string[]> {
    if (this.#sharedJobs === undefined) return [];
    const count = await this.#sharedJobs.jobCount();
    const out: string[] = [];
    for (let i = this.#sharedSeen + 1n; i <= count; i++) out.push((SHARED_JOB_ID_BASE + i).toString());
    this.#sharedSeen = count;
    return out;
  }

  /** Decides whether to aggregate a shared-mode job (this node must be one of its two aggregators), and opens it. */
  async #considerShared(id: bigint): Promise<void> {
    const shared = this.#sharedJobs;
    if (shared === undefined) return this.#skip(id, "a shared-mode job, and this node has no SharedJobs address");
    const record = (await shared.getSharedJob(id)) as unknown as SharedChainJob;
    const index = record.aggregators.findIndex((a) => a.toLowerCase() === this.#operator.toLowerCase());
    if (index < 0) return this.#skip(id, "a shared-mode job this node is not an aggregator of");
    const j = chainJobOfShared(record);
    const dir = path.join(this.config.dataDir, "jobs", id.toString());
    const known = existsSync(dir);
    if (j.state !== OPEN) return this.#skip(id, `job is no longer open (state ${j.state})`);
    if (!known && BigInt(this.#chainTime) >= j.collectionDeadline) return this.#skip(id, "collection closed before this node saw the job");
    await this.#open(id, dir, known, {
      readJob: async () => chainJobOfShared((await shared.getSharedJob(id)) as unknown as SharedChainJob),
      matchSpec: (spec) => checkSharedSpec(spec, record),
      registryAddress: await shared.getAddress(),
    });
  }

  /** Decides whether to serve a job, and opens its session if so. */
  async #consider(id: bigint): Promise<void> {
    if (isSharedJobId(id)) return this.#considerShared(id);
    const registry = this.#registry as JobRegistry;
    const j = (await registry.getJob(id)) as unknown as ChainJob;
    const dir = path.join(this.config.dataDir, "jobs", id.toString());
    const known = existsSync(dir);
    if (j.state !== OPEN) return this.#skip(id, `job is no longer open (state ${j.state})`);
    if (BigInt(this.#chainTime) >= j.proposalDeadline) return this.#skip(id, "the proposal window has closed");
    if (!known && BigInt(this.#chainTime) >= j.collectionDeadline) return this.#skip(id, "collection closed before this node saw the job");
    const stake = await registry.stakeOf(this.#operator);
    if (stake < j.minStake || stake === 0n) {
      // Considered again when the operator's stake reaches the minimum, while collection is open.
      this.#lowStake.set(id.toString(), { minStake: j.minStake, collectionDeadline: j.collectionDeadline });
      return this.#skip(id, `stake ${stake} is below the job's minimum ${j.minStake}`);
    }
    this.#lowStake.delete(id.toString());
    await this.#open(id, dir, known, { registryAddress: this.config.registry });
  }

  /** Opens a job's session (its journal, its spec from IPFS), subscribes to its topic and catches up. */
  async #open(
    id: bigint,
    dir: string,
    known: boolean,
    source: Pick<JobSessionComponents, "readJob" | "matchSpec" | "registryAddress">,
  ): Promise<void> {
    const journal = Journal.open(path.join(dir, "journal.jsonl"));
    const session = new JobSession(
      {
        ipfs: this.#ipfs as IpfsNode,
        registry: this.#registry as JobRegistry,
        chainId: (this.#chain as ChainConnection).chainId,
        ...source,
        operator: this.#operator,
        verifier: this.#verifier as BatchVerifier,
        log: this.#log,
        count: (event, jobId, reason) => this.#count(event, jobId, reason),
      },
      id,
      journal,
      {
        fetchTimeoutMs: this.config.fetchTimeoutMs,
        batchSize: this.config.verifier.batchSize,
        batchWaitMs: this.config.verifier.batchWaitMs,
        hooks: this.#init.hooks?.(id),
      },
    );
    try {
      await session.open();
    } catch (err) {
      journal.close();
      if (err instanceof JobRefusedError) return this.#skip(id, `spec refused: ${err.message}`);
      // The spec is not reachable yet: try again on the next poll.
      this.#log("warn", "job:spec-unavailable", { jobId: id, message: (err as Error).message });
      return;
    }
    this.#sessions.set(id.toString(), session);
    if (session.shared) {
      const aggregation = new SharedAggregation(
        {
          ipfs: this.#ipfs as IpfsNode,
          sharedJobs: this.#sharedJobs as SharedJobs,
          aggregatorSecret: this.#aggregatorSecret as Uint8Array,
          log: this.#log,
          fetchTimeoutMs: this.config.fetchTimeoutMs,
          resetNonce: () => this.#resetNonce(),
        },
        session,
      );
      await aggregation.index(this.#operator);
      this.#aggregations.set(id.toString(), aggregation);
    }
    if (journal.state.proposed === undefined && journal.state.shareCommitted === undefined) {
      this.#ipfs?.libp2p.services.pubsub.subscribe(jobTopic(session.job));
      this.#log("info", "job:collecting", { jobId: id, title: session.spec?.title, deadline: session.collectionDeadline, resumed: known });
      // What other reducers received while this node was down, or before it saw the job.
      void this.#exchange?.catchUpFromAll(session);
    }
  }

  /** Moves a session on: propose once collection closes, finalize once the window closes. */
  async #advance(session: JobSession): Promise<void> {
    const now = this.#chainTime;
    const state = session.journal.state;
    if (state.finalized) return;
    const aggregation = this.#aggregations.get(session.jobId.toString());
    if (aggregation !== undefined) {
      if (now >= session.collectionDeadline) this.#ipfs?.libp2p.services.pubsub.unsubscribe(jobTopic(session.job));
      const did = await aggregation.step(now);
      if (did !== undefined) this.#log("info", `job:${did}`, { jobId: session.jobId, chainTime: now });
      return;
    }
    if (state.proposed === undefined && state.belowMinimum === undefined && now >= session.collectionDeadline) {
      this.#ipfs?.libp2p.services.pubsub.unsubscribe(jobTopic(session.job));
      if (now >= session.proposalDeadline) {
        this.#log("warn", "job:missed", { jobId: session.jobId, reason: "the proposal window closed before this node proposed" });
        session.journal.append({ e: "finalized" });
        return;
      }
      this.#log("info", "job:reducing", { jobId: session.jobId, chainTime: now, accepted: state.accepted.size });
      const p = await session.propose();
      if (session.journal.state.belowMinimum !== undefined) return;
      this.#log("info", "job:proposed", {
        jobId: session.jobId,
        count: p.count,
        aggregate: p.aggregate,
        bundle: p.bundleCid,
        tx: p.txHash,
      });
      return;
    }
    if (state.proposed !== undefined && session.answersRequests()) {
      // Whether or not it watches others, a proposer answers data requests on its own proposal, or is slashed: for as
      // long as the job is open, since answers extend a proposal's window past finalizeAfter and requests follow.
      const key = session.jobId.toString();
      const answered = this.#answered.get(key) ?? new Set<string>();
      this.#answered.set(key, answered);
      await answerRequests(this.#watcherComponents(session), session, answered).catch((err) => {
        this.#resetNonce();
        this.#log("error", "proposal:answer-failed", { jobId: session.jobId, message: (err as Error).message });
      });
    }
    if (state.proposed !== undefined && this.config.watch) {
      const key = session.jobId.toString();
      const seen = this.#verdicts.get(key) ?? new Map<number, ProposalVerdict>();
      this.#verdicts.set(key, seen);
      await checkProposals(this.#watcherComponents(session), session, seen, now);
      // From finalizeAfter on, the watcher only followed up its data requests: go on to finalise.
      if (now < session.finalizeAfter) return;
    }
    if ((state.proposed !== undefined || state.belowMinimum !== undefined) && now >= session.finalizeAfter) {
      const registry = this.#registry as JobRegistry;
      const j = (await registry.getJob(session.jobId)) as unknown as ChainJob;
      if (j.state === OPEN && this.config.finalize) {
        try {
          const tx = await registry.finalizeJob(session.jobId);
          await tx.wait();
          session.journal.append({ e: "finalized", txHash: tx.hash });
          this.#log("info", "job:finalized", { jobId: session.jobId, tx: tx.hash });
        } catch (err) {
          // Every proposer may finalise; another one getting there first is not a fault.
          if ((await registry.getJob(session.jobId)).state === OPEN) throw err;
          this.#resetNonce();
          session.journal.append({ e: "finalized" });
          this.#log("info", "job:finalized", { jobId: session.jobId, by: "another" });
        }
      } else if (j.state !== OPEN) {
        session.journal.append({ e: "finalized" });
      }
      await this.#claimBond(session).catch((err) => {
        this.#resetNonce();
        this.#log("error", "proposal:claim-failed", { jobId: session.jobId, message: (err as Error).message });
      });
    }
  }

  /** Once the job has closed, takes back the bond of this node's own proposal unless it won (paid already) or fell. */
  async #claimBond(session: JobSession): Promise<void> {
    const registry = this.#registry as JobRegistry;
    if ((await registry.getJob(session.jobId)).state === OPEN) return;
    const { proposals, ownIndex } = await proposalsOf(registry, session.jobId, this.#operator);
    const own = proposals[ownIndex];
    if (own === undefined || own.faulted || own.state !== PROPOSAL_REVEALED) return;
    const tx = await registry.claimBond(session.jobId, ownIndex);
    await tx.wait();
    this.#log("info", "proposal:bond-claimed", { jobId: session.jobId, index: ownIndex, tx: tx.hash });
  }

  /** A transaction that failed before it was sent still took a nonce from the NonceManager: give it back. */
  #resetNonce(): void {
    (this.#signer as { reset?(): void } | undefined)?.reset?.();
  }

  #watcherComponents(session: JobSession): WatcherComponents {
    return {
      fromBlock: this.#cursor?.posted.get(session.jobId.toString()) ?? this.config.fromBlock,
      ipfs: this.#ipfs as IpfsNode,
      registry: this.#registry as JobRegistry,
      operator: this.#operator,
      log: this.#log,
      fetchTimeoutMs: this.config.fetchTimeoutMs,
      resetNonce: () => this.#resetNonce(),
    };
  }

  #message(topic: string, data: Uint8Array): void {
    if (this.#stopping) return;
    if (topic === specTopic((this.#chain as ChainConnection).chainId, this.config.registry)) {
      void this.#holdSpec(data);
      return;
    }
    for (const s of this.#sessions.values()) {
      if (jobTopic(s.job) === topic && this.#collecting(s)) {
        // Gossip costs its sender nothing: past the cap, announcements are dropped rather than journalled.
        if (s.journal.state.announced.size >= (this.#init.maxSubmissionsPerJob ?? MAX_SUBMITS_PER_JOB)) {
          this.counters.inc("mosaic_gossip_dropped_total", "Gossip announcements dropped past a job's cap", { job: s.jobId.toString() });
          return;
        }
        s.announce(data);
        return;
      }
    }
  }

  /** Whether a session still takes submissions: collection open and nothing reduced yet. */
  #collecting(s: JobSession): boolean {
    const state = s.journal.state;
    return (
      !this.#stopping &&
      state.proposed === undefined &&
      state.prepAnnounced === undefined &&
      state.belowMinimum === undefined &&
      this.#chainTime < s.collectionDeadline
    );
  }

  /** Fetches an announced spec and keeps it in the node's blockstore, so it stays available after the researcher leaves. */
  async #holdSpec(data: Uint8Array): Promise<void> {
    try {
      if (data.length > 128) throw new RangeError("announcement longer than a CID");
      const cid = parseCid(new TextDecoder("utf-8", { fatal: true }).decode(data));
      const bytes = await getBlock((this.#ipfs as IpfsNode).blockstore, cid, {
        maxBytes: MAX_SPEC_BYTES,
        signal: AbortSignal.timeout(this.config.fetchTimeoutMs),
      });
      const spec = decodeSpec(bytes);
      this.#log("info", "spec:held", { cid: cid.toString(), title: spec.title });
    } catch (err) {
      this.counters.inc("mosaic_specs_refused_total", "Announced specs not held", { reason: (err as Error).name });
      this.#log("info", "spec:refused", { message: (err as Error).message });
    }
  }

  #count(event: "announced" | "duplicate" | "accepted" | "rejected", jobId: bigint, reason?: string): void {
    const job = jobId.toString();
    if (event === "rejected")
      this.counters.inc("mosaic_submissions_rejected_total", "Submissions rejected, by reason", { job, reason: reason ?? "unknown" });
    else this.counters.inc(`mosaic_submissions_${event}_total`, `Submissions ${event}`, { job });
  }

  /** The node's libp2p addresses, with its peer id: what vaults and researchers dial. */
  addresses(): string[] {
    return this.#ipfs === undefined ? [] : nodeAddresses(this.#ipfs);
  }

  // -- StatusSource ----------------------------------------------------------------------------------------------

  health(): Record<string, unknown> {
    return {
      status: this.#stopping ? "stopping" : "ok",
      operator: this.#operator,
      peerId: this.#ipfs?.libp2p.peerId.toString(),
      peers: this.#ipfs?.libp2p.getPeers().length ?? 0,
      chainTime: this.#chainTime,
      jobs: this.#sessions.size,
      ...(this.#alerts === undefined ? {} : { alerts: this.#alerts.heads() }),
      uptimeS: Math.round((Date.now() - this.#started) / 1000),
    };
  }

  metrics(): string {
    this.counters.set("mosaic_up", "1 while the node runs", {}, 1);
    return this.counters.render();
  }

  jobs(): Record<string, unknown>[] {
    return [
      ...[...this.#sessions.values()].map((s) => s.progress()),
      ...[...this.#skipped].map(([jobId, reason]) => ({ jobId, state: "skipped", reason })),
    ];
  }

  psi(): { sets: number; queries: number; items: number; refused: Record<string, number> } | undefined {
    if (this.#psi === undefined) return undefined;
    const { queries, items, refused } = this.#psi.stats();
    return { sets: this.#psi.sets.length, queries, items, refused };
  }

  job(id: string): Record<string, unknown> | undefined {
    const session = this.#sessions.get(id);
    if (session !== undefined) return { ...session.progress(), checked: [...(this.#verdicts.get(id)?.values() ?? [])] };
    return this.#skipped.has(id) ? { jobId: id, state: "skipped", reason: this.#skipped.get(id) } : undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
