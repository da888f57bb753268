// Social recovery of a vault's root seed: guardian keys, ECIES sealing, Shamir share packages, approvals and recombination.
import { mapHashToField } from "@noble/curves/abstract/modular";
import { secp256k1 } from "@noble/curves/secp256k1";
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/ciphers/webcrypto";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { keccak_256 } from "@noble/hashes/sha3";
import { concatBytes } from "@noble/hashes/utils";
import { equalBytes, fromHex, to0xHex } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { AbiCoder, computeAddress, getAddress, isAddress, keccak256, Wallet } from "ethers";
import { combine as shamirCombine, split as shamirSplit } from "shamir-secret-sharing";
import {
  DecryptionFailedError,
  GuardiansMismatchError,
  MalformedShareError,
  type RejectedApproval,
  ShareTamperedError,
  ThresholdNotMetError,
  WrongAccountError,
  WrongDeviceKeyError,
  WrongGuardianKeyError,
} from "./guardian-errors.js";

export * from "./guardian-errors.js";

/** Version byte that opens every sealed message (share package or approval). */
export const SEALED_VERSION = 0x01;
/** Largest share package or approval accepted, in bytes; anything larger is refused before decrypting. */
export const MAX_SEALED_BYTES = 64 * 1024;
/** Fewest and most guardians (and the range of the threshold): Shamir over GF(256) has 255 non-zero x-coordinates. */
export const MIN_GUARDIANS = 2;
export const MAX_GUARDIANS = 255;
/** Longest guardian label, in UTF-16 code units; labels travel inside every package, so they stay short. */
export const MAX_LABEL_LENGTH = 64;

const GUARDIAN_KEY_INFO = "mosaic/guardian/secp256k1/v1";
const ACCOUNT_KEY_INFO = "mosaic/recovery/account-key/secp256k1/v1";
/** Domain tags of the recovery contract's hashes (VaultRecovery.sol); each kind of hash has its own. */
const ACCOUNT_TAG = keccak256(new TextEncoder().encode("mosaic.vault-recovery.account.v1"));
const REGISTER_TAG = keccak256(new TextEncoder().encode("mosaic.vault-recovery.owner.v1"));
const APPROVAL_TAG = keccak256(new TextEncoder().encode("mosaic.vault-recovery.approve.v2"));
/** How far ahead the recovery contract accepts an approval's expiry (its MAX_APPROVAL_LIFETIME), seconds. */
export const MAX_APPROVAL_LIFETIME = 30 * 24 * 3600;
const ECIES_INFO = "mosaic/guardian/ecies/v1";
const SEED_CHECK_INFO = "mosaic/guardian/seed-check/v1";
const SHARE_AAD_PREFIX = new TextEncoder().encode("mosaic/guardian/share/v1");
const APPROVAL_AAD_PREFIX = new TextEncoder().encode("mosaic/guardian/approval/v1");
const PAYLOAD_VERSION = 1;
const SEED_BYTES = 32;
// A share is one byte per seed byte plus the x-coordinate (shamir-secret-sharing's layout).
const SHARE_BYTES = SEED_BYTES + 1;
const PUBLIC_KEY_BYTES = 33;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + PUBLIC_KEY_BYTES + NONCE_BYTES;

/** A secp256k1 key that both signs on-chain approvals and decrypts share packages. */
export interface GuardianKey {
  privateKey: Uint8Array;
  /** 33-byte compressed point. */
  publicKey: Uint8Array;
  /** Checksummed Ethereum address of the key. */
  address: string;
}

/** A guardian as the owner names it: the key's address and public key (to seal its share to). */
export interface GuardianInfo {
  address: string;
  /** 33-byte compressed point whose address is `address`. */
  publicKey: Uint8Array;
  label?: string;
}

/** Everything a recovery needs to know besides the shares; travels inside every package and approval. */
export interface GuardianConfig {
  /** 32-byte id of the account being protected. */
  accountId: Uint8Array;
  threshold: number;
  guardians: GuardianInfo[];
  /** keccak256 of each raw share, in guardian order (32 bytes each). */
  shareHashes: Uint8Array[];
  /** 32 random bytes, so two splits with the same guardians hash differently. */
  salt: Uint8Array;
  /**
   * HKDF(seed, info "mosaic/guardian/seed-check/v1"), 32 bytes: lets the device confirm the combined seed.
   * Not part of guardiansHash (the chain never sees anything derived from the seed).
   */
  seedCheck: Uint8Array;
}

/** A share as a guardian (from its package) or a device (from an approval) sees it. */
export interface OpenedShare {
  accountId: Uint8Array;
  /** The guardian's position in `config.guardians`. */
  index: number;
  /** The raw Shamir share (33 bytes: 32 share bytes, then the x-coordinate). */
  share: Uint8Array;
  config: GuardianConfig;
}

