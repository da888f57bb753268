// Guardians: the people who can together restore this vault if this browser is lost. Here: this vault's guardian
// key (to give to friends who want you as their guardian), the guardians you chose, and whom you guard.
import {
  addGuardian,
  guardianKeyOf,
  MIN_GUARDIANS,
  listGuardians,
  listGuardianships,
  recoverySetup,
  removeGuardian,
  type Vault,
} from "@mosaic/vault";
import { useState } from "react";
import { ErrorNote, Field, Section, useAction } from "../components.tsx";

export function GuardiansTab({ vault }: { vault: Vault }) {
  const key = guardianKeyOf(vault);
  const [, setVersion] = useState(0);
  const [publicKey, setPublicKey] = useState("");
  const [label, setLabel] = useState("");
  const add = useAction(async () => {
    await addGuardian(vault, { publicKey: publicKey.trim(), label: label.trim() });
    setPublicKey("");
    setLabel("");
    setVersion((v) => v + 1);
  });
  const remove = useAction(async (address: string) => {
    await removeGuardian(vault, address);
    setVersion((v) => v + 1);
  });
  const guardians = listGuardians(vault);
  const setup = recoverySetup(vault);
  const guarding = listGuardianships(vault);
  return (
    <>
      <Section title="Your guardian key">
        <p>Give this to a friend who wants you as a guardian of their vault:</p>
        <p>
          <code data-testid="guardian-key">{key.publicKey}</code>
        </p>
      </Section>
      <Section title="Your guardians">
        {guardians.length === 0 ? (
          <p className="muted">
            No guardians yet. Add at least {MIN_GUARDIANS + 1} people you trust, so that some of them together can restore your vault.
          </p>
        ) : (
          <ul>
            {guardians.map((g) => (
              <li key={g.address}>
                {g.label} <code>{g.address}</code>{" "}
                <button type="button" className="secondary" onClick={() => void remove.run(g.address)} disabled={remove.busy}>
                  Remove {g.label}
                </button>
              </li>
            ))}
          </ul>
        )}
        <p className="muted" data-testid="protection">
          {setup === undefined
            ? "Not protected yet: once your guardians are added, protect the vault with 'mosaic vault guardians protect' on a device paired with this vault."
            : `Protected: any ${setup.threshold} of ${setup.invitations.length} guardians can restore it.`}
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <Field label="Guardian's key" hint="the 33-byte key (0x…) their app shows under Guardians">
            <input value={publicKey} onChange={(e) => setPublicKey(e.target.value)} className="mono" />
          </Field>
          <Field label="Name">
            <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={64} />
          </Field>
          <button type="submit" disabled={add.busy}>
            Add guardian
          </button>
        </form>
        <ErrorNote error={add.error ?? remove.error} />
      </Section>
      <Section title="Vaults you guard">
        {guarding.length === 0 ? (
          <p className="muted">You guard no one's vault.</p>
        ) : (
          <ul>
            {guarding.map((g) => (
              <li key={g._id}>
                share {g.index} for account <code>{g.accountId.slice(0, 18)}…</code> from {g.from}, accepted{" "}
                {new Date(g.accepted).toLocaleDateString()}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
