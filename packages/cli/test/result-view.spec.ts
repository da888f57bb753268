// Tests of the result views: the text table, the terminal bar chart, and the PNG read back by a small decoder written here.
import { stripVTControlCharacters } from "node:util";
import { crc32, inflateSync } from "node:zlib";
import { expect } from "chai";
import fc from "fast-check";
import {
  formatValue,
  glyphText,
  MAX_CHART_LABEL,
  PNG_PALETTE,
  pngLayout,
  type ResultRow,
  type ResultView,
  renderPng,
  renderResultTable,
  renderTerminalChart,
  wrapText,
} from "../src/result-view.js";
import { expectNear } from "../../../test/helpers.js";

const row = (label: string, estimate: number, low = estimate, high = estimate): ResultRow => ({ label, estimate, low, high });
const view = (rows: ResultRow[], extra: Partial<ResultView> = {}): ResultView => ({
  title: "Daily steps",
  unit: "thousand steps",
  count: 1204,
  confidence: "95%",
  rows,
  ...extra,
});

const WEEK = view([
  row("Mon", 6.2, 5.8, 6.7),
  row("Tue", 7.9, 7.3, 8.4),
  row("Wed", 8.6, 8.0, 9.3),
  row("Thu", 5.1, 4.2, 6.0),
  row("Fri", 3.4, 2.1, 4.6),
  row("Weekend (Sat + Sun average)", 9.8, 8.1, 11.6),
]);

describe("formatValue", () => {
  it("keeps about three significant digits and says n/a for what is not a number", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [-0, "0"],
      [12.345, "12.3"],
      [0.012345, "0.0123"],
      [-2.5, "-2.5"],
      [1234.5, "1235"],
      [12_345_678, "1.23e+7"],
      [0.00001234, "1.23e-5"],
      [Number.NaN, "n/a"],
      [Number.POSITIVE_INFINITY, "n/a"],
    ];
    for (const [value, text] of cases) expect(formatValue(value), String(value)).to.equal(text);
  });
});

describe("renderResultTable", () => {
  it("lists every label with its estimate, half-width and interval in aligned columns", () => {
    const lines = renderResultTable(WEEK).split("\n");
    expect(lines[0]).to.equal("Daily steps (thousand steps), n = 1,204, 95% intervals");
    expect(lines[2]).to.match(/^label\s+estimate\s+± half-width\s+95% interval$/);
    const body = lines.slice(4);
    expect(body).to.have.length(WEEK.rows.length);
    WEEK.rows.forEach((r, i) => {
      expect(body[i]).to.match(new RegExp(`^${r.label.replace(/[()+]/g, "\\$&")}\\s`));
      expect(body[i]).to.contain(` ${formatValue(r.estimate)} `);
      expect(body[i]).to.contain(`± ${formatValue((r.high - r.low) / 2)}`);
      expect(body[i]).to.match(new RegExp(`\\[${formatValue(r.low)}, ${formatValue(r.high)}\\]$`));
    });
    expect(new Set(lines.slice(2).map((line) => Array.from(line).length)).size, "all rows equally wide").to.equal(1);
  });

  it("shows NaN as n/a, says when there are no rows, cuts long labels and appends the note", () => {
    const long = "x".repeat(100);
    const text = renderResultTable(view([row("broken", Number.NaN, Number.NaN, 3), row(long, 1)], { note: "Bootstrap intervals." }));
    const broken = text.split("\n").find((line) => line.startsWith("broken"));
    expect(broken).to.match(/broken\s+n\/a\s+n\/a\s+\[n\/a, 3\]$/);
    expect(text)
      .to.contain(`${"x".repeat(39)}…`)
      .and.not.contain("x".repeat(41));
    expect(text.endsWith("\n\nBootstrap intervals.")).to.equal(true);
    expect(renderResultTable(view([]))).to.contain("(no rows)");
  });

  it("shows the projected estimate beside the raw one, and says under the table what the bars cover and how the projection was made", () => {
    const projectedView = view(
      [
        { ...row("under 1 km", -1.4, -3.1, 0.3), projected: 0 },
        { ...row("1-4 km", 8.4, 6.7, 10.1), projected: 7 },
      ],
      {
        errorBars: "error bars cover the privacy noise only, given who answered; [low, high] the 95% normal interval",
        projection: "projected: the closest point that is never negative and adds up to 7",
        note: "final; shared mode",
      },
    );
    const lines = renderResultTable(projectedView).split("\n");
    expect(lines[2]).to.match(/^label\s+estimate\s+± half-width\s+95% interval\s+projected$/);
    expect(lines[4]).to.match(/^under 1 km\s+-1\.4\s+± 1\.7\s+\[-3\.1, 0\.3\]\s+0$/);
    expect(lines[5]).to.match(/^1-4 km\s+8\.4\s+± 1\.7\s+\[6\.7, 10\.1\]\s+7$/);
    expect(new Set(lines.slice(2, 6).map((line) => Array.from(line).length)).size, "all rows equally wide").to.equal(1);
    expect(lines.slice(6)).to.deep.equal([
      "",
      "error bars cover the privacy noise only, given who answered; [low, high] the 95% normal interval",
      "projected: the closest point that is never negative and adds up to 7",
      "",
      "final; shared mode",
    ]);
    // A view without projections or explanations keeps the four columns and only its note.
    expect(renderResultTable(WEEK)).not.to.contain("projected");
    // The explanations come from whoever posted the job's spec: no control characters reach the terminal.
    const hostile = renderResultTable(view([row("a", 1)], { errorBars: "bars\x1b[2J\ncover", projection: "p\x07" }));
    expect(hostile).not.to.match(/\p{Cc}(?<!\n)/u);
    expect(hostile).to.contain("bars [2J cover");
  });
});

