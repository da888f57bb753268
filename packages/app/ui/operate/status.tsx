// A reducer's own view, from its loopback status port (packages/worker/src/http.ts): health, the jobs it serves with
// their counts, its proposals and its verdicts on others' (challenges); and from the chain, the slashings that name it.
// The URLs the operator enters are kept in this browser's localStorage.
import { formatSpan, isoTime } from "@mosaic/mapreduce";
import { namedError } from "@mosaic/protocol";
import { formatEther } from "ethers";
import { useId, useState } from "react";
import { ErrorNote, Field, Progress, ScrollRegion, Section, shortAddress } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { LoadedNetwork } from "../network.ts";
import { chainOf, usePoll } from "../research/chain.ts";

/** The status port did not answer, or answered something that is not a reducer's status. */
export class ReducerUnreachableError extends namedError("ReducerUnreachableError") {}

/** The status URL typed is not an http(s) URL. */
export class InvalidStatusUrlError extends namedError("InvalidStatusUrlError") {}

const STORE_KEY = "mosaic.operate.statusUrls";
const POLL_MS = 5000;

function loadUrls(): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(STORE_KEY) ?? "[]");
    return Array.isArray(value) ? value.filter((u): u is string => typeof u === "string") : [];
  } catch {
    return [];
  }
}

function saveUrls(urls: string[]): void {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(urls));
  } catch {
    // Not kept across visits; still shown now.
  }
}

/** A status URL as typed, normalised (no trailing slash, no path beyond the origin). */
export function parseStatusUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidStatusUrlError(`Status URL: expected a URL such as http://127.0.0.1:9464, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidStatusUrlError(`Status URL: expected http:// or https://, got ${url.protocol}//`);
  return url.origin;
}

type Json = Record<string, unknown>;

async function getJson(base: string, path: string, signal: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]), cache: "no-store" });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ReducerUnreachableError(
      `${base} did not answer (${(err as Error).message}); check the reducer runs ('mosaic reducer start', status port --http-port, default 9464) and the URL is right`,
    );
  }
  if (!res.ok) throw new ReducerUnreachableError(`${base}${path} answered ${res.status}; is this a Mosaic reducer's status port?`);
  return res.json();
}

interface Slashing {
  jobId: string;
  index: number;
  proposer: string;
  challenger: string;
  slashedStake: bigint;
  challengerReward: bigint;
}

interface Status {
  health: Json;
  jobs: Json[];
  slashed: Slashing[];
  won: Slashing[];
}

async function readStatus(network: LoadedNetwork, base: string, signal: AbortSignal): Promise<Status> {
  const health = (await getJson(base, "/health", signal)) as Json;
  if (typeof health !== "object" || health === null || typeof health.status !== "string")
    throw new ReducerUnreachableError(`${base}/health is not a reducer's health (no status field); check the port`);
  const list = (await getJson(base, "/jobs", signal)) as Json[];
  const jobs = await Promise.all(
    (Array.isArray(list) ? list : []).map(async (j) =>
      typeof j.jobId === "string" && j.state !== "skipped" ? ((await getJson(base, `/jobs/${j.jobId}`, signal).catch(() => j)) as Json) : j,
    ),
  );
  const operator = typeof health.operator === "string" ? health.operator : undefined;
  let slashed: Slashing[] = [];
  let won: Slashing[] = [];
  if (operator !== undefined) {
    const { registry, fromBlock } = chainOf(network);
    const toSlashing = (
      e: Awaited<ReturnType<typeof registry.queryFilter<typeof registry.filters.ProposalFaulted>>>[number],
    ): Slashing => ({
      jobId: e.args.jobId.toString(),
      index: Number(e.args.index),
      proposer: e.args.proposer,
      challenger: e.args.challenger,
      slashedStake: e.args.slashedStake,
      challengerReward: e.args.challengerReward,
    });
    const [against, by] = await Promise.all([
      // Filter arguments follow the event's inputs: jobId, index (not indexed, so unfiltered), proposer, challenger.
      registry.queryFilter(registry.filters.ProposalFaulted(undefined, undefined, operator), fromBlock),
      registry.queryFilter(registry.filters.ProposalFaulted(undefined, undefined, undefined, operator), fromBlock),
    ]);
    slashed = against.map(toSlashing);
    won = by.map(toSlashing);
  }
  return { health, jobs, slashed, won };
}

