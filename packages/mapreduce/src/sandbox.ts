// Runs a researcher's JavaScript map program over a member's private data inside a QuickJS WebAssembly sandbox.
import type { SandboxProgram } from "@mosaic/protocol";
import {
  DefaultIntrinsics,
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from "quickjs-emscripten";
import { MapOutputShapeError, MapOutputTooLargeError, MapProgramError, MapProgramMemoryError, MapProgramTimeoutError } from "./errors.js";

/** Bounds on what a sandboxed map program may ask for, and what the vault gives every run. */
export const SANDBOX_LIMITS = Object.freeze({
  /** Largest `limits.timeMs` a program may declare. */
  maxTimeMs: 10_000,
  /** Largest `limits.memoryBytes` a program may declare. */
  maxMemoryBytes: 64 * 1024 * 1024,
  /** Smallest `limits.memoryBytes`: below this a fresh context plus a small input does not fit. */
  minMemoryBytes: 1024 * 1024,
  /** Largest program source, in UTF-8 bytes. */
  maxSourceBytes: 64 * 1024,
  /** Largest output, in UTF-8 bytes of JSON, unless the caller passes `maxOutputBytes`. */
  maxOutputBytes: 64 * 1024,
  /**
   * QuickJS stack budget for every run (about 1,300 nested JS calls). Kept well under what V8 gives the
   * WebAssembly frames underneath; a native recursion that outruns V8 first is still caught (see `runSandboxed`).
   */
  stackBytes: 256 * 1024,
});

/** Options for {@link runSandboxed}. */
export interface RunSandboxedOptions {
  /** Checked before the run and at every interrupt poll; the run rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Largest output accepted, in UTF-8 bytes of JSON.
   * @default SANDBOX_LIMITS.maxOutputBytes
   */
  maxOutputBytes?: number;
}

/**
 * Checks a sandbox program's fields against {@link SANDBOX_LIMITS}; throws a TypeError (wrong type) or a
 * RangeError (out of range) naming the field and the value. Does not parse the source.
 */
export function checkSandboxProgram(program: SandboxProgram): void {
  if (typeof program !== "object" || program === null) throw new TypeError(`program: expected an object, got ${describe(program)}`);
  if (program.kind !== "sandbox") throw new TypeError(`program.kind: expected "sandbox", got ${describe(program.kind)}`);
  if (program.language !== "javascript") throw new TypeError(`program.language: expected "javascript", got ${describe(program.language)}`);
  if (typeof program.source !== "string") throw new TypeError(`program.source: expected a string, got ${describe(program.source)}`);
  const sourceBytes = utf8Length(program.source);
  if (sourceBytes > SANDBOX_LIMITS.maxSourceBytes) {
    throw new RangeError(`program.source: expected at most ${SANDBOX_LIMITS.maxSourceBytes} bytes, got ${sourceBytes}`);
  }
  const limits = program.limits;
  if (typeof limits !== "object" || limits === null) throw new TypeError(`program.limits: expected an object, got ${describe(limits)}`);
  checkInteger("program.limits.timeMs", limits.timeMs, 1, SANDBOX_LIMITS.maxTimeMs);
  checkInteger("program.limits.memoryBytes", limits.memoryBytes, SANDBOX_LIMITS.minMemoryBytes, SANDBOX_LIMITS.maxMemoryBytes);
}

/**
 * Runs `program.source`'s `map(input)` over `input` in a fresh QuickJS runtime and returns its output, parsed
 * from JSON on the host. Shape checking against the job spec is the caller's.
 *
 * The sandbox has no host functions: no clock (`Date` is absent), no `Math.random`, no timers, no network,
 * no modules, no console. Input goes in as a JSON string parsed inside the VM; output comes out as
 * `JSON.stringify` run inside the VM, size-checked before it is copied out.
 *
 * The VM runs synchronously on the calling thread, so an abort can only take effect before the run starts
 * (or at an interrupt poll, should the signal be aborted from inside one); the time limit is a wall-clock
 * deadline polled by QuickJS's interrupt handler.
 *
 * @throws MapProgramError - the source does not parse, throws, or defines no `map` function
 * @throws MapProgramTimeoutError - the run passed `limits.timeMs`
 * @throws MapProgramMemoryError - the run passed `limits.memoryBytes` or overflowed its stack
 * @throws MapOutputTooLargeError - the output JSON is longer than `maxOutputBytes`
 * @throws MapOutputShapeError - the output is not JSON (`undefined`, a function, a cycle, a Promise)
 */
export async function runSandboxed(
  program: SandboxProgram,
  input: Record<string, unknown[]>,
  options: RunSandboxedOptions = {},
): Promise<unknown> {
  checkSandboxProgram(program);
  const maxOutputBytes = options.maxOutputBytes ?? SANDBOX_LIMITS.maxOutputBytes;
  checkInteger("options.maxOutputBytes", maxOutputBytes, 1, Number.MAX_SAFE_INTEGER);
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new TypeError(`input: expected an object of arrays, got ${describe(input)}`);
  let inputJson: string;
  try {
    inputJson = JSON.stringify(input);
  } catch (err) {
    throw new TypeError(`input: not serialisable as JSON (${(err as Error).message})`);
  }
  const { signal } = options;
  signal?.throwIfAborted();
  const loading = loadQuickJS();
  const quickjs = await loading;
  signal?.throwIfAborted();
  try {
    return runIn(quickjs, program, inputJson, maxOutputBytes, signal);
  } catch (err) {
    if (isSandboxOutcome(err, signal)) throw err;
    // Anything else came out of the WebAssembly instance itself (a V8 stack overflow under deeply recursive native
    // code, or a trap): its memory may be mid-update, so it is dropped and the next run gets a fresh one.
    if (moduleLoading === loading) moduleLoading = undefined;
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new MapProgramMemoryError(
        "map program overflowed the stack (deeply nested data or recursion); flatten it or recurse less deeply",
      );
    }
    throw err;
  }
}

