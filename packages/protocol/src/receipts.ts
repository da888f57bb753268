// Submission receipts: a reducer's signed word that it holds a vault's submission block for a job. A vault dials a
// reducer on SUBMIT_PROTOCOL with { job, cid }; the reducer fetches the block from that connection, journals it and
// answers a receipt signed (EIP-191) by its operator wallet, which the vault checks against the staked operators.
// Reducers ask each other on HOLDINGS_PROTOCOL which CIDs they hold for a job, to catch up after a restart.
import type { PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { getAddress, verifyMessage } from "ethers";
import { parseCid } from "./codec.js";
import { namedError } from "./errors.js";
import type { IpfsNode } from "./ipfs.js";
import { requestResponse } from "./streams.js";

/** A vault hands a reducer its submission CID and gets a receipt back. */
export const SUBMIT_PROTOCOL = "/mosaic/submit/1.0.0";
/** A reducer asks another which submission CIDs it holds for a job. */
export const HOLDINGS_PROTOCOL = "/mosaic/holdings/1.0.0";

/** The largest encoded receipt (and submit request or reply) accepted. */
export const MAX_RECEIPT_BYTES = 1024;
/** The most CIDs one holdings page carries. */
export const HOLDINGS_PAGE = 512;
/** The largest holdings request or reply accepted. */
export const MAX_HOLDINGS_BYTES = 64 * 1024;

/** A reducer's signed statement that it received and holds `cid` for job `jobId` of `registry` on `chainId`. */
export interface SubmissionReceipt {
  v: 1;
  /** Decimal chain id. */
  chainId: string;
  /** The JobRegistry's address (checksummed). */
  registry: string;
  /** Decimal job id. */
  jobId: string;
  /** The submission block's CID string. */
  cid: string;
  /** The operator address that signed (checksummed). */
  operator: string;
  /** When the reducer held the block, Unix milliseconds. */
  receivedAt: number;
  /** EIP-191 signature of receiptMessage(...) by `operator`, 0x-hex, 65 bytes. */
  signature: string;
}

/** What a receipt says, without its signature. */
export type ReceiptFields = Omit<SubmissionReceipt, "v" | "signature">;

/** The receipt is not valid JSON, is over MAX_RECEIPT_BYTES, has unknown or missing keys, or a field of the wrong type. */
export class MalformedReceiptError extends namedError("MalformedReceiptError") {}
/** The signature does not verify, was made by another address than `operator`, or `operator` is not staked. */
export class ForgedReceiptError extends namedError("ForgedReceiptError") {}
/** A genuine receipt, but for another chain, registry, job or CID than the one asked about. */
export class WrongReceiptError extends namedError("WrongReceiptError") {}
/** A reducer refused a submission; `reason` is its named error (UnknownJobError, WindowClosedError, ...). */
export class ReceiptRefusedError extends namedError("ReceiptRefusedError") {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(`reducer refused: ${reason}: ${message}`);
  }
}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const RECEIPT_KEYS = ["v", "chainId", "registry", "jobId", "cid", "operator", "receivedAt", "signature"] as const;

/** The domain-tagged text an operator signs for a receipt. */
export function receiptMessage(fields: ReceiptFields): string {
  return [
    "mosaic submission receipt v1",
    `chain ${fields.chainId}`,
    `registry ${fields.registry.toLowerCase()}`,
    `job ${fields.jobId}`,
    `cid ${fields.cid}`,
    `operator ${fields.operator.toLowerCase()}`,
    `received ${fields.receivedAt}`,
  ].join("\n");
}

/** Anything that signs EIP-191 messages for an address: an ethers Wallet or Signer. */
export interface MessageSigner {
  getAddress(): Promise<string>;
  signMessage(message: string): Promise<string>;
}

/** Signs a receipt with the operator's wallet; `operator` is the signer's own address. */
export async function signReceipt(signer: MessageSigner, fields: Omit<ReceiptFields, "operator">): Promise<SubmissionReceipt> {
  const operator = getAddress(await signer.getAddress());
  const full: ReceiptFields = {
    chainId: fields.chainId,
    registry: getAddress(fields.registry),
    jobId: fields.jobId,
    cid: fields.cid,
    operator,
    receivedAt: fields.receivedAt,
  };
  checkReceipt({ v: 1, ...full, signature: `0x${"0".repeat(130)}` });
  return { v: 1, ...full, signature: await signer.signMessage(receiptMessage(full)) };
}

