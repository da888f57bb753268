// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IAvatarGroups
/// @notice Avatar groups on the stock Semaphore contract, with open registration of one identity per wallet.
interface IAvatarGroups {
    /// @notice The group does not exist or was not created through this contract.
    error UnknownGroup(uint256 groupId);
    /// @notice The wallet already registered an identity in this group.
    error AlreadyRegistered(uint256 groupId, address wallet);
    /// @notice An identity commitment of zero or outside the SNARK field.
    error InvalidCommitment(uint256 identityCommitment);

    /// @notice Emitted after a group was created on Semaphore with this contract as its admin.
    event GroupCreated(uint256 indexed groupId, address indexed creator, string name);
    /// @notice Emitted after a wallet registered an identity commitment in a group.
    event MemberRegistered(uint256 indexed groupId, address indexed wallet, uint256 identityCommitment);

    /// @notice Creates a group with open registration.
    /// @param name A human-readable name, for listings only.
    /// @return groupId The Semaphore group id.
    function createGroup(string calldata name) external returns (uint256 groupId);

    /// @notice Registers the caller's identity commitment; one per wallet per group.
    function register(uint256 groupId, uint256 identityCommitment) external;

    /// @notice The current Merkle root of a group.
    function groupRoot(uint256 groupId) external view returns (uint256);

    /// @notice The number of members of a group.
    function groupSize(uint256 groupId) external view returns (uint256);

    /// @notice Whether a wallet has registered in a group.
    function isRegistered(uint256 groupId, address wallet) external view returns (bool);

    /// @notice The Semaphore contract the groups live on.
    function semaphore() external view returns (address);
}
