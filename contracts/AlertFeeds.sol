// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAlertFeeds} from "./interfaces/IAlertFeeds.sol";
import {Signatures} from "./lib/Signatures.sol";

/// @title AlertFeeds
/// @notice Anchors public-alert feeds (issue 21): each feed's m-of-n editor set per epoch and the head of its chain of
/// signed entries (sequence number and the latest entry's CID).
/// @dev Only pointers, order and editor sets live here; entries and their CAP alerts are on IPFS. Authority is in the
/// signatures, never in msg.sender: anyone may relay m editors' signatures. Every argument is checked before anything
/// is written, every CID is bounded (MAX_CID_LENGTH) and every editor set too (MAX_EDITORS), so no call's loops or
/// writes grow without bound. No time is stored: the events carry their block, and a slot rewritten with
/// block.timestamp is mis-estimated by nodes that estimate in the second of the last write (anvil).
contract AlertFeeds is IAlertFeeds {
    /// @notice The most editors one feed may have in an epoch.
    uint256 public constant MAX_EDITORS = 32;
    /// @notice The longest CID, in bytes of its binary form (a CIDv1 dag-cbor sha2-256 is 36).
    uint256 public constant MAX_CID_LENGTH = 64;

    /// @dev Domain tags: an entry digest can never be read as an editors digest, nor either as another protocol's.
    bytes32 private constant _ENTRY_TAG = keccak256("mosaic.alerts.entry.v1");
    bytes32 private constant _EDITORS_TAG = keccak256("mosaic.alerts.editors.v1");

    /// @dev One feed: seq and epoch share a slot; head is the latest entry's CID (empty while seq is 0).
    struct Feed {
        uint64 seq;
        uint64 epoch;
        bytes head;
    }

    /// @dev The editors of one feed in one epoch: the sorted list (for editorsAt) and membership (for the checks).
    /// Written once, when the epoch begins, and never changed.
    struct EditorSet {
        address[] editors;
        uint8 threshold;
        mapping(address editor => bool) isEditor;
    }

    /// @dev Feed i is _feeds[i - 1].
    Feed[] private _feeds;
    mapping(uint256 feedId => mapping(uint64 epoch => EditorSet)) private _editorSets;

    /// @inheritdoc IAlertFeeds
    function createFeed(address[] calldata editors, uint8 threshold) external returns (uint256 feedId) {
        _checkEditors(editors, threshold);
        _feeds.push();
        feedId = _feeds.length;
        _storeEditors(feedId, 0, editors, threshold);
        emit FeedCreated(feedId, msg.sender, editors, threshold);
    }

    /// @inheritdoc IAlertFeeds
    function anchor(uint256 feedId, uint64 seq, bytes calldata entryCid, bytes[] calldata signatures) external {
        Feed storage feed = _feedOf(feedId);
        // Checked arithmetic: a feed at seq 2^64 - 1 takes no more entries (one per transaction: never reached).
        uint64 expected = feed.seq + 1;
        if (seq != expected) revert StaleSequence(feedId, expected, seq);
        _checkCid(entryCid);
        uint64 epoch = feed.epoch;
        _checkSignatures(_editorSets[feedId][epoch], _entryDigest(feedId, epoch, seq, entryCid), signatures);
        feed.seq = seq;
        feed.head = entryCid;
        emit AlertAnchored(feedId, seq, epoch, entryCid, signatures);
    }

    /// @inheritdoc IAlertFeeds
    function setEditors(uint256 feedId, address[] calldata editors, uint8 threshold, bytes[] calldata signatures)
        external
    {
        Feed storage feed = _feedOf(feedId);
        _checkEditors(editors, threshold);
        uint64 epoch = feed.epoch;
        _checkSignatures(
            _editorSets[feedId][epoch], _editorsDigest(feedId, epoch, editors, threshold), signatures
        );
        // Checked: one rotation per transaction never reaches 2^64.
        uint64 next = epoch + 1;
        _storeEditors(feedId, next, editors, threshold);
        feed.epoch = next;
        emit EditorsChanged(feedId, next, editors, threshold);
    }

    /// @inheritdoc IAlertFeeds
    function headOf(uint256 feedId) external view returns (uint64 seq, uint64 epoch, bytes memory entryCid) {
        Feed storage feed = _feedOf(feedId);
        return (feed.seq, feed.epoch, feed.head);
    }

    /// @inheritdoc IAlertFeeds
    function editorsAt(uint256 feedId, uint64 epoch) external view returns (address[] memory editors, uint8 threshold) {
        Feed storage feed = _feedOf(feedId);
        if (epoch > feed.epoch) revert UnknownEpoch(feedId, epoch, feed.epoch);
        EditorSet storage set = _editorSets[feedId][epoch];
        return (set.editors, set.threshold);
    }

    /// @inheritdoc IAlertFeeds
    function feedCount() external view returns (uint256) {
        return _feeds.length;
    }

    /// @inheritdoc IAlertFeeds
    function entryDigest(uint256 feedId, uint64 epoch, uint64 seq, bytes calldata entryCid)
        external
        view
        returns (bytes32)
    {
        return _entryDigest(feedId, epoch, seq, entryCid);
    }

    /// @inheritdoc IAlertFeeds
    function editorsDigest(uint256 feedId, uint64 epoch, address[] calldata editors, uint8 threshold)
        external
        view
        returns (bytes32)
    {
        return _editorsDigest(feedId, epoch, editors, threshold);
    }

    function _entryDigest(uint256 feedId, uint64 epoch, uint64 seq, bytes calldata entryCid)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(_ENTRY_TAG, block.chainid, address(this), feedId, epoch, seq, keccak256(entryCid)));
    }

    function _editorsDigest(uint256 feedId, uint64 epoch, address[] calldata editors, uint8 threshold)
        private
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                _EDITORS_TAG, block.chainid, address(this), feedId, epoch, keccak256(abi.encode(editors)), threshold
            )
        );
    }

    function _feedOf(uint256 feedId) private view returns (Feed storage) {
        if (feedId == 0 || feedId > _feeds.length) revert UnknownFeed(feedId);
        return _feeds[feedId - 1];
    }

    /// @dev 1..MAX_EDITORS editors, non-zero and strictly ascending (so distinct), and a threshold of 1..their count.
    function _checkEditors(address[] calldata editors, uint8 threshold) private pure {
        uint256 count = editors.length;
        if (count == 0 || count > MAX_EDITORS) revert InvalidEditorCount(count, MAX_EDITORS);
        address previous = address(0);
        for (uint256 i = 0; i < count; i++) {
            address editor = editors[i];
            // Strictly above the previous one, which starts at zero: refuses the zero address, duplicates and disorder.
            if (editor <= previous) revert InvalidEditor(i, editor);
            previous = editor;
        }
        if (threshold == 0 || threshold > count) revert InvalidThreshold(threshold, count);
    }

    /// @dev Records the editor set of `epoch`; the arguments were checked by _checkEditors.
    function _storeEditors(uint256 feedId, uint64 epoch, address[] calldata editors, uint8 threshold) private {
        EditorSet storage set = _editorSets[feedId][epoch];
        set.editors = editors;
        set.threshold = threshold;
        for (uint256 i = 0; i < editors.length; i++) {
            set.isEditor[editors[i]] = true;
        }
    }

    /// @dev At least `set.threshold` signatures, each well-formed, by an editor of `set`, in strictly ascending signer
    /// order. The loop ends by revert after at most editors + 1 ≤ MAX_EDITORS + 1 signatures: strictly ascending
    /// distinct editors cannot outnumber the set.
    function _checkSignatures(EditorSet storage set, bytes32 digest, bytes[] calldata signatures) private view {
        uint256 needed = set.threshold;
        if (signatures.length < needed) revert TooFewSignatures(signatures.length, needed);
        bytes32 signed = Signatures.ethSignedDigest(digest);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = Signatures.recover(signed, signatures[i]);
            if (signer == address(0)) revert MalformedSignature(i);
            if (!set.isEditor[signer]) revert NotEditor(i, signer);
            if (signer <= previous) revert SignersNotSorted(i, signer);
            previous = signer;
        }
    }

    function _checkCid(bytes calldata cid) private pure {
        if (cid.length == 0 || cid.length > MAX_CID_LENGTH) revert InvalidCid(cid.length, MAX_CID_LENGTH);
    }
}
