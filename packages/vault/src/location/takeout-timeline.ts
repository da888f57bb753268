// Google's on-device Timeline.json export: timeline paths, visits and raw position signals.
import { badTime, isoToUnixSeconds, TIME_RANGE } from "./dates.js";
import { malformed, show } from "./errors.js";
import type { Collector } from "./formats.js";
import { badLatLon, positionProblem } from "./positions.js";
import { isRecord } from "./text.js";

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

export function readTimeline(root: unknown, out: Collector): void {
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
