// The exposures-per-day ready job answered like any other: a vault notified on the device reviews it, sees exactly
// what would leave (one mark under today's level, nothing about scans or keys), consents, and the egress gate hands
// the noised payload to the transport.
import { randomBytes } from "node:crypto";
import { decodeLocalSubmission, deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { type Advertisement, DEFAULT_RISK_CONFIG, dailyKey, exposureRootFromSeed, type PublishedKey, unixDayOf } from "@mosaic/exposure";
import { EXPOSURE_LEVELS, exposuresPerDayJob } from "@mosaic/mapreduce";
import type { Block } from "@mosaic/protocol";
import { expect } from "chai";
import { memoryStores } from "../../../test/helpers.js";
import { advertise, answerJobWith, checkExposure, recordScans, Vault } from "../src/index.js";

describe("vault: the exposures-per-day job over the device's own notifications", function () {
  this.timeout(60_000);
  const now = Math.floor(Date.now() / 1000);
  const today = unixDayOf(now);
  const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 7n };

  it("a notified vault's answer marks today's level once; a vault never notified answers all zeros before noise", async () => {
    const seedA = randomBytes(32);
    const [a, b, c] = await Promise.all(
      [seedA, randomBytes(32), randomBytes(32)].map((rootSeed) => Vault.open(memoryStores(), { rootSeed, clock: () => now * 1000 })),
    );
    try {
      // A and B together for 40 minutes yesterday at about a metre.
      const sent: Advertisement[] = [];
      const start = (today - 1) * 86_400 + 15 * 3600;
      const times = [0, 600, 1200, 1800].map((s) => start + s);
      for (const t of times) await advertise(a as Vault, { advertise: async (x) => void sent.push(x) }, t);
      await recordScans(
        b as Vault,
        sent.map((x, i) => ({ ...x, t: (times[i] as number) + 20, rssi: -50, seconds: 600 })),
      );
      const keys: PublishedKey[] = [
        { ...dailyKey(exposureRootFromSeed(seedA), today - 1), reportType: "confirmed-test", daysSinceOnsetOfSymptoms: 0 },
      ];
      const result = await checkExposure(b as Vault, {
        keys,
        config: DEFAULT_RISK_CONFIG,
        now,
        feed: { chainId: 31337, feeds: job.registry, feedId: "1" },
      });
      expect(result.level).to.equal("high");

      const spec = exposuresPerDayJob({ collectionDeadline: now + 3600, days: 3 });
      const request = await (b as Vault).review(spec, job);
      expect(request.reads).to.deep.equal([{ ability: "proximity", collection: "notifications", fields: ["checkedAt", "level"] }]);
      const todayIndex = spec.output.entries.findIndex((e) => e.label.startsWith(new Date(today * 86_400_000).toISOString().slice(0, 10)));
      const expected = spec.output.entries.map((_, i) => (i === todayIndex + EXPOSURE_LEVELS.indexOf("high") ? 1 : 0));
      expect(request.preview.raw).to.deep.equal(expected);
      expect((await (c as Vault).review(spec, job)).preview.raw.every((x) => x === 0)).to.equal(true);

      await (b as Vault).consent(spec, request);
      const handed: Block[] = [];
      const group = new Group([(b as Vault).avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
      await answerJobWith({ publish: async (block) => void handed.push(block) }, b as Vault, job, group, {
        peers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"],
        collectionDeadline: now + 3600,
        now,
        random: () => 0,
      });
      expect(handed).to.have.length(1);
      expect(decodeLocalSubmission((handed[0] as Block).bytes).payload).to.deep.equal(request.preview.payload);
      // One audit entry the user can read: this job, what it read, the bytes that left.
      expect((b as Vault).audit()).to.have.length(1);
    } finally {
      await Promise.all([a, b, c].map((v) => v?.close()));
    }
  });
});
