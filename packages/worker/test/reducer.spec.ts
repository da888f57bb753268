// The reducer's collector against real Helia nodes on loopback: hostile input is counted and changes nothing.
import { randomBytes } from "node:crypto";
import { deriveAvatarIdentity, encodeSubmission, Group, MAX_SUBMISSION_BYTES, proveSubmission } from "@mosaic/avatar";
import { kmPerDaySpec } from "@mosaic/mapreduce";
import { type Block, createIpfsNode, encodeBlock, type IpfsNode, type JobRegistry, nodeAddresses, putBlock } from "@mosaic/protocol";
import { expect } from "chai";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { createReducer, type JobState, type Reducer } from "../src/index.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };

describe("reducer collector (real IPFS nodes, real proofs)", () => {
  let reducerNode: IpfsNode;
  let userNode: IpfsNode;
  let reducer: Reducer;
  const identities = [0, 1, 2].map(() => deriveAvatarIdentity(randomBytes(32)));
  const group = new Group(identities.map((i) => i.commitment));
  const spec = kmPerDaySpec({ windowEnd: 1_700_006_400 });
  const state = (): JobState => ({
    job,
    spec,
    groupRoot: group.root,
    collectionDeadline: 0,
    proposalDeadline: 0,
    accepted: new Map(),
    rejected: {},
    announced: 0,
    duplicates: 0,
    seenCids: new Set(),
  });
  const publish = async (block: Block) => {
    await putBlock(userNode.blockstore, block);
    return new TextEncoder().encode(block.cid.toString());
  };

  before(async () => {
    reducerNode = await createIpfsNode();
    userNode = await createIpfsNode({ peers: nodeAddresses(reducerNode) });
    // Collecting needs no chain: the registry is only used to propose.
    reducer = createReducer(
      { ipfs: reducerNode, registry: null as unknown as JobRegistry, chainId: job.chainId, now: async () => 0 },
      { fetchTimeoutMs: 1500 },
    );
  });
  after(async () => {
    await userNode?.stop();
    await reducerNode?.stop();
  });

  it("accepts a valid submission fetched over bitswap, and counts each hostile one under its reason", async () => {
    const s = state();
    const good = await proveSubmission(identities[0]!, group, job, [1, 2, 3, 4, 5, 6, 7]);
    expect(await reducer.handleAnnouncement(s, await publish(await encodeSubmission(good)))).to.equal(true);
    expect(s.accepted.size).to.equal(1);
    const snapshot = JSON.stringify([...s.accepted.entries()]);

    const cases: Array<[string, Uint8Array]> = [];
    // Replay: the same member answers again with another payload (another block, the same nullifier).
    cases.push([
      "NullifierReusedError",
      await publish(await encodeSubmission(await proveSubmission(identities[0]!, group, job, [7, 6, 5, 4, 3, 2, 1]))),
    ]);
    // Not a CID; not UTF-8; longer than any CID.
    cases.push(["MalformedSubmissionError", new TextEncoder().encode("not-a-cid")]);
    cases.push(["MalformedSubmissionError", new Uint8Array([0xff, 0xfe, 0xfd])]);
    cases.push(["MalformedSubmissionError", new Uint8Array(4096).fill(0x61)]);
    // A block that is not dag-cbor of an envelope.
    cases.push(["MalformedSubmissionError", await publish(await encodeBlock({ hello: "world" }))]);
    // Oversized: a raw block larger than the envelope limit.
    const big = randomBytes(MAX_SUBMISSION_BYTES * 4);
    const bigCid = CID.createV1(0x71, await sha256.digest(big));
    cases.push(["SubmissionTooLargeError", await publish({ cid: bigCid, bytes: big })]);
    // Out of bounds payload, correctly proved.
    cases.push([
      "PayloadOutOfBoundsError",
      await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, job, [1, 2, 3, 4, 5, 6, 100_000]))),
    ]);
    // A proof for another job.
    cases.push([
      "WrongJobError",
      await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, { ...job, jobId: 9n }, [1, 2, 3, 4, 5, 6, 7]))),
    ]);
    // A proof against a group the job never fixed.
    const stranger = deriveAvatarIdentity(randomBytes(32));
    const otherGroup = new Group([...identities.map((i) => i.commitment), stranger.commitment]);
    cases.push([
      "UnknownRootError",
      await publish(await encodeSubmission(await proveSubmission(stranger, otherGroup, job, [1, 2, 3, 4, 5, 6, 7]))),
    ]);
    // A CID nobody has: the fetch times out.
    cases.push(["BlockUnavailableError", new TextEncoder().encode((await encodeBlock({ nobody: "has this" })).cid.toString())]);

    for (const [reason, data] of cases) {
      const before = s.rejected[reason as keyof typeof s.rejected] ?? 0;
      expect(await reducer.handleAnnouncement(s, data), reason).to.equal(false);
      expect(s.rejected[reason as keyof typeof s.rejected], reason).to.equal(before + 1);
      expect(JSON.stringify([...s.accepted.entries()]), `${reason} left accepted unchanged`).to.equal(snapshot);
    }
    expect(s.announced).to.equal(cases.length + 1);
    // The very same announcement again is idempotent: ignored, neither accepted nor counted as rejected.
    const rejectedBefore = JSON.stringify(s.rejected);
    expect(await reducer.handleAnnouncement(s, await publish(await encodeSubmission(good)))).to.equal(false);
    expect(s.duplicates).to.equal(1);
    expect(JSON.stringify(s.rejected)).to.equal(rejectedBefore);
    expect(JSON.stringify([...s.accepted.entries()])).to.equal(snapshot);
  });
});
