// Following the registry for new jobs the avatar may answer: poll from where the last poll stopped (kept in the vault,
// so a restart neither misses a job nor reads the chain's history again), and tell the caller about each new one.
import { namedError, sleep } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { collectionName, VAULT_NAMESPACE } from "./ability.js";
import { type JobBoardComponents, type JobListing, listJobs } from "./jobs.js";
import type { Vault } from "./vault.js";

const FOLLOW = collectionName(VAULT_NAMESPACE, "follow");

interface FollowState extends Doc {
  /** The last block read. */
  block: number;
  /**
   * That block's hash ("" when the provider did not say): a chain reset (a re-run devnet, same chain id and
   * addresses) changes it. Absent in older states.
   */
  hash?: string;
}

/**
 * The block followJobs stopped at is not on the chain any more (past its head, or another hash): the chain was reset.
 * Reported to onError; following starts again from `fromBlock`.
 */
export class ChainResetError extends namedError("ChainResetError") {}

export interface FollowJobsInit {
  /** Where to start the first time: the registry's deploy block. @default 0 */
  fromBlock?: number;
  /** @default 2000 */
  pollMs?: number;
  signal: AbortSignal;
  /** A job posted since the last poll that the avatar may answer (collecting, its group). */
  onJob: (job: JobListing) => void;
  /** A poll failed (the RPC went away, say); following goes on. @default ignored */
  onError?: (err: Error) => void;
  /**
   * How often the position is stored in the vault when no new job was found (each store is a record in the
   * vault's thread; after a restart at most this much of the chain is read again).
   * @default 600000
   */
  persistEveryMs?: number;
  /** @default Date.now */
  clock?: () => number;
}

/** The block the last poll for this registry stopped at, if any. */
export function followedTo(vault: Vault, registryKey: string): number | undefined {
  return vault.thread.collection<FollowState>(FOLLOW).get(registryKey)?.block;
}

/**
 * Polls the registry for jobs posted since the last poll and calls `onJob` for each one the avatar may answer, until
 * `signal` aborts. The last block read is stored in the vault when a job was reported, and at most every
 * `persistEveryMs` otherwise.
 */
export async function followJobs(components: JobBoardComponents, vault: Vault, init: FollowJobsInit): Promise<void> {
  const key = `${components.chainId}:${(await components.registry.getAddress()).toLowerCase()}`;
  const states = vault.thread.collection<FollowState>(FOLLOW);
  const provider = components.registry.runner?.provider;
  if (provider == null) throw new TypeError("registry: expected a JobRegistry connected to a provider");
  const clock = init.clock ?? Date.now;
  let next: number | undefined; // the first block not read yet, in memory between persists
  let persistedAt = clock();
  while (!init.signal.aborted) {
    try {
      const state = states.get(key);
      let stored = state?.block;
      const head = await provider.getBlockNumber();
      if (next === undefined && state !== undefined) {
        // Resuming: the block stopped at must still be this chain's, or the chain was reset under the same id.
        const known = state.hash !== undefined && state.hash !== "";
        const hash = known && state.block <= head ? (await provider.getBlock(state.block))?.hash : undefined;
        if (state.block > head || (known && hash !== state.hash)) {
          init.onError?.(
            new ChainResetError(
              `block ${state.block}, where following stopped, is ${state.block > head ? `past the chain's head ${head}` : "another block now"}: the chain was reset; following again from block ${init.fromBlock ?? 0}`,
            ),
          );
          await states.delete(key);
          stored = undefined;
        }
      }
      const from = next ?? (stored === undefined ? (init.fromBlock ?? 0) : stored + 1);
      if (head >= from) {
        const { jobs } = await listJobs(components, vault, { fromBlock: from, toBlock: head, signal: init.signal });
        const fresh = jobs.filter((j) => !j.answered);
        for (const job of fresh) init.onJob(job);
        next = head + 1;
        // Every write is a record in the vault's thread: store the position when a job was reported (so it is not
        // reported again after a restart) or every persistEveryMs, not on every poll of a chain that mines each second.
        if (fresh.length > 0 || clock() - persistedAt >= (init.persistEveryMs ?? 600_000) || stored === undefined) {
          const at = { block: head, hash: (await provider.getBlock(head))?.hash ?? "" };
          if (stored === undefined) await states.create({ _id: key, ...at });
          else await states.update(key, at);
          persistedAt = clock();
        }
      }
    } catch (err) {
      if (init.signal.aborted) break;
      init.onError?.(err as Error);
    }
    await sleep(init.pollMs ?? 2000, { signal: init.signal }).catch(() => undefined);
  }
  // Stopping: keep where the polls got to, so the next run starts there.
  const stored = states.get(key)?.block;
  if (next !== undefined && stored !== undefined && stored < next - 1) {
    const hash = (await provider.getBlock(next - 1).catch(() => null))?.hash ?? "";
    await states.update(key, { block: next - 1, hash });
  }
}
