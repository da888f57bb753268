// The alert-filter ability: decides on the device, from data that never leaves it, whether a public alert concerns this user.
import { DAY_S, haversineKm } from "@mosaic/mapreduce";
import type { Doc } from "@mosaic/threads";
import { type AbilityContext, defineAbility } from "../ability.js";
import type { CheckIn } from "./health-questionnaire.js";
import { dayOf, type PointChunk } from "./location-history.js";

export const ALERT_FILTER = "alert-filter";

/** A public alert as an authority publishes it: an area and a time window, optionally only for people with symptoms. */
export interface PublicAlert {
  id: string;
  issuer: string;
  title: string;
  area: { lat: number; lon: number; radiusKm: number };
  /** Unix seconds; the window during which being in the area matters. */
  from: number;
  to: number;
  /** Only for people who reported a symptom since `from`. @default false */
  symptomaticOnly?: boolean;
}

/** The local decision, stored with the alert. */
export interface AlertDecision extends Doc {
  alert: PublicAlert;
  received: number;
  concerns: boolean;
  reason: string;
}

/** Checks an incoming alert (outside input); TypeError/RangeError names the field. */
export function validateAlert(value: unknown): PublicAlert {
  const a = value as PublicAlert;
  if (typeof a?.id !== "string" || !/^[A-Za-z0-9._:-]{1,100}$/.test(a.id))
    throw new TypeError("alert.id: expected 1..100 of [A-Za-z0-9._:-]");
  for (const f of ["issuer", "title"] as const) {
    if (typeof a[f] !== "string" || a[f].length === 0 || a[f].length > 200) throw new TypeError(`alert.${f}: expected 1..200 characters`);
  }
  const area = a.area;
  if (typeof area?.lat !== "number" || !(Math.abs(area.lat) <= 90) || typeof area.lon !== "number" || !(Math.abs(area.lon) <= 180)) {
    throw new RangeError("alert.area: expected lat -90..90 and lon -180..180");
  }
  if (typeof area.radiusKm !== "number" || !(area.radiusKm > 0 && area.radiusKm <= 500))
    throw new RangeError(`alert.area.radiusKm: expected (0, 500], got ${String(area.radiusKm)}`);
  if (!Number.isSafeInteger(a.from) || !Number.isSafeInteger(a.to) || a.from < 0 || a.to <= a.from || a.to - a.from > 90 * DAY_S) {
    throw new RangeError("alert.from/to: expected unix seconds, from < to, at most 90 days apart");
  }
  if (a.symptomaticOnly !== undefined && typeof a.symptomaticOnly !== "boolean")
    throw new TypeError("alert.symptomaticOnly: expected a boolean");
  return a;
}

/** The decision for one alert, from the location history (and check-ins, for symptomatic-only alerts). */
export function decideAlert(ctx: AbilityContext, alert: PublicAlert): { concerns: boolean; reason: string } {
  const chunks = ctx
    .read<PointChunk>("location-history/points")
    .find({ where: { day: { gte: dayOf(alert.from), lte: dayOf(alert.to - 1) } } });
  let closest: { km: number; t: number } | undefined;
  for (const c of chunks) {
    for (let i = 0; i < c.t.length; i++) {
      const t = c.t[i] as number;
      if (t < alert.from || t >= alert.to) continue;
      const km = haversineKm({ t, lat: c.lat[i] as number, lon: c.lon[i] as number }, { t, ...alert.area });
      if (closest === undefined || km < closest.km) closest = { km, t };
    }
  }
  if (closest === undefined) return { concerns: false, reason: "no location history in the alert's time window" };
  if (closest.km > alert.area.radiusKm)
    return { concerns: false, reason: `never within ${alert.area.radiusKm} km of the area (closest ${closest.km.toFixed(1)} km)` };
  if (alert.symptomaticOnly === true) {
    const symptomatic = ctx
      .read<CheckIn>("health-questionnaire/checkins")
      .find({ where: { day: { gte: dayOf(alert.from) } } })
      .some((c) => Object.values(c.symptoms).some(Boolean));
    if (!symptomatic) return { concerns: false, reason: "in the area, but the alert is for people with symptoms and you reported none" };
  }
  return { concerns: true, reason: `within ${closest.km.toFixed(1)} km of the area on ${dayOf(closest.t)}` };
}

export const alertFilter = defineAbility({
  manifest: {
    name: ALERT_FILTER,
    version: "1.0.0",
    description: "Decides on this device which public alerts concern you, from your location history and check-ins.",
    owns: {
      alerts: {
        description: "alerts received and the local decision",
        fields: ["alert", "received", "concerns", "reason"],
        indexes: ["concerns", "received"],
      },
    },
    reads: ["location-history/points", "health-questionnaire/checkins"],
    handles: ["alert:received"],
  },
  on: {
    "alert:received": async (ctx, payload) => {
      const alert = validateAlert(payload);
      const decision = decideAlert(ctx, alert);
      const alerts = ctx.collection<AlertDecision>("alerts");
      const doc = { alert, received: ctx.now(), ...decision };
      return alerts.get(alert.id) === undefined ? alerts.create({ ...doc, _id: alert.id }) : alerts.update(alert.id, doc);
    },
  },
});
