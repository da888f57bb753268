// The maths behind createBatchVerifier, run inside each worker: snarkjs's per-proof checks, then one randomised Groth16 equation per batch.
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
// The errors module alone: this file runs in worker threads, which need not load the whole protocol entry.
import { namedError } from "@mosaic/protocol/errors";
import { keccak256, toBeHex } from "ethers";

/**
 * One proof as the calling thread hands it over, after the type checks Semaphore's `verifyProof` makes
 * (see `toEngineProof` in batch-verify.node.ts). Each point coordinate is either the string as given, or, for a
 * value that was not a string, `{ text }`: the text snarkjs reads from it (`"" + value.toString(16)`).
 */
export interface EngineProof {
  depth: number;
  root: string;
  nullifier: string;
  message: string;
  scope: string;
  points: EngineCoordinate[];
}

export type EngineCoordinate = string | { text: string };

type Buf = Uint8Array;

/** The parts of ffjavascript's wasm field and curve classes used here (ffjavascript/src/wasm_field*.js, wasm_curve.js). */
interface Field {
  one: Buf;
  eq(a: Buf, b: Buf): boolean;
  mul(a: Buf, b: Buf): Buf;
  inv(a: Buf): Buf;
  neg(a: Buf): Buf;
  exp(a: Buf, e: bigint): Buf;
  fromObject(a: unknown): Buf;
}

interface Group {
  fromObject(a: unknown): Buf;
  isValid(a: Buf): boolean;
  isZero(a: Buf): boolean;
  neg(a: Buf): Buf;
  add(a: Buf, b: Buf): Buf;
  double(a: Buf): Buf;
  eq(a: Buf, b: Buf): boolean;
  timesScalar(a: Buf, s: Buf): Buf;
  toJacobian(a: Buf): Buf;
  multiExpAffine(points: Buf, scalars: Buf): Promise<Buf>;
}

interface Curve {
  q: bigint;
  r: bigint;
  G1: Group;
  G2: Group;
  F1: Field;
  F2: Field;
  F12: Field;
  prepareG1(p: Buf): Buf;
  prepareG2(q: Buf): Buf;
  millerLoop(preP: Buf, preQ: Buf): Buf;
  finalExponentiation(f: Buf): Buf;
  pairingEq(...pointPairs: Buf[]): Promise<boolean>;
}

/** ffjavascript 0.2.63, the wasm curve library snarkjs verifies with (its 0.3.1 differs only in thread handling). */
interface Ffjavascript {
  buildBn128(singleThread: boolean): Promise<Curve>;
  Scalar: { lt(a: unknown, b: bigint): boolean; toRprLE(buff: Buf, offset: number, e: unknown, n8: number): void };
  utils: { unstringifyBigInts(o: unknown): unknown };
}

/** Semaphore's tree depths (MIN_DEPTH, MAX_DEPTH of @semaphore-protocol/utils); `verifyProof` throws outside them. */
const MIN_SEMAPHORE_DEPTH = 1;
const MAX_SEMAPHORE_DEPTH = 32;

/**
 * Bytes of each random batch coefficient. 144 bits, not 128: one batch runs at most 2n − 1 checks
 * (the whole batch, then halves while bisecting), so the union bound stays ≤ 2^-128 up to n = 2^15.
 */
const COEFFICIENT_BYTES = 18;

/** BN254's seed x, for the G2 membership test of Dai, Lin, Zhao and Zhou (eprint 2022/348, §5.1). */
const BN_SEED = 4965661367192848881n;

/** Semaphore's verification keys, one per depth, in snarkjs's JSON form. */
interface VerificationKeys {
  vk_alpha_1: unknown;
  vk_beta_2: unknown;
  vk_gamma_2: unknown;
  vk_delta_2: unknown[];
  IC: unknown[][];
}

/** What a depth's key contributes to the equation, decoded once. */
interface DepthKey {
  /** IC[0], and IC[1..4] packed as snarkjs packs them for its multi-exponentiation. */
  ic0: Buf;
  icPacked: Buf;
  ic: Buf[];
  delta: Buf;
  deltaPrepared: Buf;
  /** Every point of this key lies in its prime-order group, so the batch's bilinearity argument applies. */
  batchable: boolean;
}

/** A proof that passed snarkjs's checks, decoded. */
interface Parsed {
  key: DepthKey;
  a: Buf;
  b: Buf;
  c: Buf;
  /** The four public inputs exactly as snarkjs writes them for its multi-exponentiation (4 × 32 bytes LE). */
  w: Buf;
}

