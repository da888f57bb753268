// Job spec v1: the ready jobs validate and match their checked-in files; hostile specs are refused by name; the spec
// block is canonical; results carry error bars that cover the truth.
import { readFileSync } from "node:fs";
import { CID, InvalidJobSpecError, type JobSpec, SubmissionTooLargeError, specCidOf, specDigestOf, to0xHex } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import { readyJobFiles } from "../../../scripts/ready-jobs.js";
import {
  type AbilityCatalog,
  decodeSpec,
  encodeSpec,
  estimateResult,
  kmPerDayJob,
  boundsHash,
  edgesHash,
  postJobArgs,
  privatize,
  type RecordedJob,
  reduceParams,
  READY_JOBS,
  reduceTree,
  seededUniform,
  specDisagreement,
  submissionCid,
  symptomsByRegionJob,
  timeAtHomeJob,
  validateSpec,
} from "../src/index.js";

const ANY_CID = submissionCid(new Uint8Array(32));

const CATALOG: AbilityCatalog = {
  "location-history": { points: ["t", "lat", "lon", "day", "source"], places: ["name", "category", "lat", "lon", "radiusM"] },
  "health-questionnaire": { checkins: ["day", "time", "feeling", "symptoms", "temperatureC", "test", "region"] },
  proximity: { notifications: ["day", "level", "weightedMinutes", "feedId", "checkedAt"] },
};

function refused(value: unknown, message: RegExp, options = {}): void {
  expect(() => validateSpec(value, { abilities: CATALOG, ...options })).to.throw(InvalidJobSpecError, message);
}

