// `mosaic exposure …`: parses the command line, calls exposure.ts, prints.
import { parseArgs } from "node:util";
import {
  commandArgs,
  emit,
  emitFields,
  familyHelpOrUnknown,
  help,
  helpOnly,
  int,
  listenAddresses,
  OUTPUT_OPTIONS,
  PASSPHRASE_HELP,
  PEER_OPTIONS,
  PROGRESS_HELP,
  UsageError,
  unixNow,
  untilSignalled,
} from "./args.js";
import { NETWORK_HELP, NETWORK_OPTIONS, resolveNetwork } from "./network-flags.js";
import { VAULT_FLAGS_HELP, VAULT_OPTIONS } from "./vault-commands.js";

const { expectPositionals, requireFlag } = commandArgs("exposure");

const FEEDS_HELP = `${NETWORK_HELP}
  --feeds ADDRESS       the ExposureFeeds contract (overrides the network file's)`;

const USER_COMMON = `${VAULT_FLAGS_HELP}

${PASSPHRASE_HELP}`;

const USER_NETWORK = `${USER_COMMON}

Where the feed is (a network file, or the flags):
${FEEDS_HELP}
  --peer MULTIADDR      a node to fetch the feed's blocks from, or (upload) the authority's key server (repeatable)

${PROGRESS_HELP}`;

const AUTHORITY_COMMON = `Options:
  --wallet-key-file FILE  the health authority's wallet key (the feed's authority, the group's registrar)
  --json                  print the result as one JSON object on stdout
  -h, --help              this help
${FEEDS_HELP}

Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const EXPOSURE_HELP = `mosaic exposure — exposure notification: GAEN-compatible keys, anonymous uploads, matching on the device

Usage: mosaic exposure <command> [options]

A user's commands (on this device's vault):
  keys          today's advertisement and the keys this vault would upload
  identity      the upload identity's commitment, for the health authority to admit after a positive test
  scan import   FILE  store scans heard (JSON lines of scan records, from a radio adapter or the simulator)
  check         --feed ID  follow the authority's feed, match and score on this device, print the risk and advice
  upload        --feed ID  after a positive test: prove membership anonymously and upload the last 14 days' keys
  hotspots      --feed ID  were any of my visits at an outbreak's place and hour? (a private set intersection)

A health authority's commands:
  feed create   --group ID  open a feed on the registrar group positives are admitted to
  config publish FILE --feed ID  sign a risk configuration, put it on IPFS, name it on-chain
  admit         COMMITMENT --feed ID  admit a user's upload identity to the feed's group
  serve         --feed ID  run the key server: check uploads, publish signed key batches, anchor them on-chain
  hotspots publish FILE --feed ID  sign the outbreaks' places and hours as a hotspot set, name it on-chain

Run 'mosaic exposure <command> --help' for a command's options.`;

const KEYS_HELP = `mosaic exposure keys — this vault's exposure keys

Usage: mosaic exposure keys [options]

Prints what this device advertises now (the Rolling Proximity Identifier and encrypted metadata of the current
10-minute interval) and the daily Temporary Exposure Keys of the 14 days before today: what 'upload' would send.
All derive from the vault's seed, so recovering the vault restores them. Nothing is sent.

${USER_COMMON}`;

const IDENTITY_HELP = `mosaic exposure identity — the upload identity's commitment

Usage: mosaic exposure identity [options]

Prints the commitment of this vault's upload identity: a Semaphore identity derived from the seed, other than the
avatar's (so uploads and job answers cannot be linked). After a positive test, give it to the health authority,
which admits it with 'mosaic exposure admit COMMITMENT --feed ID'; then run 'mosaic exposure upload'.

${USER_COMMON}`;

const SCAN_IMPORT_HELP = `mosaic exposure scan import — store scans heard by a radio

Usage: mosaic exposure scan import FILE [options]

FILE holds one scan record per line, as JSON: {"rpi": 32 hex, "aem": 8 hex, "t": unix seconds, "rssi": dBm,
"seconds": seconds it stands for}. A radio adapter or the simulator writes them. All or nothing: a bad line
(MalformedScanError naming the line and field) stores nothing. Scans already stored are
skipped; scans are kept 14 days.

${USER_COMMON}`;

