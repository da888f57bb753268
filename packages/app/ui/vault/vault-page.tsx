// The user's place: create or unlock the vault that lives in this browser, then its data, groups, jobs, exposure
// notification, public alerts, privacy and guardians. The passphrase never leaves the page; the seed is sealed in a worker.
import type { Vault } from "@mosaic/vault";
import { lazy, Suspense, useEffect, useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import { DataTab } from "./data-tab.tsx";
import { PairDevice } from "./pair.tsx";
import { pendingRecovery, RecoverVault } from "./recover.tsx";

// The tabs that reach the chain and the network load when first opened: the unlock screen and the data tab do not
// wait for libp2p, the group sync or the recovery contract.
const AlertsTab = lazy(() => import("./alerts-tab.tsx").then((m) => ({ default: m.AlertsTab })));
const ExposureTab = lazy(() => import("./exposure-tab.tsx").then((m) => ({ default: m.ExposureTab })));
const GroupsTab = lazy(() => import("./groups-tab.tsx").then((m) => ({ default: m.GroupsTab })));
const GuardiansTab = lazy(() => import("./guardians-tab.tsx").then((m) => ({ default: m.GuardiansTab })));
const JobsTab = lazy(() => import("./jobs-tab.tsx").then((m) => ({ default: m.JobsTab })));
const PrivacyTab = lazy(() => import("./privacy-tab.tsx").then((m) => ({ default: m.PrivacyTab })));
import { useNewPassphrase } from "./new-passphrase.tsx";
import { createVault, unlockVault, vaultExists, vaultKey } from "./store.ts";

export type StepProgress = { step: string; fraction: number | undefined } | undefined;

export function VaultPage() {
  const { network } = useApp();
  const name = vaultKey(network.file);
  const [vault, setVault] = useState<Vault>();
  const [exists, setExists] = useState<boolean>();
  const [checkError, setCheckError] = useState<unknown>();
  useEffect(() => {
    if (vault === undefined) vaultExists(name).then(setExists, setCheckError);
  }, [name, vault]);
  // Lock on leaving the page: the vault's keys live only while it is open.
  useEffect(() => () => void vault?.close(), [vault]);
  if (checkError !== undefined)
    return (
      <Section title="Your vault">
        <ErrorNote error={checkError} />
        <p>This browser's storage (IndexedDB) could not be opened: private windows of some browsers refuse it. Use a normal window.</p>
      </Section>
    );
  if (vault !== undefined)
    return (
      <OpenVault
        vault={vault}
        onLock={async () => {
          await vault.close();
          setVault(undefined);
        }}
      />
    );
  if (exists === undefined) return <p aria-busy="true">Looking for your vault in this browser…</p>;
  return exists ? <Unlock name={name} onOpen={setVault} /> : <Create name={name} onOpen={setVault} />;
}

function Create({ name, onOpen }: { name: string; onOpen(v: Vault): void }) {
  // A recovery under way in this browser is resumed; otherwise a new vault is offered first.
  const [recovering, setRecovering] = useState(() => pendingRecovery(name) !== undefined);
  const [pairing, setPairing] = useState(false);
  if (recovering) return <RecoverVault name={name} onOpen={onOpen} onCancel={() => setRecovering(false)} />;
  if (pairing) return <PairDevice name={name} onOpen={onOpen} onCancel={() => setPairing(false)} />;
  return <CreateNew name={name} onOpen={onOpen} onRecover={() => setRecovering(true)} onPair={() => setPairing(true)} />;
}

function CreateNew({ name, onOpen, onRecover, onPair }: { name: string; onOpen(v: Vault): void; onRecover(): void; onPair(): void }) {
  const newPassphrase = useNewPassphrase();
  const [progress, setProgress] = useState<StepProgress>();
  const action = useAction(async () => {
    onOpen(await createVault(name, newPassphrase.checked(), (step, fraction) => setProgress({ step, fraction })));
  });
  return (
    <Section title="Create your vault">
      <p>
        Your vault keeps your data encrypted in this browser. Nothing leaves it without your consent, and what leaves is bounded and noised.
        The passphrase unlocks it here; Mosaic cannot recover a forgotten passphrase, but your guardians can recover the vault.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        {newPassphrase.fields("Passphrase", "at least 8 characters")}
        <button type="submit" disabled={action.busy}>
          Create vault
        </button>
      </form>
      {action.busy && progress !== undefined ? <Progress label={progress.step} value={progress.fraction} max={1} /> : null}
      <ErrorNote error={action.error} />
      <p>
        Lost the browser your vault was in?{" "}
        <button type="button" className="secondary" onClick={onRecover} disabled={action.busy}>
          Recover a vault
        </button>
      </p>
      <p>
        Already keep your vault on another device?{" "}
        <button type="button" className="secondary" onClick={onPair} disabled={action.busy}>
          Add this browser to it
        </button>
      </p>
    </Section>
  );
}

function Unlock({ name, onOpen }: { name: string; onOpen(v: Vault): void }) {
  const [passphrase, setPassphrase] = useState("");
  const [progress, setProgress] = useState<StepProgress>();
  const action = useAction(async () => onOpen(await unlockVault(name, passphrase, (step, fraction) => setProgress({ step, fraction }))));
  return (
    <Section title="Unlock your vault">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <Field label="Passphrase">
          <input type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>
          Unlock
        </button>
      </form>
      {action.busy && progress !== undefined ? <Progress label={progress.step} value={progress.fraction} max={1} /> : null}
      {action.error !== undefined && (action.error as Error).name === "WrongPassphraseError" ? (
        <p className="error" role="alert">
          Wrong passphrase: the vault stays locked and unchanged. Check the keyboard layout and caps lock, then try again.
        </p>
      ) : (
        <ErrorNote error={action.error} />
      )}
    </Section>
  );
}

const TABS = [
  { id: "data", label: "Data" },
  { id: "groups", label: "Groups" },
  { id: "jobs", label: "Jobs" },
  { id: "exposure", label: "Exposure" },
  { id: "alerts", label: "Alerts" },
  { id: "privacy", label: "Privacy" },
  { id: "guardians", label: "Guardians" },
] as const;
type Tab = (typeof TABS)[number]["id"];

function OpenVault({ vault, onLock }: { vault: Vault; onLock(): Promise<void> }) {
  const [tab, setTab] = useState<Tab>("data");
  // Vault reads are synchronous snapshots: bump this after a write to draw them again.
  const [, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  return (
    <>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <p className="muted">
          Vault open · avatar <code title={vault.avatar.commitment.toString()}>{vault.avatar.commitment.toString().slice(0, 12)}…</code>
        </p>
        <button type="button" className="secondary" onClick={() => void onLock()}>
          Lock
        </button>
      </div>
      <div className="tabs" role="tablist" aria-label="Vault">
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" aria-selected={t.id === tab} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={TABS.find((t) => t.id === tab)?.label}>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          {tab === "data" ? (
            <DataTab vault={vault} changed={changed} />
          ) : tab === "groups" ? (
            <GroupsTab vault={vault} />
          ) : tab === "jobs" ? (
            <JobsTab vault={vault} changed={changed} />
          ) : tab === "exposure" ? (
            <ExposureTab vault={vault} changed={changed} />
          ) : tab === "alerts" ? (
            <AlertsTab vault={vault} changed={changed} />
          ) : tab === "privacy" ? (
            <PrivacyTab vault={vault} changed={changed} />
          ) : (
            <GuardiansTab vault={vault} />
          )}
        </Suspense>
      </div>
    </>
  );
}
