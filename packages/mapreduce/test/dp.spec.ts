// The exact DP samplers against their pmfs (chi-square goodness of fit, with a power check so the test can
// fail), the privatize contract as properties, and the accounting helpers on hand-computed values.
import type { Fraction, OutputSpec, PrivacySpec } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import {
  bernoulliExp,
  clampToOutput,
  cryptoUniform,
  discreteGaussianPmf,
  discreteLaplacePmf,
  gaussianEpsilon,
  l1Sensitivity,
  l2Sensitivity,
  laplaceScale,
  noiseTailBound,
  noiseVariance,
  payloadBounds,
  privatize,
  randomizedResponse,
  randomizedResponseProbabilities,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  seededUniform,
  unbiasRandomizedResponse,
} from "../src/index.js";
import { MapOutputShapeError } from "../src/errors.js";
import { expectNear } from "../../../test/helpers.js";
import { chiSquareSurvival, chiSquareTest } from "./fixtures/chi-square.js";

function draw(n: number, sample: () => number): number[] {
  return Array.from({ length: n }, sample);
}

const N = 200_000;
/** Fit is accepted above this p-value; the power checks need p below it. */
const P_MIN = 1e-6;

describe("chi-square survival (the test's own yardstick)", () => {
  it("matches tabulated critical values", () => {
    expectNear(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-9);
    expectNear(chiSquareSurvival(32.90949040736021, 12), 0.001, 1e-9);
    expectNear(chiSquareSurvival(124.34211340400407, 100), 0.05, 1e-9);
    expectNear(chiSquareSurvival(2, 2), Math.exp(-1), 1e-12);
  });
});

describe("bernoulliExp", () => {
  const cases: Array<[bigint, bigint]> = [
    [0n, 1n],
    [1n, 3n],
    [1n, 1n],
    [5n, 2n],
    [7n, 3n],
    [2n ** 70n + 1n, 2n ** 70n],
  ];
  for (const [num, den] of cases) {
    it(`is true with frequency exp(-${num}/${den})`, () => {
      const rand = seededUniform(`bernoulliExp ${num}/${den}`);
      const p = Math.exp(-Number(num) / Number(den));
      const draws = 100_000;
      let hits = 0;
      for (let i = 0; i < draws; i++) if (bernoulliExp(num, den, rand)) hits++;
      if (num === 0n) {
        expect(hits).to.equal(draws);
        return;
      }
      const fit = chiSquareTest(
        draw(draws, () => 0).map((_, i) => (i < hits ? 1 : 0)),
        (x) => (x === 1 ? p : 1 - p),
        0,
        1,
      );
      expect(fit.pValue, `hits ${hits} of ${draws}, want ${(p * draws).toFixed(0)}`).to.be.above(P_MIN);
    });
  }

  it("rejects a negative numerator or a non-positive denominator", () => {
    expect(() => bernoulliExp(-1n, 1n, cryptoUniform)).to.throw(RangeError, "num: expected a non-negative bigint, got -1");
    expect(() => bernoulliExp(1n, 0n, cryptoUniform)).to.throw(RangeError, "den: expected a positive bigint, got 0");
  });
});

