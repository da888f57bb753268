// Calls into a module worker: one request at a time per call id, progress messages on the way, errors rebuilt with
// their names so the screens can branch on them (WrongPassphraseError, ArtifactHashMismatchError…).
export interface WorkerReply {
  id: number;
  progress?: number;
  result?: unknown;
  error?: { name: string; message: string };
}

export interface WorkerClient {
  call<T>(message: Record<string, unknown>, onProgress?: (fraction: number) => void): Promise<T>;
  terminate(): void;
}

/** A worker that rebuilds errors from `{name, message}`. */
export function workerClient(worker: Worker): WorkerClient {
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; onProgress?: (f: number) => void }>();
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    const reply = event.data;
    const w = waiting.get(reply.id);
    if (w === undefined) return;
    if (reply.progress !== undefined) return w.onProgress?.(reply.progress);
    waiting.delete(reply.id);
    if (reply.error !== undefined) {
      const err = new Error(reply.error.message);
      err.name = reply.error.name;
      w.reject(err);
    } else w.resolve(reply.result);
  };
  worker.onerror = (event) => {
    const err = new Error(`a background worker failed: ${event.message}; reload the page`);
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  return {
    call<T>(message: Record<string, unknown>, onProgress?: (fraction: number) => void): Promise<T> {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
        worker.postMessage({ ...message, id });
      });
    },
    terminate: () => worker.terminate(),
  };
}

/** Inside a worker: answers each request with `handle`, reporting progress and errors as workerClient expects. */
export function serveWorker(handle: (message: Record<string, unknown>, progress: (fraction: number) => void) => Promise<unknown>): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: WorkerReply): void };
  scope.onmessage = async (event: MessageEvent) => {
    const message = event.data as Record<string, unknown> & { id: number };
    const id = message.id;
    let last = 0;
    const progress = (fraction: number) => {
      // At most ~50 progress messages a call.
      if (fraction - last < 0.02 && fraction < 1) return;
      last = fraction;
      scope.postMessage({ id, progress: fraction });
    };
    try {
      scope.postMessage({ id, result: await handle(message, progress) });
    } catch (err) {
      const e = err as Error;
      scope.postMessage({ id, error: { name: e?.name ?? "Error", message: e?.message ?? String(err) } });
    }
  };
}
