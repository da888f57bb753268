// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISubmissionJudge} from "./ISubmissionJudge.sol";

/// @notice Identifier of a job, assigned in posting order from 1.
type JobId is uint256;

/// @title IJobRegistry
/// @notice Jobs with reward escrow, reducer stakes, bonded result proposals, one-call fraud proofs and pull payments.
interface IJobRegistry {
    /// @notice Where a job is in its life.
    enum JobState {
        None,
        Open,
        Finalized,
        Refunded
    }

    /// @notice Which fraud proof showed a proposal wrong.
    enum FaultKind {
        /// @dev challengeRoot: the root node's value is not the proposed aggregate.
        Root,
        /// @dev challengeRootLeaf: the single leaf's lifted payload is not the proposed aggregate.
        RootLeaf,
        /// @dev challengeLeafParent: a level-1 node's value is not the sum of its two lifted leaves.
        LeafParent,
        /// @dev challengeInnerNode: a node's value is not the sum of its two children's values.
        InnerNode,
        /// @dev challengeCarriedLeafParent: a node's value is not its left child's value plus its carried leaf's.
        CarriedLeafParent,
        /// @dev challengeOrder: two adjacent leaves are not in strictly increasing nullifier order.
        Order,
        /// @dev challengeSubmission: a leaf's payload or nullifier is not its submission's.
        SubmissionMismatch,
        /// @dev challengeSubmission: a leaf's submission payload is the wrong length or out of the job's bounds.
        SubmissionBounds,
        /// @dev challengeSubmission: a leaf's submission is for another job, depth, root or message, or its
        /// Semaphore proof fails.
        SubmissionProof,
        /// @dev settleDataRequest: the proposer left a requested leaf or node unpublished past its due time.
        Unavailable
    }

    /// @notice Where a data request is in its life.
    enum RequestState {
        None,
        Open,
        Answered,
        Settled
    }

    /// @notice How a job's submissions are reduced: the contract lifts leaves with it when checking a fraud proof.
    /// @param kind 0 sum, 1 count, 2 histogram, 3 mean, 4 quantile.
    /// @param payloadLength Entries per submission payload, 1..64.
    /// @param edges quantile only: 1..63 strictly increasing bucket edges (bucket i is [edges[i-1], edges[i])).
    /// @param min The least value of each payload entry a submission may carry (noise included): payloadLength items.
    /// @param max The greatest, entry by entry; min[i] <= max[i].
    struct ReduceParams {
        uint8 kind;
        uint16 payloadLength;
        int256[] edges;
        int256[] min;
        int256[] max;
    }

    /// @notice A job as the chain records it, packed: money in uint96 (79 billion ether), times in uint64. The group it
    /// was posted for is in JobPosted.
    struct Job {
        address researcher;
        /// @dev The reducer kind (see ReduceParams), the payload length and the lifted state length it implies.
        uint8 kind;
        uint16 payloadLength;
        uint16 stateLength;
        uint32 minParticipants;
        JobState state;
        /// @dev Proposals committed so far (at most MAX_PROPOSALS).
        uint8 proposalCount;
        /// @dev The winning proposal's index once Finalized (winningProposal), else 0.
        uint8 winner;
        uint96 reward;
        /// @dev Proposals are committed and revealed in [collectionDeadline, proposalDeadline).
        uint64 collectionDeadline;
        uint64 proposalDeadline;
        /// @dev The avatar group's size when the job was posted: members who join later answer the next job.
        uint32 groupSize;
        /// @dev proposalDeadline + challengeWindow: fraud proofs until then, finalizeJob from then.
        uint64 finalizeAfter;
        uint96 minStake;
        /// @dev The avatar group's Merkle root when the job was posted: every proof must be against it.
        uint256 groupRoot;
        /// @dev keccak256(abi.encode(edges)); fraud proofs on quantile jobs pass the edges and are checked against it.
        /// Stored for quantile jobs only: the others have no edges, and getJob returns the hash of none.
        bytes32 edgesHash;
        /// @dev keccak256(abi.encode(min, max)) of the payload bounds; submission fraud proofs pass them.
        bytes32 boundsHash;
        /// @dev The sha-256 digest of the dag-cbor job spec block: its CID is CIDv1 dag-cbor sha2-256 of this digest.
        bytes32 specDigest;
    }

