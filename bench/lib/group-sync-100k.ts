// How long rebuilding a 100,000-member Semaphore group from the chain's events takes: openGroupSync(...).sync() with no
// cache, from scratch and incrementally, against the stock Semaphore contract on Hardhat's in-process network.
import { randomBytes } from "node:crypto";
import { openGroupSync } from "@mosaic/avatar";
import { deployMosaic, Semaphore__factory, SNARK_SCALAR_FIELD } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";

export interface GroupSync100kInit {
  /**
   * Members in the group before the timed rebuilds.
   * @default 100000
   */
  members?: number;
  /**
   * Commitments per addMembers transaction.
   * @default as many as fit in 90% of a transaction's gas cap (EIP-7825's 2^24, or the block gas limit if lower)
   */
  batch?: number;
  /**
   * From-scratch rebuilds to time; the median is reported.
   * @default 3
   */
  runs?: number;
  /**
   * Members added before the timed incremental sync.
   * @default 1000
   */
  incremental?: number;
  /**
   * Progress lines for a human.
   * @default writes "group-sync-100k: <message>" to stderr
   */
  onProgress?(message: string): void;
}

export interface GroupSync100kResult {
  /** Median seconds of openGroupSync + sync() from scratch, no cache. */
  rebuild_s_median: number;
  /** Every from-scratch rebuild, in seconds. */
  runs: number[];
  members: number;
  /** Member events the rebuild applied (one per addMembers transaction). */
  events: number;
  /** Seconds of the sync that applies the `incremental` extra members. */
  incremental_s: number;
  incremental_members: number;
  /** Seconds spent deploying and filling the group. */
  setup_s: number;
  batch: number;
}

// EIP-7825 (Osaka) caps one transaction's gas at 2^24; Hardhat 3's EDR enforces it below its 60M block limit.
const TX_GAS_CAP = 2n ** 24n;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Distinct, nonzero commitments below the SNARK field, as addMembers requires. */
function randomCommitments(count: number, taken: Set<bigint>): bigint[] {
  const out: bigint[] = [];
  while (out.length < count) {
    const c = BigInt(`0x${randomBytes(32).toString("hex")}`) % SNARK_SCALAR_FIELD;
    if (c === 0n || taken.has(c)) continue;
    taken.add(c);
    out.push(c);
  }
  return out;
}

export async function measureGroupSync100k(init: GroupSync100kInit = {}): Promise<GroupSync100kResult> {
  const members = init.members ?? 100_000;
  const runs = init.runs ?? 3;
  const incremental = init.incremental ?? 1000;
  const progress = init.onProgress ?? ((message: string) => process.stderr.write(`group-sync-100k: ${message}\n`));
  if (!Number.isSafeInteger(members) || members < 1) throw new RangeError(`members: expected a positive integer, got ${members}`);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`runs: expected a positive integer, got ${runs}`);

  const setupStarted = performance.now();
  const chain = await connectInProcessChain();
  try {
    const admin = chain.accounts[0]!;
    const contracts = await deployMosaic(admin);
    const semaphore = Semaphore__factory.connect(contracts.addresses.semaphore, admin);
    await (await semaphore["createGroup(address,uint256)"](await admin.getAddress(), 3600n)).wait();
    const groupId = (await semaphore.groupCounter()) - 1n;
    const taken = new Set<bigint>();

    const head = await chain.provider.getBlock("latest");
    const gasCap = head !== null && head.gasLimit < TX_GAS_CAP ? head.gasLimit : TX_GAS_CAP;
    let batch = init.batch;
    if (batch === undefined) {
      // Gas per member is nearly flat in the group's size (one Poseidon hash and one storage slot each).
      const probe = randomCommitments(100, new Set(taken));
      const perMember = (await semaphore.addMembers.estimateGas(groupId, probe)) / 100n;
      batch = Number((gasCap * 9n) / 10n / perMember);
    }
    if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`batch: expected a positive integer, got ${batch}`);

    /** Adds `count` members in batches; a batch that runs out of gas is split in two. */
    const addMembers = async (count: number) => {
      let added = 0;
      const started = performance.now();
      let lastReport = started;
      while (added < count) {
        const slice = randomCommitments(Math.min(batch!, count - added), taken);
        try {
          // An explicit gas limit skips eth_estimateGas, which would execute every batch twice.
          await (await semaphore.addMembers(groupId, slice, { gasLimit: gasCap })).wait();
        } catch (err) {
          if (batch! <= 1) throw err;
          for (const c of slice) taken.delete(c);
          batch = Math.floor(batch! / 2);
          progress(`a batch ran out of gas (${(err as Error).message.slice(0, 80)}); now ${batch} a transaction`);
          continue;
        }
        added += slice.length;
        if (performance.now() - lastReport > 5000 || added === count) {
          lastReport = performance.now();
          progress(`added ${added}/${count} members (${batch} a transaction), ${((performance.now() - started) / 1000).toFixed(0)} s`);
        }
      }
    };
    await addMembers(members);
    const setup_s = (performance.now() - setupStarted) / 1000;

    const components = { provider: chain.provider, semaphore: contracts.addresses.semaphore };
    const expectedRoot = await semaphore.getMerkleTreeRoot(groupId);
    const times: number[] = [];
    let events = 0;
    let last: Awaited<ReturnType<typeof openGroupSync>> | undefined;
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const sync = await openGroupSync(components, groupId);
      const result = await sync.sync();
      times.push((performance.now() - started) / 1000);
      if (result.root !== expectedRoot || result.size !== members) {
        throw new Error(
          `rebuild ${run} gave root ${result.root} and size ${result.size}, the contract root ${expectedRoot} and size ${members}`,
        );
      }
      events = result.applied;
      last = sync;
      progress(`rebuild ${run + 1}/${runs}: ${times.at(-1)!.toFixed(2)} s for ${members} members in ${events} events`);
    }

    await addMembers(incremental);
    const started = performance.now();
    const result = await last!.sync();
    const incremental_s = (performance.now() - started) / 1000;
    if (result.root !== (await semaphore.getMerkleTreeRoot(groupId)) || result.size !== members + incremental) {
      throw new Error(`incremental sync gave root ${result.root} and size ${result.size}, not the contract's`);
    }
    progress(`incremental: ${incremental_s.toFixed(2)} s for ${incremental} members in ${result.applied} events`);

    return {
      rebuild_s_median: median(times),
      runs: times,
      members,
      events,
      incremental_s,
      incremental_members: incremental,
      setup_s,
      batch,
    };
  } finally {
    await chain.close();
  }
}
