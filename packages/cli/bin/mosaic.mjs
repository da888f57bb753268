#!/usr/bin/env node
// The installed `mosaic` command (`npx mosaic …`, node_modules/.bin/mosaic): runs the bundle in ../dist, which setup
// builds (`npm install`; `npm run build:cli` after changing the source). `npm run mosaic -- …` runs the TypeScript
// source instead, through tsx: slower to start, never out of date.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/bin.mjs", import.meta.url);
const major = Number(process.versions.node.split(".")[0]);
// Under npx and npm scripts the project's Node 24 (the `node` devDependency) comes first on PATH; started by an older
// Node (the shebang's, from a shell), hand over to the project's own.
const ownNode = fileURLToPath(new URL("../../../node_modules/node/bin/node", import.meta.url));
if (major < 22) {
  handOver();
} else if (!existsSync(bundle)) {
  console.error(`mosaic: the command is not built (${fileURLToPath(bundle)} is missing); run 'npm run build:cli', or 'npm install'`);
  process.exit(1);
} else {
  warnIfStale();
  await import(bundle.href);
}

/** Runs this launcher again on the project's Node, passing signals on (Ctrl-C, a supervisor's SIGTERM). */
function handOver() {
  if (!existsSync(ownNode)) {
    console.error(`mosaic: needs Node 22 or newer, this is ${process.version}; run it as 'npx mosaic' in the project`);
    process.exit(1);
  }
  const child = spawn(ownNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, () => child.kill(s));
  child.on("exit", (code, signal) => {
    if (signal) {
      for (const s of signals) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}

/** In a checkout, says so on stderr when a source file the bundle was built from has changed since. */
function warnIfStale() {
  const root = new URL("../../../", import.meta.url);
  let built;
  let inputs;
  try {
    built = statSync(bundle).mtimeMs;
    inputs = Object.keys(JSON.parse(readFileSync(new URL("../dist/meta.json", import.meta.url), "utf8")).inputs);
  } catch {
    return;
  }
  for (const input of inputs) {
    if (!input.startsWith("packages/")) continue;
    let changed;
    try {
      changed = statSync(new URL(input, root)).mtimeMs > built;
    } catch {
      changed = true; // a source file the bundle was built from is gone
    }
    if (changed) {
      console.error(`mosaic: ${input} changed after the bundle was built; run 'npm run build:cli' (or use 'npm run mosaic --')`);
      return;
    }
  }
}
