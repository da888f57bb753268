// JobRegistry's, ReducerDirectory's, SharedJobs', ExposureFeeds' and AlertFeeds' gas, held to the committed snapshot test/contracts/gas-snapshot.json: a figure may not grow more
// than 5% unnoticed, the lifecycle may not depend on the leaf count and stays under 500k, and every fraud proof (and
// the settlement of an unanswered data request, which faults too) stays under its target.
// UPDATE_GAS_SNAPSHOT=1 rewrites the snapshot with the figures measured (review the diff before committing it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Group, Identity } from "@mosaic/avatar";
import { deployMosaic, SHARED_JOB_ID_BASE } from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, type ContractTransactionResponse, getBytes, keccak256, parseEther, type Signer, toUtf8Bytes, Wallet } from "ethers";
import { network } from "hardhat";
import { type ShareLeaf, shareSetPath, shareSetRoot } from "../../packages/mapreduce/src/shared/share-set.js";
import {
  DATA_FIGURES,
  FRAUD_FIGURES,
  FRAUD_TARGET,
  LIFECYCLE_SIZES,
  lifecycleSpread,
  measureGas,
  TARGETED_FIGURES,
} from "../../bench/lib/gas.js";
import { anyOrderShareSet, proveShareLeaf, shareLeafArg, SPEC_DIGEST } from "./fixture.js";

const SNAPSHOT = fileURLToPath(new URL("./gas-snapshot.json", import.meta.url));
const SNAPSHOT_NAME = "test/contracts/gas-snapshot.json";
/** How much a figure may grow over the snapshot before the test fails. */
const TOLERANCE = 0.05;
/** How far apart the lifecycle figures at 10, 1,000 and 100,000 leaves may be: calldata bytes, not work. */
const MAX_SPREAD = 1_000;
/** Issue 15: a job's whole honest lifecycle (post, commit, reveal, finalise, withdraw) under 500k gas. */
const LIFECYCLE_TARGET = 500_000;

/** ReducerDirectory's figures: what each call costs an operator (or a pruner). */
const DIRECTORY_FIGURES = [
  "gas.directory_announce",
  "gas.directory_announce_update",
  "gas.directory_announce_max",
  "gas.directory_withdraw",
  "gas.directory_prune",
] as const;

/**
 * ReducerDirectory's gas on a fresh in-process chain: a first announce with two typical multiaddrs, replacing it with
 * two others, the largest record the contract takes (8 multiaddrs of 256 bytes) replacing a small one, a withdraw and
 * a prune (each of a two-multiaddr record, with another operator moved into its position).
 */
