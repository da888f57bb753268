// A world for end-to-end reducer tests: a Hardhat JSON-RPC server on loopback with the contracts deployed, an open
// avatar group of real identities, staked operators running `mosaic reducer start` (or, for liars, the worker's
// test-only misbehaving reducer) as child processes, and helpers to post jobs, submit real proofs and wait on the nodes.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createAvatarGroup,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  proveSubmission,
  publishSubmission,
  registerAvatar,
  type Submission,
} from "@mosaic/avatar";
import {
  type ChainConnection,
  connectChain,
  deployMosaic,
  fundedWallet,
  jobTopic,
  type MosaicContracts,
  waitUntil,
} from "@mosaic/protocol";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic, parseEther } from "ethers";
import { network } from "hardhat";
import type { Misbehaviour } from "../../worker/test/fixtures/misbehaviours.js";
import { COMPILE_CACHE, json, mosaic, type Run, startMosaic } from "./run.js";

/** The same reducer node as `mosaic reducer start`, run with a misbehaviour's hooks (`<misbehaviour> --config FILE`). */
const MISBEHAVING_REDUCER = path.resolve(import.meta.dirname, "../../worker/test/fixtures/misbehaving-reducer.ts");

const MNEMONIC = "test test test test test test test test test test test junk";
export const keyOf = (i: number) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), `m/44'/60'/0'/0/${i}`);

export interface Reducer {
  index: number;
  config: string;
  dataDir: string;
  child?: ChildProcessWithoutNullStreams;
  log: string;
  status?: { http: string; addresses: string[]; operator: string };
  exit?: Promise<number | null>;
}

