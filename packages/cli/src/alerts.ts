// `mosaic alerts`: public alerts (issue 21). An editor's side (open a feed, publish a CAP alert, sign a draft another
// editor made, cancel, rotate the editors), a replica's (`serve`) and a vault's (`follow`, `list`, the reach job).
// The work is @mosaic/alerts', @mosaic/worker's and @mosaic/vault's; this connects to the chain and the network,
// passes drafts between editors as files, and shapes what is printed.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import {
  type AlertDraft,
  type AlertEntry,
  type AlertFeedChain,
  type AlertFeedRef,
  addSignature,
  alertFeedChain,
  checkDraft,
  draftEntry,
  type CapAlert,
  type CapArea,
  areaShape,
  type BoundingBox,
  circleAreaKm2,
  capKey,
  checkSignatures,
  decodeEntry,
  draftDigest,
  encodeDraft,
  encodeEntry,
  type FeedItem,
  feedView,
  type VerifiedEntry,
  MAX_ENTRY_BYTES,
  parseCap,
  parseDraft,
  polygonAreaKm2,
  printableText,
  renderCap,
  syncFeedSkipping,
} from "@mosaic/alerts";
import {
  type AlertFeeds,
  AlertFeeds__factory,
  type CID,
  connectChain,
  createIpfsNode,
  createLogger,
  findEvent,
  getBlock,
  type IpfsNode,
  namedError,
  nodeAddresses,
  writeFileAtomic,
} from "@mosaic/protocol";
import { alertFeedGaps, alertInbox, alertReachJob, alertReachSpec, followAlertFeed, followedAlertFeeds, syncAlerts } from "@mosaic/vault";
import { announceEntry, createAlertReplica } from "@mosaic/worker";
import { getAddress, getBytes, isAddress, type Provider, type Signer } from "ethers";
import { UsageError } from "./args.js";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { blocksDir, dialPeers, keepBlock, openServingNode, say, withDataDirNode, withIpfs } from "./ipfs-session.js";
import type { ResolvedNetwork } from "./network-flags.js";
import { type VaultAccess, withProgress, withVault } from "./vault.js";

/** AlertFeeds refused a transaction; `reason` is the contract's error name. */
export class AlertFeedsError extends contractRefusal("AlertFeedsError") {}

/** A draft is for another position than the feed's next one: another entry was anchored, or the editors changed, since it was made. */
export class StaleDraftError extends namedError("StaleDraftError") {}

/** A draft names another chain or AlertFeeds contract than the one connected to. */
export class WrongFeedError extends namedError("WrongFeedError") {}

/** The wallet is not an editor of the feed's current epoch, so its signature would not count. */
export class NotFeedEditorError extends namedError("NotFeedEditorError") {}

/** `alerts announce`: the draft's entry is not anchored (yet), so there is nothing a replica would take. */
export class EntryNotAnchoredError extends namedError("EntryNotAnchoredError") {}

/** `alerts publish`: the feed already holds a CAP message with this key (sender, identifier, sent); --force publishes it again. */
export class DuplicateCapKeyError extends namedError("DuplicateCapKeyError") {}

/** The signer declined at the prompt. */
export class SigningDeclinedError extends namedError("SigningDeclinedError") {}

const REVERT_ADVICE: Record<string, string> = {
  UnknownFeed: "no such feed; 'mosaic alerts feed create' prints a new feed's id",
  UnknownEpoch: "the feed has not reached that editor epoch",
  InvalidEditorCount: "a feed has 1 to 32 editors",
  InvalidEditor: "editors are non-zero, distinct addresses",
  InvalidThreshold: "the threshold must be between 1 and the number of editors",
  StaleSequence: "another entry was anchored since this one was signed (a stale or replayed draft); run 'mosaic alerts publish' again",
  InvalidCid: "the entry's CID is empty or too long",
  MalformedSignature: "a signature in the draft is damaged; ask its editor to sign again",
  NotEditor:
    "a signature is not by an editor of the feed's current epoch (a foreign key, or the editors changed since it was signed); run 'mosaic alerts publish' again",
  SignersNotSorted: "the signatures must be sorted by signer with none repeated",
  TooFewSignatures: "not enough editors signed; pass the draft to another editor ('mosaic alerts sign FILE')",
};

/** Where the AlertFeeds contract is, and who pays. */
export interface AlertFlags {
  network: ResolvedNetwork;
  /** --alert-feeds, overriding the network file's contracts.alertFeeds. */
  alertFeeds?: string;
  walletKeyFile?: string;
}

/** The AlertFeeds address, where it came from, and the block it was deployed in (where event reads start). */
function feedsAddress(command: string, flags: AlertFlags): { address: string; flag: string; fromBlock?: number } {
  if (flags.alertFeeds !== undefined) return { address: flags.alertFeeds, flag: "--alert-feeds" };
  const deployed = flags.network.file?.contracts.alertFeeds;
  if (deployed !== undefined)
    return { address: deployed.address, flag: `${flags.network.networkFile} (contracts.alertFeeds)`, fromBlock: deployed.deployBlock };
  throw new UsageError(
    `alerts ${command}: --alert-feeds ADDRESS is required, or --network NAME|FILE whose network has AlertFeeds; see 'mosaic alerts ${command} --help'`,
  );
}

export interface AlertSession {
  provider: Provider;
  chainId: bigint;
  signer?: Signer;
  /** The contract's checksummed address. */
  address: string;
  feeds: AlertFeeds;
  chain: AlertFeedChain;
  /** The block AlertFeeds was deployed in, where event reads start (the network file's), if known. */
  fromBlock?: number;
  ref(feedId: number): AlertFeedRef;
}

/** Connects to AlertFeeds for the length of `use`, turning its reverts into AlertFeedsError. */
export async function withAlertFeeds<T>(command: string, flags: AlertFlags, use: (s: AlertSession) => Promise<T>): Promise<T> {
  const rpc = flags.network.rpc;
  if (rpc === undefined)
    throw new UsageError(`alerts ${command}: --rpc URL is required, or --network NAME|FILE; see 'mosaic alerts ${command} --help'`);
  const { address, flag, fromBlock } = feedsAddress(command, flags);
  return withContract(
    {
      rpc,
      rpcSource: flags.network.sources.rpc,
      address,
      flag,
      what: "AlertFeeds contract",
      walletKeyFile: flags.walletKeyFile,
      chainId: flags.network.chainId,
      networkFile: flags.network.networkFile,
    },
    (s) => {
      const feeds = AlertFeeds__factory.connect(s.address, s.signer ?? s.provider);
      return use({
        provider: s.provider,
        chainId: s.chainId,
        signer: s.signer,
        address: s.address,
        feeds,
        chain: alertFeedChain(feeds, { fromBlock }),
        fromBlock,
        ref: (feedId) => ({ chainId: Number(s.chainId), contract: s.address.toLowerCase(), feedId }),
      });
    },
    (err) => {
      const revert = decodeRevert(err, AlertFeeds__factory.createInterface());
      if (revert === undefined) return err;
      const advice = REVERT_ADVICE[revert.name];
      return new AlertFeedsError(revert.name, `AlertFeeds refused: ${revert.name}(${revert.args})${advice ? `: ${advice}` : ""}`);
    },
  );
}

