// Hardhat is a development tool: the reducer node and the CLI's commands never load it; only the demo does, lazily.
import path from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { expect } from "chai";

const root = path.resolve(import.meta.dirname, "..");

/** Leaves third-party packages and Node built-ins out, so that the graph walked is Mosaic's own source. */
const onlyMosaic: Plugin = {
  name: "only-mosaic",
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => (args.path.startsWith("@mosaic/") ? undefined : { path: args.path, external: true }));
  },
};

/** Every import edge of Mosaic's own modules reachable from `entry` under Node's conditions. */
async function importGraph(entry: string): Promise<Metafile["inputs"]> {
  const result = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [onlyMosaic],
  });
  return result.metafile.inputs;
}

const isHardhat = (p: string) => p === "hardhat" || p.startsWith("hardhat/") || p.startsWith("@nomicfoundation/");

/** [importer, imported, kind] for each edge to a module that `matches`. */
function edgesTo(inputs: Metafile["inputs"], matches: (p: string) => boolean): [string, string, string][] {
  return Object.entries(inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => matches(i.path)).map((i): [string, string, string] => [file, i.path, i.kind]),
  );
}

describe("Hardhat stays out of production", function () {
  this.timeout(60_000);

  it("the reducer node never imports Hardhat", async () => {
    expect(edgesTo(await importGraph("packages/worker/src/index.ts"), isHardhat)).to.deep.equal([]);
  });

  it("the CLI reaches Hardhat only through the demos' lazy import of the in-process network", async () => {
    const inputs = await importGraph("packages/cli/src/bin.ts");
    expect(edgesTo(inputs, isHardhat)).to.deep.equal([["packages/protocol/src/in-process-chain.ts", "hardhat", "import-statement"]]);
    expect(edgesTo(inputs, (p) => p.endsWith("in-process-chain.ts"))).to.deep.equal([
      ["packages/cli/src/demo-parts.ts", "packages/protocol/src/in-process-chain.ts", "dynamic-import"],
    ]);
    // The demo itself is loaded only when asked for, wherever the command dispatch lives.
    const intoDemo = edgesTo(inputs, (p) => p === "packages/cli/src/demo.ts");
    expect(intoDemo).to.not.be.empty;
    for (const [importer, , kind] of intoDemo) expect(kind, `${importer} imports the demo statically`).to.equal("dynamic-import");
  });
});
