// The demo path end to end on real parts: in-process Hardhat chain, Helia nodes on loopback, gossipsub,
// bitswap, real Semaphore proofs and sealed vaults. Nothing is mocked.
import { runDemo, runExposureDemo } from "@mosaic/cli";
import { expect } from "chai";

describe("end to end: one job through every layer", () => {
  it("collects every user's submission, proposes, finalises and lands within the stated error", async () => {
    const lines: string[] = [];
    const summary = await runDemo({
      // More than 10 announcers from one IP: gossipsub's colocation penalty once silently dropped the 11th.
      users: 12,
      peers: [],
      collectSeconds: 600,
      challengeSeconds: 120,
      concurrency: 2,
      seed: 20261121,
      print: (l) => lines.push(l),
    });
    expect(summary.accepted).to.equal(12);
    expect(summary.rejected).to.deep.equal({});
    expect(summary.rows).to.have.length(6);
    expect(summary.allWithin, lines.join("\n")).to.equal(true);
    expect(summary.proofMs.median).to.be.above(0);
    expect(lines.some((l) => l.includes("consent screen"))).to.equal(true);
    // Every user has every day of the week in one distance band.
    expect(summary.rows.reduce((a, r) => a + r.truth, 0)).to.equal(12 * 7);
  });

  it("in shared mode the two reducers aggregate encrypted shares, and the released sum lands within the stated error", async () => {
    const lines: string[] = [];
    const summary = await runDemo({
      users: 6,
      peers: [],
      collectSeconds: 600,
      challengeSeconds: 120,
      concurrency: 2,
      seed: 20261205,
      mode: "shared",
      print: (l) => lines.push(l),
    });
    expect(summary.mode).to.equal("shared");
    expect(summary.jobId).to.equal("s1");
    expect(summary.accepted).to.equal(6);
    expect(summary.allWithin, lines.join("\n")).to.equal(true);
    // The consent screen says what shared mode means, and no line calls the answer noised.
    expect(lines.some((l) => /split in two encrypted shares/.test(l))).to.equal(true);
    expect(lines.some((l) => /would send \(noised/.test(l))).to.equal(false);
    // Projected estimates are never negative and add up to everyone's 7 days.
    const projected = summary.rows.map((r) => r.projected ?? Number.NaN);
    expect(projected.every((x) => x >= 0)).to.equal(true);
    expect(Math.abs(projected.reduce((a, b) => a + b, 0) - 6 * 7)).to.be.below(1e-6);
  });

  it("--exposure: positives upload anonymously, every other vault checks on the device, a staked node answers the hotspot check", async () => {
    const lines: string[] = [];
    const summary = await runExposureDemo({
      people: 24,
      days: 14,
      seed: 20261205,
      peers: [],
      hotspotChecks: 3,
      print: (l) => lines.push(l),
    });
    const report = lines.join("\n");
    expect(summary.positives, report).to.be.at.least(2);
    expect(summary.uploadsAccepted, report).to.equal(summary.positives);
    // 14 keys per positive (the days before today), in one signed batch anchored on-chain.
    expect(summary.keysPublished).to.equal(14 * summary.positives);
    expect(summary.batches).to.equal(1);
    const { none, low, high } = summary.levels;
    expect(none + low + high).to.equal(24 - summary.positives);
    // Most of those the simulator says were a close contact of a positive are notified (the town's week falls on other
    // weekdays as the date moves, so the exact figure varies; the bench measures it over many towns).
    expect(summary.notifications.recall, report).to.be.at.least(0.5);
    expect(summary.notifications.notified).to.equal(low + high);
    // The private check is exact: a vault finds a hotspot if and only if one of its visits is in the set.
    expect(summary.hotspots.vaultsChecked).to.equal(3);
    expect(summary.hotspots.vaultsMatched).to.equal(summary.hotspots.vaultsTrulyThere);
    expect(summary.hotspots.queries).to.be.at.least(3);
  });
});
