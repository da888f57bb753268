#!/usr/bin/env node
// `npm run build:cli` (and setup): bundles the `mosaic` command into packages/cli/dist/, so that it starts without
// compiling TypeScript on each call. Plain JS: it runs at install, before anything else is built.
//
// - ESM for Node, code-split: every command module the CLI loads with `import()` stays a chunk of its own, loaded
//   only when that command runs; entries and chunks sit in one flat directory.
// - Our workspace packages (@mosaic/*, with their `#x` subpath imports) are bundled in; every other npm package
//   stays external and is loaded from node_modules at run time.
// - The batch verifier's worker thread is a second entry: batch-verify.node.ts starts it from
//   `new URL('./batch-verify-worker.node' + <its own extension>, import.meta.url)`, which resolves beside the chunk.
// - dist/meta.json is esbuild's metafile: what each output imports (packages/cli/test/bin.spec.ts reads it).
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "packages/cli/dist");

const bindings = path.join(root, "packages/protocol/src/contracts/types/index.ts");
if (!existsSync(bindings)) {
  console.error("mosaic: the contract bindings are missing; run 'npx hardhat build --quiet' first (npm install does)");
  process.exit(1);
}
// An external package resolves from dist/ at run time, so from the root node_modules: a package the bundle imports
// that a workspace holds a copy of its own of (a version conflict npm could not hoist) would silently get the root's
// copy instead. Checked against what the bundle imports once it is built (the app's own React is no concern of it).
function conflictingOwnPackages(metafile) {
  const out = new Set();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    const ws = /^packages\/([^/]+)\//.exec(input);
    if (ws === null) continue;
    for (const i of imports) {
      if (!i.external || i.path.startsWith("node:")) continue;
      const name = i.path
        .split("/")
        .slice(0, i.path.startsWith("@") ? 2 : 1)
        .join("/");
      const own = path.join("packages", ws[1], "node_modules", name);
      if (existsSync(path.join(root, own))) out.add(own);
    }
  }
  return [...out];
}

/** Bare imports of anything but our workspaces stay imports, resolved from node_modules when they run. */
const npmExternal = {
  name: "npm-external",
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.kind === "entry-point" || args.path.startsWith("@mosaic/")) return undefined;
      // A workspace's own copy of a package (and whatever that copy imports) is bundled: at run time dist/ would
      // resolve the root's copy instead (@mosaic/exposure's @noble/curves 2.4, say).
      const rel = path.relative(root, args.importer).split(path.sep).join("/");
      const ws = /^packages\/([^/]+)\//.exec(rel);
      if (ws !== null) {
        if (rel.startsWith(`packages/${ws[1]}/node_modules/`)) return undefined;
        const name = args.path
          .split("/")
          .slice(0, args.path.startsWith("@") ? 2 : 1)
          .join("/");
        if (existsSync(path.join(root, "packages", ws[1], "node_modules", name))) return undefined;
      }
      return { path: args.path, external: true };
    });
  },
};

// Build into a fresh directory beside dist, then swap it in: a failed or interrupted build leaves the old one whole.
const tmp = `${outdir}.tmp-${process.pid}`;
await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [
      { in: "packages/cli/src/bin.ts", out: "bin" },
      { in: "packages/avatar/src/batch-verify-worker.node.ts", out: "batch-verify-worker.node" },
    ],
    outdir: tmp,
    outExtension: { ".js": ".mjs" },
    chunkNames: "[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    plugins: [npmExternal],
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
  });
  const conflicts = conflictingOwnPackages(result.metafile);
  if (conflicts.length > 0)
    throw new Error(
      `the bundle imports ${conflicts.join(", ")}, which a workspace holds a copy of its own of; dist/ would load the root's`,
    );
  // Paths in the metafile are relative to the temporary directory's parent; name them as they will be.
  const meta = JSON.stringify(result.metafile).replaceAll(path.relative(root, tmp).replaceAll(path.sep, "/"), "packages/cli/dist");
  await writeFile(path.join(tmp, "meta.json"), meta);
  await rm(outdir, { recursive: true, force: true });
  await rename(tmp, outdir);
} catch (err) {
  await rm(tmp, { recursive: true, force: true });
  console.error(`mosaic: bundling the CLI failed: ${err.message}`);
  process.exit(1);
}
