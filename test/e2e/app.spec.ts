// The app in a real browser (Debian's Chromium through playwright-core) against separate processes: `mosaic devnet`
// (anvil), two reducers and `mosaic app`, as a newcomer starts them. Each person has their own browser profile and
// a test wallet (EIP-6963, signing in Node with a devnet key): an operator stakes and watches, a user keeps a vault
// in the browser and answers a job, a researcher posts that job and reads the result; two more users answer from the
// CLI so the job reaches its minimum. Bad input along the way: a wrong passphrase, a malformed spec, a rejected
// signature, the wallet on the wrong chain; each shows its message and changes nothing.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { toQuantity } from "ethers";
import {
  connectTestWallet as connect,
  expectNoSeriousAxe as noSeriousAxe,
  openPerson,
  type Person,
  startApp,
} from "../browser/app-world.js";
import { type BrowserHarness, launchBrowser, screenshot, type TestWallet } from "../browser/harness.js";
import { freePort, Parties } from "../parties.js";

const GPX = path.resolve(import.meta.dirname, "../../packages/vault/test/fixtures/track.gpx");
const PASSPHRASE = "a browser vault passphrase";

/** Everyone in these journeys has a wallet. */
type WithWallet = Person & { wallet: TestWallet };

describe("the app in a real browser, against a devnet, two reducers and `mosaic app` as separate processes", function () {
  this.timeout(900_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  const reducers: { port: number }[] = [];
  const people: Record<string, WithWallet> = {};
  const pageErrors: string[] = [];
  let jobId = "";

  /** A person with a fresh browser profile and a wallet holding the devnet key `key`, on the app's `place`. */
  async function person(name: string, key: string, place: string): Promise<WithWallet> {
    const who = (await openPerson({ browser, parties: p, appUrl, errors: pageErrors }, { name, key, place })) as WithWallet;
    people[name] = who;
    return who;
  }

  before(async () => {
    p = await Parties.withDevnet(3, "mosaic-app-");
    reducers.push(await p.startStakedReducer(1));
    appUrl = (await startApp(p)).url;
    browser = await launchBrowser();
  });

  afterEach(() => {
    const errors = pageErrors.splice(0);
    expect(errors, "uncaught errors in the pages").to.deep.equal([]);
    // Every transaction the app asked a wallet for names the network's chain, so a wallet switched to another chain
    // after the app's check refuses it rather than sending it there.
    for (const [name, who] of Object.entries(people))
      for (const call of who.wallet.calls.filter((c) => c.method === "eth_sendTransaction"))
        expect((call.params[0] as { chainId?: string }).chainId, `${name}'s transaction names no chain`).to.equal(
          toQuantity(p.network.chainId),
        );
  });

  after(async () => {
    await browser?.close();
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("a user creates a vault in the browser; a wrong passphrase leaves it locked; a GPX file imports with progress", async () => {
    const { page } = await person("user", "user-1", "vault");
    await page.getByRole("heading", { name: "Create your vault" }).waitFor();
    await screenshot(page, "01-vault-create");
    await noSeriousAxe(page, "create vault");
    // Two passphrases that differ: the message, and still no vault.
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(`${PASSPHRASE}!`);
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("alert").filter({ hasText: "the two passphrases differ" }).waitFor();
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
    // Lock, then a wrong passphrase: the message, and the vault stays locked.
    await page.getByRole("button", { name: "Lock" }).click();
    await page.getByLabel("Passphrase", { exact: true }).fill("not the passphrase");
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong passphrase" }).waitFor({ timeout: 60_000 });
    await screenshot(page, "02-vault-wrong-passphrase");
    expect(await page.getByRole("tab", { name: "Data" }).count()).to.equal(0);
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
    // Import a GPX track: the summary, and the ability's count.
    await page.getByLabel("Location file").setInputFiles(GPX);
    const summary = await page.getByTestId("import-summary").textContent({ timeout: 60_000 });
    expect(summary).to.match(/Imported \d+ fixes/);
    expect(Number(await page.getByTestId("count-location-history-points").textContent())).to.be.greaterThan(0);
    await screenshot(page, "03-vault-data");
    await noSeriousAxe(page, "vault data");
    // A second tab of the same browser cannot open the vault while this one has it (two writers would fork its log).
    const { context } = people.user as WithWallet;
    const second = await context.newPage();
    await second.goto(`${appUrl}/#/vault`);
    await second.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await second.getByRole("button", { name: "Unlock" }).click();
    await second.getByRole("alert").filter({ hasText: "open in another tab" }).waitFor({ timeout: 60_000 });
    expect(await second.getByRole("tab", { name: "Data" }).count()).to.equal(0);
    await second.close();
  });

  it("the user joins the open group with the wallet; a rejected signature changes nothing", async () => {
    const { page, wallet } = people.user as WithWallet;
    await connect(page);
    await page.getByRole("tab", { name: "Groups" }).click();
    const group = String(p.network.openGroup);
    const join = page.getByRole("button", { name: `Join group ${group}` });
    await join.waitFor({ timeout: 60_000 });
    const before = wallet.calls.length;
    wallet.rejectNext("eth_sendTransaction");
    await join.click();
    await page.getByRole("alert").filter({ hasText: "You rejected the request" }).waitFor({ timeout: 60_000 });
    expect(wallet.calls.slice(before).map((c) => c.method)).to.include("eth_sendTransaction");
    await page.getByRole("button", { name: `Join group ${group}` }).waitFor();
    await page.getByRole("button", { name: `Join group ${group}` }).click();
    await page.getByTestId(`group-${group}`).getByText("member").waitFor({ timeout: 90_000 });
    await screenshot(page, "04-vault-groups");
    await noSeriousAxe(page, "vault groups");
  });

  it("an operator stakes with the wallet (the wrong chain refused first) and watches both reducers on-chain", async () => {
    const { page, wallet } = await person("operator", "reducer-2", "operate");
    await connect(page);
    // The wallet on another chain: the app says so, refuses to send, and offers the switch.
    await wallet.setChain(1);
    await page.getByText("wallet on chain 1").waitFor();
    await page.getByTestId("stake-input").fill("1");
    await page.getByTestId("stake-button").click();
    await page.getByRole("alert").filter({ hasText: "your wallet is on chain 1" }).waitFor();
    expect(wallet.calls.map((c) => c.method)).not.to.include("eth_sendTransaction");
    await screenshot(page, "05-operate-wrong-chain");
    await page.getByRole("button", { name: `Switch to chain ${p.network.chainId}` }).click();
    await page.getByText("wallet on chain 1").waitFor({ state: "detached" });
    await page.getByTestId("stake-button").click();
    await page
      .getByTestId("stake-amount")
      .filter({ hasText: /^1(\.0)? ETH/ })
      .waitFor({ timeout: 60_000 });
    // The operator starts the node they staked for; both reducers appear from the directory.
    const port = await freePort();
    p.startReducer(2, port, [new URL(appUrl).origin]);
    await p.waitFor(`reducer on ${port}`, () => p.status(port, "/health"));
    reducers.push({ port });
    await p.waitFor("both reducers on the operate page", async () => {
      await page.getByRole("button", { name: "Refresh reducers" }).click();
      return (await page.getByTestId("reducers-table").locator("tbody tr").count()) >= 2 ? true : undefined;
    });
    await page.getByTestId("status-url").fill(`http://127.0.0.1:${port}`);
    await page.getByTestId("status-url").press("Enter");
    await page.getByTestId("reducer-health").first().waitFor({ timeout: 30_000 });
    await screenshot(page, "06-operate");
    await noSeriousAxe(page, "operate");
  });

  it("a researcher sees a malformed spec named, then composes a ready job and posts it with the wallet", async () => {
    // Two more people join the group from the CLI, so the job can reach its minimum of three.
    for (const i of [2, 3]) await p.makeUser(i, GPX);
    const { page } = await person("researcher", "researcher", "research");
    await connect(page);
    await page.getByTestId("spec-json").fill('{"v": 1, "title": ');
    await page
      .getByTestId("spec-errors")
      .getByText(/JSON|json/)
      .waitFor();
    expect(await page.getByTestId("post-job").isDisabled()).to.equal(true);
    await screenshot(page, "07-research-malformed");
    await page.getByTestId("ready-job").selectOption({ value: "km-per-day" });
    await page.getByLabel("Closes in (minutes)").fill("15");
    await page.getByLabel("Challenge window (seconds)").fill("60");
    await page.getByLabel("Minimum participants").fill("3");
    await page.getByRole("button", { name: "Write the spec" }).click();
    await page.getByTestId("spec-valid").waitFor();
    await page.getByTestId("group").fill(String(p.network.openGroup));
    await page.getByTestId("preview-cost").click();
    await page.getByTestId("cost-total").waitFor({ timeout: 60_000 });
    await page.getByTestId("post-job").click();
    jobId = ((await page.getByTestId("posted-job-id").textContent({ timeout: 180_000 })) ?? "").trim();
    expect(jobId).to.match(/^\d+$/);
    await screenshot(page, "08-research-posted");
    await noSeriousAxe(page, "research");
    for (const r of reducers) await p.waitFor(`reducer ${r.port} collecting job ${jobId}`, () => p.status(r.port, `/jobs/${jobId}`));
  });

  it("the user reads the consent screen and answers from the browser: no wallet, no transaction; receipts come back", async () => {
    const { page, wallet } = people.user as WithWallet;
    await page.getByRole("tab", { name: "Jobs" }).click();
    await page.getByRole("button", { name: "Check for jobs" }).click();
    await page.getByRole("button", { name: `Review job ${jobId}` }).click({ timeout: 60_000 });
    await page.getByTestId("consent").waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("budget").textContent()).to.match(/budget left/);
    await screenshot(page, "09-vault-consent");
    await noSeriousAxe(page, "consent");
    const before = wallet.calls.length;
    await page.getByLabel("Send").selectOption({ label: "right away (less private)" });
    await page.getByRole("button", { name: "Consent and answer" }).click();
    const answered = await page.getByTestId("answered").textContent({ timeout: 240_000 });
    expect(answered).to.match(/Answered\. [12] reducer\(s\) signed a receipt/);
    expect(wallet.calls.slice(before), "answering touched the wallet").to.deep.equal([]);
    await page.getByRole("tab", { name: "Privacy" }).click();
    await page.getByTestId("audit").waitFor();
    await screenshot(page, "10-vault-audit");
    await page.getByRole("tab", { name: "Jobs" }).click();
    // The two CLI users answer too.
    for (const i of [2, 3]) await p.ok(["vault", "answer", jobId, "--yes", "--delay-max", "0", "--network", p.networkFile, ...p.user(i)]);
  });

  it("after the deadline and the challenge window the researcher reads the result; the user's answer is counted", async () => {
    for (const r of reducers)
      await p.waitFor(`reducer ${r.port} holding 3 answers`, async () =>
        Number((await p.status<{ accepted?: number }>(r.port, `/jobs/${jobId}`))?.accepted ?? 0) >= 3 ? true : undefined,
      );
    const job = (await p.okJson<{ standing: { collectionDeadline: number } }>(["job", "result", jobId, "--network", p.networkFile]))
      .standing;
    await p.skipTo(job.collectionDeadline + 1);
    for (const r of reducers)
      await p.waitFor(`reducer ${r.port} proposing`, async () =>
        (await p.status<{ proposed?: unknown }>(r.port, `/jobs/${jobId}`))?.proposed ? true : undefined,
      );
    await p.skipTo(job.collectionDeadline + 2 * 60 + 5);
    const { page } = people.researcher as WithWallet;
    await page.goto(`${appUrl}/#/research/job/${jobId}`);
    await p.waitFor("the job final in the researcher's page", async () =>
      ((await page.getByTestId("job-stage").textContent()) ?? "").trim() === "final" ? true : undefined,
    );
    expect(await page.getByTestId("job-standing").textContent()).to.match(/final/i);
    await page.getByTestId("result-table").waitFor({ timeout: 60_000 });
    await page.getByTestId("result-chart").waitFor();
    const download = page.waitForEvent("download");
    await page.getByTestId("download-csv").click();
    const csv = (await readFile(await (await download).path(), "utf8")).trim().split("\n");
    // A header and one row per histogram bin (km-per-day has six), each with a number for its estimate.
    expect(csv).to.have.length(7);
    for (const row of csv.slice(1))
      expect(
        row.split(",").some((cell) => /^-?\d+(\.\d+)?$/.test(cell)),
        row,
      ).to.equal(true);
    await screenshot(page, "11-research-result");
    await noSeriousAxe(page, "result");

    const user = (people.user as WithWallet).page;
    await user.getByRole("button", { name: "Check inclusion" }).click();
    const verdict = await user.getByTestId("inclusion").textContent({ timeout: 120_000 });
    expect(verdict).to.match(/^Counted: leaf \d+ of 3; its Merkle path hashes to the root/);
    await screenshot(user, "12-vault-inclusion");
  });

  it("every screen fits a phone (390 px, nothing wider than the screen) and works from the keyboard", async () => {
    const checks: [WithWallet, string, string][] = [
      [people.user as WithWallet, "vault", "Data"],
      [people.user as WithWallet, "vault", "Jobs"],
      [people.user as WithWallet, "vault", "Privacy"],
      [people.researcher as WithWallet, "research", ""],
      [people.operator as WithWallet, "operate", ""],
    ];
    for (const [who, place, tab] of checks) {
      const { page } = who;
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${appUrl}/#/${place}`);
      // A change of hash alone does not load the page again: reload, as a person coming back would.
      await page.reload();
      if (place === "vault") {
        // A reload locks the vault: unlock it from the keyboard alone.
        await page.getByLabel("Passphrase", { exact: true }).focus();
        await page.keyboard.type(PASSPHRASE);
        await page.keyboard.press("Enter");
        await page.getByRole("tab", { name: tab }).waitFor({ timeout: 60_000 });
        await page.getByRole("tab", { name: tab }).focus();
        await page.keyboard.press("Enter");
      } else await page.getByRole("heading").first().waitFor();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      const name = `13-phone-${place}${tab === "" ? "" : `-${tab.toLowerCase()}`}`;
      await screenshot(page, name);
      expect(overflow, `${name}: the page is ${overflow} px wider than a phone's screen`).to.be.at.most(1);
      await noSeriousAxe(page, name);
    }
  });
});
