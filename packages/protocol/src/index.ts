/**
 * @packageDocumentation
 *
 * What every Mosaic package shares: named errors, dag-cbor blocks, field encodings, job types, and the
 * factories for the two engines Mosaic runs on — an EVM chain and IPFS.
 *
 * @example
 * ```ts
 * import { connectChain, deployMosaic, createIpfsNode } from '@mosaic/protocol'
 * const chain = await connectChain()                 // in-process Hardhat network
 * const contracts = await deployMosaic(chain.accounts[0])
 * const ipfs = await createIpfsNode()                 // Helia on 127.0.0.1
 * ```
 */
export * from "./chain.js";
export * from "./codec.js";
export * from "./errors.js";
export * from "./field.js";
export * from "./ipfs.js";
export * from "./job.js";
export * from "./log.js";
export * from "./results.js";
export * from "./wait.js";
