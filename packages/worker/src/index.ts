/**
 * @packageDocumentation
 *
 * The reducer node: watches the chain for jobs its operator is staked for, collects announced submissions,
 * checks them (schema, bounds, scope, root, nullifier) and verifies their Semaphore proofs in batches,
 * journals every verdict to disk, reduces up a nullifier-sorted tree, publishes the bundle to IPFS and
 * proposes the result; health and metrics on a loopback port.
 *
 * @example
 * ```ts
 * import { createReducerNode, loadReducerConfig } from '@mosaic/worker'
 * const node = createReducerNode(await loadReducerConfig('reducer.json'))
 * await node.start()
 * process.on('SIGTERM', () => node.stop())
 * ```
 */
export * from "./config.js";
export * from "./http.js";
export * from "./journal.js";
export * from "./node.js";
export * from "./reducer.js";
export * from "./watcher.js";