let moduleLoading: Promise<QuickJSWASMModule> | undefined;

/** Loads the QuickJS WebAssembly module once; a module that trapped is replaced (see `runSandboxed`). */
function loadQuickJS(): Promise<QuickJSWASMModule> {
  if (moduleLoading === undefined) {
    const loading = newQuickJSWASMModule();
    moduleLoading = loading;
    loading.catch(() => {
      if (moduleLoading === loading) moduleLoading = undefined;
    });
  }
  return moduleLoading;
}

/**
 * Evaluated before the program, so the harness keeps the pristine `JSON` and `Promise` whatever the program
 * overwrites. `map` is looked up by name at call time, so `function map`, `var map` and `const map` all work.
 */
const HARNESS = `(() => {
  "use strict";
  const parse = JSON.parse, stringify = JSON.stringify, PromiseCtor = Promise;
  delete Math.random;
  return {
    callMap(inputJson) {
      if (typeof map !== "function") throw new TypeError("the program does not define function map(input)");
      return map(parse(inputJson));
    },
    toJson(output) {
      if (output instanceof PromiseCtor) throw new TypeError("map returned a Promise; it must return its output synchronously");
      return stringify(output);
    },
  };
})()`;

type Stage = "load" | "map" | "output";

function runIn(
  quickjs: QuickJSWASMModule,
  program: SandboxProgram,
  inputJson: string,
  maxOutputBytes: number,
  signal: AbortSignal | undefined,
): unknown {
  const { timeMs, memoryBytes } = program.limits;
  const deadline = performance.now() + timeMs;
  const state = { timedOut: false, aborted: false };
  const runtime = quickjs.newRuntime();
  const handles: QuickJSHandle[] = [];
  let context: QuickJSContext | undefined;
  let instanceBroken = false;
  try {
    context = runtime.newContext({ intrinsics: { ...DefaultIntrinsics, Date: false } });
    const vm = context;
    const own = (h: QuickJSHandle): QuickJSHandle => {
      handles.push(h);
      return h;
    };
    const harness = own(vm.unwrapResult(vm.evalCode(HARNESS, "harness.js", { type: "global" })));
    const callMap = own(vm.getProp(harness, "callMap"));
    const toJson = own(vm.getProp(harness, "toJson"));
    const inputHandle = own(vm.newString(inputJson));

    // Limits apply from here on: to the program, and to everything it holds, its parsed input included.
    runtime.setMemoryLimit(memoryBytes);
    runtime.setMaxStackSize(SANDBOX_LIMITS.stackBytes);
    runtime.setInterruptHandler(() => {
      if (signal?.aborted) state.aborted = true;
      else if (performance.now() > deadline) state.timedOut = true;
      return state.aborted || state.timedOut;
    });
    const inputBytes = utf8Length(inputJson);
    const fail = (error: QuickJSHandle, stage: Stage): unknown => {
      own(error);
      return describeFailure(vm, runtime, error, stage, { ...state, signal, timeMs, memoryBytes, inputBytes });
    };

    const loaded = vm.evalCode(program.source, "map.js", { type: "global" });
    if (loaded.error) throw fail(loaded.error, "load");
    own(loaded.value);
    const called = vm.callFunction(callMap, vm.undefined, inputHandle);
    if (called.error) throw fail(called.error, "map");
    const output = own(called.value);
    const serialised = vm.callFunction(toJson, vm.undefined, output);
    if (serialised.error) throw fail(serialised.error, "output");
    const json = own(serialised.value);
    runtime.removeInterruptHandler();
    runtime.setMemoryLimit(-1);

    if (vm.typeof(json) !== "string")
      throw new MapOutputShapeError(`map returned ${vm.typeof(json)}, which has no JSON form; return an array of numbers`);
    // A string's length is its own unforgeable property, and UTF-8 never takes fewer bytes than UTF-16 code units,
    // so this bounds the copy before it happens.
    const codeUnits = vm.getNumber(own(vm.getProp(json, "length")));
    if (codeUnits > maxOutputBytes)
      throw new MapOutputTooLargeError(`map output is at least ${codeUnits} bytes of JSON, over the ${maxOutputBytes}-byte limit`);
    const text = vm.getString(json);
    const bytes = utf8Length(text);
    if (bytes > maxOutputBytes)
      throw new MapOutputTooLargeError(`map output is ${bytes} bytes of JSON, over the ${maxOutputBytes}-byte limit`);
    return JSON.parse(text);
  } catch (err) {
    // Disposing inside an instance that threw out of its own frames could trap again and hide the first error.
    instanceBroken = !isSandboxOutcome(err, signal);
    throw err;
  } finally {
    if (!instanceBroken) {
      for (const h of handles.reverse()) if (h.alive) h.dispose();
      context?.dispose();
      runtime.dispose();
    }
  }
}

