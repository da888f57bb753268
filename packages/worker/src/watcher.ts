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
  ancestorsOf,
  findFaults,
  innerAt,
  type Leaf,
  leafArg,
  openPublished,
  type PublishedTree,
  specBounds,
  submissionWitness,
  treeNodes,
  type TreeNodes,
  UnprovableFaultError,
  type Witness,
} from "@mosaic/mapreduce";
import {
  CID,
  decodeCbor,
  getBlock,
  type IpfsNode,
  type JobRegistry,
  type JobSpec,
  type Logger,
  parseCid,
  putBlock,
  type RevealedResult,
  revealedResults,
} from "@mosaic/protocol";
import { type JobSession, PROPOSAL_REVEALED } from "./reducer.js";

/** The largest bundle a watcher fetches: a 100,000-leaf bundle with 7-entry values is a few MB. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

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
  /** The data request this watcher made, while verdict is "requested". */
  request?: { level: number; position: number };
}

export interface WatcherComponents {
  ipfs: IpfsNode;
  registry: JobRegistry;
  operator: string;
  log: Logger;
  fetchTimeoutMs: number;
  /** Gives back the nonce of a challenge that failed before it was sent (a NonceManager's reset). */
  resetNonce?(): void;
}

/** Reads a bundle block into the tree findFaults checks; the proposal's own figures come from the chain, never the bundle. */
function publishedTree(bundle: unknown, proposal: RevealedResult): PublishedTree {
  const b = bundle as { leaves?: unknown; levels?: unknown; values?: unknown };
  if (!Array.isArray(b?.leaves) || !Array.isArray(b.levels)) throw new UnprovableFaultError("bundle: no leaves or levels");
  const leaves = b.leaves.map((l: { nullifier?: unknown; submission?: unknown; value?: unknown }, i: number) => {
    if (typeof l?.nullifier !== "string" || !Array.isArray(l.value)) throw new UnprovableFaultError(`bundle: leaves[${i}] is malformed`);
    const cid = CID.asCID(l.submission);
    return { nullifier: l.nullifier, submission: cid?.toString() ?? "", value: l.value as number[] };
  });
  return {
    aggregate: proposal.aggregate.map(Number),
    count: Number(proposal.count),
    treeRoot: proposal.treeRoot,
    leaves,
    levels: b.levels as string[][],
    values: Array.isArray(b.values) ? (b.values as number[][][]) : undefined,
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
    sub = decodeSubmission(bytes);
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

/** Every proposal of the job, the revealed results by index, and the index of this operator's own (-1 if none). */
async function proposalsOf(c: WatcherComponents, session: JobSession) {
  const n = Number(await c.registry.proposalCount(session.jobId));
  const [proposals, revealed] = await Promise.all([
    Promise.all(Array.from({ length: n }, (_, i) => c.registry.getProposal(session.jobId, i))),
    revealedResults(c.registry, session.jobId),
  ]);
  const ownIndex = proposals.findIndex((p) => p.proposer.toLowerCase() === c.operator.toLowerCase());
  return { proposals, revealed, ownIndex };
}

/** Sends a witness after a dry run, so a challenge the contract would refuse costs nothing. */
async function send(c: WatcherComponents, session: JobSession, index: number, w: Witness): Promise<string> {
  const fn = c.registry.getFunction(w.fn);
  await fn.staticCall(session.jobId, index, ...w.args);
  const tx = await fn(session.jobId, index, ...w.args);
  await tx.wait();
  return tx.hash;
}

/** Asks on-chain for the node at (level, position) of proposal `index`, paying the request bond. */
async function request(c: WatcherComponents, session: JobSession, index: number, level: number, position: number): Promise<string> {
  const tx = await c.registry.requestData(session.jobId, index, [{ level, position }], { value: await c.registry.dataRequestBond() });
  await tx.wait();
  return tx.hash;
}

/**
 * Follows up a data request: settles it once overdue (a fault, or a refund if the proposal fell some other way),
 * and once a leaf was published stores its submission locally so the next check can judge it.
 */
async function followRequest(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  now: number,
): Promise<"waiting" | "recheck" | "done"> {
  const { level, position } = verdict.request as { level: number; position: number };
  const r = await c.registry.getDataRequest(session.jobId, verdict.index, level, position);
  if (r.state === REQUEST_OPEN) {
    if (BigInt(now) < r.dueAt) return "waiting";
    const tx = await c.registry.settleDataRequest(session.jobId, verdict.index, level, position);
    await tx.wait();
    Object.assign(verdict, { verdict: "challenged", reason: `${verdict.reason}; unanswered by ${r.dueAt}`, txHash: tx.hash });
    c.log("warn", "proposal:challenged", { jobId: session.jobId, index: verdict.index, fault: "settleDataRequest", tx: tx.hash });
    return "done";
  }
  if (r.state !== REQUEST_ANSWERED) return "done";
  if (level > 0) {
    Object.assign(verdict, { verdict: "unprovable", reason: `${verdict.reason}; the proposer published node (${level}, ${position})` });
    return "done";
  }
  const events = await c.registry.queryFilter(c.registry.filters.LeafPublished(session.jobId));
  const published = events.find((e) => Number(e.args.index) === verdict.index && Number(e.args.position) === position);
  if (published === undefined) return "waiting";
  const block = await encodeSubmission(submissionFromEnvelopeArg(published.args.envelope as unknown as EnvelopeArg));
  await putBlock(c.ipfs.blockstore, block);
  c.log("info", "proposal:data-published", { jobId: session.jobId, index: verdict.index, position, cid: block.cid.toString() });
  return "recheck";
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
  const { proposals, revealed, ownIndex } = await proposalsOf(c, session);
  const own = proposals[ownIndex];
  const n = proposals.length;
  const out: ProposalVerdict[] = [];
  for (let index = 0; index < n; index++) {
    const done = seen.get(index);
    if (done?.verdict === "valid" || done?.verdict === "challenged") continue;
    try {
      if (done?.verdict === "requested" && (await followRequest(c, session, done, now)) !== "recheck") {
        out.push(done);
        continue;
      }
    } catch (err) {
      c.resetNonce?.();
      c.log("warn", "proposal:request-failed", { jobId: session.jobId, index, message: (err as Error).message });
      continue;
    }
    if (now >= session.finalizeAfter) continue;
    const p = proposals[index] as (typeof proposals)[number];
    const result = revealed.get(index);
    // An unrevealed commitment cannot be challenged (and cannot win).
    if (p === own || p.faulted || p.state !== PROPOSAL_REVEALED || result === undefined) continue;
    const verdict: ProposalVerdict = { index, proposer: p.proposer, verdict: "valid" };
    seen.set(index, verdict);
    out.push(verdict);
    // The tree is deterministic: a proposal of this node's own root, count and aggregate is this node's own result.
    if (own !== undefined && own.treeRoot === p.treeRoot && own.count === p.count && own.aggregateHash === p.aggregateHash) continue;
    let tree: TreeNodes;
    let published: PublishedTree;
    try {
      const bytes = await fetchBlock(c, result.bundleCid, MAX_BUNDLE_BYTES);
      published = publishedTree(decodeCbor(bytes), result);
      tree = openPublished(published, spec.reducer, spec.output.entries.length);
    } catch (err) {
      // No bundle, or one that is not a CID or not a well-formed tree, is as good as withheld: ask for the root's
      // children (or the one leaf), which the proposer must publish on-chain or be slashed.
      const count = Number(p.count);
      const top = count <= 1 ? 0 : Math.ceil(Math.log2(count));
      await requestItem(c, session, verdict, top, 0, `bundle ${result.bundleCid} cannot be used: ${(err as Error).message}`);
      continue;
    }
    try {
      const treeFault = findFaults(published, spec.reducer, spec.output.entries.length);
      const found = treeFault ? { witness: treeFault as Witness, reason: treeFault.reason } : await findSubmissionFault(c, session, tree);
      if (found === undefined) continue;
      if ("unavailable" in found) {
        const cid = tree.leaves[found.unavailable]?.submission;
        await requestItem(c, session, verdict, 0, found.unavailable, `leaf ${found.unavailable}'s submission ${cid} unavailable`);
        continue;
      }
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

/** Makes a data request for `verdict`'s proposal and records it; a failure leaves the proposal "unavailable". */
async function requestItem(
  c: WatcherComponents,
  session: JobSession,
  verdict: ProposalVerdict,
  level: number,
  position: number,
  reason: string,
): Promise<void> {
  try {
    const txHash = await request(c, session, verdict.index, level, position);
    Object.assign(verdict, { verdict: "requested", reason, txHash, request: { level, position } });
    c.log("warn", "proposal:data-requested", { jobId: session.jobId, index: verdict.index, level, position, reason, tx: txHash });
  } catch (err) {
    c.resetNonce?.();
    Object.assign(verdict, { verdict: "unavailable", reason: `${reason}; request failed: ${(err as Error).message}` });
    c.log("warn", "proposal:unavailable", { jobId: session.jobId, index: verdict.index, reason: verdict.reason });
  }
}

/**
 * The proposer's side of the data-availability rule: answers every open request on this node's own proposal for
 * the job, publishing the leaf (with its submission envelope, from the local blockstore) or the node on-chain
 * before it is due. `answered` holds the requests already dealt with ("level/position").
 */
export async function answerRequests(c: WatcherComponents, session: JobSession, answered: Set<string>): Promise<number> {
  const spec = session.spec;
  if (spec === undefined) return 0;
  const events = await c.registry.queryFilter(c.registry.filters.DataRequested(session.jobId));
  if (events.length === 0) return 0;
  const { ownIndex } = await proposalsOf(c, session);
  const leaves: unknown[] = [];
  const nodes: unknown[] = [];
  const keys: string[] = [];
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
    tree ??= treeNodes(session.reduce(), spec.reducer, spec.output.entries.length);
    if (level === 0) {
      const leaf = tree.leaves[position] as Leaf;
      const bytes = await fetchBlock(c, leaf.submission, MAX_SUBMISSION_BYTES);
      leaves.push({ position, leaf: leafArg(leaf), path: ancestorsOf(tree, 0, position), envelope: envelopeArg(decodeSubmission(bytes)) });
    } else {
      nodes.push({ level, position, node: innerAt(tree, level, position), path: ancestorsOf(tree, level, position) });
    }
    keys.push(key);
  }
  if (keys.length === 0) return 0;
  // Every open request on this proposal in one transaction: a flood of requests costs the proposer one answer.
  const tx = await c.registry.answerData(session.jobId, ownIndex, leaves as never, nodes as never);
  await tx.wait();
  for (const key of keys) answered.add(key);
  const sent = keys.length;
  c.log("info", "proposal:data-answered", { jobId: session.jobId, index: ownIndex, items: keys, tx: tx.hash });
  return sent;
}
