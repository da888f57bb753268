// GroupSync against the stock Semaphore contract on Hardhat's in-process network: full and incremental syncs, the
// cache (reopened, corrupted, truncated, foreign, tampered), hostile providers, and checkRoot against verifyProof.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  type ChainConnection,
  deployMosaic,
  ExpiredRootError,
  type Logger,
  type MosaicContracts,
  type Semaphore,
  Semaphore__factory,
  SNARK_SCALAR_FIELD,
  UnknownRootError,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { Group } from "@semaphore-protocol/group";
import { expect } from "chai";
import type { Log, NonceManager, Provider } from "ethers";
import fc from "fast-check";
import { expectRejects } from "../../../test/helpers.js";
import { MirrorTree } from "../src/group-sync/mirror-tree.js";
import { type GroupSync, GroupSyncError, loadGroup, openGroupSync } from "../src/index.js";

const FIELD = SNARK_SCALAR_FIELD;
const commitmentArb = fc.bigInt({ min: 1n, max: FIELD - 1n });

/** A group on the stock Semaphore contract, administered by a test signer, with a JS Group alongside for siblings. */
class AdminGroup {
  readonly js = new Group();
  /** Every root the contract reported after a change, in order. */
  readonly roots: bigint[] = [];

  constructor(
    readonly semaphore: Semaphore,
    readonly id: bigint,
  ) {}

  has(commitment: bigint): boolean {
    return this.js.indexOf(commitment) !== -1;
  }

  async add(commitment: bigint): Promise<void> {
    await (await this.semaphore.addMember(this.id, commitment)).wait();
    this.js.addMember(commitment);
    await this.#record();
  }

  async addMany(commitments: bigint[]): Promise<void> {
    await (await this.semaphore.addMembers(this.id, commitments)).wait();
    this.js.addMembers(commitments);
    await this.#record();
  }

  async update(old: bigint, next: bigint): Promise<void> {
    const index = this.js.indexOf(old);
    const { siblings } = this.js.generateMerkleProof(index);
    await (await this.semaphore.updateMember(this.id, old, next, siblings)).wait();
    this.js.updateMember(index, next);
    await this.#record();
  }

  async remove(commitment: bigint): Promise<void> {
    const index = this.js.indexOf(commitment);
    const { siblings } = this.js.generateMerkleProof(index);
    await (await this.semaphore.removeMember(this.id, commitment, siblings)).wait();
    this.js.removeMember(index);
    await this.#record();
  }

  async setDuration(seconds: bigint): Promise<void> {
    await (await this.semaphore.updateGroupMerkleTreeDuration(this.id, seconds)).wait();
  }

  async root(): Promise<bigint> {
    return this.semaphore.getMerkleTreeRoot(this.id);
  }

  async #record(): Promise<void> {
    const root = await this.root();
    // The JS LeanIMT and the contract's agree, removals (leaf set to 0) included.
    expect(root).to.equal(this.js.root);
    this.roots.push(root);
  }
}

/** What Semaphore.verifyProof does with a proof of garbage points against `root`, at block `blockTag`. */
async function contractVerdict(semaphore: Semaphore, groupId: bigint, root: bigint, blockTag: number): Promise<string> {
  const proof = {
    merkleTreeDepth: 20,
    merkleTreeRoot: root,
    nullifier: 1n,
    message: 2n,
    scope: 3n,
    points: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n],
  };
  try {
    const ok = await semaphore.verifyProof.staticCall(groupId, proof, { blockTag });
    expect(ok, "garbage points never verify").to.equal(false);
    return "accepted";
  } catch (err) {
    const text = `${(err as Error).message} ${JSON.stringify((err as { data?: unknown }).data ?? "")}`;
    if (/Semaphore__MerkleTreeRootIsNotPartOfTheGroup/.test(text)) return "unknown";
    if (/Semaphore__MerkleTreeRootIsExpired/.test(text)) return "expired";
    const named = /(Semaphore__\w+)/.exec(text);
    if (named) return named[1]!;
    throw err;
  }
}

/** The same question put to GroupSync.checkRoot. */
async function syncVerdict(sync: GroupSync, root: bigint, at?: number): Promise<string> {
  try {
    await sync.checkRoot(root, { at });
    return "accepted";
  } catch (err) {
    if (err instanceof UnknownRootError) return "unknown";
    if (err instanceof ExpiredRootError) return "expired";
    throw err;
  }
}

