// Exposure notification in the vault: what this device advertises today and holds, and scans imported from a file.
// (Checking a health authority's feed, the upload after a positive test and the hotspot check follow as the vault's
// parts land.)
import { advertisementAt, keysToUpload } from "@mosaic/exposure";
import { collectionName, DEFAULT_TX_POWER_DBM, exposureRoot, PROXIMITY, type Vault } from "@mosaic/vault";
import { useState } from "react";
import { ErrorNote, Progress, Section, useAction } from "../components.tsx";
import { importScanLines, type ScanImport } from "./exposure-scans.ts";

const shortHex = (bytes: Uint8Array) =>
  `${[...bytes.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("")}…${[...bytes.slice(-2)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

export function ExposureTab({ vault, changed }: { vault: Vault; changed(): void }) {
  return (
    <>
      <Status vault={vault} />
      <ImportScans vault={vault} changed={changed} />
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
                  line {r.line}: {r.error.name}: {r.error.message}
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
