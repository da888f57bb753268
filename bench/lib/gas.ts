// JobRegistry's gas figures on Hardhat's in-process chain, measured the same way by `npm run bench -- gas` and by
// test/contracts/gas.spec.ts (which holds them to test/contracts/gas-snapshot.json).
import { createHash } from "node:crypto";
import {
  innerNodeWitness,
  type Leaf,
  leafParentWitness,
  orderWitness,
  type ReduceResult,
  reduceTree,
  rehashTree,
  rootWitness,
  type TreeNode,
  type TreeNodes,
  treeNodes,
  type Witness,
} from "@mosaic/mapreduce";
import { deployMosaic, type MosaicContracts, type ReducerSpec } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { type ContractTransactionResponse, parseEther, type Signer } from "ethers";
import { network } from "hardhat";
import { challenge, reduceParams, setGroupSize } from "../../test/contracts/fixture.js";

/** Leaf counts of the lifecycle figures: the gas must not depend on them. */
export const LIFECYCLE_SIZES = [10, 1_000, 100_000] as const;
/** Leaf count of the fraud-proof figures (a depth-17 tree). */
export const FRAUD_LEAVES = 100_000;
/** Payload entries per leaf (a week of km per day), reduced with `sum`. */
export const PAYLOAD_LENGTH = 7;
/** The most gas any one fraud proof may take: well inside a block, cheap enough that anyone will send one. */
export const FRAUD_TARGET = 600_000;
/** The fraud-proof figures and the challenge function each measures. */
export const FRAUD_FIGURES = {
  "gas.fraud_node": "challengeInnerNode",
  "gas.fraud_leaf": "challengeLeafParent",
  "gas.fraud_order": "challengeOrder",
  "gas.fraud_root": "challengeRoot",
} as const;

/** The BN254 scalar field order: Semaphore nullifiers are below it. */
const FIELD = 21888242871839275222246405745257275088548364400416021690395562135764400161024n;
const SUM: ReducerSpec = { kind: "sum" };
const DAY = 86_400n;
const WINDOW = 3_600n;
const BOND = parseEther("0.1");
const STAKE = parseEther("100");
const REWARD = parseEther("2");
// Real-length CIDs, so the strings cost what they will in use.
const SPEC_CID = "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74";
const BUNDLE_CID = "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/** The honest lifecycle's calls, each's gas; the figure is their sum. */
export interface LifecycleGas {
  postJob: number;
  proposeResult: number;
  finalizeJob: number;
  withdraw: number;
}

export interface GasMeasurement {
  /** Every figure by name: `gas.lifecycle_n<leaves>` and the `gas.fraud_*` of FRAUD_FIGURES. */
  figures: Record<string, number>;
  /** Per lifecycle figure, its calls. */
  lifecycle: Record<string, LifecycleGas>;
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
    return { nullifier, submission: BUNDLE_CID, value };
  });
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

async function gasOf(sent: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await sent).wait();
  if (receipt === null) throw new Error("gas: no receipt");
  return Number(receipt.gasUsed);
}

