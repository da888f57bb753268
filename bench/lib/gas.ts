// JobRegistry's gas figures on Hardhat's in-process chain, measured the same way by `npm run bench -- gas` and by
// test/contracts/gas.spec.ts (which holds them to test/contracts/gas-snapshot.json).
import { createHash } from "node:crypto";
import { BN254_BASE_FIELD, encodeSubmission, envelopeArg, Group, proveSubmission, type Submission } from "@mosaic/avatar";
import {
  ancestorsOf,
  combine,
  innerNodeWitness,
  type Leaf,
  leafArg,
  leafHash,
  leafParentWitness,
  liftPayload,
  nodeHash,
  orderWitness,
  type ReduceResult,
  reduceTree,
  rehashTree,
  rootWitness,
  submissionCid,
  submissionWitness,
  type TreeNode,
  type TreeNodes,
  treeNodes,
  type Witness,
} from "@mosaic/mapreduce";
import { proposeResult as commitAndReveal, deployMosaic, type MosaicContracts, type ReducerSpec, specDigestOf } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import {
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  keccak256,
  parseEther,
  type Signer,
  toUtf8Bytes,
  Wallet,
} from "ethers";
import { network } from "hardhat";
import { BOUND, challenge, reduceParams, setGroupSize } from "../../test/contracts/fixture.js";

/** Leaf counts of the lifecycle figures: the gas must not depend on them. */
export const LIFECYCLE_SIZES = [10, 1_000, 100_000] as const;
/** Leaf count of the fraud-proof figures (a depth-17 tree). */
export const FRAUD_LEAVES = 100_000;
/** Payload entries per leaf (a week of km per day), reduced with `sum`. */
export const PAYLOAD_LENGTH = 7;
/** The most gas any one fraud proof may take: well inside a block, cheap enough that anyone will send one. */
export const FRAUD_TARGET = 600_000;
/** The fraud-proof figures against the tree's sums and order, and the challenge function each measures. */
const TREE_FRAUD_FIGURES = {
  "gas.fraud_node": "challengeInnerNode",
  "gas.fraud_leaf_parent": "challengeLeafParent",
  "gas.fraud_order": "challengeOrder",
  "gas.fraud_root": "challengeRoot",
} as const;
/** The fraud-proof figures against a leaf's submission: all challengeSubmission, each reaching another verdict. */
const SUBMISSION_FRAUD_FIGURES = {
  "gas.fraud_leaf": "challengeSubmission",
  "gas.fraud_leaf_bounds": "challengeSubmission",
  "gas.fraud_proof": "challengeSubmission",
  "gas.fraud_proof_off_curve": "challengeSubmission",
} as const;
/** Every fraud-proof figure (each held to FRAUD_TARGET) and the function it measures. */
export const FRAUD_FIGURES = { ...TREE_FRAUD_FIGURES, ...SUBMISSION_FRAUD_FIGURES } as const;
/** The data-availability figures and the function each measures; gas.data_settle faults, so it has FRAUD_TARGET too. */
export const DATA_FIGURES = {
  "gas.data_request": "requestData",
  "gas.data_answer_leaf": "answerData",
  "gas.data_settle": "settleDataRequest",
} as const;
/** The worst-case figures and the function each measures. */
export const WORST_FIGURES = { "gas.finalize_worst": "finalizeJob" } as const;
/** JobRegistry.MAX_PROPOSALS and MAX_REQUESTS_PER_REQUESTER: gas.finalize_worst fills a job with both. */
export const MAX_PROPOSALS = 32;
export const MAX_REQUESTS_PER_REQUESTER = 64;
/** The figures held to FRAUD_TARGET: every fraud proof, and the settlement that faults an unanswered request. */
export const TARGETED_FIGURES: readonly string[] = [...Object.keys(FRAUD_FIGURES), "gas.data_settle"];
/** The fault kinds of the issue each fraud-proof figure stands for (1 node/root, 2 leaf, 3 proof, 4 order). */
const ISSUE_KINDS: Record<keyof typeof FRAUD_FIGURES, number> = {
  "gas.fraud_node": 1,
  "gas.fraud_root": 1,
  "gas.fraud_leaf_parent": 1,
  "gas.fraud_leaf": 2,
  "gas.fraud_leaf_bounds": 2,
  "gas.fraud_proof": 3,
  "gas.fraud_proof_off_curve": 3,
  "gas.fraud_order": 4,
};
/** The job bounds: every payload entry in [-BOUND, BOUND] (the gas leaves' entries lie in [-60, 400)). */
const BOUNDS = { min: new Array<number>(PAYLOAD_LENGTH).fill(-BOUND), max: new Array<number>(PAYLOAD_LENGTH).fill(BOUND) };
/** The payload of the leaves with real submissions: a week of km per day. */
const WEEK = [12, 0, 31, 7, 7, 55, 3];
/** ISubmissionJudge.Verdict, by value. */
const VERDICTS = ["Valid", "LeafMismatch", "OutOfBounds", "WrongJob", "WrongDepth", "WrongRoot", "WrongMessage", "InvalidProof"];