/** What a new device asks the guardians to approve. */
export interface RecoveryRequest {
  accountId: Uint8Array;
  /** 33-byte compressed public key of the device's one-off key (from `deviceKey()`). */
  devicePublicKey: Uint8Array;
  /** The address that becomes the account's owner on-chain; the on-chain approval names it, the sealed one does not. */
  newOwner: string;
}

export interface CombineExpectations {
  accountId: Uint8Array;
  /** The account's guardiansHash as read from the chain (0x bytes32). Pass it: without it a forger who knows the device key can outvote honest approvals. */
  guardiansHash?: string;
}

export interface CombineComponents {
  /**
   * Shamir recombination; injectable so a test can prove it is never reached with too few shares.
   * @default combine from shamir-secret-sharing
   */
  combine?: (shares: Uint8Array[]) => Promise<Uint8Array>;
}

export interface CombinedSeed {
  seed: Uint8Array;
  config: GuardianConfig;
  /** Guardian indexes whose shares were combined, ascending. */
  used: number[];
  /** Approvals that could not be used, and why. */
  rejected: RejectedApproval[];
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

/** Derives the vault's guardian key from its 32-byte root seed (the same seed always gives the same key). */
export function guardianKeyFromSeed(rootSeed: Uint8Array): GuardianKey {
  assertBytes(rootSeed, SEED_BYTES, "rootSeed");
  // 48 bytes reduced mod n-1, plus 1 (FIPS 186-5 A.2.1): unbiased and never zero, so no retry loop is needed.
  const okm = hkdf(sha256, rootSeed, undefined, GUARDIAN_KEY_INFO, 48);
  return guardianKeyFromPrivateKey(mapHashToField(okm, secp256k1.CURVE.n));
}

/**
 * Derives the vault's account key from its 32-byte root seed: the key whose address names the account on the
 * recovery contract (`accountIdOfKey`) and signs its registration. Separate from the guardian key (its own HKDF
 * info), so a signature by one can never stand for the other.
 */
export function accountKeyFromSeed(rootSeed: Uint8Array): GuardianKey {
  assertBytes(rootSeed, SEED_BYTES, "rootSeed");
  const okm = hkdf(sha256, rootSeed, undefined, ACCOUNT_KEY_INFO, 48);
  return guardianKeyFromPrivateKey(mapHashToField(okm, secp256k1.CURVE.n));
}

/** The recovery contract's account id of an account key: keccak256(abi.encode(tag, address)), as a 0x bytes32. */
export function accountIdOfKey(accountKeyAddress: string): string {
  if (typeof accountKeyAddress !== "string" || !isAddress(accountKeyAddress)) {
    throw new TypeError(`accountKeyAddress: expected an Ethereum address, got ${describe(accountKeyAddress)}`);
  }
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address"], [ACCOUNT_TAG, accountKeyAddress]));
}

/** A fresh random key of the same type: the new device's one-off key during a recovery. */
export function deviceKey(): GuardianKey {
  return guardianKeyFromPrivateKey(secp256k1.utils.randomPrivateKey());
}

/** Rebuilds a GuardianKey from its 32-byte private key (e.g. a device key kept while approvals arrive). */
export function guardianKeyFromPrivateKey(privateKey: Uint8Array): GuardianKey {
  assertBytes(privateKey, 32, "privateKey");
  if (!secp256k1.utils.isValidPrivateKey(privateKey)) {
    throw new RangeError("privateKey: not a secp256k1 scalar in [1, n-1]; derive keys with guardianKeyFromSeed or deviceKey");
  }
  const publicKey = secp256k1.getPublicKey(privateKey, true);
  return { privateKey: Uint8Array.from(privateKey), publicKey, address: addressOf(publicKey) };
}

// ---------------------------------------------------------------------------------------------------------------
// ECIES

/**
 * Seals `plaintext` to a secp256k1 public key: ephemeral ECDH, HKDF-SHA256, XChaCha20-Poly1305.
 * Output: 0x01 ‖ ephemeral public key (33) ‖ nonce (24) ‖ ciphertext with tag.
 */
export function sealTo(recipientPublicKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  assertPublicKey(recipientPublicKey, "recipientPublicKey");
  assertBytes(plaintext, undefined, "plaintext");
  assertBytes(aad, undefined, "aad");
  const ephemeral = secp256k1.utils.randomPrivateKey();
  const ephemeralPublicKey = secp256k1.getPublicKey(ephemeral, true);
  const key = eciesKey(ephemeral, recipientPublicKey, ephemeralPublicKey, recipientPublicKey);
  const nonce = randomBytes(NONCE_BYTES);
  const ciphertext = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  return concatBytes(Uint8Array.of(SEALED_VERSION), ephemeralPublicKey, nonce, ciphertext);
}

/**
 * Opens what `sealTo` sealed. Structural problems (size, version, bad ephemeral key) are MalformedShareError;
 * a failed authentication (wrong key, wrong aad, altered bytes) is DecryptionFailedError.
 */
export function openFrom(privateKey: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  const recipient = guardianKeyFromPrivateKey(privateKey);
  assertBytes(aad, undefined, "aad");
  assertBytes(sealed, undefined, "sealed");
  if (sealed.length > MAX_SEALED_BYTES) {
    throw new MalformedShareError(
      `sealed: ${sealed.length} bytes, over the ${MAX_SEALED_BYTES}-byte limit; refusing to decrypt it`,
      "sealed",
    );
  }
  if (sealed.length < HEADER_BYTES + TAG_BYTES) {
    throw new MalformedShareError(
      `sealed: ${sealed.length} bytes, shorter than the ${HEADER_BYTES + TAG_BYTES}-byte minimum; it is truncated`,
      "sealed",
    );
  }
  if (sealed[0] !== SEALED_VERSION) {
    throw new MalformedShareError(
      `sealed: version byte is ${sealed[0]}, expected ${SEALED_VERSION}; it is not a Mosaic guardian message (or a newer one)`,
      "sealed",
    );
  }
  const ephemeralPublicKey = sealed.subarray(1, 1 + PUBLIC_KEY_BYTES);
  if (!isCompressedPoint(ephemeralPublicKey)) {
    throw new MalformedShareError("sealed: bytes 1-33 are not a compressed secp256k1 point; the message was altered", "sealed");
  }
  const key = eciesKey(recipient.privateKey, ephemeralPublicKey, ephemeralPublicKey, recipient.publicKey);
  const nonce = sealed.subarray(1 + PUBLIC_KEY_BYTES, HEADER_BYTES);
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(sealed.subarray(HEADER_BYTES));
  } catch (cause) {
    throw new DecryptionFailedError("sealed: authentication failed (wrong key, wrong associated data, or altered bytes)", { cause });
  }
}

