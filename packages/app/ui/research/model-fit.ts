// The page's side of the model worker: one worker for every fit, started on the first; its errors keep their names
// (EmptySeriesError, PopulationTooSmallError, FitFailedError…).
import type { Observation, SeirFit } from "@mosaic/models";
import { type WorkerClient, workerClient } from "../worker-rpc.ts";

let client: WorkerClient | undefined;
const modelWorker = (): WorkerClient =>
  (client ??= workerClient(new Worker(new URL("./model-fit.worker.ts", import.meta.url), { type: "module", name: "mosaic-model" })));

export interface FitRequest {
  cases: Observation[];
  /** N, the people the epidemic can reach. */
  population: number;
  /** How many of them the series counts among (the job's respondents); @default population */
  respondents?: number;
  horizonDays: number;
  /** Bootstrap replicates for the band and R0's interval. */
  bootstrap: number;
}

export function fitSeirInWorker(request: FitRequest, onProgress?: (fraction: number) => void): Promise<SeirFit> {
  return modelWorker().call<SeirFit>({ op: "fit", ...request }, onProgress);
}
