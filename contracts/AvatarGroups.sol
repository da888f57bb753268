// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISemaphore} from "@semaphore-protocol/contracts/interfaces/ISemaphore.sol";
import {ISemaphoreGroups} from "@semaphore-protocol/contracts/interfaces/ISemaphoreGroups.sol";
import {SNARK_SCALAR_FIELD} from "@zk-kit/lean-imt.sol/Constants.sol";
import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";

/// @title AvatarGroups
/// @notice Admin of Semaphore groups whose members answer jobs anonymously.
/// @dev Open registration, one identity per wallet: Sybil resistance is only as strong as the cost of a wallet.
contract AvatarGroups is IAvatarGroups {
    ISemaphore private immutable _semaphore;
    mapping(uint256 groupId => bool) private _ours;
    mapping(uint256 groupId => mapping(address wallet => bool)) private _registered;

    constructor(ISemaphore semaphore_) {
        _semaphore = semaphore_;
    }

    /// @inheritdoc IAvatarGroups
    function createGroup(string calldata name) external returns (uint256 groupId) {
        groupId = _semaphore.createGroup();
        _ours[groupId] = true;
        emit GroupCreated(groupId, msg.sender, name);
    }

    /// @inheritdoc IAvatarGroups
    function register(uint256 groupId, uint256 identityCommitment) external {
        if (!_ours[groupId]) revert UnknownGroup(groupId);
        if (_registered[groupId][msg.sender]) revert AlreadyRegistered(groupId, msg.sender);
        if (identityCommitment == 0 || identityCommitment >= SNARK_SCALAR_FIELD) {
            revert InvalidCommitment(identityCommitment);
        }
        _registered[groupId][msg.sender] = true;
        _semaphore.addMember(groupId, identityCommitment);
        emit MemberRegistered(groupId, msg.sender, identityCommitment);
    }

    /// @inheritdoc IAvatarGroups
    function groupRoot(uint256 groupId) external view returns (uint256) {
        if (!_ours[groupId]) revert UnknownGroup(groupId);
        return ISemaphoreGroups(address(_semaphore)).getMerkleTreeRoot(groupId);
    }

    /// @inheritdoc IAvatarGroups
    function groupSize(uint256 groupId) external view returns (uint256) {
        if (!_ours[groupId]) revert UnknownGroup(groupId);
        return ISemaphoreGroups(address(_semaphore)).getMerkleTreeSize(groupId);
    }

    /// @inheritdoc IAvatarGroups
    function isRegistered(uint256 groupId, address wallet) external view returns (bool) {
        return _registered[groupId][wallet];
    }

    /// @inheritdoc IAvatarGroups
    function semaphore() external view returns (address) {
        return address(_semaphore);
    }
}
