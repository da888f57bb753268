// The network this app serves: the file `mosaic devnet` / `mosaic deploy` wrote, fetched from the app's own server,
// and a read-only chain connection over its JSON-RPC endpoint (reads never go through the wallet).
import { type NetworkFile, parseNetworkFile } from "@mosaic/protocol";
import { JsonRpcProvider } from "ethers";

export interface LoadedNetwork {
  file: NetworkFile;
  /** Reads: block numbers, jobs, stakes, groups, events. */
  reader: JsonRpcProvider;
}

/** Fetches and checks `/network.json`; the error says what to run when the server has none or it is malformed. */
export async function loadNetwork(url = "/network.json"): Promise<LoadedNetwork> {
  let response: Response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (err) {
    throw new Error(`could not reach the app's server for ${url} (${(err as Error).message}); is 'mosaic app' still running?`);
  }
  if (!response.ok) throw new Error(`${url}: the server answered ${response.status}; start the app with 'mosaic app --network NAME'`);
  const file = parseNetworkFile(await response.json(), url);
  const reader = new JsonRpcProvider(file.rpc, file.chainId, { staticNetwork: true, pollingInterval: 1000 });
  return { file, reader };
}