describe("discrete Laplace sampler", () => {
  for (const scale of [
    { num: 7, den: 3 },
    { num: 350, den: 8 },
  ]) {
    it(`fits its pmf at scale ${scale.num}/${scale.den} (chi-square, ${N} draws)`, () => {
      const rand = seededUniform(`laplace ${scale.num}/${scale.den}`);
      const xs = draw(N, () => sampleDiscreteLaplace(scale, rand));
      const reach = Math.ceil((40 * scale.num) / scale.den);
      const fit = chiSquareTest(xs, (x) => discreteLaplacePmf(x, scale), -reach, reach);
      expect(fit.pValue, JSON.stringify(fit)).to.be.above(P_MIN);
    });
  }

  it("has power: draws at scale ×1.1 fail the same test", () => {
    const rand = seededUniform("laplace power");
    const xs = draw(N, () => sampleDiscreteLaplace({ num: 77, den: 30 }, rand));
    const fit = chiSquareTest(xs, (x) => discreteLaplacePmf(x, { num: 7, den: 3 }), -100, 100);
    expect(fit.pValue, JSON.stringify(fit)).to.be.below(P_MIN);
  });

  it("has pmf summing to 1 and the variance 2p/(1-p)^2", () => {
    const scale = { num: 7, den: 3 };
    let mass = 0;
    let second = 0;
    for (let x = -400; x <= 400; x++) {
      mass += discreteLaplacePmf(x, scale);
      second += x * x * discreteLaplacePmf(x, scale);
    }
    expectNear(mass, 1, 1e-12);
    const output: OutputSpec = { kind: "vector", unit: "u", entries: [{ label: "a", min: 0, max: 7 }] };
    expectNear(noiseVariance(output, { mechanism: "discrete-laplace", epsilon: { num: 3, den: 1 } }), second, 1e-9);
    expect(discreteLaplacePmf(0.5, scale)).to.equal(0);
  });

  it("rejects a scale that is not a positive fraction, naming it", () => {
    expect(() => sampleDiscreteLaplace({ num: 0, den: 1 })).to.throw(RangeError, "scale: expected a positive fraction, got 0/1");
    expect(() => sampleDiscreteLaplace({ num: 1.5, den: 1 })).to.throw(RangeError, "scale: expected a positive fraction, got 1.5/1");
    expect(() => sampleDiscreteLaplace({ num: 1, den: -2 })).to.throw(RangeError, "scale: expected a positive fraction, got 1/-2");
  });
});

describe("discrete Gaussian sampler", () => {
  for (const sigma2 of [
    { num: 1, den: 1 },
    { num: 5, den: 2 },
    { num: 400, den: 1 },
  ]) {
    it(`fits its pmf at sigma2 ${sigma2.num}/${sigma2.den} (chi-square, ${N} draws)`, () => {
      const rand = seededUniform(`gaussian ${sigma2.num}/${sigma2.den}`);
      const xs = draw(N, () => sampleDiscreteGaussian(sigma2, rand));
      const reach = Math.ceil(12 * Math.sqrt(sigma2.num / sigma2.den)) + 2;
      const fit = chiSquareTest(xs, (x) => discreteGaussianPmf(x, sigma2), -reach, reach);
      expect(fit.pValue, JSON.stringify(fit)).to.be.above(P_MIN);
    });
  }

  it("has power: draws at sigma2 ×1.1 fail the same test", () => {
    const rand = seededUniform("gaussian power");
    const xs = draw(N, () => sampleDiscreteGaussian({ num: 11, den: 4 }, rand));
    const fit = chiSquareTest(xs, (x) => discreteGaussianPmf(x, { num: 5, den: 2 }), -30, 30);
    expect(fit.pValue, JSON.stringify(fit)).to.be.below(P_MIN);
  });

  it("has pmf summing to 1, variance at most sigma2, and a tail bound that is the smallest", () => {
    const output: OutputSpec = { kind: "vector", unit: "u", entries: [{ label: "a", min: 0, max: 1 }] };
    for (const sigma2 of [
      { num: 1, den: 4 },
      { num: 1, den: 1 },
      { num: 400, den: 1 },
    ]) {
      const privacy: PrivacySpec = { mechanism: "discrete-gaussian", epsilon: { num: 1, den: 1 }, delta: { num: 1, den: 1e6 }, sigma2 };
      const s2 = sigma2.num / sigma2.den;
      let mass = 0;
      let second = 0;
      for (let x = -2000; x <= 2000; x++) {
        mass += discreteGaussianPmf(x, sigma2);
        second += x * x * discreteGaussianPmf(x, sigma2);
      }
      expectNear(mass, 1, 1e-12);
      const variance = noiseVariance(output, privacy);
      expectNear(variance, second, 1e-9 * s2);
      expect(variance).to.be.at.most(s2);
      // Below σ² = 1 the lattice shows (0.215 at σ² = 1/4); above it the variance is σ² to many digits.
      if (s2 >= 1) expectNear(variance, s2, 1e-6 * s2);
      const k = noiseTailBound(output, privacy, 1e-6);
      const beyond = (m: number): number => {
        let t = 0;
        for (let x = m + 1; x <= 2000; x++) t += 2 * discreteGaussianPmf(x, sigma2);
        return t;
      };
      expect(beyond(k)).to.be.at.most(1e-6);
      if (k > 0) expect(beyond(k - 1)).to.be.above(1e-6);
    }
  });

  it("rejects a sigma2 that is not a positive fraction, naming it", () => {
    expect(() => sampleDiscreteGaussian({ num: 0, den: 1 })).to.throw(RangeError, "sigma2: expected a positive fraction, got 0/1");
    expect(() => discreteGaussianPmf(0, { num: 1, den: 0 })).to.throw(RangeError, "sigma2: expected a positive fraction, got 1/0");
  });
});