describe("job spec v1", () => {
  const now = 1_790_000_000;
  const spec = kmPerDayJob({ collectionDeadline: now + 3600 });

  it("accepts every ready job, and the checked-in jobs/*.json are exactly what the builders write", () => {
    for (const [name, build] of Object.entries(READY_JOBS)) {
      expect(() => validateSpec(build({ collectionDeadline: now + 60 }), { abilities: CATALOG, now }), name).not.to.throw();
    }
    expect(() => validateSpec(timeAtHomeJob({ collectionDeadline: now + 60, mechanism: "discrete-gaussian" }), { now })).not.to.throw();
    for (const { file, text } of readyJobFiles())
      expect(readFileSync(file, "utf8"), `${file} is stale: run npx tsx scripts/ready-jobs.ts`).to.equal(text);
  });

  it("refuses invalid specs before anything is posted, naming the field", () => {
    const entries = spec.output.entries;
    refused({ ...spec, version: 2 }, /version/);
    refused({ ...spec, extra: 1 }, /additional/);
    refused(
      { ...spec, reads: [{ ability: "bank-statements", collection: "payments", fields: ["amount"] }] },
      /unknown ability "bank-statements"/,
    );
    refused({ ...spec, reads: [{ ability: "location-history", collection: "points", fields: ["t", "contacts"] }] }, /no field "contacts"/);
    refused({ ...spec, output: { ...spec.output, entries: entries.map((e) => ({ ...e, max: 2 ** 40 })) } }, /unbounded/);
    refused({ ...spec, output: { ...spec.output, entries: entries.map((e) => ({ ...e, max: 1.5 })) } }, /must be integer/);
    refused({ ...spec, output: { ...spec.output, entries: entries.map((e) => ({ ...e, min: 9 })) } }, /expected min < max/);
    refused({ ...spec, privacy: { mechanism: "discrete-laplace", epsilon: { num: 11, den: 1 } } }, /epsilon: 11\/1 is outside/);
    refused({ ...spec, privacy: { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1000 } } }, /epsilon: 1\/1000 is outside/);
    refused({ ...spec, privacy: { mechanism: "discrete-laplace", epsilon: { num: 1, den: 0 } } }, /den/);
    refused(
      { ...spec, privacy: { mechanism: "randomized-response", epsilon: { num: 1, den: 1 } } },
      /randomized-response needs a one-hot output/,
    );
    refused(
      {
        ...spec,
        privacy: {
          mechanism: "discrete-gaussian",
          epsilon: { num: 1, den: 1 },
          delta: { num: 1, den: 1_000_000 },
          sigma2: { num: 1, den: 1 },
        },
      },
      /sigma2: 1\/1 gives epsilon .* raise sigma2/,
    );
    refused({ ...spec, collectionDeadline: now - 1 }, /collectionDeadline: .* is in the past/, { now });
    refused({ ...spec, challengeWindow: 5 }, /challengeWindow/);
    refused({ ...spec, reward: "0" }, /reward: expected more than 0/);
    refused({ ...spec, reward: "-1" }, /reward/);
    refused({ ...spec, output: { ...spec.output, entries: entries.slice(1) } }, /produces 6 values but output declares 5/);
    refused(
      { ...spec, reducer: { kind: "quantile", edges: [5, 3], quantiles: [{ num: 1, den: 2 }] } },
      /edges\[1\]: expected strictly increasing/,
    );
    refused(
      { ...spec, reducer: { kind: "quantile", edges: Array.from({ length: 60 }, (_, i) => i), quantiles: [{ num: 1, den: 2 }] } },
      /state has .* entries/,
    );
    const sandboxed = symptomsByRegionJob({ collectionDeadline: now + 60 });
    refused(
      { ...sandboxed, program: { ...sandboxed.program, limits: { timeMs: 10 ** 9, memoryBytes: 1 << 20 } } },
      /program\.limits\.timeMs/,
    );
    refused(null, /expected|type/);
    refused("spec", /type/);
  });

  it("never throws anything but InvalidJobSpecError on mutated specs (property)", () => {
    const base = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    const keys = Object.keys(base);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
        try {
          validateSpec({ ...base, [key]: value }, { abilities: CATALOG });
        } catch (err) {
          expect((err as Error).name).to.equal("InvalidJobSpecError");
        }
      }),
      { numRuns: 300, seed: 61 },
    );
  });

  it("round-trips through its block; refuses oversized, non-canonical and garbage blocks", async () => {
    const block = await encodeSpec(spec);
    expect(decodeSpec(block.bytes)).to.deep.equal(spec);
    expect(() => decodeSpec(new Uint8Array(70_000))).to.throw(SubmissionTooLargeError);
    expect(() => decodeSpec(new Uint8Array([0xff, 0x00]))).to.throw(InvalidJobSpecError, /dag-cbor/);
    // The same map with keys out of canonical order decodes in dag-cbor's lenient decoder; we refuse it.
    const reordered = new Uint8Array(block.bytes);
    const canonical = dagCbor.encode({ b: 1, a: 2 });
    const swapped = new Uint8Array([canonical[0] as number, ...canonical.slice(3), ...canonical.slice(1, 3)]);
    expect(() => decodeSpec(swapped)).to.throw(InvalidJobSpecError);
    expect(reordered).to.deep.equal(block.bytes);
  });

  it("posts the spec block's digest, which names its CID again; refuses CIDs of other kinds", async () => {
    const block = await encodeSpec(spec);
    const { args, value } = postJobArgs(spec, block.cid.toString(), 7n);
    expect(args[0]).to.equal(to0xHex(block.cid.multihash.digest));
    expect(args[1]).to.equal(7n);
    expect(value).to.equal(BigInt(spec.reward));
    expect(postJobArgs(spec, block.cid, 7n).args[0]).to.equal(args[0]);
    expect(specCidOf(args[0]).equals(block.cid)).to.equal(true);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const cid = specCidOf(digest);
        expect(cid.toString()).to.equal(submissionCid(digest));
        expect(specDigestOf(cid.toString())).to.equal(to0xHex(digest));
      }),
      { seed: 15 },
    );
    // CIDv0, a raw block and a 20-byte digest are not what encodeSpec makes.
    const v0 = CID.createV0(block.cid.multihash as CID<unknown, 112, 18, 0>["multihash"]);
    const raw = CID.createV1(0x55, block.cid.multihash);
    for (const cid of [v0, raw]) expect(() => postJobArgs(spec, cid, 7n)).to.throw(TypeError, /CIDv1 dag-cbor sha2-256/);
    for (const digest of ["0x1234", `0x${"zz".repeat(32)}`, new Uint8Array(20)])
      expect(() => specCidOf(digest)).to.throw(TypeError, /specDigest/);
  });

  it("puts every noised estimate within its error bars at the stated rate (mean, histogram with randomized response)", () => {
    const rand = seededUniform("error-bars");
    const trips = READY_JOBS["place-trips"]?.({ collectionDeadline: now + 60 }) as JobSpec;
    const truth = [3, 1, 2];
    let inside = 0;
    const trials = 40;
    for (let trial = 0; trial < trials; trial++) {
      const leaves = Array.from({ length: 200 }, (_, i) => ({
        nullifier: String(trial * 1000 + i + 1),
        submission: ANY_CID,
        value: privatize(truth, trips.output, trips.privacy, rand),
      }));
      const r = reduceTree(leaves, trips.reducer, 3);
      const est = estimateResult(trips, r.aggregate, r.count);
      inside += est.rows.filter((row, k) => row.low <= (truth[k] as number) && (truth[k] as number) <= row.high).length;
    }
    // 95% intervals over 120 estimates: far below 85% would mean the bars are too narrow.
    expect(inside / (trials * 3)).to.be.above(0.85);

    const symptoms = symptomsByRegionJob({ collectionDeadline: now + 60 });
    const k = symptoms.output.entries.length;
    const people = Array.from({ length: 3000 }, (_, i) => i % 3);
    const leaves = people.map((c, i) => {
      const oneHot = new Array(k).fill(0);
      oneHot[c] = 1;
      return { nullifier: String(i + 1), submission: ANY_CID, value: privatize(oneHot, symptoms.output, symptoms.privacy, rand) };
    });
    const r = reduceTree(leaves, symptoms.reducer, k);
    const est = estimateResult(symptoms, r.aggregate, r.count);
    for (const [c, row] of est.rows.entries()) {
      const actual = c < 3 ? 1000 : 0;
      expect(Math.abs(row.estimate - actual), row.label).to.be.below(4 * row.stdDev + 1);
    }
  });
});

