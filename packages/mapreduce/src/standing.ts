// Where a job stands on the chain — collecting, awaiting proposals, provisional, no proposal, final or refunded — and
// one plain sentence saying so; read through ethers only, so the CLI and the browser app show the same standing.
import { type JobRegistry, specCidOf } from "@mosaic/protocol";
import { formatEther } from "ethers";

/** A date as the standing sentences write it: ISO 8601 in UTC, whole seconds. */
export const isoTime = (t: number): string => new Date(t * 1000).toISOString().replace(".000Z", "Z");

/** A span of seconds as a person reads it: "2h 5m", "14m 5s", "40s". */
export function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [d, h, m, sec] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (a: number, unitA: string, b: number, unitB: string) => (b > 0 ? `${a}${unitA} ${b}${unitB}` : `${a}${unitA}`);
  if (d > 0) return two(d, "d", h, "h");
  if (h > 0) return two(h, "h", m, "m");
  if (m > 0) return two(m, "m", sec, "s");
  return `${sec}s`;
}

/** Where a job stands, from the chain (and a reducer's count of accepted submissions when one was asked). */
export type JobStage =
  /** Before the collection deadline. */
  | "collecting"
  /** Collection closed, the proposal window open, no result revealed yet. */
  | "awaiting-proposals"
  /** A revealed result leads; fraud proofs may still overturn it. */
  | "provisional"
  /** The proposal window closed with no standing result: finalising refunds the researcher. */
  | "no-proposal"
  | "final"
  | "refunded";

/** A proposal as the chain holds it. */
export interface ProposalStanding {
  index: number;
  proposer: string;
  /** Submissions counted; 0 while only committed. */
  count: number;
  revealed: boolean;
  faulted: boolean;
  /** When fraud proofs on it close (the job's finalizeAfter, later after answered data requests). */
  challengeEndsAt: number;
}

export interface JobStanding {
  jobId: string;
  stage: JobStage;
  /** The spec's CID as the chain recorded it. */
  specCid: string;
  /** The chain's time when read. */
  now: number;
  groupId?: string;
  reward: string;
  minParticipants: number;
  collectionDeadline: number;
  proposalDeadline: number;
  finalizeAfter: number;
  proposals: ProposalStanding[];
  /** The leading (provisional) or winning (final) proposal's index. */
  leading?: number;
  /** Submissions a reducer has accepted, when its status port was asked. */
  submissions?: number;
  /** One plain sentence: where the job stands and what comes next. */
  summary: string;
}

const PROPOSAL_REVEALED = 2n;

