// End to end: the researcher's `mosaic job` commands as child processes. `job new` refuses a schedule it cannot write;
// a malformed spec file is named; and `job result` and `job list` say where two jobs stand at every step, read from a
// Hardhat JSON-RPC server on loopback, one `mosaic reducer start` process and real proofs: collecting, then one job
// provisional and the other awaiting proposals below its minimum, then final and refunded.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { networkFileFor, readReducers, revealedResults, writeNetworkFile } from "@mosaic/protocol";
import { expect } from "chai";
import { createReducerWorld, type Reducer, type ReducerWorld } from "./reducer-world.js";
import { failed, json, mosaic, type Run } from "./run.js";

describe("mosaic job new: the schedule as flags", function () {
  this.timeout(120_000);
  let work: string;
  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-job-new-"));
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it("writes the deadline, challenge window, minimum participants, reward and stake given", async () => {
    const out = path.join(work, "km.json");
    const before = Math.floor(Date.now() / 1000);
    const run = await mosaic(
      [
        "job",
        "new",
        "km-per-day",
        "--deadline-in",
        "900",
        "--challenge-window",
        "120",
        "--min-participants",
        "5",
        "--reward",
        "0.25",
        "--min-stake",
        "0.5",
        "--out",
        out,
      ],
      work,
    );
    expect(run.code, run.stderr).to.equal(0);
    const spec = JSON.parse(await readFile(out, "utf8"));
    expect(spec.collectionDeadline).to.be.within(before + 900, before + 960);
    expect([spec.challengeWindow, spec.minParticipants, spec.reward, spec.minStake]).to.deep.equal([
      120,
      5,
      "250000000000000000",
      "500000000000000000",
    ]);
    const defaults = JSON.parse((await mosaic(["job", "new", "km-per-day"], work)).stdout);
    expect([defaults.challengeWindow, defaults.minParticipants, defaults.reward]).to.deep.equal([3600, 3, "100000000000000000"]);
  });

  it("refuses bad flags with an error naming the flag and the value, and writes nothing", async () => {
    const out = path.join(work, "bad.json");
    const cases: Array<[string[], RegExp]> = [
      [["--deadline-in", "10"], /--deadline-in: expected an integer in 60\.\.31536000, got "10"/],
      [["--challenge-window", "59"], /--challenge-window: expected an integer in 60\.\.31536000, got "59"/],
      [["--challenge-window", "1h"], /--challenge-window: .*got "1h"/],
      [["--min-participants", "0"], /--min-participants: expected an integer in 1\.\.4294967295, got "0"/],
      [["--min-participants", "2.5"], /--min-participants: .*got "2\.5"/],
      [["--min-participants", "4294967296"], /--min-participants: .*got "4294967296"/],
      [["--reward", "0"], /--reward: expected more than 0 .*got "0" ETH/],
      [["--reward=-1"], /--reward: expected an amount of ETH such as 0\.1, got "-1"/],
      [["--reward", "0.0000000000000000001"], /--reward: expected an amount of ETH/],
      [["--reward", "1e3"], /--reward: expected an amount of ETH/],
      [["--reward", "80000000000"], /--reward: .*under 2\^96 wei, got "80000000000" ETH/],
      [["--min-stake", "lots"], /--min-stake: expected an amount of ETH such as 0\.1, got "lots"/],
      [["--days", "0"], /--days: expected an integer in 1\.\.366, got "0"/],
    ];
    // Independent runs, so side by side (each its own --out, so "writes nothing" is checked per case).
    const outOf = (i: number) => out.replace(/\.json$/, `-${i}.json`);
    const [misspelt, ...runs] = await Promise.all([
      mosaic(["job", "new", "km-per-day", "--challenge-windw", "60"], work),
      ...cases.map(([flags], i) => mosaic(["job", "new", "km-per-day", ...flags, "--out", outOf(i)], work)),
    ]);
    for (const [i, [flags, message]] of cases.entries()) {
      failed(runs[i] as Run, 1, "RangeError", message);
      expect(existsSync(outOf(i)), flags.join(" ")).to.equal(false);
    }
    failed(misspelt as Run, 2, "TypeError", /challenge-windw/);
  });

  it("names a malformed or missing spec file and the JSON error, not a TypeError", async () => {
    const bad = path.join(work, "broken.json");
    await writeFile(bad, '{ "version": 1, "title": "unterminated"');
    failed(
      await mosaic(["job", "check", bad], work),
      1,
      "SpecFileError",
      new RegExp(`${bad.replace(/[.]/g, "\\.")}: not valid JSON \\(.+\\)`),
    );
    failed(
      await mosaic(["job", "check", path.join(work, "missing.json")], work),
      1,
      "SpecFileError",
      /missing\.json: cannot read the spec file \(ENOENT\)/,
    );
    const run = await mosaic(["job", "check", bad], work);
    expect(run.stderr).not.to.contain("TypeError");
  });
});

