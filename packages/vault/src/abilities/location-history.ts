// The location-history ability: fixes imported from files people already have or entered by hand, and views derived from them.
import { DAY_S, haversineKm, kmPerDay, type LocationPoint } from "@mosaic/mapreduce";
import { toBareHex } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { sha256 } from "@noble/hashes/sha2";
import { type AbilityContext, defineAbility } from "../ability.js";
import { type LocationFormat, parseLocations } from "../location/index.js";

export const LOCATION_HISTORY = "location-history";
/** The place categories visits are counted in (the mobility reports' categories, plus home and work). */
export const PLACE_CATEGORIES = ["home", "work", "shopping", "transit", "park", "health", "education", "leisure", "other"] as const;
export type PlaceCategory = (typeof PLACE_CATEGORIES)[number];

/** Fixes of one UTC day from one source, stored column-wise: one document per chunk keeps a year to a few hundred records. */
export interface PointChunk extends Doc {
  day: string;
  source: string;
  start: number;
  t: number[];
  lat: number[];
  lon: number[];
}

/** A place the user named, with a category: what "visits to place categories" counts against. */
export interface Place extends Doc {
  name: string;
  category: PlaceCategory;
  lat: number;
  lon: number;
  radiusM: number;
}

/** Fixes per chunk document: ~60 KiB of dag-cbor, well under the thread's 256 KiB event limit. */
export const MAX_CHUNK_POINTS = 2048;

/** The UTC day (YYYY-MM-DD) of a unix time in seconds. */
export function dayOf(t: number): string {
  return new Date(Math.floor(t / DAY_S) * DAY_S * 1000).toISOString().slice(0, 10);
}

function checkPoint(t: unknown, lat: unknown, lon: unknown, where: string): void {
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0)
    throw new TypeError(`${where}.t: expected unix seconds, got ${String(t)}`);
  if (typeof lat !== "number" || !(Math.abs(lat) <= 90)) throw new RangeError(`${where}.lat: expected -90..90, got ${String(lat)}`);
  if (typeof lon !== "number" || !(Math.abs(lon) <= 180)) throw new RangeError(`${where}.lon: expected -180..180, got ${String(lon)}`);
}

function validateChunk(value: unknown): PointChunk {
  const c = value as PointChunk;
  if (typeof c?.day !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(c.day)) throw new TypeError("points.day: expected YYYY-MM-DD");
  if (typeof c.source !== "string" || c.source.length > 80) throw new TypeError("points.source: expected a short string");
  const n = Array.isArray(c.t) ? c.t.length : -1;
  if (n < 1 || n > MAX_CHUNK_POINTS || !Array.isArray(c.lat) || !Array.isArray(c.lon) || c.lat.length !== n || c.lon.length !== n) {
    throw new TypeError(`points.t/lat/lon: expected three arrays of the same length 1..${MAX_CHUNK_POINTS}`);
  }
  for (let i = 0; i < n; i++) {
    checkPoint(c.t[i], c.lat[i], c.lon[i], `points[${i}]`);
    if (dayOf(c.t[i] as number) !== c.day) throw new RangeError(`points[${i}].t: ${c.t[i]} is not on ${c.day}`);
  }
  if (c.start !== c.t[0]) throw new TypeError("points.start: expected the first fix's time");
  return c;
}

function validatePlace(value: unknown): Place {
  const p = value as Place;
  if (typeof p?.name !== "string" || p.name.length === 0 || p.name.length > 100)
    throw new TypeError("places.name: expected 1..100 characters");
  if (!(PLACE_CATEGORIES as readonly string[]).includes(p.category)) {
    throw new TypeError(`places.category: expected one of ${PLACE_CATEGORIES.join(", ")}, got ${JSON.stringify(p.category)}`);
  }
  checkPoint(0, p.lat, p.lon, "places");
  if (typeof p.radiusM !== "number" || !(p.radiusM >= 10 && p.radiusM <= 5000))
    throw new RangeError(`places.radiusM: expected 10..5000, got ${String(p.radiusM)}`);
  return p;
}

