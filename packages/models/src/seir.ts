// The SEIR and SEIRD compartment models, integrated with fourth-order Runge–Kutta in steps of a fraction of a day.
import { InvalidParamsError } from "./errors.js";

/**
 * The parameters of a SEIR model (SEIRD when `mu` is given). Rates are per day.
 *
 *   S' = −β S I / N,  E' = β S I / N − σ E,  I' = σ E − (γ + μ) I,  R' = γ I,  D' = μ I
 *
 * R0 = β / (γ + μ). Day 0 starts with E = e0, I = i0, R = D = 0 and S = N − e0 − i0.
 */
export interface SeirParams {
  /** N, the people the epidemic can reach. */
  population: number;
  /** β, infectious contacts per infectious person per day. */
  beta: number;
  /** σ, 1 / the mean incubation period in days. */
  sigma: number;
  /** γ, 1 / the mean infectious period in days (recovery rate). */
  gamma: number;
  /** μ, the death rate of the infectious, per day (SEIRD); absent or 0 for SEIR. */
  mu?: number;
  /** Exposed people at the start of day 0. */
  e0: number;
  /** Infectious people at the start of day 0. */
  i0: number;
  /**
   * The share of new cases (and deaths) the series counts, in (0, 1]. A job result counts among the people who
   * answered, so with `respondents` answering out of `population` it is respondents / population.
   */
  reportRate: number;
}

export interface SeirTrajectory {
  /** Compartments at the start of each day 0..days (days + 1 values each), in people. */
  s: number[];
  e: number[];
  i: number[];
  r: number[];
  d: number[];
  /** Expected reported new cases during each day 0..days−1: reportRate × the people who became infectious (E → I). */
  incidence: number[];
  /** Expected reported deaths during each day 0..days−1: reportRate × the flow I → D (zeros for SEIR). */
  deaths: number[];
}

/** RK4 steps per day: the rates are at most about 1/day, so a quarter-day step is accurate to ~1e-6 relative. */
export const STEPS_PER_DAY = 4;
/** The longest simulation simulateSeir runs. */
export const MAX_DAYS = 100_000;

function check(field: string, value: unknown, ok: (x: number) => boolean, expected: string): void {
  if (typeof value !== "number" || !ok(value))
    throw new InvalidParamsError(`${field}: expected ${expected}, got ${typeof value === "number" ? value : JSON.stringify(value)}`);
}

/** Checks every parameter (InvalidParamsError naming the field and value). */
export function checkSeirParams(p: SeirParams): void {
  const finite = Number.isFinite;
  check("population", p.population, (x) => finite(x) && x > 0, "a positive number");
  check("beta", p.beta, (x) => finite(x) && x >= 0, "a rate ≥ 0 per day");
  check("sigma", p.sigma, (x) => finite(x) && x > 0, "a rate > 0 per day");
  check("gamma", p.gamma, (x) => finite(x) && x > 0, "a rate > 0 per day");
  if (p.mu !== undefined) check("mu", p.mu, (x) => finite(x) && x >= 0, "a rate ≥ 0 per day");
  check("e0", p.e0, (x) => finite(x) && x >= 0, "a number of people ≥ 0");
  check("i0", p.i0, (x) => finite(x) && x >= 0, "a number of people ≥ 0");
  if (p.e0 + p.i0 > p.population)
    throw new InvalidParamsError(`e0 + i0: expected at most the population ${p.population}, got ${p.e0 + p.i0}`);
  check("reportRate", p.reportRate, (x) => finite(x) && x > 0 && x <= 1, "a share in (0, 1]");
}

/**
 * The model's course over `days` days: compartments at each day's start and the reported cases and deaths during
 * each day. Throws InvalidParamsError for a parameter out of range or `days` not an integer in 0..MAX_DAYS.
 */
