// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Identifier of an exposure feed: 1, 2, … in creation order (0 names no feed).
type FeedId is uint256;

/// @title IExposureFeeds
/// @notice Health authorities' exposure-notification feeds (issue 20). A feed anchors what every vault pulls: the
/// head of the authority's chain of signed key batches on IPFS (each batch names the one before it), with its
/// sequence number, and the CIDs of the authority's signed risk configuration and hotspot set.
/// @dev The feed names the registrar group the authority admits people who tested positive to: their anonymous key
/// uploads are Semaphore proofs of membership in that group. Only the group's registrar may open a feed on it, so a
/// stranger cannot pass a feed off as a health authority's. The documents themselves are signed by the authority's
/// key off-chain; the chain gives their order: each publishKeys must carry the next sequence number, so a replayed or
/// copied transaction cannot roll a feed back. A feed outlives its authority's key (transferFeed): vaults check each
/// key batch against the authority that anchored it (`authorityAt(feedId, seq)`), and the risk configuration and
/// hotspot set against the current one (`feedOf(feedId).authority`): a transfer clears both, for the new authority
/// to re-sign.
interface IExposureFeeds {
    /// @notice No feed has this id.
    error UnknownFeed(FeedId feedId);
    /// @notice The group is not under the RegistrarAdmission policy this contract reads (`policy` is its admission
    /// policy, address(0) when AvatarGroups has no such group).
    error NotRegistrarGroup(uint256 groupId, address policy);
    /// @notice Only the group's registrar may open a feed on it: `caller` is not `registrar`.
    error NotGroupRegistrar(uint256 groupId, address caller, address registrar);
    /// @notice Only the feed's authority may do this: `caller` is not `authority`.
    error NotAuthority(FeedId feedId, address caller, address authority);
    /// @notice publishKeys must carry the feed's next sequence number, `expected`; it carried `given` (a replayed or
    /// copied transaction, or one that skips a batch).
    error StaleSequence(FeedId feedId, uint64 expected, uint64 given);
    /// @notice A CID must be 1..`maxLength` bytes (its binary form); this one is `length`.
    error InvalidCid(uint256 length, uint256 maxLength);
    /// @notice A key batch carries 1..`maxCount` keys; this one claims `keyCount`.
    error InvalidKeyCount(uint32 keyCount, uint32 maxCount);
    /// @notice The zero address cannot be a feed's authority.
    error ZeroAuthority(FeedId feedId);
    /// @notice The feed has anchored batches 1..`latest`; batch `seq` is not one of them.
    error UnanchoredBatch(FeedId feedId, uint64 seq, uint64 latest);

    /// @notice A feed was opened by `authority` for the registrar group `groupId`.
    event FeedCreated(FeedId indexed feedId, address indexed authority, uint256 indexed groupId);
    /// @notice The feed's key-batch chain advanced to batch `seq`, whose CID is `headCid`, holding `keyCount` keys.
    event KeysPublished(FeedId indexed feedId, uint64 seq, bytes headCid, uint32 keyCount);
    /// @notice The feed's signed risk configuration is now the document `cid` (empty: cleared by a transfer, the
    /// defaults apply until the new authority sets its own).
    event RiskConfigSet(FeedId indexed feedId, bytes cid);
    /// @notice The feed's signed hotspot set is now the document `cid` (empty: cleared by a transfer).
    event HotspotsPublished(FeedId indexed feedId, bytes cid);
    /// @notice The feed's authority role passed from `from` to `to`.
    event FeedTransferred(FeedId indexed feedId, address indexed from, address indexed to);

    /// @notice Opens a feed whose authority is the caller, for the registrar group its positives are admitted to.
    /// @dev The group must be under this contract's RegistrarAdmission and the caller its registrar; a registrar may
    /// open several feeds on one group (a new one after losing a key, say).
    /// @param groupId The AvatarGroups group id.
    /// @return feedId The new feed's id.
    function createFeed(uint256 groupId) external returns (FeedId feedId);

    /// @notice Anchors the feed's next key batch; only the authority.
    /// @param feedId The feed.
    /// @param seq The batch's sequence number: exactly the feed's current seq plus one.
    /// @param headCid The batch's CID in binary form (1..MAX_CID_LENGTH bytes).
    /// @param keyCount The keys the batch holds, 1..MAX_BATCH_KEYS (what readers may expect; the batch is the truth).
    function publishKeys(FeedId feedId, uint64 seq, bytes calldata headCid, uint32 keyCount) external;

    /// @notice Names the feed's signed risk configuration document; only the authority.
    /// @param cid Its CID in binary form (1..MAX_CID_LENGTH bytes).
    function setRiskConfig(FeedId feedId, bytes calldata cid) external;

    /// @notice Names the feed's signed hotspot set document; only the authority.
    /// @param cid Its CID in binary form (1..MAX_CID_LENGTH bytes).
    function publishHotspots(FeedId feedId, bytes calldata cid) external;

    /// @notice Hands the feed's authority role to `newAuthority`; only the authority. Batches from the feed's next seq
    /// on must be signed by the new authority (authorityAt keeps who signed the earlier ones). The risk configuration
    /// and hotspot set are cleared (RiskConfigSet and HotspotsPublished with an empty CID, when one was set): the old
    /// authority signed them, and the new one must sign its own.
    /// @param feedId The feed.
    /// @param newAuthority Who signs and publishes from now on; not the zero address (ZeroAuthority).
    function transferFeed(FeedId feedId, address newAuthority) external;

    /// @notice The authority that was in office when the feed's batch `seq` was anchored: the key its signature must
    /// recover to. UnanchoredBatch for seq 0 or past the feed's latest, UnknownFeed for an id never created.
    /// @dev A binary search over the feed's transfers: O(log transfers), whatever the feed's history.
    /// @param feedId The feed.
    /// @param seq A batch's sequence number, 1..feedOf(feedId).seq.
    /// @return authority The address that signed and anchored batch `seq`.
    function authorityAt(FeedId feedId, uint64 seq) external view returns (address authority);

    /// @notice A feed as the chain records it; UnknownFeed for an id never created.
    /// @return authority Who signs its documents and publishes to it.
    /// @return groupId The registrar group its uploaders prove membership of.
    /// @return seq The latest key batch's sequence number (0 before the first).
    /// @return head The latest key batch's CID (empty before the first).
    /// @return riskConfig The risk configuration's CID (empty until set).
    /// @return hotspots The hotspot set's CID (empty until published).
    function feedOf(FeedId feedId)
        external
        view
        returns (
            address authority,
            uint256 groupId,
            uint64 seq,
            bytes memory head,
            bytes memory riskConfig,
            bytes memory hotspots
        );

    /// @notice How many feeds exist: their ids are 1..feedCount().
    function feedCount() external view returns (uint256);

    /// @notice The AvatarGroups contract whose groups feeds name.
    function avatarGroups() external view returns (address);

    /// @notice The RegistrarAdmission policy a feed's group must be under.
    function registrarAdmission() external view returns (address);
}
