// The job board from this browser: the registry and groups read over the network's RPC, specs and bundles fetched
// and answers handed over through a browser libp2p node (WebSockets) dialling the reducers found on-chain.
import { attachReducerDirectory, createBrowserIpfsNode, JobRegistry__factory, localRpc, readReducers } from "@mosaic/protocol";
import { jobBoard, type NodeJobBoard } from "@mosaic/vault";
import type { LoadedNetwork } from "../network.ts";

export interface Board {
  board: NodeJobBoard;
  /** One WebSockets multiaddr per reducer (the first it announced). */
  peers: string[];
  /** Peer → the operator whose directory record announced it (receipts count only from them). */
  operators: ReadonlyMap<string, string>;
  fromBlock: number;
  close(): Promise<void>;
}

/** A browser can dial a reducer only over WebSockets: its /ws and /wss addresses, in the order announced. */
const dialable = (addrs: readonly string[]) => addrs.filter((a) => /\/wss?(\/|$)/.test(a));

/** Reads the reducers on-chain (at least `minStake`) and opens a job board over them. */
export async function openBoard(network: LoadedNetwork, options: { minStake?: bigint } = {}): Promise<Board> {
  const { file, reader } = network;
  const registry = JobRegistry__factory.connect(file.contracts.jobRegistry.address, reader);
  const records = await readReducers(attachReducerDirectory(reader, file.contracts.reducerDirectory.address), registry, {
    minStake: options.minStake ?? 1n,
    allowPrivate: localRpc(file.rpc),
  });
  const alternates = new Map<string, string[]>();
  const operators = new Map<string, string>();
  const peers: string[] = [];
  for (const r of records) {
    const [first, ...rest] = dialable(r.addrs);
    if (first === undefined) continue;
    if (rest.length > 0) alternates.set(first, rest);
    if (!operators.has(first)) operators.set(first, r.operator);
    peers.push(first);
  }
  const board = jobBoard({
    provider: reader,
    chainId: BigInt(file.chainId),
    registry: file.contracts.jobRegistry.address,
    groups: file.contracts.avatarGroups.address,
    peers,
    alternates,
    semaphoreFromBlock: file.contracts.semaphore.deployBlock,
    createNode: () => createBrowserIpfsNode(),
  });
  return { board, peers, operators, fromBlock: file.contracts.jobRegistry.deployBlock, close: () => board.close() };
}
