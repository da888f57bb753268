// A node's libp2p identity on disk: created once (0600), the same peer id on every start, a damaged file named.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createIpfsNode, loadOrCreatePeerKey, PeerKeyCorruptError } from "../src/node.js";

describe("loadOrCreatePeerKey", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mosaic-peer-key-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates an Ed25519 key once, mode 0600, and reads the same one back", async () => {
    const file = path.join(dir, "peer.key");
    const first = await loadOrCreatePeerKey(file);
    expect(first.type).to.equal("Ed25519");
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const again = await loadOrCreatePeerKey(file);
    expect(again.publicKey.equals(first.publicKey)).to.equal(true);
    expect(again.equals(first)).to.equal(true);
  });

  it("gives a node the same peer id across restarts", async () => {
    const file = path.join(dir, "peer.key");
    const a = await createIpfsNode({ privateKey: await loadOrCreatePeerKey(file) });
    const id = a.libp2p.peerId.toString();
    await a.stop();
    const b = await createIpfsNode({ privateKey: await loadOrCreatePeerKey(file) });
    expect(b.libp2p.peerId.toString()).to.equal(id);
    await b.stop();
  });

  it("names a corrupt or empty file and leaves it as it is", async () => {
    const file = path.join(dir, "peer.key");
    for (const content of ["not a key at all", ""]) {
      writeFileSync(file, content);
      let err: unknown;
      await loadOrCreatePeerKey(file).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(PeerKeyCorruptError);
      expect((err as Error).message)
        .to.include(file)
        .and.to.include("restore it from a backup");
      expect(readFileSync(file, "utf8")).to.equal(content);
    }
  });
});