function eciesKey(privateKey: Uint8Array, peer: Uint8Array, ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const sharedX = secp256k1.getSharedSecret(privateKey, peer, true).subarray(1);
  return hkdf(sha256, sharedX, concatBytes(ephemeralPublicKey, recipientPublicKey), ECIES_INFO, 32);
}

// ---------------------------------------------------------------------------------------------------------------
// Config

/**
 * keccak256(abi.encode(uint8 threshold, address[] guardians, bytes32[] shareHashes, bytes32 salt)), as a 0x bytes32.
 * The recovery contract checks this exact encoding; publicKeys, labels and seedCheck are deliberately left out.
 */
export function guardiansHash(config: Pick<GuardianConfig, "threshold" | "guardians" | "shareHashes" | "salt">): string {
  if (!Number.isInteger(config.threshold) || config.threshold < 0 || config.threshold > 255) {
    throw new RangeError(`config.threshold: expected a uint8, got ${describe(config.threshold)}`);
  }
  if (!Array.isArray(config.guardians)) throw new TypeError(`config.guardians: expected an array, got ${describe(config.guardians)}`);
  if (!Array.isArray(config.shareHashes)) throw new TypeError(`config.shareHashes: expected an array, got ${describe(config.shareHashes)}`);
  const addresses = config.guardians.map((g, i) => {
    if (typeof g?.address !== "string" || !isAddress(g.address)) {
      throw new TypeError(`config.guardians[${i}].address: expected an Ethereum address, got ${describe(g?.address)}`);
    }
    return g.address;
  });
  const hashes = config.shareHashes.map((h, i) => {
    assertBytes(h, 32, `config.shareHashes[${i}]`);
    return to0xHex(h);
  });
  assertBytes(config.salt, 32, "config.salt");
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint8", "address[]", "bytes32[]", "bytes32"],
    [config.threshold, addresses, hashes, to0xHex(config.salt)],
  );
  return keccak256(encoded);
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting (the vault owner)

/**
 * Splits `rootSeed` into one share per guardian, `threshold` of which recover it, and seals each guardian's share
 * package to that guardian's key. `packages[i]` is for `guardians[i]`.
 */
