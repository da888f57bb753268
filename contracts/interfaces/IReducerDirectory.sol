// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobRegistry} from "./IJobRegistry.sol";

/// @title IReducerDirectory
/// @notice Where reducers say how to reach them: each staked operator of a JobRegistry records its libp2p peer id and
/// public multiaddrs, and vaults, researchers and watchers read the list from the chain instead of a `peers` file.
/// @dev The directory only says where to dial, never whom to trust. Peer ids are not unique and not checked: anyone
/// staked may announce any peer id, so a squatter copying an honest operator's id cannot block that operator (both
/// records stand). A vault authenticates the reducer it reaches by libp2p's peer id (the Noise handshake proves the
/// key behind it) and by the operator's signature on its receipt (recovering to the operator's address), so a record
/// pointing at someone else's node gains its author nothing. Readers should weigh operators by their stake in the
/// registry (`IJobRegistry.stakeOf`), which can fall after a record was written; `prune` lets anyone remove the
/// record of an operator whose stake is gone, so the list cannot grow stale without bound.
interface IReducerDirectory {
    /// @notice The caller has no stake in the registry (`IJobRegistry.stakeOf` is zero): stake first, then announce.
    error NotStaked(address operator);
    /// @notice The peer id is empty or longer than `maxLength` bytes.
    error InvalidPeerIdLength(uint256 length, uint256 maxLength);
    /// @notice No multiaddrs, or more than `maxCount`.
    error InvalidAddrCount(uint256 count, uint256 maxCount);
    /// @notice The multiaddr at `index` is empty or longer than `maxLength` bytes.
    error InvalidAddrLength(uint256 index, uint256 length, uint256 maxLength);
    /// @notice The peer id's byte at `index` is `char`, which is not printable ASCII (0x21..0x7e): no spaces, controls or
    /// non-ASCII bytes, so every record decodes as UTF-8 and reads the same everywhere.
    error InvalidPeerIdCharacter(uint256 index, bytes1 char);
    /// @notice The byte at `index` of the multiaddr at `addrIndex` is `char`, which is not printable ASCII (0x21..0x7e).
    error InvalidAddrCharacter(uint256 addrIndex, uint256 index, bytes1 char);
    /// @notice The operator has no record in the directory.
    error NotAnnounced(address operator);
    /// @notice prune of an operator that still has `staked` wei at stake: only its own withdraw removes its record.
    error StillStaked(address operator, uint256 staked);
    /// @notice operatorsPage asked for more than `maxCount` operators at once.
    error PageTooLarge(uint256 count, uint256 maxCount);

    /// @notice An operator recorded (or replaced) how to reach its reducer.
    event ReducerAnnounced(address indexed operator, string peerId, string[] addrs);
    /// @notice An operator removed its own record.
    event ReducerWithdrawn(address indexed operator);
    /// @notice `by` removed the record of `operator`, whose stake had fallen to zero.
    event ReducerPruned(address indexed operator, address indexed by);

    /// @notice Records, or replaces, the caller's peer id and multiaddrs, stamped with the block's time.
    /// @dev Only an operator with stake in the registry. Lengths are checked, and every byte must be printable ASCII
    /// (0x21..0x7e), so no record can carry invalid UTF-8 that would make a reader's ABI decoding throw; the syntax is
    /// not checked: a reader must parse each multiaddr and skip what does not parse.
    /// @param peerId The libp2p peer id (base58btc or CIDv1 text), 1..MAX_PEER_ID_LENGTH printable ASCII bytes.
    /// @param addrs 1..MAX_ADDRS public multiaddrs, each 1..MAX_ADDR_LENGTH printable ASCII bytes (ending in
    /// /p2p/<peerId> or not).
    function announce(string calldata peerId, string[] calldata addrs) external;

    /// @notice Removes the caller's record (a reducer going away for good).
    function withdraw() external;

    /// @notice Removes the record of an operator whose stake in the registry is now zero; anyone may call it.
    function prune(address operator) external;

    /// @notice The JobRegistry whose stakes admit operators.
    function registry() external view returns (IJobRegistry);

    /// @notice An operator's record; an empty peer id, no addrs and updatedAt 0 when it has none.
    /// @return peerId The libp2p peer id it announced.
    /// @return addrs The multiaddrs it announced, in its order.
    /// @return updatedAt The block timestamp of its latest announce.
    function reducerOf(address operator) external view returns (string memory peerId, string[] memory addrs, uint64 updatedAt);

    /// @notice How many operators have a record.
    function operatorCount() external view returns (uint256);

    /// @notice Up to `count` operators with a record, from position `start`; fewer (or none) past the end. The order
    /// is not stable across withdraw and prune (the last operator moves into the freed position).
    /// @param count At most MAX_PAGE.
    function operatorsPage(uint256 start, uint256 count) external view returns (address[] memory);
}
