// Wallets found through EIP-6963 (each injected wallet announces itself; no window.ethereum race), used through
// ethers' EIP-1193 BrowserProvider. The wallet signs what must be public: registering an avatar, posting a job,
// staking, guardian approvals. Answering a job never touches it.
import { BrowserProvider, type Eip1193Provider, JsonRpcSigner, type TransactionRequest, toBeHex } from "ethers";

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface AnnouncedWallet {
  info: WalletInfo;
  provider: Eip1193Provider & {
    on?(event: string, listener: (...args: unknown[]) => void): void;
    removeListener?(event: string, listener: (...args: unknown[]) => void): void;
  };
}

/** Listens for EIP-6963 announcements and asks wallets to announce; calls `onChange` with every wallet found. */
export function discoverWallets(onChange: (wallets: AnnouncedWallet[]) => void): () => void {
  const found = new Map<string, AnnouncedWallet>();
  const onAnnounce = (event: Event) => {
    const detail = (event as CustomEvent<AnnouncedWallet>).detail;
    if (typeof detail?.info?.uuid !== "string" || typeof detail.provider?.request !== "function") return;
    // The first announcement of a uuid stands: a later one (another extension) cannot swap the provider behind a
    // button the person already sees.
    if (found.has(detail.info.uuid)) return;
    found.set(detail.info.uuid, detail);
    onChange([...found.values()]);
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  return () => window.removeEventListener("eip6963:announceProvider", onAnnounce);
}

/** The wallet is on another chain than the network's: switch it (the app offers the button). */
export class WrongChainError extends Error {
  override name = "WrongChainError";
}

/** A connected wallet: its account and a signer, checked to be on `chainId`. */
export interface ConnectedWallet {
  wallet: AnnouncedWallet;
  account: string;
  chainId: number;
}

export async function connectWallet(wallet: AnnouncedWallet): Promise<ConnectedWallet> {
  const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as string[];
  const account = accounts[0];
  if (account === undefined) throw new Error("the wallet shared no account; unlock it and connect again");
  const chainId = Number(BigInt((await wallet.provider.request({ method: "eth_chainId" })) as string));
  return { wallet, account, chainId };
}

export async function switchChain(wallet: AnnouncedWallet, chainId: number): Promise<void> {
  await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: toBeHex(chainId) }] });
}

/**
 * A signer that names the chain in every transaction it sends: a wallet switched to another chain between the
 * app's check and the send refuses a transaction for this one, instead of sending it on the other.
 */
class ChainPinnedSigner extends JsonRpcSigner {
  constructor(
    provider: BrowserProvider,
    address: string,
    readonly chainId: number,
  ) {
    super(provider, address);
  }

  override sendUncheckedTransaction(tx: TransactionRequest): Promise<string> {
    if (tx.chainId !== undefined && tx.chainId !== null && BigInt(tx.chainId) !== BigInt(this.chainId))
      throw new WrongChainError(`a transaction for chain ${tx.chainId} from a signer for chain ${this.chainId}`);
    return super.sendUncheckedTransaction({ ...tx, chainId: this.chainId });
  }
}

/** A signer for the connected account, refusing when the wallet is not on the network's chain. */
export async function walletSigner(connected: ConnectedWallet, chainId: number): Promise<JsonRpcSigner> {
  const current = Number(BigInt((await connected.wallet.provider.request({ method: "eth_chainId" })) as string));
  if (current !== chainId)
    throw new WrongChainError(
      `your wallet is on chain ${current}, this network is chain ${chainId}: switch the wallet's network, then try again`,
    );
  return new ChainPinnedSigner(new BrowserProvider(connected.wallet.provider, chainId), connected.account, chainId);
}

/** What to tell the person when a wallet or chain call fails: what happened, and what to do next. */
export function explainError(err: unknown): string {
  const e = err as {
    code?: unknown;
    message?: string;
    shortMessage?: string;
    reason?: string;
    revert?: { name?: string };
    info?: { error?: { code?: unknown; message?: string } };
    error?: { code?: unknown };
  };
  const code = e?.code ?? e?.info?.error?.code ?? e?.error?.code;
  if (code === 4001 || code === "ACTION_REJECTED")
    return "You rejected the request in your wallet: nothing was signed or sent. Try again when you are ready.";
  if (code === 4902)
    return "Your wallet does not know this network: add it in the wallet (the chain id and RPC are shown above), then switch to it.";
  if (code === "INSUFFICIENT_FUNDS" || /insufficient funds/i.test(e?.message ?? ""))
    return "Your wallet does not hold enough ETH for this and its gas: fund the account, then try again.";
  if (e instanceof WrongChainError) return e.message;
  if (code === "CALL_EXCEPTION") {
    const name = e.revert?.name ?? e.reason;
    return `The contract refused this${name ? ` (${name})` : ""}: nothing changed. ${e.shortMessage ?? ""}`.trim();
  }
  if (code === "NETWORK_ERROR" || /failed to fetch|ECONNREFUSED/i.test(e?.message ?? ""))
    return "The chain's RPC endpoint did not answer: check the network is running (mosaic devnet), then try again.";
  const name = (err as Error)?.name;
  const message = e?.shortMessage ?? e?.message ?? String(err);
  return name && name !== "Error" ? `${name}: ${message}` : message;
}