describe("randomized response", () => {
  for (const k of [2, 6]) {
    for (const epsilon of [
      { num: 1, den: 2 },
      { num: 3, den: 1 },
    ]) {
      it(`fits keep/other at k=${k}, epsilon ${epsilon.num}/${epsilon.den} (chi-square, ${N} draws)`, () => {
        const rand = seededUniform(`rr ${k} ${epsilon.num}/${epsilon.den}`);
        const truth = k - 1;
        const xs = draw(N, () => randomizedResponse(truth, k, epsilon, rand));
        const { keep, other } = randomizedResponseProbabilities(k, epsilon);
        expectNear(keep + (k - 1) * other, 1, 1e-15);
        expectNear(keep / other, Math.exp(epsilon.num / epsilon.den), 1e-12);
        const fit = chiSquareTest(xs, (x) => (x === truth ? keep : other), 0, k - 1);
        expect(fit.cells).to.equal(k);
        expect(fit.pValue, JSON.stringify(fit)).to.be.above(P_MIN);
      });
    }
  }

  it("has power: draws at epsilon ×1.1 fail the same test", () => {
    const rand = seededUniform("rr power");
    const xs = draw(N, () => randomizedResponse(0, 6, { num: 11, den: 20 }, rand));
    const { keep, other } = randomizedResponseProbabilities(6, { num: 1, den: 2 });
    const fit = chiSquareTest(xs, (x) => (x === 0 ? keep : other), 0, 5);
    expect(fit.pValue, JSON.stringify(fit)).to.be.below(P_MIN);
  });

  it("unbiases simulated reports back to the true counts within their error bars", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat({ max: 100 }), { minLength: 6, maxLength: 6 }),
        fc.string(),
        (k, tenthsOfEpsilon, weights, seed) => {
          const epsilon = { num: tenthsOfEpsilon, den: 10 };
          const n = 30_000;
          const w = weights.slice(0, k).map((x) => x + 1);
          const total = w.reduce((a, b) => a + b, 0);
          // True categories in proportion to the weights, the remainder in the last one.
          const truth = w.map((x) => Math.floor((x * n) / total));
          truth[k - 1] = (truth[k - 1] as number) + n - truth.reduce((a, b) => a + b, 0);
          const rand = seededUniform(`unbias ${seed}`);
          const counts = new Array<number>(k).fill(0);
          truth.forEach((m, category) => {
            for (let i = 0; i < m; i++) {
              const r = randomizedResponse(category, k, epsilon, rand);
              counts[r] = (counts[r] as number) + 1;
            }
          });
          const { estimate, stdDev } = unbiasRandomizedResponse(counts, n, epsilon);
          const { keep, other } = randomizedResponseProbabilities(k, epsilon);
          estimate.forEach((e, i) => {
            const t = truth[i] as number;
            // Noise only, given who answered: t Bernoulli(keep) and n − t Bernoulli(other) reports; the plug-in
            // deviation (the estimate for t) is close to the one from the true count.
            const exact = Math.sqrt(t * keep * (1 - keep) + (n - t) * other * (1 - other)) / (keep - other);
            expectNear(stdDev[i] as number, exact, exact * 0.2 + 1);
            expect(Math.abs(e - t), `category ${i}: estimate ${e} vs truth ${t}`).to.be.at.most(6 * exact);
          });
          expectNear(
            estimate.reduce((a, b) => a + b, 0),
            n,
            1e-6 * n,
          );
        },
      ),
      { numRuns: 12, seed: 20240611 },
    );
  });

  it("rejects a category outside [0, k) and k < 2", () => {
    expect(() => randomizedResponse(3, 3, { num: 1, den: 1 })).to.throw(RangeError, "category: expected an integer in [0, 3), got 3");
    expect(() => randomizedResponse(0, 1, { num: 1, den: 1 })).to.throw(
      RangeError,
      /^k: expected an integer number of categories >= 2, got 1/,
    );
    expect(() => randomizedResponse(0, 2, { num: 0, den: 1 })).to.throw(RangeError, "epsilon: expected a positive fraction, got 0/1");
  });
});

