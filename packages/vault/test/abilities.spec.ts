// Data abilities: manifests checked, access confined to what they grant, events delivered to those that declare them, and the built-ins' behaviour.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { logNight, sleepAndFeeling, sleepDiary } from "../../../examples/abilities/sleep-diary/index.js";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  AbilityAccessError,
  type AbilityDefinition,
  AbilityManifestError,
  type AlertDecision,
  addPlace,
  checkIn,
  dailyDistance,
  defineAbility,
  MalformedScanError,
  placeVisits,
  recordScans,
  type ScanDoc,
  UnknownAbilityError,
  Vault,
} from "../src/index.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const SEED = new Uint8Array(32).fill(7);
const DAY = 86_400;
const noSymptoms = {
  fever: false,
  cough: false,
  shortnessOfBreath: false,
  soreThroat: false,
  lossOfTasteOrSmell: false,
  fatigue: false,
  headache: false,
};

describe("vault abilities", () => {
  let now = Date.UTC(2026, 10, 21, 12);
  const clock = () => now;
  beforeEach(() => {
    now = Date.UTC(2026, 10, 21, 12);
  });

  describe("manifests", () => {
    const good = sleepDiary.manifest;
    const cases: [string, unknown, RegExp][] = [
      ["no object", null, /expected an object/],
      ["reserved name", { ...good, name: "vault" }, /name/],
      ["bad name", { ...good, name: "Sleep Diary" }, /name/],
      ["bad version", { ...good, version: "one" }, /version/],
      ["no description", { ...good, description: "" }, /description/],
      ["owns not a map", { ...good, owns: ["nights"] }, /owns/],
      ["bad field name", { ...good, owns: { nights: { description: "x", fields: ["a b"] } } }, /fields/],
      ["index not a field", { ...good, owns: { nights: { description: "x", fields: ["a"], indexes: ["b"] } } }, /indexes/],
      ["reads the vault's own collections", { ...good, reads: ["vault/consents"] }, /never granted/],
      ["malformed read", { ...good, reads: ["location-history"] }, /ability\/collection/],
      ["unknown event", { ...good, handles: ["network:open"] }, /handles/],
      [
        "too many collections",
        { ...good, owns: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`c${i}`, { description: "", fields: [] }])) },
        /at most 32/,
      ],
    ];
    for (const [what, manifest, re] of cases) {
      it(`refuses a manifest with ${what}`, () => {
        expect(() => defineAbility({ ...sleepDiary, manifest } as AbilityDefinition)).to.throw(AbilityManifestError, re);
      });
    }

    it("refuses handlers that do not match the declared events, duplicate names, and reads of collections nobody owns", async () => {
      expect(() => defineAbility({ manifest: { ...good, handles: [] }, on: sleepDiary.on })).to.throw(
        AbilityManifestError,
        /does not declare/,
      );
      expect(() => defineAbility({ manifest: good, on: {} })).to.throw(AbilityManifestError, /not a function/);
      const stores = memoryStores();
      const before = await captureState(stores);
      await expectRejects(Vault.open(stores, { rootSeed: SEED, abilities: [sleepDiary, sleepDiary] }), AbilityManifestError, /same name/);
      const dangling = { ...sleepDiary, manifest: { ...good, reads: ["bank/statements"] } };
      await expectRejects(Vault.open(stores, { rootSeed: SEED, abilities: [dangling] }), AbilityManifestError, /no loaded ability owns/);
      expect(await captureState(stores)).to.deep.equal(before);
    });
  });

  describe("a third-party ability (examples/abilities/sleep-diary)", () => {
    it("writes its own collection, reads what its manifest grants, and nothing else", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock, abilities: [sleepDiary] });
      expect(vault.abilities().map((a) => a.name)).to.deep.equal([
        "location-history",
        "health-questionnaire",
        "proximity",
        "alert-filter",
        "sleep-diary",
      ]);
      await vault.addLocations([{ t: 1_700_000_000, lat: 48.1, lon: 11.5 }]);
      await checkIn(vault.ability("health-questionnaire"), { feeling: 4, symptoms: noSymptoms }, "2026-11-21");
      const ctx = vault.ability("sleep-diary");
      await logNight(ctx, "2026-11-20", 7.5, 4);
      expect(sleepAndFeeling(ctx)).to.deep.equal([{ night: "2026-11-20", hours: 7.5, feelingNextDay: 4 }]);

      for (const name of [
        "location-history/points",
        "location-history/places",
        "proximity/scans",
        "proximity/notifications",
        "vault/consents",
        "vault/audit",
        "vault/privacy-ledger",
      ]) {
        const err = (() => {
          try {
            ctx.read(name);
          } catch (e) {
            return e;
          }
        })();
        expect(err, name).to.be.instanceOf(AbilityAccessError).with.property("access", "read");
      }
      expect(() => ctx.collection("health-questionnaire/checkins")).to.throw(
        AbilityAccessError,
        /may not write health-questionnaire\/checkins/,
      );
      expect(() => ctx.collection("points")).to.throw(AbilityAccessError, /sleep-diary\/points/);
      // The read-only view has no way to write.
      expect(Object.keys(ctx.read("health-questionnaire/checkins"))).to.not.include.members([
        "create",
        "update",
        "delete",
        "thread",
        "state",
      ]);
      await expectRejects(logNight(ctx, "2026-11-21", 25, 3), RangeError, /nights\.hours/);
      expect(() => vault.ability("calendar")).to.throw(UnknownAbilityError);
    });

    it("receives only the events it declares", async () => {
      const seen: string[] = [];
      const spy = defineAbility({
        manifest: { name: "spy", version: "1.0.0", description: "records events", owns: {}, handles: ["alert:received"] },
        on: { "alert:received": (_ctx, payload) => seen.push(`alert ${(payload as { seq: number }).seq}`) },
      });
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock, abilities: [sleepDiary, spy] });
      const timer = await vault.dispatch("timer");
      expect(Object.keys(timer).sort()).to.deep.equal(["health-questionnaire", "proximity", "sleep-diary"]);
      expect(seen).to.deep.equal([]);
      const cap = {
        identifier: "a1",
        sender: "x",
        sent: "2026-11-21T12:00:00+00:00",
        status: "Actual",
        msgType: "Alert",
        scope: "Public",
        code: [],
        info: [],
      };
      const feed = { chainId: 31337, contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", feedId: 1 };
      await vault.dispatch("alert:received", { feed, seq: 1, cid: "bafyreigdyrztktx5b5m2y4sxcd6mzcbvedhkpzq5fbgsjsqkjadimmlgx4", cap });
      expect(seen).to.deep.equal(["alert 1"]);
    });
  });

  describe("built-in abilities", () => {
    it("location history: imports a file once, and derives daily distance and visits to place categories", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock });
      const file = await readFile(path.join(fixtures, "track.gpx"));
      const first = await vault.importLocations(file, { fileName: "track.gpx" });
      expect(first).to.include({ format: "gpx", duplicate: false });
      expect(first.points).to.be.greaterThan(0);
      const again = await vault.importLocations(file, { fileName: "track.gpx" });
      expect(again).to.include({ duplicate: true, points: 0 });
      expect(vault.locations()).to.have.length(first.points);

      // A day at home, a walk to a park, an hour there, and back: fixes every 5 minutes.
      const day = Date.UTC(2026, 10, 2) / 1000;
      const home = { lat: 52.52, lon: 13.405 };
      const park = { lat: 52.5145, lon: 13.35 };
      const fixes = [];
      for (let m = 0; m < 60; m += 5) fixes.push({ t: day + 8 * 3600 + m * 60, ...home });
      for (let m = 0; m < 60; m += 5) fixes.push({ t: day + 10 * 3600 + m * 60, ...park });
      for (let m = 0; m < 20; m += 5) fixes.push({ t: day + 12 * 3600 + m * 60, ...home });
      await vault.addLocations(fixes);
      const ctx = vault.ability("location-history");
      await addPlace(ctx, { name: "home", category: "home", ...home, radiusM: 100 });
      await addPlace(ctx, { name: "Tiergarten", category: "park", ...park, radiusM: 300 });
      await expectRejects(
        addPlace(ctx, { name: "x", category: "casino" as "other", ...home, radiusM: 100 }),
        TypeError,
        /places\.category/,
      );
      const distance = dailyDistance(ctx, { from: day, to: day + DAY });
      expect(distance).to.have.length(1);
      expect(distance[0]?.km).to.be.within(7, 8); // 3.75 km each way
      expect(placeVisits(ctx, { from: day, to: day + DAY })).to.deep.equal([
        { day: "2026-11-02", category: "home", visits: 2 },
        { day: "2026-11-02", category: "park", visits: 1 },
      ]);
    });

    it("health questionnaire: one check-in per day in the documented schema, and a reminder when today's is missing", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock });
      const ctx = vault.ability("health-questionnaire");
      expect((await vault.dispatch("timer"))["health-questionnaire"]).to.deep.equal({ checkInDue: true, day: "2026-11-21" });
      await checkIn(ctx, { feeling: 3, symptoms: { ...noSymptoms, cough: true }, temperatureC: 37.9, region: "DE-BY" });
      await checkIn(ctx, { feeling: 2, symptoms: { ...noSymptoms, cough: true, fever: true }, test: "positive" });
      expect(ctx.read("checkins").size).to.equal(1);
      expect((await vault.dispatch("timer"))["health-questionnaire"]).to.deep.equal({ checkInDue: false, day: "2026-11-21" });
      const bad: [object, RegExp][] = [
        [{ feeling: 6, symptoms: noSymptoms }, /feeling/],
        [{ feeling: 3, symptoms: { ...noSymptoms, cough: "yes" } }, /symptoms\.cough/],
        [{ feeling: 3, symptoms: { ...noSymptoms, sneezing: true } }, /symptoms/],
        [{ feeling: 3, symptoms: noSymptoms, temperatureC: 45 }, /temperatureC/],
        [{ feeling: 3, symptoms: noSymptoms, region: "Bavaria" }, /region/],
        [{ feeling: 3, symptoms: noSymptoms, name: "Alice" }, /checkins\.name/],
      ];
      for (const [answers, re] of bad) await expectRejects(checkIn(ctx, answers as never, "2026-11-22"), Error, re);
      expect(ctx.read("checkins").size).to.equal(1);
    });

    it("proximity: stores scans, refuses malformed ones with nothing stored, and forgets them after 14 days", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock });
      const ctx = vault.ability("proximity");
      const t = Math.floor(now / 1000);
      const scan = (at: number, rssi: number) => ({ rpi: randomBytes(16), aem: randomBytes(4), t: at, rssi, seconds: 300 });
      expect(await recordScans(vault, [scan(t - 15 * DAY, -60), scan(t - DAY, -70)])).to.deep.equal({ stored: 2 });
      await expectRejects(
        recordScans(vault, [scan(t, -65), { ...scan(t, -60), rpi: randomBytes(15) }]),
        MalformedScanError,
        /scans\[1\]\.rpi/,
      );
      await expectRejects(recordScans(vault, [{ ...scan(t, -60), seconds: 0 }]), MalformedScanError, /scans\[0\]\.seconds/);
      // A scan document written directly is checked as strictly.
      await expectRejects(
        ctx.collection("scans").create({ rpi: "00".repeat(16), aem: "00".repeat(4), t, rssi: -60, seconds: 1, who: "x" }),
        MalformedScanError,
        /scans\.who/,
      );
      expect(ctx.read("scans").size).to.equal(2);
      expect((await vault.dispatch("timer")).proximity).to.deep.equal({ pruned: 1, prunedBatches: 0 });
      expect(
        ctx
          .read<ScanDoc>("scans")
          .find()
          .map((e) => e.rssi),
      ).to.deep.equal([-70]);
    });

    it("alert filter: decides locally which CAP alerts concern this user, and refuses what is not a feed entry", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: SEED, clock });
      const t0 = Date.UTC(2026, 10, 10) / 1000;
      await vault.addLocations([
        { t: t0 + 3600, lat: 48.137, lon: 11.575 },
        { t: t0 + 7200, lat: 48.2, lon: 11.6 },
      ]);
      const time = (t: number) => `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;
      const alert = (identifier: string, circle: string, from = t0) => ({
        identifier,
        sender: "gesundheitsamt@muenchen.example",
        sent: time(from),
        status: "Actual",
        msgType: "Alert",
        scope: "Public",
        code: [],
        info: [
          {
            category: ["Health"],
            event: "Exposure at an event",
            responseType: [],
            urgency: "Expected",
            severity: "Moderate",
            certainty: "Observed",
            eventCode: [],
            expires: time(from + DAY),
            parameter: [],
            resource: [],
            area: [{ areaDesc: "Marienplatz", polygon: [], circle: [circle], geocode: [] }],
          },
        ],
      });
      const feed = { chainId: 31337, contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", feedId: 1 };
      const cid = "bafyreigdyrztktx5b5m2y4sxcd6mzcbvedhkpzq5fbgsjsqkjadimmlgx4";
      const decide = async (seq: number, cap: unknown) =>
        (await vault.dispatch("alert:received", { feed, seq, cid, cap }))["alert-filter"] as AlertDecision;
      expect(await decide(1, alert("a1", "48.1374,11.5755 0.5"))).to.include({ concerns: true });
      expect((await decide(2, alert("a2", "52.5,13.4 2"))).concerns).to.equal(false);
      expect((await decide(3, alert("a3", "48.1374,11.5755 0.5", t0 + 2 * DAY))).concerns).to.equal(false);
      const stored = vault.ability("alert-filter").read<AlertDecision>("alerts");
      expect(stored.size).to.equal(3);
      for (const [bad, re] of [
        [{ feed, seq: 4, cid, cap: alert("a/b c", "0,0 1") }, /identifier/],
        [{ feed, seq: 4, cid, cap: alert("a5", "91,0 1") }, /latitude/],
        [{ feed, seq: 4, cid, cap: { ...alert("a5", "0,0 1"), sent: "yesterday" } }, /sent/],
        [alert("a5", "0,0 1"), /alert\.identifier: not a field/],
        ["not an alert", /feed entry/],
      ] as [unknown, RegExp][]) {
        await expectRejects(vault.dispatch("alert:received", bad), Error, re);
      }
      expect(stored.size).to.equal(3);
    });
  });
});
