// Batch verification of Semaphore proofs across worker threads, with exactly the verdicts of Semaphore's verifyProof.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { EngineCoordinate, EngineProof } from "./batch-verify-engine.node.js";
import { type BatchVerifier, type BatchVerifierInit, BatchVerifierNotRunningError, BatchVerifierWorkerError } from "./batch-verify.js";
import type { BatchRequest, WorkerReply } from "./batch-verify-worker.node.js";
import type { SemaphoreProof } from "./envelope.js";

/** Largest batchSize: keeps the soundness error of one batch, bisection included, under 2^-128 (see batch-verify-engine.node.ts). */
const MAX_BATCH_SIZE = 2 ** 15;

/**
 * A verifier for many Semaphore proofs at once. Each worker checks its batch with one multi-pairing over a
 * random linear combination (n + 3 Miller loops, one final exponentiation) and bisects a failing batch
 * down to the invalid proofs, so the result is still one verdict per proof.
 *
 * @example
 * ```ts
 * const verifier = createBatchVerifier({ threads: 2 })
 * await verifier.start()
 * const valid = await verifier.verify(submissions.map((s) => s.proof))
 * await verifier.stop()
 * ```
 */
export function createBatchVerifier(init: BatchVerifierInit = {}): BatchVerifier {
  const threads = init.threads ?? os.availableParallelism();
  const batchSize = init.batchSize ?? 64;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`init.threads: expected a positive integer, got ${threads}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`init.batchSize: expected an integer in [1, ${MAX_BATCH_SIZE}], got ${batchSize}`);
  }
  return new WorkerPool(threads, batchSize);
}

/** The worker entry beside this module, with this module's own extension (.ts under tsx). */
const WORKER_URL = new URL(`./batch-verify-worker.node${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

interface Call {
  verdicts: boolean[];
  pendingJobs: number;
  settled: boolean;
  resolve(verdicts: boolean[]): void;
  reject(err: unknown): void;
  /** Removes the abort listener. */
  detach(): void;
}

interface Job {
  call: Call;
  /** Where each proof of the batch sits in the call's input. */
  positions: number[];
  proofs: EngineProof[];
}

interface Slot {
  index: number;
  worker: Worker;
  job?: Job;
}

class WorkerPool implements BatchVerifier {
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private calls = new Set<Call>();
  private starting?: Promise<void>;
  private running = false;
  private nextId = 0;
  /** Why the pool last stopped on its own, for the next NotRunning error. */
  private failure?: string;

  constructor(
    private readonly threads: number,
    private readonly batchSize: number,
  ) {}

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.starting ??= this.spawnAll().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    await this.shutdown(new BatchVerifierNotRunningError("batch verifier stopped before the call finished"));
  }

  async verify(proofs: readonly SemaphoreProof[], options: { signal?: AbortSignal } = {}): Promise<boolean[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (!this.running) {
      const why = this.failure ? ` (${this.failure})` : "";
      throw new BatchVerifierNotRunningError(`batch verifier is not running${why}; call start() first`);
    }
    // Indexed loops, not map/forEach, so a hole in a sparse array gets its false like any other non-proof.
    const verdicts: boolean[] = Array.from({ length: proofs.length }, () => false);
    const positions: number[] = [];
    const engineProofs: EngineProof[] = [];
    for (let i = 0; i < proofs.length; i++) {
      const engineProof = toEngineProof(proofs[i]);
      if (engineProof) {
        positions.push(i);
        engineProofs.push(engineProof);
      }
    }
    if (engineProofs.length === 0) return verdicts;

    return new Promise<boolean[]>((resolve, reject) => {
      const onAbort = () => this.fail(call, signal?.reason);
      const call: Call = {
        verdicts,
        pendingJobs: 0,
        settled: false,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.calls.add(call);
      // Spread a small call over every thread rather than filling one batch and leaving the others idle.
      const size = Math.max(1, Math.min(this.batchSize, Math.ceil(engineProofs.length / this.threads)));
      for (let start = 0; start < engineProofs.length; start += size) {
        this.queue.push({ call, positions: positions.slice(start, start + size), proofs: engineProofs.slice(start, start + size) });
        call.pendingJobs++;
      }
      this.pump();
    });
  }

  private async spawnAll(): Promise<void> {
    this.failure = undefined;
    const slots = Array.from({ length: this.threads }, (_, index): Slot => ({ index, worker: new Worker(WORKER_URL) }));
    this.slots = slots;
    try {
      await Promise.all(slots.map((slot) => this.attach(slot)));
    } catch (err) {
      this.slots = [];
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw err;
    }
    this.running = true;
  }

  /** Wires a new worker's events; resolves on its `ready`, rejects if it dies first. */
  private attach(slot: Slot): Promise<void> {
    const { worker, index } = slot;
    let lastError: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      worker.on("message", (reply: WorkerReply) => {
        if (reply.type === "ready") {
          worker.unref();
          resolve();
        } else {
          this.complete(slot, reply);
        }
      });
      worker.on("error", (err) => {
        lastError = err;
      });
      worker.on("exit", (code) => {
        const cause = lastError ? `: ${lastError.message}` : "";
        const err = new BatchVerifierWorkerError(`batch-verify worker ${index} exited with code ${code}${cause}`);
        reject(err);
        // A worker we did not terminate died: every pending call is now unanswerable.
        if (this.slots.includes(slot)) {
          this.failure = err.message;
          void this.shutdown(err);
        }
      });
    });
  }

  private complete(slot: Slot, reply: Exclude<WorkerReply, { type: "ready" }>): void {
    const job = slot.job;
    slot.job = undefined;
    slot.worker.unref();
    if (job) {
      if (reply.type === "failed") {
        this.fail(job.call, new BatchVerifierWorkerError(`batch-verify worker ${slot.index} failed a batch: ${reply.message}`));
      } else if (!job.call.settled) {
        job.positions.forEach((position, i) => {
          job.call.verdicts[position] = reply.verdicts[i] === 1;
        });
        if (--job.call.pendingJobs === 0) {
          this.release(job.call);
          job.call.resolve(job.call.verdicts);
        }
      }
    }
    this.pump();
  }

  /** Hands queued batches to idle workers. */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: this.nextId++, proofs: job.proofs } satisfies BatchRequest);
    }
  }

  /** Rejects a call and drops its queued batches; batches already in flight finish unread. */
  private fail(call: Call, err: unknown): void {
    if (call.settled) return;
    this.release(call);
    this.queue = this.queue.filter((job) => job.call !== call);
    call.reject(err);
  }

  private release(call: Call): void {
    call.settled = true;
    call.detach();
    this.calls.delete(call);
  }

  private async shutdown(reason: Error): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    this.running = false;
    this.queue = [];
    for (const call of [...this.calls]) this.fail(call, reason);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }
}

