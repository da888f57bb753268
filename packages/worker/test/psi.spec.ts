// The PSI service between real libp2p nodes on 127.0.0.1: a vault's location history checked against an authority's
// hotspot set through a node that holds the set's key; the node counts queries and nothing else; oversized,
// malformed and unknown-set requests get named refusals and the stream closes, and the node keeps answering; a node
// evaluating with another key is caught by the vault's proof check.
import {
  blindHotspotQuery,
  buildHotspotSet,
  decodePsiResponse,
  encodeHotspotSet,
  encodePsiRequest,
  generatePsiKeyPair,
  type HotspotSet,
  hotspotItem,
  MAX_PSI_QUERY,
  MAX_PSI_REQUEST_BYTES,
  MAX_PSI_RESPONSE_BYTES,
  PSI_PROTOCOL,
  PsiProofError,
  PsiRefusedError,
  placeCell,
} from "@mosaic/exposure";
import { createIpfsNode, encodeBlock, type IpfsNode, nodeAddresses, requestResponse, StreamFailedError } from "@mosaic/protocol";
// The vault exports these once its index does; until then, straight from the file.
import { checkHotspots, hotspotVisits } from "@mosaic/vault";
import * as dagCbor from "@ipld/dag-cbor";
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { expect } from "chai";
import { Wallet } from "ethers";
import { createPsiService, type PsiService } from "../src/psi.js";

const START = 1_764_892_800; // a UTC midnight
const NOW = START + 14 * 86_400;