describe("specDisagreement: a spec against the job the chain recorded", () => {
  const spec = kmPerDayJob({ collectionDeadline: 1_790_003_600 });
  const reduce = reduceParams(spec);
  const recorded: RecordedJob = {
    collectionDeadline: BigInt(spec.collectionDeadline),
    proposalDeadline: BigInt(spec.collectionDeadline + spec.challengeWindow),
    minParticipants: BigInt(spec.minParticipants),
    reward: BigInt(spec.reward),
    minStake: BigInt(spec.minStake),
    kind: BigInt(reduce.kind),
    payloadLength: BigInt(reduce.payloadLength),
    edgesHash: edgesHash(reduce.edges),
    boundsHash: boundsHash(reduce),
  };

  it("finds none when every figure agrees", () => {
    expect(specDisagreement(spec, recorded)).to.equal(undefined);
  });

  it("names each figure that differs, with both values", () => {
    const cases: [Partial<RecordedJob>, string][] = [
      [{ collectionDeadline: recorded.collectionDeadline + 1n }, "collectionDeadline"],
      [{ proposalDeadline: recorded.proposalDeadline + 1n }, "challengeWindow"],
      [{ minParticipants: 99n }, "minParticipants"],
      [{ reward: 1n }, "reward"],
      [{ minStake: 0n }, "minStake"],
      [{ kind: recorded.kind + 1n }, "reducer kind"],
      [{ payloadLength: 1n }, "output length"],
      [{ edgesHash: `0x${"00".repeat(32)}` }, "reducer edges hash"],
      [{ boundsHash: `0x${"00".repeat(32)}` }, "payload bounds hash"],
    ];
    for (const [change, what] of cases) {
      const d = specDisagreement(spec, { ...recorded, ...change });
      expect(d?.what, what).to.equal(what);
      expect(d?.inSpec).not.to.equal(d?.onChain);
    }
    expect(specDisagreement(spec, { ...recorded, reward: 1n })).to.deep.equal({
      what: "reward",
      inSpec: String(spec.reward),
      onChain: "1",
    });
  });
});
