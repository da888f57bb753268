import { Group } from "@semaphore-protocol/group";
import { Identity } from "@semaphore-protocol/identity";
import { generateProof, verifyProof } from "@semaphore-protocol/proof";
import { expect } from "chai";
import fc from "fast-check";
import { createVerifyEngine } from "../src/batch-verify-engine.node.js";
import {
  artifactPaths,
  type BatchVerifier,
  BatchVerifierNotRunningError,
  BatchVerifierWorkerError,
  createBatchVerifier,
  PROOF_DEPTH,
  type SemaphoreProof,
} from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

/** BN254's base field (point coordinates) and scalar field (public inputs). */
const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/**
 * A point on the G2 twist that is not in G2: x = 1, y = sqrt(1 + 3/(9+i)); [r]Q ≠ 0. snarkjs's check only
 * asks for points on the curve, so such a B reaches its pairing, and the batch must send it down the exact path.
 */
const OFF_SUBGROUP_B = {
  x: ["1", "0"],
  y: [
    "18278151005453108793778860132295291098363647455926340152056652516292830556603",
    "5912654199736721486680175016176231956195085055698687135131307249486702594212",
  ],
};

/** Semaphore's own verdict, with a throw read as false (the mapping createBatchVerifier documents). */
async function semaphoreVerdict(proof: unknown): Promise<boolean> {
  try {
    return await verifyProof(proof as SemaphoreProof);
  } catch {
    return false;
  }
}

/** What a property run does to one valid proof. Mutable copies: tampering may put non-strings where strings go. */
type Loose = { -readonly [K in keyof SemaphoreProof]: unknown } & { points: unknown[] };
type Tamper = (proof: Loose, others: readonly SemaphoreProof[]) => void;

const numeric: fc.Arbitrary<(v: bigint) => bigint> = fc.oneof(
  fc.constant((v: bigint) => v + 1n),
  fc.integer({ min: 0, max: 255 }).map((bit) => (v: bigint) => v ^ (1n << BigInt(bit))),
  fc.constant(() => 0n),
  fc.constant(() => P),
  fc.integer({ min: 1, max: 3 }).map((k) => () => P + BigInt(k)),
  fc.constant(() => R),
  fc.constant((v: bigint) => v + P),
  fc.constant((v: bigint) => v + R),
  fc.constant((v: bigint) => v + 2n ** 256n),
  fc.bigInt({ min: 2n ** 256n, max: 2n ** 300n }).map((huge) => () => huge),
);

/** Rewrites of a decimal string: other numbers, other spellings of the same number, and non-numbers. */
const text: fc.Arbitrary<(s: string) => string> = fc.oneof(
  { weight: 4, arbitrary: numeric.map((f) => (s: string) => f(BigInt(s)).toString()) },
  fc.constant((s: string) => `0x${BigInt(s).toString(16)}`),
  fc.constant((s: string) => `0X${BigInt(s).toString(16)}`),
  fc.constant((s: string) => `00${s}`),
  fc.constant((s: string) => ` ${s}`),
  fc.constant((s: string) => `-${s}`),
  fc.constantFrom("-0", "", "abc", "1e3", "0x", "12_3", "NaN").map((junk) => () => junk),
);

