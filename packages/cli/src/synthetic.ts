// Synthetic people for the demo: a week of plausible location history around a city, reproducible by seed.
import { DAY_S, type LocationPoint } from "@mosaic/mapreduce";

/** A small seeded PRNG (mulberry32): the simulation only, never privacy noise. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KM_PER_DEG_LAT = 111.32;

/**
 * A week of fixes for one person: home near (lat0, lon0); each day one out-and-back trip whose length
 * follows the person's habits, sampled every 5 minutes, plus fixes at home.
 */
export function syntheticWeek(rand: () => number, windowEnd: number, days = 7, lat0 = 38.72, lon0 = -9.14): LocationPoint[] {
  const home = { lat: lat0 + (rand() - 0.5) * 0.2, lon: lon0 + (rand() - 0.5) * 0.2 };
  const habit = 3 + rand() * 30; // typical one-way km
  const points: LocationPoint[] = [];
  for (let d = 0; d < days; d++) {
    const dayStart = windowEnd - (days - d) * DAY_S;
    points.push({ t: dayStart + 3600, ...home });
    const oneWay = habit * (0.3 + rand() * 1.4) * (rand() < 0.15 ? 0 : 1);
    const bearing = rand() * 2 * Math.PI;
    const dest = {
      lat: home.lat + (oneWay * Math.cos(bearing)) / KM_PER_DEG_LAT,
      lon: home.lon + (oneWay * Math.sin(bearing)) / (KM_PER_DEG_LAT * Math.cos((home.lat * Math.PI) / 180)),
    };
    const leave = dayStart + 7 * 3600 + Math.floor(rand() * 4 * 3600);
    const steps = 12;
    for (const [from, to, t0] of [
      [home, dest, leave],
      [dest, home, leave + 8 * 3600],
    ] as const) {
      for (let s = 1; s <= steps; s++) {
        const f = s / steps;
        points.push({ t: t0 + s * 300, lat: from.lat + (to.lat - from.lat) * f, lon: from.lon + (to.lon - from.lon) * f });
      }
    }
    points.push({ t: dayStart + 23 * 3600, ...home });
  }
  return points;
}
