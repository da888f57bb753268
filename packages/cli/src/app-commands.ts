// `mosaic app`: serves the browser app (built at setup into packages/app/dist) for one network, on loopback unless
// told otherwise, until SIGINT or SIGTERM.
import path from "node:path";
import { parseArgs } from "node:util";
import { help, helpOnly, int, UsageError } from "./args.js";
import { NETWORK_OPTIONS, resolveNetwork } from "./network-flags.js";

const APP_HELP = `mosaic app — the wallet-enabled app in your browser: your vault lives in the browser, not on a server

Usage: mosaic app [--network NAME|FILE] [--port N] [--host HOST [--public]] [--dist DIR]

Serves the app, the network file and the proof artifacts from this machine; the page talks to nothing else but the
network's RPC and its peers. Open the URL it prints; Ctrl-C stops it.

Options:
  --network NAME|FILE   the network file: networks/NAME.json, or a path (default: $MOSAIC_NETWORK, else devnet,
                        which 'mosaic devnet' writes)
  --port N              the port to listen on (default 5173; 0 picks a free one)
  --host HOST           the address to listen on (default 127.0.0.1); one other machines can reach needs --public
  --public              allow a --host other machines can reach (the app is then open to anyone who can reach it)
  --dist DIR            the built app to serve (default: packages/app/dist, which 'npm run build:app' writes)
  -h, --help            this help

The app must be built first: npm install does it, or 'npm run build:app'.`;

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export async function appMain(argv: string[]): Promise<number> {
  if (helpOnly(["app", ...argv])) return help(APP_HELP);
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      network: NETWORK_OPTIONS.network,
      port: { type: "string", default: "5173" },
      host: { type: "string", default: "127.0.0.1" },
      public: { type: "boolean", default: false },
      dist: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`app: unexpected argument ${JSON.stringify(positionals[0])}; see 'mosaic app --help'`);
  const port = int("port", values.port, 0, 65_535);
  const host = values.host;
  if (!isLoopbackHost(host)) {
    if (!values.public)
      throw new UsageError(
        `app: --host ${host} is reachable from other machines, and so would the app be; add --public to serve it there anyway, or leave --host out for 127.0.0.1`,
      );
    process.stderr.write(
      `mosaic app: warning: serving on ${host} (--public): anyone who can reach this machine can load the app; the vault still stays in each browser\n`,
    );
  }
  // $MOSAIC_NETWORK first, as every command; then the devnet, the network a newcomer has.
  const env = { ...process.env, MOSAIC_NETWORK: process.env.MOSAIC_NETWORK || "devnet" };
  const { file } = await resolveNetwork({ network: values.network }, { env });
  if (file === undefined) throw new UsageError("app: --network NAME|FILE is required; see 'mosaic app --help'");
  const { file: networkFile, ...network } = file;
  // A signal during start-up is not lost: the server closes as soon as it is up.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const { serveApp } = await import("@mosaic/app");
  const server = await serveApp({ network, host, port, ...(values.dist === undefined ? {} : { distDir: path.resolve(values.dist) }) });
  const line = (level: string, event: string, fields: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component: "app", event, ...fields })}\n`);
  line("info", "app:serving", { url: server.url, network: network.name, chainId: network.chainId, networkFile, host, port });
  console.log(`Mosaic app for ${network.name} (chain ${network.chainId}): ${server.url}`);
  console.log("Open it in your browser; Ctrl-C stops it.");
  const signal = await stopped;
  await server.close();
  line("info", "app:stopped", { signal });
  return 0;
}
