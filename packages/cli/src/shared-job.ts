// The researcher's side of shared-mode jobs: which SharedJobs contract, which two aggregators (given or chosen from the
// reducers announced on-chain), and the errors that say why a choice cannot be posted.
import type { JobSpec, JobRegistry, ReducerRecord, SharedJobs } from "@mosaic/protocol";
import { attachSharedJobs, namedError } from "@mosaic/protocol";
import { aggregatorKeyFingerprint, aggregatorMinStake, isAggregatorKey, pickAggregators } from "@mosaic/vault";
import { formatEther, getAddress, getBytes, isAddress, type Provider, type Signer } from "ethers";
import { UsageError } from "./args.js";
import { contractRefusal, decodeRevert } from "./chain-flags.js";

/** SharedJobs refused a transaction; `reason` is the contract's error name. */
export class SharedJobsContractError extends contractRefusal("SharedJobsContractError") {}

/** The SharedJobs contract given admits aggregators by another JobRegistry's stakes than the one given. */
export class SharedJobsMismatchError extends namedError("SharedJobsMismatchError") {}

/** Fewer than two reducers qualify as a shared job's aggregators (announced, staked enough, with an aggregator key). */
export class NoAggregatorError extends namedError("NoAggregatorError") {}

/** The two aggregators given are one operator, or two operators with one aggregator key (one machine, not two). */
export class SameAggregatorError extends namedError("SameAggregatorError") {}

/** An aggregator given has less than the job's minimum stake in the JobRegistry. */
export class AggregatorNotStakedError extends namedError("AggregatorNotStakedError") {}

/** An aggregator given is the paying wallet: SharedJobs will not let a researcher aggregate its own job. */
export class ResearcherIsAggregatorError extends namedError("ResearcherIsAggregatorError") {}

/** An aggregator given has registered no X25519 aggregator key with SharedJobs. */
export class NoAggregatorKeyError extends namedError("NoAggregatorKeyError") {}

/** What a shared job's trust rests on, in one line: said in the preview before anything is posted. */
export const NON_COLLUSION =
  "non-collusion: either aggregator alone sees only encrypted shares and the noised sum; the two together could read every answer";

/** One of a shared job's two aggregators. */
export interface AggregatorChoice {
  /** The operator's checksummed address. */
  address: string;
  /** Its X25519 aggregator key as SharedJobs holds it (0x and 64 hex characters). */
  key: string;
  /** The key's fingerprint as the vault's consent screen shows it to users (aggregatorKeyFingerprint). */
  fingerprint: string;
  /** Its stake in the JobRegistry, wei as a decimal string. */
  stake: string;
  /** Its multiaddrs from the ReducerDirectory (where the spec is handed); empty when it has no record there. */
  addrs: string[];
}

/** Where the SharedJobs contract is, and where that came from (for messages). */
export interface SharedJobsTarget {
  address?: string;
  /** The flag or network file field the address came from. @default "--shared-jobs" */
  source?: string;
  networkFile?: string;
}

/**
 * The SharedJobs contract for a job command, checked: a UsageError naming --shared-jobs and --network when no address
 * was given (a network deployed before shared mode has none), a TypeError when no contract or not a SharedJobs is
 * there, a SharedJobsMismatchError when it reads stakes from another JobRegistry than `registry`.
 */
export async function connectSharedJobs(
  target: SharedJobsTarget,
  c: { command: string; why: string; runner: Signer | Provider; provider: Provider; registry: JobRegistry; rpc: string },
): Promise<SharedJobs> {
  const flag = target.source ?? "--shared-jobs";
  if (target.address === undefined)
    throw new UsageError(
      `${c.command}: ${c.why} is on the SharedJobs contract: --shared-jobs ADDRESS is required, or --network NAME|FILE with it${target.networkFile === undefined ? "" : ` (${target.networkFile} has no contracts.sharedJobs: a network deployed before shared mode; deploy again with 'mosaic devnet' or give --shared-jobs)`}; see 'mosaic ${c.command} --help'`,
    );
  if (!isAddress(target.address))
    throw new TypeError(
      `${flag}: expected the SharedJobs contract's address (0x and 40 hex characters), got ${JSON.stringify(target.address)}`,
    );
  const address = getAddress(target.address);
  if ((await c.provider.getCode(address)) === "0x")
    throw new TypeError(`${flag}: no contract at ${address} on ${c.rpc}; check the address and the network`);
  const shared = attachSharedJobs(c.runner, address);
  let stakesFrom: string;
  try {
    stakesFrom = await shared.jobRegistry();
  } catch {
    throw new TypeError(`${flag}: the contract at ${address} is not a SharedJobs contract (it has no jobRegistry()); check the address`);
  }
  const registryAddress = await c.registry.getAddress();
  if (stakesFrom.toLowerCase() !== registryAddress.toLowerCase())
    throw new SharedJobsMismatchError(
      `${flag}: the SharedJobs contract at ${address} admits aggregators by the stakes in ${stakesFrom}, not in the JobRegistry at ${registryAddress}; check the network file's contracts`,
    );
  return shared;
}

