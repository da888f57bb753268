// Exposure notification in the vault: what this device advertises today and holds; scans imported from a file; a
// health authority's feed followed from the chain and IPFS, matched and scored here (nothing about the person leaves
// the browser), the level and the authority's advice first; the anonymous upload of one's keys after a positive test;
// and the private hotspot check.
import { advertisementAt, keysToUpload, type RiskConfig } from "@mosaic/exposure";
import {
  collectionName,
  DEFAULT_TX_POWER_DBM,
  exposureNotifications,
  exposureRoot,
  importScanLines,
  type NotificationDoc,
  PROXIMITY,
  type ScanImport,
  type Vault,
} from "@mosaic/vault";
import { useCallback, useEffect, useState } from "react";
import { ErrorNote, Field, Progress, ScrollRegion, Section, useAction } from "../components.tsx";
import { type CheckStep, checkFeed, type FeedCheck } from "./exposure-check.ts";
import { HotspotCheck } from "./exposure-hotspots.tsx";
import { TypedPeerField, useBrowserNet } from "./browser-net.tsx";
import { type ExposureNet, exposureNet, type FeedView } from "./exposure-net.ts";
import { TestedPositive } from "./exposure-upload.tsx";

const DAY_S = 86_400;
const dayText = (day: number) => new Date(day * DAY_S * 1000).toLocaleDateString(undefined, { timeZone: "UTC", dateStyle: "medium" });
const shortHex = (bytes: Uint8Array) =>
  `${[...bytes.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("")}…${[...bytes.slice(-2)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

export function ExposureTab({ vault, changed }: { vault: Vault; changed(): void }) {
  // A typed peer (a health authority's IPFS node) joins the ones found in the network file and on-chain.
  const { extraPeer, setExtraPeer, getNet, netError } = useBrowserNet("mosaic-exposure-peer", exposureNet);
  const [feeds, setFeeds] = useState<FeedView[]>();
  const [feedId, setFeedId] = useState("");
  const list = useAction(
    useCallback(async () => {
      const all = await getNet().listFeeds();
      setFeeds(all);
      setFeedId((id) => (id === "" && all.length > 0 ? String(all[all.length - 1]?.feedId) : id));
    }, [getNet]),
  );
  const { run: runList } = list;
  useEffect(() => {
    if (netError === undefined) void runList();
  }, [runList, netError]);
  const listed = feeds?.find((f) => f.feedId.toString() === feedId.trim());
  // A feed typed that the list (read earlier) does not hold yet is read on its own.
  const [typed, setTyped] = useState<FeedView>();
  useEffect(() => {
    setTyped(undefined);
    const id = feedId.trim();
    if (listed !== undefined || netError !== undefined || !/^[1-9][0-9]{0,19}$/.test(id)) return;
    let current = true;
    getNet()
      .feed(BigInt(id))
      .then((f) => current && setTyped(f))
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [feedId, listed, netError, getNet]);
  const feed = listed ?? typed;
  return (
    <>
      <Status vault={vault} />
      <ImportScans vault={vault} changed={changed} />
      <Section title="Your health authority">
        {netError !== undefined ? (
          <ErrorNote error={netError} />
        ) : (
          <>
            {feeds !== undefined && feeds.length > 0 ? (
              <Field label="Feeds on this network">
                <select value={listed === undefined ? "" : feedId} onChange={(e) => setFeedId(e.target.value)}>
                  {listed === undefined ? <option value="">(another feed)</option> : null}
                  {feeds.map((f) => (
                    <option key={f.feedId.toString()} value={f.feedId.toString()}>
                      Feed {f.feedId.toString()} · authority {f.authority.slice(0, 10)}… · {f.seq} batch(es)
                    </option>
                  ))}
                </select>
              </Field>
            ) : null}
            <Field label="Feed id" hint="the number your health authority gives">
              <input inputMode="numeric" value={feedId} onChange={(e) => setFeedId(e.target.value)} data-testid="feed-id" />
            </Field>
            <TypedPeerField
              summary="Where the keys come from"
              label="Also fetch from (IPFS peer)"
              node="the authority's node"
              testId="exposure-peer"
              value={extraPeer}
              onChange={setExtraPeer}
            />
            <div className="row">
              <button type="button" className="secondary" onClick={() => void runList()} disabled={list.busy}>
                {list.busy ? "Reading the feeds…" : "Refresh feeds"}
              </button>
            </div>
            {feeds !== undefined && feeds.length === 0 ? (
              <p className="muted">No health authority has opened a feed on this network yet.</p>
            ) : null}
            <ErrorNote error={list.error} />
          </>
        )}
      </Section>
      {netError !== undefined ? null : (
        <>
          {/* Keyed by the feed: another feed's outcome, admission or matches never show under this one. */}
          <CheckExposure key={`check-${feedId}`} vault={vault} feedId={feedId} getNet={getNet} changed={changed} />
          <TestedPositive key={`upload-${feedId}`} vault={vault} feed={feed} getNet={getNet} />
          <HotspotCheck key={`hotspots-${feedId}`} vault={vault} feed={feed} getNet={getNet} />
        </>
      )}
    </>
  );
}

function Status({ vault }: { vault: Vault }) {
  const now = Math.floor(Date.now() / 1000);
  const root = exposureRoot(vault);
  const ad = advertisementAt(root, now, DEFAULT_TX_POWER_DBM);
  const keyDays = keysToUpload(root, now).length;
  const scans = vault.thread.collection(collectionName(PROXIMITY, "scans")).size;
  return (
    <Section title="Exposure notification">
      <p>
        This device advertises a new random identifier every 10 minutes, derived from your vault's seed (a recovered vault has the same
        keys). It stores the identifiers it hears for 14 days. Checking for exposure downloads the health authority's published keys and
        matches them here: nothing about you or your contacts leaves this browser.
      </p>
      <dl className="facts" data-testid="exposure-status">
        <dt>Advertising now</dt>
        <dd>
          <code data-testid="exposure-rpi" title={[...ad.rpi].map((b) => b.toString(16).padStart(2, "0")).join("")}>
            {shortHex(ad.rpi)}
          </code>{" "}
          <span className="muted">(until {new Date((Math.floor(now / 600) + 1) * 600 * 1000).toLocaleTimeString()})</span>
        </dd>
        <dt>Daily keys held</dt>
        <dd data-testid="exposure-key-days">
          {keyDays} of 14 days <span className="muted">(and today's, still in use; older keys are deleted)</span>
        </dd>
        <dt>Scans stored</dt>
        <dd data-testid="exposure-scans">{scans}</dd>
      </dl>
    </Section>
  );
}

function ImportScans({ vault, changed }: { vault: Vault; changed(): void }) {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [result, setResult] = useState<ScanImport & { file: string }>();
  const action = useAction(async (file: File) => {
    setResult(undefined);
    const text = await file.text();
    const r = await importScanLines(vault, text, { onProgress: (done, total) => setProgress({ done, total }) });
    setResult({ ...r, file: file.name });
    changed();
  });
  return (
    <Section title="Import scans">
      <p>
        A file of scans, one JSON object per line (<code>{'{"rpi", "aem", "t", "rssi", "seconds"}'}</code>, as{" "}
        <code>mosaic exposure scan import</code> takes): what a phone's Bluetooth heard. It is read here and stored encrypted in your vault.
      </p>
      <label className="field">
        <span>Scan file</span>
        <input
          type="file"
          accept=".jsonl,.ndjson,.json,.txt,application/x-ndjson,application/json,text/plain"
          disabled={action.busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void action.run(file);
            e.target.value = "";
          }}
        />
      </label>
      {action.busy && progress !== undefined ? <Progress label="Storing scans" value={progress.done} max={progress.total} /> : null}
      {result === undefined ? null : (
        <div role="status" data-testid="scan-import">
          <p className={result.accepted > 0 ? "ok" : "muted"}>
            {result.file}: <span data-testid="scans-accepted">{result.accepted}</span> scan(s) accepted
            {result.duplicates > 0 ? ` (${result.duplicates} already stored)` : ""},{" "}
            <span data-testid="scans-rejected">{result.rejected.length}</span> rejected.
          </p>
          {result.rejected.length === 0 ? null : (
            <ul data-testid="scan-rejections">
              {result.rejected.slice(0, 10).map((r) => (
                <li key={r.line} className="warn">
                  {r.error.name}: {r.error.message}
                </li>
              ))}
              {result.rejected.length > 10 ? <li className="muted">and {result.rejected.length - 10} more</li> : null}
            </ul>
          )}
        </div>
      )}
      <ErrorNote error={action.error} />
    </Section>
  );
}

const LEVEL_TEXT: Record<string, string> = {
  none: "No exposure found",
  low: "Low exposure risk",
  high: "High exposure risk",
};

const STEP_TEXT: Record<CheckStep, string> = {
  batches: "Fetching the published keys",
  config: "Fetching the authority's risk configuration",
  match: "Matching the keys against your scans, here",
};

function CheckExposure({ vault, feedId, getNet, changed }: { vault: Vault; feedId: string; getNet(): ExposureNet; changed(): void }) {
  const [step, setStep] = useState<{ step: CheckStep; detail?: string }>();
  const [check, setCheck] = useState<FeedCheck>();
  const run = useAction(async () => {
    setCheck(undefined);
    if (!/^[0-9]{1,20}$/.test(feedId.trim()) || BigInt(feedId.trim()) === 0n)
      throw new RangeError(`feed id: expected a whole number from 1, got ${JSON.stringify(feedId)}`);
    try {
      setCheck(await checkFeed(getNet(), vault, BigInt(feedId.trim()), { onStep: (s, detail) => setStep({ step: s, detail }) }));
    } finally {
      setStep(undefined);
      changed();
    }
  });
  return (
    <Section title="Check for exposure">
      <p>
        The feed's published keys and risk configuration are fetched (the same public files for everyone) and matched against your scans in
        this browser: the authority never learns who checked or what matched.
      </p>
      <button type="button" onClick={() => void run.run()} disabled={run.busy}>
        {run.busy ? "Checking…" : "Check for exposure"}
      </button>
      {run.busy && step !== undefined ? (
        <Progress label={`${STEP_TEXT[step.step]}${step.detail === undefined ? "" : ` · ${step.detail}`}`} />
      ) : null}
      <ErrorNote error={run.error} />
      {check === undefined ? null : <Outcome check={check} />}
      <PastNotifications notifications={exposureNotifications(vault)} />
    </Section>
  );
}

function Outcome({ check }: { check: FeedCheck }) {
  const r = check.result;
  const days = r.days.filter((d) => d.weightedMinutes > 0).sort((a, b) => b.day - a.day);
  const color = r.level === "high" ? "var(--error)" : r.level === "low" ? "var(--warn)" : "var(--ok)";
  return (
    <div data-testid="exposure-result" data-level={r.level}>
      <section
        aria-labelledby="exposure-level"
        role="status"
        style={{ border: `2px solid ${color}`, borderLeftWidth: 8, borderRadius: 6, padding: "0.5rem 0.9rem", margin: "1rem 0" }}
      >
        <h3 id="exposure-level" style={{ margin: "0.2rem 0 0.4rem", fontSize: "1.2rem" }} data-testid="exposure-level">
          {LEVEL_TEXT[r.level] ?? r.level}
        </h3>
        <p>
          <strong>What to do next: </strong>
          <span data-testid="exposure-advice">{r.advice}</span>
        </p>
        <p className="muted">
          {r.mostRecentDay === null ? "" : `Most recent exposure: ${dayText(r.mostRecentDay)}. `}
          Feed {check.feedId}: {check.keys} published key(s) from the last 14 days matched against {check.scans} scan(s) with the
          authority's {r.rule === "safetrace" ? "SafeTrace (δ, τ)" : "GAEN v2"} rule, in {check.seconds.toFixed(1)} s.
        </p>
      </section>
      {days.length === 0 ? null : (
        <ScrollRegion label="Days with exposure">
          <table data-testid="exposure-days">
            <caption className="muted">Days with exposure (weighted minutes: closer and longer counts more)</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Weighted minutes</th>
                <th scope="col">Longest encounter (weighted min)</th>
                <th scope="col">Encounters</th>
              </tr>
            </thead>
            <tbody>
              {days.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{dayText(d.day)}</th>
                  <td>{d.weightedMinutes.toFixed(1)}</td>
                  <td>{d.maxWindowMinutes.toFixed(1)}</td>
                  <td>{d.windows}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <ConfigSummary config={check.config} />
    </div>
  );
}

function ConfigSummary({ config }: { config: RiskConfig }) {
  return (
    <details>
      <summary>The authority's risk configuration</summary>
      <dl className="facts">
        <dt>Rule</dt>
        <dd>
          {config.rule === "safetrace"
            ? `SafeTrace: ≥ ${config.safeTrace.tauS} s within ${config.safeTrace.deltaM} m on one day`
            : "GAEN v2"}
        </dd>
        <dt>Notifies</dt>
        <dd>
          low at {config.thresholds.low} weighted minutes a day, high at {config.thresholds.high}
        </dd>
        <dt>Attenuation buckets</dt>
        <dd>
          ≤ {config.attenuationThresholdsDb.join(" / ")} dB, weights {config.attenuationWeights.join(" / ")}
        </dd>
      </dl>
    </details>
  );
}

function PastNotifications({ notifications }: { notifications: NotificationDoc[] }) {
  const sorted = [...notifications].sort((a, b) => b.day - a.day || b.checkedAt - a.checkedAt);
  return (
    <>
      <h3>Past notifications</h3>
      {sorted.length === 0 ? (
        <p className="muted" data-testid="no-notifications">
          None: no check has found an exposure.
        </p>
      ) : (
        <ul data-testid="notifications">
          {sorted.map((n) => (
            <li key={`${n.feedId}-${n.day}`}>
              {dayText(n.day)}: <strong>{LEVEL_TEXT[n.level] ?? n.level}</strong> ({n.weightedMinutes.toFixed(1)} weighted minutes) · feed{" "}
              {n.feedId} · checked {new Date(n.checkedAt * 1000).toLocaleString()}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
