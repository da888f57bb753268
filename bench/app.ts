// `npm run bench -- app`: the browser app in Debian's Chromium, served by serveApp on loopback.
//   app.bundle_kb                 JavaScript in the build, gzipped (page, lazy chunks and workers; not the artifacts)
//   app.first_load_js_kb          of that, what a first visit loads before the vault's first screen
//   app.first_load_ms             an empty profile's load, to the vault's first screen (median of 5)
//   app.prove_ms                  a Semaphore proof in the app's prove worker, artifacts loaded (median of 5; the
//                                 first proof, which also fetches and checks the artifacts, is printed apart)
//   app.import_takeout_points_per_s  a year of Takeout fixes (one every 5 minutes) imported through the page
// Needs the app built (npm run build:app) and Chromium (apt-get install chromium).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { serveApp } from "@mosaic/app";
import { Group, Identity, proofRequestOf } from "@mosaic/avatar";
import { parseNetworkFile } from "@mosaic/protocol";
import { Wallet } from "ethers";
import { launchBrowser } from "../test/browser/harness.js";
import { generateTakeoutYear } from "./lib/takeout-year.js";

const DIST = path.resolve(import.meta.dirname, "../packages/app/dist");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const emit = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra }));
const progress = (what: string) => process.stderr.write(`bench app: ${what}\n`);

// -- bundle size ---------------------------------------------------------------------------------------------------
const assets = readdirSync(path.join(DIST, "assets")).filter((f) => f.endsWith(".js"));
const gz = assets.map((f) => ({ f, kb: gzipSync(readFileSync(path.join(DIST, "assets", f)), { level: 9 }).length / 1024 }));
const workers = gz.filter((x) => /worker/.test(x.f));
emit(
  "app.bundle_kb",
  gz.reduce((n, x) => n + x.kb, 0),
  "KiB gzip",
  {
    files: gz.length,
    page_kb: Math.round(gz.filter((x) => !/worker/.test(x.f)).reduce((n, x) => n + x.kb, 0)),
    workers_kb: Math.round(workers.reduce((n, x) => n + x.kb, 0)),
  },
);

// -- a server for a network the page only reads the name of --------------------------------------------------------
const address = () => ({ address: Wallet.createRandom().address, deployBlock: 0 });
const network = parseNetworkFile(
  {
    v: 1,
    name: "bench",
    chainId: 31337,
    rpc: "http://127.0.0.1:9/",
    contracts: {
      semaphore: address(),
      avatarGroups: address(),
      openAdmission: address(),
      registrarAdmission: address(),
      jobRegistry: address(),
      reducerDirectory: address(),
    },
    bootstrap: [],
    createdAt: new Date().toISOString(),
  },
  "bench network",
);
const server = await serveApp({ network });
const url = server.url.replace(/\/$/, "");
const browser = await launchBrowser();
try {
  // -- first load ------------------------------------------------------------------------------------------------
  const loads: number[] = [];
  const loadedJs = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const context = await browser.newProfile();
    const page = await context.newPage();
    page.on("response", (r) => {
      const file = /\/assets\/([^/?]+\.js)$/.exec(new URL(r.url()).pathname)?.[1];
      if (file !== undefined) loadedJs.add(file);
    });
    const t0 = performance.now();
    await page.goto(`${url}/#/vault`);
    await page.getByRole("heading", { name: "Create your vault" }).waitFor();
    loads.push(performance.now() - t0);
    await context.close();
  }
  emit("app.first_load_ms", median(loads), "ms", { n: loads.length, runs: loads.map(Math.round) });
  const first = gz.filter((x) => loadedJs.has(x.f));
  emit(
    "app.first_load_js_kb",
    first.reduce((n, x) => n + x.kb, 0),
    "KiB gzip",
    { files: first.map((x) => x.f) },
  );

  // -- a proof in the prove worker ---------------------------------------------------------------------------------
  const proveWorker = assets.find((f) => f.startsWith("prove.worker"));
  if (proveWorker === undefined) throw new Error("no prove.worker-*.js in the build: run 'npm run build:app'");
  const members = Array.from({ length: 64 }, () => new Identity());
  const me = members[17] as Identity;
  const request = proofRequestOf(
    me,
    new Group(members.map((m) => m.commitment)),
    { chainId: 31337n, registry: network.contracts.jobRegistry.address, jobId: 1n },
    [1, 2, 3],
  );
  const context = await browser.newProfile();
  const page = await context.newPage();
  await page.goto(`${url}/#/vault`);
  const times = (await page.evaluate(
    async ({ script, request, runs }) => {
      const worker = new Worker(script, { type: "module" });
      const out: number[] = [];
      for (let id = 1; id <= runs; id++) {
        const t0 = performance.now();
        await new Promise<void>((resolve, reject) => {
          worker.onmessage = (e: MessageEvent<{ id: number; result?: unknown; error?: { name: string; message: string } }>) => {
            if (e.data.error !== undefined) reject(new Error(`${e.data.error.name}: ${e.data.error.message}`));
            else if ("result" in e.data) resolve();
          };
          worker.postMessage({ id, op: "prove", request, artifactsBase: `${location.origin}/artifacts` });
        });
        out.push(performance.now() - t0);
      }
      worker.terminate();
      return out;
    },
    { script: `/assets/${proveWorker}`, request, runs: 6 },
  )) as number[];
  const [cold, ...warm] = times;
  emit("app.prove_ms", median(warm), "ms", { n: warm.length, first_with_artifacts_ms: Math.round(cold ?? 0), runs: warm.map(Math.round) });
  await context.close();

  // -- a Takeout year imported through the page --------------------------------------------------------------------
  const takeout = generateTakeoutYear({ everySeconds: 300 });
  progress(`importing ${takeout.points} fixes (${(takeout.bytes.length / 2 ** 20).toFixed(1)} MiB) through the page`);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const ctx = await browser.newProfile();
    const pg = await ctx.newPage();
    await pg.goto(`${url}/#/vault`);
    await pg.getByLabel("Passphrase", { exact: true }).fill("bench passphrase");
    await pg.getByLabel("Passphrase again").fill("bench passphrase");
    await pg.getByRole("button", { name: "Create vault" }).click();
    await pg.getByRole("tab", { name: "Data" }).waitFor({ timeout: 120_000 });
    const t0 = performance.now();
    await pg
      .getByLabel("Location file")
      .setInputFiles({ name: "Records.json", mimeType: "application/json", buffer: Buffer.from(takeout.bytes) });
    const text = (await pg.getByTestId("import-summary").textContent({ timeout: 600_000 })) ?? "";
    const seconds = (performance.now() - t0) / 1000;
    const points = Number(/Imported (\d+) fixes/.exec(text)?.[1]);
    if (!(points > 0)) throw new Error(`the import did not finish: ${text}`);
    rates.push(points / seconds);
    await ctx.close();
  }
  emit("app.import_takeout_points_per_s", median(rates), "points/s", {
    n: rates.length,
    points: takeout.points,
    runs: rates.map(Math.round),
  });
} finally {
  await browser.close();
  await server.close();
}
