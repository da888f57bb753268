// alerts.propagate_s: an editor publishes an alert (2-of-3 signatures, anchored on an in-process Hardhat chain, then
// announced on the feed's gossipsub topic) and 50 replica nodes on loopback follow the feed; the figure is the time
// from sending the anchoring transaction to the moment the last of the 50 holds the verified entry (each replica
// checks the signatures and the chain's head before it stores anything). The nodes form a sparse random graph (each
// dials three earlier ones), as followers on a real network would, not a star around the editor. BENCH_RUNS (default
// 5) publishes; BENCH_FOLLOWERS (default 50) sets the followers; BENCH_POLL_MS the replicas' chain polling (3600000:
// gossip alone). anchor_s is the median time the anchoring transaction took (in-process Hardhat), part of the figure.
import {
  type AlertFeedChain,
  type AlertFeedRef,
  alertFeedChain,
  alertTopic,
  type CapAlert,
  encodeEntry,
  entryDigest,
  signDigest,
  sortSignatures,
} from "@mosaic/alerts";
import { createIpfsNode, createLogger, deployMosaic, findEvent, type IpfsNode, nodeAddresses, waitForTopicPeers } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { type AlertReplica, announceEntry, createAlertReplica } from "@mosaic/worker";
import type { Signer } from "ethers";
import type { Figure } from "../shared.js";

