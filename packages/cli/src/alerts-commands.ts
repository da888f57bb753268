// `mosaic alerts …`: parses the command line, calls alerts.ts, prints.
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

const { expectPositionals, requireFlag } = commandArgs("alerts");

const FEEDS_HELP = `${NETWORK_HELP}
  --alert-feeds ADDRESS the AlertFeeds contract (overrides the network file's)`;

const EDITOR_COMMON = `Options:
  --wallet-key-file FILE  the editor's wallet key: it signs, and pays for the transaction when the draft is complete
  --data-dir DIR          the editor's data directory: published entry blocks are kept in its blockstore, which
                          'mosaic alerts serve --data-dir DIR' serves (default .mosaic/editor)
  --peer MULTIADDR        a replica to announce the entry to ('mosaic alerts serve' prints its address; repeatable;
                          the network file's bootstrap peers are tried too)
  --json                  print the result as one JSON object on stdout
  -h, --help              this help
${FEEDS_HELP}

${PROGRESS_HELP}`;

const USER_NETWORK = `${VAULT_FLAGS_HELP}

${PASSPHRASE_HELP}

Where the feeds are (a network file, or the flags):
${FEEDS_HELP}
  --peer MULTIADDR      a replica to fetch the feeds' entries from ('mosaic alerts serve' prints it; repeatable)

${PROGRESS_HELP}`;

const ALERTS_HELP = `mosaic alerts — public alerts (OASIS CAP 1.2) from feeds that m of n editors sign, matched on your device

Usage: mosaic alerts <command> [options]

Editors' commands (a feed's editors are different people, each with their own wallet key):
  feed create   --editor ADDR… --threshold M  open a feed: its editors and how many must sign each entry
  feed editors  --feed N [--set ADDR,… --threshold M]  show the editors; with --set, sign a rotation
  publish       --feed N --cap FILE.xml  sign a CAP alert as the feed's next entry (a draft until M editors signed)
  sign          DRAFT  check a draft another editor made, show it in words, add your signature
  cancel        --feed N --seq S  sign a CAP Cancel of entry S (it is hidden from inboxes; its record stays)
  announce      DRAFT  keep and announce a draft's entry that the chain anchored by someone else's transaction

Anyone's:
  serve         --feed N…  a replica: takes announced entries the chain anchored, serves them to vaults
  list          --feed N  the public feed as a replica serves it, checked against the chain

A vault's (this device's):
  follow        --feed N  follow a feed
  list          the inbox: the followed feeds' alerts, those that concern you first, with the reason
  reach-job     --feed N --seq S --out spec.json  a ready job: how many people an alert reached, with DP

A draft is a JSON file passed between editors (by e-mail or chat): 'publish' writes it with the first signature,
each 'sign' adds one, and the one that completes it anchors the entry on-chain and announces it to the replicas.
Every editor who signs keeps the entry's block in their --data-dir first, so whoever anchors it, it can be served.

Run 'mosaic alerts <command> --help' for a command's options.`;

const FEED_CREATE_HELP = `mosaic alerts feed create — open an alert feed

Usage: mosaic alerts feed create --editor ADDRESS… --threshold M --wallet-key-file FILE [options]

Opens a feed on AlertFeeds with its editors (1..32 addresses, each a person's wallet) and the threshold M: an entry
counts once M of them signed it. The wallet paying need not be an editor. Prints the feed id.

Options:
  --editor ADDRESS        an editor (repeatable, or comma-separated)
  --threshold M           how many editors must sign each entry and each rotation
${EDITOR_COMMON}`;