const FIELDS = ["merkleTreeRoot", "nullifier", "message", "scope"] as const;

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.tuple(fc.constantFrom(...FIELDS), text).map(
    ([field, f]): Tamper =>
      (p) => {
        p[field] = f(p[field] as string);
      },
  ),
  fc.tuple(fc.integer({ min: 0, max: 7 }), text).map(
    ([i, f]): Tamper =>
      (p) => {
        p.points[i] = f(p.points[i] as string);
      },
  ),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 })).map(
    ([i, j]): Tamper =>
      (p) => {
        [p.points[i], p.points[j]] = [p.points[j], p.points[i]];
      },
  ),
  // A field or a point of another valid proof: a well-formed forgery that only the pairing catches.
  fc.tuple(fc.constantFrom(...FIELDS, 0, 2, 6), fc.nat()).map(
    ([part, k]): Tamper =>
      (p, others) => {
        const other = others[k % others.length]!;
        if (typeof part === "string") p[part] = other[part];
        else p.points.splice(part, part === 2 ? 4 : 2, ...other.points.slice(part, part === 2 ? 6 : part + 2));
      },
  ),
  fc.constantFrom<[number, number]>([0, 2], [2, 6], [6, 8]).map(
    ([from, to]): Tamper =>
      (p) => {
        p.points.fill("0", from, to); // A, B or C at infinity
      },
  ),
  fc.constant<Tamper>((p) => {
    p.points.splice(2, 4, OFF_SUBGROUP_B.x[1], OFF_SUBGROUP_B.x[0], OFF_SUBGROUP_B.y[1], OFF_SUBGROUP_B.y[0]);
  }),
  fc.constantFrom(0, 1, 19, 21, 32, 33, 20.5, Number.NaN, -20, Number.POSITIVE_INFINITY, "20").map(
    (depth): Tamper =>
      (p) => {
        p.merkleTreeDepth = depth;
      },
  ),
  // Values of other types where strings go: verifyProof coerces some of them (a bigint coordinate is fine).
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom("bigint", "number", "missing", "array")).map(
    ([i, kind]): Tamper =>
      (p) => {
        const v = p.points[i] as string;
        if (kind === "bigint") p.points[i] = BigInt(v);
        else if (kind === "number") p.points[i] = 5;
        else if (kind === "array") p.points[i] = [v];
        else p.points.length = i;
      },
  ),
  fc.constantFrom(...FIELDS).map(
    (field): Tamper =>
      (p) => {
        p[field] = BigInt(p[field] as string);
      },
  ),
);

