// An epidemic still in its early exponential growth fixes only its growth rate r: β and γ trade off along a ridge
// ((r + σ)(r + γ) = βσ), so R0 = (1 + r/σ)(1 + r/γ) is not identified without γ. These tests simulate the case the
// app's author hit (true R0 2, infectious period 4 days, incubation 5.2 days) at 40, 60 and 90 days over several
// seeds: the fit must stay within the plausible ranges, say when it held γ, and its R0 interval must cover the truth.
import { expect } from "chai";
import { fitSeir, InvalidParamsError, type Observation, type SeirParams, seededRandom, simulateSeir } from "../src/index.js";

const DAY0 = 20_400;
const TRUTH: SeirParams = { population: 100_000, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 4, e0: 20, i0: 10, reportRate: 1 };
const R0 = TRUTH.beta / TRUTH.gamma;

/** The first `days` of the epidemic: Poisson-like counts plus Laplace DP noise of scale b. */
function early(days: number, b: number, seed: number): Observation[] {
  const sim = simulateSeir(TRUTH, days);
  const rng = seededRandom(seed);
  return sim.incidence.map((m, k) => ({
    day: DAY0 + k,
    value: Math.max(0, Math.round(m + Math.sqrt(m) * rng.normal())) + rng.laplace(b),
    sd: b * Math.SQRT2,
  }));
}

