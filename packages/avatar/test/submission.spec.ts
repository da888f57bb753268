import { randomBytes } from "node:crypto";
import {
  bigintToBytes32,
  bytes32ToBigint,
  ExpiredRootError,
  InvalidProofError,
  MalformedSubmissionError,
  NullifierReusedError,
  PayloadHashMismatchError,
  PayloadOutOfBoundsError,
  SNARK_SCALAR_FIELD,
  SubmissionTooLargeError,
  UnknownRootError,
  WrongJobError,
} from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import {
  BN254_BASE_FIELD,
  decodeSubmission,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  MAX_SHARED_SUBMISSION_BYTES,
  MAX_SUBMISSION_BYTES,
  proveSubmission,
  type Submission,
  type VerifyContext,
  verifyArtifacts,
  checkSubmission,
  verifySubmission,
} from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
const bounds = { length: 3, min: [-100, -100, -100], max: [200, 200, 200] };

describe("avatar submissions (real Semaphore proofs)", () => {
  const seeds = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const identities = seeds.map((s) => deriveAvatarIdentity(s));
  const group = new Group(identities.map((i) => i.commitment));
  let valid: Submission;
  const ctx = () => ({ job, groupRoot: group.root, bounds, seenNullifiers: new Set<string>() });
  /** Asserts a rejection with the named error, and that the context's sets are left as they were. */
  const rejects = async (sub: Submission, c: VerifyContext, type: new (...args: never[]) => Error, pattern?: RegExp) => {
    const before = JSON.stringify([[...(c.seenNullifiers as Set<string>)], [...((c.pastRoots ?? new Set()) as Set<bigint>)].map(String)]);
    await expectRejects(verifySubmission(sub, c), type, pattern);
    const after = JSON.stringify([[...(c.seenNullifiers as Set<string>)], [...((c.pastRoots ?? new Set()) as Set<bigint>)].map(String)]);
    expect(after, `${type.name} left the context unchanged`).to.equal(before);
  };

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

  it("encodes the v1 wire shape: top-level nullifier, root and depth; points, message and scope under proof", async () => {
    const wire = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    expect(Object.keys(wire).sort()).to.deep.equal(["depth", "job", "nullifier", "payload", "proof", "root", "v"]);
    expect(Object.keys(wire.proof).sort()).to.deep.equal(["message", "points", "scope"]);
    expect(wire.v).to.equal(1);
    expect(wire.depth).to.equal(20);
    expect(bytes32ToBigint(wire.root)).to.equal(group.root);
    expect(bytes32ToBigint(wire.nullifier).toString()).to.equal(valid.proof.nullifier);
    expect(wire.proof.points.map((p: Uint8Array) => bytes32ToBigint(p).toString())).to.deep.equal(valid.proof.points);
  });

  it("rejects a proof against a root the job did not fix with UnknownRootError", async () => {
    await rejects(valid, { ...ctx(), groupRoot: group.root + 1n }, UnknownRootError, /is not the job's group root/);
    // A history of past roots that does not hold this one changes nothing.
    await rejects(valid, { ...ctx(), groupRoot: group.root + 1n, pastRoots: new Set([5n]) }, UnknownRootError);
  });

  it("rejects a proof against an earlier root of the group with ExpiredRootError", async () => {
    const before = new Group(identities.slice(0, 2).map((i) => i.commitment));
    const stale = await proveSubmission(identities[0]!, before, job, [10, 20, 30]);
    await rejects(stale, { ...ctx(), pastRoots: new Set([before.root]) }, ExpiredRootError, /earlier root of the group.*prove again/);
    // Without the history the same root is merely unknown; and the job's own root is never expired.
    await rejects(stale, ctx(), UnknownRootError);
    await verifySubmission(valid, { ...ctx(), pastRoots: new Set([before.root]) });
  });

  it("rejects a depth other than 20 as malformed, before any root check", async () => {
    await rejects(
      { ...valid, proof: { ...valid.proof, merkleTreeDepth: 16 } },
      { ...ctx(), groupRoot: 1n },
      MalformedSubmissionError,
      /depth 16.*depth 20/,
    );
  });

  it("rejects a payload whose hash is not the proof's message", async () => {
    await expectRejects(verifySubmission({ ...valid, payload: [10, 20, 31] }, ctx()), PayloadHashMismatchError);
  });

  it("rejects payloads out of bounds or of the wrong length", async () => {
    const high = await proveSubmission(identities[2]!, group, job, [10, 20, 201]);
    await expectRejects(verifySubmission(high, ctx()), PayloadOutOfBoundsError, /payload\[2\]: 201 outside/);
    const short = await proveSubmission(identities[2]!, group, job, [10, 20]);
    await expectRejects(verifySubmission(short, ctx()), PayloadOutOfBoundsError, /expected 3 items, got 2/);
    const perEntry = { length: 3, min: [-100, -100, -100], max: [200, 200, 29] };
    await expectRejects(
      verifySubmission(valid, { ...ctx(), bounds: perEntry }),
      PayloadOutOfBoundsError,
      /payload\[2\]: 30 outside \[-100, 29\]/,
    );
  });

  it("checkSubmission makes every check but the proof (for batch verification)", async () => {
    const points = [...valid.proof.points] as Submission["proof"]["points"];
    points[3] = (BigInt(points[3]) + 1n).toString();
    expect(() => checkSubmission({ ...valid, proof: { ...valid.proof, points } }, ctx())).not.to.throw();
    expect(() => checkSubmission({ ...valid, payload: [10, 20, 31] }, ctx())).to.throw(PayloadHashMismatchError);
  });

  it("rejects a reused nullifier with NullifierReusedError", async () => {
    const seen = new Set([valid.proof.nullifier]);
    await rejects(valid, { ...ctx(), seenNullifiers: seen }, NullifierReusedError);
    expect([...seen]).to.deep.equal([valid.proof.nullifier]);
  });

  it("rejects a tampered proof point with InvalidProofError", async () => {
    const points = [...valid.proof.points] as Submission["proof"]["points"];
    points[3] = (BigInt(points[3]) + 1n).toString();
    await rejects({ ...valid, proof: { ...valid.proof, points } }, ctx(), InvalidProofError);
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
    const word = (x: bigint) => bigintToBytes32(x);
    const mangles: Array<[RegExp, (e: Record<string, any>) => void]> = [
      [/envelope\.v: expected 1 or 2, got 3/, (e) => (e.v = 3)],
      // A v1 body under v2 (and v2's report key under v1) is the other version's key set: refused by name.
      [/envelope: expected keys .*report.*got .*payload/, (e) => (e.v = 2)],
      [/envelope: expected keys/, (e) => (e.extra = 1)],
      [/envelope: expected keys/, (e) => delete e.proof],
      [/envelope: expected keys/, (e) => delete e.depth],
      // The earlier shape, with root, nullifier and depth inside the proof.
      [/envelope\.proof: expected keys/, (e) => Object.assign(e.proof, { root: e.root, nullifier: e.nullifier, depth: e.depth })],
      [/envelope\.proof: expected keys/, (e) => delete e.proof.scope],
      [/envelope\.proof: expected a map/, (e) => (e.proof = [e.proof])],
      [/envelope\.payload\[0\]: expected an integer, got 1\.5/, (e) => (e.payload = [1.5, 2, 3])],
      [/envelope\.payload: expected 1\.\.256/, (e) => (e.payload = [])],
      [/envelope\.payload: expected 1\.\.256/, (e) => (e.payload = new Array(257).fill(0))],
      [/envelope\.payload\[1\]: expected an integer/, (e) => (e.payload = [1, 2 ** 60, 3])],
      [/envelope\.proof\.points: expected 8 words, got an array of 7/, (e) => (e.proof.points = e.proof.points.slice(0, 7))],
      [/envelope\.proof\.points\[2\]: expected 32 bytes, got 33 bytes/, (e) => (e.proof.points[2] = new Uint8Array(33))],
      [/envelope\.nullifier: expected 32 bytes, got 31 bytes/, (e) => (e.nullifier = new Uint8Array(31))],
      [/envelope\.root: expected 32 bytes/, (e) => (e.root = group.root.toString())],
      [/envelope\.proof\.message: expected 32 bytes/, (e) => (e.proof.message = 1)],
      [/envelope\.proof\.scope: expected 32 bytes/, (e) => (e.proof.scope = null)],
      // Public signals must be scalar field elements (snarkjs and the on-chain verifier refuse the rest).
      [/envelope\.root: \d+ is not a field element/, (e) => (e.root = word(SNARK_SCALAR_FIELD))],
      [/envelope\.nullifier: \d+ is not a field element/, (e) => (e.nullifier = word(SNARK_SCALAR_FIELD + 5n))],
      // Point coordinates must be reduced: snarkjs would accept x + p for x and give one proof two encodings.
      [
        /envelope\.proof\.points\[3\]: \d+ is not a field element/,
        (e) => (e.proof.points[3] = word(bytes32ToBigint(e.proof.points[3]) + BN254_BASE_FIELD)),
      ],
      [/envelope\.proof\.points\[0\]: \d+ is not a field element/, (e) => (e.proof.points[0] = word(BN254_BASE_FIELD))],
      [/envelope\.depth: expected 20, the one depth Mosaic proves at; got 16/, (e) => (e.depth = 16)],
      [/envelope\.depth: expected 20/, (e) => (e.depth = "20")],
      [/envelope\.job\.registry: expected a lower-case 0x address, got "0xNOT"/, (e) => (e.job.registry = "0xNOT")],
      [/envelope\.job\.registry/, (e) => (e.job.registry = e.job.registry.toUpperCase())],
      [/envelope\.job\.id: expected a non-negative integer, got -1/, (e) => (e.job.id = -1)],
      [/envelope\.job: expected keys/, (e) => delete e.job.chain],
    ];
    for (const [message, mangle] of mangles) {
      const e = structuredClone(good);
      mangle(e);
      expect(() => decodeSubmission(dagCbor.encode(e)), String(message)).to.throw(MalformedSubmissionError, message);
    }
    // A word below the base field but above the scalar field is a well-formed point; the proof then fails.
    const high = structuredClone(good);
    high.proof.points[1] = word(BN254_BASE_FIELD - 1n);
    expect(decodeSubmission(dagCbor.encode(high)).proof.points[1]).to.equal((BN254_BASE_FIELD - 1n).toString());
    // Message and scope may be any 256-bit word: Semaphore hashes them into the field.
    const wide = structuredClone(good);
    wide.proof.message = new Uint8Array(32).fill(0xff);
    expect(decodeSubmission(dagCbor.encode(wide)).proof.message).to.equal(((1n << 256n) - 1n).toString());
    // Over the v2 limit nothing is decoded; a v1 envelope is held to its own 4 KiB (shared.spec.ts has the v2 side).
    expect(() => decodeSubmission(new Uint8Array(MAX_SHARED_SUBMISSION_BYTES + 1))).to.throw(SubmissionTooLargeError);
    const padded = structuredClone(good);
    padded.payload = new Array(256).fill(Number.MAX_SAFE_INTEGER);
    padded.extra = new Uint8Array(MAX_SUBMISSION_BYTES);
    expect(() => decodeSubmission(dagCbor.encode(padded))).to.throw(SubmissionTooLargeError, /over the 4096-byte limit/);
  });

  it("decodes only canonical dag-cbor, so one submission has one CID", async () => {
    const good = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, unknown>;
    // A CBOR map written entry by entry, in the order given (dag-cbor's encoder always sorts).
    const map = (entries: Array<[string, Uint8Array]>) =>
      concat([Uint8Array.of(0xa0 + entries.length), ...entries.flatMap(([k, v]) => [dagCbor.encode(k), v])]);
    const canonical = Object.keys(good).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    const inOrder = map(canonical.map((k) => [k, dagCbor.encode(good[k])]));
    expect(decodeSubmission(inOrder)).to.deep.equal(valid);
    // Keys out of dag-cbor's order: the decoder itself would accept it.
    const reversed = map([...canonical].reverse().map((k) => [k, dagCbor.encode(good[k])]));
    expect(dagCbor.decode(reversed)).to.deep.equal(good);
    expect(() => decodeSubmission(reversed)).to.throw(MalformedSubmissionError, /not canonical dag-cbor/);
    // A payload integer written as a float64 decodes to the same number, hence the same (valid) proof.
    const payload = concat([
      Uint8Array.of(0x83),
      dagCbor.encode(10),
      dagCbor.encode(20),
      Uint8Array.of(0xfb, 0x40, 0x3e, 0, 0, 0, 0, 0, 0),
    ]);
    expect(dagCbor.decode(payload)).to.deep.equal([10, 20, 30]);
    const floaty = map(canonical.map((k) => [k, k === "payload" ? payload : dagCbor.encode(good[k])]));
    expect(() => decodeSubmission(floaty)).to.throw(MalformedSubmissionError, /not canonical dag-cbor/);
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
