/**
 * @packageDocumentation
 *
 * The reducer node: watches the chain for jobs its operator is staked for, collects announced submissions,
 * checks them (schema, bounds, scope, root, nullifier) and verifies their Semaphore proofs in batches,
 * journals every verdict to disk, reduces up a nullifier-sorted tree, publishes the bundle to IPFS and
 * proposes the result; health and metrics on a loopback port. It can also replicate public alert feeds
 * (createAlertReplica), which `vault serve` and `mosaic alerts serve` run too.
 *
 * @example
 * ```ts
 * import { createReducerNode, loadReducerConfig } from '@mosaic/worker'
 * const node = createReducerNode(await loadReducerConfig('reducer.json'))
 * await node.start()
 * process.on('SIGTERM', () => node.stop())
 * ```
 */
export {
  AlertNotAnchoredError,
  AlertPendingFullError,
  AlertQueueFullError,
  type AlertRejected,
  AlertReplica,
  type AlertReplicaEvents,
  type AlertReplicaGap,
  type AlertReplicaHead,
  type AlertReplicaInit,
  AlertReplicaStateError,
  type AnnounceEntryOptions,
  announceEntry,
  createAlertReplica,
} from "./alerts-replica.js";
export { loadReducerConfig, parseReducerConfig, type ReducerConfig, ReducerConfigError, resolveReducerConfig } from "./config.js";
export { type DiscoveryComponents, ReducerDiscovery } from "./discovery.js";
export type { HeldSubmission, ProposalDraft, ReducerHookContext, ReducerHooks } from "./hooks.js";
export {
  type ExchangeComponents,
  MAX_SUBMISSIONS_PER_CONNECTION,
  ReducerExchange,
  TooManySubmissionsError,
  UnknownJobError,
  WindowClosedError,
} from "./exchange.js";
export { handleStatusRequest, Metrics, type StatusSource, startStatusServer } from "./http.js";
export { Journal, JournalCorruptError, type JournalEntry } from "./journal.js";
export { createReducerNode, DataDirLockedError, type NodeStatusFile, ReducerNode, type ReducerNodeInit } from "./node.js";
export {
  type ChainJob,
  checkSpecMatchesJob,
  JobRefusedError,
  JobSession,
  type JobSessionComponents,
  type JobSessionInit,
} from "./reducer.js";
export {
  type BatchPublished,
  createKeyServer,
  exposureUploadTopic,
  KeyServer,
  type KeyServerComponents,
  type KeyServerEvents,
  type KeyServerInit,
  MAX_UPLOAD_BLOCK_BYTES,
  NotFeedAuthorityError,
  UPLOAD_REJECTION_REASONS,
  type UploadAccepted,
  type UploadRejected,
  type UploadRejectionReason,
  WrongFeedError,
  WrongPeriodError,
} from "./key-server.js";
export { createPsiService, type HotspotSetKeys, PSI_PROTOCOL, PsiService, type PsiServiceInit, type PsiServiceStats } from "./psi.js";
export {
  encodeHotspotKeyFile,
  type HotspotKeyFile,
  HotspotKeyFileError,
  hotspotKeyFileName,
  hotspotKeyFilesIn,
  parseHotspotKeyFile,
  readHotspotKeyFile,
  readHotspotKeyFiles,
} from "./hotspot-keys.js";
