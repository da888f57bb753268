// What the commands that publish or fetch IPFS blocks share (exposure, alerts): a per-command node dialling the peers
// given, and an authority's or editor's data-directory blockstore that a long-running `serve` serves.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Block, createIpfsNode, dialPeer, type IpfsNode, loadOrCreatePeerKey, putBlock } from "@mosaic/protocol";

/** A progress line on stderr (stdout is the result's). */
export const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Dials `peers` at once, 5 s each; one that does not answer is skipped. Returns how many answered. */
export async function dialPeers(node: IpfsNode, peers: readonly string[]): Promise<number> {
  const dialled = await Promise.allSettled(peers.map((p) => dialPeer(node, p, { signal: AbortSignal.timeout(5_000) })));
  return dialled.filter((d) => d.status === "fulfilled").length;
}

/** An IPFS node for one command, dialling `peers` (--peer and the network's bootstrap peers; one that does not answer is skipped). */
export async function withIpfs<T>(peers: string[], use: (node: IpfsNode) => Promise<T>): Promise<T> {
  const node = await createIpfsNode();
  try {
    if (peers.length > 0 && (await dialPeers(node, peers)) === 0)
      say(`  none of the ${peers.length} peer(s) answered; blocks not already held cannot be fetched (give a reachable --peer)`);
    return await use(node);
  } finally {
    await node.stop();
  }
}

/** A data directory's blockstore: `serve` serves what the publishing commands put there. */
export const blocksDir = (dataDir: string): string => path.join(dataDir, "blocks");

/**
 * A dial-only node on a data directory's blockstore (the store `serve` opens) for one step of a command, dialling
 * `peers` first; `use` gets how many answered.
 */
export async function withDataDirNode<T>(
  dataDir: string,
  peers: readonly string[],
  use: (node: IpfsNode, answered: number) => Promise<T>,
): Promise<T> {
  const node = await createIpfsNode({ blockstoreDir: blocksDir(dataDir), listen: [] });
  try {
    return await use(node, await dialPeers(node, peers));
  } finally {
    await node.stop();
  }
}

/** Puts a block in a data directory's blockstore (through a dial-only node on it, so the store is the one `serve` opens). */
export async function keepBlock(dataDir: string, block: Block): Promise<void> {
  await withDataDirNode(dataDir, [], (node) => putBlock(node.blockstore, block));
}

/**
 * A `serve` command's node: the data directory's blockstore, listening on `listen`, with a peer key kept in the
 * directory so its address stays the same across restarts.
 */
export async function openServingNode(dataDir: string, listen: string[]): Promise<IpfsNode> {
  await mkdir(dataDir, { recursive: true });
  return createIpfsNode({
    blockstoreDir: blocksDir(dataDir),
    listen,
    privateKey: await loadOrCreatePeerKey(path.join(dataDir, "peer.key")),
  });
}
