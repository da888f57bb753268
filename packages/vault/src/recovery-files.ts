// The files guardians and recovering devices pass around (invitations, recovery requests, approvals): their JSON, written and checked.
import { type CID, decodeCbor, fromBase64, getBlock, namedError, parseCid, toBareHex, toBase64 } from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2";
import { utf8ToBytes } from "@noble/hashes/utils";
import { getAddress, isAddress } from "ethers";
import type { Blockstore } from "interface-blockstore";
import { type Invitation, MAX_SHARE_BLOCK_BYTES, type RecoveryApproval, type RecoveryRequestMessage } from "./recovery.js";

/** A block carried inline in a file does not hash to the CID the file names: the file was altered or cut short. */
export class InlineBlockMismatchError extends namedError("InlineBlockMismatchError") {}

/** A file is not the kind of Mosaic file the command reads (or not JSON at all). */
export class UnrecognisedFileError extends namedError("UnrecognisedFileError") {}

/** Each file is marked with its kind, so one can never be read as another. */
export const RECOVERY_FILE_FORMATS = {
  invitation: "mosaic/guardian-invitation/v1",
  // v2: requests name the expiry every guardian signs; approvals repeat it.
  request: "mosaic/recovery-request/v2",
  approval: "mosaic/recovery-approval/v2",
} as const;

export type RecoveryFileKind = keyof typeof RECOVERY_FILE_FORMATS;

/** The command that writes each kind, named when a file is not what it should be. */
const FILE_WRITERS: Record<RecoveryFileKind, string> = {
  invitation: "mosaic vault guardians protect",
  request: "mosaic vault recover request",
  approval: "mosaic vault recover approve",
};

/** Invitations, requests and approvals are a few kilobytes; anything near this is not one. */
export const MAX_RECOVERY_FILE_BYTES = 1024 * 1024;

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const HEX33 = /^0x[0-9a-fA-F]{66}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DAG_CBOR = 0x71;
const SHA2_256 = 0x12;

const hex32 = (v: string): boolean => HEX32.test(v);
const hex33 = (v: string): boolean => HEX33.test(v);
const base64 = (v: string): boolean => v.length > 0 && BASE64.test(v);
const anyText = (v: string): boolean => v.length > 0 && v.length <= 200;

/** An invitation file's content, its inline share package checked against its CID. */
export interface InvitationFile {
  invitation: Invitation;
  package: { cid: CID; bytes: Uint8Array };
}

/** An approval file's content, checked against the request it answers. */
export interface ApprovalFile {
  /** Where it was read from, to name it in messages. */
  file: string;
  /** The share re-sealed to the device: what combineApprovals takes. */
  sealed: Uint8Array;
  approval: RecoveryApproval;
  newOwner: string;
}

/** A size error for a file of `kind` that is `size` bytes: checked before a file is read at all. */
export function checkRecoveryFileSize(file: string, kind: RecoveryFileKind, size: number): void {
  if (size > MAX_RECOVERY_FILE_BYTES)
    throw new UnrecognisedFileError(`${file}: ${size} bytes, far too large for a ${kind} from '${FILE_WRITERS[kind]}'`);
}

/** Parses one of the files in RECOVERY_FILE_FORMATS, checking its kind; `file` names it in messages. */
export function parseRecoveryFile(text: string, kind: RecoveryFileKind, file: string): Record<string, unknown> {
  const writer = FILE_WRITERS[kind];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnrecognisedFileError(`${file}: not JSON, so not a ${kind} written by '${writer}'`);
  }
  if (typeof value !== "object" || value === null || (value as { format?: unknown }).format !== RECOVERY_FILE_FORMATS[kind]) {
    throw new UnrecognisedFileError(
      `${file}: not a ${kind} (no "format": "${RECOVERY_FILE_FORMATS[kind]}"); it should be the file '${writer}' wrote`,
    );
  }
  return value as Record<string, unknown>;
}

