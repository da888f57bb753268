// Submission CIDs and their sha-256 digests: the one CID form a reduce-tree leaf names (CIDv1, dag-cbor, sha2-256,
// base32), written and read by hand because parsing 100,000 CIDs with multiformats costs more than hashing their leaves.

const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const BASE32_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (const [i, c] of [...BASE32_ALPHABET].entries()) table[c.charCodeAt(0)] = i;
  return table;
})();
/** The bytes of a CIDv1 dag-cbor sha2-256 before the digest: version 1, codec 0x71, multihash 0x12, length 32. */
const CID_PREFIX = [0x01, 0x71, 0x12, 0x20];
/** "b" and 36 bytes in unpadded base32: 58 digits, the last carrying 2 zero bits. */
const CID_LENGTH = 59;

/** The submission CID (CIDv1, dag-cbor, sha2-256, base32) of a block with this sha-256 digest: submissionDigest's inverse. */
export function submissionCid(digest: Uint8Array): string {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new TypeError("digest: expected 32 bytes");
  let out = "b";
  let acc = 0;
  let bits = 0;
  for (const byte of [...CID_PREFIX, ...digest]) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * Writes the sha-256 digest of a submission CID (CIDv1, dag-cbor, sha2-256, lower-case base32 as Helia prints it)
 * into `out` at `at`, and returns `out`. Throws TypeError for any other string, including non-canonical base32.
 */
export function submissionDigest(cid: string, out: Uint8Array = new Uint8Array(32), at = 0): Uint8Array {
  const fail = (why: string): never => {
    throw new TypeError(`submission CID ${JSON.stringify(cid)}: ${why}; expected a CIDv1 dag-cbor sha2-256 in base32 ("bafyrei…")`);
  };
  if (typeof cid !== "string" || cid.length !== CID_LENGTH || cid[0] !== "b") fail("not a base32 CIDv1 of a sha-256 block");
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 1; i < CID_LENGTH; i++) {
    const code = cid.charCodeAt(i);
    const v = code < 128 ? (BASE32_VALUE[code] as number) : -1;
    if (v < 0) fail(`character ${i} is not base32`);
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >>> bits) & 0xff;
      if (n < 4) {
        if (byte !== CID_PREFIX[n]) fail("not a dag-cbor sha2-256 CIDv1");
      } else out[at + n - 4] = byte;
      n++;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) fail("non-zero padding bits");
  return out;
}
