// The local decision on a CAP alert: does any of its areas hold a place and time of this user's own history? Pure,
// over two readers, so the vault, the bench and a test can all call it; nothing here sends or logs anything.
import { type AreaShape, areaShape, type CapAlert, type CapInfo, type LatLon, parseCapTime, shapeContains } from "@mosaic/alerts";
import type { CheckIn } from "../abilities/health-questionnaire.js";
import type { PointChunk } from "../abilities/location-history.js";

const DAY_S = 86_400;
/** The latest time a CAP date-time can name that dayOf still prints as a date (9999-12-31). */
const LAST_S = 253_402_300_799;

/** What the decision reads of the device's data: day chunks of location history, check-ins and the latest fix. */
export interface AlertReaders {
  /** Location chunks whose UTC day (YYYY-MM-DD) is in fromDay..toDay, both included. */
  pointsInDays(fromDay: string, toDay: string): readonly PointChunk[];
  /** Check-ins of the UTC days that overlap [fromS, toS). */
  checkIns(fromS: number, toS: number): readonly CheckIn[];
  /** The latest fix at or before `atS`, for alerts that give no time window. @default none is looked up */
  latestPoint?(atS: number): { t: number; lat: number; lon: number } | undefined;
}

export interface CapDecision {
  concerns: boolean;
  /** Why, in words the user is shown; empty when the alert is a record (a Cancel, an Ack) or nothing matched. */
  reasons: string[];
}

/**
 * How much one alert may make the device do. `shapes` and `vertices`: more shapes or polygon vertices than this
 * and no geometry is tested at all. `work`: the budget of a whole decision, in steps — a location fix looked at
 * for one area, or one vertex or circle of an area tested against one fix (a point-in-polygon test costs the
 * polygon's vertices). Ray casting costs fixes-in-window × vertices, so neither a vertex cap nor a window cap
 * alone bounds it: 45 000 vertices against a year of 5-minute fixes were 4.7 G steps, 9 s here (review 21). Twenty
 * million steps take under 0.1 s on a 2-core Xeon (a few times that on a phone) and leave room for real alerts: a
 * 5 000-vertex coastline polygon over a week of fixes inside its box, or a 1 000-vertex one over two months
 * (IPAWS's 100-vertex cap would refuse national services' polygons, which are often larger). Past either
 * limit the alert is stored and shown, with a reason saying it was too large to check on this device (a public
 * warning is never dropped for its size, and a hostile one cannot make the filter spin); a match found before
 * the budget ran out still counts. Reasons are capped too.
 */
export const ALERT_FILTER_LIMITS = { shapes: 2_000, vertices: 200_000, work: 20_000_000, reasons: 20 } as const;

/** The UTC day (YYYY-MM-DD) of a unix time in seconds. */
function dayOf(t: number): string {
  return new Date(Math.floor(t / DAY_S) * DAY_S * 1000).toISOString().slice(0, 10);
}

function clockOf(t: number): string {
  return new Date(t * 1000).toISOString().slice(11, 16);
}

/**
 * The time span an info block is about, unix seconds [from, to): from its onset, else its effective time, else
 * the alert's sent time; to its expiry, else 24 hours on. `given` is false when the info names none of the three
 * (then the alert is about now, and the latest known position counts too).
 */
export function alertWindow(cap: CapAlert, info: CapInfo): { from: number; to: number; given: boolean } {
  const from = parseCapTime(info.onset ?? info.effective ?? cap.sent);
  const to = info.expires !== undefined ? parseCapTime(info.expires) : from + DAY_S;
  return { from, to, given: info.onset !== undefined || info.effective !== undefined || info.expires !== undefined };
}

/** An area with geometry, the box (areaShape's) the point test starts from, and what one point test costs. */
interface Prepared {
  desc: string;
  shape: AreaShape;
  minLat: number;
  maxLat: number;
  minLon: number;
  maxLon: number;
  /** Work steps of one shapeContains: its polygons' vertices and circles, at least 1. */
  cost: number;
}

function prepare(desc: string, shape: AreaShape): Prepared | undefined {
  if (shape.bbox === undefined) return undefined;
  let cost = 1 + shape.circles.length;
  for (const p of shape.polygons) cost += p.length;
  return { desc, shape, ...shape.bbox, cost };
}

/** The work steps a decision may still take (ALERT_FILTER_LIMITS.work); `spend` says false once they ran out. */
class WorkBudget {
  left: number;
  exhausted = false;
  constructor(steps: number) {
    this.left = steps;
  }
  spend(steps: number): boolean {
    if (this.exhausted) return false;
    this.left -= steps;
    if (this.left < 0) this.exhausted = true;
    return !this.exhausted;
  }
}

/**
 * The first fix in [from, to) inside the area, or undefined (also when the budget ran out: `budget.exhausted`);
 * one reused point object, no allocation per fix. A fix at the same place as the one tested just before is not
 * tested again (a phone at rest logs the same coordinates for hours).
 */
