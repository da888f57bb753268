// Telling a location file's format from its content (the file name only a hint), with errors that say what the file is instead.
import { LocationFormatError, refusedDoctype, show } from "./errors.js";
import { ADVICE, LOCATION_FORMAT_LABELS, type LocationFormat } from "./formats.js";
import { checkSize, decodeText, firstNonSpace, isRecord, parseJson } from "./text.js";

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

/** The local name of an XML document's root element, refusing DOCTYPE declarations on the way. */
export function xmlRootName(text: string, from: number, format: LocationFormat | undefined): string {
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
    `read as ${format === undefined ? "XML" : LOCATION_FORMAT_LABELS[format]}: no root element found; the file is not well-formed XML. ${ADVICE.gpx}`,
    { format },
  );
}

export interface Sniffed {
  format: LocationFormat;
  text: string;
  /** The parsed JSON for JSON formats, so parsing does not run twice. */
  json: unknown;
}

export function sniff(bytes: Uint8Array, fileName: string | undefined): Sniffed {
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
      `${fileName} was taken for ${LOCATION_FORMAT_LABELS[hinted]} by its name, but it is ${what}: ` +
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
