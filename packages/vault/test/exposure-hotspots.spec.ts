// The vault's visits for the hotspot check (cells and hours of the last 14 days, stays filled in) and the hotspot
// set read from its signed document in a blockstore. The exchange with a node is tested over libp2p in
// packages/worker/test/psi.spec.ts.
import {
  buildHotspotSet,
  encodeHotspotSet,
  generatePsiKeyPair,
  hotspotItem,
  MalformedExposureDocumentError,
  placeCell,
  signDocument,
  WrongSignerError,
} from "@mosaic/exposure";
import { putBlock } from "@mosaic/protocol";
import { MemoryBlockstore } from "blockstore-core";
import { expect } from "chai";
import { Wallet } from "ethers";
import { hotspotVisits, loadHotspotSet } from "../src/exposure/hotspots.js";

const DAY = 86_400;
const NOW = 1_764_892_800 + 15 * DAY + 7200; // 02:00 UTC, fifteen days after a midnight

describe("vault exposure hotspots: visits and the signed set", () => {
  const cafe = { lat: 52.37051, lon: 4.89512 };
  const home = { lat: 52.3601, lon: 4.8801 };

  it("one visit per (cell, hour) in the last 14 days, by time then cell, each with its item", () => {
    const h = NOW - 5 * 3600 - (NOW % 3600);
    const visits = hotspotVisits(
      [
        { t: h + 100, ...cafe },
        { t: h + 200, ...cafe }, // same cell, same hour: one visit
        { t: h + 300, ...home },
        { t: NOW - 14 * DAY - 10, ...cafe }, // just outside the 14 days
        { t: NOW + 10, ...cafe }, // in the future
      ],
      { now: NOW },
    );
    expect(visits.map((v) => [v.cell, v.hourStart])).to.deep.equal(
      [
        [placeCell(cafe.lat, cafe.lon), h],
        [placeCell(home.lat, home.lon), h],
      ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)),
    );
    for (const v of visits) expect(v.item).to.deep.equal(hotspotItem(v.cell, v.hourStart));
  });

  it("a stay between two fixes in one cell counts every hour between; not across another place or a long gap", () => {
    const h = NOW - 10 * 3600 - (NOW % 3600);
    const cell = placeCell(cafe.lat, cafe.lon);
    const hours = (points: { t: number; lat: number; lon: number }[], maxStayGapS?: number) =>
      hotspotVisits(points, { now: NOW, maxStayGapS })
        .filter((v) => v.cell === cell)
        .map((v) => (v.hourStart - h) / 3600);
    expect(
      hours([
        { t: h + 1800, ...cafe },
        { t: h + 3 * 3600 + 60, ...cafe },
      ]),
    ).to.deep.equal([0, 1, 2, 3]);
    expect(
      hours([
        { t: h + 1800, ...cafe },
        { t: h + 2 * 3600, ...home },
        { t: h + 3 * 3600 + 60, ...cafe },
      ]),
    ).to.deep.equal([0, 3]);
    expect(
      hours(
        [
          { t: h + 1800, ...cafe },
          { t: h + 3 * 3600 + 60, ...cafe },
        ],
        3600,
      ),
    ).to.deep.equal([0, 3]);
  });

  it("refuses a position out of range and a bad window by name", () => {
    expect(() => hotspotVisits([{ t: NOW - 60, lat: 95, lon: 0 }], { now: NOW })).to.throw(RangeError, /lat/);
    expect(() => hotspotVisits([], { now: NOW, days: 0 })).to.throw(RangeError, /days/);
    expect(() => hotspotVisits([], { now: Number.NaN })).to.throw(TypeError, /now/);
  });

  it("loadHotspotSet opens the authority's signed set from the blockstore; another signer or a bad body is refused", async () => {
    const authority = Wallet.createRandom();
    const keys = generatePsiKeyPair();
    const set = buildHotspotSet(keys.secretKey, [hotspotItem(placeCell(cafe.lat, cafe.lon), NOW - (NOW % 3600))], {
      feedId: "3",
      from: NOW - 14 * DAY,
      to: NOW,
    });
    const blocks = new MemoryBlockstore();
    const block = await encodeHotspotSet(set, authority);
    await putBlock(blocks, block);
    const loaded = await loadHotspotSet({ blocks }, { cid: block.cid.toString(), authority: authority.address });
    expect(loaded.tags).to.deep.equal(set.tags);
    let err: unknown;
    try {
      await loadHotspotSet({ blocks }, { cid: block.cid, authority: Wallet.createRandom().address });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(WrongSignerError);
    const bad = await signDocument("hotspots", { ...set, publicKey: new Uint8Array(32) }, authority);
    await putBlock(blocks, bad);
    err = undefined;
    try {
      await loadHotspotSet({ blocks }, { cid: bad.cid, authority: authority.address });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(MalformedExposureDocumentError);
  });
});
