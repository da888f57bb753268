// Waiting: for a condition across processes or nodes (a reducer's progress, a chain state) with a named timeout, or for a time, abortably.
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
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Resolves after `ms`, or rejects with the signal's reason (an AbortError unless the aborter gave another) as soon
 * as `signal` aborts. Waits longer than setTimeout's 24.8-day limit are taken in steps: a collection window can be.
 */
export async function sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await sleepStep(Math.min(left, 2 ** 31 - 1), signal);
  signal?.throwIfAborted();
}

function sleepStep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
