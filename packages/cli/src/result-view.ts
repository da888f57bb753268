// Draws a job's aggregate results with their error bars: a text table, a terminal bar chart and a PNG bar chart
// (its Canvas and encodePng draw other PNG charts too, such as the model's).
import { stripVTControlCharacters } from "node:util";
import { crc32, deflateSync } from "node:zlib";
import { axisTicks, chartExtent, formatValue, type ResultRow, type ResultView } from "@mosaic/mapreduce";

export { formatValue, type ResultRow, type ResultView };

export interface TerminalChartOptions {
  /** Cells in the plot column (between the label and value columns), 8 to 1000. @default 60 */
  width?: number;
  /** Colour bars and intervals with ANSI escapes. @default false */
  color?: boolean;
}

export interface PngOptions {
  /** Pixels, 160 to 8192. @default 800 */
  width?: number;
  /** Pixels, 120 to 8192. @default 480 */
  height?: number;
}

/** A colour of the PNG charts. */
export type Rgb = readonly [number, number, number];

/** The colours of {@link renderPng}, for callers that read the image back. */
export const PNG_PALETTE = {
  background: [255, 255, 255],
  grid: [225, 225, 225],
  axis: [40, 40, 40],
  bar: [70, 130, 180],
  whisker: [190, 50, 40],
  text: [30, 30, 30],
} as const satisfies Record<string, Rgb>;

/** Longest label the terminal chart shows; longer ones end in "…". */
export const MAX_CHART_LABEL = 20;
const MAX_TABLE_LABEL = 40;

/** One line without control characters: titles and labels may come from whoever posted the job, and must not drive the terminal. */
const oneLine = (text: string) => text.replace(/[\s\p{Cc}]/gu, " ");

function headline(view: ResultView): string {
  const unit = view.unit ? ` (${view.unit})` : "";
  const count = Number.isFinite(view.count) ? view.count.toLocaleString("en-US") : "n/a";
  return oneLine(`${view.title}${unit}, n = ${count}, ${view.confidence} intervals`);
}

const columns = (text: string) => Array.from(text).length;

/** `text` on one line in exactly `width` columns: cut short with "…" or padded with spaces. */
function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const chars = Array.from(oneLine(text));
  if (chars.length > width) return width > 0 ? chars.slice(0, width - 1).join("") + "…" : "";
  const pad = " ".repeat(width - chars.length);
  return align === "left" ? chars.join("") + pad : pad + chars.join("");
}

const intervalText = (row: ResultRow) => `[${formatValue(row.low)}, ${formatValue(row.high)}]`;
const withNote = (lines: string[], note?: string) => [...lines, ...(note ? ["", note.replace(/(?!\n)\p{Cc}/gu, " ")] : [])].join("\n");

/**
 * An aligned table: label, raw estimate, ± half the interval's width, the interval, and the projected estimate beside
 * them (when the view has one); under it, what the error bars cover and how the projection was made, then the note.
 */
export function renderResultTable(view: ResultView): string {
  const projected = view.rows.some((row) => row.projected !== undefined);
  const header = ["label", "estimate", "± half-width", `${view.confidence} interval`, ...(projected ? ["projected"] : [])];
  const body = view.rows.map((row) => {
    const half = (row.high - row.low) / 2;
    const cells = [row.label, formatValue(row.estimate), Number.isFinite(half) ? `± ${formatValue(half)}` : "n/a", intervalText(row)];
    return projected ? [...cells, formatValue(row.projected ?? row.estimate)] : cells;
  });
  const widths = header.map((title, i) => {
    const widest = Math.max(columns(title), ...body.map((cells) => columns(cells[i]!)));
    return i === 0 ? Math.min(MAX_TABLE_LABEL, widest) : widest;
  });
  const line = (cells: string[]) => cells.map((cell, i) => fit(cell, widths[i]!, i === 0 ? "left" : "right")).join("  ");
  const rule = widths.map((width) => "─".repeat(width)).join("  ");
  // What the bars cover and how the projection was made: one line each, from the view (never terminal controls).
  const explained = [view.errorBars, view.projection].filter((text): text is string => !!text).map(oneLine);
  return withNote(
    [
      headline(view),
      "",
      line(header),
      rule,
      ...(body.length ? body.map(line) : ["(no rows)"]),
      ...(explained.length ? ["", ...explained] : []),
    ],
    view.note,
  );
}

