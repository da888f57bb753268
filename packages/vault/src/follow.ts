// Following the registry for new jobs the avatar may answer: poll from where the last poll stopped (kept in the vault,
// so a restart neither misses a job nor reads the chain's history again), and tell the caller about each new one.
import { sleep } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { collectionName, VAULT_NAMESPACE } from "./ability.js";
import { type JobBoardComponents, type JobListing, listJobs } from "./jobs.js";
import type { Vault } from "./vault.js";

const FOLLOW = collectionName(VAULT_NAMESPACE, "follow");

interface FollowState extends Doc {
  /** The last block read. */
  block: number;
}

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
}

/** The block the last poll for this registry stopped at, if any. */
export function followedTo(vault: Vault, registryKey: string): number | undefined {
  return vault.thread.collection<FollowState>(FOLLOW).get(registryKey)?.block;
}

/**
 * Polls the registry for jobs posted since the last poll and calls `onJob` for each one the avatar may answer, until
 * `signal` aborts. The last block read is stored in the vault after each poll that advanced it.
 */
export async function followJobs(components: JobBoardComponents, vault: Vault, init: FollowJobsInit): Promise<void> {
  const key = `${components.chainId}:${(await components.registry.getAddress()).toLowerCase()}`;
  const states = vault.thread.collection<FollowState>(FOLLOW);
  const provider = components.registry.runner?.provider;
  if (provider == null) throw new TypeError("registry: expected a JobRegistry connected to a provider");
  while (!init.signal.aborted) {
    try {
      const last = states.get(key)?.block;
      const from = last === undefined ? (init.fromBlock ?? 0) : last + 1;
      const head = await provider.getBlockNumber();
      if (head >= from) {
        const { jobs } = await listJobs(components, vault, { fromBlock: from, toBlock: head, signal: init.signal });
        for (const job of jobs) if (!job.answered) init.onJob(job);
        if (last === undefined) await states.create({ _id: key, block: head });
        else await states.update(key, { block: head });
      }
    } catch (err) {
      if (init.signal.aborted) break;
      init.onError?.(err as Error);
    }
    await sleep(init.pollMs ?? 2000, { signal: init.signal }).catch(() => undefined);
  }
}
