// A reducer node given a health authority's hotspot key files answers private hotspot checks: real libp2p nodes on
// 127.0.0.1 and the in-process chain. The node fetches each set's signed document from the authority's node and holds
// it, so a vault that found the node reads the set there too; it answers a vault's checkHotspots for the sets it has a
// key for, refuses others by name, counts on its status port, and stops serving a set whose key file's key is not the
// document's. A damaged key file or a bad hotspotKeys field is a named error, with nothing started.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  buildHotspotSet,
  encodeHotspotSet,
  generatePsiKeyPair,
  type HotspotSet,
  hotspotItem,
  PsiRefusedError,
  placeCell,
} from "@mosaic/exposure";
import {
  type Block,
  type ChainConnection,
  createIpfsNode,
  createLogger,
  deployMosaic,
  dialPeer,
  type IpfsNode,
  type MosaicContracts,
  nodeAddresses,
  putBlock,
} from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { checkHotspots, loadHotspotSet } from "@mosaic/vault";
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  createReducerNode,
  encodeHotspotKeyFile,
  HotspotKeyFileError,
  hotspotKeyFileName,
  parseHotspotKeyFile,
  parseReducerConfig,
  ReducerConfigError,
  type ReducerNode,
} from "../src/index.js";

const HOUR_S = 3600;
const START = 1_764_892_800; // a UTC midnight

