// GAEN identifiers against the published v1.2 test vectors (every one of the 144 intervals), the two #aes adapters
// against each other, and Mosaic's seed-derived daily keys.
import { fromHex, toBareHex } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import * as browserAes from "../src/aes.browser.js";
import * as nodeAes from "../src/aes.node.js";
import { KeyExpiredError } from "../src/errors.js";
import {
  advertisementAt,
  checkKeyAge,
  dailyKey,
  decodeMetadata,
  decryptMetadata,
  deriveAemk,
  deriveEnKeyInto,
  deriveRpik,
  encodeMetadata,
  encryptMetadata,
  enIntervalNumber,
  expandKey,
  exposureRootFromSeed,
  keysToUpload,
  rollingProximityIdentifier,
} from "../src/gaen.js";
import vectors from "./vectors/gaen-v1.2.json" with { type: "json" };

const tek = fromHex(vectors.tek);

describe("exposure gaen: the Exposure Notification cryptography v1.2 test vectors", () => {
  it("has every interval of the key in the vector file", () => {
    expect(vectors.intervals).to.have.length(144);
    expect(vectors.rollingPeriod).to.equal(144);
    expect(enIntervalNumber(vectors.keyGenerationTime)).to.equal(vectors.enIntervalNumber);
  });

  it("derives the RPIK and the AEMK", () => {
    expect(toBareHex(deriveRpik(tek))).to.equal(vectors.rpik);
    expect(toBareHex(deriveAemk(tek))).to.equal(vectors.aemk);
  });

  it("reproduces the RPI and the AEM of each of the 144 intervals, one at a time and expanded at once", () => {
    const rpik = deriveRpik(tek);
    const aemk = deriveAemk(tek);
    const metadata = fromHex(vectors.metadata);
    const expanded = expandKey({ key: tek, rollingStartIntervalNumber: vectors.enIntervalNumber, rollingPeriod: 144 });
    expect(expanded).to.have.length(144 * 16);
    vectors.intervals.forEach((v, i) => {
      expect(v.enIntervalNumber).to.equal(vectors.enIntervalNumber + i);
      const rpi = rollingProximityIdentifier(rpik, v.enIntervalNumber);
      expect(toBareHex(rpi), `RPI ${i}`).to.equal(v.rpi);
      expect(toBareHex(expanded.subarray(i * 16, i * 16 + 16)), `expanded RPI ${i}`).to.equal(v.rpi);
      expect(toBareHex(encryptMetadata(aemk, rpi, metadata)), `AEM ${i}`).to.equal(v.aem);
      expect(toBareHex(decryptMetadata(aemk, rpi, fromHex(v.aem))), `metadata ${i}`).to.equal(vectors.metadata);
    });
  });

  it("reads the vectors' metadata as version 0x40 at 8 dBm, and encodes it back", () => {
    expect(decodeMetadata(fromHex(vectors.metadata))).to.deep.equal({ version: 0x40, txPowerDbm: 8 });
    expect(toBareHex(encodeMetadata({ txPowerDbm: 8 }))).to.equal(vectors.metadata);
    expect(decodeMetadata(encodeMetadata({ txPowerDbm: -30 })).txPowerDbm).to.equal(-30);
  });

  it("expands a key of a shorter rolling period to that many RPIs, the same as the daily key's first ones", () => {
    const short = expandKey({ key: tek, rollingStartIntervalNumber: vectors.enIntervalNumber, rollingPeriod: 3 });
    expect(short).to.have.length(48);
    expect(toBareHex(short.subarray(32, 48))).to.equal(vectors.intervals[2]?.rpi);
  });

  it("refuses malformed keys and values with errors naming the field", () => {
    const good = { key: tek, rollingStartIntervalNumber: vectors.enIntervalNumber, rollingPeriod: 144 };
    const cases: [() => unknown, ErrorConstructor, RegExp][] = [
      [() => deriveRpik(tek.subarray(1)), RangeError, /tek: expected 16 bytes, got 15/],
      [() => deriveRpik("75c7" as never), TypeError, /tek/],
      [() => expandKey({ ...good, rollingPeriod: 145 }), RangeError, /key\.rollingPeriod/],
      [() => expandKey({ ...good, rollingPeriod: 0 }), RangeError, /key\.rollingPeriod/],
      [() => expandKey({ ...good, rollingPeriod: 1.5 }), RangeError, /key\.rollingPeriod/],
      [() => expandKey({ ...good, rollingPeriod: "144" as never }), TypeError, /key\.rollingPeriod/],
      [() => expandKey({ ...good, rollingStartIntervalNumber: -1 }), RangeError, /rollingStartIntervalNumber/],
      [() => expandKey({ ...good, key: new Uint8Array(32) }), RangeError, /key\.key/],
      [() => rollingProximityIdentifier(deriveRpik(tek), 2 ** 32), RangeError, /enin/],
      [() => encodeMetadata({ txPowerDbm: 128 }), RangeError, /txPowerDbm/],
      [() => encodeMetadata({ txPowerDbm: Number.NaN }), RangeError, /txPowerDbm/],
      [() => decryptMetadata(deriveAemk(tek), new Uint8Array(16), new Uint8Array(5)), RangeError, /aem/],
      [() => enIntervalNumber(Number.NaN), RangeError, /unixSeconds/],
      [() => enIntervalNumber(-1), RangeError, /unixSeconds/],
    ];
    for (const [call, kind, message] of cases) expect(call).to.throw(kind, message);
  });
});

