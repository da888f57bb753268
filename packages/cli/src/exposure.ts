// `mosaic exposure`: the user's side of exposure notification (keys, scans, check, upload) and the health authority's
// (feed, risk configuration, admission, the key server). The work is @mosaic/vault's, @mosaic/exposure's and
// @mosaic/worker's; this connects to the chain and the network, and shapes what is printed.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { openGroupSync } from "@mosaic/avatar";
import {
  advertisementAt,
  buildHotspotSet,
  encodeHotspotSet,
  enIntervalNumber,
  generatePsiKeyPair,
  hotspotItem,
  hourStartOf,
  placeCell,
  type ExposureResult,
  keysToUpload,
  parseRiskConfig,
  REPORT_TYPES,
  type ReportType,
  type ScanRecord,
  signDocument,
  unixDayOf,
} from "@mosaic/exposure";
import {
  AvatarGroups__factory,
  attachReducerDirectory,
  connectChain,
  createLogger,
  type ExposureFeeds,
  ExposureFeeds__factory,
  CID,
  findEvent,
  BlockUnavailableError,
  type IpfsNode,
  JobRegistry__factory,
  localRpc,
  namedError,
  nodeAddresses,
  readReducers,
  readWalletKey,
  toBareHex,
  writeFileAtomic,
} from "@mosaic/protocol";
import {
  askHotspotServers,
  checkExposure,
  type HotspotServer,
  keyFeedRef,
  NoHotspotServerError,
  MAX_SCAN_LINES,
  parseScanLine,
  checkHotspots,
  DEFAULT_TX_POWER_DBM,
  exposureRoot,
  fetchRiskConfig,
  followKeyFeed,
  hotspotVisits,
  loadHotspotSet,
  MalformedScanError,
  prepareUpload,
  recordScans,
  uploadIdentity,
  uploadKeys,
} from "@mosaic/vault";
import {
  createKeyServer,
  createPsiService,
  encodeHotspotKeyFile,
  hotspotKeyFileName,
  hotspotKeyFilesIn,
  type HotspotSetKeys,
  type PsiService,
  readHotspotKeyFiles,
} from "@mosaic/worker";
import { getBytes, NonceManager, type Provider, type Signer, Wallet } from "ethers";
import { UsageError } from "./args.js";
import { registrarAdmit, registrarAttest } from "./avatar.js";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { dialPeers, keepBlock, openServingNode, say, withIpfs } from "./ipfs-session.js";
import type { ResolvedNetwork } from "./network-flags.js";
import { type VaultAccess, withVault } from "./vault.js";

/** ExposureFeeds refused a transaction; `reason` is the contract's error name. */
export class ExposureFeedsError extends contractRefusal("ExposureFeedsError") {}

/** This vault's upload identity is not a member of the feed's group: the health authority has not admitted it. */
export class NotAdmittedError extends namedError("NotAdmittedError") {}

/** The feed has no key server address to hand an upload to. */
export class NoKeyServerError extends namedError("NoKeyServerError") {}

const REVERT_ADVICE: Record<string, string> = {
  UnknownFeed: "no such feed; the authority's 'mosaic exposure feed create' prints its id",
  NotRegistrarGroup: "the group must be a registrar group (RegistrarAdmission); create one with 'mosaic avatar registrar create-group'",
  NotGroupRegistrar: "--wallet-key-file must hold the key of the group's registrar",
  NotAuthority: "--wallet-key-file must hold the key of the feed's authority (the wallet that created it)",
  StaleSequence: "another batch was anchored meanwhile; run the command again",
  InvalidCid: "the document's CID is empty or too long",
};

/** Where the feeds are, and who pays. */
export interface FeedFlags {
  network: ResolvedNetwork;
  /** --feeds, overriding the network file's contracts.exposureFeeds. */
  feeds?: string;
  walletKeyFile?: string;
}

