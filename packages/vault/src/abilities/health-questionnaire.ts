// The health-questionnaire ability: one symptom check-in per day, in the schema documented in health-questionnaire.md.
import type { Doc } from "@mosaic/threads";
import { type AbilityContext, defineAbility } from "../ability.js";

export const HEALTH_QUESTIONNAIRE = "health-questionnaire";

/** The yes/no symptoms asked each day (the WHO COVID-19 case report form's common symptoms). */
export const SYMPTOMS = ["fever", "cough", "shortnessOfBreath", "soreThroat", "lossOfTasteOrSmell", "fatigue", "headache"] as const;
export type Symptom = (typeof SYMPTOMS)[number];

/** A day's check-in; `_id` is the day. See health-questionnaire.md for each field. */
export interface CheckIn extends Doc {
  day: string;
  time: number;
  /** 1 (very unwell) .. 5 (very well). */
  feeling: number;
  symptoms: Record<Symptom, boolean>;
  /** Highest measured body temperature that day, if measured. */
  temperatureC?: number;
  /** Result of a test taken that day, if any. */
  test?: "positive" | "negative";
  /** Region code (ISO 3166-2, e.g. "DE-BY"), if the user chose to give one. */
  region?: string;
}

export type CheckInAnswers = Omit<CheckIn, "_id" | "day" | "time">;

function validateCheckIn(value: unknown): CheckIn {
  const c = value as CheckIn;
  if (typeof c?.day !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(c.day) || c._id !== c.day)
    throw new TypeError("checkins.day: expected YYYY-MM-DD, equal to _id");
  if (!Number.isSafeInteger(c.time) || c.time < 0) throw new TypeError(`checkins.time: expected unix ms, got ${String(c.time)}`);
  if (!Number.isInteger(c.feeling) || c.feeling < 1 || c.feeling > 5)
    throw new RangeError(`checkins.feeling: expected 1..5, got ${String(c.feeling)}`);
  if (c.symptoms === null || typeof c.symptoms !== "object") throw new TypeError("checkins.symptoms: expected a map of yes/no answers");
  const keys = Object.keys(c.symptoms);
  for (const s of SYMPTOMS) if (typeof c.symptoms[s] !== "boolean") throw new TypeError(`checkins.symptoms.${s}: expected true or false`);
  if (keys.length !== SYMPTOMS.length) throw new TypeError(`checkins.symptoms: expected exactly ${SYMPTOMS.join(", ")}`);
  if (c.temperatureC !== undefined && (typeof c.temperatureC !== "number" || !(c.temperatureC >= 34 && c.temperatureC <= 43))) {
    throw new RangeError(`checkins.temperatureC: expected 34..43, got ${String(c.temperatureC)}`);
  }
  if (c.test !== undefined && c.test !== "positive" && c.test !== "negative")
    throw new TypeError('checkins.test: expected "positive" or "negative"');
  if (c.region !== undefined && (typeof c.region !== "string" || !/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/.test(c.region))) {
    throw new TypeError(`checkins.region: expected an ISO 3166-2 code like DE-BY, got ${JSON.stringify(c.region)}`);
  }
  const allowed = new Set(["_id", "day", "time", "feeling", "symptoms", "temperatureC", "test", "region"]);
  for (const k of Object.keys(c)) if (!allowed.has(k)) throw new TypeError(`checkins.${k}: not a field of the check-in schema`);
  return c;
}

function today(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export const healthQuestionnaire = defineAbility({
  manifest: {
    name: HEALTH_QUESTIONNAIRE,
    version: "1.0.0",
    description: "A daily symptom check-in (how you feel, seven common symptoms, temperature, test result, region).",
    owns: {
      checkins: {
        description: "one check-in per day",
        fields: ["day", "time", "feeling", "symptoms", "temperatureC", "test", "region"],
        indexes: ["day", "region"],
      },
    },
    handles: ["timer"],
  },
  collections: { checkins: { validate: validateCheckIn } },
  // The daily reminder: due when today has no check-in yet.
  on: { timer: (ctx) => ({ checkInDue: ctx.read<CheckIn>("checkins").get(today(ctx.now())) === undefined, day: today(ctx.now()) }) },
});

/** Records (or replaces) the check-in for `day` (today by default). */
export async function checkIn(ctx: AbilityContext, answers: CheckInAnswers, day: string = today(ctx.now())): Promise<CheckIn> {
  const collection = ctx.collection<CheckIn>("checkins");
  const doc = { ...answers, day, time: ctx.now() };
  return collection.get(day) === undefined ? collection.create({ ...doc, _id: day }) : collection.update(day, doc);
}
