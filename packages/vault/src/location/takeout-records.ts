// Google Takeout Records.json: E7 coordinates (old exports wrote negatives unsigned) with ISO or millisecond times.
import { badTime, isoToUnixSeconds, TIME_RANGE } from "./dates.js";
import { malformed, show } from "./errors.js";
import type { Collector } from "./formats.js";
import { isRecord } from "./text.js";

const E7_WRAP = 2 ** 32;

const DIGITS = /^\d{1,16}$/;

export function readRecords(root: unknown, out: Collector): void {
  const locations = isRecord(root) ? root.locations : undefined;
  if (!Array.isArray(locations)) {
    throw malformed(
      "takeout-records",
      "locations",
      `expected a top-level object with a "locations" array, got ${show(isRecord(root) ? locations : root)}`,
    );
  }
  const points = out.points;
  let skipped = 0;
  for (let i = 0; i < locations.length; i++) {
    const e = locations[i];
    if (typeof e !== "object" || e === null || Array.isArray(e))
      throw malformed("takeout-records", `locations[${i}]`, `expected an object, got ${show(e)}`);
    let latE7 = e.latitudeE7;
    let lonE7 = e.longitudeE7;
    const ts = e.timestamp;
    let t = Number.NaN;
    if (latE7 !== undefined) {
      if (typeof latE7 !== "number")
        throw malformed("takeout-records", `locations[${i}].latitudeE7`, `expected an integer, got ${show(latE7)}`);
      // Old exports wrote negative E7 values as unsigned 32-bit integers.
      if (latE7 > 900_000_000 && latE7 < E7_WRAP) latE7 -= E7_WRAP;
      if (!(latE7 >= -900_000_000 && latE7 <= 900_000_000))
        throw malformed("takeout-records", `locations[${i}].latitudeE7`, `${e.latitudeE7} is not a latitude, even read as unsigned`);
    }
    if (lonE7 !== undefined) {
      if (typeof lonE7 !== "number")
        throw malformed("takeout-records", `locations[${i}].longitudeE7`, `expected an integer, got ${show(lonE7)}`);
      if (lonE7 > 1_800_000_000 && lonE7 < E7_WRAP) lonE7 -= E7_WRAP;
      if (!(lonE7 >= -1_800_000_000 && lonE7 <= 1_800_000_000))
        throw malformed("takeout-records", `locations[${i}].longitudeE7`, `${e.longitudeE7} is not a longitude, even read as unsigned`);
    }
    if (typeof ts === "string") {
      t = isoToUnixSeconds(ts);
      if (badTime(t))
        throw malformed("takeout-records", `locations[${i}].timestamp`, `expected an ISO 8601 date-time ${TIME_RANGE}, got ${show(ts)}`);
    } else if (ts !== undefined) {
      throw malformed("takeout-records", `locations[${i}].timestamp`, `expected an ISO 8601 string, got ${show(ts)}`);
    } else {
      const ms = e.timestampMs;
      if (ms !== undefined) {
        const n = typeof ms === "string" && DIGITS.test(ms) ? Number(ms) : typeof ms === "number" ? ms : Number.NaN;
        t = Math.floor(n / 1000);
        if (badTime(t)) {
          throw malformed(
            "takeout-records",
            `locations[${i}].timestampMs`,
            `expected unix milliseconds ${TIME_RANGE} as a digit string, got ${show(ms)}`,
          );
        }
      }
    }
    if (latE7 === undefined || lonE7 === undefined || Number.isNaN(t)) {
      skipped++;
      continue;
    }
    points.push({ t, lat: latE7 / 1e7, lon: lonE7 / 1e7 });
  }
  out.skipped += skipped;
}
