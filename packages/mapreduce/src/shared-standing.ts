// Where a shared-mode job stands on SharedJobs — collecting, aggregating, provisional, final or refunded (and why) —
// with each aggregator's part and one plain sentence; read through ethers only, so the CLI and the app say the same.
import { jobLabel, SHARED_JOB_ID_BASE, type SharedJobs, specCidOf } from "@mosaic/protocol";
import { formatEther } from "ethers";
import { formatSpan, isoTime } from "./standing.js";

/** Where a shared job stands. */
export type SharedJobStage =
  /** Before the collection deadline. */
  | "collecting"
  /** Collection closed: the aggregators prepare, exchange and commit until the commit deadline. */
  | "aggregating"
  /** Both committed: the result is released at finalisation, unless a fraud proof or a disagreement refunds it. */
  | "provisional"
  | "final"
  | "refunded";

/** Why SharedJobs refunded a job, by its RefundReason. */
export const REFUND_REASONS = [
  "none",
  "too-few-participants",
  "aggregator-missing",
  "shares-disagree",
  "fault-proven",
  "share-withheld",
] as const;

const REFUND_WORDS: Record<(typeof REFUND_REASONS)[number], string> = {
  none: "",
  "too-few-participants": "the agreed share set counted fewer than the minimum",
  "aggregator-missing": "an aggregator did not commit before the commit deadline",
  "shares-disagree": "the two aggregators committed different share sets",
  "fault-proven": "a fraud proof showed an aggregator's share set wrong",
  "share-withheld": "an aggregator committed but never revealed its share (it lost its bond, half to the researcher)",
};

/** One aggregator's part in a job. */
export interface AggregatorStanding {
  index: number;
  address: string;
  prepAnnounced: boolean;
  /** "none", "committed", "revealed", "returned" (bond back) or "slashed" (a fraud proof or a withheld share took it). */
  commit: "none" | "committed" | "revealed" | "returned" | "slashed";
  /** Whether its noised share was revealed (it stays so after the bond went back). */
  revealed: boolean;
  /** Reports in its committed share set. */
  count?: number;
  shareSetRoot?: string;
}

export interface SharedJobStanding {
  jobId: string;
  /** The id as people type it: s1, s2, … */
  label: string;
  mode: "shared";
  stage: SharedJobStage;
  specCid: string;
  now: number;
  groupId?: string;
  reward: string;
  minParticipants: number;
  collectionDeadline: number;
  commitDeadline: number;
  finalizeAfter: number;
  aggregators: AggregatorStanding[];
  /** The released aggregate (final only): the two noised shares' sum, centred. */
  aggregate?: number[];
  /** Reports in the released (or provisionally agreed) share set. */
  count?: number;
  refundReason?: (typeof REFUND_REASONS)[number];
  /** One plain sentence: where the job stands and what comes next. */
  summary: string;
}

const COMMITS = ["none", "committed", "returned", "slashed", "revealed"] as const;

