// The town simulator: reproducible, plausible in its counts, its ground truth consistent with the true distances,
// and every scan an advertisement the sender's real daily key produced.
import { expect } from "chai";
import {
  advertisementAt,
  dailyKey,
  decodeMetadata,
  decryptMetadata,
  deriveAemk,
  expandKey,
  exposureRootFromSeed,
  keysToUpload,
  matchKeys,
  type PublishedKey,
  SIM_STEP_S,
  type ScanRecord,
  type SimTown,
  simulatedAdvertisement,
  simulatedRadio,
  simulatedScans,
  simulateTown,
  trueDistance,
} from "../src/index.js";

const DAY_S = 86_400;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** The location-history ability's categories (vault's PLACE_CATEGORIES; the vault depends on this package, not back). */
const PLACE_CATEGORIES = ["home", "work", "shopping", "transit", "park", "health", "education", "leisure", "other"];

function scanKey(s: ScanRecord): string {
  return `${s.t}|${hex(s.rpi)}|${hex(s.aem)}|${s.rssi}|${s.seconds}`;
}

describe("exposure simulate", function () {
  this.timeout(120_000);
  let big: SimTown;
  let bigMs: number;
  before(() => {
    const t0 = performance.now();
    big = simulateTown({ people: 500, days: 14, seed: 7 });
    bigMs = performance.now() - t0;
  });

  it("builds 500 people × 14 days in a few seconds", () => {
    expect(bigMs, `took ${bigMs.toFixed(0)} ms`).to.be.below(10_000);
    expect(big.people).to.have.length(500);
    expect(big.days).to.equal(14);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const a = simulateTown({ people: 80, days: 4, seed: 42 });
    const b = simulateTown({ people: 80, days: 4, seed: 42 });
    const c = simulateTown({ people: 80, days: 4, seed: 43 });
    expect(a.visits).to.deep.equal(b.visits);
    expect(a.places).to.deep.equal(b.places);
    expect(a.closeContacts).to.deep.equal(b.closeContacts);
    expect([...a.trulyExposed]).to.deep.equal([...b.trulyExposed]);
    for (const i of [0, 17, 79]) {
      const pa = a.people[i]!;
      const pb = b.people[i]!;
      expect(hex(pa.seed)).to.equal(hex(pb.seed));
      expect(pa.positive).to.deep.equal(pb.positive);
      expect(pa.points).to.deep.equal(pb.points);
      expect(pa.scans.map(scanKey)).to.deep.equal(pb.scans.map(scanKey));
      // Generation order does not matter: a fresh copy equals the kept one.
      expect(simulatedScans(a, i).map(scanKey)).to.deep.equal(pa.scans.map(scanKey));
    }
    expect(a.visits).to.not.deep.equal(c.visits);
    expect(hex(a.people[0]!.seed)).to.not.equal(hex(c.people[0]!.seed));
    // Byte seeds work too, and are not the number's.
    const d = simulateTown({ people: 10, days: 1, seed: Uint8Array.of(42) });
    expect(hex(d.people[0]!.seed)).to.not.equal(hex(a.people[0]!.seed));
  });

  it("has households, places and days that look like a town", () => {
    const byHousehold = new Map<number, number>();
    for (const p of big.people) byHousehold.set(p.household, (byHousehold.get(p.household) ?? 0) + 1);
    const sizes = [...byHousehold.values()];
    expect(Math.max(...sizes)).to.be.at.most(5);
    const mean = sizes.reduce((x, y) => x + y, 0) / sizes.length;
    expect(mean).to.be.within(1.8, 3.2);
    expect(big.people.filter((p) => p.occupation === "pupil").every((p) => p.age >= 3 && p.age <= 17)).to.equal(true);
    expect(big.people.filter((p) => p.occupation === "worker").length).to.be.above(150);
    for (const place of big.places) {
      expect(PLACE_CATEGORIES).to.include(place.category);
      expect(place.radiusM).to.be.within(10, 5000);
    }
    for (const kind of ["home", "work", "school", "shop", "cafe", "gym", "park", "transit", "health"]) {
      expect(
        big.places.some((p) => p.kind === kind),
        kind,
      ).to.equal(true);
    }
    // Everyone starts the simulation at home, in their household's home.
    const homeOf = new Map<number, number>();
    for (const v of big.visits) if (v.from === big.start && big.places[v.place]!.kind === "home") homeOf.set(v.person, v.place);
    expect(homeOf.size).to.equal(500);
    for (const p of big.people)
      expect(homeOf.get(p.index)).to.equal(homeOf.get(big.people.find((q) => q.household === p.household)!.index));
    // Weekdays take people to work and school; weekends mostly do not (2 March 2026 is a Monday).
    const atWork = (day: number) =>
      new Set(
        big.visits
          .filter((v) => {
            const noon = big.start + day * DAY_S + 11 * 3600;
            const kind = big.places[v.place]!.kind;
            return (kind === "work" || kind === "school") && v.from <= noon && v.to > noon;
          })
          .map((v) => v.person),
      ).size;
    expect(atWork(1)).to.be.above(200);
    expect(atWork(5)).to.be.below(20);
    // Positives: 2% by default, onset and test within the simulation, the test after the onset.
    const positives = big.people.filter((p) => p.positive !== null);
    expect(positives).to.have.length(10);
    const firstDay = big.start / DAY_S;
    for (const p of positives) {
      expect(p.positive!.onsetDay).to.be.within(firstDay, firstDay + 13);
      expect(p.positive!.testDay).to.be.within(p.positive!.onsetDay + 1, firstDay + 13);
    }
  });

  it("gives points a vault's location-history ability takes, at the places visited", () => {
    for (const i of [0, 123, 499]) {
      const person = big.people[i]!;
      const points = person.points;
      expect(points.length).to.be.above(14 * 40);
      let last = -1;
      for (const p of points) {
        expect(Number.isSafeInteger(p.t) && p.t >= big.start && p.t < big.start + 14 * DAY_S).to.equal(true);
        expect(Math.abs(p.lat)).to.be.at.most(90);
        expect(Math.abs(p.lon)).to.be.at.most(180);
        expect(p.t).to.be.above(last);
        last = p.t;
      }
      // A fix during a visit lies within the place's radius.
      for (const v of big.visits.filter((x) => x.person === i)) {
        const place = big.places[v.place]!;
        for (const p of points.filter((q) => q.t >= v.from && q.t < v.to)) {
          const dy = (p.lat - place.lat) * 111_320;
          const dx = (p.lon - place.lon) * 111_320 * Math.cos((place.lat * Math.PI) / 180);
          expect(Math.hypot(dx, dy)).to.be.below(place.radiusM);
        }
      }
    }
  });

  it("records close contacts that the true distances bear out", () => {
    expect(big.closeContacts.length).to.be.above(10);
    expect(big.trulyExposed.size).to.be.within(10, 250);
    const positive = (i: number) => big.people[i]!.positive;
    for (const c of big.closeContacts) {
      const ill = positive(c.infectious)!;
      expect(ill, `contact of ${c.infectious}`).to.not.equal(null);
      expect(c.day).to.be.within(ill.onsetDay - 2, ill.onsetDay + 10);
      expect(c.seconds).to.be.at.least(15 * 60);
      expect(c.seconds % SIM_STEP_S).to.equal(0);
      expect(c.person).to.not.equal(c.infectious);
      expect(big.trulyExposed.has(c.person)).to.equal(positive(c.person) === null);
    }
    for (const i of big.trulyExposed) expect(big.closeContacts.some((c) => c.person === i)).to.equal(true);
    // Recount a few contacts from the true distances, step by step over their day.
    for (const c of big.closeContacts.filter((_, k) => k % 25 === 0)) {
      let seconds = 0;
      for (let t = c.day * DAY_S; t < (c.day + 1) * DAY_S; t += SIM_STEP_S) {
        const d = trueDistance(big, c.person, c.infectious, t);
        if (d !== null && d <= 2) seconds += SIM_STEP_S;
      }
      expect(seconds, `${c.person} near ${c.infectious} on ${c.day}`).to.equal(c.seconds);
    }
    // Households are where most close contacts happen: someone sharing a positive's home is among them.
    const sameHousehold = big.closeContacts.filter((c) => big.people[c.person]!.household === big.people[c.infectious]!.household);
    expect(sameHousehold.length).to.be.above(0);
    // And someone who never met a positive is not truly exposed.
    expect(big.closeContacts.every((c) => trueDistanceSomeday(big, c.person, c.infectious, c.day))).to.equal(true);
  });

  it("makes scans every 4–5 minutes from the senders' real advertisements, heard within 10 m", () => {
    const town = simulateTown({ people: 60, days: 3, seed: 11 });
    // Every RPI every person sends over the three days, from their daily keys.
    const sender = new Map<string, { person: number; interval: number }>();
    const firstDay = town.start / DAY_S;
    for (const person of town.people) {
      const root = exposureRootFromSeed(person.seed);
      for (let day = firstDay; day < firstDay + 3; day++) {
        const tek = dailyKey(root, day);
        const rpis = expandKey(tek);
        for (let j = 0; j < 144; j++) {
          sender.set(hex(rpis.subarray(j * 16, j * 16 + 16)), { person: person.index, interval: tek.rollingStartIntervalNumber + j });
        }
      }
    }
    let checked = 0;
    for (const listener of [0, 7, 30, 59]) {
      const scans = town.people[listener]!.scans;
      let last = 0;
      for (const [k, s] of scans.entries()) {
        const from = sender.get(hex(s.rpi));
        expect(from, `scan ${k} of ${listener}: an RPI nobody sent`).to.not.equal(undefined);
        expect(from!.person).to.not.equal(listener);
        expect(from!.interval).to.equal(Math.floor(s.t / 600));
        const senderPerson = town.people[from!.person]!;
        if (k % 7 === 0) {
          const root = exposureRootFromSeed(senderPerson.seed);
          const tek = dailyKey(root, Math.floor(s.t / DAY_S));
          const metadata = decodeMetadata(decryptMetadata(deriveAemk(tek.key), s.rpi, s.aem));
          expect(metadata).to.deep.equal({ version: 0x40, txPowerDbm: senderPerson.phone.txPowerDbm });
          const ad = advertisementAt(root, s.t, senderPerson.phone.txPowerDbm);
          expect(hex(ad.rpi)).to.equal(hex(s.rpi));
          expect(hex(ad.aem)).to.equal(hex(s.aem));
          const d = trueDistance(town, listener, from!.person, s.t);
          expect(d, `distance at scan ${k}`).to.not.equal(null);
          expect(d!).to.be.at.most(10);
          checked++;
        }
        expect(Number.isInteger(s.rssi) && s.rssi >= -127 && s.rssi <= 20).to.equal(true);
        expect(s.seconds).to.be.within(240, 300);
        expect(s.t).to.be.at.least(last);
        last = s.t;
      }
    }
    expect(checked).to.be.above(100);
    // simulatedAdvertisement is advertisementAt of the person's root.
    const p = town.people[5]!;
    const ad = simulatedAdvertisement(town, 5, town.start + 12_345);
    expect(hex(ad.rpi)).to.equal(hex(advertisementAt(exposureRootFromSeed(p.seed), town.start + 12_345, p.phone.txPowerDbm).rpi));
  });

  it("hears near phones louder than far ones (attenuation about 50 dB at 1 m, 2.7 per decade)", () => {
    const town = simulateTown({ people: 150, days: 3, seed: 5 });
    const rpiOwner = new Map<string, number>();
    for (const person of town.people) {
      const root = exposureRootFromSeed(person.seed);
      for (let day = town.start / DAY_S; day < town.start / DAY_S + 3; day++) {
        const rpis = expandKey(dailyKey(root, day));
        for (let j = 0; j < 144; j++) rpiOwner.set(hex(rpis.subarray(j * 16, j * 16 + 16)), person.index);
      }
    }
    const near: number[] = [];
    const far: number[] = [];
    for (let listener = 0; listener < 150; listener += 5) {
      for (const s of town.people[listener]!.scans.filter((_, k) => k % 5 === 0)) {
        const from = rpiOwner.get(hex(s.rpi))!;
        const d = trueDistance(town, listener, from, s.t)!;
        const attenuation = town.people[from]!.phone.txPowerDbm - s.rssi;
        if (d <= 1.5) near.push(attenuation);
        else if (d >= 6) far.push(attenuation);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(near.length).to.be.above(50);
    expect(far.length).to.be.above(50);
    expect(median(near)).to.be.within(45, 62);
    expect(median(far) - median(near)).to.be.above(10);
  });

  it("gives the same scans of chosen senders, and the same matches, as the full list", () => {
    const town = simulateTown({ people: 120, days: 5, seed: 3, positives: 6 });
    const positives = town.people.filter((p) => p.positive !== null).map((p) => p.index);
    const end = town.start + town.days * DAY_S;
    const keys: PublishedKey[] = positives.flatMap((i) =>
      keysToUpload(exposureRootFromSeed(town.people[i]!.seed), end).map((k) => ({
        ...k,
        reportType: "confirmed-test" as const,
        daysSinceOnsetOfSymptoms: k.rollingStartIntervalNumber / 144 - town.people[i]!.positive!.onsetDay,
      })),
    );
    let matched = 0;
    for (const listener of [...town.trulyExposed].slice(0, 8)) {
      const all = town.people[listener]!.scans;
      const some = simulatedScans(town, listener, { senders: positives });
      const allKeys = new Set(all.map(scanKey));
      expect(some.length).to.be.below(all.length);
      for (const s of some) expect(allKeys.has(scanKey(s))).to.equal(true);
      const full = matchKeys(keys, all);
      expect(matchKeys(keys, some)).to.deep.equal(full);
      matched += full.length;
    }
    expect(matched, "exposure windows of the truly exposed").to.be.above(0);
  });

  it("replays a person's scans through a radio adapter", async () => {
    const town = simulateTown({ people: 30, days: 2, seed: 9 });
    const radio = simulatedRadio(town, 4);
    const heard: ScanRecord[] = [];
    const stop = radio.onScan((s) => heard.push(s));
    const midday = town.start + DAY_S / 2;
    expect(await radio.replay({ to: midday })).to.equal(heard.length);
    expect(heard.every((s) => s.t < midday)).to.equal(true);
    const morning = heard.length;
    expect(morning).to.be.above(0);
    expect(await radio.replay({ from: midday })).to.equal(town.people[4]!.scans.length - morning);
    expect(heard.map(scanKey)).to.deep.equal(town.people[4]!.scans.map(scanKey));
    stop();
    await radio.replay();
    expect(heard).to.have.length(town.people[4]!.scans.length);
    const ad = advertisementAt(exposureRootFromSeed(town.people[4]!.seed), midday, -12);
    await radio.advertise(ad);
    expect(radio.advertised.map((a) => hex(a.rpi))).to.deep.equal([hex(ad.rpi)]);
  });

  it("refuses bad init with a RangeError naming the field", () => {
    const good = { people: 10, days: 2, seed: 1 };
    const cases: [Record<string, unknown>, string][] = [
      [{ people: 0 }, "people"],
      [{ people: 2.5 }, "people"],
      [{ people: 100_001 }, "people"],
      [{ days: 0 }, "days"],
      [{ days: 61 }, "days"],
      [{ days: Number.NaN }, "days"],
      [{ positives: 11 }, "positives"],
      [{ positives: -1 }, "positives"],
      [{ start: 1_772_409_601 }, "start"],
      [{ start: -86_400 }, "start"],
      [{ seed: -1 }, "seed"],
      [{ seed: 1.5 }, "seed"],
      [{ seed: new Uint8Array(0) }, "seed"],
      [{ seed: new Uint8Array(65) }, "seed"],
    ];
    for (const [change, field] of cases) {
      const init = { ...good, ...change };
      expect(() => simulateTown(init as never), JSON.stringify(change))
        .to.throw(RangeError)
        .with.property("message")
        .that.matches(new RegExp(`^${field}: `));
    }
    expect(() => simulateTown({ ...good, seed: "x" } as never)).to.throw(TypeError, /^seed: /);
    // Asking about a person the town does not have.
    const town = simulateTown(good);
    expect(() => simulatedScans(town, 10)).to.throw(RangeError, /^listener: /);
    expect(() => simulatedRadio(town, -1)).to.throw(RangeError, /^person: /);
    expect(() => trueDistance(town, 0, 99, town.start)).to.throw(RangeError, /^b: /);
    expect(() => simulatedScans({ ...town }, 0)).to.throw(TypeError, /^town: /);
    // The town asked about is untouched by the refusals.
    expect(simulateTown(good).visits).to.deep.equal(town.visits);
  });
});

/** Whether a and b were ever within 2 m on that day. */
function trueDistanceSomeday(town: SimTown, a: number, b: number, day: number): boolean {
  for (let t = day * DAY_S; t < (day + 1) * DAY_S; t += SIM_STEP_S) {
    const d = trueDistance(town, a, b, t);
    if (d !== null && d <= 2) return true;
  }
  return false;
}
