// Submission fraud proofs and the data-availability rule: SubmissionJudge re-encodes envelopes byte for byte as
// @mosaic/avatar does, and JobRegistry slashes a leaf whose submission is wrong or that nobody publishes. The fraud
// proofs run on real Semaphore proofs against a group registered on-chain, made once (a second or two each) and reused.
import * as dagCbor from "@ipld/dag-cbor";
import { BN254_BASE_FIELD, encodeSubmission, type EnvelopeArg, envelopeArg, Group, proveSubmission, type Submission } from "@mosaic/avatar";
import {
  ancestorsOf,
  type InnerArg,
  type Leaf,
  leafArg,
  levelSizes,
  reduceTree,
  rootWitness,
  submissionCid,
  submissionWitness,
  type TreeNodes,
  treeNodes,
  type Witness,
} from "@mosaic/mapreduce";
import {
  deployMosaic,
  type JobRef,
  type MosaicContracts,
  type ReducerSpec,
  SNARK_SCALAR_FIELD,
  type SubmissionJudge,
  SubmissionJudge__factory,
} from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import {
  AbiCoder,
  Contract,
  type ContractTransactionResponse,
  getAddress,
  getBytes,
  hexlify,
  type Interface,
  keccak256,
  parseEther,
  type Signer,
  toBeHex,
} from "ethers";
import fc from "fast-check";
import { network } from "hardhat";
import {
  askableNodes,
  BOUND,
  challenge,
  type OpenableLeaf,
  openableLeaves,
  proposeTree,
  randomLeaves,
  reduceParams,
  SPEC_DIGEST,
  setGroupSize,
} from "./fixture.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;
type Snapshot = Awaited<ReturnType<Connection["networkHelpers"]["takeSnapshot"]>>;

const word = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map((x) => x.toString());
const safeInt = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 23, 24, 255, 256, 65535, 65536, -24, -25, -256, -257),
);

/** Arbitrary well-formed v1 submissions (proof fields random: the encoding does not care whether it verifies). */
const submissionArb = fc
  .record({
    chainId: fc.bigInt({ min: 1n, max: (1n << 53n) - 1n }),
    registry: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hexlify(b)),
    jobId: fc.bigInt({ min: 1n, max: (1n << 53n) - 1n }),
    payload: fc.array(safeInt, { minLength: 1, maxLength: 64 }),
    points: fc.array(word, { minLength: 8, maxLength: 8 }),
    message: word,
    scope: word,
    nullifier: word,
    root: word,
  })
  .map(
    (r): Submission => ({
      version: 1,
      job: { chainId: r.chainId, registry: r.registry, jobId: r.jobId },
      payload: r.payload,
      proof: {
        merkleTreeDepth: 20,
        merkleTreeRoot: r.root,
        nullifier: r.nullifier,
        message: r.message,
        scope: r.scope,
        points: r.points as Submission["proof"]["points"],
      },
    }),
  );

const TWO_64 = 1n << 64n;
/** Every integer dag-cbor holds (a 64-bit argument and a sign), the head-length boundaries most often. */
const cborInt = fc.oneof(
  fc.bigInt({ min: -TWO_64, max: TWO_64 - 1n }),
  fc.constantFrom(
    ...[0n, 23n, 24n, 255n, 256n, 65_535n, 65_536n, 4_294_967_295n, 4_294_967_296n, TWO_64 - 1n].flatMap((x) => [x, -1n - x]),
  ),
);
const cborUint = fc.oneof(
  fc.bigInt({ min: 0n, max: TWO_64 - 1n }),
  fc.constantFrom(0n, 23n, 24n, 255n, 256n, 65_535n, 65_536n, 4_294_967_295n, 4_294_967_296n, TWO_64 - 1n),
);

/** An Envelope with integers anywhere in dag-cbor's range (envelopeArg's are safe integers only). */
interface WideEnvelope {
  chainId: bigint;
  registry: string;
  jobId: bigint;
  payload: bigint[];
  points: bigint[];
  message: string;
  scope: string;
  nullifier: bigint;
  root: bigint;
  depth: bigint;
}

const wideEnvelopeArb = fc.record({
  chainId: cborUint,
  registry: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hexlify(b)),
  jobId: cborUint,
  payload: fc.array(cborInt, { minLength: 0, maxLength: 30 }),
  points: fc.array(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), { minLength: 8, maxLength: 8 }),
  message: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
  scope: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
  nullifier: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  root: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  depth: cborUint,
});

/** The v1 envelope as @ipld/dag-cbor encodes it, built independently of encodeSubmission (which takes safe integers). */
function dagCborEnvelope(e: WideEnvelope): Uint8Array {
  const w = (x: bigint) => getBytes(toBeHex(x, 32));
  return dagCbor.encode({
    v: 1,
    job: { chain: e.chainId, registry: e.registry.toLowerCase(), id: e.jobId },
    payload: e.payload,
    proof: { points: e.points.map(w), message: getBytes(e.message), scope: getBytes(e.scope) },
    nullifier: w(e.nullifier),
    root: w(e.root),
    depth: e.depth,
  });
}

