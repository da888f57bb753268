// Watching other reducers: re-derive every proposal of a served job from its public bundle and submissions, and
// prove the first fault on-chain in one call (the proposer is slashed, the challenger paid). What cannot be fetched
// is asked for under the registry's data-availability rule, and an unanswered request is settled as a fault.
import {
  decodeSubmission,
  type EnvelopeArg,
  encodeSubmission,
  envelopeArg,
  MAX_SUBMISSION_BYTES,
  type Submission,
  submissionFromEnvelopeArg,
  verifySubmission,
} from "@mosaic/avatar";
import {
  type AncestorArg,
  ancestorsOf,
  edgesOf,
  findFaults,
  innerAt,
  type Leaf,
  type LeafArg,
  leafArg,
  liftPayload,
  openBundle,
  openPublished,
  type PublishedTree,
  specBounds,
  submissionCid,
  submissionWitness,
  treeNodes,
  type TreeNodes,
  UnprovableFaultError,
  type Witness,
} from "@mosaic/mapreduce";
import {
  getBlock,
  type IpfsNode,
  type JobRegistry,
  fromHex,
  type JobSpec,
  type Logger,
  parseCid,
  putBlock,
  type RevealedResult,
  revealedResults,
} from "@mosaic/protocol";
import type { Result } from "ethers";
import { type JobSession, PROPOSAL_REVEALED, proposalsOf } from "./reducer.js";

/** The most a watcher fetches of one bundle, all its blocks: a 100,000-leaf bundle of 7-entry payloads is about 25 MB. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** How many data requests a proposer answers in one transaction. */
export const ANSWERS_PER_TRANSACTION = 8;

/** The registry's RequestState values. */
const REQUEST_OPEN = 1n;
const REQUEST_ANSWERED = 2n;

/** What a watcher concluded about one proposal. */
export interface ProposalVerdict {
  index: number;
  proposer: string;
  /**
   * valid: re-derived and right; challenged: a fault was proven (or an unanswered request settled); requested: a
   * leaf or node could not be fetched and was asked for on-chain; unprovable / unavailable: looked wrong or could
   * not be read, with nothing to send yet (checked again on the next poll).
   */
  verdict: "valid" | "challenged" | "requested" | "unprovable" | "unavailable";
  reason?: string;
  txHash?: string;
  /** The data requests this watcher made on the proposal, followed up while verdict is "requested". */
  requests?: { level: number; position: number }[];
  /** The proposal's bundle cannot be used: the watcher walks its leaves through data requests instead. */
  walk?: boolean;
}

/**
 * How many leaves a walking watcher asks for in one round: each round narrows the search ninefold, so a 100,000-leaf
 * tree takes at most 6 rounds and 48 of the 64 requests one proposal may receive (16 a round would need 65).
 */
export const WALK_BATCH = 8;

export interface WatcherComponents {
  ipfs: IpfsNode;
  registry: JobRegistry;
  operator: string;
  log: Logger;
  fetchTimeoutMs: number;
  /** Gives back the nonce of a challenge that failed before it was sent (a NonceManager's reset). */
  resetNonce?(): void;
  /** Where the job's log reads start: the block it was posted in, or the registry's deploy block. @default 0 */
  fromBlock?: number;
}

/**
 * Opens a proposal's bundle (a tree of blocks, fetched over bitswap) into the tree findFaults checks; the proposal's
 * own figures come from the chain, never the bundle, and a bundle whose root disagrees with them cannot be used.
 */
async function publishedTree(c: WatcherComponents, proposal: RevealedResult): Promise<PublishedTree> {
  const bundle = await openBundle(parseCid(proposal.bundleCid), (cid, { maxBytes }) =>
    getBlock(c.ipfs.blockstore, cid, { maxBytes, signal: AbortSignal.timeout(c.fetchTimeoutMs) }),
  );
  if (bundle.header.count !== Number(proposal.count) || bundle.header.treeRoot !== proposal.treeRoot.toLowerCase())
    throw new UnprovableFaultError(
      `bundle: its root names ${bundle.header.count} leaves under ${bundle.header.treeRoot}, not the proposal's`,
    );
  const { leaves, levels, values } = await bundle.readAll({ maxBytes: MAX_BUNDLE_BYTES });
  return {
    aggregate: proposal.aggregate.map(Number),
    count: Number(proposal.count),
    treeRoot: proposal.treeRoot,
    leaves,
    levels,
    values,
  };
}

