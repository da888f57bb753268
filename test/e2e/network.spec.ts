// Separate parties on a real network, each its own OS process running the `mosaic` bin as a person types it: a devnet
// (anvil + a bootstrap node), two reducers started from the network file alone, five users each with their own vault
// directory and wallet, and a researcher. One reducer is SIGKILLed while users answer and restarted; it catches up
// from the other, both propose the full set, and every user sees their answer counted, checked against the root
// on-chain. Time on the devnet is anvil's own clock, moved forward only between the protocol's phases.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { type Daemon, freePort, Parties } from "../parties.js";

const GPX = path.resolve(import.meta.dirname, "../../packages/vault/test/fixtures/track.gpx");
const USERS = 5;

describe("separate parties on a devnet, each a `mosaic` process", function () {
  this.timeout(900_000);
  let p: Parties;
  let networkFile: string;
  const reducers: { daemon: Daemon; port: number; dataDir: string }[] = [];
  let jobId = "";
  const ok = (args: string[]) => p.ok(args);
  const run = (args: string[]) => p.run(args);
  const okJson = <T = Record<string, unknown>>(args: string[]) => p.okJson<T>(args);
  const reducerJob = (port: number) => p.status(port, `/jobs/${jobId}`);
  const reducerUp = (port: number) => p.waitFor(`reducer on ${port}`, () => p.status(port, "/health"));

  const user = (i: number) => p.user(i);

  before(async () => {
    p = await Parties.withDevnet(USERS, "mosaic-network-");
    networkFile = p.networkFile;
  });

  after(async () => {
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("operators stake and start two reducers from the network file alone; they announce themselves on-chain", async () => {
    for (const i of [1, 2]) reducers.push(await p.startStakedReducer(i));
    const [one, two] = reducers as [(typeof reducers)[0], (typeof reducers)[0]];
    const first = JSON.parse(await readFile(path.join(one.dataDir, "node.json"), "utf8")) as { peerId: string };
    // Announced on-chain: both appear in the directory the vaults and the researcher read.
    await p.waitFor("both reducers in the directory", async () => {
      const health = (await (await fetch(`http://127.0.0.1:${two.port}/health`)).json()) as { peers?: number };
      return (health.peers ?? 0) >= 1 ? true : undefined;
    });
    expect(first.peerId).to.match(/^12D3Koo/);
  });

  it("users make vaults, import a GPX file and register their avatars, each from their own wallet", async () => {
    // Each user is a separate party with their own directory and wallet: side by side, as people would.
    await Promise.all(Array.from({ length: USERS }, (_, i) => p.makeUser(i + 1, GPX)));
  });

  it("a researcher writes a job, sees what would be posted, and posts it to the reducers found on-chain", async () => {
    await ok([
      "job",
      "new",
      "km-per-day",
      "--deadline-in",
      "900",
      "--challenge-window",
      "60",
      "--min-participants",
      "3",
      "--out",
      "km.json",
    ]);
    const common = ["km.json", "--group", String(p.network.openGroup), "--network", networkFile];
    const key = ["--wallet-key-file", p.key("researcher")];
    const dry = await ok(["job", "post", ...common, ...key, "--dry-run"]);
    expect(dry.stdout).to.match(/Would post/);
    const posted = await okJson<{ jobId: string }>(["job", "post", ...common, ...key]);
    jobId = String(posted.jobId);
    expect(jobId).to.match(/^\d+$/);
    for (const r of reducers)
      await p.waitFor(`reducer ${r.port} collecting job ${jobId}`, async () => ((await reducerJob(r.port)) ? true : undefined));
  });

  it("users list and answer the job; a reducer killed mid-window catches up once restarted", async () => {
    const answer = async (i: number) => {
      const jobs = await okJson<{ jobs: { jobId: string; answered: boolean }[] }>(["vault", "jobs", "--network", networkFile, ...user(i)]);
      expect(jobs.jobs.map((j) => j.jobId)).to.include(jobId);
      await ok(["vault", "answer", jobId, "--yes", "--delay-max", "0", "--network", networkFile, ...user(i)]);
    };
    // Users answer from their own vaults, two at a time, as people would.
    await Promise.all([answer(1), answer(2)]);
    // The middle of the window: reducer-2 dies without a chance to flush anything.
    const second = reducers[1] as (typeof reducers)[0];
    second.daemon.proc.kill("SIGKILL");
    await new Promise((r) => second.daemon.proc.once("exit", r));
    await Promise.all([answer(3), answer(4)]);
    second.daemon = p.startReducer(2, second.port);
    await reducerUp(second.port);
    await answer(5);
    for (const r of reducers) {
      await p.waitFor(
        `reducer ${r.port} holding all ${USERS} answers`,
        async () => {
          const job = await reducerJob(r.port);
          return Number(job?.accepted ?? 0) >= USERS ? true : undefined;
        },
        120_000,
      );
    }
  });

  it("at the deadline both reducers propose the full set; after the windows the job is final", async () => {
    const { standing } = await okJson<{ standing: { stage: string; collectionDeadline: number } }>([
      "job",
      "result",
      jobId,
      "--network",
      networkFile,
    ]);
    expect(standing.stage).to.equal("collecting");
    const deadline = standing.collectionDeadline;
    await p.skipTo(deadline + 1);
    for (const r of reducers) {
      const job = await p.waitFor(`reducer ${r.port} proposing`, async () => {
        const j = (await reducerJob(r.port)) as { proposed?: { count: number } } | undefined;
        return j?.proposed ? j : undefined;
      });
      expect(job.proposed?.count, `reducer ${r.port} proposes every answer, the killed one included`).to.equal(USERS);
    }
    const provisional = await ok(["job", "result", jobId, "--network", networkFile]);
    expect(provisional.stdout).to.match(/provisional|proposed/i);
    // Past the proposal and challenge windows: a reducer finalises.
    await p.skipTo(deadline + 2 * 60 + 5);
    await p.waitFor("the job to be final", async () => {
      const r = await okJson<{ standing: { stage: string } }>(["job", "result", jobId, "--network", networkFile]);
      return r.standing.stage === "final" ? r : undefined;
    });
    const result = await okJson<{ final: boolean; count: number }>(["job", "result", jobId, "--network", networkFile]);
    expect(result.final).to.equal(true);
    expect(result.count).to.equal(USERS);
  });

  it("every user's answer is counted: receipts from the reducers and an inclusion proof checked against the root on-chain", async () => {
    const users = Array.from({ length: USERS }, (_, i) => i + 1);
    // Each from its own vault directory: read side by side.
    const all = await Promise.all(
      users.map((i) =>
        okJson<{ entries: { jobId: string; receipts: { valid: boolean }[]; inclusion?: { status: string } }[] }>([
          "vault",
          "receipts",
          "--job",
          jobId,
          "--network",
          networkFile,
          ...user(i),
        ]),
      ),
    );
    for (const [n, r] of all.entries()) {
      const i = n + 1;
      const a = r.entries.find((x) => String(x.jobId) === jobId);
      expect(a, `user ${i}`).not.to.equal(undefined);
      expect(
        a?.receipts.some((x) => x.valid),
        `user ${i} has a valid receipt`,
      ).to.equal(true);
      expect(a?.inclusion?.status, `user ${i}`).to.equal("counted");
    }
  });

  it("bad input is named and changes nothing: a network file for another chain, an unreachable RPC, a reducer that does not answer", async () => {
    const other = JSON.parse(await readFile(path.join(p.dir, networkFile), "utf8")) as Record<string, unknown>;
    await mkdir(path.join(p.dir, "bad"), { recursive: true });
    await writeFile(path.join(p.dir, "bad", "other-chain.json"), JSON.stringify({ ...other, chainId: 1 }));
    const wrong = await run(["job", "list", "--network", path.join("bad", "other-chain.json")]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/WrongChainError/);
    const down = await run(["job", "list", "--network", networkFile, "--rpc", `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/RpcUnreachableError/);
    const malformed = path.join("bad", "malformed.json");
    await writeFile(path.join(p.dir, malformed), "{ not json");
    const bad = await run(["vault", "jobs", "--network", malformed, ...user(1)]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/NetworkFileError/);
    // A reducer address that does not answer: the post is refused before anything is paid or posted.
    const jobsBefore = await okJson<{ jobs: unknown[] }>(["job", "list", "--network", networkFile]);
    const silent = "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    await ok(["job", "new", "km-per-day", "--deadline-in", "900", "--challenge-window", "60", "--out", "again.json"]);
    const dead = await run([
      "job",
      "post",
      "again.json",
      "--group",
      String(p.network.openGroup),
      "--network",
      networkFile,
      "--wallet-key-file",
      p.key("researcher"),
      "--peer",
      silent,
    ]);
    expect(dead.code, dead.stderr).to.equal(1);
    expect(dead.stderr).to.match(/^mosaic: \w+Error: /m);
    expect(dead.stderr, "no stack trace").not.to.match(/\n\s+at /);
    const jobsAfter = await okJson<{ jobs: unknown[] }>(["job", "list", "--network", networkFile]);
    expect(jobsAfter.jobs.length).to.equal(jobsBefore.jobs.length);
  });
});
