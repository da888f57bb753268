// Importers for location history files (GPX, GeoJSON, Takeout Records.json, on-device Timeline.json), read into time-sorted points.
import type { LocationPoint } from "@mosaic/mapreduce";
import { XMLParser, XMLValidator } from "fast-xml-parser";

// One fix: `t` is unix seconds, an integer (sub-second parts are floored away), `lat`/`lon` are WGS 84 degrees.
export type { LocationPoint };

export type LocationFormat = "gpx" | "geojson" | "takeout-records" | "takeout-timeline";

export interface ParsedLocations {
  format: LocationFormat;
  /** Sorted by `t`; points with equal `t` keep the order they were read in. */
  points: LocationPoint[];
  /**
   * Location entries left out because they have no time or no position: a GPX point without `<time>`, a
   * GeoJSON position with no time, a Takeout record without `timestamp`/`timestampMs` or without E7
   * coordinates, a Timeline path point, raw signal position or visit missing its time or place. GeoJSON
   * Polygon, MultiPolygon and GeometryCollection geometries and features with a null geometry count one each.
   * Entries that are not locations at all (a Timeline `wifiScan`, an activity-only segment) are not counted.
   */
  skipped: number;
}

export interface ParseLocationsOptions {
  /** Read the file as this format instead of sniffing it. @default detected from the content */
  format?: LocationFormat;
  /** The file's name; only a hint, used when the content alone does not say (and in error messages). @default none */
  fileName?: string;
  /** Refuse files larger than this many bytes; may only lower the limit. @default MAX_LOCATION_FILE_BYTES */
  maxBytes?: number;
}

/** The largest location file we read: 512 MiB, a decade of one-a-minute Takeout records and then some. */
export const MAX_LOCATION_FILE_BYTES: number = 512 * 2 ** 20;

const FORMATS: readonly LocationFormat[] = ["gpx", "geojson", "takeout-records", "takeout-timeline"];

const LABEL: Record<LocationFormat, string> = {
  gpx: "GPX",
  geojson: "GeoJSON",
  "takeout-records": "Google Takeout Records.json",
  "takeout-timeline": "Google Timeline.json",
};

const ADVICE: Record<LocationFormat, string> = {
  gpx: "Re-export the track as GPX 1.1 from the app that recorded it and import that file unmodified.",
  geojson: "Check the file is RFC 7946 GeoJSON with [lon, lat] positions and ISO 8601 or unix times.",
  "takeout-records": "Download Records.json again from Google Takeout (Location History) and import it unmodified.",
  "takeout-timeline": "Export Timeline.json again from the phone (Settings > Location > Timeline > Export) and import it unmodified.",
};

/** An unrecognised or malformed location file. `format` is the format it was read as, `path` where the problem is. */
export class LocationFormatError extends Error {
  static override name = "LocationFormatError";
  override name = "LocationFormatError";
  readonly format: LocationFormat | undefined;
  readonly path: string | undefined;
  constructor(message: string, init: { format?: LocationFormat; path?: string; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.format = init.format;
    this.path = init.path;
  }
}

/** A location file over the size limit, refused before any of it is read. */
export class LocationFileTooLargeError extends Error {
  static override name = "LocationFileTooLargeError";
  override name = "LocationFileTooLargeError";
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`location file is ${size} bytes, over the ${limit}-byte limit; split the export (for example by year) and import the parts`);
  }
}

/** A malformed entry inside a file read as `format`. */
function malformed(format: LocationFormat, path: string, problem: string): LocationFormatError {
  return new LocationFormatError(`read as ${LABEL[format]}: ${path}: ${problem}. ${ADVICE[format]}`, { format, path });
}

/** A short, safe rendering of an offending value for a message. */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : "an object";
}

// ---------------------------------------------------------------------------------------------------------
// Times

/**
 * Times must fall in 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z: no location fix predates 1970, the vault
 * stores unsigned unix seconds, and ISO 8601's four-digit years end in 9999.
 */
const MAX_T = 253_402_300_799;

function badTime(t: number): boolean {
  return !(t >= 0 && t <= MAX_T);
}

const TIME_RANGE = "from 1970 to 9999";

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/**
 * Unix seconds (floored) of an ISO 8601 / RFC 3339 date-time `YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|±hh[:]mm]`,
 * or NaN. A time with no zone is UTC, as GPX and Takeout mean it (Date.parse would read it as local time).
 * Hand-rolled because it is about three times faster than Date.parse on Takeout timestamps and exact.
 * A leap second (:60) reads as the first second of the next minute.
 */
