// The shared mode's cryptography in one place: HPKE to the aggregators, the Prio3 instance of a spec, the vault's
// report and the aggregators' preparation, aggregation and noise. mapreduce's index re-exports it.
export {
  aggregateShares,
  checkTotal,
  type FinishReportInit,
  finishReport,
  noisedAggregateShare,
  noiseKeyOf,
  noiseSourceOf,
  type PreparedReport,
  type PrepareShareInit,
  prepareShare,
  unshardResult,
  type VerifyKeyInit,
  verifyKeyOf,
} from "./aggregate.js";
export {
  InvalidShareProofError,
  MalformedReportError,
  ReportTotalError,
  ShareDecryptError,
  ShareDigestMismatchError,
  ShareMissingError,
  UnsupportedSharedSpecError,
} from "./errors.js";
export {
  generateKeyPair,
  HPKE_ENC_LENGTH,
  HPKE_TAG_LENGTH,
  type HpkeKeyPair,
  type HpkeSealed,
  open as hpkeOpen,
  publicKeyOf,
  seal as hpkeSeal,
} from "./hpke.js";
export {
  checkReport,
  type EncryptedShare,
  jobWire,
  REPORT_NONCE_LENGTH,
  reportMessage,
  type SealReportInit,
  type ShardReportInit,
  type SharedReport,
  sealReport,
  shardReport,
  shareAad,
  shareDigest,
  shareInfo,
} from "./report.js";
export { type ShareLeaf, ShareSetOrderError, shareLeafHash, shareSetPath, shareSetRoot } from "./share-set.js";
export {
  decodeInputShare,
  decodePrepShare,
  decodePublicShare,
  encodePrepShare,
  MAX_SHARED_REPORT_BYTES,
  prio3Of,
  type ReportSizes,
  reportSizes,
  type SharedKind,
  type SharedMeasurement,
  type SharedPrio3,
  type SharedVdaf,
  sharedSpecProblem,
  sharedVdafOf,
} from "./vdaf.js";