/** The plot column of each row line (between the two │), with colours removed. */
function plots(chart: string): string[] {
  return stripVTControlCharacters(chart)
    .split("\n")
    .filter((line) => line.includes("│"))
    .map((line) => line.split("│")[1]!);
}

const PARTIALS = " ▏▎▍▌▋▊▉█";
/** A positive bar's length in eighths of a cell, read from its tip (interval marks may cover the inside of the bar). */
function barEighths(plot: string): number {
  const cells = Array.from(plot);
  const tip = cells.findLastIndex((c) => PARTIALS.indexOf(c) > 0);
  return tip < 0 ? 0 : tip * 8 + PARTIALS.indexOf(cells[tip]!);
}

describe("renderTerminalChart", () => {
  it("draws one line per row, bars proportional to the estimates, and an axis with the range", () => {
    const chart = renderTerminalChart(view([row("a", 10), row("b", 20), row("c", 40)]), { width: 40 });
    const lines = chart.split("\n");
    expect(lines[0]).to.equal("Daily steps (thousand steps), n = 1,204, 95% intervals");
    expect(plots(chart).map(barEighths)).to.deep.equal([80, 160, 320]);
    expect(lines[1]).to.equal(`a │${"█".repeat(10)}┼${" ".repeat(29)}│ 10 [10, 10]`);
    expect(lines.at(-2)).to.equal(`  └${"─".repeat(40)}┘`);
    expect(lines.at(-1)).to.equal(`   0${" ".repeat(37)}40`);
  });

  it("draws the interval as ├──┤ over and after the bar, keeping the bar's tip", () => {
    // 20 cells over [0, 10]: two cells per unit.
    const [wide, withinTip] = plots(renderTerminalChart(view([row("a", 5.3, 4, 8), row("b", 5.3, 4, 5.4), row("c", 10)]), { width: 20 }));
    expect(wide).to.equal("████████├█▋─────┤   ");
    expect(withinTip).to.equal("████████├█▋         ");
  });

  it("keeps the plot exactly `width` cells and the label column within MAX_CHART_LABEL, coloured or not", () => {
    for (const width of [8, 33, 60, 200]) {
      const plain = renderTerminalChart(WEEK, { width });
      const coloured = renderTerminalChart(WEEK, { width, color: true });
      expect(coloured).to.contain("\x1b[36m█");
      expect(stripVTControlCharacters(coloured)).to.equal(plain);
      const lines = plain.split("\n");
      const rows = lines.filter((line) => line.includes("│"));
      expect(rows).to.have.length(WEEK.rows.length);
      for (const line of rows) {
        const [label, plot] = line.split("│");
        expect(Array.from(plot!)).to.have.length(width);
        expect(Array.from(label!)).to.have.length(MAX_CHART_LABEL + 1);
      }
      const widest = Math.max(...rows.map((line) => Array.from(line).length));
      for (const line of lines) expect(Array.from(line).length).to.be.at.most(widest);
    }
  });

  it("cuts long labels with … and shows NaN as n/a without a bar", () => {
    const chart = renderTerminalChart(view([row("a".repeat(50), 3, 2, 4), row("missing", Number.NaN)]));
    const lines = chart.split("\n");
    expect(lines[1]!.startsWith(`${"a".repeat(MAX_CHART_LABEL - 1)}… │`)).to.equal(true);
    expect(lines[2]).to.match(/^missing\s+│ {60}│ n\/a \[n\/a, n\/a\]$/);
  });

  it("puts negative bars left of a zero axis and intervals across it", () => {
    const chart = renderTerminalChart(view([row("down", -3, -4, -2), row("up", 3, -1, 4)]), { width: 40 });
    const [down, up] = plots(chart);
    // 40 cells over [-4, 4]: zero falls after cell 19.
    expect(down).to.equal(`├────█████┤${"█".repeat(9)}${" ".repeat(20)}`);
    expect(up).to.equal(`${" ".repeat(15)}├────${"█".repeat(15)}────┤`);
    const lines = chart.split("\n");
    expect(lines.at(-2)).to.equal(`     └${"─".repeat(20)}┴${"─".repeat(19)}┘`);
    expect(lines.at(-1)).to.equal(`      -4${" ".repeat(18)}0${" ".repeat(18)}4`);
  });

  it("keeps control characters in titles, labels and notes from reaching the terminal", () => {
    const hostile = view([row("red\x1b[31m\nrow", 1)], { title: "t\x1b]0;owned\x07", note: "first\nsecond\x1b[2J" });
    for (const text of [renderTerminalChart(hostile), renderResultTable(hostile)]) {
      expect(text).to.not.contain("\x1b").and.not.contain("\x07");
      expect(text).to.contain("red [31m row").and.contain("first\nsecond [2J");
    }
    expect(plots(renderTerminalChart(hostile))).to.have.length(1);
  });

  it("handles all-zero data and no rows", () => {
    const [plot] = plots(renderTerminalChart(view([row("zero", 0), row("also", 0, 0, 0)]), { width: 10 }));
    expect(plot).to.equal("┼         ");
    expect(renderTerminalChart(view([]))).to.equal("Daily steps (thousand steps), n = 1,204, 95% intervals\n(no rows)");
  });

  it("rejects a width it cannot draw", () => {
    for (const width of [0, 7, 2.5, Number.NaN]) expect(() => renderTerminalChart(WEEK, { width })).to.throw(RangeError, "options.width");
  });

  it("never draws a longer estimate with a shorter bar (property)", () => {
    const estimate = fc.double({ min: 0, max: 1e6, noNaN: true });
    const rows = fc.array(
      fc.tuple(estimate, estimate, estimate).map(([e, a, b]) => row("r", e, Math.min(e, a, b), Math.max(e, a, b))),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(rows, fc.integer({ min: 8, max: 120 }), (rs, width) => {
        const lengths = plots(renderTerminalChart(view(rs), { width })).map(barEighths);
        for (const [i, a] of rs.entries()) {
          for (const [j, b] of rs.entries()) if (a.estimate < b.estimate) expect(lengths[i]).to.be.at.most(lengths[j]!);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

interface Decoded {
  width: number;
  height: number;
  rgb(x: number, y: number): [number, number, number];
}

/** Reads a PNG back, checking its structure on the way: signature, chunk CRCs, IHDR, scanline length and filter bytes. */
function decodePng(png: Uint8Array): Decoded {
  const bytes = Buffer.from(png);
  expect([...bytes.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    expect(bytes.readUInt32BE(at + 8 + length), `${type} CRC`).to.equal(crc32(bytes.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  expect(chunks[0]?.type).to.equal("IHDR");
  expect(chunks.at(-1)?.type).to.equal("IEND");
  const header = chunks[0]!.data;
  const [width, height] = [header.readUInt32BE(0), header.readUInt32BE(4)];
  const [depth, colourType, compression, filter, interlace] = header.subarray(8);
  expect(depth).to.equal(8);
  expect(colourType).to.be.oneOf([2, 6]);
  expect([compression, filter, interlace]).to.deep.equal([0, 0, 0]);
  const bpp = colourType === 2 ? 3 : 4;
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  const stride = width * bpp;
  expect(raw.length).to.equal(height * (1 + stride));
  const pixels = unfilter(raw, height, stride, bpp);
  return {
    width,
    height,
    rgb: (x, y) => [...pixels.subarray((y * width + x) * bpp, (y * width + x) * bpp + 3)] as [number, number, number],
  };
}

function unfilter(raw: Buffer, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    expect(filter, `filter byte of row ${y}`).to.be.within(0, 4);
    for (let x = 0; x < stride; x++) {
      const [a, b, c] = [
        x >= bpp ? out[y * stride + x - bpp]! : 0,
        y ? out[(y - 1) * stride + x]! : 0,
        x >= bpp && y ? out[(y - 1) * stride + x - bpp]! : 0,
      ];
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter]!;
      out[y * stride + x] = (raw[y * (stride + 1) + 1 + x]! + predicted) & 0xff;
    }
  }
  return out;
}

const isColour = (image: Decoded, x: number, y: number, colour: readonly number[]) => image.rgb(x, y).every((v, i) => v === colour[i]);

/** Runs of columns holding bar colour, left to right: where each bar is and its top and bottom rows. */
function bars(image: Decoded): { from: number; to: number; top: number; bottom: number }[] {
  const found: { from: number; to: number; top: number; bottom: number }[] = [];
  for (let x = 0; x < image.width; x++) {
    const ys = Array.from({ length: image.height }, (_, y) => y).filter((y) => isColour(image, x, y, PNG_PALETTE.bar));
    if (ys.length === 0) continue;
    const last = found.at(-1);
    if (last && last.to === x - 1)
      Object.assign(last, { to: x, top: Math.min(last.top, ys[0]!), bottom: Math.max(last.bottom, ys.at(-1)!) });
    else found.push({ from: x, to: x, top: ys[0]!, bottom: ys.at(-1)! });
  }
  return found;
}

describe("renderPng", () => {
  it("writes a valid 8-bit RGB PNG of the asked size", () => {
    for (const [width, height] of [
      [800, 480],
      [160, 120],
      [333, 517],
    ] as const) {
      const image = decodePng(renderPng(WEEK, { width, height }));
      expect([image.width, image.height]).to.deep.equal([width, height]);
    }
    const image = decodePng(renderPng(WEEK));
    expect([image.width, image.height]).to.deep.equal([800, 480]);
    expect(isColour(image, 0, 0, PNG_PALETTE.background)).to.equal(true);
  });

  it("draws bars as tall as their estimates, the tallest reaching near the top, with whiskers at the interval ends", () => {
    const image = decodePng(renderPng(view([row("low", 2, 1.75, 2.25), row("tall", 8, 7.75, 8.25), row("mid", 4, 3.75, 4.25)])));
    const found = bars(image);
    expect(found).to.have.length(3);
    const heights = found.map((b) => b.bottom - b.top + 1);
    expectNear(heights[1]! / heights[0]!, 4, 0.1);
    expectNear(heights[2]! / heights[0]!, 2, 0.1);
    const tallest = found[1]!;
    expect(tallest.top, "the tallest bar's top is in the upper third").to.be.below(image.height / 3);
    expect(new Set(found.map((b) => b.bottom)).size, "bars stand on one axis").to.equal(1);
    const centre = Math.round((tallest.from + tallest.to) / 2);
    const whisker = Array.from({ length: 40 }, (_, k) => tallest.top - 20 + k).filter((y) =>
      isColour(image, centre, y, PNG_PALETTE.whisker),
    );
    expect(whisker, "a whisker crosses the tallest bar's top").to.not.be.empty;
    expect(Math.min(...whisker)).to.be.below(tallest.top);
  });

  it("hangs negative bars below the zero axis", () => {
    const [down, up] = bars(decodePng(renderPng(view([row("down", -3, -4, -2), row("up", 3, 2, 4)]))));
    expectNear(down!.top, up!.bottom, 3);
    expectNear(down!.bottom - down!.top, up!.bottom - up!.top, 3);
  });

  it("copes with no rows, NaN, all zeros and long labels", () => {
    for (const v of [view([]), view([row("nan", Number.NaN)]), view([row("a", 0), row("b", 0)]), view([row("l".repeat(500), 1, 0, 2)])]) {
      decodePng(renderPng(v, { width: 200, height: 150 }));
    }
    expect(() => renderPng(WEEK, { width: 100 })).to.throw(RangeError, "options.width");
    expect(() => renderPng(WEEK, { height: 1e6 })).to.throw(RangeError, "options.height");
  });

  it("always writes a decodable PNG and a full-width terminal chart, whatever the numbers (property)", () => {
    // fc.double() includes NaN, ±Infinity, -0, subnormals and ±Number.MAX_VALUE, which once overflowed the tick arithmetic.
    const value = fc.oneof(fc.double(), fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0));
    const rows = fc.array(fc.record({ label: fc.string({ maxLength: 30 }), estimate: value, low: value, high: value }), { maxLength: 20 });
    fc.assert(
      fc.property(rows, (rs) => {
        const image = decodePng(renderPng(view(rs), { width: 160, height: 120 }));
        expect([image.width, image.height]).to.deep.equal([160, 120]);
        for (const plot of plots(renderTerminalChart(view(rs), { width: 30 }))) expect(Array.from(plot)).to.have.length(30);
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe("pngLayout and wrapText: the PNG's title and labels are whole", () => {
  const KM = ["under 1 km", "1-4 km", "5-9 km", "10-24 km", "25-49 km", "50 km or more"];
  const longTitle = "How far people travel: days by distance band over the last seven days, for every member of the open research group";

  it("wraps a long title and long band labels onto lines that hold every word, within the image", () => {
    const v = view(
      KM.map((label, i) => row(label, i + 1, i, i + 2)),
      { title: longTitle, unit: "days" },
    );
    for (const [width, height] of [
      [800, 480],
      [640, 360],
      [400, 300],
    ] as const) {
      const layout = pngLayout(v, { width, height });
      expect(layout.truncated, `${width}x${height}`).to.equal(false);
      expect(layout.titleLines.join(" ")).to.equal(`${longTitle} (days), n = 1,204, 95% intervals`);
      expect(layout.labelLines.map((lines) => lines.join(" "))).to.deep.equal(KM);
      const charWidth = 6 * layout.scale;
      for (const line of layout.titleLines) expect(Array.from(line).length * charWidth).to.be.at.most(width - 16 * layout.scale);
      const slot = (layout.right - layout.left) / KM.length;
      for (const line of layout.labelLines.flat()) expect(Array.from(line).length * charWidth, line).to.be.at.most(slot);
      expect(layout.titleLines.length, "the title needs more than one line").to.be.above(1);
      expect(layout.bottom - layout.top, "the plot keeps most of the height").to.be.at.least(0.4 * height);
      // The text sits outside the plot: below the last title line, above the first label line.
      expect(layout.top).to.be.at.least(8 * layout.scale + layout.titleLines.length * 10 * layout.scale);
      const tallest = Math.max(...layout.labelLines.map((l) => l.length));
      expect(layout.bottom + 5 * layout.scale + (tallest - 1) * 10 * layout.scale + 7 * layout.scale).to.be.at.most(height);
      expect(layout.titleLines.concat(layout.labelLines.flat()).join("")).not.to.contain("…");
    }
    // At 800×480 the stock labels each fit on one or two lines at the large scale.
    const stock = pngLayout(v);
    expect(stock.scale).to.equal(2);
    expect(stock.labelLines).to.deep.equal([["under 1 km"], ["1-4 km"], ["5-9 km"], ["10-24 km"], ["25-49 km"], ["50 km or", "more"]]);
  });

  it("splits a word longer than a line without losing a character", () => {
    expect(wrapText("a".repeat(25), 10)).to.deep.equal(["a".repeat(10), "a".repeat(10), "a".repeat(5)]);
    expect(wrapText("one  two\tthree", 7)).to.deep.equal(["one two", "three"]);
    expect(wrapText("", 5)).to.deep.equal([""]);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (text, columns) => {
        const lines = wrapText(text, columns);
        for (const line of lines) expect(Array.from(line).length).to.be.at.most(columns);
        const squash = (t: string) => t.replace(/[\s\p{Cc}]/gu, "");
        expect(lines.map(squash).join("")).to.equal(squash(text));
      }),
      { seed: 11, numRuns: 300 },
    );
    expect(() => wrapText("x", 0)).to.throw(RangeError, "columns");
  });

  it("cuts with … only when even the small font leaves the plot too little room", () => {
    const layout = pngLayout(view([row("l ".repeat(400), 1, 0, 2)]), { width: 200, height: 150 });
    expect(layout.truncated).to.equal(true);
    expect(layout.labelLines[0]?.at(-1)).to.match(/…$/);
    expect(layout.bottom - layout.top).to.be.at.least(0.4 * 150 - 1);
  });

  it("draws accented letters, dashes and comparison signs as the font's look-alikes, not as ?", () => {
    expect(glyphText("Zürich – ≥ 5 km <10 & #1!")).to.equal("ZURICH - > 5 KM <10 & #1!");
    expect(glyphText("日本")).to.equal("??");
  });
});