/** A proof's share of the randomised equation. */
interface Term {
  index: number;
  key: DepthKey;
  coefficient: bigint;
  /** The public inputs, reduced mod r (what they multiply the IC points by). */
  inputs: bigint[];
  /** Miller loop of (−ρ·A, B), ρ the coefficient. */
  miller: Buf;
  /** ρ·C. */
  scaledC: Buf;
}

/**
 * Why the random linear combination is sound. For proof i let
 *   X_i = e(−A_i, B_i) · e(L_i, γ) · e(C_i, δ) · e(α, β),   L_i = IC_0 + Σ_j s_ij·IC_j,
 * the product snarkjs compares with 1; X_i lies in G_T, of prime order r. The batch computes, with one
 * final exponentiation, Π_i X_i^ρ_i = Π_i e(−ρ_i·A_i, B_i) · e(Σ ρ_i·L_i, γ) · e(Σ ρ_i·C_i, δ) · e((Σ ρ_i)·α, β),
 * the ρ_i drawn from the CSPRNG in [1, 2^144) after the proofs are fixed. If some X_j ≠ 1, fix the other ρ_i:
 * ρ ↦ X_j^ρ is injective on [1, 2^144) because 2^144 < r, so at most one ρ_j makes the product 1, and the
 * check wrongly passes with probability ≤ 1/(2^144 − 1). Bisection reuses the ρ_i on at most 2n − 1 fixed
 * halves, so a batch errs with probability ≤ 2n/2^144 ≤ 2^-128 for n ≤ 2^15. A single proof is decided exactly:
 * X^ρ = 1 iff X = 1, as r does not divide ρ.
 *
 * The identity needs bilinearity, which the optimal ate pairing has on G1 × G2 only. Every point on the BN254
 * curve over Fp is in G1 (cofactor 1), but snarkjs accepts any B on the twist, and for B outside G2 the
 * "pairing" is not linear in its first argument. Such proofs, and proofs with a point at infinity, are
 * instead verified one at a time by the very calls snarkjs makes, so their verdict is snarkjs's by construction.
 * (snarkjs's own L_i is never at infinity short of a discrete-log relation between the IC points; even then its
 * Miller loop there lands in the subfield F_p⁴, which the final exponentiation sends to 1, as e(O, γ) = 1 says.)
 */
export class VerifyEngine {
  private readonly keys = new Map<number, DepthKey>();
  private readonly alpha: Buf;
  private readonly beta: Buf;
  private readonly gamma: Buf;
  private readonly betaPrepared: Buf;
  private readonly gammaPrepared: Buf;
  private readonly sharedBatchable: boolean;
  /** ψ's constants ξ^((p−1)/3) and ξ^((p−1)/2), ξ = 9 + i (the twist is a D-type sextic twist by ξ). */
  private readonly psiX: Buf;
  private readonly psiY: Buf;

  constructor(
    private readonly ff: Ffjavascript,
    private readonly curve: Curve,
    private readonly vk: VerificationKeys,
  ) {
    const { utils } = ff;
    const { G1, G2, F2 } = curve;
    const xi = F2.fromObject([9n, 1n]);
    this.psiX = F2.exp(xi, (curve.q - 1n) / 3n);
    this.psiY = F2.exp(xi, (curve.q - 1n) / 2n);
    // Decoded exactly as snarkjs decodes them: unstringifyBigInts, then fromObject.
    this.alpha = G1.fromObject(utils.unstringifyBigInts(vk.vk_alpha_1));
    this.beta = G2.fromObject(utils.unstringifyBigInts(vk.vk_beta_2));
    this.gamma = G2.fromObject(utils.unstringifyBigInts(vk.vk_gamma_2));
    this.betaPrepared = curve.prepareG2(G2.toJacobian(this.beta));
    this.gammaPrepared = curve.prepareG2(G2.toJacobian(this.gamma));
    this.sharedBatchable = this.inG1(this.alpha) && this.isInG2(this.beta) && this.isInG2(this.gamma);
  }

