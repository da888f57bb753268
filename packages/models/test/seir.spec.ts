// SEIR/SEIRD simulation, fitting and forecasting against epidemics simulated with known parameters and noised as a
// DP job result would be (Poisson counts plus Laplace noise of a known scale): the fit must recover the parameters
// within stated tolerances, its band must cover the true curve, and bad input must fail by name without touching it.
import { expect } from "chai";
import {
  DuplicateDayError,
  EmptySeriesError,
  FitFailedError,
  fitSeir,
  InvalidObservationError,
  InvalidParamsError,
  InvalidPopulationError,
  nelderMead,
  type Observation,
  PopulationTooSmallError,
  type SeirParams,
  seededRandom,
  simulateSeir,
  UnsortedSeriesError,
} from "../src/index.js";

const DAY0 = 20_400; // 2025-11-07

/**
 * The true curves over `days + horizon` days, and the first `days` of them observed: each day's true count drawn
 * around the expectation (normal with the Poisson variance, rounded), plus Laplace noise of scale b (sd b√2), as
 * a discrete-Laplace DP count would carry.
 */
/** Likelihood evaluations one 120-day fit with 60 bootstrap refits may take: 11,355 today, with room for tuning. */
const EVALUATION_BUDGET = 25_000;

function epidemic(p: SeirParams, days: number, horizon: number, b: number, seed: number) {
  const sim = simulateSeir(p, days + horizon);
  const rng = seededRandom(seed);
  const observe = (curve: number[]): Observation[] =>
    curve.slice(0, days).map((m, k) => ({
      day: DAY0 + k,
      value: Math.max(0, Math.round(m + Math.sqrt(m) * rng.normal())) + rng.laplace(b),
      sd: b * Math.SQRT2,
    }));
  return { sim, cases: observe(sim.incidence), deaths: observe(sim.deaths) };
}

const within = (got: number, want: number, tolerance: number) =>
  expect(Math.abs(got / want - 1), `${got} vs ${want} (±${tolerance * 100}%)`).to.be.at.most(tolerance);

/** Share of forecast days whose band holds the true expected count. */
function bandCoverage(forecast: { low: number; high: number }[], truth: number[], from: number): number {
  const hits = forecast.filter((f, h) => truth[from + h]! >= f.low - 1e-9 && truth[from + h]! <= f.high + 1e-9).length;
  return hits / forecast.length;
}

const SEIR_TRUTH: SeirParams = { population: 100_000, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 5, e0: 20, i0: 10, reportRate: 1 };

