// The private hotspot check: a vault learns which of its visits (place cell, hour) a health authority published as
// outbreak hotspots, and the server answering learns only that a query came. RFC 9497's VOPRF on ristretto255-SHA512:
// the authority publishes the first 16 bytes of the OPRF output of every hotspot item with its public key; a vault
// blinds its own items, any node holding the key evaluates them with a DLEQ proof, and the vault checks the proof
// against the published key before it unblinds and looks its tags up in the set.
import * as dagCbor from "@ipld/dag-cbor";
import type { Block } from "@mosaic/protocol";
import { ristretto255, ristretto255_hasher, ristretto255_oprf } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2";
import {
  ExposureDocumentTooLargeError,
  MalformedExposureDocumentError,
  PsiElementError,
  PsiProofError,
  PsiQueryTooLargeError,
  PsiRefusedError,
} from "./errors.js";
import { type DocumentSigner, openDocument, signDocument } from "./signed.js";

const voprf = ristretto255_oprf.voprf;
const Point = ristretto255.Point;
const Fn = Point.Fn;

/** The libp2p protocol a PSI server answers on: one PsiRequest frame in, one PsiResponse (or error) frame out. */
export const PSI_PROTOCOL = "/mosaic/psi/1.0.0";
/** RFC 9497's ciphersuite identifier for what this module runs. */
export const PSI_SUITE = "ristretto255-SHA512";
/** Blinded items one query may carry: a server refuses more, before evaluating any. */
export const MAX_PSI_QUERY = 1024;
/** Bytes of a serialized ristretto255 element (blinded, evaluated, public key) and of a scalar (secret key). */
export const PSI_ELEMENT_BYTES = 32;
/** Bytes of a VOPRF proof: the challenge and response scalars. */
export const PSI_PROOF_BYTES = 64;
/** Bytes of a hotspot tag: the OPRF output's prefix the authority publishes (collisions need ~2^64 items). */
export const HOTSPOT_TAG_BYTES = 16;
/** The grid a hotspot item's place is rounded down to, degrees of latitude and longitude (~100 m). */
export const HOTSPOT_CELL_DEGREES = 0.001;
/** Tags one hotspot set may hold. */
export const MAX_HOTSPOT_TAGS = 200_000;
/** The largest encoded request: MAX_PSI_QUERY 32-byte strings (2 bytes of CBOR header each) and the envelope. */
export const MAX_PSI_REQUEST_BYTES = MAX_PSI_QUERY * (PSI_ELEMENT_BYTES + 2) + 256;
/** The largest encoded response (or error reply). */
export const MAX_PSI_RESPONSE_BYTES = MAX_PSI_QUERY * (PSI_ELEMENT_BYTES + 2) + PSI_PROOF_BYTES + 256;

const ITEM_PREFIX = "mosaic.hotspot.v1|";
const CELL = /^(-?)(\d{1,3})\.(\d{3}),(-?)(\d{1,3})\.(\d{3})$/;
// RFC 9497 §3.2 contextString for VOPRF mode (0x01): HashToGroup's DST is "HashToGroup-" ‖ it.
const VOPRF_HASH_TO_GROUP_DST = new TextEncoder().encode(`HashToGroup-OPRFV1-\x01-${PSI_SUITE}`);

/** What an authority publishes (the body of a signed "hotspots" document). */
export interface HotspotSet {
  version: 1;
  /** The ExposureFeeds feed the set belongs to, decimal. */
  feedId: string;
  /** The VOPRF public key every answering node must prove its evaluations against, 32 bytes. */
  publicKey: Uint8Array;
  /** The first HOTSPOT_TAG_BYTES of each hotspot item's OPRF output, sorted bytewise, no duplicates. */
  tags: Uint8Array[];
  /** Unix seconds: the hours the set covers, [from, to). */
  from: number;
  to: number;
  cellDegrees: 0.001;
}