async function measureDirectoryGas(): Promise<Record<string, number>> {
  const connection = await network.connect();
  try {
    const [deployer, a, b, c] = (await connection.ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer];
    const mosaic = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    const directory = mosaic.reducerDirectory;
    for (const op of [a, b, c]) await (await mosaic.jobRegistry.connect(op).stake({ value: parseEther("1") })).wait();
    const gasOf = async (sent: Promise<ContractTransactionResponse>) => Number((await (await sent).wait())?.gasUsed);
    const peerId = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    const addrs = (host: string) => [`/ip4/${host}/tcp/4001/p2p/${peerId}`, `/ip4/${host}/tcp/4002/ws/p2p/${peerId}`];
    const figures: Record<string, number> = {};
    figures["gas.directory_announce"] = await gasOf(directory.connect(a).announce(peerId, addrs("203.0.113.7")));
    figures["gas.directory_announce_update"] = await gasOf(directory.connect(a).announce(peerId, addrs("203.0.113.8")));
    await (await directory.connect(b).announce(peerId, addrs("198.51.100.2"))).wait();
    await (await directory.connect(c).announce(peerId, ["/ip4/192.0.2.1/tcp/1"])).wait();
    const largest = Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(244)}/tcp/1`);
    figures["gas.directory_announce_max"] = await gasOf(directory.connect(c).announce("Q".repeat(128), largest));
    figures["gas.directory_withdraw"] = await gasOf(directory.connect(a).withdraw());
    await (await mosaic.jobRegistry.connect(b).requestUnstake(parseEther("1"))).wait();
    figures["gas.directory_prune"] = await gasOf(directory.connect(deployer).prune(await b.getAddress()));
    return figures;
  } finally {
    await connection.close();
  }
}

/** SharedJobs' figures: each call of a shared job's life, the largest commitment, and both fraud proofs. */
const SHARED_FIGURES = [
  "gas.shared_set_key",
  "gas.shared_post",
  "gas.shared_announce",
  "gas.shared_commit",
  "gas.shared_commit_second",
  "gas.shared_reveal",
  "gas.shared_reveal_second",
  "gas.shared_reveal_max",
  "gas.shared_finalize",
  "gas.shared_refund_missing",
  "gas.shared_refund_withheld",
  "gas.shared_withdraw",
  "gas.shared_fraud_order",
  "gas.shared_fraud_proof",
] as const;

/**
 * SharedJobs' gas on a fresh in-process chain: a Field128 job of 24 entries over 4 reports (two commitments by hash,
 * then two reveals: the first writes the packed sum, the second adds into it), a 256-entry reveal, a refund with an
 * aggregator missing, one with a share withheld (the withholder slashed), and the two fraud proofs on a 4-leaf set
 * (the proof one on a real Semaphore proof for another job, so the verifier runs in full).
 */
async function measureSharedGas(): Promise<Record<string, number>> {
  const connection = await network.connect();
  try {
    const { ethers, networkHelpers } = connection;
    const signers = (await ethers.getSigners()) as unknown as Signer[];
    const [deployer, researcher, a0, a1, challenger] = signers as [Signer, Signer, Signer, Signer, Signer];
    const mosaic = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    const shared = mosaic.sharedJobs;
    const bond = await shared.commitBond();
    const gasOf = async (sent: Promise<ContractTransactionResponse>) => Number((await (await sent).wait())?.gasUsed);
    const figures: Record<string, number> = {};
    await (await mosaic.avatarGroups.createGroup("avatars", mosaic.addresses.openAdmission, "0x")).wait();
    const members = [0, 1, 2, 3].map((i) => new Identity(`gas member ${i}`));
    for (const [i, m] of members.entries())
      await (await mosaic.avatarGroups.connect(signers[10 + i] as Signer).register(0n, m.commitment, "0x")).wait();
    for (const s of [a0, a1]) await (await mosaic.jobRegistry.connect(s).stake({ value: parseEther("1") })).wait();
    figures["gas.shared_set_key"] = await gasOf(shared.connect(a0).setAggregatorKey(`0x${"2a".repeat(32)}`));
    await (await shared.connect(a1).setAggregatorKey(`0x${"3b".repeat(32)}`)).wait();
    const aggregators: [string, string] = [await a0.getAddress(), await a1.getAddress()];
    const post = async (length: number) =>
      shared
        .connect(researcher)
        .postSharedJob(
          SPEC_DIGEST,
          0n,
          2,
          BigInt(await networkHelpers.time.latest()) + 600n,
          120n,
          parseEther("1"),
          length,
          1,
          aggregators,
          {
            value: parseEther("1"),
          },
        );
    const share = (length: number, seed: bigint) =>
      Array.from({ length }, (_, j) => (seed * 0x9e3779b97f4a7c15n ** BigInt(j + 1)) % (1n << 120n));
    const salt = keccak256(toUtf8Bytes("gas salt"));
    /** commitShare's shareHash: keccak256(abi.encode(uint256 jobId, uint8 index, uint256[] noisedShare, bytes32 salt)). */
    const hashOf = (jobId: bigint, index: number, noised: bigint[]) =>
      keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint8", "uint256[]", "bytes32"], [jobId, index, noised, salt]));

    const job = { chainId: (await ethers.provider.getNetwork()).chainId, registry: mosaic.addresses.sharedJobs as string, jobId: 0n };
    const group = new Group(members.map((m) => m.commitment));
    figures["gas.shared_post"] = await gasOf(post(24));
    const id = SHARED_JOB_ID_BASE + 1n;
    const leaves: ShareLeaf[] = [];
    for (const [i, m] of members.entries()) leaves.push(await proveShareLeaf(m, group, { ...job, jobId: id }, BigInt(i + 1)));
    leaves.sort((a, b) => (a.nullifier < b.nullifier ? -1 : 1));
    const root = shareSetRoot(leaves);
    await (await post(256)).wait();
    await (await post(3)).wait();
    await (await post(3)).wait();
    await (await post(256)).wait();
    await networkHelpers.time.increase(600);
    figures["gas.shared_announce"] = await gasOf(
      shared.connect(a0).announcePrep(id, "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74"),
    );
    figures["gas.shared_commit"] = await gasOf(
      shared.connect(a0).commitShare(id, root, 4, hashOf(id, 0, share(24, 3n)), "bafybundle0", { value: bond }),
    );
    figures["gas.shared_commit_second"] = await gasOf(
      shared.connect(a1).commitShare(id, root, 4, hashOf(id, 1, share(24, 5n)), "bafybundle1", { value: bond }),
    );
    figures["gas.shared_reveal"] = await gasOf(shared.connect(a0).revealShare(id, share(24, 3n), salt));
    figures["gas.shared_reveal_second"] = await gasOf(shared.connect(a1).revealShare(id, share(24, 5n), salt));
    await (
      await shared.connect(a0).commitShare(id + 1n, root, 4, hashOf(id + 1n, 0, share(256, 7n)), "bafybundle0", { value: bond })
    ).wait();
    // Job 5: both commit 256 entries, aggregator 0 reveals, aggregator 1 withholds.
    await (
      await shared.connect(a0).commitShare(id + 4n, root, 4, hashOf(id + 4n, 0, share(256, 7n)), "bafybundle0", { value: bond })
    ).wait();
    await (
      await shared.connect(a1).commitShare(id + 4n, root, 4, hashOf(id + 4n, 1, share(256, 9n)), "bafybundle1", { value: bond })
    ).wait();
    figures["gas.shared_reveal_max"] = await gasOf(shared.connect(a0).revealShare(id + 4n, share(256, 7n), salt));
    // Job 3: aggregator 1's set out of order; job 4: the proofs of job 1's reports, whose scope is not job 4's (valid
    // points, so the verifier's pairing runs in full before it answers false).
    const swapped = anyOrderShareSet([leaves[0], leaves[2], leaves[1], leaves[3]] as ShareLeaf[]);
    await (
      await shared.connect(a1).commitShare(id + 2n, swapped.root, 4, hashOf(id + 2n, 1, share(3, 1n)), "bafybad", { value: bond })
    ).wait();
    await (await shared.connect(a1).commitShare(id + 3n, root, 4, hashOf(id + 3n, 1, share(3, 1n)), "bafybad", { value: bond })).wait();
    figures["gas.shared_fraud_order"] = await gasOf(
      shared
        .connect(challenger)
        .challengeShareOrder(
          id + 2n,
          1,
          1,
          shareLeafArg(leaves[2] as ShareLeaf),
          swapped.path(1),
          shareLeafArg(leaves[1] as ShareLeaf),
          swapped.path(2),
        ),
    );
    figures["gas.shared_fraud_proof"] = await gasOf(
      shared.connect(challenger).challengeShareProof(id + 3n, 1, 3, shareLeafArg(leaves[3] as ShareLeaf), shareSetPath(leaves, 3)),
    );
    await networkHelpers.time.increase(240);
    figures["gas.shared_finalize"] = await gasOf(shared.finalize(id));
    figures["gas.shared_refund_missing"] = await gasOf(shared.finalize(id + 1n));
    figures["gas.shared_refund_withheld"] = await gasOf(shared.finalize(id + 4n));
    figures["gas.shared_withdraw"] = await gasOf(shared.connect(a1).withdraw());
    return figures;
  } finally {
    await connection.close();
  }
}

/** ExposureFeeds' figures: what a health authority pays to run its feed (issue 20). */
const EXPOSURE_FIGURES = [
  "gas.exposure_create_feed",
  "gas.exposure_publish_keys_first",
  "gas.exposure_publish_keys",
  "gas.exposure_set_risk_config",
  "gas.exposure_publish_hotspots",
  "gas.exposure_transfer_feed",
] as const;

/** ExposureFeeds' gas on a fresh in-process chain: a feed on a registrar group, two key batches, the two documents, a transfer. */
async function measureExposureGas(): Promise<Record<string, number>> {
  const connection = await network.connect();
  try {
    const [deployer, authority, successor] = (await connection.ethers.getSigners()) as unknown as [Signer, Signer, Signer];
    const mosaic = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    const feeds = mosaic.exposureFeeds.connect(authority);
    const gasOf = async (sent: Promise<ContractTransactionResponse>) => Number((await (await sent).wait())?.gasUsed);
    const config = AbiCoder.defaultAbiCoder().encode(["address"], [await authority.getAddress()]);
    await (await mosaic.avatarGroups.createGroup("positives", mosaic.addresses.registrarAdmission, config)).wait();
    // A CIDv1 dag-cbor sha-256 in binary, as the CLI anchors it: 36 bytes.
    const cid = (i: number) => `0x01711220${i.toString(16).padStart(2, "0").repeat(32)}`;
    const figures: Record<string, number> = {};
    // Group 0 is the positives group; feed ids start at 1.
    figures["gas.exposure_create_feed"] = await gasOf(feeds.createFeed(0n));
    figures["gas.exposure_publish_keys_first"] = await gasOf(feeds.publishKeys(1n, 1n, cid(1), 140));
    figures["gas.exposure_publish_keys"] = await gasOf(feeds.publishKeys(1n, 2n, cid(2), 140));
    figures["gas.exposure_set_risk_config"] = await gasOf(feeds.setRiskConfig(1n, cid(3)));
    figures["gas.exposure_publish_hotspots"] = await gasOf(feeds.publishHotspots(1n, cid(4)));
    figures["gas.exposure_transfer_feed"] = await gasOf(feeds.transferFeed(1n, await successor.getAddress()));
    return figures;
  } finally {
    await connection.close();
  }
}

/** AlertFeeds' figures: what a public body's editors pay to run a 2-of-3 feed (issue 21); anyone may relay. */
const ALERT_FIGURES = ["gas.alerts_create_feed", "gas.alerts_anchor_first", "gas.alerts_anchor", "gas.alerts_set_editors"] as const;

/** AlertFeeds' gas on a fresh in-process chain: a feed of 3 editors at threshold 2, two entries each signed by 2, a rotation signed by 2. */
async function measureAlertGas(): Promise<Record<string, number>> {
  const connection = await network.connect();
  try {
    const [deployer] = (await connection.ethers.getSigners()) as unknown as [Signer];
    const mosaic = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    const feeds = mosaic.alertFeeds;
    const gasOf = async (sent: Promise<ContractTransactionResponse>) => Number((await (await sent).wait())?.gasUsed);
    // Editors sign off-chain (fixed keys, no funds); sorted by address as the contract wants them.
    const editors = [1, 2, 3, 4]
      .map((i) => new Wallet(keccak256(toUtf8Bytes(`gas editor ${i}`))))
      .sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1));
    const [e1, e2, e3, e4] = editors as [Wallet, Wallet, Wallet, Wallet];
    const sign = (digest: string, signers: Wallet[]) => Promise.all(signers.map((w) => w.signMessage(getBytes(digest))));
    // A CIDv1 dag-cbor sha-256 in binary, as @mosaic/alerts anchors entries: 36 bytes.
    const cid = (i: number) => `0x01711220${i.toString(16).padStart(2, "0").repeat(32)}`;
    const anchor = async (seq: bigint) =>
      gasOf(feeds.anchor(1n, seq, cid(Number(seq)), await sign(await feeds.entryDigest(1n, 0n, seq, cid(Number(seq))), [e1, e3])));
    const figures: Record<string, number> = {};
    figures["gas.alerts_create_feed"] = await gasOf(feeds.createFeed([e1.address, e2.address, e3.address], 2));
    figures["gas.alerts_anchor_first"] = await anchor(1n);
    figures["gas.alerts_anchor"] = await anchor(2n);
    const next = [e2.address, e3.address, e4.address];
    figures["gas.alerts_set_editors"] = await gasOf(
      feeds.setEditors(1n, next, 2, await sign(await feeds.editorsDigest(1n, 0n, next, 2), [e1, e2])),
    );
    return figures;
  } finally {
    await connection.close();
  }
}

describe("JobRegistry, ReducerDirectory, SharedJobs, ExposureFeeds and AlertFeeds gas", () => {
  let measured: Record<string, number>;
  let snapshot: Record<string, number>;
  before(async function () {
    this.timeout(300_000);
    measured = {
      ...(await measureGas()),
      ...(await measureDirectoryGas()),
      ...(await measureSharedGas()),
      ...(await measureExposureGas()),
      ...(await measureAlertGas()),
    };
    if (process.env.UPDATE_GAS_SNAPSHOT === "1") writeFileSync(SNAPSHOT, `${JSON.stringify(measured, null, 2)}\n`);
    snapshot = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, number>;
    console.log(`      measured: ${JSON.stringify(measured)}`);
  });

  it("test_gas_everyFigureInSnapshot_noneGrewOver5Percent", () => {
    const problems: string[] = [];
    for (const name of [
      ...Object.keys(FRAUD_FIGURES),
      ...Object.keys(DATA_FIGURES),
      ...DIRECTORY_FIGURES,
      ...SHARED_FIGURES,
      ...EXPOSURE_FIGURES,
      ...ALERT_FIGURES,
    ])
      if (measured[name] === undefined) problems.push(`${name}: not measured`);
    // A renamed or dropped figure must not linger in the snapshot.
    for (const name of Object.keys(snapshot))
      if (measured[name] === undefined) problems.push(`${name}: in ${SNAPSHOT_NAME} but no longer measured; remove it`);
    for (const [name, now] of Object.entries(measured)) {
      const old = snapshot[name];
      if (old === undefined) {
        problems.push(`${name}: missing from ${SNAPSHOT_NAME} (measured ${now}); add it`);
        continue;
      }
      if (now > old * (1 + TOLERANCE))
        problems.push(
          `${name}: grew from ${old} to ${now} gas (+${(((now - old) / old) * 100).toFixed(1)}%); update ${SNAPSHOT_NAME} if the growth is intended (UPDATE_GAS_SNAPSHOT=1 rewrites it)`,
        );
      else if (now < old * (1 - TOLERANCE)) console.log(`      ${name} fell from ${old} to ${now} gas: consider updating ${SNAPSHOT_NAME}`);
    }
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });

  it("test_gas_lifecycle_independentOfLeafCount", () => {
    for (const n of LIFECYCLE_SIZES) expect(measured[`gas.lifecycle_n${n}`], `gas.lifecycle_n${n}`).to.be.a("number");
    expect(lifecycleSpread(measured), "spread of the lifecycle figures").to.be.at.most(MAX_SPREAD);
  });

  it("test_gas_lifecycle_under500k", () => {
    for (const n of LIFECYCLE_SIZES) expect(measured[`gas.lifecycle_n${n}`], `gas.lifecycle_n${n}`).to.be.at.most(LIFECYCLE_TARGET);
  });

  it("test_gas_finalizeWorst_farBelowTheBlockCap", () => {
    // The most proposals and data requests the rules allow: finalisation stays a small part of a 16.7M-gas transaction.
    expect(measured["gas.finalize_worst"], "gas.finalize_worst").to.be.a("number").and.at.most(1_000_000);
  });

  it("test_gas_fraudProofs_under600k", () => {
    for (const name of TARGETED_FIGURES) {
      expect(measured[name], name).to.be.a("number");
      expect(measured[name], name).to.be.at.most(FRAUD_TARGET);
    }
  });

  it("test_gas_directory_boundedAndCheap", () => {
    for (const name of DIRECTORY_FIGURES) expect(measured[name], name).to.be.a("number").and.greaterThan(0);
    // The largest record (about 2.2 KB in 80 storage slots) is bounded by the contract's limits: under 7% of a
    // 30M-gas block, paid once by the operator that chose to write it.
    expect(measured["gas.directory_announce_max"], "gas.directory_announce_max").to.be.at.most(2_000_000);
    // Removing a record refunds storage: cheaper than writing it.
    for (const name of ["gas.directory_withdraw", "gas.directory_prune"] as const)
      expect(measured[name], name).to.be.below(measured["gas.directory_announce"] as number);
  });

  it("test_gas_shared_fraudProofsUnder600kAndCommitmentsBounded", () => {
    for (const name of SHARED_FIGURES) expect(measured[name], name).to.be.a("number").and.greaterThan(0);
    for (const name of ["gas.shared_fraud_order", "gas.shared_fraud_proof"] as const)
      expect(measured[name], name).to.be.at.most(FRAUD_TARGET);
    // The sum is packed (two Field128 elements a word): the largest share, 256 entries, stays a small part of a block.
    expect(measured["gas.shared_reveal_max"], "gas.shared_reveal_max").to.be.at.most(4_000_000);
    // The second reveal adds into the words the first wrote.
    expect(measured["gas.shared_reveal_second"], "gas.shared_reveal_second").to.be.below(measured["gas.shared_reveal"] as number);
    // A commitment is a hash now, whatever the share's length.
    expect(measured["gas.shared_commit"], "gas.shared_commit").to.be.at.most(250_000);
  });

  it("test_gas_exposure_aBatchHeadCostsAbout100kWhateverItsKeys", () => {
    for (const name of EXPOSURE_FIGURES) expect(measured[name], name).to.be.a("number").and.greaterThan(0);
    // A batch anchors one CID and a count, never keys: a later batch rewrites the same slots.
    expect(measured["gas.exposure_publish_keys_first"], "gas.exposure_publish_keys_first").to.be.at.most(150_000);
    expect(measured["gas.exposure_publish_keys"], "gas.exposure_publish_keys").to.be.below(
      measured["gas.exposure_publish_keys_first"] as number,
    );
  });

  it("test_gas_alerts_anAnchorIsAFewSlotsWhateverTheAlert", () => {
    for (const name of ALERT_FIGURES) expect(measured[name], name).to.be.a("number").and.greaterThan(0);
    // An anchor writes the seq and a 36-byte CID and checks 2 signatures; a later one rewrites the same slots.
    expect(measured["gas.alerts_anchor_first"], "gas.alerts_anchor_first").to.be.at.most(160_000);
    expect(measured["gas.alerts_anchor"], "gas.alerts_anchor").to.be.below(measured["gas.alerts_anchor_first"] as number);
    // An editor set is written once per epoch: 3 editors, each in the list and the membership map.
    expect(measured["gas.alerts_create_feed"], "gas.alerts_create_feed").to.be.at.most(300_000);
    expect(measured["gas.alerts_set_editors"], "gas.alerts_set_editors").to.be.at.most(300_000);
  });
});
