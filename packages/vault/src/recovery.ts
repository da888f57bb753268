// Social recovery end to end: guardian shares on IPFS, the guardian list private in the vault, its hash and the owner timelock on-chain.
import { type CID, decodeCbor, encodeBlock, fromHex, getBlock, parseCid, putBlock, to0xHex, type VaultRecovery } from "@mosaic/protocol";
import type { Doc } from "@mosaic/threads";
import { computeAddress, getAddress, type Signer } from "ethers";
import type { Blockstore } from "interface-blockstore";
import { collectionName, VAULT_NAMESPACE } from "./ability.js";
import { MalformedShareError, ShareTamperedError } from "./guardian-errors.js";
import {
  accountIdOfKey,
  accountKeyFromSeed,
  approvalHashOf,
  approveRecovery,
  type CombinedSeed,
  combineApprovals,
  type GuardianConfig,
  type GuardianInfo,
  type GuardianKey,
  guardianKeyFromSeed,
  guardiansHash,
  MAX_APPROVAL_LIFETIME,
  openSharePackage,
  type RecoveryDomain,
  registrationHashOf,
  signRecoveryApproval,
  signRecoveryRegistration,
  splitSeed,
} from "./guardians.js";
import type { Vault } from "./vault.js";

const GUARDIANS = collectionName(VAULT_NAMESPACE, "guardians");
const RECOVERY = collectionName(VAULT_NAMESPACE, "recovery");
const GUARDIANSHIPS = collectionName(VAULT_NAMESPACE, "guardianships");
/** Share packages and approvals are a few hundred bytes each; anything far larger is hostile. */
export const MAX_SHARE_BLOCK_BYTES = 64 * 1024;

/**
 * The account id a vault is known by on the recovery contract: the tagged hash of its account key's address, both
 * derived from the seed, so it survives recovery and only the seed's holder can register it.
 */
export function accountIdOf(rootSeed: Uint8Array): Uint8Array {
  return fromHex(accountIdOfKey(accountKeyFromSeed(rootSeed).address));
}

/** How long a recovery request's approvals stay good for when the device does not say. */
export const DEFAULT_APPROVAL_LIFETIME = 7 * 24 * 3600;

/** The chain and address a recovery contract's hashes are bound to, read from its runner's provider. */
async function domainOf(recovery: Pick<VaultRecovery, "getAddress" | "runner">): Promise<RecoveryDomain> {
  const provider = recovery.runner?.provider;
  if (provider == null) throw new TypeError("recovery: the contract is not connected to a provider; attach it to a signer or provider");
  return { chainId: (await provider.getNetwork()).chainId, contract: await recovery.getAddress() };
}

/** The chain's latest block time, seconds: what the contract compares an approval's expiry with. */
async function chainNow(recovery: Pick<VaultRecovery, "runner">): Promise<number> {
  const block = await recovery.runner?.provider?.getBlock("latest");
  return block?.timestamp ?? Math.floor(Date.now() / 1000);
}

/** A guardian in the owner's private list. */
export interface GuardianEntry extends Doc {
  address: string;
  publicKey: string;
  label: string;
  added: number;
}

/** What a guardian is sent when asked to guard a vault: where its share package is. */
export interface Invitation {
  accountId: string;
  guardian: string;
  index: number;
  packageCid: string;
  /** How the owner is named to the guardian. */
  from: string;
}

/** A guardianship a guardian accepted: kept in the guardian's own vault. */
export interface Guardianship extends Doc {
  accountId: string;
  from: string;
  index: number;
  packageCid: string;
  /** The sealed share itself (a few hundred bytes): kept in the thread so every device of the guardian's vault can approve. */
  package: Uint8Array;
  accepted: number;
}

/** The protection in force: the split, where the packages are, and the hash anchored on-chain. */
export interface RecoverySetup extends Doc {
  accountId: string;
  threshold: number;
  guardiansHash: string;
  invitations: Invitation[];
  created: number;
}

async function putBytes(blocks: Pick<Blockstore, "put">, bytes: Uint8Array): Promise<CID> {
  const block = await encodeBlock(bytes);
  await putBlock(blocks, block);
  return block.cid;
}

async function getBytes(blocks: Pick<Blockstore, "get">, cid: string, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  const value = decodeCbor(await getBlock(blocks, parseCid(cid), { maxBytes: MAX_SHARE_BLOCK_BYTES, signal }));
  if (!(value instanceof Uint8Array)) throw new MalformedShareError(`${what} ${cid}: expected a byte string block`);
  return value;
}

