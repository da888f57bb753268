// The alert-reach ready job as a whole job on real parts: a public body fills jobs/alert-reach.json for one alert and
// posts it with `mosaic job post` on a Hardhat chain served from this process; six vaults — three whose location
// history the alert's polygon covers, two elsewhere, one covered that then received the alert's Cancel — review it,
// consent and answer with real Semaphore proofs; one `mosaic reducer start` process collects, reduces, proposes and
// the job is finalised; `mosaic job result` reads it, and the "reached" estimate is within its error of the truth.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type AlertFeedRef, type CapAlert, encodeEntry } from "@mosaic/alerts";
import { loadGroup, registerAvatar } from "@mosaic/avatar";
import { estimateResult } from "@mosaic/mapreduce";
import { createLogger, fundedWallet, type JobSpec, revealedResults } from "@mosaic/protocol";
import { alertDocKey, alertReachSpec, answerJob, Vault } from "@mosaic/vault";
import { expect } from "chai";
import { parseEther, type Signer } from "ethers";
import { createReducerWorld, type Reducer, type ReducerWorld } from "../../packages/cli/test/reducer-world.js";
import { json, mosaic } from "../../packages/cli/test/run.js";
import { memoryStores } from "../helpers.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** Berlin-Mitte, roughly, and two places in it; Munich, outside it. */
const MITTE = "52.50,13.37 52.50,13.43 52.54,13.43 52.54,13.37 52.50,13.37";
const IN_MITTE = { lat: 52.52, lon: 13.4 };
const IN_MUNICH = { lat: 48.14, lon: 11.58 };
/** The check the demo makes too: 3.89 standard deviations of the privacy noise (99.99% two-sided). */
const Z_CHECK = 3.89;

