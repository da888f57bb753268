import type { Fraction, ReducerSpec } from "@mosaic/protocol";
import { keccak_256 } from "@noble/hashes/sha3";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import { haversineKm, kmPerDay } from "../src/kmPerDay.js";
import {
  AggregateMismatchError,
  CountMismatchError,
  combine,
  DuplicateNullifierError,
  ddsketchEdges,
  finalizeResult,
  type Leaf,
  LeafOrderError,
  leafHash,
  liftPayload,
  MalformedLeafError,
  NodeMismatchError,
  nodeHash,
  type ReduceResult,
  RootMismatchError,
  reduceTree,
  stateLength,
  submissionCid,
  submissionDigest,
  verifyReduceResult,
} from "../src/index.js";
import { CID as Cid } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";

/** A CIDv1 dag-cbor block CID of `bytes` (as if they were a block), by multiformats: the reference. */
async function encodeBlock(bytes: unknown): Promise<{ cid: Cid }> {
  const data = bytes instanceof Uint8Array ? bytes : new TextEncoder().encode(JSON.stringify(bytes));
  return { cid: Cid.create(1, 0x71, await sha256.digest(data)) };
}

const abi = AbiCoder.defaultAbiCoder();
const ZERO_ROOT = `0x${"00".repeat(32)}`;
const CID = "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74";
const CID_DIGEST = submissionDigest(CID);
const SUM: ReducerSpec = { kind: "sum" };
const half: Fraction = { num: 1, den: 2 };

// The reference the hand-written encoding must match: ethers' ABI coder and keccak256, as the old reducer did.
const ethersLeafHash = (nullifier: bigint, payload: readonly number[]) =>
  keccak256(abi.encode(["uint8", "uint256", "bytes32", "int256[]"], [0, nullifier, CID_DIGEST, payload]));
const ethersNodeHash = (left: string, right: string, value: readonly number[]) =>
  keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, left, right, value]));

/** The reduce tree as the old ethers-based reducer built it, lifting with the code under test. */
function referenceRoot(leaves: readonly Leaf[], reducer: ReducerSpec): string {
  const sorted = [...leaves].sort((a, b) => (BigInt(a.nullifier) < BigInt(b.nullifier) ? -1 : 1));
  let level = sorted.map((l) => ({ hash: ethersLeafHash(BigInt(l.nullifier), l.value), value: liftPayload(reducer, l.value) }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      if (right === undefined) next.push(left);
      else {
        const value = combine(left.value, right.value);
        next.push({ hash: ethersNodeHash(left.hash, right.hash, value), value });
      }
    }
    level = next;
  }
  return level[0]?.hash ?? ZERO_ROOT;
}

const safeInt = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.constantFrom(0, -1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
);
const nullifierArb = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const bytes32Arb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);

const payloadLength = 3;
const leafArb = (length = payloadLength, range = 1000) =>
  fc.record({
    nullifier: fc.bigInt({ min: 1n, max: (1n << 254n) - 1n }).map(String),
    submission: fc.constant(CID),
    value: fc.array(fc.integer({ min: -range, max: range }), { minLength: length, maxLength: length }),
  });
const uniqueLeaves = (length = payloadLength, maxLength = 24, range = 1000) =>
  fc.uniqueArray(leafArb(length, range), { selector: (l) => l.nullifier, minLength: 1, maxLength });

const edgesArb = fc
  .uniqueArray(fc.integer({ min: -200, max: 200 }), { minLength: 1, maxLength: 12 })
  .map((edges) => [...edges].sort((a, b) => a - b));
const fractionArb = fc
  .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 }))
  .map(([den, k]) => ({ num: Math.min(k, den), den }));
const quantileArb = fc.record({
  kind: fc.constant("quantile" as const),
  edges: edgesArb,
  quantiles: fc.array(fractionArb, { minLength: 1, maxLength: 4 }),
});
const reducerArb: fc.Arbitrary<ReducerSpec> = fc.oneof(
  fc.constantFrom<ReducerSpec>({ kind: "sum" }, { kind: "count" }, { kind: "histogram" }, { kind: "mean" }),
  quantileArb,
);

/** The bucket of x in a sketch: the number of edges at or below it. */
const bucketOf = (edges: readonly number[], x: number) => edges.filter((e) => e <= x).length;