export function simulateSeir(p: SeirParams, days: number): SeirTrajectory {
  checkSeirParams(p);
  check("days", days, (x) => Number.isInteger(x) && x >= 0 && x <= MAX_DAYS, `an integer from 0 to ${MAX_DAYS}`);
  const out: SeirTrajectory = { s: [], e: [], i: [], r: [], d: [], incidence: [], deaths: [] };
  integrateSeir(p.population, p.beta, p.sigma, p.gamma, p.mu ?? 0, p.e0, p.i0, days, p.reportRate, (k, st, inc, dead) => {
    out.s.push(st[0]!);
    out.e.push(st[1]!);
    out.i.push(st[2]!);
    out.r.push(st[3]!);
    out.d.push(st[4]!);
    if (k > 0) {
      out.incidence.push(inc);
      out.deaths.push(dead);
    }
  });
  return out;
}

/**
 * The integrator without checks or allocation per step, for the fit's inner loop. Calls `day(k, state, inc, dead)`
 * at the start of day k = 0..days with state [S, E, I, R, D] and the reported cases and deaths during day k − 1.
 */
export function integrateSeir(
  n: number,
  beta: number,
  sigma: number,
  gamma: number,
  mu: number,
  e0: number,
  i0: number,
  days: number,
  reportRate: number,
  day: (k: number, state: Float64Array, incidence: number, deaths: number) => void,
): void {
  // State: S, E, I, R, D, C (cumulative E → I flow).
  const y = Float64Array.of(n - e0 - i0, e0, i0, 0, 0, 0);
  const k1 = new Float64Array(6);
  const k2 = new Float64Array(6);
  const k3 = new Float64Array(6);
  const k4 = new Float64Array(6);
  const tmp = new Float64Array(6);
  const h = 1 / STEPS_PER_DAY;
  const deriv = (s: Float64Array, out: Float64Array) => {
    const infection = (beta * Math.max(s[0]!, 0) * Math.max(s[2]!, 0)) / n;
    const onset = sigma * s[1]!;
    out[0] = -infection;
    out[1] = infection - onset;
    out[2] = onset - (gamma + mu) * s[2]!;
    out[3] = gamma * s[2]!;
    out[4] = mu * s[2]!;
    out[5] = onset;
  };
  let lastC = 0;
  let lastD = 0;
  day(0, y, 0, 0);
  for (let k = 1; k <= days; k++) {
    for (let step = 0; step < STEPS_PER_DAY; step++) {
      deriv(y, k1);
      for (let j = 0; j < 6; j++) tmp[j] = y[j]! + (h / 2) * k1[j]!;
      deriv(tmp, k2);
      for (let j = 0; j < 6; j++) tmp[j] = y[j]! + (h / 2) * k2[j]!;
      deriv(tmp, k3);
      for (let j = 0; j < 6; j++) tmp[j] = y[j]! + h * k3[j]!;
      deriv(tmp, k4);
      for (let j = 0; j < 6; j++) y[j]! += (h / 6) * (k1[j]! + 2 * k2[j]! + 2 * k3[j]! + k4[j]!);
    }
    day(k, y, reportRate * (y[5]! - lastC), reportRate * (y[4]! - lastD));
    lastC = y[5]!;
    lastD = y[4]!;
  }
}

/** R0 = β / (γ + μ). */
export const basicReproduction = (p: Pick<SeirParams, "beta" | "gamma" | "mu">): number => p.beta / (p.gamma + (p.mu ?? 0));

/**
 * The early growth rate r per day (the dominant eigenvalue of the linearised E, I system with S/N = `susceptible`):
 * (r + σ)(r + γ + μ) = β σ S/N. Negative when the epidemic shrinks.
 */
export function growthRate(beta: number, sigma: number, gamma: number, mu: number, susceptible = 1): number {
  const g = gamma + mu;
  return (-(sigma + g) + Math.sqrt((sigma - g) ** 2 + 4 * beta * sigma * susceptible)) / 2;
}
