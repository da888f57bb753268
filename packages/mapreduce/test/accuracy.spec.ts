// Accuracy without wasted privacy (issue 19): sensitivity follows a declared fixed sum and never understates what one
// user can change; hostile outputs are refused by name; estimates are projected onto what the truth can be (checked
// against brute force); every error bar covers the privacy noise only, in both modes; the ledger's privacy cost.
import { InvalidJobSpecError, type JobSpec, type OutputSpec, type PrivacySpec } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { privacyCost } from "../src/dp/cost.js";
import { gaussianEpsilon, gaussianSigma2For, sampleDiscreteGaussian } from "../src/dp/gaussian.js";
import { clampToOutput, l1Sensitivity, l2Sensitivity, outputStructureProblem } from "../src/dp/sensitivity.js";
import { MapOutputShapeError } from "../src/errors.js";
import {
  estimateResult,
  kmPerDayJob,
  noiseVariance,
  privatize,
  randomizedResponse,
  runMapProgram,
  seededUniform,
  symptomsByRegionJob,
  validateSpec,
} from "../src/index.js";
import { PRIVACY_NOISE_BARS, projectOntoSimplex } from "../src/reduce/estimate.js";
import { expectNear } from "../../../test/helpers.js";

const NOW = 1_790_000_000;
const kmJob = kmPerDayJob({ collectionDeadline: NOW + 3600 });
const km: OutputSpec = { ...kmJob.output, total: 7 };
const kmUndeclared: OutputSpec = { ...km, total: undefined };
delete kmUndeclared.total;

const l1 = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + Math.abs(x - (b[i] as number)), 0);
const l2 = (a: readonly number[], b: readonly number[]) => Math.sqrt(a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0));

/** A fixed-sum output (entries [0, max_i], total <= Σ max) and two of its honest outputs. */
const fixedSumCase = fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }).chain((maxima) => {
  const capacity = maxima.reduce((a, b) => a + b, 0);
  const output = (total: number): OutputSpec => ({
    kind: "vector",
    unit: "u",
    entries: maxima.map((max, i) => ({ label: `e${i}`, min: 0, max })),
    total,
  });
  // An honest output: random picks, then filled or trimmed greedily from a random start to the total.
  const honest = (total: number) =>
    fc.tuple(fc.array(fc.nat(), { minLength: maxima.length, maxLength: maxima.length }), fc.nat()).map(([raw, start]) => {
      const x = raw.map((r, i) => r % ((maxima[i] as number) + 1));
      let sum = x.reduce((a, b) => a + b, 0);
      for (let k = 0; k < x.length && sum !== total; k++) {
        const i = (start + k) % x.length;
        const max = maxima[i] as number;
        const step = sum < total ? Math.min(max - (x[i] as number), total - sum) : -Math.min(x[i] as number, sum - total);
        x[i] = (x[i] as number) + step;
        sum += step;
      }
      return x;
    });
  return fc.integer({ min: 1, max: capacity }).chain((total) => fc.tuple(fc.constant(output(total)), honest(total), honest(total)));
});

