// The location history formats a vault reads: their names and labels, the advice for a malformed file, and what parsing yields.
import type { LocationPoint } from "@mosaic/mapreduce";

// One fix: `t` is unix seconds, an integer (sub-second parts are floored away), `lat`/`lon` are WGS 84 degrees.
export type { LocationPoint };

/** The location history formats a vault imports, in the order help texts list them. */
export const LOCATION_FORMATS = ["gpx", "geojson", "takeout-records", "takeout-timeline"] as const;

export type LocationFormat = (typeof LOCATION_FORMATS)[number];

export interface ParsedLocations {
  format: LocationFormat;
  /** Sorted by `t`; points with equal `t` keep the order they were read in. */
  points: LocationPoint[];
  /**
   * Location entries left out because they have no time or no position: a GPX point without `<time>`, a
   * GeoJSON position with no time, a Takeout record without `timestamp`/`timestampMs` or without E7
   * coordinates, a Timeline path point, raw signal position or visit missing its time or place. GeoJSON
   * Polygon, MultiPolygon and GeometryCollection geometries and features with a null geometry count one each.
   * Entries that are not locations at all (a Timeline `wifiScan`, an activity-only segment) are not counted.
   */
  skipped: number;
}

export interface ParseLocationsOptions {
  /** Read the file as this format instead of sniffing it. @default detected from the content */
  format?: LocationFormat;
  /** The file's name; only a hint, used when the content alone does not say (and in error messages). @default none */
  fileName?: string;
  /** Refuse files larger than this many bytes; may only lower the limit. @default MAX_LOCATION_FILE_BYTES */
  maxBytes?: number;
}

/** The largest location file we read: 512 MiB, a decade of one-a-minute Takeout records and then some. */
export const MAX_LOCATION_FILE_BYTES: number = 512 * 2 ** 20;

/** How each format is named to people. */
export const LOCATION_FORMAT_LABELS: Readonly<Record<LocationFormat, string>> = {
  gpx: "GPX",
  geojson: "GeoJSON",
  "takeout-records": "Google Takeout Records.json",
  "takeout-timeline": "Google Timeline.json",
};

/** What to do about a malformed file of each format, appended to the error message. */
export const ADVICE: Record<LocationFormat, string> = {
  gpx: "Re-export the track as GPX 1.1 from the app that recorded it and import that file unmodified.",
  geojson: "Check the file is RFC 7946 GeoJSON with [lon, lat] positions and ISO 8601 or unix times.",
  "takeout-records": "Download Records.json again from Google Takeout (Location History) and import it unmodified.",
  "takeout-timeline": "Export Timeline.json again from the phone (Settings > Location > Timeline > Export) and import it unmodified.",
};

/** Where a reader puts what it found. */
export interface Collector {
  points: LocationPoint[];
  skipped: number;
}