const FEED_EDITORS_HELP = `mosaic alerts feed editors — a feed's editors, and rotating them

Usage: mosaic alerts feed editors --feed N [options]
       mosaic alerts feed editors --feed N --set ADDRESS,… --threshold M --wallet-key-file FILE [--draft FILE] [options]

Without --set: prints the feed's current editors, threshold and epoch. With --set: signs the change to the new
editors and threshold with your key (you must be a current editor); once the current threshold of editors signed
(passing the draft on with 'mosaic alerts sign'), the change is sent and the epoch increases: signatures by editors
who left no longer count, and drafts made before are stale.

Options:
  --feed N                the feed
  --set ADDRESS,…         the new editors (repeatable, or comma-separated)
  --threshold M           the new threshold (with --set)
  --draft FILE            where the draft goes while it needs more signatures (default feed-N-epoch-E-editors.draft.json)
${EDITOR_COMMON}`;

const PUBLISH_HELP = `mosaic alerts publish — publish a CAP alert in a feed

Usage: mosaic alerts publish --feed N --cap FILE.xml --wallet-key-file FILE [--draft FILE] [options]

Reads FILE.xml as a CAP 1.2 message and checks it against the CAP schema and rules (a damaged one is named —
InvalidCapError with the element, UnclosedPolygonError, MalformedXmlError — and nothing is signed). Builds the feed's
next entry (its sequence number, the link to the entry before it, the current editor epoch) and signs it with your
key. Its block is kept in --data-dir's blockstore first. With a threshold of 1 it is anchored on-chain at once and
announced to the replicas; otherwise the draft is written for the next editor ('mosaic alerts sign DRAFT').

A message whose key (sender, identifier, sent) the feed already holds is refused (DuplicateCapKeyError, nothing
signed): an Update or Cancel of that key would apply to every copy. To check, publish reads the feed (from
--data-dir and --peer, each entry checked as a follower would); --force publishes anyway, with a warning.

Options:
  --feed N                the feed
  --cap FILE.xml          the CAP 1.2 message
  --force                 publish even if the feed holds a message with this key, or cannot be read to check
  --draft FILE            where the draft goes while it needs more signatures (default feed-N-seq-S.draft.json)
${EDITOR_COMMON}`;

const SIGN_HELP = `mosaic alerts sign — sign a draft another editor made

Usage: mosaic alerts sign DRAFT --wallet-key-file FILE [--yes] [--out FILE] [options]

Checks the draft: it is for this chain and AlertFeeds contract (WrongFeedError), still the feed's next entry in the
current editor epoch (StaleDraftError: another entry was anchored or the editors changed since; publish again), and
its signatures are the epoch's editors' (ForeignSignatureError names one that is not). Shows what you sign — every
text field (headline, description, instruction, web, contact, parameters, resources), times, and each area's
polygons (bounding box, approximate km²), circles (centre, radius) and geocodes, with control characters escaped
(\r, \x1b, …) — and asks before signing (--yes: without asking; needed without a terminal; --xml: the full CAP XML
too). Keeps the entry's block in --data-dir, adds your signature; once the threshold is met, anchors the entry
on-chain and announces it to the replicas; otherwise writes the draft back (or to --out) for the next editor.

If the anchoring transaction fails but the chain holds this very entry (a copy of the transaction sent first, or
another editor's), it says "anchored (by someone else's transaction)" and announces it all the same.

Options:
  --yes                   sign without asking (the alert is still shown)
  --xml                   also print the entry's CAP message in full before asking
  --out FILE              write the draft here instead of back to DRAFT
${EDITOR_COMMON}`;

const CANCEL_HELP = `mosaic alerts cancel — cancel an alert

Usage: mosaic alerts cancel --feed N --seq S --wallet-key-file FILE [--note TEXT] [--draft FILE] [options]

Signs a CAP Cancel message referencing entry S (same sender, status and scope), published as the feed's next entry
the way 'publish' does: a draft until the threshold of editors signed. Every replica and vault honours it: the
cancelled alert is no longer shown, the record that it was cancelled stays. Entry S is read from --data-dir's
blockstore, or from a replica (--peer).

Options:
  --feed N                the feed
  --seq S                 the entry to cancel
  --note TEXT             why (CAP's note)
  --force                 publish even if the feed cannot be read to check its keys (see 'mosaic alerts publish --help')
  --draft FILE            where the draft goes while it needs more signatures (default feed-N-seq-S.draft.json)
${EDITOR_COMMON}`;

