// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Identifier of a shared job: 2^128 (SHARED_JOB_ID_BASE in the protocol package) plus 1, 2, … in posting
/// order, so that it never names a JobRegistry job (those count from 1).
type SharedJobId is uint256;

/// @title ISharedJobs
/// @notice Secret-shared jobs (issue 19): members send Prio3 input shares to two aggregators the researcher chose,
/// each aggregator commits to its noised share of the sum (by hash, then reveals it once both committed), and the
/// released aggregate is the two shares' sum mod p.
/// Reward escrow, commitment bonds, one-call fraud proofs on each aggregator's share set, and pull payments.
interface ISharedJobs {
    /// @notice Where a shared job is in its life.
    enum SharedJobState {
        None,
        Open,
        Finalized,
        Refunded
    }

    /// @notice Why a shared job released nothing and refunded its reward.
    enum RefundReason {
        /// @dev Not refunded.
        None,
        /// @dev Both aggregators committed the same share set, of fewer than minParticipants reports.
        TooFewParticipants,
        /// @dev An aggregator had not committed when the commit window closed.
        AggregatorMissing,
        /// @dev The two aggregators committed different share-set roots or counts.
        SharesDisagree,
        /// @dev A fraud proof showed an aggregator's share set wrong.
        FaultProven,
        /// @dev Both committed the same share set (of at least minParticipants reports) but at least one never
        /// revealed its noised share by finalizeAfter: each non-revealer's bond was slashed (half to the researcher,
        /// half burned), a revealer's bond went back.
        ShareWithheld
    }

    /// @notice Which fraud proof showed an aggregator's share set wrong.
    enum FaultKind {
        /// @dev challengeShareOrder: two adjacent leaves are not in strictly ascending nullifier order.
        Order,
        /// @dev challengeShareProof: a leaf's Semaphore proof fails for the job.
        Proof
    }

    /// @notice Where an aggregator's part in a job is. Revealed is last so the earlier values keep their numbers;
    /// the order of life is None → Committed → Revealed → Returned (or Committed/Revealed → Slashed).
    enum CommitState {
        /// @dev Nothing committed.
        None,
        /// @dev commitShare took the bond and the share's hash: the share set can be challenged until finalizeAfter.
        Committed,
        /// @dev The job closed and the bond went back to the aggregator (ShareCommit.revealed says if it revealed).
        Returned,
        /// @dev A fraud proof took the bond (half to the challenger, half burned), or the share was withheld (half to
        /// the researcher, half burned).
        Slashed,
        /// @dev revealShare opened the committed hash: the share is in ShareRevealed and in the running sum.
        Revealed
    }

    /// @notice A shared job as the chain records it: money in uint96, times in uint64.
    struct SharedJob {
        address researcher;
        uint96 reward;
        /// @dev Aggregator 0 is the Prio3 leader; both distinct, each staked in JobRegistry when the job was posted.
        address[2] aggregators;
        /// @dev Their X25519 public keys as registered when the job was posted: members encrypt input shares to them.
        bytes32[2] aggregatorKeys;
        /// @dev The sha-256 digest of the dag-cbor job spec block (its CID is CIDv1 dag-cbor sha2-256 of it).
        bytes32 specDigest;
        /// @dev The avatar group's Merkle root when the job was posted: every Semaphore proof must be against it.
        uint256 groupRoot;
        /// @dev The avatar group's size when the job was posted: no share set may count more.
        uint32 groupSize;
        uint32 minParticipants;
        /// @dev Reports are collected until then; prep announcements and share commitments in
        /// [collectionDeadline, commitDeadline); reveals once both committed, fraud proofs, until finalizeAfter;
        /// finalize from then (from commitDeadline when an aggregator never committed).
        uint64 collectionDeadline;
        uint64 commitDeadline;
        uint64 finalizeAfter;
        uint96 minStake;
        /// @dev commitDeadline - collectionDeadline, and finalizeAfter - commitDeadline.
        uint64 challengeWindow;
        /// @dev Field elements per share (the Prio3 output length), 1..MAX_LENGTH. Not `length`: ethers' Result, which
        /// a struct reads as in TypeScript, is an array whose length is its field count.
        uint16 shareLength;
        /// @dev 0 Field64 (p = 2^64 - 2^32 + 1), 1 Field128 (p = 2^128 - 28·2^64 + 1).
        uint8 fieldId;
        SharedJobState state;
        RefundReason refundReason;
    }