describe("exposure gaen: the two #aes adapters agree", () => {
  it("ECB blocks, CTR and HKDF give the same bytes on node:crypto and @noble", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 20 }),
        fc.uint8Array({ maxLength: 70 }),
        (key, iv, blocks, data) => {
          const plain = new Uint8Array(blocks * 16).map((_, i) => (i * 7 + key[0]!) & 0xff);
          expect(toBareHex(browserAes.aes128EcbBlocks(key, plain))).to.equal(toBareHex(nodeAes.aes128EcbBlocks(key, plain)));
          expect(toBareHex(browserAes.aes128Ctr(key, iv, data))).to.equal(toBareHex(nodeAes.aes128Ctr(key, iv, data)));
          expect(toBareHex(browserAes.hkdfSha256(key, data, 16))).to.equal(toBareHex(nodeAes.hkdfSha256(key, data, 16)));
        },
      ),
      { numRuns: 100, seed: 20 },
    );
  });

  it("the allocation-free HKDF of matching gives node:crypto's HKDF for any TEK and info", () => {
    const out = new Uint8Array(16);
    expect(toBareHex(deriveEnKeyInto(tek, new TextEncoder().encode("EN-RPIK"), out))).to.equal(vectors.rpik);
    expect(toBareHex(deriveEnKeyInto(tek, new TextEncoder().encode("EN-AEMK"), out))).to.equal(vectors.aemk);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 50 }), (key, info) => {
        expect(toBareHex(deriveEnKeyInto(key, info, out))).to.equal(toBareHex(nodeAes.hkdfSha256(key, info, 16)));
      }),
      { numRuns: 200, seed: 22 },
    );
  });

  it("the browser adapter reproduces the vectors too", () => {
    const rpik = browserAes.hkdfSha256(tek, new TextEncoder().encode("EN-RPIK"), 16);
    expect(toBareHex(rpik)).to.equal(vectors.rpik);
    const padded = new Uint8Array(16);
    padded.set(new TextEncoder().encode("EN-RPI"));
    new DataView(padded.buffer).setUint32(12, vectors.enIntervalNumber + 143, true);
    expect(toBareHex(browserAes.aes128EcbBlocks(rpik, padded))).to.equal(vectors.intervals[143]?.rpi);
  });
});

describe("exposure gaen: daily keys from the vault seed", () => {
  const seed = new Uint8Array(32).map((_, i) => i);
  const root = exposureRootFromSeed(seed);
  const now = 1_760_000_000; // 2025-10-09
  const today = Math.floor(now / 86_400);

  it("derives the same root and keys from the same seed, and different ones from another", () => {
    expect(exposureRootFromSeed(seed)).to.deep.equal(root);
    expect(root).to.have.length(32);
    const other = exposureRootFromSeed(seed.map((b) => b ^ 1));
    expect(dailyKey(other, today).key).to.not.deep.equal(dailyKey(root, today).key);
    expect(dailyKey(root, today).key).to.not.deep.equal(dailyKey(root, today - 1).key);
    expect(dailyKey(root, today)).to.deep.include({ rollingStartIntervalNumber: today * 144, rollingPeriod: 144 });
  });

  it("advertises the day key's RPI for the interval, with metadata that decrypts to the tx power", () => {
    for (const t of [today * 86_400, now, today * 86_400 + 86_399]) {
      const ad = advertisementAt(root, t, -12);
      const key = dailyKey(root, today);
      const enin = enIntervalNumber(t);
      const expanded = expandKey(key);
      const j = enin - key.rollingStartIntervalNumber;
      expect(ad.rpi).to.deep.equal(expanded.subarray(j * 16, j * 16 + 16));
      expect(decodeMetadata(decryptMetadata(deriveAemk(key.key), ad.rpi, ad.aem))).to.deep.equal({ version: 0x40, txPowerDbm: -12 });
    }
  });

  it("uploads the 14 days before today, oldest first, never today's key", () => {
    const keys = keysToUpload(root, now);
    expect(keys.map((k) => k.rollingStartIntervalNumber / 144)).to.deep.equal(Array.from({ length: 14 }, (_, i) => today - 14 + i));
    expect(keysToUpload(root, now, 3)).to.deep.equal(keys.slice(11));
    expect(() => keysToUpload(root, now, 15)).to.throw(RangeError, /days/);
  });

  it("refuses a key older than 14 days with KeyExpiredError", () => {
    expect(() => checkKeyAge(today - 14, now)).to.not.throw();
    expect(() => checkKeyAge(today, now)).to.not.throw();
    expect(() => checkKeyAge(today - 15, now)).to.throw(KeyExpiredError, /15 days old/);
  });

  it("refuses a short seed and a root of the wrong length", () => {
    expect(() => exposureRootFromSeed(new Uint8Array(8))).to.throw(RangeError, /rootSeed/);
    expect(() => dailyKey(root.subarray(0, 16), today)).to.throw(RangeError, /root: expected 32 bytes/);
    expect(() => dailyKey(root, -1)).to.throw(RangeError, /unixDay/);
  });
});
