// The app in a real browser (Debian's Chromium through playwright-core) against separate processes: `mosaic devnet`
// (anvil), two reducers and `mosaic app`, as a newcomer starts them. Each person has their own browser profile and
// a test wallet (EIP-6963, signing in Node with a devnet key): an operator stakes and watches, a user keeps a vault
// in the browser and answers a job, a researcher posts that job and reads the result; two more users answer from the
// CLI so the job reaches its minimum. Bad input along the way: a wrong passphrase, a malformed spec, a rejected
// signature, the wallet on the wrong chain; each shows its message and changes nothing.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { BrowserContext, Page } from "playwright-core";
import {
  axeViolations,
  type BrowserHarness,
  describeViolations,
  installTestWallet,
  launchBrowser,
  screenshot,
  type TestWallet,
} from "../browser/harness.js";
import { type Daemon, freePort, Parties } from "../parties.js";

const GPX = path.resolve(import.meta.dirname, "../../packages/vault/test/fixtures/track.gpx");
const PASSPHRASE = "a browser vault passphrase";

interface Person {
  context: BrowserContext;
  page: Page;
  wallet: TestWallet;
}

describe("the app in a real browser, against a devnet, two reducers and `mosaic app` as separate processes", function () {
  this.timeout(900_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  let app: Daemon;
  const reducers: { port: number }[] = [];
  const people: Record<string, Person> = {};

  /** A person with a fresh browser profile and a wallet holding the devnet key `key`, on the app's `place`. */
  async function person(name: string, key: string, place: string): Promise<Person> {
    const context = await browser.newProfile();
    const privateKey = (await readFile(path.join(p.dir, p.key(key)), "utf8")).trim();
    const wallet = await installTestWallet(context, { rpc: p.network.rpc, chainId: p.network.chainId, privateKey });
    const page = await context.newPage();
    page.on("pageerror", (err) => console.error(`[${name}] page error: ${err.message}`));
    await page.goto(`${appUrl}/#/${place}`);
    people[name] = { context, page, wallet };
    return people[name] as Person;
  }

  async function connect(page: Page): Promise<void> {
    await page.getByRole("button", { name: /Connect Mosaic Test Wallet/ }).click();
    await page.getByTestId("wallet").waitFor();
  }

  async function noSeriousAxe(page: Page, screen: string): Promise<void> {
    const violations = await axeViolations(page);
    expect(violations, `${screen}: ${describeViolations(violations)}`).to.deep.equal([]);
  }

  before(async () => {
    p = await Parties.withDevnet(3, "mosaic-app-");
    reducers.push(await p.startStakedReducer(1));
    const port = await freePort();
    app = p.start(["app", "--network", p.networkFile, "--port", String(port)]);
    appUrl = await p.waitFor("mosaic app", async () => {
      if (app.proc.exitCode !== null) throw new Error(`mosaic app exited ${app.proc.exitCode}:\n${app.err}`);
      return /http:\/\/127\.0\.0\.1:\d+/.exec(app.out)?.[0];
    });
    browser = await launchBrowser();
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
  });

  it("the user joins the open group with the wallet; a rejected signature changes nothing", async () => {
    const { page, wallet } = people.user as Person;
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
});
