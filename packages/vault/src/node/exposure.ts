// Exposure notification in Node: the installed Semaphore artifacts for the upload's proof, and publishing the upload
// from a throwaway TCP libp2p node.
import { artifactPaths, type PublishResult } from "@mosaic/avatar";
import type { KeyUpload } from "@mosaic/exposure";
import { createIpfsNode, type Block } from "@mosaic/protocol";
import { type PrepareUploadInit, prepareUpload as prepareUploadWith, type UploadKeysInit, uploadKeysWith } from "../exposure/upload.js";
import type { Vault } from "../vault.js";

/** prepareUpload with the installed Semaphore artifacts by default. */
export function prepareUpload(vault: Vault, init: PrepareUploadInit): Promise<KeyUpload> {
  return prepareUploadWith(vault, init.prove === undefined ? { ...init, artifacts: init.artifacts ?? artifactPaths() } : init);
}

/**
 * Publishes a prepared upload to its feed's upload topic from a throwaway TCP libp2p node with a new peer id (see
 * uploadKeysWith).
 */
export function uploadKeys(upload: KeyUpload, init: UploadKeysInit): Promise<{ block: Block; published: PublishResult }> {
  return uploadKeysWith((node) => createIpfsNode(node), upload, init);
}