const CHECK_HELP = `mosaic exposure check — was I near someone who tested positive?

Usage: mosaic exposure check --feed ID [options]

Follows the health authority's feed (the batch heads anchored on-chain, each batch fetched over IPFS and its
signature checked against the authority the chain names), fetches its signed risk configuration, expands the
published keys and matches them against this vault's scans, scores the matches, and prints the risk level, the
days of exposure and what to do. Everything happens on this device: the feed never learns who checks. A level
other than none is recorded in the vault (what the exposures-per-day job counts, with consent).

Options:
  --feed ID             the health authority's feed

${USER_NETWORK}`;

const UPLOAD_HELP = `mosaic exposure upload — upload your keys after a positive test, anonymously

Usage: mosaic exposure upload --feed ID --peer MULTIADDR [--report-type TYPE] [--onset-day DATE] [options]

The vault's upload identity must already be admitted to the feed's group: print its commitment with
'mosaic exposure identity' and give it to the health authority. Then this proves membership (Semaphore; the
authority cannot tell which member uploaded), and publishes the keys of the 14 days before today from a throwaway
network identity to the authority's key server. One upload per person per 14-day period.

Options:
  --feed ID             the health authority's feed
  --report-type TYPE    confirmed-test (default), confirmed-clinical, self-report or recursive
  --onset-day DATE      the day symptoms began (YYYY-MM-DD), if any: weighs each key by days since onset
  --peer MULTIADDR      the authority's key server ('mosaic exposure serve' prints it); required

${USER_NETWORK}`;

const HOTSPOTS_HELP = `mosaic exposure hotspots — were any of my visits at a hotspot?

Usage: mosaic exposure hotspots --feed ID [--peer MULTIADDR] [options]

Reads the feed's hotspot set (signed by the health authority, checked against the authority the chain names), turns
this vault's location history of the last 14 days into visits (a ~100 m cell and an hour), and asks a node holding
the set's key which are in the set: the visits are blinded (an OPRF, RFC 9497 on ristretto255) and padded, so the
node learns that a query came and nothing else; its answer is checked against the set's public key (PsiProofError
if it used another). Prints the matching visits, which only this device knows.

The nodes asked are the staked operators in the ReducerDirectory (the network file's, or --directory), highest stake
first, in turn until one answers: a node without the set's key refuses and the next is asked; one that answers with
another key than the set's is not believed (PsiProofError, said) and the next is asked. NoHotspotServerError when
none answers.

Options:
  --feed ID             the health authority's feed
  --peer MULTIADDR      ask this node instead of the directory's (repeatable; tried in turn): a staked reducer
                        given the set's key file, or the authority's 'mosaic exposure serve'

${USER_NETWORK}`;

const HOTSPOTS_PUBLISH_HELP = `mosaic exposure hotspots publish — publish the feed's hotspot set

Usage: mosaic exposure hotspots publish FILE --feed ID --wallet-key-file FILE [--data-dir DIR] [options]

FILE is a JSON array of outbreak places and times: [{"lat": 52.52, "lon": 13.405, "from": "2026-03-01T10:00Z",
"to": "2026-03-01T14:00Z"}, …] (times as ISO or unix seconds; each hour of each entry is one hotspot item). A new
VOPRF key evaluates every item; the set (the outputs' tags and the public key) is signed, stored in DIR's
blockstore and named on-chain with publishHotspots. The secret key goes to DIR/hotspots-<cid>.key.json (mode 600):
'serve' answers queries with it, and so does a staked reducer node whose config lists the file in "hotspotKeys"
(it fetches the set from the nodes it peers with; give it 'serve''s address in "peers"). Hand it only to nodes you
trust to answer: a node answering with another key is caught by every vault, but one holding the key learns the set.

Options:
  --feed ID               the feed
  --data-dir DIR          the authority's data directory, shared with 'serve' (default .mosaic/authority)
${AUTHORITY_COMMON}`;

