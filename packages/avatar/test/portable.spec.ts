// The portable entry's stand-ins for what Node reads from disk: artifact bytes checked with WebCrypto, and the
// browser variants that refuse a file or directory they cannot have, by name.
import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { artifactPaths as browserArtifactPaths } from "../src/artifacts.browser.js";
import { openCacheStore as openBrowserCacheStore } from "../src/group-sync/cache-store.browser.js";
import { ArtifactHashMismatchError, ArtifactsUnavailableError, verifyArtifactBytes } from "../src/index.js";
import { artifactPaths } from "../src/node.js";
import { expectRejects } from "../../../test/helpers.js";

describe("avatar's portable entry", () => {
  it("checks fetched artifact bytes against the pinned hashes, naming the one that differs", async () => {
    const paths = artifactPaths();
    const bytes = { wasm: new Uint8Array(await readFile(paths.wasm)), zkey: new Uint8Array(await readFile(paths.zkey)) };
    await verifyArtifactBytes(bytes);
    const zkey = bytes.zkey.slice();
    zkey[100] = (zkey[100] as number) ^ 1;
    await expectRejects(
      verifyArtifactBytes({ wasm: bytes.wasm, zkey }),
      ArtifactHashMismatchError,
      /the zkey artifact: sha256 [0-9a-f]{64}, expected 33f9a067/,
    );
  });

  it("in the browser, asks for the artifacts' URLs and refuses a cache directory", () => {
    expect(() => browserArtifactPaths()).to.throw(ArtifactsUnavailableError, /pass proveSubmission the wasm and zkey URLs/);
    expect(() => openBrowserCacheStore("/tmp/groups", "g.bin")).to.throw(TypeError, /init.cacheDir: .* leave cacheDir out/);
  });
});
