// The steps of a recovery around the files: a new device's request, a guardian accepting an invitation, and completing from approvals.
import { fromHex, namedError, to0xHex, type VaultRecovery } from "@mosaic/protocol";
import { getAddress, Wallet, ZeroAddress, ZeroHash } from "ethers";
import type { Blockstore } from "interface-blockstore";
import { type CombinedSeed, combineApprovals, deviceKey, type GuardianKey } from "./guardians.js";
import {
  acceptGuardianship,
  DEFAULT_APPROVAL_LIFETIME,
  type Guardianship,
  type RecoveryRequestMessage,
  startRecovery,
} from "./recovery.js";
import { type ApprovalFile, type InvitationFile, UnrecognisedFileError } from "./recovery-files.js";
import type { Vault } from "./vault.js";

/** Starting a recovery on-chain needs a threshold of approvals signed for the chain, and too few are. */
export class UnsignedApprovalError extends namedError("UnsignedApprovalError") {}

/** The account is not registered on the recovery contract, so it has no guardian set to check or recover through. */
export class AccountNotRegisteredError extends namedError("AccountNotRegisteredError") {}

/** A new recovery request, with the one-off device key it names and, when no owner was given, a fresh owner wallet. */
export interface NewRecoveryRequest {
  request: RecoveryRequestMessage;
  /** Its private key must stay on the device until the recovery completes. */
  deviceKey: GuardianKey;
  owner?: { address: string; privateKey: string };
}

/**
 * Makes a recovery request for `accountId` (0x and 64 hex characters), good for `validFor` seconds from now.
 * @param newOwner who owns the account on-chain afterwards. @default a fresh wallet, returned as `owner`
 */
export function newRecoveryRequest(init: { accountId: string; newOwner?: string; validFor?: number }): NewRecoveryRequest {
  const validFor = init.validFor ?? DEFAULT_APPROVAL_LIFETIME;
  if (!Number.isSafeInteger(validFor) || validFor <= 0)
    throw new RangeError(`validFor: expected a positive number of seconds, got ${JSON.stringify(init.validFor)}`);
  const key = deviceKey();
  const wallet = init.newOwner === undefined ? Wallet.createRandom() : undefined;
  const request: RecoveryRequestMessage = {
    accountId: init.accountId.toLowerCase(),
    devicePublicKey: to0xHex(key.publicKey),
    newOwner: wallet?.address ?? getAddress(init.newOwner as string),
    expiresAt: Math.floor(Date.now() / 1000) + validFor,
  };
  const result: NewRecoveryRequest = { request, deviceKey: key };
  if (wallet !== undefined) result.owner = { address: wallet.address, privateKey: wallet.privateKey };
  return result;
}

/** Accepts an invitation read from its file: checks the package opens with this vault's key, and keeps it in `blockstore` for approving later. */
export async function acceptInvitation(vault: Vault, blockstore: Pick<Blockstore, "put">, file: InvitationFile): Promise<Guardianship> {
  const { cid, bytes } = file.package;
  // The package travelled inline, checked against its CID: the one block acceptGuardianship asks for.
  const inline: Pick<Blockstore, "get"> = {
    async *get() {
      yield bytes;
    },
  };
  const g = await acceptGuardianship(vault, inline, file.invitation);
  // The package is needed again to approve a recovery; this device's blockstore keeps it.
  await blockstore.put(cid, bytes);
  return g;
}

/** The recovery contract a completion checks the guardian set against and starts the recovery on. */
export interface RecoveryContract {
  recovery: VaultRecovery;
  /** Its address as the user gave it, for messages. */
  address: string;
}

export interface CompletedRecovery {
  /** The rebuilt seed: the caller creates the vault from it, then zeroes it. */
  combined: CombinedSeed;
  /** The on-chain recovery started (or found pending), with a contract. */
  recovery: { contract: string; newOwner: string; executableAt: number } | null;
}

/**
 * Rebuilds the seed from approvals read from their files and, with `contract`, checks the guardian set against the
 * chain and starts the on-chain recovery (a run that started it but failed after may simply be repeated).
 * ThresholdNotMetError and GuardiansMismatchError carry `rejected`, whose positions index `approvals`.
 */
export async function completeRecovery(
  key: GuardianKey,
  request: RecoveryRequestMessage,
  approvals: readonly ApprovalFile[],
  contract?: RecoveryContract,
): Promise<CompletedRecovery> {
  const combine = (guardiansHash?: string) =>
    combineApprovals(
      key,
      approvals.map((a) => a.sealed),
      { accountId: fromHex(request.accountId, { length: 32, field: "request.accountId" }), guardiansHash },
    );
  if (contract === undefined) return { combined: await combine(), recovery: null };
  const { recovery, address } = contract;
  if ((await recovery.ownerOf(request.accountId)) === ZeroAddress)
    throw new AccountNotRegisteredError(
      `account ${request.accountId} is not registered on the recovery contract ${address}: check --recovery and the network, or complete without the chain flags`,
    );
  const expected = await recovery.guardiansHashOf(request.accountId);
  if (expected === ZeroHash) throw new AccountNotRegisteredError(`account ${request.accountId} has no guardian set on ${address}`);
  const combined = await combine(expected);
  const signed = approvals.filter((a) => a.approval.signature !== undefined);
  if (signed.length < combined.config.threshold)
    throw new UnsignedApprovalError(
      `only ${signed.length} of the approvals carry an on-chain signature, the account needs ${combined.config.threshold}: ask the guardians to ` +
        "approve again with --rpc and --recovery, or complete without the chain flags to rebuild the vault only",
    );
  for (const a of signed) {
    if (a.newOwner !== request.newOwner)
      throw new UnrecognisedFileError(`${a.file}: signed for new owner ${a.newOwner}, but the request names ${request.newOwner}`);
    if (a.approval.expiresAt !== request.expiresAt)
      throw new UnrecognisedFileError(
        `${a.file}: signed until ${a.approval.expiresAt}, but the request expires at ${request.expiresAt}: it answers another request`,
      );
  }
  const [pendingOwner, pendingAt] = await recovery.pendingRecoveryOf(request.accountId);
  const executableAt =
    pendingOwner === request.newOwner
      ? pendingAt
      : (
          await startRecovery(
            recovery,
            combined.config,
            request.newOwner,
            signed.map((a) => a.approval),
          )
        ).executableAt;
  return { combined, recovery: { contract: getAddress(address), newOwner: request.newOwner, executableAt: Number(executableAt) } };
}