/** The standing of one job (which must exist), from its on-chain record and proposals, at chain time `now`. */
export async function readJobStanding(
  registry: JobRegistry,
  jobId: bigint,
  now: number,
  extra: { groupId?: bigint; submissions?: number; reducer?: string } = {},
): Promise<JobStanding> {
  const j = await registry.getJob(jobId);
  // At most MAX_PROPOSALS (32) of them: read at once.
  const read = await Promise.all(Array.from({ length: Number(j.proposalCount) }, (_, i) => registry.getProposal(jobId, i)));
  const proposals: ProposalStanding[] = read.map((p, i) => {
    const revealed = p.state >= PROPOSAL_REVEALED;
    return {
      index: i,
      proposer: p.proposer,
      count: revealed ? Number(p.count) : 0,
      revealed,
      faulted: p.faulted,
      challengeEndsAt: Number(j.finalizeAfter) + Number(p.extension),
    };
  });
  const base = {
    jobId: jobId.toString(),
    specCid: specCidOf(j.specDigest).toString(),
    now,
    groupId: extra.groupId?.toString(),
    reward: j.reward.toString(),
    minParticipants: Number(j.minParticipants),
    collectionDeadline: Number(j.collectionDeadline),
    proposalDeadline: Number(j.proposalDeadline),
    finalizeAfter: Number(j.finalizeAfter),
    proposals,
    submissions: extra.submissions,
  };
  const min = base.minParticipants;
  const minimum = `the minimum of ${min} participant${min === 1 ? "" : "s"}`;
  const counted = extra.submissions === undefined ? "" : `${extra.submissions} answer${extra.submissions === 1 ? "" : "s"}`;
  const faulted = proposals.filter((p) => p.faulted).length;
  const faultedNote = faulted > 0 ? `; ${faulted} proposal${faulted === 1 ? " was" : "s were"} shown false by a fraud proof` : "";
  // The registry's rule: the unfaulted revealed proposal with most submissions, the earliest on ties.
  let lead: ProposalStanding | undefined;
  for (const p of proposals) if (p.revealed && !p.faulted && (lead === undefined || p.count > lead.count)) lead = p;

  const state = Number(j.state);
  if (state === 2) {
    const w = proposals[Number(await registry.winningProposal(jobId))];
    return {
      ...base,
      stage: "final",
      leading: w?.index,
      summary: `final: proposal #${w?.index} by ${w?.proposer} won with ${w?.count} submissions${faultedNote}`,
    };
  }
  if (state === 3) {
    let why: string;
    if (proposals.some((p) => p.revealed)) why = "every proposed result was shown false by a fraud proof";
    else if (extra.submissions !== undefined && extra.submissions < min)
      why = `fewer than ${minimum} answered (the reducer counted ${counted})`;
    else if (extra.submissions !== undefined)
      why = `no reducer proposed a result in time, though the reducer counted ${counted} (${minimum})`;
    else why = `no result reached ${minimum} (no reducer proposed one; give --reducer URL for its count of answers)`;
    return {
      ...base,
      stage: "refunded",
      summary: `refunded: ${why}; the ${formatEther(base.reward)} ETH reward went back to the researcher`,
    };
  }
  if (now < base.collectionDeadline) {
    const sofar = counted === "" ? "" : `; ${counted} accepted so far`;
    return {
      ...base,
      stage: "collecting",
      summary: `collecting: closes in ${formatSpan(base.collectionDeadline - now)} (${isoTime(base.collectionDeadline)})${sofar}; a result needs ${minimum}`,
    };
  }
  if (lead !== undefined) {
    const others = proposals.filter((p) => p.revealed).length - 1;
    return {
      ...base,
      stage: "provisional",
      leading: lead.index,
      summary: `provisional: proposal #${lead.index} by ${lead.proposer} leads with ${lead.count} submissions${others > 0 ? ` (of ${others + 1} revealed)` : ""}${faultedNote}; the challenge window ends ${isoTime(lead.challengeEndsAt)}${lead.challengeEndsAt > now ? ` (in ${formatSpan(lead.challengeEndsAt - now)})` : ", then anyone may finalise it"}`,
    };
  }
  const below =
    extra.submissions !== undefined && extra.submissions < min
      ? `; only ${counted}, fewer than ${minimum}, so no result can be proposed`
      : "";
  if (now < base.proposalDeadline) {
    const committed = proposals.length > 0 ? `${proposals.length} committed, none revealed yet` : "no result proposed yet";
    return {
      ...base,
      stage: "awaiting-proposals",
      summary: `collection closed: ${committed}${faultedNote}; reducers may propose until ${isoTime(base.proposalDeadline)} (in ${formatSpan(base.proposalDeadline - now)})${below}`,
    };
  }
  return {
    ...base,
    stage: "no-proposal",
    summary: `no proposal: the proposal window closed without a standing result${faultedNote}${below || (counted === "" ? ` (a result needs ${minimum})` : `; the reducer counted ${counted}`)}; finalising from ${isoTime(base.finalizeAfter)} refunds the researcher`,
  };
}

/**
 * The group id of every job (or of `jobId` only), from the JobPosted logs from `fromBlock` (the registry's deploy
 * block): the chain keeps no group id, only the group's root and size.
 */
export async function jobGroups(registry: JobRegistry, fromBlock: number, jobId?: bigint): Promise<Map<bigint, bigint>> {
  const groups = new Map<bigint, bigint>();
  for (const posted of await registry.queryFilter(registry.filters.JobPosted(jobId), fromBlock))
    groups.set(posted.args.jobId, posted.args.groupId);
  return groups;
}

/** Jobs read at once by readJobStandings. */
const STANDINGS_BATCH = 16;

/**
 * The standing of every job on the registry, oldest first, with each job's group id (from the JobPosted logs from
 * `fromBlock`). Jobs are read `STANDINGS_BATCH` at a time, their reads in flight together (ethers batches requests
 * made in one tick).
 */
export async function readJobStandings(registry: JobRegistry, options: { now: number; fromBlock: number }): Promise<JobStanding[]> {
  const n = Number(await registry.jobCount());
  if (n === 0) return [];
  const groups = await jobGroups(registry, options.fromBlock);
  const out: JobStanding[] = [];
  for (let first = 1; first <= n; first += STANDINGS_BATCH) {
    const ids = Array.from({ length: Math.min(STANDINGS_BATCH, n - first + 1) }, (_, k) => BigInt(first + k));
    out.push(...(await Promise.all(ids.map((id) => readJobStanding(registry, id, options.now, { groupId: groups.get(id) })))));
  }
  return out;
}
