// The few pieces every screen uses: a busy-aware button, progress, an error that says what to do, a labelled field.
import { type ReactNode, useCallback, useState } from "react";
import { explainError } from "./wallet.ts";

export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined) return null;
  return (
    <p className="error" role="alert">
      {explainError(error)}
    </p>
  );
}

export function Progress({ label, value, max }: { label: string; value?: number; max?: number }) {
  return (
    <div className="progress">
      <label>
        {label}
        <progress value={value} max={max} aria-label={label} />
      </label>
    </div>
  );
}

/** Runs an async action once at a time, keeping its error; `busy` disables the button that started it. */
export function useAction<A extends unknown[], T>(action: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await action(...args);
      } catch (err) {
        console.error(err);
        setError(err);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, setError };
}

export function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  // The hint sits outside the label, so the control's accessible name is the label alone.
  return (
    <div className="field">
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in */}
      <label className="field">
        <span>{label}</span>
        {children}
      </label>
      {hint === undefined ? null : <small>{hint}</small>}
    </div>
  );
}

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  return (
    <section aria-labelledby={id ?? title} className="card">
      <h2 id={id ?? title}>{title}</h2>
      {children}
    </section>
  );
}

/** A short 0x address for display. */
export const shortAddress = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

/**
 * A table wider than a phone scrolls sideways inside this region, which keyboard users can focus and scroll with
 * the arrow keys (axe's scrollable-region-focusable).
 */
export function ScrollRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled by keyboard
    <section className="scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