  /** True exactly when Semaphore's `verifyProof` resolves true for the corresponding proof. */
  async verify(proofs: readonly EngineProof[]): Promise<boolean[]> {
    const verdicts = proofs.map(() => false);
    const terms: Term[] = [];
    for (const [index, proof] of proofs.entries()) {
      const parsed = this.parse(proof);
      if (!parsed) continue;
      const { G1, G2 } = this.curve;
      const { key, a, b, c } = parsed;
      if (!key.batchable || G1.isZero(a) || G2.isZero(b) || G1.isZero(c) || !this.isInG2(b)) {
        verdicts[index] = await this.verifyAlone(parsed);
      } else {
        terms.push(this.term(index, parsed));
      }
    }
    if (terms.length > 0) this.locate(terms, verdicts);
    return verdicts;
  }

  /**
   * Q ∈ G2 iff [x+1]Q + ψ([x]Q) + ψ²([x]Q) = ψ³([2x]Q), x the BN seed (valid for BN254 since x ≢ 4 mod 13 and
   * x ≢ 92 mod 97): one 63-bit multiplication instead of the 254-bit [r]Q. `q` is affine and on the twist.
   */
  isInG2(q: Buf): boolean {
    const { G2 } = this.curve;
    const xq = G2.timesScalar(q, littleEndian(BN_SEED, 8));
    const psiXq = this.psi(xq);
    const left = G2.add(G2.add(G2.add(xq, q), psiXq), this.psi(psiXq));
    const right = this.psi(this.psi(this.psi(G2.double(xq))));
    return G2.eq(left, right);
  }

  /** The untwist-Frobenius-twist endomorphism on a Jacobian point: (X, Y, Z) ↦ (X̄·ξ^((p−1)/3), Ȳ·ξ^((p−1)/2), Z̄). */
  private psi(point: Buf): Buf {
    const { F2 } = this.curve;
    const p = this.curve.G2.toJacobian(point);
    const out = new Uint8Array(192);
    out.set(F2.mul(this.conjugate(p.subarray(0, 64)), this.psiX), 0);
    out.set(F2.mul(this.conjugate(p.subarray(64, 128)), this.psiY), 64);
    out.set(this.conjugate(p.subarray(128, 192)), 128);
    return out;
  }

  private conjugate(a: Buf): Buf {
    const out = a.slice();
    out.set(this.curve.F1.neg(a.subarray(32, 64)), 32);
    return out;
  }

  private inG1(p: Buf): boolean {
    return this.curve.G1.isValid(p) && !this.curve.G1.isZero(p);
  }

  /**
   * snarkjs's `groth16.verify` up to the pairing, on the same inputs Semaphore's `verifyProof` gives it
   * (public signals [root, nullifier, hash(message), hash(scope)]; points unpacked with B's coordinates
   * swapped). Undefined where `verifyProof` would return false or throw.
   */
  private parse(proof: EngineProof): Parsed | undefined {
    const { curve } = this;
    const { Scalar, utils } = this.ff;
    const { depth } = proof;
    // verifyProof throws outside [1, 32]; a fractional depth has no key, and snarkjs throws reading it.
    if (!Number.isInteger(depth) || depth < MIN_SEMAPHORE_DEPTH || depth > MAX_SEMAPHORE_DEPTH) return undefined;
    const key = this.key(depth);
    try {
      const signals = utils.unstringifyBigInts([
        proof.root,
        proof.nullifier,
        semaphoreHash(proof.message),
        semaphoreHash(proof.scope),
      ]) as unknown[];
      if (!signals.every((s) => Scalar.lt(s, curve.r))) return undefined;
      const w = new Uint8Array(32 * signals.length);
      signals.forEach((s, i) => {
        Scalar.toRprLE(w, 32 * i, s, 32);
      });
      const x = proof.points.map((p) => coordinate(p, utils));
      const a = curve.G1.fromObject([x[0], x[1]]);
      const b = curve.G2.fromObject([
        [x[3], x[2]],
        [x[5], x[4]],
      ]);
      const c = curve.G1.fromObject([x[6], x[7]]);
      if (!(curve.G1.isValid(a) && curve.G2.isValid(b) && curve.G1.isValid(c))) return undefined;
      return { key, a, b, c, w };
    } catch {
      // verifyProof throws here too (a hash input that is not a uint256, a public input BigInt cannot read, ...).
      return undefined;
    }
  }

  /** snarkjs's own equation for one proof, call for call: IC₀ + multiExp(IC, w), then one pairingEq of four pairs. */
  private async verifyAlone({ key, a, b, c, w }: Parsed): Promise<boolean> {
    const { G1 } = this.curve;
    const publicPoint = G1.add(await G1.multiExpAffine(key.icPacked, w), key.ic0);
    return this.curve.pairingEq(G1.neg(a), b, publicPoint, this.gamma, c, key.delta, this.alpha, this.beta);
  }

