// Shared mode in the app, in a real browser (Debian's Chromium through playwright-core), against separate processes:
// `mosaic devnet`, two staked reducers (each registers its aggregator key at start) and `mosaic app`. A researcher
// writes a ready job in shared mode and posts it on SharedJobs with the two aggregators the app chose; a user with a
// vault in the browser sees the job's mode before consenting (the label, what the mode means, the exact answer that
// leaves only split and encrypted, the ε charged), answers with no wallet, and after the aggregators commit, reveal and
// finalise, the researcher reads the released sum with its projection and what its error bars cover.
import path from "node:path";
import { SHARED_JOB_ID_BASE, SharedJobs__factory } from "@mosaic/protocol";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, ZeroHash } from "ethers";
import { readFile } from "node:fs/promises";
import {
  connectTestWallet as connect,
  expectNoSeriousAxe as noSeriousAxe,
  openPerson,
  type Person,
  startApp,
} from "../browser/app-world.js";
import { type BrowserHarness, launchBrowser, screenshot, type TestWallet } from "../browser/harness.js";
import { Parties } from "../parties.js";

const GPX = path.resolve(import.meta.dirname, "../../packages/vault/test/fixtures/track.gpx");
const PASSPHRASE = "a browser vault passphrase";

type WithWallet = Person & { wallet: TestWallet };

