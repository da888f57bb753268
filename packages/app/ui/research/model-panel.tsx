// "Model (SEIR)" under a final result whose rows are dated (e.g. exposures notified per day): the daily series taken
// from the rows with their DP error bars, an SEIR model fitted in the browser (a worker), and an SVG chart of the
// observations with their error bars, the fitted curve and the forecast with its band; R0 and its interval in words,
// and the same figures as a table; what the series could not tell (an infectious period held when the epidemic has
// not turned, parameters at a range's edge) in sentences. Other final jobs' results can join the series (consecutive weeks of one job).
import { formatValue, type ResultView } from "@mosaic/mapreduce";
import { dayIso as isoDay, type Observation, type SeirFit } from "@mosaic/models";
import { useId, useMemo, useState } from "react";
import { ErrorNote, Field, Progress, ScrollRegion, useAction } from "../components.tsx";
import type { LoadedNetwork } from "../network.ts";
import { chartGeometry, fitNotes, r0Words } from "./model-chart.ts";
import { fitSeirInWorker } from "./model-fit.ts";
import { finalResultView, parseJobIds } from "./model-jobs.ts";
import { ALL_KINDS, datedSeries, rowKinds } from "./model-series.ts";

/** The fewest dated points worth fitting a model to. */
export const MIN_POINTS = 4;