/** The ExposureFeeds address and where it came from. */
function feedsAddress(command: string, flags: FeedFlags): { address: string; flag: string } {
  if (flags.feeds !== undefined) return { address: flags.feeds, flag: "--feeds" };
  const deployed = flags.network.file?.contracts.exposureFeeds;
  if (deployed !== undefined) return { address: deployed.address, flag: `${flags.network.networkFile} (contracts.exposureFeeds)` };
  throw new UsageError(
    `exposure ${command}: --feeds ADDRESS is required, or --network NAME|FILE whose network has ExposureFeeds; see 'mosaic exposure ${command} --help'`,
  );
}

interface FeedsSession {
  provider: Provider;
  chainId: bigint;
  signer?: Signer;
  feeds: ExposureFeeds;
  address: string;
}

/** Connects to ExposureFeeds for the length of `use`, turning its reverts into ExposureFeedsError. */
async function withFeeds<T>(command: string, flags: FeedFlags, use: (s: FeedsSession) => Promise<T>): Promise<T> {
  const rpc = flags.network.rpc;
  if (rpc === undefined)
    throw new UsageError(`exposure ${command}: --rpc URL is required, or --network NAME|FILE; see 'mosaic exposure ${command} --help'`);
  const { address, flag } = feedsAddress(command, flags);
  return withContract(
    {
      rpc,
      rpcSource: flags.network.sources.rpc,
      address,
      flag,
      what: "ExposureFeeds contract",
      walletKeyFile: flags.walletKeyFile,
      chainId: flags.network.chainId,
      networkFile: flags.network.networkFile,
    },
    (s) =>
      use({
        provider: s.provider,
        chainId: s.chainId,
        signer: s.signer,
        address: s.address,
        feeds: ExposureFeeds__factory.connect(s.address, s.signer ?? s.provider),
      }),
    (err) => {
      const revert = decodeRevert(err, ExposureFeeds__factory.createInterface());
      if (revert === undefined) return err;
      const advice = REVERT_ADVICE[revert.name];
      return new ExposureFeedsError(revert.name, `ExposureFeeds refused: ${revert.name}(${revert.args})${advice ? `: ${advice}` : ""}`);
    },
  );
}

function needSigner(command: string, s: FeedsSession): Signer {
  if (s.signer === undefined)
    throw new UsageError(`exposure ${command}: --wallet-key-file FILE is required: this command sends a transaction`);
  return s.signer;
}

