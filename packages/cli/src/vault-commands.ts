// `mosaic vault ...`: parses the command line and runs the vault, guardian and recovery commands.
import { parseArgs } from "node:util";
import { LOCATION_FORMATS } from "@mosaic/vault/location-formats";
import { commandArgs, emit, help, int, UsageError } from "./args.js";
import { resolveNetwork } from "./network-flags.js";

/** "gpx, geojson, takeout-records or takeout-timeline", from the one list the importer reads. */
const FORMAT_NAMES = `${LOCATION_FORMATS.slice(0, -1).join(", ")} or ${LOCATION_FORMATS.at(-1)}`;

/** The flags every vault command takes, as its help lists them (VAULT_OPTIONS parses them). */
export const VAULT_FLAGS_HELP = `Options every vault command takes:
  --dir PATH              the vault's directory (default .mosaic/vault)
  --json                  print the result as one JSON object on stdout
  --passphrase-file FILE  read the passphrase from the first line of FILE
  -h, --help              this help`;

const VAULT_COMMON = `${VAULT_FLAGS_HELP}

The passphrase is asked for on the terminal; without one, give --passphrase-file or set MOSAIC_PASSPHRASE.
Progress goes to stderr. Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const VAULT_HELP = `mosaic vault — this device's encrypted vault: a thread of sealed, signed records on disk

Usage: mosaic vault <command> [options]

Commands:
  init       create a vault (or, with --seed-file, set up another device of one)
  status     unlock it and summarise its thread, logs and collections (--verify checks every record)
  export     write its records, still sealed, to an archive file
  import     import location history from a file (GPX, GeoJSON, Google Takeout), or add records
             from an archive (--in) or from another device's 'serve' (--peer)
  serve      let the vault's other devices pull from this one until Ctrl-C (--follow: and print new jobs)
  jobs       the open jobs your avatar may answer
  review     the consent screen for a job: what it reads, the program, the exact answer it would send
  answer     answer a job: consent, map, prove, send to the reducers, collect their signed receipts
  receipts   the reducers' receipts for your answers, and whether each was counted in the final result
  abilities  list the loaded abilities: what each holds and may read, the events it handles
  consents   list the consents given to jobs; 'consents withdraw <job key>' withdraws one
  audit      list every output that left the vault (--out writes the full entries for safekeeping)
  budget     show the privacy budget; 'budget set' changes it
  guardians  social recovery: whoami, add, remove, list, protect, accept
  recover    rebuild a lost vault from guardians' approvals: request, approve, complete

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

const VAULT_IMPORT_HELP = `mosaic vault import — import location history, or add records from an archive or another device

Usage: mosaic vault import <file> [--format FORMAT] [options]
       mosaic vault import (--in FILE | --peer MULTIADDR) [options]

With a file: reads location history into the location-history ability. The format is detected from the content:
GPX, GeoJSON, Google Takeout Records.json, or the phone's Timeline.json export. Prints the points, days and entries
skipped (no time or position); the same file imported twice is stored once ("already imported").

With --in or --peer: adds the vault's own records from an archive or another device. Every record is verified
before it is stored; records already held are skipped, so importing twice adds nothing.

Options:
  --format FORMAT   read <file> as ${FORMAT_NAMES} instead of detecting it
  --in FILE         an archive written by 'mosaic vault export'
  --peer MULTIADDR  a running 'mosaic vault serve' of another device of this vault (an address it printed,
                    ending in /p2p/<peer id>)

${VAULT_COMMON}`;

const VAULT_ABILITIES_HELP = `mosaic vault abilities — the abilities loaded in the vault

Usage: mosaic vault abilities [options]

Lists each ability's name, version and description, the collections it owns (their fields and how many
documents each holds), the other abilities' collections it may read, and the events it handles.

${VAULT_COMMON}`;

