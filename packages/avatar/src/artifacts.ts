// The one Semaphore artifact set Mosaic proves with: depth 20, from the npm package, pinned by hash.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

/** Every proof uses this depth, whatever the group size, so one artifact set serves all. */
export const PROOF_DEPTH = 20;

/** SHA-256 of the depth-20 artifacts of @zk-kit/semaphore-artifacts@4.13.0. */
export const ARTIFACT_SHA256 = {
  wasm: "6f71e55586929e520e76027ebe067daac8b41e2f4b8057313a5fd0304e1e44ee",
  zkey: "33f9a067a80c7daf90e085449073613a9559a1904dd40aeb6d603afb7988c2cc",
} as const;

export interface ArtifactPaths {
  wasm: string;
  zkey: string;
}

const require = createRequire(import.meta.url);

/** Paths of the depth-20 artifacts installed from npm. */
export function artifactPaths(): ArtifactPaths {
  const dir = path.dirname(require.resolve("@zk-kit/semaphore-artifacts/package.json"));
  return { wasm: path.join(dir, `semaphore-${PROOF_DEPTH}.wasm`), zkey: path.join(dir, `semaphore-${PROOF_DEPTH}.zkey`) };
}

/** Checks the installed artifacts against the pinned hashes; throws naming the file that differs. */
export async function verifyArtifacts(paths: ArtifactPaths = artifactPaths()): Promise<void> {
  for (const kind of ["wasm", "zkey"] as const) {
    const got = createHash("sha256")
      .update(await readFile(paths[kind]))
      .digest("hex");
    if (got !== ARTIFACT_SHA256[kind]) {
      throw new Error(`${paths[kind]}: sha256 ${got}, expected ${ARTIFACT_SHA256[kind]}; reinstall with 'npm install'`);
    }
  }
}
