// Public alerts in the vault: the local decision (areas and windows against the device's own history and check-ins,
// with reasons), the alert filter's documents as Updates and Cancels arrive, hostile events refused by name with
// nothing stored, the inbox, following feeds, and the alert-reach job answered from the filter's decisions.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type AlertFeedRef,
  areaShape,
  type CapAlert,
  type CapArea,
  type CapInfo,
  encodeEntry,
  feedView,
  InvalidCapError,
  shapeContains,
  UnclosedPolygonError,
} from "@mosaic/alerts";
import { decodeLocalSubmission, deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { runMapProgram } from "@mosaic/mapreduce";
import { type Block, type JobSpec, parseCid } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  ALERT_FILTER_LIMITS,
  type AlertDoc,
  AlertEntryConflictError,
  alertDocKey,
  alertInbox,
  alertReachJob,
  alertReachSpec,
  answerJobWith,
  type CheckIn,
  checkIn,
  decideCapAlert,
  followAlertFeed,
  followedAlertFeeds,
  MalformedAlertEventError,
  type PointChunk,
  recheckAlerts,
  unfollowAlertFeed,
  Vault,
} from "../src/index.js";

const DAY = 86_400;
const FEED: AlertFeedRef = { chainId: 31337, contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", feedId: 1 };
const OTHER_FEED: AlertFeedRef = { ...FEED, feedId: 2 };
const noSymptoms = {
  fever: false,
  cough: false,
  shortnessOfBreath: false,
  soreThroat: false,
  lossOfTasteOrSmell: false,
  fatigue: false,
  headache: false,
};
/** Berlin-Mitte, roughly: a square around 52.52 N, 13.40 E. */
const MITTE = "52.50,13.37 52.50,13.43 52.54,13.43 52.54,13.37 52.50,13.37";
/** 2026-12-01 00:00 UTC. */
const T0 = Date.UTC(2026, 11, 1) / 1000;

function capTime(t: number): string {
  return `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;
}

function area(over: Partial<CapArea> = {}): CapArea {
  return { areaDesc: "Mitte", polygon: [MITTE], circle: [], geocode: [], ...over };
}

function info(over: Partial<CapInfo> = {}): CapInfo {
  return {
    category: ["Health"],
    event: "Measles exposure",
    responseType: ["Monitor"],
    urgency: "Expected",
    severity: "Moderate",
    certainty: "Observed",
    eventCode: [],
    headline: "Measles exposure in Mitte",
    parameter: [],
    resource: [],
    area: [area()],
    ...over,
  };
}

function cap(identifier: string, over: Partial<CapAlert> = {}, infoOver: Partial<CapInfo> = {}): CapAlert {
  return {
    identifier,
    sender: "gesundheitsamt@berlin.example",
    sent: capTime(T0 + 12 * 3600),
    status: "Actual",
    msgType: "Alert",
    scope: "Public",
    code: [],
    info: [info({ onset: capTime(T0 + 10 * 3600), expires: capTime(T0 + 16 * 3600), ...infoOver })],
    ...over,
  };
}

/** The alert:received event of entry `seq` of a feed, its CID the real entry block's. */
function event(feed: AlertFeedRef, seq: number, c: CapAlert) {
  const prev = seq === 1 ? null : encodeEntry({ v: 1, feed, seq: 1, epoch: 1, prev: null, cap: cap("prev") }).cid;
  const block = encodeEntry({ v: 1, feed, seq, epoch: 1, prev, cap: c });
  return { feed, seq, cid: block.cid.toString(), cap: c };
}

function refOf(c: CapAlert): string {
  return `${c.sender},${c.identifier},${c.sent}`;
}

/** In-memory readers over fixes and check-ins, as the bench uses decideCapAlert. */
function readers(points: { t: number; lat: number; lon: number }[], checkIns: CheckIn[] = []) {
  const day = (t: number) => new Date(Math.floor(t / DAY) * DAY * 1000).toISOString().slice(0, 10);
  const chunks = new Map<string, PointChunk>();
  for (const p of [...points].sort((a, b) => a.t - b.t)) {
    const d = day(p.t);
    const c = chunks.get(d) ?? { _id: d, day: d, source: "test", start: p.t, t: [], lat: [], lon: [] };
    c.t.push(p.t);
    c.lat.push(p.lat);
    c.lon.push(p.lon);
    chunks.set(d, c);
  }
  return {
    pointsInDays: (from: string, to: string) => [...chunks.values()].filter((c) => c.day >= from && c.day <= to),
    checkIns: (fromS: number, toS: number) => checkIns.filter((c) => c.day >= day(fromS) && c.day <= day(toS - 1)),
    latestPoint: (atS: number) => [...points].filter((p) => p.t <= atS).sort((a, b) => b.t - a.t)[0],
  };
}

describe("vault alerts", function () {
  this.timeout(60_000);
  const nowMs = (T0 + 2 * DAY) * 1000;

  describe("decideCapAlert (pure)", () => {
    const inMitte = { t: T0 + 14 * 3600 + 5 * 60, lat: 52.52, lon: 13.4 };
    const elsewhere = { t: T0 + 14 * 3600, lat: 48.14, lon: 11.58 };

    it("a fix inside a polygon within the window concerns the user, and says where and when", () => {
      const d = decideCapAlert(cap("a1"), readers([elsewhere, inMitte]), T0 + DAY);
      expect(d).to.deep.equal({ concerns: true, reasons: ["you were in 'Mitte' on 2026-12-01 at 14:05 UTC, from your location history"] });
    });

    it("outside the window, outside the area, or no history: not concerned", () => {
      expect(decideCapAlert(cap("a1"), readers([{ ...inMitte, t: T0 + 17 * 3600 }]), T0 + DAY).concerns).to.equal(false);
      expect(decideCapAlert(cap("a1"), readers([{ ...inMitte, t: T0 + 9 * 3600 }]), T0 + DAY).concerns).to.equal(false);
      expect(decideCapAlert(cap("a1"), readers([elsewhere]), T0 + DAY)).to.deep.equal({ concerns: false, reasons: [] });
      expect(decideCapAlert(cap("a1"), readers([]), T0 + DAY)).to.deep.equal({ concerns: false, reasons: [] });
    });

    it("a circle (great-circle distance) and a check-in naming a geocoded region", () => {
      const circle = cap("c1", {}, { area: [area({ areaDesc: "Marienplatz", polygon: [], circle: ["48.1374,11.5755 1"] })] });
      expect(decideCapAlert(circle, readers([{ t: T0 + 11 * 3600, lat: 48.14, lon: 11.58 }]), T0 + DAY).reasons).to.deep.equal([
        "you were in 'Marienplatz' on 2026-12-01 at 11:00 UTC, from your location history",
      ]);
      expect(decideCapAlert(circle, readers([{ t: T0 + 11 * 3600, lat: 48.2, lon: 11.58 }]), T0 + DAY).concerns).to.equal(false);
      const region = cap(
        "r1",
        {},
        { area: [area({ areaDesc: "Bayern", polygon: [], geocode: [{ valueName: "ISO3166-2", value: "DE-BY" }] })] },
      );
      const day = (d: string, r?: string): CheckIn => ({
        _id: d,
        day: d,
        time: 0,
        feeling: 4,
        symptoms: noSymptoms,
        ...(r === undefined ? {} : { region: r }),
      });
      expect(decideCapAlert(region, readers([], [day("2026-12-01", "DE-BY")]), T0 + DAY)).to.deep.equal({
        concerns: true,
        reasons: ["you checked in from DE-BY on 2026-12-01, a region the alert names for 'Bayern'"],
      });
      expect(decideCapAlert(region, readers([], [day("2026-12-01", "DE-BE"), day("2026-12-02", "DE-BY")]), T0 + DAY).concerns).to.equal(
        false,
      );
    });

    it("with no time given, the latest known position counts; Test messages and Cancels concern no one", () => {
      const untimed = cap("u1", { sent: capTime(T0 + 5 * DAY) }, { onset: undefined, expires: undefined });
      delete untimed.info[0]?.onset;
      delete untimed.info[0]?.expires;
      expect(decideCapAlert(untimed, readers([inMitte]), T0 + 5 * DAY + 60).reasons).to.deep.equal([
        "your latest known position (2026-12-01 at 14:05 UTC) is in 'Mitte'",
      ]);
      expect(decideCapAlert(cap("t1", { status: "Test" }), readers([inMitte]), T0 + DAY)).to.include({ concerns: false });
      const cancel = cap("x1", { msgType: "Cancel", references: refOf(cap("a1")) });
      expect(decideCapAlert(cancel, readers([inMitte]), T0 + DAY)).to.deep.equal({ concerns: false, reasons: [] });
    });

    it("agrees with a naive oracle (every fix in every window against every shape) on random histories and areas", () => {
      let matched = 0;
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              t: fc.integer({ min: T0 - DAY, max: T0 + 3 * DAY }),
              lat: fc.double({ min: 52.45, max: 52.55, noNaN: true }),
              lon: fc.double({ min: 13.35, max: 13.45, noNaN: true }),
            }),
            { maxLength: 60 },
          ),
          fc.array(
            fc.record({
              lat: fc.double({ min: 52.45, max: 52.55, noNaN: true }),
              lon: fc.double({ min: 13.35, max: 13.45, noNaN: true }),
              r: fc.double({ min: 0.02, max: 0.08, noNaN: true }),
              circle: fc.boolean(),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          fc.integer({ min: 0, max: 2 * DAY }),
          fc.integer({ min: 1, max: 2 * DAY }),
          (points, shapes, start, length) => {
            const areas = shapes.map(({ lat, lon, r, circle }, i): CapArea => {
              const p = (a: number, b: number) => `${a.toFixed(4)},${b.toFixed(4)}`;
              return circle
                ? area({ areaDesc: `a${i}`, polygon: [], circle: [`${p(lat, lon)} ${(r * 50).toFixed(2)}`] })
                : area({
                    areaDesc: `a${i}`,
                    polygon: [[p(lat - r, lon - r), p(lat - r, lon + r), p(lat + r, lon), p(lat - r, lon - r)].join(" ")],
                  });
            });
            const from = T0 + start;
            const c = cap("p1", {}, { onset: capTime(from), expires: capTime(from + length), area: areas });
            const expected = areas.map((a) => {
              const shape = areaShape(a);
              return points.some((q) => q.t >= from && q.t < from + length && shapeContains(shape, q));
            });
            const decided = decideCapAlert(c, readers(points), T0 + 4 * DAY);
            if (expected.some(Boolean)) matched++;
            expect(decided.concerns).to.equal(expected.some(Boolean));
            expect(decided.reasons.map((r) => /'(a\d+)'/.exec(r)?.[1])).to.deep.equal(
              areas.filter((_, i) => expected[i]).map((a) => a.areaDesc),
            );
          },
        ),
        { numRuns: 300, seed: 21 },
      );
      expect(matched, "cases where the user was in an area").to.be.above(60);
    });

    it("a huge area list costs bounded work: past the limits no geometry is tested, and the reason says so", () => {
      const circles = Array.from({ length: ALERT_FILTER_LIMITS.shapes + 1 }, (_, i) => `${(i % 90) - 45},${(i % 180) - 90} 1`);
      const huge = cap("h1", {}, { area: [area({ polygon: [MITTE], circle: circles })] });
      const year = Array.from({ length: 105_000 }, (_, i) => ({ t: T0 - 365 * DAY + i * 300, lat: 52.52, lon: 13.4 }));
      const d = decideCapAlert({ ...huge, info: [{ ...(huge.info[0] as CapInfo), onset: capTime(T0 - 365 * DAY) }] }, readers(year), T0);
      expect(d.concerns).to.equal(false);
      expect(d.reasons[0]).to.match(/more than this device checks/);
    });

    it("a hostile polygon (45 000 vertices, a year-long window over a year of moving fixes in its box) stops at the work budget", () => {
      // Review 21: a polygon that winds twice around Berlin (even-odd: nothing inside) whose box holds every fix; the
      // vertex and shape limits let it through, and it cost 9 s before the budget. Fixes move a little each time, as
      // GPS fixes do, so no fix repeats the one before.
      const ring = (n: number) => {
        const pts: string[] = [];
        for (let i = 0; i < n; i++) {
          const a = (4 * Math.PI * i) / n;
          pts.push(`${(52.5 + 30 * Math.sin(a)).toFixed(0)},${(13.4 + 60 * Math.cos(a)).toFixed(0)}`);
        }
        return [...pts, pts[0]].join(" ");
      };
      const year = Array.from({ length: 105_120 }, (_, i) => ({ t: T0 - 365 * DAY + i * 300, lat: 52.52 + (i % 997) * 1e-5, lon: 13.4 }));
      const hostile = cap("h2", {}, { onset: capTime(T0 - 365 * DAY), expires: capTime(T0), area: [area({ polygon: [ring(45_000)] })] });
      expect(encodeEntry({ v: 1, feed: FEED, seq: 1, epoch: 1, prev: null, cap: hostile }).bytes.length).to.be.below(300 * 1024);
      const r = readers(year);
      const d = decideCapAlert(hostile, r, T0);
      expect(d).to.deep.equal({
        concerns: false,
        reasons: [
          "the alert's areas are too large to check on this device against your history (more than 20 million steps): read its areas yourself",
        ],
      });
      // A match found before the budget ran out still counts, and the note says the rest went unchecked.
      const both = cap(
        "h3",
        {},
        { onset: capTime(T0 - 365 * DAY), expires: capTime(T0), area: [area(), area({ areaDesc: "Ring", polygon: [ring(45_000)] })] },
      );
      const d2 = decideCapAlert(both, r, T0);
      expect(d2.concerns).to.equal(true);
      expect(d2.reasons).to.have.length(2);
      expect(d2.reasons[1]).to.match(/too large to check on this device/);
      // The same polygon against a day of fixes is within the budget: decided in full, no note.
      const day = decideCapAlert({ ...hostile, info: [{ ...(hostile.info[0] as CapInfo), onset: capTime(T0 - DAY) }] }, r, T0);
      expect(day).to.deep.equal({ concerns: false, reasons: [] });
    });
  });

  describe("the alert filter in a vault", () => {
    let vault: Vault;
    let stores: ReturnType<typeof memoryStores>;
    const alerts = () => vault.ability("alert-filter").read<AlertDoc>("alerts");
    const receive = async (e: unknown) => (await vault.dispatch("alert:received", e))["alert-filter"] as AlertDoc;

    beforeEach(async () => {
      stores = memoryStores();
      vault = await Vault.open(stores, { rootSeed: randomBytes(32), clock: () => nowMs });
      await vault.addLocations([
        { t: T0 + 14 * 3600, lat: 52.52, lon: 13.4 },
        { t: T0 + 20 * 3600, lat: 52.45, lon: 13.3 },
      ]);
    });
    afterEach(() => vault.close());

    it("stores each entry once with its decision, keyed by feed and seq; a replay is a no-op; a rewrite is refused", async () => {
      const a = cap("a1");
      const doc = await receive(event(FEED, 1, a));
      expect(doc).to.deep.include({
        _id: alertDocKey(FEED, 1),
        key: `31337:${FEED.contract}:1:1`,
        feed: FEED,
        seq: 1,
        capKey: refOf(a),
        msgType: "Alert",
        headline: "Measles exposure in Mitte",
        event: "Measles exposure",
        severity: "Moderate",
        sent: T0 + 12 * 3600,
        expires: T0 + 16 * 3600,
        areas: ["Mitte"],
        concerns: true,
        reasons: ["you were in 'Mitte' on 2026-12-01 at 14:00 UTC, from your location history"],
        state: "active",
        received: nowMs / 1000,
        cap: a,
      });
      const before = await captureState(stores);
      expect(await receive(event(FEED, 1, a))).to.deep.equal(doc);
      expect(await captureState(stores)).to.deep.equal(before);
      await expectRejects(receive(event(FEED, 1, cap("a2"))), AlertEntryConflictError, /entry 1 of feed/);
      expect(await captureState(stores)).to.deep.equal(before);
      expect(alerts().size).to.equal(1);
    });

    it("an Update supersedes, a Cancel cancels (and stands after a later Update); other feeds and later seqs are untouched", async () => {
      const a = cap("a1");
      const b = cap("b1", { sent: capTime(T0 + 13 * 3600) });
      await receive(event(FEED, 1, a));
      await receive(event(FEED, 2, b));
      await receive(event(OTHER_FEED, 1, a)); // the same CAP message, copied into another feed
      // Another feed's Cancel names feed 1's alert: it changes nothing there.
      await receive(event(OTHER_FEED, 2, cap("x1", { msgType: "Cancel", references: refOf(a), sent: capTime(T0 + 13 * 3600) })));
      expect(alerts().get(alertDocKey(FEED, 1))?.state).to.equal("active");
      expect(alerts().get(alertDocKey(OTHER_FEED, 1))).to.deep.include({
        state: "cancelled",
        by: { seq: 2, key: alertDocKey(OTHER_FEED, 2) },
      });
      expect(alerts().get(alertDocKey(OTHER_FEED, 2))?.state).to.equal("record");

      // Seq 3 references seq 4's key before seq 4 exists: a message cannot touch a later one.
      const later = cap("c1", { sent: capTime(T0 + 15 * 3600) });
      await receive(event(FEED, 3, cap("u0", { msgType: "Update", references: refOf(later), sent: capTime(T0 + 14 * 3600) })));
      await receive(event(FEED, 4, later));
      expect(alerts().get(alertDocKey(FEED, 4))?.state).to.equal("active");

      await receive(event(FEED, 5, cap("u1", { msgType: "Update", references: refOf(a), sent: capTime(T0 + 15 * 3600) })));
      expect(alerts().get(alertDocKey(FEED, 1))).to.deep.include({ state: "updated", by: { seq: 5, key: alertDocKey(FEED, 5) } });
      expect(alerts().get(alertDocKey(FEED, 5))).to.deep.include({ state: "active", concerns: true, references: [refOf(a)] });
      await receive(event(FEED, 6, cap("x2", { msgType: "Cancel", references: `${refOf(b)} ${refOf(a)}`, sent: capTime(T0 + 16 * 3600) })));
      await receive(event(FEED, 7, cap("u2", { msgType: "Update", references: refOf(b), sent: capTime(T0 + 17 * 3600) })));
      expect(alerts().get(alertDocKey(FEED, 2))).to.deep.include({ state: "cancelled", by: { seq: 6, key: alertDocKey(FEED, 6) } });
      expect(alerts().get(alertDocKey(FEED, 1))?.state).to.equal("cancelled");
    });

    it("an entry that arrives after the Cancel that references it is stored cancelled", async () => {
      const a = cap("a1");
      await receive(event(FEED, 2, cap("x1", { msgType: "Cancel", references: refOf(a), sent: capTime(T0 + 13 * 3600) })));
      expect(await receive(event(FEED, 1, a))).to.deep.include({ state: "cancelled", by: { seq: 2, key: alertDocKey(FEED, 2) } });
    });

    it("a key published twice: a Cancel cancels every earlier copy (not a later one), in any arrival order", async () => {
      // Review 21: the same CAP message anchored twice; a Cancel of its key left the second copy active.
      const a = cap("a1");
      const x = cap("x1", { msgType: "Cancel", references: refOf(a), sent: capTime(T0 + 13 * 3600) });
      await receive(event(FEED, 1, a));
      await receive(event(FEED, 2, a));
      await receive(event(FEED, 3, x));
      await receive(event(FEED, 4, a)); // a third copy after the Cancel stands
      const by = { seq: 3, key: alertDocKey(FEED, 3) };
      expect(alerts().get(alertDocKey(FEED, 1))).to.deep.include({ state: "cancelled", by });
      expect(alerts().get(alertDocKey(FEED, 2))).to.deep.include({ state: "cancelled", by });
      expect(alerts().get(alertDocKey(FEED, 4))?.state).to.equal("active");
      // Out of order: the Cancel first, then the copies.
      await receive(event(OTHER_FEED, 3, x));
      await receive(event(OTHER_FEED, 2, a));
      await receive(event(OTHER_FEED, 1, a));
      expect(alerts().get(alertDocKey(OTHER_FEED, 1))?.state).to.equal("cancelled");
      expect(alerts().get(alertDocKey(OTHER_FEED, 2))?.state).to.equal("cancelled");
    });

    it("agrees with feedView on random feeds (repeated keys, Updates, Cancels, Acks) given in any order", async () => {
      const ids = ["a", "b", "c"];
      const sents = [capTime(T0 + 12 * 3600), capTime(T0 + 13 * 3600)];
      const key = (i: number, s: number) => `gesundheitsamt@berlin.example,${ids[i]},${sents[s]}`;
      const message = fc.record({
        id: fc.nat(ids.length - 1),
        sent: fc.nat(sents.length - 1),
        msgType: fc.constantFrom("Alert", "Alert", "Update", "Cancel", "Ack"),
        references: fc.uniqueArray(fc.tuple(fc.nat(ids.length - 1), fc.nat(sents.length - 1)), { minLength: 1, maxLength: 3 }),
      });
      const feeds = fc
        .array(message, { minLength: 1, maxLength: 10 })
        .chain((messages) => fc.tuple(fc.constant(messages), fc.shuffledSubarray([...messages.keys()], { minLength: messages.length })));
      await fc.assert(
        fc.asyncProperty(feeds, async ([messages, order]) => {
          const caps = messages.map((m) =>
            cap(ids[m.id] as string, {
              sent: sents[m.sent] as string,
              msgType: m.msgType as CapAlert["msgType"],
              ...(m.msgType === "Update" || m.msgType === "Cancel"
                ? { references: m.references.map(([i, s]) => key(i, s)).join(" ") }
                : {}),
              ...(m.msgType === "Cancel" || m.msgType === "Ack" ? { info: [] } : {}),
            }),
          );
          const fresh = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => nowMs });
          try {
            for (const i of order) await fresh.dispatch("alert:received", event(FEED, i + 1, caps[i] as CapAlert));
            const view = feedView(
              caps.map((c, i) => {
                const e = event(FEED, i + 1, c);
                return {
                  ref: FEED,
                  seq: i + 1,
                  cid: parseCid(e.cid),
                  entry: { v: 1 as const, feed: FEED, seq: i + 1, epoch: 1, prev: null, cap: c },
                };
              }),
              T0,
            );
            const docs = fresh.ability("alert-filter").read<AlertDoc>("alerts");
            for (const item of view) {
              const d = docs.get(alertDocKey(FEED, item.seq)) as AlertDoc;
              expect([d.state, d.by?.seq], `entry ${item.seq}`).to.deep.equal([item.state, item.by?.seq]);
            }
          } finally {
            await fresh.close();
          }
        }),
        { numRuns: 60, seed: 21 },
      );
    });

    it("recheckAlerts decides again after more history is imported", async () => {
      const spandau = "52.53,13.15 52.53,13.22 52.56,13.22 52.56,13.15 52.53,13.15";
      await receive(event(FEED, 1, cap("s1", {}, { area: [area({ areaDesc: "Spandau", polygon: [spandau] })] })));
      expect(alerts().get(alertDocKey(FEED, 1))?.concerns).to.equal(false);
      expect(await recheckAlerts(vault)).to.deep.equal({ checked: 1, changed: 0 });
      await vault.addLocations([{ t: T0 + 11 * 3600, lat: 52.54, lon: 13.2 }]);
      expect(await recheckAlerts(vault)).to.deep.equal({ checked: 1, changed: 1 });
      expect(alerts().get(alertDocKey(FEED, 1))).to.deep.include({
        concerns: true,
        reasons: ["you were in 'Spandau' on 2026-12-01 at 11:00 UTC, from your location history"],
      });
    });

    it("reads the vault's own check-ins and latest fix: a geocoded region, and an alert that gives no time", async () => {
      await checkIn(vault.ability("health-questionnaire"), { feeling: 4, symptoms: noSymptoms, region: "DE-BE" }, "2026-12-01");
      const berlin = cap(
        "r1",
        {},
        { area: [area({ areaDesc: "Berlin", polygon: [], geocode: [{ valueName: "ISO3166-2", value: "DE-BE" }] })] },
      );
      expect((await receive(event(FEED, 1, berlin))).reasons).to.deep.equal([
        "you checked in from DE-BE on 2026-12-01, a region the alert names for 'Berlin'",
      ]);
      // No onset, effective or expires: sent two days later, when the latest fix (20:00 on the 1st, in Schöneberg) is known.
      const untimed = cap(
        "u1",
        { sent: capTime(T0 + 2 * DAY - 600) },
        { area: [area({ areaDesc: "Schöneberg", polygon: ["52.44,13.28 52.44,13.32 52.46,13.32 52.46,13.28 52.44,13.28"] })] },
      );
      delete untimed.info[0]?.onset;
      delete untimed.info[0]?.expires;
      expect((await receive(event(FEED, 2, untimed))).reasons).to.deep.equal([
        "your latest known position (2026-12-01 at 20:00 UTC) is in 'Schöneberg'",
      ]);
    });

    it("hostile events are refused by name and store nothing: unclosed polygons, drafts, bare CAP, numbers, extra fields", async () => {
      const before = await captureState(stores);
      const good = event(FEED, 1, cap("a1"));
      const open = cap("p1", {}, { area: [area({ polygon: ["52.50,13.37 52.50,13.43 52.54,13.43 52.54,13.37"] })] });
      const draft = { v: 1, kind: "editors", feed: FEED, epoch: 1, editors: [], threshold: 1, signatures: [] };
      for (const [bad, type, re] of [
        [{ ...good, cap: open }, UnclosedPolygonError, /polygon/],
        [draft, MalformedAlertEventError, /alert\.v: not a field/],
        [{ v: 1, kind: "entry", feed: FEED, epoch: 1, seq: 1, entry: "AAAA", signatures: [] }, MalformedAlertEventError, /alert\.v/],
        [cap("a1"), MalformedAlertEventError, /alert\.identifier: not a field/],
        [42, MalformedAlertEventError, /got number/],
        [null, MalformedAlertEventError, /got null/],
        [new Uint8Array(8), MalformedAlertEventError, /feed entry/],
        [{ ...good, signers: [] }, MalformedAlertEventError, /alert\.signers/],
        [{ ...good, feed: { ...FEED, contract: FEED.contract.toUpperCase() } }, MalformedAlertEventError, /alert\.feed: contract/],
        [{ ...good, feed: { ...FEED, feedId: 0 } }, MalformedAlertEventError, /feedId/],
        [{ ...good, seq: 1.5 }, MalformedAlertEventError, /alert\.seq/],
        [{ ...good, cid: "not a cid" }, MalformedAlertEventError, /alert\.cid/],
        [{ ...good, cap: { ...cap("a1"), sent: 5 } }, InvalidCapError, /sent/],
        [{ ...good, cap: undefined }, MalformedAlertEventError, /alert\.cap: missing/],
      ] as [unknown, new (...args: never[]) => Error, RegExp][]) {
        await expectRejects(receive(bad), type, re);
      }
      expect(await captureState(stores)).to.deep.equal(before);
    });

    it("a huge alert is kept without its CAP copy and decided with bounded work; it is still shown", async () => {
      const circles = Array.from({ length: 9000 }, (_, i) => `${(i % 90) - 45}.1234,${(i % 180) - 90}.5678 1.5`);
      const huge = cap("h1", {}, { area: [area({ areaDesc: "everywhere", polygon: [MITTE], circle: circles })] });
      const doc = await receive(event(FEED, 1, huge));
      expect(doc).to.deep.include({ capOmitted: true, concerns: false, areas: ["everywhere"] });
      expect(doc.cap).to.equal(undefined);
      expect(doc.reasons[0]).to.match(/9001 shapes .* more than this device checks/);
      expect(alertInbox(vault, { nowS: T0 }).map((d) => d.key)).to.deep.equal([alertDocKey(FEED, 1)]);
    });

    it("nothing of the match leaves the vault: no egress, no audit entry", async () => {
      await receive(event(FEED, 1, cap("a1")));
      await receive(event(FEED, 2, cap("x1", { msgType: "Cancel", references: refOf(cap("a1")), sent: capTime(T0 + 13 * 3600) })));
      expect(vault.audit()).to.deep.equal([]);
      expect(vault.thread.collection("vault/consents").size).to.equal(0);
    });

    it("the inbox: active alerts, concerning first, then expired; superseded, cancelled and records only with all", async () => {
      await receive(event(FEED, 1, cap("near")));
      await receive(
        event(
          FEED,
          2,
          cap(
            "far",
            { sent: capTime(T0 + 13 * 3600) },
            { area: [area({ areaDesc: "Spandau", polygon: ["52.53,13.15 52.53,13.22 52.56,13.22 52.56,13.15 52.53,13.15"] })] },
          ),
        ),
      );
      await receive(event(FEED, 3, cap("old", { sent: capTime(T0) }, { onset: capTime(T0), expires: capTime(T0 + 3600) })));
      await receive(event(FEED, 4, cap("gone", { sent: capTime(T0 + 14 * 3600) })));
      await receive(
        event(
          FEED,
          5,
          cap("x1", {
            msgType: "Cancel",
            references: refOf(cap("gone", { sent: capTime(T0 + 14 * 3600) })),
            sent: capTime(T0 + 15 * 3600),
          }),
        ),
      );
      const shown = alertInbox(vault, { nowS: T0 + 2 * 3600 }).map((d) => [d.capKey.split(",")[1], d.state]);
      expect(shown).to.deep.equal([
        ["near", "active"],
        ["far", "active"],
        ["old", "expired"],
      ]);
      expect(alertInbox(vault, { all: true, nowS: T0 + 2 * 3600 }).map((d) => d.state)).to.deep.equal([
        "active",
        "active",
        "expired",
        "cancelled",
        "record",
      ]);
    });

    it("follows feeds: once each, listed, unfollowed (with forget, its alerts go too)", async () => {
      expect(await followAlertFeed(vault, FEED)).to.deep.include({ feed: FEED, seq: 0, cid: null });
      await followAlertFeed(vault, FEED);
      await followAlertFeed(vault, OTHER_FEED);
      expect(followedAlertFeeds(vault).map((f) => f.feed)).to.deep.equal([FEED, OTHER_FEED]);
      await expectRejects(followAlertFeed(vault, { ...FEED, contract: "0x1" }), TypeError, /feed: contract/);
      await receive(event(FEED, 1, cap("a1")));
      await receive(event(OTHER_FEED, 1, cap("a1")));
      expect(await unfollowAlertFeed(vault, OTHER_FEED, { forget: true })).to.equal(true);
      expect(await unfollowAlertFeed(vault, OTHER_FEED)).to.equal(false);
      expect(followedAlertFeeds(vault).map((f) => f.feed)).to.deep.equal([FEED]);
      expect(
        alerts()
          .find()
          .map((d) => d.key),
      ).to.deep.equal([alertDocKey(FEED, 1)]);
    });
  });

  describe("the alert-reach job", () => {
    const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 9n };
    const template = (): JobSpec => alertReachJob({ collectionDeadline: T0 + 3 * DAY });

    it("jobs/alert-reach.json is the template, and a key goes in only as a JSON string of the exact form", () => {
      const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
      const file = JSON.parse(readFileSync(path.join(root, "jobs", "alert-reach.json"), "utf8")) as JobSpec;
      expect(file).to.deep.equal(alertReachJob({ collectionDeadline: Date.UTC(2026, 11, 1, 12) / 1000 }));
      expect(file.privacy).to.deep.equal({ mechanism: "randomized-response", epsilon: { num: 1, den: 1 } });
      expect(file.reads).to.deep.equal([{ ability: "alert-filter", collection: "alerts", fields: ["key", "concerns", "state"] }]);
      const key = alertDocKey(FEED, 3);
      const spec = alertReachSpec(file, key);
      expect(spec.program.kind === "sandbox" && spec.program.source).to.include(`const ALERT = ${JSON.stringify(key)};`);
      for (const bad of [
        `${key}"; return [1, 0]; //`,
        `${key}\n`,
        "31337:0x5FBDB2315678AFECB367F032D93F642F64180AA3:1:3",
        "0:0x5fbdb2315678afecb367f032d93f642f64180aa3:1:3",
        `${"9".repeat(16)}:0x5fbdb2315678afecb367f032d93f642f64180aa3:1:3`,
        42 as unknown as string,
      ])
        expect(() => alertReachSpec(file, bad)).to.throw(RangeError, /key: expected an alert key/);
      expect(() => alertReachSpec(spec, key)).to.throw(TypeError, /not an alert-reach template/);
    });

    it("the map program reads only its alert's row, and anything odd there is 'not reached'", async () => {
      const spec = alertReachSpec(template(), alertDocKey(FEED, 1));
      const run = (rows: Record<string, unknown>[]) => runMapProgram(spec, { "alert-filter/alerts": rows });
      const key = alertDocKey(FEED, 1);
      expect(await run([{ key, concerns: true, state: "active" }])).to.deep.equal([1, 0]);
      expect(await run([{ key, concerns: true, state: "updated" }])).to.deep.equal([1, 0]);
      expect(await run([{ key, concerns: true, state: "cancelled" }])).to.deep.equal([0, 1]);
      expect(await run([{ key, concerns: "true", state: "active" }])).to.deep.equal([0, 1]);
      expect(await run([{ key: alertDocKey(OTHER_FEED, 1), concerns: true, state: "active" }])).to.deep.equal([0, 1]);
      expect(await run([{ concerns: true }, { key }])).to.deep.equal([0, 1]);
      expect(await run([])).to.deep.equal([0, 1]);
    });

    it("a vault answers 'reached' for an alert that concerns it, 'not reached' otherwise and once it is cancelled", async () => {
      const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => nowMs });
      try {
        await vault.addLocations([{ t: T0 + 14 * 3600, lat: 52.52, lon: 13.4 }]);
        const receive = (e: unknown) => vault.dispatch("alert:received", e);
        await receive(event(FEED, 1, cap("near")));
        await receive(event(FEED, 2, cap("far", {}, { area: [area({ polygon: ["1,1 1,2 2,2 2,1 1,1"] })] })));
        await receive(event(FEED, 3, cap("gone")));
        await receive(event(FEED, 4, cap("x1", { msgType: "Cancel", references: refOf(cap("gone")) })));
        const answer = async (seq: number) => (await vault.review(alertReachSpec(template(), alertDocKey(FEED, seq)), job)).preview.raw;
        expect(await answer(1)).to.deep.equal([1, 0]);
        expect(await answer(2)).to.deep.equal([0, 1]);
        expect(await answer(3)).to.deep.equal([0, 1]);
        expect(await answer(9)).to.deep.equal([0, 1]);
        // The same alert in another feed is another key.
        expect((await vault.review(alertReachSpec(template(), alertDocKey(OTHER_FEED, 1)), job)).preview.raw).to.deep.equal([0, 1]);
        const request = await vault.review(alertReachSpec(template(), alertDocKey(FEED, 1)), job);
        expect(request.reads).to.deep.equal([{ ability: "alert-filter", collection: "alerts", fields: ["key", "concerns", "state"] }]);
        expect(request.mechanism).to.equal("randomized-response");
        expect(vault.audit()).to.deep.equal([]);
        // Consented and answered: one randomized bit leaves, through the egress gate, and the audit says what was read.
        expect(request.preview.payload.reduce((a, b) => a + b, 0)).to.equal(1);
        await vault.consent(alertReachSpec(template(), alertDocKey(FEED, 1)), request);
        const handed: Block[] = [];
        const group = new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
        await answerJobWith({ publish: async (block) => void handed.push(block) }, vault, job, group, {
          peers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"],
          collectionDeadline: T0 + 3 * DAY,
          now: nowMs / 1000,
          random: () => 0,
        });
        expect(handed.map((b) => decodeLocalSubmission(b.bytes).payload)).to.deep.equal([request.preview.payload]);
        expect(vault.audit().map((e) => e.fieldsRead)).to.deep.equal([
          ["alert-filter/alerts.key", "alert-filter/alerts.concerns", "alert-filter/alerts.state"],
        ]);
      } finally {
        await vault.close();
      }
    });
  });
});
