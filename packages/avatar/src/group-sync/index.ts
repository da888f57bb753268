// Group sync: a stock Semaphore group's tree, rebuilt from the contract's events and kept in step with the chain. The
// folder's one entry point; its parts are the tree mirror, the root history, event scanning and the cache file.
export { GroupSyncError } from "./errors.js";
export { openGroupSync } from "./sync.js";
export type { CheckRootOptions, GroupSync, GroupSyncInit, GroupSyncProgress, GroupSyncResult, SyncOptions } from "./types.js";