const FEED_CREATE_HELP = `mosaic exposure feed create — open a health authority's feed

Usage: mosaic exposure feed create --group ID --wallet-key-file FILE [options]

The group is the registrar group (RegistrarAdmission) positives are admitted to, and the wallet must be its
registrar ('mosaic avatar registrar create-group --admission <RegistrarAdmission>' makes one). The wallet becomes
the feed's authority: it signs the feed's documents and anchors its key batches. Prints the feed id.

Options:
  --group ID              the registrar group
${AUTHORITY_COMMON}`;

const CONFIG_PUBLISH_HELP = `mosaic exposure config publish — publish the feed's risk configuration

Usage: mosaic exposure config publish FILE --feed ID --wallet-key-file FILE [--data-dir DIR] [options]

FILE is a risk configuration as JSON (GAEN v2's attenuation buckets and weights, infectiousness by days since
onset, report type weights, thresholds, SafeTrace's (delta, tau), the advice per level). It is checked (a field
that is wrong is named), signed with the authority's key, stored in DIR's blockstore (which 'serve' serves to the
vaults) and named on-chain with setRiskConfig.

Options:
  --feed ID               the feed
  --data-dir DIR          the authority's data directory, shared with 'serve' (default .mosaic/authority)
${AUTHORITY_COMMON}`;

const ADMIT_HELP = `mosaic exposure admit — admit a user's upload identity after a positive test

Usage: mosaic exposure admit COMMITMENT --feed ID --wallet-key-file FILE [--out FILE] [options]

Adds the commitment (the user prints it with 'mosaic exposure identity') to the feed's registrar group, so its
owner can upload once per period. With --out, writes a signed attestation instead, for the user to register
themselves ('mosaic avatar register --attestation FILE'). You learn the commitment, never which upload is whose.

Options:
  --feed ID               the feed
  --out FILE              write an attestation instead of admitting directly
  --expires-in-days N     with --out: how long the attestation is valid (default 7)
${AUTHORITY_COMMON}`;

const SERVE_HELP = `mosaic exposure serve — the health authority's key server

Usage: mosaic exposure serve --feed ID --wallet-key-file FILE [--data-dir DIR] [--listen MULTIADDR] [options]

Takes key uploads announced on the feed's upload topic, fetches each over IPFS and checks it: the feed and period,
the keys' validity window, the proof's scope and message, its group root (current, or an unexpired earlier one),
the nullifier (one upload per person and period, journalled so a restart forgets none) and the Semaphore proof.
Every rejection is printed and counted under its name. Accepted keys are published every --batch-seconds (or
sooner at --batch-max-keys) as a signed batch linked to the previous one, stored in DIR's blockstore and anchored
with publishKeys. It also answers private hotspot checks for the sets whose keys 'hotspots publish' wrote to DIR
before it started. Prints its addresses first: users pass one to 'mosaic exposure upload --peer' and
'mosaic exposure hotspots --peer'. Until Ctrl-C; with --json, prints its counters (by rejection reason) on exit.

Options:
  --feed ID               the feed
  --data-dir DIR          blocks, the journal, the group cache and the peer key (default .mosaic/authority)
  --listen MULTIADDR      an address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0)
  --batch-seconds N       how often accepted keys are published (default 60)
  --batch-max-keys N      publish as soon as this many keys wait (default 10000)
${AUTHORITY_COMMON}`;

const USER_OPTIONS = {
  ...VAULT_OPTIONS,
  ...NETWORK_OPTIONS,
  feeds: { type: "string" },
  feed: { type: "string" },
  ...PEER_OPTIONS,
} as const;

const AUTHORITY_OPTIONS = {
  ...NETWORK_OPTIONS,
  feeds: { type: "string" },
  feed: { type: "string" },
  "wallet-key-file": { type: "string" },
  "data-dir": { type: "string", default: ".mosaic/authority" },
  ...OUTPUT_OPTIONS,
} as const;

