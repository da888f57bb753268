import { expect } from "chai";
import { discreteLaplacePmf, discreteLaplaceVariance, laplaceScale, noiseTailBound, privatize, sampleDiscreteLaplace } from "../src/dp.js";

describe("discrete Laplace sampler", () => {
  it("matches its exact probabilities (chi-square, 40k draws, scale 3/2)", () => {
    const scale = { s: 3, t: 2 };
    const n = 40_000;
    const counts = new Map<number, number>();
    // A seeded uniform source keeps this test deterministic; the sampler's arithmetic is what is tested.
    let a = 12345;
    const seeded = (m: number): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * m);
    };
    for (let i = 0; i < n; i++) {
      const x = sampleDiscreteLaplace(scale.s, scale.t, seeded);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    // Bins -6..6, with both tails folded into the end bins.
    let chi2 = 0;
    const bins = 13;
    for (let k = -6; k <= 6; k++) {
      let expectedP = discreteLaplacePmf(k, scale);
      let observed = counts.get(k) ?? 0;
      if (Math.abs(k) === 6) {
        for (let j = 7; j < 200; j++) expectedP += discreteLaplacePmf(j, scale);
        for (const [x, c] of counts) if (Math.sign(x) === Math.sign(k) && Math.abs(x) > 6) observed += c;
      }
      const expected = expectedP * n;
      chi2 += (observed - expected) ** 2 / expected;
    }
    // 12 degrees of freedom: P(chi2 > 32.9) = 0.001.
    expect(chi2, `chi2 over ${bins} bins`).to.be.below(32.9);
  });

  it("has the variance 2p/(1-p)^2 at a large scale (350/8)", () => {
    const xs = Array.from({ length: 20_000 }, () => sampleDiscreteLaplace(350, 8));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    const want = discreteLaplaceVariance({ s: 350, t: 8 });
    expect(Math.abs(mean)).to.be.below(3);
    expect(variance / want).to.be.within(0.9, 1.1);
  });

  it("rejects non-integer or non-positive parameters with a named field", () => {
    expect(() => sampleDiscreteLaplace(0, 1)).to.throw(RangeError, /s: expected a positive integer/);
    expect(() => sampleDiscreteLaplace(1, 1.5)).to.throw(RangeError, /t: expected a positive integer/);
  });

  it("keeps privatized outputs inside the declared range widened by the tail bound", () => {
    const scale = laplaceScale({ length: 7, min: 0, max: 50 }, { num: 8, den: 1 });
    expect(scale).to.deep.equal({ s: 350, t: 8 });
    const bound = noiseTailBound(scale);
    for (let i = 0; i < 200; i++) {
      for (const x of privatize([0, 10, 50, 1000, -5, 25, 49], { min: 0, max: 50 }, scale)) {
        expect(Number.isInteger(x)).to.equal(true);
        expect(x).to.be.within(-bound, 50 + bound);
      }
    }
  });
});
