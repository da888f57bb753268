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
import { expect } from "chai";
import { Wallet } from "ethers";
import { handOverTrying } from "../src/node.js";

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

  it("reports an unreachable reducer as an error outcome, not a throw", async () => {
    const dead = (nodeAddresses(reducer)[0] as string).replace(/\/tcp\/\d+\//, "/tcp/1/");
    const block = await encodeBlock({ hello: "again" });
    const [outcome] = await handOverTrying(new Map())(block, [dead], { job: { chainId: 31337n, registry, jobId: 4n } }, {});
    expect(outcome && "error" in outcome ? outcome.error.name : "no error").to.equal("StreamFailedError");
  });
});
