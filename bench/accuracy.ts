// Accuracy figures (issue 19): how much less noise the declared structure needs, how much closer the shared mode's
// result is than the local one at the same epsilon, and per mechanism the error of the raw and projected estimates.
// `npm run bench -- accuracy [figure…]`; BENCH_RUNS (default 21) repeats each 10,000-user simulation, BENCH_USERS
// (default 10000) sets its size; the small-population rows use 200 runs. Progress goes to stderr.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  estimateResult,
  kmPerDayJob,
  noiseVariance,
  privatize,
  sampleDiscreteGaussian,
  seededUniform,
  symptomsByRegionJob,
  gaussianSigma2For,
  l1Sensitivity,
  l2Sensitivity,
  type UniformInt,
} from "@mosaic/mapreduce";
import type { JobSpec, OutputSpec, PrivacySpec } from "@mosaic/protocol";

/** One line of output: a figure's median value and whatever describes how it was measured. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  n: number;
  [extra: string]: unknown;
}

const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const progress = (message: string) => process.stderr.write(`accuracy: ${message}\n`);
const print = (figure: Figure) => console.log(JSON.stringify({ ...figure, ...machine }));
const round = (x: number, digits = 3) => Number(x.toPrecision(digits));

const EPSILON = { num: 1, den: 1 };
/** The δ the ready jobs' shared mode uses (withMode). */
const DELTA = { num: 1, den: 1_000_000 };
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const SMALL_USERS = 16;
const SMALL_RUNS = 200;

/** km-per-day at ε = 1 with its declared total (7 days), and the same output without it. */
const km = kmPerDayJob({ collectionDeadline: 2_000_000_000, epsilon: EPSILON });
const kmOutput: OutputSpec = { ...km.output, total: 7 };
const { total: _dropped, ...kmUndeclared } = kmOutput;
const laplace: PrivacySpec = { mechanism: "discrete-laplace", epsilon: EPSILON };
const sigma2 = gaussianSigma2For(l2Sensitivity(kmOutput), EPSILON, DELTA);
const gaussian: PrivacySpec = { mechanism: "discrete-gaussian", epsilon: EPSILON, delta: DELTA, sigma2 };

/** Band probabilities per day for three kinds of people: mostly home, commuting, travelling. */
const PROFILES = [
  [0.6, 0.25, 0.1, 0.04, 0.01, 0],
  [0.1, 0.2, 0.3, 0.3, 0.08, 0.02],
  [0.05, 0.1, 0.15, 0.3, 0.25, 0.15],
];

/** A user's km-per-day output: 7 days, each in one of the 6 bands, drawn from one profile. */
function kmUser(rand: UniformInt): number[] {
  const profile = PROFILES[Number(rand(3n))] as number[];
  const out = [0, 0, 0, 0, 0, 0];
  for (let day = 0; day < 7; day++) {
    let u = Number(rand(1_000_000n)) / 1_000_000;
    let band = 0;
    while (band < 5 && u >= (profile[band] as number)) u -= profile[band++] as number;
    out[band] = (out[band] as number) + 1;
  }
  return out;
}

/** A symptoms user's category (one-hot over 9): weighted towards "no symptoms" and "other". */
function symptomsUser(rand: UniformInt, k: number): number[] {
  const weights = [20, 3, 25, 4, 10, 2, 15, 3, 18];
  let u = Number(rand(BigInt(weights.reduce((a, b) => a + b, 0))));
  let c = 0;
  while (u >= (weights[c] as number)) u -= weights[c++] as number;
  const out = new Array<number>(k).fill(0);
  out[c] = 1;
  return out;
}

interface Errors {
  raw: number;
  projected: number;
}

/** Mean absolute error over the entries of the raw and projected estimates. */
function meanAbsoluteErrors(spec: JobSpec, aggregate: number[], count: number, truth: readonly number[]): Errors {
  const est = estimateResult(spec, aggregate, count);
  const mae = (xs: number[]) => xs.reduce((s, x, i) => s + Math.abs(x - (truth[i] as number)), 0) / truth.length;
  return { raw: mae(est.rows.map((r) => r.estimate)), projected: mae(est.rows.map((r) => r.projected)) };
}

/** A setting to simulate: a job, how its users answer, and how the released aggregate is made. */
interface Setting {
  key: string;
  spec: JobSpec;
  user: (rand: UniformInt) => number[];
  /** The local mode: each answer privatized by the real privatize; shared: the exact sum plus two real DG draws. */
  mode: "local" | "shared";
}

const settings: Setting[] = [
  { key: "local_discrete_laplace", spec: { ...km, output: kmOutput, privacy: laplace }, user: kmUser, mode: "local" },
  {
    key: "local_discrete_laplace_undeclared_total",
    spec: { ...km, output: kmUndeclared, privacy: laplace },
    user: kmUser,
    mode: "local",
  },
  { key: "local_discrete_gaussian", spec: { ...km, output: kmOutput, privacy: gaussian }, user: kmUser, mode: "local" },
  (() => {
    const symptoms = symptomsByRegionJob({ collectionDeadline: 2_000_000_000, epsilon: EPSILON });
    const k = symptoms.output.entries.length;
    return {
      key: "local_randomized_response",
      spec: { ...symptoms, privacy: { mechanism: "randomized-response", epsilon: EPSILON } },
      user: (rand: UniformInt) => symptomsUser(rand, k),
      mode: "local",
    } satisfies Setting;
  })(),
  { key: "shared_discrete_gaussian", spec: { ...km, output: kmOutput, privacy: gaussian, mode: "shared" }, user: kmUser, mode: "shared" },
];

