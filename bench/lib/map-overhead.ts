// The cost of the sandbox: the km-per-day histogram as a declarative pipeline and as the same computation in a
// sandboxed JavaScript program (QuickJS in WebAssembly, a fresh VM per run), over one week of fixes every minute.
import { DAY_S, kmPerDayJob, runMapProgram } from "@mosaic/mapreduce";
import type { JobSpec } from "@mosaic/protocol";

function sandboxed(spec: JobSpec): JobSpec {
  if (spec.program.kind !== "pipeline") throw new Error("expected the pipeline job");
  const window = spec.program.steps[0] as { from: number; to: number };
  const source = `
const FROM = ${window.from}, TO = ${window.to}, DAYS = ${(window.to - window.from) / DAY_S}, EDGES = [1, 5, 10, 25, 50];
function km(a, b) {
  const r = Math.PI / 180, dLat = (b.lat - a.lat) * r, dLon = (b.lon - a.lon) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}
function map(input) {
  const rows = input["location-history/points"].filter((p) => p.t >= FROM && p.t < TO).sort((a, b) => a.t - b.t);
  const perDay = new Array(DAYS).fill(0);
  for (let i = 1; i < rows.length; i++) {
    const d = Math.floor((rows[i].t - FROM) / 86400);
    if (d === Math.floor((rows[i - 1].t - FROM) / 86400)) perDay[d] += km(rows[i - 1], rows[i]);
  }
  const out = new Array(EDGES.length + 1).fill(0);
  for (const v of perDay) { let b = 0; while (b < EDGES.length && Math.round(v) >= EDGES[b]) b++; out[b]++; }
  return out;
}`;
  return { ...spec, program: { kind: "sandbox", language: "javascript", source, limits: { timeMs: 5000, memoryBytes: 64 << 20 } } };
}

/** One week of fixes every 60 s: a morning and an evening trip each day. */
function week(from: number): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (let t = from; t < from + 7 * DAY_S; t += 60) {
    const s = (t - from) % DAY_S;
    const out =
      s > 8 * 3600 && s < 9 * 3600
        ? (s - 8 * 3600) / 3600
        : s >= 9 * 3600 && s < 17 * 3600
          ? 1
          : s >= 17 * 3600 && s < 18 * 3600
            ? 1 - (s - 17 * 3600) / 3600
            : 0;
    rows.push({ t, lat: 38.7 + out * 0.1 * (1 + ((t / DAY_S) % 3)), lon: -9.1 });
  }
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Median ms per run of each form, their ratio, and whether the outputs agree. */
export async function measureSandboxOverhead(
  runs = 15,
): Promise<{ pipelineMs: number; sandboxMs: number; ratio: number; rows: number; same: boolean }> {
  const pipelineSpec = kmPerDayJob({ collectionDeadline: 1_790_000_000 });
  const sandboxSpec = sandboxed(pipelineSpec);
  const window = (pipelineSpec.program as { steps: Array<{ from: number }> }).steps[0] as { from: number };
  const input = { "location-history/points": week(window.from) };
  const a = await runMapProgram(pipelineSpec, input);
  const b = await runMapProgram(sandboxSpec, input);
  const time = async (spec: JobSpec) => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await runMapProgram(spec, input);
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  // Interleaved: each form runs while the machine is in the same state.
  const pipelineMs: number[] = [];
  const sandboxMs: number[] = [];
  for (let round = 0; round < 3; round++) {
    pipelineMs.push(await time(pipelineSpec));
    sandboxMs.push(await time(sandboxSpec));
  }
  const p = median(pipelineMs);
  const s = median(sandboxMs);
  return {
    pipelineMs: p,
    sandboxMs: s,
    ratio: s / p,
    rows: input["location-history/points"].length,
    same: JSON.stringify(a) === JSON.stringify(b),
  };
}
