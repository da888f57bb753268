// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAdmissionPolicy} from "./interfaces/IAdmissionPolicy.sol";
import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";
import {IExposureFeeds, FeedId} from "./interfaces/IExposureFeeds.sol";
import {RegistrarAdmission} from "./RegistrarAdmission.sol";

/// @title ExposureFeeds
/// @notice Anchors health authorities' exposure-notification feeds (issue 20): the head of each feed's chain of signed
/// key batches, its sequence number, and the CIDs of its risk configuration and hotspot set.
/// @dev Only pointers and order live here; the documents are on IPFS, signed by the authority. A feed's group is
/// checked once, at creation: the caller must then be the group's registrar under RegistrarAdmission. Afterwards the
/// feed's authority is its own (transferFeed), whoever the group's registrar becomes, so a registrar handing its role
/// on does not silently take over a feed vaults already follow. Each transfer is recorded (who left, from which seq
/// the successor anchors), so authorityAt names the signer of every batch ever anchored. Every CID is bounded
/// (MAX_CID_LENGTH), so no write costs more than a few slots, and every mutation checks its caller before anything
/// else.
contract ExposureFeeds is IExposureFeeds {
    /// @notice The longest CID, in bytes of its binary form (a CIDv1 dag-cbor sha2-256 is 36).
    uint256 public constant MAX_CID_LENGTH = 64;
    /// @notice The most keys one batch may hold (MAX_BATCH_KEYS in the exposure package).
    uint32 public constant MAX_BATCH_KEYS = 10_000;

    /// @dev One feed. authority, seq and transfers share a slot. No time is stored: the events carry their block, and a
    /// slot rewritten with block.timestamp is mis-estimated by nodes that estimate in the second of the last write
    /// (anvil: the estimate sees a no-op store and the transaction runs out of gas).
    struct Feed {
        address authority;
        uint64 seq;
        /// @dev How many handovers _handovers holds for this feed (kept here: no separate length slot to pay for).
        uint64 transfers;
        uint256 groupId;
        bytes head;
        bytes riskConfig;
        bytes hotspots;
    }

    /// @dev One transfer: the authority that left, and the first seq its successor anchors (the feed's seq then + 1).
    /// Together in one slot.
    struct Handover {
        address previous;
        uint64 firstSeq;
    }

    IAvatarGroups private immutable _groups;
    RegistrarAdmission private immutable _registrarAdmission;
    /// @dev Feed i is _feeds[i - 1].
    Feed[] private _feeds;
    /// @dev Each feed's transfers in order, 0..transfers - 1, append-only; firstSeq never decreases along them (seq
    /// only grows).
    mapping(uint256 feedId => mapping(uint256 index => Handover)) private _handovers;

    /// @param groups_ The AvatarGroups contract whose groups feeds name.
    /// @param registrarAdmission_ The RegistrarAdmission policy a feed's group must be under.
    constructor(IAvatarGroups groups_, RegistrarAdmission registrarAdmission_) {
        _groups = groups_;
        _registrarAdmission = registrarAdmission_;
    }

    /// @inheritdoc IExposureFeeds
    function createFeed(uint256 groupId) external returns (FeedId feedId) {
        address policy;
        // AvatarGroups reverts UnknownGroup for a group it never created: named here as a group under no policy.
        try _groups.groupPolicy(groupId) returns (IAdmissionPolicy p) {
            policy = address(p);
        } catch {
            revert NotRegistrarGroup(groupId, address(0));
        }
        if (policy != address(_registrarAdmission)) revert NotRegistrarGroup(groupId, policy);
        address registrar = _registrarAdmission.registrarOf(groupId);
        if (registrar != msg.sender) revert NotGroupRegistrar(groupId, msg.sender, registrar);
        Feed storage feed = _feeds.push();
        feed.authority = msg.sender;
        feed.groupId = groupId;
        feedId = FeedId.wrap(_feeds.length);
        emit FeedCreated(feedId, msg.sender, groupId);
    }

    /// @inheritdoc IExposureFeeds
    function publishKeys(FeedId feedId, uint64 seq, bytes calldata headCid, uint32 keyCount) external {
        Feed storage feed = _onlyAuthority(feedId);
        // Checked arithmetic: a feed at seq 2^64 - 1 takes no more batches (one per transaction: never reached).
        uint64 expected = feed.seq + 1;
        if (seq != expected) revert StaleSequence(feedId, expected, seq);
        _checkCid(headCid);
        if (keyCount == 0 || keyCount > MAX_BATCH_KEYS) revert InvalidKeyCount(keyCount, MAX_BATCH_KEYS);
        feed.seq = seq;
        feed.head = headCid;
        emit KeysPublished(feedId, seq, headCid, keyCount);
    }

    /// @inheritdoc IExposureFeeds
    function setRiskConfig(FeedId feedId, bytes calldata cid) external {
        Feed storage feed = _onlyAuthority(feedId);
        _checkCid(cid);
        feed.riskConfig = cid;
        emit RiskConfigSet(feedId, cid);
    }

    /// @inheritdoc IExposureFeeds
    function publishHotspots(FeedId feedId, bytes calldata cid) external {
        Feed storage feed = _onlyAuthority(feedId);
        _checkCid(cid);
        feed.hotspots = cid;
        emit HotspotsPublished(feedId, cid);
    }

    /// @inheritdoc IExposureFeeds
    function transferFeed(FeedId feedId, address newAuthority) external {
        Feed storage feed = _onlyAuthority(feedId);
        if (newAuthority == address(0)) revert ZeroAuthority(feedId);
        // Checked: seq + 1 overflows only at seq 2^64 - 1, which publishKeys never reaches (one batch per transaction).
        // Checked too: one transfer per transaction never reaches 2^64.
        _handovers[FeedId.unwrap(feedId)][feed.transfers] = Handover({previous: msg.sender, firstSeq: feed.seq + 1});
        feed.transfers += 1;
        feed.authority = newAuthority;
        // The old authority signed these; no vault could check them against the new one.
        if (feed.riskConfig.length != 0) {
            delete feed.riskConfig;
            emit RiskConfigSet(feedId, "");
        }
        if (feed.hotspots.length != 0) {
            delete feed.hotspots;
            emit HotspotsPublished(feedId, "");
        }
        emit FeedTransferred(feedId, msg.sender, newAuthority);
    }

    /// @inheritdoc IExposureFeeds
    function authorityAt(FeedId feedId, uint64 seq) external view returns (address) {
        Feed storage feed = _feedOf(feedId);
        if (seq == 0 || seq > feed.seq) revert UnanchoredBatch(feedId, seq, feed.seq);
        mapping(uint256 => Handover) storage handovers = _handovers[FeedId.unwrap(feedId)];
        // The first handover whose successor starts after `seq`: its `previous` was in office at `seq`. None: the
        // current authority has been since `seq`. Binary search over [lo, hi), firstSeq non-decreasing.
        uint256 lo = 0;
        uint256 hi = feed.transfers;
        while (lo < hi) {
            // lo + (hi - lo) / 2 < hi <= transfers: no overflow.
            uint256 mid = lo + (hi - lo) / 2;
            if (handovers[mid].firstSeq > seq) hi = mid;
            else lo = mid + 1;
        }
        return lo == feed.transfers ? feed.authority : handovers[lo].previous;
    }

    /// @inheritdoc IExposureFeeds
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
        )
    {
        Feed storage feed = _feedOf(feedId);
        return (feed.authority, feed.groupId, feed.seq, feed.head, feed.riskConfig, feed.hotspots);
    }

    /// @inheritdoc IExposureFeeds
    function feedCount() external view returns (uint256) {
        return _feeds.length;
    }

    /// @inheritdoc IExposureFeeds
    function avatarGroups() external view returns (address) {
        return address(_groups);
    }

    /// @inheritdoc IExposureFeeds
    function registrarAdmission() external view returns (address) {
        return address(_registrarAdmission);
    }

    function _feedOf(FeedId feedId) private view returns (Feed storage) {
        uint256 id = FeedId.unwrap(feedId);
        if (id == 0 || id > _feeds.length) revert UnknownFeed(feedId);
        return _feeds[id - 1];
    }

    function _onlyAuthority(FeedId feedId) private view returns (Feed storage feed) {
        feed = _feedOf(feedId);
        if (msg.sender != feed.authority) revert NotAuthority(feedId, msg.sender, feed.authority);
    }

    function _checkCid(bytes calldata cid) private pure {
        if (cid.length == 0 || cid.length > MAX_CID_LENGTH) revert InvalidCid(cid.length, MAX_CID_LENGTH);
    }
}
