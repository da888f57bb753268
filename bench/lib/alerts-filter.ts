// alerts.filter_per_s: CAP alerts decided per second on the device against a year of location history (one fix
// every 5 minutes, imported into a real on-disk vault from a Takeout file, as a user would), through the alert-filter
// ability's own readers over the vault's collections — the whole local decision, without storing it. 200 alerts
// over the year: windows of 1 to 7 days, each with one to three areas (polygons of 6 to 40 vertices and circles of
// 0.3 to 5 km), half around the places the person goes (so the walk over the points finds a match), half in the
// same city where they never go (so every point in the window is tested). BENCH_RUNS (default 5) passes over the 200.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CapAlert, CapArea } from "@mosaic/alerts";
import { decideCapAlert, openVault, vaultAlertReaders } from "@mosaic/vault";
import { seededRandom } from "@mosaic/cli";
import type { Figure } from "../shared.js";
import { generateTakeoutYear } from "./takeout-year.js";

const progress = (message: string) => process.stderr.write(`alerts filter: ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const YEAR_START = 1_672_531_200; // 2023-01-01, the Takeout year's first fix
const DAY_S = 86_400;
/** Where the generated person goes (home, office, shops) and a few places in Munich they never go. */
const VISITED = [
  { lat: 48.13513, lon: 11.58198 },
  { lat: 48.15003, lon: 11.54564 },
  { lat: 48.1372, lon: 11.5755 },
];
const ELSEWHERE = [
  { lat: 48.1, lon: 11.48 },
  { lat: 48.18, lon: 11.65 },
  { lat: 48.2, lon: 11.52 },
];

/** A CAP date-time for a unix time. */
const capTime = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;

function area(rand: () => number, center: { lat: number; lon: number }, i: number): CapArea {
  const lat = center.lat + (rand() - 0.5) * 0.01;
  const lon = center.lon + (rand() - 0.5) * 0.01;
  if (rand() < 0.3)
    return {
      areaDesc: `circle ${i}`,
      polygon: [],
      circle: [`${lat.toFixed(5)},${lon.toFixed(5)} ${(0.3 + rand() * 4.7).toFixed(2)}`],
      geocode: [],
    };
  const n = 6 + Math.floor(rand() * 35);
  const r = 0.005 + rand() * 0.03;
  const ring: string[] = [];
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n;
    const rr = r * (0.6 + 0.4 * rand());
    ring.push(`${(lat + rr * Math.sin(a)).toFixed(5)},${(lon + 1.5 * rr * Math.cos(a)).toFixed(5)}`);
  }
  ring.push(ring[0] as string);
  return { areaDesc: `polygon ${i}`, polygon: [ring.join(" ")], circle: [], geocode: [] };
}

function alerts(count: number): CapAlert[] {
  const rand = seededRandom(21);
  const out: CapAlert[] = [];
  for (let i = 0; i < count; i++) {
    const onset = YEAR_START + Math.floor(rand() * 355) * DAY_S + Math.floor(rand() * DAY_S);
    const days = 1 + Math.floor(rand() * 7);
    const places = i % 2 === 0 ? VISITED : ELSEWHERE;
    const areas = 1 + Math.floor(rand() * 3);
    out.push({
      identifier: `bench-${i}`,
      sender: "alerts@muenchen.example",
      sent: capTime(onset - 3600),
      status: "Actual",
      msgType: "Alert",
      scope: "Public",
      code: [],
      info: [
        {
          category: ["Health"],
          event: "Outbreak",
          responseType: ["Monitor"],
          urgency: "Expected",
          severity: "Moderate",
          certainty: "Likely",
          eventCode: [],
          onset: capTime(onset),
          expires: capTime(onset + days * DAY_S),
          headline: `Alert ${i}`,
          parameter: [],
          resource: [],
          area: Array.from({ length: areas }, (_, k) =>
            area(rand, places[Math.floor(rand() * places.length)] as { lat: number; lon: number }, k),
          ),
        },
      ],
    });
  }
  return out;
}

export async function filterFigures(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const count = 200;
  const root = await mkdtemp(path.join(tmpdir(), "mosaic-bench-alerts-"));
  try {
    progress("generating a year of Takeout history (a fix every 5 minutes) and importing it into a vault");
    const year = generateTakeoutYear({ everySeconds: 300 });
    const vault = await openVault(path.join(root, "vault"), { rootSeed: crypto.getRandomValues(new Uint8Array(32)) });
    try {
      const imported = await vault.importLocations(year.bytes, { fileName: "Records.json" });
      const readers = vaultAlertReaders(vault.ability("alert-filter"));
      const template = alerts(count);
      const nowS = YEAR_START + 366 * DAY_S;
      const rates: number[] = [];
      let concerning = 0;
      for (let run = 1; run <= runs; run++) {
        concerning = 0;
        // Fresh objects each pass: an area's prepared shape is cached per object, and a vault decides each alert once.
        const caps = structuredClone(template);
        const t = performance.now();
        for (const cap of caps) if (decideCapAlert(cap, readers, nowS).concerns) concerning++;
        const seconds = (performance.now() - t) / 1000;
        rates.push(count / seconds);
        progress(
          `run ${run}/${runs}: ${count} alerts in ${(seconds * 1000).toFixed(0)} ms (${Math.round(count / seconds)}/s), ${concerning} concern the user`,
        );
      }
      return [
        {
          name: "alerts.filter_per_s",
          value: Math.round(median(rates)),
          unit: "alerts/s",
          n: runs,
          first_pass_per_s: Math.round(rates[0] as number),
          alerts: count,
          concerning,
          history_points: imported.points,
          what: "CAP alerts (1-7 day windows, 1-3 areas) decided against a year of 5-minute fixes in an on-disk vault",
        },
      ];
    } finally {
      await vault.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