describe("models: simulateSeir", () => {
  it("conserves the population, and its incidence is the flow into I", () => {
    const p: SeirParams = { ...SEIR_TRUTH, mu: 0.01 };
    const t = simulateSeir(p, 200);
    expect(t.s).to.have.length(201);
    expect(t.incidence).to.have.length(200);
    for (let k = 0; k <= 200; k++) {
      const total = t.s[k]! + t.e[k]! + t.i[k]! + t.r[k]! + t.d[k]!;
      expect(Math.abs(total - p.population)).to.be.below(1e-6);
    }
    // Everyone who became infectious is in I, R or D: the days' incidence adds up to I + R + D − i0.
    const cumulative = t.incidence.reduce((a, b) => a + b, 0);
    expect(Math.abs(cumulative - (t.i[200]! + t.r[200]! + t.d[200]! - p.i0))).to.be.below(1e-6);
    const deaths = t.deaths.reduce((a, b) => a + b, 0);
    expect(Math.abs(deaths - t.d[200]!)).to.be.below(1e-6);
  });

  it("matches closed forms: E decays as e^(−σt) without transmission; the final size solves ln s∞ = R0 (s∞ − 1)", () => {
    const decay = simulateSeir({ ...SEIR_TRUTH, beta: 0, e0: 1000, i0: 0 }, 30);
    for (const k of [1, 10, 30]) expect(Math.abs(decay.e[k]! / (1000 * Math.exp(-SEIR_TRUTH.sigma * k)) - 1)).to.be.below(1e-6);
    const t = simulateSeir({ ...SEIR_TRUTH, e0: 0, i0: 1 }, 1000);
    const sInf = t.s[1000]! / SEIR_TRUTH.population;
    const r0 = SEIR_TRUTH.beta / SEIR_TRUTH.gamma;
    expect(Math.abs(Math.log(sInf) - r0 * (sInf - 1))).to.be.below(1e-4);
  });

  it("scales reported counts by reportRate, not the compartments", () => {
    const full = simulateSeir(SEIR_TRUTH, 60);
    const fifth = simulateSeir({ ...SEIR_TRUTH, reportRate: 0.2 }, 60);
    expect(fifth.i).to.deep.equal(full.i);
    for (const [k, x] of fifth.incidence.entries()) expect(Math.abs(x - 0.2 * full.incidence[k]!)).to.be.below(1e-9);
  });

  it("refuses parameters out of range by name, naming the field", () => {
    const bad: [Partial<SeirParams>, string][] = [
      [{ population: 0 }, "population"],
      [{ beta: Number.NaN }, "beta"],
      [{ sigma: 0 }, "sigma"],
      [{ gamma: -1 }, "gamma"],
      [{ mu: -0.1 }, "mu"],
      [{ i0: 200_000 }, "e0 + i0"],
      [{ reportRate: 1.5 }, "reportRate"],
    ];
    for (const [change, field] of bad)
      expect(() => simulateSeir({ ...SEIR_TRUTH, ...change }, 10))
        .to.throw(InvalidParamsError)
        .with.property("message")
        .that.contains(field);
    expect(() => simulateSeir(SEIR_TRUTH, 1.5)).to.throw(InvalidParamsError, /days/);
  });
});

describe("models: nelderMead", () => {
  it("finds the Rosenbrock minimum", () => {
    const m = nelderMead(([x, y]) => (1 - x!) ** 2 + 100 * (y! - x! * x!) ** 2, [-1.2, 1], {
      maxEvaluations: 2000,
      fTolerance: 1e-14,
      xTolerance: 1e-9,
    });
    expect(Math.abs(m.x[0]! - 1)).to.be.below(1e-4);
    expect(Math.abs(m.x[1]! - 1)).to.be.below(1e-4);
  });
});

