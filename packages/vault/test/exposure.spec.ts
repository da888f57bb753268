// Exposure notification end to end in the vault, on real parts (no simulator): vault A advertises and vault B hears
// it; A tests positive, is admitted to the health authority's registrar group under its upload identity, and uploads
// its keys with a Semaphore proof from a throwaway libp2p node to the feed's upload topic; the authority publishes
// them in a signed batch anchored on ExposureFeeds; B follows the feed and its check on the device says exposed, a
// vault that never met A says none. A risk configuration not signed by the authority is refused.
import { randomBytes } from "node:crypto";
import { attestationEvidence, loadGroup, registerAvatar, signAttestation } from "@mosaic/avatar";
import {
  type Advertisement,
  DEFAULT_RISK_CONFIG,
  decodeUpload,
  type KeyUpload,
  signDocument,
  uploadMessage,
  uploadPeriod,
  uploadScope,
  WrongSignerError,
} from "@mosaic/exposure";
import { getBlock, nodeAddresses, parseCid, putBlock } from "@mosaic/protocol";
import { expect } from "chai";
import { type Signer, Wallet } from "ethers";
import { expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  advertise,
  checkExposure,
  exposureNotifications,
  exposureUploadTopic,
  fetchRiskConfig,
  followKeyFeed,
  recordScans,
  temporaryExposureKey,
  uploadIdentity,
  Vault,
  prepareUpload,
  uploadKeys,
} from "../src/node.js";
import { DAY, type ExposureWorld, exposureWorld, unixDayOf } from "./exposure-world.js";

const now = Math.floor(Date.now() / 1000);
const today = unixDayOf(now);

