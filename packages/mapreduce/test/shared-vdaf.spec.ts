// Prio3 (VDAF draft 08) through this package's decoders against every published vector for the four instances
// the shared mode uses, and the spec → instance mapping, report sizes and spec checks.
import { readdirSync, readFileSync } from "node:fs";
import type { JobSpec } from "@mosaic/protocol";
import { fromHex, toBareHex } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { MalformedReportError, UnsupportedSharedSpecError } from "../src/shared/errors.js";
import {
  decodeInputShare,
  decodePrepShare,
  decodePublicShare,
  encodePrepShare,
  MAX_SHARED_REPORT_BYTES,
  prio3Of,
  reportSizes,
  type SharedKind,
  type SharedMeasurement,
  sharedSpecProblem,
  sharedVdafOf,
} from "../src/shared/vdaf.js";
import { sharedSpec } from "./fixtures/shared-spec.js";

const VECTORS = new URL("./vectors/vdaf-08/", import.meta.url);

interface PrepVector {
  input_shares: string[];
  measurement: number | number[];
  nonce: string;
  out_shares: string[][];
  prep_messages: string[];
  prep_shares: string[][];
  public_share: string;
  rand: string;
}
interface Vector {
  verify_key: string;
  shares: number;
  bits?: number;
  length?: number;
  chunk_length?: number;
  prep: PrepVector[];
  agg_shares: string[];
  agg_result: number | number[];
}

const KINDS: Record<string, SharedKind> = { Prio3Count: "count", Prio3Sum: "sum", Prio3Histogram: "histogram", Prio3SumVec: "sumvec" };
const hex = (s: string) => fromHex(s);
const buf = (s: string) => fromHex(s) as Parameters<ReturnType<typeof prio3Of>["shard"]>[1];

describe("Prio3 draft-08 vectors, reproduced through the shared mode's decoders", () => {
  const files = readdirSync(VECTORS)
    .filter((f) => f.endsWith(".json"))
    .sort();
  it("has the vectors of all four instances", () => {
    expect(files).to.deep.equal([
      "Prio3Count_0.json",
      "Prio3Count_1.json",
      "Prio3Histogram_0.json",
      "Prio3Histogram_1.json",
      "Prio3SumVec_0.json",
      "Prio3SumVec_1.json",
      "Prio3Sum_0.json",
      "Prio3Sum_1.json",
    ]);
  });
  for (const file of files) {
    it(file, async () => {
      const v = JSON.parse(readFileSync(new URL(file, VECTORS), "utf8")) as Vector;
      const kind = KINDS[file.replace(/_\d+\.json$/, "")] as SharedKind;
      const vdaf = prio3Of(kind, { length: v.length ?? 1, bits: v.bits ?? 1, chunkLength: v.chunk_length ?? 1 }, v.shares);
      const verifyKey = buf(v.verify_key);
      const outShares: bigint[][][] = Array.from({ length: v.shares }, () => []);
      for (const [r, p] of v.prep.entries()) {
        const at = `${file} prep[${r}]`;
        const measurement: SharedMeasurement = kind === "count" ? p.measurement === 1 : p.measurement;
        // Client: the shard is byte-for-byte the vector's.
        const sharded = await vdaf.shardEncoded(measurement, buf(p.nonce), buf(p.rand));
        expect(sharded.publicShare.toString("hex"), `${at} public share`).to.equal(p.public_share);
        expect(
          sharded.inputShares.map((s) => s.toString("hex")),
          `${at} input shares`,
        ).to.deep.equal(p.input_shares);
        // Aggregators: each decodes the public share and its own input share from the vector's bytes.
        const prepared = [];
        for (let j = 0; j < v.shares; j++) {
          const inputShare = await decodeInputShare(vdaf, j, hex(p.input_shares[j] as string));
          expect(vdaf.encodeInputShare(inputShare).toString("hex"), `${at} input share ${j} re-encodes`).to.equal(p.input_shares[j]);
          const publicShare = decodePublicShare(vdaf, hex(p.public_share));
          prepared.push(await vdaf.prepareInit(verifyKey, j, null, buf(p.nonce), publicShare, inputShare));
        }
        const prepShareBytes = prepared.map(({ preparationShare }) => encodePrepShare(vdaf, preparationShare));
        expect(prepShareBytes.map(toBareHex), `${at} prep shares`).to.deep.equal(p.prep_shares[0]);
        // Each prep share crosses the wire: decoded from the vector's bytes, it must round-trip.
        const decoded = (p.prep_shares[0] as string[]).map((s) => decodePrepShare(vdaf, hex(s)));
        expect(decoded.map((d) => toBareHex(encodePrepShare(vdaf, d)))).to.deep.equal(p.prep_shares[0]);
        const message = await vdaf.unshardPreparationShares(null, decoded);
        expect(vdaf.encodePreparationMessage(message).toString("hex"), `${at} prep message`).to.equal(p.prep_messages[0]);
        for (let j = 0; j < v.shares; j++) {
          const out = vdaf.prepareNext((prepared[j] as (typeof prepared)[number]).preparationState, message);
          if (!("outputShare" in out)) throw new Error("Prio3 prepares in one round");
          expect(vdaf.encodeTestVectorOutputShare(out.outputShare), `${at} out share ${j}`).to.deep.equal(p.out_shares[j]);
          outShares[j]?.push(out.outputShare);
        }
      }
      const aggShares = outShares.map((shares) => vdaf.aggregate(null, shares));
      expect(
        aggShares.map((s) => vdaf.encodeAggregatorShare(s).toString("hex")),
        `${file} aggregate shares`,
      ).to.deep.equal(v.agg_shares);
      const result = vdaf.unshard(null, aggShares, v.prep.length);
      // Prio3Sum decodes to a bigint; the vector writes a JSON number.
      expect(typeof result === "bigint" ? Number(result) : result, `${file} aggregate result`).to.deep.equal(v.agg_result);
    });
  }
});

