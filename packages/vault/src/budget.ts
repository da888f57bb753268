// The privacy budget: an epsilon ledger in exact fractions, with a per-period allowance the user sets.
import { privacyCost } from "@mosaic/mapreduce";
import type { JobSpec } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";

/** Epsilon as an exact fraction, as job specs state it. */
export interface Epsilon {
  num: number;
  den: number;
}

export interface BudgetSettings {
  /** The epsilon the user allows per period. */
  epsilon: Epsilon;
  /** Length of a period in days; the allowance resets at each period's start. */
  periodDays: number;
  /** Unix ms at which the first period starts; periods follow back to back. */
  anchor: number;
}

/**
 * The default: epsilon 16 per 30 days, periods counted from the Unix epoch. Local-DP deployments spend a few
 * units per report (Apple's budgets are 2 to 8 per day per use); 16 a month allows two reports like the
 * km-per-day job (epsilon 8) and makes a user's monthly mobility profile no more than e^16 times likelier under
 * one history than another — a cap the user can tighten.
 */
export const DEFAULT_BUDGET: BudgetSettings = { epsilon: { num: 16, den: 1 }, periodDays: 30, anchor: 0 };

/**
 * The ε the ledger charges for answering `spec`, in either mode: what the job's noise really gives the user
 * (mapreduce's privacyCost: for a discrete Gaussian the ε its σ² achieves, rounded up; for a shared job what one
 * aggregator's noise gives alone), never less than the truth. RangeError for a privacy spec that cannot apply.
 */
export function jobPrivacyCost(spec: Pick<JobSpec, "privacy" | "output" | "mode">): Epsilon {
  const { num, den } = privacyCost(spec).epsilon;
  return { num, den };
}

/** A ledger entry: one job's epsilon, reserved at consent, spent when its output leaves, released on withdrawal. */
export interface LedgerEntry extends Doc {
  jobKey: string;
  num: number;
  den: number;
  /** Unix ms of the reservation: decides the period it counts in. */
  time: number;
  state: "reserved" | "spent" | "released";
}

interface Fraction {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function fraction(e: Epsilon): Fraction {
  return { n: BigInt(e.num), d: BigInt(e.den) };
}

function add(a: Fraction, b: Fraction): Fraction {
  const n = a.n * b.d + b.n * a.d;
  const d = a.d * b.d;
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}

function compare(a: Fraction, b: Fraction): number {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function formatEpsilon(f: Fraction | Epsilon): string {
  const { n, d } = "num" in f ? fraction(f) : f;
  const g = gcd(n, d);
  return d / g === 1n ? `${n / g}` : `${n / g}/${d / g}`;
}

/** Checks settings from the user; RangeError names the field. */
export function validateBudgetSettings(s: BudgetSettings): BudgetSettings {
  const e = s.epsilon;
  if (!Number.isSafeInteger(e?.num) || !Number.isSafeInteger(e?.den) || e.num < 0 || e.den < 1) {
    throw new RangeError(`budget.epsilon: expected a fraction num/den with num >= 0, den >= 1, got ${JSON.stringify(e)}`);
  }
  if (!Number.isInteger(s.periodDays) || s.periodDays < 1 || s.periodDays > 3660)
    throw new RangeError(`budget.periodDays: expected 1..3660, got ${s.periodDays}`);
  if (!Number.isSafeInteger(s.anchor) || s.anchor < 0) throw new RangeError(`budget.anchor: expected unix ms >= 0, got ${s.anchor}`);
  return s;
}

/** The period `now` falls in, [start, end) in unix ms. */
export function periodAt(settings: BudgetSettings, now: number): { start: number; end: number } {
  const length = settings.periodDays * 86_400_000;
  const start = settings.anchor + Math.floor((now - settings.anchor) / length) * length;
  return { start, end: start + length };
}

export interface BudgetStatus {
  settings: BudgetSettings;
  period: { start: number; end: number };
  /** Reserved or spent in this period, as a fraction string. */
  used: string;
  remaining: string;
  entries: LedgerEntry[];
}

/** The ledger for the period containing `now`. */
export function budgetStatus(settings: BudgetSettings, ledger: readonly LedgerEntry[], now: number): BudgetStatus {
  const period = periodAt(settings, now);
  const entries = ledger.filter((e) => e.state !== "released" && e.time >= period.start && e.time < period.end);
  const used = entries.reduce((sum, e) => add(sum, fraction(e)), { n: 0n, d: 1n });
  const allowance = fraction(settings.epsilon);
  const left = add(allowance, { n: -used.n, d: used.d });
  return { settings, period, used: formatEpsilon(used), remaining: formatEpsilon(left.n < 0n ? { n: 0n, d: 1n } : left), entries };
}

/** Whether spending `epsilon` now stays within the allowance. */
export function fitsBudget(settings: BudgetSettings, ledger: readonly LedgerEntry[], now: number, epsilon: Epsilon): boolean {
  const period = periodAt(settings, now);
  let used: Fraction = fraction(epsilon);
  for (const e of ledger) if (e.state !== "released" && e.time >= period.start && e.time < period.end) used = add(used, fraction(e));
  return compare(used, fraction(settings.epsilon)) <= 0;
}