/** The BN254 scalar field order: Semaphore nullifiers are below it. */
const FIELD = 21888242871839275222246405745257275088548364400416021690395562135764400161024n;
const SUM: ReducerSpec = { kind: "sum" };
const DAY = 86_400n;
const WINDOW = 3_600n;
const BOND = parseEther("0.1");
const STAKE = parseEther("100");
const REWARD = parseEther("2");
// A real spec digest and a real-length bundle CID, so calldata costs what it will in use.
const SPEC_DIGEST = specDigestOf("bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74");
const BUNDLE_CID = "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/** The honest lifecycle's calls, each's gas; the figure is their sum. */
export interface LifecycleGas {
  postJob: number;
  /** commitResult: the bond and the commitment. */
  commitResult: number;
  /** proposeResult: the reveal. */
  proposeResult: number;
  finalizeJob: number;
  withdraw: number;
}

export interface GasMeasurement {
  /**
   * Every figure by name: `gas.lifecycle_n<leaves>`, the `gas.fraud_*` of FRAUD_FIGURES, the `gas.data_*` of DATA_FIGURES
   * and the WORST_FIGURES.
   */
  figures: Record<string, number>;
  /** Per lifecycle figure, its calls. */
  lifecycle: Record<string, LifecycleGas>;
  /** Per fraud-proof and data figure, what was measured: the issue's fault kind, the leaf's position, the verdict. */
  details: Record<string, Record<string, unknown>>;
  /** The depth of the fraud-proof tree. */
  depth: number;
}

export interface MeasureGasInit {
  /** Reports each step (tree building takes a few seconds). @default no reporting */
  onProgress?: (message: string) => void;
}

/**
 * `n` leaves as a reducer holds them after checking proofs: nullifiers below the BN254 field and 7-entry payloads in
 * [-60, 400), pseudo-random from `seed` so that the figures (which depend a little on calldata bytes) repeat exactly.
 */
export function gasLeaves(n: number, seed: string): Leaf[] {
  return Array.from({ length: n }, (_, i) => {
    const h = createHash("sha256").update(`${seed}:${i}`).digest();
    const nullifier = (BigInt(`0x${h.toString("hex")}`) % FIELD).toString();
    const value = Array.from({ length: PAYLOAD_LENGTH }, (_, k) => (h.readUInt16BE(16 + 2 * k) % 460) - 60);
    const submission = submissionCid(createHash("sha256").update(`${seed}:${i}:submission`).digest());
    return { nullifier, submission, value };
  });
}

/**
 * Puts `leaf` in the place its nullifier sorts to, instead of the leaf there, and rehashes its path only (rehashTree
 * would redo 200,000 nodes): the tree stays in strict nullifier order and every sum stays right.
 */
