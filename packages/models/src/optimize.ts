// Nelder–Mead simplex minimisation, derivative-free: the SEIR likelihood's gradient would need the sensitivity
// equations, and in 3–6 dimensions a simplex converges in a few hundred evaluations.

export interface NelderMeadOptions {
  /** Initial simplex step along each axis. @default 0.5 */
  step?: number | readonly number[];
  /** Stop after this many function evaluations. @default 600 */
  maxEvaluations?: number;
  /** Stop when the simplex's values differ by less than this (absolute). @default 1e-7 */
  fTolerance?: number;
  /** ... and its vertices by less than this along every axis. @default 1e-6 */
  xTolerance?: number;
}

export interface Minimum {
  x: number[];
  f: number;
  evaluations: number;
}

/** Minimises `f` from `x0` with the standard coefficients (reflection 1, expansion 2, contraction ½, shrink ½). */
export function nelderMead(f: (x: readonly number[]) => number, x0: readonly number[], options: NelderMeadOptions = {}): Minimum {
  const { step = 0.5, maxEvaluations = 600, fTolerance = 1e-7, xTolerance = 1e-6 } = options;
  const n = x0.length;
  let evaluations = 0;
  const value = (x: number[]) => {
    evaluations++;
    const y = f(x);
    return Number.isFinite(y) ? y : Infinity;
  };
  if (n === 0) return { x: [], f: value([]), evaluations };
  const simplex: { x: number[]; f: number }[] = [{ x: [...x0], f: value([...x0]) }];
  for (let i = 0; i < n; i++) {
    const x = [...x0];
    x[i]! += typeof step === "number" ? step : (step[i] ?? 0.5);
    simplex.push({ x, f: value(x) });
  }
  const combine = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * (b[i]! - ai));
  while (evaluations < maxEvaluations) {
    simplex.sort((p, q) => p.f - q.f);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    const spreadF = worst.f - best.f;
    let spreadX = 0;
    for (const v of simplex) for (let i = 0; i < n; i++) spreadX = Math.max(spreadX, Math.abs(v.x[i]! - best.x[i]!));
    if (Number.isFinite(spreadF) && spreadF <= fTolerance && spreadX <= xTolerance) break;
    if (Number.isFinite(best.f) && spreadF <= fTolerance * 1e-3) break;
    const centroid = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) centroid[i]! += simplex[k]!.x[i]! / n;
    const reflected = combine(centroid, worst.x, -1);
    const fr = value(reflected);
    if (fr < best.f) {
      const expanded = combine(centroid, worst.x, -2);
      const fe = value(expanded);
      simplex[n] = fe < fr ? { x: expanded, f: fe } : { x: reflected, f: fr };
      continue;
    }
    if (fr < simplex[n - 1]!.f) {
      simplex[n] = { x: reflected, f: fr };
      continue;
    }
    const outside = fr < worst.f;
    const contracted = combine(centroid, outside ? reflected : worst.x, 0.5);
    const fc = value(contracted);
    if (fc < (outside ? fr : worst.f)) {
      simplex[n] = { x: contracted, f: fc };
      continue;
    }
    for (let k = 1; k <= n; k++) {
      const x = combine(best.x, simplex[k]!.x, 0.5);
      simplex[k] = { x, f: value(x) };
    }
  }
  simplex.sort((p, q) => p.f - q.f);
  return { x: simplex[0]!.x, f: simplex[0]!.f, evaluations };
}
