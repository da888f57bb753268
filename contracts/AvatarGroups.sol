// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISemaphore} from "@semaphore-protocol/contracts/interfaces/ISemaphore.sol";
import {ISemaphoreGroups} from "@semaphore-protocol/contracts/interfaces/ISemaphoreGroups.sol";
import {SNARK_SCALAR_FIELD} from "@zk-kit/lean-imt.sol/Constants.sol";
import {IAdmissionPolicy} from "./interfaces/IAdmissionPolicy.sol";
import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";

/// @title AvatarGroups
/// @notice Admin of Semaphore groups whose members answer jobs anonymously; each group's admission policy module
/// decides who joins.
/// @dev Membership lives on the stock Semaphore contract, so its events and roots are the ones every avatar and
/// reducer syncs from, and the stock verifier checks the proofs.
contract AvatarGroups is IAvatarGroups {
    /// @notice The most commitments one batch may add: 200 cost 16.1M gas on a small tree, too close to the 2^24
    /// per-transaction cap (EIP-7825) once the tree is deep; 100 stay near 8M.
    uint256 public constant MAX_BATCH = 100;

    ISemaphore private immutable _semaphore;
    mapping(uint256 groupId => IAdmissionPolicy) private _policies;

    constructor(ISemaphore semaphore_) {
        _semaphore = semaphore_;
    }

    /// @inheritdoc IAvatarGroups
    function createGroup(string calldata name, IAdmissionPolicy policy, bytes calldata config) external returns (uint256 groupId) {
        if (address(policy).code.length == 0) revert InvalidPolicy(address(policy));
        groupId = _semaphore.createGroup();
        _policies[groupId] = policy;
        policy.configure(groupId, msg.sender, config);
        emit GroupCreated(groupId, msg.sender, address(policy), name);
    }

    /// @inheritdoc IAvatarGroups
    function register(uint256 groupId, uint256 identityCommitment, bytes calldata evidence) external {
        IAdmissionPolicy policy = _policyOf(groupId);
        _checkCommitment(identityCommitment);
        policy.admit(groupId, msg.sender, identityCommitment, evidence);
        _semaphore.addMember(groupId, identityCommitment);
        emit MemberRegistered(groupId, msg.sender, identityCommitment);
    }

    /// @inheritdoc IAvatarGroups
    function registerBatch(uint256 groupId, uint256[] calldata identityCommitments) external {
        IAdmissionPolicy policy = _policyOf(groupId);
        uint256 count = identityCommitments.length;
        if (count == 0 || count > MAX_BATCH) revert InvalidBatchSize(count, MAX_BATCH);
        for (uint256 i = 0; i < count; i++) {
            _checkCommitment(identityCommitments[i]);
        }
        policy.admitBatch(groupId, msg.sender, identityCommitments);
        _semaphore.addMembers(groupId, identityCommitments);
        emit MembersRegistered(groupId, msg.sender, count);
    }

    /// @inheritdoc IAvatarGroups
    function removeMember(uint256 groupId, uint256 identityCommitment, uint256[] calldata merkleProofSiblings) external {
        IAdmissionPolicy policy = _policyOf(groupId);
        policy.authorizeRemoval(groupId, msg.sender, identityCommitment);
        _semaphore.removeMember(groupId, identityCommitment, merkleProofSiblings);
        emit MemberRemoved(groupId, msg.sender, identityCommitment);
    }

    /// @inheritdoc IAvatarGroups
    function groupRoot(uint256 groupId) external view returns (uint256) {
        _policyOf(groupId);
        return ISemaphoreGroups(address(_semaphore)).getMerkleTreeRoot(groupId);
    }

    /// @inheritdoc IAvatarGroups
    function groupSize(uint256 groupId) external view returns (uint256) {
        _policyOf(groupId);
        return ISemaphoreGroups(address(_semaphore)).getMerkleTreeSize(groupId);
    }

    /// @inheritdoc IAvatarGroups
    function groupPolicy(uint256 groupId) external view returns (IAdmissionPolicy) {
        return _policyOf(groupId);
    }

    /// @inheritdoc IAvatarGroups
    function semaphore() external view returns (address) {
        return address(_semaphore);
    }

    function _policyOf(uint256 groupId) private view returns (IAdmissionPolicy policy) {
        policy = _policies[groupId];
        if (address(policy) == address(0)) revert UnknownGroup(groupId);
    }

    function _checkCommitment(uint256 identityCommitment) private pure {
        if (identityCommitment == 0 || identityCommitment >= SNARK_SCALAR_FIELD) revert InvalidCommitment(identityCommitment);
    }
}
