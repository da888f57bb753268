// `mosaic reducer ...`: the node operator's command lines.
import { parseArgs } from "node:util";
import { commandArgs, emit, help } from "./args.js";
import { CHAIN, CHAIN_OPTIONS, COMMON, chain } from "./job-commands.js";

const REDUCER_HELP = `mosaic reducer — run a reducer node

Usage: mosaic reducer <command> [options]

Commands:
  start --config FILE     run the node until SIGTERM/SIGINT: watch the chain for jobs this operator is staked for,
                          collect and verify submissions, journal them to disk, reduce, publish, propose
  stake                   stake ETH in the registry (--amount ETH)

Config file (JSON; paths relative to it):
  { "rpcUrl": "http://127.0.0.1:8545", "registry": "0x…", "operatorKeyFile": "operator.key",
    "dataDir": "reducer-data", "listen": "/ip4/127.0.0.1/tcp/4101", "peers": [],
    "http": { "host": "127.0.0.1", "port": 9464 },
    "verifier": { "threads": 2, "batchSize": 64, "batchWaitMs": 200 }, "pollMs": 1000, "fetchTimeoutMs": 10000 }

Status: GET /health, /metrics (Prometheus), /jobs, /jobs/<id> on the loopback port. Logs: JSON lines on stderr
(MOSAIC_LOG=debug for every submission).`;

const STAKE_HELP = `mosaic reducer stake — stake ETH in the registry for this operator

Usage: mosaic reducer stake --amount ETH --rpc URL --registry ADDRESS --wallet-key-file FILE

${CHAIN}

${COMMON}`;

export async function reducerMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { config: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
        allowPositionals: true,
      });
      if (values.help) return help(REDUCER_HELP);
      commandArgs("reducer").expectPositionals("start", positionals, []);
      const file = commandArgs("reducer").requireFlag("start", values.config, "--config FILE");
      const { createReducerNode, loadReducerConfig } = await import("@mosaic/worker");
      const node = createReducerNode(await loadReducerConfig(file));
      const stopped = new Promise<number>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(
            `${JSON.stringify({ time: new Date().toISOString(), level: "info", component: "reducer", event: "reducer:stopping", signal })}\n`,
          );
          node.stop().then(
            () => resolve(0),
            () => resolve(1),
          );
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      await node.start();
      return stopped;
    }
    case "stake": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...CHAIN_OPTIONS, amount: { type: "string" } },
        allowPositionals: true,
      });
      if (values.help) return help(STAKE_HELP);
      commandArgs("reducer").expectPositionals("stake", positionals, []);
      const amount = commandArgs("reducer").requireFlag("stake", values.amount, "--amount ETH");
      const { stake } = await import("./job.js");
      emit(
        values.json,
        await stake(chain("stake", values, true), amount),
        (r) => `Staked ${r.amount} ETH; ${r.operator} now has ${r.total} ETH staked.`,
      );
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(REDUCER_HELP);
    default:
      console.error(`mosaic reducer: unknown command ${JSON.stringify(command)}\n\n${REDUCER_HELP}`);
      return 2;
  }
}
