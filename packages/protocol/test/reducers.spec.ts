// Finding reducers from the chain (readReducers) and announcing one (announceReducer), on the in-process chain.
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { expect } from "chai";
import { AbiCoder, concat, getBytes, NonceManager, parseEther, type Signer, toUtf8Bytes, Wallet } from "ethers";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import {
  announceReducer,
  type ChainConnection,
  DirectoryMismatchError,
  deployMosaic,
  dialableAddr,
  isPeerId,
  type MosaicContracts,
  type ReducerDirectory,
  ReducerDirectory__factory,
  ReducerNotStakedError,
  readReducers,
  type SkippedReducer,
} from "../src/node.js";
import { localRpc, nonPublicHost } from "../src/reducers.js";

const PEER_A = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
const PEER_B = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK";
/** An RSA key's peer id (sha2-256 multihash). */
const PEER_RSA = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

async function expectRejected(promise: Promise<unknown>, name: string, message?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${name}`).to.be.instanceOf(Error);
  expect((caught as Error).name).to.equal(name);
  if (message) expect((caught as Error).message).to.match(message);
  return caught as Error;
}

describe("peer ids and multiaddrs from the directory", () => {
  it("isPeerId: base58 identity and sha2-256 multihashes, CIDv1 libp2p-key; nothing else", () => {
    // The same key's id as a CIDv1 with the libp2p-key codec (0x72), base32.
    const asCid = CID.createV1(0x72, Digest.decode(base58btc.baseDecode(PEER_A))).toString();
    expect(asCid.startsWith("bafz")).to.equal(true);
    for (const id of [PEER_A, PEER_B, PEER_RSA, asCid]) expect(isPeerId(id), id).to.equal(true);
    for (const bad of [
      "",
      "garbage",
      "12D3KooW",
      "Qm",
      `${PEER_A}x`,
      "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74",
      "/p2p/x",
      "1".repeat(200),
    ])
      expect(isPeerId(bad), bad).to.equal(false);
    expect(isPeerId(42 as unknown as string)).to.equal(false);
  });

  it("dialableAddr: appends /p2p/<peerId>, keeps a matching one, refuses the rest with a reason", () => {
    expect(dialableAddr("/ip4/127.0.0.1/tcp/4001", PEER_A)).to.equal(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`);
    expect(dialableAddr(`/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER_A}`, PEER_A)).to.equal(`/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER_A}`);
    expect(dialableAddr("/dns4/reducer.example/tcp/443/wss", PEER_A)).to.equal(`/dns4/reducer.example/tcp/443/wss/p2p/${PEER_A}`);
    // Through a relay: the relay's peer first, the reducer's last.
    const relayed = `/ip4/10.0.0.1/tcp/4001/p2p/${PEER_B}/p2p-circuit/p2p/${PEER_A}`;
    expect(dialableAddr(relayed, PEER_A)).to.equal(relayed);
    const refused: [unknown, RegExp][] = [
      ["", /starting with "\/"/],
      ["ip4/1.2.3.4/tcp/1", /starting with "\/"/],
      [7, /starting with "\/"/],
      ["/ip4/999.1.1.1/tcp/1", /IPv4/],
      ["/ip4/1.2.3.4/tcp/70000", /65535/],
      ["/nonsense/1", /unknown/i],
      [`/ip4/1.2.3.4/tcp/1/p2p/${PEER_B}`, /names peer/],
      [`/ip4/1.2.3.4/tcp/1/p2p/${PEER_A}/ws`, /not the last/],
      ["/ip4/1.2.3.4/tcp/1/p2p/garbage", /./],
      ["/dns4/r\u00e9ducteur.example/tcp/1", /printable ASCII/],
      ["/dns4/a b/tcp/1", /printable ASCII/],
      [`/dns4/${"a".repeat(300)}/tcp/1`, /longer than 256 bytes/],
    ];
    for (const [addr, why] of refused) {
      let caught: unknown;
      try {
        dialableAddr(addr, PEER_A);
      } catch (err) {
        caught = err;
      }
      expect(caught, String(addr)).to.be.instanceOf(Error);
      expect((caught as Error).message, String(addr)).to.match(why);
    }
  });

  it("localRpc: a chain on this machine or a private network (where reducers may announce private addresses)", () => {
    for (const url of [
      "http://127.0.0.1:8545",
      "ws://localhost:8546",
      "http://10.0.0.5:8545",
      "http://[::1]:8545",
      "http://node.localhost",
    ])
      expect(localRpc(url), url).to.equal(true);
    for (const url of ["https://mainnet.example.org", "https://8.8.8.8", "http://in-process", "not a url"])
      expect(localRpc(url), url).to.equal(false);
  });

  it("nonPublicHost: loopback, private, shared, link-local and unspecified hosts, IPv4-mapped and relays included", () => {
    const nonPublic = [
      "/ip4/127.0.0.1/tcp/1",
      "/ip4/127.255.0.9/tcp/1",
      "/ip4/10.0.0.1/tcp/1",
      "/ip4/172.16.0.1/tcp/1",
      "/ip4/172.31.255.255/tcp/1",
      "/ip4/192.168.1.1/tcp/1",
      "/ip4/100.64.0.1/tcp/1",
      "/ip4/100.127.255.255/tcp/1",
      "/ip4/169.254.169.254/tcp/80",
      "/ip4/0.0.0.0/tcp/1",
      "/ip6/::/tcp/1",
      "/ip6/::1/tcp/1",
      "/ip6/fc00::1/tcp/1",
      "/ip6/fdff:ffff::1/tcp/1",
      "/ip6/fe80::1/tcp/1",
      "/ip6/febf:ffff::1/tcp/1",
      "/ip6/::ffff:10.0.0.1/tcp/1",
      "/ip6/::ffff:127.0.0.1/tcp/1",
      "/dns4/localhost/tcp/1",
      "/dns6/LOCALHOST./tcp/1",
      "/dns/db.localhost/tcp/1",
      `/ip4/192.168.0.1/tcp/4001/p2p/${PEER_B}/p2p-circuit/p2p/${PEER_A}`,
    ];
    for (const addr of nonPublic) expect(nonPublicHost(addr), addr).to.be.a("string");
    const isPublic = [
      "/ip4/8.8.8.8/tcp/1",
      "/ip4/203.0.113.7/tcp/4001",
      "/ip4/172.15.255.255/tcp/1",
      "/ip4/172.32.0.1/tcp/1",
      "/ip4/100.63.255.255/tcp/1",
      "/ip4/100.128.0.1/tcp/1",
      "/ip4/192.169.0.1/tcp/1",
      "/ip4/169.253.0.1/tcp/1",
      "/ip4/11.0.0.1/tcp/1",
      "/ip6/2001:db8::1/tcp/1",
      "/ip6/fec0::1/tcp/1",
      "/ip6/::ffff:8.8.8.8/tcp/1",
      "/dns4/reducer.example/tcp/443/wss",
      "/dns4/localhost.example/tcp/1",
      `/ip4/198.51.100.2/tcp/4001/p2p/${PEER_B}/p2p-circuit/p2p/${PEER_A}`,
    ];
    for (const addr of isPublic) expect(nonPublicHost(addr), addr).to.equal(undefined);
    expect(nonPublicHost("/ip4/10.1.2.3/tcp/1")).to.equal("10.1.2.3 is not a public address");
  });
});

