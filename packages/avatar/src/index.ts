/**
 * @packageDocumentation
 *
 * Anonymous avatars: a Semaphore identity derived from the vault's seed, one proof per job
 * (scope = the job, message = hash of the payload, or of a shared job's encrypted Prio3 shares), and the submission
 * envelopes (v1 a payload, v2 a secret-shared report) reducers and aggregators verify. This entry runs in
 * Node and in the browser; Node adds (`./node.ts`, picked by the package's export conditions) the installed proof
 * artifacts, the worker-thread batch verifier and publishing from a throwaway libp2p node.
 *
 * @example
 * ```ts
 * import { deriveAvatarIdentity, proveSubmission, encodeSubmission } from '@mosaic/avatar'
 * const identity = deriveAvatarIdentity(rootSeed)
 * const submission = await proveSubmission(identity, group, job, [12, 30, 7])
 * const block = await encodeSubmission(submission)   // put on IPFS, announce block.cid
 * ```
 */
export {
  ARTIFACT_SHA256,
  ArtifactHashMismatchError,
  type ArtifactPaths,
  ArtifactsUnavailableError,
  PROOF_DEPTH,
  verifyArtifactBytes,
} from "./artifacts.js";
export {
  type BatchVerifier,
  type BatchVerifierInit,
  BatchVerifierNotRunningError,
  BatchVerifierWorkerError,
} from "./batch-verify.js";
export {
  type AnySubmission,
  BN254_BASE_FIELD,
  checkReportShape,
  decodeLocalSubmission,
  decodeSubmission,
  type EncryptedShare,
  type EnvelopeArg,
  encodePayload,
  encodeSubmission,
  envelopeArg,
  MAX_PAYLOAD_LENGTH,
  MAX_SHARED_SUBMISSION_BYTES,
  MAX_SUBMISSION_BYTES,
  maxSubmissionBytes,
  REPORT_NONCE_BYTES,
  reportMessage,
  type SemaphoreProof,
  SHARE_ENC_BYTES,
  ShareDigestMismatchError,
  type SharedReport,
  type SharedSubmission,
  type Submission,
  shareDigest,
  submissionFromEnvelopeArg,
} from "./envelope.js";
export { loadGroup } from "./group.js";
export {
  type CheckRootOptions,
  type GroupSync,
  GroupSyncError,
  type GroupSyncInit,
  type GroupSyncProgress,
  type GroupSyncResult,
  openGroupSync,
  type SyncOptions,
} from "./group-sync/index.js";
export { deriveAvatarIdentity, Identity } from "./identity.js";
export {
  type AdmissionKind,
  type Attestation,
  AttestationMismatchError,
  attestationEvidence,
  attestationHash,
  attestationSigner,
  attestationToJson,
  createAvatarGroup,
  type GroupInfo,
  groupInfo,
  listGroups,
  MalformedAttestationError,
  parseAttestation,
  registerAvatar,
  signAttestation,
  UnknownGroupError,
} from "./membership.js";
export {
  checkSubmission,
  Group,
  nullifierOf,
  proveMembership,
  proveSharedSubmission,
  proveSubmission,
  type VerifyContext,
  verifySubmission,
} from "./proof.js";
export {
  MalformedProofRequestError,
  type ProofRequest,
  parseProofRequest,
  parseSharedProofRequest,
  proofRequestOf,
  proveRequest,
  type SharedProofRequest,
  sharedProofRequestOf,
} from "./prove-request.js";
export { type PublishDelayInit, pickPublishDelay } from "./publish-delay.js";
export {
  type CreatePublishNode,
  PeersUnreachableError,
  type PublishBlockstore,
  type PublishResult,
  type PublishSubmissionInit,
  publishSubmissionWith,
  TooFewRecipientsError,
} from "./publish.js";
