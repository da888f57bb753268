// The libraries a browser app uses bundle for the browser: under the "browser" export condition they import nothing Node-only.
import path from "node:path";
import { build, type Message } from "esbuild";
import { expect } from "chai";

const root = path.resolve(import.meta.dirname, "..");
const where = (m: Message) => (m.location === null ? "" : `${m.location.file}:${m.location.line}: `);

/** Bundles `@mosaic/<name>`'s entry as a browser bundler would; the errors (one line each) when it cannot. */
async function bundleForBrowser(name: string): Promise<{ code: string; errors: string[] }> {
  try {
    const result = await build({
      stdin: { contents: `export * from "@mosaic/${name}";`, resolveDir: root, loader: "js" },
      bundle: true,
      platform: "browser",
      conditions: ["browser"],
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    return { code: result.outputFiles.map((f) => f.text).join("\n"), errors: [] };
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors === undefined) throw err;
    return { code: "", errors: errors.map((m) => `${where(m)}${m.text}`) };
  }
}

describe("packages that run anywhere: browser bundles", function () {
  this.timeout(60_000);
  for (const name of ["protocol", "threads", "vault", "avatar", "mapreduce"]) {
    it(`@mosaic/${name} bundles for the browser with no Node-only import`, async () => {
      const { code, errors } = await bundleForBrowser(name);
      expect(errors, `@mosaic/${name} does not bundle for the browser:\n${errors.join("\n")}`).to.deep.equal([]);
      // A Node built-in could still survive as an external or computed import; none may.
      const nodeImports = [...new Set(code.match(/["']node:[a-z_/]+["']/g) ?? [])];
      expect(nodeImports, `@mosaic/${name}'s browser bundle still imports ${nodeImports.join(", ")}`).to.deep.equal([]);
    });
  }
});
