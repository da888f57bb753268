// The researcher's "Model (SEIR)" panel below a final result, tested at the function and component level (the app's
// browser journey that finalises a job takes minutes; the panel needs only the result's view): the series taken from
// the exposures-per-day job's rows, the chart's geometry over a real fit to a simulated epidemic, R0 in words, and
// the panel and chart rendered to markup with React's server renderer, and what the fit could not tell (a series that
// has not turned leaves the infectious period held) said in the panel.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { validateSpec } from "@mosaic/mapreduce";
import { fitSeir, type Observation, type SeirFit, simulateSeir } from "@mosaic/models";
import { expect } from "chai";
import * as React from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { resultView, type ResultView } from "@mosaic/mapreduce";
import { chartGeometry, DEFAULT_BOX, fitNotes, niceTicks, r0Words } from "../ui/research/model-chart.js";
import { ALL_KINDS, datedSeries, rowKinds } from "../ui/research/model-series.js";

// The app's .tsx compiles with Vite's automatic JSX runtime; tsx here compiles it to React.createElement. The module
// is named at run time so that the repository's type check (no JSX there) leaves it to the app's own.
(globalThis as { React?: unknown }).React = React;
const PANEL = "../ui/research/model-panel.tsx";
const JOBS = "../ui/research/model-jobs.ts";
const { ModelPanel, ModelResult } = (await import(PANEL)) as {
  ModelPanel: React.FC<{ view: ResultView; jobId: string }>;
  ModelResult: React.FC<{ fit: SeirFit; cases: Observation[]; jobId: string; unit: string }>;
};
const { parseJobIds } = (await import(JOBS)) as { parseJobIds(text: string): bigint[] };

const JOB = path.resolve(import.meta.dirname, "../../../jobs/exposures-per-day.json");
const FIRST_DAY = 20_000;
const dayAfter = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString().slice(0, 10);

