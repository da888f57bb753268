// Envelope v2 (a shared job's secret-shared report) on real Semaphore proofs: the proof binds both encrypted shares,
// the public share and the nonce; an attacker who changes any of them after proving, moves a proof onto another
// report, or passes one version where the other is expected gets a named error and nothing is accepted.
import { randomBytes } from "node:crypto";
import * as dagCbor from "@ipld/dag-cbor";
import {
  bytes32ToBigint,
  InvalidProofError,
  MalformedSubmissionError,
  NullifierReusedError,
  PayloadHashMismatchError,
  SubmissionTooLargeError,
  WrongJobError,
  WrongModeError,
} from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";
import fc from "fast-check";
import {
  type AnySubmission,
  checkSubmission,
  createBatchVerifier,
  decodeLocalSubmission,
  decodeSubmission,
  deriveAvatarIdentity,
  type EncryptedShare,
  encodePayload,
  encodeSubmission,
  envelopeArg,
  Group,
  MAX_SHARED_SUBMISSION_BYTES,
  MAX_SUBMISSION_BYTES,
  nullifierOf,
  proveSharedSubmission,
  proveSubmission,
  reportMessage,
  ShareDigestMismatchError,
  type SharedReport,
  type SharedSubmission,
  type Submission,
  shareDigest,
  type VerifyContext,
  verifyArtifacts,
  verifySubmission,
} from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: (1n << 128n) + 1n };
const bounds = { length: 3, min: [0, 0, 0], max: [7, 7, 7] };

/** A report of the right shape: what shardReport makes, with random bytes standing for HPKE output. */
function report(ctBytes = 600, publicBytes = 64): SharedReport {
  const share = (): EncryptedShare => ({ enc: randomBytes(32), ct: randomBytes(ctBytes) });
  return { nonce: randomBytes(16), publicShare: randomBytes(publicBytes), shares: [share(), share()] };
}

const copy = (r: SharedReport): SharedReport => structuredClone(r);

