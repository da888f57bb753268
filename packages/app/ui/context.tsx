// What every screen shares: the network (and its read-only chain connection) and the wallet, if one is connected.
import { createContext, useContext } from "react";
import type { JsonRpcSigner } from "ethers";
import type { LoadedNetwork } from "./network.ts";
import type { AnnouncedWallet, ConnectedWallet } from "./wallet.ts";

export interface AppContextValue {
  network: LoadedNetwork;
  wallets: AnnouncedWallet[];
  connected: ConnectedWallet | undefined;
  connect(wallet: AnnouncedWallet): Promise<void>;
  /** A signer on the network's chain; throws WrongChainError (explained by explainError) when the wallet is elsewhere. */
  signer(): Promise<JsonRpcSigner>;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (value === undefined) throw new Error("useApp outside <AppContext.Provider>");
  return value;
}
