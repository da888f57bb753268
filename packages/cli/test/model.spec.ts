// `mosaic model seir` without a chain: twelve weekly shared-mode exposures-per-day results (the real spec and
// resultView, with noise of the size their error bars state) over a simulated epidemic are read into a series,
// fitted and drawn; the PNG is decoded. The command line's parsing and refusals run in a child process.
import { inflateSync } from "node:zlib";
import { exposuresPerDayJob, resultView, withMode } from "@mosaic/mapreduce";
import { dayIso, seededRandom, simulateSeir } from "@mosaic/models";
import { expect } from "chai";
import { renderSeirPng, SEIR_PNG_PALETTE, seirChartLayout } from "../src/model-chart.js";
import { finalResult, formatModelSeir, modelFromResults, noiseWarning, ResultNotFinalError } from "../src/model.js";
import type { Rgb } from "../src/result-view.js";
import { failed, mosaic } from "./run.js";

const DAY_S = 86_400;
const FIRST_DEADLINE = 1_796_126_400; // 2026-12-01T12:00Z: the first job reads 2026-11-25 .. 2026-12-01
const FIRST_DAY = FIRST_DEADLINE / DAY_S - 6.5;
const WEEKS = 12;
const TRUTH = { population: 1_000_000, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 5, e0: 40, i0: 20, reportRate: 0.02 };

/** Week k's finalised result, as jobResult returns it: low and high risk rows (60/40) of the reported new cases, noised. */
function weeklyResults(seed: number) {
  const sim = simulateSeir(TRUTH, WEEKS * 7 + 28);
  const rng = seededRandom(seed);
  const results = Array.from({ length: WEEKS }, (_, week) => {
    const collectionDeadline = FIRST_DEADLINE + week * 7 * DAY_S;
    const spec = withMode(exposuresPerDayJob({ collectionDeadline, days: 7 }), "shared");
    const sd = (resultView(spec, new Array(14).fill(0), 20_000, { final: true }).rows[0]!.high ?? 0) / 1.959963984540054;
    const aggregate = Array.from({ length: 7 }, (_, d) => sim.incidence[week * 7 + d]!).flatMap((cases) => [
      Math.round(0.6 * cases + sd * rng.normal()),
      Math.round(0.4 * cases + sd * rng.normal()),
    ]);
    const view = resultView(spec, aggregate, 20_000, { final: true });
    return {
      jobId: String(week + 1),
      final: true,
      title: spec.title,
      view,
      standing: { collectionDeadline, summary: "final" },
    };
  });
  return { sim, results };
}