function needSigner(command: string, s: AlertSession): Signer {
  if (s.signer === undefined)
    throw new UsageError(`alerts ${command}: --wallet-key-file FILE is required: this command signs with an editor's key`);
  return s.signer;
}

/** Parses a feed id flag (AlertFeeds numbers feeds 1, 2, …). */
export function parseAlertFeedId(value: string, flag = "--feed"): number {
  if (!/^[1-9][0-9]{0,14}$/.test(value)) throw new RangeError(`${flag}: expected a feed id (1, 2, …), got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses --editor values (each an address, or several comma-separated): distinct, returned sorted ascending as the contract wants. */
export function parseEditors(values: readonly string[], flag = "--editor"): string[] {
  const editors = values.flatMap((v) => v.split(",")).map((v) => v.trim());
  if (editors.length === 0) throw new UsageError(`${flag} ADDRESS is required (one per editor, or comma-separated)`);
  const seen = new Set<string>();
  for (const e of editors) {
    if (!isAddress(e)) throw new RangeError(`${flag}: expected an address (0x and 40 hex characters), got ${JSON.stringify(e)}`);
    const key = e.toLowerCase();
    if (seen.has(key)) throw new RangeError(`${flag}: ${getAddress(e)} is given twice`);
    seen.add(key);
  }
  return sortAddresses(editors.map((e) => getAddress(e)));
}

const sortAddresses = (addresses: string[]): string[] =>
  [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));

/** The feed's head and its current editors; an unknown feed is AlertFeedsError("UnknownFeed"). */
async function feedState(s: AlertSession, feedId: number) {
  if (BigInt(feedId) > (await s.feeds.feedCount()))
    throw new AlertFeedsError("UnknownFeed", `AlertFeeds has no feed ${feedId}: ${REVERT_ADVICE.UnknownFeed}`);
  const head = await s.chain.headOf(feedId);
  const { editors, threshold } = await s.chain.editorsAt(feedId, head.epoch);
  return { head, editors, threshold };
}

async function checkEditor(signer: Signer, feedId: number, epoch: number, editors: string[]): Promise<string> {
  const me = getAddress(await signer.getAddress());
  if (!editors.some((e) => e.toLowerCase() === me.toLowerCase()))
    throw new NotFeedEditorError(
      `--wallet-key-file holds ${me}, who is not an editor of feed ${feedId} (epoch ${epoch}: ${editors.join(", ")}); nothing was signed`,
    );
  return me;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

/** A CAP date-time for unix seconds, in UTC ("2026-12-05T10:00:00+00:00": CAP forbids "Z"). */
export function capTimeOf(unixS: number): string {
  return `${new Date(unixS * 1000).toISOString().slice(0, 19)}+00:00`;
}

// ---------------------------------------------------------------------------------------------------------------
// An alert in words

/**
 * Text from an alert made safe to print ({@link printableText}): an alert cannot rewrite what a terminal shows around
 * it — a headline with a CR could otherwise print over itself. One argument, so it can be given to `map`.
 */
const printable = (text: string): string => printableText(text);

const fmtDeg = (x: number): string => String(Number(x.toFixed(4)));
const fmtKm2 = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x >= 1 ? x.toFixed(1) : x.toPrecision(2));

const boxText = (b: BoundingBox): string => `lat ${fmtDeg(b.minLat)}..${fmtDeg(b.maxLat)}, lon ${fmtDeg(b.minLon)}..${fmtDeg(b.maxLon)}`;

/** One CAP area in words: its description, each polygon's and circle's extent and size, geocodes, altitude. */
function describeArea(area: CapArea, indent: string): string[] {
  const p = printable;
  const lines = [`${indent}area: ${p(area.areaDesc)}`];
  const shape = areaShape(area);
  shape.polygons.forEach((poly, i) => {
    const lats = poly.map((q) => q.lat);
    const lons = poly.map((q) => q.lon);
    const box = { minLat: Math.min(...lats), maxLat: Math.max(...lats), minLon: Math.min(...lons), maxLon: Math.max(...lons) };
    lines.push(`${indent}  polygon ${i + 1}: ${poly.length - 1} corners, ${boxText(box)}, about ${fmtKm2(polygonAreaKm2(poly))} km²`);
  });
  for (const c of shape.circles)
    lines.push(
      `${indent}  circle: centre ${fmtDeg(c.center.lat)},${fmtDeg(c.center.lon)}, radius ${c.radiusKm} km, about ${fmtKm2(circleAreaKm2(c.radiusKm))} km²`,
    );
  if (shape.bbox !== undefined && shape.polygons.length + shape.circles.length > 1)
    lines.push(`${indent}  all shapes within ${boxText(shape.bbox)}`);
  for (const g of area.geocode) lines.push(`${indent}  geocode ${p(g.valueName)} = ${p(g.value)}`);
  if (area.polygon.length + area.circle.length === 0)
    lines.push(`${indent}  no polygon or circle: matched by geocode only (a vault cannot place it)`);
  if (area.altitude !== undefined)
    lines.push(`${indent}  altitude ${p(area.altitude)} ft${area.ceiling === undefined ? "" : `, ceiling ${p(area.ceiling)} ft`}`);
  return lines;
}

/**
 * The alert as a person reads it before signing (and after publishing): kind, sender, every text field (headline,
 * description, instruction, web, contact, parameters, resources, …), times, and each area's extent — every polygon's
 * bounding box and approximate size, every circle's centre and radius — so two alerts that differ anywhere a reader
 * sees read differently. Text from the alert is escaped ({@link printable}).
 */
export function describeCap(cap: CapAlert): string[] {
  const p = printable;
  const lines = [
    `${cap.msgType.toUpperCase()} (${cap.status}, ${cap.scope}) from ${p(cap.sender)}, sent ${p(cap.sent)}, id ${p(cap.identifier)}`,
  ];
  const opt = (label: string, v: string | undefined, indent = "  ") => {
    if (v !== undefined) lines.push(`${indent}${label}: ${p(v)}`);
  };
  if (cap.references !== undefined) lines.push(`  ${cap.msgType === "Cancel" ? "cancels" : "refers to"}: ${p(cap.references)}`);
  opt("note", cap.note);
  opt("source", cap.source);
  opt("restriction", cap.restriction);
  opt("addresses", cap.addresses);
  if (cap.code.length > 0) lines.push(`  code: ${cap.code.map(p).join(", ")}`);
  opt("incidents", cap.incidents);
  for (const info of cap.info) {
    lines.push(
      `  ${info.headline === undefined ? p(info.event) : `"${p(info.headline)}"`}${info.language === undefined ? "" : ` [${p(info.language)}]`}`,
    );
    lines.push(
      `    event ${p(info.event)} (${info.category.join(", ")}): severity ${info.severity}, urgency ${info.urgency}, certainty ${info.certainty}`,
    );
    if (info.responseType.length > 0) lines.push(`    response: ${info.responseType.join(", ")}`);
    const from = info.onset ?? info.effective;
    lines.push(
      `    ${from === undefined ? "from when sent" : `from ${p(from)}`}${info.expires === undefined ? "" : ` until ${p(info.expires)}`}${info.effective !== undefined && info.onset !== undefined ? ` (effective ${p(info.effective)})` : ""}`,
    );
    opt("sender name", info.senderName, "    ");
    opt("audience", info.audience, "    ");
    opt("description", info.description, "    ");
    opt("what to do", info.instruction, "    ");
    opt("web", info.web, "    ");
    opt("contact", info.contact, "    ");
    for (const c of info.eventCode) lines.push(`    event code ${p(c.valueName)} = ${p(c.value)}`);
    for (const q of info.parameter) lines.push(`    parameter ${p(q.valueName)} = ${p(q.value)}`);
    for (const r of info.resource)
      lines.push(
        `    resource: ${p(r.resourceDesc)} (${p(r.mimeType)}${r.size === undefined ? "" : `, ${p(r.size)} bytes`})${r.uri === undefined ? "" : ` ${p(r.uri)}`}${r.derefUri === undefined ? "" : `, embedded ${r.derefUri.length} base64 characters`}${r.digest === undefined ? "" : `, sha1 ${p(r.digest)}`}`,
      );
    for (const area of info.area) lines.push(...describeArea(area, "    "));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// Feeds and editors

export async function feedCreate(flags: AlertFlags & { editors: string[]; threshold: number }) {
  if (flags.threshold > flags.editors.length)
    throw new RangeError(`--threshold: expected 1..${flags.editors.length} (the number of editors), got ${flags.threshold}`);
  return withAlertFeeds("feed create", flags, async (s) => {
    const signer = needSigner("feed create", s);
    const receipt = await (await s.feeds.connect(signer).createFeed(flags.editors, flags.threshold)).wait();
    const feedId = Number(findEvent(receipt, s.feeds.interface, "FeedCreated").args.feedId as bigint);
    return { feedId, editors: flags.editors, threshold: flags.threshold, txHash: receipt?.hash ?? "" };
  });
}

export interface EditorsResult {
  feedId: number;
  epoch: number;
  editors: string[];
  threshold: number;
  /** Entries anchored so far. */
  seq: number;
  /** With --set: what happened to the rotation. */
  rotation?: Completion;
}

/** The feed's editors; with `set`, signs a rotation to `set` (and sends it once enough editors signed). */
export async function feedEditors(
  flags: AlertFlags & {
    feedId: number;
    set?: { editors: string[]; threshold: number };
    draftFile?: string;
    peers: string[];
    dataDir: string;
  },
): Promise<EditorsResult> {
  const set = flags.set;
  if (set !== undefined && set.threshold > set.editors.length)
    throw new RangeError(`--threshold: expected 1..${set.editors.length} (the number of editors in --set), got ${set.threshold}`);
  return withAlertFeeds("feed editors", flags, async (s) => {
    const { head, editors, threshold } = await feedState(s, flags.feedId);
    const current = { feedId: flags.feedId, epoch: head.epoch, editors, threshold, seq: head.seq };
    if (set === undefined) return current;
    const signer = needSigner("feed editors", s);
    await checkEditor(signer, flags.feedId, head.epoch, editors);
    const draft = await addSignature(
      {
        v: 1,
        kind: "editors",
        feed: s.ref(flags.feedId),
        epoch: head.epoch,
        editors: set.editors,
        threshold: set.threshold,
        signatures: [],
      },
      signer,
    );
    const rotation = await complete(s, draft, {
      draftFile: flags.draftFile ?? `feed-${flags.feedId}-epoch-${head.epoch}-editors.draft.json`,
      dataDir: flags.dataDir,
      peers: flags.peers,
      threshold,
    });
    return { ...current, rotation };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Publishing: entries, drafts, anchoring, announcing

/** What became of a signed draft: anchored (and announced), or written for the next editor. */
export type Completion =
  | { status: "draft"; draft: string; signatures: number; needed: number }
  | {
      status: "anchored";
      seq: number;
      cid: string;
      txHash: string;
      replicas: number;
      kept: string;
      /**
       * True when our transaction failed but the chain holds this very entry at `seq`: someone else's transaction
       * anchored it (a copy of ours from the mempool, or another editor completing the draft); it was announced anyway.
       */
      anchoredByOther?: true;
    }
  | { status: "rotated"; epoch: number; editors: string[]; threshold: number; txHash: string };

interface CompleteContext {
  draftFile: string;
  dataDir: string;
  peers: string[];
  /** The threshold of the draft's epoch. */
  threshold: number;
}

/** Anchors and announces an entry draft (or sends an editors draft) signed by enough editors; writes it for the next editor otherwise. */
async function complete(s: AlertSession, draft: AlertDraft, ctx: CompleteContext): Promise<Completion> {
  const signatures = draft.signatures.map((h) => getBytes(h));
  // An entry's block is kept in this editor's --data-dir at every signature, before anything is written or sent:
  // whoever anchors it in the end (the last editor, a copy of that transaction, a rogue last signer), every editor
  // who signed holds the block a follower needs and can serve or announce it ('alerts announce').
  const block = draft.kind === "entry" ? draftEntry(draft).block : undefined;
  if (block !== undefined) await keepBlock(ctx.dataDir, block);
  if (signatures.length < ctx.threshold) {
    await writeFileAtomic(ctx.draftFile, encodeDraft(draft));
    return { status: "draft", draft: ctx.draftFile, signatures: signatures.length, needed: ctx.threshold };
  }
  const { editors } = await s.chain.editorsAt(draft.feed.feedId, draft.epoch);
  // Checked here as the contract would: a foreign or damaged signature is named and nothing is sent.
  checkSignatures(draftDigest(draft), signatures, { editors, threshold: ctx.threshold });
  const signer = s.signer as Signer;
  if (draft.kind === "editors") {
    const tx = await s.feeds.connect(signer).setEditors(draft.feed.feedId, draft.editors, draft.threshold, signatures);
    await tx.wait();
    return { status: "rotated", epoch: draft.epoch + 1, editors: draft.editors, threshold: draft.threshold, txHash: tx.hash };
  }
  const { entry } = draftEntry(draft);
  if (block === undefined) throw new TypeError("unreachable: an entry draft has a block");
  say(`anchoring entry ${draft.seq} of feed ${draft.feed.feedId} (${block.cid})…`);
  let txHash: string;
  let anchoredSigs = signatures;
  let anchoredByOther = false;
  try {
    const tx = await s.feeds.connect(signer).anchor(draft.feed.feedId, draft.seq, block.cid.bytes, signatures);
    await tx.wait();
    txHash = tx.hash;
  } catch (err) {
    // StaleSequence (or a reverted, dropped or unconfirmed transaction): the entry may be anchored all the same, by a
    // copy of our transaction sent first or by another editor. The chain says which.
    const other = await anchoredAt(s, draft.feed.feedId, draft.seq).catch(() => undefined);
    if (other === undefined || !other.entryCid.equals(block.cid)) throw err;
    say(`entry ${draft.seq} is anchored with this draft's CID by someone else's transaction (${other.txHash || "unknown"}); announcing it`);
    txHash = other.txHash;
    anchoredSigs = other.signatures;
    anchoredByOther = true;
  }
  const replicas = await keepAndAnnounce(ctx.dataDir, ctx.peers, { block, entry, signatures: anchoredSigs });
  return {
    status: "anchored",
    seq: draft.seq,
    cid: block.cid.toString(),
    txHash,
    replicas,
    kept: blocksDir(ctx.dataDir),
    ...(anchoredByOther ? { anchoredByOther: true as const } : {}),
  };
}

/** Entry `seq` as the chain anchored it: its CID, the signatures and (best effort) the transaction; undefined when not anchored. */
async function anchoredAt(
  s: AlertSession,
  feedId: number,
  seq: number,
): Promise<{ entryCid: CID; signatures: Uint8Array[]; txHash: string } | undefined> {
  const a = (await s.chain.anchored(feedId, seq, seq)).get(seq);
  if (a === undefined) return undefined;
  const events = await s.feeds.queryFilter(s.feeds.filters.AlertAnchored(feedId, seq), s.fromBlock ?? 0).catch(() => []);
  return { entryCid: a.entryCid, signatures: a.signatures, txHash: events.at(-1)?.transactionHash ?? "" };
}

/** Keeps the entry block in the editor's blockstore (what `alerts serve --data-dir` serves) and announces it to the replicas. */
async function keepAndAnnounce(
  dataDir: string,
  peers: string[],
  e: { block: { cid: CID; bytes: Uint8Array }; entry: AlertEntry; signatures: Uint8Array[] },
): Promise<number> {
  if (peers.length === 0) return 0;
  return withDataDirNode(dataDir, peers, async (node, answered) => {
    if (answered === 0) {
      say(`  none of the ${peers.length} peer(s) answered`);
      return 0;
    }
    say("announcing to the replicas…");
    return await announceEntry(
      node,
      { v: 1, feed: e.entry.feed, seq: e.entry.seq, epoch: e.entry.epoch, entry: e.block.bytes, signatures: e.signatures },
      { timeoutMs: 10_000 },
    ).catch((err: Error) => {
      say(`  announcing failed: ${err.name}: ${err.message}`);
      return 0;
    });
  });
}

/** Reads and parses a CAP file: a damaged one (InvalidCapError, UnclosedPolygonError, …) is named before anything is signed. */
async function readCapFile(file: string): Promise<CapAlert> {
  return parseCap(await readInputFile(file, ""));
}

/** A file the command line names, as text: UsageError ("<prefix>FILE does not exist") when it is not there. */
async function readInputFile(file: string, prefix: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`${prefix}${file} does not exist`);
    throw err;
  }
}

interface PublishCommon extends AlertFlags {
  feedId: number;
  dataDir: string;
  peers: string[];
  /** Where a draft that needs more signatures goes. @default feed-N-seq-S.draft.json */
  draftFile?: string;
  /** Publish a CAP message whose key the feed already holds (with a warning). @default false */
  force?: boolean;
}

/**
 * Refuses a CAP message whose key (sender, identifier, sent) the feed already holds (DuplicateCapKeyError): a later
 * Update or Cancel referencing that key applies to every copy, which is rarely what a re-sent file meant. Reads the
 * feed from --data-dir's blockstore and the peers, each entry checked as a follower would; with --force, warns.
 */
async function refuseKnownKey(s: AlertSession, flags: PublishCommon, cap: CapAlert, headSeq: number): Promise<void> {
  if (headSeq === 0) return;
  const key = capKey(cap);
  const entries = await withDataDirNode(flags.dataDir, flags.peers, async (node): Promise<VerifiedEntry[] | undefined> => {
    try {
      const read = await withProgress("reading the feed for this message's key", "entries", (p) =>
        syncFeedSkipping(s.ref(flags.feedId), s.chain, blockGetter(node), { onProgress: (d, t) => p.update(d, t) }),
      );
      // Entries no reader can accept (gaps) hold no key anyone honours; a withheld one might.
      if (read.unavailable !== undefined) throw read.unavailable;
      return read.entries;
    } catch (err) {
      if (flags.force === true) {
        say(
          `warning: the feed could not be read to check for ${printable(key)} (${(err as Error).name}); published without the check (--force)`,
        );
        return undefined;
      }
      throw Object.assign(err as Error, {
        message: `${(err as Error).message}; publish reads the feed first to refuse a CAP message it already holds: give --peer a replica that holds it ('mosaic alerts serve' prints its address), or --force to publish without the check`,
      });
    }
  });
  if (entries === undefined) return;
  const same = entries.filter((e) => capKey(e.entry.cap) === key).map((e) => e.seq);
  if (same.length === 0) return;
  const why = `feed ${flags.feedId} already holds this CAP message (${printable(key)}) as entr${same.length === 1 ? "y" : "ies"} ${same.join(", ")}`;
  if (flags.force !== true)
    throw new DuplicateCapKeyError(
      `${why}: an Update or Cancel of that key would apply to every copy; give the message a new identifier (or sent time), or --force to publish it again; nothing was signed`,
    );
  say(`warning: ${why}; publishing it again (--force): an Update or Cancel of that key applies to every copy`);
}

/** Builds the feed's next entry around `cap`, signs it, and anchors and announces it or writes the draft. */
async function publishCap(command: string, s: AlertSession, flags: PublishCommon, cap: (state: FeedStateOf) => Promise<CapAlert>) {
  const signer = needSigner(command, s);
  const state = await feedState(s, flags.feedId);
  const { head, editors, threshold } = state;
  await checkEditor(signer, flags.feedId, head.epoch, editors);
  const seq = head.seq + 1;
  const entry: AlertEntry = { v: 1, feed: s.ref(flags.feedId), seq, epoch: head.epoch, prev: head.entryCid, cap: await cap(state) };
  await refuseKnownKey(s, flags, entry.cap, head.seq);
  const block = encodeEntry(entry);
  const draft = await addSignature(
    { v: 1, kind: "entry", feed: entry.feed, epoch: head.epoch, seq, entry: base64(block.bytes), signatures: [] },
    signer,
  );
  const completion = await complete(s, draft, {
    draftFile: flags.draftFile ?? `feed-${flags.feedId}-seq-${seq}.draft.json`,
    dataDir: flags.dataDir,
    peers: flags.peers,
    threshold,
  });
  return { feedId: flags.feedId, seq, cid: block.cid.toString(), alert: describeCap(entry.cap), ...completion };
}

type FeedStateOf = Awaited<ReturnType<typeof feedState>>;

export type PublishResult = Awaited<ReturnType<typeof publishCap>>;

export async function alertsPublish(flags: PublishCommon & { capFile: string }): Promise<PublishResult> {
  const cap = await readCapFile(flags.capFile);
  return withAlertFeeds("publish", flags, (s) => publishCap("publish", s, flags, async () => cap));
}

/** Reads entry `seq` of a feed: from the editor's blockstore, or over bitswap from the peers. */
async function readEntry(s: AlertSession, feedId: number, seq: number, dataDir: string, peers: string[]): Promise<AlertEntry> {
  const anchored = (await s.chain.anchored(feedId, seq, seq)).get(seq);
  if (anchored === undefined) throw new RangeError(`--seq: feed ${feedId} has no entry ${seq}`);
  return withDataDirNode(dataDir, peers, async (node) => {
    const bytes = await getBlock(node.blockstore, anchored.entryCid, {
      maxBytes: MAX_ENTRY_BYTES,
      signal: AbortSignal.timeout(30_000),
    }).catch((err: Error) => {
      throw Object.assign(err, {
        message: `${err.message}; give --peer a replica of the feed ('mosaic alerts serve' prints its address), or --data-dir the directory this entry was published from`,
      });
    });
    return decodeEntry(bytes, anchored.entryCid);
  });
}

/** Publishes a CAP Cancel of entry `seq` (same sender, status and scope; references it). */
export async function alertsCancel(flags: PublishCommon & { seq: number; note?: string; now: number }): Promise<PublishResult> {
  return withAlertFeeds("cancel", flags, (s) =>
    publishCap("cancel", s, flags, async ({ head }) => {
      if (flags.seq > head.seq) throw new RangeError(`--seq: feed ${flags.feedId} has entries 1..${head.seq}, not ${flags.seq}`);
      const { cap } = await readEntry(s, flags.feedId, flags.seq, flags.dataDir, flags.peers);
      if (cap.msgType === "Cancel") throw new RangeError(`--seq: entry ${flags.seq} is itself a cancellation`);
      const cancel: CapAlert = {
        identifier: `${cap.identifier}.cancel.${flags.now}`.slice(0, 200),
        sender: cap.sender,
        sent: capTimeOf(flags.now),
        status: cap.status,
        msgType: "Cancel",
        scope: cap.scope,
        ...(cap.restriction === undefined ? {} : { restriction: cap.restriction }),
        ...(cap.addresses === undefined ? {} : { addresses: cap.addresses }),
        code: [],
        ...(flags.note === undefined ? {} : { note: flags.note }),
        references: capKey(cap),
        info: [],
      };
      return cancel;
    }),
  );
}

export interface SignResult {
  feedId: number;
  kind: AlertDraft["kind"];
  /** What was signed, in words. */
  alert: string[];
  /** With --xml: the entry's CAP message in full. */
  xml?: string;
  signer: string;
  completion: Completion;
}

/**
 * Signs a draft another editor made: checks it is for this chain and contract, the feed's next position (else
 * StaleDraftError: publish again) and that its signatures are the epoch's editors', shows it in words, asks (or
 * --yes), adds this editor's signature, and anchors and announces once the threshold is met.
 */
export async function alertsSign(
  flags: AlertFlags & {
    draftFile: string;
    out?: string;
    dataDir: string;
    peers: string[];
    yes: boolean;
    /** Also print the entry's full CAP XML before asking. @default false */
    xml?: boolean;
  },
): Promise<SignResult> {
  const draft = await readDraftFile("sign", flags.draftFile);
  if (!flags.yes && process.stdin.isTTY !== true)
    throw new UsageError("sign: stdin is not a terminal to ask on: read the draft's alert, then sign with --yes");
  return withAlertFeeds("sign", flags, async (s) => {
    const signer = needSigner("sign", s);
    const ref = draftFeed(s, draft, flags.draftFile);
    const { head, editors, threshold } = await feedState(s, draft.feed.feedId);
    const stale = (why: string) =>
      new StaleDraftError(
        `${flags.draftFile}: ${why}, so no signature on it can count; ${draft.kind === "entry" ? "run 'mosaic alerts publish' (or cancel) again" : "run 'mosaic alerts feed editors --set' again"} for a fresh draft`,
      );
    if (draft.epoch !== head.epoch) throw stale(`it was made for editor epoch ${draft.epoch}, the feed is at epoch ${head.epoch}`);
    let words: string[];
    let xml: string | undefined;
    if (draft.kind === "entry") {
      const { entry, block } = draftEntry(draft);
      if (draft.seq !== head.seq + 1) {
        const held = draft.seq <= head.seq ? await anchoredAt(s, draft.feed.feedId, draft.seq).catch(() => undefined) : undefined;
        if (held?.entryCid.equals(block.cid))
          throw new StaleDraftError(
            `${flags.draftFile}: entry ${draft.seq} is anchored already with this draft's entry (${block.cid}), so it needs no more signatures; run 'mosaic alerts announce ${flags.draftFile}' to keep its block in --data-dir and announce it to the replicas`,
          );
        throw stale(`it is entry ${draft.seq}, but the feed's next entry is ${head.seq + 1} (entry ${draft.seq} is anchored already)`);
      }
      if (
        entry.seq !== draft.seq ||
        entry.epoch !== draft.epoch ||
        entry.feed.feedId !== draft.feed.feedId ||
        entry.feed.contract !== ref.contract ||
        entry.feed.chainId !== ref.chainId
      )
        throw new WrongFeedError(`${flags.draftFile}: the entry inside names another feed, epoch or position than the draft`);
      if ((entry.prev?.toString() ?? null) !== (head.entryCid?.toString() ?? null))
        throw stale(`its entry follows ${entry.prev ?? "nothing"}, not the feed's head ${head.entryCid ?? "(empty)"}`);
      words = describeCap(entry.cap);
      if (flags.xml === true) xml = renderCap(entry.cap);
    } else {
      words = [
        `EDITORS of feed ${draft.feed.feedId} from epoch ${draft.epoch + 1}: ${draft.threshold} of ${draft.editors.length}`,
        ...draft.editors.map((e) => `  ${e}${editors.some((x) => x.toLowerCase() === e.toLowerCase()) ? "" : "  (new)"}`),
        ...editors.filter((e) => !draft.editors.some((x) => x.toLowerCase() === e.toLowerCase())).map((e) => `  ${e}  (leaves)`),
      ];
    }
    // The signatures already on the draft must be the epoch's editors' (a foreign one is named; nothing is signed).
    const { signers: signed } = checkDraft(draft, { editors, threshold });
    const me = await checkEditor(signer, draft.feed.feedId, head.epoch, editors);
    if (xml !== undefined) say(xml);
    say(words.join("\n"));
    say(`signed so far by ${signed.length} of the ${threshold} needed${signed.length > 0 ? `: ${signed.join(", ")}` : ""}`);
    if (!flags.yes && !(await askYes(`Sign this as ${me}? [y/N] `))) throw new SigningDeclinedError("you declined; nothing was signed");
    const next = await addSignature(draft, signer);
    const completion = await complete(s, next, {
      draftFile: flags.out ?? flags.draftFile,
      dataDir: flags.dataDir,
      peers: flags.peers,
      threshold,
    });
    return { feedId: draft.feed.feedId, kind: draft.kind, alert: words, ...(xml === undefined ? {} : { xml }), signer: me, completion };
  });
}

