// `mosaic alerts`' parsing and printing, in process: editor lists, feed ids, CAP times, an alert in words and what
// the commands print after a draft, an anchoring (with and without a replica reached) and a rotation. The commands
// themselves run as separate processes against a devnet in test/e2e/alerts.spec.ts.
import { areaShape, parseCap, polygonAreaKm2, shapeContains, validateCap } from "@mosaic/alerts";
import { expect } from "chai";
import { Wallet } from "ethers";
import { capTimeOf, describeCap, formatCompletion, formatList, parseAlertFeedId, parseEditors } from "../src/alerts.js";

const CAP = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>storm-1</identifier>
  <sender>alerts@city.example</sender>
  <sent>2026-12-05T10:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Storm</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <onset>2026-12-05T11:00:00+01:00</onset>
    <expires>2026-12-06T10:00:00+01:00</expires>
    <headline>Severe storm over Mitte</headline>
    <instruction>Stay indoors.</instruction>
    <area>
      <areaDesc>Mitte</areaDesc>
      <polygon>52.50,13.36 52.50,13.44 52.54,13.44 52.54,13.36 52.50,13.36</polygon>
      <geocode><valueName>ISO3166-2</valueName><value>DE-BE</value></geocode>
    </area>
  </info>
</alert>`;

describe("cli alerts: parsing and printing", () => {
  it("parseEditors: addresses, repeated or comma-separated, checksummed and sorted ascending; bad ones named", () => {
    const [a, b, c] = [1, 2, 3].map(() => Wallet.createRandom().address.toLowerCase()) as [string, string, string];
    const sorted = parseEditors([`${a},${b}`, c]);
    expect(sorted).to.have.length(3);
    expect(sorted.map((x) => BigInt(x))).to.deep.equal([...sorted.map((x) => BigInt(x))].sort((x, y) => (x < y ? -1 : 1)));
    expect(sorted.every((x) => /^0x[0-9a-fA-F]{40}$/.test(x) && x !== x.toLowerCase())).to.equal(true);
    expect(() => parseEditors(["0x12"])).to.throw(RangeError, /--editor: expected an address/);
    expect(() => parseEditors([a, a.toUpperCase().replace("0X", "0x")])).to.throw(RangeError, /given twice/);
    expect(() => parseEditors([], "--set")).to.throw(/--set ADDRESS is required/);
  });

  it("parseAlertFeedId: 1, 2, … only", () => {
    expect(parseAlertFeedId("7")).to.equal(7);
    for (const bad of ["0", "-1", "0x1", "1.5", "", "01"])
      expect(() => parseAlertFeedId(bad), bad).to.throw(RangeError, /--feed: expected a feed id/);
  });

  it("capTimeOf: a CAP date-time in UTC with +00:00 (CAP forbids Z), read back by parseCap", () => {
    expect(capTimeOf(0)).to.equal("1970-01-01T00:00:00+00:00");
    const cap = parseCap(CAP.replace("2026-12-05T10:00:00+01:00", capTimeOf(1_800_000_000)));
    expect(cap.sent).to.equal("2027-01-15T08:00:00+00:00");
  });

  it("describeCap: the alert in words — kind, headline, event, severity, times, areas, what to do", () => {
    const words = describeCap(parseCap(CAP)).join("\n");
    expect(words).to.match(/^ALERT \(Actual, Public\) from alerts@city\.example, sent 2026-12-05T10:00:00\+01:00, id storm-1/);
    expect(words).to.include('"Severe storm over Mitte"');
    expect(words).to.include("event Storm (Met): severity Severe, urgency Immediate, certainty Observed");
    expect(words).to.include("from 2026-12-05T11:00:00+01:00 until 2026-12-06T10:00:00+01:00");
    expect(words).to.include("area: Mitte\n      polygon 1: 4 corners, lat 52.5..52.54, lon 13.36..13.44, about 24.1 km²");
    expect(words).to.include("geocode ISO3166-2 = DE-BE");
    expect(words).to.include("what to do: Stay indoors.");
    const cancel = describeCap({
      ...parseCap(CAP),
      msgType: "Cancel",
      references: "alerts@city.example,storm-1,2026-12-05T10:00:00+01:00",
      note: "all clear",
      info: [],
    });
    expect(cancel.join("\n"))
      .to.match(/^CANCEL/)
      .and.include("cancels: alerts@city.example,storm-1,")
      .and.include("note: all clear");
  });

  it("describeCap shows what is signed: a continent-wide polygon, another description or web link read differently (review 21)", () => {
    // The review's proof: a rogue first editor changed the polygon to cover Europe, the description and the link,
    // and the words a co-editor saw before signing were the same.
    const honest = parseCap(CAP);
    const rogue = structuredClone(honest);
    rogue.info[0]!.area[0]!.polygon = ["35,-10 35,40 70,40 70,-10 35,-10"];
    rogue.info[0]!.description = "Evacuate immediately to the stadium.";
    rogue.info[0]!.web = "https://evil.example/phish";
    rogue.info[0]!.parameter = [{ valueName: "layer", value: "all" }];
    rogue.info[0]!.resource = [{ resourceDesc: "map", mimeType: "image/png", uri: "https://evil.example/map.png" }];
    rogue.info[0]!.area.push({ areaDesc: "Ring", polygon: [], circle: ["52.52,13.405 25"], geocode: [] });
    validateCap(rogue);
    expect(shapeContains(areaShape(rogue.info[0]!.area[0]!), { lat: 48.85, lon: 2.35 })).to.equal(true);
    const words = describeCap(rogue).join("\n");
    expect(describeCap(rogue)).to.not.deep.equal(describeCap(honest));
    expect(words).to.match(/polygon 1: 4 corners, lat 35\.\.70, lon -10\.\.40, about [\d,]+ km²/);
    const km2 = Number(/lon -10\.\.40, about ([\d,]+) km²/.exec(words)![1]!.replaceAll(",", ""));
    // 35°N..70°N × 50° of longitude: about 12 million km². (Plain comparisons: hardhat's chai matchers, loaded by
    // other spec files in the same worker, take closeTo and within for bigints.)
    expect(km2 > 10_000_000 && km2 < 14_000_000, String(km2)).to.equal(true);
    expect(words).to.include("description: Evacuate immediately to the stadium.");
    expect(words).to.include("web: https://evil.example/phish");
    expect(words).to.include("parameter layer = all");
    expect(words).to.include("resource: map (image/png) https://evil.example/map.png");
    expect(words).to.match(/area: Ring\n {6}circle: centre 52\.52,13\.405, radius 25 km, about 1,963 km²/);
    // A square degree at the equator is about 12,364 km²; between 60° and 61° cos 60.5° of that.
    near(polygonAreaKm2(parseSquare(0)), 12_364);
    near(polygonAreaKm2(parseSquare(60)), 12_364 * Math.cos((60.5 * Math.PI) / 180));
    // Across the antimeridian it is the same square, not one around the world.
    near(polygonAreaKm2([0, 0, 1, 1, 0].map((i, k) => ({ lat: k === 1 || k === 2 ? 1 : 0, lon: i ? -179.5 : 179.5 }))), 12_364);
  });

  it("describeCap escapes control characters: a CR in a headline cannot print over it (review 21)", () => {
    const cap = parseCap(CAP);
    cap.info[0]!.headline = 'Evacuate all of Berlin now!\r"Severe storm over Mitte"    ';
    validateCap(cap); // XML allows CR (as &#13;), so validation passes it: what prints must not
    cap.info[0]!.instruction = "Stay\x1b[2J indoors\u202e.\nline two"; // ESC no XML carries, escaped all the same
    const words = describeCap(cap).join("\n");
    expect(words).to.include('"Evacuate all of Berlin now!\\r"Severe storm over Mitte"    "');
    expect(words).to.include("what to do: Stay\\x1b[2J indoors\\u{202e}.\\nline two");
    for (const c of ["\r", "\x1b", "\u202e"]) expect(words).to.not.include(c);
  });

  it("formatCompletion: the next step for a draft, the replicas reached, and what to do when none was", () => {
    expect(formatCompletion({ status: "draft", draft: "/x/feed-1-seq-2.draft.json", signatures: 1, needed: 2 }, 1)).to.match(
      /1 of the 2 signatures needed[\s\S]*mosaic alerts sign feed-1-seq-2\.draft\.json/,
    );
    const anchored = { status: "anchored" as const, seq: 2, cid: "bafy", txHash: "0xab", kept: "ed/blocks" };
    expect(formatCompletion({ ...anchored, replicas: 2 }, 1)).to.include("announced to 2 replica(s)");
    const none = formatCompletion({ ...anchored, replicas: 0 }, 1);
    expect(none).to.include("no replica got the announcement").and.include("mosaic alerts serve --feed 1 --data-dir ed");
    expect(formatCompletion({ status: "rotated", epoch: 1, editors: ["0xA"], threshold: 1, txHash: "0x" }, 3)).to.match(
      /epoch 1[\s\S]*no longer count/,
    );
  });

  it("formatList: concerning alerts marked, with the reasons; --xml prints the messages only", () => {
    const text = formatList({
      source: "inbox",
      feeds: 1,
      added: 2,
      gaps: [{ feedId: 1, seq: 4, cid: "bafyjunk", error: "InvalidCapError", reason: "alert/info[0]/area: no\rpe" }],
      alerts: [
        {
          feedId: 1,
          seq: 1,
          cid: "b1",
          key: "k1",
          state: "active",
          msgType: "Alert",
          headline: "Storm",
          severity: "Severe",
          sent: "t",
          areas: ["Mitte"],
          concerns: true,
          reasons: ["you were in 'Mitte'"],
        },
        {
          feedId: 1,
          seq: 2,
          cid: "b2",
          key: "k2",
          state: "cancelled",
          msgType: "Alert",
          headline: "Flood",
          sent: "t",
          areas: ["Munich"],
          concerns: false,
          reasons: [],
          by: { seq: 3, key: "k3" },
        },
      ],
    });
    expect(text)
      .to.match(/#1 feed 1 Alert Severe Storm — CONCERNS YOU/)
      .and.include("why: you were in 'Mitte'");
    expect(text).to.match(/#2 feed 1 \[cancelled by #3\] Alert Flood — not near you/);
    expect(text).to.include(
      "entry 4 of feed 1 could not be read: InvalidCapError: alert/info[0]/area: no\\rpe (skipped; anchored as bafyjunk)",
    );
    expect(
      formatList({
        source: "feed",
        feeds: 1,
        gaps: [],
        unavailable: { seq: 3, error: "FeedUnavailableError", message: "x" },
        alerts: [],
      }),
    ).to.match(/^0 alert\(s\) in the feed[\s\S]*\nstopped at entry 3: FeedUnavailableError: the entries after it are not listed/);
    expect(
      formatList({
        source: "feed",
        feeds: 1,
        gaps: [],
        alerts: [{ feedId: 1, seq: 1, cid: "", key: "", state: "active", msgType: "Alert", sent: "", areas: [], xml: "<alert/>" }],
      }),
    ).to.equal("<alert/>");
  });
});

const parseSquare = (lat: number) => [
  { lat, lon: 10 },
  { lat, lon: 11 },
  { lat: lat + 1, lon: 11 },
  { lat: lat + 1, lon: 10 },
  { lat, lon: 10 },
];

/** |actual − expected| < 60 km², by a plain comparison (see above). */
function near(actual: number, expected: number): void {
  expect(Math.abs(actual - expected) < 60, `${actual} ≈ ${expected}`).to.equal(true);
}
