// End to end, the user's side of a job: a vault (its own CLI processes) follows the registry, lists and reviews jobs,
// answers one through a `mosaic reducer start` process and gets its signed receipt, refuses forged and copied receipts
// from impostor peers, and after finalisation shows its leaf counted with a Merkle proof checked against the root
// on-chain. Hardhat JSON-RPC on loopback, real Helia nodes, real Semaphore proofs.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  createAvatarGroup,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  proveSubmission,
  publishSubmission,
  registerAvatar,
} from "@mosaic/avatar";
import {
  createIpfsNode,
  encodeSubmitReply,
  fundedWallet,
  handle,
  type IpfsNode,
  jobTopic,
  nodeAddresses,
  parseCid,
  findEvent,
  jobLabel,
  type JobSpec,
  putBlock,
  readReducers,
  revealedResults,
  SUBMIT_PROTOCOL,
  type SharedJobs,
  SharedJobs__factory,
  signReceipt,
  networkFileFor,
  writeNetworkFile,
} from "@mosaic/protocol";
import { encodeSpec, kmPerDayJob, postSharedJobArgs, withMode } from "@mosaic/mapreduce";
import { checkInclusion, nodeJobBoard } from "@mosaic/vault";
import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import { formatReceipts } from "../src/vault-jobs.js";
import { createReducerWorld, keyOf, type Reducer, type ReducerWorld } from "./reducer-world.js";
import { failed, json, mosaic, mosaicCommand, PASSPHRASE, type Run, start } from "./run.js";

const GPX = path.resolve(import.meta.dirname, "../../vault/test/fixtures/track.gpx");

interface Listing {
  jobId: string;
  member: boolean;
  answered: boolean;
  collecting: boolean;
  title?: string;
  epsilon?: string;
  secondsLeft: number;
  collectionDeadline: number;
}
interface Answered {
  jobId: string;
  cid: string;
  complete: boolean;
  receipts: { operator: string }[];
  refused: { peer: string; error: string; operator?: string }[];
}
interface ReceiptsOut {
  entries: Array<{
    jobId: string;
    cid: string;
    receipts: { operator: string; receivedAt: number; valid: boolean }[];
    inclusion: { status: string; index?: number; count?: number; treeRoot?: string };
  }>;
}