describe("sensitivity of a declared fixed sum", () => {
  it("is 14 (L1) and 7√2 (L2) for km-per-day's 7 days over 6 bands, where the ranges alone give 42 and 7√6", () => {
    expect(kmJob.output.total).to.equal(7);
    expect(l1Sensitivity(kmUndeclared)).to.equal(42);
    expect(l1Sensitivity(km)).to.equal(14);
    expectNear(l2Sensitivity(kmUndeclared), 7 * Math.sqrt(6), 1e-12);
    expectNear(l2Sensitivity(km), 7 * Math.SQRT2, 1e-12);
    // Tight: all seven days in one band against all seven in another.
    expect(l1([7, 0, 0, 0, 0, 0], [0, 7, 0, 0, 0, 0])).to.equal(14);
    // The smaller of the two bounds: a total larger than the ranges allow does not loosen them.
    const small: OutputSpec = {
      kind: "vector",
      unit: "u",
      entries: [
        { label: "a", min: 0, max: 1 },
        { label: "b", min: 0, max: 1 },
      ],
      total: 2,
    };
    expect(l1Sensitivity(small)).to.equal(2);
    expect(l2Sensitivity(small)).to.equal(Math.SQRT2);
    // The Laplace noise shrinks threefold with it.
    const laplace: PrivacySpec = { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1 } };
    expectNear(Math.sqrt(noiseVariance(kmUndeclared, laplace) / noiseVariance(km, laplace)), 3, 0.01);
  });

  it("is never exceeded by the L1 or L2 distance between two honest outputs of the declared sum", () => {
    fc.assert(
      fc.property(fixedSumCase, ([output, x, y]) => {
        expect(outputStructureProblem(output)).to.equal(undefined);
        for (const v of [x, y]) {
          expect(v.reduce((a, b) => a + b, 0)).to.equal(output.total);
          expect(clampToOutput(v, output)).to.deep.equal(v);
        }
        expect(l1(x, y)).to.be.at.most(l1Sensitivity(output));
        expect(l2(x, y)).to.be.at.most(l2Sensitivity(output) + 1e-9);
      }),
      { seed: 19, numRuns: 500 },
    );
  });

  it("refuses a structure no honest output could have, in the spec check, by name", () => {
    const bad = (output: Partial<OutputSpec> & Record<string, unknown>, message: RegExp) =>
      expect(() => validateSpec({ ...kmJob, output: { ...kmJob.output, ...output } }, { now: NOW }), JSON.stringify(output)).to.throw(
        InvalidJobSpecError,
        message,
      );
    bad({ total: 43 }, /output\.total: 43 is more than the entries' maxima add up to \(42\)/);
    bad({ total: 0 }, /total/);
    bad({ total: 2.5 }, /total/);
    bad({ entries: kmJob.output.entries.map((e, i) => (i === 3 ? { ...e, min: -1 } : e)) }, /output\.entries\[3\]: .*from 0, got min -1/);
    const symptoms = symptomsByRegionJob({ collectionDeadline: NOW + 3600 });
    expect(() => validateSpec({ ...symptoms, output: { ...symptoms.output, total: 2 } }, { now: NOW })).to.throw(
      InvalidJobSpecError,
      /output\.total: a one-hot output sums to 1, got 2/,
    );
    expect(() => validateSpec(kmJob, { now: NOW })).not.to.throw();
  });

  it("refuses hostile outputs (a sum off by one, a negative entry, NaN, strings) with MapOutputShapeError, input untouched", () => {
    const privacy = kmJob.privacy;
    const cases: [unknown[], RegExp][] = [
      [[1, 2, 3, 1, 0, 1], /must sum to 7, got sum 8/],
      [[1, 2, 3, 0, 0, 0], /must sum to 7, got sum 6/],
      [[8, -1, 0, 0, 0, 0], /map output\[1\]: .*no negative entries, got -1/],
      [[7, 0, 0, Number.NaN, 0, 0], /map output\[3\]: expected a finite number, got NaN/],
      [["7", 0, 0, 0, 0, 0], /map output\[0\]: expected a finite number, got 7/],
      [[3, 4, 0, 0, 0, "0"], /map output\[5\]: expected a finite number/],
      [[7, 0, 0, 0, 0], /expected 6 entries, got 5/],
    ];
    for (const [values, message] of cases) {
      const before = JSON.stringify(values);
      expect(() => privatize(values as number[], km, privacy), before).to.throw(MapOutputShapeError, message);
      expect(() => clampToOutput(values as number[], km), before).to.throw(MapOutputShapeError, message);
      expect(JSON.stringify(values)).to.equal(before);
    }
    // An honest one goes through, and a fractional one that rounds to an honest one.
    expect(privatize([1, 2, 3, 1, 0, 0], km, privacy, seededUniform("honest"))).to.have.length(6);
    expect(clampToOutput([1.2, 1.8, 3, 1, 0, 0], km)).to.deep.equal([1, 2, 3, 1, 0, 0]);
  });

  it("holds for km-per-day's pipeline: any location history gives 7 days in all (real pipeline, random data)", async () => {
    const from = 1795564800;
    const row = fc.record(
      {
        t: fc.oneof(fc.integer({ min: from - 86400, max: from + 8 * 86400 }), fc.constant(Number.NaN), fc.string()),
        lat: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.constant(null)),
        lon: fc.double({ min: -180, max: 180, noNaN: true }),
      },
      { requiredKeys: [] },
    );
    const spec = kmPerDayJob({ collectionDeadline: NOW + 3600 });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 60 }), async (rows) => {
        const out = await runMapProgram(spec, { "location-history/points": rows });
        expect(out.reduce((a, b) => a + b, 0)).to.equal(7);
        expect(clampToOutput(out, spec.output)).to.deep.equal(out);
      }),
      { seed: 7, numRuns: 150 },
    );
  });
});

