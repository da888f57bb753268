// How the inbox says an alert: which of its infos to show (the reader's language first), CAP times as local times,
// its state and CAP's severity, urgency and certainty in words.
import type { AlertState, CapAlert, CapInfo } from "@mosaic/alerts";

/** The info in the reader's language (by primary subtag), else the first one. */
export function pickInfo(cap: CapAlert, languages: readonly string[] = globalThis.navigator?.languages ?? []): CapInfo | undefined {
  for (const wanted of languages) {
    const primary = wanted.toLowerCase().split("-")[0];
    const found = cap.info.find((i) => (i.language ?? "en-US").toLowerCase().split("-")[0] === primary);
    if (found !== undefined) return found;
  }
  return cap.info[0];
}

/** A CAP date-time ("2026-12-05T10:00:00+01:00") as a local date and time; as written when it does not parse. */
export function capTimeText(value: string | undefined): string {
  if (value === undefined) return "";
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : value;
}

export const STATE_TEXT: Record<AlertState, string> = {
  active: "In force",
  updated: "Replaced by an update",
  cancelled: "Cancelled",
  expired: "Expired",
  record: "On record",
};

/** Unix seconds as a local date and time. */
export const unixTimeText = (t: number): string =>
  new Date(t * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

/** CAP's severity, urgency and certainty, each explained for a reader who does not know CAP's words. */
export const SEVERITY_TEXT: Record<string, string> = {
  Extreme: "Extreme: extraordinary threat to life or property",
  Severe: "Severe: significant threat to life or property",
  Moderate: "Moderate: possible threat to life or property",
  Minor: "Minor: minimal threat to life or property",
  Unknown: "Unknown",
};
export const URGENCY_TEXT: Record<string, string> = {
  Immediate: "Immediate: act now",
  Expected: "Expected: act within the next hour",
  Future: "Future: act in the near future",
  Past: "Past: no longer needed",
  Unknown: "Unknown",
};
export const CERTAINTY_TEXT: Record<string, string> = {
  Observed: "Observed: it has happened or is happening",
  Likely: "Likely: more likely than not",
  Possible: "Possible: possible but not likely",
  Unlikely: "Unlikely: not expected",
  Unknown: "Unknown",
};

/** Characters of a gap's reason shown, escaped and cut by printableText (the vault keeps up to MAX_GAP_REASON). */
export const GAP_REASON_SHOWN = 200;
