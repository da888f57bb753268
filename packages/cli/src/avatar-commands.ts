// `mosaic avatar ...`: parses the command line and runs the avatar and registrar commands.
import { parseArgs } from "node:util";
import { commandArgs, emit, help, helpOnly, int, UsageError } from "./args.js";
import type { GroupFlags } from "./avatar.js";
import { NETWORK_OPTIONS, networkGiven, requireNetwork, resolveNetwork } from "./network-flags.js";

const { expectPositionals, requireFlag } = commandArgs("avatar");

const CHAIN_HELP = `Chain options:
  --network NAME|FILE     the network file: networks/NAME.json, or a path (default: $MOSAIC_NETWORK);
                          it gives --rpc and --groups
  --rpc URL               the EVM JSON-RPC endpoint (overrides the network file's)
  --groups ADDRESS        the AvatarGroups contract (overrides the network file's)
  --wallet-key-file FILE  the paying wallet's private key, on the first line (for transactions)`;

const COMMON = `Other options:
  --json                  print the result as one JSON object on stdout
  -h, --help              this help

Progress goes to stderr. Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const VAULT_FLAGS = `Vault options:
  --dir PATH              the vault's directory (default .mosaic/vault)
  --passphrase-file FILE  read the passphrase from the first line of FILE (or set MOSAIC_PASSPHRASE)`;

const AVATAR_HELP = `mosaic avatar — the vault's anonymous avatar and the groups it answers jobs in

Usage: mosaic avatar <command> [options]

Commands:
  status     the avatar's identity commitment; with --group, whether it is a member (synced from chain events)
  register   add the avatar to a group: open groups admit one avatar per wallet, registrar groups take an
             attestation from the registrar (--attestation FILE)
  groups     list the groups: id, name, admission policy, registrar, size, root
  registrar  for a group's registrar: create-group, attest, admit, remove, hand-over

The avatar's identity derives from the vault's seed, so recovering the vault restores it. Answers to jobs carry a
zero-knowledge proof of membership and a per-job nullifier: they never name the avatar, the wallet or the vault.
Run 'mosaic avatar <command> --help' for a command's options.`;

const STATUS_HELP = `mosaic avatar status — the avatar's identity commitment and memberships

Usage: mosaic avatar status [--group ID ...] [--network NAME | --rpc URL --groups ADDRESS]

Without chain options, prints the identity commitment (what a registrar admits). With them, rebuilds each
--group from the Semaphore contract's events (cached under the vault's groups/ directory, so the next run reads
only new events) and says whether the avatar is a member.

${VAULT_FLAGS}

${CHAIN_HELP}

${COMMON}`;

const REGISTER_HELP = `mosaic avatar register — add this vault's avatar to a group

Usage: mosaic avatar register --group ID (--network NAME | --rpc URL --groups ADDRESS) --wallet-key-file FILE
                             [--attestation FILE]

Open groups admit one avatar per wallet; the wallet's transaction is public, so use a wallet you do not mind being
seen joining. Registrar groups need the registrar's attestation (from 'mosaic avatar registrar attest'): any
wallet may submit it, a relayer's included. The attestation is checked against the vault's avatar, the group, the
chain and the registrar before anything is sent.

${VAULT_FLAGS}

${CHAIN_HELP}

${COMMON}`;

const GROUPS_HELP = `mosaic avatar groups — list the avatar groups

Usage: mosaic avatar groups (--network NAME | --rpc URL --groups ADDRESS)

${CHAIN_HELP}

${COMMON}`;

const REGISTRAR_HELP = `mosaic avatar registrar — what a group's registrar does

Usage: mosaic avatar registrar <command> (--network NAME | --rpc URL --groups ADDRESS) --wallet-key-file FILE [options]

Commands:
  create-group  --name NAME --admission ADDRESS [--registrar ADDRESS]
                create a group under an admission policy contract (OpenAdmission, RegistrarAdmission or your own);
                a registrar policy's registrar defaults to the paying wallet
  attest        --group ID --commitment C --out FILE [--expires-in-days N (default 7)]
                sign an attestation admitting one identity commitment; give FILE to the person, who runs
                'mosaic avatar register --attestation FILE'
  admit         --group ID --commitments FILE
                add many commitments (one decimal per line) in batches of up to 100, with progress
  remove        --group ID --commitment C
                remove a member (its leaf becomes zero); jobs posted before keep their root
  hand-over     --group ID --to ADDRESS
                make another address the group's registrar

Sybil resistance: an open group is only as strong as the cost of a wallet; a registrar group is as strong as the
registrar's own checks, and the registrar learns every member's commitment (never which answers are whose).

${CHAIN_HELP}

${COMMON}`;

