// The reducers announced on-chain, as every place of the app reads them: from the network's ReducerDirectory, with at
// least the stake asked for, highest stake first; and which of their addresses a browser can dial (WebSockets only).
import {
  attachReducerDirectory,
  isWebSocketsAddress,
  JobRegistry__factory,
  localRpc,
  type ReadReducersOptions,
  type ReducerRecord,
  readReducers,
} from "@mosaic/protocol";
import type { LoadedNetwork } from "./network.ts";

/**
 * The reducers announced in the directory with at least `options.minStake` (1 wei at least), highest stake first;
 * private addresses are kept only on a loopback chain (a devnet).
 */
export function reducersOnChain(network: LoadedNetwork, options: Omit<ReadReducersOptions, "allowPrivate"> = {}): Promise<ReducerRecord[]> {
  const { file, reader } = network;
  const minStake = options.minStake ?? 1n;
  return readReducers(
    attachReducerDirectory(reader, file.contracts.reducerDirectory.address),
    JobRegistry__factory.connect(file.contracts.jobRegistry.address, reader),
    { ...options, minStake: minStake > 0n ? minStake : 1n, allowPrivate: localRpc(file.rpc) },
  );
}

/** The addresses a page can dial: WebSockets ones (…/ws/p2p/…, …/wss/p2p/…); a browser has no TCP. */
export const browserAddrs = (addrs: readonly string[]): string[] => addrs.filter(isWebSocketsAddress);
