// A simulated town with ground truth: households, work, school, shops, cafés, a gym, transit; people moving between
// them on the location-history model, their phones scanning each other's real GAEN advertisements, and who truly was
// a close contact of whom. Tests, the demo and the accuracy bench measure notifications against it.
import { sha256 } from "@noble/hashes/sha2";
import { dailyKey, deriveAemk, encodeMetadata, encryptMetadata, expandKey, exposureRootFromSeed } from "./gaen.js";
import { type Advertisement, INTERVAL_S, KEY_BYTES, type RadioAdapter, type ScanRecord, TEK_ROLLING_PERIOD } from "./types.js";

/** Seconds in one UTC day. */
const DAY_S = 86_400;
/** The model's time step: positions hold for 5 minutes; visits start and end on these steps. */
export const SIM_STEP_S = 300;
const STEPS_PER_DAY = DAY_S / SIM_STEP_S;
/** Monday 2 March 2026, 00:00 UTC: the default first day. */
const DEFAULT_START = 1_772_409_600;
/** The town lies around Lisbon, like the demo's synthetic people. */
const TOWN_LAT = 38.72;
const TOWN_LON = -9.14;
const M_PER_DEG_LAT = 111_320;

/** The location-history ability's place categories (vault's PLACE_CATEGORIES), so a vault can import the places. */
export type SimPlaceCategory = "home" | "work" | "shopping" | "transit" | "park" | "health" | "education" | "leisure" | "other";
/** What kind of room a place is: how people stand in it. */
export type SimPlaceKind = "home" | "work" | "school" | "shop" | "cafe" | "gym" | "transit" | "park" | "health";
const CATEGORY: Record<SimPlaceKind, SimPlaceCategory> = {
  home: "home",
  work: "work",
  school: "education",
  shop: "shopping",
  cafe: "leisure",
  gym: "leisure",
  transit: "transit",
  park: "park",
  health: "health",
};

export interface SimulateTownInit {
  /** People in the town, 1..100,000; every one carries a phone with the app. */
  people: number;
  /** Days simulated, 1..60. */
  days: number;
  /** Reproducibility: the same seed gives the same town, schedules, keys and scans. A non-negative safe integer or 1..64 bytes. */
  seed: number | Uint8Array;
  /** People who fall ill and test positive. @default round(2% of people), at least 1 */
  positives?: number;
  /** Unix seconds of the first day's midnight (UTC). @default 1772409600 (Monday 2 March 2026) */
  start?: number;
}

export interface SimPlace {
  index: number;
  name: string;
  /** A location-history place category. */
  category: SimPlaceCategory;
  kind: SimPlaceKind;
  lat: number;
  lon: number;
  /** A radius (10..5000 m) that holds the place's fixes, as location-history places carry. */
  radiusM: number;
  /** The room people stand in, metres. */
  widthM: number;
  depthM: number;
}

/** A phone model: what it advertises as its transmit power, and how far its radio is off that (a few dB). */
export interface SimPhone {
  model: string;
  /** The calibrated transmit power it puts in its metadata, dBm. */
  txPowerDbm: number;
  /** Actual transmit power minus the advertised one, dB. */
  txErrorDb: number;
  /** Its receiver's RSSI offset, dB. */
  rxGainDb: number;
}

export interface SimPerson {
  index: number;
  /** The person's 32-byte vault seed: exposureRootFromSeed(seed) gives their keys. */
  seed: Uint8Array;
  household: number;
  age: number;
  occupation: "worker" | "pupil" | "retired" | "home";
  phone: SimPhone;
  /** Location fixes like the location-history ability stores (time order; integer unix seconds). Computed on first read. */
  points: { t: number; lat: number; lon: number }[];
  /** What this person's phone heard, time order. Computed on first read and kept (see `simulatedScans` for a copy not kept). */
  scans: ScanRecord[];
  /** Unix days (floor(t / 86400)); infectious from two days before onset to ten after. */
  positive: { onsetDay: number; testDay: number } | null;
}

/** A CDC close contact: within 2 m (true distance) of an infectious person for `seconds` ≥ 15 minutes on one day. */
export interface CloseContact {
  person: number;
  infectious: number;
  /** Unix day. */
  day: number;
  seconds: number;
}

export interface SimTown {
  start: number;
  days: number;
  places: SimPlace[];
  people: SimPerson[];
  /** People (not themselves positive) who were a close contact of an infectious person on some day. */
  trulyExposed: Set<number>;
  /** Every close contact (person, infectious person, day), positives' own included. */
  closeContacts: CloseContact[];
  /** Unix seconds; `to` exclusive. Time between visits is travel by foot, bike or car (near nobody). */
  visits: { person: number; place: number; from: number; to: number }[];
}

// ————— randomness: a sequential PRNG for building the town, a counter-based hash for positions and radio noise —————

