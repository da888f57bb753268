// Job specs: the km-per-day spec builder, validation, and the bounds and error bars a spec implies.
import { InvalidJobSpecError, type JobSpec } from "@mosaic/protocol";
import { discreteLaplaceVariance, type LaplaceScale, laplaceScale, noiseTailBound } from "./dp.js";
import { DAY_S } from "./kmPerDay.js";

export interface KmPerDayInit {
  /** @default 7 */
  days?: number;
  /** End of the window, unix seconds; midnight UTC after "now" by default. */
  windowEnd?: number;
  /** Per-day clamp, km. @default 50 */
  maxKm?: number;
  /** @default { num: 8, den: 1 } */
  epsilon?: { num: number; den: number };
  /** @default 3 */
  minParticipants?: number;
}

/** The ready job "kilometres travelled per day over the last 7 days". */
export function kmPerDaySpec(init: KmPerDayInit = {}): JobSpec {
  const days = init.days ?? 7;
  const windowEnd = init.windowEnd ?? Math.ceil(Date.now() / 1000 / DAY_S) * DAY_S;
  const labels = Array.from({ length: days }, (_, i) => new Date((windowEnd - (days - i) * DAY_S) * 1000).toISOString().slice(0, 10));
  return {
    version: 1,
    title: `Kilometres travelled per day over the last ${days} days`,
    purpose: "Mobility statistics for pandemic response: how much people move, day by day.",
    requester: "Mosaic demo public-health researcher",
    reads: [{ ability: "location-history", fields: ["t", "lat", "lon"] }],
    program: { kind: "builtin", name: "km-per-day", days, windowEnd },
    output: { length: days, min: 0, max: init.maxKm ?? 50, unit: "km", labels },
    privacy: { mechanism: "discrete-laplace", epsilon: init.epsilon ?? { num: 8, den: 1 } },
    minParticipants: init.minParticipants ?? 3,
  };
}

/** Validates an untrusted spec (decoded from IPFS); throws InvalidJobSpecError naming the field. */
export function validateSpec(value: unknown): JobSpec {
  const fail = (msg: string): never => {
    throw new InvalidJobSpecError(`job spec: ${msg}`);
  };
  if (value === null || typeof value !== "object") return fail("expected a map");
  const s = value as Partial<JobSpec>;
  if (s.version !== 1) fail(`version: expected 1, got ${String(s.version)}`);
  for (const f of ["title", "purpose", "requester"] as const) {
    if (typeof s[f] !== "string" || (s[f] as string).length === 0 || (s[f] as string).length > 1000)
      fail(`${f}: expected a non-empty string`);
  }
  if (!Array.isArray(s.reads) || s.reads.length === 0) fail("reads: expected at least one ability");
  const p = s.program;
  if (p?.kind !== "builtin" || p.name !== "km-per-day") fail("program: only the built-in km-per-day program is known");
  if (!Number.isSafeInteger(p?.days) || (p?.days as number) < 1 || (p?.days as number) > 31) fail("program.days: expected 1..31");
  if (!Number.isSafeInteger(p?.windowEnd)) fail("program.windowEnd: expected unix seconds");
  const o = s.output;
  if (!o || o.length !== p?.days) fail(`output.length: expected ${p?.days}`);
  if (!Number.isSafeInteger(o?.min) || !Number.isSafeInteger(o?.max) || (o?.min as number) >= (o?.max as number))
    fail("output: expected integer min < max");
  if (!Array.isArray(o?.labels) || o?.labels.length !== o?.length) fail("output.labels: one per entry");
  const e = s.privacy?.epsilon;
  if (s.privacy?.mechanism !== "discrete-laplace") fail("privacy.mechanism: expected discrete-laplace");
  if (!Number.isSafeInteger(e?.num) || !Number.isSafeInteger(e?.den) || (e?.num as number) < 1 || (e?.den as number) < 1) {
    fail("privacy.epsilon: expected positive integers num/den");
  }
  if (!Number.isSafeInteger(s.minParticipants) || (s.minParticipants as number) < 1) fail("minParticipants: expected >= 1");
  return s as JobSpec;
}

/** The discrete Laplace scale the spec implies. */
export function specScale(spec: JobSpec): LaplaceScale {
  return laplaceScale(spec.output, spec.privacy.epsilon);
}

/** The range a submitted (noised, then clamped) payload entry must lie in. */
export function payloadBounds(spec: JobSpec): { length: number; min: number; max: number } {
  const bound = noiseTailBound(specScale(spec));
  return { length: spec.output.length, min: spec.output.min - bound, max: spec.output.max + bound };
}

/**
 * Error bars for the per-participant mean of each entry: the standard deviation of the summed noise over
 * `count` submissions divided by `count`, and the half-width of a two-sided interval at z standard deviations.
 */
export function meanErrorBars(spec: JobSpec, count: number, z = 3.89): { stdDev: number; halfWidth: number; z: number } {
  const stdDev = Math.sqrt(discreteLaplaceVariance(specScale(spec)) / Math.max(1, count));
  return { stdDev, halfWidth: z * stdDev, z };
}
