// HPKE base mode against RFC 9180's published vector for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
// ChaCha20Poly1305, and seal/open round trips and failures as properties.
import { fromHex, toBareHex } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { ShareDecryptError } from "../src/shared/errors.js";
import { deriveKeyPair, generateKeyPair, open, publicKeyOf, seal, setupBaseRecipient, setupBaseSender } from "../src/shared/hpke.js";
import vectors from "./vectors/hpke-rfc9180.json" with { type: "json" };

const hex = (s: string): Uint8Array => fromHex(s);

/** The sequence number of an RFC vector encryption: its aad is "Count-<n>". */
function seqOf(aadHex: string): number {
  return Number(new TextDecoder().decode(hex(aadHex)).slice("Count-".length));
}

describe("HPKE (RFC 9180 base mode, X25519 / HKDF-SHA256 / ChaCha20Poly1305)", () => {
  for (const v of vectors) {
    it(`reproduces the RFC vector (mode ${v.mode}, kem ${v.kem_id}, kdf ${v.kdf_id}, aead ${v.aead_id})`, () => {
      expect([v.mode, v.kem_id, v.kdf_id, v.aead_id]).to.deep.equal([0, 0x20, 1, 3]);
      const recipient = deriveKeyPair(hex(v.ikmR));
      const ephemeral = deriveKeyPair(hex(v.ikmE));
      expect(toBareHex(recipient.secretKey)).to.equal(v.skRm);
      expect(toBareHex(recipient.publicKey)).to.equal(v.pkRm);
      expect(toBareHex(ephemeral.secretKey)).to.equal(v.skEm);
      expect(toBareHex(publicKeyOf(hex(v.skEm)))).to.equal(v.pkEm);

      const sender = setupBaseSender(hex(v.pkRm), hex(v.info), hex(v.skEm));
      const receiver = setupBaseRecipient(hex(v.skRm), hex(v.enc), hex(v.info));
      for (const ctx of [sender, receiver]) {
        expect(toBareHex(ctx.enc)).to.equal(v.enc);
        expect(toBareHex(ctx.sharedSecret)).to.equal(v.shared_secret);
        expect(toBareHex(ctx.keyScheduleContext)).to.equal(v.key_schedule_context);
        expect(toBareHex(ctx.secret)).to.equal(v.secret);
        expect(toBareHex(ctx.key)).to.equal(v.key);
        expect(toBareHex(ctx.baseNonce)).to.equal(v.base_nonce);
        expect(toBareHex(ctx.exporterSecret)).to.equal(v.exporter_secret);
      }
      expect(v.encryptions.length).to.be.at.least(7);
      for (const e of v.encryptions) {
        const seq = seqOf(e.aad);
        expect(toBareHex(sender.seal(hex(e.aad), hex(e.pt), seq)), `seq ${seq}`).to.equal(e.ct);
        expect(toBareHex(receiver.open(hex(e.aad), hex(e.ct), seq)), `seq ${seq}`).to.equal(e.pt);
      }
      for (const x of v.exports) {
        expect(toBareHex(sender.export(hex(x.exporter_context), x.L))).to.equal(x.exported_value);
      }
      // Single-shot seal is sequence 0.
      const first = v.encryptions[0] as (typeof v.encryptions)[number];
      const sealed = seal(hex(v.pkRm), hex(v.info), hex(first.aad), hex(first.pt), hex(v.skEm));
      expect(toBareHex(sealed.enc)).to.equal(v.enc);
      expect(toBareHex(sealed.ct)).to.equal(first.ct);
      expect(toBareHex(open(hex(v.skRm), sealed.enc, hex(v.info), hex(first.aad), sealed.ct))).to.equal(first.pt);
    });
  }

  it("round-trips any plaintext, info and aad (property)", () => {
    const keys = generateKeyPair();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        (pt, info, aad) => {
          const { enc, ct } = seal(keys.publicKey, info, aad, pt);
          expect(enc.length).to.equal(32);
          expect(ct.length).to.equal(pt.length + 16);
          expect(open(keys.secretKey, enc, info, aad, ct)).to.deep.equal(pt);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("fails with ShareDecryptError for a wrong key, info or aad, or any altered byte (property)", () => {
    const keys = generateKeyPair();
    const other = generateKeyPair();
    const info = new TextEncoder().encode("info");
    const aad = new TextEncoder().encode("aad");
    const pt = new TextEncoder().encode("a secret share");
    const { enc, ct } = seal(keys.publicKey, info, aad, pt);
    const encCopy = enc.slice();
    const ctCopy = ct.slice();
    expect(() => open(other.secretKey, enc, info, aad, ct)).to.throw(ShareDecryptError);
    expect(() => open(keys.secretKey, enc, new Uint8Array(0), aad, ct)).to.throw(ShareDecryptError);
    expect(() => open(keys.secretKey, enc, info, new Uint8Array(1), ct)).to.throw(ShareDecryptError);
    expect(() => open(keys.secretKey, enc.subarray(1), info, aad, ct)).to.throw(ShareDecryptError);
    expect(() => open(keys.secretKey, enc, info, aad, ct.subarray(0, 15))).to.throw(ShareDecryptError);
    // A small-order point as enc (all zeros) gives the all-zero X25519 output.
    expect(() => open(keys.secretKey, new Uint8Array(32), info, aad, ct)).to.throw(ShareDecryptError);
    fc.assert(
      fc.property(fc.nat({ max: enc.length + ct.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const e = enc.slice();
        const c = ct.slice();
        if (at < e.length) e[at] = (e[at] as number) ^ flip;
        else c[at - e.length] = (c[at - e.length] as number) ^ flip;
        expect(() => open(keys.secretKey, e, info, aad, c)).to.throw(ShareDecryptError);
      }),
      { numRuns: 200 },
    );
    // The inputs are left as they were.
    expect(enc).to.deep.equal(encCopy);
    expect(ct).to.deep.equal(ctCopy);
  });

  it("refuses bad arguments by field name", () => {
    const keys = generateKeyPair();
    const b = new Uint8Array(0);
    expect(() => seal(keys.publicKey.subarray(1), b, b, b)).to.throw(RangeError, "recipientPublic: expected 32 bytes, got 31");
    expect(() => seal(new Uint8Array(32), b, b, b)).to.throw(RangeError, "recipientPublic: not a usable X25519 public key");
    expect(() => publicKeyOf(new Uint8Array(3))).to.throw(RangeError, "secret: expected 32 bytes, got 3");
  });
});
