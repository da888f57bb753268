// seriesFromResults: job result rows (label, estimate, 95% interval) into a daily series with sds, as the
// exposures-per-day ready job's labels ("2026-11-25 low") and undated results (dated by the job's day) give them.
import { expect } from "chai";
import { EmptySeriesError, InvalidResultError, isoDay, labelDay, type ResultLike, seriesFromResults } from "../src/index.js";

const row = (label: string, estimate: number, half: number) => ({ label, estimate, low: estimate - half, high: estimate + half });
const Z95 = 1.959963984540054;

describe("models: seriesFromResults", () => {
  it("dates rows by their label, sums a day's rows and adds their variances, sd = half-width / z", () => {
    const view: ResultLike = {
      confidence: "95%",
      rows: [row("2026-11-25 low", 10, Z95 * 3), row("2026-11-25 high", 4, Z95 * 4), row("2026-11-26 low", 7, Z95 * 2)],
    };
    const series = seriesFromResults([view]);
    expect(series.map((o) => o.day)).to.deep.equal([isoDay("2026-11-25"), isoDay("2026-11-26")]);
    expect(series[0]!.value).to.equal(14);
    expect(series[0]!.sd).to.be.closeTo(5, 1e-6);
    expect(series[1]!.sd).to.be.closeTo(2, 1e-6);
  });

  it("keeps only the rows the RegExp matches (a global one too)", () => {
    const view: ResultLike = { confidence: "90%", rows: [row("2026-11-25 low", 10, 1), row("2026-11-25 high", 4, 1)] };
    for (const re of [/high$/, /high$/g]) expect(seriesFromResults([view, view], { rows: re })[0]!.value).to.equal(4);
  });

  it("dates undated rows by the result's day; combines two results' same day by inverse variance", () => {
    const a: ResultLike = { confidence: "95%", day: 20_500, rows: [row("yes", 30, Z95 * 2)] };
    const b: ResultLike = { confidence: "95%", day: 20_500, rows: [row("yes", 40, Z95 * 4)] };
    const [o] = seriesFromResults([a, b], { rows: /^yes$/ });
    expect(o!.day).to.equal(20_500);
    // weights 1/4 and 1/16: (30/4 + 40/16) / (1/4 + 1/16) = 32
    expect(o!.value).to.be.closeTo(32, 1e-6);
    expect(o!.sd).to.be.closeTo(Math.sqrt(1 / (1 / 4 + 1 / 16)), 1e-6);
  });

  it("reads only real dates at a label's start", () => {
    expect(labelDay("2026-02-30 low")).to.equal(undefined);
    expect(labelDay("2026-11-250")).to.equal(undefined);
    expect(labelDay("low 2026-11-25")).to.equal(undefined);
    expect(labelDay("2026-11-25")).to.equal(isoDay("2026-11-25"));
  });

  it("refuses by name: a confidence that is not a percentage, non-finite rows, reversed intervals, undated rows without a day, no rows", () => {
    const bad: [ResultLike[], RegExp][] = [
      [[{ confidence: "bucket", rows: [row("2026-11-25", 1, 1)] }], /confidence/],
      [[{ confidence: "100%", rows: [row("2026-11-25", 1, 1)] }], /confidence/],
      [[{ confidence: "95%", rows: [row("2026-11-25", Number.NaN, 1)] }], /estimate/],
      [[{ confidence: "95%", rows: [{ label: "2026-11-25", estimate: 1, low: 2, high: 0 }] }], /reversed/],
      [[{ confidence: "95%", rows: [row("yes", 1, 1)] }], /no YYYY-MM-DD date/],
      [[{ confidence: "95%", day: 1.5, rows: [row("yes", 1, 1)] }], /day/],
    ];
    for (const [results, message] of bad) {
      const before = structuredClone(results);
      expect(() => seriesFromResults(results)).to.throw(InvalidResultError, message);
      expect(results).to.deep.equal(before);
    }
    expect(() => seriesFromResults([{ confidence: "95%", rows: [row("2026-11-25", 1, 1)] }], { rows: /nothing/ })).to.throw(
      EmptySeriesError,
      /nothing/,
    );
    expect(() => seriesFromResults([])).to.throw(EmptySeriesError);
  });
});