/** Turns a QuickJS exception into the named error for what happened: stopped by us, out of resources, or the program's own. */
function describeFailure(
  vm: QuickJSContext,
  runtime: QuickJSRuntime,
  error: QuickJSHandle,
  stage: Stage,
  run: { timedOut: boolean; aborted: boolean; signal: AbortSignal | undefined; timeMs: number; memoryBytes: number; inputBytes: number },
): unknown {
  runtime.removeInterruptHandler();
  // Room to read the exception even when the program exhausted its memory.
  runtime.setMemoryLimit(-1);
  if (run.aborted && run.signal) return run.signal.reason;
  if (run.timedOut)
    return new MapProgramTimeoutError(
      `map program ran past its ${run.timeMs} ms limit and was stopped; make it do less work per row or raise limits.timeMs`,
    );
  const thrown: unknown = vm.dump(error);
  const { name, message, where } = readThrown(thrown);
  // QuickJS concatenates strings lazily, so doubling a string hits its length cap before the memory limit.
  if (message === "out of memory" || (name === "InternalError" && message === "string too long")) {
    return new MapProgramMemoryError(
      `map program ran out of memory (limit ${run.memoryBytes} bytes, its input alone ${run.inputBytes} bytes of JSON); allocate less or raise limits.memoryBytes`,
    );
  }
  if (message === "stack overflow")
    return new MapProgramMemoryError("map program overflowed the stack (deep recursion or deeply nested data); recurse less deeply");
  const text = `${name ? `${name}: ` : ""}${message}${where ? ` (at ${where})` : ""}`;
  if (stage === "output") return new MapOutputShapeError(`map output cannot be turned into JSON: ${text}`);
  return new MapProgramError(stage === "load" ? `map program failed to load: ${text}` : `map program threw ${text}`);
}

const MAX_MESSAGE_CHARS = 500;

function readThrown(thrown: unknown): { name?: string; message: string; where?: string } {
  if (typeof thrown === "object" && thrown !== null && "message" in thrown) {
    const { name, message, stack } = thrown as { name?: unknown; message?: unknown; stack?: unknown };
    const where = typeof stack === "string" ? /\bat (.+)/.exec(stack)?.[1]?.trim() : undefined;
    return { name: typeof name === "string" ? name : undefined, message: clip(String(message)), where };
  }
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return { message: clip(text) };
}

function isSandboxOutcome(err: unknown, signal: AbortSignal | undefined): boolean {
  return (
    err instanceof MapProgramError ||
    err instanceof MapProgramTimeoutError ||
    err instanceof MapProgramMemoryError ||
    err instanceof MapOutputTooLargeError ||
    err instanceof MapOutputShapeError ||
    (signal?.aborted === true && err === signal.reason)
  );
}

function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new TypeError(`${field}: expected an integer, got ${describe(value)}`);
  if (value < min || value > max) throw new RangeError(`${field}: expected ${min} to ${max}, got ${value}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(clip(value, 40));
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

function clip(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const utf8 = new TextEncoder();

/** The UTF-8 length of `text` in bytes (Buffer.byteLength without Node). */
function utf8Length(text: string): number {
  return utf8.encode(text).length;
}
