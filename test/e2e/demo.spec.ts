// The demo path end to end on real parts: in-process Hardhat chain, Helia nodes on loopback, gossipsub,
// bitswap, real Semaphore proofs and sealed vaults. Nothing is mocked.
import { runDemo } from "@mosaic/cli";
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
    expect(summary.days).to.have.length(7);
    expect(summary.allWithin, lines.join("\n")).to.equal(true);
    expect(summary.proofMs.median).to.be.above(0);
    expect(lines.some((l) => l.includes("consent screen"))).to.equal(true);
    // The true mean is a real quantity: someone moved on most days.
    expect(summary.days.some((d) => d.truthKm > 0)).to.equal(true);
  });
});
