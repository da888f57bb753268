// AlertFeeds on Hardhat's in-process network: feeds with m-of-n editors, entries anchored in sequence with the
// signatures of the current epoch's editors, editors rotating by epoch. The attacker builds its input from everything
// public (mempool calldata, other feeds' and epochs' signatures, the editors' other digests) and relays it itself;
// every hostile call is its named error, with the offending values, and the contract holds exactly what it held before.
import { type AlertFeeds, AlertFeeds__factory, deployMosaic, findEvent, specCidOf } from "@mosaic/protocol";
import { expect } from "chai";
import {
  AbiCoder,
  concat,
  dataSlice,
  getAddress,
  getBytes,
  hashMessage,
  hexlify,
  keccak256,
  recoverAddress,
  Signature,
  type Signer,
  toBeHex,
  toUtf8Bytes,
  Wallet,
} from "ethers";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

const abi = AbiCoder.defaultAbiCoder();
/** secp256k1's group order: s and n - s are the two signatures of one message. */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HARDHAT_CHAIN_ID = 31337n;

/** Editors are wallets with fixed keys: they sign off-chain and need no funds (anyone relays their signatures). */
const wallet = (label: string): Wallet => new Wallet(keccak256(toUtf8Bytes(`alert editor ${label}`)));
/** Sorted by address, ascending, as the contract wants editors and signatures. */
const byAddress = (a: { address: string }, b: { address: string }): number =>
  BigInt(a.address) < BigInt(b.address) ? -1 : BigInt(a.address) > BigInt(b.address) ? 1 : 0;
const sorted = <T extends { address: string }>(xs: T[]): T[] => [...xs].sort(byAddress);
const addressesOf = (ws: { address: string }[]): string[] => ws.map((w) => w.address);

/** A CID in binary form: CIDv1 dag-cbor sha2-256 (36 bytes), as @mosaic/alerts anchors entries. */
const cid = (seed: number): string => hexlify(specCidOf(keccak256(toUtf8Bytes(`entry ${seed}`))).bytes);

/** The digests as the contract's NatSpec defines them, computed here independently (what @mosaic/alerts does). */
function entryDigestOf(chainId: bigint, contract: string, feedId: bigint, epoch: bigint, seq: bigint, entryCid: string): string {
  return keccak256(
    abi.encode(
      ["bytes32", "uint256", "address", "uint256", "uint64", "uint64", "bytes32"],
      [keccak256(toUtf8Bytes("mosaic.alerts.entry.v1")), chainId, contract, feedId, epoch, seq, keccak256(entryCid)],
    ),
  );
}
function editorsDigestOf(chainId: bigint, contract: string, feedId: bigint, epoch: bigint, editors: string[], threshold: number): string {
  return keccak256(
    abi.encode(
      ["bytes32", "uint256", "address", "uint256", "uint64", "bytes32", "uint8"],
      [
        keccak256(toUtf8Bytes("mosaic.alerts.editors.v1")),
        chainId,
        contract,
        feedId,
        epoch,
        keccak256(abi.encode(["address[]"], [editors])),
        threshold,
      ],
    ),
  );
}

