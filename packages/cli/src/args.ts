// Command-line plumbing every `mosaic` command shares: usage errors (exit 2), positional and flag checks, output.
import { namedError } from "@mosaic/protocol/errors";

/** A command line that does not say what to do (a missing argument, flags that exclude each other): exit code 2. */
export class UsageError extends namedError("UsageError") {}

/** Parses an integer option, or a RangeError naming the option and the value. */
export function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`--${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Checks for one `mosaic <scope>` command family, whose UsageErrors point at that family's --help. */
export function commandArgs(scope: string) {
  return {
    /** The positional arguments a command takes, exactly; UsageError names what is missing or extra. */
    expectPositionals(command: string, got: string[], names: string[]): string[] {
      if (got.length < names.length) {
        const missing = names.slice(got.length).map((n) => `<${n}>`);
        throw new UsageError(`${command}: missing ${missing.join(" ")}; see 'mosaic ${scope} ${command} --help'`);
      }
      if (got.length > names.length) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(got[names.length])}`);
      return got;
    },
    /** A flag a command cannot do without. */
    requireFlag(command: string, value: string | undefined, flag: string): string {
      if (value === undefined) throw new UsageError(`${command}: ${flag} is required; see 'mosaic ${scope} ${command} --help'`);
      return value;
    },
  };
}

/** Prints a result: one JSON object with --json, the human form otherwise. */
export const emit = <T>(json: boolean, result: T, format: (r: T) => string): void =>
  console.log(json ? JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) : format(result));

export function help(text: string): number {
  console.log(text);
  return 0;
}

/**
 * Whether a command line only asks for help (`mosaic x`, `mosaic x --help`, `mosaic x y -h`): then a command module
 * need not load its library, which pulls in the chain and IPFS stacks (seconds of start-up for a page of text).
 */
export function helpOnly(argv: readonly string[]): boolean {
  const [command, ...rest] = argv;
  return (
    command === undefined ||
    command === "help" ||
    command === "-h" ||
    command === "--help" ||
    rest.includes("--help") ||
    rest.includes("-h")
  );
}
