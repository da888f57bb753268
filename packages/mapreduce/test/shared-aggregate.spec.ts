// The shared mode end to end between two aggregators for each Prio3 instance, and every way a report can be bad:
// an invalid measurement with a valid-looking proof, a tampered share, the wrong key, job, nonce or verify key,
// shares spliced across reports, a report re-announced under another nullifier, malformed shapes. Then the noise each
// aggregator adds, against its pmf.
import type { JobRef, JobSpec } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { sha256 } from "@noble/hashes/sha2";
import { concatBytes } from "@noble/hashes/utils";
import { expect } from "chai";
import fc from "fast-check";
import { discreteGaussianPmf } from "../src/dp/gaussian.js";
import { seededUniform } from "../src/dp/uniform.js";
import {
  aggregateShares,
  checkReport,
  finishReport,
  generateKeyPair,
  InvalidShareProofError,
  MalformedReportError,
  noisedAggregateShare,
  prepareShare,
  reportMessage,
  type SharedReport,
  sealReport,
  ShareDecryptError,
  shardReport,
  shareAad,
  shareDigest,
  sharedVdafOf,
  unshardResult,
  verifyKeyOf,
} from "../src/shared/index.js";
import { chiSquareTest } from "./fixtures/chi-square.js";
import { sharedSpec } from "./fixtures/shared-spec.js";

