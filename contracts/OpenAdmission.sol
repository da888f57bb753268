// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AdmissionPolicyBase} from "./AdmissionPolicyBase.sol";
import {IAdmissionPolicy} from "./interfaces/IAdmissionPolicy.sol";

/// @title OpenAdmission
/// @notice Anyone may join, one identity per wallet. No one can remove a member.
/// @dev Sybil resistance is only the cost of a funded wallet: someone with many wallets joins many times. Use it for
/// groups where a duplicate voice costs little (opt-in mobility panels), never where one person must be one answer.
contract OpenAdmission is AdmissionPolicyBase {
    /// @notice The wallet already registered an identity in this group.
    error AlreadyRegistered(uint256 groupId, address wallet);
    /// @notice Open registration takes no evidence.
    error UnexpectedEvidence(uint256 groupId);

    /// @notice Emitted after a group was set up with open registration.
    event OpenGroupConfigured(uint256 indexed groupId, address indexed creator);
    /// @notice Emitted after a wallet used its one registration in a group.
    event WalletAdmitted(uint256 indexed groupId, address indexed wallet);

    mapping(uint256 groupId => bool) private _configured;
    mapping(uint256 groupId => mapping(address wallet => bool)) private _registered;

    /// @param groups_ The AvatarGroups contract allowed to call this policy.
    constructor(address groups_) AdmissionPolicyBase(groups_) {}

    /// @inheritdoc IAdmissionPolicy
    function configure(uint256 groupId, address creator, bytes calldata config) external onlyGroups {
        if (_configured[groupId]) revert AlreadyConfigured(groupId);
        if (config.length != 0) revert InvalidConfig(groupId);
        _configured[groupId] = true;
        emit OpenGroupConfigured(groupId, creator);
    }

    /// @inheritdoc IAdmissionPolicy
    function admit(uint256 groupId, address caller, uint256, bytes calldata evidence) external onlyGroups {
        if (!_configured[groupId]) revert NotConfigured(groupId);
        if (evidence.length != 0) revert UnexpectedEvidence(groupId);
        if (_registered[groupId][caller]) revert AlreadyRegistered(groupId, caller);
        _registered[groupId][caller] = true;
        emit WalletAdmitted(groupId, caller);
    }

    /// @inheritdoc IAdmissionPolicy
    function admitBatch(uint256 groupId, address, uint256[] calldata) external view onlyGroups {
        revert BatchNotAllowed(groupId);
    }

    /// @inheritdoc IAdmissionPolicy
    function authorizeRemoval(uint256 groupId, address, uint256) external view onlyGroups {
        revert RemovalNotAllowed(groupId);
    }

    /// @inheritdoc IAdmissionPolicy
    function kind() external pure returns (string memory) {
        return "open";
    }

    /// @notice Whether a wallet has used its registration in a group.
    function isRegistered(uint256 groupId, address wallet) external view returns (bool) {
        return _registered[groupId][wallet];
    }

}
