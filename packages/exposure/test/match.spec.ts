// Matching published keys against a device's scans: real identifiers from seed-derived keys, clock skew, windows,
// hostile scans and keys, and properties (order does not matter, keys match independently, both adapters agree).
import { expect } from "chai";
import fc from "fast-check";
import * as browserAes from "../src/aes.browser.js";
import * as nodeAes from "../src/aes.node.js";
import { advertisementAt, dailyKey, exposureRootFromSeed } from "../src/gaen.js";
import { MAX_WINDOW_S, matchKeys, matchKeysWith } from "../src/match.js";
import type { ExposureWindow, PublishedKey, ScanRecord } from "../src/types.js";

const DAY = 86_400;
const DAY0 = 20_300; // 2025-07-30
const T0 = DAY0 * DAY;
const rootOf = (n: number) => exposureRootFromSeed(new Uint8Array(32).fill(n));
const alice = rootOf(1);
const bob = rootOf(2);
const carol = rootOf(3); // never tests positive

function published(root: Uint8Array, day: number, extra: Partial<PublishedKey> = {}): PublishedKey {
  return { ...dailyKey(root, day), reportType: "confirmed-test", daysSinceOnsetOfSymptoms: 0, ...extra };
}

/** A sighting of `root`'s advertisement sent at `sentAt`, heard at `heardAt` (another clock), tx -8 dBm. */
function heard(root: Uint8Array, sentAt: number, rssi: number, heardAt = sentAt, seconds = 300): ScanRecord {
  return { ...advertisementAt(root, sentAt, -8), t: heardAt, rssi, seconds };
}

const copyScans = (scans: ScanRecord[]) => scans.map((s) => ({ ...s, rpi: s.rpi.slice(), aem: s.aem.slice() }));

