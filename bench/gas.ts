// Gas figures of the JobRegistry (`npm run bench -- gas`): an honest job's whole lifecycle at 10, 1,000 and 100,000
// leaves (it must not grow with them) and each fraud proof at 100,000 leaves. Gas is deterministic, so one run;
// progress goes to stderr. test/contracts/gas.spec.ts holds the same figures to test/contracts/gas-snapshot.json.
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  FRAUD_FIGURES,
  FRAUD_LEAVES,
  FRAUD_TARGET,
  LIFECYCLE_SIZES,
  lifecycleSpread,
  measureGasDetailed,
  PAYLOAD_LENGTH,
} from "./lib/gas.js";

/** One line of output; `value` is null for a figure not measurable yet, with a note saying why. */
interface GasFigure {
  name: string;
  value: number | null;
  unit: string;
  n: number;
  [extra: string]: unknown;
}

const print = (figure: GasFigure) => console.log(JSON.stringify(figure));
const progress = (message: string) => process.stderr.write(`gas: ${message}\n`);

export async function main(): Promise<void> {
  const { figures, lifecycle, depth } = await measureGasDetailed({ onProgress: progress });
  const common = { unit: "gas", payload_length: PAYLOAD_LENGTH, reducer: "sum" };
  for (const n of LIFECYCLE_SIZES) {
    const name = `gas.lifecycle_n${n}`;
    print({
      name,
      value: figures[name] ?? null,
      ...common,
      n,
      ...lifecycle[name],
      note: "postJob + proposeResult + finalizeJob + withdraw; the reducer's stake is made once before and not counted",
    });
  }
  print({
    name: "gas.lifecycle_spread",
    value: lifecycleSpread(figures),
    unit: "gas",
    n: FRAUD_LEAVES,
    sizes: LIFECYCLE_SIZES,
    target: 1_000,
  });
  for (const [name, fn] of Object.entries(FRAUD_FIGURES))
    print({
      name,
      value: figures[name] ?? null,
      ...common,
      n: FRAUD_LEAVES,
      depth,
      function: fn,
      target: FRAUD_TARGET,
      note: "burn address already exists (a first burn costs 25,000 more once per chain)",
    });
  print({
    name: "gas.fraud_proof",
    value: null,
    unit: "gas",
    n: FRAUD_LEAVES,
    target: FRAUD_TARGET,
    note: "not implemented: JobRegistry has no challenge yet for a leaf whose Semaphore proof fails",
  });
}

// Run when started as `tsx bench/gas.ts` or through `tsx bench/run.ts gas`, not when another file imports this one.
const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url) || (path.basename(entry).startsWith("run.") && process.argv[2] === "gas")) await main();
