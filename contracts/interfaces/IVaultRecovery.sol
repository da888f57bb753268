// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Identifier of a vault account: `keccak256(abi.encode(keccak256("mosaic.vault-recovery.account.v1"),
/// accountKey))`, where `accountKey` is the address of a key the vault derives from its root seed (see
/// `IVaultRecovery.accountIdOf`). Only that key can register the id, so a copied id cannot be squatted.
type AccountId is bytes32;

/// @title IVaultRecovery
/// @notice Social recovery of vault ownership: a threshold of guardians moves an account to a new owner after a delay
/// the current owner can use to cancel.
/// @dev The guardian set is stored only as `keccak256(abi.encode(uint8 threshold, address[] guardians,
/// bytes32[] shareHashes, bytes32 salt))`, so it stays private until a recovery reveals it.
interface IVaultRecovery {
    /// @notice An account's record as stored.
    /// @dev `guardiansHash` is the stored hash: a pending change whose time has come is folded in lazily, so read the
    /// effective set with `guardiansHashOf`. Field order is the ABI tuple order.
    struct Account {
        /// @dev Zero for an account that was never registered.
        address owner;
        bytes32 guardiansHash;
        /// @dev Zero when no guardian change is pending.
        bytes32 pendingGuardiansHash;
        /// @dev When `pendingGuardiansHash` takes effect; zero when none is pending.
        uint64 guardiansEffectiveAt;
        uint64 recoveryDelay;
        uint64 guardianDelay;
        /// @dev Bumped by every cancelled or completed recovery, so guardian approvals cannot be replayed.
        uint64 nonce;
        /// @dev Zero when no recovery is pending.
        address pendingNewOwner;
        /// @dev When the pending recovery may be completed; zero when none is pending.
        uint64 recoveryExecutableAt;
    }

    /// @notice The account id zero was given.
    error InvalidAccountId();
    /// @notice The registration signature does not come from the key the account id is derived from: `signer` is
    /// the address it recovers (zero when malformed or malleable), and `accountIdOf(signer) != accountId`. A
    /// registration copied from the mempool and sent from another address ends here, since the signature binds the
    /// sender.
    error NotSignedByAccountKey(AccountId accountId, address signer);
    /// @notice An account with this id is already registered.
    error AccountExists(AccountId accountId);
    /// @notice No account with this id is registered.
    error UnknownAccount(AccountId accountId);
    /// @notice The caller is not the account's owner.
    error NotOwner(AccountId accountId, address caller);
    /// @notice A guardians hash of zero was given.
    error ZeroGuardiansHash();
    /// @notice The recovery delay is below the deployment's minimum.
    error DelayTooShort(uint64 given, uint64 minimum);
    /// @notice A delay is above `MAX_DELAY`.
    error DelayTooLong(uint64 given, uint64 maximum);
    /// @notice The owner tried to cancel a guardian change, but none is pending (or it has already taken effect).
    error NoPendingGuardiansChange(AccountId accountId);
    /// @notice A recovery is already pending for the account.
    error RecoveryAlreadyPending(AccountId accountId, uint64 executableAt);
    /// @notice The proposed new owner is zero or the current owner.
    error InvalidNewOwner(address newOwner);
    /// @notice The threshold or array lengths do not describe a guardian set: the arrays must have equal length and
    /// `2 <= threshold <= guardians <= 255`.
    error InvalidGuardianSet(uint8 threshold, uint256 guardians, uint256 shareHashes);
    /// @notice The revealed guardian set does not hash to the account's effective guardians hash.
    error GuardiansMismatch(AccountId accountId, bytes32 computed, bytes32 expected);
    /// @notice The signature at `index` is not 65 bytes, has `v` other than 27/28, a high `s`, or recovers no signer.
    error InvalidSignature(uint256 index);
    /// @notice The signature at `index` recovers an address outside the revealed guardian set.
    error NotAGuardian(uint256 index, address signer);
    /// @notice The same guardian signed twice.
    error DuplicateApproval(address signer);
    /// @notice Fewer guardians approved than the set's threshold.
    error ThresholdNotMet(uint256 approvals, uint256 threshold);
    /// @notice The guardians' approvals expired at `expiresAt`; it is now `nowTimestamp`. Ask them to approve again.
    error ApprovalExpired(AccountId accountId, uint64 expiresAt, uint256 nowTimestamp);
    /// @notice The approvals' expiry is further ahead than `MAX_APPROVAL_LIFETIME` allows (`latestAllowed`).
    error ApprovalExpiryTooFar(AccountId accountId, uint64 expiresAt, uint256 latestAllowed);
    /// @notice No recovery is pending for the account.
    error NoPendingRecovery(AccountId accountId);
    /// @notice The pending recovery's delay has not passed yet.
    error RecoveryNotReady(AccountId accountId, uint64 executableAt, uint256 nowTimestamp);

    /// @notice Emitted after an account was registered to its first owner.
    event AccountRegistered(
        AccountId indexed accountId, address indexed owner, bytes32 guardiansHash, uint64 recoveryDelay, uint64 guardianDelay
    );
    /// @notice Emitted after the owner proposed a new guardian set, effective at `effectiveAt`.
    event GuardiansChangeProposed(AccountId indexed accountId, bytes32 newGuardiansHash, uint64 effectiveAt);
    /// @notice Emitted after the owner withdrew a guardian change that had not yet taken effect.
    event GuardiansChangeCancelled(AccountId indexed accountId, bytes32 cancelledGuardiansHash);
    /// @notice Emitted when a matured guardian change is folded into the stored hash (it took effect at its
    /// `effectiveAt`; this marks when storage caught up).
    event GuardiansChangeApplied(AccountId indexed accountId, bytes32 guardiansHash);
    /// @notice Emitted after a threshold of guardians started moving the account to `newOwner`.
    /// @param nonce The account nonce the approvals were signed over.
    event RecoveryStarted(AccountId indexed accountId, address indexed newOwner, uint64 executableAt, uint64 nonce);
    /// @notice Emitted after the owner cancelled a pending recovery; the nonce was bumped.
    event RecoveryCancelled(AccountId indexed accountId, address indexed cancelledNewOwner);
    /// @notice Emitted after a pending recovery moved the account to its new owner; the nonce was bumped.
    event RecoveryCompleted(AccountId indexed accountId, address indexed oldOwner, address indexed newOwner);

