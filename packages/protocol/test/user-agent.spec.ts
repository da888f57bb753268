// What a Mosaic node tells its peers about itself through identify: "mosaic" and nothing that links it to a platform.
import type { PeerId } from "@libp2p/interface";
import { expect } from "chai";
import { createBrowserIpfsNode, createIpfsNode, type IpfsNode, MOSAIC_USER_AGENT, nodeAddresses, waitUntil } from "../src/node.js";

/** The AgentVersion `observer`'s peer store holds for `peer`, once identify has run. */
async function agentVersionSeen(observer: IpfsNode, peer: PeerId): Promise<string> {
  let seen: Uint8Array | undefined;
  await waitUntil(
    "identify to record the peer's AgentVersion",
    async () => {
      if (!(await observer.libp2p.peerStore.has(peer))) return false;
      seen = (await observer.libp2p.peerStore.get(peer)).metadata.get("AgentVersion");
      return seen !== undefined;
    },
    { timeoutMs: 10_000 },
  );
  return new TextDecoder().decode(seen);
}

describe("identify announces only MOSAIC_USER_AGENT", function () {
  this.timeout(30_000);
  let reducer: IpfsNode;
  let wsAddress: string;

  before(async () => {
    reducer = await createIpfsNode({ listen: ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"] });
    const found = nodeAddresses(reducer).find((a) => a.includes("/ws/p2p/"));
    if (found === undefined) throw new Error(`no /ws address among ${nodeAddresses(reducer).join(", ")}`);
    wsAddress = found;
  });

  after(async () => {
    await reducer?.stop();
  });

  it('is exactly "mosaic"', () => {
    expect(MOSAIC_USER_AGENT).to.equal("mosaic");
  });

  it("a Node node (createIpfsNode) and the node it dials each see the other as exactly 'mosaic'", async () => {
    const tcpAddress = nodeAddresses(reducer).find((a) => !a.includes("/ws"));
    if (tcpAddress === undefined) throw new Error(`no TCP address among ${nodeAddresses(reducer).join(", ")}`);
    const node = await createIpfsNode({ peers: [tcpAddress] });
    try {
      expect(await agentVersionSeen(reducer, node.libp2p.peerId)).to.equal("mosaic");
      expect(await agentVersionSeen(node, reducer.libp2p.peerId)).to.equal("mosaic");
    } finally {
      await node.stop();
    }
  });

  it("a browser node (createBrowserIpfsNode) is seen by the reducer it dials as exactly 'mosaic'", async () => {
    const browser = await createBrowserIpfsNode({ peers: [wsAddress] });
    try {
      expect(await agentVersionSeen(reducer, browser.libp2p.peerId)).to.equal("mosaic");
      expect(await agentVersionSeen(browser, reducer.libp2p.peerId)).to.equal("mosaic");
    } finally {
      await browser.stop();
    }
  });
});
