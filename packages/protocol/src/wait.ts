// Waiting for a condition across processes or nodes (a reducer's progress, a chain state) with a named timeout.
import { namedError } from "./errors.js";

/** A condition did not hold in time; the message names what was awaited. */
export class WaitTimeoutError extends namedError("WaitTimeoutError") {}

export interface WaitUntilOptions {
  /** @default 60000 */
  timeoutMs?: number;
  /** @default 100 */
  intervalMs?: number;
  /** Extra detail for the timeout message (the state the caller saw). */
  detail?: () => string | Promise<string>;
  signal?: AbortSignal;
}

/** Polls `check` until it holds; a check that throws counts as not yet. WaitTimeoutError names `what` on timeout. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, options: WaitUntilOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const end = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    options.signal?.throwIfAborted();
    if (Date.now() > end) {
      const detail = options.detail === undefined ? "" : `\n${await options.detail()}`;
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
