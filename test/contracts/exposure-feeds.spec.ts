// ExposureFeeds on Hardhat's in-process network: a health authority's feed on its registrar group, key-batch heads in
// sequence, risk configuration and hotspot CIDs. Every hostile call — a stranger, a group that is not the caller's
// registrar group, a stale, replayed, skipped or copied publishKeys, an empty or oversized CID, an unknown feed — is
// its named error, and the contract holds exactly what it held before.
import { createAvatarGroup } from "@mosaic/avatar";
import {
  deployMosaic,
  type ExposureFeeds,
  findEvent,
  type MosaicContracts,
  RegistrarAdmission__factory,
  specCidOf,
} from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, hexlify, keccak256, type Signer, toUtf8Bytes } from "ethers";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

describe("ExposureFeeds", () => {
  let ethers: Connection["ethers"];
  let c: MosaicContracts & { exposureFeeds: ExposureFeeds };
  let feeds: ExposureFeeds;
  let deployer: Signer, authority: Signer, other: Signer, stranger: Signer;
  let authorityAddr: string, otherAddr: string, strangerAddr: string;
  /** A registrar group whose registrar is `authority`, one whose registrar is `other`, and an open group. */
  let positives: bigint, othersGroup: bigint, openGroup: bigint;
  const gasFigures: Record<string, bigint> = {};

  before(async () => {
    ({ ethers } = await network.connect());
  });

  beforeEach(async () => {
    [deployer, authority, other, stranger] = (await ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer];
    [authorityAddr, otherAddr, strangerAddr] = (await Promise.all([authority, other, stranger].map((s) => s.getAddress()))) as [
      string,
      string,
      string,
    ];
    c = await deployMosaic(deployer);
    feeds = c.exposureFeeds;
    positives = await createAvatarGroup(c, { name: "positives", policy: "registrar", registrar: authorityAddr });
    othersGroup = await createAvatarGroup(c, { name: "another authority's", policy: "registrar", registrar: otherAddr });
    openGroup = await createAvatarGroup(c, { name: "panel", policy: "open" });
  });

  after(() => {
    if (Object.keys(gasFigures).length > 0)
      console.log(
        "      ExposureFeeds gas:",
        JSON.stringify(gasFigures, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
      );
  });

  /** Everything the contract holds for feeds 0..3, in a comparable form: each feed's record and who anchored each batch. */
  async function snapshot(): Promise<string> {
    const state: unknown[] = [await feeds.feedCount()];
    for (let id = 1n; id <= 3n; id++) {
      if (id > (await feeds.feedCount())) {
        state.push(null);
        continue;
      }
      const record = [...(await feeds.feedOf(id))];
      const signers: string[] = [];
      for (let seq = 1n; seq <= (record[2] as bigint); seq++) signers.push(await feeds.authorityAt(id, seq));
      state.push([record, signers]);
    }
    return JSON.stringify(state, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  }

  async function expectRevert(call: () => Promise<unknown>, error: string, args: unknown[]): Promise<void> {
    const before = await snapshot();
    await expect(call())
      .to.be.revertedWithCustomError(feeds, error)
      .withArgs(...args);
    expect(await snapshot(), `${error} left the feeds unchanged`).to.equal(before);
  }

  async function createFeed(as: Signer = authority, groupId = positives): Promise<bigint> {
    const receipt = await (await feeds.connect(as).createFeed(groupId)).wait();
    return findEvent(receipt, feeds.interface, "FeedCreated").args.feedId as bigint;
  }

  async function feed(id: bigint) {
    const [auth, groupId, seq, head, riskConfig, hotspots] = await feeds.feedOf(id);
    return { authority: auth, groupId, seq, head, riskConfig, hotspots };
  }

  /** A CID in binary form: CIDv1 dag-cbor sha2-256 of `seed` (36 bytes), as the exposure package anchors them. */
  const cid = (seed: number): Uint8Array => specCidOf(keccak256(toUtf8Bytes(`batch ${seed}`))).bytes;

  it("test_deployMosaic_feedsReadTheGroupsAndRegistrarAdmission", async () => {
    expect(c.addresses.exposureFeeds).to.equal(await feeds.getAddress());
    expect(await feeds.avatarGroups()).to.equal(c.addresses.avatarGroups);
    expect(await feeds.registrarAdmission()).to.equal(c.addresses.registrarAdmission);
    expect(await feeds.feedCount()).to.equal(0n);
    expect(await feeds.MAX_CID_LENGTH()).to.equal(64n);
    expect(await feeds.MAX_BATCH_KEYS()).to.equal(10_000n);
  });

  describe("createFeed", () => {
    it("test_createFeed_registrar_opensFeedAndEmits", async () => {
      const tx = feeds.connect(authority).createFeed(positives);
      await expect(tx).to.emit(feeds, "FeedCreated").withArgs(1n, authorityAddr, positives);
      gasFigures.createFeed = (await (await tx).wait())?.gasUsed ?? 0n;
      expect(await feeds.feedCount()).to.equal(1n);
      expect(await feed(1n)).to.deep.equal({
        authority: authorityAddr,
        groupId: positives,
        seq: 0n,
        head: "0x",
        riskConfig: "0x",
        hotspots: "0x",
      });
      // Ids count on: a second feed (same registrar, same group) is 2.
      expect(await createFeed(authority)).to.equal(2n);
    });

    it("test_createFeed_notTheGroupsRegistrar_reverts", async () => {
      await expectRevert(() => feeds.connect(stranger).createFeed(positives), "NotGroupRegistrar", [
        positives,
        strangerAddr,
        authorityAddr,
      ]);
      // Another authority's group: a registrar group, but not this caller's.
      await expectRevert(() => feeds.connect(authority).createFeed(othersGroup), "NotGroupRegistrar", [
        othersGroup,
        authorityAddr,
        otherAddr,
      ]);
    });

    it("test_createFeed_openGroup_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).createFeed(openGroup), "NotRegistrarGroup", [openGroup, c.addresses.openAdmission]);
    });

    it("test_createFeed_unknownGroup_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).createFeed(999n), "NotRegistrarGroup", [999n, ethers.ZeroAddress]);
    });

    it("test_createFeed_groupUnderAnotherRegistrarAdmission_reverts", async () => {
      // The attacker deploys its own RegistrarAdmission (serving the same AvatarGroups) and names itself registrar of a
      // group under it: registrarOf there says the attacker, but the feed only trusts the deployed policy.
      const fake = await (await new RegistrarAdmission__factory(stranger).deploy(c.addresses.avatarGroups)).waitForDeployment();
      const config = AbiCoder.defaultAbiCoder().encode(["address"], [strangerAddr]);
      const receipt = await (await c.avatarGroups.connect(stranger).createGroup("fake positives", await fake.getAddress(), config)).wait();
      const fakeGroup = findEvent(receipt, c.avatarGroups.interface, "GroupCreated").args.groupId as bigint;
      expect(await fake.registrarOf(fakeGroup)).to.equal(strangerAddr);
      await expectRevert(() => feeds.connect(stranger).createFeed(fakeGroup), "NotRegistrarGroup", [fakeGroup, await fake.getAddress()]);
    });

    it("test_createFeed_afterRegistrarHandedOn_onlyTheNewRegistrar", async () => {
      await (await c.registrarAdmission.connect(authority).setRegistrar(positives, otherAddr)).wait();
      await expectRevert(() => feeds.connect(authority).createFeed(positives), "NotGroupRegistrar", [positives, authorityAddr, otherAddr]);
      expect(await createFeed(other, positives)).to.equal(1n);
    });
  });

  describe("publishKeys", () => {
    let id: bigint;
    beforeEach(async () => {
      id = await createFeed();
    });

    it("test_publishKeys_nextSeq_advancesHeadAndEmits", async () => {
      const tx = feeds.connect(authority).publishKeys(id, 1n, cid(1), 14);
      await expect(tx)
        .to.emit(feeds, "KeysPublished")
        .withArgs(id, 1n, hexlify(cid(1)), 14n);
      gasFigures.publishKeys_first = (await (await tx).wait())?.gasUsed ?? 0n;
      let f = await feed(id);
      expect([f.seq, f.head]).to.deep.equal([1n, hexlify(cid(1))]);
      const tx2 = await feeds.connect(authority).publishKeys(id, 2n, cid(2), 10_000);
      gasFigures.publishKeys_next = (await tx2.wait())?.gasUsed ?? 0n;
      f = await feed(id);
      expect([f.seq, f.head]).to.deep.equal([2n, hexlify(cid(2))]);
      expect(gasFigures.publishKeys_next).to.be.below(100_000n);
    });

    it("test_publishKeys_notAuthority_reverts", async () => {
      await expectRevert(() => feeds.connect(stranger).publishKeys(id, 1n, cid(1), 5), "NotAuthority", [id, strangerAddr, authorityAddr]);
      // Not even the group's other registrars, nor the deployer.
      await expectRevert(() => feeds.connect(deployer).publishKeys(id, 1n, cid(1), 5), "NotAuthority", [
        id,
        await deployer.getAddress(),
        authorityAddr,
      ]);
    });

    it("test_publishKeys_staleReplayedOrSkippedSeq_reverts", async () => {
      await (await feeds.connect(authority).publishKeys(id, 1n, cid(1), 3)).wait();
      await (await feeds.connect(authority).publishKeys(id, 2n, cid(2), 3)).wait();
      // Rolling back to an older head, repeating the current one, skipping ahead, seq 0.
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 1n, cid(9), 3), "StaleSequence", [id, 3n, 1n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 2n, cid(9), 3), "StaleSequence", [id, 3n, 2n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 4n, cid(9), 3), "StaleSequence", [id, 3n, 4n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 0n, cid(9), 3), "StaleSequence", [id, 3n, 0n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 2n ** 64n - 1n, cid(9), 3), "StaleSequence", [
        id,
        3n,
        2n ** 64n - 1n,
      ]);
    });

    it("test_publishKeys_replayedTransaction_reverts", async () => {
      // The authority's own transaction, sent again (a new nonce, the same calldata): the feed already moved past it.
      const sent = await feeds.connect(authority).publishKeys(id, 1n, cid(1), 3);
      await sent.wait();
      await expectRevert(() => authority.sendTransaction({ to: c.addresses.exposureFeeds, data: sent.data }), "StaleSequence", [
        id,
        2n,
        1n,
      ]);
    });

    it("test_publishKeys_copiedTransactionFromAnotherAccount_reverts", async () => {
      // An attacker reads the authority's transaction from the mempool and sends its calldata first, from its own
      // wallet: NotAuthority, and the authority's own transaction then lands.
      const data = feeds.interface.encodeFunctionData("publishKeys", [id, 1n, cid(1), 3]);
      await expectRevert(() => stranger.sendTransaction({ to: c.addresses.exposureFeeds, data }), "NotAuthority", [
        id,
        strangerAddr,
        authorityAddr,
      ]);
      await (await authority.sendTransaction({ to: c.addresses.exposureFeeds, data })).wait();
      expect((await feed(id)).seq).to.equal(1n);
      // Copying it later fails the same way (and is stale besides).
      await expectRevert(() => stranger.sendTransaction({ to: c.addresses.exposureFeeds, data }), "NotAuthority", [
        id,
        strangerAddr,
        authorityAddr,
      ]);
    });

    it("test_publishKeys_emptyOrOversizedCid_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 1n, "0x", 3), "InvalidCid", [0n, 64n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 1n, new Uint8Array(65).fill(1), 3), "InvalidCid", [65n, 64n]);
      // 64 bytes is the limit, and fits.
      await (await feeds.connect(authority).publishKeys(id, 1n, new Uint8Array(64).fill(7), 3)).wait();
      expect((await feed(id)).head).to.equal(hexlify(new Uint8Array(64).fill(7)));
    });

    it("test_publishKeys_badKeyCount_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 1n, cid(1), 0), "InvalidKeyCount", [0n, 10_000n]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 1n, cid(1), 10_001), "InvalidKeyCount", [10_001n, 10_000n]);
    });

    it("test_publishKeys_unknownFeed_reverts", async () => {
      for (const unknown of [0n, 2n, 2n ** 256n - 1n])
        await expectRevert(() => feeds.connect(authority).publishKeys(unknown, 1n, cid(1), 3), "UnknownFeed", [unknown]);
    });

    it("test_publishKeys_feedsAreIndependent", async () => {
      const second = await createFeed(other, othersGroup);
      await (await feeds.connect(authority).publishKeys(id, 1n, cid(1), 3)).wait();
      // The other feed's sequence is its own: it starts at 1 too, and its authority cannot write to the first.
      await expectRevert(() => feeds.connect(other).publishKeys(id, 2n, cid(2), 3), "NotAuthority", [id, otherAddr, authorityAddr]);
      await (await feeds.connect(other).publishKeys(second, 1n, cid(3), 4)).wait();
      expect([(await feed(id)).head, (await feed(second)).head]).to.deep.equal([hexlify(cid(1)), hexlify(cid(3))]);
    });
  });

  describe("setRiskConfig and publishHotspots", () => {
    let id: bigint;
    beforeEach(async () => {
      id = await createFeed();
    });

    it("test_setRiskConfig_authority_recordsAndEmits", async () => {
      const tx = feeds.connect(authority).setRiskConfig(id, cid(5));
      await expect(tx)
        .to.emit(feeds, "RiskConfigSet")
        .withArgs(id, hexlify(cid(5)));
      gasFigures.setRiskConfig = (await (await tx).wait())?.gasUsed ?? 0n;
      expect((await feed(id)).riskConfig).to.equal(hexlify(cid(5)));
      // Replacing it.
      await (await feeds.connect(authority).setRiskConfig(id, cid(6))).wait();
      const f = await feed(id);
      expect([f.riskConfig, f.hotspots, f.head, f.seq]).to.deep.equal([hexlify(cid(6)), "0x", "0x", 0n]);
    });

    it("test_publishHotspots_authority_recordsAndEmits", async () => {
      const tx = feeds.connect(authority).publishHotspots(id, cid(7));
      await expect(tx)
        .to.emit(feeds, "HotspotsPublished")
        .withArgs(id, hexlify(cid(7)));
      gasFigures.publishHotspots = (await (await tx).wait())?.gasUsed ?? 0n;
      const f = await feed(id);
      expect([f.hotspots, f.riskConfig]).to.deep.equal([hexlify(cid(7)), "0x"]);
    });

    for (const fn of ["setRiskConfig", "publishHotspots"] as const) {
      it(`test_${fn}_notAuthority_reverts`, async () => {
        await expectRevert(() => feeds.connect(stranger)[fn](id, cid(5)), "NotAuthority", [id, strangerAddr, authorityAddr]);
        // A copy of the authority's calldata from another wallet.
        const data = feeds.interface.encodeFunctionData(fn as "setRiskConfig", [id, cid(5)]);
        await expectRevert(() => other.sendTransaction({ to: c.addresses.exposureFeeds, data }), "NotAuthority", [
          id,
          otherAddr,
          authorityAddr,
        ]);
      });

      it(`test_${fn}_emptyOrOversizedCid_reverts`, async () => {
        await expectRevert(() => feeds.connect(authority)[fn](id, "0x"), "InvalidCid", [0n, 64n]);
        await expectRevert(() => feeds.connect(authority)[fn](id, new Uint8Array(1000)), "InvalidCid", [1000n, 64n]);
      });

      it(`test_${fn}_unknownFeed_reverts`, async () => {
        await expectRevert(() => feeds.connect(authority)[fn](0n, cid(5)), "UnknownFeed", [0n]);
        await expectRevert(() => feeds.connect(authority)[fn](id + 1n, cid(5)), "UnknownFeed", [id + 1n]);
      });
    }
  });

  describe("transferFeed", () => {
    let id: bigint;
    beforeEach(async () => {
      id = await createFeed();
      await (await feeds.connect(authority).publishKeys(id, 1n, cid(1), 3)).wait();
    });

    it("test_transferFeed_authority_handsOnAndEmits", async () => {
      const tx = feeds.connect(authority).transferFeed(id, otherAddr);
      await expect(tx).to.emit(feeds, "FeedTransferred").withArgs(id, authorityAddr, otherAddr);
      gasFigures.transferFeed = (await (await tx).wait())?.gasUsed ?? 0n;
      const f = await feed(id);
      // The chain of batches goes on where it was, under the new authority.
      expect([f.authority, f.groupId, f.seq, f.head]).to.deep.equal([otherAddr, positives, 1n, hexlify(cid(1))]);
      await expectRevert(() => feeds.connect(authority).publishKeys(id, 2n, cid(2), 3), "NotAuthority", [id, authorityAddr, otherAddr]);
      await expectRevert(() => feeds.connect(authority).transferFeed(id, authorityAddr), "NotAuthority", [id, authorityAddr, otherAddr]);
      await (await feeds.connect(other).publishKeys(id, 2n, cid(2), 3)).wait();
      expect((await feed(id)).seq).to.equal(2n);
    });

    it("test_transferFeed_notAuthority_reverts", async () => {
      await expectRevert(() => feeds.connect(stranger).transferFeed(id, strangerAddr), "NotAuthority", [id, strangerAddr, authorityAddr]);
    });

    it("test_transferFeed_zeroAddress_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).transferFeed(id, ethers.ZeroAddress), "ZeroAuthority", [id]);
    });

    it("test_transferFeed_unknownFeed_reverts", async () => {
      await expectRevert(() => feeds.connect(authority).transferFeed(5n, otherAddr), "UnknownFeed", [5n]);
    });

    it("test_transferFeed_clearsTheDocumentsTheOldAuthoritySigned", async () => {
      await (await feeds.connect(authority).setRiskConfig(id, cid(5))).wait();
      await (await feeds.connect(authority).publishHotspots(id, cid(6))).wait();
      const tx = feeds.connect(authority).transferFeed(id, otherAddr);
      // Both were signed by the old authority: no vault could verify them against the new one, which must re-sign.
      await expect(tx).to.emit(feeds, "RiskConfigSet").withArgs(id, "0x");
      await expect(tx).to.emit(feeds, "HotspotsPublished").withArgs(id, "0x");
      await expect(tx).to.emit(feeds, "FeedTransferred").withArgs(id, authorityAddr, otherAddr);
      const f = await feed(id);
      expect([f.authority, f.seq, f.head, f.riskConfig, f.hotspots]).to.deep.equal([otherAddr, 1n, hexlify(cid(1)), "0x", "0x"]);
      // The new authority publishes its own.
      await (await feeds.connect(other).setRiskConfig(id, cid(7))).wait();
      await (await feeds.connect(other).publishHotspots(id, cid(8))).wait();
      expect([(await feed(id)).riskConfig, (await feed(id)).hotspots]).to.deep.equal([hexlify(cid(7)), hexlify(cid(8))]);
    });

    it("test_transferFeed_noDocuments_emitsNoClearing", async () => {
      const tx = feeds.connect(authority).transferFeed(id, otherAddr);
      await expect(tx).to.not.emit(feeds, "RiskConfigSet");
      await expect(tx).to.not.emit(feeds, "HotspotsPublished");
      await expect(tx).to.emit(feeds, "FeedTransferred");
    });

    it("test_transferFeed_hostileCalls_leaveTheDocumentsAndHistory", async () => {
      await (await feeds.connect(authority).setRiskConfig(id, cid(5))).wait();
      await (await feeds.connect(authority).publishHotspots(id, cid(6))).wait();
      // expectRevert compares feedOf (documents included) and authorityAt of every batch before and after.
      await expectRevert(() => feeds.connect(stranger).transferFeed(id, strangerAddr), "NotAuthority", [id, strangerAddr, authorityAddr]);
      await expectRevert(() => feeds.connect(authority).transferFeed(id, ethers.ZeroAddress), "ZeroAuthority", [id]);
      const data = feeds.interface.encodeFunctionData("transferFeed", [id, strangerAddr]);
      await expectRevert(() => other.sendTransaction({ to: c.addresses.exposureFeeds, data }), "NotAuthority", [
        id,
        otherAddr,
        authorityAddr,
      ]);
      const f = await feed(id);
      expect([f.riskConfig, f.hotspots]).to.deep.equal([hexlify(cid(5)), hexlify(cid(6))]);
      expect(await feeds.authorityAt(id, 1n)).to.equal(authorityAddr);
    });

    it("test_transferFeed_registrarHandedOn_keepsTheFeedsAuthority", async () => {
      // The group's registrar role and the feed's authority are separate: handing one on leaves the other.
      await (await c.registrarAdmission.connect(authority).setRegistrar(positives, otherAddr)).wait();
      expect((await feed(id)).authority).to.equal(authorityAddr);
      await expectRevert(() => feeds.connect(other).publishKeys(id, 2n, cid(2), 3), "NotAuthority", [id, otherAddr, authorityAddr]);
    });
  });

  describe("authorityAt", () => {
    let id: bigint;
    let deployerAddr: string;
    beforeEach(async () => {
      id = await createFeed();
      deployerAddr = await deployer.getAddress();
    });

    const publish = async (as: Signer, seq: bigint) => (await feeds.connect(as).publishKeys(id, seq, cid(Number(seq)), 3)).wait();
    const signers = async (to: bigint) => {
      const out: string[] = [];
      for (let seq = 1n; seq <= to; seq++) out.push(await feeds.authorityAt(id, seq));
      return out;
    };

    it("test_authorityAt_noTransfer_theCreatorForEveryBatch", async () => {
      await publish(authority, 1n);
      await publish(authority, 2n);
      expect(await signers(2n)).to.deep.equal([authorityAddr, authorityAddr]);
    });

    it("test_authorityAt_oneTransfer_oldBatchesKeepTheOldAuthority", async () => {
      await publish(authority, 1n);
      await publish(authority, 2n);
      await (await feeds.connect(authority).transferFeed(id, otherAddr)).wait();
      // Before the new authority anchors anything, the batches are all the old one's.
      expect(await signers(2n)).to.deep.equal([authorityAddr, authorityAddr]);
      await publish(other, 3n);
      await publish(other, 4n);
      expect(await signers(4n)).to.deep.equal([authorityAddr, authorityAddr, otherAddr, otherAddr]);
    });

    it("test_authorityAt_twoTransfers_eachBatchItsAnchorer", async () => {
      await publish(authority, 1n);
      await (await feeds.connect(authority).transferFeed(id, otherAddr)).wait();
      await publish(other, 2n);
      await publish(other, 3n);
      await (await feeds.connect(other).transferFeed(id, deployerAddr)).wait();
      await publish(deployer, 4n);
      expect(await signers(4n)).to.deep.equal([authorityAddr, otherAddr, otherAddr, deployerAddr]);
      // And back to the first authority.
      await (await feeds.connect(deployer).transferFeed(id, authorityAddr)).wait();
      await publish(authority, 5n);
      expect(await signers(5n)).to.deep.equal([authorityAddr, otherAddr, otherAddr, deployerAddr, authorityAddr]);
    });

    it("test_authorityAt_transfersWithNoBatchBetween_skipTheIdleAuthority", async () => {
      await publish(authority, 1n);
      // `other` holds the feed without anchoring anything: it signed no batch.
      await (await feeds.connect(authority).transferFeed(id, otherAddr)).wait();
      await (await feeds.connect(other).transferFeed(id, deployerAddr)).wait();
      expect(await signers(1n)).to.deep.equal([authorityAddr]);
      await publish(deployer, 2n);
      expect(await signers(2n)).to.deep.equal([authorityAddr, deployerAddr]);
    });

    it("test_authorityAt_transferBeforeTheFirstBatch_theNewAuthorityFromSeq1", async () => {
      await (await feeds.connect(authority).transferFeed(id, otherAddr)).wait();
      await publish(other, 1n);
      expect(await signers(1n)).to.deep.equal([otherAddr]);
    });

    it("test_authorityAt_unanchoredSeq_reverts", async () => {
      await expect(feeds.authorityAt(id, 1n)).to.be.revertedWithCustomError(feeds, "UnanchoredBatch").withArgs(id, 1n, 0n);
      await publish(authority, 1n);
      for (const seq of [0n, 2n, 2n ** 64n - 1n])
        await expect(feeds.authorityAt(id, seq)).to.be.revertedWithCustomError(feeds, "UnanchoredBatch").withArgs(id, seq, 1n);
      await expect(feeds.authorityAt(id + 1n, 1n))
        .to.be.revertedWithCustomError(feeds, "UnknownFeed")
        .withArgs(id + 1n);
      await expect(feeds.authorityAt(0n, 1n)).to.be.revertedWithCustomError(feeds, "UnknownFeed").withArgs(0n);
    });

    it("test_authorityAt_manyTransfers_binarySearchStaysCorrect", async () => {
      // 9 handovers between 10 batches, alternating two authorities: every batch names the one that anchored it.
      const cast = [authority, other];
      const expected: string[] = [];
      for (let seq = 1n; seq <= 10n; seq++) {
        const as = cast[Number(seq) % 2] as Signer;
        if (seq > 1n) await (await feeds.connect(cast[Number(seq - 1n) % 2] as Signer).transferFeed(id, await as.getAddress())).wait();
        else if (as !== authority) await (await feeds.connect(authority).transferFeed(id, await as.getAddress())).wait();
        await publish(as, seq);
        expected.push(await as.getAddress());
      }
      expect(await signers(10n)).to.deep.equal(expected);
    });
  });

  it("test_feedOf_unknownFeed_reverts", async () => {
    await expect(feeds.feedOf(0n)).to.be.revertedWithCustomError(feeds, "UnknownFeed").withArgs(0n);
    await expect(feeds.feedOf(1n)).to.be.revertedWithCustomError(feeds, "UnknownFeed").withArgs(1n);
  });
});
