/**
 * @packageDocumentation
 *
 * What every Mosaic package shares, in Node and in the browser: named errors, dag-cbor blocks, field encodings, job
 * types, logging, waiting, typed contract handles, what a role does with an IPFS node, and the dial-only WebSockets
 * node a browser runs (createBrowserIpfsNode). Node adds the runtime
 * (`./node.ts`, picked by the package's export conditions): the JSON-RPC chain connection, deployment and the
 * Helia/libp2p node factory. The in-process Hardhat network is `@mosaic/protocol/in-process-chain`, for the demo,
 * tests and benches only.
 *
 * @example
 * ```ts
 * import { connectChain, deployMosaic, createIpfsNode } from '@mosaic/protocol'
 * const chain = await connectChain({ rpcUrl: 'http://127.0.0.1:8545' })
 * const contracts = await deployMosaic(chain.accounts[0])
 * const ipfs = await createIpfsNode()                 // Helia on 127.0.0.1
 * ```
 */
export { equalBytes, type FromHexOptions, fromBase64, fromHex, to0xHex, toBareHex, toBase64 } from "./bytes.js";
export { type Block, CID, decodeCbor, encodeBlock, parseCid, specCidOf, specDigestOf } from "./codec.js";
export {
  type AlertFeeds,
  AlertFeeds__factory,
  type AvatarGroups,
  AvatarGroups__factory,
  attachAlertFeeds,
  attachAvatarGroups,
  attachExposureFeeds,
  attachReducerDirectory,
  attachRegistrarAdmission,
  attachSharedJobs,
  attachVaultRecovery,
  EventMissingError,
  type ExposureFeeds,
  ExposureFeeds__factory,
  findEvent,
  IAdmissionPolicy__factory,
  type JobRegistry,
  JobRegistry__factory,
  type MosaicAddresses,
  type MosaicContracts,
  OpenAdmission__factory,
  type ReducerDirectory,
  ReducerDirectory__factory,
  RegistrarAdmission__factory,
  type Semaphore,
  Semaphore__factory,
  type SharedJobs,
  SharedJobs__factory,
  type SubmissionJudge,
  SubmissionJudge__factory,
  type VaultRecovery,
} from "./contracts.js";
export {
  BlockUnavailableError,
  ConsentRequiredError,
  ExpiredRootError,
  InvalidJobSpecError,
  InvalidProofError,
  MalformedSubmissionError,
  NullifierReusedError,
  namedError,
  PayloadHashMismatchError,
  PayloadOutOfBoundsError,
  type RejectionReason,
  RpcUnreachableError,
  SubmissionTooLargeError,
  UnknownRootError,
  WrongChainError,
  WrongJobError,
  WrongModeError,
  ShareDigestMismatchError,
} from "./errors.js";
export { type EncryptedShare, reportMessage, type SharedReport, shareDigest } from "./shared-report.js";
export { bigintToBytes32, bytes32ToBigint, jobScope, payloadDigest, SNARK_SCALAR_FIELD } from "./field.js";
export {
  deleteBlock,
  dialPeer,
  getBlock,
  type IpfsNode,
  isWebSocketsAddress,
  MOSAIC_USER_AGENT,
  nodeAddresses,
  putBlock,
  waitForTopicPeers,
} from "./ipfs.js";
export { type BrowserIpfsNodeInit, createBrowserIpfsNode } from "./ipfs-browser.js";
export type {
  Expr,
  Fraction,
  JobMode,
  JobRef,
  JobSpec,
  MapProgram,
  OutputEntry,
  OutputSpec,
  PipelineProgram,
  PipelineStep,
  PrivacySpec,
  ReadSpec,
  ReducerSpec,
  SandboxProgram,
} from "./job.js";
export { isSharedJobId, jobLabel, jobTopic, parseJobLabel, SHARED_JOB_ID_BASE, specTopic } from "./job.js";
export {
  type Deployed,
  NETWORK_FILE_MAX_BYTES,
  type NetworkContracts,
  type NetworkFile,
  NetworkFileError,
  type NetworkFileInit,
  networkFileFor,
  parseNetworkFile,
} from "./network.js";
export { createLogger, type Logger, type LogLevel } from "./log.js";
export {
  announceReducer,
  localRpc,
  DirectoryMismatchError,
  dialableAddr,
  isPeerId,
  type ReadReducersOptions,
  type ReducerAnnouncement,
  ReducerNotStakedError,
  type ReducerRecord,
  readReducers,
  type SkippedReducer,
} from "./reducers.js";
export { type ProposedResult, proposeResult, type RevealedResult, resultCommitment, revealedResults } from "./results.js";
export {
  checkReceipt,
  decodeHoldingsReply,
  decodeHoldingsRequest,
  decodeReceipt,
  decodeSubmitReply,
  decodeSubmitRequest,
  type ExpectedReceipt,
  encodeHoldingsReply,
  encodeHoldingsRequest,
  encodeReceipt,
  encodeSubmitReply,
  encodeSubmitRequest,
  ForgedReceiptError,
  HOLDINGS_PAGE,
  HOLDINGS_PROTOCOL,
  type HoldingsReply,
  type HoldingsRequest,
  MAX_HOLDINGS_BYTES,
  MAX_RECEIPT_BYTES,
  MalformedMessageError,
  MalformedReceiptError,
  type MessageSigner,
  type ReceiptFields,
  ReceiptRefusedError,
  readHoldings,
  receiptMessage,
  SUBMIT_PROTOCOL,
  type SubmissionReceipt,
  type SubmitOptions,
  type SubmitReply,
  type SubmitRequest,
  signReceipt,
  submitForReceipt,
  verifyReceipt,
  WrongReceiptError,
} from "./receipts.js";
export {
  FrameTooLargeError,
  type HandleOptions,
  handle,
  type RequestContext,
  type RequestHandler,
  type RequestOptions,
  requestResponse,
  StreamFailedError,
  StreamTimeoutError,
} from "./streams.js";
export { sleep, WaitTimeoutError, type WaitUntilOptions, waitUntil } from "./wait.js";