const capTime = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 19)}+00:00`;

/** A CAP alert for Mitte, in force from two hours before `nowS` to two hours after. */
function mitteAlert(identifier: string, nowS: number, over: Partial<CapAlert> = {}): CapAlert {
  return {
    identifier,
    sender: "gesundheitsamt@berlin.example",
    sent: capTime(nowS - 600),
    status: "Actual",
    msgType: "Alert",
    scope: "Public",
    code: [],
    info: [
      {
        category: ["Health"],
        event: "Measles exposure",
        responseType: ["Monitor"],
        urgency: "Expected",
        severity: "Moderate",
        certainty: "Observed",
        eventCode: [],
        headline: "Measles exposure in Mitte",
        parameter: [],
        resource: [],
        onset: capTime(nowS - 2 * 3600),
        expires: capTime(nowS + 2 * 3600),
        area: [{ areaDesc: "Mitte", polygon: [MITTE], circle: [], geocode: [] }],
      },
    ],
    ...over,
  };
}

describe("e2e: the alert-reach job posted, answered by vaults with real proofs, reduced, finalised and read", function () {
  this.timeout(300_000);
  let w: ReducerWorld;
  let reducer: Reducer;
  const vaults: Vault[] = [];

  before(async () => {
    w = await createReducerWorld(0, 1);
    reducer = w.reducers[0] as Reducer;
    await w.start(reducer);
  });
  after(async () => {
    await Promise.allSettled(vaults.map((v) => v.close()));
    await w?.close();
  });

  it("counts the vaults the alert reached (covered, not cancelled) within the stated error", async () => {
    const { contracts } = w;
    const registry = contracts.jobRegistry;
    const nowS = Number((await w.chain.provider.getBlock("latest"))?.timestamp);
    const feed: AlertFeedRef = {
      chainId: Number(w.chain.chainId),
      contract: String(contracts.addresses.alertFeeds).toLowerCase(),
      feedId: 1,
    };
    // Entry 1 the alert, entry 2 its Cancel: real entry blocks, as a replica hands them to the vault.
    const alert = mitteAlert("measles-1", nowS);
    const first = encodeEntry({ v: 1, feed, seq: 1, epoch: 1, prev: null, cap: alert });
    const cancel = mitteAlert("measles-1-cancel", nowS, {
      msgType: "Cancel",
      sent: capTime(nowS - 60),
      references: `${alert.sender},${alert.identifier},${alert.sent}`,
    });
    const second = encodeEntry({ v: 1, feed, seq: 2, epoch: 1, prev: first.cid, cap: cancel });

    // Six people: where each was an hour ago, and whether the Cancel reached them.
    const people = [
      { at: IN_MITTE, cancelled: false, reached: true },
      { at: IN_MITTE, cancelled: false, reached: true },
      { at: { lat: 52.51, lon: 13.38 }, cancelled: false, reached: true },
      { at: IN_MUNICH, cancelled: false, reached: false },
      { at: IN_MUNICH, cancelled: false, reached: false },
      { at: IN_MITTE, cancelled: true, reached: false },
    ];
    const deployer = w.chain.accounts[0] as Signer;
    for (const person of people) {
      const vault = await Vault.open(memoryStores(), { rootSeed: crypto.getRandomValues(new Uint8Array(32)) });
      vaults.push(vault);
      await vault.addLocations([
        { t: nowS - 3600, ...person.at },
        { t: nowS - 3000, ...person.at },
      ]);
      await vault.dispatch("alert:received", { feed, seq: 1, cid: first.cid.toString(), cap: alert });
      if (person.cancelled) await vault.dispatch("alert:received", { feed, seq: 2, cid: second.cid.toString(), cap: cancel });
      const wallet = await fundedWallet(w.chain, deployer, parseEther("0.01"));
      await registerAvatar(contracts.avatarGroups.connect(wallet), w.groupId, vault.avatar.commitment);
    }

    // The public body fills the template for entry 1 and posts it, handing the spec to the reducer.
    const template = JSON.parse(await readFile(path.join(ROOT, "jobs", "alert-reach.json"), "utf8")) as JobSpec;
    const spec = alertReachSpec(template, alertDocKey(feed, 1), { collectionDeadline: nowS + 900 });
    const specFile = path.join(w.work, "reach.json");
    await writeFile(specFile, JSON.stringify(spec, null, 2));
    const posted = json<{ jobId: string }>(await w.post(specFile, [reducer]));
    const jobId = BigInt(posted.jobId);
    await w.until("the reducer to collect", async () => (await w.jobOf(reducer, jobId)).state === "collecting");

    // Each vault reviews, consents, and answers one randomized bit with a real proof; nothing else leaves.
    const job = { chainId: w.chain.chainId, registry: contracts.addresses.jobRegistry, jobId };
    const group = await loadGroup(contracts.avatarGroups, w.groupId);
    expect(group.root).to.equal((await registry.getJob(jobId)).groupRoot);
    let truth = 0;
    for (const [i, vault] of vaults.entries()) {
      const request = await vault.review(spec, job);
      expect(request.preview.raw, `person ${i}`).to.deep.equal(people[i]?.reached ? [1, 0] : [0, 1]);
      truth += request.preview.raw[0] as number;
      await vault.consent(spec, request);
      await answerJob(vault, job, group, {
        peers: reducer.status?.addresses.slice(0, 1) ?? [],
        collectionDeadline: spec.collectionDeadline,
        now: Number((await w.chain.provider.getBlock("latest"))?.timestamp),
        // No random delay (the test does not wait for one): said at warn level, not shown here.
        maxDelayMs: 0,
        logger: createLogger("vault", "error"),
      });
    }
    expect(truth).to.equal(3);
    await w.until("the reducer to accept 6 answers", async () => Number((await w.jobOf(reducer, jobId)).accepted) === 6);

    // The deadline passes, the reducer reduces and proposes; after the challenge window the job is finalised.
    await w.timeTo(spec.collectionDeadline + 1);
    await w.until("the reducer's revealed proposal", async () => (await revealedResults(registry, jobId)).size === 1, 90_000);
    await w.timeTo(Number((await registry.getJob(jobId)).finalizeAfter) + 5);
    await w
      .until("the job to be finalised", async () => (await registry.getJob(jobId)).state !== 1n, 30_000)
      .catch(async () => {
        if ((await registry.getJob(jobId)).state === 1n) await (await registry.finalizeJob(jobId)).wait();
      });
    expect((await registry.getJob(jobId)).state).to.equal(2n);

    // The public body reads the final result; "reached" is within the noise's stated error of the truth.
    const result = json<{
      final: boolean;
      count: number;
      aggregate: number[];
      view: { rows: { label: string; estimate: number; low: number; high: number }[] };
    }>(await mosaic(["job", "result", posted.jobId, "--spec", specFile, "--json", ...w.chainArgs], w.work));
    expect([result.final, result.count]).to.deep.equal([true, 6]);
    // Randomized response: each answer is one mark, so the noised marks still add up to the answers.
    expect(result.aggregate.reduce((a, b) => a + b, 0)).to.equal(6);
    const estimate = estimateResult(spec, result.aggregate, result.count);
    const reached = estimate.rows[0];
    expect(reached?.label).to.equal("reached");
    expect(result.view.rows[0]).to.deep.include({ label: "reached", estimate: reached?.estimate, low: reached?.low, high: reached?.high });
    const error = Math.abs((reached?.estimate as number) - truth);
    expect(error, `reached ${reached?.estimate} ± ${reached?.stdDev} vs truth ${truth}`).to.be.at.most(
      Z_CHECK * (reached?.stdDev as number),
    );
  });
});
