// `mosaic vault jobs | review | answer | receipts` and `serve --follow`'s flags: parses the command line, calls
// vault-jobs.ts, prints.
import { parseArgs } from "node:util";
import { parseJobLabel } from "@mosaic/protocol/job";
import { commandArgs, emit, help, int, UsageError } from "./args.js";
import { NETWORK_HELP, NETWORK_OPTIONS, resolveNetwork } from "./network-flags.js";
import { VAULT_FLAGS_HELP, VAULT_OPTIONS } from "./vault-commands.js";

const { expectPositionals } = commandArgs("vault");

const COMMON = `${VAULT_FLAGS_HELP}

Where the jobs are (a network file, or the three flags):
${NETWORK_HELP}
  --peer MULTIADDR      a reducer to fetch specs from and hand answers to (repeatable), besides those the network's
                        reducer directory lists on-chain

Progress goes to stderr. Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

export const VAULT_JOBS_HELP = `mosaic vault jobs — the open jobs your avatar may answer

Usage: mosaic vault jobs [--all] [options]

Lists the jobs still collecting whose group your avatar was in when they were posted (groups are synced from the
chain and cached in the vault directory's groups/): title, requester, purpose, epsilon, deadline (relative and
absolute), reward, and whether this vault answered. Specs come from the reducers, over IPFS. With a SharedJobs
address (--shared-jobs, or the network file's contracts.sharedJobs), shared-mode jobs are listed too, as s1, s2, …,
with their mode and their two aggregators.

Options:
  --all             also list closed jobs and jobs for groups you are not in

${COMMON}`;

export const VAULT_REVIEW_HELP = `mosaic vault review — the consent screen for a job

Usage: mosaic vault review <job> [options]

Runs the job's program on your data, here, and shows who asks and why, the data it reads, the program in plain
words, the output before noise (it stays in the vault) and the exact noised answer that would be sent, and the
privacy budget before and after. Records nothing. A shared-mode job (s1, s2, …) shows its mode: the exact answer,
split in two encrypted shares for its two aggregators, what that means and what the chain can and cannot check,
and the epsilon the ledger charges.

${COMMON}`;

export const VAULT_ANSWER_HELP = `mosaic vault answer — answer a job

Usage: mosaic vault answer <job> [--yes] [--min-receipts N] [--delay-max SECONDS] [options]

Checks the job (UnknownJobError, JobClosedError, NotInJobGroupError, AlreadySubmittedError: nothing is recorded),
runs its program, shows the consent screen on stderr and asks; then proves group membership, waits a random delay,
sends the answer from a throwaway network identity to the reducers, and waits for their signed receipts, resending
with backoff until --min-receipts staked operators have signed one or the collection window closes. Every receipt is
checked: signed by a staked operator, for this job and this answer; a forged one is refused, reported and not kept.
The answer's CID, nullifier and receipts are kept in the vault for 'mosaic vault receipts'.

A shared-mode job (s1, s2, …, on SharedJobs) is answered with the exact answer split in two shares encrypted to its
two aggregators, handed to them only (found in the reducer directory by their operators' addresses, or --peer);
only their receipts count, and by default both are waited for.

Timing: the library spreads an answer over the whole collection window, so its timing says nothing about the
user; an interactive command waits at most --delay-max (a uniformly random instant in [0, delay-max]). A longer
delay links less; 'mosaic vault serve --follow' tells you of jobs as they are posted, so you can answer early
with a long delay.

Options:
  --yes                 consent without asking (the consent screen is still printed); needed without a terminal
  --min-receipts N      receipts from distinct staked operators to wait for (default 1; 2 for a shared job)
  --delay-max SECONDS   the longest random delay before sending (default 60; 0 sends at once)

Exit code 1 when fewer than --min-receipts receipts came before the deadline (the answer is recorded).

${COMMON}`;

export const VAULT_RECEIPTS_HELP = `mosaic vault receipts — was my answer counted?

Usage: mosaic vault receipts [--job ID] [--resend [--min-receipts N]] [options]

For each answer this vault sent (or the one for --job): the reducers' receipts (operator, when, valid: checked
again against the stakes on-chain) and, once the job is final, a Merkle inclusion proof of your leaf in the winning
result's bundle, checked against the tree root on-chain: "counted (leaf i of n ...)", or "MISSING" with the
evidence to keep (your submission's CID and nullifier, the receipts, the winning bundle). A shared job's answer is
counted when its nullifier is a leaf of the share set both aggregators committed, whose root is recomputed from
every leaf's submission.

Options:
  --job ID              only this job (s1, s2, … for a shared-mode one)
  --resend              hand an answer whose job is still collecting, and that has fewer than --min-receipts
                        receipts, to the reducers again (the same bytes, from the audit log), with backoff until
                        enough sign or the window closes: after 'vault answer' was stopped early, say
  --min-receipts N      with --resend, receipts from distinct staked operators to wait for (default 1)

${COMMON}`;

const OPTIONS = {
  ...VAULT_OPTIONS,
  peer: { type: "string", multiple: true, default: [] as string[] },
  ...NETWORK_OPTIONS,
} as const;

/** Parses a job id: a JobRegistry id, or s1, s2, … for a shared-mode one (protocol's parseJobLabel). */
export function parseJobId(value: string): bigint {
  return parseJobLabel(value);
}

/** Runs `mosaic vault <command>` for the job commands; undefined for a command that is not one of them. */
export async function vaultJobsMain(command: string, rest: string[]): Promise<number | undefined> {
  switch (command) {
    case "jobs": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...OPTIONS, all: { type: "boolean", default: false } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_JOBS_HELP);
      expectPositionals("jobs", positionals, []);
      const network = await resolveNetwork(values);
      const j = await import("./vault-jobs.js");
      emit(
        values.json,
        await j.vaultJobs({ dir: values.dir, passphraseFile: values["passphrase-file"], network, peers: values.peer, all: values.all }),
        j.formatJobs,
      );
      return 0;
    }
    case "review": {
      const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(VAULT_REVIEW_HELP);
      const [id] = expectPositionals("review", positionals, ["job"]) as [string];
      const jobId = parseJobId(id);
      const network = await resolveNetwork(values);
      const j = await import("./vault-jobs.js");
      emit(
        values.json,
        await j.vaultReview({ dir: values.dir, passphraseFile: values["passphrase-file"], network, peers: values.peer, jobId }),
        j.formatReview,
      );
      return 0;
    }
    case "answer": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...OPTIONS,
          yes: { type: "boolean", default: false },
          "min-receipts": { type: "string" },
          "delay-max": { type: "string" },
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_ANSWER_HELP);
      const [id] = expectPositionals("answer", positionals, ["job"]) as [string];
      const jobId = parseJobId(id);
      const minReceipts = values["min-receipts"] === undefined ? undefined : int("min-receipts", values["min-receipts"], 1, 64);
      const delayMaxS = values["delay-max"] === undefined ? undefined : int("delay-max", values["delay-max"], 0, 365 * 86_400);
      const network = await resolveNetwork(values);
      const j = await import("./vault-jobs.js");
      const result = await j.vaultAnswer({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        peers: values.peer,
        jobId,
        yes: values.yes,
        minReceipts,
        delayMaxS,
      });
      emit(values.json, result, j.formatAnswer);
      return result.complete ? 0 : 1;
    }
    case "receipts": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...OPTIONS, job: { type: "string" }, resend: { type: "boolean", default: false }, "min-receipts": { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_RECEIPTS_HELP);
      expectPositionals("receipts", positionals, []);
      const jobId = values.job === undefined ? undefined : parseJobId(values.job);
      if (values["min-receipts"] !== undefined && !values.resend)
        throw new UsageError("receipts: --min-receipts goes with --resend; see 'mosaic vault receipts --help'");
      const minReceipts = values["min-receipts"] === undefined ? undefined : int("min-receipts", values["min-receipts"], 1, 64);
      const network = await resolveNetwork(values);
      const j = await import("./vault-jobs.js");
      emit(
        values.json,
        await j.vaultReceipts({
          dir: values.dir,
          passphraseFile: values["passphrase-file"],
          network,
          peers: values.peer,
          jobId,
          resend: values.resend,
          minReceipts,
        }),
        j.formatReceipts,
      );
      return 0;
    }
    default:
      return undefined;
  }
}

/** `serve --follow`'s options, spread into serve's. */
export const FOLLOW_OPTIONS = {
  follow: { type: "boolean", default: false },
  "poll-ms": { type: "string" },
  peer: { type: "string", multiple: true, default: [] as string[] },
  ...NETWORK_OPTIONS,
} as const;

export const FOLLOW_HELP = `  --follow            also follow the registry and print each new job your avatar may answer, as it is posted
                      (from where the last run stopped, kept in the vault; the first run starts at the
                      registry's deploy block); needs the network flags below
  --poll-ms N         how often to poll the chain with --follow (default 2000)
  --peer MULTIADDR    a reducer to fetch new jobs' specs from (repeatable), besides those listed on-chain
${NETWORK_HELP}`;

/** `serve --follow`'s settings, or undefined without --follow (then the network flags are refused). */
export async function followFlags(values: {
  follow: boolean;
  "poll-ms"?: string;
  peer: string[];
  network?: string;
  rpc?: string;
  registry?: string;
  groups?: string;
  directory?: string;
  recovery?: string;
}): Promise<{ network: import("./network-flags.js").ResolvedNetwork; peers: string[]; pollMs?: number } | undefined> {
  if (!values.follow) {
    if (values["poll-ms"] !== undefined || values.peer.length > 0)
      throw new UsageError("serve: --poll-ms and --peer go with --follow; see 'mosaic vault serve --help'");
    return undefined;
  }
  const pollMs = values["poll-ms"] === undefined ? undefined : int("poll-ms", values["poll-ms"], 100, 3_600_000);
  return { network: await resolveNetwork(values), peers: values.peer, pollMs };
}
