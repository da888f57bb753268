// @mosaic/vault in Node: everything the portable entry has, plus vaults and recovery files on disk.
export * from "./index.js";
export { answerJob, answerSharedJob } from "./node/answer.js";
// The Node prepareUpload (installed proof artifacts by default) replaces the portable one the star export brings.
export { prepareUpload, uploadKeys } from "./node/exposure.js";
export {
  type PullThreadOptions,
  pullThreadFrom,
  type ServeThreadOptions,
  servingPeerOf,
  serveThread,
} from "./node/device-sync.js";
export { openVault } from "./node/open-vault.js";
export {
  DeviceKeyMissingError,
  OutputExistsError,
  readApprovalFile,
  readDeviceKeyFile,
  readInvitationFile,
  readRecoveryRequestFile,
  type RecoveryRequestFiles,
  writeApprovalFile,
  writeInvitationFiles,
  writeRecoveryRequestFiles,
} from "./node/recovery-files.js";
export {
  DEFAULT_VAULT_DIR,
  defaultDeviceName,
  exists,
  type InitVaultDirOptions,
  type InitVaultDirResult,
  initVaultDir,
  type OpenVaultDir,
  type UnlockOptions,
  VaultBusyError,
  type VaultPaths,
  vaultPaths,
  withVaultDir,
} from "./node/vault-dir.js";
// handOverTrying here is Node's (TCP nodes); it stands in for the portable entry's, which makes WebSockets nodes.
export { handOverFromThrowawayNode, handOverTrying, nodeJobBoard } from "./node/jobs.js";