export async function splitSeed(
  rootSeed: Uint8Array,
  init: { accountId: Uint8Array; guardians: GuardianInfo[]; threshold: number },
): Promise<{ config: GuardianConfig; packages: Uint8Array[] }> {
  assertBytes(rootSeed, SEED_BYTES, "rootSeed");
  assertBytes(init.accountId, 32, "accountId");
  const { guardians, threshold } = init;
  if (!Array.isArray(guardians)) throw new TypeError(`guardians: expected an array, got ${describe(guardians)}`);
  if (guardians.length < MIN_GUARDIANS || guardians.length > MAX_GUARDIANS) {
    throw new RangeError(`guardians: expected ${MIN_GUARDIANS} to ${MAX_GUARDIANS} guardians, got ${guardians.length}`);
  }
  if (!Number.isInteger(threshold) || threshold < MIN_GUARDIANS || threshold > guardians.length) {
    throw new RangeError(
      `threshold: expected an integer from ${MIN_GUARDIANS} to guardians.length (${guardians.length}), got ${describe(threshold)}`,
    );
  }
  const seen = new Map<string, number>();
  const members = guardians.map((g, i) => {
    const field = `guardians[${i}]`;
    if (typeof g?.address !== "string" || !isAddress(g.address)) {
      throw new TypeError(`${field}.address: expected an Ethereum address, got ${describe(g?.address)}`);
    }
    const address = getAddress(g.address);
    assertPublicKey(g.publicKey, `${field}.publicKey`);
    const derived = addressOf(g.publicKey);
    if (derived !== address) {
      throw new TypeError(
        `${field}.publicKey: belongs to ${derived}, not ${field}.address ${address}; pass that guardian's own public key`,
      );
    }
    const earlier = seen.get(address);
    if (earlier !== undefined) {
      throw new RangeError(`${field}.address: ${address} is also guardians[${earlier}]; each guardian must hold a different key`);
    }
    seen.set(address, i);
    assertLabel(g.label, `${field}.label`);
    const member: GuardianInfo = { address, publicKey: Uint8Array.from(g.publicKey) };
    if (g.label !== undefined) member.label = g.label;
    return member;
  });

  const shares = await shamirSplit(rootSeed, members.length, threshold);
  const config: GuardianConfig = {
    accountId: Uint8Array.from(init.accountId),
    threshold,
    guardians: members,
    shareHashes: shares.map((s) => keccak_256(s)),
    salt: randomBytes(32),
    seedCheck: seedCheckOf(rootSeed),
  };
  const aad = shareAad(config.accountId);
  const packages = members.map((g, index) => {
    const plaintext = encodePayload({ accountId: config.accountId, index, share: shares[index]!, config });
    if (plaintext.length + HEADER_BYTES + TAG_BYTES > MAX_SEALED_BYTES) {
      throw new RangeError(
        `guardians: each share package would be ${plaintext.length + HEADER_BYTES + TAG_BYTES} bytes, over the ${MAX_SEALED_BYTES}-byte limit; shorten the labels`,
      );
    }
    return sealTo(g.publicKey, plaintext, aad);
  });
  return { config, packages };
}

// ---------------------------------------------------------------------------------------------------------------
// Guardians

/**
 * Opens a share package with the guardian's key and checks it: the share must hash to the config's commitment and
 * the package must be for this guardian. `accountId` is required because it is bound into the package's
 * associated data: without it the package cannot be decrypted at all.
 */
export function openSharePackage(guardianKey: GuardianKey, pkg: Uint8Array, accountId: Uint8Array): OpenedShare {
  const key = checkedKey(guardianKey, "guardianKey");
  assertBytes(accountId, 32, "accountId");
  const plaintext = openOrThrow(key.privateKey, pkg, shareAad(accountId), (cause) => new WrongGuardianKeyError(key.address, { cause }));
  const opened = decodePayload(plaintext, "share package");
  assertAccount(opened, accountId);
  const slot = opened.config.guardians[opened.index]!;
  if (slot.address !== key.address) {
    throw new ShareTamperedError(
      `share package is for guardian index ${opened.index} (${slot.address}) but was sealed to ${key.address}: ` +
        `it was forged or mixed up; ask the account owner to publish the guardian packages again`,
      opened.index,
      slot.address,
    );
  }
  assertShareCommitted(opened, "share package");
  return opened;
}

/**
 * A guardian's approval of a recovery: opens its share package and re-seals the share to the new device's key.
 * Sign the on-chain approval separately with `signRecoveryApproval`.
 */
export function approveRecovery(guardianKey: GuardianKey, pkg: Uint8Array, request: RecoveryRequest): Uint8Array {
  assertBytes(request?.accountId, 32, "request.accountId");
  assertPublicKey(request.devicePublicKey, "request.devicePublicKey");
  if (typeof request.newOwner !== "string" || !isAddress(request.newOwner)) {
    throw new TypeError(`request.newOwner: expected an Ethereum address, got ${describe(request.newOwner)}`);
  }
  const opened = openSharePackage(guardianKey, pkg, request.accountId);
  return sealTo(request.devicePublicKey, encodePayload(opened), approvalAad(request.accountId, request.devicePublicKey));
}