describe("models: fitSeir recovers known epidemics", function () {
  this.timeout(120_000);
  const seeds = [1, 2, 3, 4, 5];

  it("SEIR, 120 days with Laplace noise (b = 10): R0 within ±10%, γ within ±15%, the band covers the truth on ≥ 90% of forecast days", () => {
    let covered = 0;
    let r0Held = 0;
    for (const seed of seeds) {
      const { sim, cases } = epidemic(SEIR_TRUTH, 120, 28, 10, seed);
      const fit = fitSeir({ cases }, { population: SEIR_TRUTH.population, seed, horizonDays: 28 });
      expect(fit.model).to.equal("SEIR");
      within(fit.r0, 2.5, 0.1);
      within(fit.params.gamma, SEIR_TRUTH.gamma, 0.15);
      expect(fit.params.sigma).to.equal(1 / 5.2);
      expect(fit.identified.gamma).to.equal(true);
      expect(fit.notes).to.deep.equal([]);
      expect(fit.r0Interval[0]).to.be.at.most(fit.r0);
      expect(fit.r0Interval[1]).to.be.at.least(fit.r0);
      if (fit.r0Interval[0] <= 2.5 && 2.5 <= fit.r0Interval[1]) r0Held++;
      expect(fit.forecast).to.have.length(28);
      expect(fit.forecast[0]!.day).to.equal(DAY0 + 120);
      expect(fit.fitted).to.have.length(120);
      covered += bandCoverage(fit.forecast, sim.incidence, 120);
      expect(fit.bootstrap).to.be.at.least(55);
    }
    expect(covered / seeds.length).to.be.at.least(0.9);
    // The 95% R0 interval is a bootstrap's, not exact: it must hold the truth in at least 4 of 5 runs.
    expect(r0Held).to.be.at.least(4);
  });

  it("SEIR in its rising phase only (60 days, Gaussian noise sd 20, γ fixed at the truth): R0 within ±10%", () => {
    for (const seed of seeds.slice(0, 3)) {
      const sim = simulateSeir(SEIR_TRUTH, 60);
      const rng = seededRandom(seed);
      const cases = sim.incidence.map((m, k) => ({ day: DAY0 + k, value: m + Math.sqrt(m + 400) * rng.normal(), sd: 20 }));
      const fit = fitSeir({ cases }, { population: SEIR_TRUTH.population, seed, fixed: { gamma: SEIR_TRUTH.gamma }, bootstrap: 20 });
      within(fit.r0, 2.5, 0.1);
      expect(fit.params.gamma).to.equal(SEIR_TRUTH.gamma);
    }
  });

  it("SEIRD from cases and deaths (Laplace b = 5): μ within ±25%, R0 within ±10%, γ within ±15%, deaths band covers ≥ 90%", () => {
    const truth: SeirParams = { ...SEIR_TRUTH, gamma: 1 / 6, mu: 0.004 };
    const r0 = truth.beta / (truth.gamma + truth.mu!);
    let covered = 0;
    for (const seed of seeds.slice(0, 3)) {
      const { sim, cases, deaths } = epidemic(truth, 120, 28, 5, seed);
      const fit = fitSeir({ cases, deaths }, { population: truth.population, seed, bootstrap: 40 });
      expect(fit.model).to.equal("SEIRD");
      within(fit.params.mu!, truth.mu!, 0.25);
      within(fit.r0, r0, 0.1);
      within(fit.params.gamma, truth.gamma, 0.15);
      expect(fit.deathsForecast).to.have.length(28);
      expect(fit.paramIntervals.mu).to.have.length(2);
      covered += bandCoverage(fit.deathsForecast!, sim.deaths, 120);
    }
    expect(covered / 3).to.be.at.least(0.9);
  });

  it("counts among respondents: a job asking 20 000 of 100 000 people fits the town's epidemic with respondents given", () => {
    const truth = { ...SEIR_TRUTH, reportRate: 0.2 };
    const { cases } = epidemic(truth, 120, 0, 3, 9);
    const fit = fitSeir({ cases }, { population: 100_000, respondents: 20_000, seed: 9, bootstrap: 20 });
    expect(fit.params.reportRate).to.equal(0.2);
    within(fit.r0, 2.5, 0.1);
  });

  it("is deterministic for a seed, and reports progress", () => {
    const { cases } = epidemic(SEIR_TRUTH, 90, 0, 10, 3);
    const progress: number[] = [];
    const a = fitSeir({ cases }, { population: SEIR_TRUTH.population, seed: 5, bootstrap: 10, onProgress: (done) => progress.push(done) });
    const b = fitSeir({ cases }, { population: SEIR_TRUTH.population, seed: 5, bootstrap: 10 });
    expect(a).to.deep.equal(b);
    expect(progress).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const c = fitSeir({ cases }, { population: SEIR_TRUTH.population, seed: 6, bootstrap: 10 });
    expect(c.r0Interval).to.not.deep.equal(a.r0Interval);
  });

  it("fits a 120-day series with the default bootstrap in a bounded number of model evaluations (the bench times it)", () => {
    const { cases } = epidemic(SEIR_TRUTH, 120, 0, 10, 1);
    const fit = fitSeir({ cases }, { population: SEIR_TRUTH.population });
    expect(fit.bootstrap).to.equal(60);
    // Deterministic for a seed: a change that multiplies the work shows here, whatever the machine's load.
    expect(fit.evaluations).to.be.below(EVALUATION_BUDGET);
  });
});