/** With `network`, the results of other final jobs can be added to the series. */
export function ModelPanel({ view, jobId, network }: { view: ResultView; jobId: string; network?: LoadedNetwork }) {
  const id = useId();
  const [others, setOthers] = useState<{ jobId: string; view: ResultView }[]>([]);
  const views = useMemo(() => [view, ...others.map((o) => o.view)], [view, others]);
  const kinds = useMemo(() => rowKinds(views.flatMap((v) => v.rows.map((r) => r.label))), [views]);
  const [kind, setKind] = useState<string>(kinds.length > 1 ? ALL_KINDS : (kinds[0] ?? ALL_KINDS));
  // A result whose intervals are not at a confidence (a bucket result) or whose rows are malformed is said, not drawn.
  const { series, seriesError } = useMemo(() => {
    try {
      return { series: datedSeries(views, kind), seriesError: undefined };
    } catch (err) {
      return { series: [], seriesError: err as unknown };
    }
  }, [views, kind]);
  const [otherIds, setOtherIds] = useState("");
  const add = useAction(async () => {
    if (network === undefined) return;
    const ids = parseJobIds(otherIds).filter((j) => j.toString() !== jobId && !others.some((o) => o.jobId === j.toString()));
    const loaded: { jobId: string; view: ResultView }[] = [];
    // All or nothing: a job that is not final (or not found) adds none of the ids typed.
    for (const j of ids) loaded.push({ jobId: j.toString(), view: await finalResultView(network, j) });
    setOthers((o) => [...o, ...loaded]);
    setOtherIds("");
  });
  const [population, setPopulation] = useState(() => String(Number.isFinite(view.count) && view.count > 0 ? view.count : 100_000));
  const [horizon, setHorizon] = useState("14");
  const [progress, setProgress] = useState<number>();
  const [fit, setFit] = useState<{ fit: SeirFit; cases: Observation[]; jobs: string[] }>();
  const run = useAction(async () => {
    setFit(undefined);
    const pop = Number(population.trim());
    if (!Number.isSafeInteger(pop) || pop < 1)
      throw new RangeError(`population: expected a whole number from 1, got ${JSON.stringify(population)}`);
    const days = Number(horizon.trim());
    if (!Number.isSafeInteger(days) || days < 1 || days > 365)
      throw new RangeError(`forecast days: expected a whole number from 1 to 365, got ${JSON.stringify(horizon)}`);
    try {
      // The result counts among the job's respondents; the model's population may be the whole town.
      // Several jobs: their respondents on average.
      const counts = views.map((v) => v.count).filter((c) => Number.isFinite(c) && c > 0);
      const mean = counts.length === 0 ? 0 : Math.round(counts.reduce((a, b) => a + b, 0) / counts.length);
      const respondents = mean > 0 && mean <= pop ? mean : undefined;
      const result = await fitSeirInWorker({ cases: series, population: pop, respondents, horizonDays: days, bootstrap: 100 }, setProgress);
      setFit({ fit: result, cases: series, jobs: [jobId, ...others.map((o) => o.jobId)] });
    } finally {
      setProgress(undefined);
    }
  });
  if (series.length < MIN_POINTS && kinds.length === 0) return null;
  return (
    <section aria-labelledby={`${id}-h`} className="model-panel" data-testid="model-panel">
      <h3 id={`${id}-h`}>Model (SEIR)</h3>
      <p className="muted">
        An SEIR model (susceptible, exposed, infectious, recovered) fitted here, in your browser, to the daily series in this result. Each
        day is weighted by its error bar, so the privacy noise is accounted for; the band is the forecast's 95% range.
      </p>
      {network === undefined ? null : (
        <>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              void add.run();
            }}
          >
            <Field label="Add the final results of jobs" hint="job ids, e.g. the same job for other weeks">
              <input value={otherIds} onChange={(e) => setOtherIds(e.target.value)} spellCheck={false} data-testid="model-other-jobs" />
            </Field>
            <button type="submit" className="secondary" disabled={add.busy || run.busy}>
              {add.busy ? "Reading…" : "Add"}
            </button>
          </form>
          <ErrorNote error={add.error} />
          {others.length === 0 ? null : (
            <ul data-testid="model-jobs">
              <li>Job {jobId} (this one)</li>
              {others.map((o) => (
                <li key={o.jobId}>
                  Job {o.jobId}: {o.view.title}{" "}
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => setOthers((all) => all.filter((x) => x.jobId !== o.jobId))}
                    aria-label={`Remove job ${o.jobId} from the series`}
                    disabled={run.busy}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run.run();
        }}
      >
        {kinds.length > 1 ? (
          <Field label="Rows">
            <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="model-rows">
              <option value={ALL_KINDS}>every row of a day, summed</option>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        <Field label="Population" hint="the people the epidemic can reach; the result counts among its respondents">
          <input inputMode="numeric" value={population} onChange={(e) => setPopulation(e.target.value)} data-testid="model-population" />
        </Field>
        <Field label="Forecast days">
          <input inputMode="numeric" value={horizon} onChange={(e) => setHorizon(e.target.value)} data-testid="model-horizon" />
        </Field>
        <button type="submit" disabled={run.busy || series.length < MIN_POINTS}>
          {run.busy ? "Fitting…" : "Fit SEIR"}
        </button>
      </form>
      <ErrorNote error={seriesError} />
      {series.length < MIN_POINTS && seriesError === undefined ? (
        <p className="muted">
          {series.length} dated day(s) in these rows; a model needs at least {MIN_POINTS}. Jobs over more days give a series to fit.
        </p>
      ) : null}
      {run.busy ? <Progress label="Fitting the model and its uncertainty" value={progress} max={1} /> : null}
      <ErrorNote error={run.error} />
      {fit === undefined ? null : <ModelResult fit={fit.fit} cases={fit.cases} jobId={fit.jobs.join(", ")} unit={view.unit} />}
    </section>
  );
}

export function ModelResult({ fit, cases, jobId, unit }: { fit: SeirFit; cases: Observation[]; jobId: string; unit: string }) {
  const id = useId();
  const g = chartGeometry(cases, fit);
  const { box } = g;
  const p = fit.params;
  const said = fitNotes(fit);
  return (
    <div data-testid="model-result">
      <p role="status" data-testid="model-r0">
        <strong>{r0Words(fit)}</strong>
      </p>
      {said.summary === undefined && said.notes.length === 0 ? null : (
        <div className="model-notes" data-testid="model-notes">
          {said.summary === undefined ? null : (
            <p className="warn" data-testid="model-notes-summary">
              {said.summary}
            </p>
          )}
          {said.notes.length === 0 ? null : (
            <>
              <p className="muted">What the fit assumed or ran into:</p>
              <ul className="muted">
                {said.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <figure style={{ margin: "0 0 1rem", maxWidth: "44rem" }}>
        <svg
          viewBox={`0 0 ${box.width} ${box.height}`}
          width="100%"
          role="img"
          aria-labelledby={`${id}-t ${id}-d`}
          data-testid="model-chart"
          style={{ display: "block", fontFamily: "inherit" }}
        >
          <title id={`${id}-t`}>{`SEIR fit to job${jobId.includes(",") ? "s" : ""} ${jobId}${unit ? ` (${unit} per day)` : ""}`}</title>
          <desc id={`${id}-d`}>
            {`${cases.length} observed days from ${isoDay(cases[0]?.day ?? 0)} to ${isoDay(cases.at(-1)?.day ?? 0)}; fitted curve; forecast of ${fit.forecast.length} days, ${
              fit.forecast.length === 0
                ? ""
                : `ending at ${formatValue(fit.forecast.at(-1)?.mean ?? Number.NaN)} (95% band ${formatValue(fit.forecast.at(-1)?.low ?? Number.NaN)} to ${formatValue(fit.forecast.at(-1)?.high ?? Number.NaN)})`
            }. ${r0Words(fit)}`}
          </desc>
          {g.yTicks.map((t) => (
            <g key={t.label}>
              <line x1={box.left} x2={box.width - box.right} y1={t.y} y2={t.y} stroke="currentColor" strokeOpacity={0.12} />
              <text x={box.left - 6} y={t.y + 4} fontSize={11} textAnchor="end" fill="currentColor">
                {t.label}
              </text>
            </g>
          ))}
          {g.xTicks.map((t) => (
            <text key={`${t.x}`} x={t.x} y={box.height - box.bottom + 16} fontSize={11} textAnchor="middle" fill="currentColor">
              {t.label}
            </text>
          ))}
          <line
            x1={box.left}
            x2={box.width - box.right}
            y1={box.height - box.bottom}
            y2={box.height - box.bottom}
            stroke="currentColor"
            strokeWidth={1.5}
          />
          {g.bandPath === "" ? null : <path d={g.bandPath} className="model-band" data-testid="model-band" />}
          {g.forecastX === undefined ? null : (
            <line
              x1={g.forecastX}
              x2={g.forecastX}
              y1={box.top}
              y2={box.height - box.bottom}
              stroke="currentColor"
              strokeDasharray="4 4"
              strokeOpacity={0.5}
            />
          )}
          {g.fittedPath === "" ? null : <path d={g.fittedPath} className="model-fitted" data-testid="model-fitted" />}
          {g.forecastPath === "" ? null : <path d={g.forecastPath} className="model-forecast" data-testid="model-forecast" />}
          {g.observed.map((o) => (
            <g key={o.day} className="model-observed" data-testid="model-point">
              <line x1={o.x} x2={o.x} y1={o.yHigh} y2={o.yLow} />
              <line x1={o.x - 3} x2={o.x + 3} y1={o.yHigh} y2={o.yHigh} />
              <line x1={o.x - 3} x2={o.x + 3} y1={o.yLow} y2={o.yLow} />
              <circle cx={o.x} cy={o.y} r={3.5} />
            </g>
          ))}
        </svg>
        <figcaption className="muted">
          Dots: the observed daily values with their 95% error bars (the privacy noise). Line: the fitted model. Dashed line and shaded band
          after the divider: the forecast and its 95% range
          {g.bandClippedAt === undefined ? "" : ` (it runs above the chart, up to ${formatValue(g.bandClippedAt)} at its widest)`}.
        </figcaption>
      </figure>
      <dl className="facts" data-testid="model-params">
        <dt>Model</dt>
        <dd>{fit.model}</dd>
        <dt>R0</dt>
        <dd>
          {formatValue(fit.r0)} [{formatValue(fit.r0Interval[0])}, {formatValue(fit.r0Interval[1])}]
        </dd>
        <dt>Incubation (1/σ)</dt>
        <dd>{formatValue(1 / p.sigma)} days</dd>
        <dt>Infectious period (1/γ)</dt>
        <dd data-testid="model-infectious">
          {said.heldInfectiousDays === undefined
            ? `${formatValue(1 / p.gamma)} days`
            : `${said.heldInfectiousDays.held} days, held: not identified by the series${said.heldInfectiousDays.allowed === undefined ? "" : ` (it allows ${said.heldInfectiousDays.allowed[0]} to ${said.heldInfectiousDays.allowed[1]})`}`}
        </dd>
        <dt>Reported share</dt>
        <dd>{formatValue(p.reportRate * 100)}%</dd>
        <dt>Residual sd</dt>
        <dd>{formatValue(fit.residualSd)}</dd>
      </dl>
      <details>
        <summary>The forecast as a table</summary>
        <ScrollRegion label="Forecast table">
          <table data-testid="model-forecast-table">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Forecast</th>
                <th scope="col">95% range</th>
              </tr>
            </thead>
            <tbody>
              {fit.forecast.map((f) => (
                <tr key={f.day}>
                  <th scope="row">{isoDay(f.day)}</th>
                  <td>{formatValue(f.mean)}</td>
                  <td>
                    {formatValue(f.low)} to {formatValue(f.high)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      </details>
    </div>
  );
}