function checkSize(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field}: expected an integer from ${min} to ${max}, got ${value}`);
  }
}

type Kind = "bar" | "interval" | "empty";
type Cell = { ch: string; kind: Kind };
/** Where values fall in a plot column `width` cells wide; `zero` is the cell just right of the zero axis. */
interface CellScale {
  width: number;
  zero: number;
  at(x: number): number;
}

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const ANSI: Record<Kind, string> = { bar: "\x1b[36m", interval: "\x1b[33m", empty: "\x1b[0m" };

/**
 * One line per row, `label │plot│ estimate [low, high]`, then an axis with the range's ends (and 0 when it lies inside).
 * The label column is as wide as the longest label, at most {@link MAX_CHART_LABEL}; the plot is exactly `width` cells,
 * bars grow from zero in eighths of a cell (halves on the negative side) and the interval is drawn `├──┤` over and around them.
 */
export function renderTerminalChart(view: ResultView, options: TerminalChartOptions = {}): string {
  const { width = 60, color = false } = options;
  checkSize("options.width", width, 8, 1000);
  if (view.rows.length === 0) return withNote([headline(view), "(no rows)"], view.note);
  const [lo, hi] = chartExtent(view.rows);
  const at = (x: number) => Math.min(width, Math.max(0, ((x - lo) / (hi - lo)) * width));
  const scale: CellScale = { width, zero: Math.round(at(0)), at };
  const labelWidth = Math.min(MAX_CHART_LABEL, Math.max(...view.rows.map((row) => columns(row.label))));
  const lines = view.rows.map((row) => {
    const value = `${formatValue(row.estimate)} ${intervalText(row)}`;
    return `${fit(row.label, labelWidth)} │${paint(plotRow(row, scale), color)}│ ${value}`;
  });
  const widest = Math.max(...lines.map((line) => columns(stripVTControlCharacters(line))));
  return withNote([fit(headline(view), widest).trimEnd(), ...lines, ...axisLines(scale, lo, hi, labelWidth)], view.note);
}

function plotRow(row: ResultRow, scale: CellScale): Cell[] {
  const cells = Array.from({ length: scale.width }, (): Cell => ({ ch: " ", kind: "empty" }));
  const tip = drawBar(cells, row.estimate, scale);
  drawInterval(cells, row, scale, tip);
  return cells;
}

/** Fills from the zero axis to `estimate` and returns the tip's index, -1 for no bar. Only left-aligned partial blocks exist, so the negative side rounds to halves (▐). */
function drawBar(cells: Cell[], estimate: number, { zero, at }: CellScale): number {
  if (!Number.isFinite(estimate)) return -1;
  const positive = estimate >= 0;
  const steps = positive ? 8 : 2;
  const length = Math.round(Math.max(0, positive ? at(estimate) - zero : zero - at(estimate)) * steps);
  const full = Math.floor(length / steps);
  let tip = -1;
  const put = (offset: number, ch: string) => {
    const i = positive ? zero + offset : zero - 1 - offset;
    if (i < 0 || i >= cells.length) return;
    cells[i] = { ch, kind: "bar" };
    tip = i;
  };
  for (let offset = 0; offset < full; offset++) put(offset, "█");
  if (length % steps) put(full, positive ? EIGHTHS[length % steps]! : "▐");
  return tip;
}

/** `├` and `┤` at the interval's ends (`┼` if they share a cell), `─` in the empty cells between; the bar's tip is never covered. */
function drawInterval(cells: Cell[], { low, high }: ResultRow, { at, width }: CellScale, tip: number): void {
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) return;
  const cellOf = (x: number) => Math.min(width - 1, Math.floor(at(x)));
  const [from, to] = [cellOf(low), cellOf(high)];
  for (let i = from + 1; i < to; i++) if (cells[i]!.kind === "empty") cells[i] = { ch: "─", kind: "interval" };
  const mark = (i: number, ch: string) => {
    if (i !== tip) cells[i] = { ch, kind: "interval" };
  };
  mark(from, from === to ? "┼" : "├");
  if (from !== to) mark(to, "┤");
}

function paint(cells: Cell[], color: boolean): string {
  if (!color) return cells.map((cell) => cell.ch).join("");
  let out = "";
  let kind: Kind = "empty";
  for (const cell of cells) {
    if (cell.kind !== kind) out += ANSI[cell.kind];
    out += cell.ch;
    kind = cell.kind;
  }
  return kind === "empty" ? out : out + ANSI.empty;
}

function axisLines({ width, zero }: CellScale, lo: number, hi: number, labelWidth: number): string[] {
  const rule = Array.from("─".repeat(width));
  if (zero > 0 && zero < width) rule[zero] = "┴";
  const ticks = Array<string>(width).fill(" ");
  const put = (text: string, start: number) => {
    const from = Math.max(0, Math.min(start, width - text.length));
    if (from + text.length > width || ticks.slice(Math.max(0, from - 1), from + text.length + 1).some((c) => c !== " ")) return;
    ticks.splice(from, text.length, ...text);
  };
  put(formatValue(lo), 0);
  put(formatValue(hi), width);
  if (lo < 0 && hi > 0) put("0", zero);
  const pad = " ".repeat(labelWidth);
  return [`${pad} └${rule.join("")}┘`, `${pad}  ${ticks.join("")}`.trimEnd()];
}

// 5x7 glyphs: each row's five pixels as one base-32 digit, leftmost pixel in the highest bit.
const FONT = new Map(
  `
  0:ehjlphe 1:4c4444e 2:eh1248v 3:v2421he 4:26aiv22 5:vgu11he 6:68guhhe 7:v124888 8:ehhehhe 9:ehhf12c A:ehhvhhh
  B:uhhuhhu C:ehggghe D:sihhhis E:vgguggv F:vgguggg G:ehgnhhf H:hhhvhhh I:e44444e J:72222ic K:hikokih L:ggggggv
  M:hrllhhh N:hhpljhh O:ehhhhhe P:uhhuggg Q:ehhhlid R:uhhukih S:fgge11u T:v444444 U:hhhhhhe V:hhhhha4 W:hhhllla
  X:hha4ahh Y:hhha444 Z:v1248gv .:00000cc ,:0000c48 -:000v000 +:044v440 %:op248j3 /:01248g0 ::0cc0cc0 (:2488842
  ):8422248 [:e88888e ]:e22222e =:00v0v00 ?:eh12404 _:000000v …:000000l ±:44v440v ':4480000 <:248g842 >:8421248
  !:4444404 *:04lel40 #:aavavaa &:cik8lid ":aa00000 ;:0cc0c48 °:c44c000`
    .trim()
    .split(/\s+/)
    .map((entry) => [entry[0]!, Array.from(entry.slice(2), (digit) => Number.parseInt(digit, 32))]),
);