function stringField(value: Record<string, unknown>, name: string, file: string, test: (v: string) => boolean, what: string): string {
  const v = value[name];
  if (typeof v !== "string" || !test(v)) throw new TypeError(`${file}: ${name}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function unixSeconds(v: Record<string, unknown>, file: string): number {
  const e = v.expiresAt;
  if (typeof e !== "number" || !Number.isSafeInteger(e) || e <= 0)
    throw new TypeError(`${file}: expiresAt: expected unix seconds, a positive integer, got ${JSON.stringify(e)}`);
  return e;
}

/** Checks a block that travels inline against its CID (dag-cbor, sha2-256), so a file cannot swap the bytes. */
function inlineBlock(cidText: string, base64Text: string, what: string): { cid: CID; bytes: Uint8Array } {
  const cid = parseCid(cidText);
  const bytes = inlineBytes(base64Text, cidText, what);
  if (bytes.length > MAX_SHARE_BLOCK_BYTES)
    throw new InlineBlockMismatchError(
      `${what}: ${bytes.length} bytes inline, over the ${MAX_SHARE_BLOCK_BYTES}-byte limit of a share block`,
    );
  const digest = toBareHex(sha256(bytes));
  if (cid.code !== DAG_CBOR || cid.multihash.code !== SHA2_256 || digest !== toBareHex(cid.multihash.digest))
    throw notTheBlock(cidText, what);
  return { cid, bytes };
}

/** The inline bytes; base64 that BASE64 let through but no encoder writes (a dangling character) is a damaged file. */
function inlineBytes(base64Text: string, cidText: string, what: string): Uint8Array {
  try {
    return fromBase64(base64Text);
  } catch {
    throw notTheBlock(cidText, what);
  }
}

function notTheBlock(cidText: string, what: string): InlineBlockMismatchError {
  return new InlineBlockMismatchError(
    `${what}: the inline bytes do not hash to ${cidText}: the file was altered or cut short on the way; ask for it again`,
  );
}

async function blockBase64(blocks: Pick<Blockstore, "get">, cid: string): Promise<string> {
  return toBase64(await getBlock(blocks, parseCid(cid), { maxBytes: MAX_SHARE_BLOCK_BYTES }));
}

/** The invitation file for one guardian, its share package (read from `blocks`) inline. */
export async function invitationFileText(invitation: Invitation, blocks: Pick<Blockstore, "get">): Promise<string> {
  const body = { format: RECOVERY_FILE_FORMATS.invitation, ...invitation, package: await blockBase64(blocks, invitation.packageCid) };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** Reads an invitation file's text; `file` names it in messages. */
export function parseInvitationFile(text: string, file: string): InvitationFile {
  const v = parseRecoveryFile(text, "invitation", file);
  const index = v.index;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 254)
    throw new TypeError(`${file}: index: expected an integer in 0..254, got ${JSON.stringify(index)}`);
  const invitation: Invitation = {
    accountId: stringField(v, "accountId", file, hex32, "0x and 64 hex characters"),
    guardian: stringField(v, "guardian", file, isAddress, "an address"),
    index,
    packageCid: stringField(v, "packageCid", file, anyText, "a CID"),
    from: stringField(v, "from", file, (s) => s.length > 0 && s.length <= 64, "a name of 1..64 characters"),
  };
  const pkg = inlineBlock(invitation.packageCid, stringField(v, "package", file, base64, "base64"), `${file}: package`);
  return { invitation, package: pkg };
}

/** The recovery request file a new device sends its guardians. */
export function recoveryRequestFileText(request: RecoveryRequestMessage): string {
  return `${JSON.stringify({ format: RECOVERY_FILE_FORMATS.request, ...request }, null, 2)}\n`;
}

/** Reads a recovery request file's text; `file` names it in messages. */
export function parseRecoveryRequestFile(text: string, file: string): RecoveryRequestMessage {
  const v = parseRecoveryFile(text, "request", file);
  return {
    accountId: stringField(v, "accountId", file, hex32, "0x and 64 hex characters").toLowerCase(),
    devicePublicKey: stringField(v, "devicePublicKey", file, hex33, "0x and 66 hex characters").toLowerCase(),
    newOwner: getAddress(stringField(v, "newOwner", file, isAddress, "an address")),
    expiresAt: unixSeconds(v, file),
  };
}

/** The approval file a guardian sends back, the re-sealed share (read from `blocks`) inline. */
export async function approvalFileText(
  request: RecoveryRequestMessage,
  approval: RecoveryApproval,
  blocks: Pick<Blockstore, "get">,
): Promise<string> {
  const body = {
    format: RECOVERY_FILE_FORMATS.approval,
    ...request,
    guardian: approval.guardian,
    approvalCid: approval.approvalCid,
    approval: await blockBase64(blocks, approval.approvalCid),
    signature: approval.signature ?? null,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** Reads an approval file's text, refusing one that answers another request than `request`. */
export function parseApprovalFile(text: string, file: string, request: RecoveryRequestMessage): ApprovalFile {
  const v = parseRecoveryFile(text, "approval", file);
  const accountId = stringField(v, "accountId", file, hex32, "0x and 64 hex characters").toLowerCase();
  const devicePublicKey = stringField(v, "devicePublicKey", file, hex33, "0x and 66 hex characters").toLowerCase();
  if (accountId !== request.accountId || devicePublicKey !== request.devicePublicKey)
    throw new UnrecognisedFileError(
      `${file}: approves another recovery request (account ${accountId}, device key ${devicePublicKey.slice(0, 12)}…): ` +
        "ask that guardian to approve this request",
    );
  const approvalCid = stringField(v, "approvalCid", file, anyText, "a CID");
  const { bytes } = inlineBlock(approvalCid, stringField(v, "approval", file, base64, "base64"), `${file}: approval`);
  const sealed = decodeCbor(bytes);
  if (!(sealed instanceof Uint8Array)) throw new UnrecognisedFileError(`${file}: approval: expected a byte string block`);
  const signature = v.signature;
  if (signature !== null && (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)))
    throw new TypeError(`${file}: signature: expected null or a 65-byte signature as 0x hex, got ${JSON.stringify(signature)}`);
  const approval: RecoveryApproval = { guardian: getAddress(stringField(v, "guardian", file, isAddress, "an address")), approvalCid };
  if (signature !== null) {
    approval.signature = signature;
    approval.expiresAt = unixSeconds(v, file);
  }
  return { file, sealed, approval, newOwner: getAddress(stringField(v, "newOwner", file, isAddress, "an address")) };
}

/** A short code both the recovering person and the guardian see, to confirm over the phone that it is the same request. */
export function requestCode(r: RecoveryRequestMessage): string {
  const text = `${r.accountId.toLowerCase()}:${r.devicePublicKey.toLowerCase()}:${getAddress(r.newOwner)}:${r.expiresAt}`;
  const h = toBareHex(sha256(utf8ToBytes(text)));
  return `${h.slice(0, 4)}-${h.slice(4, 8)}`;
}
