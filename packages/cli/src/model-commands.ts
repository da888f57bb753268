// `mosaic model ...`: epidemic models fitted to finalised job results.
import { parseArgs } from "node:util";
import { parseJobLabel } from "@mosaic/protocol/job";
import { commandArgs, emit, help, int, UsageError } from "./args.js";
import { JOB_READ_OPTIONS, jobFlags } from "./job-commands.js";

const model = commandArgs("model");

const MODEL_HELP = `mosaic model — epidemic models fitted to finalised job results

Usage: mosaic model <command> [options]

Commands:
  seir    fit a SEIR model (SEIRD with --deaths-jobs) to the daily series of finalised jobs, with a forecast

Run 'mosaic model <command> --help' for a command's options.`;

const SEIR_HELP = `mosaic model seir — fit a SEIR model to finalised job results, and forecast

Usage: mosaic model seir --jobs ID,ID,... (--network NAME | --rpc URL --registry ADDRESS)
                         [--rows REGEX] [--population N] [--deaths-jobs ID,...] [--deaths-rows REGEX]
                         [--horizon DAYS] [--png FILE] [--json]

Reads each job's final result as 'mosaic job result' does (its spec from --peer or the reducers announced
on-chain) and turns it into a daily series of new cases: a row is dated by the YYYY-MM-DD its label starts with
(e.g. the exposures-per-day job's "2026-11-25 low"), else by the job's own day (its collection deadline's date);
a day's rows in one job are summed, the same day in two jobs is averaged by inverse variance, and each day's sd
comes from the result's error bar. Then it fits by maximum likelihood with each day's variance the DP noise's plus
the count's own (Poisson): β, γ and the infectious at the start, with σ fixed by the incubation period (and μ, the
death rate, with --deaths-jobs); R0 = β/(γ+μ). The intervals and the forecast's band come from a parametric
bootstrap (--bootstrap refits). A job counts among the people who answered (its count, the respondents): with
--population N the model covers N people of whom the respondents are a sample (report rate respondents/N);
without it, the respondents alone.

How much to expect: a local-DP job (the ready jobs' default) noises every answer, so the noise in a day's count
grows with √n; at thousands of respondents the intervals are wide, often wider than the counts, and so are R0's
and the forecast's. Fits are most useful on shared-mode results ('mosaic job new ... --mode shared': secret-
shared aggregation, noise added once to the sum) or on large effects. When the series' median sd is above the
fitted curve's peak, a warning says so. A series still in its early growth fixes the growth rate but not β and γ
apart: then γ is held (at a 5-day infectious period, or the nearest the data allow), R0's interval spans the
infectious periods the data allow, and a note says so (--json: fit.notes and fit.identified.gamma false), as it does
for a parameter at the edge of its plausible range.

Options:
  --jobs ID,...           the jobs whose results count new cases (comma-separated; s1, s2, ... for shared jobs)
  --rows REGEX            read only the rows whose label matches (default: every row), e.g. 'high$'
  --population N          the people the epidemic can reach (default: the respondents)
  --deaths-jobs ID,...    jobs whose results count deaths per day: fit SEIRD
  --deaths-rows REGEX     rows read from the deaths jobs (default: every row)
  --horizon DAYS          days to forecast after the last observed day, 0 to 3650 (default 28)
  --incubation DAYS       mean incubation period, σ = 1/DAYS (default 5.2)
  --bootstrap N           bootstrap refits for the intervals and band, 0 to 10000 (default 60)
  --seed N                seeds the fit's restarts and the bootstrap (default 1)
  --peer MULTIADDR        read the specs from this node (a reducer) (repeatable; default: the reducers on-chain)
  --png FILE              also draw the observed days and the forecast with its band as a PNG

Chain options:
  --network NAME|FILE     the network file: networks/NAME.json, or a path (default: $MOSAIC_NETWORK)
  --rpc URL               the EVM JSON-RPC endpoint (overrides the network file's)
  --registry ADDRESS      the JobRegistry contract (overrides the network file's)
  --directory ADDRESS     the ReducerDirectory, where reducers announce themselves (overrides the network file's)
  --shared-jobs ADDRESS   the SharedJobs contract, for shared-mode jobs (overrides the network file's)

Other options:
  --json                  print the result as one JSON object on stdout
  -h, --help              this help`;

/** Job ids from a comma-separated list, each as `mosaic job result` takes it; RangeError naming the flag. */
export function jobList(flag: string, text: string): bigint[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => p === "")) throw new RangeError(`--${flag}: expected job ids separated by commas, got ${JSON.stringify(text)}`);
  const ids = parts.map((p) => parseJobLabel(p, `--${flag}`));
  if (new Set(ids).size !== ids.length) throw new RangeError(`--${flag}: a job is named twice in ${JSON.stringify(text)}`);
  return ids;
}

/** A RegExp from a flag; RangeError naming the flag and the parser's complaint. */
function regex(flag: string, source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (err) {
    throw new RangeError(`--${flag}: not a regular expression (${(err as Error).message})`);
  }
}

function positiveNumber(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0 && n <= max))
    throw new RangeError(`--${flag}: expected a number above 0 and at most ${max}, got ${JSON.stringify(text)}`);
  return n;
}

export async function modelMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "seir": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...JOB_READ_OPTIONS,
          jobs: { type: "string" },
          rows: { type: "string" },
          population: { type: "string" },
          "deaths-jobs": { type: "string" },
          "deaths-rows": { type: "string" },
          horizon: { type: "string" },
          incubation: { type: "string" },
          bootstrap: { type: "string" },
          seed: { type: "string" },
          peer: { type: "string", multiple: true, default: [] },
          png: { type: "string" },
        },
        allowPositionals: true,
      });
      if (values.help) return help(SEIR_HELP);
      model.expectPositionals("seir", positionals, []);
      const options = {
        jobIds: jobList("jobs", model.requireFlag("seir", values.jobs, "--jobs ID,...")),
        deathsJobIds: values["deaths-jobs"] === undefined ? undefined : jobList("deaths-jobs", values["deaths-jobs"]),
        rows: regex("rows", values.rows),
        deathsRows: regex("deaths-rows", values["deaths-rows"]),
        population: positiveNumber("population", values.population, 1e10),
        horizonDays: int("horizon", values.horizon ?? "28", 0, 3650),
        incubationDays: positiveNumber("incubation", values.incubation, 365),
        bootstrap: int("bootstrap", values.bootstrap ?? "60", 0, 10_000),
        seed: int("seed", values.seed ?? "1", 0, 2 ** 32 - 1),
        peers: values.peer,
        png: values.png,
      };
      if (values["deaths-rows"] !== undefined && options.deathsJobIds === undefined)
        throw new UsageError("seir: --deaths-rows needs --deaths-jobs; see 'mosaic model seir --help'");
      const m = await import("./model.js");
      const result = await m.modelSeir(await jobFlags("seir", values, false, "model"), options);
      // The text form prints its warnings; with --json they are in the object and said on stderr too.
      if (values.json) for (const w of result.warnings) console.error(`mosaic: warning: ${w}`);
      emit(values.json, result, m.formatModelSeir);
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(MODEL_HELP);
    default:
      console.error(`mosaic model: unknown command ${JSON.stringify(command)}\n\n${MODEL_HELP}`);
      return 2;
  }
}
