// exposure.psi_queries_per_s: the hotspot PSI server's throughput over a 10,000-place hotspot set. A query is one
// vault's request of 100 blinded items (RFC 9497 VOPRF, ristretto255-SHA512); the server's work per query is what
// the PSI service does with a request frame: decode and check it, evaluate every element with the set's key and
// prove it (one batch DLEQ proof), encode the answer. The network is left out (one loopback round trip is well under
// a millisecond); the vaults' blinding and proof checks run outside the timing. The evaluation is synchronous, on
// one core, so the value is queries per second of the process's CPU time (user + system) for the answers, median of
// BENCH_RUNS (default 3), as exposure.match_100k_keys_s counts; the wall-clock rate is beside it (`wall_queries_per_s`)
// with the load average the run saw. Also: items per second, the set's build time and the client's cost per query.
import {
  answerHotspotQuery,
  blindHotspotQuery,
  buildHotspotSet,
  decodePsiRequest,
  decodePsiResponse,
  encodePsiRequest,
  encodePsiResponse,
  finishHotspotQuery,
  generatePsiKeyPair,
  hotspotItem,
  type PsiQueryState,
  placeCell,
} from "@mosaic/exposure";
import os from "node:os";
import type { Figure } from "../shared.js";

const progress = (message: string) => process.stderr.write(`exposure psi: ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Items in one vault's query. */
export const PSI_BENCH_QUERY_ITEMS = 100;
/** Places (cell, hour items) in the hotspot set. */
export const PSI_BENCH_SET_ITEMS = 10_000;
const SET_CID = "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

export async function psiFigures(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const queries = Number(process.env.BENCH_PSI_QUERIES ?? 30);
  const start = 1_764_892_800;
  const keys = generatePsiKeyPair();

  progress(`building a ${PSI_BENCH_SET_ITEMS.toLocaleString("en")}-place hotspot set`);
  const hotspots: Uint8Array[] = [];
  for (let i = 0; i < PSI_BENCH_SET_ITEMS; i++)
    hotspots.push(hotspotItem(placeCell(52 + (i % 100) * 0.001, 4.8 + Math.floor(i / 100) * 0.001), start + (i % 336) * 3600));
  const t0 = performance.now();
  const set = buildHotspotSet(keys.secretKey, hotspots, { feedId: "1", from: start, to: start + 14 * 86_400 });
  const buildS = (performance.now() - t0) / 1000;
  progress(`set built in ${buildS.toFixed(2)} s`);

  // The vaults' queries, blinded beforehand: 100 visits each, every tenth one a hotspot.
  progress(`blinding ${queries} queries of ${PSI_BENCH_QUERY_ITEMS} items`);
  const t1 = performance.now();
  const blinded: { bytes: Uint8Array; state: PsiQueryState; expected: number[] }[] = [];
  for (let q = 0; q < queries; q++) {
    const items: Uint8Array[] = [];
    const expected: number[] = [];
    for (let i = 0; i < PSI_BENCH_QUERY_ITEMS; i++) {
      if (i % 10 === 0) {
        expected.push(i);
        items.push(hotspots[(q * 997 + i * 31) % hotspots.length] as Uint8Array);
      } else items.push(hotspotItem(placeCell(48 + q * 0.01 + i * 0.001, 2.3), start + i * 3600));
    }
    const { request, state } = blindHotspotQuery(items, SET_CID);
    blinded.push({ bytes: encodePsiRequest(request), state, expected });
  }
  const blindMs = (performance.now() - t1) / queries;

  const wall: number[] = [];
  const cpu: number[] = [];
  let answers: Uint8Array[] = [];
  for (let r = 0; r < runs; r++) {
    answers = [];
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (const q of blinded) answers.push(encodePsiResponse(answerHotspotQuery(keys.secretKey, keys.publicKey, decodePsiRequest(q.bytes))));
    const seconds = (performance.now() - w0) / 1000;
    const c = process.cpuUsage(c0);
    wall.push(seconds);
    cpu.push((c.user + c.system) / 1e6);
    progress(
      `run ${r + 1}/${runs}: ${queries} queries in ${seconds.toFixed(2)} s wall, ${cpu.at(-1)?.toFixed(2)} s CPU (${(queries / (cpu.at(-1) as number)).toFixed(1)} queries/s)`,
    );
  }

  // The answers are right: each vault finds exactly its hotspot visits (and pays this much to check).
  const t2 = performance.now();
  blinded.forEach((q, i) => {
    const found = finishHotspotQuery(q.state, decodePsiResponse(answers[i] as Uint8Array), set);
    if (found.join() !== q.expected.join())
      throw new Error(`exposure psi bench: query ${i} found ${found.join()} not ${q.expected.join()}`);
  });
  const finishMs = (performance.now() - t2) / queries;

  const seconds = median(cpu);
  const common = {
    set_items: PSI_BENCH_SET_ITEMS,
    query_items: PSI_BENCH_QUERY_ITEMS,
    runs,
    cpu_ms_per_query: Number(((seconds / queries) * 1000).toFixed(2)),
    wall_queries_per_s: Number((queries / median(wall)).toFixed(2)),
    load_avg: os.loadavg().map((x) => Number(x.toFixed(2))),
    set_build_s: Number(buildS.toFixed(2)),
    client_blind_ms_per_query: Number(blindMs.toFixed(1)),
    client_finish_ms_per_query: Number(finishMs.toFixed(1)),
    suite: "RFC 9497 VOPRF ristretto255-SHA512 (@noble/curves 2.4)",
  };
  return [
    {
      name: "exposure.psi_queries_per_s",
      value: Number((queries / seconds).toFixed(2)),
      unit: `queries/s (${PSI_BENCH_QUERY_ITEMS} items each)`,
      n: queries,
      ...common,
    },
    {
      name: "exposure.psi_items_per_s",
      value: Number(((queries * PSI_BENCH_QUERY_ITEMS) / seconds).toFixed(0)),
      unit: "items/s",
      n: queries * PSI_BENCH_QUERY_ITEMS,
      ...common,
    },
  ];
}
