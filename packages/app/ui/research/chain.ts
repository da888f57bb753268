// What the research and operate screens read from the chain and the reducers: the registry bound to the
// network's read-only provider, chain time, specs fetched from the reducers (../reducers.ts) and kept on this device.
import { decodeSpec, encodeSpec } from "@mosaic/mapreduce";
import {
  createBrowserIpfsNode,
  dialPeer,
  getBlock,
  type IpfsNode,
  type JobRegistry,
  JobRegistry__factory,
  type JobSpec,
  namedError,
  parseCid,
  type SharedJobs,
  SharedJobs__factory,
} from "@mosaic/protocol";
import type { Provider } from "ethers";
import { useEffect, useRef, useState } from "react";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";

/** No reducer announced on-chain can be reached from a browser (none with a WebSockets address, or none answered). */
export class NoReducerError extends namedError("NoReducerError") {}

/** A spec fetched or loaded is not the job's: its CID differs from the one the chain recorded. */
export class SpecMismatchError extends namedError("SpecMismatchError") {}

export interface Chain {
  registry: JobRegistry;
  /** Where log reads start: the registry's deploy block. */
  fromBlock: number;
  provider: Provider;
}

export function chainOf(network: LoadedNetwork): Chain {
  const { contracts } = network.file;
  return {
    registry: JobRegistry__factory.connect(contracts.jobRegistry.address, network.reader),
    fromBlock: contracts.jobRegistry.deployBlock,
    provider: network.reader,
  };
}

/** The network file names no SharedJobs contract, so shared-mode jobs cannot be posted or read on it. */
export class NoSharedJobsError extends namedError("NoSharedJobsError") {}

/** Where shared-mode jobs live on this network: SharedJobs bound to the read-only provider, and its deploy block. */
export interface SharedChain {
  shared: SharedJobs;
  fromBlock: number;
}

/** SharedJobs on the network, or NoSharedJobsError saying what to do when the network file has none. */
export function sharedOf(network: LoadedNetwork): SharedChain {
  const deployed = network.file.contracts.sharedJobs;
  if (deployed === undefined)
    throw new NoSharedJobsError(
      `the network file '${network.file.name}' names no SharedJobs contract, so this network has no shared-mode jobs; deploy it again with 'mosaic deploy' (or 'mosaic devnet'), or use local mode`,
    );
  return { shared: SharedJobs__factory.connect(deployed.address, network.reader), fromBlock: deployed.deployBlock };
}

/** The chain's time (the latest block's timestamp): deadlines are judged by it, not by this computer's clock. */
export async function chainNow(provider: Provider): Promise<number> {
  return (await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
}

const SPEC_KEY = "mosaic.spec.";

/** Keeps a spec this browser posted or read, by its CID, so its result can be drawn without fetching it again. */
export function rememberSpec(cid: string, spec: JobSpec): void {
  try {
    localStorage.setItem(SPEC_KEY + cid, JSON.stringify(spec));
  } catch {
    // A full or disabled storage only costs a fetch later.
  }
}

/** A spec kept by rememberSpec, checked again against its CID; undefined when none is kept or it no longer matches. */
export async function rememberedSpec(cid: string): Promise<JobSpec | undefined> {
  const text = localStorage.getItem(SPEC_KEY + cid);
  if (text === null) return undefined;
  try {
    return await specMatching(cid, JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** `value` as a spec whose block has CID `cid` (decodeSpec's checks), else SpecMismatchError. */
export async function specMatching(cid: string, spec: JobSpec): Promise<JobSpec> {
  const block = await encodeSpec(spec);
  const checked = decodeSpec(block.bytes);
  if (block.cid.toString() !== cid)
    throw new SpecMismatchError(
      `this spec's CID is ${block.cid}, the job's is ${cid}: it is another job's spec (or was changed); choose the file you posted`,
    );
  return checked;
}

/** Fetches a spec block from the reducers announced on-chain (over WebSockets), checks and decodes it. */
export async function fetchSpec(network: LoadedNetwork, cid: string, signal?: AbortSignal): Promise<JobSpec> {
  const peers = (await reducersOnChain(network)).flatMap((r) => browserAddrs(r.addrs));
  const bootstrap = browserAddrs(network.file.bootstrap);
  const all = [...peers, ...bootstrap];
  if (all.length === 0)
    throw new NoReducerError(
      "no reducer on-chain has a WebSockets address this browser could fetch the spec from; load the spec file you posted instead",
    );
  let node: IpfsNode | undefined;
  try {
    node = await createBrowserIpfsNode();
    const dialled = await Promise.allSettled(all.map((p) => dialPeer(node as IpfsNode, p, { signal: AbortSignal.timeout(5000) })));
    if (dialled.every((d) => d.status === "rejected"))
      throw new NoReducerError(
        `none of the ${all.length} reducer address(es) answered; check the reducers are running, or load the spec file you posted`,
      );
    const bytes = await getBlock(node.blockstore, parseCid(cid), {
      maxBytes: 64 * 1024,
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(15_000)]) : AbortSignal.timeout(15_000),
    });
    const spec = decodeSpec(bytes);
    rememberSpec(cid, spec);
    return spec;
  } finally {
    await node?.stop();
  }
}

/**
 * Calls `read` now and every `intervalMs` while `active`, keeping the latest value and error (the previous value stays
 * shown while a read fails). `key` restarts it. Reads never overlap.
 */
export function usePoll<T>(read: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: unknown, active = true) {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const readRef = useRef(read);
  readRef.current = read;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key and tick restart the loop by design
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const once = async () => {
      setLoading(true);
      try {
        const v = await readRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setValue(v);
        setError(undefined);
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(err);
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          timer = setTimeout(once, intervalMs);
        }
      }
    };
    void once();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, tick, active, intervalMs]);
  return { value, error, loading, refresh: () => setTick((t) => t + 1), setValue };
}
