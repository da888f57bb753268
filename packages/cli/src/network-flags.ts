// The flags every chain-facing command shares: --network NAME|FILE (or MOSAIC_NETWORK) names a network file that
// gives the RPC, every contract address and its deploy block and the bootstrap peers; explicit --rpc, --registry,
// --groups, --directory and --recovery override the file's values.
import type { LoadedNetwork } from "@mosaic/protocol";
import { UsageError } from "./args.js";

/** The parseArgs options for the network flags: spread them into a command's options. */
export const NETWORK_OPTIONS = {
  network: { type: "string" },
  rpc: { type: "string" },
  registry: { type: "string" },
  groups: { type: "string" },
  directory: { type: "string" },
  recovery: { type: "string" },
  "shared-jobs": { type: "string" },
} as const;

/** The network flags' lines for a command's --help (the Options section). */
export const NETWORK_HELP = `  --network NAME|FILE   the network file: networks/NAME.json, or a path (default: $MOSAIC_NETWORK);
                        it gives the RPC and contract addresses, so the flags below are not needed
  --rpc URL             the EVM JSON-RPC endpoint (overrides the network file's)
  --registry ADDRESS    the JobRegistry contract (overrides the network file's)
  --groups ADDRESS      the AvatarGroups contract (overrides the network file's)
  --directory ADDRESS   the ReducerDirectory contract (overrides the network file's)
  --recovery ADDRESS    the VaultRecovery contract (overrides the network file's)
  --shared-jobs ADDRESS the SharedJobs contract, for shared-mode jobs (overrides the network file's)`;

/** The values parseArgs gives for NETWORK_OPTIONS (a command may take only some of them). */
export interface NetworkFlagValues {
  network?: string;
  rpc?: string;
  registry?: string;
  groups?: string;
  directory?: string;
  recovery?: string;
  "shared-jobs"?: string;
}

/** The settings a command can take from the network flags. */
export type NetworkField = "rpc" | "registry" | "groups" | "directory" | "recovery" | "sharedJobs";

/** The network flags resolved: explicit flags first, then the network file's values. */
export interface ResolvedNetwork {
  rpc?: string;
  /** The JobRegistry's address. */
  registry?: string;
  /** The AvatarGroups' address. */
  groups?: string;
  /** The ReducerDirectory's address. */
  directory?: string;
  /** The VaultRecovery's address. */
  recovery?: string;
  /** The SharedJobs contract's address (shared-mode jobs). */
  sharedJobs?: string;
  /** libp2p multiaddrs to bootstrap from (the network file's; empty without one). */
  bootstrap: string[];
  /** The block each contract was deployed in, where log reads start: only for addresses taken from the network file. */
  deployBlocks: Partial<Record<"registry" | "groups" | "directory" | "recovery" | "sharedJobs" | "semaphore", number>>;
  /** The chain the network file is for; undefined without a file. */
  chainId?: number;
  /** The network file's resolved path; undefined without a file. */
  networkFile?: string;
  /** The network's open group (devnet creates one). */
  openGroup?: number;
  /** Where each value came from, for error messages: the flag ("--rpc") or the file and its field. */
  sources: Partial<Record<NetworkField, string>>;
  /** The whole network file, when one was given. */
  file?: LoadedNetwork;
}

const FLAG: Record<NetworkField, string> = {
  rpc: "--rpc URL",
  registry: "--registry ADDRESS",
  groups: "--groups ADDRESS",
  directory: "--directory ADDRESS",
  recovery: "--recovery ADDRESS",
  sharedJobs: "--shared-jobs ADDRESS",
};
const CONTRACT: Record<
  Exclude<NetworkField, "rpc">,
  "jobRegistry" | "avatarGroups" | "reducerDirectory" | "vaultRecovery" | "sharedJobs"
> = {
  registry: "jobRegistry",
  groups: "avatarGroups",
  directory: "reducerDirectory",
  recovery: "vaultRecovery",
  sharedJobs: "sharedJobs",
};
/** Each contract field's flag as parseArgs names it. */
const FLAG_NAME: Record<Exclude<NetworkField, "rpc">, keyof NetworkFlagValues> = {
  registry: "registry",
  groups: "groups",
  directory: "directory",
  recovery: "recovery",
  sharedJobs: "shared-jobs",
};