/** A vault's query: its items blinded, naming the hotspot set (its signed document's CID) whose key to use. */
export interface PsiRequest {
  version: 1;
  /** CID of the signed hotspot set document. */
  set: string;
  blinded: Uint8Array[];
}

/** A server's answer: each blinded element times its key, in the request's order, and one batch DLEQ proof. */
export interface PsiResponse {
  version: 1;
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

/** A server's refusal, by the name of the error it met (PsiQueryTooLargeError, PsiElementError, …). */
export interface PsiErrorReply {
  version: 1;
  error: string;
  message: string;
}

/** A source of random bytes for the blinds (tests pass a fixed one); a CSPRNG by default. */
export type PsiRng = NonNullable<Parameters<typeof voprf.blind>[1]>;

/** What the vault keeps between blinding and finishing: never sent. */
export interface PsiQueryState {
  set: string;
  items: Uint8Array[];
  blinds: Uint8Array[];
  blinded: Uint8Array[];
}

export interface PsiAnswerOptions {
  /**
   * Blinded items answered at most; more is PsiQueryTooLargeError before any is evaluated.
   * @default MAX_PSI_QUERY
   */
  maxItems?: number;
}

// ---- items ----

function cellIndex(degrees: number): number {
  // To the micro-degree first, so 12.345 (12344.999… thousandths in binary floating point) lands in its own cell.
  return Math.floor(Math.round(degrees * 1e6) / 1000);
}

function cellPart(index: number): string {
  const a = Math.abs(index);
  return `${index < 0 ? "-" : ""}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, "0")}`;
}

/** The ~100 m grid cell a position lies in: latitude and longitude rounded down to 0.001°, e.g. "52.370,4.895". */
export function placeCell(lat: number, lon: number): string {
  if (typeof lat !== "number" || !(lat >= -90 && lat <= 90)) throw new RangeError(`lat: expected -90..90, got ${String(lat)}`);
  if (typeof lon !== "number" || !(lon >= -180 && lon <= 180)) throw new RangeError(`lon: expected -180..180, got ${String(lon)}`);
  return `${cellPart(cellIndex(lat))},${cellPart(cellIndex(lon))}`;
}

/** The unix second an hour starts at. */
export function hourStartOf(unixSeconds: number): number {
  return Math.floor(unixSeconds / 3600) * 3600;
}

/** A hotspot item: utf8("mosaic.hotspot.v1|" ‖ cell ‖ "|" ‖ hourStart), what both sides run through the OPRF. */
export function hotspotItem(cell: string, hourStart: number): Uint8Array {
  if (typeof cell !== "string" || !CELL.test(cell))
    throw new TypeError(`cell: expected placeCell's form "52.370,4.895", got ${JSON.stringify(cell)}`);
  if (!Number.isSafeInteger(hourStart) || hourStart < 0 || hourStart % 3600 !== 0)
    throw new RangeError(`hourStart: expected unix seconds at the start of an hour, got ${String(hourStart)}`);
  return new TextEncoder().encode(`${ITEM_PREFIX}${cell}|${hourStart}`);
}

// ---- OPRF pieces ----

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

/**
 * RFC 9497's Evaluate in VOPRF mode (§3.3.2): the output the client's Finalize reaches, computed by the key holder
 * from the input itself. Hash(I2OSP(len(input), 2) ‖ input ‖ I2OSP(len(issued), 2) ‖ issued ‖ "Finalize").
 * (noble has it at run time but not in its types; ten lines, checked against the RFC's vectors.)
 */
export function voprfEvaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array {
  if (!(input instanceof Uint8Array) || input.length > 0xffff) throw new TypeError("input: expected at most 65535 bytes");
  const k = secretScalar(secretKey);
  const issued = ristretto255_hasher.hashToCurve(input, { DST: VOPRF_HASH_TO_GROUP_DST }).multiply(k).toBytes();
  const finalize = new TextEncoder().encode("Finalize");
  const a = lengthPrefixed(input);
  const b = lengthPrefixed(issued);
  const msg = new Uint8Array(a.length + b.length + finalize.length);
  msg.set(a, 0);
  msg.set(b, a.length);
  msg.set(finalize, a.length + b.length);
  return sha512(msg);
}

function secretScalar(secretKey: Uint8Array): bigint {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== PSI_ELEMENT_BYTES)
    throw new TypeError(`secretKey: expected ${PSI_ELEMENT_BYTES} bytes`);
  let k: bigint;
  try {
    k = Fn.fromBytes(secretKey);
  } catch {
    throw new TypeError("secretKey: not a canonical ristretto255 scalar");
  }
  if (Fn.is0(k)) throw new TypeError("secretKey: zero");
  return k;
}

