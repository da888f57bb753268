// What the app's browser journeys share: `mosaic app` started for a Parties devnet, a person (a fresh browser
// profile, with a test wallet holding a devnet key if given) on one of the app's places, connecting that wallet, and
// axe's serious violations as an assertion.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { BrowserContext, Page } from "playwright-core";
import { type Daemon, freePort, type Parties } from "../parties.js";
import { axeViolations, type BrowserHarness, describeViolations, installTestWallet, type TestWallet } from "./harness.js";

export interface Person {
  context: BrowserContext;
  page: Page;
  wallet: TestWallet | undefined;
}

/** Starts `mosaic app` for the devnet of `p` on a free port; resolves with its URL once it serves. */
export async function startApp(p: Parties): Promise<{ url: string; daemon: Daemon }> {
  const daemon = p.start(["app", "--network", p.networkFile, "--port", String(await freePort())]);
  const url = await p.waitFor("mosaic app", async () => {
    if (daemon.proc.exitCode !== null) throw new Error(`mosaic app exited ${daemon.proc.exitCode}:\n${daemon.err}`);
    return /http:\/\/127\.0\.0\.1:\d+/.exec(daemon.out)?.[0];
  });
  return { url, daemon };
}

/**
 * A person with a fresh browser profile on `#/<place>` of the app at `appUrl`; with `key`, a test wallet holding that
 * devnet key. Uncaught page errors are pushed to `errors`, for the test to fail on.
 */
export async function openPerson(
  world: { browser: BrowserHarness; parties: Parties; appUrl: string; errors: string[] },
  init: { name: string; place: string; key?: string; acceptDownloads?: boolean },
): Promise<Person> {
  const { browser, parties: p, appUrl, errors } = world;
  const context = await browser.newProfile(init.acceptDownloads === true ? { acceptDownloads: true } : {});
  let wallet: TestWallet | undefined;
  if (init.key !== undefined) {
    const privateKey = (await readFile(path.join(p.dir, p.key(init.key)), "utf8")).trim();
    wallet = await installTestWallet(context, { rpc: p.network.rpc, chainId: p.network.chainId, privateKey });
  }
  const page = await context.newPage();
  // Any uncaught error in a page (a CSP refusal, a crash) fails the journey it happened in.
  page.on("pageerror", (err) => errors.push(`[${init.name}] ${err.message}`));
  await page.goto(`${appUrl}/#/${init.place}`);
  return { context, page, wallet };
}

/** Connects the page's test wallet from the wallet bar. */
export async function connectTestWallet(page: Page): Promise<void> {
  await page.getByRole("button", { name: /Connect Mosaic Test Wallet/ }).click();
  await page.getByTestId("wallet").waitFor();
}

/** Fails with axe's serious and critical violations on the page as it is now, naming `screen`. */
export async function expectNoSeriousAxe(page: Page, screen: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, `${screen}: ${describeViolations(violations)}`).to.deep.equal([]);
}
