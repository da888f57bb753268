// End to end: the researcher's `mosaic job` commands and three `mosaic reducer start` processes, each with its own
// Helia node and journal, against a Hardhat JSON-RPC server on loopback, with real Semaphore proofs. One reducer is
// SIGKILLed twice (while verifying, and as it proposes), restarted, and must propose exactly what the others did.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { revealedResults } from "@mosaic/protocol";
import { expect } from "chai";
import { type Reducer, type ReducerWorld, createReducerWorld } from "./reducer-world.js";
import { failed, json, mosaic, type Run } from "./run.js";

const MEMBERS = 8;

describe("mosaic job and three mosaic reducer processes: post, collect, SIGKILL and resume, propose, result", function () {
  this.timeout(600_000);
  let w: ReducerWorld;
  let work: string;
  let chainArgs: string[];
  let researcherKey: string;
  let reducers: Reducer[];

  before(async () => {
    w = await createReducerWorld(MEMBERS, 3);
    ({ work, chainArgs, researcherKey, reducers } = w);
  });

  after(async () => w?.close());

  it("has --help on every command; usage errors exit 2; invalid specs are refused before anything is posted", async () => {
    const helps = [
      ["job", "--help"],
      ["job", "post", "--help"],
      ["job", "watch", "--help"],
      ["job", "result", "--help"],
      ["reducer", "--help"],
      ["reducer", "start", "--help"],
    ];
    // Independent runs, so side by side.
    const [noConfig, noPeer, ...helped] = await Promise.all([
      mosaic(["reducer", "start"], work),
      mosaic(["job", "post", "x.json", "--group", "1", ...chainArgs, "--wallet-key-file", researcherKey], work),
      ...helps.map((argv) => mosaic(argv, work)),
    ]);
    for (const [i, argv] of helps.entries()) {
      const run = helped[i] as Run;
      expect(run.code, argv.join(" ")).to.equal(0);
      expect(run.stdout).to.match(/^mosaic (job|reducer)/);
    }
    failed(noConfig as Run, 2, "UsageError", /--config FILE is required/);
    failed(noPeer as Run, 2, "UsageError", /--peer/);
    const bad = path.join(work, "bad-config.json");
    await writeFile(
      bad,
      JSON.stringify({
        rpcUrl: w.rpc,
        registry: w.contracts.addresses.jobRegistry,
        operatorKeyFile: "k",
        dataDir: "d",
        http: { host: "0.0.0.0" },
      }),
    );
    failed(await mosaic(["reducer", "start", "--config", bad], work), 1, "ReducerConfigError", /http\.host: expected a loopback address/);

    const spec = JSON.parse((await mosaic(["job", "new", "km-per-day"], work)).stdout);
    const cases: Array<[string, unknown, RegExp]> = [
      [
        "epsilon out of range",
        { ...spec, privacy: { mechanism: "discrete-laplace", epsilon: { num: 50, den: 1 } } },
        /privacy\.epsilon: 50\/1 is outside/,
      ],
      [
        "unknown ability",
        { ...spec, reads: [{ ability: "bank-statements", collection: "payments", fields: ["amount"] }] },
        /unknown ability "bank-statements"/,
      ],
      [
        "unbounded output",
        { ...spec, output: { ...spec.output, entries: spec.output.entries.map((e: object) => ({ ...e, max: 1e12 })) } },
        /unbounded/,
      ],
      ["deadline in the past", { ...spec, collectionDeadline: 1_600_000_000 }, /collectionDeadline: .* is in the past/],
      [
        "program and output disagree",
        { ...spec, output: { ...spec.output, entries: spec.output.entries.slice(1) } },
        /produces 6 values but output declares 5/,
      ],
    ];
    const before = await w.contracts.jobRegistry.jobCount();
    // Each case in a file of its own, checked and dry-run posted side by side.
    const files = cases.map((_, i) => path.join(work, `invalid-${i}.json`));
    await Promise.all(cases.map(([, value], i) => writeFile(files[i] as string, JSON.stringify(value))));
    const runs = await Promise.all(
      files.flatMap((file) => [
        mosaic(["job", "check", file], work),
        mosaic(["job", "post", file, "--group", String(w.groupId), "--dry-run", ...chainArgs, "--wallet-key-file", researcherKey], work),
      ]),
    );
    for (const [i, [what, , message]] of cases.entries()) {
      failed(runs[2 * i] as Run, 1, "InvalidJobSpecError", message);
      failed(runs[2 * i + 1] as Run, 1, "InvalidJobSpecError", message);
      expect(await w.contracts.jobRegistry.jobCount(), what).to.equal(before);
    }
  });

  it("serves one job on three reducers; the one killed and restarted proposes the same result", async () => {
    for (const r of reducers) await w.start(r);
    const peers = reducers.flatMap((r) => r.status?.addresses.slice(0, 1) ?? []);
    // Reducer 2 batches slowly, so a kill lands while submissions wait for verification.
    await w.writeConfig(reducers[2] as Reducer, { peers: peers.slice(0, 2), verifier: { threads: 1, batchSize: 64, batchWaitMs: 4000 } });

    const specFile = path.join(work, "km.json");
    expect((await mosaic(["job", "new", "km-per-day", "--deadline-in", "900", "--out", specFile], work)).code).to.equal(0);
    const preview = json<{ dryRun: boolean; gasEstimate: string; costWei: string }>(await w.post(specFile, [], ["--dry-run"]));
    expect(preview.dryRun).to.equal(true);
    expect(Number(preview.gasEstimate)).to.be.above(100_000);
    expect(await w.contracts.jobRegistry.jobCount()).to.equal(0n);
    const posted = json<{ jobId: string; specCid: string; heldBy: string[] }>(await w.post(specFile, reducers));
    expect(posted.jobId).to.equal("1");
    await w.until("every reducer to collect job 1", async () => {
      for (const r of reducers) if ((await w.jobOf(r)).state !== "collecting") return false;
      return true;
    });

    const spec = JSON.parse(await readFile(specFile, "utf8"));
    const submit = (i: number, to: Reducer[]) => w.submit(1n, i, [i % 7, 7 - (i % 7), 0, 0, 0, 0], to);
    for (let i = 0; i < 5; i++) await submit(i, reducers);
    const r2 = reducers[2] as Reducer;
    // All five announced to reducer 2; its slow batch has not been verified yet: kill it now.
    await w.until("reducer 2 to journal five announcements", async () => Number((await w.jobOf(r2)).announced) === 5);
    r2.child?.kill("SIGKILL");
    expect(await r2.exit).to.equal(null);
    await w.start(r2);
    await w.until("reducer 2 to resume and judge the five", async () => Number((await w.jobOf(r2)).accepted) === 5, 90_000);
    for (let i = 5; i < MEMBERS; i++) await submit(i, reducers);
    await w.until("every reducer to accept all submissions", async () => {
      for (const r of reducers) if (Number((await w.jobOf(r)).accepted) !== MEMBERS) return false;
      return true;
    });
    // Hostile input to the status port: named errors, nothing changes.
    expect((await w.get(r2, "/jobs/1", { method: "POST" })).status).to.equal(405);
    expect((await w.get(r2, "/jobs/abc")).status).to.equal(404);
    expect((await w.get(r2, `/jobs/${"9".repeat(400)}`)).status).to.equal(414);
    expect(Number((await w.jobOf(r2)).accepted)).to.equal(MEMBERS);
    const metrics = await (await w.get(reducers[0] as Reducer, "/metrics")).text();
    expect(metrics).to.contain(`mosaic_submissions_accepted_total{job="1"} ${MEMBERS}`);
    expect(((await (await w.get(reducers[0] as Reducer, "/health")).json()) as { status: string }).status).to.equal("ok");

    // Collection closes; reducer 2 is killed again the moment it may be proposing, and restarted.
    await w.timeTo(spec.collectionDeadline + 1);
    await new Promise((res) => setTimeout(res, 150));
    r2.child?.kill("SIGKILL");
    await r2.exit;
    await w.start(r2);
    await w.until("three revealed proposals", async () => (await revealedResults(w.contracts.jobRegistry, 1n)).size === 3, 90_000);
    const proposals = [...(await revealedResults(w.contracts.jobRegistry, 1n)).values()];
    const key = (p: (typeof proposals)[number]) => JSON.stringify([p.aggregate.map(String), p.count.toString(), p.treeRoot, p.bundleCid]);
    expect(new Set(proposals.map(key)).size, proposals.map(key).join("\n")).to.equal(1);
    expect(Number(proposals[0]?.count)).to.equal(MEMBERS);

    const watched = json<{ proposals: number; reducer: { accepted: number } }>(
      await mosaic(["job", "watch", "1", "--reducer", r2.status?.http as string, "--json", ...chainArgs], work),
    );
    expect(watched.proposals).to.equal(3);
    expect(watched.reducer.accepted).to.equal(MEMBERS);
    const listed = json<{ jobs: Array<{ jobId: string; proposals: number; state: string }> }>(
      await mosaic(["job", "list", "--json", ...chainArgs], work),
    );
    expect(listed.jobs).to.deep.include({ ...listed.jobs[0], jobId: "1", proposals: 3, state: "open" });

    // The window closes; a reducer finalises; the researcher reads the result, fetching the spec from a reducer.
    await w.timeTo(spec.collectionDeadline + 2 * spec.challengeWindow + 10);
    await w.until("the job to be finalised", async () => (await w.contracts.jobRegistry.getJob(1n)).state === 2n);
    const png = path.join(work, "result.png");
    const result = json<{
      final: boolean;
      count: number;
      view: { rows: Array<{ label: string; estimate: number; low: number; high: number }> };
    }>(await mosaic(["job", "result", "1", "--peer", peers[0] as string, "--png", png, "--json", ...chainArgs], work));
    expect(result.final).to.equal(true);
    expect(result.count).to.equal(MEMBERS);
    expect(result.view.rows).to.have.length(6);
    for (const row of result.view.rows) expect(row.low).to.be.below(row.high);
    expect([...(await readFile(png)).subarray(0, 8)]).to.deep.equal([137, 80, 78, 71, 13, 10, 26, 10]);
    const table = await mosaic(["job", "result", "1", "--spec", specFile, ...chainArgs], work);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.contain("under 1 km");

    // SIGTERM: each node drains, flushes its journal and exits 0.
    for (const r of reducers) r.child?.kill("SIGTERM");
    for (const r of reducers) expect(await r.exit).to.equal(0);
    for (const r of reducers) expect(r.log).to.contain('"event":"reducer:stopped"');
  });
});
