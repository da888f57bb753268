// A linking observer for the privacy spec: every feature of two sets of envelopes, one max-weight matching each.
import * as dagCbor from "@ipld/dag-cbor";
import { bytes32ToBigint, type CID } from "@mosaic/protocol";

/** An envelope as the network shows it: its bytes and its CID. */
export interface Observed {
  bytes: Uint8Array;
  cid: CID;
}

/** Everything an observer can read off one envelope, by path ("proof.points[3]", "cid.digest", "length"). */
export interface Features {
  words: Map<string, { bytes: Uint8Array; value: bigint }>;
  numbers: Map<string, number>;
  strings: Map<string, string>;
  raw: Uint8Array;
}

/** One way of scoring how likely two envelopes (one per job) come from the same member; higher is likelier. */
export interface Strategy {
  name: string;
  score(a: Features, b: Features): number;
}

/** Decodes an envelope and collects every leaf: 32-byte words, numbers and strings, plus CID digest and length. */
export function features(env: Observed): Features {
  const out: Features = { words: new Map(), numbers: new Map(), strings: new Map(), raw: env.bytes };
  const walk = (value: unknown, path: string): void => {
    if (value instanceof Uint8Array) {
      out.words.set(path, { bytes: value, value: value.length === 32 ? bytes32ToBigint(value) : bytesToBigint(value) });
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`);
    } else if (typeof value === "number") {
      out.numbers.set(path, value);
    } else if (typeof value === "string") {
      out.strings.set(path, value);
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, path === "" ? k : `${path}.${k}`);
    } else {
      out.strings.set(path, String(value));
    }
  };
  walk(dagCbor.decode(env.bytes), "");
  const digest = env.cid.multihash.digest;
  out.words.set("cid.digest", { bytes: digest, value: bytesToBigint(digest) });
  out.numbers.set("length", env.bytes.length);
  return out;
}

/**
 * The observer's strategies for envelopes shaped like `example`: for every pair of byte words (same field or
 * not, the CID digest included) equality, Hamming closeness and numeric closeness; for every number field
 * numeric closeness; for every string field equality; Hamming closeness of the whole encodings.
 */
export function strategiesFor(example: Features): Strategy[] {
  const out: Strategy[] = [];
  const words = [...example.words.keys()];
  for (const p of words) {
    for (const q of words) {
      const w = (f: Features, path: string) => f.words.get(path);
      out.push({
        name: `equal(${p}, ${q})`,
        score: (a, b) => (sameBytes(w(a, p)?.bytes, w(b, q)?.bytes) ? 1 : 0),
      });
      out.push({
        name: `hamming(${p}, ${q})`,
        score: (a, b) => -hamming(w(a, p)?.bytes, w(b, q)?.bytes),
      });
      out.push({
        // Bits of |a - b|: 0 for equal words, 256 for words that differ in the top bit.
        name: `numeric(${p}, ${q})`,
        score: (a, b) => -bitLength(abs((w(a, p)?.value ?? -1n) - (w(b, q)?.value ?? -2n))),
      });
    }
  }
  for (const p of example.numbers.keys()) {
    out.push({
      name: `numeric(${p})`,
      score: (a, b) => -Math.abs((a.numbers.get(p) ?? Number.NaN) - (b.numbers.get(p) ?? Number.NaN)) || 0,
    });
  }
  for (const p of example.strings.keys()) {
    out.push({ name: `equal(${p})`, score: (a, b) => (a.strings.get(p) === b.strings.get(p) ? 1 : 0) });
  }
  out.push({ name: "hamming(envelope bytes)", score: (a, b) => -hamming(a.raw, b.raw) });
  return out;
}

/** For each strategy, the observer's best guess: matching[a] = the index in `setB` it pairs with `setA[a]`. */
export function observe(setA: Observed[], setB: Observed[], strategies?: Strategy[]): Array<{ name: string; matching: number[] }> {
  const fa = setA.map(features);
  const fb = setB.map(features);
  const all = strategies ?? strategiesFor(fa[0] as Features);
  return all.map((s) => ({
    name: s.name,
    matching: maxWeightMatching(fa.map((a) => fb.map((b) => s.score(a, b)))),
  }));
}

/**
 * A perfect matching of maximum total weight in a square matrix (the Hungarian algorithm, O(n^3), with
 * potentials): result[i] is the column row i is matched to.
 */
export function maxWeightMatching(weight: number[][]): number[] {
  const n = weight.length;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1); // p[j]: the row matched to column j (1-based; 0 = none)
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0] as number;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      const row = weight[i0 - 1] as number[];
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = -(row[j - 1] as number) - (u[i0] as number) - (v[j] as number);
        if (cur < (minv[j] as number)) {
          minv[j] = cur;
          way[j] = j0;
        }
        if ((minv[j] as number) < delta) {
          delta = minv[j] as number;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j] as number] = (u[p[j] as number] as number) + delta;
          v[j] = (v[j] as number) - delta;
        } else {
          minv[j] = (minv[j] as number) - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0] as number;
      p[j0] = p[j1] as number;
      j0 = j1;
    } while (j0 !== 0);
  }
  const matching = new Array<number>(n);
  for (let j = 1; j <= n; j++) matching[(p[j] as number) - 1] = j - 1;
  return matching;
}

/**
 * P(X >= k) for X the number of fixed points of a uniformly random permutation of n: what a matching that
 * carries no information scores. P(X = j) = (1/j!) Σ_{i=0}^{n-j} (-1)^i / i!, which is e^{-1}/j! to within 1/(n-j+1)!.
 */
export function fixedPointTail(n: number, k: number): number {
  let below = 0;
  for (let j = 0; j < k; j++) {
    let s = 0;
    let term = 1;
    for (let i = 0; i <= n - j; i++) {
      s += term;
      term *= -1 / (i + 1);
    }
    below += s / factorial(j);
  }
  return Math.max(0, 1 - below);
}

/** The smallest count k such that `strategies` × P(X >= k) < `falseAlarm` (Bonferroni over the strategies). */
export function matchThreshold(n: number, strategies: number, falseAlarm: number): number {
  let k = 1;
  while (strategies * fixedPointTail(n, k) >= falseAlarm) k++;
  return k;
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

/** Differing bits, with every byte one input lacks counted as 8. */
function hamming(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (a === undefined || b === undefined) return 8 * Math.max(a?.length ?? 0, b?.length ?? 0);
  const n = Math.min(a.length, b.length);
  let d = 8 * Math.abs(a.length - b.length);
  for (let i = 0; i < n; i++) d += POPCOUNT[(a[i] as number) ^ (b[i] as number)] as number;
  return d;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(16).length * 4 - Math.clz32(Number.parseInt(x.toString(16)[0] as string, 16)) + 28;
}
