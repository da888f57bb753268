// `npm run bench -- <name>`: runs bench/<name>.ts, which prints one JSON figure per line.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (name === undefined || name === "--help" || name === "-h") {
  console.log(
    `Usage: npm run bench -- <name>\n\nBenchmarks: ${names.join(", ")}\nEach prints one JSON object per line: {"name","value","unit","n",...}; values are medians.`,
  );
  process.exit(name === undefined ? 2 : 0);
}
if (!existsSync(path.join(dir, `${name}.ts`))) {
  console.error(`bench: no benchmark ${JSON.stringify(name)}; choose one of: ${names.join(", ")}`);
  process.exit(2);
}
await import(`./${name}.ts`);
// Its figures are printed; a library may still hold a handle open (the avatar bench sat idle for minutes after its
// last figure), and a bench must end by itself.
process.exit(0);
