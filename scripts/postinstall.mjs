#!/usr/bin/env node
// Setup, after `npm install` / `npm ci`: installs the platform packages npm skips on Node 20, checks the Semaphore
// proof artifacts against pinned hashes, compiles the contracts into their TypeScript bindings, and bundles the
// `mosaic` command (scripts/build-cli.mjs) and builds the browser app (scripts/build-app.mjs). Plain JS: it runs before
// anything is built.
//
// The one Node requirement: Node ≥ 20 with npm ≥ 10 to install; everything then runs on the project's own Node 24
// (the npm `node` package), which npm scripts and npx put first on PATH.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REQUIREMENT = "Mosaic needs Node ≥ 20 with npm ≥ 10 to install (it then runs on its own Node 24)";

function fail(message) {
  console.error(`mosaic: ${message}`);
  process.exit(1);
}

function run(what, command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) fail(`${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}

/** A build step: fatal when there is no earlier output to fall back on (a fresh clone), a warning otherwise. */
function build(what, output, command, args, done) {
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (r.status === 0) return console.log(done);
  const why = `${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`;
  if (!existsSync(path.join(root, output))) fail(why);
  console.warn(`mosaic: ${why}; kept the previous ${output}, fix the error and run it again`);
}

// npm itself runs on the machine's Node: the user agent says which ("npm/11.6.2 node/v20.19.5 linux x64 …").
const agent = process.env.npm_config_user_agent ?? "";
const npmNode = /node\/v(\d+)/.exec(agent)?.[1];
const npmMajor = /npm\/(\d+)/.exec(agent)?.[1];
if ((npmNode !== undefined && Number(npmNode) < 20) || (npmMajor !== undefined && Number(npmMajor) < 10)) {
  fail(`${REQUIREMENT}; this is npm ${npmMajor} on Node ${npmNode}`);
}

// npm on Node 20 skips optional packages whose own `engines` ask for Node ≥ 22, whatever Node will run them; Hardhat's
// EDR binary is one. Install the ones this platform needs, at their locked versions, without touching the lockfile.
if (npmNode !== undefined && Number(npmNode) < 22) {
  const missing = missingPlatformPackages();
  if (missing.length > 0) {
    console.log(`mosaic: npm on Node ${npmNode} skipped ${missing.join(", ")} (they ask for Node ≥ 22); installing them`);
    run("installing the skipped platform packages", "npm", [
      "install",
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      ...missing,
    ]);
  }
}

function missingPlatformPackages() {
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
  const libc = process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
  const fits = (list, value) => list === undefined || list.includes(value);
  const out = [];
  for (const [where, meta] of Object.entries(lock.packages ?? {})) {
    if (!meta.optional || !where.startsWith("node_modules/")) continue;
    if (!fits(meta.os, process.platform) || !fits(meta.cpu, process.arch) || !fits(meta.libc, libc)) continue;
    if (existsSync(path.join(root, where))) continue;
    out.push(`${where.slice(where.lastIndexOf("node_modules/") + 13)}@${meta.version}`);
  }
  return out;
}

// The one artifact set Mosaic proves and verifies with (depth 20), from @zk-kit/semaphore-artifacts@4.13.0.
const PINNED = {
  "semaphore-20.wasm": "6f71e55586929e520e76027ebe067daac8b41e2f4b8057313a5fd0304e1e44ee",
  "semaphore-20.zkey": "33f9a067a80c7daf90e085449073613a9559a1904dd40aeb6d603afb7988c2cc",
};

const dir = path.dirname(require.resolve("@zk-kit/semaphore-artifacts/package.json"));
let bad = 0;
for (const [file, want] of Object.entries(PINNED)) {
  const p = path.join(dir, file);
  if (!existsSync(p)) {
    console.error(`mosaic: missing Semaphore artifact ${p}; run 'npm ci' to reinstall @zk-kit/semaphore-artifacts`);
    bad++;
    continue;
  }
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(p)) hash.update(chunk);
  const got = hash.digest("hex");
  if (got !== want) {
    console.error(`mosaic: ${file} has sha256 ${got}, expected ${want}; the package may be tampered with`);
    bad++;
  }
}
if (bad > 0) process.exit(1);
console.log("mosaic: Semaphore depth-20 artifacts verified (sha256)");

// The rest runs on the project's Node 24, whichever Node runs this script.
const node = path.join(root, "node_modules/node/bin", process.platform === "win32" ? "node.exe" : "node");
if (!existsSync(node)) fail(`${node} is missing: the npm 'node' package did not install; run 'npm ci' again`);
const nodeMajor = Number(spawnSync(node, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout);
if (!(nodeMajor >= 22)) fail(`${node} is not Node 22 or newer; run 'npm ci' again`);

// Contract bindings (packages/protocol/src/contracts/types): the compiler is the npm `solc` package, so this works
// offline. A no-op when nothing changed.
const hardhatPackage = require.resolve("hardhat/package.json");
const hardhat = path.join(path.dirname(hardhatPackage), JSON.parse(readFileSync(hardhatPackage, "utf8")).bin.hardhat);
build(
  "compiling the contracts (npm run build:contracts)",
  "packages/protocol/src/contracts/types/index.ts",
  node,
  [hardhat, "build", "--quiet"],
  "mosaic: contracts compiled, TypeScript bindings generated",
);

// The `mosaic` command (node_modules/.bin/mosaic, `npx mosaic`) runs this bundle.
build(
  "bundling the CLI (npm run build:cli)",
  "packages/cli/dist/bin.mjs",
  node,
  [path.join(root, "scripts/build-cli.mjs")],
  "mosaic: CLI bundled into packages/cli/dist; try 'npx mosaic --help'",
);

// The browser app (`mosaic app`, `npm run app` serve it): Vite builds it into packages/app/dist.
build(
  "building the app (npm run build:app)",
  "packages/app/dist/index.html",
  node,
  [path.join(root, "scripts/build-app.mjs")],
  "mosaic: app built into packages/app/dist; start it with 'npm run app'",
);
