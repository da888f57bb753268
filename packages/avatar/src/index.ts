/**
 * @packageDocumentation
 *
 * Anonymous avatars: a Semaphore identity derived from the vault's seed, one proof per job
 * (scope = the job, message = hash of the payload), and the submission envelope reducers verify.
 *
 * @example
 * ```ts
 * import { deriveAvatarIdentity, proveSubmission, encodeSubmission } from '@mosaic/avatar'
 * const identity = deriveAvatarIdentity(rootSeed)
 * const submission = await proveSubmission(identity, group, job, [12, 30, 7])
 * const block = await encodeSubmission(submission)   // put on IPFS, announce block.cid
 * ```
 */
export * from "./artifacts.js";
export * from "./batch-verify.js";
export * from "./envelope.js";
export * from "./identity.js";
export * from "./proof.js";
export * from "./publish.js";
export * from "./group.js";
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
export * from "./membership.js";