const CHAIN_OPTIONS = {
  network: NETWORK_OPTIONS.network,
  rpc: NETWORK_OPTIONS.rpc,
  groups: NETWORK_OPTIONS.groups,
  "wallet-key-file": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

const VAULT_OPTIONS = { dir: { type: "string" }, "passphrase-file": { type: "string" } } as const;

/**
 * The chain flags: --network (or MOSAIC_NETWORK) and/or --rpc and --groups, explicit flags overriding the file's.
 * Undefined when none is given and `required` is false.
 */
async function chain(
  command: string,
  values: { network?: string; rpc?: string; groups?: string; "wallet-key-file"?: string },
  required: boolean,
): Promise<GroupFlags | undefined> {
  if (!networkGiven({ network: values.network, rpc: values.rpc, groups: values.groups })) {
    if (required)
      throw new UsageError(
        `${command}: --rpc URL and --groups ADDRESS are required, or --network NAME|FILE; see 'mosaic avatar ${command} --help'`,
      );
    if (values["wallet-key-file"] !== undefined)
      throw new UsageError(`${command}: --wallet-key-file needs --network (or --rpc and --groups)`);
    return undefined;
  }
  const network = await resolveNetwork({ network: values.network, rpc: values.rpc, groups: values.groups });
  if (network.networkFile === undefined && (network.rpc === undefined || network.groups === undefined))
    throw new UsageError(`${command}: give both --rpc and --groups, or --network NAME`);
  const n = requireNetwork(`avatar ${command}`, network, ["rpc", "groups"]);
  return { rpc: n.rpc, groups: n.groups, walletKeyFile: values["wallet-key-file"], network: n };
}

export async function avatarMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Help needs none of the library: it is loaded only for a command that runs (every case checks --help first).
  const a = helpOnly(argv) ? (undefined as unknown as typeof import("./avatar.js")) : await import("./avatar.js");
  switch (command) {
    case "status": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...CHAIN_OPTIONS, ...VAULT_OPTIONS, group: { type: "string", multiple: true, default: [] } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(STATUS_HELP);
      expectPositionals("status", positionals, []);
      // MOSAIC_NETWORK alone does not take an offline status (no --group) to the chain.
      const offline = values.group.length === 0 && !networkGiven({ network: values.network, rpc: values.rpc, groups: values.groups }, {});
      const flags = offline ? undefined : await chain("status", values, false);
      if (flags === undefined && values.group.length > 0)
        throw new UsageError("status: --group needs --rpc and --groups, or --network NAME|FILE");
      const result = await a.avatarStatus({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        chain: flags,
        groupIds: values.group.map(a.parseGroupId),
      });
      emit(values.json, result, a.formatAvatarStatus);
      return 0;
    }
    case "register": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...CHAIN_OPTIONS, ...VAULT_OPTIONS, group: { type: "string" }, attestation: { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(REGISTER_HELP);
      expectPositionals("register", positionals, []);
      const flags = (await chain("register", values, true)) as GroupFlags;
      requireFlag("register", flags.walletKeyFile, "--wallet-key-file FILE");
      const result = await a.avatarRegister({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        chain: flags,
        groupId: a.parseGroupId(requireFlag("register", values.group, "--group ID")),
        attestationFile: values.attestation,
      });
      emit(values.json, result, a.formatAvatarRegister);
      return 0;
    }
    case "groups": {
      const { values, positionals } = parseArgs({ args: rest, options: CHAIN_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(GROUPS_HELP);
      expectPositionals("groups", positionals, []);
      const flags = (await chain("groups", values, true)) as GroupFlags;
      emit(values.json, await a.avatarGroups(flags), a.formatAvatarGroups);
      return 0;
    }
    case "registrar":
      return registrar(rest, a);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      return help(AVATAR_HELP);
    default:
      console.error(`mosaic avatar: unknown command ${JSON.stringify(command)}\n\n${AVATAR_HELP}`);
      return 2;
  }
}

async function registrar(argv: string[], a: typeof import("./avatar.js")): Promise<number> {
  const [command, ...rest] = argv;
  const name = `registrar ${command}`;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      ...CHAIN_OPTIONS,
      group: { type: "string" },
      name: { type: "string" },
      admission: { type: "string" },
      registrar: { type: "string" },
      commitment: { type: "string" },
      commitments: { type: "string" },
      out: { type: "string" },
      "expires-in-days": { type: "string", default: "7" },
      to: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help || command === undefined || command === "help" || command === "-h" || command === "--help") return help(REGISTRAR_HELP);
  expectPositionals(name, positionals, []);
  const flags = (await chain(name, values, true)) as GroupFlags;
  requireFlag(name, flags.walletKeyFile, "--wallet-key-file FILE");
  const group = () => a.parseGroupId(requireFlag(name, values.group, "--group ID"));
  const show = (r: unknown) =>
    emit(values.json, r, (x) =>
      Object.entries(x as Record<string, unknown>)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n"),
    );
  switch (command) {
    case "create-group":
      show(
        await a.registrarCreateGroup(flags, {
          name: requireFlag(name, values.name, "--name NAME"),
          admission: requireFlag(name, values.admission, "--admission ADDRESS"),
          registrar: values.registrar,
        }),
      );
      return 0;
    case "attest":
      show(
        await a.registrarAttest(flags, {
          groupId: group(),
          commitment: a.parseCommitment(requireFlag(name, values.commitment, "--commitment C")),
          expiresInSeconds: int("expires-in-days", values["expires-in-days"], 1, 3650) * 86_400,
          out: requireFlag(name, values.out, "--out FILE"),
        }),
      );
      return 0;
    case "admit":
      show(
        await a.registrarAdmit(flags, {
          groupId: group(),
          commitments: await a.readCommitments(requireFlag(name, values.commitments, "--commitments FILE")),
        }),
      );
      return 0;
    case "remove":
      show(
        await a.registrarRemove(flags, {
          groupId: group(),
          commitment: a.parseCommitment(requireFlag(name, values.commitment, "--commitment C")),
        }),
      );
      return 0;
    case "hand-over":
      show(await a.registrarHandOver(flags, { groupId: group(), to: requireFlag(name, values.to, "--to ADDRESS") }));
      return 0;
    default:
      console.error(`mosaic avatar registrar: unknown command ${JSON.stringify(command)}\n\n${REGISTRAR_HELP}`);
      return 2;
  }
}