describe("decoders refuse malformed bytes by name", () => {
  const { vdaf } = sharedVdafOf(sharedSpec({ entries: 3, max: 7 }));
  const sizes = reportSizes(vdaf);

  it("MalformedReportError for any wrong length (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2000 }), async (n) => {
        const bytes = new Uint8Array(n);
        if (n !== sizes.publicShare) expect(() => decodePublicShare(vdaf, bytes)).to.throw(MalformedReportError);
        if (n !== sizes.prepShare) expect(() => decodePrepShare(vdaf, bytes)).to.throw(MalformedReportError);
        for (const j of [0, 1]) {
          if (n === sizes.inputShares[j]) continue;
          let thrown: unknown;
          await decodeInputShare(vdaf, j, bytes).catch((err) => {
            thrown = err;
          });
          expect(thrown).to.be.instanceOf(MalformedReportError);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("MalformedReportError for a field element at or above p", async () => {
    const bytes = new Uint8Array(sizes.prepShare).fill(0xff);
    expect(() => decodePrepShare(vdaf, bytes)).to.throw(MalformedReportError, "not in the field");
    let thrown: unknown;
    await decodeInputShare(vdaf, 0, new Uint8Array(sizes.inputShares[0] as number).fill(0xff)).catch((err) => {
      thrown = err;
    });
    expect(thrown).to.be.instanceOf(MalformedReportError);
  });
});

describe("sharedVdafOf: a shared spec's Prio3 instance", () => {
  it("maps [0,1] to Count (Field64), [0,max] to Sum, one-hot to Histogram, vectors to SumVec (Field128)", () => {
    const count = sharedVdafOf(sharedSpec({ entries: 1, max: 1 }));
    expect([count.kind, count.fieldId, count.modulus, count.length]).to.deep.equal(["count", 0, 2n ** 64n - 2n ** 32n + 1n, 1]);
    expect(count.measurementOf([1])).to.equal(true);
    expect(count.measurementOf([0])).to.equal(false);
    const sum = sharedVdafOf(sharedSpec({ entries: 1, max: 100 }));
    expect([sum.kind, sum.bits, sum.fieldId]).to.deep.equal(["sum", 7, 1]);
    expect(sum.modulus).to.equal(sum.vdaf.flp.field.modulus);
    expect(sum.measurementOf([42])).to.equal(42);
    const histogram = sharedVdafOf(sharedSpec({ entries: 5, max: 1, oneHot: true }));
    expect([histogram.kind, histogram.length, histogram.chunkLength, histogram.fieldId]).to.deep.equal(["histogram", 5, 2, 1]);
    expect(histogram.measurementOf([0, 0, 0, 1, 0])).to.equal(3);
    const sumvec = sharedVdafOf(sharedSpec({ entries: 6, max: 7 }));
    expect([sumvec.kind, sumvec.length, sumvec.bits, sumvec.chunkLength, sumvec.fieldId]).to.deep.equal(["sumvec", 6, 3, 4, 1]);
    expect(sumvec.measurementOf([1, 2, 0, 0, 4, 0])).to.deep.equal([1, 2, 0, 0, 4, 0]);
  });

  it("refuses outputs outside the declared ranges with RangeError naming the entry", () => {
    const sumvec = sharedVdafOf(sharedSpec({ entries: 3, max: 5 }));
    expect(() => sumvec.measurementOf([1, 6, 0])).to.throw(RangeError, "clamped[1]: expected an integer in [0, 5], got 6");
    expect(() => sumvec.measurementOf([1, 2])).to.throw(RangeError, "clamped: expected 3 entries, got 2");
    const histogram = sharedVdafOf(sharedSpec({ entries: 3, max: 1, oneHot: true }));
    expect(() => histogram.measurementOf([1, 1, 0])).to.throw(RangeError, "exactly one 1, got 2");
  });

  it("refuses unencodable outputs with UnsupportedSharedSpecError", () => {
    const spec = sharedSpec({ entries: 2, max: 3 });
    const shifted = { ...spec, output: { ...spec.output, entries: spec.output.entries.map((e) => ({ ...e, min: 1 })) } };
    expect(() => sharedVdafOf(shifted)).to.throw(
      UnsupportedSharedSpecError,
      "output.entries[0].min: a shared job's entries start at 0, got 1",
    );
  });
});

describe("sharedSpecProblem", () => {
  it("accepts the km-per-day shape and a report under the limit", () => {
    const spec = sharedSpec({ entries: 6, max: 7 });
    expect(sharedSpecProblem(spec)).to.equal(undefined);
    expect(reportSizes(sharedVdafOf(spec).vdaf).report).to.be.below(MAX_SHARED_REPORT_BYTES);
  });

  it("computes report sizes equal to a real report's", async () => {
    for (const [entries, max, oneHot] of [
      [1, 1, false],
      [1, 1000, false],
      [7, 1, true],
      [6, 7, false],
    ] as const) {
      const { vdaf, measurementOf } = sharedVdafOf(sharedSpec({ entries, max, oneHot }));
      const sizes = reportSizes(vdaf);
      const clamped = Array.from({ length: entries }, (_, i) => (oneHot ? (i === 0 ? 1 : 0) : max));
      const shard = await vdaf.shardEncoded(measurementOf(clamped), buf("00".repeat(16)), buf("00".repeat(vdaf.randSize)));
      expect(shard.publicShare.length).to.equal(sizes.publicShare);
      expect(shard.inputShares.map((s) => s.length)).to.deep.equal(sizes.inputShares);
    }
  });

  it("names what a shared job cannot be", () => {
    const ok = sharedSpec({ entries: 3, max: 7 });
    const cases: Array<[JobSpec, string]> = [
      [{ ...ok, reducer: { kind: "count" } }, "reducer.kind: a shared job sums its outputs"],
      [
        { ...ok, privacy: { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1 } } },
        "privacy.mechanism: a shared job's aggregators add discrete Gaussian noise",
      ],
      [
        {
          ...ok,
          privacy: { mechanism: "discrete-gaussian", epsilon: { num: 1, den: 1 }, delta: { num: 1, den: 1e6 }, sigma2: { num: 1, den: 1 } },
        },
        "privacy.sigma2: 1/1 gives epsilon",
      ],
      [{ ...ok, output: { ...ok.output, entries: ok.output.entries.map((e) => ({ ...e, min: -1 })) } }, "output.entries[0].min"],
      [
        { ...ok, output: { ...ok.output, entries: ok.output.entries.map((e) => ({ ...e, max: 0 })) } },
        "output.entries[0].max: expected an integer in [1, 2^52), got 0",
      ],
      [sharedSpec({ entries: 1000, max: 1023 }), "over the 61440-byte limit"],
      // Prio3 proves [0, 2^bits): a max below 2^bits − 1 with no total to bound it would let a member claim 1023.
      [sharedSpec({ entries: 2, max: 1000 }), "max 1000 is not 1023"],
    ];
    for (const [spec, message] of cases) expect(sharedSpecProblem(spec)).to.include(message);
  });
});
