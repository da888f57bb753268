// Exposure notification in the vault: keys from the seed, scans, following a health authority's feed, the check on
// the device, and the anonymous key upload.
export { type CheckExposureInit, checkExposure, exposureNotifications } from "./check.js";
export { KeyFeedMismatchError, KeyFeedSequenceError, MalformedScanError, NoHotspotServerError, UnknownKeyFeedError } from "./errors.js";
export {
  cachedFeedKeys,
  type FeedRef,
  type FollowKeyFeedOptions,
  followKeyFeed,
  KeyBatchFromFutureError,
  type KeyFeedComponents,
  keyFeedRef,
  MAX_BATCH_CLOCK_SKEW_S,
} from "./feed.js";
export { advertise, currentKey, DEFAULT_TX_POWER_DBM, exposureRoot, temporaryExposureKey } from "./keys.js";
export {
  askHotspotServers,
  checkHotspots,
  type HotspotServer,
  type HotspotCheckComponents,
  type HotspotCheckInit,
  type HotspotVisit,
  type HotspotVisitOptions,
  hotspotVisits,
  loadHotspotSet,
} from "./hotspots.js";
export { fetchRiskConfig } from "./risk-config.js";
export { importScanLines, MAX_SCAN_LINES, parseScanLine, type ScanImport } from "./scan-file.js";
export { recordScans, recordScansFrom, storedScans } from "./scans.js";
export {
  exposureUploadTopic,
  type PrepareUploadInit,
  type ProveUpload,
  prepareUpload,
  UPLOAD_IDENTITY_INFO,
  type UploadKeysInit,
  uploadIdentity,
  uploadKeysWith,
} from "./upload.js";
