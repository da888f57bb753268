// RFC 7946 GeoJSON: points with a time property, lines and multipoints with parallel time arrays (togeojson's coordTimes).
import { badTime, isoToUnixSeconds, numericTimeToSeconds, TIME_RANGE } from "./dates.js";
import { malformed, show } from "./errors.js";
import type { Collector } from "./formats.js";
import { badLatLon, positionProblem } from "./positions.js";
import { isRecord } from "./text.js";

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

export function readGeoJson(root: unknown, out: Collector): void {
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
