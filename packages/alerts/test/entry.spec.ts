import * as dagCbor from "@ipld/dag-cbor";
import { encodeBlock, equalBytes } from "@mosaic/protocol";
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";
import * as feedErrors from "../src/feed-errors.js";
import {
  BlockMismatchError,
  checkSignatures,
  decodeEntry,
  EntryTooLargeError,
  editorsDigest,
  encodeEntry,
  entryCidOf,
  entryDigest,
  ForeignSignatureError,
  InvalidCapError,
  MalformedEntryError,
  MalformedSignatureError,
  recoverSigner,
  SignersNotSortedError,
  signDigest,
  sortSignatures,
  TooFewSignaturesError,
} from "../src/index.js";
import { editorSet, editorWallets, REF, sampleCap, signAll } from "./fixtures/feed.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function expectThrows(fn: () => unknown, type: new (...args: never[]) => Error, pattern?: RegExp): Error {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  expect((caught as Error).name).to.equal(type.name);
  if (pattern) expect((caught as Error).message).to.match(pattern);
  return caught as Error;
}

/** The same signature with s → n − s and v flipped: valid ECDSA for the same signer, refused as malleated. */
function highSTwin(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i] as number);
  let t = N - s;
  const out = sig.slice();
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  out[64] = sig[64] === 27 ? 28 : 27;
  return out;
}

const entry1 = () => ({ v: 1 as const, feed: REF, seq: 1, epoch: 0, prev: null, cap: sampleCap() });