/** The public key of a secret key (k·G), 32 bytes. */
export function psiPublicKey(secretKey: Uint8Array): Uint8Array {
  return Point.BASE.multiply(secretScalar(secretKey)).toBytes();
}

/** A fresh VOPRF key pair for a hotspot set: the authority keeps the secret key, and hands it to the nodes that answer. */
export function generatePsiKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return voprf.generateKeyPair();
}

/** Checks one wire element: 32 bytes, a canonical ristretto255 encoding, not the identity. */
function checkElement(bytes: unknown, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new MalformedExposureDocumentError(`${what}: expected bytes, got ${typeOf(bytes)}`);
  if (bytes.length !== PSI_ELEMENT_BYTES) throw new PsiElementError(`${what}: expected ${PSI_ELEMENT_BYTES} bytes, got ${bytes.length}`);
  let p: InstanceType<typeof Point>;
  try {
    p = Point.fromBytes(bytes);
  } catch {
    throw new PsiElementError(`${what}: not a canonical ristretto255 element`);
  }
  if (p.is0()) throw new PsiElementError(`${what}: the identity element`);
  return bytes;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v;
}

// ---- the set ----

/** Builds the hotspot set an authority signs (with signDocument("hotspots", set, signer)) and publishes. */
export function buildHotspotSet(
  secretKey: Uint8Array,
  items: Iterable<Uint8Array>,
  meta: { feedId: string; from: number; to: number },
): HotspotSet {
  const tags: Uint8Array[] = [];
  for (const item of items) tags.push(voprfEvaluate(secretKey, item).slice(0, HOTSPOT_TAG_BYTES));
  tags.sort(compareBytes);
  const unique = tags.filter((t, i) => i === 0 || compareBytes(t, tags[i - 1] as Uint8Array) !== 0);
  return checkHotspotSet({
    version: 1,
    feedId: meta.feedId,
    publicKey: psiPublicKey(secretKey),
    tags: unique,
    from: meta.from,
    to: meta.to,
    cellDegrees: HOTSPOT_CELL_DEGREES,
  });
}

function exactKeys(value: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array)
    throw new MalformedExposureDocumentError(`${what}: expected a map, got ${typeOf(value)}`);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!keys.includes(k)) throw new MalformedExposureDocumentError(`${what}: unknown key ${JSON.stringify(k.slice(0, 40))}`);
  for (const k of keys) if (!(k in o)) throw new MalformedExposureDocumentError(`${what}: missing ${k}`);
  return o;
}

