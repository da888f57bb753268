/**
 * @packageDocumentation
 *
 * The reducer node: collects a job's announced submissions over gossipsub and bitswap, verifies each
 * (schema, bounds, scope, root, nullifier, Semaphore proof), reduces them up a nullifier-sorted tree,
 * publishes the bundle to IPFS and proposes the result on-chain with its stake at risk.
 *
 * @example
 * ```ts
 * import { createReducer } from '@mosaic/worker'
 * const reducer = createReducer({ ipfs, registry, chainId, now: chain.now })
 * const proposed = await reducer.serveJob(jobId)
 * ```
 */
export * from "./reducer.js";