/** A provider whose getLogs can be watched, refused or tampered with; everything else passes through. */
function interceptedProvider(inner: Provider) {
  const control = {
    ranges: [] as [number, number][],
    tamper: undefined as ((logs: Log[]) => Log[]) | undefined,
    maxRange: Number.POSITIVE_INFINITY,
    fail: false,
  };
  const provider = new Proxy(inner, {
    get(target, key) {
      if (key === "getLogs") {
        return async (filter: { fromBlock: number; toBlock: number }) => {
          if (control.fail) throw new Error("service unavailable");
          if (filter.toBlock - filter.fromBlock + 1 > control.maxRange)
            throw new Error(`block range too large, at most ${control.maxRange}`);
          control.ranges.push([filter.fromBlock, filter.toBlock]);
          const logs = await target.getLogs(filter);
          return control.tamper ? control.tamper(logs) : logs;
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { provider, control };
}

function recordingLogger() {
  const entries: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = (level, event, fields = {}) => entries.push({ level, event, fields });
  return { logger, entries, events: () => entries.map((e) => e.event) };
}

/** Commitments from a seeded stream, so the cache and hostile tests are reproducible. */
function commitments(count: number, seed: number): bigint[] {
  return fc.sample(fc.uniqueArray(commitmentArb, { minLength: count, maxLength: count }), { seed, numRuns: 1 })[0]!;
}

describe("GroupSync: a Semaphore group's tree from the contract's events (Hardhat in-process network)", function () {
  this.timeout(300_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let semaphore: Semaphore;
  let tmp: string;

  const components = (provider: Provider = chain.provider) => ({ provider, semaphore: contracts.addresses.semaphore });
  const rpc = (method: string, params: unknown[]) =>
    (chain.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send(method, params);

  async function newGroup(duration = 3600n): Promise<AdminGroup> {
    const admin = chain.accounts[0]!;
    await (await semaphore["createGroup(address,uint256)"](await admin.getAddress(), duration)).wait();
    return new AdminGroup(semaphore, (await semaphore.groupCounter()) - 1n);
  }

  before(async () => {
    chain = await connectInProcessChain();
    contracts = await deployMosaic(chain.accounts[0]!);
    semaphore = Semaphore__factory.connect(contracts.addresses.semaphore, chain.accounts[0]!);
    tmp = await mkdtemp(path.join(os.tmpdir(), "mosaic-group-sync-"));
  });

  after(async () => {
    await chain?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("MirrorTree is LeanIMT: same roots as Group under inserts, batches, updates and removals; prefix roots and truncation", () => {
    const opArb = fc.oneof(
      fc.record({ t: fc.constant("add" as const), cs: fc.uniqueArray(commitmentArb, { minLength: 1, maxLength: 5 }) }),
      fc.record({ t: fc.constant("update" as const), pick: fc.nat(), c: commitmentArb }),
      fc.record({ t: fc.constant("remove" as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => {
        const group = new Group();
        const tree = new MirrorTree();
        for (const op of ops) {
          if (op.t === "add") {
            group.addMembers(op.cs);
            tree.insertMany(op.cs);
          } else if (group.size > 0) {
            const index = op.pick % group.size;
            if (group.members[index] === 0n) continue;
            if (op.t === "update") group.updateMember(index, op.c);
            else group.removeMember(index);
            tree.update(index, op.t === "update" ? op.c : 0n);
          }
          expect(tree.root).to.equal(group.root);
        }
        expect(tree.toGroup().export()).to.equal(group.export());
        const leaves = group.members;
        for (let size = 0; size <= leaves.length; size++) {
          const expected = size === 0 ? 0n : new Group(leaves.slice(0, size)).root;
          expect(MirrorTree.fromLeaves(leaves).prefixRoot(size), `prefix ${size}`).to.equal(expected);
          const cut = tree.clone();
          cut.truncate(size);
          expect(cut.root, `truncated to ${size}`).to.equal(expected);
          expect(cut.toGroup().export()).to.equal(new Group(leaves.slice(0, size)).export());
        }
      }),
      { seed: 7, numRuns: 25 },
    );
  });

  it("syncs fully, then incrementally reading only new events, agrees with a from-scratch sync, and reopens from its cache", async () => {
    const g = await newGroup();
    const first = commitments(26, 1);
    await g.addMany(first.slice(0, 20));
    for (const c of first.slice(20, 23)) await g.add(c);
    const dir = path.join(tmp, "incremental");
    const watched = interceptedProvider(chain.provider);
    const log = recordingLogger();
    const members = await openGroupSync(components(watched.provider), g.id, { cacheDir: dir, logger: log.logger });
    expect(members.block).to.equal(-1);
    const r1 = await members.sync();
    expect(r1).to.deep.equal({ block: await chain.provider.getBlockNumber(), size: 23, root: await g.root(), applied: 4 });
    expect(members.duration).to.equal(3600n);
    expect(members.indexOf(first[0]!)).to.equal(0);
    expect(members.indexOf(first[22]!)).to.equal(22);
    expect(members.indexOf(first[25]!)).to.equal(-1);

    await g.addMany(first.slice(23, 26));
    await g.update(first[3]!, commitments(1, 2)[0]!);
    await g.remove(first[7]!);
    await g.setDuration(120n);
    watched.control.ranges.length = 0;
    const r2 = await members.sync();
    expect(r2).to.deep.equal({ block: await chain.provider.getBlockNumber(), size: 26, root: await g.root(), applied: 4 });
    expect(
      watched.control.ranges.every(([from]) => from > r1.block),
      "only blocks after the last sync are read",
    ).to.equal(true);
    expect(members.duration).to.equal(120n);
    expect(members.indexOf(first[7]!)).to.equal(-1);
    expect(members.indexOf(first[3]!)).to.equal(-1);

    const scratch = await openGroupSync(components(), g.id);
    const r3 = await scratch.sync();
    expect(r3).to.deep.equal({ ...r2, applied: 8 });
    expect(scratch.group().export()).to.equal(g.js.export());
    // Checking only the roots at the end of each run of additions gives the same tree.
    const unverified = await openGroupSync(components(), g.id, { verifyEventRoots: false });
    expect(await unverified.sync()).to.deep.equal(r3);

    // The tree at an earlier root, and a sync that stops at an earlier block.
    const atFirst = members.groupAt(r1.root);
    expect(atFirst.root).to.equal(r1.root);
    expect(atFirst.members).to.deep.equal(first.slice(0, 23));
    const past = await openGroupSync(components(), g.id);
    expect((await past.sync({ toBlock: r1.block })).root).to.equal(r1.root);
    await expectRejects(past.sync({ toBlock: r1.block - 1 }), RangeError, /toBlock/);

    // Reopening from the cache: the same state before any sync, and nothing old is read again.
    const again = interceptedProvider(chain.provider);
    const reopened = await openGroupSync(components(again.provider), g.id, { cacheDir: dir, logger: log.logger });
    expect([reopened.block, reopened.size, reopened.root]).to.deep.equal([r2.block, r2.size, r2.root]);
    expect(reopened.hadRoot(r1.root)).to.equal(true);
    expect(reopened.groupAt(r1.root).root).to.equal(r1.root);
    const r4 = await reopened.sync();
    expect(r4).to.deep.equal({ ...r2, applied: 0 });
    expect(again.control.ranges.every(([from]) => from > r2.block)).to.equal(true);
    expect(log.entries.filter((e) => e.level === "warn")).to.deep.equal([]);

    // loadGroup (what the demo calls) rebuilds the same tree through AvatarGroups' Semaphore address.
    expect((await loadGroup(contracts.avatarGroups, g.id)).root).to.equal(r2.root);
  });

  it("checkRoot agrees with Semaphore.verifyProof for every root the group had and for roots it never had (random operations, fixed seed)", async () => {
    const opArb = fc.oneof(
      { weight: 3, arbitrary: fc.record({ t: fc.constant("add" as const), c: commitmentArb }) },
      {
        weight: 2,
        arbitrary: fc.record({ t: fc.constant("addMany" as const), cs: fc.uniqueArray(commitmentArb, { minLength: 1, maxLength: 6 }) }),
      },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("update" as const), pick: fc.nat(), c: commitmentArb, toZero: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("remove" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("readd" as const) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("revert" as const) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("duration" as const), d: fc.constantFrom(0n, 1n, 20n, 100n, 3600n) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("time" as const), s: fc.constantFrom(1, 15, 60, 150, 4000) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("sync" as const) }) },
    );
    const runArb = fc.record({
      duration: fc.constantFrom(30n, 100n, 3600n),
      ops: fc.array(opArb, { minLength: 25, maxLength: 35 }),
      strangers: fc.uniqueArray(commitmentArb, { minLength: 3, maxLength: 3 }),
    });
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(runArb, async ({ duration, ops, strangers }) => {
        const g = await newGroup(duration);
        const members = await openGroupSync(components(), g.id);
        const removed: bigint[] = [];
        let lastUpdate: [bigint, bigint] | undefined;
        const live = () => g.js.members.filter((m) => m !== 0n);
        await g.addMany(commitments(3, Number(g.id)).filter((c) => !g.has(c)));
        for (const op of ops) {
          if (op.t === "add" && !g.has(op.c)) await g.add(op.c);
          else if (op.t === "addMany") {
            const fresh = op.cs.filter((c) => !g.has(c));
            if (fresh.length > 0) await g.addMany(fresh);
          } else if (op.t === "update" && live().length > 0 && !g.has(op.c)) {
            const old = live()[op.pick % live().length]!;
            const next = op.toZero && op.pick % 4 === 0 ? 0n : op.c;
            await g.update(old, next);
            if (next === 0n) removed.push(old);
            else lastUpdate = [old, next];
          } else if (op.t === "remove" && live().length > 0) {
            const old = live()[op.pick % live().length]!;
            await g.remove(old);
            removed.push(old);
          } else if (op.t === "readd" && removed.length > 0) {
            const back = removed.pop()!;
            if (!g.has(back)) await g.add(back);
          } else if (op.t === "revert" && lastUpdate && g.has(lastUpdate[1]) && !g.has(lastUpdate[0])) {
            // Back to an earlier tree: the root value repeats and the contract overwrites its creation date.
            await g.update(lastUpdate[1], lastUpdate[0]);
            lastUpdate = undefined;
          } else if (op.t === "duration") await g.setDuration(op.d);
          else if (op.t === "time") await chain.increaseTime(op.s);
          else if (op.t === "sync") await members.sync();
        }
        for (const wait of [0, 25, 90, 5000]) {
          if (wait > 0) await chain.increaseTime(wait);
          const { block } = await members.sync();
          const at = (await chain.provider.getBlock(block))!.timestamp;
          for (const root of [...new Set(g.roots), ...strangers, 0n]) {
            const expected = await contractVerdict(semaphore, g.id, root, block);
            expect(await syncVerdict(members, root), `root ${root} at block ${block}`).to.equal(expected);
            seen.set(expected, (seen.get(expected) ?? 0) + 1);
            expect(await syncVerdict(members, root, at)).to.equal(expected);
          }
        }
        for (const root of g.roots) {
          expect(members.hadRoot(root)).to.equal(true);
          expect(members.groupAt(root).root).to.equal(root);
        }
        for (const root of strangers) {
          expect(members.hadRoot(root)).to.equal(false);
          expect(() => members.groupAt(root)).to.throw(UnknownRootError);
        }
        const scratch = await openGroupSync(components(), g.id);
        const fromScratch = await scratch.sync({ toBlock: members.block });
        expect([fromScratch.root, fromScratch.size]).to.deep.equal([members.root, members.size]);
        expect(members.group().export()).to.equal(g.js.export());
      }),
      { seed: 20_240_611, numRuns: 8, endOnFailure: true },
    );
    // The runs reached all three outcomes, not just the easy ones.
    expect([...seen.keys()].sort()).to.deep.equal(["accepted", "expired", "unknown"]);
  });

  it("dates a root by the last event that set it, and accepts it up to exactly creation + duration, as the contract does", async () => {
    const g = await newGroup(100n);
    const cs = commitments(5, 9);
    await g.addMany(cs.slice(0, 3));
    const returning = await g.root();
    await g.update(cs[0]!, cs[3]!);
    await chain.increaseTime(500);
    // Back to the first tree: the same root value, and the contract overwrites its creation date.
    await g.update(cs[3]!, cs[0]!);
    expect(await g.root()).to.equal(returning);
    const createdAt = await chain.now();
    await g.add(cs[4]!);
    const members = await openGroupSync(components(), g.id);
    await members.sync();
    await members.checkRoot(returning, { at: createdAt + 100 });
    await expectRejects(members.checkRoot(returning, { at: createdAt + 101 }), ExpiredRootError, /expired at/);
    for (const at of [createdAt + 100, createdAt + 101]) {
      await rpc("evm_setNextBlockTimestamp", [at]);
      await rpc("evm_mine", []);
      const { block } = await members.sync();
      const expected = await contractVerdict(semaphore, g.id, returning, block);
      expect(expected).to.equal(at === createdAt + 100 ? "accepted" : "expired");
      expect(await syncVerdict(members, returning), `at ${at}`).to.equal(expected);
    }
  });

  it("treats a group without members as accepting no root (the contract reverts with GroupHasNoMembers)", async () => {
    const g = await newGroup();
    const members = await openGroupSync(components(), g.id);
    expect(await members.sync()).to.deep.include({ size: 0, root: 0n, applied: 0 });
    const block = members.block;
    expect(await contractVerdict(semaphore, g.id, 0n, block)).to.equal("Semaphore__GroupHasNoMembers");
    await expectRejects(members.checkRoot(0n), UnknownRootError, /no members/);
    expect(() => members.groupAt(0n)).to.throw(UnknownRootError);
    // A group that does not exist looks the same.
    const none = await openGroupSync(components(), 10n ** 30n);
    expect(await none.sync()).to.deep.include({ size: 0, root: 0n });
    await expectRejects(none.checkRoot(1n), UnknownRootError);
  });

  it("ignores a corrupted, truncated, garbage or foreign cache file, and rebuilds when a tampered one disagrees with the chain", async () => {
    const g = await newGroup();
    const cs = commitments(12, 3);
    await g.addMany(cs.slice(0, 10));
    await g.add(cs[10]!);
    await g.remove(cs[4]!);
    const other = await newGroup();
    await other.add(cs[11]!);
    const dir = path.join(tmp, "hostile-cache");
    const writer = await openGroupSync(components(), g.id, { cacheDir: dir });
    const synced = await writer.sync();
    const otherWriter = await openGroupSync(components(), other.id, { cacheDir: dir });
    await otherWriter.sync();
    const file = writer.cacheFile!;
    const good = await readFile(file);
    const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const leavesAt = 16 + view.getUint32(12);
    const withChecksum = (bytes: Uint8Array) => {
      const out = Buffer.from(bytes);
      createHash("sha256")
        .update(out.subarray(0, out.length - 32))
        .digest()
        .copy(out, out.length - 32);
      return out;
    };
    const flipped = Buffer.from(good);
    flipped[leavesAt + 40] = flipped[leavesAt + 40]! ^ 0xff;
    // Leaf 1's lowest byte changed: still a field element, a different tree.
    const tamperedLeaf = Buffer.from(good);
    tamperedLeaf[leavesAt + 63] = tamperedLeaf[leavesAt + 63]! ^ 0x01;
    const cases: [string, Uint8Array, RegExp][] = [
      ["corrupted", flipped, /checksum/],
      ["truncated", good.subarray(0, Math.floor(good.length / 2)), /checksum|too short/],
      [
        "garbage",
        Buffer.from(
          commitments(8, 4)
            .map((c) => c.toString(16))
            .join(""),
          "hex",
        ),
        /not a group-sync cache/,
      ],
      ["foreign", await readFile(otherWriter.cacheFile!), new RegExp(`for group ${other.id}, not ${g.id}`)],
      ["tampered leaf", withChecksum(tamperedLeaf), /the leaves give root/],
    ];
    for (const [name, bytes, reason] of cases) {
      await writeFile(file, bytes);
      const log = recordingLogger();
      const members = await openGroupSync(components(), g.id, { cacheDir: dir, logger: log.logger });
      const ignored = log.entries.find((e) => e.event === "cache:ignored");
      expect(ignored, name).to.not.equal(undefined);
      expect(String(ignored!.fields.reason), name).to.match(reason);
      expect(members.size, name).to.equal(0);
      expect(await members.sync(), name).to.deep.equal({ ...synced, block: members.block, applied: 3 });
    }

    // A tampered leaf with the history's last root rewritten to match parses and loads; the check against the
    // contract's root then catches it and the state is rebuilt from the chain.
    const leaves = g.js.members;
    leaves[1] = BigInt(`0x${Buffer.from(tamperedLeaf.subarray(leavesAt + 32, leavesAt + 64)).toString("hex")}`);
    const forged = Buffer.from(tamperedLeaf);
    const fakeRoot = new Group(leaves).root;
    Buffer.from(fakeRoot.toString(16).padStart(64, "0"), "hex").copy(forged, forged.length - 64);
    await writeFile(file, withChecksum(forged));
    const log = recordingLogger();
    const members = await openGroupSync(components(), g.id, { cacheDir: dir, logger: log.logger });
    expect(log.events()).to.include("cache:loaded");
    expect(members.root).to.equal(fakeRoot);
    const result = await members.sync();
    expect(result.root).to.equal(await g.root());
    expect(result.applied).to.equal(3);
    const rebuilding = log.entries.find((e) => e.event === "group:rebuilding");
    expect(String(rebuilding?.fields.reason)).to.match(/the contract has root/);
    // And the rewritten cache is good again.
    const clean = recordingLogger();
    const reopened = await openGroupSync(components(), g.id, { cacheDir: dir, logger: clean.logger });
    expect(clean.events()).to.include("cache:loaded");
    expect(reopened.root).to.equal(await g.root());
  });

  it("rejects malformed events from a hostile provider with GroupSyncError, leaving the state unchanged", async () => {
    const g = await newGroup();
    const cs = commitments(10, 5);
    await g.addMany(cs.slice(0, 6));
    const { provider, control } = interceptedProvider(chain.provider);
    const members = await openGroupSync(components(provider), g.id, { logger: recordingLogger().logger });
    const before = await members.sync();
    await g.add(cs[6]!);
    await g.addMany(cs.slice(7, 9));
    await g.setDuration(77n);
    const iface = semaphore.interface;
    const memberAdded = iface.getEvent("MemberAdded")!;
    const isNewAdd = (log: Log) => log.blockNumber > before.block && log.topics[0] === memberAdded.topicHash;
    /** Re-encodes the new MemberAdded event with changed arguments. */
    const rewrite =
      (change: (args: [bigint, bigint, bigint, bigint]) => [bigint, bigint, bigint, bigint]) =>
      (logs: Log[]): Log[] =>
        logs.map((log) => {
          if (!isNewAdd(log)) return log;
          const parsed = iface.parseLog(log)!;
          const { data, topics } = iface.encodeEventLog(memberAdded, change([...parsed.args] as [bigint, bigint, bigint, bigint]));
          return { ...log, data, topics } as unknown as Log;
        });
    const durationUpdated = iface.getEvent("GroupMerkleTreeDurationUpdated")!;
    const rewriteDuration =
      (change: (args: [bigint, bigint, bigint]) => [bigint, bigint, bigint]) =>
      (logs: Log[]): Log[] =>
        logs.map((log) => {
          if (log.topics[0] !== durationUpdated.topicHash) return log;
          const { data, topics } = iface.encodeEventLog(
            durationUpdated,
            change([...iface.parseLog(log)!.args] as [bigint, bigint, bigint]),
          );
          return { ...log, data, topics } as unknown as Log;
        });
    const cases: [string, (logs: Log[]) => Log[], RegExp][] = [
      [
        "a duration the contract does not have",
        rewriteDuration(([id, old]) => [id, old, 6n]),
        /merkleTreeDuration of 6 at block \d+, the contract 77/,
      ],
      ["index out of order", rewrite(([id, index, c, root]) => [id, index + 1n, c, root]), /adds at index 7, but the group has 6/],
      ["a root the tree does not give", rewrite(([id, index, c]) => [id, index, c, 12345n]), /states root 12345/],
      ["an existing member added again", rewrite(([id, index, , root]) => [id, index, cs[0]!, root]), /already a member/],
      ["a commitment outside the field", rewrite(([id, index, , root]) => [id, index, FIELD, root]), /not a nonzero field element/],
      ["the same log twice", (logs) => logs.flatMap((log) => (isNewAdd(log) ? [log, log] : [log])), /out of order or twice/],
      [
        "a log of another group",
        (logs) =>
          logs.map((log) => (isNewAdd(log) ? ({ ...log, topics: [log.topics[0], `0x${"00".repeat(31)}63`] } as unknown as Log) : log)),
        /not group/,
      ],
      ["a dropped event", (logs) => logs.filter((log) => !isNewAdd(log)), /adds at index 7, but the group has 6/],
    ];
    const snapshot = () => [members.block, members.size, members.root, members.indexOf(cs[6]!)];
    const unchanged = snapshot();
    for (const [name, tamper, pattern] of cases) {
      control.tamper = tamper;
      await expectRejects(members.sync(), GroupSyncError, pattern);
      expect(snapshot(), name).to.deep.equal(unchanged);
    }
    control.tamper = undefined;

    // A provider that is down, and an aborted sync: named errors, nothing changed.
    control.fail = true;
    await expectRejects(members.sync(), GroupSyncError, /eth_getLogs failed.*service unavailable/);
    expect(snapshot()).to.deep.equal(unchanged);
    control.fail = false;
    const abort = new AbortController();
    abort.abort();
    await expectRejects(members.sync({ signal: abort.signal }), DOMException, /abort/i);
    expect(snapshot()).to.deep.equal(unchanged);

    // A provider that refuses big ranges is asked for smaller ones.
    control.maxRange = 4;
    const log = recordingLogger();
    const halving = await openGroupSync(components(provider), g.id, { logger: log.logger });
    const result = await halving.sync();
    expect(result.root).to.equal(await g.root());
    expect(log.events()).to.include("logs:range-halved");
    control.maxRange = Number.POSITIVE_INFINITY;

    // A duration change whose old value contradicts the known duration: the synced state is suspect, so it is rebuilt
    // from the chain (where the first change's old value cannot be checked, and does not matter).
    control.tamper = rewriteDuration(([id, , next]) => [id, 5n, next]);
    const rebuildLog = recordingLogger();
    const rebuilding = await openGroupSync(components(provider), g.id, { logger: rebuildLog.logger });
    await rebuilding.sync({ toBlock: before.block });
    const rebuilt = await rebuilding.sync();
    expect([rebuilt.root, rebuilt.applied, rebuilding.duration]).to.deep.equal([await g.root(), 4, 77n]);
    const reason = rebuildLog.entries.find((e) => e.event === "group:rebuilding")?.fields.reason;
    expect(String(reason)).to.match(/changes the duration from 5, but it was 3600/);
    control.tamper = undefined;

    const honest = await members.sync();
    expect([honest.size, honest.root, honest.applied, members.duration]).to.deep.equal([9, await g.root(), 3, 77n]);
  });

  it("notices a reorg (the synced block replaced, or the head behind it) and rebuilds from the chain", async () => {
    const g = await newGroup();
    const cs = commitments(6, 11);
    await g.addMany(cs.slice(0, 3));
    const log = recordingLogger();
    const members = await openGroupSync(components(), g.id, { logger: log.logger });
    const snapshot = await rpc("evm_snapshot", []);
    await g.add(cs[3]!);
    const before = await members.sync();
    expect(before.size).to.equal(4);
    // The block the sync stopped at is replaced by one where another member joined.
    await rpc("evm_revert", [snapshot]);
    (chain.accounts[0] as NonceManager).reset();
    await (await semaphore.addMember(g.id, cs[4]!)).wait();
    expect(await chain.provider.getBlockNumber()).to.equal(before.block);
    const after = await members.sync();
    expect([after.block, after.size, after.root]).to.deep.equal([before.block, 4, await g.semaphore.getMerkleTreeRoot(g.id)]);
    expect(members.indexOf(cs[3]!)).to.equal(-1);
    expect(members.indexOf(cs[4]!)).to.equal(3);
    expect(String(log.entries.find((e) => e.event === "group:rebuilding")?.fields.reason)).to.match(/a reorg/);
    // A chain that went back below the synced block.
    const earlier = await rpc("evm_snapshot", []);
    await (await semaphore.addMember(g.id, cs[5]!)).wait();
    expect((await members.sync()).size).to.equal(5);
    await rpc("evm_revert", [earlier]);
    (chain.accounts[0] as NonceManager).reset();
    expect(await members.sync()).to.deep.include({ block: before.block, size: 4 });
    expect(log.entries.map((e) => String(e.fields.reason)).join("\n")).to.match(/head \d+ is behind the synced block/);
  });

  it("checks its arguments", async () => {
    await expectRejects(openGroupSync({ provider: chain.provider, semaphore: "0x1234" }, 1n), TypeError, /components.semaphore/);
    await expectRejects(openGroupSync(components(), -1n), RangeError, /groupId/);
    await expectRejects(openGroupSync(components(), 1n, { blockRange: 0 }), RangeError, /init.blockRange/);
    await expectRejects(openGroupSync(components(), 1n, { fromBlock: -3 }), RangeError, /init.fromBlock/);
    const members = await openGroupSync(components(), 1n);
    await expectRejects(members.checkRoot(-1n), RangeError, /root/);
    await expectRejects(members.sync({ toBlock: 1.5 }), RangeError, /toBlock/);
  });
});
