// The browser's dial-only WebSockets node, run in Node against a Node node listening on WebSockets at 127.0.0.1.
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  BlockUnavailableError,
  createBrowserIpfsNode,
  createIpfsNode,
  decodeSubmitRequest,
  encodeBlock,
  encodeSubmitReply,
  getBlock,
  handle,
  type IpfsNode,
  nodeAddresses,
  putBlock,
  SUBMIT_PROTOCOL,
  signReceipt,
  submitForReceipt,
  verifyReceipt,
} from "../src/node.js";

const operator = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("createBrowserIpfsNode: a dial-only WebSockets node", function () {
  this.timeout(30_000);
  let reducer: IpfsNode;
  let wsAddress: string;

  before(async () => {
    reducer = await createIpfsNode({ listen: ["/ip4/127.0.0.1/tcp/0/ws"] });
    const found = nodeAddresses(reducer).find((a) => a.includes("/ws/p2p/"));
    if (found === undefined) throw new Error(`no /ws address among ${nodeAddresses(reducer).join(", ")}`);
    wsAddress = found;
  });

  after(async () => {
    await reducer?.stop();
  });

  it("listens nowhere, dials a /ws multiaddr and fetches a block the other node holds over bitswap", async () => {
    const block = await encodeBlock({ hello: "from a reducer" });
    await putBlock(reducer.blockstore, block);
    const browser = await createBrowserIpfsNode({ peers: [wsAddress] });
    try {
      expect(nodeAddresses(browser)).to.deep.equal([]);
      expect(browser.libp2p.getConnections(reducer.libp2p.peerId)).to.have.length.greaterThan(0);
      const bytes = await getBlock(browser.blockstore, block.cid, { maxBytes: 1024, signal: AbortSignal.timeout(10_000) });
      expect(bytes).to.deep.equal(block.bytes);
    } finally {
      await browser.stop();
    }
  });

  it("a block no one holds is a BlockUnavailableError, and the node's store stays empty", async () => {
    const missing = await encodeBlock({ nobody: "holds this" });
    const browser = await createBrowserIpfsNode({ peers: [wsAddress] });
    try {
      let err: unknown;
      await getBlock(browser.blockstore, missing.cid, { maxBytes: 1024, signal: AbortSignal.timeout(1_500) }).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(BlockUnavailableError);
      expect(await browser.blockstore.has(missing.cid)).to.equal(false);
    } finally {
      await browser.stop();
    }
  });

  it("hands a submission over for a receipt: the reducer fetches the block from the browser node's connection", async () => {
    const block = await encodeBlock({ submission: 42 });
    const stop = await handle(
      reducer,
      SUBMIT_PROTOCOL,
      async (bytes, { signal }) => {
        const req = decodeSubmitRequest(bytes);
        // As a reducer does: the block comes from the vault over the same connection.
        const fetched = await getBlock(reducer.blockstore, block.cid, { maxBytes: 4096, signal });
        expect(fetched).to.deep.equal(block.bytes);
        const receipt = await signReceipt(operator, { chainId: "31337", registry, jobId: req.job, cid: req.cid, receivedAt: Date.now() });
        return encodeSubmitReply({ receipt });
      },
      { maxBytes: 1024 },
    );
    const browser = await createBrowserIpfsNode();
    try {
      await putBlock(browser.blockstore, block);
      const receipt = await submitForReceipt(browser, wsAddress, { job: "4", cid: block.cid.toString() });
      const cid = block.cid.toString();
      expect(verifyReceipt(receipt, { chainId: "31337", registry, jobId: "4", cid, operators: new Set([operator.address]) })).to.equal(
        operator.address,
      );
    } finally {
      await browser.stop();
      await stop();
    }
  });
});
