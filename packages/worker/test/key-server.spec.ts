// The health authority's key server on real parts: an in-process Hardhat chain with ExposureFeeds, Helia nodes on
// loopback, real Semaphore proofs. An upload is accepted and lands in a signed, anchored batch; every hostile upload
// is rejected under its name with the queue, the nullifiers and the feed unchanged; a restart forgets no nullifier and
// no key. A member who copies another's keys is refused (the feed never stalls on a repeated key), a flood of junk
// announcements is bounded in fetches, queue and memory, and what periods have left behind is forgotten.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  artifactPaths,
  type BatchVerifier,
  createAvatarGroup,
  createBatchVerifier,
  deriveAvatarIdentity,
  Group,
  type GroupSync,
  type Identity,
  openGroupSync,
  PROOF_DEPTH,
  publishSubmission,
} from "@mosaic/avatar";
import {
  decodeKeyBatch,
  encodeUpload,
  exposureRootFromSeed,
  type KeyUpload,
  KEY_RETENTION_DAYS,
  keysToUpload,
  type PublishedKey,
  uploadMessage,
  uploadPeriod,
  uploadScope,
} from "@mosaic/exposure";
import {
  type Block,
  type ChainConnection,
  CID,
  createIpfsNode,
  createLogger,
  decodeCbor,
  deployMosaic,
  encodeBlock,
  type ExposureFeeds,
  findEvent,
  getBlock,
  type IpfsNode,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { generateProof } from "@semaphore-protocol/proof";
import { expect } from "chai";
import { getBytes, hexlify } from "ethers";
import { sha256 } from "multiformats/hashes/sha2";
import {
  type BatchPublished,
  createKeyServer,
  type KeyServer,
  MAX_UPLOAD_BLOCK_BYTES,
  NotFeedAuthorityError,
  type UploadRejected,
} from "../src/key-server.js";
import { expectRejects } from "../../../test/helpers.js";

describe("key server (real chain, real IPFS nodes, real proofs)", function () {
  this.timeout(300_000);
  let chain: ChainConnection;
  let feeds: ExposureFeeds;
  let feedsAddress: string;
  let authority: string;
  let feedId: bigint;
  let otherFeedId: bigint;
  let group: GroupSync;
  let serverNode: IpfsNode;
  let userNode: IpfsNode;
  let verifier: BatchVerifier;
  let dir: string;
  let server: KeyServer;
  const now = Math.floor(Date.now() / 1000);
  const members = [0, 1, 2, 3, 4, 5, 6].map(() => ({ identity: deriveAvatarIdentity(randomBytes(32)), seed: randomBytes(32) }));
  const stranger = deriveAvatarIdentity(randomBytes(32));

  const published = (seed: Uint8Array, days = 14): PublishedKey[] =>
    keysToUpload(exposureRootFromSeed(seed), now, days).map((k) => ({
      ...k,
      reportType: "confirmed-test",
      daysSinceOnsetOfSymptoms: null,
    }));

  /** An upload proven by `identity` as a member of `tree` for `proveFeed`'s scope (the feed's own by default). */
  const makeUpload = async (identity: Identity, keys: PublishedKey[], tree: Group, proveFeed = feedId): Promise<KeyUpload> => {
    const period = uploadPeriod(now);
    const scope = uploadScope(Number(chain.chainId), feedsAddress, proveFeed.toString(), period);
    const proof = await generateProof(identity, tree, uploadMessage(keys), scope, PROOF_DEPTH, artifactPaths());
    return { version: 1, chainId: Number(chain.chainId), feeds: feedsAddress, feedId: feedId.toString(), period, keys, proof };
  };

  /** An upload to `feed`, proven for it (other feeds get other servers in these tests). */
  const makeUploadFor = async (feed: bigint, identity: Identity, keys: PublishedKey[]): Promise<KeyUpload> => {
    const period = uploadPeriod(now);
    const scope = uploadScope(Number(chain.chainId), feedsAddress, feed.toString(), period);
    const proof = await generateProof(identity, group.group(), uploadMessage(keys), scope, PROOF_DEPTH, artifactPaths());
    return { version: 1, chainId: Number(chain.chainId), feeds: feedsAddress, feedId: feed.toString(), period, keys, proof };
  };

  /** Puts a block on the user's node and announces it to the server, which fetches it over bitswap; its verdict. */
  const offer = async (block: Block, to: KeyServer = server): Promise<{ rejected?: UploadRejected; accepted?: boolean }> => {
    await putBlock(userNode.blockstore, block);
    let rejected: UploadRejected | undefined;
    let accepted = false;
    const offRejected = to.on("upload:rejected", (r) => {
      rejected = r;
    });
    const offAccepted = to.on("upload:accepted", () => {
      accepted = true;
    });
    to.announce(new TextEncoder().encode(block.cid.toString()));
    await to.drain();
    offRejected();
    offAccepted();
    return { rejected, accepted };
  };

  const feedState = async () => {
    const f = await feeds.feedOf(feedId);
    return { seq: f.seq, head: f.head };
  };

  const startServer = async (journalFile: string): Promise<KeyServer> => {
    const s = createKeyServer(
      { ipfs: serverNode, feeds, group, signer: chain.accounts[1]!, verifier, log: createLogger("key-server", "error") },
      { feedId, chainId: chain.chainId, batchEveryMs: 3_600_000, journalFile, fetchTimeoutMs: 3000, now: () => now },
    );
    await s.start();
    return s;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-key-server-"));
    chain = await connectInProcessChain();
    const contracts = await deployMosaic(chain.accounts[0]!);
    const authoritySigner = chain.accounts[1]!;
    authority = await authoritySigner.getAddress();
    const groupId = await createAvatarGroup(contracts, { name: "positives", policy: "registrar", registrar: authority });
    await (
      await contracts.avatarGroups.connect(authoritySigner).registerBatch(
        groupId,
        members.map((m) => m.identity.commitment),
      )
    ).wait();
    feeds = contracts.exposureFeeds.connect(authoritySigner);
    feedsAddress = (await feeds.getAddress()).toLowerCase();
    const created = async () =>
      findEvent(await (await feeds.createFeed(groupId)).wait(), feeds.interface, "FeedCreated").args.feedId as bigint;
    feedId = await created();
    otherFeedId = await created();
    group = await openGroupSync({ provider: chain.provider, semaphore: contracts.addresses.semaphore }, groupId, {
      fromBlock: contracts.deployBlock,
    });
    await group.sync();
    serverNode = await createIpfsNode();
    userNode = await createIpfsNode({ peers: nodeAddresses(serverNode) });
    verifier = createBatchVerifier({ threads: 1, batchSize: 4 });
    await verifier.start();
    server = await startServer(path.join(dir, "key-server.jsonl"));
  });

  after(async () => {
    await server?.stop();
    await verifier?.stop();
    await userNode?.stop();
    await serverNode?.stop();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  let firstUpload: KeyUpload;
  let firstBlock: Block;
  let firstBatch: BatchPublished;

  it("accepts an upload announced on the feed's topic and publishes it in a signed batch anchored on-chain", async () => {
    firstUpload = await makeUpload(members[0]!.identity, published(members[0]!.seed), group.group());
    firstBlock = await encodeUpload(firstUpload);
    const accepted = new Promise<string>((resolve) => server.on("upload:accepted", (a) => resolve(a.cid)));
    // The way a vault publishes: from a throwaway node, announced on the upload topic, fetched over bitswap.
    await publishSubmission(firstBlock, { peers: nodeAddresses(serverNode), topic: server.topic, lingerMs: 10_000 });
    expect(await accepted).to.equal(firstBlock.cid.toString());
    expect(server.queuedKeys).to.equal(14);

    const [batch] = await server.publish();
    firstBatch = batch!;
    expect(firstBatch).to.include({ seq: 1, keys: 14 });
    expect(firstBatch.uploads).to.deep.equal([firstBlock.cid.toString()]);
    expect(server.queuedKeys).to.equal(0);
    const anchored = await feedState();
    expect(anchored.seq).to.equal(1n);
    expect(CID.decode(getBytes(anchored.head)).toString()).to.equal(firstBatch.cid);
    // Anyone can fetch the batch over bitswap and check it against the authority the chain names.
    const bytes = await getBlock(userNode.blockstore, CID.parse(firstBatch.cid), { maxBytes: 1 << 20, signal: AbortSignal.timeout(5000) });
    const decoded = decodeKeyBatch(bytes, authority);
    expect(decoded).to.include({ seq: 1, prev: null, feedId: feedId.toString(), feeds: feedsAddress, chainId: Number(chain.chainId) });
    expect(decoded.uploads).to.deep.equal([firstBlock.cid.toString()]);
    expect(decoded.keys.map((k) => hexlify(k.key))).to.deep.equal(firstUpload.keys.map((k) => hexlify(k.key)));

    // A second member's upload: the next batch links to the first.
    const second = await offer(await encodeUpload(await makeUpload(members[1]!.identity, published(members[1]!.seed, 5), group.group())));
    expect(second.accepted).to.equal(true);
    const [next] = await server.publish();
    expect(next).to.include({ seq: 2, keys: 5 });
    const nextBatch = decodeKeyBatch(await getBlock(serverNode.blockstore, CID.parse(next!.cid), { maxBytes: 1 << 20 }), authority);
    expect(nextBatch.prev).to.equal(firstBatch.cid);
    expect((await feedState()).seq).to.equal(2n);
  });

  /** Offers a hostile block and checks it is rejected with `reason` and changes nothing but the count. */
  const rejects = async (block: Block, reason: string) => {
    const before = { feed: await feedState(), queued: server.queuedKeys, status: server.status(), rejected: server.rejected };
    const verdict = await offer(block);
    expect(verdict.accepted, `${reason}: accepted`).to.equal(false);
    expect(verdict.rejected?.reason, verdict.rejected?.message).to.equal(reason);
    expect(await feedState()).to.deep.equal(before.feed);
    expect(server.queuedKeys).to.equal(before.queued);
    expect(server.status().accepted).to.equal(before.status.accepted);
    for (const field of ["nullifiers", "knownKeys", "remembered"])
      expect(server.status()[field], field).to.be.a("number").and.equal(before.status[field]);
    expect(server.rejected[reason as keyof typeof before.rejected]).to.equal(
      (before.rejected[reason as keyof typeof before.rejected] ?? 0) + 1,
    );
    return verdict.rejected!;
  };

  it("rejects a replayed upload (the same nullifier in the same period) with UploadReplayedError", async () => {
    // The same member proves again over fewer keys: another block, the same nullifier.
    const again = await makeUpload(members[0]!.identity, published(members[0]!.seed, 3), group.group());
    const r = await rejects(await encodeUpload(again), "UploadReplayedError");
    expect(r.message).to.match(/one upload per person and period/);
    // The very same block announced again is a duplicate: ignored, not judged twice.
    const before = server.status();
    server.announce(new TextEncoder().encode(firstBlock.cid.toString()));
    await server.drain();
    expect(server.status().accepted).to.equal(before.accepted);
    expect(server.status().duplicates).to.equal((before.duplicates as number) + 1);
  });

  it("rejects keys outside their window, another feed's scope and a non-member's proof, each under its name", async () => {
    const seed = members[2]!.seed;
    // Today's key is still in use: it is never uploaded.
    const today = Math.floor(now / 86_400);
    const todays: PublishedKey = { ...published(seed, 1)[0]!, rollingStartIntervalNumber: today * 144 };
    const outside = await makeUpload(members[2]!.identity, [todays], group.group());
    await rejects(await encodeUpload(outside), "KeyOutsideWindowError");
    // The first upload's proof over other keys: the proof's message is not theirs.
    await rejects(await encodeUpload({ ...firstUpload, keys: published(seed, 3) }), "PayloadHashMismatchError");
    // An upload for a period that has not begun.
    await rejects(await encodeUpload({ ...firstUpload, period: firstUpload.period + 1 }), "WrongPeriodError");
    // A member's proof for the other feed's scope, put in an upload for this feed.
    await rejects(
      await encodeUpload(await makeUpload(members[2]!.identity, published(seed, 2), group.group(), otherFeedId)),
      "WrongFeedError",
    );
    // A stranger proves membership of a tree that holds them: its root was never the group's.
    const forged = new Group([...group.group().members, stranger.commitment]);
    await rejects(await encodeUpload(await makeUpload(stranger, published(seed, 2), forged)), "UnknownRootError");
  });

  it("rejects a malformed block (a number where key bytes belong) and an oversized one", async () => {
    const value = decodeCbor(firstBlock.bytes) as Record<string, unknown>;
    const swap = (v: unknown): unknown => {
      if (v instanceof Uint8Array) return 7;
      if (Array.isArray(v)) return v.map((x, i) => (i === 0 ? swap(x) : x));
      if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
        const k = Object.keys(out).find((key) => out[key] instanceof Uint8Array || Array.isArray(out[key]));
        if (k !== undefined) out[k] = swap(out[k]);
        return out;
      }
      return v;
    };
    // The first byte string inside the keys array (a key's 16 bytes) becomes the number 7.
    const keysField = Object.keys(value).find((k) => Array.isArray(value[k]) && (value[k] as unknown[]).length === 14) as string;
    expect(keysField, "the upload's keys array").to.be.a("string");
    await rejects(await encodeBlock({ ...value, [keysField]: swap(value[keysField]) }), "MalformedExposureDocumentError");
    await rejects(await encodeBlock({ not: "an upload" }), "MalformedExposureDocumentError");
    const big = randomBytes(MAX_UPLOAD_BLOCK_BYTES * 2);
    await rejects({ cid: CID.createV1(0x71, await sha256.digest(big)), bytes: big }, "ExposureDocumentTooLargeError");
  });

  it("judges again a CID whose block was unavailable when it is announced again with the block reachable", async () => {
    const block = await encodeUpload(await makeUpload(members[2]!.identity, published(members[2]!.seed, 4), group.group()));
    const before = { feed: await feedState(), queued: server.queuedKeys };
    // Announced while no node holds the block: unavailable, and nothing else changes.
    let rejected: UploadRejected | undefined;
    const off = server.on("upload:rejected", (r) => {
      rejected = r;
    });
    server.announce(new TextEncoder().encode(block.cid.toString()));
    await server.drain();
    off();
    expect(rejected?.reason).to.equal("BlockUnavailableError");
    expect(server.queuedKeys).to.equal(before.queued);
    expect(await feedState()).to.deep.equal(before.feed);
    // Announced again once the user's node holds it: fetched, checked, accepted.
    expect((await offer(block)).accepted).to.equal(true);
    const [batch] = await server.publish();
    expect(batch).to.include({ seq: 3, keys: 4 });
  });

  it("refuses an upload holding a key of another's pending upload (DuplicateKeyError), and the feed still publishes", async () => {
    const victim = members[3]!;
    const thief = members[4]!;
    const victimKeys = published(victim.seed);
    const victimBlock = await encodeUpload(await makeUpload(victim.identity, victimKeys, group.group()));
    expect((await offer(victimBlock)).accepted).to.equal(true);
    // The victim's block is public while it waits to be published: the thief, an admitted member, puts one of its
    // keys in place of its own key of that day, then the same bytes as a key of another day.
    const own = published(thief.seed);
    const stolen = own.map((k, i) => (i === 5 ? victimKeys[5]! : k));
    let r = await rejects(await encodeUpload(await makeUpload(thief.identity, stolen, group.group())), "DuplicateKeyError");
    expect(r.message).to.match(/keys\[5\].*already queued/);
    const moved = own.map((k, i) => (i === 9 ? { ...k, key: victimKeys[2]!.key } : k));
    r = await rejects(await encodeUpload(await makeUpload(thief.identity, moved, group.group())), "DuplicateKeyError");
    expect(r.message).to.match(/keys\[9\]/);
    // Its own keys alone are welcome (the refusals used no nullifier), and the next batch holds both uploads.
    expect((await offer(await encodeUpload(await makeUpload(thief.identity, own, group.group())))).accepted).to.equal(true);
    const [batch] = await server.publish();
    expect(batch).to.include({ seq: 4, keys: 28 });
    const keys = decodeKeyBatch(await getBlock(serverNode.blockstore, CID.parse(batch!.cid), { maxBytes: 1 << 20 }), authority).keys;
    expect(new Set(keys.map((k) => hexlify(k.key))).size).to.equal(28);
  });

  it("refuses a member's re-upload of published keys with a milder report type (DuplicateKeyError): no suppression", async () => {
    // members[0]'s keys are in batch 1 as confirmed tests; a copy as a recursive report, no onset, would be the one a
    // matcher that keeps the first or the mildest copy reads.
    const milder = firstUpload.keys.map((k) => ({ ...k, reportType: "recursive" as const, daysSinceOnsetOfSymptoms: null }));
    const r = await rejects(await encodeUpload(await makeUpload(members[5]!.identity, milder, group.group())), "DuplicateKeyError");
    expect(r.message).to.match(/already published/);
    // One copied key among the member's own is refused as well.
    const own = published(members[5]!.seed).map((k, i) =>
      i === 0 ? { ...firstUpload.keys[0]!, reportType: "confirmed-test" as const } : k,
    );
    await rejects(await encodeUpload(await makeUpload(members[5]!.identity, own, group.group())), "DuplicateKeyError");
    expect(await server.publish()).to.deep.equal([]);
  });

  it("publishes a queue that holds a key twice (a journal from before the duplicate check) once, dropping the copy", async () => {
    // Two accepted uploads for the other feed sharing a key, as a server without the check journalled them.
    const journalFile = path.join(dir, "legacy.jsonl");
    const wire = (k: PublishedKey) => ({ ...k, key: hexlify(k.key) });
    const a = published(members[6]!.seed);
    const b = [a[3]!, ...published(randomBytes(32), 2)];
    const cidA = (await encodeBlock({ legacy: "a" })).cid.toString();
    const cidB = (await encodeBlock({ legacy: "b" })).cid.toString();
    const period = uploadPeriod(now);
    await writeFile(
      journalFile,
      [
        { e: "announced", cid: cidA },
        { e: "accepted", cid: cidA, period, nullifier: "11", keys: a.map(wire) },
        { e: "announced", cid: cidB },
        { e: "accepted", cid: cidB, period, nullifier: "12", keys: b.map(wire) },
      ]
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(""),
    );
    const legacy = createKeyServer(
      { ipfs: serverNode, feeds, group, signer: chain.accounts[1]!, verifier, log: createLogger("key-server", "error") },
      { feedId: otherFeedId, chainId: chain.chainId, batchEveryMs: 3_600_000, journalFile, now: () => now },
    );
    await legacy.start();
    try {
      expect(legacy.queuedKeys).to.equal(17);
      const [batch] = await legacy.publish();
      expect(batch).to.include({ seq: 1, keys: 16 });
      expect(batch!.uploads).to.deep.equal([cidA, cidB]);
      const keys = decodeKeyBatch(await getBlock(serverNode.blockstore, CID.parse(batch!.cid), { maxBytes: 1 << 20 }), authority).keys;
      expect(keys.map((k) => hexlify(k.key))).to.deep.equal([...a, ...b.slice(1)].map((k) => hexlify(k.key)));
      expect(legacy.queuedKeys).to.equal(0);
      expect(await legacy.publish()).to.deep.equal([]);
    } finally {
      await legacy.stop();
    }
  });

  it("takes a flood of junk announcements with bounded fetches, queue and memory, journals none, and still accepts an upload", async () => {
    // The server's blockstore, counting the block fetches under way.
    let fetching = 0;
    let mostFetching = 0;
    const blockstore = serverNode.blockstore;
    const counted = new Proxy(blockstore, {
      get(target, prop) {
        if (prop === "get")
          return (cid: CID, options?: { signal?: AbortSignal }) =>
            (async function* () {
              mostFetching = Math.max(mostFetching, ++fetching);
              try {
                yield* target.get(cid, options);
              } finally {
                fetching--;
              }
            })();
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const ipfs = new Proxy(serverNode, { get: (t, p) => (p === "blockstore" ? counted : Reflect.get(t, p, t)) });
    const journalFile = path.join(dir, "flood.jsonl");
    let clock = now;
    const flooded = createKeyServer(
      { ipfs, feeds, group, signer: chain.accounts[1]!, verifier, log: createLogger("key-server", "error") },
      {
        feedId: otherFeedId,
        chainId: chain.chainId,
        batchEveryMs: 3_600_000,
        journalFile,
        fetchTimeoutMs: 400,
        maxFetches: 4,
        maxQueuedAnnouncements: 32,
        now: () => clock,
      },
    );
    await flooded.start();
    try {
      const journalled = (await readFile(journalFile, "utf8")).length;
      // 3000 CIDs of blocks nobody holds, each well formed; then a member's honest upload.
      for (let i = 0; i < 3000; i++) {
        const cid = CID.createV1(0x71, await sha256.digest(randomBytes(32)));
        flooded.announce(new TextEncoder().encode(cid.toString()));
      }
      let status = flooded.status();
      expect(status.fetching).to.be.at.most(4);
      expect(status.waiting).to.be.at.most(32);
      expect(status.dropped).to.deep.equal({ "queue-full": 3000 - 32 - 4 });
      const honest = await encodeUpload(await makeUploadFor(otherFeedId, members[6]!.identity, published(members[6]!.seed)));
      const verdict = await offer(honest, flooded);
      expect(verdict.accepted, verdict.rejected?.message).to.equal(true);
      expect(mostFetching, "block fetches at once").to.be.at.most(4);
      status = flooded.status();
      expect(status).to.include({ fetching: 0, waiting: 0, pending: 0, remembered: 1, nullifiers: 1, knownKeys: 14, queuedKeys: 14 });
      expect(flooded.rejected.BlockUnavailableError).to.equal(32 + 4 + 1 - 1);
      // Nothing of the junk is journalled: one line, the accepted upload.
      const lines = (await readFile(journalFile, "utf8")).slice(journalled).trim().split("\n");
      expect(lines.map((l) => JSON.parse(l).e)).to.deep.equal(["accepted"]);

      // Two periods on (the grace over), the upload's period can never be accepted again, so its nullifier, its CID
      // and keys older than 14 days are forgotten — and announcing the block again is WrongPeriodError, not accepted.
      clock = now + 2 * KEY_RETENTION_DAYS * 86_400 + 7200;
      const again = await offer(honest, flooded);
      expect(again.rejected?.reason).to.equal("WrongPeriodError");
      expect(flooded.status()).to.include({ remembered: 0, nullifiers: 0, knownKeys: 0, queuedKeys: 14, accepted: 1 });
      // A clock stepped back does not reopen the forgotten period: the server's time never goes backwards.
      clock = now;
      const replayed = await offer(honest, flooded);
      expect(replayed.accepted, "a replay after the clock stepped back").to.equal(false);
      expect(replayed.rejected?.reason).to.equal("WrongPeriodError");
      expect(flooded.status()).to.include({ nullifiers: 0, queuedKeys: 14, accepted: 1 });
      clock = now + 2 * KEY_RETENTION_DAYS * 86_400 + 7200;
    } finally {
      await flooded.stop();
    }
    // A restart replays the journal and forgets the same: the queued keys stay (they are still to be published).
    const restarted = createKeyServer(
      { ipfs: serverNode, feeds, group, signer: chain.accounts[1]!, verifier, log: createLogger("key-server", "error") },
      { feedId: otherFeedId, chainId: chain.chainId, batchEveryMs: 3_600_000, journalFile, now: () => clock },
    );
    await restarted.start();
    expect(restarted.status()).to.include({ remembered: 0, nullifiers: 0, knownKeys: 0, queuedKeys: 14, accepted: 1 });
    await restarted.stop();
  });

  it("refuses to start with a signer that is not the feed's authority", async () => {
    const stranger = createKeyServer(
      { ipfs: serverNode, feeds, group, signer: chain.accounts[2]!, verifier, log: createLogger("key-server", "error") },
      { feedId, chainId: chain.chainId, journalFile: path.join(dir, "stranger.jsonl") },
    );
    await expectRejects(stranger.start(), NotFeedAuthorityError, /is not feed 1's authority/);
  });

  it("remembers accepted nullifiers across a restart: a replay after it is still UploadReplayedError", async () => {
    await server.stop();
    server = await startServer(path.join(dir, "key-server.jsonl"));
    expect(server.status().accepted).to.equal(5);
    expect(server.lastBatch?.seq).to.equal(4);
    const again = await makeUpload(members[1]!.identity, published(members[1]!.seed, 2), group.group());
    await rejects(await encodeUpload(again), "UploadReplayedError");
    // The keys it published are known again from the journal: a copy is still DuplicateKeyError.
    const copied = published(members[5]!.seed).map((k, i) => (i === 7 ? published(members[3]!.seed)[7]! : k));
    await rejects(await encodeUpload(await makeUpload(members[5]!.identity, copied, group.group())), "DuplicateKeyError");
    expect(await server.publish()).to.deep.equal([]);
  });
});
