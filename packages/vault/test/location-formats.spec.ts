// Tests for the location-history importers: fixtures, format detection, hostile inputs and round-trip properties.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import fc from "fast-check";
import {
  detectLocationFormat,
  LocationFileTooLargeError,
  type LocationFormat,
  LocationFormatError,
  type LocationPoint,
  MAX_LOCATION_FILE_BYTES,
  parseLocations,
} from "../src/location/index.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(fixtures, name)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (v: unknown): Uint8Array => utf8(JSON.stringify(v));

/** Parses, expecting a LocationFormatError matching `re`, and checks the input bytes were left as they were. */
function expectFormatError(bytes: Uint8Array, re: RegExp, options: Parameters<typeof parseLocations>[1] = {}): LocationFormatError {
  const before = bytes.slice();
  let caught: unknown;
  try {
    parseLocations(bytes, options);
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a LocationFormatError").to.be.instanceOf(LocationFormatError);
  const err = caught as LocationFormatError;
  expect(err.name).to.equal("LocationFormatError");
  expect(err.message).to.match(re);
  expect(bytes).to.deep.equal(before);
  return err;
}

describe("location formats: fixtures", () => {
  it("reads a GPX 1.1 file's waypoints, route points and track points, skipping those without a time", () => {
    const parsed = parseLocations(fixture("track.gpx"));
    expect(parsed).to.deep.equal({
      format: "gpx",
      points: [
        { t: 1710052200, lat: 48.138, lon: 11.577 }, // rtept at 07:30+01:00
        { t: 1710053970, lat: 48.137154, lon: 11.576124 },
        { t: 1710054000, lat: 48.1372, lon: 11.5762 },
        { t: 1710054015, lat: 48.13735, lon: 11.5765 }, // .750 s floored
        { t: 1710054300, lat: 48.138, lon: -0.5 }, // no zone: UTC
      ],
      skipped: 2,
    });
  });

  it("reads GeoJSON Point times (ISO, seconds, milliseconds) and LineString/MultiLineString coordTimes", () => {
    const parsed = parseLocations(fixture("walk.geojson"));
    expect(parsed).to.deep.equal({
      format: "geojson",
      points: [
        { t: 1710057600, lat: 48.1372, lon: 11.5761 },
        { t: 1710057660, lat: 48.138, lon: 11.577 },
        { t: 1710057720, lat: 48.139, lon: 11.578 },
        { t: 1710057900, lat: 48.141, lon: 11.58 },
        { t: 1710057920, lat: 48.143, lon: 11.582 },
        { t: 1710061200, lat: 37.7749, lon: -122.4194 },
        { t: 1710061210, lat: 37.7759, lon: -122.4184 },
        { t: 1710061260, lat: 37.7769, lon: -122.4174 },
        { t: 1710061270, lat: 37.7779, lon: -122.4164 },
      ],
      // a Point with no time, a null coordTime, a null geometry, a Polygon
      skipped: 4,
    });
  });

  it("reads a legacy Takeout Records.json with timestamp and timestampMs, correcting unsigned E7 values", () => {
    const parsed = parseLocations(fixture("Records.json"));
    expect(parsed).to.deep.equal({
      format: "takeout-records",
      points: [
        { t: 1559383140, lat: 51.5074, lon: -0.1278 }, // longitudeE7 4293689296 - 2^32
        { t: 1559383200, lat: 48.1351, lon: 11.582 },
        { t: 1559383260, lat: 48.1352, lon: 11.5821 },
        { t: 1559383320, lat: -6.1733296, lon: 106.789 }, // latitudeE7 4233234000 - 2^32
      ],
      skipped: 1,
    });
  });

  it("reads an on-device Timeline.json: path points, visits at their start, raw positions", () => {
    const parsed = parseLocations(fixture("Timeline.json"));
    expect(parsed).to.deep.equal({
      format: "takeout-timeline",
      points: [
        { t: 1714514400, lat: -33.8688, lon: 151.2093 },
        { t: 1714543140, lat: 48.1351234, lon: 11.5820123 },
        { t: 1714543200, lat: 48.1351, lon: 11.582 },
        { t: 1714543800, lat: 48.1402, lon: 11.5651 },
        { t: 1714545000, lat: 48.15003, lon: 11.54564 }, // the WORK visit at its startTime
      ],
      // a path point with no time, a visit with no place
      skipped: 2,
    });
  });
});

describe("location formats: detection", () => {
  it("detects each fixture by content, whatever the file is called", () => {
    const cases: [string, LocationFormat][] = [
      ["track.gpx", "gpx"],
      ["walk.geojson", "geojson"],
      ["Records.json", "takeout-records"],
      ["Timeline.json", "takeout-timeline"],
    ];
    for (const [name, format] of cases) {
      expect(detectLocationFormat(fixture(name)), name).to.equal(format);
      expect(detectLocationFormat(fixture(name), "misleading.gpx"), name).to.equal(format);
      expect(parseLocations(fixture(name), { fileName: "Records.json" }).format, name).to.equal(format);
    }
  });

  it("detects bare GeoJSON features and geometries, GPX 1.0, a BOM, and UTF-16", () => {
    expect(detectLocationFormat(json({ type: "Feature", geometry: null, properties: null }))).to.equal("geojson");
    expect(detectLocationFormat(json({ type: "LineString", coordinates: [] }))).to.equal("geojson");
    expect(detectLocationFormat(json({ rawSignals: [] }))).to.equal("takeout-timeline");
    const gpx10 =
      '<?xml version="1.0"?>\n<!-- c -->\n<gpx version="1.0"><wpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></wpt></gpx>';
    expect(parseLocations(utf8(gpx10)).points).to.deep.equal([{ t: 1577836800, lat: 1, lon: 2 }]);
    expect(detectLocationFormat(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"locations":[]}')]))).to.equal("takeout-records");
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(gpx10.replace('"1.0"?', '"1.0" encoding="UTF-16"?'), "utf16le")]);
    expect(parseLocations(new Uint8Array(utf16)).points).to.have.length(1);
  });

  it("reads the file as the format asked for, and says so when it is not that", () => {
    expect(parseLocations(fixture("Records.json"), { format: "takeout-records" }).points).to.have.length(4);
    const err = expectFormatError(fixture("Records.json"), /read as Google Timeline\.json: .*semanticSegments/, {
      format: "takeout-timeline",
    });
    expect(err.format).to.equal("takeout-timeline");
    expectFormatError(fixture("track.gpx"), /read as GeoJSON: the file is not JSON/, { format: "geojson" });
    expectFormatError(fixture("walk.geojson"), /read as GPX: the file is not XML/, { format: "gpx" });
    expect(() => parseLocations(fixture("track.gpx"), { format: "kml" as LocationFormat })).to.throw(TypeError, /options\.format: .*"kml"/);
  });

  it("uses the file name only to explain a file that does not match", () => {
    expectFormatError(json({}), /Records\.json was taken for Google Takeout Records\.json by its name.*"locations"/, {
      fileName: "Takeout/Records.json",
    });
    expect(() => detectLocationFormat(json({ foo: 1 }), "x/Timeline.json")).to.throw(
      LocationFormatError,
      /taken for Google Timeline\.json/,
    );
    expectFormatError(json({ foo: 1 }), /JSON but not a location format I know.*\["foo"\]/);
  });
});