describe("a reducer node answers private hotspot checks for the sets whose keys it was handed", function () {
  this.timeout(180_000);
  let chain: ChainConnection;
  let contracts: MosaicContracts;
  let work: string;
  let authorityNode: IpfsNode;
  let vault: IpfsNode | undefined;
  const nodes: ReducerNode[] = [];
  const authority = Wallet.createRandom();
  const keys = generatePsiKeyPair();
  const otherKeys = generatePsiKeyPair();
  const cafe = placeCell(52.3705, 4.8905);
  const hot = START + 10 * HOUR_S;
  let set: HotspotSet;
  let otherSet: HotspotSet;
  let block: Block;
  let otherBlock: Block;

  const configOf = (name: string, extra: Record<string, unknown>) =>
    parseReducerConfig(
      {
        rpcUrl: "http://in-process",
        registry: contracts.addresses.jobRegistry,
        operatorKeyFile: "unused",
        dataDir: path.join(work, name),
        http: { host: "127.0.0.1", port: 0 },
        verifier: { threads: 1, batchSize: 4, batchWaitMs: 50 },
        pollMs: 150,
        fetchTimeoutMs: 5000,
        wsListen: "",
        ...extra,
      },
      path.join(work, `${name}.json`),
    );
  const keyFile = async (name: string, cid: string, k: { secretKey: Uint8Array; publicKey: Uint8Array }) => {
    const file = path.join(work, name);
    await writeFile(file, encodeHotspotKeyFile({ cid, feedId: "1", ...k }), { mode: 0o600 });
    return file;
  };
  const startNode = async (name: string, account: number, hotspotKeys: string[]) => {
    const node = createReducerNode(configOf(name, { hotspotKeys, peers: nodeAddresses(authorityNode).slice(0, 1) }), {
      chain,
      signer: chain.accounts[account],
      logger: createLogger(name, "error"),
    });
    nodes.push(node);
    return { node, status: await node.start() };
  };
  const psiStatus = async (url: string) => {
    const res = await fetch(`${url}/psi`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-psi-node-"));
    chain = await connectInProcessChain();
    contracts = await deployMosaic(chain.accounts[0] as NonNullable<(typeof chain.accounts)[0]>);
    const items = [0, 1, 2].map((h) => hotspotItem(cafe, hot + h * HOUR_S));
    set = buildHotspotSet(keys.secretKey, items, { feedId: "1", from: START, to: START + 86_400 });
    block = await encodeHotspotSet(set, authority);
    otherSet = buildHotspotSet(otherKeys.secretKey, items, { feedId: "1", from: START, to: START + 86_400 });
    otherBlock = await encodeHotspotSet(otherSet, authority);
    // The authority's node holds both documents; the reducer nodes are pointed at it (config `peers`).
    authorityNode = await createIpfsNode();
    await putBlock(authorityNode.blockstore, block);
    await putBlock(authorityNode.blockstore, otherBlock);
  });

  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await vault?.stop();
    await authorityNode?.stop();
    await chain?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("holds the set's document, answers a vault's check with the set's key, refuses a set it has no key for, and counts", async () => {
    const file = await keyFile(hotspotKeyFileName(block.cid.toString()), block.cid.toString(), keys);
    const { status } = await startNode("reducer-0", 1, [file]);
    // The vault dials the reducer node only: the set's document comes from it, not from the authority.
    vault = await createIpfsNode();
    const addr = status.addresses.find((a) => a.includes("/127.0.0.1/tcp/")) as string;
    await dialPeer(vault, addr, { signal: AbortSignal.timeout(5000) });
    const loaded = await loadHotspotSet(
      { blocks: vault.blockstore },
      { cid: block.cid.toString(), authority: authority.address, signal: AbortSignal.timeout(30_000) },
    );
    expect(loaded.tags).to.have.length(3);

    const visits = [hotspotItem(cafe, hot + HOUR_S), hotspotItem(cafe, hot + 5 * HOUR_S), hotspotItem(placeCell(52.4, 4.9), hot)];
    const found = await checkHotspots({ libp2p: vault.libp2p }, { set: loaded, setCid: block.cid.toString(), peer: addr, items: visits });
    expect(found).to.deep.equal([visits[0]]);
    expect(await psiStatus(status.http)).to.deep.equal({ status: 200, body: { sets: 1, queries: 1, items: 128, refused: {} } });

    // A set this node holds no key for: refused by name, and counted as such.
    let err: unknown;
    await checkHotspots({ libp2p: vault.libp2p }, { set: otherSet, setCid: otherBlock.cid.toString(), peer: addr, items: visits }).catch(
      (e) => {
        err = e;
      },
    );
    expect(err).to.be.instanceOf(PsiRefusedError);
    expect((err as PsiRefusedError).reason).to.equal("UnknownHotspotSetError");
    const after = await psiStatus(status.http);
    expect(after.body).to.deep.equal({ sets: 1, queries: 1, items: 128, refused: { UnknownHotspotSetError: 1 } });
    const metrics = await (await fetch(`${status.http}/metrics`)).text();
    expect(metrics).to.match(/^mosaic_psi_queries_total 1$/m);
    expect(metrics).to.match(/^mosaic_psi_items_total 128$/m);
    expect(metrics).to.match(/^mosaic_psi_refused_total\{reason="UnknownHotspotSetError"\} 1$/m);
  });

  it("stops serving a set whose key file holds another key than the set's document names, and a node without keys has no /psi", async () => {
    // An operator handed (or keeping) a wrong key for the set: every vault's proof check would fail against it.
    const wrong = await keyFile("wrong.key.json", block.cid.toString(), otherKeys);
    const { node, status } = await startNode("reducer-1", 2, [wrong]);
    const addr = status.addresses.find((a) => a.includes("/127.0.0.1/tcp/")) as string;
    for (let i = 0; i < 100 && node.psi()?.sets !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(node.psi()).to.deep.include({ sets: 0 });
    let err: unknown;
    await checkHotspots(
      { libp2p: (vault as IpfsNode).libp2p },
      { set, setCid: block.cid.toString(), peer: addr, items: [hotspotItem(cafe, hot)] },
    ).catch((e) => {
      err = e;
    });
    expect((err as PsiRefusedError).reason).to.equal("UnknownHotspotSetError");

    const { status: plain } = await startNode("reducer-2", 3, []);
    expect(await psiStatus(plain.http)).to.deep.include({ status: 404 });
    expect((await psiStatus(plain.http)).body.error).to.equal("NoHotspotSets");
  });

  it("names a damaged or missing key file (HotspotKeyFileError) and starts nothing", async () => {
    const good = JSON.parse(encodeHotspotKeyFile({ cid: block.cid.toString(), feedId: "1", ...keys })) as Record<string, string>;
    const cases: Array<[string, string, RegExp]> = [
      ["not-json.key.json", "{ cid: ", /not-json\.key\.json: not JSON/],
      ["array.key.json", "[]", /array\.key\.json: expected a JSON object/],
      ["no-cid.key.json", JSON.stringify({ ...good, cid: undefined }), /no-cid\.key\.json: cid: expected/],
      ["bad-cid.key.json", JSON.stringify({ ...good, cid: "bafynot" }), /bad-cid\.key\.json: cid: "bafynot" is not a CID/],
      ["bad-feed.key.json", JSON.stringify({ ...good, feedId: 1 }), /bad-feed\.key\.json: feedId/],
      ["short.key.json", JSON.stringify({ ...good, secretKey: "00ff" }), /short\.key\.json: secretKey: expected 32 bytes as hex/],
      [
        "mismatched.key.json",
        JSON.stringify({ ...good, publicKey: Buffer.from(otherKeys.publicKey).toString("hex") }),
        /mismatched\.key\.json: publicKey: not the secret key's public key/,
      ],
      ["extra.key.json", JSON.stringify({ ...good, note: "x" }), /extra\.key\.json: note: not a key file field/],
    ];
    for (const [name, text, message] of cases) {
      const file = path.join(work, name);
      await writeFile(file, text);
      expect(() => parseHotspotKeyFile(text, file), name).to.throw(HotspotKeyFileError, message);
      const dataDir = path.join(work, `refused-${name}`);
      const node = createReducerNode(configOf(`refused-${name}`, { hotspotKeys: [file] }), {
        chain,
        signer: chain.accounts[4],
        logger: createLogger("refused", "error"),
      });
      let err: unknown;
      await node.start().catch((e) => {
        err = e;
      });
      expect(err, name).to.be.instanceOf(HotspotKeyFileError);
      expect((err as Error).message)
        .to.match(message)
        .and.to.include(file);
      // Nothing opened: no data directory, no lock, no status file.
      expect(existsSync(dataDir), name).to.equal(false);
    }
    const missing = path.join(work, "missing.key.json");
    const node = createReducerNode(configOf("refused-missing", { hotspotKeys: [missing] }), {
      chain,
      signer: chain.accounts[4],
      logger: createLogger("refused", "error"),
    });
    let err: unknown;
    await node.start().catch((e) => {
      err = e;
    });
    expect(err).to.be.instanceOf(HotspotKeyFileError);
    expect((err as Error).message).to.equal(`${missing}: cannot read it (ENOENT)`);
    expect(existsSync(path.join(work, "refused-missing"))).to.equal(false);
  });

  it("checks the hotspotKeys config field (ReducerConfigError naming it) and resolves its paths against the config file", () => {
    const base = {
      rpcUrl: "http://127.0.0.1:8545",
      registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      operatorKeyFile: "op.key",
      dataDir: "data",
    };
    expect(parseReducerConfig(base, "/etc/mosaic/reducer.json").hotspotKeys).to.deep.equal([]);
    expect(
      parseReducerConfig({ ...base, hotspotKeys: ["keys/a.key.json", "/abs/b.key.json"] }, "/etc/mosaic/reducer.json").hotspotKeys,
    ).to.deep.equal(["/etc/mosaic/keys/a.key.json", "/abs/b.key.json"]);
    const bad: Array<[unknown, RegExp]> = [
      ["a.key.json", /^r\.json: hotspotKeys: expected a list of up to 256 hotspot key files/],
      [{ 0: "a.key.json" }, /hotspotKeys: expected a list/],
      [Array.from({ length: 257 }, (_, i) => `${i}.key.json`), /hotspotKeys: expected a list of up to 256/],
      [[""], /hotspotKeys\[0\]: expected a key file's path/],
      [["a.key.json", 7], /hotspotKeys\[1\]: expected a key file's path, got 7/],
      [null, /hotspotKeys: expected a list/],
    ];
    for (const [hotspotKeys, message] of bad)
      expect(() => parseReducerConfig({ ...base, hotspotKeys }, "r.json"), String(message)).to.throw(ReducerConfigError, message);
    expect(() => parseReducerConfig({ ...base, hotspotKeysDir: "keys" }, "r.json")).to.throw(
      ReducerConfigError,
      /hotspotKeysDir: not a config field/,
    );
  });
});