    /// @notice One aggregator's part in a job. The noised share itself is in ShareRevealed (and in revealShare's
    /// calldata); the chain keeps the running sum of the revealed shares.
    struct ShareCommit {
        CommitState state;
        /// @dev Whether announcePrep was called (prepCid is then set).
        bool prepAnnounced;
        /// @dev Whether revealShare opened the share hash (stays true once the bond is returned).
        bool revealed;
        /// @dev The number of leaves in the share set.
        uint32 count;
        /// @dev The share-set tree's root (bytes32(0) for an empty set).
        bytes32 shareSetRoot;
        /// @dev keccak256(abi.encode(uint256 jobId, uint8 index, uint256[] noisedShare, bytes32 salt)).
        bytes32 shareHash;
        /// @dev The CID of the aggregator's prep bundle on IPFS.
        string prepCid;
        /// @dev The CID of the aggregator's share-set bundle (its leaves) on IPFS.
        string bundleCid;
    }

    /// @notice A share-set leaf: a report's nullifier, its Semaphore message (reportMessage) and proof points.
    /// leafHash = keccak256(abi.encodePacked(uint8(0), nullifier, message, points)).
    struct ShareLeaf {
        uint256 nullifier;
        uint256 message;
        uint256[8] points;
    }

    error JobNotFound(SharedJobId jobId);
    /// @notice setAggregatorKey with a zero key (u = 0, a low-order point).
    error ZeroKey();
    /// @notice setAggregatorKey with a key that is not a canonical X25519 u-coordinate: its top bit (the most
    /// significant bit of the last byte, the key being little-endian) is set, or u >= p = 2^255 - 19.
    error NonCanonicalKey(bytes32 key);
    /// @notice setAggregatorKey with one of the published low-order X25519 points (a shared secret with it is
    /// predictable).
    error LowOrderKey(bytes32 key);
    /// @notice postSharedJob with a zero spec digest: no spec block hashes to it.
    error ZeroSpecDigest();
    error NoReward();
    /// @notice A value above what the job record holds (a reward or minStake above 2^96 - 1).
    error ValueTooLarge(uint256 value, uint256 max);
    error ZeroMinParticipants();
    error DeadlineInPast(uint64 collectionDeadline, uint256 nowTimestamp);
    /// @notice collectionDeadline + 2·challengeWindow (when fraud proofs close) does not fit 64 bits.
    error DeadlineTooLate(uint64 collectionDeadline, uint64 challengeWindow);
    /// @notice challengeWindow must be at least MIN_CHALLENGE_WINDOW (60 s) and below half JobRegistry's unbonding
    /// delay, as JobRegistry's jobs.
    error InvalidChallengeWindow(uint64 challengeWindow, uint64 unbondingDelay);
    /// @notice A share length outside 1..MAX_LENGTH.
    error InvalidLength(uint16 shareLength);
    /// @notice A field id other than 0 (Field64) and 1 (Field128).
    error InvalidFieldId(uint8 fieldId);
    /// @notice The two aggregators must be different operators.
    error SameAggregator(address aggregator);
    /// @notice An aggregator's JobRegistry stake is below max(the job's minStake, MIN_AGGREGATOR_STAKE) (or zero).
    error StakeTooLow(address aggregator, uint256 staked, uint256 needed);
    /// @notice The researcher posting a job named itself as an aggregator.
    error ResearcherIsAggregator(address researcher);
    /// @notice The two aggregators have registered the same X25519 key.
    error SameAggregatorKey(bytes32 key);
    /// @notice An aggregator has registered no X25519 key (setAggregatorKey).
    error NoAggregatorKey(address aggregator);
    error GroupHasNoMembers(uint256 groupId);
    error JobNotOpen(SharedJobId jobId, SharedJobState state);
    /// @notice The caller is neither of the job's aggregators.
    error NotAggregator(SharedJobId jobId, address caller);
    /// @notice announcePrep or commitShare before the collection deadline.
    error CollectionStillOpen(SharedJobId jobId, uint64 collectionDeadline);
    /// @notice announcePrep or commitShare at or after the commit deadline.
    error CommitWindowClosed(SharedJobId jobId, uint64 commitDeadline);
    error EmptyCid();
    error PrepAlreadyAnnounced(SharedJobId jobId, uint8 index);
    error AlreadyCommitted(SharedJobId jobId, uint8 index);
    error WrongBond(uint256 sent, uint256 required);
    /// @notice The noised share does not have one element per output entry.
    error ShareLengthMismatch(uint256 length, uint16 expected);
    /// @notice A share element is not below the job's field modulus.
    error ElementNotInField(uint256 index, uint256 element, uint256 modulus);
    error CountAboveGroupSize(uint32 count, uint32 groupSize);
    /// @notice An empty share set has root bytes32(0), and only an empty one does.
    error RootCountMismatch(bytes32 shareSetRoot, uint32 count);
    /// @notice revealShare before both aggregators committed (their commit states given).
    error NotBothCommitted(SharedJobId jobId, CommitState state0, CommitState state1);
    /// @notice revealShare when the two committed different share sets: the job can only be refunded.
    error CommitmentsDisagree(SharedJobId jobId, bytes32 root0, uint32 count0, bytes32 root1, uint32 count1);
    /// @notice revealShare when the agreed share set counts fewer than minParticipants reports: the job can only be
    /// refunded, and revealing would publish a sum over too few members.
    error TooFewToReveal(SharedJobId jobId, uint32 count, uint32 minParticipants);
    error AlreadyRevealed(SharedJobId jobId, uint8 index);
    /// @notice revealShare at or after finalizeAfter.
    error RevealWindowClosed(SharedJobId jobId, uint64 finalizeAfter);
    /// @notice The revealed share and salt do not hash to the committed shareHash.
    error ShareHashMismatch(SharedJobId jobId, uint8 index, bytes32 computed, bytes32 committed);
    /// @notice An aggregator index other than 0 and 1.
    error InvalidAggregatorIndex(uint8 index);
    /// @notice A fraud proof on an aggregator that has not committed (or whose commitment is closed): its state.
    error NotCommitted(SharedJobId jobId, uint8 index, CommitState state);
    /// @notice A fraud proof at or after finalizeAfter.
    error ChallengeWindowClosed(SharedJobId jobId, uint64 finalizeAfter);
    /// @notice The share set has no leaf at `position` (or, for an order proof, none after it).
    error NoSuchLeaf(uint256 position, uint32 count);
    error WrongPathLength(uint256 length, uint256 expected);
    /// @notice The leaf and path do not lead to the aggregator's committed root.
    error NotInTree(bytes32 computedRoot, bytes32 shareSetRoot);
    /// @notice The witness is valid but shows the share set is right where it looked.
    error NoFault(SharedJobId jobId, uint8 index, FaultKind kind);
    /// @notice The fraud proof was left too little gas to give the proof verifier its fixed allowance.
    error VerifierGasTooLow(uint256 available, uint256 needed);
    /// @notice finalize before the commit window closed, with an aggregator yet to commit.
    error CommitWindowStillOpen(SharedJobId jobId, uint64 commitDeadline);
    /// @notice finalize with both committed before the challenge window closed.
    error ChallengeWindowStillOpen(SharedJobId jobId, uint64 finalizeAfter);
    /// @notice resultOf a job that was not finalised.
    error NotFinalized(SharedJobId jobId, SharedJobState state);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    /// @notice An operator registered (or replaced) the X25519 public key members encrypt its input shares to; jobs
    /// posted before keep the key they recorded.
    event AggregatorKeySet(address indexed aggregator, bytes32 x25519PublicKey);
    /// @notice A shared job was posted with `reward` escrowed.
    event SharedJobPosted(
        SharedJobId indexed jobId,
        address indexed researcher,
        bytes32 specDigest,
        uint256 groupId,
        uint256 groupRoot,
        uint32 groupSize,
        uint256 reward
    );
    /// @notice The aggregators, keys, share shape and windows a job was posted with (emitted right after
    /// SharedJobPosted).
    event SharedJobParams(
        SharedJobId indexed jobId,
        address[2] aggregators,
        bytes32[2] aggregatorKeys,
        uint16 shareLength,
        uint8 fieldId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 commitDeadline,
        uint64 finalizeAfter
    );
    /// @notice Aggregator `index` published its prep bundle (its Prio3 preparation shares) at `prepCid`.
    event PrepAnnounced(SharedJobId indexed jobId, uint8 index, address indexed aggregator, string prepCid);
    /// @notice Aggregator `index` committed to its noised share of the sum over `count` reports (by its hash), with
    /// its bond.
    event ShareCommitted(
        SharedJobId indexed jobId,
        uint8 index,
        address indexed aggregator,
        bytes32 shareSetRoot,
        uint32 count,
        bytes32 shareHash,
        string bundleCid
    );
    /// @notice Aggregator `index` revealed the noised share it had committed to.
    event ShareRevealed(SharedJobId indexed jobId, uint8 index, address indexed aggregator, uint256[] noisedShare);
    /// @notice Aggregator `index` agreed on the share set but never revealed its share: its bond was slashed,
    /// `researcherReward` of it owed to the researcher and `burned` sent to the burn address.
    event WithholderSlashed(
        SharedJobId indexed jobId,
        uint8 index,
        address indexed aggregator,
        uint256 bond,
        uint256 researcherReward,
        uint256 burned
    );
    /// @notice A fraud proof succeeded: the aggregator lost its bond, `challengerReward` of it owed to the
    /// challenger and `burned` sent to the burn address.
    event AggregatorFaulted(
        SharedJobId indexed jobId,
        uint8 index,
        address indexed aggregator,
        address indexed challenger,
        FaultKind kind,
        uint256 bond,
        uint256 challengerReward,
        uint256 burned
    );
    /// @notice A closed job's committed, unfaulted aggregator was credited its bond back.
    event BondReturned(SharedJobId indexed jobId, uint8 index, address indexed aggregator, uint256 bond);
    /// @notice The job released `aggregate` (the shares' sum mod p, centred) over `count` reports; each aggregator was
    /// credited its part of the reward.
    event SharedJobFinalized(SharedJobId indexed jobId, uint32 count, int256[] aggregate, uint256 reward);
    /// @notice The job released nothing and its reward was credited back to the researcher.
    event SharedJobRefunded(SharedJobId indexed jobId, address indexed researcher, uint256 reward, RefundReason reason);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Registers (or replaces) the caller's X25519 public key, which jobs naming it as an aggregator record:
    /// the 32 raw little-endian bytes of the u-coordinate, canonical (u < 2^255 - 19) and not a low-order point.
    function setAggregatorKey(bytes32 x25519PublicKey) external;

