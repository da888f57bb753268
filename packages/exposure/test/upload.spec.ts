// Key uploads: the period, the scope (abi.encode reduced into the field, as jobScope is) and the message rules; a real
// Semaphore proof over an upload's scope and message survives its block; every hostile upload — 15 keys, keys of
// today, the future or 15 days ago, partial or repeated keys, mixed report types or days since onset that no one onset
// day gives, a key where a number is expected, extra fields, out-of-field words, oversized bytes — is its named error,
// and nothing is returned.
import * as dagCbor from "@ipld/dag-cbor";
import { artifactPaths, Group, Identity, PROOF_DEPTH } from "@mosaic/avatar";
import { encodeBlock, payloadDigest, SNARK_SCALAR_FIELD } from "@mosaic/protocol";
import { generateProof, verifyProof } from "@semaphore-protocol/proof";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import { publishedKeyToWire } from "../src/batch.js";
import {
  ExposureDocumentTooLargeError,
  InconsistentUploadError,
  KeyOutsideWindowError,
  MalformedExposureDocumentError,
} from "../src/errors.js";
import { dailyKey, exposureRootFromSeed, keysToUpload } from "../src/gaen.js";
import { type PublishedKey, REPORT_TYPES } from "../src/types.js";
import {
  checkUploadKeys,
  decodeUpload,
  encodeUpload,
  exposureUploadTopic,
  type KeyUpload,
  MAX_UPLOAD_BYTES,
  MAX_UPLOAD_KEYS,
  type SemaphoreProof,
  uploadMessage,
  uploadPeriod,
  uploadScope,
} from "../src/upload.js";

const FEEDS = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const DAY = 86_400;
/** 2026-12-05 13:00 UTC. */
const NOW = 20_792 * DAY + 13 * 3600;
const TODAY = 20_792;
const BN254_BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const root = exposureRootFromSeed(new Uint8Array(32).fill(7));

