// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccountId, IVaultRecovery} from "./interfaces/IVaultRecovery.sol";
import {Signatures} from "./lib/Signatures.sol";

/// @title VaultRecovery
/// @notice Social recovery for user vaults: guardians approve a new owner off-chain, the owner has a delay to object.
/// @dev An account id is the domain-tagged hash of an account key the vault derives from its seed, and registering
/// it takes that key's signature over the chain, this contract, the sender and every registered field: whoever sees
/// the id (or the whole transaction) in the mempool cannot claim it. Guardian approvals are bound to chain, contract,
/// account, new owner, a per-account nonce that every cancelled or completed recovery bumps, the guardian set in
/// effect and an expiry, so no approval can be used twice, after its guardian set was replaced, or after it expired.
contract VaultRecovery is IVaultRecovery {
    /// @notice The longest recovery or guardian delay an account may choose.
    uint64 public constant MAX_DELAY = 365 days;
    /// @notice The most guardians a set may have (the threshold is a uint8).
    uint256 public constant MAX_GUARDIANS = 255;

    /// @notice The furthest ahead an approval's expiry may lie when it is used.
    uint64 public constant MAX_APPROVAL_LIFETIME = 30 days;

    /// @dev Domain tags: account ids, registrations and guardian approvals are hashes of different things, so none
    /// can be read as another; a new version of a scheme gets a new tag (v1 approvals had no expiry or set hash).
    bytes32 private constant _ACCOUNT_TAG = keccak256("mosaic.vault-recovery.account.v1");
    bytes32 private constant _REGISTER_TAG = keccak256("mosaic.vault-recovery.owner.v1");
    bytes32 private constant _APPROVAL_TAG = keccak256("mosaic.vault-recovery.approve.v2");

    uint64 private immutable _minRecoveryDelay;
    mapping(AccountId accountId => Account) private _accounts;

    /// @param minRecoveryDelay_ The smallest recovery delay an account may choose (48 h in production).
    constructor(uint64 minRecoveryDelay_) {
        if (minRecoveryDelay_ > MAX_DELAY) revert DelayTooLong(minRecoveryDelay_, MAX_DELAY);
        _minRecoveryDelay = minRecoveryDelay_;
    }

    // ------------------------------------------------------------- ownership

    /// @inheritdoc IVaultRecovery
    function register(
        AccountId accountId,
        bytes32 guardiansHash,
        uint64 recoveryDelay,
        uint64 guardianDelay,
        bytes calldata accountSignature
    ) external {
        if (AccountId.unwrap(accountId) == bytes32(0)) revert InvalidAccountId();
        Account storage account = _accounts[accountId];
        if (account.owner != address(0)) revert AccountExists(accountId);
        if (guardiansHash == bytes32(0)) revert ZeroGuardiansHash();
        if (recoveryDelay < _minRecoveryDelay) revert DelayTooShort(recoveryDelay, _minRecoveryDelay);
        if (recoveryDelay > MAX_DELAY) revert DelayTooLong(recoveryDelay, MAX_DELAY);
        if (guardianDelay > MAX_DELAY) revert DelayTooLong(guardianDelay, MAX_DELAY);
        // The signature binds msg.sender: the same bytes sent from any other address recover some unrelated signer.
        bytes32 digest = Signatures.ethSignedDigest(
            _registrationHash(accountId, msg.sender, guardiansHash, recoveryDelay, guardianDelay)
        );
        address signer = Signatures.recover(digest, accountSignature);
        if (signer == address(0) || AccountId.unwrap(_accountIdOf(signer)) != AccountId.unwrap(accountId)) {
            revert NotSignedByAccountKey(accountId, signer);
        }
        account.owner = msg.sender;
        account.guardiansHash = guardiansHash;
        account.recoveryDelay = recoveryDelay;
        account.guardianDelay = guardianDelay;
        emit AccountRegistered(accountId, msg.sender, guardiansHash, recoveryDelay, guardianDelay);
    }

    // ------------------------------------------------------------- guardians

    /// @inheritdoc IVaultRecovery
    function proposeGuardians(AccountId accountId, bytes32 newGuardiansHash) external {
        Account storage account = _ownedBy(accountId, msg.sender);
        if (newGuardiansHash == bytes32(0)) revert ZeroGuardiansHash();
        // A matured change must land before the pending slot is overwritten, or it would be lost.
        _applyGuardiansChange(accountId, account);
        uint64 effectiveAt = uint64(block.timestamp) + account.guardianDelay;
        account.pendingGuardiansHash = newGuardiansHash;
        account.guardiansEffectiveAt = effectiveAt;
        emit GuardiansChangeProposed(accountId, newGuardiansHash, effectiveAt);
    }

    /// @inheritdoc IVaultRecovery
    function cancelGuardiansChange(AccountId accountId) external {
        Account storage account = _ownedBy(accountId, msg.sender);
        // A change whose time has come is in effect already and can no longer be cancelled.
        _applyGuardiansChange(accountId, account);
        bytes32 cancelled = account.pendingGuardiansHash;
        if (cancelled == bytes32(0)) revert NoPendingGuardiansChange(accountId);
        account.pendingGuardiansHash = bytes32(0);
        account.guardiansEffectiveAt = 0;
        emit GuardiansChangeCancelled(accountId, cancelled);
    }

    // -------------------------------------------------------------- recovery

    /// @inheritdoc IVaultRecovery
    function startRecovery(
        AccountId accountId,
        address newOwner,
        uint64 expiresAt,
        uint8 threshold,
        address[] calldata guardians,
        bytes32[] calldata shareHashes,
        bytes32 salt,
        bytes[] calldata signatures
    ) external {
        Account storage account = _recoverable(accountId, newOwner);
        _checkExpiry(accountId, expiresAt);
        _checkGuardianSet(accountId, account, threshold, guardians, shareHashes, salt);
        _checkApprovals(_approvalDigest(accountId, account, newOwner, expiresAt), threshold, guardians, signatures);

        uint64 executableAt = uint64(block.timestamp) + account.recoveryDelay;
        account.pendingNewOwner = newOwner;
        account.recoveryExecutableAt = executableAt;
        emit RecoveryStarted(accountId, newOwner, executableAt, account.nonce);
    }

    /// @inheritdoc IVaultRecovery
    function cancelRecovery(AccountId accountId) external {
        Account storage account = _ownedBy(accountId, msg.sender);
        address cancelled = account.pendingNewOwner;
        if (cancelled == address(0)) revert NoPendingRecovery(accountId);
        account.pendingNewOwner = address(0);
        account.recoveryExecutableAt = 0;
        ++account.nonce;
        emit RecoveryCancelled(accountId, cancelled);
    }

    /// @inheritdoc IVaultRecovery
    function completeRecovery(AccountId accountId) external {
        Account storage account = _accounts[accountId];
        address newOwner = account.pendingNewOwner;
        if (newOwner == address(0)) revert NoPendingRecovery(accountId);
        uint64 executableAt = account.recoveryExecutableAt;
        if (block.timestamp < executableAt) revert RecoveryNotReady(accountId, executableAt, block.timestamp);
        address oldOwner = account.owner;
        account.owner = newOwner;
        account.pendingNewOwner = address(0);
        account.recoveryExecutableAt = 0;
        ++account.nonce;
        emit RecoveryCompleted(accountId, oldOwner, newOwner);
    }

    // ----------------------------------------------------------------- views

    /// @inheritdoc IVaultRecovery
    function ownerOf(AccountId accountId) external view returns (address) {
        return _accounts[accountId].owner;
    }

    /// @inheritdoc IVaultRecovery
    function guardiansHashOf(AccountId accountId) external view returns (bytes32) {
        Account storage account = _accounts[accountId];
        if (_guardiansChangeMatured(account)) return account.pendingGuardiansHash;
        return account.guardiansHash;
    }

    /// @inheritdoc IVaultRecovery
    function nonceOf(AccountId accountId) external view returns (uint64) {
        return _accounts[accountId].nonce;
    }

    /// @inheritdoc IVaultRecovery
    function pendingRecoveryOf(AccountId accountId) external view returns (address newOwner, uint64 executableAt) {
        Account storage account = _accounts[accountId];
        return (account.pendingNewOwner, account.recoveryExecutableAt);
    }

    /// @inheritdoc IVaultRecovery
    function accountOf(AccountId accountId) external view returns (Account memory) {
        return _accounts[accountId];
    }

    /// @inheritdoc IVaultRecovery
    function approvalHash(AccountId accountId, address newOwner, uint64 expiresAt) external view returns (bytes32) {
        Account storage account = _accounts[accountId];
        bytes32 guardiansHash = _guardiansChangeMatured(account) ? account.pendingGuardiansHash : account.guardiansHash;
        return _approvalHash(accountId, newOwner, account.nonce, guardiansHash, expiresAt);
    }

    /// @inheritdoc IVaultRecovery
    function accountIdOf(address accountKey) external pure returns (AccountId) {
        return _accountIdOf(accountKey);
    }

    /// @inheritdoc IVaultRecovery
    function registrationHash(
        AccountId accountId,
        address owner,
        bytes32 guardiansHash,
        uint64 recoveryDelay,
        uint64 guardianDelay
    ) external view returns (bytes32) {
        return _registrationHash(accountId, owner, guardiansHash, recoveryDelay, guardianDelay);
    }

    /// @inheritdoc IVaultRecovery
    function minRecoveryDelay() external view returns (uint64) {
        return _minRecoveryDelay;
    }

    // --------------------------------------------------------------- private

    /// @dev The account, after checking it exists and `caller` owns it.
    function _ownedBy(AccountId accountId, address caller) private view returns (Account storage account) {
        account = _accounts[accountId];
        if (account.owner == address(0)) revert UnknownAccount(accountId);
        if (account.owner != caller) revert NotOwner(accountId, caller);
    }

    /// @dev The account, after checking a recovery to `newOwner` may start on it.
    function _recoverable(AccountId accountId, address newOwner) private view returns (Account storage account) {
        account = _accounts[accountId];
        address owner = account.owner;
        if (owner == address(0)) revert UnknownAccount(accountId);
        if (account.pendingNewOwner != address(0)) {
            revert RecoveryAlreadyPending(accountId, account.recoveryExecutableAt);
        }
        if (newOwner == address(0) || newOwner == owner) revert InvalidNewOwner(newOwner);
    }

    /// @dev Checks the approvals' expiry has not passed and is not further ahead than `MAX_APPROVAL_LIFETIME`.
    function _checkExpiry(AccountId accountId, uint64 expiresAt) private view {
        if (block.timestamp > expiresAt) revert ApprovalExpired(accountId, expiresAt, block.timestamp);
        uint256 latestAllowed = block.timestamp + MAX_APPROVAL_LIFETIME;
        if (expiresAt > latestAllowed) revert ApprovalExpiryTooFar(accountId, expiresAt, latestAllowed);
    }

    /// @dev Checks the revealed guardian set is well formed and is the account's effective one, folding in a matured
    /// change first, so `account.guardiansHash` is the set in effect afterwards.
    function _checkGuardianSet(
        AccountId accountId,
        Account storage account,
        uint8 threshold,
        address[] calldata guardians,
        bytes32[] calldata shareHashes,
        bytes32 salt
    ) private {
        uint256 guardianCount = guardians.length;
        if (
            guardianCount != shareHashes.length || threshold < 2 || threshold > guardianCount
                || guardianCount > MAX_GUARDIANS
        ) revert InvalidGuardianSet(threshold, guardianCount, shareHashes.length);
        _applyGuardiansChange(accountId, account);
        bytes32 computed = keccak256(abi.encode(threshold, guardians, shareHashes, salt));
        bytes32 expected = account.guardiansHash;
        if (computed != expected) revert GuardiansMismatch(accountId, computed, expected);
    }

    /// @dev Checks every signature is a distinct guardian's approval of `digest` and that there are `threshold`.
    function _checkApprovals(
        bytes32 digest,
        uint8 threshold,
        address[] calldata guardians,
        bytes[] calldata signatures
    ) private pure {
        // Bit i is set once guardians[i] has approved; at most 255 guardians keeps every index inside the word.
        uint256 approved;
        uint256 signatureCount = signatures.length;
        for (uint256 i = 0; i < signatureCount; ++i) {
            address signer = _recover(digest, signatures[i], i);
            uint256 index = _indexOf(guardians, signer);
            if (index == type(uint256).max) revert NotAGuardian(i, signer);
            uint256 bit = 1 << index;
            if (approved & bit != 0) revert DuplicateApproval(signer);
            approved |= bit;
        }
        // Every signature either counted once or reverted above, so the approvals are the signatures.
        if (signatureCount < threshold) revert ThresholdNotMet(signatureCount, threshold);
    }

    function _guardiansChangeMatured(Account storage account) private view returns (bool) {
        return account.pendingGuardiansHash != bytes32(0) && block.timestamp >= account.guardiansEffectiveAt;
    }

    /// @dev Folds a pending guardian change whose time has come into the stored hash.
    function _applyGuardiansChange(AccountId accountId, Account storage account) private {
        if (!_guardiansChangeMatured(account)) return;
        bytes32 guardiansHash = account.pendingGuardiansHash;
        account.guardiansHash = guardiansHash;
        account.pendingGuardiansHash = bytes32(0);
        account.guardiansEffectiveAt = 0;
        emit GuardiansChangeApplied(accountId, guardiansHash);
    }

    function _approvalHash(AccountId accountId, address newOwner, uint64 nonce, bytes32 guardiansHash, uint64 expiresAt)
        private
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                _APPROVAL_TAG,
                block.chainid,
                address(this),
                accountId,
                newOwner,
                uint256(nonce),
                guardiansHash,
                uint256(expiresAt)
            )
        );
    }

    /// @dev The EIP-191 digest guardians sign, over the account's current nonce and stored guardian set (call it after
    /// `_checkGuardianSet`, which folds a matured change in): approvals for any other set recover unrelated signers.
    function _approvalDigest(AccountId accountId, Account storage account, address newOwner, uint64 expiresAt)
        private
        view
        returns (bytes32)
    {
        return Signatures.ethSignedDigest(
            _approvalHash(accountId, newOwner, account.nonce, account.guardiansHash, expiresAt)
        );
    }

    function _registrationHash(
        AccountId accountId,
        address owner,
        bytes32 guardiansHash,
        uint64 recoveryDelay,
        uint64 guardianDelay
    ) private view returns (bytes32) {
        return keccak256(
            abi.encode(
                _REGISTER_TAG,
                block.chainid,
                address(this),
                accountId,
                owner,
                guardiansHash,
                uint256(recoveryDelay),
                uint256(guardianDelay)
            )
        );
    }

    function _accountIdOf(address accountKey) private pure returns (AccountId) {
        return AccountId.wrap(keccak256(abi.encode(_ACCOUNT_TAG, accountKey)));
    }

    /// @dev The signer of a guardian's signature; reverts `InvalidSignature(index)` on anything malformed,
    /// malleable or unrecoverable.
    function _recover(bytes32 digest, bytes calldata signature, uint256 index) private pure returns (address signer) {
        signer = Signatures.recover(digest, signature);
        if (signer == address(0)) revert InvalidSignature(index);
    }

    /// @dev The first position of `who` in `list`, or `type(uint256).max` when absent.
    function _indexOf(address[] calldata list, address who) private pure returns (uint256) {
        uint256 length = list.length;
        for (uint256 i = 0; i < length; ++i) {
            if (list[i] == who) return i;
        }
        return type(uint256).max;
    }
}
