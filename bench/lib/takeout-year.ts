// Generates a realistic, deterministic legacy Google Takeout `Records.json` covering one year, for the location-import benchmarks.
import { seededRandom } from "@mosaic/cli";

/** What {@link generateTakeoutYear} makes: the file's bytes and how many location records it holds. */
export interface TakeoutYear {
  bytes: Uint8Array;
  points: number;
}

export interface TakeoutYearInit {
  /** Unix seconds of the first fix. @default 1672531200 (2023-01-01T00:00:00Z) */
  start?: number;
  /** Seconds between fixes. @default 60 */
  everySeconds?: number;
  /** PRNG seed; the same seed gives the same bytes. @default 1 */
  seed?: number;
}

const YEAR_SECONDS = 365 * 86_400;

interface Place {
  lat: number;
  lon: number;
}

// A person in Munich: a flat, an office, a few shops, a gym and a park.
const HOME: Place = { lat: 48.13513, lon: 11.58198 };
const WORK: Place = { lat: 48.15003, lon: 11.54564 };
const LUNCH: Place[] = [
  { lat: 48.1489, lon: 11.5431 },
  { lat: 48.1517, lon: 11.5497 },
];
const SHOPS: Place[] = [
  { lat: 48.1372, lon: 11.5755 },
  { lat: 48.1302, lon: 11.5884 },
  { lat: 48.1429, lon: 11.5601 },
  { lat: 48.1206, lon: 11.6013 },
];
const GYM: Place = { lat: 48.1266, lon: 11.5713 };
const PARK: Place = { lat: 48.1642, lon: 11.6055 };

/** One stretch of a day: staying at a place, or travelling between two, from minute `from` (inclusive) of the day. */
interface Stretch {
  from: number;
  stay?: Place;
  go?: { a: Place; b: Place; to: number };
}

/** Plans a day from a per-day random draw, so a day's plan does not depend on how many fixes came before it. */
function planDay(weekday: number, rand: () => number): Stretch[] {
  const plan: Stretch[] = [];
  const stay = (from: number, place: Place) => plan.push({ from, stay: place });
  const go = (from: number, to: number, a: Place, b: Place) => plan.push({ from, go: { a, b, to } });
  const wiggle = (m: number) => m + Math.floor(rand() * 30) - 15;
  if (weekday >= 1 && weekday <= 5) {
    const leave = wiggle(7 * 60 + 30);
    const backAt = wiggle(17 * 60 + 30);
    const lunch = LUNCH[Math.floor(rand() * LUNCH.length)]!;
    stay(0, HOME);
    go(leave, leave + 28, HOME, WORK);
    stay(leave + 28, WORK);
    go(12 * 60, 12 * 60 + 6, WORK, lunch);
    stay(12 * 60 + 6, lunch);
    go(12 * 60 + 50, 12 * 60 + 56, lunch, WORK);
    stay(12 * 60 + 56, WORK);
    const errand = rand();
    if (errand < 0.35) {
      const shop = SHOPS[Math.floor(rand() * SHOPS.length)]!;
      go(backAt, backAt + 20, WORK, shop);
      stay(backAt + 20, shop);
      go(backAt + 55, backAt + 70, shop, HOME);
      stay(backAt + 70, HOME);
    } else if (errand < 0.55) {
      go(backAt, backAt + 15, WORK, GYM);
      stay(backAt + 15, GYM);
      go(backAt + 90, backAt + 105, GYM, HOME);
      stay(backAt + 105, HOME);
    } else {
      go(backAt, backAt + 28, WORK, HOME);
      stay(backAt + 28, HOME);
    }
  } else {
    stay(0, HOME);
    const out = wiggle(10 * 60 + 30);
    const where = rand() < 0.5 ? PARK : SHOPS[Math.floor(rand() * SHOPS.length)]!;
    go(out, out + 25, HOME, where);
    stay(out + 25, where);
    const back = out + 25 + 60 + Math.floor(rand() * 120);
    go(back, back + 25, where, HOME);
    stay(back + 25, HOME);
  }
  return plan;
}