/** A block from the local blockstore or, within the fetch timeout, from peers over bitswap. */
function fetchBlock(c: WatcherComponents, cid: string, maxBytes: number): Promise<Uint8Array> {
  return getBlock(c.ipfs.blockstore, parseCid(cid), { maxBytes, signal: AbortSignal.timeout(c.fetchTimeoutMs) });
}

/** What is wrong with a leaf's submission, if anything; "unavailable" when it cannot be fetched or opened. */
type LeafJudgement = { ok: true } | { ok: false; reason: string; sub: Submission } | "unavailable";

async function judgeLeaf(c: WatcherComponents, session: JobSession, leaf: Leaf): Promise<LeafJudgement> {
  const mine = session.journal.state.accepted.get(leaf.nullifier);
  if (mine !== undefined && mine.cid === leaf.submission && samePayload(mine.payload, leaf.value)) return { ok: true };
  let sub: Submission;
  try {
    const bytes = await fetchBlock(c, leaf.submission, MAX_SUBMISSION_BYTES);
    // A block that is not a v1 envelope cannot be opened on-chain by anyone, the proposer included: only a data
    // request (which it cannot answer) reaches it.
    const decoded = decodeSubmission(bytes);
    if (decoded.version !== 1) throw new TypeError("a shared-mode (v2) envelope in a local job's tree");
    sub = decoded;
  } catch {
    return "unavailable";
  }
  if (sub.proof.nullifier !== leaf.nullifier || !samePayload(sub.payload, leaf.value))
    return { ok: false, reason: "the leaf is not its submission's nullifier and payload", sub };
  try {
    await verifySubmission(sub, {
      job: session.job,
      groupRoot: BigInt(session.chainJob?.groupRoot ?? 0n),
      bounds: specBounds(session.spec as JobSpec),
      seenNullifiers: new Set(),
    });
  } catch (err) {
    return { ok: false, reason: `${(err as Error).name}: ${(err as Error).message}`, sub };
  }
  return { ok: true };
}