/** Checks a hotspot set body (what openDocument("hotspots", …) returns): MalformedExposureDocumentError naming the field. */
export function checkHotspotSet(value: unknown): HotspotSet {
  const o = exactKeys(value, ["version", "feedId", "publicKey", "tags", "from", "to", "cellDegrees"], "hotspot set");
  const bad = (field: string, why: string): never => {
    throw new MalformedExposureDocumentError(`hotspot set.${field}: ${why}`);
  };
  if (o.version !== 1) bad("version", `expected 1, got ${String(o.version)}`);
  if (typeof o.feedId !== "string" || !/^(0|[1-9]\d{0,77})$/.test(o.feedId)) bad("feedId", "expected a decimal string");
  try {
    checkElement(o.publicKey, "publicKey");
  } catch (err) {
    bad("publicKey", (err as Error).message);
  }
  if (!Array.isArray(o.tags)) bad("tags", `expected an array, got ${typeOf(o.tags)}`);
  const tags = o.tags as unknown[];
  if (tags.length > MAX_HOTSPOT_TAGS) bad("tags", `${tags.length} tags, at most ${MAX_HOTSPOT_TAGS}`);
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    if (!(t instanceof Uint8Array) || t.length !== HOTSPOT_TAG_BYTES)
      bad(`tags[${i}]`, `expected ${HOTSPOT_TAG_BYTES} bytes, got ${typeOf(t)}`);
    if (i > 0 && compareBytes(tags[i - 1] as Uint8Array, t as Uint8Array) >= 0)
      bad(`tags[${i}]`, "tags must be sorted bytewise without duplicates");
  }
  for (const f of ["from", "to"] as const) {
    const v = o[f];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) bad(f, `expected unix seconds, got ${String(v)}`);
  }
  if ((o.from as number) > (o.to as number)) bad("to", `${String(o.to)} is before from ${String(o.from)}`);
  if (o.cellDegrees !== HOTSPOT_CELL_DEGREES) bad("cellDegrees", `expected ${HOTSPOT_CELL_DEGREES}, got ${String(o.cellDegrees)}`);
  return {
    version: 1,
    feedId: o.feedId as string,
    publicKey: o.publicKey as Uint8Array,
    tags: tags as Uint8Array[],
    from: o.from as number,
    to: o.to as number,
    cellDegrees: HOTSPOT_CELL_DEGREES,
  };
}

/** Signs a hotspot set as the authority's "hotspots" document (signDocument); the block's CID is what nodes serve it under. */
export async function encodeHotspotSet(set: HotspotSet, signer: DocumentSigner): Promise<Block> {
  return signDocument("hotspots", checkHotspotSet(set), signer);
}

/**
 * Reads a hotspot set from its signed document: openDocument's checks (size, shape, signature by `authority`, the
 * feed's authority as the chain names it: WrongSignerError, UnsignedDocumentError), then checkHotspotSet's.
 */
export function decodeHotspotSet(bytes: Uint8Array, authority: string): HotspotSet {
  return checkHotspotSet(openDocument("hotspots", bytes, authority));
}

