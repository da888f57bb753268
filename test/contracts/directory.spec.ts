// ReducerDirectory on Hardhat's in-process network: staked operators announce how to reach their reducers; every
// revert leaves the directory exactly as it was.
import { deployMosaic, type MosaicContracts } from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, concat, getBytes, hexlify, parseEther, type Signer, toUtf8Bytes } from "ethers";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

const PEER_A = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
const PEER_B = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK";
const ADDRS_A = [`/ip4/203.0.113.7/tcp/4001/p2p/${PEER_A}`, "/dns4/reducer-a.example/tcp/443/wss"];
const ADDRS_B = ["/ip4/198.51.100.2/tcp/4001"];

describe("ReducerDirectory", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
  });
  let c: MosaicContracts;
  let deployer: Signer, opA: Signer, opB: Signer, opC: Signer, outsider: Signer;
  let a: string, b: string, cAddr: string, outsiderAddr: string;
  const DAY = 86_400n;

  /** Everything the directory holds, in a comparable form. */
  async function snapshot(): Promise<string> {
    const count = await c.reducerDirectory.operatorCount();
    const operators = await c.reducerDirectory.operatorsPage(0n, 100n);
    const records = await Promise.all([a, b, cAddr, outsiderAddr].map((op) => c.reducerDirectory.reducerOf(op)));
    return JSON.stringify({ count, operators, records }, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  }

  async function expectRevert(call: () => Promise<unknown>, error: string, args: unknown[]): Promise<void> {
    const before = await snapshot();
    await expect(call())
      .to.be.revertedWithCustomError(c.reducerDirectory, error)
      .withArgs(...args);
    expect(await snapshot(), `${error} left the directory unchanged`).to.equal(before);
  }

  async function record(op: string): Promise<{ peerId: string; addrs: string[]; updatedAt: bigint }> {
    const [peerId, addrs, updatedAt] = await c.reducerDirectory.reducerOf(op);
    return { peerId, addrs: [...addrs], updatedAt };
  }

  beforeEach(async () => {
    [deployer, opA, opB, opC, outsider] = (await ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer, Signer];
    [a, b, cAddr, outsiderAddr] = (await Promise.all([opA, opB, opC, outsider].map((s) => s.getAddress()))) as [
      string,
      string,
      string,
      string,
    ];
    c = await deployMosaic(deployer, { unbondingDelay: DAY, proposalBond: parseEther("0.01") });
    for (const op of [opA, opB, opC]) await (await c.jobRegistry.connect(op).stake({ value: parseEther("1") })).wait();
  });

  it("test_deployMosaic_directoryReadsTheRegistrysStakes", async () => {
    expect(await c.reducerDirectory.registry()).to.equal(c.addresses.jobRegistry);
    expect(c.addresses.reducerDirectory).to.equal(await c.reducerDirectory.getAddress());
    expect(await c.reducerDirectory.operatorCount()).to.equal(0n);
    expect(await c.reducerDirectory.MAX_PEER_ID_LENGTH()).to.equal(128n);
    expect(await c.reducerDirectory.MAX_ADDRS()).to.equal(8n);
    expect(await c.reducerDirectory.MAX_ADDR_LENGTH()).to.equal(256n);
    expect(await c.reducerDirectory.MAX_PAGE()).to.equal(100n);
  });

  it("test_announce_staked_recordsAndEmits", async () => {
    await expect(c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A))
      .to.emit(c.reducerDirectory, "ReducerAnnounced")
      .withArgs(a, PEER_A, ADDRS_A);
    const at = BigInt(await networkHelpers.time.latest());
    expect(await record(a)).to.deep.equal({ peerId: PEER_A, addrs: ADDRS_A, updatedAt: at });
    expect(await c.reducerDirectory.operatorCount()).to.equal(1n);
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([a]);
    // Someone else's record is empty.
    expect(await record(b)).to.deep.equal({ peerId: "", addrs: [], updatedAt: 0n });
  });

  it("test_announce_again_replacesRecordAndKeepsOnePosition", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await (await c.reducerDirectory.connect(opB).announce(PEER_B, ADDRS_B)).wait();
    await networkHelpers.time.increase(100);
    // Fewer addrs than before: none of the old ones may linger.
    const moved = ["/ip4/192.0.2.9/udp/4001/quic-v1"];
    await expect(c.reducerDirectory.connect(opA).announce(PEER_B, moved))
      .to.emit(c.reducerDirectory, "ReducerAnnounced")
      .withArgs(a, PEER_B, moved);
    const at = BigInt(await networkHelpers.time.latest());
    expect(await record(a)).to.deep.equal({ peerId: PEER_B, addrs: moved, updatedAt: at });
    expect(await c.reducerDirectory.operatorCount()).to.equal(2n);
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([a, b]);
  });

  it("test_announce_samePeerIdAsAnother_bothRecordsStand", async () => {
    // A squatter copying an honest operator's peer id cannot block it: peer ids are not unique.
    await (await c.reducerDirectory.connect(opC).announce(PEER_A, ["/ip4/10.0.0.1/tcp/1"])).wait();
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    expect((await record(a)).peerId).to.equal(PEER_A);
    expect((await record(cAddr)).peerId).to.equal(PEER_A);
    expect(await c.reducerDirectory.operatorCount()).to.equal(2n);
  });

  it("test_announce_eightAddrsOfMaxLength_accepted", async () => {
    const addrs = Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(256 - 12)}/tcp/1`);
    for (const addr of addrs) expect(addr.length).to.equal(256);
    const peerId = "Q".repeat(128);
    await (await c.reducerDirectory.connect(opA).announce(peerId, addrs)).wait();
    expect((await record(a)).addrs).to.deep.equal(addrs);
    expect((await record(a)).peerId).to.equal(peerId);
  });

  it("test_announce_unstaked_revertsNotStaked", async () => {
    await expectRevert(() => c.reducerDirectory.connect(outsider).announce(PEER_A, ADDRS_A), "NotStaked", [outsiderAddr]);
    // The deployer holds ether but no stake either.
    await expectRevert(() => c.reducerDirectory.connect(deployer).announce(PEER_A, ADDRS_A), "NotStaked", [await deployer.getAddress()]);
  });

  it("test_announce_badPeerId_revertsInvalidPeerIdLength", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await expectRevert(() => c.reducerDirectory.connect(opA).announce("", ADDRS_B), "InvalidPeerIdLength", [0n, 128n]);
    await expectRevert(() => c.reducerDirectory.connect(opA).announce("x".repeat(129), ADDRS_B), "InvalidPeerIdLength", [129n, 128n]);
    // Length is in bytes: 43 three-byte characters are 129 bytes.
    await expectRevert(() => c.reducerDirectory.connect(opB).announce("€".repeat(43), ADDRS_B), "InvalidPeerIdLength", [129n, 128n]);
  });

  it("test_announce_badAddrCount_revertsInvalidAddrCount", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(PEER_A, []), "InvalidAddrCount", [0n, 8n]);
    const nine = Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4001`);
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(PEER_A, nine), "InvalidAddrCount", [9n, 8n]);
    await expectRevert(() => c.reducerDirectory.connect(opB).announce(PEER_B, nine), "InvalidAddrCount", [9n, 8n]);
  });

  it("test_announce_badAddrLength_revertsInvalidAddrLengthWithIndex", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(PEER_A, ["/ip4/10.0.0.1/tcp/1", ""]), "InvalidAddrLength", [
      1n,
      0n,
      256n,
    ]);
    await expectRevert(
      () => c.reducerDirectory.connect(opA).announce(PEER_A, ["/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1", `/${"a".repeat(256)}`]),
      "InvalidAddrLength",
      [2n, 257n, 256n],
    );
  });

  /** announce from raw calldata: a string is ABI-encoded like bytes, so this sends bytes no JS string would encode to. */
  function rawAnnounce(op: Signer, peerId: Uint8Array, addrs: Uint8Array[]): Promise<unknown> {
    const selector = c.reducerDirectory.interface.getFunction("announce").selector;
    const args = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[]"], [peerId, addrs]);
    return op.sendTransaction({ to: c.addresses.reducerDirectory, data: hexlify(concat([selector, args])) });
  }

  it("test_announce_invalidUtf8ByRawCalldata_revertsInvalidCharacterWithIndex", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    // Finding 2: a 0xff byte, or the overlong 0xc0 0xaf, would make every reader's decoding of reducerOf throw.
    const peer = toUtf8Bytes(PEER_B);
    const badPeer = getBytes(concat([peer.slice(0, 5), "0xff", peer.slice(5)]));
    await expectRevert(
      () =>
        rawAnnounce(
          opA,
          badPeer,
          ADDRS_B.map((x) => toUtf8Bytes(x)),
        ),
      "InvalidPeerIdCharacter",
      [5n, "0xff"],
    );
    await expectRevert(
      () =>
        rawAnnounce(
          opB,
          badPeer,
          ADDRS_B.map((x) => toUtf8Bytes(x)),
        ),
      "InvalidPeerIdCharacter",
      [5n, "0xff"],
    );
    const overlong = getBytes(concat([toUtf8Bytes("/ip4/198.51.100.2/tcp/4001/"), "0xc0af"]));
    await expectRevert(() => rawAnnounce(opA, toUtf8Bytes(PEER_A), [toUtf8Bytes(ADDRS_B[0] as string), overlong]), "InvalidAddrCharacter", [
      1n,
      27n,
      "0xc0",
    ]);
    await expectRevert(() => rawAnnounce(opB, toUtf8Bytes(PEER_B), [overlong]), "InvalidAddrCharacter", [0n, 27n, "0xc0"]);
    // The same calldata with printable bytes is accepted: the raw path itself works.
    await (
      await (rawAnnounce(
        opB,
        toUtf8Bytes(PEER_B),
        ADDRS_B.map((x) => toUtf8Bytes(x)),
      ) as Promise<{ wait(): Promise<unknown> }>)
    ).wait();
    expect(await record(b)).to.include({ peerId: PEER_B });
  });

  it("test_announce_notPrintableAscii_revertsInvalidCharacter", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    // Valid UTF-8 but not ASCII, a space, a control character, DEL: the first offending byte is named.
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(`${PEER_B}é`, ADDRS_B), "InvalidPeerIdCharacter", [52n, "0xc3"]);
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(`a b`, ADDRS_B), "InvalidPeerIdCharacter", [1n, "0x20"]);
    await expectRevert(
      () => c.reducerDirectory.connect(opA).announce(PEER_A, ["/ip4/10.0.0.1/tcp/1", "/dns4/x\n.example/tcp/1"]),
      "InvalidAddrCharacter",
      [1n, 7n, "0x0a"],
    );
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(PEER_A, ["\u007f"]), "InvalidAddrCharacter", [0n, 0n, "0x7f"]);
    await expectRevert(() => c.reducerDirectory.connect(opB).announce(PEER_B, ["/ip4/10.0.0.1/tcp/1\u0000"]), "InvalidAddrCharacter", [
      0n,
      19n,
      "0x00",
    ]);
    // The edges of the printable range are accepted.
    await (await c.reducerDirectory.connect(opB).announce("!~", ["/!~"])).wait();
    expect(await record(b)).to.include({ peerId: "!~" });
  });

  it("test_announce_badByteAnywhereInAWord_namesItsIndex", async () => {
    // The contract checks 32 bytes at a time: a bad byte at either edge of a word, or in the last partial one, is found.
    const selector = c.reducerDirectory.interface.getFunction("announce").selector;
    const call = async (peerId: Uint8Array, addrs: Uint8Array[]): Promise<unknown[] | "ok"> => {
      const data = hexlify(concat([selector, AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[]"], [peerId, addrs])]));
      try {
        await opA.call({ to: c.addresses.reducerDirectory, data });
        return "ok";
      } catch (err) {
        const parsed = c.reducerDirectory.interface.parseError((err as { data: string }).data);
        return [parsed?.name, ...(parsed?.args ?? [])];
      }
    };
    const printable = toUtf8Bytes(Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join(""));
    expect(await call(printable, [printable, printable.slice(0, 33), printable.slice(0, 32), printable.slice(0, 1)])).to.equal("ok");
    for (const length of [1, 31, 32, 33, 64, 100, 256])
      for (const at of [0, 30, 31, 32, 33, 63, 64, 99, 255].filter((x) => x < length))
        for (const bad of [0x00, 0x20, 0x7f, 0x80, 0xc0, 0xff]) {
          const addr = new Uint8Array(length).fill(0x41);
          addr[at] = bad;
          const expected = ["InvalidAddrCharacter", 1n, BigInt(at), hexlify(Uint8Array.of(bad))];
          expect(await call(printable, [printable, addr]), `addr of ${length}, 0x${bad.toString(16)} at ${at}`).to.deep.equal(expected);
          if (length <= 128) {
            expect(await call(addr, [printable]), `peer id of ${length}`).to.deep.equal([
              "InvalidPeerIdCharacter",
              BigInt(at),
              expected[3],
            ]);
          }
        }
  });

  it("test_withdraw_removesRecordAndSwapsLastIn", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await (await c.reducerDirectory.connect(opB).announce(PEER_B, ADDRS_B)).wait();
    await (await c.reducerDirectory.connect(opC).announce(PEER_A, ADDRS_B)).wait();
    await expect(c.reducerDirectory.connect(opA).withdraw()).to.emit(c.reducerDirectory, "ReducerWithdrawn").withArgs(a);
    expect(await record(a)).to.deep.equal({ peerId: "", addrs: [], updatedAt: 0n });
    expect(await c.reducerDirectory.operatorCount()).to.equal(2n);
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([cAddr, b]);
    // The moved operator can still withdraw (its position was updated), and the last one too.
    await (await c.reducerDirectory.connect(opC).withdraw()).wait();
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([b]);
    await (await c.reducerDirectory.connect(opB).withdraw()).wait();
    expect(await c.reducerDirectory.operatorCount()).to.equal(0n);
    // And announce again from scratch.
    await (await c.reducerDirectory.connect(opA).announce(PEER_B, ADDRS_B)).wait();
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([a]);
    expect((await record(a)).addrs).to.deep.equal(ADDRS_B);
  });

  it("test_withdraw_noRecord_revertsNotAnnounced", async () => {
    await (await c.reducerDirectory.connect(opB).announce(PEER_B, ADDRS_B)).wait();
    await expectRevert(() => c.reducerDirectory.connect(opA).withdraw(), "NotAnnounced", [a]);
    await (await c.reducerDirectory.connect(opB).withdraw()).wait();
    // Twice.
    await expectRevert(() => c.reducerDirectory.connect(opB).withdraw(), "NotAnnounced", [b]);
  });

  it("test_prune_stakedOperator_revertsStillStaked", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await expectRevert(() => c.reducerDirectory.connect(outsider).prune(a), "StillStaked", [a, parseEther("1")]);
    // Even after unstaking part of it.
    await (await c.jobRegistry.connect(opA).requestUnstake(parseEther("0.4"))).wait();
    await expectRevert(() => c.reducerDirectory.connect(outsider).prune(a), "StillStaked", [a, parseEther("0.6")]);
  });

  it("test_prune_afterFullUnstake_anyoneRemovesRecord", async () => {
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    await (await c.reducerDirectory.connect(opB).announce(PEER_B, ADDRS_B)).wait();
    // requestUnstake takes the stake out at once (it is unbonding, no longer at stake).
    await (await c.jobRegistry.connect(opA).requestUnstake(parseEther("1"))).wait();
    expect(await c.jobRegistry.stakeOf(a)).to.equal(0n);
    // The record is stale but still there until someone prunes it; its owner can no longer refresh it.
    expect((await record(a)).peerId).to.equal(PEER_A);
    await expectRevert(() => c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_B), "NotStaked", [a]);
    await expect(c.reducerDirectory.connect(outsider).prune(a)).to.emit(c.reducerDirectory, "ReducerPruned").withArgs(a, outsiderAddr);
    expect(await record(a)).to.deep.equal({ peerId: "", addrs: [], updatedAt: 0n });
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([b]);
    // Pruned twice, or an operator that never announced.
    await expectRevert(() => c.reducerDirectory.connect(outsider).prune(a), "NotAnnounced", [a]);
    await expectRevert(() => c.reducerDirectory.connect(outsider).prune(outsiderAddr), "NotAnnounced", [outsiderAddr]);
    // Withdrawn after its delay, restaked: it may announce again.
    await networkHelpers.time.increase(DAY);
    await (await c.jobRegistry.connect(opA).withdrawStake()).wait();
    await (await c.jobRegistry.connect(opA).stake({ value: 1n })).wait();
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ADDRS_A)).wait();
    expect(await c.reducerDirectory.operatorsPage(0n, 10n)).to.deep.equal([b, a]);
  });

  it("test_operatorsPage_bounds", async () => {
    for (const [op, peer] of [
      [opA, PEER_A],
      [opB, PEER_B],
      [opC, PEER_A],
    ] as const)
      await (await c.reducerDirectory.connect(op).announce(peer, ADDRS_B)).wait();
    expect(await c.reducerDirectory.operatorsPage(0n, 100n)).to.deep.equal([a, b, cAddr]);
    expect(await c.reducerDirectory.operatorsPage(1n, 1n)).to.deep.equal([b]);
    expect(await c.reducerDirectory.operatorsPage(2n, 5n)).to.deep.equal([cAddr]);
    expect(await c.reducerDirectory.operatorsPage(0n, 0n)).to.deep.equal([]);
    expect(await c.reducerDirectory.operatorsPage(3n, 10n)).to.deep.equal([]);
    // A start near 2^256 must not overflow start + count.
    expect(await c.reducerDirectory.operatorsPage(2n ** 256n - 1n, 100n)).to.deep.equal([]);
    expect(await c.reducerDirectory.operatorsPage(1n, 100n)).to.deep.equal([b, cAddr]);
    await expect(c.reducerDirectory.operatorsPage(0n, 101n))
      .to.be.revertedWithCustomError(c.reducerDirectory, "PageTooLarge")
      .withArgs(101n, 100n);
    await expect(c.reducerDirectory.operatorsPage(0n, 2n ** 256n - 1n))
      .to.be.revertedWithCustomError(c.reducerDirectory, "PageTooLarge")
      .withArgs(2n ** 256n - 1n, 100n);
  });
});