describe("exposure match: published keys against a device's scans", () => {
  const scans: ScanRecord[] = [
    // Alice at lunch on day 0: five sightings 5 minutes apart, then again 40 minutes later.
    ...[0, 300, 600, 900, 1200].map((d) => heard(alice, T0 + 12 * 3600 + d, -60)),
    heard(alice, T0 + 12 * 3600 + 3600, -75),
    // Bob late on day 1, across midnight into day 2: two windows, one per day.
    heard(bob, T0 + 2 * DAY - 120, -50),
    heard(bob, T0 + 2 * DAY + 60, 10), // stronger than the tx power: attenuation clamps to 0
    // Carol, whose keys are never published.
    ...[0, 300].map((d) => heard(carol, T0 + 9 * 3600 + d, -55)),
  ];
  const keys = [published(alice, DAY0, { daysSinceOnsetOfSymptoms: 2 }), published(bob, DAY0 + 1), published(bob, DAY0 + 2)];

  it("finds each published person's sightings, with attenuation from the decrypted tx power, in windows of ≤ 30 min", () => {
    const windows = matchKeys(keys, scans);
    expect(windows.map((w) => [w.start - T0, w.day, w.scans.length])).to.deep.equal([
      [12 * 3600, DAY0, 5],
      [13 * 3600, DAY0, 1],
      [2 * DAY - 120, DAY0 + 1, 1],
      [2 * DAY + 60, DAY0 + 2, 1],
    ]);
    const [lunch] = windows as [ExposureWindow];
    expect(lunch.reportType).to.equal("confirmed-test");
    expect(lunch.daysSinceOnsetOfSymptoms).to.equal(2);
    expect(lunch.scans[0]).to.deep.equal({ t: T0 + 12 * 3600, attenuationDb: 52, seconds: 300 }); // -8 - (-60)
    expect(windows[3]?.scans[0]?.attenuationDb).to.equal(0);
    for (const w of windows) for (const s of w.scans) expect(s.t - w.start).to.be.below(MAX_WINDOW_S);
  });

  it("accepts one interval of clock skew either way, not two", () => {
    const sent = T0 + 8 * 3600 + 10;
    const skewed = [
      heard(alice, sent, -60, sent + 600),
      heard(alice, sent + 1200, -60, sent + 600),
      heard(alice, sent + 3000, -60, sent + 1800),
    ];
    const windows = matchKeys([published(alice, DAY0)], [skewed[0], skewed[1]] as ScanRecord[]);
    expect(windows.flatMap((w) => w.scans).length).to.equal(2);
    expect(matchKeys([published(alice, DAY0)], [skewed[2] as ScanRecord])).to.deep.equal([]); // two intervals late
  });

  it("expands only the keys that overlap [from, to]", () => {
    expect(matchKeys(keys, scans, { from: T0 + DAY, to: T0 + 3 * DAY }).map((w) => w.day)).to.deep.equal([DAY0 + 1, DAY0 + 2]);
    expect(matchKeys(keys, scans, { to: T0 + DAY - 1 }).map((w) => w.day)).to.deep.equal([DAY0, DAY0]);
  });

  it("counts a key published twice once, and gives nothing for no keys or no scans", () => {
    expect(matchKeys([...keys, ...keys], scans)).to.deep.equal(matchKeys(keys, scans));
    expect(matchKeys([], scans)).to.deep.equal([]);
    expect(matchKeys(keys, [])).to.deep.equal([]);
  });

  it("drops a sighting whose AEM was altered so its metadata version is no longer GAEN 1.x", () => {
    const altered = heard(alice, T0 + 12 * 3600, -60);
    altered.aem[0] = (altered.aem[0] as number) ^ 0x80;
    expect(matchKeys(keys, [altered])).to.deep.equal([]);
  });

  it("drops a sighting whose AEM was flipped to claim an implausible tx power (-128 dBm would make it 0 dB away)", () => {
    const far = heard(alice, T0 + 12 * 3600, -88);
    const flipped = { ...far, aem: far.aem.slice() };
    flipped.aem[1] = (flipped.aem[1] as number) ^ 0x78; // -8 dBm → -128 dBm
    expect(matchKeys(keys, [far]).flatMap((w) => w.scans.map((x) => x.attenuationDb))).to.deep.equal([80]);
    expect(matchKeys(keys, [flipped])).to.deep.equal([]);
  });

  it("a key re-published with a harmless report type or a day far from onset does not hide the real one", () => {
    const real = published(alice, DAY0, { daysSinceOnsetOfSymptoms: 0 });
    const copies = [
      { ...real, reportType: "recursive" as const, daysSinceOnsetOfSymptoms: -10 },
      { ...real, reportType: "confirmed-clinical" as const, daysSinceOnsetOfSymptoms: -10 },
      { ...real, reportType: "self-report" as const },
      { ...real, daysSinceOnsetOfSymptoms: null },
    ];
    const expected = matchKeys([real], scans);
    for (const copy of copies) {
      expect(matchKeys([copy, real], scans), copy.reportType).to.deep.equal(expected);
      expect(matchKeys([real, copy], scans), copy.reportType).to.deep.equal(expected);
    }
  });

  it("matches the same on node:crypto and @noble", () => {
    expect(matchKeysWith(browserAes, keys, scans)).to.deep.equal(matchKeysWith(nodeAes, keys, scans));
  });
});