describe("SubmissionJudge", () => {
  let ethers: Connection["ethers"];
  let c: MosaicContracts;
  let deployer: Signer;
  let judge: SubmissionJudge;
  before(async () => {
    ({ ethers } = await network.connect());
    [deployer] = (await ethers.getSigners()) as unknown as [Signer];
    c = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    judge = SubmissionJudge__factory.connect(await c.jobRegistry.submissionJudge(), deployer);
  });

  it("test_encode_byteEqualToEncodeSubmission_andDigestIsTheCidDigest (property)", async () => {
    await fc.assert(
      fc.asyncProperty(submissionArb, async (sub) => {
        const block = await encodeSubmission(sub);
        const arg = envelopeArg(sub);
        expect(await judge.encode(arg)).to.equal(hexlify(block.bytes));
        expect(await judge.digest(arg)).to.equal(hexlify(block.cid.multihash.digest));
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it("test_encode_every64BitInteger_byteEqualToDagCbor (property)", async () => {
    await fc.assert(
      fc.asyncProperty(wideEnvelopeArb, async (e) => {
        expect(await judge.encode(e)).to.equal(hexlify(dagCborEnvelope(e)));
      }),
      { seed: 64, numRuns: 60 },
    );
  });

  it("test_encode_integerBeyondDagCbor_IntegerTooLarge", async () => {
    const [e] = fc.sample(wideEnvelopeArb, { seed: 1, numRuns: 1 }) as [WideEnvelope];
    const INT256_MAX = (1n << 255n) - 1n;
    const cases: [string, WideEnvelope, bigint][] = [
      ["payload 2^64", { ...e, payload: [1n, TWO_64] }, TWO_64],
      ["payload -2^64 - 1", { ...e, payload: [-TWO_64 - 1n] }, -TWO_64 - 1n],
      ["payload int256 min", { ...e, payload: [-(1n << 255n)] }, -(1n << 255n)],
      ["chain 2^64", { ...e, chainId: TWO_64 }, TWO_64],
      ["job id 2^256 - 1", { ...e, jobId: (1n << 256n) - 1n }, INT256_MAX],
      ["depth 2^64", { ...e, depth: TWO_64 }, TWO_64],
    ];
    for (const [name, bad, value] of cases) {
      await expect(judge.encode(bad), name).to.be.revertedWithCustomError(judge, "IntegerTooLarge").withArgs(value);
      await expect(judge.digest(bad), name).to.be.revertedWithCustomError(judge, "IntegerTooLarge").withArgs(value);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

const DAY = 86_400n;
const BOND = parseEther("0.1");
const STAKE = parseEther("10");
const REWARD = parseEther("2");
/** Proposals for WINDOW after collection, fraud proofs for WINDOW after that; data requests are due in WINDOW / 2. */
const WINDOW = 600n;
const RESPONSE = WINDOW / 2n;
const WIDTH = 3;
const SUM: ReducerSpec = { kind: "sum" };
const BOUNDS = { min: [-BOUND, -BOUND, -BOUND], max: [BOUND, BOUND, BOUND] };
const BURN = "0x000000000000000000000000000000000000dEaD";
/** IJobRegistry.FaultKind. */
const FAULT = { Root: 0, SubmissionMismatch: 6, SubmissionBounds: 7, SubmissionProof: 8, Unavailable: 9 } as const;
/** ISubmissionJudge.Verdict. */
const VERDICT = {
  Valid: 0,
  LeafMismatch: 1,
  OutOfBounds: 2,
  WrongJob: 3,
  WrongDepth: 4,
  WrongRoot: 5,
  WrongMessage: 6,
  InvalidProof: 7,
} as const;
/** IJobRegistry.RequestState. */
const REQUEST = { None: 0, Open: 1, Answered: 2, Settled: 3 } as const;
/** SubmissionJudge.VERIFIER_GAS: the verifier's fixed allowance. */
const VERIFIER_GAS = 400_000n;

/** A proposal as sent: its index, its tree, the aggregate it claimed, and the leaves it was built from with their envelopes. */
interface Proposed {
  index: bigint;
  tree: TreeNodes;
  aggregate: number[];
  items: OpenableLeaf[];
}

/** The Inner preimage of the paired node at (level ≥ 1, position). */
function innerOf(tree: TreeNodes, level: number, position: number): InnerArg {
  const below = tree.levels[level - 1] ?? [];
  return {
    left: below[2 * position]?.hash ?? "",
    right: below[2 * position + 1]?.hash ?? "",
    value: tree.levels[level]?.[position]?.value.slice() ?? [],
  };
}

function innerHash(node: InnerArg): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, node.left, node.right, node.value]));
}

describe("JobRegistry submission fraud proofs and data availability", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  let c: MosaicContracts;
  let judge: SubmissionJudge;
  let deployer: Signer, reducer: Signer, other: Signer, challenger: Signer, researcher: Signer;
  let job1: JobRef;
  let groupRoot: bigint;
  /** The four members' submissions to job 1, valid and in bounds. */
  let valid: Submission[];
  /** Member 3's validly proved submission to job 1 whose first entry is one above the bound. */
  let outOfBounds: Submission;
  /** Member 1's valid submission to job 2. */
  let forJob2: Submission;
  /** A member of another on-chain group, proved against that group's root. */
  let otherGroup: Submission;
  let base: Snapshot;

  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
    const signers = (await ethers.getSigners()) as unknown as Signer[];
    [deployer, reducer, other, challenger, researcher] = signers as [Signer, Signer, Signer, Signer, Signer];
    c = await deployMosaic(deployer, { unbondingDelay: DAY, proposalBond: BOND });
    judge = SubmissionJudge__factory.connect(await c.jobRegistry.submissionJudge(), deployer);
    const { chainId } = await ethers.provider.getNetwork();
    job1 = { chainId, registry: c.addresses.jobRegistry, jobId: 1n };

    // Group 0: the job's, four members; group 1: a stranger and member 0.
    await (await c.avatarGroups.createGroup("avatars", c.addresses.openAdmission, "0x")).wait();
    await (await c.avatarGroups.createGroup("others", c.addresses.openAdmission, "0x")).wait();
    const members = [0, 1, 2, 3].map((i) => new Identity(`member ${i}`));
    const stranger = new Identity("stranger");
    for (const [i, m] of members.entries())
      await (await c.avatarGroups.connect(signers[5 + i] as Signer).register(0n, m.commitment, "0x")).wait();
    await (await c.avatarGroups.connect(signers[9] as Signer).register(1n, stranger.commitment, "0x")).wait();
    await (await c.avatarGroups.connect(signers[5] as Signer).register(1n, (members[0] as Identity).commitment, "0x")).wait();
    const group = new Group(members.map((m) => m.commitment));
    const others = new Group([stranger.commitment, (members[0] as Identity).commitment]);
    groupRoot = await c.avatarGroups.groupRoot(0n);
    expect(groupRoot).to.equal(group.root);
    expect(await c.avatarGroups.groupRoot(1n)).to.equal(others.root);
    // Room for trees larger than the group (leaves with made-up proofs); the root jobs fix stays the four members'.
    await setGroupSize(c, ethers.provider, networkHelpers.setStorageAt, 0n, 1_000n);
    expect(await c.avatarGroups.groupRoot(0n)).to.equal(group.root);

    const payloads = [
      [12, -7, 300],
      [0, 0, 0],
      [-BOUND, BOUND, 5],
      [999, -999, 42],
    ];
    valid = [];
    for (const [i, m] of members.entries()) valid.push(await proveSubmission(m, group, job1, payloads[i] as number[]));
    outOfBounds = await proveSubmission(members[3] as Identity, group, job1, [BOUND + 1, 0, 0]);
    forJob2 = await proveSubmission(members[1] as Identity, group, { ...job1, jobId: 2n }, [1, 2, 3]);
    otherGroup = await proveSubmission(stranger, others, job1, [4, 5, 6]);

    for (const s of [reducer, other]) await (await c.jobRegistry.connect(s).stake({ value: STAKE })).wait();
    base = await networkHelpers.takeSnapshot();
  });

  beforeEach(async () => {
    await base.restore();
  });

  // ------------------------------------------------------------------------------------------------- helpers

  /** Every job, proposal, data request on any node of a proposal's tree, account figure and ether balance. */
  async function snapshot(): Promise<string> {
    const r = c.jobRegistry;
    const jobs: unknown[] = [];
    for (let j = 1n; j <= (await r.jobCount()); j++) {
      const proposals: unknown[] = [];
      for (let k = 0n; k < (await r.proposalCount(j)); k++) {
        const p = await r.getProposal(j, k);
        const requests: unknown[] = [];
        for (const [level, size] of levelSizes(Number(p.count)).entries())
          for (let i = 0; i < size; i++) requests.push(await r.getDataRequest(j, k, level, i));
        proposals.push([p, requests]);
      }
      jobs.push([await r.getJob(j), proposals]);
    }
    const accounts = await Promise.all(
      [reducer, other, challenger, researcher].map(async (s) => {
        const a = await s.getAddress();
        return [await r.stakeOf(a), await r.balanceOf(a), await r.openProposalsOf(a), await r.unbondingOf(a)];
      }),
    );
    return JSON.stringify(
      { jobs, accounts, held: await ethers.provider.getBalance(c.addresses.jobRegistry), burned: await ethers.provider.getBalance(BURN) },
      (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }

  /** Asserts `call` reverts with the custom error `error` of `on` (the registry unless given) and changes nothing. */
  async function expectRevert(
    call: () => Promise<unknown>,
    error: string,
    args?: unknown[],
    on: { interface: Interface } = c.jobRegistry,
  ): Promise<void> {
    const before = await snapshot();
    const assertion = expect(call()).to.be.revertedWithCustomError(on, error);
    if (args) await assertion.withArgs(...args);
    else await assertion;
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  /** Calls a registry function by name: the Envelope's points are a fixed-size array the typed signature will not take. */
  function send(signer: Signer, fn: string, ...args: unknown[]): Promise<ContractTransactionResponse> {
    const f = c.jobRegistry.connect(signer).getFunction(fn) as unknown as (...a: unknown[]) => Promise<ContractTransactionResponse>;
    return f(...args);
  }

  const address = (s: Signer) => s.getAddress();
  const held = () => ethers.provider.getBalance(c.addresses.jobRegistry);

  /** A submission as a leaf, with the envelope that opens its CID. */
  async function opened(sub: Submission): Promise<OpenableLeaf> {
    const cid = (await encodeSubmission(sub)).cid.toString();
    return { leaf: { nullifier: sub.proof.nullifier, submission: cid, value: sub.payload.slice() }, envelope: envelopeArg(sub) };
  }

  /** A hand-made envelope as a leaf: the CID's digest is the judge's own sha-256 of the fields. */
  async function openedEnvelope(envelope: EnvelopeArg): Promise<OpenableLeaf> {
    const digest = await judge.digest(envelope);
    return {
      leaf: { nullifier: envelope.nullifier.toString(), submission: submissionCid(getBytes(digest)), value: envelope.payload.slice() },
      envelope,
    };
  }

  /** A valid submission with its proof points changed. */
  function withPoints(sub: Submission, change: (points: bigint[]) => void): Submission {
    const points = sub.proof.points.map((x) => BigInt(x));
    change(points);
    return { ...sub, proof: { ...sub.proof, points: points.map(String) as Submission["proof"]["points"] } };
  }

  /** Posts job 1 (sum of WIDTH entries in [-BOUND, BOUND]) and waits out collection. */
  async function openJob(window = WINDOW): Promise<bigint> {
    const now = BigInt(await networkHelpers.time.latest());
    await (
      await c.jobRegistry
        .connect(researcher)
        .postJob(SPEC_DIGEST, 0n, 1, now + 600n, window, parseEther("1"), reduceParams(SUM, WIDTH), { value: REWARD })
    ).wait();
    await networkHelpers.time.increase(600);
    return c.jobRegistry.jobCount();
  }

  /** Proposes the reduce tree of `items` (with its own aggregate unless one is given). */
  async function propose(jobId: bigint, items: OpenableLeaf[], by: Signer = reducer, aggregate?: number[]): Promise<Proposed> {
    const result = reduceTree(
      items.map((i) => i.leaf),
      SUM,
      WIDTH,
    );
    const claimed = aggregate ?? result.aggregate;
    const index = await proposeTree(c, by, jobId, { aggregate: claimed, count: result.count, treeRoot: result.treeRoot }, BOND);
    return { index, tree: treeNodes(result, SUM, WIDTH), aggregate: claimed, items };
  }

  function positionOf(p: Proposed, item: OpenableLeaf): number {
    const i = p.tree.leaves.findIndex((l) => l.nullifier === item.leaf.nullifier && l.submission === item.leaf.submission);
    expect(i, "the leaf is in the tree").to.be.at.least(0);
    return i;
  }

  function itemAt(p: Proposed, position: number): OpenableLeaf {
    const leaf = p.tree.leaves[position] as Leaf;
    return p.items.find((i) => i.leaf.nullifier === leaf.nullifier && i.leaf.submission === leaf.submission) as OpenableLeaf;
  }

  /** challengeSubmission's witness for `item`'s leaf: its path, and by default its own envelope and the job's bounds. */
  function witness(p: Proposed, item: OpenableLeaf, envelope: unknown = item.envelope, bounds = BOUNDS): Witness {
    return submissionWitness(p.tree, positionOf(p, item), envelope, bounds);
  }

  /** What a fault of proposal (jobId, index) costs to the wei: the bond and 2.5% of stake, half to the challenger. */
  async function slashOf(jobId: bigint, index: bigint) {
    const proposer = (await c.jobRegistry.getProposal(jobId, index)).proposer;
    const stake = await c.jobRegistry.stakeOf(proposer);
    const slashed = (stake * 250n) / 10_000n;
    const reward = ((slashed + BOND) * 5000n) / 10_000n;
    return { proposer, stake, slashed, reward, burned: slashed + BOND - reward };
  }

  /**
   * Challenges `item`'s leaf and checks the slash to the wei, SubmissionFaulted with `verdict`, and that replaying the
   * same challenge is ProposalAlreadyFaulted with nothing changed.
   */
  async function expectSubmissionSlash(jobId: bigint, p: Proposed, w: Witness, kind: number, verdict: number): Promise<void> {
    const r = c.jobRegistry;
    const s = await slashOf(jobId, p.index);
    const by = await address(challenger);
    const [owed, registryBefore, burnBefore, open] = [
      await r.balanceOf(by),
      await held(),
      await ethers.provider.getBalance(BURN),
      await r.openProposalsOf(s.proposer),
    ];
    await expect(challenge(c, challenger, jobId, p.index, w))
      .to.emit(r, "SubmissionFaulted")
      .withArgs(jobId, p.index, w.args[0], verdict)
      .and.to.emit(r, "ProposalFaulted")
      .withArgs(jobId, p.index, s.proposer, by, kind, s.slashed, BOND, s.reward, s.burned);
    expect(await r.stakeOf(s.proposer)).to.equal(s.stake - s.slashed);
    expect(await r.openProposalsOf(s.proposer)).to.equal(open - 1n);
    expect(await r.balanceOf(by)).to.equal(owed + s.reward);
    expect(await ethers.provider.getBalance(BURN)).to.equal(burnBefore + s.burned);
    expect(await held()).to.equal(registryBefore - s.burned);
    expect((await r.getProposal(jobId, p.index)).faulted).to.equal(true);
    await expectRevert(() => challenge(c, challenger, jobId, p.index, w), "ProposalAlreadyFaulted", [jobId, p.index]);
  }

  /** Asks for the node at (level, position) with the exact bond; returns its due time. */
  async function request(jobId: bigint, index: bigint, level: number, position: number, by: Signer = challenger): Promise<bigint> {
    await (
      await c.jobRegistry.connect(by).requestData(jobId, index, [{ level, position }], { value: await c.jobRegistry.dataRequestBond() })
    ).wait();
    return (await c.jobRegistry.getDataRequest(jobId, index, level, position)).dueAt;
  }

  /** answerData's LeafAnswer for leaf `position` of `p`: the leaf, its path, and (by default) its own envelope. */
  function leafAnswerOf(p: Proposed, position: number, envelope: EnvelopeArg = itemAt(p, position).envelope) {
    return { position, leaf: leafArg(p.tree.leaves[position] as Leaf), path: ancestorsOf(p.tree, 0, position), envelope };
  }

  /** answerData's NodeAnswer for the paired node at (level, position) of `p`. */
  function nodeAnswerOf(p: Proposed, level: number, position: number) {
    return { level, position, node: innerOf(p.tree, level, position), path: ancestorsOf(p.tree, level, position) };
  }

  function answerLeaf(by: Signer, jobId: bigint, p: Proposed, position: number, envelope: unknown = itemAt(p, position).envelope) {
    // Hostile tests pass envelopes of any shape: the contract, not the type, must refuse them.
    return send(by, "answerData", jobId, p.index, [leafAnswerOf(p, position, envelope as EnvelopeArg)], []);
  }

  function answerNode(by: Signer, jobId: bigint, p: Proposed, level: number, position: number) {
    return c.jobRegistry.connect(by).answerData(jobId, p.index, [], [nodeAnswerOf(p, level, position)]);
  }

  // ---------------------------------------------------------------------------------------------- the judge

  describe("judge", () => {
    it("test_judge_validSubmissions_Valid_andEachWrongFieldNamesItsVerdictInOrder", async () => {
      const want = (env: EnvelopeArg) => ({
        chainId: job1.chainId,
        registry: job1.registry,
        jobId: 1n,
        groupRoot,
        nullifier: env.nullifier,
        payload: env.payload,
        min: BOUNDS.min,
        max: BOUNDS.max,
      });
      const verdict = async (env: EnvelopeArg, w = want(env)) => judge.judge(env, await judge.digest(env), w);
      for (const sub of valid) expect(await verdict(envelopeArg(sub))).to.equal(BigInt(VERDICT.Valid));

      const good = envelopeArg(valid[0] as Submission);
      const [a0, a1, b0, b1, b2, b3, c0, c1] = good.points as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
      const cases: [string, EnvelopeArg, ReturnType<typeof want>, number][] = [
        ["nullifier", { ...good, nullifier: good.nullifier + 1n }, want(good), VERDICT.LeafMismatch],
        ["payload", { ...good, payload: [1, 2, 3] }, want(good), VERDICT.LeafMismatch],
        ["payload longer", { ...good, payload: [...good.payload, 0] }, want(good), VERDICT.LeafMismatch],
        ["above a bound", good, { ...want(good), max: [BOUND, BOUND, 299] }, VERDICT.OutOfBounds],
        ["below a bound", good, { ...want(good), min: [13, -BOUND, -BOUND] }, VERDICT.OutOfBounds],
        ["fewer bounds than entries", good, { ...want(good), min: BOUNDS.min.slice(1), max: BOUNDS.max.slice(1) }, VERDICT.OutOfBounds],
        ["chain", { ...good, chainId: good.chainId + 1n }, want(good), VERDICT.WrongJob],
        ["registry", { ...good, registry: c.addresses.avatarGroups.toLowerCase() }, want(good), VERDICT.WrongJob],
        ["job id", { ...good, jobId: 2n }, want(good), VERDICT.WrongJob],
        ["scope", { ...good, scope: envelopeArg(forJob2).scope }, want(good), VERDICT.WrongJob],
        ["depth", { ...good, depth: 16 }, want(good), VERDICT.WrongDepth],
        ["root", { ...good, root: good.root + 1n }, want(good), VERDICT.WrongRoot],
        ["root + field", { ...good, root: good.root + SNARK_SCALAR_FIELD }, want(good), VERDICT.WrongRoot],
        ["message", { ...good, message: `0x${"00".repeat(32)}` }, want(good), VERDICT.WrongMessage],
        ["points A and C swapped", { ...good, points: [c0, c1, b0, b1, b2, b3, a0, a1] }, want(good), VERDICT.InvalidProof],
        [
          "nullifier + field",
          { ...good, nullifier: good.nullifier + SNARK_SCALAR_FIELD },
          want({ ...good, nullifier: good.nullifier + SNARK_SCALAR_FIELD }),
          VERDICT.InvalidProof,
        ],
        // Several things wrong: the first in judge()'s order names it.
        ["payload and job", { ...good, payload: [1, 2, 3], jobId: 2n }, want(good), VERDICT.LeafMismatch],
        ["bounds and job", { ...good, jobId: 2n }, { ...want(good), max: [0, 0, 0] }, VERDICT.OutOfBounds],
        ["job and root", { ...good, jobId: 2n, root: 1n }, want(good), VERDICT.WrongJob],
        ["depth and root", { ...good, depth: 16, root: 1n }, want(good), VERDICT.WrongDepth],
        ["root and message", { ...good, root: 1n, message: `0x${"00".repeat(32)}` }, want(good), VERDICT.WrongRoot],
        [
          "message and points",
          { ...good, message: `0x${"00".repeat(32)}`, points: good.points.map(() => 1n) },
          want(good),
          VERDICT.WrongMessage,
        ],
      ];
      for (const [name, env, w, v] of cases) expect(await verdict(env, w), name).to.equal(BigInt(v));

      // The registry is an address, whatever its spelling: the judge encodes it in lower case.
      expect(await judge.digest({ ...good, registry: getAddress(good.registry) })).to.equal(await judge.digest(good));
      // An envelope is judged only under its own digest.
      const deeper = { ...good, depth: 16 };
      await expect(judge.judge(good, await judge.digest(deeper), want(good)))
        .to.be.revertedWithCustomError(judge, "EnvelopeMismatch")
        .withArgs(await judge.digest(good), await judge.digest(deeper));
    });
  });

  // ------------------------------------------------------------------------------------ challengeSubmission

  describe("challengeSubmission (real Semaphore proofs)", () => {
    /** Each way a proposer can include a bad submission, as the leaf it adds to three valid ones. */
    const faults: { name: string; kind: number; verdict: number; bad: () => Promise<OpenableLeaf> }[] = [
      {
        name: "leafPayloadIsNotTheSubmissions",
        kind: FAULT.SubmissionMismatch,
        verdict: VERDICT.LeafMismatch,
        bad: async () => {
          const o = await opened(valid[3] as Submission);
          return { ...o, leaf: { ...o.leaf, value: o.leaf.value.map((x, k) => (k === 2 ? x + 1 : x)) } };
        },
      },
      {
        name: "leafNullifierIsNotTheSubmissions",
        kind: FAULT.SubmissionMismatch,
        verdict: VERDICT.LeafMismatch,
        bad: async () => {
          const o = await opened(valid[3] as Submission);
          return { ...o, leaf: { ...o.leaf, nullifier: (BigInt(o.leaf.nullifier) + 1n).toString() } };
        },
      },
      { name: "payloadOutOfTheJobsBounds", kind: FAULT.SubmissionBounds, verdict: VERDICT.OutOfBounds, bad: () => opened(outOfBounds) },
      {
        name: "proofPointNegated",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.InvalidProof,
        // (x, q - y): still on the curve and below the base field, but not the proof.
        bad: () =>
          opened(
            withPoints(valid[3] as Submission, (p) => {
              p[1] = BN254_BASE_FIELD - (p[1] as bigint);
            }),
          ),
      },
      {
        name: "proofPointOffTheCurve",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.InvalidProof,
        bad: () =>
          opened(
            withPoints(valid[3] as Submission, (p) => {
              p[0] = ((p[0] as bigint) + 1n) % BN254_BASE_FIELD;
            }),
          ),
      },
      {
        name: "proofPointAliasedAboveTheBaseField",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.InvalidProof,
        bad: () =>
          opened(
            withPoints(valid[3] as Submission, (p) => {
              p[0] = (p[0] as bigint) + BN254_BASE_FIELD;
            }),
          ),
      },
      { name: "submissionForAnotherJob", kind: FAULT.SubmissionProof, verdict: VERDICT.WrongJob, bad: () => opened(forJob2) },
      {
        name: "envelopeClaimsThisJobButProofScopesAnother",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.WrongJob,
        bad: () => openedEnvelope({ ...envelopeArg(forJob2), jobId: 1n }),
      },
      { name: "proofAgainstAnotherGroupsRoot", kind: FAULT.SubmissionProof, verdict: VERDICT.WrongRoot, bad: () => opened(otherGroup) },
      {
        name: "messageIsNotThePayloadsHash",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.WrongMessage,
        bad: () => openedEnvelope({ ...envelopeArg(valid[3] as Submission), payload: [1, 2, 3] }),
      },
      {
        name: "proofAtAnotherDepth",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.WrongDepth,
        bad: () => openedEnvelope({ ...envelopeArg(valid[3] as Submission), depth: 16 }),
      },
      {
        name: "nullifierAliasedModTheField",
        kind: FAULT.SubmissionProof,
        verdict: VERDICT.InvalidProof,
        bad: () => {
          const sub = valid[3] as Submission;
          return opened({ ...sub, proof: { ...sub.proof, nullifier: (BigInt(sub.proof.nullifier) + SNARK_SCALAR_FIELD).toString() } });
        },
      },
    ];

    for (const f of faults) {
      it(`test_challengeSubmission_${f.name}_slashesToTheWei_andTheProposalCannotWin`, async () => {
        const jobId = await openJob();
        const honest = await Promise.all(valid.slice(0, 3).map(opened));
        const bad = await f.bad();
        const p = await propose(jobId, [...honest, bad], reducer);
        const q = await propose(jobId, honest.slice(0, 2), other);
        // The proposal's valid leaves hold up; the bad one does not.
        for (const h of honest) {
          await expectRevert(() => challenge(c, challenger, jobId, p.index, witness(p, h)), "NoFault", [
            jobId,
            p.index,
            FAULT.SubmissionProof,
          ]);
        }
        await expectSubmissionSlash(jobId, p, witness(p, bad), f.kind, f.verdict);
        // The largest proposal is out: the smaller honest one wins.
        await networkHelpers.time.increaseTo((await c.jobRegistry.getJob(jobId)).finalizeAfter);
        await expect(c.jobRegistry.finalizeJob(jobId))
          .to.emit(c.jobRegistry, "JobFinalized")
          .withArgs(jobId, await address(other), q.index, 2, REWARD);
        expect(await c.jobRegistry.balanceOf(await address(reducer))).to.equal(0n);
      });
    }

    it("test_challengeSubmission_validSubmissions_NoFault_stateUnchanged", async () => {
      const jobId = await openJob();
      const items = await Promise.all(valid.map(opened));
      const p = await propose(jobId, items);
      const single = await propose(jobId, items.slice(2, 3), other);
      for (const item of items) {
        await expectRevert(() => challenge(c, challenger, jobId, p.index, witness(p, item)), "NoFault", [
          jobId,
          p.index,
          FAULT.SubmissionProof,
        ]);
      }
      // A one-leaf tree: the path is empty.
      expect(witness(single, items[2] as OpenableLeaf).args[2]).to.deep.equal([]);
      await expectRevert(() => challenge(c, challenger, jobId, single.index, witness(single, items[2] as OpenableLeaf)), "NoFault", [
        jobId,
        single.index,
        FAULT.SubmissionProof,
      ]);
    });

    it("test_challengeSubmission_randomHonestProposals_neverSlashed (property)", async () => {
      const items = await Promise.all(valid.map(opened));
      await fc.assert(
        fc.asyncProperty(fc.subarray([0, 1, 2, 3], { minLength: 1 }), fc.nat(), async (picked, pick) => {
          await base.restore();
          const jobId = await openJob();
          const p = await propose(
            jobId,
            picked.map((i) => items[i] as OpenableLeaf),
          );
          const item = itemAt(p, pick % picked.length);
          const before = await snapshot();
          await expect(challenge(c, challenger, jobId, p.index, witness(p, item)))
            .to.be.revertedWithCustomError(c.jobRegistry, "NoFault")
            .withArgs(jobId, p.index, FAULT.SubmissionProof);
          expect(await snapshot()).to.equal(before);
        }),
        { seed: 20_250_708, numRuns: 12 },
      );
    });

    it("test_challengeSubmission_hostileWitnesses_namedErrors_stateUnchanged", async () => {
      const jobId = await openJob();
      const items = await Promise.all(valid.map(opened));
      const bad = await opened(otherGroup);
      const p = await propose(jobId, [...items, bad]);
      const q = await propose(jobId, [...items, bad], other);
      const w = witness(p, bad);
      const [position, leaf, path, envelope, bounds] = w.args as [
        number,
        ReturnType<typeof leafArg>,
        { sibling: string; value: number[] }[],
        EnvelopeArg,
        typeof BOUNDS,
      ];
      const at = (...args: unknown[]) => challenge(c, challenger, jobId, p.index, { fn: "challengeSubmission", args });
      const job = await c.jobRegistry.getJob(jobId);

      await expectRevert(() => challenge(c, challenger, 99n, 0n, w), "JobNotFound", [99n]);
      await expectRevert(() => challenge(c, challenger, jobId, 2n, w), "ProposalNotFound", [jobId, 2n]);

      // The envelope must be the one the leaf's digest commits to.
      const envelopes: [string, unknown][] = [
        ["another submission's", (items[0] as OpenableLeaf).envelope],
        ["a point changed", { ...envelope, points: envelope.points.map((x, k) => (k === 7 ? x + 1n : x)) }],
        ["an oversized payload", { ...envelope, payload: Array.from({ length: 500 }, (_, k) => k) }],
        ["an empty payload", { ...envelope, payload: [] }],
      ];
      for (const [name, env] of envelopes) {
        const computed = await judge.digest(env as EnvelopeArg);
        expect(computed, name).to.not.equal(leaf.digest);
        await expectRevert(() => at(position, leaf, path, env, bounds), "EnvelopeMismatch", [computed, leaf.digest], judge);
      }
      // Integers dag-cbor cannot hold never reach the digest comparison.
      await expectRevert(
        () => at(position, leaf, path, { ...envelope, payload: [TWO_64, 0, 0] }, bounds),
        "IntegerTooLarge",
        [TWO_64],
        judge,
      );
      await expectRevert(
        () => at(position, leaf, path, { ...envelope, payload: [4, -TWO_64 - 1n, 6] }, bounds),
        "IntegerTooLarge",
        [-TWO_64 - 1n],
        judge,
      );
      await expectRevert(() => at(position, leaf, path, { ...envelope, chainId: TWO_64 }, bounds), "IntegerTooLarge", [TWO_64], judge);
      await expectRevert(
        () => at(position, leaf, path, { ...envelope, depth: TWO_64 + 20n }, bounds),
        "IntegerTooLarge",
        [TWO_64 + 20n],
        judge,
      );

      // The bounds must be the job's.
      const boundsHash = (b: { min: unknown[]; max: unknown[] }) =>
        keccak256(AbiCoder.defaultAbiCoder().encode(["int256[]", "int256[]"], [b.min, b.max]));
      for (const b of [
        { min: [-BOUND - 1, -BOUND, -BOUND], max: BOUNDS.max },
        { min: BOUNDS.min, max: [BOUND, BOUND, 3] },
        { min: BOUNDS.min.slice(1), max: BOUNDS.max.slice(1) },
        { min: [], max: [] },
      ]) {
        await expectRevert(() => at(position, leaf, path, envelope, b), "BoundsMismatch", [boundsHash(b), job.boundsHash]);
      }

      // The leaf must be in the tree at that position, by exactly its path.
      const badPath = path.map((a, k) => (k === path.length - 1 ? { ...a, sibling: `0x${"ab".repeat(32)}` } : a));
      await expectRevert(() => at(position, leaf, badPath, envelope, bounds), "NotInTree");
      await expectRevert(() => at(position, { ...leaf, payload: [4, 5, 7] }, path, envelope, bounds), "NotInTree");
      await expectRevert(() => at(position, { ...leaf, nullifier: leaf.nullifier + 1n }, path, envelope, bounds), "NotInTree");
      await expectRevert(() => at(position, leaf, path.slice(1), envelope, bounds), "WrongPathLength", [path.length - 1, path.length]);
      await expectRevert(() => at(position, leaf, [...path, path[0]], envelope, bounds), "WrongPathLength", [path.length + 1, path.length]);
      await expectRevert(
        () =>
          at(
            position,
            leaf,
            Array.from({ length: 64 }, () => path[0]),
            envelope,
            bounds,
          ),
        "WrongPathLength",
        [64, path.length],
      );
      for (let k = 0; k < p.tree.leaves.length; k++) {
        if (k === position) continue;
        const expected = ancestorsOf(p.tree, 0, k).length;
        if (expected === path.length) await expectRevert(() => at(k, leaf, path, envelope, bounds), "NotInTree");
        else await expectRevert(() => at(k, leaf, path, envelope, bounds), "WrongPathLength", [path.length, expected]);
      }
      await expectRevert(() => at(5, leaf, path, envelope, bounds), "NoSuchNode", [0, 5]);
      await expectRevert(() => at((1n << 256n) - 1n, leaf, path, envelope, bounds), "NoSuchNode", [0, (1n << 256n) - 1n]);

      // The right witness slashes, once; the faulted proposal takes no further challenge.
      await expectSubmissionSlash(jobId, p, w, FAULT.SubmissionProof, VERDICT.WrongRoot);
      await expectRevert(() => challenge(c, challenger, jobId, p.index, witness(p, items[0] as OpenableLeaf)), "ProposalAlreadyFaulted", [
        jobId,
        p.index,
      ]);

      // Nobody challenged q in time: the window closes, and a finalised job takes no challenge.
      await networkHelpers.time.increaseTo(job.finalizeAfter);
      await expectRevert(() => challenge(c, challenger, jobId, q.index, witness(q, bad)), "ChallengeWindowClosed", [
        jobId,
        job.finalizeAfter,
      ]);
      await (await c.jobRegistry.finalizeJob(jobId)).wait();
      await expectRevert(() => challenge(c, challenger, jobId, q.index, witness(q, bad)), "JobNotOpen", [jobId, 2]);
    });

    it("test_challengeSubmission_tooLittleGas_revertsAndNeverSlashesAValidProof", async () => {
      const jobId = await openJob();
      const items = await Promise.all(valid.map(opened));
      const tampered = await opened(
        withPoints(valid[3] as Submission, (p) => {
          p[1] = BN254_BASE_FIELD - (p[1] as bigint);
        }),
      );
      const p = await propose(jobId, items);
      const q = await propose(jobId, [...items.slice(0, 3), tampered], other);
      const honest = witness(p, items[1] as OpenableLeaf);

      /** What one challenge sent with `gasLimit` did: "slashed", or the name of the error it reverted with. */
      const outcome = async (index: bigint, w: Witness, gasLimit: bigint): Promise<string> => {
        try {
          await (await send(challenger, "challengeSubmission", jobId, index, ...w.args, { gasLimit })).wait();
          return "slashed";
        } catch (error) {
          const data = (error as { data?: unknown }).data;
          if (typeof data === "string" && data.length >= 10) {
            return (c.jobRegistry.interface.parseError(data) ?? judge.interface.parseError(data))?.name ?? data.slice(0, 10);
          }
          if (/ran out of gas/i.test(String(error))) return "OutOfGas";
          throw error;
        }
      };

      const before = await snapshot();
      const seen = new Map<string, number>();
      const tally = async (gasLimit: bigint) => {
        const o = await outcome(p.index, honest, gasLimit);
        seen.set(o, (seen.get(o) ?? 0) + 1);
        expect(o, `a valid proof with gas limit ${gasLimit}`).to.be.oneOf(["OutOfGas", "VerifierGasTooLow", "NoFault"]);
        return o;
      };
      // Coarsely from too little to plenty, then the edge where the judge starts letting the verifier run, finely.
      for (let gas = 100_000n; gas <= 1_500_000n; gas += 50_000n) await tally(gas);
      let [low, high] = [100_000n, 1_500_000n];
      while (high - low > 1n) {
        const mid = (low + high) / 2n;
        if ((await tally(mid)) === "NoFault") high = mid;
        else low = mid;
      }
      for (let gas = high - 3_000n; gas <= high + 3_000n; gas += 50n) await tally(gas);
      expect(seen.get("slashed") ?? 0).to.equal(0);
      expect(seen.get("VerifierGasTooLow") ?? 0, "the judge refused to run the verifier short of gas").to.be.greaterThan(0);
      expect(await snapshot(), "no gas limit changed anything").to.equal(before);
      console.log(
        `      a valid proof: no slash at any gas limit; lowest limit reaching the verifier ${high}; outcomes ${JSON.stringify(Object.fromEntries(seen))}`,
      );

      // The verifier itself uses well under its fixed allowance.
      const verifier = new Contract(
        await c.semaphore.verifier(),
        ["function verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[4] signals, uint256 depth) view returns (bool)"],
        ethers.provider,
      );
      const hash = (x: bigint) => BigInt(keccak256(toBeHex(x, 32))) >> 8n;
      const e = envelopeArg(valid[1] as Submission);
      const pt = e.points;
      const args = [
        [pt[0], pt[1]],
        [
          [pt[2], pt[3]],
          [pt[4], pt[5]],
        ],
        [pt[6], pt[7]],
        [e.root, e.nullifier, hash(BigInt(e.message)), hash(BigInt(e.scope))],
        e.depth,
      ];
      expect(await verifier.getFunction("verifyProof").staticCall(...args)).to.equal(true);
      const verifierGas = await verifier.getFunction("verifyProof").estimateGas(...args);
      console.log(
        `      the stock verifier on a valid proof: ${verifierGas} gas including the transaction base cost, allowance ${VERIFIER_GAS}`,
      );
      expect(verifierGas).to.be.below((VERIFIER_GAS * 3n) / 4n);

      // An invalid proof short of gas is refused too, not judged; with enough it is slashed.
      expect(await outcome(q.index, witness(q, tampered), high - 1_000n)).to.equal("VerifierGasTooLow");
      const receipt = await (await challenge(c, challenger, jobId, q.index, witness(q, tampered))).wait();
      console.log(`      challengeSubmission slashing an invalid proof: ${receipt?.gasUsed} gas`);
      expect((await c.jobRegistry.getProposal(jobId, q.index)).faulted).to.equal(true);
    });

    it("test_challengeSubmission_fromALeafPublishedOnRequest_slashes", async () => {
      // The challenger cannot fetch the submission: it asks for the leaf, the proposer publishes the envelope, and the
      // envelope shows the proof was tampered with.
      const jobId = await openJob();
      const items = await Promise.all(valid.slice(0, 3).map(opened));
      const tampered = await opened(
        withPoints(valid[3] as Submission, (p) => {
          p[6] = BN254_BASE_FIELD - (p[6] as bigint);
        }),
      );
      const p = await propose(jobId, [...items, tampered]);
      const position = positionOf(p, tampered);
      await request(jobId, p.index, 0, position);
      const receipt = await (await answerLeaf(reducer, jobId, p, position)).wait();
      const published = receipt?.logs.map((l) => c.jobRegistry.interface.parseLog(l)).find((e) => e?.name === "LeafPublished");
      expect(published?.args.position).to.equal(BigInt(position));
      const envelope = published?.args.envelope.toObject(true) as EnvelopeArg;
      expect(await judge.digest(envelope)).to.equal(leafArg(tampered.leaf).digest);
      await expectSubmissionSlash(jobId, p, witness(p, tampered, envelope), FAULT.SubmissionProof, VERDICT.InvalidProof);
    });
  });

  // ------------------------------------------------------------------------------------- data availability

  describe("data availability", () => {
    it("test_requestData_answerLeaf_bondPaysTheAnswerer_andLeafPublishedOpensTheDigest", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const p = await propose(jobId, await openableLeaves(7, WIDTH, 71, job1));
      const bond = await r.dataRequestBond();
      expect(bond).to.equal(BOND / 10n);
      // Leaf 6 is the last, carried up a level: its path is shorter.
      for (const position of [3, 6]) {
        const registryBefore = await held();
        const tx = await r.connect(challenger).requestData(jobId, p.index, [{ level: 0, position: position }], { value: bond });
        const at = BigInt((await ethers.provider.getBlock((await tx.wait())?.blockNumber ?? 0))?.timestamp ?? 0);
        await expect(tx)
          .to.emit(r, "DataRequested")
          .withArgs(jobId, p.index, 0, position, await address(challenger), at + RESPONSE);
        const req = await r.getDataRequest(jobId, p.index, 0, position);
        expect([req.requester, req.dueAt, req.state]).to.deep.equal([await address(challenger), at + RESPONSE, BigInt(REQUEST.Open)]);
        expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(1n);
        expect(await held()).to.equal(registryBefore + bond);

        const owed = await r.balanceOf(await address(reducer));
        const receipt = await (await answerLeaf(reducer, jobId, p, position)).wait();
        const published = receipt?.logs.map((l) => r.interface.parseLog(l)).find((e) => e?.name === "LeafPublished");
        const leaf = leafArg(p.tree.leaves[position] as Leaf);
        expect(published?.args.position).to.equal(BigInt(position));
        expect(published?.args.leaf.toObject(true)).to.deep.equal({ ...leaf, payload: leaf.payload.map(BigInt) });
        const envelope = published?.args.envelope.toObject(true) as EnvelopeArg;
        expect(await judge.digest(envelope)).to.equal(leaf.digest);
        expect(await r.balanceOf(await address(reducer))).to.equal(owed + bond);
        expect((await r.getDataRequest(jobId, p.index, 0, position)).state).to.equal(BigInt(REQUEST.Answered));
        expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(0n);
        expect(await held()).to.equal(registryBefore + bond);
        // Replays: the answer again, the request again.
        await expectRevert(() => answerLeaf(reducer, jobId, p, position), "NothingToAnswer", [jobId, p.index]);
        await expectRevert(
          () => r.connect(other).requestData(jobId, p.index, [{ level: 0, position: position }], { value: bond }),
          "DataAlreadyRequested",
          [jobId, p.index, 0, position],
        );
      }
      // Answered requests do not hold up finalisation.
      await networkHelpers.time.increaseTo((await r.getJob(jobId)).finalizeAfter);
      await expect(r.finalizeJob(jobId))
        .to.emit(r, "JobFinalized")
        .withArgs(jobId, await address(reducer), p.index, 7, REWARD);
    });

    it("test_requestData_answerNode_publishesPairedNodes_carriedOnesCannotBeAsked", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      // 7 leaves: levels of 7, 4, 2, 1 nodes; (1, 3) is leaf 6 carried up.
      const p = await propose(jobId, await openableLeaves(7, WIDTH, 72, job1));
      const bond = await r.dataRequestBond();
      for (const [level, position] of [
        [1, 0],
        [1, 2],
        [2, 1],
        [3, 0],
      ] as [number, number][]) {
        await request(jobId, p.index, level, position, other);
        // Anyone holding the node may answer, and is paid for it.
        const owed = await r.balanceOf(await address(challenger));
        const receipt = await (await answerNode(challenger, jobId, p, level, position)).wait();
        const published = receipt?.logs.map((l) => r.interface.parseLog(l)).find((e) => e?.name === "NodePublished");
        const node = published?.args.node.toObject(true) as InnerArg;
        expect([published?.args.level, published?.args.position]).to.deep.equal([BigInt(level), BigInt(position)]);
        expect(innerHash(node), `(${level}, ${position})`).to.equal(p.tree.levels[level]?.[position]?.hash);
        expect(await r.balanceOf(await address(challenger))).to.equal(owed + bond);
        expect((await r.getDataRequest(jobId, p.index, level, position)).state).to.equal(BigInt(REQUEST.Answered));
      }
      expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(0n);
      const ask = (level: number | bigint, position: number | bigint) =>
        r.connect(other).requestData(jobId, p.index, [{ level: level, position: position }], { value: bond });
      await expectRevert(() => ask(1, 3), "NoSuchNode", [1, 3]);
      await expectRevert(() => ask(2, 2), "NoSuchNode", [2, 2]);
      await expectRevert(() => ask(3, 1), "NoSuchNode", [3, 1]);
      await expectRevert(() => ask(4, 0), "NoSuchNode", [4, 0]);
      await expectRevert(() => ask((1n << 256n) - 1n, 0), "NoSuchNode", [(1n << 256n) - 1n, 0]);
      await expectRevert(() => ask(0, 7), "NoSuchNode", [0, 7]);
      await expectRevert(() => ask(1, (1n << 256n) - 1n), "NoSuchNode", [1, (1n << 256n) - 1n]);
    });

    it("test_settleDataRequest_unansweredPastDue_faultsUnavailable_requesterPaidAndBondBack", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(5, WIDTH, 73, job1);
      const p = await propose(jobId, items);
      const q = await propose(jobId, items.slice(0, 3), other);
      const bond = await r.dataRequestBond();
      const dueB = await request(jobId, p.index, 1, 0);
      const dueAt = await request(jobId, p.index, 0, 2);
      await expectRevert(() => r.connect(other).settleDataRequest(jobId, p.index, 0, 2), "RequestNotDue", [jobId, p.index, dueAt]);
      // The last second to answer is the one before the due time: request B is answered then; at dueAt, A cannot be.
      await networkHelpers.time.setNextBlockTimestamp(dueB - 1n);
      await (await answerNode(reducer, jobId, p, 1, 0)).wait();
      await networkHelpers.time.setNextBlockTimestamp(dueAt);
      await expectRevert(() => answerLeaf(reducer, jobId, p, 2), "NothingToAnswer", [jobId, p.index]);

      const s = await slashOf(jobId, p.index);
      const requester = await address(challenger);
      const [registryBefore, burnBefore] = [await held(), await ethers.provider.getBalance(BURN)];
      // Anyone may settle; the requester is the challenger.
      await expect(r.connect(other).settleDataRequest(jobId, p.index, 0, 2))
        .to.emit(r, "DataRequestSettled")
        .withArgs(jobId, p.index, 0, 2, requester, true)
        .and.to.emit(r, "ProposalFaulted")
        .withArgs(jobId, p.index, s.proposer, requester, FAULT.Unavailable, s.slashed, BOND, s.reward, s.burned);
      expect(await r.balanceOf(requester)).to.equal(s.reward + bond);
      expect(await r.balanceOf(await address(reducer))).to.equal(bond); // the bond for answering B
      expect(await r.stakeOf(s.proposer)).to.equal(s.stake - s.slashed);
      expect(await held()).to.equal(registryBefore - s.burned);
      expect(await ethers.provider.getBalance(BURN)).to.equal(burnBefore + s.burned);
      const settled = await r.getDataRequest(jobId, p.index, 0, 2);
      expect([settled.state, (await r.getProposal(jobId, p.index)).openRequests]).to.deep.equal([BigInt(REQUEST.Settled), 0n]);
      await expectRevert(() => r.settleDataRequest(jobId, p.index, 0, 2), "RequestNotOpen", [jobId, p.index, 0, 2, REQUEST.Settled]);
      await expectRevert(() => answerLeaf(reducer, jobId, p, 2), "ProposalAlreadyFaulted", [jobId, p.index]);
      await expectRevert(
        () => r.connect(challenger).requestData(jobId, p.index, [{ level: 0, position: 1 }], { value: bond }),
        "ProposalAlreadyFaulted",
        [jobId, p.index],
      );

      await networkHelpers.time.increaseTo((await r.getJob(jobId)).finalizeAfter);
      await expect(r.finalizeJob(jobId))
        .to.emit(r, "JobFinalized")
        .withArgs(jobId, await address(other), q.index, 3, REWARD);
      await expect(r.connect(challenger).withdraw()).to.changeEtherBalance(ethers, challenger, s.reward + bond);
    });

    it("test_finalizeJob_DataRequestsOpen_untilSettled_lastRequestDueAtFinalizeAfter", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(4, WIDTH, 74, job1);
      const p = await propose(jobId, items);
      const q = await propose(jobId, items.slice(1), other);
      const job = await r.getJob(jobId);
      const lastRequestAt = job.finalizeAfter - RESPONSE;
      const bond = await r.dataRequestBond();
      // A request to q, answered, and one to p at the last second, never answered.
      await request(jobId, q.index, 0, 0);
      await (await answerLeaf(other, jobId, q, 0)).wait();
      await networkHelpers.time.setNextBlockTimestamp(lastRequestAt);
      expect(await request(jobId, p.index, 0, 3)).to.equal(job.finalizeAfter);
      await expectRevert(
        () => r.connect(other).requestData(jobId, p.index, [{ level: 0, position: 1 }], { value: bond }),
        "RequestWindowClosed",
        [jobId, lastRequestAt],
      );

      await networkHelpers.time.increaseTo(job.finalizeAfter);
      await expectRevert(() => r.finalizeJob(jobId), "DataRequestsOpen", [jobId, p.index, 1]);
      // Past its due time an answer is refused as overdue (answers are not bound by the challenge window, due times are).
      await expectRevert(() => answerLeaf(reducer, jobId, p, 3), "NothingToAnswer", [jobId, p.index]);
      await expect(r.settleDataRequest(jobId, p.index, 0, 3)).to.emit(r, "ProposalFaulted");
      await expect(r.finalizeJob(jobId))
        .to.emit(r, "JobFinalized")
        .withArgs(jobId, await address(other), q.index, 3, REWARD);
    });

    it("test_requestData_floodAtTheCutOff_honestProposerAnswersAllInOneCall_boundedAt64 (finding 6)", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const p = await propose(jobId, await openableLeaves(40, WIDTH, 76, job1));
      const job = await r.getJob(jobId);
      const bond = await r.dataRequestBond();
      const items = askableNodes(p.tree).map(([level, position]) => ({ level, position }));
      expect(items.length).to.be.greaterThan(64);
      // The attacker waits for the last second and asks for 64 items at once (65 is one too many).
      await expectRevert(
        () => r.connect(challenger).requestData(jobId, p.index, items.slice(0, 65), { value: bond * 65n }),
        "TooManyRequests",
        [jobId, p.index, 65n, 64n],
      );
      await networkHelpers.time.setNextBlockTimestamp(job.finalizeAfter - RESPONSE);
      await (await r.connect(challenger).requestData(jobId, p.index, items.slice(0, 64), { value: bond * 64n })).wait();
      // Due times spread out with the open requests: the 64th is due four response times after the flood.
      const dues = await Promise.all(items.slice(0, 64).map((i) => r.getDataRequest(jobId, p.index, i.level, i.position)));
      expect(dues[0]?.dueAt).to.equal(job.finalizeAfter);
      expect(dues[63]?.dueAt).to.equal(job.finalizeAfter + 3n * RESPONSE);
      // The honest proposer answers every one of them in one transaction, just before the first fall due.
      await networkHelpers.time.setNextBlockTimestamp(job.finalizeAfter - 1n);
      const leaves = items
        .slice(0, 64)
        .filter((i) => i.level === 0)
        .map((i) => leafAnswerOf(p, i.position));
      const nodes = items
        .slice(0, 64)
        .filter((i) => i.level > 0)
        .map((i) => nodeAnswerOf(p, i.level, i.position));
      const owed = await r.balanceOf(await address(reducer));
      await expect(r.connect(reducer).answerData(jobId, p.index, leaves, nodes)).to.emit(r, "ChallengeWindowExtended");
      expect(await r.balanceOf(await address(reducer))).to.equal(owed + 64n * bond);
      expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(0n);
      for (const i of items.slice(0, 64))
        await expectRevert(() => r.settleDataRequest(jobId, p.index, i.level, i.position), "RequestNotOpen");
      expect((await r.getProposal(jobId, p.index)).faulted).to.equal(false);
    });

    it("test_answerData_frontRunItemSkipped_budgetsPerRequester_extensionCapped (review C2, H4, M2)", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const p = await propose(jobId, await openableLeaves(8, WIDTH, 78, job1));
      const job = await r.getJob(jobId);
      const bond = await r.dataRequestBond();
      // Someone asks for much of the tree: another requester still has a budget of its own.
      const flood = askableNodes(p.tree)
        .map(([level, position]) => ({ level, position }))
        .filter((i) => !(i.level === 0 && i.position >= 2))
        .slice(0, 15);
      await (await r.connect(other).requestData(jobId, p.index, flood, { value: bond * BigInt(flood.length) })).wait();
      await (await r.connect(challenger).requestData(jobId, p.index, [{ level: 0, position: 7 }], { value: bond })).wait();
      // An answerer front-runs one item of the proposer's batch: the batch still answers the rest, paid for those.
      await (await r.connect(other).answerData(jobId, p.index, [leafAnswerOf(p, 0)], [])).wait();
      const owed = await r.balanceOf(await address(reducer));
      const batch = [0, 1, 7].map((position) => leafAnswerOf(p, position));
      await (await r.connect(reducer).answerData(jobId, p.index, batch, [])).wait();
      expect(await r.balanceOf(await address(reducer))).to.equal(owed + 2n * bond);
      await expectRevert(() => r.connect(reducer).answerData(jobId, p.index, batch, []), "NothingToAnswer", [jobId, p.index]);
      // Answering again and again cannot hold the job open for more than MAX_EXTENSION_WINDOWS challenge windows.
      const cap = job.finalizeAfter + (await r.MAX_EXTENSION_WINDOWS()) * WINDOW;
      for (let position = 2; position < 7; position++) {
        const due = await request(jobId, p.index, 0, position);
        await networkHelpers.time.setNextBlockTimestamp(due - 1n);
        await (await r.connect(reducer).answerData(jobId, p.index, [leafAnswerOf(p, position)], [])).wait();
      }
      expect(job.finalizeAfter + (await r.getProposal(jobId, p.index)).extension).to.be.at.most(cap);
    });

    it("test_answerData_lateAnswer_extendsTheChallengeWindow_soWhatItShowsCanStillBeProven", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(6, WIDTH, 77, job1);
      const p = await propose(jobId, items);
      const job = await r.getJob(jobId);
      // Asked at the last moment, answered at the last moment: the window must not close on what was just shown.
      await networkHelpers.time.setNextBlockTimestamp(job.finalizeAfter - RESPONSE);
      const due = await request(jobId, p.index, 0, 2);
      await networkHelpers.time.setNextBlockTimestamp(due - 1n);
      await expect(answerLeaf(reducer, jobId, p, 2))
        .to.emit(r, "ChallengeWindowExtended")
        .withArgs(jobId, p.index, due - 1n + 2n * RESPONSE);
      expect((await r.getProposal(jobId, p.index)).extension).to.equal(due - 1n + 2n * RESPONSE - job.finalizeAfter);
      // Past finalizeAfter: finalisation waits, the proposal can still be asked for more and challenged.
      await networkHelpers.time.increaseTo(job.finalizeAfter + 1n);
      await expectRevert(() => r.finalizeJob(jobId), "ChallengeWindowStillOpen", [jobId, due - 1n + 2n * RESPONSE]);
      await request(jobId, p.index, 0, 3);
      // The leaf's envelope carries a made-up proof: the challenge that once would have been too late now lands.
      await expect(challenge(c, challenger, jobId, p.index, witness(p, itemAt(p, 2)))).to.emit(r, "ProposalFaulted");
      await networkHelpers.time.increaseTo(due - 1n + 2n * RESPONSE);
      await expect(r.settleDataRequest(jobId, p.index, 0, 3)).to.emit(r, "DataRequestSettled");
      await expect(r.finalizeJob(jobId)).to.emit(r, "JobRefunded");
    });

    it("test_settleDataRequest_onAFaultedProposal_refundsAtAnyTime_evenAfterFinalisation", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(4, WIDTH, 75, job1);
      const honest = reduceTree(
        items.map((i) => i.leaf),
        SUM,
        WIDTH,
      );
      const p = await propose(
        jobId,
        items,
        reducer,
        honest.aggregate.map((x) => x + 1),
      );
      const bond = await r.dataRequestBond();
      const dueA = await request(jobId, p.index, 0, 1, challenger);
      await request(jobId, p.index, 1, 0, other);
      // Faulted some other way while both requests are open.
      await (await challenge(c, challenger, jobId, p.index, rootWitness(p.tree, SUM, p.aggregate))).wait();
      expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(2n);
      await expectRevert(() => answerLeaf(reducer, jobId, p, 1), "ProposalAlreadyFaulted", [jobId, p.index]);

      // Before its due time, request A is simply refunded: no second fault.
      expect(BigInt(await networkHelpers.time.latest())).to.be.below(dueA);
      const owedA = await r.balanceOf(await address(challenger));
      const registryBefore = await held();
      const tx = r.connect(other).settleDataRequest(jobId, p.index, 0, 1);
      await expect(tx)
        .to.emit(r, "DataRequestSettled")
        .withArgs(jobId, p.index, 0, 1, await address(challenger), false)
        .and.not.to.emit(r, "ProposalFaulted");
      expect(await r.balanceOf(await address(challenger))).to.equal(owedA + bond);
      expect(await held()).to.equal(registryBefore);

      // Request B stays open through finalisation (a faulted proposal does not hold it up) and is refunded after.
      await networkHelpers.time.increaseTo((await r.getJob(jobId)).finalizeAfter);
      await expect(r.finalizeJob(jobId)).to.emit(r, "JobRefunded");
      const owedB = await r.balanceOf(await address(other));
      await expect(r.settleDataRequest(jobId, p.index, 1, 0))
        .to.emit(r, "DataRequestSettled")
        .withArgs(jobId, p.index, 1, 0, await address(other), false);
      expect(await r.balanceOf(await address(other))).to.equal(owedB + bond);
      expect((await r.getProposal(jobId, p.index)).openRequests).to.equal(0n);
      await expectRevert(() => r.settleDataRequest(jobId, p.index, 1, 0), "RequestNotOpen", [jobId, p.index, 1, 0, REQUEST.Settled]);
    });

    it("test_dataRequests_hostileInput_namedErrors_stateUnchanged", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(6, WIDTH, 76, job1);
      const p = await propose(jobId, items);
      const bond = await r.dataRequestBond();
      const ask = (value: bigint, level = 0, position = 2, index = p.index, job = jobId) =>
        r.connect(challenger).requestData(job, index, [{ level: level, position: position }], { value });

      // requestData: the exact bond, an existing job, proposal and node.
      for (const value of [0n, bond - 1n, bond + 1n, BOND]) await expectRevert(() => ask(value), "WrongRequestBond", [value, bond]);
      await expectRevert(() => ask(bond, 0, 2, p.index, 9n), "JobNotFound", [9n]);
      await expectRevert(() => ask(bond, 0, 2, 1n), "ProposalNotFound", [jobId, 1n]);
      await expectRevert(() => ask(bond, 0, 6), "NoSuchNode", [0, 6]);
      // A batch: at least one item, and one bond per item.
      await expectRevert(() => r.connect(challenger).requestData(jobId, p.index, [], { value: 0n }), "NoItems", []);
      const two = [
        { level: 0, position: 2 },
        { level: 0, position: 3 },
      ];
      for (const value of [bond, 2n * bond + 1n])
        await expectRevert(() => r.connect(challenger).requestData(jobId, p.index, two, { value }), "WrongRequestBond", [value, 2n * bond]);
      await expectRevert(() => send(reducer, "answerData", jobId, p.index, [], []), "NoItems", []);

      // answerLeaf, answerNode, settleDataRequest on nothing requested.
      await expectRevert(() => answerLeaf(reducer, jobId, p, 2), "NothingToAnswer", [jobId, p.index]);
      await expectRevert(() => answerNode(reducer, jobId, p, 1, 0), "NothingToAnswer", [jobId, p.index]);
      await expectRevert(() => r.settleDataRequest(jobId, p.index, 0, 2), "RequestNotOpen", [jobId, p.index, 0, 2, REQUEST.None]);
      await expectRevert(() => r.settleDataRequest(jobId, 1n, 0, 2), "ProposalNotFound", [jobId, 1n]);
      await expectRevert(() => r.settleDataRequest(9n, 0n, 0, 2), "JobNotFound", [9n]);

      const dueAt = await request(jobId, p.index, 0, 2);
      await request(jobId, p.index, 1, 1);
      await expectRevert(() => ask(bond), "DataAlreadyRequested", [jobId, p.index, 0, 2]);

      // Answers that do not open the requested item.
      const leaf = leafArg(p.tree.leaves[2] as Leaf);
      const path = ancestorsOf(p.tree, 0, 2);
      const envelope = itemAt(p, 2).envelope;
      const leafAnswer = (position: number, leaf: unknown, path: unknown, envelope: unknown) =>
        send(reducer, "answerData", jobId, p.index, [{ position, leaf, path, envelope }], []);
      const otherEnvelope = itemAt(p, 3).envelope;
      await expectRevert(
        () => leafAnswer(2, leaf, path, otherEnvelope),
        "EnvelopeMismatch",
        [await judge.digest(otherEnvelope), leaf.digest],
        judge,
      );
      await expectRevert(() => leafAnswer(2, leaf, path, { ...envelope, payload: [TWO_64, 0, 0] }), "IntegerTooLarge", [TWO_64], judge);
      await expectRevert(() => leafAnswer(2, { ...leaf, payload: [0, 0, 0] }, path, envelope), "NotInTree");
      await expectRevert(() => leafAnswer(2, leafArg(p.tree.leaves[3] as Leaf), ancestorsOf(p.tree, 0, 3), otherEnvelope), "NotInTree");
      await expectRevert(() => leafAnswer(2, leaf, path.slice(1), envelope), "WrongPathLength", [path.length - 1, path.length]);
      await expectRevert(
        () => leafAnswer(3, leafArg(p.tree.leaves[3] as Leaf), ancestorsOf(p.tree, 0, 3), otherEnvelope),
        "NothingToAnswer",
        [jobId, p.index],
      );
      const node = innerOf(p.tree, 1, 1);
      const nodePath = ancestorsOf(p.tree, 1, 1);
      const nodeAnswer = (level: number, position: number, n: InnerArg, a: unknown[]) =>
        send(reducer, "answerData", jobId, p.index, [], [{ level, position, node: n, path: a }]);
      await expectRevert(() => nodeAnswer(0, 2, node, path), "InvalidLevel", [0]);
      await expectRevert(() => nodeAnswer(1, 1, { ...node, value: node.value.map((x) => x + 1) }, nodePath), "NotInTree");
      await expectRevert(() => nodeAnswer(1, 1, { ...node, left: node.right, right: node.left }, nodePath), "NotInTree");
      await expectRevert(() => nodeAnswer(1, 1, innerOf(p.tree, 1, 0), ancestorsOf(p.tree, 1, 0)), "NotInTree");
      await expectRevert(() => nodeAnswer(1, 1, node, [...nodePath, ...nodePath]), "WrongPathLength", [
        2 * nodePath.length,
        nodePath.length,
      ]);

      // Too late to answer, too early to settle, and the request window closes responseTime before finalizeAfter.
      await expectRevert(() => r.settleDataRequest(jobId, p.index, 0, 2), "RequestNotDue", [jobId, p.index, dueAt]);
      await networkHelpers.time.increaseTo(dueAt);
      await expectRevert(() => leafAnswer(2, leaf, path, envelope), "NothingToAnswer", [jobId, p.index]);
      const job = await r.getJob(jobId);
      await networkHelpers.time.increaseTo(job.finalizeAfter - RESPONSE);
      await expectRevert(() => ask(bond, 0, 4), "RequestWindowClosed", [jobId, job.finalizeAfter - RESPONSE]);
      await networkHelpers.time.increaseTo(job.finalizeAfter);
      await expectRevert(() => ask(bond, 0, 4), "ChallengeWindowClosed", [jobId, job.finalizeAfter]);
      // Both open requests fault the proposal once; the second is refunded.
      await expect(r.settleDataRequest(jobId, p.index, 0, 2)).to.emit(r, "ProposalFaulted");
      await expect(r.settleDataRequest(jobId, p.index, 1, 1))
        .to.emit(r, "DataRequestSettled")
        .withArgs(jobId, p.index, 1, 1, await address(challenger), false)
        .and.not.to.emit(r, "ProposalFaulted");
      await (await r.finalizeJob(jobId)).wait();
      await expectRevert(() => ask(bond), "JobNotOpen", [jobId, 3]);
    });

    it("test_dataAvailability_aLeafNobodyCanOpen_cannotBeProvenWrong_butIsSlashedAsUnavailable", async () => {
      const r = c.jobRegistry;
      const jobId = await openJob();
      const items = await openableLeaves(3, WIDTH, 77, job1);
      // A leaf whose CID is no envelope's: randomLeaves' digests are keccak of the nullifier.
      const [junk] = randomLeaves(1, WIDTH, 78) as [Leaf];
      const unopenable: OpenableLeaf = { leaf: junk, envelope: (items[0] as OpenableLeaf).envelope };
      const p = await propose(jobId, [...items, unopenable]);
      const position = positionOf(p, unopenable);
      await expectRevert(() => challenge(c, challenger, jobId, p.index, witness(p, unopenable)), "EnvelopeMismatch", undefined, judge);
      const dueAt = await request(jobId, p.index, 0, position);
      await expectRevert(() => answerLeaf(reducer, jobId, p, position), "EnvelopeMismatch", undefined, judge);
      await networkHelpers.time.increaseTo(dueAt);
      await expect(r.settleDataRequest(jobId, p.index, 0, position))
        .to.emit(r, "ProposalFaulted")
        .withArgs(
          jobId,
          p.index,
          await address(reducer),
          await address(challenger),
          FAULT.Unavailable,
          STAKE / 40n,
          BOND,
          (STAKE / 40n + BOND) / 2n,
          (STAKE / 40n + BOND) / 2n,
        );
    });

    // A request is due half a challenge window after it is made: with windows of 1-3 s it could not be answered
    // (ChallengeWindowClosed or RequestOverdue in the next block) and settling it would fault an honest proposal, so
    // postJob refuses windows under MIN_CHALLENGE_WINDOW.
    it("test_requestData_shortChallengeWindows_anHonestProposerCanAlwaysAnswer", async () => {
      // Either such a window is refused, or a request made during the job can still be answered in the next block.
      const r = c.jobRegistry;
      for (const window of [1n, 2n, 3n, 59n, 60n]) {
        await base.restore();
        const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
        const post = r
          .connect(researcher)
          .postJob(SPEC_DIGEST, 0n, 1, deadline, window, parseEther("1"), reduceParams(SUM, WIDTH), { value: REWARD });
        try {
          await (await post).wait();
        } catch (error) {
          expect(String(error), `window ${window}`).to.match(/InvalidChallengeWindow/);
          continue;
        }
        await networkHelpers.time.setNextBlockTimestamp(deadline);
        const p = await propose(1n, await openableLeaves(2, WIDTH, 79, job1));
        await request(1n, p.index, 0, 0);
        await expect(answerLeaf(reducer, 1n, p, 0), `window ${window}: answered in the next block`).to.emit(r, "LeafPublished");
      }
    });

    it("test_dataAvailability_honestProposer_answersEveryRequest_neverSlashed (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.nat(), fc.nat(), async (n, seed, pick) => {
          await base.restore();
          const r = c.jobRegistry;
          const jobId = await openJob();
          const p = await propose(jobId, await openableLeaves(n, WIDTH, seed + 1, job1));
          const askable = askableNodes(p.tree);
          const [level, position] = askable[pick % askable.length] as [number, number];
          await request(jobId, p.index, level, position);
          const owed = await r.balanceOf(await address(reducer));
          await (await (level === 0 ? answerLeaf(reducer, jobId, p, position) : answerNode(reducer, jobId, p, level, position))).wait();
          expect(await r.balanceOf(await address(reducer))).to.equal(owed + (await r.dataRequestBond()));
          await networkHelpers.time.increaseTo((await r.getJob(jobId)).finalizeAfter);
          await expectRevert(() => r.settleDataRequest(jobId, p.index, level, position), "RequestNotOpen", [
            jobId,
            p.index,
            level,
            position,
            REQUEST.Answered,
          ]);
          await expect(r.finalizeJob(jobId)).to.emit(r, "JobFinalized");
          expect((await r.getProposal(jobId, p.index)).faulted).to.equal(false);
        }),
        { seed: 31_337, numRuns: 20 },
      );
    });
  });
});