function samePayload(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The first leaf whose submission is provably wrong (with its challengeSubmission witness), else the first whose
 * submission cannot be fetched, else nothing.
 */
async function findSubmissionFault(
  c: WatcherComponents,
  session: JobSession,
  tree: TreeNodes,
): Promise<{ witness: Witness; reason: string } | { unavailable: number } | undefined> {
  let unavailable: number | undefined;
  for (const [position, leaf] of tree.leaves.entries()) {
    const judged = await judgeLeaf(c, session, leaf);
    if (judged === "unavailable") unavailable ??= position;
    else if (!judged.ok) {
      const witness = submissionWitness(tree, position, envelopeArg(judged.sub), specBounds(session.spec as JobSpec));
      return { witness, reason: `leaf ${position}: ${judged.reason}` };
    }
  }
  return unavailable === undefined ? undefined : { unavailable };
}

/** Sends a witness after a dry run, so a challenge the contract would refuse costs nothing. */
async function send(c: WatcherComponents, session: JobSession, index: number, w: Witness): Promise<string> {
  const fn = c.registry.getFunction(w.fn);
  await fn.staticCall(session.jobId, index, ...w.args);
  const tx = await fn(session.jobId, index, ...w.args);
  await tx.wait();
  return tx.hash;
}

/**
 * Follows up this watcher's data requests on a proposal: settles any that is overdue (a fault, or a refund if the
 * proposal fell some other way), and stores the submission of every leaf published in answer so the next check can
 * judge it. "recheck" once none is open any more.
 */
async function followRequests(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  now: number,
): Promise<"waiting" | "recheck" | "done"> {
  let waiting = false;
  for (const { level, position } of verdict.requests ?? []) {
    const r = await c.registry.getDataRequest(session.jobId, verdict.index, level, position);
    if (r.state !== REQUEST_OPEN) continue;
    if (BigInt(now) < r.dueAt) {
      waiting = true;
      continue;
    }
    const tx = await c.registry.settleDataRequest(session.jobId, verdict.index, level, position);
    await tx.wait();
    Object.assign(verdict, {
      verdict: "challenged",
      reason: `${verdict.reason}; (${level}, ${position}) unanswered by ${r.dueAt}`,
      txHash: tx.hash,
    });
    c.log("warn", "proposal:challenged", { jobId: session.jobId, index: verdict.index, fault: "settleDataRequest", tx: tx.hash });
    return "done";
  }
  if (waiting) return "waiting";
  for (const { envelope, position } of (await publishedLeaves(c, session, verdict.index)).values()) {
    const block = await encodeSubmission(submissionFromEnvelopeArg(envelope));
    await putBlock(c.ipfs.blockstore, block);
    c.log("info", "proposal:data-published", { jobId: session.jobId, index: verdict.index, position, cid: block.cid.toString() });
  }
  return "recheck";
}

/** A leaf published on-chain in answer to a data request, with the path it was answered with. */
interface PublishedLeaf {
  position: number;
  leaf: LeafArg;
  envelope: EnvelopeArg;
  /** From the answering transaction's calldata; undefined if it was not a direct answerData call. */
  path?: AncestorArg[];
}

/** Every leaf of proposal `index` published through answerData, by position, with its path where it can be read. */
async function publishedLeaves(c: WatcherComponents, session: JobSession, index: number): Promise<Map<number, PublishedLeaf>> {
  const events = await c.registry.queryFilter(c.registry.filters.LeafPublished(session.jobId), c.fromBlock ?? 0);
  const provider = c.registry.runner?.provider;
  const calls = new Map<string, ReturnType<typeof c.registry.interface.parseTransaction>>();
  const out = new Map<number, PublishedLeaf>();
  for (const e of events) {
    if (Number(e.args.index) !== index) continue;
    const position = Number(e.args.position);
    if (!calls.has(e.transactionHash)) {
      // Only a direct call to the registry is trusted for the path: a proxy's calldata could carry a decoy.
      const tx = await provider?.getTransaction(e.transactionHash);
      const direct = tx?.to?.toLowerCase() === (await c.registry.getAddress()).toLowerCase();
      let call: ReturnType<typeof c.registry.interface.parseTransaction> = null;
      try {
        if (tx && direct) call = c.registry.interface.parseTransaction({ data: tx.data, value: tx.value });
      } catch {
        call = null; // malformed calldata: no path from it
      }
      calls.set(e.transactionHash, call);
    }
    const call = calls.get(e.transactionHash);
    const answer = call?.name === "answerData" ? (call.args[2] as Result[]).find((a) => Number(a.position) === position) : undefined;
    const l = e.args.leaf;
    out.set(position, {
      position,
      leaf: { nullifier: l.nullifier, digest: l.digest, payload: [...l.payload].map(Number) },
      envelope: envelopeArg(submissionFromEnvelopeArg(e.args.envelope as unknown as EnvelopeArg)),
      path:
        answer === undefined ? undefined : (answer.path as Result[]).map((a) => ({ sibling: a.sibling, value: [...a.value].map(Number) })),
    });
  }
  return out;
}

/** JobRegistry.MAX_REQUESTS_PER_REQUESTER: each requester's own budget of data requests on a proposal. */
export const MAX_REQUESTS_PER_REQUESTER = 64;

/**
 * The walk's next round (see walk): given a proposal of `count` leaves, the nullifiers this watcher knows (`known`,
 * sorted, fewer than `count`) and the leaves published so far (sorted by position), the interval (lo, hi) where
 * f(i) = i - |{h in known: h < nullifier_i}| is known to rise, and up to `room` evenly spaced positions inside it
 * not yet published. lo is -1 until leaf 0 is published (nothing anchors the left end); hi may be `count`.
 */
export function nextWalkLeaves(
  count: number,
  known: readonly bigint[],
  published: readonly { position: number; nullifier: bigint }[],
  room: number,
): { lo: number; hi: number; positions: number[] } {
  // Points where f is known: every published leaf, and the end, f(count) = count - |known| > 0.
  const points = published.map((leaf) => ({ position: leaf.position, f: leaf.position - rankOf(known, leaf.nullifier) }));
  points.push({ position: count, f: count - known.length });
  let lo = -1;
  let hi = count;
  if (published[0]?.position === 0) {
    for (let k = 0; k + 1 < points.length; k++) {
      const [a, b] = [points[k] as { position: number; f: number }, points[k + 1] as { position: number; f: number }];
      if (b.f > a.f) {
        [lo, hi] = [a.position, b.position];
        break;
      }
    }
  }
  const asked = new Set(published.map((leaf) => leaf.position));
  // Evenly spaced leaves strictly inside (lo, hi); with lo = -1 that starts at leaf 0.
  const inside = hi - lo - 1;
  const n = Math.max(0, Math.min(room, inside));
  const positions = new Set<number>();
  for (let k = 0; k < n; k++) positions.add(lo + 1 + Math.floor((k * inside) / n));
  return { lo, hi, positions: [...positions].filter((position) => !asked.has(position)) };
}

/** How many of `sorted` are below `x`. */
function rankOf(sorted: readonly bigint[], x: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as bigint) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One step of the walk over a proposal whose bundle cannot be used. The leaves published so far are judged (a bad
 * submission is proven with challengeSubmission, two leaves out of order with challengeOrder); a valid one this
 * watcher had not seen joins what it knows. Then it looks for a leaf it does not know: with H the nullifiers it
 * knows, f(i) = i - |{h in H: h < nullifier_i}| can rise from leaf i to the next only when leaf i is not in H, and
 * f(count) = count - |H| is above f(0) <= 0 whenever the proposal counts more leaves than H holds. So it narrows an
 * interval where f rises, asking for WALK_BATCH evenly spaced leaves a round, until the unknown leaf itself is
 * published — and judged at the next step. A proposal that counts no more leaves than this watcher knows cannot
 * outweigh an honest one by leaves; the walk stops there.
 */
async function walk(c: WatcherComponents, session: JobSession, verdict: ProposalVerdict, result: RevealedResult): Promise<void> {
  const spec = session.spec as JobSpec;
  const count = Number(result.count);
  const published = [...(await publishedLeaves(c, session, verdict.index)).values()].sort((a, b) => a.position - b.position);
  const known = new Set([...session.journal.state.accepted.keys()].map((n) => BigInt(n)));
  for (const item of published) {
    const leaf: Leaf = {
      nullifier: item.leaf.nullifier.toString(),
      submission: submissionCid(fromHex(item.leaf.digest)),
      value: item.leaf.payload,
    };
    const judged = await judgeLeaf(c, session, leaf);
    if (judged === "unavailable") continue;
    if (judged.ok) {
      known.add(BigInt(item.leaf.nullifier));
      continue;
    }
    if (item.path === undefined) continue;
    const witness: Witness = {
      fn: "challengeSubmission",
      args: [item.position, item.leaf, item.path, envelopeArg(judged.sub), specBounds(spec)],
    };
    return challengeWith(c, session, verdict, witness, `published leaf ${item.position}: ${judged.reason}`);
  }
  for (let k = 0; k + 1 < published.length; k++) {
    const [a, b] = [published[k] as PublishedLeaf, published[k + 1] as PublishedLeaf];
    if (b.position !== a.position + 1 || BigInt(a.leaf.nullifier) < BigInt(b.leaf.nullifier) || !a.path || !b.path) continue;
    const witness: Witness = { fn: "challengeOrder", args: [a.position, a.leaf, a.path, b.leaf, b.path] };
    return challengeWith(c, session, verdict, witness, `published leaves ${a.position} and ${a.position + 1} are out of order`);
  }
  const sorted = [...known].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  if (count <= sorted.length) return checkTop(c, session, verdict, result, published);
  // This watcher's own budget: the registry counts requests per requester, so no one else can spend it.
  const made = verdict.requests?.length ?? 0;
  const room = Math.min(WALK_BATCH, MAX_REQUESTS_PER_REQUESTER - made);
  const leaves = published.map((item) => ({ position: item.position, nullifier: BigInt(item.leaf.nullifier) }));
  const { lo, hi, positions: items } = nextWalkLeaves(count, sorted, leaves, room);
  if (items.length === 0) {
    Object.assign(verdict, { verdict: "unprovable", reason: `${verdict.reason}; no leaf left to ask for in (${lo}, ${hi})` });
    return;
  }
  const list = items.map((position) => ({ level: 0, position }));
  c.log("info", "proposal:walking", { jobId: session.jobId, index: verdict.index, interval: [lo, hi], leaves: items });
  await requestItems(c, session, verdict, list, verdict.reason ?? "walking");
}

/**
 * A withheld proposal that counts no more leaves than this watcher knows cannot win by an invented leaf; what it can
 * still lie about is its aggregate. Asks for its top (the one leaf, or the root node) and proves the aggregate wrong
 * if the top does not hold it. (Walking down to a wrong inner node of a withheld tree is not done yet.)
 */
async function checkTop(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  result: RevealedResult,
  published: PublishedLeaf[],
): Promise<void> {
  const spec = session.spec as JobSpec;
  const count = Number(result.count);
  const top = count <= 1 ? 0 : Math.ceil(Math.log2(count));
  const claimed = [...result.aggregate];
  const edges = edgesOf(spec.reducer);
  if (count === 1 && published[0]?.position === 0) {
    const leaf = published[0].leaf;
    const lifted = leaf.payload.length === spec.output.entries.length ? liftPayload(spec.reducer, leaf.payload) : [];
    if (lifted.map(String).join() !== claimed.map(String).join())
      return challengeWith(
        c,
        session,
        verdict,
        { fn: "challengeRootLeaf", args: [claimed, leaf, edges] },
        "the one leaf is not the aggregate",
      );
  } else if (count > 1) {
    const nodes = await c.registry.queryFilter(c.registry.filters.NodePublished(session.jobId), c.fromBlock ?? 0);
    const root = nodes.find((e) => Number(e.args.index) === verdict.index && Number(e.args.level) === top && Number(e.args.position) === 0);
    if (root !== undefined) {
      const node = { left: root.args.node.left, right: root.args.node.right, value: [...root.args.node.value] };
      if (node.value.map(String).join() !== claimed.map(String).join())
        return challengeWith(c, session, verdict, { fn: "challengeRoot", args: [claimed, node] }, "the root is not the aggregate");
    }
  }
  const asked = (verdict.requests ?? []).some((r) => r.level === top && r.position === 0);
  if (asked) {
    Object.assign(verdict, { verdict: "unprovable", reason: `${verdict.reason}; its top was published and holds the aggregate` });
    return;
  }
  await requestItems(c, session, verdict, [{ level: top, position: 0 }], verdict.reason ?? "bundle cannot be used");
}

/** walk, with any failure (an RPC error, a hostile answer) leaving the proposal to be looked at again, never "valid". */
async function walkSafely(c: WatcherComponents, session: JobSession, verdict: ProposalVerdict, result: RevealedResult): Promise<void> {
  try {
    await walk(c, session, verdict, result);
  } catch (err) {
    markUnavailable(c, session, verdict, `${verdict.reason}; walk failed: ${(err as Error).message}`);
  }
}

/** Sends `witness` against `verdict`'s proposal and records the outcome. */
async function challengeWith(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  witness: Witness,
  reason: string,
): Promise<void> {
  try {
    const txHash = await send(c, session, verdict.index, witness);
    Object.assign(verdict, { verdict: "challenged", reason, txHash });
    c.log("warn", "proposal:challenged", { jobId: session.jobId, index: verdict.index, fault: witness.fn, reason, tx: txHash });
  } catch (err) {
    c.resetNonce?.();
    Object.assign(verdict, { verdict: "unprovable", reason: `${reason}; the challenge failed: ${(err as Error).message}` });
    c.log("warn", "proposal:unprovable", { jobId: session.jobId, index: verdict.index, reason: verdict.reason });
  }
}

/**
 * Checks every proposal of `session`'s job not yet settled in `seen` (other than this operator's own): fetches
 * its bundle, re-derives the tree, judges every leaf's submission, and on a provable fault sends the challenge.
 * A leaf whose submission cannot be fetched, or a bundle that cannot, is asked for with requestData and settled
 * as a fault if unanswered. From `finalizeAfter` on only requests are followed up (finalizeJob waits for them).
 */
export async function checkProposals(
  c: WatcherComponents,
  session: JobSession,
  seen: Map<number, ProposalVerdict>,
  now: number,
): Promise<ProposalVerdict[]> {
  const spec = session.spec;
  if (spec === undefined) return [];
  const [{ proposals, ownIndex }, revealed] = await Promise.all([
    proposalsOf(c.registry, session.jobId, c.operator),
    revealedResults(c.registry, session.jobId, c.fromBlock ?? 0),
  ]);
  const own = proposals[ownIndex];
  const n = proposals.length;
  const out: ProposalVerdict[] = [];
  for (let index = 0; index < n; index++) {
    const done = seen.get(index);
    if (done?.verdict === "valid" || done?.verdict === "challenged") continue;
    try {
      // Requests made before (whatever the last verdict) are followed up first: an overdue one is a fault to settle.
      if (done?.requests?.length) {
        const next = await followRequests(c, session, done, now);
        if (next !== "recheck" || done.walk) {
          // A walk goes on past finalizeAfter while answers keep the proposal open (the contract says when not).
          const result = revealed.get(index);
          if (next === "recheck" && result !== undefined) await walkSafely(c, session, done, result);
          out.push(done);
          continue;
        }
      }
    } catch (err) {
      c.resetNonce?.();
      c.log("warn", "proposal:request-failed", { jobId: session.jobId, index, message: (err as Error).message });
      continue;
    }
    // Past finalizeAfter only a walk goes on (answers keep its proposal open; the contract says when not).
    if (now >= session.finalizeAfter && !done?.walk) continue;
    const p = proposals[index] as (typeof proposals)[number];
    const result = revealed.get(index);
    // An unrevealed commitment cannot be challenged (and cannot win).
    if (p === own || p.faulted || p.state !== PROPOSAL_REVEALED || result === undefined) continue;
    const verdict: ProposalVerdict = { index, proposer: p.proposer, verdict: "valid", requests: done?.requests, walk: done?.walk };
    seen.set(index, verdict);
    out.push(verdict);
    // The tree is deterministic: a proposal of this node's own root, count and aggregate is this node's own result.
    if (own !== undefined && own.treeRoot === p.treeRoot && own.count === p.count && own.aggregateHash === p.aggregateHash) continue;
    let tree: TreeNodes;
    let published: PublishedTree;
    try {
      published = await publishedTree(c, result);
      tree = openPublished(published, spec.reducer, spec.output.entries.length);
    } catch (err) {
      // No bundle, or one that is not a CID or not a well-formed tree, is as good as withheld: walk its leaves
      // through data requests, which the proposer must answer on-chain or be slashed.
      Object.assign(verdict, { walk: true, reason: `bundle ${result.bundleCid} cannot be used: ${(err as Error).message}` });
      c.log("warn", "proposal:walking", { jobId: session.jobId, index, proposer: p.proposer, reason: verdict.reason });
      await walkSafely(c, session, verdict, result);
      continue;
    }
    try {
      const treeFault = findFaults(published, spec.reducer, spec.output.entries.length);
      const found = treeFault ? { witness: treeFault as Witness, reason: treeFault.reason } : await findSubmissionFault(c, session, tree);
      if (found === undefined) continue;
      if ("unavailable" in found) {
        const cid = tree.leaves[found.unavailable]?.submission;
        const why = `leaf ${found.unavailable}'s submission ${cid} unavailable`;
        await requestItems(c, session, verdict, [{ level: 0, position: found.unavailable }], why);
        continue;
      }
      // The chain keeps only the aggregate's hash: a root challenge must carry the claimed entries exactly, as the
      // ResultProposed event gave them (bigints; a number would round entries past 2^53).
      if (found.witness.fn === "challengeRoot" || found.witness.fn === "challengeRootLeaf") found.witness.args[0] = [...result.aggregate];
      const txHash = await send(c, session, index, found.witness);
      Object.assign(verdict, { verdict: "challenged", reason: found.reason, txHash });
      c.log("warn", "proposal:challenged", {
        jobId: session.jobId,
        index,
        proposer: p.proposer,
        fault: found.witness.fn,
        reason: found.reason,
        tx: txHash,
      });
    } catch (err) {
      c.resetNonce?.();
      Object.assign(verdict, { verdict: "unprovable", reason: (err as Error).message });
      c.log("warn", "proposal:unprovable", { jobId: session.jobId, index, proposer: p.proposer, reason: verdict.reason });
    }
  }
  return out;
}

/**
 * Asks on-chain, with their bonds, for `items` of `verdict`'s proposal and records them on the verdict, followed up
 * at the next check; a failure leaves the proposal "unavailable", to be looked at again.
 */
async function requestItems(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  items: { level: number; position: number }[],
  reason: string,
): Promise<void> {
  try {
    const bond = await c.registry.dataRequestBond();
    const tx = await c.registry.requestData(session.jobId, verdict.index, items, { value: bond * BigInt(items.length) });
    await tx.wait();
    Object.assign(verdict, { verdict: "requested", reason, txHash: tx.hash, requests: [...(verdict.requests ?? []), ...items] });
    c.log("warn", "proposal:data-requested", { jobId: session.jobId, index: verdict.index, items, reason, tx: tx.hash });
  } catch (err) {
    markUnavailable(c, session, verdict, `${reason}; request failed: ${(err as Error).message}`);
  }
}

/** Leaves `verdict` "unavailable" (checked again at the next poll) after a failed call, giving back its nonce. */
function markUnavailable(c: WatcherComponents, session: JobSession, verdict: ProposalVerdict, reason: string): void {
  c.resetNonce?.();
  Object.assign(verdict, { verdict: "unavailable", reason });
  c.log("warn", "proposal:unavailable", { jobId: session.jobId, index: verdict.index, reason });
}

/**
 * The proposer's side of the data-availability rule: answers every open request on this node's own proposal for
 * the job, publishing the leaf (with its submission envelope, from the local blockstore) or the node on-chain
 * before it is due. `answered` holds the requests already dealt with ("level/position").
 */
export async function answerRequests(c: WatcherComponents, session: JobSession, answered: Set<string>): Promise<number> {
  const spec = session.spec;
  if (spec === undefined) return 0;
  const events = await c.registry.queryFilter(c.registry.filters.DataRequested(session.jobId), c.fromBlock ?? 0);
  if (events.length === 0) return 0;
  const { ownIndex } = await proposalsOf(c.registry, session.jobId, c.operator);
  // Every open request on this proposal, earliest due first, answered a few per transaction (a leaf's path and
  // envelope run to kilobytes, and a transaction has a size limit), each batch dry-run first.
  const pending: { dueAt: bigint; key: string; leaf?: unknown; node?: unknown }[] = [];
  let tree: TreeNodes | undefined;
  for (const e of events) {
    const [index, level, position] = [Number(e.args.index), Number(e.args.level), Number(e.args.position)];
    const key = `${level}/${position}`;
    if (index !== ownIndex || answered.has(key)) continue;
    const r = await c.registry.getDataRequest(session.jobId, index, level, position);
    if (r.state !== REQUEST_OPEN) {
      answered.add(key);
      continue;
    }
    tree ??= treeNodes(await session.proposalTree(), spec.reducer, spec.output.entries.length);
    if (level === 0) {
      const leaf = tree.leaves[position] as Leaf;
      const bytes = await fetchBlock(c, leaf.submission, MAX_SUBMISSION_BYTES);
      const envelope = envelopeArg(decodeSubmission(bytes));
      pending.push({ dueAt: r.dueAt, key, leaf: { position, leaf: leafArg(leaf), path: ancestorsOf(tree, 0, position), envelope } });
    } else {
      const node = { level, position, node: innerAt(tree, level, position), path: ancestorsOf(tree, level, position) };
      pending.push({ dueAt: r.dueAt, key, node });
    }
  }
  pending.sort((x, y) => (x.dueAt < y.dueAt ? -1 : x.dueAt > y.dueAt ? 1 : 0));
  let sent = 0;
  for (let from = 0; from < pending.length; from += ANSWERS_PER_TRANSACTION) {
    const batch = pending.slice(from, from + ANSWERS_PER_TRANSACTION);
    const leaves = batch.flatMap((item) => (item.leaf === undefined ? [] : [item.leaf])) as never;
    const nodes = batch.flatMap((item) => (item.node === undefined ? [] : [item.node])) as never;
    await c.registry.answerData.staticCall(session.jobId, ownIndex, leaves, nodes);
    const tx = await c.registry.answerData(session.jobId, ownIndex, leaves, nodes);
    await tx.wait();
    for (const item of batch) answered.add(item.key);
    sent += batch.length;
    c.log("info", "proposal:data-answered", { jobId: session.jobId, index: ownIndex, items: batch.map((item) => item.key), tx: tx.hash });
  }
  return sent;
}