/** Each signer's EIP-191 signature of `digest`, in the order given. */
const signAll = (digest: string, signers: Wallet[]): Promise<string[]> => Promise.all(signers.map((s) => s.signMessage(getBytes(digest))));
/** Who a signature of some other digest recovers to when the contract checks it against `digest`. */
const recoveredAs = (digest: string, signature: string): string => recoverAddress(hashMessage(getBytes(digest)), signature);
/** The malleable twin of a low-s signature: (r, n - s, v flipped) recovers to the same signer under plain ecrecover. */
function highSTwin(signature: string): string {
  const sig = Signature.from(signature);
  return concat([sig.r, toBeHex(CURVE_ORDER - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
}

describe("AlertFeeds", () => {
  let ethers: Connection["ethers"];
  let feeds: AlertFeeds;
  let feedsAddress: string;
  let deployedAt: string | undefined;
  let creator: Signer, relayer: Signer;
  let creatorAddr: string;
  /** The first feed's editors a < b < c (sorted), a stranger, and the editors rotated in (d, e). */
  let a: Wallet, b: Wallet, c: Wallet, d: Wallet, e: Wallet, stranger: Wallet;
  const gasFigures: Record<string, bigint> = {};

  before(async () => {
    ({ ethers } = await network.connect());
    [a, b, c] = sorted([wallet("1"), wallet("2"), wallet("3")]) as [Wallet, Wallet, Wallet];
    [d, e] = sorted([wallet("4"), wallet("5")]) as [Wallet, Wallet];
    stranger = wallet("stranger");
  });

  beforeEach(async () => {
    const [deployer, relay] = (await ethers.getSigners()) as unknown as [Signer, Signer];
    creator = deployer;
    relayer = relay;
    creatorAddr = await creator.getAddress();
    const mosaic = await deployMosaic(deployer);
    feeds = mosaic.alertFeeds;
    feedsAddress = await feeds.getAddress();
    deployedAt = mosaic.addresses.alertFeeds;
  });

  after(() => {
    if (Object.keys(gasFigures).length > 0)
      console.log(
        "      AlertFeeds gas:",
        JSON.stringify(gasFigures, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
      );
  });

  /** Everything the contract holds: the feed count, and for feeds 1..count + 1 the head and every epoch's editors. */
  async function snapshot(): Promise<string> {
    const count = await feeds.feedCount();
    const state: unknown[] = [count];
    for (let id = 1n; id <= count + 1n; id++) {
      if (id > count) {
        state.push(null);
        continue;
      }
      const head = [...(await feeds.headOf(id))];
      const sets: unknown[] = [];
      for (let epoch = 0n; epoch <= (head[1] as bigint); epoch++)
        sets.push([...(await feeds.editorsAt(id, epoch))].map((x) => (Array.isArray(x) ? [...x] : x)));
      state.push([head, sets]);
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

  async function createFeed(editors: Wallet[] = [a, b, c], threshold = 2): Promise<bigint> {
    const receipt = await (await feeds.connect(creator).createFeed(addressesOf(editors), threshold)).wait();
    return findEvent(receipt, feeds.interface, "FeedCreated").args.feedId as bigint;
  }

  const entryDigest = (feedId: bigint, epoch: bigint, seq: bigint, entryCid: string) =>
    entryDigestOf(HARDHAT_CHAIN_ID, feedsAddress, feedId, epoch, seq, entryCid);
  const editorsDigest = (feedId: bigint, epoch: bigint, editors: Wallet[], threshold: number) =>
    editorsDigestOf(HARDHAT_CHAIN_ID, feedsAddress, feedId, epoch, addressesOf(editors), threshold);

  /** Anchors entry `seq` signed by `signers` (sorted here) for `epoch`; returns the signatures. */
  async function anchor(feedId: bigint, seq: bigint, entryCid: string, signers: Wallet[], epoch = 0n): Promise<string[]> {
    const signatures = await signAll(entryDigest(feedId, epoch, seq, entryCid), sorted(signers));
    await (await feeds.connect(relayer).anchor(feedId, seq, entryCid, signatures)).wait();
    return signatures;
  }

  async function rotate(feedId: bigint, epoch: bigint, to: Wallet[], threshold: number, signers: Wallet[]): Promise<void> {
    const signatures = await signAll(editorsDigest(feedId, epoch, to, threshold), sorted(signers));
    await (await feeds.connect(relayer).setEditors(feedId, addressesOf(to), threshold, signatures)).wait();
  }

  async function head(feedId: bigint) {
    const [seq, epoch, entryCid] = await feeds.headOf(feedId);
    return { seq, epoch, entryCid };
  }

  async function editorsAt(feedId: bigint, epoch: bigint) {
    const [editors, threshold] = await feeds.editorsAt(feedId, epoch);
    return { editors: [...editors], threshold };
  }

  it("test_deployMosaic_deploysAlertFeeds", async () => {
    expect(deployedAt).to.equal(feedsAddress);
    expect(await feeds.feedCount()).to.equal(0n);
    expect(await feeds.MAX_EDITORS()).to.equal(32n);
    expect(await feeds.MAX_CID_LENGTH()).to.equal(64n);
  });

  describe("digests", () => {
    it("test_entryDigest_isTheDocumentedEncoding", async () => {
      // Any feed id and epoch, existing or not: a signer can compute before the feed exists.
      for (const [feedId, epoch, seq] of [
        [1n, 0n, 1n],
        [7n, 3n, 2n ** 64n - 1n],
      ] as const)
        expect(await feeds.entryDigest(feedId, epoch, seq, cid(1))).to.equal(entryDigest(feedId, epoch, seq, cid(1)));
    });

    it("test_editorsDigest_isTheDocumentedEncoding", async () => {
      expect(await feeds.editorsDigest(1n, 0n, addressesOf([a, b, c]), 2)).to.equal(editorsDigest(1n, 0n, [a, b, c], 2));
      expect(await feeds.editorsDigest(9n, 4n, addressesOf([d]), 1)).to.equal(editorsDigest(9n, 4n, [d], 1));
    });

    it("test_digests_domainTagsSeparateEntriesFromEditors", async () => {
      // The same numbers in the same slots: the tag alone tells an entry from an editor set.
      const cidAsSet = keccak256(abi.encode(["address[]"], [[a.address]]));
      const asEntry = keccak256(
        abi.encode(
          ["bytes32", "uint256", "address", "uint256", "uint64", "bytes32", "uint8"],
          [keccak256(toUtf8Bytes("mosaic.alerts.entry.v1")), HARDHAT_CHAIN_ID, feedsAddress, 1n, 0n, cidAsSet, 1],
        ),
      );
      expect(await feeds.editorsDigest(1n, 0n, [a.address], 1)).to.not.equal(asEntry);
      expect(await feeds.entryDigest(1n, 0n, 1n, cid(1))).to.not.equal(await feeds.editorsDigest(1n, 0n, [a.address], 1));
    });
  });

  describe("createFeed", () => {
    it("test_createFeed_threeEditors_opensFeedAtEpochZeroAndEmits", async () => {
      const tx = feeds.connect(creator).createFeed(addressesOf([a, b, c]), 2);
      await expect(tx)
        .to.emit(feeds, "FeedCreated")
        .withArgs(1n, creatorAddr, addressesOf([a, b, c]), 2);
      gasFigures.createFeed = (await (await tx).wait())?.gasUsed ?? 0n;
      expect(await feeds.feedCount()).to.equal(1n);
      expect(await head(1n)).to.deep.equal({ seq: 0n, epoch: 0n, entryCid: "0x" });
      expect(await editorsAt(1n, 0n)).to.deep.equal({ editors: addressesOf([a, b, c]), threshold: 2n });
      // Ids count on; the creator need not be an editor, and feeds are independent.
      expect(await createFeed([d], 1)).to.equal(2n);
      expect(await editorsAt(2n, 0n)).to.deep.equal({ editors: [d.address], threshold: 1n });
    });

    it("test_createFeed_editorCountOutOfBounds_reverts", async () => {
      await expectRevert(() => feeds.createFeed([], 1), "InvalidEditorCount", [0n, 32n]);
      const many = sorted(Array.from({ length: 33 }, (_, i) => wallet(`many ${i}`)));
      await expectRevert(() => feeds.createFeed(addressesOf(many), 1), "InvalidEditorCount", [33n, 32n]);
      // 32 is the most.
      expect(await createFeed(many.slice(0, 32), 32)).to.equal(1n);
      expect((await editorsAt(1n, 0n)).editors).to.deep.equal(addressesOf(many.slice(0, 32)));
    });

    it("test_createFeed_zeroUnsortedOrDuplicateEditor_reverts", async () => {
      const zero = ethers.ZeroAddress;
      await expectRevert(() => feeds.createFeed([zero, a.address], 1), "InvalidEditor", [0n, zero]);
      await expectRevert(() => feeds.createFeed([a.address, zero], 1), "InvalidEditor", [1n, zero]);
      await expectRevert(() => feeds.createFeed([b.address, a.address], 1), "InvalidEditor", [1n, a.address]);
      await expectRevert(() => feeds.createFeed([a.address, b.address, b.address], 1), "InvalidEditor", [2n, b.address]);
      // The same address with other letter cases is one address: still a duplicate.
      await expectRevert(() => feeds.createFeed([a.address, a.address.toLowerCase()], 1), "InvalidEditor", [1n, a.address]);
    });

    it("test_createFeed_thresholdOutOfBounds_reverts", async () => {
      await expectRevert(() => feeds.createFeed(addressesOf([a, b, c]), 0), "InvalidThreshold", [0, 3n]);
      await expectRevert(() => feeds.createFeed(addressesOf([a, b, c]), 4), "InvalidThreshold", [4, 3n]);
      await expectRevert(() => feeds.createFeed(addressesOf([a, b, c]), 255), "InvalidThreshold", [255, 3n]);
    });
  });

  describe("anchor", () => {
    beforeEach(async () => {
      await createFeed();
    });

    it("test_anchor_twoOfThree_movesHeadAndEmits", async () => {
      const signatures = await signAll(entryDigest(1n, 0n, 1n, cid(1)), [a, c]);
      const tx = feeds.connect(relayer).anchor(1n, 1n, cid(1), signatures);
      await expect(tx).to.emit(feeds, "AlertAnchored").withArgs(1n, 1n, 0n, cid(1), signatures);
      gasFigures.anchorFirst = (await (await tx).wait())?.gasUsed ?? 0n;
      expect(await head(1n)).to.deep.equal({ seq: 1n, epoch: 0n, entryCid: cid(1) });
      // More than the threshold is fine; so is any pair, and any relayer (here an editor's own wallet would do too).
      const second = feeds.connect(creator).anchor(1n, 2n, cid(2), await signAll(entryDigest(1n, 0n, 2n, cid(2)), [a, b, c]));
      await expect(second).to.emit(feeds, "AlertAnchored");
      gasFigures.anchorThreeOfThree = (await (await second).wait())?.gasUsed ?? 0n;
      await anchor(1n, 3n, cid(3), [b, c]);
      expect(await head(1n)).to.deep.equal({ seq: 3n, epoch: 0n, entryCid: cid(3) });
    });

    it("test_anchor_replayedTransaction_reverts", async () => {
      const signatures = await signAll(entryDigest(1n, 0n, 1n, cid(1)), [a, b]);
      const sent = await feeds.connect(relayer).anchor(1n, 1n, cid(1), signatures);
      await sent.wait();
      // The whole transaction's calldata, from the mempool, sent again by anyone.
      await expectRevert(() => creator.sendTransaction({ to: feedsAddress, data: sent.data }), "StaleSequence", [1n, 2n, 1n]);
      // Rewritten for the next seq, the old signatures no longer match.
      await expectRevert(() => feeds.anchor(1n, 2n, cid(1), signatures), "NotEditor", [
        0n,
        recoveredAs(entryDigest(1n, 0n, 2n, cid(1)), signatures[0] as string),
      ]);
    });

    it("test_anchor_staleOrSkippedSequence_reverts", async () => {
      const sigs = async (seq: bigint) => signAll(entryDigest(1n, 0n, seq, cid(seq === 0n ? 9 : Number(seq))), [a, b]);
      await expectRevert(async () => feeds.anchor(1n, 0n, cid(9), await sigs(0n)), "StaleSequence", [1n, 1n, 0n]);
      await expectRevert(async () => feeds.anchor(1n, 2n, cid(2), await sigs(2n)), "StaleSequence", [1n, 1n, 2n]);
      await expectRevert(async () => feeds.anchor(1n, 2n ** 64n - 1n, cid(2), []), "StaleSequence", [1n, 1n, 2n ** 64n - 1n]);
      await anchor(1n, 1n, cid(1), [a, b]);
      await expectRevert(async () => feeds.anchor(1n, 1n, cid(1), await sigs(1n)), "StaleSequence", [1n, 2n, 1n]);
    });

    it("test_anchor_cidLengthOutOfBounds_reverts", async () => {
      await expectRevert(() => feeds.anchor(1n, 1n, "0x", []), "InvalidCid", [0n, 64n]);
      const long = hexlify(new Uint8Array(65).fill(7));
      await expectRevert(async () => feeds.anchor(1n, 1n, long, await signAll(entryDigest(1n, 0n, 1n, long), [a, b])), "InvalidCid", [
        65n,
        64n,
      ]);
      // 1 and 64 bytes are taken (the contract bounds, it does not parse: @mosaic/alerts checks the CID).
      const longest = hexlify(new Uint8Array(64).fill(7));
      await anchor(1n, 1n, "0x01", [a, b]);
      await anchor(1n, 2n, longest, [a, b]);
      expect(await head(1n)).to.deep.equal({ seq: 2n, epoch: 0n, entryCid: longest });
    });

    it("test_anchor_tooFewSignatures_reverts", async () => {
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), []), "TooFewSignatures", [0n, 2n]);
      await expectRevert(
        async () => feeds.anchor(1n, 1n, cid(1), await signAll(entryDigest(1n, 0n, 1n, cid(1)), [b])),
        "TooFewSignatures",
        [1n, 2n],
      );
    });

    it("test_anchor_foreignSigner_reverts", async () => {
      const digest = entryDigest(1n, 0n, 1n, cid(1));
      const [sa, sx] = await signAll(digest, [a, stranger]);
      const signatures = BigInt(a.address) < BigInt(stranger.address) ? [sa, sx] : [sx, sa];
      const index = BigInt(signatures.indexOf(sx));
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), signatures as string[]), "NotEditor", [index, stranger.address]);
      // The other feed's editor is a stranger here.
      await createFeed([d], 1);
      await expectRevert(async () => feeds.anchor(1n, 1n, cid(1), await signAll(digest, sorted([a, d]))), "NotEditor", [
        BigInt(sorted([a, d]).indexOf(d)),
        d.address,
      ]);
    });

    it("test_anchor_signaturesForAnotherFeedEpochSeqCidChainOrContract_revert", async () => {
      await createFeed(); // feed 2, the same editors
      const other = await (await new AlertFeeds__factory(creator).deploy()).waitForDeployment();
      const here = entryDigest(1n, 0n, 1n, cid(1));
      const elsewhere: Record<string, string> = {
        "feed 2": entryDigest(2n, 0n, 1n, cid(1)),
        "epoch 1": entryDigest(1n, 1n, 1n, cid(1)),
        "seq 2": entryDigest(1n, 0n, 2n, cid(1)),
        "another entry": entryDigest(1n, 0n, 1n, cid(2)),
        "chain 1": entryDigestOf(1n, feedsAddress, 1n, 0n, 1n, cid(1)),
        "another AlertFeeds": entryDigestOf(HARDHAT_CHAIN_ID, await other.getAddress(), 1n, 0n, 1n, cid(1)),
        "the digest itself, not EIP-191": "",
      };
      for (const [what, digest] of Object.entries(elsewhere)) {
        const signatures =
          digest === ""
            ? [a, b].map((w) => w.signingKey.sign(here).serialized) // raw ECDSA over the digest, no personal-sign prefix
            : await signAll(digest, [a, b]);
        const recovered = recoveredAs(here, signatures[0] as string);
        expect(recovered, what).to.not.equal(a.address);
        await expectRevert(() => feeds.anchor(1n, 1n, cid(1), signatures), "NotEditor", [0n, recovered]);
      }
      // Each of them is good where it was made: feed 2 takes its own.
      await (await feeds.anchor(2n, 1n, cid(1), await signAll(elsewhere["feed 2"] as string, [a, b]))).wait();
      expect((await head(2n)).seq).to.equal(1n);
    });

    it("test_anchor_editorsSignatureOfferedAsEntry_reverts", async () => {
      // The editors approved a rotation; an attacker offers those signatures to anchor an entry.
      const rotation = await signAll(editorsDigest(1n, 0n, [a, b, c], 2), [a, b]);
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), rotation), "NotEditor", [
        0n,
        recoveredAs(entryDigest(1n, 0n, 1n, cid(1)), rotation[0] as string),
      ]);
    });

    it("test_anchor_duplicateOrUnsortedSigners_reverts", async () => {
      const [sa, sb] = await signAll(entryDigest(1n, 0n, 1n, cid(1)), [a, b]);
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), [sa as string, sa as string]), "SignersNotSorted", [1n, a.address]);
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), [sb as string, sa as string]), "SignersNotSorted", [1n, a.address]);
    });

    it("test_anchor_malformedSignature_reverts", async () => {
      const [sa, sb] = (await signAll(entryDigest(1n, 0n, 1n, cid(1)), [a, b])) as [string, string];
      const bytes = getBytes(sb);
      const withV = (v: number) => {
        const copy = Uint8Array.from(bytes);
        copy[64] = v;
        return hexlify(copy);
      };
      const cases: [string, string][] = [
        ["the high-s twin", highSTwin(sb)],
        ["v = 0", withV(Signature.from(sb).v - 27)],
        ["v = 29", withV(29)],
        ["64 bytes", hexlify(bytes.slice(0, 64))],
        ["66 bytes", concat([sb, "0x00"])],
        ["empty", "0x"],
        ["r = 0", concat([new Uint8Array(32), bytes.slice(32)])],
      ];
      // The twin recovers to b under the bare ecrecover precompile: the contract refuses it for its s, not its signer.
      const twin = getBytes(highSTwin(sb));
      const precompile = await ethers.provider.call({
        to: "0x0000000000000000000000000000000000000001",
        data: concat([hashMessage(getBytes(entryDigest(1n, 0n, 1n, cid(1)))), toBeHex(twin[64] as number, 32), twin.slice(0, 64)]),
      });
      expect(getAddress(dataSlice(precompile, 12))).to.equal(b.address);
      for (const [, bad] of cases) await expectRevert(() => feeds.anchor(1n, 1n, cid(1), [sa, bad]), "MalformedSignature", [1n]);
      // The first position too.
      await expectRevert(() => feeds.anchor(1n, 1n, cid(1), [highSTwin(sa), sb]), "MalformedSignature", [0n]);
    });

    it("test_anchor_unknownFeed_reverts", async () => {
      const signatures = await signAll(entryDigest(0n, 0n, 1n, cid(1)), [a, b]);
      await expectRevert(() => feeds.anchor(0n, 1n, cid(1), signatures), "UnknownFeed", [0n]);
      const next = (await feeds.feedCount()) + 1n;
      await expectRevert(
        async () => feeds.anchor(next, 1n, cid(1), await signAll(entryDigest(next, 0n, 1n, cid(1)), [a, b])),
        "UnknownFeed",
        [next],
      );
    });

    it("test_anchor_thirtyTwoOfThirtyTwo_boundedLoop", async () => {
      const many = sorted(Array.from({ length: 32 }, (_, i) => wallet(`many ${i}`)));
      const id = await createFeed(many, 32);
      const digest = entryDigest(id, 0n, 1n, cid(1));
      const signatures = await signAll(digest, many);
      // A 33rd signature can only repeat an editor: refused at index 32, the loop's last turn.
      await expectRevert(() => feeds.anchor(id, 1n, cid(1), [...signatures, signatures[31] as string]), "SignersNotSorted", [
        32n,
        many[31]?.address,
      ]);
      await expectRevert(() => feeds.anchor(id, 1n, cid(1), signatures.slice(0, 31)), "TooFewSignatures", [31n, 32n]);
      const receipt = await (await feeds.anchor(id, 1n, cid(1), signatures)).wait();
      gasFigures.anchor32of32 = receipt?.gasUsed ?? 0n;
      expect(receipt?.gasUsed).to.be.below(500_000n);
      expect((await head(id)).seq).to.equal(1n);
    });
  });

  describe("setEditors", () => {
    beforeEach(async () => {
      await createFeed();
      await anchor(1n, 1n, cid(1), [a, b]);
    });

    it("test_setEditors_rotates_oldEditorsRefusedAndOldEpochStillAnswers", async () => {
      const newSet = sorted([b, d, e]);
      const signatures = await signAll(editorsDigest(1n, 0n, newSet, 2), [a, c]);
      const tx = feeds.connect(relayer).setEditors(1n, addressesOf(newSet), 2, signatures);
      await expect(tx).to.emit(feeds, "EditorsChanged").withArgs(1n, 1n, addressesOf(newSet), 2);
      gasFigures.setEditors = (await (await tx).wait())?.gasUsed ?? 0n;
      expect(await head(1n)).to.deep.equal({ seq: 1n, epoch: 1n, entryCid: cid(1) });
      expect(await editorsAt(1n, 0n)).to.deep.equal({ editors: addressesOf([a, b, c]), threshold: 2n });
      expect(await editorsAt(1n, 1n)).to.deep.equal({ editors: addressesOf(newSet), threshold: 2n });
      await expectRevert(() => feeds.editorsAt(1n, 2n), "UnknownEpoch", [1n, 2n, 1n]);

      // a and c left: their signatures for the new epoch are foreign now, one of them is enough to refuse.
      const leaving = await signAll(entryDigest(1n, 1n, 2n, cid(2)), sorted([a, b]));
      await expectRevert(() => feeds.anchor(1n, 2n, cid(2), leaving), "NotEditor", [BigInt(sorted([a, b]).indexOf(a)), a.address]);
      // The old epoch's signatures, made before the rotation for seq 2, no longer count.
      const preRotation = await signAll(entryDigest(1n, 0n, 2n, cid(2)), [a, c]);
      await expectRevert(() => feeds.anchor(1n, 2n, cid(2), preRotation), "NotEditor", [
        0n,
        recoveredAs(entryDigest(1n, 1n, 2n, cid(2)), preRotation[0] as string),
      ]);
      // Replaying the rotation itself: its signatures were for epoch 0.
      await expectRevert(() => feeds.setEditors(1n, addressesOf(newSet), 2, signatures), "NotEditor", [
        0n,
        recoveredAs(editorsDigest(1n, 1n, newSet, 2), signatures[0] as string),
      ]);
      // The new editors anchor, with the new epoch in the event.
      const fresh = await signAll(entryDigest(1n, 1n, 2n, cid(2)), sorted([d, e]));
      await expect(feeds.anchor(1n, 2n, cid(2), fresh))
        .to.emit(feeds, "AlertAnchored")
        .withArgs(1n, 2n, 1n, cid(2), fresh);
      // And rotate again, to one editor at threshold 1: epoch 2.
      await rotate(1n, 1n, [c], 1, [b, e]);
      expect(await head(1n)).to.deep.equal({ seq: 2n, epoch: 2n, entryCid: cid(2) });
      expect(await editorsAt(1n, 2n)).to.deep.equal({ editors: [c.address], threshold: 1n });
      await anchor(1n, 3n, cid(3), [c], 2n);
      expect((await head(1n)).seq).to.equal(3n);
    });

    it("test_setEditors_invalidSetCheckedBeforeSignatures_reverts", async () => {
      // No signatures at all: the set's own error comes first, so nothing was read or written on its account.
      await expectRevert(() => feeds.setEditors(1n, [], 1, []), "InvalidEditorCount", [0n, 32n]);
      const many = sorted(Array.from({ length: 33 }, (_, i) => wallet(`many ${i}`)));
      await expectRevert(() => feeds.setEditors(1n, addressesOf(many), 1, []), "InvalidEditorCount", [33n, 32n]);
      await expectRevert(() => feeds.setEditors(1n, [ethers.ZeroAddress], 1, []), "InvalidEditor", [0n, ethers.ZeroAddress]);
      await expectRevert(() => feeds.setEditors(1n, [e.address, d.address], 1, []), "InvalidEditor", [1n, d.address]);
      await expectRevert(() => feeds.setEditors(1n, [d.address, d.address], 1, []), "InvalidEditor", [1n, d.address]);
      await expectRevert(() => feeds.setEditors(1n, [d.address, e.address], 0, []), "InvalidThreshold", [0, 2n]);
      await expectRevert(() => feeds.setEditors(1n, [d.address, e.address], 3, []), "InvalidThreshold", [3, 2n]);
      // Even signed by the editors in office, an invalid set is refused.
      const set = [e.address, d.address];
      const signed = await signAll(editorsDigestOf(HARDHAT_CHAIN_ID, feedsAddress, 1n, 0n, set, 1), [a, b]);
      await expectRevert(() => feeds.setEditors(1n, set, 1, signed), "InvalidEditor", [1n, d.address]);
    });

    it("test_setEditors_badSignatures_revert", async () => {
      const to = sorted([d, e]);
      const digest = editorsDigest(1n, 0n, to, 1);
      await expectRevert(async () => feeds.setEditors(1n, addressesOf(to), 1, await signAll(digest, [a])), "TooFewSignatures", [1n, 2n]);
      const [sa, sb] = (await signAll(digest, [a, b])) as [string, string];
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, [sb, sa]), "SignersNotSorted", [1n, a.address]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, [sa, sa]), "SignersNotSorted", [1n, a.address]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, [sa, highSTwin(sb)]), "MalformedSignature", [1n]);
      const [sx] = await signAll(digest, [stranger]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, [sa, sx as string]), "NotEditor", [1n, stranger.address]);
      // Signed for a threshold of 2, submitted with 1 (or another set): the digest differs.
      const forTwo = await signAll(editorsDigest(1n, 0n, to, 2), [a, b]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, forTwo), "NotEditor", [
        0n,
        recoveredAs(digest, forTwo[0] as string),
      ]);
      await expectRevert(() => feeds.setEditors(1n, [d.address], 1, forTwo), "NotEditor", [
        0n,
        recoveredAs(editorsDigest(1n, 0n, [d], 1), forTwo[0] as string),
      ]);
      // Signed for feed 2 (same editors), or on another chain.
      await createFeed();
      const feed2 = await signAll(editorsDigest(2n, 0n, to, 1), [a, b]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, feed2), "NotEditor", [0n, recoveredAs(digest, feed2[0] as string)]);
      const chain1 = await signAll(editorsDigestOf(1n, feedsAddress, 1n, 0n, addressesOf(to), 1), [a, b]);
      await expectRevert(() => feeds.setEditors(1n, addressesOf(to), 1, chain1), "NotEditor", [
        0n,
        recoveredAs(digest, chain1[0] as string),
      ]);
    });

    it("test_setEditors_entrySignatureOfferedAsRotation_reverts", async () => {
      // The editors signed entry 2; an attacker offers those signatures as a rotation.
      const entrySigs = await signAll(entryDigest(1n, 0n, 2n, cid(2)), [a, b]);
      await expectRevert(() => feeds.setEditors(1n, [stranger.address], 1, entrySigs), "NotEditor", [
        0n,
        recoveredAs(editorsDigestOf(HARDHAT_CHAIN_ID, feedsAddress, 1n, 0n, [stranger.address], 1), entrySigs[0] as string),
      ]);
    });

    it("test_setEditors_unknownFeed_reverts", async () => {
      for (const id of [0n, (await feeds.feedCount()) + 1n]) {
        const signatures = await signAll(editorsDigest(id, 0n, [d], 1), [a, b]);
        await expectRevert(() => feeds.setEditors(id, [d.address], 1, signatures), "UnknownFeed", [id]);
      }
    });

    it("test_setEditors_toThirtyTwoAndBack", async () => {
      const many = sorted(Array.from({ length: 32 }, (_, i) => wallet(`many ${i}`)));
      await rotate(1n, 0n, many, 17, [a, b]);
      expect(await editorsAt(1n, 1n)).to.deep.equal({ editors: addressesOf(many), threshold: 17n });
      // 16 of 32 are too few; 17 rotate back to the first set.
      await expectRevert(
        async () => feeds.setEditors(1n, addressesOf([a, b, c]), 2, await signAll(editorsDigest(1n, 1n, [a, b, c], 2), many.slice(0, 16))),
        "TooFewSignatures",
        [16n, 17n],
      );
      await rotate(1n, 1n, [a, b, c], 2, many.slice(15));
      expect(await editorsAt(1n, 2n)).to.deep.equal({ editors: addressesOf([a, b, c]), threshold: 2n });
      // Back in office, a's and b's signatures count again — for epoch 2 only.
      await anchor(1n, 2n, cid(2), [a, b], 2n);
      expect(await head(1n)).to.deep.equal({ seq: 2n, epoch: 2n, entryCid: cid(2) });
    });
  });

  describe("views", () => {
    it("test_headOfAndEditorsAt_unknownFeed_reverts", async () => {
      await createFeed();
      for (const id of [0n, 2n]) {
        await expectRevert(() => feeds.headOf(id), "UnknownFeed", [id]);
        await expectRevert(() => feeds.editorsAt(id, 0n), "UnknownFeed", [id]);
      }
      await expectRevert(() => feeds.editorsAt(1n, 1n), "UnknownEpoch", [1n, 1n, 0n]);
      await expectRevert(() => feeds.editorsAt(1n, 2n ** 64n - 1n), "UnknownEpoch", [1n, 2n ** 64n - 1n, 0n]);
    });
  });
});
