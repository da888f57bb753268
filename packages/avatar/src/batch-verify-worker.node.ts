// The worker thread behind createBatchVerifier: one single-threaded wasm curve, batches verified in arrival order.
import { parentPort } from "node:worker_threads";
// The errors module alone: a worker thread need not load the whole protocol entry.
import { namedError } from "@mosaic/protocol/errors";
import { createVerifyEngine, type EngineProof } from "./batch-verify-engine.node.js";

/** Main thread → worker: one batch. */
export interface BatchRequest {
  id: number;
  proofs: EngineProof[];
}

/** Worker → main thread: `ready` once after start-up, then one reply per batch (1 = valid), or its error. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "verdicts"; id: number; verdicts: Uint8Array }
  | { type: "failed"; id: number; message: string };

/** This file was loaded outside a worker thread. */
class NotAWorkerThreadError extends namedError("NotAWorkerThreadError") {}

const port = parentPort;
if (!port)
  throw new NotAWorkerThreadError("batch-verify-worker.node.ts is a worker_threads entry point; use createBatchVerifier() instead");

const engine = await createVerifyEngine();
// One batch at a time: the engine's wasm scratch memory is shared between its calls.
let previous: Promise<void> = Promise.resolve();
port.on("message", (request: BatchRequest) => {
  previous = previous.then(async () => {
    let reply: WorkerReply;
    try {
      const verdicts = await engine.verify(request.proofs);
      reply = { type: "verdicts", id: request.id, verdicts: Uint8Array.from(verdicts, Number) };
    } catch (err) {
      reply = { type: "failed", id: request.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    port.postMessage(reply);
  });
});
port.postMessage({ type: "ready" } satisfies WorkerReply);
