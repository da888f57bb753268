// @mosaic/avatar in Node: everything the portable entry has, plus what needs Node — the installed proof artifacts,
// the worker-thread batch verifier and publishing from a throwaway libp2p node (picked by the package's export
// conditions, so `import { ... } from "@mosaic/avatar"` gets this file in Node and index.ts in a browser bundle).
export * from "./index.js";
export { artifactPaths, verifyArtifacts } from "./artifacts.node.js";
export { createBatchVerifier } from "./batch-verify.node.js";
export {
  PeersUnreachableError,
  type PublishResult,
  type PublishSubmissionInit,
  publishSubmission,
  TooFewRecipientsError,
} from "./publish.node.js";