describe("mosaic job result and list: where a job stands, from collecting to final or refunded", function () {
  this.timeout(600_000);
  let w: ReducerWorld;
  let reducer: Reducer;
  let status: string;
  let networkFile: string;

  before(async () => {
    w = await createReducerWorld(4, 1);
    reducer = w.reducers[0] as Reducer;
    // The reducer announces itself in the ReducerDirectory; a network file names the deployment.
    await w.writeConfig(reducer, { directory: w.contracts.addresses.reducerDirectory });
    await w.start(reducer);
    status = reducer.status?.http as string;
    await w.until("the reducer's record in the directory", async () => {
      const found = await readReducers(w.contracts.reducerDirectory, w.contracts.jobRegistry);
      return found.some((r) => r.operator === reducer.status?.operator);
    });
    const { addresses } = w.contracts;
    const deployBlock = (w.contracts as typeof w.contracts & { deployBlock: number }).deployBlock;
    networkFile = path.join(w.work, "networks", "local.json");
    await writeNetworkFile(networkFile, networkFileFor({ name: "local", chainId: w.chain.chainId, rpc: w.rpc, addresses, deployBlock }));
  });
  after(async () => w?.close());

  const result = async <T = Record<string, unknown>>(id: string, extra: string[] = []) =>
    json<T>(await mosaic(["job", "result", id, "--json", ...w.chainArgs, ...extra], w.work));
  type Standing = { stage: string; summary: string; submissions?: number; leading?: number; proposals: unknown[] };

  it("says collecting, provisional, awaiting proposals, final and refunded below the minimum, as the chain has it", async () => {
    const { work, chainArgs, researcherKey } = w;
    const registry = w.contracts.jobRegistry;
    const enough = path.join(work, "enough.json"); // minimum 2, two answer
    const few = path.join(work, "few.json"); // minimum 3, one answers
    for (const [file, min] of [
      [enough, "2"],
      [few, "3"],
    ] as const)
      expect(
        (
          await mosaic(
            ["job", "new", "km-per-day", "--deadline-in", "900", "--challenge-window", "120", "--min-participants", min, "--out", file],
            work,
          )
        ).code,
      ).to.equal(0);

    // A malformed spec: named, and nothing posted.
    const broken = path.join(work, "broken.json");
    await writeFile(broken, "{ not json");
    failed(
      await mosaic(
        ["job", "post", broken, "--group", String(w.groupId), "--dry-run", ...chainArgs, "--wallet-key-file", researcherKey],
        work,
      ),
      1,
      "SpecFileError",
      /broken\.json: not valid JSON/,
    );

    // "Would post" with what it would post; --dry-run stops there.
    const dry = await w.post(enough, [], ["--dry-run"]);
    const preview = json<{ posted: boolean; groupId: string; minParticipants: number; challengeWindow: number }>(dry);
    expect([preview.posted, preview.groupId, preview.minParticipants, preview.challengeWindow]).to.deep.equal([
      false,
      String(w.groupId),
      2,
      120,
    ]);
    const dryText = await mosaic(
      ["job", "post", enough, "--group", String(w.groupId), "--dry-run", ...chainArgs, "--wallet-key-file", researcherKey],
      work,
    );
    expect(dryText.code, dryText.stderr).to.equal(0);
    expect(dryText.stdout).to.match(/^Would post: Kilometres travelled per day/);
    expect(dryText.stdout).to.match(new RegExp(`\\n  group +${w.groupId}\\n`));
    expect(dryText.stdout).to.match(/\n {2}closes +\S+Z \(in \d+m( \d+s)?\)/);
    expect(dryText.stdout).to.contain("2m to propose, then 2m to challenge");
    expect(dryText.stdout).to.contain("minimum   2 participants, or the reward is refunded");
    expect(dryText.stdout).to.match(/reward +0\.1 ETH/);
    expect(dryText.stdout).to.contain("Dry run: nothing was posted.");
    expect(await registry.jobCount()).to.equal(0n);

    // Posting: the preview on stderr first, then the posted job on stdout.
    const posted = await mosaic(
      [
        "job",
        "post",
        enough,
        "--group",
        String(w.groupId),
        ...chainArgs,
        "--wallet-key-file",
        researcherKey,
        "--peer",
        reducer.status?.addresses[0] as string,
      ],
      work,
    );
    expect(posted.code, posted.stderr).to.equal(0);
    expect(posted.stderr).to.match(/Would post: Kilometres travelled per day[\s\S]*Posting…/);
    expect(posted.stdout).to.match(/^Posted: Kilometres travelled per day[\s\S]*\n {2}job +1\n/);
    // Without --peer, from the network file alone: the spec goes to the reducers announced on-chain.
    const fromNetwork = json<{ jobId: string; reducers: string[]; reducersFrom: string; heldBy: string[] }>(
      await mosaic(
        ["job", "post", few, "--group", String(w.groupId), "--json", "--network", networkFile, "--wallet-key-file", researcherKey],
        work,
      ),
    );
    expect([fromNetwork.jobId, fromNetwork.reducersFrom, fromNetwork.reducers.length]).to.deep.equal(["2", "directory", 1]);
    const peerId = String(reducer.status?.addresses[0]).split("/p2p/")[1] as string;
    expect(fromNetwork.reducers[0]).to.match(new RegExp(`/p2p/${peerId}$`));
    expect(fromNetwork.heldBy).to.have.length(1);
    await w.until(
      "the reducer to collect both jobs",
      async () => (await w.jobOf(reducer, 1n)).state === "collecting" && (await w.jobOf(reducer, 2n)).state === "collecting",
    );

    await w.submit(1n, 0, [3, 4, 0, 0, 0, 0], [reducer]);
    await w.submit(1n, 1, [0, 7, 0, 0, 0, 0], [reducer]);
    await w.submit(2n, 2, [7, 0, 0, 0, 0, 0], [reducer]);
    await w.until(
      "the reducer to accept 2 + 1 answers",
      async () => Number((await w.jobOf(reducer, 1n)).accepted) === 2 && Number((await w.jobOf(reducer, 2n)).accepted) === 1,
    );

    // Collecting: time left and answers so far; no spec needed to say so.
    const collecting = await result<{ standing: Standing; view?: unknown }>("1", ["--reducer", status]);
    expect(collecting.standing.stage).to.equal("collecting");
    expect(collecting.standing.submissions).to.equal(2);
    expect(collecting.standing.summary).to.match(
      /^collecting: closes in \d+m( \d+s)? \(\S+Z\); 2 answers accepted so far; a result needs the minimum of 2 participants$/,
    );
    expect(collecting.view).to.equal(undefined);
    const text = await mosaic(["job", "result", "2", "--spec", few, "--reducer", status, ...chainArgs], work);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(
      /^job 2: Kilometres travelled per day.*\ncollecting: closes in .*; 1 answer accepted so far; a result needs the minimum of 3 participants\n$/,
    );

    // The wrong spec, an unknown job, an unreachable RPC: named, and the chain unchanged.
    failed(
      await mosaic(["job", "result", "2", "--spec", enough, ...chainArgs], work),
      1,
      "SpecMismatchError",
      /enough\.json: not this job's spec/,
    );
    failed(
      await mosaic(["job", "result", "9", ...chainArgs], work),
      1,
      "NoSuchJobError",
      /no job 9 on the registry at 0x[0-9a-fA-F]{40} \(it has jobs 1 to 2\)/,
    );
    const down = await mosaic(["job", "list", "--rpc", "http://127.0.0.1:9", "--registry", w.contracts.addresses.jobRegistry], work);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^mosaic: RpcUnreachableError: .*127\.0\.0\.1:9/m);
    const otherChain = path.join(work, "other-chain.json");
    await writeFile(otherChain, JSON.stringify({ ...JSON.parse(await readFile(networkFile, "utf8")), chainId: 999 }));
    failed(await mosaic(["job", "list", "--network", otherChain], work), 1, "WrongChainError", /other-chain\.json is for chain 999/);
    expect(await registry.jobCount()).to.equal(2n);

    // Collection closes: the reducer proposes job 1 (two answers, minimum two) and not job 2 (one answer, minimum three).
    const [job1, job2] = [await registry.getJob(1n), await registry.getJob(2n)];
    const latest = (key: "collectionDeadline" | "finalizeAfter") => Math.max(Number(job1[key]), Number(job2[key]));
    await w.timeTo(latest("collectionDeadline") + 1);
    await w.until("job 1's revealed proposal", async () => (await revealedResults(registry, 1n)).size === 1, 90_000);
    const provisional = await result<{ standing: Standing; final: boolean; count: number; view: { rows: unknown[]; note: string } }>("1", [
      "--spec",
      enough,
    ]);
    expect(provisional.standing.stage).to.equal("provisional");
    expect(provisional.final).to.equal(false);
    expect([provisional.standing.leading, provisional.count]).to.deep.equal([0, 2]);
    expect(provisional.standing.summary).to.match(
      new RegExp(
        `^provisional: proposal #0 by ${reducer.status?.operator} leads with 2 submissions; the challenge window ends \\S+Z \\(in [\\dms ]+\\)$`,
      ),
    );
    expect(provisional.view.rows).to.have.length(6);
    expect(provisional.view.note).to.match(/^provisional \(challenge window ends \S+Z\)/);
    failed(
      await mosaic(["job", "result", "1", ...chainArgs], work),
      2,
      "UsageError",
      /job 1 has a provisional result; give --spec FILE or --peer/,
    );

    const waiting = await result<{ standing: Standing }>("2", ["--reducer", status]);
    expect(waiting.standing.stage).to.equal("awaiting-proposals");
    expect(waiting.standing.summary).to.match(
      /^collection closed: no result proposed yet; reducers may propose until \S+Z \(in .+\); only 1 answer, fewer than the minimum of 3 participants, so no result can be proposed$/,
    );
    const listed = json<{ jobs: Array<{ jobId: string; stage: string; state: string; proposals: number; groupId: string }> }>(
      await mosaic(["job", "list", "--json", "--network", networkFile], work),
    );
    expect(listed.jobs.map((j) => [j.jobId, j.stage, j.state, j.proposals, j.groupId])).to.deep.equal([
      ["1", "provisional", "open", 1, String(w.groupId)],
      ["2", "awaiting-proposals", "open", 0, String(w.groupId)],
    ]);

    // Both windows close: job 1 is final, job 2 refunded (by the reducer, or by anyone if it has not got there).
    await w.timeTo(latest("finalizeAfter") + 5);
    await w
      .until(
        "the reducer to finalise both jobs",
        async () => {
          for (const id of [1n, 2n]) if ((await registry.getJob(id)).state === 1n) return false;
          return true;
        },
        30_000,
      )
      .catch(async () => {
        for (const id of [1n, 2n]) if ((await registry.getJob(id)).state === 1n) await (await registry.finalizeJob(id)).wait();
      });
    expect((await registry.getJob(1n)).state).to.equal(2n);
    expect((await registry.getJob(2n)).state).to.equal(3n);

    const png = path.join(work, "final.png");
    const final = await result<{ standing: Standing; final: boolean; count: number; png: string }>("1", ["--spec", enough, "--png", png]);
    expect([final.standing.stage, final.final, final.count, final.png]).to.deep.equal(["final", true, 2, png]);
    expect(final.standing.summary).to.equal(`final: proposal #0 by ${reducer.status?.operator} won with 2 submissions`);
    expect([...(await readFile(png)).subarray(0, 4)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47]);

    const refunded = await result<{ standing: Standing; view?: unknown }>("2", ["--reducer", status]);
    expect(refunded.standing.stage).to.equal("refunded");
    expect(refunded.standing.summary).to.equal(
      "refunded: fewer than the minimum of 3 participants answered (the reducer counted 1 answer); the 0.1 ETH reward went back to the researcher",
    );
    expect(refunded.view).to.equal(undefined);
    const withoutCount = json<{ standing: Standing }>(await mosaic(["job", "result", "2", "--json", "--network", networkFile], work));
    expect(withoutCount.standing.summary).to.match(
      /^refunded: no result reached the minimum of 3 participants \(no reducer proposed one; give --reducer URL/,
    );

    const table = await mosaic(["job", "list", ...chainArgs], work);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.contain(`\n     final: proposal #0 by ${reducer.status?.operator} won with 2 submissions\n`);
    expect(table.stdout).to.match(/\n {5}refunded: no result reached the minimum of 3 participants/);
  });
});