    /// @notice Registers an account with the caller as its owner. Only the holder of the account key can register
    /// its id, and only for the sender it signed for: a front-runner copying the call from another address fails
    /// with `NotSignedByAccountKey` and the id stays free for its owner.
    /// @param accountId `accountIdOf(accountKey)`.
    /// @param guardiansHash `keccak256(abi.encode(uint8 threshold, address[] guardians, bytes32[] shareHashes,
    /// bytes32 salt))`.
    /// @param recoveryDelay Seconds between the start of a recovery and its completion; at least `minRecoveryDelay`.
    /// @param guardianDelay Seconds before a guardian change takes effect; at most `MAX_DELAY`.
    /// @param accountSignature 65-byte `(r, s, v)` personal-sign signature by the account key over
    /// `registrationHash(accountId, msg.sender, guardiansHash, recoveryDelay, guardianDelay)`.
    function register(
        AccountId accountId,
        bytes32 guardiansHash,
        uint64 recoveryDelay,
        uint64 guardianDelay,
        bytes calldata accountSignature
    ) external;

    /// @notice Proposes a new guardian set; it replaces any change not yet in effect and takes effect after the
    /// account's guardian delay. Owner only.
    function proposeGuardians(AccountId accountId, bytes32 newGuardiansHash) external;

    /// @notice Withdraws a guardian change that has not yet taken effect. Owner only.
    function cancelGuardiansChange(AccountId accountId) external;

    /// @notice Starts moving the account to `newOwner` with approvals from a threshold of guardians. Anyone may call.
    /// @dev Approvals are signed over the guardian set in effect, so a guardian change voids every approval made
    /// before it took effect; they are void after `expiresAt` too.
    /// @param accountId The account to recover.
    /// @param newOwner The address the account moves to; neither zero nor the current owner.
    /// @param expiresAt The last second the approvals are good for, as the guardians signed it; not in the past and
    /// at most `MAX_APPROVAL_LIFETIME` ahead.
    /// @param threshold The revealed guardian set's threshold, at least 2.
    /// @param guardians The revealed guardian addresses, at most 255.
    /// @param shareHashes The revealed share hashes, one per guardian.
    /// @param salt The revealed salt; with the three above it must hash to the effective guardians hash.
    /// @param signatures 65-byte `(r, s, v)` personal-sign signatures by distinct guardians over
    /// `approvalHash(accountId, newOwner, expiresAt)`.
    function startRecovery(
        AccountId accountId,
        address newOwner,
        uint64 expiresAt,
        uint8 threshold,
        address[] calldata guardians,
        bytes32[] calldata shareHashes,
        bytes32 salt,
        bytes[] calldata signatures
    ) external;

    /// @notice Cancels the pending recovery and bumps the nonce, voiding its approvals. Owner only.
    function cancelRecovery(AccountId accountId) external;

    /// @notice Moves the account to the pending new owner once the recovery delay has passed. Anyone may call.
    function completeRecovery(AccountId accountId) external;

    /// @notice The current owner; zero for an unregistered account.
    function ownerOf(AccountId accountId) external view returns (address);

    /// @notice The guardians hash in effect now, counting a pending change whose time has come.
    function guardiansHashOf(AccountId accountId) external view returns (bytes32);

    /// @notice The nonce guardian approvals are currently signed over.
    function nonceOf(AccountId accountId) external view returns (uint64);

    /// @notice The pending recovery; both zero when there is none.
    function pendingRecoveryOf(AccountId accountId) external view returns (address newOwner, uint64 executableAt);

    /// @notice The account's stored record; all zero for an unregistered account.
    function accountOf(AccountId accountId) external view returns (Account memory);

    /// @notice What a guardian signs (EIP-191 personal-sign of these 32 bytes) to approve moving the account to
    /// `newOwner` until `expiresAt`: `keccak256(abi.encode(keccak256("mosaic.vault-recovery.approve.v2"),
    /// block.chainid, address(this), accountId, newOwner, uint256(nonce), guardiansHash, uint256(expiresAt)))` with
    /// the current nonce and the guardians hash in effect (`guardiansHashOf`).
    function approvalHash(AccountId accountId, address newOwner, uint64 expiresAt) external view returns (bytes32);

    /// @notice The id of the account whose key is `accountKey`:
    /// `keccak256(abi.encode(keccak256("mosaic.vault-recovery.account.v1"), accountKey))`.
    function accountIdOf(address accountKey) external pure returns (AccountId);

    /// @notice What the account key signs (EIP-191 personal-sign of these 32 bytes) to let `owner` register the
    /// account: `keccak256(abi.encode(keccak256("mosaic.vault-recovery.owner.v1"), block.chainid, address(this),
    /// accountId, owner, guardiansHash, uint256(recoveryDelay), uint256(guardianDelay)))`.
    function registrationHash(
        AccountId accountId,
        address owner,
        bytes32 guardiansHash,
        uint64 recoveryDelay,
        uint64 guardianDelay
    ) external view returns (bytes32);

    /// @notice The smallest recovery delay an account may choose.
    function minRecoveryDelay() external view returns (uint64);
}
