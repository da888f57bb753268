// What the vault holds: import location history (GPX, GeoJSON, Google Takeout) with progress, and for each data
// ability what it keeps, with a way to delete it.
import { collectionName, LOCATION_FORMAT_LABELS, MAX_LOCATION_FILE_BYTES, type Vault } from "@mosaic/vault";
import { useState } from "react";
import { SyncFromDevice } from "./pair.tsx";
import { ErrorNote, Progress, ScrollRegion, Section, useAction } from "../components.tsx";

export function DataTab({ vault, changed }: { vault: Vault; changed(): void }) {
  return (
    <>
      <ImportLocations vault={vault} changed={changed} />
      <Abilities vault={vault} changed={changed} />
      <SyncFromDevice vault={vault} changed={changed} />
    </>
  );
}

function ImportLocations({ vault, changed }: { vault: Vault; changed(): void }) {
  const [progress, setProgress] = useState<{ label: string; value?: number; max?: number }>();
  const [summary, setSummary] = useState<string>();
  const action = useAction(async (file: File) => {
    setSummary(undefined);
    if (file.size > MAX_LOCATION_FILE_BYTES)
      throw new RangeError(
        `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; the largest file imported at once is ${MAX_LOCATION_FILE_BYTES / 2 ** 20} MiB: split it (Takeout exports by month), then import each part`,
      );
    setProgress({ label: `Reading ${file.name}` });
    const bytes = new Uint8Array(await file.arrayBuffer());
    setProgress({ label: `Parsing ${file.name}` });
    const started = performance.now();
    const r = await vault.importLocations(bytes, {
      fileName: file.name,
      onProgress: (stored, total) => setProgress({ label: `Storing fixes from ${file.name}`, value: stored, max: total }),
    });
    const seconds = (performance.now() - started) / 1000;
    setSummary(
      r.duplicate
        ? `${file.name} was imported before: nothing new stored.`
        : `Imported ${r.points} fixes over ${r.days} day(s) from ${LOCATION_FORMAT_LABELS[r.format]}${r.skipped > 0 ? `, skipped ${r.skipped} entries without a usable time or position` : ""} in ${seconds.toFixed(1)} s.`,
    );
    changed();
  });
  return (
    <Section title="Import location history">
      <p>
        A GPX track, a GeoJSON file or a Google Takeout export (Records.json or Timeline). It is read here, in this browser, and stored
        encrypted in your vault; nothing is uploaded.
      </p>
      <label className="field">
        <span>Location file</span>
        <input
          type="file"
          accept=".gpx,.json,.geojson,application/gpx+xml,application/json,application/geo+json"
          disabled={action.busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void action.run(file);
            e.target.value = "";
          }}
        />
      </label>
      {action.busy && progress !== undefined ? <Progress label={progress.label} value={progress.value} max={progress.max} /> : null}
      {summary === undefined ? null : (
        <p className="ok" role="status" data-testid="import-summary">
          {summary}
        </p>
      )}
      <ErrorNote error={action.error} />
    </Section>
  );
}

function Abilities({ vault, changed }: { vault: Vault; changed(): void }) {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [message, setMessage] = useState<string>();
  const forget = useAction(async (name: string) => {
    if (
      !window.confirm(
        `Delete everything the ${name} ability holds? Jobs and abilities will no longer see it, here and on your other devices. The encrypted records stay in the vault's history (readable only with your keys) until it is compacted.`,
      )
    )
      return;
    const { deleted } = await vault.forget(name, { onProgress: (done, total) => setProgress({ done, total }) });
    setMessage(`Deleted ${deleted} document(s) from ${name}.`);
    changed();
  });
  return (
    <Section title="What your vault holds">
      <ScrollRegion label="What your vault holds">
        <table>
          <thead>
            <tr>
              <th scope="col">Ability</th>
              <th scope="col">Holds</th>
              <th scope="col">May also read</th>
              <th scope="col">
                <span className="muted">Delete</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {vault.abilities().map((m) => {
              const owns = Object.entries(m.owns).map(([short, c]) => ({
                short,
                description: c.description,
                documents: vault.thread.collection(collectionName(m.name, short)).size,
              }));
              const total = owns.reduce((n, c) => n + c.documents, 0);
              return (
                <tr key={m.name} data-testid={`ability-${m.name}`}>
                  <th scope="row">
                    {m.name}
                    <div className="muted">{m.description}</div>
                  </th>
                  <td>
                    {owns.map((c) => (
                      <div key={c.short}>
                        <strong data-testid={`count-${m.name}-${c.short}`}>{c.documents}</strong> {c.short} — {c.description}
                      </div>
                    ))}
                  </td>
                  <td>{(m.reads ?? []).length === 0 ? "only its own" : (m.reads ?? []).join(", ")}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      disabled={forget.busy || total === 0}
                      onClick={() => void forget.run(m.name)}
                      aria-label={`Delete the data of ${m.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
      {forget.busy && progress !== undefined ? <Progress label="Deleting" value={progress.done} max={progress.total} /> : null}
      {message === undefined ? null : <p role="status">{message}</p>}
      <ErrorNote error={forget.error} />
    </Section>
  );
}
