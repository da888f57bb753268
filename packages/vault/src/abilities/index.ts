// The built-in abilities every vault loads.
import type { AbilityDefinition } from "../ability.js";
import { alertFilter } from "./alert-filter.js";
import { healthQuestionnaire } from "./health-questionnaire.js";
import { locationHistory } from "./location-history.js";
import { proximity } from "./proximity.js";

export * from "./alert-filter.js";
export * from "./health-questionnaire.js";
export * from "./location-formats.js";
export * from "./location-history.js";
export * from "./proximity.js";

export const BUILTIN_ABILITIES: readonly AbilityDefinition[] = [locationHistory, healthQuestionnaire, proximity, alertFilter];