export async function exposureMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Help needs none of the library: it is loaded only for a command that runs.
  const x = helpOnly(argv) ? (undefined as unknown as typeof import("./exposure.js")) : await import("./exposure.js");
  switch (command) {
    case "keys": {
      const { values, positionals } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(KEYS_HELP);
      expectPositionals("keys", positionals, []);
      emit(values.json, await x.exposureKeys({ dir: values.dir, passphraseFile: values["passphrase-file"], now: unixNow() }), x.formatKeys);
      return 0;
    }
    case "identity": {
      const { values, positionals } = parseArgs({ args: rest, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(IDENTITY_HELP);
      expectPositionals("identity", positionals, []);
      emit(values.json, await x.exposureIdentity({ dir: values.dir, passphraseFile: values["passphrase-file"] }), x.formatIdentity);
      return 0;
    }
    case "scan": {
      const [sub, ...args] = rest;
      const { values, positionals } = parseArgs({ args, options: VAULT_OPTIONS, strict: true, allowPositionals: true });
      if (values.help || sub === undefined || sub === "--help" || sub === "-h") return help(SCAN_IMPORT_HELP);
      if (sub !== "import") throw new UsageError(`scan: unknown command ${JSON.stringify(sub)}; see 'mosaic exposure scan import --help'`);
      const [file] = expectPositionals("scan import", positionals, ["FILE"]) as [string];
      const r = await x.scanImport({ dir: values.dir, passphraseFile: values["passphrase-file"], file });
      emit(values.json, r, (s) => `stored ${s.stored} new scan(s) of the ${s.read} in ${s.file}`);
      return 0;
    }
    case "check": {
      const { values, positionals } = parseArgs({ args: rest, options: USER_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(CHECK_HELP);
      expectPositionals("check", positionals, []);
      const feedId = x.parseFeedId(requireFlag("check", values.feed, "--feed ID"));
      const network = await resolveNetwork(values);
      const r = await x.exposureCheck({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        feeds: values.feeds,
        feedId,
        peers: values.peer,
        now: unixNow(),
      });
      emit(values.json, r, x.formatCheck);
      return 0;
    }
    case "upload": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...USER_OPTIONS, "report-type": { type: "string", default: "confirmed-test" }, "onset-day": { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(UPLOAD_HELP);
      expectPositionals("upload", positionals, []);
      const feedId = x.parseFeedId(requireFlag("upload", values.feed, "--feed ID"));
      const reportType = x.parseReportType(values["report-type"]);
      const t = unixNow();
      const onsetDay = values["onset-day"] === undefined ? null : x.parseOnsetDay(values["onset-day"], t);
      if (values.peer.length === 0)
        throw new UsageError("upload: --peer MULTIADDR is required: the health authority's key server ('mosaic exposure serve' prints it)");
      const network = await resolveNetwork(values);
      const r = await x.exposureUpload({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        feeds: values.feeds,
        feedId,
        peers: values.peer,
        now: t,
        reportType,
        onsetDay,
      });
      emit(values.json, r, x.formatUpload);
      return 0;
    }
    case "hotspots": {
      if (rest[0] === "publish") {
        const { values, positionals } = parseArgs({
          args: rest.slice(1),
          options: AUTHORITY_OPTIONS,
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return help(HOTSPOTS_PUBLISH_HELP);
        const [file] = expectPositionals("hotspots publish", positionals, ["FILE"]) as [string];
        const feedId = x.parseFeedId(requireFlag("hotspots publish", values.feed, "--feed ID"));
        const walletKeyFile = requireFlag("hotspots publish", values["wallet-key-file"], "--wallet-key-file FILE");
        const network = await resolveNetwork(values);
        emitFields(
          values.json,
          await x.hotspotsPublish({ network, feeds: values.feeds, walletKeyFile, feedId, file, dataDir: values["data-dir"] }),
        );
        return 0;
      }
      const { values, positionals } = parseArgs({ args: rest, options: USER_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(HOTSPOTS_HELP);
      expectPositionals("hotspots", positionals, []);
      const feedId = x.parseFeedId(requireFlag("hotspots", values.feed, "--feed ID"));
      const network = await resolveNetwork(values);
      const r = await x.exposureHotspots({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        feeds: values.feeds,
        feedId,
        peers: values.peer,
        now: unixNow(),
      });
      emit(values.json, r, x.formatHotspots);
      return 0;
    }
    case "feed": {
      const [sub, ...args] = rest;
      const { values, positionals } = parseArgs({
        args,
        options: { ...AUTHORITY_OPTIONS, group: { type: "string" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help || sub === undefined || sub === "--help" || sub === "-h") return help(FEED_CREATE_HELP);
      if (sub !== "create") throw new UsageError(`feed: unknown command ${JSON.stringify(sub)}; see 'mosaic exposure feed create --help'`);
      expectPositionals("feed create", positionals, []);
      const group = requireFlag("feed create", values.group, "--group ID");
      if (!/^(0|[1-9][0-9]{0,76})$/.test(group))
        throw new RangeError(`--group: expected a group id (a decimal integer), got ${JSON.stringify(group)}`);
      const network = await resolveNetwork(values);
      emitFields(
        values.json,
        await x.feedCreate({
          network,
          feeds: values.feeds,
          walletKeyFile: requireFlag("feed create", values["wallet-key-file"], "--wallet-key-file FILE"),
          groupId: BigInt(group),
        }),
      );
      return 0;
    }
    case "config": {
      const [sub, ...args] = rest;
      const { values, positionals } = parseArgs({ args, options: AUTHORITY_OPTIONS, strict: true, allowPositionals: true });
      if (values.help || sub === undefined || sub === "--help" || sub === "-h") return help(CONFIG_PUBLISH_HELP);
      if (sub !== "publish")
        throw new UsageError(`config: unknown command ${JSON.stringify(sub)}; see 'mosaic exposure config publish --help'`);
      const [file] = expectPositionals("config publish", positionals, ["FILE"]) as [string];
      const feedId = x.parseFeedId(requireFlag("config publish", values.feed, "--feed ID"));
      const walletKeyFile = requireFlag("config publish", values["wallet-key-file"], "--wallet-key-file FILE");
      const network = await resolveNetwork(values);
      emitFields(
        values.json,
        await x.configPublish({ network, feeds: values.feeds, walletKeyFile, feedId, file, dataDir: values["data-dir"] }),
      );
      return 0;
    }
    case "admit": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...AUTHORITY_OPTIONS, out: { type: "string" }, "expires-in-days": { type: "string", default: "7" } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(ADMIT_HELP);
      const [c] = expectPositionals("admit", positionals, ["COMMITMENT"]) as [string];
      const { parseCommitment } = await import("./avatar.js");
      const commitment = parseCommitment(c, "COMMITMENT");
      const feedId = x.parseFeedId(requireFlag("admit", values.feed, "--feed ID"));
      const walletKeyFile = requireFlag("admit", values["wallet-key-file"], "--wallet-key-file FILE");
      const network = await resolveNetwork(values);
      emitFields(
        values.json,
        await x.exposureAdmit({
          network,
          feeds: values.feeds,
          walletKeyFile,
          feedId,
          commitment,
          out: values.out,
          expiresInSeconds: int("expires-in-days", values["expires-in-days"], 1, 3650) * 86_400,
        }),
      );
      return 0;
    }
    case "serve": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...AUTHORITY_OPTIONS,
          listen: { type: "string", multiple: true, default: [] as string[] },
          "batch-seconds": { type: "string", default: "60" },
          "batch-max-keys": { type: "string" },
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(SERVE_HELP);
      expectPositionals("serve", positionals, []);
      const feedId = x.parseFeedId(requireFlag("serve", values.feed, "--feed ID"));
      const walletKeyFile = requireFlag("serve", values["wallet-key-file"], "--wallet-key-file FILE");
      const batchEveryMs = int("batch-seconds", values["batch-seconds"], 1, 86_400) * 1000;
      const batchMaxKeys = values["batch-max-keys"] === undefined ? undefined : int("batch-max-keys", values["batch-max-keys"], 1, 10_000);
      const network = await resolveNetwork(values);
      const status = await x.exposureServe({
        network,
        feeds: values.feeds,
        walletKeyFile,
        feedId,
        dataDir: values["data-dir"],
        listen: listenAddresses(values.listen),
        batchEveryMs,
        batchMaxKeys,
        until: untilSignalled(),
        print: (line) => console.log(line),
      });
      if (values.json) console.log(JSON.stringify(status));
      return 0;
    }
    default:
      return familyHelpOrUnknown("exposure", command, EXPOSURE_HELP);
  }
}