describe("shared mode in the app, in a real browser, against a devnet, two staked reducers as aggregators and `mosaic app`", function () {
  this.timeout(900_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  const people: Record<string, WithWallet> = {};
  const pageErrors: string[] = [];
  let label = "";

  async function person(name: string, key: string, place: string): Promise<WithWallet> {
    const who = (await openPerson({ browser, parties: p, appUrl, errors: pageErrors }, { name, key, place })) as WithWallet;
    people[name] = who;
    return who;
  }

  /** SharedJobs on the devnet, read from Node. */
  function sharedJobs() {
    const address = p.network.contracts.sharedJobs?.address;
    if (address === undefined) throw new Error("the devnet's network file names no SharedJobs");
    return SharedJobs__factory.connect(address, new JsonRpcProvider(p.network.rpc, p.network.chainId, { staticNetwork: true }));
  }

  /** Waits until reducer `i`'s operator has an aggregator key on SharedJobs (a reducer registers it when it starts). */
  async function aggregatorKeyOf(i: number): Promise<void> {
    const shared = sharedJobs();
    const operator = new Wallet((await readFile(path.join(p.dir, p.key(`reducer-${i}`)), "utf8")).trim()).address;
    await p.waitFor(`reducer ${i}'s aggregator key`, async () =>
      (await shared.aggregatorKeyOf(operator)) !== ZeroHash ? true : undefined,
    );
  }

  before(async () => {
    p = await Parties.withDevnet(3, "mosaic-app-shared-");
    // One reducer only at first: a shared job cannot be posted with one aggregator (the second starts in the test).
    await p.startStakedReducer(1);
    await aggregatorKeyOf(1);
    appUrl = (await startApp(p)).url;
    browser = await launchBrowser();
  });

  afterEach(() => {
    const errors = pageErrors.splice(0);
    expect(errors, "uncaught errors in the pages").to.deep.equal([]);
  });

  after(async () => {
    await browser?.close();
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("a user makes a vault in the browser, imports a GPX track and joins the open group", async () => {
    const { page } = await person("user", "user-1", "vault");
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
    await page.getByLabel("Location file").setInputFiles(GPX);
    expect(await page.getByTestId("import-summary").textContent({ timeout: 60_000 })).to.match(/Imported \d+ fixes/);
    await connect(page);
    await page.getByRole("tab", { name: "Groups" }).click();
    const group = String(p.network.openGroup);
    await page.getByRole("button", { name: `Join group ${group}` }).click({ timeout: 60_000 });
    await page.getByTestId(`group-${group}`).getByText("member").waitFor({ timeout: 90_000 });
  });

  it("a researcher writes a ready job in shared mode; the preview names two aggregators; it is posted on SharedJobs as s1", async () => {
    const { page } = await person("researcher", "researcher", "research");
    await connect(page);
    await page.getByTestId("ready-job").selectOption({ value: "km-per-day" });
    await page.getByTestId("mode-shared").check();
    await page.getByLabel("Closes in (minutes)").fill("15");
    await page.getByLabel("Challenge window (seconds)").fill("60");
    await page.getByLabel("Minimum participants").fill("1");
    await page.getByRole("button", { name: "Write the spec" }).click();
    await page.getByTestId("spec-valid").waitFor();
    const spec = JSON.parse(await page.getByTestId("spec-json").inputValue()) as { mode?: string; privacy: { mechanism: string } };
    expect(spec.mode).to.equal("shared");
    expect(spec.privacy.mechanism).to.equal("discrete-gaussian");
    expect(await page.locator('[data-field="mode"]').textContent()).to.match(/^shared: /);
    await page.getByTestId("group").fill(String(p.network.openGroup));
    // One reducer with an aggregator key: the preview says a shared job needs two, and nothing can be posted.
    await page.getByTestId("preview-cost").click();
    await page
      .getByRole("alert")
      .filter({ hasText: "NoAggregatorsError: a shared-mode job needs two aggregators of different operators" })
      .waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("cost-preview").count()).to.equal(0);
    await page.getByTestId("post-job").click();
    await page
      .getByRole("alert")
      .filter({ hasText: "NoAggregatorsError: a shared-mode job needs two aggregators of different operators" })
      .nth(1)
      .waitFor({ timeout: 60_000 });
    expect(await sharedJobs().jobCount()).to.equal(0n);
    await screenshot(page, "shared-00-research-one-aggregator");
    // A second operator starts a staked reducer: now there are two.
    await p.startStakedReducer(2);
    await aggregatorKeyOf(2);
    // Its key and its directory record land separately: preview again until both are read, as a researcher would.
    await p.waitFor("a preview with two aggregators", async () => {
      await page.getByTestId("preview-cost").click();
      await page.getByTestId("preview-cost").isEnabled();
      await page.waitForTimeout(1000);
      return (await page.getByTestId("cost-preview").count()) > 0 ? true : undefined;
    });
    expect(await page.getByTestId("cost-mode").textContent({ timeout: 60_000 })).to.match(/SharedJobs/);
    expect(await page.getByTestId("cost-aggregators").textContent()).to.match(/leader 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} .*, 0x/);
    await screenshot(page, "shared-01-research-preview");
    await noSeriousAxe(page, "shared preview");
    await page.getByTestId("post-job").click();
    label = ((await page.getByTestId("posted-job-id").textContent({ timeout: 180_000 })) ?? "").trim();
    expect(label).to.equal("s1");
    // On-chain: a SharedJobs job with two distinct aggregators.
    const job = await sharedJobs().getSharedJob(SHARED_JOB_ID_BASE + 1n);
    expect(job.aggregators[0]).to.not.equal(job.aggregators[1]);
    // The page watches it: its stage from SharedJobs, labelled shared.
    await page.getByTestId("job-mode").waitFor({ timeout: 60_000 });
    expect((await page.getByTestId("job-stage").textContent())?.trim()).to.equal("collecting");
    await page.getByTestId("aggregators-table").waitFor();
    await screenshot(page, "shared-02-research-watch");
    await noSeriousAxe(page, "shared watch");
    // A shared label that names no job: said, by name, and the page goes on.
    await page.goto(`${appUrl}/#/research/job/s9`);
    await page.getByRole("alert").filter({ hasText: "there is no shared job s9" }).waitFor({ timeout: 60_000 });
    await page.goto(`${appUrl}/#/research/job/${label}`);
    await page.getByTestId("job-mode").waitFor({ timeout: 60_000 });
  });

  it("the user's consent screen says Shared mode, what it means and the exact answer that leaves split; axe is clean; the answer goes with no wallet", async () => {
    const { page, wallet } = people.user as WithWallet;
    await page.getByRole("tab", { name: "Jobs" }).click();
    await page.getByRole("button", { name: "Check for jobs" }).click();
    const listing = page.getByTestId(`job-${label}`);
    await listing.waitFor({ timeout: 120_000 });
    expect(await listing.getByTestId("job-mode").textContent()).to.equal("Shared mode");
    await page.getByRole("button", { name: `Review job ${label}` }).click({ timeout: 60_000 });
    await page.getByTestId("consent").waitFor({ timeout: 120_000 });
    const mode = page.getByTestId("consent-mode");
    expect(await mode.getAttribute("data-mode")).to.equal("shared");
    expect(await page.getByTestId("mode-label").textContent()).to.match(/^Shared mode · ε (≈ )?[\d./]+ charged$/);
    await page.getByRole("heading", { name: /Shared mode/ }).waitFor();
    const disclosure = (await page.getByTestId("mode-disclosure").locator("li").allTextContents()).join(" ");
    expect(disclosure).to.match(/split in two encrypted shares/);
    expect(disclosure).to.match(/if the two collude they learn your exact answer/);
    expect(disclosure).to.match(/cannot check that an aggregator summed its shares or added its noise/);
    expect(await page.getByTestId("mode-disclosure").isVisible()).to.equal(true);
    const payload = (await page.getByTestId("payload").textContent()) ?? "";
    expect(payload).to.match(/exact answer/);
    expect(payload).to.match(/split in two encrypted shares/);
    expect(payload).to.not.match(/noised/i);
    expect(await page.getByTestId("budget").textContent()).to.match(
      /ε (≈ )?[\d./]+ charged to your budget \(discrete-gaussian, added by each aggregator/,
    );
    // The mode is said before the consent button.
    const [modeBox, button] = await Promise.all([
      mode.boundingBox(),
      page.getByRole("button", { name: "Consent and answer" }).boundingBox(),
    ]);
    expect(modeBox?.y ?? Number.POSITIVE_INFINITY).to.be.lessThan(button?.y ?? 0);
    await screenshot(page, "shared-03-vault-consent");
    await noSeriousAxe(page, "shared consent");

    const before = wallet.calls.length;
    await page.getByLabel("Send").selectOption({ label: "right away (less private)" });
    await page.getByRole("button", { name: "Consent and answer" }).click();
    const answered = await page.getByTestId("answered").textContent({ timeout: 240_000 });
    // Both aggregators hold their share: the app waits for both receipts of a shared job.
    expect(answered).to.match(/Answered\. 2 reducer\(s\) signed a receipt/);
    expect(wallet.calls.slice(before), "answering touched the wallet").to.deep.equal([]);
    await page.getByTestId(`answer-${label}`).waitFor();
    await page.getByRole("tab", { name: "Privacy" }).click();
    await page.getByTestId("audit").waitFor();
    await page.getByRole("tab", { name: "Jobs" }).click();
  });

  it("after collection both aggregators commit and reveal, and the job finalises; the researcher reads the released sum with its projection and notes", async () => {
    const shared = sharedJobs();
    const id = SHARED_JOB_ID_BASE + 1n;
    const job = await shared.getSharedJob(id);
    await p.skipTo(Number(job.collectionDeadline) + 1);
    // Commit, then reveal (SharedJobs' commit-reveal): both noised shares open before the fraud-proof window ends.
    await p.waitFor("both aggregators committed and revealed", async () => {
      const commits = await Promise.all([shared.getCommit(id, 0), shared.getCommit(id, 1)]);
      return commits.every((c) => c.revealed) ? true : undefined;
    });
    await p.skipTo(Number(job.finalizeAfter) + 5);
    const { page } = people.researcher as WithWallet;
    await page.goto(`${appUrl}/#/research/job/${label}`);
    const stage = await p.waitFor("the shared job final or refunded in the researcher's page", async () => {
      const text = ((await page.getByTestId("job-stage").textContent()) ?? "").trim();
      return text === "final" || text === "refunded" ? text : undefined;
    });
    expect(stage, (await page.getByTestId("job-standing").textContent()) ?? "").to.equal("final");
    expect(await page.getByTestId("job-standing").textContent()).to.match(/final: the sum of 1 report/);
    await page.getByTestId("result-table").waitFor({ timeout: 60_000 });
    await page.getByTestId("result-chart").waitFor();
    expect(await page.getByTestId("result-table").locator("thead th").allTextContents()).to.include("Projected");
    expect(await page.getByTestId("result-error-bars").textContent()).to.match(/^Error bars cover the /);
    expect(await page.getByTestId("result-projection").textContent()).to.match(/^Projected: /);
    await screenshot(page, "shared-04-research-result");
    await noSeriousAxe(page, "shared result");

    const user = (people.user as WithWallet).page;
    await user.getByTestId(`answer-${label}`).getByRole("button", { name: "Check inclusion" }).click();
    const verdict = await user.getByTestId("inclusion").textContent({ timeout: 120_000 });
    expect(verdict).to.match(/^Counted: leaf 0 of 1 in the share set/);
    await screenshot(user, "shared-05-vault-inclusion");
  });
  it("the shared job's screens fit a phone (390 px): the research watch page with its result, and the vault's jobs", async () => {
    const checks: [WithWallet, string][] = [
      [people.researcher as WithWallet, `research/job/${label}`],
      [people.user as WithWallet, "vault"],
    ];
    for (const [who, place] of checks) {
      const { page } = who;
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${appUrl}/#/${place}`);
      await page.reload();
      if (place === "vault") {
        await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
        await page.getByRole("button", { name: "Unlock" }).click();
        await page.getByRole("tab", { name: "Jobs" }).click({ timeout: 60_000 });
        await page.getByTestId(`answer-${label}`).waitFor({ timeout: 60_000 });
      } else await page.getByTestId("result-table").waitFor({ timeout: 60_000 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      const name = `shared-06-phone-${place.split("/")[0]}`;
      await screenshot(page, name);
      expect(overflow, `${name}: the page is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
      await noSeriousAxe(page, name);
    }
  });
});