/** Every support S: v − θ on S with θ = (Σ_S v − total)/|S|, 0 elsewhere; the closest of those that are feasible. */
function bruteForceProjection(v: readonly number[], total: number): number[] {
  let best: number[] = [];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let mask = 1; mask < 1 << v.length; mask++) {
    const inS = v.map((_, i) => (mask >> i) & 1);
    const size = inS.reduce((a: number, b) => a + b, 0);
    const theta = (v.reduce((s, x, i) => s + (inS[i] ? x : 0), 0) - total) / size;
    const x = v.map((vi, i) => (inS[i] ? vi - theta : 0));
    if (x.some((xi) => xi < -1e-12)) continue;
    const d = l2(x, v);
    if (d < bestDistance) [best, bestDistance] = [x, d];
  }
  return best;
}

describe("projection onto the scaled simplex", () => {
  const vector = fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 7 });
  const total = fc.double({ min: 0, max: 2000, noNaN: true });

  it("is never negative, adds up to the total, and is idempotent", () => {
    fc.assert(
      fc.property(vector, total, (v, t) => {
        const p = projectOntoSimplex(v, t);
        for (const x of p) expect(x).to.be.at.least(0);
        expectNear(
          p.reduce((a, b) => a + b, 0),
          t,
          1e-9 *
            (1 +
              t +
              l1(
                v,
                v.map(() => 0),
              )),
        );
        const again = projectOntoSimplex(p, t);
        for (const [i, x] of again.entries()) expectNear(x, p[i] as number, 1e-9 * (1 + t));
      }),
      { seed: 2008, numRuns: 500 },
    );
  });

  it("is the closest such point: equal to brute force over every support, and no grid point of the simplex is closer", () => {
    fc.assert(
      fc.property(vector, total, (v, t) => {
        const p = projectOntoSimplex(v, t);
        for (const [i, x] of bruteForceProjection(v, t).entries())
          expectNear(p[i] as number, x, 1e-7 * (1 + t + Math.max(...v.map(Math.abs))));
      }),
      { seed: 2013, numRuns: 400 },
    );
    // Three entries, total 10: every point of the simplex on a 0.5 grid is at least as far from v.
    for (const v of [
      [12, -3, 4],
      [-1, -1, -1],
      [3.3, 3.3, 3.4],
      [100, 99, -50],
    ]) {
      const p = projectOntoSimplex(v, 10);
      for (let a = 0; a <= 10; a += 0.5)
        for (let b = 0; a + b <= 10; b += 0.5) expect(l2([a, b, 10 - a - b], v)).to.be.at.least(l2(p, v) - 1e-12);
    }
    expect(projectOntoSimplex([3, -1, 2, 0.5], 4)).to.deep.equal([2.5, 0, 1.5, 0]);
    expect(projectOntoSimplex([5, 5], 0)).to.deep.equal([0, 0]);
  });

  it("refuses a negative or non-finite total and non-finite values with a RangeError naming them", () => {
    expect(() => projectOntoSimplex([1], -1)).to.throw(RangeError, "total: expected a finite number >= 0, got -1");
    expect(() => projectOntoSimplex([1, Number.NaN], 1)).to.throw(RangeError, "values[1]: expected a finite number, got NaN");
  });
});

