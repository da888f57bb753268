// `mosaic job ...`: the researcher's command lines.
import { parseArgs } from "node:util";
import { parseJobLabel } from "@mosaic/protocol/job";
import { commandArgs, emit, help, helpOnly, int, UsageError } from "./args.js";
import type { JobFlags } from "./job.js";
import { contractTarget, type NetworkFlagValues, requireNetwork, resolveNetwork } from "./network-flags.js";

const job = commandArgs("job");

/** An amount of ETH as a decimal string of wei, at least `min` wei and within the registry's uint96; RangeError naming the flag. */
function eth(name: string, v: string, min: bigint): string {
  // Parsed here rather than with ethers' parseEther: `job new` and `--help` need not load ethers.
  const m = /^(\d{1,30})(?:\.(\d{1,18}))?$/.exec(v);
  if (m === null) throw new RangeError(`--${name}: expected an amount of ETH such as 0.1, got ${JSON.stringify(v)}`);
  const wei = BigInt(m[1] as string) * 10n ** 18n + BigInt((m[2] ?? "").padEnd(18, "0"));
  if (wei < min || wei >= 2n ** 96n)
    throw new RangeError(`--${name}: expected ${min > 0n ? "more than 0" : "at least 0"} and under 2^96 wei, got ${JSON.stringify(v)} ETH`);
  return wei.toString();
}

/** An http(s) URL (a status port); RangeError naming the flag. */
function httpUrl(name: string, v: string): string {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new RangeError(`--${name}: expected an http(s):// URL such as http://127.0.0.1:9464, got ${JSON.stringify(v)}`);
  return v;
}

export const CHAIN = `Chain options:
  --rpc URL               the EVM JSON-RPC endpoint
  --registry ADDRESS      the JobRegistry contract
  --wallet-key-file FILE  the paying wallet's private key, on the first line (for transactions)`;

/** The job commands' chain options: a network file, or the flags it stands for. */
const JOB_CHAIN = `Chain options:
  --network NAME|FILE     the network file: networks/NAME.json, or a path (default: $MOSAIC_NETWORK); it gives the
                          RPC, the contracts and their deploy blocks, and the bootstrap peers: the flags below are not needed
  --rpc URL               the EVM JSON-RPC endpoint (overrides the network file's)
  --registry ADDRESS      the JobRegistry contract (overrides the network file's)
  --directory ADDRESS     the ReducerDirectory, where reducers announce themselves (overrides the network file's)
  --shared-jobs ADDRESS   the SharedJobs contract, where shared-mode jobs are (overrides the network file's)
  --wallet-key-file FILE  the paying wallet's private key, on the first line (for transactions)`;

export const COMMON = `Other options:
  --json                  print the result as one JSON object on stdout
  -h, --help              this help

Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const JOB_HELP = `mosaic job — ask a question of everyone's vault

Usage: mosaic job <command> [options]

Commands:
  new <name>     write a ready job's spec (km-per-day, place-trips, symptoms-by-region, time-at-home,
                 exposures-per-day)
  check <spec>   validate a spec file: schema, abilities, bounds, epsilon, program, deadline
  post <spec>    validate, preview the cost (reward + gas), hand the spec to reducers, and post the job
  list           every job on the registry (and on SharedJobs): state, deadline, reward, proposals
  watch <id>     live progress: announced, verified, rejected by reason, time left
  result <id>    the result with its error bars, as a table and a chart (and --png FILE)

Run 'mosaic job <command> --help' for a command's options.`;

const NEW_HELP = `mosaic job new — write a ready job's spec, to post as it is or to edit

Usage: mosaic job new <name> [--out FILE] [--deadline-in SECONDS] [--challenge-window SECONDS]
                        [--min-participants N] [--reward ETH] [--min-stake ETH] [--days N] [--mode local|shared]

Ready jobs: km-per-day (days by distance band), place-trips (trips to shops, transit and parks),
symptoms-by-region (randomized response, a sandboxed program), time-at-home (hours per day at home),
exposures-per-day (people exposure notification warned each day, by risk level).

Options:
  --out FILE                 write the spec here (default: print it)
  --deadline-in SECONDS      collection closes this long from now, 60 to 31536000 (default 3600)
  --challenge-window SECONDS after the deadline, reducers propose for this long, then anyone may challenge for as
                             long again; 60 to 31536000, and under half the registry's unbonding delay (default 3600)
  --min-participants N       the fewest answers a result may count, or the reward is refunded (default 3)
  --reward ETH               paid to the winning reducer, escrowed when posting (default 0.1)
  --min-stake ETH            the stake a reducer needs to propose (default 1)
  --days N                   days of data read, ending at the first midnight (UTC) after the deadline (default 7)
  --mode local|shared        local: each vault noises its own answer (default); shared: each vault splits its exact
                             answer into two encrypted Prio3 shares for two aggregators, which each add discrete
                             Gaussian noise to their share of the sum: far less noise at the same epsilon, as long
                             as the two aggregators do not collude (see the README's shared mode)
  -h, --help                 this help`;

