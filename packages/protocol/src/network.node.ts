// Network files on disk: finding one by name or path, reading it (bounded, every failure a NetworkFileError naming
// the file), writing it atomically, and checking that an RPC endpoint serves the chain the file names.
import { mkdir, open } from "node:fs/promises";
import path from "node:path";
import type { Provider } from "ethers";
import { WrongChainError } from "./errors.js";
import { writeFileAtomic } from "./files.node.js";
import { NETWORK_FILE_MAX_BYTES, type NetworkFile, NetworkFileError, parseNetworkFile } from "./network.js";

/** Where a network file came from: its path, as resolved. */
export type LoadedNetwork = NetworkFile & { file: string };

/** The path `nameOrFile` names: a value with "/" or ending in ".json" is a path; a bare name is `networks/<name>.json`. */
export function networkFilePath(nameOrFile: string, cwd = process.cwd()): string {
  const isPath = nameOrFile.includes("/") || nameOrFile.includes(path.sep) || nameOrFile.endsWith(".json");
  return path.resolve(cwd, isPath ? nameOrFile : path.join("networks", `${nameOrFile}.json`));
}

/**
 * Reads and checks a network file, by name (`networks/<name>.json` under `cwd`) or path. A missing, unreadable,
 * oversized (over 1 MiB) or malformed file is a NetworkFileError naming the path and what to do.
 */
export async function loadNetwork(nameOrFile: string, options: { cwd?: string } = {}): Promise<LoadedNetwork> {
  if (nameOrFile.trim() === "")
    throw new NetworkFileError("--network: expected a network name or a network file's path, got an empty value");
  const file = networkFilePath(nameOrFile, options.cwd);
  let text: string;
  try {
    const handle = await open(file, "r");
    try {
      const stats = await handle.stat();
      const size = stats.size;
      if (!stats.isFile()) throw new NetworkFileError(`${file}: not a file; give a network file's path`);
      if (size > NETWORK_FILE_MAX_BYTES)
        throw new NetworkFileError(
          `${file}: ${size} bytes, over the ${NETWORK_FILE_MAX_BYTES}-byte limit for a network file; is it the right file?`,
        );
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof NetworkFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new NetworkFileError(
        `no network file at ${file}; start a local network with 'mosaic devnet', deploy to a chain with 'mosaic deploy --rpc URL --wallet-key-file FILE --name ${path.basename(file, ".json")}', or give the file's path`,
      );
    if (code === "EISDIR") throw new NetworkFileError(`${file}: is a directory; give a network file's path`);
    throw new NetworkFileError(`${file}: cannot read it (${code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NetworkFileError(`${file}: not valid JSON (${(err as Error).message}); fix it, or write it again with 'mosaic deploy'`);
  }
  return { ...parseNetworkFile(json, file), file };
}

/** Writes a network file atomically (checked first, so a bad one is never written), creating its directory. */
export async function writeNetworkFile(file: string, network: NetworkFile): Promise<void> {
  const checked = parseNetworkFile(network, file);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(checked, null, 2)}\n`);
}

/** A WrongChainError when `provider` serves another chain than the network file names. */
export async function checkNetworkChain(network: NetworkFile & { file?: string }, provider: Provider): Promise<void> {
  const { chainId } = await provider.getNetwork();
  if (chainId !== BigInt(network.chainId))
    throw new WrongChainError(
      `the RPC endpoint serves chain ${chainId}, but ${network.file ?? `network ${network.name}`} is for chain ${network.chainId}; check --rpc or --network (the file may be from an earlier devnet: run 'mosaic devnet' again)`,
    );
}
