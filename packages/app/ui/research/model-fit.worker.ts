// The SEIR fit off the page's thread: Nelder–Mead plus the bootstrap for the band take from a fraction of a second to
// several seconds, and the page keeps drawing its progress bar meanwhile.
import { fitSeir, type Observation } from "@mosaic/models";
import { serveWorker } from "../worker-rpc.ts";

serveWorker(async (message, progress) => {
  if (message.op !== "fit") throw new TypeError(`model worker: unknown op ${JSON.stringify(message.op)}`);
  return fitSeir(
    { cases: message.cases as Observation[] },
    {
      population: message.population as number,
      respondents: message.respondents as number | undefined,
      horizonDays: message.horizonDays as number,
      bootstrap: message.bootstrap as number,
      seed: 1,
      onProgress: (done, total) => progress(total > 0 ? done / total : 0),
    },
  );
});