function withLeaf(tree: TreeNodes, leaf: Leaf): { tree: TreeNodes; position: number } {
  const n = BigInt(leaf.nullifier);
  let lo = 0;
  let hi = tree.leaves.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BigInt((tree.leaves[mid] as Leaf).nullifier) < n) lo = mid + 1;
    else hi = mid;
  }
  const position = lo;
  const leaves = tree.leaves.slice();
  leaves[position] = leaf;
  const levels = tree.levels.map((nodes) => nodes.slice());
  (levels[0] as TreeNode[])[position] = { hash: leafHash(leaf), value: liftPayload(SUM, leaf.value) };
  for (let l = 1, p = position >> 1; l < levels.length; l++, p >>= 1) {
    const below = levels[l - 1] as TreeNode[];
    const left = below[2 * p] as TreeNode;
    const right = below[2 * p + 1];
    const value = right === undefined ? left.value : combine(left.value, right.value);
    (levels[l] as TreeNode[])[p] = right === undefined ? { ...left } : { hash: nodeHash(left.hash, right.hash, value), value };
  }
  return { tree: { leaves, levels }, position };
}

/** The submission with proof point A's y coordinate replaced: still the proof of `sub`'s member, job and payload. */
function withPointAy(sub: Submission, y: (ay: bigint) => bigint): Submission {
  const points = sub.proof.points.slice() as Submission["proof"]["points"];
  points[1] = y(BigInt(points[1])).toString();
  return { ...sub, proof: { ...sub.proof, points } };
}

/** Adds `delta` to entry 0 of the node at (level, i) and of every ancestor, then rehashes: only that node is wrong. */
function tamper(tree: TreeNodes, level: number, i: number, delta = 1000): TreeNodes {
  const levels = tree.levels.map((nodes) => nodes.slice());
  for (let l = level, p = i; l < levels.length; l++, p >>= 1) {
    const nodes = levels[l] as TreeNode[];
    const node = nodes[p] as TreeNode;
    const value = node.value.slice();
    value[0] = (value[0] as number) + delta;
    nodes[p] = { ...node, value };
  }
  return rehashTree({ leaves: tree.leaves, levels });
}

/** Swaps leaves `i` and `i + 1` (out of nullifier order) and rehashes; every value stays right. */
function swapLeaves(tree: TreeNodes, i: number): TreeNodes {
  const leaves = tree.leaves.slice();
  const level0 = (tree.levels[0] as TreeNode[]).slice();
  [leaves[i], leaves[i + 1]] = [leaves[i + 1] as Leaf, leaves[i] as Leaf];
  [level0[i], level0[i + 1]] = [level0[i + 1] as TreeNode, level0[i] as TreeNode];
  return rehashTree({ leaves, levels: [level0, ...tree.levels.slice(1)] });
}

function rootOf(tree: TreeNodes): TreeNode {
  const root = tree.levels.at(-1)?.[0];
  if (root === undefined) throw new Error("gas: empty tree");
  return root;
}

async function receiptOf(sent: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await sent).wait();
  if (receipt === null) throw new Error("gas: no receipt");
  return receipt;
}

async function gasOf(sent: Promise<ContractTransactionResponse>): Promise<number> {
  return Number((await receiptOf(sent)).gasUsed);
}

/**
 * Measures every gas figure on a fresh in-process chain.
 *
 * - `gas.lifecycle_n<n>`: one job's honest lifecycle with a real `n`-leaf reduce tree: postJob + commitResult +
 *   proposeResult (the reveal) + finalizeJob + the winner's withdraw. The reducer's stake is made once before and not counted. One throwaway
 *   lifecycle runs first, so each measured one starts from the same storage (job array, balances) as any later job.
 * - `gas.fraud_*`: the winning challenge against a faulty FRAUD_LEAVES-leaf tree, each on its own job. The tree
 *   faults are at position 0 (a full-depth path); the submission faults are at the leaf whose submission is wrong,
 *   a real Semaphore v4 proof by the group's member for that job, wherever its nullifier sorts (checked to have a
 *   full-depth path). One throwaway fault burns first, so 0x…dEaD already exists and these exclude the 25,000 gas
 *   a new account costs once per chain; before each, the challenger has withdrawn (its balance goes 0 → reward)
 *   and the proposer has one open proposal (1 → 0), as for a lone fault.
 * - `gas.data_*`: a request for leaf 0 of an honest tree, its settlement when nobody answered (which faults the
 *   proposal), and on another job the proposer's answer for a leaf with a real submission.
 *
 * The figures with real proofs vary by a few dozen gas between runs: Groth16 proofs are randomised, and calldata
 * costs more for non-zero bytes.
 */