describe("uniform sources", () => {
  const bound = fc.oneof(
    fc.bigInt({ min: 1n, max: 300n }),
    fc.bigInt({ min: 1n, max: 2n ** 48n }),
    fc.bigInt({ min: 2n ** 48n, max: 2n ** 130n }),
  );

  it("seededUniform is deterministic per seed and stays in [0, n)", () => {
    fc.assert(
      fc.property(fc.string(), fc.array(bound, { minLength: 1, maxLength: 50 }), (seed, ns) => {
        const a = seededUniform(seed);
        const b = seededUniform(seed);
        const xs = ns.map((n) => a(n));
        expect(ns.map((n) => b(n))).to.deep.equal(xs);
        xs.forEach((x, i) => {
          expect(x >= 0n && x < (ns[i] as bigint)).to.equal(true);
        });
      }),
    );
    const draws = (seed: string): bigint[] => {
      const r = seededUniform(seed);
      return Array.from({ length: 8 }, () => r(2n ** 64n));
    };
    expect(draws("a")).to.not.deep.equal(draws("b"));
  });

  it("cryptoUniform stays in [0, n) and rejects a non-positive n", () => {
    fc.assert(
      fc.property(bound, (n) => {
        const x = cryptoUniform(n);
        expect(x >= 0n && x < n).to.equal(true);
      }),
    );
    expect(cryptoUniform(1n)).to.equal(0n);
    expect(() => cryptoUniform(0n)).to.throw(RangeError, "n: expected a positive bigint, got 0");
  });

  it("covers a range that is not a power of two evenly (seeded, chi-square)", () => {
    const rand = seededUniform("uniform 37");
    const xs = draw(N, () => Number(rand(37n)));
    const fit = chiSquareTest(xs, () => 1 / 37, 0, 36);
    expect(fit.pValue, JSON.stringify(fit)).to.be.above(P_MIN);
  });
});

const days: OutputSpec = {
  kind: "vector",
  unit: "km",
  entries: Array.from({ length: 7 }, (_, i) => ({ label: `day ${i}`, min: 0, max: 50 })),
};

