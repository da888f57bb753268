// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAdmissionPolicy} from "./IAdmissionPolicy.sol";

/// @title IAvatarGroups
/// @notice Avatar groups on the stock Semaphore contract. Each group names an admission policy module that decides
/// who may join (open registration with one identity per wallet, a registrar's attestation, or any other policy).
interface IAvatarGroups {
    /// @notice The group does not exist or was not created through this contract.
    error UnknownGroup(uint256 groupId);
    /// @notice An identity commitment of zero or outside the SNARK field.
    error InvalidCommitment(uint256 identityCommitment);
    /// @notice The policy address holds no contract.
    error InvalidPolicy(address policy);
    /// @notice A batch must hold 1 to MAX_BATCH commitments.
    error InvalidBatchSize(uint256 size, uint256 max);

    /// @notice Emitted after a group was created on Semaphore with this contract as its admin.
    event GroupCreated(uint256 indexed groupId, address indexed creator, address indexed policy, string name);
    /// @notice Emitted after a member was admitted one by one; `wallet` sent the transaction (a relayer, perhaps).
    event MemberRegistered(uint256 indexed groupId, address indexed wallet, uint256 identityCommitment);
    /// @notice Emitted after `count` members were admitted in one batch by `admitter`.
    event MembersRegistered(uint256 indexed groupId, address indexed admitter, uint256 count);
    /// @notice Emitted after a member was removed by `remover`.
    event MemberRemoved(uint256 indexed groupId, address indexed remover, uint256 identityCommitment);

    /// @notice Creates a group whose admissions `policy` decides.
    /// @param name A human-readable name, for listings only.
    /// @param policy The admission policy module; it must accept `config` for the new group.
    /// @param config Policy settings, e.g. `abi.encode(registrar)` for RegistrarAdmission, empty for OpenAdmission.
    /// @return groupId The Semaphore group id.
    function createGroup(string calldata name, IAdmissionPolicy policy, bytes calldata config) external returns (uint256 groupId);

    /// @notice Adds one identity commitment, if the group's policy admits the caller with `evidence`.
    function register(uint256 groupId, uint256 identityCommitment, bytes calldata evidence) external;

    /// @notice Adds many identity commitments in one Semaphore batch, if the group's policy allows the caller.
    function registerBatch(uint256 groupId, uint256[] calldata identityCommitments) external;

    /// @notice Removes a member (its leaf becomes zero), if the group's policy allows the caller.
    /// @param merkleProofSiblings The siblings of the member's leaf in the current tree.
    function removeMember(uint256 groupId, uint256 identityCommitment, uint256[] calldata merkleProofSiblings) external;

    /// @notice The current Merkle root of a group.
    function groupRoot(uint256 groupId) external view returns (uint256);

    /// @notice The number of leaves of a group (removed members leave a zero leaf and still count).
    function groupSize(uint256 groupId) external view returns (uint256);

    /// @notice The admission policy of a group.
    function groupPolicy(uint256 groupId) external view returns (IAdmissionPolicy);

    /// @notice The Semaphore contract the groups live on.
    function semaphore() external view returns (address);
}
