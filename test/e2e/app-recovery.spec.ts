// Social recovery in a real browser (Debian's Chromium through playwright-core) against `mosaic devnet` and `mosaic
// app` as separate processes. An owner's browser vault names two guardians, one with a browser vault and one with the
// CLI's (the files are the same), and protects itself 2 of 2, the wallet anchoring the guardian set on the recovery
// contract; the guardians accept their invitation files. The owner's browser is lost: a fresh profile asks for
// recovery with a request file, the guardians approve it (signed for the chain with their guardian keys), and the
// fresh profile rebuilds the vault from the approval files, its wallet starting the on-chain recovery. Bad input on the way: a garbage file, an approval of another request
// (made with the CLI) and too few approvals, each named, each leaving no vault and nothing started on-chain.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { attachVaultRecovery } from "@mosaic/protocol";
import { expect } from "chai";
import { JsonRpcProvider, Network, ZeroAddress } from "ethers";
import type { Page } from "playwright-core";
import {
  connectTestWallet as connect,
  expectNoSeriousAxe as noSeriousAxe,
  openPerson,
  type Person,
  startApp,
} from "../browser/app-world.js";
import { type BrowserHarness, launchBrowser, screenshot } from "../browser/harness.js";
import { Parties } from "../parties.js";

const PASSPHRASE = "a browser vault passphrase";
const GPX = path.resolve(import.meta.dirname, "../../packages/vault/test/fixtures/track.gpx");