const CHECK_HELP = `mosaic job check — validate a spec file as 'post' would, without a chain

Usage: mosaic job check <spec.json> [--json]

Checks the JSON Schema, the abilities and fields read (against the built-in abilities), output bounds, the
privacy mechanism and epsilon, that the program's output matches the declared shape, and that the deadline is
in the future. Prints the program in the plain words the consent screen shows.

${COMMON}`;

const POST_HELP = `mosaic job post — post a job, with a cost preview

Usage: mosaic job post <spec.json> --group ID --network NAME --wallet-key-file FILE [--peer MULTIADDR...] [--dry-run]
       mosaic job post <spec.json> --group ID --rpc URL --registry ADDRESS (--directory ADDRESS | --peer MULTIADDR...) ...
       mosaic job post <shared-spec.json> --group ID --network NAME ... [--aggregator ADDRESS --aggregator ADDRESS]

Validates the spec (refused before anything is posted if invalid), then says what it would post: title, group,
deadline, windows, minimum participants, reward, gas and total cost, the reducers. --dry-run stops there. Otherwise
it hands the spec to the reducers (they keep it on IPFS), then posts it with the reward in escrow. The reducers are
those announced on-chain in the ReducerDirectory with the job's minimum stake, or the ones given with --peer.

A shared-mode spec ('mosaic job new <name> --mode shared') is posted on SharedJobs (--shared-jobs, or the network
file's) with two aggregators: the two --aggregator operators, else the two highest-staked reducers announced
on-chain with the job's minimum stake and an aggregator key (of different operators). The preview names them and
what the job's privacy rests on: that the two do not collude. The spec is handed to both aggregators (or to --peer).
The job's id is s1, s2, ...

Options:
  --group ID              the avatar group asked
  --peer MULTIADDR        a reducer's address with /p2p/ id (repeatable; instead of the reducers found on-chain)
  --aggregator ADDRESS    a shared job's aggregator: a staked operator whose reducer registered an aggregator key;
                          give it twice, or not at all to choose from the directory (required with --peer only)
  --dry-run               print the preview only

${JOB_CHAIN}

${COMMON}`;

const LIST_HELP = `mosaic job list — every job on the registry, and where each stands

Usage: mosaic job list (--network NAME | --rpc URL --registry ADDRESS [--shared-jobs ADDRESS]) [--json]

Each job: its id (s1, s2, ... for shared-mode jobs), mode, group, reward, minimum participants, spec CID, and its
standing as 'job result' says it (collecting, awaiting proposals, provisional, no proposal, final, refunded; a shared
job: collecting, aggregating, provisional, final, refunded). Shared-mode jobs are listed when the network has
SharedJobs.

${JOB_CHAIN}

${COMMON}`;

const WATCH_HELP = `mosaic job watch — a job's progress, live

Usage: mosaic job watch <id> (--network NAME | --rpc URL --registry ADDRESS) [--reducer URL] [--until proposed|finalized]

A shared-mode job (s1, s2, ...) shows its standing on SharedJobs at each poll; "proposed" means both aggregators
committed.

Options:
  --reducer URL           a reducer's status port (e.g. http://127.0.0.1:9464) for announced/verified/rejected
  --until STATE           stop once a result is proposed (default) or the job is finalized
  --interval-ms N         poll interval (default 1000)
  --timeout-s N           give up after this long (default 86400)

${JOB_CHAIN}

${COMMON}`;

const RESULT_HELP = `mosaic job result — where a job stands, and its result with error bars

Usage: mosaic job result <id> (--network NAME | --rpc URL --registry ADDRESS) [--spec FILE | --peer MULTIADDR...]
                         [--reducer URL] [--png FILE]

Says where the job stands: collecting (time left; with --reducer, answers accepted so far), collection closed and
awaiting proposals, provisional (the leading proposal and when its challenge window ends), no proposal, final
(the winner), or refunded (why: fewer than the minimum answered, or every result shown false).
A shared-mode job (s1, s2, ...): collecting, aggregating, provisional (both aggregators committed), final or
refunded (and why), with each aggregator's part; once final, the released sum is drawn with its error bars.
Once a result is proposed it is drawn: the winner once final, else the leading proposal (marked provisional),
with 95% intervals of the local-DP noise given the count and epsilon; drawing it needs the spec (from --spec, --peer,
or the reducers announced on-chain).

Options:
  --spec FILE             the job's spec file (checked against the job's spec CID)
  --peer MULTIADDR        fetch the spec from this node (a reducer) (repeatable; default: the reducers on-chain)
  --reducer URL           a reducer's status port (e.g. http://127.0.0.1:9464), for its count of answers
  --png FILE              also write the chart as a PNG (when there is a result)

${JOB_CHAIN}

${COMMON}`;

