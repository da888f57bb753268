// End to end: a reducer that proposes an inflated result is caught by an honest reducer watching the same job, which
// proves the fault on-chain in one call; the liar loses its bond and 2.5% of its stake, the watcher is paid, and the
// honest proposal wins. Real Hardhat network over JSON-RPC, reducers as separate processes, real proofs.
import path from "node:path";
import { expect } from "chai";
import { formatEther, parseEther } from "ethers";
import { createReducerWorld, type Reducer, type ReducerWorld } from "./reducer-world.js";
import { json, mosaic } from "./run.js";

const MEMBERS = 4;

describe("watchers: an inflated proposal is proven wrong and slashed", function () {
  this.timeout(600_000);
  let w: ReducerWorld;

  before(async () => {
    w = await createReducerWorld(MEMBERS, 2);
  });
  after(async () => w?.close());

  it("slashes the reducer that inflates a bin; the honest one is paid for the proof and wins", async () => {
    const [honest, liar] = w.reducers as [Reducer, Reducer];
    await w.writeConfig(liar, { misbehave: "inflate", watch: false });
    for (const r of w.reducers) await w.start(r);
    const specFile = path.join(w.work, "km.json");
    expect((await mosaic(["job", "new", "km-per-day", "--deadline-in", "900", "--out", specFile], w.work)).code).to.equal(0);
    json(await w.post(specFile, w.reducers));
    await w.until("both reducers to collect", async () => {
      for (const r of w.reducers) if ((await w.jobOf(r)).state !== "collecting") return false;
      return true;
    });
    for (let i = 0; i < MEMBERS; i++) await w.submit(1n, i, [7, 0, 0, 0, 0, 0], w.reducers);
    await w.until("both reducers to accept every submission", async () => {
      for (const r of w.reducers) if (Number((await w.jobOf(r)).accepted) !== MEMBERS) return false;
      return true;
    });

    const job = await w.contracts.jobRegistry.getJob(1n);
    const registry = w.contracts.jobRegistry;
    const [honestAddress, liarAddress] = [honest.status?.operator as string, liar.status?.operator as string];
    const bond = await registry.proposalBond();
    await w.timeTo(Number(job.collectionDeadline) + 1);
    await w.until("two proposals", async () => (await registry.proposalCount(1n)) === 2n, 90_000);
    const proposals = await Promise.all([0, 1].map((i) => registry.getProposal(1n, i)));
    const liarIndex = proposals.findIndex((p) => p.proposer === liarAddress);
    expect(liarIndex).to.be.at.least(0);
    expect(proposals[liarIndex]?.aggregate[0]).to.equal((proposals[1 - liarIndex]?.aggregate[0] ?? 0n) + 100n);

    await w.until(
      "the watcher to prove the inflated proposal wrong",
      async () => (await registry.getProposal(1n, liarIndex)).faulted,
      90_000,
    );
    const slashedStake = parseEther("1") / 40n; // 2.5% of 1 ETH
    expect(await registry.stakeOf(liarAddress)).to.equal(parseEther("1") - slashedStake);
    expect(await registry.balanceOf(honestAddress)).to.equal((bond + slashedStake) / 2n);
    const verdicts = (await w.jobOf(honest)).checked as Array<{ index: number; verdict: string; reason: string }>;
    expect(verdicts).to.deep.include({ ...verdicts[0], index: liarIndex, verdict: "challenged" });

    // After the challenge window the honest proposal wins; its bond comes back with the reward.
    await w.timeTo(Number(job.finalizeAfter) + 1);
    await w.until("the job to be finalised", async () => (await registry.getJob(1n)).state === 2n);
    expect((await registry.getProposal(1n, await registry.winningProposal(1n))).proposer).to.equal(honestAddress);
    const paid = await registry.balanceOf(honestAddress);
    expect(formatEther(paid)).to.equal(formatEther((bond + slashedStake) / 2n + bond + job.reward));
  });
});
