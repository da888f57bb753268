// The app's frame: the network it serves, the wallet bar, and three places — the vault (users), research
// (researchers posting and reading jobs) and operate (reducer operators). Hash routes, so any static server works.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { type AppContextValue, AppContext, useApp } from "./context.tsx";
import { ErrorNote, shortAddress, useAction } from "./components.tsx";
import { type LoadedNetwork, loadNetwork } from "./network.ts";
import { type AnnouncedWallet, type ConnectedWallet, connectWallet, discoverWallets, switchChain, walletSigner } from "./wallet.ts";

// Each place is its own chunk, loaded when first visited: the vault's screens do not wait for the researcher's
// and operator's code, nor they for the vault's.
const VaultPage = lazy(() => import("./vault/vault-page.tsx").then((m) => ({ default: m.VaultPage })));
const ResearchPage = lazy(() => import("./research/research-page.tsx").then((m) => ({ default: m.ResearchPage })));
const OperatePage = lazy(() => import("./operate/operate-page.tsx").then((m) => ({ default: m.OperatePage })));

const PLACES = [
  { id: "vault", label: "My vault" },
  { id: "research", label: "Research" },
  { id: "operate", label: "Operate" },
] as const;
type Place = (typeof PLACES)[number]["id"];

function readPlace(): Place {
  const id = window.location.hash.replace(/^#\/?/, "").split("/")[0];
  return PLACES.some((p) => p.id === id) ? (id as Place) : "vault";
}

function usePlace(): Place {
  const [place, setPlace] = useState<Place>(readPlace);
  useEffect(() => {
    const onHash = () => setPlace(readPlace());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return place;
}

export function App() {
  const [network, setNetwork] = useState<LoadedNetwork>();
  const [loadError, setLoadError] = useState<unknown>();
  useEffect(() => {
    loadNetwork().then(setNetwork, setLoadError);
  }, []);
  if (loadError !== undefined)
    return (
      <main className="shell">
        <h1>Mosaic</h1>
        <ErrorNote error={loadError} />
      </main>
    );
  if (network === undefined)
    return (
      <main className="shell">
        <h1>Mosaic</h1>
        <p aria-busy="true">Loading the network…</p>
      </main>
    );
  return <Loaded network={network} />;
}

function Loaded({ network }: { network: LoadedNetwork }) {
  const place = usePlace();
  const [wallets, setWallets] = useState<AnnouncedWallet[]>([]);
  const [connected, setConnected] = useState<ConnectedWallet>();
  useEffect(() => discoverWallets(setWallets), []);
  // Follow the wallet's account and chain as the person changes them in the wallet.
  useEffect(() => {
    const provider = connected?.wallet.provider;
    if (provider?.on === undefined) return;
    const onChain = (id: unknown) => setConnected((c) => (c === undefined ? c : { ...c, chainId: Number(BigInt(id as string)) }));
    const onAccounts = (accounts: unknown) => {
      const account = (accounts as string[])[0];
      setConnected((c) => (c === undefined ? c : account === undefined ? undefined : { ...c, account }));
    };
    provider.on("chainChanged", onChain);
    provider.on("accountsChanged", onAccounts);
    return () => {
      provider.removeListener?.("chainChanged", onChain);
      provider.removeListener?.("accountsChanged", onAccounts);
    };
  }, [connected?.wallet]);
  const connect = useCallback(async (wallet: AnnouncedWallet) => setConnected(await connectWallet(wallet)), []);
  const value = useMemo<AppContextValue>(
    () => ({
      network,
      wallets,
      connected,
      connect,
      async signer() {
        if (connected === undefined) throw new Error("connect a wallet first (the button at the top of the page)");
        return walletSigner(connected, network.file.chainId);
      },
    }),
    [network, wallets, connected, connect],
  );
  return (
    <AppContext.Provider value={value}>
      <header className="top">
        <a className="brand" href="#/vault">
          Mosaic
        </a>
        <nav aria-label="Main">
          {PLACES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === place ? "page" : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <WalletBar />
      </header>
      <main className="shell">
        <p className="network">
          Network <strong>{network.file.name}</strong> · chain {network.file.chainId}
        </p>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          {place === "vault" ? <VaultPage /> : place === "research" ? <ResearchPage /> : <OperatePage />}
        </Suspense>
      </main>
    </AppContext.Provider>
  );
}

function WalletBar() {
  const { wallets, connected, connect, network } = useApp();
  const action = useAction(connect);
  const switching = useAction(async () => {
    if (connected !== undefined) await switchChain(connected.wallet, network.file.chainId);
  });
  if (connected !== undefined) {
    const wrong = connected.chainId !== network.file.chainId;
    return (
      <div className="wallet" data-testid="wallet">
        <span title={connected.account}>
          {connected.wallet.info.name}: {shortAddress(connected.account)}
        </span>
        {wrong ? (
          <>
            <span className="warn" role="status">
              wallet on chain {connected.chainId}, not {network.file.chainId}
            </span>
            <button type="button" onClick={() => switching.run()} disabled={switching.busy}>
              Switch to chain {network.file.chainId}
            </button>
          </>
        ) : null}
        <ErrorNote error={switching.error} />
      </div>
    );
  }
  return (
    <div className="wallet">
      {wallets.length === 0 ? (
        <span>No wallet found: install a browser wallet to register, post jobs or stake. Your vault works without one.</span>
      ) : (
        wallets.map((w) => (
          <button key={w.info.uuid} type="button" onClick={() => action.run(w)} disabled={action.busy}>
            <img src={w.info.icon} alt="" width={16} height={16} /> Connect {w.info.name}
          </button>
        ))
      )}
      <ErrorNote error={action.error} />
    </div>
  );
}