/**
 * Signs the recovery contract's approvalHash (0x bytes32) as an EIP-191 personal message over its 32 raw bytes,
 * the form `ECDSA.toEthSignedMessageHash(bytes32)` checks on-chain.
 */
export async function signRecoveryApproval(guardianKey: GuardianKey, approvalHash: string): Promise<string> {
  return signHash(guardianKey, approvalHash, "approvalHash", "guardianKey");
}

/** Signs a registrationHash with the account key (`accountKeyFromSeed`), as `register` on the contract expects it. */
export async function signRecoveryRegistration(accountKey: GuardianKey, registrationHash: string): Promise<string> {
  return signHash(accountKey, registrationHash, "registrationHash", "accountKey");
}

async function signHash(signingKey: GuardianKey, hash: string, field: string, keyField: string): Promise<string> {
  const key = checkedKey(signingKey, keyField);
  if (typeof hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hash)) {
    throw new TypeError(`${field}: expected a 0x-prefixed bytes32, got ${describe(hash)}; build it with ${field}Of`);
  }
  return new Wallet(to0xHex(key.privateKey)).signMessage(fromHex(hash));
}

/** Where a recovery contract lives: the chain and the address its hashes bind. */
export interface RecoveryDomain {
  chainId: bigint;
  contract: string;
}

/**
 * What the account key signs to let `owner` register the account with these settings, built here rather than
 * read from a node, so a lying RPC cannot have the key sign someone else in. Matches the contract's registrationHash.
 */
export function registrationHashOf(
  domain: RecoveryDomain,
  r: { accountId: string; owner: string; guardiansHash: string; recoveryDelay: bigint; guardianDelay: bigint },
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "address", "bytes32", "address", "bytes32", "uint256", "uint256"],
      [REGISTER_TAG, domain.chainId, domain.contract, r.accountId, r.owner, r.guardiansHash, r.recoveryDelay, r.guardianDelay],
    ),
  );
}

/**
 * What a guardian signs to approve moving the account to `newOwner` until `expiresAt` (unix seconds), under the
 * account's current nonce and guardian set (both read from the chain). Matches the contract's approvalHash.
 */
export function approvalHashOf(
  domain: RecoveryDomain,
  a: { accountId: string; newOwner: string; nonce: bigint; guardiansHash: string; expiresAt: number | bigint },
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "address", "bytes32", "address", "uint256", "bytes32", "uint256"],
      [APPROVAL_TAG, domain.chainId, domain.contract, a.accountId, a.newOwner, a.nonce, a.guardiansHash, BigInt(a.expiresAt)],
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The new device

/**
 * Opens the guardians' approvals with the device key, keeps the shares that match the agreed config, and combines
 * them into the root seed. Throws ThresholdNotMetError before combining when too few good shares remain.
 */
