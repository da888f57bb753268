// Area shapes: CAP polygon and circle strings (good and broken), bounding boxes, point-in-area by ray casting and
// great-circle distance — against brute-force references, across the antimeridian and near a pole — and the cost of
// a year of location points against 200 alerts.
import { expect } from "chai";
import fc from "fast-check";
import { InvalidCapError, UnclosedPolygonError } from "../src/errors.js";
import {
  type AreaShape,
  areaShape,
  circleAreaKm2,
  type LatLon,
  parseCircle,
  parsePolygon,
  polygonAreaKm2,
  shapeContains,
} from "../src/geo.js";
import type { CapArea } from "../src/types.js";

function expectError(fn: () => unknown, Class: { name: string }, message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(Class.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${Class.name}`);
}

const area = (fields: Partial<CapArea>): CapArea => ({ areaDesc: "test", polygon: [], circle: [], geocode: [], ...fields });
const ring = (points: [number, number][]) => [...points, points[0] as [number, number]].map(([lat, lon]) => `${lat},${lon}`).join(" ");
const EARTH_RADIUS_KM = 6371.0088;
function haversineKm(a: LatLon, b: LatLon): number {
  const r = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lon - a.lon) * r) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
const THUNDERSTORM = "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14";

describe("parsePolygon and parseCircle", () => {
  it("read CAP strings, with any whitespace between pairs", () => {
    expect(parsePolygon(THUNDERSTORM)).to.have.length(5);
    expect(parsePolygon(`\n  1,2\t3,4\n 5,6   1.0,+2.00 `)).to.deep.equal([
      { lat: 1, lon: 2 },
      { lat: 3, lon: 4 },
      { lat: 5, lon: 6 },
      { lat: 1, lon: 2 },
    ]);
    expect(parseCircle("32.9525,-115.5527 0")).to.deep.equal({ center: { lat: 32.9525, lon: -115.5527 }, radiusKm: 0 });
    expect(parseCircle(" -90,180 .5 ")).to.deep.equal({ center: { lat: -90, lon: 180 }, radiusKm: 0.5 });
  });

  it("refuse broken ones with the named error and the path", () => {
    expectError(
      () => parsePolygon("1,2 3,4 5,6 7,8", "alert/info[0]/area[1]/polygon[0]"),
      UnclosedPolygonError,
      /^alert\/info\[0\]\/area\[1\]\/polygon\[0\]: the polygon does not close/,
    );
    expectError(() => parsePolygon("1,2 3,4 1,2"), UnclosedPolygonError, /at least four points/);
    expectError(() => parsePolygon(""), UnclosedPolygonError, /got 0/);
    for (const bad of [
      "1,2 3,4 5,6 1,2,3",
      "1;2 3,4 5,6 1;2",
      "1, 2 3,4 5,6 1, 2",
      "1e1,2 3,4 5,6 1e1,2",
      "NaN,2 3,4 5,6 NaN,2",
      "Infinity,2 3,4 5,6 Infinity,2",
      "0x1,2 3,4 5,6 0x1,2",
    ])
      expectError(() => parsePolygon(bad), InvalidCapError);
    expectError(() => parsePolygon("91,0 3,4 5,6 91,0"), InvalidCapError, /latitude 91 is outside/);
    expectError(() => parsePolygon("0,180.5 3,4 5,6 0,180.5"), InvalidCapError, /longitude 180.5 is outside/);
    for (const bad of ["1,2", "1,2 -1", "1,2 x", "1,2 3 4", "1,2 1e3", "100,2 3", ""]) expectError(() => parseCircle(bad), InvalidCapError);
    expectError(() => parsePolygon(5 as unknown as string), InvalidCapError, /expected a string/);
  });
});

describe("areaShape", () => {
  it("bounds polygons and circles together; a geocode-only area has no box and contains no point", () => {
    const shape = areaShape(
      area({ polygon: [THUNDERSTORM], circle: ["40,-120 111.19"], geocode: [{ valueName: "SAME", value: "006109" }] }),
    );
    expect(shape.bbox?.minLat).to.equal(38.34);
    expect(shape.bbox?.maxLat).to.be.closeTo(41, 0.001);
    expect(shape.bbox?.minLon).to.be.closeTo(-121.31, 0.01);
    expect(shape.bbox?.maxLon).to.be.closeTo(-118.69, 0.01);
    expect(shape.geocodes).to.deep.equal([{ valueName: "SAME", value: "006109" }]);
    const geocodes = areaShape(area({ geocode: [{ valueName: "ISO3166-2", value: "DE-BE" }] }));
    expect(geocodes.bbox).to.equal(undefined);
    expect(shapeContains(geocodes, { lat: 52.5, lon: 13.4 })).to.equal(false);
  });

  it("a shape across the antimeridian or around a pole spans every longitude in its box", () => {
    expect(
      areaShape(
        area({
          polygon: [
            ring([
              [10, 170],
              [10, -170],
              [-10, -170],
              [-10, 170],
            ]),
          ],
        }),
      ).bbox,
    ).to.deep.equal({ minLat: -10, maxLat: 10, minLon: -180, maxLon: 180 });
    expect(areaShape(area({ circle: ["0,179.9 50"] })).bbox?.minLon).to.equal(-180);
    expect(areaShape(area({ circle: ["89.9,0 50"] })).bbox).to.include({ maxLat: 90, minLon: -180, maxLon: 180 });
  });
});

describe("polygonAreaKm2 and circleAreaKm2", () => {
  // A box of 1° × 1° with its south-west corner at (lat, lon), closed; longitudes past 180° wrap to −180°.
  const box = (lat: number, lon: number): LatLon[] =>
    [
      [lat, lon],
      [lat + 1, lon],
      [lat + 1, lon + 1],
      [lat, lon + 1],
      [lat, lon],
    ].map(([a, o]) => ({ lat: a as number, lon: (o as number) > 180 ? (o as number) - 360 : (o as number) }));

  it("a square degree at the equator is about 12,364 km², between 60° and 61° cos 60.5° of that", () => {
    // The sphere's exact figure is R² (π/180) (sin 1° − sin 0°) = 12,363.5 km²; the projection is within 0.01 % of it.
    expect(polygonAreaKm2(box(0, 0))).to.be.closeTo(12_364, 2);
    expect(polygonAreaKm2(box(0, 0))).to.equal(polygonAreaKm2([...box(0, 0)].reverse()));
    expect(polygonAreaKm2(box(60, 10))).to.be.closeTo(12_364 * Math.cos(60.5 * (Math.PI / 180)), 5);
  });

  it("across the antimeridian it is the same square, not one around the world", () => {
    expect(polygonAreaKm2(box(0, 179.5))).to.be.closeTo(12_364, 2);
  });

  it("a circle is a cap of the sphere: πr² when small, the whole earth at most", () => {
    expect(circleAreaKm2(0)).to.equal(0);
    expect(circleAreaKm2(25)).to.be.closeTo(Math.PI * 25 ** 2, 0.1);
    const earth = 4 * Math.PI * EARTH_RADIUS_KM ** 2;
    expect(circleAreaKm2(Math.PI * EARTH_RADIUS_KM)).to.be.closeTo(earth, 1e-3);
    expect(circleAreaKm2(1e9)).to.be.closeTo(earth, 1e-3);
  });
});

describe("shapeContains", () => {
  it("the thunderstorm warning's polygon: inside and around it", () => {
    const shape = areaShape(area({ polygon: [THUNDERSTORM] }));
    expect(shapeContains(shape, { lat: 38.48, lon: -119.94 })).to.equal(true);
    expect(shapeContains(shape, { lat: 38.35, lon: -119.75 })).to.equal(false); // in the box, outside the polygon
    expect(shapeContains(shape, { lat: 40, lon: -119.9 })).to.equal(false);
  });

  it("a concave polygon: its notch is outside", () => {
    // A "U": the notch between the arms is lat 1..3, lon 1..2.
    const shape = areaShape(
      area({
        polygon: [
          ring([
            [0, 0],
            [3, 0],
            [3, 1],
            [1, 1],
            [1, 2],
            [3, 2],
            [3, 3],
            [0, 3],
          ]),
        ],
      }),
    );
    expect(shapeContains(shape, { lat: 2, lon: 1.5 })).to.equal(false);
    expect(shapeContains(shape, { lat: 2, lon: 0.5 })).to.equal(true);
    expect(shapeContains(shape, { lat: 0.5, lon: 1.5 })).to.equal(true);
  });

  it("a polygon across the antimeridian holds points on both sides of it, not the rest of the world", () => {
    const shape = areaShape(
      area({
        polygon: [
          ring([
            [10, 170],
            [10, -170],
            [-10, -170],
            [-10, 170],
          ]),
        ],
      }),
    );
    for (const lon of [171, 179.99, 180, -180, -179.5, -171]) expect(shapeContains(shape, { lat: 0, lon }), String(lon)).to.equal(true);
    for (const lon of [0, 160, -160, 90]) expect(shapeContains(shape, { lat: 0, lon }), String(lon)).to.equal(false);
  });

  it("circles: by great-circle distance, radius 0 holds its centre, across the antimeridian and near a pole", () => {
    const tenKm = areaShape(area({ circle: ["52.52,13.405 10"] }));
    const kmPerDegLat = (Math.PI / 180) * EARTH_RADIUS_KM;
    expect(shapeContains(tenKm, { lat: 52.52 + 9.9 / kmPerDegLat, lon: 13.405 })).to.equal(true);
    expect(shapeContains(tenKm, { lat: 52.52 + 10.1 / kmPerDegLat, lon: 13.405 })).to.equal(false);
    const quake = areaShape(area({ circle: ["32.9525,-115.5527 0"] }));
    expect(shapeContains(quake, { lat: 32.9525, lon: -115.5527 })).to.equal(true);
    expect(shapeContains(quake, { lat: 32.9526, lon: -115.5527 })).to.equal(false);
    const dateLine = areaShape(area({ circle: ["0,179.95 20"] }));
    expect(shapeContains(dateLine, { lat: 0, lon: -179.95 })).to.equal(true);
    expect(shapeContains(dateLine, { lat: 0, lon: -179.7 })).to.equal(false);
    const pole = areaShape(area({ circle: ["89.9,0 50"] }));
    expect(shapeContains(pole, { lat: 89.9, lon: 180 })).to.equal(true);
  });

  it("agrees with the references: rectangles (also shifted across the antimeridian) and haversine circles", () => {
    const wrap = (lon: number) => ((((lon + 180) % 360) + 360) % 360) - 180;
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: -80, max: 70 }), fc.integer({ min: 1, max: 10 })),
        fc.tuple(fc.integer({ min: -180, max: 179 }), fc.integer({ min: 1, max: 170 })),
        fc.tuple(fc.double({ min: -0.5, max: 1.5, noNaN: true }), fc.double({ min: -0.5, max: 1.5, noNaN: true })),
        ([lat0, h], [lon0, w], [u, v]) => {
          if (Math.abs(u) < 1e-6 || Math.abs(u - 1) < 1e-6 || Math.abs(v) < 1e-6 || Math.abs(v - 1) < 1e-6) return;
          const lon1 = lon0 + w;
          const corners: [number, number][] = [
            [lat0, wrap(lon0)],
            [lat0 + h, wrap(lon0)],
            [lat0 + h, wrap(lon1)],
            [lat0, wrap(lon1)],
          ];
          const shape = areaShape(area({ polygon: [ring(corners)] }));
          const p = { lat: lat0 + u * h, lon: wrap(lon0 + v * w) };
          expect(shapeContains(shape, p)).to.equal(u > 0 && u < 1 && v > 0 && v < 1);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.tuple(
          fc.double({ min: -89, max: 89, noNaN: true }),
          fc.double({ min: -180, max: 180, noNaN: true }),
          fc.double({ min: 0, max: 2000, noNaN: true }),
        ),
        fc.tuple(fc.double({ min: -25, max: 25, noNaN: true }), fc.double({ min: -25, max: 25, noNaN: true })),
        ([lat, lon, r], [dLat, dLon]) => {
          const radius = Number(r.toFixed(3));
          const shape = areaShape(area({ circle: [`${lat.toFixed(5)},${lon.toFixed(5)} ${radius}`] }));
          const center = { lat: Number(lat.toFixed(5)), lon: Number(lon.toFixed(5)) };
          const p = { lat: Math.max(-90, Math.min(90, center.lat + dLat)), lon: wrap(center.lon + dLon) };
          const d = haversineKm(center, p);
          if (Math.abs(d - radius) < 1e-6) return;
          expect(shapeContains(shape, p)).to.equal(d <= radius);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a year of points every 5 minutes against 200 alerts around the user's places, box first", function () {
    this.timeout(120_000);
    const places = [
      { lat: 52.52, lon: 13.405 },
      { lat: 52.45, lon: 13.3 },
      { lat: 48.14, lon: 11.58 },
    ];
    const points: LatLon[] = [];
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 365 * 288; i++) {
      const place = places[i % 3] as LatLon;
      points.push({ lat: place.lat + (random() - 0.5) * 0.1, lon: place.lon + (random() - 0.5) * 0.1 });
    }
    const shapes: AreaShape[] = [];
    for (let i = 0; i < 200; i++) {
      const place = places[i % 3] as LatLon;
      const lat = place.lat + (random() - 0.5) * 2;
      const lon = place.lon + (random() - 0.5) * 2;
      const d = 0.02 + random() * 0.1;
      shapes.push(
        areaShape(
          i % 2 === 0
            ? area({
                polygon: [
                  ring([
                    [lat - d, lon - d],
                    [lat - d, lon + d],
                    [lat + d, lon + d * 1.5],
                    [lat + d, lon - d],
                  ]),
                ],
              })
            : area({ circle: [`${lat.toFixed(4)},${lon.toFixed(4)} ${(d * 50).toFixed(2)}`] }),
        ),
      );
    }
    const start = performance.now();
    let hits = 0;
    for (const shape of shapes) for (const p of points) if (shapeContains(shape, p)) hits++;
    const seconds = (performance.now() - start) / 1000;
    const checks = shapes.length * points.length;
    console.log(`      ${checks} point checks in ${seconds.toFixed(2)} s (${Math.round(checks / seconds / 1e6)} M/s), ${hits} inside`);
    expect(hits).to.be.greaterThan(0);
  });
});