export async function measureGasDetailed(init: MeasureGasInit = {}): Promise<GasMeasurement> {
  const progress = init.onProgress ?? (() => {});
  const connection = await network.connect();
  try {
    const { ethers, networkHelpers } = connection;
    const [deployer, reducer, researcher, member, challenger] = (await ethers.getSigners()) as unknown as Signer[] as [
      Signer,
      Signer,
      Signer,
      Signer,
      Signer,
    ];
    const c: MosaicContracts = await deployMosaic(deployer, { unbondingDelay: DAY, proposalBond: BOND });
    const groupId = 0n;
    const identity = new Identity("gas");
    await (await c.avatarGroups.createGroup("gas", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.connect(member).register(groupId, identity.commitment, "0x")).wait();
    // The group as its member proves against it: the size written below changes nothing in its root.
    const group = new Group([identity.commitment]);
    // Lets a proposal claim 100,000 leaves without registering 100,000 identities.
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, groupId, 1_000_000n);
    await (await c.jobRegistry.connect(reducer).stake({ value: STAKE })).wait();
    const chainId = (await ethers.provider.getNetwork()).chainId;

    const post = async (): Promise<{ jobId: bigint; gas: number }> => {
      const now = BigInt(await networkHelpers.time.latest());
      const gas = await gasOf(
        c.jobRegistry
          .connect(researcher)
          .postJob(SPEC_DIGEST, groupId, 1, now + 600n, WINDOW, 1n, reduceParams(SUM, PAYLOAD_LENGTH, BOUNDS), { value: REWARD }),
      );
      await networkHelpers.time.increase(600); // collection closes; proposals open
      return { jobId: await c.jobRegistry.jobCount(), gas };
    };
    /** Commits, then reveals; returns each call's gas. */
    const propose = async (jobId: bigint, aggregate: readonly number[], count: number, treeRoot: string, by: Signer = reducer) => {
      const { index, commit, reveal } = await commitAndReveal(
        c.jobRegistry.connect(by),
        jobId,
        { aggregate, count, treeRoot, bundleCid: BUNDLE_CID },
        { bond: BOND },
      );
      return { index, commitResult: Number(commit.gasUsed), proposeResult: Number(reveal.gasUsed) };
    };
    const proposeTree = (jobId: bigint, tree: TreeNodes, aggregate = rootOf(tree).value, by: Signer = reducer) =>
      propose(jobId, aggregate, tree.leaves.length, rootOf(tree).hash, by);

    const lifecycleOf = async (tree: ReduceResult): Promise<LifecycleGas> => {
      const { jobId, gas: postJob } = await post();
      const { commitResult, proposeResult } = await propose(jobId, tree.aggregate, tree.count, tree.treeRoot);
      await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(jobId)).finalizeAfter);
      const finalizeJob = await gasOf(c.jobRegistry.connect(researcher).finalizeJob(jobId));
      const withdraw = await gasOf(c.jobRegistry.connect(reducer).withdraw());
      return { postJob, commitResult, proposeResult, finalizeJob, withdraw };
    };

    const figures: Record<string, number> = {};
    const lifecycle: Record<string, LifecycleGas> = {};
    const details: Record<string, Record<string, unknown>> = {};
    await lifecycleOf(reduceTree(gasLeaves(2, "warm-up"), SUM, PAYLOAD_LENGTH));
    let big: ReduceResult | undefined;
    for (const n of LIFECYCLE_SIZES) {
      progress(`building a ${n.toLocaleString("en")}-leaf reduce tree`);
      const tree = reduceTree(gasLeaves(n, `lifecycle-${n}`), SUM, PAYLOAD_LENGTH);
      if (n === FRAUD_LEAVES) big = tree;
      const parts = await lifecycleOf(tree);
      lifecycle[`gas.lifecycle_n${n}`] = parts;
      figures[`gas.lifecycle_n${n}`] = parts.postJob + parts.commitResult + parts.proposeResult + parts.finalizeJob + parts.withdraw;
    }

    progress(`tampering with the ${FRAUD_LEAVES.toLocaleString("en")}-leaf tree`);
    const honest = treeNodes(big ?? reduceTree(gasLeaves(FRAUD_LEAVES, "fraud"), SUM, PAYLOAD_LENGTH), SUM, PAYLOAD_LENGTH);
    const depth = honest.levels.length - 1;
    // Each case: the published tree (its root is what is proposed), the aggregate proposed, and the winning witness.
    const cases: Record<keyof typeof TREE_FRAUD_FIGURES, () => { tree: TreeNodes; aggregate: number[]; witness: Witness }> = {
      "gas.fraud_node": () => {
        const tree = tamper(honest, 2, 0);
        return { tree, aggregate: rootOf(tree).value, witness: innerNodeWitness(tree, SUM, 2, 0) };
      },
      "gas.fraud_leaf_parent": () => {
        const tree = tamper(honest, 1, 0);
        return { tree, aggregate: rootOf(tree).value, witness: leafParentWitness(tree, SUM, 0) };
      },
      "gas.fraud_order": () => {
        const tree = swapLeaves(honest, 0);
        return { tree, aggregate: rootOf(tree).value, witness: orderWitness(tree, 0) };
      },
      // The root's value is inflated but the honest aggregate proposed: the root preimage shows they differ.
      "gas.fraud_root": () => {
        const tree = tamper(honest, depth, 0);
        return { tree, aggregate: rootOf(honest).value, witness: rootWitness(tree, SUM, rootOf(honest).value) };
      },
    };

    /** Sends the winning challenge, checks that it faulted the proposal, and empties the challenger's balance. */
    const fault = async (jobId: bigint, witness: Witness): Promise<ContractTransactionReceipt> => {
      const receipt = await receiptOf(challenge(c, challenger, jobId, 0n, witness));
      if ((await c.jobRegistry.getProposal(jobId, 0n)).faulted !== true) throw new Error(`gas: ${witness.fn} did not fault the proposal`);
      await (await c.jobRegistry.connect(challenger).withdraw()).wait();
      return receipt;
    };
    // The throwaway fault: its burn creates 0x…dEaD.
    const small = treeNodes(reduceTree(gasLeaves(2, "first-burn"), SUM, PAYLOAD_LENGTH), SUM, PAYLOAD_LENGTH);
    const firstBurn = await post();
    const inflated = rootOf(small).value.map((x, k) => (k === 0 ? x + 1 : x));
    await proposeTree(firstBurn.jobId, small, inflated);
    await fault(firstBurn.jobId, rootWitness(small, SUM, inflated));
    for (const [name, make] of Object.entries(cases)) {
      const fn = TREE_FRAUD_FIGURES[name as keyof typeof TREE_FRAUD_FIGURES];
      progress(`${name}: ${fn} at depth ${depth}`);
      const { tree, aggregate, witness } = make();
      if (witness.fn !== fn) throw new Error(`gas: ${name} built a ${witness.fn} witness`);
      const { jobId } = await post();
      await proposeTree(jobId, tree, aggregate);
      figures[name] = Number((await fault(jobId, witness)).gasUsed);
      details[name] = { kind: ISSUE_KINDS[name as keyof typeof TREE_FRAUD_FIGURES], function: fn, position: 0, path: depth };
    }

    /**
     * Posts a job and puts a leaf for its member's submission into the honest tree: the submission a real proof
     * of `proven` for the job, changed by `change` once proved; the leaf's value `value` (by default its payload).
     */
    const jobWithSubmission = async (
      proven: number[],
      change: (sub: Submission) => Submission = (sub) => sub,
      value?: number[],
    ): Promise<{ jobId: bigint; sub: Submission; tree: TreeNodes; position: number }> => {
      const { jobId } = await post();
      const groupRoot = (await c.jobRegistry.getJob(jobId)).groupRoot;
      if (BigInt(group.root) !== groupRoot)
        throw new Error(`gas: the member's group root ${group.root} is not job ${jobId}'s ${groupRoot}`);
      const sub = change(await proveSubmission(identity, group, { chainId, registry: c.addresses.jobRegistry, jobId }, proven));
      const block = await encodeSubmission(sub);
      const leaf = { nullifier: sub.proof.nullifier, submission: submissionCid(block.cid.multihash.digest), value: value ?? sub.payload };
      const { tree, position } = withLeaf(honest, leaf);
      const path = ancestorsOf(tree, 0, position).length;
      if (path !== depth) throw new Error(`gas: the submission's leaf sorts to ${position}, whose path has ${path} nodes, not ${depth}`);
      return { jobId, sub, tree, position };
    };
    // Each case: the payload proved, how the submission is changed after proving, the leaf's value, the verdict.
    const submissionCases: Record<
      keyof typeof SUBMISSION_FRAUD_FIGURES,
      { proven: number[]; change?: (sub: Submission) => Submission; value?: number[]; verdict: string; fault: string }
    > = {
      // The last entry differs, so the judge compares every entry before finding it.
      "gas.fraud_leaf": {
        proven: WEEK,
        value: WEEK.map((x, k) => (k === PAYLOAD_LENGTH - 1 ? x + 1 : x)),
        verdict: "LeafMismatch",
        fault: "the leaf's last payload entry differs from its submission's",
      },
      "gas.fraud_leaf_bounds": {
        proven: WEEK.map((x, k) => (k === PAYLOAD_LENGTH - 1 ? BOUND + 1 : x)),
        verdict: "OutOfBounds",
        fault: `the submission's last payload entry is ${BOUND + 1}, above the job's max ${BOUND}`,
      },
      // -A is still a curve point: every check passes and the pairing runs in full, then fails.
      "gas.fraud_proof": {
        proven: WEEK,
        change: (sub) => withPointAy(sub, (y) => (BN254_BASE_FIELD - y) % BN254_BASE_FIELD),
        verdict: "InvalidProof",
        fault: "proof point A negated (a curve point, so the pairing runs in full and fails)",
      },
      // Off the curve, the pairing precompile fails, and a failing precompile uses all the gas the verifier gave it.
      "gas.fraud_proof_off_curve": {
        proven: WEEK,
        change: (sub) => withPointAy(sub, (y) => (y + 1n) % BN254_BASE_FIELD),
        verdict: "InvalidProof",
        fault: "proof point A moved off the curve (the pairing precompile fails and uses its whole gas stipend)",
      },
    };
    for (const [name, { proven, change, value, verdict, fault: what }] of Object.entries(submissionCases)) {
      progress(`${name}: proving a submission, then challengeSubmission at depth ${depth}`);
      const { jobId, sub, tree, position } = await jobWithSubmission(proven, change, value);
      await proposeTree(jobId, tree);
      const receipt = await fault(jobId, submissionWitness(tree, position, envelopeArg(sub), BOUNDS));
      const verdicts = receipt.logs
        .map((log) => c.jobRegistry.interface.parseLog(log))
        .filter((event) => event?.name === "SubmissionFaulted")
        .map((event) => VERDICTS[Number(event?.args.verdict)]);
      if (verdicts.length !== 1 || verdicts[0] !== verdict)
        throw new Error(`gas: ${name} expected verdict ${verdict}, got ${verdicts.join(", ")}`);
      figures[name] = Number(receipt.gasUsed);
      details[name] = {
        kind: ISSUE_KINDS[name as keyof typeof SUBMISSION_FRAUD_FIGURES],
        function: "challengeSubmission",
        verdict,
        fault: what,
        position,
        path: depth,
      };
    }

    // A request for leaf 0 that nobody answers: anyone settles it when due, and the proposal is faulted.
    progress("gas.data_request, gas.data_settle: a leaf nobody publishes");
    const dataBond = await c.jobRegistry.dataRequestBond();
    const unanswered = await post();
    await proposeTree(unanswered.jobId, honest);
    figures["gas.data_request"] = await gasOf(
      c.jobRegistry.connect(challenger).requestData(unanswered.jobId, 0n, [{ level: 0n, position: 0n }], { value: dataBond }),
    );
    details["gas.data_request"] = { function: "requestData", items: 1, level: 0, position: 0, bond: dataBond.toString() };
    await networkHelpers.time.increaseTo((await c.jobRegistry.getDataRequest(unanswered.jobId, 0n, 0n, 0n)).dueAt);
    figures["gas.data_settle"] = await gasOf(c.jobRegistry.connect(challenger).settleDataRequest(unanswered.jobId, 0n, 0n, 0n));
    if ((await c.jobRegistry.getProposal(unanswered.jobId, 0n)).faulted !== true)
      throw new Error("gas: settleDataRequest did not fault the proposal");
    await (await c.jobRegistry.connect(challenger).withdraw()).wait();
    details["gas.data_settle"] = { function: "settleDataRequest", faults: true, level: 0, position: 0 };

    // The proposer answers a request for a leaf with its submission's envelope; the job is then finalised, so its
    // proposal does not stay open.
    progress("gas.data_answer_leaf: the proposer publishes a requested leaf");
    const answered = await jobWithSubmission(WEEK);
    await proposeTree(answered.jobId, answered.tree);
    await (
      await c.jobRegistry
        .connect(challenger)
        .requestData(answered.jobId, 0n, [{ level: 0n, position: answered.position }], { value: dataBond })
    ).wait();
    const leaf = answered.tree.leaves[answered.position] as Leaf;
    const leafAnswer = {
      position: answered.position,
      leaf: leafArg(leaf),
      path: ancestorsOf(answered.tree, 0, answered.position),
      envelope: envelopeArg(answered.sub),
    };
    // The Envelope's points are a fixed-size array the typed signature will not take: call it by name.
    const answerData = c.jobRegistry.connect(reducer).getFunction("answerData") as unknown as (
      ...args: unknown[]
    ) => Promise<ContractTransactionResponse>;
    figures["gas.data_answer_leaf"] = await gasOf(answerData(answered.jobId, 0n, [leafAnswer], []));
    details["gas.data_answer_leaf"] = { function: "answerData", leaves: 1, nodes: 0, position: answered.position, path: depth };
    await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(answered.jobId)).finalizeAfter);
    await (await c.jobRegistry.connect(researcher).finalizeJob(answered.jobId)).wait();
    await (await c.jobRegistry.connect(reducer).withdraw()).wait();

    // finalizeJob at its worst: MAX_PROPOSALS revealed proposals from as many staked reducers, each with
    // MAX_REQUESTS_PER_REQUESTER data requests made and answered (paired nodes), counts rising so the leader changes at
    // every proposal. Deterministic wallets, funded from the deployer, so the figure repeats exactly.
    progress(`gas.finalize_worst: ${MAX_PROPOSALS} proposals with ${MAX_REQUESTS_PER_REQUESTER} answered requests each`);
    if ((await c.jobRegistry.MAX_PROPOSALS()) !== BigInt(MAX_PROPOSALS)) throw new Error("gas: MAX_PROPOSALS changed");
    if ((await c.jobRegistry.MAX_REQUESTS_PER_REQUESTER()) !== BigInt(MAX_REQUESTS_PER_REQUESTER))
      throw new Error("gas: MAX_REQUESTS_PER_REQUESTER changed");
    const worst = await post();
    for (let i = 0; i < MAX_PROPOSALS; i++) {
      const wallet = new Wallet(keccak256(toUtf8Bytes(`gas.finalize_worst:${i}`)), ethers.provider);
      await (await deployer.sendTransaction({ to: wallet.address, value: parseEther("2") })).wait();
      await (await c.jobRegistry.connect(wallet).stake({ value: parseEther("1") })).wait();
      const tree = treeNodes(reduceTree(gasLeaves(100 + i, `worst-${i}`), SUM, PAYLOAD_LENGTH), SUM, PAYLOAD_LENGTH);
      const { index } = await proposeTree(worst.jobId, tree, rootOf(tree).value, wallet);
      const nodes: { level: number; position: number }[] = [];
      for (let level = 1; level < tree.levels.length && nodes.length < MAX_REQUESTS_PER_REQUESTER; level++)
        for (let p = 0; 2 * p + 1 < (tree.levels[level - 1] as TreeNode[]).length && nodes.length < MAX_REQUESTS_PER_REQUESTER; p++)
          nodes.push({ level, position: p });
      await (
        await c.jobRegistry.connect(challenger).requestData(worst.jobId, index, nodes, { value: dataBond * BigInt(nodes.length) })
      ).wait();
      const answers = nodes.map(({ level, position }) => {
        const below = tree.levels[level - 1] as TreeNode[];
        return {
          level,
          position,
          node: {
            left: (below[2 * position] as TreeNode).hash,
            right: (below[2 * position + 1] as TreeNode).hash,
            value: ((tree.levels[level] as TreeNode[])[position] as TreeNode).value,
          },
          path: ancestorsOf(tree, level, position),
        };
      });
      await (await c.jobRegistry.connect(wallet).answerData(worst.jobId, index, [], answers)).wait();
      const p = await c.jobRegistry.getProposal(worst.jobId, index);
      if (p.openRequests !== 0n || p.state !== 2n)
        throw new Error(`gas: proposal ${index} has ${p.openRequests} open requests, state ${p.state}`);
    }
    await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(worst.jobId)).finalizeAfter);
    figures["gas.finalize_worst"] = await gasOf(c.jobRegistry.connect(researcher).finalizeJob(worst.jobId));
    const won = await c.jobRegistry.winningProposal(worst.jobId);
    if (won !== BigInt(MAX_PROPOSALS - 1)) throw new Error(`gas: proposal ${won} won, not the last and largest`);
    details["gas.finalize_worst"] = {
      function: "finalizeJob",
      proposals: MAX_PROPOSALS,
      requests_per_proposal: MAX_REQUESTS_PER_REQUESTER,
      answered: "all, as paired nodes",
      note: `${MAX_PROPOSALS} revealed proposals of 100-${99 + MAX_PROPOSALS} leaves from distinct staked reducers, each with ${MAX_REQUESTS_PER_REQUESTER} data requests made and answered; the winner is the last`,
    };
    return { figures, lifecycle, details, depth };
  } finally {
    await connection.close();
    // snarkjs keeps its curve, and the curve's worker threads, in this global after proving: the process would not exit.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
  }
}

/** Every gas figure by name (see measureGasDetailed for what each counts). */
export async function measureGas(init: MeasureGasInit = {}): Promise<Record<string, number>> {
  return (await measureGasDetailed(init)).figures;
}

/** The largest difference between two lifecycle figures: how far gas depends on the leaf count. */
export function lifecycleSpread(figures: Record<string, number>): number {
  const values = LIFECYCLE_SIZES.map((n) => figures[`gas.lifecycle_n${n}`] ?? Number.NaN);
  return Math.max(...values) - Math.min(...values);
}