    /// @notice Where a proposal is in its life.
    enum ProposalState {
        None,
        /// @dev commitResult took the bond; treeRoot holds the commitment until proposeResult reveals it.
        Committed,
        /// @dev proposeResult revealed a result matching the commitment: it can be challenged and can win.
        Revealed,
        /// @dev The bond went back to the proposer (a revealed, unfaulted proposal of a closed job).
        Closed,
        /// @dev Never revealed: the bond was burned once the job closed.
        Forfeited
    }

    /// @notice A reducer's claimed result for a job. The aggregate itself is in the ResultProposed event and in the
    /// calldata of the proposeResult that revealed it; the chain keeps its hash.
    struct Proposal {
        address proposer;
        uint32 count;
        ProposalState state;
        /// @dev Set by a successful fraud proof: the proposal can no longer win and its bond is gone.
        bool faulted;
        /// @dev Data requests on it not yet answered or settled: finalizeJob waits for them to be settled.
        uint16 openRequests;
        /// @dev Seconds its challenge window runs past the job's finalizeAfter: answering a data request keeps the
        /// proposal open to requests and fraud proofs for two response times, so a challenger can walk down its tree.
        uint32 extension;
        /// @dev The commitment while Committed; the reduce tree's root once revealed.
        bytes32 treeRoot;
        /// @dev keccak256(abi.encode(aggregate)).
        bytes32 aggregateHash;
    }

    /// @notice A reduce-tree leaf: leafHash = keccak256(abi.encode(uint8(0), nullifier, digest, payload)), the 0 a domain tag.
    /// @param digest sha-256 of the submission block: the digest of its CID, which the leaf commits to.
    struct Leaf {
        uint256 nullifier;
        bytes32 digest;
        int256[] payload;
    }

    /// @notice A job's payload bounds, entry by entry: boundsHash = keccak256(abi.encode(min, max)).
    struct Bounds {
        int256[] min;
        int256[] max;
    }

    /// @notice A request that a proposer publish one item of its tree on-chain (see requestData); its bond is
    /// dataRequestBond().
    struct DataRequest {
        address requester;
        uint64 dueAt;
        RequestState state;
    }

    /// @notice An item of a proposal's tree: a leaf (level 0) or a paired node (level >= 1).
    struct DataItem {
        uint256 level;
        uint256 position;
    }

    /// @notice A requested leaf, its path, and the submission envelope its digest opens to.
    struct LeafAnswer {
        uint256 position;
        Leaf leaf;
        Ancestor[] path;
        ISubmissionJudge.Envelope envelope;
    }

    /// @notice A requested node (level >= 1): its preimage and its path.
    struct NodeAnswer {
        uint256 level;
        uint256 position;
        Inner node;
        Ancestor[] path;
    }

    /// @notice A paired reduce-tree node: keccak256(abi.encode(uint8(1), left, right, value)), value = left's + right's.
    struct Inner {
        bytes32 left;
        bytes32 right;
        int256[] value;
    }

    /// @notice One step up a Merkle path: the sibling's hash and the PARENT's value, to recompute the parent's hash.
    struct Ancestor {
        bytes32 sibling;
        int256[] value;
    }

