// The privacy budget (epsilon per period, what each job took), the consents (withdraw one before its answer
// leaves), and the audit log: every byte that ever left the vault, with why and to whom.
import { formatEpsilon, type Vault } from "@mosaic/vault";
import { useState } from "react";
import { ErrorNote, Field, ScrollRegion, Section, useAction } from "../components.tsx";

/** Reads an epsilon as people type it: 4, 0.5 or 1/2. */
function parseEpsilon(text: string): { num: number; den: number } {
  const t = text.trim();
  const frac = /^(\d{1,6})\/(\d{1,6})$/.exec(t);
  if (frac !== null && Number(frac[2]) > 0) return { num: Number(frac[1]), den: Number(frac[2]) };
  const dec = /^(\d{1,6})(?:\.(\d{1,4}))?$/.exec(t);
  if (dec !== null) {
    const den = 10 ** (dec[2]?.length ?? 0);
    return { num: Number(dec[1]) * den + Number(dec[2] ?? 0), den };
  }
  throw new RangeError(`epsilon: expected a number like 4, 0.5 or 1/2, got ${JSON.stringify(text)}`);
}

export function PrivacyTab({ vault, changed }: { vault: Vault; changed(): void }) {
  const budget = vault.budget();
  const [epsilon, setEpsilon] = useState(formatEpsilon(budget.settings.epsilon));
  const [days, setDays] = useState(String(budget.settings.periodDays));
  const save = useAction(async () => {
    const d = Number(days);
    if (!Number.isInteger(d) || d < 1 || d > 366)
      throw new RangeError(`period: expected whole days from 1 to 366, got ${JSON.stringify(days)}`);
    await vault.setBudget({ epsilon: parseEpsilon(epsilon), periodDays: d });
    changed();
  });
  const withdraw = useAction(async (key: string) => {
    await vault.withdraw(key);
    changed();
  });
  const consents = vault.consents();
  const audit = vault.audit();
  return (
    <>
      <Section title="Privacy budget">
        <p data-testid="budget-status">
          This period ({new Date(budget.period.start).toLocaleDateString()} – {new Date(budget.period.end).toLocaleDateString()}): used ε{" "}
          <strong>{budget.used}</strong>, remaining ε <strong>{budget.remaining}</strong> of {formatEpsilon(budget.settings.epsilon)}.
        </p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field label="Allowance ε per period">
            <input value={epsilon} onChange={(e) => setEpsilon(e.target.value)} />
          </Field>
          <Field label="Period (days)">
            <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
          </Field>
          <button type="submit" disabled={save.busy}>
            Save budget
          </button>
        </form>
        <ErrorNote error={save.error} />
      </Section>
      <Section title="Consents">
        {consents.length === 0 ? (
          <p className="muted">You have consented to no job yet.</p>
        ) : (
          <ul>
            {consents.map((c) => (
              <li key={c.jobKey}>
                {c.title}{" "}
                <span className="muted">
                  ({c.requester}, ε {c.epsilon.num}/{c.epsilon.den})
                </span>
                :{" "}
                {c.withdrawn !== undefined
                  ? "withdrawn"
                  : c.submitted !== undefined
                    ? `sent ${new Date(c.submitted).toLocaleString()}`
                    : "not sent yet"}
                {c.withdrawn === undefined && c.submitted === undefined ? (
                  <button type="button" className="secondary" onClick={() => void withdraw.run(c.jobKey)} disabled={withdraw.busy}>
                    Withdraw
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
        <ErrorNote error={withdraw.error} />
      </Section>
      <Section title="Audit log: what left your vault">
        {audit.length === 0 ? (
          <p className="muted" data-testid="audit-empty">
            Nothing has left your vault.
          </p>
        ) : (
          <ScrollRegion label="Audit log">
            <table data-testid="audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">To</th>
                  <th scope="col">Why</th>
                  <th scope="col">Read</th>
                  <th scope="col">Bytes (sha-256)</th>
                </tr>
              </thead>
              <tbody>
                {audit.map((a) => (
                  <tr key={a._id}>
                    <td>{new Date(a.time).toLocaleString()}</td>
                    <td>{a.requester}</td>
                    <td>{a.purpose}</td>
                    <td>{a.fieldsRead.join(", ")}</td>
                    <td>
                      {a.bytes.length / 2} bytes, <code>{a.bytesHash.slice(0, 16)}…</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Section>
    </>
  );
}
