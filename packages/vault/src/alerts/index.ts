// Public alerts in the vault: following feeds, the local decision, the inbox and the reach job.
export { ALERT_FILTER_LIMITS, type AlertReaders, alertWindow, type CapDecision, decideCapAlert } from "./decide.js";
export { AlertEntryConflictError, AmbiguousAlertChainError, MalformedAlertEventError } from "./errors.js";
export {
  type AlertInboxOptions,
  alertFeedGaps,
  alertInbox,
  type FollowedAlertFeed,
  followAlertFeed,
  followedAlertFeeds,
  type InboxGap,
  type InboxItem,
  recheckAlerts,
  type SyncAlertsOptions,
  type SyncAlertsResult,
  syncAlerts,
  unfollowAlertFeed,
} from "./follow.js";
export { ALERT_REACH_LABELS, ALERT_REACH_PLACEHOLDER, type AlertReachJobInit, alertReachJob, alertReachSpec } from "./reach.js";
