// The shapes every part of exposure notification shares: keys, scans, windows, scores, published documents.

/** Seconds in one ENInterval (GAEN: identifiers roll every 10 minutes). */
export const INTERVAL_S = 600;
/** ENIntervals a daily Temporary Exposure Key is valid for (GAEN's TEKRollingPeriod). */
export const TEK_ROLLING_PERIOD = 144;
/** Days a key is kept and uploaded: older keys are deleted and refused. */
export const KEY_RETENTION_DAYS = 14;
/** Bytes of a TEK, RPIK, RPI and AEMK; bytes of the metadata and of an AEM. */
export const KEY_BYTES = 16;
export const METADATA_BYTES = 4;

/** A Temporary Exposure Key, as the GAEN cryptography specification defines it. */
export interface TemporaryExposureKey {
  /** 16 bytes. */
  key: Uint8Array;
  /** ENIntervalNumber of the key's first interval: a multiple of 144 for a daily key. */
  rollingStartIntervalNumber: number;
  /** Intervals the key is valid for, 1..144. */
  rollingPeriod: number;
}

/** What the uploader's diagnosis says of the key (GAEN's ReportType). */
export type ReportType = "confirmed-test" | "confirmed-clinical" | "self-report" | "recursive";
export const REPORT_TYPES: readonly ReportType[] = ["confirmed-test", "confirmed-clinical", "self-report", "recursive"];

/** A key as a health authority publishes it: with what the uploader reported about that day. */
export interface PublishedKey extends TemporaryExposureKey {
  reportType: ReportType;
  /** Days from the onset of symptoms to the key's day, -14..14; null when unknown (no symptoms, or not said). */
  daysSinceOnsetOfSymptoms: number | null;
}

/** One advertisement another device was heard sending, as the radio reports it. */
export interface ScanRecord {
  /** The Rolling Proximity Identifier heard, 16 bytes. */
  rpi: Uint8Array;
  /** The Associated Encrypted Metadata heard with it, 4 bytes. */
  aem: Uint8Array;
  /** When, unix seconds. */
  t: number;
  /** Received signal strength, dBm (-127..20). */
  rssi: number;
  /** Seconds this sighting stands for (GAEN's secondsSinceLastScan), 1..1800. */
  seconds: number;
}

/** What a device advertises during one interval. */
export interface Advertisement {
  rpi: Uint8Array;
  aem: Uint8Array;
}

/**
 * What a phone's Bluetooth layer implements for the vault (no Bluetooth here: the simulator implements it for tests
 * and the demo). The vault calls `advertise` at each new interval with that interval's identifier and metadata, and
 * hears every scan through the listener.
 */
export interface RadioAdapter {
  advertise(advertisement: Advertisement): Promise<void>;
  /** Registers a listener; returns the function that removes it. */
  onScan(listener: (scan: ScanRecord) => void): () => void;
}

/** One matched sighting, after the AEM gave the sender's transmit power. */
export interface ScanInstance {
  /** Unix seconds. */
  t: number;
  /** Transmit power (from the decrypted metadata) minus RSSI, dB, at least 0. */
  attenuationDb: number;
  seconds: number;
}

/** Matched sightings of one published key within at most 30 minutes (GAEN's ExposureWindow). */
export interface ExposureWindow {
  /** Unix seconds of the window's first sighting. */
  start: number;
  /** Unix day (floor(t / 86400)) of the window's first sighting. */
  day: number;
  reportType: ReportType;
  daysSinceOnsetOfSymptoms: number | null;
  scans: ScanInstance[];
}

/** How strongly a window's day of the sender's illness counts (GAEN's Infectiousness). */
export type Infectiousness = "none" | "standard" | "high";

/** The outcome a vault shows its user. */
export type RiskLevel = "none" | "low" | "high";
export const RISK_LEVELS: readonly RiskLevel[] = ["none", "low", "high"];

/** A day's exposure (GAEN's DailySummary): the weighted minutes of its windows. */
export interface DailySummary {
  day: number;
  /** Sum of the day's window scores, weighted minutes. */
  weightedMinutes: number;
  maxWindowMinutes: number;
  windows: number;
}
