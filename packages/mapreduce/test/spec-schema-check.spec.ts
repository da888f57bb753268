// The job spec's schema is checked by a validator generated ahead of time (scripts/gen-spec-check.mjs), since the
// app's CSP forbids the eval Ajv compiles with at run time: it must be the schema's, and evaluate nothing.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
// @ts-expect-error: a plain JS script
import { generate } from "../../../scripts/gen-spec-check.mjs";

const generated = path.resolve(import.meta.dirname, "../src/spec-schema-check.ts");

describe("mapreduce: the job spec's pre-compiled schema check", () => {
  it("is what the schema compiles to today (run node scripts/gen-spec-check.mjs after changing the schema)", () => {
    expect(
      readFileSync(generated, "utf8") === (generate as () => string)(),
      "packages/mapreduce/src/spec-schema-check.ts is stale: run node scripts/gen-spec-check.mjs",
    ).to.equal(true);
  });

  it("evaluates no string and requires no module, so it runs in a browser under a CSP without 'unsafe-eval'", () => {
    const text = readFileSync(generated, "utf8");
    expect(text).not.to.match(/\bFunction\(|\beval\(|require\(|\bimport\b/);
  });
});
