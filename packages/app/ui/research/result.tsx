// A job's result: a bar chart with error bars drawn as SVG (no chart library), the same figures as a table (the raw
// unbiased estimate beside its projection), what the error bars cover and how the projection was made, and CSV / JSON
// downloads made in the page (Blob + object URL; nothing leaves the browser).
import { axisTicks, formatValue, type ResultRow, type ResultView, resultCsv } from "@mosaic/mapreduce";
import { useId } from "react";
import { ScrollRegion } from "../components.tsx";

/** Rows stacked top to bottom, each a label line then a horizontal bar from zero with its interval: readable on a phone. */
export function ResultChart({ view }: { view: ResultView }) {
  const id = useId();
  const ticks = axisTicks(view.rows);
  const [lo, hi] = [ticks[0] ?? 0, ticks.at(-1) ?? 1];
  const [width, left, right] = [420, 8, 412];
  const band = 46;
  const top = 8;
  const axisY = top + view.rows.length * band + 4;
  const height = axisY + 28;
  const x = (v: number) => left + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1)) * (right - left);
  return (
    <figure style={{ margin: "0 0 1rem", maxWidth: "44rem" }}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        data-testid="result-chart"
        style={{ display: "block", fontFamily: "inherit" }}
      >
        <title id={`${id}-t`}>{`${view.title}${view.unit ? ` (${view.unit})` : ""}`}</title>
        <desc id={`${id}-d`}>
          {view.rows
            .map(
              (r) =>
                `${r.label}: ${formatValue(r.estimate)}, ${view.confidence} interval ${formatValue(r.low)} to ${formatValue(r.high)}${
                  hasProjection(r) ? `, projected ${formatValue(r.projected)}` : ""
                }`,
            )
            .join("; ")}
        </desc>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={top} y2={axisY} stroke="currentColor" strokeOpacity={0.15} />
            <text x={x(t)} y={axisY + 16} fontSize={11} textAnchor="middle" fill="currentColor">
              {formatValue(t)}
            </text>
          </g>
        ))}
        <line x1={x(0)} x2={x(0)} y1={top} y2={axisY} stroke="currentColor" strokeWidth={1.5} />
        {view.rows.map((r, i) => {
          const y = top + i * band;
          const barY = y + 20;
          const finite = Number.isFinite(r.estimate);
          const whisker = Number.isFinite(r.low) && Number.isFinite(r.high) && r.low <= r.high;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows keep the spec's order; labels need not be unique
            <g key={`${i}-${r.label}`} data-testid="result-bar">
              <text x={left} y={y + 13} fontSize={12} fill="currentColor">
                {r.label.length > 60 ? `${r.label.slice(0, 59)}…` : r.label} — {formatValue(r.estimate)}
                {hasProjection(r) ? ` (projected ${formatValue(r.projected)})` : ""}
              </text>
              {finite ? (
                <rect
                  x={Math.min(x(0), x(r.estimate))}
                  y={barY}
                  width={Math.max(1, Math.abs(x(r.estimate) - x(0)))}
                  height={16}
                  fill="#4682b4"
                />
              ) : null}
              {whisker ? (
                <g stroke="#be3228" strokeWidth={2}>
                  <line x1={x(r.low)} x2={x(r.high)} y1={barY + 8} y2={barY + 8} />
                  <line x1={x(r.low)} x2={x(r.low)} y1={barY + 2} y2={barY + 14} />
                  <line x1={x(r.high)} x2={x(r.high)} y1={barY + 2} y2={barY + 14} />
                </g>
              ) : null}
              {hasProjection(r) ? (
                <path d={`M ${x(r.projected)} ${barY - 2} l 5 10 l -5 10 l -5 -10 z`} fill="currentColor" data-testid="result-projected" />
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="muted">
        Bars are the raw estimates; red whiskers are {view.confidence} intervals
        {view.rows.some(hasProjection) ? "; diamonds are the projected values" : ""}. n ={" "}
        {Number.isFinite(view.count) ? view.count.toLocaleString() : "n/a"}.
      </figcaption>
    </figure>
  );
}

/** A row whose projection differs from its raw estimate (the only ones worth a second mark). */
function hasProjection(r: ResultRow): r is ResultRow & { projected: number } {
  return r.projected !== undefined && Number.isFinite(r.projected) && r.projected !== r.estimate;
}

/** What the error bars cover and how the projection was made, said under the chart and table of every result. */
export function ResultNotes({ view }: { view: ResultView }) {
  if (view.errorBars === undefined && view.projection === undefined) return null;
  return (
    <ul className="muted result-notes" data-testid="result-notes">
      {view.errorBars === undefined ? null : <li data-testid="result-error-bars">{capitalized(view.errorBars)}.</li>}
      {view.projection === undefined ? null : <li data-testid="result-projection">{capitalized(view.projection)}.</li>}
    </ul>
  );
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1).replace(/\.$/, "");

export function ResultTable({ view }: { view: ResultView }) {
  const projected = view.rows.some((r) => r.projected !== undefined);
  return (
    <ScrollRegion label="Result table">
      <table data-testid="result-table">
        <caption className="muted" style={{ textAlign: "left" }}>
          {view.title}
          {view.unit ? ` (${view.unit})` : ""}, {view.confidence} intervals
        </caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Estimate (raw)</th>
            <th scope="col">± half-width</th>
            <th scope="col">Interval</th>
            {projected ? <th scope="col">Projected</th> : null}
          </tr>
        </thead>
        <tbody>
          {view.rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows keep the spec's order; labels need not be unique
            <tr key={`${i}-${r.label}`}>
              <th scope="row">{r.label}</th>
              <td>{formatValue(r.estimate)}</td>
              <td>{Number.isFinite((r.high - r.low) / 2) ? `± ${formatValue((r.high - r.low) / 2)}` : "n/a"}</td>
              <td>
                [{formatValue(r.low)}, {formatValue(r.high)}]
              </td>
              {projected ? <td>{formatValue(r.projected ?? r.estimate)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

/** Saves `text` as a file through a Blob URL: the download never touches a server. */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ResultDownloads({ view, base, json }: { view: ResultView; base: string; json: unknown }) {
  return (
    <div className="row">
      <button
        type="button"
        className="secondary"
        onClick={() => download(`${base}.csv`, "text/csv", resultCsv(view))}
        data-testid="download-csv"
      >
        Download CSV
      </button>
      <button
        type="button"
        className="secondary"
        onClick={() =>
          download(
            `${base}.json`,
            "application/json",
            `${JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
          )
        }
        data-testid="download-json"
      >
        Download JSON
      </button>
    </div>
  );
}
