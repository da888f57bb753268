// A job session against real Helia nodes on loopback and real proofs through the batch verifier: hostile input is
// journalled under its reason and changes nothing else; the journal replays to the same state.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type BatchVerifier,
  createBatchVerifier,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  MAX_SUBMISSION_BYTES,
  proveSubmission,
  type Submission,
} from "@mosaic/avatar";
import { boundsHash, edgesHash, encodeSpec, kmPerDayJob, reduceParams } from "@mosaic/mapreduce";
import {
  type Block,
  createIpfsNode,
  createLogger,
  encodeBlock,
  type IpfsNode,
  type JobRegistry,
  nodeAddresses,
  putBlock,
  specDigestOf,
} from "@mosaic/protocol";
import { expect } from "chai";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { type ChainJob, checkSpecMatchesJob, Journal, JobRefusedError, JobSession, type ReducerHooks } from "../src/index.js";

const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const job = { chainId: 31337n, registry, jobId: 1n };

describe("reducer job session (real IPFS nodes, real proofs, batch verifier)", () => {
  let reducerNode: IpfsNode;
  let userNode: IpfsNode;
  let verifier: BatchVerifier;
  let dir: string;
  const identities = [0, 1, 2, 3].map(() => deriveAvatarIdentity(randomBytes(32)));
  const group = new Group(identities.map((i) => i.commitment));
  const spec = kmPerDayJob({ collectionDeadline: 1_700_006_400 });
  let chainJob: ChainJob;
  const publish = async (block: Block) => {
    await putBlock(userNode.blockstore, block);
    return new TextEncoder().encode(block.cid.toString());
  };
  const session = (journal: Journal, hooks?: ReducerHooks) =>
    new JobSession(
      {
        ipfs: reducerNode,
        // Collecting reads the job once; proposing is covered end to end in test/e2e/reducers.spec.ts.
        registry: { getJob: async () => chainJob } as unknown as JobRegistry,
        chainId: job.chainId,
        registryAddress: registry,
        operator: "0x0000000000000000000000000000000000000001",
        verifier,
        log: createLogger("test", "error"),
      },
      job.jobId,
      journal,
      { fetchTimeoutMs: 1500, batchSize: 4, batchWaitMs: 50, hooks },
    );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-session-"));
    reducerNode = await createIpfsNode();
    userNode = await createIpfsNode({ peers: nodeAddresses(reducerNode) });
    verifier = createBatchVerifier({ threads: 1, batchSize: 4 });
    await verifier.start();
    const specBlock = await encodeSpec(spec);
    await putBlock(userNode.blockstore, specBlock);
    chainJob = {
      specDigest: specDigestOf(specBlock.cid),
      groupRoot: group.root,
      reward: BigInt(spec.reward),
      minStake: BigInt(spec.minStake),
      collectionDeadline: BigInt(spec.collectionDeadline),
      proposalDeadline: BigInt(spec.collectionDeadline + spec.challengeWindow),
      finalizeAfter: BigInt(spec.collectionDeadline + 2 * spec.challengeWindow),
      kind: BigInt(reduceParams(spec).kind),
      payloadLength: BigInt(spec.output.entries.length),
      edgesHash: edgesHash([]),
      boundsHash: boundsHash(reduceParams(spec)),
      minParticipants: BigInt(spec.minParticipants),
      state: 1n,
    };
  });
  after(async () => {
    await verifier?.stop();
    await userNode?.stop();
    await reducerNode?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts valid submissions, journals each hostile one under its reason, and replays the journal to the same state", async () => {
    const file = path.join(dir, "journal.jsonl");
    const journal = Journal.open(file);
    const s = session(journal);
    await s.open();
    const payload = [7, 0, 0, 0, 0, 0];
    const good = await proveSubmission(identities[0]!, group, job, payload);
    s.announce(await publish(await encodeSubmission(good)));
    await s.drain();
    expect(journal.state.accepted.size).to.equal(1);
    const snapshot = JSON.stringify([...journal.state.accepted.entries()]);

    const cases: Array<[string, Uint8Array]> = [];
    // Replay: the same member answers again with another payload (another block, the same nullifier).
    cases.push([
      "NullifierReusedError",
      await publish(await encodeSubmission(await proveSubmission(identities[0]!, group, job, [0, 7, 0, 0, 0, 0]))),
    ]);
    // A block that is not dag-cbor of an envelope.
    cases.push(["MalformedSubmissionError", await publish(await encodeBlock({ hello: "world" }))]);
    // Oversized: a raw block larger than the envelope limit.
    const big = randomBytes(MAX_SUBMISSION_BYTES * 4);
    cases.push(["SubmissionTooLargeError", await publish({ cid: CID.createV1(0x71, await sha256.digest(big)), bytes: big })]);
    // Out of bounds, correctly proved.
    cases.push([
      "PayloadOutOfBoundsError",
      await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, job, [1, 2, 3, 4, 5, 100_000]))),
    ]);
    // A proof for another job.
    cases.push([
      "WrongJobError",
      await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, { ...job, jobId: 9n }, payload))),
    ]);
    // A proof against a group the job never fixed.
    const stranger = deriveAvatarIdentity(randomBytes(32));
    const otherGroup = new Group([...identities.map((i) => i.commitment), stranger.commitment]);
    cases.push(["UnknownRootError", await publish(await encodeSubmission(await proveSubmission(stranger, otherGroup, job, payload)))]);
    // A tampered proof: everything checks but the pairing, which the batch verifier catches.
    const honest = await proveSubmission(identities[2]!, group, job, payload);
    const points = [...honest.proof.points] as Submission["proof"]["points"];
    points[0] = points[2];
    cases.push(["InvalidProofError", await publish(await encodeSubmission({ ...honest, proof: { ...honest.proof, points } }))]);
    // A CID nobody has: the fetch times out.
    cases.push(["BlockUnavailableError", new TextEncoder().encode((await encodeBlock({ nobody: "has this" })).cid.toString())]);

    for (const [reason, data] of cases) {
      const before = journal.state.rejected[reason as keyof typeof journal.state.rejected] ?? 0;
      s.announce(data);
      await s.drain();
      expect(journal.state.rejected[reason as keyof typeof journal.state.rejected], reason).to.equal(before + 1);
      expect(JSON.stringify([...journal.state.accepted.entries()]), `${reason} left accepted unchanged`).to.equal(snapshot);
    }
    // Not a CID, not UTF-8, longer than any CID: refused before anything is journalled.
    const lines = journal.state.announced.size;
    for (const data of [new TextEncoder().encode("not-a-cid"), new Uint8Array([0xff, 0xfe]), new Uint8Array(4096).fill(0x61)])
      s.announce(data);
    expect(journal.state.announced.size).to.equal(lines);
    // The very same announcement again is idempotent: ignored, neither accepted nor rejected.
    const rejectedBefore = JSON.stringify(journal.state.rejected);
    s.announce(await publish(await encodeSubmission(good)));
    await s.drain();
    expect(s.duplicates).to.equal(1);
    expect(JSON.stringify(journal.state.rejected)).to.equal(rejectedBefore);

    // A second valid answer from another member, then the journal replays to the same state.
    s.announce(await publish(await encodeSubmission(await proveSubmission(identities[3]!, group, job, [0, 0, 7, 0, 0, 0]))));
    await s.drain();
    expect(journal.state.accepted.size).to.equal(2);
    const result = s.reduce();
    s.close();
    const replayed = Journal.open(file);
    expect([...replayed.state.accepted.entries()]).to.deep.equal([...journal.state.accepted.entries()]);
    expect(replayed.state.rejected).to.deep.equal(journal.state.rejected);
    expect(replayed.state.pending.size).to.equal(0);
    const again = session(replayed);
    await again.open();
    expect(again.reduce().treeRoot).to.equal(result.treeRoot);
    expect(result.aggregate).to.deep.equal([7, 0, 7, 0, 0, 0]);
    again.close();
  });

  it("takes a submission announced under its raw-codec CID as its dag-cbor CID: the other forms are duplicates, the tree reduces", async () => {
    const journal = Journal.open(path.join(dir, "raw-cid.jsonl"));
    const s = session(journal);
    await s.open();
    const block = await encodeSubmission(await proveSubmission(identities[0]!, group, job, [3, 0, 0, 0, 0, 0]));
    await publish(block);
    const raw = CID.createV1(0x55, block.cid.multihash);
    expect(raw.toString()).to.match(/^bafkrei/);
    s.announce(new TextEncoder().encode(raw.toString()));
    await s.drain();
    expect([...journal.state.accepted.values()].map((a) => a.cid)).to.deep.equal([block.cid.toString()]);
    // The dag-cbor CID itself and the CIDv0 of the same bytes are the same submission: duplicates.
    s.announce(new TextEncoder().encode(block.cid.toString()));
    s.announce(new TextEncoder().encode(CID.createV0(block.cid.multihash as Parameters<typeof CID.createV0>[0]).toString()));
    await s.drain();
    expect(s.duplicates).to.equal(2);
    expect(journal.state.announced.size).to.equal(1);
    // An identity CID (its "block" inside it) and another hash function are refused before anything is journalled.
    const { identity } = await import("multiformats/hashes/identity");
    const inline = CID.createV1(0x71, identity.digest(block.bytes.slice(0, 40)));
    s.announce(new TextEncoder().encode(inline.toString()));
    const { sha512 } = await import("multiformats/hashes/sha2");
    s.announce(new TextEncoder().encode(CID.createV1(0x71, await sha512.digest(block.bytes)).toString()));
    await s.drain();
    expect(journal.state.announced.size).to.equal(1);
    expect(journal.state.accepted.size).to.equal(1);
    // Reducing reads every leaf's CID as dag-cbor sha2-256: it threw on the raw CID before.
    const result = s.reduce();
    expect(result.count).to.equal(1);
    expect(result.leaves.map((l) => l.submission)).to.deep.equal([block.cid.toString()]);
    expect((await s.bundle(result)).root.cid.toString()).to.match(/^bafyrei/);
    s.close();
  });

  it("takes hooks from its constructor only: they hear of refusals and may accept a failing proof; without them it is honest", async () => {
    const file = path.join(dir, "hooks.jsonl");
    const refused: string[] = [];
    const hooks: ReducerHooks = {
      refused: (_submission, reason) => refused.push(reason),
      acceptInvalidProof: () => true,
      answerRequests: () => false,
    };
    const cheat = session(Journal.open(file), hooks);
    await cheat.open();
    const payload = [1, 0, 0, 0, 0, 0];
    cheat.announce(await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, job, payload))));
    await cheat.drain();
    cheat.announce(await publish(await encodeSubmission(await proveSubmission(identities[1]!, group, job, [0, 1, 0, 0, 0, 0]))));
    const tampered = await proveSubmission(identities[2]!, group, job, payload);
    const points = [...tampered.proof.points] as Submission["proof"]["points"];
    points[0] = points[2];
    cheat.announce(await publish(await encodeSubmission({ ...tampered, proof: { ...tampered.proof, points } })));
    await cheat.drain();
    expect(refused).to.deep.equal(["NullifierReusedError"]);
    expect(cheat.journal.state.accepted.size, "the failing proof accepted by the hook").to.equal(2);
    expect(cheat.answersRequests()).to.equal(false);
    cheat.close();
    const honest = session(Journal.open(file));
    await honest.open();
    expect(await honest.proposalTree()).to.deep.equal(honest.reduce());
    expect(honest.answersRequests()).to.equal(true);
    honest.close();
  });

  it("refuses a job whose spec disagrees with the chain, and journals the refusal", async () => {
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, reward: 1n })).to.throw(JobRefusedError, /reward/);
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, minParticipants: 99n })).to.throw(JobRefusedError, /minParticipants/);
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, kind: 0n })).to.throw(JobRefusedError, /reducer/);
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, edgesHash: `0x${"11".repeat(32)}` })).to.throw(JobRefusedError, /edges hash/);
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, boundsHash: `0x${"11".repeat(32)}` })).to.throw(JobRefusedError, /bounds hash/);
    expect(() => checkSpecMatchesJob(spec, { ...chainJob, proposalDeadline: chainJob.proposalDeadline + 1n })).to.throw(
      JobRefusedError,
      /challengeWindow/,
    );
    const saved = chainJob;
    chainJob = { ...chainJob, minStake: 0n };
    try {
      const journal = Journal.open(path.join(dir, "refused.jsonl"));
      const s = session(journal);
      let err: unknown;
      await s.open().catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(JobRefusedError);
      expect(journal.state.refused).to.match(/minStake/);
      s.close();
      expect(Journal.open(path.join(dir, "refused.jsonl")).state.refused).to.match(/minStake/);
    } finally {
      chainJob = saved;
    }
  });
});
