/**
 * @packageDocumentation
 *
 * Threads: a vault's private state as go-threads models it. Each device writes a single-writer log of records
 * `{block, sig, pubKey, prev}`, hash-linked by CID and sealed with the thread's service key; each event carries a
 * one-time content key sealed with the read key. Collections are typed document views over the events; devices
 * and replicators exchange records over libp2p, and replicators can never read them.
 *
 * @example
 * ```ts
 * import { deriveThreadSecrets, openDiskStores, Thread } from '@mosaic/threads'
 * const stores = await openDiskStores(dir)
 * const thread = await Thread.open(stores, { secrets: deriveThreadSecrets(seed, 'vault', 'laptop') })
 * await thread.collection('locations').create({ t: 1700000000, lat: 51.5, lon: -0.12 })
 * ```
 */
export * from "./collection.js";
export * from "./crypto.js";
export * from "./disk.js";
export * from "./errors.js";
export * from "./hlc.js";
export * from "./id.js";
export * from "./keys.js";
export * from "./log.js";
export * from "./record.js";
export * from "./seed.js";
export * from "./thread.js";
export * from "./replication.js";
export * from "./frames.js";
export * from "./archive.js";
