// Users' inclusion proofs against the contract's own tree hashing: a leaf path from a published bundle
// (leafInclusion) passes JobRegistry's path check exactly when verifyLeafInclusion says it is in the proposed tree.
// challengeOrder checks both leaves' paths against the proposal's root before it looks at their order, so on two
// honest neighbours it reverts NoFault (both paths held) and on a forged or foreign path NotInTree.
import {
  type AncestorArg,
  encodeBundle,
  type LeafInclusion,
  leafArg,
  leafInclusion,
  openBundle,
  type ReduceResult,
  verifyLeafInclusion,
} from "@mosaic/mapreduce";
import { CID, deployMosaic, type MosaicContracts, type ReducerSpec } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import { parseEther, type Signer } from "ethers";
import { network } from "hardhat";
import { challenge, honestTree, proposeTree, reduceParams, SPEC_CID, SPEC_DIGEST, setGroupSize } from "./fixture.js";

const BOND = parseEther("0.1");
const STAKE = parseEther("10");
const SUM: ReducerSpec = { kind: "sum" };
const WIDTH = 3;

/** A tree's bundle, opened from memory, and every leaf's inclusion proof read through it. */
async function inclusions(result: ReduceResult, jobId: bigint): Promise<LeafInclusion[]> {
  const bundle = await encodeBundle({
    job: { chain: 31337, registry: "0x00", id: Number(jobId) },
    spec: CID.parse(SPEC_CID),
    reducer: SUM,
    payloadLength: WIDTH,
    result,
  });
  const blocks = new Map([...bundle.blocks, bundle.root].map((b) => [b.cid.toString(), b.bytes]));
  const reader = await openBundle(bundle.root.cid, async (cid) => blocks.get(cid.toString()) as Uint8Array);
  return Promise.all(result.leaves.map(async (leaf) => (await leafInclusion(reader, leaf.nullifier)) as LeafInclusion));
}

describe("leaf inclusion proofs against JobRegistry", () => {
  let c: MosaicContracts;
  let reducer: Signer;
  let researcher: Signer;
  let challenger: Signer;
  let latest: () => Promise<number>;
  let increase: (s: number) => Promise<unknown>;

  before(async () => {
    const { ethers, networkHelpers } = await network.connect();
    const [deployer, r, res, member, ch] = (await ethers.getSigners()) as unknown as Signer[] as [Signer, Signer, Signer, Signer, Signer];
    [reducer, researcher, challenger] = [r, res, ch];
    latest = () => networkHelpers.time.latest();
    increase = (s) => networkHelpers.time.increase(s);
    c = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: BOND });
    await (await c.avatarGroups.createGroup("test", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.connect(member).register(0n, new Identity("m").commitment, "0x")).wait();
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, 0n, 1_000_000n);
    await (await c.jobRegistry.connect(reducer).stake({ value: STAKE })).wait();
  });

  /** Posts a sum job per result, waits out collection and proposes each result for its job; the job ids. */
  async function jobsWith(...results: ReduceResult[]): Promise<bigint[]> {
    const now = BigInt(await latest());
    const ids: bigint[] = [];
    for (const _ of results) {
      await (
        await c.jobRegistry
          .connect(researcher)
          .postJob(SPEC_DIGEST, 0n, 1, now + 600n, 120n, parseEther("1"), reduceParams(SUM, WIDTH), { value: parseEther("2") })
      ).wait();
      ids.push(await c.jobRegistry.jobCount());
    }
    await increase(600);
    for (const [k, r] of results.entries())
      await proposeTree(c, reducer, ids[k] as bigint, { aggregate: r.aggregate, count: r.count, treeRoot: r.treeRoot }, BOND);
    return ids;
  }

  /** challengeOrder on leaves `a` then `b` at a's position: the contract's verdict on their paths. */
  function order(jobId: bigint, a: LeafInclusion, b: LeafInclusion, pathA: AncestorArg[] = a.path) {
    return challenge(c, challenger, jobId, 0n, { fn: "challengeOrder", args: [a.index, leafArg(a.leaf), pathA, leafArg(b.leaf), b.path] });
  }

  it("test_leafInclusion_everyLeafOfHonestTrees_passesTheContractsPathCheck", async () => {
    for (const n of [2, 3, 5, 8, 13]) {
      const result = honestTree(n, SUM, WIDTH, 7 * n);
      const [jobId] = (await jobsWith(result)) as [bigint];
      const proofs = await inclusions(result, jobId);
      for (const p of proofs) expect(verifyLeafInclusion(result.treeRoot, p, n), `n=${n} leaf ${p.index}`).to.equal(true);
      for (let i = 0; i + 1 < n; i++) {
        await expect(
          order(jobId, proofs[i] as LeafInclusion, proofs[i + 1] as LeafInclusion),
          `n=${n} leaves ${i}, ${i + 1}`,
        ).to.be.revertedWithCustomError(c.jobRegistry, "NoFault");
      }
      expect((await c.jobRegistry.getProposal(jobId, 0n)).faulted).to.equal(false);
    }
  });

  it("test_verifyLeafInclusion_forgedPathOrLeafOfAnotherJob_isFalse_andTheContractSaysNotInTree", async () => {
    const result = honestTree(11, SUM, WIDTH, 101);
    const otherResult = honestTree(11, SUM, WIDTH, 202);
    const [jobId, otherJob] = (await jobsWith(result, otherResult)) as [bigint, bigint];
    const proofs = await inclusions(result, jobId);
    const foreign = await inclusions(otherResult, otherJob);
    const [a, b] = [proofs[4] as LeafInclusion, proofs[5] as LeafInclusion];
    // A forged sibling.
    const forgedPath = a.path.map((x, k) => (k === 0 ? { ...x, sibling: `0x${"ab".repeat(32)}` } : x));
    expect(verifyLeafInclusion(result.treeRoot, { ...a, path: forgedPath }, 11)).to.equal(false);
    await expect(order(jobId, a, b, forgedPath)).to.be.revertedWithCustomError(c.jobRegistry, "NotInTree");
    // A forged parent value.
    const forgedValue = a.path.map((x, k) => (k === 1 ? { ...x, value: x.value.map((v) => v + 1) } : x));
    expect(verifyLeafInclusion(result.treeRoot, { ...a, path: forgedValue }, 11)).to.equal(false);
    await expect(order(jobId, a, b, forgedValue)).to.be.revertedWithCustomError(c.jobRegistry, "NotInTree");
    // A leaf of another job, with its valid path in that job's tree, is in neither this tree nor this proposal.
    const f = foreign[4] as LeafInclusion;
    expect(verifyLeafInclusion(otherResult.treeRoot, f, 11)).to.equal(true);
    expect(verifyLeafInclusion(result.treeRoot, f, 11)).to.equal(false);
    await expect(order(jobId, f, b)).to.be.revertedWithCustomError(c.jobRegistry, "NotInTree");
    await expect(order(otherJob, f, foreign[5] as LeafInclusion)).to.be.revertedWithCustomError(c.jobRegistry, "NoFault");
    expect((await c.jobRegistry.getProposal(jobId, 0n)).faulted).to.equal(false);
  });
});
