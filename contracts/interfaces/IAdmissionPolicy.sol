// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IAdmissionPolicy
/// @notice Decides who may join an avatar group. AvatarGroups calls its group's policy before every change of
/// membership; a policy reverts to refuse and records whatever it needs (one per wallet, used attestations).
interface IAdmissionPolicy {
    /// @notice The caller is not the AvatarGroups contract this policy serves.
    error NotAvatarGroups(address caller);
    /// @notice The group was already configured under this policy.
    error AlreadyConfigured(uint256 groupId);
    /// @notice The policy's configuration bytes for a group are malformed.
    error InvalidConfig(uint256 groupId);
    /// @notice The group was not configured under this policy.
    error NotConfigured(uint256 groupId);
    /// @notice This policy does not admit in batches.
    error BatchNotAllowed(uint256 groupId);
    /// @notice This policy never removes members.
    error RemovalNotAllowed(uint256 groupId);

    /// @notice Sets a new group up under this policy; called once, when AvatarGroups creates the group.
    /// @param creator The account that created the group.
    /// @param config Policy-specific settings (for a registrar policy, the registrar's address).
    function configure(uint256 groupId, address creator, bytes calldata config) external;

    /// @notice Reverts unless `caller` may add `identityCommitment` to the group with `evidence`.
    function admit(uint256 groupId, address caller, uint256 identityCommitment, bytes calldata evidence) external;

    /// @notice Reverts unless `caller` may add all of `identityCommitments` in one batch.
    function admitBatch(uint256 groupId, address caller, uint256[] calldata identityCommitments) external;

    /// @notice Reverts unless `caller` may remove `identityCommitment` from the group.
    function authorizeRemoval(uint256 groupId, address caller, uint256 identityCommitment) external;

    /// @notice A short name of the policy, for listings ("open", "registrar").
    function kind() external pure returns (string memory);
}