describe("alerts entry", () => {
  it("every feed error class carries its own stable name", () => {
    const classes = Object.entries(feedErrors);
    expect(classes).to.have.length(16);
    for (const [exported, Class] of classes) {
      const err = new (Class as new (m: string, a?: number, b?: string) => Error)("m", 1, "0x");
      expect([Class.name, err.name, err instanceof Error]).to.deep.equal([exported, exported, true]);
    }
  });

  describe("encodeEntry / decodeEntry", () => {
    it("round-trips, and the CID is encodeBlock's (CIDv1 dag-cbor sha2-256)", async () => {
      const block = encodeEntry(entry1());
      expect(block.cid.equals((await encodeBlock(dagCbor.decode(block.bytes))).cid)).to.equal(true);
      expect(decodeEntry(block.bytes, block.cid)).to.deep.equal(entry1());
      const second = encodeEntry({ ...entry1(), seq: 2, prev: block.cid });
      expect(decodeEntry(second.bytes).prev?.equals(block.cid)).to.equal(true);
    });

    it("property: any entry round-trips; any one-byte change is refused by name or decodes to exactly those bytes", () => {
      const named = ["MalformedEntryError", "InvalidCapError", "UnclosedPolygonError", "EntryTooLargeError"];
      fc.assert(
        fc.property(
          fc.record({
            chainId: fc.integer({ min: 1, max: 2 ** 40 }),
            feedId: fc.integer({ min: 1, max: 2 ** 40 }),
            seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
            epoch: fc.nat(),
            identifier: fc.stringMatching(/^[A-Za-z0-9._-]{1,30}$/),
            headline: fc.string({ maxLength: 60 }),
          }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (f, at, xor) => {
            const base = encodeEntry(entry1());
            const cap = sampleCap({ identifier: f.identifier });
            (cap.info[0] as { headline?: string }).headline = f.headline;
            const e = {
              v: 1 as const,
              feed: { ...REF, chainId: f.chainId, feedId: f.feedId },
              seq: f.seq,
              epoch: f.epoch,
              prev: f.seq === 1 ? null : base.cid,
              cap,
            };
            const block = encodeEntry(e);
            expect(decodeEntry(block.bytes, block.cid)).to.deep.equal(e);
            const mutated = block.bytes.slice();
            const i = at % mutated.length;
            mutated[i] = (mutated[i] as number) ^ xor;
            try {
              const decoded = decodeEntry(mutated);
              expect(equalBytes(encodeEntry(decoded).bytes, mutated)).to.equal(true);
            } catch (err) {
              expect(named, (err as Error).message).to.include((err as Error).name);
            }
          },
        ),
        { numRuns: 300, seed: 21 },
      );
    });

    it("normalises the alert on encoding (validateCap), so one alert has one entry", () => {
      const { code: _code, ...sparse } = sampleCap();
      const a = encodeEntry({ ...entry1(), cap: sparse as never });
      expect(a.cid.equals(encodeEntry(entry1()).cid)).to.equal(true);
    });

    it("refuses bad fields on encoding with TypeError naming them, and an invalid alert with InvalidCapError", () => {
      expectThrows(() => encodeEntry({ ...entry1(), seq: 0 }), TypeError, /seq/);
      expectThrows(() => encodeEntry({ ...entry1(), seq: 2 }), TypeError, /prev/);
      expectThrows(
        () => encodeEntry({ ...entry1(), feed: { ...REF, contract: REF.contract.toUpperCase().replace("0X", "0x") } }),
        TypeError,
        /contract/,
      );
      expectThrows(() => encodeEntry({ ...entry1(), feed: { ...REF, feedId: 0 } }), TypeError, /feedId/);
      expectThrows(() => encodeEntry({ ...entry1(), epoch: -1 }), TypeError, /epoch/);
      expectThrows(() => encodeEntry({ ...entry1(), cap: sampleCap({ sent: "2026-12-05T10:00:00Z" }) }), InvalidCapError);
    });

    it("refuses an entry over MAX_ENTRY_BYTES (EntryTooLargeError), on encoding and decoding", () => {
      const big = sampleCap();
      (big.info[0] as { description?: string }).description = "x".repeat(310 * 1024);
      expectThrows(() => encodeEntry({ ...entry1(), cap: big }), EntryTooLargeError);
      expectThrows(() => decodeEntry(new Uint8Array(301 * 1024)), EntryTooLargeError);
    });

    it("refuses every malformed block with MalformedEntryError", () => {
      const good = dagCbor.decode(encodeEntry(entry1()).bytes) as Record<string, unknown>;
      const bad = (patch: Record<string, unknown>) => dagCbor.encode({ ...good, ...patch });
      expectThrows(() => decodeEntry(new Uint8Array([0xff, 0x00])), MalformedEntryError, /dag-cbor/);
      expectThrows(() => decodeEntry(bad({ extra: 1 })), MalformedEntryError, /unknown key "extra"/);
      expectThrows(() => decodeEntry(bad({ v: 2 })), MalformedEntryError, /v:/);
      expectThrows(() => decodeEntry(bad({ seq: 2 })), MalformedEntryError, /prev/);
      expectThrows(() => decodeEntry(bad({ seq: 1.5 })), MalformedEntryError, /seq/);
      expectThrows(() => decodeEntry(bad({ prev: new Uint8Array(36) })), MalformedEntryError, /prev/);
      expectThrows(() => decodeEntry(bad({ feed: { ...REF, chainId: "31337" } })), MalformedEntryError, /chainId/);
      const { cap: _cap, ...noCap } = good;
      expectThrows(() => decodeEntry(dagCbor.encode(noCap)), MalformedEntryError, /no cap/);
      // An alert that validateCap would rewrite (a repeatable element left out) has a second encoding: refused.
      const { code: _code, ...sparse } = good.cap as Record<string, unknown>;
      expectThrows(() => decodeEntry(bad({ cap: sparse })), MalformedEntryError, /normal form/);
      expectThrows(() => decodeEntry(bad({ cap: { ...(good.cap as object), msgType: "Panic" } })), InvalidCapError);
      // Not canonical: the 1 of "v" as a two-byte integer.
      const bytes = encodeEntry(entry1()).bytes;
      const at = bytes.findIndex((b, i) => b === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x01);
      expect(at).to.be.above(0);
      const loose = new Uint8Array([...bytes.slice(0, at + 2), 0x18, 0x01, ...bytes.slice(at + 3)]);
      expectThrows(() => decodeEntry(loose), MalformedEntryError);
    });

    it("refuses bytes that are not the block the CID names (BlockMismatchError)", () => {
      const a = encodeEntry(entry1());
      const b = encodeEntry({ ...entry1(), cap: sampleCap({ identifier: "BER-2026-0002" }) });
      expectThrows(() => decodeEntry(b.bytes, a.cid), BlockMismatchError, /hashes to/);
    });
  });

  describe("digests", () => {
    it("entryDigest is abi.encode as IAlertFeeds documents it", () => {
      const cid = encodeEntry(entry1()).cid;
      const expected = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "uint256", "address", "uint256", "uint64", "uint64", "bytes32"],
          [keccak256(toUtf8Bytes("mosaic.alerts.entry.v1")), 31337, REF.contract, 1, 3, 7, keccak256(cid.bytes)],
        ),
      );
      expect(Buffer.from(entryDigest(REF, 3, 7, cid)).toString("hex")).to.equal(expected.slice(2));
    });

    it("every field changes the entry digest, and no editors digest equals an entry digest", () => {
      const cid = encodeEntry(entry1()).cid;
      const other = encodeEntry({ ...entry1(), cap: sampleCap({ identifier: "X" }) }).cid;
      const digests = [
        entryDigest(REF, 0, 1, cid),
        entryDigest({ ...REF, chainId: 1 }, 0, 1, cid),
        entryDigest({ ...REF, contract: `0x${"1".repeat(40)}` }, 0, 1, cid),
        entryDigest({ ...REF, feedId: 2 }, 0, 1, cid),
        entryDigest(REF, 1, 1, cid),
        entryDigest(REF, 0, 2, cid),
        entryDigest(REF, 0, 1, other),
        editorsDigest(
          REF,
          0,
          editorWallets(3).map((w) => w.address),
          1,
        ),
        editorsDigest(
          REF,
          0,
          editorWallets(3).map((w) => w.address),
          2,
        ),
        editorsDigest(
          REF,
          1,
          editorWallets(3).map((w) => w.address),
          1,
        ),
      ].map((d) => Buffer.from(d).toString("hex"));
      expect(new Set(digests).size).to.equal(digests.length);
    });

    it("editorsDigest hashes abi.encode(address[]) and refuses an editor set AlertFeeds would refuse", () => {
      const editors = editorWallets(2).map((w) => w.address);
      const coder = AbiCoder.defaultAbiCoder();
      const expected = keccak256(
        coder.encode(
          ["bytes32", "uint256", "address", "uint256", "uint64", "bytes32", "uint8"],
          [
            keccak256(toUtf8Bytes("mosaic.alerts.editors.v1")),
            31337,
            REF.contract,
            1,
            4,
            keccak256(coder.encode(["address[]"], [editors])),
            2,
          ],
        ),
      );
      expect(Buffer.from(editorsDigest(REF, 4, editors, 2)).toString("hex")).to.equal(expected.slice(2));
      expectThrows(() => editorsDigest(REF, 0, [...editors].reverse(), 1), RangeError, /ascending/);
      expectThrows(() => editorsDigest(REF, 0, [editors[0] as string, editors[0] as string], 1), RangeError);
      expectThrows(() => editorsDigest(REF, 0, editors, 3), RangeError, /threshold/);
      expectThrows(() => editorsDigest(REF, 0, [], 1), RangeError);
      expectThrows(() => editorsDigest(REF, 0, ["0x0000000000000000000000000000000000000000"], 1), RangeError);
    });
  });

  describe("signatures", () => {
    const wallets = editorWallets(3);
    const set = editorSet(wallets, 2);
    const cid = encodeEntry(entry1()).cid;
    const digest = entryDigest(REF, 0, 1, cid);

    it("accepts m of n sorted signatures and returns the signers", async () => {
      const sigs = await signAll(digest, [wallets[2] as never, wallets[0] as never]);
      expect(checkSignatures(digest, sigs, set)).to.deep.equal([wallets[0]?.address, wallets[2]?.address]);
      expect(checkSignatures(digest, await signAll(digest, wallets), set)).to.have.length(3);
    });

    it("refuses too few (TooFewSignaturesError) and a foreign key (ForeignSignatureError)", async () => {
      const [w0, w1] = wallets as [never, never];
      const e = expectThrows(() => checkSignatures(digest, [new Uint8Array(65)], set), TooFewSignaturesError) as TooFewSignaturesError;
      expect([e.given, e.needed]).to.deep.equal([1, 2]);
      const stranger = editorWallets(1, 7)[0] as never;
      const mixed = await signAll(digest, [w0, w1, stranger]);
      const f = expectThrows(() => checkSignatures(digest, mixed, set), ForeignSignatureError) as ForeignSignatureError;
      expect(f.signer).to.equal((stranger as { address: string }).address);
    });

    it("refuses a duplicated signer and unsorted signatures (SignersNotSortedError)", async () => {
      const [a, b] = await signAll(digest, wallets.slice(0, 2));
      expectThrows(() => checkSignatures(digest, [a as Uint8Array, a as Uint8Array], set), SignersNotSortedError);
      expectThrows(() => checkSignatures(digest, [b as Uint8Array, a as Uint8Array], set), SignersNotSortedError);
      // The same signer twice through two valid signatures (the high-s twin is refused before as malformed).
      const again = await signDigest(digest, wallets[0] as never);
      expectThrows(() => checkSignatures(digest, [a as Uint8Array, again], set), SignersNotSortedError);
    });

    it("refuses malformed signatures: the high-s twin, v not 27/28, another length, s zero", async () => {
      const [a, b] = (await signAll(digest, wallets.slice(0, 2))) as [Uint8Array, Uint8Array];
      const twin = highSTwin(a);
      expect(() => recoverSigner(digest, twin)).to.throw(MalformedSignatureError, /high/);
      const v29 = a.slice();
      v29[64] = 29;
      const zeroS = a.slice();
      zeroS.fill(0, 32, 64);
      for (const bad of [twin, v29, zeroS, a.slice(0, 64), new Uint8Array(66)]) {
        const e = expectThrows(() => checkSignatures(digest, [bad, b], set), MalformedSignatureError) as MalformedSignatureError;
        expect(e.index).to.equal(0);
      }
    });

    it("refuses signatures made for another feed, seq, epoch, chain, contract or an editors digest (ForeignSignatureError)", async () => {
      const two = wallets.slice(0, 2);
      const elsewhere = [
        entryDigest({ ...REF, feedId: 2 }, 0, 1, cid),
        entryDigest(REF, 0, 2, cid),
        entryDigest(REF, 1, 1, cid),
        entryDigest({ ...REF, chainId: 1 }, 0, 1, cid),
        entryDigest({ ...REF, contract: `0x${"2".repeat(40)}` }, 0, 1, cid),
        editorsDigest(REF, 0, set.editors, 2),
      ];
      for (const d of elsewhere) {
        const sigs = await signAll(d, two);
        expect(equalBytes(d, digest)).to.equal(false);
        expectThrows(() => checkSignatures(digest, sigs, set), ForeignSignatureError);
      }
    });

    it("sortSignatures orders by signer and drops a signer's duplicates", async () => {
      const sigs = await Promise.all([wallets[2], wallets[0], wallets[2], wallets[1]].map((w) => signDigest(digest, w as never)));
      const sorted = sortSignatures(digest, sigs);
      expect(sorted.map((s) => recoverSigner(digest, s))).to.deep.equal(wallets.map((w) => w.address));
      expect(() => sortSignatures(digest, [new Uint8Array(65)])).to.throw(MalformedSignatureError);
    });

    it("entryCidOf is the CID of the bytes", () => {
      const block = encodeEntry(entry1());
      expect(entryCidOf(block.bytes).equals(block.cid)).to.equal(true);
    });
  });
});
