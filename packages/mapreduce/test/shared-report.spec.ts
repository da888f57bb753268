// The vault's side of a shared job: a report is deterministic given its randomness, its HPKE info and aad (with the
// nullifier) are the design's bytes, bad arguments are refused by field, and the prep share codec round-trips.
import { bigintToBytes32, type JobRef } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import { seededUniform } from "../src/dp/uniform.js";
import {
  checkReport,
  decodePrepShare,
  encodePrepShare,
  generateKeyPair,
  reportMessage,
  reportSizes,
  shardReport,
  shareAad,
  shareInfo,
  sharedVdafOf,
} from "../src/shared/index.js";
import { sharedSpec } from "./fixtures/shared-spec.js";

const JOB: JobRef = { chainId: 31337n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", jobId: (1n << 128n) + 7n };

function seededBytes(seed: string): (n: number) => Uint8Array {
  const rand = seededUniform(seed);
  return (n) => Uint8Array.from({ length: n }, () => Number(rand(256n)));
}

describe("shardReport", () => {
  const spec = sharedSpec({ entries: 6, max: 7 });
  const keys: [Uint8Array, Uint8Array] = [generateKeyPair().publicKey, generateKeyPair().publicKey];

  it("is a function of its randomness, and of the right shape and size", async () => {
    const a = await shardReport({
      spec,
      job: JOB,
      clamped: [1, 2, 0, 0, 4, 0],
      aggregatorKeys: keys,
      nullifier: 1n,
      random: seededBytes("r"),
    });
    const b = await shardReport({
      spec,
      job: JOB,
      clamped: [1, 2, 0, 0, 4, 0],
      aggregatorKeys: keys,
      nullifier: 1n,
      random: seededBytes("r"),
    });
    expect(a).to.deep.equal(b);
    expect(reportMessage(a)).to.equal(reportMessage(b));
    checkReport(a, spec);
    const wire = dagCbor.encode({ nonce: a.nonce, public: a.publicShare, shares: a.shares });
    expect(wire.length).to.equal(reportSizes(sharedVdafOf(spec).vdaf).report);
    const c = await shardReport({ spec, job: JOB, clamped: [1, 2, 0, 0, 4, 0], aggregatorKeys: keys, nullifier: 1n });
    expect(c.nonce).to.not.deep.equal(a.nonce);
    // Plain bytes, not the library's Buffers, so dag-cbor and deep equality treat them as any other bytes.
    expect(Object.getPrototypeOf(a.publicShare)).to.equal(Uint8Array.prototype);
  });

  it("binds each share to the job and aggregator (info) and to the nonce, public share and nullifier (aad)", () => {
    const info = shareInfo(JOB, 1);
    const label = new TextEncoder().encode("mosaic/prio3-input-share/1");
    expect(info.subarray(0, label.length)).to.deep.equal(label);
    expect(dagCbor.decode(info.subarray(label.length))).to.deep.equal({
      chain: 31337,
      registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      id: bigintToBytes32(JOB.jobId),
      aggregator: 1,
    });
    expect(shareInfo(JOB, 0)).to.not.deep.equal(info);
    const nullifier = (1n << 255n) + 0x0102n;
    expect(shareAad(Uint8Array.of(1, 2), Uint8Array.of(3), nullifier)).to.deep.equal(
      Uint8Array.of(1, 2, 3, 0x80, ...new Uint8Array(29), 0x01, 0x02),
    );
  });

  it("refuses an output outside its declared ranges, bad keys and a bad job by field name", async () => {
    const refused = async (init: Partial<Parameters<typeof shardReport>[0]>, message: string) => {
      let thrown: unknown;
      await shardReport({ spec, job: JOB, clamped: [0, 0, 0, 0, 0, 7], aggregatorKeys: keys, nullifier: 1n, ...init }).catch((err) => {
        thrown = err;
      });
      expect(thrown, message).to.be.instanceOf(RangeError);
      expect((thrown as Error).message).to.include(message);
    };
    await refused({ clamped: [0, 0, 0, 0, 0, 8] }, "clamped[5]: expected an integer in [0, 7], got 8");
    await refused({ clamped: [0, 0, 0, 0, 0, 1.5] }, "clamped[5]");
    await refused({ clamped: [0, 0, 0] }, "clamped: expected 6 entries, got 3");
    await refused({ aggregatorKeys: [keys[0], new Uint8Array(31)] }, "aggregatorKeys[1]: expected a 32-byte X25519 public key");
    await refused({ aggregatorKeys: [keys[0], new Uint8Array(32)] }, "recipientPublic: not a usable X25519 public key");
    await refused({ job: { ...JOB, registry: "0x1234" } }, "job.registry: expected a 0x-prefixed 20-byte address");
    await refused({ nullifier: -1n }, "nullifier: expected a 256-bit unsigned integer, got -1");
  });
});

describe("prep share codec", () => {
  for (const [name, spec] of [
    ["count", sharedSpec({ entries: 1, max: 1 })],
    ["sum", sharedSpec({ entries: 1, max: 1000 })],
    ["histogram", sharedSpec({ entries: 9, max: 1, oneHot: true })],
    ["sumvec", sharedSpec({ entries: 6, max: 7 })],
  ] as const) {
    it(`${name}: decode(encode(x)) = x for any verifier share and joint randomness part (property)`, () => {
      const { vdaf, modulus } = sharedVdafOf(spec);
      const verifierLength = vdaf.flp.verifierLen * vdaf.proofs;
      const partLength = vdaf.flp.jointRandLen === 0 ? 0 : vdaf.xof.seedSize;
      fc.assert(
        fc.property(
          fc.array(fc.bigInt({ min: 0n, max: modulus - 1n }), { minLength: verifierLength, maxLength: verifierLength }),
          fc.uint8Array({ minLength: partLength, maxLength: partLength }),
          (verifiersShare, part) => {
            const bytes = encodePrepShare(vdaf, { verifiersShare, jointRandomnessPart: part as never });
            const back = decodePrepShare(vdaf, bytes);
            expect(back.verifiersShare).to.deep.equal(verifiersShare);
            expect(Uint8Array.from(back.jointRandomnessPart)).to.deep.equal(part);
            expect(encodePrepShare(vdaf, back)).to.deep.equal(bytes);
          },
        ),
        { numRuns: 50 },
      );
    });
  }
});