export const locationHistory = defineAbility({
  manifest: {
    name: LOCATION_HISTORY,
    version: "1.0.0",
    description: "Where you have been: GPX, GeoJSON and Google Takeout imports and manual entry, with daily distance and place visits.",
    owns: {
      points: {
        description: "location fixes, one document per day and source",
        fields: ["t", "lat", "lon", "day", "source"],
        indexes: ["day", "source"],
      },
      places: {
        description: "places you named, with a category",
        fields: ["name", "category", "lat", "lon", "radiusM"],
        indexes: ["category"],
      },
    },
    handles: ["job:new"],
  },
  collections: { points: { validate: validateChunk }, places: { validate: validatePlace } },
  // Map programs see one row per fix, in time order, not the day chunks.
  rows: { points: (docs) => pointRows(docs as readonly PointChunk[]) },
  on: {
    // Shown on the consent screen: how many of the job's days this vault has data for.
    "job:new": (ctx, payload) => {
      const { from, to } = payload as { from: number; to: number };
      const days = new Set(
        ctx
          .read<PointChunk>("points")
          .find({ where: { day: { gte: dayOf(from), lte: dayOf(to - 1) } } })
          .map((c) => c.day),
      );
      return { daysWithData: days.size };
    },
  },
});

export interface StoreResult {
  points: number;
  days: number;
  chunks: number;
  /** The same source was stored before: nothing was written. */
  duplicate: boolean;
}

/** Checks fixes from outside; TypeError/RangeError names the first bad one, e.g. points[3].lat. */
export function checkLocations(points: readonly LocationPoint[]): void {
  for (const [i, p] of points.entries()) checkPoint(p.t, p.lat, p.lon, `points[${i}]`);
}

/** Reports how many fixes are stored so far, of how many; called after each chunk document is written. */
export type StoreProgress = (stored: number, total: number) => void;

/** Stores fixes under `source`, grouped by UTC day; a source already stored is a no-op, so re-importing a file is safe. */
export async function storeLocations(
  ctx: AbilityContext,
  points: readonly LocationPoint[],
  source: string,
  options: { onProgress?: StoreProgress } = {},
): Promise<StoreResult> {
  const collection = ctx.collection<PointChunk>("points");
  if (collection.find({ where: { source }, limit: 1 }).length > 0) return { points: 0, days: 0, chunks: 0, duplicate: true };
  checkLocations(points);
  const sorted = [...points].sort((a, b) => a.t - b.t);
  let chunks = 0;
  const days = new Set<string>();
  let i = 0;
  while (i < sorted.length) {
    const day = dayOf((sorted[i] as LocationPoint).t);
    days.add(day);
    const chunk = { day, source, start: (sorted[i] as LocationPoint).t, t: [] as number[], lat: [] as number[], lon: [] as number[] };
    while (i < sorted.length && chunk.t.length < MAX_CHUNK_POINTS && dayOf((sorted[i] as LocationPoint).t) === day) {
      const p = sorted[i++] as LocationPoint;
      chunk.t.push(p.t);
      chunk.lat.push(p.lat);
      chunk.lon.push(p.lon);
    }
    await collection.create({ ...chunk, _id: `${day}.${source}.${chunks}` });
    chunks++;
    options.onProgress?.(i, sorted.length);
  }
  return { points: sorted.length, days: days.size, chunks, duplicate: false };
}

export interface ImportResult extends StoreResult {
  format: LocationFormat;
  /** Entries in the file without a usable time or position. */
  skipped: number;
}

