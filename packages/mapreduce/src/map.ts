// Running a job's map program in the vault: either form, then the output forced into the declared shape.
import type { JobSpec } from "@mosaic/protocol";
import { clampToOutput } from "./dp/sensitivity.js";
import { MapOutputShapeError } from "./errors.js";
import { describePipeline, type Row, runPipeline } from "./pipeline.js";
import { runSandboxed } from "./sandbox.js";

/**
 * Runs the spec's map program over `input` (each `ability/collection` in `reads` to its rows, declared fields
 * only) and returns the output clamped to the declared per-entry bounds. Whatever the program returns, the
 * result has the declared length and only integers within bounds; anything else is MapOutputShapeError.
 * Sandboxed programs also stop with MapProgramTimeoutError, MapProgramMemoryError, MapOutputTooLargeError
 * or MapProgramError. A one-hot output must have exactly one 1, checked when it is noised.
 */
export async function runMapProgram(
  spec: JobSpec,
  input: Readonly<Record<string, readonly Row[]>>,
  options: { signal?: AbortSignal } = {},
): Promise<number[]> {
  const program = spec.program;
  const output =
    program.kind === "pipeline" ? runPipeline(program, input) : await runSandboxed(program, input as Record<string, unknown[]>, options);
  const k = spec.output.entries.length;
  if (!Array.isArray(output)) throw new MapOutputShapeError(`map output: expected an array of ${k} numbers, got ${typeof output}`);
  if (output.length !== k) throw new MapOutputShapeError(`map output: expected ${k} items, got ${output.length}`);
  output.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x))
      throw new MapOutputShapeError(`map output[${i}]: expected a finite number, got ${JSON.stringify(x)}`);
  });
  return clampToOutput(output as number[], spec.output);
}

/** The map program as the consent screen shows it: plain words for a pipeline, the source for a sandboxed program. */
export function describeProgram(spec: JobSpec): string[] {
  const program = spec.program;
  if (program.kind === "pipeline") return describePipeline(program, spec.reads);
  return [
    `Runs this JavaScript program in a sandbox (no network, clock or randomness; at most ${program.limits.timeMs} ms and ${Math.round(program.limits.memoryBytes / 1048576)} MiB), on: ${spec.reads.map((r) => `${r.ability}/${r.collection} (${r.fields.join(", ")})`).join("; ")}.`,
    ...program.source.split("\n"),
  ];
}
