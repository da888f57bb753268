// CAP areas as shapes: polygons and circles parsed from their CAP strings, and a fast test of whether a point lies in
// an area (the vault runs it for every location point of a year against every alert it follows).
import { InvalidCapError, UnclosedPolygonError } from "./errors.js";
import type { CapArea, CapValuePair } from "./types.js";

/** A WGS 84 position in degrees. */
export interface LatLon {
  lat: number;
  lon: number;
}

export interface CapCircle {
  center: LatLon;
  radiusKm: number;
}

/** A bounding box in degrees; minLon ≤ maxLon always (a shape across the antimeridian spans −180..180). */
export interface BoundingBox {
  minLat: number;
  maxLat: number;
  minLon: number;
  maxLon: number;
}

/** An area's polygons, circles and geocodes; `bbox` bounds its polygons and circles (undefined for geocodes only). */
export interface AreaShape {
  polygons: LatLon[][];
  circles: CapCircle[];
  geocodes: CapValuePair[];
  bbox: BoundingBox | undefined;
}

/** Mean earth radius (IUGG), as @mosaic/mapreduce's haversineKm uses. */
const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

function parsePoint(pair: string, path: string): LatLon {
  const comma = pair.indexOf(",");
  const latText = pair.slice(0, comma);
  const lonText = pair.slice(comma + 1);
  if (comma < 0 || !DECIMAL.test(latText) || !DECIMAL.test(lonText))
    throw new InvalidCapError(`${path}: "${pair.slice(0, 40)}" is not a "lat,lon" pair of decimal degrees`);
  const lat = Number(latText);
  const lon = Number(lonText);
  if (!(lat >= -90 && lat <= 90)) throw new InvalidCapError(`${path}: latitude ${latText} is outside −90..90`);
  if (!(lon >= -180 && lon <= 180)) throw new InvalidCapError(`${path}: longitude ${lonText} is outside −180..180`);
  return { lat, lon };
}

/**
 * Parses a CAP polygon, "lat,lon lat,lon …" (pairs separated by whitespace). A pair that is not two decimal
 * degrees in range is InvalidCapError; fewer than four pairs, or a last pair other than the first, is
 * UnclosedPolygonError. `path` names the element in messages.
 */
export function parsePolygon(s: string, path = "polygon"): LatLon[] {
  if (typeof s !== "string") throw new InvalidCapError(`${path}: expected a string, got ${typeof s}`);
  const text = s.trim();
  const pairs = text === "" ? [] : text.split(/[ \t\n\r]+/);
  const points = pairs.map((pair) => parsePoint(pair, path));
  if (points.length < 4)
    throw new UnclosedPolygonError(`${path}: a polygon needs at least four points (the first repeated last), got ${points.length}`);
  const first = points[0] as LatLon;
  const last = points[points.length - 1] as LatLon;
  if (first.lat !== last.lat || first.lon !== last.lon)
    throw new UnclosedPolygonError(`${path}: the polygon does not close: it starts at ${pairs[0]} and ends at ${pairs[pairs.length - 1]}`);
  return points;
}

/** Parses a CAP circle, "lat,lon radius" with the radius in kilometres (≥ 0): InvalidCapError otherwise. */
export function parseCircle(s: string, path = "circle"): CapCircle {
  if (typeof s !== "string") throw new InvalidCapError(`${path}: expected a string, got ${typeof s}`);
  const parts = s.trim().split(/[ \t\n\r]+/);
  if (parts.length !== 2) throw new InvalidCapError(`${path}: "${s.slice(0, 60)}" is not "lat,lon radius"`);
  const center = parsePoint(parts[0] as string, path);
  const radiusText = parts[1] as string;
  if (!DECIMAL.test(radiusText) || radiusText.startsWith("-"))
    throw new InvalidCapError(`${path}: radius "${radiusText.slice(0, 20)}" is not a non-negative number of kilometres`);
  return { center, radiusKm: Number(radiusText) };
}

/** A polygon ready for ray casting: longitudes unwrapped across the antimeridian, with its own box. */
interface PreparedPolygon {
  lats: Float64Array;
  lons: Float64Array;
  minLat: number;
  maxLat: number;
  minLon: number;
  maxLon: number;
}