async function readDraftFile(command: string, file: string): Promise<AlertDraft> {
  return parseDraft(await readInputFile(file, `${command}: `));
}

/** The feed a draft is for, as this session's contract and chain name it: WrongFeedError when the draft names another. */
function draftFeed(s: AlertSession, draft: AlertDraft, draftFile: string): AlertFeedRef {
  const ref = s.ref(draft.feed.feedId);
  if (draft.feed.chainId !== ref.chainId || draft.feed.contract !== ref.contract)
    throw new WrongFeedError(
      `${draftFile} is for AlertFeeds ${draft.feed.contract} on chain ${draft.feed.chainId}, not ${ref.contract} on chain ${ref.chainId}; give the draft's network`,
    );
  return ref;
}

export interface AnnounceResult {
  feedId: number;
  seq: number;
  completion: Extract<Completion, { status: "anchored" }>;
}

/**
 * Keeps and announces an entry draft that the chain anchored, whoever's transaction did it: a draft completed by a
 * rogue last signer who told nobody, or an anchoring whose sender's CLI failed. Checks the entry anchored at the
 * draft's seq is the draft's (EntryNotAnchoredError when none is; StaleDraftError when another is), puts its block in
 * --data-dir's blockstore ('alerts serve --data-dir' serves it) and announces it with the anchored signatures.
 */