function isoToUnixSeconds(s: string): number {
  const n = s.length;
  const yHi = d2(s, 0);
  const yLo = d2(s, 2);
  if (yHi < 0 || yLo < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN;
  const year = yHi * 100 + yLo;
  const month = d2(s, 5);
  const day = d2(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return Number.NaN; // T, t or space (RFC 3339 allows both)
  const hour = d2(s, 11);
  const minute = d2(s, 14);
  if (s.charCodeAt(13) !== 58 || hour < 0 || hour > 24 || minute < 0 || minute > 59) return Number.NaN;
  let second = 0;
  let fractionNonZero = false;
  let i = 16;
  if (s.charCodeAt(16) === 58) {
    second = d2(s, 17);
    if (second < 0 || second > 60) return Number.NaN;
    i = 19;
    const c = s.charCodeAt(19);
    if (c === 46 || c === 44) {
      i = 20;
      for (let c2 = s.charCodeAt(i) - 48; c2 >= 0 && c2 <= 9; c2 = s.charCodeAt(++i) - 48) if (c2 !== 0) fractionNonZero = true;
      if (i === 20) return Number.NaN;
    }
  }
  if (hour === 24 && (minute !== 0 || second !== 0 || fractionNonZero)) return Number.NaN;
  let offset = 0;
  if (i < n) {
    const c = s.charCodeAt(i);
    if (c === 90 || c === 122) {
      i++;
    } else if (c === 43 || c === 45) {
      const oh = d2(s, i + 1);
      i += 3;
      let om = 0;
      if (s.charCodeAt(i) === 58) {
        om = d2(s, i + 1);
        i += 3;
      } else if (i < n) {
        om = d2(s, i);
        i += 2;
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
      offset = (oh * 60 + om) * 60 * (c === 43 ? 1 : -1);
    } else {
      return Number.NaN;
    }
  }
  if (i !== n) return Number.NaN;
  // The fraction only ever adds under a second, so dropping it is the floor, also before 1970.
  return daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
}

/**
 * A numeric time: values of magnitude 1e11 or more are milliseconds, smaller ones seconds. 1e11 s is the
 * year 5138 and 1e11 ms is March 1973, so the rule only misreads millisecond times from 1970–1973.
 */
function numericTimeToSeconds(v: number): number {
  return Math.floor(Math.abs(v) >= 1e11 ? v / 1000 : v);
}

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const DIGITS = /^\d{1,16}$/;

/** A decimal number from text, strictly (Number() alone accepts "", "0x10" and "Infinity"), or NaN. */
function decimal(s: string): number {
  return DECIMAL.test(s) ? Number(s) : Number.NaN;
}

function badLatLon(lat: number, lon: number): boolean {
  // Written as negations so NaN counts as bad.
  return !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180);
}

function positionProblem(lat: number, lon: number): string {
  return !(lat >= -90 && lat <= 90) ? `latitude ${lat} is outside [-90, 90]` : `longitude ${lon} is outside [-180, 180]`;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding and sniffing

function checkSize(bytes: Uint8Array, maxBytes: number | undefined): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${show(bytes)}`);
  let limit = MAX_LOCATION_FILE_BYTES;
  if (maxBytes !== undefined) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_LOCATION_FILE_BYTES) {
      throw new RangeError(`options.maxBytes: expected an integer in [0, ${MAX_LOCATION_FILE_BYTES}], got ${maxBytes}`);
    }
    limit = maxBytes;
  }
  if (bytes.byteLength > limit) throw new LocationFileTooLargeError(bytes.byteLength, limit);
}

/** The file as text: UTF-8 (BOM or not), or UTF-16 with a BOM. Invalid text is refused rather than patched with U+FFFD. */
function decodeText(bytes: Uint8Array, format: LocationFormat | undefined): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0x50 && b1 === 0x4b && bytes[2] === 3 && bytes[3] === 4) {
    throw new LocationFormatError(
      "the file is a zip archive, not a location file: unzip the Takeout download and import Records.json or Timeline.json from it",
      { format },
    );
  }
  if (b0 === 0x1f && b1 === 0x8b) {
    throw new LocationFormatError("the file is gzip-compressed: decompress it (gunzip) and import the result", { format });
  }
  const encoding = b0 === 0xff && b1 === 0xfe ? "utf-16le" : b0 === 0xfe && b1 === 0xff ? "utf-16be" : "utf-8";
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch (err) {
    if (err instanceof TypeError) {
      throw new LocationFormatError(
        `the file is not valid ${encoding.toUpperCase()} text, so it is not GPX or JSON; import the original export`,
        {
          format,
          cause: err,
        },
      );
    }
    // Just under 512 MiB of UTF-8 can still exceed V8's longest string (2^29 - 24 characters).
    throw new LocationFileTooLargeError(bytes.byteLength, 2 ** 29 - 24);
  }
}

/** The index of the first character at or after `from` that is not XML/JSON whitespace (or a stray BOM). */
function firstNonSpace(text: string, from = 0): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff; c = text.charCodeAt(++i));
  return i;
}

/** The format a file name suggests; only used when the content does not decide. */
function formatFromName(fileName: string | undefined): LocationFormat | undefined {
  if (fileName === undefined) return undefined;
  const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
  if (base.endsWith(".gpx")) return "gpx";
  if (base.endsWith(".geojson")) return "geojson";
  if (/records.*\.json$/.test(base)) return "takeout-records";
  if (/timeline.*\.json$/.test(base)) return "takeout-timeline";
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const GEOJSON_TYPES = new Set([
  "FeatureCollection",
  "Feature",
  "Point",
  "MultiPoint",
  "LineString",
  "MultiLineString",
  "Polygon",
  "MultiPolygon",
  "GeometryCollection",
]);

/** Which format a parsed JSON value is, by its top-level shape, or undefined. */
function classifyJson(v: unknown): LocationFormat | undefined {
  if (!isRecord(v)) return undefined;
  if (Array.isArray(v.locations)) return "takeout-records";
  if (Array.isArray(v.semanticSegments) || Array.isArray(v.rawSignals)) return "takeout-timeline";
  if (typeof v.type === "string" && GEOJSON_TYPES.has(v.type)) return "geojson";
  return undefined;
}

function parseJson(text: string, format: LocationFormat | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const as = format === undefined ? "JSON" : LABEL[format];
    // V8 reports a cut-short file as "Unexpected end of JSON input" or as an error at the very last position.
    const at = /at position (\d+)/.exec(err.message);
    const truncated = /end of JSON input/.test(err.message) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    const hint = truncated ? " (the file looks truncated: was the download or copy cut short?)" : "";
    throw new LocationFormatError(`read as ${as}: not valid JSON${hint}: ${err.message}. Import the original, complete file.`, {
      format,
      cause: err,
    });
  }
}

/** The local name of an XML document's root element, refusing DOCTYPE declarations on the way. */
function xmlRootName(text: string, from: number, format: LocationFormat | undefined): string {
  let i = from;
  for (;;) {
    i = firstNonSpace(text, i);
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i);
      if (end < 0) break;
      i = end + 2;
    } else if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i);
      if (end < 0) break;
      i = end + 3;
    } else if (/^<!DOCTYPE/i.test(text.slice(i, i + 9))) {
      throw refusedDoctype(format);
    } else {
      const m = /^<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)/.exec(text.slice(i, i + 256));
      if (m !== null) return m[2]!;
      break;
    }
  }
  throw new LocationFormatError(
    `read as ${format === undefined ? "XML" : LABEL[format]}: no root element found; the file is not well-formed XML. ${ADVICE.gpx}`,
    { format },
  );
}

function refusedDoctype(format: LocationFormat | undefined): LocationFormatError {
  return new LocationFormatError(
    `read as ${format === undefined ? "XML" : LABEL[format]}: the file declares a DOCTYPE or entities, which GPX never needs and which are refused ` +
      "(they can expand to gigabytes or read local files). Re-export the track as plain GPX.",
    { format, path: "<!DOCTYPE>" },
  );
}

interface Sniffed {
  format: LocationFormat;
  text: string;
  /** The parsed JSON for JSON formats, so parsing does not run twice. */
  json: unknown;
}

function sniff(bytes: Uint8Array, fileName: string | undefined): Sniffed {
  const hinted = formatFromName(fileName);
  const text = decodeText(bytes, undefined);
  const start = firstNonSpace(text);
  const first = text.charCodeAt(start);
  if (Number.isNaN(first)) throw new LocationFormatError(`${fileName ?? "the file"} is empty: there are no locations to import`);
  if (first === 60 /* < */) {
    const root = xmlRootName(text, start, undefined);
    if (root === "gpx") return { format: "gpx", text, json: undefined };
    const kml = root === "kml" ? " KML is not supported: export the track as GPX instead." : " Export the track as GPX instead.";
    throw new LocationFormatError(`the file is XML with root element <${root}>, not GPX <gpx>.${kml}`, { path: `<${root}>` });
  }
  if (first === 123 /* { */ || first === 91 /* [ */) {
    const json = parseJson(text, hinted === "gpx" ? undefined : hinted);
    const format = classifyJson(json);
    if (format !== undefined) return { format, text, json };
    throw unrecognisedJson(json, hinted, fileName);
  }
  throw new LocationFormatError(
    `the file is neither XML nor JSON (it starts with ${show(text.slice(start, start + 24))}); ` +
      "import a GPX or GeoJSON track, or Records.json / Timeline.json from Google",
  );
}

function unrecognisedJson(json: unknown, hinted: LocationFormat | undefined, fileName: string | undefined): LocationFormatError {
  if (
    Array.isArray(json) &&
    isRecord(json[0]) &&
    "startTime" in json[0] &&
    ("visit" in json[0] || "activity" in json[0] || "timelinePath" in json[0])
  ) {
    return new LocationFormatError(
      "this looks like the iPhone Timeline export (a top-level array of segments), which is not supported yet; " +
        "export from an Android phone or use Google Takeout Records.json",
    );
  }
  if (isRecord(json) && Array.isArray(json.timelineObjects)) {
    return new LocationFormatError(
      "this is a Takeout Semantic Location History month file (timelineObjects), which holds only summaries; import Records.json from the same Takeout instead",
    );
  }
  const keys = isRecord(json) ? Object.keys(json).slice(0, 5) : [];
  const what = isRecord(json) ? `an object with keys ${JSON.stringify(keys)}` : Array.isArray(json) ? "an array" : `a JSON ${typeof json}`;
  if (hinted !== undefined && hinted !== "gpx") {
    return new LocationFormatError(
      `${fileName} was taken for ${LABEL[hinted]} by its name, but it is ${what}: ` +
        `expected ${hinted === "geojson" ? 'a "type" of FeatureCollection, Feature or a geometry' : hinted === "takeout-records" ? 'a top-level "locations" array' : 'a top-level "semanticSegments" or "rawSignals" array'}. ${ADVICE[hinted]}`,
      { format: hinted },
    );
  }
  return new LocationFormatError(
    `the file is JSON but not a location format I know (it is ${what}); ` +
      'expected GeoJSON ("type": "FeatureCollection"...), Takeout Records.json ("locations") or Timeline.json ("semanticSegments")',
  );
}

/**
 * Which format a location file is, from its content: XML with a `<gpx>` root, JSON with a GeoJSON `type`,
 * a `locations` array (Takeout Records.json) or a `semanticSegments`/`rawSignals` array (Timeline.json).
 * The file name is only a hint for the error message when the content does not match. JSON files are parsed
 * in full to be sure, so this costs about as much as {@link parseLocations}, which sniffs by itself.
 * Throws {@link LocationFormatError} or {@link LocationFileTooLargeError}.
 */
export function detectLocationFormat(bytes: Uint8Array, fileName?: string, options: { maxBytes?: number } = {}): LocationFormat {
  checkSize(bytes, options.maxBytes);
  return sniff(bytes, fileName).format;
}

/**
 * Reads a location history file into time-sorted points.
 *
 * Rules for every format: an entry without a time or without a position is skipped and counted in
 * `skipped`; an entry with a value of the wrong type, a time that is not a valid date, or a latitude/longitude
 * outside [-90, 90]/[-180, 180] makes the whole file a {@link LocationFormatError} naming where it is, since
 * such a file has been altered or was written by a broken exporter and a silent partial import would be worse.
 * Times are ISO 8601 (no zone means UTC); for GeoJSON also unix seconds or milliseconds (numbers or digit strings,
 * magnitudes of 1e11 and up are milliseconds). Every time must fall between 1970 and 9999. A file whose entries
 * are all fine but carry no usable time returns no points and counts them all in `skipped`.
 *
 * Throws {@link LocationFormatError}, {@link LocationFileTooLargeError}, or TypeError/RangeError for bad options.
 */
export function parseLocations(bytes: Uint8Array, options: ParseLocationsOptions = {}): ParsedLocations {
  checkSize(bytes, options.maxBytes);
  const { format, fileName } = options;
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new TypeError(`options.format: expected one of ${FORMATS.join(", ")}, got ${show(format)}`);
  }
  if (fileName !== undefined && typeof fileName !== "string")
    throw new TypeError(`options.fileName: expected a string, got ${show(fileName)}`);
  let sniffed: Sniffed;
  if (format === undefined) {
    sniffed = sniff(bytes, fileName);
  } else {
    const text = decodeText(bytes, format);
    const start = firstNonSpace(text);
    if (format === "gpx") {
      if (text.charCodeAt(start) !== 60) throw new LocationFormatError(`read as GPX: the file is not XML. ${ADVICE.gpx}`, { format });
      sniffed = { format, text, json: undefined };
    } else {
      if (text.charCodeAt(start) !== 123 && text.charCodeAt(start) !== 91) {
        throw new LocationFormatError(`read as ${LABEL[format]}: the file is not JSON. ${ADVICE[format]}`, { format });
      }
      sniffed = { format, text, json: parseJson(text, format) };
    }
  }
  const out: Collector = { points: [], skipped: 0 };
  switch (sniffed.format) {
    case "gpx":
      readGpx(sniffed.text, out);
      break;
    case "geojson":
      readGeoJson(sniffed.json, out);
      break;
    case "takeout-records":
      readRecords(sniffed.json, out);
      break;
    case "takeout-timeline":
      readTimeline(sniffed.json, out);
      break;
  }
  return { format: sniffed.format, points: sortByTime(out.points), skipped: out.skipped };
}

interface Collector {
  points: LocationPoint[];
  skipped: number;
}

function sortByTime(points: LocationPoint[]): LocationPoint[] {
  // Exports are almost always in time order already; checking is far cheaper than sorting.
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.t < points[i - 1]!.t) return points.sort((a, b) => a.t - b.t);
  }
  return points;
}

// ---------------------------------------------------------------------------------------------------------
// GPX

const GPX_ARRAYS = new Set(["gpx.wpt", "gpx.rte", "gpx.rte.rtept", "gpx.trk", "gpx.trk.trkseg", "gpx.trk.trkseg.trkpt"]);

const gpxParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  // Values stay strings: we parse lat/lon/time ourselves, strictly.
  parseTagValue: false,
  parseAttributeValue: false,
  // No entity expansion at all (XXE, billion laughs); DOCTYPEs are refused before parsing anyway.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  // Vendor extensions (heart rate, cadence...) can be most of a file; keep them as unparsed text.
  stopNodes: ["*.extensions"],
  isArray: (_name: string, jpath: string) => GPX_ARRAYS.has(jpath),
});

function readGpx(text: string, out: Collector): void {
  // Anywhere, even inside a comment or CDATA: a blunt rule that cannot be talked around, and GPX never needs one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw refusedDoctype("gpx");
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw malformed("gpx", `line ${line}, column ${col}`, `not well-formed XML (${msg}); a file cut short ends like this too`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = gpxParser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // The validator passed, so this is the parser's own limit or bug; still the file's problem to report.
    throw malformed("gpx", "document", `could not be parsed (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!("gpx" in doc)) {
    const root = Object.keys(doc)[0];
    throw malformed("gpx", root === undefined ? "document" : `<${root}>`, "the root element is not <gpx>");
  }
  const gpx = doc.gpx;
  if (!isRecord(gpx)) return; // <gpx/> or text only: no points
  const each = (list: unknown, path: string, visit: (el: unknown, where: string) => void) => {
    if (!Array.isArray(list)) return;
    for (let i = 0; i < list.length; i++) visit(list[i], `${path}[${i}]`);
  };
  each(gpx.wpt, "gpx.wpt", (el, where) => gpxPoint(el, where, out));
  each(gpx.rte, "gpx.rte", (rte, where) => {
    if (isRecord(rte)) each(rte.rtept, `${where}.rtept`, (el, w) => gpxPoint(el, w, out));
  });
  each(gpx.trk, "gpx.trk", (trk, where) => {
    if (!isRecord(trk)) return;
    each(trk.trkseg, `${where}.trkseg`, (seg, w) => {
      if (isRecord(seg)) each(seg.trkpt, `${w}.trkpt`, (el, w2) => gpxPoint(el, w2, out));
    });
  });
}

function gpxPoint(el: unknown, where: string, out: Collector): void {
  if (!isRecord(el)) {
    out.skipped++; // an empty <trkpt/>: neither position nor time
    return;
  }
  const latText = el["@_lat"];
  const lonText = el["@_lon"];
  let time = el.time;
  let lat = Number.NaN;
  let lon = Number.NaN;
  if (latText !== undefined) {
    lat = decimal(String(latText));
    if (!(lat >= -90 && lat <= 90)) throw malformed("gpx", `${where}@lat`, `expected a latitude in [-90, 90], got ${show(latText)}`);
  }
  if (lonText !== undefined) {
    lon = decimal(String(lonText));
    if (!(lon >= -180 && lon <= 180)) throw malformed("gpx", `${where}@lon`, `expected a longitude in [-180, 180], got ${show(lonText)}`);
  }
  if (isRecord(time)) time = time["#text"] ?? "";
  if (time !== undefined && typeof time !== "string") throw malformed("gpx", `${where}.time`, `expected one <time>, got ${show(time)}`);
  let t = Number.NaN;
  if (time !== undefined && time !== "") {
    t = isoToUnixSeconds(time);
    if (badTime(t)) throw malformed("gpx", `${where}.time`, `expected an ISO 8601 date-time ${TIME_RANGE}, got ${show(time)}`);
  }
  if (latText === undefined || lonText === undefined || Number.isNaN(t)) {
    out.skipped++;
    return;
  }
  out.points.push({ t, lat, lon });
}

// ---------------------------------------------------------------------------------------------------------
// GeoJSON

/** A GeoJSON time value in seconds; undefined when absent (null, missing or empty). */
function geoTime(v: unknown, path: string): number | undefined {
  let t: number;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") {
    t = numericTimeToSeconds(v);
  } else if (typeof v === "string") {
    const s = v.trim();
    if (s === "") return undefined;
    t = /^-?\d+(?:\.\d+)?$/.test(s) ? numericTimeToSeconds(Number(s)) : isoToUnixSeconds(s);
  } else {
    throw malformed("geojson", path, `expected an ISO 8601 string or unix seconds/milliseconds, got ${show(v)}`);
  }
  if (badTime(t)) {
    throw malformed("geojson", path, `expected an ISO 8601 date-time or unix seconds/milliseconds ${TIME_RANGE}, got ${show(v)}`);
  }
  return t;
}

function geoPosition(c: unknown, path: string): [lat: number, lon: number] {
  if (!Array.isArray(c) || c.length < 2 || typeof c[0] !== "number" || typeof c[1] !== "number") {
    throw malformed("geojson", path, `expected a position [lon, lat] of numbers, got ${show(c)}`);
  }
  const lon = c[0];
  const lat = c[1];
  if (badLatLon(lat, lon)) throw malformed("geojson", path, `${positionProblem(lat, lon)} (GeoJSON positions are [lon, lat])`);
  return [lat, lon];
}

function readGeoJson(root: unknown, out: Collector): void {
  if (!isRecord(root)) throw malformed("geojson", "$", `expected a GeoJSON object, got ${show(root)}`);
  if (root.type === "FeatureCollection") {
    const features = root.features;
    if (!Array.isArray(features)) throw malformed("geojson", "features", `expected an array of features, got ${show(features)}`);
    for (let i = 0; i < features.length; i++) geoFeature(features[i], `features[${i}]`, out);
  } else if (root.type === "Feature") {
    geoFeature(root, "$", out);
  } else {
    geoGeometry(root, "$", undefined, "", out);
  }
}

function geoFeature(f: unknown, path: string, out: Collector): void {
  if (!isRecord(f) || f.type !== "Feature")
    throw malformed("geojson", path, `expected a Feature object, got ${show(isRecord(f) ? f.type : f)}`);
  const props = f.properties;
  if (props !== undefined && props !== null && !isRecord(props)) {
    throw malformed("geojson", `${path}.properties`, `expected an object or null, got ${show(props)}`);
  }
  if (f.geometry === null || f.geometry === undefined) {
    out.skipped++;
    return;
  }
  geoGeometry(f.geometry, `${path}.geometry`, props ?? undefined, `${path}.properties`, out);
}

/** The per-position time array of a line or multipoint: `coordTimes` (togeojson) or `times`. */
function timeArray(props: Record<string, unknown> | undefined, propsPath: string): { times: unknown[]; path: string } | undefined {
  if (props === undefined) return undefined;
  const key = props.coordTimes !== undefined && props.coordTimes !== null ? "coordTimes" : "times";
  const times = props[key];
  if (times === undefined || times === null) return undefined;
  if (!Array.isArray(times)) throw malformed("geojson", `${propsPath}.${key}`, `expected an array of times, got ${show(times)}`);
  return { times, path: `${propsPath}.${key}` };
}

function geoLine(coords: unknown, path: string, times: unknown[] | undefined, timesPath: string, out: Collector): void {
  if (!Array.isArray(coords)) throw malformed("geojson", path, `expected an array of positions, got ${show(coords)}`);
  if (times !== undefined && times.length !== coords.length) {
    throw malformed("geojson", timesPath, `has ${times.length} times for ${coords.length} positions; they must be parallel`);
  }
  for (let i = 0; i < coords.length; i++) {
    const [lat, lon] = geoPosition(coords[i], `${path}[${i}]`);
    const t = times === undefined ? undefined : geoTime(times[i], `${timesPath}[${i}]`);
    if (t === undefined) out.skipped++;
    else out.points.push({ t, lat, lon });
  }
}

function geoGeometry(g: unknown, path: string, props: Record<string, unknown> | undefined, propsPath: string, out: Collector): void {
  if (!isRecord(g)) throw malformed("geojson", path, `expected a geometry object, got ${show(g)}`);
  const coords = g.coordinates;
  switch (g.type) {
    case "Point": {
      const [lat, lon] = geoPosition(coords, `${path}.coordinates`);
      let t: number | undefined;
      if (props !== undefined) {
        const key = props.time !== undefined && props.time !== null ? "time" : "timestamp";
        t = geoTime(props[key], `${propsPath}.${key}`);
      }
      if (t === undefined) out.skipped++;
      else out.points.push({ t, lat, lon });
      return;
    }
    case "MultiPoint":
    case "LineString": {
      const times = timeArray(props, propsPath);
      geoLine(coords, `${path}.coordinates`, times?.times, times?.path ?? "", out);
      return;
    }
    case "MultiLineString": {
      if (!Array.isArray(coords)) throw malformed("geojson", `${path}.coordinates`, `expected an array of lines, got ${show(coords)}`);
      const times = timeArray(props, propsPath);
      // togeojson nests coordTimes per line; a flat array over all positions is accepted too.
      const nested = times !== undefined && (times.times.length === 0 || Array.isArray(times.times[0]));
      if (times !== undefined && nested && times.times.length !== coords.length) {
        throw malformed("geojson", times.path, `has ${times.times.length} time arrays for ${coords.length} lines; they must be parallel`);
      }
      let offset = 0;
      for (let i = 0; i < coords.length; i++) {
        const line = coords[i];
        if (!Array.isArray(line))
          throw malformed("geojson", `${path}.coordinates[${i}]`, `expected an array of positions, got ${show(line)}`);
        let lineTimes: unknown[] | undefined;
        let lineTimesPath = "";
        if (times !== undefined && nested) {
          const lt = times.times[i];
          if (!Array.isArray(lt)) throw malformed("geojson", `${times.path}[${i}]`, `expected an array of times, got ${show(lt)}`);
          lineTimes = lt;
          lineTimesPath = `${times.path}[${i}]`;
        } else if (times !== undefined) {
          const total = coords.reduce((n: number, l: unknown) => n + (Array.isArray(l) ? l.length : 0), 0);
          if (times.times.length !== total) {
            throw malformed("geojson", times.path, `has ${times.times.length} times for ${total} positions; they must be parallel`);
          }
          lineTimes = times.times.slice(offset, offset + line.length);
          lineTimesPath = `${times.path}[${offset}..]`;
        }
        geoLine(line, `${path}.coordinates[${i}]`, lineTimes, lineTimesPath, out);
        offset += line.length;
      }
      return;
    }
    case "Polygon":
    case "MultiPolygon":
    case "GeometryCollection":
      // Areas and collections are not fixes of a person; count them so the import can say something was left out.
      out.skipped++;
      return;
    default:
      throw malformed("geojson", `${path}.type`, `expected a GeoJSON geometry type, got ${show(g.type)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Google Takeout Records.json

const E7_WRAP = 2 ** 32;

function readRecords(root: unknown, out: Collector): void {
  const locations = isRecord(root) ? root.locations : undefined;
  if (!Array.isArray(locations)) {
    throw malformed(
      "takeout-records",
      "locations",
      `expected a top-level object with a "locations" array, got ${show(isRecord(root) ? locations : root)}`,
    );
  }
  const points = out.points;
  let skipped = 0;
  for (let i = 0; i < locations.length; i++) {
    const e = locations[i];
    if (typeof e !== "object" || e === null || Array.isArray(e))
      throw malformed("takeout-records", `locations[${i}]`, `expected an object, got ${show(e)}`);
    let latE7 = e.latitudeE7;
    let lonE7 = e.longitudeE7;
    const ts = e.timestamp;
    let t = Number.NaN;
    if (latE7 !== undefined) {
      if (typeof latE7 !== "number")
        throw malformed("takeout-records", `locations[${i}].latitudeE7`, `expected an integer, got ${show(latE7)}`);
      // Old exports wrote negative E7 values as unsigned 32-bit integers.
      if (latE7 > 900_000_000 && latE7 < E7_WRAP) latE7 -= E7_WRAP;
      if (!(latE7 >= -900_000_000 && latE7 <= 900_000_000))
        throw malformed("takeout-records", `locations[${i}].latitudeE7`, `${e.latitudeE7} is not a latitude, even read as unsigned`);
    }
    if (lonE7 !== undefined) {
      if (typeof lonE7 !== "number")
        throw malformed("takeout-records", `locations[${i}].longitudeE7`, `expected an integer, got ${show(lonE7)}`);
      if (lonE7 > 1_800_000_000 && lonE7 < E7_WRAP) lonE7 -= E7_WRAP;
      if (!(lonE7 >= -1_800_000_000 && lonE7 <= 1_800_000_000))
        throw malformed("takeout-records", `locations[${i}].longitudeE7`, `${e.longitudeE7} is not a longitude, even read as unsigned`);
    }
    if (typeof ts === "string") {
      t = isoToUnixSeconds(ts);
      if (badTime(t))
        throw malformed("takeout-records", `locations[${i}].timestamp`, `expected an ISO 8601 date-time ${TIME_RANGE}, got ${show(ts)}`);
    } else if (ts !== undefined) {
      throw malformed("takeout-records", `locations[${i}].timestamp`, `expected an ISO 8601 string, got ${show(ts)}`);
    } else {
      const ms = e.timestampMs;
      if (ms !== undefined) {
        const n = typeof ms === "string" && DIGITS.test(ms) ? Number(ms) : typeof ms === "number" ? ms : Number.NaN;
        t = Math.floor(n / 1000);
        if (badTime(t)) {
          throw malformed(
            "takeout-records",
            `locations[${i}].timestampMs`,
            `expected unix milliseconds ${TIME_RANGE} as a digit string, got ${show(ms)}`,
          );
        }
      }
    }
    if (latE7 === undefined || lonE7 === undefined || Number.isNaN(t)) {
      skipped++;
      continue;
    }
    points.push({ t, lat: latE7 / 1e7, lon: lonE7 / 1e7 });
  }
  out.skipped += skipped;
}

// ---------------------------------------------------------------------------------------------------------
// Google on-device Timeline.json

const NUM = "([+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)";
/** "48.1351°, 11.5820°" as the app writes it, and the same without degree signs, spaces, or with a "geo:" prefix. */
const LAT_LNG = new RegExp(`^\\s*(?:geo:)?\\s*${NUM}\\s*°?\\s*,\\s*${NUM}\\s*°?\\s*$`);

/** A Timeline point; undefined when the field is absent or empty. */
function timelineLatLng(v: unknown, path: string): [lat: number, lon: number] | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const m = typeof v === "string" ? LAT_LNG.exec(v) : null;
  if (m === null) throw malformed("takeout-timeline", path, `expected "lat°, lon°", got ${show(v)}`);
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (badLatLon(lat, lon)) throw malformed("takeout-timeline", path, positionProblem(lat, lon));
  return [lat, lon];
}

function timelineTime(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const t = typeof v === "string" ? isoToUnixSeconds(v) : Number.NaN;
  if (badTime(t)) throw malformed("takeout-timeline", path, `expected an ISO 8601 date-time ${TIME_RANGE}, got ${show(v)}`);
  return t;
}

function timelinePoint(pos: [number, number] | undefined, t: number | undefined, out: Collector): void {
  if (pos === undefined || t === undefined) out.skipped++;
  else out.points.push({ t, lat: pos[0], lon: pos[1] });
}

function optionalArray(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed("takeout-timeline", path, `expected an array, got ${show(v)}`);
  return v;
}

function optionalRecord(v: unknown, path: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw malformed("takeout-timeline", path, `expected an object, got ${show(v)}`);
  return v;
}

function readTimeline(root: unknown, out: Collector): void {
  if (!isRecord(root)) throw malformed("takeout-timeline", "$", `expected a top-level object with "semanticSegments", got ${show(root)}`);
  if (!Array.isArray(root.semanticSegments) && !Array.isArray(root.rawSignals)) {
    throw malformed(
      "takeout-timeline",
      "$",
      `expected a top-level "semanticSegments" or "rawSignals" array, got keys ${JSON.stringify(Object.keys(root).slice(0, 5))}`,
    );
  }
  const segments = optionalArray(root.semanticSegments, "semanticSegments");
  for (let i = 0; i < segments.length; i++) {
    const where = `semanticSegments[${i}]`;
    const seg = optionalRecord(segments[i], where);
    if (seg === undefined) throw malformed("takeout-timeline", where, "expected an object, got null");
    const path = optionalArray(seg.timelinePath, `${where}.timelinePath`);
    for (let j = 0; j < path.length; j++) {
      const w = `${where}.timelinePath[${j}]`;
      const p = optionalRecord(path[j], w);
      if (p === undefined) throw malformed("takeout-timeline", w, "expected an object, got null");
      timelinePoint(timelineLatLng(p.point, `${w}.point`), timelineTime(p.time, `${w}.time`), out);
    }
    const visit = optionalRecord(seg.visit, `${where}.visit`);
    if (visit !== undefined) {
      const top = optionalRecord(visit.topCandidate, `${where}.visit.topCandidate`);
      const place = optionalRecord(top?.placeLocation, `${where}.visit.topCandidate.placeLocation`);
      // The visit's place stands for where the person was when the visit began.
      timelinePoint(
        timelineLatLng(place?.latLng, `${where}.visit.topCandidate.placeLocation.latLng`),
        timelineTime(seg.startTime, `${where}.startTime`),
        out,
      );
    }
  }
  const signals = optionalArray(root.rawSignals, "rawSignals");
  for (let i = 0; i < signals.length; i++) {
    const where = `rawSignals[${i}]`;
    const signal = optionalRecord(signals[i], where);
    if (signal === undefined) throw malformed("takeout-timeline", where, "expected an object, got null");
    const position = optionalRecord(signal.position, `${where}.position`);
    if (position === undefined) continue; // wifiScan, activityRecord...: not a location
    const key = position.LatLng !== undefined ? "LatLng" : "latLng";
    timelinePoint(
      timelineLatLng(position[key], `${where}.position.${key}`),
      timelineTime(position.timestamp, `${where}.position.timestamp`),
      out,
    );
  }
}