describe("sensitivity and accounting", () => {
  it("computes L1/L2 sensitivity of vectors and one-hot outputs", () => {
    expect(l1Sensitivity(days)).to.equal(350);
    expectNear(l2Sensitivity(days), 132.28756555322954, 1e-12);
    const mixed: OutputSpec = {
      kind: "vector",
      unit: "u",
      entries: [
        { label: "a", min: 0, max: 10 },
        { label: "b", min: -5, max: 5 },
        { label: "c", min: 3, max: 4 },
      ],
    };
    expect(l1Sensitivity(mixed)).to.equal(21);
    expectNear(l2Sensitivity(mixed), 14.177446878757825, 1e-12);
    const oneHot: OutputSpec = {
      kind: "one-hot",
      unit: "category",
      entries: ["a", "b", "c", "d"].map((label) => ({ label, min: 0, max: 1 })),
    };
    expect(l1Sensitivity(oneHot)).to.equal(2);
    expect(l2Sensitivity(oneHot)).to.equal(Math.SQRT2);
  });

  it("derives the Laplace scale Δ1/ε as an exact fraction", () => {
    expect(laplaceScale(days, { num: 8, den: 1 })).to.deep.equal({ num: 350, den: 8 });
    expect(laplaceScale(days, { num: 1, den: 2 })).to.deep.equal({ num: 700, den: 1 });
    expect(() => laplaceScale(days, { num: 0, den: 1 })).to.throw(RangeError, "epsilon: expected a positive fraction, got 0/1");
  });

  it("converts the Gaussian's zCDP to epsilon at a given delta", () => {
    // rho = 1·2/(2·1) = 1; eps = 1 + 2·sqrt(ln 100).
    expectNear(gaussianEpsilon({ num: 1, den: 2 }, 1, { num: 1, den: 100 }), 5.291932052578694, 1e-12);
    // rho = 25/(2·25) = 0.5; eps = 0.5 + 2·sqrt(0.5·ln 1e5).
    expectNear(gaussianEpsilon({ num: 25, den: 1 }, 5, { num: 1, den: 100_000 }), 5.298525912188081, 1e-12);
    expect(() => gaussianEpsilon({ num: 1, den: 1 }, 1, { num: 1, den: 1 })).to.throw(
      RangeError,
      "delta: expected a fraction in (0, 1), got 1/1",
    );
  });

  it("gives the Laplace variance and tail bound in closed form", () => {
    const one: OutputSpec = { kind: "vector", unit: "u", entries: [{ label: "a", min: 0, max: 1 }] };
    const privacy: PrivacySpec = { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1 } };
    // scale 1, p = 1/e: 2p/(1-p)^2.
    expectNear(noiseVariance(one, privacy), 1.8413471884155848, 1e-12);
    // P(|X| > k) = 2p^(k+1)/(1+p): 1.108e-9 at k = 20, 4.08e-10 at k = 21.
    expect(noiseTailBound(one, privacy)).to.equal(21);
    expect(payloadBounds(one, privacy)).to.deep.equal({ length: 1, min: [-21], max: [22] });
  });

  it("gives randomized response keep/other and no additive noise", () => {
    const { keep, other } = randomizedResponseProbabilities(2, { num: 1, den: 1 });
    expectNear(keep, 0.7310585786300049, 1e-15);
    expectNear(other, 1 - 0.7310585786300049, 1e-15);
    const oneHot: OutputSpec = { kind: "one-hot", unit: "category", entries: ["a", "b", "c"].map((label) => ({ label, min: 0, max: 1 })) };
    const rr: PrivacySpec = { mechanism: "randomized-response", epsilon: { num: 1, den: 1 } };
    expect(noiseVariance(oneHot, rr)).to.equal(0);
    expect(noiseTailBound(oneHot, rr)).to.equal(0);
    expect(payloadBounds(oneHot, rr)).to.deep.equal({ length: 3, min: [0, 0, 0], max: [1, 1, 1] });
  });
});

const fraction = (maxNum: number, maxDen: number): fc.Arbitrary<Fraction> =>
  fc.record({ num: fc.integer({ min: 1, max: maxNum }), den: fc.integer({ min: 1, max: maxDen }) });

const additivePrivacy: fc.Arbitrary<PrivacySpec> = fc.oneof(
  fraction(10, 10).map((epsilon): PrivacySpec => ({ mechanism: "discrete-laplace", epsilon })),
  fraction(100_000, 10).map(
    (sigma2): PrivacySpec => ({ mechanism: "discrete-gaussian", epsilon: { num: 1, den: 1 }, delta: { num: 1, den: 1e6 }, sigma2 }),
  ),
);

const vectorOutput: fc.Arbitrary<OutputSpec> = fc
  .array(fc.record({ min: fc.integer({ min: -100, max: 100 }), width: fc.integer({ min: 1, max: 200 }) }), { minLength: 1, maxLength: 8 })
  .map((es) => ({ kind: "vector", unit: "u", entries: es.map((e, i) => ({ label: `e${i}`, min: e.min, max: e.min + e.width })) }));