/** Throws MalformedReceiptError unless `value` has exactly a receipt's keys, each of the right type and form. */
export function checkReceipt(value: unknown): SubmissionReceipt {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new MalformedReceiptError("receipt: expected a JSON object");
  const r = value as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!(RECEIPT_KEYS as readonly string[]).includes(k))
      throw new MalformedReceiptError(`receipt: unknown key ${JSON.stringify(k.slice(0, 40))}`);
  for (const k of RECEIPT_KEYS) if (!(k in r)) throw new MalformedReceiptError(`receipt: missing ${k}`);
  if (r.v !== 1) throw new MalformedReceiptError(`receipt: v must be 1, got ${JSON.stringify(r.v)}`);
  const str = (k: string, pattern: RegExp, what: string): void => {
    if (typeof r[k] !== "string" || !pattern.test(r[k] as string))
      throw new MalformedReceiptError(`receipt: ${k} must be ${what}, got ${JSON.stringify(r[k])?.slice(0, 80)}`);
  };
  str("chainId", DECIMAL, "a decimal string");
  str("registry", ADDRESS, "an address");
  str("jobId", DECIMAL, "a decimal string");
  str("operator", ADDRESS, "an address");
  str("signature", SIGNATURE, "a 65-byte 0x-hex signature");
  if (typeof r.cid !== "string" || r.cid.length > 128)
    throw new MalformedReceiptError(`receipt: cid must be a CID string, got ${JSON.stringify(r.cid)?.slice(0, 80)}`);
  try {
    parseCid(r.cid);
  } catch (err) {
    throw new MalformedReceiptError(`receipt: ${(err as Error).message}`);
  }
  if (!Number.isSafeInteger(r.receivedAt) || (r.receivedAt as number) < 0)
    throw new MalformedReceiptError(`receipt: receivedAt must be a non-negative integer (Unix ms), got ${JSON.stringify(r.receivedAt)}`);
  return r as unknown as SubmissionReceipt;
}

/** What a receipt must be about, and who may sign it. */
export interface ExpectedReceipt {
  chainId: string | bigint;
  registry: string;
  jobId: string | bigint;
  cid: string;
  /** The staked operators, as read from the chain (any letter case). */
  operators: ReadonlySet<string>;
}

/**
 * Checks a receipt: its form (MalformedReceiptError), that it is about the expected chain, registry, job and CID
 * (WrongReceiptError), and that its signature recovers to its `operator`, a staked operator (ForgedReceiptError).
 * Resolves to the checksummed operator address.
 */
export function verifyReceipt(receipt: SubmissionReceipt, expected: ExpectedReceipt): string {
  const r = checkReceipt(receipt);
  const wrong: string[] = [];
  if (r.chainId !== expected.chainId.toString()) wrong.push(`chain ${r.chainId}, not ${expected.chainId}`);
  if (r.registry.toLowerCase() !== expected.registry.toLowerCase()) wrong.push(`registry ${r.registry}, not ${expected.registry}`);
  if (r.jobId !== expected.jobId.toString()) wrong.push(`job ${r.jobId}, not ${expected.jobId}`);
  if (r.cid !== expected.cid) wrong.push(`cid ${r.cid}, not ${expected.cid}`);
  if (wrong.length > 0) throw new WrongReceiptError(`receipt is for ${wrong.join(", ")}`);
  let signer: string;
  try {
    signer = verifyMessage(receiptMessage(r), r.signature);
  } catch (err) {
    throw new ForgedReceiptError(`receipt signature does not verify: ${(err as Error).message}`);
  }
  if (signer.toLowerCase() !== r.operator.toLowerCase())
    throw new ForgedReceiptError(`receipt claims operator ${r.operator} but was signed by ${signer}`);
  const staked = [...expected.operators].some((o) => o.toLowerCase() === signer.toLowerCase());
  if (!staked) throw new ForgedReceiptError(`receipt signer ${signer} is not a staked operator`);
  return getAddress(signer);
}

/** A receipt as UTF-8 JSON, keys in a fixed order. */
export function encodeReceipt(receipt: SubmissionReceipt): Uint8Array {
  const r = checkReceipt(receipt);
  const ordered = Object.fromEntries(RECEIPT_KEYS.map((k) => [k, r[k]]));
  return new TextEncoder().encode(JSON.stringify(ordered));
}

