// The libraries a browser app uses bundle for the browser: under the "browser" export condition they import nothing Node-only.
import { readFileSync } from "node:fs";
import path from "node:path";
import { build, type Message } from "esbuild";
import { expect } from "chai";

const root = path.resolve(import.meta.dirname, "..");
const where = (m: Message) => (m.location === null ? "" : `${m.location.file}:${m.location.line}: `);

/** Bundles `@mosaic/<name>`'s entry as a browser bundler would; the errors (one line each) when it cannot. */
async function bundleForBrowser(name: string): Promise<{ code: string; errors: string[]; ownFiles: string[] }> {
  try {
    const result = await build({
      stdin: { contents: `export * from "@mosaic/${name}";`, resolveDir: root, loader: "js" },
      bundle: true,
      platform: "browser",
      conditions: ["browser"],
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const ownFiles = Object.keys(result.metafile.inputs).filter((f) => f.startsWith("packages/"));
    return { code: result.outputFiles.map((f) => f.text).join("\n"), errors: [], ownFiles };
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors === undefined) throw err;
    return { code: "", errors: errors.map((m) => `${where(m)}${m.text}`), ownFiles: [] };
  }
}

/** Files the browser app relies on, which each package's browser bundle must carry. */
const browserParts: Record<string, string[]> = {
  protocol: ["packages/protocol/src/ipfs-browser.ts"],
  threads: ["packages/threads/src/browser-stores.ts", "packages/threads/src/level-stores.ts"],
  vault: ["packages/vault/src/browser-vault.ts", "packages/vault/src/job-board.ts"],
  avatar: ["packages/avatar/src/prove-request.ts"],
};

describe("packages that run anywhere: browser bundles", function () {
  this.timeout(60_000);
  for (const name of ["protocol", "threads", "vault", "avatar", "mapreduce"]) {
    // Both checks read the same bundle: build it once.
    let bundled: ReturnType<typeof bundleForBrowser> | undefined;
    const bundle = () => (bundled ??= bundleForBrowser(name));

    it(`@mosaic/${name} bundles for the browser with no Node-only import`, async () => {
      const { code, errors } = await bundle();
      expect(errors, `@mosaic/${name} does not bundle for the browser:\n${errors.join("\n")}`).to.deep.equal([]);
      // A Node built-in could still survive as an external or computed import; none may.
      const nodeImports = [...new Set(code.match(/["']node:[a-z_/]+["']/g) ?? [])];
      expect(nodeImports, `@mosaic/${name}'s browser bundle still imports ${nodeImports.join(", ")}`).to.deep.equal([]);
    });

    it(`@mosaic/${name}'s own code in that bundle uses no Node global (Buffer, process) unguarded`, async () => {
      const { ownFiles } = await bundle();
      expect(ownFiles).to.not.be.empty;
      expect(ownFiles.flatMap(nodeGlobalUses)).to.deep.equal([]);
    });

    it(`@mosaic/${name}'s browser bundle carries the parts the browser app uses`, async () => {
      const { ownFiles } = await bundle();
      expect(ownFiles).to.include.members(browserParts[name] ?? []);
    });
  }
});

/** Lines of one of our source files that use Buffer, or process without checking that it exists. */
function nodeGlobalUses(file: string): string[] {
  const lines = readFileSync(path.join(root, file), "utf8").split("\n");
  return lines.flatMap((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*(\/\*|\*).*$/, "");
    const buffer = /(?<![\w.])Buffer\b/.test(code);
    const process = /(?<![\w.])process\./.test(code) && !/typeof process|globalThis\.process/.test(code);
    return buffer || process ? [`${file}:${i + 1}: ${line.trim()}`] : [];
  });
}
