// Handing a submission over from a throwaway node, against a real libp2p/Helia node on loopback playing the reducer:
// it fetches the block over bitswap from the vault's (dial-only) connection before it signs; a dead address is
// skipped for the reducer's next one; a new peer id each round.
import {
  createIpfsNode,
  encodeBlock,
  encodeSubmitReply,
  getBlock,
  handle,
  type IpfsNode,
  nodeAddresses,
  parseCid,
  SUBMIT_PROTOCOL,
  signReceipt,
} from "@mosaic/protocol";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { memoryStores } from "../../../test/helpers.js";
import { collectReceipts, recordSubmission, Vault } from "../src/index.js";
import { handOverTrying, nodeJobBoard } from "../src/node.js";

describe("vault (Node): handing a submission to a reducer from a throwaway node", function () {
  this.timeout(60_000);
  let reducer: IpfsNode;
  const operator = Wallet.createRandom();
  const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const callers: string[] = [];
  const fetched: string[] = [];

  before(async () => {
    reducer = await createIpfsNode();
    await handle(
      reducer,
      SUBMIT_PROTOCOL,
      async (bytes, ctx) => {
        const req = JSON.parse(new TextDecoder().decode(bytes)) as { job: string; cid: string };
        callers.push(ctx.peer.toString());
        // As a reducer does: the block comes from the asking peer, over bitswap, before anything is signed.
        const block = await getBlock(reducer.blockstore, parseCid(req.cid), { maxBytes: 4096, signal: AbortSignal.timeout(10_000) });
        fetched.push(req.cid);
        expect(block.length).to.be.greaterThan(0);
        const receipt = await signReceipt(operator, { chainId: "31337", registry, jobId: req.job, cid: req.cid, receivedAt: 1 });
        return encodeSubmitReply({ receipt });
      },
      { maxBytes: 1024 },
    );
  });
  after(async () => reducer?.stop());

  it("is fetched from the vault's connection, signed, and each round comes from a new peer id; a dead address falls back", async () => {
    const good = nodeAddresses(reducer)[0] as string;
    const dead = good.replace(/\/tcp\/\d+\//, "/tcp/1/");
    const block = await encodeBlock({ hello: "submission" });
    const job = { chainId: 31337n, registry, jobId: 4n };
    const handOver = handOverTrying(new Map([[dead, [good]]]));
    const first = await handOver(block, [dead], { job }, {});
    const second = await handOver(block, [good], { job }, {});
    for (const [outcome] of [first, second]) {
      expect(outcome && "receipt" in outcome, JSON.stringify(outcome)).to.equal(true);
      if (outcome && "receipt" in outcome)
        expect(outcome.receipt).to.include({ jobId: "4", cid: block.cid.toString(), operator: operator.address });
    }
    expect(first[0]?.peer).to.equal(dead);
    expect(fetched).to.deep.equal([block.cid.toString(), block.cid.toString()]);
    expect(callers).to.have.length(2);
    expect(callers[0]).to.not.equal(callers[1]);
  });

  it("falls back to a reducer's next address when its first refuses the dial, with a dial timeout set", async () => {
    const good = nodeAddresses(reducer)[0] as string;
    const dead = good.replace(/\/tcp\/\d+\//, "/tcp/1/");
    const block = await encodeBlock({ hello: "fallback" });
    const [outcome] = await handOverTrying(new Map([[dead, [good]]]), { dialTimeoutMs: 5_000 })(
      block,
      [dead],
      { job: { chainId: 31337n, registry, jobId: 4n } },
      {},
    );
    expect(outcome && "receipt" in outcome ? outcome.receipt.operator : JSON.stringify(outcome)).to.equal(operator.address);
  });

  it("reports an unreachable reducer as an error outcome, not a throw", async () => {
    const dead = (nodeAddresses(reducer)[0] as string).replace(/\/tcp\/\d+\//, "/tcp/1/");
    const block = await encodeBlock({ hello: "again" });
    const [outcome] = await handOverTrying(new Map())(block, [dead], { job: { chainId: 31337n, registry, jobId: 4n } }, {});
    expect(outcome && "error" in outcome ? outcome.error.name : "no error").to.equal("StreamFailedError");
  });

  describe("a reducer whose address accepts TCP and never speaks", () => {
    let hole: Server;
    const sockets: Socket[] = [];
    let holeAddrs: string[];
    before(async () => {
      hole = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => hole.listen(0, "127.0.0.1", resolve));
      const port = (hole.address() as { port: number }).port;
      // Another peer id than the reducer's, so libp2p cannot reuse the reducer's connection for it.
      const other = await createIpfsNode({ listen: [] });
      const peerId = other.libp2p.peerId.toString();
      await other.stop();
      holeAddrs = [1, 2, 3].map(() => `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hole.close(resolve));
    });

    it("does not hold collectReceipts once the answering reducer's receipt checks", async () => {
      const good = nodeAddresses(reducer)[0] as string;
      const [blackHole] = holeAddrs as [string];
      const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => 0 });
      const job = { chainId: 31337n, registry, jobId: 5n };
      const block = await encodeBlock({ hello: "stalled" });
      await recordSubmission(vault, job, { cid: block.cid.toString(), nullifier: 9n, submittedAt: 1 });
      // The black hole lists three addresses, each of which would cost submitForReceipt's 30 s.
      const handOver = handOverTrying(new Map([[blackHole, holeAddrs.slice(1)]]));
      const staked = new Set([operator.address.toLowerCase()]);
      const started = Date.now();
      const result = await collectReceipts({ handOver, stakedOperators: async () => staked }, vault, job, block, {
        peers: [blackHole, good],
        until: Date.now() + 60_000,
      });
      const took = Date.now() - started;
      expect(result.complete).to.equal(true);
      expect(result.record.receipts.map((r) => r.operator)).to.deep.equal([operator.address]);
      expect(result.refused.map((r) => [r.peer, r.error])).to.deep.equal([[blackHole, "HandOverAbandonedError"]]);
      expect(took).to.be.below(8_000);
    });

    it("a reducer's budget bounds a round even when no receipt comes", async () => {
      const [blackHole] = holeAddrs as [string];
      const block = await encodeBlock({ hello: "budget" });
      const started = Date.now();
      const [outcome] = await handOverTrying(new Map([[blackHole, holeAddrs.slice(1)]]), { reducerBudgetMs: 2_000 })(
        block,
        [blackHole],
        { job: { chainId: 31337n, registry, jobId: 5n } },
        {},
      );
      expect(outcome && "error" in outcome ? outcome.error.name : "no error").to.equal("HandOverAbandonedError");
      expect(Date.now() - started).to.be.below(6_000);
    });

    it("does not hold a spec fetch for it: the node is ready once one reducer is connected", async () => {
      const spec = await encodeBlock({ spec: "bounded" });
      await reducer.blockstore.put(spec.cid, spec.bytes);
      const [blackHole] = holeAddrs as [string];
      const board = nodeJobBoard({
        provider: new JsonRpcProvider("http://127.0.0.1:1", 31337, { staticNetwork: true }),
        chainId: 31337n,
        registry,
        groups: registry,
        peers: [blackHole, nodeAddresses(reducer)[0] as string],
        alternates: new Map([[blackHole, holeAddrs.slice(1)]]),
        dialTimeoutMs: 60_000,
      });
      try {
        const started = Date.now();
        const bytes = await board.components.fetchSpec(spec.cid.toString(), {});
        expect(bytes).to.deep.equal(spec.bytes);
        expect(Date.now() - started).to.be.below(8_000);
      } finally {
        await board.close();
      }
    });
  });
});