describe("reducers: lift and combine", () => {
  it("combine is associative and commutative", () => {
    const v = fc.array(fc.integer({ min: -1e12, max: 1e12 }), { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(v, v, v, (a, b, c) => {
        expect(combine(combine(a, b), c)).to.deep.equal(combine(a, combine(b, c)));
        expect(combine(a, b)).to.deep.equal(combine(b, a));
      }),
      { seed: 42 },
    );
  });

  it("combine refuses states of different lengths and sums beyond the safe integers", () => {
    expect(() => combine([1, 2], [1])).to.throw(RangeError, /equal length, got 2 and 1/);
    expect(() => combine([Number.MAX_SAFE_INTEGER], [1])).to.throw(RangeError, /entry 0/);
  });

  it("lifts: sum and histogram keep the payload, count gives [1], mean appends a 1", () => {
    expect(liftPayload({ kind: "sum" }, [3, -4, 5])).to.deep.equal([3, -4, 5]);
    expect(liftPayload({ kind: "histogram" }, [0, 1, 0])).to.deep.equal([0, 1, 0]);
    expect(liftPayload({ kind: "count" }, [3, -4, 5])).to.deep.equal([1]);
    expect(liftPayload({ kind: "mean" }, [3, -4, 5])).to.deep.equal([3, -4, 5, 1]);
    expect(stateLength({ kind: "sum" }, 7)).to.equal(7);
    expect(stateLength({ kind: "count" }, 7)).to.equal(1);
    expect(stateLength({ kind: "mean" }, 7)).to.equal(8);
  });

  it("quantile lifts each entry to a one-hot bucket vector: [e(i-1), e(i)) with open ends", () => {
    const q: ReducerSpec = { kind: "quantile", edges: [0, 10, 20], quantiles: [half] };
    expect(stateLength(q, 2)).to.equal(8);
    // -1 is below 0: bucket 0; 10 sits on an edge: bucket 2; 25 is past the last edge: bucket 3.
    expect(liftPayload(q, [-1, 10])).to.deep.equal([1, 0, 0, 0, 0, 0, 1, 0]);
    expect(liftPayload(q, [0, 25])).to.deep.equal([0, 1, 0, 0, 0, 0, 0, 1]);
    fc.assert(
      fc.property(quantileArb, fc.array(fc.integer({ min: -300, max: 300 }), { maxLength: 5 }), (reducer, payload) => {
        const state = liftPayload(reducer, payload);
        const buckets = reducer.edges.length + 1;
        expect(state.length).to.equal(stateLength(reducer, payload.length));
        payload.forEach((x, e) => {
          const slot = state.slice(e * buckets, (e + 1) * buckets);
          expect(slot.reduce((a, b) => a + b, 0)).to.equal(1);
          expect(slot[bucketOf(reducer.edges, x)]).to.equal(1);
        });
      }),
      { seed: 3 },
    );
  });

  it("refuses bad reducer specs and payloads, naming the field", () => {
    expect(() => liftPayload({ kind: "quantile", edges: [1, 1], quantiles: [half] }, [0])).to.throw(RangeError, /reducer\.edges\[1\]/);
    expect(() => liftPayload({ kind: "quantile", edges: [], quantiles: [half] }, [0])).to.throw(RangeError, /reducer\.edges/);
    expect(() => liftPayload({ kind: "quantile", edges: [1], quantiles: [{ num: 3, den: 2 }] }, [0])).to.throw(
      RangeError,
      /reducer\.quantiles\[0\]/,
    );
    expect(() => liftPayload({ kind: "median" } as unknown as ReducerSpec, [0])).to.throw(TypeError, /reducer\.kind/);
    expect(() => liftPayload(SUM, [1, 0.5])).to.throw(TypeError, /payload\[1\]/);
  });
});

describe("leaf and node hashes", () => {
  it("leafHash is keccak256(abi.encode(uint8 0, uint256, bytes32, int256[])) byte for byte, as ethers encodes it", () => {
    const payload = fc.array(safeInt, { maxLength: 40 });
    fc.assert(
      fc.property(nullifierArb, payload, (nullifier, value) => {
        const ours = leafHash({ nullifier: String(nullifier), submission: CID, value });
        expect(ours).to.equal(ethersLeafHash(nullifier, value));
        const bytes = Buffer.from(
          abi.encode(["uint8", "uint256", "bytes32", "int256[]"], [0, nullifier, CID_DIGEST, value]).slice(2),
          "hex",
        );
        expect(ours).to.equal(`0x${Buffer.from(keccak_256(bytes)).toString("hex")}`);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it("nodeHash is keccak256(abi.encode(uint8 1, bytes32, bytes32, int256[])), as ethers encodes it", () => {
    fc.assert(
      fc.property(bytes32Arb, bytes32Arb, fc.array(safeInt, { maxLength: 40 }), (left, right, value) => {
        expect(nodeHash(left, right, value)).to.equal(ethersNodeHash(left, right, value));
      }),
      { seed: 12, numRuns: 300 },
    );
  });

  it("matches at the edges: extreme values and encodings that end exactly on a keccak block", () => {
    const extremes = [0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const nullifier of [0n, 1n, (1n << 256n) - 1n, 1n << 255n]) {
      expect(leafHash({ nullifier: String(nullifier), submission: CID, value: extremes })).to.equal(ethersLeafHash(nullifier, extremes));
    }
    // 160 + 32·12 = 544 = 4 blocks of 136 bytes, for a leaf and for a node: the padding takes a block of its own.
    const twelve = Array.from({ length: 12 }, (_, i) => i - 7);
    expect(leafHash({ nullifier: "5", submission: CID, value: twelve })).to.equal(ethersLeafHash(5n, twelve));
    const left = `0x${"ab".repeat(32)}`;
    expect(nodeHash(left, left, twelve)).to.equal(ethersNodeHash(left, left, twelve));
    expect(leafHash({ nullifier: "0", submission: CID, value: [] })).to.equal(ethersLeafHash(0n, []));
  });

  it("a leaf and a node with the same words never hash alike (domain tags)", () => {
    fc.assert(
      fc.property(bytes32Arb, bytes32Arb, fc.array(safeInt, { maxLength: 8 }), (left, right, value) => {
        const leaf = { nullifier: BigInt(left).toString(), submission: submissionCid(Buffer.from(right.slice(2), "hex")), value };
        expect(leafHash(leaf)).to.not.equal(nodeHash(left, right, value));
      }),
      { seed: 13, numRuns: 100 },
    );
  });

  it("submissionDigest and submissionCid agree with multiformats and refuse every other CID form", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) => {
        const { cid } = await encodeBlock(bytes);
        expect(submissionCid(cid.multihash.digest)).to.equal(cid.toString());
        expect(Buffer.from(submissionDigest(cid.toString())).equals(Buffer.from(cid.multihash.digest))).to.equal(true);
      }),
      { seed: 13, numRuns: 200 },
    );
    const block = await encodeBlock([1, 2, 3]);
    const digest = block.cid.multihash;
    const good = block.cid.toString();
    const others = [
      Cid.create(1, 0x55, digest).toString(), // raw, not dag-cbor
      Cid.create(0, 0x70, digest).toString(), // CIDv0
      good.toUpperCase(), // not lower-case base32
      `${good.slice(0, -1)}${good.endsWith("a") ? "b" : "a"}`, // the last digit's 2 padding bits set, or a changed digest
      good.slice(0, -1),
      `${good}a`,
      "",
      "bafy",
      `b${"é".repeat(58)}`,
    ];
    for (const cid of others) {
      let decoded: Uint8Array | undefined;
      try {
        decoded = submissionDigest(cid);
      } catch (err) {
        expect(err, cid).to.be.instanceOf(TypeError);
        continue;
      }
      // Only a different but well-formed CID may decode, and then to another digest.
      expect(Buffer.from(decoded).equals(Buffer.from(digest.digest)), cid).to.equal(false);
      expect(submissionCid(decoded), cid).to.equal(cid);
    }
    expect(() => submissionCid(new Uint8Array(31))).to.throw(TypeError, /32 bytes/);
  });

  it("refuses nullifiers that are not canonical decimals below 2^256 and malformed node hashes", () => {
    for (const nullifier of ["0x10", "-1", "007", "", " 5", String(1n << 256n)]) {
      expect(() => leafHash({ nullifier, submission: CID, value: [1] }), nullifier).to.throw(TypeError, /leaf\.nullifier/);
    }
    expect(() => nodeHash("0x12", ZERO_ROOT, [1])).to.throw(TypeError, /left/);
  });
});

describe("reduce tree", () => {
  it("builds the same root as an ethers-encoded reference tree", () => {
    fc.assert(
      fc.property(uniqueLeaves(), reducerArb, (leaves, reducer) => {
        expect(reduceTree(leaves, reducer, payloadLength).treeRoot).to.equal(referenceRoot(leaves, reducer));
      }),
      { seed: 5, numRuns: 60 },
    );
  });

  it("gives the same root, aggregate and leaf order whatever order the leaves arrive in", () => {
    const arb = uniqueLeaves().chain((leaves) =>
      fc.tuple(fc.constant(leaves), fc.shuffledSubarray(leaves, { minLength: leaves.length, maxLength: leaves.length }), reducerArb),
    );
    fc.assert(
      fc.property(arb, ([leaves, shuffled, reducer]) => {
        const x = reduceTree(leaves, reducer, payloadLength);
        const y = reduceTree(shuffled, reducer, payloadLength);
        expect(y.treeRoot).to.equal(x.treeRoot);
        expect(y.aggregate).to.deep.equal(x.aggregate);
        expect(y.levels).to.deep.equal(x.levels);
        expect(y.leaves).to.deep.equal(x.leaves);
        for (let i = 1; i < x.leaves.length; i++) {
          expect(BigInt(x.leaves[i]!.nullifier) > BigInt(x.leaves[i - 1]!.nullifier)).to.equal(true);
        }
      }),
      { seed: 7, numRuns: 80 },
    );
  });

  it("aggregates to the plain sum of the lifted payloads, with count the number of leaves", () => {
    fc.assert(
      fc.property(uniqueLeaves(), reducerArb, (leaves, reducer) => {
        const result = reduceTree(leaves, reducer, payloadLength);
        const width = stateLength(reducer, payloadLength);
        const plain = new Array<number>(width).fill(0);
        for (const leaf of leaves) {
          const lifted = liftPayload(reducer, leaf.value);
          for (let i = 0; i < width; i++) plain[i] = plain[i]! + lifted[i]!;
        }
        expect(result.aggregate).to.deep.equal(plain);
        expect(result.count).to.equal(leaves.length);
        if (reducer.kind === "count") expect(result.aggregate).to.deep.equal([leaves.length]);
        if (reducer.kind === "mean") expect(result.aggregate[payloadLength]).to.equal(leaves.length);
      }),
      { seed: 8, numRuns: 80 },
    );
  });

  it("pairs nodes level by level and carries an odd node up unchanged", () => {
    const leaves: Leaf[] = [3, 1, 2].map((n) => ({ nullifier: String(n), submission: CID, value: [n, -n] }));
    const result = reduceTree(leaves, SUM, 2);
    const [l1, l2, l3] = [1, 2, 3].map((n) => leafHash({ nullifier: String(n), submission: CID, value: [n, -n] })) as [
      string,
      string,
      string,
    ];
    const n12 = nodeHash(l1, l2, [3, -3]);
    expect(result.levels).to.deep.equal([[l1, l2, l3], [n12, l3], [nodeHash(n12, l3, [6, -6])]]);
    expect(result.treeRoot).to.equal(nodeHash(n12, l3, [6, -6]));
    expect(result.aggregate).to.deep.equal([6, -6]);
    expect(result.leaves.map((l) => l.nullifier)).to.deep.equal(["1", "2", "3"]);
  });

  it("a single leaf is its own root", () => {
    const leaf: Leaf = { nullifier: "9", submission: CID, value: [4] };
    const result = reduceTree([leaf], { kind: "mean" }, 1);
    expect(result.treeRoot).to.equal(leafHash(leaf));
    expect(result.levels).to.deep.equal([[leafHash(leaf)]]);
    expect(result.aggregate).to.deep.equal([4, 1]);
  });

  it("sorts by nullifier as integers, not as strings", () => {
    const leaves: Leaf[] = ["10", "9", "100"].map((nullifier) => ({ nullifier, submission: CID, value: [1] }));
    expect(reduceTree(leaves, SUM, 1).leaves.map((l) => l.nullifier)).to.deep.equal(["9", "10", "100"]);
  });

  it("changes the root when any leaf value changes", () => {
    const leaves: Leaf[] = [1, 2, 3].map((n) => ({ nullifier: String(n), submission: CID, value: [n, n] }));
    const a = reduceTree(leaves, SUM, 2);
    const b = reduceTree([...leaves.slice(0, 2), { nullifier: "3", submission: CID, value: [3, 4] }], SUM, 2);
    expect(a.treeRoot).to.not.equal(b.treeRoot);
  });

  it("reduces no leaves to a zero aggregate, count 0 and a zero root", () => {
    for (const [reducer, width] of [
      [SUM, 7],
      [{ kind: "count" }, 1],
      [{ kind: "mean" }, 8],
      [{ kind: "quantile", edges: [0, 5], quantiles: [half] }, 21],
    ] as Array<[ReducerSpec, number]>) {
      const result = reduceTree([], reducer, 7);
      expect(result).to.deep.equal({ aggregate: new Array(width).fill(0), count: 0, treeRoot: ZERO_ROOT, leaves: [], levels: [] });
      expect(() => verifyReduceResult(result, reducer, 7)).to.not.throw();
    }
  });

  it("refuses a duplicate nullifier with DuplicateNullifierError and leaves the input unchanged", () => {
    const leaves: Leaf[] = [
      { nullifier: "7", submission: "a", value: [1] },
      { nullifier: "5", submission: "b", value: [2] },
      { nullifier: "5", submission: "c", value: [3] },
    ];
    const before = structuredClone(leaves);
    let error: unknown;
    try {
      reduceTree(leaves, SUM, 1);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(DuplicateNullifierError);
    expect((error as DuplicateNullifierError).name).to.equal("DuplicateNullifierError");
    expect((error as DuplicateNullifierError).nullifier).to.equal("5");
    expect(leaves).to.deep.equal(before);
  });

  it("never modifies its input, and returns copies of the leaves", () => {
    const leaves: Leaf[] = [2, 1].map((n) => ({ nullifier: String(n), submission: CID, value: [n] }));
    const before = structuredClone(leaves);
    const result = reduceTree(leaves, SUM, 1);
    result.leaves[0]!.value[0] = 99;
    expect(leaves).to.deep.equal(before);
  });

  it("refuses malformed leaves with TypeError/RangeError naming the leaf, input unchanged", () => {
    const good: Leaf = { nullifier: "1", submission: CID, value: [1, 2] };
    const cases: Array<[Leaf, RegExp, typeof TypeError]> = [
      [{ nullifier: "2", submission: CID, value: [1, 2, 3] }, /leaves\[1\]\.value: expected 2 items, got 3/, RangeError],
      [{ nullifier: "2", submission: CID, value: [1, Number.NaN] }, /leaves\[1\]\.value\[1\]/, TypeError],
      [{ nullifier: "02", submission: CID, value: [1, 2] }, /leaves\[1\]\.nullifier/, TypeError],
    ];
    for (const [bad, message, type] of cases) {
      const leaves = [good, bad];
      const before = structuredClone(leaves);
      expect(() => reduceTree(leaves, SUM, 2)).to.throw(type, message);
      expect(leaves).to.deep.equal(before);
    }
  });
});

describe("verifyReduceResult", () => {
  const leaves: Leaf[] = Array.from({ length: 11 }, (_, i) => ({
    nullifier: String(1000n + BigInt(i) * 7919n),
    submission: CID,
    value: [i, -i, i * i],
  }));
  const honest = (): ReduceResult => structuredClone(reduceTree(leaves, { kind: "mean" }, 3));
  const verify = (result: ReduceResult) => () => verifyReduceResult(result, { kind: "mean" }, 3);

  it("accepts an honest result for every reducer", () => {
    fc.assert(
      fc.property(uniqueLeaves(), reducerArb, (random, reducer) => {
        expect(() => verifyReduceResult(reduceTree(random, reducer, payloadLength), reducer, payloadLength)).to.not.throw();
      }),
      { seed: 9, numRuns: 40 },
    );
  });

  it("catches a tampered aggregate", () => {
    const result = honest();
    result.aggregate[1]! += 1;
    expect(verify(result)).to.throw(AggregateMismatchError, /aggregate\[1\]/);
  });

  it("catches a tampered node, naming its level and index", () => {
    const result = honest();
    result.levels[2]![1] = `0x${"11".repeat(32)}`;
    expect(verify(result)).to.throw(NodeMismatchError).that.includes({ level: 2, index: 1 });
  });

  it("catches a tampered leaf value at its leaf hash", () => {
    const result = honest();
    result.leaves[4]!.value[2] = 17;
    expect(verify(result)).to.throw(NodeMismatchError).that.includes({ level: 0, index: 4 });
  });

  it("catches leaves out of order, duplicated or malformed", () => {
    const swapped = honest();
    [swapped.leaves[3], swapped.leaves[4]] = [swapped.leaves[4]!, swapped.leaves[3]!];
    expect(verify(swapped)).to.throw(LeafOrderError).that.includes({ index: 4 });
    const duplicated = honest();
    duplicated.leaves[5] = { ...duplicated.leaves[4]! };
    expect(verify(duplicated)).to.throw(DuplicateNullifierError);
    const short = honest();
    short.leaves[2]!.value.pop();
    expect(verify(short)).to.throw(MalformedLeafError).that.includes({ index: 2 });
  });

  it("catches a wrong count or root, and leaves the result as it was", () => {
    const counted = honest();
    counted.count += 1;
    expect(verify(counted)).to.throw(CountMismatchError);
    const rooted = honest();
    rooted.treeRoot = `0x${"22".repeat(32)}`;
    const before = structuredClone(rooted);
    expect(verify(rooted)).to.throw(RootMismatchError);
    expect(rooted).to.deep.equal(before);
  });

  it("catches a missing or extra level", () => {
    const missing = honest();
    missing.levels.pop();
    expect(verify(missing)).to.throw(NodeMismatchError);
    const extra = honest();
    extra.levels.push([extra.treeRoot]);
    expect(verify(extra)).to.throw(NodeMismatchError);
  });
});

describe("finalizeResult", () => {
  it("reads sum, histogram, count and mean", () => {
    expect(finalizeResult(SUM, [4, -2], 3, 2)).to.deep.equal({ values: [4, -2] });
    expect(finalizeResult({ kind: "histogram" }, [1, 5], 6, 2)).to.deep.equal({ values: [1, 5] });
    expect(finalizeResult({ kind: "count" }, [6], 6, 2)).to.deep.equal({ values: [6] });
    expect(finalizeResult({ kind: "mean" }, [9, -3, 4], 4, 2)).to.deep.equal({ values: [2.25, -0.75] });
    expect(finalizeResult({ kind: "mean" }, [0, 0, 0], 0, 2).values.every(Number.isNaN)).to.equal(true);
    expect(() => finalizeResult(SUM, [1, 2, 3], 1, 2)).to.throw(RangeError, /aggregate: expected 2 items, got 3/);
  });

  it("reads quantiles by interpolating inside the bucket, clamping the open ends to their edge", () => {
    const reducer: ReducerSpec = {
      kind: "quantile",
      edges: [0, 10, 20],
      quantiles: [
        { num: 0, den: 1 },
        { num: 1, den: 4 },
        { num: 1, den: 2 },
        { num: 1, den: 1 },
      ],
    };
    // Entry 0: 2 values in [0, 10), 2 in [10, 20). Entry 1: 1 below 0, 3 at or above 20.
    const result = finalizeResult(reducer, [0, 2, 2, 0, 1, 0, 0, 3], 4, 2);
    // r = qN: 0 → start of [0..9]; 1 → halfway through [0..9]; 2 → end of [0..9]; 4 → end of [10..19].
    expect(result.quantiles).to.deep.equal([
      [0, 4.5, 9, 19],
      [-1, -1, 20, 20],
    ]);
    expect(result.values).to.deep.equal([0, 4.5, 9, 19, -1, -1, 20, 20]);
    const empty = finalizeResult(reducer, new Array(8).fill(0), 0, 2);
    expect(empty.quantiles?.flat().every(Number.isNaN)).to.equal(true);
  });

  it("estimates every quantile inside the bucket of the true quantile, on random data", () => {
    const data = fc.array(fc.integer({ min: -250, max: 250 }), { minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(quantileArb, data, (reducer, values) => {
        const leaves = values.map((x, i) => ({ nullifier: String(i + 1), submission: CID, value: [x] }));
        const { aggregate, count } = reduceTree(leaves, reducer, 1);
        const { quantiles } = finalizeResult(reducer, aggregate, count, 1);
        const sorted = [...values].sort((a, b) => a - b);
        const edges = reducer.edges;
        reducer.quantiles.forEach((q, j) => {
          // The true quantile: the value of rank max(1, ⌈qN⌉).
          const truth = sorted[Math.max(1, Math.ceil((q.num * sorted.length) / q.den)) - 1]!;
          const k = bucketOf(edges, truth);
          const lo = k === 0 ? edges[0]! - 1 : edges[k - 1]!;
          const hi = k === edges.length ? edges[k - 1]! : edges[k]! - 1;
          const estimate = quantiles![0]![j]!;
          expect(estimate).to.be.at.least(lo).and.at.most(hi);
          expect(Math.abs(bucketOf(edges, estimate) - k)).to.be.at.most(1);
        });
      }),
      { seed: 13, numRuns: 200 },
    );
  });
});

describe("ddsketchEdges", () => {
  it("builds linear edges near zero and geometric ones beyond, mirrored for negatives", () => {
    // γ = 1.2/0.8 = 1.5: magnitudes 1, 2, ⌊3⌋+1 = 4, ⌊6⌋+1 = 7.
    expect(ddsketchEdges(-5, 5, 0.2)).to.deep.equal([-6, -3, -1, 0, 1, 2, 4, 7]);
    expect(ddsketchEdges(0, 0, 0.2)).to.deep.equal([0, 1]);
    expect(ddsketchEdges(3, 10, 0.2)).to.deep.equal([3, 5, 8, 13]);
    expect(ddsketchEdges(-10, -3, 0.2)).to.deep.equal([-12, -7, -4, -2]);
  });

  it("covers [min, max] with strictly increasing integer edges whose buckets span at most γ", () => {
    const arb = fc
      .tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 2e6 }), fc.double({ min: 0.005, max: 0.5, noNaN: true }))
      .map(([min, width, alpha]) => ({ min, max: min + width, alpha }));
    fc.assert(
      fc.property(arb, ({ min, max, alpha }) => {
        const edges = ddsketchEdges(min, max, alpha);
        const gamma = (1 + alpha) / (1 - alpha);
        expect(edges[0]).to.be.at.most(min);
        expect(edges[edges.length - 1]).to.be.above(max);
        for (let i = 1; i < edges.length; i++) {
          const [a, b] = [edges[i - 1]!, edges[i]!];
          expect(Number.isSafeInteger(a) && b > a).to.equal(true);
          // The integers a..b-1 of a bucket span a ratio of at most γ on the side of zero they are on.
          if (a > 0) expect(b - 1).to.be.at.most(gamma * a * (1 + 1e-12));
          if (b <= 0) expect(-a).to.be.at.most(gamma * -(b - 1) * (1 + 1e-12));
          if (a <= 0 && b > 0) expect([a, b]).to.deep.equal([0, 1]);
        }
      }),
      { seed: 21, numRuns: 200 },
    );
  });

  it("gives quantile estimates within relative error 2α/(1−α) of the true quantile", () => {
    const arb = fc
      .tuple(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(0.01, 0.05, 0.1))
      .chain(([min, width, alpha]) =>
        fc.tuple(
          fc.constant({ min, max: min + width, alpha }),
          fc.array(fc.integer({ min, max: min + width }), { minLength: 1, maxLength: 100 }),
          fc.array(fractionArb, { minLength: 1, maxLength: 3 }),
        ),
      );
    fc.assert(
      fc.property(arb, ([{ min, max, alpha }, values, quantiles]) => {
        const reducer: ReducerSpec = { kind: "quantile", edges: ddsketchEdges(min, max, alpha), quantiles };
        const leaves = values.map((x, i) => ({ nullifier: String(i + 1), submission: CID, value: [x] }));
        const { aggregate, count } = reduceTree(leaves, reducer, 1);
        const estimates = finalizeResult(reducer, aggregate, count, 1).quantiles![0]!;
        const sorted = [...values].sort((a, b) => a - b);
        quantiles.forEach((q, j) => {
          const truth = sorted[Math.max(1, Math.ceil((q.num * sorted.length) / q.den)) - 1]!;
          expect(Math.abs(estimates[j]! - truth)).to.be.at.most(((2 * alpha) / (1 - alpha)) * Math.abs(truth) * (1 + 1e-9));
        });
      }),
      { seed: 22, numRuns: 150 },
    );
  });

  it("refuses bad arguments and sketches too large to post", () => {
    expect(() => ddsketchEdges(5, 4, 0.1)).to.throw(RangeError, /max/);
    expect(() => ddsketchEdges(0.5, 4, 0.1)).to.throw(RangeError, /min/);
    expect(() => ddsketchEdges(0, 4, 1)).to.throw(RangeError, /relativeAccuracy/);
    expect(() => ddsketchEdges(0, 2 ** 50, 1e-6)).to.throw(RangeError, /raise it or narrow the range/);
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
