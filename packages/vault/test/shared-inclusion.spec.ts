// Was my shared answer counted? checkSharedInclusion against share-set bundles an attacker builds freely from what is
// public (the members' real envelopes, the committed roots): a bundle that does not hash to its aggregator's committed
// root is not believed (the other aggregator's is read), a set that leaves this answer out is "missing", a leaf naming
// another member's envelope under this nullifier is caught. The chain's record is played in memory; the envelopes
// carry real Semaphore proofs and Prio3 shares.
import { randomBytes } from "node:crypto";
import { deriveAvatarIdentity, encodeSubmission, Group, nullifierOf, proveSharedSubmission } from "@mosaic/avatar";
import { READY_JOBS, type ShareLeaf, shardReport, shareSetRoot } from "@mosaic/mapreduce";
import { type Block, bigintToBytes32, encodeBlock, type JobRef, SHARED_JOB_ID_BASE, type SharedJobs } from "@mosaic/protocol";
import { x25519 } from "@noble/curves/ed25519";
import { expect } from "chai";
import { checkSharedInclusion, type SubmissionRecord } from "../src/index.js";

describe("vault: checkSharedInclusion against hostile share-set bundles (real envelopes, the chain played)", function () {
  this.timeout(120_000);
  const spec = READY_JOBS["km-per-day"]!({ collectionDeadline: 1_700_006_400, epsilon: { num: 1, den: 1 }, mode: "shared" });
  const registry = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
  const job: JobRef = { chainId: 31337n, registry, jobId: SHARED_JOB_ID_BASE + 1n };
  const aggregators = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"];
  const keys = [0, 1].map(() => x25519.getPublicKey(x25519.utils.randomPrivateKey())) as [Uint8Array, Uint8Array];
  const blocks = new Map<string, Uint8Array>();
  const getBlock = async (cid: { toString(): string }) => {
    const bytes = blocks.get(cid.toString());
    if (bytes === undefined) throw Object.assign(new Error(`no block ${cid}`), { name: "BlockUnavailableError" });
    return bytes;
  };
  const put = async (value: unknown): Promise<Block> => {
    const block = await encodeBlock(value);
    blocks.set(block.cid.toString(), block.bytes);
    return block;
  };
  type Member = ShareLeaf & { cid: string; block: Block };
  const members: Member[] = [];

  before(async () => {
    const identities = [0, 1, 2].map(() => deriveAvatarIdentity(randomBytes(32)));
    const group = new Group(identities.map((i) => i.commitment));
    for (const identity of identities) {
      const nullifier = nullifierOf(identity, job);
      const report = await shardReport({ spec, job, clamped: [7, 0, 0, 0, 0, 0], aggregatorKeys: keys, nullifier });
      const sub = await proveSharedSubmission(identity, group, job, report);
      const block = await encodeSubmission(sub);
      blocks.set(block.cid.toString(), block.bytes);
      members.push({
        nullifier: BigInt(sub.proof.nullifier),
        message: BigInt(sub.proof.message),
        points: sub.proof.points.map((p) => BigInt(p)),
        cid: block.cid.toString(),
        block,
      });
    }
    members.sort((a, b) => (a.nullifier < b.nullifier ? -1 : 1));
  });

  /** A share-set bundle as an aggregator publishes it, of `items` (nullifier, submission CID) under `head`'s fields. */
  async function bundle(aggregator: number, items: { nullifier: bigint; cid: Block["cid"] }[], head: Record<string, unknown> = {}) {
    const chunk = await put({ items: items.map((i) => ({ nullifier: bigintToBytes32(i.nullifier), submission: i.cid })) });
    const root = await put({
      v: 1,
      kind: "share-set",
      job: { chain: 31337, registry, id: job.jobId.toString() },
      aggregator,
      chunks: [chunk.cid],
      ...head,
    });
    return root.cid.toString();
  }

  /** SharedJobs as the chain would answer: the job's state and each aggregator's commitment. */
  function chain(state: bigint, commits: { root: string; count: number; bundleCid: string }[], refundReason = 0n) {
    return {
      getSharedJob: async () => ({ state, refundReason, finalizeAfter: 1_700_010_000n, aggregators }),
      getCommit: async (_: bigint, i: number) => {
        const c = commits[i] as (typeof commits)[number];
        return { shareSetRoot: c.root, count: BigInt(c.count), bundleCid: c.bundleCid };
      },
    } as unknown as SharedJobs;
  }

  const recordOf = (m: Member): SubmissionRecord =>
    ({
      _id: "k",
      jobKey: "k",
      chainId: "31337",
      registry,
      jobId: job.jobId.toString(),
      cid: m.cid,
      nullifier: m.nullifier.toString(),
      submittedAt: 0,
      receipts: [],
    }) as SubmissionRecord;

  const honest = () => members.map((m) => ({ nullifier: m.nullifier, cid: m.block.cid }));

  it("counts a member's answer in the committed set; pending before it is final; refunded with the reason", async () => {
    const root = shareSetRoot(members);
    const commits = [0, 1].map(async (i) => ({ root, count: 3, bundleCid: await bundle(i, honest()) }));
    const final = chain(2n, await Promise.all(commits));
    const me = members[1] as Member;
    expect(await checkSharedInclusion({ sharedJobs: final, getBlock }, recordOf(me))).to.deep.include({
      status: "counted",
      index: 1,
      count: 3,
      treeRoot: root,
      aggregator: aggregators[0],
    });
    expect(await checkSharedInclusion({ sharedJobs: chain(1n, []), getBlock }, recordOf(me))).to.deep.equal({
      status: "pending",
      state: "open",
      finalizeAfter: 1_700_010_000,
    });
    expect(await checkSharedInclusion({ sharedJobs: chain(3n, [], 5n), getBlock }, recordOf(me))).to.deep.equal({
      status: "refunded",
      reason: "share-withheld",
    });
  });

  it("does not believe a bundle that leaves the answer out under the committed root: the other aggregator's counts it", async () => {
    const root = shareSetRoot(members);
    const me = members[0] as Member;
    // Aggregator 0 publishes a bundle without this member, yet committed the honest root: its leaves do not hash to it.
    const short = await bundle(0, honest().slice(1));
    const commits = [
      { root, count: 3, bundleCid: short },
      { root, count: 3, bundleCid: await bundle(1, honest()) },
    ];
    expect(await checkSharedInclusion({ sharedJobs: chain(2n, commits), getBlock }, recordOf(me))).to.deep.include({
      status: "counted",
      index: 0,
      aggregator: aggregators[1],
    });
    // Both lie: nothing checks, and the verdict says why for aggregator 0.
    const both = [commits[0], { root, count: 3, bundleCid: await bundle(1, honest().slice(1)) }] as typeof commits;
    const v = await checkSharedInclusion({ sharedJobs: chain(2n, both), getBlock }, recordOf(me));
    expect(v.status).to.equal("unavailable");
    expect((v as { reason: string }).reason).to.match(/^aggregator 0: ShareSetBundleError: .*not the committed root/);
  });

  it("says missing when the set both committed leaves the answer out, or holds another member's envelope under its nullifier", async () => {
    const me = members[2] as Member;
    const others = members.slice(0, 2);
    const root = shareSetRoot(others);
    const commits = await Promise.all([0, 1].map(async (i) => ({ root, count: 2, bundleCid: await bundle(i, honest().slice(0, 2)) })));
    const left = await checkSharedInclusion({ sharedJobs: chain(2n, commits), getBlock }, recordOf(me));
    expect(left).to.deep.include({ status: "missing", count: 2, treeRoot: root });
    expect((left as { reason: string }).reason).to.match(/no leaf with this submission's nullifier/);
    // This vault's record names another envelope than the one in the set under its nullifier.
    const mine = { ...recordOf(others[0] as Member), cid: me.cid };
    const swapped = await checkSharedInclusion({ sharedJobs: chain(2n, commits), getBlock }, mine);
    expect((swapped as { reason: string }).reason).to.match(/is submission .*, not this vault's/);
  });

  it("refuses a bundle whose item pairs a nullifier with another member's envelope, another job's bundle and a prep bundle", async () => {
    const root = shareSetRoot(members);
    const me = members[0] as Member;
    const forged = honest().map((i, k) => (k === 0 ? { ...i, cid: (members[1] as Member).block.cid } : i));
    const cases: [string, RegExp][] = [
      [await bundle(0, forged), /names a submission of another nullifier/],
      [await bundle(0, honest(), { job: { chain: 31337, registry, id: "7" } }), /not aggregator 0's share set/],
      [await bundle(0, honest(), { kind: "prep" }), /not aggregator 0's share set/],
      [await bundle(1, honest()), /not aggregator 0's share set/],
    ];
    for (const [bundleCid, reason] of cases) {
      const commits = [
        { root, count: 3, bundleCid },
        { root, count: 3, bundleCid: "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" },
      ];
      const v = await checkSharedInclusion({ sharedJobs: chain(2n, commits), getBlock }, recordOf(me));
      expect(v.status, String(reason)).to.equal("unavailable");
      expect((v as { reason: string }).reason).to.match(reason);
    }
  });
});
