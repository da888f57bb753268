// The artifacts in the browser: there are no installed files to find, so the app passes their URLs.
import { type ArtifactPaths, ArtifactsUnavailableError } from "./artifacts.js";

/** Refuses: a browser has no installed package to read the artifacts from. */
export function artifactPaths(): ArtifactPaths {
  throw new ArtifactsUnavailableError(
    "the browser has no installed Semaphore artifacts: pass proveSubmission the wasm and zkey URLs (check fetched bytes with verifyArtifactBytes)",
  );
}
