import { expect } from "chai";
import fc from "fast-check";
import { combine, type Leaf, reduceTree } from "../src/reduce.js";
import { haversineKm, kmPerDay } from "../src/kmPerDay.js";
import { kmPerDaySpec, payloadBounds, validateSpec } from "../src/spec.js";
import { InvalidJobSpecError } from "@mosaic/protocol";

const leafArb = fc.record({
  nullifier: fc.bigInt({ min: 1n, max: (1n << 253n) - 1n }).map(String),
  submission: fc.constant("bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74"),
  value: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 3, maxLength: 3 }),
});
const uniqueLeaves = fc.uniqueArray(leafArb, { selector: (l) => l.nullifier, minLength: 1, maxLength: 24 });

describe("sum reducer and reduce tree", () => {
  it("combine is associative and commutative", () => {
    const v = fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(v, v, v, (a, b, c) => {
        expect(combine(combine(a, b), c)).to.deep.equal(combine(a, combine(b, c)));
        expect(combine(a, b)).to.deep.equal(combine(b, a));
      }),
      { seed: 42 },
    );
  });

  it("gives the same aggregate and root whatever order the leaves arrive in", () => {
    fc.assert(
      fc.property(uniqueLeaves, fc.integer(), (leaves, seed) => {
        const shuffled = [...leaves].sort(
          (a, b) => ((Number(BigInt(a.nullifier) % 997n) * seed) % 13) - ((Number(BigInt(b.nullifier) % 997n) * seed) % 13),
        );
        const x = reduceTree(leaves, 3);
        const y = reduceTree(shuffled, 3);
        expect(y.treeRoot).to.equal(x.treeRoot);
        expect(x.aggregate).to.deep.equal(leaves.reduce((acc, l) => combine(acc, l.value), [0, 0, 0]));
        expect(x.count).to.equal(leaves.length);
        for (let i = 1; i < x.leaves.length; i++) {
          expect(BigInt((x.leaves[i] as Leaf).nullifier) > BigInt((x.leaves[i - 1] as Leaf).nullifier)).to.equal(true);
        }
      }),
      { seed: 7, numRuns: 50 },
    );
  });

  it("changes the root when any leaf value changes", () => {
    const leaves: Leaf[] = [1, 2, 3].map((n) => ({ nullifier: String(n), submission: "x", value: [n, n] }));
    const a = reduceTree(leaves, 2);
    const b = reduceTree([...leaves.slice(0, 2), { nullifier: "3", submission: "x", value: [3, 4] }], 2);
    expect(a.treeRoot).to.not.equal(b.treeRoot);
  });

  it("refuses duplicate nullifiers", () => {
    const leaves: Leaf[] = [
      { nullifier: "5", submission: "x", value: [1] },
      { nullifier: "5", submission: "y", value: [2] },
    ];
    expect(() => reduceTree(leaves, 1)).to.throw(/duplicate nullifier 5/);
  });
});

describe("km-per-day map", () => {
  it("sums great-circle distance per day inside the window only", () => {
    const end = 1_700_006_400; // a midnight UTC
    const a = { t: end - 86_400 + 100, lat: 0, lon: 0 };
    const b = { t: end - 86_400 + 200, lat: 0, lon: 1 };
    const outside = { t: end + 5, lat: 10, lon: 10 };
    const km = kmPerDay([outside, b, a], 2, end);
    expect(km).to.deep.equal([0, Math.round(haversineKm(a, b))]);
    expect(km[1]).to.equal(111);
  });
});

describe("job spec validation", () => {
  it("accepts the ready km-per-day spec and derives payload bounds beyond the clamp", () => {
    const spec = kmPerDaySpec({ windowEnd: 1_700_006_400 });
    expect(validateSpec(spec)).to.equal(spec);
    const b = payloadBounds(spec);
    expect(b.length).to.equal(7);
    expect(b.min).to.be.below(0);
    expect(b.max).to.be.above(50);
  });

  for (const [field, mutate] of [
    [
      "version",
      (s: Record<string, unknown>) => {
        s.version = 2;
      },
    ],
    [
      "program",
      (s: Record<string, unknown>) => {
        s.program = { kind: "js", name: "x" };
      },
    ],
    [
      "output.length",
      (s: Record<string, unknown>) => {
        (s.output as Record<string, unknown>).length = 3;
      },
    ],
    [
      "privacy.epsilon",
      (s: Record<string, unknown>) => {
        (s.privacy as Record<string, unknown>).epsilon = { num: 0, den: 1 };
      },
    ],
    [
      "minParticipants",
      (s: Record<string, unknown>) => {
        s.minParticipants = -1;
      },
    ],
    [
      "title",
      (s: Record<string, unknown>) => {
        s.title = "x".repeat(5000);
      },
    ],
  ] as const) {
    it(`rejects a spec with a bad ${field} with InvalidJobSpecError`, () => {
      const spec = structuredClone(kmPerDaySpec()) as unknown as Record<string, unknown>;
      mutate(spec);
      expect(() => validateSpec(spec)).to.throw(InvalidJobSpecError, new RegExp(field.split(".")[0] as string));
    });
  }
  it("rejects non-objects", () => {
    expect(() => validateSpec(null)).to.throw(InvalidJobSpecError);
    expect(() => validateSpec("spec")).to.throw(InvalidJobSpecError);
  });
});
