// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";
import {IJobRegistry} from "./interfaces/IJobRegistry.sol";
import {ISharedJobs, SharedJobId} from "./interfaces/ISharedJobs.sol";

/// @title SharedJobs
/// @notice Anchors Mosaic's secret-shared jobs (issue 19): the two aggregators and their keys, reward escrow,
/// share commitments with bonds, fraud proofs against each aggregator's share set, and the released aggregate.
/// @dev A separate contract from JobRegistry (which is at the code size limit); it reads JobRegistry's stakes to admit
/// aggregators and its proposal bond for its own commitments.
///
/// Accountability. Each commitShare carries commitBond(), JobRegistry's proposal bond: a fixed price on every claim
/// (rollup practice, as JobRegistry's proposals), returned when the job closes unless a fraud proof took it, in which
/// case half goes to the challenger and half is burned (an aggregator challenging itself from a second address still
/// loses half). SharedJobs cannot slash JobRegistry stakes: the bond is all an aggregator risks here. A proven fault
/// refunds the job at once (its share set was wrong, so the sum cannot be trusted). When the two disagree, or one
/// never commits, nobody can tell on-chain which is at fault: the job is refunded and committed bonds go back.
/// What cannot be proven on-chain: that an aggregator summed its decrypted shares correctly and added its noise (its
/// inputs are encrypted to it); the two aggregators not colluding covers that.
contract SharedJobs is ISharedJobs {
    /// @notice Job ids are this plus 1, 2, … in posting order (SHARED_JOB_ID_BASE in the protocol package, job labels
    /// s1, s2, …): they never overlap JobRegistry's, which count from 1.
    uint256 public constant SHARED_JOB_ID_BASE = 1 << 128;
    /// @notice The longest share (Prio3 output) a job may have.
    uint16 public constant MAX_LENGTH = 256;
    /// @notice Field64's modulus, 2^64 - 2^32 + 1.
    uint256 public constant FIELD64_MODULUS = 18446744069414584321;
    /// @notice Field128's modulus, 2^128 - 28·2^64 + 1.
    uint256 public constant FIELD128_MODULUS = 340282366920938462946865773367900766209;
    /// @notice The shortest challenge window a job may have (as JobRegistry's).
    uint64 public constant MIN_CHALLENGE_WINDOW = 60;
    /// @notice The challenger's share of a slashed bond, in basis points (50%); the rest is burned.
    uint256 public constant CHALLENGER_SHARE_BPS = 5000;
    /// @notice Where the burned half of a slashed bond is sent, so the contract holds exactly what it owes.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;
    /// @notice The one Semaphore tree depth Mosaic proves at (PROOF_DEPTH in the avatar package).
    uint256 public constant PROOF_DEPTH = 20;
    /// @notice Gas given to the Groth16 verifier call (it uses about 200k): a fixed allowance, so a challenger cannot
    /// make a valid proof fail by sending too little gas (the call reverts VerifierGasTooLow instead).
    uint256 public constant VERIFIER_GAS = 400_000;

    uint256 private constant BPS = 10_000;
    uint256 private constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Domain tags of share-set hashes (RFC 6962's 0x00 and 0x01): a node can never be passed as a leaf.
    uint8 private constant LEAF_TAG = 0;
    uint8 private constant NODE_TAG = 1;

    IJobRegistry private immutable _registry;
    IAvatarGroups private immutable _groups;
    ISemaphoreVerifier private immutable _verifier;
    uint256 private immutable _bond;
    uint64 private immutable _unbondingDelay;

    SharedJob[] private _jobs;
    mapping(SharedJobId => ShareCommit[2]) private _commits;
    /// @dev The running sum mod p of the committed shares, packed: 4 Field64 or 2 Field128 elements per word,
    /// element j at word j / perWord, bits (j % perWord)·width. After both commits it is the aggregate.
    mapping(SharedJobId => mapping(uint256 => uint256)) private _sums;
    mapping(address => bytes32) private _keys;
    mapping(address => uint256) private _balances;

    /// @param registry_ The JobRegistry whose stakes admit aggregators; its proposal bond is the commit bond and its
    /// unbonding delay bounds the challenge window.
    /// @param groups_ The avatar groups contract jobs draw their group roots and sizes from.
    /// @param verifier_ The stock Semaphore Groth16 verifier, for share-proof fraud proofs.
    constructor(IJobRegistry registry_, IAvatarGroups groups_, ISemaphoreVerifier verifier_) {
        _registry = registry_;
        _groups = groups_;
        _verifier = verifier_;
        _bond = registry_.proposalBond();
        _unbondingDelay = registry_.unbondingDelay();
    }

    // ------------------------------------------------------------------ keys

    /// @inheritdoc ISharedJobs
    function setAggregatorKey(bytes32 x25519PublicKey) external {
        if (x25519PublicKey == bytes32(0)) revert ZeroKey();
        _keys[msg.sender] = x25519PublicKey;
        emit AggregatorKeySet(msg.sender, x25519PublicKey);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc ISharedJobs
    function postSharedJob(
        bytes32 specDigest,
        uint256 groupId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake,
        uint16 shareLength,
        uint8 fieldId,
        address[2] calldata aggregators
    ) external payable returns (SharedJobId jobId) {
        _checkTerms(specDigest, minParticipants, collectionDeadline, challengeWindow, minStake, shareLength, fieldId);
        if (aggregators[0] == aggregators[1]) revert SameAggregator(aggregators[0]);

        SharedJob storage job = _jobs.push();
        jobId = SharedJobId.wrap(SHARED_JOB_ID_BASE + _jobs.length);
        job.aggregatorKeys[0] = _checkAggregator(aggregators[0], minStake);
        job.aggregatorKeys[1] = _checkAggregator(aggregators[1], minStake);
        job.aggregators = aggregators;
        job.researcher = msg.sender;
        // Both were checked against type(uint96).max in _checkTerms.
        job.reward = uint96(msg.value);
        job.minStake = uint96(minStake);
        job.specDigest = specDigest;
        _recordGroup(job, groupId);
        job.minParticipants = minParticipants;
        job.collectionDeadline = collectionDeadline;
        job.challengeWindow = challengeWindow;
        // _checkTerms bounded collectionDeadline + 2·challengeWindow by 2^64 - 1.
        job.commitDeadline = collectionDeadline + challengeWindow;
        job.finalizeAfter = collectionDeadline + 2 * challengeWindow;
        job.shareLength = shareLength;
        job.fieldId = fieldId;
        job.state = SharedJobState.Open;
        emit SharedJobPosted(jobId, msg.sender, specDigest, groupId, job.groupRoot, job.groupSize, msg.value);
        emit SharedJobParams(
            jobId,
            aggregators,
            job.aggregatorKeys,
            shareLength,
            fieldId,
            minParticipants,
            collectionDeadline,
            job.commitDeadline,
            job.finalizeAfter
        );
    }

    /// @inheritdoc ISharedJobs
    function announcePrep(SharedJobId jobId, string calldata prepCid) external {
        (, uint8 i) = _commitWindow(jobId);
        if (bytes(prepCid).length == 0) revert EmptyCid();
        ShareCommit storage c = _commits[jobId][i];
        if (c.prepAnnounced) revert PrepAlreadyAnnounced(jobId, i);
        c.prepAnnounced = true;
        c.prepCid = prepCid;
        emit PrepAnnounced(jobId, i, msg.sender, prepCid);
    }

    /// @inheritdoc ISharedJobs
    function commitShare(
        SharedJobId jobId,
        bytes32 shareSetRoot,
        uint32 count,
        uint256[] calldata noisedShare,
        string calldata bundleCid
    ) external payable {
        (SharedJob storage job, uint8 i) = _commitWindow(jobId);
        if (msg.value != _bond) revert WrongBond(msg.value, _bond);
        ShareCommit storage c = _commits[jobId][i];
        if (c.state != CommitState.None) revert AlreadyCommitted(jobId, i);
        if (noisedShare.length != job.shareLength) revert ShareLengthMismatch(noisedShare.length, job.shareLength);
        if (count > job.groupSize) revert CountAboveGroupSize(count, job.groupSize);
        if ((count == 0) != (shareSetRoot == bytes32(0))) revert RootCountMismatch(shareSetRoot, count);
        if (bytes(bundleCid).length == 0) revert EmptyCid();
        // Checks every element against the modulus as it adds it (a revert undoes the partial sum).
        _addShare(jobId, job.fieldId, noisedShare);
        c.state = CommitState.Committed;
        c.count = count;
        c.shareSetRoot = shareSetRoot;
        c.bundleCid = bundleCid;
        emit ShareCommitted(jobId, i, msg.sender, shareSetRoot, count, noisedShare, bundleCid);
    }

    // --------------------------------------------------------- fraud proofs

    /// @inheritdoc ISharedJobs
    function challengeShareOrder(
        SharedJobId jobId,
        uint8 index,
        uint256 position,
        ShareLeaf calldata a,
        bytes32[] calldata pathA,
        ShareLeaf calldata b,
        bytes32[] calldata pathB
    ) external {
        (, ShareCommit storage c) = _challengeable(jobId, index);
        if (c.count < 2 || position >= c.count - 1) revert NoSuchLeaf(position, c.count);
        _checkInTree(c, leafHash(a), position, pathA);
        _checkInTree(c, leafHash(b), position + 1, pathB);
        if (a.nullifier < b.nullifier) revert NoFault(jobId, index, FaultKind.Order);
        _fault(jobId, index, FaultKind.Order);
    }

    /// @inheritdoc ISharedJobs
    function challengeShareProof(
        SharedJobId jobId,
        uint8 index,
        uint256 position,
        ShareLeaf calldata leaf,
        bytes32[] calldata path
    ) external {
        (SharedJob storage job, ShareCommit storage c) = _challengeable(jobId, index);
        if (position >= c.count) revert NoSuchLeaf(position, c.count);
        _checkInTree(c, leafHash(leaf), position, path);
        if (_verifies(jobId, job.groupRoot, leaf)) revert NoFault(jobId, index, FaultKind.Proof);
        _fault(jobId, index, FaultKind.Proof);
    }

    // ------------------------------------------------------------ settlement

    /// @inheritdoc ISharedJobs
    function finalize(SharedJobId jobId) external {
        SharedJob storage job = _job(jobId);
        if (job.state != SharedJobState.Open) revert JobNotOpen(jobId, job.state);
        ShareCommit storage c0 = _commits[jobId][0];
        ShareCommit storage c1 = _commits[jobId][1];
        bool both = c0.state == CommitState.Committed && c1.state == CommitState.Committed;
        if (!both) {
            if (block.timestamp < job.commitDeadline) revert CommitWindowStillOpen(jobId, job.commitDeadline);
            _refund(jobId, job, RefundReason.AggregatorMissing);
            return;
        }
        if (block.timestamp < job.finalizeAfter) revert ChallengeWindowStillOpen(jobId, job.finalizeAfter);
        if (c0.shareSetRoot != c1.shareSetRoot || c0.count != c1.count) {
            _refund(jobId, job, RefundReason.SharesDisagree);
            return;
        }
        if (c0.count < job.minParticipants) {
            _refund(jobId, job, RefundReason.TooFewParticipants);
            return;
        }
        job.state = SharedJobState.Finalized;
        uint256 reward = job.reward;
        // The odd wei, if any, goes to the leader.
        uint256 half = reward / 2;
        _balances[job.aggregators[0]] += reward - half;
        _balances[job.aggregators[1]] += half;
        emit SharedJobFinalized(jobId, c0.count, _aggregate(jobId, job), reward);
        _returnBonds(jobId, job);
    }

    /// @inheritdoc ISharedJobs
    function withdraw() external {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // --------------------------------------------------------------- getters

    /// @inheritdoc ISharedJobs
    function getSharedJob(SharedJobId jobId) external view returns (SharedJob memory) {
        return _job(jobId);
    }

    /// @inheritdoc ISharedJobs
    function getCommit(SharedJobId jobId, uint8 index) external view returns (ShareCommit memory) {
        _job(jobId);
        if (index > 1) revert InvalidAggregatorIndex(index);
        return _commits[jobId][index];
    }

    /// @inheritdoc ISharedJobs
    function prepOf(SharedJobId jobId, uint8 index) external view returns (string memory) {
        _job(jobId);
        if (index > 1) revert InvalidAggregatorIndex(index);
        return _commits[jobId][index].prepCid;
    }

    /// @inheritdoc ISharedJobs
    function resultOf(SharedJobId jobId) external view returns (int256[] memory) {
        SharedJob storage job = _job(jobId);
        if (job.state != SharedJobState.Finalized) revert NotFinalized(jobId, job.state);
        return _aggregate(jobId, job);
    }

    /// @inheritdoc ISharedJobs
    function aggregatorKeyOf(address aggregator) external view returns (bytes32) {
        return _keys[aggregator];
    }

    /// @inheritdoc ISharedJobs
    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    /// @inheritdoc ISharedJobs
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc ISharedJobs
    function commitBond() external view returns (uint256) {
        return _bond;
    }

    /// @inheritdoc ISharedJobs
    function modulusOf(uint8 fieldId) public pure returns (uint256) {
        if (fieldId == 0) return FIELD64_MODULUS;
        if (fieldId == 1) return FIELD128_MODULUS;
        revert InvalidFieldId(fieldId);
    }

    /// @inheritdoc ISharedJobs
    function jobRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ISharedJobs
    function avatarGroups() external view returns (address) {
        return address(_groups);
    }

    /// @notice keccak256(abi.encodePacked(uint8(0), nullifier, message, points)): a share-set leaf's hash.
    function leafHash(ShareLeaf calldata leaf) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(LEAF_TAG, leaf.nullifier, leaf.message, leaf.points));
    }

    /// @notice The Semaphore scope of a job: keccak256(chainId ‖ this contract ‖ jobId) reduced into the SNARK field,
    /// as jobScope in the protocol package computes it for the job's JobRef.
    function scopeOf(SharedJobId jobId) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(this), SharedJobId.unwrap(jobId))))
            % SNARK_SCALAR_FIELD;
    }

    // -------------------------------------------------------------- internal

    function _job(SharedJobId jobId) private view returns (SharedJob storage) {
        uint256 id = SharedJobId.unwrap(jobId);
        if (id <= SHARED_JOB_ID_BASE || id - SHARED_JOB_ID_BASE > _jobs.length) revert JobNotFound(jobId);
        return _jobs[id - SHARED_JOB_ID_BASE - 1];
    }

    /// @dev postSharedJob's checks of its terms, the aggregators aside.
    function _checkTerms(
        bytes32 specDigest,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake,
        uint16 shareLength,
        uint8 fieldId
    ) private view {
        if (specDigest == bytes32(0)) revert ZeroSpecDigest();
        if (msg.value == 0) revert NoReward();
        if (msg.value > type(uint96).max) revert ValueTooLarge(msg.value, type(uint96).max);
        if (minStake > type(uint96).max) revert ValueTooLarge(minStake, type(uint96).max);
        if (minParticipants == 0) revert ZeroMinParticipants();
        if (collectionDeadline <= block.timestamp) revert DeadlineInPast(collectionDeadline, block.timestamp);
        // Commitments and then fraud proofs each get a window: an aggregator must not unbond before both close.
        if (challengeWindow < MIN_CHALLENGE_WINDOW || 2 * uint256(challengeWindow) >= _unbondingDelay) {
            revert InvalidChallengeWindow(challengeWindow, _unbondingDelay);
        }
        // The deadlines must fit their uint64 fields (2·challengeWindow < unbondingDelay fits one already).
        if (uint256(collectionDeadline) + 2 * uint256(challengeWindow) > type(uint64).max) {
            revert DeadlineTooLate(collectionDeadline, challengeWindow);
        }
        if (shareLength == 0 || shareLength > MAX_LENGTH) revert InvalidLength(shareLength);
        if (fieldId > 1) revert InvalidFieldId(fieldId);
    }

    /// @dev The aggregator's registered key, if it is staked at least `minStake` (and more than nothing).
    function _checkAggregator(address aggregator, uint256 minStake) private view returns (bytes32 key) {
        uint256 staked = _registry.stakeOf(aggregator);
        if (staked < minStake || staked == 0) revert StakeTooLow(aggregator, staked, minStake);
        key = _keys[aggregator];
        if (key == bytes32(0)) revert NoAggregatorKey(aggregator);
    }

    /// @dev Fixes the group's root and size for the job.
    function _recordGroup(SharedJob storage job, uint256 groupId) private {
        uint256 size = _groups.groupSize(groupId);
        if (size == 0) revert GroupHasNoMembers(groupId);
        // A group of over 2^32 - 1 members counts as 2^32 - 1 (no count can reach it anyway).
        job.groupSize = size > type(uint32).max ? type(uint32).max : uint32(size);
        job.groupRoot = _groups.groupRoot(groupId);
    }

    /// @dev The open job and the caller's aggregator index, if prep announcements and commitments are taken now.
    function _commitWindow(SharedJobId jobId) private view returns (SharedJob storage job, uint8 i) {
        job = _job(jobId);
        if (job.state != SharedJobState.Open) revert JobNotOpen(jobId, job.state);
        if (msg.sender == job.aggregators[0]) i = 0;
        else if (msg.sender == job.aggregators[1]) i = 1;
        else revert NotAggregator(jobId, msg.sender);
        if (block.timestamp < job.collectionDeadline) revert CollectionStillOpen(jobId, job.collectionDeadline);
        if (block.timestamp >= job.commitDeadline) revert CommitWindowClosed(jobId, job.commitDeadline);
    }

    /// @dev The open job and aggregator `index`'s commitment, if it may still be challenged.
    function _challengeable(SharedJobId jobId, uint8 index)
        private
        view
        returns (SharedJob storage job, ShareCommit storage c)
    {
        job = _job(jobId);
        if (job.state != SharedJobState.Open) revert JobNotOpen(jobId, job.state);
        if (index > 1) revert InvalidAggregatorIndex(index);
        if (block.timestamp >= job.finalizeAfter) revert ChallengeWindowClosed(jobId, job.finalizeAfter);
        c = _commits[jobId][index];
        if (c.state != CommitState.Committed) revert NotCommitted(jobId, index, c.state);
    }

    /// @dev Adds a share into the job's running sum mod p, checking each element is below p.
    function _addShare(SharedJobId jobId, uint8 fieldId, uint256[] calldata share) private {
        uint256 p = modulusOf(fieldId);
        uint256 width = fieldId == 0 ? 64 : 128;
        uint256 perWord = 256 / width;
        uint256 mask = (1 << width) - 1;
        mapping(uint256 => uint256) storage words = _sums[jobId];
        uint256 n = share.length;
        for (uint256 w = 0; w * perWord < n; ++w) {
            uint256 word = words[w];
            uint256 next = 0;
            for (uint256 k = 0; k < perWord; ++k) {
                uint256 j = w * perWord + k;
                if (j >= n) break; // The rest of the last word stays zero.
                uint256 x = share[j];
                if (x >= p) revert ElementNotInField(j, x, p);
                // Both terms are below p < 2^128: no overflow, and one subtraction reduces the sum.
                uint256 s = ((word >> (k * width)) & mask) + x;
                if (s >= p) s -= p;
                next |= s << (k * width);
            }
            words[w] = next;
        }
    }

    /// @dev The running sum, each element above p/2 taken as negative.
    function _aggregate(SharedJobId jobId, SharedJob storage job) private view returns (int256[] memory out) {
        uint256 p = modulusOf(job.fieldId);
        uint256 width = job.fieldId == 0 ? 64 : 128;
        uint256 perWord = 256 / width;
        uint256 mask = (1 << width) - 1;
        mapping(uint256 => uint256) storage words = _sums[jobId];
        out = new int256[](job.shareLength);
        uint256 word;
        for (uint256 j = 0; j < out.length; ++j) {
            uint256 k = j % perWord;
            if (k == 0) word = words[j / perWord];
            uint256 v = (word >> (k * width)) & mask;
            // v < p < 2^128 fits int256 either way.
            out[j] = v > p / 2 ? int256(v) - int256(p) : int256(v);
        }
    }

    function _checkInTree(ShareCommit storage c, bytes32 h, uint256 position, bytes32[] calldata path) private view {
        bytes32 root = _rootOf(h, c.count, position, path);
        if (root != c.shareSetRoot) revert NotInTree(root, c.shareSetRoot);
    }

    /// @dev Hashes leaf `h` at `position` (< count) of a `count`-leaf share-set tree up `path` to the root: level k+1
    /// pairs (2i, 2i+1) of level k, and an odd last node is carried up unchanged (no path element for that level).
    function _rootOf(bytes32 h, uint256 count, uint256 position, bytes32[] calldata path)
        private
        pure
        returns (bytes32)
    {
        uint256 expected = 0;
        for ((uint256 m, uint256 q) = (count, position); m > 1; (m, q) = ((m + 1) >> 1, q >> 1)) {
            if (q != m - 1 || m & 1 == 0) ++expected;
        }
        if (path.length != expected) revert WrongPathLength(path.length, expected);
        uint256 k = 0;
        for (uint256 n = count; n > 1; (n, position) = ((n + 1) >> 1, position >> 1)) {
            if (position == n - 1 && n & 1 == 1) continue; // carried: same hash one level up
            bytes32 sibling = path[k++];
            h = position & 1 == 0
                ? keccak256(abi.encodePacked(NODE_TAG, h, sibling))
                : keccak256(abi.encodePacked(NODE_TAG, sibling, h));
        }
        return h;
    }

    /// @dev The stock verifier with the public signals Semaphore.verifyProof builds, for the job's root and scope; a
    /// revert (on malformed points) counts as a failed proof, given the fixed allowance.
    function _verifies(SharedJobId jobId, uint256 groupRoot, ShareLeaf calldata leaf) private view returns (bool) {
        uint256 available = gasleft();
        // EIP-150 forwards at most 63/64 of what is left; keep a margin for the call itself.
        uint256 needed = VERIFIER_GAS + VERIFIER_GAS / 63 + 10_000;
        if (available < needed) revert VerifierGasTooLow(available, needed);
        uint256[8] calldata p = leaf.points;
        uint256[4] memory signals =
            [groupRoot, leaf.nullifier, _semaphoreHash(leaf.message), _semaphoreHash(scopeOf(jobId))];
        try _verifier.verifyProof{gas: VERIFIER_GAS}(
            [p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], signals, PROOF_DEPTH
        ) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    /// @dev Semaphore's _hash: keccak256 shifted into the SNARK field.
    function _semaphoreHash(uint256 x) private pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(x))) >> 8;
    }

    /// @dev A proven fault: aggregator `index` loses its bond (half to the challenger, half burned), the other's
    /// bond goes back if it committed, and the researcher is refunded.
    function _fault(SharedJobId jobId, uint8 index, FaultKind kind) private {
        SharedJob storage job = _jobs[SharedJobId.unwrap(jobId) - SHARED_JOB_ID_BASE - 1];
        _commits[jobId][index].state = CommitState.Slashed;
        uint256 challengerReward = _bond * CHALLENGER_SHARE_BPS / BPS;
        uint256 burned = _bond - challengerReward;
        _balances[msg.sender] += challengerReward;
        emit AggregatorFaulted(
            jobId, index, job.aggregators[index], msg.sender, kind, _bond, challengerReward, burned
        );
        _refund(jobId, job, RefundReason.FaultProven);
        if (burned != 0) _send(BURN, burned);
    }

    /// @dev Refunds the researcher and returns the committed bonds.
    function _refund(SharedJobId jobId, SharedJob storage job, RefundReason reason) private {
        job.state = SharedJobState.Refunded;
        job.refundReason = reason;
        uint256 reward = job.reward;
        _balances[job.researcher] += reward;
        emit SharedJobRefunded(jobId, job.researcher, reward, reason);
        _returnBonds(jobId, job);
    }

    /// @dev Credits each still-committed aggregator its bond back.
    function _returnBonds(SharedJobId jobId, SharedJob storage job) private {
        for (uint8 i = 0; i < 2; ++i) {
            ShareCommit storage c = _commits[jobId][i];
            if (c.state != CommitState.Committed) continue;
            c.state = CommitState.Returned;
            address aggregator = job.aggregators[i];
            _balances[aggregator] += _bond;
            emit BondReturned(jobId, i, aggregator, _bond);
        }
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
