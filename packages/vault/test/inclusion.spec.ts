// Was my answer counted: checkInclusion against a registry the test plays (its state, winning proposal and
// ResultProposed events) and a real bundle, so the root on-chain is the bundle's own. A leaf with this vault's
// nullifier and CID but another value is "missing" (value altered); the event read starts at the job's posted block.
import { encodeSubmission, type Submission } from "@mosaic/avatar";
import { encodeBundle, type Leaf, reduceTree } from "@mosaic/mapreduce";
import { type Block, getBlock, type JobRegistry, parseCid, type ReducerSpec } from "@mosaic/protocol";
import { expect } from "chai";
import { checkInclusion, type SubmissionRecord } from "../src/index.js";

describe("vault: checkInclusion compares the leaf with what this vault sent", function () {
  this.timeout(30_000);
  const registryAddress = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const SUM: ReducerSpec = { kind: "sum" };
  const nullifier = "123456789";
  const postedBlock = 5_000;

  async function submission(payload: number[], n = nullifier): Promise<Block> {
    const sub: Submission = {
      version: 1,
      job: { chainId: 31337n, registry: registryAddress, jobId: 1n },
      payload,
      proof: {
        merkleTreeDepth: 20,
        merkleTreeRoot: "1",
        message: "1",
        nullifier: n,
        scope: "1",
        points: ["1", "1", "1", "1", "1", "1", "1", "1"],
      },
    };
    return encodeSubmission(sub);
  }

  /** A finalized job whose winning bundle holds `leaves`; queryFilter refuses ranges that start before `postedBlock`. */
  async function world(leaves: Leaf[]) {
    const result = reduceTree(leaves, SUM, 2);
    const bundle = await encodeBundle({
      job: { chain: 31337, registry: registryAddress, id: 1 },
      spec: parseCid("bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74"),
      reducer: SUM,
      payloadLength: 2,
      result,
    });
    const blocks = new Map<string, Uint8Array>([...bundle.blocks, bundle.root].map((b) => [b.cid.toString(), b.bytes]));
    const reads: number[] = [];
    const registry = {
      getJob: async () => ({ state: 2n, finalizeAfter: 0n }),
      winningProposal: async () => 0n,
      getProposal: async () => ({ treeRoot: result.treeRoot, count: BigInt(result.count) }),
      filters: { ResultProposed: (jobId: bigint) => ({ jobId }) },
      queryFilter: async (_filter: unknown, fromBlock: number) => {
        reads.push(fromBlock);
        // As a public RPC does: a log range from block 0 is refused.
        if (fromBlock < postedBlock) throw new Error("query returned more than 10000 results");
        const args = {
          index: 0n,
          proposer: "0x00000000000000000000000000000000000000aa",
          aggregate: result.aggregate.map(BigInt),
          count: BigInt(result.count),
          treeRoot: result.treeRoot,
          bundleCid: bundle.root.cid.toString(),
        };
        return [{ args }];
      },
    } as unknown as JobRegistry;
    const store = {
      async *get(cid: { toString(): string }) {
        const bytes = blocks.get(cid.toString());
        if (bytes === undefined) throw new Error(`no block ${cid}`);
        yield bytes;
      },
    };
    const components = {
      registry,
      getBlock: (cid: Parameters<typeof getBlock>[1], o: { maxBytes: number }) => getBlock(store as never, cid, o),
    };
    return { components, reads };
  }

  const recordOf = (sent: Block): SubmissionRecord => ({
    _id: "k",
    jobKey: "k",
    chainId: "31337",
    registry: registryAddress,
    jobId: "1",
    cid: sent.cid.toString(),
    nullifier,
    submittedAt: 1,
    receipts: [],
  });

  it("counts a leaf with this vault's nullifier, CID and payload, reading events from the job's posted block", async () => {
    const sent = await submission([3, 4]);
    const other = await submission([1, 1], "999999999999");
    const { components, reads } = await world([
      { nullifier, submission: sent.cid.toString(), value: [3, 4] },
      { nullifier: "999999999999", submission: other.cid.toString(), value: [1, 1] },
    ]);
    const verdict = await checkInclusion(components, recordOf(sent), { sent: sent.bytes, fromBlock: async () => postedBlock });
    expect(verdict).to.deep.include({ status: "counted", count: 2 });
    expect(reads).to.deep.equal([postedBlock]);
  });

  it("reports a leaf whose value was replaced as missing (value altered), though its nullifier, CID and path check", async () => {
    const sent = await submission([3, 4]);
    const { components } = await world([{ nullifier, submission: sent.cid.toString(), value: [90, -7] }]);
    const verdict = await checkInclusion(components, recordOf(sent), { sent: sent.bytes, fromBlock: postedBlock });
    expect(verdict.status).to.equal("missing");
    expect((verdict as { reason: string }).reason).to.match(/^value altered: .*\[90,-7\].*\[3,4\]/);
  });
});
