import type { SandboxProgram } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import {
  MapOutputShapeError,
  MapOutputTooLargeError,
  MapProgramError,
  MapProgramMemoryError,
  MapProgramTimeoutError,
} from "../src/errors.js";
import { DAY_S, kmPerDay, type LocationPoint } from "../src/kmPerDay.js";
import { checkSandboxProgram, runSandboxed, SANDBOX_LIMITS } from "../src/sandbox.js";

const program = (source: string, limits: Partial<SandboxProgram["limits"]> = {}): SandboxProgram => ({
  kind: "sandbox",
  language: "javascript",
  source,
  limits: { timeMs: 2_000, memoryBytes: 16 * 1024 * 1024, ...limits },
});

const DAYS = 7;
const WINDOW_END = 1_700_000_000;

/** The km-per-day map program as a researcher would write it: same arithmetic as `kmPerDay`. */
const KM_PER_DAY_SOURCE = `
const DAYS = ${DAYS}, WINDOW_END = ${WINDOW_END}, DAY_S = 86400, R = 6371.0088;
function haversineKm(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}
function map(input) {
  const start = WINDOW_END - DAYS * DAY_S;
  const rows = input.locations.filter((p) => p.t >= start && p.t < WINDOW_END).sort((a, b) => a.t - b.t);
  const km = new Array(DAYS).fill(0);
  for (let i = 1; i < rows.length; i++) km[Math.floor((rows[i].t - start) / DAY_S)] += haversineKm(rows[i - 1], rows[i]);
  return km.map((x) => Math.round(x));
}`;

/** A deterministic random walk around Edinburgh, `n` fixes spread over the window (and a little outside it). */
function walk(n: number, seed = 7): LocationPoint[] {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const points: LocationPoint[] = [];
  let lat = 55.95;
  let lon = -3.19;
  const span = (DAYS + 1) * DAY_S;
  for (let i = 0; i < n; i++) {
    lat += (rand() - 0.5) * 0.01;
    lon += (rand() - 0.5) * 0.01;
    points.push({ t: WINDOW_END - span + Math.floor(rand() * span), lat, lon });
  }
  return points;
}

const SUM_SOURCE = "function map(input) { return [input.xs.reduce((a, b) => a + b, 0)] }";