describe("estimates: projection beside the raw estimate, one error-bar rule", () => {
  it("projects a fixed-sum histogram onto count × total and states both rules on the result", () => {
    const est = estimateResult(kmJob, [10, 20, -3, 5, 2, 1], 5);
    expect(est.rows.map((r) => r.estimate)).to.deep.equal([10, 20, -3, 5, 2, 1]);
    for (const [i, r] of est.rows.entries()) expectNear(r.projected, [9.4, 19.4, 0, 4.4, 1.4, 0.4][i] as number, 1e-9);
    expect(est.errorBars).to.deep.equal(PRIVACY_NOISE_BARS);
    expect(est.projection).to.match(/adds up to 35; post-processing of the noised result, so it keeps the DP guarantee/);
    // Without a declared total, each estimate is clamped to [count·min, count·max].
    const loose = estimateResult({ ...kmJob, output: kmUndeclared }, [40, 20, -3, 5, 2, 1], 5);
    expect(loose.rows.map((r) => r.projected)).to.deep.equal([35, 20, 0, 5, 2, 1]);
  });

  it("gives randomized response bars for the noise alone, given who answered: they match repeated runs at large epsilon", () => {
    const spec = symptomsByRegionJob({ collectionDeadline: NOW + 3600 });
    const privacy = { mechanism: "randomized-response" as const, epsilon: { num: 5, den: 1 } };
    const job: JobSpec = { ...spec, privacy };
    const k = spec.output.entries.length;
    const truth = Array.from({ length: k }, (_, i): number => (i < 3 ? 400 : i === 3 ? 100 : 0));
    const n = truth.reduce((a, b) => a + b, 0);
    const rand = seededUniform("rr bars");
    const runs = 200;
    const estimates: number[][] = [];
    let stdDev: number[] = [];
    for (let run = 0; run < runs; run++) {
      const counts = new Array<number>(k).fill(0);
      truth.forEach((m, category) => {
        for (let i = 0; i < m; i++) {
          const r = randomizedResponse(category, k, privacy.epsilon, rand);
          counts[r] = (counts[r] as number) + 1;
        }
      });
      const est = estimateResult(job, counts, n);
      estimates.push(est.rows.map((r) => r.estimate));
      if (run === 0) stdDev = est.rows.map((r) => r.stdDev);
      expectNear(
        est.rows.reduce((a, r) => a + r.projected, 0),
        n,
        1e-6,
      );
      for (const r of est.rows) expect(r.projected).to.be.at.least(0);
    }
    for (let j = 0; j < k; j++) {
      const xs = estimates.map((e) => e[j] as number);
      const mean = xs.reduce((a, b) => a + b, 0) / runs;
      const empirical = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (runs - 1));
      // 200 runs: the sample deviation is within ~25% of the true one with overwhelming probability.
      expect(empirical / (stdDev[j] as number), `category ${j}`).to.be.within(0.7, 1.35);
    }
  });

  it("gives a shared job's bars from the two aggregators' discrete Gaussian draws, whatever the count, and covers the truth", () => {
    const sigma2 = gaussianSigma2For(l2Sensitivity(km), { num: 1, den: 1 }, { num: 1, den: 100_000 });
    const privacy: PrivacySpec = { mechanism: "discrete-gaussian", epsilon: { num: 1, den: 1 }, delta: { num: 1, den: 100_000 }, sigma2 };
    const shared: JobSpec = { ...kmJob, privacy, mode: "shared" };
    const sd = Math.sqrt(2 * noiseVariance(km, privacy));
    for (const count of [3, 1000, 100_000]) {
      const est = estimateResult(shared, [count, 2 * count, 0, 0, 4 * count, 0], count);
      for (const r of est.rows) expectNear(r.stdDev, sd, 1e-9);
      expectNear(
        est.rows.reduce((a, r) => a + r.projected, 0),
        7 * count,
        1e-6 * count,
      );
    }
    // A mean divides the released sum by the count, bars too.
    const mean = estimateResult({ ...shared, reducer: { kind: "mean" } }, [700, 1400, 0, 0, 2800, 0], 700);
    expect(mean.rows.map((r) => r.estimate)).to.deep.equal([1, 2, 0, 0, 4, 0]);
    for (const r of mean.rows) expectNear(r.stdDev, sd / 700, 1e-12);
    expect(() => estimateResult({ ...shared, reducer: { kind: "mean" } }, [1, 2, 3], 7)).to.throw(
      RangeError,
      /aggregate: expected 6 items/,
    );
    // The exact sum plus two real draws: the 95% intervals hold the truth about 95% of the time.
    const rand = seededUniform("shared bars");
    const truth = [3000, 2000, 1000, 500, 300, 200];
    let inside = 0;
    const trials = 100;
    for (let trial = 0; trial < trials; trial++) {
      const released = truth.map((t) => t + sampleDiscreteGaussian(sigma2, rand) + sampleDiscreteGaussian(sigma2, rand));
      const est = estimateResult(shared, released, 1000);
      inside += est.rows.filter((r, j) => r.low <= (truth[j] as number) && (truth[j] as number) <= r.high).length;
    }
    expect(inside / (trials * 6)).to.be.within(0.9, 0.99);
  });
});

