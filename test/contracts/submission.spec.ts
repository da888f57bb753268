// Submission fraud proofs and the data-availability rule: SubmissionJudge re-encodes envelopes byte for byte as
// @mosaic/avatar does, and JobRegistry slashes a leaf whose submission is wrong or that nobody publishes.
import { encodeSubmission, envelopeArg, type Submission } from "@mosaic/avatar";
import { deployMosaic, type MosaicContracts, SubmissionJudge__factory } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { hexlify, parseEther, type Signer } from "ethers";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

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

describe("SubmissionJudge", () => {
  let ethers: Connection["ethers"];
  let c: MosaicContracts;
  let deployer: Signer;
  before(async () => {
    ({ ethers } = await network.connect());
    [deployer] = (await ethers.getSigners()) as unknown as [Signer];
    c = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
  });

  it("test_encode_byteEqualToEncodeSubmission_andDigestIsTheCidDigest (property)", async () => {
    const judge = SubmissionJudge__factory.connect(await c.jobRegistry.submissionJudge(), deployer);
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
});