function firstInside(
  chunks: readonly PointChunk[],
  from: number,
  to: number,
  area: Prepared,
  at: LatLon,
  budget: WorkBudget,
): number | undefined {
  if (budget.exhausted) return undefined;
  // The budget kept in a local while walking the fixes, written back on the way out.
  let left = budget.left;
  const cost = area.cost;
  let lastLat = Number.NaN;
  let lastLon = Number.NaN;
  let found: number | undefined;
  search: for (const c of chunks) {
    const { t, lat, lon } = c;
    const n = t.length;
    left -= n;
    if (left < 0) break;
    for (let i = 0; i < n; i++) {
      const ti = t[i] as number;
      if (ti < from || ti >= to) continue;
      const la = lat[i] as number;
      if (la < area.minLat || la > area.maxLat) continue;
      const lo = lon[i] as number;
      if (lo < area.minLon || lo > area.maxLon) continue;
      if (la === lastLat && lo === lastLon) continue;
      lastLat = la;
      lastLon = lo;
      left -= cost;
      if (left < 0) break search;
      at.lat = la;
      at.lon = lo;
      if (shapeContains(area.shape, at)) {
        found = ti;
        break search;
      }
    }
  }
  budget.left = left;
  if (left < 0) budget.exhausted = true;
  return found;
}

/**
 * Decides whether a CAP alert concerns this user, from their own data only, and says why. For each info block
 * and each of its areas, within the info's window (alertWindow): a location fix inside one of the area's polygons
 * or circles (the day chunks of the window only, a bounding box first), or a check-in of a day in the window whose
 * region (ISO 3166-2) equals one of the area's geocode values (any valueName); when the info gives no time at all,
 * also the latest known position. Only Alert and Update messages with status Actual or Exercise can concern anyone
 * (a Test, System or Draft message is for its senders, a Cancel/Ack/Error is a record).
 */
export function decideCapAlert(cap: CapAlert, readers: AlertReaders, nowS: number): CapDecision {
  if (cap.msgType !== "Alert" && cap.msgType !== "Update") return { concerns: false, reasons: [] };
  if (cap.status !== "Actual" && cap.status !== "Exercise")
    return { concerns: false, reasons: [`a ${cap.status} message, not an actual alert: it concerns no one`] };
  const reasons = new Set<string>();
  let concerns = false;
  const add = (r: string, match = true) => {
    concerns ||= match;
    if (reasons.size < ALERT_FILTER_LIMITS.reasons) reasons.add(r);
  };

  // Geometry first counted, so a huge area list costs its parse and nothing more.
  let shapes = 0;
  let vertices = 0;
  const infos = cap.info.map((info) => {
    const areas = info.area.map((area) => {
      const shape = areaShape(area);
      shapes += shape.polygons.length + shape.circles.length;
      for (const p of shape.polygons) vertices += p.length;
      return { area, shape };
    });
    return { info, areas, window: alertWindow(cap, info) };
  });
  const geometry = shapes <= ALERT_FILTER_LIMITS.shapes && vertices <= ALERT_FILTER_LIMITS.vertices;
  if (!geometry)
    add(
      `the alert draws ${shapes} shapes with ${vertices} points, more than this device checks (${ALERT_FILTER_LIMITS.shapes} shapes, ${ALERT_FILTER_LIMITS.vertices} points): read its areas yourself`,
      false,
    );

  const at: LatLon = { lat: 0, lon: 0 };
  const budget = new WorkBudget(ALERT_FILTER_LIMITS.work);
  for (const { areas, window } of infos) {
    const from = Math.max(0, window.from);
    const to = Math.min(LAST_S, window.to);
    if (to <= from && window.given) continue;

    // Check-ins naming a region the area lists as a geocode.
    const codes = new Map<string, string>();
    for (const { area, shape } of areas) for (const g of shape.geocodes) if (!codes.has(g.value)) codes.set(g.value, area.areaDesc);
    if (codes.size > 0 && to > from) {
      for (const c of readers.checkIns(from, to)) {
        const desc = c.region === undefined ? undefined : codes.get(c.region);
        if (desc !== undefined) add(`you checked in from ${c.region} on ${c.day}, a region the alert names for '${desc}'`);
      }
    }
    if (!geometry || budget.exhausted) continue;

    const prepared = areas.map(({ area, shape }) => prepare(area.areaDesc, shape)).filter((p) => p !== undefined);
    if (prepared.length === 0) continue;
    if (to > from) {
      const chunks = readers.pointsInDays(dayOf(from), dayOf(to - 1));
      if (chunks.length > 0) {
        for (const area of prepared) {
          const t = firstInside(chunks, from, to, area, at, budget);
          if (t !== undefined) add(`you were in '${area.desc}' on ${dayOf(t)} at ${clockOf(t)} UTC, from your location history`);
          if (budget.exhausted) break;
        }
      }
    }
    if (!window.given && !budget.exhausted && readers.latestPoint !== undefined) {
      const latest = readers.latestPoint(nowS);
      if (latest !== undefined) {
        at.lat = latest.lat;
        at.lon = latest.lon;
        for (const area of prepared) {
          if (latest.lat < area.minLat || latest.lat > area.maxLat || latest.lon < area.minLon || latest.lon > area.maxLon) continue;
          if (!budget.spend(area.cost)) break;
          if (shapeContains(area.shape, at))
            add(`your latest known position (${dayOf(latest.t)} at ${clockOf(latest.t)} UTC) is in '${area.desc}'`);
        }
      }
    }
  }
  // Said even past the reasons cap: the user must know the answer is incomplete.
  if (budget.exhausted)
    reasons.add(
      `the alert's areas are too large to check on this device against your history (more than ${ALERT_FILTER_LIMITS.work / 1e6} million steps): read its areas yourself`,
    );
  return { concerns, reasons: [...reasons] };
}