const VAULT_CONSENTS_HELP = `mosaic vault consents — the consents given to jobs

Usage: mosaic vault consents [options]
       mosaic vault consents withdraw <job key> [options]

Lists each consent, newest first: job key, title, requester, purpose, when it was granted, withdrawn or
submitted, its epsilon, the fields it reads and the exact payload consented to.
'withdraw' takes a consent back and releases its epsilon; once the output was sent it cannot be withdrawn
(AlreadySubmittedError).

${VAULT_COMMON}`;

const VAULT_AUDIT_HELP = `mosaic vault audit — every output that left the vault

Usage: mosaic vault audit [--out FILE] [options]

Lists each audit entry, oldest first: job, purpose, requester, fields read, program hash, the length and sha256
of the bytes sent, and when.

Options:
  --out FILE        also write the full entries, with the exact bytes sent (hex), to FILE as JSON: yours to keep
                    or to hand to a regulator (replaced if it exists)

${VAULT_COMMON}`;

const VAULT_BUDGET_HELP = `mosaic vault budget — the privacy budget

Usage: mosaic vault budget [options]
       mosaic vault budget set [--epsilon E] [--period-days N] [--anchor DATE] [options]

Shows the current period, the allowance, how much of it is used and remains, and the period's ledger entries.
'set' changes the allowance, the period length or when periods start; it takes effect at once.

Options of 'set' (at least one):
  --epsilon E       the epsilon allowed per period: a number (4, 0.5) or a fraction (1/2), at least 0
  --period-days N   the length of a period in days, 1..3660
  --anchor DATE     an ISO 8601 date (or time) at which a period starts; periods follow back to back

${VAULT_COMMON}`;

const VAULT_GUARDIANS_HELP = `mosaic vault guardians — social recovery: the friends who can restore your vault

Usage: mosaic vault guardians <command> [options]

Commands:
  whoami    this vault's guardian key, to give to a friend who wants you as a guardian, and its account id
  add       add a guardian to the private list: add <public key> --label NAME
  remove    remove a guardian from the list: remove <address>
  list      the list, the protection in force, and the accounts this vault guards
  protect   split the seed among the listed guardians and write their invitations
  accept    accept an invitation to guard someone's vault: accept <invitation file>

Run 'mosaic vault guardians <command> --help' for a command's options.

${VAULT_COMMON}`;

const VAULT_GUARDIANS_WHOAMI_HELP = `mosaic vault guardians whoami — this vault's guardian key

Usage: mosaic vault guardians whoami [options]

Prints the guardian public key (0x and 66 hex characters) and its address: give the key to a friend who wants
you as a guardian. Also prints this vault's account id, which a new device names to recover it.

${VAULT_COMMON}`;

const VAULT_GUARDIANS_ADD_HELP = `mosaic vault guardians add — add a guardian

Usage: mosaic vault guardians add <public key> --label NAME [options]

Adds a guardian to the private list kept in the vault. The public key is the one the guardian's
'mosaic vault guardians whoami' prints. Takes effect with the next 'mosaic vault guardians protect'.

Options:
  --label NAME      how you name this guardian, 1..64 characters (required)

${VAULT_COMMON}`;

const VAULT_GUARDIANS_REMOVE_HELP = `mosaic vault guardians remove — remove a guardian

Usage: mosaic vault guardians remove <address> [options]

Removes a guardian from the private list. The shares already handed out keep working until the next
'mosaic vault guardians protect'.

${VAULT_COMMON}`;

const VAULT_GUARDIANS_LIST_HELP = `mosaic vault guardians list — guardians and guardianships

Usage: mosaic vault guardians list [options]

Prints the private guardian list, the protection in force (threshold, guardians hash, account id, and whether
the list changed since), and the accounts this vault guards.

${VAULT_COMMON}`;