interface PreparedCircle {
  lat: number;
  lon: number;
  cosLat: number;
  radiusKm: number;
  /** The radius in degrees of latitude: a point farther in latitude is outside. */
  dLat: number;
}

interface Prepared {
  polygons: PreparedPolygon[];
  circles: PreparedCircle[];
}

const prepared = new WeakMap<AreaShape, Prepared>();

/**
 * A polygon's longitudes unwrapped so no edge jumps more than 180° (a polygon from 170° to −170° becomes 170°..190°):
 * CAP polygons are drawn the short way round, so an edge longer than half the earth means the antimeridian.
 */
function unwrapLongitudes(points: readonly LatLon[]): Float64Array {
  const lons = new Float64Array(points.length);
  let shift = 0;
  let prevLon = points[0]?.lon ?? 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as LatLon;
    if (i > 0) {
      const step = p.lon + shift - prevLon;
      if (step > 180) shift -= 360;
      else if (step < -180) shift += 360;
    }
    prevLon = lons[i] = p.lon + shift;
  }
  return lons;
}

/** A polygon with its longitudes unwrapped (see unwrapLongitudes) and its box, for ray casting. */
function preparePolygon(points: LatLon[]): PreparedPolygon {
  const n = points.length;
  const lats = new Float64Array(n);
  const lons = unwrapLongitudes(points);
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minLon = Infinity;
  let maxLon = -Infinity;
  for (let i = 0; i < n; i++) {
    const p = points[i] as LatLon;
    const lon = lons[i] as number;
    lats[i] = p.lat;
    if (p.lat < minLat) minLat = p.lat;
    if (p.lat > maxLat) maxLat = p.lat;
    if (lon < minLon) minLon = lon;
    if (lon > maxLon) maxLon = lon;
  }
  return { lats, lons, minLat, maxLat, minLon, maxLon };
}

function prepare(shape: AreaShape): Prepared {
  let p = prepared.get(shape);
  if (!p) {
    p = {
      polygons: shape.polygons.map(preparePolygon),
      circles: shape.circles.map(({ center, radiusKm }) => ({
        lat: center.lat,
        lon: center.lon,
        cosLat: Math.cos(center.lat * RAD),
        radiusKm,
        dLat: radiusKm / (EARTH_RADIUS_KM * RAD),
      })),
    };
    prepared.set(shape, p);
  }
  return p;
}

function circleBox(c: CapCircle): BoundingBox {
  const dLat = c.radiusKm / (EARTH_RADIUS_KM * RAD);
  const minLat = Math.max(-90, c.center.lat - dLat);
  const maxLat = Math.min(90, c.center.lat + dLat);
  const s = Math.sin(Math.min(Math.PI / 2, c.radiusKm / EARTH_RADIUS_KM)) / Math.cos(c.center.lat * RAD);
  // Around a pole, or wide enough to reach it, every longitude is in range.
  if (minLat <= -90 || maxLat >= 90 || !(s < 1)) return { minLat, maxLat, minLon: -180, maxLon: 180 };
  const dLon = Math.asin(s) / RAD;
  const minLon = c.center.lon - dLon;
  const maxLon = c.center.lon + dLon;
  if (minLon < -180 || maxLon > 180) return { minLat, maxLat, minLon: -180, maxLon: 180 };
  return { minLat, maxLat, minLon, maxLon };
}

/**
 * An area's shape: its polygons and circles parsed (the area is assumed valid — from parseCap or validateCap; a bad
 * string throws as parsePolygon/parseCircle do), its geocodes, and one bounding box around all polygons and circles.
 * A polygon or circle across the antimeridian makes the box span every longitude.
 */
