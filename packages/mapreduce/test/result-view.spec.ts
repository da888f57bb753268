// A result as people read it (the CSV a researcher downloads, the chart's ticks), the field a spec error names, and
// the spans the standing sentences write.
import { expect } from "chai";
import fc from "fast-check";
import { axisTicks, formatSpan, kmPerDayJob, type ResultView, resultCsv, resultView, specErrorField, validateSpec } from "../src/index.js";

/** A minimal RFC 4180 reader: enough to read back what resultCsv writes. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  return rows;
}

describe("result view: CSV, ticks, spec error fields, spans", () => {
  const view = (labels: string[]): ResultView => ({
    title: "t",
    unit: "days",
    count: 12,
    confidence: "95%",
    rows: labels.map((label, i) => ({ label, estimate: i + 0.5, projected: Math.max(0, i - 0.5), low: i, high: i + 1 })),
  });

  it("writes one CSV line per row that reads back to the same labels and numbers, whatever the labels hold", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), (labels) => {
        const rows = readCsv(resultCsv(view(labels)));
        expect(rows[0]).to.deep.equal(["label", "estimate", "low", "high", "projected", "confidence", "count", "unit"]);
        expect(rows.length).to.equal(labels.length + 1);
        labels.forEach((label, i) => {
          const cells = rows[i + 1] as string[];
          // A label a spreadsheet would run as a formula is written with a leading ' and read as text.
          expect(cells[0]).to.equal(/^[=+\-@\t\r]/.test(label) ? `'${label}` : label);
          expect(cells.slice(1, 5).map(Number)).to.deep.equal([i + 0.5, i, i + 1, Math.max(0, i - 0.5)]);
          expect(cells[6]).to.equal("12");
          expect([cells[5], cells[7]]).to.deep.equal(["95%", "days"]);
        });
      }),
      { seed: 18, numRuns: 200 },
    );
    expect(resultCsv(view(['=HYPERLINK("x")', "a,b"]))).to.equal(
      'label,estimate,low,high,projected,confidence,count,unit\r\n"\'=HYPERLINK(""x"")",0.5,0,1,0,95%,12,days\r\n"a,b",1.5,1,2,0.5,95%,12,days\r\n',
    );
  });

  it("ticks cover zero and every interval in steps of 1, 2 or 5 × 10^k", () => {
    expect(axisTicks(view(["a", "b", "c"]).rows)).to.deep.equal([0, 1, 2, 3]);
    expect(axisTicks([{ label: "x", estimate: -40, low: -70, high: -10 }])).to.deep.equal([-80, -60, -40, -20, 0]);
  });

  it("reads a ready job's result with intervals and says whether it is final", () => {
    const spec = kmPerDayJob({ collectionDeadline: 2_000_000_000 });
    const final = resultView(spec, [10, 20, 30, 5, 2, 1], 10, { final: true });
    expect(final.rows).to.have.length(6);
    for (const r of final.rows) expect(r.low <= r.estimate && r.estimate <= r.high, r.label).to.equal(true);
    expect(final.note).to.match(/^final; /);
    // One rule for the bars, stated; the projection beside the raw estimates: never negative, adding up to 10 × 7 days.
    expect(final.errorBars).to.equal(
      "error bars cover the privacy noise only, given who answered; stdDev is 1 standard deviation; [low, high] the 95% normal interval",
    );
    expect(final.projection).to.match(/^projected: the closest point .* adds up to 70; post-processing .* keeps the DP guarantee$/);
    const projected = final.rows.map((r) => r.projected as number);
    for (const p of projected) expect(p).to.be.at.least(0);
    // Not closeTo: under the whole suite Hardhat's chai matchers take it over and refuse a non-integer tolerance.
    expect(Math.abs(projected.reduce((a, b) => a + b, 0) - 70)).to.be.below(1e-9);
    expect(resultView(spec, [10, 20, 30, 5, 2, 1], 10, { final: false, challengeEndsAt: 0 }).note).to.match(
      /^provisional \(challenge window ends 1970-01-01T00:00:00Z\); /,
    );
  });

  it("names the field a spec error points at, and nothing for other errors", () => {
    const spec = kmPerDayJob({ collectionDeadline: 2_000_000_000 }) as unknown as Record<string, unknown>;
    const fieldOf = (value: unknown) => {
      try {
        validateSpec(value, { now: 1_000_000_000 });
      } catch (err) {
        return specErrorField(err);
      }
      throw new Error("validateSpec took it");
    };
    expect(fieldOf({ ...spec, reward: "0" })).to.deep.include({ path: "reward", field: "reward" });
    expect(fieldOf({ ...spec, collectionDeadline: 5 })).to.deep.include({ field: "collectionDeadline" });
    expect(fieldOf({ ...spec, title: 7 })).to.deep.include({ path: "title", field: "title" });
    expect(fieldOf({ ...spec, extra: 1 })?.field).to.equal("(root)");
    const entries = (spec.output as { entries: { min: number; max: number }[] }).entries;
    const bad = {
      ...spec,
      output: { ...(spec.output as object), entries: entries.map((e, i) => (i === 2 ? { ...e, min: 9, max: 1 } : e)) },
    };
    expect(fieldOf(bad)).to.deep.include({ path: "output.entries[2]", field: "output" });
    expect(specErrorField(new TypeError("job spec: reward: no"))).to.equal(undefined);
    expect(specErrorField(undefined)).to.equal(undefined);
  });

  it("writes spans as a person reads them", () => {
    expect([40, 845, 7500, 2 * 86_400 + 3600, -5].map(formatSpan)).to.deep.equal(["40s", "14m 5s", "2h 5m", "2d 1h", "0s"]);
  });
});