describe("models: fitSeir refuses bad input by name and leaves it as it was", () => {
  const good = (): Observation[] => [
    { day: DAY0, value: 3, sd: 1.4 },
    { day: DAY0 + 1, value: 5, sd: 1.4 },
    { day: DAY0 + 2, value: 8, sd: 1.4 },
  ];
  const refuses = (
    cases: Observation[],
    options: Parameters<typeof fitSeir>[1],
    error: new (...a: never[]) => Error,
    message: RegExp,
    deaths?: Observation[],
  ) => {
    const before = structuredClone({ cases, deaths, options });
    expect(() => fitSeir({ cases, deaths }, options)).to.throw(error, message);
    expect({ cases, deaths, options }).to.deep.equal(before);
  };
  const population = 1000;

  it("an empty series: EmptySeriesError", () => {
    refuses([], { population }, EmptySeriesError, /cases: no observations/);
    refuses(good(), { population }, EmptySeriesError, /deaths: no observations/, []);
  });
  it("NaN, Infinity, a negative sd, a fractional day: InvalidObservationError naming the entry", () => {
    refuses([...good(), { day: DAY0 + 3, value: Number.NaN, sd: 1 }], { population }, InvalidObservationError, /cases\[3\]\.value/);
    refuses([{ day: DAY0, value: Infinity, sd: 1 }], { population }, InvalidObservationError, /cases\[0\]\.value/);
    refuses([{ day: DAY0, value: 1, sd: -1 }], { population }, InvalidObservationError, /cases\[0\]\.sd/);
    refuses([{ day: DAY0, value: 1, sd: Number.NaN }], { population }, InvalidObservationError, /sd/);
    refuses([{ day: DAY0 + 0.5, value: 1, sd: 1 }], { population }, InvalidObservationError, /day/);
    refuses(good(), { population }, InvalidObservationError, /deaths\[0\]\.sd/, [{ day: DAY0, value: 0, sd: -2 }]);
  });
  it("unsorted days: UnsortedSeriesError; the same day twice: DuplicateDayError", () => {
    const g = good();
    refuses([g[1]!, g[0]!, g[2]!], { population }, UnsortedSeriesError, /sort/);
    refuses([g[0]!, g[1]!, { ...g[1]! }], { population }, DuplicateDayError, /twice/);
  });
  it("population ≤ 0 or not a number: InvalidPopulationError; smaller than the cases or respondents: PopulationTooSmallError", () => {
    refuses(good(), { population: 0 }, InvalidPopulationError, /population/);
    refuses(good(), { population: -5 }, InvalidPopulationError, /population/);
    refuses(good(), { population: Number.NaN }, InvalidPopulationError, /population/);
    refuses(good(), { population: 5 }, PopulationTooSmallError, /fewer than the 9 people/);
    const exact = good().map((o) => ({ ...o, sd: 0 }));
    refuses(exact, { population: 10 }, PopulationTooSmallError, /fewer than the 16 people/);
    // Noise alone does not trip it: the same counts with sd 10 could all be noise.
    const noisy = good().map((o) => ({ ...o, sd: 10 }));
    expect(fitSeir({ cases: noisy }, { population: 5, bootstrap: 0 }).params.population).to.equal(5);
    refuses(good(), { population: 100, respondents: 200 }, PopulationTooSmallError, /respondents/);
    refuses(good(), { population: 100, respondents: 1 }, PopulationTooSmallError, /report rate/);
  });
  it("options out of range: InvalidParamsError naming the option", () => {
    refuses(good(), { population, horizonDays: -1 }, InvalidParamsError, /horizonDays/);
    refuses(good(), { population, bootstrap: 1.5 }, InvalidParamsError, /bootstrap/);
    refuses(good(), { population, level: 1 }, InvalidParamsError, /level/);
    refuses(good(), { population, overdispersion: -1 }, InvalidParamsError, /overdispersion/);
    refuses(good(), { population, fixed: { sigma: 0 } }, InvalidParamsError, /sigma/);
    refuses(good(), { population, fixed: { gamma: Number.NaN } }, InvalidParamsError, /fixed\.gamma/);
    refuses(good(), { population, fixed: { mu: 0.1 } }, InvalidParamsError, /deaths series/);
    refuses(good(), { population, fixed: { reportRate: 2 } }, InvalidParamsError, /reportRate/);
  });
  it("FitFailedError exists with its name, for a likelihood that is nowhere finite", () => {
    expect(new FitFailedError("x").name).to.equal("FitFailedError");
  });
});
