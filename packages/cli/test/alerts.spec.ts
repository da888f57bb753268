// `mosaic alerts`' parsing and printing, in process: editor lists, feed ids, CAP times, an alert in words and what
// the commands print after a draft, an anchoring (with and without a replica reached) and a rotation. The commands
// themselves run as separate processes against a devnet in test/e2e/alerts.spec.ts.
import { parseCap } from "@mosaic/alerts";
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
    expect(words).to.include("area: Mitte (1 polygon(s); geocodes DE-BE)");
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
    expect(
      formatList({
        source: "feed",
        feeds: 1,
        alerts: [{ feedId: 1, seq: 1, cid: "", key: "", state: "active", msgType: "Alert", sent: "", areas: [], xml: "<alert/>" }],
      }),
    ).to.equal("<alert/>");
  });
});
