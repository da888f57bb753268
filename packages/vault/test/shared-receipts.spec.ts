// Receipts for a shared-mode answer, through a transport the test plays: only the job's two aggregators' receipts
// count (another staked operator's is NotAggregatorError, reported and never stored), and they must name the SharedJobs
// address the job is on. Real Semaphore proof and Prio3 shares; no network.
import { randomBytes } from "node:crypto";
import { decodeSubmission, deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { READY_JOBS } from "@mosaic/mapreduce";
import { type Block, type JobRef, SHARED_JOB_ID_BASE, signReceipt } from "@mosaic/protocol";
import { x25519 } from "@noble/curves/ed25519";
import { expect } from "chai";
import { Wallet } from "ethers";
import { memoryStores } from "../../../test/helpers.js";
import {
  answerConfirmed,
  type HandOver,
  type HandOverOutcome,
  jobKey,
  type PreparedJob,
  reviewJob,
  submissionOf,
  Vault,
} from "../src/index.js";

describe("vault: a shared-mode answer's receipts (the transport played by the test)", function () {
  this.timeout(120_000);
  const deadline = 1_700_006_400;
  const spec = READY_JOBS["km-per-day"]!({ collectionDeadline: deadline, epsilon: { num: 1, den: 1 }, mode: "shared" });
  const sharedJobs = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
  const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const job: JobRef = { chainId: 31337n, registry: sharedJobs, jobId: SHARED_JOB_ID_BASE + 1n };
  const leader = Wallet.createRandom();
  const helper = Wallet.createRandom();
  const bystander = Wallet.createRandom();
  // All three are staked: the bystander could propose for any JobRegistry job, but holds no share of this one.
  const staked = new Set([leader, helper, bystander].map((w) => w.address.toLowerCase()));
  const peers = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWA", "/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWB", "/ip4/127.0.0.1/tcp/4003/p2p/12D3KooWC"];
  const keys = [0, 1].map(() => x25519.getPublicKey(x25519.utils.randomPrivateKey())) as [Uint8Array, Uint8Array];

  async function prepared(): Promise<{ vault: Vault; prep: PreparedJob }> {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    await vault.addLocations([
      { t: deadline - 3600, lat: 0, lon: 0 },
      { t: deadline - 1800, lat: 0, lon: 0.1 },
    ]);
    const group = new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
    const posted = {
      jobId: job.jobId,
      collectionDeadline: deadline,
      minStake: 1n,
      specCid: "bafyreib4pff766vhpbxbhjbqqnsh5emeznvujayjj4z2iu533cprgbz23m",
      shared: {
        address: sharedJobs,
        aggregators: [leader.address, helper.address],
        aggregatorKeys: keys,
        commitDeadline: deadline + 60,
        record: {} as never,
      },
    } as unknown as PreparedJob["posted"];
    const prep: PreparedJob = { job, posted, spec, group, now: deadline - 3600 };
    await vault.consent(spec, await reviewJob(vault, prep));
    return { vault, prep };
  }

  const receipt = (signer: Pick<Wallet, "getAddress" | "signMessage">, cid: string, at = sharedJobs) =>
    signReceipt(signer, { chainId: "31337", registry: at, jobId: job.jobId.toString(), cid, receivedAt: 1_700_000_000_000 });

  it("keeps both aggregators' receipts, refuses a bystander operator's (NotAggregatorError) and one naming JobRegistry", async () => {
    const { vault, prep } = await prepared();
    let round = 0;
    const handOver: HandOver = async (block: Block, ask) => {
      round++;
      const cid = block.cid.toString();
      return Promise.all(
        ask.map(async (peer): Promise<HandOverOutcome> => {
          // Round 1: the helper's receipt names the JobRegistry, not the contract the job is on; round 2 it is right.
          if (peer === peers[0]) return { peer, receipt: await receipt(leader, cid) };
          if (peer === peers[1]) return { peer, receipt: await receipt(helper, cid, round === 1 ? registry : sharedJobs) };
          return { peer, receipt: await receipt(bystander, cid) };
        }),
      );
    };
    const { answer, receipts } = await answerConfirmed({ handOver, stakedOperators: async () => staked }, vault, prep, {
      peers,
      now: prep.now,
      maxDelayMs: 0,
      minReceipts: 2,
      firstBackoffMs: 1,
      clock: () => 0,
    });
    expect(decodeSubmission(answer.block.bytes).version).to.equal(2);
    expect(receipts.complete).to.equal(true);
    const record = submissionOf(vault, jobKey(job));
    expect(record?.registry).to.equal(sharedJobs);
    expect(record?.receipts.map((r) => r.operator).sort()).to.deep.equal([leader.address, helper.address].sort());
    const refused = receipts.refused.map((r) => [r.round, r.peer, r.error]);
    expect(refused).to.deep.include.members([
      [1, peers[1], "WrongReceiptError"],
      [1, peers[2], "NotAggregatorError"],
      [2, peers[2], "NotAggregatorError"],
    ]);
    expect(receipts.refused.find((r) => r.error === "NotAggregatorError")?.message).to.match(/not one of job s1's aggregators/);
  });
});
