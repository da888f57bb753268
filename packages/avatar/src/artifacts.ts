// The one Semaphore artifact set Mosaic proves with: depth 20, from @zk-kit/semaphore-artifacts, pinned by hash.
import { namedError, toBareHex } from "@mosaic/protocol";

/** Every proof uses this depth, whatever the group size, so one artifact set serves all. */
export const PROOF_DEPTH = 20;

/** SHA-256 of the depth-20 artifacts of @zk-kit/semaphore-artifacts@4.13.0. */
export const ARTIFACT_SHA256 = {
  wasm: "6f71e55586929e520e76027ebe067daac8b41e2f4b8057313a5fd0304e1e44ee",
  zkey: "33f9a067a80c7daf90e085449073613a9559a1904dd40aeb6d603afb7988c2cc",
} as const;

/** Where the prover reads the artifacts: file paths in Node, URLs in the browser. */
export interface ArtifactPaths {
  wasm: string;
  zkey: string;
}

/** An artifact's bytes are not the pinned ones; the message names the file and both hashes. */
export class ArtifactHashMismatchError extends namedError("ArtifactHashMismatchError") {}

/** There is no default place to read the artifacts from (in the browser): pass their URLs to the prover. */
export class ArtifactsUnavailableError extends namedError("ArtifactsUnavailableError") {}

/**
 * Throws ArtifactHashMismatchError unless `sha256Hex` is the pinned hash of the `kind` artifact read from `source`;
 * `remedy` ends the message.
 */
export function checkArtifactHash(kind: keyof ArtifactPaths, source: string, sha256Hex: string, remedy: string): void {
  if (sha256Hex !== ARTIFACT_SHA256[kind]) {
    throw new ArtifactHashMismatchError(`${source}: sha256 ${sha256Hex}, expected ${ARTIFACT_SHA256[kind]}; ${remedy}`);
  }
}

/**
 * Checks artifact bytes fetched by the caller (a browser app fetching the wasm and zkey) against the pinned hashes,
 * with WebCrypto's SHA-256; throws ArtifactHashMismatchError naming the one that differs.
 */
export async function verifyArtifactBytes(bytes: { wasm: Uint8Array; zkey: Uint8Array }): Promise<void> {
  for (const kind of ["wasm", "zkey"] as const) {
    const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes[kind] as Uint8Array<ArrayBuffer>));
    checkArtifactHash(kind, `the ${kind} artifact`, toBareHex(digest), "fetch it again from where the app is served");
  }
}
