#!/usr/bin/env node
// After `npm install`: make sure the project's own Node (24) installed every platform package, then check
// the Semaphore proof artifacts against pinned hashes. Plain JS: it runs before anything is built.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

// npm running on an older Node skips optional packages whose `engines` ask for >=22 (Hardhat's EDR binary
// among them). Install the ones this platform needs, at their locked versions, without touching the lock.
const npmNode = /node\/v(\d+)/.exec(process.env.npm_config_user_agent ?? "")?.[1];
if (npmNode !== undefined && Number(npmNode) < 22) {
  const missing = missingPlatformPackages();
  if (missing.length > 0) {
    console.log(`mosaic: npm ran on Node ${npmNode} and skipped ${missing.join(", ")}; installing them`);
    const r = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", ...missing], {
      stdio: "inherit",
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

function missingPlatformPackages() {
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
  const libc = process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
  const fits = (list, value) => list === undefined || list.includes(value);
  const out = [];
  for (const [where, meta] of Object.entries(lock.packages ?? {})) {
    if (!meta.optional || !where.startsWith("node_modules/")) continue;
    if (!fits(meta.os, process.platform) || !fits(meta.cpu, process.arch) || !fits(meta.libc, libc)) continue;
    if (existsSync(where)) continue;
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
