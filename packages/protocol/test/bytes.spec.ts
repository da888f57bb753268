// The one byte comparison and the one hex and base64 pair: round trips, Node's encoders as the reference, rejections.
import { expect } from "chai";
import fc from "fast-check";
import { equalBytes, fromBase64, fromHex, to0xHex, toBareHex, toBase64 } from "../src/index.js";

const SEED = 16;

describe("bytes", () => {
  it("equalBytes is true exactly when the bytes are the same", () => {
    fc.assert(
      fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
        expect(equalBytes(a, Uint8Array.from(a))).to.equal(true);
        expect(equalBytes(a, b)).to.equal(Buffer.from(a).equals(Buffer.from(b)));
      }),
      { seed: SEED },
    );
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).to.equal(false);
    expect(equalBytes(new Uint8Array([1, 2, 3]).subarray(1), new Uint8Array([2, 3]))).to.equal(true);
  });

  it("hex: bare and 0x forms as Node writes them, and fromHex reads either back", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const bare = toBareHex(bytes);
        expect(bare).to.equal(Buffer.from(bytes).toString("hex"));
        expect(to0xHex(bytes)).to.equal(`0x${bare}`);
        expect(fromHex(bare)).to.deep.equal(bytes);
        expect(fromHex(to0xHex(bytes), { length: bytes.length })).to.deep.equal(bytes);
        expect(fromHex(bare.toUpperCase())).to.deep.equal(bytes);
      }),
      { seed: SEED },
    );
  });

  it("fromHex refuses what is not hex of the given length, naming the field and the value", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^(0x)?([0-9a-fA-F]{2})*$/.test(s)),
        (text) => {
          expect(() => fromHex(text, { field: "accountId" }))
            .to.throw(RangeError, /^accountId: expected hex, got /)
            .with.property("message")
            .that.includes(JSON.stringify(text.slice(0, 80)).slice(0, -1));
        },
      ),
      { seed: SEED },
    );
    expect(() => fromHex("0x00ff", { length: 3, field: "key" })).to.throw(RangeError, 'key: expected 3 bytes of hex, got 2: "0x00ff"');
    expect(() => fromHex(42 as unknown as string)).to.throw(RangeError, "hex: expected hex, got number");
  });

  it("base64: padded as Node writes it, read back with or without the padding", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const text = toBase64(bytes);
        expect(text).to.equal(Buffer.from(bytes).toString("base64"));
        expect(fromBase64(text)).to.deep.equal(bytes);
        expect(fromBase64(text.replace(/=+$/, ""))).to.deep.equal(bytes);
      }),
      { seed: SEED },
    );
  });

  it("fromBase64 refuses other text, naming the field and the value", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => /[^A-Za-z0-9+/=]/.test(s)),
        (text) => {
          expect(() => fromBase64(text, { field: "salt" })).to.throw(RangeError, /^salt: expected base64, got /);
        },
      ),
      { seed: SEED },
    );
    // A dangling character, and a last character with bits no encoder writes ("AB==" is "AA==" with a stray bit).
    expect(() => fromBase64("AAAAB")).to.throw(RangeError, 'base64: expected base64, got "AAAAB"');
    expect(() => fromBase64("AB==")).to.throw(RangeError);
  });
});
