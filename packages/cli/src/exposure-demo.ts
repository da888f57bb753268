// `mosaic demo --exposure`: a simulated town on real parts. Phones exchange GAEN advertisements (the town simulator's
// radio), some people test positive and upload their keys anonymously through the health authority's key server, the
// others' vaults follow the signed feed and check on the device; then a private hotspot check against a staked node.
// Printed against the simulator's truth.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAvatarGroup, createBatchVerifier, openGroupSync, verifyArtifacts } from "@mosaic/avatar";
import {
  buildHotspotSet,
  DEFAULT_RISK_CONFIG,
  encodeHotspotSet,
  generatePsiKeyPair,
  hotspotItem,
  hourStartOf,
  type NotificationOutcome,
  notificationOutcome,
  placeCell,
  type RiskLevel,
  signDocument,
  simulatedScans,
  simulateTown,
  unixDayOf,
} from "@mosaic/exposure";
import {
  createIpfsNode,
  createLogger,
  deployMosaic,
  dialPeer,
  type ExposureFeeds,
  findEvent,
  type IpfsNode,
  nodeAddresses,
  putBlock,
  readReducers,
} from "@mosaic/protocol";
import {
  checkExposure,
  checkHotspots,
  fetchRiskConfig,
  followKeyFeed,
  hotspotVisits,
  loadHotspotSet,
  openVault,
  prepareUpload,
  recordScans,
  uploadIdentity,
  uploadKeys,
  type Vault,
} from "@mosaic/vault";
import { createKeyServer, createPsiService } from "@mosaic/worker";
import { parseEther } from "ethers";
import { connectDemoChain, phaseTimer } from "./demo-parts.js";

const DAY = 86_400;

export interface ExposureDemoOptions {
  /** People in the simulated town. @default 40 */
  people: number;
  /** Days simulated, ending today. @default 14 */
  days: number;
  /** People who test positive and upload. @default max(2, 5% of people) */
  positives?: number;
  /** The town's seed: the same seed, the same town. */
  seed: number;
  /**
   * Vaults that run the private hotspot check (each costs the node and the vault ~1 ms per padded item, some 600 for
   * 14 days of hours): the first N of the town in a seeded order. @default 8
   */
  hotspotChecks?: number;
  /** External JSON-RPC endpoint; the in-process Hardhat network when absent. */
  rpcUrl?: string;
  /** Extra IPFS peers every node dials. */
  peers: string[];
  print(line: string): void;
}

export interface ExposureDemoSummary {
  people: number;
  positives: number;
  feedId: string;
  uploadsAccepted: number;
  keysPublished: number;
  batches: number;
  levels: Record<RiskLevel, number>;
  notifications: NotificationOutcome;
  /** Vaults whose private hotspot check found a visit to a place and hour a positive was at while infectious. */
  hotspots: { items: number; vaultsChecked: number; vaultsMatched: number; vaultsTrulyThere: number; queries: number };
  phases: Record<string, number>;
}

