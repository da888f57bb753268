// Whom a shared-mode answer goes to: the consent screen names the job's two aggregators (operator address and key
// fingerprint) and the consent binds them, so the shares go to exactly those keys or nowhere; keys that are two
// encodings of one point, or of a small-order point, are refused before anything is sharded.
import { randomBytes } from "node:crypto";
import { deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { READY_JOBS } from "@mosaic/mapreduce";
import type { Block } from "@mosaic/protocol";
import { x25519 } from "@noble/curves/ed25519";
import { expect } from "chai";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import { aggregatorKeyFingerprint, answerSharedJobWith, EgressMismatchError, jobKey, Vault } from "../src/index.js";

describe("vault: a shared answer goes to the aggregators the user consented to", function () {
  this.timeout(120_000);
  const windowEnd = 1_700_006_400;
  const shared = READY_JOBS["km-per-day"]!({ collectionDeadline: windowEnd, epsilon: { num: 1, den: 1 }, mode: "shared" });
  const job = { chainId: 31337n, registry: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", jobId: (1n << 128n) + 1n };
  const keyOf = () => x25519.getPublicKey(x25519.utils.randomPrivateKey());
  const aggregators = [
    { address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", key: keyOf() },
    { address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", key: keyOf() },
  ];

  async function vaultInGroup() {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    await vault.addLocations([
      { t: windowEnd - 2 * 86_400 + 60, lat: 0, lon: 0 },
      { t: windowEnd - 3600, lat: 0, lon: 0.1 },
    ]);
    return { vault, stores, group: new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]) };
  }

  it("names both aggregators on the consent screen and in the consent record", async () => {
    const { vault } = await vaultInGroup();
    const request = await vault.review(shared, job, { aggregators });
    const shown = aggregators.map((a) => ({ address: a.address, fingerprint: aggregatorKeyFingerprint(a.key) }));
    expect(request.aggregators).to.deep.equal(shown);
    const text = request.disclosure.join(" ");
    for (const a of shown) expect(text).to.include(a.address).and.include(a.fingerprint);
    expect(text).to.match(/cannot check that different people run them/);
    await vault.consent(shared, request);
    expect(vault.consentedAggregators(jobKey(job))).to.deep.equal(shown);
  });

  it("sends nothing when the keys at answer time are not the consented ones", async () => {
    const { vault, group, stores } = await vaultInGroup();
    await vault.consent(shared, await vault.review(shared, job, { aggregators }));
    const sent: Block[] = [];
    const before = await captureState(stores);
    await expectRejects(
      answerSharedJobWith({ publish: async (b) => void sent.push(b) }, vault, job, group, [aggregators[0]!.key, keyOf()], {
        spec: shared,
        peers: [],
        collectionDeadline: windowEnd,
        now: windowEnd - 3600,
        random: () => 0,
      }),
      EgressMismatchError,
      /not the ones you consented to/,
    );
    expect(sent).to.deep.equal([]);
    expect(await captureState(stores)).to.deep.equal(before);
  });

  it("refuses keys that are two encodings of one point, or a small-order point, before anything is recorded", async () => {
    const { vault, stores } = await vaultInGroup();
    const key = keyOf();
    const alias = key.slice();
    alias[31] = (alias[31] as number) ^ 0x80;
    const before = await captureState(stores);
    for (const keys of [
      [key, alias],
      [key, new Uint8Array(32)],
      [Uint8Array.from([1, ...new Array(31).fill(0)]), key],
    ]) {
      await expectRejects(
        vault.review(shared, job, { aggregators: keys.map((k, i) => ({ address: aggregators[i]!.address, key: k })) }),
        RangeError,
        /same key|small-order/,
      );
    }
    expect(await captureState(stores)).to.deep.equal(before);
  });
});