function parseJson(bytes: Uint8Array | string, limit: number, what: string, Err: new (m: string) => Error): unknown {
  const size = typeof bytes === "string" ? new TextEncoder().encode(bytes).length : bytes.length;
  if (size > limit) throw new Err(`${what}: ${size} bytes, over the ${limit}-byte limit`);
  let text: string;
  try {
    text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return JSON.parse(text);
  } catch (err) {
    throw new Err(`${what}: not UTF-8 JSON (${(err as Error).message})`);
  }
}

/** Reads a receipt from JSON bytes or text: at most MAX_RECEIPT_BYTES, exact keys and types, or MalformedReceiptError. */
export function decodeReceipt(bytes: Uint8Array | string): SubmissionReceipt {
  return checkReceipt(parseJson(bytes, MAX_RECEIPT_BYTES, "receipt", MalformedReceiptError));
}

// --- the submit exchange -----------------------------------------------------------------------------------------

/** A vault's submit request: the job (decimal id) and its submission CID. */
export interface SubmitRequest {
  job: string;
  cid: string;
}

/** A reducer's answer: a receipt, or the name and message of why it refused. */
export type SubmitReply = { receipt: SubmissionReceipt } | { error: string; message: string };

/** A submit or holdings message is not what the protocol says. */
export class MalformedMessageError extends namedError("MalformedMessageError") {}

function exactKeys(value: unknown, keys: string[], optional: string[], what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new MalformedMessageError(`${what}: expected a JSON object`);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!keys.includes(k) && !optional.includes(k))
      throw new MalformedMessageError(`${what}: unknown key ${JSON.stringify(k.slice(0, 40))}`);
  for (const k of keys) if (!(k in o)) throw new MalformedMessageError(`${what}: missing ${k}`);
  return o;
}

export function encodeSubmitRequest(request: SubmitRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ job: request.job, cid: request.cid }));
}

/** Reads a submit request; MalformedMessageError for anything but `{ job: "<decimal>", cid: "<CID>" }` within 1 KiB. */
export function decodeSubmitRequest(bytes: Uint8Array): SubmitRequest {
  const o = exactKeys(parseJson(bytes, MAX_RECEIPT_BYTES, "submit request", MalformedMessageError), ["job", "cid"], [], "submit request");
  if (typeof o.job !== "string" || !DECIMAL.test(o.job)) throw new MalformedMessageError("submit request: job must be a decimal string");
  if (typeof o.cid !== "string" || o.cid.length > 128) throw new MalformedMessageError("submit request: cid must be a CID string");
  try {
    parseCid(o.cid);
  } catch (err) {
    throw new MalformedMessageError(`submit request: ${(err as Error).message}`);
  }
  return { job: o.job, cid: o.cid };
}

export function encodeSubmitReply(reply: SubmitReply): Uint8Array {
  if ("receipt" in reply) return new TextEncoder().encode(`{"receipt":${new TextDecoder().decode(encodeReceipt(reply.receipt))}}`);
  return new TextEncoder().encode(JSON.stringify({ error: reply.error.slice(0, 64), message: reply.message.slice(0, 512) }));
}

export function decodeSubmitReply(bytes: Uint8Array): SubmitReply {
  const value = parseJson(bytes, MAX_RECEIPT_BYTES + 32, "submit reply", MalformedMessageError);
  if (value !== null && typeof value === "object" && "receipt" in value) {
    exactKeys(value, ["receipt"], [], "submit reply");
    return { receipt: checkReceipt((value as { receipt: unknown }).receipt) };
  }
  const o = exactKeys(value, ["error", "message"], [], "submit reply");
  if (typeof o.error !== "string" || typeof o.message !== "string")
    throw new MalformedMessageError("submit reply: error and message must be strings");
  return { error: o.error, message: o.message };
}

export interface SubmitOptions {
  signal?: AbortSignal;
  /**
   * How long the reducer may take (it fetches the block from us before answering).
   * @default 30000
   */
  timeoutMs?: number;
}

/**
 * Hands a submission to one reducer (a peer id the node is connected to, or a multiaddr with /p2p/) and resolves
 * with its receipt, unchecked: pass it to verifyReceipt with the staked operators. The block must be in `node`'s
 * blockstore, since the reducer fetches it from this connection. Throws ReceiptRefusedError (the reducer's reason),
 * MalformedMessageError/MalformedReceiptError, or the stream errors of requestResponse.
 */
