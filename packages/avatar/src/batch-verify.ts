// What a batch verifier of Semaphore proofs is, and the errors it rejects with; the worker-thread pool that is one
// lives in Node (batch-verify.node.ts).
import { namedError } from "@mosaic/protocol";
import type { SemaphoreProof } from "./envelope.js";

/** verify() was called before start() or after stop(), or the verifier stopped while the call was pending. */
export class BatchVerifierNotRunningError extends namedError("BatchVerifierNotRunningError") {}

/** A worker failed to start, exited, or failed a batch; the message carries the worker's own error. */
export class BatchVerifierWorkerError extends namedError("BatchVerifierWorkerError") {}

export interface BatchVerifierInit {
  /** Worker threads, each with its own wasm curve. @default os.availableParallelism() */
  threads?: number;
  /**
   * Most proofs per randomised equation. A call with fewer than `threads × batchSize` proofs is split
   * evenly across the threads instead. Larger batches spread the fixed cost (3 Miller loops and a final
   * exponentiation) thinner but make locating an invalid proof cost more checks. At most 2^15.
   * @default 64
   */
  batchSize?: number;
}

export interface BatchVerifier {
  /** Starts the worker threads; resolves once every one has built its curve and loaded Semaphore's keys. */
  start(): Promise<void>;
  /** Terminates the workers; pending calls reject with BatchVerifierNotRunningError. */
  stop(): Promise<void>;
  /**
   * One boolean per proof, in order: true exactly when Semaphore's `verifyProof(proof)` resolves true.
   * Where `verifyProof` throws instead (a depth outside 1..32 or not an integer, a field of the wrong type,
   * a message or scope that is not a uint256, a public input BigInt cannot read, ...) the verdict is false:
   * `verifyProof` never resolves true for such input, so "throws or false" ⇔ false loses nothing.
   * Rejects with the signal's reason when it aborts, BatchVerifierNotRunningError when not started, and
   * BatchVerifierWorkerError when a worker fails.
   */
  verify(proofs: readonly SemaphoreProof[], options?: { signal?: AbortSignal }): Promise<boolean[]>;
}
