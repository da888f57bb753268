// Another device of a vault you already have: this browser joins the vault's thread as a device of its own (the
// vault's seed, as `mosaic vault init --seed-file` takes it) and pulls the records from a device running `mosaic
// vault serve`, over WebSockets; every record is verified before it is applied. Later pulls bring what changed.
import { fromHex } from "@mosaic/protocol";
import { pullThreadFrom, type Vault } from "@mosaic/vault";
import type { Blockstore } from "interface-blockstore";
import { useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useNewPassphrase } from "./new-passphrase.tsx";
import { createVault } from "./store.ts";

/** A `vault serve` address a browser can dial: WebSockets, ending in /p2p/<peer id>. */
export function checkServeAddress(address: string): string {
  const a = address.trim();
  if (!/^\/(ip4|ip6|dns4|dns6|dns)\/[^/\s]+\/tcp\/\d{1,5}\/wss?\/p2p\/[1-9A-HJ-NP-Za-km-z]{46,60}$/.test(a))
    throw new TypeError(
      `device address: expected the WebSockets address 'mosaic vault serve' prints (…/tcp/PORT/ws/p2p/12D3Koo…), got ${JSON.stringify(address)}`,
    );
  return a;
}

/** Pulls the vault's records from the device at `address`; resolves with how many records were new. */
export async function pullFromDevice(vault: Vault, address: string, onProgress: (done: number, total: number) => void): Promise<number> {
  // A browser vault's stores are a whole LevelDB blockstore (IndexedDB), which the pulling node serves and fills.
  const blockstore = vault.stores.blockstore as Blockstore;
  const { added } = await pullThreadFrom({ blockstore }, vault.thread, checkServeAddress(address), { field: "device address", onProgress });
  return added;
}

export function PairDevice({ name, onOpen, onCancel }: { name: string; onOpen(v: Vault): void; onCancel(): void }) {
  const [seed, setSeed] = useState("");
  const [address, setAddress] = useState("");
  const newPassphrase = useNewPassphrase();
  const [progress, setProgress] = useState<{ step: string; fraction: number | undefined }>();
  // The vault, once created here: a first pull that fails leaves it created, to pull again or open as it is.
  const [created, setCreated] = useState<Vault>();
  const pull = async (vault: Vault, serve: string) => {
    await pullFromDevice(vault, serve, (done, total) =>
      setProgress({ step: "Pulling the vault's records", fraction: total > 0 ? done / total : undefined }),
    );
    onOpen(vault);
  };
  const action = useAction(async () => {
    const serve = checkServeAddress(address);
    if (created !== undefined) return pull(created, serve);
    const rootSeed = fromHex(seed.trim(), { length: 32, field: "the vault's seed" });
    const vault = await createVault(name, newPassphrase.checked(), (step, fraction) => setProgress({ step, fraction }), rootSeed);
    rootSeed.fill(0);
    setCreated(vault);
    await pull(vault, serve);
  });
  return (
    <Section title="Add this browser to your vault">
      <p>
        Run <code>mosaic vault serve</code> on a device of the vault and enter the WebSockets address it prints, and the vault's seed (the
        64 hex characters a second device's <code>--seed-file</code> holds). This browser becomes another device of the same vault.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <Field label="Device address" hint="…/tcp/PORT/ws/p2p/12D3Koo…">
          <input className="mono" value={address} onChange={(e) => setAddress(e.target.value)} />
        </Field>
        <Field label="The vault's seed" hint="64 hex characters; it stays in this browser, sealed under the passphrase">
          <input type="password" autoComplete="off" className="mono" value={seed} onChange={(e) => setSeed(e.target.value)} />
        </Field>
        {newPassphrase.fields("New passphrase", "for this browser, at least 8 characters")}
        <div className="row">
          <button type="submit" disabled={action.busy}>
            Add this browser
          </button>
          <button type="button" className="secondary" onClick={onCancel} disabled={action.busy}>
            Back
          </button>
        </div>
      </form>
      {action.busy && progress !== undefined ? <Progress label={progress.step} value={progress.fraction} max={1} /> : null}
      <ErrorNote error={action.error} />
      {created !== undefined && action.error !== undefined ? (
        <p>
          The vault is set up in this browser; only its records did not come. Check the device still serves and pull again, or{" "}
          <button type="button" className="secondary" onClick={() => onOpen(created)}>
            open it without them
          </button>{" "}
          and pull later from the Data tab.
        </p>
      ) : null}
    </Section>
  );
}

/** In an open vault: pull what another device of it has added since. */
export function SyncFromDevice({ vault, changed }: { vault: Vault; changed(): void }) {
  const [address, setAddress] = useState("");
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [message, setMessage] = useState<string>();
  const action = useAction(async () => {
    setMessage(undefined);
    const added = await pullFromDevice(vault, address, (done, total) => setProgress({ done, total }));
    setMessage(added === 0 ? "Up to date: the device had nothing this browser lacks." : `Pulled ${added} new record(s).`);
    changed();
  });
  return (
    <Section title="Your other devices">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <Field label="Pull from device" hint="the WebSockets address 'mosaic vault serve' prints">
          <input className="mono" value={address} onChange={(e) => setAddress(e.target.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>
          Pull
        </button>
      </form>
      {action.busy && progress !== undefined ? <Progress label="Pulling" value={progress.done} max={progress.total} /> : null}
      {message === undefined ? null : <p role="status">{message}</p>}
      <ErrorNote error={action.error} />
    </Section>
  );
}