const LOOK_ALIKES: Record<string, string> = {
  "–": "-",
  "—": "-",
  "−": "-",
  "×": "X",
  "≤": "<",
  "≥": ">",
  "‘": "'",
  "’": "'",
  "“": '"',
  "”": '"',
};

/**
 * What the PNG's font draws of `text`, one glyph per character: upper case, accents dropped (Ü as U), dashes and
 * quotes as their ASCII look-alikes; a character the font still lacks is drawn as "?".
 */
export function glyphText(text: string): string {
  return Array.from(text.toUpperCase(), (ch) => {
    const plain = (LOOK_ALIKES[ch] ?? ch).normalize("NFD").replace(/\p{M}/gu, "");
    return Array.from(plain).length === 1 && (plain === " " || FONT.has(plain)) ? plain : "?";
  }).join("");
}

/**
 * `text` on lines of at most `columns` characters, broken at spaces; a word longer than a line is split across lines.
 * Nothing is dropped: joining the lines with spaces gives the text back (with runs of spaces as one) wherever no word
 * had to be split.
 */
export function wrapText(text: string, columns: number): string[] {
  checkSize("columns", columns, 1, 100_000);
  const lines: string[] = [];
  let line: string[] = [];
  for (const word of oneLine(text)
    .split(" ")
    .filter((w) => w !== "")) {
    let chars = Array.from(word);
    if (line.length > 0 && line.length + 1 + chars.length <= columns) {
      line.push(" ", ...chars);
      continue;
    }
    if (line.length > 0) lines.push(line.join(""));
    while (chars.length > columns) {
      lines.push(chars.slice(0, columns).join(""));
      chars = chars.slice(columns);
    }
    line = chars;
  }
  if (line.length > 0 || lines.length === 0) lines.push(line.join(""));
  return lines;
}