/** Runs the exposure-notification demo end to end and returns its summary. */
export async function runExposureDemo(opts: ExposureDemoOptions): Promise<ExposureDemoSummary> {
  const { phases, phase } = phaseTimer(opts.print);
  const workDir = await mkdtemp(path.join(tmpdir(), "mosaic-exposure-demo-"));
  const nodes: IpfsNode[] = [];
  const vaults = new Map<number, Vault>();
  const stops: Array<() => Promise<void>> = [];
  const chain = await connectDemoChain(opts.rpcUrl);
  try {
    await verifyArtifacts();
    const [deployer, authority, operator] = chain.accounts;
    if (!deployer || !authority || !operator) throw new Error("the chain needs 3 funded accounts");
    const authorityAddress = (await authority.getAddress()).toLowerCase();

    // 1. Contracts, the health authority's registrar group and feed, its signed risk configuration.
    const { contracts, feeds, groupId, feedId } = await phase("deploy contracts and the health authority's feed", async () => {
      const contracts = await deployMosaic(deployer, { unbondingDelay: 86_400n });
      const feeds = (contracts.exposureFeeds as ExposureFeeds).connect(authority);
      const groupId = await createAvatarGroup(contracts, { name: "tested-positive", policy: "registrar", registrar: authorityAddress });
      const receipt = await (await feeds.createFeed(groupId)).wait();
      const feedId = findEvent(receipt, feeds.interface, "FeedCreated").args.feedId as bigint;
      opts.print(
        `  ExposureFeeds ${await feeds.getAddress()}, feed ${feedId} on registrar group ${groupId}, authority ${authorityAddress}`,
      );
      return { contracts, feeds, groupId, feedId };
    });
    const feedsAddress = (await feeds.getAddress()).toLowerCase();
    const feedRef = { chainId: Number(chain.chainId), feeds: feedsAddress, feedId: feedId.toString() };

    // IPFS: the authority's node (key server, documents), a staked operator's node (PSI), and the users' node.
    const [authorityNode, operatorNode, usersNode] = await phase("start IPFS nodes", async () => {
      const made: IpfsNode[] = [];
      for (let i = 0; i < 3; i++) made.push(await createIpfsNode({ peers: opts.peers }));
      nodes.push(...made);
      await dialPeer(made[2] as IpfsNode, nodeAddresses(made[0] as IpfsNode)[0] as string);
      return made as [IpfsNode, IpfsNode, IpfsNode];
    });
    const config = await signDocument("risk-config", DEFAULT_RISK_CONFIG, authority);
    await putBlock(authorityNode.blockstore, config);
    await (await feeds.setRiskConfig(feedId, config.cid.bytes)).wait();

    // 2. The town: people moving between homes, work, school, shops, cafés and buses; their phones' scans.
    const now = Math.floor(Date.now() / 1000);
    const today = unixDayOf(now);
    const positivesWanted = opts.positives ?? Math.max(2, Math.round(opts.people * 0.05));
    const town = await phase(`simulate a town of ${opts.people} people over ${opts.days} days`, async () => {
      const town = simulateTown({
        people: opts.people,
        days: opts.days,
        seed: opts.seed,
        positives: positivesWanted,
        start: (today - opts.days) * DAY,
      });
      opts.print(
        `  ${town.places.length} places, ${town.visits.length} visits, ${town.people.filter((p) => p.positive).length} people fall ill, ${town.trulyExposed.size} close contacts (CDC: ≤ 2 m for ≥ 15 min)`,
      );
      return town;
    });
    const positives = town.people.filter((p) => p.positive !== null);
    const positiveIndexes = positives.map((p) => p.index);

    // 3. A vault per person, from the person's seed; scans recorded on the device.
    await phase("open each person's vault and record what its phone heard", async () => {
      let heard = 0;
      let stored = 0;
      for (const person of town.people) {
        const vault = await openVault(path.join(workDir, `vault-${person.index}`), { rootSeed: person.seed });
        vaults.set(person.index, vault);
        heard += person.scans.length;
        // Every phone hears thousands of advertisements a day, mostly neighbours'. The demo stores in each vault the
        // sightings of the phones whose keys will be published (matching finds nothing among the others: bench
        // exposure.accuracy checks the windows are identical), so that the demo takes a minute, not an hour.
        const scans = simulatedScans(town, person.index, { senders: positiveIndexes });
        stored += (await recordScans(vault, scans)).stored;
      }
      opts.print(`  ${heard} advertisements heard in all; ${stored} stored (those of phones whose keys are published)`);
    });

    // 4. The positives: admitted by the authority (their upload identities, not their avatars), then each uploads its
    // keys anonymously through the key server, which verifies and publishes a signed batch anchored on-chain.
    const uploads = await phase(`${positives.length} positives upload their keys anonymously`, async () => {
      const commitments = positives.map((p) => uploadIdentity(vaults.get(p.index) as Vault).commitment);
      await (await contracts.avatarGroups.connect(authority).registerBatch(groupId, commitments)).wait();
      const group = await openGroupSync({ provider: chain.provider, semaphore: contracts.addresses.semaphore }, groupId, {
        fromBlock: contracts.deployBlock,
      });
      await group.sync();
      const verifier = createBatchVerifier({ threads: 1, batchSize: 4 });
      await verifier.start();
      stops.push(() => verifier.stop());
      const server = createKeyServer(
        { ipfs: authorityNode, feeds, group, signer: authority, verifier, log: createLogger("key-server", "error") },
        { feedId, chainId: chain.chainId, batchEveryMs: 3_600_000 },
      );
      await server.start();
      stops.push(() => server.stop());
      let accepted = 0;
      const rejected: string[] = [];
      server.on("upload:accepted", () => void accepted++);
      server.on("upload:rejected", (r) => void rejected.push(r.reason));
      for (const person of positives) {
        const vault = vaults.get(person.index) as Vault;
        const upload = await prepareUpload(vault, {
          feed: feedRef,
          group: group.group(),
          now,
          reportType: "confirmed-test",
          onsetDay: person.positive?.onsetDay ?? null,
        });
        await uploadKeys(upload, { peers: [nodeAddresses(authorityNode)[0] as string], lingerMs: 10_000 });
      }
      await server.drain();
      const batches = await server.publish();
      const keys = batches.reduce((n, b) => n + b.keys, 0);
      opts.print(
        `  ${accepted} uploads accepted${rejected.length > 0 ? `, rejected: ${rejected.join(", ")}` : ""}; ${keys} keys in ${batches.length} signed batch(es), head anchored on-chain`,
      );
      return { accepted, keys, batches: batches.length };
    });

    // 5. Everyone else: follow the feed (pull: the authority never learns who checks), match and score on the device.
    const levels: Record<RiskLevel, number> = { none: 0, low: 0, high: 0 };
    const notified = new Set<number>();
    await phase("every other vault follows the feed and checks on the device", async () => {
      const components = { feeds: feeds.connect(chain.provider) as ExposureFeeds, blocks: usersNode.blockstore };
      const riskConfig = await fetchRiskConfig(components, feedId);
      for (const person of town.people) {
        if (person.positive !== null) continue;
        const vault = vaults.get(person.index) as Vault;
        const keys = await followKeyFeed(components, vault, feedId, { now });
        const result = await checkExposure(vault, { keys, config: riskConfig, now, feed: feedRef });
        levels[result.level]++;
        if (result.level !== "none") notified.add(person.index);
      }
    });

    // 6. Hotspots: the places and hours positives were at while infectious, checked privately against a staked node.
    const hotspots = await phase("private hotspot check (OPRF PSI) against a staked node", async () => {
      await (await contracts.jobRegistry.connect(operator).stake({ value: parseEther("1") })).wait();
      await (
        await contracts.reducerDirectory.connect(operator).announce(operatorNode.libp2p.peerId.toString(), nodeAddresses(operatorNode))
      ).wait();
      const infectiousAt = new Map<string, Uint8Array>();
      for (const v of town.visits) {
        const p = town.people[v.person]?.positive;
        const place = town.places[v.place];
        if (!p || !place || place.kind === "home") continue;
        if (unixDayOf(v.from) < p.onsetDay - 2 || unixDayOf(v.from) > p.testDay) continue;
        for (let h = hourStartOf(v.from); h < v.to; h += 3600) {
          const item = hotspotItem(placeCell(place.lat, place.lon), h);
          infectiousAt.set(Buffer.from(item).toString("hex"), item);
        }
      }
      const keyPair = generatePsiKeyPair();
      const set = buildHotspotSet(keyPair.secretKey, infectiousAt.values(), { feedId: feedId.toString(), from: town.start, to: now });
      const block = await encodeHotspotSet(set, authority);
      await putBlock(authorityNode.blockstore, block);
      await (await feeds.publishHotspots(feedId, block.cid.bytes)).wait();
      // The authority hands the set's OPRF key to the staked node that serves it.
      const service = createPsiService({ libp2p: operatorNode.libp2p }, { sets: new Map([[block.cid.toString(), keyPair]]) });
      await service.start();
      stops.push(() => service.stop());
      // A vault finds serving nodes among the staked operators in the ReducerDirectory.
      const [node] = await readReducers(contracts.reducerDirectory.connect(chain.provider), contracts.jobRegistry.connect(chain.provider));
      if (node === undefined) throw new Error("no staked node announced in the directory");
      const loaded = await loadHotspotSet({ blocks: usersNode.blockstore }, { cid: block.cid.toString(), authority: authorityAddress });
      let vaultsMatched = 0;
      let vaultsTrulyThere = 0;
      // A seeded sample of the vaults that did not test positive (by a hash of index and seed, not by their truth).
      const sample = town.people
        .filter((p) => p.positive === null)
        .map((p) => ({ p, order: Math.imul(p.index + 1, 2654435761) ^ opts.seed }))
        .sort((a, b) => (a.order >>> 0) - (b.order >>> 0))
        .slice(0, opts.hotspotChecks ?? 8)
        .map((x) => x.p);
      for (const person of sample) {
        const items = hotspotVisits(person.points, { now }).map((v) => v.item);
        if (items.some((item) => infectiousAt.has(Buffer.from(item).toString("hex")))) vaultsTrulyThere++;
        if (items.length === 0) continue;
        const found = await checkHotspots(
          { libp2p: usersNode.libp2p },
          { set: loaded, setCid: block.cid.toString(), peer: node.addrs[0] as never, items },
        );
        if (found.length > 0) vaultsMatched++;
      }
      const served = service.stats();
      opts.print(
        `  ${infectiousAt.size} place-hours in the set; node ${node.operator} answered ${served.queries} queries (${served.items} blinded items) and learned nothing else`,
      );
      return { items: infectiousAt.size, vaultsChecked: sample.length, vaultsMatched, vaultsTrulyThere, queries: served.queries };
    });

    return {
      people: opts.people,
      positives: positives.length,
      feedId: feedId.toString(),
      uploadsAccepted: uploads.accepted,
      keysPublished: uploads.keys,
      batches: uploads.batches,
      levels,
      notifications: notificationOutcome(notified, town.trulyExposed),
      hotspots,
      phases,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await Promise.allSettled([...vaults.values()].map((v) => v.close()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await chain.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The summary a person reads: notifications against the simulator's truth. */
export function formatExposureSummary(s: ExposureDemoSummary): string {
  const n = s.notifications;
  return [
    "",
    `Exposure notification in a town of ${s.people}: ${s.positives} tested positive and uploaded (${s.uploadsAccepted} uploads accepted, ${s.keysPublished} keys in ${s.batches} batch(es) on feed ${s.feedId})`,
    `  the other ${s.people - s.positives} vaults checked on the device: ${s.levels.high} high, ${s.levels.low} low, ${s.levels.none} none`,
    `  notified / truly exposed: ${n.notified} / ${n.trulyExposed} (${n.truePositives} of the notified were truly close contacts)`,
    `  precision ${n.precision.toFixed(2)}, recall ${n.recall.toFixed(2)} against the simulator's truth (CDC close contact: ≤ 2 m for ≥ 15 min)`,
    `  hotspots: ${s.hotspots.items} place-hours published; of ${s.hotspots.vaultsChecked} vaults checking privately, ${s.hotspots.vaultsMatched} found a visit to one (${s.hotspots.vaultsTrulyThere} truly were there), in ${s.hotspots.queries} PSI queries`,
    `  phases: ${Object.entries(s.phases)
      .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
      .join("; ")}`,
  ].join("\n");
}
