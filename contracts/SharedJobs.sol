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
///
/// Commit-reveal. commitShare records the share set in the clear and the noised share by hash; revealShare opens it
/// once both committed the same set, so the second aggregator cannot fix its share after reading the first's. An
/// aggregator that agreed on the set but never reveals withholds the answer: its bond is slashed, half to the
/// researcher and half burned.
///
/// Admission. The researcher names the aggregators, so it must not be able to name itself twice over: each needs at
/// least MIN_AGGREGATOR_STAKE in JobRegistry (fixed at deployment, whatever minStake a job asks), neither may be the
/// researcher, and their keys must differ and be canonical X25519 points of large order.
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
    /// @notice The challenger's share of a slashed bond, in basis points (50%); the rest is burned. The researcher
    /// takes the same share of a withheld share's bond.
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

    /// @notice The least JobRegistry stake an aggregator needs, whatever minStake a job asks: set at deployment so a
    /// researcher cannot admit aggregators it staked for next to nothing.
    uint256 public immutable MIN_AGGREGATOR_STAKE;

    /// @dev The published low-order X25519 u-coordinates below p, as the 32 little-endian bytes a key is written in
    /// (Bernstein, "Curve25519: new Diffie-Hellman speed records" and cr.yp.to/ecdh.html; libsodium's
    /// has_small_order list). 0 (order 4) is refused as ZeroKey; p and p + 1 (≡ 0 and 1) and every value with the top
    /// bit set are refused as non-canonical.
    bytes32 private constant LOW_ORDER_ONE = 0x0100000000000000000000000000000000000000000000000000000000000000; // order 1
    /// @dev 325606250916557431795983626356110631294008115727848805560023387167927233504, order 8.
    bytes32 private constant LOW_ORDER_8A = 0xe0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800;
    /// @dev 39382357235489614581723060781553021112529911719440698176882885853963445705823, order 8.
    bytes32 private constant LOW_ORDER_8B = 0x5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157;
    /// @dev p - 1, order 2.
    bytes32 private constant LOW_ORDER_P_MINUS_1 = 0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f;
    /// @dev A key's bytes 1..31 when u >= p with the top bit clear: all 0xff, then 0x7f (byte 0, the least significant,
    /// is then 0xed..0xff). Read as a big-endian uint256, byte 0 is the top byte.
    uint256 private constant P_HIGH_BYTES = 0x00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f;

    IJobRegistry private immutable _registry;
    IAvatarGroups private immutable _groups;
    ISemaphoreVerifier private immutable _verifier;
    uint256 private immutable _bond;
    uint64 private immutable _unbondingDelay;

    SharedJob[] private _jobs;
    mapping(SharedJobId => ShareCommit[2]) private _commits;
    /// @dev The running sum mod p of the revealed shares, packed: 4 Field64 or 2 Field128 elements per word,
    /// element j at word j / perWord, bits (j % perWord)·width. After both reveals it is the aggregate.
    mapping(SharedJobId => mapping(uint256 => uint256)) private _sums;
    mapping(address => bytes32) private _keys;
    mapping(address => uint256) private _balances;

    /// @param registry_ The JobRegistry whose stakes admit aggregators; its proposal bond is the commit bond and its
    /// unbonding delay bounds the challenge window.
    /// @param groups_ The avatar groups contract jobs draw their group roots and sizes from.
    /// @param verifier_ The stock Semaphore Groth16 verifier, for share-proof fraud proofs.
    /// @param minAggregatorStake_ MIN_AGGREGATOR_STAKE: the least stake any job's aggregators need.
    constructor(
        IJobRegistry registry_,
        IAvatarGroups groups_,
        ISemaphoreVerifier verifier_,
        uint256 minAggregatorStake_
    ) {
        MIN_AGGREGATOR_STAKE = minAggregatorStake_;
        _registry = registry_;
        _groups = groups_;
        _verifier = verifier_;
        _bond = registry_.proposalBond();
        _unbondingDelay = registry_.unbondingDelay();
    }

    // ------------------------------------------------------------------ keys

    /// @inheritdoc ISharedJobs
    function setAggregatorKey(bytes32 x25519PublicKey) external {
        _checkKey(x25519PublicKey);
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
        if (msg.sender == aggregators[0] || msg.sender == aggregators[1]) revert ResearcherIsAggregator(msg.sender);

        SharedJob storage job = _jobs.push();
        jobId = SharedJobId.wrap(SHARED_JOB_ID_BASE + _jobs.length);
        job.aggregatorKeys[0] = _checkAggregator(aggregators[0], minStake);
        job.aggregatorKeys[1] = _checkAggregator(aggregators[1], minStake);
        if (job.aggregatorKeys[0] == job.aggregatorKeys[1]) revert SameAggregatorKey(job.aggregatorKeys[0]);
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
        bytes32 shareHash,
        string calldata bundleCid
    ) external payable {
        (SharedJob storage job, uint8 i) = _commitWindow(jobId);
        if (msg.value != _bond) revert WrongBond(msg.value, _bond);
        ShareCommit storage c = _commits[jobId][i];
        if (c.state != CommitState.None) revert AlreadyCommitted(jobId, i);
        if (count > job.groupSize) revert CountAboveGroupSize(count, job.groupSize);
        if ((count == 0) != (shareSetRoot == bytes32(0))) revert RootCountMismatch(shareSetRoot, count);
        if (bytes(bundleCid).length == 0) revert EmptyCid();
        c.state = CommitState.Committed;
        c.count = count;
        c.shareSetRoot = shareSetRoot;
        c.shareHash = shareHash;
        c.bundleCid = bundleCid;
        emit ShareCommitted(jobId, i, msg.sender, shareSetRoot, count, shareHash, bundleCid);
    }

    /// @inheritdoc ISharedJobs
    function revealShare(SharedJobId jobId, uint256[] calldata noisedShare, bytes32 salt) external {
        SharedJob storage job = _job(jobId);
        if (job.state != SharedJobState.Open) revert JobNotOpen(jobId, job.state);
        uint8 i = _indexOf(jobId, job);
        if (block.timestamp >= job.finalizeAfter) revert RevealWindowClosed(jobId, job.finalizeAfter);
        ShareCommit storage c0 = _commits[jobId][0];
        ShareCommit storage c1 = _commits[jobId][1];
        // While the job is open a commitment is None, Committed or Revealed.
        if (c0.state == CommitState.None || c1.state == CommitState.None) {
            revert NotBothCommitted(jobId, c0.state, c1.state);
        }
        if (c0.shareSetRoot != c1.shareSetRoot || c0.count != c1.count) {
            revert CommitmentsDisagree(jobId, c0.shareSetRoot, c0.count, c1.shareSetRoot, c1.count);
        }
        if (c0.count < job.minParticipants) revert TooFewToReveal(jobId, c0.count, job.minParticipants);
        ShareCommit storage c = i == 0 ? c0 : c1;
        if (c.revealed) revert AlreadyRevealed(jobId, i);
        if (noisedShare.length != job.shareLength) revert ShareLengthMismatch(noisedShare.length, job.shareLength);
        bytes32 computed = keccak256(abi.encode(SharedJobId.unwrap(jobId), i, noisedShare, salt));
        if (computed != c.shareHash) revert ShareHashMismatch(jobId, i, computed, c.shareHash);
        // Checks every element against the modulus as it adds it (a revert undoes the partial sum).
        _addShare(jobId, job.fieldId, noisedShare);
        c.state = CommitState.Revealed;
        c.revealed = true;
        emit ShareRevealed(jobId, i, msg.sender, noisedShare);
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
        // While the job is open a commitment is None, Committed or Revealed (reveals need both committed).
        if (c0.state == CommitState.None || c1.state == CommitState.None) {
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
        if (!c0.revealed || !c1.revealed) {
            _withheld(jobId, job);
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

    /// @dev Refuses a key that is not a canonical X25519 u-coordinate (top bit set, or u >= p) or is a low-order point.
    function _checkKey(bytes32 key) private pure {
        if (key == bytes32(0)) revert ZeroKey();
        uint256 k = uint256(key);
        // The key is little-endian: u's top bit is the most significant bit of the last byte, k's lowest byte.
        if (k & 0x80 != 0) revert NonCanonicalKey(key);
        if (key == LOW_ORDER_ONE || key == LOW_ORDER_8A || key == LOW_ORDER_8B || key == LOW_ORDER_P_MINUS_1) {
            revert LowOrderKey(key);
        }
        // u >= p = 2^255 - 19 (top bit clear): bytes 1..31 as p's, byte 0 at least p's 0xed. p and p + 1 land here.
        if (k & type(uint248).max == P_HIGH_BYTES && k >> 248 >= 0xed) revert NonCanonicalKey(key);
    }

    /// @dev The aggregator's registered key, if it is staked at least max(minStake, MIN_AGGREGATOR_STAKE) (and more
    /// than nothing).
    function _checkAggregator(address aggregator, uint256 minStake) private view returns (bytes32 key) {
        uint256 needed = minStake > MIN_AGGREGATOR_STAKE ? minStake : MIN_AGGREGATOR_STAKE;
        uint256 staked = _registry.stakeOf(aggregator);
        if (staked < needed || staked == 0) revert StakeTooLow(aggregator, staked, needed);
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
        i = _indexOf(jobId, job);
        if (block.timestamp < job.collectionDeadline) revert CollectionStillOpen(jobId, job.collectionDeadline);
        if (block.timestamp >= job.commitDeadline) revert CommitWindowClosed(jobId, job.commitDeadline);
    }

    /// @dev The caller's aggregator index in the job.
    function _indexOf(SharedJobId jobId, SharedJob storage job) private view returns (uint8) {
        if (msg.sender == job.aggregators[0]) return 0;
        if (msg.sender == job.aggregators[1]) return 1;
        revert NotAggregator(jobId, msg.sender);
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
        // A revealed share's set can still be challenged: the reveal only opened its hash.
        if (c.state == CommitState.None) revert NotCommitted(jobId, index, c.state);
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

    /// @dev Both agreed on the set but a share was not revealed: each non-revealer's bond is slashed (half to the
    /// researcher, who lost the answer, half burned), then the job is refunded and a revealer's bond returned.
    function _withheld(SharedJobId jobId, SharedJob storage job) private {
        uint256 researcherReward = _bond * CHALLENGER_SHARE_BPS / BPS;
        uint256 burned = _bond - researcherReward;
        uint256 burnedTotal = 0;
        for (uint8 i = 0; i < 2; ++i) {
            ShareCommit storage c = _commits[jobId][i];
            if (c.revealed) continue;
            c.state = CommitState.Slashed;
            _balances[job.researcher] += researcherReward;
            burnedTotal += burned;
            emit WithholderSlashed(jobId, i, job.aggregators[i], _bond, researcherReward, burned);
        }
        _refund(jobId, job, RefundReason.ShareWithheld);
        if (burnedTotal != 0) _send(BURN, burnedTotal);
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

    /// @dev Credits each still-committed (or revealed) aggregator its bond back.
    function _returnBonds(SharedJobId jobId, SharedJob storage job) private {
        for (uint8 i = 0; i < 2; ++i) {
            ShareCommit storage c = _commits[jobId][i];
            if (c.state != CommitState.Committed && c.state != CommitState.Revealed) continue;
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
