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
 * import { deriveThreadSecrets, openDiskStores, Thread } from '@mosaic/threads' // openDiskStores: Node only
 * const stores = await openDiskStores(dir)           // in a browser: await openBrowserStores('mosaic-vault')
 * const thread = await Thread.open(stores, { secrets: deriveThreadSecrets(seed, 'vault', 'laptop') })
 * await thread.collection('locations').create({ t: 1700000000, lat: 51.5, lon: -0.12 })
 * ```
 */
export type { CollectionConfig, Doc, Query } from "./collection.js";
export {
  BlockTooLargeError,
  BrokenChainError,
  DocumentExistsError,
  DocumentNotFoundError,
  EventDecryptionError,
  InvalidRecordSignatureError,
  MalformedRecordError,
  ProtocolError,
  PullRefusedError,
  UnknownLogError,
  UnreadableFileError,
  WrongPassphraseError,
  WrongServiceKeyError,
} from "./errors.js";
export { openBrowserStores } from "./browser-stores.js";
export { ThreadId } from "./id.js";
export { deriveThreadSecrets, logIdOf, type ThreadSecrets } from "./keys.js";
export { type RecordEnvelope, ThreadLog, type ThreadStores } from "./log.js";
export { type DiskStores, type LevelDatabase, storesOver } from "./level-stores.js";
export { type ReplicatorInit, ThreadReplicator } from "./replication.js";
export { DEFAULT_SCRYPT, type ScryptParams, sealSeed, unsealSeed } from "./seed.js";
export { Collection, Thread, type ThreadInit } from "./thread.js";