describe("PSI service over libp2p: the private hotspot check", function () {
  this.timeout(120_000);
  const keys = generatePsiKeyPair();
  let setCid: string;
  let set: HotspotSet;
  let server: IpfsNode;
  let vault: IpfsNode;
  let service: PsiService;
  let serverAddr: string;
  // Hotspots: 50 cafés around (52.370, 4.890), each at 20 hours over the two weeks.
  const cafes = Array.from({ length: 50 }, (_, i) => ({ lat: 52.3705 + (i % 10) * 0.002, lon: 4.8905 + Math.floor(i / 10) * 0.002 }));
  const hotHours = Array.from({ length: 20 }, (_, h) => START + (h * 17 + 9) * 3600);

  before(async () => {
    const items: Uint8Array[] = [];
    for (const c of cafes) for (const h of hotHours) items.push(hotspotItem(placeCell(c.lat, c.lon), h));
    set = buildHotspotSet(keys.secretKey, items, { feedId: "1", from: START, to: NOW });
    // The CID the node serves it under: the authority's signed document's.
    setCid = (await encodeHotspotSet(set, Wallet.createRandom())).cid.toString();
    server = await createIpfsNode();
    vault = await createIpfsNode();
    service = createPsiService({ libp2p: server.libp2p }, { sets: new Map([[setCid, keys]]) });
    await service.start();
    serverAddr = nodeAddresses(server).find((a) => a.includes("/127.0.0.1/")) as string;
    expect(serverAddr).to.be.a("string");
  });

  after(async () => {
    await service?.stop();
    await vault?.stop();
    await server?.stop();
  });

  it("a vault finds exactly its visits at hotspot places and hours; the node counts one padded query", async () => {
    // A day at home, a café at a hotspot hour (fixes 90 minutes apart: the hour between is a stay), another café
    // outside its hours, a walk past a hotspot cell the hour before it was one.
    const home = { lat: 52.3601, lon: 4.8801 };
    const cafe = cafes[3] as { lat: number; lon: number };
    const hot = hotHours[5] as number;
    const points = [
      ...Array.from({ length: 40 }, (_, i) => ({ t: hot - 86_400 + i * 1800, ...home })), // until 4.5 h before
      { t: hot - 3600 + 600, ...cafe }, // the hour before: a stay begins
      { t: hot + 3600 + 600, ...cafe }, // two hours later: the hotspot hour between is filled in
      { t: (hotHours[6] as number) - 3600 * 30, ...(cafes[7] as { lat: number; lon: number }) },
      { t: START - 86_400, ...cafe }, // older than 14 days: not asked
    ];
    const visits = hotspotVisits(points, { now: NOW });
    expect(visits.some((v) => v.hourStart === hot)).to.equal(true);
    expect(visits.every((v) => v.hourStart >= START)).to.equal(true);
    const before = service.stats();
    const matched = await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: `${serverAddr}`, items: visits.map((v) => v.item) });
    const found = visits.filter((v) => matched.includes(v.item)).map((v) => [v.cell, v.hourStart]);
    expect(found).to.deep.equal([[placeCell(cafe.lat, cafe.lon), hot]]);
    const after = service.stats();
    expect(after.queries - before.queries).to.equal(1);
    // 30-odd visits padded to 128: the node learns the padded size only.
    expect(visits.length).to.be.below(128);
    expect(after.items - before.items).to.equal(128);
  });

  it("more items than one query holds are split; every match is found", async () => {
    const cafe = cafes[0] as { lat: number; lon: number };
    const items = [
      ...Array.from({ length: 200 }, (_, i) => hotspotItem(placeCell(40 + i * 0.001, 2), START + i * 3600)),
      hotspotItem(placeCell(cafe.lat, cafe.lon), hotHours[0] as number),
    ];
    const before = service.stats();
    const matched = await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: serverAddr, items, queryItems: 128, padTo: 64 });
    expect(matched).to.deep.equal([items[200]]);
    const after = service.stats();
    expect(after.queries - before.queries).to.equal(2);
    // 128, then 73 padded to 128.
    expect(after.items - before.items).to.equal(256);
  });

  it("hostile requests get named refusals, are counted by reason, evaluate nothing, and the node keeps answering", async () => {
    const ask = async (bytes: Uint8Array): Promise<string> => {
      const answer = await requestResponse(vault, serverAddr, PSI_PROTOCOL, bytes, { maxBytes: MAX_PSI_RESPONSE_BYTES });
      try {
        decodePsiResponse(answer);
        return "answered";
      } catch (err) {
        expect(err).to.be.instanceOf(PsiRefusedError);
        return (err as PsiRefusedError).reason;
      }
    };
    const one = blindHotspotQuery([hotspotItem("1.000,1.000", 0)], setCid).request;
    const before = service.stats();
    // 1025 elements in a frame under the byte cap.
    const oversized = { ...one, blinded: Array.from({ length: MAX_PSI_QUERY + 1 }, () => one.blinded[0] as Uint8Array) };
    expect(await ask(encodePsiRequest(oversized))).to.equal("PsiQueryTooLargeError");
    // A frame over the byte cap: refused before it is read.
    expect(await ask(new Uint8Array(MAX_PSI_REQUEST_BYTES + 100))).to.equal("PsiQueryTooLargeError");
    // A number where bytes are expected, garbage, the identity, another set.
    expect(await ask(dagCbor.encode({ ...one, blinded: [42] }))).to.equal("MalformedExposureDocumentError");
    expect(await ask(dagCbor.encode({ ...one, blinded: 42 }))).to.equal("MalformedExposureDocumentError");
    expect(await ask(Uint8Array.of(0xff, 0x00, 0x13))).to.equal("MalformedExposureDocumentError");
    expect(await ask(encodePsiRequest({ ...one, blinded: [new Uint8Array(32)] }))).to.equal("PsiElementError");
    expect(await ask(encodePsiRequest({ ...one, blinded: [new Uint8Array(31)] }))).to.equal("PsiElementError");
    const otherSet = (await encodeBlock({ another: "set" })).cid.toString();
    expect(await ask(encodePsiRequest({ ...one, set: otherSet }))).to.equal("UnknownHotspotSetError");
    const after = service.stats();
    expect(after.queries).to.equal(before.queries);
    expect(after.items).to.equal(before.items);
    // The over-the-cap frame never reaches the service's counters (handle() answers it); the rest are counted.
    expect(after.refused).to.deep.include({
      PsiQueryTooLargeError: 1,
      MalformedExposureDocumentError: 3,
      PsiElementError: 2,
      UnknownHotspotSetError: 1,
    });
    expect(await ask(encodePsiRequest(one))).to.equal("answered");
    expect(service.stats().queries).to.equal(before.queries + 1);
  });

  it("after a refusal the node closes the stream: nothing more comes and a second request on it is not answered", async () => {
    const stream = await vault.libp2p.dialProtocol(multiaddr(serverAddr), PSI_PROTOCOL);
    const lp = lpStream(stream, { maxDataLength: MAX_PSI_RESPONSE_BYTES });
    await lp.write(dagCbor.encode({ version: 1, set: setCid, blinded: [42] }));
    const refusal = (await lp.read()).subarray();
    expect(() => decodePsiResponse(refusal)).to.throw(PsiRefusedError);
    await lp.write(encodePsiRequest(blindHotspotQuery([hotspotItem("1.000,1.000", 0)], setCid).request)).catch(() => undefined);
    let more: unknown;
    try {
      more = await lp.read({ signal: AbortSignal.timeout(3000) });
    } catch (err) {
      more = err;
    }
    expect(more).to.be.instanceOf(Error);
    expect((more as Error).name).to.not.equal("TimeoutError");
    stream.abort(new Error("done"));
  });

  it("a node evaluating with another key than the set's is caught by the vault's proof check (PsiProofError)", async () => {
    const rogue = await createIpfsNode();
    const other = generatePsiKeyPair();
    const rogueService = createPsiService({ libp2p: rogue.libp2p }, { sets: new Map([[setCid, other]]) });
    await rogueService.start();
    try {
      const addr = nodeAddresses(rogue).find((a) => a.includes("/127.0.0.1/")) as string;
      const items = [hotspotItem(placeCell((cafes[0] as { lat: number }).lat, (cafes[0] as { lon: number }).lon), hotHours[0] as number)];
      let caught: unknown;
      try {
        await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: addr, items });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(PsiProofError);
      expect(rogueService.stats().queries).to.equal(1);
    } finally {
      await rogueService.stop();
      await rogue.stop();
    }
  });

  it("a node serving fewer items per query refuses a larger one by name; the vault's queryItems fits it", async () => {
    const small = await createIpfsNode();
    const smallService = createPsiService({ libp2p: small.libp2p }, { sets: new Map([[setCid, keys]]), maxQueryItems: 64 });
    await smallService.start();
    try {
      const addr = nodeAddresses(small).find((a) => a.includes("/127.0.0.1/")) as string;
      const items = [hotspotItem("1.000,1.000", 0)];
      let caught: unknown;
      try {
        await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: addr, items });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(PsiRefusedError);
      expect((caught as PsiRefusedError).reason).to.equal("PsiQueryTooLargeError");
      expect(await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: addr, items, queryItems: 64, padTo: 64 })).to.deep.equal(
        [],
      );
      expect(smallService.stats()).to.deep.equal({ queries: 1, items: 64, refused: { PsiQueryTooLargeError: 1 } });
    } finally {
      await smallService.stop();
      await small.stop();
    }
  });

  it("refuses keys that do not belong together, and stops serving on stop()", async () => {
    const other = generatePsiKeyPair();
    expect(() =>
      createPsiService({ libp2p: server.libp2p }, { sets: new Map([[setCid, { secretKey: keys.secretKey, publicKey: other.publicKey }]]) }),
    ).to.throw(TypeError, /publicKey/);
    expect(() => createPsiService({ libp2p: server.libp2p }, { sets: new Map([["not a cid", keys]]) })).to.throw(TypeError, /CID/);
    expect(() => createPsiService({ libp2p: server.libp2p }, { sets: new Map(), maxQueryItems: 2000 })).to.throw(
      RangeError,
      /maxQueryItems/,
    );
    const node = await createIpfsNode();
    const s = createPsiService({ libp2p: node.libp2p }, { sets: new Map([[setCid, keys]]) });
    await s.start();
    await s.stop();
    try {
      const addr = nodeAddresses(node).find((a) => a.includes("/127.0.0.1/")) as string;
      let caught: unknown;
      try {
        await checkHotspots({ libp2p: vault.libp2p }, { set, setCid, peer: addr, items: [hotspotItem("1.000,1.000", 0)] });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(StreamFailedError);
    } finally {
      await node.stop();
    }
  });
});