/** sfc32, seeded from 16 bytes. */
function sfc32(bytes: Uint8Array): () => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  let a = view.getUint32(0, true);
  let b = view.getUint32(4, true);
  let c = view.getUint32(8, true);
  let d = view.getUint32(12, true);
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** A uniform in [0, 1) that depends only on the town's key and the given integers (order-independent generation). */
function hashUnit(key: number, a: number, b: number, c: number, d: number): number {
  let h = key;
  for (const x of [a, b, c, d]) {
    h = Math.imul(h ^ x, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4_294_967_296;
}

/** A standard normal from two hashed uniforms (Box–Muller). */
function hashNormal(key: number, a: number, b: number, c: number, d: number): number {
  const u1 = 1 - hashUnit(key, a, b, c, d);
  const u2 = hashUnit(key ^ 0x5bd1e995, a, b, c, d);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

// Salts of the hashed draws, so no two kinds of draw share a stream.
const H_POS = 1;
const H_POS2 = 2;
const H_POS3 = 3;
const H_CARRY = 4;
const H_BODY = 5;
const H_SHADOW = 6;
const H_MISS = 7;
const H_CADENCE = 8;
const H_GPS = 9;

// ————— the radio —————

/** Phone models seen in the town: calibration errors of a few dB either way, as GAEN's calibration table shows. */
export const SIM_PHONES: readonly SimPhone[] = [
  { model: "A", txPowerDbm: -12, txErrorDb: 1, rxGainDb: -2 },
  { model: "B", txPowerDbm: -10, txErrorDb: -2, rxGainDb: 1 },
  { model: "C", txPowerDbm: -16, txErrorDb: 3, rxGainDb: -3 },
  { model: "D", txPowerDbm: -8, txErrorDb: -1, rxGainDb: 0 },
  { model: "E", txPowerDbm: -20, txErrorDb: 2, rxGainDb: 2 },
  { model: "F", txPowerDbm: -14, txErrorDb: 0, rxGainDb: -1 },
];

/**
 * The radio model, phone to phone as GAEN measures attenuation (advertised tx power minus RSSI): 50 dB at 1 m and an
 * exponent of 2.7 indoors, which puts 55 dB near 1.5 m and 63 dB near 3 m, the distances the Corona-Warn-App's
 * attenuation buckets were calibrated to; log-normal shadowing on top, and how far a scan reaches.
 */
export const SIM_RADIO = {
  pathLossAt1mDb: 50,
  pathLossExponent: 2.7,
  shadowingSigmaDb: 4,
  /** Through a wall between two flats, and through each concrete floor. */
  wallLossDb: 15,
  floorLossDb: 20,
  /** A body between the phones, some of the time. */
  bodyBlockingDb: [4, 10] as const,
  bodyBlockingProbability: 0.35,
  /** Scans are only heard within this true distance… */
  rangeM: 10,
  /** …and above this RSSI, and not missed. */
  sensitivityDbm: -105,
  missProbability: 0.07,
  /** A phone scans every 4 to 5 minutes. */
  scanEveryS: [240, 300] as const,
};

// ————— the town —————

interface Internals {
  key: number;
  start: number;
  steps: number;
  placeKind: SimPlaceKind[];
  placeSpace: Int32Array;
  placeOrigin: Float64Array; // x, y, z per place, in its space
  placeSpacing: Float64Array; // desk/seat pitch
  placeCols: Int32Array;
  /** Width and depth of each place's room, metres. */
  placeSize: Float64Array;
  /** Per visit: person, place, from and to (steps from start), slot (desk/seat/bed/class). */
  vPerson: Int32Array;
  vPlace: Int32Array;
  vFrom: Int32Array;
  vTo: Int32Array;
  vSlot: Int32Array;
  /** Visits of each person, in time order: index range into `byPerson`. */
  personVisits: Int32Array[];
  /** Visit ids per space and day index. */
  spaceDay: Map<number, number[]>;
  roots: Uint8Array[];
  phones: SimPhone[];
  ages: Int32Array;
  roles: Int32Array;
  adverts: Map<number, DayAdverts>;
}

/** A person's advertisements of one day: the 144 RPIs of their daily key, and the AEMs as needed. */
interface DayAdverts {
  rpis: Uint8Array[];
  aems: (Uint8Array | undefined)[];
  aemk: Uint8Array;
  metadata: Uint8Array;
}

const internals = new WeakMap<SimTown, Internals>();

function checkInit(init: SimulateTownInit): Required<SimulateTownInit> {
  if (typeof init !== "object" || init === null) throw new TypeError("init: expected { people, days, seed }");
  const int = (field: string, value: unknown, min: number, max: number) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`${field}: expected an integer ${min}..${max}, got ${String(value)}`);
    }
    return value;
  };
  const people = int("people", init.people, 1, 100_000);
  const days = int("days", init.days, 1, 60);
  const positives = int("positives", init.positives ?? Math.max(1, Math.round(people * 0.02)), 0, people);
  const start = int("start", init.start ?? DEFAULT_START, 0, 253_402_300_799 - 61 * DAY_S);
  if (start % DAY_S !== 0) throw new RangeError(`start: expected a UTC midnight (a multiple of 86400), got ${start}`);
  const seed = init.seed;
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed: expected a non-negative safe integer, got ${seed}`);
  } else if (seed instanceof Uint8Array) {
    if (seed.length < 1 || seed.length > 64) throw new RangeError(`seed: expected 1..64 bytes, got ${seed.length}`);
  } else {
    throw new TypeError(`seed: expected a number or bytes, got ${typeof seed}`);
  }
  return { people, days, seed, positives, start };
}

const utf8 = (s: string) => new TextEncoder().encode(s);
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const u32be = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

/** Builds a town and its ground truth. Deterministic: the same init gives the same town. */
export function simulateTown(init: SimulateTownInit): SimTown {
  const { people: n, days, seed, positives, start } = checkInit(init);
  const seedBytes = typeof seed === "number" ? utf8(`n:${seed}`) : concat(utf8("b:"), seed);
  const master = sha256(concat(utf8("mosaic/exposure/sim/v1"), seedBytes));
  const rand = sfc32(sha256(concat(master, utf8("town"))));
  const key = new DataView(master.buffer, master.byteOffset).getUint32(16, true);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

  // — Households and people —
  const household: number[] = [];
  const ages: number[] = [];
  const roles: number[] = []; // 0, 1: adults; ≥ 2: children
  const householdMembers: number[][] = [];
  while (ages.length < n) {
    const h = householdMembers.length;
    const r = rand();
    const size = Math.min(n - ages.length, r < 0.28 ? 1 : r < 0.62 ? 2 : r < 0.77 ? 3 : r < 0.92 ? 4 : 5);
    const members: number[] = [];
    const add = (age: number, role: number) => {
      members.push(ages.length);
      household.push(h);
      ages.push(age);
      roles.push(role);
    };
    if (size === 1) add(between(20, 88), 0);
    else if (size === 2 && rand() < 0.75) {
      const a = between(22, 85);
      add(a, 0);
      add(Math.max(20, a + between(-4, 4)), 1);
    } else {
      const single = size === 2;
      const a = between(28, 52);
      add(a, 0);
      if (!single) add(Math.max(22, a + between(-4, 4)), 1);
      while (members.length < size) add(between(Math.max(0, a - 45), Math.min(17, a - 20)), 2 + members.length);
    }
    householdMembers.push(members);
  }

  // — Places —
  const places: SimPlace[] = [];
  const placeKind: SimPlaceKind[] = [];
  const space: number[] = [];
  const origin: number[] = [];
  const spacing: number[] = [];
  const cols: number[] = [];
  let spaces = 0;
  const cosLat = Math.cos((TOWN_LAT * Math.PI) / 180);
  const addPlace = (
    kind: SimPlaceKind,
    name: string,
    room: { w: number; d: number; pitch?: number; cols?: number; radiusM: number },
    at?: { x: number; y: number; space: number; ox: number; oy: number; oz: number },
  ): number => {
    const index = places.length;
    const x = at?.x ?? (rand() - 0.5) * 4000;
    const y = at?.y ?? (rand() - 0.5) * 4000;
    places.push({
      index,
      name,
      category: CATEGORY[kind],
      kind,
      lat: TOWN_LAT + y / M_PER_DEG_LAT,
      lon: TOWN_LON + x / (M_PER_DEG_LAT * cosLat),
      radiusM: room.radiusM,
      widthM: room.w,
      depthM: room.d,
    });
    placeKind.push(kind);
    space.push(at?.space ?? spaces++);
    origin.push(at?.ox ?? 0, at?.oy ?? 0, at?.oz ?? 0);
    spacing.push(room.pitch ?? 0);
    cols.push(room.cols ?? 0);
    return index;
  };
  // Homes: 60% of households in apartment buildings (2 flats a floor, 12 × 10 m each), the rest in houses.
  const homeOf: number[] = [];
  let building: { space: number; x: number; y: number; flats: number; used: number } | undefined;
  for (let h = 0; h < householdMembers.length; h++) {
    const room = { w: 12, d: 10, radiusM: 20 };
    if (rand() < 0.6) {
      if (building === undefined || building.used === building.flats) {
        building = { space: spaces++, x: (rand() - 0.5) * 4000, y: (rand() - 0.5) * 4000, flats: 2 * between(2, 6), used: 0 };
      }
      const k = building.used++;
      const side = k % 2;
      homeOf[h] = addPlace("home", `flat ${h}`, room, {
        x: building.x + side * 12,
        y: building.y,
        space: building.space,
        ox: side * 12,
        oy: 0,
        oz: Math.floor(k / 2) * 3,
      });
    } else homeOf[h] = addPlace("home", `house ${h}`, room);
  }
  // Occupations.
  const occupation: SimPerson["occupation"][] = ages.map((a) =>
    a >= 3 && a <= 17 ? "pupil" : a >= 18 && a <= 66 && rand() < 0.75 ? "worker" : a >= 67 ? "retired" : "home",
  );
  const pupils = occupation.flatMap((o, i) => (o === "pupil" ? [i] : []));
  const workers = occupation.flatMap((o, i) => (o === "worker" ? [i] : []));
  // Schools: one per 250 pupils; a class per age year; one teacher per 12 pupils, taken from the workers.
  const workplaceOf = new Int32Array(n).fill(-1);
  const slotOf = new Int32Array(n); // desk, or class × 64 + seat
  const schools: number[] = [];
  for (let s = 0; s < Math.ceil(pupils.length / 250); s++) {
    schools.push(addPlace("school", `school ${s}`, { w: 180, d: 60, pitch: 1.5, cols: 6, radiusM: 100 }));
  }
  const classSeats = new Map<string, number>();
  for (const p of pupils) {
    const school = pick(schools);
    workplaceOf[p] = school;
    const cls = (ages[p] as number) - 3;
    const k = `${school}|${cls}`;
    const seat = classSeats.get(k) ?? 0;
    classSeats.set(k, seat + 1);
    slotOf[p] = cls * 64 + (seat % 64);
  }
  const shuffled = [...workers];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as number, shuffled[i] as number];
  }
  let w = 0;
  for (const school of schools) {
    const pupilsThere = pupils.filter((p) => workplaceOf[p] === school).length;
    for (let t = 0; t < Math.ceil(pupilsThere / 12) && w < shuffled.length; t++, w++) {
      const teacher = shuffled[w] as number;
      workplaceOf[teacher] = school;
      slotOf[teacher] = -1 - t; // teachers stand at the front of class t % 15
    }
  }
  // Workplaces: many small, some medium, few large; open-plan pitch 1.8..3.5 m.
  let workplaces = 0;
  while (w < shuffled.length) {
    const r = rand();
    const size = Math.min(shuffled.length - w, r < 0.5 ? between(2, 8) : r < 0.85 ? between(9, 30) : between(31, 80));
    const pitch = 1.8 + rand() * 1.7;
    const c = Math.ceil(Math.sqrt(size * 1.5));
    const rows = Math.ceil(size / c);
    const place = addPlace("work", `workplace ${workplaces++} (${size})`, {
      w: c * pitch,
      d: rows * pitch + 6,
      pitch,
      cols: c,
      radiusM: Math.max(25, Math.ceil(c * pitch)),
    });
    for (let k = 0; k < size; k++, w++) {
      workplaceOf[shuffled[w] as number] = place;
      slotOf[shuffled[w] as number] = k;
    }
  }
  const count = (per: number, min: number) => Math.max(min, Math.round(n / per));
  const shops = Array.from({ length: count(60, 2) }, (_, i) =>
    i % 4 === 0
      ? addPlace("shop", `supermarket ${i}`, { w: 40, d: 30, radiusM: 40 })
      : addPlace("shop", `shop ${i}`, { w: 15, d: 12, radiusM: 25 }),
  );
  const cafes = Array.from({ length: count(80, 2) }, (_, i) =>
    addPlace("cafe", `café ${i}`, { w: 10, d: 8, pitch: 2.2, cols: 4, radiusM: 15 }),
  );
  const gyms = Array.from({ length: count(300, 1) }, (_, i) => addPlace("gym", `gym ${i}`, { w: 20, d: 15, radiusM: 25 }));
  const parks = Array.from({ length: count(400, 1) }, (_, i) => addPlace("park", `park ${i}`, { w: 150, d: 150, radiusM: 120 }));
  const lines = Array.from({ length: count(150, 2) }, (_, i) => addPlace("transit", `bus line ${i}`, { w: 2.6, d: 12, radiusM: 100 }));
  const testCentre = addPlace("health", "test centre", { w: 8, d: 6, pitch: 1.5, cols: 5, radiusM: 25 });

  // — Habits —
  const phones = ages.map(() => pick(SIM_PHONES));
  const transitLine = ages.map((a, i) =>
    (occupation[i] === "worker" && rand() < 0.35) || (occupation[i] === "pupil" && a >= 12 && rand() < 0.3) ? pick(lines) : -1,
  );
  const gymOf = ages.map((a) => (a >= 16 && a <= 65 && rand() < 0.2 ? pick(gyms) : -1));
  const favShops = ages.map(() => [pick(shops), pick(shops)]);
  const favCafes = ages.map(() => [pick(cafes), pick(cafes)]);
  const parkOf = ages.map(() => pick(parks));
  const friends = householdMembers.map(() => [0, 1, 2].map(() => Math.floor(rand() * householdMembers.length)));
  const wake = ages.map((_, i) => (occupation[i] === "retired" || occupation[i] === "home" ? between(84, 102) : between(72, 88)));

  // — Who falls ill —
  const positive: (SimPerson["positive"] | null)[] = ages.map(() => null);
  const startDay = start / DAY_S;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < positives; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
    const onset = days >= 3 ? between(1, days - 2) : 0;
    positive[order[i] as number] = { onsetDay: startDay + onset, testDay: startDay + Math.min(days - 1, onset + between(1, 2)) };
  }

  // — Days —
  // Each person's day is a list of [place, fromStep, toStep) within the day; gaps are travel near nobody.
  const weekdayOf = (d: number) => (new Date((start + d * DAY_S) * 1000).getUTCDay() + 6) % 7; // 0 = Monday
  const plans: [number, number, number][][] = []; // reused per day
  const vPerson: number[] = [];
  const vPlace: number[] = [];
  const vFrom: number[] = [];
  const vTo: number[] = [];
  const vSlot: number[] = [];
  const open: number[] = ages.map(() => -1); // each person's last visit id, to merge home across midnight
  for (let d = 0; d < days; d++) {
    const weekend = weekdayOf(d) >= 5;
    const unixDay = startDay + d;
    for (let p = 0; p < n; p++) {
      const home = homeOf[household[p] as number] as number;
      const ill = positive[p] ?? null;
      const segs: [number, number, number][] = [];
      let t = 0;
      const stay = (place: number, until: number) => {
        until = Math.min(until, STEPS_PER_DAY);
        if (until > t) segs.push([place, t, until]);
        t = Math.max(t, until);
      };
      const travel = (commute: boolean) => {
        const line = transitLine[p] as number;
        if (line >= 0 && (commute || rand() < 0.3)) {
          t += 1;
          stay(line, t + between(2, 5));
          t += 1;
        } else t += between(1, 3);
      };
      const go = (place: number, steps: number, commute = false) => {
        if (t + steps + 8 > 276) return; // home by 23:00
        travel(commute);
        stay(place, t + steps);
      };
      const leisure = (wakeAt: number, options: { shop: number; cafe: number; park: number; friend: number; gym: number }) => {
        stay(home, wakeAt + between(6, 24));
        if (rand() < options.shop) {
          go(pick(favShops[p] as number[]), between(3, 9));
          stay(home, t + between(3, 24));
        }
        if (rand() < options.cafe) {
          go(pick(favCafes[p] as number[]), between(6, 18));
          stay(home, t + between(3, 24));
        }
        if (rand() < options.park) {
          go(parkOf[p] as number, between(6, 24));
          stay(home, t + between(6, 36));
        }
        if ((gymOf[p] as number) >= 0 && rand() < options.gym) {
          go(gymOf[p] as number, between(12, 20));
          stay(home, t + between(3, 12));
        }
        if (rand() < options.friend) {
          stay(home, Math.max(t, between(168, 216)));
          go(homeOf[pick(friends[household[p] as number] as number[])] as number, between(18, 42));
        }
      };
      const role = roles[p] as number;
      const firstAdult = (householdMembers[household[p] as number] as number[])[0] as number;
      const isolating = ill !== null && unixDay > ill.testDay;
      if (isolating || (ill !== null && unixDay === ill.onsetDay && rand() < 0.5)) {
        stay(home, STEPS_PER_DAY);
      } else if (ill !== null && unixDay === ill.testDay) {
        stay(home, between(96, 120));
        go(testCentre, between(2, 5));
      } else if (role >= 2 && (ages[p] as number) < 13 && (weekend || occupation[p] !== "pupil") && plans[firstAdult]) {
        // Young children go where the first adult goes when not at school, and stay home while the adult works.
        for (const [place, from, to] of plans[firstAdult] as [number, number, number][]) {
          const kind = placeKind[place];
          segs.push([kind === "work" || kind === "school" ? home : place, from, to]);
        }
        t = STEPS_PER_DAY;
      } else if (!weekend && occupation[p] === "pupil") {
        stay(home, between(90, 96));
        go(workplaceOf[p] as number, 180 - t - 1, true);
        if (rand() < 0.3) go(parkOf[p] as number, between(6, 18));
        else if (rand() < 0.2) go(homeOf[pick(friends[household[p] as number] as number[])] as number, between(12, 24));
      } else if (!weekend && occupation[p] === "worker" && rand() < 0.9) {
        stay(home, (wake[p] as number) + between(6, 12));
        const end = t + between(100, 114);
        go(workplaceOf[p] as number, between(42, 54), true);
        if (rand() < 0.25) {
          go(pick(favCafes[p] as number[]), between(6, 9));
          go(workplaceOf[p] as number, Math.max(12, end - t - 2));
        } else stay(workplaceOf[p] as number, end);
        if (rand() < 0.3) go(pick(favShops[p] as number[]), between(3, 8));
        if ((gymOf[p] as number) >= 0 && rand() < 0.3) go(gymOf[p] as number, between(12, 18));
        else if (rand() < 0.1) go(pick(favCafes[p] as number[]), between(8, 18));
        if (rand() < 0.08) go(homeOf[pick(friends[household[p] as number] as number[])] as number, between(18, 36));
      } else if (weekend) {
        leisure((wake[p] as number) + between(12, 24), { shop: 0.5, cafe: 0.3, park: 0.3, friend: 0.25, gym: 0.3 });
      } else {
        leisure(wake[p] as number, { shop: 0.5, cafe: 0.3, park: 0.3, friend: 0.12, gym: 0.2 });
      }
      if (t < STEPS_PER_DAY) {
        if (segs.length > 0) travel(false);
        stay(home, STEPS_PER_DAY);
      }
      plans[p] = segs;
      for (const [place, from, to] of segs) {
        const last = open[p] as number;
        const f = d * STEPS_PER_DAY + from;
        if (last >= 0 && vPlace[last] === place && vTo[last] === f) {
          vTo[last] = d * STEPS_PER_DAY + to;
          continue;
        }
        open[p] = vPerson.length;
        vPerson.push(p);
        vPlace.push(place);
        vFrom.push(f);
        vTo.push(d * STEPS_PER_DAY + to);
        const kind = placeKind[place] as SimPlaceKind;
        vSlot.push(
          kind === "work" || kind === "school"
            ? workplaceOf[p] === place
              ? (slotOf[p] as number)
              : 0
            : kind === "home"
              ? place === home
                ? role
                : -1 // a guest
              : Math.floor(rand() * 1_000_000),
        );
      }
    }
  }

  // — Indexes —
  const visitCount = vPerson.length;
  const personVisits: number[][] = ages.map(() => []);
  const spaceDay = new Map<number, number[]>();
  for (let v = 0; v < visitCount; v++) {
    personVisits[vPerson[v] as number]?.push(v);
    const s = space[vPlace[v] as number] as number;
    for (let d = Math.floor((vFrom[v] as number) / STEPS_PER_DAY); d <= Math.floor(((vTo[v] as number) - 1) / STEPS_PER_DAY); d++) {
      const k = s * 1024 + d;
      let list = spaceDay.get(k);
      if (list === undefined) {
        list = [];
        spaceDay.set(k, list);
      }
      list.push(v);
    }
  }
  const seeds = ages.map((_, i) => sha256(concat(master, utf8("person"), u32be(i))));
  const state: Internals = {
    key,
    start,
    steps: days * STEPS_PER_DAY,
    placeKind,
    placeSpace: Int32Array.from(space),
    placeOrigin: Float64Array.from(origin),
    placeSpacing: Float64Array.from(spacing),
    placeCols: Int32Array.from(cols),
    placeSize: Float64Array.from(places.flatMap((p) => [p.widthM, p.depthM])),
    vPerson: Int32Array.from(vPerson),
    vPlace: Int32Array.from(vPlace),
    vFrom: Int32Array.from(vFrom),
    vTo: Int32Array.from(vTo),
    vSlot: Int32Array.from(vSlot),
    personVisits: personVisits.map((l) => Int32Array.from(l)),
    spaceDay,
    roots: seeds.map((s) => exposureRootFromSeed(s)),
    phones,
    ages: Int32Array.from(ages),
    roles: Int32Array.from(roles),
    adverts: new Map(),
  };

  // — Ground truth: close contacts of the infectious —
  const close = new Map<string, number>();
  const here = new Float64Array(3);
  const there = new Float64Array(3);
  for (let p = 0; p < n; p++) {
    const ill = positive[p];
    if (!ill) continue;
    const from = Math.max(0, (ill.onsetDay - 2 - startDay) * STEPS_PER_DAY);
    const to = Math.min(state.steps, (ill.onsetDay + 11 - startDay) * STEPS_PER_DAY);
    for (const v of state.personVisits[p] as Int32Array) {
      const a = Math.max(from, state.vFrom[v] as number);
      const b = Math.min(to, state.vTo[v] as number);
      if (a >= b) continue;
      for (const o of companions(state, v)) {
        const oa = Math.max(a, state.vFrom[o] as number);
        const ob = Math.min(b, state.vTo[o] as number);
        for (let e = oa; e < ob; e++) {
          position(state, v, e, here);
          position(state, o, e, there);
          if (Math.hypot(here[0]! - there[0]!, here[1]! - there[1]!, here[2]! - there[2]!) <= 2) {
            const k = `${state.vPerson[o]}|${startDay + Math.floor(e / STEPS_PER_DAY)}|${p}`;
            close.set(k, (close.get(k) ?? 0) + SIM_STEP_S);
          }
        }
      }
    }
  }
  const closeContacts: CloseContact[] = [];
  for (const [k, seconds] of close) {
    if (seconds < 15 * 60) continue;
    const [person, day, infectious] = k.split("|").map(Number) as [number, number, number];
    closeContacts.push({ person, infectious, day, seconds });
  }
  closeContacts.sort((x, y) => x.day - y.day || x.person - y.person || x.infectious - y.infectious);
  const trulyExposed = new Set(closeContacts.filter((c) => positive[c.person] === null).map((c) => c.person));

  const visits = Array.from({ length: visitCount }, (_, v) => ({
    person: vPerson[v] as number,
    place: vPlace[v] as number,
    from: start + (vFrom[v] as number) * SIM_STEP_S,
    to: start + (vTo[v] as number) * SIM_STEP_S,
  }));
  const town: SimTown = { start, days, places, people: [], trulyExposed, closeContacts, visits };
  internals.set(town, state);
  for (let i = 0; i < n; i++) {
    const person = {
      index: i,
      seed: seeds[i] as Uint8Array,
      household: household[i] as number,
      age: ages[i] as number,
      occupation: occupation[i] as SimPerson["occupation"],
      phone: phones[i] as SimPhone,
      positive: positive[i] ?? null,
    } as SimPerson;
    lazy(person, "points", () => personPoints(town, i));
    lazy(person, "scans", () => simulatedScans(town, i));
    town.people.push(person);
  }
  return town;
}

function lazy<T extends object, K extends keyof T>(target: T, name: K, compute: () => T[K]): void {
  let value: T[K] | undefined;
  Object.defineProperty(target, name, {
    enumerable: true,
    get: () => {
      if (value === undefined) value = compute();
      return value;
    },
  });
}

function stateOf(town: SimTown): Internals {
  const state = internals.get(town);
  if (state === undefined) throw new TypeError("town: expected a town simulateTown made");
  return state;
}

/** Other visits in the same space (room, or building of flats) that overlap visit v. */
function companions(state: Internals, v: number): number[] {
  const s = state.placeSpace[state.vPlace[v] as number] as number;
  const from = state.vFrom[v] as number;
  const to = state.vTo[v] as number;
  const me = state.vPerson[v];
  const out = new Set<number>();
  for (let d = Math.floor(from / STEPS_PER_DAY); d <= Math.floor((to - 1) / STEPS_PER_DAY); d++) {
    for (const o of state.spaceDay.get(s * 1024 + d) ?? []) {
      if (state.vPerson[o] !== me && (state.vFrom[o] as number) < to && (state.vTo[o] as number) > from) out.add(o);
    }
  }
  return [...out].sort((a, b) => a - b);
}

// Beds in a flat: the first two adults share one, children sleep 1.8 m apart in the other room.
const bedX = (role: number) => (role < 2 ? 1.6 + role * 0.8 : 7 + 1.8 * ((role - 2) % 3));
const bedY = (role: number) => (role < 2 ? 2 : 2 + 1.8 * Math.floor((role - 2) / 3));

/** Where visit v's person stands at step e, metres in the place's space (written to `out`). */
function position(state: Internals, v: number, e: number, out: Float64Array): void {
  const place = state.vPlace[v] as number;
  const person = state.vPerson[v] as number;
  const slot = state.vSlot[v] as number;
  const kind = state.placeKind[place] as SimPlaceKind;
  const key = state.key;
  const tod = e % STEPS_PER_DAY;
  const block = Math.floor(e / 6); // half an hour
  let x = 0;
  let y = 0;
  switch (kind) {
    case "home": {
      if (slot >= 0 && (tod < 78 || tod >= 276)) {
        x = bedX(slot); // asleep
        y = bedY(slot);
      } else {
        const r = hashUnit(key, H_POS, person, block, place);
        if (slot < 0 || r < 0.5) {
          x = 3 + 6 * hashUnit(key, H_POS2, person, block, place); // living room
          y = 6 + 3 * hashUnit(key, H_POS3, person, block, place);
        } else if (r < 0.7) {
          x = 9.5 + 2 * hashUnit(key, H_POS2, person, block, place); // kitchen
          y = 7.5 + 2 * hashUnit(key, H_POS3, person, block, place);
        } else {
          x = bedX(slot) + (hashUnit(key, H_POS2, person, block, place) - 0.5) * 2;
          y = bedY(slot) + (hashUnit(key, H_POS3, person, block, place) - 0.5) * 2;
        }
      }
      break;
    }
    case "work": {
      const pitch = state.placeSpacing[place] as number;
      const c = state.placeCols[place] as number;
      const r = hashUnit(key, H_POS, person, e, place);
      const w = state.placeSize[place * 2] as number;
      const depth = state.placeSize[place * 2 + 1] as number;
      if (r < 0.8) {
        x = ((slot % c) + 0.5) * pitch + (hashUnit(key, H_POS2, person, e, place) - 0.5) * 0.6;
        y = (Math.floor(slot / c) + 0.5) * pitch + (hashUnit(key, H_POS3, person, e, place) - 0.5) * 0.6;
      } else if (r < 0.92) {
        // a meeting corner (the same one for everyone in a half hour)
        const corner = Math.floor(hashUnit(key, H_POS, block, place, 0) * 3);
        x = (corner + 0.5) * (w / 3) + (hashUnit(key, H_POS2, person, e, place) - 0.5) * 4;
        y = depth - 3 + (hashUnit(key, H_POS3, person, e, place) - 0.5) * 4;
      } else {
        x = hashUnit(key, H_POS2, person, e, place) * w;
        y = hashUnit(key, H_POS3, person, e, place) * depth;
      }
      break;
    }
    case "school": {
      const recess = (tod >= 120 && tod < 123) || (tod >= 144 && tod < 150);
      if (recess) {
        x = hashUnit(key, H_POS2, person, e, place) * 50;
        y = 20 + hashUnit(key, H_POS3, person, e, place) * 30;
      } else if (slot < 0) {
        x = ((-1 - slot) % 15) * 12 + 4.5; // a teacher, at the front
        y = 0.5;
      } else {
        const cls = Math.floor(slot / 64);
        const seat = slot % 64;
        x = cls * 12 + 0.8 + (seat % 6) * 1.5;
        y = 2 + Math.floor(seat / 6) * 1.5;
      }
      break;
    }
    case "cafe":
    case "health": {
      const pitch = state.placeSpacing[place] as number;
      const c = state.placeCols[place] as number;
      const table = slot % (c * 3);
      x = ((table % c) + 0.5) * pitch + (hashUnit(key, H_POS2, slot, v, 0) - 0.5) * 0.8;
      y = (Math.floor(table / c) + 0.5) * pitch + (hashUnit(key, H_POS3, slot, v, 0) - 0.5) * 0.8;
      break;
    }
    case "transit": {
      x = hashUnit(key, H_POS2, v, 0, 0) * 2.6;
      y = hashUnit(key, H_POS3, v, 0, 0) * 12;
      break;
    }
    default: {
      // shop, gym, park: people move around
      const step = kind === "park" ? block : e;
      x = hashUnit(key, H_POS2, person, step, place) * (state.placeSize[place * 2] as number);
      y = hashUnit(key, H_POS3, person, step, place) * (state.placeSize[place * 2 + 1] as number);
    }
  }
  out[0] = x + (state.placeOrigin[place * 3] as number);
  out[1] = y + (state.placeOrigin[place * 3 + 1] as number);
  out[2] = state.placeOrigin[place * 3 + 2] as number;
}

/** Which room of its place visit v's person is in at step e: the class at a school (-1 in the yard at recess), else 0. */
function roomOf(state: Internals, v: number, e: number): number {
  const place = state.vPlace[v] as number;
  if (state.placeKind[place] !== "school") return 0;
  const tod = e % STEPS_PER_DAY;
  if ((tod >= 120 && tod < 123) || (tod >= 144 && tod < 150)) return -1;
  const slot = state.vSlot[v] as number;
  return slot < 0 ? (-1 - slot) % 15 : Math.floor(slot / 64);
}

/** Where the phone is (hand, table, pocket, bag, locker): dB lost, per person and half hour. */
function carryLossDb(state: Internals, person: number, kind: SimPlaceKind, block: number): number {
  const r = hashUnit(state.key, H_CARRY, person, block, 0);
  switch (kind) {
    case "home":
    case "work":
    case "cafe":
    case "school":
      return r < 0.65 ? 0 : r < 0.9 ? 5 : 9; // table or hand, pocket, bag
    case "gym":
      return r < 0.5 ? 2 : 14; // armband, locker
    default:
      return r < 0.2 ? 0 : r < 0.8 ? 6 : 10; // hand, pocket, bag
  }
}

/** Advertisements of a person for a day, from their real daily key (the same as advertisementAt gives). */
function advertsOf(state: Internals, person: number, unixDay: number): DayAdverts {
  const k = person * 100_000 + (unixDay - state.start / DAY_S);
  let a = state.adverts.get(k);
  if (a === undefined) {
    const tek = dailyKey(state.roots[person] as Uint8Array, unixDay);
    const all = expandKey(tek);
    a = {
      rpis: Array.from({ length: TEK_ROLLING_PERIOD }, (_, j) => all.subarray(j * KEY_BYTES, (j + 1) * KEY_BYTES)),
      aems: [],
      aemk: deriveAemk(tek.key),
      metadata: encodeMetadata({ txPowerDbm: (state.phones[person] as SimPhone).txPowerDbm }),
    };
    state.adverts.set(k, a);
  }
  return a;
}

/** Interval j's AEM, encrypted when first heard (most intervals of a day nobody hears). */
function aemOf(a: DayAdverts, j: number): Uint8Array {
  let aem = a.aems[j];
  if (aem === undefined) {
    aem = encryptMetadata(a.aemk, a.rpis[j] as Uint8Array, a.metadata);
    a.aems[j] = aem;
  }
  return aem;
}

/** The advertisement person `sender` broadcasts at unix time t (from their keys; equal to advertisementAt's). */
export function simulatedAdvertisement(town: SimTown, sender: number, t: number): Advertisement {
  const state = stateOf(town);
  checkPersonIndex(town, sender, "sender");
  const interval = Math.floor(t / INTERVAL_S);
  const a = advertsOf(state, sender, Math.floor(t / DAY_S));
  const j = interval % TEK_ROLLING_PERIOD;
  return { rpi: a.rpis[j] as Uint8Array, aem: aemOf(a, j) };
}

function checkPersonIndex(town: SimTown, person: number, field: string): void {
  if (!Number.isSafeInteger(person) || person < 0 || person >= town.people.length) {
    throw new RangeError(`${field}: expected a person index 0..${town.people.length - 1}, got ${String(person)}`);
  }
}

export interface SimulatedScansOptions {
  /**
   * Only the scans of these senders' advertisements: exactly the ones the full list holds for them (every draw is
   * keyed by listener, sender and time), so matching published keys of these senders gives the same windows, faster.
   * @default everyone
   */
  senders?: Iterable<number>;
}

/**
 * What person `listener`'s phone heard over the whole simulation, in time order (a new array each call; the
 * person's `scans` keeps one). A scan every 4–5 minutes hears each phone within 10 m (true distance) whose RSSI,
 * by the log-distance model with shadowing, body blocking and where each phone is carried, is above the receiver's
 * sensitivity, unless the scan missed it.
 */
export function simulatedScans(town: SimTown, listener: number, options: SimulatedScansOptions = {}): ScanRecord[] {
  const state = stateOf(town);
  checkPersonIndex(town, listener, "listener");
  const senders = options.senders === undefined ? undefined : new Set(options.senders);
  const scans: ScanRecord[] = [];
  const visits = state.personVisits[listener] as Int32Array;
  const me = new Float64Array(3);
  const other = new Float64Array(3);
  const myPhone = state.phones[listener] as SimPhone;
  const end = state.start + state.steps * SIM_STEP_S;
  const [minEvery, maxEvery] = SIM_RADIO.scanEveryS;
  let t = state.start + Math.floor(hashUnit(state.key, H_CADENCE, listener, 0, 0) * maxEvery);
  let last = t - maxEvery;
  let k = 0;
  let companionsOf = -1;
  let around: number[] = [];
  for (let n = 1; t < end; n++) {
    const e = Math.floor((t - state.start) / SIM_STEP_S);
    while (k < visits.length && (state.vTo[visits[k] as number] as number) <= e) k++;
    const v = visits[k];
    if (v !== undefined && (state.vFrom[v] as number) <= e) {
      if (companionsOf !== v) {
        around = companions(state, v);
        companionsOf = v;
      }
      const place = state.vPlace[v] as number;
      const kind = state.placeKind[place] as SimPlaceKind;
      let placed = false;
      for (const o of around) {
        if ((state.vFrom[o] as number) > e || (state.vTo[o] as number) <= e) continue;
        if (senders !== undefined && !senders.has(state.vPerson[o] as number)) continue;
        if (!placed) {
          position(state, v, e, me);
          placed = true;
        }
        position(state, o, e, other);
        const distance = Math.hypot(me[0]! - other[0]!, me[1]! - other[1]!, me[2]! - other[2]!);
        if (distance > SIM_RADIO.rangeM) continue;
        const sender = state.vPerson[o] as number;
        const theirPlace = state.vPlace[o] as number;
        const block = Math.floor(e / 6);
        const pair = listener < sender ? listener * 131_071 + sender : sender * 131_071 + listener;
        let loss = SIM_RADIO.pathLossAt1mDb + 10 * SIM_RADIO.pathLossExponent * Math.log10(Math.max(distance, 0.2));
        loss += SIM_RADIO.shadowingSigmaDb * hashNormal(state.key, H_SHADOW, listener, sender, t);
        loss += carryLossDb(state, listener, kind, block) + carryLossDb(state, sender, state.placeKind[theirPlace] as SimPlaceKind, block);
        if (hashUnit(state.key, H_BODY, pair, block, 0) < SIM_RADIO.bodyBlockingProbability) {
          const [lo, hi] = SIM_RADIO.bodyBlockingDb;
          loss += lo + (hi - lo) * hashUnit(state.key, H_BODY, pair, block, 1);
        }
        if (theirPlace !== place || roomOf(state, v, e) !== roomOf(state, o, e)) {
          const floors = Math.round(Math.abs(me[2]! - other[2]!) / 3);
          loss += floors === 0 ? SIM_RADIO.wallLossDb : SIM_RADIO.floorLossDb * floors;
        }
        const theirPhone = state.phones[sender] as SimPhone;
        const rssi = Math.round(theirPhone.txPowerDbm + theirPhone.txErrorDb - loss + myPhone.rxGainDb);
        if (rssi < SIM_RADIO.sensitivityDbm) continue;
        if (hashUnit(state.key, H_MISS, listener, sender, t) < SIM_RADIO.missProbability) continue;
        const adverts = advertsOf(state, sender, Math.floor(t / DAY_S));
        const j = Math.floor(t / INTERVAL_S) % TEK_ROLLING_PERIOD;
        const rpi = adverts.rpis[j] as Uint8Array;
        const aem = aemOf(adverts, j);
        scans.push({ rpi, aem, t, rssi: Math.max(-127, Math.min(20, rssi)), seconds: t - last });
      }
    }
    last = t;
    t += minEvery + Math.floor(hashUnit(state.key, H_CADENCE, listener, n, 1) * (maxEvery - minEvery + 1));
  }
  return scans;
}

/** The visit person p is in at step e, if any (binary search of their visits). */
function visitAt(state: Internals, p: number, e: number): number | undefined {
  const visits = state.personVisits[p] as Int32Array;
  let lo = 0;
  let hi = visits.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((state.vTo[visits[mid] as number] as number) <= e) lo = mid + 1;
    else hi = mid;
  }
  const v = visits[lo];
  return v !== undefined && (state.vFrom[v] as number) <= e ? v : undefined;
}

/** Who a rule notified against who truly was a close contact: counts, precision and recall. */
export interface NotificationOutcome {
  notified: number;
  trulyExposed: number;
  truePositives: number;
  /** No notification at all is no false alarm: 1 by convention (recall says what was missed). */
  precision: number;
  recall: number;
}

/** Scores the people a rule notified (`notified`) against the simulator's truth (`town.trulyExposed`, say). */
export function notificationOutcome(notified: ReadonlySet<number>, truth: ReadonlySet<number>): NotificationOutcome {
  const truePositives = [...notified].filter((i) => truth.has(i)).length;
  return {
    notified: notified.size,
    trulyExposed: truth.size,
    truePositives,
    precision: notified.size === 0 ? 1 : truePositives / notified.size,
    recall: truth.size === 0 ? 1 : truePositives / truth.size,
  };
}

/** The true distance (m) between two people at unix time t, or null when they are not in the same room or building. */
export function trueDistance(town: SimTown, a: number, b: number, t: number): number | null {
  const state = stateOf(town);
  checkPersonIndex(town, a, "a");
  checkPersonIndex(town, b, "b");
  const e = Math.floor((t - state.start) / SIM_STEP_S);
  const va = visitAt(state, a, e);
  const vb = visitAt(state, b, e);
  if (va === undefined || vb === undefined) return null;
  if (state.placeSpace[state.vPlace[va] as number] !== state.placeSpace[state.vPlace[vb] as number]) return null;
  const pa = new Float64Array(3);
  const pb = new Float64Array(3);
  position(state, va, e, pa);
  position(state, vb, e, pb);
  return Math.hypot(pa[0]! - pb[0]!, pa[1]! - pb[1]!, pa[2]! - pb[2]!);
}

/** A person's location fixes: one every ~15 minutes at a place (GPS noise inside its radius), every 2 minutes travelling. */
function personPoints(town: SimTown, person: number): { t: number; lat: number; lon: number }[] {
  const state = stateOf(town);
  const points: { t: number; lat: number; lon: number }[] = [];
  const visits = state.personVisits[person] as Int32Array;
  const cosLat = Math.cos((TOWN_LAT * Math.PI) / 180);
  let n = 0;
  const fix = (t: number, lat: number, lon: number, noiseM: number) => {
    n++;
    const dy = Math.max(-2, Math.min(2, hashNormal(state.key, H_GPS, person, n, 0))) * noiseM;
    const dx = Math.max(-2, Math.min(2, hashNormal(state.key, H_GPS, person, n, 1))) * noiseM;
    points.push({ t, lat: lat + dy / M_PER_DEG_LAT, lon: lon + dx / (M_PER_DEG_LAT * cosLat) });
  };
  for (let i = 0; i < visits.length; i++) {
    const v = visits[i] as number;
    const place = town.places[state.vPlace[v] as number] as SimPlace;
    const from = state.start + (state.vFrom[v] as number) * SIM_STEP_S;
    const to = state.start + (state.vTo[v] as number) * SIM_STEP_S;
    const noise = Math.min(8, place.radiusM / 5);
    for (let t = from + 30 + Math.floor(hashUnit(state.key, H_GPS, person, v, 2) * 60); t < to; t += 900)
      fix(t, place.lat, place.lon, noise);
    const next = visits[i + 1];
    if (next === undefined) continue;
    const arrive = state.start + (state.vFrom[next] as number) * SIM_STEP_S;
    const dest = town.places[state.vPlace[next] as number] as SimPlace;
    for (let t = to + 60; t < arrive; t += 120) {
      const f = (t - to) / (arrive - to);
      fix(t, place.lat + (dest.lat - place.lat) * f, place.lon + (dest.lon - place.lon) * f, 5);
    }
  }
  return points;
}

/** A radio for one simulated person: what the vault advertises is kept, and `replay` hands it the person's scans. */
export interface SimulatedRadio extends RadioAdapter {
  /** Everything advertised through this radio, in order. */
  readonly advertised: Advertisement[];
  /** Delivers the person's scans with from ≤ t < to (default: all), in time order, to every listener; returns how many. */
  replay(range?: { from?: number; to?: number }): Promise<number>;
}

/** A RadioAdapter that replays a simulated person's scans (no Bluetooth here: this is what tests and the demo use). */
export function simulatedRadio(town: SimTown, person: number): SimulatedRadio {
  stateOf(town);
  checkPersonIndex(town, person, "person");
  const listeners = new Set<(scan: ScanRecord) => void>();
  const advertised: Advertisement[] = [];
  return {
    advertised,
    async advertise(advertisement) {
      advertised.push({ rpi: Uint8Array.from(advertisement.rpi), aem: Uint8Array.from(advertisement.aem) });
    },
    onScan(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async replay(range = {}) {
      const from = range.from ?? Number.NEGATIVE_INFINITY;
      const to = range.to ?? Number.POSITIVE_INFINITY;
      let delivered = 0;
      for (const scan of (town.people[person] as SimPerson).scans) {
        if (scan.t < from || scan.t >= to) continue;
        for (const listener of [...listeners]) listener(scan);
        delivered++;
      }
      return delivered;
    },
  };
}