/**
 * The type checks `verifyProof` makes before any maths, on the calling thread; undefined where it would
 * throw (so the verdict is false). Everything else goes to a worker. A point coordinate that is not a
 * string cannot cross to the worker unchanged (structured clone drops prototypes and functions), so it is
 * turned here into the text snarkjs would read from it.
 */
function toEngineProof(proof: unknown): EngineProof | undefined {
  try {
    if (typeof proof !== "object" || proof === null) return undefined;
    const { merkleTreeDepth, merkleTreeRoot, nullifier, message, scope, points } = proof as Record<string, unknown>;
    if (typeof merkleTreeDepth !== "number") return undefined;
    if (typeof merkleTreeRoot !== "string" || typeof nullifier !== "string") return undefined;
    if (typeof message !== "string" || typeof scope !== "string") return undefined;
    if (!Array.isArray(points)) return undefined;
    const coordinates: EngineCoordinate[] = [];
    for (let i = 0; i < 8; i++) {
      const value: unknown = points[i];
      // snarkjs reads it as "0000000" + value.toString(16); `+` (not a template) keeps its coercion.
      coordinates.push(
        typeof value === "string" ? value : { text: "" + (unstringifyBigInts(value) as { toString(radix: number): unknown }).toString(16) },
      );
    }
    return { depth: merkleTreeDepth, root: merkleTreeRoot, nullifier, message, scope, points: coordinates };
  } catch {
    // A getter or toString that throws, or a missing coordinate: verifyProof throws on it as well.
    return undefined;
  }
}

/** ffjavascript's utils.unstringifyBigInts, which snarkjs applies to the proof before reading its coordinates. */
function unstringifyBigInts(o: unknown): unknown {
  if (typeof o === "string" && /^[0-9]+$/.test(o)) return BigInt(o);
  if (typeof o === "string" && /^0x[0-9a-fA-F]+$/.test(o)) return BigInt(o);
  if (Array.isArray(o)) return o.map(unstringifyBigInts);
  if (typeof o === "object") {
    if (o === null) return null;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) out[k] = unstringifyBigInts((o as Record<string, unknown>)[k]);
    return out;
  }
  return o;
}