/** Parses a feed id flag. */
export function parseFeedId(value: string): bigint {
  if (!/^[1-9][0-9]{0,76}$/.test(value)) throw new RangeError(`--feed: expected a feed id (1, 2, …), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** Reads a feed, an UnknownFeed revert made a named error. */
async function feedOf(s: FeedsSession, feedId: bigint) {
  if (feedId > (await s.feeds.feedCount()))
    throw new ExposureFeedsError("UnknownFeed", `ExposureFeeds has no feed ${feedId}: ${REVERT_ADVICE.UnknownFeed}`);
  return s.feeds.feedOf(feedId);
}

// ---------------------------------------------------------------------------------------------------------------
// The user's side

export interface KeysResult {
  /** Unix seconds the keys are for. */
  now: number;
  advertisement: { interval: number; rpi: string; aem: string; txPowerDbm: number };
  /** The keys this vault would upload (the 14 days before today), oldest first. */
  keys: { day: string; key: string; rollingStartIntervalNumber: number; rollingPeriod: number }[];
}

export async function exposureKeys(access: VaultAccess & { now: number }): Promise<KeysResult> {
  return withVault(access, async ({ vault }) => {
    const root = exposureRoot(vault);
    const ad = advertisementAt(root, access.now, DEFAULT_TX_POWER_DBM);
    return {
      now: access.now,
      advertisement: {
        interval: enIntervalNumber(access.now),
        rpi: toBareHex(ad.rpi),
        aem: toBareHex(ad.aem),
        txPowerDbm: DEFAULT_TX_POWER_DBM,
      },
      keys: keysToUpload(root, access.now).map((k) => ({
        day: new Date(Math.floor(k.rollingStartIntervalNumber / 144) * 86_400_000).toISOString().slice(0, 10),
        key: toBareHex(k.key),
        rollingStartIntervalNumber: k.rollingStartIntervalNumber,
        rollingPeriod: k.rollingPeriod,
      })),
    };
  });
}

export function formatKeys(r: KeysResult): string {
  return [
    `advertising now (interval ${r.advertisement.interval}): RPI ${r.advertisement.rpi}, AEM ${r.advertisement.aem} (${r.advertisement.txPowerDbm} dBm)`,
    `keys this vault would upload (${r.keys.length}; today's is still in use and is never uploaded):`,
    ...r.keys.map((k) => `  ${k.day}  ${k.key}`),
  ].join("\n");
}

export async function exposureIdentity(access: VaultAccess): Promise<{ commitment: string }> {
  return withVault(access, async ({ vault }) => ({ commitment: uploadIdentity(vault).commitment.toString() }));
}

export function formatIdentity(r: { commitment: string }): string {
  return `upload identity commitment: ${r.commitment}
Give it to the health authority after a positive test; it runs 'mosaic exposure admit ${r.commitment} --feed ID'.
It is not your avatar: nothing links your uploads to your job answers.`;
}

/** Reads a JSON-lines file of scan records ({rpi, aem: hex; t, rssi, seconds: numbers}); the first bad line is named. */
export async function readScanFile(file: string): Promise<ScanRecord[]> {
  const lines = (await readFile(file, "utf8")).split(/\r?\n/);
  if (lines.length > MAX_SCAN_LINES)
    throw new MalformedScanError(
      `${file}: ${lines.length} lines, over the ${MAX_SCAN_LINES} imported at once; split it and import each part`,
    );
  const scans = lines.flatMap((line, i) => (line.trim() === "" ? [] : [parseScanLine(line, `${file}:${i + 1}`)]));
  if (scans.length === 0) throw new MalformedScanError(`${file}: no scan records; write one JSON object per line`);
  return scans;
}

export async function scanImport(access: VaultAccess & { file: string }): Promise<{ file: string; read: number; stored: number }> {
  const scans = await readScanFile(access.file);
  return withVault(access, async ({ vault }) => {
    const { stored } = await recordScans(vault, scans);
    return { file: access.file, read: scans.length, stored };
  });
}

export interface CheckResult {
  feedId: string;
  keys: number;
  level: ExposureResult["level"];
  rule: ExposureResult["rule"];
  days: { day: string; weightedMinutes: number; windows: number }[];
  mostRecentDay: string | null;
  advice: string;
}

/** How long `check` waits for the feed's blocks, all of them together. */
const FETCH_TIMEOUT_MS = 120_000;

/** A block that could not be fetched, with what to do about it. */
async function unavailableAdvice<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if ((err as Error).name === "BlockUnavailableError" || (err as Error).name === "TimeoutError")
      throw new BlockUnavailableError(
        `${(err as Error).message}; give --peer the health authority's key server ('mosaic exposure serve' prints its address), or a node holding the feed`,
      );
    throw err;
  }
}

const isoDay = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);

export async function exposureCheck(
  access: VaultAccess & FeedFlags & { feedId: bigint; peers: string[]; now: number },
): Promise<CheckResult> {
  const peers = [...access.peers, ...access.network.bootstrap];
  return withFeeds("check", access, (s) =>
    withVault(access, ({ vault }) =>
      withIpfs(peers, async (node) => {
        await feedOf(s, access.feedId);
        const components = { feeds: s.feeds, blocks: node.blockstore, chainId: s.chainId };
        say(`following feed ${access.feedId}…`);
        // A block no peer holds would be waited for forever: the feed's batches and configuration get a deadline.
        const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
        const keys = await unavailableAdvice(
          followKeyFeed(components, vault, access.feedId, {
            now: access.now,
            signal,
            onBatch: (b) => say(`  batch ${b.seq}: ${b.keys} keys`),
          }),
        );
        const config = await unavailableAdvice(fetchRiskConfig(components, access.feedId, { signal }));
        const feed = await keyFeedRef(components, access.feedId);
        const result = await checkExposure(vault, { keys, config, now: access.now, feed });
        return {
          feedId: access.feedId.toString(),
          keys: keys.length,
          level: result.level,
          rule: result.rule,
          days: result.days.map((d) => ({
            day: isoDay(d.day),
            weightedMinutes: Math.round(d.weightedMinutes * 10) / 10,
            windows: d.windows,
          })),
          mostRecentDay: result.mostRecentDay === null ? null : isoDay(result.mostRecentDay),
          advice: result.advice,
        };
      }),
    ),
  );
}