export async function submitForReceipt(
  node: IpfsNode,
  reducer: PeerId | Multiaddr | string,
  request: SubmitRequest,
  options: SubmitOptions = {},
): Promise<SubmissionReceipt> {
  const answer = await requestResponse(node, reducer, SUBMIT_PROTOCOL, encodeSubmitRequest(request), {
    maxBytes: MAX_RECEIPT_BYTES + 32,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  const reply = decodeSubmitReply(answer);
  if ("error" in reply) throw new ReceiptRefusedError(reply.error, reply.message);
  return reply.receipt;
}

// --- the holdings exchange ---------------------------------------------------------------------------------------

/** Which CIDs do you hold for `job`, from position `from`? */
export interface HoldingsRequest {
  job: string;
  from: number;
}

/** Up to HOLDINGS_PAGE CIDs; `next` is the `from` of the next page, or null at the end. */
export type HoldingsReply = { cids: string[]; next: number | null } | { error: string; message: string };

export function encodeHoldingsRequest(request: HoldingsRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ job: request.job, from: request.from }));
}

export function decodeHoldingsRequest(bytes: Uint8Array): HoldingsRequest {
  const o = exactKeys(
    parseJson(bytes, MAX_RECEIPT_BYTES, "holdings request", MalformedMessageError),
    ["job", "from"],
    [],
    "holdings request",
  );
  if (typeof o.job !== "string" || !DECIMAL.test(o.job)) throw new MalformedMessageError("holdings request: job must be a decimal string");
  if (!Number.isSafeInteger(o.from) || (o.from as number) < 0)
    throw new MalformedMessageError("holdings request: from must be a non-negative integer");
  return { job: o.job, from: o.from as number };
}

export function encodeHoldingsReply(reply: HoldingsReply): Uint8Array {
  if ("error" in reply)
    return new TextEncoder().encode(JSON.stringify({ error: reply.error.slice(0, 64), message: reply.message.slice(0, 512) }));
  if (reply.cids.length > HOLDINGS_PAGE) throw new RangeError(`holdings page of ${reply.cids.length} CIDs, over ${HOLDINGS_PAGE}`);
  return new TextEncoder().encode(JSON.stringify({ cids: reply.cids, next: reply.next }));
}

export function decodeHoldingsReply(bytes: Uint8Array): HoldingsReply {
  const value = parseJson(bytes, MAX_HOLDINGS_BYTES, "holdings reply", MalformedMessageError);
  if (value !== null && typeof value === "object" && "error" in value) {
    const o = exactKeys(value, ["error", "message"], [], "holdings reply");
    if (typeof o.error !== "string" || typeof o.message !== "string")
      throw new MalformedMessageError("holdings reply: error and message must be strings");
    return { error: o.error, message: o.message };
  }
  const o = exactKeys(value, ["cids", "next"], [], "holdings reply");
  if (!Array.isArray(o.cids) || o.cids.length > HOLDINGS_PAGE || !o.cids.every((c) => typeof c === "string" && c.length <= 128))
    throw new MalformedMessageError(`holdings reply: cids must be up to ${HOLDINGS_PAGE} CID strings`);
  if (o.next !== null && (!Number.isSafeInteger(o.next) || (o.next as number) < 0))
    throw new MalformedMessageError("holdings reply: next must be a non-negative integer or null");
  return { cids: o.cids as string[], next: o.next as number | null };
}

/**
 * Every CID `peer` holds for `job`, page by page (at most `maxPages`, so a peer cannot keep us reading forever).
 * Throws ReceiptRefusedError when the peer refuses, or the stream errors of requestResponse.
 */
export async function readHoldings(
  node: IpfsNode,
  peer: PeerId | Multiaddr | string,
  job: string,
  options: { signal?: AbortSignal; timeoutMs?: number; maxPages?: number } = {},
): Promise<string[]> {
  const out: string[] = [];
  let from: number | null = 0;
  for (let page = 0; from !== null && page < (options.maxPages ?? 64); page++) {
    const answer = await requestResponse(node, peer, HOLDINGS_PROTOCOL, encodeHoldingsRequest({ job, from }), {
      maxBytes: MAX_HOLDINGS_BYTES,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    const reply = decodeHoldingsReply(answer);
    if ("error" in reply) throw new ReceiptRefusedError(reply.error, reply.message);
    out.push(...reply.cids);
    if (reply.next !== null && reply.next <= from) throw new MalformedMessageError("holdings reply: next does not advance");
    from = reply.next;
  }
  return out;
}
