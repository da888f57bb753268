// Exposure-notification figures (issue 20): matching 100,000 published keys on one core, the hotspot PSI server's
// throughput over a 10,000-place set, and the precision and recall of notifications against the town simulator's
// truth. `npm run bench -- exposure [figure…]`; BENCH_RUNS (default 3) repeats each timing; progress goes to stderr.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { accuracyFigures } from "./lib/exposure-accuracy.js";
import { matchFigures } from "./lib/exposure-match.js";
import { psiFigures } from "./lib/exposure-psi.js";
import type { Figure } from "./shared.js";

const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version };
const print = (figure: Figure) => console.log(JSON.stringify({ ...figure, ...machine }));

/** The figure groups of this bench by name, in the order `main` runs them. */
export const FIGURES: Record<string, () => Promise<Figure[]>> = {
  "exposure.match_100k_keys_s": matchFigures,
  "exposure.psi_queries_per_s": psiFigures,
  "exposure.accuracy": accuracyFigures,
};

/** Runs the named figure groups (all when none are named) and prints each figure as a JSON line once measured. */
export async function main(names: readonly string[] = []): Promise<void> {
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0)
    throw new Error(`exposure bench: no figure ${unknown.join(", ")}; choose from ${Object.keys(FIGURES).join(", ")}`);
  for (const [name, measure] of Object.entries(FIGURES)) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const figure of await measure()) print(figure);
  }
}

const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
else if (path.basename(entry).startsWith("run.") && process.argv[2] === "exposure") await main(process.argv.slice(3));