describe("avatar submissions v2: secret-shared reports (real Semaphore proofs)", () => {
  const identities = [randomBytes(32), randomBytes(32), randomBytes(32)].map((s) => deriveAvatarIdentity(s));
  const group = new Group(identities.map((i) => i.commitment));
  const ctx = (seen = new Set<string>()): VerifyContext => ({ job, groupRoot: group.root, bounds, seenNullifiers: seen });
  let valid: SharedSubmission;
  /** A v1 proof for the shared job: in memory only (a v1 envelope cannot carry an id past 2^53). */
  let local: Submission;
  /** A v1 submission for a JobRegistry job, for the wire. */
  let localWire: Submission;

  /** Rejected with `type` by verifySubmission, by checkSubmission, and again after the attacker publishes its bytes. */
  const refused = async (sub: AnySubmission, type: new (...args: never[]) => Error, pattern?: RegExp) => {
    const seen = new Set<string>(["7"]);
    await expectRejects(verifySubmission(sub, ctx(seen)), type, pattern);
    expect(() => checkSubmission(sub, ctx(seen))).to.throw(type);
    const published = decodeSubmission((await encodeSubmission(sub)).bytes);
    await expectRejects(verifySubmission(published, ctx(seen)), type, pattern);
    expect([...seen], "the seen nullifiers are left as they were").to.deep.equal(["7"]);
  };

  before(async () => {
    await verifyArtifacts();
    valid = await proveSharedSubmission(identities[0]!, group, job, report());
    local = await proveSubmission(identities[1]!, group, job, [1, 2, 3]);
    localWire = await proveSubmission(identities[1]!, group, { ...job, jobId: 1n }, [1, 2, 3]);
  });

  it("proves the report's message: sha-256 of dag-cbor({ nonce, public, digests: [sha-256(enc ‖ ct) × 2] })", async () => {
    const r = valid.report;
    const digest = (s: EncryptedShare) => sha256(Uint8Array.from([...s.enc, ...s.ct]));
    expect(shareDigest(r.shares[0])).to.deep.equal(digest(r.shares[0]));
    const message = bytes32ToBigint(sha256(dagCbor.encode({ nonce: r.nonce, public: r.publicShare, digests: r.shares.map(digest) })));
    expect(reportMessage(r)).to.equal(message);
    expect(BigInt(valid.proof.message)).to.equal(message);
    await verifySubmission(valid, ctx());
  });

  it("knows its nullifier before proving (nullifierOf), as the report's HPKE aad needs it", async () => {
    expect(nullifierOf(identities[0]!, job).toString()).to.equal(valid.proof.nullifier);
    expect(nullifierOf(identities[1]!, job).toString()).to.equal(local.proof.nullifier);
    expect(nullifierOf(identities[1]!, { ...job, jobId: 1n }).toString()).to.equal(localWire.proof.nullifier);
    expect(nullifierOf(identities[0]!, { ...job, jobId: 1n })).to.not.equal(nullifierOf(identities[0]!, job));
  });

  it("round-trips through the v2 wire form, whose body is `report` where v1's is `payload`", async () => {
    const block = await encodeSubmission(valid);
    const wire = dagCbor.decode(block.bytes) as Record<string, any>;
    expect(Object.keys(wire).sort()).to.deep.equal(["depth", "job", "nullifier", "proof", "report", "root", "v"]);
    expect(wire.v).to.equal(2);
    // SharedJobs' ids start at 2^128: job.id is a 32-byte word in v2 (a uint in v1).
    expect(bytes32ToBigint(wire.job.id)).to.equal(job.jobId);
    expect(Object.keys(wire.report).sort()).to.deep.equal(["nonce", "public", "shares"]);
    expect(wire.report.shares.map((s: object) => Object.keys(s).sort())).to.deep.equal([
      ["ct", "enc"],
      ["ct", "enc"],
    ]);
    const decoded = decodeSubmission(block.bytes);
    expect(decoded).to.deep.equal(valid);
    await verifySubmission(decoded, ctx());
    // A v2 envelope may exceed v1's 4 KiB: two FLP-carrying shares of a long histogram do.
    const big = await proveSharedSubmission(identities[2]!, group, job, report(12_000));
    const bigBlock = await encodeSubmission(big);
    expect(bigBlock.bytes.length).to.be.above(MAX_SUBMISSION_BYTES).and.below(MAX_SHARED_SUBMISSION_BYTES);
    await verifySubmission(decodeSubmission(bigBlock.bytes), ctx());
  });

  it("refuses shares swapped, re-encrypted, truncated or replaced after proving with ShareDigestMismatchError", async () => {
    const [s0, s1] = valid.report.shares;
    const changed: Array<[string, (r: SharedReport) => void]> = [
      ["shares swapped", (r) => (r.shares = [s1, s0])],
      ["share 0 re-encrypted (new enc and ct)", (r) => (r.shares[0] = { enc: randomBytes(32), ct: randomBytes(s0.ct.length) })],
      ["share 1's ct truncated by one byte", (r) => (r.shares[1].ct = r.shares[1].ct.slice(0, -1))],
      ["share 1's ct extended by one byte", (r) => (r.shares[1].ct = Uint8Array.from([...r.shares[1].ct, 0]))],
      ["one bit of share 0's ct flipped", (r) => (r.shares[0].ct[100]! ^= 1)],
      ["share 1's enc replaced", (r) => (r.shares[1].enc = randomBytes(32))],
      ["share 0 duplicated into both places", (r) => (r.shares = [s0, s0])],
      ["the nonce replaced", (r) => (r.nonce = randomBytes(16))],
      ["the public share replaced", (r) => (r.publicShare = randomBytes(64))],
      ["the public share emptied", (r) => (r.publicShare = new Uint8Array(0))],
    ];
    for (const [what, change] of changed) {
      const r = copy(valid.report);
      change(r);
      await refused({ ...valid, report: r }, ShareDigestMismatchError, /not the ones proven/).catch((err) => {
        throw new Error(`${what}: ${(err as Error).message}`);
      });
    }
  });

  it("refuses someone else's proof on a new report: the message mismatch by name, a rewritten message by the proof", async () => {
    const fresh = report();
    await refused({ ...valid, report: fresh }, ShareDigestMismatchError);
    // Rewriting the message to the new report's passes the digest check; the Semaphore proof then fails.
    const rewritten: SharedSubmission = { ...valid, report: fresh, proof: { ...valid.proof, message: reportMessage(fresh).toString() } };
    expect(() => checkSubmission(rewritten, ctx())).not.to.throw();
    await expectRejects(verifySubmission(rewritten, ctx()), InvalidProofError);
    // And the honest one is still one voice: its nullifier, once seen, is refused.
    await expectRejects(verifySubmission(valid, ctx(new Set([valid.proof.nullifier]))), NullifierReusedError);
    // A v2 proof for another job does not become this job's by relabelling the envelope.
    const other = await proveSharedSubmission(identities[1]!, group, { ...job, jobId: 2n }, report());
    await expectRejects(verifySubmission({ ...other, job }, ctx()), WrongJobError, /scope/);
  });

  it("refuses one version posing as the other: payload proofs on reports, report proofs on payloads, mixed wire keys", async () => {
    // A v1 proof (message = sha-256 of a payload) carried on a report.
    await refused({ version: 2, job, report: copy(valid.report), proof: local.proof }, ShareDigestMismatchError);
    // A v2 proof carried on a payload: the payload is not what it proved.
    await expectRejects(verifySubmission({ version: 1, job, payload: [1, 2, 3], proof: valid.proof }, ctx()), PayloadHashMismatchError);
    // No payload's message is any report's: a dag-cbor array never encodes as a map.
    expect(encodePayload([1, 2, 3])[0]! >> 5).to.equal(4);
    expect(dagCbor.encode({ nonce: valid.report.nonce })[0]! >> 5).to.equal(5);
    // On the wire: the other version's body, or both bodies, under either v.
    const v2 = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    const v1 = dagCbor.decode((await encodeSubmission(localWire)).bytes) as Record<string, any>;
    // A v1 envelope holds JobRegistry ids only (safe integers); a shared job's id is refused by name.
    await expectRejects(encodeSubmission(local), RangeError, /job\.jobId: a version 1 envelope takes a JobRegistry id/);
    const mixed: Array<[string, Record<string, any>]> = [
      ["v1 with a report", { ...v1, payload: undefined, report: v2.report }],
      ["v2 with a payload", { ...v2, report: undefined, payload: v1.payload }],
      ["v1 with both", { ...v1, report: v2.report }],
      ["v2 with both", { ...v2, payload: v1.payload }],
      ["v2 relabelled v1", { ...v2, v: 1 }],
      ["v1 relabelled v2", { ...v1, v: 2 }],
    ];
    for (const [what, e] of mixed) {
      for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
      expect(() => decodeSubmission(dagCbor.encode(e)), what).to.throw(MalformedSubmissionError, /envelope: expected keys/);
    }
    // Callers of the local mode and the on-chain Envelope take v1 only.
    const bytes = (await encodeSubmission(valid)).bytes;
    expect(() => decodeLocalSubmission(bytes)).to.throw(WrongModeError);
    expect(() => envelopeArg(decodeSubmission(bytes))).to.throw(WrongModeError);
    expect(decodeLocalSubmission((await encodeSubmission(localWire)).bytes)).to.deep.equal(localWire);
  });

  it("decodes only well-formed reports: lengths, key sets and types each refused by name", async () => {
    const good = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    const mangles: Array<[RegExp, (e: Record<string, any>) => void]> = [
      [/envelope\.report\.nonce: expected 16 bytes, got 15 bytes/, (e) => (e.report.nonce = e.report.nonce.slice(1))],
      [/envelope\.report\.nonce: expected 16 bytes, got 17 bytes/, (e) => (e.report.nonce = new Uint8Array(17))],
      [/envelope\.report\.nonce: expected 16 bytes, got "/, (e) => (e.report.nonce = "0123456789abcdef")],
      [/envelope\.report\.public: expected bytes, got \[?/, (e) => (e.report.public = [1, 2])],
      [/envelope\.report\.shares\[0\]\.enc: expected 32 bytes, got 31 bytes/, (e) => (e.report.shares[0].enc = new Uint8Array(31))],
      [/envelope\.report\.shares\[1\]\.enc: expected 32 bytes, got 33 bytes/, (e) => (e.report.shares[1].enc = new Uint8Array(33))],
      [/envelope\.report\.shares\[1\]\.ct: expected more than 16 bytes.*got 0 bytes/, (e) => (e.report.shares[1].ct = new Uint8Array(0))],
      [/envelope\.report\.shares\[0\]\.ct: expected more than 16 bytes.*got 16 bytes/, (e) => (e.report.shares[0].ct = new Uint8Array(16))],
      [/envelope\.report\.shares\[0\]\.ct: expected more than 16/, (e) => (e.report.shares[0].ct = 5)],
      [/envelope\.report\.shares: expected 2 shares, got an array of 1/, (e) => (e.report.shares = [e.report.shares[0]])],
      [/envelope\.report\.shares: expected 2 shares, got an array of 3/, (e) => e.report.shares.push(e.report.shares[0])],
      [/envelope\.report\.shares: expected 2 shares, got a map/, (e) => (e.report.shares = { 0: e.report.shares[0] })],
      [/envelope\.report\.shares\[0\]: expected keys ct,enc, got ct,enc,i/, (e) => (e.report.shares[0].i = 0)],
      [/envelope\.report\.shares\[1\]: expected a map, got 2 bytes/, (e) => (e.report.shares[1] = new Uint8Array(2))],
      [/envelope\.report: expected keys nonce,public,shares, got digests,nonce,public,shares/, (e) => (e.report.digests = [])],
      [/envelope\.report: expected keys/, (e) => delete e.report.public],
      [/envelope\.report: expected a map, got an array of 3/, (e) => (e.report = [e.report.nonce, e.report.public, e.report.shares])],
      [/envelope: expected keys/, (e) => (e.extra = 1)],
      [/envelope\.depth: expected 20/, (e) => (e.depth = 19)],
      [/envelope\.job\.id: expected 32 bytes, got 1/, (e) => (e.job.id = 1)],
      [/envelope\.job\.id: expected 32 bytes, got 16 bytes/, (e) => (e.job.id = e.job.id.slice(16))],
      [/envelope\.proof\.points: expected 8 words/, (e) => e.proof.points.pop()],
    ];
    for (const [message, mangle] of mangles) {
      const e = structuredClone(good);
      mangle(e);
      expect(() => decodeSubmission(dagCbor.encode(e)), String(message)).to.throw(MalformedSubmissionError, message);
    }
    // A report built in memory is held to the same shape before anything is compared or proven.
    const short = copy(valid.report);
    short.nonce = new Uint8Array(8);
    expect(() => checkSubmission({ ...valid, report: short }, ctx())).to.throw(MalformedSubmissionError, /report\.nonce/);
    await expectRejects(encodeSubmission({ ...valid, report: short }), MalformedSubmissionError, /report\.nonce/);
    await expectRejects(proveSharedSubmission(identities[0]!, group, job, short), MalformedSubmissionError, /report\.nonce/);
  });

  it("refuses an oversized report on both sides of the wire, and non-canonical dag-cbor", async () => {
    const huge: SharedSubmission = { ...valid, report: copy(valid.report) };
    huge.report.shares[1].ct = new Uint8Array(MAX_SHARED_SUBMISSION_BYTES);
    await expectRejects(encodeSubmission(huge), SubmissionTooLargeError, /over the 65536-byte limit/);
    const wire = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    wire.report.shares[1].ct = new Uint8Array(MAX_SHARED_SUBMISSION_BYTES);
    expect(() => decodeSubmission(dagCbor.encode(wire))).to.throw(SubmissionTooLargeError, /over the 65536-byte limit/);
    // Just under the limit decodes (the digest check then decides).
    wire.report.shares[1].ct = new Uint8Array(MAX_SHARED_SUBMISSION_BYTES - 2000);
    expect(decodeSubmission(dagCbor.encode(wire)).version).to.equal(2);

    // The report map written with its keys out of dag-cbor's order (length first, then bytewise).
    const good = dagCbor.decode((await encodeSubmission(valid)).bytes) as Record<string, any>;
    const map = (entries: Array<[string, Uint8Array]>) =>
      concat([Uint8Array.of(0xa0 + entries.length), ...entries.flatMap(([k, v]) => [dagCbor.encode(k), v])]);
    const canonicalKeys = (o: Record<string, unknown>) => Object.keys(o).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    const reportBytes = (keys: string[]) => map(keys.map((k) => [k, dagCbor.encode(good.report[k])]));
    const envelope = (report: Uint8Array) => map(canonicalKeys(good).map((k) => [k, k === "report" ? report : dagCbor.encode(good[k])]));
    expect(decodeSubmission(envelope(reportBytes(canonicalKeys(good.report))))).to.deep.equal(valid);
    const reordered = envelope(reportBytes(["shares", "public", "nonce"]));
    expect(dagCbor.decode(reordered)).to.deep.equal(good);
    expect(() => decodeSubmission(reordered)).to.throw(MalformedSubmissionError, /not canonical dag-cbor/);
  });

  it("any change to any byte of a report changes its message (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
          publicShare: fc.uint8Array({ maxLength: 80 }),
          e0: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          c0: fc.uint8Array({ minLength: 17, maxLength: 120 }),
          e1: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          c1: fc.uint8Array({ minLength: 17, maxLength: 120 }),
        }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (g, at, flip) => {
          const r: SharedReport = {
            nonce: g.nonce,
            publicShare: g.publicShare,
            shares: [
              { enc: g.e0, ct: g.c0 },
              { enc: g.e1, ct: g.c1 },
            ],
          };
          const m = reportMessage(r);
          const fields = [g.nonce, g.publicShare, g.e0, g.c0, g.e1, g.c1].filter((f) => f.length > 0);
          const t = structuredClone(r);
          const tf = [t.nonce, t.publicShare, t.shares[0].enc, t.shares[0].ct, t.shares[1].enc, t.shares[1].ct].filter((f) => f.length > 0);
          const field = tf[at % fields.length]!;
          field[at % field.length]! ^= flip;
          expect(reportMessage(t)).to.not.equal(m);
        },
      ),
      { seed: 19, numRuns: 300 },
    );
  });

  it("decodes random mutations of a v2 envelope only to what re-encodes to the same bytes, else by name", async () => {
    const bytes = (await encodeSubmission(valid)).bytes;
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const b = bytes.slice();
        b[at]! ^= flip;
        let sub: AnySubmission;
        try {
          sub = decodeSubmission(b);
        } catch (err) {
          expect((err as Error).name).to.be.oneOf(["MalformedSubmissionError", "SubmissionTooLargeError"]);
          return;
        }
        // What decodes is a different submission whose proof is then checked: never the original accepted twice.
        expect(sub).to.not.deep.equal(valid);
      }),
      { seed: 7, numRuns: 400 },
    );
  });

  it("the worker-thread batch verifier takes v2 proofs as they are; the digest check is checkSubmission's", async () => {
    const verifier = createBatchVerifier({ threads: 1 });
    await verifier.start();
    try {
      const fresh = report();
      const moved = { ...valid.proof, message: reportMessage(fresh).toString() };
      expect(await verifier.verify([valid.proof, local.proof, moved])).to.deep.equal([true, true, false]);
    } finally {
      await verifier.stop();
    }
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