/** The standing of one shared job (which must exist) at chain time `now`. */
export async function readSharedJobStanding(
  shared: SharedJobs,
  jobId: bigint,
  now: number,
  extra: { groupId?: bigint } = {},
): Promise<SharedJobStanding> {
  const [j, c0, c1] = await Promise.all([shared.getSharedJob(jobId), shared.getCommit(jobId, 0), shared.getCommit(jobId, 1)]);
  const aggregators: AggregatorStanding[] = [c0, c1].map((c, index) => {
    const commit = COMMITS[Number(c.state)] ?? "none";
    return {
      index,
      address: j.aggregators[index] as string,
      prepAnnounced: c.prepAnnounced,
      commit,
      revealed: c.revealed,
      ...(commit === "none" ? {} : { count: Number(c.count), shareSetRoot: c.shareSetRoot }),
    };
  });
  const base = {
    jobId: jobId.toString(),
    label: jobLabel(jobId),
    mode: "shared" as const,
    specCid: specCidOf(j.specDigest).toString(),
    now,
    groupId: extra.groupId?.toString(),
    reward: j.reward.toString(),
    minParticipants: Number(j.minParticipants),
    collectionDeadline: Number(j.collectionDeadline),
    commitDeadline: Number(j.commitDeadline),
    finalizeAfter: Number(j.finalizeAfter),
    aggregators,
  };
  const state = Number(j.state);
  if (state === 2) {
    const aggregate = (await shared.resultOf(jobId)).map(Number);
    const count = aggregators[0]?.count ?? 0;
    return {
      ...base,
      stage: "final",
      aggregate,
      count,
      summary: `final: the sum of ${count} report${count === 1 ? "" : "s"}, noised by both aggregators, was released; each aggregator was paid half of ${formatEther(base.reward)} ETH`,
    };
  }
  if (state === 3) {
    const refundReason = REFUND_REASONS[Number(j.refundReason)] ?? "none";
    return {
      ...base,
      stage: "refunded",
      refundReason,
      summary: `refunded: ${REFUND_WORDS[refundReason] || "nothing was released"}; the ${formatEther(base.reward)} ETH reward went back to the researcher`,
    };
  }
  const min = base.minParticipants;
  const minimum = `the minimum of ${min} participant${min === 1 ? "" : "s"}`;
  if (now < base.collectionDeadline)
    return {
      ...base,
      stage: "collecting",
      summary: `collecting encrypted shares: closes in ${formatSpan(base.collectionDeadline - now)} (${isoTime(base.collectionDeadline)}); a result needs ${minimum}`,
    };
  const committed = aggregators.filter((a) => a.commit !== "none");
  if (committed.length === 2) {
    const [a, b] = committed as [AggregatorStanding, AggregatorStanding];
    const agree = a.count === b.count && a.shareSetRoot === b.shareSetRoot;
    const next =
      now < base.finalizeAfter
        ? `fraud proofs may be sent until ${isoTime(base.finalizeAfter)} (in ${formatSpan(base.finalizeAfter - now)}), then anyone may finalise`
        : "anyone may finalise it now";
    return {
      ...base,
      stage: "provisional",
      count: agree ? a.count : undefined,
      summary: agree
        ? `provisional: both aggregators committed the same ${a.count} report${a.count === 1 ? "" : "s"}${(a.count ?? 0) < min ? `, fewer than ${minimum}, so finalising refunds` : `; ${aggregators.filter((x) => x.revealed).length} of 2 revealed their noised shares`}; ${next}`
        : `provisional: the aggregators committed different share sets (${a.count} and ${b.count} reports), so finalising refunds the researcher; ${next}`,
    };
  }
  if (now < base.commitDeadline) {
    const prepared = aggregators.filter((a) => a.prepAnnounced).length;
    return {
      ...base,
      stage: "aggregating",
      summary: `aggregating: ${prepared} of 2 aggregators announced their prep shares, ${committed.length} committed; commits close ${isoTime(base.commitDeadline)} (in ${formatSpan(base.commitDeadline - now)})`,
    };
  }
  return {
    ...base,
    stage: "aggregating",
    summary: `the commit window closed with ${committed.length} of 2 aggregators committed: anyone may finalise now, which refunds the researcher`,
  };
}

/** The group id of every shared job (or of `jobId` only), from the SharedJobPosted logs from `fromBlock`. */
export async function sharedJobGroups(shared: SharedJobs, fromBlock: number, jobId?: bigint): Promise<Map<bigint, bigint>> {
  const groups = new Map<bigint, bigint>();
  for (const posted of await shared.queryFilter(shared.filters.SharedJobPosted(jobId), fromBlock))
    groups.set(posted.args.jobId, posted.args.groupId);
  return groups;
}

/** The standing of every shared job, oldest first, 16 at a time. */
export async function readSharedJobStandings(
  shared: SharedJobs,
  options: { now: number; fromBlock: number },
): Promise<SharedJobStanding[]> {
  const n = Number(await shared.jobCount());
  if (n === 0) return [];
  const first = SHARED_JOB_ID_BASE + 1n;
  const groups = await sharedJobGroups(shared, options.fromBlock);
  const out: SharedJobStanding[] = [];
  for (let k = 0; k < n; k += 16) {
    const ids = Array.from({ length: Math.min(16, n - k) }, (_, i) => first + BigInt(k + i));
    out.push(...(await Promise.all(ids.map((id) => readSharedJobStanding(shared, id, options.now, { groupId: groups.get(id) })))));
  }
  return out;
}
