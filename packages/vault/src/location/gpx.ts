// GPX 1.0/1.1 tracks, routes and waypoints, read with entity expansion off and DOCTYPEs refused.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { badTime, isoToUnixSeconds, TIME_RANGE } from "./dates.js";
import { malformed, refusedDoctype, show } from "./errors.js";
import type { Collector } from "./formats.js";
import { decimal } from "./positions.js";
import { isRecord } from "./text.js";

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

export function readGpx(text: string, out: Collector): void {
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
