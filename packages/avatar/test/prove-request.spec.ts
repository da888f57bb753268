// A proof request for a prover elsewhere (a Web Worker): JSON-safe, rebuilt on the other side into the same identity,
// group and job, and proved there with real artifacts; a malformed request is a named error.
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import {
  artifactPaths,
  deriveAvatarIdentity,
  Group,
  Identity,
  MalformedProofRequestError,
  parseProofRequest,
  type ProofRequest,
  proofRequestOf,
  parseSharedProofRequest,
  proveRequest,
  proveSharedSubmission,
  proveSubmission,
  type SharedProofRequest,
  type SharedReport,
  type Submission,
  sharedProofRequestOf,
  verifySubmission,
} from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 7n };
const payload = [3, -2, 150];
const bounds = { length: 3, min: [-100, -100, -100], max: [200, 200, 200] };

describe("avatar: proof requests for a prover elsewhere", function () {
  this.timeout(120_000);
  const identity = deriveAvatarIdentity(randomBytes(32));
  const group = new Group([
    deriveAvatarIdentity(randomBytes(32)).commitment,
    identity.commitment,
    deriveAvatarIdentity(randomBytes(32)).commitment,
  ]);

  it("survives JSON, proves on the other side with the installed artifacts, and verifies with the direct proof's nullifier", async () => {
    const request = proofRequestOf(identity, group, job, payload);
    const carried = JSON.parse(JSON.stringify(request)) as unknown;
    expect(carried).to.deep.equal(request);
    const rebuilt = parseProofRequest(carried);
    expect(rebuilt.identity.commitment).to.equal(identity.commitment);
    expect(rebuilt.identity.secretScalar).to.equal(identity.secretScalar);
    expect(rebuilt.group.root).to.equal(group.root);
    expect(rebuilt.job).to.deep.equal(job);
    expect(rebuilt.payload).to.deep.equal(payload);

    const submission = await proveRequest(carried, artifactPaths());
    const context = { job, groupRoot: group.root, bounds, seenNullifiers: new Set<string>() };
    await verifySubmission(submission, context);
    const direct = await proveSubmission(identity, group, job, payload);
    expect(submission.proof.nullifier).to.equal(direct.proof.nullifier);
    expect((submission as Submission).payload).to.deep.equal(payload);
  });

  it("carries an identity made from text as text", () => {
    const fromText = new Identity("a passphrase-made identity");
    const request = proofRequestOf(fromText, new Group([fromText.commitment]), job, payload);
    expect(request.identity.encoding).to.equal("text");
    expect(parseProofRequest(JSON.parse(JSON.stringify(request))).identity.commitment).to.equal(fromText.commitment);
  });

  it("any identity and members round-trip (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 5 }), (seed, others) => {
        const id = deriveAvatarIdentity(seed);
        const members = [id.commitment, ...Array.from({ length: others }, (_, i) => BigInt(i + 1))];
        const back = parseProofRequest(JSON.parse(JSON.stringify(proofRequestOf(id, new Group(members), job, [1]))));
        expect(back.identity.commitment).to.equal(id.commitment);
        expect(back.group.members).to.deep.equal(members);
      }),
      { seed: 18, numRuns: 25 },
    );
  });

  it("refuses a malformed request with MalformedProofRequestError naming the field, and leaves the request as it was", async () => {
    const good = proofRequestOf(identity, group, job, payload);
    const bad: [string, (r: ProofRequest) => unknown][] = [
      ["v", (r) => ({ ...r, v: 3 })],
      // A v1 body under v2 is the other version's key set.
      ["keys", (r) => ({ ...r, v: 2 })],
      ["keys", (r) => ({ ...r, extra: 1 })],
      ["identity.encoding", (r) => ({ ...r, identity: { ...r.identity, encoding: "hex" } })],
      ["identity.privateKey", (r) => ({ ...r, identity: { ...r.identity, privateKey: "not base64!" } })],
      ["members", (r) => ({ ...r, members: [] })],
      ["members[1]", (r) => ({ ...r, members: [r.members[0], "0x12"] })],
      ["members[0]", (r) => ({ ...r, members: ["0"] })],
      ["job.registry", (r) => ({ ...r, job: { ...r.job, registry: "0x1234" } })],
      ["job.jobId", (r) => ({ ...r, job: { ...r.job, jobId: 7 } })],
      ["payload", (r) => ({ ...r, payload: [] })],
      ["payload[1]", (r) => ({ ...r, payload: [1, 1.5] })],
      ["", () => null],
    ];
    for (const [field, make] of bad) {
      const request = make(structuredClone(good));
      const before = JSON.stringify(request);
      const pattern = new RegExp(`proof request ${field.replace(/[[\]]/g, "\\$&")}${field === "keys" ? "" : ":"}`);
      await expectRejects(proveRequest(request), MalformedProofRequestError, field === "keys" ? /expected the keys/ : pattern);
      expect(JSON.stringify(request)).to.equal(before);
    }
  });

  describe("v2: a shared job's report", () => {
    const report: SharedReport = {
      nonce: randomBytes(16),
      publicShare: randomBytes(40),
      shares: [
        { enc: randomBytes(32), ct: randomBytes(300) },
        { enc: randomBytes(32), ct: randomBytes(300) },
      ],
    };
    const sharedJob = { ...job, jobId: (1n << 128n) + 7n };

    it("survives JSON, proves the report on the other side, and has the direct proof's nullifier and message", async () => {
      const request = sharedProofRequestOf(identity, group, sharedJob, report);
      const carried = JSON.parse(JSON.stringify(request)) as unknown;
      const rebuilt = parseSharedProofRequest(carried);
      expect(rebuilt.report).to.deep.equal({
        nonce: new Uint8Array(report.nonce),
        publicShare: new Uint8Array(report.publicShare),
        shares: report.shares.map((s) => ({ enc: new Uint8Array(s.enc), ct: new Uint8Array(s.ct) })),
      });
      expect(rebuilt.job).to.deep.equal(sharedJob);
      const submission = await proveRequest(carried, artifactPaths());
      expect(submission.version).to.equal(2);
      await verifySubmission(submission, { job: sharedJob, groupRoot: group.root, bounds, seenNullifiers: new Set() });
      const direct = await proveSharedSubmission(identity, group, sharedJob, report);
      expect(submission.proof.nullifier).to.equal(direct.proof.nullifier);
      expect(submission.proof.message).to.equal(direct.proof.message);
    });

    it("refuses a malformed v2 request with MalformedProofRequestError naming the field", async () => {
      const good = sharedProofRequestOf(identity, group, sharedJob, report);
      const bad: [RegExp, (r: SharedProofRequest) => unknown][] = [
        [/proof request : expected the keys/, (r) => ({ ...r, payload: [1] })],
        [/proof request report: expected the keys/, (r) => ({ ...r, report: { ...r.report, digests: [] } })],
        [/proof request report\.nonce: expected base64/, (r) => ({ ...r, report: { ...r.report, nonce: 16 } })],
        [/proof request report\.shares: expected 2 shares/, (r) => ({ ...r, report: { ...r.report, shares: [r.report.shares[0]] } })],
        [
          /proof request report\.shares\[1\]\.ct: expected base64/,
          (r) => ({ ...r, report: { ...r.report, shares: [r.report.shares[0], { ...r.report.shares[1], ct: "%%" }] } }),
        ],
        [/proof request report\.nonce: expected 16 bytes/, (r) => ({ ...r, report: { ...r.report, nonce: "AAAA" } })],
        [
          /proof request report\.shares\[0\]\.enc: expected 32 bytes/,
          (r) => ({ ...r, report: { ...r.report, shares: [{ ...r.report.shares[0], enc: "AAAA" }, r.report.shares[1]] } }),
        ],
      ];
      for (const [pattern, make] of bad) {
        const request = make(structuredClone(good));
        const before = JSON.stringify(request);
        await expectRejects(proveRequest(request), MalformedProofRequestError, pattern);
        expect(JSON.stringify(request)).to.equal(before);
      }
    });
  });
});