describe("mosaic vault jobs, review, answer, receipts and serve --follow against a reducer process", function () {
  this.timeout(900_000);
  let w: ReducerWorld;
  let work: string;
  let reducer: Reducer;
  let net: string[];
  let peer: string;
  const fakes: IpfsNode[] = [];
  let serve: ChildProcessWithoutNullStreams | undefined;
  const dirA = "vault-a";
  const dirB = "vault-b";
  let otherGroup: bigint;
  let commitmentA: bigint;
  const deadlines: Record<string, number> = {};

  const v = (args: string[]): Promise<Run> => mosaic(["vault", ...args], work);
  const jobArgs = (dir: string): string[] => ["--dir", dir, ...net];
  /** The same without a network file: the three flags, and the reducer by --peer. */
  const flagArgs = (dir: string): string[] => [
    "--dir",
    dir,
    "--rpc",
    w.rpc,
    "--registry",
    w.contracts.addresses.jobRegistry,
    "--groups",
    w.contracts.addresses.avatarGroups,
    "--peer",
    peer,
  ];

  before(async () => {
    w = await createReducerWorld(3, 1);
    work = w.work;
    reducer = w.reducers[0] as Reducer;
    // The reducer announces itself in the ReducerDirectory: the vault commands find it there, with no --peer.
    await w.writeConfig(reducer, { directory: w.contracts.addresses.reducerDirectory });
    await w.start(reducer);
    peer = reducer.status?.addresses[0] as string;
    await w.until("the reducer's record in the directory", async () => {
      const found = await readReducers(w.contracts.reducerDirectory, w.contracts.jobRegistry);
      return found.some((r) => r.operator === reducer.status?.operator);
    });
    const { addresses } = w.contracts;
    const deployBlock = (w.contracts as typeof w.contracts & { deployBlock: number }).deployBlock;
    const networkFile = path.join(work, "networks", "local.json");
    await writeNetworkFile(networkFile, networkFileFor({ name: "local", chainId: w.chain.chainId, rpc: w.rpc, addresses, deployBlock }));
    net = ["--network", networkFile];
    for (const dir of [dirA, dirB]) expect((await v(["init", "--dir", dir, "--scrypt-n", "1024"])).code).to.equal(0);
    expect((await v(["import", GPX, "--dir", dirA])).code).to.equal(0);
    // Vault A joins the reducer world's group from its own wallet; vault B joins nothing.
    const key = path.join(work, "user-a.key");
    await writeFile(key, `${keyOf(9).privateKey}\n`, { mode: 0o600 });
    const reg = await mosaic(
      [
        "avatar",
        "register",
        "--dir",
        dirA,
        "--group",
        String(w.groupId),
        "--rpc",
        w.rpc,
        "--groups",
        w.contracts.addresses.avatarGroups,
        "--wallet-key-file",
        key,
      ],
      work,
    );
    expect(reg.code, reg.stderr).to.equal(0);
    commitmentA = BigInt(json<{ commitment: string }>(await mosaic(["avatar", "status", "--dir", dirA, "--json"], work)).commitment);
    // Another group, which vault A is not in.
    otherGroup = await createAvatarGroup(w.contracts, { name: "others", policy: "open" });
    const wallet = await fundedWallet(w.chain, w.chain.accounts[0] as Parameters<typeof fundedWallet>[1], parseEther("0.01"));
    await registerAvatar(w.contracts.avatarGroups.connect(wallet), otherGroup, deriveAvatarIdentity(new Uint8Array(32).fill(7)).commitment);
  });

  after(async () => {
    serve?.kill("SIGKILL");
    for (const f of fakes) await f.stop();
    await w?.close();
  });

  async function postJob(name: string, group: bigint, extra: string[]): Promise<string> {
    const file = path.join(work, `${name}.json`);
    const made = await mosaic(
      ["job", "new", "km-per-day", "--deadline-in", "900", "--challenge-window", "300", "--out", file, ...extra],
      work,
    );
    expect(made.code, made.stderr).to.equal(0);
    const posted = json<{ jobId: string }>(
      await mosaic(
        ["job", "post", file, "--group", String(group), "--json", ...w.chainArgs, "--wallet-key-file", w.researcherKey, "--peer", peer],
        work,
      ),
    );
    deadlines[posted.jobId] = JSON.parse(await readFile(file, "utf8")).collectionDeadline;
    return posted.jobId;
  }

  /** Runs `mosaic ...argv` on a pseudo-terminal (util-linux `script`), typing `answer` at the consent question. */
  function onTerminal(argv: string[], answer: string): Promise<{ code: number | null; output: string }> {
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const command = mosaicCommand(argv).map(quote).join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: work,
      env: { ...process.env, MOSAIC_PASSPHRASE: PASSPHRASE, MOSAIC_LOG: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let typed = false;
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
      if (!typed && output.includes("[y/N]")) {
        typed = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    return new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
  }

  /** A libp2p node on loopback that answers SUBMIT_PROTOCOL with whatever receipt `make` signs. */
  async function impostor(
    make: (request: { job: string; cid: string }) => Promise<Parameters<typeof encodeSubmitReply>[0]>,
  ): Promise<string> {
    const node = await createIpfsNode();
    fakes.push(node);
    await handle(node, SUBMIT_PROTOCOL, async (bytes) => encodeSubmitReply(await make(JSON.parse(new TextDecoder().decode(bytes)))), {
      maxBytes: 1024,
    });
    return nodeAddresses(node)[0] as string;
  }

  it("has --help for each command; refuses bad arguments with usage errors", async () => {
    for (const c of ["jobs", "review", "answer", "receipts", "serve"]) {
      const run = await v([c, "--help"]);
      expect(run.code, c).to.equal(0);
      expect(run.stdout).to.match(new RegExp(`^mosaic vault ${c} — `));
    }
    failed(await v(["answer", "--dir", dirA]), 2, "UsageError", /missing <job>/);
    failed(await v(["answer", "abc", ...jobArgs(dirA), "--yes"]), 1, "RangeError", /<job>: expected a job id/);
    failed(await v(["jobs", "--dir", dirA]), 2, "UsageError", /--rpc URL and --registry ADDRESS and --groups ADDRESS are required/);
    failed(await v(["serve", "--dir", dirA, "--peer", peer]), 2, "UsageError", /go with --follow/);
    failed(await v(["receipts", "--dir", dirA, "--min-receipts", "2"]), 2, "UsageError", /goes with --resend/);
  });

  it("serve --follow prints a new job for the avatar's group as it is posted, from a peer id that survives restarts", async () => {
    const started = (): Promise<{ child: ChildProcessWithoutNullStreams; info: { peerId: string }; lines: () => string[] }> => {
      const child = start(["serve", "--json", "--follow", "--poll-ms", "200", ...flagArgs(dirA)], { cwd: work });
      serve = child;
      let out = "";
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const lines = () => out.split("\n").filter((l) => l !== "");
      return new Promise((resolve, reject) => {
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          if (lines().length > 0) resolve({ child, info: JSON.parse(lines()[0] as string), lines });
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}:\n${err}`)));
      });
    };
    const first = await started();
    const jobId = await postJob("job1", w.groupId, ["--min-participants", "2"]);
    expect(jobId).to.equal("1");
    await w.until("serve to announce job 1", async () => first.lines().some((l) => l.includes('"newJob"')));
    const announced = first
      .lines()
      .map((l) => JSON.parse(l))
      .find((l) => l.newJob !== undefined);
    expect(announced.newJob).to.include({ jobId: "1", member: true, answered: false, collecting: true });
    expect(announced.newJob.title).to.be.a("string");
    first.child.kill("SIGTERM");
    await new Promise((r) => first.child.on("exit", r));
    const keyFile = path.join(work, dirA, "peer.key");
    expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
    // Restarted: the same peer id; job 1 was reported already (the vault remembers where it stopped).
    const second = await started();
    expect(second.info.peerId).to.equal(first.info.peerId);
    await new Promise((r) => setTimeout(r, 1500));
    expect(second.lines().filter((l) => l.includes('"newJob"'))).to.deep.equal([]);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.on("exit", r));
    serve = undefined;
    // A damaged key file is named and left as it is.
    writeFileSync(path.join(work, dirB, "peer.key"), "not a key");
    failed(await v(["serve", "--dir", dirB]), 1, "PeerKeyCorruptError", /peer\.key/);
    expect(await readFile(path.join(work, dirB, "peer.key"), "utf8")).to.equal("not a key");
  });

  it("lists the open jobs of the avatar's groups and reviews one without recording anything", async () => {
    expect(await postJob("job2", otherGroup, ["--min-participants", "1"])).to.equal("2");
    expect(await postJob("job3", w.groupId, ["--min-participants", "1"])).to.equal("3");
    const listed = json<{ now: number; jobs: Listing[] }>(await v(["jobs", "--json", ...jobArgs(dirA)]));
    expect(listed.jobs.map((j) => j.jobId)).to.deep.equal(["1", "3"]);
    expect(listed.jobs[0]).to.include({ member: true, answered: false, collecting: true, epsilon: "2" });
    // On the chain's clock, which need not follow this machine's: what is left until the deadline, as of the read.
    expect(listed.jobs[0]?.secondsLeft)
      .to.equal((listed.jobs[0]?.collectionDeadline ?? 0) - listed.now)
      .and.to.be.greaterThan(0);
    const all = json<{ jobs: Listing[] }>(await v(["jobs", "--all", "--json", ...jobArgs(dirA)]));
    expect(all.jobs.find((j) => j.jobId === "2")).to.include({ member: false });
    const text = await v(["jobs", ...jobArgs(dirA)]);
    expect(text.stdout).to.match(/job 1 {2}"Kilometres[^\n]*\[not answered\]/i);
    expect(text.stdout).to.match(/deadline {3}\S+Z \(in \d+ min\)/);
    expect(json<{ jobs: Listing[] }>(await v(["jobs", "--json", ...flagArgs(dirB)])).jobs).to.deep.equal([]);

    const review = await v(["review", "1", ...jobArgs(dirA)]);
    expect(review.code, review.stderr).to.equal(0);
    expect(review.stdout).to.match(/^Job 1: "/);
    expect(review.stdout).to.contain("would send (noised with discrete-laplace");
    expect(review.stdout).to.contain("location-history/points: t, lat, lon");
    expect(json<{ consents: unknown[] }>(await v(["consents", "--json", "--dir", dirA])).consents).to.deep.equal([]);
  });

  it("refuses an unknown job, another group's job and a missing consent: named errors, nothing stored, budget unchanged", async () => {
    const budget = (await v(["budget", "--json", "--dir", dirA])).stdout;
    failed(await v(["answer", "99", "--yes", ...jobArgs(dirA)]), 1, "UnknownJobError", /no job 99/);
    failed(await v(["answer", "2", "--yes", ...jobArgs(dirA)]), 1, "NotInJobGroupError", new RegExp(`for group ${otherGroup}`));
    failed(await v(["answer", "1", ...jobArgs(dirA)]), 1, "ConsentRequiredError", /--yes/);
    // On a terminal it asks; "n" declines, and nothing is recorded.
    const declined = await onTerminal(["vault", "answer", "1", ...jobArgs(dirA)], "n");
    expect(declined.output).to.contain("would send (noised with discrete-laplace");
    expect(declined.output).to.contain("Send this answer? [y/N]");
    expect(declined.output).to.match(/mosaic: ConsentDeclinedError: you declined; nothing was recorded or sent/);
    expect(declined.code).to.equal(1);
    failed(await v(["answer", "1", "--yes", "--min-receipts", "2", ...jobArgs(dirA)]), 1, "RangeError", /--min-receipts/);
    expect((await v(["budget", "--json", "--dir", dirA])).stdout).to.equal(budget);
    expect(json<{ consents: unknown[] }>(await v(["consents", "--json", "--dir", dirA])).consents).to.deep.equal([]);
    expect(json<{ entries: unknown[] }>(await v(["audit", "--json", "--dir", dirA])).entries).to.deep.equal([]);
  });

  let cid1 = "";
  it("answers a job through the reducer and keeps its signed receipt; a second answer is refused", async () => {
    const run = await v(["answer", "1", "--yes", "--delay-max", "0", "--json", ...jobArgs(dirA)]);
    const answered = json<Answered>(run);
    expect(answered).to.include({ jobId: "1", complete: true });
    expect(answered.receipts.map((r) => r.operator)).to.deep.equal([keyOf(1).address]);
    for (const step of [
      "syncing the job's group",
      "running the job's program",
      "proving group membership",
      "sending the answer",
      "signed receipts",
    ])
      expect(run.stderr).to.contain(step);
    cid1 = answered.cid;
    await w.until("the reducer to accept the answer", async () => Number((await w.jobOf(reducer, 1n)).accepted) === 1);
    const budget = (await v(["budget", "--json", "--dir", dirA])).stdout;
    failed(await v(["answer", "1", "--yes", ...jobArgs(dirA)]), 1, "AlreadySubmittedError", /sent its answer/);
    expect((await v(["budget", "--json", "--dir", dirA])).stdout).to.equal(budget);
    const listed = json<{ jobs: Listing[] }>(await v(["jobs", "--json", ...jobArgs(dirA)]));
    expect(listed.jobs.find((j) => j.jobId === "1")).to.include({ answered: true });
    // A second member answers job 1 directly, so it reaches its minimum of 2 (the group now has vault A as well).
    const job = { chainId: w.chain.chainId, registry: w.contracts.addresses.jobRegistry, jobId: 1n };
    const group = new Group([...w.identities.map((i) => i.commitment), commitmentA]);
    const sub = await proveSubmission(w.identities[0] as (typeof w.identities)[number], group, job, [1, 0, 0, 0, 0, 0]);
    await publishSubmission(await encodeSubmission(sub), { peers: [peer], topic: jobTopic(job), minRecipients: 1, lingerMs: 10_000 });
    await w.until("the reducer to accept both answers", async () => Number((await w.jobOf(reducer, 1n)).accepted) === 2);
  });

  it("refuses a forged receipt and one copied from another job: reported, not stored", async () => {
    const outsider = Wallet.createRandom();
    const forger = await impostor(async (req) => ({
      receipt: await signReceipt(outsider, {
        chainId: "31337",
        registry: w.contracts.addresses.jobRegistry,
        jobId: req.job,
        cid: req.cid,
        receivedAt: Date.now(),
      }),
    }));
    // A genuine receipt from the staked operator, but for job 1's answer.
    const copier = await impostor(async () => ({
      receipt: await signReceipt(keyOf(1), {
        chainId: "31337",
        registry: w.contracts.addresses.jobRegistry,
        jobId: "1",
        cid: cid1,
        receivedAt: Date.now(),
      }),
    }));
    const answered = json<Answered>(
      await v(["answer", "3", "--yes", "--delay-max", "0", "--json", "--peer", forger, "--peer", copier, ...jobArgs(dirA)]),
    );
    expect(answered.complete).to.equal(true);
    expect(answered.receipts.map((r) => r.operator)).to.deep.equal([keyOf(1).address]);
    const refused = Object.fromEntries(answered.refused.map((r) => [r.peer, r.error]));
    expect(refused).to.deep.equal({ [forger]: "ForgedReceiptError", [copier]: "WrongReceiptError" });
    const stored = json<ReceiptsOut>(await v(["receipts", "--job", "3", "--json", ...jobArgs(dirA)]));
    expect(stored.entries[0]?.receipts).to.deep.equal([
      { operator: keyOf(1).address, receivedAt: stored.entries[0]?.receipts[0]?.receivedAt, valid: true },
    ]);
    expect(stored.entries[0]?.inclusion.status).to.equal("pending");
  });

  it("refuses a closed window; after finalisation shows each answer counted, with a proof checked against the root on-chain", async () => {
    const last = Math.max(...Object.values(deadlines));
    await w.timeTo(last + 1);
    failed(await v(["answer", "2", "--yes", ...jobArgs(dirA)]), 1, "JobClosedError", /closed/);
    await w.until("the reducer to propose jobs 1 and 3", async () => {
      for (const id of [1n, 3n]) if ((await w.contracts.jobRegistry.proposalCount(id)) === 0n) return false;
      return (await revealedResults(w.contracts.jobRegistry, 1n)).size > 0 && (await revealedResults(w.contracts.jobRegistry, 3n)).size > 0;
    });
    await w.timeTo(last + 2 * 300 + 10);
    await w.until(
      "jobs 1 and 3 to be finalised",
      async () => {
        for (const id of [1n, 3n]) if ((await w.contracts.jobRegistry.getJob(id)).state !== 2n) return false;
        return true;
      },
      120_000,
    );
    const out = json<ReceiptsOut>(await v(["receipts", "--json", ...jobArgs(dirA)]));
    expect(out.entries.map((e) => [e.jobId, e.inclusion.status, e.inclusion.count])).to.deep.equal([
      ["1", "counted", 2],
      ["3", "counted", 1],
    ]);
    const p1 = await w.contracts.jobRegistry.getProposal(1n, await w.contracts.jobRegistry.winningProposal(1n));
    expect(out.entries[0]?.inclusion.treeRoot).to.equal(p1.treeRoot.toLowerCase());
    const text = await v(["receipts", "--job", "1", ...jobArgs(dirA)]);
    expect(text.stdout).to.match(/counted {2}\(leaf [01] of 2, proof checked against root 0x[0-9a-f]{64}\)/);
    expect(text.stdout).to.contain(`submission ${cid1}`);
    failed(await v(["receipts", "--job", "2", ...jobArgs(dirA)]), 1, "NoSubmissionError", /no answer to job 2/);

    // What a leaf left out of the winning bundle looks like: the same check, on records the bundle does not hold.
    const entry = out.entries[0] as ReceiptsOut["entries"][number] & { nullifier: string; jobKey: string; submittedAt: number };
    const board = nodeJobBoard({
      provider: w.chain.provider,
      chainId: w.chain.chainId,
      registry: w.contracts.addresses.jobRegistry,
      groups: w.contracts.addresses.avatarGroups,
      peers: [peer],
    });
    try {
      const record = {
        _id: entry.jobKey,
        jobKey: entry.jobKey,
        chainId: String(w.chain.chainId),
        registry: w.contracts.addresses.jobRegistry.toLowerCase(),
        jobId: "1",
        cid: entry.cid,
        nullifier: entry.nullifier,
        submittedAt: entry.submittedAt,
        receipts: [],
      };
      // The bytes the vault sent, as the reducer holds them.
      const sent = await board.getBlock(parseCid(entry.cid), { maxBytes: 64 * 1024 });
      const check = (r: typeof record) => checkInclusion({ registry: board.registry, getBlock: board.getBlock }, r, { sent });
      expect((await check(record)).status).to.equal("counted");
      const absent = await check({ ...record, nullifier: "12345" });
      expect(absent).to.deep.include({ status: "missing", count: 2 });
      expect((absent as { reason: string }).reason).to.match(/no leaf with this submission's nullifier 12345/);
      const other = await check({ ...record, cid: out.entries[1]?.cid as string });
      expect((other as { reason: string }).reason).to.match(/commits to submission .*, not this vault's/);
      const text = formatReceipts({ entries: [{ ...entry, receipts: [], inclusion: absent }] as never });
      expect(text).to.contain("MISSING — your submission is not in the winning result; keep this as evidence:");
      expect(text).to.contain(`submission ${entry.cid}, nullifier 12345`.replace("12345", entry.nullifier));
    } finally {
      await board.close();
    }
  });
});

describe("mosaic vault jobs, review, answer and receipts for a shared-mode job (s1) against two aggregator processes", function () {
  this.timeout(900_000);
  let w: ReducerWorld;
  let work: string;
  let net: string[];
  let specNode: IpfsNode;
  let shared: SharedJobs;
  let aggregators: [string, string];
  const dir = "vault-shared";
  const v = (args: string[]): Promise<Run> => mosaic(["vault", ...args], work);
  const args = (): string[] => ["--dir", dir, ...net, "--peer", nodeAddresses(specNode)[0] as string];
  /** What a refused command must leave as it was. */
  const recorded = async (): Promise<string> => {
    // One at a time: the vault takes one process at a time.
    const out: string[] = [];
    for (const c of ["consents", "audit", "budget", "receipts"]) {
      const run = await v([c, "--json", ...(c === "receipts" ? args() : ["--dir", dir])]);
      expect(run.code, run.stderr).to.equal(0);
      out.push(run.stdout);
    }
    return out.join("\n");
  };
  const terms = (now: number, minParticipants: number) => ({
    collectionDeadline: now + 900,
    challengeWindow: 300,
    minParticipants,
    epsilon: { num: 1, den: 1 },
    reward: parseEther("0.1").toString(),
    minStake: parseEther("0.5").toString(),
  });

  before(async () => {
    w = await createReducerWorld(1, 2);
    work = w.work;
    specNode = await createIpfsNode();
    shared = SharedJobs__factory.connect(w.contracts.addresses.sharedJobs as string, new Wallet(keyOf(5).privateKey, w.chain.provider));
    // Both operators run a reducer that takes shared jobs (registering its X25519 key) and announces itself in the
    // directory, where the vault finds them by their operators' addresses.
    for (const r of w.reducers) {
      await w.writeConfig(r, {
        directory: w.contracts.addresses.reducerDirectory,
        sharedJobs: w.contracts.addresses.sharedJobs,
        peers: nodeAddresses(specNode).slice(0, 1),
      });
      await w.start(r);
    }
    aggregators = [keyOf(1).address, keyOf(2).address];
    await w.until("both aggregators' keys and directory records", async () => {
      const keys = await Promise.all(aggregators.map((a) => shared.aggregatorKeyOf(a)));
      const found = await readReducers(w.contracts.reducerDirectory, w.contracts.jobRegistry);
      return keys.every((k) => BigInt(k) !== 0n) && aggregators.every((a) => found.some((r) => r.operator === a));
    });
    const deployBlock = (w.contracts as typeof w.contracts & { deployBlock: number }).deployBlock;
    const networkFile = path.join(work, "networks", "local.json");
    await writeNetworkFile(
      networkFile,
      networkFileFor({ name: "local", chainId: w.chain.chainId, rpc: w.rpc, addresses: w.contracts.addresses, deployBlock }),
    );
    net = ["--network", networkFile];
    expect((await v(["init", "--dir", dir, "--scrypt-n", "1024"])).code).to.equal(0);
    expect((await v(["import", GPX, "--dir", dir])).code).to.equal(0);
    const key = path.join(work, "user.key");
    await writeFile(key, `${keyOf(9).privateKey}\n`, { mode: 0o600 });
    const reg = await mosaic(
      [
        "avatar",
        "register",
        "--dir",
        dir,
        "--group",
        String(w.groupId),
        "--rpc",
        w.rpc,
        "--groups",
        w.contracts.addresses.avatarGroups,
        "--wallet-key-file",
        key,
      ],
      work,
    );
    expect(reg.code, reg.stderr).to.equal(0);
  });

  after(async () => {
    await specNode?.stop();
    await w?.close();
  });

  /** Posts `onChain`'s figures on SharedJobs with the two operators as aggregators, naming `published`'s spec block. */
  async function post(onChain: JobSpec, published: JobSpec = onChain): Promise<string> {
    const block = await encodeSpec(published);
    await putBlock(specNode.blockstore, block);
    const { args: postArgs, value } = postSharedJobArgs(onChain, block.cid, w.groupId, aggregators);
    const receipt = await (await shared.postSharedJob(...postArgs, { value })).wait();
    return jobLabel(findEvent(receipt, shared.interface, "SharedJobPosted").args.jobId as bigint);
  }

  let s1 = "";
  let deadline = 0;
  let answeredId = "";
  it("lists s1 with its mode and aggregators; review shows the mode, what it means and the ledger charge; answer refuses hostile specs and unknown ids with nothing recorded", async () => {
    const now = Number((await w.chain.provider.getBlock("latest"))?.timestamp);
    const spec = withMode(kmPerDayJob(terms(now, 1)), "shared");
    deadline = spec.collectionDeadline;
    s1 = await post(spec);
    expect(s1).to.equal("s1");
    // s2: the chain says 1 answer at least, the spec under its digest says 3; s3: the spec is the same job in local mode.
    expect(await post(spec, { ...spec, minParticipants: 3 })).to.equal("s2");
    expect(await post(spec, kmPerDayJob(terms(now, 1)))).to.equal("s3");
    const listed = json<{ jobs: Array<Record<string, unknown>> }>(await v(["jobs", "--json", ...args()]));
    const byLabel = Object.fromEntries(listed.jobs.map((j) => [j.label, j]));
    expect(byLabel.s1).to.deep.include({ mode: "shared", member: true, answered: false, mechanism: "discrete-gaussian", aggregators });
    expect(byLabel.s1?.specError).to.equal(undefined);
    expect(byLabel.s2?.specError).to.include({ name: "JobSpecMismatchError" });
    expect(byLabel.s3?.specError).to.include({ name: "JobSpecMismatchError" });
    const text = await v(["jobs", ...args()]);
    expect(text.stdout).to.match(/^job s1 {2}"[^\n]*\[not answered\]$/m);
    expect(text.stdout).to.contain(
      `  mode       shared: your exact answer split in two encrypted shares, for aggregators ${aggregators.join(" and ")}`,
    );

    const before = await recorded();
    const review = await v(["review", "s1", ...args()]);
    expect(review.code, review.stderr).to.equal(0);
    expect(review.stdout).to.match(/^Job s1: "/);
    expect(review.stdout).to.contain("would send (exact, split in two encrypted shares; the aggregators add discrete-gaussian noise");
    expect(review.stdout).to.contain(`  mode         shared (secret-shared between aggregators ${aggregators.join(" and ")})`);
    expect(review.stdout).to.contain("if the two collude they learn your exact answer");
    // The disclosure names both aggregators with their keys' fingerprints, as the consent will bind them.
    for (const a of aggregators) expect(review.stdout).to.match(new RegExp(`${a} \\(key [0-9a-f]{32}\\)`));
    expect(review.stdout).to.match(/ {2}ledger {7}this job charges epsilon \d+\/\d+ to your privacy budget/);

    failed(
      await v(["answer", "s2", "--yes", ...args()]),
      1,
      "JobSpecMismatchError",
      /s2: spec says minParticipants 3 but SharedJobs recorded 1/,
    );
    failed(
      await v(["answer", "s3", "--yes", ...args()]),
      1,
      "JobSpecMismatchError",
      /s3: spec says mode local but SharedJobs recorded shared/,
    );
    failed(await v(["answer", "s99", "--yes", ...args()]), 1, "UnknownJobError", /no shared job s99 on SharedJobs .* \(it has 3/);
    // Without a SharedJobs address, a shared id is named for what is missing.
    const flags = [
      "--dir",
      dir,
      "--rpc",
      w.rpc,
      "--registry",
      w.contracts.addresses.jobRegistry,
      "--groups",
      w.contracts.addresses.avatarGroups,
    ];
    failed(await v(["answer", "s1", "--yes", ...flags]), 1, "UnknownJobError", /no SharedJobs address was given: pass --shared-jobs/);
    failed(
      await v(["jobs", ...flags, "--shared-jobs", "nope"]),
      1,
      "TypeError",
      /--shared-jobs: expected the SharedJobs contract's address/,
    );
    failed(await v(["jobs", ...flags, "--shared-jobs", `0x${"11".repeat(20)}`]), 1, "TypeError", /--shared-jobs: no contract at 0x1111/);
    failed(await v(["receipts", "--job", "s1", ...args()]), 1, "NoSubmissionError", /no answer to job s1; 'mosaic vault answer s1'/);
    expect(await recorded()).to.equal(before);
  });

  it("answers s1 to both aggregators with both receipts, pending until the job is final", async () => {
    const run = await v(["answer", "s1", "--yes", "--delay-max", "0", "--json", ...args()]);
    const answered = json<Answered & { label: string; needed: number }>(run);
    expect(answered).to.include({ label: "s1", complete: true, needed: 2 });
    expect(answered.receipts.map((r) => r.operator).sort()).to.deep.equal([...aggregators].sort());
    failed(await v(["answer", "s1", "--yes", ...args()]), 1, "AlreadySubmittedError", /job s1: this vault sent its answer/);
    const pending = json<ReceiptsOut>(await v(["receipts", "--job", "s1", "--json", ...args()]));
    expect(pending.entries.map((e) => [e.jobId, e.inclusion.status])).to.deep.equal([[answered.jobId, "pending"]]);
    expect(pending.entries[0]?.receipts.every((r) => r.valid)).to.equal(true);
    answeredId = answered.jobId;
  });

  it("once s1 is final, receipts --job s1 shows the answer counted in the share set both aggregators committed", async () => {
    const jobId = BigInt(answeredId);
    // The status route's /jobs/<id> takes 20 digits at most, fewer than a shared id has: read the list.
    const progress = async (r: Reducer) =>
      ((await (await w.get(r, "/jobs")).json()) as Record<string, unknown>[]).find((j) => j.jobId === answeredId);
    await w.until("both aggregators to accept the answer", async () =>
      (await Promise.all(w.reducers.map(progress))).every((j) => Number(j?.accepted) === 1),
    );
    await w.timeTo(deadline + 1);
    await w.until(
      "both aggregators to commit and reveal their shares",
      async () => (await Promise.all([0, 1].map((i) => shared.getCommit(jobId, i)))).every((c) => c.state >= 1n && c.revealed),
      120_000,
    );
    await w.timeTo(deadline + 2 * 300 + 10);
    await w.until("s1 to be final", async () => (await shared.getSharedJob(jobId)).state === 2n, 120_000);
    const out = json<ReceiptsOut>(await v(["receipts", "--job", "s1", "--json", ...args()]));
    const commit = await shared.getCommit(jobId, 0);
    expect(out.entries[0]?.inclusion).to.deep.include({
      status: "counted",
      index: 0,
      count: 1,
      treeRoot: commit.shareSetRoot.toLowerCase(),
    });
    const text = await v(["receipts", ...args()]);
    expect(text.stdout).to.match(/^job s1: submission /m);
    expect(text.stdout).to.contain(
      `counted  (leaf 0 of 1 in the share set both aggregators committed; its root ${commit.shareSetRoot.toLowerCase()} recomputed from every leaf)`,
    );
  });
});
