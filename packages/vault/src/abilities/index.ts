// The built-in abilities every vault loads.
import type { AbilityDefinition } from "../ability.js";
import { alertFilter } from "./alert-filter.js";
import { healthQuestionnaire } from "./health-questionnaire.js";
import { locationHistory } from "./location-history.js";
import { proximity } from "./proximity.js";

export type { AlertDecision } from "./alert-filter.js";
export { type CheckIn, type CheckInAnswers, checkIn } from "./health-questionnaire.js";
export { addPlace, dailyDistance, type Place, type PointChunk, placeVisits } from "./location-history.js";
export {
  FEED_KEY_BYTES,
  FEED_PART_KEYS,
  type FeedBatchDoc,
  type NotificationDoc,
  PROXIMITY,
  SCAN_RETENTION_DAYS,
  type ScanDoc,
} from "./proximity.js";

export const BUILTIN_ABILITIES: readonly AbilityDefinition[] = [locationHistory, healthQuestionnaire, proximity, alertFilter];