/** An RGB image to draw the PNG charts on, white at first; {@link encodePng} writes it out. */
export class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, PNG_PALETTE.background);
  }

  /** Paints the rectangle between two corners, clipped to the canvas and never thinner than a pixel. */
  fill(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    const [left, right] = pixelSpan(x0, x1, this.width);
    const [top, bottom] = pixelSpan(y0, y1, this.height);
    for (let y = top; y < bottom; y++) for (let x = left; x < right; x++) this.pixels.set(color, (y * this.width + x) * 3);
  }

  /** Text in the built-in font ({@link glyphText}), each glyph 6 × `scale` pixels wide. */
  text(x: number, y: number, text: string, color: Rgb, scale: number): void {
    Array.from(glyphText(text)).forEach((ch, k) => {
      const rows = ch === " " ? [] : (FONT.get(ch) ?? FONT.get("?")!);
      rows.forEach((bits, row) => {
        for (let col = 0; col < 5; col++) {
          const [px, py] = [x + (k * 6 + col) * scale, y + row * scale];
          if (bits & (16 >> col)) this.fill(px, py, px + scale, py + scale, color);
        }
      });
    });
  }
}

function pixelSpan(a: number, b: number, limit: number): [number, number] {
  const from = Math.round(Math.min(a, b));
  return [Math.max(0, from), Math.min(limit, Math.max(from + 1, Math.round(Math.max(a, b))))];
}

/** Where a PNG chart puts things: the font scale, the title's and each label's lines, the plot's box and its y ticks. */
export interface PngLayout {
  /** Pixels per font pixel: 2 on large images when everything fits at 2, else 1. */
  scale: number;
  /** The headline (title, unit, count, intervals), wrapped to the image's width. */
  titleLines: string[];
  /** Each row's label, wrapped to its bar's slot. */
  labelLines: string[][];
  /** True if some text did not fit even at scale 1 and was cut with "…". */
  truncated: boolean;
  left: number;
  right: number;
  top: number;
  bottom: number;
  ticks: number[];
}

/** A glyph is 6 font pixels wide (5 and a space) and 7 tall; lines of text are 10 apart (times the text's scale). */
export const [CHAR_W, LINE_H] = [6, 10];
/** The plot keeps at least this share of the image's height; text beyond it is cut. */
const MIN_PLOT_SHARE = 0.4;

/** Where the title, labels, plot and y ticks (steps of 1, 2 or 5 × 10^k, about five, covering the data and zero) go. */
export function pngLayout(view: ResultView, options: PngOptions = {}): PngLayout {
  const { width = 800, height = 480 } = options;
  checkSize("options.width", width, 160, 8192);
  checkSize("options.height", height, 120, 8192);
  const ticks = axisTicks(view.rows);
  const tickColumns = Math.max(...ticks.map((t) => formatValue(t).length)) + 2;
  const attempt = (s: number, cut: boolean): PngLayout | undefined => {
    const [left, right] = [tickColumns * CHAR_W * s, width - 10 * s];
    const slot = (right - left) / Math.max(1, view.rows.length);
    const titleLines = wrapText(headline(view), Math.max(1, Math.floor((width - 16 * s) / (CHAR_W * s))));
    const labelColumns = Math.max(1, Math.floor((slot - 2 * s) / (CHAR_W * s)));
    const labelLines = view.rows.map((row) => wrapText(row.label, labelColumns));
    const tallest = Math.max(1, ...labelLines.map((lines) => lines.length));
    const textHeight = (titleLines.length + tallest - 2) * LINE_H * s;
    const [top, bottom] = [22 * s, height - 16 * s];
    if (bottom - top - textHeight >= MIN_PLOT_SHARE * height)
      return {
        scale: s,
        titleLines,
        labelLines,
        truncated: false,
        left,
        right,
        ticks,
        top: top + (titleLines.length - 1) * LINE_H * s,
        bottom: bottom - (tallest - 1) * LINE_H * s,
      };
    if (!cut) return undefined;
    // Even at scale 1 the text leaves too little room: as many lines as fit, split between title and labels, the last cut.
    const spare = Math.max(0, Math.floor((bottom - top - MIN_PLOT_SHARE * height) / (LINE_H * s)));
    const titleRoom = Math.min(titleLines.length - 1, Math.ceil(spare / 2));
    const labelRoom = Math.min(tallest - 1, spare - titleRoom);
    const keep = (lines: string[], n: number, columns: number) =>
      lines.length <= n ? lines : [...lines.slice(0, n - 1), fit(`${lines.slice(n - 1).join(" ")}`, columns)];
    return {
      scale: s,
      titleLines: keep(titleLines, titleRoom + 1, Math.max(1, Math.floor((width - 16 * s) / (CHAR_W * s)))),
      labelLines: labelLines.map((lines) => keep(lines, labelRoom + 1, labelColumns)),
      truncated: true,
      left,
      right,
      ticks,
      top: top + titleRoom * LINE_H * s,
      bottom: bottom - labelRoom * LINE_H * s,
    };
  };
  const large = width >= 600 && height >= 360;
  return (large ? attempt(2, false) : undefined) ?? attempt(1, false) ?? (attempt(1, true) as PngLayout);
}