export async function combineApprovals(
  deviceKey: GuardianKey,
  approvals: Uint8Array[],
  expected: CombineExpectations,
  components: CombineComponents = {},
): Promise<CombinedSeed> {
  const device = checkedKey(deviceKey, "deviceKey");
  if (!Array.isArray(approvals)) throw new TypeError(`approvals: expected an array, got ${describe(approvals)}`);
  assertBytes(expected?.accountId, 32, "expected.accountId");
  const expectedHash = expected.guardiansHash;
  if (expectedHash !== undefined && (typeof expectedHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(expectedHash))) {
    throw new TypeError(`expected.guardiansHash: expected a 0x-prefixed bytes32, got ${describe(expectedHash)}`);
  }
  for (const [i, a] of approvals.entries()) assertBytes(a, undefined, `approvals[${i}]`);
  const combine = components.combine ?? shamirCombine;

  const rejected: RejectedApproval[] = [];
  const groups = new Map<string, ConfigGroup>();
  const aad = approvalAad(expected.accountId, device.publicKey);
  approvals.forEach((approval, position) => {
    let opened: OpenedShare;
    try {
      const plaintext = openOrThrow(
        device.privateKey,
        approval,
        aad,
        (cause) => new WrongDeviceKeyError(to0xHex(device.publicKey), { cause }),
      );
      opened = decodePayload(plaintext, "approval");
    } catch (error) {
      rejected.push({ position, error: error as Error });
      return;
    }
    try {
      assertAccount(opened, expected.accountId);
    } catch (error) {
      rejected.push({ index: opened.index, position, error: error as Error });
      return;
    }
    // Same guardiansHash with a different seedCheck is a different config: seedCheck is what vouches for the result.
    const hash = guardiansHash(opened.config);
    const key = `${hash}/${to0xHex(opened.config.seedCheck)}`;
    const group = groups.get(key) ?? { hash, config: opened.config, members: [] };
    group.members.push({ position, opened });
    groups.set(key, group);
  });

  if (groups.size === 0) throw new ThresholdNotMetError(0, undefined, sortRejected(rejected));
  let candidates = [...groups.values()];
  if (expectedHash !== undefined) {
    candidates = candidates.filter((g) => g.hash === expectedHash.toLowerCase());
    if (candidates.length === 0) {
      const found = [...new Set([...groups.values()].map((g) => g.hash))];
      throw new GuardiansMismatchError(
        `no approval carries the guardian config the chain expects (${expectedHash}); found ${found.join(", ")}. ` +
          `The guardians hold packages from another split: ask them for this account's current packages`,
        expectedHash,
        found,
        undefined,
        sortRejected(rejected),
      );
    }
  }

  // Rank configs: one that can reach its threshold first, then by how many distinct good shares back it.
  const ranked = candidates
    .map((group) => ({ group, ...screenShares(group) }))
    .sort((a, b) => meets(b) - meets(a) || b.good.size - a.good.size);
  const winner = ranked[0]!;
  const runnerUp = ranked[1];
  if (runnerUp && meets(winner) && meets(runnerUp) && runnerUp.good.size === winner.good.size) {
    throw new GuardiansMismatchError(
      `approvals carry ${ranked.length} different guardian configs with equal support (${winner.good.size} shares each): ` +
        `cannot tell which is the account's; pass expected.guardiansHash read from the chain`,
      expectedHash,
      ranked.map((r) => r.group.hash),
      undefined,
      sortRejected(rejected),
    );
  }
  rejected.push(...winner.rejected);
  for (const other of groups.values()) {
    if (other === winner.group) continue;
    for (const { position, opened } of other.members) {
      const sameHash = other.hash === winner.group.hash;
      rejected.push({
        index: opened.index,
        position,
        error: new GuardiansMismatchError(
          sameHash
            ? `approval #${position} (guardian ${opened.index}) carries a config whose seedCheck differs from the other approvals': it was altered`
            : `approval #${position} (guardian ${opened.index}) carries guardian config ${other.hash}, not ${winner.group.hash}: ` +
                `it comes from another split (or was forged); ask that guardian for this account's current package`,
          winner.group.hash,
          [other.hash],
          opened.index,
        ),
      });
    }
  }
  const config = winner.group.config;
  if (winner.good.size < config.threshold) {
    throw new ThresholdNotMetError(winner.good.size, config.threshold, sortRejected(rejected));
  }

  const used = [...winner.good.keys()].sort((a, b) => a - b);
  const seed = await combine(used.map((i) => winner.good.get(i)!));
  if (!equalBytes(seedCheckOf(seed), config.seedCheck)) {
    throw new ShareTamperedError(
      `the shares of guardians ${used.join(", ")} combine to a seed that fails the config's seedCheck: ` +
        `a share was forged together with its config; pass expected.guardiansHash from the chain and collect approvals again`,
    );
  }
  return { seed, config, used, rejected: sortRejected(rejected) };
}

interface ConfigGroup {
  hash: string;
  config: GuardianConfig;
  members: { position: number; opened: OpenedShare }[];
}

/** Splits a group's approvals into good shares (one per guardian index) and rejected ones. */
function screenShares(group: ConfigGroup): { good: Map<number, Uint8Array>; rejected: RejectedApproval[]; threshold: number } {
  const good = new Map<number, Uint8Array>();
  const xs = new Map<number, number>();
  const rejected: RejectedApproval[] = [];
  for (const { position, opened } of group.members) {
    try {
      assertShareCommitted(opened, `approval #${position}`);
    } catch (error) {
      rejected.push({ index: opened.index, position, error: error as Error });
      continue;
    }
    // The same approval delivered twice counts once; a different share at the same index already failed its hash.
    if (good.has(opened.index)) continue;
    const x = opened.share[SEED_BYTES]!;
    const clash = xs.get(x);
    if (clash !== undefined) {
      // Only a forged config can commit two guardians to the same x-coordinate; Shamir cannot combine them.
      const address = group.config.guardians[opened.index]!.address;
      rejected.push({
        index: opened.index,
        position,
        error: new ShareTamperedError(
          `approval #${position}: guardian ${opened.index} (${address})'s share repeats guardian ${clash}'s x-coordinate: the config was forged`,
          opened.index,
          address,
        ),
      });
      continue;
    }
    xs.set(x, opened.index);
    good.set(opened.index, opened.share);
  }
  return { good, rejected, threshold: group.config.threshold };
}

