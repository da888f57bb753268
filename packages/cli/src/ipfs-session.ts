// What the commands that publish or fetch IPFS blocks share (exposure, alerts): a per-command node dialling the peers
// given, and an authority's or editor's data-directory blockstore that a long-running `serve` serves.
import path from "node:path";
import { type Block, createIpfsNode, dialPeer, type IpfsNode, putBlock } from "@mosaic/protocol";

/** A progress line on stderr (stdout is the result's). */
export const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** An IPFS node for one command, dialling `peers` (--peer and the network's bootstrap peers; one that does not answer is skipped). */
export async function withIpfs<T>(peers: string[], use: (node: IpfsNode) => Promise<T>): Promise<T> {
  const node = await createIpfsNode();
  try {
    const dialled = await Promise.allSettled(peers.map((p) => dialPeer(node, p, { signal: AbortSignal.timeout(5_000) })));
    if (peers.length > 0 && dialled.every((d) => d.status === "rejected"))
      say(`  none of the ${peers.length} peer(s) answered; blocks not already held cannot be fetched (give a reachable --peer)`);
    return await use(node);
  } finally {
    await node.stop();
  }
}

/** A data directory's blockstore: `serve` serves what the publishing commands put there. */
export const blocksDir = (dataDir: string): string => path.join(dataDir, "blocks");

/** Puts a block in a data directory's blockstore (through a dial-only node on it, so the store is the one `serve` opens). */
export async function keepBlock(dataDir: string, block: Block): Promise<void> {
  const node = await createIpfsNode({ blockstoreDir: blocksDir(dataDir), listen: [] });
  try {
    await putBlock(node.blockstore, block);
  } finally {
    await node.stop();
  }
}