describe("models: fitSeir on an early-growth series (γ not identified)", function () {
  this.timeout(120_000);
  const seeds = [1, 2, 3, 4, 5, 6];

  for (const days of [40, 60]) {
    it(`${days} days (the peak is at day 84): γ held at the assumed 5 days and said so; the R0 interval covers the truth in every seed`, () => {
      for (const seed of seeds) {
        const fit = fitSeir({ cases: early(days, 10, seed) }, { population: TRUTH.population, seed, bootstrap: 30 });
        const label = `${days} days, seed ${seed}: R0 ${fit.r0} [${fit.r0Interval}]`;
        expect(fit.identified.gamma, label).to.equal(false);
        expect(fit.params.gamma, label).to.equal(1 / 5);
        expect(fit.notes.join(" "), label)
          .to.match(/γ is not identified/)
          .and.match(/held at 5 days/);
        expect(fit.r0Interval[0], label).to.be.at.most(R0);
        expect(fit.r0Interval[1], label).to.be.at.least(R0);
        expect(fit.r0Interval[1], label).to.be.at.most(20);
        // The interval spans the infectious periods the data allow, and γ's interval says which.
        const [gLow, gHigh] = fit.paramIntervals.gamma!;
        expect(1 / gHigh, label).to.be.at.least(1 - 1e-9);
        expect(1 / gLow, label).to.be.at.most(21 + 1e-9);
        expect(gLow, label).to.be.at.most(TRUTH.gamma);
        expect(gHigh, label).to.be.at.least(TRUTH.gamma);
        // At the held γ the growth rate is what fixes R0: (1 + r/σ)(1 + r/γ) with r the true r, within 10% at 60 days
        // (25% at 40, where the first weeks' counts are within the DP noise of zero).
        const r = (-(TRUTH.sigma + TRUTH.gamma) + Math.sqrt((TRUTH.sigma - TRUTH.gamma) ** 2 + 4 * TRUTH.beta * TRUTH.sigma)) / 2;
        const implied = (1 + r / TRUTH.sigma) * (1 + r * 5);
        expect(Math.abs(fit.r0 / implied - 1), label).to.be.below(days === 40 ? 0.25 : 0.1);
      }
    });
  }

  it("90 days (just past the peak): γ identified and fitted within its range, no notes, R0 within ±10% and its interval covers the truth in ≥ 5 of 6 seeds", () => {
    let held = 0;
    for (const seed of seeds) {
      const fit = fitSeir({ cases: early(90, 10, seed) }, { population: TRUTH.population, seed, bootstrap: 30 });
      const label = `seed ${seed}: R0 ${fit.r0} [${fit.r0Interval}], 1/γ ${1 / fit.params.gamma}`;
      expect(fit.identified.gamma, label).to.equal(true);
      expect(fit.notes, label).to.deep.equal([]);
      expect(1 / fit.params.gamma, label).to.be.within(1, 21);
      expect(Math.abs(fit.r0 / R0 - 1), label).to.be.below(0.1);
      if (fit.r0Interval[0] <= R0 && R0 <= fit.r0Interval[1]) held++;
    }
    expect(held).to.be.at.least(5);
  });

  it("the plausible range and the assumed period are options: 1/γ within [3, 6] days, assumed 4, narrows the interval around the truth", () => {
    const fit = fitSeir(
      { cases: early(40, 10, 1) },
      { population: TRUTH.population, seed: 1, bootstrap: 30, infectiousDays: [3, 6], assumedInfectiousDays: 4 },
    );
    expect(fit.identified.gamma).to.equal(false);
    expect(fit.params.gamma).to.equal(1 / 4);
    expect(fit.notes.join(" ")).to.match(/held at 4 days/);
    expect(Math.abs(fit.r0 / R0 - 1)).to.be.below(0.1);
    expect(fit.r0Interval[0]).to.be.at.most(R0);
    expect(fit.r0Interval[1]).to.be.at.least(R0);
    expect(fit.r0Interval[1] - fit.r0Interval[0]).to.be.below(1.5);
  });

  it("fixed.gamma holds γ without the identification check: identified.gamma absent, no notes", () => {
    const fit = fitSeir(
      { cases: early(60, 10, 2) },
      { population: TRUTH.population, seed: 2, bootstrap: 10, fixed: { gamma: TRUTH.gamma } },
    );
    expect(fit.params.gamma).to.equal(TRUTH.gamma);
    expect(fit.identified).to.deep.equal({});
    expect(fit.notes).to.deep.equal([]);
    expect(Math.abs(fit.r0 / R0 - 1)).to.be.below(0.1);
  });

  it("never leaves the plausible ranges, even on a series that is noise alone", () => {
    const rng = seededRandom(7);
    const cases = Array.from({ length: 50 }, (_, k) => ({ day: DAY0 + k, value: 5 + rng.laplace(4), sd: 4 * Math.SQRT2 }));
    for (const seed of [1, 2, 3]) {
      const fit = fitSeir({ cases }, { population: 10_000, seed, bootstrap: 20, fitSigma: true });
      expect(1 / fit.params.gamma).to.be.within(1, 21);
      expect(1 / fit.params.sigma).to.be.within(1, 21);
      expect(fit.r0).to.be.at.most(20);
      expect(fit.r0Interval[1]).to.be.at.most(20);
      const [gLow, gHigh] = fit.paramIntervals.gamma!;
      expect(1 / gHigh).to.be.at.least(1 - 1e-9);
      expect(1 / gLow).to.be.at.most(21 + 1e-9);
    }
  });

  it("refuses ranges out of order or not positive, an assumed period outside the range and a bad maxR0, by name, leaving the options as they were", () => {
    const cases = early(20, 2, 1);
    const bad: [Parameters<typeof fitSeir>[1], RegExp][] = [
      [{ population: 1e5, infectiousDays: [0, 5] }, /infectiousDays/],
      [{ population: 1e5, infectiousDays: [8, 3] }, /infectiousDays/],
      [{ population: 1e5, infectiousDays: [1, Number.NaN] }, /infectiousDays/],
      [{ population: 1e5, incubationDays: [2] as unknown as [number, number] }, /incubationDays/],
      [{ population: 1e5, assumedInfectiousDays: 30 }, /assumedInfectiousDays/],
      [{ population: 1e5, infectiousDays: [2, 4], assumedInfectiousDays: 5 }, /assumedInfectiousDays/],
      [{ population: 1e5, maxR0: 0 }, /maxR0/],
      [{ population: 1e5, maxR0: Number.POSITIVE_INFINITY }, /maxR0/],
    ];
    for (const [options, message] of bad) {
      const before = structuredClone({ cases, options });
      expect(() => fitSeir({ cases }, options)).to.throw(InvalidParamsError, message);
      expect({ cases, options }).to.deep.equal(before);
    }
  });
});
