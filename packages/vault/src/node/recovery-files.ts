// Invitations, recovery requests, approvals and the keys beside them as files on disk: read with a size limit, written without replacing.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { FileExistsError, fromHex, namedError, to0xHex, toBareHex, writeFileAtomic } from "@mosaic/protocol";
import type { Blockstore } from "interface-blockstore";
import { type GuardianKey, guardianKeyFromPrivateKey } from "../guardians.js";
import type { Invitation, RecoveryApproval, RecoveryRequestMessage } from "../recovery.js";
import {
  type ApprovalFile,
  approvalFileText,
  checkRecoveryFileSize,
  type InvitationFile,
  invitationFileText,
  parseApprovalFile,
  parseInvitationFile,
  parseRecoveryRequestFile,
  type RecoveryFileKind,
  recoveryRequestFileText,
} from "../recovery-files.js";
import { type NewRecoveryRequest, newRecoveryRequest } from "../recovery-steps.js";
import { exists } from "./vault-dir.js";

/** A file the command would create already exists; nothing was written. */
export class OutputExistsError extends namedError("OutputExistsError") {}

/** `recover complete` cannot find the device key `recover request` wrote beside the request. */
export class DeviceKeyMissingError extends namedError("DeviceKeyMissingError") {}

/** Writes a file that must not exist yet, atomically and durably; OutputExistsError names it otherwise. */
async function writeNew(file: string, text: string, mode: number): Promise<void> {
  try {
    await writeFileAtomic(file, text, { mode, createOnly: true });
  } catch (err) {
    if (err instanceof FileExistsError) throw new OutputExistsError(`${file} already exists: move it away or pass another --out`);
    throw err;
  }
}

/** A recovery file's text, refused unread when it is far too large for its kind. */
async function readRecoveryFileText(file: string, kind: RecoveryFileKind): Promise<string> {
  const { size } = await stat(file);
  checkRecoveryFileSize(file, kind, size);
  return readFile(file, "utf8");
}

/** Reads an invitation file, its inline share package checked against its CID. */
export async function readInvitationFile(file: string): Promise<InvitationFile> {
  return parseInvitationFile(await readRecoveryFileText(file, "invitation"), file);
}

/** Writes one invitation file per guardian into `outDir` (which must exist) as invitation-<address>.json. */
export async function writeInvitationFiles(
  outDir: string,
  invitations: readonly Invitation[],
  blocks: Pick<Blockstore, "get">,
): Promise<{ invitation: Invitation; file: string }[]> {
  const written: { invitation: Invitation; file: string }[] = [];
  for (const invitation of invitations) {
    const file = path.join(outDir, `invitation-${invitation.guardian}.json`);
    await writeFileAtomic(file, await invitationFileText(invitation, blocks));
    written.push({ invitation, file });
  }
  return written;
}

/** The files a recovery request was written to. */
export interface RecoveryRequestFiles extends NewRecoveryRequest {
  request: RecoveryRequestMessage;
  /** The request itself. */
  file: string;
  /** The device's private key, beside it: `<file>.key`, mode 0600. */
  deviceKeyFile: string;
  /** The new owner wallet's key, when one was made: `<file>.owner.key`, mode 0600. */
  ownerKeyFile?: string;
}

/**
 * Makes a recovery request (see newRecoveryRequest) and writes it to `out`, its device key (and a made owner's key)
 * beside it; refuses, writing nothing, if any of those files exists. The device key's private half is zeroed after.
 */
export async function writeRecoveryRequestFiles(
  out: string,
  init: { accountId: string; newOwner?: string; validFor?: number },
): Promise<RecoveryRequestFiles> {
  const made = newRecoveryRequest(init);
  const deviceKeyFile = `${out}.key`;
  const ownerKeyFile = `${out}.owner.key`;
  const files = made.owner === undefined ? [out, deviceKeyFile] : [out, deviceKeyFile, ownerKeyFile];
  for (const f of files) if (await exists(f)) throw new OutputExistsError(`${f} already exists: move it away or pass another --out`);
  // The keys first: a request on disk always has its key beside it.
  await writeNew(deviceKeyFile, `${toBareHex(made.deviceKey.privateKey)}\n`, 0o600);
  made.deviceKey.privateKey.fill(0);
  if (made.owner !== undefined) await writeNew(ownerKeyFile, `${made.owner.privateKey}\n`, 0o600);
  await writeNew(out, recoveryRequestFileText(made.request), 0o644);
  const result: RecoveryRequestFiles = { ...made, file: out, deviceKeyFile };
  if (made.owner !== undefined) result.ownerKeyFile = ownerKeyFile;
  return result;
}

/** Reads a recovery request file. */
export async function readRecoveryRequestFile(file: string): Promise<RecoveryRequestMessage> {
  return parseRecoveryRequestFile(await readRecoveryFileText(file, "request"), file);
}

/** Reads the device key `writeRecoveryRequestFiles` left beside the request, checking it is the request's. */
export async function readDeviceKeyFile(requestFile: string, request: RecoveryRequestMessage): Promise<GuardianKey> {
  const file = `${requestFile}.key`;
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new DeviceKeyMissingError(
      `${file} is missing: 'mosaic vault recover request' writes the device key beside the request; complete the recovery on the device that made the request`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new TypeError(`${file}: expected a device private key, 64 hex characters`);
  const privateKey = fromHex(text);
  const key = guardianKeyFromPrivateKey(privateKey);
  privateKey.fill(0);
  if (to0xHex(key.publicKey) !== request.devicePublicKey)
    throw new TypeError(`${file}: not the key of the request's devicePublicKey ${request.devicePublicKey}; it belongs to another request`);
  return key;
}

/** Writes a guardian's approval of `request` to `out` (replacing it), the re-sealed share read from `blocks`. */
export async function writeApprovalFile(
  out: string,
  request: RecoveryRequestMessage,
  approval: RecoveryApproval,
  blocks: Pick<Blockstore, "get">,
): Promise<void> {
  await writeFileAtomic(out, await approvalFileText(request, approval, blocks));
}

/** Reads an approval file, refusing one that answers another request. */
export async function readApprovalFile(file: string, request: RecoveryRequestMessage): Promise<ApprovalFile> {
  return parseApprovalFile(await readRecoveryFileText(file, "approval"), file, request);
}