function hasTag(tags: readonly Uint8Array[], tag: Uint8Array): boolean {
  let lo = 0;
  let hi = tags.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(tags[mid] as Uint8Array, tag);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

// ---- the protocol ----

/**
 * Blinds a vault's items for a query against the hotspot set whose signed document is `set` (a CID string).
 * Keep `state`; send `request`. Throws PsiQueryTooLargeError over MAX_PSI_QUERY items (split the items).
 */
export function blindHotspotQuery(
  items: readonly Uint8Array[],
  set: string,
  options: { rng?: PsiRng } = {},
): { request: PsiRequest; state: PsiQueryState } {
  if (typeof set !== "string" || set.length === 0 || set.length > 128) throw new TypeError("set: expected the hotspot set document's CID");
  if (!Array.isArray(items) || items.length === 0) throw new RangeError("items: expected at least one item");
  if (items.length > MAX_PSI_QUERY)
    throw new PsiQueryTooLargeError(`items: ${items.length} in one query, at most ${MAX_PSI_QUERY}; split them into several queries`);
  const blinds: Uint8Array[] = [];
  const blinded: Uint8Array[] = [];
  for (const item of items) {
    const b = options.rng === undefined ? voprf.blind(item) : voprf.blind(item, options.rng);
    blinds.push(b.blind);
    blinded.push(b.blinded);
  }
  return { request: { version: 1, set, blinded }, state: { set, items: [...items], blinds, blinded } };
}

function checkRequest(request: unknown, maxItems: number): PsiRequest {
  const o = exactKeys(request, ["version", "set", "blinded"], "PSI request");
  if (o.version !== 1) throw new MalformedExposureDocumentError(`PSI request.version: expected 1, got ${String(o.version)}`);
  if (typeof o.set !== "string" || o.set.length === 0 || o.set.length > 128)
    throw new MalformedExposureDocumentError(`PSI request.set: expected a CID string, got ${typeOf(o.set)}`);
  if (!Array.isArray(o.blinded))
    throw new MalformedExposureDocumentError(`PSI request.blinded: expected an array, got ${typeOf(o.blinded)}`);
  if (o.blinded.length > maxItems)
    throw new PsiQueryTooLargeError(
      `PSI request: ${o.blinded.length} blinded items, this server answers at most ${maxItems} per query; split the query`,
    );
  if (o.blinded.length === 0) throw new MalformedExposureDocumentError("PSI request.blinded: empty");
  for (const [i, b] of o.blinded.entries()) checkElement(b, `PSI request.blinded[${i}]`);
  return { version: 1, set: o.set, blinded: o.blinded as Uint8Array[] };
}

/**
 * The server's side: every blinded element times the secret key, with one DLEQ proof that the same key as
 * `publicKey` did it. Checks the whole request before evaluating anything: PsiQueryTooLargeError over `maxItems`,
 * PsiElementError for an element that is not a non-identity ristretto255 point, MalformedExposureDocumentError
 * for any other shape.
 */
export function answerHotspotQuery(
  secretKey: Uint8Array,
  publicKey: Uint8Array,
  request: PsiRequest,
  options: PsiAnswerOptions = {},
): PsiResponse {
  const checked = checkRequest(request, Math.min(options.maxItems ?? MAX_PSI_QUERY, MAX_PSI_QUERY));
  const { evaluated, proof } = voprf.blindEvaluateBatch(secretKey, publicKey, checked.blinded);
  return { version: 1, evaluated, proof };
}

/**
 * The vault's side: checks the response's proof against the set's published key for exactly the elements it sent,
 * in order, then unblinds and looks each output's tag up in the set. Resolves with the indices of `state.items`
 * that are hotspots. PsiProofError when the proof fails or the response does not answer every item in order (an
 * answer from another key, reordered, truncated or padded); PsiElementError for an evaluated element that is no
 * ristretto255 point.
 */
export function finishHotspotQuery(state: PsiQueryState, response: PsiResponse, set: HotspotSet): number[] {
  if (response.evaluated.length !== state.blinded.length)
    throw new PsiProofError(`the response answers ${response.evaluated.length} elements, the query sent ${state.blinded.length}`);
  for (const [i, e] of response.evaluated.entries()) checkElement(e, `PSI response.evaluated[${i}]`);
  if (!(response.proof instanceof Uint8Array) || response.proof.length !== PSI_PROOF_BYTES)
    throw new PsiProofError(`the proof must be ${PSI_PROOF_BYTES} bytes`);
  let outputs: Uint8Array[];
  try {
    outputs = voprf.finalizeBatch(
      state.items.map((input, i) => ({
        input,
        blind: state.blinds[i] as Uint8Array,
        blinded: state.blinded[i] as Uint8Array,
        evaluated: response.evaluated[i] as Uint8Array,
      })),
      set.publicKey,
      response.proof,
    );
  } catch (err) {
    throw new PsiProofError(
      `the response's proof does not verify against the hotspot set's key (${(err as Error).message}): the server did not evaluate with the published key; ask another node`,
    );
  }
  const matched: number[] = [];
  outputs.forEach((out, i) => {
    if (hasTag(set.tags, out.subarray(0, HOTSPOT_TAG_BYTES))) matched.push(i);
  });
  return matched;
}

// ---- codecs ----

function decodeCapped(bytes: Uint8Array, cap: number, what: string, tooLarge: (msg: string) => Error): unknown {
  if (!(bytes instanceof Uint8Array)) throw new MalformedExposureDocumentError(`${what}: expected bytes`);
  if (bytes.length > cap) throw tooLarge(`${what}: ${bytes.length} bytes, at most ${cap}`);
  try {
    return dagCbor.decode(bytes);
  } catch (err) {
    throw new MalformedExposureDocumentError(`${what}: not valid dag-cbor (${(err as Error).message})`);
  }
}

export function encodePsiRequest(request: PsiRequest): Uint8Array {
  return dagCbor.encode({ version: request.version, set: request.set, blinded: request.blinded });
}

/**
 * Reads a request off the wire: at most MAX_PSI_REQUEST_BYTES and `maxItems` elements (PsiQueryTooLargeError),
 * exactly `{ version: 1, set, blinded }` with 32-byte non-identity ristretto255 elements (MalformedExposureDocumentError,
 * PsiElementError).
 */
export function decodePsiRequest(bytes: Uint8Array, options: PsiAnswerOptions = {}): PsiRequest {
  const value = decodeCapped(bytes, MAX_PSI_REQUEST_BYTES, "PSI request", (m) => new PsiQueryTooLargeError(m));
  return checkRequest(value, Math.min(options.maxItems ?? MAX_PSI_QUERY, MAX_PSI_QUERY));
}

/** Encodes a response or a refusal (see psiErrorReply). */
export function encodePsiResponse(response: PsiResponse | PsiErrorReply): Uint8Array {
  if ("error" in response)
    return dagCbor.encode({ version: 1, error: response.error.slice(0, 64), message: response.message.slice(0, 512) });
  return dagCbor.encode({ version: response.version, evaluated: response.evaluated, proof: response.proof });
}

/** The refusal a server answers for an error: its name and message, cut to size. */
export function psiErrorReply(err: unknown): PsiErrorReply {
  const e = err as Error;
  return { version: 1, error: String(e?.name ?? "Error").slice(0, 64), message: String(e?.message ?? err).slice(0, 512) };
}

/**
 * Reads a response off the wire: at most MAX_PSI_RESPONSE_BYTES (ExposureDocumentTooLargeError), exactly
 * `{ version: 1, evaluated, proof }` (MalformedExposureDocumentError). A server's refusal throws PsiRefusedError
 * with its `reason`.
 */
export function decodePsiResponse(bytes: Uint8Array): PsiResponse {
  const value = decodeCapped(bytes, MAX_PSI_RESPONSE_BYTES, "PSI response", (m) => new ExposureDocumentTooLargeError(m));
  if (value !== null && typeof value === "object" && "error" in value) {
    const o = exactKeys(value, ["version", "error", "message"], "PSI error reply");
    if (o.version !== 1 || typeof o.error !== "string" || typeof o.message !== "string")
      throw new MalformedExposureDocumentError("PSI error reply: expected { version: 1, error: string, message: string }");
    throw new PsiRefusedError(o.error, `the PSI server refused the query: ${o.error}: ${o.message}`);
  }
  const o = exactKeys(value, ["version", "evaluated", "proof"], "PSI response");
  if (o.version !== 1) throw new MalformedExposureDocumentError(`PSI response.version: expected 1, got ${String(o.version)}`);
  if (!Array.isArray(o.evaluated))
    throw new MalformedExposureDocumentError(`PSI response.evaluated: expected an array, got ${typeOf(o.evaluated)}`);
  if (o.evaluated.length > MAX_PSI_QUERY)
    throw new MalformedExposureDocumentError(`PSI response.evaluated: ${o.evaluated.length} elements`);
  o.evaluated.forEach((e, i) => {
    if (!(e instanceof Uint8Array))
      throw new MalformedExposureDocumentError(`PSI response.evaluated[${i}]: expected bytes, got ${typeOf(e)}`);
  });
  if (!(o.proof instanceof Uint8Array) || o.proof.length !== PSI_PROOF_BYTES)
    throw new MalformedExposureDocumentError(`PSI response.proof: expected ${PSI_PROOF_BYTES} bytes, got ${typeOf(o.proof)}`);
  return { version: 1, evaluated: o.evaluated as Uint8Array[], proof: o.proof };
}