/**
 * The directory as a reader sees it, with `reducerOf` of the operators in `bad` answered by `answer` instead: a way to
 * serve a record the fixed contract refuses (invalid UTF-8), or a failing call, to readReducers.
 */
function withBadRecords(directory: ReducerDirectory, bad: Map<string, () => Promise<unknown>>, calls: string[] = []): ReducerDirectory {
  return new Proxy(directory, {
    get(target, prop) {
      if (prop === "reducerOf")
        return (operator: string, overrides?: object) => {
          calls.push(operator);
          const answer = bad.get(operator);
          return answer === undefined ? target.reducerOf(operator, overrides ?? {}) : answer();
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** What a reducerOf call returns when the record's bytes are not UTF-8: ethers' own decoding of them (it defers the error). */
function decodedBadRecord(directory: ReducerDirectory, peerId: Uint8Array, addrs: Uint8Array[]): unknown {
  const data = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[]", "uint64"], [peerId, addrs, 7n]);
  return directory.interface.decodeFunctionResult("reducerOf", data);
}

describe("readReducers and announceReducer", function () {
  this.timeout(120_000);
  let chain: ChainConnection;
  let c: MosaicContracts;
  let deployer: Signer, opA: Signer, opB: Signer, opC: Signer, outsider: Signer;
  let a: string, b: string, cAddr: string;

  before(async () => {
    chain = await connectInProcessChain();
    [deployer, opA, opB, opC, outsider] = chain.accounts as [Signer, Signer, Signer, Signer, Signer];
    [a, b, cAddr] = (await Promise.all([opA, opB, opC].map((s) => s.getAddress()))) as [string, string, string];
  });
  after(async () => {
    await chain.close();
  });
  beforeEach(async () => {
    c = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
  });

  async function stakeAndAnnounce(op: Signer, stake: bigint, peerId: string, addrs: string[]): Promise<void> {
    await (await c.jobRegistry.connect(op).stake({ value: stake })).wait();
    await (await c.reducerDirectory.connect(op).announce(peerId, addrs)).wait();
  }

  it("deployMosaic: deploys the directory against its registry and returns the first deployment's block", async () => {
    expect(await c.reducerDirectory.registry()).to.equal(c.addresses.jobRegistry);
    const latest = await chain.provider.getBlockNumber();
    // Ten deployments (Poseidon, verifier, Semaphore, groups, two policies, registry, directory, SharedJobs,
    // ExposureFeeds, AlertFeeds), one block each.
    expect(c.deployBlock).to.equal(latest - 10);
    expect(await chain.provider.getCode(c.addresses.reducerDirectory)).to.not.equal("0x");
  });

  it("an empty directory reads as no reducers", async () => {
    expect(await readReducers(c.reducerDirectory, c.jobRegistry)).to.deep.equal([]);
  });

  it("returns staked operators' records, dialable, by stake (highest first), stamped with their announce time", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/127.0.0.1/tcp/4001", `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER_A}`]);
    const atA = await chain.now();
    await stakeAndAnnounce(opB, parseEther("3"), PEER_B, ["/dns4/b.example/tcp/443/wss"]);
    const atB = await chain.now();
    const reducers = await readReducers(c.reducerDirectory, c.jobRegistry);
    expect(reducers).to.deep.equal([
      { operator: b, peerId: PEER_B, addrs: [`/dns4/b.example/tcp/443/wss/p2p/${PEER_B}`], updatedAt: atB, stake: parseEther("3") },
      {
        operator: a,
        peerId: PEER_A,
        addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER_A}`],
        updatedAt: atA,
        stake: parseEther("1"),
      },
    ]);
    // A job's minStake leaves out the smaller operator; one above everyone's leaves nobody.
    expect((await readReducers(c.reducerDirectory, c.jobRegistry, { minStake: parseEther("2") })).map((r) => r.operator)).to.deep.equal([
      b,
    ]);
    expect(await readReducers(c.reducerDirectory, c.jobRegistry, { minStake: parseEther("4") })).to.deep.equal([]);
    // The read-only view (a provider, no signer) reads the same.
    const readOnly = ReducerDirectory__factory.connect(c.addresses.reducerDirectory, chain.provider);
    expect(await readReducers(readOnly, c.jobRegistry.connect(chain.provider))).to.deep.equal(reducers);
  });

  it("skips a record with garbage multiaddrs or a bad peer id, drops bad multiaddrs, and still returns the honest ones", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/127.0.0.1/tcp/4001"]);
    // All garbage: the contract checks lengths and printable ASCII only.
    await stakeAndAnnounce(opB, parseEther("5"), PEER_B, [
      "not-a-multiaddr",
      "/ip4/999.0.0.1/tcp/1",
      `/ip4/1.2.3.4/tcp/1/p2p/${PEER_A}`,
      "/%00",
    ]);
    // A peer id that is not one, with a fine multiaddr.
    await stakeAndAnnounce(opC, parseEther("5"), "<script>alert(1)</script>", ["/ip4/127.0.0.1/tcp/4003"]);
    // A staked outsider with one good and one bad multiaddr: kept, with the good one.
    await stakeAndAnnounce(outsider, parseEther("2"), PEER_RSA, ["/ip4/127.0.0.1/tcp/4004", "/ip4/127.0.0.1/tcp/99999"]);
    const skipped: SkippedReducer[] = [];
    const reducers = await readReducers(c.reducerDirectory, c.jobRegistry, { onSkip: (s) => skipped.push(s) });
    const outsiderAddr = await outsider.getAddress();
    expect(reducers.map((r) => [r.operator, r.peerId, r.addrs])).to.deep.equal([
      [outsiderAddr, PEER_RSA, [`/ip4/127.0.0.1/tcp/4004/p2p/${PEER_RSA}`]],
      [a, PEER_A, [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`]],
    ]);
    // B: four addrs dropped, then the record; C: the record (its peer id); the outsider: one addr.
    expect(skipped.filter((s) => s.operator === b && s.addr !== undefined).map((s) => s.addr)).to.have.length(4);
    expect(skipped.filter((s) => s.operator === b && s.addr === undefined).map((s) => s.reason)).to.deep.equal([
      "none of its 4 multiaddrs is dialable",
    ]);
    expect(skipped.filter((s) => s.operator === cAddr).map((s) => s.reason)).to.deep.equal([
      'peer id "<script>alert(1)</script>" is not a libp2p peer id',
    ]);
    expect(skipped.filter((s) => s.operator === outsiderAddr).map((s) => s.addr)).to.deep.equal(["/ip4/127.0.0.1/tcp/99999"]);
    expect(skipped).to.have.length(7);
    // Without onSkip the read succeeds all the same.
    expect(await readReducers(c.reducerDirectory, c.jobRegistry)).to.deep.equal(reducers);
  });

  it("leaves out an operator whose stake is gone, before and after it is pruned", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/127.0.0.1/tcp/4001"]);
    await stakeAndAnnounce(opB, parseEther("1"), PEER_B, ["/ip4/127.0.0.1/tcp/4002"]);
    await (await c.jobRegistry.connect(opA).requestUnstake(parseEther("1"))).wait();
    expect((await readReducers(c.reducerDirectory, c.jobRegistry)).map((r) => r.operator)).to.deep.equal([b]);
    await (await c.reducerDirectory.connect(outsider).prune(a)).wait();
    expect(await c.reducerDirectory.operatorCount()).to.equal(1n);
    expect((await readReducers(c.reducerDirectory, c.jobRegistry)).map((r) => r.operator)).to.deep.equal([b]);
  });

  it("pages through more operators than one page holds", async function () {
    this.timeout(300_000);
    const n = 105;
    const wallets = Array.from({ length: n }, () => new NonceManager(Wallet.createRandom().connect(chain.provider)));
    for (const [i, w] of wallets.entries()) {
      const addr = await w.getAddress();
      await (await deployer.sendTransaction({ to: addr, value: parseEther("0.1") })).wait();
      // Stakes 1..n wei: the read orders them highest first.
      await (await c.jobRegistry.connect(w).stake({ value: BigInt(i + 1) })).wait();
      await (await c.reducerDirectory.connect(w).announce(i % 2 ? PEER_A : PEER_B, [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`])).wait();
    }
    expect(await c.reducerDirectory.operatorCount()).to.equal(BigInt(n));
    const reducers = await readReducers(c.reducerDirectory, c.jobRegistry, { maxRecords: Number.POSITIVE_INFINITY });
    expect(reducers).to.have.length(n);
    expect(reducers.map((r) => r.stake)).to.deep.equal(Array.from({ length: n }, (_, i) => BigInt(n - i)));
    expect(new Set(reducers.map((r) => r.operator)).size).to.equal(n);
    expect(reducers[0]?.addrs).to.deep.equal([`/ip4/10.0.0.104/tcp/4001/p2p/${PEER_B}`]);
    expect((await readReducers(c.reducerDirectory, c.jobRegistry, { minStake: 101n })).map((r) => r.stake)).to.deep.equal([
      105n,
      104n,
      103n,
      102n,
      101n,
    ]);
    // By default the 32 highest-staked, and only the records of those (and one batch more at most) are read.
    const calls: string[] = [];
    const capped = await readReducers(withBadRecords(c.reducerDirectory, new Map(), calls), c.jobRegistry);
    expect(capped.map((r) => r.stake)).to.deep.equal(Array.from({ length: 32 }, (_, i) => BigInt(n - i)));
    expect(calls.length).to.be.at.most(48);
    expect(capped).to.deep.equal(reducers.slice(0, 32));
    expect((await readReducers(c.reducerDirectory, c.jobRegistry, { maxRecords: 3, minStake: 104n })).map((r) => r.stake)).to.deep.equal([
      105n,
      104n,
    ]);
  });

  it("maxRecords: the highest-staked dialable records; a skipped one does not take a place", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/203.0.113.1/tcp/4001"]);
    await stakeAndAnnounce(opB, parseEther("3"), PEER_B, ["/ip4/203.0.113.2/tcp/4001"]);
    // The highest stake, but nothing dialable: skipped, and the next two take the places.
    await stakeAndAnnounce(opC, parseEther("9"), PEER_A, ["/ip4/203.0.113.3/tcp/99999"]);
    const skipped: SkippedReducer[] = [];
    const two = await readReducers(c.reducerDirectory, c.jobRegistry, { maxRecords: 2, onSkip: (s) => skipped.push(s) });
    expect(two.map((r) => r.operator)).to.deep.equal([b, a]);
    expect(skipped.filter((s) => s.addr === undefined).map((s) => s.operator)).to.deep.equal([cAddr]);
    expect((await readReducers(c.reducerDirectory, c.jobRegistry, { maxRecords: 1 })).map((r) => r.operator)).to.deep.equal([b]);
    for (const bad of [0, -1, 1.5, Number.NaN, "3" as unknown as number])
      await expectRejected(readReducers(c.reducerDirectory, c.jobRegistry, { maxRecords: bad }), "RangeError", /maxRecords/);
  });

  it("a record that does not decode (invalid UTF-8) or whose read fails is skipped, not fatal for the others", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/203.0.113.1/tcp/4001"]);
    await stakeAndAnnounce(opB, parseEther("2"), PEER_B, ["/ip4/203.0.113.2/tcp/4001"]);
    await stakeAndAnnounce(opC, parseEther("3"), PEER_RSA, ["/ip4/203.0.113.3/tcp/4001"]);
    const honest = await readReducers(c.reducerDirectory, c.jobRegistry);
    expect(honest.map((r) => r.operator)).to.deep.equal([cAddr, b, a]);
    // Finding 2: what an older directory (lengths checked only) served for a peer id with 0xff, or an overlong 0xc0 0xaf.
    const peer = toUtf8Bytes(PEER_B);
    const badPeer = getBytes(concat([peer.slice(0, 5), "0xff", peer.slice(5)]));
    const overlong = getBytes(concat([toUtf8Bytes("/ip4/203.0.113.2/tcp/4001/"), "0xc0af"]));
    for (const record of [
      decodedBadRecord(c.reducerDirectory, badPeer, [toUtf8Bytes("/ip4/203.0.113.2/tcp/4001")]),
      decodedBadRecord(c.reducerDirectory, peer, [overlong]),
    ]) {
      const skipped: SkippedReducer[] = [];
      const directory = withBadRecords(c.reducerDirectory, new Map([[b, async () => record]]));
      const read = await readReducers(directory, c.jobRegistry, { onSkip: (s) => skipped.push(s) });
      expect(read).to.deep.equal([honest[0], honest[2]]);
      expect(skipped.map((s) => [s.operator, s.addr])).to.deep.equal([[b, undefined]]);
      expect(skipped[0]?.reason).to.match(/^its record could not be read: .*deferred error during ABI decoding/);
    }
    // A call that reverts for one operator (a contract that misbehaves for it) is skipped the same way.
    const reverted = Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION" });
    const skipped: SkippedReducer[] = [];
    const read = await readReducers(withBadRecords(c.reducerDirectory, new Map([[a, () => Promise.reject(reverted)]])), c.jobRegistry, {
      onSkip: (s) => skipped.push(s),
    });
    expect(read).to.deep.equal(honest.slice(0, 2));
    expect(skipped).to.deep.equal([{ operator: a, reason: "its record could not be read: execution reverted" }]);
    // The provider failing is not a bad record: the read fails, rather than reporting no reducers.
    const down = Object.assign(new Error("could not connect"), { code: "NETWORK_ERROR" });
    await expectRejected(
      readReducers(withBadRecords(c.reducerDirectory, new Map([[a, () => Promise.reject(down)]])), c.jobRegistry),
      "Error",
      /could not connect/,
    );
  });

  it("allowPrivate false: drops multiaddrs at hosts that are not public, and a record left with none", async () => {
    await stakeAndAnnounce(opA, parseEther("1"), PEER_A, ["/ip4/10.0.0.7/tcp/4001", "/ip4/203.0.113.1/tcp/4001", "/dns4/localhost/tcp/1"]);
    await stakeAndAnnounce(opB, parseEther("2"), PEER_B, [
      "/ip4/127.0.0.1/tcp/4002",
      "/ip6/fe80::1/tcp/4002",
      "/ip4/169.254.169.254/tcp/80",
    ]);
    await stakeAndAnnounce(opC, parseEther("3"), PEER_RSA, ["/dns4/reducer.example/tcp/443/wss", "/ip6/::ffff:192.168.0.1/tcp/1"]);
    // The default (for now) keeps them all.
    const all = await readReducers(c.reducerDirectory, c.jobRegistry);
    expect(all.map((r) => r.addrs.length)).to.deep.equal([2, 3, 3]);
    expect(await readReducers(c.reducerDirectory, c.jobRegistry, { allowPrivate: true })).to.deep.equal(all);
    const skipped: SkippedReducer[] = [];
    const read = await readReducers(c.reducerDirectory, c.jobRegistry, { allowPrivate: false, onSkip: (s) => skipped.push(s) });
    expect(read.map((r) => [r.operator, r.addrs])).to.deep.equal([
      [cAddr, [`/dns4/reducer.example/tcp/443/wss/p2p/${PEER_RSA}`]],
      [a, [`/ip4/203.0.113.1/tcp/4001/p2p/${PEER_A}`]],
    ]);
    expect(skipped.map((s) => [s.operator, s.addr])).to.deep.equal([
      [cAddr, "/ip6/::ffff:192.168.0.1/tcp/1"],
      [b, "/ip4/127.0.0.1/tcp/4002"],
      [b, "/ip6/fe80::1/tcp/4002"],
      [b, "/ip4/169.254.169.254/tcp/80"],
      [b, undefined],
      [a, "/ip4/10.0.0.7/tcp/4001"],
      [a, "/dns4/localhost/tcp/1"],
    ]);
    expect(skipped[1]?.reason).to.equal('multiaddr "/ip4/127.0.0.1/tcp/4002": 127.0.0.1 is not a public address (allowPrivate is off)');
    await expectRejected(
      readReducers(c.reducerDirectory, c.jobRegistry, { allowPrivate: "no" as unknown as boolean }),
      "TypeError",
      /allowPrivate/,
    );
  });

  it("refuses a directory that reads another registry's stakes, and an aborted read", async () => {
    const other = await (await new ReducerDirectory__factory(deployer).deploy(c.addresses.avatarGroups)).waitForDeployment();
    await expectRejected(readReducers(other, c.jobRegistry), "DirectoryMismatchError", /reads stakes from/);
    expect(DirectoryMismatchError.name).to.equal("DirectoryMismatchError");
    const controller = new AbortController();
    controller.abort();
    await expectRejected(readReducers(c.reducerDirectory, c.jobRegistry, { signal: controller.signal }), "AbortError");
    await expectRejected(readReducers(c.reducerDirectory, c.jobRegistry, { minStake: -1n }), "RangeError", /minStake/);
  });

  it("announceReducer: sends only when the record changes", async () => {
    await (await c.jobRegistry.connect(opA).stake({ value: parseEther("1") })).wait();
    const directory = c.reducerDirectory.connect(opA);
    const nonce = () => chain.provider.getTransactionCount(a);
    const record = { peerId: PEER_A, addrs: ["/ip4/127.0.0.1/tcp/4001", `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER_A}`] };
    const first = await announceReducer(directory, record);
    expect(first.changed).to.equal(true);
    const receipt = await chain.provider.getTransactionReceipt(first.txHash);
    expect(receipt?.status).to.equal(1);
    expect(receipt?.to).to.equal(c.addresses.reducerDirectory);
    const [peerId, addrs] = await c.reducerDirectory.reducerOf(a);
    expect([peerId, [...addrs]]).to.deep.equal([record.peerId, record.addrs]);
    // The same record again: no transaction.
    const before = await nonce();
    expect(await announceReducer(directory, { peerId: PEER_A, addrs: [...record.addrs] })).to.deep.equal({ txHash: "", changed: false });
    expect(await nonce()).to.equal(before);
    // The same addrs in another order is another record (readers dial in the order given).
    const reordered = await announceReducer(directory, { peerId: PEER_A, addrs: [...record.addrs].reverse() });
    expect(reordered.changed).to.equal(true);
    expect(await nonce()).to.equal(before + 1);
    const after = await readReducers(c.reducerDirectory, c.jobRegistry);
    expect(after[0]?.addrs).to.deep.equal([`/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER_A}`, `/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`]);
  });

  it("announceReducer: bad input and an unstaked operator fail named, before any transaction", async () => {
    await (await c.jobRegistry.connect(opA).stake({ value: parseEther("1") })).wait();
    await (await c.reducerDirectory.connect(opA).announce(PEER_A, ["/ip4/127.0.0.1/tcp/4001"])).wait();
    const directory = c.reducerDirectory.connect(opA);
    const state = async () =>
      JSON.stringify([await c.reducerDirectory.reducerOf(a), await chain.provider.getTransactionCount(a)], (_k, v) =>
        typeof v === "bigint" ? v.toString() : v,
      );
    const before = await state();
    const bad: [{ peerId: string; addrs: string[] }, string, RegExp][] = [
      [{ peerId: "", addrs: ["/ip4/127.0.0.1/tcp/1"] }, "TypeError", /^peerId/],
      [{ peerId: "nope", addrs: ["/ip4/127.0.0.1/tcp/1"] }, "TypeError", /^peerId/],
      [{ peerId: PEER_A, addrs: [] }, "RangeError", /^addrs: expected 1 to 8 multiaddrs, got 0/],
      [{ peerId: PEER_A, addrs: Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${4000 + i}`) }, "RangeError", /got 9/],
      [{ peerId: PEER_A, addrs: ["/ip4/127.0.0.1/tcp/1", "127.0.0.1:4001"] }, "TypeError", /^addrs\[1\]/],
      [{ peerId: PEER_A, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${PEER_B}`] }, "TypeError", /names peer/],
      [{ peerId: PEER_A, addrs: [`/dns4/${"a".repeat(260)}/tcp/1`] }, "TypeError", /longer than 256 bytes/],
      [{ peerId: PEER_A, addrs: "/ip4/127.0.0.1/tcp/1" as unknown as string[] }, "RangeError", /^addrs/],
    ];
    for (const [record, name, message] of bad) {
      await expectRejected(announceReducer(directory, record), name, message);
      expect(await state(), JSON.stringify(record)).to.equal(before);
    }
    // Unstaked: named, with what to do; nothing sent.
    const nonce = await chain.provider.getTransactionCount(b);
    await expectRejected(
      announceReducer(c.reducerDirectory.connect(opB), { peerId: PEER_B, addrs: ["/ip4/127.0.0.1/tcp/4002"] }),
      "ReducerNotStakedError",
      /stake first/,
    );
    expect(ReducerNotStakedError.name).to.equal("ReducerNotStakedError");
    expect(await chain.provider.getTransactionCount(b)).to.equal(nonce);
    // A read-only handle cannot announce.
    await expectRejected(
      announceReducer(ReducerDirectory__factory.connect(c.addresses.reducerDirectory, chain.provider), {
        peerId: PEER_A,
        addrs: ["/ip4/127.0.0.1/tcp/1"],
      }),
      "TypeError",
      /signer/,
    );
    expect(await state()).to.equal(before);
  });
});