const ANNOUNCE_HELP = `mosaic alerts announce — keep and announce a draft's entry that the chain anchored

Usage: mosaic alerts announce DRAFT [--data-dir DIR] [--peer MULTIADDR…] [options]

For an entry the chain anchored by a transaction that was not yours, or whose sender's CLI failed: the last signer
completed the draft and told nobody, or a stranger copied the anchoring transaction from the mempool. Followers then
see the new head on-chain but no replica holds the block. Checks that entry S of the draft's feed is anchored with
this draft's entry (EntryNotAnchoredError when nothing is anchored there yet; StaleDraftError when another entry
is), keeps its block in --data-dir's blockstore ('mosaic alerts serve --data-dir DIR' serves it) and announces it to
the replicas with the signatures anchored on-chain. Needs no wallet key; any editor holding the draft can run it.

Options:
  --data-dir DIR          where the block is kept (default .mosaic/editor)
  --peer MULTIADDR        a replica to announce to (repeatable; the network file's bootstrap peers are tried too)
  --json                  print the result as one JSON object on stdout
  -h, --help              this help
${FEEDS_HELP}`;

const FOLLOW_HELP = `mosaic alerts follow — follow a feed in this vault

Usage: mosaic alerts follow --feed N [options]

Adds the feed to the ones this vault follows; 'mosaic alerts list' then syncs it. Nothing is sent anywhere: a replica
serving the feed cannot tell which of the vaults fetching it follow it or where they are.

Options:
  --feed N              the feed

${USER_NETWORK}`;

const LIST_HELP = `mosaic alerts list — the alert inbox, or a public feed

Usage: mosaic alerts list [--all] [--xml] [options]
       mosaic alerts list --feed N [--all] [--xml] [options]

Without --feed: syncs the feeds this vault follows from the replicas (every entry checked: its signatures by the
editors of its epoch, its place in the chain of entries, against the head anchored on-chain, so a replica can
withhold but not forge), matches each alert's areas and times against your location history and check-ins on this
device, and prints the inbox: the active alerts that concern you first, each with the reason in words. Cancelled
and superseded alerts are hidden (--all shows them with their state). Nothing about the match leaves the vault.

With --feed N: the public feed as a replica serves it, checked the same way; no vault is opened.

Options:
  --feed N              list this public feed instead of the vault's inbox
  --all                 also cancelled and updated alerts, and the Update/Cancel records themselves
  --xml                 print each alert as CAP 1.2 XML

${USER_NETWORK}`;

const SERVE_HELP = `mosaic alerts serve — a replica of alert feeds

Usage: mosaic alerts serve --feed N… [--data-dir DIR] [--listen MULTIADDR] [options]

Follows the feeds: takes each entry announced on a feed's topic once its signatures are the editors' and the chain
anchored it with that CID, polls the chain and fetches from other nodes what was anchored but not announced, and
serves the verified entries to vaults (and other replicas) over bitswap. Everything it serves passed the same checks
a vault makes. Prints its addresses first: editors pass one to 'publish --peer', vaults to 'list --peer'. Until
Ctrl-C; with --json, prints the heads it holds on exit.

Options:
  --feed N              a feed to replicate (repeatable)
  --data-dir DIR        blocks, the followed heads and the peer key (default .mosaic/alerts-replica); an editor's
                        --data-dir serves the entries the editor published
  --listen MULTIADDR    an address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0)
  --peer MULTIADDR      another replica to fetch from (repeatable)
  --json                print the heads held as one JSON object on exit
  -h, --help            this help
${FEEDS_HELP}

Logs: set MOSAIC_LOG=info or debug for structured JSON logs on stderr.`;