export function areaShape(area: CapArea): AreaShape {
  const polygons = area.polygon.map((s, i) => parsePolygon(s, `area/polygon[${i}]`));
  const circles = area.circle.map((s, i) => parseCircle(s, `area/circle[${i}]`));
  const shape: AreaShape = { polygons, circles, geocodes: area.geocode.map((g) => ({ ...g })), bbox: undefined };
  let box: BoundingBox | undefined;
  const add = (b: BoundingBox) => {
    if (!box) box = { ...b };
    else {
      box.minLat = Math.min(box.minLat, b.minLat);
      box.maxLat = Math.max(box.maxLat, b.maxLat);
      box.minLon = Math.min(box.minLon, b.minLon);
      box.maxLon = Math.max(box.maxLon, b.maxLon);
    }
  };
  for (const poly of prepare(shape).polygons) {
    const across = poly.minLon < -180 || poly.maxLon > 180;
    add({ minLat: poly.minLat, maxLat: poly.maxLat, minLon: across ? -180 : poly.minLon, maxLon: across ? 180 : poly.maxLon });
  }
  for (const c of circles) add(circleBox(c));
  shape.bbox = box;
  return shape;
}

/** Even-odd ray casting in the (lon, lat) plane; points exactly on an edge may fall either way. */
function inPolygon(poly: PreparedPolygon, lat: number, lon: number): boolean {
  if (lat < poly.minLat || lat > poly.maxLat || lon < poly.minLon || lon > poly.maxLon) return false;
  const { lats, lons } = poly;
  let inside = false;
  for (let i = 0, j = lats.length - 1; i < lats.length; j = i++) {
    const yi = lats[i] as number;
    const yj = lats[j] as number;
    if (yi > lat !== yj > lat) {
      const xi = lons[i] as number;
      const xj = lons[j] as number;
      if (lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/**
 * Whether `p` lies in one of the shape's polygons (ray casting) or circles (great-circle distance ≤ radius). A
 * geocode-only shape contains nothing: geocodes are matched by name, not position. Polygons crossing the
 * antimeridian are unwrapped (see preparePolygon) and the point is tried at lon, lon + 360 and lon − 360. Checks the
 * shape's box first and allocates nothing per point after the shape's first use.
 */
export function shapeContains(shape: AreaShape, p: LatLon): boolean {
  const box = shape.bbox;
  const lat = p.lat;
  const lon = p.lon;
  if (box === undefined || lat < box.minLat || lat > box.maxLat || lon < box.minLon || lon > box.maxLon) return false;
  const { polygons, circles } = prepare(shape);
  for (let i = 0; i < polygons.length; i++) {
    const poly = polygons[i] as PreparedPolygon;
    if (inPolygon(poly, lat, lon) || inPolygon(poly, lat, lon + 360) || inPolygon(poly, lat, lon - 360)) return true;
  }
  for (let i = 0; i < circles.length; i++) {
    const c = circles[i] as PreparedCircle;
    if (Math.abs(lat - c.lat) > c.dLat) continue;
    const dLat = (lat - c.lat) * RAD;
    const dLon = (lon - c.lon) * RAD;
    const h = Math.sin(dLat / 2) ** 2 + c.cosLat * Math.cos(lat * RAD) * Math.sin(dLon / 2) ** 2;
    if (2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h))) <= c.radiusKm) return true;
  }
  return false;
}

/**
 * A polygon's approximate size in km²: the shoelace formula on an equal-area (sinusoidal) projection, longitudes
 * unwrapped across the antimeridian as CAP polygons are drawn the short way round. Good to a few per cent for a
 * district or a country; meant for a person's eye (an editor about to sign), not for matching.
 */
export function polygonAreaKm2(points: readonly LatLon[]): number {
  const lons = unwrapLongitudes(points);
  const kmPerDeg = EARTH_RADIUS_KM * RAD;
  let sum = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i] as LatLon;
    const b = points[i + 1] as LatLon;
    const ax = (lons[i] as number) * Math.cos(a.lat * RAD) * kmPerDeg;
    const bx = (lons[i + 1] as number) * Math.cos(b.lat * RAD) * kmPerDeg;
    sum += ax * b.lat * kmPerDeg - bx * a.lat * kmPerDeg;
  }
  return Math.abs(sum) / 2;
}

/** A circle's size in km² on the sphere: a cap of the earth, at most the whole earth. */
export function circleAreaKm2(radiusKm: number): number {
  return 2 * Math.PI * EARTH_RADIUS_KM ** 2 * (1 - Math.cos(Math.min(Math.PI, radiusKm / EARTH_RADIUS_KM)));
}
