// Public alerts in a real browser (Debian's Chromium through playwright-core) against `mosaic devnet` and `mosaic
// app` as separate processes. A person keeps a vault in the browser and imports a day of their location history. A
// public body — this test, through the library — opens an alert feed with three editors, two of whom must sign, and
// anchors five entries: a flood warning over the streets the person walked, a storm warning elsewhere, a gas-leak
// warning over the same streets then its cancellation, and an update of the flood warning. A replica (a real Helia
// node with WebSockets on loopback, createAlertReplica) follows the feed from the chain and serves it. The browser
// follows the feed, fetches the entries from the replica and checks them against the chain's head and the editors'
// signatures, and its inbox shows the update of the flood warning first, with the reason found in the location
// history, then the storm warning as not concerning; the cancelled warning only behind the toggle, marked cancelled.
// A feed that does not exist is refused by name and nothing is followed; an entry anchored but withheld by every
// replica is FeedUnavailableError with nothing of it stored, and arrives once a replica serves it. Entries anchored by
// the editors that hold no valid alert (a CAP polygon that does not close; a block that is no entry, its one key an
// HTML tag and a bidi override) are gaps: the sync counts them, the entries before and after them arrive, and the
// list behind its toggle names each (feed, entry, reason) as escaped, cut text, never HTML. Last, the SEIR fit
// worker of the researcher's "Model (SEIR)" panel runs in this browser under the app's CSP (the panel itself is
// tested with React's server renderer in packages/app/test: a final job here would take minutes); its markup, set
// into the app's page with the app's styles, passes axe and fits a phone.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as dagCbor from "@ipld/dag-cbor";
import {
  type AlertFeedRef,
  alertFeedChain,
  type CapAlert,
  type CapArea,
  encodeEntry,
  entryCidOf,
  entryDigest,
  signDigest,
  sortSignatures,
  validateCap,
} from "@mosaic/alerts";
import {
  type AlertFeeds,
  attachAlertFeeds,
  type Block,
  type ChainConnection,
  type CID,
  connectChain,
  createIpfsNode,
  findEvent,
  type IpfsNode,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { simulateSeir } from "@mosaic/models";
import { type AlertReplica, createAlertReplica } from "@mosaic/worker";
import { expect } from "chai";
import { getAddress, type HDNodeWallet, type Signer, Wallet } from "ethers";
import type { Page } from "playwright-core";
import { modelPreviewMarkup } from "../../packages/app/test/fixtures/model-preview.js";
import { expectNoSeriousAxe as noSeriousAxe, openPerson, startApp } from "../browser/app-world.js";
import { type BrowserHarness, launchBrowser, screenshot } from "../browser/harness.js";
import { Parties } from "../parties.js";

const PASSPHRASE = "a browser vault passphrase";
const DAY_S = 86_400;
const SENDER = "alerts@city.example";
const MITTE = "52.500,13.380 52.500,13.430 52.540,13.430 52.540,13.380 52.500,13.380";
const PARIS = "48.840,2.330 48.840,2.370 48.870,2.370 48.870,2.330 48.840,2.330";

/** A CAP time ("2026-12-04T12:00:00+00:00": CAP writes no "Z"). */
const capTime = (t: number) => `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;

describe("public alerts in a real browser, against a devnet, `mosaic app` and an alert replica", function () {
  this.timeout(300_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  let chain: ChainConnection;
  let feeds: AlertFeeds;
  let replicaNode: IpfsNode;
  let replica: AlertReplica;
  let page: Page;
  let ref: AlertFeedRef;
  const pageErrors: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  const yesterday = Math.floor(now / DAY_S) - 1;
  // Yesterday from 12:00 to 12:45 UTC in Mitte, then elsewhere in the afternoon.
  const walk = Array.from({ length: 10 }, (_, i) => yesterday * DAY_S + 12 * 3600 + i * 300);
  const editors = Array.from({ length: 3 }, () => Wallet.createRandom()).sort((a, b) =>
    a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1,
  );
  let head: { seq: number; cid: CID | null } = { seq: 0, cid: null };

  function alert(init: {
    identifier: string;
    msgType?: CapAlert["msgType"];
    references?: string;
    headline?: string;
    area?: CapArea;
    instruction?: string;
    sent: number;
  }): CapAlert {
    const cap: CapAlert = {
      identifier: init.identifier,
      sender: SENDER,
      sent: capTime(init.sent),
      status: "Actual",
      msgType: init.msgType ?? "Alert",
      scope: "Public",
      code: [],
      ...(init.references === undefined ? {} : { references: init.references }),
      info:
        init.area === undefined
          ? []
          : [
              {
                language: "en-GB",
                category: ["Met"],
                event: init.headline?.split(":")[0] ?? "Warning",
                responseType: ["Avoid"],
                urgency: "Immediate",
                severity: "Severe",
                certainty: "Observed",
                eventCode: [],
                onset: capTime(yesterday * DAY_S + 6 * 3600),
                expires: capTime(now + 2 * DAY_S),
                senderName: "City of Berlin",
                headline: init.headline ?? "Warning",
                ...(init.instruction === undefined ? {} : { instruction: init.instruction }),
                parameter: [],
                resource: [],
                area: [init.area],
              },
            ],
    };
    return cap;
  }

  const key = (cap: CapAlert) => `${cap.sender},${cap.identifier},${cap.sent}`;

  /**
   * Builds entry head+1 for `cap`, puts its block on the replica's node (unless `withheld`), and anchors it with two
   * editors' signatures; returns the block.
   */
  async function publish(cap: CapAlert, options: { withheld?: boolean } = {}): Promise<Block> {
    const seq = head.seq + 1;
    const block = encodeEntry({ v: 1, feed: ref, seq, epoch: 0, prev: head.cid, cap });
    if (options.withheld !== true) await putBlock(replicaNode.blockstore, block);
    const digest = entryDigest(ref, 0, seq, block.cid);
    const signatures = sortSignatures(digest, [
      await signDigest(digest, editors[2] as HDNodeWallet),
      await signDigest(digest, editors[0] as HDNodeWallet),
    ]);
    await (await feeds.anchor(ref.feedId, seq, block.cid.bytes, signatures)).wait();
    head = { seq, cid: block.cid };
    return block;
  }

  /**
   * Anchors entry head+1 as `bytes`, encoded without any check (an entry no reader can accept), signed by two editors
   * like any other, and puts its block on the replica's node; returns its CID.
   */
  async function publishRaw(value: unknown): Promise<CID> {
    const seq = head.seq + 1;
    const bytes = dagCbor.encode(value);
    const cid = entryCidOf(bytes);
    await putBlock(replicaNode.blockstore, { cid, bytes });
    const digest = entryDigest(ref, 0, seq, cid);
    const signatures = sortSignatures(digest, [
      await signDigest(digest, editors[0] as HDNodeWallet),
      await signDigest(digest, editors[1] as HDNodeWallet),
    ]);
    await (await feeds.anchor(ref.feedId, seq, cid.bytes, signatures)).wait();
    head = { seq, cid };
    return cid;
  }

  before(async () => {
    p = await Parties.withDevnet(1, "mosaic-app-alerts-");
    appUrl = (await startApp(p)).url;
    browser = await launchBrowser();
    chain = await connectChain({ rpcUrl: p.network.rpc, accounts: 1 });
    const deployed = p.network.contracts.alertFeeds;
    if (deployed === undefined) throw new Error("the devnet's network file names no alertFeeds contract");
    feeds = attachAlertFeeds(chain.accounts[0] as Signer, deployed.address);
    const created = await (
      await feeds.createFeed(
        editors.map((e) => getAddress(e.address)),
        2,
      )
    ).wait();
    const feedId = Number(findEvent(created, feeds.interface, "FeedCreated").args.feedId);
    ref = { chainId: p.network.chainId, contract: deployed.address.toLowerCase(), feedId };
    replicaNode = await createIpfsNode({ listen: ["/ip4/127.0.0.1/tcp/0/ws"] });
    replica = createAlertReplica({
      ref: { chainId: ref.chainId, contract: ref.contract },
      feedIds: [feedId],
      chain: alertFeedChain(attachAlertFeeds(chain.provider, deployed.address), { fromBlock: deployed.deployBlock }),
      ipfs: replicaNode,
      pollMs: 500,
    });
    await replica.start();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page !== undefined) await screenshot(page, "alerts-failed").catch(() => undefined);
    const errors = pageErrors.splice(0);
    expect(errors, "uncaught errors in the pages").to.deep.equal([]);
  });

  after(async () => {
    await replica?.stop();
    await replicaNode?.stop();
    await chain?.close();
    await browser?.close();
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("the user creates a vault and imports yesterday's walk through Mitte", async () => {
    ({ page } = await openPerson({ browser, parties: p, appUrl, errors: pageErrors }, { name: "user", place: "vault" }));
    await page.getByRole("heading", { name: "Create your vault" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create vault" }).click();
    const at = (t: number) => new Date(t * 1000).toISOString();
    const fixes = [
      ...walk.slice(0, 8).map((t, i) => ({ lat: 52.518 + i * 0.0005, lon: 13.4 + i * 0.0008, t })),
      // The afternoon in Potsdam, outside every area.
      { lat: 52.39, lon: 13.06, t: yesterday * DAY_S + 16 * 3600 },
    ];
    const gpx = `<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>${fixes
      .map((f) => `<trkpt lat="${f.lat}" lon="${f.lon}"><time>${at(f.t)}</time></trkpt>`)
      .join("")}</trkseg></trk></gpx>`;
    const dir = path.join(p.dir, "files");
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, "walk.gpx");
    await writeFile(file, gpx);
    await page.getByLabel("Location file").setInputFiles(file, { timeout: 60_000 });
    await page.getByTestId("import-summary").waitFor({ timeout: 60_000 });
  });

  it("a feed that does not exist is refused by name; nothing is followed", async () => {
    await page.getByRole("tab", { name: "Alerts" }).click();
    await page.getByRole("heading", { name: "Public alerts" }).waitFor({ timeout: 60_000 });
    await page.getByTestId("no-alert-feeds").waitFor();
    await page.getByLabel("Alert feed id").fill(String(ref.feedId + 100));
    await page.getByRole("button", { name: "Follow this feed" }).click();
    await page.getByRole("alert").filter({ hasText: "UnknownAlertFeedError" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("no-alert-feeds").count()).to.equal(1);
    expect(await page.getByTestId("alerts-inbox").count()).to.equal(0);
    await noSeriousAxe(page, "alerts tab, unknown feed");
  });

  it("the public body publishes; the browser follows the feed, checks it against the chain and shows what concerns the user first", async () => {
    const mitte = { areaDesc: "Mitte", polygon: [MITTE], circle: [], geocode: [] };
    const flood = alert({
      identifier: "flood-1",
      headline: "Flood warning: Spree banks",
      area: mitte,
      instruction: "Keep away from the river banks.",
      sent: now - 3600,
    });
    const storm = alert({
      identifier: "storm-1",
      headline: "Storm warning: Paris centre",
      area: { areaDesc: "Paris centre", polygon: [PARIS], circle: [], geocode: [] },
      sent: now - 3000,
    });
    const gas = alert({ identifier: "gas-1", headline: "Gas leak: Alexanderplatz", area: mitte, sent: now - 2400 });
    const cancel = alert({ identifier: "gas-1-cancel", msgType: "Cancel", references: key(gas), sent: now - 1800 });
    const update = alert({
      identifier: "flood-2",
      msgType: "Update",
      references: key(flood),
      headline: "Flood warning: Spree banks (water still rising)",
      area: mitte,
      instruction: "Keep away from the river banks; sandbags at the town hall.",
      sent: now - 1200,
    });
    for (const cap of [flood, storm, gas, cancel, update]) await publish(cap);
    await p.waitFor("the replica holding the five entries", async () =>
      replica.heads().find((h) => h.feedId === ref.feedId && h.seq === 5) === undefined ? undefined : true,
    );

    await page.getByText("Where the alerts come from").click();
    const ws = nodeAddresses(replicaNode).find((a) => a.includes("/ws/"));
    if (ws === undefined) throw new Error("the replica's node has no WebSockets address");
    await page.getByLabel("Also fetch from (alert replica)").fill(ws);
    await page.getByLabel("Alert feed id").fill(String(ref.feedId));
    await page.getByRole("button", { name: "Follow this feed" }).click();
    const synced = page.getByTestId("alerts-synced");
    await synced.waitFor({ timeout: 120_000 });
    expect(await synced.textContent()).to.equal("5 new entries checked in 1 feed(s). 1 alert(s) in force concern you.");
    expect(await page.getByTestId("alert-feeds").textContent()).to.match(new RegExp(`Feed ${ref.feedId} · 5 entries checked`));

    const items = page.getByTestId("alert-item");
    expect(await items.count()).to.equal(2);
    // The update of the flood warning, concerning, first; the storm warning elsewhere after it.
    const first = items.nth(0);
    expect(await first.getAttribute("data-concerns")).to.equal("true");
    expect(await first.getByRole("heading").textContent()).to.include("Flood warning: Spree banks (water still rising)");
    expect(await first.getByTestId("alert-concerns").textContent()).to.match(/This concerns you · an update of an earlier alert/);
    const reasons = await first.getByTestId("alert-reasons").locator("li").allTextContents();
    expect(reasons.length).to.be.greaterThan(0);
    expect(reasons.join(" ")).to.include("Mitte");
    expect(reasons.join(" ")).to.match(/location history/);
    expect(await first.getByTestId("alert-instruction").textContent()).to.include("sandbags at the town hall");
    expect(await first.getByTestId("alert-severity").textContent()).to.match(/^Severe/);
    expect(await first.getByTestId("alert-areas").textContent()).to.equal("Mitte");
    const second = items.nth(1);
    expect(await second.getAttribute("data-concerns")).to.equal("false");
    expect(await second.getByRole("heading").textContent()).to.include("Storm warning: Paris centre");
    expect(await page.getByTestId("alerts-inbox").textContent()).not.to.include("Gas leak");
    await screenshot(page, "alerts-01-inbox");
    await noSeriousAxe(page, "alerts inbox");
  });

  it("the toggle shows the cancelled warning, marked cancelled, and the replaced one; a second check finds nothing new", async () => {
    await page.getByLabel(/Show cancelled and replaced alerts/).check();
    const gas = page.locator('[data-testid="alert-item"][data-state="cancelled"]');
    await gas.waitFor();
    expect(await gas.count()).to.equal(1);
    expect(await gas.getByRole("heading").textContent()).to.match(/^Cancelled\s+Gas leak: Alexanderplatz$/);
    expect(await gas.getByTestId("alert-state").textContent()).to.equal("Cancelled");
    expect(await gas.getByTestId("alert-concerns").textContent()).to.equal("It concerned you");
    // The cancellation itself stays on record, naming what it cancelled.
    const record = page.locator('[data-testid="alert-item"][data-state="record"]');
    expect(await record.count()).to.equal(1);
    expect(await record.textContent()).to.include("cancels entry 3 (Gas leak: Alexanderplatz)");
    const replaced = page.locator('[data-testid="alert-item"][data-state="updated"]');
    expect(await replaced.count()).to.equal(1);
    expect(await replaced.getByRole("heading").textContent()).to.match(/Replaced by an update\s+Flood warning: Spree banks$/);
    await screenshot(page, "alerts-02-all");
    await noSeriousAxe(page, "alerts inbox with cancelled");
    await page.getByLabel(/Show cancelled and replaced alerts/).uncheck();
    expect(await page.getByTestId("alert-item").count()).to.equal(2);

    await page.getByRole("button", { name: "Check for new alerts" }).click();
    await page.getByTestId("alerts-synced").filter({ hasText: "No new alerts" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("alert-item").count()).to.equal(2);
    // The tab fits a phone: nothing wider than 390 px.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await screenshot(page, "alerts-03-phone");
    expect(overflow, `the alerts tab is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
  });

  it("an entry anchored but withheld by every replica is named, nothing of it stored; it arrives once the replica serves it", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    const heat = alert({
      identifier: "heat-1",
      headline: "Heat warning: Mitte",
      area: { areaDesc: "Mitte", polygon: [MITTE], circle: [], geocode: [] },
      sent: now - 600,
    });
    const block = await publish(heat, { withheld: true });
    await page.getByRole("button", { name: "Check for new alerts" }).click();
    const failed = page.getByTestId("alerts-failed");
    await failed.waitFor({ timeout: 150_000 });
    expect(await failed.textContent()).to.match(
      new RegExp(
        `^Feed ${ref.feedId} not brought up to date \\(the entries before the one that failed are stored; check again later\\) — FeedUnavailableError: .*6`,
      ),
    );
    expect(await page.getByTestId("alert-item").count()).to.equal(2);
    expect(await page.getByTestId("alert-feeds").textContent()).to.include("5 entries checked");
    await noSeriousAxe(page, "alerts, a withheld entry");

    await putBlock(replicaNode.blockstore, block);
    await page.getByRole("button", { name: "Check for new alerts" }).click();
    await page
      .getByTestId("alerts-synced")
      .filter({ hasText: "1 new entry checked in 1 feed(s). 2 alert(s) in force concern you." })
      .waitFor({ timeout: 150_000 });
    expect(await page.getByTestId("alerts-failed").count()).to.equal(0);
    const items = page.getByTestId("alert-item");
    expect(await items.count()).to.equal(3);
    expect(await items.nth(2).getByRole("heading").textContent()).to.include("Storm warning");
    expect(await page.getByTestId("alert-feeds").textContent()).to.include("6 entries checked");
  });

  it("entries anchored but no valid alert are gaps: counted, the entries around them stored, listed as text behind a toggle", async () => {
    const mitte = { areaDesc: "Mitte", polygon: [MITTE], circle: [], geocode: [] };
    const road = alert({ identifier: "road-1", headline: "Road closure: Unter den Linden", area: mitte, sent: now - 500 });
    await publish(road); // 7
    // 8: a CAP message as the editors' tool would encode it, but its polygon does not close.
    const smoke = structuredClone(validateCap(alert({ identifier: "smoke-1", headline: "Smoke: Mitte", area: mitte, sent: now - 450 })));
    const area = smoke.info[0]?.area[0] as { polygon: string[] };
    area.polygon = [(area.polygon[0] ?? "").split(" ").slice(0, -1).join(" ")];
    await publishRaw({ v: 1, feed: ref, seq: head.seq + 1, epoch: 0, prev: head.cid, cap: smoke });
    // 9: a block that is no entry at all; its one key is an HTML tag, a right-to-left override and a long word.
    const hostile = `<img src=x onerror="document.title='pwned'">\u202e${"B".repeat(400)}`;
    await publishRaw({ [hostile]: 1 });
    // 10: a valid entry after the gaps links the last gap's anchored CID.
    const water = alert({ identifier: "water-1", headline: "Water main burst: Mitte", area: mitte, sent: now - 400 });
    await publish(water);

    await page.getByRole("button", { name: "Check for new alerts" }).click();
    await page
      .getByTestId("alerts-synced")
      .filter({ hasText: "2 new entries checked in 1 feed(s). 4 alert(s) in force concern you." })
      .waitFor({ timeout: 150_000 });
    expect(await page.getByTestId("alerts-failed").count()).to.equal(0);
    expect(await page.getByTestId("alerts-gaps-found").textContent()).to.equal(
      `2 entries could not be read (feed ${ref.feedId}, entry 8; feed ${ref.feedId}, entry 9): the feed's editors anchored them, but they hold no valid alert. Skipped for good; the entries after them were checked. Why: under "Show entries that could not be read" below.`,
    );
    expect(await page.getByTestId("alert-feeds").textContent()).to.include("10 entries checked (2 of them could not be read)");
    // The entries before the gaps (7, and 6 of the last sync) and after them (10) are in the inbox.
    const headings = await page.getByTestId("alert-item").getByRole("heading").allTextContents();
    expect(headings).to.have.length(5);
    for (const h of ["Road closure: Unter den Linden", "Water main burst: Mitte", "Heat warning: Mitte"])
      expect(
        headings.some((t) => t.includes(h)),
        h,
      ).to.equal(true);
    expect(await page.getByTestId("alerts-gaps").count()).to.equal(0); // behind the toggle

    await page.getByLabel("Show entries that could not be read (2)").check();
    const gaps = page.getByTestId("alert-gap");
    await gaps.first().waitFor();
    expect(await gaps.count()).to.equal(2);
    // Newest first: entry 9, then 8.
    expect(await gaps.nth(0).getAttribute("data-seq")).to.equal("9");
    const malformed = (await gaps.nth(0).textContent()) ?? "";
    expect(malformed).to.match(
      new RegExp(`^Feed ${ref.feedId}, entry 9 could not be read: MalformedEntryError: entry: unknown key "<img src=x onerror=`),
    );
    // The reason is text: no element made of it, the script in it never run, the override escaped, the word cut.
    const reason = (await gaps.nth(0).getByTestId("alert-gap-reason").textContent()) ?? "";
    expect(reason).to.include(`"<img src=x onerror=\\"document.title='pwned'\\">\\u{202e}BBB`);
    expect(reason).not.to.include("\u202e");
    expect([...reason]).to.have.length(200);
    expect(reason.endsWith("B…")).to.equal(true);
    expect(await page.getByTestId("alerts-gaps").locator("img").count()).to.equal(0);
    expect(await page.title()).not.to.equal("pwned");
    expect(await gaps.nth(1).getAttribute("data-seq")).to.equal("8");
    expect(await gaps.nth(1).textContent()).to.match(
      new RegExp(
        `^Feed ${ref.feedId}, entry 8 could not be read: UnclosedPolygonError: alert/info\\[0\\]/area\\[0\\]/polygon\\[0\\]: the polygon does not close`,
      ),
    );
    await screenshot(page, "alerts-04-gaps");
    await noSeriousAxe(page, "alerts, entries that could not be read");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `the list of unreadable entries is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
    await page.setViewportSize({ width: 1280, height: 900 });

    // Checked again: the gaps are not fetched again nor counted again, and stay listed.
    await page.getByRole("button", { name: "Check for new alerts" }).click();
    await page.getByTestId("alerts-synced").filter({ hasText: "No new alerts" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("alerts-gaps-found").count()).to.equal(0);
    expect(await page.getByTestId("alert-gap").count()).to.equal(2);
  });

  it("the researcher's SEIR fit worker runs in the browser under the app's CSP; a population too small is named", async () => {
    const worker = (await readdir(path.resolve(import.meta.dirname, "../../packages/app/dist/assets"))).find((f) =>
      /^model-fit\.worker-.*\.js$/.test(f),
    );
    if (worker === undefined) throw new Error("the app's build has no model-fit worker");
    const truth = simulateSeir({ population: 1e5, beta: 0.5, sigma: 1 / 5.2, gamma: 1 / 4, e0: 20, i0: 10, reportRate: 1 }, 50);
    const cases = truth.incidence.map((value, k) => ({ day: 20_400 + k, value: Math.round(value), sd: 5 }));
    const ask = (population: number) =>
      page.evaluate(
        ({ url, cases, population }) =>
          new Promise<{ r0?: number; forecast?: number; error?: { name: string } }>((resolve) => {
            const w = new Worker(url, { type: "module" });
            w.onmessage = (e: MessageEvent) => {
              if (e.data.progress !== undefined) return;
              w.terminate();
              resolve(e.data.error ? { error: e.data.error } : { r0: e.data.result.r0, forecast: e.data.result.forecast.length });
            };
            w.postMessage({ id: 1, op: "fit", cases, population, horizonDays: 14, bootstrap: 10 });
          }),
        { url: `/assets/${worker}`, cases, population },
      );
    const fit = await ask(1e5);
    expect(fit.error).to.equal(undefined);
    expect(fit.forecast).to.equal(14);
    expect(fit.r0).to.be.within(1.5, 2.5); // β/γ = 2
    expect((await ask(10)).error?.name).to.equal("PopulationTooSmallError");
  });

  it("the SEIR panel and chart, rendered with the app's styles in its page, pass axe and fit a phone", async () => {
    const html = await modelPreviewMarkup();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate((markup) => {
      const holder = document.createElement("div");
      holder.id = "model-preview";
      holder.innerHTML = markup;
      document.querySelector("main")?.append(holder);
    }, html);
    await page.getByTestId("model-chart").waitFor();
    await screenshot(page, "model-01-panel");
    await noSeriousAxe(page, "SEIR panel and chart");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `the SEIR panel is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
    await page.evaluate(() => document.getElementById("model-preview")?.remove());
  });
});
