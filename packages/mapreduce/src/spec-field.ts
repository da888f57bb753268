// Which field of a job spec an InvalidJobSpecError names, so a form can show the error next to that field.
import { InvalidJobSpecError } from "@mosaic/protocol";

/** Where a spec error points: the field's path as validateSpec writes it, and the rest of the message. */
export interface SpecErrorField {
  /** e.g. `collectionDeadline`, `reads[0].ability`, `output.entries[2]`; `(root)` for the spec as a whole. */
  path: string;
  /** The top-level field the path starts in (`reads`, `output`, …), or `(root)`. */
  field: string;
  /** What is wrong, without the path. */
  problem: string;
}

/**
 * The field a validateSpec/decodeSpec error names, or undefined for any other error (or a message naming no field).
 * validateSpec writes `job spec: <path>: <problem>`; a path is a dotted name with optional `[i]` indexes.
 */
export function specErrorField(err: unknown): SpecErrorField | undefined {
  if (!(err instanceof InvalidJobSpecError) && (err as Error | undefined)?.name !== "InvalidJobSpecError") return undefined;
  const m = /^job spec: (\(root\)|[A-Za-z_$][\w$]*(?:\[\d+\]|\.[A-Za-z_$][\w$]*)*): ([\s\S]*)$/.exec((err as Error).message);
  if (m === null) return undefined;
  const path = m[1] as string;
  return { path, field: path === "(root)" ? path : (/^[A-Za-z_$][\w$]*/.exec(path)?.[0] as string), problem: m[2] as string };
}