describe("social recovery in a real browser, against a devnet and `mosaic app` as separate processes", function () {
  this.timeout(300_000);
  let p: Parties;
  let browser: BrowserHarness;
  let appUrl = "";
  let files = "";
  const pageErrors: string[] = [];

  /** A person with a fresh browser profile on the vault page; with `key`, a wallet holding that devnet key. */
  const person = (name: string, key?: string): Promise<Person> =>
    openPerson({ browser, parties: p, appUrl, errors: pageErrors }, { name, key, place: "vault", acceptDownloads: true });

  async function createVault(page: Page): Promise<void> {
    await page.getByRole("heading", { name: "Create your vault" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
  }

  /** Clicks `button`, which downloads a file, and saves the file as `name` in the test's directory. */
  async function save(page: Page, button: ReturnType<Page["getByRole"]>, name: string): Promise<string> {
    const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
    const file = path.join(files, name);
    await download.saveAs(file);
    return file;
  }

  async function commitmentOf(page: Page): Promise<string> {
    await page.getByRole("tab", { name: "Groups" }).click();
    return ((await page.getByTestId("commitment").textContent()) ?? "").trim();
  }

  before(async () => {
    p = await Parties.withDevnet(2, "mosaic-app-recovery-");
    files = path.join(p.dir, "files");
    await mkdir(files);
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

  it("a guardian approves a recovery and the vault is restored in a fresh browser profile; bad approvals are named and restore nothing", async () => {
    const address = p.network.contracts.vaultRecovery?.address;
    if (address === undefined) throw new Error("the devnet's network file names no vaultRecovery contract");
    const chain = attachVaultRecovery(
      new JsonRpcProvider(p.network.rpc, Network.from(p.network.chainId), { staticNetwork: true }),
      address,
    );

    // The owner and Bea each keep a vault in their own browser; Cal keeps one with the CLI.
    const owner = await person("owner", "user-1");
    const bea = await person("bea");
    for (const x of [owner, bea]) await createVault(x.page);
    await bea.page.getByRole("tab", { name: "Guardians" }).click();
    const cal = ["--dir", "cal"];
    await p.ok(["vault", "init", ...cal, "--scrypt-n", "1024"]);
    const keys = [
      ((await bea.page.getByTestId("guardian-key").textContent()) ?? "").trim(),
      (await p.okJson<{ publicKey: string }>(["vault", "guardians", "whoami", ...cal])).publicKey,
    ];
    expect(keys[0]).to.match(/^0x[0-9a-f]{66}$/);

    // The owner adds both, protects 2 of 2 with the wallet anchoring the guardian set, and downloads the invitations.
    const { page: ownerPage } = owner;
    await connect(ownerPage);
    const commitment = await commitmentOf(ownerPage);
    expect(commitment).to.match(/^\d+$/);
    await ownerPage.getByRole("tab", { name: "Guardians" }).click();
    const accountId = ((await ownerPage.getByTestId("account-id").textContent()) ?? "").trim();
    expect(accountId).to.match(/^0x[0-9a-f]{64}$/);
    for (const [i, label] of ["Bea", "Cal"].entries()) {
      await ownerPage.getByLabel("Guardian's key").fill(keys[i] as string);
      await ownerPage.getByLabel("Name", { exact: true }).fill(label);
      await ownerPage.getByRole("button", { name: "Add guardian" }).click();
      await ownerPage.getByRole("button", { name: `Remove ${label}` }).waitFor();
    }
    await ownerPage.getByLabel("Threshold").fill("2");
    await ownerPage.getByLabel("Your name").fill("Ann");
    await ownerPage.getByRole("button", { name: "Protect vault" }).click();
    await ownerPage.getByTestId("invitations").waitFor({ timeout: 60_000 });
    await ownerPage.getByTestId("protection").filter({ hasText: "any 2 of 2 guardians" }).waitFor();
    expect(await chain.ownerOf(accountId)).to.equal(owner.wallet?.address);
    const invitations = [
      await save(ownerPage, ownerPage.getByRole("button", { name: "Download invitation for Bea" }), "invitation-bea.json"),
      await save(ownerPage, ownerPage.getByRole("button", { name: "Download invitation for Cal" }), "invitation-cal.json"),
    ];
    expect(JSON.parse(await readFile(invitations[0] as string, "utf8")).format).to.equal("mosaic/guardian-invitation/v1");
    await screenshot(ownerPage, "20-recovery-protect");
    await noSeriousAxe(ownerPage, "guardians (protect)");

    // Each guardian accepts their own invitation: Bea in her browser, Cal with the CLI.
    await bea.page.getByLabel("Invitation file").setInputFiles(invitations[0] as string);
    await bea.page.getByTestId("accepted").filter({ hasText: "You now guard Ann's vault" }).waitFor({ timeout: 30_000 });
    await bea.page.getByTestId("guardianships").getByText("from Ann").waitFor();
    await screenshot(bea.page, "21-recovery-accepted");
    const accepted = await p.okJson<{ accountId: string; from: string }>([
      "vault",
      "guardians",
      "accept",
      invitations[1] as string,
      ...cal,
    ]);
    expect(accepted).to.include({ accountId, from: "Ann" });

    // The owner's browser is lost. A fresh profile asks the guardians, its wallet to own the account afterwards.
    await owner.context.close();
    const fresh = await person("new browser", "user-2");
    const { page } = fresh;
    await connect(page);
    await page.getByRole("button", { name: "Recover a vault" }).click();
    await page.getByLabel("Account id").fill(accountId);
    await page.getByLabel("New passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("New passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Start recovery" }).click();
    const code = ((await page.getByTestId("request-code").textContent()) ?? "").trim();
    expect(code).to.match(/^[0-9a-f]{4}-[0-9a-f]{4}$/);
    const request = await save(page, page.getByRole("button", { name: "Download the request" }), "recovery-request.json");
    expect(JSON.parse(await readFile(request, "utf8")).newOwner).to.equal(fresh.wallet?.address);
    await screenshot(page, "22-recovery-request");
    await noSeriousAxe(page, "recover (request)");

    /** Guardian `g` approves the request file `file`, checking the code it shows, and saves the approval as `name`. */
    async function approve(g: Person, file: string, name: string, expectedCode?: string): Promise<string> {
      await g.page.getByLabel("Recovery request file").setInputFiles(file);
      const shown = ((await g.page.getByTestId("approve-code").textContent()) ?? "").trim();
      if (expectedCode !== undefined) expect(shown).to.equal(expectedCode);
      await g.page.getByRole("button", { name: "Approve: the code matches" }).click();
      return save(g.page, g.page.getByRole("button", { name: "Download the approval" }), name);
    }

    // Someone else's request for the same account, made with the CLI: Bea's approval of it opens nothing here.
    await p.ok(["vault", "recover", "request", "--account", accountId, "--out", path.join(files, "other-request.json")]);
    const foreign = await approve(bea, path.join(files, "other-request.json"), "approval-other.json");
    const approvalBea = await approve(bea, request, "approval-bea.json", code);
    await screenshot(bea.page, "23-recovery-approve");
    await noSeriousAxe(bea.page, "guardians (approve)");

    const upload = page.getByLabel("Approval files");
    const alert = page.getByRole("alert");
    await upload.setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("not an approval at all") });
    await alert.filter({ hasText: "UnrecognisedFileError: notes.json: not JSON" }).waitFor();
    await upload.setInputFiles(foreign);
    await alert.filter({ hasText: "approves another recovery request" }).waitFor();
    expect(await alert.textContent()).to.contain("UnrecognisedFileError");
    // A tampered approval: one byte of its inline share changed on the way.
    const tampered = JSON.parse(await readFile(approvalBea, "utf8")) as { approval: string };
    const bytes = Buffer.from(tampered.approval, "base64");
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
    tampered.approval = bytes.toString("base64");
    await writeFile(path.join(files, "approval-tampered.json"), JSON.stringify(tampered));
    await upload.setInputFiles(path.join(files, "approval-tampered.json"));
    await alert.filter({ hasText: "InlineBlockMismatchError" }).waitFor();
    await screenshot(page, "24-recovery-bad-approval");
    expect(await page.getByTestId("approvals").count(), "no bad file was kept").to.equal(0);

    // One good approval is below the threshold: named, and no vault, nothing started on-chain.
    await upload.setInputFiles(approvalBea);
    await page.getByTestId("approvals").getByText("approval-bea.json").waitFor();
    // The device key sits sealed under the recovery's passphrase: another passphrase opens nothing.
    const stored = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith("mosaic-recovery-"))?.[1] ?? "");
    expect(stored).to.include("sealedDeviceKey").and.not.include("devicePrivateKey");
    await page.getByLabel("Recovery passphrase").fill("not the recovery passphrase");
    await page.getByRole("button", { name: "Restore the vault" }).click();
    await alert.filter({ hasText: "WrongPassphraseError" }).waitFor({ timeout: 60_000 });
    await page.getByLabel("Recovery passphrase").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Restore the vault" }).click();
    await alert.filter({ hasText: "ThresholdNotMetError: have 1 good shares, need 2" }).waitFor({ timeout: 60_000 });
    await screenshot(page, "25-recovery-below-threshold");
    expect(await page.getByRole("tab", { name: "Data" }).count()).to.equal(0);
    expect((await chain.pendingRecoveryOf(accountId))[0]).to.equal(ZeroAddress);

    // The page is left and come back to: the request and the approval are still there. Cal approves; the vault is restored.
    await page.reload();
    expect(((await page.getByTestId("request-code").textContent()) ?? "").trim()).to.equal(code);
    await page.getByTestId("approvals").getByText("approval-bea.json").waitFor();
    await connect(page);
    const approvalCal = path.join(files, "approval-cal.json");
    const approved = await p.okJson<{ code: string; signed: boolean }>([
      "vault",
      "recover",
      "approve",
      request,
      "--out",
      approvalCal,
      "--rpc",
      p.network.rpc,
      "--recovery",
      address,
      ...cal,
    ]);
    expect(approved).to.include({ code, signed: true });
    await upload.setInputFiles(approvalCal);
    await page.getByTestId("approvals").getByText("approval-cal.json").waitFor();
    await page.getByLabel("Recovery passphrase").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Restore the vault" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 90_000 });
    expect(await commitmentOf(page)).to.equal(commitment);
    await page.getByRole("tab", { name: "Guardians" }).click();
    expect(((await page.getByTestId("account-id").textContent()) ?? "").trim()).to.equal(accountId);
    await screenshot(page, "26-recovery-restored");
    await noSeriousAxe(page, "restored vault");
    // On-chain: the recovery to the new browser's wallet is started, its timelock running.
    const [pendingOwner, executableAt] = await chain.pendingRecoveryOf(accountId);
    expect(pendingOwner).to.equal(fresh.wallet?.address);
    expect(Number(executableAt)).to.be.greaterThan(await p.chainTime());
    // The restored vault unlocks with the new passphrase after a reload, and the recovery is no longer pending here.
    await page.reload();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("mosaic-recovery-")))).to.deep.equal([]);
  });

  it("a browser joins a vault kept by the CLI as another device: the seed and `vault serve`'s WebSockets address; a bad address is named", async () => {
    // The CLI device: a vault from a seed file, a GPX track, and `vault serve` (TCP and WebSockets).
    const seed = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
    await writeFile(path.join(p.dir, "pair.seed"), `${seed}\n`);
    await writeFile(path.join(p.dir, "pair.gpx"), await readFile(GPX));
    await p.ok(["vault", "init", "--dir", "pair-cli", "--seed-file", "pair.seed", "--device", "laptop"]);
    await p.ok(["vault", "import", "pair.gpx", "--dir", "pair-cli"]);
    const serve = p.start(["vault", "serve", "--dir", "pair-cli"]);
    const address = await p.waitFor("vault serve's WebSockets address", async () => {
      if (serve.proc.exitCode !== null) throw new Error(`vault serve exited ${serve.proc.exitCode}:\n${serve.err}`);
      return /\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+/.exec(serve.out)?.[0];
    });
    const { page } = await person("second-device");
    await page.getByRole("button", { name: "Add this browser to it" }).click();
    await page.getByLabel("Device address").fill(address.replace("/ws/", "/"));
    await page.getByLabel("The vault's seed").fill(seed);
    await page.getByLabel("New passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("New passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Add this browser" }).click();
    await page.getByRole("alert").filter({ hasText: "expected the WebSockets address" }).waitFor();
    expect(await page.getByRole("tab", { name: "Data" }).count()).to.equal(0);
    await page.getByLabel("Device address").fill(address);
    await page.getByRole("button", { name: "Add this browser" }).click();
    await page.getByRole("tab", { name: "Data" }).waitFor({ timeout: 60_000 });
    // The CLI device's track arrived, verified, in this browser's own copy of the thread.
    await p.waitFor("the pulled track in the browser", async () =>
      Number(await page.getByTestId("count-location-history-points").textContent()) >= 1 ? true : undefined,
    );
    await screenshot(page, "27-paired-device");
    await noSeriousAxe(page, "paired device");
  });
});
