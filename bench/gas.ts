// Gas figures of the JobRegistry (`npm run bench -- gas`): an honest job's whole lifecycle at 10, 1,000 and 100,000
// leaves (it must not grow with them), each fraud proof and each data-availability call at 100,000 leaves, and
// finalizeJob at its worst (MAX_PROPOSALS proposals, each with MAX_REQUESTS_PER_REQUESTER answered data requests). Gas is
// deterministic (up to a few dozen gas from the random points of real proofs), so one run; progress goes to stderr. test/contracts/gas.spec.ts holds the same figures to test/contracts/gas-snapshot.json.
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DATA_FIGURES,
  FRAUD_FIGURES,
  FRAUD_LEAVES,
  FRAUD_TARGET,
  LIFECYCLE_SIZES,
  lifecycleSpread,
  measureGasDetailed,
  MAX_PROPOSALS,
  PAYLOAD_LENGTH,
  WORST_FIGURES,
} from "./lib/gas.js";

/** One line of output. */
interface GasFigure {
  name: string;
  value: number;
  unit: string;
  n: number;
  [extra: string]: unknown;
}

const print = (figure: GasFigure) => console.log(JSON.stringify(figure));
const progress = (message: string) => process.stderr.write(`gas: ${message}\n`);

export async function main(): Promise<void> {
  const { figures, lifecycle, details, depth } = await measureGasDetailed({ onProgress: progress });
  const common = { unit: "gas", payload_length: PAYLOAD_LENGTH, reducer: "sum" };
  for (const n of LIFECYCLE_SIZES) {
    const name = `gas.lifecycle_n${n}`;
    print({
      name,
      value: figures[name] as number,
      ...common,
      n,
      ...lifecycle[name],
      note: "postJob + commitResult + proposeResult (the reveal) + finalizeJob + withdraw; the reducer's stake is made once before and not counted",
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
  const burn = "burn address already exists (a first burn costs 25,000 more once per chain)";
  for (const name of Object.keys(FRAUD_FIGURES))
    print({ name, value: figures[name] as number, ...common, n: FRAUD_LEAVES, depth, ...details[name], target: FRAUD_TARGET, note: burn });
  for (const name of Object.keys(DATA_FIGURES))
    print({
      name,
      value: figures[name] as number,
      ...common,
      n: FRAUD_LEAVES,
      depth,
      ...details[name],
      ...(name === "gas.data_settle" ? { target: FRAUD_TARGET, note: burn } : {}),
    });
  for (const name of Object.keys(WORST_FIGURES))
    print({ name, value: figures[name] as number, ...common, n: MAX_PROPOSALS, ...details[name] });
}

// Run when started as `tsx bench/gas.ts` or through `tsx bench/run.ts gas`, not when another file imports this one.
const entry = path.resolve(process.argv[1] ?? "");
if (entry === fileURLToPath(import.meta.url) || (path.basename(entry).startsWith("run.") && process.argv[2] === "gas")) await main();
