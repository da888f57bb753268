// The first map program: kilometres travelled on each of the last N days, from location history.

/** A location fix as the location-history ability stores it. */
export interface LocationPoint {
  /** Unix time in seconds. */
  t: number;
  lat: number;
  lon: number;
}

const EARTH_RADIUS_KM = 6371.0088;
/** Seconds in a UTC day: the unit every day-bucketed job uses. */
export const DAY_S = 86_400;

/** Great-circle distance in kilometres. */
export function haversineKm(a: LocationPoint, b: LocationPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Kilometres travelled per day over `days` days ending at `windowEnd` (unix s), oldest day first, rounded
 * to whole km. Consecutive fixes within one day are summed; a jump across midnight counts for the later day.
 */
export function kmPerDay(points: LocationPoint[], days: number, windowEnd: number): number[] {
  const start = windowEnd - days * DAY_S;
  const inWindow = points.filter((p) => p.t >= start && p.t < windowEnd).sort((a, b) => a.t - b.t);
  const km = new Array<number>(days).fill(0);
  for (let i = 1; i < inWindow.length; i++) {
    const prev = inWindow[i - 1] as LocationPoint;
    const cur = inWindow[i] as LocationPoint;
    const day = Math.floor((cur.t - start) / DAY_S);
    km[day] = (km[day] as number) + haversineKm(prev, cur);
  }
  return km.map((x) => Math.round(x));
}
