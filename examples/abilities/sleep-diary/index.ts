// An example third-party data ability: a sleep diary, built only on @mosaic/vault's public ability API.
import { type AbilityContext, type CheckIn, type Doc, defineAbility } from "@mosaic/vault";

/** One night: `_id` is the date the night began. */
export interface Night extends Doc {
  night: string;
  hours: number;
  /** 1 (very poor) .. 5 (very good). */
  quality: number;
}

function validateNight(value: unknown): Night {
  const n = value as Night;
  if (typeof n?.night !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(n.night) || n._id !== n.night) throw new TypeError("nights.night: expected YYYY-MM-DD, equal to _id");
  if (typeof n.hours !== "number" || !(n.hours >= 0 && n.hours <= 24)) throw new RangeError(`nights.hours: expected 0..24, got ${String(n.hours)}`);
  if (!Number.isInteger(n.quality) || n.quality < 1 || n.quality > 5) throw new RangeError(`nights.quality: expected 1..5, got ${String(n.quality)}`);
  return n;
}

export const sleepDiary = defineAbility({
  manifest: {
    name: "sleep-diary",
    version: "0.1.0",
    description: "How long and how well you slept, beside how you felt the next day.",
    owns: { nights: { description: "one entry per night", fields: ["night", "hours", "quality"], indexes: ["night"] } },
    // It may read the daily check-ins (to set sleep beside feeling), and nothing else.
    reads: ["health-questionnaire/checkins"],
    handles: ["timer"],
  },
  collections: { nights: { validate: validateNight } },
  on: {
    timer: (ctx) => {
      const yesterday = new Date(ctx.now() - 86_400_000).toISOString().slice(0, 10);
      return { entryDue: ctx.read<Night>("nights").get(yesterday) === undefined, night: yesterday };
    },
  },
});

/** Records a night. */
export async function logNight(ctx: AbilityContext, night: string, hours: number, quality: number): Promise<Night> {
  return ctx.collection<Night>("nights").create({ _id: night, night, hours, quality });
}

/** Hours slept beside the next day's feeling (1..5), for the nights that have a check-in the day after. */
export function sleepAndFeeling(ctx: AbilityContext): { night: string; hours: number; feelingNextDay: number }[] {
  const checkins = ctx.read<CheckIn>("health-questionnaire/checkins");
  return ctx
    .read<Night>("nights")
    .find({ orderBy: "night" })
    .flatMap((n) => {
      const next = new Date(Date.parse(`${n.night}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const c = checkins.get(next);
      return c === undefined ? [] : [{ night: n.night, hours: n.hours, feelingNextDay: c.feeling }];
    });
}