/**
 * Resolves the network flags: `--network` (else `MOSAIC_NETWORK` from `env`) loads a network file (a
 * NetworkFileError when it is missing or malformed); explicit flags override its values.
 */
export async function resolveNetwork(
  values: NetworkFlagValues,
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<ResolvedNetwork> {
  const env = options.env ?? process.env;
  const name = values.network ?? (env.MOSAIC_NETWORK === "" ? undefined : env.MOSAIC_NETWORK);
  // Loaded on demand: a command's --help need not load the protocol package.
  const file = name === undefined ? undefined : await (await import("@mosaic/protocol")).loadNetwork(name, { cwd: options.cwd });
  const resolved: ResolvedNetwork = {
    bootstrap: file?.bootstrap ?? [],
    deployBlocks: {},
    chainId: file?.chainId,
    networkFile: file?.file,
    openGroup: file?.openGroup,
    sources: {},
    file,
  };
  if (values.rpc !== undefined) {
    resolved.rpc = values.rpc;
    resolved.sources.rpc = "--rpc";
  } else if (file !== undefined) {
    resolved.rpc = file.rpc;
    resolved.sources.rpc = `${file.file} (rpc)`;
  }
  for (const field of ["registry", "groups", "directory", "recovery", "sharedJobs"] as const) {
    const explicit = values[FLAG_NAME[field]];
    const deployed = file?.contracts[CONTRACT[field]];
    if (explicit !== undefined) {
      resolved[field] = explicit;
      resolved.sources[field] = `--${FLAG_NAME[field]}`;
    } else if (deployed !== undefined && file !== undefined) {
      resolved[field] = deployed.address;
      resolved.deployBlocks[field] = deployed.deployBlock;
      resolved.sources[field] = `${file.file} (contracts.${CONTRACT[field]})`;
    }
  }
  if (file !== undefined && values.groups === undefined) resolved.deployBlocks.semaphore = file.contracts.semaphore.deployBlock;
  return resolved;
}

/**
 * The resolved settings a command cannot do without: a UsageError naming the missing flags and --network otherwise.
 * `command` is how the command is spelled in the message ("job post"), its --help is 'mosaic <command> --help'.
 */
export function requireNetwork<K extends NetworkField>(
  command: string,
  resolved: ResolvedNetwork,
  fields: readonly K[],
): ResolvedNetwork & { [F in K]: string } {
  const missing = fields.filter((f) => resolved[f] === undefined);
  if (missing.length > 0) {
    const inFile = resolved.networkFile === undefined ? "" : ` (${resolved.networkFile} has no ${missing.join(", ")})`;
    throw new UsageError(
      `${command}: ${missing.map((f) => FLAG[f]).join(" and ")} ${missing.length > 1 ? "are" : "is"} required${inFile}, or --network NAME|FILE with them; see 'mosaic ${command} --help'`,
    );
  }
  return resolved as ResolvedNetwork & { [F in K]: string };
}

/** True when any network flag (or MOSAIC_NETWORK) was given: for commands whose chain access is optional. */
export function networkGiven(values: NetworkFlagValues, env: Record<string, string | undefined> = process.env): boolean {
  const given = [values.network, values.rpc, values.registry, values.groups, values.directory, values.recovery, values["shared-jobs"]];
  return given.some((v) => v !== undefined) || (env.MOSAIC_NETWORK !== undefined && env.MOSAIC_NETWORK !== "");
}

/**
 * What `withContract` needs to reach one of the network's contracts: the RPC and the address, where each came
 * from (for messages), and the chain id the network file expects (checked on connecting).
 */
export function contractTarget(
  resolved: ResolvedNetwork & { rpc: string },
  field: Exclude<NetworkField, "rpc">,
  what: string,
): { rpc: string; rpcSource?: string; address: string; flag: string; what: string; chainId?: number; networkFile?: string } {
  const address = resolved[field];
  if (address === undefined) throw new UsageError(`${FLAG[field]} is required, or --network NAME|FILE with it`);
  return {
    rpc: resolved.rpc,
    rpcSource: resolved.sources.rpc,
    address,
    flag: resolved.sources[field] ?? `--${field}`,
    what,
    chainId: resolved.chainId,
    networkFile: resolved.networkFile,
  };
}