    error JobNotFound(JobId jobId);
    /// @notice postJob with a zero spec digest: no spec block hashes to it.
    error ZeroSpecDigest();
    error NoReward();
    error GroupHasNoMembers(uint256 groupId);
    error DeadlineInPast(uint64 collectionDeadline, uint256 nowTimestamp);
    /// @notice challengeWindow must be at least MIN_CHALLENGE_WINDOW (60 s) and less than half the unbonding delay.
    error InvalidChallengeWindow(uint64 challengeWindow, uint64 unbondingDelay);
    error ZeroMinParticipants();
    error InvalidReducerKind(uint8 kind);
    error InvalidPayloadLength(uint16 payloadLength);
    /// @notice quantile needs 1..63 edges; every other kind none.
    error InvalidEdgeCount(uint8 kind, uint256 edgeCount);
    error EdgesNotIncreasing(uint256 index, int256 previous, int256 edge);
    error JobNotOpen(JobId jobId, JobState state);
    error CollectionStillOpen(JobId jobId, uint64 collectionDeadline);
    error ProposalWindowClosed(JobId jobId, uint64 proposalDeadline);
    /// @notice finalizeJob before the challenge window has closed.
    error ChallengeWindowStillOpen(JobId jobId, uint64 finalizeAfter);
    /// @notice A fraud proof after the challenge window has closed.
    error ChallengeWindowClosed(JobId jobId, uint64 finalizeAfter);
    error StakeTooLow(address operator, uint256 staked, uint256 needed);
    error AlreadyProposed(JobId jobId, address proposer);
    error WrongBond(uint256 sent, uint256 required);
    /// @notice The aggregate's length is not the lifted state length of the job's reducer.
    error AggregateLengthMismatch(uint256 length, uint256 expected);
    error AggregateTooLong(uint256 length, uint256 maxLength);
    error EmptyBundleCid();
    /// @notice The job already has MAX_PROPOSALS proposals.
    error ProposalLimitReached(JobId jobId, uint256 maxProposals);
    /// @notice A proposal must count at least the job's minParticipants leaves (fewer could never be paid).
    error CountBelowMinimum(uint32 count, uint32 minParticipants);
    /// @notice proposeResult's result is not what the caller committed to (or the caller did not commit it).
    error CommitmentMismatch(JobId jobId, uint256 index, bytes32 computed, bytes32 committed);
    /// @notice The proposal is not in the state the call needs (e.g. revealing twice, challenging a commitment).
    error WrongProposalState(JobId jobId, uint256 index, ProposalState state);
    /// @notice The aggregate passed does not hash to the proposal's aggregateHash.
    error AggregateHashMismatch(bytes32 computed, bytes32 expected);
    /// @notice A value above what the contract records hold (a job's reward or minStake above 2^96 - 1, a stake above
    /// 2^128 - 1).
    error ValueTooLarge(uint256 value, uint256 max);
    /// @notice A request would take its requester past MAX_REQUESTS_PER_REQUESTER data requests on the proposal.
    error TooManyRequests(JobId jobId, uint256 index, uint256 requests, uint256 maxRequests);
    /// @notice answerData named no request that is still open and not yet due.
    error NothingToAnswer(JobId jobId, uint256 index);
    /// @notice More than 65,535 requests would be open on the proposal at once.
    error TooManyOpenRequests(JobId jobId, uint256 index, uint256 open);
    /// @notice requestData with no items, or answerData with no answers.
    error NoItems();
    /// @notice claimBond before the job was finalised or refunded.
    error JobStillOpen(JobId jobId);
    error CountAboveGroupSize(uint32 count, uint256 groupSize);
    error ZeroAmount();
    error InsufficientStake(address operator, uint256 staked, uint256 requested);
    error HasOpenProposals(address operator, uint256 openProposals);
    error NothingUnbonding(address operator);
    error StillUnbonding(address operator, uint64 releaseAt);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);
    error ProposalNotFound(JobId jobId, uint256 index);
    error ProposalAlreadyFaulted(JobId jobId, uint256 index);
    /// @notice The fraud proof does not fit the proposal's tree size (e.g. challengeRoot on a one-leaf tree).
    error UnexpectedCount(JobId jobId, uint256 index, uint32 count);
    /// @notice challengeInnerNode and challengeCarriedLeafParent need a node at level 2 or above.
    error InvalidLevel(uint256 level);
    /// @notice A tree of the proposal's count has no such node (or, for a parent, no such pair of children).
    error NoSuchNode(uint256 level, uint256 position);
    error WrongPathLength(uint256 length, uint256 expected);
    /// @notice A child's recomputed hash is not the one its parent names.
    error ChildHashMismatch(bytes32 claimed, bytes32 computed);
    /// @notice The child at (level, position) is a leaf where the challenge takes a node, or a node where it takes a
    /// leaf: the tree's shape decides which, not the challenger.
    error WrongChildKind(uint256 level, uint256 position);
    /// @notice The witness path does not lead to the proposal's tree root.
    error NotInTree(bytes32 computedRoot, bytes32 treeRoot);
    error EdgesMismatch(bytes32 edgesHash, bytes32 expected);
    /// @notice min and max must each have payloadLength entries, min[i] <= max[i].
    error InvalidBounds(uint256 index, int256 min, int256 max);
    error BoundsLengthMismatch(uint256 minLength, uint256 maxLength, uint16 payloadLength);
    error BoundsMismatch(bytes32 boundsHash, bytes32 expected);
    error WrongRequestBond(uint256 sent, uint256 required);
    /// @notice A request must be answerable before finalizeAfter: none later than finalizeAfter - responseTime.
    error RequestWindowClosed(JobId jobId, uint64 lastRequestAt);
    error DataAlreadyRequested(JobId jobId, uint256 index, uint256 level, uint256 position);
    error RequestNotOpen(JobId jobId, uint256 index, uint256 level, uint256 position, RequestState state);
    error RequestOverdue(JobId jobId, uint256 index, uint64 dueAt);
    error RequestNotDue(JobId jobId, uint256 index, uint64 dueAt);
    /// @notice finalizeJob while an unfaulted proposal still has data requests to settle.
    error DataRequestsOpen(JobId jobId, uint256 index, uint32 openRequests);
    /// @notice The witness is valid but shows the proposal is right where it looked.
    error NoFault(JobId jobId, uint256 index, FaultKind kind);

    event Staked(address indexed operator, uint256 amount, uint256 total);
    event UnstakeRequested(address indexed operator, uint256 amount, uint64 releaseAt);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    /// @notice A job was posted. Its groupId is only here: the chain keeps the group's size and root at posting.
    event JobPosted(
        JobId indexed jobId,
        address indexed researcher,
        bytes32 specDigest,
        uint256 groupId,
        uint256 groupRoot,
        uint256 reward,
        uint64 collectionDeadline,
        uint64 proposalDeadline
    );
    /// @notice The reducer a job was posted with (emitted right after JobPosted).
    event JobReduceParams(
        JobId indexed jobId, uint8 kind, uint16 payloadLength, int256[] edges, bytes32 edgesHash, uint64 finalizeAfter
    );
    /// @notice A reducer committed to a result it will reveal with proposeResult; ties go to the earliest commitment.
    event ResultCommitted(JobId indexed jobId, address indexed proposer, uint256 index, bytes32 commitment);
    /// @notice A committed result was revealed: the aggregate is here (the chain keeps only its hash).
    event ResultProposed(
        JobId indexed jobId,
        address indexed proposer,
        uint256 index,
        uint32 count,
        bytes32 treeRoot,
        int256[] aggregate,
        string bundleCid
    );
    /// @notice Data published on proposal `index` keeps it open to fraud proofs until `until` (finalizeJob waits).
    event ChallengeWindowExtended(JobId indexed jobId, uint256 index, uint64 until);
    /// @notice A proposal never revealed lost its bond, burned, once its job closed.
    event BondForfeited(JobId indexed jobId, uint256 index, address indexed proposer, uint256 bond);
    /// @notice The job's payload bounds (emitted right after JobReduceParams).
    event JobBounds(JobId indexed jobId, int256[] min, int256[] max, bytes32 boundsHash);
    /// @notice challengeSubmission found `verdict` wrong with the submission of leaf `position`.
    event SubmissionFaulted(JobId indexed jobId, uint256 index, uint256 position, ISubmissionJudge.Verdict verdict);
    /// @notice Someone asked the proposer to publish the node at (level, position) of its tree by dueAt.
    event DataRequested(
        JobId indexed jobId, uint256 index, uint256 level, uint256 position, address indexed requester, uint64 dueAt
    );
    /// @notice A requested leaf was published with its submission envelope.
    event LeafPublished(
        JobId indexed jobId, uint256 index, uint256 position, Leaf leaf, ISubmissionJudge.Envelope envelope
    );
    /// @notice A requested inner node (level >= 1) was published.
    event NodePublished(JobId indexed jobId, uint256 index, uint256 level, uint256 position, Inner node);
    /// @notice A data request was settled: `faulted` when it went unanswered, else its bond was refunded because
    /// the proposal had been faulted some other way.
    event DataRequestSettled(
        JobId indexed jobId, uint256 index, uint256 level, uint256 position, address indexed requester, bool faulted
    );
    /// @notice A fraud proof succeeded: the proposer lost its bond and slashedStake; the challenger is owed
    /// challengerReward, and `burned` was sent to the burn address.
    event ProposalFaulted(
        JobId indexed jobId,
        uint256 index,
        address indexed proposer,
        address indexed challenger,
        FaultKind kind,
        uint256 slashedStake,
        uint256 bond,
        uint256 challengerReward,
        uint256 burned
    );
    /// @notice A revealed, unfaulted proposal's bond was credited back to its proposer's balance (at finalisation
    /// for the winner, through claimBond for the others).
    event BondReturned(JobId indexed jobId, uint256 index, address indexed proposer, uint256 bond);
    event JobFinalized(JobId indexed jobId, address indexed winner, uint256 index, uint32 count, uint256 reward);
    event JobRefunded(JobId indexed jobId, address indexed researcher, uint256 reward);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Adds the sent value to the caller's reducer stake.
    function stake() external payable;

    /// @notice Starts unbonding part of the caller's stake; it can be withdrawn after the unbonding delay.
    /// @dev Refused while the caller has open proposals, so a stake at risk cannot leave.
    function requestUnstake(uint256 amount) external;

    /// @notice Withdraws the caller's unbonded stake once its delay has passed.
    function withdrawStake() external;

    /// @notice Posts a job, escrowing the sent value as its reward.
    /// @param specDigest The sha-256 digest of the dag-cbor job spec block on IPFS, whose CID is CIDv1 dag-cbor
    /// sha2-256 of it (specDigestOf and specCidOf in the protocol package convert).
    /// @param groupId The avatar group whose members may answer; its current root is fixed for the job.
    /// @param minParticipants Fewer accepted submissions than this release nothing and refund the reward.
    /// @param collectionDeadline Unix time after which submissions are no longer collected.
    /// @param challengeWindow Seconds for proposals after the collection deadline, and again for fraud proofs after
    /// that; at least MIN_CHALLENGE_WINDOW and below half the unbonding delay.
    /// @param minStake The stake a reducer needs to propose.
    /// @param reduce The reducer, which fraud proofs recompute leaves and nodes with.
    function postJob(
        bytes32 specDigest,
        uint256 groupId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake,
        ReduceParams calldata reduce
    ) external payable returns (JobId jobId);

    /// @notice Commits, with exactly proposalBond() attached, to a result the caller will reveal with proposeResult in
    /// the same proposal window: one per reducer, at most MAX_PROPOSALS per job. Ties between equal counts go to the
    /// earliest commitment, and a commitment names its proposer, so copying a revealed result cannot win.
    /// @param commitment keccak256(abi.encode(msg.sender, jobId, count, treeRoot, keccak256(abi.encode(aggregate)))), so
    /// that only its committer can reveal it.
    function commitResult(JobId jobId, bytes32 commitment) external payable returns (uint256 index);

    /// @notice Reveals the result the caller committed to as proposal `index`.
    /// @param aggregate The root's value: stateLength entries for the job's reducer.
    /// @param count The number of leaves in the reduce tree, at least the job's minParticipants.
    /// @param treeRoot The reduce tree's root hash.
    /// @param bundleCid The CID of the published tree (leaves and node hashes) on IPFS.
    function proposeResult(
        JobId jobId,
        uint256 index,
        int256[] calldata aggregate,
        uint32 count,
        bytes32 treeRoot,
        string calldata bundleCid
    ) external;

    /// @notice Proves that the root node's value differs from the proposed aggregate (trees of 2 leaves or more).
    /// @param aggregate The proposed aggregate (from ResultProposed), checked against the proposal's aggregateHash.
    /// @param root The root's preimage: its innerHash must be the tree root.
    function challengeRoot(JobId jobId, uint256 index, int256[] calldata aggregate, Inner calldata root) external;

    /// @notice Proves that a one-leaf tree's lifted leaf differs from the proposed aggregate.
    /// @param edges The job's quantile edges (checked against its edgesHash); ignored for other kinds.
    function challengeRootLeaf(
        JobId jobId,
        uint256 index,
        int256[] calldata aggregate,
        Leaf calldata leaf,
        int256[] calldata edges
    ) external;

    /// @notice Proves that the level-1 node at `position`, parent of leaves 2·position and 2·position+1, does not
    /// hold the sum of their lifted payloads (or that one of them has a payload of the wrong length).
    /// @param path The node's ancestors from its parent up, skipping levels where it is carried.
    function challengeLeafParent(
        JobId jobId,
        uint256 index,
        uint256 position,
        Inner calldata node,
        Leaf calldata left,
        Leaf calldata right,
        Ancestor[] calldata path,
        int256[] calldata edges
    ) external;

    /// @notice Proves that the node at (`level` ≥ 2, `position`) does not hold the sum of its children's values.
    function challengeInnerNode(
        JobId jobId,
        uint256 index,
        uint256 level,
        uint256 position,
        Inner calldata node,
        Inner calldata left,
        Inner calldata right,
        Ancestor[] calldata path
    ) external;

    /// @notice Like challengeInnerNode for a node whose right child is the last leaf carried up unchanged from level 0
    /// (its hash is a leaf hash, so it has no Inner preimage): the node must hold left's value plus the lifted leaf.
    function challengeCarriedLeafParent(
        JobId jobId,
        uint256 index,
        uint256 level,
        uint256 position,
        Inner calldata node,
        Inner calldata left,
        Leaf calldata right,
        Ancestor[] calldata path,
        int256[] calldata edges
    ) external;

    /// @notice Proves that leaves `position` and `position + 1` are not in strictly increasing nullifier order
    /// (a duplicate nullifier included).
    function challengeOrder(
        JobId jobId,
        uint256 index,
        uint256 position,
        Leaf calldata a,
        Ancestor[] calldata pathA,
        Leaf calldata b,
        Ancestor[] calldata pathB
    ) external;

    /// @notice Proves that leaf `position`'s submission disagrees with the leaf, is out of the job's bounds, is for
    /// another job, root or message, or carries a Semaphore proof that fails (verified with the stock verifier
    /// against the group root fixed when the job was posted). The challenger opens the leaf's digest with the
    /// envelope's fields; it must hash to exactly that digest (EnvelopeMismatch otherwise).
    /// @param path The leaf's ancestors up to the root (empty for a one-leaf tree).
    /// @param bounds The job's payload bounds (checked against its boundsHash).
    function challengeSubmission(
        JobId jobId,
        uint256 index,
        uint256 position,
        Leaf calldata leaf,
        Ancestor[] calldata path,
        ISubmissionJudge.Envelope calldata envelope,
        Bounds calldata bounds
    ) external;

    /// @notice The data-availability rule. Anyone may ask, with dataRequestBond() attached per item, that a
    /// proposal's leaves (level 0) or paired nodes (level >= 1) be published on-chain, so a bundle or submission nobody
    /// can fetch cannot shield a proposal from fraud proofs. An answer pays the bond to whoever answered; no answer by
    /// dueAt is a fault (settleDataRequest). At most MAX_REQUESTS_PER_REQUESTER requests per requester and proposal,
    /// each requester its own budget; each is due
    /// responseTime (half the challenge window) after it is made, plus another responseTime for every
    /// REQUESTS_PER_RESPONSE requests open on the proposal before it, so a flood cannot outrun an honest proposer.
    /// @dev Requests close responseTime before the proposal's challenge deadline: finalizeAfter, pushed later by
    /// answers (see ChallengeWindowExtended).
    function requestData(JobId jobId, uint256 index, DataItem[] calldata items) external payable;

    /// @notice Answers open requests on proposal `index` in one transaction: leaves with their envelopes, nodes with
    /// their preimages, each with its path. Items no longer open or already due are skipped (someone answering one
    /// first cannot make the batch fail); with none answerable it reverts NothingToAnswer. Answers keep
    /// the proposal open to requests and fraud proofs for two more response times, up to MAX_EXTENSION_WINDOWS
    /// challenge windows past finalizeAfter (ChallengeWindowExtended).
    function answerData(JobId jobId, uint256 index, LeafAnswer[] calldata leaves, NodeAnswer[] calldata nodes) external;

    /// @notice Settles an open request: past its due time on an unfaulted proposal it faults the proposal (the
    /// requester is the challenger); on a proposal already faulted it refunds the bond. Either way the requester's
    /// bond is credited back.
    function settleDataRequest(JobId jobId, uint256 index, uint256 level, uint256 position) external;

    /// @notice From finalizeAfter, and once every revealed, unfaulted proposal's challenge window (extended by late
    /// answers) has closed: pays the revealed, unfaulted proposal with the most leaves (the earliest committed
    /// on ties) the reward and its bond back, or refunds the researcher when there is none. Its cost is bounded by
    /// MAX_PROPOSALS whatever else was posted; other proposals' bonds are settled with claimBond.
    function finalizeJob(JobId jobId) external;

    /// @notice After its job closed: returns a revealed, unfaulted proposal's bond to its proposer, or burns the bond
    /// of one never revealed. Anyone may call it.
    function claimBond(JobId jobId, uint256 index) external;

    /// @notice Withdraws the caller's balance (rewards, refunds, bonds, challenger rewards).
    function withdraw() external;

    /// @notice A posted job.
    function getJob(JobId jobId) external view returns (Job memory);
    /// @notice The number of jobs posted; ids run from 1 to it.
    function jobCount() external view returns (uint256);
    /// @notice The number of proposals made for a job.
    function proposalCount(JobId jobId) external view returns (uint256);
    /// @notice One proposal of a job.
    function getProposal(JobId jobId, uint256 index) external view returns (Proposal memory);
    /// @notice The index of the winning proposal of a finalised job.
    function winningProposal(JobId jobId) external view returns (uint256);
    /// @notice An operator's stake (not counting what is unbonding).
    function stakeOf(address operator) external view returns (uint256);
    /// @notice What an operator has unbonding and when it can be withdrawn.
    function unbondingOf(address operator) external view returns (uint256 amount, uint64 releaseAt);
    /// @notice How many of an operator's proposals are unfaulted on jobs not yet finalised.
    function openProposalsOf(address operator) external view returns (uint256);
    /// @notice What an account can withdraw().
    function balanceOf(address account) external view returns (uint256);
    /// @notice Seconds between requestUnstake and withdrawStake.
    function unbondingDelay() external view returns (uint64);
    /// @notice The value every proposal must carry as its bond.
    function proposalBond() external view returns (uint256);
    /// @notice A data request on a proposal's node at (level, position).
    function getDataRequest(JobId jobId, uint256 index, uint256 level, uint256 position)
        external
        view
        returns (DataRequest memory);
    /// @notice The value each data request must carry: a tenth of the proposal bond.
    function dataRequestBond() external view returns (uint256);
    /// @notice The submission judge this registry created.
    function submissionJudge() external view returns (address);
}