  private term(index: number, { key, a, b, c, w }: Parsed): Term {
    const { curve } = this;
    const { G1, G2 } = curve;
    const coefficient = randomCoefficient();
    const rho = littleEndian(coefficient, COEFFICIENT_BYTES);
    const inputs = [0, 1, 2, 3].map((j) => fromLittleEndian(w.subarray(32 * j, 32 * j + 32)) % curve.r);
    const miller = curve.millerLoop(curve.prepareG1(G1.timesScalar(G1.neg(a), rho)), curve.prepareG2(G2.toJacobian(b)));
    return { index, key, coefficient, inputs, miller, scaledC: G1.timesScalar(c, rho) };
  }

  /**
   * Marks every term's verdict, bisecting while the product is not 1. `value` is the terms' product when the
   * caller already knows it: the right half's is the parent's divided by the left's (G_T is a group and both
   * were computed exactly), so each split costs one check, not two.
   */
  private locate(terms: Term[], verdicts: boolean[], value: Buf = this.product(terms)): void {
    const { F12 } = this.curve;
    if (F12.eq(value, F12.one)) {
      for (const t of terms) verdicts[t.index] = true;
      return;
    }
    if (terms.length === 1) return;
    const half = terms.length >> 1;
    const left = terms.slice(0, half);
    const leftValue = this.product(left);
    this.locate(left, verdicts, leftValue);
    this.locate(terms.slice(half), verdicts, F12.mul(value, F12.inv(leftValue)));
  }

  /**
   * Π_{i∈terms} X_i^ρ_i, in G_T: the terms' own Miller loops (run once, in `term`), three more for γ, δ and β
   * (one more δ per extra depth), and one final exponentiation.
   */
  private product(terms: Term[]): Buf {
    const { curve } = this;
    const { G1, F12 } = curve;
    const r = curve.r;
    const byKey = new Map<DepthKey, { sums: bigint[]; scaledC: Buf | undefined }>();
    let coefficientSum = 0n;
    let f = F12.one;
    for (const t of terms) {
      f = F12.mul(f, t.miller);
      coefficientSum += t.coefficient;
      let group = byKey.get(t.key);
      if (!group) {
        group = { sums: [0n, 0n, 0n, 0n, 0n], scaledC: undefined };
        byKey.set(t.key, group);
      }
      // Σ ρ_i·L_i = (Σ ρ_i)·IC_0 + Σ_j (Σ ρ_i·s_ij mod r)·IC_j: five multiplications per check, none per proof.
      group.sums[0] = group.sums[0]! + t.coefficient;
      t.inputs.forEach((s, j) => {
        group.sums[j + 1] = (group.sums[j + 1]! + t.coefficient * s) % r;
      });
      group.scaledC = group.scaledC ? G1.add(group.scaledC, t.scaledC) : t.scaledC;
    }
    let publicPoint: Buf | undefined;
    for (const [key, { sums, scaledC }] of byKey) {
      sums.forEach((s, j) => {
        if (s % r === 0n) return;
        const part = G1.timesScalar(key.ic[j]!, littleEndian(s % r, 32));
        publicPoint = publicPoint ? G1.add(publicPoint, part) : part;
      });
      f = this.mulMiller(f, scaledC!, key.deltaPrepared);
    }
    if (publicPoint) f = this.mulMiller(f, publicPoint, this.gammaPrepared);
    f = this.mulMiller(f, G1.timesScalar(this.alpha, littleEndian(coefficientSum % r, 32)), this.betaPrepared);
    return curve.finalExponentiation(f);
  }

  /** f · MillerLoop(p, q); a point at infinity pairs to 1, so it is left out rather than fed to the loop. */
  private mulMiller(f: Buf, p: Buf, preparedQ: Buf): Buf {
    const { curve } = this;
    if (curve.G1.isZero(p)) return f;
    return curve.F12.mul(f, curve.millerLoop(curve.prepareG1(curve.G1.toJacobian(p)), preparedQ));
  }

