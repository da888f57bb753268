// End to end: reducers that cheat are caught by an honest reducer watching the same job, which proves each fault
// on-chain in one call; a liar loses its bond and 2.5% of its stake, the watcher is paid, and the honest proposal
// wins. A job below its minimum participants is refunded. Real Hardhat network over JSON-RPC, reducers as separate
// processes (the liars run the worker's test-only misbehaving reducer), real proofs.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { revealedResults } from "@mosaic/protocol";
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
    await w.writeConfig(liar, { watch: false });
    await w.start(honest);
    await w.start(liar, "inflate");
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
    await w.until("two revealed proposals", async () => (await revealedResults(registry, 1n)).size === 2, 90_000);
    const proposals = await Promise.all([0, 1].map((i) => registry.getProposal(1n, i)));
    const results = await revealedResults(registry, 1n);
    const liarIndex = proposals.findIndex((p) => p.proposer === liarAddress);
    expect(liarIndex).to.be.at.least(0);
    expect(results.get(liarIndex)?.aggregate[0]).to.equal((results.get(1 - liarIndex)?.aggregate[0] ?? 0n) + 100n);

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

describe("watchers: invalid proofs, duplicate nullifiers, too few participants, withheld data", function () {
  this.timeout(900_000);
  let w: ReducerWorld;

  before(async () => {
    w = await createReducerWorld(5, 3);
  });
  after(async () => w?.close());

  it("slashes both through challengeSubmission and challengeOrder; the honest proposal wins; a job below its minimum is refunded; a withheld bundle is requested and slashed as unavailable", async () => {
    const [honest, invalid, duplicate] = w.reducers as [Reducer, Reducer, Reducer];
    await w.writeConfig(invalid, { watch: false });
    await w.writeConfig(duplicate, { watch: false });
    await w.start(invalid, "include-invalid");
    await w.start(duplicate, "include-duplicate");
    // The watcher fetches the others' bundles and submissions over bitswap: it dials them as peers.
    await w.writeConfig(honest, { peers: [invalid, duplicate].map((r) => r.status?.addresses[0]) });
    await w.start(honest);
    const registry = w.contracts.jobRegistry;
    const specFile = path.join(w.work, "km.json");
    expect((await mosaic(["job", "new", "km-per-day", "--deadline-in", "1200", "--out", specFile], w.work)).code).to.equal(0);
    json(await w.post(specFile, w.reducers));
    await w.until("every reducer to collect", async () => {
      for (const r of w.reducers) if ((await w.jobOf(r)).state !== "collecting") return false;
      return true;
    });
    for (let i = 0; i < 4; i++) await w.submit(1n, i, [7, 0, 0, 0, 0, 0], w.reducers);
    // Member 4's proof with A and C swapped: two valid curve points, so only the pairing check fails.
    await w.submit(1n, 4, [6, 1, 0, 0, 0, 0], w.reducers, (sub) => {
      const p = [...sub.proof.points] as typeof sub.proof.points;
      [p[0], p[1], p[6], p[7]] = [p[6], p[7], p[0], p[1]];
      return { ...sub, proof: { ...sub.proof, points: p } };
    });
    // Member 0 again: the same nullifier, a different payload.
    await w.submit(1n, 0, [5, 2, 0, 0, 0, 0], w.reducers);
    await w.until("every reducer to judge all six submissions", async () => {
      for (const r of w.reducers) {
        const j = await w.jobOf(r);
        const rejected = Object.values(j.rejected as Record<string, number>).reduce((a, b) => a + b, 0);
        if (Number(j.accepted) + rejected !== 6) return false;
      }
      return true;
    });
    expect((await w.jobOf(honest)).rejected).to.deep.equal({ InvalidProofError: 1, NullifierReusedError: 1 });

    const job = await registry.getJob(1n);
    const bond = await registry.proposalBond();
    const address = (r: Reducer) => r.status?.operator as string;
    await w.timeTo(Number(job.collectionDeadline) + 1);
    await w.until("three revealed proposals", async () => (await revealedResults(registry, 1n)).size === 3, 90_000);
    const proposals = await Promise.all([0, 1, 2].map((i) => registry.getProposal(1n, i)));
    const indexOf = (r: Reducer) => proposals.findIndex((p) => p.proposer === address(r));
    expect(proposals.map((p) => Number(p.count)).sort()).to.deep.equal([4, 5, 5]);

    await w.until(
      "the watcher to prove both cheating proposals wrong",
      async () =>
        (await registry.getProposal(1n, indexOf(invalid))).faulted && (await registry.getProposal(1n, indexOf(duplicate))).faulted,
      180_000,
    );
    const faults = await registry.queryFilter(registry.filters.ProposalFaulted(1n));
    const kinds = Object.fromEntries(faults.map((e) => [Number(e.args.index), Number(e.args.kind)]));
    expect(kinds).to.deep.equal({ [indexOf(invalid)]: 8, [indexOf(duplicate)]: 5 }); // SubmissionProof, Order
    const verdicts = await registry.queryFilter(registry.filters.SubmissionFaulted(1n));
    expect(verdicts.map((e) => Number(e.args.verdict))).to.deep.equal([7]); // InvalidProof
    const slashedStake = parseEther("1") / 40n;
    for (const cheat of [invalid, duplicate]) expect(await registry.stakeOf(address(cheat))).to.equal(parseEther("1") - slashedStake);
    expect(await registry.balanceOf(address(honest))).to.equal(2n * ((bond + slashedStake) / 2n));

    await w.timeTo(Number(job.finalizeAfter) + 1);
    await w.until("the job to be finalised", async () => (await registry.getJob(1n)).state === 2n);
    expect((await registry.getProposal(1n, await registry.winningProposal(1n))).proposer).to.equal(address(honest));

    // Job 2 asks for 10 participants and gets 2: every reducer proposes, nothing is released, the reward goes back.
    const spec = JSON.parse(await readFile(specFile, "utf8"));
    const chainNow = (await w.chain.provider.getBlock("latest"))?.timestamp ?? 0;
    const few = path.join(w.work, "few.json");
    // The cheaters lost 2.5% of their 1 ETH stake: a 0.5 ETH minimum lets all three serve it.
    await writeFile(
      few,
      JSON.stringify({ ...spec, minParticipants: 10, minStake: parseEther("0.5").toString(), collectionDeadline: chainNow + 1200 }),
    );
    json(await w.post(few, w.reducers));
    await w.until("every reducer to collect job 2", async () => {
      for (const r of w.reducers) if ((await w.jobOf(r, 2n)).state !== "collecting") return false;
      return true;
    });
    for (let i = 1; i < 3; i++) await w.submit(2n, i, [7, 0, 0, 0, 0, 0], w.reducers);
    await w.until("every reducer to accept both", async () => {
      for (const r of w.reducers) if (Number((await w.jobOf(r, 2n)).accepted) !== 2) return false;
      return true;
    });
    const job2 = await registry.getJob(2n);
    const researcher = (await registry.queryFilter(registry.filters.JobPosted(2n)))[0]?.args.researcher as string;
    const before = await registry.balanceOf(researcher);
    await w.timeTo(Number(job2.collectionDeadline) + 1);
    await w.until("every reducer to be done proposing job 2", async () => {
      for (const r of w.reducers) if ((await w.jobOf(r, 2n)).state !== "below-minimum") return false;
      return true;
    });
    // Below the job's minimum there is nothing to propose: the registry would refuse it, so no reducer commits a bond.
    expect(await registry.proposalCount(2n)).to.equal(0n);
    await w.timeTo(Number(job2.finalizeAfter) + 1);
    await w.until("job 2 to be refunded", async () => (await registry.getJob(2n)).state === 3n);
    expect(await registry.balanceOf(researcher)).to.equal(before + job2.reward);

    /**
     * Restarts the `invalid` reducer as a `misbehaviour` liar, posts job `jobId` (minimum 1), and has every reducer
     * collect and accept `submissions`.
     */
    async function misbehavingJob(
      misbehaviour: "withhold" | "invent",
      jobId: bigint,
      submissions: { member: number; payload: number[] }[],
    ): Promise<void> {
      invalid.child?.kill("SIGTERM");
      expect(await invalid.exit).to.equal(0);
      await w.start(invalid, misbehaviour);
      const now = (await w.chain.provider.getBlock("latest"))?.timestamp ?? 0;
      const file = path.join(w.work, `job-${jobId}.json`);
      const posted = { ...spec, minParticipants: 1, minStake: parseEther("0.5").toString(), collectionDeadline: now + 1200 };
      await writeFile(file, JSON.stringify(posted));
      json(await w.post(file, w.reducers));
      await w.until(`every reducer to collect job ${jobId}`, async () => {
        for (const r of w.reducers) if ((await w.jobOf(r, jobId)).state !== "collecting") return false;
        return true;
      });
      for (const { member, payload } of submissions) await w.submit(jobId, member, payload, w.reducers);
      await w.until(`every reducer to accept job ${jobId}'s submissions`, async () => {
        for (const r of w.reducers) if (Number((await w.jobOf(r, jobId)).accepted) !== submissions.length) return false;
        return true;
      });
    }

    // Job 3: a reducer that withholds its bundle and answers no request is slashed under the data-availability rule.
    await misbehavingJob("withhold", 3n, [{ member: 3, payload: [7, 0, 0, 0, 0, 0] }]);
    const job3 = await registry.getJob(3n);
    await w.timeTo(Number(job3.collectionDeadline) + 1);
    await w.until("three revealed proposals for job 3", async () => (await revealedResults(registry, 3n)).size === 3, 90_000);
    const withheld = (await Promise.all([0, 1, 2].map((i) => registry.getProposal(3n, i)))).findIndex(
      (p) => p.proposer === address(invalid),
    );
    await w.until(
      "the watcher to request the withheld data",
      async () =>
        ((await w.jobOf(honest, 3n)).checked as Array<{ index: number; verdict: string }>).some(
          (v) => v.index === withheld && v.verdict === "requested",
        ),
      90_000,
    );
    const asked = (await registry.queryFilter(registry.filters.DataRequested(3n)))[0]?.args;
    expect(Number(asked?.index)).to.equal(withheld);
    await w.timeTo(Number(asked?.dueAt) + 1);
    await w.until(
      "the unanswered request to be settled as a fault",
      async () => (await registry.getProposal(3n, withheld)).faulted,
      90_000,
    );
    const fault = (await registry.queryFilter(registry.filters.ProposalFaulted(3n)))[0]?.args;
    expect([Number(fault?.kind), fault?.challenger]).to.deep.equal([9, address(honest)]); // Unavailable

    // Job 4: a reducer that invents one leaf, publishes a bundle that is no tree, and answers every request
    // truthfully. It counts one leaf more than the honest ones, so it would win; the watcher walks its leaves through
    // data requests until the invented one is published, and proves its submission wrong (finding 2 of the review).
    await misbehavingJob(
      "invent",
      4n,
      [0, 1, 2].map((i) => ({ member: i, payload: [i, 1, 0, 0, 0, 0] })),
    );
    const job4 = await registry.getJob(4n);
    await w.timeTo(Number(job4.collectionDeadline) + 1);
    await w.until("three revealed proposals for job 4", async () => (await revealedResults(registry, 4n)).size === 3, 90_000);
    const results4 = await revealedResults(registry, 4n);
    const inventor = [...results4.values()].find((r) => r.proposer === address(invalid));
    expect(Number(inventor?.count)).to.equal(4);
    await w.until(
      "the watcher to walk the invented proposal's leaves and prove the made-up one",
      async () => (await registry.getProposal(4n, BigInt(inventor?.index ?? 0))).faulted,
      120_000,
    );
    const fault4 = (await registry.queryFilter(registry.filters.ProposalFaulted(4n)))[0]?.args;
    expect([Number(fault4?.index), Number(fault4?.kind), fault4?.challenger]).to.deep.equal([inventor?.index, 8, address(honest)]); // SubmissionProof
    // The proposal shows as faulted once the challenge is mined, a moment before the watcher's send returns and it
    // records why: wait for the record rather than read it once.
    const reasonOf4 = async () =>
      ((await w.jobOf(honest, 4n)).checked as Array<{ index: number; reason?: string }>).find((v) => v.index === inventor?.index)?.reason;
    await w.until(
      "the watcher to record why it challenged",
      async () => (await reasonOf4())?.startsWith("published leaf") === true,
      30_000,
    );
    expect(await reasonOf4()).to.match(/^published leaf \d+: InvalidProofError/);
    const asked4 = await registry.queryFilter(registry.filters.DataRequested(4n));
    expect(asked4.length, "the walk asked for leaves").to.be.greaterThan(0);
    expect(asked4.every((e) => Number(e.args.index) === inventor?.index && Number(e.args.level) === 0)).to.equal(true);
  });
});
