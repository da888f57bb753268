// Posting a job from the browser, as `mosaic job post` does: check the spec against chain time and the registry's
// unbonding delay, preview the cost (reward + gas × price), hand the spec block to the reducers announced on-chain so
// they hold it, then send postJob from the wallet with the reward in escrow. A shared-mode spec goes to SharedJobs
// instead, with its two aggregators: the highest staked reducers with a registered aggregator key, distinct operators.
import { publishSubmissionWith } from "@mosaic/avatar";
import { abilityCatalog, encodeSpec, isoTime, postJobArgs, postSharedJobArgs, validateSpec } from "@mosaic/mapreduce";
import {
  type Block,
  createBrowserIpfsNode,
  findEvent,
  InvalidJobSpecError,
  type JobMode,
  type JobSpec,
  jobLabel,
  namedError,
  type ReducerRecord,
  specTopic,
} from "@mosaic/protocol";
import { aggregatorMinStake, BUILTIN_ABILITIES, pickAggregators } from "@mosaic/vault";
import { formatEther, type Interface, type Signer } from "ethers";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";
import { chainNow, chainOf, NoReducerError, rememberSpec, sharedOf } from "./chain.ts";

/** The reducers were reached but none fetched the spec, so the job was not posted (it would have no spec on IPFS). */
export class SpecNotHeldError extends namedError("SpecNotHeldError") {}

/** The group field is not a group id, or the registry refuses the group (no members yet). */
export class InvalidGroupError extends namedError("InvalidGroupError") {}

/** The registry refused the job for a reason no field of the form names; the message has its error and what to do. */
export class RegistryRefusedError extends namedError("RegistryRefusedError") {}

/**
 * A shared-mode job needs two aggregators, and fewer than two reducers with the job's minStake (of different
 * operators) have registered an aggregator key with SharedJobs: it cannot be posted in shared mode yet.
 */
export class NoAggregatorsError extends namedError("NoAggregatorsError") {}

/** The revert data inside an ethers error (estimateGas and wallet sends leave it undecoded). */
function revertData(err: unknown): string | undefined {
  const e = err as { data?: unknown; info?: { error?: { data?: unknown } }; error?: { data?: unknown } };
  for (const d of [e?.data, e?.info?.error?.data, e?.error?.data, (e?.error?.data as { data?: unknown } | undefined)?.data])
    if (typeof d === "string" && /^0x[0-9a-f]{8}/i.test(d)) return d;
  return undefined;
}

/**
 * A registry revert as the error of the field it concerns: the group (InvalidGroupError), a spec field
 * (InvalidJobSpecError, shown beside it) or else RegistryRefusedError naming the contract's error; other errors as
 * they are.
 */
export function registryRefusal(err: unknown, iface: Pick<Interface, "parseError">): unknown {
  const data = revertData(err);
  const parsed = data === undefined ? undefined : iface.parseError(data);
  if (parsed === null || parsed === undefined) return err;
  const args = parsed.args.map(String);
  switch (parsed.name) {
    case "GroupHasNoMembers":
      return new InvalidGroupError(
        `group: group ${args[0]} has no members yet; a job is asked of the members a group has when it is posted, so wait until someone joins it, or choose another group`,
      );
    case "DeadlineInPast":
      return new InvalidJobSpecError(
        `job spec: collectionDeadline: ${isoTime(Number(args[0]))} has passed on the chain (its time is ${isoTime(Number(args[1]))}); write the spec again with a later deadline`,
      );
    case "InvalidChallengeWindow":
      return new InvalidJobSpecError(
        `job spec: challengeWindow: ${args[0]} s is not allowed here; it must be at least 60 s and under half the unbonding delay (${args[1]} s)`,
      );
    case "ZeroMinParticipants":
      return new InvalidJobSpecError("job spec: minParticipants: expected at least 1");
    case "StakeTooLow":
    case "NoAggregatorKey":
    case "ResearcherIsAggregator":
    case "SameAggregatorKey":
      return new NoAggregatorsError(
        `SharedJobs refuses the aggregators (${parsed.name}(${args.join(", ")})); preview the cost again to choose them afresh`,
      );
    default:
      return new RegistryRefusedError(`the contract refuses this job: ${parsed.name}(${args.join(", ")}); nothing was posted`);
  }
}

/** What the vault's built-in abilities hold: the catalog every spec's reads are checked against. */
export const BUILTIN_CATALOG = abilityCatalog(BUILTIN_ABILITIES);

/** A group id as typed: a whole number from 0. */
export function parseGroup(text: string): bigint {
  if (!/^\s*\d{1,30}\s*$/.test(text))
    throw new InvalidGroupError(`group: expected a group id (a whole number such as 1), got ${JSON.stringify(text)}`);
  return BigInt(text.trim());
}