describe("location formats: hostile and malformed input", () => {
  it("corrects E7 values written as unsigned 32-bit integers, and refuses ones that are not coordinates either way", () => {
    const record = (latitudeE7: number, longitudeE7: number) => json({ locations: [{ latitudeE7, longitudeE7, timestampMs: "1000" }] });
    expect(parseLocations(record(2 ** 32 - 1, 2 ** 32 - 1)).points).to.deep.equal([{ t: 1, lat: -1e-7, lon: -1e-7 }]);
    expect(parseLocations(record(2 ** 32 - 900_000_000, 2 ** 32 - 1_800_000_000)).points).to.deep.equal([{ t: 1, lat: -90, lon: -180 }]);
    expect(parseLocations(record(900_000_000, 1_800_000_000)).points).to.deep.equal([{ t: 1, lat: 90, lon: 180 }]);
    expectFormatError(record(900_000_001, 0), /locations\[0\]\.latitudeE7: 900000001 is not a latitude/);
    expectFormatError(record(0, -1_800_000_001), /locations\[0\]\.longitudeE7: -1800000001 is not a longitude/);
    expectFormatError(record(2 ** 33, 0), /locations\[0\]\.latitudeE7: 8589934592 is not a latitude/);
    expectFormatError(record(0, 2 ** 32 + 1), /locations\[0\]\.longitudeE7: 4294967297 is not a longitude/);
  });

  it("refuses truncated JSON, saying it looks cut short", () => {
    const bytes = fixture("Records.json");
    const err = expectFormatError(bytes.subarray(0, 300), /not valid JSON \(the file looks truncated/);
    expect(err.cause).to.be.instanceOf(SyntaxError);
    expectFormatError(fixture("Timeline.json").subarray(0, 500), /read as Google Timeline\.json: not valid JSON/, {
      format: "takeout-timeline",
    });
  });

  it("refuses JSON of the wrong shape, naming the path", () => {
    expectFormatError(json([1, 2, 3]), /JSON but not a location format I know \(it is an array\)/);
    expectFormatError(json("locations"), /neither XML nor JSON/);
    expectFormatError(
      json({ locations: [{ latitudeE7: 1, longitudeE7: 2, timestamp: "2020-01-01T00:00:00Z" }, 7] }),
      /locations\[1\]: expected an object, got 7/,
    );
    expectFormatError(
      json({ locations: [{ latitudeE7: "481351000", longitudeE7: 1 }] }),
      /locations\[0\]\.latitudeE7: expected an integer, got "481351000"/,
    );
    expectFormatError(
      json({ locations: [{ latitudeE7: 1, longitudeE7: 1, timestamp: 1577836800 }] }),
      /locations\[0\]\.timestamp: expected an ISO 8601 string/,
    );
    expectFormatError(json({ type: "FeatureCollection", features: {} }), /read as GeoJSON: features: expected an array/);
    expectFormatError(
      json({ type: "FeatureCollection", features: [{ type: "Point", coordinates: [1, 2] }] }),
      /features\[0\]: expected a Feature/,
    );
    expectFormatError(
      json({ type: "Feature", geometry: { type: "Circle", coordinates: [1, 2] } }),
      /\$\.geometry\.type: expected a GeoJSON geometry type, got "Circle"/,
    );
    expectFormatError(
      json({
        type: "Feature",
        geometry: { type: "LineString", coordinates: [[1, 2]] },
        properties: { coordTimes: ["2020-01-01T00:00:00Z", "x"] },
      }),
      /coordTimes: has 2 times for 1 positions/,
    );
    expectFormatError(json({ semanticSegments: [{ timelinePath: {} }] }), /semanticSegments\[0\]\.timelinePath: expected an array/);
    expectFormatError(json({ semanticSegments: [null] }), /semanticSegments\[0\]: expected an object/);
  });

  it("refuses GPX with a DOCTYPE or entity declarations (XXE, billion laughs) without expanding anything", () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><gpx version="1.1"><wpt lat="1" lon="1"><name>&xxe;</name></wpt></gpx>';
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><gpx><wpt lat="1" lon="1"><name>&lol3;</name></wpt></gpx>';
    for (const doc of [xxe, laughs]) {
      const err = expectFormatError(utf8(doc), /DOCTYPE or entities.*refused/);
      expect(err.path).to.equal("<!DOCTYPE>");
      expect(() => detectLocationFormat(utf8(doc))).to.throw(LocationFormatError, /DOCTYPE/);
      expectFormatError(utf8(doc), /DOCTYPE/, { format: "gpx" });
    }
    // A DOCTYPE after the root element is refused too.
    expectFormatError(utf8('<gpx><wpt lat="1" lon="1"/><!DOCTYPE x></gpx>'), /DOCTYPE/);
    // Entity references stay as they are: no expansion, no error for GPX that merely uses &amp;.
    expect(
      parseLocations(utf8('<gpx><wpt lat="1" lon="1"><name>a &amp; b</name><time>1970-01-01T00:00:01Z</time></wpt></gpx>')).points,
    ).to.have.length(1);
  });

  it("refuses malformed or non-GPX XML", () => {
    const gpx = new TextDecoder().decode(fixture("track.gpx"));
    expectFormatError(utf8(gpx.slice(0, gpx.length / 2)), /read as GPX: line \d+, column \d+: not well-formed XML/);
    expectFormatError(
      utf8('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"></kml>'),
      /root element <kml>, not GPX.*KML is not supported/,
    );
    expectFormatError(utf8("<html><body>hi</body></html>"), /read as GPX: <html>: the root element is not <gpx>/, { format: "gpx" });
  });

  it("refuses files that are neither XML nor JSON, with a hint for archives", () => {
    expectFormatError(utf8("latitude,longitude,time\n48.1,11.5,2020-01-01\n"), /neither XML nor JSON \(it starts with "latitude,longitude/);
    expectFormatError(new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0]), /zip archive.*unzip/);
    expectFormatError(new Uint8Array([0x1f, 0x8b, 8, 0]), /gzip/);
    expectFormatError(new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0xc3]), /not valid UTF-8 text/);
    expectFormatError(new Uint8Array(0), /empty/);
    expectFormatError(utf8(" \n\t "), /empty/);
  });

  it("refuses impossible positions and wrongly typed coordinates, naming where they are", () => {
    const gpx = (lat: string, lon: string) =>
      utf8(
        `<gpx><trk><trkseg><trkpt lat="1" lon="1"/><trkpt lat="${lat}" lon="${lon}"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>`,
      );
    expectFormatError(gpx("91", "0"), /gpx\.trk\[0\]\.trkseg\[0\]\.trkpt\[1\]@lat: expected a latitude in \[-90, 90\], got "91"/);
    expectFormatError(gpx("0", "abc"), /trkpt\[1\]@lon: expected a longitude in \[-180, 180\], got "abc"/);
    expectFormatError(gpx("0", ""), /@lon: expected a longitude/);
    expectFormatError(gpx("0x10", "0"), /@lat: expected a latitude/);
    const err = expectFormatError(json({ type: "Point", coordinates: [0, 91] }), /\$\.coordinates: latitude 91 is outside \[-90, 90\]/);
    expect(err.path).to.equal("$.coordinates");
    expectFormatError(
      json({ type: "Feature", geometry: { type: "Point", coordinates: ["abc", 1] } }),
      /\$\.geometry\.coordinates: expected a position \[lon, lat\]/,
    );
    expectFormatError(json({ locations: [{ latitudeE7: 910_000_000, longitudeE7: 0 }] }), /latitudeE7: 910000000 is not a latitude/);
    expectFormatError(
      json({ rawSignals: [{ position: { LatLng: "91°, 0°", timestamp: "2020-01-01T00:00:00Z" } }] }),
      /rawSignals\[0\]\.position\.LatLng: latitude 91/,
    );
    expectFormatError(
      json({ semanticSegments: [{ timelinePath: [{ point: "abc", time: "2020-01-01T00:00:00Z" }] }] }),
      /timelinePath\[0\]\.point: expected "lat°, lon°", got "abc"/,
    );
  });

  it("refuses NaN and impossible timestamps, but skips missing ones", () => {
    expectFormatError(
      utf8('<gpx><wpt lat="1" lon="1"><time>NaN</time></wpt></gpx>'),
      /gpx\.wpt\[0\]\.time: expected an ISO 8601 date-time/,
    );
    expectFormatError(
      json({ locations: [{ latitudeE7: 1, longitudeE7: 1, timestampMs: "NaN" }] }),
      /locations\[0\]\.timestampMs: expected unix milliseconds/,
    );
    expectFormatError(
      json({ locations: [{ latitudeE7: 1, longitudeE7: 1, timestamp: "2019-02-29T00:00:00Z" }] }),
      /locations\[0\]\.timestamp/,
    );
    expectFormatError(json({ locations: [{ latitudeE7: 1, longitudeE7: 1, timestamp: "1969-12-31T23:59:59Z" }] }), /from 1970 to 9999/);
    expectFormatError(
      json({ type: "Feature", geometry: { type: "Point", coordinates: [1, 1] }, properties: { time: "NaN" } }),
      /properties\.time/,
    );
    expectFormatError(
      json({ type: "Feature", geometry: { type: "Point", coordinates: [1, 1] }, properties: { time: true } }),
      /properties\.time: expected an ISO 8601 string or unix/,
    );
    expectFormatError(
      json({ semanticSegments: [{ startTime: "yesterday", visit: { topCandidate: { placeLocation: { latLng: "1°, 1°" } } } }] }),
      /semanticSegments\[0\]\.startTime/,
    );
    expect(
      parseLocations(
        json({
          locations: [
            { latitudeE7: 1, longitudeE7: 1 },
            { latitudeE7: 1, timestamp: "2020-01-01T00:00:00Z" },
          ],
        }),
      ),
    ).to.deep.equal({
      format: "takeout-records",
      points: [],
      skipped: 2,
    });
  });

  it("reads ISO 8601 variants exactly: offsets, no zone, fractions, leap days, 24:00, space separator", () => {
    const at = (time: string) => parseLocations(json({ rawSignals: [{ position: { LatLng: "0°, 0°", timestamp: time } }] })).points[0]?.t;
    expect(at("2024-02-29T12:00:00Z")).to.equal(Date.parse("2024-02-29T12:00:00Z") / 1000);
    expect(at("2024-02-29T12:00:00.999999+0530")).to.equal(Date.parse("2024-02-29T06:30:00Z") / 1000);
    expect(at("2024-02-29 12:00-01")).to.equal(Date.parse("2024-02-29T13:00:00Z") / 1000);
    expect(at("2024-02-29T12:00:00")).to.equal(Date.parse("2024-02-29T12:00:00Z") / 1000);
    expect(at("2000-12-31T24:00:00Z")).to.equal(Date.parse("2001-01-01T00:00:00Z") / 1000);
    expect(at("1970-01-01T00:00:00Z")).to.equal(0);
    expect(at("9999-12-31T23:59:59.999Z")).to.equal(253402300799);
    for (const bad of [
      "2024-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00Z",
      "2024-01-01T24:00:01Z",
      "2024-01-01T00:00:00.Z",
      "2024-01-01T00:00:00+24:00",
      "2024-01-01",
    ]) {
      expectFormatError(json({ rawSignals: [{ position: { LatLng: "0°, 0°", timestamp: bad } }] }), /expected an ISO 8601 date-time/);
    }
  });

  it("refuses a file over the size limit before reading it", () => {
    const bytes = fixture("Records.json");
    expect(() => parseLocations(bytes, { maxBytes: bytes.length - 1 })).to.throw(LocationFileTooLargeError, /over the \d+-byte limit/);
    expect(parseLocations(bytes, { maxBytes: bytes.length }).points).to.have.length(4);
    expect(() => detectLocationFormat(bytes, "Records.json", { maxBytes: 10 })).to.throw(LocationFileTooLargeError);
    // A view that claims to be huge: the check must not look at the content first.
    class Huge extends Uint8Array {
      override get byteLength(): number {
        return MAX_LOCATION_FILE_BYTES + 1;
      }
    }
    let caught: unknown;
    try {
      parseLocations(new Huge(4));
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(LocationFileTooLargeError);
    expect((caught as LocationFileTooLargeError).name).to.equal("LocationFileTooLargeError");
    expect((caught as LocationFileTooLargeError).limit).to.equal(512 * 2 ** 20);
    expect(() => parseLocations(bytes, { maxBytes: MAX_LOCATION_FILE_BYTES + 1 })).to.throw(RangeError, /options\.maxBytes/);
    expect(() => parseLocations("{}" as unknown as Uint8Array)).to.throw(TypeError, /bytes: expected a Uint8Array/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties

/** A fix as generated: time in milliseconds, to check the floor to seconds. Years 1970..9998 leave room for offsets. */
const fixArb = fc.record({
  ms: fc.integer({ min: 0, max: Date.parse("9998-12-31T00:00:00Z") }),
  lat: fc.double({ min: -90, max: 90, noNaN: true }).map((x) => x + 0), // + 0 turns -0 into 0
  lon: fc.double({ min: -180, max: 180, noNaN: true }).map((x) => x + 0),
});
type Fix = { ms: number; lat: number; lon: number };

const byTimeThenPlace = (a: LocationPoint, b: LocationPoint) => a.t - b.t || a.lat - b.lat || a.lon - b.lon;
const expected = (fixes: Fix[]): LocationPoint[] =>
  fixes.map((f) => ({ t: Math.floor(f.ms / 1000), lat: f.lat, lon: f.lon })).sort(byTimeThenPlace);

/** An ISO time for `ms`, written in a zone `offsetMinutes` from UTC. */
function isoWithOffset(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const abs = Math.abs(offsetMinutes);
  return `${local}${offsetMinutes < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

const writers: Record<LocationFormat, (fixes: Fix[], choices: number[]) => string> = {
  gpx: (fixes, choices) => {
    const pt = (tag: string, f: Fix, i: number) =>
      `<${tag} lat="${f.lat}" lon="${f.lon}"><ele>1</ele><time>${isoWithOffset(f.ms, (choices[i]! % 29) * 30 - 420)}</time></${tag}>`;
    const wpts = fixes.filter((_, i) => choices[i]! % 3 === 0).map((f, i) => pt("wpt", f, i));
    const trkpts = fixes.filter((_, i) => choices[i]! % 3 !== 0).map((f, i) => pt("trkpt", f, i));
    return `<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">${wpts.join("")}<trk><trkseg>${trkpts.join("\n")}</trkseg></trk></gpx>`;
  },
  geojson: (fixes, choices) => {
    const time = (f: Fix, c: number): unknown => {
      const s = Math.floor(f.ms / 1000);
      if (c % 4 === 1 && s < 1e11) return s; // seconds only read as seconds below 1e11
      if (c % 4 === 2 && f.ms >= 1e11) return f.ms;
      if (c % 4 === 3 && f.ms >= 1e11) return String(f.ms);
      return new Date(f.ms).toISOString();
    };
    const features = fixes.map((f, i) =>
      choices[i]! % 5 === 0
        ? {
            type: "Feature",
            geometry: { type: "LineString", coordinates: [[f.lon, f.lat, 3]] },
            properties: { coordTimes: [time(f, choices[i]!)] },
          }
        : {
            type: "Feature",
            geometry: { type: "Point", coordinates: [f.lon, f.lat] },
            properties: { [choices[i]! % 2 ? "time" : "timestamp"]: time(f, choices[i]!) },
          },
    );
    return JSON.stringify({ type: "FeatureCollection", features });
  },
  "takeout-records": (fixes, choices) => {
    const e7 = (x: number, unsigned: boolean) => {
      const v = Math.round(x * 1e7);
      return unsigned && v < 0 ? v + 2 ** 32 : v;
    };
    const locations = fixes.map((f, i) => ({
      latitudeE7: e7(f.lat, choices[i]! % 2 === 0),
      longitudeE7: e7(f.lon, choices[i]! % 3 === 0),
      accuracy: 10,
      ...(choices[i]! % 5 === 0 ? { timestampMs: String(f.ms) } : { timestamp: new Date(f.ms).toISOString() }),
    }));
    return JSON.stringify({ locations }, null, 2);
  },
  "takeout-timeline": (fixes, choices) => {
    const latLng = (f: Fix, c: number) => (c % 2 ? `${f.lat}°, ${f.lon}°` : `${f.lat}°,${f.lon}°`);
    const semanticSegments: unknown[] = [];
    const rawSignals: unknown[] = [];
    fixes.forEach((f, i) => {
      const c = choices[i]!;
      const time = isoWithOffset(f.ms, (c % 57) * 30 - 840);
      if (c % 3 === 0) rawSignals.push({ position: { LatLng: latLng(f, c), source: "GPS", timestamp: time } });
      else if (c % 3 === 1) semanticSegments.push({ startTime: time, endTime: time, timelinePath: [{ point: latLng(f, c), time }] });
      else semanticSegments.push({ startTime: time, endTime: time, visit: { topCandidate: { placeLocation: { latLng: latLng(f, c) } } } });
    });
    return JSON.stringify({ semanticSegments, rawSignals });
  },
};

describe("location formats: properties", () => {
  const fixesArb = fc
    .array(fixArb, { maxLength: 30 })
    .chain((fixes) => fc.tuple(fc.constant(fixes), fc.array(fc.nat(10_000), { minLength: fixes.length, maxLength: fixes.length })));

  for (const format of Object.keys(writers) as LocationFormat[]) {
    it(`${format}: written points read back as the same points`, () => {
      const e7 = format === "takeout-records";
      fc.assert(
        fc.property(fixesArb, ([fixes, choices]) => {
          const bytes = utf8(writers[format](fixes, choices));
          expect(detectLocationFormat(bytes)).to.equal(format);
          const parsed = parseLocations(bytes);
          expect(parsed.format).to.equal(format);
          expect(parsed.skipped).to.equal(0);
          const got = parsed.points;
          for (let i = 1; i < got.length; i++) expect(got[i]!.t).to.be.at.least(got[i - 1]!.t);
          if (!e7) {
            expect([...got].sort(byTimeThenPlace)).to.deep.equal(expected(fixes));
            return;
          }
          // E7 formats keep 7 decimals: compare with the rounded fixes, and check rounding moved none by more than 1e-7.
          const rounded = fixes.map((f) => ({ ...f, lat: Math.round(f.lat * 1e7) / 1e7 + 0, lon: Math.round(f.lon * 1e7) / 1e7 + 0 }));
          rounded.forEach((r, i) => {
            expect(Math.abs(r.lat - fixes[i]!.lat)).to.be.at.most(1e-7);
            expect(Math.abs(r.lon - fixes[i]!.lon)).to.be.at.most(1e-7);
          });
          expect([...got].sort(byTimeThenPlace)).to.deep.equal(expected(rounded));
        }),
        { numRuns: 150 },
      );
    });
  }

  const named = (err: unknown) => err instanceof LocationFormatError || err instanceof LocationFileTooLargeError;
  const parsesOrNames = (bytes: Uint8Array, format?: LocationFormat) => {
    try {
      const r = parseLocations(bytes, { format, maxBytes: 4096 });
      for (const p of r.points) {
        expect(Number.isSafeInteger(p.t) && p.t >= 0).to.equal(true);
        expect(Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180).to.equal(true);
      }
    } catch (err) {
      if (!named(err)) throw err;
    }
  };
  const formatArb = fc.option(fc.constantFrom<LocationFormat>("gpx", "geojson", "takeout-records", "takeout-timeline"), { nil: undefined });

  it("any bytes either parse or throw a named error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), formatArb, (bytes, format) => parsesOrNames(bytes, format)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), formatArb, (s, format) => parsesOrNames(utf8(s), format)),
      { numRuns: 300 },
    );
  });

  it("mutated fixtures either parse or throw a named error", () => {
    const files = ["track.gpx", "walk.geojson", "Records.json", "Timeline.json"].map(fixture);
    const edit = fc.record({ at: fc.nat(), len: fc.nat(40), insert: fc.uint8Array({ maxLength: 8 }) });
    fc.assert(
      fc.property(fc.nat(3), fc.array(edit, { minLength: 1, maxLength: 4 }), formatArb, (which, edits, format) => {
        let bytes = files[which]!;
        for (const e of edits) {
          const at = e.at % (bytes.length + 1);
          bytes = new Uint8Array([...bytes.subarray(0, at), ...e.insert, ...bytes.subarray(at + e.len)]);
        }
        parsesOrNames(bytes, format);
      }),
      { numRuns: 400 },
    );
  });

  it("JSON built from the formats' own keys and values either parses or throws a named error", () => {
    const keys = [
      "locations",
      "latitudeE7",
      "longitudeE7",
      "timestamp",
      "timestampMs",
      "semanticSegments",
      "rawSignals",
      "timelinePath",
      "point",
      "time",
      "startTime",
      "visit",
      "topCandidate",
      "placeLocation",
      "latLng",
      "position",
      "LatLng",
      "type",
      "features",
      "geometry",
      "coordinates",
      "properties",
      "coordTimes",
      "times",
      "__proto__",
      "constructor",
    ];
    const leaves = fc.oneof(
      fc.constantFrom(
        "FeatureCollection",
        "Feature",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "48.1°, 11.5°",
        "2024-01-01T00:00:00Z",
        "1700000000000",
        "",
      ),
      fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
      fc.constantFrom(4_233_234_000, 2 ** 32 - 1, 2 ** 32, 2 ** 33, 900_000_001, 1_800_000_001, 1e11, 253_402_300_800_000),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaves,
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom(...keys), tie("node"), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, formatArb, (v, format) => parsesOrNames(json(v), format)),
      { numRuns: 1500 },
    );
  });

  it("XML built from GPX fragments either parses or throws a named error", () => {
    const parts = fc.constantFrom(
      '<?xml version="1.0"?>',
      "<gpx>",
      "</gpx>",
      "<gpx:gpx>",
      "<trk>",
      "</trk>",
      "<trkseg>",
      "</trkseg>",
      '<trkpt lat="1" lon="2">',
      '<trkpt lat="x">',
      "</trkpt>",
      "<trkpt/>",
      '<wpt lat="-91" lon="0">',
      "</wpt>",
      "<rte>",
      "<rtept>",
      "</rte>",
      "<time>",
      "</time>",
      "2024-01-01T00:00:00Z",
      "<time/>",
      "&amp;",
      "&xxe;",
      "<![CDATA[",
      "]]>",
      "<!--",
      "-->",
      "<!DOCTYPE gpx>",
      "<extensions>",
      "</extensions>",
      "<__proto__>",
      "</__proto__>",
      " ",
      "<",
      ">",
      '"',
    );
    fc.assert(
      fc.property(fc.array(parts, { maxLength: 30 }), formatArb, (ps, format) => parsesOrNames(utf8(ps.join("")), format)),
      { numRuns: 1500 },
    );
  });
});
