// The browser harness itself: Debian's Chromium opens a page from a loopback server (under a CSP as strict as the
// app's), finds the test wallet through EIP-6963, and the wallet answers, rejects, switches chains and sends a real
// transaction to a local anvil chain (as `mosaic devnet` runs it).
import { readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { parseEther, Wallet, verifyMessage, verifyTypedData } from "ethers";
import type { BrowserContext, Page } from "playwright-core";
// The devnet's own anvil launcher: the chain the browser e2e tests run against, started here without contracts.
import { type Anvil, startAnvil } from "../../packages/cli/src/devnet.js";
import { freePort } from "../parties.js";
import { expectRejects } from "../helpers.js";
import {
  axeViolations,
  type BrowserHarness,
  ChromiumMissingError,
  describeViolations,
  installTestWallet,
  launchBrowser,
  screenshot,
  type TestWallet,
} from "./harness.js";

// The test mnemonic's first account, funded by anvil.
const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'";
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Wallet test</title>
<script src="/page.js"></script></head><body><main><h1>Wallet test</h1><p>Nothing but a page.</p></main></body></html>`;
// What the app does: listen for announcements, then ask for them (the wallet also announces once on load).
const PAGE_JS = `window.announced = [];
window.chainEvents = [];
window.addEventListener("eip6963:announceProvider", (e) => {
  window.announced.push(e.detail);
  e.detail.provider.on("chainChanged", (id) => window.chainEvents.push(id));
});
window.dispatchEvent(new Event("eip6963:requestProvider"));`;

interface Announced {
  info: { uuid: string; name: string; icon: string; rdns: string };
  provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
}

/** Calls the discovered wallet from inside the page; a thrown error comes back as { code, message }. */
function request(
  page: Page,
  method: string,
  params: unknown[] = [],
): Promise<{ result?: unknown; error?: { code: unknown; message: string } }> {
  return page.evaluate(
    async ([m, p]) => {
      const { provider } = (window as unknown as { announced: Announced[] }).announced[0] as Announced;
      try {
        return { result: await provider.request({ method: m, params: p }) };
      } catch (err) {
        return { error: { code: (err as { code?: unknown }).code, message: (err as Error).message } };
      }
    },
    [method, params] as const,
  );
}

describe("the browser harness: Chromium and the EIP-6963 test wallet", function () {
  this.timeout(60_000);
  let harness: BrowserHarness;
  let anvil: Anvil;
  let rpc: string;
  let site: Server;
  let origin: string;
  let context: BrowserContext;
  let wallet: TestWallet;
  let page: Page;

  before(async () => {
    anvil = await startAnvil({ port: await freePort(), accounts: 2 });
    rpc = anvil.rpc;
    site = createServer((req, res) => {
      const js = req.url === "/page.js";
      res.writeHead(200, { "Content-Type": js ? "text/javascript" : "text/html; charset=utf-8", "Content-Security-Policy": CSP });
      res.end(js ? PAGE_JS : req.url === "/bad" ? '<!doctype html><html><body><img src="data:,"></body></html>' : PAGE);
    });
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    harness = await launchBrowser();
    context = await harness.newProfile();
    wallet = await installTestWallet(context, { rpc, chainId: 31337, privateKey: KEY });
    page = await context.newPage();
    await page.goto(`${origin}/`);
  });
  after(async () => {
    await harness?.close();
    site?.close();
    await anvil?.stop();
  });

  it("the page discovers the wallet through EIP-6963, on load and on request", async () => {
    const infos = await page.evaluate(() => (window as unknown as { announced: Announced[] }).announced.map((d) => d.info));
    expect(infos.length).to.be.greaterThanOrEqual(1);
    const info = infos[0] as Announced["info"];
    expect(info).to.include({ name: "Mosaic Test Wallet", rdns: "dev.mosaic.testwallet" });
    expect(info.uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(info.icon).to.match(/^data:image\/svg\+xml,/);
    expect(new Set(infos.map((i) => i.uuid)).size, "one wallet, announced again").to.equal(1);
  });

  it("gives the account and the chain", async () => {
    expect(wallet.address).to.equal(new Wallet(KEY).address);
    expect((await request(page, "eth_requestAccounts")).result).to.deep.equal([wallet.address]);
    expect((await request(page, "eth_accounts")).result).to.deep.equal([wallet.address]);
    expect((await request(page, "eth_chainId")).result).to.equal("0x7a69");
    // Anything else is the RPC's answer.
    expect((await request(page, "net_version")).result).to.equal("31337");
  });

  it("rejectNext: the next call fails with 4001 as a user's Reject does, the one after succeeds", async () => {
    wallet.rejectNext("eth_requestAccounts");
    expect((await request(page, "eth_requestAccounts")).error).to.deep.equal({ code: 4001, message: "User rejected the request." });
    expect((await request(page, "eth_requestAccounts")).result).to.deep.equal([wallet.address]);
  });

  it("setChain moves the wallet (chainChanged); switching back works, to an unknown chain is 4902; no sending off-chain", async () => {
    await wallet.setChain(1);
    expect((await request(page, "eth_chainId")).result).to.equal("0x1");
    expect((await request(page, "eth_sendTransaction", [{ from: wallet.address, to: wallet.address, value: "0x1" }])).error?.code).to.equal(
      4901,
    );
    expect((await request(page, "wallet_switchEthereumChain", [{ chainId: "0x5" }])).error?.code).to.equal(4902);
    expect((await request(page, "wallet_switchEthereumChain", [{ chainId: "0x7a69" }])).result).to.equal(null);
    expect(await page.evaluate(() => (window as unknown as { chainEvents: string[] }).chainEvents)).to.deep.equal(["0x1", "0x7a69"]);
    expect(wallet.chainId).to.equal(31337);
  });

  it("eth_sendTransaction signs and sends for real; personal_sign and eth_signTypedData_v4 sign as the account", async () => {
    const to = Wallet.createRandom().address;
    const sent = await request(page, "eth_sendTransaction", [
      { from: wallet.address.toLowerCase(), to, value: `0x${parseEther("0.25").toString(16)}` },
    ]);
    expect(sent.error).to.equal(undefined);
    expect(sent.result).to.match(/^0x[0-9a-f]{64}$/);
    // The receipt, read through the wallet too (calls it does not handle go to the RPC); anvil mines each second.
    let receipt = null as { status?: string } | null;
    for (let i = 0; i < 100 && receipt === null; i++) {
      receipt = (await request(page, "eth_getTransactionReceipt", [sent.result])).result as typeof receipt;
      if (receipt === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(receipt?.status).to.equal("0x1");
    expect(BigInt((await request(page, "eth_getBalance", [to, "latest"])).result as string)).to.equal(parseEther("0.25"));
    expect(wallet.calls.filter((c) => c.method === "eth_sendTransaction").length).to.equal(2);

    const signed = await request(page, "personal_sign", ["0x68656c6c6f", wallet.address]);
    expect(verifyMessage("hello", signed.result as string)).to.equal(wallet.address);
    const typed = {
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "chainId", type: "uint256" },
        ],
        Approval: [{ name: "request", type: "uint256" }],
      },
      domain: { name: "Mosaic", chainId: 31337 },
      primaryType: "Approval",
      message: { request: 7 },
    };
    const sig = await request(page, "eth_signTypedData_v4", [wallet.address, JSON.stringify(typed)]);
    expect(verifyTypedData(typed.domain, { Approval: typed.types.Approval }, typed.message, sig.result as string)).to.equal(wallet.address);
    expect((await request(page, "personal_sign", ["0x00", Wallet.createRandom().address])).error?.code).to.equal(4100);
  });

  it("a fresh profile has its own storage", async () => {
    await page.evaluate(() => localStorage.setItem("who", "first"));
    const other = await harness.newProfile();
    try {
      const second = await other.newPage();
      await second.goto(`${origin}/`);
      expect(await second.evaluate(() => localStorage.getItem("who"))).to.equal(null);
    } finally {
      await other.close();
    }
  });

  it("screenshot saves a PNG under test-artifacts/screens; axeViolations finds serious ones despite the CSP", async () => {
    const file = await screenshot(page, "harness-wallet-page");
    expect(file).to.match(/test-artifacts\/screens\/harness-wallet-page\.png$/);
    expect([...(await readFile(file)).subarray(0, 4)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47]);
    await rm(file);
    const clean = await axeViolations(page);
    expect(clean, describeViolations(clean)).to.deep.equal([]);
    await page.goto(`${origin}/bad`);
    const ids = (await axeViolations(page)).map((v) => v.id);
    expect(ids).to.include("image-alt");
    await expectRejects(screenshot(page, "../escape"), RangeError, /name/);
  });

  it("no Chromium: ChromiumMissingError saying apt-get install chromium", async () => {
    const saved = process.env.MOSAIC_CHROMIUM;
    process.env.MOSAIC_CHROMIUM = "/nonexistent/chromium";
    try {
      await expectRejects(
        launchBrowser(),
        ChromiumMissingError,
        /\/nonexistent\/chromium: install Debian's with 'apt-get install chromium'/,
      );
    } finally {
      if (saved === undefined) delete process.env.MOSAIC_CHROMIUM;
      else process.env.MOSAIC_CHROMIUM = saved;
    }
  });
});
