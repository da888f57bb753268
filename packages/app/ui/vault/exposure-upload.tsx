// "I tested positive": the upload identity's commitment for the health authority to admit to its registrar group,
// then, once admitted, the last 14 days' keys proved (zero-knowledge, in a worker) and published from a throwaway
// network identity to the authority's key server. The authority learns the keys, never whose they are.
import { type Group, openGroupSync } from "@mosaic/avatar";
import type { ReportType } from "@mosaic/exposure";
import { createBrowserIpfsNode } from "@mosaic/protocol";
import { type FeedRef, prepareUpload, uploadIdentity, uploadKeysWith, type Vault } from "@mosaic/vault";
import { useCallback, useMemo, useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { ExposureNet, FeedView } from "./exposure-net.ts";
import { proveUploadInWorker } from "./prover.ts";

const REPORTS: { value: ReportType; label: string }[] = [
  { value: "confirmed-test", label: "a positive test" },
  { value: "confirmed-clinical", label: "a clinical diagnosis" },
  { value: "self-report", label: "my own report (no test)" },
];

export function TestedPositive({ vault, feed, getNet }: { vault: Vault; feed: FeedView | undefined; getNet(): ExposureNet }) {
  const { network } = useApp();
  const identity = useMemo(() => uploadIdentity(vault), [vault]);
  const commitment = identity.commitment.toString();
  const [open, setOpen] = useState(false);
  const [admitted, setAdmitted] = useState<{ feedId: bigint; group: Group; size: number } | undefined>();
  const [reportType, setReportType] = useState<ReportType>("confirmed-test");
  const [onset, setOnset] = useState("");
  const [step, setStep] = useState<{ label: string; value?: number }>();
  const [done, setDone] = useState<string>();
  const check = useAction(
    useCallback(async () => {
      setAdmitted(undefined);
      if (feed === undefined) throw new Error("choose the health authority's feed above first");
      setStep({ label: "Reading the authority's group from the chain" });
      const sync = await openGroupSync({ provider: network.reader, semaphore: network.file.contracts.semaphore.address }, feed.groupId, {
        fromBlock: network.file.contracts.semaphore.deployBlock,
      });
      await sync.sync();
      setStep(undefined);
      if (sync.indexOf(identity.commitment) < 0)
        throw new NotAdmittedError(
          `not admitted yet: group ${feed.groupId} (${sync.size} member(s)) does not hold your upload commitment; give it to the health authority, then check again`,
        );
      setAdmitted({ feedId: feed.feedId, group: sync.group(), size: sync.size });
    }, [feed, network, identity]),
  );
  const upload = useAction(async () => {
    if (feed === undefined || admitted === undefined || admitted.feedId !== feed.feedId) return;
    setDone(undefined);
    const now = (await network.reader.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
    const ref: FeedRef = {
      chainId: network.file.chainId,
      feeds: (await getNet().feeds.getAddress()).toLowerCase(),
      feedId: feed.feedId.toString(),
    };
    const onsetDay = onset === "" ? null : Math.floor(Date.parse(`${onset}T00:00:00Z`) / 1000 / 86_400);
    setStep({ label: "Proving you are admitted (zero-knowledge)", value: 0 });
    const prepared = await prepareUpload(vault, {
      feed: ref,
      group: admitted.group,
      now,
      reportType,
      onsetDay,
      prove: proveUploadInWorker((f) => setStep({ label: "Proving you are admitted (zero-knowledge)", value: f })),
    });
    setStep({ label: "Sending your keys to the authority's key server" });
    const peers = await getNet().peers();
    const { published } = await uploadKeysWith(({ blockstore }) => createBrowserIpfsNode({ blockstore }), prepared, {
      peers,
      lingerMs: 20_000,
    });
    setStep(undefined);
    setDone(
      `Uploaded ${prepared.keys.length} daily keys to feed ${feed.feedId} (${published.recipients.length} peer(s) took the announcement, the key server fetched it ${published.fetches} time(s)). They are published with the authority's next batch; thank you.`,
    );
  });
  const busy = check.busy || upload.busy;
  return (
    <Section title="I tested positive">
      <p>
        Uploading your keys lets everyone who was near you learn it, without learning who you are. Your health authority first admits your
        upload identity (not your avatar: it cannot link this to your job answers); the upload then carries only a proof that some admitted
        person sent it, once per 14 days.
      </p>
      {!open ? (
        <button type="button" className="secondary" onClick={() => setOpen(true)}>
          Start an upload
        </button>
      ) : (
        <>
          <h3>1. Give this to your health authority</h3>
          <p>
            Upload commitment: <code data-testid="upload-commitment">{commitment}</code>
          </p>
          <p className="muted">It admits this number to its group; it never sees your keys with it.</p>
          <h3>2. Once admitted</h3>
          <div className="row">
            <button type="button" className="secondary" onClick={() => void check.run()} disabled={busy || feed === undefined}>
              {check.busy ? "Checking…" : "Check my admission"}
            </button>
            {admitted !== undefined ? (
              <span className="ok" role="status" data-testid="upload-admitted">
                Admitted to group {feed?.groupId.toString()} ({admitted.size} member(s)).
              </span>
            ) : null}
          </div>
          <ErrorNote error={check.error} />
          {admitted === undefined ? null : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void upload.run();
              }}
            >
              <Field label="The diagnosis">
                <select value={reportType} onChange={(e) => setReportType(e.target.value as ReportType)}>
                  {REPORTS.map((r) => (
                    <option key={r.value} value={r.value}>
                      {r.label}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Symptoms began on (optional)" hint="helps weigh the days you were most infectious">
                <input type="date" value={onset} onChange={(e) => setOnset(e.target.value)} />
              </Field>
              <button type="submit" disabled={busy}>
                {upload.busy ? "Uploading…" : "Upload my keys of the last 14 days"}
              </button>
            </form>
          )}
          {busy && step !== undefined ? <Progress label={step.label} value={step.value} max={1} /> : null}
          {done === undefined ? null : (
            <p className="ok" role="status" data-testid="upload-done">
              {done}
            </p>
          )}
          <ErrorNote error={upload.error} />
        </>
      )}
    </Section>
  );
}

/** The upload identity is not (yet) in the feed's group. */
export class NotAdmittedError extends Error {
  override name = "NotAdmittedError";
}
