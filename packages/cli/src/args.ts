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

/** Prints a flat result: one JSON object with --json, a `key: value` line per field otherwise (objects as JSON). */
export const emitFields = (json: boolean, result: unknown): void =>
  emit(json, result, (r) =>
    Object.entries(r as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
      .join("\n"),
  );

/** The time the commands act at, in unix seconds. */
export const unixNow = (): number => Math.floor(Date.now() / 1000);

export function help(text: string): number {
  console.log(text);
  return 0;
}

/**
 * The end of a command family's switch: the family's help for `mosaic <scope>` alone and for help, -h and --help;
 * any other command is unknown, said on stderr with the help (exit code 2).
 */
export function familyHelpOrUnknown(scope: string, command: string | undefined, familyHelp: string): number {
  if (command === undefined || command === "help" || command === "-h" || command === "--help") return help(familyHelp);
  console.error(`mosaic ${scope}: unknown command ${JSON.stringify(command)}\n\n${familyHelp}`);
  return 2;
}

/** The help's closing line for a command that reports progress. */
export const PROGRESS_HELP = "Progress goes to stderr. Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.";

/** The help's note on the vault passphrase, after the vault flags. */
export const PASSPHRASE_HELP = "The passphrase is asked for on the terminal; without one, give --passphrase-file or set MOSAIC_PASSPHRASE.";

/** --peer MULTIADDR, repeatable: the nodes a command fetches from or announces to. */
export const PEER_OPTIONS = { peer: { type: "string", multiple: true, default: [] as string[] } } as const;

/** --json and -h/--help, which every command takes. */
export const OUTPUT_OPTIONS = {
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** The addresses a `serve` command listens on: --listen's, or a port the system picks on loopback. */
export const listenAddresses = (listen: string[]): string[] => (listen.length > 0 ? listen : ["/ip4/127.0.0.1/tcp/0"]);

/** Resolves on Ctrl-C or SIGTERM: how long a `serve` command runs. */
export const untilSignalled = (): Promise<void> =>
  new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });

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
