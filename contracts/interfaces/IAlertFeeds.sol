// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IAlertFeeds
/// @notice Public-alert feeds (issue 21): each feed has a set of editors and a threshold m; an alert enters the feed
/// once m of its current editors have signed its entry, and the feed's head (sequence number and CID of its latest
/// entry, which names the one before it) is anchored here, so a replica can prove it is up to date and nobody can
/// silently drop an alert. Editors rotate through the contract, with m signatures of the editors in office.
/// @dev Entries and alerts live on IPFS (dag-cbor blocks, see @mosaic/alerts); the contract checks signatures and
/// order only. A signature is EIP-191 personal-sign over a 32-byte digest (entryDigest, editorsDigest) that names the
/// chain, this contract, the feed, the editor epoch and (for entries) the sequence number, so no signature can be
/// replayed onto another feed, chain, contract, epoch or position. Signatures are passed sorted by strictly
/// ascending signer address (the check for distinct signers); anyone may submit them: authority is in the signatures,
/// not in msg.sender. Nothing stores a timestamp (events carry their block).
interface IAlertFeeds {
    /// @notice No feed has this id (feeds are 1, 2, … in creation order).
    error UnknownFeed(uint256 feedId);
    /// @notice An editor set holds 1..`max` editors; this one holds `count`.
    error InvalidEditorCount(uint256 count, uint256 max);
    /// @notice Editors must be non-zero and sorted by strictly ascending address; `editor` at `index` is not.
    error InvalidEditor(uint256 index, address editor);
    /// @notice The threshold must be 1..`editorCount`; it was `threshold`.
    error InvalidThreshold(uint8 threshold, uint256 editorCount);
    /// @notice anchor must carry the feed's next sequence number, `expected`; it carried `given` (a replayed or
    /// copied transaction, or one that skips an entry).
    error StaleSequence(uint256 feedId, uint64 expected, uint64 given);
    /// @notice A CID must be 1..`maxLength` bytes (its binary form); this one is `length`.
    error InvalidCid(uint256 length, uint256 maxLength);
    /// @notice Signature `index` is malformed (not 65 bytes, high s, v not 27/28, or unrecoverable).
    error MalformedSignature(uint256 index);
    /// @notice Signature `index` recovers to `signer`, who is not an editor of the feed's current epoch (a foreign
    /// signature, or one made for another digest).
    error NotEditor(uint256 index, address signer);
    /// @notice Signature `index` recovers to `signer`, not above the previous signer: signatures must be sorted by
    /// strictly ascending signer (a duplicate signer counts once, so it is refused).
    error SignersNotSorted(uint256 index, address signer);
    /// @notice `given` editors signed; the feed's threshold is `needed`.
    error TooFewSignatures(uint256 given, uint256 needed);
    /// @notice The feed has no editor epoch `epoch` yet; its current epoch is `current`.
    error UnknownEpoch(uint256 feedId, uint64 epoch, uint64 current);

    /// @notice A feed was opened with its first editor set (epoch 0).
    event FeedCreated(uint256 indexed feedId, address indexed creator, address[] editors, uint8 threshold);
    /// @notice Entry `seq` of the feed was anchored, signed by editors of `epoch` (`signatures`, in ascending signer order).
    event AlertAnchored(uint256 indexed feedId, uint64 indexed seq, uint64 epoch, bytes entryCid, bytes[] signatures);
    /// @notice The feed's editors changed: `epoch` is the new epoch (1, 2, …; epoch 0's editors are FeedCreated's).
    event EditorsChanged(uint256 indexed feedId, uint64 indexed epoch, address[] editors, uint8 threshold);

    /// @notice Opens a feed with `editors` (sorted ascending, distinct, non-zero, at most MAX_EDITORS) and threshold
    /// m = `threshold`. The caller need not be an editor. Returns the new feed's id.
    function createFeed(address[] calldata editors, uint8 threshold) external returns (uint256 feedId);

    /// @notice Anchors entry `seq` (= head seq + 1) whose dag-cbor block has CID `entryCid` (binary form), signed by at
    /// least threshold editors of the current epoch over entryDigest(feedId, epoch, seq, entryCid).
    function anchor(uint256 feedId, uint64 seq, bytes calldata entryCid, bytes[] calldata signatures) external;

    /// @notice Replaces the editor set and threshold, signed by at least threshold editors of the current epoch over
    /// editorsDigest(feedId, epoch, editors, threshold). The epoch then increases by one.
    function setEditors(uint256 feedId, address[] calldata editors, uint8 threshold, bytes[] calldata signatures) external;

    /// @notice The feed's head: its latest anchored `seq` (0: none yet), the current editor `epoch`, and the latest
    /// entry's CID (empty when seq is 0).
    function headOf(uint256 feedId) external view returns (uint64 seq, uint64 epoch, bytes memory entryCid);

    /// @notice The editors and threshold of the feed at `epoch` (≤ the current epoch, else UnknownEpoch), so the
    /// signatures of every entry ever anchored can be checked against the editors of its epoch.
    function editorsAt(uint256 feedId, uint64 epoch) external view returns (address[] memory editors, uint8 threshold);

    /// @notice How many feeds exist (the latest id).
    function feedCount() external view returns (uint256);

    /// @notice The 32 bytes editors sign (EIP-191) for entry `seq`: keccak256(abi.encode(keccak256(
    /// "mosaic.alerts.entry.v1"), block.chainid, address(this), feedId, epoch, seq, keccak256(entryCid))). Both digest
    /// views compute for any feed id and epoch, existing or not.
    function entryDigest(uint256 feedId, uint64 epoch, uint64 seq, bytes calldata entryCid) external view returns (bytes32);

    /// @notice The 32 bytes editors sign (EIP-191) to rotate the editor set: keccak256(abi.encode(keccak256(
    /// "mosaic.alerts.editors.v1"), block.chainid, address(this), feedId, epoch, keccak256(abi.encode(editors)),
    /// threshold)).
    function editorsDigest(uint256 feedId, uint64 epoch, address[] calldata editors, uint8 threshold)
        external
        view
        returns (bytes32);
}