function meets(r: { good: Map<number, Uint8Array>; threshold: number }): number {
  return r.good.size >= r.threshold ? 1 : 0;
}

function sortRejected(rejected: RejectedApproval[]): RejectedApproval[] {
  return [...rejected].sort((a, b) => a.position - b.position);
}

// ---------------------------------------------------------------------------------------------------------------
// Payload encoding: dag-cbor {v: 1, accountId, index, share, config}

function shareAad(accountId: Uint8Array): Uint8Array {
  return concatBytes(SHARE_AAD_PREFIX, accountId);
}

function approvalAad(accountId: Uint8Array, devicePublicKey: Uint8Array): Uint8Array {
  return concatBytes(APPROVAL_AAD_PREFIX, accountId, devicePublicKey);
}

function seedCheckOf(seed: Uint8Array): Uint8Array {
  return hkdf(sha256, seed, undefined, SEED_CHECK_INFO, 32);
}

function encodePayload(p: OpenedShare): Uint8Array {
  const c = p.config;
  return dagCbor.encode({
    v: PAYLOAD_VERSION,
    accountId: p.accountId,
    index: p.index,
    share: p.share,
    config: {
      accountId: c.accountId,
      threshold: c.threshold,
      // dag-cbor has no undefined: an absent label is left out rather than encoded.
      guardians: c.guardians.map((g) => (g.label === undefined ? { address: g.address, publicKey: g.publicKey } : { ...g })),
      shareHashes: c.shareHashes,
      salt: c.salt,
      seedCheck: c.seedCheck,
    },
  });
}

function decodePayload(bytes: Uint8Array, what: string): OpenedShare {
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (cause) {
    throw new MalformedShareError(
      `${what}: decrypted, but the contents are not dag-cbor; it was made by incompatible software`,
      undefined,
      { cause },
    );
  }
  const p = record(value, what, "");
  if (p.v !== PAYLOAD_VERSION) throw malformed(what, "v", `expected ${PAYLOAD_VERSION}, got ${describe(p.v)}`);
  const accountId = bytesField(p.accountId, 32, what, "accountId");
  const config = decodeConfig(p.config, what);
  const index = p.index;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= config.guardians.length) {
    throw malformed(what, "index", `expected an integer from 0 to ${config.guardians.length - 1}, got ${describe(index)}`);
  }
  const share = bytesField(p.share, SHARE_BYTES, what, "share");
  if (share[SEED_BYTES] === 0) throw malformed(what, "share", "x-coordinate is 0, which would be the secret itself");
  return { accountId, index, share, config };
}

function decodeConfig(value: unknown, what: string): GuardianConfig {
  const c = record(value, what, "config");
  const accountId = bytesField(c.accountId, 32, what, "config.accountId");
  const guardiansValue = c.guardians;
  if (!Array.isArray(guardiansValue) || guardiansValue.length < MIN_GUARDIANS || guardiansValue.length > MAX_GUARDIANS) {
    throw malformed(
      what,
      "config.guardians",
      `expected an array of ${MIN_GUARDIANS} to ${MAX_GUARDIANS} guardians, got ${describe(guardiansValue)}`,
    );
  }
  const threshold = c.threshold;
  if (typeof threshold !== "number" || !Number.isInteger(threshold) || threshold < MIN_GUARDIANS || threshold > guardiansValue.length) {
    throw malformed(
      what,
      "config.threshold",
      `expected an integer from ${MIN_GUARDIANS} to ${guardiansValue.length}, got ${describe(threshold)}`,
    );
  }
  const seen = new Set<string>();
  const guardians = guardiansValue.map((entry: unknown, i): GuardianInfo => {
    const field = `config.guardians[${i}]`;
    const g = record(entry, what, field);
    if (typeof g.address !== "string" || !isAddress(g.address)) {
      throw malformed(what, `${field}.address`, `expected an Ethereum address, got ${describe(g.address)}`);
    }
    const address = getAddress(g.address);
    if (seen.has(address)) throw malformed(what, `${field}.address`, `${address} appears twice`);
    seen.add(address);
    const publicKey = bytesField(g.publicKey, PUBLIC_KEY_BYTES, what, `${field}.publicKey`);
    const info: GuardianInfo = { address, publicKey };
    if (g.label !== undefined) {
      if (typeof g.label !== "string" || g.label.length > MAX_LABEL_LENGTH) {
        throw malformed(what, `${field}.label`, `expected a string of at most ${MAX_LABEL_LENGTH} characters, got ${describe(g.label)}`);
      }
      info.label = g.label;
    }
    return info;
  });
  const hashesValue = c.shareHashes;
  if (!Array.isArray(hashesValue) || hashesValue.length !== guardians.length) {
    throw malformed(what, "config.shareHashes", `expected ${guardians.length} hashes (one per guardian), got ${describe(hashesValue)}`);
  }
  const shareHashes = hashesValue.map((h: unknown, i) => bytesField(h, 32, what, `config.shareHashes[${i}]`));
  const salt = bytesField(c.salt, 32, what, "config.salt");
  const seedCheck = bytesField(c.seedCheck, 32, what, "config.seedCheck");
  return { accountId, threshold, guardians, shareHashes, salt, seedCheck };
}