    /// @notice Posts a shared job, escrowing the sent value as its reward.
    /// @param specDigest The sha-256 digest of the dag-cbor job spec block on IPFS.
    /// @param groupId The avatar group whose members may answer; its current root and size are fixed for the job.
    /// @param minParticipants Fewer reports in the agreed share set release nothing and refund the reward.
    /// @param collectionDeadline Unix time after which reports are no longer collected.
    /// @param challengeWindow Seconds for prep announcements and commitments after the collection deadline, and
    /// again for fraud proofs after that; at least MIN_CHALLENGE_WINDOW and below half JobRegistry's unbonding delay.
    /// @param minStake The JobRegistry stake each aggregator must hold when the job is posted; never less than
    /// SharedJobs.MIN_AGGREGATOR_STAKE (nor zero).
    /// @param shareLength Field elements per share (the output's entries), 1..MAX_LENGTH.
    /// @param fieldId 0 Field64, 1 Field128.
    /// @param aggregators Two distinct staked operators, neither the caller, with distinct registered keys; index 0 is
    /// the Prio3 leader.
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
    ) external payable returns (SharedJobId jobId);

    /// @notice Publishes, once, the CID of the caller's prep bundle for a job it aggregates, in
    /// [collectionDeadline, commitDeadline).
    function announcePrep(SharedJobId jobId, string calldata prepCid) external;

    /// @notice Commits, once and with exactly commitBond() attached, the caller's share set in the clear and its noised
    /// share of the job's sum by hash, in [collectionDeadline, commitDeadline). The share is opened with revealShare
    /// once both have committed, so neither can choose its share after seeing the other's.
    /// @param shareSetRoot The root of the share-set tree over the reports it accepted (bytes32(0) when none).
    /// @param count The number of reports in it, at most the group size at posting.
    /// @param shareHash keccak256(abi.encode(uint256 jobId, uint8 index, uint256[] noisedShare, bytes32 salt)), index
    /// the caller's aggregator index, noisedShare `shareLength` elements each below the field modulus, salt 32 random
    /// bytes kept secret until the reveal.
    /// @param bundleCid The CID of the published share set (its leaves) on IPFS.
    function commitShare(
        SharedJobId jobId,
        bytes32 shareSetRoot,
        uint32 count,
        bytes32 shareHash,
        string calldata bundleCid
    ) external payable;

    /// @notice Opens the caller's committed share, once, after both aggregators committed the same share set of at
    /// least minParticipants reports and before finalizeAfter; adds it into the job's sum.
    /// @param noisedShare `shareLength` elements, each below the job's field modulus, as hashed at commit.
    /// @param salt The salt hashed at commit.
    function revealShare(SharedJobId jobId, uint256[] calldata noisedShare, bytes32 salt) external;

    /// @notice Proves that leaves `position` and `position + 1` of aggregator `index`'s share set are not in strictly
    /// ascending nullifier order (a duplicate nullifier included). Refunds the job and slashes the bond.
    /// @param pathA Leaf a's sibling hashes from the leaf up, one per level where its ancestor is paired (none where
    /// it is carried up as the odd last node).
    /// @param pathB Leaf b's, likewise.
    function challengeShareOrder(
        SharedJobId jobId,
        uint8 index,
        uint256 position,
        ShareLeaf calldata a,
        bytes32[] calldata pathA,
        ShareLeaf calldata b,
        bytes32[] calldata pathB
    ) external;

    /// @notice Proves that leaf `position` of aggregator `index`'s share set carries a Semaphore proof that fails for
    /// (the group root at posting, its nullifier, its message, the job's scope), verified with the stock verifier and
    /// a fixed gas allowance. Refunds the job and slashes the bond.
    function challengeShareProof(
        SharedJobId jobId,
        uint8 index,
        uint256 position,
        ShareLeaf calldata leaf,
        bytes32[] calldata path
    ) external;

    /// @notice Closes a job. With both shares committed, from finalizeAfter: different roots or counts refund
    /// (SharesDisagree), fewer than minParticipants refund (TooFewParticipants); otherwise both revealed release the
    /// aggregate and split the reward between the aggregators, and a share not revealed refunds (ShareWithheld) with
    /// each non-revealer's bond slashed (half to the researcher, half burned). With a share missing, from
    /// commitDeadline: a refund (AggregatorMissing). Other committed bonds go back to their aggregators.
    function finalize(SharedJobId jobId) external;

    /// @notice Withdraws the caller's balance (rewards, refunds, bonds, challenger rewards).
    function withdraw() external;

    /// @notice A posted job.
    function getSharedJob(SharedJobId jobId) external view returns (SharedJob memory);
    /// @notice Aggregator `index`'s part in a job.
    function getCommit(SharedJobId jobId, uint8 index) external view returns (ShareCommit memory);
    /// @notice Aggregator `index`'s prep bundle CID ("" until announcePrep).
    function prepOf(SharedJobId jobId, uint8 index) external view returns (string memory);
    /// @notice A finalised job's aggregate: (s0[j] + s1[j]) mod p, above p/2 taken as negative.
    function resultOf(SharedJobId jobId) external view returns (int256[] memory);
    /// @notice An operator's registered X25519 public key (bytes32(0) if none).
    function aggregatorKeyOf(address aggregator) external view returns (bytes32);
    /// @notice The number of jobs posted; ids run from SHARED_JOB_ID_BASE + 1 to SHARED_JOB_ID_BASE + jobCount().
    function jobCount() external view returns (uint256);
    /// @notice What an account can withdraw().
    function balanceOf(address account) external view returns (uint256);
    /// @notice The value every commitShare carries: JobRegistry's proposal bond.
    function commitBond() external view returns (uint256);
    /// @notice The modulus of field `fieldId` (0 Field64, 1 Field128).
    function modulusOf(uint8 fieldId) external pure returns (uint256);
    /// @notice The registry whose stakes admit aggregators.
    function jobRegistry() external view returns (address);
    /// @notice The avatar groups contract jobs draw their group roots from.
    function avatarGroups() external view returns (address);
}
