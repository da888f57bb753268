// The proximity ability: encounters with other devices' ephemeral IDs, kept for the incubation window and then forgotten.
import type { Doc } from "@mosaic/threads";
import { type AbilityContext, defineAbility } from "../ability.js";

export const PROXIMITY = "proximity";
/** How long encounters are kept: the 14-day incubation period plus a week for test results to arrive. */
export const ENCOUNTER_RETENTION_DAYS = 21;

/** One encounter: another device's rotating ephemeral ID seen from `start` to `end`. */
export interface Encounter extends Doc {
  /** 16 bytes, hex: the other device's ephemeral ID at the time. */
  ephemeralId: string;
  /** Unix seconds. */
  start: number;
  end: number;
  /** Strongest received signal strength, dBm; a proxy for distance. */
  rssi: number;
}

function validateEncounter(value: unknown): Encounter {
  const e = value as Encounter;
  if (typeof e?.ephemeralId !== "string" || !/^[0-9a-f]{32}$/.test(e.ephemeralId))
    throw new TypeError("encounters.ephemeralId: expected 32 lowercase hex characters");
  if (!Number.isSafeInteger(e.start) || !Number.isSafeInteger(e.end) || e.start < 0 || e.end < e.start || e.end - e.start > 86_400) {
    throw new RangeError(`encounters.start/end: expected unix seconds, start <= end, at most a day apart, got ${e.start}..${e.end}`);
  }
  if (!Number.isInteger(e.rssi) || e.rssi < -127 || e.rssi > 20)
    throw new RangeError(`encounters.rssi: expected -127..20 dBm, got ${String(e.rssi)}`);
  return e;
}

export const proximity = defineAbility({
  manifest: {
    name: PROXIMITY,
    version: "1.0.0",
    description: "Encounters with nearby devices' ephemeral IDs, kept for 21 days, for exposure notification.",
    owns: {
      encounters: {
        description: "ephemeral-ID encounters",
        fields: ["ephemeralId", "start", "end", "rssi"],
        indexes: ["start", "ephemeralId"],
      },
    },
    handles: ["timer"],
  },
  collections: { encounters: { validate: validateEncounter } },
  // Forgets encounters older than the retention window.
  on: {
    timer: async (ctx) => {
      const cutoff = Math.floor(ctx.now() / 1000) - ENCOUNTER_RETENTION_DAYS * 86_400;
      const encounters = ctx.collection<Encounter>("encounters");
      const old = encounters.find({ where: { start: { lt: cutoff } } });
      for (const e of old) await encounters.delete(e._id);
      return { pruned: old.length };
    },
  },
});

export async function recordEncounter(ctx: AbilityContext, encounter: Omit<Encounter, "_id">): Promise<Encounter> {
  return ctx.collection<Encounter>("encounters").create(encounter);
}