export function formatCheck(r: CheckResult): string {
  const lines = [
    `exposure risk: ${r.level.toUpperCase()} (feed ${r.feedId}, ${r.keys} published keys checked on this device, rule ${r.rule})`,
  ];
  if (r.days.length > 0) {
    lines.push("days:");
    for (const d of r.days) lines.push(`  ${d.day}  ${d.weightedMinutes} weighted minutes in ${d.windows} window(s)`);
  }
  lines.push(`what to do: ${r.advice}`);
  lines.push("Nothing about this check left the vault.");
  return lines.join("\n");
}

export interface UploadResult {
  feedId: string;
  period: number;
  keys: number;
  cid: string;
  recipients: number;
}

export async function exposureUpload(
  access: VaultAccess & FeedFlags & { feedId: bigint; peers: string[]; now: number; reportType: ReportType; onsetDay: number | null },
): Promise<UploadResult> {
  if (access.peers.length === 0)
    throw new NoKeyServerError(
      "upload: --peer MULTIADDR is required: the health authority's key server ('mosaic exposure serve' prints it)",
    );
  return withFeeds("upload", access, (s) =>
    withVault(access, async ({ vault }) => {
      const feed = await feedOf(s, access.feedId);
      const groups = AvatarGroups__factory.connect(await s.feeds.avatarGroups(), s.provider);
      const sync = await openGroupSync({ provider: s.provider, semaphore: await groups.semaphore() }, feed.groupId, {
        fromBlock: access.network.deployBlocks.semaphore,
      });
      await sync.sync();
      const identity = uploadIdentity(vault);
      if (sync.indexOf(identity.commitment) < 0)
        throw new NotAdmittedError(
          `this vault's upload identity is not in feed ${access.feedId}'s group ${feed.groupId}: print its commitment with 'mosaic exposure identity' and ask the health authority to admit it ('mosaic exposure admit')`,
        );
      say("proving group membership for this period…");
      const upload = await prepareUpload(vault, {
        feed: { chainId: Number(s.chainId), feeds: s.address.toLowerCase(), feedId: access.feedId.toString() },
        group: sync.group(),
        now: access.now,
        reportType: access.reportType,
        onsetDay: access.onsetDay,
      });
      say("publishing from a throwaway network identity…");
      const { block, published } = await uploadKeys(upload, { peers: access.peers });
      return {
        feedId: access.feedId.toString(),
        period: upload.period,
        keys: upload.keys.length,
        cid: block.cid.toString(),
        recipients: published.recipients.length,
      };
    }),
  );
}

export function formatUpload(r: UploadResult): string {
  return `uploaded ${r.keys} keys to feed ${r.feedId} for period ${r.period} (${r.cid}); the key server publishes them with its next batch.
One upload per period: another one this period would be refused.`;
}

export function parseReportType(value: string): ReportType {
  if (!REPORT_TYPES.includes(value as ReportType))
    throw new RangeError(`--report-type: expected one of ${REPORT_TYPES.join(", ")}, got ${JSON.stringify(value)}`);
  return value as ReportType;
}

