// The page's side of the prove worker: answering's `prove` component (local mode) and `proveShared` (shared mode).
import { proofRequestOf, type SharedSubmission, type Submission, sharedProofRequestOf } from "@mosaic/avatar";
import { type WorkerClient, workerClient } from "../worker-rpc.ts";

let client: WorkerClient | undefined;

/** Proves in the worker; `onProgress` gets 0..1 (artifacts loaded at 0.3). Resolves to the whole submission. */
export function proveInWorker(onProgress?: (fraction: number) => void) {
  return (...args: Parameters<typeof proofRequestOf>): Promise<Submission> => {
    client ??= workerClient(new Worker(new URL("./prove.worker.ts", import.meta.url), { type: "module", name: "mosaic-prover" }));
    const request = proofRequestOf(...args);
    return client.call<Submission>({ op: "prove", request, artifactsBase: `${window.location.origin}/artifacts` }, onProgress);
  };
}

/** As proveInWorker, for a shared-mode job's report (proof request v2): resolves to the whole shared submission. */
export function proveSharedInWorker(onProgress?: (fraction: number) => void) {
  return (...args: Parameters<typeof sharedProofRequestOf>): Promise<SharedSubmission> => {
    client ??= workerClient(new Worker(new URL("./prove.worker.ts", import.meta.url), { type: "module", name: "mosaic-prover" }));
    const request = sharedProofRequestOf(...args);
    return client.call<SharedSubmission>({ op: "prove", request, artifactsBase: `${window.location.origin}/artifacts` }, onProgress);
  };
}
