// Bytes as text and bytes compared, the one way every package does it: hex (named for whether it carries 0x) and base64.
import { base64pad } from "multiformats/bases/base64";

/**
 * Whether `a` and `b` hold the same bytes. Its time depends on the lengths only, not on where they differ, so it is
 * safe for comparing secrets (proofs, keys, checksums).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const HEX = /^[0-9a-fA-F]*$/;

/** Lower-case hex without a prefix: `"00ff"`. */
export function toBareHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX_BYTE[b];
  return out;
}

/** Lower-case hex after `0x`, the form Ethereum tools use: `"0x00ff"`. */
export function to0xHex(bytes: Uint8Array): string {
  return `0x${toBareHex(bytes)}`;
}

/** What fromHex checks, and how its error names the value. */
export interface FromHexOptions {
  /** The number of bytes the text must hold. @default any */
  length?: number;
  /** The name the error gives the value. @default "hex" */
  field?: string;
}

/**
 * The bytes of hex text, with or without `0x`, either case. RangeError naming the field and the value for text that
 * is not hex, has an odd number of digits, or (with `length`) holds another number of bytes.
 */
export function fromHex(text: string, options: FromHexOptions = {}): Uint8Array {
  const field = options.field ?? "hex";
  const digits = typeof text === "string" && text.startsWith("0x") ? text.slice(2) : text;
  if (typeof digits !== "string" || !HEX.test(digits) || digits.length % 2 !== 0)
    throw new RangeError(`${field}: expected hex, got ${describe(text)}`);
  if (options.length !== undefined && digits.length !== options.length * 2)
    throw new RangeError(`${field}: expected ${options.length} bytes of hex, got ${digits.length / 2}: ${describe(text)}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Base64 as RFC 4648 writes it: the standard alphabet, padded with `=`. */
export function toBase64(bytes: Uint8Array): string {
  return base64pad.baseEncode(bytes);
}

/**
 * The bytes of base64 text (RFC 4648's alphabet; the `=` padding may be left off). RangeError naming the field and
 * the value for any other text, or one whose last character carries bits no encoder writes.
 */
export function fromBase64(text: string, options: { field?: string } = {}): Uint8Array {
  try {
    if (typeof text !== "string") throw new TypeError("not a string");
    return base64pad.baseDecode(text);
  } catch {
    throw new RangeError(`${options.field ?? "base64"}: expected base64, got ${describe(text)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value !== "string") return typeof value;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
