// Posting a job from the browser, as `mosaic job post` does: check the spec against chain time and the registry's
// unbonding delay, preview the cost (reward + gas × price), hand the spec block to the reducers announced on-chain so
// they hold it, then send postJob from the wallet with the reward in escrow.
import { publishSubmissionWith } from "@mosaic/avatar";
import { abilityCatalog, encodeSpec, isoTime, postJobArgs, validateSpec } from "@mosaic/mapreduce";
import {
  type Block,
  createBrowserIpfsNode,
  findEvent,
  InvalidJobSpecError,
  type JobRegistry,
  type JobSpec,
  namedError,
  type ReducerRecord,
  specTopic,
} from "@mosaic/protocol";
import { BUILTIN_ABILITIES } from "@mosaic/vault";
import type { Signer } from "ethers";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";
import { chainNow, chainOf, NoReducerError, rememberSpec } from "./chain.ts";

/** The reducers were reached but none fetched the spec, so the job was not posted (it would have no spec on IPFS). */
export class SpecNotHeldError extends namedError("SpecNotHeldError") {}

/** The group field is not a group id, or the registry refuses the group (no members yet). */
export class InvalidGroupError extends namedError("InvalidGroupError") {}

/** The registry refused the job for a reason no field of the form names; the message has its error and what to do. */
export class RegistryRefusedError extends namedError("RegistryRefusedError") {}

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
export function registryRefusal(err: unknown, iface: JobRegistry["interface"]): unknown {
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
    default:
      return new RegistryRefusedError(`the registry refuses this job: ${parsed.name}(${args.join(", ")}); nothing was posted`);
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

export interface CostPreview {
  spec: JobSpec;
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
  const { args, value: reward } = postJobArgs(spec, block.cid.toString(), groupId);
  const [gasEstimate, fee, reducers] = await Promise.all([
    from === undefined
      ? undefined
      : registry.postJob.estimateGas(...args, { value: reward, from }).catch((err: unknown) => {
          throw registryRefusal(err, registry.interface);
        }),
    provider.getFeeData(),
    reducersOnChain(network, { minStake: BigInt(spec.minStake) }),
  ]);
  const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  return {
    spec,
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
  jobId: string;
  txHash: string;
  specCid: string;
  heldBy: string[];
}

/**
 * Posts the job: the spec to the reducers first (at least one must fetch it; the browser's node goes away when the
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
  return { jobId: String(event.args.jobId), txHash: tx.hash, specCid: preview.specCid, heldBy: published.recipients };
}
