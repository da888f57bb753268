// The kind tables: every reducer kind's code is the contract's constant, and every kind and mechanism implements
// its whole interface, so adding one is one module plus its table entry.
import { readFileSync } from "node:fs";
import type { ReducerSpec } from "@mosaic/protocol";
import { expect } from "chai";
import { DP_MECHANISMS } from "../src/dp/mechanisms.js";
import { REDUCER_KINDS } from "../src/reduce/kinds.js";
import { reduceParams } from "../src/spec.js";
import { kmPerDayJob } from "../src/index.js";

/** `uint8 internal constant NAME = n;` declarations of contracts/lib/ReduceTree.sol, by name. */
function reduceTreeConstants(): Map<string, number> {
  const source = readFileSync(new URL("../../../contracts/lib/ReduceTree.sol", import.meta.url), "utf8");
  return new Map([...source.matchAll(/uint8 internal constant ([A-Z_]+) = (\d+);/g)].map((m) => [m[1] as string, Number(m[2])]));
}

describe("reducer kinds", () => {
  it("have the codes contracts/lib/ReduceTree.sol declares, one constant per kind", () => {
    const onChain = reduceTreeConstants();
    for (const [name, kind] of Object.entries(REDUCER_KINDS)) {
      expect(onChain.get(name.toUpperCase()), `ReduceTree.${name.toUpperCase()}`).to.equal(kind.code);
    }
    const codes = Object.values(REDUCER_KINDS).map((kind) => kind.code);
    expect(new Set(codes).size, "distinct codes").to.equal(codes.length);
    // The contract accepts codes 0..QUANTILE: every one of them must be a TypeScript kind.
    expect([...codes].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: (onChain.get("QUANTILE") as number) + 1 }, (_, i) => i));
  });

  it("are each registered under their own name and implement every operation", () => {
    for (const [name, kind] of Object.entries(REDUCER_KINDS)) {
      expect(kind.name, name).to.equal(name);
      for (const op of ["check", "stateLength", "lift", "finalize", "edges", "estimate"] as const)
        expect(kind[op], `${name}.${op}`).to.be.a("function");
    }
  });

  it("give postJob the table's code", () => {
    const spec = kmPerDayJob();
    for (const [name, kind] of Object.entries(REDUCER_KINDS)) {
      const reducer = (
        name === "quantile" ? { kind: name, edges: [1, 2], quantiles: [{ num: 1, den: 2 }] } : { kind: name }
      ) as ReducerSpec;
      expect(reduceParams({ ...spec, reducer }).kind, name).to.equal(kind.code);
    }
  });
});

describe("reducer kinds' estimates", () => {
  it("each give every row a projection and state what their error bars cover", () => {
    const spec = kmPerDayJob();
    const payload = [1, 2, 3, 1, 0, 0];
    for (const [name, kind] of Object.entries(REDUCER_KINDS)) {
      const reducer = (
        name === "quantile" ? { kind: name, edges: [1, 2], quantiles: [{ num: 1, den: 2 }] } : { kind: name }
      ) as ReducerSpec;
      const one = kind.lift(reducer as never, payload);
      const aggregate = one.map((x) => 4 * x);
      const est = kind.estimate({ ...spec, reducer } as never, aggregate, 4, 2);
      expect(est.rows.length, name).to.be.above(0);
      for (const row of est.rows) expect(row.projected, `${name} ${row.label}`).to.be.a("number");
      expect(est.errorBars.covers, name).to.be.a("string").and.not.equal("");
      expect(est.projection, name).to.be.a("string").and.not.equal("");
    }
  });
});

describe("DP mechanisms", () => {
  it("are each registered under their own name and implement every operation", () => {
    for (const [name, mechanism] of Object.entries(DP_MECHANISMS)) {
      expect(mechanism.name, name).to.equal(name);
      for (const op of ["validate", "variance", "tailBound", "payloadBounds", "privatize"] as const)
        expect(mechanism[op], `${name}.${op}`).to.be.a("function");
    }
  });
});