/** A shared job's aggregator: a staked reducer with a registered X25519 key. */
export interface ChosenAggregator {
  operator: string;
  stake: bigint;
  /** Its X25519 public key as SharedJobs records it (bytes32 hex, lower-case). */
  key: string;
  /** The key's fingerprint as the users' consent screen and the CLI show it (aggregatorKeyFingerprint). */
  fingerprint: string;
}

/**
 * The two aggregators of a shared job, as `mosaic job post` picks them from the directory: the reducers announced
 * on-chain with at least max(the job's minStake, SharedJobs' MIN_AGGREGATOR_STAKE), highest stake first, never the
 * paying wallet (`researcher`), with a registered aggregator key, the first two of different operators and different
 * keys; NoAggregatorsError when fewer than two qualify.
 */
export async function chooseAggregators(
  network: LoadedNetwork,
  init: { minStake: bigint; researcher?: string },
): Promise<[ChosenAggregator, ChosenAggregator]> {
  const { shared } = sharedOf(network);
  const { minStake } = await aggregatorMinStake(shared, init.minStake);
  const reducers = await reducersOnChain(network, { minStake });
  const { picked, withoutKey } = await pickAggregators(shared, reducers, { minStake, researcher: init.researcher });
  const chosen: ChosenAggregator[] = picked.map(({ operator, stake, key, fingerprint }) => ({ operator, stake, key, fingerprint }));
  if (chosen.length < 2)
    throw new NoAggregatorsError(
      `a shared-mode job needs two aggregators of different operators, but ${chosen.length === 0 ? "no reducer" : "only one reducer"} with at least ${formatEther(minStake)} ETH staked (other than your wallet) has an aggregator key registered (${reducers.length} announced with that stake, ${withoutKey} without a key); a reducer registers its key when it starts: wait for another to start, or post in local mode`,
    );
  return chosen as [ChosenAggregator, ChosenAggregator];
}

export interface CostPreview {
  spec: JobSpec;
  /** Where the job goes: JobRegistry (local) or SharedJobs (shared). */
  mode: JobMode;
  /** A shared job's two aggregators, leader first. */
  aggregators?: [ChosenAggregator, ChosenAggregator];
  block: Block;
  specCid: string;
  groupId: bigint;
  /** Chain time when previewed. */
  now: number;
  reward: bigint;
  /** Undefined without a connected wallet (the estimate needs the paying account). */
  gasEstimate?: bigint;
  gasPrice: bigint;
  /** reward + gas × price (reward alone without an estimate). */
  cost: bigint;
  unbondingDelay: number;
  /** Reducers on-chain with at least the job's minStake. */
  reducers: ReducerRecord[];
  /** Of those, the ones a browser can reach (a WebSockets address). */
  reachable: ReducerRecord[];
}

/**
 * Checks the spec (schema, built-in abilities, a deadline after chain time, windows under half the unbonding delay)
 * and previews its cost; every refusal is an InvalidJobSpecError naming the field, or the chain's own error.
 */
export async function previewPost(network: LoadedNetwork, value: unknown, groupId: bigint, from?: string): Promise<CostPreview> {
  const { registry, provider } = chainOf(network);
  const now = await chainNow(provider);
  const spec = validateSpec(value, { abilities: BUILTIN_CATALOG, now });
  const unbondingDelay = Number(await registry.unbondingDelay());
  if (2 * spec.challengeWindow >= unbondingDelay)
    throw new InvalidJobSpecError(
      `job spec: challengeWindow: ${spec.challengeWindow} s is too long for this registry; it must be under ${Math.ceil(unbondingDelay / 2)} s (half the reducers' unbonding delay)`,
    );
  const block = await encodeSpec(spec);
  const mode: JobMode = spec.mode ?? "local";
  const reducers = await reducersOnChain(network, { minStake: BigInt(spec.minStake) });
  const aggregators =
    mode === "shared" ? await chooseAggregators(network, { minStake: BigInt(spec.minStake), researcher: from }) : undefined;
  const estimate = (): Promise<bigint> | undefined => {
    if (from === undefined) return undefined;
    if (aggregators === undefined) {
      const { args, value } = postJobArgs(spec, block.cid.toString(), groupId);
      return registry.postJob.estimateGas(...args, { value, from }).catch((err: unknown) => {
        throw registryRefusal(err, registry.interface);
      });
    }
    const { shared } = sharedOf(network);
    const { args, value } = postSharedJobArgs(spec, block.cid.toString(), groupId, [aggregators[0].operator, aggregators[1].operator]);
    return shared.postSharedJob.estimateGas(...args, { value, from }).catch((err: unknown) => {
      throw registryRefusal(err, shared.interface);
    });
  };
  const reward = BigInt(spec.reward);
  const [gasEstimate, fee] = await Promise.all([estimate(), provider.getFeeData()]);
  const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  return {
    spec,
    mode,
    aggregators,
    block,
    specCid: block.cid.toString(),
    groupId,
    now,
    reward,
    gasEstimate,
    gasPrice,
    cost: reward + (gasEstimate ?? 0n) * gasPrice,
    unbondingDelay,
    reducers,
    reachable: reducers.filter((r) => browserAddrs(r.addrs).length > 0),
  };
}