const VAULT_GUARDIANS_PROTECT_HELP = `mosaic vault guardians protect — split the seed among the guardians

Usage: mosaic vault guardians protect --threshold T --from NAME --out-dir DIR [chain options] [options]

Splits the vault's seed so that any T of the listed guardians can restore it, seals each share to its guardian,
and writes one invitation per guardian into DIR as invitation-<address>.json (the sealed share travels inline).
Send each guardian their file. Running it again makes a new split that replaces the old one.

Options:
  --threshold T            how many guardians it takes, 2..the number of guardians (required)
  --from NAME              the name your guardians know you by (required)
  --out-dir DIR            where the invitation files go, created if missing (required)

Chain options (all three, or none: then nothing is anchored on-chain):
  --rpc URL                an EVM JSON-RPC endpoint
  --recovery ADDRESS       the recovery contract
  --wallet-key-file FILE   the first line holds the private key of the wallet that owns the account and pays;
                           registers the account, or proposes the new guardian set if it is registered

${VAULT_COMMON}`;

const VAULT_GUARDIANS_ACCEPT_HELP = `mosaic vault guardians accept — guard someone's vault

Usage: mosaic vault guardians accept <invitation file> [options]

Checks the invitation's sealed share against its CID and that it opens with this vault's guardian key, then
keeps the guardianship in the vault and the share in this device's blockstore, for approving a recovery later.

${VAULT_COMMON}`;

const VAULT_RECOVER_HELP = `mosaic vault recover — rebuild a lost vault from its guardians' approvals

Usage: mosaic vault recover <command> [options]

Commands:
  request   on the new device: write a recovery request for the guardians
  approve   a guardian, on their own vault: approve a request
  complete  on the new device: combine the approvals and create the vault

Run 'mosaic vault recover <command> --help' for a command's options.

${VAULT_COMMON}`;

const VAULT_RECOVER_REQUEST_HELP = `mosaic vault recover request — ask the guardians to recover a vault

Usage: mosaic vault recover request --account ID --out FILE [--new-owner ADDRESS] [--json]

Run on the new device; no vault is needed. Makes a one-off device key, saves it to FILE.key (mode 0600), and
writes the request (account id, device public key, new owner) to FILE. Prints a check code to read to each
guardian: they see the same code when they approve.

Options:
  --account ID          the account id to recover: 0x and 64 hex characters ('guardians whoami' prints it)
  --out FILE            the request file to write (refuses to replace one)
  --new-owner ADDRESS   who owns the account on-chain after recovery (default: a fresh wallet, its key
                        saved to FILE.owner.key with mode 0600)
  --json                print the result as one JSON object on stdout
  -h, --help            this help`;

const VAULT_RECOVER_APPROVE_HELP = `mosaic vault recover approve — approve a recovery request, as a guardian

Usage: mosaic vault recover approve <request file> --out FILE [--rpc URL --recovery ADDRESS] [options]

Run on your own vault, and only after confirming with the person (by phone, in person) that the request is
theirs and the check code matches. Re-seals your share to the request's device key and writes the approval to
FILE, the sealed share inline.

Options:
  --out FILE          the approval file to write (required)
  --rpc URL           an EVM JSON-RPC endpoint; with --recovery, the approval is also signed for the chain
  --recovery ADDRESS  the recovery contract (its approval hash is what is signed); without both, nothing is
                      signed and the approval only rebuilds the vault

${VAULT_COMMON}`;

const VAULT_RECOVER_COMPLETE_HELP = `mosaic vault recover complete — combine the approvals and create the vault

Usage: mosaic vault recover complete --request FILE --approvals FILE... [chain options] [options]

Run on the device that made the request (its key is FILE.key). Opens the approvals, reports any it rejects
and why, rebuilds the seed from a threshold of them, and creates the vault in --dir like
'mosaic vault init --seed-file' would. Its data then comes from another device or a replicator with
'mosaic vault import --peer'. Fails with ThresholdNotMetError, creating nothing, if too few approvals are good.

Options:
  --request FILE           the request 'recover request' wrote (required)
  --approvals FILE...      the guardians' approval files: the flag once followed by the files, or repeated
  --device NAME            this device's name, [a-zA-Z0-9._-]{1,64} (default: the host name)
  --scrypt-n N             scrypt cost for sealing the seed (default 131072; small values are for tests)

Chain options (all three, or none: then the guardian set is not checked against the chain):
  --rpc URL                an EVM JSON-RPC endpoint
  --recovery ADDRESS       the recovery contract: the guardian set is checked against its guardians hash, and the
                           recovery to the request's new owner is started (signed approvals needed)
  --wallet-key-file FILE   the first line holds the private key of the wallet that pays

${VAULT_COMMON}`;