export async function alertsAnnounce(flags: AlertFlags & { draftFile: string; dataDir: string; peers: string[] }): Promise<AnnounceResult> {
  const draft = await readDraftFile("announce", flags.draftFile);
  if (draft.kind !== "entry")
    throw new UsageError(`announce: ${flags.draftFile} is an editors draft; only an entry draft has a block to announce`);
  return withAlertFeeds("announce", { ...flags, walletKeyFile: undefined }, async (s) => {
    draftFeed(s, draft, flags.draftFile);
    const { entry, block } = draftEntry(draft);
    const { head } = await feedState(s, draft.feed.feedId);
    const anchored = draft.seq <= head.seq ? await anchoredAt(s, draft.feed.feedId, draft.seq) : undefined;
    if (anchored === undefined)
      throw new EntryNotAnchoredError(
        `entry ${draft.seq} of feed ${draft.feed.feedId} is not anchored (the feed has ${head.seq}); nothing was announced — once enough editors signed ('mosaic alerts sign ${path.basename(flags.draftFile)}') it is, and announced`,
      );
    if (!anchored.entryCid.equals(block.cid))
      throw new StaleDraftError(
        `entry ${draft.seq} of feed ${draft.feed.feedId} was anchored as ${anchored.entryCid}, not this draft's ${block.cid}; nothing was announced`,
      );
    await keepBlock(flags.dataDir, block);
    const replicas = await keepAndAnnounce(flags.dataDir, flags.peers, { block, entry, signatures: anchored.signatures });
    return {
      feedId: draft.feed.feedId,
      seq: draft.seq,
      completion: {
        status: "anchored" as const,
        seq: draft.seq,
        cid: block.cid.toString(),
        txHash: anchored.txHash,
        replicas,
        kept: blocksDir(flags.dataDir),
      },
    };
  });
}

