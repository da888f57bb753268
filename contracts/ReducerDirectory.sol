// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobRegistry} from "./interfaces/IJobRegistry.sol";
import {IReducerDirectory} from "./interfaces/IReducerDirectory.sol";

/// @title ReducerDirectory
/// @notice The on-chain list of reducers: each staked operator's libp2p peer id and public multiaddrs.
/// @dev A contract of its own because JobRegistry sits at the EIP-170 code size limit. The operators with a record
/// are an enumerable set (array plus 1-based positions, swap-and-pop on removal), so a reader pages through them
/// without logs. Every record is bounded (MAX_ADDRS multiaddrs of MAX_ADDR_LENGTH bytes), so replacing or removing
/// one costs bounded gas, and printable ASCII only, so reading one never fails to decode. See IReducerDirectory for why peer ids are neither unique nor trusted.
contract ReducerDirectory is IReducerDirectory {
    /// @notice The longest peer id, in bytes (an Ed25519 or secp256k1 id is 52-53 characters, an RSA one 46).
    uint256 public constant MAX_PEER_ID_LENGTH = 128;
    /// @notice The most multiaddrs one record may carry.
    uint256 public constant MAX_ADDRS = 8;
    /// @notice The longest multiaddr, in bytes (a dns4/tcp/ws/p2p address is about 120).
    uint256 public constant MAX_ADDR_LENGTH = 256;
    /// @notice The most operators operatorsPage returns at once.
    uint256 public constant MAX_PAGE = 100;

    /// @dev One operator's record.
    struct Record {
        string peerId;
        string[] addrs;
        uint64 updatedAt;
    }

    IJobRegistry private immutable _registry;
    mapping(address operator => Record) private _records;
    address[] private _operators;
    /// @dev An operator's position in _operators plus one; zero when it has no record.
    mapping(address operator => uint256) private _positions;

    /// @param registry_ The JobRegistry whose stakes admit operators.
    constructor(IJobRegistry registry_) {
        _registry = registry_;
    }

    /// @inheritdoc IReducerDirectory
    function announce(string calldata peerId, string[] calldata addrs) external {
        if (_registry.stakeOf(msg.sender) == 0) revert NotStaked(msg.sender);
        uint256 peerIdLength = bytes(peerId).length;
        if (peerIdLength == 0 || peerIdLength > MAX_PEER_ID_LENGTH) revert InvalidPeerIdLength(peerIdLength, MAX_PEER_ID_LENGTH);
        (bool badPeerId, uint256 at, bytes1 char) = _firstUnprintable(bytes(peerId));
        if (badPeerId) revert InvalidPeerIdCharacter(at, char);
        uint256 count = addrs.length;
        if (count == 0 || count > MAX_ADDRS) revert InvalidAddrCount(count, MAX_ADDRS);
        for (uint256 i = 0; i < count; ++i) {
            uint256 length = bytes(addrs[i]).length;
            if (length == 0 || length > MAX_ADDR_LENGTH) revert InvalidAddrLength(i, length, MAX_ADDR_LENGTH);
            (bool badAddr, uint256 addrAt, bytes1 addrChar) = _firstUnprintable(bytes(addrs[i]));
            if (badAddr) revert InvalidAddrCharacter(i, addrAt, addrChar);
        }
        Record storage record = _records[msg.sender];
        record.peerId = peerId;
        // Clears the previous multiaddrs (at most MAX_ADDRS strings, so bounded) before writing the new ones.
        delete record.addrs;
        for (uint256 i = 0; i < count; ++i) record.addrs.push(addrs[i]);
        record.updatedAt = uint64(block.timestamp);
        if (_positions[msg.sender] == 0) {
            _operators.push(msg.sender);
            _positions[msg.sender] = _operators.length;
        }
        emit ReducerAnnounced(msg.sender, peerId, addrs);
    }

    /// @inheritdoc IReducerDirectory
    function withdraw() external {
        _remove(msg.sender);
        emit ReducerWithdrawn(msg.sender);
    }

    /// @inheritdoc IReducerDirectory
    function prune(address operator) external {
        uint256 staked = _registry.stakeOf(operator);
        if (staked != 0) revert StillStaked(operator, staked);
        _remove(operator);
        emit ReducerPruned(operator, msg.sender);
    }

    /// @inheritdoc IReducerDirectory
    function registry() external view returns (IJobRegistry) {
        return _registry;
    }

    /// @inheritdoc IReducerDirectory
    function reducerOf(address operator) external view returns (string memory peerId, string[] memory addrs, uint64 updatedAt) {
        Record storage record = _records[operator];
        return (record.peerId, record.addrs, record.updatedAt);
    }

    /// @inheritdoc IReducerDirectory
    function operatorCount() external view returns (uint256) {
        return _operators.length;
    }

    /// @inheritdoc IReducerDirectory
    function operatorsPage(uint256 start, uint256 count) external view returns (address[] memory page) {
        if (count > MAX_PAGE) revert PageTooLarge(count, MAX_PAGE);
        uint256 total = _operators.length;
        if (start >= total) return new address[](0);
        uint256 end = total - start < count ? total : start + count;
        page = new address[](end - start);
        for (uint256 i = start; i < end; ++i) page[i - start] = _operators[i];
    }

    /// @dev 0x0101…01: one in every byte of a word.
    uint256 private constant _ONES = type(uint256).max / 0xff;

    /// @dev The first byte of `text` outside printable ASCII (0x21..0x7e), if any. Only ASCII means a record always
    /// decodes as UTF-8 (an invalid sequence, such as 0xff or the overlong 0xc0 0xaf, would make every reader's ABI
    /// decoding of reducerOf throw). Checks 32 bytes at a time (bounded: callers checked the length) and looks byte by
    /// byte only in a word that fails.
    function _firstUnprintable(bytes calldata text) private pure returns (bool found, uint256 index, bytes1 char) {
        uint256 length = text.length;
        for (uint256 i = 0; i < length; i += 32) {
            uint256 left = length - i;
            // Zero-padded past the end; the padding is then filled with "A" (0x41), which passes.
            uint256 word = uint256(bytes32(text[i:]));
            if (left < 32) word |= (_ONES * 0x41) & (type(uint256).max >> (left * 8));
            if (_printable(word)) continue;
            uint256 end = left < 32 ? length : i + 32;
            for (uint256 j = i; j < end; ++j) {
                bytes1 c = text[j];
                if (c < 0x21 || c > 0x7e) return (true, j, c);
            }
        }
        return (false, 0, 0);
    }

    /// @dev Whether every byte of `word` is in 0x21..0x7e. With every high bit clear, adding 0x5f or 0x01 to each
    /// byte cannot carry into the next one: the sum's high bit is set exactly when the byte is ≥ 0x21 (resp. ≥ 0x7f).
    function _printable(uint256 word) private pure returns (bool) {
        uint256 high = _ONES * 0x80;
        if (word & high != 0) return false;
        unchecked {
            return (word + _ONES * 0x5f) & high == high && (word + _ONES) & high == 0;
        }
    }

    /// @dev Deletes an operator's record and takes it out of the set: the last operator moves into its position.
    function _remove(address operator) private {
        uint256 position = _positions[operator];
        if (position == 0) revert NotAnnounced(operator);
        uint256 last = _operators.length;
        if (position != last) {
            address moved = _operators[last - 1];
            _operators[position - 1] = moved;
            _positions[moved] = position;
        }
        _operators.pop();
        delete _positions[operator];
        // Clears the peer id and at most MAX_ADDRS multiaddrs: bounded gas.
        delete _records[operator];
    }
}
