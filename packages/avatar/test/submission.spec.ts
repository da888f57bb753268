import { randomBytes } from "node:crypto";
import {
  InvalidProofError,
  MalformedSubmissionError,
  NullifierReusedError,
  PayloadHashMismatchError,
  PayloadOutOfBoundsError,
  SubmissionTooLargeError,
  UnknownRootError,
  WrongJobError,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import {
  decodeSubmission,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  MAX_SUBMISSION_BYTES,
  proveSubmission,
  type Submission,
  verifyArtifacts,
  verifySubmission,
} from "../src/index.js";
import { expectRejects } from "../../../test/helpers.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
const bounds = { length: 3, min: -100, max: 200 };

describe("avatar submissions (real Semaphore proofs)", () => {
  const seeds = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const identities = seeds.map((s) => deriveAvatarIdentity(s));
  const group = new Group(identities.map((i) => i.commitment));
  let valid: Submission;
  const ctx = () => ({ job, groupRoot: group.root, bounds, seenNullifiers: new Set<string>() });

  before(async () => {
    await verifyArtifacts();
    valid = await proveSubmission(identities[0]!, group, job, [10, 20, 30]);
  });

  it("derives the same identity from the same seed, and different ones otherwise", () => {
    expect(deriveAvatarIdentity(seeds[0]!).commitment).to.equal(identities[0]!.commitment);
    expect(identities[1]!.commitment).to.not.equal(identities[0]!.commitment);
    expect(() => deriveAvatarIdentity(new Uint8Array(31))).to.throw(RangeError, /rootSeed: expected 32 bytes, got 31/);
  });

  it("round-trips through the dag-cbor envelope and verifies", async () => {
    const block = await encodeSubmission(valid);
    expect(block.bytes.length).to.be.below(MAX_SUBMISSION_BYTES);
    const decoded = decodeSubmission(block.bytes);
    expect(decoded).to.deep.equal(valid);
    await verifySubmission(decoded, ctx());
  });

  it("rejects a proof for another job with WrongJobError", async () => {
    const other = await proveSubmission(identities[1]!, group, { ...job, jobId: 2n }, [1, 2, 3]);
    await expectRejects(verifySubmission(other, ctx()), WrongJobError);
    // Claiming this job in the envelope does not help: the proof's scope still names job 2.
    await expectRejects(verifySubmission({ ...other, job }, ctx()), WrongJobError, /scope/);
  });

  it("rejects a proof against a root the job did not fix with UnknownRootError", async () => {
    await expectRejects(verifySubmission(valid, { ...ctx(), groupRoot: group.root + 1n }), UnknownRootError);
  });

  it("rejects a payload whose hash is not the proof's message", async () => {
    await expectRejects(verifySubmission({ ...valid, payload: [10, 20, 31] }, ctx()), PayloadHashMismatchError);
  });

  it("rejects payloads out of bounds or of the wrong length", async () => {
    const high = await proveSubmission(identities[2]!, group, job, [10, 20, 201]);
    await expectRejects(verifySubmission(high, ctx()), PayloadOutOfBoundsError, /payload\[2\]: 201 outside/);
    const short = await proveSubmission(identities[2]!, group, job, [10, 20]);
    await expectRejects(verifySubmission(short, ctx()), PayloadOutOfBoundsError, /expected 3 items, got 2/);
  });

  it("rejects a reused nullifier with NullifierReusedError", async () => {
    const seen = new Set([valid.proof.nullifier]);
    await expectRejects(verifySubmission(valid, { ...ctx(), seenNullifiers: seen }), NullifierReusedError);
    expect([...seen]).to.deep.equal([valid.proof.nullifier]);
  });

  it("rejects a tampered proof point with InvalidProofError", async () => {
    const points = [...valid.proof.points] as Submission["proof"]["points"];
    points[3] = (BigInt(points[3]) + 1n).toString();
    await expectRejects(verifySubmission({ ...valid, proof: { ...valid.proof, points } }, ctx()), InvalidProofError);
  });

  it("decodes only well-formed envelopes: random bytes and mangled fields get named errors", async () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodeSubmission(bytes);
          expect.fail("random bytes decoded");
        } catch (err) {
          expect((err as Error).name).to.be.oneOf(["MalformedSubmissionError", "SubmissionTooLargeError"]);
        }
      }),
      { seed: 3, numRuns: 300 },
    );
    const good = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    const mangles: Array<(e: Record<string, any>) => void> = [
      (e) => {
        e.v = 2;
      },
      (e) => {
        e.extra = 1;
      },
      (e) => {
        e.payload = [1.5, 2, 3];
      },
      (e) => {
        e.payload = [];
      },
      (e) => {
        e.proof.points = e.proof.points.slice(0, 7);
      },
      (e) => {
        e.proof.nullifier = new Uint8Array(31);
      },
      (e) => {
        e.job.registry = "0xNOT";
      },
      (e) => {
        e.job.id = -1;
      },
      (e) => {
        delete e.proof;
      },
    ];
    for (const mangle of mangles) {
      const e = structuredClone(good);
      mangle(e);
      expect(() => decodeSubmission(dagCbor.encode(e))).to.throw(MalformedSubmissionError);
    }
    expect(() => decodeSubmission(new Uint8Array(MAX_SUBMISSION_BYTES + 1))).to.throw(SubmissionTooLargeError);
  });
});
