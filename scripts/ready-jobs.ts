// Writes the ready-job library to jobs/<name>.json with a fixed deadline, so the files researchers copy stay in
// step with the builders (test/ready-jobs... checks they do). Run: npx tsx scripts/ready-jobs.ts
import { writeFileSync } from "node:fs";
import path from "node:path";
import { READY_JOBS, validateSpec } from "@mosaic/mapreduce";
import type { JobSpec } from "@mosaic/protocol";
// The vault's reach job by its file, not the package: the vault's index would load threads, abilities and IPFS here.
import { alertReachJob } from "../packages/vault/src/alerts/reach.js";

/** The deadline the checked-in files carry; `mosaic job new <name>` writes one with a fresh deadline. */
export const READY_JOB_DEADLINE = Date.UTC(2026, 11, 1, 12) / 1000;

/**
 * Jobs written beside the library's: templates a command fills in before posting (alert-reach: the alert's key,
 * by `mosaic alerts reach-job`), so not in READY_JOBS, which `mosaic job new` offers as they are.
 */
const TEMPLATES: Readonly<Record<string, (init: { collectionDeadline: number }) => JobSpec>> = {
  "alert-reach": alertReachJob,
};

export function readyJobFiles(): Array<{ file: string; text: string }> {
  return Object.entries({ ...READY_JOBS, ...TEMPLATES }).map(([name, build]) => ({
    file: path.join(import.meta.dirname, "..", "jobs", `${name}.json`),
    text: `${JSON.stringify(validateSpec(build({ collectionDeadline: READY_JOB_DEADLINE })), null, 2)}\n`,
  }));
}

if (process.argv[1] === import.meta.filename) for (const { file, text } of readyJobFiles()) writeFileSync(file, text);