const REACH_JOB_HELP = `mosaic alerts reach-job — a ready job: how many people an alert reached

Usage: mosaic alerts reach-job --feed N --seq S --out spec.json [options]

Writes the spec of a ready job that asks vaults whether alert S of feed N concerned them (one-hot: reached, not
reached; randomized response, epsilon 1). Post it with 'mosaic job post spec.json'; each vault answers from its own
match, with consent, and only the noised aggregate is learnt.

Options:
  --feed N              the feed
  --seq S               the alert's entry
  --out FILE            where the spec goes
  --deadline-in SECONDS when answers close (default 7 days)
  --json                print the result as one JSON object on stdout
  -h, --help            this help
${FEEDS_HELP}`;

const EDITOR_OPTIONS = {
  ...NETWORK_OPTIONS,
  "alert-feeds": { type: "string" },
  feed: { type: "string" },
  "wallet-key-file": { type: "string" },
  "data-dir": { type: "string", default: ".mosaic/editor" },
  ...PEER_OPTIONS,
  draft: { type: "string" },
  ...OUTPUT_OPTIONS,
} as const;

const USER_OPTIONS = {
  ...VAULT_OPTIONS,
  ...NETWORK_OPTIONS,
  "alert-feeds": { type: "string" },
  feed: { type: "string" },
  ...PEER_OPTIONS,
} as const;