/**
 * Measures every gas figure on a fresh in-process chain.
 *
 * - `gas.lifecycle_n<n>`: one job's honest lifecycle with a real `n`-leaf reduce tree: postJob + proposeResult +
 *   finalizeJob + the winner's withdraw. The reducer's stake is made once before and not counted. One throwaway
 *   lifecycle runs first, so each measured one starts from the same storage (job array, balances) as any later job.
 * - `gas.fraud_*`: the winning challenge against a tampered FRAUD_LEAVES-leaf tree, at position 0 (a full-depth
 *   path). One throwaway fault burns first, so 0x…dEaD already exists and these exclude the 25,000 gas a new
 *   account costs once per chain; before each, the challenger has withdrawn (its balance goes 0 → reward) and the
 *   proposer has one open proposal (1 → 0), as for a lone fault.
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
    await (await c.avatarGroups.createGroup("gas", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.connect(member).register(groupId, new Identity("gas").commitment, "0x")).wait();
    // Lets a proposal claim 100,000 leaves without registering 100,000 identities.
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, groupId, 1_000_000n);
    await (await c.jobRegistry.connect(reducer).stake({ value: STAKE })).wait();

    const post = async (): Promise<{ jobId: bigint; gas: number }> => {
      const now = BigInt(await networkHelpers.time.latest());
      const gas = await gasOf(
        c.jobRegistry
          .connect(researcher)
          .postJob(SPEC_CID, groupId, 1, now + 600n, WINDOW, 1n, reduceParams(SUM, PAYLOAD_LENGTH), { value: REWARD }),
      );
      await networkHelpers.time.increase(600); // collection closes; proposals open
      return { jobId: await c.jobRegistry.jobCount(), gas };
    };
    const propose = (jobId: bigint, aggregate: readonly number[], count: number, treeRoot: string) =>
      gasOf(c.jobRegistry.connect(reducer).proposeResult(jobId, [...aggregate], count, treeRoot, BUNDLE_CID, { value: BOND }));

    const lifecycleOf = async (tree: ReduceResult): Promise<LifecycleGas> => {
      const { jobId, gas: postJob } = await post();
      const proposeResult = await propose(jobId, tree.aggregate, tree.count, tree.treeRoot);
      await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(jobId)).finalizeAfter);
      const finalizeJob = await gasOf(c.jobRegistry.connect(researcher).finalizeJob(jobId));
      const withdraw = await gasOf(c.jobRegistry.connect(reducer).withdraw());
      return { postJob, proposeResult, finalizeJob, withdraw };
    };

    const figures: Record<string, number> = {};
    const lifecycle: Record<string, LifecycleGas> = {};
    await lifecycleOf(reduceTree(gasLeaves(2, "warm-up"), SUM, PAYLOAD_LENGTH));
    let big: ReduceResult | undefined;
    for (const n of LIFECYCLE_SIZES) {
      progress(`building a ${n.toLocaleString("en")}-leaf reduce tree`);
      const tree = reduceTree(gasLeaves(n, `lifecycle-${n}`), SUM, PAYLOAD_LENGTH);
      if (n === FRAUD_LEAVES) big = tree;
      const parts = await lifecycleOf(tree);
      lifecycle[`gas.lifecycle_n${n}`] = parts;
      figures[`gas.lifecycle_n${n}`] = parts.postJob + parts.proposeResult + parts.finalizeJob + parts.withdraw;
    }

    progress(`tampering with the ${FRAUD_LEAVES.toLocaleString("en")}-leaf tree`);
    const honest = treeNodes(big ?? reduceTree(gasLeaves(FRAUD_LEAVES, "fraud"), SUM, PAYLOAD_LENGTH), SUM, PAYLOAD_LENGTH);
    const depth = honest.levels.length - 1;
    // Each case: the published tree (its root is what is proposed), the aggregate proposed, and the winning witness.
    const cases: Record<keyof typeof FRAUD_FIGURES, () => { tree: TreeNodes; aggregate: number[]; witness: Witness }> = {
      "gas.fraud_node": () => {
        const tree = tamper(honest, 2, 0);
        return { tree, aggregate: rootOf(tree).value, witness: innerNodeWitness(tree, SUM, 2, 0) };
      },
      "gas.fraud_leaf": () => {
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
        return { tree, aggregate: rootOf(honest).value, witness: rootWitness(tree, SUM) };
      },
    };

    const fault = async (tree: TreeNodes, aggregate: number[], witness: Witness): Promise<number> => {
      const { jobId } = await post();
      await propose(jobId, aggregate, tree.leaves.length, rootOf(tree).hash);
      const gas = await gasOf(challenge(c, challenger, jobId, 0n, witness));
      if ((await c.jobRegistry.getProposal(jobId, 0n)).faulted !== true) throw new Error(`gas: ${witness.fn} did not fault the proposal`);
      await (await c.jobRegistry.connect(challenger).withdraw()).wait();
      return gas;
    };
    // The throwaway fault: its burn creates 0x…dEaD.
    const small = treeNodes(reduceTree(gasLeaves(2, "first-burn"), SUM, PAYLOAD_LENGTH), SUM, PAYLOAD_LENGTH);
    const smallRoot = rootOf(small).value;
    await fault(
      small,
      smallRoot.map((x, k) => (k === 0 ? x + 1 : x)),
      rootWitness(small, SUM),
    );
    for (const [name, make] of Object.entries(cases)) {
      progress(`${name}: ${FRAUD_FIGURES[name as keyof typeof FRAUD_FIGURES]} at depth ${depth}`);
      const { tree, aggregate, witness } = make();
      if (witness.fn !== FRAUD_FIGURES[name as keyof typeof FRAUD_FIGURES]) throw new Error(`gas: ${name} built a ${witness.fn} witness`);
      figures[name] = await fault(tree, aggregate, witness);
    }
    return { figures, lifecycle, depth };
  } finally {
    await connection.close();
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