describe("vault exposure: advertise, upload anonymously, follow, check on the device (real chain, Helia, Semaphore)", function () {
  this.timeout(600_000);
  let world: ExposureWorld;
  const vaults: Vault[] = [];
  const open = async () => {
    const v = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    vaults.push(v);
    return v;
  };

  before(async () => {
    world = await exposureWorld(now);
  });
  after(async () => {
    for (const v of vaults) await v.close();
    await world?.close();
  });

  it("A near B for half an hour two days ago, A uploads anonymously, B's check says exposed and C's says none", async () => {
    const [vaultA, vaultB, vaultC] = [await open(), await open(), await open()];
    const feed = await world.newFeed();
    // A advertises at four consecutive intervals; B, about a metre away, hears each advertisement.
    const sent: Advertisement[] = [];
    const radio = { advertise: async (a: Advertisement) => void sent.push(a) };
    const start = (today - 2) * DAY + 10 * 3600;
    const times = [0, 600, 1200, 1800].map((s) => start + s);
    for (const t of times) await advertise(vaultA, radio, t);
    await recordScans(
      vaultB,
      sent.map((a, i) => ({ rpi: a.rpi, aem: a.aem, t: (times[i] as number) + 30, rssi: -50, seconds: 600 })),
    );
    // C heard someone else at the same time.
    await recordScans(vaultC, [{ rpi: randomBytes(16), aem: randomBytes(4), t: start, rssi: -50, seconds: 600 }]);

    // A tests positive: the authority admits A's upload identity (not its avatar) to its registrar group.
    const identity = uploadIdentity(vaultA);
    expect(identity.commitment).to.not.equal(vaultA.avatar.commitment);
    const attestation = await signAttestation(world.authority, {
      chainId: world.chain.chainId,
      policy: world.contracts.addresses.registrarAdmission,
      groupId: world.groupId,
      commitment: identity.commitment,
      expiresAt: BigInt((await world.chain.now()) + 3600),
    });
    await registerAvatar(world.contracts.avatarGroups, world.groupId, identity.commitment, attestationEvidence(attestation));
    const group = await loadGroup(world.contracts.avatarGroups.connect(world.chain.provider), world.groupId);

    // Node's prepareUpload proves with the installed Semaphore artifacts.
    const upload = await prepareUpload(vaultA, { feed, group, now, reportType: "confirmed-test", onsetDay: today - 1 });
    expect(upload.keys).to.have.length(14);
    expect(upload.period).to.equal(uploadPeriod(now));
    expect(BigInt(upload.proof.scope)).to.equal(uploadScope(world.chainId, world.feedsAddress, feed.feedId, upload.period));
    expect(BigInt(upload.proof.message)).to.equal(uploadMessage(upload.keys));
    expect(upload.keys.find((k) => k.rollingStartIntervalNumber === (today - 2) * 144)?.daysSinceOnsetOfSymptoms).to.equal(-1);
    expect(
      upload.keys.some((k) => k.rollingStartIntervalNumber === today * 144),
      "today's key is still in use",
    ).to.equal(false);

    // A second upload in the same period carries the same nullifier: the key server takes one per person and period.
    const again = await prepareUpload(vaultA, { feed, group, now: now + 60, reportType: "self-report", onsetDay: null });
    expect(again.proof.nullifier).to.equal(upload.proof.nullifier);
    expect(again.keys.every((k) => k.reportType === "self-report" && k.daysSinceOnsetOfSymptoms === null)).to.equal(true);

    // The authority's node takes announcements on the feed's upload topic and fetches the block from the throwaway node.
    const { authorityNode } = world;
    const topic = exposureUploadTopic(world.chainId, world.feedsAddress, feed.feedId);
    const received = new Promise<KeyUpload>((resolve, reject) => {
      authorityNode.libp2p.services.pubsub.addEventListener("message", (event) => {
        if (event.detail.topic !== topic) return;
        const cid = parseCid(new TextDecoder().decode(event.detail.data));
        getBlock(authorityNode.blockstore, cid, { maxBytes: 4096 }).then((bytes) => resolve(decodeUpload(bytes)), reject);
      });
    });
    authorityNode.libp2p.services.pubsub.subscribe(topic);
    const { block, published } = await uploadKeys(upload, {
      peers: [nodeAddresses(authorityNode)[0] as string],
      lingerMs: 5000,
    });
    const got = await received;
    expect(published.cid).to.equal(block.cid.toString());
    expect(published.recipients).to.deep.equal([authorityNode.libp2p.peerId.toString()]);
    expect(got).to.deep.equal(upload);

    // The authority publishes the uploaded keys in a signed batch, and its risk configuration.
    await world.publishBatch(feed, { seq: 1, prev: null, keys: got.keys });
    const config = await signDocument("risk-config", DEFAULT_RISK_CONFIG, world.authority);
    await putBlock(authorityNode.blockstore, config);
    await (await world.feeds.connect(world.authority).setRiskConfig(feed.feedId, config.cid.bytes)).wait();

    const fetchedConfig = await fetchRiskConfig(world.components, feed.feedId);
    expect(fetchedConfig).to.deep.equal(DEFAULT_RISK_CONFIG);
    const keysB = await followKeyFeed(world.components, vaultB, feed.feedId, { now });
    expect(keysB).to.deep.equal(got.keys);
    const resultB = await checkExposure(vaultB, { keys: keysB, config: fetchedConfig, now, feed });
    // 40 minutes at ~42 dB (immediate, weight 1.5) the day before A's onset (high infectiousness): a close contact.
    expect(resultB.level).to.equal("high");
    expect(resultB.mostRecentDay).to.equal(today - 2);
    expect(resultB.advice).to.equal(DEFAULT_RISK_CONFIG.advice[resultB.level]);
    expect(exposureNotifications(vaultB).map((n) => [n.day, n.level, n.feedId])).to.deep.equal([[today - 2, resultB.level, feed.feedId]]);
    // Checking again records no second notification of the same exposure.
    await checkExposure(vaultB, { keys: keysB, config: fetchedConfig, now: now + 60, feed });
    expect(exposureNotifications(vaultB)).to.have.length(1);

    const keysC = await followKeyFeed(world.components, vaultC, feed.feedId, { now });
    const resultC = await checkExposure(vaultC, { keys: keysC, config: fetchedConfig, now, feed });
    expect(resultC.level).to.equal("none");
    expect(resultC.advice).to.equal(DEFAULT_RISK_CONFIG.advice.none);
    expect(exposureNotifications(vaultC)).to.deep.equal([]);
  });

  /** B heard A for 40 minutes, 1 m away, two days ago; `keys` is A's key of that day as a feed would publish it. */
  async function exposedPair() {
    const [vaultA, vaultB] = [await open(), await open()];
    const sent: Advertisement[] = [];
    const start = (today - 2) * DAY + 9 * 3600;
    const times = [0, 600, 1200, 1800].map((s) => start + s);
    for (const t of times) await advertise(vaultA, { advertise: async (a: Advertisement) => void sent.push(a) }, t);
    await recordScans(
      vaultB,
      sent.map((a, i) => ({ rpi: a.rpi, aem: a.aem, t: (times[i] as number) + 30, rssi: -50, seconds: 600 })),
    );
    const { key, rollingStartIntervalNumber, rollingPeriod } = temporaryExposureKey(vaultA, today - 2, now);
    const keys = [{ key, rollingStartIntervalNumber, rollingPeriod, reportType: "confirmed-test" as const, daysSinceOnsetOfSymptoms: 0 }];
    return { vaultB, keys };
  }

  it("keeps a notification per chain, ExposureFeeds contract and feed: the same feed id elsewhere is another feed", async () => {
    const { vaultB, keys } = await exposedPair();
    const feed = { chainId: world.chainId, feeds: world.feedsAddress, feedId: "1" };
    const elsewhere = [
      { ...feed, feeds: `0x${"ab".repeat(20)}` },
      { ...feed, chainId: feed.chainId + 1 },
    ];
    for (const f of [feed, ...elsewhere]) {
      const result = await checkExposure(vaultB, { keys, config: DEFAULT_RISK_CONFIG, now, feed: f });
      expect(result.level).to.equal("high");
    }
    // Three feeds numbered 1 on different contracts or chains: three notifications, none overwriting another.
    const notified = exposureNotifications(vaultB);
    expect(notified.map((n) => [n.day, n.level, n.feedId])).to.deep.equal([
      [today - 2, "high", "1"],
      [today - 2, "high", "1"],
      [today - 2, "high", "1"],
    ]);
    expect(new Set(notified.map((n) => n._id)).size).to.equal(3);
    // The same feed again: still one notification for it.
    await checkExposure(vaultB, { keys, config: DEFAULT_RISK_CONFIG, now: now + 60, feed });
    expect(exposureNotifications(vaultB)).to.have.length(3);
  });

  it("refuses a malformed feed for a notification (TypeError/RangeError naming the field), recording nothing", async () => {
    const { vaultB: vault, keys } = await exposedPair();
    const feed = { chainId: world.chainId, feeds: world.feedsAddress, feedId: "1" };
    const bad: [Record<string, unknown>, ErrorConstructor, RegExp][] = [
      [{ feed: { ...feed, chainId: 0 } }, RangeError, /feed\.chainId/],
      [{ feed: { ...feed, feeds: "0x1234" } }, TypeError, /feed\.feeds/],
      [{ feed: { ...feed, feedId: "one" } }, RangeError, /feed\.feedId/],
      [{ feed: "1" }, TypeError, /feed: expected/],
      [{}, TypeError, /feed: expected/],
    ];
    for (const [init, type, re] of bad)
      await expectRejects(checkExposure(vault, { keys, config: DEFAULT_RISK_CONFIG, now, ...init } as never), type, re);
    expect(exposureNotifications(vault)).to.deep.equal([]);
    // The same keys with a well-formed feed do notify: the refusals above were the feed's, not the match's.
    await checkExposure(vault, { keys, config: DEFAULT_RISK_CONFIG, now, feed });
    expect(exposureNotifications(vault)).to.have.length(1);
  });

  it("after a transfer, the old authority's risk configuration is cleared (defaults) and the new one's is checked against it", async () => {
    const successor = world.chain.accounts[2] as Signer;
    const feed = await world.newFeed();
    const strict = { ...DEFAULT_RISK_CONFIG, thresholds: { low: 5, high: 10 } };
    const old = await signDocument("risk-config", strict, world.authority);
    await putBlock(world.authorityNode.blockstore, old);
    await (await world.feeds.connect(world.authority).setRiskConfig(feed.feedId, old.cid.bytes)).wait();
    expect(await fetchRiskConfig(world.components, feed.feedId)).to.deep.equal(strict);
    await (await world.feeds.connect(world.authority).transferFeed(feed.feedId, await successor.getAddress())).wait();
    // Signed by a key that is no longer the feed's: cleared, not refused — the check goes on with the defaults.
    expect(await fetchRiskConfig(world.components, feed.feedId)).to.deep.equal(DEFAULT_RISK_CONFIG);
    const renewed = await signDocument("risk-config", { ...strict, thresholds: { low: 7, high: 14 } }, successor);
    await putBlock(world.authorityNode.blockstore, renewed);
    await (await world.feeds.connect(successor).setRiskConfig(feed.feedId, renewed.cid.bytes)).wait();
    expect((await fetchRiskConfig(world.components, feed.feedId)).thresholds).to.deep.equal({ low: 7, high: 14 });
    // The old authority's document put back by the successor (a mistake or a replay) is refused.
    await (await world.feeds.connect(successor).setRiskConfig(feed.feedId, old.cid.bytes)).wait();
    await expectRejects(fetchRiskConfig(world.components, feed.feedId), WrongSignerError, /not by the feed's authority/);
  });

  it("a feed without a risk configuration gets GAEN's defaults", async () => {
    const feed = await world.newFeed();
    expect(await fetchRiskConfig(world.components, feed.feedId)).to.deep.equal(DEFAULT_RISK_CONFIG);
  });

  it("refuses a risk configuration not signed by the feed's authority (WrongSignerError)", async () => {
    const feed = await world.newFeed();
    const forged = await signDocument("risk-config", { ...DEFAULT_RISK_CONFIG, thresholds: { low: 0, high: 0 } }, Wallet.createRandom());
    await putBlock(world.authorityNode.blockstore, forged);
    await (await world.feeds.connect(world.authority).setRiskConfig(feed.feedId, forged.cid.bytes)).wait();
    await expectRejects(fetchRiskConfig(world.components, feed.feedId), WrongSignerError, /not by the feed's authority/);
  });
});