export function formatAnnounce(r: AnnounceResult): string {
  return `the chain holds this draft's entry: ${formatCompletion(r.completion, r.feedId)}`;
}

async function askYes(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function formatCompletion(c: Completion, feedId: number): string {
  switch (c.status) {
    case "draft":
      return `signed: ${c.signatures} of the ${c.needed} signatures needed; wrote ${c.draft}.
Give it to another editor of feed ${feedId}, who runs 'mosaic alerts sign ${path.basename(c.draft)}'.`;
    case "rotated":
      return `the editors of feed ${feedId} changed (tx ${c.txHash}): epoch ${c.epoch}, ${c.threshold} of ${c.editors.join(", ")}.
Drafts made before are stale now; signatures by the editors who left no longer count.`;
    case "anchored": {
      const reach =
        c.replicas > 0
          ? `announced to ${c.replicas} replica(s).`
          : `no replica got the announcement (none reached: give --peer a replica's address, 'mosaic alerts serve' prints it).
Replicas that follow the feed see the new head on-chain and fetch the entry from a node holding it: the block is kept in
${c.kept}; run 'mosaic alerts serve --feed ${feedId} --data-dir ${path.dirname(c.kept)}' so they can.`;
      const by = c.anchoredByOther ? " (by someone else's transaction: ours failed, the chain holds this entry all the same)" : "";
      return `anchored${by} entry ${c.seq} of feed ${feedId}: ${c.cid} (tx ${c.txHash || "unknown"}); ${reach}`;
    }
  }
}

export function formatPublish(r: PublishResult): string {
  return [...r.alert, formatCompletion(r as Completion, r.feedId)].join("\n");
}

export function formatSign(r: SignResult): string {
  return `signed as ${r.signer}\n${formatCompletion(r.completion, r.feedId)}`;
}

export function formatEditors(r: EditorsResult): string {
  const lines = [
    `feed ${r.feedId}: epoch ${r.epoch}, ${r.threshold} of ${r.editors.length} editors must sign; ${r.seq} entr${r.seq === 1 ? "y" : "ies"} anchored`,
    ...r.editors.map((e) => `  ${e}`),
  ];
  if (r.rotation !== undefined) lines.push(formatCompletion(r.rotation, r.feedId));
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// A vault's side: follow and list

export async function alertsFollow(access: VaultAccess & AlertFlags & { feedId: number }) {
  return withAlertFeeds("follow", access, async (s) => {
    await feedState(s, access.feedId);
    const ref = s.ref(access.feedId);
    return withVault(access, async ({ vault }) => {
      await followAlertFeed(vault, ref);
      return { following: followedAlertFeeds(vault) };
    });
  });
}

export interface ListedAlert {
  feedId: number;
  seq: number;
  cid: string;
  key: string;
  state: string;
  msgType: string;
  headline?: string;
  event?: string;
  severity?: string;
  sent: string;
  expires?: string;
  areas: string[];
  /** Only in a vault's inbox: whether the alert concerns this vault's owner, and why. */
  concerns?: boolean;
  reasons?: string[];
  by?: { seq: number; key: string };
  xml?: string;
}

export interface ListResult {
  /** "inbox": the vault's; "feed": the public feed as a replica serves it. */
  source: "inbox" | "feed";
  feeds: number;
  added?: number;
  /** Followed feeds that could not be brought up to date (FeedUnavailableError: the entries before the block were stored). */
  failed?: { feedId: number; error: string; message: string }[];
  /** With --feed: the block the sync stopped at (withheld, or other bytes served); the alerts before it are listed. */
  unavailable?: { seq: number; error: string; message: string };
  /** Anchored entries that can never be read (a bad entry the editors anchored): skipped, each named with why. */
  gaps: ListedGap[];
  alerts: ListedAlert[];
}

export interface ListedGap {
  feedId: number;
  seq: number;
  /** The CID anchored for it. */
  cid: string;
  /** The error's name: InvalidCapError, MalformedEntryError, … */
  error: string;
  reason: string;
}

/** How long one entry block may take to arrive from the replicas before the feed is reported unavailable. */
const BLOCK_TIMEOUT_MS = 30_000;

/**
 * The entry blocks, fetched from the peers dialled (syncFeed checks each against the CID anchored). A block no peer
 * holds would be waited for forever: each has a deadline, whatever signal syncFeed passes.
 */
const blockGetter = (node: IpfsNode) => ({
  get: (cid: CID, options: { signal?: AbortSignal } = {}) => {
    const deadline = AbortSignal.timeout(BLOCK_TIMEOUT_MS);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
    return getBlock(node.blockstore, cid, { maxBytes: MAX_ENTRY_BYTES, signal });
  },
});

function listed(item: FeedItem, feedId: number, xml: boolean): ListedAlert {
  const info = item.cap.info[0];
  return {
    feedId,
    seq: item.seq,
    cid: item.cid,
    key: item.key,
    state: item.state,
    msgType: item.cap.msgType,
    ...(info?.headline === undefined ? {} : { headline: info.headline }),
    ...(info === undefined ? {} : { event: info.event, severity: info.severity }),
    sent: item.cap.sent,
    ...(info?.expires === undefined ? {} : { expires: info.expires }),
    areas: item.cap.info.flatMap((i) => i.area.map((a) => a.areaDesc)),
    ...(item.by === undefined ? {} : { by: item.by }),
    ...(xml ? { xml: renderCap(item.cap) } : {}),
  };
}

export async function alertsList(
  access: VaultAccess & AlertFlags & { feedId?: number; all: boolean; xml: boolean; peers: string[]; now: number },
): Promise<ListResult> {
  const peers = [...access.peers, ...access.network.bootstrap];
  return withAlertFeeds("list", access, (s) =>
    withIpfs(peers, async (node) => {
      const blocks = blockGetter(node);
      if (access.feedId !== undefined) {
        const feedId = access.feedId;
        await feedState(s, feedId);
        const { entries, gaps, unavailable } = await withProgress("syncing the feed", "entries", (p) =>
          syncFeedSkipping(s.ref(feedId), s.chain, blocks, { onProgress: (d, t) => p.update(d, t) }),
        );
        if (unavailable !== undefined)
          say(
            `feed ${feedId}: stopped at entry ${unavailable.seq}: ${unavailable.name}: ${unavailable.message} (give --peer a replica that holds it: 'mosaic alerts serve' prints its address); the ${entries.length} entr${entries.length === 1 ? "y" : "ies"} before it are listed`,
          );
        // As the inbox shows them: what stands (active, expired); the rest with --all.
        const items = feedView(entries, access.now).filter((i) => access.all || i.state === "active" || i.state === "expired");
        return {
          source: "feed" as const,
          feeds: 1,
          ...(unavailable === undefined
            ? {}
            : { unavailable: { seq: unavailable.seq, error: unavailable.name, message: unavailable.message } }),
          gaps: gaps.map((g) => ({ feedId, seq: g.seq, cid: g.cid.toString(), error: g.error, reason: g.reason })),
          alerts: items.map((i) => listed(i, feedId, access.xml)),
        };
      }
      return withVault(access, async ({ vault }) => {
        const ref = s.ref(1);
        const synced = await withProgress("syncing followed feeds", "entries", (p) =>
          syncAlerts(
            vault,
            { chain: s.chain, blocks },
            { on: { chainId: ref.chainId, contract: ref.contract }, onProgress: (d: number, t: number) => p.update(d, t) },
          ),
        );
        for (const f of synced.failed)
          say(
            f.error.name === "FeedUnavailableError"
              ? `feed ${f.feed.feedId} is not up to date: ${f.error.name}: ${f.error.message} (give --peer a replica that holds it: 'mosaic alerts serve' prints its address); the entries before it were stored`
              : `feed ${f.feed.feedId} could not be synced: ${f.error.name}: ${f.error.message}`,
          );
        const inbox = alertInbox(vault, { all: access.all, nowS: access.now });
        return {
          source: "inbox" as const,
          feeds: synced.feeds,
          added: synced.added,
          failed: synced.failed.map((f) => ({ feedId: f.feed.feedId, error: f.error.name, message: f.error.message })),
          // Every gap the vault holds for the feeds on this contract (kept with each feed's head, never fetched again).
          gaps: alertFeedGaps(vault)
            .filter((g) => g.feed.chainId === ref.chainId && g.feed.contract === ref.contract)
            .map((g) => ({ feedId: g.feed.feedId, seq: g.seq, cid: g.cid, error: g.error, reason: g.reason })),
          alerts: inbox.map(
            (d): ListedAlert => ({
              feedId: d.feed.feedId,
              seq: d.seq,
              cid: d.cid,
              key: d.key,
              state: d.state,
              msgType: d.msgType,
              ...(d.headline === "" ? {} : { headline: d.headline }),
              event: d.event,
              severity: d.severity,
              sent: new Date(d.sent * 1000).toISOString(),
              ...(d.expires === undefined ? {} : { expires: new Date(d.expires * 1000).toISOString() }),
              areas: d.areas,
              concerns: d.concerns,
              reasons: d.reasons,
              ...(d.by === undefined ? {} : { by: d.by }),
              ...(access.xml && d.cap !== undefined ? { xml: renderCap(d.cap) } : {}),
            }),
          ),
        };
      });
    }),
  );
}

export function formatList(r: ListResult): string {
  if (r.alerts.some((a) => a.xml !== undefined)) return r.alerts.map((a) => a.xml).join("\n");
  const head =
    r.source === "inbox"
      ? `${r.alerts.length} alert(s) from ${r.feeds} followed feed(s)${r.added ? `, ${r.added} new` : ""}; matched on this device, nothing about it left the vault`
      : `${r.alerts.length} alert(s) in the feed, each checked against the head anchored on-chain`;
  const lines = [head];
  for (const a of r.alerts) {
    const mark = a.concerns === true ? "CONCERNS YOU" : a.concerns === false ? "not near you" : "";
    const state = a.state === "active" ? "" : ` [${a.state}${a.by === undefined ? "" : ` by #${a.by.seq}`}]`;
    lines.push(
      `#${a.seq} feed ${a.feedId}${state} ${a.msgType} ${a.severity ?? ""} ${printable(a.headline ?? a.event ?? a.key)}${mark === "" ? "" : `  — ${mark}`}`.replace(
        / +/g,
        " ",
      ),
    );
    if (a.areas.length > 0) lines.push(`    areas: ${a.areas.map(printable).join(", ")}`);
    lines.push(`    sent ${a.sent}${a.expires === undefined ? "" : `, expires ${a.expires}`}`);
    for (const why of a.reasons ?? []) lines.push(`    why: ${printable(why)}`);
  }
  for (const g of r.gaps)
    lines.push(`entry ${g.seq} of feed ${g.feedId} could not be read: ${g.error}: ${printable(g.reason)} (skipped; anchored as ${g.cid})`);
  if (r.unavailable !== undefined)
    lines.push(
      `stopped at entry ${r.unavailable.seq}: ${r.unavailable.error}: the entries after it are not listed; try again or give --peer another replica`,
    );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// A replica

export interface AlertServeOptions extends AlertFlags {
  feedIds: number[];
  dataDir: string;
  listen: string[];
  peers: string[];
  until: Promise<unknown>;
  print: (line: string) => void;
}

/** Runs a replica of `feedIds` until `until` resolves: prints its addresses, then one line per entry taken or refused. */
export async function alertsServe(o: AlertServeOptions): Promise<ReplicaHeads> {
  if (o.network.rpc === undefined)
    throw new UsageError("alerts serve: --rpc URL is required, or --network NAME|FILE; see 'mosaic alerts serve --help'");
  return runReplica(
    o,
    () => openServingNode(o.dataDir, o.listen),
    path.join(o.dataDir, "alerts-replica.json"),
    async () => {
      o.print("serving until Ctrl-C");
      await o.until;
    },
  );
}

type ReplicaHeads = { heads: { feedId: number; seq: number; cid: string }[] };

/**
 * What `alerts serve` and `vault serve --alerts` share: checks the feeds first, through the same connection checks
 * (WrongChainError, no contract) as every command; then runs a replica of `o.feedIds` on the node `openNode` makes,
 * dialling the peers, prints its addresses, and stops once `until()` resolves, with the heads it held.
 */
async function runReplica(
  o: AlertFlags & { feedIds: number[]; peers: string[]; print: (line: string) => void },
  openNode: () => Promise<IpfsNode>,
  stateFile: string | undefined,
  until: () => Promise<unknown>,
): Promise<ReplicaHeads> {
  const { address, chainId, fromBlock } = await withAlertFeeds("serve", { ...o, walletKeyFile: undefined }, async (s) => {
    for (const feedId of o.feedIds) await feedState(s, feedId);
    return { address: s.address, chainId: Number(s.chainId), fromBlock: feedsAddress("serve", o).fromBlock };
  });
  const chain = await connectChain({ rpcUrl: o.network.rpc as string, accounts: 0, source: o.network.sources.rpc ?? "--rpc" });
  let node: IpfsNode | undefined;
  try {
    node = await openNode();
    await dialPeers(node, [...o.peers, ...o.network.bootstrap]);
    const replica = await startReplica(node, {
      chainId,
      contract: address.toLowerCase(),
      feeds: AlertFeeds__factory.connect(address, chain.provider),
      fromBlock,
      feedIds: o.feedIds,
      stateFile,
      print: o.print,
    });
    for (const addr of nodeAddresses(node)) o.print(`alerts replica for feed(s) ${o.feedIds.join(", ")} at ${addr}`);
    await until();
    const heads = replica.heads();
    await replica.stop();
    return { heads };
  } finally {
    await node?.stop();
    await chain.close();
  }
}

/** Starts a replica of `feedIds` on `node`, printing each entry taken and each refused: `alerts serve` and `vault serve --alerts`. */
export async function startReplica(
  node: IpfsNode,
  o: {
    chainId: number;
    contract: string;
    feeds: AlertFeeds;
    fromBlock?: number;
    feedIds: number[];
    stateFile?: string;
    print: (line: string) => void;
  },
) {
  const replica = createAlertReplica({
    ref: { chainId: o.chainId, contract: o.contract },
    feedIds: o.feedIds,
    chain: alertFeedChain(o.feeds, { fromBlock: o.fromBlock }),
    ipfs: node,
    stateFile: o.stateFile,
    logger: createLogger("alerts-replica"),
  });
  replica.addEventListener("entry", (e) => {
    const v = (e as CustomEvent).detail as { ref: AlertFeedRef; seq: number; cid: CID; entry: AlertEntry };
    const info = v.entry.cap.info[0];
    o.print(
      `feed ${v.ref.feedId} entry ${v.seq}: ${v.entry.cap.msgType} ${info?.headline ?? info?.event ?? capKey(v.entry.cap)} (${v.cid})`,
    );
  });
  replica.addEventListener("rejected", (e) => {
    const r = (e as CustomEvent).detail as { feedId: number; reason: string; error: string };
    o.print(`feed ${r.feedId}: refused ${r.error}: ${r.reason}`);
  });
  await replica.start();
  return replica;
}

// ---------------------------------------------------------------------------------------------------------------
// The reach job

/** Writes the alert-reach ready job for entry `seq` of a feed: how many vaults found the alert concerned them, with DP. */
export async function alertsReachJob(flags: AlertFlags & { feedId: number; seq: number; out: string; deadlineIn: number; now: number }) {
  return withAlertFeeds("reach-job", flags, async (s) => {
    const { head } = await feedState(s, flags.feedId);
    if (flags.seq > head.seq) throw new RangeError(`--seq: feed ${flags.feedId} has entries 1..${head.seq}, not ${flags.seq}`);
    const ref = s.ref(flags.feedId);
    const key = `${ref.chainId}:${ref.contract}:${ref.feedId}:${flags.seq}`;
    const collectionDeadline = flags.now + flags.deadlineIn;
    const spec = alertReachSpec(alertReachJob({ collectionDeadline }), key);
    await writeFileAtomic(flags.out, `${JSON.stringify(spec, null, 2)}\n`);
    return { out: flags.out, key, title: spec.title, collectionDeadline, next: `post it with 'mosaic job post ${flags.out} --group ID'` };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// `vault serve --alerts`: a replica inside the vault's serve

export interface VaultReplicaOptions extends AlertFlags {
  feedIds: number[];
  /** The vault's blockstore: the replica keeps the verified entries there, as the vault's own sync would. */
  blockstore: import("interface-blockstore").Blockstore;
  listen?: string[];
  peers: string[];
  /** Where the replica's followed heads are kept (JSON). */
  stateFile: string;
  signal: AbortSignal;
  print: (line: string) => void;
}

/**
 * Runs a replica of `feedIds` on the vault's blockstore until `signal` aborts: its own libp2p node (the thread's
 * serving node is device sync's), printing its addresses for editors' --peer and other vaults' --peer.
 */
export async function serveAlertsInVault(o: VaultReplicaOptions): Promise<ReplicaHeads> {
  const { signal } = o;
  return runReplica(
    o,
    () => createIpfsNode({ blockstore: o.blockstore, listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"] }),
    o.stateFile,
    async () => {
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    },
  );
}
