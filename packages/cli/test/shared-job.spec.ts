import path from "node:path";
import { encodeSubmission, Group, nullifierOf, proveSharedSubmission, publishSubmission } from "@mosaic/avatar";
import { shardReport } from "@mosaic/mapreduce";
import { jobTopic, networkFileFor, readReducers, type SharedJobs, writeNetworkFile } from "@mosaic/protocol";
import { expect } from "chai";
import { aggregatorKeyFingerprint } from "@mosaic/vault";
import { getBytes, parseEther, ZeroHash } from "ethers";
import { createReducerWorld, keyOf, type Reducer, type ReducerWorld } from "./reducer-world.js";
import { failed, json, mosaic, type Run } from "./run.js";

const SHARED_ID = (n: number) => (1n << 128n) + BigInt(n);

describe("mosaic job post, list, result: shared-mode jobs on SharedJobs", function () {
  this.timeout(900_000);
  let w: ReducerWorld;
  let shared: SharedJobs;
  let networkFile: string;
  let registryOnly: string;
  let spec: string;
  const operators: string[] = [];

  before(async () => {
    w = await createReducerWorld(4, 2);
    shared = w.contracts.sharedJobs as SharedJobs;
    const sharedJobs = await shared.getAddress();
    for (const r of w.reducers) await w.writeConfig(r, { directory: w.contracts.addresses.reducerDirectory, sharedJobs });
    await Promise.all(w.reducers.map((r) => w.start(r)));
    for (const r of w.reducers) operators.push(r.status?.operator as string);
    await w.until("both reducers announced, with aggregator keys", async () => {
      const found = await readReducers(w.contracts.reducerDirectory, w.contracts.jobRegistry);
      const keys = await Promise.all(operators.map((o) => shared.aggregatorKeyOf(o)));
      return operators.every((o) => found.some((r) => r.operator === o)) && keys.every((k) => k !== ZeroHash);
    });
    // Reducer 1 stakes more: chosen first, so the leader.
    const provider = w.chain.provider;
    await (await w.contracts.jobRegistry.connect(keyOf(2).connect(provider)).stake({ value: parseEther("0.5") })).wait();
    // A staked operator with no aggregator key (no reducer running).
    await (await w.contracts.jobRegistry.connect(keyOf(3).connect(provider)).stake({ value: parseEther("1") })).wait();
    const { addresses } = w.contracts;
    const deployBlock = (w.contracts as typeof w.contracts & { deployBlock: number }).deployBlock;
    networkFile = path.join(w.work, "networks", "local.json");
    await writeNetworkFile(networkFile, networkFileFor({ name: "local", chainId: w.chain.chainId, rpc: w.rpc, addresses, deployBlock }));
    const withoutShared = { ...addresses };
    delete withoutShared.sharedJobs;
    registryOnly = path.join(w.work, "networks", "registry-only.json");
    await writeNetworkFile(
      registryOnly,
      networkFileFor({ name: "registry-only", chainId: w.chain.chainId, rpc: w.rpc, addresses: withoutShared, deployBlock }),
    );
    spec = path.join(w.work, "shared.json");
    const made = await mosaic(
      [
        "job",
        "new",
        "km-per-day",
        "--mode",
        "shared",
        "--deadline-in",
        "900",
        "--challenge-window",
        "120",
        "--min-participants",
        "2",
        "--out",
        spec,
      ],
      w.work,
    );
    expect(made.code, made.stderr).to.equal(0);
  });
  after(async () => w?.close());

  /** A reducer's progress on a job from its status port's /jobs (its /jobs/<id> route takes ids of up to 20 digits). */
  const progressOf = async (r: Reducer, id: bigint): Promise<Record<string, unknown>> => {
    const all = (await (await w.get(r, "/jobs")).json()) as Record<string, unknown>[];
    return all.find((j) => j.jobId === id.toString()) ?? {};
  };

  const post = (extra: string[], chain: string[] = ["--network", networkFile]) =>
    mosaic(["job", "post", spec, "--group", String(w.groupId), ...chain, "--wallet-key-file", w.researcherKey, ...extra], w.work);

  it("refuses a shared spec where it cannot be posted, and bad --aggregator choices, by name, posting nothing", async () => {
    const [a0, a1] = operators as [string, string];
    const unstaked = keyOf(8).address;
    const keyless = keyOf(3).address;
    const runs = await Promise.all([
      post(["--dry-run"], w.chainArgs), // --rpc and --registry only: no SharedJobs
      post([], ["--network", registryOnly]), // a network deployed before shared mode
      post(["--aggregator", a0]),
      post(["--aggregator", a0, "--aggregator", a0.toLowerCase()]),
      post(["--aggregator", a0, "--aggregator", "0x1234"]),
      post(["--aggregator", a0, "--aggregator", unstaked]),
      post(["--aggregator", keyless, "--aggregator", a1]),
      post(["--aggregator", a0, "--aggregator", a1, "--shared-jobs", w.contracts.addresses.jobRegistry]),
      post(["--peer", w.reducers[0]?.status?.addresses[0] as string], w.chainArgs.concat(["--shared-jobs", await shared.getAddress()])),
      post(["--aggregator", a0, "--aggregator", keyOf(5).address]), // the researcher's own wallet
    ]);
    const [noShared, oldNetwork, one, same, notAddress, notStaked, noKey, notShared, peerOnly, researcher] = runs as Run[];
    failed(
      researcher as Run,
      1,
      "ResearcherIsAggregatorError",
      new RegExp(`--aggregator ${keyOf(5).address} is the paying wallet's address`),
    );
    failed(
      noShared as Run,
      2,
      "UsageError",
      /job post: \S+shared\.json is a shared-mode spec, and a shared job is on the SharedJobs contract: --shared-jobs ADDRESS is required, or --network NAME\|FILE with it/,
    );
    failed(oldNetwork as Run, 2, "UsageError", /registry-only\.json has no contracts\.sharedJobs/);
    failed(one as Run, 2, "UsageError", /--aggregator: a shared job has two aggregators; give --aggregator ADDRESS twice.*\(got 1\)/);
    failed(same as Run, 1, "SameAggregatorError", new RegExp(`--aggregator: ${a0} was given twice`));
    failed(
      notAddress as Run,
      1,
      "RangeError",
      /--aggregator: expected a staked operator's address \(0x and 40 hex characters\), got "0x1234"/,
    );
    failed(
      notStaked as Run,
      1,
      "AggregatorNotStakedError",
      new RegExp(`--aggregator ${unstaked}: 0\\.0 ETH staked in the JobRegistry, the job needs 1\\.0 ETH`),
    );
    failed(noKey as Run, 1, "NoAggregatorKeyError", new RegExp(`--aggregator ${keyless}: no aggregator key registered with SharedJobs`));
    failed(notShared as Run, 1, "TypeError", /--shared-jobs: the contract at 0x[0-9a-fA-F]{40} is not a SharedJobs contract/);
    failed(peerOnly as Run, 2, "UsageError", /a shared-mode job needs two aggregators: give --aggregator ADDRESS twice/);
    // A local-mode spec with --aggregator: refused rather than ignored.
    const local = path.join(w.work, "local.json");
    expect((await mosaic(["job", "new", "km-per-day", "--out", local], w.work)).code).to.equal(0);
    failed(
      await mosaic(
        [
          "job",
          "post",
          local,
          "--group",
          String(w.groupId),
          "--network",
          networkFile,
          "--wallet-key-file",
          w.researcherKey,
          "--aggregator",
          a0,
          "--aggregator",
          a1,
        ],
        w.work,
      ),
      2,
      "UsageError",
      /--aggregator is for shared-mode specs/,
    );
    // Too few reducers qualify: at 1.2 ETH minimum stake only reducer 1 does (reducer 0 has 1 ETH).
    const dear = path.join(w.work, "dear.json");
    expect((await mosaic(["job", "new", "km-per-day", "--mode", "shared", "--min-stake", "1.2", "--out", dear], w.work)).code).to.equal(0);
    failed(
      await mosaic(
        ["job", "post", dear, "--group", String(w.groupId), "--network", networkFile, "--wallet-key-file", w.researcherKey, "--dry-run"],
        w.work,
      ),
      1,
      "NoAggregatorError",
      /only one reducer announced in the ReducerDirectory at 0x[0-9a-fA-F]{40} with at least 1\.2 ETH staked has an aggregator key .*give --aggregator ADDRESS twice/,
    );
    expect(await shared.jobCount()).to.equal(0n);
    expect(await w.contracts.jobRegistry.jobCount()).to.equal(0n);
  });

  it("previews the mode, the two aggregators it chose (highest stake first) and non-collusion; --dry-run posts nothing", async () => {
    const [a0, a1] = operators as [string, string];
    const [text, dry] = await Promise.all([post(["--dry-run"]), post(["--dry-run", "--json"])]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^Would post: Kilometres travelled per day/);
    expect(text.stdout).to.match(/\n {2}mode +shared: each answer goes as two encrypted Prio3 shares, one per aggregator/);
    const fingerprint = async (a: string) => aggregatorKeyFingerprint(getBytes(await shared.aggregatorKeyOf(a)));
    // Each key's fingerprint as the users' consent screen shows it.
    expect(text.stdout).to.contain(
      `\n  aggregators ${a1} (leader, 1.5 ETH staked, key ${await fingerprint(a1)}) and ${a0} (1.0 ETH staked, key ${await fingerprint(a0)}), chosen from the reducers announced on-chain\n`,
    );
    expect(text.stdout).to.match(
      /\n {2}trust +non-collusion: either aggregator alone sees only encrypted shares and the noised sum; the two together could read every answer\n/,
    );
    expect(text.stdout).to.contain("Dry run: nothing was posted.");
    const preview = json<{
      posted: boolean;
      mode: string;
      aggregators: Array<{ address: string; key: string }>;
      aggregatorsFrom: string;
      sharedJobs: string;
    }>(dry);
    expect([preview.posted, preview.mode, preview.aggregatorsFrom, preview.sharedJobs]).to.deep.equal([
      false,
      "shared",
      "directory",
      await shared.getAddress(),
    ]);
    expect(preview.aggregators.map((a) => a.address)).to.deep.equal([a1, a0]);
    expect(preview.aggregators[0]?.key).to.equal((await shared.aggregatorKeyOf(a1)).toLowerCase());
    // Given in the other order, the leader is the first given.
    const given = json<{ aggregators: Array<{ address: string }>; aggregatorsFrom: string }>(
      await post(["--dry-run", "--json", "--aggregator", a0, "--aggregator", a1]),
    );
    expect([given.aggregatorsFrom, ...given.aggregators.map((a) => a.address)]).to.deep.equal(["--aggregator", a0, a1]);
    expect(await shared.jobCount()).to.equal(0n);
  });

  it("posts as s1 on SharedJobs with the chosen aggregators holding the spec; job list and job result say where it stands, then draw the released sum", async () => {
    const [a0, a1] = operators as [string, string];
    const posted = await post([]);
    expect(posted.code, posted.stderr).to.equal(0);
    expect(posted.stderr).to.match(/Would post: [\s\S]*aggregators[\s\S]*Posting…/);
    expect(posted.stdout).to.match(/\n {2}job +s1\n/);
    const id = SHARED_ID(1);
    const record = await shared.getSharedJob(id);
    expect([...record.aggregators]).to.deep.equal([a1, a0]);
    expect(await w.contracts.jobRegistry.jobCount()).to.equal(0n);
    for (const r of w.reducers) await w.until("the aggregator to collect s1", async () => (await progressOf(r, id)).state === "collecting");

    // Collecting: the standing and each aggregator's part; no spec needed.
    const collecting = json<{ label: string; mode: string; standing: { stage: string; summary: string }; view?: unknown }>(
      await mosaic(["job", "result", "s1", "--json", "--network", networkFile], w.work),
    );
    expect([collecting.label, collecting.mode, collecting.standing.stage, collecting.view]).to.deep.equal([
      "s1",
      "shared",
      "collecting",
      undefined,
    ]);
    const text = await mosaic(["job", "result", "s1", "--network", networkFile], w.work);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(
      /^job s1 \(shared mode\)\ncollecting encrypted shares: closes in .*\n {2}aggregator 0 0x[0-9a-fA-F]{40}: no prep shares yet, not committed\n/,
    );
    failed(
      await mosaic(["job", "result", "s9", "--network", networkFile], w.work),
      1,
      "NoSuchJobError",
      /no shared job s9 on SharedJobs at 0x[0-9a-fA-F]{40} \(it has job s1\)/,
    );
    failed(await mosaic(["job", "result", "s1", ...w.chainArgs], w.work), 2, "UsageError", /--shared-jobs ADDRESS is required/);
    const watched = await mosaic(["job", "watch", "s1", "--network", networkFile, "--timeout-s", "1", "--interval-ms", "100"], w.work);
    expect(watched.code, watched.stderr).to.equal(0);
    expect(watched.stdout).to.match(/^job s1 \(shared\) collecting encrypted shares: closes in /);
    const listed = json<{ jobs: Array<{ label: string; mode: string; stage: string; groupId: string }> }>(
      await mosaic(["job", "list", "--json", "--network", networkFile], w.work),
    );
    expect(listed.jobs.map((j) => [j.label, j.mode, j.stage, j.groupId])).to.deep.equal([
      ["s1", "shared", "collecting", String(w.groupId)],
    ]);

    // Two members answer with encrypted shares under real proofs.
    const job = { chainId: w.chain.chainId, registry: (await shared.getAddress()).toLowerCase(), jobId: id };
    const keys = record.aggregatorKeys.map((k) => Uint8Array.from(Buffer.from(k.slice(2), "hex"))) as [Uint8Array, Uint8Array];
    const group = new Group(w.identities.map((i) => i.commitment));
    const specJson = JSON.parse(await (await import("node:fs/promises")).readFile(spec, "utf8"));
    const weeks = [
      [3, 4, 0, 0, 0, 0],
      [0, 7, 0, 0, 0, 0],
    ];
    for (const [i, clamped] of weeks.entries()) {
      const identity = w.identities[i] as (typeof w.identities)[number];
      const report = await shardReport({ spec: specJson, job, clamped, aggregatorKeys: keys, nullifier: nullifierOf(identity, job) });
      const block = await encodeSubmission(await proveSharedSubmission(identity, group, job, report));
      await publishSubmission(block, {
        peers: w.reducers.map((r) => r.status?.addresses[0] as string),
        topic: jobTopic(job),
        minRecipients: 2,
        lingerMs: 10_000,
      });
    }
    for (const r of w.reducers) await w.until("both reports accepted", async () => Number((await progressOf(r, id)).accepted) === 2);

    // Collection closes: both aggregators commit the same share set; after both windows, the job is final.
    await w.timeTo(Number(record.collectionDeadline) + 1);
    await w.until(
      "both aggregators to commit and reveal",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(id, i)))).every((c) => c.revealed),
      90_000,
    );
    const provisional = json<{ standing: { stage: string; count: number } }>(
      await mosaic(["job", "result", "s1", "--json", "--network", networkFile], w.work),
    );
    expect([provisional.standing.stage, provisional.standing.count]).to.deep.equal(["provisional", 2]);
    await w.timeTo(Number(record.finalizeAfter) + 5);
    await w
      .until("an aggregator to finalise s1", async () => (await shared.getSharedJob(id)).state === 2n, 30_000)
      .catch(async () => (await shared.finalize(id)).wait());
    expect((await shared.getSharedJob(id)).state).to.equal(2n);

    const png = path.join(w.work, "shared.png");
    const final = json<{
      final: boolean;
      count: number;
      aggregate: number[];
      standing: { stage: string };
      view: { rows: Array<{ projected: number }>; errorBars: string; projection: string };
    }>(await mosaic(["job", "result", "s1", "--json", "--network", networkFile, "--spec", spec, "--png", png], w.work));
    expect([final.standing.stage, final.final, final.count]).to.deep.equal(["final", true, 2]);
    expect(final.aggregate).to.deep.equal((await shared.resultOf(id)).map(Number));
    expect(final.view.rows).to.have.length(6);
    // The projection keeps every band non-negative and the total at 7 days × 2 answers.
    expect(final.view.rows.every((r) => r.projected >= 0)).to.equal(true);
    const total = final.view.rows.reduce((a, r) => a + r.projected, 0);
    expect(Math.abs(total - 14), `projected total ${total}`).to.be.below(1e-6);
    // Without --spec, the spec is fetched from the reducers announced on-chain (the aggregators hold it).
    const drawn = await mosaic(["job", "result", "s1", "--network", networkFile], w.work);
    expect(drawn.code, drawn.stderr).to.equal(0);
    expect(drawn.stdout).to.match(/^job s1: Kilometres travelled per day.* \(shared mode\)\nfinal: the sum of 2 reports/);
    expect(drawn.stdout).to.match(/label +estimate +± half-width +95% interval +projected\n/);
    expect(drawn.stdout).to.contain("error bars cover the privacy noise only");
    expect(drawn.stdout).to.match(/\nprojected: /);
    const finalList = await mosaic(["job", "list", "--network", networkFile], w.work);
    expect(finalList.stdout).to.match(/\ns1 +shared +\d+ /);
    expect(finalList.stdout).to.contain("\n     final: the sum of 2 reports");

    // Two operators with one aggregator key are one machine: refused as the same aggregator.
    const keyless = keyOf(3);
    await (await shared.connect(keyless.connect(w.chain.provider)).setAggregatorKey(await shared.aggregatorKeyOf(a0))).wait();
    const before = await shared.jobCount();
    const fresh = path.join(w.work, "fresh.json"); // the first spec's deadline has passed on the chain
    expect(
      (await mosaic(["job", "new", "km-per-day", "--mode", "shared", "--deadline-in", "90000", "--out", fresh], w.work)).code,
    ).to.equal(0);
    failed(
      await mosaic(
        [
          ...["job", "post", fresh, "--group", String(w.groupId), "--network", networkFile, "--wallet-key-file", w.researcherKey],
          ...["--aggregator", a0, "--aggregator", keyless.address],
        ],
        w.work,
      ),
      1,
      "SameAggregatorError",
      /registered the same aggregator key .*one machine holds both shares/,
    );
    expect(await shared.jobCount()).to.equal(before);
  });
});
