// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Identifier of a job, assigned in posting order from 1.
type JobId is uint256;

/// @title IJobRegistry
/// @notice Jobs with reward escrow, reducer stakes, result proposals and pull payments.
interface IJobRegistry {
    /// @notice Where a job is in its life.
    enum JobState {
        None,
        Open,
        Finalized,
        Refunded
    }

    /// @notice A job as the chain records it.
    struct Job {
        address researcher;
        string specCid;
        uint256 groupId;
        /// @dev The avatar group's Merkle root when the job was posted: every proof must be against it.
        uint256 groupRoot;
        uint256 reward;
        uint256 minStake;
        uint64 collectionDeadline;
        uint64 proposalDeadline;
        uint32 minParticipants;
        JobState state;
    }

    /// @notice A reducer's claimed result for a job.
    struct Proposal {
        address proposer;
        uint32 count;
        bytes32 treeRoot;
        string bundleCid;
        int256[] aggregate;
    }

    error JobNotFound(JobId jobId);
    error EmptySpecCid();
    error NoReward();
    error GroupHasNoMembers(uint256 groupId);
    error DeadlineInPast(uint64 collectionDeadline, uint256 nowTimestamp);
    error InvalidChallengeWindow(uint64 challengeWindow, uint64 unbondingDelay);
    error ZeroMinParticipants();
    error JobNotOpen(JobId jobId, JobState state);
    error CollectionStillOpen(JobId jobId, uint64 collectionDeadline);
    error ProposalWindowClosed(JobId jobId, uint64 proposalDeadline);
    error ProposalWindowStillOpen(JobId jobId, uint64 proposalDeadline);
    error StakeTooLow(address operator, uint256 staked, uint256 needed);
    error AlreadyProposed(JobId jobId, address proposer);
    error EmptyAggregate();
    error AggregateTooLong(uint256 length, uint256 maxLength);
    error EmptyBundleCid();
    error CountAboveGroupSize(uint32 count, uint256 groupSize);
    error ZeroAmount();
    error InsufficientStake(address operator, uint256 staked, uint256 requested);
    error HasOpenProposals(address operator, uint256 openProposals);
    error NothingUnbonding(address operator);
    error StillUnbonding(address operator, uint64 releaseAt);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    event Staked(address indexed operator, uint256 amount, uint256 total);
    event UnstakeRequested(address indexed operator, uint256 amount, uint64 releaseAt);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    event JobPosted(
        JobId indexed jobId,
        address indexed researcher,
        string specCid,
        uint256 groupId,
        uint256 groupRoot,
        uint256 reward,
        uint64 collectionDeadline,
        uint64 proposalDeadline
    );
    event ResultProposed(
        JobId indexed jobId, address indexed proposer, uint256 index, uint32 count, bytes32 treeRoot, string bundleCid
    );
    event JobFinalized(JobId indexed jobId, address indexed winner, uint256 index, uint32 count, uint256 reward);
    event JobRefunded(JobId indexed jobId, address indexed researcher, uint256 reward);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Adds the sent value to the caller's reducer stake.
    function stake() external payable;

    /// @notice Starts unbonding part of the caller's stake; it can be withdrawn after the unbonding delay.
    function requestUnstake(uint256 amount) external;

    /// @notice Withdraws the caller's unbonded stake once its delay has passed.
    function withdrawStake() external;

    /// @notice Posts a job, escrowing the sent value as its reward.
    /// @param specCid The CID of the dag-cbor job spec on IPFS.
    /// @param groupId The avatar group whose members may answer; its current root is fixed for the job.
    /// @param minParticipants Fewer accepted submissions than this release nothing and refund the reward.
    /// @param collectionDeadline Unix time after which submissions are no longer collected.
    /// @param challengeWindow Seconds after the collection deadline in which results may be proposed.
    /// @param minStake The stake a reducer needs to propose.
    function postJob(
        string calldata specCid,
        uint256 groupId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake
    ) external payable returns (JobId jobId);

    /// @notice Proposes a result for a job after its collection deadline; one proposal per reducer.
    function proposeResult(
        JobId jobId,
        int256[] calldata aggregate,
        uint32 count,
        bytes32 treeRoot,
        string calldata bundleCid
    ) external returns (uint256 index);

    /// @notice After the proposal window: pays the proposal with the most leaves, or refunds the researcher.
    function finalizeJob(JobId jobId) external;

    /// @notice Withdraws the caller's balance (rewards, refunds).
    function withdraw() external;

    function getJob(JobId jobId) external view returns (Job memory);
    function jobCount() external view returns (uint256);
    function proposalCount(JobId jobId) external view returns (uint256);
    function getProposal(JobId jobId, uint256 index) external view returns (Proposal memory);
    /// @notice The index of the winning proposal of a finalised job.
    function winningProposal(JobId jobId) external view returns (uint256);
    function stakeOf(address operator) external view returns (uint256);
    function unbondingOf(address operator) external view returns (uint256 amount, uint64 releaseAt);
    function openProposalsOf(address operator) external view returns (uint256);
    function balanceOf(address account) external view returns (uint256);
    function unbondingDelay() external view returns (uint64);
    function avatarGroups() external view returns (address);
}