const JOB: JobRef = { chainId: 31337n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", jobId: (1n << 128n) + 1n };
const OTHER_JOB: JobRef = { ...JOB, jobId: JOB.jobId + 1n };

/** A distinct 256-bit stand-in for the Semaphore nullifier report i is sent under. */
const nullifierOf = (i: number): bigint => (0x9e3779b97f4a7c15n << 192n) + BigInt(i);

/** A deterministic byte source for reproducible reports. */
function seededBytes(seed: string): (n: number) => Uint8Array {
  const rand = seededUniform(seed);
  return (n) => Uint8Array.from({ length: n }, () => Number(rand(256n)));
}

function twoAggregators(job: JobRef = JOB) {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const keys: [Uint8Array, Uint8Array] = [a.publicKey, b.publicKey];
  const secrets = [a.secretKey, b.secretKey] as const;
  const verifyKeys = ([0, 1] as const).map((index) => verifyKeyOf({ job, mySecret: secrets[index], keys, index }));
  return { keys, secrets, verifyKeys };
}

type World = ReturnType<typeof twoAggregators>;

/** Both aggregators prepare, swap prep shares and finish: each one's output share, or the error each threw. */
async function runReport(spec: JobSpec, world: World, report: SharedReport, nullifier: bigint, job: JobRef = JOB) {
  const prepared = await Promise.all(
    ([0, 1] as const).map((index) =>
      prepareShare({
        spec,
        job,
        index,
        mySecret: world.secrets[index],
        verifyKey: world.verifyKeys[index] as Uint8Array,
        report,
        nullifier,
      }),
    ),
  );
  const prepShares: [Uint8Array, Uint8Array] = [prepared[0]?.prepShare as Uint8Array, prepared[1]?.prepShare as Uint8Array];
  return Promise.all(prepared.map(({ state }) => finishReport({ spec, state, prepShares }).catch((err: unknown) => err)));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

const clone = (r: SharedReport): SharedReport => ({
  nonce: r.nonce.slice(),
  publicShare: r.publicShare.slice(),
  shares: [
    { enc: r.shares[0].enc.slice(), ct: r.shares[0].ct.slice() },
    { enc: r.shares[1].enc.slice(), ct: r.shares[1].ct.slice() },
  ],
});

const SHAPES = [
  { name: "Prio3Count", spec: sharedSpec({ entries: 1, max: 1 }), output: (i: number) => [i % 3 === 0 ? 1 : 0] },
  { name: "Prio3Sum", spec: sharedSpec({ entries: 1, max: 100 }), output: (i: number) => [(i * 37) % 101] },
  {
    name: "Prio3Histogram",
    spec: sharedSpec({ entries: 5, max: 1, oneHot: true }),
    output: (i: number) => [0, 1, 2, 3, 4].map((j) => (j === (i * 3) % 5 ? 1 : 0)),
  },
  {
    name: "Prio3SumVec (km-per-day shape)",
    spec: sharedSpec({ entries: 6, max: 7 }),
    output: (i: number) => [0, 1, 2, 3, 4, 5].map((j) => (i + j) % 8),
  },
];

describe("shared mode: two aggregators end to end", () => {
  for (const shape of SHAPES) {
    it(`${shape.name}: honest reports sum exactly; with both noises the result is off by the two draws alone`, async () => {
      const world = twoAggregators();
      const outputs = Array.from({ length: 12 }, (_, i) => shape.output(i));
      const outs: bigint[][][] = [[], []];
      for (const [i, clamped] of outputs.entries()) {
        const report = await shardReport({
          spec: shape.spec,
          job: JOB,
          clamped,
          aggregatorKeys: world.keys,
          nullifier: nullifierOf(i),
          random: seededBytes(`${shape.name} ${i}`),
        });
        checkReport(report, shape.spec);
        const [o0, o1] = await runReport(shape.spec, world, report, nullifierOf(i));
        if (!Array.isArray(o0) || !Array.isArray(o1)) throw new Error(`report ${i} rejected: ${String(o0)} ${String(o1)}`);
        outs[0]?.push(o0);
        outs[1]?.push(o1);
      }
      const truth = outputs.reduce((acc, o) => acc.map((x, j) => x + (o[j] as number)));
      const agg = [aggregateShares(shape.spec, outs[0] ?? []), aggregateShares(shape.spec, outs[1] ?? [])] as const;
      expect(unshardResult(shape.spec, agg)).to.deep.equal(truth);
      // One aggregator's share alone is a uniformly random field vector: read as a result it is far out of range.
      expect(() => unshardResult(shape.spec, [agg[0], agg[0].map(() => 0n)])).to.throw(RangeError, "beyond a safe integer");
      const noised = [
        noisedAggregateShare(shape.spec, agg[0], seededUniform(`${shape.name} noise 0`)),
        noisedAggregateShare(shape.spec, agg[1], seededUniform(`${shape.name} noise 1`)),
      ] as const;
      const released = unshardResult(shape.spec, noised);
      const sigma2 = shape.spec.privacy.mechanism === "discrete-gaussian" ? shape.spec.privacy.sigma2 : { num: 1, den: 1 };
      const bound = 12 * Math.sqrt((2 * sigma2.num) / sigma2.den);
      for (const [j, x] of released.entries()) expect(Math.abs(x - (truth[j] as number))).to.be.below(bound);
      expect(released).to.not.deep.equal(truth);
    });
  }

  it("the two aggregators derive one verify key; another job or another pair derives another", () => {
    const world = twoAggregators();
    expect(world.verifyKeys[0]).to.deep.equal(world.verifyKeys[1]);
    expect(world.verifyKeys[0]?.length).to.equal(16);
    const other = verifyKeyOf({ job: OTHER_JOB, mySecret: world.secrets[0], keys: world.keys, index: 0 });
    expect(other).to.not.deep.equal(world.verifyKeys[0]);
    expect(() => verifyKeyOf({ job: JOB, mySecret: world.secrets[0], keys: world.keys, index: 1 })).to.throw(
      RangeError,
      "mySecret: its public key is not keys[1]",
    );
  });

  it("a duplicated report prepares identically (the nullifier, not the crypto, drops the second copy)", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const report = await shardReport({ spec, job: JOB, clamped: output(1), aggregatorKeys: world.keys, nullifier: nullifierOf(1) });
    const first = await prepareShare({
      spec,
      job: JOB,
      index: 0,
      mySecret: world.secrets[0],
      verifyKey: world.verifyKeys[0] as Uint8Array,
      report,
      nullifier: nullifierOf(1),
    });
    const again = await prepareShare({
      spec,
      job: JOB,
      index: 0,
      mySecret: world.secrets[0],
      verifyKey: world.verifyKeys[0] as Uint8Array,
      report: clone(report),
      nullifier: nullifierOf(1),
    });
    expect(again.prepShare).to.deep.equal(first.prepShare);
  });
});

describe("shared mode: bad reports are rejected by name and change nothing", () => {
  for (const shape of SHAPES) {
    it(`${shape.name}: a measurement outside the spec with an honestly made proof fails the validity proof at both`, async () => {
      const world = twoAggregators();
      const { vdaf } = sharedVdafOf(shape.spec);
      // A client that skips the encoder's range check: every encoded element 2 (never a bit, a count or one-hot).
      const honest = vdaf.flp.encode.bind(vdaf.flp);
      const evilEncode = (m: Parameters<typeof honest>[0]) => honest(m).map(() => 2n);
      const random = seededBytes(`evil ${shape.name}`);
      const nonce = random(16);
      const original = vdaf.flp.encode;
      vdaf.flp.encode = evilEncode;
      let sharded: Awaited<ReturnType<typeof vdaf.shardEncoded>>;
      try {
        sharded = await vdaf.shardEncoded(
          sharedVdafOf(shape.spec).measurementOf(shape.output(0)),
          nonce as never,
          random(vdaf.randSize) as never,
        );
      } finally {
        vdaf.flp.encode = original;
      }
      const report = sealReport({
        job: JOB,
        aggregatorKeys: world.keys,
        nonce,
        publicShare: sharded.publicShare,
        nullifier: nullifierOf(0),
        inputShares: [sharded.inputShares[0] as Uint8Array, sharded.inputShares[1] as Uint8Array],
      });
      const [r0, r1] = await runReport(shape.spec, world, report, nullifierOf(0));
      expect(r0).to.be.instanceOf(InvalidShareProofError);
      expect(r1).to.be.instanceOf(InvalidShareProofError);
    });
  }

  it("a leader measurement share altered after sharding fails at both aggregators", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const { vdaf } = sharedVdafOf(spec);
    const random = seededBytes("tamper");
    const nonce = random(16);
    const sharded = await vdaf.shardEncoded(sharedVdafOf(spec).measurementOf(output(2)), nonce as never, random(vdaf.randSize) as never);
    const leader = Uint8Array.from(sharded.inputShares[0] as Uint8Array);
    leader[0] = ((leader[0] as number) + 1) % 256;
    const report = sealReport({
      job: JOB,
      aggregatorKeys: world.keys,
      nonce,
      publicShare: sharded.publicShare,
      nullifier: nullifierOf(2),
      inputShares: [leader, sharded.inputShares[1] as Uint8Array],
    });
    const [r0, r1] = await runReport(spec, world, report, nullifierOf(2));
    expect(r0).to.be.instanceOf(InvalidShareProofError);
    expect(r1).to.be.instanceOf(InvalidShareProofError);
  });

  it("aggregators with different verify keys reject honest reports", async () => {
    for (const shape of SHAPES) {
      const world = twoAggregators();
      const wrong = { ...world, verifyKeys: [world.verifyKeys[0] as Uint8Array, new Uint8Array(16).fill(7)] };
      const report = await shardReport({
        spec: shape.spec,
        job: JOB,
        clamped: shape.output(4),
        aggregatorKeys: world.keys,
        nullifier: nullifierOf(4),
      });
      const [r0, r1] = await runReport(shape.spec, wrong, report, nullifierOf(4));
      expect(r0, shape.name).to.be.instanceOf(InvalidShareProofError);
      expect(r1, shape.name).to.be.instanceOf(InvalidShareProofError);
    }
  });

  it("ShareDecryptError for a share sealed to another key, for another job, with another nonce, or spliced from another report", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const stranger = generateKeyPair();
    const prepare = (report: SharedReport, index: 0 | 1, job: JobRef = JOB, nullifier = nullifierOf(0)) =>
      prepareShare({
        spec,
        job,
        index,
        mySecret: world.secrets[index],
        verifyKey: world.verifyKeys[index] as Uint8Array,
        report,
        nullifier,
      });

    const toStranger = await shardReport({
      spec,
      job: JOB,
      clamped: output(0),
      aggregatorKeys: [world.keys[0], stranger.publicKey],
      nullifier: nullifierOf(0),
    });
    const before = clone(toStranger);
    expect(await rejection(prepare(toStranger, 1))).to.be.instanceOf(ShareDecryptError);
    expect(toStranger).to.deep.equal(before);
    await prepare(toStranger, 0); // the leader's share is fine

    const report = await shardReport({ spec, job: JOB, clamped: output(1), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    expect(await rejection(prepare(report, 0, OTHER_JOB))).to.be.instanceOf(ShareDecryptError);
    const renonced = clone(report);
    renonced.nonce[0] = (renonced.nonce[0] as number) ^ 1;
    expect(await rejection(prepare(renonced, 0))).to.be.instanceOf(ShareDecryptError);
    const other = await shardReport({ spec, job: JOB, clamped: output(1), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    const spliced: SharedReport = { ...clone(report), shares: [report.shares[0], other.shares[1]] };
    expect(await rejection(prepare(spliced, 1))).to.be.instanceOf(ShareDecryptError);
    const swapped: SharedReport = { ...clone(report), shares: [report.shares[1], report.shares[0]] };
    expect(await rejection(prepare(swapped, 0))).to.be.instanceOf(MalformedReportError); // the helper's share is shorter
  });

  it("ShareDecryptError at both aggregators for a report prepared under another nullifier than it was sharded for", async () => {
    for (const shape of SHAPES) {
      const world = twoAggregators();
      const report = await shardReport({
        spec: shape.spec,
        job: JOB,
        clamped: shape.output(5),
        aggregatorKeys: world.keys,
        nullifier: nullifierOf(5),
      });
      const before = clone(report);
      for (const nullifier of [nullifierOf(6), nullifierOf(5) ^ (1n << 255n), 0n]) {
        for (const index of [0, 1] as const) {
          const err = await rejection(
            prepareShare({
              spec: shape.spec,
              job: JOB,
              index,
              mySecret: world.secrets[index],
              verifyKey: world.verifyKeys[index] as Uint8Array,
              report,
              nullifier,
            }),
          );
          expect(err, `${shape.name}, aggregator ${index}`).to.be.instanceOf(ShareDecryptError);
        }
      }
      expect(report, shape.name).to.deep.equal(before);
      const [o0, o1] = await runReport(shape.spec, world, report, nullifierOf(5));
      expect(unshardResult(shape.spec, [o0 as bigint[], o1 as bigint[]]), shape.name).to.deep.equal(shape.output(5));
    }
  });

  it("shareAad, shardReport and prepareShare refuse a nullifier that is not a 256-bit unsigned integer (RangeError)", async () => {
    const nonce = new Uint8Array(16);
    const publicShare = Uint8Array.of(1, 2, 3);
    expect(shareAad(nonce, publicShare, (1n << 256n) - 1n).subarray(19)).to.deep.equal(new Uint8Array(32).fill(0xff));
    expect(shareAad(nonce, publicShare, 0n).length).to.equal(16 + 3 + 32);
    const bad: unknown[] = [-1n, 1n << 256n, (1n << 256n) + 5n, 7, "7", null, undefined, 1.5];
    for (const nullifier of bad) {
      expect(() => shareAad(nonce, publicShare, nullifier as bigint), String(nullifier)).to.throw(
        RangeError,
        "nullifier: expected a 256-bit unsigned integer",
      );
    }
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const report = await shardReport({ spec, job: JOB, clamped: output(0), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    const before = clone(report);
    for (const nullifier of bad) {
      const sharding = await rejection(
        shardReport({ spec, job: JOB, clamped: output(0), aggregatorKeys: world.keys, nullifier: nullifier as bigint }),
      );
      expect(sharding, String(nullifier)).to.be.instanceOf(RangeError);
      const preparing = await rejection(
        prepareShare({
          spec,
          job: JOB,
          index: 0,
          mySecret: world.secrets[0],
          verifyKey: world.verifyKeys[0] as Uint8Array,
          report,
          nullifier: nullifier as bigint,
        }),
      );
      expect(preparing, String(nullifier)).to.be.instanceOf(RangeError);
      expect((preparing as Error).message).to.include("nullifier: expected a 256-bit unsigned integer");
    }
    expect(report).to.deep.equal(before);
  });

  it("a report copied byte for byte and re-announced under colluders' nullifiers is refused; the original still counts once", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    // The victim's report, as it appears in public on the job's topic under their nullifier.
    const victim = nullifierOf(100);
    const original = await shardReport({ spec, job: JOB, clamped: output(3), aggregatorKeys: world.keys, nullifier: victim });
    // Its message is public, so each colluder can prove membership with the same message under their own nullifier:
    // the Semaphore layer and the nullifier check accept every copy. Only the shares' aad tells them apart.
    const copies = [101, 102, 103].map((i) => ({ report: clone(original), nullifier: nullifierOf(i) }));
    for (const copy of copies) expect(reportMessage(copy.report)).to.equal(reportMessage(original));
    const received = [{ report: original, nullifier: victim }, ...copies];
    const accepted: bigint[][][] = [[], []];
    const refused: unknown[] = [];
    for (const { report, nullifier } of received) {
      const outcome = await runReport(spec, world, report, nullifier).catch((err: unknown) => err);
      if (Array.isArray(outcome) && Array.isArray(outcome[0]) && Array.isArray(outcome[1])) {
        accepted[0]?.push(outcome[0]);
        accepted[1]?.push(outcome[1]);
      } else refused.push(outcome);
    }
    expect(refused).to.have.length(3);
    for (const err of refused) expect(err).to.be.instanceOf(ShareDecryptError);
    expect(accepted[0]).to.have.length(1);
    const sum = unshardResult(spec, [aggregateShares(spec, accepted[0] ?? []), aggregateShares(spec, accepted[1] ?? [])]);
    expect(sum).to.deep.equal(output(3)); // one person's answer, counted once
    for (const copy of copies) expect(copy.report).to.deep.equal(original); // not a byte changed
  });

  it("MalformedReportError for every wrong shape (property)", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const report = await shardReport({ spec, job: JOB, clamped: output(0), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    const bad: unknown[] = [
      null,
      "report",
      { ...report, nonce: report.nonce.subarray(1) },
      { ...report, publicShare: new Uint8Array(3) },
      { ...report, shares: [report.shares[0]] },
      { ...report, shares: [report.shares[0], { enc: report.shares[1].enc, ct: report.shares[1].ct.subarray(1) }] },
      { ...report, shares: [{ enc: [1, 2], ct: report.shares[0].ct }, report.shares[1]] },
      { ...report, shares: [report.shares[0], null] },
    ];
    for (const r of bad) {
      expect(() => checkReport(r, spec)).to.throw(MalformedReportError);
      expect(
        await rejection(
          prepareShare({
            spec,
            job: JOB,
            index: 0,
            mySecret: world.secrets[0],
            verifyKey: world.verifyKeys[0] as Uint8Array,
            report: r as SharedReport,
            nullifier: nullifierOf(0),
          }),
        ),
      ).to.be.instanceOf(MalformedReportError);
    }
  });

  it("a prep share from the other aggregator that does not decode is MalformedReportError", async () => {
    const { spec, output } = SHAPES[3] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const report = await shardReport({ spec, job: JOB, clamped: output(0), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    const { state, prepShare } = await prepareShare({
      spec,
      job: JOB,
      index: 0,
      mySecret: world.secrets[0],
      verifyKey: world.verifyKeys[0] as Uint8Array,
      report,
      nullifier: nullifierOf(0),
    });
    expect(await rejection(finishReport({ spec, state, prepShares: [prepShare, new Uint8Array(5)] }))).to.be.instanceOf(
      MalformedReportError,
    );
    expect(
      await rejection(finishReport({ spec, state, prepShares: [prepShare, new Uint8Array(prepShare.length).fill(0xff)] })),
    ).to.be.instanceOf(MalformedReportError);
    // A random prep share of the right length: the proof does not verify.
    expect(
      await rejection(finishReport({ spec, state, prepShares: [prepShare, new Uint8Array(prepShare.length).fill(1)] })),
    ).to.be.instanceOf(InvalidShareProofError);
  });
});

describe("reportMessage", () => {
  it("is sha-256 of dag-cbor({ nonce, public, digests }) and changes with any byte of the report (property)", async () => {
    const { spec, output } = SHAPES[2] as (typeof SHAPES)[number];
    const world = twoAggregators();
    const report = await shardReport({ spec, job: JOB, clamped: output(0), aggregatorKeys: world.keys, nullifier: nullifierOf(0) });
    const digests = report.shares.map((s) => sha256(concatBytes(s.enc, s.ct)));
    expect(shareDigest(report.shares[0])).to.deep.equal(digests[0]);
    const expected = BigInt(
      `0x${Buffer.from(sha256(dagCbor.encode({ nonce: report.nonce, public: report.publicShare, digests }))).toString("hex")}`,
    );
    expect(reportMessage(report)).to.equal(expected);
    const message = reportMessage(report);
    const fields = (r: SharedReport) => [r.nonce, r.publicShare, r.shares[0].enc, r.shares[0].ct, r.shares[1].enc, r.shares[1].ct];
    fc.assert(
      fc.property(fc.nat({ max: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (field, at, flip) => {
        const altered = clone(report);
        const bytes = fields(altered)[field] as Uint8Array;
        if (bytes.length === 0) return;
        bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ flip;
        expect(reportMessage(altered)).to.not.equal(message);
      }),
      { numRuns: 200 },
    );
  });
});

describe("unshardResult", () => {
  it("recovers any safe integer from random shares, negatives centred (property)", () => {
    const spec = sharedSpec({ entries: 1, max: 1 });
    const { modulus } = sharedVdafOf(spec);
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (x, r) => {
        const s0 = r % modulus;
        const s1 = (((BigInt(x) - s0) % modulus) + modulus) % modulus;
        expect(unshardResult(spec, [[s0], [s1]])).to.deep.equal([x]);
        expect(unshardResult(spec, [[s1], [s0]])).to.deep.equal([x]);
      }),
    );
    expect(unshardResult(spec, [[modulus - 3n], [0n]])).to.deep.equal([-3]);
    expect(() => unshardResult(spec, [[modulus], [0n]])).to.throw(RangeError, "shares[0][0]: expected a field element in [0, p)");
  });
});

describe("noisedAggregateShare: each aggregator's noise", () => {
  const N = 60_000;
  const sigma2 = { num: 40, den: 1 };
  const spec = sharedSpec({ entries: 6, max: 7, sigma2: 40 });
  const { length } = sharedVdafOf(spec);
  const draws = (seed: string, s: JobSpec): number[] => {
    const rand = seededUniform(seed);
    const zeros = new Array<bigint>(length).fill(0n);
    const out: number[] = [];
    while (out.length < N) out.push(...unshardResult(s, [noisedAggregateShare(s, zeros, rand), zeros]));
    return out;
  };

  it(`fits the discrete Gaussian pmf of the spec's sigma2, negatives as p − |x| (chi-square, ${N} draws)`, () => {
    const xs = draws("shared noise", spec);
    expect(xs.some((x) => x < 0)).to.equal(true);
    expect(chiSquareTest(xs, (x) => discreteGaussianPmf(x, sigma2), -80, 80).pValue).to.be.above(1e-6);
  });

  it("has power: draws at sigma2 ×1.15 fail the same test", () => {
    const xs = draws("shared noise power", sharedSpec({ entries: 6, max: 7, sigma2: 46 }));
    expect(chiSquareTest(xs, (x) => discreteGaussianPmf(x, sigma2), -80, 80).pValue).to.be.below(1e-6);
  });

  it("leaves the aggregate share it is given unchanged and refuses out-of-field entries", () => {
    const share = [1n, 2n, 3n, 4n, 5n, 6n];
    const copy = [...share];
    noisedAggregateShare(spec, share, seededUniform("x"));
    expect(share).to.deep.equal(copy);
    expect(() => noisedAggregateShare(spec, [1n], seededUniform("x"))).to.throw(
      RangeError,
      "aggregateShare: expected 6 field elements, got 1",
    );
  });
});