/** The layout's scales: bar slots and the y axis. */
function plotArea(layout: PngLayout, rows: number) {
  const { scale: s, left, right, top, bottom, ticks } = layout;
  const [lo, hi] = [ticks[0] as number, ticks.at(-1) as number];
  const slot = (right - left) / Math.max(1, rows);
  const centre = (i: number) => left + slot * (i + 0.5);
  const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  return { s, charWidth: CHAR_W * s, left, right, top, bottom, ticks, slot, centre, y };
}
type PlotArea = ReturnType<typeof plotArea>;

/** A vertical bar chart with error whiskers, y ticks, the headline as title and the labels under the bars, all whole (see {@link pngLayout}). */
export function renderPng(view: ResultView, options: PngOptions = {}): Uint8Array {
  const { width = 800, height = 480 } = options;
  const layout = pngLayout(view, options);
  const canvas = new Canvas(width, height);
  const area = plotArea(layout, view.rows.length);
  const { s, left, right, top, bottom, slot, centre, y } = area;
  const { axis, bar, text } = PNG_PALETTE;
  for (const tick of area.ticks) {
    const label = formatValue(tick);
    canvas.fill(left, y(tick), right, y(tick) + 1, PNG_PALETTE.grid);
    canvas.text(left - (label.length + 1) * area.charWidth, y(tick) - 3.5 * s, label, text, s);
  }
  for (const [k, line] of layout.titleLines.entries()) canvas.text(8 * s, 8 * s + k * LINE_H * s, line, text, s);
  view.rows.forEach((row, i) => {
    if (Number.isFinite(row.estimate)) canvas.fill(centre(i) - slot * 0.3, y(0), centre(i) + slot * 0.3, y(row.estimate), bar);
  });
  canvas.fill(left - s, top, left, bottom, axis);
  canvas.fill(left - s, y(0), right, y(0) + s, axis);
  for (const [i, row] of view.rows.entries()) drawWhiskerAndLabel(canvas, area, row, layout.labelLines[i] ?? [], i);
  if (view.rows.length === 0) canvas.text((left + right) / 2 - 4 * area.charWidth, (top + bottom) / 2, "no rows", text, s);
  return encodePng(canvas);
}

function drawWhiskerAndLabel(
  canvas: Canvas,
  { s, charWidth, slot, bottom, centre, y }: PlotArea,
  row: ResultRow,
  lines: string[],
  i: number,
): void {
  const [cx, cap] = [centre(i), Math.max(2 * s, slot * 0.12)];
  if (Number.isFinite(row.low) && Number.isFinite(row.high)) {
    canvas.fill(cx - s / 2, y(row.high), cx + s / 2, y(row.low), PNG_PALETTE.whisker);
    for (const end of [row.low, row.high]) canvas.fill(cx - cap, y(end) - s / 2, cx + cap, y(end) + s / 2, PNG_PALETTE.whisker);
  }
  lines.forEach((line, k) => {
    const chars = Array.from(line).length;
    canvas.text(cx - (chars * charWidth) / 2, bottom + 5 * s + k * LINE_H * s, line, PNG_PALETTE.text, s);
  });
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** The canvas as a PNG: 8-bit RGB, every scanline with filter 0 (none): the flat colours deflate well without prediction. */
export function encodePng({ width, height, pixels }: Canvas): Uint8Array {
  const stride = width * 3;
  const scanlines = new Uint8Array(height * (stride + 1));
  for (let row = 0; row < height; row++) scanlines.set(pixels.subarray(row * stride, (row + 1) * stride), row * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth, colour type RGB, deflate, adaptive filtering, no interlace
  return Buffer.concat([PNG_SIGNATURE, chunk("IHDR", header), chunk("IDAT", deflateSync(scanlines)), chunk("IEND", new Uint8Array())]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
