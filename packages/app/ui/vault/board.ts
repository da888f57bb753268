// The job board from this browser: the registry and groups read over the network's RPC, specs and bundles fetched
// and answers handed over through a browser libp2p node (WebSockets) dialling the reducers found on-chain.
import { createBrowserIpfsNode, isWebSocketsAddress } from "@mosaic/protocol";
import { jobBoard, type NodeJobBoard, reducerPeers } from "@mosaic/vault";
import type { LoadedNetwork } from "../network.ts";
import { reducersOnChain } from "../reducers.ts";

export interface Board {
  board: NodeJobBoard;
  /** One WebSockets multiaddr per reducer (the first it announced). */
  peers: string[];
  /** Peer → the operator whose directory record announced it (receipts count only from them). */
  operators: ReadonlyMap<string, string>;
  fromBlock: number;
  close(): Promise<void>;
}

/** Reads the reducers on-chain (at least `minStake`) and opens a job board over the WebSockets addresses they announce. */
export async function openBoard(network: LoadedNetwork, options: { minStake?: bigint } = {}): Promise<Board> {
  const { file, reader } = network;
  const { peers, alternates, operators } = reducerPeers(
    await reducersOnChain(network, { minStake: options.minStake }),
    isWebSocketsAddress,
  );
  const board = jobBoard({
    provider: reader,
    chainId: BigInt(file.chainId),
    registry: file.contracts.jobRegistry.address,
    groups: file.contracts.avatarGroups.address,
    // Shared-mode jobs are listed and answered too when the network has SharedJobs.
    ...(file.contracts.sharedJobs === undefined ? {} : { sharedJobs: file.contracts.sharedJobs.address }),
    peers,
    alternates,
    semaphoreFromBlock: file.contracts.semaphore.deployBlock,
    createNode: () => createBrowserIpfsNode(),
  });
  return { board, peers, operators, fromBlock: file.contracts.jobRegistry.deployBlock, close: () => board.close() };
}
