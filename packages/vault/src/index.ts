/**
 * @packageDocumentation
 *
 * The vault: a person's data in an encrypted thread, the data abilities that collect and use it (each confined
 * to its manifest), the consent screen, the one egress gate with its audit log, the privacy budget, and social
 * recovery through guardians.
 *
 * @example
 * ```ts
 * import { openVault, answerJob } from '@mosaic/vault'
 * const vault = await openVault(dir, { rootSeed })
 * await vault.importLocations(await readFile('Records.json'))
 * const request = await vault.review(spec, job)   // show it to the user
 * await vault.consent(spec, request)
 * await answerJob(vault, job, group, { peers, collectionDeadline, now })
 * // in a browser: const vault = await createBrowserVault({ name: 'mosaic', passphrase }), later unlockBrowserVault
 * ```
 */
export {
  type AlertDecision,
  addPlace,
  BUILTIN_ABILITIES,
  type CheckIn,
  type CheckInAnswers,
  checkIn,
  dailyDistance,
  FEED_KEY_BYTES,
  FEED_PART_KEYS,
  type FeedBatchDoc,
  type NotificationDoc,
  type Place,
  type PointChunk,
  PROXIMITY,
  placeVisits,
  SCAN_RETENTION_DAYS,
  type ScanDoc,
} from "./abilities/index.js";
export {
  type AbilityContext,
  type AbilityDefinition,
  type AbilityManifest,
  type Collection,
  collectionName,
  type Doc,
  defineAbility,
  type Query,
  type ReadableCollection,
} from "./ability.js";
export {
  type AnswerJobComponents,
  type AnswerJobInit,
  type AnswerResult,
  type AnswerSharedJobComponents,
  type AnswerSharedJobInit,
  answerJobWith,
  answerSharedJobWith,
  type PublishBlock,
  type ProveSharedSubmission,
  type ProveSubmission,
  type PublishBlockOptions,
  type ShardReport,
} from "./answer.js";
export {
  BROWSER_DEVICE,
  type BrowserVaultStorage,
  type CreateBrowserVaultOptions,
  createBrowserVault,
  hasBrowserVault,
  type OpenStores,
  openBrowserVault,
  quietly,
  type StepProgress,
  type StepRunner,
  type UnlockBrowserVaultOptions,
  unlockBrowserVault,
  VaultExistsError,
  VaultNotFoundError,
} from "./browser-vault.js";
export { type BudgetSettings, type BudgetStatus, DEFAULT_BUDGET, type Epsilon, formatEpsilon, jobPrivacyCost } from "./budget.js";
export {
  aggregatorKeyFingerprint,
  checkAggregatorKeys,
  checkSharedSpec,
  aggregatorMinStake,
  isAggregatorKey,
  type PickedAggregator,
  pickAggregators,
  type ConsentedAggregator,
  type JobAggregator,
  modeDisclosure,
  modeOf,
  SharedSpecRefusedError,
} from "./shared-mode.js";
export {
  AbilityAccessError,
  AbilityManifestError,
  AlreadySubmittedError,
  ConsentWithdrawnError,
  EgressMismatchError,
  PrivacyBudgetExceededError,
  UnknownAbilityError,
} from "./errors.js";
export {
  DecryptionFailedError,
  GuardiansMismatchError,
  MalformedShareError,
  type RejectedApproval,
  ShareTamperedError,
  ThresholdNotMetError,
  WrongAccountError,
  WrongDeviceKeyError,
  WrongGuardianKeyError,
} from "./guardian-errors.js";
export {
  type CombinedSeed,
  deviceKey,
  type GuardianConfig,
  type GuardianKey,
  guardianKeyFromPrivateKey,
  guardianKeyFromSeed,
  MAX_GUARDIANS,
  MIN_GUARDIANS,
} from "./guardians.js";
export {
  detectLocationFormat,
  LOCATION_FORMAT_LABELS,
  LOCATION_FORMATS,
  LocationFileTooLargeError,
  type LocationFormat,
  LocationFormatError,
  type LocationPoint,
  MAX_LOCATION_FILE_BYTES,
  type ParsedLocations,
  type ParseLocationsOptions,
  parseLocations,
} from "./location/index.js";
export {
  acceptGuardianship,
  accountIdOf,
  addGuardian,
  approveRecoveryRequest,
  DEFAULT_APPROVAL_LIFETIME,
  type GuardianEntry,
  type Guardianship,
  guardianKeyOf,
  type Invitation,
  listGuardians,
  listGuardianships,
  type ProtectInit,
  protectVault,
  type RecoveryApproval,
  type RecoveryRequestMessage,
  type RecoverySetup,
  recoverSeed,
  recoverySetup,
  removeGuardian,
  startRecovery,
} from "./recovery.js";
export {
  type ApprovalFile,
  approvalFileText,
  checkRecoveryFileSize,
  InlineBlockMismatchError,
  type InvitationFile,
  invitationFileText,
  parseApprovalFile,
  parseInvitationFile,
  parseRecoveryRequestFile,
  MAX_RECOVERY_FILE_BYTES,
  RECOVERY_FILE_FORMATS,
  type RecoveryFileKind,
  recoveryRequestFileText,
  requestCode,
  UnrecognisedFileError,
} from "./recovery-files.js";
export {
  AccountNotRegisteredError,
  acceptInvitation,
  type CompletedRecovery,
  completeRecovery,
  type NewRecoveryRequest,
  newRecoveryRequest,
  type RecoveryContract,
  UnsignedApprovalError,
} from "./recovery-steps.js";
export {
  type AuditEntry,
  type ConsentRecord,
  type ConsentRequest,
  type SharedEgress,
  jobKey,
  VAULT_THREAD,
  Vault,
  type VaultInit,
} from "./vault.js";
export {
  type AnswerConfirmedComponents,
  type AnswerConfirmedInit,
  type AnswerConfirmedResult,
  answerConfirmed,
  onlyAggregators,
} from "./answer-confirmed.js";
export {
  ConsentDeclinedError,
  JobClosedError,
  JobSpecMismatchError,
  NoReducersError,
  NoSubmissionError,
  NotInJobGroupError,
  SpecUnavailableError,
  UnknownJobError,
} from "./job-errors.js";
export {
  answeredAt,
  type ChainJobFields,
  checkSharedSpecMatchesJob,
  checkSpecMatchesJob,
  fetchJobSpec,
  type JobBoardComponents,
  type JobListing,
  type JobState,
  jobRefOf,
  type ListJobsOptions,
  listJobs,
  membershipAt,
  type PostedJob,
  type PreparedJob,
  type PrepareJobOptions,
  prepareJob,
  type ReadJobsOptions,
  readAnyPostedJob,
  readPostedJob,
  readSharedPostedJob,
  readSharedPostedJobs,
  reviewJob,
  type SharedPostedFields,
  StaleJobRecordError,
  staleAnswer,
  readPostedJobs,
} from "./jobs.js";
export {
  type CollectReceiptsComponents,
  type CollectReceiptsInit,
  type CollectReceiptsResult,
  checkStoredReceipts,
  collectReceipts,
  NotAggregatorError,
  NotPeerOperatorError,
  type HandOver,
  type HandOverOutcome,
  type RefusedReceipt,
  recordSubmission,
  resendSubmission,
  type SubmissionRecord,
  sentBlock,
  submissionOf,
  submissionRecords,
} from "./submissions.js";
export {
  type CreateNode,
  HandOverAbandonedError,
  type HandOverLimits,
  handOverTrying,
  type JobBoard,
  type JobBoardInit,
  jobBoard,
  type NodeJobBoard,
  type NodeJobBoardInit,
  type ReducerPeers,
  reducerPeers,
} from "./job-board.js";
export {
  type CheckInclusionOptions,
  checkInclusion,
  checkSharedInclusion,
  type InclusionVerdict,
  type SharedInclusionVerdict,
  ShareSetBundleError,
} from "./inclusion.js";
export { ChainResetError, type FollowJobsInit, followedTo, followJobs } from "./follow.js";
export { type PullThreadOptions, pullThreadFrom, servingPeerOf } from "./device-sync.js";
export {
  advertise,
  cachedFeedKeys,
  currentKey,
  DEFAULT_TX_POWER_DBM,
  exposureRoot,
  exposureUploadTopic,
  type FeedRef,
  type FollowKeyFeedOptions,
  followKeyFeed,
  type KeyFeedComponents,
  KeyFeedMismatchError,
  KeyFeedSequenceError,
  MalformedScanError,
  type PrepareUploadInit,
  type ProveUpload,
  prepareUpload,
  recordScans,
  recordScansFrom,
  storedScans,
  temporaryExposureKey,
  UPLOAD_IDENTITY_INFO,
  type UploadKeysInit,
  uploadIdentity,
  uploadKeysWith,
} from "./exposure/index.js";
