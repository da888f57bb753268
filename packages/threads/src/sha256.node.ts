// SHA-256 in Node through node:crypto: every record and event block is named by it, on the append path.
import { createHash } from "node:crypto";

/** The SHA-256 digest of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}