describe("exposure match: hostile scans and keys", () => {
  const good = heard(alice, T0 + 3600, -60);
  const key = published(alice, DAY0);
  const scanCases: [string, Partial<Record<keyof ScanRecord, unknown>>, ErrorConstructor, RegExp][] = [
    ["a 15-byte rpi", { rpi: new Uint8Array(15) }, RangeError, /scans\[1\]\.rpi: expected 16 bytes, got 15 bytes/],
    ["an rpi as hex", { rpi: "00".repeat(16) }, TypeError, /scans\[1\]\.rpi: expected a Uint8Array/],
    ["a 5-byte aem", { aem: new Uint8Array(5) }, RangeError, /scans\[1\]\.aem/],
    ["a fractional t", { t: T0 + 0.5 }, RangeError, /scans\[1\]\.t: expected an integer/],
    ["a NaN t", { t: Number.NaN }, RangeError, /scans\[1\]\.t/],
    ["a string t", { t: String(T0) }, TypeError, /scans\[1\]\.t/],
    ["an rssi of 30", { rssi: 30 }, RangeError, /scans\[1\]\.rssi/],
    ["0 seconds", { seconds: 0 }, RangeError, /scans\[1\]\.seconds/],
  ];
  for (const [what, change, kind, message] of scanCases)
    it(`refuses a scan with ${what}, returning nothing and changing nothing`, () => {
      const scans = [good, { ...good, ...change } as ScanRecord];
      const before = copyScans(scans);
      expect(() => matchKeys([key], scans)).to.throw(kind, message);
      expect(scans).to.deep.equal(before);
    });

  const keyCases: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
    ["a rolling period of 0", { rollingPeriod: 0 }, RangeError, /keys\[1\]\.rollingPeriod/],
    ["a rolling period of 145", { rollingPeriod: 145 }, RangeError, /keys\[1\]\.rollingPeriod/],
    ["a rolling period as text", { rollingPeriod: "144" }, TypeError, /keys\[1\]\.rollingPeriod/],
    ["a 15-byte key", { key: new Uint8Array(15) }, RangeError, /keys\[1\]\.key/],
    ["a negative start", { rollingStartIntervalNumber: -144 }, RangeError, /keys\[1\]\.rollingStartIntervalNumber/],
    ["an unknown report type", { reportType: "revoked" }, RangeError, /keys\[1\]\.reportType/],
    ["15 days since onset", { daysSinceOnsetOfSymptoms: 15 }, RangeError, /keys\[1\]\.daysSinceOnsetOfSymptoms/],
  ];
  for (const [what, change, kind, message] of keyCases)
    it(`refuses a key with ${what} even after a matching key, returning nothing`, () => {
      const scans = [good];
      const before = copyScans(scans);
      expect(() => matchKeys([key, { ...key, ...change } as PublishedKey], scans)).to.throw(kind, message);
      expect(scans).to.deep.equal(before);
    });

  it("refuses keys and scans that are not collections", () => {
    expect(() => matchKeys(42 as never, [good])).to.throw(TypeError, /keys/);
    expect(() => matchKeys([key], "scans" as never)).to.throw(TypeError, /scans/);
    expect(() => matchKeys([key], [null as never])).to.throw(TypeError, /scans\[0\]/);
  });
});

describe("exposure match: properties", () => {
  const roots = [1, 2, 3, 4].map(rootOf);
  /** Sightings of person p at minute m of day d (0..2), from a seeded choice. */
  const sighting = fc.record({
    p: fc.integer({ min: 0, max: 3 }),
    d: fc.integer({ min: 0, max: 2 }),
    m: fc.integer({ min: 0, max: 1439 }),
    rssi: fc.integer({ min: -100, max: -30 }),
  });
  const scansOf = (xs: { p: number; d: number; m: number; rssi: number }[]) =>
    xs.map(({ p, d, m, rssi }) => heard(roots[p] as Uint8Array, T0 + d * DAY + m * 60, rssi));
  const keysOf = (people: number[]) => people.flatMap((p) => [0, 1, 2].map((d) => published(roots[p] as Uint8Array, DAY0 + d)));

  it("does not depend on the order of keys or scans", () => {
    fc.assert(
      fc.property(fc.array(sighting, { maxLength: 25 }), fc.subarray([0, 1, 2, 3]), fc.integer(), (xs, people, seed) => {
        const scans = scansOf(xs);
        const keys = keysOf(people);
        const shuffle = <T>(a: T[]) =>
          a
            .map((x, i) => [((i + 1) * (seed | 1) * 2654435761) >>> 0, x] as const)
            .sort((u, v) => u[0] - v[0])
            .map(([, x]) => x);
        expect(matchKeys(shuffle(keys), shuffle(scans))).to.deep.equal(matchKeys(keys, scans));
      }),
      { numRuns: 40, seed: 20 },
    );
  });

  it("matches each person's keys on their own: the windows of a union are the union of the windows", () => {
    fc.assert(
      fc.property(fc.array(sighting, { maxLength: 25 }), (xs) => {
        const scans = scansOf(xs);
        const all = matchKeys(keysOf([0, 1, 2, 3]), scans);
        const apart = [0, 1, 2, 3].flatMap((p) => matchKeys(keysOf([p]), scans));
        const key = (w: ExposureWindow) => JSON.stringify(w);
        expect(all.map(key).sort()).to.deep.equal(apart.map(key).sort());
        // Every sighting of a published person is matched exactly once.
        expect(all.reduce((n, w) => n + w.scans.length, 0)).to.equal(xs.length);
      }),
      { numRuns: 40, seed: 21 },
    );
  });
});
