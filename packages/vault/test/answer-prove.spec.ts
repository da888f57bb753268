// Proving elsewhere: answerJobWith and answerConfirmed take a `prove` component (a Web Worker's, in the app) and use it
// instead of proving on the calling thread. The proofs here are real: the given prove calls proveSubmission.
import { randomBytes } from "node:crypto";
import { decodeLocalSubmission, deriveAvatarIdentity, Group, proveSubmission, verifySubmission } from "@mosaic/avatar";
import { kmPerDayJob } from "@mosaic/mapreduce";
import { type Block, type JobRef, signReceipt } from "@mosaic/protocol";
import { expect } from "chai";
import { Wallet } from "ethers";
import { expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  answerConfirmed,
  answerJobWith,
  type HandOver,
  type PreparedJob,
  type ProveSubmission,
  submissionOf,
  jobKey,
  Vault,
} from "../src/index.js";

describe("vault: answering with the caller's prove", function () {
  this.timeout(120_000);
  const deadline = 1_700_006_400;
  const spec = kmPerDayJob({ collectionDeadline: deadline, epsilon: { num: 1, den: 1 } });
  const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const job: JobRef = { chainId: 31337n, registry, jobId: 1n };
  const peers = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWA"];

  async function consentedVault(): Promise<{ vault: Vault; group: Group }> {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    await vault.addLocations([
      { t: deadline - 3600, lat: 0, lon: 0 },
      { t: deadline - 1800, lat: 0, lon: 0.1 },
    ]);
    await vault.consent(spec, await vault.review(spec, job));
    return { vault, group: new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]) };
  }

  /** A prove that counts its calls and what it was handed, and proves for real. */
  function countingProve() {
    const calls: { identity: bigint; root: bigint; job: JobRef; payload: number[] }[] = [];
    const prove: ProveSubmission = async (identity, group, j, payload) => {
      calls.push({ identity: identity.commitment, root: group.root, job: j, payload });
      return proveSubmission(identity, group, j, payload);
    };
    return { calls, prove };
  }

  it("answerJobWith proves through the given prove, once, with the vault's avatar, the group, the job and the consented payload", async () => {
    const { vault, group } = await consentedVault();
    const { calls, prove } = countingProve();
    const sent: Block[] = [];
    const result = await answerJobWith(
      {
        publish: async (block) => {
          sent.push(block);
        },
        prove,
      },
      vault,
      job,
      group,
      { peers, collectionDeadline: deadline, now: deadline - 3600, random: () => 0 },
    );
    const payload = vault.consents()[0]?.payload ?? [];
    expect(calls).to.deep.equal([{ identity: vault.avatar.commitment, root: group.root, job, payload }]);
    expect(sent).to.have.length(1);
    const submission = decodeLocalSubmission(result.block.bytes);
    await verifySubmission(submission, {
      job,
      groupRoot: group.root,
      bounds: { length: submission.payload.length, min: submission.payload, max: submission.payload },
      seenNullifiers: new Set(),
    });
  });

  it("answerConfirmed threads prove through, and a prove that fails sends nothing and records nothing", async () => {
    const operator = Wallet.createRandom();
    const handOver: HandOver = async (block, ask) =>
      Promise.all(
        ask.map(async (peer) => ({
          peer,
          receipt: await signReceipt(operator, { chainId: "31337", registry, jobId: "1", cid: block.cid.toString(), receivedAt: 1 }),
        })),
      );
    const components = { handOver, stakedOperators: async () => new Set([operator.address.toLowerCase()]) };
    const posted = { collectionDeadline: deadline } as PreparedJob["posted"];

    const failing = await consentedVault();
    let asked = 0;
    const broken: ProveSubmission = async () => {
      asked++;
      throw new Error("the worker died");
    };
    const prepFailing: PreparedJob = { job, posted, spec, group: failing.group, now: deadline - 3600 };
    await expectRejects(
      answerConfirmed({ ...components, prove: broken }, failing.vault, prepFailing, {
        peers,
        now: deadline - 3600,
        maxDelayMs: 0,
        clock: () => 0,
      }),
      Error,
      /the worker died/,
    );
    expect(asked).to.equal(1);
    expect(failing.vault.audit()).to.deep.equal([]);
    expect(submissionOf(failing.vault, jobKey(job))).to.equal(undefined);

    const { vault, group } = await consentedVault();
    const { calls, prove } = countingProve();
    const prep: PreparedJob = { job, posted, spec, group, now: deadline - 3600 };
    const { answer, receipts } = await answerConfirmed({ ...components, prove }, vault, prep, {
      peers,
      now: deadline - 3600,
      maxDelayMs: 0,
      clock: () => 0,
    });
    expect(calls).to.have.length(1);
    expect(receipts.complete).to.equal(true);
    expect(submissionOf(vault, jobKey(job))?.cid).to.equal(answer.block.cid.toString());
  });
});