describe("batch verifier (real Semaphore proofs)", () => {
  const identities = ["alice", "bob", "carol"].map((name) => new Identity(`batch-verify-${name}`));
  const group = new Group(identities.map((i) => i.commitment));
  const valid: SemaphoreProof[] = [];
  let verifier: BatchVerifier;

  before(async () => {
    for (let i = 0; i < 5; i++) {
      valid.push(await generateProof(identities[i % 3]!, group, 1000n + BigInt(i), i < 3 ? 7n : 8n, PROOF_DEPTH, artifactPaths()));
    }
    verifier = createBatchVerifier({ threads: 2, batchSize: 64 });
    await verifier.start();
  });

  after(async () => {
    await verifier?.stop();
  });

  it("accepts valid proofs, as verifyProof does", async () => {
    const batch = [...valid, ...valid, ...valid];
    expect(await verifier.verify(batch)).to.deep.equal(batch.map(() => true));
    expect(await Promise.all(valid.map(semaphoreVerdict))).to.deep.equal(valid.map(() => true));
  });

  it("locates the invalid proofs in a large batch", async () => {
    const batch = Array.from({ length: 48 }, (_, i) => valid[i % valid.length]!);
    const bad = new Set([3, 17, 18, 40]);
    const tampered = batch.map((p, i) => (bad.has(i) ? { ...p, nullifier: (BigInt(p.nullifier) + 1n).toString() } : p));
    expect(await verifier.verify(tampered)).to.deep.equal(tampered.map((_, i) => !bad.has(i)));
  });

  it("gives verifyProof's verdict for every proof of batches mixing valid and tampered proofs", async () => {
    const entry = fc.record({ proof: fc.nat({ max: 4 }), tamper: fc.option(tamper, { nil: undefined }) });
    const allValid = fc
      .array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 8 })
      .map((ids) => ids.map((proof) => ({ proof, tamper: undefined })));
    const mixed = fc.array(entry, { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 1, arbitrary: allValid }, { weight: 4, arbitrary: mixed }), async (entries) => {
        const batch = entries.map(({ proof, tamper }) => {
          const copy = { ...valid[proof]!, points: [...valid[proof]!.points] } as Loose;
          tamper?.(copy, valid);
          return copy as unknown as SemaphoreProof;
        });
        const expected = await Promise.all(batch.map(semaphoreVerdict));
        expect(await verifier.verify(batch)).to.deep.equal(expected);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it("returns [] for no proofs, and false for inputs that are not proofs at all", async () => {
    expect(await verifier.verify([])).to.deep.equal([]);
    const junk = [null, undefined, 5, "proof", [], {}, { ...valid[0]!, points: "1,2" }] as unknown as SemaphoreProof[];
    expect(await verifier.verify(junk)).to.deep.equal(junk.map(() => false));
    expect(await Promise.all(junk.map(semaphoreVerdict))).to.deep.equal(junk.map(() => false));
  });

  it("rejects with the signal's AbortError, before or during a call", async () => {
    await expectRejects(verifier.verify(valid, { signal: AbortSignal.abort() }), DOMException, /abort/i);
    const controller = new AbortController();
    const pending = verifier.verify([...valid, ...valid, ...valid, ...valid], { signal: controller.signal });
    controller.abort();
    const err = await expectRejects(pending, DOMException);
    expect(err.name).to.equal("AbortError");
    // The pool is still usable afterwards.
    expect(await verifier.verify(valid.slice(0, 2))).to.deep.equal([true, true]);
  });

  it("rejects calls before start(), after stop(), and those pending when it stops; restarts", async () => {
    const pool = createBatchVerifier({ threads: 1 });
    await expectRejects(pool.verify(valid), BatchVerifierNotRunningError, /call start\(\) first/);
    await pool.start();
    const pending = expectRejects(pool.verify([...valid, ...valid]), BatchVerifierNotRunningError, /stopped before the call finished/);
    await pool.stop();
    await pending;
    await expectRejects(pool.verify(valid), BatchVerifierNotRunningError, /not running/);
    await pool.start();
    expect(await pool.verify(valid)).to.deep.equal(valid.map(() => true));
    await pool.stop();
  });

  it("rejects pending calls with BatchVerifierWorkerError when a worker dies, and stays stopped until start()", async () => {
    const pool = createBatchVerifier({ threads: 2 });
    await pool.start();
    const pending = expectRejects(pool.verify([...valid, ...valid, ...valid]), BatchVerifierWorkerError, /worker \d exited with code 1/);
    // Killing a worker from outside stands in for a crash (out of memory, a wasm trap, ...).
    const { slots } = pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] };
    await slots[0]!.worker.terminate();
    await pending;
    await expectRejects(pool.verify(valid), BatchVerifierNotRunningError, /exited with code 1.*call start\(\) first/);
    await pool.start();
    expect(await pool.verify(valid)).to.deep.equal(valid.map(() => true));
    await pool.stop();
  });

  it("refuses bad options with a RangeError naming the field", () => {
    expect(() => createBatchVerifier({ threads: 0 })).to.throw(RangeError, /init.threads/);
    expect(() => createBatchVerifier({ batchSize: 2 ** 15 + 1 })).to.throw(RangeError, /init.batchSize/);
  });

  it("tests G2 membership as [r]Q = 0 does", async () => {
    const engine = await createVerifyEngine();
    type G = {
      timesScalar(a: Uint8Array, s: Uint8Array): Uint8Array;
      isZero(a: Uint8Array): boolean;
      add(a: Uint8Array, b: Uint8Array): Uint8Array;
    };
    type F = {
      fromObject(a: unknown): Uint8Array;
      add(a: Uint8Array, b: Uint8Array): Uint8Array;
      mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    };
    type Sqrt = F & { square(a: Uint8Array): Uint8Array; isSquare(a: Uint8Array): boolean; sqrt(a: Uint8Array): Uint8Array };
    const { G2, F2 } = (
      engine as unknown as { curve: { G2: G & { b: Uint8Array; g: Uint8Array; toAffine(a: Uint8Array): Uint8Array }; F2: Sqrt } }
    ).curve;
    const le = (v: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    const inG2 = (q: Uint8Array) => G2.isZero(G2.timesScalar(q, le(R)));
    const subgroup = G2.toAffine(G2.timesScalar(G2.g, le(123456789n)));
    let checked = 0;
    for (let x0 = 1n; checked < 24; x0++) {
      const x = F2.fromObject([x0, 7n]);
      const rhs = F2.add(F2.mul(F2.square(x), x), G2.b);
      if (!F2.isSquare(rhs)) continue;
      const q = new Uint8Array(128);
      q.set(x);
      q.set(F2.sqrt(rhs), 64);
      const mixed = G2.toAffine(G2.add(q, subgroup));
      for (const point of [q, mixed, G2.toAffine(G2.timesScalar(subgroup, le(x0)))]) {
        expect(engine.isInG2(point)).to.equal(inG2(point));
      }
      checked++;
    }
    expect(engine.isInG2(subgroup)).to.equal(true);
  });
});
