#!/usr/bin/env node
// The `mosaic` command.
import { parseArgs } from "node:util";

const HELP = `mosaic — decentralised MapReduce over IPFS and Ethereum

Usage: mosaic <command> [options]

Commands:
  demo        run one whole job end to end (deploy, users, post, answer, reduce, finalise)
  vault       this device's encrypted vault: init, status, export, import, serve

Run 'mosaic <command> --help' for a command's options.`;

const DEMO_HELP = `mosaic demo — one whole job on real parts

Usage: npm run demo -- [options]

Options:
  --users N             simulated users (default 16)
  --json                print the summary as one JSON object on stdout
  --rpc-url URL         an external EVM JSON-RPC endpoint (default: in-process Hardhat network);
                        its first 4 accounts from MOSAIC_MNEMONIC (default: the Hardhat test mnemonic) pay
  --peer MULTIADDR      an extra IPFS/libp2p peer every node dials (repeatable)
  --collect-seconds N   chain seconds the job collects for (default 600; skipped ahead on the simulated chain)
  --challenge-seconds N chain seconds reducers may propose in after collection (default 120)
  --concurrency N       vaults proving at once (default 2)
  --seed N              seed of the synthetic population (default: random)
  -h, --help            this help

Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

/** Parses an integer option, or a RangeError naming the option and the value. */
function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`--${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

const VAULT_COMMON = `Options every vault command takes:
  --dir PATH              the vault's directory (default .mosaic/vault)
  --json                  print the result as one JSON object on stdout
  --passphrase-file FILE  read the passphrase from the first line of FILE
  -h, --help              this help

The passphrase is asked for on the terminal; without one, give --passphrase-file or set MOSAIC_PASSPHRASE.
Progress goes to stderr. Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const VAULT_HELP = `mosaic vault — this device's encrypted vault: a thread of sealed, signed records on disk

Usage: mosaic vault <command> [options]

Commands:
  init      create a vault (or, with --seed-file, set up another device of one)
  status    unlock it and summarise its thread, logs and collections (--verify checks every record)
  export    write its records, still sealed, to an archive file
  import    add records from an archive (--in) or from another device's 'serve' (--peer)
  serve     let the vault's other devices pull from this one until Ctrl-C

The directory holds seed.json (the seed, sealed under the passphrase), device (this device's name) and db/.
Run 'mosaic vault <command> --help' for a command's options.

${VAULT_COMMON}`;

const VAULT_INIT_HELP = `mosaic vault init — create a vault

Usage: mosaic vault init [options]

Seals a fresh random seed under a passphrase (asked twice on a terminal) and creates this device's log.
Refuses if the directory already holds a vault.

Options:
  --device NAME     this device's name, [a-zA-Z0-9._-]{1,64} (default: the host name)
  --seed-file FILE  the vault's seed as 64 hex characters instead of a fresh one: how a second device
                    of the same vault is set up
  --scrypt-n N      scrypt cost, a power of two from 1024 (default 131072; small values are for tests)

${VAULT_COMMON}`;

const VAULT_STATUS_HELP = `mosaic vault status — unlock the vault and summarise it

Usage: mosaic vault status [options]

Prints the thread id, this device's log, the record count, each log's length and each collection's size.

Options:
  --verify          also check every record's signature, chain link and event block (exit 1 on a fault)

${VAULT_COMMON}`;

const VAULT_EXPORT_HELP = `mosaic vault export — write the vault's records to an archive

Usage: mosaic vault export --out FILE [options]

The archive holds sealed records only: without the vault's seed it reveals nothing but sizes and counts.

Options:
  --out FILE        the archive to write (replaced if it exists)

${VAULT_COMMON}`;

const VAULT_IMPORT_HELP = `mosaic vault import — add records from an archive or from another device

Usage: mosaic vault import (--in FILE | --peer MULTIADDR) [options]

Every record is verified before it is stored; records already held are skipped, so importing twice adds nothing.

Options:
  --in FILE         an archive written by 'mosaic vault export'
  --peer MULTIADDR  a running 'mosaic vault serve' of another device of this vault (an address it printed,
                    ending in /p2p/<peer id>)

${VAULT_COMMON}`;

const VAULT_SERVE_HELP = `mosaic vault serve — serve the vault to its other devices

Usage: mosaic vault serve [options]

Starts an IPFS/libp2p node on the vault's blockstore, prints the addresses to give to
'mosaic vault import --peer' (one a line; with --json one object), and runs until SIGINT or SIGTERM.

Options:
  --listen MULTIADDR  an address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0)

${VAULT_COMMON}`;

const VAULT_OPTIONS = {
  dir: { type: "string" },
  json: { type: "boolean", default: false },
  "passphrase-file": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: "string", default: "16" },
      json: { type: "boolean", default: false },
      "rpc-url": { type: "string" },
      peer: { type: "string", multiple: true, default: [] },
      "collect-seconds": { type: "string", default: "600" },
      "challenge-seconds": { type: "string", default: "120" },
      concurrency: { type: "string", default: "2" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const json = values.json;
  // Loaded on demand, like the vault module: each command pays only for its own dependencies.
  const { formatSummary, runDemo } = await import("./demo.js");
  const summary = await runDemo({
    users: int("users", values.users, 1, 1000),
    rpcUrl: values["rpc-url"],
    peers: values.peer,
    collectSeconds: int("collect-seconds", values["collect-seconds"], 10, 86_400 * 30),
    challengeSeconds: int("challenge-seconds", values["challenge-seconds"], 1, 86_399),
    concurrency: int("concurrency", values.concurrency, 1, 64),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int("seed", values.seed, 0, 2 ** 31),
    print: json ? (l) => process.stderr.write(`${l}\n`) : (l) => console.log(l),
  });
  if (json) console.log(JSON.stringify(summary));
  else console.log(formatSummary(summary));
  return summary.allWithin ? 0 : 1;
}

/** Parses `--scrypt-n`: a power of two in the range a sealed seed may use. */
function scryptN(v: string): number {
  const n = int("scrypt-n", v, 2 ** 10, 2 ** 22);
  if (!Number.isInteger(Math.log2(n))) throw new RangeError(`--scrypt-n: expected a power of two, got ${n}`);
  return n;
}

async function vault(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const emit = <T>(json: boolean, result: T, format: (r: T) => string): void => console.log(json ? JSON.stringify(result) : format(result));
  switch (command) {
    case "init": {
      const { values } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, device: { type: "string" }, "seed-file": { type: "string" }, "scrypt-n": { type: "string" } },
        strict: true,
      });
      if (values.help) return help(VAULT_INIT_HELP);
      const n = values["scrypt-n"] === undefined ? undefined : scryptN(values["scrypt-n"]);
      const v = await import("./vault.js");
      const result = await v.initVault({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        device: values.device,
        seedFile: values["seed-file"],
        scryptN: n,
      });
      emit(values.json, result, v.formatInit);
      return 0;
    }
    case "status": {
      const { values } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, verify: { type: "boolean", default: false } },
        strict: true,
      });
      if (values.help) return help(VAULT_STATUS_HELP);
      const v = await import("./vault.js");
      const result = await v.vaultStatus({ dir: values.dir, passphraseFile: values["passphrase-file"], verify: values.verify });
      emit(values.json, result, v.formatStatus);
      return result.verify?.ok === false ? 1 : 0;
    }
    case "export": {
      const { values } = parseArgs({ args: rest, options: { ...VAULT_OPTIONS, out: { type: "string" } }, strict: true });
      if (values.help) return help(VAULT_EXPORT_HELP);
      if (values.out === undefined) throw new TypeError("--out: required (the archive file to write)");
      const v = await import("./vault.js");
      emit(
        values.json,
        await v.exportVault({ dir: values.dir, passphraseFile: values["passphrase-file"], out: values.out }),
        v.formatExport,
      );
      return 0;
    }
    case "import": {
      const { values } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, in: { type: "string" }, peer: { type: "string" } },
        strict: true,
      });
      if (values.help) return help(VAULT_IMPORT_HELP);
      const access = { dir: values.dir, passphraseFile: values["passphrase-file"] };
      let source: { in: string } | { peer: string };
      if (values.in !== undefined && values.peer === undefined) source = { in: values.in };
      else if (values.peer !== undefined && values.in === undefined) source = { peer: values.peer };
      else throw new TypeError("import: expected exactly one of --in FILE or --peer MULTIADDR");
      const v = await import("./vault.js");
      emit(values.json, await v.importVault({ ...access, ...source }), v.formatImport);
      return 0;
    }
    case "serve": {
      const { values } = parseArgs({ args: rest, options: { ...VAULT_OPTIONS, listen: { type: "string", multiple: true } }, strict: true });
      if (values.help) return help(VAULT_SERVE_HELP);
      const v = await import("./vault.js");
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const result = await v.serveVault({
          dir: values.dir,
          passphraseFile: values["passphrase-file"],
          listen: values.listen,
          signal: stop.signal,
          onListening: (info) => {
            if (values.json) console.log(JSON.stringify(info));
            else {
              for (const address of info.addresses) console.log(address);
              console.error(`serving thread ${info.thread} (device ${info.device}); Ctrl-C to stop`);
            }
          },
        });
        console.error(`stopped: served ${result.served} pulls, received ${result.received} records`);
        return 0;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(VAULT_HELP);
    default:
      console.error(`mosaic vault: unknown command ${JSON.stringify(command)}\n\n${VAULT_HELP}`);
      return 2;
  }
}

function help(text: string): number {
  console.log(text);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo":
      return demo(rest);
    case "vault":
      return vault(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      console.log(HELP);
      return 0;
    default:
      console.error(`mosaic: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`mosaic: ${(err as Error).name}: ${(err as Error).message}`);
    if (process.env.MOSAIC_LOG === "debug") console.error(err);
    process.exit(1);
  },
);