export interface ReducerWorld {
  work: string;
  rpc: string;
  chain: ChainConnection;
  contracts: MosaicContracts;
  groupId: bigint;
  identities: ReturnType<typeof deriveAvatarIdentity>[];
  reducers: Reducer[];
  /** `--rpc URL --registry ADDRESS` for `mosaic job` and `mosaic reducer` commands. */
  chainArgs: string[];
  researcherKey: string;
  /** Writes reducer `r`'s config (operator key from the test mnemonic), with `extra` fields over the defaults. */
  writeConfig(r: Reducer, extra?: Record<string, unknown>): Promise<void>;
  /** Starts reducer `r` with `mosaic reducer start`, or, given a misbehaviour, as a reducer that cheats that way. */
  start(r: Reducer, misbehaviour?: Misbehaviour): Promise<void>;
  jobOf(r: Reducer, jobId?: bigint): Promise<Record<string, unknown>>;
  get(r: Reducer, route: string, init?: RequestInit): Promise<Response>;
  until(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  rpcSend(method: string, params: unknown[]): Promise<unknown>;
  /** Moves chain time to `t` (unix s) if it is behind, and mines a block. */
  timeTo(t: number): Promise<void>;
  /** `mosaic job post <specFile> --json` by the researcher, handing the spec to `to`; `extra` flags added (e.g. --dry-run). */
  post(specFile: string, to: Reducer[], extra?: string[]): Promise<Run>;
  /** Member `i` proves `payload` for the job and publishes it to the given reducers, `tamper`ed first if given. */
  submit(jobId: bigint, i: number, payload: number[], to: Reducer[], tamper?: (sub: Submission) => Submission): Promise<void>;
  close(): Promise<void>;
}

/** Deploys, admits `members` real identities, and stakes `operators` reducers (1 ETH each, through the CLI). */
export async function createReducerWorld(members: number, operators: number): Promise<ReducerWorld> {
  const work = await mkdtemp(path.join(tmpdir(), "mosaic-reducers-"));
  const server = await network.createServer("default", "127.0.0.1", 0);
  const { port } = await server.listen();
  const rpc = `http://127.0.0.1:${port}`;
  const chain = await connectChain({ rpcUrl: rpc, accounts: 1 });
  const deployer = chain.accounts[0] as NonNullable<(typeof chain.accounts)[0]>;
  const contracts = await deployMosaic(deployer);
  const groupId = await createAvatarGroup(contracts, { name: "reducers-e2e", policy: "open" });
  const identities = Array.from({ length: members }, () => deriveAvatarIdentity(randomBytes(32)));
  for (const id of identities) {
    const wallet = await fundedWallet(chain, deployer, parseEther("0.01"));
    await registerAvatar(contracts.avatarGroups.connect(wallet), groupId, id.commitment);
  }
  const chainArgs = ["--rpc", rpc, "--registry", contracts.addresses.jobRegistry];
  const researcherKey = path.join(work, "researcher.key");
  await writeFile(researcherKey, `${keyOf(5).privateKey}\n`, { mode: 0o600 });
  const reducers: Reducer[] = [];
  const rpcSend = (method: string, params: unknown[]) =>
    (chain.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send(method, params);
  const get = (r: Reducer, route: string, init?: RequestInit) => fetch(`${r.status?.http}${route}`, init);
  const jobOf = async (r: Reducer, jobId = 1n) => (await (await get(r, `/jobs/${jobId}`)).json()) as Record<string, unknown>;
  const until = (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) =>
    waitUntil(what, check, {
      timeoutMs,
      intervalMs: 200,
      detail: async () => {
        const chainTime = (await chain.provider.getBlock("latest"))?.timestamp;
        const jobs = await Promise.all(reducers.map((r) => jobOf(r).catch((e) => String(e))));
        return `chain time ${chainTime}\n${JSON.stringify(jobs)}\n${reducers.map((r) => r.log.slice(-3000)).join("\n---\n")}`;
      },
    });
  const world: ReducerWorld = {
    work,
    rpc,
    chain,
    contracts,
    groupId,
    identities,
    reducers,
    chainArgs,
    researcherKey,
    get,
    jobOf,
    until,
    rpcSend,
    async writeConfig(r, extra = {}) {
      const key = path.join(work, `operator-${r.index}.key`);
      await writeFile(key, `${keyOf(1 + r.index).privateKey}\n`, { mode: 0o600 });
      const config = {
        rpcUrl: rpc,
        registry: contracts.addresses.jobRegistry,
        operatorKeyFile: key,
        dataDir: r.dataDir,
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 1, batchSize: 8, batchWaitMs: 100 },
        pollMs: 200,
        ...extra,
      };
      await writeFile(r.config, JSON.stringify(config, null, 2));
    },
    async start(r, misbehaviour) {
      await rm(path.join(r.dataDir, "node.json"), { force: true });
      r.child =
        misbehaviour === undefined
          ? startMosaic(["reducer", "start", "--config", r.config], { cwd: work, env: { MOSAIC_LOG: "info" } })
          : spawn(process.execPath, ["--import", import.meta.resolve("tsx"), MISBEHAVING_REDUCER, misbehaviour, "--config", r.config], {
              cwd: work,
              env: { ...process.env, ...COMPILE_CACHE, MOSAIC_LOG: "info" },
              stdio: ["pipe", "pipe", "pipe"],
            });
      r.child.stdin.end();
      r.child.stderr.on("data", (c: Buffer) => (r.log += c.toString()));
      r.exit = new Promise((resolve) => r.child?.on("exit", (code) => resolve(code)));
      await until("a reducer to start", async () => existsSync(path.join(r.dataDir, "node.json")));
      r.status = JSON.parse(await readFile(path.join(r.dataDir, "node.json"), "utf8"));
    },
    async timeTo(t) {
      const now = (await chain.provider.getBlock("latest"))?.timestamp ?? 0;
      await rpcSend("evm_increaseTime", [Math.max(1, t - now)]);
      await rpcSend("evm_mine", []);
    },
    post(specFile, to, extra = []) {
      const peers = to.flatMap((r) => ["--peer", r.status?.addresses[0] ?? ""]);
      return mosaic(
        [
          "job",
          "post",
          specFile,
          "--group",
          String(groupId),
          "--json",
          ...chainArgs,
          "--wallet-key-file",
          researcherKey,
          ...peers,
          ...extra,
        ],
        work,
      );
    },
    async submit(jobId, i, payload, to, tamper = (sub) => sub) {
      const job = { chainId: chain.chainId, registry: contracts.addresses.jobRegistry, jobId };
      const group = new Group(identities.map((id) => id.commitment));
      const sub = await proveSubmission(identities[i] as (typeof identities)[number], group, job, payload);
      const block = await encodeSubmission(tamper(sub));
      await publishSubmission(block, {
        peers: to.flatMap((r) => r.status?.addresses.slice(0, 1) ?? []),
        topic: jobTopic(job),
        minRecipients: to.length,
        lingerMs: 10_000,
      });
    },
    async close() {
      for (const r of reducers) r.child?.kill("SIGKILL");
      await chain.close();
      await server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < operators; i++) {
    const r: Reducer = { index: i, config: path.join(work, `reducer-${i}.json`), dataDir: path.join(work, `reducer-${i}`), log: "" };
    reducers.push(r);
    await world.writeConfig(r);
  }
  // Each operator stakes from its own wallet: side by side.
  const stakes = await Promise.all(
    reducers.map((r) =>
      mosaic(
        ["reducer", "stake", "--amount", "1", ...chainArgs, "--wallet-key-file", path.join(work, `operator-${r.index}.key`), "--json"],
        work,
      ),
    ),
  );
  for (const stake of stakes) expect(json<{ total: string }>(stake).total).to.equal("1.0");
  return world;
}