/** A rough standard normal from two uniforms (Box–Muller), for position noise. */
function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * A year of one-fix-per-`everySeconds` location records, pretty-printed the way Takeout writes `Records.json`
 * (two-space indent, `}, {` between records), with the fields real exports carry: latitudeE7, longitudeE7,
 * accuracy, source, deviceTag and an ISO timestamp with milliseconds, plus altitude, velocity and heading on
 * some GPS fixes.
 */
export function generateTakeoutYear(init: TakeoutYearInit = {}): TakeoutYear {
  const start = init.start ?? 1_672_531_200;
  const everySeconds = init.everySeconds ?? 60;
  const seed = init.seed ?? 1;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`init.start: expected unix seconds >= 0, got ${start}`);
  if (!Number.isInteger(everySeconds) || everySeconds < 1) {
    throw new RangeError(`init.everySeconds: expected a positive integer, got ${everySeconds}`);
  }
  const rand = seededRandom(seed);
  const deviceTag = Math.floor(rand() * 2 ** 31) - 2 ** 30;
  const points = Math.floor(YEAR_SECONDS / everySeconds);
  const parts: string[] = ['{\n  "locations": [{\n'];
  let day = -1;
  let plan: Stretch[] = [];
  let stretch = 0;
  for (let i = 0; i < points; i++) {
    // Real fixes arrive a little irregularly; keep each inside its own slot so timestamps stay increasing.
    const ms = (start + i * everySeconds) * 1000 + Math.floor(rand() * Math.min(everySeconds, 30) * 1000);
    // The person lives on Munich winter time (UTC+1; DST ignored): days and plans run on local clock time.
    const local = Math.floor(ms / 1000) + 3600;
    const d = Math.floor(local / 86_400);
    if (d !== day) {
      day = d;
      // Seeding each day from (seed, day) keeps a day's plan independent of everySeconds and start.
      plan = planDay((d + 4) % 7, seededRandom((seed * 7919 + d * 104_729) >>> 0)); // 1970-01-01 was a Thursday (4)
      stretch = 0;
    }
    const minute = (local - d * 86_400) / 60;
    while (stretch + 1 < plan.length && plan[stretch + 1]!.from <= minute) stretch++;
    const s = plan[stretch]!;
    let lat: number;
    let lon: number;
    let moving = false;
    let accuracy: number;
    let source: string;
    if (s.go !== undefined) {
      const f = Math.min(1, (minute - s.from) / (s.go.to - s.from));
      lat = s.go.a.lat + (s.go.b.lat - s.go.a.lat) * f;
      lon = s.go.a.lon + (s.go.b.lon - s.go.a.lon) * f;
      moving = true;
      accuracy = 3 + Math.floor(rand() * 12);
      source = "GPS";
    } else {
      const at = s.stay!;
      lat = at.lat;
      lon = at.lon;
      const r = rand();
      accuracy = r < 0.95 ? 10 + Math.floor(rand() * 25) : 200 + Math.floor(rand() * 1500);
      source = r < 0.95 ? "WIFI" : "CELL"; // the odd cell-tower fix, hundreds of metres off
    }
    // Noise on the order of the reported accuracy (1 degree of latitude is ~111 km).
    lat += (gaussian(rand) * accuracy) / 111_000 / 2;
    lon += (gaussian(rand) * accuracy) / 74_000 / 2;
    const date = new Date(ms);
    const timestamp =
      `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
      `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}Z`;
    let record =
      `    "latitudeE7": ${Math.round(lat * 1e7)},\n` + `    "longitudeE7": ${Math.round(lon * 1e7)},\n` + `    "accuracy": ${accuracy},\n`;
    if (moving) {
      record +=
        `    "velocity": ${2 + Math.floor(rand() * 12)},\n` +
        `    "heading": ${Math.floor(rand() * 360)},\n` +
        `    "altitude": ${510 + Math.floor(rand() * 30)},\n` +
        `    "verticalAccuracy": ${2 + Math.floor(rand() * 8)},\n`;
    }
    record += `    "source": "${source}",\n    "deviceTag": ${deviceTag},\n    "timestamp": "${timestamp}"\n`;
    parts.push(record, i + 1 < points ? "  }, {\n" : "  }]\n}\n");
  }
  if (points === 0) parts.splice(0, 1, '{\n  "locations": []\n}\n');
  return { bytes: new TextEncoder().encode(parts.join("")), points };
}