export function StatusPanel() {
  const [urls, setUrls] = useState<string[]>(loadUrls);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string>();
  const id = useId();
  const add = () => {
    try {
      const url = parseStatusUrl(typed);
      setError(undefined);
      const next = urls.includes(url) ? urls : [...urls, url];
      setUrls(next);
      saveUrls(next);
      setTyped("");
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const remove = (url: string) => {
    const next = urls.filter((u) => u !== url);
    setUrls(next);
    saveUrls(next);
  };
  return (
    <Section title="Your reducers' status" id="status">
      <p className="muted">
        Each reducer serves its progress on a loopback status port (default http://127.0.0.1:9464). Enter it here; it is kept in this
        browser only.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <Field label="Status URL">
          <input
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            placeholder="http://127.0.0.1:9464"
            inputMode="url"
            aria-invalid={error !== undefined}
            aria-describedby={error === undefined ? undefined : id}
            data-testid="status-url"
          />
        </Field>
        <button type="submit">Add status URL</button>
      </form>
      {error === undefined ? null : (
        <p className="error" role="alert" id={id}>
          {error}
        </p>
      )}
      {urls.map((url) => (
        <StatusCard key={url} url={url} onRemove={() => remove(url)} />
      ))}
    </Section>
  );
}

const text = (v: unknown) => (v === undefined || v === null ? "—" : String(v));

function StatusCard({ url, onRemove }: { url: string; onRemove(): void }) {
  const { network } = useApp();
  const poll = usePoll((signal) => readStatus(network, url, signal), POLL_MS, url);
  const s = poll.value;
  const h = s?.health ?? {};
  return (
    <article className="card" data-testid="reducer-status" data-url={url} aria-label={`Reducer at ${url}`}>
      <div className="row">
        <h3 style={{ margin: 0 }}>
          <span className="mono">{url}</span>
        </h3>
        <button type="button" className="secondary" onClick={onRemove}>
          Remove {url}
        </button>
      </div>
      {s === undefined && poll.error === undefined ? <Progress label={`Asking ${url}`} /> : null}
      <ErrorNote error={poll.error} />
      {s === undefined ? null : (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="reducer-health">{text(h.status)}</dd>
            <dt>Operator</dt>
            <dd className="mono">{text(h.operator)}</dd>
            <dt>Peer id</dt>
            <dd className="mono">{text(h.peerId)}</dd>
            <dt>Peers connected</dt>
            <dd>{text(h.peers)}</dd>
            <dt>Chain time</dt>
            <dd>{typeof h.chainTime === "number" ? isoTime(h.chainTime) : "—"}</dd>
            <dt>Up for</dt>
            <dd>{typeof h.uptimeS === "number" ? formatSpan(h.uptimeS) : "—"}</dd>
          </dl>
          <h4>Jobs</h4>
          {s.jobs.length === 0 ? (
            <p className="muted">It serves no job yet.</p>
          ) : (
            <ScrollRegion label="Jobs this reducer serves">
              <table data-testid="reducer-jobs">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">State</th>
                    <th scope="col">Answers</th>
                    <th scope="col">Rejected</th>
                    <th scope="col">Its proposal</th>
                    <th scope="col">Verdicts on others' proposals</th>
                  </tr>
                </thead>
                <tbody>
                  {s.jobs.map((j) => (
                    <JobRow key={text(j.jobId)} job={j} />
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          )}
          <h4>Slashing</h4>
          <ul data-testid="reducer-slashing">
            {s.slashed.length === 0 ? <li>Never slashed.</li> : null}
            {s.slashed.map((x) => (
              <li key={`s-${x.jobId}-${x.index}`} className="error">
                Slashed {formatEther(x.slashedStake)} ETH on job {x.jobId}, proposal #{x.index}, proven false by{" "}
                {shortAddress(x.challenger)}
              </li>
            ))}
            {s.won.map((x) => (
              <li key={`w-${x.jobId}-${x.index}`} className="ok">
                Its challenge proved job {x.jobId} proposal #{x.index} by {shortAddress(x.proposer)} false: owed{" "}
                {formatEther(x.challengerReward)} ETH
              </li>
            ))}
          </ul>
        </>
      )}
    </article>
  );
}

function JobRow({ job: j }: { job: Json }) {
  const rejected = Object.entries((j.rejected as Record<string, number> | undefined) ?? {})
    .map(([k, v]) => `${k.replace(/Error$/, "")} ${v}`)
    .join(", ");
  const proposed = j.proposed as { count?: number; txHash?: string; bundleCid?: string } | undefined;
  const checked = (j.checked as { index: number; proposer: string; verdict: string; reason?: string }[] | undefined) ?? [];
  return (
    <tr data-job-id={text(j.jobId)}>
      <th scope="row">
        {text(j.jobId)}
        {typeof j.title === "string" ? <div className="muted">{j.title}</div> : null}
      </th>
      <td>{j.state === "skipped" ? `skipped: ${text(j.reason)}` : text(j.state)}</td>
      <td>
        {j.accepted === undefined ? "—" : `${text(j.accepted)} of ${text(j.minParticipants)} needed`}
        {j.announced === undefined ? null : <div className="muted">{text(j.announced)} announced</div>}
      </td>
      <td>{rejected || "none"}</td>
      <td>{proposed === undefined ? "—" : `${text(proposed.count)} answers (tx ${text(proposed.txHash).slice(0, 10)}…)`}</td>
      <td>
        {checked.length === 0
          ? "—"
          : checked.map((c) => (
              <div key={c.index}>
                #{c.index} by {shortAddress(c.proposer)}: {c.verdict}
                {c.reason === undefined ? "" : ` (${c.reason})`}
              </div>
            ))}
      </td>
    </tr>
  );
}
