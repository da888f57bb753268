// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AdmissionPolicyBase} from "./AdmissionPolicyBase.sol";
import {IAdmissionPolicy} from "./interfaces/IAdmissionPolicy.sol";
import {Signatures} from "./lib/Signatures.sol";

/// @title RegistrarAdmission
/// @notice A registrar (a health authority, a city) admits members: by signing an attestation for an identity
/// commitment, which anyone may then submit, or by adding commitments directly in batches. The registrar may remove
/// members and hand its role on.
/// @dev Sybil resistance is as strong as the registrar's own checks of who a person is. The registrar learns each
/// member's identity commitment when it admits them, so it knows who is in the group, but Semaphore proofs never
/// reveal which member made them, to the registrar or anyone else.
contract RegistrarAdmission is AdmissionPolicyBase {
    /// @notice Evidence must be 8 bytes of expiry then a 65-byte signature.
    error MalformedAttestation(uint256 groupId, uint256 length);
    /// @notice The attestation's expiry has passed.
    error AttestationExpired(uint256 groupId, uint64 expiresAt, uint256 now_);
    /// @notice The attestation is not signed by the group's registrar.
    error NotSignedByRegistrar(uint256 groupId, address signer, address registrar);
    /// @notice This commitment was already admitted to the group once.
    error AlreadyAdmitted(uint256 groupId, uint256 identityCommitment);
    /// @notice Only the group's registrar may do this.
    error NotRegistrar(uint256 groupId, address caller, address registrar);
    /// @notice The zero address cannot be a registrar.
    error ZeroRegistrar(uint256 groupId);

    /// @notice Emitted after a group was set up with `registrar` as its registrar.
    event RegistrarGroupConfigured(uint256 indexed groupId, address indexed creator, address indexed registrar);
    /// @notice Emitted after a commitment was admitted (by attestation or batch).
    event CommitmentAdmitted(uint256 indexed groupId, uint256 identityCommitment);
    /// @notice Emitted after the registrar handed its role to `newRegistrar`.
    event RegistrarChanged(uint256 indexed groupId, address indexed oldRegistrar, address indexed newRegistrar);

    /// @dev Domain tag of attestations; a new version of the scheme gets a new tag.
    bytes32 private constant _ATTESTATION_TAG = keccak256("mosaic.registrar-admission.v1");

    mapping(uint256 groupId => address) private _registrars;
    mapping(uint256 groupId => mapping(uint256 identityCommitment => bool)) private _admitted;

    /// @param groups_ The AvatarGroups contract allowed to call this policy.
    constructor(address groups_) AdmissionPolicyBase(groups_) {}

    /// @inheritdoc IAdmissionPolicy
    /// @dev `config` is `abi.encode(address registrar)`.
    function configure(uint256 groupId, address creator, bytes calldata config) external onlyGroups {
        if (_registrars[groupId] != address(0)) revert AlreadyConfigured(groupId);
        if (config.length != 32) revert InvalidConfig(groupId);
        uint256 word = uint256(bytes32(config));
        if (word >> 160 != 0) revert InvalidConfig(groupId);
        address registrar = address(uint160(word));
        if (registrar == address(0)) revert ZeroRegistrar(groupId);
        _registrars[groupId] = registrar;
        emit RegistrarGroupConfigured(groupId, creator, registrar);
    }

    /// @inheritdoc IAdmissionPolicy
    /// @dev `evidence` is `expiresAt` (8 bytes, big-endian) followed by the registrar's 65-byte signature of
    /// `attestationHash(groupId, identityCommitment, expiresAt)`. Any wallet may submit it (a relayer, say).
    function admit(uint256 groupId, address, uint256 identityCommitment, bytes calldata evidence) external onlyGroups {
        address registrar = _registrarOf(groupId);
        if (evidence.length != 73) revert MalformedAttestation(groupId, evidence.length);
        uint64 expiresAt = uint64(bytes8(evidence[0:8]));
        if (block.timestamp > expiresAt) revert AttestationExpired(groupId, expiresAt, block.timestamp);
        bytes32 digest = Signatures.ethSignedDigest(_attestationHash(groupId, identityCommitment, expiresAt));
        address signer = Signatures.recover(digest, evidence[8:73]);
        if (signer != registrar) revert NotSignedByRegistrar(groupId, signer, registrar);
        _markAdmitted(groupId, identityCommitment);
    }

    /// @inheritdoc IAdmissionPolicy
    function admitBatch(uint256 groupId, address caller, uint256[] calldata identityCommitments) external onlyGroups {
        _onlyRegistrar(groupId, caller);
        for (uint256 i = 0; i < identityCommitments.length; i++) {
            _markAdmitted(groupId, identityCommitments[i]);
        }
    }

    /// @inheritdoc IAdmissionPolicy
    function authorizeRemoval(uint256 groupId, address caller, uint256) external view onlyGroups {
        _onlyRegistrar(groupId, caller);
    }

    /// @inheritdoc IAdmissionPolicy
    function kind() external pure returns (string memory) {
        return "registrar";
    }

    /// @notice Hands the registrar role of a group to `newRegistrar`; only the current registrar may.
    function setRegistrar(uint256 groupId, address newRegistrar) external {
        address old = _onlyRegistrar(groupId, msg.sender);
        if (newRegistrar == address(0)) revert ZeroRegistrar(groupId);
        _registrars[groupId] = newRegistrar;
        emit RegistrarChanged(groupId, old, newRegistrar);
    }

    /// @notice The registrar of a group (address(0) if the group is not under this policy).
    function registrarOf(uint256 groupId) external view returns (address) {
        return _registrars[groupId];
    }

    /// @notice Whether a commitment was ever admitted to a group (a removed member cannot be admitted again).
    function isAdmitted(uint256 groupId, uint256 identityCommitment) external view returns (bool) {
        return _admitted[groupId][identityCommitment];
    }

    /// @notice The hash a registrar signs (EIP-191 personal sign) to admit `identityCommitment` until `expiresAt`;
    /// bound to this chain and this contract.
    function attestationHash(uint256 groupId, uint256 identityCommitment, uint64 expiresAt) external view returns (bytes32) {
        return _attestationHash(groupId, identityCommitment, expiresAt);
    }

    function _attestationHash(uint256 groupId, uint256 identityCommitment, uint64 expiresAt) private view returns (bytes32) {
        return keccak256(abi.encode(_ATTESTATION_TAG, block.chainid, address(this), groupId, identityCommitment, uint256(expiresAt)));
    }

    function _registrarOf(uint256 groupId) private view returns (address registrar) {
        registrar = _registrars[groupId];
        if (registrar == address(0)) revert NotConfigured(groupId);
    }

    function _onlyRegistrar(uint256 groupId, address caller) private view returns (address registrar) {
        registrar = _registrarOf(groupId);
        if (caller != registrar) revert NotRegistrar(groupId, caller, registrar);
    }

    function _markAdmitted(uint256 groupId, uint256 identityCommitment) private {
        if (_admitted[groupId][identityCommitment]) revert AlreadyAdmitted(groupId, identityCommitment);
        _admitted[groupId][identityCommitment] = true;
        emit CommitmentAdmitted(groupId, identityCommitment);
    }
}