describe("privacyCost: what the ledger charges", () => {
  const delta = { num: 1, den: 100_000 };

  it("charges the declared epsilon for local Laplace and randomized response", () => {
    expect(privacyCost(kmJob)).to.deep.equal({
      epsilon: { num: 2, den: 1 },
      mode: "local",
      against: "anyone who sees the submission: the vault noises each answer before it leaves",
    });
    const symptoms = symptomsByRegionJob({ collectionDeadline: NOW + 3600 });
    expect(privacyCost(symptoms).epsilon).to.deep.equal(symptoms.privacy.epsilon);
  });

  it("charges a Gaussian job the epsilon its sigma2 achieves at the tighter L2 sensitivity, rounded up, never above the declared", () => {
    const sigma2 = gaussianSigma2For(l2Sensitivity(km), { num: 1, den: 1 }, delta);
    // The smallest integer sigma2 for epsilon 1: one less would not do.
    expect(gaussianEpsilon(sigma2, l2Sensitivity(km), delta)).to.be.at.most(1);
    expect(gaussianEpsilon({ num: sigma2.num - 1, den: 1 }, l2Sensitivity(km), delta)).to.be.above(1);
    const declared = { num: 2, den: 1 };
    const privacy: PrivacySpec = { mechanism: "discrete-gaussian", epsilon: declared, delta, sigma2 };
    const truth = gaussianEpsilon(sigma2, l2Sensitivity(km), delta);
    for (const mode of ["local", "shared"] as const) {
      const cost = privacyCost({ output: km, privacy, mode });
      const charged = cost.epsilon.num / cost.epsilon.den;
      expect(charged, mode).to.be.at.least(truth);
      expect(charged - truth, mode).to.be.below(1.01e-6);
      expect(cost.delta).to.deep.equal(delta);
      expect(cost.mode).to.equal(mode);
    }
    expect(privacyCost({ output: km, privacy, mode: "shared" }).against).to.match(/either aggregator.*do not collude/);
    // Without the declared total the same noise protects less (L2 7√6, not 7√2): charged more.
    const loose = privacyCost({ output: kmUndeclared, privacy: { ...privacy, epsilon: { num: 10, den: 1 } } });
    expect(loose.epsilon.num / loose.epsilon.den).to.be.above(1.5);
    // Capped at the declared epsilon, an upper bound the spec check already enforces.
    const tight = privacyCost({ output: km, privacy: { ...privacy, epsilon: { num: 1, den: 1 } } });
    expect(tight.epsilon.num / tight.epsilon.den).to.be.at.most(1);
  });

  it("refuses a shared job without discrete Gaussian noise, and a mechanism that does not fit the output", () => {
    expect(() => privacyCost({ ...kmJob, mode: "shared" })).to.throw(RangeError, /a shared job's aggregators add discrete-gaussian noise/);
    expect(() => privacyCost({ ...kmJob, privacy: { mechanism: "randomized-response", epsilon: { num: 1, den: 1 } } })).to.throw(
      RangeError,
      /randomized-response needs a one-hot output/,
    );
  });
});