/** A SharedJobs revert as a SharedJobsContractError naming the contract's error; anything else unchanged. */
export function sharedRefusal(shared: SharedJobs, err: unknown): unknown {
  const r = decodeRevert(err, shared.interface);
  return r === undefined ? err : new SharedJobsContractError(r.name, `SharedJobs refused: ${r.name}(${r.args})`);
}

const fingerprintOf = (key: string) => aggregatorKeyFingerprint(getBytes(key));

/**
 * The two aggregators of a shared job: the two `--aggregator` addresses given (each checked: an address, distinct,
 * staked at least the job's minStake, with an aggregator key, the two keys distinct), else the first two reducers
 * announced in the ReducerDirectory, highest stake first, that pass the same checks. Throws before anything is posted.
 *
 * @param reducers the reducers announced on-chain with at least the job's minStake, highest stake first; undefined
 *   without a directory (then `given` is required)
 */
export async function chooseAggregators(
  c: {
    registry: JobRegistry;
    shared: SharedJobs;
    reducers(): Promise<ReducerRecord[] | undefined>;
    directory?: string;
    /** The paying wallet's address: never an aggregator of its own job. @default undefined (a dry run without a wallet) */
    researcher?: string;
  },
  spec: JobSpec,
  given: readonly string[],
): Promise<{ aggregators: [AggregatorChoice, AggregatorChoice]; from: "--aggregator" | "directory" }> {
  const { floor, minStake } = await aggregatorMinStake(c.shared, BigInt(spec.minStake));
  const researcher = c.researcher === undefined ? undefined : getAddress(c.researcher);
  if (given.length !== 0 && given.length !== 2)
    throw new UsageError(
      `post: --aggregator: a shared job has two aggregators; give --aggregator ADDRESS twice, or not at all to choose them from the reducers announced on-chain (got ${given.length})`,
    );
  for (const a of given)
    if (!isAddress(a))
      throw new RangeError(`--aggregator: expected a staked operator's address (0x and 40 hex characters), got ${JSON.stringify(a)}`);
  if (given.length === 2) {
    const [a0, a1] = given.map((a) => getAddress(a)) as [string, string];
    if (a0 === a1)
      throw new SameAggregatorError(
        `--aggregator: ${a0} was given twice; a shared job needs two different operators, or one of them alone could read every answer`,
      );
    const records = (await c.reducers()) ?? [];
    const chosen: AggregatorChoice[] = [];
    for (const address of [a0, a1]) {
      if (address === researcher)
        throw new ResearcherIsAggregatorError(
          `--aggregator ${address} is the paying wallet's address: a researcher may not aggregate its own job (SharedJobs refuses it); choose two other operators`,
        );
      const [stake, key] = await Promise.all([c.registry.stakeOf(address), c.shared.aggregatorKeyOf(address)]);
      if (stake < minStake)
        throw new AggregatorNotStakedError(
          `--aggregator ${address}: ${formatEther(stake)} ETH staked in the JobRegistry, the job needs ${formatEther(minStake)} ETH (its minStake, at least SharedJobs' ${formatEther(floor)} ETH for any aggregator); choose a reducer staked that much`,
        );
      if (!isAggregatorKey(key))
        throw new NoAggregatorKeyError(
          `--aggregator ${address}: no aggregator key registered with SharedJobs at ${await c.shared.getAddress()}; its reducer registers one when it starts with sharedJobs in its config (or the network file's)`,
        );
      chosen.push({
        address,
        key: key.toLowerCase(),
        fingerprint: fingerprintOf(key),
        stake: stake.toString(),
        addrs: records.find((r) => r.operator === address)?.addrs ?? [],
      });
    }
    const [c0, c1] = chosen as [AggregatorChoice, AggregatorChoice];
    if (c0.key === c1.key)
      throw new SameAggregatorError(
        `--aggregator: ${c0.address} and ${c1.address} registered the same aggregator key (${c0.key}): one machine holds both shares, so it could read every answer; choose two independent reducers`,
      );
    return { aggregators: [c0, c1], from: "--aggregator" };
  }
  const records = await c.reducers();
  if (records === undefined)
    throw new UsageError(
      "post: a shared-mode job needs two aggregators: give --aggregator ADDRESS twice (staked operators with an aggregator key), or --network/--directory to choose them from the reducers announced on-chain; see 'mosaic job post --help'",
    );
  const { picked, withoutKey } = await pickAggregators(c.shared, records, { minStake, researcher });
  const chosen: AggregatorChoice[] = picked.map((a) => ({
    address: a.operator,
    key: a.key,
    fingerprint: a.fingerprint,
    stake: a.stake.toString(),
    addrs: [...a.addrs],
  }));
  if (chosen.length < 2)
    throw new NoAggregatorError(
      `${chosen.length === 0 ? "no reducer" : "only one reducer"} announced in the ReducerDirectory at ${c.directory} with at least ${formatEther(minStake)} ETH staked has an aggregator key with SharedJobs at ${await c.shared.getAddress()} (${records.length} announced with that stake, ${withoutKey} without a key); a shared job needs two, of different operators: start reducers whose config names sharedJobs ('mosaic reducer start'), or give --aggregator ADDRESS twice`,
    );
  return { aggregators: chosen as [AggregatorChoice, AggregatorChoice], from: "directory" };
}
