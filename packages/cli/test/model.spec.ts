// `mosaic model seir` without a chain: twelve weekly shared-mode exposures-per-day results (the real spec and
// resultView, with noise of the size their error bars state) over a simulated epidemic are read into a series,
// fitted and drawn; the PNG is decoded. The command line's parsing and refusals run in a child process.
import { inflateSync } from "node:zlib";
import { exposuresPerDayJob, resultView, withMode } from "@mosaic/mapreduce";
import { dayIso, seededRandom, simulateSeir } from "@mosaic/models";
import { expect } from "chai";
import { renderSeirPng, seirChartView } from "../src/model-chart.js";
import { finalResult, formatModelSeir, modelFromResults, ResultNotFinalError } from "../src/model.js";
import { PNG_PALETTE } from "../src/result-view.js";
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
    const text = formatModelSeir(r);
    expect(text).to.match(/^SEIR fit to jobs 1, 2, .*, 12: 84 days, 2026-11-25 to 2027-02-16\n/);
    expect(text).to.match(/\nR0 \d\.\d\d {2}\(95% interval \d\.\d\d–\d\.\d\d, \d+ bootstrap refits\)\n/);
    expect(text).to.contain("report rate 0.02");

    // --rows 'high$': the high-risk rows only, 40% of the cases.
    const high = modelFromResults(cases, undefined, { population: 1_000_000, rows: /high$/, bootstrap: 0 });
    const sum = (xs: { value: number }[]) => xs.reduce((a, b) => a + b.value, 0);
    expect(sum(high.cases) / sum(r.cases)).to.be.closeTo(0.4, 0.05);
    // No --population: the respondents are the population, and the note says so.
    const alone = modelFromResults(cases, undefined, { bootstrap: 0 });
    expect(alone.population).to.equal(20_000);
    expect(alone.notes[0]).to.match(/no --population: the model covers the 20000 respondents only/);
  });

  it("refuses a result that is not final, by name", () => {
    const { results } = weeklyResults(1);
    const provisional = { ...results[0]!, final: false, standing: { ...results[0]!.standing, summary: "provisional: proposal #0 leads" } };
    expect(() => finalResult(provisional)).to.throw(ResultNotFinalError, /job 1 has no final result \(provisional: proposal #0 leads\)/);
    expect(() => finalResult({ ...results[0]!, view: undefined })).to.throw(ResultNotFinalError);
  });

  it("draws the observed days and the forecast band as a PNG: signature, IHDR size, whiskers in the forecast", () => {
    const { results } = weeklyResults(2);
    const r = modelFromResults(results.map(finalResult), undefined, { population: 1_000_000, horizonDays: 28, bootstrap: 20 });
    const view = seirChartView(r.cases, r.fit, { title: "exposures", respondents: r.respondents });
    expect(view.rows).to.have.length(84 + 28);
    expect(view.rows[0]!.label).to.equal("11-25");
    expect(view.rows[84]!.label).to.equal("02-17");
    expect(view.rows[84]!.estimate).to.equal(r.fit.forecast[0]!.mean);
    const png = renderSeirPng(r.cases, r.fit, { title: "exposures", respondents: r.respondents });
    expect([...png.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const header = Buffer.from(png.subarray(8));
    expect(header.toString("latin1", 4, 8)).to.equal("IHDR");
    const [width, height] = [header.readUInt32BE(8), header.readUInt32BE(12)];
    expect([width, height]).to.deep.equal([112 * 6 + 160, 480]);
    // Decode the pixels (one IDAT, filter 0 per line) and find the band's whisker colour in the forecast's columns.
    const idatAt = header.indexOf("IDAT", 0, "latin1");
    const idatLength = header.readUInt32BE(idatAt - 4);
    const raw = inflateSync(header.subarray(idatAt + 4, idatAt + 4 + idatLength));
    expect(raw.length).to.equal(height * (width * 3 + 1));
    const whiskerColumns = new Set<number>();
    const [wr, wg, wb] = PNG_PALETTE.whisker;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const at = y * (width * 3 + 1) + 1 + x * 3;
        if (raw[at] === wr && raw[at + 1] === wg && raw[at + 2] === wb) whiskerColumns.add(x);
      }
    expect([...whiskerColumns].some((x) => x > width * 0.8)).to.equal(true);
  });
});

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