/** serve's help, with the --follow flags (their module loads the network code, so only when serve runs). */
const vaultServeHelp = (FOLLOW_HELP: string): string => `mosaic vault serve — serve the vault to its other devices

Usage: mosaic vault serve [--follow] [options]

Starts an IPFS/libp2p node on the vault's blockstore, prints the addresses to give to
'mosaic vault import --peer' (one a line; with --json one object), and runs until SIGINT or SIGTERM.
The node's peer id stays the same across restarts: its key is kept in the vault directory's peer.key (0600,
created on the first serve; a damaged one is PeerKeyCorruptError: restore it, or move it away for a new peer id).
With --follow it prints each new job your avatar may answer as it is posted (one line, or one JSON object with
--json); answer it with 'mosaic vault answer' once serve is stopped (one process holds the vault at a time).
With --alerts it also runs a replica of those public alert feeds on the vault's blockstore (as 'mosaic alerts
serve' does, on a node of its own whose addresses it prints): editors announce to it, other vaults fetch from it.

Options:
  --listen MULTIADDR  an address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0 and, for a vault in
                      the browser app, /ip4/127.0.0.1/tcp/0/ws)
  --alerts N          replicate alert feed N (repeatable, or comma-separated); needs the network flags below
  --alert-feeds ADDRESS  the AlertFeeds contract (overrides the network file's)
${FOLLOW_HELP}

${VAULT_COMMON}`;

