// Answering with receipts, through a transport the test plays: what is recorded in the vault as the answer leaves, which
// receipts are kept (signed by a staked operator, for this job and CID) and which are refused and never stored.
import { randomBytes } from "node:crypto";
import { decodeSubmission, deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { kmPerDayJob } from "@mosaic/mapreduce";
import { type Block, fromHex, type JobRef, type SubmissionReceipt, signReceipt, specCidOf } from "@mosaic/protocol";
import { expect } from "chai";
import { Wallet } from "ethers";
import { memoryStores } from "../../../test/helpers.js";
import {
  answerConfirmed,
  collectReceipts,
  type HandOver,
  type HandOverOutcome,
  type JobBoardComponents,
  jobKey,
  type PreparedJob,
  prepareJob,
  recordSubmission,
  resendSubmission,
  submissionOf,
  submissionRecords,
  Vault,
} from "../src/index.js";

describe("vault: answering with signed receipts (the transport played by the test)", function () {
  this.timeout(60_000);
  const deadline = 1_700_006_400;
  const spec = kmPerDayJob({ collectionDeadline: deadline, epsilon: { num: 1, den: 1 } });
  const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const job: JobRef = { chainId: 31337n, registry, jobId: 1n };
  const operatorA = Wallet.createRandom();
  const operatorB = Wallet.createRandom();
  const outsider = Wallet.createRandom();
  const staked = new Set([operatorA.address.toLowerCase(), operatorB.address.toLowerCase()]);
  const peers = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWA", "/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWB"];

  const receipt = (
    signer: Pick<Wallet, "getAddress" | "signMessage">,
    cid: string,
    over: Partial<{ jobId: string; chainId: string }> = {},
  ) => signReceipt(signer, { chainId: over.chainId ?? "31337", registry, jobId: over.jobId ?? "1", cid, receivedAt: 1_700_000_000_000 });

  async function prepared(): Promise<{ vault: Vault; prep: PreparedJob }> {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    await vault.addLocations([
      { t: deadline - 3600, lat: 0, lon: 0 },
      { t: deadline - 1800, lat: 0, lon: 0.1 },
    ]);
    const group = new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
    await vault.consent(spec, await vault.review(spec, job));
    const posted = { collectionDeadline: deadline } as PreparedJob["posted"];
    return { vault, prep: { job, posted, spec, group, now: deadline - 3600 } };
  }

  /** Plays the reducers: round r answers with `rounds[r](cid, peer)` for each peer asked; records what was asked. */
  function reducers(rounds: Array<(cid: string, peer: string) => Promise<HandOverOutcome>>) {
    const asked: string[][] = [];
    const handOver: HandOver = async (block: Block, ask) => {
      const play = rounds[Math.min(asked.length, rounds.length - 1)] as (typeof rounds)[number];
      asked.push([...ask]);
      return Promise.all(ask.map((peer) => play(block.cid.toString(), peer)));
    };
    return { asked, components: { handOver, stakedOperators: async () => staked } };
  }

  it("records the CID and nullifier as the answer leaves, keeps the staked operator's receipt and refuses an outsider's", async () => {
    const { vault, prep } = await prepared();
    const { asked, components } = reducers([
      async (cid, peer) => ({ peer, receipt: await receipt(peer === peers[0] ? operatorA : outsider, cid) }),
    ]);
    const { answer, receipts } = await answerConfirmed(components, vault, prep, { peers, now: prep.now, maxDelayMs: 0, clock: () => 0 });

    const record = submissionOf(vault, jobKey(job));
    expect(record?.cid).to.equal(answer.block.cid.toString());
    expect(record?.nullifier).to.equal(decodeSubmission(answer.block.bytes).proof.nullifier.toString());
    expect(record?.receipts.map((r) => r.operator)).to.deep.equal([operatorA.address]);
    expect(receipts.complete).to.equal(true);
    expect(receipts.refused.map((r) => [r.peer, r.error, r.operator])).to.deep.equal([[peers[1], "ForgedReceiptError", outsider.address]]);
    expect(asked).to.deep.equal([peers]);
    expect(vault.audit()).to.have.length(1);
  });

  it("refuses a receipt copied from another job, and one naming an operator who did not sign it; asks again until a good one", async () => {
    const { vault, prep } = await prepared();
    const copied = async (cid: string, peer: string): Promise<HandOverOutcome> => ({
      peer,
      receipt: await receipt(operatorA, cid, { jobId: "2" }),
    });
    const impostor = async (cid: string, peer: string): Promise<HandOverOutcome> => {
      const genuine = await receipt(operatorB, cid);
      return { peer, receipt: { ...genuine, operator: operatorA.address } };
    };
    const { asked, components } = reducers([
      copied,
      impostor,
      async (cid, peer) =>
        peer === peers[1] ? { peer, receipt: await receipt(operatorB, cid) } : { peer, error: new Error("dial failed") },
    ]);
    const { receipts } = await answerConfirmed(components, vault, prep, {
      peers,
      now: prep.now,
      maxDelayMs: 0,
      firstBackoffMs: 1,
      clock: () => 0,
    });
    expect(receipts.complete).to.equal(true);
    expect(receipts.rounds).to.equal(3);
    expect(asked).to.deep.equal([peers, peers, peers]);
    expect(receipts.refused.map((r) => `${r.round}:${r.error}`)).to.deep.equal([
      "1:WrongReceiptError",
      "1:WrongReceiptError",
      "2:ForgedReceiptError",
      "2:ForgedReceiptError",
      "3:Error",
    ]);
    expect(submissionOf(vault, jobKey(job))?.receipts.map((r) => r.operator)).to.deep.equal([operatorB.address]);
  });

  it("stops at the deadline with too few receipts: complete is false, the answer stays recorded, nothing forged is kept", async () => {
    const { vault, prep } = await prepared();
    let now = 0;
    const { asked, components } = reducers([async (cid, peer) => ({ peer, receipt: await receipt(outsider, cid) })]);
    const { receipts } = await answerConfirmed(components, vault, prep, {
      peers,
      now: deadline - 1,
      maxDelayMs: 0,
      firstBackoffMs: 400,
      clock: () => (now += 300),
    });
    expect(receipts.complete).to.equal(false);
    expect(asked.length).to.be.greaterThan(0);
    expect(submissionRecords(vault)).to.have.length(1);
    expect(submissionRecords(vault)[0]?.receipts).to.deep.equal([]);

    // Later (a reducer back up), the same bytes are handed over again, from the audit log: nothing new leaves.
    const sent: Block[] = [];
    const later: HandOver = async (block, ask) => {
      sent.push(block);
      return Promise.all(ask.map(async (peer) => ({ peer, receipt: await receipt(operatorA, block.cid.toString()) })));
    };
    const again = await resendSubmission({ handOver: later, stakedOperators: async () => staked }, vault, job, {
      peers,
      until: Date.now() + 60_000,
    });
    expect(again.complete).to.equal(true);
    expect(again.record.receipts.map((r) => r.operator)).to.deep.equal([operatorA.address]);
    expect(sent[0]?.cid.toString()).to.equal(submissionRecords(vault)[0]?.cid);
    expect(sent[0]?.bytes).to.deep.equal(fromHex(vault.audit()[0]?.bytes as string));
    expect(vault.audit()).to.have.length(1);
  });

  it("stopped while it waits to send: nothing is recorded, nothing handed over, and the consent can be withdrawn", async () => {
    const { vault, prep } = await prepared();
    const { asked, components } = reducers([async (cid, peer) => ({ peer, receipt: await receipt(operatorA, cid) })]);
    const stop = new AbortController();
    const answering = answerConfirmed(components, vault, prep, {
      peers,
      now: prep.now,
      maxDelayMs: 60_000,
      random: (bound) => bound - 1,
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(new Error("stopped")), 200);
    let caught: unknown;
    await answering.catch((err) => (caught = err));
    expect((caught as Error)?.message).to.equal("stopped");
    expect(asked).to.deep.equal([]);
    expect(submissionRecords(vault)).to.deep.equal([]);
    expect(vault.audit()).to.deep.equal([]);
    await vault.withdraw(jobKey(job));
    expect(vault.budget().entries.filter((e) => e.state !== "released")).to.deep.equal([]);
  });

  it("resends nothing for a job this vault did not answer: NoSubmissionError", async () => {
    const { vault } = await prepared();
    const { components } = reducers([async (cid, peer) => ({ peer, receipt: await receipt(operatorA, cid) })]);
    let caught: unknown;
    await resendSubmission(components, vault, job, { peers, until: Date.now() + 1000 }).catch((err) => (caught = err));
    expect((caught as Error)?.name).to.equal("NoSubmissionError");
    expect(submissionRecords(vault)).to.deep.equal([]);
  });

  it("counts a directory peer only for its record's operator: other staked keys, one per resend, never add up", async () => {
    const { vault, prep } = await prepared();
    const [peer] = peers as [string];
    const keys = Array.from({ length: 4 }, () => Wallet.createRandom());
    // Every key is staked (the reducer staked each with a little), but the peer's record names operatorA.
    const all = new Set([...keys.map((k) => k.address.toLowerCase()), operatorA.address.toLowerCase()]);
    let round = 0;
    const handOver: HandOver = async (block, ask) =>
      Promise.all(
        ask.map(async (p) => ({
          peer: p,
          receipt: await receipt(keys[round++ % keys.length] as (typeof keys)[number], block.cid.toString()),
        })),
      );
    const components = { handOver, stakedOperators: async () => all };
    const operators = new Map([[peer, operatorA.address]]);
    const first = await answerConfirmed(components, vault, prep, {
      peers: [peer],
      operators,
      now: deadline - 1,
      maxDelayMs: 0,
      clock: () => 0,
    });
    expect(first.receipts.complete).to.equal(false);
    expect(first.receipts.refused.map((r) => r.error)).to.deep.equal(["NotPeerOperatorError"]);
    for (let i = 0; i < 3; i++) {
      const again = await resendSubmission(components, vault, job, { peers: [peer], operators, minReceipts: 2, until: 1, clock: () => 0 });
      expect(again.complete).to.equal(false);
      expect(again.refused.map((r) => r.error)).to.deep.equal(["NotPeerOperatorError"]);
    }
    expect(round).to.equal(4);
    expect(submissionOf(vault, jobKey(job))?.receipts).to.deep.equal([]);
    // The record's own operator does count.
    const own: HandOver = async (block, ask) =>
      Promise.all(ask.map(async (p) => ({ peer: p, receipt: await receipt(operatorA, block.cid.toString()) })));
    const good = await resendSubmission({ handOver: own, stakedOperators: async () => all }, vault, job, {
      peers: [peer],
      operators,
      until: 1,
      clock: () => 0,
    });
    expect(good.record.receipts.map((r) => r.operator)).to.deep.equal([operatorA.address]);
  });

  it("counts only operators with the job's minStake: a 1-wei operator's receipt is refused", async () => {
    const { vault, prep } = await prepared();
    const stakes = new Map([
      [operatorA.address.toLowerCase(), 1n],
      [operatorB.address.toLowerCase(), 10n],
    ]);
    const asked: (bigint | undefined)[] = [];
    const handOver: HandOver = async (block, ask) =>
      Promise.all(
        ask.map(async (p) => ({ peer: p, receipt: await receipt(p === peers[0] ? operatorA : operatorB, block.cid.toString()) })),
      );
    const stakedOperators = async (addresses: readonly string[], o: { minStake?: bigint }) => {
      asked.push(o.minStake);
      return new Set(addresses.map((a) => a.toLowerCase()).filter((a) => (stakes.get(a) ?? 0n) >= (o.minStake ?? 1n)));
    };
    const posted = { ...prep.posted, minStake: 10n };
    const { receipts } = await answerConfirmed(
      { handOver, stakedOperators },
      vault,
      { ...prep, posted },
      {
        peers,
        now: deadline - 1,
        maxDelayMs: 0,
        minReceipts: 2,
        clock: () => 0,
      },
    );
    expect(asked).to.deep.equal([10n]);
    expect(receipts.record.receipts.map((r) => r.operator)).to.deep.equal([operatorB.address]);
    expect(receipts.refused.map((r) => [r.peer, r.error])).to.deep.equal([[peers[0], "ForgedReceiptError"]]);
  });

  it("tells a reset chain's job from the one it answered: StaleJobRecordError when the chain's job has another spec", async () => {
    const { vault, prep } = await prepared();
    const answeredDigest = `0x${"11".repeat(32)}`;
    const posted = { ...prep.posted, specCid: specCidOf(answeredDigest).toString() };
    const { components } = reducers([async (cid, peer) => ({ peer, receipt: await receipt(operatorA, cid) })]);
    await answerConfirmed(components, vault, { ...prep, posted }, { peers, now: deadline - 1, maxDelayMs: 0, clock: () => 0 });
    expect(submissionOf(vault, jobKey(job))?.specCid).to.equal(posted.specCid);
    // The registry as a re-run devnet has it: the same chain id, address and job id, another job.
    const board = (specDigest: string) => {
      const chainRegistry = {
        jobCount: async () => 1n,
        getAddress: async () => registry,
        runner: { provider: { getBlockNumber: async () => 10 } },
        filters: { JobPosted: () => ({}) },
        queryFilter: async () => [{ args: { jobId: 1n, groupId: 1n }, blockNumber: 3 }],
        getJob: async () => ({ specDigest, state: 1n, groupRoot: 0n, groupSize: 2n, collectionDeadline: BigInt(deadline) }),
      };
      return { registry: chainRegistry, chainId: 31337n, now: async () => deadline - 100 } as unknown as JobBoardComponents;
    };
    const caught = await prepareJob(board(`0x${"22".repeat(32)}`), vault, 1n).catch((err: Error) => err);
    expect((caught as Error).name).to.equal("StaleJobRecordError");
    expect((caught as Error).message).to.match(/the chain was reset/);
    const same = await prepareJob(board(answeredDigest), vault, 1n).catch((err: Error) => err);
    expect((same as Error).name).to.equal("AlreadySubmittedError");
    expect(submissionRecords(vault)).to.have.length(1);
  });

  it("wants receipts from distinct operators: two from one operator count once", async () => {
    const { vault, prep } = await prepared();
    const block = {
      cid: (await import("@mosaic/protocol")).parseCid("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
      bytes: new Uint8Array(),
    };
    await recordSubmission(vault, job, { cid: block.cid.toString(), nullifier: 7n, submittedAt: 1 });
    const { components } = reducers([async (cid, peer) => ({ peer, receipt: await receipt(operatorA, cid) })]);
    const result = await collectReceipts(components, vault, prep.job, block, { peers, minReceipts: 2, until: 1, clock: () => 0 });
    expect(result.complete).to.equal(false);
    expect(result.record.receipts.map((r: SubmissionReceipt) => r.operator)).to.deep.equal([operatorA.address]);
  });
});