  /** The key for a depth in [1, 32], decoded on first use. */
  private key(depth: number): DepthKey {
    const cached = this.keys.get(depth);
    if (cached) return cached;
    const { G1, G2 } = this.curve;
    const { utils } = this.ff;
    const ic = (utils.unstringifyBigInts(this.vk.IC[depth - 1]) as unknown[]).map((p) => G1.fromObject(p));
    const icPacked = new Uint8Array(64 * (ic.length - 1));
    ic.slice(1).forEach((p, i) => {
      icPacked.set(p, 64 * i);
    });
    const delta = G2.fromObject(utils.unstringifyBigInts(this.vk.vk_delta_2[depth - 1]));
    const key: DepthKey = {
      ic0: ic[0]!,
      icPacked,
      ic,
      delta,
      deltaPrepared: this.curve.prepareG2(G2.toJacobian(delta)),
      batchable: this.sharedBatchable && ic.length === 5 && ic.every((p) => this.inG1(p)) && this.isInG2(delta),
    };
    this.keys.set(depth, key);
    return key;
  }
}

/** Builds a single-threaded wasm BN254 curve (the parallelism is the worker pool's) and loads Semaphore's keys. */
export async function createVerifyEngine(): Promise<VerifyEngine> {
  const ff = loadFfjavascript();
  return new VerifyEngine(ff, await ff.buildBn128(true), loadVerificationKeys());
}

/**
 * Loads ffjavascript's CommonJS build. Off the main thread, its `web-worker` dependency (the thread pool
 * of its multi-threaded mode) boots as a web-worker child as soon as it is loaded, and throws on the
 * workerData it never got; this curve is single-threaded and never starts a thread, so an inert stand-in
 * takes its place in the require cache first. On the main thread (tests), ffjavascript's bn128 module
 * resets globalThis.curve_bn128, where snarkjs caches its own curve, so that is put back.
 */
/** ffjavascript tried to start a thread of its own inside a batch-verify worker, which runs it single-threaded. */
class NestedWorkerThreadError extends namedError("NestedWorkerThreadError") {}

function loadFfjavascript(): Ffjavascript {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("ffjavascript");
  if (!isMainThread) {
    const id = createRequire(entry).resolve("web-worker");
    const inert = new Module(id);
    inert.filename = id;
    inert.loaded = true;
    inert.exports = class InertWorker {
      constructor() {
        throw new NestedWorkerThreadError("ffjavascript tried to start a thread from a single-threaded batch-verify worker");
      }
    };
    require.cache[id] = inert;
  }
  const scope = globalThis as { curve_bn128?: unknown };
  const snarkjsCurve = scope.curve_bn128;
  try {
    return require(entry) as Ffjavascript;
  } finally {
    if (snarkjsCurve !== undefined) scope.curve_bn128 = snarkjsCurve;
  }
}

/**
 * The verification keys `verifyProof` uses. @semaphore-protocol/proof inlines src/verification-keys.json
 * into its bundle and ships the JSON beside it; reading the shipped file keeps every depth in step with the
 * installed version without copying 32 keys here.
 */
function loadVerificationKeys(): VerificationKeys {
  const entry = createRequire(import.meta.url).resolve("@semaphore-protocol/proof");
  const file = path.join(path.dirname(entry), "..", "src", "verification-keys.json");
  return JSON.parse(readFileSync(file, "utf8")) as VerificationKeys;
}

/** @semaphore-protocol/proof's hash: keccak256 of the value as a 32-byte word, shifted into the field. Throws where it throws. */
function semaphoreHash(value: string): bigint {
  return BigInt(keccak256(toBeHex(value, 32))) >> 8n;
}

/**
 * A coordinate as snarkjs reads it: a string goes through unstringifyBigInts; `{ text }` stands for a
 * non-string value, and fromObject only ever calls `.toString(16)` on it, which this object answers with `text`.
 */
function coordinate(x: EngineCoordinate | undefined, utils: Ffjavascript["utils"]): unknown {
  if (typeof x === "string") return utils.unstringifyBigInts(x);
  const text = x?.text;
  if (text === undefined) throw new TypeError("missing point coordinate");
  return { toString: () => text };
}

/** A uniform coefficient in [1, 2^144) from the CSPRNG. */
function randomCoefficient(): bigint {
  const bytes = new Uint8Array(COEFFICIENT_BYTES);
  let value = 0n;
  while (value === 0n) {
    webcrypto.getRandomValues(bytes);
    value = fromLittleEndian(bytes);
  }
  return value;
}

/** `value` as `length` little-endian bytes, the scalar format of ffjavascript's timesScalar. */
function littleEndian(value: bigint, length: number): Buf {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function fromLittleEndian(bytes: Buf): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}