export type PostStep = "checking" | "handing-over" | "signing" | "confirming";
export const POST_STEPS: Record<PostStep, string> = {
  checking: "Checking the spec and the cost",
  "handing-over": "Handing the spec to the reducers (they keep it on IPFS)",
  signing: "Confirm the transaction in your wallet",
  confirming: "Waiting for the transaction to be mined",
};

export interface Posted {
  /** As people type it: JobRegistry's number, or a shared job's label (s1, s2, …). */
  jobId: string;
  mode: JobMode;
  txHash: string;
  specCid: string;
  heldBy: string[];
}

/**
 * Posts the job (on SharedJobs, with the preview's aggregators, for a shared-mode spec): the spec to the reducers first (at least one must fetch it; the browser's node goes away when the
 * page does), then postJob from `signer` with the reward. The spec is kept on this device to draw the result later.
 */
export async function postJob(
  network: LoadedNetwork,
  signer: Signer,
  value: unknown,
  groupId: bigint,
  onStep: (step: PostStep) => void,
): Promise<Posted> {
  onStep("checking");
  const account = await signer.getAddress();
  const preview = await previewPost(network, value, groupId, account);
  if (preview.reducers.length === 0)
    throw new NoReducerError(
      `no reducer with at least ${preview.spec.minStake} wei staked has announced itself in the ReducerDirectory; an operator must start one ('mosaic reducer start') before this job can be posted`,
    );
  if (preview.reachable.length === 0)
    throw new NoReducerError(
      `none of the ${preview.reducers.length} reducer(s) on-chain has a WebSockets address a browser can reach; post this spec with 'mosaic job post' instead`,
    );
  onStep("handing-over");
  const { registry } = chainOf(network);
  const published = await publishSubmissionWith(({ blockstore }) => createBrowserIpfsNode({ blockstore }), preview.block, {
    peers: preview.reachable.flatMap((r) => browserAddrs(r.addrs)),
    topic: specTopic(BigInt(network.file.chainId), await registry.getAddress()),
    minRecipients: 1,
    minFetches: preview.reachable.length,
    lingerMs: 30_000,
    listen: [],
  }).catch((err: unknown) => {
    throw new NoReducerError(
      `none of the ${preview.reachable.length} reducer(s) on-chain took the spec (${(err as Error).message}); check they are running, then post again`,
    );
  });
  if (published.fetches === 0)
    throw new SpecNotHeldError(
      "no reducer fetched the spec within 30 s, so the job was not posted; check the reducers are running, then post again",
    );
  rememberSpec(preview.specCid, preview.spec);
  onStep("signing");
  const heldBy = published.recipients;
  if (preview.aggregators !== undefined) {
    const { shared } = sharedOf(network);
    const [a0, a1] = preview.aggregators;
    const { args, value: reward } = postSharedJobArgs(preview.spec, preview.specCid, groupId, [a0.operator, a1.operator]);
    const tx = await shared
      .connect(signer)
      .postSharedJob(...args, { value: reward })
      .catch((err: unknown) => {
        throw registryRefusal(err, shared.interface);
      });
    onStep("confirming");
    const event = findEvent(await tx.wait(), shared.interface, "SharedJobPosted");
    return { jobId: jobLabel(event.args.jobId as bigint), mode: "shared", txHash: tx.hash, specCid: preview.specCid, heldBy };
  }
  const { args, value: reward } = postJobArgs(preview.spec, preview.specCid, groupId);
  const tx = await registry
    .connect(signer)
    .postJob(...args, { value: reward })
    .catch((err: unknown) => {
      throw registryRefusal(err, registry.interface);
    });
  onStep("confirming");
  const receipt = await tx.wait();
  const event = findEvent(receipt, registry.interface, "JobPosted");
  return { jobId: String(event.args.jobId), mode: "local", txHash: tx.hash, specCid: preview.specCid, heldBy };
}