export function chain(name: string, v: { rpc?: string; registry?: string; "wallet-key-file"?: string }, wallet: boolean) {
  return {
    rpc: job.requireFlag(name, v.rpc, "--rpc URL"),
    registry: job.requireFlag(name, v.registry, "--registry ADDRESS"),
    walletKeyFile: wallet ? job.requireFlag(name, v["wallet-key-file"], "--wallet-key-file FILE") : v["wallet-key-file"],
  };
}

export const CHAIN_OPTIONS = {
  rpc: { type: "string" },
  registry: { type: "string" },
  "wallet-key-file": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** The parseArgs options of a command that reads jobs from the chain: the network flags it uses, --json and --help. */
export const JOB_READ_OPTIONS = {
  network: { type: "string" },
  rpc: { type: "string" },
  registry: { type: "string" },
  directory: { type: "string" },
  "shared-jobs": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** The job commands' parseArgs options for the chain: {@link JOB_READ_OPTIONS} and the wallet. */
export const JOB_CHAIN_OPTIONS = { ...JOB_READ_OPTIONS, "wallet-key-file": { type: "string" } } as const;

/**
 * The chain a job command talks to: --network (or MOSAIC_NETWORK), with explicit flags over the file's values.
 * `scope` is the command's group in messages (`mosaic model seir` passes "model"). @default scope "job"
 */
export async function jobFlags(
  command: string,
  v: NetworkFlagValues & { "wallet-key-file"?: string },
  wallet: boolean,
  scope = "job",
): Promise<JobFlags> {
  const net = requireNetwork(`${scope} ${command}`, await resolveNetwork(v), ["rpc", "registry"]);
  const target = contractTarget(net, "registry", "JobRegistry");
  return {
    rpc: target.rpc,
    rpcSource: target.rpcSource,
    registry: target.address,
    registrySource: target.flag,
    chainId: target.chainId,
    networkFile: target.networkFile,
    walletKeyFile: wallet ? commandArgs(scope).requireFlag(command, v["wallet-key-file"], "--wallet-key-file FILE") : v["wallet-key-file"],
    fromBlock: net.deployBlocks.registry,
    directory: net.directory,
    bootstrap: net.bootstrap,
    sharedJobs: net.sharedJobs,
    sharedJobsSource: net.sources.sharedJobs,
    sharedFromBlock: net.deployBlocks.sharedJobs,
  };
}

export async function jobMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Help needs none of the library: it is loaded only for a command that runs (every case checks --help first).
  const j = helpOnly(argv) ? (undefined as unknown as typeof import("./job.js")) : await import("./job.js");
  switch (command) {
    case "new": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          out: { type: "string" },
          "deadline-in": { type: "string" },
          "challenge-window": { type: "string" },
          "min-participants": { type: "string" },
          reward: { type: "string" },
          "min-stake": { type: "string" },
          days: { type: "string" },
          mode: { type: "string", default: "local" },
          help: { type: "boolean", short: "h", default: false },
        },
        allowPositionals: true,
      });
      if (values.help) return help(NEW_HELP);
      if (values.mode !== "local" && values.mode !== "shared")
        throw new RangeError(`--mode: expected local or shared, got ${JSON.stringify(values.mode)}`);
      const [name] = job.expectPositionals("new", positionals, ["name"]);
      const r = await j.newJob(name as string, {
        out: values.out,
        deadlineIn: int("deadline-in", values["deadline-in"] ?? "3600", 60, 31_536_000),
        days: values.days === undefined ? undefined : int("days", values.days, 1, 366),
        challengeWindow:
          values["challenge-window"] === undefined ? undefined : int("challenge-window", values["challenge-window"], 60, 31_536_000),
        minParticipants:
          values["min-participants"] === undefined ? undefined : int("min-participants", values["min-participants"], 1, 4_294_967_295),
        reward: values.reward === undefined ? undefined : eth("reward", values.reward, 1n),
        minStake: values["min-stake"] === undefined ? undefined : eth("min-stake", values["min-stake"], 0n),
        mode: values.mode,
      });
      console.log(
        r.file === undefined
          ? JSON.stringify(r.spec, null, 2)
          : `Wrote ${r.name} to ${r.file}; edit it, check it with 'mosaic job check ${r.file}', post it with 'mosaic job post'.`,
      );
      return 0;
    }
    case "check": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { json: CHAIN_OPTIONS.json, help: CHAIN_OPTIONS.help },
        allowPositionals: true,
      });
      if (values.help) return help(CHECK_HELP);
      const [file] = job.expectPositionals("check", positionals, ["spec"]);
      const spec = await j.readSpecFile(file as string, Math.floor(Date.now() / 1000));
      const { describeProgram } = await import("@mosaic/mapreduce");
      emit(values.json, { valid: true, title: spec.title, program: describeProgram(spec) }, (r) =>
        [`${file}: valid — ${r.title}`, ...r.program.map((l) => `  ${l}`)].join("\n"),
      );
      return 0;
    }
    case "post": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...JOB_CHAIN_OPTIONS,
          group: { type: "string" },
          peer: { type: "string", multiple: true, default: [] },
          aggregator: { type: "string", multiple: true, default: [] },
          "dry-run": { type: "boolean", default: false },
        },
        allowPositionals: true,
      });
      if (values.help) return help(POST_HELP);
      const [file] = job.expectPositionals("post", positionals, ["spec"]);
      const group = BigInt(int("group", job.requireFlag("post", values.group, "--group ID"), 0, Number.MAX_SAFE_INTEGER));
      const flags = await jobFlags("post", values, true);
      if (!values["dry-run"] && values.peer.length === 0 && flags.directory === undefined)
        throw new UsageError(
          "post: --peer MULTIADDR (a reducer that will hold the spec) or --network/--directory (whose reducers are found on-chain) is required; see 'mosaic job post --help'",
        );
      const r = await j.postJob(flags, {
        file: file as string,
        group,
        peers: values.peer,
        aggregators: values.aggregator,
        dryRun: values["dry-run"],
        // The preview goes to stderr before anything is sent; a dry run prints it (or its JSON) on stdout instead.
        onPreview: values.json || values["dry-run"] ? undefined : (p) => console.error(`${j.formatPost(p)}\nPosting…`),
      });
      emit(values.json, r, j.formatPost);
      return 0;
    }
    case "list": {
      const { values, positionals } = parseArgs({ args: rest, options: JOB_CHAIN_OPTIONS, allowPositionals: true });
      if (values.help) return help(LIST_HELP);
      job.expectPositionals("list", positionals, []);
      emit(values.json, await j.listJobs(await jobFlags("list", values, false)), j.formatList);
      return 0;
    }
    case "watch": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...JOB_CHAIN_OPTIONS,
          reducer: { type: "string" },
          until: { type: "string", default: "proposed" },
          "interval-ms": { type: "string" },
          "timeout-s": { type: "string" },
        },
        allowPositionals: true,
      });
      if (values.help) return help(WATCH_HELP);
      const [id] = job.expectPositionals("watch", positionals, ["id"]);
      if (values.until !== "proposed" && values.until !== "finalized")
        throw new UsageError(`watch: --until expects proposed or finalized, got ${JSON.stringify(values.until)}`);
      const tty = process.stderr.isTTY;
      const r = await j.watchJob(await jobFlags("watch", values, false), {
        jobId: parseJobLabel(id as string, "<id>"),
        reducer: values.reducer,
        until: values.until,
        intervalMs: int("interval-ms", values["interval-ms"] ?? "1000", 50, 600_000),
        timeoutS: int("timeout-s", values["timeout-s"] ?? "86400", 1, 31_536_000),
        onSnapshot: (s) => process.stderr.write(tty ? `\r\x1b[2K${j.formatWatchLine(s)}` : `${j.formatWatchLine(s)}\n`),
      });
      if (tty) process.stderr.write("\n");
      emit(values.json, r, j.formatWatchLine);
      return 0;
    }
    case "result": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...JOB_CHAIN_OPTIONS,
          spec: { type: "string" },
          peer: { type: "string", multiple: true, default: [] },
          reducer: { type: "string" },
          png: { type: "string" },
        },
        allowPositionals: true,
      });
      if (values.help) return help(RESULT_HELP);
      const [id] = job.expectPositionals("result", positionals, ["id"]);
      if (values.spec !== undefined && values.peer.length > 0)
        throw new UsageError("result: give --spec FILE or --peer MULTIADDR, not both; see 'mosaic job result --help'");
      const r = await j.jobResult(await jobFlags("result", values, false), {
        jobId: parseJobLabel(id as string, "<id>"),
        specFile: values.spec,
        peers: values.peer,
        png: values.png,
        reducer: values.reducer === undefined ? undefined : httpUrl("reducer", values.reducer),
      });
      emit(values.json, r, j.formatResult);
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(JOB_HELP);
    default:
      console.error(`mosaic job: unknown command ${JSON.stringify(command)}\n\n${JOB_HELP}`);
      return 2;
  }
}
