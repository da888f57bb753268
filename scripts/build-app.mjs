#!/usr/bin/env node
// `npm run build:app` (and setup): builds the browser app with Vite (packages/app/vite.config.ts) into
// packages/app/dist, which `mosaic app` serves. Plain JS: it runs at install, before anything else is built.
//
// Vite runs on the Node that runs this script (process.execPath), not whichever `node` is first on PATH. It builds
// into a fresh directory beside dist, which is then swapped in: a failed or interrupted build leaves the old app whole.
// Quiet when it works; Vite's own output when it fails.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const app = path.join(root, "packages/app");
const outdir = path.join(app, "dist");
const tmp = `${outdir}.tmp-${process.pid}`;

function fail(message) {
  console.error(`mosaic: ${message}`);
  process.exit(1);
}

let vite;
try {
  vite = path.join(path.dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin/vite.js");
} catch {
  fail("vite is not installed; run 'npm install'");
}

await rm(tmp, { recursive: true, force: true });
const r = spawnSync(
  process.execPath,
  [vite, "build", "--config", path.join(app, "vite.config.ts"), "--outDir", tmp, "--emptyOutDir", "--logLevel", "warn"],
  { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 << 20 },
);
if (r.status !== 0 || !existsSync(path.join(tmp, "index.html"))) {
  await rm(tmp, { recursive: true, force: true });
  process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
  fail(
    `building the app failed (${r.error?.message ?? `vite exited ${r.status ?? r.signal}`}); the previous packages/app/dist, if any, is kept`,
  );
}
await rm(outdir, { recursive: true, force: true });
await rename(tmp, outdir);