// -- The owner ---------------------------------------------------------------------------------------------------

/** This vault's guardian key: what others seal shares to when this vault guards them. */
export function guardianKeyOf(vault: Vault): GuardianKey {
  return guardianKeyFromSeed(vault.rootSeed);
}

/** Adds a guardian to the private list (takes effect with the next `protectVault`). */
export async function addGuardian(vault: Vault, guardian: { publicKey: string; label: string }): Promise<GuardianEntry> {
  const publicKey = fromHex(guardian.publicKey, { length: 33, field: "guardian public key" });
  let address: string;
  try {
    // computeAddress checks the point is on the curve.
    address = computeAddress(to0xHex(publicKey));
  } catch {
    throw new TypeError(
      `guardian public key: ${guardian.publicKey} is not a secp256k1 point; ask the guardian for the key 'mosaic vault guardians whoami' prints`,
    );
  }
  if (typeof guardian.label !== "string" || guardian.label.length === 0 || guardian.label.length > 64)
    throw new TypeError("guardian label: expected 1..64 characters");
  const guardians = vault.thread.collection<GuardianEntry>(GUARDIANS);
  if (guardians.get(address) !== undefined) throw new TypeError(`guardian ${address} is already in the list`);
  if (address === guardianKeyOf(vault).address) throw new TypeError("a vault cannot be its own guardian");
  return guardians.create({ _id: address, address, publicKey: to0xHex(publicKey), label: guardian.label, added: Date.now() });
}

/** Removes a guardian from the private list (takes effect with the next `protectVault`, after the contract's delay). */
export async function removeGuardian(vault: Vault, address: string): Promise<void> {
  const guardians = vault.thread.collection<GuardianEntry>(GUARDIANS);
  const id = getAddress(address);
  if (guardians.get(id) === undefined) throw new TypeError(`${id} is not one of your guardians ('mosaic vault guardians list')`);
  await guardians.delete(id);
}

export function listGuardians(vault: Vault): GuardianEntry[] {
  return vault.thread.collection<GuardianEntry>(GUARDIANS).find({ orderBy: "added" });
}

/** The protection in force, if the vault was ever protected. */
export function recoverySetup(vault: Vault): RecoverySetup | undefined {
  return vault.thread.collection<RecoverySetup>(RECOVERY).get("setup");
}

export interface ProtectInit {
  threshold: number;
  /** Name the guardians will see for this vault. */
  from: string;
  /** Timelock on a recovery, seconds (at least the contract's minimum). @default 172800 (48 h) */
  recoveryDelay?: bigint;
  /** Delay before a new guardian set replaces the old one, seconds. @default 172800 (48 h) */
  guardianDelay?: bigint;
}

/**
 * Splits the root seed t-of-n among the listed guardians, puts each sealed share on IPFS, keeps the list and
 * the invitations privately in the vault, and anchors only the guardian set's hash on-chain (registering the
 * account, or proposing the new set, which takes effect after the guardian delay). Without `recovery` the
 * on-chain step is skipped: a device recovering then cannot check the guardian set against the chain.
 */
export async function protectVault(
  vault: Vault,
  components: { blocks: Pick<Blockstore, "put">; recovery?: VaultRecovery },
  init: ProtectInit,
): Promise<RecoverySetup> {
  const guardians: GuardianInfo[] = listGuardians(vault).map((g) => ({
    address: g.address,
    publicKey: fromHex(g.publicKey, { length: 33, field: "publicKey" }),
    label: g.label,
  }));
  const accountId = accountIdOf(vault.rootSeed);
  const { config, packages } = await splitSeed(vault.rootSeed, { accountId, guardians, threshold: init.threshold });
  const invitations: Invitation[] = [];
  for (const [index, pkg] of packages.entries()) {
    const cid = await putBytes(components.blocks, pkg);
    invitations.push({
      accountId: to0xHex(accountId),
      guardian: guardians[index]?.address as string,
      index,
      packageCid: cid.toString(),
      from: init.from,
    });
  }
  const hash = guardiansHash(config);
  const id = to0xHex(accountId);
  const recovery = components.recovery;
  if (recovery !== undefined) {
    const owner = await recovery.ownerOf(id);
    if (owner === "0x0000000000000000000000000000000000000000") {
      const sender = recovery.runner as Signer | null;
      if (typeof sender?.getAddress !== "function")
        throw new TypeError("components.recovery: registering needs the contract connected to the owner's signer");
      const r = {
        accountId: id,
        owner: await sender.getAddress(),
        guardiansHash: hash,
        recoveryDelay: init.recoveryDelay ?? 172_800n,
        guardianDelay: init.guardianDelay ?? 172_800n,
      };
      // The account key signs the sender in: the same call sent by anyone else is refused.
      const signature = await signRecoveryRegistration(accountKeyFromSeed(vault.rootSeed), registrationHashOf(await domainOf(recovery), r));
      await (await recovery.register(id, hash, r.recoveryDelay, r.guardianDelay, signature)).wait();
    } else {
      await (await recovery.proposeGuardians(id, hash)).wait();
    }
  }
  const setup = { accountId: id, threshold: config.threshold, guardiansHash: hash, invitations, created: Date.now() };
  const c = vault.thread.collection<RecoverySetup>(RECOVERY);
  if (c.get("setup") !== undefined) await c.delete("setup");
  return c.create({ ...setup, _id: "setup" });
}

