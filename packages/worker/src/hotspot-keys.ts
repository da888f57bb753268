// The files a health authority hands to the nodes that answer its private hotspot checks: one per hotspot set, the
// set's VOPRF key pair and the CID of its signed document. `mosaic exposure hotspots publish` writes them; the
// authority's `exposure serve` and a reducer node configured with `hotspotKeys` read them.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { psiPublicKey } from "@mosaic/exposure";
import { namedError, parseCid, toBareHex } from "@mosaic/protocol";
import type { HotspotSetKeys } from "./psi.js";

/** A hotspot key file cannot be read, is not JSON, or a field is wrong; the message names the file and the field. */
export class HotspotKeyFileError extends namedError("HotspotKeyFileError") {}

/** One hotspot set's keys as its key file holds them. */
export interface HotspotKeyFile extends HotspotSetKeys {
  /** The CID of the set's signed "hotspots" document: what vaults name in their queries. */
  cid: string;
  /** The feed the set was published on (decimal). */
  feedId: string;
}

/** Key files are a few hundred bytes; anything much larger is not one. */
const MAX_KEY_FILE_BYTES = 16 * 1024;
/** The name `hotspots publish` gives a set's key file, and the pattern a directory of them is read by. */
const KEY_FILE_NAME = /^hotspots-.+\.key\.json$/;

/** The file name of a set's keys: `hotspots-<cid>.key.json`. */
export function hotspotKeyFileName(cid: string): string {
  return `hotspots-${cid}.key.json`;
}

/** A key file's text (JSON, hex keys without 0x): what `parseHotspotKeyFile` reads back. */
export function encodeHotspotKeyFile(k: HotspotKeyFile): string {
  const body = { cid: k.cid, feedId: k.feedId, secretKey: toBareHex(k.secretKey), publicKey: toBareHex(k.publicKey) };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function hex32(file: string, field: string, value: unknown): Uint8Array {
  if (typeof value !== "string" || !/^(0x)?[0-9a-fA-F]{64}$/.test(value))
    throw new HotspotKeyFileError(`${file}: ${field}: expected 32 bytes as hex, got ${JSON.stringify(value)?.slice(0, 80)}`);
  return Uint8Array.from(Buffer.from(value.replace(/^0x/, ""), "hex"));
}

/**
 * Checks a key file's text: JSON `{ cid, feedId, secretKey, publicKey }`, the CID parsing, the keys 32 bytes of hex
 * each and the public key the secret key's (a mismatched pair would fail every vault's proof check). Anything else is
 * a HotspotKeyFileError naming `file`.
 */
export function parseHotspotKeyFile(text: string, file: string): HotspotKeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HotspotKeyFileError(`${file}: not JSON (${(err as Error).message}); 'mosaic exposure hotspots publish' writes key files`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new HotspotKeyFileError(`${file}: expected a JSON object { cid, feedId, secretKey, publicKey }`);
  const k = value as Record<string, unknown>;
  for (const field of Object.keys(k))
    if (!["cid", "feedId", "secretKey", "publicKey"].includes(field))
      throw new HotspotKeyFileError(`${file}: ${field}: not a key file field (known: cid, feedId, secretKey, publicKey)`);
  if (typeof k.cid !== "string")
    throw new HotspotKeyFileError(`${file}: cid: expected the hotspot set's CID, got ${JSON.stringify(k.cid)}`);
  try {
    parseCid(k.cid);
  } catch {
    throw new HotspotKeyFileError(`${file}: cid: ${JSON.stringify(k.cid.slice(0, 80))} is not a CID`);
  }
  if (typeof k.feedId !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(k.feedId))
    throw new HotspotKeyFileError(`${file}: feedId: expected a decimal feed id, got ${JSON.stringify(k.feedId)?.slice(0, 80)}`);
  const secretKey = hex32(file, "secretKey", k.secretKey);
  const publicKey = hex32(file, "publicKey", k.publicKey);
  let derived: Uint8Array;
  try {
    derived = psiPublicKey(secretKey);
  } catch (err) {
    throw new HotspotKeyFileError(`${file}: secretKey: not a ristretto255 scalar (${(err as Error).message})`);
  }
  if (toBareHex(derived) !== toBareHex(publicKey))
    throw new HotspotKeyFileError(
      `${file}: publicKey: not the secret key's public key; the file is damaged, ask the authority for it again`,
    );
  return { cid: k.cid, feedId: k.feedId, secretKey, publicKey };
}

/** Reads and checks one key file (HotspotKeyFileError naming it when it cannot be read or is wrong). */
export async function readHotspotKeyFile(file: string): Promise<HotspotKeyFile> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_KEY_FILE_BYTES)
      throw new HotspotKeyFileError(`${file}: over ${MAX_KEY_FILE_BYTES} bytes; this is not a hotspot key file`);
    text = bytes.toString("utf8");
  } catch (err) {
    if (err instanceof HotspotKeyFileError) throw err;
    throw new HotspotKeyFileError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseHotspotKeyFile(text, file);
}

/**
 * Reads key files into what the PSI service takes: the sets' keys by CID. Two files for one set must hold the same
 * keys (HotspotKeyFileError naming both otherwise).
 */
export async function readHotspotKeyFiles(files: readonly string[]): Promise<Map<string, HotspotSetKeys>> {
  const sets = new Map<string, HotspotSetKeys>();
  const from = new Map<string, string>();
  for (const file of files) {
    const k = await readHotspotKeyFile(file);
    const held = sets.get(k.cid);
    if (held !== undefined && toBareHex(held.secretKey) !== toBareHex(k.secretKey))
      throw new HotspotKeyFileError(`${file}: holds other keys for hotspot set ${k.cid} than ${from.get(k.cid)}; keep the authority's`);
    sets.set(k.cid, { secretKey: k.secretKey, publicKey: k.publicKey });
    from.set(k.cid, file);
  }
  return sets;
}

/** The key files in `dir` (named as `hotspotKeyFileName` names them), sorted; none when `dir` does not exist. */
export async function hotspotKeyFilesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new HotspotKeyFileError(`${dir}: cannot list it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return names
    .filter((n) => KEY_FILE_NAME.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}