/** --onset-day: a date (2026-03-01) or a unix day number. */
export function parseOnsetDay(value: string, now: number): number {
  let day: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) day = Math.floor(Date.parse(`${value}T00:00:00Z`) / 86_400_000);
  else if (/^\d{1,6}$/.test(value)) day = Number(value);
  else day = Number.NaN;
  if (!Number.isInteger(day) || day > unixDayOf(now) || day < unixDayOf(now) - 60)
    throw new RangeError(`--onset-day: expected a date (YYYY-MM-DD) in the last 60 days, got ${JSON.stringify(value)}`);
  return day;
}

// ---------------------------------------------------------------------------------------------------------------
// The authority's side

export async function feedCreate(flags: FeedFlags & { groupId: bigint }): Promise<{ feedId: string; groupId: string; authority: string }> {
  return withFeeds("feed create", flags, async (s) => {
    const signer = needSigner("feed create", s);
    const receipt = await (await s.feeds.connect(signer).createFeed(flags.groupId)).wait();
    const feedId = findEvent(receipt, s.feeds.interface, "FeedCreated").args.feedId as bigint;
    return { feedId: feedId.toString(), groupId: flags.groupId.toString(), authority: await signer.getAddress() };
  });
}

async function checkAuthority(s: FeedsSession, signer: Signer, feedId: bigint): Promise<void> {
  const feed = await feedOf(s, feedId);
  const me = await signer.getAddress();
  if (feed.authority.toLowerCase() !== me.toLowerCase())
    throw new ExposureFeedsError("NotAuthority", `--wallet-key-file holds ${me}, but feed ${feedId}'s authority is ${feed.authority}`);
}

export async function configPublish(
  flags: FeedFlags & { feedId: bigint; file: string; dataDir: string },
): Promise<{ feedId: string; cid: string; txHash: string }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(flags.file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`config publish: ${flags.file} does not exist`);
    throw new TypeError(`${flags.file}: not JSON (${(err as Error).message})`);
  }
  const config = parseRiskConfig(json);
  return withFeeds("config publish", flags, async (s) => {
    const signer = needSigner("config publish", s);
    await checkAuthority(s, signer, flags.feedId);
    const block = await signDocument("risk-config", config, signer);
    await keepBlock(flags.dataDir, block);
    const tx = await s.feeds.connect(signer).setRiskConfig(flags.feedId, block.cid.bytes);
    await tx.wait();
    return { feedId: flags.feedId.toString(), cid: block.cid.toString(), txHash: tx.hash };
  });
}

export async function exposureAdmit(
  flags: FeedFlags & { feedId: bigint; commitment: bigint; out?: string; expiresInSeconds: number },
): Promise<Record<string, string | number>> {
  const { groupId, groups } = await withFeeds("admit", flags, async (s) => ({
    groupId: (await feedOf(s, flags.feedId)).groupId,
    groups: await s.feeds.avatarGroups(),
  }));
  const groupFlags = { rpc: flags.network.rpc as string, groups, walletKeyFile: flags.walletKeyFile };
  if (flags.out !== undefined)
    return registrarAttest(groupFlags, { groupId, commitment: flags.commitment, expiresInSeconds: flags.expiresInSeconds, out: flags.out });
  return registrarAdmit(groupFlags, { groupId, commitments: [flags.commitment] });
}

export interface ServeOptions extends FeedFlags {
  feedId: bigint;
  dataDir: string;
  listen: string[];
  batchEveryMs: number;
  batchMaxKeys?: number;
  /** Resolves when the server should stop (Ctrl-C). */
  until: Promise<unknown>;
  print: (line: string) => void;
}

