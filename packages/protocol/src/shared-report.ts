// A shared-mode report's wire shape and the message its Semaphore proof signs: one rule that the vault (proving), the
// envelope codec and the aggregators (checking) all read, so the three cannot drift.
import * as dagCbor from "@ipld/dag-cbor";
import { sha256 } from "@noble/hashes/sha2.js";
import { payloadDigest } from "./field.js";

/** One input share sealed to its aggregator with HPKE. */
export interface EncryptedShare {
  /** The HPKE encapsulated key (32 bytes). */
  enc: Uint8Array;
  /** The ciphertext of the encoded input share, tag included. */
  ct: Uint8Array;
}

/** A vault's Prio3 report for a shared job: what a version 2 envelope carries instead of a payload. Share 0 is the leader's. */
export interface SharedReport {
  /** The VDAF nonce, 16 random bytes. */
  nonce: Uint8Array;
  /** The VDAF public share (empty for the Prio3 types without joint randomness). */
  publicShare: Uint8Array;
  shares: [EncryptedShare, EncryptedShare];
}

/** sha-256(enc ‖ ct): what a report's message commits to for one encrypted share. */
export function shareDigest(share: EncryptedShare): Uint8Array {
  const bytes = new Uint8Array(share.enc.length + share.ct.length);
  bytes.set(share.enc, 0);
  bytes.set(share.ct, share.enc.length);
  return sha256(bytes);
}

/**
 * The Semaphore message of a shared report: sha-256 of dag-cbor({ nonce, public, digests: [d0, d1] }) read big-endian.
 * It binds the public share and both shares (through their digests) to the one nullifier that proves it.
 */
export function reportMessage(report: SharedReport): bigint {
  return payloadDigest(dagCbor.encode({ nonce: report.nonce, public: report.publicShare, digests: report.shares.map(shareDigest) }));
}