export async function alertsMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Help needs none of the library: it is loaded only for a command that runs.
  const x = helpOnly(argv) ? (undefined as unknown as typeof import("./alerts.js")) : await import("./alerts.js");
  switch (command) {
    case "feed": {
      const [sub, ...args] = rest;
      if (sub === "create") {
        const { values, positionals } = parseArgs({
          args,
          options: {
            ...EDITOR_OPTIONS,
            editor: { type: "string", multiple: true, default: [] as string[] },
            threshold: { type: "string" },
          },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return help(FEED_CREATE_HELP);
        expectPositionals("feed create", positionals, []);
        const editors = x.parseEditors(values.editor);
        const threshold = int("threshold", requireFlag("feed create", values.threshold, "--threshold M"), 1, 32);
        const walletKeyFile = requireFlag("feed create", values["wallet-key-file"], "--wallet-key-file FILE");
        const network = await resolveNetwork(values);
        const r = await x.feedCreate({ network, alertFeeds: values["alert-feeds"], walletKeyFile, editors, threshold });
        emit(
          values.json,
          r,
          (c) =>
            `opened feed ${c.feedId}: ${c.threshold} of ${c.editors.length} editors must sign\n${c.editors.map((e) => `  ${e}`).join("\n")}`,
        );
        return 0;
      }
      if (sub === "editors") {
        const { values, positionals } = parseArgs({
          args,
          options: { ...EDITOR_OPTIONS, set: { type: "string", multiple: true }, threshold: { type: "string" } },
          strict: true,
          allowPositionals: true,
        });
        if (values.help) return help(FEED_EDITORS_HELP);
        expectPositionals("feed editors", positionals, []);
        const feedId = x.parseAlertFeedId(requireFlag("feed editors", values.feed, "--feed N"));
        let set: { editors: string[]; threshold: number } | undefined;
        if (values.set !== undefined) {
          const editors = x.parseEditors(values.set, "--set");
          set = {
            editors,
            threshold: int("threshold", requireFlag("feed editors", values.threshold, "--threshold M (with --set)"), 1, 32),
          };
          requireFlag("feed editors", values["wallet-key-file"], "--wallet-key-file FILE (with --set)");
        } else if (values.threshold !== undefined) throw new UsageError("feed editors: --threshold goes with --set ADDRESS,…");
        const network = await resolveNetwork(values);
        const r = await x.feedEditors({
          network,
          alertFeeds: values["alert-feeds"],
          walletKeyFile: values["wallet-key-file"],
          feedId,
          set,
          draftFile: values.draft,
          dataDir: values["data-dir"],
          peers: values.peer,
        });
        emit(values.json, r, x.formatEditors);
        return 0;
      }
      if (sub === undefined || sub === "--help" || sub === "-h") return help(`${FEED_CREATE_HELP}\n\n${FEED_EDITORS_HELP}`);
      throw new UsageError(
        `feed: unknown command ${JSON.stringify(sub)}; see 'mosaic alerts feed create --help' and 'mosaic alerts feed editors --help'`,
      );
    }
    case "publish": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...EDITOR_OPTIONS, cap: { type: "string" }, force: { type: "boolean", default: false } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(PUBLISH_HELP);
      expectPositionals("publish", positionals, []);
      const feedId = x.parseAlertFeedId(requireFlag("publish", values.feed, "--feed N"));
      const capFile = requireFlag("publish", values.cap, "--cap FILE.xml");
      const walletKeyFile = requireFlag("publish", values["wallet-key-file"], "--wallet-key-file FILE");
      const network = await resolveNetwork(values);
      const r = await x.alertsPublish({
        network,
        alertFeeds: values["alert-feeds"],
        walletKeyFile,
        feedId,
        capFile,
        force: values.force,
        draftFile: values.draft,
        dataDir: values["data-dir"],
        peers: [...values.peer, ...network.bootstrap],
      });
      emit(values.json, r, x.formatPublish);
      return 0;
    }
    case "sign": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...EDITOR_OPTIONS,
          yes: { type: "boolean", default: false },
          out: { type: "string" },
          xml: { type: "boolean", default: false },
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(SIGN_HELP);
      const [draftFile] = expectPositionals("sign", positionals, ["DRAFT"]) as [string];
      const walletKeyFile = requireFlag("sign", values["wallet-key-file"], "--wallet-key-file FILE");
      const network = await resolveNetwork(values);
      const r = await x.alertsSign({
        network,
        alertFeeds: values["alert-feeds"],
        walletKeyFile,
        draftFile,
        out: values.out,
        dataDir: values["data-dir"],
        peers: [...values.peer, ...network.bootstrap],
        yes: values.yes,
        xml: values.xml,
      });
      emit(values.json, r, x.formatSign);
      return 0;
    }
    case "announce": {
      const { values, positionals } = parseArgs({ args: rest, options: EDITOR_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(ANNOUNCE_HELP);
      const [draftFile] = expectPositionals("announce", positionals, ["DRAFT"]) as [string];
      const network = await resolveNetwork(values);
      const r = await x.alertsAnnounce({
        network,
        alertFeeds: values["alert-feeds"],
        draftFile,
        dataDir: values["data-dir"],
        peers: [...values.peer, ...network.bootstrap],
      });
      emit(values.json, r, x.formatAnnounce);
      return 0;
    }
    case "cancel": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...EDITOR_OPTIONS, seq: { type: "string" }, note: { type: "string" }, force: { type: "boolean", default: false } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(CANCEL_HELP);
      expectPositionals("cancel", positionals, []);
      const feedId = x.parseAlertFeedId(requireFlag("cancel", values.feed, "--feed N"));
      const seq = int("seq", requireFlag("cancel", values.seq, "--seq S"), 1, Number.MAX_SAFE_INTEGER);
      const walletKeyFile = requireFlag("cancel", values["wallet-key-file"], "--wallet-key-file FILE");
      const network = await resolveNetwork(values);
      const r = await x.alertsCancel({
        network,
        alertFeeds: values["alert-feeds"],
        walletKeyFile,
        feedId,
        seq,
        note: values.note,
        force: values.force,
        now: unixNow(),
        draftFile: values.draft,
        dataDir: values["data-dir"],
        peers: [...values.peer, ...network.bootstrap],
      });
      emit(values.json, r, x.formatPublish);
      return 0;
    }
    case "follow": {
      const { values, positionals } = parseArgs({ args: rest, options: USER_OPTIONS, strict: true, allowPositionals: true });
      if (values.help) return help(FOLLOW_HELP);
      expectPositionals("follow", positionals, []);
      const feedId = x.parseAlertFeedId(requireFlag("follow", values.feed, "--feed N"));
      const network = await resolveNetwork(values);
      const r = await x.alertsFollow({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        alertFeeds: values["alert-feeds"],
        feedId,
      });
      emit(
        values.json,
        r,
        (f) =>
          `following ${f.following.length} feed(s): ${f.following.map(({ feed, seq }) => `feed ${feed.feedId} of ${feed.contract} on chain ${feed.chainId} (${seq} entries held)`).join("; ")}\nRun 'mosaic alerts list' to sync them and see the alerts that concern you.`,
      );
      return 0;
    }
    case "list": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...USER_OPTIONS, all: { type: "boolean", default: false }, xml: { type: "boolean", default: false } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(LIST_HELP);
      expectPositionals("list", positionals, []);
      const feedId = values.feed === undefined ? undefined : x.parseAlertFeedId(values.feed);
      const network = await resolveNetwork(values);
      const r = await x.alertsList({
        dir: values.dir,
        passphraseFile: values["passphrase-file"],
        network,
        alertFeeds: values["alert-feeds"],
        feedId,
        all: values.all,
        xml: values.xml,
        peers: values.peer,
        now: unixNow(),
      });
      emit(values.json, r, x.formatList);
      return 0;
    }
    case "serve": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...NETWORK_OPTIONS,
          "alert-feeds": { type: "string" },
          feed: { type: "string", multiple: true, default: [] as string[] },
          "data-dir": { type: "string", default: ".mosaic/alerts-replica" },
          listen: { type: "string", multiple: true, default: [] as string[] },
          ...PEER_OPTIONS,
          ...OUTPUT_OPTIONS,
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(SERVE_HELP);
      expectPositionals("serve", positionals, []);
      if (values.feed.length === 0) throw new UsageError("serve: --feed N is required (repeatable); see 'mosaic alerts serve --help'");
      const feedIds = [...new Set(values.feed.flatMap((f) => f.split(",")).map((f) => x.parseAlertFeedId(f.trim())))];
      const network = await resolveNetwork(values);
      const r = await x.alertsServe({
        network,
        alertFeeds: values["alert-feeds"],
        feedIds,
        dataDir: values["data-dir"],
        listen: listenAddresses(values.listen),
        peers: values.peer,
        until: untilSignalled(),
        print: (line) => console.log(line),
      });
      if (values.json) console.log(JSON.stringify(r));
      return 0;
    }
    case "reach-job": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...NETWORK_OPTIONS,
          "alert-feeds": { type: "string" },
          feed: { type: "string" },
          seq: { type: "string" },
          out: { type: "string" },
          "deadline-in": { type: "string", default: String(7 * 86_400) },
          ...OUTPUT_OPTIONS,
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return help(REACH_JOB_HELP);
      expectPositionals("reach-job", positionals, []);
      const feedId = x.parseAlertFeedId(requireFlag("reach-job", values.feed, "--feed N"));
      const seq = int("seq", requireFlag("reach-job", values.seq, "--seq S"), 1, Number.MAX_SAFE_INTEGER);
      const out = requireFlag("reach-job", values.out, "--out FILE");
      const deadlineIn = int("deadline-in", values["deadline-in"], 60, 365 * 86_400);
      const network = await resolveNetwork(values);
      emitFields(
        values.json,
        await x.alertsReachJob({ network, alertFeeds: values["alert-feeds"], feedId, seq, out, deadlineIn, now: unixNow() }),
      );
      return 0;
    }
    default:
      return familyHelpOrUnknown("alerts", command, ALERTS_HELP);
  }
}
