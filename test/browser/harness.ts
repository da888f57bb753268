// The real-browser test harness: Debian's Chromium driven by playwright-core (never a downloaded browser), a fresh
// profile per person, a test EIP-1193 wallet announced through EIP-6963 whose keys and signing stay in Node, and the
// artifacts a browser test leaves: screenshots and axe-core's serious violations.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { namedError } from "@mosaic/protocol";
import type { Result as AxeResult } from "axe-core";
import {
  getAddress,
  getBytes,
  isHexString,
  JsonRpcProvider,
  Network,
  type TransactionRequest,
  toQuantity,
  type TypedDataField,
  Wallet,
} from "ethers";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** Where screenshots go (kept as CI artifacts; gitignored). */
export const SCREENS_DIR = path.join(ROOT, "test-artifacts", "screens");

/** There is no Chromium to drive: the message says to install Debian's (the tests never download a browser). */
export class ChromiumMissingError extends namedError("ChromiumMissingError") {}

/** The browser a test drives, and fresh profiles in it. */
export interface BrowserHarness {
  browser: Browser;
  /** A new profile: its own cookies, IndexedDB and storage, as a different person's (or a new) browser has. */
  newProfile(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Closes every profile and the browser. */
  close(): Promise<void>;
}

/** The Chromium binary: MOSAIC_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(env: Record<string, string | undefined> = process.env): string {
  return env.MOSAIC_CHROMIUM === undefined || env.MOSAIC_CHROMIUM === "" ? "/usr/bin/chromium" : env.MOSAIC_CHROMIUM;
}

/** Launches Chromium headless (without its sandbox when running as root, which it refuses otherwise). */
export async function launchBrowser(): Promise<BrowserHarness> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath))
    throw new ChromiumMissingError(
      `no Chromium at ${executablePath}: install Debian's with 'apt-get install chromium', or set MOSAIC_CHROMIUM to a Chromium binary (the tests never download one)`,
    );
  const args = ["--disable-dev-shm-usage"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  const browser = await chromium.launch({ executablePath, headless: true, args });
  return {
    browser,
    newProfile: (options = {}) => browser.newContext({ viewport: { width: 1280, height: 900 }, ...options }),
    close: () => browser.close(),
  };
}

/** An EIP-1193 error as it crosses from Node into the page. */
export interface ProviderRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface TestWalletInit {
  /** The JSON-RPC endpoint the wallet signs for and forwards reads to (loopback in the tests). */
  rpc: string;
  /** The chain the wallet knows; it starts on it. */
  chainId: number;
  /** The account's key, 0x and 64 hex characters. */
  privateKey: string;
}

/** What a test does with the wallet a page sees. */
export interface TestWallet {
  /** The account's checksummed address. */
  address: string;
  /** The chain the wallet is on now. */
  readonly chainId: number;
  /** Every request a page made, in order (to assert, e.g., that answering a job sent no transaction). */
  readonly calls: { method: string; params: unknown[] }[];
  /** The next call of `method` fails as a user's "Reject" does: code 4001. */
  rejectNext(method: string): void;
  /** The wallet moves to another chain (the user switched networks in it): pages get 'chainChanged'. */
  setChain(chainId: number): Promise<void>;
}

const BINDING = "__mosaicTestWallet";
const EMIT = "__mosaicTestWalletEmit";
const ICON = `data:image/svg+xml,${encodeURIComponent(
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='6' fill='#2b6cb0'/><path d='M8 10h16v12H8z' fill='#fff'/></svg>",
)}`;

const rpcError = (code: number, message: string, data?: unknown): ProviderRpcError =>
  data === undefined ? { code, message } : { code, message, data };

/** The EIP-1193 error a failure in Node becomes: the RPC's own code where it gave one. */
function toProviderError(err: unknown): ProviderRpcError {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number" && "message" in err)
    return rpcError(err.code, String(err.message));
  const e = err as {
    error?: { code?: unknown; message?: unknown; data?: unknown };
    info?: { error?: { code?: unknown; message?: unknown } };
  };
  const inner = e.error ?? e.info?.error;
  if (inner !== undefined && typeof inner.code === "number") return rpcError(inner.code, String(inner.message), e.error?.data);
  const message = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message ?? String(err);
  return rpcError(-32603, message);
}

