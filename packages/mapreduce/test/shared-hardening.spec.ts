// What the adversarial review of the shared mode asked for, in the aggregators' cryptography: a report whose entries
// break the declared total is caught on the two shares (revealing only the gap), an entry range Prio3 cannot hold is
// refused at the spec, and each aggregator's noise is keyed (unpredictable to others, the same when drawn again).
import type { JobRef, JobSpec } from "@mosaic/protocol";
import { expect } from "chai";
import { validateSpec } from "../src/index.js";
import { kmPerDayJob, withMode } from "../src/library.js";
import { keyedUniform } from "../src/dp/uniform.js";
import {
  checkTotal,
  generateKeyPair,
  noiseKeyOf,
  prepareShare,
  ReportTotalError,
  sealReport,
  shardReport,
  sharedSpecProblem,
  sharedVdafOf,
  verifyKeyOf,
} from "../src/shared/index.js";

const JOB: JobRef = { chainId: 31337n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", jobId: (1n << 128n) + 7n };
const km = withMode(kmPerDayJob({ collectionDeadline: 1_900_000_000, epsilon: { num: 1, den: 1 } }), "shared");

describe("shared mode hardening: fixed sums, ranges and keyed noise", () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const keys: [Uint8Array, Uint8Array] = [a.publicKey, b.publicKey];
  const secrets = [a.secretKey, b.secretKey] as const;
  const verifyKeys = ([0, 1] as const).map((index) => verifyKeyOf({ job: JOB, mySecret: secrets[index], keys, index }));

  /** Both aggregators' total shares for a report of `measurement` (sharded directly, as a lying member would). */
  async function totalShares(spec: JobSpec, measurement: number[], nullifier: bigint) {
    const { vdaf } = sharedVdafOf(spec);
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const sharded = await vdaf.shardEncoded(
      measurement as never,
      nonce as never,
      crypto.getRandomValues(new Uint8Array(vdaf.randSize)) as never,
    );
    const report = sealReport({
      job: JOB,
      aggregatorKeys: keys,
      nonce,
      publicShare: sharded.publicShare,
      nullifier,
      inputShares: sharded.inputShares as unknown as [Uint8Array, Uint8Array],
    });
    const prepared = await Promise.all(
      ([0, 1] as const).map((index) =>
        prepareShare({ spec, job: JOB, index, mySecret: secrets[index], verifyKey: verifyKeys[index] as Uint8Array, report, nullifier }),
      ),
    );
    return prepared.map((p) => p.totalShare) as [bigint, bigint];
  }

  it("passes an honest report's total and names the gap of one whose entries exceed it; each share alone looks random", async () => {
    const honest = await shardReport({ spec: km, job: JOB, clamped: [3, 4, 0, 0, 0, 0], aggregatorKeys: keys, nullifier: 1n });
    const prepared = await Promise.all(
      ([0, 1] as const).map((index) =>
        prepareShare({
          spec: km,
          job: JOB,
          index,
          mySecret: secrets[index],
          verifyKey: verifyKeys[index] as Uint8Array,
          report: honest,
          nullifier: 1n,
        }),
      ),
    );
    const shares = prepared.map((p) => p.totalShare) as [bigint, bigint];
    expect(() => checkTotal(km, shares)).to.not.throw();
    expect(shares[0], "a share of zero is not zero itself").to.not.equal(0n);
    // 42 days in a 7-day week: each entry within Prio3's 3 bits, only the total broken.
    expect(() => checkTotal(km, [0n, 0n])).to.not.throw();
    const lying = await totalShares(km, [7, 7, 7, 7, 7, 7], 2n);
    expect(() => checkTotal(km, lying)).to.throw(ReportTotalError, /7 \+ 35, not the declared total 7/);
    const short = await totalShares(km, [1, 0, 0, 0, 0, 0], 3n);
    expect(() => checkTotal(km, short)).to.throw(ReportTotalError, /7 − 6/);
    // A share missing or not a field element is the report's fault, by the same name.
    expect(() => checkTotal(km, [shares[0], undefined as never])).to.throw(ReportTotalError);
    expect(() => checkTotal(km, [shares[0], sharedVdafOf(km).modulus])).to.throw(ReportTotalError);
  });

  it("refuses at the spec an entry range Prio3 cannot hold an answer to, unless a total bounds it", () => {
    if (km.privacy.mechanism !== "discrete-gaussian") throw new Error("shared specs are Gaussian");
    // Noise ample for any of the shapes below, so only the range rule speaks.
    const ample = { ...km.privacy, sigma2: { num: 1_000_000, den: 1 } };
    const loose: JobSpec = {
      ...km,
      privacy: ample,
      output: { ...km.output, entries: km.output.entries.map((e) => ({ ...e, max: 5 })), total: undefined },
    };
    expect(sharedSpecProblem(loose)).to.match(/max 5 is not 7 \(2\^3 − 1\)/);
    expect(sharedSpecProblem(km), "max 7 = total 7: bounded by the checked total").to.equal(undefined);
    const wide: JobSpec = {
      ...km,
      privacy: ample,
      output: { ...km.output, total: 8, entries: km.output.entries.map((e) => ({ ...e, max: 6 })) },
    };
    expect(sharedSpecProblem(wide)).to.match(/max 6 is not 7/);
    expect(() => validateSpec(loose)).to.throw(/max 5 is not 7/);
  });

  it("refuses a discrete Gaussian σ² below 1, where the accounting leaves out the multivariate correction", () => {
    if (km.privacy.mechanism !== "discrete-gaussian") throw new Error("shared specs are Gaussian");
    const tiny = { ...km, privacy: { ...km.privacy, sigma2: { num: 1, den: 2 } } };
    expect(() => validateSpec(tiny)).to.throw(/below 1/);
  });

  it("keys each aggregator's noise to its secret, the job and its index: the same stream again, another for anything else", () => {
    const key = noiseKeyOf({ job: JOB, mySecret: secrets[0], index: 0 });
    const draws = (k: Uint8Array) => {
      const rand = keyedUniform(k);
      return Array.from({ length: 2000 }, () => Number(rand(1000n)));
    };
    expect(draws(key)).to.deep.equal(draws(noiseKeyOf({ job: JOB, mySecret: secrets[0], index: 0 })));
    for (const other of [
      noiseKeyOf({ job: JOB, mySecret: secrets[0], index: 1 }),
      noiseKeyOf({ job: { ...JOB, jobId: JOB.jobId + 1n }, mySecret: secrets[0], index: 0 }),
      noiseKeyOf({ job: JOB, mySecret: secrets[1], index: 0 }),
    ])
      expect(draws(other)).to.not.deep.equal(draws(key));
    // Uniform enough to feed the exact samplers: the mean of 2,000 draws in [0, 1000) within 5σ of 499.5.
    const xs = draws(key);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 499.5)).to.be.below((5 * 288.7) / Math.sqrt(xs.length));
    expect(() => keyedUniform(new Uint8Array(31))).to.throw(RangeError);
  });
});
