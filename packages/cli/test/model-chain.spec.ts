// `mosaic model seir` end to end, each command a child process: an exposures-per-day job posted, answered by three
// members with real proofs, proposed and finalised by one `mosaic reducer start` process on a Hardhat JSON-RPC server
// on loopback; the model reads its final result (the spec from the reducer announced on-chain), fits, writes JSON and a
// PNG; a refunded job among the jobs named is refused by name.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { networkFileFor, readReducers, revealedResults, writeNetworkFile } from "@mosaic/protocol";
import { expect } from "chai";
import { createReducerWorld, type Reducer, type ReducerWorld } from "./reducer-world.js";
import { failed, json, mosaic } from "./run.js";

describe("mosaic model seir on a chain: a finalised job's result fitted, a refunded one refused", function () {
  this.timeout(600_000);
  let w: ReducerWorld;
  let reducer: Reducer;
  let networkFile: string;

  before(async () => {
    w = await createReducerWorld(3, 1);
    reducer = w.reducers[0] as Reducer;
    await w.writeConfig(reducer, { directory: w.contracts.addresses.reducerDirectory });
    await w.start(reducer);
    await w.until("the reducer's record in the directory", async () =>
      (await readReducers(w.contracts.reducerDirectory, w.contracts.jobRegistry)).some((r) => r.operator === reducer.status?.operator),
    );
    const deployBlock = (w.contracts as typeof w.contracts & { deployBlock: number }).deployBlock;
    networkFile = path.join(w.work, "networks", "local.json");
    await writeNetworkFile(
      networkFile,
      networkFileFor({ name: "local", chainId: w.chain.chainId, rpc: w.rpc, addresses: w.contracts.addresses, deployBlock }),
    );
  });
  after(async () => w?.close());

  it("fits the final result of job 1 (--json, --png); names job 2, refunded, with ResultNotFinalError", async () => {
    const { work } = w;
    const registry = w.contracts.jobRegistry;
    const specs = [path.join(work, "exposures-2.json"), path.join(work, "exposures-9.json")];
    for (const [file, min] of [
      [specs[0]!, "2"],
      [specs[1]!, "9"],
    ] as const) {
      const made = await mosaic(
        ["job", "new", "exposures-per-day", "--deadline-in", "900", "--challenge-window", "120", "--min-participants", min, "--out", file],
        work,
      );
      expect(made.code, made.stderr).to.equal(0);
      const posted = await w.post(file, [reducer]);
      expect(posted.code, posted.stderr).to.equal(0);
    }
    await w.until("the reducer to collect job 1", async () => (await w.jobOf(reducer, 1n)).state === "collecting");
    // Three people, over the 7 days × (low, high): the days each was warned, at most one level a day.
    const answers = [
      [0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0],
      [0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0],
      [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1],
    ];
    for (const [i, answer] of answers.entries()) await w.submit(1n, i, answer, [reducer]);
    await w.until("the reducer to accept 3 answers", async () => Number((await w.jobOf(reducer, 1n)).accepted) === 3);

    const [job1, job2] = [await registry.getJob(1n), await registry.getJob(2n)];
    await w.timeTo(Math.max(Number(job1.collectionDeadline), Number(job2.collectionDeadline)) + 1);
    await w.until("job 1's revealed proposal", async () => (await revealedResults(registry, 1n)).size === 1, 90_000);
    // Before the challenge window ends the result is provisional: not read.
    failed(
      await mosaic(["model", "seir", "--jobs", "1", "--network", networkFile], work),
      1,
      "ResultNotFinalError",
      /job 1 has no final result \(provisional: /,
    );
    await w.timeTo(Math.max(Number(job1.finalizeAfter), Number(job2.finalizeAfter)) + 5);
    await w
      .until(
        "the reducer to finalise both jobs",
        async () => (await registry.getJob(1n)).state !== 1n && (await registry.getJob(2n)).state !== 1n,
        30_000,
      )
      .catch(async () => {
        for (const id of [1n, 2n]) if ((await registry.getJob(id)).state === 1n) await (await registry.finalizeJob(id)).wait();
      });

    const png = path.join(work, "seir.png");
    const run = await mosaic(
      [
        "model",
        "seir",
        "--jobs",
        "1",
        "--network",
        networkFile,
        "--population",
        "1000",
        "--horizon",
        "14",
        "--bootstrap",
        "10",
        "--json",
        "--png",
        png,
      ],
      work,
    );
    const r = json<{
      jobs: { jobId: string; count: number; day: string }[];
      population: number;
      respondents: number;
      cases: { day: number; value: number; sd: number }[];
      fit: { model: string; r0: number; forecast: unknown[]; params: { reportRate: number } };
      png: string;
    }>(run);
    expect(r.jobs).to.have.length(1);
    expect([r.jobs[0]!.jobId, r.jobs[0]!.count, r.population, r.respondents]).to.deep.equal(["1", 3, 1000, 3]);
    expect(r.cases).to.have.length(7);
    expect(r.cases.every((o) => o.sd > 0)).to.equal(true);
    expect(r.fit.model).to.equal("SEIR");
    expect(r.fit.params.reportRate).to.equal(0.003);
    expect(r.fit.forecast).to.have.length(14);
    expect(Number.isFinite(r.fit.r0)).to.equal(true);
    const bytes = await readFile(png);
    expect(bytes.toString("latin1", 12, 16)).to.equal("IHDR");
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).to.deep.equal([800, 480]);

    const text = await mosaic(["model", "seir", "--jobs", "1", "--network", networkFile, "--bootstrap", "0"], work);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^SEIR fit to job 1: 7 days, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\n/);
    expect(text.stdout).to.contain("note: no --population: the model covers the 3 respondents only");

    failed(
      await mosaic(["model", "seir", "--jobs", "1,2", "--network", networkFile], work),
      1,
      "ResultNotFinalError",
      /job 2 has no final result \(refunded: /,
    );
  });
});