/** Imports a GPX, GeoJSON or Google Takeout file; the source is the file's hash, so importing it twice stores it once. */
export async function importLocationFile(
  ctx: AbilityContext,
  bytes: Uint8Array,
  options: { fileName?: string; format?: LocationFormat; onProgress?: StoreProgress } = {},
): Promise<ImportResult> {
  const parsed = parseLocations(bytes, { fileName: options.fileName, format: options.format });
  const source = `file-${toBareHex(sha256(bytes)).slice(0, 24)}`;
  const stored = await storeLocations(ctx, parsed.points, source, { onProgress: options.onProgress });
  return { ...stored, format: parsed.format, skipped: parsed.skipped };
}

/** One row per fix, `{t, lat, lon, day, source}`, oldest first. */
function pointRows(chunks: readonly PointChunk[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.t.length; i++) rows.push({ t: c.t[i], lat: c.lat[i], lon: c.lon[i], day: c.day, source: c.source });
  }
  return rows.sort((a, b) => (a.t as number) - (b.t as number));
}

/** Fixes with from <= t < to (unix seconds), oldest first. */
export function readLocations(ctx: AbilityContext, range: { from?: number; to?: number } = {}): LocationPoint[] {
  const from = range.from ?? 0;
  const to = range.to ?? Number.MAX_SAFE_INTEGER;
  const chunks = ctx
    .read<PointChunk>(`${LOCATION_HISTORY}/points`)
    .find({ where: { day: { gte: dayOf(from), lte: dayOf(Math.min(to, 253_402_300_799) - 1) } } });
  const out: LocationPoint[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.t.length; i++) {
      const t = c.t[i] as number;
      if (t >= from && t < to) out.push({ t, lat: c.lat[i] as number, lon: c.lon[i] as number });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** Kilometres travelled on each UTC day in [from, to), oldest first. */
export function dailyDistance(ctx: AbilityContext, range: { from: number; to: number }): { day: string; km: number }[] {
  const from = Math.floor(range.from / DAY_S) * DAY_S;
  const days = Math.ceil((range.to - from) / DAY_S);
  const km = kmPerDay(readLocations(ctx, { from, to: from + days * DAY_S }), days, from + days * DAY_S);
  return km.map((k, i) => ({ day: dayOf(from + i * DAY_S), km: k }));
}

/** Adds a named place with a category. */
export async function addPlace(ctx: AbilityContext, place: Omit<Place, "_id">): Promise<Place> {
  return ctx.collection<Place>("places").create(place);
}

/**
 * Visits per UTC day and place category: a visit is a run of consecutive fixes within a place's radius that
 * lasts at least `minMinutes`. Fixes more than `maxGapMinutes` apart end a run (the phone was off or elsewhere).
 */
export function placeVisits(
  ctx: AbilityContext,
  range: { from: number; to: number; minMinutes?: number; maxGapMinutes?: number },
): { day: string; category: PlaceCategory; visits: number }[] {
  const minS = (range.minMinutes ?? 10) * 60;
  const maxGapS = (range.maxGapMinutes ?? 30) * 60;
  const places = ctx.read<Place>(`${LOCATION_HISTORY}/places`).find();
  const counts = new Map<string, number>();
  let current: { place: Place; start: number; last: number } | undefined;
  const close = () => {
    if (current !== undefined && current.last - current.start >= minS) {
      const key = `${dayOf(current.start)}|${current.place.category}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    current = undefined;
  };
  for (const p of readLocations(ctx, range)) {
    const at = places.find((pl) => haversineKm(p, { t: p.t, lat: pl.lat, lon: pl.lon }) * 1000 <= pl.radiusM);
    if (current !== undefined && (at !== current.place || p.t - current.last > maxGapS)) close();
    if (at !== undefined) current = current === undefined ? { place: at, start: p.t, last: p.t } : { ...current, last: p.t };
  }
  close();
  return [...counts]
    .map(([key, visits]) => {
      const [day, category] = key.split("|") as [string, PlaceCategory];
      return { day, category, visits };
    })
    .sort((a, b) => a.day.localeCompare(b.day) || a.category.localeCompare(b.category));
}
