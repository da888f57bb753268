// The portable job board and hand-over (what a browser runs): WebSockets dial-only nodes by default, against a real
// Helia node on loopback listening on /ws and playing the reducer.
import {
  createBrowserIpfsNode,
  createIpfsNode,
  decodeSubmitRequest,
  encodeBlock,
  encodeSubmitReply,
  getBlock,
  handle,
  type IpfsNode,
  isWebSocketsAddress,
  nodeAddresses,
  parseCid,
  SUBMIT_PROTOCOL,
  signReceipt,
} from "@mosaic/protocol";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { handOverTrying, jobBoard, reducerPeers } from "../src/index.js";

describe("vault: the portable job board, from WebSockets nodes", function () {
  this.timeout(60_000);
  let reducer: IpfsNode;
  let ws: string;
  let tcp: string;
  const operator = Wallet.createRandom();
  const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const job = { chainId: 31337n, registry, jobId: 4n };
  const callers: string[] = [];
  const provider = new JsonRpcProvider("http://127.0.0.1:1", 31337, { staticNetwork: true });

  before(async () => {
    reducer = await createIpfsNode({ listen: ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"] });
    ws = nodeAddresses(reducer).find((a) => a.includes("/ws/")) as string;
    tcp = nodeAddresses(reducer).find((a) => !a.includes("/ws/")) as string;
    await handle(
      reducer,
      SUBMIT_PROTOCOL,
      async (bytes, ctx) => {
        const req = decodeSubmitRequest(bytes);
        callers.push(ctx.peer.toString());
        // As a reducer does: the block comes from the asking peer, over bitswap, before anything is signed.
        await getBlock(reducer.blockstore, parseCid(req.cid), { maxBytes: 4096, signal: ctx.signal });
        const receipt = await signReceipt(operator, { chainId: "31337", registry, jobId: req.job, cid: req.cid, receivedAt: 1 });
        return encodeSubmitReply({ receipt });
      },
      { maxBytes: 1024 },
    );
  });
  after(async () => {
    provider.destroy();
    await reducer?.stop();
  });

  it("fetches a spec and hands a submission over through the reducer's /ws address, a new peer id each round", async () => {
    const spec = await encodeBlock({ spec: "from a reducer" });
    await reducer.blockstore.put(spec.cid, spec.bytes);
    const block = await encodeBlock({ hello: "submission over websockets" });
    const made: IpfsNode[] = [];
    const board = jobBoard({
      provider,
      chainId: 31337n,
      registry,
      groups: registry,
      peers: [ws],
      createNode: async () => {
        const node = await createBrowserIpfsNode();
        made.push(node);
        return node;
      },
    });
    try {
      expect(await board.components.fetchSpec(spec.cid.toString(), {})).to.deep.equal(spec.bytes);
      callers.length = 0;
      const first = await board.components.handOver(block, [ws], { job }, {});
      const second = await board.components.handOver(block, [ws], { job }, {});
      for (const [outcome] of [first, second])
        expect(outcome && "receipt" in outcome ? outcome.receipt.cid : outcome).to.equal(block.cid.toString());
      // The spec node and one throwaway node per round, all from createNode; the rounds' peer ids differ.
      expect(made).to.have.length(3);
      expect(callers).to.have.length(2);
      expect(callers[0]).to.not.equal(callers[1]);
      expect(callers).to.not.include(made[0]?.libp2p.peerId.toString());
    } finally {
      await board.close();
    }
  });

  it("handOverTrying's default node dials WebSockets only: a reducer's TCP address is an error outcome, its /ws alternate answers", async () => {
    const block = await encodeBlock({ hello: "a browser's submission" });
    const [onlyTcp] = await handOverTrying(new Map())(block, [tcp], { job }, {});
    expect(onlyTcp && "error" in onlyTcp ? onlyTcp.error.name : "no error").to.equal("StreamFailedError");
    const [fallback] = await handOverTrying(new Map([[tcp, [ws]]]))(block, [tcp], { job }, {});
    expect(fallback && "receipt" in fallback ? fallback.receipt.cid : fallback).to.equal(block.cid.toString());
  });
});

describe("vault: reducerPeers, the reducers of directory records as peers to ask", () => {
  const record = (operator: string, peerId: string, addrs: string[], stake: bigint) => ({
    operator,
    peerId,
    addrs: addrs.map((a) => `${a}/p2p/${peerId}`),
    updatedAt: 0,
    stake,
  });
  const a = record("0xA", "12D3KooA", ["/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4002/ws", "/dns4/a.example/tcp/443/wss"], 9n);
  const b = record("0xB", "12D3KooB", ["/ip4/5.6.7.8/tcp/4001"], 5n);
  // A second operator announcing A's peer: the higher-staked record (first, in stake order) keeps it.
  const c = record("0xC", "12D3KooA", ["/ip4/1.2.3.4/tcp/4001"], 1n);

  it("takes each record's first address, its others as alternates, and the operator of the first record naming a peer", () => {
    const r = reducerPeers([a, b, c]);
    expect(r.peers).to.deep.equal([a.addrs[0], b.addrs[0], c.addrs[0]]);
    expect([...r.alternates]).to.deep.equal([[a.addrs[0], [a.addrs[1], a.addrs[2]]]]);
    expect([...r.operators]).to.deep.equal([
      [a.addrs[0], "0xA"],
      [b.addrs[0], "0xB"],
    ]);
  });

  it("keeps only the addresses `usable` keeps (a browser: WebSockets), leaving out a record with none", () => {
    const r = reducerPeers([a, b, c], isWebSocketsAddress);
    expect(r.peers).to.deep.equal([a.addrs[1]]);
    expect([...r.alternates]).to.deep.equal([[a.addrs[1], [a.addrs[2]]]]);
    expect([...r.operators]).to.deep.equal([[a.addrs[1], "0xA"]]);
    expect(reducerPeers([])).to.deep.equal({ peers: [], alternates: new Map(), operators: new Map() });
  });
});