// -- A guardian --------------------------------------------------------------------------------------------------

/** Checks an invitation's package opens with this vault's guardian key, and keeps the guardianship. */
export async function acceptGuardianship(
  vault: Vault,
  blocks: Pick<Blockstore, "get">,
  invitation: Invitation,
  options: { signal?: AbortSignal } = {},
): Promise<Guardianship> {
  const accountId = fromHex(invitation.accountId, { length: 32, field: "invitation.accountId" });
  const pkg = await getBytes(blocks, invitation.packageCid, "share package", options.signal);
  const opened = openSharePackage(guardianKeyOf(vault), pkg, accountId);
  if (opened.index !== invitation.index)
    throw new ShareTamperedError(`invitation says index ${invitation.index}, the package says ${opened.index}`);
  const c = vault.thread.collection<Guardianship>(GUARDIANSHIPS);
  const id = to0xHex(accountId);
  const doc = {
    accountId: id,
    from: invitation.from,
    index: opened.index,
    packageCid: invitation.packageCid,
    package: pkg,
    accepted: Date.now(),
  };
  if (c.get(id) !== undefined) await c.delete(id);
  return c.create({ ...doc, _id: id });
}

export function listGuardianships(vault: Vault): Guardianship[] {
  return vault.thread.collection<Guardianship>(GUARDIANSHIPS).find({ orderBy: "accepted" });
}

/** What a new device sends its guardians (as a file, a QR code or a message). */
export interface RecoveryRequestMessage {
  accountId: string;
  devicePublicKey: string;
  newOwner: string;
  /**
   * Unix seconds: the last second the guardians' on-chain approvals are good for. Every guardian signs this same
   * value, since the contract takes one expiry per recovery; at most MAX_APPROVAL_LIFETIME ahead.
   */
  expiresAt: number;
}

/** What a guardian sends back: its share re-sealed to the device (on IPFS), and its on-chain approval. */
export interface RecoveryApproval {
  guardian: string;
  approvalCid: string;
  /** The signature of the contract's approvalHash; absent when the guardian approved without the chain. */
  signature?: string;
  /** The expiry the signature covers (the request's); absent with the signature. */
  expiresAt?: number;
}

/**
 * A guardian approves a recovery: re-seals its share to the new device's key, puts it on IPFS, and (only with
 * `recovery`) signs the contract's approval hash for the new owner until the request's expiry, under the account's
 * current nonce and guardian set as read from the chain; the rest of the hash is built here from the request.
 * Only do this after confirming the request with the person.
 */
