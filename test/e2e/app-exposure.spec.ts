// Exposure notification in a real browser (Debian's Chromium through playwright-core) against `mosaic devnet` and
// `mosaic app` as separate processes. A person keeps a vault in the browser and imports the scans their phone heard
// (two malformed lines among them, each refused by name); someone they sat near tests positive, and a health
// authority — this test, through the library — opens a feed on its registrar group, signs a key batch holding that
// person's keys and a risk configuration with its advice, puts both on its own IPFS node (WebSockets on loopback)
// and anchors them on-chain. The browser follows the feed, matches and scores on the page, and shows the level, the
// day and the authority's advice; a configuration signed by someone else is refused by name and changes nothing.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  advertisementAt,
  DEFAULT_RISK_CONFIG,
  dailyKey,
  buildHotspotSet,
  encodeHotspotSet,
  encodeKeyBatch,
  exposureRootFromSeed,
  generatePsiKeyPair,
  hotspotItem,
  hourStartOf,
  placeCell,
  type PublishedKey,
  type RiskConfig,
  type ScanRecord,
  signDocument,
} from "@mosaic/exposure";
import {
  attachAvatarGroups,
  attachExposureFeeds,
  type Block,
  type ChainConnection,
  connectChain,
  createIpfsNode,
  type ExposureFeeds,
  findEvent,
  type IpfsNode,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { createBatchVerifier, openGroupSync } from "@mosaic/avatar";
import { createKeyServer, createPsiService, type KeyServer, type PsiService } from "@mosaic/worker";
import { expect } from "chai";
import { AbiCoder, type Signer, Wallet } from "ethers";
import type { Page } from "playwright-core";
import { expectNoSeriousAxe as noSeriousAxe, openPerson, startApp } from "../browser/app-world.js";
import { type BrowserHarness, launchBrowser, screenshot } from "../browser/harness.js";
import { Parties } from "../parties.js";

const PASSPHRASE = "a browser vault passphrase";
const DAY_S = 86_400;
/** AvatarGroups' calls carry a gas limit, as the avatar package's registerAvatar adds a margin to anvil's estimates. */
const GAS = { gasLimit: 1_000_000n };
const ADVICE_HIGH = "Stay at home for 10 days from your last exposure and book a free test at the health office.";

const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const scanLine = (s: ScanRecord) => JSON.stringify({ rpi: toHex(s.rpi), aem: toHex(s.aem), t: s.t, rssi: s.rssi, seconds: s.seconds });

describe("exposure notification in a real browser, against a devnet and `mosaic app` as separate processes", function () {
  this.timeout(300_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  let chain: ChainConnection;
  let authority: Signer;
  let feeds: ExposureFeeds;
  let authorityNode: IpfsNode;
  let page: Page;
  let feedId = 0n;
  let psi: PsiService | undefined;
  let keyServer: KeyServer | undefined;
  const verifier = createBatchVerifier({ threads: 1, batchSize: 4 });
  const pageErrors: string[] = [];
  // Yesterday, from 12:00 to 12:40 UTC: 9 sightings 5 minutes apart, about a metre away.
  const now = Math.floor(Date.now() / 1000);
  const yesterday = Math.floor(now / DAY_S) - 1;
  const positiveSeed = randomBytes(32);
  const meeting = Array.from({ length: 9 }, (_, i) => yesterday * DAY_S + 12 * 3600 + i * 300);

  /** A feed on a fresh registrar group of the authority's; its id. */
  async function openFeed(): Promise<bigint> {
    return (await openFeedOnGroup()).feedId;
  }

  /** A feed on a fresh registrar group of the authority's. */
  async function openFeedOnGroup(): Promise<{ feedId: bigint; groupId: bigint }> {
    const { avatarGroups, registrarAdmission } = p.network.contracts;
    const groups = attachAvatarGroups(authority, avatarGroups.address);
    const registrar = AbiCoder.defaultAbiCoder().encode(["address"], [await authority.getAddress()]);
    const group = await (await groups.createGroup("tested positive", registrarAdmission.address, registrar, GAS)).wait();
    const groupId = findEvent(group, groups.interface, "GroupCreated").args.groupId as bigint;
    const created = await (await feeds.createFeed(groupId)).wait();
    return { feedId: findEvent(created, feeds.interface, "FeedCreated").args.feedId as bigint, groupId };
  }

  /** Puts a block on the authority's node (the browser fetches it over bitswap) and returns its CID's bytes. */
  async function put(block: Block): Promise<Uint8Array> {
    await putBlock(authorityNode.blockstore, block);
    return block.cid.bytes;
  }

  before(async () => {
    p = await Parties.withDevnet(1, "mosaic-app-exposure-");
    appUrl = (await startApp(p)).url;
    browser = await launchBrowser();
    // The health authority signs with the devnet's researcher account (nothing else in this test uses it).
    chain = await connectChain({ rpcUrl: p.network.rpc, accounts: 2 });
    authority = chain.accounts[1] as Signer;
    const address = p.network.contracts.exposureFeeds?.address;
    if (address === undefined) throw new Error("the devnet's network file names no exposureFeeds contract");
    feeds = attachExposureFeeds(authority, address);
    authorityNode = await createIpfsNode({ listen: ["/ip4/127.0.0.1/tcp/0/ws"] });
  });

  afterEach(async function () {
    // A failed step leaves its screen behind, to read what the page said.
    if (this.currentTest?.state === "failed" && page !== undefined) await screenshot(page, "exposure-failed").catch(() => undefined);
    const errors = pageErrors.splice(0);
    expect(errors, "uncaught errors in the pages").to.deep.equal([]);
  });

  after(async () => {
    await keyServer?.stop();
    await verifier.stop();
    await psi?.stop();
    await authorityNode?.stop();
    await chain?.close();
    await browser?.close();
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("the user imports scans: well-formed ones are stored, malformed lines are refused by name", async () => {
    ({ page } = await openPerson({ browser, parties: p, appUrl, errors: pageErrors }, { name: "user", place: "vault" }));
    await page.getByRole("heading", { name: "Create your vault" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("tab", { name: "Exposure" }).click({ timeout: 60_000 });
    await page.getByRole("heading", { name: "Exposure notification" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("exposure-scans").textContent()).to.equal("0");
    expect(await page.getByTestId("exposure-key-days").textContent()).to.match(/^14 of 14 days/);
    expect(await page.getByTestId("exposure-rpi").textContent()).to.match(/^[0-9a-f]{8}…[0-9a-f]{4}$/);

    // The positive person's phone advertised at -8 dBm; heard at -50 dBm: 42 dB, close.
    const root = exposureRootFromSeed(positiveSeed);
    const heard: ScanRecord[] = meeting.map((t) => ({ ...advertisementAt(root, t, -8), t, rssi: -50, seconds: 300 }));
    // Someone else, heard far away the same day: it matches no published key.
    const stranger = exposureRootFromSeed(randomBytes(32));
    heard.push({ ...advertisementAt(stranger, meeting[0] as number, -8), t: meeting[0] as number, rssi: -90, seconds: 300 });
    const lines = [
      ...heard.map(scanLine),
      "{not json",
      JSON.stringify({ rpi: "00".repeat(15), aem: "00".repeat(4), t: now, rssi: -60, seconds: 300 }),
      "",
    ];
    const dir = path.join(p.dir, "files");
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, "scans.jsonl");
    await writeFile(file, lines.join("\n"));
    await page.getByLabel("Scan file").setInputFiles(file);
    await page.getByTestId("scan-import").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("scans-accepted").textContent()).to.equal(String(heard.length));
    expect(await page.getByTestId("scans-rejected").textContent()).to.equal("2");
    const refused = await page.getByTestId("scan-rejections").locator("li").allTextContents();
    expect(refused[0]).to.match(/^MalformedScanError: line 11: not JSON/);
    expect(refused[1]).to.match(/^MalformedScanError: line 12: rpi: expected 16 bytes/);
    expect(await page.getByTestId("exposure-scans").textContent()).to.equal(String(heard.length));
    // The same file again stores nothing new.
    await page.getByLabel("Scan file").setInputFiles(file);
    await page.getByTestId("scan-import").getByText(`${heard.length} already stored`).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("exposure-scans").textContent()).to.equal(String(heard.length));
    await screenshot(page, "exposure-01-scans");
    await noSeriousAxe(page, "exposure tab");
  });

  it("an authority publishes a matching key batch and its signed configuration; the page shows the exposure and the advice", async () => {
    feedId = await openFeed();
    const feedsAddress = (await feeds.getAddress()).toLowerCase();
    const keys: PublishedKey[] = [
      // The positive person's key of yesterday, the day before symptoms began.
      { ...dailyKey(exposureRootFromSeed(positiveSeed), yesterday), reportType: "confirmed-test", daysSinceOnsetOfSymptoms: -1 },
      // Others' keys, matching nothing here.
      ...[2, 3, 4].map((d) => ({
        ...dailyKey(exposureRootFromSeed(randomBytes(32)), yesterday - d),
        reportType: "confirmed-test" as const,
        daysSinceOnsetOfSymptoms: null,
      })),
    ];
    const batch = await encodeKeyBatch(
      {
        version: 1,
        chainId: p.network.chainId,
        feeds: feedsAddress,
        feedId: feedId.toString(),
        seq: 1,
        prev: null,
        createdAt: now,
        uploads: [],
        keys,
      },
      authority,
    );
    await (await feeds.publishKeys(feedId, 1n, await put(batch), keys.length)).wait();
    const config: RiskConfig = {
      ...DEFAULT_RISK_CONFIG,
      advice: { none: "No exposure: carry on.", low: "Watch for symptoms for 10 days.", high: ADVICE_HIGH },
    };
    const rc = await put(await signDocument("risk-config", config, authority));
    await (await feeds.setRiskConfig(feedId, rc)).wait();

    await page.getByRole("button", { name: "Refresh feeds" }).click();
    await page.getByLabel("Feed id").fill(feedId.toString());
    await page.getByText("Where the keys come from").click();
    const ws = nodeAddresses(authorityNode).find((a) => a.includes("/ws/"));
    if (ws === undefined) throw new Error("the authority's node has no WebSockets address");
    await page.getByLabel("Also fetch from (IPFS peer)").fill(ws);
    await page.getByRole("button", { name: "Check for exposure" }).click();
    const result = page.getByTestId("exposure-result");
    await result.waitFor({ timeout: 120_000 });
    expect(await result.getAttribute("data-level")).to.equal("high");
    expect(await page.getByTestId("exposure-level").textContent()).to.equal("High exposure risk");
    expect(await page.getByTestId("exposure-advice").textContent()).to.equal(ADVICE_HIGH);
    const rows = await page.getByTestId("exposure-days").locator("tbody tr").count();
    expect(rows).to.equal(1);
    expect(await page.getByTestId("notifications").locator("li").count()).to.equal(1);
    expect(await page.getByTestId("notifications").textContent()).to.match(/High exposure risk/);
    await screenshot(page, "exposure-02-result");
    await noSeriousAxe(page, "exposure result");
  });

  it("the authority publishes outbreak places; the user's visit there is found by the private check, in the browser", async () => {
    // The user's location history: 12:00 to 12:45 UTC yesterday in one café, then a walk elsewhere.
    const at = (t: number) => new Date(t * 1000).toISOString();
    const cafe = { lat: 52.52051, lon: 13.40532 };
    const fixes = [...meeting.slice(0, 4).map((t) => ({ ...cafe, t })), { lat: 52.53, lon: 13.42, t: (meeting[0] as number) + 3 * 3600 }];
    const gpx = `<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>${fixes
      .map((f) => `<trkpt lat="${f.lat}" lon="${f.lon}"><time>${at(f.t)}</time></trkpt>`)
      .join("")}</trkseg></trk></gpx>`;
    const file = path.join(p.dir, "files", "yesterday.gpx");
    await writeFile(file, gpx);
    await page.getByRole("tab", { name: "Data" }).click();
    await page.getByLabel("Location file").setInputFiles(file);
    await page.getByTestId("import-summary").waitFor({ timeout: 60_000 });

    // The authority's set: the café in that hour, and places the user never went; its node answers the queries.
    const keys = generatePsiKeyPair();
    const hour = hourStartOf(meeting[0] as number);
    const items = [
      hotspotItem(placeCell(cafe.lat, cafe.lon), hour),
      hotspotItem(placeCell(cafe.lat, cafe.lon), hour + 6 * 3600),
      hotspotItem(placeCell(48.85, 2.35), hour),
    ];
    const set = buildHotspotSet(keys.secretKey, items, { feedId: feedId.toString(), from: now - 14 * DAY_S, to: now });
    const block = await encodeHotspotSet(set, authority);
    await (await feeds.publishHotspots(feedId, await put(block))).wait();
    psi = createPsiService({ libp2p: authorityNode.libp2p }, { sets: new Map([[block.cid.toString(), keys]]) });
    await psi.start();

    await page.getByRole("tab", { name: "Exposure" }).click();
    await page.getByRole("button", { name: "Refresh feeds" }).click();
    await page.getByLabel("Feed id").fill(feedId.toString());
    await page.getByRole("button", { name: "Check my visits" }).click({ timeout: 60_000 });
    await page.getByTestId("hotspot-result").waitFor({ timeout: 120_000 });
    const matches = await page.getByTestId("hotspot-matches").locator("li").allTextContents();
    expect(matches).to.have.length(1);
    expect(matches[0]).to.include(placeCell(cafe.lat, cafe.lon));
    await screenshot(page, "exposure-03-hotspots");
    await noSeriousAxe(page, "exposure hotspots");
  });

  it("a configuration not signed by the feed's authority is refused by name; the notifications stay as they were", async () => {
    const forged = await openFeed();
    const stranger = Wallet.createRandom();
    const config: RiskConfig = { ...DEFAULT_RISK_CONFIG, advice: { none: "-", low: "-", high: "Ignore the authority." } };
    await (await feeds.setRiskConfig(forged, await put(await signDocument("risk-config", config, stranger)))).wait();
    const before = await page.getByTestId("notifications").locator("li").count();
    await page.getByLabel("Feed id").fill(forged.toString());
    await page.getByRole("button", { name: "Check for exposure" }).click();
    await page.getByRole("alert").filter({ hasText: "WrongSignerError" }).waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("exposure-result").count()).to.equal(0);
    expect(await page.getByTestId("notifications").locator("li").count()).to.equal(before);
    await noSeriousAxe(page, "exposure refused configuration");
  });

  it("the user tested positive: the authority admits the upload commitment, the keys are proved in a worker and reach its key server", async () => {
    const { feedId: positives, groupId } = await openFeedOnGroup();
    const group = await openGroupSync({ provider: chain.provider, semaphore: p.network.contracts.semaphore.address }, groupId, {
      fromBlock: p.network.contracts.semaphore.deployBlock,
    });
    await group.sync();
    await verifier.start();
    const accepted: string[] = [];
    keyServer = createKeyServer(
      {
        ipfs: authorityNode,
        feeds,
        group,
        signer: authority,
        verifier,
      },
      { feedId: positives, chainId: BigInt(p.network.chainId), batchEveryMs: 3_600_000, batchMaxKeys: 14 },
    );
    const rejected: string[] = [];
    keyServer.on("upload:accepted", (u) => accepted.push(u.cid));
    keyServer.on("upload:rejected", (r) => rejected.push(JSON.stringify(r)));
    await keyServer.start();

    await page.getByLabel("Feed id").fill(positives.toString());
    await page.getByRole("button", { name: "Start an upload" }).click();
    const commitment = ((await page.getByTestId("upload-commitment").textContent()) ?? "").trim();
    expect(commitment).to.match(/^\d+$/);
    // Not admitted yet: named, and no upload offered.
    await page.getByRole("button", { name: "Check my admission" }).click();
    await page.getByRole("alert").filter({ hasText: "NotAdmittedError" }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole("button", { name: /Upload my keys/ }).count()).to.equal(0);
    await noSeriousAxe(page, "exposure upload, not admitted");

    // The health authority admits the commitment (it learns the commitment, never the keys with it).
    await (
      await attachAvatarGroups(authority, p.network.contracts.avatarGroups.address).registerBatch(groupId, [BigInt(commitment)], GAS)
    ).wait();
    // As a person would, check again if the first check ran before the group's event was readable (once in several
    // loaded runs the first check after admission still saw the old group; noted for the group sync's owners).
    for (let attempt = 1; ; attempt++) {
      await page.getByRole("button", { name: "Check my admission" }).click();
      const admitted = await page
        .getByTestId("upload-admitted")
        .waitFor({ timeout: 30_000 })
        .then(() => true)
        .catch(() => false);
      if (admitted) break;
      if (attempt === 3) throw new Error("the admitted commitment was not found in the group after three checks");
    }
    await page.getByRole("button", { name: "Upload my keys of the last 14 days" }).click();
    const done = await page.getByTestId("upload-done").textContent({ timeout: 240_000 });
    expect(done).to.match(/^Uploaded 14 daily keys to feed /);
    await p.waitFor("the key server accepting the upload and anchoring its batch", async () =>
      accepted.length === 1 && (await feeds.feedOf(positives)).seq === 1n ? true : undefined,
    );
    expect(rejected).to.deep.equal([]);
    await screenshot(page, "exposure-04-uploaded");
    await noSeriousAxe(page, "exposure uploaded");
    // The whole tab fits a phone: nothing wider than 390 px.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await screenshot(page, "exposure-05-phone");
    expect(overflow, `the exposure tab is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
  });
});