export const VAULT_OPTIONS = {
  dir: { type: "string" },
  json: { type: "boolean", default: false },
  "passphrase-file": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

const CHAIN_OPTIONS = {
  rpc: { type: "string" },
  recovery: { type: "string" },
  "wallet-key-file": { type: "string" },
} as const;

const { expectPositionals, requireFlag } = commandArgs("vault");

/** --rpc, --recovery (and --wallet-key-file where it is taken): all or none. */
function chainFlags(
  command: string,
  values: { rpc?: string; recovery?: string; "wallet-key-file"?: string },
  wallet: true,
): { rpc: string; recovery: string; walletKeyFile: string } | undefined;
function chainFlags(
  command: string,
  values: { rpc?: string; recovery?: string },
  wallet: false,
): { rpc: string; recovery: string } | undefined;
function chainFlags(
  command: string,
  values: { rpc?: string; recovery?: string; "wallet-key-file"?: string },
  wallet: boolean,
): { rpc: string; recovery: string; walletKeyFile?: string } | undefined {
  const flags = wallet ? ["--rpc", "--recovery", "--wallet-key-file"] : ["--rpc", "--recovery"];
  const given = [values.rpc, values.recovery, ...(wallet ? [values["wallet-key-file"]] : [])].map((v) => v !== undefined);
  if (given.every((g) => !g)) return undefined;
  if (!given.every((g) => g)) throw new UsageError(`${command}: give all of ${flags.join(", ")} or none of them`);
  return { rpc: values.rpc as string, recovery: values.recovery as string, walletKeyFile: values["wallet-key-file"] };
}

/** `--epsilon -1` as `--epsilon=-1`: parseArgs takes a value starting with "-" for a flag, so the value check can name it. */
function joinNegativeValues(args: string[], flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (flags.includes(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Parses `--scrypt-n`: a power of two in the range a sealed seed may use. */
function scryptN(v: string): number {
  const n = int("scrypt-n", v, 2 ** 10, 2 ** 22);
  if (!Number.isInteger(Math.log2(n))) throw new RangeError(`--scrypt-n: expected a power of two, got ${n}`);
  return n;
}

/** `mosaic vault <command> ...`: exit code 0 on success, 1 when a check fails, 2 on a usage error. */
export async function vaultMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, in: { type: "string" }, peer: { type: "string" }, format: { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_IMPORT_HELP);
      const access = { dir: values.dir, passphraseFile: values["passphrase-file"] };
      if (positionals.length > 1)
        throw new UsageError(`import: expected one location file, got ${positionals.length}; import them one by one`);
      const [file] = positionals;
      if (file !== undefined) {
        if (values.in !== undefined || values.peer !== undefined)
          throw new UsageError("import: give a location file, or --in FILE / --peer MULTIADDR for records, not both");
        const d = await import("./vault-data.js");
        emit(values.json, await d.importLocationFile({ ...access, file, format: values.format }), d.formatLocationImport);
        return 0;
      }
      if (values.format !== undefined)
        throw new UsageError("import: --format is for a location file: mosaic vault import <file> --format FORMAT");
      let source: { in: string } | { peer: string };
      if (values.in !== undefined && values.peer === undefined) source = { in: values.in };
      else if (values.peer !== undefined && values.in === undefined) source = { peer: values.peer };
      else throw new UsageError("import: expected a location file, or exactly one of --in FILE or --peer MULTIADDR");
      const v = await import("./vault.js");
      emit(values.json, await v.importVault({ ...access, ...source }), v.formatImport);
      return 0;
    }
    case "jobs":
    case "review":
    case "answer":
    case "receipts":
      return (await (await import("./vault-jobs-commands.js")).vaultJobsMain(command, rest)) as number;
    case "serve": {
      const { FOLLOW_HELP, FOLLOW_OPTIONS, followFlags } = await import("./vault-jobs-commands.js");
      const { values } = parseArgs({
        args: rest,
        options: {
          ...VAULT_OPTIONS,
          ...FOLLOW_OPTIONS,
          listen: { type: "string", multiple: true },
          alerts: { type: "string", multiple: true, default: [] as string[] },
          "alert-feeds": { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(vaultServeHelp(FOLLOW_HELP));
      const alertFeedIds = values.alerts.flatMap((a) => a.split(",")).map((a) => a.trim());
      // --peer goes with --follow or --alerts (the replica dials it too).
      const follow = await followFlags(alertFeedIds.length > 0 && !values.follow ? { ...values, peer: [] } : values);
      let alerts: Parameters<typeof import("./vault.js").serveVault>[0]["alerts"];
      if (alertFeedIds.length > 0) {
        const { parseAlertFeedId } = await import("./alerts.js");
        alerts = {
          network: follow?.network ?? (await resolveNetwork(values)),
          alertFeeds: values["alert-feeds"],
          feedIds: [...new Set(alertFeedIds.map((a) => parseAlertFeedId(a, "--alerts")))],
          peers: values.peer,
          print: (line) => (values.json ? console.log(JSON.stringify({ alerts: line })) : console.log(line)),
        };
      } else if (values["alert-feeds"] !== undefined) throw new UsageError("serve: --alert-feeds goes with --alerts N");
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
          alerts,
          signal: stop.signal,
          follow:
            follow === undefined
              ? undefined
              : {
                  ...follow,
                  onJob: (job) => {
                    if (values.json) console.log(JSON.stringify({ newJob: job }));
                    else
                      console.log(
                        `new job ${job.jobId}: ${job.title === undefined ? "(spec unavailable)" : JSON.stringify(job.title)} from ${job.requester ?? job.researcher}, epsilon ${job.epsilon ?? "?"}, closes ${new Date(job.collectionDeadline * 1000).toISOString()}; 'mosaic vault review ${job.jobId}'`,
                      );
                  },
                  onError: (err) => console.error(`following the registry: ${err.name}: ${err.message} (retrying)`),
                },
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
    case "abilities": {
      const { values } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true });
      if (values.help) return help(VAULT_ABILITIES_HELP);
      const d = await import("./vault-data.js");
      emit(values.json, await d.vaultAbilities({ dir: values.dir, passphraseFile: values["passphrase-file"] }), d.formatAbilities);
      return 0;
    }
    case "consents": {
      const { values, positionals } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(VAULT_CONSENTS_HELP);
      const access = { dir: values.dir, passphraseFile: values["passphrase-file"] };
      if (positionals[0] !== "withdraw") {
        expectPositionals("consents", positionals, []);
        const d = await import("./vault-data.js");
        emit(values.json, await d.listConsents(access), d.formatConsents);
        return 0;
      }
      const [jobKey] = expectPositionals("consents withdraw", positionals.slice(1), ["job key"]) as [string];
      const d = await import("./vault-data.js");
      emit(values.json, await d.withdrawConsent({ ...access, jobKey }), d.formatWithdraw);
      return 0;
    }
    case "audit": {
      const { values } = parseArgs({ args: rest, options: { ...VAULT_OPTIONS, out: { type: "string" } }, strict: true });
      if (values.help) return help(VAULT_AUDIT_HELP);
      const d = await import("./vault-data.js");
      emit(values.json, await d.vaultAudit({ dir: values.dir, passphraseFile: values["passphrase-file"], out: values.out }), d.formatAudit);
      return 0;
    }
    case "budget": {
      const { values, positionals } = parseArgs({
        args: joinNegativeValues(rest, ["--epsilon", "--period-days"]),
        options: { ...VAULT_OPTIONS, epsilon: { type: "string" }, "period-days": { type: "string" }, anchor: { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_BUDGET_HELP);
      const access = { dir: values.dir, passphraseFile: values["passphrase-file"] };
      const { epsilon, "period-days": periodDays, anchor } = values;
      const changes = epsilon !== undefined || periodDays !== undefined || anchor !== undefined;
      if (positionals[0] !== "set") {
        expectPositionals("budget", positionals, []);
        if (changes) throw new UsageError("budget: --epsilon, --period-days and --anchor are options of 'mosaic vault budget set'");
        const d = await import("./vault-data.js");
        emit(values.json, await d.vaultBudget(access), d.formatBudget);
        return 0;
      }
      expectPositionals("budget set", positionals.slice(1), []);
      if (!changes)
        throw new UsageError("budget set: give at least one of --epsilon, --period-days, --anchor; see 'mosaic vault budget --help'");
      const d = await import("./vault-data.js");
      emit(values.json, await d.setVaultBudget({ ...access, epsilon, periodDays, anchor }), d.formatBudget);
      return 0;
    }
    case "guardians":
      return guardians(rest);
    case "recover":
      return recover(rest);
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

async function guardians(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const name = `guardians ${command}`;
  switch (command) {
    case "whoami":
    case "list": {
      const { values } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true });
      if (values.help) return help(command === "whoami" ? VAULT_GUARDIANS_WHOAMI_HELP : VAULT_GUARDIANS_LIST_HELP);
      const access = { dir: values.dir, passphraseFile: values["passphrase-file"] };
      const d = await import("./vault-data.js");
      if (command === "whoami") emit(values.json, await d.guardiansWhoami(access), d.formatWhoami);
      else emit(values.json, await d.guardiansList(access), d.formatGuardiansList);
      return 0;
    }
    case "add": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, label: { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_GUARDIANS_ADD_HELP);
      const [publicKey] = expectPositionals(name, positionals, ["public key"]) as [string];
      const label = requireFlag(name, values.label, "--label NAME");
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.guardiansAdd({ dir: values.dir, passphraseFile: values["passphrase-file"], publicKey, label }),
        d.formatGuardianAdded,
      );
      return 0;
    }
    case "remove": {
      const { values, positionals } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(VAULT_GUARDIANS_REMOVE_HELP);
      const [address] = expectPositionals(name, positionals, ["address"]) as [string];
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.guardiansRemove({ dir: values.dir, passphraseFile: values["passphrase-file"], address }),
        d.formatGuardianRemoved,
      );
      return 0;
    }
    case "protect": {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...VAULT_OPTIONS,
          ...CHAIN_OPTIONS,
          threshold: { type: "string" },
          from: { type: "string" },
          "out-dir": { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(VAULT_GUARDIANS_PROTECT_HELP);
      const threshold = requireFlag(name, values.threshold, "--threshold T");
      const from = requireFlag(name, values.from, "--from NAME");
      const outDir = requireFlag(name, values["out-dir"], "--out-dir DIR");
      const chain = chainFlags(name, values, true);
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.guardiansProtect({ dir: values.dir, passphraseFile: values["passphrase-file"], threshold, from, outDir, chain }),
        d.formatProtect,
      );
      return 0;
    }
    case "accept": {
      const { values, positionals } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(VAULT_GUARDIANS_ACCEPT_HELP);
      const [invitation] = expectPositionals(name, positionals, ["invitation file"]) as [string];
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.guardiansAccept({ dir: values.dir, passphraseFile: values["passphrase-file"], invitation }),
        d.formatAccept,
      );
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(VAULT_GUARDIANS_HELP);
    default:
      console.error(`mosaic vault guardians: unknown command ${JSON.stringify(command)}\n\n${VAULT_GUARDIANS_HELP}`);
      return 2;
  }
}

async function recover(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const name = `recover ${command}`;
  switch (command) {
    case "request": {
      const { values } = parseArgs({
        args: rest,
        options: {
          json: { type: "boolean", default: false },
          help: { type: "boolean", short: "h", default: false },
          account: { type: "string" },
          out: { type: "string" },
          "new-owner": { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(VAULT_RECOVER_REQUEST_HELP);
      const account = requireFlag(name, values.account, "--account ID");
      const out = requireFlag(name, values.out, "--out FILE");
      const d = await import("./vault-data.js");
      emit(values.json, await d.recoverRequest({ account, out, newOwner: values["new-owner"] }), d.formatRecoverRequest);
      return 0;
    }
    case "approve": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...VAULT_OPTIONS, out: { type: "string" }, rpc: CHAIN_OPTIONS.rpc, recovery: CHAIN_OPTIONS.recovery },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(VAULT_RECOVER_APPROVE_HELP);
      const [request] = expectPositionals(name, positionals, ["request file"]) as [string];
      const out = requireFlag(name, values.out, "--out FILE");
      const chain = chainFlags(name, values, false);
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.recoverApprove({ dir: values.dir, passphraseFile: values["passphrase-file"], request, out, chain }),
        d.formatRecoverApprove,
      );
      return 0;
    }
    case "complete": {
      const { values, positionals, tokens } = parseArgs({
        args: rest,
        options: {
          ...VAULT_OPTIONS,
          ...CHAIN_OPTIONS,
          request: { type: "string" },
          approvals: { type: "string", multiple: true, default: [] },
          device: { type: "string" },
          "scrypt-n": { type: "string" },
        },
        strict: true,
        allowPositionals: true,
        tokens: true,
      });
      if (values.help) return help(VAULT_RECOVER_COMPLETE_HELP);
      // `--approvals a.json b.json`: the files after the first one arrive as positionals.
      const first = tokens.find((t) => t.kind === "positional");
      const approvalsAt = tokens.findIndex((t) => t.kind === "option" && t.name === "approvals");
      if (first !== undefined && (approvalsAt === -1 || first.index < (tokens[approvalsAt]?.index ?? 0)))
        throw new UsageError(`${name}: unexpected argument ${JSON.stringify(first.value)}; approval files follow --approvals`);
      const approvals = [...values.approvals, ...positionals];
      const request = requireFlag(name, values.request, "--request FILE");
      if (approvals.length === 0) throw new UsageError(`${name}: --approvals FILE... is required; see 'mosaic vault ${name} --help'`);
      const chain = chainFlags(name, values, true);
      const n = values["scrypt-n"] === undefined ? undefined : scryptN(values["scrypt-n"]);
      const d = await import("./vault-data.js");
      emit(
        values.json,
        await d.recoverComplete({
          dir: values.dir,
          passphraseFile: values["passphrase-file"],
          request,
          approvals,
          device: values.device,
          scryptN: n,
          chain,
        }),
        d.formatRecoverComplete,
      );
      return 0;
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(VAULT_RECOVER_HELP);
    default:
      console.error(`mosaic vault recover: unknown command ${JSON.stringify(command)}\n\n${VAULT_RECOVER_HELP}`);
      return 2;
  }
}