/** After any failure the sandbox must still run a normal program. */
async function expectStillWorks(): Promise<void> {
  expect(await runSandboxed(program(SUM_SOURCE), { xs: [1, 2, 3] })).to.deep.equal([6]);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  expect.fail("expected the run to reject");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

describe("sandboxed map programs", () => {
  it("computes km per day over location rows exactly as the host does", async () => {
    const points = walk(2_000);
    const expected = kmPerDay(points, DAYS, WINDOW_END);
    expect(expected.some((km) => km > 0)).to.equal(true);
    expect(await runSandboxed(program(KM_PER_DAY_SOURCE), { locations: points })).to.deep.equal(expected);
  });

  it("finds map however it is declared (function, const, var)", async () => {
    for (const source of [SUM_SOURCE, "const map = (input) => [input.xs.length]", "var map = function (input) { return [7] }"]) {
      expect(await runSandboxed(program(source), { xs: [1, 2, 3] })).to.have.length(1);
    }
  });

  it("agrees with the host on sums of random integer arrays", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 300 }), async (xs) => {
        expect(await runSandboxed(program(SUM_SOURCE), { xs })).to.deep.equal([xs.reduce((a, b) => a + b, 0)]);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it("stops an endless loop at its time limit", async () => {
    for (const source of ["function map() { for (;;) {} }", "function map() { for (;;) { try { for (;;) {} } catch (e) {} } }"]) {
      const started = performance.now();
      const err = await rejection(runSandboxed(program(source, { timeMs: 200 }), {}));
      const elapsed = performance.now() - started;
      expect(err).to.be.instanceOf(MapProgramTimeoutError);
      expect(err.message).to.contain("ran past its 200 ms limit");
      expect(elapsed).to.be.within(190, 700);
      await expectStillWorks();
    }
  });

  it("stops a catastrophic regular expression at its time limit", async () => {
    const err = await rejection(
      runSandboxed(program("function map() { return [/(a*)*b/.test('a'.repeat(40)) ? 1 : 0] }", { timeMs: 200 }), {}),
    );
    expect(err).to.be.instanceOf(MapProgramTimeoutError);
    await expectStillWorks();
  });

  it("stops a program that allocates past its memory limit", async () => {
    for (const source of [
      "function map() { let a = []; for (;;) a.push(new Array(1e5)) }",
      "function map() { let s = 'x'; for (;;) s = s + s }", // QuickJS's lazy concatenation hits its string length cap first
      "function map() { let s = 'x'; for (;;) s = (s + s).slice(1) + 'y' }",
      "function map() { const a = []; for (;;) { try { a.push(new Array(1e5)) } catch (e) {} } }", // swallows the OOM: the clock ends it
    ]) {
      const err = await rejection(runSandboxed(program(source, { memoryBytes: 8 * 1024 * 1024, timeMs: 1_000 }), {}));
      expect(err, source).to.satisfy((e: Error) => e instanceof MapProgramMemoryError || e instanceof MapProgramTimeoutError);
      if (!source.includes("catch")) {
        expect(err).to.be.instanceOf(MapProgramMemoryError);
        expect(err.message).to.contain("ran out of memory").and.contain("8388608 bytes");
      }
      await expectStillWorks();
    }
  });

  it("reports an input larger than the memory limit as out of memory", async () => {
    const xs = Array.from({ length: 300_000 }, (_, i) => i);
    const err = await rejection(runSandboxed(program(SUM_SOURCE, { memoryBytes: SANDBOX_LIMITS.minMemoryBytes }), { xs }));
    expect(err).to.be.instanceOf(MapProgramMemoryError);
    await expectStillWorks();
  });

  it("reports deep recursion as a stack overflow (MapProgramMemoryError)", async () => {
    const err = await rejection(runSandboxed(program("function f(n) { return f(n + 1) + 1 }\nfunction map() { return [f(0)] }"), {}));
    expect(err).to.be.instanceOf(MapProgramMemoryError);
    expect(err.message).to.contain("overflowed the stack");
    await expectStillWorks();
  });

  it("survives native recursion deeper than the host's own stack, and later runs still work", async () => {
    for (const source of [
      "function map() { return JSON.parse('['.repeat(1e5)) }",
      "function map() { let a = []; for (let i = 0; i < 1e5; i++) a = [a]; return a }",
      "function map() { return [eval('('.repeat(1e5) + '1' + ')'.repeat(1e5))] }",
    ]) {
      const err = await rejection(runSandboxed(program(source), {}));
      expect(err, source).to.satisfy((e: Error) => e instanceof MapProgramMemoryError || e instanceof MapProgramError);
      await expectStillWorks();
    }
  });

  it("reports a throw as MapProgramError carrying the program's message and location", async () => {
    const err = await rejection(runSandboxed(program("function map(input) {\n  throw new RangeError('row 3 has no lat')\n}"), {}));
    expect(err).to.be.instanceOf(MapProgramError);
    expect(err.message).to.contain("RangeError: row 3 has no lat").and.contain("map.js:2");
    const thrownString = await rejection(runSandboxed(program("function map() { throw 'plain string' }"), {}));
    expect(thrownString).to.be.instanceOf(MapProgramError);
    expect(thrownString.message).to.contain('"plain string"');
    const typeErr = await rejection(runSandboxed(program("function map(input) { return input.nope.x }"), {}));
    expect(typeErr).to.be.instanceOf(MapProgramError);
    expect(typeErr.message).to.contain("TypeError");
    await expectStillWorks();
  });

  it("reports a syntax error, a missing map, and a top-level throw as MapProgramError", async () => {
    const syntax = await rejection(runSandboxed(program("function map(input) { return [1, }"), {}));
    expect(syntax).to.be.instanceOf(MapProgramError);
    expect(syntax.message).to.contain("failed to load").and.contain("SyntaxError");
    const missing = await rejection(runSandboxed(program("function reduce(input) { return [1] }"), {}));
    expect(missing).to.be.instanceOf(MapProgramError);
    expect(missing.message).to.contain("does not define function map(input)");
    const notAFunction = await rejection(runSandboxed(program("var map = [1, 2]"), {}));
    expect(notAFunction).to.be.instanceOf(MapProgramError);
    const topLevel = await rejection(runSandboxed(program("throw new Error('setup failed')\nfunction map() { return [] }"), {}));
    expect(topLevel).to.be.instanceOf(MapProgramError);
    expect(topLevel.message).to.contain("setup failed");
    await expectStillWorks();
  });

  it("rejects output over the size limit before copying it out", async () => {
    const big = await rejection(runSandboxed(program("function map() { return new Array(1e5).fill(123456) }"), {}));
    expect(big).to.be.instanceOf(MapOutputTooLargeError);
    expect(big.message).to.contain(`${SANDBOX_LIMITS.maxOutputBytes}-byte limit`);
    const small = await rejection(runSandboxed(program("function map() { return [1, 2, 3] }"), {}, { maxOutputBytes: 6 }));
    expect(small).to.be.instanceOf(MapOutputTooLargeError);
    expect(await runSandboxed(program("function map() { return [1, 2, 3] }"), {}, { maxOutputBytes: 7 })).to.deep.equal([1, 2, 3]);
    // Counted in UTF-8 bytes, not UTF-16 code units: "é" is one unit but two bytes.
    const utf8 = await rejection(runSandboxed(program("function map() { return ['ééé'] }"), {}, { maxOutputBytes: 9 }));
    expect(utf8).to.be.instanceOf(MapOutputTooLargeError);
    await expectStillWorks();
  });

  it("rejects output with no JSON form as MapOutputShapeError", async () => {
    for (const source of [
      "function map() { return undefined }",
      "function map() {}",
      "function map() { return () => 1 }",
      "function map() { const a = [1]; a.push(a); return a }",
      "function map() { return [1n] }",
      "async function map() { return [1] }",
      "function map() { return import('fs') }",
    ]) {
      const err = await rejection(runSandboxed(program(source), {}));
      expect(err, source).to.be.instanceOf(MapOutputShapeError);
    }
    await expectStillWorks();
  });

  it("keeps the harness's own JSON whatever the program overwrites", async () => {
    const source = "JSON.stringify = () => 'x'.repeat(1e6); JSON.parse = () => ({ xs: [99] });\n" + SUM_SOURCE;
    expect(await runSandboxed(program(source), { xs: [1, 2] })).to.deep.equal([3]);
  });

  it("gives programs no clock, randomness, timers, network, modules or host objects", async () => {
    const probes: Record<string, string> = {
      "Date.now()": "Date.now()",
      "new Date()": "new Date()",
      "Date()": "Date()",
      "Math.random()": "Math.random()",
      "typeof Math.random": "typeof Math.random === 'undefined' ? undefined : 'present'",
      setTimeout: "setTimeout(() => 0, 0)",
      setInterval: "setInterval(() => 0, 0)",
      queueMicrotask: "queueMicrotask(() => 0)",
      fetch: "globalThis.fetch",
      XMLHttpRequest: "globalThis.XMLHttpRequest",
      WebSocket: "globalThis.WebSocket",
      require: "require('fs')",
      process: "process.env",
      performance: "performance.now()",
      console: "globalThis.console",
      "std/os": "globalThis.std ?? globalThis.os",
      "static import via eval": "eval(\"import fs from 'fs'\")",
      "import.meta via eval": "eval('import.meta')",
      Intl: "globalThis.Intl",
      crypto: "globalThis.crypto",
      WeakRef: "globalThis.WeakRef",
    };
    const body = Object.entries(probes)
      .map(
        ([name, expr]) =>
          `try { out[${JSON.stringify(name)}] = String(${expr}) } catch (e) { out[${JSON.stringify(name)}] = 'threw ' + e.name }`,
      )
      .join("\n");
    const result = (await runSandboxed(program(`function map() { const out = {};\n${body}\nreturn out }`), {})) as Record<string, string>;
    for (const name of Object.keys(probes)) {
      expect(result[name], name).to.satisfy((v: string) => v === "undefined" || v.startsWith("threw "));
    }
    expect(result["Date.now()"]).to.equal("threw ReferenceError");
    expect(result["Math.random()"]).to.equal("threw TypeError");
    expect(result["static import via eval"]).to.equal("threw SyntaxError");
  });

  it("rejects a program written as a module (static import)", async () => {
    const err = await rejection(runSandboxed(program("import fs from 'fs'\nfunction map() { return [] }"), {}));
    expect(err).to.be.instanceOf(MapProgramError);
    expect(err.message).to.contain("SyntaxError");
  });

  it("gives each run a fresh VM: no state carried between runs", async () => {
    const source = "var counter = (globalThis.counter ?? 0) + 1; function map() { globalThis.leak = 'x'; return [counter] }";
    expect(await runSandboxed(program(source), {})).to.deep.equal([1]);
    expect(await runSandboxed(program(source), {})).to.deep.equal([1]);
    expect(await runSandboxed(program("function map() { return [typeof leak === 'undefined' ? 0 : 1] }"), {})).to.deep.equal([0]);
  });

  it("hands the program a copy of its input: mutating it does not touch the host's", async () => {
    const input = { locations: walk(10), days: [{ n: 1 }] };
    const before = structuredClone(input);
    const source = `function map(input) {
      input.locations[0].lat = 0; input.locations.length = 0; input.days[0].n = 99; input.extra = [1];
      Object.prototype.polluted = true; Array.prototype.push = null;
      return [input.days[0].n]
    }`;
    expect(await runSandboxed(program(source), input)).to.deep.equal([99]);
    expect(input).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(typeof Array.prototype.push).to.equal("function");
  });

  it("rejects input that has no JSON form with a TypeError naming input", async () => {
    const err = await rejection(runSandboxed(program(SUM_SOURCE), { xs: [1n] }));
    expect(err).to.be.instanceOf(TypeError);
    expect(err.message).to.match(/^input:/);
  });

  it("honours an abort signal: already aborted, or aborted before the run starts", async () => {
    const early = new AbortController();
    early.abort();
    const err = await rejection(runSandboxed(program(SUM_SOURCE), { xs: [1] }, { signal: early.signal }));
    expect(err.name).to.equal("AbortError");

    const late = new AbortController();
    const running = runSandboxed(program("function map() { for (;;) {} }", { timeMs: 5_000 }), {}, { signal: late.signal });
    late.abort(new Error("member withdrew consent"));
    const started = performance.now();
    const lateErr = await rejection(running);
    expect(lateErr.message).to.equal("member withdrew consent");
    expect(performance.now() - started).to.be.below(1_000);
    await expectStillWorks();
  });

  it("checks program fields, naming the field and value", () => {
    const ok = program(SUM_SOURCE);
    expect(() => checkSandboxProgram(ok)).not.to.throw();
    const cases: [SandboxProgram, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, RegExp][] = [
      [
        { ...ok, source: "x".repeat(SANDBOX_LIMITS.maxSourceBytes + 1) },
        RangeError,
        /^program\.source: expected at most 65536 bytes, got 65537/,
      ],
      [{ ...ok, source: "é".repeat(SANDBOX_LIMITS.maxSourceBytes / 2 + 1) }, RangeError, /^program\.source: .* got 65538/],
      [{ ...ok, source: 42 as unknown as string }, TypeError, /^program\.source: expected a string, got 42/],
      [{ ...ok, limits: { ...ok.limits, timeMs: 0 } }, RangeError, /^program\.limits\.timeMs: expected 1 to 10000, got 0/],
      [{ ...ok, limits: { ...ok.limits, timeMs: 10_001 } }, RangeError, /^program\.limits\.timeMs: .*got 10001/],
      [{ ...ok, limits: { ...ok.limits, timeMs: 1.5 } }, TypeError, /^program\.limits\.timeMs: expected an integer, got 1\.5/],
      [
        { ...ok, limits: { ...ok.limits, memoryBytes: 1024 } },
        RangeError,
        /^program\.limits\.memoryBytes: expected 1048576 to 67108864, got 1024/,
      ],
      [{ ...ok, limits: { ...ok.limits, memoryBytes: 2 ** 30 } }, RangeError, /^program\.limits\.memoryBytes: .*got 1073741824/],
      [{ ...ok, limits: undefined as unknown as SandboxProgram["limits"] }, TypeError, /^program\.limits: expected an object/],
      [{ ...ok, language: "python" as "javascript" }, TypeError, /^program\.language: expected "javascript", got "python"/],
      [{ ...ok, kind: "pipeline" as "sandbox" }, TypeError, /^program\.kind:/],
    ];
    for (const [bad, type, message] of cases) {
      expect(() => checkSandboxProgram(bad)).to.throw(type, message);
    }
  });

  it("refuses to run a program whose limits are out of range", async () => {
    const err = await rejection(runSandboxed(program(SUM_SOURCE, { memoryBytes: SANDBOX_LIMITS.maxMemoryBytes * 2 }), { xs: [] }));
    expect(err).to.be.instanceOf(RangeError);
    expect(err.message).to.contain("program.limits.memoryBytes");
    const badOption = await rejection(runSandboxed(program(SUM_SOURCE), { xs: [] }, { maxOutputBytes: 0 }));
    expect(badOption).to.be.instanceOf(RangeError);
    expect(badOption.message).to.contain("options.maxOutputBytes");
  });

  it("measures startup overhead and a 10k-row km-per-day run", async () => {
    await runSandboxed(program(SUM_SOURCE), { xs: [1] }); // module load is paid once, outside the figure
    const tiny: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await runSandboxed(program("function map(input) { return [input.xs.length] }"), { xs: [1, 2, 3] });
      tiny.push(performance.now() - t0);
    }
    const points = walk(10_000);
    const expected = kmPerDay(points, DAYS, WINDOW_END);
    const km: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      const out = await runSandboxed(program(KM_PER_DAY_SOURCE, { timeMs: 10_000 }), { locations: points });
      km.push(performance.now() - t0);
      expect(out).to.deep.equal(expected);
    }
    const t0 = performance.now();
    for (let i = 0; i < 9; i++) kmPerDay(points, DAYS, WINDOW_END);
    const hostMs = (performance.now() - t0) / 9;
    console.log(JSON.stringify({ name: "sandbox.tiny_run_ms", value: +median(tiny).toFixed(3), unit: "ms", n: tiny.length }));
    console.log(
      JSON.stringify({
        name: "sandbox.km_per_day_10k_ms",
        value: +median(km).toFixed(2),
        unit: "ms",
        n: km.length,
        rows: points.length,
        host_ms: +hostMs.toFixed(2),
        ratio: +(median(km) / hostMs).toFixed(1),
      }),
    );
  });
});
