#!/usr/bin/env node
// The `mosaic` command.
import { parseArgs } from "node:util";
import { int, UsageError } from "./args.js";

const HELP = `mosaic — decentralised MapReduce over IPFS and Ethereum

Usage: mosaic <command> [options]

Commands:
  demo        run one whole job end to end (deploy, users, post, answer, reduce, finalise)
  vault       this device's encrypted vault: init, status, import, export, serve, abilities, consents,
              audit, budget, guardians, recover
  avatar      the vault's anonymous avatar: status, register, groups; registrar commands for group admins
  job         for researchers: new, check, post (with a cost preview), list, watch, result
  reducer     for node operators: start --config FILE, stake
  devnet      a local network for development: chain, contracts, open group, dev accounts, bootstrap node
  deploy      deploy the contracts to an EVM chain and write its network file (networks/NAME.json)
  app         serve the wallet-enabled browser app for a network (the vault lives in the browser)
  exposure    exposure notification: keys, scan import, check, upload; a health authority's feed and key server
  alerts      public alerts (CAP 1.2): feeds with m-of-n editors, publish, sign, cancel, follow, list, serve
  model       epidemic models fitted to finalised job results: seir

Run 'mosaic <command> --help' for a command's options.`;

const DEMO_HELP = `mosaic demo — one whole job on real parts

Usage: npm run demo -- [options]

Options:
  --users N             simulated users (default 16; with --exposure, the town's people, default 40)
  --json                print the summary as one JSON object on stdout
  --rpc-url URL         an external EVM JSON-RPC endpoint (default: in-process Hardhat network);
                        its first 4 accounts from MOSAIC_MNEMONIC (default: the Hardhat test mnemonic) pay
  --peer MULTIADDR      an extra IPFS/libp2p peer every node dials (repeatable)
  --collect-seconds N   chain seconds the job collects for (default 600; skipped ahead on the simulated chain)
  --challenge-seconds N chain seconds reducers may propose in after collection (default 120)
  --concurrency N       vaults proving at once (default 2)
  --seed N              seed of the synthetic population (default: random)
  --mode local|shared   local: each vault noises its answer (default); shared: each vault splits its exact answer
                        into two encrypted Prio3 shares, the two reducers aggregate them and each noises the sum
  --epsilon X           the job's epsilon, e.g. 1 or 0.5 (default 8 in local mode, 1 in shared mode)
  --exposure            exposure notification instead of a job: a simulated town whose phones exchange GAEN
                        advertisements; some people test positive and upload their keys anonymously through the
                        health authority's key server, the others' vaults follow its signed feed and check on the
                        device, then a private hotspot check (OPRF PSI) against a staked node; printed against the
                        simulator's truth (notified / truly exposed)
  -h, --help            this help

Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: "string" },
      json: { type: "boolean", default: false },
      "rpc-url": { type: "string" },
      peer: { type: "string", multiple: true, default: [] },
      "collect-seconds": { type: "string", default: "600" },
      "challenge-seconds": { type: "string", default: "120" },
      concurrency: { type: "string", default: "2" },
      seed: { type: "string" },
      mode: { type: "string", default: "local" },
      epsilon: { type: "string" },
      exposure: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const json = values.json;
  const print = json ? (l: string) => process.stderr.write(`${l}\n`) : (l: string) => console.log(l);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int("seed", values.seed, 0, 2 ** 31);
  if (values.exposure) {
    if (values.mode !== "local" || values.epsilon !== undefined || values["collect-seconds"] !== "600")
      throw new RangeError("--exposure: runs no job, so --mode, --epsilon and --collect-seconds do not apply; leave them out");
    const { formatExposureSummary, runExposureDemo } = await import("./exposure-demo.js");
    const summary = await runExposureDemo({
      people: int("users", values.users ?? "40", 4, 2000),
      days: 14,
      seed,
      rpcUrl: values["rpc-url"],
      peers: values.peer,
      print,
    });
    if (json) console.log(JSON.stringify(summary));
    else console.log(formatExposureSummary(summary));
    // The private check must find exactly the visits that are in the set, and every positive's upload must land.
    const exact = summary.hotspots.vaultsMatched === summary.hotspots.vaultsTrulyThere;
    return exact && summary.uploadsAccepted === summary.positives ? 0 : 1;
  }
  if (values.mode !== "local" && values.mode !== "shared")
    throw new RangeError(`--mode: expected local or shared, got ${JSON.stringify(values.mode)}`);
  let epsilon: { num: number; den: number } | undefined;
  if (values.epsilon !== undefined) {
    const m = /^(\d{1,3})(?:\.(\d{1,3}))?$/.exec(values.epsilon);
    const den = 10 ** (m?.[2]?.length ?? 0);
    const num = m === null ? Number.NaN : Number(m[1]) * den + Number(m[2] ?? 0);
    if (!(num > 0) || num / den > 10)
      throw new RangeError(`--epsilon: expected a number in (0, 10] such as 1 or 0.5, got ${JSON.stringify(values.epsilon)}`);
    epsilon = { num, den };
  }
  // Loaded on demand, like the vault module: each command pays only for its own dependencies.
  const { formatSummary, runDemo } = await import("./demo.js");
  const summary = await runDemo({
    users: int("users", values.users ?? "16", 1, 1000),
    rpcUrl: values["rpc-url"],
    peers: values.peer,
    collectSeconds: int("collect-seconds", values["collect-seconds"], 10, 86_400 * 30),
    challengeSeconds: int("challenge-seconds", values["challenge-seconds"], 1, 86_399),
    concurrency: int("concurrency", values.concurrency, 1, 64),
    seed,
    mode: values.mode,
    epsilon,
    print,
  });
  if (json) console.log(JSON.stringify(summary));
  else console.log(formatSummary(summary));
  return summary.allWithin ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo":
      return demo(rest);
    case "vault":
      return (await import("./vault-commands.js")).vaultMain(rest);
    case "avatar":
      return (await import("./avatar-commands.js")).avatarMain(rest);
    case "job":
      return (await import("./job-commands.js")).jobMain(rest);
    case "reducer":
      return (await import("./reducer-commands.js")).reducerMain(rest);
    case "devnet":
      return (await import("./network-commands.js")).devnetMain(rest);
    case "deploy":
      return (await import("./network-commands.js")).deployMain(rest);
    case "app":
      return (await import("./app-commands.js")).appMain(rest);
    case "exposure":
      return (await import("./exposure-commands.js")).exposureMain(rest);
    case "alerts":
      return (await import("./alerts-commands.js")).alertsMain(rest);
    case "model":
      return (await import("./model-commands.js")).modelMain(rest);
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
    // Unknown flags and missing arguments (parseArgs' errors and ours) are usage errors, as unknown commands are.
    const usage = err instanceof UsageError || String((err as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");
    process.exit(usage ? 2 : 1);
  },
);