function expectError(fn: () => unknown, Class: { name: string }, message?: RegExp): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(Class.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${Class.name}, got a result: ${String(returned)}`);
}

async function rejects(p: Promise<unknown>, Class: { name: string }, message?: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect((err as Error)?.name, String((err as Error)?.message)).to.equal(Class.name);
  if (message) expect((err as Error).message).to.match(message);
}

/** The vault's keys of the 14 days before NOW, as an upload carries them. */
const uploadKeys = (now = NOW, days?: number): PublishedKey[] =>
  keysToUpload(root, now, days).map((k, i) => ({ ...k, reportType: "confirmed-test", daysSinceOnsetOfSymptoms: i - 7 }));

/** The keys of the 14 days before NOW as a vault with symptoms since `onsetDay` uploads them: GAEN's rule, ±14 else null. */
const onsetKeys = (onsetDay: number | null, reportType: PublishedKey["reportType"] = "confirmed-clinical"): PublishedKey[] =>
  keysToUpload(root, NOW).map((k) => {
    const d = onsetDay === null ? null : k.rollingStartIntervalNumber / 144 - onsetDay;
    return { ...k, reportType, daysSinceOnsetOfSymptoms: d !== null && Math.abs(d) <= 14 ? d : null };
  });

const keyOfDay = (day: number): PublishedKey => ({ ...dailyKey(root, day), reportType: "self-report", daysSinceOnsetOfSymptoms: null });

const word = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String);
const fieldWord = fc.bigInt({ min: 0n, max: SNARK_SCALAR_FIELD - 1n }).map(String);
const baseWord = fc.bigInt({ min: 0n, max: BN254_BASE_FIELD - 1n }).map(String);
const arbitraryProof: fc.Arbitrary<SemaphoreProof> = fc.record({
  merkleTreeDepth: fc.integer({ min: 1, max: 32 }),
  merkleTreeRoot: fieldWord,
  message: word,
  nullifier: fieldWord,
  scope: word,
  points: fc.tuple(baseWord, baseWord, baseWord, baseWord, baseWord, baseWord, baseWord, baseWord),
});
const arbitraryKey: fc.Arbitrary<PublishedKey> = fc.record({
  key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  rollingStartIntervalNumber: fc.integer({ min: 0, max: 29_826_161 }).map((d) => d * 144),
  rollingPeriod: fc.constant(144),
  reportType: fc.constantFrom(...REPORT_TYPES),
  daysSinceOnsetOfSymptoms: fc.option(fc.integer({ min: -14, max: 14 }), { nil: null }),
});
const arbitraryUpload: fc.Arbitrary<KeyUpload> = fc.record({
  version: fc.constant(1 as const),
  chainId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  feeds: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
  feedId: fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }).map(String),
  period: fc.integer({ min: 0, max: 100_000 }),
  keys: fc.array(arbitraryKey, { minLength: 1, maxLength: MAX_UPLOAD_KEYS }),
  proof: arbitraryProof,
});

function sampleUpload(overrides: Partial<KeyUpload> = {}): KeyUpload {
  const keys = overrides.keys ?? uploadKeys();
  const period = uploadPeriod(NOW);
  return {
    version: 1,
    chainId: 31337,
    feeds: FEEDS,
    feedId: "1",
    period,
    keys,
    proof: {
      merkleTreeDepth: PROOF_DEPTH,
      merkleTreeRoot: "123",
      message: uploadMessage(keys).toString(),
      nullifier: "456",
      scope: uploadScope(31337, FEEDS, "1", period).toString(),
      points: ["1", "2", "3", "4", "5", "6", "7", "8"],
    },
    ...overrides,
  };
}

/** The block's map, taken apart as an attacker would. */
const wire = async (u: KeyUpload) => dagCbor.decode((await encodeUpload(u)).bytes) as Record<string, unknown>;

describe("exposure uploads", () => {
  describe("uploadPeriod, uploadScope, uploadMessage", () => {
    it("uploadPeriod is floor(unix day / 14)", () => {
      expect(uploadPeriod(0)).to.equal(0);
      expect(uploadPeriod(14 * DAY - 1)).to.equal(0);
      expect(uploadPeriod(14 * DAY)).to.equal(1);
      expect(uploadPeriod(NOW)).to.equal(Math.floor(TODAY / 14));
      expect(() => uploadPeriod(-1)).to.throw(RangeError, /unixSeconds/);
      expect(() => uploadPeriod(1.5)).to.throw(RangeError, /unixSeconds/);
    });

    it("uploadScope is keccak256(abi.encode(chainId, feeds, feedId, period)) mod r, whatever the address's case", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
          fc.uint8Array({ minLength: 20, maxLength: 20 }),
          fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }),
          fc.integer({ min: 0, max: 1_000_000 }),
          (chainId, address, feedId, period) => {
            const feeds = `0x${Buffer.from(address).toString("hex")}`;
            const encoded = AbiCoder.defaultAbiCoder().encode(
              ["uint256", "address", "uint256", "uint256"],
              [chainId, feeds, feedId, period],
            );
            const expected = BigInt(keccak256(encoded)) % SNARK_SCALAR_FIELD;
            const scope = uploadScope(chainId, feeds, feedId.toString(), period);
            expect(scope).to.equal(expected);
            expect(scope < SNARK_SCALAR_FIELD).to.equal(true);
            expect(uploadScope(chainId, feeds.toUpperCase().replace("0X", "0x"), feedId, BigInt(period))).to.equal(scope);
          },
        ),
        { numRuns: 200, seed: 20 },
      );
      const period = uploadPeriod(NOW);
      const scopes = [
        uploadScope(31337, FEEDS, "1", period),
        uploadScope(31337, FEEDS, "1", period + 1),
        uploadScope(31337, FEEDS, "2", period),
        uploadScope(1, FEEDS, "1", period),
        uploadScope(31337, "0x0000000000000000000000000000000000000001", "1", period),
      ];
      expect(new Set(scopes).size).to.equal(scopes.length);
    });

    it("uploadScope refuses arguments that are not its words", () => {
      expect(() => uploadScope(31337, "0x1234", "1", 0)).to.throw(RangeError, /feeds/);
      expect(() => uploadScope(31337, FEEDS, "one", 0)).to.throw(RangeError, /feedId/);
      expect(() => uploadScope(-1, FEEDS, "1", 0)).to.throw(RangeError, /chainId/);
      expect(() => uploadScope(31337, FEEDS, "1", 0.5)).to.throw(RangeError, /period/);
    });

    it("uploadMessage is payloadDigest of the keys' wire form, and any change to any key changes it", () => {
      fc.assert(
        fc.property(fc.array(arbitraryKey, { minLength: 1, maxLength: 14 }), fc.nat(), fc.nat({ max: 15 }), (keys, at, byte) => {
          const message = uploadMessage(keys);
          expect(message).to.equal(payloadDigest(dagCbor.encode(keys.map(publishedKeyToWire))));
          const i = at % keys.length;
          const k = keys[i] as PublishedKey;
          const flipped = new Uint8Array(k.key);
          flipped[byte] = (flipped[byte] as number) ^ 1;
          const changed = keys.map((x, j) => (j === i ? { ...x, key: flipped } : x));
          expect(uploadMessage(changed)).to.not.equal(message);
          expect(
            uploadMessage(
              keys.map((x, j) => (j === i ? { ...x, reportType: x.reportType === "recursive" ? "self-report" : "recursive" } : x)),
            ),
          ).to.not.equal(message);
        }),
        { numRuns: 100, seed: 20 },
      );
    });
  });

  describe("exposureUploadTopic", () => {
    it("is the feed's upload topic, the feeds address in lower case, one definition for vault and key server", () => {
      expect(exposureUploadTopic(31337n, FEEDS.toUpperCase().replace("0X", "0x"), 7n)).to.equal(
        `/mosaic/exposure-upload/1/31337/${FEEDS}/7`,
      );
      expect(exposureUploadTopic(1, FEEDS, "12")).to.equal(`/mosaic/exposure-upload/1/1/${FEEDS}/12`);
    });
  });

  describe("checkUploadKeys", () => {
    it("accepts the 14 keys keysToUpload gives, and fewer", () => {
      expect(uploadKeys()).to.have.length(14);
      checkUploadKeys(uploadKeys(), NOW);
      checkUploadKeys(uploadKeys(NOW, 3), NOW);
      // At the last second of the day and the first of the next (then the oldest key has just turned 15 days old).
      checkUploadKeys(uploadKeys(), TODAY * DAY + DAY - 1);
      expectError(() => checkUploadKeys(uploadKeys(), (TODAY + 1) * DAY), KeyOutsideWindowError, /15 days old/);
    });

    it("refuses an upload with 15 keys, or none (KeyOutsideWindowError)", () => {
      const fifteen = [...uploadKeys(), keyOfDay(TODAY - 15)];
      expectError(() => checkUploadKeys(fifteen, NOW), KeyOutsideWindowError, /15 keys/);
      expectError(() => checkUploadKeys([], NOW), KeyOutsideWindowError, /none/);
    });

    it("refuses today's key, a future key and one older than 14 days (KeyOutsideWindowError)", () => {
      for (const [day, why] of [
        [TODAY, /today's, still in use/],
        [TODAY + 1, /future/],
        [TODAY + 400, /future/],
        [TODAY - 15, /15 days old/],
        [0, /days old/],
      ] as const) {
        expectError(() => checkUploadKeys([...uploadKeys(NOW, 5), keyOfDay(day)], NOW), KeyOutsideWindowError, why);
      }
    });

    it("refuses partial keys, a key twice and two keys for one day (KeyOutsideWindowError)", () => {
      const keys = uploadKeys(NOW, 5);
      const k0 = keys[0] as PublishedKey;
      expectError(() => checkUploadKeys([{ ...k0, rollingPeriod: 72 }], NOW), KeyOutsideWindowError, /daily/);
      expectError(
        () => checkUploadKeys([{ ...k0, rollingStartIntervalNumber: k0.rollingStartIntervalNumber + 1 }], NOW),
        KeyOutsideWindowError,
      );
      expectError(() => checkUploadKeys([...keys, k0], NOW), KeyOutsideWindowError, /keys\[5\].*day/);
      const sameBytesOtherDay = { ...k0, rollingStartIntervalNumber: (keys[1] as PublishedKey).rollingStartIntervalNumber - 144 * 3 };
      expectError(() => checkUploadKeys([k0, sameBytesOtherDay], NOW), KeyOutsideWindowError, /same key/);
      const otherBytesSameDay = { ...k0, key: new Uint8Array(16).fill(9) };
      expectError(() => checkUploadKeys([k0, otherBytesSameDay], NOW), KeyOutsideWindowError, /second key for day/);
    });

    it("accepts one report type for every key and days since onset of one onset day (±14, else null) or none", () => {
      for (const onset of [null, TODAY - 3, TODAY - 1, TODAY, TODAY - 20, TODAY - 27, TODAY + 5, TODAY - 40])
        for (const type of REPORT_TYPES) checkUploadKeys(onsetKeys(onset, type), NOW);
      // Fewer keys, in any order: the rule is per key, not per position.
      checkUploadKeys(
        onsetKeys(TODAY - 20)
          .slice(3, 9)
          .reverse(),
        NOW,
      );
    });

    it("refuses an upload that mixes report types or whose days since onset no single onset day gives (InconsistentUploadError), input untouched", () => {
      const honest = onsetKeys(TODAY - 4);
      const cases: [string, PublishedKey[], RegExp][] = [
        // An uploader inflating risk: every day "confirmed-test" at days since onset 0, peak infectiousness.
        ["every key at onset", honest.map((k) => ({ ...k, reportType: "confirmed-test", daysSinceOnsetOfSymptoms: 0 })), /onset/],
        ["two report types", honest.map((k, i) => (i === 3 ? { ...k, reportType: "confirmed-test" } : k)), /keys\[3\]\.reportType/],
        [
          "one day shifted",
          honest.map((k, i) => (i === 9 ? { ...k, daysSinceOnsetOfSymptoms: (k.daysSinceOnsetOfSymptoms as number) + 1 } : k)),
          /keys\[9\]/,
        ],
        ["a null within ±14 of the onset", honest.map((k, i) => (i === 12 ? { ...k, daysSinceOnsetOfSymptoms: null } : k)), /keys\[12\]/],
        ["one number among nulls", onsetKeys(null).map((k, i) => (i === 13 ? { ...k, daysSinceOnsetOfSymptoms: 0 } : k)), /keys\[/],
        // Onset 20 days ago: the 6 oldest keys are beyond +14 (null), the rest 6..14; a number where null belongs.
        ["a number beyond ±14", onsetKeys(TODAY - 20).map((k, i) => (i === 0 ? { ...k, daysSinceOnsetOfSymptoms: 14 } : k)), /keys\[/],
      ];
      for (const [what, keys, why] of cases) {
        const copy = keys.map((k) => ({ ...k, key: new Uint8Array(k.key) }));
        expectError(() => checkUploadKeys(keys, NOW), InconsistentUploadError, why);
        expect(keys, what).to.deep.equal(copy);
      }
      // The window and repeats are still checked first, under their own name.
      expectError(
        () => checkUploadKeys([...onsetKeys(TODAY - 4).slice(0, 3), { ...keyOfDay(TODAY), reportType: "confirmed-test" }], NOW),
        KeyOutsideWindowError,
      );
    });

    it("refuses a key where a number is expected, and other shapes (MalformedExposureDocumentError)", () => {
      const k0 = uploadKeys(NOW, 1)[0] as PublishedKey;
      for (const bad of [
        { ...k0, rollingStartIntervalNumber: k0.key },
        { ...k0, rollingStartIntervalNumber: String(k0.rollingStartIntervalNumber) },
        { ...k0, key: k0.key.subarray(1) },
        { ...k0, reportType: "hearsay" },
        { ...k0, extra: 1 },
      ])
        expectError(() => checkUploadKeys([bad as unknown as PublishedKey], NOW), MalformedExposureDocumentError, /keys\[0\]/);
    });
  });

  describe("encodeUpload and decodeUpload", () => {
    it("round-trip any upload", async () => {
      await fc.assert(
        fc.asyncProperty(arbitraryUpload, async (u) => {
          const block = await encodeUpload(u);
          expect(block.bytes.length).to.be.at.most(MAX_UPLOAD_BYTES);
          expect(decodeUpload(block.bytes)).to.deep.equal(u);
        }),
        { numRuns: 100, seed: 20 },
      );
    });

    it("carries a real Semaphore proof over the upload's scope and message, which still verifies after decoding", async function () {
      this.timeout(120_000);
      const identity = new Identity("exposure upload identity");
      const group = new Group([new Identity("a").commitment, identity.commitment, new Identity("b").commitment]);
      const keys = uploadKeys();
      const period = uploadPeriod(NOW);
      const scope = uploadScope(31337, FEEDS, "1", period);
      const proof = await generateProof(identity, group, uploadMessage(keys), scope, PROOF_DEPTH, artifactPaths());
      const u: KeyUpload = { version: 1, chainId: 31337, feeds: FEEDS, feedId: "1", period, keys, proof: proof as SemaphoreProof };
      const block = await encodeUpload(u);
      const back = decodeUpload(block.bytes);
      expect(back).to.deep.equal(u);
      expect(await verifyProof(back.proof)).to.equal(true);
      checkUploadKeys(back.keys, NOW);
      expect(BigInt(back.proof.scope)).to.equal(scope);
      expect(BigInt(back.proof.message)).to.equal(uploadMessage(back.keys));
      // A replayed block is byte-identical: the same nullifier, which the key server has seen for this period.
      expect(decodeUpload((await encodeUpload(u)).bytes).proof.nullifier).to.equal(back.proof.nullifier);
      // Keys swapped under the proof: the message no longer matches them.
      const swapped = decodeUpload((await encodeUpload({ ...u, keys: uploadKeys(NOW, 13) })).bytes);
      expect(BigInt(swapped.proof.message)).to.not.equal(uploadMessage(swapped.keys));
    });

    it("refuses 15 keys (KeyOutsideWindowError), on encoding and on decoding", async () => {
      const fifteen = [...uploadKeys(), keyOfDay(TODAY - 15)];
      await rejects(encodeUpload(sampleUpload({ keys: fifteen })), KeyOutsideWindowError, /15 keys/);
      const w = await wire(sampleUpload());
      const bytes = (await encodeBlock({ ...w, keys: fifteen.map(publishedKeyToWire) })).bytes;
      expectError(() => decodeUpload(bytes), KeyOutsideWindowError, /15 keys/);
    });

    it("refuses a key where a number is expected, extra and missing fields, and other wrong types (MalformedExposureDocumentError)", async () => {
      const w = await wire(sampleUpload());
      const k0 = (w.keys as unknown[][])[0] as unknown[];
      const proof = w.proof as Record<string, unknown>;
      const points = proof.points as Uint8Array[];
      const big = (n: bigint) => {
        const out = new Uint8Array(32);
        for (let i = 31; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
        return out;
      };
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ ...w, keys: [[k0[0], k0[0], 144, 0, null]] }, /keys\[0\]\.rollingStartIntervalNumber/],
        [{ ...w, keys: [[k0[0], "2994048", 144, 0, null]] }, /keys\[0\]\.rollingStartIntervalNumber/],
        [{ ...w, keys: [[k0[0], k0[1], 144, 4, null]] }, /keys\[0\]\.reportType/],
        [{ ...w, keys: [[k0[0], k0[1], 144, 0]] }, /keys\[0\]/],
        [{ ...w, keys: [] }, /upload\.keys/],
        [{ ...w, period: "now" }, /upload\.period/],
        [{ ...w, chain: 0 }, /upload\.chain/],
        [{ ...w, feeds: FEEDS.toUpperCase().replace("0X", "0x") }, /upload\.feeds/],
        [{ ...w, feed: 1 }, /upload\.feed/],
        [{ ...w, v: 2 }, /upload\.v/],
        [{ ...w, sender: "0xabc" }, /"sender"/],
        [{ ...w, proof: { ...proof, identity: "alice" } }, /"identity"/],
        [{ ...w, proof: { ...proof, depth: 0 } }, /proof\.depth/],
        [{ ...w, proof: { ...proof, nullifier: big(SNARK_SCALAR_FIELD) } }, /proof\.nullifier/],
        [{ ...w, proof: { ...proof, root: big(SNARK_SCALAR_FIELD + 5n) } }, /proof\.root/],
        [{ ...w, proof: { ...proof, points: [...points.slice(0, 7), big(BN254_BASE_FIELD)] } }, /proof\.points\[7\]/],
        [{ ...w, proof: { ...proof, points: points.slice(0, 7) } }, /proof\.points/],
        [{ ...w, proof: { ...proof, message: new Uint8Array(31) } }, /proof\.message/],
        [{ ...w, proof: { ...proof, scope: "0x01" } }, /proof\.scope/],
      ];
      for (const [value, field] of bad) {
        const bytes = (await encodeBlock(value)).bytes;
        expectError(() => decodeUpload(bytes), MalformedExposureDocumentError, field);
      }
      const missing = { ...w };
      delete missing.proof;
      expectError(() => decodeUpload(dagCbor.encode(missing)), MalformedExposureDocumentError, /upload\.proof/);
      expectError(() => decodeUpload(new Uint8Array([0xa1, 0x61])), MalformedExposureDocumentError, /dag-cbor/);
      expectError(() => decodeUpload(dagCbor.encode([w])), MalformedExposureDocumentError, /upload/);
    });

    it("refuses non-canonical bytes and oversized blocks", async () => {
      const bytes = (await encodeUpload(sampleUpload())).bytes;
      // The same value with an integer in a longer encoding than it needs: CBOR reads it, dag-cbor does not write it.
      const period = uploadPeriod(NOW);
      const at = findSubarray(bytes, dagCbor.encode({ period }).subarray(1));
      expect(at).to.be.greaterThan(0);
      const shortInt = dagCbor.encode(period);
      const longInt = new Uint8Array([0x1a, 0, 0, period >> 8, period & 0xff]);
      const key = dagCbor.encode("period");
      const nonCanonical = new Uint8Array([
        ...bytes.subarray(0, at + key.length),
        ...longInt,
        ...bytes.subarray(at + key.length + shortInt.length),
      ]);
      expectError(() => decodeUpload(nonCanonical), MalformedExposureDocumentError, /dag-cbor/);
      expectError(() => decodeUpload(new Uint8Array(MAX_UPLOAD_BYTES + 1)), ExposureDocumentTooLargeError);
    });

    it("refuses, on encoding, what decoding would refuse", async () => {
      await rejects(encodeUpload({ ...sampleUpload(), feeds: "0xABC" }), MalformedExposureDocumentError, /upload\.feeds/);
      await rejects(encodeUpload({ ...sampleUpload(), extra: true } as KeyUpload), MalformedExposureDocumentError, /"extra"/);
      const u = sampleUpload();
      await rejects(
        encodeUpload({ ...u, proof: { ...u.proof, nullifier: SNARK_SCALAR_FIELD.toString() } }),
        MalformedExposureDocumentError,
        /nullifier/,
      );
      await rejects(
        encodeUpload({ ...u, proof: { ...u.proof, points: ["1"] as unknown as SemaphoreProof["points"] } }),
        MalformedExposureDocumentError,
        /points/,
      );
      await rejects(
        encodeUpload({ ...u, keys: [{ ...(u.keys[0] as PublishedKey), rollingStartIntervalNumber: "2994048" as unknown as number }] }),
        MalformedExposureDocumentError,
        /rollingStartIntervalNumber/,
      );
    });
  });
});

function findSubarray(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
