// The artifacts in Node: their paths inside the installed @zk-kit/semaphore-artifacts, and a check of those files.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { type ArtifactPaths, checkArtifactHash, PROOF_DEPTH } from "./artifacts.js";

const require = createRequire(import.meta.url);

/** Paths of the depth-20 artifacts installed from npm. */
export function artifactPaths(): ArtifactPaths {
  const dir = path.dirname(require.resolve("@zk-kit/semaphore-artifacts/package.json"));
  return { wasm: path.join(dir, `semaphore-${PROOF_DEPTH}.wasm`), zkey: path.join(dir, `semaphore-${PROOF_DEPTH}.zkey`) };
}

/** Checks the installed artifacts against the pinned hashes; throws ArtifactHashMismatchError naming the file that differs. */
export async function verifyArtifacts(paths: ArtifactPaths = artifactPaths()): Promise<void> {
  for (const kind of ["wasm", "zkey"] as const) {
    const got = createHash("sha256")
      .update(await readFile(paths[kind]))
      .digest("hex");
    checkArtifactHash(kind, paths[kind], got, "reinstall with 'npm install'");
  }
}
