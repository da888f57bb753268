// The browser's Ed25519 and SHA-256 (@noble) agree with Node's (node:crypto) byte for byte, so records made on one verify on the other.
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import * as browserEd from "../src/ed25519.browser.js";
import * as nodeEd from "../src/ed25519.node.js";
import { sha256 as browserSha } from "../src/sha256.browser.js";
import { sha256 as nodeSha } from "../src/sha256.node.js";

describe("threads: the browser's crypto adapters match Node's", () => {
  it("derives the same key pair and the same signatures, each verifying under the other", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, message) => {
        const n = nodeEd.signingKeyFromSeed(seed);
        const b = browserEd.signingKeyFromSeed(seed);
        expect(b.publicKey).to.deep.equal(n.publicKey);
        const sig = n.sign(message);
        expect(b.sign(message)).to.deep.equal(sig);
        expect(browserEd.verifySignature(n.publicKey, message, sig)).to.equal(true);
        expect(nodeEd.verifySignature(b.publicKey, message, sig)).to.equal(true);
      }),
      { numRuns: 50, seed: 16 },
    );
  });

  it("refuses the same altered signatures, wrong keys and malformed inputs", () => {
    const key = nodeEd.signingKeyFromSeed(randomBytes(32));
    const message = randomBytes(64);
    const sig = key.sign(message);
    const flipped = Uint8Array.from(sig);
    flipped[3] = (flipped[3] as number) ^ 1;
    // S ≥ L: a non-canonical scalar, which RFC 8032 verification must refuse.
    const highS = Uint8Array.from(sig);
    highS[63] = (highS[63] as number) | 0xf0;
    const other = nodeEd.signingKeyFromSeed(randomBytes(32)).publicKey;
    for (const [pub, sg] of [
      [key.publicKey, flipped],
      [key.publicKey, highS],
      [other, sig],
      [key.publicKey.subarray(1), sig],
      [key.publicKey, sig.subarray(1)],
      [new Uint8Array(32).fill(0xff), sig],
    ] as const) {
      expect(browserEd.verifySignature(pub, message, sg)).to.equal(false);
      expect(nodeEd.verifySignature(pub, message, sg)).to.equal(false);
    }
  });

  it("hashes alike", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        expect(Uint8Array.from(browserSha(bytes))).to.deep.equal(Uint8Array.from(nodeSha(bytes)));
      }),
      { numRuns: 100, seed: 16 },
    );
  });
});