const progress = (message: string) => process.stderr.write(`alerts propagate: ${message}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** A valid CAP 1.2 alert (a small health alert over one polygon). */
const alertCap = (n: number): CapAlert => ({
  identifier: `bench-${n}`,
  sender: "alerts@health.example",
  sent: "2026-12-05T10:00:00+01:00",
  status: "Actual",
  msgType: "Alert",
  scope: "Public",
  code: [],
  info: [
    {
      category: ["Health"],
      event: "Measles outbreak",
      responseType: ["Monitor"],
      urgency: "Expected",
      severity: "Moderate",
      certainty: "Likely",
      eventCode: [],
      headline: `Measles cases reported (${n})`,
      parameter: [],
      resource: [],
      area: [{ areaDesc: "Mitte", polygon: ["52.50,13.30 52.50,13.45 52.56,13.45 52.50,13.30"], circle: [], geocode: [] }],
    },
  ],
});

export async function propagateFigures(): Promise<Figure[]> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const followers = Number(process.env.BENCH_FOLLOWERS ?? 50);
  const quiet = createLogger("alerts-replica", "error");
  const chain = await connectInProcessChain();
  const nodes: IpfsNode[] = [];
  const replicas: AlertReplica[] = [];
  try {
    const contracts = await deployMosaic(chain.accounts[0] as Signer);
    const feeds = contracts.alertFeeds;
    const signers = await Promise.all(
      (chain.accounts.slice(1, 4) as Signer[]).map(async (s) => ({ s, a: (await s.getAddress()).toLowerCase() })),
    );
    signers.sort((x, y) => (BigInt(x.a) < BigInt(y.a) ? -1 : 1));
    const created = await (
      await feeds.createFeed(
        signers.map((x) => x.a),
        2,
      )
    ).wait();
    const feedId = Number(findEvent(created, feeds.interface, "FeedCreated").args.feedId);
    const ref: AlertFeedRef = { chainId: Number(chain.chainId), contract: (await feeds.getAddress()).toLowerCase(), feedId };
    const contractChain = alertFeedChain(feeds, { fromBlock: contracts.deployBlock });
    // The replicas' chain reads, counted and timed (each replica would have its own RPC node; here one in-process
    // Hardhat answers all of them, one call at a time).
    const reads = { headOf: 0, anchored: 0, editorsAt: 0, ms: 0 };
    const timed =
      <A extends unknown[], R>(name: "headOf" | "anchored" | "editorsAt", read: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const t = performance.now();
        reads[name]++;
        try {
          return await read(...args);
        } finally {
          reads.ms += performance.now() - t;
        }
      };
    const feedChain: AlertFeedChain = {
      headOf: timed("headOf", contractChain.headOf),
      anchored: timed("anchored", contractChain.anchored),
      editorsAt: timed("editorsAt", contractChain.editorsAt),
    };

    progress(`starting ${followers} replica nodes on loopback`);
    for (let i = 0; i < followers; i++) {
      const peers = [];
      for (let k = 0; k < Math.min(3, i); k++) {
        const j = Math.floor(Math.random() * i);
        peers.push(nodeAddresses(nodes[j] as IpfsNode)[0] as string);
      }
      const ipfs = await createIpfsNode({ peers: [...new Set(peers)] });
      nodes.push(ipfs);
      const replica = createAlertReplica({
        ref: { chainId: ref.chainId, contract: ref.contract },
        feedIds: [feedId],
        chain: feedChain,
        ipfs,
        logger: quiet,
        ...(process.env.BENCH_POLL_MS === undefined ? {} : { pollMs: Number(process.env.BENCH_POLL_MS) }),
      });
      await replica.start();
      replicas.push(replica);
    }
    const editorNode = await createIpfsNode({ peers: nodes.slice(0, 3).map((n) => nodeAddresses(n)[0] as string) });
    nodes.push(editorNode);
    const topic = alertTopic(ref);
    progress("waiting for every replica to join the feed's topic mesh");
    await Promise.all(nodes.map((n) => waitForTopicPeers(n, topic, 1, { timeoutMs: 60_000 })));

    const times: number[] = [];
    const anchoring: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const head = await feedChain.headOf(feedId);
      const seq = head.seq + 1;
      const block = encodeEntry({ v: 1, feed: ref, seq, epoch: head.epoch, prev: head.entryCid, cap: alertCap(run) });
      const digest = entryDigest(ref, head.epoch, seq, block.cid);
      const signatures = sortSignatures(digest, await Promise.all(signers.slice(0, 2).map((x) => signDigest(digest, x.s))));
      let start = 0;
      const held = Promise.all(
        replicas.map(
          (r) =>
            new Promise<number>((resolve) => {
              const off = r.on("entry", (e) => {
                if (e.seq === seq) {
                  off();
                  resolve(performance.now() - start);
                }
              });
            }),
        ),
      );
      Object.assign(reads, { headOf: 0, anchored: 0, editorsAt: 0, ms: 0 });
      start = performance.now();
      await (await feeds.anchor(feedId, seq, block.cid.bytes, signatures)).wait();
      const anchoredAt = performance.now() - start;
      const reached = await announceEntry(editorNode, { v: 1, feed: ref, seq, epoch: head.epoch, entry: block.bytes, signatures });
      const arrivals = (await held).sort((a, b) => a - b);
      const seconds = (performance.now() - start) / 1000;
      times.push(seconds);
      anchoring.push(anchoredAt / 1000);
      progress(
        `run ${run}/${runs}: all ${followers} replicas hold entry ${seq} after ${seconds.toFixed(3)} s (anchored after ${(anchoredAt / 1000).toFixed(3)} s; the editor's node sent it to ${reached} peers; half of them had it after ${(median(arrivals) / 1000).toFixed(3)} s, the first after ${((arrivals[0] ?? 0) / 1000).toFixed(3)} s; chain reads meanwhile: ${reads.headOf} headOf, ${reads.anchored} anchored, ${reads.editorsAt} editorsAt, ${(reads.ms / Math.max(1, reads.headOf + reads.anchored + reads.editorsAt)).toFixed(0)} ms each on average)`,
      );
    }
    return [
      {
        name: "alerts.propagate_s",
        value: Number(median(times).toFixed(3)),
        unit: "s",
        n: runs,
        followers,
        runs_s: times.map((t) => Number(t.toFixed(3))),
        anchor_s: Number(median(anchoring).toFixed(3)),
        what: "anchor (2-of-3 signatures) + gossipsub announcement until every follower stored the verified entry",
      },
    ];
  } finally {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await chain.close?.();
  }
}
