// Reading a location file of any supported format into time-sorted points.
import type { LocationPoint } from "@mosaic/mapreduce";
import { type Sniffed, sniff } from "./detect.js";
import { LocationFormatError, show } from "./errors.js";
import {
  ADVICE,
  type Collector,
  LOCATION_FORMAT_LABELS,
  LOCATION_FORMATS,
  type LocationFormat,
  type ParsedLocations,
  type ParseLocationsOptions,
} from "./formats.js";
import { readGeoJson } from "./geojson.js";
import { readGpx } from "./gpx.js";
import { readRecords } from "./takeout-records.js";
import { readTimeline } from "./takeout-timeline.js";
import { checkSize, decodeText, firstNonSpace, parseJson } from "./text.js";

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
  if (format !== undefined && !LOCATION_FORMATS.includes(format)) {
    throw new TypeError(`options.format: expected one of ${LOCATION_FORMATS.join(", ")}, got ${show(format)}`);
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
        throw new LocationFormatError(`read as ${LOCATION_FORMAT_LABELS[format]}: the file is not JSON. ${ADVICE[format]}`, { format });
      }
      sniffed = { format, text, json: parseJson(text, format) };
    }
  }
  const out: Collector = { points: [], skipped: 0 };
  READERS[sniffed.format](sniffed, out);
  return { format: sniffed.format, points: sortByTime(out.points), skipped: out.skipped };
}

/** The reader of each format: GPX reads the text, the others the parsed JSON. */
const READERS: Readonly<Record<LocationFormat, (sniffed: Sniffed, out: Collector) => void>> = {
  gpx: (sniffed, out) => readGpx(sniffed.text, out),
  geojson: (sniffed, out) => readGeoJson(sniffed.json, out),
  "takeout-records": (sniffed, out) => readRecords(sniffed.json, out),
  "takeout-timeline": (sniffed, out) => readTimeline(sniffed.json, out),
};

function sortByTime(points: LocationPoint[]): LocationPoint[] {
  // Exports are almost always in time order already; checking is far cheaper than sorting.
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.t < points[i - 1]!.t) return points.sort((a, b) => a.t - b.t);
  }
  return points;
}