describe("privatize", () => {
  it("returns one integer per entry, each within payloadBounds, deterministically per seed", () => {
    fc.assert(
      fc.property(
        vectorOutput,
        additivePrivacy,
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.string(),
        (output, privacy, raw, seed) => {
          const values = raw.slice(0, output.entries.length);
          const bounds = payloadBounds(output, privacy);
          const out = privatize(values, output, privacy, seededUniform(seed));
          expect(out).to.have.length(output.entries.length);
          expect(bounds.length).to.equal(output.entries.length);
          out.forEach((x, i) => {
            expect(Number.isInteger(x)).to.equal(true);
            expect(x).to.be.within(bounds.min[i] as number, bounds.max[i] as number);
          });
          expect(privatize(values, output, privacy, seededUniform(seed))).to.deep.equal(out);
        },
      ),
    );
  });

  it("reports exactly one category for a one-hot output under randomized response; additive noise stays in bounds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }).chain((k) => fc.tuple(fc.constant(k), fc.nat({ max: k - 1 }))),
        fc.oneof(
          additivePrivacy,
          fraction(10, 10).map((epsilon): PrivacySpec => ({ mechanism: "randomized-response", epsilon })),
        ),
        fc.string(),
        ([k, category], privacy, seed) => {
          const output: OutputSpec = {
            kind: "one-hot",
            unit: "category",
            entries: Array.from({ length: k }, (_, i) => ({ label: `c${i}`, min: 0, max: 1 })),
          };
          const values = Array.from({ length: k }, (_, i) => (i === category ? 1 : 0));
          const out = privatize(values, output, privacy, seededUniform(seed));
          expect(out).to.have.length(k);
          const bounds = payloadBounds(output, privacy);
          out.forEach((x, i) => {
            expect(x).to.be.within(bounds.min[i] as number, bounds.max[i] as number);
          });
          if (privacy.mechanism === "randomized-response") {
            expect(out.filter((x) => x === 1)).to.have.length(1);
            expect(out.filter((x) => x === 0)).to.have.length(k - 1);
          }
        },
      ),
    );
  });

  it("refuses a one-hot output without exactly one 1, and randomized response on a vector", () => {
    const oneHot: OutputSpec = { kind: "one-hot", unit: "category", entries: ["a", "b", "c"].map((label) => ({ label, min: 0, max: 1 })) };
    const rr: PrivacySpec = { mechanism: "randomized-response", epsilon: { num: 1, den: 1 } };
    expect(() => privatize([0, 0, 0], oneHot, rr)).to.throw(MapOutputShapeError, /exactly one 1/);
    expect(() => privatize([1, 0, 1], oneHot, rr)).to.throw(MapOutputShapeError, /exactly one 1/);
    expect(() => privatize([1, 2, 3, 4, 5, 6, 7], days, rr)).to.throw(
      RangeError,
      /^privacy\.mechanism: randomized-response needs a one-hot output/,
    );
    expect(() => privatize([1, 2, 3, 4, 5, 6, 7], days, { mechanism: "nope" } as unknown as PrivacySpec)).to.throw(
      RangeError,
      /^privacy\.mechanism:/,
    );
  });

  it("privatizes 7 entries at epsilon 1 well under a millisecond", () => {
    const privacy: PrivacySpec = { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1 } };
    const values = [3, 10, 50, 0, 22, 7, 41];
    const runs = 2000;
    const start = performance.now();
    for (let i = 0; i < runs; i++) privatize(values, days, privacy);
    const perCall = (performance.now() - start) / runs;
    expect(perCall).to.be.below(0.5);
  });
});

describe("clampToOutput", () => {
  it("rounds and clamps into each entry's range", () => {
    const output: OutputSpec = {
      kind: "vector",
      unit: "u",
      entries: [
        { label: "a", min: 0, max: 10 },
        { label: "b", min: -5, max: 5 },
        { label: "c", min: 3, max: 4 },
      ],
    };
    expect(clampToOutput([10.6, -5.4, 3.5], output)).to.deep.equal([10, -5, 4]);
    expect(clampToOutput([-1, 99, 0], output)).to.deep.equal([0, 5, 3]);
  });

  it("throws MapOutputShapeError on a wrong length or a non-finite entry", () => {
    fc.assert(
      fc.property(
        vectorOutput,
        fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 12 }),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.nat(),
        (output, values, bad, at) => {
          const k = output.entries.length;
          if (values.length !== k)
            expect(() => clampToOutput(values, output)).to.throw(MapOutputShapeError, `expected ${k} entries, got ${values.length}`);
          const right = Array.from({ length: k }, (_, i) => values[i] ?? 0);
          expect(clampToOutput(right, output)).to.have.length(k);
          right[at % k] = bad;
          expect(() => clampToOutput(right, output)).to.throw(
            MapOutputShapeError,
            `map output[${at % k}]: expected a finite number, got ${bad}`,
          );
        },
      ),
    );
  });
});