function record(value: unknown, what: string, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw malformed(what, field || "(root)", `expected a map, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function bytesField(value: unknown, length: number, what: string, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw malformed(what, field, `expected ${length} bytes, got ${describe(value)}`);
  }
  // Copy: decoded byte strings are views into the decrypted buffer.
  return Uint8Array.from(value);
}

function malformed(what: string, field: string, detail: string): MalformedShareError {
  return new MalformedShareError(`${what}: ${field}: ${detail}; it was made by incompatible software or forged`, field);
}

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by guardians and devices

function openOrThrow(privateKey: Uint8Array, sealed: Uint8Array, aad: Uint8Array, onAuthFailure: (cause: Error) => Error): Uint8Array {
  try {
    return openFrom(privateKey, sealed, aad);
  } catch (error) {
    if (error instanceof DecryptionFailedError) throw onAuthFailure(error);
    throw error;
  }
}

function assertAccount(opened: OpenedShare, accountId: Uint8Array): void {
  // The AAD already binds the account id; a payload naming another one was sealed inconsistently on purpose.
  for (const found of [opened.accountId, opened.config.accountId]) {
    if (!equalBytes(found, accountId)) throw new WrongAccountError(to0xHex(accountId), to0xHex(found), opened.index);
  }
}

function assertShareCommitted(opened: OpenedShare, what: string): void {
  const { index, share, config } = opened;
  const address = config.guardians[index]!.address;
  if (!equalBytes(keccak_256(share), config.shareHashes[index]!)) {
    throw new ShareTamperedError(
      `${what}: guardian ${index} (${address})'s share does not match the hash its config commits to: ` +
        `the share was altered; ask that guardian to approve again or collect another guardian's approval`,
      index,
      address,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Argument checks

function assertBytes(value: unknown, length: number | undefined, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${field}: expected a Uint8Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) throw new RangeError(`${field}: expected ${length} bytes, got ${value.length}`);
}

function assertPublicKey(value: unknown, field: string): asserts value is Uint8Array {
  assertBytes(value, PUBLIC_KEY_BYTES, field);
  if (!isCompressedPoint(value)) throw new TypeError(`${field}: not a compressed secp256k1 point (0x02/0x03 ‖ x on the curve)`);
}

/** Rebuilds the key from its private half, so a publicKey or address that does not belong to it cannot slip through. */
function checkedKey(key: GuardianKey, field: string): GuardianKey {
  if (typeof key !== "object" || key === null) throw new TypeError(`${field}: expected a GuardianKey, got ${describe(key)}`);
  assertBytes(key.privateKey, 32, `${field}.privateKey`);
  if (!secp256k1.utils.isValidPrivateKey(key.privateKey)) throw new RangeError(`${field}.privateKey: not a secp256k1 scalar in [1, n-1]`);
  const rebuilt = guardianKeyFromPrivateKey(key.privateKey);
  if (!(key.publicKey instanceof Uint8Array) || !equalBytes(key.publicKey, rebuilt.publicKey)) {
    throw new TypeError(`${field}.publicKey: does not belong to ${field}.privateKey; rebuild the key with guardianKeyFromPrivateKey`);
  }
  if (typeof key.address !== "string" || !isAddress(key.address) || getAddress(key.address) !== rebuilt.address) {
    throw new TypeError(
      `${field}.address: expected ${rebuilt.address}, got ${describe(key.address)}; rebuild the key with guardianKeyFromPrivateKey`,
    );
  }
  return rebuilt;
}

function assertLabel(label: unknown, field: string): void {
  if (label === undefined) return;
  if (typeof label !== "string") throw new TypeError(`${field}: expected a string, got ${describe(label)}`);
  if (label.length > MAX_LABEL_LENGTH)
    throw new RangeError(`${field}: expected at most ${MAX_LABEL_LENGTH} characters, got ${label.length}`);
}

function isCompressedPoint(bytes: Uint8Array): boolean {
  if (bytes.length !== PUBLIC_KEY_BYTES || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) return false;
  try {
    secp256k1.ProjectivePoint.fromHex(bytes).assertValidity();
    return true;
  } catch {
    return false;
  }
}

function addressOf(publicKey: Uint8Array): string {
  return computeAddress(to0xHex(publicKey));
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}