/** An eth_sendTransaction object (hex quantities) as ethers takes it. */
function transactionRequest(tx: Record<string, unknown>): TransactionRequest {
  const quantity = (key: string): bigint | undefined => (typeof tx[key] === "string" ? BigInt(tx[key] as string) : undefined);
  const request: TransactionRequest = {};
  if (typeof tx.to === "string") request.to = tx.to;
  if (typeof tx.data === "string") request.data = tx.data;
  else if (typeof tx.input === "string") request.data = tx.input;
  const value = quantity("value");
  if (value !== undefined) request.value = value;
  const gas = quantity("gas") ?? quantity("gasLimit");
  if (gas !== undefined) request.gasLimit = gas;
  for (const key of ["gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"] as const) {
    const v = quantity(key);
    if (v !== undefined) request[key] = v;
  }
  const nonce = quantity("nonce");
  if (nonce !== undefined) request.nonce = Number(nonce);
  const type = quantity("type");
  if (type !== undefined) request.type = Number(type);
  return request;
}

/**
 * The provider the page sees, announced through EIP-6963 on load and on every 'eip6963:requestProvider'. Its
 * request() goes to Node through the binding; a failure comes back as { code, message } and is thrown as an Error
 * carrying .code (and .data), as wallets throw.
 */
function pageScript(info: { uuid: string; name: string; icon: string; rdns: string }): string {
  return `(() => {
  if (window.${EMIT}) return;
  const binding = ${JSON.stringify(BINDING)};
  const listeners = new Map();
  const provider = {
    isMosaicTestWallet: true,
    async request(args) {
      if (typeof args !== "object" || args === null || typeof args.method !== "string")
        throw Object.assign(new Error("request: expected { method, params }"), { code: -32600 });
      const answer = await window[binding]({ method: args.method, params: args.params === undefined ? [] : args.params });
      if (answer.ok) return answer.result;
      throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
    },
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(listener);
      return provider;
    },
    removeListener(event, listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  provider.off = provider.removeListener;
  Object.defineProperty(window, ${JSON.stringify(EMIT)}, {
    value: (event, data) => {
      for (const listener of [...(listeners.get(event) ?? [])]) {
        try { listener(data); } catch (err) { console.error(err); }
      }
    },
  });
  const detail = Object.freeze({ info: Object.freeze(${JSON.stringify(info)}), provider });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;
}

/**
 * Gives every page of `context` a wallet holding `privateKey`: the page finds it through EIP-6963 ('Mosaic Test
 * Wallet', rdns dev.mosaic.testwallet); signing and sending happen in Node with ethers, for real, on `rpc`.
 */
export async function installTestWallet(context: BrowserContext, init: TestWalletInit): Promise<TestWallet> {
  const provider = new JsonRpcProvider(init.rpc, Network.from(init.chainId), { staticNetwork: true });
  const signer = new Wallet(init.privateKey, provider);
  const address = getAddress(signer.address);
  const rejections = new Map<string, number>();
  const calls: { method: string; params: unknown[] }[] = [];
  let chainId = init.chainId;
  // One transaction at a time, so two sends never take the same nonce.
  let sending: Promise<unknown> = Promise.resolve();

  const emit = async (event: string, data: unknown) => {
    const frames = context.pages().flatMap((page) => page.frames());
    await Promise.all(
      frames.map((frame) =>
        frame
          .evaluate(([name, e, d]) => (window as unknown as Record<string, (e: unknown, d: unknown) => void>)[name]?.(e, d), [
            EMIT,
            event,
            data,
          ] as const)
          .catch(() => {}),
      ),
    );
  };

  const ownAccount = (who: unknown) => {
    if (typeof who !== "string" || who.toLowerCase() !== address.toLowerCase())
      throw rpcError(4100, `the test wallet holds only ${address}, not ${String(who)}`);
  };
  const onChain = () => {
    if (chainId !== init.chainId)
      throw rpcError(4901, `the wallet is on chain ${chainId}, which it cannot reach; switch to chain ${init.chainId}`);
  };

  const answer = async (method: string, params: unknown[]): Promise<unknown> => {
    const pending = rejections.get(method) ?? 0;
    if (pending > 0) {
      rejections.set(method, pending - 1);
      throw rpcError(4001, "User rejected the request.");
    }
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [address];
      case "eth_chainId":
        return toQuantity(chainId);
      case "wallet_switchEthereumChain": {
        const wanted = Number(BigInt((params[0] as { chainId?: string } | undefined)?.chainId ?? "0x0"));
        if (wanted !== init.chainId)
          throw rpcError(4902, `Unrecognized chain ID ${toQuantity(wanted)}: the test wallet knows only ${toQuantity(init.chainId)}`);
        if (chainId !== wanted) {
          chainId = wanted;
          await emit("chainChanged", toQuantity(chainId));
        }
        return null;
      }
      case "eth_sendTransaction": {
        const tx = (params[0] ?? {}) as Record<string, unknown>;
        if (tx.from !== undefined) ownAccount(tx.from);
        // As real wallets do: a transaction naming a chain is refused unless the wallet is on that chain.
        if (tx.chainId !== undefined && BigInt(tx.chainId as string) !== BigInt(chainId))
          throw rpcError(-32602, `the transaction is for chain ${BigInt(tx.chainId as string)}, the wallet is on chain ${chainId}`);
        onChain();
        const send = sending.then(() => signer.sendTransaction(transactionRequest(tx)));
        sending = send.catch(() => {});
        return (await send).hash;
      }
      case "personal_sign": {
        const [message, who] = params as [string, string];
        ownAccount(who);
        return signer.signMessage(isHexString(message) ? getBytes(message) : message);
      }
      case "eth_signTypedData_v4": {
        const [who, json] = params as [string, string | Record<string, unknown>];
        ownAccount(who);
        const typed = (typeof json === "string" ? JSON.parse(json) : json) as {
          domain: Record<string, unknown>;
          types: Record<string, TypedDataField[]>;
          message: Record<string, unknown>;
        };
        const { EIP712Domain: _domain, ...types } = typed.types;
        return signer.signTypedData(typed.domain, types, typed.message);
      }
      case "eth_sign":
        throw rpcError(4200, "eth_sign is not supported; use personal_sign");
      default:
        return provider.send(method, params);
    }
  };

  await context.exposeBinding(BINDING, async (_source, request: { method: string; params: unknown[] }) => {
    const params = Array.isArray(request.params) ? request.params : [];
    calls.push({ method: request.method, params });
    try {
      return { ok: true, result: await answer(request.method, params) };
    } catch (err) {
      return { ok: false, error: toProviderError(err) };
    }
  });
  await context.addInitScript({
    content: pageScript({ uuid: randomUUID(), name: "Mosaic Test Wallet", icon: ICON, rdns: "dev.mosaic.testwallet" }),
  });

  return {
    address,
    get chainId() {
      return chainId;
    },
    calls,
    rejectNext(method: string) {
      rejections.set(method, (rejections.get(method) ?? 0) + 1);
    },
    async setChain(id: number) {
      if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`setChain: expected a chain id ≥ 1, got ${id}`);
      if (id === chainId) return;
      chainId = id;
      await emit("chainChanged", toQuantity(id));
    },
  };
}

/** Saves a full-page PNG of `page` as test-artifacts/screens/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name))
    throw new RangeError(`screenshot: name: expected letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  await mkdir(SCREENS_DIR, { recursive: true });
  const file = path.join(SCREENS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

let axeSource: string | undefined;

/**
 * axe-core's serious and critical violations on `page` as it is now. axe is added as a script tag; where the page's
 * CSP refuses inline scripts (the app's does), it is evaluated through the debugger protocol instead, which no CSP
 * governs.
 */
export async function axeViolations(page: Page): Promise<AxeResult[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const loaded = () => page.evaluate(() => typeof (window as { axe?: unknown }).axe === "object");
  if (!(await loaded())) {
    await page.addScriptTag({ content: axeSource }).catch(() => undefined);
    if (!(await loaded())) await page.evaluate(axeSource);
  }
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeResult[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Helps a failing assertion say what axe found: one line per violation with its first few elements. */
export function describeViolations(violations: AxeResult[]): string {
  return violations
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} (${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join("; ")})`,
    )
    .join("\n");
}
