// What every chain-facing command shares: the paying wallet's key file, and contract reverts decoded by name.
import { connectChain, namedError, readWalletKey, WrongChainError } from "@mosaic/protocol";
import { getAddress, type Interface, isAddress, NonceManager, type Provider, type Signer, Wallet } from "ethers";

export { readWalletKey };

/** A contract's custom error that ethers left as "unknown custom error", decoded with the first ABI that knows it. */
export function decodeRevert(err: unknown, ...interfaces: Interface[]): { name: string; args: string } | undefined {
  const data = (err as { data?: unknown }).data;
  if (typeof data !== "string" || !/^0x[0-9a-fA-F]{8}/.test(data)) return undefined;
  for (const iface of interfaces) {
    const parsed = iface.parseError(data);
    if (parsed !== null) return { name: parsed.name, args: parsed.args.map((a) => String(a)).join(", ") };
  }
  return undefined;
}

/** A connection to one contract for the length of a command, with the paying wallet when a key file is given. */
export interface ContractSession {
  provider: Provider;
  chainId: bigint;
  /** The paying wallet, or undefined when the command only reads. */
  signer?: Signer;
  /** The contract's checksummed address, with code behind it. */
  address: string;
}

/** Where `withContract` connects: see `contractTarget` in network-flags.ts for building it from the network flags. */
export interface ContractTarget {
  /** The EVM JSON-RPC endpoint. */
  rpc: string;
  /** Where `rpc` came from, named when it does not answer. @default "--rpc" */
  rpcSource?: string;
  address: string;
  /** Where `address` came from ("--registry", or the network file and field), named when it is wrong. */
  flag: string;
  /** What the contract is ("JobRegistry"), in messages. */
  what: string;
  walletKeyFile?: string;
  /** The chain the network file is for: a WrongChainError when the RPC serves another. @default undefined (not checked) */
  chainId?: number;
  /** The network file `chainId` came from, named in a WrongChainError. */
  networkFile?: string;
}

/**
 * Connects to the chain at `rpc` (an RpcUnreachableError within 3 s when it does not answer), checks it is the
 * network file's chain (WrongChainError) and that `address` (given by `flag`) holds a contract, and runs `use`;
 * `onError` may turn a contract revert into a named error. The connection closes however `use` ends.
 */
export async function withContract<T>(
  options: ContractTarget,
  use: (session: ContractSession) => Promise<T>,
  onError: (err: unknown) => unknown = (err) => err,
): Promise<T> {
  if (!isAddress(options.address))
    throw new TypeError(
      `${options.flag}: expected the ${options.what}'s address (0x and 40 hex characters), got ${JSON.stringify(options.address)}`,
    );
  const key = options.walletKeyFile === undefined ? undefined : await readWalletKey(options.walletKeyFile);
  const chain = await connectChain({ rpcUrl: options.rpc, accounts: 0, source: options.rpcSource ?? "--rpc" });
  try {
    if (options.chainId !== undefined && chain.chainId !== BigInt(options.chainId))
      throw new WrongChainError(
        `${options.rpc} (from ${options.rpcSource ?? "--rpc"}) serves chain ${chain.chainId}, but ${options.networkFile ?? "the network file"} is for chain ${options.chainId}; give the network's own RPC, or a network file for chain ${chain.chainId} (after a devnet restart, use the network file it wrote)`,
      );
    const address = getAddress(options.address);
    if ((await chain.provider.getCode(address)) === "0x")
      throw new TypeError(`${options.flag}: no contract at ${address} on ${options.rpc}; check the address and the network`);
    const signer = key === undefined ? undefined : new NonceManager(new Wallet(key, chain.provider));
    try {
      return await use({ provider: chain.provider, chainId: chain.chainId, signer, address });
    } catch (err) {
      throw onError(err);
    }
  } finally {
    await chain.close();
  }
}

/** The base of an error class for a contract's refusal: `reason` is the contract's error name (NotOwner, ...). */
export function contractRefusal<T extends string>(name: T) {
  return class extends namedError(name) {
    constructor(
      readonly reason: string,
      message: string,
    ) {
      super(message);
    }
  };
}
