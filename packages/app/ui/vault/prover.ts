// The page's side of the prove worker: answering's `prove` component (local mode), `proveShared` (shared mode), and
// an exposure key upload's membership proof. One worker: the artifacts are fetched and checked once.
import { proofRequestOf, type SemaphoreProof, type SharedSubmission, type Submission, sharedProofRequestOf } from "@mosaic/avatar";
import type { ProveUpload } from "@mosaic/vault";
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

/** The exposure key upload's proof (prepareUpload's `prove`), in the same worker; `onProgress` gets 0..1. */
export function proveUploadInWorker(onProgress?: (fraction: number) => void): ProveUpload {
  return (identity, group, message, scope) => {
    client ??= workerClient(new Worker(new URL("./prove.worker.ts", import.meta.url), { type: "module", name: "mosaic-prover" }));
    const request = {
      op: "prove-upload",
      identity: identity.export(),
      members: group.members.map((m) => m.toString()),
      message: message.toString(),
      scope: scope.toString(),
      artifactsBase: `${window.location.origin}/artifacts`,
    };
    return client.call<SemaphoreProof>(request, onProgress);
  };
}