export async function approveRecoveryRequest(
  vault: Vault,
  components: {
    blocks: Pick<Blockstore, "get" | "put">;
    recovery?: Pick<VaultRecovery, "nonceOf" | "guardiansHashOf" | "getAddress" | "runner">;
  },
  request: RecoveryRequestMessage,
  options: { signal?: AbortSignal } = {},
): Promise<RecoveryApproval> {
  const accountId = fromHex(request.accountId, { length: 32, field: "request.accountId" });
  const devicePublicKey = fromHex(request.devicePublicKey, { length: 33, field: "request.devicePublicKey" });
  const newOwner = getAddress(request.newOwner);
  const { expiresAt } = request;
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0)
    throw new TypeError(`request.expiresAt: expected unix seconds, a positive integer, got ${JSON.stringify(expiresAt)}`);
  const recovery = components.recovery;
  const now = recovery === undefined ? Math.floor(Date.now() / 1000) : await chainNow(recovery);
  if (expiresAt < now)
    throw new RangeError(`request.expiresAt: ${expiresAt} has passed (it is ${now}): ask the person for a new recovery request`);
  if (expiresAt > now + MAX_APPROVAL_LIFETIME)
    throw new RangeError(
      `request.expiresAt: ${expiresAt} is more than ${MAX_APPROVAL_LIFETIME} s ahead (it is ${now}); the contract would refuse it: ask for a new request`,
    );
  const guardianship = vault.thread.collection<Guardianship>(GUARDIANSHIPS).get(to0xHex(accountId));
  if (guardianship === undefined)
    throw new TypeError(`you do not guard account ${request.accountId}; 'mosaic vault guardians list' shows the accounts you guard`);
  const key = guardianKeyOf(vault);
  const pkg =
    guardianship.package instanceof Uint8Array
      ? guardianship.package
      : await getBytes(components.blocks, guardianship.packageCid, "share package", options.signal);
  const approval = approveRecovery(key, pkg, { accountId, devicePublicKey, newOwner });
  const cid = await putBytes(components.blocks, approval);
  const result: RecoveryApproval = { guardian: key.address, approvalCid: cid.toString() };
  if (recovery !== undefined) {
    const [domain, nonce, current] = await Promise.all([
      domainOf(recovery),
      recovery.nonceOf(request.accountId),
      recovery.guardiansHashOf(request.accountId),
    ]);
    const hash = approvalHashOf(domain, { accountId: to0xHex(accountId), newOwner, nonce, guardiansHash: current, expiresAt });
    result.signature = await signRecoveryApproval(key, hash);
    result.expiresAt = expiresAt;
  }
  return result;
}

// -- The new device ----------------------------------------------------------------------------------------------

/**
 * Rebuilds the root seed from the guardians' approvals, checked against the guardian set anchored on-chain.
 * ThresholdNotMetError (before anything is combined) when fewer than t approvals are good; tampered ones are named.
 */
export async function recoverSeed(
  components: { blocks: Pick<Blockstore, "get">; recovery: Pick<VaultRecovery, "guardiansHashOf"> },
  deviceKey: GuardianKey,
  request: RecoveryRequestMessage,
  approvals: readonly RecoveryApproval[],
  options: { signal?: AbortSignal } = {},
): Promise<CombinedSeed> {
  const accountId = fromHex(request.accountId, { length: 32, field: "request.accountId" });
  const expected = await components.recovery.guardiansHashOf(request.accountId);
  const blocks = await Promise.all(approvals.map((a) => getBytes(components.blocks, a.approvalCid, "approval", options.signal)));
  return combineApprovals(deviceKey, blocks, { accountId, guardiansHash: expected });
}

/**
 * Starts the on-chain timelock that moves the account to the new owner, with t guardians' signatures (unsigned
 * approvals are left out). The signed approvals must share one expiry (the request's), which the contract checks.
 */
export async function startRecovery(
  recovery: VaultRecovery,
  config: GuardianConfig,
  newOwner: string,
  approvals: readonly RecoveryApproval[],
): Promise<{ executableAt: bigint }> {
  const signed = approvals.filter((a) => a.signature !== undefined);
  const expiries = [...new Set(signed.map((a) => a.expiresAt))];
  if (expiries.length > 1 || expiries.some((e) => e === undefined))
    throw new RangeError(
      `approvals: the signed approvals name expiries ${expiries.join(", ")}, not one: they answer different requests; pass one request's approvals`,
    );
  const byGuardian = new Map(signed.map((a) => [getAddress(a.guardian), a.signature]));
  const signatures = config.guardians.flatMap((g) => byGuardian.get(getAddress(g.address)) ?? []);
  const id = to0xHex(config.accountId);
  await (
    await recovery.startRecovery(
      id,
      newOwner,
      BigInt(expiries[0] ?? 0),
      config.threshold,
      config.guardians.map((g) => g.address),
      config.shareHashes.map((h) => to0xHex(h)),
      to0xHex(config.salt),
      signatures,
    )
  ).wait();
  const [, executableAt] = await recovery.pendingRecoveryOf(id);
  return { executableAt };
}