describe("app: the researcher's SEIR panel", function () {
  this.timeout(60_000);
  let cases: Observation[];
  let fit: SeirFit;

  before(() => {
    const truth = simulateSeir({ population: 1e5, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 5, e0: 20, i0: 10, reportRate: 1 }, 40);
    cases = truth.incidence.map((value, k) => ({ day: FIRST_DAY + k, value: Math.round(value), sd: 10 }));
    fit = fitSeir({ cases }, { population: 1e5, horizonDays: 14, bootstrap: 20, seed: 7 });
  });

  it("reads the exposures-per-day job's rows: kinds after the date, one kind or a day's rows summed", async () => {
    const spec = validateSpec(JSON.parse(await readFile(JOB, "utf8")));
    // 7 days × (low, high), noised counts among 40 respondents.
    const aggregate = [2, 5, 3, 6, 1, 8, 4, 9, 2, 12, 5, 15, 3, 20];
    const view = resultView(spec, aggregate, 40, { final: true });
    expect(rowKinds(view.rows.map((r) => r.label))).to.deep.equal(["low", "high"]);
    const high = datedSeries(view, "high");
    const highRows = view.rows.filter((r) => r.label.endsWith("high"));
    expect(high).to.have.length(7);
    for (const [i, o] of high.entries()) expect(o.value).to.be.closeTo(highRows[i]?.estimate ?? Number.NaN, 1e-9);
    expect(high.every((o) => o.sd > 0)).to.equal(true);
    const both = datedSeries(view, ALL_KINDS);
    expect(both).to.have.length(7);
    expect(both[0]?.value).to.be.closeTo((view.rows[0]?.estimate ?? 0) + (view.rows[1]?.estimate ?? 0), 1e-9);
    // A day's two rows are different people: variances add.
    expect(both[0]?.sd).to.be.closeTo(Math.hypot(high[0]?.sd ?? 0, datedSeries(view, "low")[0]?.sd ?? 0), 1e-9);
    // A second job over the next week joins the series; a day both cover is combined, not doubled.
    const nextWeek = {
      ...view,
      rows: view.rows.map((r) => ({ ...r, label: r.label.replace(/^2026-1[12]-\d{2}/, (d) => dayAfter(d, 7)) })),
    };
    expect(datedSeries([view, nextWeek], ALL_KINDS)).to.have.length(14);
    const overlapping = {
      ...view,
      rows: view.rows.map((r) => ({ ...r, label: r.label.replace(/^2026-1[12]-\d{2}/, (d) => dayAfter(d, 6)) })),
    };
    const joined = datedSeries([view, overlapping], ALL_KINDS);
    expect(joined).to.have.length(13);
    expect(joined[6]?.sd).to.be.below(both[6]?.sd ?? 0);
    // Labels without a date give no kinds and no series (the panel then stays away).
    expect(rowKinds(["Berlin", "Paris"])).to.deep.equal([]);
    expect(datedSeries({ ...view, rows: view.rows.map((r, i) => ({ ...r, label: `region ${i}` })) }, ALL_KINDS)).to.deep.equal([]);
  });

  it("lays out the observations, their error bars, the fitted curve and the closed forecast band inside the box", () => {
    const g = chartGeometry(cases, fit);
    const { width, height, left, right, top, bottom } = DEFAULT_BOX;
    expect(g.observed).to.have.length(cases.length);
    for (const o of g.observed) {
      expect(o.x).to.be.within(left, width - right);
      expect(o.yHigh).to.be.at.most(o.y);
      expect(o.yLow).to.be.at.least(o.y);
      expect(o.yHigh).to.be.at.least(top - 1e-9);
      expect(o.yLow).to.be.at.most(height - bottom + 1e-9);
    }
    // x grows with the day; the forecast divider stands at the last observed day.
    expect(g.observed.map((o) => o.x)).to.deep.equal([...g.observed.map((o) => o.x)].sort((a, b) => a - b));
    expect(g.forecastX).to.equal(g.observed.at(-1)?.x);
    expect(g.fittedPath.startsWith("M ")).to.equal(true);
    expect(g.fittedPath.split(" L ")).to.have.length(fit.fitted.length);
    expect(g.bandPath.endsWith(" Z")).to.equal(true);
    expect(g.bandPath.split(" L ")).to.have.length(2 * fit.forecast.length);
    expect(g.forecastPath.split(" L ")).to.have.length(fit.forecast.length);
    // The y axis holds every observation's error bar, the fitted curve and the forecast's mean; the band above that
    // (and above half as much again) is clipped, and said.
    const axisTop = Number((g.yTicks.at(-1)?.label ?? "0").replaceAll(",", ""));
    const centre = Math.max(
      ...cases.map((c) => c.value + 1.96 * c.sd),
      ...fit.fitted.map((f) => f.value),
      ...fit.forecast.map((f) => f.mean),
    );
    expect(axisTop).to.be.at.least(centre);
    const bandHigh = Math.max(...fit.forecast.map((f) => f.high));
    expect(g.bandClippedAt).to.equal(bandHigh > axisTop ? bandHigh : undefined);
    const wide = chartGeometry(cases, { ...fit, forecast: fit.forecast.map((f) => ({ ...f, high: f.high + 100 * centre })) });
    expect(wide.bandClippedAt).to.be.above(100 * centre);
    expect(Number((wide.yTicks.at(-1)?.label ?? "0").replaceAll(",", ""))).to.be.below(3 * centre);
    // Without a fit: the points alone.
    const bare = chartGeometry(cases, undefined);
    expect(bare.bandPath).to.equal("");
    expect(bare.forecastX).to.equal(undefined);
  });

  it("job ids to add are whole numbers from 1, each once; anything else is a RangeError naming it", () => {
    expect(parseJobIds(" 3, 4 4,7 ")).to.deep.equal([3n, 4n, 7n]);
    expect(parseJobIds("")).to.deep.equal([]);
    expect(() => parseJobIds("3, x")).to.throw(RangeError, 'job ids: expected whole numbers from 1, got "x"');
    expect(() => parseJobIds("0")).to.throw(RangeError, '"0"');
  });

  it("ticks are 1, 2 or 5 × 10^k from zero past the maximum; R0 is said in words with its interval", () => {
    expect(niceTicks(9)).to.deep.equal([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(1234)).to.deep.equal([0, 500, 1000, 1500]);
    expect(niceTicks(0)).to.deep.equal([0, 1]);
    expect(r0Words({ r0: 2.5, r0Interval: [2.1, 2.9] })).to.equal(
      "R0 is about 2.50 (95% interval 2.10 to 2.90): the outbreak was growing: each case infected more than one other person on average.",
    );
    expect(r0Words({ r0: 0.8, r0Interval: [0.6, 0.95] })).to.match(/shrinking/);
    expect(r0Words({ r0: 1.05, r0Interval: [0.8, 1.3] })).to.match(/cannot tell/);
  });

  it("renders the chart as an SVG image with a title and a description, a point per day, the curve and the band", () => {
    const html = renderToStaticMarkup(React.createElement(ModelResult, { fit, cases, jobId: "4", unit: "people" }));
    expect(html).to.match(/<svg [^>]*role="img"[^>]*aria-labelledby="[^"]+-t [^"]+-d"/);
    expect(html).to.include("<title");
    expect(html).to.include("SEIR fit to job 4 (people per day)");
    expect(html).to.match(/<desc [^>]*>40 observed days from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}; fitted curve; forecast of 14 days/);
    expect(html.match(/data-testid="model-point"/g)).to.have.length(40);
    expect(html).to.include('data-testid="model-band"');
    expect(html).to.include('data-testid="model-fitted"');
    expect(html).to.include(r0Words(fit).replaceAll("'", "&#x27;"));
    expect(html.match(/<tr>/g)?.length).to.equal(15); // the forecast table: a header row and 14 days
  });

  it("says what the series could not tell: an epidemic that has not turned leaves the infectious period held, R0's interval wide", () => {
    // Forty days of a growing epidemic (R0 2.5, 1/γ = 5): the growth rate is fixed, β and γ apart are not.
    expect(fit.identified.gamma).to.equal(false);
    expect(fit.notes.length).to.be.greaterThan(0);
    const said = fitNotes(fit);
    expect(said.summary).to.equal(
      "The series does not show the epidemic turning, so it tells how fast cases grew but not how long a case stays infectious: the infectious period is held at 5 days, and R0's interval spans every value the data allow (infectious periods from 1 to 21 days).",
    );
    expect(said.notes).to.deep.equal(fit.notes);
    expect(said.heldInfectiousDays).to.deep.equal({ held: "5", allowed: ["1", "21"] });
    const asHtml = (t: string) => t.replaceAll("&", "&amp;").replaceAll("'", "&#x27;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
    const html = renderToStaticMarkup(React.createElement(ModelResult, { fit, cases, jobId: "4", unit: "people" }));
    expect(html).to.include('data-testid="model-notes"');
    expect(html).to.include(`data-testid="model-notes-summary">${asHtml(said.summary ?? "")}</p>`);
    for (const note of fit.notes) expect(html).to.include(`<li>${asHtml(note)}</li>`);
    expect(html).to.match(/data-testid="model-infectious">5 days, held: not identified by the series \(it allows 1 to 21\)<\/dd>/);
    // A series that identifies γ (here: the same fit, said so, with nothing to note) gets no notes and its fitted period.
    const identified = { ...fit, identified: { gamma: true }, notes: [] };
    expect(fitNotes(identified)).to.deep.equal({ notes: [] });
    const plain = renderToStaticMarkup(React.createElement(ModelResult, { fit: identified, cases, jobId: "4", unit: "people" }));
    expect(plain).not.to.include("model-notes");
    expect(plain).to.match(/data-testid="model-infectious">5 days<\/dd>/);
    // γ given (identified.gamma absent), a note at a range's edge is still shown, with no summary.
    const edge = { ...fit, identified: {}, notes: ["R0 is at its bound maxR0 = 20"] };
    expect(fitNotes(edge)).to.deep.equal({ notes: ["R0 is at its bound maxR0 = 20"] });
    const edgeHtml = renderToStaticMarkup(React.createElement(ModelResult, { fit: edge, cases, jobId: "4", unit: "people" }));
    expect(edgeHtml).to.include("<li>R0 is at its bound maxR0 = 20</li>");
    expect(edgeHtml).not.to.include("model-notes-summary");
  });

  it("the panel offers the row kinds, the population and the horizon, and stays away from results without dates", async () => {
    const spec = validateSpec(JSON.parse(await readFile(JOB, "utf8")));
    const view = resultView(spec, new Array(14).fill(3), 40, { final: true });
    const html = renderToStaticMarkup(React.createElement(ModelPanel, { view, jobId: "4" }));
    expect(html).to.include("Model (SEIR)");
    expect(html).to.match(
      /<option value="" selected="">every row of a day, summed<\/option><option value="low">low<\/option><option value="high">high<\/option>/,
    );
    expect(html).to.match(/data-testid="model-population" value="40"/);
    expect(html).to.include(">Fit SEIR</button>");
    const undated = { ...view, rows: view.rows.map((r, i) => ({ ...r, label: `region ${i}` })) };
    expect(renderToStaticMarkup(React.createElement(ModelPanel, { view: undated, jobId: "4" }))).to.equal("");
  });
});
