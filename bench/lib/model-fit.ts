// model.seir_fit_ms: fitting SEIR to a 120-day series of daily new cases as a job result carries them (a count among
// respondents with Laplace DP noise of known scale), with the default 60 bootstrap refits for the forecast band and
// the R0 interval — the whole of what `mosaic model seir` and the researcher's chart compute. The single point fit
// (no bootstrap) is reported beside it. BENCH_RUNS (default 5) fits, each on a fresh noisy series.
import { fitSeir, type Observation, seededRandom, simulateSeir } from "@mosaic/models";
import type { Figure } from "../shared.js";

const progress = (message: string) => process.stderr.write(`model fit: ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const DAYS = 120;
const FIRST_DAY = 20_400; // 2025-11-07
const TRUTH = { population: 1_000_000, beta: 0.45, sigma: 1 / 5.2, gamma: 1 / 6, e0: 40, i0: 20, reportRate: 0.1 };
/** The DP noise: Laplace with scale b (a count at ε = 0.5), sd = b·√2. */
const LAPLACE_B = 2;

function series(seed: number): Observation[] {
  const rand = seededRandom(seed);
  const truth = simulateSeir(TRUTH, DAYS).incidence;
  return truth.map((mean, k) => {
    // Poisson-ish counting noise on top (normal approximation), then the DP noise.
    const counted = Math.max(0, Math.round(mean + Math.sqrt(mean) * rand.normal()));
    return { day: FIRST_DAY + k, value: counted + rand.laplace(LAPLACE_B), sd: LAPLACE_B * Math.SQRT2 };
  });
}

export async function modelFigures(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const full: number[] = [];
  const point: number[] = [];
  let r0: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const cases = series(run);
    const respondents = TRUTH.population * TRUTH.reportRate;
    let t = performance.now();
    const fit = fitSeir({ cases }, { population: TRUTH.population, respondents, horizonDays: 28, seed: run });
    full.push(performance.now() - t);
    t = performance.now();
    fitSeir({ cases }, { population: TRUTH.population, respondents, horizonDays: 28, bootstrap: 0, seed: run });
    point.push(performance.now() - t);
    r0 = [...r0, fit.r0];
    progress(
      `run ${run}/${runs}: ${full.at(-1)?.toFixed(0)} ms with the bootstrap, ${point.at(-1)?.toFixed(0)} ms without; R0 ${fit.r0.toFixed(3)} (true ${(TRUTH.beta / TRUTH.gamma).toFixed(3)})`,
    );
  }
  return [
    {
      name: "model.seir_fit_ms",
      value: Math.round(median(full)),
      unit: "ms",
      n: runs,
      days: DAYS,
      bootstrap: 60,
      point_fit_ms: Math.round(median(point)),
      r0_median: Number(median(r0).toFixed(3)),
      r0_true: Number((TRUTH.beta / TRUTH.gamma).toFixed(3)),
    },
  ];
}