/** One simulated job of `users` answers: the errors of its raw and projected estimates. */
function simulate(setting: Setting, users: number, seed: string): Errors {
  const rand = seededUniform(seed);
  const { spec } = setting;
  const length = spec.output.entries.length;
  const truth = new Array<number>(length).fill(0);
  const aggregate = new Array<number>(length).fill(0);
  for (let u = 0; u < users; u++) {
    const answer = setting.user(rand);
    const sent = setting.mode === "local" ? privatize(answer, spec.output, spec.privacy, rand) : answer;
    for (let j = 0; j < length; j++) {
      truth[j] = (truth[j] as number) + (answer[j] as number);
      aggregate[j] = (aggregate[j] as number) + (sent[j] as number);
    }
  }
  if (setting.mode === "shared") {
    const s2 = (spec.privacy as Extract<PrivacySpec, { mechanism: "discrete-gaussian" }>).sigma2;
    for (let j = 0; j < length; j++)
      aggregate[j] = (aggregate[j] as number) + sampleDiscreteGaussian(s2, rand) + sampleDiscreteGaussian(s2, rand);
  }
  return meanAbsoluteErrors(spec, aggregate, users, truth);
}

/** Median errors of `runs` simulated jobs of `users` answers each. */
function medianErrors(setting: Setting, users: number, runs: number): Errors & { runs: number } {
  const results: Errors[] = [];
  for (let run = 0; run < runs; run++) results.push(simulate(setting, users, `accuracy ${setting.key} ${users} ${run}`));
  return { raw: median(results.map((r) => r.raw)), projected: median(results.map((r) => r.projected)), runs };
}

/** Laplace noise standard deviation of one km-per-day answer at ε = 1 before and after declaring the total. */
async function sensitivityGain(): Promise<Figure[]> {
  const before = Math.sqrt(noiseVariance(kmUndeclared, laplace));
  const after = Math.sqrt(noiseVariance(kmOutput, laplace));
  return [
    {
      name: "accuracy.sensitivity_gain",
      value: round(before / after, 4),
      unit: "ratio",
      n: 1,
      std_dev_before: round(before, 4),
      std_dev_after: round(after, 4),
      l1_before: l1Sensitivity(kmUndeclared),
      l1_after: l1Sensitivity(kmOutput),
      l2_before: round(l2Sensitivity(kmUndeclared), 4),
      l2_after: round(l2Sensitivity(kmOutput), 4),
      epsilon: 1,
      job: "km-per-day",
    },
  ];
}

const cache = new Map<string, Errors & { runs: number }>();
function errorsOf(setting: Setting, users: number, runs: number): Errors & { runs: number } {
  const key = `${setting.key} ${users} ${runs}`;
  let errors = cache.get(key);
  if (errors === undefined) {
    const start = performance.now();
    errors = medianErrors(setting, users, runs);
    progress(
      `${setting.key}, ${users} users × ${runs} runs: MAE ${errors.raw.toFixed(1)} raw, ${errors.projected.toFixed(1)} projected (${((performance.now() - start) / 1000).toFixed(1)} s)`,
    );
    cache.set(key, errors);
  }
  return errors;
}

const byKey = (key: string) => settings.find((s) => s.key === key) as Setting;

/** MAE of the km-per-day histogram, local discrete Laplace / shared discrete Gaussian, at ε = 1 (target >= 10). */
async function ratioSharedVsLocal(): Promise<Figure[]> {
  const local = errorsOf(byKey("local_discrete_laplace"), USERS, RUNS);
  const shared = errorsOf(byKey("shared_discrete_gaussian"), USERS, RUNS);
  return [
    {
      name: "accuracy.ratio_shared_vs_local",
      value: round(local.raw / shared.raw),
      unit: "ratio",
      n: USERS,
      runs: RUNS,
      target: 10,
      local_mae: round(local.raw),
      shared_mae: round(shared.raw),
      projected_ratio: round(local.projected / shared.projected),
      epsilon: 1,
      delta_shared: 1e-6,
      sigma2_per_aggregator: sigma2.num / sigma2.den,
      job: "km-per-day (total 7)",
    },
  ];
}

/** The accuracy table: per mechanism and mode, the raw and projected MAE, at 10,000 users and at 16 (the demo's). */
async function table(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [users, runs] of [
    [USERS, RUNS],
    [SMALL_USERS, SMALL_RUNS],
  ] as const) {
    for (const setting of settings) {
      const e = errorsOf(setting, users, runs);
      figures.push({
        name: `accuracy.mae.${setting.key}`,
        value: round(e.raw),
        unit: setting.spec.output.unit,
        n: users,
        runs,
        projected_mae: round(e.projected),
        mechanism: setting.spec.privacy.mechanism,
        mode: setting.mode,
        epsilon: 1,
        job: setting.spec.output.kind === "one-hot" ? "symptoms-by-region" : "km-per-day",
      });
    }
  }
  return figures;
}

/** Every figure of this bench by name, in the order `main` runs them. */
export const FIGURES: Record<string, () => Promise<Figure[]>> = {
  "accuracy.sensitivity_gain": sensitivityGain,
  "accuracy.ratio_shared_vs_local": ratioSharedVsLocal,
  "accuracy.mae": table,
};

/** Runs the named figures (all when none are named) and prints each as a JSON line as soon as it is measured. */
export async function main(names: readonly string[] = []): Promise<void> {
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0)
    throw new Error(`accuracy bench: no figure ${unknown.join(", ")}; choose from ${Object.keys(FIGURES).join(", ")}`);
  for (const [name, measure] of Object.entries(FIGURES)) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const figure of await measure()) print(figure);
  }
}

// Run when started as `tsx bench/accuracy.ts [figure…]` or through `tsx bench/run.ts accuracy [figure…]`, not when
// another file imports a figure.
const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
else if (path.basename(entry).startsWith("run.") && process.argv[2] === "accuracy") await main(process.argv.slice(3));
