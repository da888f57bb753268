// Public-alert and epidemic-model figures (issue 21): alerts checked per second against a year of location history on
// the device, the time for a published alert to reach 50 following replica nodes on loopback, and the time to fit
// SEIR to a 120-day series. `npm run bench -- alerts [figure…]`; BENCH_RUNS repeats each timing; progress on stderr.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { filterFigures } from "./lib/alerts-filter.js";
import { propagateFigures } from "./lib/alerts-propagate.js";
import { modelFigures } from "./lib/model-fit.js";
import type { Figure } from "./shared.js";

const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version };
const print = (figure: Figure) => console.log(JSON.stringify({ ...figure, ...machine }));

/** The figure groups of this bench by name, in the order `main` runs them. */
export const FIGURES: Record<string, () => Promise<Figure[]>> = {
  "alerts.filter_per_s": filterFigures,
  "alerts.propagate_s": propagateFigures,
  "model.seir_fit_ms": modelFigures,
};

/** Runs the named figure groups (all when none are named) and prints each figure as a JSON line once measured. */
export async function main(names: readonly string[] = []): Promise<void> {
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0) throw new Error(`alerts bench: no figure ${unknown.join(", ")}; choose from ${Object.keys(FIGURES).join(", ")}`);
  for (const [name, measure] of Object.entries(FIGURES)) {
    if (names.length > 0 && !names.includes(name)) continue;
    for (const figure of await measure()) print(figure);
  }
}

const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
else if (path.basename(entry).startsWith("run.") && process.argv[2] === "alerts") await main(process.argv.slice(3));