/** Runs the key server until `until` resolves: prints its address first, then one line per upload and batch. */
export async function exposureServe(o: ServeOptions): Promise<Record<string, unknown>> {
  if (o.walletKeyFile === undefined)
    throw new UsageError("exposure serve: --wallet-key-file FILE is required: the key server signs batches with the authority's key");
  const rpc = o.network.rpc;
  if (rpc === undefined)
    throw new UsageError("exposure serve: --rpc URL is required, or --network NAME|FILE; see 'mosaic exposure serve --help'");
  const { address } = feedsAddress("serve", o);
  const key = await readWalletKey(o.walletKeyFile);
  // Before anything is opened: a damaged key file is HotspotKeyFileError naming it.
  const psiSets = await readHotspotKeyFiles(await hotspotKeyFilesIn(o.dataDir));
  const chain = await connectChain({ rpcUrl: rpc, accounts: 0, source: o.network.sources.rpc ?? "--rpc" });
  let node: IpfsNode | undefined;
  try {
    const wallet = new NonceManager(new Wallet(key, chain.provider));
    const feeds = ExposureFeeds__factory.connect(address, wallet);
    const s: FeedsSession = { provider: chain.provider, chainId: chain.chainId, signer: wallet, feeds, address };
    await checkAuthority(s, wallet, o.feedId);
    const feed = await feedOf(s, o.feedId);
    const groups = AvatarGroups__factory.connect(await feeds.avatarGroups(), chain.provider);
    const group = await openGroupSync({ provider: chain.provider, semaphore: await groups.semaphore() }, feed.groupId, {
      cacheDir: path.join(o.dataDir, "groups"),
      fromBlock: o.network.deployBlocks.semaphore,
    });
    await group.sync();
    node = await openServingNode(o.dataDir, o.listen);
    await dialPeers(node, o.network.bootstrap);
    const server = createKeyServer(
      { ipfs: node, feeds, group, signer: wallet, log: createLogger("key-server") },
      {
        feedId: o.feedId,
        chainId: chain.chainId,
        batchEveryMs: o.batchEveryMs,
        batchMaxKeys: o.batchMaxKeys,
        journalFile: path.join(o.dataDir, `feed-${o.feedId}.jsonl`),
      },
    );
    server.on("upload:accepted", (a) => o.print(`accepted upload ${a.cid}: ${a.keys} keys (period ${a.period})`));
    server.on("upload:rejected", (r) => o.print(`rejected upload ${r.cid ?? "(not a CID)"}: ${r.reason}: ${r.message}`));
    server.on("batch:published", (b) =>
      o.print(`published batch ${b.seq}: ${b.keys} keys from ${b.uploads.length} upload(s), ${b.cid} (tx ${b.txHash})`),
    );
    await server.start();
    const psi = await startPsi(node, psiSets);
    for (const addr of nodeAddresses(node)) o.print(`key server for feed ${o.feedId} at ${addr}`);
    if (psi !== undefined) o.print(`answering hotspot queries for ${psi.sets.length} set(s)`);
    o.print("uploads are taken until Ctrl-C");
    await o.until;
    await psi?.stop();
    await server.stop();
    return { ...server.status(), ...(psi === undefined ? {} : { psi: psi.stats() }) };
  } finally {
    await node?.stop();
    await chain.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Hotspots: the private set intersection check

/** A hotspot file's entry is not a place and a time span. */
export class MalformedHotspotFileError extends namedError("MalformedHotspotFileError") {}

/** The feed has no hotspot set published. */
export class NoHotspotSetError extends namedError("NoHotspotSetError") {}

const HOUR_S = 3600;
/** The most hours one hotspot entry may span (a week): a longer outbreak is several entries. */
const MAX_HOTSPOT_HOURS = 7 * 24;

/** Reads a hotspot file: a JSON array of { lat, lon, from, to } (unix seconds or ISO times), every hour an item. */
export async function readHotspotFile(file: string): Promise<{ items: Uint8Array[]; from: number; to: number }> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new MalformedHotspotFileError(`${file}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0)
    throw new MalformedHotspotFileError(`${file}: expected a non-empty JSON array of {"lat", "lon", "from", "to"}`);
  const items: Uint8Array[] = [];
  let from = Number.POSITIVE_INFINITY;
  let to = 0;
  const time = (v: unknown, where: string): number => {
    const t = typeof v === "string" ? Math.floor(Date.parse(v) / 1000) : v;
    if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0)
      throw new MalformedHotspotFileError(`${where}: expected unix seconds or an ISO time, got ${JSON.stringify(v)}`);
    return t;
  };
  value.forEach((e: Record<string, unknown>, i) => {
    const where = `${file}[${i}]`;
    if (e === null || typeof e !== "object") throw new MalformedHotspotFileError(`${where}: expected {"lat", "lon", "from", "to"}`);
    let cell: string;
    try {
      cell = placeCell(e.lat as number, e.lon as number);
    } catch (err) {
      throw new MalformedHotspotFileError(`${where}: ${(err as Error).message}`);
    }
    const start = hourStartOf(time(e.from, `${where}.from`));
    const end = time(e.to, `${where}.to`);
    if (end <= start || (end - start) / HOUR_S > MAX_HOTSPOT_HOURS)
      throw new MalformedHotspotFileError(`${where}: expected from < to, at most ${MAX_HOTSPOT_HOURS} hours apart`);
    for (let h = start; h < end; h += HOUR_S) items.push(hotspotItem(cell, h));
    from = Math.min(from, start);
    to = Math.max(to, end);
  });
  return { items, from, to };
}

export async function hotspotsPublish(
  flags: FeedFlags & { feedId: bigint; file: string; dataDir: string },
): Promise<{ feedId: string; cid: string; hotspots: number; keyFile: string; txHash: string }> {
  const { items, from, to } = await readHotspotFile(flags.file);
  return withFeeds("hotspots publish", flags, async (s) => {
    const signer = needSigner("hotspots publish", s);
    await checkAuthority(s, signer, flags.feedId);
    const keys = generatePsiKeyPair();
    const set = buildHotspotSet(keys.secretKey, items, { feedId: flags.feedId.toString(), from, to });
    const block = await encodeHotspotSet(set, signer);
    await keepBlock(flags.dataDir, block);
    // The file the authority hands to the nodes that answer queries on the set ('serve' reads it from DIR too).
    const keyFile = path.join(flags.dataDir, hotspotKeyFileName(block.cid.toString()));
    // The secret key first: a set named on-chain that no node can answer for would only fail every vault's check.
    await writeFileAtomic(keyFile, encodeHotspotKeyFile({ cid: block.cid.toString(), feedId: flags.feedId.toString(), ...keys }), {
      createOnly: true,
      mode: 0o600,
    });
    const tx = await s.feeds.connect(signer).publishHotspots(flags.feedId, block.cid.bytes);
    await tx.wait();
    return { feedId: flags.feedId.toString(), cid: block.cid.toString(), hotspots: set.tags.length, keyFile, txHash: tx.hash };
  });
}

/** The staked operators' nodes in the ReducerDirectory, highest stake first: where hotspot checks are asked. */
async function hotspotServersOnChain(network: ResolvedNetwork, provider: Provider): Promise<HotspotServer[]> {
  if (network.directory === undefined)
    throw new UsageError(
      "hotspots: --peer MULTIADDR, or a ReducerDirectory to find staked nodes in (--directory ADDRESS, or --network NAME|FILE), is required",
    );
  if ((await provider.getCode(network.directory)) === "0x")
    throw new TypeError(`--directory: no contract at ${network.directory} on ${network.rpc}; check the address and the network`);
  const directory = attachReducerDirectory(provider, network.directory);
  const registry = JobRegistry__factory.connect(network.registry ?? (await directory.registry()), provider);
  const records = await readReducers(directory, registry, {
    allowPrivate: network.rpc === undefined || localRpc(network.rpc),
    onSkip: (r) => say(`  node of ${r.operator}${r.addr === undefined ? "" : ` address ${r.addr}`} left out: ${r.reason}`),
  });
  if (records.length === 0)
    throw new NoHotspotServerError(
      `no staked node is announced in the ReducerDirectory at ${network.directory}; give --peer a node that answers hotspot checks`,
    );
  say(`found ${records.length} staked node(s) in the ReducerDirectory`);
  return records.map((r) => ({ addrs: r.addrs, operator: r.operator }));
}

export interface HotspotsResult {
  feedId: string;
  set: string;
  visits: number;
  matches: { cell: string; hour: string }[];
  /** The node that answered: its multiaddr, and its operator when it was found in the directory. */
  answeredBy: { addr: string; operator?: string };
}

export async function exposureHotspots(
  access: VaultAccess & FeedFlags & { feedId: bigint; peers: string[]; now: number },
): Promise<HotspotsResult> {
  return withFeeds("hotspots", access, async (s) => {
    const feed = await feedOf(s, access.feedId);
    const cidBytes = getBytes(feed.hotspots);
    if (cidBytes.length === 0)
      throw new NoHotspotSetError(`feed ${access.feedId} has published no hotspot set yet; try again after the authority publishes one`);
    const cid = CID.decode(cidBytes);
    // --peer overrides; otherwise any staked node may serve the set ("served by any staked node").
    const servers: HotspotServer[] =
      access.peers.length > 0 ? access.peers.map((p) => ({ addrs: [p] })) : await hotspotServersOnChain(access.network, s.provider);
    const dial = servers.flatMap((r) => r.addrs.slice(0, 1));
    return withVault(access, ({ vault }) =>
      withIpfs([...dial, ...access.network.bootstrap], async (node) => {
        // The serving nodes hold the set's document (a reducer node fetches it when handed the key), and so may the
        // bootstrap peers; its signature is checked against the feed's authority either way.
        const set = await loadHotspotSet(
          { blocks: node.blockstore },
          { cid, authority: feed.authority, signal: AbortSignal.timeout(20_000) },
        ).catch((err) => {
          if ((err as Error).name !== "BlockUnavailableError") throw err;
          throw new BlockUnavailableError(
            `${(err as Error).message}; give --peer a node holding the hotspot set (the authority's 'mosaic exposure serve')`,
          );
        });
        const visits = hotspotVisits(vault.locations({ from: access.now - 14 * 86_400, to: access.now + 1 }), { now: access.now });
        say(`asking about ${visits.length} visit(s), padded and blinded…`);
        const { answer, server, addr } = await askHotspotServers(
          servers,
          (peer) => checkHotspots({ libp2p: node.libp2p }, { set, setCid: cid.toString(), peer, items: visits.map((v) => v.item) }),
          say,
        );
        const matched = new Set(answer);
        return {
          feedId: access.feedId.toString(),
          set: cid.toString(),
          visits: visits.length,
          matches: visits
            .filter((v) => matched.has(v.item))
            .map((v) => ({ cell: v.cell, hour: new Date(v.hourStart * 1000).toISOString().slice(0, 13) + ":00Z" })),
          answeredBy: server.operator === undefined ? { addr } : { addr, operator: server.operator },
        };
      }),
    );
  });
}

export function formatHotspots(r: HotspotsResult): string {
  const by = r.answeredBy.operator === undefined ? r.answeredBy.addr : `the node of ${r.answeredBy.operator}`;
  if (r.matches.length === 0)
    return `none of your ${r.visits} visit(s) of the last 14 days was at a hotspot of feed ${r.feedId} (answered by ${by}).`;
  return [
    `${r.matches.length} of your ${r.visits} visit(s) were at a hotspot of feed ${r.feedId}:`,
    ...r.matches.map((m) => `  ${m.hour}  cell ${m.cell}`),
    `Only this device knows which: the node that answered (${by}) learned only that a query came.`,
  ].join("\n");
}

/** Starts a PSI service on `node` for hotspot sets (readHotspotKeyFiles' map); undefined when there are none. */
export async function startPsi(node: IpfsNode, sets: Map<string, HotspotSetKeys>): Promise<PsiService | undefined> {
  if (sets.size === 0) return undefined;
  const psi = createPsiService({ libp2p: node.libp2p, log: createLogger("psi") }, { sets });
  await psi.start();
  return psi;
}
