#!/usr/bin/env node
// The installed `mosaic` command: runs the bundle in ../dist, which setup builds (`npm install`, or
// `npm run build:cli` after changing the source). `npm run mosaic -- …` runs the TypeScript source instead.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/bin.mjs", import.meta.url);
// Under npx and npm scripts the project's Node 24 (the `node` devDependency) comes first on PATH; run directly
// from an older system Node, hand over to the project's own.
const major = Number(process.versions.node.split(".")[0]);
const ownNode = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url));
if (major < 22 && existsSync(ownNode)) {
  const r = spawnSync(ownNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
} else if (major < 22) {
  console.error(`mosaic: needs Node 22 or newer (this is ${process.version}); run it as 'npx mosaic' in the project`);
  process.exit(1);
} else if (!existsSync(bundle)) {
  console.error(
    `mosaic: the command is not built (${fileURLToPath(bundle)} is missing); run 'npm run build:cli', or 'npm install'`,
  );
  process.exit(1);
} else {
  await import(bundle.href);
}