describe("mosaic model seir: job results to a fit and a chart", function () {
  this.timeout(120_000);

  it("reads twelve weekly exposures-per-day results as 84 days and recovers R0 within ±15% with respondents as the report rate", () => {
    const { sim, results } = weeklyResults(3);
    const cases = results.map(finalResult);
    expect(cases[0]!.job).to.deep.include({ jobId: "1", count: 20_000, day: "2026-12-01" });
    const r = modelFromResults(cases, undefined, { population: 1_000_000, horizonDays: 21 });
    expect(r.cases).to.have.length(WEEKS * 7);
    expect(dayIso(r.cases[0]!.day)).to.equal("2026-11-25");
    expect(r.cases[0]!.day).to.equal(FIRST_DAY);
    expect(r.respondents).to.equal(20_000);
    expect(r.fit.params.reportRate).to.equal(0.02);
    expect(Math.abs(r.fit.r0 / 2.5 - 1)).to.be.below(0.15);
    expect(r.fit.forecast).to.have.length(21);
    const held = r.fit.forecast.filter((f, h) => sim.incidence[WEEKS * 7 + h]! >= f.low && sim.incidence[WEEKS * 7 + h]! <= f.high);
    expect(held.length / 21).to.be.at.least(0.8);
    expect(r.notes).to.deep.equal([]);
    expect(r.warnings).to.deep.equal([]);
    const text = formatModelSeir(r);
    expect(text).to.match(/^SEIR fit to jobs 1, 2, .*, 12: 84 days, 2026-11-25 to 2027-02-16\n/);
    expect(text).to.match(/\nR0 \d\.\d\d {2}\(95% interval \d\.\d\d–\d\.\d\d, \d+ bootstrap refits\)\n/);
    expect(text).to.contain("report rate 0.02");

    // --rows 'high$': the high-risk rows only, 40% of the cases.
    const high = modelFromResults(cases, undefined, { population: 1_000_000, rows: /high$/, bootstrap: 0 });
    const sum = (xs: { value: number }[]) => xs.reduce((a, b) => a + b.value, 0);
    // Plain comparisons here: hardhat's chai matchers (loaded by other spec files in the same mocha worker) take
    // closeTo and within for bigints.
    const share = sum(high.cases) / sum(r.cases);
    expect(Math.abs(share - 0.4) < 0.05, String(share)).to.equal(true);
    // No --population: the respondents are the population, and the note says so.
    const alone = modelFromResults(cases, undefined, { bootstrap: 0 });
    expect(alone.population).to.equal(20_000);
    expect(alone.notes[0]).to.match(/no --population: the model covers the 20000 respondents only/);
  });

  it("says what the fit assumed: γ held on a series still in its early growth, in the text and in --json's fit", () => {
    const { results } = weeklyResults(3);
    const early = modelFromResults(results.slice(0, 4).map(finalResult), undefined, { population: 1_000_000, bootstrap: 0 });
    expect(early.fit.identified.gamma).to.equal(false);
    expect(early.fit.notes.length).to.be.at.least(1);
    const text = formatModelSeir(early);
    for (const n of early.fit.notes) expect(text).to.contain(`\nnote: ${n}`);
    expect(text).to.match(/γ 1\/[\d.]+ days \(held: the series does not identify it; see the note\)/);
    expect(text).to.match(/\nnote: γ is not identified by the series/);
    const json = JSON.parse(JSON.stringify(early));
    expect(json.fit.notes).to.deep.equal(early.fit.notes);
    expect(json.fit.identified).to.deep.equal({ gamma: false });
  });

  it("refuses a result that is not final, by name", () => {
    const { results } = weeklyResults(1);
    const provisional = { ...results[0]!, final: false, standing: { ...results[0]!.standing, summary: "provisional: proposal #0 leads" } };
    expect(() => finalResult(provisional)).to.throw(ResultNotFinalError, /job 1 has no final result \(provisional: proposal #0 leads\)/);
    expect(() => finalResult({ ...results[0]!, view: undefined })).to.throw(ResultNotFinalError);
  });

  it("draws the model chart as a PNG: points with error bars, the fitted line, the band only in forecast columns, the marker, dates, R0", () => {
    const { results } = weeklyResults(2);
    const r = modelFromResults(results.map(finalResult), undefined, { population: 1_000_000, horizonDays: 28, bootstrap: 20 });
    const about = { title: "exposures", respondents: r.respondents };
    const png = renderSeirPng(r.cases, r.fit, about);
    expect(Buffer.from(renderSeirPng(r.cases, r.fit, about)).equals(Buffer.from(png)), "the same bytes twice").to.equal(true);
    const image = decodePng(png);
    const l = seirChartLayout(r.cases, r.fit, about);
    expect([image.width, image.height]).to.deep.equal([112 * 6 + 160, 480]);
    expect([l.width, l.height, l.scale]).to.deep.equal([image.width, image.height, 2]);
    expect(l.subtitleLines[0]).to.equal(
      `R0 ${r.fit.r0.toFixed(2)} (95% interval ${r.fit.r0Interval[0].toFixed(2)}-${r.fit.r0Interval[1].toFixed(2)})`,
    );
    expect(l.subtitleLines.join(" ")).to.contain("among 20000 respondents, observed 2026-11-25 to 2027-02-16, forecast to 2027-03-16");
    // Dates: MM-DD from the first day, far enough apart that labels (5 glyphs) never touch.
    expect(l.dateTicks[0]).to.deep.equal({ day: FIRST_DAY, label: "11-25" });
    expect(l.dateTicks.length >= 3 && l.dateTicks.length <= 8, String(l.dateTicks.length)).to.equal(true);
    for (const [i, t] of l.dateTicks.entries()) if (i > 0) expect(l.x(t.day) - l.x(l.dateTicks[i - 1]!.day)).to.be.at.least(6 * 12);

    const p = SEIR_PNG_PALETTE;
    const inPlot = (x: number, y: number) => x >= l.left && x < l.right && y >= l.top && y < l.bottom;
    const columnsOf = (colour: Rgb) => {
      const xs = new Set<number>();
      for (let y = 0; y < image.height; y++)
        for (let x = 0; x < image.width; x++) if (inPlot(x, y) && isColour(image, x, y, colour)) xs.add(x);
      return [...xs].sort((a, b) => a - b);
    };
    const lastObserved = r.cases.at(-1)!.day;
    const forecastFrom = Math.round(l.x(r.fit.forecast[0]!.day));
    const forecastTo = Math.round(l.x(r.fit.forecast.at(-1)!.day));
    // The band: only in the forecast's columns, and in nearly all of them (the mean line covers it where the band is thin).
    const band = columnsOf(p.band);
    expect(band[0]).to.be.at.least(forecastFrom);
    expect(band.at(-1)).to.be.at.most(forecastTo);
    expect(band.length).to.be.at.least(0.9 * (forecastTo - forecastFrom));
    // The fitted line: in the observed days' columns only, within a few pixels of the fitted value at each day's centre.
    const fitted = columnsOf(p.fitted);
    expect(fitted[0]).to.be.at.least(Math.floor(l.x(FIRST_DAY)) - 2);
    expect(fitted.at(-1)).to.be.at.most(Math.ceil(l.x(lastObserved)) + 2);
    expect(fitted.length).to.be.at.least(0.9 * (l.x(lastObserved) - l.x(FIRST_DAY)));
    let near = 0;
    for (const f of r.fit.fitted) {
      const [x, y] = [Math.round(l.x(f.day)), Math.round(l.y(f.value))];
      // The forecast's mean line starts at the last fitted point and may be drawn over it.
      const colours = f.day === lastObserved ? [p.fitted, p.observed, p.forecast] : [p.fitted, p.observed];
      if ([-3, -2, -1, 0, 1, 2, 3].some((dy) => colours.some((c) => isColour(image, x, y + dy, c)))) near++;
    }
    expect(near).to.equal(r.fit.fitted.length);
    // The forecast's mean line: from the last fitted point on, through the band.
    const mean = columnsOf(p.forecast);
    expect(mean[0]).to.be.at.least(Math.floor(l.x(lastObserved)) - 2);
    expect(mean.at(-1)).to.be.at.most(forecastTo + 2);
    // Each observed day: its point at its value (when inside the plot), its error bar above and below it.
    for (const o of r.cases) {
      const [x, y] = [Math.round(l.x(o.day)), Math.round(l.y(o.value))];
      if (!inPlot(x, y)) continue;
      expect(isColour(image, x, y, p.observed), `point of ${dayIso(o.day)}`).to.equal(true);
      const barTop = Math.max(l.top, Math.round(l.y(o.value + 1.96 * o.sd)));
      const greyAbove = Array.from({ length: y - barTop - 4 }, (_, k) => barTop + 1 + k).filter((yy) => isColour(image, x, yy, p.errorBar));
      expect(greyAbove.length, `error bar of ${dayIso(o.day)}`).to.be.greaterThan(0);
    }
    // The marker: a dashed line in the first forecast day's column.
    const dashes = Array.from({ length: l.bottom - l.top }, (_, k) => l.top + k).filter((y) => isColour(image, forecastFrom, y, p.marker));
    expect(dashes.length >= 0.3 * (l.bottom - l.top) && dashes.length <= 0.7 * (l.bottom - l.top), String(dashes.length)).to.equal(true);
    // The legend above the plot holds a swatch of each colour.
    for (const colour of [p.observed, p.errorBar, p.fitted, p.forecast, p.band]) {
      let found = false;
      for (let y = 0; y < l.top && !found; y++) for (let x = 0; x < image.width && !found; x++) found = isColour(image, x, y, colour);
      expect(found).to.equal(true);
    }
    expect(l.clipped).to.equal(false);
  });

  it("cuts error bars that dwarf the signal at the plot's edge, says so, and warns in the fit's text", () => {
    const { results } = weeklyResults(4);
    const r = modelFromResults(results.map(finalResult), undefined, { population: 1_000_000, bootstrap: 0 });
    expect(r.warnings).to.deep.equal([]);
    // Local-DP error bars at 3000 respondents (the exposures-per-day spec in local mode says how wide) over the same counts.
    const local = exposuresPerDayJob({ collectionDeadline: FIRST_DEADLINE, days: 7 });
    const localSd = resultView(local, new Array(14).fill(0), 3000, { final: true }).rows[0]!.high / 1.959963984540054;
    const rng = seededRandom(9);
    const noisy = results.map((result) => ({
      ...result,
      view: {
        ...result.view,
        count: 3000,
        rows: result.view.rows.map((row) => {
          const estimate = row.estimate + localSd * rng.normal();
          return { ...row, estimate, low: estimate - 1.959963984540054 * localSd, high: estimate + 1.959963984540054 * localSd };
        }),
      },
    }));
    const n = modelFromResults(noisy.map(finalResult), undefined, { population: 1_000_000, bootstrap: 0 });
    expect(n.warnings).to.have.length(1);
    expect(n.warnings[0]).to.match(
      /^the cases' error bars dwarf the signal \(median sd \d+ a day against the fitted curve's peak of [\d.]+\)/,
    );
    expect(n.warnings[0]).to.contain("fit shared-mode results");
    expect(formatModelSeir(n)).to.contain(`\nwarning: ${n.warnings[0]}`);
    // A quiet start under the noise is no reason to warn while the curve rises well above it.
    const quiet = [...Array.from({ length: 9 }, (_, day) => ({ day, value: 2, sd: 20 })), { day: 9, value: 300, sd: 20 }];
    expect(noiseWarning("cases", quiet, [{ value: 1 }, { value: 290 }])).to.equal(undefined);
    expect(noiseWarning("deaths", quiet, [{ value: 1 }, { value: 15 }])).to.match(
      /^the deaths' error bars dwarf the signal \(median sd 20 a day/,
    );

    const l = seirChartLayout(n.cases, n.fit, { title: "noisy", respondents: 3000 });
    expect(l.clipped).to.equal(true);
    const image = decodePng(renderSeirPng(n.cases, n.fit, { title: "noisy", respondents: 3000 }));
    // A bar that reaches past the top runs to the plot's edge and stops there: no grey in its column above or below the plot.
    const cut = n.cases.find((o) => l.y(o.value + 1.96 * o.sd) < l.top);
    expect(cut).to.not.equal(undefined);
    const x = Math.round(l.x(cut!.day));
    const grey = (y: number) => isColour(image, x, y, SEIR_PNG_PALETTE.errorBar);
    expect(grey(l.top + 1)).to.equal(true);
    const outside = Array.from({ length: image.height }, (_, y) => y).filter((y) => y < l.top - 1 || y > l.bottom + 1);
    expect(outside.filter(grey)).to.deep.equal([]);
  });

  it("lays out a small image with less text and refuses sizes out of range, by RangeError", () => {
    const { results } = weeklyResults(5);
    const r = modelFromResults(results.map(finalResult), undefined, { population: 1_000_000, horizonDays: 7, bootstrap: 0 });
    const about = { title: "exposures", respondents: 20_000 };
    const small = seirChartLayout(r.cases, r.fit, about, { width: 200, height: 150 });
    expect(small.scale).to.equal(1);
    expect(small.titleLines).to.have.length(1);
    expect(small.bottom - small.top).to.be.greaterThan(30);
    expect(decodePng(renderSeirPng(r.cases, r.fit, about, { width: 200, height: 150 })).width).to.equal(200);
    expect(() => renderSeirPng(r.cases, r.fit, about, { width: 100 })).to.throw(
      RangeError,
      /options\.width: expected an integer from 160 to 8192, got 100/,
    );
    expect(() => renderSeirPng(r.cases, r.fit, about, { height: 1.5 })).to.throw(RangeError, /options\.height/);
  });
});

interface Decoded {
  width: number;
  height: number;
  /** RGB, 3 bytes a pixel, rows top to bottom. */
  pixels: Uint8Array;
}

/** Reads the PNG back: signature, IHDR (8-bit RGB), one IDAT, every scanline with filter 0 as encodePng writes them. */
function decodePng(png: Uint8Array): Decoded {
  const bytes = Buffer.from(png);
  expect([...bytes.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.toString("latin1", 12, 16)).to.equal("IHDR");
  const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  expect([bytes[24], bytes[25]]).to.deep.equal([8, 2]);
  const idatAt = bytes.indexOf("IDAT", 0, "latin1");
  const raw = inflateSync(bytes.subarray(idatAt + 4, idatAt + 4 + bytes.readUInt32BE(idatAt - 4)));
  const stride = width * 3;
  expect(raw.length).to.equal(height * (stride + 1));
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).to.equal(0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, pixels };
}

const isColour = ({ width, height, pixels }: Decoded, x: number, y: number, [r, g, b]: Rgb) =>
  x >= 0 &&
  y >= 0 &&
  x < width &&
  y < height &&
  pixels[(y * width + x) * 3] === r &&
  pixels[(y * width + x) * 3 + 1] === g &&
  pixels[(y * width + x) * 3 + 2] === b;

describe("mosaic model: the command line", function () {
  this.timeout(120_000);

  it("prints its help, and refuses a missing --jobs, a bad id list, a bad regex, --deaths-rows alone, by name", async () => {
    const top = await mosaic(["model"], process.cwd());
    expect(top.code).to.equal(0);
    expect(top.stdout).to.match(/^mosaic model — epidemic models fitted to finalised job results/);
    const seir = await mosaic(["model", "seir", "--help"], process.cwd());
    expect(seir.code).to.equal(0);
    expect(seir.stdout).to.contain("Usage: mosaic model seir --jobs ID,ID,...");
    expect(seir.stdout).to.contain("--population N");
    expect(seir.stdout).to.match(/local-DP job .* noise in a day's count\ngrows with √n/);
    expect(seir.stdout).to.contain("most useful on shared-mode results ('mosaic job new ... --mode shared'");
    failed(await mosaic(["model", "seir", "--rpc", "http://127.0.0.1:9"], process.cwd()), 2, "UsageError", /--jobs ID,\.\.\. is required/);
    failed(
      await mosaic(["model", "seir", "--jobs", "1,,2"], process.cwd()),
      1,
      "RangeError",
      /--jobs: expected job ids separated by commas/,
    );
    failed(await mosaic(["model", "seir", "--jobs", "1,x"], process.cwd()), 1, "RangeError", /--jobs: expected a job id/);
    failed(await mosaic(["model", "seir", "--jobs", "1,1"], process.cwd()), 1, "RangeError", /named twice/);
    failed(
      await mosaic(["model", "seir", "--jobs", "1", "--rows", "("], process.cwd()),
      1,
      "RangeError",
      /--rows: not a regular expression/,
    );
    failed(await mosaic(["model", "seir", "--jobs", "1", "--population=0"], process.cwd()), 1, "RangeError", /--population/);
    failed(
      await mosaic(["model", "seir", "--jobs", "1", "--deaths-rows", "x"], process.cwd()),
      2,
      "UsageError",
      /--deaths-rows needs --deaths-jobs/,
    );
    const down = await mosaic(
      ["model", "seir", "--jobs", "1", "--rpc", "http://127.0.0.1:9", "--registry", "0x0000000000000000000000000000000000000001"],
      { cwd: process.cwd(), env: { MOSAIC_NETWORK: undefined } },
    );
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^mosaic: RpcUnreachableError: .*127\.0\.0\.1:9/m);
  });
});
