// The final results of other jobs, for a model fitted over more days than one job covers (e.g. consecutive weeks of
// exposures per day): each job's standing from the registry, its winning proposal's aggregate from the
// ResultProposed log, its spec (kept on this device or fetched from the reducers), read into a ResultView as the
// job's own page reads it.
import { jobGroups, readJobStanding, type ResultView, resultView } from "@mosaic/mapreduce";
import { namedError } from "@mosaic/protocol";
import type { LoadedNetwork } from "../network.ts";
import { chainNow, chainOf, fetchSpec, rememberedSpec } from "./chain.ts";

/** A job named for the model is not final (still collecting, challengeable or refunded): its figures may change. */
export class JobNotFinalError extends namedError("JobNotFinalError") {}

/** The registry has no job with this id. */
export class NoSuchModelJobError extends namedError("NoSuchModelJobError") {}

/** "3, 4 7" → [3n, 4n, 7n]: distinct whole numbers from 1, in the order given; RangeError naming the bad one. */
export function parseJobIds(text: string): bigint[] {
  const ids: bigint[] = [];
  for (const part of text.split(/[\s,]+/).filter((p) => p !== "")) {
    if (!/^[1-9][0-9]{0,18}$/.test(part)) throw new RangeError(`job ids: expected whole numbers from 1, got ${JSON.stringify(part)}`);
    const id = BigInt(part);
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** The final result of `jobId` as a ResultView (JobNotFinalError, NoSuchModelJobError, the spec fetch's errors). */
export async function finalResultView(network: LoadedNetwork, jobId: bigint): Promise<ResultView> {
  const { registry, provider, fromBlock } = chainOf(network);
  const count = await registry.jobCount();
  if (jobId > count) throw new NoSuchModelJobError(`there is no job ${jobId} on this registry (it has ${count} job(s)); check the id`);
  const groups = await jobGroups(registry, fromBlock, jobId);
  const standing = await readJobStanding(registry, jobId, await chainNow(provider), { groupId: groups.get(jobId) });
  if (standing.stage !== "final" || standing.leading === undefined)
    throw new JobNotFinalError(`job ${jobId} is ${standing.stage}, not final: a model reads final results only; try again once it is`);
  const events = await registry.queryFilter(registry.filters.ResultProposed(jobId), fromBlock);
  const event = events.find((e) => Number(e.args.index) === standing.leading);
  if (event === undefined)
    throw new JobNotFinalError(`job ${jobId}: the winning proposal #${standing.leading} has no ResultProposed log from block ${fromBlock}`);
  const spec = (await rememberedSpec(standing.specCid)) ?? (await fetchSpec(network, standing.specCid));
  return resultView(
    spec,
    event.args.aggregate.map((x) => Number(x)),
    Number(event.args.count),
    { final: true },
  );
}
